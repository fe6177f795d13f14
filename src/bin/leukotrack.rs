//! The `leukotrack` command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use leukotrack::calib::{Source, VoxelSize};
use leukotrack::eval::{self, EvalConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Detections, Error, PageOrder, ReadOptions, Recording, Result, Tracks};

/// Tracking of immune cells in two-photon intravital microscopy.
///
/// Units: positions and sizes in µm, times in seconds, speeds in µm/min. Voxel sizes are
/// always given as X,Y,Z in µm; channels and frames are numbered from 0.
#[derive(Parser)]
#[command(name = "leukotrack", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Shape, pixel type and calibration of a recording (and where each value came from).
    Info {
        /// The recording (TIFF).
        path: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadFlags,
    },
    /// Simulate a two-photon recording with ground truth (recording.tif, ground_truth.csv,
    /// drift.csv, debris.csv, synth.json).
    Synth(SynthArgs),
    /// Score detections or tracks against ground truth (one-to-one matching per frame).
    Eval(EvalArgs),
    /// Find the cells of every timepoint: writes OUTDIR/detections.csv (frame,x_um,y_um,z_um,
    /// volume_um3,mean_intensity,…), OUTDIR/segment.json (the settings used) and, with
    /// --labels, OUTDIR/labels.tif (one label image per timepoint).
    Segment(SegmentArgs),
}

/// Detector of `leukotrack segment`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Method {
    /// Global threshold + 3D connected components + watershed splitting + volume filter.
    Threshold,
    /// Laplacian of Gaussian at the cell size, non-maximum suppression, sub-voxel fit.
    Blob,
}

#[derive(Args)]
struct SegmentArgs {
    /// The recording (TIFF).
    path: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// Channel to segment (from 0); intensities are measured in every channel.
    #[arg(long, default_value_t = 0)]
    channel: usize,
    /// Expected cell diameter, µm; every other size defaults from it.
    #[arg(long, value_name = "UM")]
    cell_diameter: Option<f64>,
    /// Detector. Default: blob, which scores better on the shared synthetic recording
    /// (F1 0.957 vs 0.943 for threshold; see BENCHMARKS.md).
    #[arg(long, value_enum)]
    method: Option<Method>,
    /// Also write the label images (OUTDIR/labels.tif, uint16, one per timepoint).
    #[arg(long)]
    labels: bool,
    /// A JSON file with any SegmentConfig fields (see segment.json of a previous run); the
    /// flags above override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    read: ReadFlags,
}

/// Flags accepted by every command that reads a recording.
#[derive(Args, Clone, Default)]
struct ReadFlags {
    /// Voxel size X,Y,Z in µm (overrides the file).
    #[arg(long, value_name = "X,Y,Z")]
    voxel_size: Option<String>,
    /// Frame interval in seconds (overrides the file).
    #[arg(long, value_name = "S")]
    frame_interval: Option<f64>,
    /// Sizes T,C,Z for files whose metadata do not give them.
    #[arg(long, value_name = "T,C,Z")]
    shape: Option<String>,
    /// Order of pages, fastest-varying first: czt (ImageJ, default), ctz, zct, ztc, tcz, tzc.
    #[arg(long, value_name = "ORDER")]
    page_order: Option<String>,
}

impl ReadFlags {
    fn options(&self) -> Result<ReadOptions> {
        Ok(ReadOptions {
            voxel_size: self.voxel_size.as_deref().map(VoxelSize::parse).transpose()?,
            frame_interval_s: match self.frame_interval {
                Some(f) if !(f.is_finite() && f > 0.0) => {
                    return Err(Error::param("frame-interval", format!("must be > 0 s, got {f}")))
                }
                f => f,
            },
            shape: self.shape.as_deref().map(ReadOptions::parse_shape).transpose()?,
            page_order: self.page_order.as_deref().map(PageOrder::parse).transpose()?,
        })
    }
}

#[derive(Args)]
struct SynthArgs {
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of timepoints.
    #[arg(long, default_value_t = 20)]
    frames: usize,
    /// Image size X,Y,Z in voxels.
    #[arg(long, value_name = "X,Y,Z", default_value = "256,256,24")]
    size: String,
    /// Voxel size X,Y,Z in µm.
    #[arg(long, value_name = "X,Y,Z", default_value = "0.8,0.8,3")]
    voxel_size: String,
    /// Frame interval, s.
    #[arg(long, default_value_t = 30.0)]
    frame_interval: f64,
    /// Channels (1 or 2; channel 1 shows debris and second-reporter cells).
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Cells per 100,000 µm³.
    #[arg(long)]
    density: Option<f64>,
    /// Photons per voxel in a cell (lower = lower SNR).
    #[arg(long)]
    cell_photons: Option<f64>,
    /// Pairs of touching cells.
    #[arg(long)]
    touching_pairs: Option<usize>,
    /// A JSON file with any SynthConfig fields (see synth.json of a previous run);
    /// the flags above override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Deflate-compress the recording (lossless; smaller, slower to read).
    #[arg(long)]
    deflate: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Ground truth CSV (track_id,frame,t_s,x_um,y_um[,z_um]).
    #[arg(long)]
    truth: PathBuf,
    /// Detections CSV (frame,x_um,y_um[,z_um]).
    #[arg(long, conflicts_with = "tracks", required_unless_present = "tracks")]
    detections: Option<PathBuf>,
    /// Tracks CSV (track_id,frame,t_s,x_um,y_um[,z_um]).
    #[arg(long)]
    tracks: Option<PathBuf>,
    /// Largest distance between a detection and the true position it matches, µm.
    #[arg(long, default_value_t = 5.0)]
    match_um: f64,
    /// Largest frame difference a true link may span (2 = one missing frame).
    #[arg(long, default_value_t = 3)]
    gap_frames: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { path, json, read } => info(&path, json, &read),
        Command::Synth(a) => synth(a),
        Command::Eval(a) => run_eval(a),
        Command::Segment(a) => run_segment(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leukotrack: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::File => "file",
        Source::User => "user",
        Source::Default => "default",
    }
}

fn info(path: &Path, as_json: bool, read: &ReadFlags) -> Result<()> {
    let rec = Recording::open_with(path, &read.options()?)?;
    let s = rec.shape();
    let cal = rec.calibration();
    let v = |x: Option<leukotrack::calib::Value>| x.map(|x| x.value);
    let src = |x: Option<leukotrack::calib::Value>| x.map(|x| source_name(x.source));
    if as_json {
        let obj = json!({
            "path": path.display().to_string(),
            "format": rec.format(),
            "shape": {"t": s.t, "c": s.c, "z": s.z, "y": s.y, "x": s.x},
            "dtype": rec.dtype().name(),
            "voxel_size_um": {"x": v(cal.voxel_x_um), "y": v(cal.voxel_y_um), "z": v(cal.voxel_z_um)},
            "frame_interval_s": v(cal.frame_interval_s),
            "calibrated": cal.is_calibrated(),
            "calibration_source": {
                "x": src(cal.voxel_x_um), "y": src(cal.voxel_y_um), "z": src(cal.voxel_z_um),
                "frame_interval": src(cal.frame_interval_s),
            },
            "page_order": rec.page_order().to_string(),
            "warnings": rec.warnings(),
        });
        println!("{obj}");
        return Ok(());
    }
    let show = |x: Option<leukotrack::calib::Value>, unit: &str| match x {
        Some(x) => format!("{} {unit} ({})", x.value, source_name(x.source)),
        None => "unknown".to_string(),
    };
    println!("{}", path.display());
    println!("  format          {:?}", rec.format());
    println!(
        "  shape           t={} c={} z={} y={} x={}  (axes t, c, z, y, x)",
        s.t, s.c, s.z, s.y, s.x
    );
    println!("  pixel type      {}", rec.dtype());
    println!("  voxel x         {}", show(cal.voxel_x_um, "µm"));
    println!("  voxel y         {}", show(cal.voxel_y_um, "µm"));
    println!("  voxel z         {}", show(cal.voxel_z_um, "µm"));
    println!("  frame interval  {}", show(cal.frame_interval_s, "s"));
    println!("  calibrated      {}", if cal.is_calibrated() { "yes" } else { "no" });
    for w in rec.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn parse_size(s: &str) -> Result<[usize; 3]> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let v: Vec<usize> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if v.len() != 3 || parts.len() != 3 || v.contains(&0) {
        return Err(Error::param(
            "size",
            format!("`{s}`: give X,Y,Z as three positive integers (voxels)"),
        ));
    }
    Ok([v[0], v[1], v[2]])
}

fn synth(a: SynthArgs) -> Result<()> {
    let mut cfg: SynthConfig = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::param("config", format!("{}: {e}", p.display())))?
        }
        None => SynthConfig::default(),
    };
    cfg.seed = a.seed;
    cfg.frames = a.frames;
    cfg.size = parse_size(&a.size)?;
    cfg.voxel_um = VoxelSize::parse(&a.voxel_size)?.to_array();
    cfg.frame_interval_s = a.frame_interval;
    cfg.channels = a.channels;
    if let Some(d) = a.density {
        cfg.density_per_1e5_um3 = d;
    }
    if let Some(p) = a.cell_photons {
        cfg.cell_photons = p;
    }
    if let Some(n) = a.touching_pairs {
        cfg.touching_pairs = n;
    }
    let sim = Simulation::new(&cfg)?;
    let bar = progress(!a.quiet, cfg.frames as u64, "rendering");
    sim.write_with_progress(&a.out, a.deflate, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if !a.quiet {
        let n_tracks = sim.truth().rows_by_track().len();
        eprintln!(
            "wrote {} ({} frames, {} channel(s), {} cells in view over {} tracks)",
            a.out.join("recording.tif").display(),
            cfg.frames,
            cfg.channels,
            sim.truth().len(),
            n_tracks
        );
    }
    Ok(())
}

fn progress(show: bool, len: u64, msg: &'static str) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} frames, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(msg);
    bar
}

fn run_segment(a: SegmentArgs) -> Result<()> {
    use leukotrack::io::write::{write_atomic, HyperstackWriter, SampleType};
    use leukotrack::segment::{
        self, BlobDetector, DetectorConfig, SegmentConfig, ThresholdDetector,
    };
    use leukotrack::Shape;

    let mut cfg: SegmentConfig = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::param("config", format!("{}: {e}", p.display())))?
        }
        None => SegmentConfig::default(),
    };
    if let Some(d) = a.cell_diameter {
        cfg.cell_diameter_um = d;
    }
    match a.method {
        Some(Method::Threshold) if !matches!(cfg.detector, DetectorConfig::Threshold(_)) => {
            cfg.detector = DetectorConfig::Threshold(ThresholdDetector::default())
        }
        Some(Method::Blob) if !matches!(cfg.detector, DetectorConfig::Blob(_)) => {
            cfg.detector = DetectorConfig::Blob(BlobDetector::default())
        }
        _ => {}
    }
    cfg.validate()?;
    let rec = Recording::open_with(&a.path, &a.read.options()?)?;
    let shape = rec.shape();
    if a.channel >= shape.c {
        return Err(Error::param(
            "channel",
            format!(
                "channel {} does not exist: {} has {} channel(s), numbered from 0",
                a.channel,
                a.path.display(),
                shape.c
            ),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let mut writer = if a.labels {
        let lshape = Shape { c: 1, ..shape };
        Some(HyperstackWriter::create(
            a.out.join("labels.tif"),
            lshape,
            SampleType::U16,
            rec.calibration(),
        )?)
    } else {
        None
    };
    let bar = progress(!a.quiet, shape.t as u64, "segmenting");
    let mut all: Option<leukotrack::Detections> = None;
    segment::segment_recording_with(&rec, a.channel, &cfg, &mut |_, seg| {
        if let Some(w) = writer.as_mut() {
            w.write_labels(&seg.labels())?;
        }
        match &mut all {
            None => all = Some(seg.detections),
            Some(d) => append_rows(d, seg.detections)?,
        }
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(w) = writer {
        w.finish()?;
    }
    let det = all.unwrap_or_else(|| leukotrack::Detections::new(shape.z > 1));
    det.write_csv(a.out.join("detections.csv"))?;
    let json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::data(e.to_string()))?;
    write_atomic(&a.out.join("segment.json"), |w| w.write_all(json.as_bytes()))?;
    if !a.quiet {
        eprintln!(
            "wrote {} ({} detections in {} frames, detector {})",
            a.out.join("detections.csv").display(),
            det.len(),
            shape.t,
            cfg.detector.detector().name()
        );
    }
    Ok(())
}

/// Appends the rows of `b` to `a` (the same columns, as every frame of one run has).
fn append_rows(a: &mut leukotrack::Detections, b: leukotrack::Detections) -> Result<()> {
    a.frame.extend(b.frame);
    a.x_um.extend(b.x_um);
    a.y_um.extend(b.y_um);
    if let (Some(za), Some(zb)) = (a.z_um.as_mut(), b.z_um) {
        za.extend(zb);
    }
    for ((na, ca), (nb, cb)) in a.extra.iter_mut().zip(b.extra) {
        match (ca, cb) {
            (leukotrack::Column::Float(x), leukotrack::Column::Float(y)) if *na == nb => {
                x.extend(y)
            }
            _ => return Err(Error::data(format!("column `{na}` differs between frames"))),
        }
    }
    Ok(())
}

fn run_eval(a: EvalArgs) -> Result<()> {
    let cfg = EvalConfig { match_um: a.match_um, gap_frames: a.gap_frames };
    cfg.validate()?;
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
