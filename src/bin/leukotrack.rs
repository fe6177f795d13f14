//! The `leukotrack` command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use leukotrack::calib::{Source, VoxelSize};
use leukotrack::eval::{self, EvalConfig};
use leukotrack::metrics::{self, MetricsConfig, Reference};
use leukotrack::pipeline::{self, batch, Config, DriftConfig, Progress, Stage};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::track::drift::{self, Drift, DriftMethod};
use leukotrack::track::{Gate, LinkConfig, LinkMethod};
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
        /// The recording: a TIFF file, a folder or glob of TIFFs (one or more timepoints per
        /// file), a Prairie View folder or XML, or an OME `.companion.ome` file.
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
    /// Link detections into tracks (k-d tree candidates, global assignment, gap closing,
    /// motion prediction); writes OUTDIR/tracks.csv.
    Link(LinkArgs),
    /// Motility metrics of tracks (celltrackR's definitions): track_metrics.csv, steps.csv,
    /// msd.csv, autocorrelation.csv and metrics_summary.json in OUTDIR.
    Metrics(MetricsArgs),
    /// Find the cells of every timepoint: writes OUTDIR/detections.csv (frame,x_um,y_um,z_um,
    /// volume_um3,mean_intensity,…), OUTDIR/segment.json (the settings used) and, with
    /// --labels, OUTDIR/labels.tif (one label image per timepoint).
    Segment(SegmentArgs),
    /// The whole pipeline on one recording: segment → drift → link → metrics → exports.
    /// Writes into OUTDIR: detections.csv, tracks.csv, track_metrics.csv, steps.csv,
    /// msd.csv, autocorrelation.csv, drift.csv, metrics_summary.json, summary.json,
    /// tracks.xml (TrackMate), plots/ (PNG and SVG), and with --ctc the Cell Tracking
    /// Challenge format (res_track.txt, mask000.tif…).
    Track(TrackArgs),
    /// The pipeline on every recording of a folder (recursively), a glob or a list of files:
    /// one results folder per recording plus OUTDIR/summary.csv. Resumable: a recording
    /// whose outputs are complete (same input, same settings) is skipped; a failing one is
    /// recorded and the batch goes on (exit status 1 at the end if any failed).
    Batch(BatchArgs),
    /// The configuration file: `--default` prints the full commented default (the schema);
    /// given a FILE, checks it and prints every effective value.
    Config(ConfigArgs),
}

#[derive(Args)]
struct TrackArgs {
    /// The recording (as for `info`).
    path: PathBuf,
    /// Output folder (created).
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    #[command(flatten)]
    flags: PipelineFlags,
}

#[derive(Args)]
struct BatchArgs {
    /// Folders (searched recursively), globs (`'recs/*.tif'`) or files.
    #[arg(required = true, value_name = "DIR_OR_GLOB")]
    inputs: Vec<PathBuf>,
    /// Output folder: one subfolder per recording (named by its path relative to the input
    /// folder, without .tif/.ome.tif) and summary.csv.
    #[arg(short, long, value_name = "OUTDIR")]
    out: PathBuf,
    /// Each folder holding per-timepoint TIFF files is one recording (instead of each file).
    #[arg(long)]
    series: bool,
    /// Recordings analysed at once (default: as many as half the free memory holds, at most
    /// the number of threads).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    flags: PipelineFlags,
}

#[derive(Args)]
struct ConfigArgs {
    /// Print the full commented default configuration.
    #[arg(long, conflicts_with = "file")]
    default: bool,
    /// A configuration file to check.
    #[arg(required_unless_present = "default")]
    file: Option<PathBuf>,
}

/// Everything `track` and `batch` take: a config file and flags overriding it.
#[derive(Args)]
struct PipelineFlags {
    /// A TOML configuration (`leukotrack config --default` prints every key); the flags
    /// below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    read: ReadFlags,
    /// Channel to segment (from 0); intensities are measured in every channel.
    #[arg(long)]
    channel: Option<usize>,
    /// Expected cell diameter, µm; every other segmentation size defaults from it.
    #[arg(long, value_name = "UM")]
    cell_diameter: Option<f64>,
    /// Detector (threshold|blob, default blob) and/or linker (lap|greedy, default lap); the
    /// flag may be given twice, e.g. `--method threshold --method lap`.
    #[arg(long, value_name = "METHOD", value_parser = ["threshold", "blob", "lap", "greedy"])]
    method: Vec<String>,
    /// Also write the label images (OUTDIR/labels.tif, uint16, one per timepoint).
    #[arg(long)]
    labels: bool,
    #[command(flatten)]
    link: LinkFlags,
    /// Drift correction: none (default), channel:N (phase correlation of channel N),
    /// objects (arrested cells, debris) or median (all cells; unsafe for directed migration).
    #[arg(long, value_name = "METHOD", conflicts_with = "drift_table")]
    drift: Option<String>,
    /// A drift table (frame,dx_um,dy_um[,dz_um]) to link drift-corrected positions.
    #[arg(long, value_name = "CSV")]
    drift_table: Option<PathBuf>,
    #[command(flatten)]
    metrics: MetricsFlags,
    /// Also write the Cell Tracking Challenge format into OUTDIR (res_track.txt, mask000.tif…: 16-bit labels; it segments the recording a second time).
    #[arg(long)]
    ctc: bool,
    /// Do not draw plots/.
    #[arg(long)]
    no_plots: bool,
    /// Do not write tracks.xml.
    #[arg(long)]
    no_trackmate: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

impl PipelineFlags {
    /// The configuration file (or the defaults) with the flags applied, checked.
    fn config(&self) -> Result<Config> {
        use leukotrack::segment::{BlobDetector, DetectorConfig, ThresholdDetector};
        let mut cfg = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        let r = &self.read;
        if let Some(v) = &r.voxel_size {
            cfg.read.voxel_size_um = Some(VoxelSize::parse(v)?.to_array());
        }
        if r.frame_interval.is_some() {
            cfg.read.frame_interval_s = r.frame_interval;
        }
        if let Some(s) = &r.shape {
            let (t, c, z) = ReadOptions::parse_shape(s)?;
            cfg.read.shape = Some(pipeline::TczShape { t, c, z });
        }
        if r.page_order.is_some() {
            cfg.read.page_order = r.page_order.clone();
        }
        if let Some(c) = self.channel {
            cfg.channel = c;
        }
        if let Some(d) = self.cell_diameter {
            cfg.segment.cell_diameter_um = d;
        }
        for m in &self.method {
            match m.as_str() {
                "threshold" if !matches!(cfg.segment.detector, DetectorConfig::Threshold(_)) => {
                    cfg.segment.detector = DetectorConfig::Threshold(ThresholdDetector::default())
                }
                "blob" if !matches!(cfg.segment.detector, DetectorConfig::Blob(_)) => {
                    cfg.segment.detector = DetectorConfig::Blob(BlobDetector::default())
                }
                "lap" | "greedy" => cfg.link.method = link_method(m),
                _ => {}
            }
        }
        self.link.apply(&mut cfg.link);
        if let Some(d) = &self.drift {
            cfg.drift = DriftConfig::parse(d)?;
        }
        if let Some(p) = &self.drift_table {
            cfg.drift = DriftConfig::Table { path: p.clone() };
        }
        self.metrics.apply(&mut cfg.metrics)?;
        if self.ctc {
            cfg.export.ctc = true;
        }
        if self.no_plots {
            cfg.export.plots = false;
        }
        if self.no_trackmate {
            cfg.export.trackmate_xml = false;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn init_threads(&self) -> Result<()> {
        if let Some(n) = self.threads {
            if n == 0 {
                return Err(Error::param("threads", "must be ≥ 1"));
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| Error::param("threads", e.to_string()))?;
        }
        Ok(())
    }
}

/// Flags of the linker, shared by `link`, `track` and `batch`.
#[derive(Args, Clone, Default)]
struct LinkFlags {
    /// Gate: the largest speed a cell may have between two frames, µm/min (default 30,
    /// about the fastest leukocytes).
    #[arg(long, value_name = "UM_PER_MIN", conflicts_with = "max_distance")]
    max_speed: Option<f64>,
    /// Gate: the largest distance between two frames, µm (instead of --max-speed).
    #[arg(long, value_name = "UM")]
    max_distance: Option<f64>,
    /// Largest frame difference a gap-closing link spans (2 = one missing frame; 0 = no gap
    /// closing). Default 3.
    #[arg(long, value_name = "N")]
    gap_frames: Option<u32>,
    /// Fixed gap-closing gate, µm (default: the frame-to-frame gate scaled by the time gap).
    #[arg(long, value_name = "UM")]
    gap_max_distance: Option<f64>,
    /// Measure costs from the observed positions, not from a constant-velocity prediction.
    #[arg(long)]
    no_prediction: bool,
}

impl LinkFlags {
    /// Overrides the values given on the command line.
    fn apply(&self, cfg: &mut LinkConfig) {
        if let Some(um) = self.max_distance {
            cfg.gate = Gate::MaxDistance { um };
        }
        if let Some(v) = self.max_speed {
            cfg.gate = Gate::MaxSpeed { um_per_min: v };
        }
        if let Some(n) = self.gap_frames {
            cfg.gap_frames = n;
        }
        if self.gap_max_distance.is_some() {
            cfg.gap_max_distance_um = self.gap_max_distance;
        }
        if self.no_prediction {
            cfg.predict = false;
        }
    }
}

fn link_method(name: &str) -> LinkMethod {
    if name == "greedy" {
        LinkMethod::Greedy
    } else {
        LinkMethod::Lap
    }
}

#[derive(Args)]
struct LinkArgs {
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
    link: LinkFlags,
    /// lap (global assignment, default) or greedy (nearest first, for comparison).
    #[arg(long, default_value = "lap", value_parser = ["lap", "greedy"])]
    method: String,
    /// A drift table (frame,dx_um,dy_um[,dz_um]) to link drift-corrected positions; tracks.csv
    /// keeps the raw positions and adds x_um_corrected, y_um_corrected[, z_um_corrected].
    #[arg(long, value_name = "CSV", conflicts_with = "drift")]
    drift_table: Option<PathBuf>,
    /// Estimate the drift from the detections: none (default), objects (arrested cells or
    /// static debris) or median (all cells; unsafe for directed migration). Writes drift.csv.
    #[arg(long, default_value = "none", value_parser = ["none", "objects", "median"])]
    drift: String,
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
    /// Write only the ground truth (no recording.tif): for linking and metrics benchmarks.
    #[arg(long)]
    truth_only: bool,
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

#[derive(Args)]
struct MetricsArgs {
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
    metrics: MetricsFlags,
}

/// Flags of the motility analysis, shared by `metrics`, `track` and `batch`.
#[derive(Args, Clone, Default)]
struct MetricsFlags {
    /// A step slower than this counts as arrested, µm/min (default 2).
    #[arg(long, value_name = "UM_PER_MIN")]
    arrest_threshold: Option<f64>,
    /// Analyse the xy projection (drop z).
    #[arg(long = "2d")]
    two_d: bool,
    /// Largest lag of the MSD and autocorrelation, frames (default: every lag present).
    #[arg(long, value_name = "STEPS")]
    max_lag: Option<u32>,
    /// Leave out tracks with fewer points (default 1: none).
    #[arg(long, value_name = "N")]
    min_points: Option<usize>,
    /// Leave out tracks with a point flagged in the `touches_border` column.
    #[arg(long)]
    exclude_border: bool,
    /// Reference direction X,Y,Z (or X,Y) for the directionality measures.
    #[arg(long, value_name = "X,Y,Z", conflicts_with = "reference_point")]
    reference_direction: Option<String>,
    /// Reference point X,Y,Z (or X,Y) in µm, e.g. a chemokine source.
    #[arg(long, value_name = "X,Y,Z")]
    reference_point: Option<String>,
}

impl MetricsFlags {
    /// Overrides the values given on the command line.
    fn apply(&self, cfg: &mut MetricsConfig) -> Result<()> {
        if let Some(v) = self.arrest_threshold {
            cfg.arrest_threshold_um_per_min = v;
        }
        if self.two_d {
            cfg.two_d = true;
        }
        if self.max_lag.is_some() {
            cfg.max_lag_frames = self.max_lag;
        }
        if let Some(n) = self.min_points {
            cfg.min_points = n;
        }
        if self.exclude_border {
            cfg.exclude_border = true;
        }
        if let Some(d) = &self.reference_direction {
            cfg.reference =
                Some(Reference::Direction { vector: parse_xyz(d, "reference-direction")? });
        }
        if let Some(p) = &self.reference_point {
            cfg.reference =
                Some(Reference::Point { position_um: parse_xyz(p, "reference-point")? });
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { path, json, read } => info(&path, json, &read),
        Command::Synth(a) => synth(a),
        Command::Eval(a) => run_eval(a),
        Command::Link(a) => run_link(a),
        Command::Metrics(a) => run_metrics(a),
        Command::Segment(a) => run_segment(a),
        Command::Track(a) => run_track(a),
        Command::Batch(a) => run_batch(a),
        Command::Config(a) => run_config(a),
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
            "stored_dtype": rec.stored_dtype(),
            "files": rec.files().count(),
            "frame_times_s": cal.frame_times_s,
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
    if a.truth_only {
        sim.write_truth(&a.out)?;
    } else {
        let bar = progress(!a.quiet, cfg.frames as u64, "rendering");
        sim.write_with_progress(&a.out, a.deflate, &|| bar.inc(1))?;
        bar.finish_and_clear();
    }
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
            Some(d) => d.append(seg.detections)?,
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

fn run_link(a: LinkArgs) -> Result<()> {
    if !(a.frame_interval.is_finite() && a.frame_interval > 0.0) {
        return Err(Error::param(
            "frame-interval",
            format!("must be > 0 s, got {}", a.frame_interval),
        ));
    }
    let mut cfg = LinkConfig { method: link_method(&a.method), ..LinkConfig::default() };
    a.link.apply(&mut cfg);
    cfg.validate()?;
    let det = Detections::read_csv(&a.detections)?;
    let cal = leukotrack::Calibration {
        frame_interval_s: Some(leukotrack::calib::Value::user(a.frame_interval)),
        ..Default::default()
    };
    let drift: Option<Drift> = match (&a.drift_table, a.drift.as_str()) {
        (Some(p), _) => Some(Drift::read_csv(p)?),
        (None, "objects") => Some(drift::estimate(
            &det,
            &cal,
            &cfg,
            DriftMethod::Objects { arrest_speed_um_per_min: 2.0 },
        )?),
        (None, "median") => Some(drift::estimate(&det, &cal, &cfg, DriftMethod::Median)?),
        _ => None,
    };
    let tracks = leukotrack::track::link_with_drift(&det, &cal, &cfg, drift.as_ref())?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    if a.drift_table.is_none() {
        if let Some(d) = &drift {
            d.write_csv(a.out.join("drift.csv"))?;
        }
    }
    tracks.write_csv(a.out.join("tracks.csv"))?;
    let n_tracks = tracks.rows_by_track().len();
    eprintln!(
        "{} detections linked into {n_tracks} tracks: {}",
        det.len(),
        a.out.join("tracks.csv").display()
    );
    Ok(())
}

/// Parses `X,Y,Z` or `X,Y` (z = 0) for the flag `name`.
fn parse_xyz(s: &str, name: &str) -> Result<[f64; 3]> {
    let v: Vec<f64> = s.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    let parts = s.split(',').count();
    match v[..] {
        [x, y, z] if parts == 3 && v.iter().all(|c| c.is_finite()) => Ok([x, y, z]),
        [x, y] if parts == 2 && v.iter().all(|c| c.is_finite()) => Ok([x, y, 0.0]),
        _ => Err(Error::param(name, format!("`{s}`: give X,Y,Z (or X,Y) as numbers"))),
    }
}

fn run_metrics(a: MetricsArgs) -> Result<()> {
    if let Some(f) = a.frame_interval {
        if !(f.is_finite() && f > 0.0) {
            return Err(Error::param("frame-interval", format!("must be > 0 s, got {f}")));
        }
    }
    let mut config =
        MetricsConfig { frame_interval_s: a.frame_interval, ..MetricsConfig::default() };
    a.metrics.apply(&mut config)?;
    config.validate()?;
    let format = match a.format.as_deref() {
        Some(f) => f,
        None if a.tracks.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) => "trackmate",
        None => "csv",
    };
    if a.voxel_size.is_some() && format != "trackmate" {
        return Err(Error::param(
            "voxel-size",
            "only used for TrackMate files (--format trackmate)",
        ));
    }
    let tracks = match format {
        "trackmate" => {
            let options = leukotrack::import::TrackMateOptions {
                voxel_size: a.voxel_size.as_deref().map(VoxelSize::parse).transpose()?,
                frame_interval_s: a.frame_interval,
            };
            leukotrack::import::read_trackmate_with(&a.tracks, &options)?
        }
        "imaris" => leukotrack::import::read_imaris(&a.tracks, a.frame_interval)?,
        _ => Tracks::read_csv(&a.tracks, a.frame_interval)?,
    };
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

fn run_config(a: ConfigArgs) -> Result<()> {
    match &a.file {
        Some(p) if !a.default => {
            let cfg = Config::load(p)?;
            print!("{}", cfg.to_toml()?);
        }
        _ => print!("{}", Config::default_toml()),
    }
    Ok(())
}

/// Progress bars of the pipeline: one per stage (timepoints with ETA for segmentation and
/// drift, a spinner for the others); hidden when quiet or when stderr is not a terminal.
struct StageBars {
    show: bool,
    prefix: String,
    current: std::sync::Mutex<Option<(Stage, ProgressBar)>>,
}

impl StageBars {
    fn new(show: bool, prefix: impl Into<String>) -> Self {
        StageBars {
            show: show && std::io::stderr().is_terminal(),
            prefix: prefix.into(),
            current: std::sync::Mutex::new(None),
        }
    }

    fn update(&self, p: Progress) -> bool {
        if !self.show {
            return true;
        }
        let Ok(mut cur) = self.current.lock() else { return true };
        if cur.as_ref().map(|(s, _)| *s) != Some(p.stage) {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
            let bar = ProgressBar::new(p.total as u64);
            let template = match p.stage {
                Stage::Segment | Stage::Drift => {
                    "{prefix}{msg:>9} [{bar:30}] {pos}/{len} timepoints, {elapsed} elapsed, eta {eta}"
                }
                _ => "{prefix}{msg:>9} {spinner} {elapsed}",
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(self.prefix.clone());
            bar.set_message(p.stage.name());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            *cur = Some((p.stage, bar));
        }
        if let Some((_, bar)) = cur.as_ref() {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        }
        true
    }

    fn finish(&self) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
        }
    }
}

fn run_track(a: TrackArgs) -> Result<()> {
    use leukotrack::io::write::{HyperstackWriter, SampleType};
    let f = &a.flags;
    f.init_threads()?;
    let cfg = f.config()?;
    let rec = Recording::open_with(&a.path, &cfg.read.options()?)?;
    for w in rec.warnings() {
        if !f.quiet {
            eprintln!("warning: {w}");
        }
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let mut writer = if f.labels {
        let shape = rec.shape();
        Some(HyperstackWriter::create(
            a.out.join("labels.tif"),
            leukotrack::Shape { c: 1, ..shape },
            SampleType::U16,
            rec.calibration(),
        )?)
    } else {
        None
    };
    let bars = StageBars::new(!f.quiet, "");
    let mut analysis =
        pipeline::run_with(&rec, &cfg, &|p| bars.update(p), &mut |_, seg| match writer.as_mut() {
            Some(w) => w.write_labels(&seg.labels()),
            None => Ok(()),
        })?;
    if let Some(w) = writer {
        w.finish()?;
    }
    bars.update(Progress { stage: Stage::Metrics, done: 1, total: 1 });
    analysis.save(&a.out)?;
    if cfg.export.ctc {
        analysis.save_ctc(&a.out, &rec, &|p| bars.update(p))?;
    }
    bars.finish();
    if !f.quiet {
        let s = &analysis.summary;
        let speed = &analysis.metrics.summary.cell_based.speed_um_per_min;
        eprintln!(
            "{}: {} timepoints, {} detections, {} tracks; speed {:.2} ± {:.2} µm/min (mean ± sd over tracks); {:.1} s",
            a.path.display(),
            s.counts.frames,
            s.counts.detections,
            s.counts.tracks,
            speed.mean,
            speed.sd,
            s.timings_s.total + s.timings_s.save
        );
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}

fn run_batch(a: BatchArgs) -> Result<()> {
    let f = &a.flags;
    f.init_threads()?;
    let cfg = f.config()?;
    let inputs = batch::discover(&a.inputs, a.series)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let jobs = match a.jobs {
        Some(0) => return Err(Error::param("jobs", "must be ≥ 1")),
        Some(n) => n,
        None => batch::jobs_for(&inputs, &cfg, rayon::current_num_threads()),
    };
    let show = !f.quiet && std::io::stderr().is_terminal();
    let overall = if show { ProgressBar::new(inputs.len() as u64) } else { ProgressBar::hidden() };
    overall.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} recordings, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    overall.set_message("batch");
    let rows: std::sync::Mutex<Vec<Option<batch::Row>>> =
        std::sync::Mutex::new(vec![None; inputs.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let summary_path = a.out.join("summary.csv");
    let write_rows = |rows: &[Option<batch::Row>]| -> Result<()> {
        let done: Vec<batch::Row> = rows.iter().flatten().cloned().collect();
        batch::write_summary(&summary_path, &done)
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(inputs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(input) = inputs.get(i) else { break };
                overall.set_message(input.name.clone());
                let row = batch::run_one(input, &a.out, &cfg, &|_| true);
                if !f.quiet {
                    let what = match &row.error {
                        Some(e) => format!("failed: {e}"),
                        None => row.status.name().to_string(),
                    };
                    overall.suspend(|| eprintln!("{}: {what}", input.name));
                }
                overall.inc(1);
                if let Ok(mut r) = rows.lock() {
                    r[i] = Some(row);
                    if let Err(e) = write_rows(&r) {
                        overall.suspend(|| eprintln!("leukotrack: error: {e}"));
                    }
                }
            });
        }
    });
    overall.finish_and_clear();
    let rows: Vec<batch::Row> =
        rows.into_inner().unwrap_or_default().into_iter().flatten().collect();
    write_rows(&rows.iter().cloned().map(Some).collect::<Vec<_>>())?;
    let failed = rows.iter().filter(|r| r.status == batch::Status::Failed).count();
    let skipped = rows.iter().filter(|r| r.status == batch::Status::Skipped).count();
    if !f.quiet {
        eprintln!(
            "{} recordings: {} analysed, {} skipped (complete), {} failed; {}",
            rows.len(),
            rows.len() - failed - skipped,
            skipped,
            failed,
            summary_path.display()
        );
    }
    if failed > 0 {
        return Err(Error::data(format!(
            "{failed} of {} recordings failed (see {})",
            rows.len(),
            summary_path.display()
        )));
    }
    Ok(())
}
