//! The warnings list: what is wrong with the connection, in the words and figures of
//! [`crate::model::warnings`]. The editor adds no warnings of its own; it computes them from the
//! settings and the latest meter interval, keeps the dynamic ones on screen with a
//! [`WarningHold`], and shows the newest dynamic events on top, then the structural warnings
//! most severe first.

use super::theme;
use crate::model::settings::format_number;
use crate::model::warnings::{warnings, Warning, WarningHold};
use crate::model::{OperatingPoint, Settings};
use egui::{Color32, CornerRadius, Frame, Margin, RichText, ScrollArea, Stroke, Ui};

/// The warnings on screen and when each dynamic one was last raised.
#[derive(Debug, Default)]
pub struct WarningsView {
    hold: WarningHold,
    /// Dynamic warning id → when it was last raised, s, for the newest-on-top order.
    raised: Vec<(&'static str, f64)>,
    /// Structural warnings are recomputed when the settings change even without audio.
    last_settings: Option<Settings>,
}

impl WarningsView {
    /// Takes the operating point of the latest meter interval, measured with `s`, at `now` s.
    pub fn update(&mut self, s: &Settings, op: &OperatingPoint, now: f64) {
        let current = warnings(s, op);
        for w in current.iter().filter(|w| w.is_dynamic()) {
            match self.raised.iter_mut().find(|(id, _)| *id == w.id) {
                Some(r) => r.1 = now,
                None => self.raised.push((w.id, now)),
            }
        }
        self.hold.update(now, &current);
        self.last_settings = Some(*s);
    }

    /// Without a new interval (no audio), the structural warnings still follow the settings.
    pub fn follow_settings(&mut self, s: &Settings, now: f64) {
        if self.last_settings != Some(*s) {
            self.update(s, &OperatingPoint::default(), now);
        }
    }

    /// What to show: held dynamic warnings newest first, then structural ones by severity.
    pub fn shown(&self, now: f64) -> Vec<Warning> {
        let active = self.hold.active(now);
        let raised_at = |id: &str| {
            self.raised
                .iter()
                .find(|(i, _)| *i == id)
                .map_or(0.0, |r| r.1)
        };
        let (mut dynamic, structural): (Vec<Warning>, Vec<Warning>) =
            active.into_iter().partition(|w| w.is_dynamic());
        dynamic.sort_by(|a, b| {
            raised_at(b.id)
                .total_cmp(&raised_at(a.id))
                .then(b.severity.cmp(&a.severity))
        });
        dynamic.extend(structural);
        dynamic
    }
}

/// "z_out 120 Ω · variation_db 3.4 dB": the figures behind a warning.
fn figures_line(w: &Warning) -> String {
    w.figures
        .iter()
        .map(|f| {
            let unit = if f.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", f.unit)
            };
            format!(
                "{} {}{}",
                f.name,
                format_number(theme::round_sig(f.value, 4)),
                unit
            )
        })
        .collect::<Vec<_>>()
        .join("  ·  ")
}

/// Draws the list.
pub fn show(ui: &mut Ui, shown: &[Warning]) {
    if shown.is_empty() {
        ui.add_space(6.0);
        ui.label(
            RichText::new("No warnings: the connection works as intended.")
                .color(Color32::from_rgb(120, 200, 140))
                .size(14.0),
        );
        return;
    }
    ScrollArea::vertical()
        .id_salt("warnings")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for w in shown {
                let colour = theme::severity_colour(w.severity);
                Frame::new()
                    .fill(colour.gamma_multiply(0.12))
                    .stroke(Stroke::new(1.0, colour.gamma_multiply(0.6)))
                    .corner_radius(CornerRadius::same(4))
                    .inner_margin(Margin::symmetric(8, 5))
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.horizontal_wrapped(|ui| {
                            ui.label(
                                RichText::new(w.severity.as_str().to_uppercase())
                                    .color(colour)
                                    .strong()
                                    .size(11.5),
                            );
                            if w.is_dynamic() {
                                ui.label(RichText::new("event").color(theme::TEXT_DIM).size(10.5));
                            }
                            ui.label(RichText::new(&w.message).color(theme::TEXT).size(13.0));
                        });
                        ui.label(
                            RichText::new(figures_line(w))
                                .color(theme::TEXT_DIM)
                                .size(11.0)
                                .monospace(),
                        );
                    });
                ui.add_space(3.0);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LoadKind, OutputKind};

    #[test]
    fn newest_dynamic_events_come_first_then_structural() {
        // A line out into headphones: structural warnings.
        let mut s = Settings {
            output: OutputKind::Line,
            z_out: 600.0,
            ..Settings::default()
        };
        let mut view = WarningsView::default();
        let clip = OperatingPoint {
            rail_clips: 5,
            input_peak_dbfs: 0.0,
            ..OperatingPoint::default()
        };
        view.update(&s, &clip, 1.0);
        let ceiling = OperatingPoint {
            ceiling_events: 3,
            ceiling_db: -2.0,
            ..OperatingPoint::default()
        };
        view.update(&s, &ceiling, 2.0);
        let shown = view.shown(2.1);
        let ids: Vec<&str> = shown.iter().map(|w| w.id).collect();
        assert_eq!(&ids[..2], &["ceiling", "rail_clip"], "{ids:?}");
        assert!(
            shown[2..].iter().all(|w| !w.is_dynamic()) && shown.len() > 2,
            "{ids:?}"
        );
        // After the hold only the structural ones remain.
        view.update(&s, &OperatingPoint::default(), 10.0);
        assert!(view.shown(10.0).iter().all(|w| !w.is_dynamic()));
        // Fixing the connection clears them without any audio.
        s.load = LoadKind::LineInput;
        s.z_load = 10_000.0;
        s.output = OutputKind::Line;
        s.z_out = 100.0;
        view.follow_settings(&s, 11.0);
        assert!(view
            .shown(11.0)
            .iter()
            .all(|w| w.id != "headphones_on_line_out"));
    }
}
