//! A scenario from the command line: default settings, then the devices, then `--set` values.

use crate::{CliError, CliResult, ScenarioArgs};
use outpath::devices::{DeviceSide, Library};
use outpath::model::Settings;

/// The settings a scenario describes, with the ids of the devices it used.
pub struct Scenario {
    pub settings: Settings,
    pub source: Option<String>,
    pub load: Option<String>,
}

/// The library with the user's folder; problems with user files are reported, not fatal.
pub fn library() -> Library {
    let lib = Library::load(outpath::devices::user_dir().as_deref());
    for p in &lib.problems {
        eprintln!("outpath: skipped a user device: {p}");
    }
    lib
}

pub fn build(args: &ScenarioArgs) -> CliResult<Scenario> {
    let mut s = Settings::default();
    if args.source.is_some() || args.load.is_some() {
        let lib = library();
        for (id, side, flag) in [
            (&args.source, DeviceSide::Output, "--source"),
            (&args.load, DeviceSide::Load, "--load"),
        ] {
            let Some(id) = id else { continue };
            let device = lib.get(id).ok_or_else(|| {
                let known: Vec<&str> = lib
                    .devices
                    .iter()
                    .filter(|d| d.side() == side)
                    .map(|d| d.id.as_str())
                    .collect();
                CliError(format!(
                    "{flag}: unknown device '{id}' (known: {})",
                    known.join(", ")
                ))
            })?;
            if device.side() != side {
                let other = if side == DeviceSide::Output {
                    "--load"
                } else {
                    "--source"
                };
                return Err(CliError(format!(
                    "{flag}: '{id}' is a {} device; give it with {other}",
                    device.category.label()
                )));
            }
            device.apply(&mut s);
        }
    }
    for item in &args.set {
        let (id, value) = item.split_once('=').ok_or_else(|| {
            CliError(format!(
                "--set {item}: expected ID=VALUE, e.g. --set z_out=120"
            ))
        })?;
        s.set_text(id.trim(), value)
            .map_err(|e| CliError(format!("--set {item}: {e}")))?;
    }
    Ok(Scenario {
        settings: s,
        source: args.source.clone(),
        load: args.load.clone(),
    })
}
