//! Level units and the DAC's calibration.

/// 0 dBu: the voltage that dissipates 1 mW in 600 Ω, √(0.6) V rms.
pub const DBU_REF_VRMS: f64 = 0.774_596_669_241_483_4;

/// Pro line level +4 dBu and the reference of active speakers' sensitivity, V rms.
pub const PLUS_4_DBU_VRMS: f64 = 1.227_652_987_983_88;

/// RMS voltage of a level in dBu: V = 0.7746 V · 10^(dBu/20).
pub fn dbu_to_vrms(dbu: f64) -> f64 {
    DBU_REF_VRMS * 10f64.powf(dbu / 20.0)
}

/// Level in dBu of an RMS voltage: 20·log10(V / 0.7746 V).
pub fn vrms_to_dbu(vrms: f64) -> f64 {
    20.0 * (vrms / DBU_REF_VRMS).log10()
}

/// Linear factor of a gain in dB: 10^(dB/20).
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Gain in dB of a linear factor: 20·log10(g).
pub fn gain_to_db(g: f64) -> f64 {
    20.0 * g.log10()
}

/// Peak voltage of the DAC's full scale: a full-scale sine measures `ref_level` dBu, so
/// V_FS = √2 · 0.7746 V · 10^(ref_level/20).
pub fn full_scale_peak_volts(ref_level_dbu: f64) -> f64 {
    std::f64::consts::SQRT_2 * dbu_to_vrms(ref_level_dbu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_four_dbu_is_1_228_volts() {
        assert!((dbu_to_vrms(4.0) - 1.228).abs() < 5e-4);
        assert!((dbu_to_vrms(4.0) - PLUS_4_DBU_VRMS).abs() < 1e-12);
        // −10 dBV = 0.316 V rms is −7.78 dBu.
        assert!((vrms_to_dbu(0.316_227_766) - (-7.781_512_5)).abs() < 1e-6);
    }

    #[test]
    fn full_scale_of_plus_18_dbu() {
        // +18 dBu = 6.153 V rms → 8.70 V peak.
        assert!(
            (full_scale_peak_volts(18.0) - 0.774_596_669 * 7.943_282_347 * 2f64.sqrt()).abs()
                < 1e-6
        );
    }
}
