//! `leukotrack eval`: detections or tracks scored against ground truth.

use std::path::PathBuf;

use leukotrack::eval::{self, EvalOverrides};
use leukotrack::{Detections, Error, Result, Tracks};

#[derive(clap::Args)]
pub struct Args {
    /// Ground truth CSV (track_id,frame,t_s,x_um,y_um[,z_um]).
    #[arg(long)]
    truth: PathBuf,
    /// Detections CSV (frame,x_um,y_um[,z_um]).
    #[arg(long, conflicts_with = "tracks", required_unless_present = "tracks")]
    detections: Option<PathBuf>,
    /// Tracks CSV (track_id,frame,t_s,x_um,y_um[,z_um]).
    #[arg(long)]
    tracks: Option<PathBuf>,
    /// Cells partly visible with their centre outside the volume (frame,x_um,y_um[,z_um]; the
    /// simulator's partial.csv): detections only they claim count neither way.
    #[arg(long, value_name = "CSV", requires = "detections")]
    partial: Option<PathBuf>,
    #[command(flatten)]
    settings: EvalOverrides,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<()> {
    let cfg = a.settings.config()?;
    let truth = Tracks::read_csv(&a.truth, None)?;
    let value = if let Some(d) = &a.detections {
        let mut det = Detections::read_csv(d)?;
        if let Some(p) = &a.partial {
            det = eval::without_partial(&truth, &det, &Detections::read_csv(p)?, &cfg)?;
        }
        let s = eval::score_detections(&truth, &det, &cfg)?;
        if !a.json {
            print!("{s}");
        }
        serde_json::to_value(&s)
    } else {
        let path = a
            .tracks
            .as_ref()
            .ok_or_else(|| Error::param("tracks", "give --detections or --tracks"))?;
        let tracks = Tracks::read_csv(path, None)?;
        let s = eval::score_tracks(&truth, &tracks, &cfg)?;
        if !a.json {
            print!("{s}");
        }
        serde_json::to_value(&s)
    }
    .map_err(|e| Error::data(e.to_string()))?;
    if a.json {
        println!("{value}");
    }
    Ok(())
}
