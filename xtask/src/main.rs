//! `cargo xtask bundle outpath --release` builds the CLAP and VST3 bundles (nice-plug-xtask);
//! `cargo xtask install` bundles them and copies them to where Linux hosts look:
//! `~/.clap/Outpath.clap` and `~/.vst3/Outpath.vst3`.

use std::path::{Path, PathBuf};

fn main() -> nice_plug_xtask::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("install") => install(args.collect()),
        Some(cmd) => nice_plug_xtask::main_with_args(
            "cargo xtask",
            std::iter::once(cmd.to_string()).chain(args),
        ),
        None => nice_plug_xtask::main_with_args("cargo xtask", std::iter::empty()),
    }
}

/// Bundles in release mode (extra arguments go to the build) and copies the bundles home.
fn install(extra: Vec<String>) -> nice_plug_xtask::Result<()> {
    let mut bundle_args = vec![
        "bundle".to_string(),
        "outpath".to_string(),
        "--release".to_string(),
    ];
    bundle_args.extend(extra.into_iter().filter(|a| a != "--release"));
    nice_plug_xtask::main_with_args("cargo xtask", bundle_args)?;
    nice_plug_xtask::chdir_workspace_root()?;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| anyhow_msg("HOME is not set"))?;
    let bundled = Path::new("target/bundled");
    for (bundle, dir) in [("Outpath.clap", ".clap"), ("Outpath.vst3", ".vst3")] {
        let from = bundled.join(bundle);
        let to_dir = home.join(dir);
        let to = to_dir.join(bundle);
        std::fs::create_dir_all(&to_dir)?;
        if to.is_dir() {
            std::fs::remove_dir_all(&to)?;
        } else if to.exists() {
            std::fs::remove_file(&to)?;
        }
        copy_recursively(&from, &to)?;
        println!("Installed {}", to.display());
    }
    Ok(())
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

fn anyhow_msg(msg: &str) -> std::io::Error {
    std::io::Error::other(msg.to_string())
}
