//! Helpers shared by the engine tests: rendering, spectra, and the circuit worked out
//! independently of the engine from DESIGN §2.
#![allow(dead_code)]

use num_complex::Complex64;
use outpath::dsp::Engine;
use outpath::model::{LoadKind, Settings};
use rustfft::FftPlanner;
use std::f64::consts::TAU;

/// Settings for a connection with nothing in the way: 1 mΩ source into a 100 kΩ input, no
/// cable, no limits, no colour, no noise, no hum.
pub fn ideal() -> Settings {
    let mut s = Settings::default();
    s.load = LoadKind::LineInput;
    s.z_load = 100_000.0;
    s.z_out = 0.001;
    s.c_out = 0.0;
    s.cable_len = 0.0;
    s.v_clip = 200.0;
    s.i_max = 100_000.0;
    s.color = 0.0;
    s.noise = -140.0;
    s.hum = -140.0;
    s.in_max = 30.0;
    s.ceiling = 0.0;
    s
}

/// Renders mono `x` through a fresh engine at `fs`.
pub fn render(s: &Settings, fs: f64, x: &[f32]) -> (Vec<f32>, Engine) {
    let mut e = Engine::new(fs, 1, 1, s);
    let mut y = x.to_vec();
    for chunk in y.chunks_mut(4096) {
        e.process(&mut [chunk]);
    }
    (y, e)
}

/// Complex spectrum of `x` (no window), length `x.len()`.
pub fn spectrum(x: &[f64]) -> Vec<Complex64> {
    let mut buf: Vec<Complex64> = x.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    FftPlanner::new()
        .plan_fft_forward(buf.len())
        .process(&mut buf);
    buf
}

/// Magnitude spectrum of `x` with a 4-term Blackman–Harris window (side lobes −92 dB),
/// normalised so that a sine of amplitude A reads A at its bin.
pub fn windowed_magnitudes(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let w = |i: usize| {
        let t = TAU * i as f64 / n as f64;
        0.35875 - 0.48829 * t.cos() + 0.14128 * (2.0 * t).cos() - 0.01168 * (3.0 * t).cos()
    };
    let xs: Vec<f64> = x.iter().enumerate().map(|(i, v)| v * w(i)).collect();
    let gain = 0.35875 * n as f64 / 2.0;
    spectrum(&xs)
        .iter()
        .take(n / 2)
        .map(|c| c.norm() / gain)
        .collect()
}

/// A sine of amplitude `a` at `f` Hz.
pub fn sine(a: f64, f: f64, fs: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (a * (TAU * f * i as f64 / fs).sin()) as f32)
        .collect()
}

/// RMS of `x` in the band `lo`…`hi` Hz, by summing the power of the FFT bins.
pub fn band_rms(x: &[f64], fs: f64, lo: f64, hi: f64) -> f64 {
    let n = x.len();
    let spec = spectrum(x);
    let df = fs / n as f64;
    let mut p = 0.0;
    for (k, c) in spec.iter().enumerate().take(n / 2).skip(1) {
        let f = k as f64 * df;
        if f >= lo && f <= hi {
            p += 2.0 * c.norm_sqr();
        }
    }
    (p / (n as f64 * n as f64)).sqrt()
}

/// The circuit of DESIGN §2 worked out directly: the load Z_L, the cable's C across it, and the
/// divider with R_out + 1/(jωC_out) + R_cable. Written here from the design, apart from the
/// engine's own model code, so that the tests check one against the other.
pub fn circuit_response(s: &Settings, f: f64) -> Complex64 {
    let j = Complex64::new(0.0, 1.0);
    let w = TAU * f;
    let zl = if s.load == LoadKind::LineInput || s.load == LoadKind::ActiveSpeaker {
        1.0 / (1.0 / s.z_load + j * w * 100e-12)
    } else {
        let mut z = s.z_load + j * w * s.l_coil * 1e-3;
        let r = s.z_peak - s.z_load;
        if r > 0.0 {
            let l = r / (TAU * s.f_res * s.q_res);
            let c = s.q_res / (TAU * s.f_res * r);
            z += 1.0 / (1.0 / r + 1.0 / (j * w * l) + j * w * c);
        }
        z
    };
    let c_cable = s.cable_len * s.cable_c * 1e-12;
    let zt = 1.0 / (1.0 / zl + j * w * c_cable);
    let mut zs = Complex64::new(s.z_out + 2.0 * s.cable_len * s.cable_r, 0.0);
    if s.c_out > 0.0 {
        zs += 1.0 / (j * w * s.c_out * 1e-6);
    }
    zt / (zs + zt)
}

/// The output's DC blocker as the analogue high-pass it stands for: jf / (jf + 0.5 Hz).
pub fn dc_blocker(f: f64) -> f64 {
    f / (f * f + 0.25).sqrt()
}

/// `n` log-spaced frequencies from `lo` to `hi`.
pub fn log_freqs(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| lo * (hi / lo).powf(k as f64 / (n - 1) as f64))
        .collect()
}

/// Total harmonic distortion of `x` for a sine at bin `k0` (windowed; harmonics up to fs/2).
pub fn thd(x: &[f64], k0: usize) -> f64 {
    let m = windowed_magnitudes(x);
    let fund = (k0 - 3..=k0 + 3).map(|k| m[k]).fold(0.0, f64::max);
    let mut h2 = 0.0;
    let mut h = 2;
    while h * k0 + 3 < m.len() {
        let a = (h * k0 - 3..=h * k0 + 3).map(|k| m[k]).fold(0.0, f64::max);
        h2 += a * a;
        h += 1;
    }
    h2.sqrt() / fund
}
