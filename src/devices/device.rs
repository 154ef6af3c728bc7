//! One device: a named set of parameter values for one end of the connection, with where its
//! figures come from, and the checks that keep a preset inside the physics of DESIGN §2.

use super::category::{Category, DeviceSide};
use crate::model::acoustics::{sens_db_per_volt, spl_at_one_volt};
use crate::model::load::Resonance;
use crate::model::settings::{spec, ParamKind, ParamSpec, SettingError, Settings, Side, PARAMS};
use crate::model::{LoadKind, OutputKind};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Relative tolerance under which two values count as equal: a value that went through the
/// host's 32-bit normalised parameter and back still matches its preset.
pub const MATCH_TOLERANCE_REL: f64 = 1e-5;

/// Absolute tolerance for linear ranges, as a fraction of the range's span, so that values
/// near 0 (a DC offset of 0 mV) still match after the host's rounding.
pub const MATCH_TOLERANCE_OF_SPAN: f64 = 1e-6;

/// A device preset as written in a device file (TOML or JSON) and as held by the library.
///
/// After [`Device::validated`], `set` holds every value the device writes, the derived inputs
/// (`sens_mw`, `sens_at`, `thiele_small`) already converted into parameters; the derived inputs
/// stay beside them as the record of what the source published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Stable kebab-case id: scenarios, the command line and saved sessions name devices by it.
    pub id: String,
    /// The name shown in the pickers; "Archetype: …" for a typical unit rather than a product.
    pub name: String,
    pub category: Category,
    /// Where the figures come from: a datasheet or measurement with its address, or text
    /// starting with "archetype" for a typical unit.
    pub source: String,
    /// Which values are assumptions, how a figure was converted, what the model leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Headphone sensitivity as published per milliwatt, dB SPL/mW; converted to `sens`
    /// (dB SPL/V) at the device's `z_load`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sens_mw: Option<f64>,
    /// Sensitivity as published for a drive voltage ("88 dB at 2.83 V, 1 m"); converted to the
    /// `sens` that makes the model's SPL at that voltage and 1 m equal the published figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sens_at: Option<SensAt>,
    /// A speaker's small-signal parameters; converted to z_load, f_res, q_res, z_peak, l_coil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thiele_small: Option<ThieleSmall>,
    /// Parameter id → value in display units.
    pub set: BTreeMap<String, SetValue>,
}

/// One value in a device's `set` table, as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SetValue {
    /// A number in the parameter's display unit (an option's index for enums).
    Number(f64),
    /// true/false for toggles such as `balanced`.
    Flag(bool),
    /// Text as typed in the editor: "120 Ω", "Headphones", "passive_speaker", "on".
    Text(String),
}

impl SetValue {
    /// Writes this value into `s` through the same checks as any user input.
    pub fn apply_to(&self, s: &mut Settings, id: &str) -> Result<(), SettingError> {
        match self {
            SetValue::Number(v) => s.set(id, *v),
            SetValue::Text(t) => s.set_text(id, t),
            SetValue::Flag(b) => {
                let p = spec(id).ok_or_else(|| SettingError::UnknownId(id.to_string()))?;
                if !matches!(p.kind, ParamKind::Toggle { .. }) {
                    let expected = match p.kind {
                        ParamKind::Choice { options, .. } => {
                            format!("one of: {}", options.join(", "))
                        }
                        _ => format!(
                            "a number in {}",
                            if p.unit.is_empty() { "no unit" } else { p.unit }
                        ),
                    };
                    return Err(SettingError::BadText {
                        id: p.id,
                        text: b.to_string(),
                        expected,
                    });
                }
                s.set(id, f64::from(u8::from(*b)))
            }
        }
    }
}

impl fmt::Display for SetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetValue::Number(v) => write!(f, "{v}"),
            SetValue::Flag(b) => write!(f, "{b}"),
            SetValue::Text(t) => write!(f, "\"{t}\""),
        }
    }
}

impl<'de> Deserialize<'de> for SetValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SetValueVisitor;
        impl Visitor<'_> for SetValueVisitor {
            type Value = SetValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a text such as \"120 Ω\" or \"Headphones\", or true/false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SetValue, E> {
                Ok(SetValue::Flag(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SetValue, E> {
                Ok(SetValue::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SetValue, E> {
                Ok(SetValue::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SetValue, E> {
                Ok(SetValue::Number(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SetValue, E> {
                Ok(SetValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(SetValueVisitor)
    }
}

/// Thiele–Small parameters of a driver as its datasheet gives them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThieleSmall {
    /// Voice-coil DC resistance Re, Ω.
    pub re: f64,
    /// Resonance frequency fs, Hz.
    pub fs: f64,
    /// Mechanical Q, Qms.
    pub qms: f64,
    /// Electrical Q, Qes.
    pub qes: f64,
    /// Voice-coil inductance Le, mH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub le_mh: Option<f64>,
}

impl ThieleSmall {
    /// |Z| at fs: Re plus the motional resistance of the model's resonance,
    /// z_peak = Re + Re·Qms/Qes = Re·(1 + Qms/Qes).
    pub fn z_peak(&self) -> f64 {
        self.re + Resonance::from_thiele_small(self.re, self.fs, self.qms, self.qes).r
    }

    /// The load parameters these data stand for: z_load = Re, f_res = fs, q_res = Qms,
    /// z_peak = Re·(1 + Qms/Qes), l_coil = Le.
    pub fn parameters(&self) -> Vec<(&'static str, f64)> {
        let mut p = vec![
            ("z_load", self.re),
            ("f_res", self.fs),
            ("q_res", self.qms),
            ("z_peak", self.z_peak()),
        ];
        if let Some(le) = self.le_mh {
            p.push(("l_coil", le));
        }
        p
    }
}

/// A sensitivity published as "this SPL at 1 m for this drive voltage": 90 dB at 0.1 V for an
/// earphone, 88 dB at 2.83 V for a woofer, 100 dB SPL for −6 dBu into an active monitor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensAt {
    /// Sound pressure at 1 m (at the ear for headphones), dB SPL.
    pub db_spl: f64,
    /// Drive voltage at the terminals, V rms.
    pub v_rms: f64,
}

/// What is wrong with a device, and in which field of its file.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceError {
    /// The field as written in the file: "id", "set.z_out", "thiele_small.qes"; None when the
    /// problem is the file as a whole.
    pub field: Option<String>,
    pub message: String,
}

impl DeviceError {
    pub fn new(field: Option<&str>, message: impl Into<String>) -> DeviceError {
        DeviceError {
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    pub fn at(field: &str, message: impl Into<String>) -> DeviceError {
        DeviceError::new(Some(field), message)
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DeviceError {}

/// Whether two values of parameter `p` are the same setting: enums and toggles exactly,
/// numbers within [`MATCH_TOLERANCE_REL`] (plus [`MATCH_TOLERANCE_OF_SPAN`] of a linear range).
pub fn same_value(p: &ParamSpec, a: f64, b: f64) -> bool {
    match p.kind {
        ParamKind::Float { min, max, log, .. } => {
            let span = if log {
                0.0
            } else {
                MATCH_TOLERANCE_OF_SPAN * (max - min)
            };
            (a - b).abs() <= MATCH_TOLERANCE_REL * a.abs().max(b.abs()) + span
        }
        ParamKind::Choice { .. } | ParamKind::Toggle { .. } => a.round() == b.round(),
    }
}

/// Stable ids are lower-case words joined by single hyphens: "sennheiser-hd-600".
pub fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Device {
    pub fn side(&self) -> DeviceSide {
        self.category.side()
    }

    /// An archetype is a typical unit rather than a product with published figures.
    pub fn is_archetype(&self) -> bool {
        self.source
            .trim_start()
            .to_lowercase()
            .starts_with("archetype")
    }

    /// Writes the device's values into `s`; what it does not name keeps its value. Every device
    /// of a [`super::Library`] is validated, so every value applies; a value that does not
    /// (a hand-built device) is skipped.
    pub fn apply(&self, s: &mut Settings) {
        for (id, value) in &self.set {
            let _ = value.apply_to(s, id);
        }
    }

    /// Whether `s` holds every value this device sets (within the host's rounding): the editor
    /// shows the device's name, or "custom" once a value has moved.
    pub fn matches(&self, s: &Settings) -> bool {
        let mut mine = *s;
        self.apply(&mut mine);
        self.set
            .keys()
            .all(|id| match (spec(id), mine.get(id), s.get(id)) {
                (Some(p), Some(a), Some(b)) => same_value(p, a, b),
                _ => false,
            })
    }

    /// The values the device writes, in the order of the parameter table, in display units.
    pub fn values(&self) -> Vec<(&'static ParamSpec, f64)> {
        let mut s = Settings::default();
        self.apply(&mut s);
        PARAMS
            .iter()
            .filter(|p| self.set.contains_key(p.id))
            .filter_map(|p| s.get(p.id).map(|v| (p, v)))
            .collect()
    }

    /// Checks the device against the parameter table and the rules of its category, and
    /// converts its derived inputs into parameters. The first problem found is returned with
    /// the field it is in.
    pub fn validated(mut self) -> Result<Device, DeviceError> {
        self.check_identity()?;
        // Every value through the same checks as user input, on a scratch copy.
        let mut scratch = Settings::default();
        for (id, value) in &self.set {
            let field = format!("set.{id}");
            let p = spec(id).ok_or_else(|| {
                DeviceError::at(&field, SettingError::UnknownId(id.clone()).to_string())
            })?;
            if !self.category.may_set(p) {
                return Err(DeviceError::at(
                    &field,
                    wrong_side_message(self.category, p),
                ));
            }
            value
                .apply_to(&mut scratch, id)
                .map_err(|e| DeviceError::at(&field, e.to_string()))?;
        }
        self.check_kind(&scratch)?;
        // Thiele–Small first: the sensitivities convert at the z_load it gives.
        self.derive_thiele_small(&mut scratch)?;
        self.derive_sens_mw(&mut scratch)?;
        self.derive_sens_at(&mut scratch)?;
        Ok(self)
    }

    fn check_identity(&self) -> Result<(), DeviceError> {
        if !is_kebab_case(&self.id) {
            return Err(DeviceError::at(
                "id",
                format!("'{}' is not a kebab-case id (lower-case letters and digits joined by single hyphens, e.g. \"my-amp-2\")", self.id),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(DeviceError::at("name", "is empty"));
        }
        if self.source.trim().is_empty() {
            return Err(DeviceError::at("source", "is empty: name a datasheet or measurement, or write \"archetype\" for a typical unit"));
        }
        Ok(())
    }

    /// z_load = Re, f_res = fs, q_res = Qms, z_peak = Re·(1 + Qms/Qes), l_coil = Le.
    fn derive_thiele_small(&mut self, scratch: &mut Settings) -> Result<(), DeviceError> {
        let Some(ts) = self.thiele_small else {
            return Ok(());
        };
        if !matches!(
            self.category,
            Category::PassiveSpeaker | Category::GuitarCab
        ) {
            return Err(DeviceError::at(
                "thiele_small",
                "only speakers (passive-speaker, guitar-cab) take Thiele–Small data",
            ));
        }
        for (name, v) in [
            ("re", ts.re),
            ("fs", ts.fs),
            ("qms", ts.qms),
            ("qes", ts.qes),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(DeviceError::at(
                    &format!("thiele_small.{name}"),
                    format!("{name} = {v} must be a positive number"),
                ));
            }
        }
        if let Some(le) = ts.le_mh {
            if !(le.is_finite() && le >= 0.0) {
                return Err(DeviceError::at(
                    "thiele_small.le_mh",
                    format!("le_mh = {le} must be zero or positive"),
                ));
            }
        }
        for (id, v) in ts.parameters() {
            let how = match id {
                "z_load" => format!("Re = {}", fmt_value(id, v)),
                "f_res" => format!("fs = {}", fmt_value(id, v)),
                "q_res" => format!("Qms = {}", fmt_value(id, v)),
                "z_peak" => format!("Re·(1 + Qms/Qes) = {}", fmt_value(id, v)),
                _ => format!("Le = {}", fmt_value(id, v)),
            };
            self.put_derived(scratch, id, v, "thiele_small", &how)?;
        }
        Ok(())
    }

    /// sens (dB SPL/V) = sens_mw + 10·log10(1000 / z_load).
    fn derive_sens_mw(&mut self, scratch: &mut Settings) -> Result<(), DeviceError> {
        let Some(sens_mw) = self.sens_mw else {
            return Ok(());
        };
        if !matches!(self.category, Category::Headphones | Category::Iem) {
            return Err(DeviceError::at("sens_mw", "only headphones and IEMs take a sensitivity per milliwatt; speakers use sens_at or set.sens"));
        }
        if !self.set.contains_key("z_load") {
            return Err(DeviceError::at(
                "sens_mw",
                "needs set.z_load: the nominal impedance the dB/mW figure converts with",
            ));
        }
        let sens = sens_db_per_volt(sens_mw, scratch.z_load);
        let how = format!(
            "{sens_mw} dB/mW at {} is {sens:.2} dB/V",
            fmt_value("z_load", scratch.z_load)
        );
        self.put_derived(scratch, "sens", sens, "sens_mw", &how)
    }

    /// sens is whatever makes the model's SPL at v_rms and 1 m equal db_spl. The model's SPL is
    /// S_1V + 20·log10(V) with S_1V = sens + offset(load type, z_load), so
    /// sens = db_spl − 20·log10(v_rms) − offset, the offset read from the model at sens = 0.
    fn derive_sens_at(&mut self, scratch: &mut Settings) -> Result<(), DeviceError> {
        let Some(at) = self.sens_at else {
            return Ok(());
        };
        if !(at.v_rms.is_finite() && at.v_rms > 0.0 && at.db_spl.is_finite()) {
            return Err(DeviceError::at(
                "sens_at",
                "needs a finite db_spl and a positive v_rms",
            ));
        }
        let mut probe = *scratch;
        probe.sens = 0.0;
        probe.distance = 1.0;
        let Some(offset) = spl_at_one_volt(&probe) else {
            return Err(DeviceError::at(
                "sens_at",
                "a line input has no transducer, so no sensitivity",
            ));
        };
        if probe.load == LoadKind::PassiveSpeaker && !self.set.contains_key("z_load") {
            return Err(DeviceError::at("sens_at", "needs z_load (in set or from thiele_small): a speaker's SPL for a voltage depends on it"));
        }
        let sens = at.db_spl - 20.0 * at.v_rms.log10() - offset;
        let how = format!(
            "{} dB SPL at {} V rms is sens = {sens:.2} dB",
            at.db_spl, at.v_rms
        );
        self.put_derived(scratch, "sens", sens, "sens_at", &how)
    }

    /// Output devices must set `output` and load devices `load`, and it must be the type their
    /// category stands for.
    fn check_kind(&self, scratch: &Settings) -> Result<(), DeviceError> {
        let (id, expected, got) = match (self.category.output_kind(), self.category.load_kind()) {
            (Some(k), _) => (
                "output",
                OUTPUT_NAMES[k as usize],
                OUTPUT_NAMES[scratch.output as usize],
            ),
            (_, Some(k)) => (
                "load",
                LOAD_NAMES[k as usize],
                LOAD_NAMES[scratch.load as usize],
            ),
            _ => unreachable!("every category is an output or a load"),
        };
        if !self.set.contains_key(id) {
            return Err(DeviceError::at(
                &format!("set.{id}"),
                format!(
                    "missing: a {} device must set {id} = \"{expected}\"",
                    self.category.id()
                ),
            ));
        }
        if got != expected {
            return Err(DeviceError::at(
                &format!("set.{id}"),
                format!(
                    "{id} = {got} does not fit the category {} (expected \"{expected}\")",
                    self.category.id()
                ),
            ));
        }
        Ok(())
    }

    /// Puts a derived value into `set`. If the file also sets that parameter, the two must
    /// agree (a validated device read back in passes again); out-of-range results are refused.
    fn put_derived(
        &mut self,
        scratch: &mut Settings,
        id: &'static str,
        value: f64,
        from: &str,
        how: &str,
    ) -> Result<(), DeviceError> {
        let p = spec(id).expect("derived ids are in the table");
        if !self.category.may_set(p) {
            return Err(DeviceError::at(from, wrong_side_message(self.category, p)));
        }
        if self.set.contains_key(id) {
            let given = scratch.get(id).expect("id is in the table");
            if !same_value(p, given, value) {
                return Err(DeviceError::at(
                    &format!("set.{id}"),
                    format!(
                        "{id} = {} disagrees with {from} ({how}); give it once",
                        fmt_value(id, given)
                    ),
                ));
            }
            return Ok(());
        }
        scratch
            .set(id, value)
            .map_err(|e| DeviceError::at(from, format!("{how}, but {e}")))?;
        self.set.insert(id.to_string(), SetValue::Number(value));
        Ok(())
    }
}

const OUTPUT_NAMES: [&str; 3] = OutputKind::NAMES;
const LOAD_NAMES: [&str; 4] = LoadKind::NAMES;

fn fmt_value(id: &str, v: f64) -> String {
    spec(id)
        .map(|p| crate::model::settings::format_value(p, v))
        .unwrap_or_else(|| v.to_string())
}

fn wrong_side_message(category: Category, p: &ParamSpec) -> String {
    match category.side() {
        DeviceSide::Output => format!(
            "{} belongs to the {}, not to an output: a {} device sets only output-stage and cable parameters",
            p.id,
            if p.side == Side::Load { "load" } else { "listening setup" },
            category.id()
        ),
        DeviceSide::Load => format!(
            "{} belongs to the {}, not to a load: a {} device sets only load parameters{}",
            p.id,
            match p.side {
                Side::Source => "output stage",
                Side::Cable => "cable",
                _ => "listening setup",
            },
            category.id(),
            if category.is_speaker() { " (and the listening distance)" } else { "" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headphones(set: &[(&str, SetValue)]) -> Device {
        Device {
            id: "test-phones".into(),
            name: "Test phones".into(),
            category: Category::Headphones,
            source: "archetype".into(),
            notes: None,
            sens_mw: None,
            sens_at: None,
            thiele_small: None,
            set: set
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn kebab_case_ids() {
        for ok in ["hd-600", "a", "sb17mfc35-8", "x2"] {
            assert!(is_kebab_case(ok), "{ok}");
        }
        for bad in ["", "HD-600", "hd_600", "-hd", "hd-", "hd--600", "hd 600"] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }

    #[test]
    fn values_match_within_the_hosts_rounding() {
        let z_out = spec("z_out").unwrap();
        assert!(same_value(z_out, 0.1, f64::from(0.1f32)));
        assert!(!same_value(z_out, 0.1, 0.1001));
        let dc = spec("dc_offset").unwrap(); // linear ±1000 mV: 0 matches 1e-4 mV
        assert!(same_value(dc, 0.0, 1e-4));
        assert!(!same_value(dc, 0.0, 0.01));
        let load = spec("load").unwrap();
        assert!(same_value(load, 2.0, 2.0) && !same_value(load, 2.0, 3.0));
    }

    #[test]
    fn a_flag_only_sets_a_toggle() {
        let mut s = Settings::default();
        assert!(SetValue::Flag(true).apply_to(&mut s, "balanced").is_ok());
        assert!(s.balanced);
        assert!(matches!(
            SetValue::Flag(true).apply_to(&mut s, "z_out"),
            Err(SettingError::BadText { .. })
        ));
    }

    #[test]
    fn sens_mw_converts_at_z_load() {
        let mut d = headphones(&[
            ("load", SetValue::Text("Headphones".into())),
            ("z_load", SetValue::Text("32 Ω".into())),
        ]);
        d.sens_mw = Some(100.0);
        let d = d.validated().unwrap();
        // 1 V into 32 Ω is 31.25 mW: +14.95 dB over the figure per mW.
        assert_eq!(
            d.set.get("sens"),
            Some(&SetValue::Number(100.0 + 10.0 * 31.25f64.log10()))
        );
        let mut no_z = headphones(&[("load", SetValue::Text("Headphones".into()))]);
        no_z.sens_mw = Some(100.0);
        assert_eq!(
            no_z.validated().unwrap_err().field.as_deref(),
            Some("sens_mw")
        );
    }

    #[test]
    fn derived_values_out_of_range_are_refused() {
        // 130 dB/mW at 8 Ω would be 151 dB/V, above the table's 130.
        let mut d = headphones(&[
            ("load", SetValue::Text("Headphones".into())),
            ("z_load", SetValue::Number(8.0)),
        ]);
        d.sens_mw = Some(130.0);
        let e = d.validated().unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sens_mw"));
        assert!(e.message.contains("out of range"), "{e}");
    }

    #[test]
    fn a_load_must_say_it_is_one() {
        let e = headphones(&[("z_load", SetValue::Number(32.0))])
            .validated()
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("set.load"));
        let e = headphones(&[("load", SetValue::Text("Line input".into()))])
            .validated()
            .unwrap_err();
        assert!(e.message.contains("does not fit"), "{e}");
    }

    #[test]
    fn a_line_input_has_no_sensitivity() {
        let mut d = headphones(&[("load", SetValue::Text("Line input".into()))]);
        d.category = Category::LineInput;
        d.sens_at = Some(SensAt {
            db_spl: 100.0,
            v_rms: 1.0,
        });
        assert_eq!(d.validated().unwrap_err().field.as_deref(), Some("sens_at"));
    }
}
