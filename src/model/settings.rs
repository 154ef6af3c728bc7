//! The parameter table of DESIGN §3 as plain data, with no plugin framework in it.
//!
//! The ids are a public contract: hosts store automation under them, device files and the
//! command line name them. `Settings` holds one value per id, in the units the user sees.

use std::fmt;

/// Which kind of output stage drives the connection. It names the stage for the warnings and the
/// presets; the circuit itself is set by the numeric parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    Line,
    Headphone,
    Speaker,
}

/// What is plugged into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadKind {
    LineInput,
    ActiveSpeaker,
    Headphones,
    PassiveSpeaker,
}

/// How the rails (and the colour stage) bend the waveform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClipShape {
    Soft,
    Hard,
    Tube,
}

/// Mains frequency of the ground-loop hum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mains {
    Hz50,
    Hz60,
}

/// What comes out of the plugin (DESIGN §2, listen modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenMode {
    Electrical,
    Acoustic,
    Matched,
}

impl OutputKind {
    pub const ALL: [OutputKind; 3] = [OutputKind::Line, OutputKind::Headphone, OutputKind::Speaker];
    pub const NAMES: [&'static str; 3] = ["Line", "Headphone", "Speaker"];
}
impl LoadKind {
    pub const ALL: [LoadKind; 4] = [
        LoadKind::LineInput,
        LoadKind::ActiveSpeaker,
        LoadKind::Headphones,
        LoadKind::PassiveSpeaker,
    ];
    pub const NAMES: [&'static str; 4] = [
        "Line input",
        "Active speaker",
        "Headphones",
        "Passive speaker",
    ];

    /// Headphones and passive speakers turn voltage into sound themselves: a voice coil with
    /// its motional resonance. Line inputs and active speakers are high-impedance receivers.
    pub fn is_transducer(self) -> bool {
        matches!(self, LoadKind::Headphones | LoadKind::PassiveSpeaker)
    }

    /// Line inputs and active speakers have an input stage that can be overdriven.
    pub fn is_receiver(self) -> bool {
        !self.is_transducer()
    }
}
impl ClipShape {
    pub const ALL: [ClipShape; 3] = [ClipShape::Soft, ClipShape::Hard, ClipShape::Tube];
    pub const NAMES: [&'static str; 3] = ["Soft", "Hard", "Tube"];
}
impl Mains {
    pub const ALL: [Mains; 2] = [Mains::Hz50, Mains::Hz60];
    pub const NAMES: [&'static str; 2] = ["50 Hz", "60 Hz"];
    pub fn hz(self) -> f64 {
        match self {
            Mains::Hz50 => 50.0,
            Mains::Hz60 => 60.0,
        }
    }
}
impl ListenMode {
    pub const ALL: [ListenMode; 3] = [
        ListenMode::Electrical,
        ListenMode::Acoustic,
        ListenMode::Matched,
    ];
    pub const NAMES: [&'static str; 3] = ["Electrical", "Acoustic", "Matched"];
}

/// The bottom of the `noise` and `hum` ranges (−140 dBu) means off.
pub const OFF_DBU: f64 = -140.0;
/// A balanced connection rejects common-mode hum by this much, dB (DESIGN §2).
pub const BALANCED_HUM_REJECTION_DB: f64 = 60.0;

/// How a parameter's values are laid out and what it defaults to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A number in display units; `log` marks ranges that span decades.
    Float {
        min: f64,
        max: f64,
        default: f64,
        log: bool,
    },
    /// One of `options`, stored as its index.
    Choice {
        options: &'static [&'static str],
        default: usize,
    },
    /// Off or on.
    Toggle { default: bool },
}

/// One row of the parameter table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// Stable id: never changes once released.
    pub id: &'static str,
    /// Name shown in hosts.
    pub name: &'static str,
    /// Display unit ("" for none).
    pub unit: &'static str,
    pub kind: ParamKind,
    /// Which side of the connection the parameter belongs to, for presets and the editor.
    pub side: Side,
}

/// Where a parameter sits in the chain. Output-side devices set `Source` and `Cable`
/// parameters; load-side devices set `Load` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Cable,
    Load,
    Listening,
}

const fn float(
    id: &'static str,
    name: &'static str,
    unit: &'static str,
    side: Side,
    min: f64,
    max: f64,
    default: f64,
    log: bool,
) -> ParamSpec {
    ParamSpec {
        id,
        name,
        unit,
        kind: ParamKind::Float {
            min,
            max,
            default,
            log,
        },
        side,
    }
}
const fn choice(
    id: &'static str,
    name: &'static str,
    side: Side,
    options: &'static [&'static str],
    default: usize,
) -> ParamSpec {
    ParamSpec {
        id,
        name,
        unit: "",
        kind: ParamKind::Choice { options, default },
        side,
    }
}

/// The parameter table of DESIGN §3, in its order.
#[rustfmt::skip]
pub const PARAMS: &[ParamSpec] = &[
    choice("output", "Output type", Side::Source, &OutputKind::NAMES, 1),
    choice("load", "Load type", Side::Load, &LoadKind::NAMES, 2),
    float("ref_level", "DAC reference level", "dBu", Side::Source, -20.0, 28.0, 18.0, false),
    float("gain", "Gain", "dB", Side::Source, -80.0, 40.0, 0.0, false),
    float("z_out", "Output impedance", "Ω", Side::Source, 0.001, 2000.0, 10.0, true),
    float("c_out", "Coupling capacitor", "µF", Side::Source, 0.0, 10000.0, 0.0, false),
    float("v_clip", "Rail limit", "V", Side::Source, 0.1, 200.0, 6.0, true),
    float("i_max", "Current limit", "mA", Side::Source, 1.0, 100000.0, 150.0, true),
    choice("clip_shape", "Clip shape", Side::Source, &ClipShape::NAMES, 0),
    float("color", "Colour", "%", Side::Source, 0.0, 10.0, 0.01, false),
    float("noise", "Noise floor", "dBu", Side::Source, -140.0, -40.0, -110.0, false),
    float("dc_offset", "DC offset", "mV", Side::Source, -1000.0, 1000.0, 0.0, false),
    float("cable_len", "Cable length", "m", Side::Cable, 0.0, 100.0, 2.0, false),
    float("cable_r", "Cable resistance", "Ω/m", Side::Cable, 0.0, 1.0, 0.02, false),
    float("cable_c", "Cable capacitance", "pF/m", Side::Cable, 0.0, 500.0, 100.0, false),
    ParamSpec { id: "balanced", name: "Balanced", unit: "", kind: ParamKind::Toggle { default: false }, side: Side::Cable },
    float("hum", "Hum", "dBu", Side::Cable, -140.0, -20.0, -140.0, false),
    choice("mains", "Mains", Side::Cable, &Mains::NAMES, 0),
    float("z_load", "Load impedance", "Ω", Side::Load, 1.0, 100000.0, 300.0, true),
    float("l_coil", "Voice-coil inductance", "mH", Side::Load, 0.0, 10.0, 0.1, false),
    float("f_res", "Resonance frequency", "Hz", Side::Load, 5.0, 2000.0, 100.0, true),
    float("z_peak", "Impedance at resonance", "Ω", Side::Load, 1.0, 100000.0, 500.0, true),
    float("q_res", "Resonance Q", "", Side::Load, 0.1, 20.0, 2.0, true),
    float("sens", "Sensitivity", "dB", Side::Load, 60.0, 130.0, 97.0, false),
    float("p_max", "Power rating", "W", Side::Load, 0.001, 5000.0, 0.2, true),
    float("in_max", "Maximum input", "dBu", Side::Load, -10.0, 30.0, 24.0, false),
    float("distance", "Listening distance", "m", Side::Listening, 0.3, 20.0, 2.0, false),
    choice("listen", "Listen mode", Side::Listening, &ListenMode::NAMES, 0),
    float("spl_ref", "Acoustic reference", "dB SPL", Side::Listening, 70.0, 130.0, 100.0, false),
    float("ceiling", "Safety ceiling", "dBFS", Side::Listening, -24.0, 0.0, -1.0, false),
];

/// The row of the table with this id.
pub fn spec(id: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.id == id)
}

/// One value for every parameter, in display units (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub output: OutputKind,
    pub load: LoadKind,
    /// Level of a full-scale sine at the DAC, dBu.
    pub ref_level: f64,
    /// Volume or amplifier gain after the DAC, dB.
    pub gain: f64,
    /// Output impedance of the stage, Ω. Forms the divider with the load.
    pub z_out: f64,
    /// Output coupling capacitor, µF; 0 means DC-coupled.
    pub c_out: f64,
    /// Rail limit of the stage's internal voltage, V peak.
    pub v_clip: f64,
    /// Output current limit, mA peak.
    pub i_max: f64,
    pub clip_shape: ClipShape,
    /// Harmonic distortion of the stage for a sine at half the rail, %.
    pub color: f64,
    /// Output noise floor in a 20 kHz band, dBu. The bottom of the range is off.
    pub noise: f64,
    /// DC offset at the output, mV.
    pub dc_offset: f64,
    /// Cable length, m.
    pub cable_len: f64,
    /// Resistance per conductor, Ω/m (the loop has two conductors).
    pub cable_r: f64,
    /// Capacitance between the conductors, pF/m.
    pub cable_c: f64,
    /// Balanced connections reject ground-loop hum by 60 dB.
    pub balanced: bool,
    /// Ground-loop hum at the load on an unbalanced cable, dBu. The bottom of the range is off.
    pub hum: f64,
    pub mains: Mains,
    /// Load resistance: a receiver's input impedance or a transducer's Re, Ω.
    pub z_load: f64,
    /// Voice-coil inductance, mH.
    pub l_coil: f64,
    /// Resonance frequency of the transducer, Hz.
    pub f_res: f64,
    /// Impedance at resonance, Ω; at or below `z_load` there is no resonance.
    pub z_peak: f64,
    /// Quality factor of the resonance.
    pub q_res: f64,
    /// Sensitivity: headphones dB SPL @ 1 Vrms; passive speakers dB SPL @ 1 W/1 m; active
    /// speakers dB SPL @ 1 m for a +4 dBu input.
    pub sens: f64,
    /// Power rating of the load, W.
    pub p_max: f64,
    /// Largest input a receiver takes before it clips, dBu.
    pub in_max: f64,
    /// Listening distance from a speaker, m.
    pub distance: f64,
    pub listen: ListenMode,
    /// Acoustic mode: the SPL that maps to a full-scale sine, dB SPL.
    pub spl_ref: f64,
    /// Safety ceiling of what leaves the plugin, dBFS.
    pub ceiling: f64,
}

impl Default for Settings {
    fn default() -> Self {
        let mut s = Settings {
            output: OutputKind::Headphone,
            load: LoadKind::Headphones,
            ref_level: 0.0,
            gain: 0.0,
            z_out: 0.0,
            c_out: 0.0,
            v_clip: 0.0,
            i_max: 0.0,
            clip_shape: ClipShape::Soft,
            color: 0.0,
            noise: 0.0,
            dc_offset: 0.0,
            cable_len: 0.0,
            cable_r: 0.0,
            cable_c: 0.0,
            balanced: false,
            hum: 0.0,
            mains: Mains::Hz50,
            z_load: 0.0,
            l_coil: 0.0,
            f_res: 0.0,
            z_peak: 0.0,
            q_res: 0.0,
            sens: 0.0,
            p_max: 0.0,
            in_max: 0.0,
            distance: 0.0,
            listen: ListenMode::Electrical,
            spl_ref: 0.0,
            ceiling: 0.0,
        };
        for p in PARAMS {
            let v = match p.kind {
                ParamKind::Float { default, .. } => default,
                ParamKind::Choice { default, .. } => default as f64,
                ParamKind::Toggle { default } => f64::from(u8::from(default)),
            };
            s.set(p.id, v).expect("the table's defaults are in range");
        }
        s
    }
}

/// Why a value could not be set.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingError {
    UnknownId(String),
    OutOfRange {
        id: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    NotANumber {
        id: &'static str,
    },
    BadText {
        id: &'static str,
        text: String,
        expected: String,
    },
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::UnknownId(id) => {
                let ids: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
                write!(
                    f,
                    "unknown parameter id '{id}' (known ids: {})",
                    ids.join(", ")
                )
            }
            SettingError::OutOfRange {
                id,
                value,
                min,
                max,
                unit,
            } => {
                let u = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                };
                write!(f, "{id} = {value}{u} is out of range ({min} … {max}{u})")
            }
            SettingError::NotANumber { id } => write!(f, "{id} must be a finite number"),
            SettingError::BadText { id, text, expected } => {
                write!(f, "{id}: cannot read '{text}' (expected {expected})")
            }
        }
    }
}

impl std::error::Error for SettingError {}

fn index_of<T: PartialEq + Copy>(all: &[T], v: T) -> usize {
    all.iter().position(|x| *x == v).unwrap_or(0)
}

impl Settings {
    /// The value of a parameter as a number in display units (enums as their index, toggles 0/1).
    pub fn get(&self, id: &str) -> Option<f64> {
        Some(match id {
            "output" => index_of(&OutputKind::ALL, self.output) as f64,
            "load" => index_of(&LoadKind::ALL, self.load) as f64,
            "ref_level" => self.ref_level,
            "gain" => self.gain,
            "z_out" => self.z_out,
            "c_out" => self.c_out,
            "v_clip" => self.v_clip,
            "i_max" => self.i_max,
            "clip_shape" => index_of(&ClipShape::ALL, self.clip_shape) as f64,
            "color" => self.color,
            "noise" => self.noise,
            "dc_offset" => self.dc_offset,
            "cable_len" => self.cable_len,
            "cable_r" => self.cable_r,
            "cable_c" => self.cable_c,
            "balanced" => f64::from(u8::from(self.balanced)),
            "hum" => self.hum,
            "mains" => index_of(&Mains::ALL, self.mains) as f64,
            "z_load" => self.z_load,
            "l_coil" => self.l_coil,
            "f_res" => self.f_res,
            "z_peak" => self.z_peak,
            "q_res" => self.q_res,
            "sens" => self.sens,
            "p_max" => self.p_max,
            "in_max" => self.in_max,
            "distance" => self.distance,
            "listen" => index_of(&ListenMode::ALL, self.listen) as f64,
            "spl_ref" => self.spl_ref,
            "ceiling" => self.ceiling,
            _ => return None,
        })
    }

    /// Sets a parameter from a number in display units (enums by index, toggles 0/1).
    /// Values outside the table's range are refused, never clamped silently.
    pub fn set(&mut self, id: &str, value: f64) -> Result<(), SettingError> {
        let p = spec(id).ok_or_else(|| SettingError::UnknownId(id.to_string()))?;
        if !value.is_finite() {
            return Err(SettingError::NotANumber { id: p.id });
        }
        let (min, max) = match p.kind {
            ParamKind::Float { min, max, .. } => (min, max),
            ParamKind::Choice { options, .. } => (0.0, (options.len() - 1) as f64),
            ParamKind::Toggle { .. } => (0.0, 1.0),
        };
        if value < min || value > max {
            return Err(SettingError::OutOfRange {
                id: p.id,
                value,
                min,
                max,
                unit: p.unit,
            });
        }
        let idx = value.round() as usize;
        match id {
            "output" => self.output = OutputKind::ALL[idx],
            "load" => self.load = LoadKind::ALL[idx],
            "ref_level" => self.ref_level = value,
            "gain" => self.gain = value,
            "z_out" => self.z_out = value,
            "c_out" => self.c_out = value,
            "v_clip" => self.v_clip = value,
            "i_max" => self.i_max = value,
            "clip_shape" => self.clip_shape = ClipShape::ALL[idx],
            "color" => self.color = value,
            "noise" => self.noise = value,
            "dc_offset" => self.dc_offset = value,
            "cable_len" => self.cable_len = value,
            "cable_r" => self.cable_r = value,
            "cable_c" => self.cable_c = value,
            "balanced" => self.balanced = value >= 0.5,
            "hum" => self.hum = value,
            "mains" => self.mains = Mains::ALL[idx],
            "z_load" => self.z_load = value,
            "l_coil" => self.l_coil = value,
            "f_res" => self.f_res = value,
            "z_peak" => self.z_peak = value,
            "q_res" => self.q_res = value,
            "sens" => self.sens = value,
            "p_max" => self.p_max = value,
            "in_max" => self.in_max = value,
            "distance" => self.distance = value,
            "listen" => self.listen = ListenMode::ALL[idx],
            "spl_ref" => self.spl_ref = value,
            "ceiling" => self.ceiling = value,
            _ => unreachable!("every id of PARAMS is matched"),
        }
        Ok(())
    }

    /// Sets a parameter from text as a user types it: a number in display units, optionally
    /// followed by the unit ("120", "120 Ω", "120ohm", "-10 dBu"), an option name for enums
    /// ("headphones", "Passive speaker", "passive_speaker", or its index), and on/off for toggles.
    pub fn set_text(&mut self, id: &str, text: &str) -> Result<(), SettingError> {
        let p = spec(id).ok_or_else(|| SettingError::UnknownId(id.to_string()))?;
        let value = parse_value(p, text)?;
        self.set(p.id, value)
    }

    /// The value of a parameter as display text with its unit ("120 Ω", "Headphones", "on").
    pub fn text(&self, id: &str) -> Option<String> {
        let p = spec(id)?;
        let v = self.get(id)?;
        Some(format_value(p, v))
    }
}

/// Index in [`PARAMS`] of each continuous field, for [`Settings::clamped`] (checked by a test).
const FLOAT_FIELDS: [(usize, &str); 24] = [
    (2, "ref_level"),
    (3, "gain"),
    (4, "z_out"),
    (5, "c_out"),
    (6, "v_clip"),
    (7, "i_max"),
    (9, "color"),
    (10, "noise"),
    (11, "dc_offset"),
    (12, "cable_len"),
    (13, "cable_r"),
    (14, "cable_c"),
    (16, "hum"),
    (18, "z_load"),
    (19, "l_coil"),
    (20, "f_res"),
    (21, "z_peak"),
    (22, "q_res"),
    (23, "sens"),
    (24, "p_max"),
    (25, "in_max"),
    (26, "distance"),
    (28, "spl_ref"),
    (29, "ceiling"),
];

impl Settings {
    /// The same settings with every number inside its range (NaN becomes the default). Hosts can
    /// hand a plugin values its parameters never allowed (a saved state is loaded unclamped);
    /// the engine takes nothing else.
    pub fn clamped(&self) -> Settings {
        let mut s = *self;
        let fields: [&mut f64; 24] = [
            &mut s.ref_level,
            &mut s.gain,
            &mut s.z_out,
            &mut s.c_out,
            &mut s.v_clip,
            &mut s.i_max,
            &mut s.color,
            &mut s.noise,
            &mut s.dc_offset,
            &mut s.cable_len,
            &mut s.cable_r,
            &mut s.cable_c,
            &mut s.hum,
            &mut s.z_load,
            &mut s.l_coil,
            &mut s.f_res,
            &mut s.z_peak,
            &mut s.q_res,
            &mut s.sens,
            &mut s.p_max,
            &mut s.in_max,
            &mut s.distance,
            &mut s.spl_ref,
            &mut s.ceiling,
        ];
        for (v, (idx, _)) in fields.into_iter().zip(FLOAT_FIELDS) {
            if let ParamKind::Float {
                min, max, default, ..
            } = PARAMS[idx].kind
            {
                *v = if v.is_nan() {
                    default
                } else {
                    v.clamp(min, max)
                };
            }
        }
        s
    }
}

/// Folds an option name or unit for lenient comparison: lower case, no spaces, '_' or '-'.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads a display-unit value for `p` from text; see [`Settings::set_text`].
pub fn parse_value(p: &ParamSpec, text: &str) -> Result<f64, SettingError> {
    let t = text.trim();
    let bad = |expected: String| SettingError::BadText {
        id: p.id,
        text: text.to_string(),
        expected,
    };
    match p.kind {
        ParamKind::Choice { options, .. } => {
            let f = fold(t);
            if let Some(i) = options.iter().position(|o| fold(o) == f) {
                return Ok(i as f64);
            }
            // "50hz" folds like "50 Hz"; an index is accepted too.
            match t.parse::<usize>() {
                Ok(i) if i < options.len() => Ok(i as f64),
                _ => Err(bad(format!("one of: {}", options.join(", ")))),
            }
        }
        ParamKind::Toggle { .. } => match fold(t).as_str() {
            "on" | "true" | "yes" | "1" => Ok(1.0),
            "off" | "false" | "no" | "0" => Ok(0.0),
            _ => Err(bad("on or off".into())),
        },
        ParamKind::Float { .. } => {
            let split = t
                .char_indices()
                .find(|(i, c)| {
                    !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
                        || (*i > 0
                            && matches!(c, 'e' | 'E')
                            && !t[i + 1..]
                                .starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+'))
                })
                .map(|(i, _)| i)
                .unwrap_or(t.len());
            let (num, unit) = t.split_at(split);
            let value: f64 = num
                .trim()
                .parse()
                .map_err(|_| bad(format!("a number in {}", unit_or_none(p))))?;
            let unit = fold(unit);
            if !unit.is_empty() && !unit_matches(p.unit, &unit) {
                return Err(bad(format!("a number in {}", unit_or_none(p))));
            }
            Ok(value)
        }
    }
}

fn unit_or_none(p: &ParamSpec) -> &'static str {
    if p.unit.is_empty() {
        "no unit"
    } else {
        p.unit
    }
}

/// Accepts the table's unit and its ASCII spellings (Ω as ohm, µ as u).
fn unit_matches(unit: &str, typed: &str) -> bool {
    let canonical = fold(unit);
    let ascii = canonical
        .replace('ω', "ohm")
        .replace('µ', "u")
        .replace('μ', "u");
    typed == canonical
        || typed == ascii
        || (ascii == "ohm" && typed == "ohms")
        || (ascii == "dbspl" && typed == "db")
}

/// Display text for a value of `p` in its unit.
pub fn format_value(p: &ParamSpec, v: f64) -> String {
    match p.kind {
        ParamKind::Choice { options, .. } => {
            options[(v.round() as usize).min(options.len() - 1)].to_string()
        }
        ParamKind::Toggle { .. } => if v >= 0.5 { "on" } else { "off" }.to_string(),
        ParamKind::Float { .. } => {
            let num = format_number(v);
            if p.unit.is_empty() {
                num
            } else {
                format!("{num} {}", p.unit)
            }
        }
    }
}

/// A number with about four significant figures and no trailing zeros.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 1000.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        (3.0 - a.log10().floor()) as usize
    };
    let s = format!("{:.*}", decimals.min(9), v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_table() {
        let s = Settings::default();
        assert_eq!(s.output, OutputKind::Headphone);
        assert_eq!(s.load, LoadKind::Headphones);
        assert_eq!(s.ref_level, 18.0);
        assert_eq!(s.z_out, 10.0);
        assert_eq!(s.i_max, 150.0);
        assert_eq!(s.z_peak, 500.0);
        assert_eq!(s.ceiling, -1.0);
        assert!(!s.balanced);
    }

    #[test]
    fn ids_are_unique_and_every_id_reads_back() {
        let mut s = Settings::default();
        for (i, p) in PARAMS.iter().enumerate() {
            assert!(
                PARAMS[i + 1..].iter().all(|q| q.id != p.id),
                "{} twice",
                p.id
            );
            let v = s.get(p.id).unwrap();
            s.set(p.id, v).unwrap();
        }
        assert_eq!(PARAMS.len(), 30);
    }

    #[test]
    fn clamping_keeps_every_value_in_range() {
        for (idx, id) in FLOAT_FIELDS {
            assert_eq!(PARAMS[idx].id, id);
        }
        let mut s = Settings::default();
        s.ceiling = 30.0;
        s.z_out = f64::NAN;
        s.i_max = f64::NEG_INFINITY;
        s.gain = 1e300;
        let c = s.clamped();
        assert_eq!(c.ceiling, 0.0);
        assert_eq!(c.z_out, 10.0);
        assert_eq!(c.i_max, 1.0);
        assert_eq!(c.gain, 40.0);
        assert_eq!(Settings::default().clamped(), Settings::default());
    }

    #[test]
    fn text_values_with_units_and_names() {
        let mut s = Settings::default();
        s.set_text("z_out", "120 Ω").unwrap();
        assert_eq!(s.z_out, 120.0);
        s.set_text("z_out", "0.5ohm").unwrap();
        assert_eq!(s.z_out, 0.5);
        s.set_text("c_out", "220uF").unwrap();
        assert_eq!(s.c_out, 220.0);
        s.set_text("load", "passive_speaker").unwrap();
        assert_eq!(s.load, LoadKind::PassiveSpeaker);
        s.set_text("mains", "60hz").unwrap();
        assert_eq!(s.mains, Mains::Hz60);
        s.set_text("balanced", "on").unwrap();
        assert!(s.balanced);
        s.set_text("gain", "-1e1").unwrap();
        assert_eq!(s.gain, -10.0);
        assert!(matches!(
            s.set_text("z_out", "12 V"),
            Err(SettingError::BadText { .. })
        ));
        assert!(matches!(
            s.set_text("z_out", "5000"),
            Err(SettingError::OutOfRange { .. })
        ));
        assert!(matches!(
            s.set_text("zout", "5"),
            Err(SettingError::UnknownId(_))
        ));
        assert!(matches!(
            s.set("gain", f64::NAN),
            Err(SettingError::NotANumber { .. })
        ));
    }
}
