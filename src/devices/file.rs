//! Reading device files: TOML or JSON text → a validated [`Device`], with every problem pinned
//! to the field (or line) it is in, so a user can fix their file from the message alone.

use super::category::Category;
use super::device::{Device, DeviceError, SensAt, SetValue, ThieleSmall};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The two formats a device file may be written in, told apart by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// `*.toml` or `*.json` (any case); None for every other file, which the loader ignores.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// The fields a device may have, in the order a reader expects them.
const FIELDS: [&str; 9] = [
    "id",
    "name",
    "category",
    "source",
    "notes",
    "sens_mw",
    "sens_at",
    "thiele_small",
    "set",
];

impl Device {
    /// Reads and validates one device written in TOML.
    pub fn from_toml_str(text: &str) -> Result<Device, DeviceError> {
        device_from_tree(&parse_tree(text, Format::Toml)?)
    }

    /// Reads and validates one device written in JSON.
    pub fn from_json_str(text: &str) -> Result<Device, DeviceError> {
        device_from_tree(&parse_tree(text, Format::Json)?)
    }

    /// Reads and validates one device in either format.
    pub fn parse(text: &str, format: Format) -> Result<Device, DeviceError> {
        device_from_tree(&parse_tree(text, format)?)
    }
}

/// Reads a file holding several devices as an array of tables `[[device]]` (the factory files),
/// each one parsed and validated on its own; a problem's field is prefixed with the device's
/// place in the file ("device[3].set.z_out").
pub fn parse_collection(
    text: &str,
    format: Format,
) -> Result<Vec<Result<Device, DeviceError>>, DeviceError> {
    let tree = parse_tree(text, format)?;
    let list = tree
        .get("device")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            DeviceError::new(
                None,
                "a collection file holds its devices as [[device]] tables",
            )
        })?;
    Ok(list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            device_from_tree(v).map_err(|e| {
                let place = format!("device[{i}]");
                DeviceError {
                    field: Some(e.field.map_or(place.clone(), |f| format!("{place}.{f}"))),
                    message: e.message,
                }
            })
        })
        .collect())
}

/// Parses the text into a tree common to both formats. Syntax errors name the line and column,
/// and for TOML the key written on that line.
fn parse_tree(text: &str, format: Format) -> Result<Value, DeviceError> {
    match format {
        Format::Toml => match toml::from_str::<toml::Table>(text) {
            Ok(table) => Ok(toml_to_json(toml::Value::Table(table))),
            Err(e) => {
                let (line, column) = e
                    .span()
                    .map(|s| line_and_column(text, s.start))
                    .unwrap_or((1, 1));
                let message = format!(
                    "not valid TOML (line {line}, column {column}): {}",
                    e.message().trim()
                );
                Err(DeviceError {
                    field: toml_key_on_line(text, line),
                    message,
                })
            }
        },
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            let what = e.to_string();
            // serde_json appends " at line L column C"; say it the same way as for TOML.
            let what = what.split(" at line ").next().unwrap_or(&what).to_string();
            DeviceError::new(
                None,
                format!(
                    "not valid JSON (line {}, column {}): {what}",
                    e.line(),
                    e.column()
                ),
            )
        }),
    }
}

/// TOML values as JSON values. JSON has no nan or inf: those become text ("NaN", "inf"), which
/// the `set` reader turns back into numbers so that the check says "must be a finite number".
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key written on a line of a TOML file ("set.z_out" for `z_out = …` under
/// `[set]`), if the line is a `key = value` line.
fn toml_key_on_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            let (key, _) = t.split_once('=')?;
            let key = key.trim().trim_matches('"');
            if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
                return None;
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// Builds a device field by field, so that a wrong type is reported with the field it is in.
fn device_from_tree(tree: &Value) -> Result<Device, DeviceError> {
    let obj = tree.as_object().ok_or_else(|| {
        DeviceError::new(
            None,
            "a device is a table of fields: id, name, category, source, set",
        )
    })?;
    for key in obj.keys() {
        if key == "device" {
            return Err(DeviceError::at(
                key,
                "one device per file: write its fields at the top level, not under [[device]]",
            ));
        }
        if !FIELDS.contains(&key.as_str()) {
            return Err(DeviceError::at(
                key,
                format!("unknown field (a device has: {})", FIELDS.join(", ")),
            ));
        }
    }
    let id = required(obj, "id")?;
    let name = required(obj, "name")?;
    let category = required(obj, "category").map_err(|e| match obj.get("category") {
        Some(Value::String(c)) => DeviceError::at(
            "category",
            format!(
                "unknown category '{c}' (expected one of: {})",
                Category::ALL.map(Category::id).join(", ")
            ),
        ),
        _ => e,
    })?;
    let source = required(obj, "source")?;
    let set_tree = required::<Value>(obj, "set")?;
    let set_obj = set_tree
        .as_object()
        .ok_or_else(|| DeviceError::at("set", "must be a table of parameter id = value"))?;
    let mut set = BTreeMap::new();
    for (id, v) in set_obj {
        // A TOML nan or inf arrives as text; hand it on as the number it is.
        let value = match v
            .as_str()
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|f| !f.is_finite())
        {
            Some(non_finite) => SetValue::Number(non_finite),
            None => SetValue::deserialize(v)
                .map_err(|e| DeviceError::at(&format!("set.{id}"), e.to_string()))?,
        };
        set.insert(id.clone(), value);
    }
    let device = Device {
        id,
        name,
        category,
        source,
        notes: optional(obj, "notes")?,
        sens_mw: optional(obj, "sens_mw")?,
        sens_at: optional::<SensAt>(obj, "sens_at")?,
        thiele_small: optional::<ThieleSmall>(obj, "thiele_small")?,
        set,
    };
    device.validated()
}

fn optional<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, DeviceError> {
    obj.get(key)
        .map(|v| T::deserialize(v).map_err(|e| DeviceError::at(key, e.to_string())))
        .transpose()
}

fn required<T: DeserializeOwned>(obj: &Map<String, Value>, key: &str) -> Result<T, DeviceError> {
    optional(obj, key)?.ok_or_else(|| {
        DeviceError::at(
            key,
            "missing: every device has id, name, category, source and set",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_picks_the_format() {
        assert_eq!(Format::of_path(Path::new("a/amp.toml")), Some(Format::Toml));
        assert_eq!(Format::of_path(Path::new("amp.JSON")), Some(Format::Json));
        assert_eq!(Format::of_path(Path::new("amp.toml~")), None);
        assert_eq!(Format::of_path(Path::new("README")), None);
    }

    #[test]
    fn syntax_errors_point_at_the_key_on_their_line() {
        let text = "id = \"x\"\n\n[set]\nz_out = 12 ohm\n";
        assert_eq!(line_and_column(text, text.find("ohm").unwrap()), (4, 12));
        assert_eq!(toml_key_on_line(text, 4).as_deref(), Some("set.z_out"));
        assert_eq!(toml_key_on_line(text, 1).as_deref(), Some("id"));
        assert_eq!(toml_key_on_line(text, 3), None);
        let e = Device::from_toml_str(text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("set.z_out"));
        assert!(e.message.contains("line 4"), "{e}");
    }

    #[test]
    fn non_finite_numbers_are_refused_as_such() {
        let text = "id = \"x\"\nname = \"X\"\ncategory = \"line-out\"\nsource = \"archetype\"\n[set]\noutput = \"Line\"\nz_out = nan\n";
        let e = Device::from_toml_str(text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("set.z_out"));
        assert!(e.message.contains("finite"), "{e}");
    }

    #[test]
    fn unknown_fields_and_collections_are_named() {
        let e = Device::from_json_str(r#"{"id": "x", "nmae": "X"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("nmae"));
        let e = Device::from_toml_str("[[device]]\nid = \"x\"\n").unwrap_err();
        assert!(e.message.contains("one device per file"), "{e}");
        let e = Device::from_json_str("[1, 2]").unwrap_err();
        assert_eq!(e.field, None);
    }

    #[test]
    fn collection_errors_carry_the_device_index() {
        let text = "[[device]]\nid = \"a\"\n\n[[device]]\nid = \"Bad Id\"\n";
        let all = parse_collection(text, Format::Toml).unwrap();
        assert_eq!(all.len(), 2);
        let e = all[1].as_ref().unwrap_err();
        assert_eq!(e.field.as_deref(), Some("device[1].name"), "{e}");
    }
}
