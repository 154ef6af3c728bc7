//! The meters: input level, terminal voltage against the rail, current against the limit, power
//! against the load's rating, SPL at the listener against the 85 and 100 dB marks, and lamps for
//! the events that change the sound (rail clip, current limit, receiver overload, ceiling).
//!
//! Bars follow the latest meter interval at display rate, rise at once and fall at
//! [`FALL_DB_PER_S`]; a peak mark holds the highest value for [`PEAK_HOLD_S`].

use super::theme;
use crate::model::warnings::{SPL_CAUTION_DB, SPL_DANGER_DB};
use crate::model::{LoadKind, OperatingPoint, Settings};
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Ui, Vec2};

/// How fast a bar falls after the level drops, dB/s: a PPM-like return, readable yet lively.
pub const FALL_DB_PER_S: f32 = 24.0;
/// How long the peak mark holds, s.
pub const PEAK_HOLD_S: f64 = 2.0;
/// How long a lamp stays lit after its event, s: long enough to see a single clip.
pub const LAMP_HOLD_S: f64 = 1.0;

/// Value below which a bar is empty, dB: far under anything audible on any scale here.
const SILENT_DB: f32 = -200.0;

/// One bar's displayed level and its held peak, in the bar's own dB.
#[derive(Debug, Clone, Copy)]
pub struct Ballistics {
    pub shown: f32,
    pub peak: f32,
    peak_at: f64,
}

impl Default for Ballistics {
    fn default() -> Self {
        Ballistics {
            shown: SILENT_DB,
            peak: SILENT_DB,
            peak_at: f64::NEG_INFINITY,
        }
    }
}

impl Ballistics {
    /// Moves the bar towards `db` at time `now` (s), `dt` s after the previous frame.
    pub fn follow(&mut self, db: f32, now: f64, dt: f32) {
        let db = if db.is_finite() { db } else { SILENT_DB };
        self.shown = if db >= self.shown {
            db
        } else {
            (self.shown - FALL_DB_PER_S * dt).max(db)
        };
        if db >= self.peak || now - self.peak_at > PEAK_HOLD_S {
            if db >= self.peak {
                self.peak = db;
                self.peak_at = now;
            } else {
                self.peak = (self.peak - FALL_DB_PER_S * dt).max(self.shown);
            }
        }
    }
}

/// A lamp lit for [`LAMP_HOLD_S`] after its event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lamp {
    lit_at: Option<f64>,
    /// The figure to show beside it (ceiling reduction, samples).
    pub figure: f64,
}

impl Lamp {
    pub fn trigger(&mut self, now: f64, figure: f64) {
        self.lit_at = Some(now);
        self.figure = figure;
    }

    pub fn is_lit(&self, now: f64) -> bool {
        self.lit_at.is_some_and(|t| now - t < LAMP_HOLD_S)
    }
}

/// Everything the meter panel remembers between frames.
#[derive(Debug, Clone, Default)]
pub struct MeterState {
    pub input: Ballistics,
    pub v_rms: Ballistics,
    pub v_peak: Ballistics,
    pub current: Ballistics,
    pub power: Ballistics,
    pub spl: Ballistics,
    pub rail: Lamp,
    pub limit: Lamp,
    pub overload: Lamp,
    pub ceiling: Lamp,
    /// The latest operating point, for the numbers.
    pub latest: OperatingPoint,
    /// Largest one-second power seen recently, W, for its mark.
    pub power_1s: Ballistics,
    /// Peak at a receiver's terminals against its largest input.
    pub receiver: Ballistics,
}

/// A receiver's largest input as a peak voltage: in_max dBu as a sine's peak.
fn receiver_peak_volts(s: &Settings) -> f64 {
    crate::model::units::dbu_to_vrms(s.in_max) * std::f64::consts::SQRT_2
}

/// Level of `x` relative to `reference` in dB (20·log10), or silent.
fn db_re(x: f64, reference: f64) -> f32 {
    if x > 0.0 && reference > 0.0 {
        (20.0 * (x / reference).log10()) as f32
    } else {
        SILENT_DB
    }
}

impl MeterState {
    /// Takes a new meter interval at time `now`.
    pub fn update(&mut self, op: &OperatingPoint, s: &Settings, now: f64, dt: f32) {
        self.latest = *op;
        self.input.follow(op.input_peak_dbfs as f32, now, dt);
        self.v_rms.follow(db_re(op.v_rms, s.v_clip), now, dt);
        self.v_peak.follow(db_re(op.v_peak, s.v_clip), now, dt);
        self.current
            .follow(db_re(op.i_peak, s.i_max * 1e-3), now, dt);
        self.power
            .follow(db_re(op.power.max(0.0), s.p_max) / 2.0, now, dt);
        self.power_1s
            .follow(db_re(op.power_1s_max.max(0.0), s.p_max) / 2.0, now, dt);
        self.spl
            .follow(op.spl.map_or(SILENT_DB, |v| v as f32), now, dt);
        self.receiver
            .follow(db_re(op.v_peak, receiver_peak_volts(s)), now, dt);
        if op.rail_clips > 0 {
            self.rail.trigger(now, op.rail_clips as f64);
        }
        if op.current_limits > 0 {
            self.limit.trigger(now, op.current_limits as f64);
        }
        if op.receiver_overloads > 0 {
            self.overload.trigger(now, op.receiver_overloads as f64);
        }
        if op.ceiling_events > 0 {
            self.ceiling.trigger(now, -op.ceiling_db);
        }
    }

    /// Lets the bars fall between intervals (a frame without a new reading).
    pub fn idle(&mut self, now: f64, dt: f32) {
        for b in [
            &mut self.input,
            &mut self.v_rms,
            &mut self.v_peak,
            &mut self.current,
            &mut self.power,
            &mut self.power_1s,
            &mut self.spl,
            &mut self.receiver,
        ] {
            let target = b.shown - FALL_DB_PER_S * dt;
            b.follow(target.max(SILENT_DB), now, 0.0);
        }
    }
}

/// A horizontal bar from `lo` to `hi` dB with marks, its value, its peak and a caption.
struct Bar<'a> {
    label: &'a str,
    value_text: String,
    lo: f32,
    hi: f32,
    ballistics: Ballistics,
    /// Marks drawn across the bar: (dB, colour, caption).
    marks: Vec<(f32, Color32, String)>,
    /// Where the bar turns amber and red.
    hot: f32,
    over: f32,
    /// A second, thin marker (the one-second power).
    extra: Option<f32>,
}

const LABEL_W: f32 = 86.0;
/// Height of a meter row with room for the marks' captions under the bar, and the least a row
/// may shrink to in a small window (the captions are left out then).
const ROW_H: f32 = 40.0;
const ROW_H_COMPACT: f32 = 28.0;

fn draw_bar(ui: &mut Ui, bar: Bar<'_>, row_h: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(ui.available_width(), row_h), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.text(
        Pos2::new(rect.left(), rect.top() + 2.0),
        Align2::LEFT_TOP,
        bar.label,
        FontId::proportional(12.5),
        theme::TEXT,
    );
    painter.text(
        Pos2::new(rect.right(), rect.top() + 2.0),
        Align2::RIGHT_TOP,
        &bar.value_text,
        FontId::monospace(12.0),
        theme::TEXT,
    );
    let track = Rect::from_min_max(
        Pos2::new(rect.left() + LABEL_W, rect.top() + 17.0),
        Pos2::new(rect.right() - 4.0, rect.top() + 26.0),
    );
    painter.rect_filled(track, 2.0, theme::METER_BACK);
    let x_of = |db: f32| {
        track.left() + track.width() * ((db - bar.lo) / (bar.hi - bar.lo)).clamp(0.0, 1.0)
    };
    let shown = bar.ballistics.shown;
    if shown > bar.lo {
        // Green up to `hot`, amber up to `over`, red beyond.
        let segments = [
            (bar.lo, bar.hot, theme::METER_FILL),
            (bar.hot, bar.over, theme::METER_HOT),
            (bar.over, bar.hi, theme::METER_OVER),
        ];
        for (a, b, colour) in segments {
            if shown > a {
                let r = Rect::from_min_max(
                    Pos2::new(x_of(a), track.top()),
                    Pos2::new(x_of(shown.min(b)), track.bottom()),
                );
                painter.rect_filled(r, 0.0, colour);
            }
        }
    }
    if bar.ballistics.peak > bar.lo {
        let x = x_of(bar.ballistics.peak);
        painter.line_segment(
            [
                Pos2::new(x, track.top() - 1.0),
                Pos2::new(x, track.bottom() + 1.0),
            ],
            Stroke::new(2.0, theme::TEXT),
        );
    }
    if let Some(e) = bar.extra.filter(|e| *e > bar.lo) {
        let x = x_of(e);
        painter.line_segment(
            [
                Pos2::new(x, track.center().y),
                Pos2::new(x, track.bottom() + 1.0),
            ],
            Stroke::new(2.0, theme::OUTPUT),
        );
    }
    for (db, colour, caption) in &bar.marks {
        let x = x_of(*db);
        painter.line_segment(
            [
                Pos2::new(x, track.top() - 1.0),
                Pos2::new(x, track.bottom() + 3.0),
            ],
            Stroke::new(1.5, *colour),
        );
        if row_h >= ROW_H {
            painter.text(
                Pos2::new(x, track.bottom() + 2.0),
                Align2::CENTER_TOP,
                caption,
                FontId::proportional(9.5),
                *colour,
            );
        }
    }
    painter.rect_stroke(
        track,
        2.0,
        Stroke::new(1.0, theme::PANEL_EDGE),
        StrokeKind::Outside,
    );
}

fn lamp(ui: &mut Ui, lit: bool, colour: Color32, label: &str) {
    let (rect, _) = ui.allocate_exact_size(
        Vec2::new(ui.available_width().clamp(110.0, 150.0), 20.0),
        Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    let c = Pos2::new(rect.left() + 8.0, rect.center().y);
    painter.circle_filled(c, 6.0, if lit { colour } else { theme::LAMP_OFF });
    if lit {
        painter.circle_stroke(c, 8.0, Stroke::new(1.5, colour.gamma_multiply(0.6)));
    }
    painter.text(
        Pos2::new(rect.left() + 20.0, rect.center().y),
        Align2::LEFT_CENTER,
        label,
        FontId::proportional(12.0),
        if lit { theme::TEXT } else { theme::TEXT_DIM },
    );
}

/// Draws the meter panel: six rows and the lamps, squeezed a little in a small window.
pub fn show(ui: &mut Ui, m: &MeterState, s: &Settings, now: f64) {
    let row_h = ((ui.available_height() - 58.0) / 6.0).clamp(ROW_H_COMPACT, ROW_H);
    egui::ScrollArea::vertical()
        .id_salt("meters")
        .auto_shrink([false, false])
        .show(ui, |ui| rows(ui, m, s, now, row_h));
}

fn rows(ui: &mut Ui, m: &MeterState, s: &Settings, now: f64, row_h: f32) {
    let op = &m.latest;
    let limit_colour = theme::METER_OVER;
    draw_bar(
        ui,
        Bar {
            label: "Input",
            value_text: format!(
                "{} dBFS pk",
                theme::signed_db(op.input_peak_dbfs.max(-120.0))
            ),
            lo: -60.0,
            hi: 6.0,
            ballistics: m.input,
            marks: vec![(0.0, limit_colour, "0 dBFS".into())],
            hot: -6.0,
            over: 0.0,
            extra: None,
        },
        row_h,
    );
    draw_bar(
        ui,
        Bar {
            label: "Voltage rms",
            value_text: if op.v_dc.abs() > 1e-3 && op.v_dc.abs() > 0.05 * op.v_rms {
                format!(
                    "{} rms   DC {}",
                    theme::si(op.v_rms, "V"),
                    theme::si(op.v_dc, "V")
                )
            } else {
                format!("{} rms", theme::si(op.v_rms, "V"))
            },
            lo: -48.0,
            hi: 6.0,
            ballistics: m.v_rms,
            marks: vec![(
                0.0,
                limit_colour,
                format!("rail {}", theme::si(s.v_clip, "V")),
            )],
            hot: -6.0,
            over: -0.5,
            extra: None,
        },
        row_h,
    );
    draw_bar(
        ui,
        Bar {
            label: "Voltage peak",
            value_text: format!(
                "{} pk / {} rail",
                theme::si(op.v_peak, "V"),
                theme::si(s.v_clip, "V")
            ),
            lo: -48.0,
            hi: 6.0,
            ballistics: m.v_peak,
            marks: vec![(0.0, limit_colour, "rail".into())],
            hot: -6.0,
            over: -0.5,
            extra: None,
        },
        row_h,
    );
    draw_bar(
        ui,
        Bar {
            label: "Current",
            value_text: format!(
                "{} pk ({} rms) / {}",
                theme::si(op.i_peak, "A"),
                theme::si(op.i_rms, "A"),
                theme::si(s.i_max * 1e-3, "A")
            ),
            lo: -48.0,
            hi: 6.0,
            ballistics: m.current,
            marks: vec![(0.0, limit_colour, "limit".into())],
            hot: -6.0,
            over: -1.9, // 80 % of i_max: where the stage's protection starts to bend the waveform
            extra: None,
        },
        row_h,
    );
    if s.load.is_transducer() {
        draw_bar(
            ui,
            Bar {
                label: "Power",
                value_text: format!(
                    "{} (1 s {}) / {}",
                    theme::si(op.power.max(0.0), "W"),
                    theme::si(op.power_1s_max.max(0.0), "W"),
                    theme::si(s.p_max, "W")
                ),
                lo: -48.0,
                hi: 6.0,
                ballistics: m.power,
                marks: vec![(0.0, limit_colour, "rating".into())],
                hot: -3.0,
                over: 0.0,
                extra: Some(m.power_1s.shown),
            },
            row_h,
        );
    } else {
        let in_max_v = receiver_peak_volts(s);
        draw_bar(
            ui,
            Bar {
                label: "Input stage",
                value_text: format!(
                    "{} pk / {} pk max ({} dBu)",
                    theme::si(op.v_peak, "V"),
                    theme::si(in_max_v, "V"),
                    theme::signed_db(s.in_max)
                ),
                lo: -48.0,
                hi: 6.0,
                ballistics: m.receiver,
                marks: vec![(0.0, limit_colour, "max input".into())],
                hot: -6.0,
                over: 0.0,
                extra: None,
            },
            row_h,
        );
    }
    if s.load == LoadKind::LineInput {
        draw_bar(
            ui,
            Bar {
                label: "SPL",
                value_text: "no transducer".into(),
                lo: 40.0,
                hi: 130.0,
                ballistics: Ballistics::default(),
                marks: vec![],
                hot: SPL_CAUTION_DB as f32,
                over: SPL_DANGER_DB as f32,
                extra: None,
            },
            row_h,
        );
    } else {
        draw_bar(
            ui,
            Bar {
                label: "SPL",
                value_text: op.spl.map_or("—".into(), |v| format!("{v:.1} dB SPL")),
                lo: 40.0,
                hi: 130.0,
                ballistics: m.spl,
                marks: vec![
                    (
                        SPL_CAUTION_DB as f32,
                        theme::severity_colour(crate::model::warnings::Severity::Caution),
                        "85".into(),
                    ),
                    (
                        SPL_DANGER_DB as f32,
                        theme::severity_colour(crate::model::warnings::Severity::Danger),
                        "100".into(),
                    ),
                ],
                hot: SPL_CAUTION_DB as f32,
                over: SPL_DANGER_DB as f32,
                extra: None,
            },
            row_h,
        );
    }
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        lamp(ui, m.rail.is_lit(now), theme::METER_OVER, "Rail clip");
        lamp(ui, m.limit.is_lit(now), theme::METER_OVER, "Current limit");
        lamp(
            ui,
            m.overload.is_lit(now),
            theme::METER_HOT,
            "Receiver overload",
        );
        let ceiling = if m.ceiling.is_lit(now) {
            format!("Ceiling −{:.1} dB", m.ceiling.figure)
        } else {
            "Ceiling".into()
        };
        lamp(
            ui,
            m.ceiling.is_lit(now),
            theme::severity_colour(crate::model::warnings::Severity::Info),
            &ceiling,
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_rise_at_once_fall_slowly_and_hold_their_peak() {
        let mut b = Ballistics::default();
        b.follow(-6.0, 0.0, 0.016);
        assert_eq!((b.shown, b.peak), (-6.0, -6.0));
        // A second later the level dropped to −40: the bar has fallen 24 dB, the peak still holds.
        for k in 1..=60 {
            b.follow(-40.0, k as f64 / 60.0, 1.0 / 60.0);
        }
        assert!((b.shown + 30.0).abs() < 0.1, "{}", b.shown);
        assert_eq!(b.peak, -6.0);
        // After the hold the peak falls too.
        for k in 61..=240 {
            b.follow(-40.0, k as f64 / 60.0, 1.0 / 60.0);
        }
        assert!(b.peak < -6.0 && b.peak >= b.shown);
    }

    #[test]
    fn lamps_hold_for_a_second() {
        let mut l = Lamp::default();
        assert!(!l.is_lit(0.0));
        l.trigger(1.0, 3.0);
        assert!(l.is_lit(1.5));
        assert!(!l.is_lit(2.1));
    }
}
