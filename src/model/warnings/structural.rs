//! Warnings that follow from the settings alone: the connection itself, the output impedance
//! against the load's impedance curve, the amplifier's power, hum and DC offset.
//!
//! The figures are the model's own predictions (the network of DESIGN §2 at small signal, the
//! stage's rails and current limit), never a rule of thumb about the device types.

use super::text::{amps, db, hz, ohms, sig3, signed_db, volts, watts};
use super::{figure, Severity, Warning};
use crate::model::acoustics::spl;
use crate::model::load::log_grid;
use crate::model::network::{coupling_corner_hz, Network};
use crate::model::units::{db_to_gain, dbu_to_vrms, full_scale_peak_volts, vrms_to_dbu};
use crate::model::{LoadKind, OutputKind, Settings};
use std::f64::consts::SQRT_2;

/// The band the response is judged over, Hz: the audible range.
pub const AUDIO_BAND_HZ: (f64, f64) = (20.0, 20_000.0);

/// Where the level of a connection is read, Hz: the usual reference of datasheets and meters.
pub const REFERENCE_HZ: f64 = 1_000.0;

/// The "1/8 rule": a source of Zmin/8 into a load that swings from Zmin to an open circuit moves
/// the level by at most 20·log10(9/8) = 1.0 dB, about the smallest broad tilt a listener
/// notices. Above it the load's impedance curve becomes audible as a response change.
pub const ZOUT_RATIO_LIMIT: f64 = 1.0 / 8.0;

/// An amplifier should be able to give about twice the speaker's continuous rating (DESIGN §1,
/// and the usual advice of speaker makers): 3 dB of headroom above the rating lets music's peaks
/// through clean while the mean power stays within what the coil takes; without it the amplifier
/// clips first, and clipped output carries more high-frequency power than the music would.
pub const AMP_HEADROOM_RATIO: f64 = 2.0;

/// DC into a transducer offsets its cone or diaphragm: below resonance the suspension's
/// stiffness sets the displacement for DC and for a signal alike, so a DC current displaces it
/// by the same share of its travel as that current is of a signal's peak current. The signal
/// taken as reference is a sine at the power the transducer's sensitivity is stated for, a loud
/// listening level ([`SPEAKER_REFERENCE_POWER_W`], [`HEADPHONE_REFERENCE_POWER_W`]). DC is a
/// danger when its current is above this share of that sine's peak current: the cone sits a fifth
/// of its loud-listening travel off centre all the time, pressing on one side of its suspension
/// and adding even-order distortion. For a speaker of Re 6–8 Ω that is 0.7–0.8 V, just under the
/// ≈1 V at which amplifiers' DC protection disconnects the speaker as a fault; for a 32 Ω
/// headphone 51 mV, the usual limit a headphone amplifier is held to.
pub const DC_CURRENT_FRACTION: f64 = 0.2;

/// A passive speaker's sensitivity is stated for 1 W (≈85–95 dB SPL at 1 m).
pub const SPEAKER_REFERENCE_POWER_W: f64 = 1.0;

/// A headphone's sensitivity is stated for 1 mW (≈95–110 dB SPL at the ear).
pub const HEADPHONE_REFERENCE_POWER_W: f64 = 1e-3;

/// DC heats the coil with nothing to show for it; above this share of the transducer's rating the
/// heat takes a tenth of the thermal budget the music is rated to use, the other way DC harms it
/// (it decides only for transducers rated at a few times their reference power or less).
pub const DC_HEAT_FRACTION: f64 = 0.1;

pub use crate::model::settings::OFF_DBU as HUM_OFF_DBU;

pub use crate::model::settings::BALANCED_HUM_REJECTION_DB;

/// Hum is audible at the listener above this SPL (total of the mains fundamental and its 2nd
/// and 3rd harmonics at 1 : 0.5 : 0.3, the engine's hum). Its third harmonic (150 Hz on 50 Hz
/// mains) is 11.7 dB below the total and crosses the threshold of hearing, ≈19 dB SPL at
/// 150 Hz (ISO 226:2003), when the total reaches ≈31 dB SPL; on 60 Hz mains the 2nd and 3rd
/// harmonics cross at 28–30 dB SPL. So: audible in a quiet room above 30 dB SPL.
pub const HUM_AUDIBLE_SPL_DB: f64 = 30.0;

/// Monitoring level assumed for a line input, which has no transducer of its own: the chain
/// behind it is taken as calibrated the usual way (SMPTE RP 200, K-20: pink noise at −20 dBFS
/// RMS plays at 83 dB SPL), so that a full-scale sine at the load plays at 103 dB SPL. Hum at a
/// line input is judged as the SPL it would reach there: audible when it is less than
/// 103 − 30 = 73 dB below the full-scale level.
pub const FULL_SCALE_SPL_DB: f64 = 103.0;

/// Points of the log grid the response is scanned on before the extremes are refined.
const RESPONSE_GRID_POINTS: usize = 2_000;

/// Every structural warning for the settings `s`, in the order of [`super::STRUCTURAL_IDS`].
pub fn structural(s: &Settings) -> Vec<Warning> {
    let net = Network::from_settings(s);
    let mut out = Vec::new();
    if let Some(w) = zout_ratio(s, &net) {
        out.push(w);
    }
    if let Some(w) = connection(s, &net) {
        out.push(w);
    }
    if let Some(w) = amp_underpowered(s) {
        out.push(w);
    }
    if let Some(w) = unbalanced_hum(s) {
        out.push(w);
    }
    if let Some(w) = dc_into_transducer(s) {
        out.push(w);
    }
    out
}

/// How the load is named in a sentence.
pub(super) struct LoadWords {
    /// "the headphones", "the speaker", "the line input", "the active speaker's input"
    pub the: &'static str,
    /// "headphones", "a passive speaker", "a line input", "an active speaker's input"
    pub a: &'static str,
    /// "the headphones'", "the speaker's"
    pub possessive: &'static str,
    /// What DC pushes off centre.
    pub moving_part: &'static str,
}

pub(super) fn load_words(k: LoadKind) -> LoadWords {
    match k {
        LoadKind::Headphones => LoadWords {
            the: "the headphones",
            a: "headphones",
            possessive: "the headphones'",
            moving_part: "diaphragm",
        },
        LoadKind::PassiveSpeaker => LoadWords {
            the: "the speaker",
            a: "a passive speaker",
            possessive: "the speaker's",
            moving_part: "cone",
        },
        LoadKind::LineInput => LoadWords {
            the: "the line input",
            a: "a line input",
            possessive: "the line input's",
            moving_part: "",
        },
        LoadKind::ActiveSpeaker => LoadWords {
            the: "the active speaker's input",
            a: "an active speaker's input",
            possessive: "the active speaker's",
            moving_part: "",
        },
    }
}

/// Resistance between the stage's internal voltage and the load, Ω: R_out + 2 conductors of cable.
fn source_resistance(s: &Settings) -> f64 {
    s.z_out + cable_resistance(s)
}

/// Loop resistance of the cable, Ω: two conductors of `cable_len · cable_r`.
fn cable_resistance(s: &Settings) -> f64 {
    2.0 * s.cable_len * s.cable_r
}

/// The shape of the predicted response H(f) = v_load / v_int over a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseShape {
    /// 20·log10|H| at [`REFERENCE_HZ`], dB: the level the connection keeps.
    pub reference_db: f64,
    /// Largest minus smallest 20·log10|H| over the band, dB.
    pub variation_db: f64,
    /// Where the response departs most from its level at the reference frequency, Hz.
    pub at_hz: f64,
    /// How far it departs there, dB (positive: louder than at 1 kHz).
    pub deviation_db: f64,
}

/// The shape of `net`'s response from `lo` to `hi` Hz: a log grid, then each extreme refined by
/// golden-section search between its grid neighbours.
pub fn response_shape(net: &Network, lo: f64, hi: f64) -> ResponseShape {
    let h_db = |f: f64| 20.0 * net.response(f).norm().log10();
    let reference_db = h_db(REFERENCE_HZ);
    let grid: Vec<f64> = log_grid(lo, hi, RESPONSE_GRID_POINTS).collect();
    let values: Vec<f64> = grid.iter().map(|&f| h_db(f)).collect();
    let argmax = |key: &dyn Fn(f64) -> f64| {
        (0..grid.len())
            .max_by(|&a, &b| key(values[a]).total_cmp(&key(values[b])))
            .unwrap_or(0)
    };
    let k_max = argmax(&|v| v);
    let k_min = argmax(&|v| -v);
    let k_dev = argmax(&|v| (v - reference_db).abs());
    let (max_db, _) = refine_max(&h_db, &grid, k_max);
    let (neg_min_db, _) = refine_max(&|f| -h_db(f), &grid, k_min);
    let (_, at_hz) = refine_max(&|f| (h_db(f) - reference_db).abs(), &grid, k_dev);
    ResponseShape {
        reference_db,
        variation_db: max_db + neg_min_db,
        at_hz,
        deviation_db: h_db(at_hz) - reference_db,
    }
}

/// Smallest |Z_L| of the load over the band, Ω, with where it occurs, Hz.
fn min_load_impedance(net: &Network, lo: f64, hi: f64) -> (f64, f64) {
    let z = |f: f64| net.load.impedance(f).norm();
    let grid: Vec<f64> = log_grid(lo, hi, RESPONSE_GRID_POINTS).collect();
    let k = (0..grid.len())
        .min_by(|&a, &b| z(grid[a]).total_cmp(&z(grid[b])))
        .unwrap_or(0);
    let (neg, f) = refine_max(&|f| -z(f), &grid, k);
    (-neg, f)
}

/// Maximum of `g` near grid point `k`: golden-section search on log frequency between the
/// neighbours of `k`, never worse than the grid point itself. Returns (max, where).
fn refine_max(g: &dyn Fn(f64) -> f64, grid: &[f64], k: usize) -> (f64, f64) {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let (mut a, mut b) = (
        grid[k.saturating_sub(1)].ln(),
        grid[(k + 1).min(grid.len() - 1)].ln(),
    );
    let gl = |x: f64| g(x.exp());
    let mut c = b - INV_PHI * (b - a);
    let mut d = a + INV_PHI * (b - a);
    let (mut gc, mut gd) = (gl(c), gl(d));
    for _ in 0..60 {
        if gc >= gd {
            b = d;
            d = c;
            gd = gc;
            c = b - INV_PHI * (b - a);
            gc = gl(c);
        } else {
            a = c;
            c = d;
            gc = gd;
            d = a + INV_PHI * (b - a);
            gd = gl(d);
        }
    }
    let x = 0.5 * (a + b);
    let (best, at) = (gl(x), x.exp());
    let on_grid = g(grid[k]);
    if on_grid > best {
        (on_grid, grid[k])
    } else {
        (best, at)
    }
}

/// `zout_ratio`: the source impedance is more than 1/8 of the transducer's minimum impedance,
/// so its impedance curve shows in the response. Only for the intended drives (headphone out →
/// headphones, speaker out → passive speaker): the mismatched connections have their own
/// warning, which already says the response is wrong.
fn zout_ratio(s: &Settings, net: &Network) -> Option<Warning> {
    let intended = matches!(
        (s.output, s.load),
        (OutputKind::Headphone, LoadKind::Headphones)
            | (OutputKind::Speaker, LoadKind::PassiveSpeaker)
    );
    if !intended {
        return None;
    }
    let (lo, hi) = AUDIO_BAND_HZ;
    let (z_min, z_min_hz) = min_load_impedance(net, lo, hi);
    let z_source = source_resistance(s);
    if z_source <= z_min * ZOUT_RATIO_LIMIT {
        return None;
    }
    let shape = response_shape(net, lo, hi);
    let r_cable = cable_resistance(s);
    let source = if r_cable >= 0.1 * s.z_out {
        format!(
            "Output impedance {} plus {} of cable",
            ohms(s.z_out),
            ohms(r_cable)
        )
    } else {
        format!("Output impedance {}", ohms(s.z_out))
    };
    Some(Warning {
        id: "zout_ratio",
        severity: Severity::Caution,
        message: format!(
            "{source} is more than 1/8 of the {} minimum of {}: the response varies by {} dB, most at {}.",
            ohms(z_min),
            load_words(s.load).the,
            db(shape.variation_db),
            hz(shape.at_hz)
        ),
        figures: vec![
            figure("z_out", s.z_out, "Ω"),
            figure("r_cable", r_cable, "Ω"),
            figure("z_min", z_min, "Ω"),
            figure("z_min_hz", z_min_hz, "Hz"),
            figure("variation_db", shape.variation_db, "dB"),
            figure("at_hz", shape.at_hz, "Hz"),
            figure("deviation_db", shape.deviation_db, "dB"),
        ],
    })
}

/// The largest sine power the stage can put into a resistance `r`, W: the load's peak voltage
/// is limited by the rails through the divider and by the current limit,
/// P = min(v_clip·r/(r + R_s), i_max·r)² / (2r), with R_s the output and cable resistance.
pub fn available_power(s: &Settings, r: f64) -> f64 {
    let v = (s.v_clip * r / (r + source_resistance(s))).min(s.i_max * 1e-3 * r);
    v * v / (2.0 * r)
}

/// What a full-scale sine at [`REFERENCE_HZ`] does at the load with the current volume, from the
/// small-signal network, the rails and the current limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FullScale {
    /// Peak voltage at the load's terminals, V.
    pub v_peak: f64,
    /// Its level as the dBu of a sine with that peak.
    pub dbu: f64,
    /// Real power into the load, W.
    pub power: f64,
    /// SPL at the listener, dB SPL; None for a line input.
    pub spl: Option<f64>,
}

/// A full-scale sine through the DAC and the gain, held at the rails, through the network at
/// 1 kHz with the current held at the limit: I = min(V_stage / |Z_series + Z_t|, i_max),
/// v_load = I·|Z_t|, P = ½·|v_load / Z_L|²·Re(Z_L).
pub fn full_scale_at_load(s: &Settings) -> FullScale {
    let net = Network::from_settings(s);
    let f = REFERENCE_HZ;
    let v_stage = (full_scale_peak_volts(s.ref_level) * db_to_gain(s.gain)).min(s.v_clip);
    let z_t = net.terminal_impedance(f);
    let i = (v_stage / (net.series_impedance(f) + z_t).norm()).min(s.i_max * 1e-3);
    let v_peak = i * z_t.norm();
    let z_l = net.load.impedance(f);
    let i_load = v_peak / z_l.norm();
    FullScale {
        v_peak,
        dbu: vrms_to_dbu(v_peak / SQRT_2),
        power: 0.5 * i_load * i_load * z_l.re,
        spl: spl(s, v_peak / SQRT_2),
    }
}

/// The warning for a connection of the wrong kinds (DESIGN §1), if this is one.
fn connection(s: &Settings, net: &Network) -> Option<Warning> {
    let (lo, hi) = AUDIO_BAND_HZ;
    let words = load_words(s.load);
    let (id, severity, message, figures) = match (s.output, s.load) {
        (OutputKind::Line, LoadKind::PassiveSpeaker) => {
            let (z_min, _) = min_load_impedance(net, lo, hi);
            let p = available_power(s, s.z_load);
            (
                "speaker_on_line_out",
                Severity::Danger,
                format!(
                    "A passive speaker on a line output is nearly a short circuit: its {} against the stage's {} and {} current limit allows at most {}, and the stage strains at its limit.",
                    ohms(z_min),
                    ohms(s.z_out),
                    amps(s.i_max * 1e-3),
                    watts(p)
                ),
                vec![
                    figure("z_out", s.z_out, "Ω"),
                    figure("z_min", z_min, "Ω"),
                    figure("i_max", s.i_max, "mA"),
                    figure("available_power", p, "W"),
                ],
            )
        }
        (OutputKind::Line, LoadKind::Headphones) => {
            let shape = response_shape(net, lo, hi);
            let (z_min, _) = min_load_impedance(net, lo, hi);
            let mut figures = vec![
                figure("z_out", s.z_out, "Ω"),
                figure("z_min", z_min, "Ω"),
                figure("level_db", shape.reference_db, "dB"),
                figure("variation_db", shape.variation_db, "dB"),
            ];
            let (joint, bass) = if s.c_out > 0.0 {
                let corner = coupling_corner_hz(source_resistance(s), s.z_load, s.c_out * 1e-6);
                figures.push(figure("corner_hz", corner, "Hz"));
                (
                    ",",
                    format!(
                        ", and its {} µF coupling capacitor cuts the bass below {}",
                        sig3(s.c_out),
                        hz(corner)
                    ),
                )
            } else {
                (" and", String::new())
            };
            (
                "headphones_on_line_out",
                Severity::Caution,
                format!(
                    "A line output of {} into {} headphones loses {} dB at 1 kHz{joint} its response varies by {} dB with their impedance{bass}.",
                    ohms(s.z_out),
                    ohms(z_min),
                    db(-shape.reference_db),
                    db(shape.variation_db)
                ),
                figures,
            )
        }
        (OutputKind::Headphone, LoadKind::PassiveSpeaker) => {
            let (z_min, _) = min_load_impedance(net, lo, hi);
            let p = available_power(s, s.z_load);
            (
                "speaker_on_headphone_out",
                Severity::Danger,
                format!(
                    "A headphone output cannot drive a passive speaker: into the speaker's {} the stage's {} rails and {} current limit give at most {} against its {} rating, weak and distorted, and the amplifier can be damaged.",
                    ohms(z_min),
                    volts(s.v_clip),
                    amps(s.i_max * 1e-3),
                    watts(p),
                    watts(s.p_max)
                ),
                vec![
                    figure("z_min", z_min, "Ω"),
                    figure("v_clip", s.v_clip, "V"),
                    figure("i_max", s.i_max, "mA"),
                    figure("available_power", p, "W"),
                    figure("p_max", s.p_max, "W"),
                ],
            )
        }
        (OutputKind::Speaker, LoadKind::Headphones) => {
            let fs = full_scale_at_load(s);
            let spl_db = fs.spl.unwrap_or(f64::NAN);
            (
                "headphones_on_speaker_out",
                Severity::Danger,
                format!(
                    "A speaker output into headphones: a full-scale signal would put {} into them, against their {} rating, and play {} dB SPL, enough to destroy them and damage hearing.",
                    watts(fs.power),
                    watts(s.p_max),
                    db(spl_db)
                ),
                vec![
                    figure("power", fs.power, "W"),
                    figure("p_max", s.p_max, "W"),
                    figure("spl", spl_db, "dB SPL"),
                    figure("v_peak", fs.v_peak, "V"),
                ],
            )
        }
        (OutputKind::Speaker, LoadKind::LineInput | LoadKind::ActiveSpeaker) => {
            let fs = full_scale_at_load(s);
            (
                "speaker_level_into_input",
                Severity::Danger,
                format!(
                    "A speaker output into {}: a full-scale signal reaches {} dBu ({} peak) against the input's {} dBu maximum, and speaker level overloads an input made for line level and can damage it.",
                    words.a,
                    signed_db(fs.dbu),
                    volts(fs.v_peak),
                    signed_db(s.in_max)
                ),
                vec![
                    figure("level_dbu", fs.dbu, "dBu"),
                    figure("v_peak", fs.v_peak, "V"),
                    figure("in_max", s.in_max, "dBu"),
                ],
            )
        }
        (OutputKind::Headphone, LoadKind::LineInput | LoadKind::ActiveSpeaker) => {
            let fs = full_scale_at_load(s);
            (
                "headphone_out_as_line_out",
                Severity::Info,
                format!(
                    "A headphone output works as a line out if its volume is kept low: at this setting a full-scale signal reaches {} dBu against {} maximum of {} dBu, with the amplifier's noise and colour added.",
                    signed_db(fs.dbu),
                    words.possessive,
                    signed_db(s.in_max)
                ),
                vec![figure("level_dbu", fs.dbu, "dBu"), figure("in_max", s.in_max, "dBu")],
            )
        }
        _ => return None,
    };
    Some(Warning {
        id,
        severity,
        message,
        figures,
    })
}

/// `amp_underpowered`: a speaker output that cannot give [`AMP_HEADROOM_RATIO`] times the
/// speaker's rating into the speaker's resistance (Re, the lowest it presents over most of the
/// band).
fn amp_underpowered(s: &Settings) -> Option<Warning> {
    if !(s.output == OutputKind::Speaker && s.load == LoadKind::PassiveSpeaker) {
        return None;
    }
    let p = available_power(s, s.z_load);
    if p >= AMP_HEADROOM_RATIO * s.p_max {
        return None;
    }
    Some(Warning {
        id: "amp_underpowered",
        severity: Severity::Caution,
        message: format!(
            "The amplifier can give at most {} into this speaker's {}, less than twice its {} rating: it runs out of headroom and clips before the speaker is fully driven.",
            watts(p),
            ohms(s.z_load),
            watts(s.p_max)
        ),
        figures: vec![
            figure("available_power", p, "W"),
            figure("p_max", s.p_max, "W"),
            figure("z_load", s.z_load, "Ω"),
        ],
    })
}

/// How loud the hum at the load is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HumLoudness {
    /// Hum at the load's terminals after any balanced rejection, dBu.
    pub at_load_dbu: f64,
    /// How far below the level of a full-scale sine at the load it is, dB.
    pub below_full_scale_db: f64,
    /// The SPL it plays at: the load's own for a transducer or an active speaker; for a line
    /// input the SPL it would reach behind a monitor chain calibrated to [`FULL_SCALE_SPL_DB`].
    pub spl: f64,
}

/// The hum's loudness, or None when it is off.
pub fn hum_loudness(s: &Settings) -> Option<HumLoudness> {
    if s.hum <= HUM_OFF_DBU {
        return None;
    }
    let at_load_dbu = s.hum
        - if s.balanced {
            BALANCED_HUM_REJECTION_DB
        } else {
            0.0
        };
    let below_full_scale_db = full_scale_at_load(s).dbu - at_load_dbu;
    let spl = spl(s, dbu_to_vrms(at_load_dbu)).unwrap_or(FULL_SCALE_SPL_DB - below_full_scale_db);
    Some(HumLoudness {
        at_load_dbu,
        below_full_scale_db,
        spl,
    })
}

/// `unbalanced_hum`: hum on an unbalanced cable loud enough to hear ([`HUM_AUDIBLE_SPL_DB`]).
/// A balanced connection takes 60 dB off it; at the top of the `hum` range that leaves −80 dBu,
/// and the warning is about the unbalanced cable, so balanced connections never raise it.
fn unbalanced_hum(s: &Settings) -> Option<Warning> {
    if s.balanced {
        return None;
    }
    let h = hum_loudness(s)?;
    if h.spl <= HUM_AUDIBLE_SPL_DB {
        return None;
    }
    let advice = "audible in quiet passages; a balanced connection would take about 60 dB off it";
    let message = if s.load == LoadKind::LineInput {
        format!(
            "Hum of {} dBu on the unbalanced cable is only {} dB below the full-scale level at the line input, {advice}.",
            signed_db(h.at_load_dbu),
            db(h.below_full_scale_db)
        )
    } else {
        format!(
            "Hum of {} dBu on the unbalanced cable plays at {} dB SPL at the listener, {advice}.",
            signed_db(h.at_load_dbu),
            db(h.spl)
        )
    };
    Some(Warning {
        id: "unbalanced_hum",
        severity: Severity::Caution,
        message,
        figures: vec![
            figure("hum_dbu", h.at_load_dbu, "dBu"),
            figure("hum_spl", h.spl, "dB SPL"),
            figure("below_full_scale_db", h.below_full_scale_db, "dB"),
            figure("audible_spl", HUM_AUDIBLE_SPL_DB, "dB SPL"),
        ],
    })
}

/// DC voltage at the load's terminals, V: the offset (held at the rails) through the DC divider
/// z_load / (R_out + R_cable + z_load), with the current held at the limit; zero behind a
/// coupling capacitor. At DC the coil's inductance and the resonance's inductor are shorts, so
/// a transducer is its Re; a receiver is its input resistance.
pub fn dc_at_terminals(s: &Settings) -> f64 {
    if s.c_out > 0.0 {
        return 0.0;
    }
    let v = (s.dc_offset * 1e-3).clamp(-s.v_clip, s.v_clip);
    let i_max = s.i_max * 1e-3;
    let i = (v / (source_resistance(s) + s.z_load)).clamp(-i_max, i_max);
    i * s.z_load
}

/// The largest DC a transducer takes safely, V: the lower of the displacement limit,
/// [`DC_CURRENT_FRACTION`] of the peak current of a sine at the reference power,
/// 0.2·√(2·P_ref/Re)·Re, and the heat limit √([`DC_HEAT_FRACTION`]·p_max·Re). None for
/// receivers, which block or ignore DC.
pub fn dc_limit(s: &Settings) -> Option<f64> {
    let p_ref = match s.load {
        LoadKind::Headphones => HEADPHONE_REFERENCE_POWER_W,
        LoadKind::PassiveSpeaker => SPEAKER_REFERENCE_POWER_W,
        LoadKind::LineInput | LoadKind::ActiveSpeaker => return None,
    };
    let by_displacement = DC_CURRENT_FRACTION * (2.0 * p_ref / s.z_load).sqrt() * s.z_load;
    let by_heat = (DC_HEAT_FRACTION * s.p_max * s.z_load).sqrt();
    Some(by_displacement.min(by_heat))
}

/// `dc_into_transducer`: DC at a transducer's terminals above [`dc_limit`].
///
/// Judged from the settings, where the DC is exact: the measured mean voltage over a short
/// interval also holds part of a period of any bass in the signal, and would raise it falsely.
fn dc_into_transducer(s: &Settings) -> Option<Warning> {
    let limit = dc_limit(s)?;
    let v = dc_at_terminals(s);
    if v.abs() <= limit {
        return None;
    }
    let i = v / s.z_load;
    let words = load_words(s.load);
    Some(Warning {
        id: "dc_into_transducer",
        severity: Severity::Danger,
        message: format!(
            "{} of DC reaches {} terminals ({} through the coil): it pushes the {} off centre and heats the coil, where no more than {} is safe.",
            volts(v.abs()),
            words.possessive,
            amps(i.abs()),
            words.moving_part,
            volts(limit)
        ),
        figures: vec![figure("v_dc", v, "V"), figure("i_dc", i, "A"), figure("v_dc_limit", limit, "V")],
    })
}
