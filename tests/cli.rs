//! The command line: a render equals the plugin processing the same file; every error case
//! exits non-zero, names the problem and leaves no file; the response CSV agrees with the
//! engine; plots are valid images; the README's parameter table is the real one.

mod common;
#[path = "clap_host/host.rs"]
#[allow(dead_code)]
mod host;

use common::*;
use outpath::model::settings::PARAMS;
use outpath::model::Settings;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn outpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outpath"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("outpath-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A stereo test file: a 220 Hz sine left, noise right, at −6 dBFS, 48 kHz.
fn write_input(path: &Path, seconds: f64) -> Vec<Vec<f32>> {
    let fs = 48_000u32;
    let n = (seconds * fs as f64) as usize;
    let left = sine(0.5, 220.0, fs as f64, n);
    let mut rng = host::Rng(99);
    let right: Vec<f32> = (0..n).map(|_| (0.5 * rng.bipolar()) as f32).collect();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: fs,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..n {
        w.write_sample(left[i]).unwrap();
        w.write_sample(right[i]).unwrap();
    }
    w.finalize().unwrap();
    vec![left, right]
}

fn read_output(path: &Path) -> Vec<Vec<f32>> {
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
    assert_eq!(r.spec().bits_per_sample, 32);
    let nch = r.spec().channels as usize;
    let s: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    (0..nch)
        .map(|c| s.iter().skip(c).step_by(nch).copied().collect())
        .collect()
}

/// Processes `input` through the CLAP plugin with parameters set from display text.
fn through_plugin(input: &[Vec<f32>], values: &[(&str, String)]) -> Vec<Vec<f32>> {
    let bundle = host::load(&host::release_clap());
    let mut inst = bundle
        .create("org.outpath.outpath", host::HostOptions::default())
        .expect("plugin");
    let events: Vec<host::ParamEvent> = values
        .iter()
        .map(|(id, text)| {
            let pid = host::param_hash(id);
            let value = inst
                .text_to_value(pid, text)
                .unwrap_or_else(|| panic!("plugin refuses {id} = {text}"));
            host::ParamEvent {
                time: 0,
                id: pid,
                value,
            }
        })
        .collect();
    inst.flush(&events);
    inst.activate(48_000.0, 1, 512);
    inst.start_processing();
    let mut out: Vec<Vec<f32>> = input.to_vec();
    let n = out[0].len();
    let mut pos = 0;
    while pos < n {
        let end = (pos + 512).min(n);
        let (l, r) = out.split_at_mut(1);
        let mut bufs: Vec<&mut [f32]> = vec![&mut l[0][pos..end], &mut r[0][pos..end]];
        inst.process(&mut bufs, None, (end - pos) as u32, &[]);
        pos = end;
    }
    out
}

/// The values a scenario sets, as display text the plugin's parameters accept.
fn scenario_values(
    sets: &[(&str, &str)],
    source: Option<&str>,
    load: Option<&str>,
) -> Vec<(&'static str, String)> {
    let lib = outpath::devices::Library::factory();
    let mut s = Settings::default();
    for id in [source, load].into_iter().flatten() {
        lib.get(id).unwrap().apply(&mut s);
    }
    for (id, v) in sets {
        s.set_text(id, v).unwrap();
    }
    PARAMS
        .iter()
        .map(|p| {
            (
                p.id,
                outpath::model::settings::format_value(p, s.get(p.id).unwrap())
                    .trim_end_matches(p.unit)
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn render_equals_the_plugin() {
    let dir = temp_dir("equal");
    let input = dir.join("in.wav");
    let x = write_input(&input, 2.0);
    let cases: [(&[(&str, &str)], Option<&str>, Option<&str>); 3] = [
        (&[], None, None),
        (
            &[
                ("load", "Passive speaker"),
                ("z_load", "8"),
                ("z_out", "0.5"),
                ("gain", "6"),
                ("hum", "-60"),
            ],
            None,
            None,
        ),
        (
            &[("gain", "-6")],
            Some("iec-61938-headphone-out"),
            Some("beyerdynamic-t-70-p"),
        ),
    ];
    for (i, (sets, source, load)) in cases.iter().enumerate() {
        let out = dir.join(format!("out{i}.wav"));
        let mut args: Vec<String> = vec![
            "render".into(),
            input.display().to_string(),
            out.display().to_string(),
            "--keep-latency".into(),
            "--quiet".into(),
        ];
        for (id, v) in sets.iter() {
            args.push("--set".into());
            args.push(format!("{id}={v}"));
        }
        if let Some(d) = source {
            args.extend(["--source".into(), d.to_string()]);
        }
        if let Some(d) = load {
            args.extend(["--load".into(), d.to_string()]);
        }
        let r = Command::new(env!("CARGO_BIN_EXE_outpath"))
            .args(&args)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let cli = read_output(&out);
        let plugin = through_plugin(&x, &scenario_values(sets, *source, *load));
        // The plugin holds parameters as 32-bit floats through normalised values; the command
        // line uses the exact values. The difference this makes stays far below −100 dBFS,
        // except that it may move a switch between the engine's fast and full paths by a
        // sample: on the right channel's full-band white noise near the rails' knee the two
        // paths differ by up to 6e-5 (its content between 20 and 24 kHz, where the fast path's
        // interpolators are not designed to be exact), so the bound is 1e-4 (−80 dBFS).
        for c in 0..2 {
            let worst = cli[c]
                .iter()
                .zip(&plugin[c])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "case {i} channel {c}: differs by {worst}");
            assert!(cli[c].iter().any(|v| v.abs() > 1e-3), "case {i}: silent");
        }
    }
}

#[test]
fn errors_name_the_problem_and_leave_nothing() {
    let dir = temp_dir("errors");
    let input = dir.join("in.wav");
    write_input(&input, 0.2);
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEnot really audio").unwrap();
    let out = dir.join("out.wav");
    let inp = input.display().to_string();
    let o = out.display().to_string();
    let missing = dir.join("missing.wav").display().to_string();
    let g = garbage.display().to_string();
    let nowhere = dir.join("no/such/folder/out.wav").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["render", &missing, &o], "missing.wav"),
        (vec!["render", &g, &o], "garbage.wav"),
        (
            vec!["render", &inp, &o, "--set", "zout=5"],
            "unknown parameter id 'zout'",
        ),
        (
            vec!["render", &inp, &o, "--load", "no-such-headphone"],
            "unknown device 'no-such-headphone'",
        ),
        (
            vec!["render", &inp, &o, "--source", "sennheiser-hd-600"],
            "--load",
        ),
        (
            vec!["render", &inp, &o, "--set", "z_out=5000"],
            "out of range",
        ),
        (
            vec!["render", &inp, &o, "--set", "z_out=12 V"],
            "expected a number in Ω",
        ),
        (vec!["render", &inp, &o, "--set", "z_out"], "ID=VALUE"),
        (vec!["render", &inp, &nowhere], "does not exist"),
        (vec!["response", "--set", "load=sofa"], "one of: Line input"),
        (vec!["response", "--plot", "x.gif"], ".svg or .png"),
    ];
    for (args, needle) in cases {
        let r = outpath(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{args:?} succeeded");
        assert!(
            err.contains(needle),
            "{args:?}: stderr does not mention '{needle}': {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(!out.exists(), "{args:?} left {o}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{args:?} left {leftovers:?}");
    }
}

#[test]
fn response_csv_agrees_with_the_engine() {
    let dir = temp_dir("response");
    let csv = dir.join("r.csv");
    let sets = [
        ("load", "Headphones"),
        ("z_load", "32"),
        ("z_peak", "90"),
        ("f_res", "80"),
        ("z_out", "120"),
        ("c_out", "220"),
        ("cable_len", "10"),
    ];
    let mut args: Vec<String> = vec!["response".into(), "--csv".into(), csv.display().to_string()];
    for (id, v) in sets {
        args.extend(["--set".into(), format!("{id}={v}")]);
    }
    let r = Command::new(env!("CARGO_BIN_EXE_outpath"))
        .args(&args)
        .output()
        .unwrap();
    assert!(r.status.success());
    // The engine's measured response with the same circuit and nothing nonlinear in the way.
    let mut s = ideal();
    for (id, v) in sets {
        s.set_text(id, v).unwrap();
    }
    let n = 1 << 17;
    let mut x = vec![0.0f32; n];
    x[0] = 0.01;
    let (y, _) = render(&s, 48_000.0, &x);
    let spec = spectrum(&y.iter().map(|&v| v as f64 / 0.01).collect::<Vec<_>>());
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut checked = 0;
    for line in text.lines().skip(1) {
        let cols: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        let (f, db) = (cols[0], cols[1]);
        if !(20.0..=20_000.0).contains(&f) {
            continue;
        }
        let k = (f * n as f64 / 48_000.0).round() as usize;
        let measured = 20.0 * (spec[k].norm() / dc_blocker(f)).log10();
        assert!(
            (measured - db).abs() < 0.1,
            "{f} Hz: engine {measured} dB, CSV {db} dB"
        );
        checked += 1;
    }
    assert!(checked > 200);
}

#[test]
fn plots_are_valid_images() {
    let dir = temp_dir("plot");
    let png = dir.join("r.png");
    let svg = dir.join("r.svg");
    for p in [&png, &svg] {
        let r = outpath(&[
            "response",
            "--source",
            "iec-61938-headphone-out",
            "--load",
            "sennheiser-hd-600",
            "--plot",
            &p.display().to_string(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert!(width >= 600 && height >= 400, "{width}×{height}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.matches("<polyline").count() == 2);
}

#[test]
fn demo_renders_without_files_and_reports_json() {
    let dir = temp_dir("demo");
    let out = dir.join("demo.wav");
    let json = dir.join("demo.json");
    let r = outpath(&[
        "render",
        "--demo",
        &out.display().to_string(),
        "--report",
        &json.display().to_string(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(stdout.contains("Operating point") && stdout.contains("latency"));
    let audio = read_output(&out);
    assert_eq!(audio.len(), 2);
    assert_eq!(audio[0].len(), 8 * 48_000);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "settings",
        "latency",
        "operating_point",
        "counts",
        "warnings",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(report["settings"].as_object().unwrap().len(), PARAMS.len());
    assert!(report["operating_point"]["v_rms"].as_f64().unwrap() > 0.1);
}

#[test]
fn devices_list_as_text_and_json() {
    let r = outpath(&["devices"]);
    assert!(r.status.success());
    assert!(String::from_utf8_lossy(&r.stdout).contains("sennheiser-hd-600"));
    let r = outpath(&["devices", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(list.as_array().unwrap().len() >= 32);
}

#[test]
fn readme_parameter_table_is_the_real_one() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // Only the table of the "## Parameters" section (the warnings table has the same row shape).
    let section = readme
        .split("\n## Parameters")
        .nth(1)
        .expect("a Parameters section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<Vec<String>> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            cells[1..cells.len() - 1].to_vec()
        })
        .collect();
    assert_eq!(rows.len(), PARAMS.len());
    for (row, p) in rows.iter().zip(PARAMS) {
        assert_eq!(row[0], p.id);
        if let outpath::model::settings::ParamKind::Float {
            min, max, default, ..
        } = p.kind
        {
            let nums: Vec<f64> = row[3]
                .split(['…', '('])
                .take(2)
                .map(|v| v.trim().parse().unwrap())
                .collect();
            assert_eq!(
                (nums[0], nums[1], row[4].parse::<f64>().unwrap()),
                (min, max, default),
                "{}",
                p.id
            );
        }
    }
}
