//! The network between the stage's internal voltage and the load (DESIGN §2):
//!
//! ```text
//!   v_int ── R_out ── C_out ── R_cable (2 conductors) ──┬── v_load
//!                                                      C_cable   Z_L(s)
//!                                                       ┴         ┴
//! ```
//! and its predicted small-signal response H(f) = v_load / v_int.

use super::load::{log_grid, LoadCircuit};
use super::settings::Settings;
use num_complex::Complex64;
use std::f64::consts::TAU;

/// The linear network in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network {
    /// Output impedance of the stage, Ω.
    pub r_out: f64,
    /// Coupling capacitor, F; None when DC-coupled.
    pub c_out: Option<f64>,
    /// Loop resistance of the cable: two conductors of `cable_len · cable_r`, Ω.
    pub r_cable: f64,
    /// Capacitance of the cable between its conductors, F, lumped at the load end.
    pub c_cable: f64,
    pub load: LoadCircuit,
}

impl Network {
    pub fn from_settings(s: &Settings) -> Network {
        Network {
            r_out: s.z_out,
            c_out: (s.c_out > 0.0).then_some(s.c_out * 1e-6),
            r_cable: 2.0 * s.cable_len * s.cable_r,
            c_cable: s.cable_len * s.cable_c * 1e-12,
            load: LoadCircuit::from_settings(s),
        }
    }

    /// Impedance at the load terminals, looking into the load and the cable's capacitance:
    /// Z_L ∥ 1/(jω·C_cable).
    pub fn terminal_impedance(&self, f: f64) -> Complex64 {
        let w = TAU * f;
        (self.load.impedance(f).inv() + Complex64::new(0.0, w * self.c_cable)).inv()
    }

    /// Series impedance from the internal voltage to the load terminals:
    /// R_out + 1/(jω·C_out) + R_cable.
    pub fn series_impedance(&self, f: f64) -> Complex64 {
        let w = TAU * f;
        let zc = self.c_out.map_or(Complex64::new(0.0, 0.0), |c| {
            Complex64::new(0.0, -1.0 / (w * c))
        });
        Complex64::new(self.r_out + self.r_cable, 0.0) + zc
    }

    /// H(f) = v_load / v_int = Z_t / (Z_series + Z_t), with Z_t the terminal impedance.
    pub fn response(&self, f: f64) -> Complex64 {
        let zt = self.terminal_impedance(f);
        zt / (self.series_impedance(f) + zt)
    }

    /// Impedance the stage's output (after R_out) sees: the rest of the network.
    pub fn driven_impedance(&self, f: f64) -> Complex64 {
        self.series_impedance(f) - self.r_out + self.terminal_impedance(f)
    }

    /// Largest and smallest |H| in dB from `f_lo` to `f_hi`, with where they occur:
    /// ((max_db, f_max), (min_db, f_min)).
    pub fn response_extremes(&self, f_lo: f64, f_hi: f64) -> ((f64, f64), (f64, f64)) {
        let mut hi = (f64::NEG_INFINITY, f_lo);
        let mut lo = (f64::INFINITY, f_lo);
        for f in log_grid(f_lo, f_hi, 800) {
            let db = 20.0 * self.response(f).norm().log10();
            if db > hi.0 {
                hi = (db, f);
            }
            if db < lo.0 {
                lo = (db, f);
            }
        }
        (hi, lo)
    }
}

/// Corner of a coupling capacitor into a load: f_c = 1 / (2π (Zs + ZL) C).
pub fn coupling_corner_hz(z_s: f64, z_l: f64, c: f64) -> f64 {
    1.0 / (TAU * (z_s + z_l) * c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LoadKind;

    fn line_into(z_load: f64, z_out: f64) -> Settings {
        let mut s = Settings::default();
        s.load = LoadKind::LineInput;
        s.z_load = z_load;
        s.z_out = z_out;
        s.cable_len = 0.0;
        s
    }

    #[test]
    fn resistive_divider_is_exact() {
        let n = Network::from_settings(&line_into(600.0, 600.0));
        // 100 pF across 600 Ω is 4 ppm at 1 kHz: the divider is 0.5 to that precision.
        assert!((n.response(1_000.0).norm() - 0.5).abs() < 1e-5);
        let mut s = line_into(600.0, 600.0);
        s.load = LoadKind::Headphones;
        s.l_coil = 0.0;
        s.z_peak = 1.0;
        assert!((Network::from_settings(&s).response(1_000.0).norm() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn coupling_capacitor_corner_is_minus_3_db() {
        let mut s = line_into(32.0, 100.0);
        s.load = LoadKind::Headphones;
        s.l_coil = 0.0;
        s.z_peak = 1.0;
        s.c_out = 47.0;
        let n = Network::from_settings(&s);
        let fc = coupling_corner_hz(100.0, 32.0, 47e-6);
        assert!((fc - 25.65).abs() < 0.01);
        let passband = 32.0 / 132.0;
        let db = 20.0 * (n.response(fc).norm() / passband).log10();
        assert!((db + 3.0103).abs() < 1e-3, "{db}");
    }

    #[test]
    fn eighth_rule_bound() {
        // Zout = Zmin/8 into a load swinging from Zmin to ∞ varies by at most
        // 20·log10(9/8) = 1.02 dB.
        let bound = 20.0 * (9.0f64 / 8.0).log10();
        assert!((bound - 1.023).abs() < 1e-3);
        // Realistic swings (peaks 2× to 30× Re, several Q) stay inside the bound …
        for (peak, q) in [(64.0, 1.0), (300.0, 3.0), (1000.0, 10.0), (100_000.0, 20.0)] {
            let mut s = Settings::default();
            s.z_load = 32.0;
            s.z_peak = peak;
            s.f_res = 100.0;
            s.q_res = q;
            s.l_coil = 0.05;
            s.cable_len = 0.0;
            s.z_out = 4.0;
            let ((hi, _), (lo, _)) = Network::from_settings(&s).response_extremes(20.0, 20_000.0);
            assert!(hi - lo <= bound + 1e-9, "{peak} Ω, Q {q}: {} dB", hi - lo);
        }
        // … and the bound is reached between Zmin and an open circuit: 4 Ω into 32 Ω vs 100 kΩ.
        let divider = |z_load: f64| {
            let mut s = Settings::default();
            s.z_load = z_load;
            s.z_peak = 1.0;
            s.l_coil = 0.0;
            s.cable_len = 0.0;
            s.z_out = 4.0;
            Network::from_settings(&s).response(1_000.0).norm()
        };
        let swing = 20.0 * (divider(100_000.0) / divider(32.0)).log10();
        assert!((swing - bound).abs() < 1e-3, "{swing}");
    }
}
