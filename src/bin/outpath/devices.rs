//! `outpath devices`: the library, as a table or as JSON.

use crate::{scenario, CliResult};
use clap::Args;
use outpath::devices::DeviceSide;
use serde_json::json;

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Print the library as JSON (every device with its values in display units).
    #[arg(long)]
    json: bool,
}

pub fn run(a: DevicesArgs) -> CliResult<()> {
    let lib = scenario::library();
    if a.json {
        let list: Vec<_> = lib
            .devices
            .iter()
            .map(|d| {
                let values: serde_json::Map<String, serde_json::Value> = d
                    .values()
                    .into_iter()
                    .map(|(p, v)| {
                        let text = outpath::model::settings::format_value(p, v);
                        let value = match p.kind {
                            outpath::model::settings::ParamKind::Float { .. } => json!(v),
                            _ => json!(text),
                        };
                        (p.id.to_string(), value)
                    })
                    .collect();
                json!({
                    "id": d.id,
                    "name": d.name,
                    "side": if d.side() == DeviceSide::Output { "output" } else { "load" },
                    "category": d.category.id(),
                    "source": d.source,
                    "notes": d.notes,
                    "values": values,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for (side, title, flag) in [
        (DeviceSide::Output, "Output stages", "--source"),
        (DeviceSide::Load, "Loads", "--load"),
    ] {
        println!("{title} (use with {flag} ID):");
        let rows: Vec<_> = lib.devices.iter().filter(|d| d.side() == side).collect();
        let w = rows.iter().map(|d| d.id.len()).max().unwrap_or(0);
        let wc = rows
            .iter()
            .map(|d| d.category.label().len())
            .max()
            .unwrap_or(0);
        for d in rows {
            println!("  {:w$}  {:wc$}  {}", d.id, d.category.label(), d.name);
        }
        println!();
    }
    if let Some(dir) = outpath::devices::user_dir() {
        println!("User devices are read from {}", dir.display());
    }
    Ok(())
}
