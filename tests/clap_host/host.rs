//! A small CLAP host for the integration tests: loads a `.clap` file, creates plugin instances,
//! and drives them the way a simple single-threaded DAW would (init, params, state, activate,
//! process with parameter events, main-thread callbacks).
//!
//! Everything a test calls on [`Instance`] happens on the thread that created it; that thread is
//! the "main thread" of the host. `process()` runs on the same thread, but while it runs the
//! host's thread-check extension answers "audio thread", as a real host's would. An
//! [`AudioPort`] moves processing to a thread of its own (a real host's audio thread) while
//! the instance's main-thread calls (state, params flush) go on.
//!
//! Processing allocates nothing and makes no system call on the host's side once the
//! [`ProcessScratch`] exists, so that the allocation check and the syscall trace of the tests
//! see only the plugin.

#![allow(dead_code)]

use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::{
    clap_event_header, clap_event_param_value, clap_input_events, clap_output_events,
    CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_PARAM_VALUE,
};
use clap_sys::ext::audio_ports::{
    clap_audio_port_info, clap_plugin_audio_ports, CLAP_EXT_AUDIO_PORTS,
};
use clap_sys::ext::latency::{clap_host_latency, clap_plugin_latency, CLAP_EXT_LATENCY};
use clap_sys::ext::params::{
    clap_host_params, clap_param_clear_flags, clap_param_info, clap_param_rescan_flags,
    clap_plugin_params, CLAP_EXT_PARAMS,
};
use clap_sys::ext::state::{clap_host_state, clap_plugin_state, CLAP_EXT_STATE};
use clap_sys::ext::thread_check::{clap_host_thread_check, CLAP_EXT_THREAD_CHECK};
use clap_sys::factory::plugin_factory::{clap_plugin_factory, CLAP_PLUGIN_FACTORY_ID};
use clap_sys::host::clap_host;
use clap_sys::id::clap_id;
use clap_sys::plugin::{clap_plugin, clap_plugin_descriptor};
use clap_sys::process::clap_process;
use clap_sys::stream::{clap_istream, clap_ostream};
use clap_sys::version::CLAP_VERSION;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

// ------------------------------------------------------------------------------------------------
// Where the bundles are

const BUILD_RELEASE: &str = "cargo xtask bundle outpath --release";
const BUILD_ALLOC: &str =
    "CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs";

fn bundle_path(var: &str, default: &str, how: &str) -> PathBuf {
    let path = match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
    };
    assert!(
        path.is_file(),
        "CLAP bundle not found at {} (set {var} to override). Build it first with:\n    {how}",
        path.display()
    );
    path
}

/// The release CLAP plugin: `$OUTPATH_CLAP`, or `target/bundled/Outpath.clap`.
pub fn release_clap() -> PathBuf {
    bundle_path("OUTPATH_CLAP", "target/bundled/Outpath.clap", BUILD_RELEASE)
}

/// The debug build with `assert_process_allocs`: `$OUTPATH_ALLOC_CLAP`, or
/// `target/alloc-check/bundled/Outpath.clap`.
pub fn alloc_check_clap() -> PathBuf {
    bundle_path(
        "OUTPATH_ALLOC_CLAP",
        "target/alloc-check/bundled/Outpath.clap",
        BUILD_ALLOC,
    )
}

// ------------------------------------------------------------------------------------------------
// The loaded library

/// A loaded `.clap` file whose entry has been initialised. Loaded once per path and per process
/// and never unloaded: the tests run in parallel threads and CLAP wants one init/deinit pair.
pub struct Bundle {
    pub path: PathBuf,
    _lib: Option<libloading::Library>,
    entry: *const clap_plugin_entry,
    factory: *const clap_plugin_factory,
}

// The entry and factory are immutable tables of function pointers, callable from any thread.
unsafe impl Send for Bundle {}
unsafe impl Sync for Bundle {}

pub fn load(path: &Path) -> &'static Bundle {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, &'static Bundle>>> = OnceLock::new();
    let mut map = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(b) = map.get(path) {
        return b;
    }
    let bundle: &'static Bundle = Box::leak(Box::new(unsafe { Bundle::open(path) }));
    map.insert(path.to_path_buf(), bundle);
    bundle
}

impl Bundle {
    unsafe fn open(path: &Path) -> Bundle {
        let lib = unsafe { libloading::Library::new(path) }
            .unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()));
        let entry: *const clap_plugin_entry = unsafe {
            let sym = lib
                .get::<*const clap_plugin_entry>(b"clap_entry\0")
                .unwrap_or_else(|e| panic!("{} has no clap_entry: {e}", path.display()));
            *sym
        };
        unsafe { Bundle::init(path, Some(lib), entry) }
    }

    /// Initialises an entry, asks for its factory and checks that unknown factories are refused.
    unsafe fn init(
        path: &Path,
        lib: Option<libloading::Library>,
        entry: *const clap_plugin_entry,
    ) -> Bundle {
        assert!(!entry.is_null(), "clap_entry is null");
        let e = unsafe { &*entry };
        assert!(
            e.clap_version.major == 1,
            "clap_entry declares CLAP {}.{}.{}",
            e.clap_version.major,
            e.clap_version.minor,
            e.clap_version.revision
        );
        let c_path = CString::new(path.to_string_lossy().as_bytes()).unwrap();
        assert!(
            unsafe { (e.init.expect("entry.init"))(c_path.as_ptr()) },
            "clap_entry.init failed"
        );
        let factory =
            unsafe { (e.get_factory.expect("entry.get_factory"))(CLAP_PLUGIN_FACTORY_ID.as_ptr()) }
                as *const clap_plugin_factory;
        assert!(!factory.is_null(), "no plugin factory");
        let bogus = unsafe { (e.get_factory.unwrap())(c"clap.no-such-factory".as_ptr()) };
        assert!(bogus.is_null(), "an unknown factory id must give null");
        Bundle {
            path: path.to_path_buf(),
            _lib: lib,
            entry,
            factory,
        }
    }

    /// A plugin linked into this program rather than loaded from a file (the fuzz targets link
    /// the plugin's library and pass its `clap_entry`). Initialised once per process.
    pub fn linked(entry: &'static clap_plugin_entry) -> &'static Bundle {
        static LINKED: OnceLock<&'static Bundle> = OnceLock::new();
        LINKED.get_or_init(|| {
            Box::leak(Box::new(unsafe {
                Bundle::init(Path::new("(linked)"), None, entry as *const _)
            }))
        })
    }

    pub fn entry(&self) -> &clap_plugin_entry {
        unsafe { &*self.entry }
    }

    pub fn factory(&self) -> &clap_plugin_factory {
        unsafe { &*self.factory }
    }

    pub fn plugin_count(&self) -> u32 {
        unsafe { (self.factory().get_plugin_count.unwrap())(self.factory) }
    }

    pub fn descriptor(&self, index: u32) -> Option<Descriptor> {
        let d = unsafe { (self.factory().get_plugin_descriptor.unwrap())(self.factory, index) };
        if d.is_null() {
            return None;
        }
        Some(unsafe { Descriptor::read(&*d) })
    }

    /// Creates and initialises an instance of the plugin with this id.
    pub fn create(&'static self, id: &str, options: HostOptions) -> Option<Instance> {
        Instance::new(self, id, options)
    }
}

/// The plugin descriptor as owned strings.
#[derive(Debug, Clone)]
pub struct Descriptor {
    pub clap_version: (u32, u32, u32),
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub url: String,
    pub version: String,
    pub description: String,
    pub features: Vec<String>,
}

unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Descriptor {
    unsafe fn read(d: &clap_plugin_descriptor) -> Descriptor {
        let mut features = Vec::new();
        if !d.features.is_null() {
            let mut i = 0;
            loop {
                let f = unsafe { *d.features.add(i) };
                if f.is_null() {
                    break;
                }
                features.push(unsafe { cstr(f) });
                i += 1;
            }
        }
        unsafe {
            Descriptor {
                clap_version: (
                    d.clap_version.major,
                    d.clap_version.minor,
                    d.clap_version.revision,
                ),
                id: cstr(d.id),
                name: cstr(d.name),
                vendor: cstr(d.vendor),
                url: cstr(d.url),
                version: cstr(d.version),
                description: cstr(d.description),
                features,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The host side

/// What the host offers the plugin.
#[derive(Debug, Clone, Copy)]
pub struct HostOptions {
    /// Offer the thread-check, latency, params and state host extensions. Without them the
    /// host's `get_extension` answers null for everything.
    pub extensions: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions { extensions: true }
    }
}

/// What the plugin told the host through its callbacks.
#[derive(Default)]
pub struct HostCounters {
    pub restart_requests: AtomicUsize,
    pub process_requests: AtomicUsize,
    pub callback_requests: AtomicUsize,
    pub latency_changed: AtomicUsize,
    pub params_rescans: AtomicUsize,
    pub params_clears: AtomicUsize,
    pub flush_requests: AtomicUsize,
    pub state_dirty: AtomicUsize,
    /// Which host extensions the plugin asked for.
    pub extensions_queried: Mutex<Vec<String>>,
}

thread_local! {
    /// Whether this thread is inside one of the plugin's audio-thread calls right now.
    static IN_AUDIO: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the host's thread check answering "audio thread" on this thread.
fn as_audio_thread<R>(f: impl FnOnce() -> R) -> R {
    IN_AUDIO.with(|a| a.set(true));
    let r = f();
    IN_AUDIO.with(|a| a.set(false));
    r
}

/// The data behind `clap_host.host_data`.
pub struct HostData {
    options: HostOptions,
    main_thread: ThreadId,
    callback_pending: AtomicBool,
    pub counters: HostCounters,
}

static HOST_THREAD_CHECK: clap_host_thread_check = clap_host_thread_check {
    is_main_thread: Some(host_is_main_thread),
    is_audio_thread: Some(host_is_audio_thread),
};
static HOST_LATENCY: clap_host_latency = clap_host_latency {
    changed: Some(host_latency_changed),
};
static HOST_PARAMS: clap_host_params = clap_host_params {
    rescan: Some(host_params_rescan),
    clear: Some(host_params_clear),
    request_flush: Some(host_params_request_flush),
};
static HOST_STATE: clap_host_state = clap_host_state {
    mark_dirty: Some(host_state_mark_dirty),
};

unsafe fn host_data<'a>(host: *const clap_host) -> &'a HostData {
    assert!(!host.is_null(), "plugin passed a null host");
    let data = unsafe { (*host).host_data } as *const HostData;
    assert!(!data.is_null(), "host_data is null");
    unsafe { &*data }
}

unsafe extern "C" fn host_get_extension(
    host: *const clap_host,
    id: *const c_char,
) -> *const c_void {
    let data = unsafe { host_data(host) };
    let id = unsafe { CStr::from_ptr(id) };
    if let Ok(mut q) = data.counters.extensions_queried.lock() {
        q.push(id.to_string_lossy().into_owned());
    }
    if !data.options.extensions {
        return std::ptr::null();
    }
    if id == CLAP_EXT_THREAD_CHECK {
        &HOST_THREAD_CHECK as *const _ as *const c_void
    } else if id == CLAP_EXT_LATENCY {
        &HOST_LATENCY as *const _ as *const c_void
    } else if id == CLAP_EXT_PARAMS {
        &HOST_PARAMS as *const _ as *const c_void
    } else if id == CLAP_EXT_STATE {
        &HOST_STATE as *const _ as *const c_void
    } else {
        std::ptr::null()
    }
}

unsafe extern "C" fn host_request_restart(host: *const clap_host) {
    unsafe { host_data(host) }
        .counters
        .restart_requests
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_request_process(host: *const clap_host) {
    unsafe { host_data(host) }
        .counters
        .process_requests
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_request_callback(host: *const clap_host) {
    let d = unsafe { host_data(host) };
    d.counters.callback_requests.fetch_add(1, Ordering::SeqCst);
    d.callback_pending.store(true, Ordering::SeqCst);
}
unsafe extern "C" fn host_is_main_thread(host: *const clap_host) -> bool {
    let d = unsafe { host_data(host) };
    !IN_AUDIO.with(|a| a.get()) && std::thread::current().id() == d.main_thread
}
unsafe extern "C" fn host_is_audio_thread(_host: *const clap_host) -> bool {
    IN_AUDIO.with(|a| a.get())
}
unsafe extern "C" fn host_latency_changed(host: *const clap_host) {
    unsafe { host_data(host) }
        .counters
        .latency_changed
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_params_rescan(host: *const clap_host, _flags: clap_param_rescan_flags) {
    unsafe { host_data(host) }
        .counters
        .params_rescans
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_params_clear(
    host: *const clap_host,
    _id: clap_id,
    _flags: clap_param_clear_flags,
) {
    unsafe { host_data(host) }
        .counters
        .params_clears
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_params_request_flush(host: *const clap_host) {
    unsafe { host_data(host) }
        .counters
        .flush_requests
        .fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn host_state_mark_dirty(host: *const clap_host) {
    unsafe { host_data(host) }
        .counters
        .state_dirty
        .fetch_add(1, Ordering::SeqCst);
}

// ------------------------------------------------------------------------------------------------
// Events

/// A parameter value change at a sample offset of a block (value in CLAP units: normalized for
/// continuous parameters, the index for stepped ones).
#[derive(Debug, Clone, Copy)]
pub struct ParamEvent {
    pub time: u32,
    pub id: clap_id,
    pub value: f64,
}

/// The input events of one call, borrowed from a [`ProcessScratch`].
struct InEventList<'a> {
    events: &'a [clap_event_param_value],
}

unsafe extern "C" fn in_events_size(list: *const clap_input_events) -> u32 {
    let l = unsafe { &*((*list).ctx as *const InEventList) };
    l.events.len() as u32
}
unsafe extern "C" fn in_events_get(
    list: *const clap_input_events,
    index: u32,
) -> *const clap_event_header {
    let l = unsafe { &*((*list).ctx as *const InEventList) };
    match l.events.get(index as usize) {
        Some(e) => &e.header as *const clap_event_header,
        None => std::ptr::null(),
    }
}

impl InEventList<'_> {
    fn as_clap(&self) -> clap_input_events {
        clap_input_events {
            ctx: self as *const InEventList as *mut c_void,
            size: Some(in_events_size),
            get: Some(in_events_get),
        }
    }
}

/// Fills `buf` with `events` as CLAP events in time order (a stable insertion sort: events at
/// the same time keep their order, and nothing is allocated while `buf` has room).
fn fill_events(buf: &mut Vec<clap_event_param_value>, events: &[ParamEvent]) {
    buf.clear();
    for e in events {
        buf.push(clap_event_param_value {
            header: clap_event_header {
                size: std::mem::size_of::<clap_event_param_value>() as u32,
                time: e.time,
                space_id: CLAP_CORE_EVENT_SPACE_ID,
                type_: CLAP_EVENT_PARAM_VALUE,
                flags: 0,
            },
            param_id: e.id,
            cookie: std::ptr::null_mut(),
            note_id: -1,
            port_index: -1,
            channel: -1,
            key: -1,
            value: e.value,
        });
        let mut i = buf.len() - 1;
        while i > 0 && buf[i - 1].header.time > buf[i].header.time {
            buf.swap(i - 1, i);
            i -= 1;
        }
    }
}

/// Collects what the plugin sends back (kept small and preallocated).
struct OutEventList {
    count: Cell<usize>,
    param_values: RefCell<Vec<(clap_id, f64)>>,
}

unsafe extern "C" fn out_events_try_push(
    list: *const clap_output_events,
    event: *const clap_event_header,
) -> bool {
    let l = unsafe { &*((*list).ctx as *const OutEventList) };
    l.count.set(l.count.get() + 1);
    let h = unsafe { &*event };
    if h.space_id == CLAP_CORE_EVENT_SPACE_ID && h.type_ == CLAP_EVENT_PARAM_VALUE {
        let e = unsafe { &*(event as *const clap_event_param_value) };
        let mut v = l.param_values.borrow_mut();
        if v.len() < v.capacity() {
            v.push((e.param_id, e.value));
        }
    }
    true
}

impl OutEventList {
    fn new() -> OutEventList {
        OutEventList {
            count: Cell::new(0),
            param_values: RefCell::new(Vec::with_capacity(1024)),
        }
    }
    fn clear(&self) {
        self.count.set(0);
        self.param_values.borrow_mut().clear();
    }
    fn as_clap(&self) -> clap_output_events {
        clap_output_events {
            ctx: self as *const OutEventList as *mut c_void,
            try_push: Some(out_events_try_push),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Streams

struct ReadCtx<'a> {
    data: &'a [u8],
    pos: usize,
    /// Largest read served at once (hosts may hand out data in pieces).
    chunk: usize,
}

unsafe extern "C" fn istream_read(
    stream: *const clap_istream,
    buffer: *mut c_void,
    size: u64,
) -> i64 {
    let ctx = unsafe { &mut *((*stream).ctx as *mut ReadCtx) };
    let n = (ctx.data.len() - ctx.pos).min(size as usize).min(ctx.chunk);
    unsafe { std::ptr::copy_nonoverlapping(ctx.data.as_ptr().add(ctx.pos), buffer as *mut u8, n) };
    ctx.pos += n;
    n as i64
}

unsafe extern "C" fn ostream_write(
    stream: *const clap_ostream,
    buffer: *const c_void,
    size: u64,
) -> i64 {
    let out = unsafe { &mut *((*stream).ctx as *mut Vec<u8>) };
    let bytes = unsafe { std::slice::from_raw_parts(buffer as *const u8, size as usize) };
    out.extend_from_slice(bytes);
    size as i64
}

// ------------------------------------------------------------------------------------------------
// Parameters as the host sees them

#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub id: clap_id,
    pub flags: u32,
    pub name: String,
    pub module: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
}

fn c_array_to_string(a: &[c_char]) -> String {
    let bytes: Vec<u8> = a
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[derive(Debug, Clone)]
pub struct PortInfo {
    pub id: clap_id,
    pub name: String,
    pub flags: u32,
    pub channel_count: u32,
    pub port_type: String,
    pub in_place_pair: clap_id,
}

// ------------------------------------------------------------------------------------------------
// An instance

/// A created and initialised plugin instance with its host. Destroyed on drop (deactivated first
/// if needed).
pub struct Instance {
    pub bundle: &'static Bundle,
    plugin: *const clap_plugin,
    host: Box<clap_host>,
    pub host_data: Box<HostData>,
    _host_strings: [CString; 4],
    params: *const clap_plugin_params,
    state: *const clap_plugin_state,
    latency: *const clap_plugin_latency,
    audio_ports: *const clap_plugin_audio_ports,
    activated: bool,
    processing: bool,
    steady_time: i64,
    scratch: ProcessScratch,
}

impl Instance {
    fn new(bundle: &'static Bundle, id: &str, options: HostOptions) -> Option<Instance> {
        let host_data = Box::new(HostData {
            options,
            main_thread: std::thread::current().id(),
            callback_pending: AtomicBool::new(false),
            counters: HostCounters::default(),
        });
        let strings = [
            CString::new("outpath-test-host").unwrap(),
            CString::new("Outpath tests").unwrap(),
            CString::new("https://example.invalid").unwrap(),
            CString::new("0.1").unwrap(),
        ];
        let host = Box::new(clap_host {
            clap_version: CLAP_VERSION,
            host_data: &*host_data as *const HostData as *mut c_void,
            name: strings[0].as_ptr(),
            vendor: strings[1].as_ptr(),
            url: strings[2].as_ptr(),
            version: strings[3].as_ptr(),
            get_extension: Some(host_get_extension),
            request_restart: Some(host_request_restart),
            request_process: Some(host_request_process),
            request_callback: Some(host_request_callback),
        });
        let c_id = CString::new(id).unwrap();
        let plugin = unsafe {
            (bundle.factory().create_plugin.unwrap())(bundle.factory, &*host, c_id.as_ptr())
        };
        if plugin.is_null() {
            return None;
        }
        let p = unsafe { &*plugin };
        assert!(
            unsafe { (p.init.expect("plugin.init"))(plugin) },
            "plugin.init failed"
        );
        let ext = |name: &CStr| unsafe {
            (p.get_extension.expect("plugin.get_extension"))(plugin, name.as_ptr())
        };
        let inst = Instance {
            bundle,
            plugin,
            params: ext(CLAP_EXT_PARAMS) as *const clap_plugin_params,
            state: ext(CLAP_EXT_STATE) as *const clap_plugin_state,
            latency: ext(CLAP_EXT_LATENCY) as *const clap_plugin_latency,
            audio_ports: ext(CLAP_EXT_AUDIO_PORTS) as *const clap_plugin_audio_ports,
            host,
            host_data,
            _host_strings: strings,
            activated: false,
            processing: false,
            steady_time: 0,
            scratch: ProcessScratch::new(),
        };
        inst.idle();
        Some(inst)
    }

    fn p(&self) -> &clap_plugin {
        unsafe { &*self.plugin }
    }

    pub fn descriptor(&self) -> Descriptor {
        unsafe { Descriptor::read(&*self.p().desc) }
    }

    pub fn has_extension(&self, name: &CStr) -> bool {
        !unsafe { (self.p().get_extension.unwrap())(self.plugin, name.as_ptr()) }.is_null()
    }

    /// Runs the plugin's main-thread callback if it asked for one (what a host's event loop does).
    pub fn idle(&self) {
        if self
            .host_data
            .callback_pending
            .swap(false, Ordering::SeqCst)
        {
            unsafe { (self.p().on_main_thread.unwrap())(self.plugin) };
        }
    }

    // --- params -----------------------------------------------------------------------------

    fn params(&self) -> &clap_plugin_params {
        assert!(!self.params.is_null(), "the plugin has no params extension");
        unsafe { &*self.params }
    }

    pub fn param_count(&self) -> u32 {
        unsafe { (self.params().count.unwrap())(self.plugin) }
    }

    pub fn param_info(&self, index: u32) -> Option<ParamInfo> {
        let mut info: clap_param_info = unsafe { std::mem::zeroed() };
        if !unsafe { (self.params().get_info.unwrap())(self.plugin, index, &mut info) } {
            return None;
        }
        Some(ParamInfo {
            id: info.id,
            flags: info.flags,
            name: c_array_to_string(&info.name),
            module: c_array_to_string(&info.module),
            min: info.min_value,
            max: info.max_value,
            default: info.default_value,
        })
    }

    pub fn param_infos(&self) -> Vec<ParamInfo> {
        (0..self.param_count())
            .map(|i| {
                self.param_info(i)
                    .expect("get_info for an index below count")
            })
            .collect()
    }

    pub fn get_value(&self, id: clap_id) -> Option<f64> {
        let mut v = f64::NAN;
        unsafe { (self.params().get_value.unwrap())(self.plugin, id, &mut v) }.then_some(v)
    }

    /// All parameter values, in the order of the params extension.
    pub fn values(&self) -> Vec<f64> {
        self.param_infos()
            .iter()
            .map(|p| self.get_value(p.id).expect("get_value"))
            .collect()
    }

    pub fn value_to_text(&self, id: clap_id, value: f64) -> Option<String> {
        let mut buf = [0 as c_char; 256];
        let ok = unsafe {
            (self.params().value_to_text.unwrap())(
                self.plugin,
                id,
                value,
                buf.as_mut_ptr(),
                buf.len() as u32,
            )
        };
        ok.then(|| c_array_to_string(&buf))
    }

    pub fn text_to_value(&self, id: clap_id, text: &str) -> Option<f64> {
        let c = CString::new(text).ok()?;
        let mut v = f64::NAN;
        unsafe { (self.params().text_to_value.unwrap())(self.plugin, id, c.as_ptr(), &mut v) }
            .then_some(v)
    }

    /// Sends parameter changes outside of process() through `params.flush` (what a host does
    /// while the plugin is not processing). Returns the parameter values the plugin sent back.
    pub fn flush(&self, events: &[ParamEvent]) -> Vec<(clap_id, f64)> {
        let mut buf = Vec::with_capacity(events.len());
        fill_events(&mut buf, events);
        let ins = InEventList { events: &buf };
        let outs = OutEventList::new();
        let (ci, co) = (ins.as_clap(), outs.as_clap());
        unsafe { (self.params().flush.unwrap())(self.plugin, &ci, &co) };
        self.idle();
        outs.param_values.into_inner()
    }

    // --- state ------------------------------------------------------------------------------

    fn state(&self) -> &clap_plugin_state {
        assert!(!self.state.is_null(), "the plugin has no state extension");
        unsafe { &*self.state }
    }

    pub fn save_state(&self) -> Option<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        let stream = clap_ostream {
            ctx: &mut out as *mut Vec<u8> as *mut c_void,
            write: Some(ostream_write),
        };
        let ok = unsafe { (self.state().save.unwrap())(self.plugin, &stream) };
        self.idle();
        ok.then_some(out)
    }

    /// Loads state from `data`, serving at most `chunk` bytes per read call.
    pub fn load_state_chunked(&self, data: &[u8], chunk: usize) -> bool {
        let mut ctx = ReadCtx {
            data,
            pos: 0,
            chunk: chunk.max(1),
        };
        let stream = clap_istream {
            ctx: &mut ctx as *mut ReadCtx as *mut c_void,
            read: Some(istream_read),
        };
        let ok = unsafe { (self.state().load.unwrap())(self.plugin, &stream) };
        self.idle();
        ok
    }

    pub fn load_state(&self, data: &[u8]) -> bool {
        self.load_state_chunked(data, usize::MAX)
    }

    // --- ports and latency ------------------------------------------------------------------

    pub fn audio_ports(&self, is_input: bool) -> Vec<PortInfo> {
        assert!(
            !self.audio_ports.is_null(),
            "the plugin has no audio-ports extension"
        );
        let ap = unsafe { &*self.audio_ports };
        let n = unsafe { (ap.count.unwrap())(self.plugin, is_input) };
        (0..n)
            .map(|i| {
                let mut info: clap_audio_port_info = unsafe { std::mem::zeroed() };
                assert!(
                    unsafe { (ap.get.unwrap())(self.plugin, i, is_input, &mut info) },
                    "audio_ports.get({i})"
                );
                PortInfo {
                    id: info.id,
                    name: c_array_to_string(&info.name),
                    flags: info.flags,
                    channel_count: info.channel_count,
                    port_type: unsafe { cstr(info.port_type) },
                    in_place_pair: info.in_place_pair,
                }
            })
            .collect()
    }

    pub fn latency(&self) -> u32 {
        assert!(
            !self.latency.is_null(),
            "the plugin has no latency extension"
        );
        unsafe { ((*self.latency).get.unwrap())(self.plugin) }
    }

    // --- lifecycle --------------------------------------------------------------------------

    pub fn activate(&mut self, sample_rate: f64, min_frames: u32, max_frames: u32) {
        assert!(!self.activated, "already active");
        let ok = unsafe {
            (self.p().activate.unwrap())(self.plugin, sample_rate, min_frames, max_frames)
        };
        assert!(
            ok,
            "activate({sample_rate}, {min_frames}, {max_frames}) failed"
        );
        self.activated = true;
        self.idle();
    }

    pub fn deactivate(&mut self) {
        if self.processing {
            self.stop_processing();
        }
        if self.activated {
            unsafe { (self.p().deactivate.unwrap())(self.plugin) };
            self.activated = false;
        }
        self.idle();
    }

    pub fn start_processing(&mut self) {
        assert!(self.activated && !self.processing);
        let ok = as_audio_thread(|| unsafe { (self.p().start_processing.unwrap())(self.plugin) });
        assert!(ok, "start_processing failed");
        self.processing = true;
    }

    pub fn stop_processing(&mut self) {
        assert!(self.processing);
        as_audio_thread(|| unsafe { (self.p().stop_processing.unwrap())(self.plugin) });
        self.processing = false;
        self.idle();
    }

    pub fn reset(&mut self) {
        as_audio_thread(|| unsafe { (self.p().reset.unwrap())(self.plugin) });
    }

    /// Hands processing to another thread: the port starts and stops processing and calls
    /// process() there, while this instance's main-thread calls go on here. The instance must
    /// be active and not processing.
    pub fn audio_port(&self) -> AudioPort<'_> {
        assert!(
            self.activated && !self.processing,
            "audio_port() needs an active, idle instance"
        );
        AudioPort {
            plugin: self.plugin,
            scratch: ProcessScratch::new(),
            steady_time: self.steady_time,
            processing: false,
            _instance: std::marker::PhantomData,
        }
    }

    /// One process() call on `frames` samples. `input` and `output` hold one slice per channel
    /// (at least `frames` long); with `output == None` the call is in place on `input`.
    /// Returns the CLAP process status.
    pub fn process(
        &mut self,
        input: &mut [&mut [f32]],
        output: Option<&mut [&mut [f32]]>,
        frames: u32,
        events: &[ParamEvent],
    ) -> i32 {
        assert!(self.processing, "process() before start_processing()");
        let status = unsafe {
            call_process(
                self.plugin,
                &mut self.scratch,
                self.steady_time,
                input,
                output,
                frames,
                events,
            )
        };
        self.steady_time += frames as i64;
        self.idle();
        status
    }
}

/// What the host needs for one process() call, allocated once: with it, processing allocates
/// nothing on the host's side (up to 8 channels and 8192 events per call).
pub struct ProcessScratch {
    in_ptrs: Vec<*mut f32>,
    out_ptrs: Vec<*mut f32>,
    events: Vec<clap_event_param_value>,
    outs: OutEventList,
}

impl ProcessScratch {
    pub fn new() -> ProcessScratch {
        ProcessScratch {
            in_ptrs: Vec::with_capacity(8),
            out_ptrs: Vec::with_capacity(8),
            events: Vec::with_capacity(8192),
            outs: OutEventList::new(),
        }
    }
}

impl Default for ProcessScratch {
    fn default() -> Self {
        ProcessScratch::new()
    }
}

/// One process() call on `frames` samples (see [`Instance::process`]).
unsafe fn call_process(
    plugin: *const clap_plugin,
    scratch: &mut ProcessScratch,
    steady_time: i64,
    input: &mut [&mut [f32]],
    output: Option<&mut [&mut [f32]]>,
    frames: u32,
    events: &[ParamEvent],
) -> i32 {
    for ch in input.iter() {
        assert!(ch.len() >= frames as usize);
    }
    assert!(input.len() <= 8 && events.len() <= scratch.events.capacity());
    scratch.in_ptrs.clear();
    scratch
        .in_ptrs
        .extend(input.iter_mut().map(|c| c.as_mut_ptr()));
    scratch.out_ptrs.clear();
    let out_channels = match output {
        Some(out) => {
            assert!(out.len() <= 8);
            for ch in out.iter() {
                assert!(ch.len() >= frames as usize);
            }
            scratch
                .out_ptrs
                .extend(out.iter_mut().map(|c| c.as_mut_ptr()));
            out.len()
        }
        None => {
            let ProcessScratch {
                in_ptrs, out_ptrs, ..
            } = scratch;
            out_ptrs.extend_from_slice(in_ptrs);
            input.len()
        }
    };
    let audio_in = clap_audio_buffer {
        data32: scratch.in_ptrs.as_mut_ptr(),
        data64: std::ptr::null_mut(),
        channel_count: input.len() as u32,
        latency: 0,
        constant_mask: 0,
    };
    let mut audio_out = clap_audio_buffer {
        data32: scratch.out_ptrs.as_mut_ptr(),
        data64: std::ptr::null_mut(),
        channel_count: out_channels as u32,
        latency: 0,
        constant_mask: 0,
    };
    fill_events(&mut scratch.events, events);
    scratch.outs.clear();
    let ins = InEventList {
        events: &scratch.events,
    };
    let (ci, co) = (ins.as_clap(), scratch.outs.as_clap());
    let process = clap_process {
        steady_time,
        frames_count: frames,
        transport: std::ptr::null(),
        audio_inputs: &audio_in,
        audio_outputs: &mut audio_out,
        audio_inputs_count: 1,
        audio_outputs_count: 1,
        in_events: &ci,
        out_events: &co,
    };
    as_audio_thread(|| unsafe { ((*plugin).process.unwrap())(plugin, &process) })
}

/// Processing of an active [`Instance`] from another thread (a real host's audio thread); see
/// [`Instance::audio_port`]. Stops processing when dropped.
pub struct AudioPort<'a> {
    plugin: *const clap_plugin,
    scratch: ProcessScratch,
    steady_time: i64,
    processing: bool,
    _instance: std::marker::PhantomData<&'a Instance>,
}

// The CLAP audio-thread calls may come from any one thread at a time; the instance outlives the
// port (its lifetime), and the port never calls the plugin's main-thread functions.
unsafe impl Send for AudioPort<'_> {}

impl AudioPort<'_> {
    pub fn start_processing(&mut self) {
        assert!(!self.processing);
        // The first thread::current() of a thread allocates: not inside the plugin's calls.
        let _ = std::thread::current().id();
        let ok =
            as_audio_thread(|| unsafe { ((*self.plugin).start_processing.unwrap())(self.plugin) });
        assert!(ok, "start_processing failed");
        self.processing = true;
    }

    pub fn stop_processing(&mut self) {
        assert!(self.processing);
        as_audio_thread(|| unsafe { ((*self.plugin).stop_processing.unwrap())(self.plugin) });
        self.processing = false;
    }

    /// As [`Instance::process`], on this thread.
    pub fn process(
        &mut self,
        input: &mut [&mut [f32]],
        output: Option<&mut [&mut [f32]]>,
        frames: u32,
        events: &[ParamEvent],
    ) -> i32 {
        assert!(self.processing, "process() before start_processing()");
        let status = unsafe {
            call_process(
                self.plugin,
                &mut self.scratch,
                self.steady_time,
                input,
                output,
                frames,
                events,
            )
        };
        self.steady_time += frames as i64;
        status
    }
}

impl Drop for AudioPort<'_> {
    fn drop(&mut self) {
        if self.processing && !std::thread::panicking() {
            self.stop_processing();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Leave a plugin that may be in a bad state alone; the process ends soon anyway.
            return;
        }
        self.deactivate();
        unsafe { (self.p().destroy.unwrap())(self.plugin) };
    }
}

// ------------------------------------------------------------------------------------------------
// Small helpers shared by the tests

/// nice-plug's mapping of a string parameter id to its 32-bit CLAP/VST3 id (a Java-style string
/// hash with the top bit cleared), written out here so the test notices if the ids change.
pub fn param_hash(id: &str) -> u32 {
    let mut h: u32 = 0;
    for b in id.bytes() {
        h = h.wrapping_mul(31).wrapping_add(b as u32);
    }
    h & !(1 << 31)
}

/// A small deterministic PRNG (SplitMix64).
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
