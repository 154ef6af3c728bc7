//! Warnings (DESIGN §5): a pure function of (settings, measured operating point) → what is wrong
//! with the connection, in plain words with the numbers behind them. The editor and the command
//! line both call [`warnings`]; neither adds warnings of its own.
//!
//! Two kinds:
//! - **structural** warnings follow from the settings alone: a mismatched connection, output
//!   impedance against the load's impedance curve, an underpowered amplifier, hum, DC offset;
//! - **dynamic** warnings follow from what the audio actually did over the measured interval:
//!   clipping, current limiting, receiver overload, power, SPL, the safety ceiling. The editor
//!   keeps them on screen for [`HOLD_SECONDS`] after the event with a [`WarningHold`].
//!
//! The ids are a public contract (reports, scripts and tests name them): see [`STRUCTURAL_IDS`]
//! and [`DYNAMIC_IDS`]. Each threshold is a named constant whose doc comment gives its reason.

mod dynamic;
mod hold;
mod structural;
mod text;

pub use dynamic::{dynamic, CURRENT_LIMIT_NEAR, SPL_CAUTION_DB, SPL_DANGER_DB};
pub use hold::{WarningHold, HOLD_SECONDS};
pub use structural::{
    available_power, dc_at_terminals, dc_limit, full_scale_at_load, hum_loudness, response_shape,
    structural, FullScale, HumLoudness, ResponseShape, AMP_HEADROOM_RATIO, AUDIO_BAND_HZ,
    BALANCED_HUM_REJECTION_DB, DC_CURRENT_FRACTION, DC_HEAT_FRACTION, FULL_SCALE_SPL_DB,
    HEADPHONE_REFERENCE_POWER_W, HUM_AUDIBLE_SPL_DB, HUM_OFF_DBU, REFERENCE_HZ,
    SPEAKER_REFERENCE_POWER_W, ZOUT_RATIO_LIMIT,
};

use super::{OperatingPoint, Settings};
use serde::Serialize;

/// How bad a warning is. Ordered: `Info < Caution < Danger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Works, but worth knowing (a headphone out used as a line out, the safety ceiling).
    Info,
    /// The sound is not what the real connection is meant to give (response, level, hum).
    Caution,
    /// Something can be damaged: the equipment, the transducer, or the listener's hearing.
    Danger,
}

impl Severity {
    /// The name used in reports: "info", "caution", "danger".
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Caution => "caution",
            Severity::Danger => "danger",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One number behind a warning's sentence, for scripts and the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    /// What the number is, snake_case: "z_out", "variation_db", "at_hz".
    pub name: &'static str,
    pub value: f64,
    /// Its unit as shown to a user ("Ω", "dB", "Hz", "W"); "" for a plain count or ratio.
    pub unit: &'static str,
}

/// One warning: what, how bad, a sentence for a person, and the numbers for a script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// Stable id, one of [`STRUCTURAL_IDS`] or [`DYNAMIC_IDS`].
    pub id: &'static str,
    pub severity: Severity,
    /// One sentence in plain words, with the figures in it.
    pub message: String,
    /// The figures that triggered it.
    pub figures: Vec<Figure>,
}

impl Warning {
    /// The figure called `name`, if the warning has one.
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value)
    }

    /// True for the warnings that come from the measured audio (and are held on screen).
    pub fn is_dynamic(&self) -> bool {
        is_dynamic(self.id)
    }
}

/// Ids of the warnings that follow from the settings alone.
pub const STRUCTURAL_IDS: [&str; 10] = [
    "zout_ratio",
    "speaker_on_line_out",
    "headphones_on_line_out",
    "speaker_on_headphone_out",
    "headphones_on_speaker_out",
    "speaker_level_into_input",
    "headphone_out_as_line_out",
    "amp_underpowered",
    "unbalanced_hum",
    "dc_into_transducer",
];

/// Ids of the warnings that follow from the measured operating point.
pub const DYNAMIC_IDS: [&str; 7] = [
    "rail_clip",
    "current_limit",
    "receiver_overload",
    "overpower",
    "spl_high",
    "spl_danger",
    "ceiling",
];

/// True when `id` names a dynamic warning.
pub fn is_dynamic(id: &str) -> bool {
    DYNAMIC_IDS.contains(&id)
}

/// Every warning for settings `s` and the operating point `op` measured with them: structural
/// and dynamic, most severe first (in the order of the id lists within a severity).
pub fn warnings(s: &Settings, op: &OperatingPoint) -> Vec<Warning> {
    let mut all = structural(s);
    all.extend(dynamic(s, op));
    sort_by_severity(&mut all);
    all
}

/// Most severe first; a stable sort keeps structural before dynamic and the id order.
fn sort_by_severity(w: &mut [Warning]) {
    w.sort_by(|a, b| b.severity.cmp(&a.severity));
}

fn figure(name: &'static str, value: f64, unit: &'static str) -> Figure {
    Figure { name, value, unit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_is_ordered_and_serialised_lower_case() {
        assert!(Severity::Info < Severity::Caution && Severity::Caution < Severity::Danger);
        let w = Warning {
            id: "ceiling",
            severity: Severity::Info,
            message: "x".into(),
            figures: vec![figure("ceiling_db", -3.0, "dB")],
        };
        let json = serde_json::to_string(&w).unwrap();
        assert!(json.contains("\"severity\":\"info\""), "{json}");
        assert!(json.contains("\"name\":\"ceiling_db\""), "{json}");
    }

    #[test]
    fn ids_are_unique() {
        let all: Vec<&str> = STRUCTURAL_IDS
            .iter()
            .chain(DYNAMIC_IDS.iter())
            .copied()
            .collect();
        for (i, id) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(id), "{id} twice");
        }
        assert!(is_dynamic("rail_clip") && !is_dynamic("zout_ratio"));
    }

    #[test]
    fn default_settings_at_rest_raise_nothing() {
        // The default is a 10 Ω headphone out into a 300 Ω headphone: the intended connection.
        assert!(warnings(&Settings::default(), &OperatingPoint::default()).is_empty());
    }
}
