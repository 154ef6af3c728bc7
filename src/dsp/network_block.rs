//! A whole host sample of network steps at once, for the stretches where the current limit
//! cannot act.
//!
//! Without the limit the trapezoidal network of [`network`](super::network) is linear: after
//! F steps its histories, and every output along the way, are fixed linear combinations of the
//! histories it started from and of the F inputs. Those combinations are found by running the
//! very same step function from each unit history and each unit input (superposition), so the
//! block and the sample-by-sample solution are one circuit and agree to rounding.
//!
//! Applied as matrix columns, one host sample costs a few dozen vector multiply-adds with no
//! step waiting for the one before; the sample-by-sample chain of the serial solution is what
//! made the network the most expensive part of the engine. Whenever any of the F unlimited
//! currents reaches the limit's knee, the caller runs those steps one by one instead, with the
//! limit in the loop.

use super::filters::mac;
use super::network::{NetworkCoeffs, NetworkState, HISTORIES};
use super::oversampling::MAX_FACTOR;

/// Columns of the block: the starting histories, then the inputs.
const COLUMNS: usize = HISTORIES + MAX_FACTOR;

/// The outputs of one block of steps, one array per quantity (a column of the map).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockOutputs {
    pub v_load: [f64; MAX_FACTOR],
    pub i_out: [f64; MAX_FACTOR],
    pub i_load: [f64; MAX_FACTOR],
}

impl Default for BlockOutputs {
    fn default() -> Self {
        BlockOutputs {
            v_load: [0.0; MAX_FACTOR],
            i_out: [0.0; MAX_FACTOR],
            i_load: [0.0; MAX_FACTOR],
        }
    }
}

/// The linear map of `steps` network steps, by columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkBlock {
    steps: usize,
    /// For each column: the histories after the block.
    next: [[f64; HISTORIES]; COLUMNS],
    /// For each column: the outputs of every step.
    outputs: [BlockOutputs; COLUMNS],
    /// Unlimited currents up to this magnitude pass the limit unchanged, A.
    knee: f64,
}

impl NetworkBlock {
    /// The map of `steps` (≤ [`MAX_FACTOR`]) steps of the network `k`, found by superposition.
    pub fn new(k: &NetworkCoeffs, steps: usize) -> Self {
        assert!((1..=MAX_FACTOR).contains(&steps));
        let mut next = [[0.0; HISTORIES]; COLUMNS];
        let mut outputs = [BlockOutputs::default(); COLUMNS];
        for c in 0..HISTORIES + steps {
            let mut h = [0.0; HISTORIES];
            let mut u = [0.0; MAX_FACTOR];
            if c < HISTORIES {
                h[c] = 1.0;
            } else {
                u[c - HISTORIES] = 1.0;
            }
            let mut st = NetworkState::from_histories(h);
            for (m, &v) in u[..steps].iter().enumerate() {
                let (v_load, i_out, i_load) = st.step_linear(k, v);
                outputs[c].v_load[m] = v_load;
                outputs[c].i_out[m] = i_out;
                outputs[c].i_load[m] = i_load;
            }
            next[c] = st.histories();
        }
        NetworkBlock {
            steps,
            next,
            outputs,
            knee: k.limit_knee(),
        }
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The histories after the block when column `c` (a starting history, then an input,
    /// counted from 0) is one and the rest zero.
    pub fn next_of(&self, c: usize) -> &[f64; HISTORIES] {
        &self.next[c]
    }

    /// The outputs of every step when column `c` is one and the rest zero.
    pub fn outputs_of(&self, c: usize) -> &BlockOutputs {
        &self.outputs[c]
    }

    /// Runs one block from `state` with the inputs `u` (`steps` of them) into `out` (each
    /// array's first `steps` entries), with fused multiply-adds when `FMA` (for code compiled
    /// with them, see [`Isa`](super::isa::Isa)). Returns false, leaving `state` as it was
    /// (and `out` to be overwritten), when an unlimited current would reach the limit's knee:
    /// those steps need the limit.
    #[inline(always)]
    pub fn run<const FMA: bool>(
        &self,
        state: &mut NetworkState,
        u: &[f64],
        out: BlockSlices<'_>,
    ) -> bool {
        match self.steps {
            8 => self.run_steps::<FMA, 8>(state, u, out),
            4 => self.run_steps::<FMA, 4>(state, u, out),
            16 => self.run_steps::<FMA, 16>(state, u, out),
            2 => self.run_steps::<FMA, 2>(state, u, out),
            _ => self.run_steps::<FMA, 1>(state, u, out),
        }
    }

    /// The block's sums, each output y = Σ_c col_c·z_c over the histories and the inputs.
    ///
    /// The inputs do not wait for the histories, so their columns are summed first; the
    /// histories' columns then go into two sums of three that are added last. What waits
    /// from one block to the next (the histories it leaves) is three multiply-adds and an
    /// add, where one chain through all `HISTORIES + F` columns waited before.
    #[inline(always)]
    fn run_steps<const FMA: bool, const F: usize>(
        &self,
        state: &mut NetworkState,
        u: &[f64],
        out: BlockSlices<'_>,
    ) -> bool {
        let mac = mac::<FMA>;
        let h = state.histories();
        let u: &[f64; F] = u[..F].try_into().expect("one value per step");
        const H2: usize = HISTORIES / 2;
        // The sums of a quantity of F (or HISTORIES) rows, column by column: the inputs' part,
        // then the histories' in two halves.
        macro_rules! sums {
            ($rows:expr, $col:expr) => {{
                let mut a = [0.0; $rows];
                for (m, z) in u.iter().enumerate() {
                    let col = $col(HISTORIES + m);
                    for (a, &w) in a.iter_mut().zip(col) {
                        *a = mac(w, *z, *a);
                    }
                }
                let mut b = [0.0; $rows];
                for c in 0..H2 {
                    let (lo, hi) = ($col(c), $col(H2 + c));
                    for r in 0..$rows {
                        a[r] = mac(lo[r], h[c], a[r]);
                        b[r] = mac(hi[r], h[H2 + c], b[r]);
                    }
                }
                for (a, b) in a.iter_mut().zip(b) {
                    *a += b;
                }
                a
            }};
        }
        // The currents first: they decide whether the block may stand.
        let i_out: [f64; F] = sums!(F, |c: usize| &self.outputs[c].i_out[..F]);
        if i_out.iter().any(|i| i.abs() > self.knee) {
            return false;
        }
        let v_load: [f64; F] = sums!(F, |c: usize| &self.outputs[c].v_load[..F]);
        let i_load: [f64; F] = sums!(F, |c: usize| &self.outputs[c].i_load[..F]);
        let next: [f64; HISTORIES] = sums!(HISTORIES, |c: usize| &self.next[c][..]);
        let store = |dst: &mut [f64], src: [f64; F]| {
            let dst: &mut [f64; F] = (&mut dst[..F]).try_into().expect("F");
            *dst = src;
        };
        store(out.v_load, v_load);
        store(out.i_out, i_out);
        store(out.i_load, i_load);
        *state = NetworkState::from_histories(next);
        true
    }
}

/// Where [`NetworkBlock::run`] writes a block's load voltages, stage currents and load
/// currents.
pub struct BlockSlices<'a> {
    pub v_load: &'a mut [f64],
    pub i_out: &'a mut [f64],
    pub i_load: &'a mut [f64],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::Network;
    use crate::model::{LoadKind, Settings};

    /// The block agrees with the steps one by one, and steps aside when the limit would act.
    #[test]
    fn block_matches_the_steps_and_yields_to_the_limit() {
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
        let net = Network::from_settings(&s);
        let k = NetworkCoeffs::new(&net, 0.8, 384_000.0);
        let b = NetworkBlock::new(&k, 8);
        let mut serial = NetworkState::default();
        let mut block = NetworkState::default();
        let mut out = BlockOutputs::default();
        let (mut blocks, mut yielded) = (0, 0);
        fn slices(o: &mut BlockOutputs) -> BlockSlices<'_> {
            BlockSlices {
                v_load: &mut o.v_load,
                i_out: &mut o.i_out,
                i_load: &mut o.i_load,
            }
        }
        for n in 0..20_000 {
            let u: Vec<f64> = (0..8)
                .map(|m| 10.0 * (0.0021 * (8 * n + m) as f64).sin())
                .collect();
            let want: Vec<_> = u.iter().map(|&v| serial.step(&k, v)).collect();
            // Plain and fused multiply-adds alike (the fused ones in software here).
            let ran = if n % 2 == 0 {
                b.run::<false>(&mut block, &u, slices(&mut out))
            } else {
                b.run::<true>(&mut block, &u, slices(&mut out))
            };
            if ran {
                blocks += 1;
                for m in 0..8 {
                    let w = want[m];
                    assert!(!w.limiting);
                    for (got, want) in [
                        (out.v_load[m], w.v_load),
                        (out.i_out[m], w.i_out),
                        (out.i_load[m], w.i_load),
                    ] {
                        assert!(
                            (got - want).abs() < 1e-9 * (1.0 + want.abs()),
                            "{got} {want}"
                        );
                    }
                }
            } else {
                yielded += 1;
                for &v in &u {
                    block.step(&k, v);
                }
            }
            for (a, b) in block.histories().iter().zip(serial.histories()) {
                assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()));
            }
        }
        // 10 V into the speaker reaches the 0.56 A knee on the peaks only.
        assert!(blocks > 1000 && yielded > 100, "{blocks} {yielded}");
    }
}
