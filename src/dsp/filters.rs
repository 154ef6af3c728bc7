//! Small linear filters: the DC blocker of the output, and the first-order recursion it
//! shares with the engine's running power average ([`FourStep`]).

use std::f64::consts::TAU;

/// Corner of the DC blocker on the plugin's output, Hz: far enough below 20 Hz that the
/// passband stays within 0.003 dB there (|H(20 Hz)| = 1/√(1 + (0.5/20)²)).
pub const DC_BLOCK_HZ: f64 = 0.5;

/// Samples the DC blocker takes its differences over at a time (a stack array each).
const CHUNK: usize = 64;

/// First-order high-pass y[n] = a·(y[n−1] + x[n] − x[n−1]) with a = e^{−2π·fc/fs}: the
/// impulse-invariant image of s/(s + ωc), blocking DC completely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DcBlocker {
    a: f64,
    x1: f64,
    y: FourStep,
}

impl DcBlocker {
    pub fn new(corner_hz: f64, sample_rate: f64) -> Self {
        DcBlocker {
            a: (-TAU * corner_hz / sample_rate).exp(),
            x1: 0.0,
            y: FourStep::new(),
        }
    }

    pub fn reset(&mut self) {
        self.x1 = 0.0;
        self.y = FourStep::new();
    }

    /// A block, as y[n] = a·y[n−1] + a·(x[n] − x[n−1]): the differences first (they wait for
    /// nothing), then the recursion four samples per step of its chain ([`FourStep`]), fused
    /// when `FMA` (for code compiled with the FMA instructions). A state below 1e-30 is set
    /// to zero after the block, so that long silences never reach subnormals: from 1e-30 the
    /// decay would take about 10⁷ samples to get there, and the engine's blocks are at most
    /// [`MAX_BLOCK`](super::oversampling::MAX_BLOCK).
    #[inline(always)]
    pub fn process_block<const FMA: bool>(&mut self, x: &[f32], out: &mut [f64]) {
        let n = x.len().min(out.len());
        for (x, out) in x[..n].chunks(CHUNK).zip(out[..n].chunks_mut(CHUNK)) {
            let mut diff = [0.0f64; CHUNK];
            self.differences(x, &mut diff);
            self.y
                .run::<FMA>(self.a, self.a, &diff[..x.len()], &mut out[..x.len()]);
        }
        self.y.flush();
    }

    /// Both channels' blocks at once (as long as each other, the blockers alike): the same
    /// values as [`process_block`](Self::process_block) for each, their two recursions in one
    /// loop ([`FourStep::run_two`]), so that each one's chain waits while the other computes.
    #[inline(always)]
    pub fn process_two<const FMA: bool>(
        two: &mut [DcBlocker; 2],
        x: [&[f32]; 2],
        out: [&mut [f64]; 2],
    ) {
        let [o0, o1] = out;
        let n = x[0].len().min(x[1].len()).min(o0.len()).min(o1.len());
        if two[0].a != two[1].a || two[0].y.phase != two[1].y.phase {
            two[0].process_block::<FMA>(&x[0][..n], &mut o0[..n]);
            two[1].process_block::<FMA>(&x[1][..n], &mut o1[..n]);
            return;
        }
        let a = two[0].a;
        let mut start = 0;
        while start < n {
            let len = CHUNK.min(n - start);
            let span = start..start + len;
            let mut diff = [[0.0f64; CHUNK]; 2];
            two[0].differences(&x[0][span.clone()], &mut diff[0]);
            two[1].differences(&x[1][span.clone()], &mut diff[1]);
            let [d0, d1] = &diff;
            let [y0, y1] = two;
            FourStep::run_two::<FMA>(
                [&mut y0.y, &mut y1.y],
                a,
                a,
                [&d0[..len], &d1[..len]],
                [&mut o0[span.clone()], &mut o1[span]],
            );
            start += len;
        }
        two[0].y.flush();
        two[1].y.flush();
    }

    /// x[n] − x[n−1] over a chunk (at most as long as `diff`), in double precision, the last
    /// input kept for the next: a loop in which no difference waits for another.
    #[inline(always)]
    fn differences(&mut self, x: &[f32], diff: &mut [f64]) {
        let Some((&last, _)) = x.split_last() else {
            return;
        };
        let diff = &mut diff[..x.len()];
        diff[0] = x[0] as f64 - self.x1;
        for (d, w) in diff[1..].iter_mut().zip(x.windows(2)) {
            *d = w[1] as f64 - w[0] as f64;
        }
        self.x1 = last as f64;
    }
}

/// The first-order recursion y[i] = c·y[i−1] + g·x[i], four samples per step of its chain.
///
/// Within a group of four the partial sums t_j = Σ_{k≤j} c^{j−k}·g·x[k] do not wait for the
/// group before, and y[j] = c^{j+1}·y[−1] + t_j. What waits from one group to the next is one
/// multiply-add, where one waited per sample (four cycles or so each: a recursion nothing else
/// in its loop could hide). The groups follow the stream, not the blocks: a block that ends
/// within a group leaves the group's partial sum for the next, so that any cutting of the
/// stream gives the same values, bit for bit. The sums differ from the recursion sample by
/// sample in their order only: by rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FourStep {
    /// y at the end of the last whole group.
    base: f64,
    /// The current group's partial sum t_j.
    t: f64,
    /// Samples of the current group done (0 … 3).
    phase: usize,
}

impl Default for FourStep {
    fn default() -> Self {
        Self::new()
    }
}

/// w·z + acc, fused when `FMA`. (A function that is always inlined, not a closure: a closure
/// the compiler kept apart would be compiled without the caller's instruction set, its fused
/// multiply-adds then calls to software.)
#[inline(always)]
pub(super) fn mac<const FMA: bool>(w: f64, z: f64, acc: f64) -> f64 {
    if FMA {
        w.mul_add(z, acc)
    } else {
        acc + w * z
    }
}

/// c, c², c³, c⁴: what y[−1] is multiplied by for each sample of a group.
#[inline(always)]
fn powers(c: f64) -> [f64; 4] {
    let c2 = c * c;
    [c, c2, c2 * c, c2 * c2]
}

/// One whole group of four from y[−1] = `y`: its outputs into `o`, and y[3] returned.
#[inline(always)]
fn group<const FMA: bool>(
    powers: &[f64; 4],
    c: f64,
    g: f64,
    y: f64,
    x: &[f64],
    o: &mut [f64],
) -> f64 {
    let t0 = g * x[0];
    let t1 = mac::<FMA>(c, t0, g * x[1]);
    let t2 = mac::<FMA>(c, t1, g * x[2]);
    let t3 = mac::<FMA>(c, t2, g * x[3]);
    o[0] = mac::<FMA>(powers[0], y, t0);
    o[1] = mac::<FMA>(powers[1], y, t1);
    o[2] = mac::<FMA>(powers[2], y, t2);
    let y = mac::<FMA>(powers[3], y, t3);
    o[3] = y;
    y
}

impl FourStep {
    pub const fn new() -> Self {
        FourStep {
            base: 0.0,
            t: 0.0,
            phase: 0,
        }
    }

    /// The recursion over `x` into `out` (as long), with fused multiply-adds when `FMA`.
    #[inline(always)]
    pub fn run<const FMA: bool>(&mut self, c: f64, g: f64, x: &[f64], out: &mut [f64]) {
        let powers = powers(c);
        let n = x.len().min(out.len());
        // The rest of a group a block before began, then whole groups, then the start of one.
        let head = ((4 - self.phase) % 4).min(n);
        for (o, &x) in out[..head].iter_mut().zip(&x[..head]) {
            *o = self.step::<FMA>(&powers, g, x);
        }
        let (x, out) = (&x[head..n], &mut out[head..n]);
        let mut y = self.base;
        let mut groups = out.chunks_exact_mut(4);
        for (o, x) in (&mut groups).zip(x.chunks_exact(4)) {
            y = group::<FMA>(&powers, c, g, y, x, o);
        }
        self.base = y;
        let whole = x.len() - x.len() % 4;
        for (o, &x) in groups.into_remainder().iter_mut().zip(&x[whole..]) {
            *o = self.step::<FMA>(&powers, g, x);
        }
    }

    /// Two recursions of the same coefficients over two streams (the two channels) in one
    /// loop, each summed exactly as [`run`](Self::run) sums it, so that one's chain waits
    /// while the other computes. The two stand at the same place in their groups (the engine
    /// gives both channels the same blocks); otherwise they run one after the other.
    #[inline(always)]
    pub fn run_two<const FMA: bool>(
        two: [&mut FourStep; 2],
        c: f64,
        g: f64,
        x: [&[f64]; 2],
        out: [&mut [f64]; 2],
    ) {
        let [r0, r1] = two;
        let [o0, o1] = out;
        let n = x[0].len().min(x[1].len()).min(o0.len()).min(o1.len());
        if r0.phase != r1.phase {
            r0.run::<FMA>(c, g, &x[0][..n], &mut o0[..n]);
            r1.run::<FMA>(c, g, &x[1][..n], &mut o1[..n]);
            return;
        }
        let powers = powers(c);
        let head = ((4 - r0.phase) % 4).min(n);
        for i in 0..head {
            o0[i] = r0.step::<FMA>(&powers, g, x[0][i]);
            o1[i] = r1.step::<FMA>(&powers, g, x[1][i]);
        }
        let whole = head + (n - head) / 4 * 4;
        let (mut y0, mut y1) = (r0.base, r1.base);
        let groups = o0[head..whole]
            .chunks_exact_mut(4)
            .zip(o1[head..whole].chunks_exact_mut(4))
            .zip(x[0][head..whole].chunks_exact(4))
            .zip(x[1][head..whole].chunks_exact(4));
        for (((o0, o1), x0), x1) in groups {
            y0 = group::<FMA>(&powers, c, g, y0, x0, o0);
            y1 = group::<FMA>(&powers, c, g, y1, x1, o1);
        }
        (r0.base, r1.base) = (y0, y1);
        for i in whole..n {
            o0[i] = r0.step::<FMA>(&powers, g, x[0][i]);
            o1[i] = r1.step::<FMA>(&powers, g, x[1][i]);
        }
    }

    /// One sample, as the groups compute it: t_j from t_{j−1}, y from the group's base.
    #[inline(always)]
    fn step<const FMA: bool>(&mut self, powers: &[f64; 4], g: f64, x: f64) -> f64 {
        let j = self.phase;
        let t = if j == 0 {
            g * x
        } else {
            mac::<FMA>(powers[0], self.t, g * x)
        };
        let y = mac::<FMA>(powers[j], self.base, t);
        if j == 3 {
            (self.base, self.t, self.phase) = (y, 0.0, 0);
        } else {
            (self.t, self.phase) = (t, j + 1);
        }
        y
    }

    /// Sets a state that has decayed below 1e-30 to zero (its outputs then move by less than
    /// that), so that a long silence never reaches subnormals. Called at the end of a block,
    /// it is the one step that depends on the cutting, and only below 1e-30.
    pub fn flush(&mut self) {
        if self.base.abs() < 1e-30 && self.t.abs() < 1e-30 {
            (self.base, self.t) = (0.0, 0.0);
        }
    }

    /// y at the end of the last whole group (after a flush, zero in silence).
    pub fn base(&self) -> f64 {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four samples per step of the chain give the recursion sample by sample, for every
    /// length and any cutting into blocks (bit for bit alike), plain and fused.
    #[test]
    fn four_steps_are_the_recursion() {
        let c = 0.999_3;
        let n = 61;
        let x: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let mut want = Vec::new();
        let mut y = 0.0;
        for &v in &x {
            y = c * y + 0.5 * v;
            want.push(y);
        }
        for fma in [false, true] {
            let run = |r: &mut FourStep, x: &[f64], out: &mut [f64]| {
                if fma {
                    r.run::<true>(c, 0.5, x, out)
                } else {
                    r.run::<false>(c, 0.5, x, out)
                }
            };
            let mut whole = vec![f64::NAN; n];
            run(&mut FourStep::new(), &x, &mut whole);
            for (i, (a, b)) in whole.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-13, "fma {fma} at {i}: {a} vs {b}");
            }
            for sizes in [&[1usize][..], &[3, 0, 5, 2], &[7], &[4, 9, 1]] {
                let mut r = FourStep::new();
                let mut got = vec![f64::NAN; n];
                let mut i = 0;
                for &b in sizes.iter().cycle() {
                    if i >= n {
                        break;
                    }
                    let b = b.min(n - i);
                    run(&mut r, &x[i..i + b], &mut got[i..i + b]);
                    i += b;
                }
                assert!(got == whole, "fma {fma}, blocks {sizes:?}");
            }
        }
    }

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
                assert!(
                    f.y.base() == 0.0 || f.y.base().abs() >= 1e-30,
                    "{}",
                    f.y.base()
                );
            }
            assert_eq!(out, [0.0; 32]);
        }
    }

    /// Both channels in one loop give each channel's values bit for bit, for the recursion
    /// and the blocker, whatever the cutting (the blocks start at any place in a group), and
    /// also for two recursions that stand at different places (they then run one by one).
    #[test]
    fn two_channels_at_once_are_each_alone() {
        let n = 203;
        let x: [Vec<f64>; 2] = [
            (0..n)
                .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
                .collect(),
            (0..n)
                .map(|i| ((i * 104_729) % 97) as f64 / 40.0 - 1.2)
                .collect(),
        ];
        let xf: [Vec<f32>; 2] = [0, 1].map(|c| x[c].iter().map(|&v| v as f32).collect());
        let (c, g) = (0.999_3, 0.25);
        for sizes in [&[64usize][..], &[3, 5, 64, 2], &[7, 1], &[4, 9, 1, 70]] {
            // Alone, one channel after the other, as one stream each.
            let mut want = [vec![0.0; n], vec![0.0; n]];
            let mut want_dc = [vec![0.0; n], vec![0.0; n]];
            for ch in 0..2 {
                FourStep::new().run::<true>(c, g, &x[ch], &mut want[ch]);
                DcBlocker::new(DC_BLOCK_HZ, 48_000.0)
                    .process_block::<true>(&xf[ch], &mut want_dc[ch]);
            }
            let mut r = [FourStep::new(); 2];
            let mut d = [DcBlocker::new(DC_BLOCK_HZ, 48_000.0); 2];
            let mut got = [vec![f64::NAN; n], vec![f64::NAN; n]];
            let mut got_dc = [vec![f64::NAN; n], vec![f64::NAN; n]];
            let mut i = 0;
            for &b in sizes.iter().cycle() {
                if i >= n {
                    break;
                }
                let b = b.min(n - i);
                let [r0, r1] = &mut r;
                let [g0, g1] = &mut got;
                FourStep::run_two::<true>(
                    [r0, r1],
                    c,
                    g,
                    [&x[0][i..i + b], &x[1][i..i + b]],
                    [&mut g0[i..i + b], &mut g1[i..i + b]],
                );
                let [d0, d1] = &mut got_dc;
                DcBlocker::process_two::<true>(
                    &mut d,
                    [&xf[0][i..i + b], &xf[1][i..i + b]],
                    [&mut d0[i..i + b], &mut d1[i..i + b]],
                );
                i += b;
            }
            assert!(got == want, "blocks {sizes:?}");
            assert!(got_dc == want_dc, "blocks {sizes:?}");
        }
        // Two recursions at different places in their groups: each as it would alone.
        let mut r = [FourStep::new(); 2];
        let mut skip = [0.0; 1];
        r[1].run::<true>(c, g, &x[1][..1], &mut skip);
        let mut want = [vec![0.0; n - 1], vec![0.0; n - 1]];
        {
            let mut alone = r;
            alone[0].run::<true>(c, g, &x[0][..n - 1], &mut want[0]);
            alone[1].run::<true>(c, g, &x[1][1..], &mut want[1]);
        }
        let mut got = [vec![0.0; n - 1], vec![0.0; n - 1]];
        let [r0, r1] = &mut r;
        let [g0, g1] = &mut got;
        FourStep::run_two::<true>(
            [r0, r1],
            c,
            g,
            [&x[0][..n - 1], &x[1][1..]],
            [&mut g0[..], &mut g1[..]],
        );
        assert!(got == want);
    }
}
