//! A built-in program-like test signal, so that `outpath render --demo` needs no files: kick,
//! bass line, a chord pad and hi-hats, stereo, peaking at −3 dBFS, the same on every run.

use std::f64::consts::TAU;

pub const DEMO_RATE: u32 = 48_000;
pub const DEMO_SECONDS: f64 = 8.0;
/// Peak of the demo, dBFS.
pub const DEMO_PEAK_DBFS: f64 = -3.0;

/// Two channels of the demo at [`DEMO_RATE`].
pub fn signal() -> [Vec<f32>; 2] {
    let fs = DEMO_RATE as f64;
    let n = (DEMO_SECONDS * fs) as usize;
    let mut l = vec![0.0f64; n];
    let mut r = vec![0.0f64; n];
    let bass_notes = [41.2, 41.2, 55.0, 49.0]; // E1, E1, A1, G1 — one per bar of 2 s
    let chords = [
        [164.8, 196.0, 246.9],
        [164.8, 207.7, 246.9],
        [220.0, 261.6, 329.6],
        [196.0, 246.9, 293.7],
    ];
    let mut rng = 0x1234_5678_9ABC_DEF0u64;
    let mut hat_hp = (0.0, 0.0);
    let (mut bass_phase, mut kick_phase) = (0.0f64, 0.0f64);
    for i in 0..n {
        let t = i as f64 / fs;
        let bar = ((t / 2.0) as usize) % 4;
        // Kick on every beat (120 BPM): a falling sine with a fast decay.
        let tb = t % 0.5;
        let kick_f = 45.0 + 75.0 * (-tb * 30.0).exp();
        kick_phase += TAU * kick_f / fs;
        let kick = 0.55 * (-tb * 9.0).exp() * kick_phase.sin();
        // Bass: a soft square-ish tone (fundamental and two odd harmonics) on the bar's note.
        bass_phase += TAU * bass_notes[bar] / fs;
        let env = 1.0 - (-(t % 0.25) * 40.0).exp();
        let bass = 0.18
            * env
            * (bass_phase.sin()
                + bass_phase.mul_add(3.0, 0.0).sin() / 3.0
                + (5.0 * bass_phase).sin() / 5.0);
        // Pad: the bar's chord with a slow swell, a little wider on the right.
        let swell = 0.5 - 0.5 * (TAU * t / 2.0).cos();
        let (mut pad_l, mut pad_r) = (0.0, 0.0);
        for (k, f) in chords[bar].iter().enumerate() {
            let x = (TAU * f * t).sin() + 0.3 * (TAU * 2.0 * f * t).sin();
            pad_l += x * [0.6, 0.4, 0.2][k];
            pad_r += x * [0.2, 0.4, 0.6][k];
        }
        // Hi-hat: high-passed noise bursts on the off-beats.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let noise = (rng >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        let hp = 0.7 * (hat_hp.1 + noise - hat_hp.0);
        hat_hp = (noise, hp);
        let th = (t + 0.25) % 0.5;
        let hat = 0.12 * (-th * 60.0).exp() * hp;
        l[i] = kick + bass + 0.05 * swell * pad_l + 0.7 * hat;
        r[i] = kick + bass + 0.05 * swell * pad_r + 1.0 * hat;
    }
    let peak = l.iter().chain(r.iter()).fold(0.0f64, |a, v| a.max(v.abs()));
    let g = 10f64.powf(DEMO_PEAK_DBFS / 20.0) / peak;
    [
        l.iter().map(|v| (v * g) as f32).collect(),
        r.iter().map(|v| (v * g) as f32).collect(),
    ]
}
