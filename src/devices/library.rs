//! The library: the factory devices compiled into the binary plus the user's own device files.
//! A broken user file is reported and skipped; it never takes the rest down with it.

use super::category::DeviceSide;
use super::device::{Device, DeviceError};
use super::file::{parse_collection, Format};
use crate::model::Settings;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The factory data files, one per category, compiled in.
const FACTORY_FILES: [(&str, &str); 9] = [
    ("line-outs.toml", include_str!("factory/line-outs.toml")),
    (
        "headphone-outs.toml",
        include_str!("factory/headphone-outs.toml"),
    ),
    (
        "speaker-outs.toml",
        include_str!("factory/speaker-outs.toml"),
    ),
    ("line-inputs.toml", include_str!("factory/line-inputs.toml")),
    (
        "active-speakers.toml",
        include_str!("factory/active-speakers.toml"),
    ),
    ("headphones.toml", include_str!("factory/headphones.toml")),
    ("iems.toml", include_str!("factory/iems.toml")),
    (
        "passive-speakers.toml",
        include_str!("factory/passive-speakers.toml"),
    ),
    ("guitar-cabs.toml", include_str!("factory/guitar-cabs.toml")),
];

/// A device file that could not be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProblem {
    /// The file (factory files as "factory/<name>.toml").
    pub file: PathBuf,
    /// The field inside the file ("set.z_out"); None when the file as a whole is the problem.
    pub field: Option<String>,
    pub message: String,
}

impl LoadProblem {
    fn new(file: &Path, e: DeviceError) -> LoadProblem {
        LoadProblem {
            file: file.to_path_buf(),
            field: e.field,
            message: e.message,
        }
    }
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = display_path(&self.file);
        match &self.field {
            Some(field) => write!(f, "{file}: field {field}: {}", self.message),
            None => write!(f, "{file}: {}", self.message),
        }
    }
}

/// A path as a user reads it, with their home folder shortened to "~".
fn display_path(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        if let Ok(rest) = path.strip_prefix(&home) {
            return format!("~/{}", rest.display());
        }
    }
    path.display().to_string()
}

/// Where the user's device files live: `$XDG_CONFIG_HOME/outpath/devices`, else
/// `$HOME/.config/outpath/devices` (`%APPDATA%\outpath\devices` where there is no HOME).
pub fn user_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name);
    devices_dir_under(var("XDG_CONFIG_HOME"), var("HOME"), var("APPDATA"))
}

/// The choice behind [`user_dir`], apart from the environment so that it can be tested. An
/// XDG_CONFIG_HOME that is empty or relative is ignored, as the XDG spec says.
fn devices_dir_under(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
    appdata: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    let config = set(xdg_config_home)
        .filter(|p| p.is_absolute())
        .or_else(|| set(home).map(|h| h.join(".config")))
        .or_else(|| set(appdata))?;
    Some(config.join("outpath").join("devices"))
}

/// Every device the pickers offer, and the files that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Factory devices first, in the order of their files, then the user's, by file name.
    pub devices: Vec<Device>,
    /// Files or devices that were skipped, each with its file, field and reason.
    pub problems: Vec<LoadProblem>,
}

impl Library {
    /// The devices compiled into Outpath.
    pub fn factory() -> Library {
        let mut lib = Library::default();
        for (name, text) in FACTORY_FILES {
            let file = Path::new("factory").join(name);
            match parse_collection(text, Format::Toml) {
                Ok(devices) => {
                    for d in devices {
                        match d {
                            Ok(d) => lib.add(&file, d, 0),
                            Err(e) => lib.problems.push(LoadProblem::new(&file, e)),
                        }
                    }
                }
                Err(e) => lib.problems.push(LoadProblem::new(&file, e)),
            }
        }
        lib
    }

    /// The factory devices plus every `*.toml` and `*.json` file in `user_dir` (one device per
    /// file; pass `user_dir().as_deref()` for the user's folder, None for the factory only).
    /// A missing folder is no problem; a file that cannot be used is listed in `problems` and
    /// skipped, and so is a user device whose id is already taken.
    pub fn load(user_dir: Option<&Path>) -> Library {
        let mut lib = Library::factory();
        let factory_count = lib.devices.len();
        let Some(dir) = user_dir else { return lib };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return lib,
            Err(e) => {
                lib.problems.push(LoadProblem {
                    file: dir.to_path_buf(),
                    field: None,
                    message: format!("cannot read the folder: {e}"),
                });
                return lib;
            }
        };
        let mut files: Vec<(PathBuf, Format)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter_map(|p| Format::of_path(&p).map(|f| (p, f)))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, format) in files {
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| DeviceError::new(None, format!("cannot read the file: {e}")))
                .and_then(|text| Device::parse(&text, format));
            match parsed {
                Ok(d) => lib.add(&path, d, factory_count),
                Err(e) => lib.problems.push(LoadProblem::new(&path, e)),
            }
        }
        lib
    }

    /// Adds a device unless its id is taken; the first one keeps it, so a user file can never
    /// replace a factory device.
    fn add(&mut self, file: &Path, device: Device, factory_count: usize) {
        if let Some(i) = self.devices.iter().position(|d| d.id == device.id) {
            let owner = if i < factory_count {
                "the factory device "
            } else {
                ""
            };
            let message = format!(
                "id '{}' is already taken by {owner}\"{}\"; give this device another id",
                device.id, self.devices[i].name
            );
            self.problems.push(LoadProblem {
                file: file.to_path_buf(),
                field: Some("id".into()),
                message,
            });
            return;
        }
        self.devices.push(device);
    }

    pub fn get(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// Line, headphone and speaker outs.
    pub fn outputs(&self) -> impl Iterator<Item = &Device> + '_ {
        self.devices
            .iter()
            .filter(|d| d.side() == DeviceSide::Output)
    }

    /// Everything that can be plugged into an output.
    pub fn loads(&self) -> impl Iterator<Item = &Device> + '_ {
        self.devices.iter().filter(|d| d.side() == DeviceSide::Load)
    }

    /// The first device of `side` whose values `s` holds; None means the values are custom.
    pub fn matching(&self, side: DeviceSide, s: &Settings) -> Option<&Device> {
        self.devices
            .iter()
            .find(|d| d.side() == side && d.matches(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_folder_follows_xdg_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        let dir = |p: &str| Some(PathBuf::from(p));
        assert_eq!(
            devices_dir_under(os("/cfg"), os("/home/a"), None),
            dir("/cfg/outpath/devices")
        );
        assert_eq!(
            devices_dir_under(os(""), os("/home/a"), None),
            dir("/home/a/.config/outpath/devices")
        );
        assert_eq!(
            devices_dir_under(os("relative"), os("/home/a"), None),
            dir("/home/a/.config/outpath/devices")
        );
        assert_eq!(
            devices_dir_under(None, None, os("/appdata")),
            dir("/appdata/outpath/devices")
        );
        assert_eq!(devices_dir_under(None, None, None), None);
    }

    #[test]
    fn factory_loads_without_problems() {
        let lib = Library::factory();
        assert!(lib.problems.is_empty(), "{:?}", lib.problems);
        assert!(lib.outputs().count() >= 12 && lib.loads().count() >= 20);
    }
}
