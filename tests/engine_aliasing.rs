//! Anti-aliasing (DESIGN §8): a 5 kHz sine driven 12 dB into the rails at 48 kHz leaves no
//! alias above −80 dB relative to the fundamental with the Soft and Tube shapes (−60 dB with
//! Hard); the same for the current limit driven 12 dB past its threshold.

mod common;
use common::*;
use outpath::model::units::full_scale_peak_volts;
use outpath::model::{ClipShape, LoadKind, Settings};

const FS: f64 = 48_000.0;
const F0: f64 = 5_000.0;
/// Input amplitude (full scale = 1); the stage sees 0.5 · V_FS.
const A: f64 = 0.5;

/// Largest component in 20 Hz … 20 kHz that is not a harmonic of 5 kHz, in dB relative to the
/// fundamental, with its frequency. 1 Hz bins over one second; harmonics ±8 bins excluded
/// (the window's main lobe is ±4).
fn worst_alias(s: &Settings) -> (f64, f64) {
    let n = 48_000;
    let (y, _) = render(s, FS, &sine(A, F0, FS, 2 * n));
    let seg: Vec<f64> = y[n..].iter().map(|&v| v as f64).collect();
    let m = windowed_magnitudes(&seg);
    let fund = m[5_000];
    let mut worst = (f64::NEG_INFINITY, 0.0);
    for k in 20..=20_000usize {
        let to_harmonic = (k % 5_000).min(5_000 - k % 5_000);
        if to_harmonic <= 8 {
            continue;
        }
        let db = 20.0 * (m[k] / fund).log10();
        if db > worst.0 {
            worst = (db, k as f64);
        }
    }
    worst
}

fn driven_12_db_into_the_rails(shape: ClipShape) -> Settings {
    let mut s = ideal();
    s.clip_shape = shape;
    // 12 dB over the rail: the sine's peak is 4 × v_clip.
    s.v_clip = A * full_scale_peak_volts(s.ref_level) / 4.0;
    s
}

#[test]
fn rails_do_not_alias() {
    for (shape, limit) in [
        (ClipShape::Soft, -80.0),
        (ClipShape::Tube, -80.0),
        (ClipShape::Hard, -60.0),
    ] {
        let (db, f) = worst_alias(&driven_12_db_into_the_rails(shape));
        eprintln!("rails {shape:?}: worst alias {db:.1} dB at {f} Hz");
        assert!(db < limit, "{shape:?}: alias at {db:.1} dB, {f} Hz");
    }
}

#[test]
fn current_limit_does_not_alias() {
    let mut s = ideal();
    s.load = LoadKind::PassiveSpeaker;
    s.z_load = 8.0;
    s.z_peak = 1.0;
    s.l_coil = 0.0;
    // The load would draw 0.5 · V_FS / 8 Ω; the limit is a quarter of that (12 dB).
    s.i_max = 1e3 * A * full_scale_peak_volts(s.ref_level) / 8.0 / 4.0;
    let (db, f) = worst_alias(&s);
    eprintln!("current limit: worst alias {db:.1} dB at {f} Hz");
    assert!(db < -80.0, "alias at {db:.1} dB, {f} Hz");
}
