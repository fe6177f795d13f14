//! `leukotrack tune`: the main settings searched on the recording's simulated twin (or
//! against marked cells).

use std::path::PathBuf;

use leukotrack::tune::{self, TuneOptions, DEFAULT_BUDGET};
use leukotrack::{Recording, Result};

use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The recording (as `track` reads it).
    path: PathBuf,
    /// Output folder (created): `tune.csv` (every setting tried, scored), `best.toml` (for
    /// `track --config` / `batch --config`), `expected.json` (its expected accuracy), `twin/`.
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// Cells marked on the recording instead of a twin: a CSV `frame, x_um, y_um[, z_um]` or
    /// a napari Points layer saved as CSV (`index, axis-0, …`, in pixels); only detections
    /// within 10 µm of a marked cell are scored.
    #[arg(long, value_name = "GT.csv")]
    truth: Option<PathBuf>,
    /// Settings evaluated at most (the given settings included).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BUDGET)]
    budget: usize,
    /// Runs at a time (default: 2, fewer when memory is short).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    settings: PipelineArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> Result<()> {
    if a.budget == 0 {
        return Err(leukotrack::Error::param(
            "--budget",
            "must be ≥ 1 (the number of settings evaluated)",
        ));
    }
    a.run.init_threads()?;
    let cfg = a.settings.config()?;
    let rec = Recording::open_with(&a.path, &cfg.read.options()?)?;
    let jobs = match a.jobs {
        Some(0) => return Err(leukotrack::Error::param("--jobs", "must be ≥ 1")),
        Some(j) => j,
        None => {
            let est = leukotrack::pipeline::batch::memory_estimate(&a.path, &cfg);
            let avail = leukotrack::pipeline::batch::available_memory();
            match (est, avail) {
                (Some(e), Some(m)) if e > 0 => ((m / 2 / e) as usize).clamp(1, 2),
                _ => 1,
            }
        }
    };
    let quiet = a.run.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = move |done: usize, total: usize| {
        if !quiet {
            eprint!("\rtune: {done}/{total} settings evaluated");
        }
    };
    let report = tune::tune_recording(
        &rec,
        &cfg,
        a.truth.as_deref(),
        &TuneOptions { budget: a.budget, jobs },
        &a.out,
        &progress,
    )?;
    if !quiet {
        eprintln!();
    }
    if !a.run.quiet {
        let e = &report.expected;
        println!(
            "best of {} settings (trial {}): expected on the {}: detection F1 {:.3}, link F1 {:.3}, \
             TRA {:.3} (given settings: {:.3}, {:.3}, {:.3}) → {}",
            report.trials.len(),
            e.trial,
            e.on,
            e.detection_f1,
            e.link_f1,
            e.tra,
            e.defaults.detection_f1,
            e.defaults.link_f1,
            e.defaults.tra,
            a.out.join("best.toml").display()
        );
    }
    Ok(())
}
