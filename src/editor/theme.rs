//! Colours and number formats shared by the editor's views.

use crate::model::settings::format_number;
use crate::model::warnings::Severity;
use egui::Color32;

pub const BACKGROUND: Color32 = Color32::from_rgb(24, 26, 30);
pub const PANEL: Color32 = Color32::from_rgb(34, 37, 43);
pub const PANEL_EDGE: Color32 = Color32::from_rgb(62, 67, 77);
pub const TEXT: Color32 = Color32::from_rgb(222, 225, 230);
pub const TEXT_DIM: Color32 = Color32::from_rgb(150, 156, 166);
pub const GRID: Color32 = Color32::from_rgb(52, 56, 64);

/// The signal's colours: what goes in, what comes out, and what the model predicts.
pub const INPUT: Color32 = Color32::from_rgb(110, 160, 230);
pub const OUTPUT: Color32 = Color32::from_rgb(240, 180, 80);
pub const PREDICTED: Color32 = Color32::from_rgb(120, 220, 150);

pub const METER_FILL: Color32 = Color32::from_rgb(80, 190, 120);
pub const METER_HOT: Color32 = Color32::from_rgb(235, 170, 60);
pub const METER_OVER: Color32 = Color32::from_rgb(230, 70, 60);
pub const METER_BACK: Color32 = Color32::from_rgb(20, 22, 26);
pub const LAMP_OFF: Color32 = Color32::from_rgb(58, 60, 66);

/// The colour of a severity: info blue, caution amber, danger red.
pub fn severity_colour(s: Severity) -> Color32 {
    match s {
        Severity::Info => Color32::from_rgb(90, 150, 230),
        Severity::Caution => Color32::from_rgb(235, 170, 50),
        Severity::Danger => Color32::from_rgb(230, 70, 60),
    }
}

/// A value with an SI prefix and about four significant figures: 0.0123 A → "12.3 mA".
pub fn si(value: f64, unit: &str) -> String {
    let a = value.abs();
    let (scaled, prefix) = if a == 0.0 || !a.is_finite() {
        (value, "")
    } else if a >= 1e3 {
        (value / 1e3, "k")
    } else if a >= 1.0 {
        (value, "")
    } else if a >= 1e-3 {
        (value * 1e3, "m")
    } else if a >= 1e-6 {
        (value * 1e6, "µ")
    } else if a >= 1e-9 {
        (value * 1e9, "n")
    } else {
        (value * 1e12, "p")
    };
    format!("{} {prefix}{unit}", format_number(round_sig(scaled, 3)))
}

/// Rounds to `digits` significant figures.
pub fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Decibels with one decimal and an explicit sign: "+18.0", "−6.5".
pub fn signed_db(db: f64) -> String {
    if db >= 0.0 {
        format!("+{db:.1}")
    } else {
        format!("−{:.1}", -db)
    }
}

/// A frequency as a user reads it: "95 Hz", "1.23 kHz".
pub fn hz(f: f64) -> String {
    if f >= 1000.0 {
        format!("{} kHz", format_number(round_sig(f / 1000.0, 3)))
    } else {
        format!("{} Hz", format_number(round_sig(f, 3)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_datasheet() {
        assert_eq!(si(0.15, "A"), "150 mA");
        assert_eq!(si(10_000.0, "Ω"), "10 kΩ");
        assert_eq!(si(2e-10, "F"), "200 pF");
        assert_eq!(si(6.0, "V"), "6 V");
        assert_eq!(si(0.0123, "W"), "12.3 mW");
        assert_eq!(hz(95.3), "95.3 Hz");
        assert_eq!(hz(1234.0), "1.23 kHz");
        assert_eq!(signed_db(18.0), "+18.0");
        assert_eq!(signed_db(-6.54), "−6.5");
    }
}
