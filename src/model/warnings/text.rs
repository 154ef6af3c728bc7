//! Numbers as a person reads them in a warning: three significant figures, a prefix where it
//! helps (mW, mV, mA, kHz, kΩ), signs on levels, one decimal on decibels.

/// `v` to three significant figures, without trailing zeros ("120", "5.6", "0.0512").
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Decibels with one decimal ("3.4 dB" without the unit).
pub fn db(v: f64) -> String {
    format!("{v:.1}")
}

/// A level with its sign, one decimal: "+26.8", "-50.0". Used for dBu and dBFS.
pub fn signed_db(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r > 0.0 {
        format!("+{r:.1}")
    } else if r == 0.0 {
        "0.0".into()
    } else {
        format!("{r:.1}")
    }
}

/// Ohms with a kΩ prefix from 1 kΩ: "0.05 Ω", "32 Ω", "1 kΩ".
pub fn ohms(v: f64) -> String {
    if v.abs() >= 1_000.0 {
        format!("{} kΩ", sig3(v / 1_000.0))
    } else {
        format!("{} Ω", sig3(v))
    }
}

/// Hertz with a kHz prefix from 1 kHz: "95 Hz", "12.5 kHz".
pub fn hz(v: f64) -> String {
    if v >= 1_000.0 {
        format!("{} kHz", sig3(v / 1_000.0))
    } else {
        format!("{} Hz", sig3(v))
    }
}

/// Watts with an mW prefix below 1 W: "2.5 mW", "0.75 W" reads as "750 mW".
pub fn watts(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{} mW", sig3(v * 1e3))
    } else {
        format!("{} W", sig3(v))
    }
}

/// Volts with an mV prefix below 1 V.
pub fn volts(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{} mV", sig3(v * 1e3))
    } else {
        format!("{} V", sig3(v))
    }
}

/// Amperes with an mA prefix below 1 A.
pub fn amps(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{} mA", sig3(v * 1e3))
    } else {
        format!("{} A", sig3(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(sig3(120.0), "120");
        assert_eq!(sig3(5.6), "5.6");
        assert_eq!(sig3(0.051_234), "0.0512");
        assert_eq!(sig3(1234.6), "1235");
        assert_eq!(ohms(0.05), "0.05 Ω");
        assert_eq!(ohms(1000.0), "1 kΩ");
        assert_eq!(hz(95.2), "95.2 Hz");
        assert_eq!(hz(12_500.0), "12.5 kHz");
        assert_eq!(watts(0.0025), "2.5 mW");
        assert_eq!(watts(68.04), "68 W");
        assert_eq!(signed_db(26.84), "+26.8");
        assert_eq!(signed_db(-50.0), "-50.0");
        assert_eq!(signed_db(-0.01), "0.0");
    }
}
