//! Fuzzes the device-file reader (DESIGN §4: a broken user file gets a clear message and never
//! takes anything down): any text, read as one device and as a collection, in TOML and in JSON.
//!
//! Beyond "no panic, no hang", every device the reader accepts must
//! - write only finite values inside the parameter table's ranges, every one of them applying;
//! - pass validation again unchanged (a validated device read back in passes again);
//! - come back identical when written out as JSON or TOML and read again.
//!
//! Rejections must say what is wrong (a non-empty message).

#![no_main]

use libfuzzer_sys::fuzz_target;
use outpath::devices::{parse_collection, Device, DeviceError, Format, SetValue};
use outpath::model::settings::ParamKind;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Toml, Format::Json] {
        match Device::parse(text, format) {
            Ok(d) => check(&d),
            Err(e) => check_error(&e),
        }
        match parse_collection(text, format) {
            Ok(list) => {
                for d in list {
                    match d {
                        Ok(d) => check(&d),
                        Err(e) => check_error(&e),
                    }
                }
            }
            Err(e) => check_error(&e),
        }
    }
});

fn check_error(e: &DeviceError) {
    assert!(
        !e.message.trim().is_empty(),
        "an error without a message: {e:?}"
    );
    assert!(!e.to_string().is_empty());
}

fn check(d: &Device) {
    let values = d.values();
    assert_eq!(
        values.len(),
        d.set.len(),
        "{}: not every value of the device applies: {:?} vs {:?}",
        d.id,
        d.set,
        values
    );
    for (p, v) in &values {
        assert!(v.is_finite(), "{}: {} = {v}", d.id, p.id);
        match p.kind {
            ParamKind::Float { min, max, .. } => {
                assert!(
                    (min..=max).contains(v),
                    "{}: {} = {v} outside {min} … {max}",
                    d.id,
                    p.id
                )
            }
            ParamKind::Choice { options, .. } => assert!(
                *v >= 0.0 && v.fract() == 0.0 && (*v as usize) < options.len(),
                "{}: {} = {v}",
                d.id,
                p.id
            ),
            ParamKind::Toggle { .. } => assert!(*v == 0.0 || *v == 1.0, "{}: {} = {v}", d.id, p.id),
        }
    }
    let again = d
        .clone()
        .validated()
        .unwrap_or_else(|e| panic!("{}: a validated device fails validation again: {e}", d.id));
    assert_eq!(&again, d, "validation changed a validated device");

    let json = serde_json::to_string(d).expect("a device serialises as JSON");
    let back = Device::from_json_str(&json)
        .unwrap_or_else(|e| panic!("written as JSON it is refused: {e}\n{json}"));
    assert_same(&back, d, &json);

    if let Ok(toml_text) = toml::to_string(d) {
        let back = Device::from_toml_str(&toml_text)
            .unwrap_or_else(|e| panic!("written as TOML it is refused: {e}\n{toml_text}"));
        assert_same(&back, d, &toml_text);
    }
}

/// The same device, numbers within 1e-12 (serde_json reads floats back within an ulp or so,
/// not always exactly, unless its `float_roundtrip` feature is on).
fn assert_same(a: &Device, b: &Device, text: &str) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
    let opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => close(x, y),
        (None, None) => true,
        _ => false,
    };
    let ok = a.id == b.id
        && a.name == b.name
        && a.category == b.category
        && a.source == b.source
        && a.notes == b.notes
        && opt(a.sens_mw, b.sens_mw)
        && opt(a.sens_at.map(|s| s.db_spl), b.sens_at.map(|s| s.db_spl))
        && opt(a.sens_at.map(|s| s.v_rms), b.sens_at.map(|s| s.v_rms))
        && opt(a.thiele_small.map(|t| t.re), b.thiele_small.map(|t| t.re))
        && opt(a.thiele_small.map(|t| t.fs), b.thiele_small.map(|t| t.fs))
        && opt(a.thiele_small.map(|t| t.qms), b.thiele_small.map(|t| t.qms))
        && opt(a.thiele_small.map(|t| t.qes), b.thiele_small.map(|t| t.qes))
        && opt(
            a.thiele_small.and_then(|t| t.le_mh),
            b.thiele_small.and_then(|t| t.le_mh),
        )
        && a.set.len() == b.set.len()
        && a.set.iter().zip(&b.set).all(|((ka, va), (kb, vb))| {
            ka == kb
                && match (va, vb) {
                    (SetValue::Number(x), SetValue::Number(y)) => close(*x, *y),
                    _ => va == vb,
                }
        });
    assert!(
        ok,
        "written out and read back, the device changed:\n{a:?}\n{b:?}\n{text}"
    );
}
