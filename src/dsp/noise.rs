//! Seeded noise and mains hum.

use std::f64::consts::TAU;

/// Gaussian-like white noise of unit variance, deterministic for a seed: the sum of four
/// uniforms (Irwin–Hall) scaled to unit variance.
///
/// Each sample is a hash of its own index (a counter) under the seed's key, rather than the
/// next state of a recursive generator: no sample waits for the one before, so a block of
/// noise is computed in vector registers. One 32-bit hash per sample gives the four uniforms,
/// a byte each (1,021 levels in all, one standard deviation √21 845 ≈ 148 of them, so a step
/// lies 43 dB below the noise's RMS; the noise is at least 60 dB below the signal it rides on,
/// so its steps lie 100 dB or more below that). The hash is a bijection of the 32-bit counter:
/// the stream repeats after 2³² samples (3.1 hours at 384 kHz).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseSource {
    key: u32,
    /// Index of the next sample.
    counter: u32,
}

/// Four uniforms of 0 … 255 have variance 4·(256² − 1)/12: the scale to unit variance.
const IRWIN_HALL_SCALE: f32 = 0.006_765_875; // √(3/65 535)

/// Scrambles a 32-bit word: odd multipliers carry low bits up, shifts fold high bits down.
/// Every input bit changes about half the output bits after these three rounds.
#[inline(always)]
fn scramble(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x9E37_79B1);
    x ^= x >> 15;
    x = x.wrapping_mul(0xC2B2_AE35);
    x ^= x >> 13;
    x = x.wrapping_mul(0x2C1B_3C6D);
    x ^ (x >> 16)
}

impl NoiseSource {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        NoiseSource {
            key: (z ^ (z >> 31)) as u32,
            counter: 0,
        }
    }

    /// Sample number `index` of this stream.
    #[inline(always)]
    fn sample(key: u32, index: u32) -> f32 {
        let a = scramble(index ^ key);
        // The four bytes' sum in two steps: the bytes in pairs (two sums of at most 510, in
        // the halves), then the halves.
        let pairs = (a & 0x00FF_00FF) + ((a >> 8) & 0x00FF_00FF);
        let sum = (pairs & 0xFFFF) + (pairs >> 16);
        (sum as f32 - 2.0 * 255.0) * IRWIN_HALL_SCALE
    }

    /// One sample of zero mean and unit variance.
    pub fn next(&mut self) -> f64 {
        let v = Self::sample(self.key, self.counter);
        self.counter = self.counter.wrapping_add(1);
        v as f64
    }

    /// Adds `offset + scale·z` to each value of `out`, z the samples `start ..` of the
    /// stream, leaving the counter alone: for a stream read by sample index (the fast path's
    /// noise, which may be read twice), added where it is used.
    #[inline(always)]
    pub fn add_at(&self, start: u32, scale: f32, offset: f32, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o += offset + scale * Self::sample(self.key, start.wrapping_add(i as u32));
        }
    }

    /// The next `out.len()` samples.
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [f32]) {
        let (key, start) = (self.key, self.counter);
        for (i, o) in out.iter_mut().enumerate() {
            *o = Self::sample(key, start.wrapping_add(i as u32));
        }
        self.counter = start.wrapping_add(out.len() as u32);
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

/// Most samples [`HumOscillator::fill`] computes from one phasor.
pub const HUM_STRIDE: usize = 16;

/// A mains-locked oscillator: the fundamental by rotating a phasor, the harmonics from it
/// by the multiple-angle formulas sin 2θ = 2 sin θ cos θ, sin 3θ = 3 sin θ − 4 sin³ θ.
///
/// Blocks are computed [`HUM_STRIDE`] samples at a time from one phasor turned by a table of
/// rotations, so that the samples of a stride do not wait for each other; the phasor then
/// turns by a whole stride.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HumOscillator {
    c: f64,
    s: f64,
    /// cos and sin of m·ω for m = 0 … HUM_STRIDE − 1, and of HUM_STRIDE·ω.
    rot_c: [f64; HUM_STRIDE],
    rot_s: [f64; HUM_STRIDE],
    stride_c: f64,
    stride_s: f64,
    /// Where the next sample falls in the current stride.
    pos: usize,
    freq: f64,
    sample_rate: f64,
}

impl HumOscillator {
    pub fn new(freq: f64, sample_rate: f64) -> Self {
        let mut h = HumOscillator {
            c: 1.0,
            s: 0.0,
            rot_c: [1.0; HUM_STRIDE],
            rot_s: [0.0; HUM_STRIDE],
            stride_c: 1.0,
            stride_s: 0.0,
            pos: 0,
            freq: f64::NAN,
            sample_rate,
        };
        h.retune(freq, sample_rate);
        h
    }

    /// Changes the frequency, keeping the phase.
    pub fn retune(&mut self, freq: f64, sample_rate: f64) {
        if freq == self.freq && sample_rate == self.sample_rate {
            return;
        }
        // Start the new rotation from where the old one has got to.
        let (c, s) = self.phasor_at(self.pos);
        (self.c, self.s, self.pos) = (c, s, 0);
        self.freq = freq;
        self.sample_rate = sample_rate;
        let w = TAU * freq / sample_rate;
        for m in 0..HUM_STRIDE {
            self.rot_c[m] = (m as f64 * w).cos();
            self.rot_s[m] = (m as f64 * w).sin();
        }
        self.stride_c = (HUM_STRIDE as f64 * w).cos();
        self.stride_s = (HUM_STRIDE as f64 * w).sin();
    }

    fn phasor_at(&self, m: usize) -> (f64, f64) {
        (
            self.c * self.rot_c[m] - self.s * self.rot_s[m],
            self.s * self.rot_c[m] + self.c * self.rot_s[m],
        )
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

    /// Σ h_k sin(kθ) for the fundamental amplitude 1 at phase sin θ = s, cos θ = c.
    #[inline(always)]
    fn wave(s: f64, c: f64) -> f64 {
        HUM_HARMONICS[0] * s
            + HUM_HARMONICS[1] * 2.0 * s * c
            + HUM_HARMONICS[2] * (3.0 * s - 4.0 * s * s * s)
    }

    /// The next sample.
    pub fn next(&mut self) -> f64 {
        let mut y = [0.0];
        self.fill(&mut y);
        y[0]
    }

    /// The next `out.len()` samples.
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [f64]) {
        let mut done = 0;
        while done < out.len() {
            let n = (HUM_STRIDE - self.pos).min(out.len() - done);
            let (c0, s0) = (self.c, self.s);
            let (rc, rs) = (
                &self.rot_c[self.pos..self.pos + n],
                &self.rot_s[self.pos..self.pos + n],
            );
            for ((o, &rc), &rs) in out[done..done + n].iter_mut().zip(rc).zip(rs) {
                let s = s0 * rc + c0 * rs;
                let c = c0 * rc - s0 * rs;
                *o = Self::wave(s, c);
            }
            self.pos += n;
            done += n;
            if self.pos == HUM_STRIDE {
                self.c = c0 * self.stride_c - s0 * self.stride_s;
                self.s = s0 * self.stride_c + c0 * self.stride_s;
                self.pos = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each sample is the sum of its hash's four bytes, scaled: summed here byte by byte.
    #[test]
    fn each_sample_is_its_hashs_byte_sum() {
        let n = NoiseSource::new(11);
        let mut block = vec![0.0f32; 70_000];
        n.add_at(123, 1.0, 0.0, &mut block);
        for (i, &got) in block.iter().enumerate() {
            let a = scramble((123 + i as u32) ^ n.key);
            let sum: u32 = a.to_le_bytes().iter().map(|&b| u32::from(b)).sum();
            let want = (sum as f32 - 510.0) * IRWIN_HALL_SCALE;
            assert_eq!(got, want, "sample {i}");
        }
    }

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

    /// White: neighbouring samples are uncorrelated, and a block equals the same samples one
    /// by one.
    #[test]
    fn noise_is_white_and_blocks_match_samples() {
        let mut n = NoiseSource::new(3);
        let x: Vec<f64> = (0..400_000).map(|_| n.next()).collect();
        let m = x.len() as f64;
        for lag in 1..=8 {
            let r = x.iter().zip(&x[lag..]).map(|(a, b)| a * b).sum::<f64>() / m;
            assert!(r.abs() < 0.006, "lag {lag}: {r}");
        }
        let mut a = NoiseSource::new(9);
        let mut b = NoiseSource::new(9);
        let mut block = [0.0f32; 37];
        for _ in 0..10 {
            a.fill(&mut block);
            for v in block {
                assert_eq!(v as f64, b.next());
            }
        }
        assert_ne!(NoiseSource::new(1).next(), NoiseSource::new(2).next());
    }

    #[test]
    fn hum_has_its_rms() {
        let mut h = HumOscillator::new(50.0, 48_000.0);
        let a = hum_fundamental_peak(1.0);
        let n = 48_000; // 50 whole periods
        let ms = (0..n).map(|_| (a * h.next()).powi(2)).sum::<f64>() / n as f64;
        assert!((ms.sqrt() - 1.0).abs() < 1e-6);
        // Blocks of any length give the same wave as samples one by one, and the wave is
        // the sum of its harmonics at the right phase.
        let mut b = HumOscillator::new(50.0, 48_000.0);
        let mut y = Vec::new();
        for len in (1..40).cycle().take(200) {
            let mut block = vec![0.0; len];
            b.fill(&mut block);
            y.extend(block);
        }
        for (i, v) in y.iter().enumerate() {
            let th = TAU * 50.0 * i as f64 / 48_000.0;
            let want: f64 = (1..=3)
                .map(|k| HUM_HARMONICS[k - 1] * (k as f64 * th).sin())
                .sum();
            assert!((v - want).abs() < 1e-9, "{i}: {v} vs {want}");
        }
    }
}
