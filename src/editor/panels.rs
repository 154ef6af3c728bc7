//! Every parameter with its unit, grouped as the chain: source, cable, load, listening. Sliders
//! are nice-plug-egui's `ParamSlider` (drag, shift-drag for fine steps, double-click to reset,
//! click the value to type one); options and switches are written as one gesture each.

use super::host::HostParams;
use super::theme;
use crate::model::settings::{ParamKind, Side, PARAMS};
use crate::model::Settings;
use crate::params::OutpathParams;
use egui::{Align, ComboBox, Grid, Label, Layout, RichText, ScrollArea, Ui, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug_egui::widgets::ParamSlider;

/// The groups in the order of the chain, with their headings.
pub const GROUPS: [(Side, &str); 4] = [
    (Side::Source, "Source"),
    (Side::Cable, "Cable"),
    (Side::Load, "Load"),
    (Side::Listening, "Listening"),
];

/// Draws one group's parameters.
#[allow(clippy::too_many_arguments)]
fn group(
    ui: &mut Ui,
    side: Side,
    params: &OutpathParams,
    host: &HostParams,
    ctx: &GuiContext,
    s: &Settings,
    label_w: f32,
    slider_w: f32,
) {
    let setter = ctx.param_setter();
    Grid::new(("params", side as u8))
        .num_columns(2)
        .spacing([6.0, 2.0])
        .show(ui, |ui| {
            for p in PARAMS.iter().filter(|p| p.side == side) {
                // The unit shows in the value ("10 Ω"); the label is the name, its id on hover.
                let label =
                    Label::new(RichText::new(p.name).size(11.5).color(theme::TEXT_DIM)).truncate();
                let hover = format!(
                    "{} ({})",
                    p.id,
                    if p.unit.is_empty() { "no unit" } else { p.unit }
                );
                ui.allocate_ui_with_layout(
                    Vec2::new(label_w, 18.0),
                    Layout::left_to_right(Align::Center),
                    |ui| {
                        ui.set_width(label_w);
                        ui.add(label).on_hover_text(hover);
                    },
                );
                match p.kind {
                    ParamKind::Float { .. } => {
                        if let Some(param) = params.float_param(p.id) {
                            ui.add(ParamSlider::for_param(param, &setter).with_width(slider_w));
                        }
                    }
                    ParamKind::Choice { options, .. } => {
                        let current = s.get(p.id).unwrap_or(0.0).round() as usize;
                        ComboBox::from_id_salt(("choice", p.id))
                            .width(slider_w + 4.0)
                            .selected_text(options.get(current).copied().unwrap_or(""))
                            .show_ui(ui, |ui| {
                                for (i, o) in options.iter().enumerate() {
                                    if ui.selectable_label(i == current, *o).clicked()
                                        && i != current
                                    {
                                        host.set_one(ctx, p.id, i as f64);
                                    }
                                }
                            });
                    }
                    ParamKind::Toggle { .. } => {
                        let mut on = s.get(p.id).unwrap_or(0.0) >= 0.5;
                        let caption = if on { "on" } else { "off" };
                        if ui.checkbox(&mut on, caption).changed() {
                            host.set_one(ctx, p.id, f64::from(u8::from(on)));
                        }
                    }
                }
                ui.end_row();
            }
        });
}

/// Draws the four groups side by side, each scrolling on its own if the window is short.
pub fn show(
    ui: &mut Ui,
    params: &OutpathParams,
    host: &HostParams,
    ctx: &GuiContext,
    s: &Settings,
) {
    let columns = GROUPS.len();
    ui.columns(columns, |cols| {
        for (col, (side, heading)) in cols.iter_mut().zip(GROUPS) {
            col.label(
                RichText::new(heading)
                    .strong()
                    .size(13.0)
                    .color(theme::TEXT),
            );
            let w = col.available_width();
            let label_w = (w * 0.42).clamp(70.0, 150.0);
            let slider_w = (w - label_w - 90.0).clamp(40.0, 140.0);
            ScrollArea::vertical()
                .id_salt(("params-scroll", side as u8))
                .auto_shrink([false, false])
                .show(col, |ui| {
                    group(ui, side, params, host, ctx, s, label_w, slider_w);
                });
        }
    });
}
