//! `leukotrack metrics`: motility measures of tracks (CSV, TrackMate XML, Imaris).

use std::path::PathBuf;

use leukotrack::calib::{self, VoxelSize};
use leukotrack::import::{read_tracks, TrackMateOptions};
use leukotrack::metrics::{self, MetricsConfig};
use leukotrack::pipeline::overrides::MetricsOverrides;
use leukotrack::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Tracks: a CSV (track_id,t_s,x_um,y_um[,z_um]; frame optional; without z_um, 2D), a
    /// TrackMate XML file (e.g. Fiji's tracks.xml) or an Imaris Position CSV export.
    tracks: PathBuf,
    /// Output folder (created if needed).
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    /// Format of TRACKS: csv, trackmate or imaris (default: trackmate for a .xml file, else
    /// csv). Spots in no track are left out of TrackMate and Imaris files.
    #[arg(long, value_parser = ["csv", "trackmate", "imaris"])]
    format: Option<String>,
    /// Frame interval, s (default: the median time step of the tracks; required for Imaris
    /// files; overrides a TrackMate file's times).
    #[arg(long, value_name = "S")]
    frame_interval: Option<f64>,
    /// Voxel size X,Y,Z in µm for a TrackMate file in pixels (overrides its calibration).
    #[arg(long, value_name = "X,Y,Z")]
    voxel_size: Option<String>,
    #[command(flatten)]
    metrics: MetricsOverrides,
}

pub fn run(a: Args) -> Result<()> {
    a.frame_interval.map(calib::frame_interval).transpose()?;
    let mut config =
        MetricsConfig { frame_interval_s: a.frame_interval, ..MetricsConfig::default() };
    a.metrics.apply(&mut config)?;
    config.validate()?;
    let options = TrackMateOptions {
        voxel_size: a.voxel_size.as_deref().map(VoxelSize::parse).transpose()?,
        frame_interval_s: a.frame_interval,
    };
    let tracks = read_tracks(&a.tracks, a.format.as_deref(), &options)?;
    let analysis = metrics::analyze(&tracks, &config)?;
    analysis.write(&a.out)?;
    let s = &analysis.summary;
    let speed = &s.cell_based.speed_um_per_min;
    println!(
        "{} of {} tracks ({} points, {}D): speed {:.3} ± {:.3} µm/min (mean ± sd over tracks)",
        s.tracks.analysed, s.tracks.input, s.n_points, s.dimensions, speed.mean, speed.sd
    );
    match s.msd_fit.lag_frames {
        Some([lo, hi]) => println!(
            "motility coefficient {:.4} µm²/min (MSD lags {lo}–{hi} frames, R² {:.4}); persistence time {:.3} min",
            s.motility_coefficient_um2_per_min, s.msd_fit.r_squared, s.persistence_time_min
        ),
        None => println!("motility coefficient: too few lags to fit"),
    }
    println!("wrote {}", a.out.display());
    Ok(())
}
