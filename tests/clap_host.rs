//! Outpath loaded as a CLAP plugin by a small host written here with `clap-sys` and
//! `libloading`: the descriptor, the parameters as a host sees them (ids, names, ranges,
//! defaults, text), the audio ports, processing at several rates and block sizes with
//! automation, the reported latency against the measured one, the state (round trip, fresh
//! instance, garbage and hostile data), and a real-time check with the `assert_process_allocs`
//! debug build in a child process. `clap_host/robust.rs` adds what the strictest validators
//! check (rates 8 kHz–768 kHz × block sizes 0–16384, denormals, parameter fuzzing, bad input
//! and recovery, hostile state, every scenario in the allocation-checked build, no system call
//! on the audio thread under strace).
//!
//! The bundles are not built by this test. Paths come from `OUTPATH_CLAP` (default
//! `target/bundled/Outpath.clap`, built by `cargo xtask bundle outpath --release`) and
//! `OUTPATH_ALLOC_CLAP` (default `target/alloc-check/bundled/Outpath.clap`, built by
//! `CARGO_TARGET_DIR=target/alloc-check cargo xtask bundle outpath --features assert_process_allocs`).

#[path = "clap_host/host.rs"]
mod host;
#[path = "clap_host/robust.rs"]
mod robust;

use clap_sys::ext::audio_ports::{CLAP_AUDIO_PORT_IS_MAIN, CLAP_EXT_AUDIO_PORTS};
use clap_sys::ext::latency::CLAP_EXT_LATENCY;
use clap_sys::ext::params::{CLAP_EXT_PARAMS, CLAP_PARAM_IS_AUTOMATABLE, CLAP_PARAM_IS_STEPPED};
use clap_sys::ext::state::CLAP_EXT_STATE;
use clap_sys::process::CLAP_PROCESS_ERROR;
use host::{param_hash, HostOptions, Instance, ParamEvent, ParamInfo, Rng};
use outpath::model::settings::{format_value, ParamKind, ParamSpec, PARAMS};
use std::sync::atomic::Ordering;

const PLUGIN_ID: &str = "org.outpath.outpath";

/// The default safety ceiling, −1 dBFS, as a linear peak.
const CEILING_LIN: f32 = 0.891_250_9;
/// Allowance over the ceiling for the limiter's rounding (≈ +0.01 dB).
const CEILING_SLACK: f32 = 1e-3;

fn instance() -> Instance {
    instance_with(HostOptions::default())
}

fn instance_with(options: HostOptions) -> Instance {
    let bundle = host::load(&host::release_clap());
    bundle
        .create(PLUGIN_ID, options)
        .expect("the factory creates org.outpath.outpath")
}

// ------------------------------------------------------------------------------------------------
// The table as a CLAP host must see it

/// nice-plug exposes every parameter to CLAP as `normalized × step_count`: continuous
/// parameters run 0…1 (normalized), enums and toggles run 0…n−1 (their index).
fn clap_max(p: &ParamSpec) -> f64 {
    match p.kind {
        ParamKind::Float { .. } => 1.0,
        ParamKind::Choice { options, .. } => (options.len() - 1) as f64,
        ParamKind::Toggle { .. } => 1.0,
    }
}

fn is_stepped(p: &ParamSpec) -> bool {
    !matches!(p.kind, ParamKind::Float { .. })
}

/// The exponent of the power-law skew that puts the geometric middle of a log range at ½
/// (DESIGN §3 "log" ranges as `FloatRange::Skewed`).
fn skew(min: f64, max: f64) -> f64 {
    let mid = ((min * max).sqrt() - min) / (max - min);
    0.5f64.ln() / mid.ln()
}

/// Display value → CLAP value.
fn to_clap(p: &ParamSpec, plain: f64) -> f64 {
    match p.kind {
        ParamKind::Float { min, max, log, .. } => {
            let x = ((plain.clamp(min, max) - min) / (max - min)).clamp(0.0, 1.0);
            if log {
                x.powf(skew(min, max))
            } else {
                x
            }
        }
        _ => plain,
    }
}

/// CLAP value → display value.
fn from_clap(p: &ParamSpec, v: f64) -> f64 {
    match p.kind {
        ParamKind::Float { min, max, log, .. } => {
            let x = v.clamp(0.0, 1.0);
            let x = if log { x.powf(1.0 / skew(min, max)) } else { x };
            min + x * (max - min)
        }
        _ => v,
    }
}

fn default_plain(p: &ParamSpec) -> f64 {
    match p.kind {
        ParamKind::Float { default, .. } => default,
        ParamKind::Choice { default, .. } => default as f64,
        ParamKind::Toggle { default } => f64::from(u8::from(default)),
    }
}

fn spec(id: &str) -> &'static ParamSpec {
    PARAMS
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the table"))
}

fn id(name: &str) -> u32 {
    param_hash(spec(name).id)
}

fn ev(time: u32, name: &str, clap_value: f64) -> ParamEvent {
    ParamEvent {
        time,
        id: id(name),
        value: clap_value,
    }
}

/// A random CLAP value for a parameter (a random index for stepped ones).
fn random_value(p: &ParamSpec, rng: &mut Rng) -> f64 {
    if is_stepped(p) {
        rng.below(clap_max(p) as u64 + 1) as f64
    } else {
        rng.unit()
    }
}

fn assert_values_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, p) in PARAMS.iter().enumerate() {
        assert!(
            (a[i] - b[i]).abs() <= 1e-6,
            "{what}: {} is {} instead of {}",
            p.id,
            b[i],
            a[i]
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Descriptor, parameters, ports

#[test]
fn descriptor_names_the_plugin() {
    let bundle = host::load(&host::release_clap());
    assert_eq!(bundle.plugin_count(), 1, "one plugin in the factory");
    let d = bundle.descriptor(0).expect("descriptor 0");
    assert_eq!(d.id, PLUGIN_ID);
    assert_eq!(d.name, "Outpath");
    assert!(!d.vendor.is_empty(), "vendor");
    assert!(!d.version.is_empty(), "version");
    assert_eq!(d.clap_version.0, 1, "CLAP major version");
    for f in ["audio-effect", "stereo"] {
        assert!(
            d.features.iter().any(|x| x == f),
            "features {:?} lack {f}",
            d.features
        );
    }
    assert!(bundle.descriptor(1).is_none(), "no second descriptor");
    assert!(
        bundle
            .create("org.outpath.nope", HostOptions::default())
            .is_none(),
        "unknown ids are refused"
    );

    let inst = instance();
    assert_eq!(
        inst.descriptor().id,
        PLUGIN_ID,
        "the instance's own descriptor"
    );
    for ext in [
        CLAP_EXT_PARAMS,
        CLAP_EXT_STATE,
        CLAP_EXT_LATENCY,
        CLAP_EXT_AUDIO_PORTS,
    ] {
        assert!(inst.has_extension(ext), "plugin extension {ext:?}");
    }
    assert!(!inst.has_extension(c"org.outpath.no-such-extension"));
}

#[test]
fn params_follow_the_table() {
    let inst = instance();
    assert_eq!(inst.param_count() as usize, PARAMS.len());
    assert_eq!(inst.param_count(), 30);
    let infos = inst.param_infos();
    // (No probe of index == count: nice-plug 0.4.2's get_info checks `index > count` and then
    // indexes out of bounds, a panic across the C ABI. Real hosts never ask for it.)
    for (p, info) in PARAMS.iter().zip(&infos) {
        let ParamInfo {
            id,
            flags,
            name,
            module,
            min,
            max,
            default,
        } = info;
        // The CLAP id is nice-plug's hash of the string id: the table's id, in the table's order.
        assert_eq!(
            *id,
            param_hash(p.id),
            "{}: CLAP id {id:#x} is not the hash of the table id",
            p.id
        );
        assert_eq!(name, p.name, "{}: name", p.id);
        assert_eq!(module, "", "{}: module (no groups)", p.id);
        assert!(
            flags & CLAP_PARAM_IS_AUTOMATABLE != 0,
            "{}: automatable",
            p.id
        );
        assert_eq!(
            flags & CLAP_PARAM_IS_STEPPED != 0,
            is_stepped(p),
            "{}: stepped flag",
            p.id
        );
        assert_eq!(*min, 0.0, "{}: min", p.id);
        assert_eq!(*max, clap_max(p), "{}: max", p.id);
        let want = to_clap(p, default_plain(p));
        assert!(
            (default - want).abs() < 1e-5,
            "{}: default {default} instead of {want}",
            p.id
        );
        let now = inst.get_value(*id).expect("get_value");
        assert!(
            (now - want).abs() < 1e-5,
            "{}: value after init {now} instead of {want}",
            p.id
        );
        // And the default as the host shows it: the table's text in its unit.
        if !matches!(p.kind, ParamKind::Toggle { .. }) {
            let text = inst.value_to_text(*id, *default).expect("value_to_text");
            assert_eq!(
                text,
                format_value(p, default_plain(p)),
                "{}: default as text",
                p.id
            );
        }
    }
    let mut ids: Vec<u32> = infos.iter().map(|i| i.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), PARAMS.len(), "CLAP ids are unique");
    assert!(
        inst.get_value(0xdead_beef & 0x7fff_ffff).is_none(),
        "unknown id refused"
    );
}

#[test]
fn param_values_round_trip_through_text() {
    let inst = instance();
    let infos = inst.param_infos();
    let mut checked = 0;
    for (p, info) in PARAMS.iter().zip(&infos) {
        let pid = info.id;
        match p.kind {
            ParamKind::Choice { options, .. } => {
                for (i, o) in options.iter().enumerate() {
                    let text = inst.value_to_text(pid, i as f64).expect("value_to_text");
                    assert_eq!(&text, o, "{}: option {i}", p.id);
                    // nice-plug goes through an f32 normalized value: the index comes back within
                    // float rounding, which hosts round away for stepped parameters.
                    let back = inst.text_to_value(pid, &text).expect("text_to_value");
                    assert!(
                        (back - i as f64).abs() < 1e-6,
                        "{}: '{text}' back as {back}",
                        p.id
                    );
                    checked += 1;
                }
            }
            ParamKind::Toggle { .. } => {
                for v in [0.0, 1.0] {
                    let text = inst.value_to_text(pid, v).expect("value_to_text");
                    let back = inst.text_to_value(pid, &text).expect("text_to_value");
                    assert!((back - v).abs() < 1e-6, "{}: '{text}' back as {back}", p.id);
                    checked += 1;
                }
            }
            ParamKind::Float { min, max, log, .. } => {
                for v in [
                    0.0,
                    0.013,
                    0.1,
                    0.25,
                    0.5,
                    0.618,
                    0.77,
                    0.9,
                    0.999,
                    1.0,
                    info.default,
                ] {
                    let text = inst.value_to_text(pid, v).expect("value_to_text");
                    assert!(
                        p.unit.is_empty() || text.ends_with(p.unit),
                        "{}: '{text}' lacks the unit {}",
                        p.id,
                        p.unit
                    );
                    let back = inst.text_to_value(pid, &text).unwrap_or_else(|| {
                        panic!("{}: the plugin cannot read its own text '{text}'", p.id)
                    });
                    let again = inst.value_to_text(pid, back).expect("value_to_text");
                    assert_eq!(text, again, "{}: text → value → text", p.id);
                    // About four significant figures are shown: the value comes back that close.
                    let (a, b) = (from_clap(p, v), from_clap(p, back));
                    assert!(
                        (a - b).abs() <= 6e-4 * a.abs() + 1e-9 * (max - min),
                        "{}: {v} shows as '{text}' and reads back as {back} ({a} vs {b})",
                        p.id
                    );
                    checked += 1;
                }
                // Text in the table's own units lands where the table says.
                let mid = if log {
                    (min * max).sqrt()
                } else {
                    0.5 * (min + max)
                };
                let v = inst
                    .text_to_value(pid, &format!("{mid}"))
                    .expect("text_to_value of a bare number");
                assert!(
                    (v - 0.5).abs() < 1e-3,
                    "{}: the middle of the range {mid} maps to {v}, not 0.5",
                    p.id
                );
                let out_of_range = inst.text_to_value(pid, &format!("{}", max * 10.0 + 1.0));
                assert!(
                    out_of_range.map_or(true, |v| (0.0..=1.0).contains(&v)),
                    "{}: out-of-range text gives {out_of_range:?}",
                    p.id
                );
            }
        }
        // Text that is no value of the parameter is refused (the table's own parser refuses it too).
        let garbage = inst.text_to_value(pid, "certainly not a value");
        assert!(
            garbage.is_none(),
            "{}: text_to_value accepted 'certainly not a value' as {garbage:?} ({})",
            p.id,
            inst.value_to_text(pid, garbage.unwrap_or(0.0))
                .unwrap_or_default()
        );
    }
    eprintln!("text round trips checked: {checked}");
}

#[test]
fn host_text_agrees_with_the_tables_parser() {
    // What a user may type: the spellings the table's own parser (used by the command line and
    // the device files) understands. The host may refuse some of them, but where it reads one
    // it must land on the same value.
    let inst = instance();
    let mut disagreements = Vec::new();
    for p in PARAMS {
        let pid = param_hash(p.id);
        let spellings: Vec<String> = match p.kind {
            ParamKind::Toggle { .. } => [
                "on", "On", "yes", "true", "1", "off", "Off", "no", "false", "0",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ParamKind::Choice { options, .. } => options
                .iter()
                .flat_map(|o| {
                    [
                        o.to_string(),
                        o.to_lowercase(),
                        o.to_lowercase().replace(' ', "_"),
                    ]
                })
                .chain((0..options.len()).map(|i| i.to_string()))
                .collect(),
            ParamKind::Float { min, max, log, .. } => {
                let v = if log {
                    (min * max).sqrt()
                } else {
                    min + 0.3 * (max - min)
                };
                let ascii = p.unit.replace('Ω', "ohm").replace('µ', "u");
                vec![
                    format!("{v}"),
                    format!("{v} {}", p.unit),
                    format!("{v}{ascii}"),
                ]
            }
        };
        for text in spellings {
            let Ok(table) = outpath::model::settings::parse_value(p, &text) else {
                continue;
            };
            let Some(host) = inst.text_to_value(pid, &text) else {
                continue;
            };
            let host_plain = from_clap(p, host);
            let table = if let ParamKind::Float { min, max, .. } = p.kind {
                table.clamp(min, max)
            } else {
                table
            };
            if (host_plain - table).abs() > 1e-4 * table.abs().max(1e-3) {
                disagreements.push(format!(
                    "{}: '{text}' reads as {table} in the table but {host_plain} in the host",
                    p.id
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "host text input disagrees with the table:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn audio_ports_are_stereo_main_in_out() {
    let inst = instance();
    for is_input in [true, false] {
        let ports = inst.audio_ports(is_input);
        let what = if is_input { "input" } else { "output" };
        assert_eq!(ports.len(), 1, "one {what} port: {ports:?}");
        let port = &ports[0];
        assert_eq!(port.channel_count, 2, "{what}: channels");
        assert!(
            port.flags & CLAP_AUDIO_PORT_IS_MAIN != 0,
            "{what}: main port"
        );
        assert_eq!(port.port_type, "stereo", "{what}: port type");
    }
}

// ------------------------------------------------------------------------------------------------
// Processing

/// The test signal: a sine and white noise per channel, peaking at −6 dBFS.
fn signal(rate: f64, len: usize, seed: u64) -> [Vec<f32>; 2] {
    let mut rng = Rng(seed);
    let mut ch = [vec![0.0f32; len], vec![0.0f32; len]];
    for n in 0..len {
        let t = n as f64 / rate;
        ch[0][n] =
            (0.35 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() + 0.15 * rng.bipolar()) as f32;
        ch[1][n] =
            (0.35 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin() + 0.15 * rng.bipolar()) as f32;
    }
    ch
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// What one run through the plugin gave.
struct Run {
    out: [Vec<f32>; 2],
    latency: u32,
    calls: usize,
    events: usize,
}

/// Feeds `input` through `inst` (already active and processing) in blocks of `block` samples.
/// `events_for(start, len)` gives the parameter events for the block starting at `start`.
fn run_blocks(
    inst: &mut Instance,
    input: &[Vec<f32>; 2],
    block: usize,
    in_place: bool,
    mut events_for: impl FnMut(usize, usize) -> Vec<ParamEvent>,
) -> Run {
    let len = input[0].len();
    let mut out = [vec![0.0f32; len], vec![0.0f32; len]];
    let mut inb = [vec![0.0f32; block.max(1)], vec![0.0f32; block.max(1)]];
    let mut outb = [vec![0.0f32; block.max(1)], vec![0.0f32; block.max(1)]];
    let (mut pos, mut calls, mut nev) = (0, 0, 0);
    while pos < len {
        let n = block.min(len - pos);
        for c in 0..2 {
            inb[c][..n].copy_from_slice(&input[c][pos..pos + n]);
            outb[c][..n].fill(f32::NAN); // the plugin must write every output sample
        }
        let events = events_for(pos, n);
        nev += events.len();
        let [i0, i1] = &mut inb;
        let mut ins: [&mut [f32]; 2] = [&mut i0[..], &mut i1[..]];
        let status = if in_place {
            inst.process(&mut ins, None, n as u32, &events)
        } else {
            let [o0, o1] = &mut outb;
            let mut outs: [&mut [f32]; 2] = [&mut o0[..], &mut o1[..]];
            inst.process(&mut ins, Some(&mut outs), n as u32, &events)
        };
        assert_ne!(
            status, CLAP_PROCESS_ERROR,
            "process() returned an error at sample {pos}"
        );
        let src = if in_place { &inb } else { &outb };
        for c in 0..2 {
            out[c][pos..pos + n].copy_from_slice(&src[c][..n]);
        }
        pos += n;
        calls += 1;
    }
    Run {
        out,
        latency: inst.latency(),
        calls,
        events: nev,
    }
}

/// Every sample finite and within the ceiling; returns the largest magnitude.
fn check_output(out: &[Vec<f32>; 2], limit: f32, what: &str) -> f32 {
    let mut peak = 0.0f32;
    for (c, ch) in out.iter().enumerate() {
        for (n, &y) in ch.iter().enumerate() {
            assert!(y.is_finite(), "{what}: channel {c} sample {n} is {y}");
            assert!(
                y.abs() <= limit,
                "{what}: channel {c} sample {n} is {y}, above the ceiling {limit}"
            );
            peak = peak.max(y.abs());
        }
    }
    peak
}

/// Parameter automation every `every` samples in `from..until`: random gain and output
/// impedance, as events of the block `start..start + len`.
fn automation(
    rng: &mut Rng,
    from: usize,
    until: usize,
    every: usize,
    start: usize,
    len: usize,
) -> Vec<ParamEvent> {
    let mut ev_list = Vec::new();
    let first = if start <= from {
        from
    } else {
        from + (start - from).div_ceil(every) * every
    };
    let mut t = first;
    while t < (start + len).min(until) {
        let at = (t - start) as u32;
        ev_list.push(ev(at, "gain", rng.unit()));
        ev_list.push(ev(at, "z_out", rng.unit()));
        t += every;
    }
    ev_list
}

#[test]
fn processes_at_every_rate_and_block_size_with_automation() {
    let mut report = Vec::new();
    for rate in [44_100.0, 48_000.0, 96_000.0] {
        let mut inst = instance();
        let len = (0.3 * rate) as usize;
        let input = signal(rate, len, 7);
        // 0–100 ms defaults; 100–200 ms automation of gain and z_out; from 200 ms on Acoustic
        // listening far over full scale, to lean on the ceiling.
        let quiet_end = (0.1 * rate) as usize;
        let loud_start = (0.2 * rate) as usize;
        for (k, block) in [1usize, 17, 512, 4096].into_iter().enumerate() {
            // A fresh activation per block size: also exercises deactivate → activate. The
            // previous run left the automated parameters where it ended: back to the defaults,
            // through params.flush while inactive, as a host does when it resets automation.
            inst.flush(&[
                ev(0, "gain", to_clap(spec("gain"), 0.0)),
                ev(0, "z_out", to_clap(spec("z_out"), 10.0)),
                ev(0, "listen", 0.0),
                ev(0, "sens", to_clap(spec("sens"), 97.0)),
                ev(0, "spl_ref", to_clap(spec("spl_ref"), 100.0)),
            ]);
            let c = &inst.host_data.counters;
            let (restarts, changes) = (
                c.restart_requests.load(Ordering::SeqCst),
                c.latency_changed.load(Ordering::SeqCst),
            );
            inst.activate(rate, 1, block as u32);
            let c = &inst.host_data.counters;
            if c.restart_requests.load(Ordering::SeqCst) > restarts {
                // nice-plug asks for a restart when the latency changes during activation; a
                // host honours it and hears about the new latency on the next activation.
                assert_eq!(
                    k, 0,
                    "{rate} Hz: the latency changed between activations at the same rate"
                );
                inst.deactivate();
                inst.activate(rate, 1, block as u32);
                let c = &inst.host_data.counters;
                assert!(
                    c.latency_changed.load(Ordering::SeqCst) > changes,
                    "{rate} Hz: latency.changed() not called"
                );
            }
            inst.start_processing();
            let mut rng = Rng(1000 + k as u64);
            let every = (0.005 * rate) as usize;
            let in_place = k == 2;
            let run = run_blocks(&mut inst, &input, block, in_place, |start, n| {
                let mut e = automation(&mut rng, quiet_end, loud_start, every, start, n);
                if (start..start + n).contains(&loud_start) {
                    // Acoustic listening of 130 dB/V headphones with 70 dB SPL at full scale:
                    // some 60 dB over full scale, all of it on the safety ceiling.
                    let at = (loud_start - start) as u32;
                    e.extend([
                        ev(at, "gain", to_clap(spec("gain"), 0.0)),
                        ev(at, "listen", 1.0),
                        ev(at, "sens", 1.0),
                        ev(at, "spl_ref", 0.0),
                    ]);
                }
                e
            });
            inst.deactivate();
            let what = format!(
                "{rate} Hz, block {block}{}",
                if in_place { " (in place)" } else { "" }
            );
            let peak = check_output(&run.out, CEILING_LIN + CEILING_SLACK, &what);
            let lat = run.latency as usize;
            assert!(
                lat < (0.05 * rate) as usize,
                "{what}: latency {lat} samples is implausible"
            );
            // Before the automation starts: the default connection (10 Ω into 300 Ω headphones,
            // Electrical) passes the signal at about −0.3 dB, delayed by the latency.
            let (a, b) = (lat + (0.02 * rate) as usize, quiet_end);
            let mut level = [0.0; 2];
            for c in 0..2 {
                let out_rms = rms(&run.out[c][a..b]);
                let in_rms = rms(&input[c][a - lat..b - lat]);
                level[c] = 20.0 * (out_rms / in_rms).log10();
                assert!(
                    (-1.0..=0.1).contains(&level[c]),
                    "{what}: channel {c} comes out at {:.2} dB relative to the input (expected about −0.3 dB)",
                    level[c]
                );
            }
            // Under automation the output goes on; far over full scale it sits on the ceiling.
            let auto = rms(&run.out[0][quiet_end + lat..loud_start]);
            assert!(
                run.events > 0 && auto > 0.0,
                "{what}: silent under automation"
            );
            let loud_peak = run.out[0][len - (0.05 * rate) as usize..]
                .iter()
                .fold(0.0f32, |m, y| m.max(y.abs()));
            assert!(
                loud_peak > 0.85,
                "{what}: 60 dB over full scale peaks at only {loud_peak}"
            );
            report.push(format!(
                "{what}: latency {lat}, {} calls, {} param events, peak {peak:.5} (last 50 ms {loud_peak:.5}), level L {:.3} dB R {:.3} dB",
                run.calls, run.events, level[0], level[1]
            ));
        }
        let c = &inst.host_data.counters;
        report.push(format!(
            "{rate} Hz: {} restart request(s), {} latency.changed() call(s)",
            c.restart_requests.load(Ordering::SeqCst),
            c.latency_changed.load(Ordering::SeqCst)
        ));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn processes_without_any_host_extension() {
    // A host that answers null to every get_extension: nice-plug must fall back on its own
    // thread check and still process, automate and load state.
    let mut inst = instance_with(HostOptions { extensions: false });
    let rate = 48_000.0;
    inst.activate(rate, 1, 512);
    inst.start_processing();
    let input = signal(rate, 24_000, 3);
    let mut rng = Rng(5);
    let run = run_blocks(&mut inst, &input, 512, false, |s, n| {
        automation(&mut rng, 4_800, 24_000, 480, s, n)
    });
    check_output(&run.out, CEILING_LIN + CEILING_SLACK, "no host extensions");
    inst.stop_processing();
    let saved = inst.save_state().expect("save");
    assert!(inst.load_state(&saved), "load");
    let queried = inst
        .host_data
        .counters
        .extensions_queried
        .lock()
        .unwrap()
        .clone();
    eprintln!("host extensions the plugin asked for: {queried:?}");
}

#[test]
fn reported_latency_matches_measured_delay() {
    let mut report = Vec::new();
    for rate in [44_100.0, 48_000.0, 96_000.0] {
        let mut inst = instance();
        inst.activate(rate, 1, 256);
        inst.start_processing();
        let len = (0.25 * rate) as usize;
        let at = (0.1 * rate) as usize;
        let mut input = [vec![0.0f32; len], vec![0.0f32; len]];
        input[0][at] = 0.5;
        input[1][at] = -0.5;
        let run = run_blocks(&mut inst, &input, 256, false, |_, _| Vec::new());
        let reported = inst.latency() as usize;
        for c in 0..2 {
            let (peak_at, peak) = run.out[c]
                .iter()
                .enumerate()
                .map(|(i, &y)| (i, y.abs()))
                .fold((0, 0.0f32), |m, x| if x.1 > m.1 { x } else { m });
            assert!(peak > 0.3, "{rate} Hz: the impulse came out at only {peak}");
            let measured = peak_at as isize - at as isize;
            assert_eq!(
                measured, reported as isize,
                "{rate} Hz channel {c}: reported latency {reported}, measured {measured} samples"
            );
        }
        report.push(format!(
            "{rate} Hz: latency {reported} samples ({:.3} ms)",
            reported as f64 / rate * 1e3
        ));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn survives_extreme_rates_empty_blocks_and_bad_input() {
    for (rate, block) in [(8_000.0, 333usize), (768_000.0, 4096)] {
        let mut inst = instance();
        inst.activate(rate, 0, block as u32);
        inst.start_processing();
        // Empty blocks, with and without events.
        let mut z0: [f32; 0] = [];
        let mut z1: [f32; 0] = [];
        let mut o0: [f32; 0] = [];
        let mut o1: [f32; 0] = [];
        let status = inst.process(
            &mut [&mut z0[..], &mut z1[..]],
            Some(&mut [&mut o0[..], &mut o1[..]]),
            0,
            &[],
        );
        assert_ne!(status, CLAP_PROCESS_ERROR, "{rate} Hz: empty block");
        let len = (0.4 * rate) as usize;
        let mut input = signal(rate, len, 11);
        // NaN, ±Inf, huge values and subnormals in the second 100 ms.
        let bad = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -1e30,
            1e-40,
            -1e-42,
            f32::MIN_POSITIVE / 3.0,
        ];
        let (b0, b1) = ((0.1 * rate) as usize, (0.2 * rate) as usize);
        for n in b0..b1 {
            if n % 7 == 0 {
                input[0][n] = bad[(n / 7) % bad.len()];
                input[1][n] = bad[(n / 7 + 3) % bad.len()];
            }
        }
        let run = run_blocks(&mut inst, &input, block, false, |s, _| {
            if s == 0 {
                vec![ev(0, "gain", 0.7)]
            } else {
                Vec::new()
            }
        });
        let what = format!("{rate} Hz with NaN/Inf/subnormal input");
        check_output(&run.out, CEILING_LIN + CEILING_SLACK, &what);
        // It recovers once the input is clean again.
        let last = rms(&run.out[0][(0.3 * rate) as usize..]);
        assert!(
            last > 0.01,
            "{what}: output stays at {last} RMS after the bad input ended"
        );
        let status = inst.process(
            &mut [&mut z0[..], &mut z1[..]],
            Some(&mut [&mut o0[..], &mut o1[..]]),
            0,
            &[ev(0, "load", 3.0)],
        );
        assert_ne!(
            status, CLAP_PROCESS_ERROR,
            "{rate} Hz: empty block with an event"
        );
    }
}

#[test]
fn out_of_range_param_events_are_contained() {
    // A misbehaving host sends values outside the ranges it was given (and NaN/Inf): what the
    // host reads back stays in range and the audio stays finite and within 0 dBFS, the top of
    // the ceiling's range.
    let rate = 48_000.0;
    let wild = [
        -1.0,
        2.0,
        1e9,
        -1e9,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.5,
    ];
    let mut report = Vec::new();
    for (k, &value) in wild.iter().enumerate() {
        let mut inst = instance();
        inst.activate(rate, 1, 512);
        inst.start_processing();
        // Acoustic listening far over full scale so that a broken ceiling shows.
        let setup = [
            ev(0, "listen", 1.0),
            ev(0, "sens", 1.0),
            ev(0, "spl_ref", 0.0),
        ];
        let input = signal(rate, 9_600, 40 + k as u64);
        let run = run_blocks(&mut inst, &input, 512, false, |s, _| {
            let mut e = if s == 0 { setup.to_vec() } else { Vec::new() };
            if s == 1024 {
                e.extend(
                    PARAMS
                        .iter()
                        .filter(|p| !matches!(p.id, "listen" | "sens" | "spl_ref"))
                        .map(|p| ParamEvent {
                            time: 7,
                            id: param_hash(p.id),
                            value: if is_stepped(p) {
                                value * clap_max(p)
                            } else {
                                value
                            },
                        }),
                );
            }
            e
        });
        for (p, info) in PARAMS.iter().zip(inst.param_infos()) {
            let v = inst.get_value(info.id).unwrap();
            assert!(
                v.is_finite() && v >= info.min && v <= info.max,
                "event value {value}: {} reads back {v}",
                p.id
            );
        }
        let peak = check_output(
            &run.out,
            1.0 + CEILING_SLACK,
            &format!("all parameters sent {value}"),
        );
        report.push(format!("{value}: peak {peak:.4}"));
    }
    eprintln!("out-of-range events: {}", report.join(", "));
}

// ------------------------------------------------------------------------------------------------
// State

/// The saved state: an 8-byte little-endian length, then JSON with the parameters by string id.
fn state_json(bytes: &[u8]) -> serde_json::Value {
    assert!(bytes.len() >= 8, "state of {} bytes", bytes.len());
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n, bytes.len() - 8, "length prefix");
    serde_json::from_slice(&bytes[8..]).expect("the state is JSON")
}

fn make_state(json: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(json).unwrap();
    let mut v = (body.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

/// Sets every parameter to a random value through `params.flush`.
fn randomize_all(inst: &Instance, seed: u64) {
    let mut rng = Rng(seed);
    let events: Vec<ParamEvent> = PARAMS
        .iter()
        .map(|p| ParamEvent {
            time: 0,
            id: param_hash(p.id),
            value: random_value(p, &mut rng),
        })
        .collect();
    inst.flush(&events);
}

#[test]
fn state_save_load_save_is_byte_identical() {
    let inst = instance();
    let s1 = inst.save_state().expect("save");
    let json = state_json(&s1);
    let mut keys: Vec<&str> = json["params"]
        .as_object()
        .expect("params object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    let mut ids: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    assert_eq!(keys, ids, "the state stores exactly the table's ids");
    assert!(inst.load_state(&s1), "load");
    let s2 = inst.save_state().expect("save");
    assert_eq!(s1, s2, "save → load → save changed the bytes");
    // A host that hands the data out in small pieces.
    assert!(inst.load_state_chunked(&s1, 7), "chunked load");
    assert_eq!(inst.save_state().unwrap(), s1, "chunked load → save");

    // The same with every parameter away from its default.
    randomize_all(&inst, 99);
    let r1 = inst.save_state().unwrap();
    assert_ne!(r1, s1, "randomised parameters must show in the state");
    assert!(inst.load_state(&r1));
    assert_eq!(
        inst.save_state().unwrap(),
        r1,
        "save → load → save with non-default values"
    );
    eprintln!(
        "state: {} bytes by default, {} bytes randomised",
        s1.len(),
        r1.len()
    );
}

#[test]
fn state_restores_changed_parameters_in_a_fresh_instance() {
    let mut a = instance();
    a.activate(48_000.0, 1, 512);
    a.start_processing();
    // Changes inside process(), at sample offsets.
    let input = signal(48_000.0, 1024, 1);
    let run = run_blocks(&mut a, &input, 512, false, |s, _| {
        if s == 0 {
            vec![
                ev(0, "gain", 0.8),
                ev(100, "load", 3.0),
                ev(200, "listen", 2.0),
                ev(300, "z_load", 0.123),
            ]
        } else {
            Vec::new()
        }
    });
    check_output(&run.out, 1.0, "state test");
    a.stop_processing();
    // Changes through params.flush outside of process().
    a.flush(&[
        ev(0, "z_out", 0.3),
        ev(0, "balanced", 1.0),
        ev(0, "mains", 1.0),
        ev(0, "ceiling", 0.5),
    ]);
    let expect = [
        ("gain", 0.8),
        ("load", 3.0),
        ("listen", 2.0),
        ("z_load", 0.123),
        ("z_out", 0.3),
        ("balanced", 1.0),
        ("mains", 1.0),
        ("ceiling", 0.5),
    ];
    for (name, v) in expect {
        let got = a.get_value(id(name)).unwrap();
        assert!(
            (got - v).abs() < 1e-6,
            "{name} is {got} after the host set {v}"
        );
    }
    let values_a = a.values();
    let saved = a.save_state().unwrap();

    let b = instance();
    assert!(b.load_state(&saved), "load into a fresh instance");
    assert_values_close(&values_a, &b.values(), "fresh instance after load");
    assert_eq!(
        b.save_state().unwrap(),
        saved,
        "the fresh instance saves the same bytes"
    );

    // Every parameter at a random value, ten times over.
    for seed in 0..10 {
        let a = instance();
        randomize_all(&a, 500 + seed);
        let (va, s) = (a.values(), a.save_state().unwrap());
        let b = instance();
        assert!(b.load_state(&s));
        assert_values_close(&va, &b.values(), &format!("random set {seed}"));
        assert_eq!(b.save_state().unwrap(), s, "random set {seed}: bytes");
    }
}

#[test]
fn state_load_refuses_garbage_and_keeps_the_values() {
    let inst = instance();
    randomize_all(&inst, 42);
    let before = inst.values();
    let good = inst.save_state().unwrap();
    let mut refused = 0;
    let mut check = |data: &[u8], what: &str| {
        let ok = inst.load_state(data);
        assert!(!ok, "{what}: load accepted {} bytes of garbage", data.len());
        assert_values_close(&before, &inst.values(), what);
        refused += 1;
    };
    check(&[], "empty");
    for n in (1..good.len()).filter(|&n| n < 48 || n % 13 == 0 || n + 3 > good.len()) {
        check(&good[..n], &format!("truncated to {n} bytes"));
    }
    // A length prefix far beyond anything (nice-plug caps states at 256 MiB).
    let mut long = good.clone();
    long[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    check(&long, "length prefix u64::MAX");

    let mut rng = Rng(0x5eed);
    for i in 0..100 {
        // Sizes spread evenly in log from 1 B to 1 MB.
        let size = (10f64.powf(6.0 * i as f64 / 99.0)).round() as usize;
        let mut data: Vec<u8> = (0..size).map(|_| rng.next_u64() as u8).collect();
        if i % 2 == 1 && size > 8 {
            // A correct length prefix, so the garbage reaches the parser.
            let n = (size - 8) as u64;
            data[..8].copy_from_slice(&n.to_le_bytes());
        }
        check(&data, &format!("random buffer {i} ({size} bytes)"));
    }
    // A complete state behind a length prefix that promises more than is there: nice-plug
    // reads what there is and may accept it; it is the same state, so nothing may change.
    let mut long = good.clone();
    long[..8].copy_from_slice(&((good.len() as u64) * 2).to_le_bytes());
    let accepted = inst.load_state(&long);
    assert_values_close(&before, &inst.values(), "length prefix too long");
    eprintln!("refused {refused} bad states, values unchanged each time (over-long prefix accepted: {accepted})");
}

#[test]
fn state_with_hostile_values_stays_in_bounds() {
    // Well-formed states carrying values no host would write: out-of-range numbers, unknown
    // option ids, wrong types, unknown parameters. Loading may succeed, but what the host sees
    // must stay within the ranges and the audio must stay finite and under the ceiling's range.
    let base = state_json(&instance().save_state().unwrap());
    assert!(
        base["params"]["gain"]["f32"].is_number(),
        "state format: {}",
        base["params"]["gain"]
    );
    assert!(
        base["params"]["load"]["string"].is_string(),
        "state format: {}",
        base["params"]["load"]
    );
    let mut hostile = base.clone();
    let p = hostile["params"].as_object_mut().unwrap();
    // nice-plug stores {"id": {"f32": v}}, {"i32": n}, {"bool": b} or {"string": enum id}.
    let f = |v: f64| serde_json::json!({ "f32": v });
    for (id, v) in [
        ("gain", f(1.0e30)),
        ("z_out", f(-5.0)),
        ("z_load", f(0.0)),
        ("q_res", f(0.0)),
        ("f_res", f(1.0e9)),
        ("v_clip", f(-1.0)),
        ("i_max", f(0.0)),
        ("ref_level", f(1.0e6)),
        ("noise", f(1000.0)),
        ("dc_offset", f(-1.0e9)),
        ("cable_len", f(-3.0)),
        ("cable_c", f(1.0e12)),
        ("color", f(1.0e4)),
        ("ceiling", f(30.0)),
        ("load", serde_json::json!({ "string": "no-such-load" })),
        ("output", serde_json::json!({ "i32": 17 })),
        ("listen", serde_json::json!({ "i32": -2 })),
        ("balanced", serde_json::json!({ "string": "yes" })),
        ("mains", serde_json::json!({ "f32": 0.5 })),
        ("no_such_param", f(3.0)),
    ] {
        p.insert(id.into(), v);
    }
    // Far over full scale (Acoustic listening of 130 dB/V headphones, 70 dB SPL at full scale,
    // all within range) with only the ceiling out of its range (+30 dBFS): the output must stay
    // within the top of the ceiling's range, 0 dBFS.
    let mut loud = base.clone();
    let p = loud["params"].as_object_mut().unwrap();
    p.insert("listen".into(), serde_json::json!({ "string": "acoustic" }));
    p.insert("sens".into(), f(130.0));
    p.insert("spl_ref".into(), f(70.0));
    p.insert("ceiling".into(), f(30.0));
    let cases = vec![("out-of-range values".to_string(), make_state(&hostile))];

    let mut rng = Rng(77);
    let good = make_state(&base);
    let mut mutated = Vec::new();
    for i in 0..40 {
        let mut m = good.clone();
        for _ in 0..(1 + rng.below(4)) {
            let at = 8 + rng.below((m.len() - 8) as u64) as usize;
            m[at] = b"0123456789.-eE9\"x"[rng.below(17) as usize];
        }
        mutated.push((format!("mutated state {i}"), m));
    }

    let mut accepted = 0;
    // (The loud case last, so that a failure there leaves the others checked.)
    let last = ("ceiling above its range".to_string(), make_state(&loud));
    for (what, data) in cases.into_iter().chain(mutated).chain([last]) {
        let mut inst = instance();
        let loaded = inst.load_state(&data);
        accepted += usize::from(loaded);
        if !what.starts_with("mutated") {
            // These are well-formed: nice-plug takes them, skipping what it cannot read.
            assert!(loaded, "{what}: refused");
        }
        for (p, info) in PARAMS.iter().zip(inst.param_infos()) {
            let v = inst.get_value(info.id).unwrap();
            assert!(
                v.is_finite() && v >= info.min && v <= info.max,
                "{what}: {} shows {v}",
                p.id
            );
        }
        let rate = 48_000.0;
        inst.activate(rate, 1, 512);
        inst.start_processing();
        let input = signal(rate, 9_600, 13);
        let run = run_blocks(&mut inst, &input, 512, false, |_, _| Vec::new());
        // The ceiling's range ends at 0 dBFS.
        check_output(&run.out, 1.0 + CEILING_SLACK, &what);
    }
    eprintln!("hostile states: {accepted} of 42 loaded; all stayed finite and within 0 dBFS");
}

// ------------------------------------------------------------------------------------------------
// Real-time safety: the debug build aborts on any allocation inside process()

const ALLOC_CHILD_ENV: &str = "OUTPATH_ALLOC_CHILD";

#[test]
fn alloc_check_build_never_allocates_in_process() {
    let path = host::alloc_check_clap();
    let bytes = std::fs::read(&path).unwrap();
    // The allocation guard's counter (a symbol of the unstripped debug build).
    let marker = b"ALLOC_FORBID_COUNT";
    assert!(
        bytes.windows(marker.len()).any(|w| w == marker),
        "{} is not a build with assert_process_allocs (its allocation guard is missing)",
        path.display()
    );
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "alloc_check_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ALLOC_CHILD_ENV, "1")
        .env("OUTPATH_ALLOC_CLAP", &path)
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the allocation check failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    eprintln!(
        "{}",
        stderr
            .lines()
            .filter(|l| l.starts_with("alloc-check"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Run by `alloc_check_build_never_allocates_in_process` in a child process.
#[test]
#[ignore = "run by alloc_check_build_never_allocates_in_process in a child process"]
fn alloc_check_child() {
    if std::env::var_os(ALLOC_CHILD_ENV).is_none() {
        eprintln!("alloc_check_child runs only as the child of alloc_check_build_never_allocates_in_process");
        return;
    }
    let bundle = host::load(&host::alloc_check_clap());
    let mut inst = bundle
        .create(PLUGIN_ID, HostOptions::default())
        .expect("create");
    let rate = 48_000.0;
    for (k, (block, seconds)) in [(1usize, 0.25), (17, 0.25), (512, 0.5)]
        .into_iter()
        .enumerate()
    {
        inst.activate(rate, 1, block as u32);
        inst.start_processing();
        let input = signal(rate, (seconds * rate) as usize, 21 + k as u64);
        let mut rng = Rng(300 + k as u64);
        let started = std::time::Instant::now();
        let run = run_blocks(&mut inst, &input, block, false, |_, n| {
            // Every block: several parameters including the switches that crossfade.
            let mut e = Vec::new();
            let at = rng.below(n as u64) as u32;
            e.push(ev(at, "load", rng.below(4) as f64));
            e.push(ev(at, "listen", rng.below(3) as f64));
            e.push(ev(
                rng.below(n as u64) as u32,
                "output",
                rng.below(3) as f64,
            ));
            e.push(ev(
                rng.below(n as u64) as u32,
                "clip_shape",
                rng.below(3) as f64,
            ));
            e.push(ev(0, "balanced", rng.below(2) as f64));
            e.push(ev(0, "mains", rng.below(2) as f64));
            for name in [
                "gain", "z_out", "z_load", "c_out", "l_coil", "f_res", "z_peak", "hum", "noise",
                "ceiling",
            ] {
                e.push(ev(rng.below(n as u64) as u32, name, rng.unit()));
            }
            e
        });
        check_output(
            &run.out,
            1.0 + CEILING_SLACK,
            &format!("alloc check, block {block}"),
        );
        inst.reset();
        inst.stop_processing();
        inst.deactivate();
        eprintln!(
            "alloc-check: block {block}: {} process calls, {} events, {:.2} s of audio in {:.2} s",
            run.calls,
            run.events,
            seconds,
            started.elapsed().as_secs_f64()
        );
    }
}
