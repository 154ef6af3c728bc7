//! The linear network at a coarser rate than its solver, with the solver's own state.
//!
//! The trapezoidal solver of [`network`](super::network) must run at the internal rate
//! (≥ 352.8 kHz) to stay within 0.1 dB of the circuit at 20 kHz. Without the current limit,
//! though, S of its steps are a fixed linear map (see [`network_block`](super::network_block)):
//!
//!   s[n] = Φ·s[n−1] + Σ_{m=1}^{S} N_m·u((n − 1 + m/S)·T),   Φ = F^S,
//!
//! with s the histories at every S-th step, T the coarse period and N_m the histories one unit
//! of input at step m leaves. When u is band-limited, its values between the coarse samples
//! follow from the samples around them ([`fractional_delay`](super::fractional_delay)), so
//!
//!   s[n] = Φ·s[n−1] + Σ_k Γ_k·u[n − k],   Γ_k = Σ_m N_m·c_{m,k},
//!
//! with c_m the interpolator for the fraction m/S − 1. The outputs at the coarse instants
//! follow the same way: y[n] = P·s[n−1] + Σ_k Δ_k·u[n − k], with P and the input weights
//! taken from the last step of the block. Φ and P are the solver's exactly, so the coarse state
//! is the solver's state at every S-th step up to the interpolation error (1e-4 of the signal
//! at 20 kHz with twice the host rate): either can take over from the other between samples.
//! The price is [`LOOKAHEAD`] coarse samples of delay, for the interpolators.

use super::fractional_delay::{interpolator, LOOKAHEAD, TAPS};
use super::isa::Isa;
use super::network::{NetworkCoeffs, NetworkState, HISTORIES};
use super::network_block::{BlockOutputs, NetworkBlock};

/// The load voltage, stage current and load current at one coarse instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoarseOutput {
    pub v_load: f64,
    pub i_out: f64,
    pub i_load: f64,
}

/// The network's map over one coarse period, for inputs band-limited below `band`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoarseNetwork {
    /// Solver steps per coarse period.
    steps: usize,
    /// Φ by columns: the histories after a period from each unit history.
    phi: [[f64; HISTORIES]; HISTORIES],
    /// Γ by taps: the histories each input of the window adds (tap i reads u[n + LOOKAHEAD − i]).
    gamma: [[f64; HISTORIES]; TAPS],
    /// P: each output's weight on the histories at the start of the period
    /// (v_load, i_out, i_load).
    out_h: [[f64; HISTORIES]; 3],
    /// Δ: each output's weight on the window's inputs.
    out_u: [[f64; TAPS]; 3],
}

/// The three outputs of one block column at its last step.
fn last(o: &BlockOutputs, steps: usize) -> [f64; 3] {
    [o.v_load[steps - 1], o.i_out[steps - 1], o.i_load[steps - 1]]
}

impl CoarseNetwork {
    /// The map of `steps` solver steps of `k`, for inputs whose content lies below `band`
    /// radians per coarse sample.
    pub fn new(k: &NetworkCoeffs, steps: usize, band: f64) -> Self {
        let block = NetworkBlock::new(k, steps);
        let mut phi = [[0.0; HISTORIES]; HISTORIES];
        let mut out_h = [[0.0; HISTORIES]; 3];
        for c in 0..HISTORIES {
            phi[c] = *block.next_of(c);
            for (q, v) in last(block.outputs_of(c), steps).into_iter().enumerate() {
                out_h[q][c] = v;
            }
        }
        let mut gamma = [[0.0; HISTORIES]; TAPS];
        let mut out_u = [[0.0; TAPS]; 3];
        for m in 1..=steps {
            // The input of step m lies m/S − 1 of a coarse period before the coarse instant;
            // the last one is the instant itself, read exactly.
            let c = if m == steps {
                let mut d = [0.0; TAPS];
                d[LOOKAHEAD] = 1.0;
                d
            } else {
                interpolator(m as f64 / steps as f64 - 1.0, band)
            };
            let col = HISTORIES + m - 1;
            let n_m = block.next_of(col);
            let o_m = last(block.outputs_of(col), steps);
            for (i, &ci) in c.iter().enumerate() {
                for (g, &n) in gamma[i].iter_mut().zip(n_m) {
                    *g += n * ci;
                }
                for q in 0..3 {
                    out_u[q][i] += o_m[q] * ci;
                }
            }
        }
        CoarseNetwork {
            steps,
            phi,
            gamma,
            out_h,
            out_u,
        }
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Column `c` of the map of `P` periods at once ([`CoarsePair`], [`CoarseQuad`]), found by
    /// superposition: the histories after the periods and each period's load voltage, stage
    /// current and load current (rows HISTORIES + p, + P + p, + 2P + p; the rest zero) from
    /// unit history `c`, or for c ≥ HISTORIES from unit input c − HISTORIES of the `I` = TAPS
    /// + P − 1 the periods read (newest first: period p, oldest first, reads the window that
    /// ends P − 1 − p inputs before the newest).
    fn column<const P: usize, const I: usize, const R: usize>(&self, c: usize) -> [f64; R] {
        const { assert!(I == TAPS + P - 1 && R >= HISTORIES + 3 * P) };
        let mut col = [0.0; R];
        let mut h = [0.0; HISTORIES];
        let mut u = [0.0; I];
        if c < HISTORIES {
            h[c] = 1.0;
        } else {
            u[c - HISTORIES] = 1.0;
        }
        let mut st = NetworkState::from_histories(h);
        for p in 0..P {
            let w: &[f64; TAPS] = u[P - 1 - p..P - 1 - p + TAPS].try_into().expect("TAPS");
            let o = self.step(&mut st, w);
            col[HISTORIES + p] = o.v_load;
            col[HISTORIES + P + p] = o.i_out;
            col[HISTORIES + 2 * P + p] = o.i_load;
        }
        col[..HISTORIES].copy_from_slice(&st.histories());
        col
    }

    /// One coarse period: `window[i]` is the input u[n + LOOKAHEAD − i] (newest first), the
    /// state moves from instant n − 1 to n, and the outputs are those at instant n.
    #[inline(always)]
    pub fn step(&self, state: &mut NetworkState, window: &[f64; TAPS]) -> CoarseOutput {
        let h = state.histories();
        let mut y = [0.0; 3];
        for q in 0..3 {
            let mut acc = 0.0;
            for c in 0..HISTORIES {
                acc += self.out_h[q][c] * h[c];
            }
            for i in 0..TAPS {
                acc += self.out_u[q][i] * window[i];
            }
            y[q] = acc;
        }
        let mut next = [0.0; HISTORIES];
        for c in 0..HISTORIES {
            for (n, &p) in next.iter_mut().zip(&self.phi[c]) {
                *n += p * h[c];
            }
        }
        for i in 0..TAPS {
            for (n, &g) in next.iter_mut().zip(&self.gamma[i]) {
                *n += g * window[i];
            }
        }
        *state = NetworkState::from_histories(next);
        CoarseOutput {
            v_load: y[0],
            i_out: y[1],
            i_load: y[2],
        }
    }
}

/// Inputs a [`CoarsePair`] reads: the two periods' windows overlap in all but one.
pub const PAIR_INPUTS: usize = TAPS + 1;

/// Two coarse periods at once (one host sample at twice the host rate) as one linear map, so
/// that the histories move once per host sample and no period waits for the one before. Found
/// by running [`CoarseNetwork::step`] from each unit history and each unit input
/// (superposition), so it is the coarse network exactly, to rounding.
///
/// The histories' columns are double precision: the network's slow poles (a coupling
/// capacitor, a woofer's resonance) lie within 1e-4 of 1 at twice the host rate, and their
/// recursion needs every digit. The inputs' columns are single precision, like the stage's
/// output they weigh (the engine's stage runs in f32): their part of a pair is a sum of
/// [`PAIR_INPUTS`] products that nothing feeds back into before it is rounded to f64, so its
/// error is that of one f32 rounding per product, about 6e-8 of each (−144 dB), and it
/// enters the histories once, as a tiny input would. In the vector kernel a column of twelve
/// single-precision rows is one register of eight and one of four instead of three of four
/// (22 multiply-adds per pair for the inputs instead of 33).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoarsePair {
    /// For each history: the histories after both periods, then the load voltage, stage
    /// current and load current of the first and the second period — one row of
    /// [`PAIR_ROWS`].
    histories: [[f64; PAIR_ROWS]; HISTORIES],
    /// The same rows for each input, oldest input first (the order the engine keeps them in).
    inputs: [[f32; PAIR_ROWS]; PAIR_INPUTS],
}

/// What a [`CoarsePair`] computes per column: six histories and six outputs.
pub const PAIR_ROWS: usize = HISTORIES + 6;

/// The outputs of both periods of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairOutput {
    pub v_load: [f64; 2],
    pub i_out: [f64; 2],
    pub i_load: [f64; 2],
}

impl CoarsePair {
    pub fn new(net: &CoarseNetwork) -> Self {
        let column = |c: usize| net.column::<2, PAIR_INPUTS, PAIR_ROWS>(c);
        let histories = std::array::from_fn(column);
        let inputs =
            std::array::from_fn(|q| column(HISTORIES + PAIR_INPUTS - 1 - q).map(|w| w as f32));
        CoarsePair { histories, inputs }
    }

    /// Both periods from `state` with the inputs `u` (newest first: u[0] is the second
    /// period's newest input).
    #[inline(always)]
    pub fn run(&self, state: &mut NetworkState, u: &[f32; PAIR_INPUTS]) -> PairOutput {
        let mut window = *u;
        window.reverse();
        self.run_with::<false>(state, &window)
    }

    /// [`run`](Self::run) with the inputs oldest first (`window[PAIR_INPUTS − 1]` is the
    /// second period's newest input: a slice of a signal read in place), and with fused
    /// multiply-adds when `FMA` (for code compiled with the FMA instructions, see
    /// [`Isa`](super::isa::Isa)). The same sums as the vector kernel ([`stretch_vector`]),
    /// in the same groups: the inputs in two single-precision sums (even and odd inputs),
    /// then the first three histories added to them and the last three on their own.
    #[inline(always)]
    pub fn run_with<const FMA: bool>(
        &self,
        state: &mut NetworkState,
        window: &[f32; PAIR_INPUTS],
    ) -> PairOutput {
        let mac = |w: f64, z: f64, a: f64| if FMA { w.mul_add(z, a) } else { a + w * z };
        let mac32 = |w: f32, z: f32, a: f32| if FMA { w.mul_add(z, a) } else { a + w * z };
        // The inputs do not wait for the histories: their part first.
        let mut s = [[0.0f32; PAIR_ROWS]; 2];
        for (q, (&z, col)) in window.iter().zip(&self.inputs).enumerate() {
            for (a, &w) in s[q % 2].iter_mut().zip(col) {
                *a = mac32(w, z, *a);
            }
        }
        let mut lo = [0.0; PAIR_ROWS];
        for ((a, &e), &o) in lo.iter_mut().zip(&s[0]).zip(&s[1]) {
            *a = (e + o) as f64;
        }
        // What waits from one host sample to the next: the histories' part, in two sums of
        // three.
        let h = state.histories();
        let mut hi = [0.0; PAIR_ROWS];
        for (c, (&z, col)) in h.iter().zip(&self.histories).enumerate() {
            let acc = if c < HISTORIES / 2 { &mut lo } else { &mut hi };
            for (a, &w) in acc.iter_mut().zip(col) {
                *a = mac(w, z, *a);
            }
        }
        let mut y = [0.0; PAIR_ROWS];
        for ((y, a), b) in y.iter_mut().zip(&lo).zip(&hi) {
            *y = a + b;
        }
        let mut next = [0.0; HISTORIES];
        next.copy_from_slice(&y[..HISTORIES]);
        *state = NetworkState::from_histories(next);
        PairOutput {
            v_load: [y[HISTORIES], y[HISTORIES + 1]],
            i_out: [y[HISTORIES + 2], y[HISTORIES + 3]],
            i_load: [y[HISTORIES + 4], y[HISTORIES + 5]],
        }
    }

    /// The pairs of a stretch, one after the other: pair p reads `inputs[2p .. 2p +
    /// PAIR_INPUTS]` (oldest first), writes its two periods' outputs at 2p and 2p + 1 of
    /// `out`, and leaves the state after it in slot (first + 2p) of `states`, marked with that
    /// coarse sample. The engine's build `isa` picks the kernel: for
    /// AVX2 with FMA, and for AVX-512 the same kernel with AVX-512's thirty-two registers
    /// ([`stretch_avx2`], [`stretch_avx512`]; both sum the same products in another order than
    /// the portable loop, and alike bit for bit); the portable loop otherwise, or where the
    /// processor lacks what `isa` names.
    #[inline(always)]
    pub fn run_stretch(
        &self,
        isa: Isa,
        state: &mut NetworkState,
        inputs: &[f32],
        out: StretchOutputs<'_>,
        states: StateRing<'_>,
        first: u64,
    ) {
        let pairs = out.v_load.len() / 2;
        assert!(
            out.i_out.len() >= 2 * pairs
                && out.i_load.len() >= 2 * pairs
                && (pairs == 0 || inputs.len() >= 2 * pairs + PAIR_INPUTS - 2)
                && states.holds(),
            "the stretch's buffers hold its pairs"
        );
        #[cfg(target_arch = "x86_64")]
        if isa.fma() && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            let wide = isa == Isa::Avx512
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl");
            // SAFETY: the processor has AVX2 and FMA, and AVX-512 F and VL for the wide
            // build (asked just above: cached flags, no system call); the lengths were
            // checked above.
            unsafe {
                if wide {
                    stretch_avx512(self, state, inputs, pairs, out, states, first);
                } else {
                    stretch_avx2(self, state, inputs, pairs, out, states, first);
                }
            }
            return;
        }
        let mut states = states;
        for p in 0..pairs {
            let window: &[f32; PAIR_INPUTS] = inputs[2 * p..2 * p + PAIR_INPUTS]
                .try_into()
                .expect("checked above");
            let o = self.run_with::<false>(state, window);
            out.v_load[2 * p..2 * p + 2].copy_from_slice(&o.v_load);
            out.i_out[2 * p..2 * p + 2].copy_from_slice(&o.i_out);
            out.i_load[2 * p..2 * p + 2].copy_from_slice(&o.i_load);
            states.put(first.wrapping_add(2 * p as u64), *state);
        }
    }
}

/// A ring of the coarse network's states by coarse sample, each slot marked with the coarse
/// sample whose state it holds: a stretch of quads leaves states only every fourth coarse
/// sample, and whoever reads one checks its mark first. Both lengths are the same
/// power of two.
pub struct StateRing<'a> {
    pub states: &'a mut [NetworkState],
    pub at: &'a mut [u64],
}

impl StateRing<'_> {
    /// Whether the ring is as the kernels need it.
    fn holds(&self) -> bool {
        self.states.len().is_power_of_two() && self.at.len() == self.states.len()
    }

    fn mask(&self) -> u64 {
        self.states.len() as u64 - 1
    }

    /// Keeps `state` as the state at coarse sample `t`.
    #[inline(always)]
    pub fn put(&mut self, t: u64, state: NetworkState) {
        let slot = (t & self.mask()) as usize;
        self.states[slot] = state;
        self.at[slot] = t;
    }
}

/// Where [`CoarsePair::run_stretch`] writes the outputs, by coarse sample: two per pair.
pub struct StretchOutputs<'a> {
    pub v_load: &'a mut [f64],
    pub i_out: &'a mut [f64],
    pub i_load: &'a mut [f64],
}

/// One build of a vector kernel ([`stretch_vector`] for the pairs, [`quads_vector`] for the
/// quads): the same code compiled for the instructions `$features` names.
macro_rules! kernel_build {
    ($(#[$doc:meta])* $name:ident, $features:literal, $map:ty, $kernel:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The processor must have the instructions it is built for, and the buffers must be as
        /// the map's `run_stretch` checks.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name(
            map: &$map,
            state: &mut NetworkState,
            inputs: &[f32],
            count: usize,
            out: StretchOutputs<'_>,
            states: StateRing<'_>,
            first: u64,
        ) {
            $kernel(map, state, inputs, count, out, states, first)
        }
    };
}

kernel_build!(
    /// [`CoarsePair::run_stretch`] for AVX2 with FMA ([`stretch_vector`]).
    stretch_avx2,
    "avx2,fma",
    CoarsePair,
    stretch_vector
);

kernel_build!(
    /// [`stretch_avx2`] compiled with AVX-512 F and VL as well: the same instructions on the
    /// same four-lane registers (the same arithmetic, bit for bit), but thirty-two of them
    /// instead of sixteen, so that the columns of the map stay in registers across the
    /// stretch instead of being loaded again for every pair. On a 2-core AMD EPYC (Zen 4) VM
    /// a pair took 8.7 ns instead of 11.8 in a microbenchmark of stretches of 64 pairs.
    stretch_avx512,
    "avx2,fma,avx512f,avx512vl",
    CoarsePair,
    stretch_vector
);

/// The pairs of a stretch in vectors. A column's twelve rows are three vectors of four in
/// double precision — rows 0–3 (histories), 4–7 (the last two histories, then the load
/// voltage of both periods) and 8–11 (the stage current, then the load current, of both
/// periods) — or, for the inputs' columns, one single-precision vector of eight and one of
/// four. The inputs' columns go into two sums (even and odd inputs), which are added, widened
/// to double precision, and then take three histories, while the other three histories make a
/// sum of their own; what waits from one pair to the next is a permute, three multiply-adds and
/// an add, and the histories stay in registers for the whole stretch.
///
/// # Safety
/// Only for the callers above, compiled with at least AVX2 and FMA on a processor that has
/// them, with the buffers as `run_stretch` checks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn stretch_vector(
    pair: &CoarsePair,
    state: &mut NetworkState,
    inputs: &[f32],
    pairs: usize,
    out: StretchOutputs<'_>,
    states: StateRing<'_>,
    first: u64,
) {
    use std::arch::x86_64::*;
    const _: () = assert!(PAIR_ROWS == 12 && HISTORIES == 6);
    let col = |c: usize, k: usize| _mm256_loadu_pd(pair.histories[c].as_ptr().add(4 * k));
    let input_col = |q: usize| {
        let rows = pair.inputs[q].as_ptr();
        (_mm256_loadu_ps(rows), _mm_loadu_ps(rows.add(8)))
    };
    let h = state.histories();
    let mut lo = _mm256_loadu_pd(h.as_ptr());
    let mut hi = _mm_loadu_pd(h.as_ptr().add(4));
    let mask = states.mask();
    let u = inputs.as_ptr();
    for p in 0..pairs {
        // Inputs oldest first, as their columns are.
        let input = |q: usize| _mm256_broadcast_ss(&*u.add(2 * p + q));
        let product = |q: usize| {
            let (z, (c8, c4)) = (input(q), input_col(q));
            (
                _mm256_mul_ps(c8, z),
                _mm_mul_ps(c4, _mm256_castps256_ps128(z)),
            )
        };
        let mut sums = [product(0), product(1)];
        for q in 2..PAIR_INPUTS {
            let (z, (c8, c4)) = (input(q), input_col(q));
            let (a8, a4) = &mut sums[q % 2];
            *a8 = _mm256_fmadd_ps(c8, z, *a8);
            *a4 = _mm_fmadd_ps(c4, _mm256_castps256_ps128(z), *a4);
        }
        let s8 = _mm256_add_ps(sums[0].0, sums[1].0);
        let s4 = _mm_add_ps(sums[0].1, sums[1].1);
        let mut even = [
            _mm256_cvtps_pd(_mm256_castps256_ps128(s8)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(s8)),
            _mm256_cvtps_pd(s4),
        ];
        let hist = each_history(lo, hi);
        let mut odd = [0, 1, 2].map(|k| _mm256_mul_pd(col(3, k), hist[3]));
        for (c, &z) in hist.iter().enumerate() {
            if c == 3 {
                continue;
            }
            let acc = if c < 3 { &mut even } else { &mut odd };
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_pd(col(c, k), z, *a);
            }
        }
        let y = [
            _mm256_add_pd(even[0], odd[0]),
            _mm256_add_pd(even[1], odd[1]),
            _mm256_add_pd(even[2], odd[2]),
        ];
        lo = y[0];
        hi = _mm256_castpd256_pd128(y[1]);
        _mm_storeu_pd(
            out.v_load.as_mut_ptr().add(2 * p),
            _mm256_extractf128_pd::<1>(y[1]),
        );
        _mm_storeu_pd(
            out.i_out.as_mut_ptr().add(2 * p),
            _mm256_castpd256_pd128(y[2]),
        );
        _mm_storeu_pd(
            out.i_load.as_mut_ptr().add(2 * p),
            _mm256_extractf128_pd::<1>(y[2]),
        );
        let t = first.wrapping_add(2 * p as u64);
        *states.states.get_unchecked_mut((t & mask) as usize) = state_of(lo, hi);
        *states.at.get_unchecked_mut((t & mask) as usize) = t;
    }
    *state = state_of(lo, hi);
}

/// [`quads_vector`] in registers twice as wide: a history column's sixteen rows are two
/// double-precision vectors of eight instead of four of four, an input column's one
/// single-precision vector of sixteen instead of two of eight. Each row takes the same
/// operations in the same order as there, so the two kernels agree bit for bit; this one
/// issues half the instructions (25 multiply-adds per quad instead of 50). Where the AVX-512
/// units are as wide as the registers (AMD Zen 5) the kernel then waits on the histories'
/// chain instead of its multiply-adds: the engine took about 4 % less time on music there
/// (`benches/SPEED.md`, round twenty). Where they split each operation in two (Zen 4) it
/// should take about as long as the four-lane code.
///
/// # Safety
/// Only for [`quads_avx512`], compiled with AVX-512 F and VL on a processor that has them,
/// with the buffers as `run_stretch` checks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn quads_vector_512(
    quad: &CoarseQuad,
    state: &mut NetworkState,
    inputs: &[f32],
    quads: usize,
    out: StretchOutputs<'_>,
    states: StateRing<'_>,
    first: u64,
) {
    use std::arch::x86_64::*;
    const _: () = assert!(HISTORIES == 6 && QUAD_INPUTS >= 2 && QUAD_ROWS == 16);
    let col = |c: usize, k: usize| _mm512_loadu_pd(quad.histories[c].as_ptr().add(8 * k));
    // Rows 0–7 of the histories' vector: the six histories, then two lanes that the next
    // state does not read (zero at the start).
    let mut h8 = [0.0; 8];
    h8[..HISTORIES].copy_from_slice(&state.histories());
    let mut lo = _mm512_loadu_pd(h8.as_ptr());
    let mask = states.mask();
    let u = inputs.as_ptr();
    let (v_load, i_out, i_load) = (
        out.v_load.as_mut_ptr(),
        out.i_out.as_mut_ptr(),
        out.i_load.as_mut_ptr(),
    );
    // Lane k of a vector into all eight lanes.
    let lane = |k: i64| _mm512_set1_epi64(k);
    let which = [lane(0), lane(1), lane(2), lane(3), lane(4), lane(5)];
    for p in 0..quads {
        // Inputs oldest first, in two sums (even and odd inputs), as in `quads_vector`.
        let mut sums = [_mm512_setzero_ps(); 2];
        for q in 0..QUAD_INPUTS {
            let z = _mm512_set1_ps(*u.add(4 * p + q));
            let rows = _mm512_loadu_ps(quad.inputs[q].as_ptr());
            let s = &mut sums[q % 2];
            *s = if q < 2 {
                _mm512_mul_ps(rows, z)
            } else {
                _mm512_fmadd_ps(rows, z, *s)
            };
        }
        let s = _mm512_add_ps(sums[0], sums[1]);
        let mut even = [
            _mm512_cvtps_pd(_mm512_castps512_ps256(s)),
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(s),
            ))),
        ];
        let hist = which.map(|w| _mm512_permutexvar_pd(w, lo));
        let mut odd = [_mm512_setzero_pd(); 2];
        for (k, (e, o)) in even.iter_mut().zip(&mut odd).enumerate() {
            *e = _mm512_fmadd_pd(col(0, k), hist[0], *e);
            *o = _mm512_mul_pd(col(3, k), hist[3]);
            *e = _mm512_fmadd_pd(col(1, k), hist[1], *e);
            *o = _mm512_fmadd_pd(col(4, k), hist[4], *o);
            *e = _mm512_fmadd_pd(col(2, k), hist[2], *e);
            *o = _mm512_fmadd_pd(col(5, k), hist[5], *o);
        }
        let y = [
            _mm512_add_pd(even[0], odd[0]),
            _mm512_add_pd(even[1], odd[1]),
        ];
        lo = y[0];
        // Rows 6–7 and 8–9 the load voltages, 10–13 the stage currents, 14–15 the load
        // currents of the first and third periods.
        let o = 4 * p;
        let (upper, rows_8, rows_12) = (
            _mm512_extractf64x4_pd::<1>(y[0]),
            _mm512_castpd512_pd256(y[1]),
            _mm512_extractf64x4_pd::<1>(y[1]),
        );
        _mm_storeu_pd(v_load.add(o), _mm256_extractf128_pd::<1>(upper));
        _mm_storeu_pd(v_load.add(o + 2), _mm256_castpd256_pd128(rows_8));
        _mm_storeu_pd(i_out.add(o), _mm256_extractf128_pd::<1>(rows_8));
        _mm_storeu_pd(i_out.add(o + 2), _mm256_castpd256_pd128(rows_12));
        let loads = _mm256_extractf128_pd::<1>(rows_12);
        _mm_storel_pd(i_load.add(o), loads);
        _mm_storeh_pd(i_load.add(o + 2), loads);
        let t = first.wrapping_add(o as u64 + 2);
        *states.states.get_unchecked_mut((t & mask) as usize) = state_of_512(lo);
        *states.at.get_unchecked_mut((t & mask) as usize) = t;
    }
    *state = state_of_512(lo);
}

/// The histories held in the first six lanes of `h` as a state.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn state_of_512(h: std::arch::x86_64::__m512d) -> NetworkState {
    use std::arch::x86_64::*;
    let mut all = [0.0; 8];
    _mm512_storeu_pd(all.as_mut_ptr(), h);
    let mut six = [0.0; HISTORIES];
    six.copy_from_slice(&all[..HISTORIES]);
    NetworkState::from_histories(six)
}

/// Each of the histories held in `lo` (the first four) and `hi` (the last two) in all four
/// lanes of a vector.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn each_history(
    lo: std::arch::x86_64::__m256d,
    hi: std::arch::x86_64::__m128d,
) -> [std::arch::x86_64::__m256d; HISTORIES] {
    use std::arch::x86_64::*;
    [
        _mm256_permute4x64_pd::<0x00>(lo),
        _mm256_permute4x64_pd::<0x55>(lo),
        _mm256_permute4x64_pd::<0xAA>(lo),
        _mm256_permute4x64_pd::<0xFF>(lo),
        _mm256_broadcastsd_pd(hi),
        _mm256_permute4x64_pd::<0x55>(_mm256_castpd128_pd256(hi)),
    ]
}

/// The histories held in `lo` (the first four) and `hi` (the last two) as a state.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn state_of(lo: std::arch::x86_64::__m256d, hi: std::arch::x86_64::__m128d) -> NetworkState {
    use std::arch::x86_64::*;
    let mut h = [0.0; HISTORIES];
    _mm256_storeu_pd(h.as_mut_ptr(), lo);
    _mm_storeu_pd(h.as_mut_ptr().add(4), hi);
    NetworkState::from_histories(h)
}

/// Inputs a [`CoarseQuad`] reads: four periods' windows, each one newer than the last.
pub const QUAD_INPUTS: usize = TAPS + 3;

/// What a [`CoarseQuad`] computes per column: six histories, the load voltage and the stage
/// current of each of four periods, and the load current of the first and third (each pair's
/// first period, the one the power meter reads). Sixteen rows, four vectors of four.
const QUAD_ROWS: usize = 16;

/// Four coarse periods at once (two host samples): the [`CoarsePair`] map applied twice, found
/// the same way (superposition of [`CoarseNetwork::step`]). Where the pair's histories wait
/// for the pair before (a permute, three multiply-adds and an add, about 18 cycles), a quad
/// waits once per two host samples, so that the vector kernel runs at the rate its
/// multiply-adds allow instead of that of its chain.
///
/// The load current is kept at each pair's first period only: the fast path measures the
/// power into the load once per host sample (`two_rate`), which keeps its mean (the product
/// of two signals below the host's Nyquist frequency has its DC where it was when taken at
/// the host rate). Without the other two rows the quad's sixteen rows are four vectors: 50
/// multiply-adds per quad (24 for the histories, 26 for the inputs, in the pair's
/// precisions), 25 per host sample against the pair's 40.
///
/// The state between the two pairs of a quad is not computed: a stretch of quads leaves a
/// state every fourth coarse sample, and a takeover that wants one between starts two coarse
/// samples earlier ([`StateRing`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoarseQuad {
    /// For each history: the histories after four periods, then the load voltages and the
    /// stage currents of the four periods (oldest first), then the load currents of the
    /// first and third.
    histories: [[f64; QUAD_ROWS]; HISTORIES],
    /// The same rows for each input, oldest input first, in single precision (see
    /// [`CoarsePair`]): two vectors of eight.
    inputs: [[f32; QUAD_ROWS]; QUAD_INPUTS],
}

impl CoarseQuad {
    pub fn new(net: &CoarseNetwork) -> Self {
        // The map's rows up to the stage currents as they are; of the four load currents
        // after them, the first and third.
        const LOADS: usize = HISTORIES + 2 * 4;
        const { assert!(QUAD_ROWS == LOADS + 2) };
        let column = |c: usize| {
            let all = net.column::<4, QUAD_INPUTS, { LOADS + 4 }>(c);
            let mut rows = [0.0; QUAD_ROWS];
            rows[..LOADS].copy_from_slice(&all[..LOADS]);
            (rows[LOADS], rows[LOADS + 1]) = (all[LOADS], all[LOADS + 2]);
            rows
        };
        let histories = std::array::from_fn(column);
        let inputs =
            std::array::from_fn(|q| column(HISTORIES + QUAD_INPUTS - 1 - q).map(|w| w as f32));
        CoarseQuad { histories, inputs }
    }

    /// [`CoarsePair::run_stretch`] with the pairs two at a time where the engine's build `isa`
    /// has the vector kernel ([`quads_avx2`], [`quads_avx512`]). The quads lie on a grid of
    /// coarse samples, the same whatever the stretches: a quad's first pair is the one whose
    /// state slot t has (t / 2) even. So each sample is computed the same way however the
    /// host cuts its blocks: a stretch that starts at a quad's second pair (after the full
    /// path hands back, where the signal decides) runs that pair on its own, and one that
    /// ends after a quad's first pair computes that pair's outputs with the quad itself (the
    /// quad's next two inputs taken as zero: they weigh nothing on the first pair's rows,
    /// exactly), leaves no state for it and returns true: `state` is then still the state
    /// before that pair, and the next stretch starts there (two coarse samples earlier than
    /// it would), with the same quad. States are left only after each quad and each pair run
    /// on its own. The portable build runs the pairs one by one and never returns true. The
    /// load current is written at each pair's first coarse sample (even indices of
    /// `out.i_load`); where quads ran, the pairs' second are left as they were.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn run_stretch(
        &self,
        pair: &CoarsePair,
        isa: Isa,
        state: &mut NetworkState,
        inputs: &[f32],
        out: StretchOutputs<'_>,
        states: StateRing<'_>,
        first: u64,
    ) -> bool {
        let pairs = out.v_load.len() / 2;
        #[cfg(target_arch = "x86_64")]
        if isa.fma() && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            assert!(
                out.i_out.len() >= 2 * pairs
                    && out.i_load.len() >= 2 * pairs
                    && (pairs == 0 || inputs.len() >= 2 * pairs + PAIR_INPUTS - 2)
                    && states.holds(),
                "the stretch's buffers hold its pairs"
            );
            let wide = isa == Isa::Avx512
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl");
            let run = |quad: &CoarseQuad,
                       state: &mut NetworkState,
                       inputs: &[f32],
                       quads: usize,
                       out: StretchOutputs<'_>,
                       states: StateRing<'_>,
                       first: u64| {
                // SAFETY: the processor has AVX2 and FMA, and AVX-512 F and VL for the wide
                // build (asked just above); the callers below pass buffers that hold `quads`.
                unsafe {
                    if wide {
                        quads_avx512(quad, state, inputs, quads, out, states, first);
                    } else {
                        quads_avx2(quad, state, inputs, quads, out, states, first);
                    }
                }
            };
            let StretchOutputs {
                v_load,
                i_out,
                i_load,
            } = out;
            let StateRing { states, at } = states;
            let mut p = 0;
            if pairs > 0 && (first / 2) % 2 == 1 {
                pair.run_stretch(
                    isa,
                    state,
                    inputs,
                    StretchOutputs {
                        v_load: &mut v_load[..2],
                        i_out: &mut i_out[..2],
                        i_load: &mut i_load[..2],
                    },
                    StateRing {
                        states: &mut *states,
                        at: &mut *at,
                    },
                    first,
                );
                p = 1;
            }
            let quads = (pairs - p) / 2;
            let q = 2 * p;
            run(
                self,
                state,
                &inputs[q..],
                quads,
                StretchOutputs {
                    v_load: &mut v_load[q..q + 4 * quads],
                    i_out: &mut i_out[q..q + 4 * quads],
                    i_load: &mut i_load[q..q + 4 * quads],
                },
                StateRing {
                    states: &mut *states,
                    at: &mut *at,
                },
                first.wrapping_add(q as u64),
            );
            p += 2 * quads;
            if p == pairs {
                return false;
            }
            // A quad's first pair: its outputs from the whole quad, the inputs after it zero,
            // and its state nowhere.
            let q = 2 * p;
            let mut window = [0.0f32; QUAD_INPUTS];
            window[..PAIR_INPUTS].copy_from_slice(&inputs[q..q + PAIR_INPUTS]);
            let (mut v, mut i, mut l) = ([0.0; 4], [0.0; 4], [0.0; 4]);
            let (mut nowhere, mut never) = ([NetworkState::default()], [0u64]);
            let mut after = *state;
            run(
                self,
                &mut after,
                &window,
                1,
                StretchOutputs {
                    v_load: &mut v,
                    i_out: &mut i,
                    i_load: &mut l,
                },
                StateRing {
                    states: &mut nowhere,
                    at: &mut never,
                },
                0,
            );
            v_load[q..q + 2].copy_from_slice(&v[..2]);
            i_out[q..q + 2].copy_from_slice(&i[..2]);
            i_load[q..q + 2].copy_from_slice(&l[..2]);
            return true;
        }
        pair.run_stretch(isa, state, inputs, out, states, first);
        false
    }
}

kernel_build!(
    /// [`CoarseQuad::run_stretch`]'s quads for AVX2 with FMA ([`quads_vector`]).
    quads_avx2,
    "avx2,fma",
    CoarseQuad,
    quads_vector
);

kernel_build!(
    /// The quads in AVX-512's registers of eight doubles and sixteen floats
    /// ([`quads_vector_512`]).
    quads_avx512,
    "avx2,fma,avx512f,avx512vl",
    CoarseQuad,
    quads_vector_512
);

/// The quads of a stretch in vectors, as [`stretch_vector`] does the pairs: quad q reads
/// `inputs[4q .. 4q + QUAD_INPUTS]`, writes its four periods' outputs at 4q .. 4q + 4 (the
/// load current at 4q and 4q + 2 only) and leaves its state at coarse sample first + 4q +
/// 2 (its second pair's). A history column's sixteen rows are four double-precision vectors
/// of four; an input column's are two single-precision vectors of eight.
///
/// # Safety
/// Only for the callers above, compiled with at least AVX2 and FMA on a processor that has
/// them, with the buffers as `run_stretch` checks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn quads_vector(
    quad: &CoarseQuad,
    state: &mut NetworkState,
    inputs: &[f32],
    quads: usize,
    out: StretchOutputs<'_>,
    states: StateRing<'_>,
    first: u64,
) {
    use std::arch::x86_64::*;
    const _: () = assert!(HISTORIES == 6 && QUAD_INPUTS >= 2 && QUAD_ROWS == 16);
    let col = |c: usize, k: usize| _mm256_loadu_pd(quad.histories[c].as_ptr().add(4 * k));
    let h = state.histories();
    let mut lo = _mm256_loadu_pd(h.as_ptr());
    let mut hi = _mm_loadu_pd(h.as_ptr().add(4));
    let mask = states.mask();
    let u = inputs.as_ptr();
    let (v_load, i_out, i_load) = (
        out.v_load.as_mut_ptr(),
        out.i_out.as_mut_ptr(),
        out.i_load.as_mut_ptr(),
    );
    for p in 0..quads {
        // Inputs oldest first, as their columns are, in two sums (even and odd inputs) of
        // two vectors each: rows 0–7 and 8–15.
        let mut sums = [[_mm256_setzero_ps(); 2]; 2];
        for q in 0..QUAD_INPUTS {
            let z = _mm256_broadcast_ss(&*u.add(4 * p + q));
            let rows = quad.inputs[q].as_ptr();
            let (a, b) = (_mm256_loadu_ps(rows), _mm256_loadu_ps(rows.add(8)));
            let s = &mut sums[q % 2];
            if q < 2 {
                s[0] = _mm256_mul_ps(a, z);
                s[1] = _mm256_mul_ps(b, z);
            } else {
                s[0] = _mm256_fmadd_ps(a, z, s[0]);
                s[1] = _mm256_fmadd_ps(b, z, s[1]);
            }
        }
        let s0 = _mm256_add_ps(sums[0][0], sums[1][0]);
        let s1 = _mm256_add_ps(sums[0][1], sums[1][1]);
        let mut even = [
            _mm256_cvtps_pd(_mm256_castps256_ps128(s0)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(s0)),
            _mm256_cvtps_pd(_mm256_castps256_ps128(s1)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(s1)),
        ];
        // The histories: the first three into the inputs' sum, the last three on their own.
        let hist = each_history(lo, hi);
        let mut odd = [_mm256_setzero_pd(); 4];
        for (k, (e, o)) in even.iter_mut().zip(&mut odd).enumerate() {
            *e = _mm256_fmadd_pd(col(0, k), hist[0], *e);
            *o = _mm256_mul_pd(col(3, k), hist[3]);
            *e = _mm256_fmadd_pd(col(1, k), hist[1], *e);
            *o = _mm256_fmadd_pd(col(4, k), hist[4], *o);
            *e = _mm256_fmadd_pd(col(2, k), hist[2], *e);
            *o = _mm256_fmadd_pd(col(5, k), hist[5], *o);
        }
        let mut y = [_mm256_setzero_pd(); 4];
        for ((y, e), o) in y.iter_mut().zip(&even).zip(&odd) {
            *y = _mm256_add_pd(*e, *o);
        }
        lo = y[0];
        hi = _mm256_castpd256_pd128(y[1]);
        // Rows 6–9 the load voltages, 10–13 the stage currents (each output's four periods
        // the high half of one vector and the low half of the next), 14–15 the load currents
        // of the first and third periods (the high half of the last).
        let o = 4 * p;
        _mm_storeu_pd(v_load.add(o), _mm256_extractf128_pd::<1>(y[1]));
        _mm_storeu_pd(v_load.add(o + 2), _mm256_castpd256_pd128(y[2]));
        _mm_storeu_pd(i_out.add(o), _mm256_extractf128_pd::<1>(y[2]));
        _mm_storeu_pd(i_out.add(o + 2), _mm256_castpd256_pd128(y[3]));
        let loads = _mm256_extractf128_pd::<1>(y[3]);
        _mm_storel_pd(i_load.add(o), loads);
        _mm_storeh_pd(i_load.add(o + 2), loads);
        let t = first.wrapping_add(o as u64 + 2);
        *states.states.get_unchecked_mut((t & mask) as usize) = state_of(lo, hi);
        *states.at.get_unchecked_mut((t & mask) as usize) = t;
    }
    *state = state_of(lo, hi);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::Network;
    use crate::model::{LoadKind, Settings};
    use std::f64::consts::{PI, TAU};

    fn speaker() -> Settings {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_out = 2.0;
        s.c_out = 470.0;
        s.cable_len = 30.0;
        s.z_load = 6.0;
        s.z_peak = 45.0;
        s.f_res = 40.0;
        s.q_res = 3.0;
        s.l_coil = 0.5;
        s
    }

    fn long_line() -> Settings {
        let mut s = Settings::default();
        s.load = LoadKind::LineInput;
        s.z_load = 47_000.0;
        s.z_out = 600.0;
        s.c_out = 10.0;
        s.cable_len = 100.0;
        s.cable_c = 500.0;
        s
    }

    /// A band-limited test signal: four sines from 37 Hz to 19.3 kHz under a raised-cosine
    /// fade-in of 20 ms (so that its start is band-limited too), V.
    fn signal(t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let fade = if t < 0.02 {
            0.5 - 0.5 * (PI * t / 0.02).cos()
        } else {
            1.0
        };
        let tones = [
            (37.0, 3.0, 0.1),
            (1_100.0, 1.0, 0.7),
            (9_700.0, 0.5, 1.3),
            (19_300.0, 0.3, 2.9),
        ];
        fade * tones
            .iter()
            .map(|&(f, a, ph)| a * (TAU * f * t + ph).sin())
            .sum::<f64>()
    }

    /// The coarse network at 96 kHz and the solver at 384 kHz, driven by the same band-limited
    /// signal, hold the same histories at every fourth step and give the same outputs there,
    /// to 1e-3 of their largest value.
    #[test]
    fn follows_the_solver_between_its_samples() {
        let (fine, steps) = (384_000.0, 4);
        let coarse = fine / steps as f64;
        for s in [speaker(), long_line(), Settings::default()] {
            let net = Network::from_settings(&s);
            let k = NetworkCoeffs::new(&net, 1e3, fine);
            let cn = CoarseNetwork::new(&k, steps, TAU * 20_000.0 / coarse);
            let mut solver = NetworkState::default();
            let mut state = NetworkState::default();
            let n_coarse = (0.4 * coarse) as usize;
            let (mut worst_h, mut top_h) = ([0.0f64; HISTORIES], [0.0f64; HISTORIES]);
            let (mut worst_y, mut top_y) = ([0.0f64; 3], [0.0f64; 3]);
            for n in 1..n_coarse {
                let mut want = (0.0, 0.0, 0.0);
                for j in 4 * (n - 1) + 1..=4 * n {
                    want = solver.step_linear(&k, signal(j as f64 / fine));
                }
                let mut window = [0.0; TAPS];
                for (i, w) in window.iter_mut().enumerate() {
                    let at = n as f64 + LOOKAHEAD as f64 - i as f64;
                    *w = signal(at / coarse);
                }
                let got = cn.step(&mut state, &window);
                if n < n_coarse / 2 {
                    continue; // let the fade-in's slow transients settle in both
                }
                for (c, (a, b)) in state.histories().iter().zip(solver.histories()).enumerate() {
                    worst_h[c] = worst_h[c].max((a - b).abs());
                    top_h[c] = top_h[c].max(b.abs());
                }
                for (q, (a, b)) in [
                    (got.v_load, want.0),
                    (got.i_out, want.1),
                    (got.i_load, want.2),
                ]
                .into_iter()
                .enumerate()
                {
                    worst_y[q] = worst_y[q].max((a - b).abs());
                    top_y[q] = top_y[q].max(b.abs());
                }
            }
            for c in 0..HISTORIES {
                assert!(
                    worst_h[c] <= 1e-3 * top_h[c] + 1e-12,
                    "{:?} history {c}: {} of {}",
                    s.load,
                    worst_h[c],
                    top_h[c]
                );
            }
            for q in 0..3 {
                assert!(
                    worst_y[q] <= 1e-3 * top_y[q],
                    "{:?} output {q}: {} of {}",
                    s.load,
                    worst_y[q],
                    top_y[q]
                );
            }
        }
    }

    /// A small sine through the coarse network at 96 kHz comes out as the circuit analysis
    /// predicts, within 0.1 dB from 20 Hz to 20 kHz.
    #[test]
    fn follows_the_circuit() {
        let (fine, steps) = (384_000.0, 4);
        let coarse = fine / steps as f64;
        for s in [speaker(), long_line()] {
            let net = Network::from_settings(&s);
            let cn = CoarseNetwork::new(
                &NetworkCoeffs::new(&net, 1e3, fine),
                steps,
                TAU * 20_000.0 / coarse,
            );
            for f in [20.0, 40.0, 1_000.0, 10_000.0, 20_000.0] {
                let mut st = NetworkState::default();
                let n = (coarse * 3.0) as usize;
                // The last second holds whole periods of every test frequency.
                let last = coarse as usize;
                let (mut re, mut im) = (0.0, 0.0);
                for i in 0..n {
                    let mut window = [0.0; TAPS];
                    for (j, w) in window.iter_mut().enumerate() {
                        let at = (i + LOOKAHEAD) as f64 - j as f64;
                        *w = 1e-3 * (TAU * f * at / coarse).sin();
                    }
                    let y = cn.step(&mut st, &window).v_load;
                    if i >= n - last {
                        let ph = TAU * f * i as f64 / coarse;
                        re += y * ph.sin();
                        im += y * ph.cos();
                    }
                }
                let got = 20.0 * (2.0 * (re * re + im * im).sqrt() / last as f64 / 1e-3).log10();
                let want = 20.0 * net.response(f).norm().log10();
                assert!(
                    (got - want).abs() < 0.1,
                    "{:?} {f} Hz: {got} vs {want}",
                    s.load
                );
            }
        }
    }

    /// A stretch of pairs, portable and in each vector build the processor can run (AVX2 with
    /// FMA, and that with AVX-512's registers), gives what the pairs one by one give, and
    /// leaves each pair's state in its ring slot: the portable build the plain sums bit for
    /// bit, the vector builds the fused ones (`run_with::<true>`, the same sums in the same
    /// order) bit for bit, and the two within the single-precision inputs' rounding.
    #[test]
    fn stretch_is_its_pairs() {
        let s = speaker();
        let k = NetworkCoeffs::new(&Network::from_settings(&s), 1e3, 384_000.0);
        let pair = CoarsePair::new(&CoarseNetwork::new(&k, 4, TAU * 20_000.0 / 96_000.0));
        let pairs = 300;
        let inputs: Vec<f32> = (0..2 * pairs + PAIR_INPUTS)
            .map(|i| (signal(i as f64 / 96_000.0) + 0.3 * ((i * 7919) % 13) as f64 / 13.0) as f32)
            .collect();
        let start = NetworkState::from_histories([0.1, -0.2, 0.3, 1e-3, -2e-3, 0.05]);
        // The pairs one by one, with plain and with fused multiply-adds.
        let one_by_one = |fused: bool| {
            let mut state = start;
            let mut outputs = Vec::new();
            let mut states = Vec::new();
            for p in 0..pairs {
                let window: &[f32; PAIR_INPUTS] =
                    inputs[2 * p..2 * p + PAIR_INPUTS].try_into().unwrap();
                let o = if fused {
                    pair.run_with::<true>(&mut state, window)
                } else {
                    pair.run_with::<false>(&mut state, window)
                };
                outputs.push([
                    o.v_load[0],
                    o.v_load[1],
                    o.i_out[0],
                    o.i_out[1],
                    o.i_load[0],
                    o.i_load[1],
                ]);
                states.push(state);
            }
            (outputs, states)
        };
        let plain = one_by_one(false);
        let fused = one_by_one(true);
        // The portable build, then each vector build this processor can run.
        let mut kinds = vec!["portable"];
        #[cfg(target_arch = "x86_64")]
        for (isa, kind) in [(Isa::Avx2Fma, "avx2"), (Isa::Avx512, "avx512")] {
            if isa.available() {
                kinds.push(kind);
            }
        }
        for kind in kinds {
            let (mut v, mut i, mut l) = (
                vec![0.0; 2 * pairs],
                vec![0.0; 2 * pairs],
                vec![0.0; 2 * pairs],
            );
            let mut ring = [NetworkState::default(); 64];
            let mut at = [u64::MAX; 64];
            let mut st = start;
            let out = StretchOutputs {
                v_load: &mut v,
                i_out: &mut i,
                i_load: &mut l,
            };
            let states = StateRing {
                states: &mut ring,
                at: &mut at,
            };
            // The first pair's state lands in slot 60; the ring wraps.
            match kind {
                "portable" => pair.run_stretch(Isa::Baseline, &mut st, &inputs, out, states, 60),
                // SAFETY: each build only where the processor has its instructions (above).
                #[cfg(target_arch = "x86_64")]
                "avx2" => unsafe { stretch_avx2(&pair, &mut st, &inputs, pairs, out, states, 60) },
                #[cfg(target_arch = "x86_64")]
                "avx512" => unsafe {
                    stretch_avx512(&pair, &mut st, &inputs, pairs, out, states, 60)
                },
                _ => unreachable!(),
            }
            let (want, want_states) = if kind == "portable" { &plain } else { &fused };
            for (p, w) in want.iter().enumerate() {
                let got = [
                    v[2 * p],
                    v[2 * p + 1],
                    i[2 * p],
                    i[2 * p + 1],
                    l[2 * p],
                    l[2 * p + 1],
                ];
                assert!(&got == w, "{kind} pair {p}: {got:?} vs {w:?}");
                // Plain and fused sums differ by the rounding of the single-precision inputs'
                // products: a few 1e-8 of the values (the inputs here are about 1).
                for (a, b) in got.iter().zip(&plain.0[p]) {
                    assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{kind} pair {p}");
                }
            }
            assert!(
                st.histories() == want_states[pairs - 1].histories(),
                "{kind}: final state"
            );
            // The last 32 pairs' states, each in slot (60 + 2p) mod 64, marked with 60 + 2p.
            for p in pairs - 32..pairs {
                let slot = (60 + 2 * p) % 64;
                assert!(
                    ring[slot].histories() == want_states[p].histories()
                        && at[slot] == (60 + 2 * p) as u64,
                    "{kind}: state of pair {p} in slot {slot}"
                );
            }
        }
    }

    /// A stretch of quads gives what the pairs one by one give, within the rounding of the
    /// single-precision inputs' products summed in other groups. The quads lie on the grid of
    /// coarse samples: starting at slot 7, a quad's second pair, the first pair runs on its
    /// own; starting at slot 9 the 301st pair is a quad's first, whose outputs come from the
    /// quad and which is left pending (the state stays before it). Each quad's state (and a
    /// pair's on its own) is left in its ring slot, marked, and none between a quad's pairs.
    /// The portable build runs the pairs themselves; the AVX-512 build's kernel gives the AVX2
    /// one's values to the bit.
    #[test]
    fn quads_are_their_pairs() {
        let s = speaker();
        let k = NetworkCoeffs::new(&Network::from_settings(&s), 1e3, 384_000.0);
        let cn = CoarseNetwork::new(&k, 4, TAU * 20_000.0 / 96_000.0);
        let (pair, quad) = (CoarsePair::new(&cn), CoarseQuad::new(&cn));
        let pairs = 301;
        let inputs: Vec<f32> = (0..2 * pairs + PAIR_INPUTS)
            .map(|i| (signal(i as f64 / 96_000.0) + 0.3 * ((i * 7919) % 13) as f64 / 13.0) as f32)
            .collect();
        let start = NetworkState::from_histories([0.1, -0.2, 0.3, 1e-3, -2e-3, 0.05]);
        let mut want_state = start;
        let mut want = Vec::new();
        let mut want_states = Vec::new();
        for p in 0..pairs {
            let window: &[f32; PAIR_INPUTS] =
                inputs[2 * p..2 * p + PAIR_INPUTS].try_into().unwrap();
            let o = pair.run_with::<true>(&mut want_state, window);
            want.push([o.v_load, o.i_out, o.i_load]);
            want_states.push(want_state);
        }
        // The histories against the largest of them (a coil's source is far larger than the
        // outputs it makes).
        let same = |a: &NetworkState, b: &NetworkState| {
            let scale = 1.0 + b.histories().iter().fold(0.0f64, |m, h| m.max(h.abs()));
            let (a, b) = (a.histories(), b.histories());
            a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6 * scale)
        };
        let mut isas = vec![Isa::Baseline];
        #[cfg(target_arch = "x86_64")]
        isas.extend(
            [Isa::Avx2Fma, Isa::Avx512]
                .into_iter()
                .filter(|i| i.available()),
        );
        let mut runs = Vec::new();
        for isa in isas {
            for first in [7u64, 9] {
                let (mut v, mut i, mut l) = (
                    vec![0.0; 2 * pairs],
                    vec![0.0; 2 * pairs],
                    vec![0.0; 2 * pairs],
                );
                let mut ring = [NetworkState::default(); 1024];
                let mut at = [u64::MAX; 1024];
                let mut st = start;
                let pending = quad.run_stretch(
                    &pair,
                    isa,
                    &mut st,
                    &inputs,
                    StretchOutputs {
                        v_load: &mut v,
                        i_out: &mut i,
                        i_load: &mut l,
                    },
                    StateRing {
                        states: &mut ring,
                        at: &mut at,
                    },
                    first,
                );
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
                let vector = isa.fma();
                for (p, w) in want.iter().enumerate() {
                    for q in 0..2 {
                        let got = [v[2 * p + q], i[2 * p + q], l[2 * p + q]];
                        let w = [w[0][q], w[1][q], w[2][q]];
                        // The load current at each pair's first sample; at the second where
                        // a quad ran (not the pair run alone at slot 7), nothing written.
                        let alone = !vector || (p == 0 && first == 7);
                        let n = if q == 0 || alone { 3 } else { 2 };
                        for (a, b) in got.iter().zip(w).take(n) {
                            assert!(close(*a, b), "{isa:?} {first} pair {p}: {got:?} vs {w:?}");
                        }
                        if n == 2 {
                            assert!(got[2] == 0.0, "{isa:?} {first} pair {p}: {got:?}");
                        }
                    }
                }
                // Slot 7 is a quad's second pair (7 / 2 odd); from slot 9, 301 pairs end on a
                // quad's first.
                assert!(pending == (vector && first == 9), "{isa:?} {first}");
                let last = if pending { pairs - 2 } else { pairs - 1 };
                assert!(
                    same(&st, &want_states[last]),
                    "{isa:?} {first}: final state"
                );
                for (p, want_state) in want_states.iter().enumerate() {
                    let t = first + 2 * p as u64;
                    let slot = (t % 1024) as usize;
                    // Pairs one by one leave each state; quads only their second pair's.
                    let kept = !vector || (t / 2) % 2 == 1 || (p == 0 && (first / 2) % 2 == 1);
                    if kept {
                        assert!(
                            at[slot] == t && same(&ring[slot], want_state),
                            "{isa:?} {p}"
                        );
                    } else {
                        assert!(at[slot] == u64::MAX, "{isa:?} {first}: pair {p} kept");
                    }
                }
                let states: Vec<[f64; HISTORIES]> = ring.iter().map(|s| s.histories()).collect();
                runs.push((isa, first, [v, i, l], st.histories(), states));
            }
        }
        // The AVX-512 kernel (registers of eight doubles) and the AVX2 one (of four) compute
        // each row alike: the same values to the bit.
        for (isa, first, outputs, state, states) in &runs {
            if *isa != Isa::Avx512 {
                continue;
            }
            let (_, _, o2, s2, r2) = runs
                .iter()
                .find(|r| r.0 == Isa::Avx2Fma && r.1 == *first)
                .expect("the AVX2 build runs where AVX-512 does");
            assert!(outputs == o2 && state == s2 && states == r2, "{first}");
        }
    }

    /// Two periods as one map agree with the periods one by one, to the rounding of the
    /// pair's single-precision input columns: each product of an input and its weight is
    /// rounded to 24 bits (6e-8 of it), and a woofer's resonance carries such errors for a few
    /// thousand coarse samples, so the two drift apart: by 2.1e-7 of the values at most here
    /// (−133 dB; the engine's own tests ask −90 dB of its paths), checked against 1e-6.
    #[test]
    fn pair_is_two_periods() {
        let s = speaker();
        let k = NetworkCoeffs::new(&Network::from_settings(&s), 1e3, 384_000.0);
        let cn = CoarseNetwork::new(&k, 4, TAU * 20_000.0 / 96_000.0);
        let pair = CoarsePair::new(&cn);
        let mut serial = NetworkState::default();
        let mut paired = NetworkState::default();
        // The stage's output is single precision: both read the same values.
        let u =
            |i: usize| (signal(i as f64 / 96_000.0) + 0.3 * ((i * 7919) % 13) as f64 / 13.0) as f32;
        for n in 0..5_000 {
            // The pair covers coarse instants 2n and 2n + 1.
            let mut inputs = [0.0; PAIR_INPUTS];
            for (j, v) in inputs.iter_mut().enumerate() {
                *v = u(2 * n + 1 + LOOKAHEAD + 16 - j);
            }
            let o = pair.run(&mut paired, &inputs);
            let got = [o.v_load, o.i_out, o.i_load];
            for p in 0..2 {
                let mut w = [0.0; TAPS];
                for (j, v) in w.iter_mut().enumerate() {
                    *v = u(2 * n + p + LOOKAHEAD + 16 - j) as f64;
                }
                let want = cn.step(&mut serial, &w);
                for (q, want) in [want.v_load, want.i_out, want.i_load]
                    .into_iter()
                    .enumerate()
                {
                    let err = (got[q][p] - want).abs() / (1.0 + want.abs());
                    assert!(err < 1e-6, "{n} {p} {q}: {err:e}");
                }
            }
            // The histories are the companions' sources, some far larger than the outputs they
            // make (a coil's source of 300 where the load voltage is 1): each against them all.
            let scale = 1.0
                + serial
                    .histories()
                    .iter()
                    .fold(0.0f64, |m, h| m.max(h.abs()));
            for (a, b) in paired.histories().iter().zip(serial.histories()) {
                let err = (a - b).abs() / scale;
                assert!(err < 1e-6, "{n}: history {err:e}");
            }
        }
    }
}
