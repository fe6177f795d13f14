//! `leukotrack interact`: interactions of existing tracks with partners of a recording.

use std::path::PathBuf;

use leukotrack::metrics::{self, MetricsConfig};
use leukotrack::{interact, Error, Recording, Result, Tracks};

use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The tracks: a tracks CSV (`track_id, frame, t_s, x_um, y_um[, z_um]`, positions as in
    /// the recording; a `volume_um3` column gives each cell's size for the gap).
    #[arg(value_name = "TRACKS")]
    tracks: PathBuf,
    /// The recording the partners are read from.
    #[arg(value_name = "REC")]
    recording: PathBuf,
    /// Output folder: interactions.csv, contacts.csv, track_metrics.csv (with the per-track
    /// `<partner>_…` columns).
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
    if cfg.interact.partner.is_empty() {
        return Err(Error::param(
            "partner",
            "no partners: give --partner NAME=CHANNEL:structure or NAME=mask:FILE (or [[interact.partner]] in --config)",
        ));
    }
    let rec = Recording::open_with(&a.recording, &cfg.read.options()?)?;
    let frame_interval = rec.calibration().frame_interval_s()?;
    let tracks = Tracks::read_csv(&a.tracks, Some(frame_interval))?;
    let found = interact::analyse(
        &rec,
        &tracks,
        None,
        &cfg.interact,
        frame_interval,
        cfg.metrics.arrest_threshold_um_per_min,
    )?;
    let mcfg = MetricsConfig { frame_interval_s: Some(frame_interval), ..cfg.metrics.clone() };
    let mut m = metrics::track_metrics(&tracks, &mcfg)?;
    found.add_to(&mut m);
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    found.write(&tracks, &a.out)?;
    m.write_csv(a.out.join("track_metrics.csv"))?;
    if !a.run.quiet {
        for p in &found.partners {
            eprintln!(
                "{}: {} contacts ({} stable) of {} tracks; empty in {} frames",
                p.name,
                p.contacts,
                p.stable_contacts,
                p.tracks_in_contact,
                p.empty_frames.len()
            );
        }
        eprintln!("{}", a.out.display());
    }
    Ok(())
}
