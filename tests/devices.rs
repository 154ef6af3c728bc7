//! The device library from the outside: every factory preset is valid physics with its source
//! named, derived figures come out of the published ones by the formulas written here, and a
//! broken user file is reported by file and field without taking anything else down.

use outpath::devices::{Category, Device, DeviceSide, Library, LoadProblem, ThieleSmall};
use outpath::model::settings::{spec, Side};
use outpath::model::{ClipShape, LoadKind, OutputKind, Settings};
use std::path::{Path, PathBuf};

fn factory() -> Library {
    let lib = Library::factory();
    assert!(
        lib.problems.is_empty(),
        "factory problems:\n{}",
        problems_text(&lib.problems)
    );
    lib
}

fn problems_text(problems: &[LoadProblem]) -> String {
    problems.iter().map(|p| format!("  {p}\n")).collect()
}

fn value(d: &Device, id: &str) -> f64 {
    d.values()
        .into_iter()
        .find(|(p, _)| p.id == id)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{} does not set {id}", d.id))
}

fn sets(d: &Device, id: &str) -> bool {
    d.set.contains_key(id)
}

/// Peak volts of a full-scale sine at `ref_level` dBu: √2 · 0.7746 V · 10^(dBu/20).
fn full_scale_peak(ref_level_dbu: f64) -> f64 {
    2f64.sqrt() * 0.6f64.sqrt() * 10f64.powf(ref_level_dbu / 20.0)
}

#[test]
fn every_factory_device_parses_and_validates() {
    let lib = factory();
    for d in &lib.devices {
        // Validating again must change nothing: derived values agree with themselves.
        assert_eq!(d.clone().validated().as_ref(), Ok(d), "{}", d.id);
        let mut s = Settings::default();
        d.apply(&mut s);
        assert!(d.matches(&s), "{} does not match the values it wrote", d.id);
    }
}

#[test]
fn each_device_is_recognised_by_its_values() {
    // The editor names the first device whose values the settings hold: no preset may hide
    // behind another one's values.
    let lib = factory();
    for d in &lib.devices {
        let mut s = Settings::default();
        d.apply(&mut s);
        assert_eq!(lib.matching(d.side(), &s).map(|m| &m.id), Some(&d.id));
    }
}

#[test]
fn library_spans_the_connections() {
    let lib = factory();
    let outputs = lib.outputs().count();
    let loads = lib.loads().count();
    assert!(outputs >= 12, "{outputs} output stages");
    assert!(loads >= 20, "{loads} loads");
    assert_eq!(outputs + loads, lib.devices.len());
    for c in Category::ALL {
        assert!(
            lib.devices.iter().any(|d| d.category == c),
            "no {} device",
            c.id()
        );
    }
    let zs: Vec<f64> = lib
        .loads()
        .filter(|d| d.category == Category::Headphones)
        .map(|d| value(d, "z_load"))
        .collect();
    let (lo, hi) = zs
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), z| (lo.min(*z), hi.max(*z)));
    assert!(lo <= 16.0 && hi >= 600.0, "headphones span {lo}–{hi} Ω");
    assert!(
        lib.outputs().any(|d| value(d, "z_out") <= 0.1),
        "no near-0 Ω amplifier"
    );
    assert!(
        lib.outputs().any(|d| value(d, "z_out") == 120.0),
        "no IEC 61938 120 Ω out"
    );
    assert!(
        lib.outputs()
            .any(|d| value(d, "clip_shape") == 2.0 && value(d, "z_out") >= 1.0),
        "no tube amp"
    );
    assert!(
        lib.outputs()
            .any(|d| value(d, "c_out") > 0.0 && d.category == Category::LineOut),
        "no AC-coupled line out"
    );
    assert!(lib
        .loads()
        .any(|d| d.category == Category::GuitarCab && (value(d, "z_load") - 16.0).abs() < 4.0));
    assert!(lib
        .loads()
        .any(|d| d.category == Category::PassiveSpeaker && value(d, "z_load") < 4.0));
}

#[test]
fn ids_are_unique_kebab_case() {
    let lib = factory();
    for (i, d) in lib.devices.iter().enumerate() {
        assert!(outpath::devices::is_kebab_case(&d.id), "{}", d.id);
        assert!(
            lib.devices[i + 1..].iter().all(|e| e.id != d.id),
            "{} twice",
            d.id
        );
        assert_eq!(lib.get(&d.id).map(|e| &e.name), Some(&d.name));
    }
}

#[test]
fn every_device_names_its_source() {
    for d in &factory().devices {
        if d.is_archetype() {
            assert!(
                d.name.starts_with("Archetype: "),
                "{}: an archetype is named as one",
                d.id
            );
        } else {
            assert!(
                d.source.contains("http"),
                "{}: a real product cites where its figures come from",
                d.id
            );
            assert!(!d.name.to_lowercase().contains("archetype"), "{}", d.id);
        }
    }
}

#[test]
fn devices_set_their_side_and_only_their_side() {
    for d in &factory().devices {
        let mut s = Settings::default();
        d.apply(&mut s);
        for id in d.set.keys() {
            let p = spec(id).unwrap();
            match d.side() {
                DeviceSide::Output => assert!(
                    matches!(p.side, Side::Source | Side::Cable),
                    "{}: {id}",
                    d.id
                ),
                DeviceSide::Load => {
                    assert!(p.side == Side::Load || id == "distance", "{}: {id}", d.id)
                }
            }
        }
        // Each preset fixes the circuit of its side, whatever was chosen before it.
        let required: &[&str] = match (d.category.output_kind(), s.load) {
            (Some(_), _) => &[
                "output",
                "ref_level",
                "gain",
                "z_out",
                "c_out",
                "v_clip",
                "i_max",
                "clip_shape",
                "color",
                "noise",
                "dc_offset",
            ],
            (None, LoadKind::LineInput) => &["load", "z_load", "in_max"],
            (None, LoadKind::ActiveSpeaker) => &["load", "z_load", "sens", "in_max"],
            (None, _) => &["load", "z_load", "l_coil", "z_peak", "sens", "p_max"],
        };
        for id in required {
            assert!(sets(d, id), "{} does not set {id}", d.id);
        }
        if s.load.is_transducer() && d.side() == DeviceSide::Load && s.z_peak > s.z_load {
            assert!(
                sets(d, "f_res") && sets(d, "q_res"),
                "{}: a resonance needs f_res and q_res",
                d.id
            );
        }
        if let Some(k) = d.category.output_kind() {
            assert_eq!(s.output, k, "{}", d.id);
        }
        if let Some(k) = d.category.load_kind() {
            assert_eq!(s.load, k, "{}", d.id);
        }
    }
}

#[test]
fn line_outs_reach_full_scale_before_their_rails() {
    for d in factory()
        .outputs()
        .filter(|d| d.category == Category::LineOut)
    {
        let v_fs = full_scale_peak(value(d, "ref_level") + value(d, "gain"));
        assert!(
            value(d, "v_clip") >= v_fs,
            "{}: rails {} V below full scale {v_fs:.2} V",
            d.id,
            value(d, "v_clip")
        );
    }
}

#[test]
fn outputs_reach_full_scale_at_most_just_below_clipping() {
    // Headphone outs at full volume and power amps at full scale sit just under their rails,
    // at most 1.5 dB below: full scale is the device's maximum.
    for d in factory()
        .outputs()
        .filter(|d| d.category != Category::LineOut)
    {
        let v_fs = full_scale_peak(value(d, "ref_level") + value(d, "gain"));
        let v_clip = value(d, "v_clip");
        assert!(
            v_fs <= v_clip && v_fs >= v_clip * 10f64.powf(-1.5 / 20.0),
            "{}: full scale {v_fs:.2} V, rails {v_clip} V",
            d.id
        );
    }
}

#[test]
fn qsc_gx3_gives_its_rated_power() {
    // 1.2 V rms sensitivity and 32.2 dB gain: 1.2 · 10^(32.2/20) = 48.9 V rms, 299 W into 8 Ω.
    let d = factory().get("qsc-gx3").cloned().unwrap();
    let v_rms = full_scale_peak(value(&d, "ref_level") + value(&d, "gain")) / 2f64.sqrt();
    assert!(
        (v_rms * v_rms / 8.0 - 300.0).abs() / 300.0 < 0.01,
        "{} W",
        v_rms * v_rms / 8.0
    );
    // Rails from the 8 Ω rating, current from the 4 Ω rating: V = √(2·300·8), I = √(2·425/4).
    assert!((value(&d, "v_clip") - (2.0 * 300.0 * 8.0f64).sqrt()).abs() < 0.05);
    assert!((value(&d, "i_max") / 1000.0 - (2.0 * 425.0 / 4.0f64).sqrt()).abs() < 0.01);
}

#[test]
fn power_amps_look_like_power_amps() {
    // DESIGN §1: solid-state power amps have 0.01–0.1 Ω of output impedance and swing their
    // rails into 8 Ω before the current limit bites; tube amps have ohms and clip like tubes.
    // Either way the rails reach speaker level (10–50 V).
    let tube = ClipShape::ALL
        .iter()
        .position(|c| *c == ClipShape::Tube)
        .unwrap() as f64;
    for d in factory()
        .outputs()
        .filter(|d| d.category == Category::SpeakerOut)
    {
        let (z_out, v_clip, i_max_a) = (
            value(d, "z_out"),
            value(d, "v_clip"),
            value(d, "i_max") / 1000.0,
        );
        if value(d, "clip_shape") == tube {
            assert!(
                (1.0..=10.0).contains(&z_out),
                "{}: tube amp with {z_out} Ω",
                d.id
            );
        } else {
            assert!(
                (0.01..=0.1).contains(&z_out),
                "{}: solid-state amp with {z_out} Ω",
                d.id
            );
            assert!(
                i_max_a >= v_clip / (8.0 + z_out),
                "{}: {i_max_a} A cannot swing {v_clip} V into 8 Ω",
                d.id
            );
        }
        assert!(
            v_clip / 2f64.sqrt() >= 10.0,
            "{}: {v_clip} V peak is not speaker level",
            d.id
        );
    }
}

#[test]
fn thiele_small_peaks_are_recomputed_from_the_datasheet() {
    let lib = factory();
    let ts: Vec<(&Device, ThieleSmall)> = lib
        .loads()
        .filter_map(|d| d.thiele_small.map(|t| (d, t)))
        .collect();
    assert!(ts.len() >= 8, "{} Thiele–Small loads", ts.len());
    for (d, t) in ts {
        // At fs the motional branch is purely resistive: Res = Re·Qms/Qes, in series with Re
        // and the coil's jωLe. |Z(fs)| = |Re + Re·Qms/Qes + j·2π·fs·Le|.
        let res = t.re * t.qms / t.qes;
        let x_le = 2.0 * std::f64::consts::PI * t.fs * t.le_mh.unwrap_or(0.0) * 1e-3;
        let z_fs = ((t.re + res).powi(2) + x_le.powi(2)).sqrt();
        let z_peak = value(d, "z_peak");
        assert!(
            (z_peak - z_fs).abs() / z_fs < 0.01,
            "{}: z_peak {z_peak} Ω vs |Z(fs)| {z_fs:.2} Ω",
            d.id
        );
        assert_eq!(value(d, "z_load"), t.re, "{}", d.id);
        assert_eq!(value(d, "f_res"), t.fs, "{}", d.id);
        assert_eq!(value(d, "q_res"), t.qms, "{}", d.id);
        if let Some(le) = t.le_mh {
            assert_eq!(value(d, "l_coil"), le, "{}", d.id);
        }
    }
}

#[test]
fn headphone_sensitivity_per_milliwatt_becomes_per_volt() {
    let lib = factory();
    let given: Vec<&Device> = lib.loads().filter(|d| d.sens_mw.is_some()).collect();
    assert!(given.len() >= 8);
    for d in given {
        // 1 mW into Z is √(Z/1000) V, so 1 V is 1000/Z mW: sens_V = sens_mW + 10·log10(1000/Z).
        let z = value(d, "z_load");
        let expected = d.sens_mw.unwrap() + 10.0 * (1000.0 / z).log10();
        assert!(
            (value(d, "sens") - expected).abs() < 1e-9,
            "{}: {} vs {expected}",
            d.id,
            value(d, "sens")
        );
    }
    // The HD 600: 97 dB/mW at 300 Ω is 97 + 10·log10(3.333) = 102.23 dB/V.
    let hd600 = lib.get("sennheiser-hd-600").unwrap();
    assert!((value(hd600, "sens") - 102.229).abs() < 1e-3);
}

#[test]
fn sensitivity_at_a_voltage_gives_that_spl() {
    let lib = factory();
    for d in lib.loads().filter(|d| d.sens_at.is_some()) {
        let at = d.sens_at.unwrap();
        let z = value(d, "z_load");
        let sens = value(d, "sens");
        // The SPL formulas of DESIGN §2 at 1 m, driven with at.v_rms:
        let spl = match d.category.load_kind().unwrap() {
            LoadKind::Headphones => sens + 20.0 * at.v_rms.log10(),
            LoadKind::PassiveSpeaker => sens + 10.0 * (at.v_rms * at.v_rms / z).log10(),
            LoadKind::ActiveSpeaker => {
                sens + 20.0 * (at.v_rms / (0.6f64.sqrt() * 10f64.powf(4.0 / 20.0))).log10()
            }
            LoadKind::LineInput => unreachable!("a line input has no sensitivity"),
        };
        assert!(
            (spl - at.db_spl).abs() < 1e-6,
            "{}: {spl} dB SPL vs {} published",
            d.id,
            at.db_spl
        );
    }
    // Genelec's −6 dBu for 100 dB SPL is 110 dB SPL for +4 dBu.
    assert!((value(lib.get("genelec-8020b").unwrap(), "sens") - 110.0).abs() < 0.01);
    // Etymotic's 90 dB at 0.1 V is 110 dB at 1 V.
    assert!((value(lib.get("etymotic-er-4s").unwrap(), "sens") - 110.0).abs() < 1e-9);
}

#[test]
fn applying_a_device_sets_its_side_and_keeps_the_other() {
    let lib = factory();
    let mut s = Settings::default();
    lib.get("pro-line-out-plus24").unwrap().apply(&mut s);
    lib.get("sennheiser-hd-600").unwrap().apply(&mut s);
    assert_eq!(s.output, OutputKind::Line);
    assert_eq!(s.ref_level, 24.0);
    assert!(s.balanced);
    assert_eq!(s.load, LoadKind::Headphones);
    assert_eq!(s.z_load, 300.0);
    assert_eq!(
        lib.matching(DeviceSide::Output, &s).map(|d| d.id.as_str()),
        Some("pro-line-out-plus24")
    );
    assert_eq!(
        lib.matching(DeviceSide::Load, &s).map(|d| d.id.as_str()),
        Some("sennheiser-hd-600")
    );
    // A value that went through the host's 32-bit parameter still matches…
    s.z_out = (s.z_out as f32) as f64 * (1.0 + 1e-7);
    assert!(lib.get("pro-line-out-plus24").unwrap().matches(&s));
    // …one the user moved does not: the editor says "custom".
    s.z_out = 101.0;
    assert!(lib.matching(DeviceSide::Output, &s).is_none());
    assert!(lib.get("sennheiser-hd-600").unwrap().matches(&s));
}

// ---- user files -------------------------------------------------------------------------

/// A fresh folder under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("outpath-devices-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(file), text).unwrap();
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const GOOD_AMP_TOML: &str = r#"
id = "my-amp"
name = "My amp"
category = "speaker-out"
source = "archetype"

[set]
output = "Speaker"
z_out = "0.1 Ω"
v_clip = 40
i_max = 8000
clip_shape = "soft"
"#;

const GOOD_PHONES_JSON: &str = r#"{
  "id": "my-phones",
  "name": "My phones",
  "category": "headphones",
  "source": "archetype",
  "sens_mw": 100,
  "set": { "load": "headphones", "z_load": 32, "z_peak": 40, "f_res": 80, "q_res": 2 }
}"#;

fn problem_for<'a>(lib: &'a Library, file: &str) -> &'a LoadProblem {
    lib.problems
        .iter()
        .find(|p| p.file.file_name().is_some_and(|f| f == file))
        .unwrap_or_else(|| {
            panic!(
                "no problem reported for {file}:\n{}",
                problems_text(&lib.problems)
            )
        })
}

#[test]
fn good_user_files_load_beside_the_factory() {
    let dir = TempDir::new("good");
    dir.write("amp.toml", GOOD_AMP_TOML)
        .write("phones.JSON", GOOD_PHONES_JSON)
        .write("readme.txt", "not a device");
    let lib = Library::load(Some(dir.path()));
    assert!(lib.problems.is_empty(), "{}", problems_text(&lib.problems));
    assert_eq!(lib.devices.len(), factory().devices.len() + 2);
    let amp = lib.get("my-amp").unwrap();
    assert_eq!(amp.side(), DeviceSide::Output);
    let mut s = Settings::default();
    amp.apply(&mut s);
    assert_eq!(
        (s.output, s.z_out, s.v_clip, s.clip_shape),
        (OutputKind::Speaker, 0.1, 40.0, ClipShape::Soft)
    );
    let phones = lib.get("my-phones").unwrap();
    // 100 dB/mW at 32 Ω: 100 + 10·log10(1000/32) = 114.95 dB/V.
    assert!((value(phones, "sens") - (100.0 + 10.0 * (1000.0f64 / 32.0).log10())).abs() < 1e-9);
}

#[test]
fn missing_user_folder_is_no_problem() {
    let lib = Library::load(Some(Path::new("/nonexistent/outpath/devices")));
    assert!(lib.problems.is_empty());
    assert_eq!(lib.devices.len(), factory().devices.len());
    assert_eq!(Library::load(None).devices.len(), lib.devices.len());
}

#[test]
fn broken_user_files_are_reported_by_file_and_field() {
    let dir = TempDir::new("broken");
    dir.write("good.toml", GOOD_AMP_TOML)
        .write(
            "bad-syntax.toml",
            "id = \"x\"\nname = \"X\"\n[set]\nz_out = 12 ohm\n",
        )
        .write(
            "bad-syntax.json",
            "{ \"id\": \"y\",\n  \"name\": \"Y\"\n  \"category\": \"line-out\" }",
        )
        .write(
            "unknown-id.toml",
            &GOOD_AMP_TOML
                .replace("my-amp", "unknown")
                .replace("v_clip = 40", "zout = 40"),
        )
        .write(
            "out-of-range.toml",
            &GOOD_AMP_TOML
                .replace("my-amp", "range")
                .replace("z_out = \"0.1 Ω\"", "z_out = 5000"),
        )
        .write(
            "wrong-side.toml",
            &GOOD_AMP_TOML
                .replace("my-amp", "side")
                .replace("v_clip = 40", "z_load = 8"),
        )
        .write(
            "duplicate.json",
            &GOOD_PHONES_JSON.replace("my-phones", "sennheiser-hd-600"),
        )
        .write(
            "other-amp.toml",
            &GOOD_AMP_TOML.replace("My amp", "Another amp"),
        )
        .write(
            "bad-category.toml",
            &GOOD_AMP_TOML
                .replace("my-amp", "cat")
                .replace("speaker-out", "speaker"),
        )
        .write(
            "missing-id.toml",
            &GOOD_AMP_TOML.replace("id = \"my-amp\"", ""),
        )
        .write(
            "bad-type.json",
            &GOOD_PHONES_JSON.replace("\"z_load\": 32", "\"z_load\": [32]"),
        )
        .write(
            "wrong-kind.toml",
            &GOOD_AMP_TOML
                .replace("my-amp", "kind")
                .replace("output = \"Speaker\"", "output = \"Line\""),
        );
    let lib = Library::load(Some(dir.path()));

    // The factory and the good file are all there; nothing else got in.
    assert_eq!(
        lib.devices.len(),
        factory().devices.len() + 1,
        "{}",
        problems_text(&lib.problems)
    );
    assert_eq!(lib.get("my-amp").unwrap().name, "My amp");
    assert_eq!(
        lib.get("sennheiser-hd-600").unwrap().name,
        "Sennheiser HD 600"
    );
    assert_eq!(lib.problems.len(), 11, "{}", problems_text(&lib.problems));

    let expect = |file: &str, field: Option<&str>, words: &[&str]| {
        let p = problem_for(&lib, file);
        assert_eq!(p.field.as_deref(), field, "{p}");
        let text = p.to_string();
        assert!(text.contains(file), "{text}");
        if let Some(field) = field {
            assert!(text.contains(&format!("field {field}: ")), "{text}");
        }
        for w in words {
            assert!(text.contains(w), "'{w}' not in: {text}");
        }
    };
    expect(
        "bad-syntax.toml",
        Some("set.z_out"),
        &["not valid TOML", "line 4"],
    );
    expect("bad-syntax.json", None, &["not valid JSON", "line 3"]);
    expect(
        "unknown-id.toml",
        Some("set.zout"),
        &["unknown parameter id 'zout'"],
    );
    expect(
        "out-of-range.toml",
        Some("set.z_out"),
        &["z_out = 5000 Ω is out of range (0.001 … 2000 Ω)"],
    );
    expect(
        "wrong-side.toml",
        Some("set.z_load"),
        &["z_load belongs to the load", "speaker-out"],
    );
    expect(
        "duplicate.json",
        Some("id"),
        &["'sennheiser-hd-600' is already taken by the factory device \"Sennheiser HD 600\""],
    );
    expect(
        "other-amp.toml",
        Some("id"),
        &["'my-amp' is already taken by \"My amp\""],
    );
    expect(
        "bad-category.toml",
        Some("category"),
        &["unknown category 'speaker'", "speaker-out"],
    );
    expect("missing-id.toml", Some("id"), &["missing"]);
    expect("bad-type.json", Some("set.z_load"), &["invalid type"]);
    expect(
        "wrong-kind.toml",
        Some("set.output"),
        &["output = Line does not fit the category speaker-out"],
    );
}

#[test]
fn problem_names_file_field_and_reason_on_one_line() {
    let p = LoadProblem {
        file: PathBuf::from("/tmp/amp.toml"),
        field: Some("set.z_out".into()),
        message: "z_out = 5000 Ω is out of range (0.001 … 2000 Ω)".into(),
    };
    assert_eq!(
        p.to_string(),
        "/tmp/amp.toml: field set.z_out: z_out = 5000 Ω is out of range (0.001 … 2000 Ω)"
    );
    let whole = LoadProblem {
        file: PathBuf::from("/tmp/amp.json"),
        field: None,
        message: "not valid JSON".into(),
    };
    assert_eq!(whole.to_string(), "/tmp/amp.json: not valid JSON");
}

#[test]
fn derived_inputs_are_checked_against_explicit_values() {
    let ts = r#"
id = "woofer"
name = "Woofer"
category = "passive-speaker"
source = "archetype"
thiele_small = { re = 6.0, fs = 40, qms = 3.0, qes = 0.4 }

[set]
load = "Passive speaker"
"#;
    // Re·(1 + Qms/Qes) = 6·(1 + 7.5) = 51 Ω.
    let d = Device::from_toml_str(ts).unwrap();
    assert!((value(&d, "z_peak") - 51.0).abs() < 1e-9);
    assert!(Device::from_toml_str(&format!("{ts}z_peak = 51\n")).is_ok());
    let e = Device::from_toml_str(&format!("{ts}z_peak = 60\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("set.z_peak"), "{e}");
    let e = Device::from_toml_str(&ts.replace("qes = 0.4", "qes = 0")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("thiele_small.qes"), "{e}");
    let e = Device::from_toml_str(&ts.replace("qes = 0.4", "q = 0.4")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("thiele_small"), "{e}");
    // A headphone figure per milliwatt on a speaker is refused.
    let e = Device::from_toml_str(&ts.replace("thiele_small", "sens_mw = 90\nthiele_small"))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sens_mw"), "{e}");
}

#[test]
fn a_device_survives_a_round_trip_through_json_and_toml() {
    // serde_json may read a float back one ulp off, so values compare as settings do.
    let same = |a: &Device, b: &Device| {
        (a.id == b.id
            && a.name == b.name
            && a.category == b.category
            && a.source == b.source
            && a.notes == b.notes)
            && a.set.keys().eq(b.set.keys())
            && a.values()
                .iter()
                .zip(b.values())
                .all(|((p, x), (_, y))| outpath::devices::same_value(p, *x, y))
    };
    for d in &factory().devices {
        let json = serde_json::to_string(d).unwrap();
        assert!(
            same(&Device::from_json_str(&json).unwrap(), d),
            "{}\n{json}",
            d.id
        );
        let toml = toml::to_string(d).unwrap();
        assert!(
            same(&Device::from_toml_str(&toml).unwrap(), d),
            "{}\n{toml}",
            d.id
        );
    }
}

#[test]
fn resonance_below_the_resistance_means_none() {
    let text = r#"
id = "dummy-load"
name = "8 Ω dummy load"
category = "passive-speaker"
source = "archetype"

[set]
load = "Passive speaker"
z_load = 8
z_peak = 1
l_coil = 0
"#;
    let d = Device::from_toml_str(text).unwrap();
    let mut s = Settings::default();
    d.apply(&mut s);
    assert!(outpath::model::load::LoadCircuit::from_settings(&s)
        .resonance
        .is_none());
}
