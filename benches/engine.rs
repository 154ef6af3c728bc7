//! Engine speed: renders 10 s of stereo noise through several scenarios at 44.1, 48 and 96 kHz
//! and prints nanoseconds per stereo sample frame and times real time, with the meters off (the
//! plugin with its editor closed) and on. The music modes run with the meters on unless told
//! `no-meters`.
//!
//! `cargo bench --bench engine` (add a scenario name to run only that one).

use outpath::dsp::Engine;
use outpath::model::{LoadKind, Settings};
use std::time::Instant;

/// Every nonlinearity at work, a resonant reactive load, a long cable, noise and hum: the
/// scenario file shared with the side-by-side run in pedalboard.
pub fn heaviest() -> Settings {
    let mut s = Settings::default();
    for line in include_str!("heaviest.scenario").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, value) = line.split_once('=').expect("id = value");
        s.set_text(id.trim(), value.trim())
            .unwrap_or_else(|e| panic!("benches/heaviest.scenario: {e}"));
    }
    s
}

fn scenarios() -> Vec<(&'static str, Settings)> {
    let mut line = Settings::default();
    line.load = LoadKind::LineInput;
    line.z_load = 10_000.0;
    line.z_out = 100.0;
    line.v_clip = 12.0;
    vec![
        ("default (headphone out → 300 Ω)", Settings::default()),
        ("line out → 10 kΩ", line),
        ("heaviest", heaviest()),
    ]
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.4
        })
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "parts") {
        parts();
        return;
    }
    if std::env::args().any(|a| a == "levels") {
        levels(&[-3.0, -9.0, -15.0, -21.0, -30.0]);
        return;
    }
    if std::env::args().any(|a| a == "quiet") {
        levels(&[-30.0]);
        return;
    }
    if let Some(i) = std::env::args().position(|a| a == "music") {
        let path = std::env::args().nth(i + 1).expect("music: give a WAV file");
        #[cfg(target_arch = "x86_64")]
        if let Some(j) = std::env::args().position(|a| a == "ab") {
            let rounds = std::env::args().nth(j + 1).and_then(|t| t.parse().ok());
            music_ab(&path, rounds.unwrap_or(9));
            return;
        }
        if std::env::args().any(|a| a == "once") {
            music_once(&path, 1);
        } else if let Some(j) = std::env::args().position(|a| a == "times") {
            let times = std::env::args().nth(j + 1).and_then(|t| t.parse().ok());
            music_once(&path, times.expect("times: give a count"));
        } else {
            music(&path);
        }
        return;
    }
    if std::env::args().any(|a| a == "once") {
        once();
        return;
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // Each scenario twice: as the plugin runs with its editor closed (the meters off) and
    // with it open (the meters on).
    println!(
        "{:<34} {:>8} {:>14} {:>12} {:>16}",
        "scenario", "rate", "ns/frame", "× real time", "meters on ns/fr"
    );
    for (name, s) in scenarios() {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        for fs in [44_100.0, 48_000.0, 96_000.0] {
            let n = (10.0 * fs) as usize;
            let l = noise(n, 1);
            let r = noise(n, 2);
            let mut best = [0.0; 2];
            for (metering, best) in [false, true].into_iter().zip(&mut best) {
                let mut e = Engine::new(fs, 2, 1, &s);
                chosen_isa(&mut e);
                e.set_metering(metering);
                // Warm up on a copy of the first 4096 samples, then time the whole ten
                // seconds, best of three, each run on a fresh copy of the noise (the engine
                // works in place: its output fed back in would be another signal).
                warm_up(&mut e, &l, &r);
                *best = best_of_three(&mut e, &l, &r, |_| {}).0;
            }
            let ns = best.map(|b| b * 1e9 / n as f64);
            println!(
                "{:<34} {:>8} {:>14.1} {:>12.1} {:>16.1}",
                name,
                fs,
                ns[0],
                10.0 / best[0],
                ns[1]
            );
        }
    }
}

/// One second of the heaviest scenario at 48 kHz, untimed: for a profiler (callgrind counts
/// instructions, which stay stable on a shared machine):
/// `valgrind --tool=callgrind target/profiling/deps/engine-* once`.
pub fn once() {
    let fs = 48_000.0;
    let (l, r) = (noise(48_000, 1), noise(48_000, 2));
    let mut e = Engine::new(fs, 2, 1, &heaviest());
    chosen_isa(&mut e);
    run_blocks(&mut e, &l, &r);
    let m = e.take_meters();
    println!(
        "host samples {}: rails clipping in {:.1} %, current limiting in {:.1} %",
        m.host_samples,
        100.0 * m.rail_clips as f64 / m.host_samples as f64,
        100.0 * m.current_limits as f64 / m.host_samples as f64
    );
}

/// The heaviest scenario at 48 kHz with the noise at several levels: how the cost follows the
/// share of time the full path runs (near the knees) and the fast path (the rest).
pub fn levels(levels_db: &[f32]) {
    let fs = 48_000.0;
    println!(
        "{:>10} {:>10} {:>12} {:>12}",
        "peak dBFS", "ns/frame", "rails %", "limit %"
    );
    for &db in levels_db {
        let g = 10f32.powf(db / 20.0) / 0.7;
        let n = 480_000;
        let l: Vec<f32> = noise(n, 1).iter().map(|v| v * g).collect();
        let r: Vec<f32> = noise(n, 2).iter().map(|v| v * g).collect();
        let mut e = Engine::new(fs, 2, 1, &heaviest());
        chosen_isa(&mut e);
        warm_up(&mut e, &l, &r);
        e.take_meters();
        let (best, m) = best_of_three(&mut e, &l, &r, |_| {});
        println!(
            "{:>10.0} {:>10.1} {:>12.1} {:>12.1}",
            db,
            best * 1e9 / n as f64,
            100.0 * m.rail_clips as f64 / m.host_samples as f64,
            100.0 * m.current_limits as f64 / m.host_samples as f64
        );
    }
}

/// Runs `e` over a copy of the first 4096 samples of `l` and `r` (the inputs stay as they are).
fn warm_up(e: &mut Engine, l: &[f32], r: &[f32]) {
    let k = 4096.min(l.len()).min(r.len());
    let (mut l, mut r) = (l[..k].to_vec(), r[..k].to_vec());
    e.process(&mut [&mut l[..], &mut r[..]]);
}

/// `e` over copies of `l` and `r` in 512-sample blocks, as pedalboard feeds it: seconds.
fn run_blocks(e: &mut Engine, l: &[f32], r: &[f32]) -> f64 {
    let (mut l, mut r) = (l.to_vec(), r.to_vec());
    let t = Instant::now();
    for (cl, cr) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
        e.process(&mut [cl, cr]);
    }
    t.elapsed().as_secs_f64()
}

/// Three timed runs of `e` over copies of `l` and `r` in 512-sample blocks, `prepare` before
/// each: the best time in seconds, and the meters of the last run.
fn best_of_three(
    e: &mut Engine,
    l: &[f32],
    r: &[f32],
    mut prepare: impl FnMut(&mut Engine),
) -> (f64, outpath::dsp::meters::Meters) {
    let mut best = f64::INFINITY;
    let mut m = None;
    for _ in 0..3 {
        prepare(e);
        e.take_meters();
        best = best.min(run_blocks(e, l, r));
        m = Some(e.take_meters());
    }
    (best, m.expect("three runs"))
}

/// The heaviest scenario at 48 kHz on a stereo WAV file (the side-by-side audio, written by
/// `benches/side_by_side.py --write-audio`), in 512-sample blocks as pedalboard feeds it: the
/// engine's share of what the plugin costs there, with both paths and with the full path alone.
pub fn music(path: &str) {
    let (fs, l, r) = read_stereo(path);
    let n = l.len();
    for fast in [true, false] {
        let mut e = Engine::new(fs, 2, 1, &heaviest());
        chosen_isa(&mut e);
        // Each run from silence (set_fast_path resets), so the counts are one run's.
        let (best, m) = best_of_three(&mut e, &l, &r, |e| e.set_fast_path(fast));
        let (takeovers, steps) = e.full_path_use();
        println!(
            "{:<16} {:>7.1} ns/frame, rails {:.2} %, limit {:.2} %, full path {:.1} % of the \
             time ({} takeovers)",
            if fast { "two rates" } else { "full path alone" },
            best * 1e9 / n as f64,
            100.0 * m.rail_clips as f64 / m.host_samples as f64,
            100.0 * m.current_limits as f64 / m.host_samples as f64,
            100.0 * steps as f64 / (2 * 2 * n) as f64,
            takeovers
        );
    }
    // As the plugin runs with its editor closed.
    let mut e = Engine::new(fs, 2, 1, &heaviest());
    chosen_isa(&mut e);
    e.set_metering(false);
    let (best, _) = best_of_three(&mut e, &l, &r, |_| {});
    println!(
        "{:<16} {:>7.1} ns/frame with the meters off (the editor closed)",
        "two rates",
        best * 1e9 / n as f64
    );
}

/// The engine's builds for AVX2 and for AVX-512 (each with its coarse network's kernel) on the
/// same audio, taking turns in one process so that a noisy machine's drifts hit both alike:
/// `rounds` runs each over the whole file, the least and the median ns per frame of each.
#[cfg(target_arch = "x86_64")]
pub fn music_ab(path: &str, rounds: usize) {
    use outpath::dsp::isa::Isa;
    let (fs, l, r) = read_stereo(path);
    let n = l.len();
    let isas = [Isa::Avx2Fma, Isa::Avx512];
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // A B, then B A: neither goes first every time.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let isa = isas[k];
            if !isa.available() {
                continue;
            }
            let mut e = Engine::new(fs, 2, 1, &heaviest());
            e.set_isa(isa);
            e.set_metering(metering());
            times[k].push(run_blocks(&mut e, &l, &r) * 1e9 / n as f64);
        }
    }
    for (k, isa) in isas.iter().enumerate() {
        let t = &mut times[k];
        if t.is_empty() {
            continue;
        }
        t.sort_by(f64::total_cmp);
        println!(
            "{:<10} least {:>6.1}  median {:>6.1} ns/frame over {} runs",
            format!("{isa:?}"),
            t[0],
            t[t.len() / 2],
            t.len()
        );
    }
}

/// Whether the meters run: on (an editor open) unless the arguments say `no-meters` (the
/// plugin with its editor closed, as in the side-by-side run).
fn metering() -> bool {
    !std::env::args().any(|a| a == "no-meters")
}

/// The instruction set named by `OUTPATH_ISA` (`baseline`, `avx2`, `avx512`), for comparing
/// the engine's builds on one processor; otherwise the best it has.
fn chosen_isa(e: &mut Engine) {
    use outpath::dsp::isa::Isa;
    match std::env::var("OUTPATH_ISA").as_deref() {
        Ok("baseline") => e.set_isa(Isa::Baseline),
        #[cfg(target_arch = "x86_64")]
        Ok("avx2") => e.set_isa(Isa::Avx2Fma),
        #[cfg(target_arch = "x86_64")]
        Ok("avx512") => e.set_isa(Isa::Avx512),
        Ok(other) => panic!("OUTPATH_ISA: baseline, avx2 or avx512, not {other:?}"),
        Err(_) => {}
    }
}

/// A stereo WAV file: its rate, left and right.
fn read_stereo(path: &str) -> (f64, Vec<f32>, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).expect("a readable WAV file");
    let spec = reader.spec();
    assert_eq!(spec.channels, 2, "music: a stereo file");
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let l: Vec<f32> = samples.iter().step_by(2).copied().collect();
    let r: Vec<f32> = samples.iter().skip(1).step_by(2).copied().collect();
    (spec.sample_rate as f64, l, r)
}

/// The side-by-side audio through the heaviest scenario, both paths, untimed, `times` times
/// over: for callgrind (`-- music FILE once`) and for a sampling profiler, which needs longer
/// (`-- music FILE times 20`).
pub fn music_once(path: &str, times: usize) {
    let (fs, l, r) = read_stereo(path);
    let mut e = Engine::new(fs, 2, 1, &heaviest());
    chosen_isa(&mut e);
    e.set_metering(metering());
    for _ in 0..times {
        run_blocks(&mut e, &l, &r);
    }
    println!("takeovers {}", e.full_path_use().0);
}

/// Cost of the parts alone, per stereo frame at 48 kHz (×8 oversampling).
#[allow(dead_code)]
pub fn parts() {
    use outpath::dsp::network::{NetworkCoeffs, NetworkState};
    use outpath::dsp::oversampling::{Oversampler, MAX_INTERNAL_BLOCK};
    let n = 480_000;
    let x = noise(n, 3);
    let mut up = Oversampler::new(8);
    let mut down = Oversampler::new(8);
    let mut buf = [0.0f32; MAX_INTERNAL_BLOCK];
    let t = Instant::now();
    let mut acc = 0.0;
    for block in x.chunks(16) {
        let mut y = [0.0f32; 16];
        for ch in 0..2 {
            up.upsample::<false>(ch, block, &mut buf[..block.len() * 8]);
            down.downsample::<false>(ch, &mut buf[..block.len() * 8], &mut y[..block.len()]);
            acc += y[0] as f64;
        }
    }
    println!(
        "oversampler round trip ×8, 2 ch (baseline build): {:.1} ns/frame ({acc:.1})",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );
    let s = heaviest();
    let net = outpath::model::network::Network::from_settings(&s);
    let k = NetworkCoeffs::new(&net, 1.5, 384_000.0);
    let mut st = [NetworkState::default(); 2];
    let t = Instant::now();
    for &v in &x {
        for c in &mut st {
            for j in 0..8 {
                acc += c.step(&k, v as f64 * (j as f64 + 1.0)).v_load;
            }
        }
    }
    println!(
        "network ×8 step by step, 2 ch: {:.1} ns/frame ({acc:.1})",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );

    // The same network eight steps at a time as one linear map (what the engine runs while the
    // limit stays out), and four steps at a time fed at twice the host rate (the coarse map).
    use outpath::dsp::coarse_network::CoarseNetwork;
    use outpath::dsp::fractional_delay::TAPS;
    use outpath::dsp::network_block::{BlockOutputs, BlockSlices, NetworkBlock};
    let k = NetworkCoeffs::new(&net, 1e3, 384_000.0);
    let block = NetworkBlock::new(&k, 8);
    let mut st = [NetworkState::default(); 2];
    let mut out = BlockOutputs::default();
    let t = Instant::now();
    for &v in &x {
        let u = [v as f64 * 0.1; 8];
        for c in &mut st {
            let slices = BlockSlices {
                v_load: &mut out.v_load,
                i_out: &mut out.i_out,
                i_load: &mut out.i_load,
            };
            block.run::<false>(c, &u, slices);
            acc += out.v_load[7];
        }
    }
    println!(
        "network ×8 as a block map per host sample, 2 ch: {:.1} ns/frame ({acc:.1})",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );
    let coarse = CoarseNetwork::new(&k, 4, std::f64::consts::TAU * 20_000.0 / 96_000.0);
    let mut st = [NetworkState::default(); 2];
    let mut window = [[0.0f64; TAPS]; 2];
    let t = Instant::now();
    for &v in &x {
        for _ in 0..2 {
            for (c, w) in st.iter_mut().zip(&mut window) {
                w.copy_within(0..TAPS - 1, 1);
                w[0] = v as f64 * 0.1;
                acc += coarse.step(c, w).v_load;
            }
        }
    }
    println!(
        "network at ×2 through the coarse map, 2 ch: {:.1} ns/frame ({acc:.1})",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );
    use outpath::dsp::coarse_network::{CoarsePair, PAIR_INPUTS};
    let pair = CoarsePair::new(&coarse);
    let mut st = [NetworkState::default(); 2];
    let mut window = [[0.0f32; PAIR_INPUTS]; 2];
    let t = Instant::now();
    for &v in &x {
        for (c, w) in st.iter_mut().zip(&mut window) {
            // Oldest first, as the engine reads them.
            w.copy_within(2..PAIR_INPUTS, 0);
            w[PAIR_INPUTS - 2] = v * 0.1;
            w[PAIR_INPUTS - 1] = v * 0.05;
            acc += pair.run_with::<false>(c, w).v_load[1];
        }
    }
    println!(
        "network at ×2, two periods per host sample as one map, 2 ch: {:.1} ns/frame ({acc:.1})",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );
}
