//! Small linear filters of the output: the DC blocker.

use std::f64::consts::TAU;

/// Corner of the DC blocker on the plugin's output, Hz: far enough below 20 Hz that the
/// passband stays within 0.003 dB there (|H(20 Hz)| = 1/√(1 + (0.5/20)²)).
pub const DC_BLOCK_HZ: f64 = 0.5;

/// First-order high-pass y[n] = a·(y[n−1] + x[n] − x[n−1]) with a = e^{−2π·fc/fs}: the
/// impulse-invariant image of s/(s + ωc), blocking DC completely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DcBlocker {
    a: f64,
    x1: f64,
    y1: f64,
}

impl DcBlocker {
    pub fn new(corner_hz: f64, sample_rate: f64) -> Self {
        DcBlocker {
            a: (-TAU * corner_hz / sample_rate).exp(),
            x1: 0.0,
            y1: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.x1 = 0.0;
        self.y1 = 0.0;
    }

    /// One sample, as y[n] = a·y[n−1] + a·(x[n] − x[n−1]): only the multiply-add on y waits
    /// for the sample before (fused when `FMA`, for code compiled with the FMA instructions).
    /// It does not flush small states: [`process_block`](Self::process_block) does, once per
    /// block.
    #[inline(always)]
    pub fn process<const FMA: bool>(&mut self, x: f64) -> f64 {
        let d = self.a * (x - self.x1);
        let y = if FMA {
            self.a.mul_add(self.y1, d)
        } else {
            self.a * self.y1 + d
        };
        self.x1 = x;
        self.y1 = y;
        y
    }

    /// [`process`](Self::process) over a block, on a copy whose state stays in registers. A
    /// state below 1e-30 is set to zero after the block, so that long silences never reach
    /// subnormals: from 1e-30 the decay would take about 10⁷ samples to get there, and the
    /// engine's blocks are at most 64.
    #[inline(always)]
    pub fn process_block<const FMA: bool>(&mut self, x: &[f32], out: &mut [f64]) {
        let mut f = *self;
        for (o, &x) in out.iter_mut().zip(x) {
            *o = f.process::<FMA>(x as f64);
        }
        if f.y1.abs() < 1e-30 {
            f.y1 = 0.0;
        }
        *self = f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocker follows its transfer function a·(1 − z⁻¹)/(1 − a·z⁻¹): DC settles to zero,
    /// a sine at 1 kHz passes with |H| from the formula, and the step response decays as aⁿ.
    #[test]
    fn blocks_dc_and_passes_the_band() {
        let fs = 48_000.0;
        // (The fused form runs here without the FMA instructions too: slower, the same maths.)
        for fma in [false, true] {
            let run = |f: &mut DcBlocker, x: &[f32], out: &mut [f64]| {
                if fma {
                    f.process_block::<true>(x, out)
                } else {
                    f.process_block::<false>(x, out)
                }
            };
            let mut f = DcBlocker::new(DC_BLOCK_HZ, fs);
            let a = (-TAU * DC_BLOCK_HZ / fs).exp();
            // A unit step: y[n] = aⁿ⁺¹.
            let x = [1.0f32; 32];
            let mut y = [0.0; 32];
            run(&mut f, &x, &mut y);
            for (n, &v) in y.iter().enumerate() {
                assert!((v - a.powi(n as i32 + 1)).abs() < 1e-12, "{n}: {v}");
            }
            // A 1 Hz sine, twice the corner, after 20 s: the gain is
            // |a(1 − e^{−jω})/(1 − a·e^{−jω})| (0.894), measured over its last two periods.
            let mut f = DcBlocker::new(DC_BLOCK_HZ, fs);
            let w = TAU * 1.0 / fs;
            let (mut peak, mut out) = (0.0f64, [0.0; 32]);
            let blocks = (20.0 * fs) as usize / 32;
            for b in 0..blocks {
                let x: Vec<f32> = (0..32)
                    .map(|i| (0.5 + ((w * (b * 32 + i) as f64).sin())) as f32)
                    .collect();
                run(&mut f, &x, &mut out);
                if b + (2.0 * fs) as usize / 32 >= blocks {
                    peak = out.iter().fold(peak, |p, v| p.max(v.abs()));
                }
            }
            let (c, s) = (w.cos(), w.sin());
            let num = a * ((1.0 - c).powi(2) + s * s).sqrt();
            let den = ((1.0 - a * c).powi(2) + (a * s).powi(2)).sqrt();
            assert!(
                (num / den - 0.894).abs() < 1e-3,
                "the formula: {}",
                num / den
            );
            assert!((peak - num / den).abs() < 1e-4, "{peak} vs {}", num / den);
            // Silence after that: the state never falls below 1e-30 without being set to zero
            // (unflushed it would only decay, to about 1e-182 here), and ends at exact zero.
            for _ in 0..200_000 {
                run(&mut f, &[0.0; 32], &mut out);
                assert!(f.y1 == 0.0 || f.y1.abs() >= 1e-30, "{}", f.y1);
            }
            assert_eq!(out, [0.0; 32]);
        }
    }
}
