//! Memoryless curves of the output stage: colour, rails, current limit and the receiver's
//! input clip. All are odd-symmetric (but Tube), smooth (C²) and bounded by their limit, so
//! that at the internal rate their harmonics fold back far below the audio band.

use crate::model::ClipShape;
use std::sync::OnceLock;

/// A limiter that is exactly linear up to `knee · limit` and then bends towards `limit` along
/// a tanh, never reaching it: y = kL + (1−k)L·tanh((|x| − kL)/((1−k)L)).
/// At the knee the slope is 1 and the curvature 0, so the curve is C².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeLimiter {
    /// Where the bend starts (|x| ≤ knee_at passes unchanged).
    knee_at: f64,
    /// Room between the knee and the limit: (1 − k)·L.
    span: f64,
    inv_span: f64,
}

impl KneeLimiter {
    /// `limit` > 0, `knee` in (0, 1).
    pub fn new(limit: f64, knee: f64) -> Self {
        let span = (1.0 - knee) * limit;
        KneeLimiter {
            knee_at: knee * limit,
            span,
            inv_span: 1.0 / span,
        }
    }

    /// Where the bend starts: below this magnitude the curve is the straight line.
    pub fn knee_at(&self) -> f64 {
        self.knee_at
    }

    /// The largest magnitude the curve approaches.
    pub fn limit(&self) -> f64 {
        self.knee_at + self.span
    }

    /// The magnitude up to which the curve stays within `tol`·knee of its straight line.
    /// Past the knee by δ it falls short of the line by δ − s·tanh(δ/s) ≤ δ³/(3s²), s being
    /// the span (tanh u ≥ u − u³/3 for u ≥ 0: the curve is C² at the knee, so it leaves the
    /// line as a cube), hence δ = ∛(3·s²·tol·knee).
    pub fn straight_until(&self, tol: f64) -> f64 {
        self.knee_at + (3.0 * self.span * self.span * tol * self.knee_at).cbrt()
    }

    #[inline(always)]
    pub fn apply(&self, x: f64) -> f64 {
        let a = x.abs();
        if a <= self.knee_at {
            x
        } else {
            let y = self.knee_at + self.span * fast_tanh((a - self.knee_at) * self.inv_span);
            y.copysign(x)
        }
    }

    /// `out` = the curve of `x` times `scale`, in single precision: [`apply`](Self::apply)
    /// sample by sample, the same values, but a group of eight that stays below the knee
    /// (nearly every group) goes as the straight line in vector registers, without the
    /// branch per sample and the exponential's call that keep the plain loop scalar.
    #[inline(always)]
    pub fn apply_scaled(&self, x: &[f64], scale: f64, out: &mut [f32]) {
        const GROUP: usize = 8;
        let knee = self.knee_at;
        let n = x.len().min(out.len());
        for (o, x) in out[..n].chunks_mut(GROUP).zip(x[..n].chunks(GROUP)) {
            // (A NaN fails the test and takes the curve, as in `apply`.)
            if x.iter().fold(true, |s, &v| s & (v.abs() <= knee)) {
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = (v * scale) as f32;
                }
            } else {
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = (self.apply(v) * scale) as f32;
                }
            }
        }
    }
}

/// tanh from one exponential: tanh|x| = (1 − e^{−2|x|}) / (1 + e^{−2|x|}), exact to rounding
/// and saturating without overshoot.
#[inline(always)]
pub fn fast_tanh(x: f64) -> f64 {
    let t = (-2.0 * x.abs()).exp();
    ((1.0 - t) / (1.0 + t)).copysign(x)
}

/// e^t for t ≤ 0 in single precision, from whole powers of two and a polynomial, so that it
/// runs in vector registers: t = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to
/// r⁶ (relative error below 1.3e-7), 2^k put straight into the exponent bits. Below −80 it
/// holds at e^−80 (1.8e-35, never subnormal).
#[inline(always)]
pub fn exp_neg_f32(t: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that k·LN2_HI is exact for |k| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2^23 rounds to the nearest whole number.
    const ROUND: f32 = 12_582_912.0;
    let t = t.max(-80.0);
    let k = (t * LOG2_E + ROUND) - ROUND;
    let r = (t - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let two_k = f32::from_bits(((k as i32 + 127) as u32) << 23);
    p * two_k
}

/// tanh a for a ≥ 0 in single precision: (1 − e^{−2a}) / (1 + e^{−2a}), exactly 0 at 0 and
/// saturating without overshoot.
#[inline(always)]
pub fn tanh_pos_f32(a: f32) -> f32 {
    let e = exp_neg_f32(-2.0 * a);
    (1.0 - e) / (1.0 + e)
}

/// [`colour_curve`] in single precision.
#[inline(always)]
pub fn colour_curve_f32(x: f32) -> f32 {
    let x = x.max(-3.0).min(3.0);
    let x2 = x * x;
    x * (27.0 + x2) / (27.0 + 9.0 * x2)
}

/// The colour stage's curve: the [3/2] Padé approximant of tanh, x(27 + x²)/(27 + 9x²), held at
/// ±1 beyond |x| = 3, where its slope reaches zero (so the curve stays smooth, C¹). Monotonic:
/// its derivative is 9(x² − 9)²/(27 + 9x²)² ≥ 0. One division instead of an exponential: the
/// colour runs on every internal sample.
#[inline(always)]
pub fn colour_curve(x: f64) -> f64 {
    let x = x.clamp(-3.0, 3.0);
    let x2 = x * x;
    x * (27.0 + x2) / (27.0 + 9.0 * x2)
}

/// Knee of the rails for each clip shape: where the curve leaves the straight line, as a
/// fraction of `v_clip`. Soft bends early and gently, Hard stays straight almost to the rail,
/// Tube bends early on the positive swing and late on the negative one (even harmonics).
fn rail_knees(shape: ClipShape) -> (f64, f64) {
    match shape {
        ClipShape::Soft => (0.7, 0.7),
        ClipShape::Hard => (0.93, 0.93),
        ClipShape::Tube => (0.5, 0.8),
    }
}

/// The rail limit of the stage: |v| stays below `v_clip`, bent according to the clip shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rails {
    pos: KneeLimiter,
    neg: KneeLimiter,
    v_clip: f64,
}

impl Rails {
    pub fn new(v_clip: f64, shape: ClipShape) -> Self {
        let (kp, kn) = rail_knees(shape);
        Rails {
            pos: KneeLimiter::new(v_clip, kp),
            neg: KneeLimiter::new(v_clip, kn),
            v_clip,
        }
    }

    /// Where the positive and the negative swing start to bend, V (both positive).
    pub fn knees(&self) -> (f64, f64) {
        (self.pos.knee_at(), self.neg.knee_at())
    }

    /// Up to where each swing stays within `tol` of its knee of the straight line, V (both
    /// positive): [`KneeLimiter::straight_until`].
    pub fn straight_until(&self, tol: f64) -> (f64, f64) {
        (self.pos.straight_until(tol), self.neg.straight_until(tol))
    }

    /// True when the rails take away more than 1 % of the demanded voltage `v` (`out` is
    /// what they let through).
    #[inline(always)]
    pub fn clipping(&self, v: f32, out: f32) -> bool {
        v.abs() - out.abs() > 0.01 * v.abs()
    }

    #[inline(always)]
    pub fn apply(&self, v: f64) -> f64 {
        if v >= 0.0 {
            self.pos.apply(v)
        } else {
            self.neg.apply(v)
        }
    }

    /// [`apply`](Self::apply) over a block in single precision, without branches so that it
    /// runs in vector registers: y = min(|v|, knee) + span·tanh(max(|v| − knee, 0)/span) with
    /// the sign of v, the knee and span of the side v is on.
    ///
    /// Below its knee the curve is v itself, bit for bit (tanh(0) is exactly 0 here), and the
    /// full path runs mostly below the knees (it takes over when a value comes near one): a
    /// group of sixteen demands that all lie below them is copied, and only the groups that
    /// reach a knee pay for the exponentials.
    #[inline(always)]
    pub fn apply_block(&self, demand: &[f32], out: &mut [f32]) {
        const GROUP: usize = 16;
        let (kp, kn) = (self.pos.knee_at as f32, self.neg.knee_at as f32);
        let n = demand.len().min(out.len());
        // (The last group may be shorter. One call of the curve: inlined once, which keeps
        // unoptimised builds' frames small.)
        for (o, d) in out[..n].chunks_mut(GROUP).zip(demand[..n].chunks(GROUP)) {
            // (A NaN fails both tests and takes the curve.)
            let straight = d.iter().fold(true, |s, &v| s & (v <= kp) & (v >= -kn));
            if straight {
                // (A whole group as one fixed-size move: a slice copy would call `memcpy`.)
                match (
                    <&mut [f32; GROUP]>::try_from(&mut *o),
                    <&[f32; GROUP]>::try_from(d),
                ) {
                    (Ok(o), Ok(d)) => *o = *d,
                    _ => o.copy_from_slice(d),
                }
            } else {
                self.bend_block(d, o);
            }
        }
    }

    /// The curve over every value of `demand`, below its knees or not.
    #[inline(always)]
    fn bend_block(&self, demand: &[f32], out: &mut [f32]) {
        let (kp, sp, ip) = (
            self.pos.knee_at as f32,
            self.pos.span as f32,
            self.pos.inv_span as f32,
        );
        let (kn, sn, inn) = (
            self.neg.knee_at as f32,
            self.neg.span as f32,
            self.neg.inv_span as f32,
        );
        for (o, &v) in out.iter_mut().zip(demand) {
            let neg = v < 0.0;
            let knee = if neg { kn } else { kp };
            let span = if neg { sn } else { sp };
            let inv = if neg { inn } else { ip };
            let a = v.abs();
            let y = a.min(knee) + span * tanh_pos_f32((a - knee).max(0.0) * inv);
            *o = y.copysign(v);
        }
    }
}

/// Bias of the Tube colour curve: tanh(u + b) − tanh(b) is asymmetric, so its distortion is
/// mostly second harmonic.
const TUBE_BIAS: f64 = 0.35;

/// The stage's colour: a static curve ([`colour_curve`]) with unit slope at zero whose distortion, for a sine at
/// half the rail, is `color` percent (DESIGN §2). Soft and Hard stages have a symmetric tanh
/// (odd harmonics); Tube a biased one (second harmonic first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    /// Scale of the curve, V: y = s·f(v/s). Zero means no colour.
    scale: f64,
    inv_scale: f64,
    tube: bool,
    /// 1 / f'(0) for the biased curve, so that the small-signal gain stays 1.
    tube_norm: f64,
    tube_offset: f64,
}

impl Colour {
    pub const OFF: Colour = Colour {
        scale: 0.0,
        inv_scale: 0.0,
        tube: false,
        tube_norm: 1.0,
        tube_offset: 0.0,
    };

    /// `color_pct` percent THD for a sine of amplitude v_clip/2, using `table` to find the
    /// drive ratio r = amplitude / scale that gives it.
    pub fn new(color_pct: f64, v_clip: f64, shape: ClipShape, table: &ColourTable) -> Self {
        let thd = color_pct / 100.0;
        let tube = shape == ClipShape::Tube;
        let r = table.ratio_for(thd, tube);
        if r <= 0.0 {
            return Colour::OFF;
        }
        let scale = 0.5 * v_clip / r;
        let t = colour_curve(TUBE_BIAS);
        // Slope of the curve at the bias point, so that the small-signal gain stays 1.
        let slope = (colour_curve(TUBE_BIAS + 1e-6) - colour_curve(TUBE_BIAS - 1e-6)) / 2e-6;
        Colour {
            scale,
            inv_scale: 1.0 / scale,
            tube,
            tube_norm: 1.0 / slope,
            tube_offset: t,
        }
    }

    /// The colour of `drive`·x for a block of `x` in single precision: [`apply`](Self::apply)
    /// with the choice of curve made once per block.
    #[inline(always)]
    pub fn apply_block(&self, drive: f64, x: &[f32], out: &mut [f32]) {
        if self.scale == 0.0 {
            let g = drive as f32;
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v * g;
            }
            return;
        }
        let g = (drive * self.inv_scale) as f32;
        if self.tube {
            let a = (self.scale * self.tube_norm) as f32;
            let (b, off) = (TUBE_BIAS as f32, self.tube_offset as f32);
            for (o, &v) in out.iter_mut().zip(x) {
                *o = a * (colour_curve_f32(v * g + b) - off);
            }
        } else {
            let a = self.scale as f32;
            for (o, &v) in out.iter_mut().zip(x) {
                *o = a * colour_curve_f32(v * g);
            }
        }
    }

    #[inline(always)]
    pub fn apply(&self, v: f64) -> f64 {
        if self.scale == 0.0 {
            return v;
        }
        let u = v * self.inv_scale;
        if self.tube {
            self.scale * self.tube_norm * (colour_curve(u + TUBE_BIAS) - self.tube_offset)
        } else {
            self.scale * colour_curve(u)
        }
    }
}

/// Drive ratios r (sine amplitude over curve scale) against the THD they produce, for the
/// symmetric and the biased curve, computed once from a DFT of one period per ratio
/// ([`shared`](Self::shared): once per process, as it depends on nothing but the curves).
#[derive(Debug, Clone)]
pub struct ColourTable {
    ratios: [f64; Self::N],
    thd_sym: [f64; Self::N],
    thd_tube: [f64; Self::N],
}

impl ColourTable {
    const N: usize = 128;
    const R_MIN: f64 = 1e-5;
    const R_MAX: f64 = 20.0;

    pub fn new() -> Self {
        let mut ratios = [0.0; Self::N];
        let mut thd_sym = [0.0; Self::N];
        let mut thd_tube = [0.0; Self::N];
        for i in 0..Self::N {
            let r = Self::R_MIN * (Self::R_MAX / Self::R_MIN).powf(i as f64 / (Self::N - 1) as f64);
            ratios[i] = r;
            thd_sym[i] = thd_of(colour_curve, r);
            let t = colour_curve(TUBE_BIAS);
            thd_tube[i] = thd_of(|x| colour_curve(x + TUBE_BIAS) - t, r);
        }
        ColourTable {
            ratios,
            thd_sym,
            thd_tube,
        }
    }

    /// The table, computed the first time it is asked for and kept for the life of the
    /// process. A host may activate the plugin again and again (pedalboard does before every
    /// render), and each engine used to compute its own: 256 DFTs, a few milliseconds, about
    /// 2.5 % of what a minute of audio costs the engine in pedalboard.
    pub fn shared() -> &'static ColourTable {
        static TABLE: OnceLock<ColourTable> = OnceLock::new();
        TABLE.get_or_init(ColourTable::new)
    }

    /// The drive ratio giving `thd` (a fraction), by log–log interpolation; 0 for no colour.
    pub fn ratio_for(&self, thd: f64, tube: bool) -> f64 {
        let t = if tube { &self.thd_tube } else { &self.thd_sym };
        if thd <= t[0] {
            // Below the table the symmetric curve's THD grows as r², the biased one's as r.
            let below = if tube {
                thd / t[0]
            } else {
                (thd / t[0]).sqrt()
            };
            return if thd <= 0.0 {
                0.0
            } else {
                self.ratios[0] * below
            };
        }
        for i in 1..Self::N {
            if thd <= t[i] {
                let (l0, l1) = (t[i - 1].ln(), t[i].ln());
                let a = (thd.ln() - l0) / (l1 - l0);
                return (self.ratios[i - 1].ln() * (1.0 - a) + self.ratios[i].ln() * a).exp();
            }
        }
        self.ratios[Self::N - 1]
    }
}

impl Default for ColourTable {
    fn default() -> Self {
        Self::new()
    }
}

/// THD (ratio of the RMS of harmonics 2…32 to the fundamental) of f(r·sin θ), from a DFT of
/// one period in 256 points. The DFT's sines and cosines come from one table of a period
/// (sin 2π·hk/M = table[hk mod M]), so a whole [`ColourTable`] costs milliseconds.
pub fn thd_of(f: impl Fn(f64) -> f64, r: f64) -> f64 {
    const M: usize = 256;
    let sin: Vec<f64> = (0..M)
        .map(|k| (std::f64::consts::TAU * k as f64 / M as f64).sin())
        .collect();
    let y: Vec<f64> = sin.iter().map(|s| f(r * s)).collect();
    let harmonic = |h: usize| {
        let (mut re, mut im) = (0.0, 0.0);
        for (k, v) in y.iter().enumerate() {
            let ph = (h * k) % M;
            re += v * sin[(ph + M / 4) % M];
            im += v * sin[ph];
        }
        (re * re + im * im).sqrt()
    };
    let fundamental = harmonic(1);
    let rest: f64 = (2..=32).map(|h| harmonic(h).powi(2)).sum::<f64>().sqrt();
    rest / fundamental
}

/// Knee of the current limit as a fraction of `i_max`: an output stage's protection (a sense
/// resistor driving a clamp transistor) bends gradually, over the last 30 % before the limit;
/// a sharper bend would also fold its high harmonics back into the audio band (measured −72 dB
/// at a knee of 0.9, against −80 dB required).
pub const CURRENT_LIMIT_KNEE: f64 = 0.7;
/// Knee of a receiver's input clip as a fraction of its maximum input.
pub const RECEIVER_KNEE: f64 = 0.9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_matches_tanh() {
        for i in -4000..=4000 {
            let x = i as f64 * 0.01;
            assert!((fast_tanh(x) - x.tanh()).abs() < 1e-15, "{x}");
        }
    }

    #[test]
    fn single_precision_curves_follow_the_double_ones() {
        for i in 0..=16_000 {
            // Compared at the single-precision argument, whose rounding is not the curve's.
            let t = (-(i as f64) * 0.005) as f32 as f64;
            let e = exp_neg_f32(t as f32) as f64;
            assert!((e / t.exp() - 1.0).abs() < 4e-7, "exp {t}: {e}");
        }
        for i in 0..=10_000 {
            let a = (i as f64 * 0.002) as f32 as f64;
            let y = tanh_pos_f32(a as f32) as f64;
            assert!((y - a.tanh()).abs() < 2e-7, "tanh {a}: {y}");
        }
        assert_eq!(exp_neg_f32(-1e30), exp_neg_f32(-80.0));
        assert_eq!(tanh_pos_f32(0.0), 0.0);
        assert_eq!(tanh_pos_f32(1e30), 1.0);
        for shape in [ClipShape::Soft, ClipShape::Hard, ClipShape::Tube] {
            let r = Rails::new(2.0, shape);
            let x: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.002).collect();
            let mut y = vec![0.0; x.len()];
            r.apply_block(&x, &mut y);
            for (&v, &o) in x.iter().zip(&y) {
                let want = r.apply(v as f64);
                assert!(
                    (o as f64 - want).abs() < 1e-6 * 2.0,
                    "{shape:?} {v}: {o} vs {want}"
                );
            }
        }
        let table = ColourTable::new();
        for shape in [ClipShape::Soft, ClipShape::Tube] {
            let c = Colour::new(5.0, 6.0, shape, &table);
            let x: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 0.01).collect();
            let mut y = vec![0.0; x.len()];
            c.apply_block(1.5, &x, &mut y);
            for (&v, &o) in x.iter().zip(&y) {
                let want = c.apply(1.5 * v as f64);
                assert!(
                    (o as f64 - want).abs() < 2e-6 * (1.0 + want.abs()),
                    "{v}: {o} vs {want}"
                );
            }
        }
    }

    /// Over a block, groups below the knee and groups across it give the curve sample by
    /// sample, scaled, for every length (whole groups of eight and the rest).
    #[test]
    fn knee_limiter_over_a_block_is_the_curve() {
        let k = KneeLimiter::new(2.0, 0.7);
        let scale = 0.37;
        for n in [0, 1, 7, 8, 9, 23, 64, 77] {
            // A swing that crosses the knee (1.4) in its middle only.
            let x: Vec<f64> = (0..n)
                .map(|j| 2.5 * (j as f64 * 0.07).sin() * (j as f64 / 40.0).min(1.0))
                .collect();
            let mut got = vec![f32::NAN; n];
            k.apply_scaled(&x, scale, &mut got);
            for (j, (&g, &v)) in got.iter().zip(&x).enumerate() {
                assert_eq!(g, (k.apply(v) * scale) as f32, "{n} samples, sample {j}");
            }
        }
    }

    #[test]
    fn knee_limiter_is_straight_then_bounded() {
        let k = KneeLimiter::new(2.0, 0.7);
        assert_eq!(k.apply(1.3), 1.3);
        assert_eq!(k.apply(-1.4), -1.4);
        for x in [1.5, 3.0, 10.0, 1e6] {
            assert!(k.apply(x) <= 2.0 && k.apply(x) > 1.4);
            assert_eq!(k.apply(-x), -k.apply(x));
        }
        // Slope 1 at the knee: a finite difference across it.
        let d = (k.apply(1.4 + 1e-6) - k.apply(1.4 - 1e-6)) / 2e-6;
        assert!((d - 1.0).abs() < 1e-6);
    }

    #[test]
    fn colour_gives_its_thd_at_half_rail() {
        let table = ColourTable::new();
        for shape in [ClipShape::Soft, ClipShape::Tube] {
            for pct in [0.01, 0.1, 1.0, 5.0, 10.0] {
                let c = Colour::new(pct, 6.0, shape, &table);
                let thd = thd_of(|x| c.apply(x), 3.0) * 100.0;
                assert!(
                    (thd / pct - 1.0).abs() < 0.02,
                    "{shape:?} {pct}% gave {thd}%"
                );
                let d = (c.apply(1e-6) - c.apply(-1e-6)) / 2e-6;
                assert!((d - 1.0).abs() < 1e-6, "small-signal slope {d}");
            }
        }
        assert_eq!(Colour::new(0.0, 6.0, ClipShape::Soft, &table), Colour::OFF);
    }

    /// The rails over a block: below the knees the demand itself, bit for bit, and across
    /// them the curve sample by sample, whether a group of sixteen lies below them or not
    /// (groups that do are copied; the others, a NaN among them, take the curve).
    #[test]
    fn rails_over_a_block_are_the_curve() {
        for shape in [ClipShape::Soft, ClipShape::Hard, ClipShape::Tube] {
            let r = Rails::new(2.0, shape);
            let (kp, kn) = r.knees();
            // Quiet groups, groups with one sample past a knee, a remainder of five.
            let mut x: Vec<f32> = (0..165)
                .map(|i| (0.9 * (i as f64 * 0.37).sin() * kp.min(kn)) as f32)
                .collect();
            x[20] = (1.3 * kp) as f32;
            x[70] = (-1.2 * kn) as f32;
            x[100] = f32::NAN;
            x[163] = 3.0;
            let mut y = vec![0.0; x.len()];
            r.apply_block(&x, &mut y);
            for (i, (&v, &o)) in x.iter().zip(&y).enumerate() {
                if v.is_nan() {
                    // (The curve's min and max pass over a NaN: it comes out held within the
                    // rails, as the curve has always treated it.)
                    assert!(o.abs() <= 2.0, "{shape:?} at {i}: {o}");
                } else if v as f64 <= kp && v as f64 >= -kn {
                    assert_eq!(o.to_bits(), v.to_bits(), "{shape:?} at {i}");
                } else {
                    let want = r.apply(v as f64);
                    assert!(
                        (o as f64 - want).abs() < 2e-6,
                        "{shape:?} {v}: {o} vs {want}"
                    );
                    assert!(o.abs() < v.abs(), "{shape:?} {v}: {o} bends");
                }
            }
        }
    }

    /// Up to `straight_until(tol)` each curve stays within tol·knee of its straight line, and
    /// a little further it does not (the bound is the curve's own leading term, not loose).
    #[test]
    fn curves_stay_straight_until_they_say() {
        let tol = 1e-5;
        for (limit, knee) in [
            (12.0, 0.5),
            (12.0, 0.8),
            (0.8, 0.7),
            (2.0, 0.9),
            (3.0, 0.93),
        ] {
            let k = KneeLimiter::new(limit, knee);
            let at = k.straight_until(tol);
            let short = |x: f64| x - k.apply(x);
            let allowed = tol * k.knee_at();
            assert!(at > k.knee_at(), "{limit} {knee}: {at}");
            assert!(
                short(at) <= allowed,
                "{limit} {knee}: {} > {allowed}",
                short(at)
            );
            assert!(short(at) > 0.9 * allowed, "{limit} {knee}: {}", short(at));
            assert!(
                short(1.1 * at - 0.1 * k.knee_at()) > allowed,
                "{limit} {knee}"
            );
        }
    }
}
