//! `leukotrack twin`: a simulated twin of a recording, with exact ground truth.

use std::path::PathBuf;

use leukotrack::{twin, Recording, Result};

use crate::pipeline_args::{PipelineArgs, RunArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The recording (as `track` reads it).
    path: PathBuf,
    /// Output folder (created): `twin.json` (what was measured, and the simulator's
    /// configuration), `recording.tif`, `ground_truth.csv` (and the simulator's other truth
    /// files), `comparison.png` (recording and twin side by side).
    #[arg(short, long, value_name = "DIR")]
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
    let (t, _) = twin::measure(&rec, &cfg)?;
    twin::write(&t, &rec, &a.out)?;
    if !a.run.quiet {
        let m = &t.measured;
        println!(
            "twin of {}: {:.0} cells per frame of {:.1} µm, background {:.0} ± {:.1}, SNR {:.1}, \
             mean speed {:.1} µm/min, {:.0} % arrested → {}",
            a.path.display(),
            m.cells_per_frame,
            m.median_diameter_um,
            m.background_level,
            m.noise_sd,
            m.snr,
            m.mean_speed_um_per_min,
            100.0 * m.arrested_fraction,
            a.out.display()
        );
    }
    Ok(())
}
