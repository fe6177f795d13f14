//! `leukotrack segment`: the cells of every timepoint.

use std::path::PathBuf;

use leukotrack::io::write::{write_atomic, HyperstackWriter};
use leukotrack::pipeline::overrides::{ReadOverrides, SegmentOverrides};
use leukotrack::segment::{self, DetectorConfig, SegmentConfig};
use leukotrack::{Error, Recording, Result};

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
        Some(p) => leukotrack::pipeline::read_json::<SegmentConfig>(p)?,
        None => SegmentConfig::default(),
    };
    let mut channel = leukotrack::pipeline::Config::default().channel;
    let mut o = a.segment.clone();
    if o.detector.is_none() {
        o.detector = a.method.clone();
    }
    o.apply(&mut cfg, &mut channel)?;
    cfg.validate()?;
    let rec = Recording::open_with(&a.path, &a.read.options()?)?;
    let shape = rec.shape();
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let mut writer = match a.labels {
        true => Some(HyperstackWriter::labels(a.out.join("labels.tif"), &rec)?),
        false => None,
    };
    let bar = crate::bars::frames(!a.quiet, shape.t as u64, "segmenting");
    let mut det = leukotrack::Detections::new(shape.z > 1);
    for frame in segment::frames(&rec, channel, &cfg)? {
        let frame = frame?;
        if let Some(w) = writer.as_mut() {
            w.write_labels(&frame.segmentation.labels())?;
        }
        if frame.t == 0 {
            det = frame.segmentation.detections;
        } else {
            det.append(frame.segmentation.detections)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(w) = writer {
        w.finish()?;
    }
    det.write_csv(a.out.join("detections.csv"))?;
    let json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&a.out.join("segment.json"), |w| w.write_all(json.as_bytes()))?;
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
