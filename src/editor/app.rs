//! One open editor window: reads the feed at display rate, keeps the meters, the spectrum and
//! the warnings, lays the views out as the chain, and writes what the user changes through the
//! host.

use super::chain::{self, ChainAction};
use super::host::HostParams;
use super::meters::{self, MeterState};
use super::spectrum::{self, Analyser};
use super::state::{self, Slot, WindowSize};
use super::warnings_list::{self, WarningsView};
use super::{panels, theme, Shared};
use crate::model::Settings;
use egui::{
    Align, Button, Layout, Pos2, Rect, RichText, Stroke, StrokeKind, Ui, UiBuilder, Vec2, Visuals,
};
use nice_plug::context::gui::GuiContext;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{baseview, Frame, NiceEguiApp};
use std::time::Instant;

/// Most blocks analysed in one frame: after a stall, catching up on more would only redraw the
/// past.
const MAX_BLOCKS_PER_FRAME: usize = 48;
/// Sample rate assumed until the audio thread has published one, Hz.
const DEFAULT_SAMPLE_RATE: f64 = 48_000.0;

/// The state of one editor window.
pub struct EditorApp {
    shared: Shared,
    host: HostParams,
    /// The host's context, given when the window is built.
    gui: Option<GuiContext>,
    analyser: Analyser,
    meters: MeterState,
    warnings: WarningsView,
    /// The feed's sequence counter at the last reading.
    last_seq: u64,
    sample_rate: f64,
    opened: Instant,
    last_frame_s: f64,
    /// The standalone's start scenario has been written (test hook; see `crate::standalone`).
    start_written: bool,
}

impl EditorApp {
    pub fn new(shared: Shared) -> EditorApp {
        let host = HostParams::new(&shared.params);
        let last_seq = shared.feed.raw_seq();
        EditorApp {
            shared,
            host,
            gui: None,
            analyser: Analyser::new(),
            meters: MeterState::default(),
            warnings: WarningsView::default(),
            last_seq,
            sample_rate: DEFAULT_SAMPLE_RATE,
            opened: Instant::now(),
            last_frame_s: 0.0,
            start_written: false,
        }
    }

    /// Takes what the audio thread sent since the last frame.
    fn poll(&mut self, s: &Settings, now: f64, dt: f32) {
        for _ in 0..MAX_BLOCKS_PER_FRAME {
            match self.shared.feed.try_block() {
                Some(b) => self.analyser.push(&b),
                None => break,
            }
        }
        match self.shared.feed.take_meters(self.last_seq) {
            Some(r) => {
                self.last_seq = r.seq;
                if r.sample_rate > 0.0 {
                    self.sample_rate = r.sample_rate;
                }
                self.meters.update(&r.op, s, now, dt);
                self.warnings.update(s, &r.op, now);
            }
            None => {
                self.meters.idle(now, dt);
                self.warnings.follow_settings(s, now);
            }
        }
    }

    /// The standalone build can be started with a scenario (`--source`, `--load`, `--set`); it is
    /// written through the host on the first frame, like a device picked by hand.
    fn write_start_scenario(&mut self, s: &Settings) {
        if self.start_written {
            return;
        }
        self.start_written = true;
        #[cfg(feature = "standalone")]
        if let (Some(ctx), Some(target)) = (&self.gui, crate::standalone::take_start_settings()) {
            let _ = s;
            self.host.write_all(ctx, &target);
        }
        #[cfg(not(feature = "standalone"))]
        let _ = s;
    }

    /// The title, the A/B buttons and copy; returns where the A and B buttons are.
    fn top_bar(&mut self, ui: &mut Ui, s: &Settings) -> [Rect; 2] {
        let mut buttons = [Rect::NOTHING; 2];
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Outpath")
                    .strong()
                    .size(17.0)
                    .color(theme::TEXT),
            );
            ui.label(
                RichText::new("what the output path does to the mix")
                    .size(12.0)
                    .color(theme::TEXT_DIM),
            );
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let Some(ctx) = self.gui.clone() else { return };
                let active = self
                    .shared
                    .params
                    .scenarios
                    .read()
                    .map(|v| v.active)
                    .unwrap_or_default();
                if ui
                    .add(Button::new("Copy A to B"))
                    .on_hover_text("B takes A's values")
                    .clicked()
                {
                    let target = self
                        .shared
                        .params
                        .scenarios
                        .write()
                        .ok()
                        .and_then(|mut slots| slots.copy_a_to_b(s));
                    if let Some(t) = target {
                        self.host.write_all(&ctx, &t);
                    }
                }
                for slot in [Slot::B, Slot::A] {
                    let label = RichText::new(format!(" {} ", slot.name()))
                        .strong()
                        .size(14.0);
                    let button = ui.add(Button::selectable(active == slot, label));
                    buttons[usize::from(slot == Slot::B)] = button.rect;
                    if button
                        .on_hover_text("Flip between the two scenarios")
                        .clicked()
                        && active != slot
                    {
                        let target = self
                            .shared
                            .params
                            .scenarios
                            .write()
                            .ok()
                            .map(|mut slots| slots.flip(s));
                        if let Some(t) = target {
                            self.host.write_all(&ctx, &t);
                        }
                    }
                }
                ui.label(RichText::new("Scenario").size(12.0).color(theme::TEXT_DIM));
                ui.add_space(12.0);
                ui.label(
                    RichText::new(format!(
                        "{} kHz",
                        theme::round_sig(self.sample_rate / 1000.0, 4)
                    ))
                    .size(11.0)
                    .color(theme::TEXT_DIM),
                );
            });
        });
        buttons
    }

    /// A titled panel in `rect`; `add` draws its contents.
    fn panel(ui: &mut Ui, rect: Rect, title: &str, add: impl FnOnce(&mut Ui)) {
        ui.painter().rect_filled(rect, 6.0, theme::PANEL);
        ui.painter().rect_stroke(
            rect,
            6.0,
            Stroke::new(1.0, theme::PANEL_EDGE),
            StrokeKind::Inside,
        );
        let inner = rect.shrink2(Vec2::new(10.0, 6.0));
        let mut child = ui.new_child(
            UiBuilder::new()
                .max_rect(inner)
                .layout(Layout::top_down(Align::LEFT)),
        );
        child.set_clip_rect(inner.expand(2.0));
        child.label(RichText::new(title).strong().size(13.5).color(theme::TEXT));
        add(&mut child);
    }

    fn layout(&mut self, ui: &mut Ui, s: &Settings, now: f64) {
        let full = ui.max_rect();
        let gap = 8.0;
        let top = Rect::from_min_size(full.min, Vec2::new(full.width(), 28.0));
        let chain = Rect::from_min_size(
            Pos2::new(full.left(), top.bottom() + 4.0),
            Vec2::new(full.width(), 122.0),
        );
        // Middle row: meters | spectrum | warnings; bottom row: every parameter, as the chain.
        let rest_top = chain.bottom() + gap;
        let rest_h = full.bottom() - rest_top;
        let params_h = (rest_h * 0.45).clamp(200.0, 340.0);
        let middle_h = rest_h - params_h - gap;
        let meters_w = (full.width() * 0.31).clamp(320.0, 480.0);
        let warnings_w = (full.width() * 0.27).clamp(260.0, 460.0);
        let meters = Rect::from_min_size(
            Pos2::new(full.left(), rest_top),
            Vec2::new(meters_w, middle_h),
        );
        let warnings = Rect::from_min_max(
            Pos2::new(full.right() - warnings_w, rest_top),
            Pos2::new(full.right(), meters.bottom()),
        );
        let spectrum = Rect::from_min_max(
            Pos2::new(meters.right() + gap, rest_top),
            Pos2::new(warnings.left() - gap, meters.bottom()),
        );
        let params = Rect::from_min_max(Pos2::new(full.left(), meters.bottom() + gap), full.max);

        let mut bar = ui.new_child(
            UiBuilder::new()
                .max_rect(top)
                .layout(Layout::left_to_right(Align::Center)),
        );
        let slot_buttons = self.top_bar(&mut bar, s);

        let library = self.shared.library.clone();
        let chain_out = chain::show(ui, chain, s, &library, self.meters.latest.spl);
        if let Some(ChainAction::ApplyDevice(d)) = chain_out.action {
            if let Some(ctx) = &self.gui {
                let mut target = *s;
                d.apply(&mut target);
                let ids: Vec<&str> = d.set.keys().map(|k| k.as_str()).collect();
                self.host.write(ctx, &target, &ids);
            }
        }

        let m = &self.meters;
        Self::panel(ui, meters, "Levels at the load", |ui| {
            meters::show(ui, m, s, now)
        });
        let (analyser, fs) = (&self.analyser, self.sample_rate);
        Self::panel(ui, spectrum, "Spectrum", |ui| {
            spectrum::show(ui, analyser, s, fs)
        });
        let shown = self.warnings.shown(now);
        #[cfg(feature = "standalone")]
        if crate::standalone::layout_due(now) {
            let ids: Vec<&str> = shown.iter().map(|w| w.id).collect();
            let rects = [
                ("top", top),
                ("chain", chain),
                ("meters", meters),
                ("spectrum", spectrum),
                ("warnings", warnings),
                ("params", params),
                ("slot_a", slot_buttons[0]),
                ("slot_b", slot_buttons[1]),
                ("source_picker", chain_out.pickers[0]),
                ("load_picker", chain_out.pickers[1]),
            ];
            crate::standalone::report_layout(&rects, &ids);
        }
        #[cfg(not(feature = "standalone"))]
        let _ = (slot_buttons, chain_out.pickers);
        Self::panel(ui, warnings, &format!("Warnings ({})", shown.len()), |ui| {
            warnings_list::show(ui, &shown)
        });
        if let Some(ctx) = self.gui.clone() {
            let (params_ref, host) = (&self.shared.params, &self.host);
            Self::panel(ui, params, "Parameters", |ui| {
                panels::show(ui, params_ref, host, &ctx, s)
            });
        }
    }
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), baseview::HandlerError> {
        let mut visuals = Visuals::dark();
        visuals.panel_fill = theme::BACKGROUND;
        visuals.window_fill = theme::PANEL;
        egui_ctx.set_visuals(visuals);
        self.gui = Some(nice_gui_ctx);
        self.opened = Instant::now();
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut Frame) {
        let now = self.opened.elapsed().as_secs_f64();
        let dt = (now - self.last_frame_s).clamp(0.0, 0.25) as f32;
        self.last_frame_s = now;
        let s = self.shared.params.settings();
        self.write_start_scenario(&s);
        self.poll(&s, now, dt);
        ResizableWindow::new("outpath-editor")
            .min_size(Vec2::new(state::MIN_WIDTH as f32, state::MIN_HEIGHT as f32))
            .show(ui, |ui| self.layout(ui, &s, now));
        // Meters and spectrum move at display rate.
        ui.ctx().request_repaint();
    }

    fn resized(&mut self, new_size: baseview::WindowSize) {
        let size = new_size.logical;
        self.shared.params.editor_state.set_size(WindowSize {
            width: size.width.round() as u32,
            height: size.height.round() as u32,
        });
    }
}
