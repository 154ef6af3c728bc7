//! What the strictest plugin validators check (clap-validator, pluginval at its strictest
//! level, Steinberg's validator), as tests of our own host against the built bundle, since none
//! of those tools can be installed here:
//!
//! - parameters: ids frozen and the same in every instance, a dense value → text → value sweep,
//!   out-of-range values clamped to the ends of the range;
//! - processing at 11 sample rates (8 kHz … 768 kHz and 44100.5 Hz) and 10 block sizes
//!   (0 … 16384) plus random sizes, reactivating between runs: the output is finite, never
//!   subnormal, under the ceiling, and identical whatever the host's block size; the reported
//!   latency is the measured one at every rate; reset and reactivation give a fresh instance's
//!   output again;
//! - denormal input and silent tails cost no more than 2× the time of normal input;
//! - parameter fuzzing (every parameter at random every block; sample-accurate automation
//!   every 1, 10 and 100 samples) stays finite and under the ceiling the host set;
//! - NaN, ±Inf, 1e30 and subnormal input: finite output, and the time until the output is
//!   again what a clean render gives;
//! - state: hostile shapes (wrong types, deep nesting, huge numbers, unknown and missing
//!   keys, megabytes of noise) are refused with the parameters intact or loaded within the
//!   ranges, and state loads while another thread processes;
//! - real-time safety: the `assert_process_allocs` build runs every load type, listen mode,
//!   clip shape, output type and factory device, bad input and state loads while processing;
//!   the audio thread makes no system call at all while it processes (strace).

use super::*;
use outpath::devices::Library;
use std::time::Duration;

const RATES: [f64; 11] = [
    8_000.0, 11_025.0, 22_050.0, 44_100.0, 44_100.5, 48_000.0, 88_200.0, 96_000.0, 192_000.0,
    384_000.0, 768_000.0,
];
const BLOCKS: [usize; 10] = [0, 1, 10, 17, 256, 1024, 1536, 2027, 4096, 16384];

/// Every sample finite, not subnormal and within `limit`; returns the peak.
fn check_clean(out: &[Vec<f32>; 2], limit: f32, what: &str) -> f32 {
    let mut peak = 0.0f32;
    for (c, ch) in out.iter().enumerate() {
        for (n, &y) in ch.iter().enumerate() {
            assert!(y.is_finite(), "{what}: channel {c} sample {n} is {y}");
            assert!(
                y == 0.0 || y.abs() >= f32::MIN_POSITIVE,
                "{what}: channel {c} sample {n} is subnormal ({y:e})"
            );
            assert!(
                y.abs() <= limit,
                "{what}: channel {c} sample {n} is {y}, above {limit}"
            );
            peak = peak.max(y.abs());
        }
    }
    peak
}

/// Feeds `input` through an active, processing instance in blocks whose sizes come from
/// `sizes` (0 allowed: an empty call). `events` are (absolute sample, event) pairs in time
/// order; each is delivered in the non-empty block that holds its sample.
fn run_sizes(
    inst: &mut Instance,
    input: &[Vec<f32>; 2],
    mut sizes: impl FnMut() -> usize,
    events: &[(usize, ParamEvent)],
) -> [Vec<f32>; 2] {
    let len = input[0].len();
    let mut out = [vec![0.0f32; len], vec![0.0f32; len]];
    let mut inb = [Vec::new(), Vec::new()];
    let mut outb = [Vec::new(), Vec::new()];
    let (mut pos, mut next_ev) = (0usize, 0usize);
    let mut block_events = Vec::new();
    while pos < len {
        let n = sizes().min(len - pos);
        for c in 0..2 {
            inb[c].clear();
            inb[c].extend_from_slice(&input[c][pos..pos + n]);
            outb[c].clear();
            outb[c].resize(n, f32::NAN);
        }
        block_events.clear();
        if n > 0 {
            while next_ev < events.len() && events[next_ev].0 < pos + n {
                let (at, mut e) = events[next_ev];
                e.time = at.saturating_sub(pos) as u32;
                block_events.push(e);
                next_ev += 1;
            }
        }
        let [i0, i1] = &mut inb;
        let [o0, o1] = &mut outb;
        let status = inst.process(
            &mut [&mut i0[..], &mut i1[..]],
            Some(&mut [&mut o0[..], &mut o1[..]]),
            n as u32,
            &block_events,
        );
        assert_ne!(
            status, CLAP_PROCESS_ERROR,
            "process() failed at sample {pos}"
        );
        for c in 0..2 {
            out[c][pos..pos + n].copy_from_slice(&outb[c]);
        }
        pos += n;
    }
    out
}

/// Where the first difference between two renders is, if any.
fn first_difference(a: &[Vec<f32>; 2], b: &[Vec<f32>; 2]) -> Option<(usize, usize, f32, f32)> {
    for c in 0..2 {
        for (n, (x, y)) in a[c].iter().zip(&b[c]).enumerate() {
            if x.to_bits() != y.to_bits() {
                return Some((c, n, *x, *y));
            }
        }
    }
    None
}

/// Activates for a new run (deactivating first if needed).
fn reactivate(inst: &mut Instance, rate: f64, min: u32, max: u32) {
    inst.deactivate();
    inst.activate(rate, min, max);
    inst.start_processing();
}

// ------------------------------------------------------------------------------------------------
// Parameters

/// The CLAP ids of the released parameters, frozen: sessions and automation refer to them.
const FROZEN_IDS: [(&str, u32); 30] = [
    ("output", 0x4411_1901),
    ("load", 0x0032_c4e6),
    ("ref_level", 0x3e49_bcd8),
    ("gain", 0x0030_4b7f),
    ("z_out", 0x06e4_1209),
    ("c_out", 0x059f_f572),
    ("v_clip", 0x4ec5_3579),
    ("i_max", 0x05f4_788e),
    ("clip_shape", 0x6dfc_99f2),
    ("color", 0x05a7_2f63),
    ("noise", 0x0642_271a),
    ("dc_offset", 0x7b77_1853),
    ("cable_len", 0x30f3_1713),
    ("cable_r", 0x2026_9cf0),
    ("cable_c", 0x2026_9ce1),
    ("balanced", 0x0d45_6d08),
    ("hum", 0x0001_9500),
    ("mains", 0x062d_b1da),
    ("z_load", 0x559c_b98b),
    ("l_coil", 0x3db4_ca82),
    ("f_res", 0x05ca_4547),
    ("z_peak", 0x559e_6584),
    ("q_res", 0x0665_47d2),
    ("sens", 0x0035_cf97),
    ("p_max", 0x0657_1d15),
    ("in_max", 0x3967_c74a),
    ("distance", 0x1131_8bf5),
    ("listen", 0x3e49_0dc7),
    ("spl_ref", 0x08aa_3603),
    ("ceiling", 0x275c_b4bd),
];

#[test]
fn param_ids_are_frozen_and_the_same_in_every_instance() {
    let a = instance();
    let b = instance();
    let ia = a.param_infos();
    let ib = b.param_infos();
    assert_eq!(ia.len(), FROZEN_IDS.len());
    for ((info_a, info_b), (name, frozen)) in ia.iter().zip(&ib).zip(FROZEN_IDS) {
        assert_eq!(
            info_a.id, frozen,
            "{name}: CLAP id {:#010x}, released as {frozen:#010x}",
            info_a.id
        );
        assert_eq!(
            param_hash(name),
            frozen,
            "{name}: the hash of the string id"
        );
        assert_eq!(
            (
                info_b.id,
                &info_b.name,
                info_b.min,
                info_b.max,
                info_b.default,
                info_b.flags
            ),
            (
                info_a.id,
                &info_a.name,
                info_a.min,
                info_a.max,
                info_a.default,
                info_a.flags
            ),
            "{name}: a second instance describes it differently"
        );
    }
    let table: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
    let frozen: Vec<&str> = FROZEN_IDS.iter().map(|(n, _)| *n).collect();
    assert_eq!(table, frozen, "the table's ids and order");
    // And they stay the same through activation, processing and a state round trip.
    let mut a = a;
    a.activate(48_000.0, 1, 256);
    a.start_processing();
    let input = signal(48_000.0, 512, 1);
    run_blocks(&mut a, &input, 256, false, |_, _| Vec::new());
    let s = a.save_state().unwrap();
    assert!(a.load_state(&s));
    let after: Vec<u32> = a.param_infos().iter().map(|i| i.id).collect();
    assert_eq!(after, ia.iter().map(|i| i.id).collect::<Vec<_>>());
}

#[test]
fn every_value_round_trips_through_text() {
    // A dense sweep (pluginval checks a handful of values per parameter): 1001 evenly spaced
    // and 200 random host values for each continuous parameter, every option and state.
    let inst = instance();
    let mut rng = Rng(0x7e57);
    let mut checked = 0usize;
    let mut worst = (0.0f64, String::new());
    for (p, info) in PARAMS.iter().zip(inst.param_infos()) {
        let values: Vec<f64> = if is_stepped(p) {
            (0..=clap_max(p) as usize).map(|i| i as f64).collect()
        } else {
            (0..=1000)
                .map(|i| i as f64 / 1000.0)
                .chain((0..200).map(|_| rng.unit()))
                .collect()
        };
        for v in values {
            let text = inst.value_to_text(info.id, v).expect("value_to_text");
            assert!(!text.is_empty(), "{}: empty text for {v}", p.id);
            let back = inst.text_to_value(info.id, &text).unwrap_or_else(|| {
                panic!(
                    "{}: the plugin cannot read its own text '{text}' (value {v})",
                    p.id
                )
            });
            assert!(
                back.is_finite() && (info.min..=info.max).contains(&back),
                "{}: '{text}' reads back as {back}",
                p.id
            );
            let again = inst.value_to_text(info.id, back).expect("value_to_text");
            assert_eq!(
                text, again,
                "{}: value {v} → '{text}' → {back} → '{again}'",
                p.id
            );
            if is_stepped(p) {
                assert!(
                    (back - v).abs() < 1e-6,
                    "{}: '{text}' is {back}, not {v}",
                    p.id
                );
            } else {
                // The text shows about four significant figures of the display value.
                let (a, b) = (from_clap(p, v), from_clap(p, back));
                let ParamKind::Float { min, max, .. } = p.kind else {
                    unreachable!()
                };
                let err = (a - b).abs() / (a.abs() + 1e-6 * (max - min));
                if err > worst.0 {
                    worst = (err, format!("{} {v}: '{text}' → {b}", p.id));
                }
                assert!(
                    (a - b).abs() <= 6e-4 * a.abs() + 1e-6 * (max - min),
                    "{}: {v} ({a}) shows as '{text}' and reads back as {back} ({b})",
                    p.id
                );
            }
            checked += 1;
        }
    }
    eprintln!(
        "value → text → value: {checked} values, all stable; largest relative display error {:.1e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn out_of_range_values_clamp_to_the_ends_of_the_range() {
    // Through params.flush (a host setting values while the plugin is idle), through events
    // inside process(), and through text beyond the range.
    let mut inst = instance();
    let infos = inst.param_infos();
    for (value, want_top) in [
        (2.0, true),
        (1e9, true),
        (f64::INFINITY, true),
        (-1.0, false),
        (-1e9, false),
        (f64::NEG_INFINITY, false),
    ] {
        let events: Vec<ParamEvent> = infos
            .iter()
            .map(|i| ParamEvent {
                time: 0,
                id: i.id,
                value: if value.is_finite() {
                    value * i.max.max(1.0)
                } else {
                    value
                },
            })
            .collect();
        inst.flush(&events);
        for (p, i) in PARAMS.iter().zip(&infos) {
            let got = inst.get_value(i.id).unwrap();
            let want = if want_top { i.max } else { i.min };
            assert!(
                (got - want).abs() < 1e-6,
                "flush {value}: {} reads {got}, not {want}",
                p.id
            );
        }
    }
    // NaN: anything in range (nice-plug keeps it from the host's view).
    inst.flush(
        &infos
            .iter()
            .map(|i| ParamEvent {
                time: 0,
                id: i.id,
                value: f64::NAN,
            })
            .collect::<Vec<_>>(),
    );
    for (p, i) in PARAMS.iter().zip(&infos) {
        let got = inst.get_value(i.id).unwrap();
        assert!(
            got.is_finite() && (i.min..=i.max).contains(&got),
            "flush NaN: {} reads {got}",
            p.id
        );
    }
    // Inside process(), at a sample offset.
    inst.activate(48_000.0, 1, 256);
    inst.start_processing();
    let input = signal(48_000.0, 512, 2);
    let ids: Vec<(u32, f64)> = infos.iter().map(|i| (i.id, i.max)).collect();
    run_blocks(&mut inst, &input, 256, false, |s, _| {
        ids.iter()
            .map(|&(id, max)| ParamEvent {
                time: 100,
                id,
                value: if s == 0 { 5.0 * max.max(1.0) } else { -3.0 },
            })
            .collect()
    });
    for (p, i) in PARAMS.iter().zip(&infos) {
        let got = inst.get_value(i.id).unwrap();
        assert!(got.abs() < 1e-6, "event −3: {} reads {got}, not 0", p.id);
    }
    // Text beyond the range: to the nearest end, or refused.
    for (p, i) in PARAMS.iter().zip(&infos) {
        let ParamKind::Float { min, max, .. } = p.kind else {
            continue;
        };
        let span = max - min;
        for (text, want) in [
            (format!("{}", max + 10.0 * span + 1.0), 1.0),
            (format!("{}", min - 10.0 * span - 1.0), 0.0),
        ] {
            if let Some(v) = inst.text_to_value(i.id, &text) {
                assert!(
                    (v - want).abs() < 1e-6,
                    "{}: text '{text}' gives {v}, not {want}",
                    p.id
                );
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Processing: rates, block sizes, reactivation

/// Automation at fixed absolute samples for the matrix: gain and z_out every 5 ms over the
/// middle of the run, a load-type switch (crossfade) and a listen-mode switch.
fn matrix_events(rate: f64, len: usize) -> Vec<(usize, ParamEvent)> {
    let mut rng = Rng(rate.to_bits());
    let mut e = Vec::new();
    let step = ((0.005 * rate) as usize).max(1);
    let mut t = len / 5;
    while t < len * 3 / 5 {
        e.push((t, ev(0, "gain", 0.4 + 0.4 * rng.unit())));
        e.push((t + step / 3, ev(0, "z_out", rng.unit())));
        t += step;
    }
    e.push((len * 3 / 5 + 7, ev(0, "load", 3.0)));
    e.push((len * 7 / 10 + 3, ev(0, "listen", 2.0)));
    e.sort_by_key(|(t, _)| *t);
    e
}

#[test]
fn every_rate_and_block_size_gives_the_same_clean_output() {
    // One instance for everything: deactivated and reactivated for every run, at a new rate for
    // every row. Within a rate, every block size must give the very same samples as blocks of
    // 512 (automation lands on its sample and the engine updates on a grid counted from the
    // start of processing, not from the host's blocks).
    let mut inst = instance();
    let mut report = Vec::new();
    let mut total_calls = 0usize;
    let started = std::time::Instant::now();
    for (r, &rate) in RATES.iter().enumerate() {
        let len = ((0.12 * rate) as usize).max(40_960);
        let input = signal(rate, len, 50 + r as u64);
        let events = matrix_events(rate, len);
        // The defaults on every run.
        let defaults: Vec<ParamEvent> = PARAMS
            .iter()
            .map(|p| ParamEvent {
                time: 0,
                id: param_hash(p.id),
                value: to_clap(p, default_plain(p)),
            })
            .collect();
        inst.flush(&defaults);
        reactivate(&mut inst, rate, 1, 512);
        let reference = run_sizes(&mut inst, &input, || 512, &events);
        let lat = inst.latency() as usize;
        let what = format!("{rate} Hz, blocks of 512");
        check_clean(&reference, CEILING_LIN + CEILING_SLACK, &what);
        let level =
            rms(&reference[0][lat + len / 20..len / 5]) / rms(&input[0][len / 20..len / 5 - lat]);
        assert!(
            (0.85..1.02).contains(&level),
            "{what}: the default connection passes the signal at {:.2} dB",
            20.0 * level.log10()
        );
        let mut sizes_done = Vec::new();
        for (k, &block) in BLOCKS.iter().chain([&usize::MAX]).enumerate() {
            inst.stop_processing();
            inst.flush(&defaults);
            let max = if block == usize::MAX {
                4096
            } else {
                block.max(64)
            };
            reactivate(&mut inst, rate, if block == 0 { 0 } else { 1 }, max as u32);
            let mut rng = Rng(1 + k as u64);
            let mut i = 0usize;
            let mut calls = 0usize;
            let out = run_sizes(
                &mut inst,
                &input,
                || {
                    i += 1;
                    calls += 1;
                    match block {
                        // Empty calls between short blocks.
                        0 => {
                            if i % 3 == 0 {
                                1 + rng.below(63) as usize
                            } else {
                                0
                            }
                        }
                        usize::MAX => {
                            if rng.below(8) == 0 {
                                0
                            } else {
                                rng.below(4097) as usize
                            }
                        }
                        b => b,
                    }
                },
                &events,
            );
            total_calls += calls;
            let name = if block == usize::MAX {
                "random".to_string()
            } else {
                block.to_string()
            };
            let what = format!("{rate} Hz, blocks of {name}");
            check_clean(&out, CEILING_LIN + CEILING_SLACK, &what);
            if let Some((c, n, a, b)) = first_difference(&reference, &out) {
                panic!("{what}: channel {c} sample {n} is {b}, with blocks of 512 it is {a}");
            }
            sizes_done.push(name);
        }
        report.push(format!(
            "{rate} Hz: latency {lat}, {len} samples × {} block sizes ({}), identical to blocks of 512",
            sizes_done.len(),
            sizes_done.join(" ")
        ));
    }
    eprintln!(
        "{}\n{} rates × {} block sizes, {total_calls} process calls in {:.1} s",
        report.join("\n"),
        RATES.len(),
        BLOCKS.len() + 1,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn reported_latency_is_measured_at_every_rate() {
    let mut report = Vec::new();
    for &rate in &RATES {
        let mut inst = instance();
        inst.activate(rate, 1, 1024);
        // nice-plug may ask for a restart when the latency is set in activate(): honour it.
        inst.deactivate();
        inst.activate(rate, 1, 1024);
        inst.start_processing();
        let at = (0.05 * rate) as usize;
        let len = at + (0.05 * rate) as usize + 4096;
        let mut input = [vec![0.0f32; len], vec![0.0f32; len]];
        input[0][at] = 0.5;
        input[1][at] = -0.5;
        let run = run_blocks(&mut inst, &input, 1024, false, |_, _| Vec::new());
        let reported = inst.latency() as isize;
        for c in 0..2 {
            let (peak_at, peak) = run.out[c]
                .iter()
                .enumerate()
                .fold(
                    (0, 0.0f32),
                    |m, (i, &y)| if y.abs() > m.1 { (i, y.abs()) } else { m },
                );
            assert!(peak > 0.3, "{rate} Hz: the impulse came out at only {peak}");
            let measured = peak_at as isize - at as isize;
            assert_eq!(
                measured, reported,
                "{rate} Hz channel {c}: reported {reported}, measured {measured}"
            );
        }
        report.push(format!("{rate}: {reported}"));
    }
    eprintln!(
        "latency (samples) measured = reported at {}",
        report.join(", ")
    );
}

#[test]
fn reset_and_reactivation_give_a_fresh_instances_output() {
    let rate = 48_000.0;
    let input = signal(rate, 24_000, 61);
    let events: Vec<(usize, ParamEvent)> = vec![
        (3_000, ev(0, "gain", 0.75)),
        (9_001, ev(0, "load", 3.0)),
        (15_000, ev(0, "gain", to_clap(spec("gain"), 0.0))),
    ];
    // After the run, put the parameters back where a fresh instance has them.
    let undo = [
        ev(0, "load", 2.0),
        ev(0, "gain", to_clap(spec("gain"), 0.0)),
    ];
    let mut fresh = instance();
    fresh.activate(rate, 1, 512);
    fresh.start_processing();
    let reference = run_sizes(&mut fresh, &input, || 512, &events);

    let mut inst = instance();
    inst.activate(rate, 1, 512);
    inst.start_processing();
    // Something else first: loud, hostile input with the parameters moving.
    let mut other = signal(rate, 12_000, 62);
    for (n, x) in other[0].iter_mut().enumerate() {
        if n % 5 == 0 {
            *x = [f32::NAN, 1e30, -7.0, f32::INFINITY][n / 5 % 4];
        }
    }
    let _ = run_sizes(&mut inst, &other, || 333, &events);
    let _ = run_sizes(&mut inst, &input, || 512, &[(0, undo[0]), (0, undo[1])]);
    let mut outcomes = Vec::new();
    // Bit-identical is the aim (a bounce is reproducible); within −140 dBFS is required.
    let mut compare = |out: &[Vec<f32>; 2], what: &str| {
        let diff = (0..2)
            .flat_map(|c| out[c].iter().zip(&reference[c]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f32, f32::max);
        assert!(
            diff <= 1e-7,
            "{what}: differs from a fresh instance by up to {diff:e}"
        );
        outcomes.push(match first_difference(&reference, out) {
            None => format!("{what}: bit-identical"),
            Some((c, n, a, b)) => format!("{what}: within {diff:.1e} (first difference: channel {c} sample {n}, {b:e} vs {a:e})"),
        });
    };
    // 1. reset() while processing.
    inst.reset();
    let out = run_sizes(&mut inst, &input, || 512, &events);
    compare(&out, "reset()");
    // 2. Deactivate, activate at another rate, run, back at 48 kHz.
    let _ = run_sizes(&mut inst, &input, || 512, &[(0, undo[0]), (0, undo[1])]);
    reactivate(&mut inst, 96_000.0, 1, 4096);
    let _ = run_sizes(&mut inst, &signal(96_000.0, 9_000, 63), || 4096, &[]);
    reactivate(&mut inst, rate, 1, 512);
    let out = run_sizes(&mut inst, &input, || 512, &events);
    compare(&out, "deactivate → activate at 96 kHz → activate at 48 kHz");
    // 3. stop_processing → start_processing (CLAP: the plugin resets there too).
    let _ = run_sizes(&mut inst, &input, || 512, &[(0, undo[0]), (0, undo[1])]);
    inst.stop_processing();
    inst.start_processing();
    let out = run_sizes(&mut inst, &input, || 512, &events);
    compare(&out, "stop → start processing");
    drop(compare);
    eprintln!(
        "the same output as a fresh instance after {}",
        outcomes.join("; ")
    );
}

// ------------------------------------------------------------------------------------------------
// Denormals

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
fn denormal_input_costs_no_more_than_twice_normal_input() {
    // Three instances with noise and hum off (so that nothing keeps the filters busy), each fed
    // 0.1 s of signal and then one timed second of: normal signal; subnormal numbers only
    // (every sample a random f32 subnormal); exact silence (the filters' tails decay towards
    // the subnormal range). Nine repetitions interleaved, thread CPU time, medians compared.
    let rate = 48_000.0;
    let pre = signal(rate, 4_800, 70);
    let normal = signal(rate, 48_000, 71);
    let mut rng = Rng(72);
    let denormal: [Vec<f32>; 2] = std::array::from_fn(|_| {
        (0..48_000)
            .map(|_| {
                let bits = (rng.next_u64() as u32 & 0x007f_ffff).max(1)
                    | ((rng.next_u64() as u32) & 0x8000_0000);
                f32::from_bits(bits)
            })
            .collect()
    });
    assert!(denormal[0].iter().all(|x| x.is_subnormal()));
    let silence = [vec![0.0f32; 48_000], vec![0.0f32; 48_000]];
    let cases: [(&str, &[Vec<f32>; 2]); 3] = [
        ("normal", &normal),
        ("subnormal", &denormal),
        ("silence", &silence),
    ];
    let quiet = [ev(0, "noise", 0.0), ev(0, "hum", 0.0)];
    let mut insts: Vec<Instance> = cases
        .iter()
        .map(|_| {
            let mut i = instance();
            i.flush(&quiet);
            i.activate(rate, 1, 512);
            i.start_processing();
            i
        })
        .collect();
    let mut times = vec![Vec::new(); cases.len()];
    for rep in 0..9 {
        for (k, (name, x)) in cases.iter().enumerate() {
            let inst = &mut insts[k];
            inst.reset();
            let _ = run_sizes(inst, &pre, || 512, &[]);
            let t0 = thread_cpu();
            let out = run_sizes(inst, x, || 512, &[]);
            let dt = (thread_cpu() - t0).as_secs_f64();
            times[k].push(dt);
            if rep == 0 {
                check_clean(&out, CEILING_LIN + CEILING_SLACK, name);
            }
        }
    }
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let mut report = Vec::new();
    for (k, (name, _)) in cases.iter().enumerate() {
        let ratio = medians[k] / medians[0];
        report.push(format!("{name} {:.1} ms ({ratio:.2}×)", medians[k] * 1e3));
        assert!(
            ratio <= 2.0,
            "{name} input takes {ratio:.2}× the time of normal input (medians {:?} s)",
            medians
        );
    }
    eprintln!(
        "one second at 48 kHz stereo, median of 9 (thread CPU time): {} — {:.0}× real time for normal input",
        report.join(", "),
        1.0 / medians[0]
    );
}

// ------------------------------------------------------------------------------------------------
// Parameter fuzzing

/// The highest ceiling (dBFS) the host set over the last `window` samples, per sample: the
/// ceiling glides like every continuous value (10 ms), so after 150 ms (15 time constants)
/// an older setting no longer counts.
fn ceiling_bound(ceil_db: &[f64], window: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(ceil_db.len());
    let mut dq: std::collections::VecDeque<usize> = Default::default();
    for n in 0..ceil_db.len() {
        while dq.back().is_some_and(|&j| ceil_db[j] <= ceil_db[n]) {
            dq.pop_back();
        }
        dq.push_back(n);
        while dq.front().is_some_and(|&j| j + window < n) {
            dq.pop_front();
        }
        let db = ceil_db[*dq.front().unwrap()];
        out.push((10f64.powf(db / 20.0) * (1.0 + 1e-6) + 1e-7) as f32);
    }
    out
}

/// Runs `input` with `events` (absolute times) and checks every sample against the ceiling the
/// host set; returns (peak, lowest ceiling headroom used).
fn fuzz_run(
    inst: &mut Instance,
    input: &[Vec<f32>; 2],
    rate: f64,
    sizes: impl FnMut() -> usize,
    events: &[(usize, ParamEvent)],
    what: &str,
) -> (f32, usize) {
    let len = input[0].len();
    let ceiling = spec("ceiling");
    let ceil_id = param_hash("ceiling");
    let mut db = vec![0.0f64; len];
    let mut cur = from_clap(ceiling, inst.get_value(ceil_id).unwrap());
    let mut k = 0;
    for (n, d) in db.iter_mut().enumerate() {
        while k < events.len() && events[k].0 <= n {
            if events[k].1.id == ceil_id && events[k].1.value.is_finite() {
                cur = from_clap(ceiling, events[k].1.value);
            }
            k += 1;
        }
        *d = cur;
    }
    let bound = ceiling_bound(&db, (0.15 * rate) as usize);
    let out = run_sizes(inst, input, sizes, events);
    let mut peak = 0.0f32;
    let mut at_ceiling = 0;
    for c in 0..2 {
        for n in 0..len {
            let y = out[c][n];
            assert!(y.is_finite(), "{what}: channel {c} sample {n} is {y}");
            assert!(
                y == 0.0 || y.abs() >= f32::MIN_POSITIVE,
                "{what}: sample {n} is subnormal"
            );
            assert!(
                y.abs() <= bound[n],
                "{what}: channel {c} sample {n} is {y}, above the ceiling {} dBFS set by the host (bound {})",
                db[n],
                bound[n]
            );
            peak = peak.max(y.abs());
            at_ceiling += usize::from(y.abs() > 0.95 * bound[n]);
        }
    }
    (peak, at_ceiling)
}

/// A loud test signal: the usual sine and noise, 12 dB hotter (peaks near +6 dBFS).
fn loud_signal(rate: f64, len: usize, seed: u64) -> [Vec<f32>; 2] {
    let mut s = signal(rate, len, seed);
    for ch in &mut s {
        for x in ch.iter_mut() {
            *x *= 4.0;
        }
    }
    s
}

#[test]
fn random_parameters_every_block_stay_finite_and_under_the_ceiling() {
    let rate = 48_000.0;
    let mut report = Vec::new();
    for (run, max_block) in [(0u64, 64u64), (1, 512), (2, 4096)] {
        let mut inst = instance();
        inst.activate(rate, 1, max_block as u32);
        inst.start_processing();
        let len = 96_000;
        let input = loud_signal(rate, len, 80 + run);
        // Block sizes drawn first, so that events can be put into them.
        let mut rng = Rng(90 + run);
        let mut sizes = Vec::new();
        let mut total = 0usize;
        while total < len {
            let n = 1 + rng.below(max_block) as usize;
            sizes.push(n);
            total += n;
        }
        let mut events = Vec::new();
        let mut start = 0usize;
        for &n in &sizes {
            // Every parameter, each at a random sample of the block.
            for p in PARAMS {
                let at = start + rng.below(n as u64) as usize;
                events.push((
                    at,
                    ParamEvent {
                        time: 0,
                        id: param_hash(p.id),
                        value: random_value(p, &mut rng),
                    },
                ));
            }
            start += n;
        }
        events.sort_by_key(|(t, _)| *t);
        let mut it = sizes.iter();
        let what = format!("every parameter random in every block (blocks 1…{max_block})");
        let (peak, at) = fuzz_run(
            &mut inst,
            &input,
            rate,
            || it.next().copied().unwrap_or(1),
            &events,
            &what,
        );
        report.push(format!("{what}: {} blocks, {} events, peak {peak:.4}, {at} samples within 0.5 dB of the ceiling", sizes.len(), events.len()));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn sample_accurate_automation_every_1_10_100_samples() {
    // At every event time three random parameters (switches included) take random values,
    // every `every` samples, in blocks of 256, for one second of loud input each.
    let rate = 48_000.0;
    let mut report = Vec::new();
    for (k, every) in [1usize, 10, 100].into_iter().enumerate() {
        let mut inst = instance();
        inst.activate(rate, 1, 256);
        inst.start_processing();
        let len = 48_000;
        let input = loud_signal(rate, len, 100 + k as u64);
        let mut rng = Rng(110 + k as u64);
        let mut events = Vec::new();
        let mut t = 0;
        while t < len {
            for _ in 0..3 {
                let p = &PARAMS[rng.below(PARAMS.len() as u64) as usize];
                events.push((
                    t,
                    ParamEvent {
                        time: 0,
                        id: param_hash(p.id),
                        value: random_value(p, &mut rng),
                    },
                ));
            }
            t += every;
        }
        let what = format!("automation every {every} samples");
        let (peak, at) = fuzz_run(&mut inst, &input, rate, || 256, &events, &what);
        report.push(format!(
            "{what}: {} events, peak {peak:.4}, {at} samples within 0.5 dB of the ceiling",
            events.len()
        ));
    }
    eprintln!("{}", report.join("\n"));
}

// ------------------------------------------------------------------------------------------------
// Bad input and recovery

#[test]
fn bad_input_stays_contained_and_recovery_is_measured() {
    // 100 ms of bad samples in the middle of a 48 kHz signal. The reference is the same signal
    // with those 100 ms silent (what a plugin can do at best with samples that are not audio),
    // from a fresh instance. Recovery: samples from the first good output sample (the end of
    // the bad part plus the latency) until the output stays within 1e-4 (−80 dBFS) of the
    // reference for good.
    let rate = 48_000.0;
    let len = 4 * 48_000;
    let (b0, b1) = (24_000usize, 28_800usize);
    let clean = signal(rate, len, 120);
    let mut gap = clean.clone();
    for ch in &mut gap {
        ch[b0..b1].fill(0.0);
    }
    let render = |x: &[Vec<f32>; 2]| {
        let mut inst = instance();
        inst.activate(rate, 1, 512);
        inst.start_processing();
        let out = run_sizes(&mut inst, x, || 512, &[]);
        (out, inst.latency() as usize)
    };
    let (reference, lat) = render(&gap);
    let kinds: [(&str, fn(usize, f32) -> f32); 9] = [
        ("NaN", |_, _| f32::NAN),
        ("+Inf", |_, _| f32::INFINITY),
        ("-Inf", |_, _| f32::NEG_INFINITY),
        ("±Inf alternating", |n, _| {
            if n % 2 == 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            }
        }),
        ("+1e30", |_, _| 1e30),
        (
            "±1e30 alternating",
            |n, _| if n % 2 == 0 { 1e30 } else { -1e30 },
        ),
        ("subnormals", |n, _| {
            f32::from_bits(0x0000_1234 + n as u32 % 1000)
        }),
        ("NaN/Inf/1e30/subnormal mixed", |n, _| {
            [
                f32::NAN,
                f32::INFINITY,
                -1e30,
                f32::from_bits(7),
                f32::NEG_INFINITY,
                1e30,
            ][n % 6]
        }),
        ("signal × 1e30", |_, x| x * 1e30),
    ];
    let tol = 1e-4f32;
    let mut report = Vec::new();
    let mut worst = (0usize, "");
    for (name, bad) in kinds {
        let mut x = clean.clone();
        for ch in &mut x {
            for n in b0..b1 {
                ch[n] = bad(n, ch[n]);
            }
        }
        let (out, _) = render(&x);
        check_clean(&out, CEILING_LIN + CEILING_SLACK, name);
        let good_from = b1 + lat;
        let mut last_bad = None;
        for c in 0..2 {
            for n in (good_from..len).rev() {
                if (out[c][n] - reference[c][n]).abs() > tol {
                    last_bad = Some(last_bad.map_or(n, |m: usize| m.max(n)));
                    break;
                }
            }
        }
        let recovery = last_bad.map_or(0, |n| n + 1 - good_from);
        assert!(
            recovery + good_from < len - 24_000,
            "{name}: the output has not recovered 0.5 s before the end ({recovery} samples)"
        );
        let during = out[0][b0 + lat..good_from]
            .iter()
            .fold(0.0f32, |m, y| m.max(y.abs()));
        report.push(format!(
            "{name}: recovered after {recovery} samples ({:.1} ms); peak during the bad part {during:.3}",
            recovery as f64 / rate * 1e3
        ));
        if recovery > worst.0 {
            worst = (recovery, name);
        }
        // What is not audio at all leaves no trace.
        if matches!(
            name,
            "NaN" | "+Inf" | "-Inf" | "±Inf alternating" | "subnormals"
        ) {
            assert!(
                recovery <= 48,
                "{name}: {recovery} samples to recover (at most 1 ms)"
            );
        } else {
            // A huge input drives the model into the rails for 100 ms: its DC blocker
            // (0.5 Hz) and the ceiling's release (80 ms) settle within 3 s.
            assert!(
                recovery as f64 <= 3.0 * rate,
                "{name}: {recovery} samples to recover (at most 3 s)"
            );
        }
    }
    eprintln!(
        "bad input for 100 ms at 48 kHz, recovery to within −80 dBFS of a render with silence in its place:\n{}\nworst: {} ({:.1} ms)",
        report.join("\n"),
        worst.1,
        worst.0 as f64 / rate * 1e3
    );
}

// ------------------------------------------------------------------------------------------------
// State

/// A state of `depth` nested arrays.
fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut s = String::with_capacity(depth * (open.len() + close.len()));
    for _ in 0..depth {
        s.push_str(open);
    }
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

fn with_body(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn state_of_hostile_shape_is_refused_and_the_values_stay() {
    // Valid JSON of the wrong shape, nesting deeper than any parser should follow, numbers no
    // float holds, megabytes of noise: refused, and every parameter keeps its value.
    let inst = instance();
    randomize_all(&inst, 4242);
    let before = inst.values();
    let good = inst.save_state().unwrap();
    let base = state_json(&good);
    let fields = base["fields"].clone();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut json =
        |name: &str, v: serde_json::Value| cases.push((name.to_string(), make_state(&v)));
    use serde_json::json;
    json("null", json!(null));
    json("a number", json!(42));
    json("a string", json!("state"));
    json("an array", json!([base.clone()]));
    json("an empty object", json!({}));
    json(
        "params missing",
        json!({ "version": "0.1.0", "fields": fields }),
    );
    json(
        "fields missing",
        json!({ "version": "0.1.0", "params": base["params"] }),
    );
    json(
        "params an array",
        json!({ "params": [1, 2, 3], "fields": fields }),
    );
    json("params null", json!({ "params": null, "fields": fields }));
    json(
        "params a string",
        json!({ "params": "gain=6", "fields": fields }),
    );
    json(
        "version a number",
        json!({ "version": 3, "params": base["params"], "fields": fields }),
    );
    json(
        "fields not text",
        json!({ "params": base["params"], "fields": { "x": 5 } }),
    );
    let mut p = base["params"].clone();
    p["gain"] = json!({ "f32": "loud" });
    json("f32 as text", json!({ "params": p, "fields": fields }));
    let mut p = base["params"].clone();
    p["gain"] = json!(6.0);
    json(
        "a bare number for a parameter",
        json!({ "params": p, "fields": fields }),
    );
    let mut p = base["params"].clone();
    p["gain"] = json!({ "f64": 6.0 });
    json(
        "an unknown value type",
        json!({ "params": p, "fields": fields }),
    );
    let mut p = base["params"].clone();
    p["gain"] = json!({ "f32": 6.0, "i32": 2 });
    json("two value types", json!({ "params": p, "fields": fields }));
    let mut p = base["params"].clone();
    p["load"] = json!({ "i32": 1e12 });
    json(
        "i32 beyond 32 bits",
        json!({ "params": p, "fields": fields }),
    );
    let mut p = base["params"].clone();
    p["balanced"] = json!({ "bool": "yes" });
    json("bool as text", json!({ "params": p, "fields": fields }));
    let body = serde_json::to_string(&base).unwrap();
    let mut raw = |name: &str, s: String| cases.push((name.to_string(), with_body(s.as_bytes())));
    let mut marked = base.clone();
    marked["params"]["gain"] = json!({ "f32": 0 });
    let marked = serde_json::to_string(&marked).unwrap();
    let number = |n: &str| marked.replace("{\"f32\":0}", &format!("{{\"f32\":{n}}}"));
    raw("a float beyond f64 (1e400)", number("1e400"));
    raw("a number of 10 000 digits", number(&"9".repeat(10_000)));
    raw("trailing garbage", format!("{body} }}]"));
    raw("two states in a row", format!("{body}{body}"));
    raw("arrays nested 100 000 deep", nested(100_000, "[", "]"));
    raw(
        "objects nested 100 000 deep",
        nested(100_000, "{\"a\":", "}"),
    );
    raw(
        "nesting 10 000 deep inside a parameter",
        body.replacen(
            "{\"f32\":",
            &format!("{{\"f32\":{}, \"z\":", nested(10_000, "[", "]")),
            1,
        ),
    );
    raw("16 MB of '['", "[".repeat(16 << 20));
    raw("a 16 MB string", format!("\"{}\"", "a".repeat(16 << 20)));
    let mut rng = Rng(0xbad);
    for mb in [4usize, 32] {
        let noise: Vec<u8> = (0..mb << 20).map(|_| rng.next_u64() as u8).collect();
        cases.push((format!("{mb} MB of random bytes"), with_body(&noise)));
    }
    let mut refused = 0;
    let started = std::time::Instant::now();
    for (name, data) in &cases {
        let ok = inst.load_state(data);
        assert!(!ok, "{name}: accepted ({} bytes)", data.len());
        assert_values_close(&before, &inst.values(), name);
        refused += 1;
    }
    // And the plugin still works: its own state loads and saves the same bytes.
    assert!(inst.load_state(&good));
    assert_eq!(inst.save_state().unwrap(), good);
    eprintln!(
        "refused {refused} states of the wrong shape (up to {} MB) in {:.1} s, every parameter unchanged each time",
        cases.iter().map(|c| c.1.len()).max().unwrap() >> 20,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn state_with_missing_unknown_and_extreme_values_loads_within_range() {
    // Well-formed states that differ from ours: they load. What they name is set (within the
    // range), what they do not name keeps its value, what the plugin does not know is ignored.
    use serde_json::json;
    let inst = instance();
    randomize_all(&inst, 777);
    let before = inst.values();
    let base = state_json(&inst.save_state().unwrap());
    let gain_i = PARAMS.iter().position(|p| p.id == "gain").unwrap();
    let z_i = PARAMS.iter().position(|p| p.id == "z_load").unwrap();

    // Missing keys: only gain and z_load.
    let partial =
        json!({ "params": { "gain": { "f32": 6.0 }, "z_load": { "f32": 32.0 } }, "fields": {} });
    assert!(inst.load_state(&make_state(&partial)), "a partial state");
    let after = inst.values();
    for (i, p) in PARAMS.iter().enumerate() {
        let want = match i {
            i if i == gain_i => to_clap(p, 6.0),
            i if i == z_i => to_clap(p, 32.0),
            _ => before[i],
        };
        assert!(
            (after[i] - want).abs() < 1e-6,
            "partial state: {} is {} instead of {want}",
            p.id,
            after[i]
        );
    }

    // Unknown keys everywhere.
    let mut unknown = base.clone();
    unknown["from_the_future"] = json!({ "a": [1, 2, { "b": null }] });
    unknown["params"]["no_such_param"] = json!({ "f32": 3.0 });
    unknown["params"]["another"] = json!({ "string": "x" });
    unknown["fields"]["no_such_field"] = json!("{\"x\": [1, 2, 3]}");
    assert!(inst.load_state(&make_state(&unknown)), "unknown keys");
    assert_values_close(&before, &inst.values(), "unknown keys");
    // An unknown key holding nesting a million deep (serde_json skips it without recursion).
    let body = serde_json::to_string(&base).unwrap();
    let deep =
        with_body(format!("{{\"deep\":{},{}", nested(1_000_000, "[", "]"), &body[1..]).as_bytes());
    assert!(inst.load_state(&deep), "a million-deep unknown key");
    assert_values_close(&before, &inst.values(), "a million-deep unknown key");

    // Extreme numbers of the right type: every float at ±1e38 and at the smallest subnormal.
    // (Beyond f32 and enum indices out of range: the two tests below.)
    let mut report = Vec::new();
    for (name, fv) in [("1e38", 1e38), ("-1e38", -1e38), ("1e-45", 1e-45)] {
        report.push(extreme_floats(&base, name, fv));
    }
    eprintln!("{}", report.join("\n"));
}

/// Loads `base` with every float parameter at `fv`: it loads, the host sees values within
/// the ranges, the audio is clean, and what the plugin then saves loads again to the same bytes.
fn extreme_floats(base: &serde_json::Value, name: &str, fv: f64) -> String {
    let mut s = base.clone();
    for p in PARAMS {
        if let ParamKind::Float { .. } = p.kind {
            s["params"][p.id] = serde_json::json!({ "f32": fv });
        }
    }
    let inst = instance();
    assert!(inst.load_state(&make_state(&s)), "{name}: refused");
    for (p, info) in PARAMS.iter().zip(inst.param_infos()) {
        let v = inst.get_value(info.id).unwrap();
        assert!(
            v.is_finite() && (info.min..=info.max).contains(&v),
            "{name}: {} reads {v}",
            p.id
        );
        let text = inst.value_to_text(info.id, v).unwrap();
        assert!(!text.is_empty());
    }
    // The audio stays finite and within 0 dBFS, the top of the ceiling's range.
    let mut inst = inst;
    inst.activate(48_000.0, 1, 512);
    inst.start_processing();
    let run = run_blocks(
        &mut inst,
        &signal(48_000.0, 9_600, 130),
        512,
        false,
        |_, _| Vec::new(),
    );
    check_clean(&run.out, 1.0 + CEILING_SLACK, name);
    inst.stop_processing();
    // What the plugin saves now, it must load again, to the same bytes.
    let saved = inst.save_state().unwrap();
    let reloaded = instance();
    let ok = reloaded.load_state(&saved);
    let same = ok && reloaded.save_state().unwrap() == saved;
    let out_of_range: Vec<String> = PARAMS
        .iter()
        .filter_map(|p| {
            let v = state_json(&saved)["params"][p.id].clone();
            match (p.kind, v.get("f32").and_then(|x| x.as_f64())) {
                (ParamKind::Float { min, max, .. }, Some(x)) if (min..=max).contains(&x) => None,
                (ParamKind::Float { .. }, _) => Some(format!("{}={}", p.id, v)),
                _ => None,
            }
        })
        .collect();
    assert!(
        ok,
        "{name}: the plugin saved a state it cannot load again: {}",
        String::from_utf8_lossy(&saved[8..saved.len().min(400)])
    );
    assert!(same, "{name}: saved → loaded → saved differs");
    format!(
        "{name}: loads; the host sees values in range; audio clean; the re-saved state reloads byte-identically{}",
        if out_of_range.is_empty() {
            String::new()
        } else {
            format!(" (it keeps {} of 24 floats outside their range, e.g. {}: the engine clamps them)", out_of_range.len(), out_of_range[0])
        }
    )
}

#[test]
fn float_beyond_f32_in_a_state_saves_a_state_that_reloads() {
    let base = state_json(&instance().save_state().unwrap());
    let report = [
        extreme_floats(&base, "1e39", 1e39),
        extreme_floats(&base, "-1e39", -1e39),
    ];
    eprintln!("{}", report.join("\n"));
}

const ENUM_CHILD_ENV: &str = "OUTPATH_ENUM_STATE_CHILD";

#[test]
fn enum_index_out_of_range_in_a_state_survives_the_next_save() {
    // A state may carry an enum by index ({"i32": n}) instead of its id: nice-plug stores any
    // n, and saving afterwards indexes its table of ids with it. Run in a child process, since
    // a panic there cannot unwind through the C ABI and aborts the host.
    let (out, stderr) = run_child(
        "robust::enum_state_child",
        &[
            (ENUM_CHILD_ENV, "1".as_ref()),
            ("OUTPATH_CLAP", host::release_clap().as_os_str()),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("enum-state") || l.contains("panicked at"))
        .collect();
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "loading a state with an enum index out of range and saving again crashed the host ({}):\n{}",
        out.status,
        report.join("\n")
    );
    eprintln!("{}", report.join("\n"));
}

#[test]
#[ignore = "run by enum_index_out_of_range_in_a_state_survives_the_next_save in a child process"]
fn enum_state_child() {
    if std::env::var_os(ENUM_CHILD_ENV).is_none() {
        return;
    }
    let base = state_json(&instance().save_state().unwrap());
    for (id, n) in [
        ("load", 4i64),
        ("output", 17),
        ("listen", -1),
        ("clip_shape", 1_000_000_000),
        ("mains", i32::MIN as i64),
    ] {
        let mut s = base.clone();
        s["params"][id] = serde_json::json!({ "i32": n });
        let inst = instance();
        let loaded = inst.load_state(&make_state(&s));
        let v = inst.get_value(param_hash(id)).unwrap();
        eprintln!(
            "enum-state: {id} = {{\"i32\": {n}}}: loaded {loaded}, the host reads {v}; saving…"
        );
        let saved = inst.save_state().expect("save");
        let again = state_json(&saved)["params"][id].clone();
        let fresh = instance();
        assert!(
            fresh.load_state(&saved),
            "{id}: the saved state does not load"
        );
        eprintln!("enum-state: {id}: saved as {again}, reloads");
    }
}

#[test]
fn state_loads_while_another_thread_processes() {
    // A host's main thread loads states (good ones, garbage, hostile shapes) while its audio
    // thread processes without pause: each good state arrives whole, garbage changes nothing,
    // and the audio never stops being finite and within 0 dBFS.
    let rate = 48_000.0;
    let mut inst = instance();
    let states: Vec<(Vec<u8>, Vec<f64>)> = (0..4)
        .map(|k| {
            let i = instance();
            randomize_all(&i, 900 + k);
            (i.save_state().unwrap(), i.values())
        })
        .collect();
    inst.activate(rate, 1, 256);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let input = loud_signal(rate, 48_000, 140);
    let (loads, blocks) = std::thread::scope(|s| {
        let mut port = inst.audio_port();
        let stop = &stop;
        let input = &input;
        let audio = s.spawn(move || {
            port.start_processing();
            let mut inb = [vec![0.0f32; 256], vec![0.0f32; 256]];
            let mut outb = [vec![0.0f32; 256], vec![0.0f32; 256]];
            let (mut pos, mut blocks) = (0usize, 0usize);
            while !stop.load(Ordering::Relaxed) {
                for c in 0..2 {
                    inb[c].copy_from_slice(&input[c][pos..pos + 256]);
                }
                let [i0, i1] = &mut inb;
                let [o0, o1] = &mut outb;
                let status = port.process(
                    &mut [&mut i0[..], &mut i1[..]],
                    Some(&mut [&mut o0[..], &mut o1[..]]),
                    256,
                    &[],
                );
                assert_ne!(status, CLAP_PROCESS_ERROR);
                for ch in &outb {
                    for &y in ch {
                        assert!(
                            y.is_finite() && y.abs() <= 1.0 + CEILING_SLACK,
                            "audio thread: {y}"
                        );
                    }
                }
                pos = (pos + 256) % (input[0].len() - 256);
                blocks += 1;
            }
            port.stop_processing();
            blocks
        });
        let mut rng = Rng(141);
        let mut loads = 0usize;
        let started = std::time::Instant::now();
        while loads < 400 || started.elapsed() < Duration::from_millis(500) {
            let (good, values) = &states[loads % states.len()];
            assert!(inst.load_state(good), "load {loads} while processing");
            assert_values_close(
                values,
                &inst.values(),
                &format!("load {loads} while processing"),
            );
            // Garbage in between.
            let mut bad = good.clone();
            let n = bad.len();
            match loads % 3 {
                0 => bad.truncate(8 + rng.below((n - 8) as u64) as usize),
                1 => {
                    for _ in 0..8 {
                        let at = 8 + rng.below((n - 8) as u64) as usize;
                        bad[at] = b"{[\"]:,"[rng.below(6) as usize];
                    }
                }
                _ => bad = with_body(nested(50_000, "[", "]").as_bytes()),
            }
            let ok = inst.load_state(&bad);
            if !ok {
                assert_values_close(
                    values,
                    &inst.values(),
                    &format!("garbage {loads} while processing"),
                );
            }
            loads += 1;
            if started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        (loads, audio.join().expect("the audio thread"))
    });
    inst.deactivate();
    assert!(
        blocks > 10,
        "the audio thread processed only {blocks} blocks"
    );
    // The same on one thread: loads between process() calls while processing.
    inst.activate(rate, 1, 256);
    inst.start_processing();
    let mut same_thread = 0;
    let mut inb = [vec![0.0f32; 256], vec![0.0f32; 256]];
    for k in 0..100 {
        let (good, values) = &states[k % states.len()];
        assert!(inst.load_state(good));
        assert_values_close(values, &inst.values(), "same thread");
        let [i0, i1] = &mut inb;
        i0.copy_from_slice(&input[0][..256]);
        i1.copy_from_slice(&input[1][..256]);
        inst.process(&mut [&mut i0[..], &mut i1[..]], None, 256, &[]);
        assert!(inb
            .iter()
            .flatten()
            .all(|y| y.is_finite() && y.abs() <= 1.0 + CEILING_SLACK));
        same_thread += 1;
    }
    eprintln!(
        "{loads} good and {loads} bad state loads on the main thread while the audio thread processed {blocks} blocks of 256; \
         {same_thread} loads between process() calls on one thread"
    );
}

// ------------------------------------------------------------------------------------------------
// Real-time safety: every scenario in the allocation-checked build

const SCENARIO_CHILD_ENV: &str = "OUTPATH_ALLOC_SCENARIO_CHILD";

/// Runs one ignored test of this binary in a child process with `env` set; returns its stderr.
fn run_child(
    test: &str,
    env: &[(&str, &std::ffi::OsStr)],
    wrapper: &[&str],
) -> (std::process::Output, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if wrapper.is_empty() {
        std::process::Command::new(&exe)
    } else {
        let mut c = std::process::Command::new(wrapper[0]);
        c.args(&wrapper[1..]).arg(&exe);
        c
    };
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child test");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn alloc_check_build_runs_every_scenario_without_allocating() {
    let path = host::alloc_check_clap();
    let (out, stderr) = run_child(
        "robust::alloc_scenarios_child",
        &[
            (SCENARIO_CHILD_ENV, "1".as_ref()),
            ("OUTPATH_ALLOC_CLAP", path.as_os_str()),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the allocation-checked build failed ({}; SIGABRT is an allocation inside process()):\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        out.status,
        &stderr[stderr.len().saturating_sub(20_000)..]
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

/// The events that set every value of a device (display units → host values).
fn device_events(d: &outpath::devices::Device) -> Vec<ParamEvent> {
    d.values()
        .into_iter()
        .map(|(p, v)| ParamEvent {
            time: 0,
            id: param_hash(p.id),
            value: to_clap(p, v),
        })
        .collect()
}

#[test]
#[ignore = "run by alloc_check_build_runs_every_scenario_without_allocating in a child process"]
fn alloc_scenarios_child() {
    if std::env::var_os(SCENARIO_CHILD_ENV).is_none() {
        eprintln!(
            "runs only as the child of alloc_check_build_runs_every_scenario_without_allocating"
        );
        return;
    }
    let bundle = host::load(&host::alloc_check_clap());
    let mut inst = bundle
        .create(PLUGIN_ID, HostOptions::default())
        .expect("create");
    let started = std::time::Instant::now();
    let rate = 48_000.0;
    inst.activate(rate, 1, 256);
    inst.start_processing();
    let mut rng = Rng(0xa110c);
    let input = loud_signal(rate, 48_000, 150);
    let mut pos = 0usize;
    // Feeds `n` samples of the loud signal (wrapping) with `first` events at the first block and
    // random continuous automation in every block.
    let mut feed = |inst: &mut Instance, n: usize, first: Vec<ParamEvent>, rng: &mut Rng| {
        let chunk = [
            input[0][pos..pos + n].to_vec(),
            input[1][pos..pos + n].to_vec(),
        ];
        pos = (pos + n) % (input[0].len() - 8192);
        let mut first = Some(first);
        let floats = [
            "gain",
            "z_out",
            "z_load",
            "c_out",
            "l_coil",
            "f_res",
            "z_peak",
            "cable_len",
            "v_clip",
            "i_max",
            "color",
            "dc_offset",
        ];
        let run = run_blocks(inst, &chunk, 256, false, |_, len| {
            let mut e = first.take().unwrap_or_default();
            for _ in 0..2 {
                let name = floats[rng.below(floats.len() as u64) as usize];
                e.push(ev(rng.below(len as u64) as u32, name, rng.unit()));
            }
            e
        });
        check_output(&run.out, 1.0 + CEILING_SLACK, "alloc check");
        run.calls
    };
    // 1. Every output type × load type × listen mode × clip shape, with balanced and mains
    //    alternating: 108 scenarios, each switched to by events (crossfades) and run 1024 samples.
    let mut calls = 0;
    let mut scenarios = 0;
    for output in 0..3 {
        for load in 0..4 {
            for listen in 0..3 {
                for clip in 0..3 {
                    let e = vec![
                        ev(0, "output", output as f64),
                        ev(0, "load", load as f64),
                        ev(3, "listen", listen as f64),
                        ev(5, "clip_shape", clip as f64),
                        ev(7, "balanced", (scenarios % 2) as f64),
                        ev(9, "mains", (scenarios / 2 % 2) as f64),
                        ev(11, "gain", 0.5 + 0.5 * rng.unit()),
                    ];
                    calls += feed(&mut inst, 1024, e, &mut rng);
                    scenarios += 1;
                }
            }
        }
    }
    eprintln!(
        "alloc-check: {scenarios} output × load × listen × clip scenarios, {calls} process calls"
    );
    // 2. Every factory device: each output device with a load device, each load device with an
    //    output device, all values set by events as a host applies a preset.
    let lib = Library::factory();
    let outputs: Vec<_> = lib.outputs().collect();
    let loads: Vec<_> = lib.loads().collect();
    let mut pairs = 0;
    for (i, o) in outputs.iter().enumerate() {
        let mut e = device_events(o);
        e.extend(device_events(loads[i * 7 % loads.len()]));
        calls += feed(&mut inst, 1024, e, &mut rng);
        pairs += 1;
    }
    for (i, l) in loads.iter().enumerate() {
        let mut e = device_events(outputs[i * 5 % outputs.len()]);
        e.extend(device_events(l));
        e.push(ev(0, "listen", (i % 3) as f64));
        calls += feed(&mut inst, 1024, e, &mut rng);
        pairs += 1;
    }
    eprintln!(
        "alloc-check: {} output and {} load devices in {pairs} pairs",
        outputs.len(),
        loads.len()
    );
    // 3. Bad input, reset() while processing, random parameters at every sample.
    let mut bad = loud_signal(rate, 4800, 151);
    for (n, x) in bad[0].iter_mut().enumerate() {
        *x = [f32::NAN, f32::INFINITY, -1e30, f32::from_bits(3), *x][n % 5];
    }
    run_blocks(&mut inst, &bad, 64, false, |_, _| Vec::new());
    inst.reset();
    run_blocks(
        &mut inst,
        &input.clone().map(|c| c[..4800].to_vec()),
        64,
        true,
        |_, n| {
            (0..n as u32)
                .map(|t| {
                    let p = &PARAMS[rng.below(PARAMS.len() as u64) as usize];
                    ParamEvent {
                        time: t,
                        id: param_hash(p.id),
                        value: random_value(p, &mut rng),
                    }
                })
                .collect()
        },
    );
    inst.deactivate();
    // 4. Other rates and block sizes (0, 1, 17, 4096) after reactivation.
    let mut rates = Vec::new();
    for (rate, block) in [
        (8_000.0, 17usize),
        (44_100.0, 1),
        (96_000.0, 4096),
        (192_000.0, 0),
        (768_000.0, 4096),
    ] {
        inst.activate(rate, if block == 0 { 0 } else { 1 }, block.max(64) as u32);
        inst.start_processing();
        let x = signal(rate, 4800, 152);
        let mut k = 0usize;
        let out = run_sizes(
            &mut inst,
            &x,
            || {
                k += 1;
                if block == 0 {
                    [0, 0, 64][k % 3]
                } else {
                    block
                }
            },
            &[(100, ev(0, "load", 3.0)), (2000, ev(0, "listen", 1.0))],
        );
        check_output(&out, 1.0 + CEILING_SLACK, "alloc check rates");
        inst.deactivate();
        rates.push(format!("{rate} Hz/{block}"));
    }
    eprintln!("alloc-check: rates and blocks {}", rates.join(", "));
    // 5. State loads on the main thread while the audio thread processes.
    let states: Vec<Vec<u8>> = (0..3)
        .map(|k| {
            let i = bundle.create(PLUGIN_ID, HostOptions::default()).unwrap();
            randomize_all(&i, 1200 + k);
            i.save_state().unwrap()
        })
        .collect();
    inst.activate(48_000.0, 1, 256);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (loads_done, blocks) = std::thread::scope(|s| {
        let mut port = inst.audio_port();
        let stop = &stop;
        let x = &input;
        let audio = s.spawn(move || {
            port.start_processing();
            let mut b = [vec![0.0f32; 256], vec![0.0f32; 256]];
            let mut blocks = 0usize;
            while !stop.load(Ordering::Relaxed) || blocks < 50 {
                b[0].copy_from_slice(&x[0][..256]);
                b[1].copy_from_slice(&x[1][..256]);
                let [b0, b1] = &mut b;
                port.process(&mut [&mut b0[..], &mut b1[..]], None, 256, &[]);
                blocks += 1;
            }
            port.stop_processing();
            blocks
        });
        let mut n = 0;
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_millis(500) {
            assert!(inst.load_state(&states[n % 3]));
            assert!(!inst.load_state(&states[n % 3][..40]));
            n += 1;
        }
        stop.store(true, Ordering::Relaxed);
        (n, audio.join().unwrap())
    });
    inst.deactivate();
    eprintln!(
        "alloc-check: {loads_done} state loads while the audio thread processed {blocks} blocks; {calls}+ process calls in {:.1} s, no allocation",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------------
// Real-time safety: no system call on the audio thread (no lock that waits, no I/O)

const STRACE_CHILD_ENV: &str = "OUTPATH_STRACE_CHILD";

#[test]
fn audio_thread_makes_no_system_call_while_processing() {
    // The child processes on a thread of its own under `strace -f`: after a warm-up it calls
    // gettid() (a marker in the trace), processes two seconds of audio in blocks of 256 with
    // parameter events in every block (switches, devices' values) and bad samples, then calls
    // gettid() again. Between the two markers that thread must make no system call at all:
    // no futex (a lock that waits or wakes), no read/write/openat (I/O), no mmap/brk (memory).
    let strace = std::process::Command::new("strace").arg("-V").output();
    assert!(
        strace.as_ref().is_ok_and(|o| o.status.success()),
        "strace is needed for this test (apt-get install strace): {strace:?}"
    );
    let trace = std::env::temp_dir().join(format!("outpath-strace-{}.txt", std::process::id()));
    let path = host::release_clap();
    let trace_s = trace.to_string_lossy().into_owned();
    let (out, stderr) = run_child(
        "robust::strace_child",
        &[
            (STRACE_CHILD_ENV, "1".as_ref()),
            ("OUTPATH_CLAP", path.as_os_str()),
        ],
        &["strace", "-f", "-qq", "-o", &trace_s, "--"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child under strace failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let text = std::fs::read_to_string(&trace).expect("the trace");
    let _ = std::fs::remove_file(&trace);
    let tid: u32 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("strace-child: audio thread "))
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("the child did not name its audio thread:\n{stderr}"));
    let prefix = format!("{tid} ");
    let mine: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
    let markers: Vec<usize> = mine
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("gettid()"))
        .map(|(i, _)| i)
        .collect();
    assert!(
        markers.len() >= 2,
        "markers not found in the trace of thread {tid}: {:?}",
        &mine[..mine.len().min(40)]
    );
    let (a, b) = (markers[markers.len() - 2], markers[markers.len() - 1]);
    let inside = &mine[a + 1..b];
    let others = text.lines().filter(|l| !l.starts_with(&prefix)).count();
    let summary = stderr
        .lines()
        .filter(|l| l.starts_with("strace-child"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        inside.is_empty(),
        "the audio thread made {} system calls while processing:\n{}\n{summary}",
        inside.len(),
        inside
            .iter()
            .take(30)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{summary}\nstrace: 0 system calls on the audio thread between the markers ({} before and after it, {others} on other threads)",
        mine.len() - inside.len()
    );
}

#[test]
#[ignore = "run under strace by audio_thread_makes_no_system_call_while_processing"]
fn strace_child() {
    if std::env::var_os(STRACE_CHILD_ENV).is_none() {
        eprintln!("runs only as the child of audio_thread_makes_no_system_call_while_processing");
        return;
    }
    let rate = 48_000.0;
    let mut inst = instance();
    inst.activate(rate, 1, 256);
    let lib = Library::factory();
    let devices: Vec<Vec<ParamEvent>> = lib.devices.iter().map(device_events).collect();
    // Everything the audio thread will need, prepared before it starts.
    let mut input = loud_signal(rate, 2 * 48_000, 160);
    for (n, x) in input[1].iter_mut().enumerate() {
        if n % 1009 == 0 {
            *x = [f32::NAN, f32::INFINITY, 1e30, f32::from_bits(5)][n / 1009 % 4];
        }
    }
    let mut rng = Rng(161);
    let blocks = input[0].len() / 256;
    let events: Vec<Vec<ParamEvent>> = (0..blocks)
        .map(|b| {
            let mut e = if b % 20 == 0 {
                devices[b / 20 % devices.len()].clone()
            } else {
                Vec::new()
            };
            for _ in 0..4 {
                let p = &PARAMS[rng.below(PARAMS.len() as u64) as usize];
                e.push(ParamEvent {
                    time: rng.below(256) as u32,
                    id: param_hash(p.id),
                    value: random_value(p, &mut rng),
                });
            }
            e.sort_by_key(|e| e.time);
            e
        })
        .collect();
    let (tid, calls, peak) = std::thread::scope(|s| {
        let mut port = inst.audio_port();
        let input = &input;
        let events = &events;
        s.spawn(move || {
            port.start_processing();
            let mut b = [vec![0.0f32; 256], vec![0.0f32; 256]];
            let mut o = [vec![0.0f32; 256], vec![0.0f32; 256]];
            let go = |port: &mut host::AudioPort,
                      k: usize,
                      b: &mut [Vec<f32>; 2],
                      o: &mut [Vec<f32>; 2]| {
                for c in 0..2 {
                    b[c].copy_from_slice(&input[c][k * 256..(k + 1) * 256]);
                }
                let [b0, b1] = b;
                let [o0, o1] = o;
                port.process(
                    &mut [&mut b0[..], &mut b1[..]],
                    Some(&mut [&mut o0[..], &mut o1[..]]),
                    256,
                    &events[k],
                );
                o.iter().flatten().fold(0.0f32, |m, y| {
                    if y.is_finite() {
                        m.max(y.abs())
                    } else {
                        f32::INFINITY
                    }
                })
            };
            // Warm-up (first touches, lazy initialisation).
            for k in 0..20 {
                go(&mut port, k, &mut b, &mut o);
            }
            let tid = unsafe { libc::gettid() };
            let mut peak = 0.0f32;
            for k in 0..blocks {
                peak = peak.max(go(&mut port, k, &mut b, &mut o));
            }
            let _ = unsafe { libc::gettid() };
            port.stop_processing();
            (tid, blocks, peak)
        })
        .join()
        .unwrap()
    });
    eprintln!("strace-child: audio thread {tid}");
    eprintln!(
        "strace-child: {calls} blocks of 256 at 48 kHz (2 s) with {} parameter events, every factory device, NaN/Inf/1e30/subnormal samples; peak {peak:.4}",
        events.iter().map(|e| e.len()).sum::<usize>()
    );
    assert!(peak.is_finite() && peak <= 1.0 + CEILING_SLACK);
}
