//! Warnings (DESIGN §5) for the connections of DESIGN §1 with devices from the factory library,
//! each threshold just below and just above its trigger, the reported response against the
//! model's, and the hold. Where a warning depends on the operating point, the operating point is
//! measured by rendering a sine through the engine at 48 kHz, never written by hand.

use outpath::dsp::Engine;
use outpath::model::acoustics::spl_at_one_volt;
use outpath::model::network::Network;
use outpath::model::units::{db_to_gain, dbu_to_vrms, full_scale_peak_volts, vrms_to_dbu};
use outpath::model::warnings::{
    self, dynamic, structural, Severity, Warning, WarningHold, AMP_HEADROOM_RATIO,
    CURRENT_LIMIT_NEAR, FULL_SCALE_SPL_DB, HOLD_SECONDS, HUM_AUDIBLE_SPL_DB, SPL_CAUTION_DB,
    SPL_DANGER_DB,
};
use outpath::model::{ClipShape, LoadKind, OperatingPoint, OutputKind, Settings};
use std::collections::BTreeSet;
use std::f64::consts::{SQRT_2, TAU};

const FS: f64 = 48_000.0;
/// Frequency of the test sine: the reference of levels and sensitivities.
const TEST_HZ: f64 = 1_000.0;

// ---------------------------------------------------------------------------------------------
// Devices, with the figures of the factory library (src/devices/factory/*.toml).

/// "pro-line-out-plus18": balanced converter output, +18 dBu at full scale, 100 Ω.
fn pro_line_out_18(s: &mut Settings) {
    s.output = OutputKind::Line;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) =
        (18.0, 0.0, 100.0, 0.0, 10.5, 40.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Hard, 0.001, -96.0, 0.0, true);
}

/// "pro-line-out-plus24": +24 dBu at full scale.
fn pro_line_out_24(s: &mut Settings) {
    pro_line_out_18(s);
    (s.ref_level, s.v_clip, s.i_max, s.color, s.noise) = (24.0, 19.0, 50.0, 0.0005, -92.0);
}

/// "rme-fireface-800-line-out": +19 dBu at full scale, 75 Ω, unbalanced use.
fn rme_line_out(s: &mut Settings) {
    pro_line_out_18(s);
    (s.ref_level, s.z_out, s.noise, s.balanced) = (19.0, 75.0, -95.0, false);
}

/// "consumer-rca-line-out": 2 V rms at full scale behind 1 kΩ and 22 µF.
fn consumer_line_out(s: &mut Settings) {
    s.output = OutputKind::Line;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) =
        (8.24, 0.0, 1000.0, 22.0, 3.5, 20.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Soft, 0.005, -95.0, 0.0, false);
}

/// "interface-headphone-out": +10 dBu at full volume, 10 Ω, 100 mA.
fn interface_headphone_out(s: &mut Settings) {
    s.output = OutputKind::Headphone;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) = (10.0, 0.0, 10.0, 0.0, 3.8, 100.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Hard, 0.003, -100.0, 0.5, false);
}

/// "iec-61938-headphone-out": 120 Ω behind an op-amp on ±15 V rails.
fn iec_headphone_out(s: &mut Settings) {
    s.output = OutputKind::Headphone;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) =
        (20.0, 0.0, 120.0, 0.0, 12.0, 80.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Hard, 0.01, -100.0, 0.0, false);
}

/// "small-integrated-amp": 50 W into 8 Ω, 26 dB gain.
fn small_amp(s: &mut Settings) {
    s.output = OutputKind::Speaker;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) =
        (2.0, 26.0, 0.05, 0.0, 28.3, 6320.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Hard, 0.02, -78.0, 5.0, false);
    speaker_cable(s);
}

/// "qsc-gx3": 300 W into 8 Ω, 425 W into 4 Ω.
fn qsc_gx3(s: &mut Settings) {
    s.output = OutputKind::Speaker;
    (s.ref_level, s.gain, s.z_out, s.c_out, s.v_clip, s.i_max) =
        (3.8, 32.2, 0.02, 0.0, 69.3, 14580.0);
    (s.clip_shape, s.color, s.noise, s.dc_offset, s.balanced) =
        (ClipShape::Hard, 0.03, -75.0, 3.0, false);
    speaker_cable(s);
}

/// 3 m of 2.5 mm² speaker cable: 0.008 Ω/m per conductor.
fn speaker_cable(s: &mut Settings) {
    (s.cable_len, s.cable_r, s.cable_c) = (3.0, 0.008, 50.0);
}

/// "pro-line-input-10k": 10 kΩ, clips at +22 dBu.
fn pro_line_input(s: &mut Settings) {
    s.load = LoadKind::LineInput;
    (s.z_load, s.in_max) = (10_000.0, 22.0);
}

/// "consumer-line-input-47k": 47 kΩ, overloads at +14 dBu.
fn consumer_line_input(s: &mut Settings) {
    s.load = LoadKind::LineInput;
    (s.z_load, s.in_max) = (47_000.0, 14.0);
}

/// "genelec-8020b": 10 kΩ, +20 dBu maximum, 100 dB SPL at 1 m for −6 dBu (110 dB for +4 dBu).
fn genelec_8020b(s: &mut Settings) {
    s.load = LoadKind::ActiveSpeaker;
    (s.z_load, s.in_max, s.sens, s.distance) = (10_000.0, 20.0, 110.0, 1.0);
}

/// "genelec-8240a": +7 dBu maximum input, heard at 1.5 m.
fn genelec_8240a(s: &mut Settings) {
    genelec_8020b(s);
    (s.in_max, s.distance) = (7.0, 1.5);
}

/// "sennheiser-hd-600": 300 Ω, 97 dB SPL/mW = 97 + 10·log10(1000/300) dB SPL/V.
fn hd_600(s: &mut Settings) {
    s.load = LoadKind::Headphones;
    (s.z_load, s.l_coil, s.f_res, s.z_peak, s.q_res, s.p_max) =
        (300.0, 0.05, 100.0, 450.0, 2.0, 0.2);
    s.sens = 97.0 + 10.0 * (1000.0f64 / 300.0).log10();
}

/// "closed-studio-headphone-32-ohm": 32 Ω, 98 dB SPL/mW, 42 Ω peak at 70 Hz.
fn closed_32(s: &mut Settings) {
    s.load = LoadKind::Headphones;
    (s.z_load, s.l_coil, s.f_res, s.z_peak, s.q_res, s.p_max) = (32.0, 0.02, 70.0, 42.0, 2.0, 0.2);
    s.sens = 98.0 + 10.0 * (1000.0f64 / 32.0).log10();
}

/// A speaker from Thiele–Small data: z_peak = Re·(1 + Qms/Qes); sensitivity given as dB SPL for
/// `v_sens` V rms at 1 m, turned into dB SPL at 1 W (V²/Re) at 1 m.
fn speaker_from_ts(
    s: &mut Settings,
    re: f64,
    fs: f64,
    qms: f64,
    qes: f64,
    le_mh: f64,
    spl: f64,
    v_sens: f64,
) {
    s.load = LoadKind::PassiveSpeaker;
    (s.z_load, s.f_res, s.q_res, s.l_coil) = (re, fs, qms, le_mh);
    s.z_peak = re * (1.0 + qms / qes);
    s.sens = spl - 10.0 * (v_sens * v_sens / re).log10();
}

/// "sealed-bookshelf": Re 5.8 Ω, 65 Hz, 86 dB SPL for 2.83 V, 80 W, heard at 2 m.
fn sealed_bookshelf(s: &mut Settings) {
    speaker_from_ts(s, 5.8, 65.0, 4.0, 0.85, 0.4, 86.0, 2.83);
    (s.p_max, s.distance) = (80.0, 2.0);
}

/// "vented-bookshelf": Re 5.6 Ω, 85 Hz, 87 dB SPL for 2.83 V, 100 W, heard at 2 m.
fn vented_bookshelf(s: &mut Settings) {
    speaker_from_ts(s, 5.6, 85.0, 3.0, 0.9, 0.5, 87.0, 2.83);
    (s.p_max, s.distance) = (100.0, 2.0);
}

/// A connection: a source, a load, the default 2 m cable unless the source brings its own, no hum.
fn connect(source: fn(&mut Settings), load: fn(&mut Settings)) -> Settings {
    let mut s = Settings::default();
    source(&mut s);
    load(&mut s);
    s
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/// A sine of peak `level_dbfs` at `f` Hz, samples `start` … `start + n`.
fn sine(level_dbfs: f64, f: f64, start: usize, n: usize) -> Vec<f32> {
    let a = db_to_gain(level_dbfs);
    (start..start + n)
        .map(|i| (a * (TAU * f * i as f64 / FS).sin()) as f32)
        .collect()
}

/// The operating point of `seconds` of a 1 kHz sine at `level_dbfs` rendered through the engine.
fn measure(s: &Settings, level_dbfs: f64, seconds: f64) -> OperatingPoint {
    let mut e = Engine::new(FS, 1, 1, s);
    let n = (seconds * FS) as usize;
    let mut x = sine(level_dbfs, TEST_HZ, 0, n);
    for chunk in x.chunks_mut(4096) {
        e.process(&mut [chunk]);
    }
    e.take_meters().operating_point(s, FS)
}

fn ids(w: &[Warning]) -> BTreeSet<&'static str> {
    w.iter().map(|w| w.id).collect()
}

/// Asserts that the warnings for `s` measured at `level_dbfs` are exactly `expected`, and that
/// they come most severe first.
fn assert_warnings(
    name: &str,
    s: &Settings,
    level_dbfs: f64,
    seconds: f64,
    expected: &[&str],
) -> Vec<Warning> {
    let op = measure(s, level_dbfs, seconds);
    let w = warnings::warnings(s, &op);
    let text: Vec<String> = w
        .iter()
        .map(|w| format!("[{}] {}: {}", w.severity, w.id, w.message))
        .collect();
    assert_eq!(
        ids(&w),
        expected.iter().copied().collect(),
        "{name}\n{op:#?}\n{}",
        text.join("\n")
    );
    assert!(
        w.windows(2).all(|p| p[0].severity >= p[1].severity),
        "{name}: not most severe first"
    );
    for line in &text {
        println!("{name}: {line}");
    }
    w
}

/// 20·log10|H(f)| of the model's network.
fn h_db(s: &Settings, f: f64) -> f64 {
    20.0 * Network::from_settings(s).response(f).norm().log10()
}

/// Volts at the stage per unit of DAW sample: V_FS · 10^(gain/20).
fn drive(s: &Settings) -> f64 {
    full_scale_peak_volts(s.ref_level) * db_to_gain(s.gain)
}

/// The sine level (dBFS peak) that gives `v_rms` at the load at 1 kHz, from the divider.
fn level_for_load_vrms(s: &Settings, v_rms: f64) -> f64 {
    20.0 * (v_rms * SQRT_2 / drive(s)).log10() - h_db(s, TEST_HZ)
}

// ---------------------------------------------------------------------------------------------
// DESIGN §1, row by row.

/// Line out → line input: the intended use, at mix level. Nothing to say.
#[test]
fn line_out_into_line_input_raises_nothing() {
    assert_warnings(
        "line → line input",
        &connect(pro_line_out_18, pro_line_input),
        -6.0,
        2.0,
        &[],
    );
    assert_warnings(
        "rca → hi-fi input",
        &connect(consumer_line_out, consumer_line_input),
        -6.0,
        2.0,
        &[],
    );
}

/// Line out → active speaker: nothing at a calibrated monitoring level (−20 dBFS → 83 dB SPL,
/// with a monitor controller 21 dB down); the receiver's overload when a +24 dBu converter
/// drives a +7 dBu input — and then the speaker plays at its maximum, far above 100 dB SPL.
#[test]
fn line_out_into_active_speaker_warns_only_when_its_input_overloads() {
    let mut s = connect(pro_line_out_18, genelec_8020b);
    s.gain = -21.0;
    // 18 − 21 − 20 = −23 dBu → 110 + (−23 − 4) = 83 dB SPL at 1 m.
    assert_warnings("line → active speaker", &s, -20.0, 2.0, &[]);
    let s = connect(pro_line_out_24, genelec_8240a);
    // +18 dBu into a +7 dBu input; 110 + 14 − 20·log10(1.5) = 120.5 dB SPL.
    assert_warnings(
        "+24 dBu line → 8240A",
        &s,
        -6.0,
        2.0,
        &["receiver_overload", "spl_danger"],
    );
}

/// Line out → headphones: 1 kΩ into 32 Ω loses 30 dB, with the bump of the headphone's
/// resonance; one caution, and nothing else at the level that leaves (83 dB SPL).
#[test]
fn line_out_into_headphones_is_a_caution() {
    let s = connect(consumer_line_out, closed_32);
    let w = assert_warnings(
        "rca → 32 Ω headphones",
        &s,
        -6.0,
        2.0,
        &["headphones_on_line_out"],
    );
    let loss = w[0].figure("level_db").unwrap();
    assert!(
        (loss - h_db(&s, 1_000.0)).abs() < 1e-9 && loss < -29.0,
        "{loss}"
    );
    let corner = w[0].figure("corner_hz").unwrap();
    assert!((corner - 1.0 / (TAU * (1000.0 + 0.08 + 32.0) * 22e-6)).abs() < 1e-6);
}

/// Line out → passive speaker: nearly a short circuit; the stage holds its current limit.
#[test]
fn line_out_into_passive_speaker_is_a_danger() {
    let s = connect(rme_line_out, sealed_bookshelf);
    // 0.5 · 12.2 V peak asks 75 mA of a 40 mA stage through 75 Ω + ~6 Ω.
    assert_warnings(
        "line → speaker",
        &s,
        -6.0,
        2.0,
        &["speaker_on_line_out", "current_limit"],
    );
}

/// Headphone out → headphones: nothing with a 10 Ω out into 300 Ω at 80 dB SPL; the 1/8 rule
/// with a 120 Ω out into 32 Ω.
#[test]
fn headphone_out_into_headphones() {
    let mut s = connect(interface_headphone_out, hd_600);
    s.gain = -10.0;
    // +10 − 10 − 20 = −20 dBu = 77.5 mV → 102.2 − 22.2 = 80 dB SPL.
    assert_warnings("interface → HD 600", &s, -20.0, 2.0, &[]);
    let mut s = connect(iec_headphone_out, closed_32);
    s.gain = -20.0;
    assert_warnings("120 Ω → 32 Ω", &s, -20.0, 2.0, &["zout_ratio"]);
}

/// Headphone out → line input: works, worth knowing; the receiver's overload when a +20 dBu
/// headphone out at full volume meets a +14 dBu hi-fi input.
#[test]
fn headphone_out_into_line_input() {
    let s = connect(interface_headphone_out, pro_line_input);
    assert_warnings(
        "headphone → line input",
        &s,
        -6.0,
        2.0,
        &["headphone_out_as_line_out"],
    );
    let s = connect(iec_headphone_out, consumer_line_input);
    assert_warnings(
        "loud headphone → hi-fi input",
        &s,
        -1.0,
        2.0,
        &["headphone_out_as_line_out", "receiver_overload"],
    );
}

/// Headphone out → active speaker: as above, at 81 dB SPL.
#[test]
fn headphone_out_into_active_speaker() {
    let mut s = connect(interface_headphone_out, genelec_8020b);
    s.gain = -15.0;
    // +10 − 15 − 20 = −25 dBu → 110 − 29 = 81 dB SPL.
    assert_warnings(
        "headphone → active speaker",
        &s,
        -20.0,
        2.0,
        &["headphone_out_as_line_out"],
    );
}

/// Headphone out → passive speaker: too little current; turned up to be heard, the stage limits.
#[test]
fn headphone_out_into_passive_speaker_is_a_danger() {
    let s = connect(interface_headphone_out, vented_bookshelf);
    // 2.45 V peak through 10 Ω + |5.6 + j2.6| Ω asks 154 mA of a 100 mA stage.
    assert_warnings(
        "headphone → speaker",
        &s,
        -3.0,
        2.0,
        &["speaker_on_headphone_out", "current_limit"],
    );
}

/// Speaker out → passive speaker: nothing with a 300 W amp into a 100 W speaker at 81 dB SPL;
/// underpowered with a 50 W amp; overpower and dangerous SPL when driven hard.
#[test]
fn speaker_out_into_passive_speaker() {
    let s = connect(qsc_gx3, vented_bookshelf);
    // 87 dB SPL for 2.83 V at 1 m, 2 m away: 2.1 V rms gives 87 + 20·log10(2.1/2.83) − 6 = 78.4.
    let level = level_for_load_vrms(&s, 2.1);
    assert_warnings("300 W → 100 W speaker", &s, level, 2.0, &[]);
    let s = connect(small_amp, vented_bookshelf);
    let level = level_for_load_vrms(&s, 2.1);
    assert_warnings(
        "50 W → 100 W speaker",
        &s,
        level,
        2.0,
        &["amp_underpowered"],
    );
    let s = connect(qsc_gx3, vented_bookshelf);
    // −3 dBFS: 49 V peak into ~6.4 Ω at 1 kHz ≈ 150 W for 3 s, 103 dB SPL at 2 m.
    assert_warnings(
        "300 W driven hard",
        &s,
        -3.0,
        3.0,
        &["overpower", "spl_danger"],
    );
}

/// Speaker out → headphones: watts into a 0.2 W headphone, ~129 dB SPL.
#[test]
fn speaker_out_into_headphones_is_a_danger() {
    let s = connect(small_amp, closed_32);
    let w = assert_warnings(
        "amp → headphones",
        &s,
        -10.0,
        2.0,
        &["headphones_on_speaker_out", "overpower", "spl_danger"],
    );
    let structural = w
        .iter()
        .find(|w| w.id == "headphones_on_speaker_out")
        .unwrap();
    // Full scale: 27.5 V peak (rails 28.3 V) into 32 Ω is 11.8 W, 59 times the rating.
    let p = structural.figure("power").unwrap();
    let v = drive(&s).min(s.v_clip) * Network::from_settings(&s).response(1_000.0).norm();
    let z = Network::from_settings(&s).load.impedance(1_000.0);
    assert!(
        (p / (0.5 * v * v / z.norm_sqr() * z.re) - 1.0).abs() < 1e-9,
        "{p}"
    );
    assert!(structural.figure("spl").unwrap() > 130.0);
}

/// Speaker out → line input / active speaker: speaker level into an input made for line level.
#[test]
fn speaker_out_into_an_input_is_a_danger() {
    let s = connect(qsc_gx3, pro_line_input);
    assert_warnings(
        "amp → line input",
        &s,
        -10.0,
        2.0,
        &["speaker_level_into_input", "receiver_overload"],
    );
    let s = connect(qsc_gx3, genelec_8240a);
    assert_warnings(
        "amp → active speaker",
        &s,
        -10.0,
        2.0,
        &[
            "speaker_level_into_input",
            "receiver_overload",
            "spl_danger",
        ],
    );
}

/// The cable effects of DESIGN §1: hum on an unbalanced cable, none once balanced; a faulty
/// amplifier's DC into headphones and into a speaker.
#[test]
fn hum_and_dc_offset() {
    let mut s = connect(consumer_line_out, consumer_line_input);
    s.hum = -50.0;
    assert_warnings("hum, unbalanced", &s, -6.0, 2.0, &["unbalanced_hum"]);
    s.balanced = true;
    assert_warnings("hum, balanced", &s, -6.0, 2.0, &[]);

    let mut s = connect(interface_headphone_out, closed_32);
    (s.z_out, s.gain, s.dc_offset) = (1.0, -25.0, 150.0);
    assert_warnings(
        "DC into headphones",
        &s,
        -20.0,
        2.0,
        &["dc_into_transducer"],
    );
    let mut s = connect(qsc_gx3, sealed_bookshelf);
    s.dc_offset = 900.0;
    let level = level_for_load_vrms(&s, 2.0);
    assert_warnings("DC into a speaker", &s, level, 2.0, &["dc_into_transducer"]);
    // A coupling capacitor blocks it.
    s.c_out = 10_000.0;
    assert!(!ids(&structural(&s)).contains("dc_into_transducer"));
}

// ---------------------------------------------------------------------------------------------
// Thresholds, just below and just above.

fn raised(s: &Settings, op: &OperatingPoint, id: &str) -> bool {
    warnings::warnings(s, op).iter().any(|w| w.id == id)
}

fn raised_structural(s: &Settings, id: &str) -> bool {
    structural(s).iter().any(|w| w.id == id)
}

/// A 32 Ω headphone that is a plain resistor, for thresholds where the minimum is exact.
fn resistive_headphone(s: &mut Settings) {
    s.load = LoadKind::Headphones;
    (s.z_load, s.l_coil, s.z_peak, s.p_max) = (32.0, 0.0, 1.0, 0.2);
    s.sens = 98.0 + 10.0 * (1000.0f64 / 32.0).log10();
    (s.cable_len, s.noise, s.color) = (0.0, -140.0, 0.0);
}

#[test]
fn zout_ratio_threshold_is_one_eighth_of_the_minimum() {
    let mut s = connect(interface_headphone_out, resistive_headphone);
    for (factor, expected) in [(0.99, false), (1.01, true)] {
        s.z_out = 32.0 / 8.0 * factor;
        assert_eq!(
            raised_structural(&s, "zout_ratio"),
            expected,
            "z_out {}",
            s.z_out
        );
    }
    // With the closed headphone's curve, the minimum is where |Z_L| is least.
    let mut s = connect(interface_headphone_out, closed_32);
    s.cable_len = 0.0;
    let (z_min, _) = Network::from_settings(&s)
        .load
        .min_impedance(20.0, 20_000.0);
    for (factor, expected) in [(0.99, false), (1.01, true)] {
        s.z_out = z_min / 8.0 * factor;
        assert_eq!(
            raised_structural(&s, "zout_ratio"),
            expected,
            "z_out {}",
            s.z_out
        );
    }
    // The cable's resistance counts as source impedance: 0.4 Ω of speaker wire into 2.9 Ω.
    let mut s = connect(small_amp, sealed_bookshelf);
    (s.z_load, s.z_peak, s.l_coil) = (2.9, 20.0, 0.0);
    let (z_min, _) = Network::from_settings(&s)
        .load
        .min_impedance(20.0, 20_000.0);
    s.cable_r = (z_min / 8.0 * 1.02 - s.z_out) / (2.0 * s.cable_len);
    assert!(raised_structural(&s, "zout_ratio"));
    assert!(
        structural(&s)[0].message.contains("of cable"),
        "{}",
        structural(&s)[0].message
    );
}

/// The dB variation and its frequency agree with H(f) of the model, scanned here on a grid
/// ten times finer, within 0.1 dB.
#[test]
fn zout_ratio_reports_the_predicted_response() {
    let mut cases = Vec::new();
    // The example: 120 Ω into a 32 Ω headphone with its peak at 95 Hz.
    let mut s = connect(iec_headphone_out, closed_32);
    (s.f_res, s.z_peak, s.q_res, s.l_coil) = (95.0, 90.0, 2.0, 0.05);
    cases.push(s);
    // A sharp peak (Q 20), a coupling capacitor, a long thin cable.
    let mut s = connect(iec_headphone_out, hd_600);
    (s.z_out, s.q_res, s.z_peak, s.c_out, s.cable_len, s.cable_r) =
        (75.0, 20.0, 2_000.0, 100.0, 10.0, 0.2);
    cases.push(s);
    // A tube amplifier (2 Ω) into a sealed speaker: the damping factor shapes the bass.
    let mut s = connect(small_amp, sealed_bookshelf);
    (s.z_out, s.v_clip, s.i_max, s.p_max) = (2.0, 29.6, 3_500.0, 15.0);
    cases.push(s);
    for s in cases {
        let w = structural(&s)
            .into_iter()
            .find(|w| w.id == "zout_ratio")
            .expect("raised");
        let grid: Vec<f64> = (0..20_000)
            .map(|k| 20.0 * 1000f64.powf(k as f64 / 19_999.0))
            .collect();
        let db: Vec<f64> = grid.iter().map(|&f| h_db(&s, f)).collect();
        let at_1k = h_db(&s, 1_000.0);
        let max = db.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let min = db.iter().cloned().fold(f64::INFINITY, f64::min);
        let max_dev = db.iter().map(|v| (v - at_1k).abs()).fold(0.0, f64::max);
        let variation = w.figure("variation_db").unwrap();
        let at_hz = w.figure("at_hz").unwrap();
        assert!(
            (variation - (max - min)).abs() < 0.1,
            "{}: {variation} vs {}",
            w.message,
            max - min
        );
        assert!(
            ((h_db(&s, at_hz) - at_1k).abs() - max_dev).abs() < 0.1,
            "{}: at {at_hz} Hz",
            w.message
        );
        assert!((w.figure("deviation_db").unwrap() - (h_db(&s, at_hz) - at_1k)).abs() < 1e-9);
        assert!(
            w.message.contains(&format!("{variation:.1} dB")),
            "{}",
            w.message
        );
        println!("{}", w.message);
    }
    // The example's largest departure is at the impedance peak.
    let mut s = connect(iec_headphone_out, closed_32);
    (s.f_res, s.z_peak, s.q_res, s.l_coil) = (95.0, 90.0, 2.0, 0.05);
    let w = structural(&s)
        .into_iter()
        .find(|w| w.id == "zout_ratio")
        .unwrap();
    assert!(
        (w.figure("at_hz").unwrap() / 95.0 - 1.0).abs() < 0.05,
        "{}",
        w.message
    );
    assert!(w.message.starts_with(
        "Output impedance 120 Ω is more than 1/8 of the 32 Ω minimum of the headphones"
    ));
}

#[test]
fn amp_underpowered_threshold_is_twice_the_rating() {
    // Rail-limited (a 50 W amp into a 5.6 Ω speaker) and current-limited (the same amp with a
    // 3 A limit): P = min(v_clip·R/(R + R_s), i_max·R)² / 2R, R_s = z_out + cable.
    for i_max in [6_320.0, 3_000.0] {
        let mut s = connect(small_amp, vented_bookshelf);
        s.i_max = i_max;
        let r = s.z_load;
        let r_s = s.z_out + 2.0 * s.cable_len * s.cable_r;
        let v = (s.v_clip * r / (r + r_s)).min(i_max * 1e-3 * r);
        let p = v * v / (2.0 * r);
        for (factor, expected) in [(0.99, false), (1.01, true)] {
            s.p_max = p / AMP_HEADROOM_RATIO * factor;
            assert_eq!(
                raised_structural(&s, "amp_underpowered"),
                expected,
                "{i_max} mA, p_max {}",
                s.p_max
            );
        }
    }
}

#[test]
fn hum_threshold_is_audibility() {
    // Headphones: hum SPL = sens + 20·log10(V_hum) crosses 30 dB SPL.
    let mut s = connect(interface_headphone_out, closed_32);
    let hum_at_threshold = vrms_to_dbu(db_to_gain(
        HUM_AUDIBLE_SPL_DB - spl_at_one_volt(&s).unwrap(),
    ));
    for (offset, expected) in [(-0.2, false), (0.2, true)] {
        s.hum = hum_at_threshold + offset;
        assert_eq!(
            raised_structural(&s, "unbalanced_hum"),
            expected,
            "hum {}",
            s.hum
        );
    }
    s.balanced = true;
    s.hum = -20.0;
    assert!(!raised_structural(&s, "unbalanced_hum"));
    // A line input: 73 dB below the full-scale level at the load (103 − 30 dB SPL).
    let mut s = connect(consumer_line_out, consumer_line_input);
    let full_scale_dbu = s.ref_level + s.gain + h_db(&s, 1_000.0);
    for (offset, expected) in [(-0.2, false), (0.2, true)] {
        s.hum = full_scale_dbu - (FULL_SCALE_SPL_DB - HUM_AUDIBLE_SPL_DB) + offset;
        assert_eq!(
            raised_structural(&s, "unbalanced_hum"),
            expected,
            "hum {}",
            s.hum
        );
    }
}

#[test]
fn dc_threshold_is_displacement_or_heat() {
    // Headphones, 32 Ω: a fifth of the peak current of 1 mW, 0.2·√(2·1 mW/32 Ω)·32 Ω = 50.6 mV.
    let mut s = connect(interface_headphone_out, closed_32);
    let limit = 0.2 * (2.0 * 1e-3 / 32.0f64).sqrt() * 32.0;
    let divider = 32.0 / (s.z_out + 2.0 * s.cable_len * s.cable_r + 32.0);
    for (factor, expected) in [(0.98, false), (1.02, true)] {
        s.dc_offset = limit / divider * factor * 1e3;
        assert_eq!(
            raised_structural(&s, "dc_into_transducer"),
            expected,
            "{} mV",
            s.dc_offset
        );
        s.dc_offset = -s.dc_offset;
        assert_eq!(
            raised_structural(&s, "dc_into_transducer"),
            expected,
            "{} mV",
            s.dc_offset
        );
    }
    // The measured DC agrees with the settings' DC divider.
    s.dc_offset = 100.0;
    let op = measure(&s, -120.0, 1.0);
    assert!(
        (op.v_dc / (0.1 * divider) - 1.0).abs() < 0.01,
        "{}",
        op.v_dc
    );
    // Speaker, 5.8 Ω: 0.2·√(2·1 W·5.8 Ω) = 0.681 V.
    let mut s = connect(qsc_gx3, sealed_bookshelf);
    let limit = 0.2 * (2.0 * 5.8f64).sqrt();
    let divider = 5.8 / (s.z_out + 2.0 * s.cable_len * s.cable_r + 5.8);
    for (factor, expected) in [(0.98, false), (1.02, true)] {
        s.dc_offset = limit / divider * factor * 1e3;
        assert_eq!(
            raised_structural(&s, "dc_into_transducer"),
            expected,
            "{} mV",
            s.dc_offset
        );
    }
    // A small speaker rated 2 W: the heat limit √(0.1·2 W·5.8 Ω) = 1.08 V… is above the
    // displacement limit; rated 0.5 W it decides: √(0.1·0.5·5.8) = 0.539 V.
    s.p_max = 0.5;
    let limit = (0.1 * 0.5 * 5.8f64).sqrt();
    for (factor, expected) in [(0.98, false), (1.02, true)] {
        s.dc_offset = limit / divider * factor * 1e3;
        assert_eq!(
            raised_structural(&s, "dc_into_transducer"),
            expected,
            "{} mV",
            s.dc_offset
        );
    }
}

/// SPL from the engine's measured level: 85 and 100 dB SPL, each ±0.3 dB (the engine's levels
/// are within 1 %, 0.09 dB).
#[test]
fn spl_thresholds_from_the_measured_level() {
    let s = connect(interface_headphone_out, closed_32);
    let sens = spl_at_one_volt(&s).unwrap();
    for (target, expected) in [
        (SPL_CAUTION_DB - 0.3, None),
        (SPL_CAUTION_DB + 0.3, Some("spl_high")),
        (SPL_DANGER_DB - 0.3, Some("spl_high")),
        (SPL_DANGER_DB + 0.3, Some("spl_danger")),
    ] {
        let level = level_for_load_vrms(&s, db_to_gain(target - sens));
        let op = measure(&s, level, 1.0);
        assert!(
            (op.spl.unwrap() - target).abs() < 0.1,
            "{:?} vs {target}",
            op.spl
        );
        let got: Vec<&str> = dynamic(&s, &op)
            .iter()
            .map(|w| w.id)
            .filter(|id| id.starts_with("spl"))
            .collect();
        assert_eq!(
            got,
            expected.into_iter().collect::<Vec<_>>(),
            "{target} dB SPL"
        );
    }
}

/// Mean power over a second against the rating: a 10 W speaker (a plain 8 Ω) fed 3 % under and
/// 3 % over for 6 s, long enough for the one-second average to settle (1 − e⁻⁶ = 99.75 %).
#[test]
fn overpower_threshold_is_the_rating() {
    let mut s = connect(small_amp, sealed_bookshelf);
    (s.z_load, s.z_peak, s.l_coil, s.p_max, s.cable_len, s.color) = (8.0, 1.0, 0.0, 10.0, 0.0, 0.0);
    for (factor, expected) in [(0.97, false), (1.03, true)] {
        // P = V_rms² / 8 Ω.
        let level = level_for_load_vrms(&s, (10.0 * factor * 8.0f64).sqrt());
        let op = measure(&s, level, 6.0);
        assert_eq!(
            raised(&s, &op, "overpower"),
            expected,
            "{} W",
            op.power_1s_max
        );
    }
}

/// The rails: a sine whose demand peaks 2 % under and over v_clip.
#[test]
fn rail_clip_threshold_is_the_rail() {
    let mut s = connect(interface_headphone_out, hd_600);
    (s.color, s.noise, s.dc_offset) = (0.0, -140.0, 0.0);
    s.v_clip = 0.5 * drive(&s);
    for (factor, expected) in [(0.98, false), (1.02, true)] {
        let op = measure(&s, 20.0 * (0.5 * factor as f64).log10(), 1.0);
        assert_eq!(
            raised(&s, &op, "rail_clip"),
            expected,
            "{} clipped",
            op.rail_clips
        );
    }
}

/// The current limit: into a resistive 32 Ω load the warning comes where the measured peak
/// current reaches CURRENT_LIMIT_NEAR of i_max (the protection's bend), or any sample asks for
/// more than i_max. The drive where the peak crosses 90 % is found by bisection; ±0.1 dB around
/// it the warning is absent, then present. Asking 2 % beyond the limit always raises it.
#[test]
fn current_limit_threshold_is_the_limit() {
    let mut s = connect(interface_headphone_out, resistive_headphone);
    s.i_max = 20.0;
    let i_max = s.i_max * 1e-3;
    let (mut lo, mut hi) = (-40.0, 0.0);
    for _ in 0..25 {
        let mid = 0.5 * (lo + hi);
        if measure(&s, mid, 0.1).i_peak < CURRENT_LIMIT_NEAR * i_max {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let op = measure(&s, lo - 0.1, 1.0);
    assert!(
        !raised(&s, &op, "current_limit"),
        "{} A of {i_max} A",
        op.i_peak
    );
    let op = measure(&s, hi + 0.1, 1.0);
    assert!(
        raised(&s, &op, "current_limit"),
        "{} A of {i_max} A",
        op.i_peak
    );
    // i = v_int / (R_out + R_load), v_int = A·drive: 2 % beyond the limit.
    let level = 20.0 * (1.02 * i_max * (s.z_out + s.z_load) / drive(&s)).log10();
    let op = measure(&s, level, 1.0);
    assert!(op.current_limits > 0 && raised(&s, &op, "current_limit"));
}

/// The receiver: a sine peaking 2 % under and over the peak of a sine at in_max.
#[test]
fn receiver_overload_threshold_is_in_max() {
    let mut s = connect(pro_line_out_18, pro_line_input);
    (s.noise, s.v_clip) = (-140.0, 40.0);
    let in_max_peak = SQRT_2 * dbu_to_vrms(s.in_max);
    for (factor, expected) in [(0.98, false), (1.02, true)] {
        s.gain = 20.0 * (in_max_peak * factor / full_scale_peak_volts(s.ref_level)).log10()
            - h_db(&s, 1_000.0)
            + 6.0;
        let op = measure(&s, -6.0, 1.0);
        assert_eq!(
            raised(&s, &op, "receiver_overload"),
            expected,
            "{} V peak",
            op.v_peak
        );
    }
}

/// The safety ceiling: an ideal connection whose output peaks 3 % under and over a −6 dBFS
/// ceiling (it counts as engaged beyond 0.05 dB of reduction).
#[test]
fn ceiling_threshold_is_the_ceiling() {
    let mut s = connect(pro_line_out_18, pro_line_input);
    (s.z_out, s.z_load, s.cable_len, s.noise, s.color, s.ceiling) =
        (0.001, 100_000.0, 0.0, -140.0, 0.0, -6.0);
    for (factor, expected) in [(0.97, false), (1.03, true)] {
        let op = measure(&s, -6.0 + 20.0 * (factor as f64).log10(), 1.0);
        assert_eq!(raised(&s, &op, "ceiling"), expected, "{} dB", op.ceiling_db);
    }
    let op = measure(&s, 0.0, 1.0);
    let w = dynamic(&s, &op)
        .into_iter()
        .find(|w| w.id == "ceiling")
        .unwrap();
    assert!(
        (w.figure("reduction_db").unwrap() - 6.0).abs() < 0.2,
        "{}",
        w.message
    );
}

// ---------------------------------------------------------------------------------------------
// The hold.

/// A burst of 1 s at a level that clips the rails and plays above 100 dB SPL, then quiet: the
/// warnings appear while it lasts, stay HOLD_SECONDS after the last interval that raised them
/// (the burst's tail through the engine's latency may fall in the first quiet interval), then
/// clear. The structural caution stays throughout.
#[test]
fn dynamic_warnings_hold_then_clear() {
    let mut s = connect(iec_headphone_out, closed_32);
    s.v_clip = 3.0;
    let mut e = Engine::new(FS, 1, 1, &s);
    let mut hold = WarningHold::new();
    // Blocks of 1/8 s, so that every time is exact in binary.
    let block = (0.125 * FS) as usize;
    let mut last_raised = std::collections::BTreeMap::new();
    let mut held_beyond_measurement = BTreeSet::new();
    for b in 0..48 {
        let loud = b < 8;
        let level = if loud { 0.0 } else { -40.0 };
        let mut x = sine(level, TEST_HZ, b * block, block);
        e.process(&mut [&mut x]);
        let now = (b + 1) as f64 * 0.125;
        let op = e.take_meters().operating_point(&s, FS);
        let current = warnings::warnings(&s, &op);
        hold.update(now, &current);
        let shown = ids(&hold.active(now));
        let measured = ids(&current);
        for id in &measured {
            last_raised.insert(*id, now);
        }
        assert!(shown.is_superset(&measured), "{now} s");
        if loud {
            assert!(
                measured.contains("rail_clip") && measured.contains("spl_danger"),
                "{now} s: {measured:?}"
            );
        } else if b > 8 {
            // Quiet: nothing dynamic measured, 77 dB SPL.
            assert_eq!(measured, ["zout_ratio"].into_iter().collect(), "{now} s");
        }
        for id in ["rail_clip", "spl_danger"] {
            let held = now - last_raised[id] < HOLD_SECONDS;
            assert_eq!(
                shown.contains(id),
                held,
                "{id} at {now} s, last raised at {} s",
                last_raised[id]
            );
            if held && !measured.contains(id) {
                held_beyond_measurement.insert((id, b));
            }
        }
        // Most severe first.
        let sev: Vec<Severity> = hold.active(now).iter().map(|w| w.severity).collect();
        assert!(sev.windows(2).all(|p| p[0] >= p[1]), "{now} s: {sev:?}");
    }
    // Each was on screen for about 3 s after the burst while no longer measured.
    assert!(
        held_beyond_measurement.len() >= 2 * 22,
        "{held_beyond_measurement:?}"
    );
    assert!(last_raised["rail_clip"] <= 1.125 && last_raised["spl_danger"] <= 1.125);
    assert_eq!(ids(&hold.active(6.0)), ["zout_ratio"].into_iter().collect());
}

/// The hold over simulated time: held from the last trigger, replaced by the latest figures,
/// newest first within a severity, structural warnings gone as soon as the settings are fixed.
#[test]
fn hold_keeps_the_latest_and_newest_first() {
    let w = |id: &'static str, severity, x: f64| Warning {
        id,
        severity,
        message: format!("{id} {x}"),
        figures: vec![outpath::model::warnings::Figure {
            name: "x",
            value: x,
            unit: "",
        }],
    };
    let mut hold = WarningHold::new();
    hold.update(
        0.0,
        &[
            w("rail_clip", Severity::Caution, 1.0),
            w("zout_ratio", Severity::Caution, 0.0),
        ],
    );
    hold.update(1.0, &[w("receiver_overload", Severity::Caution, 2.0)]);
    let shown = hold.active(1.0);
    assert_eq!(
        shown.iter().map(|w| w.id).collect::<Vec<_>>(),
        ["receiver_overload", "rail_clip"]
    );
    hold.update(
        2.0,
        &[
            w("rail_clip", Severity::Caution, 3.0),
            w("current_limit", Severity::Danger, 4.0),
        ],
    );
    let shown = hold.active(2.0);
    assert_eq!(
        shown.iter().map(|w| w.id).collect::<Vec<_>>(),
        ["current_limit", "rail_clip", "receiver_overload"]
    );
    assert_eq!(shown[1].figure("x"), Some(3.0));
    assert_eq!(hold.active(3.9).len(), 3);
    assert_eq!(
        hold.active(4.0).iter().map(|w| w.id).collect::<Vec<_>>(),
        ["current_limit", "rail_clip"]
    );
    assert!(hold.active(5.0).is_empty());
}
