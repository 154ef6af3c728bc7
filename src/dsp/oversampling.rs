//! Oversampling by powers of two with a cascade of linear-phase half-band FIR filters.
//!
//! The nonlinear stages (colour, rails, current limit, receiver) and the network run at the
//! internal rate. The factor is chosen so that the internal rate is at least 352.8 kHz: the
//! bilinear (trapezoidal) network then stays within a few hundredths of a dB of the analogue
//! circuit up to 20 kHz, and harmonics of the clippers fold back far above the audio band.
//!
//! Each half-band filter is a Kaiser-windowed sinc of length 4K − 1: every other tap is zero
//! and the centre tap is ½, so a stage costs K multiply-adds per input sample (symmetry).
//! Both channels run in lockstep as two lanes of one sample, `[f64; 2]`, which the compiler
//! turns into vector arithmetic.

use std::f64::consts::PI;

/// Lowest internal rate, Hz: keeps the bilinear warping at 20 kHz under 1 %.
pub const MIN_INTERNAL_RATE_HZ: f64 = 352_800.0;
/// Largest oversampling factor (for sample rates of 8 kHz and 11.025 kHz).
pub const MAX_FACTOR: usize = 16;
/// Half the count of non-zero side taps of each stage, first (steepest) stage first.
/// Stage 1 keeps 0–0.42·fs flat within 0.0001 dB and rejects 0.58·fs and above by > 95 dB;
/// later stages have wide transition bands and need few taps.
const STAGE_HALF_TAPS: [usize; 4] = [20, 7, 5, 4];
/// Kaiser β for about 95 dB of stop-band rejection: β = 0.1102·(A − 8.7).
const KAISER_BETA: f64 = 9.5;

/// The oversampling factor for a host sample rate: the smallest power of two that lifts it to
/// [`MIN_INTERNAL_RATE_HZ`], at most [`MAX_FACTOR`].
pub fn factor_for(sample_rate: f64) -> usize {
    let mut f = 1;
    while sample_rate * (f as f64) < MIN_INTERNAL_RATE_HZ - 1.0 && f < MAX_FACTOR {
        f *= 2;
    }
    f
}

/// Zeroth-order modified Bessel function of the first kind, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The non-zero side taps of a half-band filter with `k` of them on each side of the centre,
/// for odd offsets n = 1, 3, …, 2k−1: h[n] = sin(πn/2)/(πn) · w(n), with a Kaiser window w.
/// The centre tap is ½ and the even offsets are zero.
fn halfband_side_taps(k: usize) -> Vec<f64> {
    let half_len = (2 * k) as f64; // window reaches zero just past offset 2k−1
    let norm = bessel_i0(KAISER_BETA);
    let mut taps: Vec<f64> = (0..k)
        .map(|j| {
            let n = (2 * j + 1) as f64;
            let sinc = (PI * n / 2.0).sin() / (PI * n);
            let r = n / half_len;
            sinc * bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / norm
        })
        .collect();
    // The side taps of an exact half-band sum to ½ at DC; correct the window's small error.
    let sum: f64 = taps.iter().sum::<f64>() * 2.0;
    for t in &mut taps {
        *t *= 0.5 / sum;
    }
    taps
}

/// Two channels' samples side by side.
pub type Frame = [f64; 2];

#[inline(always)]
fn add(a: Frame, b: Frame) -> Frame {
    [a[0] + b[0], a[1] + b[1]]
}

/// One ×2 stage: half-band interpolator and decimator for both channels.
#[derive(Clone)]
struct HalfbandStage {
    /// Side taps h[1], h[3], … (mirrored on the other side).
    taps: Vec<f64>,
    /// History of the low-rate input for interpolation (2k samples, doubled for a flat window).
    up_hist: Vec<Frame>,
    up_pos: usize,
    /// History of the even-phase high-rate input for decimation.
    down_hist: Vec<Frame>,
    down_pos: usize,
    /// Odd-phase high-rate samples waiting k low-rate samples for the centre tap.
    down_odd: Vec<Frame>,
    down_odd_pos: usize,
}

impl HalfbandStage {
    fn new(k: usize) -> Self {
        HalfbandStage {
            taps: halfband_side_taps(k),
            up_hist: vec![[0.0; 2]; 4 * k],
            up_pos: 0,
            down_hist: vec![[0.0; 2]; 4 * k],
            down_pos: 0,
            down_odd: vec![[0.0; 2]; k],
            down_odd_pos: 0,
        }
    }

    fn k(&self) -> usize {
        self.taps.len()
    }

    fn reset(&mut self) {
        self.up_hist.fill([0.0; 2]);
        self.down_hist.fill([0.0; 2]);
        self.down_odd.fill([0.0; 2]);
        self.up_pos = 0;
        self.down_pos = 0;
        self.down_odd_pos = 0;
    }

    /// Delay of the interpolator plus the decimator, in samples of the high rate: 2·(2k − 1).
    fn round_trip_delay(&self) -> usize {
        2 * (2 * self.k() - 1)
    }

    /// Symmetric FIR over a window `w` of 2k samples, oldest first: Σ h_j·(w[k−1−j] + w[k+j]).
    #[inline(always)]
    fn fir(taps: &[f64], w: &[Frame]) -> Frame {
        let k = taps.len();
        let mut acc = [0.0; 2];
        for j in 0..k {
            let (a, b) = (w[k - 1 - j], w[k + j]);
            acc[0] += taps[j] * (a[0] + b[0]);
            acc[1] += taps[j] * (a[1] + b[1]);
        }
        acc
    }

    /// Interpolates one low-rate sample into two high-rate samples. With zero-stuffing and a
    /// gain of 2, the even output is the FIR branch and the odd output the delayed input.
    #[inline(always)]
    fn up(&mut self, x: Frame) -> [Frame; 2] {
        let n = 2 * self.k();
        self.up_hist[self.up_pos] = x;
        self.up_hist[self.up_pos + n] = x;
        self.up_pos += 1;
        if self.up_pos == n {
            self.up_pos = 0;
        }
        let w = &self.up_hist[self.up_pos..self.up_pos + n];
        // The window holds x[m−2k+1 … m]; the centre lies between w[k−1] and w[k].
        let f = Self::fir(&self.taps, w);
        let even = [2.0 * f[0], 2.0 * f[1]];
        let odd = w[self.k()];
        [even, odd]
    }

    /// Decimates two high-rate samples (even, odd) into one low-rate sample, y[m] = Σ h[j]·u[2m − j]:
    /// the even phase meets the FIR branch and the odd phase the centre tap k samples later,
    /// so that the round trip with [`up`](Self::up) lasts 2·(2k − 1) high-rate samples.
    #[inline(always)]
    fn down(&mut self, pair: [Frame; 2]) -> Frame {
        let k = self.k();
        let n = 2 * k;
        self.down_hist[self.down_pos] = pair[0];
        self.down_hist[self.down_pos + n] = pair[0];
        self.down_pos += 1;
        if self.down_pos == n {
            self.down_pos = 0;
        }
        let w = &self.down_hist[self.down_pos..self.down_pos + n];
        let fir = Self::fir(&self.taps, w);
        let centre = self.down_odd[self.down_odd_pos];
        self.down_odd[self.down_odd_pos] = pair[1];
        self.down_odd_pos += 1;
        if self.down_odd_pos == k {
            self.down_odd_pos = 0;
        }
        add(fir, [0.5 * centre[0], 0.5 * centre[1]])
    }
}

/// A ×F oversampler for two channels: `up` turns one host sample into F internal samples and
/// `down` turns F internal samples back into one host sample.
#[derive(Clone)]
pub struct Oversampler {
    stages: Vec<HalfbandStage>,
    factor: usize,
    /// Extra delay at the internal rate so that the round trip is a whole number of host samples.
    align: Vec<Frame>,
    align_pos: usize,
    /// Internal samples of alignment delay (0 when the stages already round to whole samples).
    pad: usize,
}

impl Oversampler {
    pub fn new(factor: usize) -> Self {
        assert!(factor.is_power_of_two() && factor <= MAX_FACTOR);
        let n_stages = factor.trailing_zeros() as usize;
        let stages: Vec<HalfbandStage> = (0..n_stages)
            .map(|s| HalfbandStage::new(STAGE_HALF_TAPS[s]))
            .collect();
        // Round trip of stage s (1-based) lasts (2·(2k−1)) samples of rate 2^s·fs, i.e.
        // 2·(2k−1)·F/2^s internal samples.
        let internal: usize = stages
            .iter()
            .enumerate()
            .map(|(s, st)| st.round_trip_delay() * factor >> (s + 1))
            .sum();
        let pad = (factor - internal % factor) % factor;
        Oversampler {
            stages,
            factor,
            align: vec![[0.0; 2]; pad.max(1)],
            align_pos: 0,
            pad,
        }
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Round-trip latency in host samples (a whole number by construction).
    pub fn latency(&self) -> usize {
        let internal: usize = self
            .stages
            .iter()
            .enumerate()
            .map(|(s, st)| st.round_trip_delay() * self.factor >> (s + 1))
            .sum();
        let pad = (self.factor - internal % self.factor) % self.factor;
        (internal + pad) / self.factor
    }

    pub fn reset(&mut self) {
        self.stages.iter_mut().for_each(HalfbandStage::reset);
        self.align.fill([0.0; 2]);
        self.align_pos = 0;
    }

    /// Interpolates `x` into `out[..factor]`, stage by stage in time order.
    #[inline]
    pub fn upsample(&mut self, x: Frame, out: &mut [Frame; MAX_FACTOR]) {
        let mut tmp = [[0.0; 2]; MAX_FACTOR];
        out[0] = x;
        let mut len = 1;
        for st in &mut self.stages {
            tmp[..len].copy_from_slice(&out[..len]);
            for i in 0..len {
                let [a, b] = st.up(tmp[i]);
                out[2 * i] = a;
                out[2 * i + 1] = b;
            }
            len *= 2;
        }
        if self.pad > 0 {
            let n = self.align.len();
            for v in out[..len].iter_mut() {
                let delayed = self.align[self.align_pos];
                self.align[self.align_pos] = *v;
                self.align_pos += 1;
                if self.align_pos == n {
                    self.align_pos = 0;
                }
                *v = delayed;
            }
        }
    }

    /// Decimates `buf[..factor]` (overwritten) into one host sample.
    #[inline]
    pub fn downsample(&mut self, buf: &mut [Frame; MAX_FACTOR]) -> Frame {
        let mut len = self.factor;
        for st in self.stages.iter_mut().rev() {
            for i in 0..len / 2 {
                buf[i] = st.down([buf[2 * i], buf[2 * i + 1]]);
            }
            len /= 2;
        }
        buf[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(fs: f64, f: f64, n: usize) -> (Vec<f64>, Vec<f64>, usize) {
        let factor = factor_for(fs);
        let mut os = Oversampler::new(factor);
        let x: Vec<f64> = (0..n)
            .map(|i| (std::f64::consts::TAU * f * i as f64 / fs).sin())
            .collect();
        let mut buf = [[0.0; 2]; MAX_FACTOR];
        let y: Vec<f64> = x
            .iter()
            .map(|&v| {
                os.upsample([v, -v], &mut buf);
                let y = os.downsample(&mut buf);
                assert_eq!(y[0], -y[1]);
                y[0]
            })
            .collect();
        (x, y, os.latency())
    }

    #[test]
    fn factors_reach_the_internal_rate() {
        assert_eq!(factor_for(44_100.0), 8);
        assert_eq!(factor_for(48_000.0), 8);
        assert_eq!(factor_for(96_000.0), 4);
        assert_eq!(factor_for(192_000.0), 2);
        assert_eq!(factor_for(384_000.0), 1);
        assert_eq!(factor_for(8_000.0), 16);
    }

    #[test]
    fn round_trip_is_a_pure_delay_in_the_passband() {
        for fs in [44_100.0f64, 48_000.0, 96_000.0, 8_000.0, 768_000.0] {
            for f in [50.0, 1_000.0, 0.4 * fs.min(48_000.0)] {
                let (x, y, lat) = round_trip(fs, f, 4096);
                let err = (1000..4000)
                    .map(|i| (y[i] - x[i - lat]).abs())
                    .fold(0.0, f64::max);
                assert!(err < 3e-4, "fs {fs} f {f}: error {err}");
            }
        }
    }
}
