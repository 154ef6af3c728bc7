//! From terminal voltage to sound pressure at the listener (DESIGN §2, operating point).

use super::settings::{LoadKind, Settings};
use super::units::PLUS_4_DBU_VRMS;

/// Headphone sensitivity per volt from one per milliwatt at the nominal impedance:
/// sens_V = sens_mW + 10·log10(1000 / Z_nominal)  (1 mW into Z is √(Z/1000) V).
pub fn sens_db_per_volt(sens_db_per_mw: f64, z_nominal: f64) -> f64 {
    sens_db_per_mw + 10.0 * (1000.0 / z_nominal).log10()
}

/// The inverse: sens_mW = sens_V − 10·log10(1000 / Z_nominal).
pub fn sens_db_per_mw(sens_db_per_volt: f64, z_nominal: f64) -> f64 {
    sens_db_per_volt - 10.0 * (1000.0 / z_nominal).log10()
}

/// SPL at the listener for 1 V rms at the load's terminals, dB SPL; None for a line input.
/// - headphones: `sens` is already dB SPL @ 1 V rms;
/// - passive speaker: sens + 10·log10(1 V² / z_load) − 20·log10(distance);
/// - active speaker: sens + 20·log10(1 V / 1.228 V) − 20·log10(distance).
pub fn spl_at_one_volt(s: &Settings) -> Option<f64> {
    match s.load {
        LoadKind::LineInput => None,
        LoadKind::Headphones => Some(s.sens),
        LoadKind::PassiveSpeaker => {
            Some(s.sens - 10.0 * s.z_load.log10() - 20.0 * s.distance.log10())
        }
        LoadKind::ActiveSpeaker => {
            Some(s.sens - 20.0 * PLUS_4_DBU_VRMS.log10() - 20.0 * s.distance.log10())
        }
    }
}

/// SPL at the listener for `v_rms` at the terminals: S_V + 20·log10(V_rms).
pub fn spl(s: &Settings, v_rms: f64) -> Option<f64> {
    spl_at_one_volt(s).map(|sv| sv + 20.0 * v_rms.max(1e-12).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_per_mw_to_db_per_volt() {
        // 1 mW into 32 Ω is √0.032 = 0.1789 V; 1 V is 31.25 mW = +14.95 dB.
        assert!((sens_db_per_volt(100.0, 32.0) - (100.0 + 10.0 * 31.25f64.log10())).abs() < 1e-12);
        // At 1 kΩ, 1 mW is exactly 1 V.
        assert_eq!(sens_db_per_volt(97.0, 1000.0), 97.0);
        assert!((sens_db_per_mw(sens_db_per_volt(91.0, 300.0), 300.0) - 91.0).abs() < 1e-12);
    }

    #[test]
    fn spl_formulas() {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_load = 8.0;
        s.sens = 88.0;
        s.distance = 1.0;
        // 2.83 V into 8 Ω is 1 W: the sensitivity itself.
        assert!((spl(&s, 8f64.sqrt()).unwrap() - 88.0).abs() < 1e-9);
        s.distance = 2.0; // inverse square law: −6.02 dB
        assert!((spl(&s, 8f64.sqrt()).unwrap() - (88.0 - 6.0206)).abs() < 1e-3);
        s.load = LoadKind::ActiveSpeaker;
        s.distance = 1.0;
        assert!((spl(&s, 1.228).unwrap() - 88.0).abs() < 0.01);
        s.load = LoadKind::Headphones;
        s.sens = 97.0;
        assert!((spl(&s, 0.5).unwrap() - (97.0 - 6.0206)).abs() < 1e-3);
        s.load = LoadKind::LineInput;
        assert!(spl(&s, 1.0).is_none());
    }
}
