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
        let det = Detections::read_csv(d)?;
        let s = eval::score_detections(&truth, &det, &cfg)?;
        if !a.json {
            print_detection_score(&s);
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
            print_detection_score(&s.detection);
            println!("true links        {}", s.true_links);
            println!("predicted links   {}", s.predicted_links);
            println!("correct links     {}", s.correct_links);
            println!("link recall       {:.4}", s.link_recall);
            println!("link precision    {:.4}", s.link_precision);
            println!("link F1           {:.4}", s.link_f1);
            println!("CTC DET           {:.4}", s.ctc.det);
            println!("CTC TRA           {:.4}", s.ctc.tra);
            println!("CTC LNK           {:.4}", s.ctc.lnk);
        }
        serde_json::to_value(&s)
    }
    .map_err(|e| Error::data(e.to_string()))?;
    if a.json {
        println!("{value}");
    }
    Ok(())
}

fn print_detection_score(s: &eval::DetectionScore) {
    println!("truth points      {}", s.n_truth);
    println!("predicted points  {}", s.n_predicted);
    println!("true positives    {}", s.true_positives);
    println!("false positives   {}", s.false_positives);
    println!("false negatives   {}", s.false_negatives);
    println!("precision         {:.4}", s.precision);
    println!("recall            {:.4}", s.recall);
    println!("F1                {:.4}", s.f1);
    println!("RMSE xy           {:.3} µm", s.rmse_xy_um);
    if let Some(z) = s.rmse_z_um {
        println!("RMSE z            {z:.3} µm");
    }
}
