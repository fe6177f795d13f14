//! `leukotrack batch`: the pipeline on every recording of folders, globs or files.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use leukotrack::pipeline::batch::{self, Status};
use leukotrack::Result;

use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// Folders (searched recursively), globs (`'recs/*.tif'`) or files.
    #[arg(required = true, value_name = "DIR_OR_GLOB")]
    inputs: Vec<PathBuf>,
    /// Output folder: one subfolder per recording (named by its path relative to the input
    /// folder, without .tif/.ome.tif) and summary.csv.
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    /// Each folder holding per-timepoint TIFF files is one recording (instead of each file).
    #[arg(long)]
    series: bool,
    /// Recordings analysed at once (default: as many as half the free memory holds, at most
    /// the number of threads).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    settings: PipelineArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> Result<()> {
    a.run.init_threads()?;
    let cfg = a.settings.config()?;
    let inputs = batch::discover(&a.inputs, a.series)?;
    let jobs =
        a.jobs.unwrap_or_else(|| batch::jobs_for(&inputs, &cfg, rayon::current_num_threads()));
    let show = !a.run.quiet && std::io::stderr().is_terminal();
    let overall = if show { ProgressBar::new(inputs.len() as u64) } else { ProgressBar::hidden() };
    overall.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} recordings, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    overall.set_message("batch");
    let rows = batch::run_all(&inputs, &a.out, &cfg, jobs, &|input, row| {
        if !a.run.quiet {
            let what = match &row.error {
                Some(e) => format!("failed: {e}"),
                None => row.status.name().to_string(),
            };
            overall.suspend(|| eprintln!("{}: {what}", input.name));
        }
        overall.inc(1);
    })?;
    overall.finish_and_clear();
    let summary = a.out.join("summary.csv");
    if !a.run.quiet {
        let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
        let (failed, skipped) = (count(Status::Failed), count(Status::Skipped));
        eprintln!(
            "{} recordings: {} analysed, {skipped} skipped (complete), {failed} failed; {}",
            rows.len(),
            rows.len() - failed - skipped,
            summary.display()
        );
    }
    batch::check(&rows, &summary)
}
