//! Outpath as a program of its own: the plugin and its editor on JACK, ALSA or a dummy audio
//! backend, without a DAW.
//!
//! ```text
//! outpath_standalone [--source DEVICE] [--load DEVICE] [--set ID=VALUE]... [--test-signal] [--layout-file PATH] [nice-plug options]
//! outpath_standalone --backend dummy --test-signal --source qsc-gx3 --load sennheiser-hd-600
//! ```
//!
//! Besides nice-plug's own options (`--backend`, `--sample-rate`, `--period-size`, … see
//! `--help`), it takes:
//! - `--source DEVICE`, `--load DEVICE`, `--set ID=VALUE` (repeatable): a scenario to start with,
//!   as on the `outpath` command line. The editor writes it through the host when it opens, like
//!   a device picked by hand.
//! - `--test-signal`: a test hook. The dummy backend gives only silence; with this flag the
//!   plugin replaces silent input with a 440 Hz tone that alternates between −30 and −6 dBFS every
//!   second over −50 dBFS of white noise, so the meters and the spectrum have something to show.
//!   It exists only in this build (the `standalone` feature) and only when asked for.
//! - `--layout-file PATH`: another test hook; after a second open, the editor writes where it
//!   drew each view and which warnings it shows (`{"chain": [x, y, width, height], …,
//!   "warning_ids": ["id", …]}`, logical points) to PATH.

use nice_plug::prelude::nice_export_standalone_with_args;
use outpath::devices::{DeviceSide, Library};
use outpath::model::Settings;
use outpath::Outpath;
use std::sync::atomic::Ordering;

/// Our options, taken out of the arguments before nice-plug sees the rest.
#[derive(Default)]
struct Options {
    source: Option<String>,
    load: Option<String>,
    set: Vec<String>,
    test_signal: bool,
    layout_file: Option<String>,
}

fn split_args(args: Vec<String>) -> Result<(Options, Vec<String>), String> {
    let mut ours = Options::default();
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--source" => ours.source = Some(value("--source")?),
            "--load" => ours.load = Some(value("--load")?),
            "--set" => ours.set.push(value("--set")?),
            "--test-signal" => ours.test_signal = true,
            "--layout-file" => ours.layout_file = Some(value("--layout-file")?),
            _ => rest.push(a),
        }
    }
    Ok((ours, rest))
}

/// The scenario the options describe: defaults, then the devices, then each `--set` in order.
fn start_settings(o: &Options) -> Result<Option<Settings>, String> {
    if o.source.is_none() && o.load.is_none() && o.set.is_empty() {
        return Ok(None);
    }
    let mut s = Settings::default();
    let library = Library::load(outpath::devices::user_dir().as_deref());
    for (id, side, flag) in [
        (&o.source, DeviceSide::Output, "--source"),
        (&o.load, DeviceSide::Load, "--load"),
    ] {
        let Some(id) = id else { continue };
        match library.get(id) {
            Some(d) if d.side() == side => d.apply(&mut s),
            Some(d) => return Err(format!("{flag}: '{id}' is a {} device", d.category.label())),
            None => {
                return Err(format!(
                    "{flag}: unknown device '{id}' (outpath devices lists them)"
                ))
            }
        }
    }
    for item in &o.set {
        let (id, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--set {item}: expected ID=VALUE"))?;
        s.set_text(id.trim(), value)
            .map_err(|e| format!("--set {item}: {e}"))?;
    }
    Ok(Some(s))
}

fn main() {
    let (options, args) = match split_args(std::env::args().collect()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("outpath_standalone: {e}");
            std::process::exit(2);
        }
    };
    match start_settings(&options) {
        Ok(Some(s)) => outpath::standalone::set_start_settings(s),
        Ok(None) => {}
        Err(e) => {
            eprintln!("outpath_standalone: {e}");
            std::process::exit(2);
        }
    }
    outpath::standalone::TEST_SIGNAL.store(options.test_signal, Ordering::Relaxed);
    if let Some(path) = options.layout_file {
        *outpath::standalone::LAYOUT_FILE
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(path.into());
    }
    if !nice_export_standalone_with_args::<Outpath, _>(args) {
        std::process::exit(1);
    }
}
