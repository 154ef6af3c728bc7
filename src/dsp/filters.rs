//! Small linear filters: the DC blocker of the output, and the first-order recursion it
//! shares with the engine's running power average ([`FourStep`]).

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
    /// decay would take about 10⁷ samples to get there, and the engine's blocks are at most 64.
    #[inline(always)]
    pub fn process_block<const FMA: bool>(&mut self, x: &[f32], out: &mut [f64]) {
        const CHUNK: usize = 64;
        let n = x.len().min(out.len());
        for (x, out) in x[..n].chunks(CHUNK).zip(out[..n].chunks_mut(CHUNK)) {
            let mut diff = [0.0f64; CHUNK];
            let mut before = self.x1;
            for (d, &v) in diff.iter_mut().zip(x) {
                let v = v as f64;
                *d = v - before;
                before = v;
            }
            self.x1 = before;
            self.y
                .run::<FMA>(self.a, self.a, &diff[..x.len()], &mut out[..x.len()]);
        }
        self.y.flush();
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
        let c2 = c * c;
        let powers = [c, c2, c2 * c, c2 * c2];
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
            let t0 = g * x[0];
            let t1 = mac::<FMA>(c, t0, g * x[1]);
            let t2 = mac::<FMA>(c, t1, g * x[2]);
            let t3 = mac::<FMA>(c, t2, g * x[3]);
            o[0] = mac::<FMA>(powers[0], y, t0);
            o[1] = mac::<FMA>(powers[1], y, t1);
            o[2] = mac::<FMA>(powers[2], y, t2);
            y = mac::<FMA>(powers[3], y, t3);
            o[3] = y;
        }
        self.base = y;
        let whole = x.len() - x.len() % 4;
        for (o, &x) in groups.into_remainder().iter_mut().zip(&x[whole..]) {
            *o = self.step::<FMA>(&powers, g, x);
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
}
