//! `leukotrack study`: many recordings (or tracks files), mice and groups, compared with
//! statistics whose unit is the mouse.

use std::path::PathBuf;

use leukotrack::study::{self, StudyOptions};
use leukotrack::{Error, Result};

use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The study table: CSV with the columns recording (a recording, or tracks: .csv or
    /// TrackMate .xml), mouse, group, any further columns, and the per-row overrides
    /// frame_interval_s, voxel_size_um (X,Y,Z), channel; or TOML of [[recording]] tables.
    /// Relative paths are relative to the table.
    #[arg(value_name = "STUDY")]
    table: PathBuf,
    /// Output folder: recordings/<name>/ (as batch), tracks_all.csv, per_recording.csv,
    /// per_mouse.csv, comparisons.csv, curves.csv, plots/, report.html, study.json.
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    /// Recordings analysed at once (default: as many as half the free memory holds, at most
    /// the number of threads).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// The group every other is compared with (default: the table's first group).
    #[arg(long, value_name = "GROUP")]
    reference: Option<String>,
    #[command(flatten)]
    settings: PipelineArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> Result<()> {
    a.run.init_threads()?;
    let cfg = a.settings.config()?;
    let table = study::read_table(&a.table)?;
    let options = StudyOptions {
        jobs: a.jobs.unwrap_or_else(rayon::current_num_threads),
        reference: a.reference.clone(),
    };
    let s = study::run(&table, &a.out, &cfg, &options)?;
    study::write(&s, &a.out)?;
    let failed = s.recordings.iter().filter(|r| r.status == "failed").count();
    if !a.run.quiet {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "{} rows, {} mice, {} tracks, {} comparisons against {}; {}",
            table.entries.len(),
            s.mice().len(),
            s.tracks.len(),
            s.comparisons.len(),
            s.reference,
            a.out.join("report.html").display()
        );
    }
    if failed > 0 {
        return Err(Error::Batch {
            failed,
            total: table.entries.len(),
            summary: a.out.join("report.html"),
        });
    }
    Ok(())
}
