//! The spectrum view: what goes in and what comes out, on a log frequency axis from 20 Hz to
//! 20 kHz in dB, with the model's predicted response |H(f)| on its own scale beside them.
//!
//! The analysis runs on the editor's thread from the blocks the audio thread sends: a Hann-windowed
//! real FFT of the latest [`FFT_SIZE`] samples for every block that arrives (75 % overlap), power
//! averaged exponentially so the curves move smoothly.

use super::theme;
use crate::feed::{SampleBlock, FEED_BLOCK};
use crate::model::network::Network;
use crate::model::Settings;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Ui};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::f64::consts::PI;
use std::sync::Arc;

/// Samples per FFT: 85 ms at 48 kHz, 11.7 Hz between bins — enough to resolve 20 Hz against
/// 40 Hz on a log axis.
pub const FFT_SIZE: usize = 4 * FEED_BLOCK;

/// Weight of each new spectrum in the running average: with a new spectrum every 21 ms at
/// 48 kHz the average has a time constant of about 100 ms, steady to the eye yet quick to follow
/// a change of level.
pub const AVERAGE_WEIGHT: f32 = 0.2;

/// Bottom and top of the spectrum's scale, dB relative to a full-scale sine.
pub const FLOOR_DB: f32 = -108.0;
pub const TOP_DB: f32 = 6.0;
/// The frequency axis.
pub const F_LO: f64 = 20.0;
pub const F_HI: f64 = 20_000.0;

/// Averaged input and output spectra.
pub struct Analyser {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    history_in: Vec<f32>,
    history_out: Vec<f32>,
    frame: Vec<f32>,
    bins: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Averaged power per bin, relative to a full-scale sine (1.0 = 0 dB).
    power_in: Vec<f32>,
    power_out: Vec<f32>,
    /// Blocks analysed since the window opened; no average is shown before the first FFT is full.
    blocks: usize,
}

impl Default for Analyser {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyser {
    pub fn new() -> Analyser {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let window = (0..FFT_SIZE)
            .map(|n| (0.5 - 0.5 * (2.0 * PI * n as f64 / FFT_SIZE as f64).cos()) as f32)
            .collect();
        let bins = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        let n_bins = bins.len();
        Analyser {
            window,
            history_in: vec![0.0; FFT_SIZE],
            history_out: vec![0.0; FFT_SIZE],
            frame: fft.make_input_vec(),
            bins,
            scratch,
            power_in: vec![0.0; n_bins],
            power_out: vec![0.0; n_bins],
            blocks: 0,
            fft,
        }
    }

    /// Whether enough audio arrived for a full FFT.
    pub fn ready(&self) -> bool {
        self.blocks * FEED_BLOCK >= FFT_SIZE
    }

    /// Takes one block from the feed and updates both averages.
    pub fn push(&mut self, block: &SampleBlock) {
        for (history, samples) in [
            (&mut self.history_in, &block.input),
            (&mut self.history_out, &block.output),
        ] {
            history.copy_within(FEED_BLOCK.., 0);
            history[FFT_SIZE - FEED_BLOCK..].copy_from_slice(samples);
        }
        self.blocks += 1;
        if !self.ready() {
            return;
        }
        // The first full spectrum replaces the empty average instead of fading in from silence.
        let weight = if self.blocks * FEED_BLOCK == FFT_SIZE {
            1.0
        } else {
            AVERAGE_WEIGHT
        };
        Self::analyse(
            &*self.fft,
            &self.window,
            &self.history_in,
            &mut self.frame,
            &mut self.bins,
            &mut self.scratch,
            &mut self.power_in,
            weight,
        );
        Self::analyse(
            &*self.fft,
            &self.window,
            &self.history_out,
            &mut self.frame,
            &mut self.bins,
            &mut self.scratch,
            &mut self.power_out,
            weight,
        );
    }

    /// Power of a sine's peak bin: |X| = A·N/4 under a Hann window (its coherent gain is ½), so
    /// (4|X|/N)² is A², and a full-scale sine reads 0 dB.
    #[allow(clippy::too_many_arguments)]
    fn analyse(
        fft: &dyn RealToComplex<f32>,
        window: &[f32],
        history: &[f32],
        frame: &mut [f32],
        bins: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        average: &mut [f32],
        weight: f32,
    ) {
        for ((f, h), w) in frame.iter_mut().zip(history).zip(window) {
            *f = if h.is_finite() { h * w } else { 0.0 };
        }
        if fft.process_with_scratch(frame, bins, scratch).is_err() {
            return;
        }
        let scale = 4.0 / FFT_SIZE as f32;
        for (a, b) in average.iter_mut().zip(bins.iter()) {
            let p = (b.norm() * scale).powi(2);
            *a += weight * (p - *a);
        }
    }

    /// Level in dB over the frequencies `f_lo` … `f_hi` (one pixel column): the largest bin in the
    /// range, so that a tone reads its level; between bins (low frequencies) the nearest bins
    /// interpolated on the log axis.
    pub fn level_db(&self, output: bool, f_lo: f64, f_hi: f64, sample_rate: f64) -> f32 {
        let power = if output {
            &self.power_out
        } else {
            &self.power_in
        };
        let bin_hz = sample_rate / FFT_SIZE as f64;
        let last = power.len() - 1;
        let (k_lo, k_hi) = (
            (f_lo / bin_hz).ceil() as usize,
            (f_hi / bin_hz).floor() as usize,
        );
        let p = if k_hi >= k_lo && k_lo <= last {
            power[k_lo..=k_hi.min(last)]
                .iter()
                .copied()
                .fold(0.0, f32::max)
        } else {
            let x = ((f_lo * f_hi).sqrt() / bin_hz).min(last as f64);
            let k = (x.floor() as usize).min(last - 1);
            let t = (x - k as f64) as f32;
            power[k] * (1.0 - t) + power[k + 1] * t
        };
        (10.0 * p.max(1e-20).log10()).max(FLOOR_DB - 20.0)
    }
}

/// x position of frequency `f` in `rect` on the log axis.
fn x_of(rect: Rect, f: f64) -> f32 {
    rect.left() + rect.width() * ((f / F_LO).ln() / (F_HI / F_LO).ln()) as f32
}

/// Frequency at x position `x`.
fn f_of(rect: Rect, x: f32) -> f64 {
    F_LO * (F_HI / F_LO).powf(((x - rect.left()) / rect.width()) as f64)
}

/// The predicted response's scale: a window of at least 12 dB in 3 dB steps that holds the curve.
fn response_scale(db: &[f32]) -> (f32, f32) {
    let (lo, hi) = db
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &d| {
            (lo.min(d), hi.max(d))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return (-12.0, 3.0);
    }
    let top = (hi / 3.0).ceil() * 3.0 + 3.0;
    let bottom = ((lo / 3.0).floor() * 3.0 - 3.0)
        .min(top - 12.0)
        .max(top - 96.0);
    (bottom, top)
}

/// Draws the spectrum view into the space `ui` offers.
pub fn show(ui: &mut Ui, analyser: &Analyser, settings: &Settings, sample_rate: f64) {
    let full = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(full, Sense::hover());
    let painter = ui.painter_at(full);
    painter.rect_filled(full, 4.0, theme::METER_BACK);
    // Room for the dB labels on both sides and the frequencies below.
    let plot = Rect::from_min_max(
        full.min + egui::vec2(40.0, 20.0),
        full.max - egui::vec2(44.0, 18.0),
    );
    if plot.width() < 50.0 || plot.height() < 30.0 {
        return;
    }
    let small = FontId::proportional(11.0);
    let y_of_db = |db: f32| {
        plot.bottom() - plot.height() * ((db - FLOOR_DB) / (TOP_DB - FLOOR_DB)).clamp(0.0, 1.0)
    };

    // Grid: decades and their 2×/5×, every 12 dB.
    for decade in [10.0, 100.0, 1000.0, 10_000.0] {
        for m in [1.0, 2.0, 5.0] {
            let f: f64 = decade * m;
            if !(F_LO..=F_HI).contains(&f) {
                continue;
            }
            let x = x_of(plot, f);
            painter.line_segment(
                [Pos2::new(x, plot.top()), Pos2::new(x, plot.bottom())],
                Stroke::new(1.0, theme::GRID),
            );
            painter.text(
                Pos2::new(x, plot.bottom() + 2.0),
                Align2::CENTER_TOP,
                theme::hz(f).replace(" Hz", "").replace(" kHz", "k"),
                small.clone(),
                theme::TEXT_DIM,
            );
        }
    }
    let mut db = 0.0;
    while db >= FLOOR_DB {
        let y = y_of_db(db);
        painter.line_segment(
            [Pos2::new(plot.left(), y), Pos2::new(plot.right(), y)],
            Stroke::new(1.0, theme::GRID),
        );
        painter.text(
            Pos2::new(plot.left() - 4.0, y),
            Align2::RIGHT_CENTER,
            format!("{db:.0}"),
            small.clone(),
            theme::TEXT_DIM,
        );
        db -= 12.0;
    }
    painter.text(
        Pos2::new(plot.left() - 4.0, full.top() + 4.0),
        Align2::RIGHT_TOP,
        "dBFS",
        small.clone(),
        theme::TEXT_DIM,
    );

    // The predicted response on its own scale, drawn first so the measured curves stay on top.
    let columns = plot.width().max(2.0) as usize;
    let network = Network::from_settings(&settings.clamped());
    let h_db: Vec<f32> = (0..=columns)
        .map(|c| {
            let f = f_of(plot, plot.left() + c as f32);
            (20.0 * network.response(f).norm().max(1e-12).log10()) as f32
        })
        .collect();
    let (h_lo, h_hi) = response_scale(&h_db);
    let y_of_h =
        |d: f32| plot.bottom() - plot.height() * ((d - h_lo) / (h_hi - h_lo)).clamp(0.0, 1.0);
    let mut tick = h_hi;
    let step = if h_hi - h_lo > 36.0 {
        12.0
    } else if h_hi - h_lo > 18.0 {
        6.0
    } else {
        3.0
    };
    while tick >= h_lo {
        painter.text(
            Pos2::new(plot.right() + 4.0, y_of_h(tick)),
            Align2::LEFT_CENTER,
            format!("{tick:+.0}"),
            small.clone(),
            theme::PREDICTED,
        );
        tick -= step;
    }
    painter.text(
        Pos2::new(plot.right() + 4.0, full.top() + 4.0),
        Align2::LEFT_TOP,
        "|H| dB",
        small.clone(),
        theme::PREDICTED,
    );
    let h_points: Vec<Pos2> = h_db
        .iter()
        .enumerate()
        .map(|(c, &d)| Pos2::new(plot.left() + c as f32, y_of_h(d)))
        .collect();
    painter.line(
        h_points,
        Stroke::new(2.0, theme::PREDICTED.gamma_multiply(0.8)),
    );

    // Measured spectra, one value per pixel column.
    let mut levels_in = Vec::with_capacity(columns);
    let mut levels_out = Vec::with_capacity(columns);
    if analyser.ready() {
        for c in 0..columns {
            let x = plot.left() + c as f32;
            let (f0, f1) = (f_of(plot, x - 0.5).max(1.0), f_of(plot, x + 0.5));
            levels_in.push(analyser.level_db(false, f0, f1, sample_rate));
            levels_out.push(analyser.level_db(true, f0, f1, sample_rate));
        }
        let curve = |levels: &[f32]| -> Vec<Pos2> {
            levels
                .iter()
                .enumerate()
                .map(|(c, &d)| Pos2::new(plot.left() + c as f32, y_of_db(d)))
                .collect()
        };
        // The input as a filled area, the output as a line over it.
        let mut area = curve(&levels_in);
        let fill = Color32::from_rgba_unmultiplied(
            theme::INPUT.r(),
            theme::INPUT.g(),
            theme::INPUT.b(),
            70,
        );
        for (c, p) in area.iter().enumerate().step_by(2) {
            painter.line_segment(
                [*p, Pos2::new(plot.left() + c as f32, plot.bottom())],
                Stroke::new(2.0, fill),
            );
        }
        painter.line(std::mem::take(&mut area), Stroke::new(2.5, theme::INPUT));
        painter.line(curve(&levels_out), Stroke::new(1.5, theme::OUTPUT));
    } else {
        painter.text(
            plot.center(),
            Align2::CENTER_CENTER,
            "waiting for audio…",
            FontId::proportional(14.0),
            theme::TEXT_DIM,
        );
    }
    painter.rect_stroke(
        plot,
        0.0,
        Stroke::new(1.0, theme::PANEL_EDGE),
        StrokeKind::Inside,
    );

    // Legend.
    let mut x = plot.left() + 6.0;
    for (label, colour) in [
        ("input", theme::INPUT),
        ("output", theme::OUTPUT),
        ("predicted |H(f)|", theme::PREDICTED),
    ] {
        painter.line_segment(
            [
                Pos2::new(x, full.top() + 10.0),
                Pos2::new(x + 16.0, full.top() + 10.0),
            ],
            Stroke::new(2.0, colour),
        );
        let r = painter.text(
            Pos2::new(x + 20.0, full.top() + 10.0),
            Align2::LEFT_CENTER,
            label,
            small.clone(),
            theme::TEXT,
        );
        x = r.right() + 14.0;
    }

    // Hover: the frequency and every curve's level there.
    if let Some(pos) = response.hover_pos().filter(|p| plot.contains(*p)) {
        painter.line_segment(
            [
                Pos2::new(pos.x, plot.top()),
                Pos2::new(pos.x, plot.bottom()),
            ],
            Stroke::new(1.0, theme::TEXT_DIM),
        );
        let f = f_of(plot, pos.x);
        let c = ((pos.x - plot.left()) as usize).min(columns.saturating_sub(1));
        let cursor_db = FLOOR_DB + (TOP_DB - FLOOR_DB) * (plot.bottom() - pos.y) / plot.height();
        let mut text = format!(
            "{}   cursor {} dBFS\n",
            theme::hz(f),
            theme::signed_db(cursor_db as f64)
        );
        if let (Some(i), Some(o)) = (levels_in.get(c), levels_out.get(c)) {
            text += &format!(
                "in {}  out {} dBFS   ",
                theme::signed_db(*i as f64),
                theme::signed_db(*o as f64)
            );
        }
        text += &format!(
            "|H| {} dB",
            theme::signed_db(h_db[c.min(h_db.len() - 1)] as f64)
        );
        let galley = painter.layout_no_wrap(text, FontId::proportional(12.0), theme::TEXT);
        // Beside the cursor, on the side with room, kept inside the plot.
        let size = galley.size();
        let x = if pos.x + 12.0 + size.x < plot.right() {
            pos.x + 10.0
        } else {
            (pos.x - 10.0 - size.x).max(plot.left() + 4.0)
        };
        let y = (pos.y - 10.0 - size.y).max(plot.top() + 4.0);
        let rect = Rect::from_min_size(Pos2::new(x, y), size);
        painter.rect_filled(rect.expand(4.0), 3.0, theme::PANEL);
        painter.rect_stroke(
            rect.expand(4.0),
            3.0,
            Stroke::new(1.0, theme::TEXT_DIM),
            StrokeKind::Inside,
        );
        painter.galley(rect.min, galley, theme::TEXT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine_block(f: f64, amplitude: f32, fs: f64, start: usize) -> SampleBlock {
        let mut b = SampleBlock::silent();
        for n in 0..FEED_BLOCK {
            let v = amplitude * (2.0 * PI * f * (start + n) as f64 / fs).sin() as f32;
            b.input[n] = v;
            b.output[n] = 0.5 * v;
        }
        b
    }

    #[test]
    fn a_sine_reads_its_level() {
        let fs = 48_000.0;
        // On a bin centre (no scalloping): 1 kHz is bin 85.33 at 4096 points; use bin 85 exactly.
        let f = 85.0 * fs / FFT_SIZE as f64;
        let mut a = Analyser::new();
        for k in 0..8 {
            a.push(&sine_block(f, 0.5, fs, k * FEED_BLOCK));
        }
        let level_in = a.level_db(false, f * 0.99, f * 1.01, fs);
        let level_out = a.level_db(true, f * 0.99, f * 1.01, fs);
        // A sine of amplitude ½ is −6.02 dB re full scale; the output is half of that again.
        assert!((level_in + 6.02).abs() < 0.05, "{level_in}");
        assert!((level_out + 12.04).abs() < 0.05, "{level_out}");
        // Far from the tone the Hann window's sidelobes are far down.
        assert!(a.level_db(false, 9000.0, 9100.0, fs) < -90.0);
    }

    #[test]
    fn nothing_before_a_full_fft() {
        let mut a = Analyser::new();
        for _ in 0..3 {
            a.push(&SampleBlock::silent());
            assert!(!a.ready());
        }
        a.push(&SampleBlock::silent());
        assert!(a.ready());
    }

    #[test]
    fn the_response_scale_holds_the_curve() {
        let (lo, hi) = response_scale(&[-0.2, 0.0, -3.4]);
        assert!(lo <= -3.4 && hi >= 0.0 && hi - lo >= 12.0);
        let (lo, hi) = response_scale(&[-40.0, -2.0]);
        assert!(lo <= -40.0 && hi >= -2.0);
    }
}
