//! `leukotrack track`: the whole pipeline on one recording.

use std::path::PathBuf;

use leukotrack::pipeline;
use leukotrack::{Recording, Result};

use crate::bars::StageBars;
use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The recording: a TIFF file, a folder or glob of TIFFs (one or more timepoints per
    /// file), a Prairie View folder or XML, or an OME `.companion.ome` file.
    path: PathBuf,
    /// Output folder (created).
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    #[command(flatten)]
    settings: PipelineArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args) -> Result<()> {
    a.run.init_threads()?;
    let cfg = a.settings.config()?;
    let rec = Recording::open_with(&a.path, &cfg.read.options()?)?;
    if !a.run.quiet {
        for w in rec.warnings() {
            eprintln!("warning: {w}");
        }
    }
    let bars = StageBars::new(!a.run.quiet);
    let mut analysis = pipeline::run(&rec, &cfg, &|p| bars.update(p))?;
    if let Some(e) = a.settings.expected()? {
        analysis.set_expected(e);
    }
    analysis.save(&a.out, &|p| bars.update(p))?;
    bars.finish();
    if !a.run.quiet {
        let s = &analysis.summary;
        let speed = &analysis.metrics.summary.cell_based.speed_um_per_min;
        eprintln!(
            "{}: {} timepoints, {} detections, {} tracks; speed {:.2} ± {:.2} µm/min (mean ± sd over tracks); {:.1} s",
            a.path.display(),
            s.counts.frames,
            s.counts.detections,
            s.counts.tracks,
            speed.mean,
            speed.sd,
            s.timings_s.total + s.timings_s.save
        );
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}
