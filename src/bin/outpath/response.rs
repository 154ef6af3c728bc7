//! `outpath response`: the predicted small-signal response H(f) = v_load / v_int of a
//! connection, beside the load's impedance curve; as a table, CSV, SVG or PNG.

use crate::{scenario, write_atomically, CliError, CliResult, ScenarioArgs};
use clap::Args;
use outpath::model::load::log_grid;
use outpath::model::network::Network;
use outpath::model::settings::format_number;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const F_LO: f64 = 10.0;
const F_HI: f64 = 40_000.0;
const POINTS: usize = 361;

#[derive(Args, Debug)]
pub struct ResponseArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Write the response as CSV: frequency_hz, magnitude_db, phase_deg, load_ohm, load_phase_deg.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Draw the response beside the load's impedance as FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE.png|svg")]
    plot: Option<PathBuf>,
}

/// One row of the response.
pub struct Point {
    pub f: f64,
    pub db: f64,
    pub phase_deg: f64,
    pub z_load: f64,
    pub z_phase_deg: f64,
}

pub fn points(net: &Network) -> Vec<Point> {
    log_grid(F_LO, F_HI, POINTS)
        .map(|f| {
            let h = net.response(f);
            let z = net.load.impedance(f);
            Point {
                f,
                db: 20.0 * h.norm().log10(),
                phase_deg: h.arg().to_degrees(),
                z_load: z.norm(),
                z_phase_deg: z.arg().to_degrees(),
            }
        })
        .collect()
}

pub fn run(a: ResponseArgs) -> CliResult<()> {
    if let Some(p) = &a.plot {
        if plot_format(p).is_none() {
            return Err(CliError(format!(
                "--plot {}: the file must end in .svg or .png",
                p.display()
            )));
        }
    }
    let sc = scenario::build(&a.scenario)?;
    let net = Network::from_settings(&sc.settings);
    let pts = points(&net);
    println!("Predicted response v_load/v_int and load impedance:");
    println!(
        "  {:>9}  {:>9}  {:>8}  {:>10}",
        "Hz", "dB", "phase°", "|Z_L| Ω"
    );
    for p in pts.iter().filter(|p| third_octave(p.f)) {
        println!(
            "  {:>9}  {:>9.3}  {:>8.2}  {:>10}",
            format_number(p.f),
            p.db,
            p.phase_deg,
            format_number(p.z_load)
        );
    }
    if let Some(path) = &a.csv {
        let mut csv = String::from("frequency_hz,magnitude_db,phase_deg,load_ohm,load_phase_deg\n");
        for p in &pts {
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                p.f, p.db, p.phase_deg, p.z_load, p.z_phase_deg
            );
        }
        write_atomically(path, |tmp| {
            std::fs::write(tmp, csv)
                .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
        })?;
    }
    if let Some(path) = &a.plot {
        let svg = svg(&pts, &title(&sc));
        match plot_format(path) {
            Some(Format::Svg) => write_atomically(path, |tmp| {
                std::fs::write(tmp, &svg)
                    .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
            })?,
            Some(Format::Png) => {
                let png = rasterise(&svg)?;
                write_atomically(path, |tmp| {
                    std::fs::write(tmp, png)
                        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
                })?
            }
            None => unreachable!("checked above"),
        }
    }
    Ok(())
}

/// Frequencies near the 1/3-octave centres, for the printed table.
fn third_octave(f: f64) -> bool {
    let n = (10.0 * f.log10()).round();
    (10.0 * f.log10() - n).abs() < 0.05 && f >= 20.0 && f <= 20_500.0
}

enum Format {
    Svg,
    Png,
}

fn plot_format(p: &Path) -> Option<Format> {
    match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "svg" => Some(Format::Svg),
        "png" => Some(Format::Png),
        _ => None,
    }
}

fn title(sc: &scenario::Scenario) -> String {
    let s = &sc.settings;
    let src = sc.source.clone().unwrap_or_else(|| {
        format!(
            "{} out {} Ω",
            s.text("output").unwrap_or_default(),
            format_number(s.z_out)
        )
    });
    let load = sc.load.clone().unwrap_or_else(|| {
        format!(
            "{} {} Ω",
            s.text("load").unwrap_or_default(),
            format_number(s.z_load)
        )
    });
    format!("{src} into {load}")
}

const W: f64 = 900.0;
const H: f64 = 620.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;

/// Two stacked panels on a shared log-frequency axis: |H| in dB and |Z_L| in Ω (log).
pub fn svg(pts: &[Point], title: &str) -> String {
    let x = |f: f64| LEFT + (f / F_LO).ln() / (F_HI / F_LO).ln() * (W - LEFT - RIGHT);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Ubuntu, sans-serif" font-size="12">"#
    );
    let _ = write!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="24" font-size="16" fill="#222">{}</text>"##,
        escape(title)
    );

    // Response panel: a range that holds the curve with a little room, at least 6 dB tall.
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.db), b.max(p.db))
        });
    let (db_lo, db_hi) = (
        (lo - 1.0).floor().min(hi - 6.0).max(-120.0),
        (hi + 1.0).ceil().min(20.0),
    );
    let panel1 = (44.0, 300.0);
    let y1 = |db: f64| panel1.1 - (db - db_lo) / (db_hi - db_lo) * (panel1.1 - panel1.0);
    grid(&mut s, &x, panel1, "Response v_load / v_int (dB)");
    let step = nice_step(db_hi - db_lo);
    let mut d = (db_lo / step).ceil() * step;
    while d <= db_hi + 1e-9 {
        let y = y1(d);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e6e6e6"/><text x="{}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            format_number(d)
        );
        d += step;
    }
    curve(&mut s, pts.iter().map(|p| (x(p.f), y1(p.db))), "#1f5fbf");

    // Impedance panel, log scale over whole decades.
    let (zlo, zhi) = pts.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.z_load), b.max(p.z_load))
    });
    let (dec_lo, dec_hi) = (
        zlo.log10().floor(),
        (zhi.log10().ceil()).max(zlo.log10().floor() + 1.0),
    );
    let panel2 = (350.0, 580.0);
    let y2 = |z: f64| panel2.1 - (z.log10() - dec_lo) / (dec_hi - dec_lo) * (panel2.1 - panel2.0);
    grid(&mut s, &x, panel2, "Load impedance |Z_L| (Ω)");
    let mut dec = dec_lo;
    while dec <= dec_hi + 1e-9 {
        let y = y2(10f64.powf(dec));
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e6e6e6"/><text x="{}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            format_number(10f64.powf(dec))
        );
        dec += 1.0;
    }
    curve(
        &mut s,
        pts.iter().map(|p| (x(p.f), y2(p.z_load))),
        "#c0392b",
    );
    for (f, label) in [
        (10.0, "10"),
        (100.0, "100"),
        (1_000.0, "1k"),
        (10_000.0, "10k"),
    ] {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#444">{label}</text>"##,
            x(f),
            panel2.1 + 18.0
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#444">Hz</text>"##,
        W - RIGHT,
        panel2.1 + 34.0
    );
    s += "</svg>\n";
    s
}

fn grid(s: &mut String, x: &impl Fn(f64) -> f64, (top, bottom): (f64, f64), label: &str) {
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{top}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        W - LEFT - RIGHT,
        bottom - top
    );
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" fill="#222">{}</text>"##,
        LEFT + 6.0,
        top + 16.0,
        escape(label)
    );
    let mut decade = F_LO;
    while decade < F_HI {
        for m in 1..10 {
            let f = decade * m as f64;
            if f > F_HI {
                break;
            }
            let c = if m == 1 { "#cccccc" } else { "#eeeeee" };
            let _ = write!(
                s,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{bottom}" stroke="{c}"/>"#,
                x(f)
            );
        }
        decade *= 10.0;
    }
}

fn curve(s: &mut String, pts: impl Iterator<Item = (f64, f64)>, colour: &str) {
    let d: Vec<String> = pts.map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = write!(
        s,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
        d.join(" ")
    );
}

fn nice_step(span: f64) -> f64 {
    let raw = span / 6.0;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the SVG to PNG with the Ubuntu font that ships with egui, so no system fonts are needed.
fn rasterise(svg: &str) -> CliResult<Vec<u8>> {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut()
        .load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
    opt.font_family = "Ubuntu".into();
    let tree =
        resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| CliError(format!("plot: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| CliError("plot: empty image".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| CliError(format!("plot: {e}")))
}
