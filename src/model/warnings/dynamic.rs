//! Warnings that follow from what the audio actually did over the measured interval: the
//! engine's event counts and the operating point at the load. Nothing here is predicted: a
//! warning is raised only by a measured value.

use super::structural::load_words;
use super::text::{amps, db, signed_db, volts, watts};
use super::{figure, Severity, Warning};
use crate::model::acoustics;
use crate::model::units::{db_to_gain, full_scale_peak_volts, vrms_to_dbu};
use crate::model::{OperatingPoint, Settings};
use std::f64::consts::SQRT_2;

/// SPL above which long listening harms hearing, dB SPL: the 8-hour limit of NIOSH's
/// recommended exposure (85 dBA) and the EU's upper action value (Directive 2003/10/EC).
pub const SPL_CAUTION_DB: f64 = 85.0;

/// SPL above which minutes of listening harm hearing, dB SPL: with NIOSH's 3 dB exchange rate
/// the 8 hours allowed at 85 dBA shrink to 15 minutes a day at 100 dBA.
pub const SPL_DANGER_DB: f64 = 100.0;

/// The stage counts as current limiting when its measured peak current reaches this share of
/// `i_max`, even where no sample asked for more than `i_max`. A real stage's protection (a sense
/// resistor driving a clamp transistor) starts conducting well before the limit, so the limit is
/// a bend rather than a wall; and behind a voice coil's inductance the current never jumps past
/// the limit in one step, it is held in the bend, at 85–92 % of `i_max` in the engine. A peak at
/// 80 % of the limit means the protection is shaping the waveform.
pub const CURRENT_LIMIT_NEAR: f64 = 0.8;

/// Every dynamic warning for the operating point `op` measured with settings `s`, in the order of
/// [`super::DYNAMIC_IDS`]. Event warnings (rails, current limit, receiver, ceiling) are raised by
/// any event in the interval: each counted sample is one the listener hears distorted or turned
/// down, and the hold keeps even a single one readable.
pub fn dynamic(s: &Settings, op: &OperatingPoint) -> Vec<Warning> {
    let mut out = Vec::new();
    if op.rail_clips > 0 {
        out.push(rail_clip(s, op));
    }
    if op.current_limits > 0 || op.i_peak >= CURRENT_LIMIT_NEAR * s.i_max * 1e-3 {
        out.push(current_limit(s, op));
    }
    if op.receiver_overloads > 0 && s.load.is_receiver() {
        out.push(receiver_overload(s, op));
    }
    if s.load.is_transducer() && op.power_1s_max > s.p_max {
        out.push(overpower(s, op));
    }
    if let Some(w) = op
        .spl
        .and_then(|_| acoustics::spl(s, ac_rms(op)))
        .and_then(spl)
    {
        out.push(w);
    }
    if op.ceiling_events > 0 {
        out.push(ceiling(s, op));
    }
    out
}

/// `rail_clip`: the stage was asked for more than its rails, with where the input crosses them
/// at this volume: 20·log10(v_clip / (V_FS·10^(gain/20))) dBFS.
fn rail_clip(s: &Settings, op: &OperatingPoint) -> Warning {
    let drive = full_scale_peak_volts(s.ref_level) * db_to_gain(s.gain);
    let clip_dbfs = 20.0 * (s.v_clip / drive).log10();
    Warning {
        id: "rail_clip",
        severity: Severity::Caution,
        message: format!(
            "The output stage hits its {} rails: the input peaks at {} dBFS, and at this volume the rails clip above {} dBFS.",
            volts(s.v_clip),
            signed_db(op.input_peak_dbfs),
            signed_db(clip_dbfs)
        ),
        figures: vec![
            figure("v_clip", s.v_clip, "V"),
            figure("input_peak_dbfs", op.input_peak_dbfs, "dBFS"),
            figure("clip_dbfs", clip_dbfs, "dBFS"),
            figure("clipped_samples", op.rail_clips as f64, "samples"),
        ],
    }
}

/// `current_limit`: the load asked for more current than the stage can give; the voltage
/// collapses, the sound distorts hard and the stage dissipates at its limit (DESIGN §1).
fn current_limit(s: &Settings, op: &OperatingPoint) -> Warning {
    Warning {
        id: "current_limit",
        severity: Severity::Danger,
        message: format!(
            "The output stage is at its {} current limit ({} peak measured): {} asks for more than it can give, so the sound collapses into distortion and the stage runs hot.",
            amps(s.i_max * 1e-3),
            amps(op.i_peak),
            load_words(s.load).the
        ),
        figures: vec![
            figure("i_max", s.i_max, "mA"),
            figure("i_peak", op.i_peak, "A"),
            figure("limited_samples", op.current_limits as f64, "samples"),
        ],
    }
}

/// `receiver_overload`: the signal at a line input or an active speaker's input went past the
/// largest it takes (`in_max`).
fn receiver_overload(s: &Settings, op: &OperatingPoint) -> Warning {
    let level_dbu = vrms_to_dbu(op.v_peak / SQRT_2);
    Warning {
        id: "receiver_overload",
        severity: Severity::Caution,
        message: format!(
            "{} is overdriven: the signal at its terminals peaks at {} dBu ({} peak), above its {} dBu maximum.",
            capitalise(load_words(s.load).the),
            signed_db(level_dbu),
            volts(op.v_peak),
            signed_db(s.in_max)
        ),
        figures: vec![
            figure("level_dbu", level_dbu, "dBu"),
            figure("v_peak", op.v_peak, "V"),
            figure("in_max", s.in_max, "dBu"),
            figure("overload_samples", op.receiver_overloads as f64, "samples"),
        ],
    }
}

/// `overpower`: the mean power over about a second (the engine's one-second average) went above
/// the transducer's rating. A rating is a continuous thermal limit; a voice coil heats over
/// seconds, so single peaks above it are not what burns it, a second of mean power is.
fn overpower(s: &Settings, op: &OperatingPoint) -> Warning {
    let w = load_words(s.load);
    Warning {
        id: "overpower",
        severity: Severity::Danger,
        message: format!(
            "The power into {}, averaged over a second, reaches {}, above {} {} rating: the voice coil overheats.",
            w.the,
            watts(op.power_1s_max),
            w.possessive,
            watts(s.p_max)
        ),
        figures: vec![figure("power_1s", op.power_1s_max, "W"), figure("p_max", s.p_max, "W")],
    }
}

/// RMS of the sound-making part of the terminal voltage, V: √(V_rms² − V_dc²). DC moves the
/// cone but makes no sound, so a DC offset must not read as loudness.
fn ac_rms(op: &OperatingPoint) -> f64 {
    (op.v_rms * op.v_rms - op.v_dc * op.v_dc).max(0.0).sqrt()
}

/// `spl_danger` above [`SPL_DANGER_DB`], otherwise `spl_high` above [`SPL_CAUTION_DB`]: only the
/// more severe of the two.
fn spl(spl: f64) -> Option<Warning> {
    let (id, severity, threshold, consequence) = if spl > SPL_DANGER_DB {
        (
            "spl_danger",
            Severity::Danger,
            SPL_DANGER_DB,
            "more than 15 minutes a day at this level damages hearing",
        )
    } else if spl > SPL_CAUTION_DB {
        (
            "spl_high",
            Severity::Caution,
            SPL_CAUTION_DB,
            "hours a day at this level damage hearing",
        )
    } else {
        return None;
    };
    Some(Warning {
        id,
        severity,
        message: format!(
            "The sound reaches {} dB SPL at the listener, above {} dB SPL: {consequence}.",
            db(spl),
            threshold
        ),
        figures: vec![
            figure("spl", spl, "dB SPL"),
            figure("threshold", threshold, "dB SPL"),
        ],
    })
}

/// `ceiling`: the safety ceiling turned the plugin's output down, so what is heard is quieter
/// than what the real device would do.
fn ceiling(s: &Settings, op: &OperatingPoint) -> Warning {
    let reduction = -op.ceiling_db.min(0.0);
    Warning {
        id: "ceiling",
        severity: Severity::Info,
        message: format!(
            "The safety ceiling at {} dBFS is taking up to {} dB off what you hear: the real device would be louder.",
            signed_db(s.ceiling),
            db(reduction)
        ),
        figures: vec![
            figure("ceiling", s.ceiling, "dBFS"),
            figure("reduction_db", reduction, "dB"),
            figure("ceiling_samples", op.ceiling_events as f64, "samples"),
        ],
    }
}

/// "the line input" → "The line input".
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
