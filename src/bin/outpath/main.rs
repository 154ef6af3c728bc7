//! `outpath`: the same engine as the plugin, without a DAW (DESIGN §7).
//!
//! ```text
//! outpath render IN.wav OUT.wav [--source DEVICE] [--load DEVICE] [--set ID=VALUE]… [--report FILE.json]
//! outpath render --demo OUT.wav …
//! outpath response [--source …] [--load …] [--set …] [--csv FILE] [--plot FILE.png|svg]
//! outpath devices [--json]
//! ```

mod demo;
mod devices;
mod render;
mod report;
mod response;
mod scenario;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "outpath",
    version,
    about = "Hear and read what an output path does to a mix: line, headphone and speaker outs into real loads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render audio through a connection and report what it did.
    Render(render::RenderArgs),
    /// Print the predicted small-signal response of a connection; write it as CSV or a plot.
    Response(response::ResponseArgs),
    /// List the device library (factory and user folder).
    Devices(devices::DevicesArgs),
}

/// How a connection is chosen: devices first, then single parameters.
#[derive(Args, Debug, Clone, Default)]
pub struct ScenarioArgs {
    /// Output-side device id (line out, headphone out, speaker out); see `outpath devices`.
    #[arg(long, value_name = "DEVICE")]
    pub source: Option<String>,
    /// Load-side device id (line input, active speaker, headphones, IEM, passive speaker).
    #[arg(long, value_name = "DEVICE")]
    pub load: Option<String>,
    /// Set a parameter by its id in display units, e.g. `--set z_out=120` or
    /// `--set load=headphones` (repeatable; applied after the devices, in order).
    #[arg(long = "set", value_name = "ID=VALUE")]
    pub set: Vec<String>,
}

/// An error the user can act on; it becomes one line on stderr and a non-zero exit.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub type CliResult<T> = Result<T, CliError>;

fn main() -> ExitCode {
    // Behave like other command-line tools when the reader of stdout goes away (`| head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Render(a) => render::run(a),
        Command::Response(a) => response::run(a),
        Command::Devices(a) => devices::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(msg)) => {
            eprintln!("outpath: error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so that a failure
/// never leaves a partial file behind.
pub fn write_atomically(
    path: &std::path::Path,
    write: impl FnOnce(&std::path::Path) -> CliResult<()>,
) -> CliResult<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        return Err(CliError(format!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    let name = path
        .file_name()
        .ok_or_else(|| CliError(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(".{}.outpath-partial", name.to_string_lossy()));
    match write(&tmp) {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError(format!("cannot write {}: {e}", path.display()))
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
