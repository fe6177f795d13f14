//! What `track`, `batch` and `config` take: a configuration file and the flags overriding it
//! (generated from the core's `Overrides`).

use std::path::PathBuf;

use leukotrack::pipeline::{Config, Overrides};
use leukotrack::Result;

/// A configuration file and the flags overriding it.
#[derive(clap::Args)]
pub struct PipelineArgs {
    /// A TOML configuration (`leukotrack config --default` prints every key); the flags
    /// below override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A partner of the interactions, added to the configuration's `[[interact.partner]]`:
    /// NAME=CHANNEL:structure[:static] (vessels, collagen in a channel) or NAME=mask:FILE (a
    /// mask or label TIFF); repeatable. NAME is the `partner` of interactions.csv.
    #[arg(long = "partner", value_name = "NAME=SPEC")]
    pub partners: Vec<String>,
    #[command(flatten)]
    pub overrides: Overrides,
}

impl PipelineArgs {
    /// The configuration file (or the defaults) with the flags applied, checked.
    pub fn config(&self) -> Result<Config> {
        let mut cfg = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        cfg.apply(&self.overrides)?;
        for p in &self.partners {
            cfg.interact.partner.push(leukotrack::interact::Partner::parse(p)?);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// The `expected.json` beside the configuration file (a `tune` folder's `best.toml`),
    /// when there is one and no flag changed the settings it was measured with.
    pub fn expected(&self) -> Result<Option<leukotrack::qc::Expected>> {
        let Some(path) = self.config.as_ref().map(|c| c.with_file_name("expected.json")) else {
            return Ok(None);
        };
        if !path.is_file() || self.overrides != Overrides::default() || !self.partners.is_empty() {
            return Ok(None);
        }
        leukotrack::pipeline::read_json(&path).map(Some)
    }
}

/// How a command runs: threads and verbosity.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// Sizes rayon's global pool.
    pub fn init_threads(&self) -> Result<()> {
        self.threads.map_or(Ok(()), leukotrack::pipeline::set_threads)
    }
}
