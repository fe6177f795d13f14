//! `leukotrack segment`: the cells of every timepoint.

use std::path::PathBuf;

use leukotrack::pipeline::overrides::{ReadOverrides, SegmentOverrides};
use leukotrack::pipeline::{self, Config};
use leukotrack::segment::{DetectorConfig, SegmentConfig};
use leukotrack::{Recording, Result};

#[derive(clap::Args)]
pub struct Args {
    /// The recording (as for `info`).
    path: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    segment: SegmentOverrides,
    /// Deprecated (use --detector): threshold or blob.
    #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(DetectorConfig::KINDS))]
    method: Option<String>,
    /// Also write the label images (OUTDIR/labels.tif, uint16, one per timepoint).
    #[arg(long)]
    labels: bool,
    /// A JSON file with any segmentation settings (the `[segment]` table; see segment.json of
    /// a previous run); the flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    read: ReadOverrides,
}

pub fn run(a: Args) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => pipeline::read_json::<SegmentConfig>(p)?,
        None => SegmentConfig::default(),
    };
    let mut channel = Config::default().channel;
    let mut o = a.segment.clone();
    if o.detector.is_none() {
        o.detector = a.method.clone();
    }
    o.apply(&mut cfg, &mut channel)?;
    let rec = Recording::open_with(&a.path, &a.read.options()?)?;
    let shape = rec.shape();
    let bar = crate::bars::frames(!a.quiet, shape.t as u64, "segmenting");
    let det = pipeline::save_segmentation(&a.out, &rec, channel, &cfg, a.labels, &|_| {
        bar.inc(1);
        true
    })?;
    bar.finish_and_clear();
    if !a.quiet {
        eprintln!(
            "wrote {} ({} detections in {} frames, detector {})",
            a.out.join("detections.csv").display(),
            det.len(),
            shape.t,
            cfg.detector.kind()
        );
    }
    Ok(())
}
