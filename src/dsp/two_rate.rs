//! Two ways through one circuit: a fast path at twice the host rate for the stretches where no
//! nonlinearity is near its knee, and the full path at the internal rate for the rest.
//!
//! ```text
//!  host ─ ×2 up ─┬─ fast: colour, DC, noise, rails at ×2 ─ coarse network ─ hum, receiver ─ delay ─┬─ ×2 down ─ host
//!                └─ full: ×F/2 up ─ the same stage at ×F ─ network with the current limit ─ … ─ ×F/2 down ─┘
//! ```
//!
//! Both paths are the same circuit. The fast one sees the same band-limited signal (twice the
//! host rate keeps 20 kHz far from its Nyquist frequency), runs the network through
//! [`CoarseNetwork`](super::coarse_network::CoarseNetwork), whose state is the full solver's
//! state at every coarse instant, and adds hum and the receiver at the coarse rate. Its output
//! waits in a delay line as long as the later stages' round trip, so that both paths deliver a
//! coarse sample at the same step. Every curve is straight below its knee (and within 1e-5 of
//! its knee of the line a little beyond, [`STRAIGHT`]), so while no value at the internal rate
//! goes further the two paths agree to the interpolation error, plus at most that 1e-5 where
//! a value lies just past a knee (measured before [`STRAIGHT`]: within 8e-7 of full scale,
//! switching back and forth, colour and hum on, for signals below 20 kHz; with it, the
//! engine's test of a tone swinging past the current limit reads 8.3e-7 at 48 kHz, 1.3e-6 at
//! 32 kHz and 2.1e-6 at 96 kHz; full-band noise up to 24 kHz near a knee: within 6e-5, as the
//! interpolators are designed for the band below 20 kHz). The fast
//! path sees only every fourth (or so) of those values; it bounds the ones between its samples
//! from its samples' slope and curvature ([`reach`]), and hands over when the bound comes
//! within [`SAFETY`] of where a curve leaves its straight line by more than [`STRAIGHT`] of
//! its knee (the curves are C² there: they leave the line as a cube, a little past the knee).
//! The colour alone bends there. At twice the host rate a harmonic folds into the audio band
//! only above 76 kHz: never the third, the fifth of tones above 15.2 kHz. At 3 % colour and the
//! fast path's top level the fifth lies 69 dB below its tone (Soft and Hard; the Tube curve's
//! fourth 84 dB, its fifth 118 dB), so only a strong pure tone above 15 kHz could leave an
//! alias above −80 dB of itself — a known limit of this path (see `benches/SPEED.md`).
//!
//! Switching, per channel, without a seam:
//! - **to the full path** at the first host sample where the fast path's bound between samples
//!   comes near a knee. The full path restarts a little in the past: its network from the fast one's
//!   state at that time, its interpolator replayed over the last coarse samples. Until its
//!   decimator has filled with its own samples, the output keeps coming from the fast path's
//!   delay line, which already holds those samples.
//! - **back to the fast path** at the first host sample after [`Rates::calm_steps`] calm
//!   coarse samples: the fast network takes the full one's state from the round trip's length ago and
//!   catches up over the delay line, so the output continues from the delay line at once.
//!
//! Every decision depends only on the signal up to the sample it is taken at, so the result
//! does not depend on how the host cuts its blocks.

use super::coarse_network::{CoarseOutput, StateRing, StretchOutputs, PAIR_INPUTS};
use super::fractional_delay::{LOOKAHEAD, TAPS};
use super::isa::Isa;
use super::network::NetworkState;
use super::noise::NoiseSource;
use super::oversampling::{Oversampler, MAX_BLOCK, MAX_FACTOR};
use super::path::PathCoeffs;

/// Coarse samples kept in each ring (a power of two): a run and, behind it, more than any run
/// reads back (the full path's replay, a round trip, the histories: a few dozen).
pub const RING: usize = 1024;
const MASK: u64 = RING as u64 - 1;
const _: () = assert!(RING.is_power_of_two() && RING >= MAX_COARSE_RUN + 3 * REPLAY);
/// How far below each curve's [`STRAIGHT`] limit the bounds must stay (a factor): the bound
/// below misses a peak between samples by at most 0.6 %, and the full path's interpolator and
/// the colour's harmonics may add a little.
pub const SAFETY: f64 = 1.02;
/// How far from its straight line a curve may be where the fast path lets the signal through
/// it unbent: 1e-5 of its knee (−100 dB), below the coarse network's own error against the
/// solver (outputs within 2.6e-5 of their peaks). Every curve is C² at its knee and leaves the line as a cube, so this
/// reaches past the knee by ∛(3·span²·1e-5·knee): 3.1 % of the knee where the span equals it
/// (the Tube rails' positive swing), 1.2 % where it is a quarter of it
/// ([`KneeLimiter::straight_until`](super::shapers::KneeLimiter::straight_until)).
pub const STRAIGHT: f64 = 1e-5;
/// Weight of the second differences in the bound between samples (see [`reach`]).
pub const CURVATURE: f32 = 0.35;
/// Coarse samples the full path's interpolator is replayed over when it takes over: more than
/// its histories hold.
const REPLAY: usize = 32;
/// Most coarse samples in one run of either path.
pub const MAX_COARSE_RUN: usize = 2 * MAX_BLOCK + LOOKAHEAD + 1;
/// Coarse samples a fast run reaches back before its network's first, for a quad whose first
/// pair the run before left pending
/// ([`CoarseQuad::run_stretch`](super::coarse_network::CoarseQuad::run_stretch)).
const LEAD: usize = 2;
/// Most internal samples in one run of the full path.
pub const MAX_FULL_RUN: usize = MAX_COARSE_RUN * MAX_FACTOR / 2;

/// The engine's rates: internal (×F), coarse (×2, or the host rate when F = 1) and host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub host: f64,
    pub internal: f64,
    /// Internal samples per coarse sample.
    pub steps: usize,
    /// Coarse samples per host sample.
    pub per_host: usize,
    /// Delay of the later stages' interpolator and of their round trip, coarse samples.
    pub up_latency: u64,
    pub round_trip: u64,
    /// Coarse samples before the host sample that came near a knee from which the full path
    /// delivers: at least [`LOOKAHEAD`] (the fast network's values that far behind its newest
    /// input are the first it checks), and such that the full path starts from a state the
    /// fast one holds (it keeps them at whole host samples).
    pub takeover: u64,
    /// Calm coarse samples in a row the full path waits for before it hands back: the stretch
    /// the fast path then takes over (a round trip and an interpolator's window), so that the
    /// full path's state at its start exists. It must exceed the round trip: a hand-back that
    /// fails rewrites the fast path's rings, which the full path no longer reads by then. Each
    /// takeover costs at least this long on the full path: on music most takeovers are that
    /// short (one per bass peak near a knee), so it sets the full path's share.
    pub calm_steps: u32,
    /// False to run the full path always (for comparing the two in tests).
    pub allow_fast: bool,
}

impl Rates {
    pub fn new(host: f64, factor: usize, later: &Oversampler) -> Self {
        let per_host = factor.min(2);
        let round_trip = later.latency() as u64;
        let up_latency = later.up_latency() as u64;
        Rates {
            host,
            internal: host * factor as f64,
            steps: factor / per_host,
            per_host,
            up_latency,
            round_trip,
            takeover: LOOKAHEAD as u64 + (up_latency + LOOKAHEAD as u64 + 1) % 2,
            calm_steps: (round_trip + TAPS as u64) as u32,
            allow_fast: true,
        }
    }

    pub fn coarse(&self) -> f64 {
        self.host * self.per_host as f64
    }

    /// True when there are later stages to skip: the fast path exists.
    pub fn two_rates(&self) -> bool {
        self.steps > 1 && self.allow_fast
    }

    /// The top of the audio band in radians per coarse sample: 20 kHz, or less at low rates.
    pub fn band(&self) -> f64 {
        std::f64::consts::TAU * (20_000.0f64).min(0.45 * self.host) / self.coarse()
    }
}

/// A ring of values by coarse sample (index = time mod [`RING`]), on the heap: a path holds
/// a dozen of them, hundreds of kilobytes that a value on the stack would carry through every
/// move (the engine's construction, a reset on the audio thread).
pub type Ring<T> = Box<[T; RING]>;

/// A ring filled with `v`, built on the heap directly (not on the stack and then moved).
pub fn ring<T: Copy>(v: T) -> Ring<T> {
    vec![v; RING]
        .into_boxed_slice()
        .try_into()
        .unwrap_or_else(|_| unreachable!("the vector holds RING values"))
}

/// One channel's memory for the two paths, by coarse sample (index = time mod [`RING`]).
#[derive(Debug, Clone)]
pub struct TwoRate {
    /// True while the full path runs.
    pub hot: bool,
    /// First coarse step whose output comes from the full path's decimator.
    valid_from: u64,
    /// Calm coarse samples in a row on the full path.
    calm: u32,
    /// The network's values up to (not including) this coarse sample have been measured. The
    /// fast path's network runs [`LOOKAHEAD`] behind the step, the full path's `up_latency`:
    /// counting by the network's time, not by the step, measures each value once across a
    /// switch.
    metered: i64,
    /// The fast network's state (at the coarse sample [`LOOKAHEAD`] before the newest input).
    pub coarse: NetworkState,
    /// The fast network's states by coarse sample, and the coarse sample each slot holds (a
    /// stretch of quads leaves one every fourth coarse sample: see [`StateRing`]).
    cold_states: Ring<NetworkState>,
    cold_at: Ring<u64>,
    /// The fast network's last stretch ended after a quad's first pair: `coarse` is the state
    /// before that pair, and the next stretch starts there.
    pending: bool,
    hot_states: Ring<NetworkState>,
    /// The fast path's stage output (v_int) and its output to the host, by coarse sample.
    v2: Ring<f32>,
    cold_out: Ring<f32>,
    /// The fast network's stage current and load voltage (with hum), by coarse sample: the
    /// history its bound between samples reads.
    i_hist: Ring<f32>,
    v_hist: Ring<f32>,
    noise: NoiseSource,
    /// How often the full path took over, and the coarse steps it ran (for the benchmarks).
    pub takeovers: u64,
    pub full_steps: u64,
}

impl TwoRate {
    /// Whether the fast network's ring holds its state at coarse sample `t`.
    fn cold_holds(&self, t: u64) -> bool {
        self.cold_at[(t & MASK) as usize] == t
    }

    /// The memory at rest for a channel whose noise is seeded by `seed`, on the full path
    /// (`hot`) or the fast one. Allocates.
    pub fn new(seed: u64, hot: bool) -> Self {
        // The values here only fill the fields: `restart` below sets every one of them, so
        // that the state at rest is written down once.
        let mut t = TwoRate {
            hot: false,
            valid_from: 0,
            calm: 0,
            metered: 0,
            coarse: NetworkState::default(),
            cold_states: ring(NetworkState::default()),
            cold_at: ring(0),
            pending: false,
            hot_states: ring(NetworkState::default()),
            v2: ring(0.0),
            cold_out: ring(0.0),
            i_hist: ring(0.0),
            v_hist: ring(0.0),
            noise: NoiseSource::new(seed),
            takeovers: 0,
            full_steps: 0,
        };
        t.restart(seed, hot);
        t
    }

    /// Back to rest, in place (no allocation: a host may reset on the audio thread).
    pub fn restart(&mut self, seed: u64, on_full: bool) {
        // (Every field by name: a new one cannot be forgotten here.)
        let TwoRate {
            hot,
            valid_from,
            calm,
            metered,
            coarse,
            cold_states,
            cold_at,
            pending,
            hot_states,
            v2,
            cold_out,
            i_hist,
            v_hist,
            noise,
            takeovers,
            full_steps,
        } = self;
        (*hot, *valid_from, *calm, *metered, *pending) = (on_full, 0, 0, i64::MIN, false);
        *coarse = NetworkState::default();
        cold_states.fill(NetworkState::default());
        cold_at.fill(u64::MAX);
        hot_states.fill(NetworkState::default());
        for r in [v2, cold_out, i_hist, v_hist] {
            r.fill(0.0);
        }
        *noise = NoiseSource::new(seed);
        (*takeovers, *full_steps) = (0, 0);
    }

    /// Takes over `o`'s values, in place (no allocation).
    pub fn copy_from(&mut self, o: &TwoRate) {
        let TwoRate {
            hot,
            valid_from,
            calm,
            metered,
            coarse,
            cold_states,
            cold_at,
            pending,
            hot_states,
            v2,
            cold_out,
            i_hist,
            v_hist,
            noise,
            takeovers,
            full_steps,
        } = self;
        (*hot, *valid_from, *calm, *metered, *pending) =
            (o.hot, o.valid_from, o.calm, o.metered, o.pending);
        *coarse = o.coarse;
        cold_states.copy_from_slice(&o.cold_states[..]);
        cold_at.copy_from_slice(&o.cold_at[..]);
        hot_states.copy_from_slice(&o.hot_states[..]);
        v2.copy_from_slice(&o.v2[..]);
        cold_out.copy_from_slice(&o.cold_out[..]);
        i_hist.copy_from_slice(&o.i_hist[..]);
        v_hist.copy_from_slice(&o.v_hist[..]);
        *noise = o.noise;
        (*takeovers, *full_steps) = (o.takeovers, o.full_steps);
    }
}

/// The `n` values of `ring` from time `t` on, as the two slices they lie in (the second empty
/// unless they wrap around the ring's end).
#[inline(always)]
fn ring_parts<T>(ring: &[T; RING], t: u64, n: usize) -> (&[T], &[T]) {
    let s = (t & MASK) as usize;
    let first = (RING - s).min(n);
    (&ring[s..s + first], &ring[..n - first])
}

/// Copies the values of `ring` from time `t` on (wrapping around its end) into `out`.
#[inline(always)]
pub fn ring_read<T: Copy>(ring: &[T; RING], t: u64, out: &mut [T]) {
    let s = (t & MASK) as usize;
    let (o1, o2) = out.split_at_mut((RING - s).min(out.len()));
    o1.copy_from_slice(&ring[s..s + o1.len()]);
    // (Most copies do not wrap: no call for nothing.)
    if !o2.is_empty() {
        o2.copy_from_slice(&ring[..o2.len()]);
    }
}

/// Writes `src` into `ring` from time `t` on (wrapping around its end).
#[inline(always)]
pub fn ring_write<T: Copy>(ring: &mut [T; RING], t: u64, src: &[T]) {
    let s = (t & MASK) as usize;
    let (s1, s2) = src.split_at((RING - s).min(src.len()));
    ring[s..s + s1.len()].copy_from_slice(s1);
    if !s2.is_empty() {
        ring[..s2.len()].copy_from_slice(s2);
    }
}

/// [`ring_read`] for a few values (a history), one at a time: no call to copy a handful.
#[inline(always)]
fn ring_read_few<T: Copy>(ring: &[T; RING], t: u64, out: &mut [T]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = ring[(t.wrapping_add(i as u64) & MASK) as usize];
    }
}

/// [`ring_write`] for a few values, one at a time.
#[inline(always)]
fn ring_write_few<T: Copy>(ring: &mut [T; RING], t: u64, src: &[T]) {
    for (i, &v) in src.iter().enumerate() {
        ring[(t.wrapping_add(i as u64) & MASK) as usize] = v;
    }
}

/// The first sample of `x` (counted after its first three, the history) where the signal
/// these samples come from may leave −`neg` … `pos` between the sample before and this one,
/// if any.
///
/// Between samples n − 1 and n the straight line through them misses the signal by
/// τ(1 − τ)/2 · x″(ξ) ≤ x″/8 (τ the fraction of the period), and the second differences
/// Δ²x[n] = x[n] − 2x[n−1] + x[n−2] measure x″ per period squared, a period behind:
///
///   max over [n−1, n] ≤ max(x[n−1], x[n]) + [`CURVATURE`]·max(|Δ²x[n]|, |Δ²x[n−1]|),
///
/// and the minimum likewise. For single tones up to 0.3 cycles per sample a weight of 0.21
/// suffices; with 0.35, sums of up to seven tones below 0.227 cycles per sample (20 kHz at
/// 88.2 kHz) at random levels peaked at most 0.6 % above the bound wherever they came within
/// 70 % of their largest value, 0.8 % below 0.25 cycles per sample and 1.6 % below 0.29 (the
/// first ×2 stage's transition band) (`benches/calm_bound.py`). [`SAFETY`] covers that.
///
/// Marks are rare: the samples are tested [`REACH_CHUNK`] at a time without an early exit (in
/// vector registers), and only a chunk with a mark is searched for its first.
#[inline(always)]
fn reach(x: &[f32], pos: f32, neg: f32) -> Option<usize> {
    let n = x.len() - 3;
    let mut j = 0;
    while j < n {
        let e = (j + REACH_CHUNK).min(n);
        let chunk = &x[j..e + 3];
        if chunk.windows(4).fold(false, |a, w| a | leaves(w, pos, neg)) {
            return chunk
                .windows(4)
                .position(|w| leaves(w, pos, neg))
                .map(|p| j + p);
        }
        j = e;
    }
    None
}

/// Whether the signal may leave −`neg` … `pos` between the last two of four samples (see
/// [`reach`]). (A function always inlined, not a closure, which the compiler might keep apart
/// and compile without the caller's instruction set.)
#[inline(always)]
fn leaves(w: &[f32], pos: f32, neg: f32) -> bool {
    // Plain comparisons: the values are finite (the engine sanitises its input), so NaN's
    // rules for `max` would cost instructions for nothing. A NaN here would go unmarked.
    let (x3, x2, x1, x0) = (w[0], w[1], w[2], w[3]);
    let (c0, c1) = ((x0 - 2.0 * x1 + x2).abs(), (x1 - 2.0 * x2 + x3).abs());
    let d = if c0 > c1 { c0 } else { c1 } * CURVATURE;
    let (hi, lo) = if x0 > x1 { (x0, x1) } else { (x1, x0) };
    (hi + d > pos) | (lo - d < -neg)
}

/// Samples [`reach`] tests between looks for a mark.
const REACH_CHUNK: usize = 64;

/// Completes `x` — three values of history, then the values of coarse samples `t` on — with
/// the history from `ring` (or, given `history`, that value three times), and keeps the last
/// three in `ring` for the next run, which starts where this one ends (or after a hand-back,
/// which gives its own history): the signal a bound between samples ([`reach`]) reads.
#[inline(always)]
fn with_history(x: &mut [f32], ring: &mut [f32; RING], t: u64, history: Option<f32>) {
    let n = x.len() - 3;
    let h = &mut x[..3];
    match history {
        Some(v) => h.fill(v),
        None => ring_read_few(ring, t.wrapping_sub(3), h),
    }
    ring_write_few(ring, t.wrapping_add(n as u64).wrapping_sub(3), &x[n..]);
}

/// Sums and peaks of some of the network's values: what the hand-back measures before it
/// knows whether it will take place.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostMeasure {
    pub sum_v: f64,
    pub sum_v2: f64,
    pub sum_i2: f64,
    pub sum_p: f64,
    pub peak_v: f64,
    pub peak_i: f64,
    pub peak_v_int: f64,
}

impl HostMeasure {
    /// One value of the network standing for `weight` internal samples.
    #[inline(always)]
    fn add(&mut self, weight: f64, v_load: f64, i_out: f64, i_load: f64) {
        self.sum_v += weight * v_load;
        self.sum_v2 += weight * v_load * v_load;
        self.sum_i2 += weight * i_out * i_out;
        self.sum_p += weight * v_load * i_load;
        self.peak_v = self.peak_v.max(v_load.abs());
        self.peak_i = self.peak_i.max(i_out.abs());
    }
}

/// Events of one host sample in [`BlockMeasure::events`]: the rails clipped, the current
/// limit held, the receiver's input passed its rating.
pub const RAIL: u8 = 1;
pub const LIMIT: u8 = 2;
pub const OVERLOAD: u8 = 4;

/// What one channel measured during one block: sums and peaks over its internal samples (the
/// fast path's coarse samples weighted by the internal samples each stands for), and per host
/// sample the energy delivered (for the running power average) and the events.
#[derive(Debug, Clone, Copy)]
pub struct BlockMeasure {
    pub sum_v: f64,
    pub sum_v2: f64,
    pub sum_i2: f64,
    pub peak_v: f64,
    pub peak_i: f64,
    pub peak_v_int: f64,
    /// Σ v_load·i_load over each host sample's internal samples (where the fast path
    /// delivered the host sample, its value at the host sample's first coarse sample times
    /// their count: see `ChannelRun::fast`).
    pub sum_p: [f64; MAX_BLOCK],
    pub events: [u8; MAX_BLOCK],
}

impl BlockMeasure {
    pub const fn new() -> Self {
        BlockMeasure {
            sum_v: 0.0,
            sum_v2: 0.0,
            sum_i2: 0.0,
            peak_v: 0.0,
            peak_i: 0.0,
            peak_v_int: 0.0,
            sum_p: [0.0; MAX_BLOCK],
            events: [0; MAX_BLOCK],
        }
    }

    /// Empty, for a block of `n` host samples.
    #[inline(always)]
    pub fn clear(&mut self, n: usize) {
        (self.sum_v, self.sum_v2, self.sum_i2) = (0.0, 0.0, 0.0);
        (self.peak_v, self.peak_i, self.peak_v_int) = (0.0, 0.0, 0.0);
        self.sum_p[..n].fill(0.0);
        self.events[..n].fill(0);
    }

    /// Adds what the hand-back measured in host sample `host`.
    fn merge(&mut self, host: usize, h: &HostMeasure) {
        self.sum_v += h.sum_v;
        self.sum_v2 += h.sum_v2;
        self.sum_i2 += h.sum_i2;
        self.sum_p[host] += h.sum_p;
        self.peak_v = self.peak_v.max(h.peak_v);
        self.peak_i = self.peak_i.max(h.peak_i);
        self.peak_v_int = self.peak_v_int.max(h.peak_v_int);
    }
}

/// Σx, Σx², max |x| of `v` and Σy², max |y| of `i` in eight lanes each (sums the compiler
/// keeps in vector registers; their order depends only on the slices).
#[inline(always)]
fn lane_sums(v: &[f64], i: &[f64]) -> [f64; 5] {
    // One pass per quantity: each is a plain loop over eight lanes, two registers of four
    // (two chains of additions that do not wait for each other) or one of eight.
    let sum = |x: [f64; 8]| ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
    let top = |x: [f64; 8]| {
        let m = |a: f64, b: f64| a.max(b);
        m(
            m(m(x[0], x[1]), m(x[2], x[3])),
            m(m(x[4], x[5]), m(x[6], x[7])),
        )
    };
    [
        sum(lanes(v, |a, v| a + v)),
        sum(lanes(v, |a, v| a + v * v)),
        sum(lanes(i, |a, i| a + i * i)),
        top(lanes(v, |a, v| if v.abs() > a { v.abs() } else { a })),
        top(lanes(i, |a, i| if i.abs() > a { i.abs() } else { a })),
    ]
}

/// `f` folded over `x` in eight lanes from zero: lane l takes x[l], x[l + 8], …
#[inline(always)]
pub fn lanes(x: &[f64], f: impl Fn(f64, f64) -> f64) -> [f64; 8] {
    let mut a = [0.0f64; 8];
    let c = x.chunks_exact(8);
    let rest = c.remainder();
    for x in c {
        let x: &[f64; 8] = x.try_into().expect("eight");
        for l in 0..8 {
            a[l] = f(a[l], x[l]);
        }
    }
    for (a, &x) in a.iter_mut().zip(rest) {
        *a = f(*a, x);
    }
    a
}

/// max |x| over `x` in eight lanes.
#[inline(always)]
pub fn lane_peak(x: &[f32]) -> f32 {
    let mut a = [0.0f32; 8];
    let c = x.chunks_exact(8);
    let rest = c.remainder();
    for x in c {
        for l in 0..8 {
            let v = x[l].abs();
            a[l] = if v > a[l] { v } else { a[l] };
        }
    }
    for (a, &v) in a.iter_mut().zip(rest) {
        *a = a.max(v.abs());
    }
    a.iter().fold(0.0f32, |m, &v| m.max(v))
}

/// Working memory of both paths for one run, allocated once: the buffers are written before
/// they are read, so nothing is cleared per run.
pub struct RunScratch {
    pub full: FullScratch,
    pub fast: FastScratch,
    /// The hum over a block, by coarse sample.
    pub hum: [f64; 2 * MAX_BLOCK],
}

impl RunScratch {
    /// Zeroed, built on the heap directly: over 300 kilobytes, which an unoptimised build
    /// would first put on the stack.
    pub fn new() -> Box<RunScratch> {
        // SAFETY: RunScratch, FullScratch and FastScratch hold nothing but arrays of f32,
        // f64, u8 and bool, for all of which zero bytes are a valid value (0.0, 0, false).
        unsafe { Box::<RunScratch>::new_zeroed().assume_init() }
    }
}

/// Working memory of the full path for one run.
pub struct FullScratch {
    pub up: [f32; MAX_FULL_RUN],
    pub noise: [f32; MAX_FULL_RUN],
    pub demand: [f32; MAX_FULL_RUN],
    pub v_int: [f32; MAX_FULL_RUN],
    pub net_v: [f64; MAX_FULL_RUN],
    pub i_out: [f64; MAX_FULL_RUN],
    pub i_load: [f64; MAX_FULL_RUN],
    pub limiting: [bool; MAX_FULL_RUN],
    pub hum: [f64; MAX_FULL_RUN],
    pub v_load: [f64; MAX_FULL_RUN],
    pub overload: [bool; MAX_FULL_RUN],
    pub out: [f32; MAX_FULL_RUN],
    /// Per internal sample: near a knee, the events, v_load·i_load.
    pub near: [bool; MAX_FULL_RUN],
    pub events: [u8; MAX_FULL_RUN],
    pub p: [f64; MAX_FULL_RUN],
    /// The coarse input and output of a run.
    pub x: [f32; MAX_COARSE_RUN],
    pub y: [f32; MAX_COARSE_RUN],
}

/// Working memory of the fast path (and of the hand-back, which runs it) for one run. Index j
/// of the network's buffers is the coarse sample the run's network starts at (in the
/// hand-back, its first pair's), plus j; the bounds' buffers hold three values of history
/// first.
pub struct FastScratch {
    /// The stage's output, from the oldest input the first pair reads (the fast path keeps
    /// [`LEAD`] more in front).
    stage: [f32; LEAD + MAX_COARSE_RUN + PAIR_INPUTS],
    /// The network's outputs (the fast path's from index [`LEAD`]).
    v_load: [f64; LEAD + MAX_COARSE_RUN],
    i_out: [f64; LEAD + MAX_COARSE_RUN],
    i_load: [f64; LEAD + MAX_COARSE_RUN],
    hum: [f64; MAX_COARSE_RUN],
    heard: [f32; MAX_COARSE_RUN],
    i_near: [f32; MAX_COARSE_RUN + 3],
    v_near: [f32; MAX_COARSE_RUN + 3],
}

/// Everything one channel of one path needs for a run.
pub struct ChannelRun<'a> {
    pub k: &'a PathCoeffs,
    pub rates: &'a Rates,
    /// The coarse input (after the first ×2 stage) and the hum, by coarse sample.
    pub u2: &'a [f32; RING],
    pub hum2: &'a [f64; RING],
    pub b_up: &'a mut Oversampler,
    pub b_down: &'a mut Oversampler,
    pub ch: usize,
    /// The engine's build, which picks the coarse network's kernel.
    pub isa: Isa,
    /// Whether to measure into the [`BlockMeasure`] (the engine's meters are on): off, the
    /// paths leave it alone and deliver the same output.
    pub metering: bool,
}

impl ChannelRun<'_> {
    /// Runs coarse steps `m0 .. m0 + out.len()` of channel `ch` with `c`, the output per coarse
    /// step into `out` and what happened per host sample into `meas`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn run<const FMA: bool>(
        &mut self,
        net: &mut NetworkState,
        noise: &mut NoiseSource,
        c: &mut TwoRate,
        m0: u64,
        out: &mut [f32],
        meas: &mut BlockMeasure,
        sc: &mut RunScratch,
    ) {
        let end = m0 + out.len() as u64;
        let mut m = m0;
        // Output is delivered up to (not including) this step.
        let mut delivered = m0;
        while m < end {
            if c.hot {
                // The full path runs up to the first host sample at which it has seen enough
                // calm to hand back (or to the end of the run), and tries there.
                let two = self.rates.two_rates();
                let wait = u64::from(self.rates.calm_steps.saturating_sub(c.calm)).max(1);
                let b = if two {
                    (m + wait).next_multiple_of(2).min(end)
                } else {
                    end
                };
                // Four solver steps per coarse sample (×8 at 44.1 and 48 kHz) in code
                // written for them; any other count as it comes.
                if self.rates.steps == 4 {
                    self.full::<FMA, 4>(
                        net,
                        noise,
                        c,
                        m,
                        b,
                        delivered,
                        m0,
                        out,
                        meas,
                        &mut sc.full,
                    );
                } else {
                    self.full::<FMA, 0>(
                        net,
                        noise,
                        c,
                        m,
                        b,
                        delivered,
                        m0,
                        out,
                        meas,
                        &mut sc.full,
                    );
                }
                m = b;
                delivered = b;
                if two && c.calm >= self.rates.calm_steps {
                    debug_assert!(b >= c.valid_from, "the full path still reads cold_out");
                    // (b > m0: even a run that starts in the past ends past its takeover.)
                    let last = ((b - m0) / 2 - 1) as usize;
                    if !self.leave_full::<FMA>(c, b, meas, last, &mut sc.fast) {
                        c.calm = 0;
                    }
                }
            } else {
                match self.fast::<FMA>(c, m, end, m0, out, meas, &mut sc.fast) {
                    None => m = end,
                    Some(h) => {
                        delivered = h;
                        // The host sample starting at coarse step h came near a knee: the
                        // full path takes over from it, and delivers from a few coarse
                        // samples before it (the fast network runs LOOKAHEAD behind its
                        // input, and the values there were the first to come near).
                        // (At the very start there is nothing before coarse sample 0.)
                        let mut start = h.saturating_sub(self.rates.takeover);
                        // It starts from the fast network's state before `start`'s first
                        // step; a stretch of quads keeps none between its pairs, and then it
                        // starts a pair earlier. (At the very start the ring holds none: its
                        // first slot, the state at rest.)
                        let before = |start: u64| start.wrapping_sub(self.rates.up_latency + 1);
                        if !c.cold_holds(before(start))
                            && start >= 2
                            && c.cold_holds(before(start - 2))
                        {
                            start -= 2;
                        }
                        *net = c.cold_states[(before(start) & MASK) as usize];
                        self.b_up.reset_channel(self.ch);
                        let mut x = [0.0f32; REPLAY];
                        for (i, v) in x.iter_mut().enumerate() {
                            let t = start.wrapping_sub((REPLAY - i) as u64);
                            *v = self.u2[(t & MASK) as usize];
                        }
                        let n = REPLAY * self.rates.steps;
                        self.b_up.upsample::<FMA>(self.ch, &x, &mut sc.full.up[..n]);
                        self.b_down.reset_channel(self.ch);
                        c.hot = true;
                        c.calm = 0;
                        c.pending = false;
                        c.takeovers += 1;
                        c.valid_from = start + self.rates.round_trip;
                        m = start;
                    }
                }
            }
        }
    }

    /// The stage at the coarse rate for coarse samples `a .. b` (at most [`MAX_COARSE_RUN`]):
    /// the demand into `demand`, which the caller keeps in the ring `v2` (up to their
    /// [`STRAIGHT`] limits, where the fast path delivers, the rails are taken as their straight
    /// line and let it through unchanged).
    #[inline(always)]
    fn fast_stage(&self, c: &TwoRate, a: u64, b: u64, demand: &mut [f32]) {
        let k = self.k;
        let n = (b - a) as usize;
        // Read from the ring where it lies (in two pieces where it wraps).
        let (older, newer) = ring_parts(self.u2, a, n);
        let (d_older, d_newer) = demand[..n].split_at_mut(older.len());
        k.colour.apply_block(k.drive, older, d_older);
        if !newer.is_empty() {
            k.colour.apply_block(k.drive, newer, d_newer);
        }
        let (dc, sigma) = (k.dc as f32, k.noise_sigma_coarse as f32);
        c.noise.add_at(a as u32, sigma, dc, &mut demand[..n]);
        // The rails are a straight line below their knees and within 1e-5 of their knees of it
        // up to their STRAIGHT limits, and the fast path only delivers samples whose demand
        // stays below those between samples too: what it lets through is the demand itself.
    }

    /// One step of the fast network for the coarse sample `t` (reading inputs up to
    /// t + LOOKAHEAD): its outputs, with the load voltage including the hum, and the output
    /// to the host into the ring.
    #[inline(always)]
    fn fast_network(&self, c: &mut TwoRate, coarse: &mut NetworkState, t: u64) -> CoarseOutput {
        let k = self.k;
        let newest = t.wrapping_add(LOOKAHEAD as u64);
        let mut window = [0.0; TAPS];
        for (i, w) in window.iter_mut().enumerate() {
            *w = c.v2[(newest.wrapping_sub(i as u64) & MASK) as usize] as f64;
        }
        let mut o = k.coarse.step(coarse, &window);
        StateRing {
            states: &mut c.cold_states[..],
            at: &mut c.cold_at[..],
        }
        .put(t, *coarse);
        o.v_load += k.hum_peak * self.hum2[(t & MASK) as usize];
        let heard = if k.receiver_on {
            k.receiver.apply(o.v_load)
        } else {
            o.v_load
        };
        c.cold_out[(t & MASK) as usize] = (heard * k.out_scale) as f32;
        o
    }

    /// The fast path over coarse steps `a .. b` (whole host samples). Returns the first host
    /// sample (its first coarse step) at which something came near a knee, having delivered
    /// and measured only the host samples before it; None when the whole run stayed calm.
    ///
    /// The stage runs over the whole run at once and its bound finds the first host sample
    /// where the stage comes near the rails. Up to there the network runs a host sample (two
    /// coarse samples) at a time, [`LOOKAHEAD`] behind: the host sample at steps m, m + 1
    /// moves it over coarse samples m − 3 and m − 2. Then, over the stretch, hum, receiver
    /// and the bounds of the stage current and the receiver's input; the first host sample
    /// with anything near a knee ends the run, and the meters take the host samples before it.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn fast<const FMA: bool>(
        &self,
        c: &mut TwoRate,
        a: u64,
        b: u64,
        m0: u64,
        out: &mut [f32],
        meas: &mut BlockMeasure,
        sc: &mut FastScratch,
    ) -> Option<u64> {
        const LA: u64 = LOOKAHEAD as u64;
        let k = self.k;
        let r = self.rates;
        debug_assert!(r.per_host == 2 && a % 2 == 0 && b % 2 == 0);
        debug_assert!(r.round_trip >= LA, "the output is read after it is written");
        let n = (b - a) as usize;
        let hosts = n / 2;
        // The stage's output from the oldest input the first pair reads to the newest: the
        // history from the ring, then this run's. It begins LEAD coarse samples earlier, for a
        // quad whose first pair the last run left pending (below).
        const BACK: usize = PAIR_INPUTS - 2;
        const L: usize = LEAD;
        let FastScratch {
            stage,
            v_load: v_all,
            i_out: i_all,
            i_load: l_all,
            heard,
            i_near,
            v_near,
            ..
        } = sc;
        ring_read_few(
            &c.v2,
            a.wrapping_sub((L + BACK) as u64),
            &mut stage[..L + BACK],
        );
        self.fast_stage(c, a, b, &mut stage[L + BACK..L + BACK + n]);
        // The ring keeps only what the next run reads of this one, its history: it starts where
        // this one ends, or after a hand-back, whose catch-up writes the ring again.
        ring_write_few(
            &mut c.v2,
            b.wrapping_sub((L + BACK) as u64),
            &stage[n..n + L + BACK],
        );
        let (calm_pos, calm_neg) = k.calm_rails;
        let stage_calm =
            reach(&stage[L + BACK - 3..L + BACK + n], calm_pos, calm_neg).map_or(hosts, |j| j / 2);
        // The network, LA behind, up to the first host sample where the stage comes near.
        let first = a.wrapping_sub(LA);
        // Index j of these is coarse sample `first` + j; the bounds' buffers hold the three
        // values before it first.
        let m = 2 * stage_calm;
        // The state after each pair is the one at its second coarse sample. Where the last run
        // ended after a quad's first pair, the network starts again at that pair (its outputs,
        // the same again to the bit, land before index 0 and are not used again).
        let lead = if c.pending { L } else { 0 };
        c.pending = k.quad.run_stretch(
            &k.pair,
            self.isa,
            &mut c.coarse,
            &stage[L - lead..L + m + BACK],
            StretchOutputs {
                v_load: &mut v_all[L - lead..L + m],
                i_out: &mut i_all[L - lead..L + m],
                i_load: &mut l_all[L - lead..L + m],
            },
            StateRing {
                states: &mut c.cold_states[..],
                at: &mut c.cold_at[..],
            },
            first.wrapping_add(1).wrapping_sub(lead as u64),
        );
        let (v_load, i_out, i_load) = (&mut v_all[L..], &i_all[L..], &l_all[L..]);
        let stage = &stage[L..];
        for (w, &i) in i_near[3..3 + m].iter_mut().zip(&i_out[..m]) {
            *w = i as f32;
        }
        // Hum, receiver, listen scale.
        // (The hum read from its ring where it lies, in two pieces where it wraps.)
        let (older, newer) = ring_parts(self.hum2, first, m);
        let (v_older, v_newer) = v_load[..m].split_at_mut(older.len());
        let (w_older, w_newer) = v_near[3..3 + m].split_at_mut(older.len());
        for (v, w, hum) in [(v_older, w_older, older), (v_newer, w_newer, newer)] {
            for ((v, w), &h) in v.iter_mut().zip(w).zip(hum) {
                *v += k.hum_peak * h;
                *w = *v as f32;
            }
        }
        if k.receiver_on {
            k.receiver
                .apply_scaled(&v_load[..m], k.out_scale, &mut heard[..m]);
        } else {
            for (o, &v) in heard[..m].iter_mut().zip(&v_load[..m]) {
                *o = (v * k.out_scale) as f32;
            }
        }
        ring_write(&mut c.cold_out, first, &heard[..m]);
        // The bounds of the stage current and the receiver's input, from their last three
        // values before the run.
        with_history(&mut i_near[..m + 3], &mut c.i_hist, first, None);
        with_history(&mut v_near[..m + 3], &mut c.v_hist, first, None);
        let calm = k.calm_current as f32;
        let mut mark = reach(&i_near[..m + 3], calm, calm);
        if k.receiver_on {
            let calm = k.calm_receiver as f32;
            // (Only the receiver's marks before the current's can end the run sooner.)
            let upto = mark.unwrap_or(m);
            mark = reach(&v_near[..upto + 3], calm, calm).or(mark);
        }
        let calm_hosts = mark.map_or(stage_calm, |j| j / 2);
        let o0 = (a - m0) as usize;
        let done = 2 * calm_hosts;
        if self.metering {
            let (v, i, l) = (&v_load[..done], &i_out[..done], &i_load[..done]);
            self.fast_measure(&stage[BACK..BACK + done], v, i, l, o0 / 2, meas);
        }
        debug_assert!(c.metered <= a as i64 - LA as i64);
        ring_read(
            &c.cold_out,
            a.wrapping_sub(r.round_trip),
            &mut out[o0..o0 + done],
        );
        if done > 0 {
            c.metered = c.metered.max((a + done as u64) as i64 - LA as i64);
        }
        if calm_hosts < hosts {
            Some(a + done as u64)
        } else {
            None
        }
    }

    /// The meters of a fast run's delivered coarse samples: `stage` the stage's output and
    /// `v_load`, `i_out`, `i_load` the network's (index j at coarse sample a + j − LA, host
    /// samples from `host0` of the block on). The fast path always starts where the values
    /// were last measured (after a hand-back `leave_full` has measured up to a − LA), so every
    /// value here is new.
    #[inline(always)]
    fn fast_measure(
        &self,
        stage: &[f32],
        v_load: &[f64],
        i_out: &[f64],
        i_load: &[f64],
        host0: usize,
        meas: &mut BlockMeasure,
    ) {
        let k = self.k;
        let weight = self.rates.steps as f64;
        let calm_hosts = v_load.len() / 2;
        let [sv, sv2, si2, pv, pi] = lane_sums(v_load, i_out);
        meas.sum_v += weight * sv;
        meas.sum_v2 += weight * sv2;
        meas.sum_i2 += weight * si2;
        meas.peak_v = meas.peak_v.max(pv);
        meas.peak_i = meas.peak_i.max(pi);
        let pvi = lane_peak(stage) as f64;
        meas.peak_v_int = meas.peak_v_int.max(pvi);
        // The power once per host sample, at its first coarse sample (where the quads keep
        // the load current), standing for both. Each coarse sample stands for the internal
        // samples before it, so the host sample's span is centred on its first: the value
        // there stands for the span without a shift. And v·i of signals below the host's
        // Nyquist frequency keeps its mean when taken at the host rate (the product's
        // components at f1 + f2 fold onto DC only where f1 + f2 reaches the host rate).
        let hosts_p = &mut meas.sum_p[host0..host0 + calm_hosts];
        for ((s, v), i) in hosts_p
            .iter_mut()
            .zip(v_load.chunks_exact(2))
            .zip(i_load.chunks_exact(2))
        {
            *s += 2.0 * weight * v[0] * i[0];
        }
        if k.receiver_on {
            let events = &mut meas.events[host0..host0 + calm_hosts];
            let peak = k.receiver_peak;
            for (e, v) in events.iter_mut().zip(v_load.chunks_exact(2)) {
                // (Without a branch: overloads are rare, and the loop stays in vectors.)
                *e |= u8::from((v[0].abs() > peak) | (v[1].abs() > peak)) * OVERLOAD;
            }
        }
    }

    /// The full path over coarse steps `a .. b`, delivering from step `from` on (after a
    /// takeover it restarts a few steps in the past, whose output is already delivered);
    /// `m0` is the run's first step. `S` is the count of solver steps per coarse sample when
    /// it is known where the code is compiled (0 otherwise), so that the loops over a coarse
    /// sample's internal samples have a fixed length.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn full<const FMA: bool, const S: usize>(
        &mut self,
        net: &mut NetworkState,
        noise: &mut NoiseSource,
        c: &mut TwoRate,
        a: u64,
        b: u64,
        from: u64,
        m0: u64,
        out: &mut [f32],
        meas: &mut BlockMeasure,
        sc: &mut FullScratch,
    ) {
        let k = self.k;
        let r = *self.rates;
        debug_assert!(S == 0 || S == r.steps);
        let s = if S == 0 { r.steps } else { S };
        let n = (b.wrapping_sub(a)) as usize;
        let len = n * s;
        c.full_steps += n as u64;
        ring_read(self.u2, a, &mut sc.x[..n]);
        self.b_up
            .upsample::<FMA>(self.ch, &sc.x[..n], &mut sc.up[..len]);
        // The stage: colour, DC, noise, rails.
        k.colour
            .apply_block(k.drive, &sc.up[..len], &mut sc.demand[..len]);
        let dc = k.dc as f32;
        if k.noise_sigma > 0.0 {
            noise.fill(&mut sc.noise[..len]);
            let sigma = k.noise_sigma as f32;
            for (d, z) in sc.demand[..len].iter_mut().zip(&sc.noise[..len]) {
                *d += dc + sigma * z;
            }
        } else {
            for d in sc.demand[..len].iter_mut() {
                *d += dc;
            }
        }
        k.rails.apply_block(&sc.demand[..len], &mut sc.v_int[..len]);
        // The network, one coarse sample of steps at a time; the hum between coarse samples
        // by straight lines (it is far below their Nyquist frequency). The state is a local
        // copy, which the compiler keeps in registers: kept behind `net`, each coarse sample's
        // copy into `hot_states` read it back right after the network's steps had stored it,
        // in pieces that straddled those stores, and waited for them (4 % of a time profile's
        // samples on music fell just after that load; the time fell by about 1 %).
        let mut state = *net;
        for j in 0..n {
            let m = a.wrapping_add(j as u64);
            let t = m.wrapping_sub(r.up_latency);
            let span = j * s..(j + 1) * s;
            let mut u = [0.0; MAX_FACTOR];
            for (u, &v) in u[..s].iter_mut().zip(&sc.v_int[span.clone()]) {
                *u = v as f64;
            }
            let slices = super::network_block::BlockSlices {
                v_load: &mut sc.net_v[span.clone()],
                i_out: &mut sc.i_out[span.clone()],
                i_load: &mut sc.i_load[span.clone()],
            };
            // (`run` already picks the code written for the block's count of steps.)
            if k.block.run::<FMA>(&mut state, &u[..s], slices) {
                sc.limiting[span.clone()].fill(false);
            } else {
                for (q, &v) in u[..s].iter().enumerate() {
                    let o = state.step(&k.net, v);
                    sc.net_v[j * s + q] = o.v_load;
                    sc.i_out[j * s + q] = o.i_out;
                    sc.i_load[j * s + q] = o.i_load;
                    sc.limiting[j * s + q] = o.limiting;
                }
            }
            c.hot_states[(t & MASK) as usize] = state;
            let h0 = self.hum2[(t.wrapping_sub(1) & MASK) as usize];
            let h1 = self.hum2[(t & MASK) as usize];
            for (q, h) in sc.hum[span].iter_mut().enumerate() {
                *h = h0 + (h1 - h0) * (q + 1) as f64 / s as f64;
            }
        }
        *net = state;
        k.heard_block(
            &sc.net_v[..len],
            &sc.hum[..len],
            &mut sc.v_load[..len],
            &mut sc.overload[..len],
            &mut sc.out[..len],
        );
        let y = &mut sc.y;
        self.b_down
            .downsample::<FMA>(self.ch, &mut sc.out[..len], &mut y[..n]);
        // Per internal sample: near a knee (and, for the meters, what happened), in one pass
        // each.
        let (calm_pos, calm_neg) = k.calm_rails;
        let (calm_i, calm_r, receiver) = (k.calm_current, k.calm_receiver, k.receiver_on);
        for (((nr, &d), &i), &v) in sc.near[..len]
            .iter_mut()
            .zip(&sc.demand[..len])
            .zip(&sc.i_out[..len])
            .zip(&sc.v_load[..len])
        {
            *nr = (d > calm_pos)
                | (d < -calm_neg)
                | (i.abs() > calm_i)
                | (receiver & (v.abs() > calm_r));
        }
        let metering = self.metering;
        if metering {
            // What happened per internal sample (event bits), and v_load·i_load.
            for (e, (((&d, &vi), &lim), &ov)) in sc.events[..len].iter_mut().zip(
                sc.demand[..len]
                    .iter()
                    .zip(&sc.v_int[..len])
                    .zip(&sc.limiting[..len])
                    .zip(&sc.overload[..len]),
            ) {
                *e = (u8::from(k.rail_clipping(d, vi)) * RAIL)
                    | (u8::from(lim) * LIMIT)
                    | (u8::from(ov) * OVERLOAD);
            }
            for (p, (&v, &i)) in sc.p[..len]
                .iter_mut()
                .zip(sc.v_load[..len].iter().zip(&sc.i_load[..len]))
            {
                *p = v * i;
            }
        }
        // The coarse samples measured here: delivered (from `from` on) and not yet measured
        // (the network's time from `metered` on), a stretch up to the end of the run.
        let first_new = c
            .metered
            .saturating_add(r.up_latency as i64)
            .saturating_sub(a as i64)
            .max(0) as u64;
        let j_meter = from.saturating_sub(a).max(first_new).min(n as u64) as usize;
        for j in 0..n {
            let m = a.wrapping_add(j as u64);
            let span = j * s..(j + 1) * s;
            // Calm: no value of this coarse sample near a knee.
            let near = sc.near[span.clone()].iter().fold(false, |a, &b| a | b);
            c.calm = if near { 0 } else { c.calm.saturating_add(1) };
            if m < from || m >= b {
                continue;
            }
            out[(m - m0) as usize] = if m < c.valid_from {
                c.cold_out[(m.wrapping_sub(r.round_trip) & MASK) as usize]
            } else {
                y[j]
            };
            if metering && j >= j_meter {
                let host = ((m - m0) / r.per_host as u64) as usize;
                let p = &sc.p[span.clone()];
                meas.sum_p[host] += p.iter().sum::<f64>();
                meas.events[host] |= sc.events[span].iter().fold(0, |a, &e| a | e);
            }
        }
        if j_meter < n {
            if metering {
                let q = j_meter * s..len;
                let [sv, sv2, si2, pv, pi] = lane_sums(&sc.v_load[q.clone()], &sc.i_out[q.clone()]);
                meas.sum_v += sv;
                meas.sum_v2 += sv2;
                meas.sum_i2 += si2;
                meas.peak_v = meas.peak_v.max(pv);
                meas.peak_i = meas.peak_i.max(pi);
                let pvi = lane_peak(&sc.v_int[q]) as f64;
                meas.peak_v_int = meas.peak_v_int.max(pvi);
            }
            c.metered = (a + n as u64) as i64 - r.up_latency as i64;
        }
    }

    /// Hands back to the fast path at coarse step `mp` if the stretch it must take over is
    /// calm: its network from the full one's state a round trip ago, caught up over the delay
    /// line. Leaves the full path running otherwise.
    /// True when it handed back.
    fn leave_full<const FMA: bool>(
        &self,
        c: &mut TwoRate,
        mp: u64,
        meas: &mut BlockMeasure,
        host: usize,
        sc: &mut FastScratch,
    ) -> bool {
        let r = self.rates;
        let first = mp.wrapping_sub(r.round_trip);
        let lo = first.wrapping_sub((TAPS - LOOKAHEAD - 1) as u64);
        let n = mp.wrapping_sub(lo) as usize;
        let FastScratch {
            stage: demand,
            v_load,
            i_out,
            i_load,
            hum,
            heard,
            i_near,
            v_near,
            ..
        } = sc;
        // (The fast path's rings are only read after it has written them again, so a failed
        // attempt leaves nothing to undo.)
        self.fast_stage(c, lo, mp, &mut demand[..n]);
        // The single steps below read their windows here, and the next fast run its history.
        ring_write(&mut c.v2, lo, &demand[..n]);
        let k = self.k;
        let (calm_pos, calm_neg) = k.calm_rails;
        if reach(&demand[..n], calm_pos, calm_neg).is_some() {
            return false;
        }
        let mut coarse = c.hot_states[(first.wrapping_sub(1) & MASK) as usize];
        let last = mp.wrapping_sub(LOOKAHEAD as u64);
        // The values the full path has not measured yet (its network ran up_latency behind,
        // the fast one runs LOOKAHEAD behind) are measured here, with the last host sample.
        let mut h = HostMeasure::default();
        let (weight, metering) = (r.steps as f64, self.metering);
        // The stage current and load voltage for the bounds, after three values of history.
        // (Shorter than the stage's stretch above, which fits a run.)
        let len = last.wrapping_sub(first) as usize;
        // The fast path keeps the state after every pair in `cold_states`, at the coarse
        // samples of one parity (the pair's second: `first + 1` in `fast`, where `first` is
        // odd), which is the one a takeover reads. The catch-up runs as pairs too, aligned to
        // them: a single step first where `first` is even. It ends on a pair's second sample
        // (`mp` is a host sample's first, so `last` = mp − LOOKAHEAD is odd); the single step
        // after the pairs is a safeguard that never runs at the rates there are.
        let before = usize::from(first % 2 == 0).min(len);
        let pairs = (len - before) / 2;
        let after = before + 2 * pairs;
        // One coarse step, j after `first`.
        macro_rules! single {
            ($j:expr) => {{
                let j = $j;
                let t = first.wrapping_add(j as u64);
                let o = self.fast_network(c, &mut coarse, t);
                (i_near[j + 3], v_near[j + 3]) = (o.i_out as f32, o.v_load as f32);
                if metering && t as i64 >= c.metered {
                    h.add(weight, o.v_load, o.i_out, o.i_load);
                    h.peak_v_int = h.peak_v_int.max(c.v2[(t & MASK) as usize].abs() as f64);
                }
            }};
        }
        for j in 0..before {
            single!(j);
        }
        if pairs > 0 {
            // Pair p covers coarse samples t0 + 2p and t0 + 2p + 1, reading the stage from
            // t0 − (PAIR_INPUTS − 2 − LOOKAHEAD) on: index `before` of `demand`.
            let m = 2 * pairs;
            let t0 = first.wrapping_add(before as u64);
            const BACK: usize = PAIR_INPUTS - 2;
            k.pair.run_stretch(
                self.isa,
                &mut coarse,
                &demand[before..before + m + BACK],
                StretchOutputs {
                    v_load: &mut v_load[..m],
                    i_out: &mut i_out[..m],
                    i_load: &mut i_load[..m],
                },
                StateRing {
                    states: &mut c.cold_states[..],
                    at: &mut c.cold_at[..],
                },
                t0.wrapping_add(1),
            );
            ring_read(self.hum2, t0, &mut hum[..m]);
            for q in 0..m {
                let t = t0.wrapping_add(q as u64);
                let v = v_load[q] + k.hum_peak * hum[q];
                heard[q] = if k.receiver_on {
                    (k.receiver.apply(v) * k.out_scale) as f32
                } else {
                    (v * k.out_scale) as f32
                };
                (i_near[before + q + 3], v_near[before + q + 3]) = (i_out[q] as f32, v as f32);
                if metering && t as i64 >= c.metered {
                    h.add(weight, v, i_out[q], i_load[q]);
                    h.peak_v_int = h.peak_v_int.max(c.v2[(t & MASK) as usize].abs() as f64);
                }
            }
            ring_write(&mut c.cold_out, t0, &heard[..m]);
        }
        for j in after..len {
            single!(j);
        }
        if len == 0 {
            return false;
        }
        // The bounds, the first value standing for the history (the full path has checked the
        // values there at its own rate).
        let (i_near, v_near) = (&mut i_near[..len + 3], &mut v_near[..len + 3]);
        with_history(i_near, &mut c.i_hist, first, Some(i_near[3]));
        with_history(v_near, &mut c.v_hist, first, Some(v_near[3]));
        let calm = k.calm_current as f32;
        if reach(i_near, calm, calm).is_some() {
            return false;
        }
        if k.receiver_on {
            let calm = k.calm_receiver as f32;
            if reach(v_near, calm, calm).is_some() {
                return false;
            }
        }
        if metering {
            meas.merge(host, &h);
        }
        c.metered = c.metered.max(last as i64);
        c.coarse = coarse;
        c.pending = false;
        c.hot = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value in −1 … 1 from a counter (no generator state to share).
    fn value(k: u64) -> f64 {
        let h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k >> 7);
        (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    #[test]
    fn lane_sums_are_each_lane_alone() {
        for n in 0..45 {
            let v: Vec<f64> = (0..n).map(|k| value(k as u64)).collect();
            let i: Vec<f64> = (0..n).map(|k| 0.3 * value(1000 + k as u64)).collect();
            // Each quantity alone, lane l taking samples l, l + 8, …; the sums' lanes joined in
            // pairs as lane_sums joins them (a maximum is exact in any order).
            let lane = |x: &[f64], f: &dyn Fn(f64, f64) -> f64| {
                let mut a = [0.0f64; 8];
                for (k, &x) in x.iter().enumerate() {
                    a[k % 8] = f(a[k % 8], x);
                }
                a
            };
            let sum =
                |a: [f64; 8]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            let top = |a: [f64; 8]| a.iter().fold(0.0f64, |m, &x| m.max(x));
            let want = [
                sum(lane(&v, &|a, x| a + x)),
                sum(lane(&v, &|a, x| a + x * x)),
                sum(lane(&i, &|a, x| a + x * x)),
                top(lane(&v, &|a, x| a.max(x.abs()))),
                top(lane(&i, &|a, x| a.max(x.abs()))),
            ];
            assert_eq!(lane_sums(&v, &i), want, "{n} samples");
            let plain_peak = v.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
            assert_eq!(want[3], plain_peak);
            let x: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let peak = x.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
            assert_eq!(lane_peak(&x), peak, "{n} samples");
        }
    }
}
