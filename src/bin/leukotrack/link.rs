//! `leukotrack link`: detections linked into tracks.

use std::path::PathBuf;

use leukotrack::calib::{self, Calibration, Value};
use leukotrack::pipeline::overrides::{DriftOverrides, LinkOverrides};
use leukotrack::pipeline::DriftConfig;
use leukotrack::track::{self, LinkConfig, LinkMethod};
use leukotrack::{Detections, Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Detections CSV with at least frame,x_um,y_um (and z_um for 3D); other columns are
    /// carried into tracks.csv.
    detections: PathBuf,
    /// Output folder (created).
    #[arg(short, long)]
    out: PathBuf,
    /// Time between frames, s.
    #[arg(long, value_name = "S")]
    frame_interval: f64,
    #[command(flatten)]
    link: LinkOverrides,
    /// Deprecated (use --linker): lap or greedy.
    #[arg(long, value_name = "METHOD", value_parser = clap::builder::PossibleValuesParser::new(LinkMethod::NAMES))]
    method: Option<String>,
    #[command(flatten)]
    drift: DriftOverrides,
}

pub fn run(a: Args) -> Result<()> {
    let dt = calib::frame_interval(a.frame_interval)?;
    let mut cfg = LinkConfig::default();
    if let Some(m) = &a.method {
        cfg.method = LinkMethod::parse(m)?;
    }
    a.link.apply(&mut cfg)?;
    cfg.validate()?;
    let mut drift_cfg = DriftConfig::None;
    a.drift.apply(&mut drift_cfg)?;
    let det = Detections::read_csv(&a.detections)?;
    let cal = Calibration { frame_interval_s: Some(Value::user(dt)), ..Default::default() };
    let drift = drift_cfg.estimate(&det, &cal, &cfg, None, &|_| {})?;
    let (tracks, derived) = track::link_report(&det, &cal, &cfg, drift.as_ref())?;
    let estimated = if a.drift.drift_table.is_some() { None } else { drift };
    let drift = track::drift::with_jumps(estimated, &derived.jumps, det.frame.iter().copied());
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    // A summary from an earlier run must not describe this one's outputs.
    let summary = a.out.join("summary.json");
    if summary.exists() {
        std::fs::remove_file(&summary).map_err(|e| Error::io(&summary, e))?;
    }
    if let Some(d) = &drift {
        d.write_csv(a.out.join("drift.csv"))?;
    }
    tracks.write_csv(a.out.join("tracks.csv"))?;
    let n_tracks = tracks.rows_by_track().len();
    let json = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "detections": a.detections,
        "config": { "link": cfg },
        "link": { "derived": derived },
        "counts": { "detections": det.len(), "tracks": n_tracks, "links": tracks.len() - n_tracks },
    });
    leukotrack::io::write::write_atomic(&summary, |w: &mut dyn std::io::Write| {
        serde_json::to_writer_pretty(&mut *w, &json).map_err(std::io::Error::other)?;
        writeln!(w)
    })?;
    for w in &derived.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{} detections linked into {} tracks: {}",
        det.len(),
        tracks.rows_by_track().len(),
        a.out.join("tracks.csv").display()
    );
    Ok(())
}
