//! The engine's small-signal response against circuit analysis (DESIGN §8: ±0.1 dB from 20 Hz
//! to 20 kHz at 48 and 96 kHz, to 18 kHz at 44.1 kHz), its latency, and the ideal connection.

mod common;
use common::*;
use outpath::model::{LoadKind, Settings};

/// Impulse amplitude: small enough that every stage stays linear.
const IMPULSE: f64 = 0.01;

fn impulse_response(s: &Settings, fs: f64, n: usize) -> (Vec<f64>, usize) {
    let mut x = vec![0.0f32; n];
    x[0] = IMPULSE as f32;
    let (y, e) = render(s, fs, &x);
    (
        y.iter().map(|&v| v as f64 / IMPULSE).collect(),
        e.latency_samples(),
    )
}

/// Worst |measured − predicted| in dB over 20 Hz … `f_hi`, with its frequency.
fn worst_error(s: &Settings, fs: f64, f_hi: f64) -> (f64, f64) {
    let n = 1 << 18;
    let (h, _) = impulse_response(s, fs, n);
    let spec = spectrum(&h);
    let mut worst = (0.0, 0.0);
    for f in log_freqs(20.0, f_hi, 120) {
        let k = (f * n as f64 / fs).round() as usize;
        let fk = k as f64 * fs / n as f64;
        let measured = 20.0 * spec[k].norm().log10();
        let predicted = 20.0 * (circuit_response(s, fk).norm() * dc_blocker(fk)).log10();
        let err = measured - predicted;
        if err.abs() > worst.0 {
            worst = (err.abs(), fk);
        }
    }
    worst
}

/// Connections covering every load type, output impedances from 0.01 to 600 Ω, coupling
/// capacitors and long cables.
fn grid() -> Vec<(&'static str, Settings)> {
    let mut v = Vec::new();
    let base = ideal();

    let mut s = base;
    s.z_load = 10_000.0;
    s.z_out = 100.0;
    s.cable_len = 10.0;
    v.push(("line out 100 Ω → 10 kΩ, 10 m", s));

    let mut s = base;
    s.z_load = 47_000.0;
    s.z_out = 600.0;
    s.cable_len = 100.0;
    s.cable_c = 500.0;
    v.push(("600 Ω → 47 kΩ through 100 m of 500 pF/m", s));

    let mut s = base;
    s.load = LoadKind::ActiveSpeaker;
    s.z_load = 10_000.0;
    s.z_out = 600.0;
    s.c_out = 10.0;
    v.push(("RCA 600 Ω, 10 µF → active speaker", s));

    let mut s = base;
    s.load = LoadKind::Headphones;
    s.z_load = 32.0;
    s.z_peak = 60.0;
    s.f_res = 80.0;
    s.q_res = 3.0;
    s.l_coil = 0.05;
    s.z_out = 0.01;
    v.push(("0.01 Ω amp → 32 Ω headphone", s));

    let mut s = base;
    s.load = LoadKind::Headphones;
    s.z_load = 300.0;
    s.z_peak = 500.0;
    s.f_res = 100.0;
    s.q_res = 2.0;
    s.l_coil = 0.1;
    s.z_out = 120.0;
    s.c_out = 220.0;
    s.cable_len = 3.0;
    v.push(("120 Ω IEC out, 220 µF → 300 Ω headphone", s));

    let mut s = base;
    s.load = LoadKind::Headphones;
    s.z_load = 32.0;
    s.z_peak = 40.0;
    s.f_res = 60.0;
    s.q_res = 1.5;
    s.l_coil = 0.02;
    s.z_out = 600.0;
    s.c_out = 10.0;
    v.push(("line out 600 Ω, 10 µF → 32 Ω headphone", s));

    let mut s = base;
    s.load = LoadKind::Headphones;
    s.z_load = 8.0;
    s.z_peak = 30.0;
    s.f_res = 2_000.0;
    s.q_res = 1.5;
    s.l_coil = 0.01;
    s.z_out = 10.0;
    v.push(("10 Ω phone out → multi-driver IEM", s));

    let mut s = base;
    s.load = LoadKind::PassiveSpeaker;
    s.z_load = 6.0;
    s.z_peak = 6.0 * (1.0 + 3.0 / 0.4);
    s.f_res = 40.0;
    s.q_res = 3.0;
    s.l_coil = 0.5;
    s.z_out = 0.05;
    s.cable_len = 5.0;
    s.cable_r = 0.01;
    v.push(("0.05 Ω power amp → 6 Ω woofer, 5 m", s));

    let mut s = base;
    s.load = LoadKind::PassiveSpeaker;
    s.z_load = 16.0;
    s.z_peak = 60.0;
    s.f_res = 100.0;
    s.q_res = 4.0;
    s.l_coil = 1.0;
    s.z_out = 3.0;
    s.cable_len = 3.0;
    v.push(("3 Ω tube amp → 16 Ω guitar cab", s));
    v
}

#[test]
fn measured_response_matches_the_circuit() {
    let mut report = Vec::new();
    let mut worst_all: (f64, f64, &str, f64) = (0.0, 0.0, "", 0.0);
    for (fs, f_hi) in [
        (48_000.0, 20_000.0),
        (96_000.0, 20_000.0),
        (44_100.0, 18_000.0),
    ] {
        for (name, s) in grid() {
            let (err, f) = worst_error(&s, fs, f_hi);
            report.push(format!("{fs} Hz  {name}: worst {err:.4} dB at {f:.0} Hz"));
            if err > worst_all.0 {
                worst_all = (err, f, name, fs);
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    eprintln!(
        "worst: {:.4} dB at {:.0} Hz, {} @ {} Hz",
        worst_all.0, worst_all.1, worst_all.2, worst_all.3
    );
    assert!(worst_all.0 < 0.1, "{}", report.join("\n"));
}

#[test]
fn ideal_connection_returns_the_input_delayed_by_the_latency() {
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        let n = 1 << 17;
        let (h, latency) = impulse_response(&ideal(), fs, n);
        let peak =
            h.iter().enumerate().fold(
                (0, 0.0f64),
                |a, (i, v)| if v.abs() > a.1 { (i, v.abs()) } else { a },
            );
        assert_eq!(
            peak.0, latency,
            "{fs} Hz: impulse peaks at {} but latency is {latency}",
            peak.0
        );
        let spec = spectrum(&h);
        let f_hi = if fs < 48_000.0 { 18_000.0 } else { 20_000.0 };
        for f in log_freqs(20.0, f_hi, 200) {
            let k = (f * n as f64 / fs).round() as usize;
            let db = 20.0 * spec[k].norm().log10();
            assert!(db.abs() < 0.01, "{fs} Hz: {db} dB at {f} Hz");
        }
    }
}

#[test]
fn latency_is_reported_for_every_rate() {
    for fs in [
        8_000.0, 22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0, 384_000.0, 768_000.0,
    ] {
        let n = 8192;
        let (h, latency) = impulse_response(&ideal(), fs, n);
        let peak =
            h.iter().enumerate().fold(
                (0, 0.0f64),
                |a, (i, v)| if v.abs() > a.1 { (i, v.abs()) } else { a },
            );
        assert_eq!(peak.0, latency, "{fs} Hz");
    }
}
