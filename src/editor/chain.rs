//! The chain as the signal travels: DAC → output stage → cable → load → listener, each block with
//! its key figures, and a device picker under the output stage and the load. A block names the
//! device its values match, or says "custom".

use super::theme::{self, hz, si, signed_db};
use crate::devices::{Category, Device, DeviceSide, Library};
use crate::model::load::{log_grid, LoadCircuit};
use crate::model::settings::format_number;
use crate::model::units::full_scale_peak_volts;
use crate::model::{ListenMode, LoadKind, OutputKind, Settings};
use egui::{ComboBox, Pos2, Rect, RichText, Stroke, StrokeKind, Ui, UiBuilder, Vec2};

/// The figures of one block, one line each; the first is the headline.
pub struct BlockFigures {
    pub title: &'static str,
    pub lines: Vec<String>,
}

/// The largest |Z_L| over the audio band and where it is, and the smallest.
pub fn impedance_extremes(s: &Settings) -> ((f64, f64), (f64, f64)) {
    let load = LoadCircuit::from_settings(s);
    let mut max = (0.0, 20.0);
    let mut min = (f64::INFINITY, 20.0);
    for f in log_grid(20.0, 20_000.0, 400) {
        let z = load.impedance(f).norm();
        if z > max.0 {
            max = (z, f);
        }
        if z < min.0 {
            min = (z, f);
        }
    }
    (max, min)
}

fn output_name(k: OutputKind) -> &'static str {
    match k {
        OutputKind::Line => "Line out",
        OutputKind::Headphone => "Headphone out",
        OutputKind::Speaker => "Speaker out",
    }
}

fn load_name(k: LoadKind) -> &'static str {
    LoadKind::NAMES[LoadKind::ALL.iter().position(|x| *x == k).unwrap_or(0)]
}

/// The DAC: where full scale sits in volts, and the gain after it.
pub fn dac(s: &Settings) -> BlockFigures {
    BlockFigures {
        title: "DAC",
        lines: vec![
            format!("0 dBFS = {} dBu", signed_db(s.ref_level)),
            format!(
                "{} pk full scale",
                si(full_scale_peak_volts(s.ref_level), "V")
            ),
            format!("gain {} dB", signed_db(s.gain)),
        ],
    }
}

/// The output stage: "Headphone out · 10 Ω · 6 V pk · 150 mA" and its character.
pub fn output_stage(s: &Settings) -> BlockFigures {
    let mut character = format!("{:?} clip · THD {} %", s.clip_shape, format_number(s.color));
    if s.c_out > 0.0 {
        character += &format!(" · C {} µF", format_number(s.c_out));
    }
    let mut extras = Vec::new();
    if s.noise > crate::model::settings::OFF_DBU {
        extras.push(format!("noise {} dBu", signed_db(s.noise)));
    }
    if s.dc_offset != 0.0 {
        extras.push(format!("DC {} mV", format_number(s.dc_offset)));
    }
    let mut lines = vec![
        format!(
            "{} · {} · {} pk · {}",
            output_name(s.output),
            si(s.z_out, "Ω"),
            si(s.v_clip, "V"),
            si(s.i_max * 1e-3, "A")
        ),
        character,
    ];
    if !extras.is_empty() {
        lines.push(extras.join(" · "));
    }
    BlockFigures {
        title: "Output stage",
        lines,
    }
}

/// The cable: "2 m · 0.08 Ω · 200 pF", balanced or not, hum.
pub fn cable(s: &Settings) -> BlockFigures {
    let r_loop = 2.0 * s.cable_len * s.cable_r;
    let c = s.cable_len * s.cable_c * 1e-12;
    let hum = if s.hum <= crate::model::settings::OFF_DBU {
        "no hum".to_string()
    } else if s.balanced {
        format!("hum {} dBu, rejected", signed_db(s.hum))
    } else {
        format!("hum {} dBu @ {}", signed_db(s.hum), hz(s.mains.hz()))
    };
    BlockFigures {
        title: "Cable",
        lines: vec![
            format!(
                "{} m · {} · {}",
                format_number(s.cable_len),
                si(r_loop, "Ω"),
                si(c, "F")
            ),
            format!(
                "{} · {}",
                if s.balanced { "balanced" } else { "unbalanced" },
                hum
            ),
        ],
    }
}

/// The load: "Headphones · 300 Ω (520 Ω @ 95 Hz) · 97 dB/V".
pub fn load(s: &Settings) -> BlockFigures {
    let ((z_max, f_max), (z_min, f_min)) = impedance_extremes(s);
    let mut lines = Vec::new();
    match s.load {
        LoadKind::LineInput | LoadKind::ActiveSpeaker => {
            let mut head = format!("{} · {} in", load_name(s.load), si(s.z_load, "Ω"));
            if s.load == LoadKind::ActiveSpeaker {
                head += &format!(" · {} dB @ +4 dBu", format_number(s.sens));
            }
            lines.push(head);
            lines.push(format!("max input {} dBu", signed_db(s.in_max)));
        }
        LoadKind::Headphones | LoadKind::PassiveSpeaker => {
            let peak = if z_max > 1.05 * s.z_load {
                format!(" ({} @ {})", si(z_max, "Ω"), hz(f_max))
            } else {
                String::new()
            };
            let sens = if s.load == LoadKind::Headphones {
                format!("{} dB/V", format_number(s.sens))
            } else {
                format!("{} dB/W/m", format_number(s.sens))
            };
            lines.push(format!(
                "{} · {}{} · {}",
                load_name(s.load),
                si(s.z_load, "Ω"),
                peak,
                sens
            ));
            lines.push(format!(
                "min {} @ {} · rated {}",
                si(z_min, "Ω"),
                hz(f_min),
                si(s.p_max, "W")
            ));
        }
    }
    BlockFigures {
        title: "Load",
        lines,
    }
}

/// The listener: where, how loud, and what the plugin lets you hear.
pub fn listener(s: &Settings, spl: Option<f64>) -> BlockFigures {
    let place = match s.load {
        LoadKind::Headphones => "on the ears".to_string(),
        LoadKind::LineInput => "no transducer".to_string(),
        _ => format!("at {} m", format_number(s.distance)),
    };
    let level = match (s.load, spl) {
        (LoadKind::LineInput, _) => "no sound of its own".to_string(),
        (_, Some(v)) => format!("{v:.1} dB SPL now"),
        (_, None) => "— dB SPL".to_string(),
    };
    let mode = match s.listen {
        ListenMode::Electrical => "listen: Electrical".to_string(),
        ListenMode::Acoustic if s.load == LoadKind::LineInput => {
            "listen: Acoustic = Electrical (no transducer)".to_string()
        }
        ListenMode::Acoustic => format!(
            "listen: Acoustic ({} dB SPL = 0 dBFS)",
            format_number(s.spl_ref)
        ),
        ListenMode::Matched => "listen: Matched (unity at 1 kHz)".to_string(),
    };
    BlockFigures {
        title: "Listener",
        lines: vec![
            place,
            level,
            mode,
            format!("ceiling {} dBFS", signed_db(s.ceiling)),
        ],
    }
}

/// A device picker. Returns the device chosen this frame.
fn picker<'a>(
    ui: &mut Ui,
    id: &str,
    library: &'a Library,
    side: DeviceSide,
    s: &Settings,
    width: f32,
) -> Option<&'a Device> {
    let current = library.matching(side, s).map(|d| d.id.as_str());
    let text = current
        .and_then(|id| library.get(id))
        .map_or("custom".to_string(), |d| d.name.clone());
    let mut chosen = None;
    ComboBox::from_id_salt(id)
        .width(width)
        .truncate()
        .selected_text(RichText::new(text).size(12.0))
        .height(520.0)
        .show_ui(ui, |ui| {
            let mut last_category: Option<Category> = None;
            for d in library.devices.iter().filter(|d| d.side() == side) {
                if last_category != Some(d.category) {
                    ui.label(
                        RichText::new(d.category.label())
                            .color(theme::TEXT_DIM)
                            .size(11.0),
                    );
                    last_category = Some(d.category);
                }
                if ui
                    .selectable_label(current == Some(d.id.as_str()), format!("  {}", d.name))
                    .clicked()
                {
                    chosen = Some(d);
                }
            }
        });
    chosen
}

/// What the user asked for in the chain view.
pub enum ChainAction<'a> {
    ApplyDevice(&'a Device),
}

/// What the chain view did this frame: the user's request, and where the two pickers are.
pub struct ChainOutput<'a> {
    pub action: Option<ChainAction<'a>>,
    /// The output stage's picker and the load's.
    pub pickers: [Rect; 2],
}

/// Draws the chain into `rect`. The block of the output stage and of the load get pickers.
pub fn show<'a>(
    ui: &mut Ui,
    rect: Rect,
    s: &Settings,
    library: &'a Library,
    spl: Option<f64>,
) -> ChainOutput<'a> {
    let blocks = [dac(s), output_stage(s), cable(s), load(s), listener(s, spl)];
    // Relative widths: the blocks with pickers and long figures get more room.
    let weights = [0.8, 1.35, 1.0, 1.35, 1.1];
    let arrow = 22.0;
    let total: f32 = weights.iter().sum();
    let usable = rect.width() - arrow * (blocks.len() - 1) as f32;
    let mut x = rect.left();
    let mut action = None;
    let mut pickers = [Rect::NOTHING; 2];
    let painter = ui.painter_at(rect.expand(2.0));
    for (i, (b, w)) in blocks.iter().zip(weights).enumerate() {
        let width = usable * w / total;
        let r = Rect::from_min_size(Pos2::new(x, rect.top()), Vec2::new(width, rect.height()));
        painter.rect_filled(r, 6.0, theme::PANEL);
        painter.rect_stroke(
            r,
            6.0,
            Stroke::new(1.0, theme::PANEL_EDGE),
            StrokeKind::Inside,
        );
        let mut child = ui.new_child(
            UiBuilder::new()
                .max_rect(r.shrink2(Vec2::new(8.0, 6.0)))
                .layout(egui::Layout::top_down(egui::Align::LEFT)),
        );
        child.label(
            RichText::new(b.title)
                .strong()
                .size(13.5)
                .color(theme::TEXT),
        );
        for (k, line) in b.lines.iter().enumerate() {
            let text = RichText::new(line).size(if k == 0 { 12.5 } else { 11.5 });
            child.label(if k == 0 {
                text.color(theme::TEXT)
            } else {
                text.color(theme::TEXT_DIM)
            });
        }
        let side = match i {
            1 => Some(DeviceSide::Output),
            3 => Some(DeviceSide::Load),
            _ => None,
        };
        if let Some(side) = side {
            let picker_w = r.width() - 16.0;
            let mut bottom = ui.new_child(
                UiBuilder::new()
                    .max_rect(Rect::from_min_max(
                        Pos2::new(r.left() + 8.0, r.bottom() - 28.0),
                        Pos2::new(r.right() - 8.0, r.bottom() - 4.0),
                    ))
                    .layout(egui::Layout::left_to_right(egui::Align::Center)),
            );
            if let Some(d) = picker(
                &mut bottom,
                if i == 1 {
                    "source-device"
                } else {
                    "load-device"
                },
                library,
                side,
                s,
                picker_w,
            ) {
                action = Some(ChainAction::ApplyDevice(d));
            }
            pickers[usize::from(i == 3)] = bottom.min_rect();
        }
        x += width;
        if i + 1 < blocks.len() {
            let y = r.center().y;
            painter.arrow(
                Pos2::new(x + 3.0, y),
                Vec2::new(arrow - 6.0, 0.0),
                Stroke::new(2.0, theme::TEXT_DIM),
            );
            x += arrow;
        }
    }
    ChainOutput { action, pickers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_chain_reads_like_the_brief() {
        let s = Settings::default();
        assert_eq!(
            output_stage(&s).lines[0],
            "Headphone out · 10 Ω · 6 V pk · 150 mA"
        );
        assert_eq!(cable(&s).lines[0], "2 m · 80 mΩ · 200 pF");
        let l = load(&s).lines[0].clone();
        // 300 Ω voice coil, a resonance to 500 Ω at 100 Hz, 97 dB/V.
        assert!(l.starts_with("Headphones · 300 Ω (5"), "{l}");
        assert!(l.ends_with("· 97 dB/V"), "{l}");
    }

    #[test]
    fn the_impedance_peak_is_at_the_resonance() {
        let s = Settings::default();
        let ((z_max, f_max), (z_min, _)) = impedance_extremes(&s);
        // z_peak 500 Ω at f_res 100 Hz; the grid is 400 points over three decades.
        assert!((z_max - 500.0).abs() < 5.0, "{z_max}");
        assert!((f_max / 100.0 - 1.0).abs() < 0.02, "{f_max}");
        assert!(z_min >= 300.0 - 1e-9);
    }
}
