//! `leukotrack config`: the default file, the table of settings, or an effective
//! configuration.

use std::path::PathBuf;

use leukotrack::pipeline::{settings, Config, Overrides};
use leukotrack::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Print the full commented default configuration file.
    #[arg(long, conflicts_with_all = ["file", "schema"])]
    default: bool,
    /// Print the table of every setting as JSON: key path, stage, flag, Python keyword, type,
    /// unit, default, range, help.
    #[arg(long, conflicts_with = "file")]
    schema: bool,
    /// Print the effective configuration as JSON instead of TOML.
    #[arg(long)]
    json: bool,
    /// A configuration file to check (default: the defaults).
    file: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
}

pub fn run(a: Args) -> Result<()> {
    if (a.default || a.schema) && a.overrides != Overrides::default() {
        return Err(Error::param("config", "--default and --schema take no setting flags"));
    }
    if a.default {
        print!("{}", Config::default_toml());
        return Ok(());
    }
    if a.schema {
        let json = serde_json::to_string_pretty(&settings::settings())
            .map_err(|e| Error::internal(e.to_string()))?;
        println!("{json}");
        return Ok(());
    }
    let mut cfg = match &a.file {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    cfg.apply(&a.overrides)?;
    if a.json {
        let json =
            serde_json::to_string_pretty(&cfg).map_err(|e| Error::internal(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", cfg.to_toml()?);
    }
    Ok(())
}
