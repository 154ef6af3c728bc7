//! Every factory device renders 1 s of noise with every device of the other side: no NaN, no
//! subnormal, output inside the safety ceiling (issue 4).

use outpath::devices::{DeviceSide, Library};
use outpath::dsp::Engine;
use outpath::model::Settings;

#[test]
fn every_source_with_every_load() {
    let lib = Library::factory();
    let sources: Vec<_> = lib
        .devices
        .iter()
        .filter(|d| d.side() == DeviceSide::Output)
        .collect();
    let loads: Vec<_> = lib
        .devices
        .iter()
        .filter(|d| d.side() == DeviceSide::Load)
        .collect();
    assert!(sources.len() >= 12 && loads.len() >= 20);
    let fs = 48_000.0;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<f32> = (0..48_000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Loud noise (−3 dBFS peak) so that every limit in the chain gets exercised.
            ((rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.4
        })
        .collect();
    for src in &sources {
        for load in &loads {
            let mut s = Settings::default();
            src.apply(&mut s);
            load.apply(&mut s);
            let mut e = Engine::new(fs, 2, 7, &s);
            let (mut l, mut r) = (
                noise.clone(),
                noise.iter().rev().copied().collect::<Vec<f32>>(),
            );
            for (a, b) in l.chunks_mut(1024).zip(r.chunks_mut(1024)) {
                e.process(&mut [a, b]);
            }
            let ceiling = 10f32.powf(s.ceiling as f32 / 20.0);
            for v in l.iter().chain(&r) {
                assert!(
                    v.is_finite() && (*v == 0.0 || v.is_normal()),
                    "{} → {}: {v}",
                    src.id,
                    load.id
                );
                assert!(
                    v.abs() <= ceiling,
                    "{} → {}: {v} above the ceiling",
                    src.id,
                    load.id
                );
            }
            assert!(
                l.iter().any(|v| v.abs() > 1e-6),
                "{} → {}: silent",
                src.id,
                load.id
            );
        }
    }
}
