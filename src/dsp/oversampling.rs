//! Oversampling by powers of two with a cascade of linear-phase half-band FIR filters.
//!
//! Near their knees the nonlinear stages (colour, rails, current limit, receiver) and the
//! network run at the internal rate. The factor is chosen so that the internal rate is at least
//! 352.8 kHz: the bilinear (trapezoidal) network then stays within a few hundredths of a dB of
//! the analogue circuit up to 20 kHz, and harmonics of the clippers fold back far above the
//! audio band. The engine splits the cascade after its first stage: the rest of the time it
//! runs at twice the host rate ([`two_rate`](super::two_rate)), so the first stage
//! ([`Oversampler::first_stage`]) and the later ones ([`Oversampler::later_stages`]) are
//! separate instances, the later ones padded so that each way takes whole samples of twice
//! the host rate.
//!
//! Each half-band filter is a Kaiser-windowed sinc of length 4K − 1: every other tap is zero
//! and the centre tap is ½, so a stage costs K multiply-adds per input sample (symmetry).
//! Samples are single precision (the filters reject by 95 dB, far above f32's rounding) and
//! each channel is filtered on its own over a whole block, tap by tap, so that the arithmetic
//! runs across time in vector registers: sixteen samples at once where the engine runs with
//! AVX-512, eight with AVX2 ([`Isa`](super::isa::Isa)), four with plain SSE2.

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

/// Most host samples processed as one block (the engine's steady block, sixteen sub-blocks).
pub const MAX_BLOCK: usize = 256;
/// Most internal samples in one block.
pub const MAX_INTERNAL_BLOCK: usize = MAX_BLOCK * MAX_FACTOR;

/// Outputs summed together in registers by [`fir_block`]: one AVX register, two SSE ones.
const LANES: usize = 8;

/// The symmetric FIR over every window of 2k samples in `buf`: out[i] = Σ h_j·(buf[i+k−1−j]
/// + buf[i+k+j]), taps in order, so each output is summed the same way whatever the block.
/// Outputs go [`LANES`] at a time (two such groups together where there are enough, so that
/// two chains of multiply-adds overlap), their sums held in registers across all the taps.
/// The stages' tap counts ([`STAGE_HALF_TAPS`]) run in code compiled for their length, where
/// the taps are a straight sequence of multiply-adds with no loop around them.
#[inline(always)]
fn fir_block<const FMA: bool>(taps: &[f32], buf: &[f32], out: &mut [f32]) {
    const K0: usize = STAGE_HALF_TAPS[0];
    const K1: usize = STAGE_HALF_TAPS[1];
    const K2: usize = STAGE_HALF_TAPS[2];
    const K3: usize = STAGE_HALF_TAPS[3];
    const _: () = assert!(K0 != K1 && K0 != K2 && K0 != K3 && K1 != K2 && K1 != K3 && K2 != K3);
    let fixed = "the length just matched";
    match taps.len() {
        K0 => fir_block_of::<FMA, K0>(taps.try_into().expect(fixed), buf, out),
        K1 => fir_block_of::<FMA, K1>(taps.try_into().expect(fixed), buf, out),
        K2 => fir_block_of::<FMA, K2>(taps.try_into().expect(fixed), buf, out),
        K3 => fir_block_of::<FMA, K3>(taps.try_into().expect(fixed), buf, out),
        _ => fir_block_any::<FMA>(taps, buf, out),
    }
}

/// [`fir_block`] for `K` taps: the same sums in the same order.
#[inline(always)]
fn fir_block_of<const FMA: bool, const K: usize>(taps: &[f32; K], buf: &[f32], out: &mut [f32]) {
    /// The outputs i0 .. i0 + W, from the window of buf they read (2K − 1 + W samples).
    #[inline(always)]
    fn group<const FMA: bool, const K: usize, const W: usize>(
        taps: &[f32; K],
        window: &[f32],
    ) -> [f32; W] {
        let mut acc = [0.0f32; W];
        for (j, &h) in taps.iter().enumerate() {
            let a: &[f32; W] = window[K - 1 - j..K - 1 - j + W].try_into().expect("W");
            let b: &[f32; W] = window[K + j..K + j + W].try_into().expect("W");
            for l in 0..W {
                acc[l] = mac::<FMA>(h, a[l] + b[l], acc[l]);
            }
        }
        acc
    }
    let n = out.len();
    assert!(buf.len() >= n + 2 * K - 1, "the block's windows lie in buf");
    let mut i0 = 0;
    // Four groups at once where there are enough: with AVX-512 a group of 2·LANES is one
    // register, and one chain of K multiply-adds waits on itself; four groups are two such
    // chains (four with AVX2) that overlap.
    while i0 + 4 * LANES <= n {
        let window = &buf[i0..i0 + 2 * K - 1 + 4 * LANES];
        out[i0..i0 + 4 * LANES].copy_from_slice(&group::<FMA, K, { 4 * LANES }>(taps, window));
        i0 += 4 * LANES;
    }
    while i0 + 2 * LANES <= n {
        // (A slice of a length fixed at compile time: the taps' slices of it need no checks.)
        let window = &buf[i0..i0 + 2 * K - 1 + 2 * LANES];
        out[i0..i0 + 2 * LANES].copy_from_slice(&group::<FMA, K, { 2 * LANES }>(taps, window));
        i0 += 2 * LANES;
    }
    fir_block_any::<FMA>(taps, &buf[i0..], &mut out[i0..]);
}

/// [`fir_block`] for any number of taps.
#[inline(always)]
fn fir_block_any<const FMA: bool>(taps: &[f32], buf: &[f32], out: &mut [f32]) {
    let k = taps.len();
    let n = out.len();
    // The windows of each group as iterators over the taps: the older half walks back from the
    // centre, the newer half forward, so that no tap's window is indexed (and checked) apart.
    let windows = |i0: usize, w: usize| {
        (
            buf[i0..i0 + k - 1 + w].windows(w).rev(),
            buf[i0 + k..i0 + 2 * k - 1 + w].windows(w),
        )
    };
    let mut i0 = 0;
    // Two groups at a time: two independent chains of multiply-adds.
    while i0 + 2 * LANES <= n {
        let mut acc = [0.0f32; 2 * LANES];
        let (older, newer) = windows(i0, 2 * LANES);
        for ((&h, a), b) in taps.iter().zip(older).zip(newer) {
            let a: &[f32; 2 * LANES] = a.try_into().expect("2 LANES");
            let b: &[f32; 2 * LANES] = b.try_into().expect("2 LANES");
            for l in 0..2 * LANES {
                acc[l] = mac::<FMA>(h, a[l] + b[l], acc[l]);
            }
        }
        out[i0..i0 + 2 * LANES].copy_from_slice(&acc);
        i0 += 2 * LANES;
    }
    let whole = n - n % LANES;
    for i0 in (i0..whole).step_by(LANES) {
        let mut acc = [0.0f32; LANES];
        let (older, newer) = windows(i0, LANES);
        for ((&h, a), b) in taps.iter().zip(older).zip(newer) {
            let a: &[f32; LANES] = a.try_into().expect("LANES");
            let b: &[f32; LANES] = b.try_into().expect("LANES");
            for l in 0..LANES {
                acc[l] = mac::<FMA>(h, a[l] + b[l], acc[l]);
            }
        }
        out[i0..i0 + LANES].copy_from_slice(&acc);
    }
    for (i, o) in out.iter_mut().enumerate().skip(whole) {
        let mut acc = 0.0;
        for (j, &h) in taps.iter().enumerate() {
            acc = mac::<FMA>(h, buf[i + k - 1 - j] + buf[i + k + j], acc);
        }
        *o = acc;
    }
}

/// h·x + acc, fused when `FMA`.
#[inline(always)]
fn mac<const FMA: bool>(h: f32, x: f32, acc: f32) -> f32 {
    if FMA {
        h.mul_add(x, acc)
    } else {
        acc + h * x
    }
}

/// One ×2 stage for one channel: half-band interpolator and decimator working on blocks.
///
/// Each filter keeps its history in front of a work buffer, so that a block's input follows it
/// contiguously and every output's window is a plain slice.
#[derive(Clone)]
struct HalfbandStage {
    /// Side taps h[1], h[3], … (mirrored on the other side).
    taps: Vec<f32>,
    /// The last 2k − 1 low-rate inputs, then room for a block.
    up_buf: Vec<f32>,
    /// The last 2k − 1 even-phase high-rate inputs, then room for a block.
    down_even: Vec<f32>,
    /// The last k odd-phase high-rate inputs (they meet the centre tap k samples later), then
    /// room for a block.
    down_odd: Vec<f32>,
    /// The interpolator's FIR branch for a block.
    fir: Vec<f32>,
}

impl HalfbandStage {
    /// A stage whose blocks hold at most `max_in` low-rate samples.
    fn new(k: usize, max_in: usize) -> Self {
        HalfbandStage {
            taps: halfband_side_taps(k).iter().map(|&t| t as f32).collect(),
            up_buf: vec![0.0; 2 * k - 1 + max_in],
            down_even: vec![0.0; 2 * k - 1 + max_in],
            down_odd: vec![0.0; k + max_in],
            fir: vec![0.0; max_in],
        }
    }

    fn k(&self) -> usize {
        self.taps.len()
    }

    /// Back to silence: only the histories in front of the work buffers, since a block's room
    /// behind them is always written before it is read. (A takeover resets the later stages
    /// of its channel each time; zeroing the whole buffers, sized for the longest run, cost
    /// about 7 % of the engine's instructions on music.)
    fn reset(&mut self) {
        let k = self.k();
        self.up_buf[..2 * k - 1].fill(0.0);
        self.down_even[..2 * k - 1].fill(0.0);
        self.down_odd[..k].fill(0.0);
    }

    /// Interpolates `x` into `out` (twice as long). With zero-stuffing and a gain of 2, each
    /// even output is the FIR branch and each odd output the input delayed to the centre.
    #[inline(always)]
    fn up<const FMA: bool>(&mut self, x: &[f32], out: &mut [f32]) {
        let k = self.k();
        let n = x.len();
        let hist = 2 * k - 1;
        self.up_buf[hist..hist + n].copy_from_slice(x);
        // Window i holds x[i−2k+1 … i]; its centre lies between entries k−1 and k.
        let fir = &mut self.fir[..n];
        fir_block::<FMA>(&self.taps, &self.up_buf[..hist + n], fir);
        let centre = &self.up_buf[k..k + n];
        for ((pair, &f), &c) in out.chunks_exact_mut(2).zip(fir.iter()).zip(centre) {
            pair[0] = 2.0 * f;
            pair[1] = c;
        }
        self.up_buf.copy_within(n..n + hist, 0);
    }

    /// Decimates `x` (pairs of even and odd high-rate samples) into `out` (half as long):
    /// y[m] = Σ h[j]·u[2m − j]. The even phase meets the FIR branch and the odd phase the
    /// centre tap k samples later, so that the round trip with [`up`](Self::up) lasts
    /// 2·(2k − 1) high-rate samples.
    #[inline(always)]
    fn down<const FMA: bool>(&mut self, x: &[f32], out: &mut [f32]) {
        let k = self.k();
        let n = out.len();
        let hist = 2 * k - 1;
        let even = &mut self.down_even[hist..hist + n];
        let odd = &mut self.down_odd[k..k + n];
        for ((pair, e), o) in x[..2 * n].chunks_exact(2).zip(even).zip(odd) {
            *e = pair[0];
            *o = pair[1];
        }
        fir_block::<FMA>(&self.taps, &self.down_even[..hist + n], out);
        for (o, c) in out.iter_mut().zip(&self.down_odd[..n]) {
            *o += 0.5 * c;
        }
        self.down_even.copy_within(n..n + hist, 0);
        self.down_odd.copy_within(n..n + k, 0);
    }
}

/// One channel's cascade with its alignment delays.
#[derive(Clone)]
struct Cascade {
    stages: Vec<HalfbandStage>,
    /// Extra delay at the high rate after interpolating and before decimating, so that the
    /// delays come to whole samples of the low rate.
    align_up: Ring,
    align_down: Ring,
}

/// A delay line of a fixed number of samples.
#[derive(Clone)]
struct Ring {
    buf: Vec<f32>,
    pos: usize,
}

impl Ring {
    fn new(delay: usize) -> Self {
        Ring {
            buf: vec![0.0; delay],
            pos: 0,
        }
    }

    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
    }

    /// Delays `x` in place.
    #[inline(always)]
    fn delay(&mut self, x: &mut [f32]) {
        let n = self.buf.len();
        if n == 0 {
            return;
        }
        if n <= MAX_FACTOR && x.len() >= n {
            // The usual case, a delay shorter than the block: the block moves up by n, the
            // ring's samples (oldest first from `pos`) fill the front, and the block's last n
            // become the ring. The same values as sample by sample.
            let mut last = [0.0f32; MAX_FACTOR];
            let keep = x.len() - n;
            last[..n].copy_from_slice(&x[keep..]);
            x.copy_within(..keep, n);
            let (newer, older) = self.buf.split_at(self.pos);
            x[..older.len()].copy_from_slice(older);
            x[older.len()..n].copy_from_slice(newer);
            self.buf.copy_from_slice(&last[..n]);
            self.pos = 0;
            return;
        }
        for v in x.iter_mut() {
            let delayed = self.buf[self.pos];
            self.buf[self.pos] = *v;
            self.pos += 1;
            if self.pos == n {
                self.pos = 0;
            }
            *v = delayed;
        }
    }
}

impl Cascade {
    fn reset(&mut self) {
        self.stages.iter_mut().for_each(HalfbandStage::reset);
        self.align_up.reset();
        self.align_down.reset();
    }

    fn copy_from(&mut self, o: &Cascade) {
        for (a, b) in self.stages.iter_mut().zip(&o.stages) {
            a.up_buf.copy_from_slice(&b.up_buf);
            a.down_even.copy_from_slice(&b.down_even);
            a.down_odd.copy_from_slice(&b.down_odd);
        }
        self.align_up.buf.copy_from_slice(&o.align_up.buf);
        self.align_up.pos = o.align_up.pos;
        self.align_down.buf.copy_from_slice(&o.align_down.buf);
        self.align_down.pos = o.align_down.pos;
    }
}

/// A ×F oversampler for up to two channels: `upsample` turns a block of low-rate samples into
/// F times as many high-rate samples and `downsample` turns them back. An instance keeps one
/// direction's history: the engine uses one for each. It is the whole cascade
/// ([`new`](Self::new)), or its first stage alone ([`first_stage`](Self::first_stage)), or the
/// stages after the first ([`later_stages`](Self::later_stages)).
#[derive(Clone)]
pub struct Oversampler {
    channels: [Cascade; 2],
    factor: usize,
    /// High-rate samples of alignment delay after interpolating and before decimating.
    pad_up: usize,
    pad_down: usize,
    /// Delay of the stages alone, interpolator plus decimator, in high-rate samples.
    stage_delay: usize,
    /// Most low-rate samples in one block.
    max_in: usize,
    /// Room for one stage's block between stages.
    tmp: Vec<f32>,
}

impl Oversampler {
    /// The whole cascade for `factor` (a power of two up to [`MAX_FACTOR`]); the round trip
    /// lasts a whole number of low-rate samples.
    pub fn new(factor: usize) -> Self {
        assert!(factor.is_power_of_two() && factor <= MAX_FACTOR);
        Self::build(0, factor.trailing_zeros() as usize, MAX_BLOCK, false)
    }

    /// The first ×2 stage of the cascade for `factor` alone (nothing at all when `factor` is 1).
    pub fn first_stage(factor: usize) -> Self {
        assert!(factor.is_power_of_two() && factor <= MAX_FACTOR);
        Self::build(
            0,
            (factor.trailing_zeros() as usize).min(1),
            MAX_BLOCK,
            false,
        )
    }

    /// The stages after the first of the cascade for `factor`, from twice the low rate to
    /// `factor` times it (nothing when `factor` ≤ 2). Interpolation and decimation each last a
    /// whole number of samples of twice the low rate, so that a signal at that rate can leave
    /// through here or past here and meet itself again.
    pub fn later_stages(factor: usize) -> Self {
        assert!(factor.is_power_of_two() && factor <= MAX_FACTOR);
        let n = (factor.trailing_zeros() as usize).saturating_sub(1);
        Self::build(1, n, 2 * MAX_BLOCK + 4, true)
    }

    fn build(first: usize, n_stages: usize, max_in: usize, split: bool) -> Self {
        let factor = 1 << n_stages;
        let stages: Vec<HalfbandStage> = (0..n_stages)
            .map(|s| HalfbandStage::new(STAGE_HALF_TAPS[first + s], max_in << s))
            .collect();
        // Stage s lasts 2k − 1 samples of its high rate each way, i.e. (2k − 1)·F/2^(s+1)
        // samples of the cascade's high rate.
        let half: usize = stages
            .iter()
            .enumerate()
            .map(|(s, st)| ((2 * st.k() - 1) * factor) >> (s + 1))
            .sum();
        let (pad_up, pad_down) = if split {
            // The interpolator's delay is one internal sample short of whole coarse samples,
            // so that the last internal sample of each coarse sample's group falls on a coarse
            // instant; the decimator's completes the round trip to whole coarse samples.
            let up = (half + 1).div_ceil(factor) * factor - 1;
            let round_trip = (up + half).div_ceil(factor) * factor;
            (up - half, round_trip - up - half)
        } else {
            ((factor - (2 * half) % factor) % factor, 0)
        };
        let cascade = Cascade {
            stages,
            align_up: Ring::new(pad_up),
            align_down: Ring::new(pad_down),
        };
        Oversampler {
            channels: [cascade.clone(), cascade],
            factor,
            pad_up,
            pad_down,
            stage_delay: 2 * half,
            max_in,
            tmp: vec![0.0; max_in * factor],
        }
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Round-trip latency in low-rate samples (a whole number by construction).
    pub fn latency(&self) -> usize {
        (self.stage_delay + self.pad_up + self.pad_down) / self.factor
    }

    /// For the stages after the first: the interpolator's output for low-rate sample m ends
    /// (its last high-rate sample) on the instant of low-rate sample m − up_latency.
    pub fn up_latency(&self) -> usize {
        (self.stage_delay / 2 + self.pad_up + 1) / self.factor - 1
    }

    pub fn reset(&mut self) {
        for c in &mut self.channels {
            c.reset();
        }
    }

    /// Back to silence for channel `ch` alone.
    pub fn reset_channel(&mut self, ch: usize) {
        self.channels[ch].reset();
    }

    /// Takes over `other`'s histories (same construction), without allocating.
    pub fn copy_state_from(&mut self, other: &Oversampler) {
        for (a, b) in self.channels.iter_mut().zip(&other.channels) {
            a.copy_from(b);
        }
    }

    /// Interpolates channel `ch`'s low-rate samples `x` into `out[..x.len()·F]`, stage by
    /// stage. With `FMA` each product-sum is fused (for code compiled with the FMA
    /// instructions, see [`Isa`](super::isa::Isa)).
    #[inline(always)]
    pub fn upsample<const FMA: bool>(&mut self, ch: usize, x: &[f32], out: &mut [f32]) {
        assert!(x.len() <= self.max_in && out.len() >= x.len() * self.factor);
        let tmp = &mut self.tmp;
        let c = &mut self.channels[ch];
        let mut len = x.len();
        // The first stage reads `x` itself; each later one a copy of what the one before wrote.
        // (One call of `up` in the loop: inlined once, which keeps unoptimised builds' frames
        // small.)
        if c.stages.is_empty() {
            out[..len].copy_from_slice(x);
        }
        for (s, st) in c.stages.iter_mut().enumerate() {
            if s > 0 {
                tmp[..len].copy_from_slice(&out[..len]);
            }
            let from: &[f32] = if s == 0 { x } else { &tmp[..len] };
            st.up::<FMA>(from, &mut out[..2 * len]);
            len *= 2;
        }
        c.align_up.delay(&mut out[..len]);
    }

    /// Decimates channel `ch`'s high-rate samples `buf[..out.len()·F]` (overwritten) into `out`.
    #[inline(always)]
    pub fn downsample<const FMA: bool>(&mut self, ch: usize, buf: &mut [f32], out: &mut [f32]) {
        assert!(out.len() <= self.max_in && buf.len() >= out.len() * self.factor);
        let mut len = out.len() * self.factor;
        let tmp = &mut self.tmp;
        let c = &mut self.channels[ch];
        c.align_down.delay(&mut buf[..len]);
        // Each stage but the first (the last to run) back into `buf` through `tmp`; the first
        // straight into `out`. (One call of `down` in the loop, as in `upsample`.)
        if c.stages.is_empty() {
            out.copy_from_slice(&buf[..len]);
        }
        for (s, st) in c.stages.iter_mut().enumerate().rev() {
            let to: &mut [f32] = if s == 0 {
                &mut *out
            } else {
                &mut tmp[..len / 2]
            };
            st.down::<FMA>(&buf[..len], to);
            if s > 0 {
                buf[..len / 2].copy_from_slice(&tmp[..len / 2]);
            }
            len /= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<const FMA: bool>(fs: f64, f: f64, n: usize) -> (Vec<f64>, Vec<f64>, usize) {
        let factor = factor_for(fs);
        let mut os = Oversampler::new(factor);
        let x: Vec<f64> = (0..n)
            .map(|i| (std::f64::consts::TAU * f * i as f64 / fs).sin())
            .collect();
        let mut buf = [0.0f32; MAX_INTERNAL_BLOCK];
        let mut y = Vec::with_capacity(n);
        // Blocks of every size up to the largest, as the engine's sub-blocks come.
        let mut sizes = (1..=MAX_BLOCK).cycle();
        let mut i = 0;
        while i < n {
            let m = sizes.next().unwrap().min(n - i);
            let mut out = [[0.0f32; MAX_BLOCK]; 2];
            for ch in 0..2 {
                let sign = if ch == 0 { 1.0 } else { -1.0 };
                let block: Vec<f32> = x[i..i + m].iter().map(|&v| (sign * v) as f32).collect();
                os.upsample::<FMA>(ch, &block, &mut buf[..m * factor]);
                os.downsample::<FMA>(ch, &mut buf[..m * factor], &mut out[ch][..m]);
            }
            for j in 0..m {
                assert_eq!(out[0][j], -out[1][j]);
                y.push(out[0][j] as f64);
            }
            i += m;
        }
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
        for fma in [false, true] {
            for fs in [44_100.0f64, 48_000.0, 96_000.0, 8_000.0, 768_000.0] {
                for f in [50.0, 1_000.0, 0.4 * fs.min(48_000.0)] {
                    let (x, y, lat) = if fma {
                        round_trip::<true>(fs, f, 4096)
                    } else {
                        round_trip::<false>(fs, f, 4096)
                    };
                    let err = (1000..4000)
                        .map(|i| (y[i] - x[i - lat]).abs())
                        .fold(0.0, f64::max);
                    assert!(err < 3e-4, "fma {fma} fs {fs} f {f}: error {err}");
                }
            }
        }
    }

    /// A reset leaves nothing of what came before: an oversampler that has run loud blocks of
    /// every length and is then reset renders the same samples, bit for bit, as a new one.
    #[test]
    fn reset_forgets_everything() {
        let x: Vec<f32> = (0..3 * MAX_BLOCK)
            .map(|i| (0.37 * i as f32).sin() * 0.8)
            .collect();
        let render = |os: &mut Oversampler, ch: usize| {
            let f = os.factor;
            let mut hi = vec![0.0f32; x.len() * f];
            let mut y = vec![0.0f32; x.len()];
            let mut at = 0;
            for n in [1, 7, MAX_BLOCK, 2 * MAX_BLOCK - 8, x.len()] {
                let n = n.min(x.len() - at).min(os.max_in);
                os.upsample::<false>(ch, &x[at..at + n], &mut hi[at * f..(at + n) * f]);
                os.downsample::<false>(ch, &mut hi[at * f..(at + n) * f], &mut y[at..at + n]);
                at += n;
            }
            y
        };
        for factor in [2, 4, 8, 16] {
            for build in [
                Oversampler::new,
                Oversampler::first_stage,
                Oversampler::later_stages,
            ] {
                let fresh = render(&mut build(factor), 0);
                let mut used = build(factor);
                for ch in 0..2 {
                    for _ in 0..3 {
                        let loud = render(&mut used, ch);
                        assert!(loud.iter().any(|&v| v != 0.0));
                    }
                }
                let first_difference = |y: Vec<f32>| y.iter().zip(&fresh).position(|(a, b)| a != b);
                used.reset_channel(0);
                let after = first_difference(render(&mut used, 0));
                assert_eq!(
                    after, None,
                    "factor {factor}: channel reset, first difference"
                );
                used.reset();
                let after = first_difference(render(&mut used, 1));
                assert_eq!(
                    after, None,
                    "factor {factor}: whole reset, first difference"
                );
            }
        }
    }

    /// Images of a tone near the top of the band, after interpolation, lie below −90 dB.
    #[test]
    fn interpolation_rejects_images() {
        let fs = 48_000.0;
        let f = 19_000.0;
        let mut os = Oversampler::new(8);
        let n = 4096;
        let mut hi = Vec::new();
        let mut buf = [0.0f32; MAX_INTERNAL_BLOCK];
        for b in 0..n / MAX_BLOCK {
            let x: Vec<f32> = (0..MAX_BLOCK)
                .map(|i| {
                    let t = (b * MAX_BLOCK + i) as f64 / fs;
                    (std::f64::consts::TAU * f * t).sin() as f32
                })
                .collect();
            os.upsample::<false>(0, &x, &mut buf[..MAX_BLOCK * 8]);
            hi.extend(buf[..MAX_BLOCK * 8].iter().map(|&v| v as f64));
        }
        // Correlate the settled part against the tone and against its first image (fs − f).
        let rate = fs * 8.0;
        // Hann-windowed, so that the tone's own leakage at the image is far below −90 dB.
        let amp = |freq: f64| {
            let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
            let seg = &hi[8192..hi.len()];
            let m = seg.len() as f64;
            for (i, v) in seg.iter().enumerate() {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / m).cos();
                let ph = std::f64::consts::TAU * freq * i as f64 / rate;
                re += w * v * ph.cos();
                im += w * v * ph.sin();
                wsum += w;
            }
            2.0 * (re * re + im * im).sqrt() / wsum
        };
        let tone = amp(f);
        let image = amp(fs - f);
        assert!((tone - 1.0).abs() < 1e-3, "{tone}");
        assert!(20.0 * (image / tone).log10() < -90.0, "image {image}");
    }
}
