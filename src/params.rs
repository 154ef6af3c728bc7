//! The parameter table of DESIGN §3 as nice-plug parameters. The ids, ranges, defaults and
//! units come from [`crate::model::settings::PARAMS`], so the plugin, the command line and the
//! device library cannot drift apart.

use crate::editor::state::{EditorState, ScenarioField};
use crate::model::settings::{format_value, parse_value, spec, ParamKind, ParamSpec};
use crate::model::{self, Settings};
use nice_plug::prelude::*;
use std::sync::Arc;

/// Output type (mirror of [`model::OutputKind`] for the host).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputChoice {
    #[id = "line"]
    Line,
    #[id = "headphone"]
    Headphone,
    #[id = "speaker"]
    Speaker,
}

/// Load type (mirror of [`model::LoadKind`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadChoice {
    #[id = "line-input"]
    #[name = "Line input"]
    LineInput,
    #[id = "active-speaker"]
    #[name = "Active speaker"]
    ActiveSpeaker,
    #[id = "headphones"]
    Headphones,
    #[id = "passive-speaker"]
    #[name = "Passive speaker"]
    PassiveSpeaker,
}

/// Clip shape (mirror of [`model::ClipShape`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipChoice {
    #[id = "soft"]
    Soft,
    #[id = "hard"]
    Hard,
    #[id = "tube"]
    Tube,
}

/// Mains frequency (mirror of [`model::Mains`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MainsChoice {
    #[id = "50hz"]
    #[name = "50 Hz"]
    Hz50,
    #[id = "60hz"]
    #[name = "60 Hz"]
    Hz60,
}

/// Listen mode (mirror of [`model::ListenMode`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenChoice {
    #[id = "electrical"]
    Electrical,
    #[id = "acoustic"]
    Acoustic,
    #[id = "matched"]
    Matched,
}

#[derive(Params)]
pub struct OutpathParams {
    #[id = "output"]
    pub output: EnumParam<OutputChoice>,
    #[id = "load"]
    pub load: EnumParam<LoadChoice>,
    #[id = "ref_level"]
    pub ref_level: FloatParam,
    #[id = "gain"]
    pub gain: FloatParam,
    #[id = "z_out"]
    pub z_out: FloatParam,
    #[id = "c_out"]
    pub c_out: FloatParam,
    #[id = "v_clip"]
    pub v_clip: FloatParam,
    #[id = "i_max"]
    pub i_max: FloatParam,
    #[id = "clip_shape"]
    pub clip_shape: EnumParam<ClipChoice>,
    #[id = "color"]
    pub color: FloatParam,
    #[id = "noise"]
    pub noise: FloatParam,
    #[id = "dc_offset"]
    pub dc_offset: FloatParam,
    #[id = "cable_len"]
    pub cable_len: FloatParam,
    #[id = "cable_r"]
    pub cable_r: FloatParam,
    #[id = "cable_c"]
    pub cable_c: FloatParam,
    #[id = "balanced"]
    pub balanced: BoolParam,
    #[id = "hum"]
    pub hum: FloatParam,
    #[id = "mains"]
    pub mains: EnumParam<MainsChoice>,
    #[id = "z_load"]
    pub z_load: FloatParam,
    #[id = "l_coil"]
    pub l_coil: FloatParam,
    #[id = "f_res"]
    pub f_res: FloatParam,
    #[id = "z_peak"]
    pub z_peak: FloatParam,
    #[id = "q_res"]
    pub q_res: FloatParam,
    #[id = "sens"]
    pub sens: FloatParam,
    #[id = "p_max"]
    pub p_max: FloatParam,
    #[id = "in_max"]
    pub in_max: FloatParam,
    #[id = "distance"]
    pub distance: FloatParam,
    #[id = "listen"]
    pub listen: EnumParam<ListenChoice>,
    #[id = "spl_ref"]
    pub spl_ref: FloatParam,
    #[id = "ceiling"]
    pub ceiling: FloatParam,

    /// The editor window's size, saved with the session.
    #[persist = "editor-state"]
    pub editor_state: EditorState,
    /// The two scenarios the editor flips between (A/B), saved with the session.
    #[persist = "scenarios"]
    pub scenarios: ScenarioField,
}

/// The unit as the host shows it after the value, with its leading space.
fn unit_label(unit: &str) -> &'static str {
    match unit {
        "dBu" => " dBu",
        "dB" => " dB",
        "Ω" => " Ω",
        "µF" => " µF",
        "V" => " V",
        "mA" => " mA",
        "%" => " %",
        "mV" => " mV",
        "m" => " m",
        "Ω/m" => " Ω/m",
        "pF/m" => " pF/m",
        "mH" => " mH",
        "Hz" => " Hz",
        "W" => " W",
        "dB SPL" => " dB SPL",
        "dBFS" => " dBFS",
        _ => "",
    }
}

/// The host's range for a table row. Ranges marked log are skewed so that the geometric middle
/// of the range sits at the middle of the control: ((√(min·max) − min)/(max − min))^k = ½.
/// (nice-plug offers power-law skews, not exact log mappings.)
pub fn host_range(p: &ParamSpec) -> FloatRange {
    let ParamKind::Float { min, max, log, .. } = p.kind else {
        panic!("{} is not a number", p.id)
    };
    let (min, max) = (min as f32, max as f32);
    if log {
        let mid = ((min as f64 * max as f64).sqrt() - min as f64) / (max as f64 - min as f64);
        FloatRange::Skewed {
            min,
            max,
            factor: (0.5f64.ln() / mid.ln()) as f32,
        }
    } else {
        FloatRange::Linear { min, max }
    }
}

/// A float parameter built from its row of the table, with text in and out in its unit.
fn float(id: &'static str) -> FloatParam {
    let p = spec(id).expect("every field of OutpathParams is in the table");
    let ParamKind::Float { default, .. } = p.kind else {
        panic!("{id} is not a number")
    };
    FloatParam::new(p.name, default as f32, host_range(p))
        .with_unit(unit_label(p.unit))
        .with_value_to_string(Arc::new(move |v| {
            // The unit is added by the host from `with_unit`: show the number only.
            let full = format_value(p, v as f64);
            full.strip_suffix(p.unit)
                .map(|s| s.trim_end().to_string())
                .unwrap_or(full)
        }))
        .with_string_to_value(Arc::new(move |s| parse_value(p, s).ok().map(|v| v as f32)))
}

impl Default for OutpathParams {
    fn default() -> Self {
        OutpathParams {
            output: EnumParam::new("Output type", OutputChoice::Headphone),
            load: EnumParam::new("Load type", LoadChoice::Headphones),
            ref_level: float("ref_level"),
            gain: float("gain"),
            z_out: float("z_out"),
            c_out: float("c_out"),
            v_clip: float("v_clip"),
            i_max: float("i_max"),
            clip_shape: EnumParam::new("Clip shape", ClipChoice::Soft),
            color: float("color"),
            noise: float("noise"),
            dc_offset: float("dc_offset"),
            cable_len: float("cable_len"),
            cable_r: float("cable_r"),
            cable_c: float("cable_c"),
            balanced: BoolParam::new("Balanced", false).with_string_to_value(Arc::new(|s| {
                parse_value(spec("balanced").expect("in the table"), s)
                    .ok()
                    .map(|v| v >= 0.5)
            })),
            hum: float("hum"),
            mains: EnumParam::new("Mains", MainsChoice::Hz50),
            z_load: float("z_load"),
            l_coil: float("l_coil"),
            f_res: float("f_res"),
            z_peak: float("z_peak"),
            q_res: float("q_res"),
            sens: float("sens"),
            p_max: float("p_max"),
            in_max: float("in_max"),
            distance: float("distance"),
            listen: EnumParam::new("Listen mode", ListenChoice::Electrical),
            spl_ref: float("spl_ref"),
            ceiling: float("ceiling"),
            editor_state: EditorState::default(),
            scenarios: ScenarioField::default(),
        }
    }
}

impl OutpathParams {
    /// The host parameter of a continuous row of the table, for the editor's sliders.
    pub fn float_param(&self, id: &str) -> Option<&FloatParam> {
        Some(match id {
            "ref_level" => &self.ref_level,
            "gain" => &self.gain,
            "z_out" => &self.z_out,
            "c_out" => &self.c_out,
            "v_clip" => &self.v_clip,
            "i_max" => &self.i_max,
            "color" => &self.color,
            "noise" => &self.noise,
            "dc_offset" => &self.dc_offset,
            "cable_len" => &self.cable_len,
            "cable_r" => &self.cable_r,
            "cable_c" => &self.cable_c,
            "hum" => &self.hum,
            "z_load" => &self.z_load,
            "l_coil" => &self.l_coil,
            "f_res" => &self.f_res,
            "z_peak" => &self.z_peak,
            "q_res" => &self.q_res,
            "sens" => &self.sens,
            "p_max" => &self.p_max,
            "in_max" => &self.in_max,
            "distance" => &self.distance,
            "spl_ref" => &self.spl_ref,
            "ceiling" => &self.ceiling,
            _ => return None,
        })
    }

    /// The current values as engine settings (the engine smooths them itself).
    pub fn settings(&self) -> Settings {
        let f = |p: &FloatParam| p.value() as f64;
        Settings {
            output: match self.output.value() {
                OutputChoice::Line => model::OutputKind::Line,
                OutputChoice::Headphone => model::OutputKind::Headphone,
                OutputChoice::Speaker => model::OutputKind::Speaker,
            },
            load: match self.load.value() {
                LoadChoice::LineInput => model::LoadKind::LineInput,
                LoadChoice::ActiveSpeaker => model::LoadKind::ActiveSpeaker,
                LoadChoice::Headphones => model::LoadKind::Headphones,
                LoadChoice::PassiveSpeaker => model::LoadKind::PassiveSpeaker,
            },
            ref_level: f(&self.ref_level),
            gain: f(&self.gain),
            z_out: f(&self.z_out),
            c_out: f(&self.c_out),
            v_clip: f(&self.v_clip),
            i_max: f(&self.i_max),
            clip_shape: match self.clip_shape.value() {
                ClipChoice::Soft => model::ClipShape::Soft,
                ClipChoice::Hard => model::ClipShape::Hard,
                ClipChoice::Tube => model::ClipShape::Tube,
            },
            color: f(&self.color),
            noise: f(&self.noise),
            dc_offset: f(&self.dc_offset),
            cable_len: f(&self.cable_len),
            cable_r: f(&self.cable_r),
            cable_c: f(&self.cable_c),
            balanced: self.balanced.value(),
            hum: f(&self.hum),
            mains: match self.mains.value() {
                MainsChoice::Hz50 => model::Mains::Hz50,
                MainsChoice::Hz60 => model::Mains::Hz60,
            },
            z_load: f(&self.z_load),
            l_coil: f(&self.l_coil),
            f_res: f(&self.f_res),
            z_peak: f(&self.z_peak),
            q_res: f(&self.q_res),
            sens: f(&self.sens),
            p_max: f(&self.p_max),
            in_max: f(&self.in_max),
            distance: f(&self.distance),
            listen: match self.listen.value() {
                ListenChoice::Electrical => model::ListenMode::Electrical,
                ListenChoice::Acoustic => model::ListenMode::Acoustic,
                ListenChoice::Matched => model::ListenMode::Matched,
            },
            spl_ref: f(&self.spl_ref),
            ceiling: f(&self.ceiling),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::PARAMS;

    #[test]
    fn host_parameters_follow_the_table() {
        let params = OutpathParams::default();
        let map = params.param_map();
        let ids: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
        let table: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
        assert_eq!(ids, table);
        for p in PARAMS {
            let is_float = matches!(p.kind, ParamKind::Float { .. });
            assert_eq!(params.float_param(p.id).is_some(), is_float, "{}", p.id);
            if let Some(f) = params.float_param(p.id) {
                assert_eq!(f.name(), p.name);
            }
        }
        let (got, want) = (params.settings(), Settings::default());
        for p in PARAMS {
            let (a, b) = (got.get(p.id).unwrap(), want.get(p.id).unwrap());
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                "{}: {a} vs {b}",
                p.id
            );
        }
    }

    #[test]
    fn log_ranges_put_the_geometric_middle_at_half() {
        let r = host_range(spec("z_out").unwrap());
        let mid = r.normalize((0.001f32 * 2000.0).sqrt());
        assert!((mid - 0.5).abs() < 1e-3, "{mid}");
    }
}
