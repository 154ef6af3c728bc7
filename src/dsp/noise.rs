//! Seeded noise and mains hum.

use std::f64::consts::TAU;

/// Gaussian-like white noise of unit variance from a xorshift generator: the sum of four
/// uniforms (Irwin–Hall) scaled to unit variance. Deterministic for a seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseSource {
    state: u64,
}

impl NoiseSource {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        NoiseSource {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// One sample of zero mean and unit variance: four 16-bit uniforms summed, variance 4/12.
    #[inline(always)]
    pub fn next(&mut self) -> f64 {
        let r = self.next_u64();
        let sum = (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
        const SCALE: f64 = 1.732_050_807_568_877_2 / 65_536.0; // √3 / 2^16
        (sum as f64 - 2.0 * 65_535.0) * SCALE
    }
}

/// Relative amplitudes of the hum's fundamental, second and third harmonic: rectifier buzz
/// and transformer field both put energy at 2× and 3× mains.
pub const HUM_HARMONICS: [f64; 3] = [1.0, 0.5, 0.3];

/// Peak amplitude of the fundamental for a hum of `v_rms` in total:
/// v_rms² = a²·Σ h_k² / 2.
pub fn hum_fundamental_peak(v_rms: f64) -> f64 {
    let sum: f64 = HUM_HARMONICS.iter().map(|h| h * h).sum();
    v_rms * (2.0 / sum).sqrt()
}

/// A mains-locked oscillator: the fundamental by rotating a phasor, the harmonics from it
/// by the multiple-angle formulas sin 2θ = 2 sin θ cos θ, sin 3θ = 3 sin θ − 4 sin³ θ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HumOscillator {
    c: f64,
    s: f64,
    rot_c: f64,
    rot_s: f64,
}

impl HumOscillator {
    pub fn new(freq: f64, sample_rate: f64) -> Self {
        let w = TAU * freq / sample_rate;
        HumOscillator {
            c: 1.0,
            s: 0.0,
            rot_c: w.cos(),
            rot_s: w.sin(),
        }
    }

    /// Changes the frequency, keeping the phase.
    pub fn retune(&mut self, freq: f64, sample_rate: f64) {
        let w = TAU * freq / sample_rate;
        self.rot_c = w.cos();
        self.rot_s = w.sin();
    }

    /// Pulls the phasor back to unit length (rounding drifts it slowly).
    pub fn renormalise(&mut self) {
        let m = (self.c * self.c + self.s * self.s).sqrt();
        if m.is_finite() && m > 0.5 {
            self.c /= m;
            self.s /= m;
        } else {
            self.c = 1.0;
            self.s = 0.0;
        }
    }

    /// The next sample of Σ h_k sin(kθ) for the fundamental amplitude 1.
    #[inline(always)]
    pub fn next(&mut self) -> f64 {
        let (s, c) = (self.s, self.c);
        let y = HUM_HARMONICS[0] * s
            + HUM_HARMONICS[1] * 2.0 * s * c
            + HUM_HARMONICS[2] * (3.0 * s - 4.0 * s * s * s);
        self.c = c * self.rot_c - s * self.rot_s;
        self.s = s * self.rot_c + c * self.rot_s;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_has_unit_variance_and_zero_mean() {
        let mut n = NoiseSource::new(7);
        let x: Vec<f64> = (0..400_000).map(|_| n.next()).collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
    }

    #[test]
    fn hum_has_its_rms() {
        let mut h = HumOscillator::new(50.0, 48_000.0);
        let a = hum_fundamental_peak(1.0);
        let n = 48_000; // 50 whole periods
        let ms = (0..n).map(|_| (a * h.next()).powi(2)).sum::<f64>() / n as f64;
        assert!((ms.sqrt() - 1.0).abs() < 1e-6);
    }
}
