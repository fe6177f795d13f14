//! `leukotrack info`: shape, pixel type and calibration of a recording.

use std::path::PathBuf;

use leukotrack::calib::Value;
use leukotrack::pipeline::overrides::ReadOverrides;
use leukotrack::{Recording, Result};

#[derive(clap::Args)]
pub struct Args {
    /// The recording: a TIFF file, a folder or glob of TIFFs (one or more timepoints per
    /// file), a Prairie View folder or XML, or an OME `.companion.ome` file.
    path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadOverrides,
}

pub fn run(a: Args) -> Result<()> {
    let rec = Recording::open_with(&a.path, &a.read.options()?)?;
    if a.json {
        println!("{}", rec.info());
        return Ok(());
    }
    let s = rec.shape();
    let cal = rec.calibration();
    let show = |x: Option<Value>, unit: &str| match x {
        Some(x) => format!("{} {unit} ({})", x.value, x.source.name()),
        None => "unknown".to_string(),
    };
    println!("{}", a.path.display());
    println!("  format          {:?}", rec.format());
    println!(
        "  shape           t={} c={} z={} y={} x={}  (axes t, c, z, y, x)",
        s.t, s.c, s.z, s.y, s.x
    );
    println!("  pixel type      {} (stored {})", rec.dtype(), rec.stored_dtype());
    println!("  files           {}", rec.files().count());
    println!("  voxel x         {}", show(cal.voxel_x_um, "µm"));
    println!("  voxel y         {}", show(cal.voxel_y_um, "µm"));
    println!("  voxel z         {}", show(cal.voxel_z_um, "µm"));
    println!("  frame interval  {}", show(cal.frame_interval_s, "s"));
    if let Some(times) = &cal.frame_times_s {
        println!("  frame times     {} per-timepoint times from the file", times.len());
    }
    println!("  calibrated      {}", if cal.is_calibrated() { "yes" } else { "no" });
    for w in rec.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(())
}
