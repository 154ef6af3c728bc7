//! The network of DESIGN §2 solved sample by sample at the internal rate:
//!
//! ```text
//!   v_int ─ R_out ─┬─ C_out ─ R_cable ─┬──────────┬──────────────┐ v_load
//!        (i ≤ i_max)                   C_cable    C_in         Re
//!                                       ┴          ┴     s·L_coil
//!                                                        R_p ∥ L_p ∥ C_p
//!                                                             ┴
//! ```
//! Every reactive element is replaced by its trapezoidal companion model (the bilinear
//! transform, as in a wave digital filter): a capacitor by i = G·v + J with G = 2C/T, an
//! inductor by v = R·i + E with R = 2L/T (or i = G·v + J with G = T/2L), with J and E carrying
//! the history. Folding the ladder from the load back to the stage gives a Thévenin source
//! v = w + R_p·i at the stage's output, and the stage then solves
//!
//!   i = limit((v_int − w) / (R_out + R_p)),
//!
//! exactly: with a monotonic limit there is one solution and no iteration. When the load asks
//! for more than i_max, the current stays at the limit and the voltage across the load follows
//! (DESIGN §2, "the output stage limits, voltage collapses").

use super::shapers::{KneeLimiter, CURRENT_LIMIT_KNEE};
use crate::model::network::Network;

/// Coefficients of the companion models for one setting at one internal rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkCoeffs {
    /// C_out as a Thévenin resistance T/(2C); `keep_co` is 0 when DC-coupled (a wire).
    r_co: f64,
    keep_co: f64,
    /// Conductances 2C/T of the cable's and the receiver's capacitance; keep_* 0 when absent.
    g_cc: f64,
    keep_cc: f64,
    g_ci: f64,
    keep_ci: f64,
    /// Load branch: the coil's 2L/T, and the resonance's parts.
    r_lc: f64,
    keep_lc: f64,
    g_lp: f64,
    g_cp: f64,
    /// 1 / (1/R_p + G_Lp + G_Cp): the tank's Thévenin resistance, 0 when there is no resonance.
    z_res: f64,
    /// Thévenin resistances of the load branch (as 1/Z_b) and of the terminal node.
    inv_z_b: f64,
    z_d: f64,
    /// 1 / (R_out + R_co + R_cable + Z_D): the conductance the stage drives.
    inv_r_total: f64,
    limit: KneeLimiter,
    i_max: f64,
    /// How the coil's current and the tank's voltage follow this step's current:
    /// i_b = i_b0 + ib_per_i·i, v_res = v_res0 + vres_per_i·i (ib_per_i = Z_D/Z_b,
    /// vres_per_i = Z_res·Z_D/Z_b). The same two numbers weigh the histories in w.
    ib_per_i: f64,
    vres_per_i: f64,
}

impl NetworkCoeffs {
    /// Companion-model coefficients for `net` at `sample_rate` with the current limit `i_max` (A).
    pub fn new(net: &Network, i_max: f64, sample_rate: f64) -> Self {
        let t = 1.0 / sample_rate;
        let (r_co, keep_co) = match net.c_out {
            Some(c) => (t / (2.0 * c), 1.0),
            None => (0.0, 0.0),
        };
        let g_cc = 2.0 * net.c_cable / t;
        let g_ci = 2.0 * net.load.c_shunt / t;
        let r_lc = 2.0 * net.load.l / t;
        let (g_lp, g_cp, z_res) = match net.load.resonance {
            Some(res) => {
                let g_lp = t / (2.0 * res.l);
                let g_cp = 2.0 * res.c / t;
                (g_lp, g_cp, 1.0 / (1.0 / res.r + g_lp + g_cp))
            }
            None => (0.0, 0.0, 0.0),
        };
        let z_b = net.load.r + r_lc + z_res;
        let g_d = g_cc + g_ci + 1.0 / z_b;
        let z_d = 1.0 / g_d;
        let r_port = r_co + net.r_cable + z_d;
        NetworkCoeffs {
            r_co,
            keep_co,
            g_cc,
            keep_cc: f64::from(u8::from(g_cc > 0.0)),
            g_ci,
            keep_ci: f64::from(u8::from(g_ci > 0.0)),
            r_lc,
            keep_lc: f64::from(u8::from(r_lc > 0.0)),
            g_lp,
            g_cp,
            z_res,
            inv_z_b: 1.0 / z_b,
            z_d,
            inv_r_total: 1.0 / (net.r_out + r_port),
            limit: KneeLimiter::new(i_max, CURRENT_LIMIT_KNEE),
            i_max,
            ib_per_i: z_d / z_b,
            vres_per_i: z_res * (z_d / z_b),
        }
    }

    pub fn i_max(&self) -> f64 {
        self.i_max
    }

    /// The current below which the limit passes the demand unchanged, A.
    pub fn limit_knee(&self) -> f64 {
        self.limit.knee_at()
    }

    /// Up to where the current limit stays within `tol` of its knee of the straight line, A:
    /// [`KneeLimiter::straight_until`].
    pub fn limit_straight_until(&self, tol: f64) -> f64 {
        self.limit.straight_until(tol)
    }
}

/// How many histories a [`NetworkState`] carries.
pub const HISTORIES: usize = 6;

/// What one step of the network produced.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetworkOutput {
    /// Voltage at the load's terminals, V.
    pub v_load: f64,
    /// Current out of the stage, A.
    pub i_out: f64,
    /// Current into the load itself (not into the cable's capacitance), A.
    pub i_load: f64,
    /// True when the current limit takes away more than 1 % of what the circuit asks for.
    pub limiting: bool,
}

/// History of the companion models for one channel.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetworkState {
    e_co: f64,
    j_cc: f64,
    j_ci: f64,
    e_lc: f64,
    j_lp: f64,
    j_cp: f64,
}

impl NetworkState {
    /// The port's Thévenin voltage w = e_co + e_D, expanded over the histories:
    /// w = e_co − Z_D·(j_cc + j_ci) + (Z_D/Z_b)·e_lc − (Z_res·Z_D/Z_b)·(j_lp + j_cp).
    #[inline(always)]
    fn port_voltage(&self, k: &NetworkCoeffs) -> f64 {
        (self.e_co - k.z_d * (self.j_cc + self.j_ci))
            + (k.ib_per_i * self.e_lc - k.vres_per_i * (self.j_lp + self.j_cp))
    }

    /// One sample: drives the network with the stage's internal voltage `v_int`.
    ///
    /// The work splits in two: what follows from the histories alone, and what follows from
    /// this step's current i, which each quantity depends on linearly (v_d = e_d + Z_D·i and so
    /// on). Only the second part waits for i, and i waits only for w, summed straight from the
    /// histories: the chain from one step to the next stays short.
    #[inline(always)]
    pub fn step(&mut self, k: &NetworkCoeffs, v_int: f64) -> NetworkOutput {
        let i_free = (v_int - self.port_voltage(k)) * k.inv_r_total;
        let i = k.limit.apply(i_free);
        let (v_load, i_load) = self.advance(k, i);
        // Limiting once the stage delivers 1 % less current than the circuit asks for.
        NetworkOutput {
            v_load,
            i_out: i,
            i_load,
            limiting: i_free.abs() - i.abs() > 0.01 * i_free.abs(),
        }
    }

    /// One sample without the current limit: (v_load, i_out, i_load).
    #[inline(always)]
    pub fn step_linear(&mut self, k: &NetworkCoeffs, v_int: f64) -> (f64, f64, f64) {
        let i = (v_int - self.port_voltage(k)) * k.inv_r_total;
        let (v_load, i_load) = self.advance(k, i);
        (v_load, i, i_load)
    }

    /// Moves the histories on by one step with the stage delivering the current `i`:
    /// (load voltage, current into the load).
    #[inline(always)]
    fn advance(&mut self, k: &NetworkCoeffs, i: f64) -> (f64, f64) {
        // From the histories: the load branch's Thévenin v = Z_b·i_b + E_b with
        // E_res = −Z_res·(J_Lp + J_Cp); the terminal node's v_D = Z_D·i + E_D.
        let e_res = -k.z_res * (self.j_lp + self.j_cp);
        let e_b = self.e_lc + e_res;
        let e_d = -(self.j_cc + self.j_ci - e_b * k.inv_z_b) * k.z_d;
        let i_b0 = (e_d - e_b) * k.inv_z_b;
        let v_res0 = k.z_res * i_b0 + e_res;
        // Back-substitute this step's current.
        let v_d = k.z_d * i + e_d;
        let i_b = i_b0 + k.ib_per_i * i;
        let v_res = v_res0 + k.vres_per_i * i;
        let i_cc = k.g_cc * v_d + self.j_cc;
        // Update the histories (trapezoidal rule; absent elements are held at zero).
        self.e_co = k.keep_co * (2.0 * k.r_co * i + self.e_co);
        self.j_cc = -k.keep_cc * (2.0 * k.g_cc * v_d + self.j_cc);
        self.j_ci = -k.keep_ci * (2.0 * k.g_ci * v_d + self.j_ci);
        self.e_lc = -k.keep_lc * (2.0 * k.r_lc * i_b + self.e_lc);
        self.j_lp = 2.0 * k.g_lp * v_res + self.j_lp;
        self.j_cp = -(2.0 * k.g_cp * v_res + self.j_cp);
        (v_d, i - i_cc)
    }

    /// The histories as one vector (the order of [`from_histories`](Self::from_histories)).
    #[inline(always)]
    pub fn histories(&self) -> [f64; HISTORIES] {
        [
            self.e_co, self.j_cc, self.j_ci, self.e_lc, self.j_lp, self.j_cp,
        ]
    }

    #[inline(always)]
    pub fn from_histories(h: [f64; HISTORIES]) -> Self {
        let [e_co, j_cc, j_ci, e_lc, j_lp, j_cp] = h;
        NetworkState {
            e_co,
            j_cc,
            j_ci,
            e_lc,
            j_lp,
            j_cp,
        }
    }

    /// Sets every history below 1e-30 to zero, so that long silences never reach subnormals,
    /// and everything to zero if anything went non-finite.
    pub fn flush(&mut self) {
        let mut all = [
            self.e_co, self.j_cc, self.j_ci, self.e_lc, self.j_lp, self.j_cp,
        ];
        if all.iter().any(|v| !v.is_finite()) {
            *self = NetworkState::default();
            return;
        }
        for v in &mut all {
            if v.abs() < 1e-30 {
                *v = 0.0;
            }
        }
        [
            self.e_co, self.j_cc, self.j_ci, self.e_lc, self.j_lp, self.j_cp,
        ] = all;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LoadKind, Settings};

    /// Steady-state gain and phase of the solver at `f` with a small sine, against H(f).
    fn measured_vs_predicted(s: &Settings, f: f64, fs: f64) -> (f64, f64) {
        let net = Network::from_settings(s);
        let k = NetworkCoeffs::new(&net, 1e3, fs);
        let mut st = NetworkState::default();
        let n = (fs * 2.0) as usize;
        let (mut re, mut im) = (0.0, 0.0);
        let m = (fs / f * (fs / f).ceil().max(1.0)).round() as usize; // whole periods at the end
        let periods = ((fs * 0.5 * f / fs).floor().max(1.0) * fs / f).round() as usize;
        let _ = m;
        for i in 0..n {
            let ph = std::f64::consts::TAU * f * i as f64 / fs;
            let y = st.step(&k, 1e-3 * ph.sin()).v_load;
            if i >= n - periods {
                re += y * ph.sin();
                im += y * ph.cos();
            }
        }
        let mag = 2.0 * (re * re + im * im).sqrt() / periods as f64 / 1e-3;
        let h = net.response(f).norm();
        (20.0 * mag.log10(), 20.0 * h.log10())
    }

    #[test]
    fn trapezoidal_network_follows_the_circuit_at_the_internal_rate() {
        let mut s = Settings::default();
        s.z_out = 120.0;
        s.c_out = 47.0;
        s.cable_len = 10.0;
        s.z_load = 32.0;
        s.z_peak = 90.0;
        s.f_res = 80.0;
        s.q_res = 3.0;
        s.l_coil = 0.5;
        for f in [20.0, 80.0, 1_000.0, 10_000.0, 20_000.0] {
            let (m, p) = measured_vs_predicted(&s, f, 384_000.0);
            assert!((m - p).abs() < 0.1, "{f} Hz: {m} vs {p}");
        }
        s.load = LoadKind::LineInput;
        s.z_load = 10_000.0;
        s.z_out = 600.0;
        s.cable_len = 100.0;
        s.cable_c = 500.0;
        for f in [20.0, 1_000.0, 20_000.0] {
            let (m, p) = measured_vs_predicted(&s, f, 384_000.0);
            assert!((m - p).abs() < 0.1, "{f} Hz: {m} vs {p}");
        }
    }

    #[test]
    fn current_never_exceeds_the_limit() {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_out = 0.01;
        s.z_load = 8.0;
        let net = Network::from_settings(&s);
        let k = NetworkCoeffs::new(&net, 0.025, 384_000.0);
        let mut st = NetworkState::default();
        let mut peak: f64 = 0.0;
        for i in 0..40_000 {
            let o = st.step(&k, 10.0 * (i as f64 * 0.01).sin());
            peak = peak.max(o.i_out.abs());
        }
        assert!(peak <= 0.025 && peak > 0.024, "{peak}");
    }
}
