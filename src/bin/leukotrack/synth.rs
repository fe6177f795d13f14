//! `leukotrack synth`: a simulated recording with ground truth.

use std::path::PathBuf;

use leukotrack::synth::{Simulation, SynthConfig, SynthOverrides};
use leukotrack::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// A JSON file with any simulator settings (e.g. synth.json of a previous run); the flags
    /// override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: SynthOverrides,
    /// Deflate-compress the recording (lossless; smaller, slower to read).
    #[arg(long)]
    deflate: bool,
    /// Write only the ground truth (no recording.tif): for linking and metrics benchmarks.
    #[arg(long)]
    truth_only: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<()> {
    let text = match &a.config {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| leukotrack::Error::io(p, e))?),
        None => None,
    };
    let cfg = SynthConfig::resolve(text.as_deref(), &a.overrides)?;
    let sim = Simulation::new(&cfg)?;
    if a.truth_only {
        sim.write_truth(&a.out)?;
    } else {
        let bar = crate::bars::frames(!a.quiet, cfg.frames as u64, "rendering");
        sim.write_with_progress(&a.out, a.deflate, &|| bar.inc(1))?;
        bar.finish_and_clear();
    }
    if !a.quiet {
        eprintln!(
            "wrote {} ({} frames, {} channel(s), {} cells in view over {} tracks)",
            a.out.join("recording.tif").display(),
            cfg.frames,
            cfg.channels,
            sim.truth().len(),
            sim.truth().rows_by_track().len()
        );
    }
    Ok(())
}
