//! The editor against a real host: the CLAP bundle loaded by a small host (tests/editor/gui_host.rs)
//! that opens the editor in an X11 window while another thread processes audio.
//!
//! - Opening and closing the editor 20 times while processing neither crashes, nor leaks (threads,
//!   file descriptors and memory come back to where they were), nor disturbs the audio: the output
//!   is bit for bit that of a second instance whose editor never opens.
//! - With the allocation-checked build (a debug build that aborts on any allocation in
//!   process()), processing with the editor open does not allocate.
//! - The window's size and the A/B scenarios are saved with the session and come back.
//! - The feed's audio side neither blocks nor allocates when the editor stops reading.
//!
//! The bundles: `cargo xtask bundle outpath --release` and
//! `CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs`.
//! Without a `DISPLAY` the tests start their own Xvfb.

#[path = "editor/gui_host.rs"]
mod gui_host;

use gui_host::Instance;
use outpath::feed::{feed, FEED_BLOCK};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, ImageFormat, WindowClass};
use x11rb::wrapper::ConnectionExt as _;

const PLUGIN_ID: &str = "org.outpath.outpath";

// ------------------------------------------------------------------------------------------------
// The runner

/// The tests, one after another. This binary has its own runner (`harness = false`) because the
/// plugin's threads (baseview's X11 thread among them) may still be winding down when the tests
/// are done: a normal exit would run the C library's exit handlers under them, which has crashed
/// the process after every test had passed. The runner reports like the standard one and leaves
/// with `_exit`, which skips those handlers.
fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: [(&str, fn()); 4] = [
        (
            "the_feed_neither_blocks_nor_allocates_when_the_editor_stops_reading",
            the_feed_neither_blocks_nor_allocates_when_the_editor_stops_reading,
        ),
        (
            "the_editor_opens_and_closes_twenty_times_while_processing",
            the_editor_opens_and_closes_twenty_times_while_processing,
        ),
        (
            "processing_with_the_editor_open_does_not_allocate",
            processing_with_the_editor_open_does_not_allocate,
        ),
        (
            "the_window_size_and_the_scenarios_are_saved_with_the_session",
            the_window_size_and_the_scenarios_are_saved_with_the_session,
        ),
    ];
    let chosen: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let mut failed = Vec::new();
    for (name, test) in chosen.iter().copied() {
        let ok = std::panic::catch_unwind(*test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failed.len(),
        failed.len()
    );
    for name in &failed {
        println!("    {name}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: ends the process at once; every test has finished and its output is flushed.
    unsafe { libc::_exit(if failed.is_empty() { 0 } else { 101 }) }
}

// ------------------------------------------------------------------------------------------------
// Counting allocations on one thread

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(|a| a.get())
}

fn the_feed_neither_blocks_nor_allocates_when_the_editor_stops_reading() {
    let (mut tx, rx) = feed();
    rx.set_open(true);
    let meters = outpath::dsp::meters::Meters {
        samples: 8 * 64,
        host_samples: 64,
        peak_v: 1.0,
        ..Default::default()
    };
    let settings = outpath::model::Settings::default();
    // Warm up: the channel's slots exist from the start, but let every code path run once.
    for n in 0..4 * FEED_BLOCK {
        tx.push(n as f32, 0.0);
    }
    let start = Instant::now();
    let allocations = allocations_in(|| {
        // Ten seconds of audio at 48 kHz in blocks of 64, nobody reading.
        for block in 0..7500 {
            for n in 0..64 {
                tx.push((block * 64 + n) as f32, 0.5);
            }
            tx.merge_meters(&meters, &settings, 48_000.0);
        }
    });
    assert_eq!(allocations, 0, "the audio side of the feed allocated");
    // A guard against a send that blocked (which would hang), not a speed test.
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "the audio side waited: {:?}",
        start.elapsed()
    );
    assert!(tx.dropped() > 400);
    // The reader comes back: the meters are there, the channel still works.
    assert!(rx.take_meters(0).is_some());
    let mut got = 0;
    while rx.try_block().is_some() {
        got += 1;
    }
    assert_eq!(got, outpath::feed::FEED_CAPACITY);
}

// ------------------------------------------------------------------------------------------------
// The display and the parent window

/// Xvfb started by these tests when there is no display, kept for the whole run.
struct OwnXvfb(#[allow(dead_code)] Child);

static DISPLAY: OnceLock<Option<OwnXvfb>> = OnceLock::new();
/// The GUI tests run one at a time: they measure the whole process's threads and memory.
static GUI_LOCK: Mutex<()> = Mutex::new(());

fn ensure_display() {
    DISPLAY.get_or_init(|| {
        if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
            return None;
        }
        let n = (91..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .expect("a free X display number");
        let child = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1600x1000x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb (apt-get install xvfb), or run the tests with a DISPLAY");
        for _ in 0..200 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        std::thread::sleep(Duration::from_millis(200));
        // Set before any window exists; every test that uses X goes through here first.
        std::env::set_var("DISPLAY", format!(":{n}"));
        Some(OwnXvfb(child))
    });
}

/// A top-level window for the plugin to live in, as a DAW's plugin window would be.
struct ParentWindow {
    conn: x11rb::rust_connection::RustConnection,
    id: u32,
}

impl ParentWindow {
    fn new(width: u16, height: u16) -> ParentWindow {
        let (conn, screen) = x11rb::connect(None).expect("connect to the X server");
        let root = conn.setup().roots[screen].clone();
        let id = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            id,
            root.root,
            0,
            0,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            root.root_visual,
            &CreateWindowAux::new().background_pixel(root.white_pixel),
        )
        .unwrap();
        conn.map_window(id).unwrap();
        conn.flush().unwrap();
        conn.sync().unwrap();
        ParentWindow { conn, id }
    }

    /// Distinct pixel values in the window (its children included, as on screen).
    fn distinct_colours(&self, width: u16, height: u16) -> usize {
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.id, 0, 0, width, height, !0)
            .unwrap()
            .reply()
            .unwrap();
        let mut seen: Vec<u32> = image
            .data
            .chunks_exact(4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0]))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

impl Drop for ParentWindow {
    fn drop(&mut self) {
        let _ = self.conn.destroy_window(self.id);
        let _ = self.conn.flush();
        let _ = self.conn.sync();
    }
}

// ------------------------------------------------------------------------------------------------
// Bundles and process measurements

fn bundle(var: &str, default: &str, how: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default));
    assert!(
        path.is_file(),
        "{} missing (or set {var}); build it with:\n    {how}",
        path.display()
    );
    path
}

fn release_bundle() -> &'static gui_host::Bundle {
    static B: OnceLock<&'static gui_host::Bundle> = OnceLock::new();
    B.get_or_init(|| {
        gui_host::load(&bundle(
            "OUTPATH_CLAP",
            "target/bundled/Outpath.clap",
            "cargo xtask bundle outpath --release",
        ))
    })
}

fn alloc_check_bundle() -> &'static gui_host::Bundle {
    static B: OnceLock<&'static gui_host::Bundle> = OnceLock::new();
    B.get_or_init(|| {
        gui_host::load(&bundle(
            "OUTPATH_ALLOC_CLAP",
            "target/alloc-check/bundled/Outpath.clap",
            "CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs",
        ))
    })
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Deterministic program-like input for block `k`: a tone stepping in level and a little noise.
fn input_block(k: u64, len: usize, left: &mut [f32], right: &mut [f32]) {
    let mut rng = (k as u32).wrapping_mul(0x9E37_79B9) | 1;
    for n in 0..len {
        let t = (k as usize * len + n) as f64 / 48_000.0;
        let level = if (t as u64).is_multiple_of(2) {
            0.05
        } else {
            0.5
        };
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let noise = (rng as f64 / u32::MAX as f64 - 0.5) * 0.01;
        let x = level * (std::f64::consts::TAU * 220.0 * t).sin() + noise;
        left[n] = x as f32;
        right[n] = (0.8 * x) as f32;
    }
}

/// Keeps the main thread's side of the host running for `time`: the plugin's main-thread
/// callbacks.
fn pump(instances: &[&Instance], time: Duration) {
    let end = Instant::now() + time;
    while Instant::now() < end {
        for i in instances {
            i.pump();
        }
        std::thread::sleep(Duration::from_millis(4));
    }
}

/// Processes `with_editor` and `reference` in lock step on an audio thread until told to stop;
/// returns (blocks, blocks whose outputs differed, non-finite samples).
fn spawn_audio(
    with_editor: Arc<Instance>,
    reference: Arc<Instance>,
    stop: Arc<AtomicBool>,
    blocks: Arc<AtomicU64>,
) -> std::thread::JoinHandle<(u64, u64, u64)> {
    std::thread::spawn(move || {
        const LEN: usize = 480;
        let (mut al, mut ar) = (vec![0.0f32; LEN], vec![0.0f32; LEN]);
        let (mut bl, mut br) = (vec![0.0f32; LEN], vec![0.0f32; LEN]);
        let (mut differ, mut non_finite) = (0, 0);
        let mut k = 0u64;
        while !stop.load(Ordering::SeqCst) {
            input_block(k, LEN, &mut al, &mut ar);
            bl.copy_from_slice(&al);
            br.copy_from_slice(&ar);
            with_editor.process(&mut al, &mut ar, (k * LEN as u64) as i64);
            reference.process(&mut bl, &mut br, (k * LEN as u64) as i64);
            if al
                .iter()
                .zip(&bl)
                .chain(ar.iter().zip(&br))
                .any(|(a, b)| a.to_bits() != b.to_bits())
            {
                differ += 1;
            }
            non_finite += al.iter().chain(&ar).filter(|x| !x.is_finite()).count() as u64;
            k += 1;
            blocks.store(k, Ordering::SeqCst);
            // About four times real time: the GUI thread gets its share of the two cores.
            std::thread::sleep(Duration::from_micros(2500));
        }
        with_editor.stop_processing();
        reference.stop_processing();
        (k, differ, non_finite)
    })
}

/// Opens and closes the editor of a processing instance `cycles` times; returns what it measured.
fn open_close_while_processing(
    bundle: &'static gui_host::Bundle,
    cycles: usize,
    open_for: Duration,
) -> String {
    let mut a = Instance::new(bundle, PLUGIN_ID);
    let mut b = Instance::new(bundle, PLUGIN_ID);
    a.activate(48_000.0, 1024);
    b.activate(48_000.0, 1024);
    assert!(a.has_gui() && a.can_resize(), "the editor is resizable");
    let (a, b) = (Arc::new(a), Arc::new(b));
    let stop = Arc::new(AtomicBool::new(false));
    let blocks = Arc::new(AtomicU64::new(0));
    let audio = spawn_audio(a.clone(), b.clone(), stop.clone(), blocks.clone());

    let mut baseline = None;
    let mut colours = Vec::new();
    for cycle in 0..cycles {
        let (w, h) = a.editor_size_while_open();
        let parent = ParentWindow::new(w as u16, h as u16);
        let before = blocks.load(Ordering::SeqCst);
        let (w, h) = a.open_editor(parent.id);
        if cycle == 0 || cycle + 1 == cycles {
            // The first frame of a debug build takes a while (fonts, shaders): wait for it.
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut drawn = parent.distinct_colours(w as u16, h as u16);
            while drawn <= 50 && Instant::now() < deadline {
                pump(&[&a, &b], Duration::from_millis(100));
                drawn = parent.distinct_colours(w as u16, h as u16);
            }
            colours.push(drawn);
        }
        pump(&[&a, &b], open_for);
        a.close_editor();
        drop(parent);
        pump(&[&a, &b], Duration::from_millis(60));
        assert!(
            blocks.load(Ordering::SeqCst) > before,
            "the audio stopped while the editor was open (cycle {cycle})"
        );
        if cycle == 1 {
            // After a first full cycle: whatever is made once (GL driver, fonts) exists now.
            baseline = Some((threads(), open_files(), rss_kib()));
        }
    }
    let (t0, f0, m0) = baseline.expect("at least two cycles");
    let (t1, f1, m1) = (threads(), open_files(), rss_kib());
    stop.store(true, Ordering::SeqCst);
    let (processed, differ, non_finite) = audio.join().expect("the audio thread panicked");
    let report = format!(
        "{cycles} cycles, {processed} blocks processed; threads {t0} → {t1}, files {f0} → {f1}, RSS {} → {} MiB; colours drawn {colours:?}",
        m0 / 1024,
        m1 / 1024
    );
    eprintln!("{report}");
    assert!(
        colours.iter().all(|&c| c > 50),
        "the editor did not draw into its window: {report}"
    );
    assert_eq!(non_finite, 0, "non-finite output: {report}");
    assert_eq!(
        differ, 0,
        "the editor changed the audio in {differ} blocks: {report}"
    );
    // One thread and a file of slack for the test harness starting the next test meanwhile; a
    // window that leaked its thread or its X connection would leave one per cycle.
    assert!(t1 <= t0 + 1, "threads leaked: {report}");
    assert!(f1 <= f0 + 1, "file descriptors leaked: {report}");
    // Each window makes a GL context, an egui context, fonts and an FFT: tens of MiB per window
    // if they leaked. A little growth is the allocator's and the driver's caches.
    assert!(
        m1 < m0 + 48 * 1024,
        "memory grew by {} MiB over {} cycles: {report}",
        (m1 - m0) / 1024,
        cycles - 2
    );
    report
}

fn the_editor_opens_and_closes_twenty_times_while_processing() {
    let _guard = GUI_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    ensure_display();
    open_close_while_processing(release_bundle(), 20, Duration::from_millis(350));
}

fn processing_with_the_editor_open_does_not_allocate() {
    // The allocation-checked build aborts the whole test process on any allocation in process();
    // reaching the end is the check.
    let _guard = GUI_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    ensure_display();
    open_close_while_processing(alloc_check_bundle(), 3, Duration::from_millis(1500));
}

/// nice-plug's CLAP state: the JSON's length as a little-endian u64, then the JSON.
fn state_json(bytes: &[u8]) -> serde_json::Value {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len() - 8, "length prefix");
    serde_json::from_slice(&bytes[8..]).expect("the state is JSON")
}

fn state_bytes(state: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(state).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    bytes
}

fn the_window_size_and_the_scenarios_are_saved_with_the_session() {
    let _guard = GUI_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    ensure_display();
    let bundle = release_bundle();
    let a = Instance::new(bundle, PLUGIN_ID);
    let state = state_json(&a.save_state());
    let fields = &state["fields"];
    let size: serde_json::Value =
        serde_json::from_str(fields["editor-state"].as_str().expect("editor-state saved")).unwrap();
    assert_eq!(
        (size["width"].as_u64(), size["height"].as_u64()),
        (Some(1280), Some(860))
    );
    assert!(fields["scenarios"].is_string(), "scenarios saved: {fields}");

    // A session saved after the user made the window larger and stored two scenarios.
    let mut edited = state.clone();
    edited["fields"]["editor-state"] =
        serde_json::Value::String(r#"{"width":1500,"height":900}"#.into());
    let slots = r#"{"active":"B","a":{"gain":-12.0,"load":3.0},"b":{"gain":0.0}}"#;
    edited["fields"]["scenarios"] = serde_json::Value::String(slots.into());
    let bytes = state_bytes(&edited);

    let b = Instance::new(bundle, PLUGIN_ID);
    b.load_state(&bytes);
    assert_eq!(
        b.editor_size_while_open(),
        (1500, 900),
        "the host asks for the saved size before opening"
    );
    let parent = ParentWindow::new(1500, 900);
    let (w, h) = b.open_editor(parent.id);
    assert_eq!((w, h), (1500, 900), "the editor opens at the saved size");
    pump(&[&b], Duration::from_millis(300));
    b.close_editor();
    drop(parent);
    let again = state_json(&b.save_state());
    let again_slots: serde_json::Value =
        serde_json::from_str(again["fields"]["scenarios"].as_str().unwrap()).unwrap();
    assert_eq!(
        again_slots,
        serde_json::from_str::<serde_json::Value>(slots).unwrap()
    );
    let again_size: serde_json::Value =
        serde_json::from_str(again["fields"]["editor-state"].as_str().unwrap()).unwrap();
    assert_eq!(
        (again_size["width"].as_u64(), again_size["height"].as_u64()),
        (Some(1500), Some(900))
    );
}
