//! The load's impedance Z_L(s): one topology for every load type (DESIGN §2), so that any
//! preset and any automation lands on the same circuit.
//!
//! ```text
//!   receivers (line input, active speaker):   z_load ∥ 100 pF
//!   transducers (headphones, passive speaker): z_load + s·l_coil + (R ∥ L ∥ C)
//! ```

use super::settings::Settings;
use num_complex::Complex64;
use std::f64::consts::TAU;

/// Input capacitance of a line input or an active speaker's input, F.
pub const RECEIVER_INPUT_CAPACITANCE_F: f64 = 100e-12;

/// The motional resonance of a voice coil as a parallel R‖L‖C in series with Re.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resonance {
    /// R = z_peak − z_load, Ω: the impedance the resonance adds at f_res.
    pub r: f64,
    /// L = R / (2π·f_res·q), H.
    pub l: f64,
    /// C = q / (2π·f_res·R), F.
    pub c: f64,
}

impl Resonance {
    /// The parallel R‖L‖C that peaks at `z_peak` at `f_res` with quality factor `q`:
    /// R = z_peak − z_load, L = R/(2π·f_res·q), C = q/(2π·f_res·R). None when z_peak ≤ z_load.
    pub fn from_peak(z_peak: f64, z_load: f64, f_res: f64, q: f64) -> Option<Resonance> {
        let r = z_peak - z_load;
        if r <= 0.0 {
            return None;
        }
        Some(Resonance {
            r,
            l: r / (TAU * f_res * q),
            c: q / (TAU * f_res * r),
        })
    }

    /// From Thiele–Small data: R = Re·Qms/Qes, q = Qms, f_res = fs.
    pub fn from_thiele_small(re: f64, fs: f64, qms: f64, qes: f64) -> Resonance {
        let r = re * qms / qes;
        Resonance {
            r,
            l: r / (TAU * fs * qms),
            c: qms / (TAU * fs * r),
        }
    }

    /// Impedance of R ∥ L ∥ C at `f` Hz: 1 / (1/R + 1/(jωL) + jωC).
    pub fn impedance(&self, f: f64) -> Complex64 {
        let w = TAU * f;
        let y = Complex64::new(1.0 / self.r, w * self.c - 1.0 / (w * self.l));
        y.inv()
    }
}

/// The load as a circuit in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadCircuit {
    /// Series resistance: a receiver's input impedance or a voice coil's Re, Ω.
    pub r: f64,
    /// Series inductance of the voice coil, H (0 for receivers).
    pub l: f64,
    /// The motional resonance, if any (never for receivers).
    pub resonance: Option<Resonance>,
    /// Capacitance across the terminals, F (the receiver's input capacitance).
    pub c_shunt: f64,
}

impl LoadCircuit {
    pub fn from_settings(s: &Settings) -> LoadCircuit {
        if s.load.is_transducer() {
            LoadCircuit {
                r: s.z_load,
                l: s.l_coil * 1e-3,
                resonance: Resonance::from_peak(s.z_peak, s.z_load, s.f_res, s.q_res),
                c_shunt: 0.0,
            }
        } else {
            LoadCircuit {
                r: s.z_load,
                l: 0.0,
                resonance: None,
                c_shunt: RECEIVER_INPUT_CAPACITANCE_F,
            }
        }
    }

    /// Z_L(jω) = (r + jωl + Z_res) ∥ 1/(jω·c_shunt).
    pub fn impedance(&self, f: f64) -> Complex64 {
        let w = TAU * f;
        let mut z = Complex64::new(self.r, w * self.l);
        if let Some(res) = self.resonance {
            z += res.impedance(f);
        }
        if self.c_shunt > 0.0 {
            z = (z.inv() + Complex64::new(0.0, w * self.c_shunt)).inv();
        }
        z
    }

    /// Smallest |Z_L| on a fine log grid from `f_lo` to `f_hi`, with the frequency where it occurs.
    pub fn min_impedance(&self, f_lo: f64, f_hi: f64) -> (f64, f64) {
        log_grid(f_lo, f_hi, 600)
            .map(|f| (self.impedance(f).norm(), f))
            .fold((f64::INFINITY, f_lo), |a, b| if b.0 < a.0 { b } else { a })
    }

    /// Largest |Z_L| from `f_lo` to `f_hi`, with its frequency.
    pub fn max_impedance(&self, f_lo: f64, f_hi: f64) -> (f64, f64) {
        log_grid(f_lo, f_hi, 600)
            .map(|f| (self.impedance(f).norm(), f))
            .fold((0.0, f_lo), |a, b| if b.0 > a.0 { b } else { a })
    }
}

/// `n` frequencies spaced evenly on a log axis from `lo` to `hi`, both included.
pub fn log_grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
    let ratio = (hi / lo).ln();
    (0..n).map(move |k| lo * (ratio * k as f64 / (n - 1).max(1) as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thiele_small_conversion_is_closed_form() {
        // A 6.5" woofer: Re 6 Ω, fs 40 Hz, Qms 3, Qes 0.4.
        let r = Resonance::from_thiele_small(6.0, 40.0, 3.0, 0.4);
        assert!((r.r - 6.0 * 3.0 / 0.4).abs() < 1e-12);
        assert!((r.l - r.r / (TAU * 40.0 * 3.0)).abs() < 1e-15);
        assert!((r.c - 3.0 / (TAU * 40.0 * r.r)).abs() < 1e-15);
        // The tank resonates at fs: 1/(2π√(LC)) = fs, and its impedance there is R.
        assert!((1.0 / (TAU * (r.l * r.c).sqrt()) - 40.0).abs() < 1e-9);
        assert!((r.impedance(40.0).norm() - r.r).abs() < 1e-9);
        // Q of a parallel RLC: R·√(C/L) = Qms.
        assert!((r.r * (r.c / r.l).sqrt() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn peak_of_a_headphone_is_where_it_is_set() {
        let mut s = Settings::default(); // 300 Ω, peak 500 Ω at 100 Hz
        s.l_coil = 0.0;
        let z = LoadCircuit::from_settings(&s);
        assert!((z.impedance(100.0).norm() - 500.0).abs() < 1e-9);
        let (zmax, fmax) = z.max_impedance(20.0, 20_000.0);
        assert!((zmax - 500.0).abs() < 0.5 && (fmax - 100.0).abs() < 2.0);
        s.z_peak = 200.0;
        assert!(LoadCircuit::from_settings(&s).resonance.is_none());
    }

    #[test]
    fn receiver_is_resistor_and_input_capacitance() {
        let mut s = Settings::default();
        s.load = crate::model::LoadKind::LineInput;
        s.z_load = 10_000.0;
        let z = LoadCircuit::from_settings(&s).impedance(20_000.0);
        let expected = (Complex64::new(1e-4, TAU * 20_000.0 * 100e-12)).inv();
        assert!((z - expected).norm() < 1e-9);
    }
}
