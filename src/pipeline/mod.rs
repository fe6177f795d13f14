//! The whole analysis of one recording: read → segment → drift → link → metrics.
//!
//! [`Config`] holds every stage's settings (serde; a TOML file with one table per stage,
//! see [`Config::default_toml`]); [`run`] chains the stages and returns an [`Analysis`] with
//! every table in memory; [`Analysis::save`] writes the result files. The command line and
//! the Python bindings are thin layers over these calls.
//!
//! ```
//! use leukotrack::pipeline::{self, Config};
//! use leukotrack::synth::{Simulation, SynthConfig};
//! use leukotrack::Recording;
//!
//! # fn main() -> leukotrack::Result<()> {
//! let dir = std::env::temp_dir().join(format!("leukotrack-pipe-doc-{}", std::process::id()));
//! Simulation::new(&SynthConfig { frames: 4, size: [64, 64, 10], ..Default::default() })?
//!     .write(&dir)?;
//! let rec = Recording::open(dir.join("recording.tif"))?;
//! let analysis = pipeline::run(&rec, &Config::default(), &|_| true)?;
//! assert!(analysis.detections.len() > 0);
//! assert_eq!(analysis.tracks.len(), analysis.detections.len()); // every detection is in a track
//! println!("{} tracks", analysis.summary.counts.tracks);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod overrides;
pub mod settings;

pub use overrides::Overrides;

use std::path::{Path, PathBuf};
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calib::{Calibration, VoxelSize};
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::io::{PageOrder, ReadOptions, Recording};
use crate::metrics::{self, MetricsConfig};
use crate::segment::{self, SegmentConfig};
use crate::table::{Detections, Tracks};
use crate::track::drift::{self, Drift, DriftMethod};
use crate::track::{self, LinkConfig};

/// The commented default configuration file, but for its `[export]` table, whose switches
/// [`Config::default_toml`] lists from the settings table (so an export format adds its
/// switch in one place, [`ExportConfig`]).
const DEFAULT_TOML: &str = include_str!("default.toml");

/// The full commented default file.
static DEFAULT_FILE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut text = DEFAULT_TOML.lines().filter(|l| !l.starts_with("# (the export switches")).fold(
        String::new(),
        |mut t, l| {
            t.push_str(l);
            t.push('\n');
            t
        },
    );
    for s in settings::settings_of::<ExportConfig>("") {
        let mut line = String::from("#");
        for word in s.help.split_whitespace() {
            if line.len() + word.len() > 88 {
                text.push_str(&line);
                text.push('\n');
                line = String::from("#");
            }
            line.push(' ');
            line.push_str(word);
        }
        text.push_str(&format!("{line}\n{} = {}\n", s.key, s.default));
    }
    text
});

/// Reads one stage's settings saved as JSON (`segment.json`, `synth.json`: any key may be
/// left out, it takes its default); an unknown key or a wrong type is an error naming the
/// file and the key.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::param("config", format!("{}: {e}", path.display())))
}

/// One stage's table given as JSON (Python's `config=` of a stage function): any key may be
/// left out (its default); an unknown key names the nearest valid one and the stage.
pub fn stage_from_json<T: serde::de::DeserializeOwned>(stage: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        let msg = overrides::strip_serde_position(&e.to_string());
        Error::param(stage, overrides::with_nearest(&msg))
    })
}

/// Every setting of the pipeline, one table per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The channel the cells are segmented in (0-based); intensities are measured in all.
    pub channel: usize,
    /// Overrides of the recording's metadata.
    pub read: ReadConfig,
    /// Segmentation.
    pub segment: SegmentConfig,
    /// Drift correction (run before linking).
    pub drift: DriftConfig,
    /// Linking.
    pub link: LinkConfig,
    /// Motility metrics (the frame interval comes from the recording).
    pub metrics: MetricsConfig,
    /// Which optional files [`Analysis::save`] writes.
    pub export: ExportConfig,
    /// Interactions with partners (other channels, masks): distances and contacts.
    pub interact: crate::interact::InteractConfig,
    /// `leukotrack study`: the statistics and the behaviour classes (not used by one
    /// recording's analysis).
    pub study: crate::study::StudyConfig,
}

/// Overrides of the recording's metadata (each wins over the file's value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReadConfig {
    /// Voxel size `[x, y, z]`, µm (overrides the file's).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub voxel_size_um: Option<[f64; 3]>,
    /// Frame interval, s (overrides the file's).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub frame_interval_s: Option<f64>,
    /// Sizes for files whose metadata do not give them.
    pub shape: Option<TczShape>,
    /// Order of the pages, fastest-varying first (`czt`, `ctz`, `zct`, `ztc`, `tcz`, `tzc`).
    pub page_order: Option<String>,
}

/// Numbers of timepoints, channels and z planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TczShape {
    /// Timepoints.
    #[schemars(range(min = 1))]
    pub t: usize,
    /// Channels.
    #[schemars(range(min = 1))]
    pub c: usize,
    /// z planes.
    #[schemars(range(min = 1))]
    pub z: usize,
}

impl ReadConfig {
    /// The reading options these overrides make (values checked).
    pub fn options(&self) -> Result<ReadOptions> {
        let voxel_size = match self.voxel_size_um {
            Some([x, y, z]) => Some(VoxelSize::new(x, y, z)?),
            None => None,
        };
        if let Some(f) = self.frame_interval_s {
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::param(
                    "read.frame_interval_s",
                    format!("must be > 0 s, got {f}"),
                ));
            }
        }
        if let Some(s) = self.shape {
            if s.t == 0 || s.c == 0 || s.z == 0 {
                return Err(Error::param("read.shape", "t, c and z must be ≥ 1"));
            }
        }
        Ok(ReadOptions {
            voxel_size,
            frame_interval_s: self.frame_interval_s,
            shape: self.shape.map(|s| (s.t, s.c, s.z)),
            page_order: self.page_order.as_deref().map(PageOrder::parse).transpose()?,
        })
    }
}

/// How tissue drift is removed before linking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriftConfig {
    /// No correction (the default).
    #[default]
    None,
    /// Phase correlation of a reference channel's images (structural, second harmonic).
    Channel {
        /// The reference channel, 0-based.
        channel: usize,
    },
    /// Median step of reference objects: arrested cells or static debris.
    Objects {
        /// Tracks slower than this after a first correction are references, µm/min.
        #[serde(default = "objects_arrest_speed")]
        #[schemars(extend("exclusiveMinimum" = 0))]
        arrest_speed_um_per_min: f64,
    },
    /// Median step of all linked cells — unsafe for directed migration (it removes it).
    Median,
    /// A drift table (`frame,dx_um,dy_um[,dz_um]`) made beforehand.
    Table {
        /// The CSV file.
        path: PathBuf,
    },
}

fn objects_arrest_speed() -> f64 {
    DriftConfig::OBJECTS_ARREST_SPEED_UM_PER_MIN
}

impl DriftConfig {
    /// The arrest speed of `objects` when none is given, µm/min.
    pub const OBJECTS_ARREST_SPEED_UM_PER_MIN: f64 = 2.0;

    /// The method names of the command-line form.
    pub const METHODS: [&'static str; 4] = ["none", "channel:N", "objects", "median"];

    /// Parses the command-line form `none`, `channel:N`, `objects` or `median`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::param(
                "drift.method",
                format!("`{s}`: give none, channel:N (0-based), objects or median"),
            )
        };
        Ok(match s.trim() {
            "none" => DriftConfig::None,
            "objects" => DriftConfig::Objects {
                arrest_speed_um_per_min: DriftConfig::OBJECTS_ARREST_SPEED_UM_PER_MIN,
            },
            "median" => DriftConfig::Median,
            other => match other.strip_prefix("channel:") {
                Some(n) => DriftConfig::Channel { channel: n.trim().parse().map_err(|_| bad())? },
                None => return Err(bad()),
            },
        })
    }

    /// The drift this method finds (`None` for [`DriftConfig::None`]): read from its table,
    /// estimated from a reference channel of `recording` (`progress` after each timepoint), or
    /// from `detections` linked once without correction with the linker's settings `link`.
    pub fn estimate(
        &self,
        detections: &Detections,
        calibration: &Calibration,
        link: &LinkConfig,
        recording: Option<&Recording>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Option<Drift>> {
        Ok(match self {
            DriftConfig::None => None,
            DriftConfig::Table { path } => Some(Drift::read_csv(path)?),
            &DriftConfig::Channel { channel } => {
                let rec = recording.ok_or_else(|| {
                    Error::param(
                        "drift.method",
                        "`channel:N` needs the recording; from detections give objects or median",
                    )
                })?;
                Some(drift::estimate_from_channel(rec, channel, progress)?)
            }
            &DriftConfig::Objects { arrest_speed_um_per_min } => Some(drift::estimate(
                detections,
                calibration,
                link,
                DriftMethod::Objects { arrest_speed_um_per_min },
            )?),
            DriftConfig::Median => {
                Some(drift::estimate(detections, calibration, link, DriftMethod::Median)?)
            }
        })
    }

    fn validate(&self, channels: Option<usize>) -> Result<()> {
        settings::check(self, "drift")?;
        match *self {
            DriftConfig::Channel { channel } if channels.is_some_and(|c| channel >= c) => {
                Err(Error::param(
                    "drift.channel",
                    format!(
                        "channel {channel} does not exist: the recording has {} channel(s), numbered from 0",
                        channels.unwrap_or(0)
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Optional outputs of [`Analysis::save`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExportConfig {
    /// `tracks.xml` in TrackMate's format, for Fiji.
    pub trackmate_xml: bool,
    /// `plots/`: tracks, MSD, speeds (PNG and SVG).
    pub plots: bool,
    /// The Cell Tracking Challenge result format (`res_track.txt`, `maskTTT.tif`); it segments
    /// the recording a second time for the label images.
    pub ctc: bool,
    /// `labels.tif`: the label image of every timepoint (uint16); it segments the recording a
    /// second time, in the same pass as the CTC masks.
    pub labels: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig { trackmate_xml: true, plots: true, ctc: false, labels: false }
    }
}

impl Config {
    /// Parses a TOML configuration; an unknown key or a value out of range is an error naming
    /// the key (and the line).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let msg = overrides::with_nearest(e.message());
            let key = e
                .span()
                .and_then(|s| text.get(s))
                .map(|k| format!(" (at `{}`)", k.trim()))
                .unwrap_or_default();
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            Error::param(
                "config",
                match line {
                    Some(l) => format!("line {l}: {msg}{key}"),
                    None => format!("{msg}{key}"),
                },
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a configuration given as JSON (Python's `config=` dict); any key may be left out
    /// (its default), an unknown key names the nearest valid one, values are checked.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let cfg: Config = stage_from_json("config", text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The effective configuration of a run: `base` (JSON of a configuration; `None`: the
    /// defaults) with the keyword overrides `overrides` (JSON) applied and checked.
    pub fn resolve_json(base: Option<&str>, overrides: &str) -> Result<Self> {
        let mut cfg = match base {
            Some(text) => Self::from_json_str(text)?,
            None => Config::default(),
        };
        cfg.apply(&Overrides::from_json(overrides)?)?;
        Ok(cfg)
    }

    /// Reads a TOML configuration file ([`Config::from_toml_str`]); errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::InvalidParameter { name, reason } => {
                Error::param(name, format!("{}: {reason}", path.display()))
            }
            other => other,
        })
    }

    /// The configuration as TOML (every value, without comments).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::internal(format!("config to TOML: {e}")))
    }

    /// The commented default file (`leukotrack config --default`): every key, its unit and
    /// its meaning. It parses to [`Config::default`] (a test checks it).
    pub fn default_toml() -> &'static str {
        &DEFAULT_FILE
    }

    /// Checks every stage's values; the error names the key path (`link.gap_frames`).
    pub fn validate(&self) -> Result<()> {
        settings::check(&self.read, "read")?;
        self.read.options()?;
        self.segment.validate()?;
        self.drift.validate(None)?;
        self.link.validate()?;
        self.metrics.validate()?;
        self.interact.validate()?;
        settings::check(&self.interact, "interact")?;
        settings::check(&self.study, "study")
    }
}

/// The stages [`run`] reports progress for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading and segmenting timepoints (`done`/`total` count timepoints).
    Segment,
    /// Estimating drift (`done`/`total` count timepoints for `channel:N`).
    Drift,
    /// Linking.
    Link,
    /// Motility metrics.
    Metrics,
}

impl Stage {
    /// The stage's name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Segment => "segment",
            Stage::Drift => "drift",
            Stage::Link => "link",
            Stage::Metrics => "metrics",
        }
    }
}

/// A progress report: `done` of `total` units of `stage` (a stage starts with `done = 0`
/// and ends with `done = total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The stage running.
    pub stage: Stage,
    /// Units done.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

/// A progress callback: return `false` to stop the run ([`Error::Interrupted`]).
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) -> bool + Sync);

/// The maximum-intensity projection of the segmented channel (over z, then over time) under
/// the track plot.
pub use crate::export::plots::Projection;

/// What [`run`] found, with every table in memory.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// One row per detected cell and timepoint.
    pub detections: Detections,
    /// The detections linked into tracks (`detection` = row of `detections`).
    pub tracks: Tracks,
    /// The drift removed before linking (zero when the correction is off).
    pub drift: Drift,
    /// Motility metrics of the tracks.
    pub metrics: metrics::Analysis,
    /// The maximum-intensity projection of the segmented channel.
    pub projection: Option<Projection>,
    /// The recording's calibration (with the overrides applied).
    pub calibration: Calibration,
    /// The image the exports refer to (TrackMate's `ImageData`).
    pub image: crate::export::ImageInfo,
    /// Effective configuration, recording, counts and timings (`summary.json`).
    pub summary: Summary,
    /// Quality measures and warnings (`qc.json`, `plots/qc.png`).
    pub qc: crate::qc::Qc,
    /// Distances and contacts to the partners (`interactions.csv`, `contacts.csv`), when the
    /// configuration names partners.
    pub interactions: Option<crate::interact::Interactions>,
    /// The recording's path and read options, to read it again for the label images.
    source: (PathBuf, ReadOptions),
}

/// The contents of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The crate version that made the analysis.
    pub version: String,
    /// The recording analysed.
    pub recording: RecordingInfo,
    /// The effective configuration (every value, defaults included).
    pub config: Config,
    /// What the segmentation decided and noticed: the diameter used and estimated
    /// (`segment.estimated_cell_diameter_um`), blank frames, warnings.
    pub segment: segment::SegmentReport,
    /// What the linker derived from the data (`link.derived`: the gate, the gap gates, the
    /// tissue jumps, warnings).
    pub link: LinkSummary,
    /// How many of what.
    pub counts: Counts,
    /// Wall time of each stage, s.
    pub timings_s: Timings,
    /// The accuracy expected on a simulated twin of the recording (`expected.json` of the
    /// `tune` run whose `best.toml` these settings are), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<crate::qc::Expected>,
    /// The interactions' gap method and counts per partner, when there are partners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interact: Option<serde_json::Value>,
}

/// `summary.json`'s `link`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkSummary {
    /// What the linker derived from the data.
    pub derived: track::calibrate::LinkReport,
}

/// The recording as the pipeline saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingInfo {
    /// The path given.
    pub path: PathBuf,
    /// The file name without `.tif`/`.ome.tif`/`.tiff`.
    pub name: String,
    /// Sizes (t, c, z, y, x).
    pub shape: crate::io::Shape,
    /// Pixel type.
    pub dtype: String,
    /// Voxel size `[x, y, z]`, µm.
    pub voxel_size_um: [f64; 3],
    /// Frame interval, s.
    pub frame_interval_s: f64,
    /// Where the voxel size and frame interval came from (`file`, `user`, `default`).
    pub calibration_source: CalibrationSource,
}

/// Provenance of each calibration value.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationSource {
    /// Voxel x.
    pub x: &'static str,
    /// Voxel y.
    pub y: &'static str,
    /// Voxel z.
    pub z: &'static str,
    /// Frame interval.
    pub frame_interval: &'static str,
}

/// Counts of the analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Timepoints.
    pub frames: usize,
    /// Detections over all timepoints.
    pub detections: usize,
    /// Tracks (a one-point track counts).
    pub tracks: usize,
    /// Tracks kept by the metrics' filters.
    pub tracks_analysed: usize,
    /// Links between consecutive points of tracks (gap links included).
    pub links: usize,
}

/// Wall time per stage, s.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading and segmentation (streamed together).
    pub segment: f64,
    /// Drift estimation.
    pub drift: f64,
    /// Linking.
    pub link: f64,
    /// Metrics.
    pub metrics: f64,
    /// Interactions with the partners (0 without partners).
    #[serde(default)]
    pub interact: f64,
    /// Writing the files ([`Analysis::save`]; 0 until saved).
    pub save: f64,
    /// All of [`run`].
    pub total: f64,
}

/// The name of a recording: its file name without `.ome.tif`, `.ome.tiff`, `.tif` or `.tiff`.
pub fn recording_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    for suffix in [".ome.tiff", ".ome.tif", ".tiff", ".tif"] {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            return name[..name.len() - suffix.len()].to_string();
        }
    }
    name
}

fn zero_drift(frames: usize) -> Drift {
    Drift {
        frame: (0..frames as u32).collect(),
        dx_um: vec![0.0; frames],
        dy_um: vec![0.0; frames],
        dz_um: vec![0.0; frames],
        jumps: Vec::new(),
    }
}

/// Runs the pipeline on `recording`: segmentation of `config.channel` (intensities in every
/// channel), drift estimation, linking (drift-corrected positions when the correction is on),
/// metrics. Memory holds a few timepoints, never the recording. `progress` is called as
/// stages advance; returning `false` stops the run with [`Error::Interrupted`].
pub fn run(recording: &Recording, config: &Config, progress: ProgressFn) -> Result<Analysis> {
    let start = Instant::now();
    config.validate()?;
    let shape = recording.shape();
    config.drift.validate(Some(shape.c))?;
    let cal: Calibration = recording.calibration().clone();
    let voxel = cal.voxel_size_um().map_err(|e| with_path(e, recording.path()))?;
    let frame_interval = cal.frame_interval_s().map_err(|e| with_path(e, recording.path()))?;
    let mut timings = Timings::default();
    let report = |stage, done, total| -> Result<()> {
        if progress(Progress { stage, done, total }) {
            Ok(())
        } else {
            Err(Error::Interrupted { stage: stage.name().to_string() })
        }
    };

    // Segmentation, streamed; the projection is accumulated from the same volumes.
    let t0 = Instant::now();
    report(Stage::Segment, 0, shape.t)?;
    let mut projection = Projection::empty(shape.y, shape.x, [voxel.x, voxel.y]);
    let mut levels = Vec::with_capacity(shape.t);
    let (detections, segment_report) = segment::frames(recording, config.channel, &config.segment)?
        .run(|frame| {
            projection.include(&frame.volumes[config.channel])?;
            levels.push(crate::qc::levels(&frame.volumes[config.channel]));
            report(Stage::Segment, frame.t + 1, shape.t)
        })?;
    timings.segment = t0.elapsed().as_secs_f64();

    // Drift: from a channel, or from the detections (linked once without correction).
    let t0 = Instant::now();
    report(Stage::Drift, 0, shape.t)?;
    let tick = std::sync::atomic::AtomicUsize::new(0);
    let drift = config.drift.estimate(&detections, &cal, &config.link, Some(recording), &|_| {
        let n = tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(Progress { stage: Stage::Drift, done: n.min(shape.t), total: shape.t });
    })?;
    report(Stage::Drift, shape.t, shape.t)?;
    timings.drift = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    report(Stage::Link, 0, 1)?;
    let (tracks, derived) = track::link_report(&detections, &cal, &config.link, drift.as_ref())?;
    let drift = drift::with_jumps(drift, &derived.jumps, 0..shape.t as u32);
    report(Stage::Link, 1, 1)?;
    timings.link = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    report(Stage::Metrics, 0, 1)?;
    let mcfg = MetricsConfig {
        frame_interval_s: config.metrics.frame_interval_s.or(Some(frame_interval)),
        ..config.metrics.clone()
    };
    let mut metrics = metrics::analyze(&tracks, &mcfg)?;
    report(Stage::Metrics, 1, 1)?;
    timings.metrics = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let interactions = if config.interact.partner.is_empty() {
        None
    } else {
        let i = crate::interact::analyse(
            recording,
            &tracks,
            Some(&detections),
            &config.interact,
            frame_interval,
            config.metrics.arrest_threshold_um_per_min,
        )?;
        i.add_to(&mut metrics.track_metrics);
        Some(i)
    };
    timings.interact = t0.elapsed().as_secs_f64();
    timings.total = start.elapsed().as_secs_f64();

    let qc = crate::qc::assess(&crate::qc::QcInput {
        detections: &detections,
        tracks: &tracks,
        shape,
        voxel_um: voxel.to_array(),
        levels: &levels,
        cell_diameter_um: segment_report.cell_diameter_um,
        thin_stack: segment_report.thin_stack,
        jumps: derived.jumps.iter().map(|j| j.frame).collect(),
        warnings: segment_report.warnings.iter().chain(&derived.warnings).cloned().collect(),
    });
    let n_tracks = tracks.rows_by_track().len();
    let summary = Summary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        recording: RecordingInfo {
            path: recording.path().to_path_buf(),
            name: recording_name(recording.path()),
            shape,
            dtype: recording.dtype().name().to_string(),
            voxel_size_um: voxel.to_array(),
            frame_interval_s: frame_interval,
            calibration_source: CalibrationSource {
                x: cal.voxel_x_um.map_or("default", |v| v.source.name()),
                y: cal.voxel_y_um.map_or("default", |v| v.source.name()),
                z: cal.voxel_z_um.map_or("default", |v| v.source.name()),
                frame_interval: cal.frame_interval_s.map_or("default", |v| v.source.name()),
            },
        },
        config: config.clone(),
        segment: segment_report,
        link: LinkSummary { derived },
        counts: Counts {
            frames: shape.t,
            detections: detections.len(),
            tracks: n_tracks,
            tracks_analysed: metrics.summary.tracks.analysed,
            links: tracks.len() - n_tracks,
        },
        timings_s: timings,
        expected: None,
        interact: interactions.as_ref().map(|i| i.summary()),
    };
    Ok(Analysis {
        drift: drift.unwrap_or_else(|| zero_drift(shape.t)),
        projection: (shape.t > 0).then(|| {
            projection.image.mapv_inplace(|v| if v.is_finite() { v } else { 0.0 });
            projection
        }),
        detections,
        tracks,
        metrics,
        image: crate::export::ImageInfo::from_recording(recording),
        calibration: cal,
        summary,
        qc,
        interactions,
        source: (recording.path().to_path_buf(), recording.options().clone()),
    })
}

fn with_path(e: Error, path: &Path) -> Error {
    match e {
        Error::InvalidParameter { name, reason } => Error::metadata(
            path,
            format!("{name}: {reason} (give it with --voxel-size / --frame-interval, voxel_size= / frame_interval= in Python, or in [read])"),
        ),
        other => other,
    }
}

/// Runs the library's parallel work on `n` threads (rayon's global pool; before any other
/// work, once per process).
pub fn set_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::param("threads", "must be ≥ 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| Error::param("threads", e.to_string()))
}

/// The segmentation alone (`leukotrack segment`): every timepoint of `recording` segmented
/// in `channel` and written into `dir` — `detections.csv`, with `labels` `labels.tif`,
/// `segment.json` (the settings used, the estimated diameter filled in) and `summary.json`
/// (the [`segment::SegmentReport`], last) — each under a temporary name renamed when complete.
/// `progress(t)` after timepoint `t`; returning `false` stops the run.
pub fn save_segmentation(
    dir: &Path,
    recording: &Recording,
    channel: usize,
    cfg: &SegmentConfig,
    labels: bool,
    progress: &dyn Fn(usize) -> bool,
) -> Result<Detections> {
    use crate::io::write::HyperstackWriter;
    cfg.validate()?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut writer = match labels {
        true => Some(HyperstackWriter::labels(dir.join("labels.tif"), recording)?),
        false => None,
    };
    let frames = segment::frames(recording, channel, cfg)?;
    let resolved = frames.config().clone();
    let (det, report) = frames.run(|frame| {
        if let Some(w) = writer.as_mut() {
            w.write_labels(&frame.segmentation.labels())?;
        }
        match progress(frame.t) {
            true => Ok(()),
            false => Err(Error::Interrupted { stage: Stage::Segment.name().to_string() }),
        }
    })?;
    if let Some(w) = writer {
        w.finish()?;
    }
    det.write_csv(dir.join("detections.csv"))?;
    let json =
        serde_json::to_string_pretty(&resolved).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&dir.join("segment.json"), |w| w.write_all(json.as_bytes()))?;
    let summary = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "recording": recording.path(),
        "segment": report,
    });
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&dir.join("summary.json"), |w| w.write_all(json.as_bytes()))?;
    Ok(det)
}

/// One output of [`Analysis::save`]: a file or folder of the results folder, whether the
/// configuration asks for it, and how it is written. Adding an export format is adding an
/// entry to [`EXPORTS`] (and, when optional, a switch to [`ExportConfig`]).
pub struct Export {
    /// The file or folder it writes (`plots/` for a folder; several names joined by `, `).
    pub name: &'static str,
    /// Whether the configuration asks for it.
    pub enabled: fn(&ExportConfig) -> bool,
    /// Writes it into the results folder.
    pub write: fn(&Analysis, &Path, ProgressFn) -> Result<()>,
}

/// Every output but `summary.json`, in the order [`Analysis::save`] writes them; `summary.json`
/// follows them all, so its presence means the folder is complete.
pub const EXPORTS: &[Export] = &[
    Export {
        name: "detections.csv",
        enabled: |_| true,
        write: |a, dir, _| a.detections.write_csv(dir.join("detections.csv")),
    },
    Export {
        name: "tracks.csv",
        enabled: |_| true,
        write: |a, dir, _| a.tracks.write_csv(dir.join("tracks.csv")),
    },
    Export {
        name: "track_metrics.csv, steps.csv, msd.csv, autocorrelation.csv, metrics_summary.json",
        enabled: |_| true,
        write: |a, dir, _| a.metrics.write(dir),
    },
    Export {
        name: "drift.csv",
        enabled: |_| true,
        write: |a, dir, _| a.drift.write_csv(dir.join("drift.csv")),
    },
    Export {
        name: "interactions.csv, contacts.csv",
        enabled: |_| true,
        write: |a, dir, _| match &a.interactions {
            Some(i) => i.write(&a.tracks, dir),
            None => Ok(()),
        },
    },
    Export {
        name: "qc.json",
        enabled: |_| true,
        write: |a, dir, _| {
            let json = serde_json::to_string_pretty(&a.qc)
                .map_err(|e| Error::internal(format!("qc to JSON: {e}")))?;
            write_atomic(&dir.join("qc.json"), |w| w.write_all(json.as_bytes()))
        },
    },
    Export {
        name: "tracks.xml",
        enabled: |e| e.trackmate_xml,
        write: |a, dir, _| {
            crate::export::trackmate::write(
                &dir.join("tracks.xml"),
                &a.tracks,
                &a.detections,
                &a.calibration,
                &a.image,
            )
        },
    },
    Export {
        name: "plots/",
        enabled: |e| e.plots,
        write: |a, dir, _| a.write_plots(&dir.join("plots")),
    },
    Export {
        name: "labels.tif, res_track.txt, mask000.tif…",
        enabled: |e| e.labels || e.ctc,
        write: |a, dir, progress| a.write_masks(dir, progress),
    },
];

/// The files [`Analysis::save`] always writes (beside the optional ones of [`EXPORTS`]).
pub const OUTPUT_FILES: [&str; 10] = [
    "detections.csv",
    "tracks.csv",
    "track_metrics.csv",
    "steps.csv",
    "msd.csv",
    "autocorrelation.csv",
    "metrics_summary.json",
    "drift.csv",
    "qc.json",
    "summary.json",
];

impl Analysis {
    /// Writes every result file into `dir` (created if needed), each under a temporary name
    /// renamed when complete: every entry of [`EXPORTS`] the configuration's `export` table
    /// asks for, in order, then `summary.json`, strictly last, so its presence means the rest
    /// is complete. The label images (`labels.tif`, the CTC masks) come from segmenting the
    /// recording a second time (segmentation is deterministic), so memory stays bounded;
    /// `progress` reports that pass.
    pub fn save(&mut self, dir: impl AsRef<Path>, progress: ProgressFn) -> Result<()> {
        let dir = dir.as_ref();
        let t0 = Instant::now();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // An older summary.json must not vouch for a folder this save does not complete.
        let summary = dir.join("summary.json");
        match std::fs::remove_file(&summary) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(&summary, e))
            }
            _ => {}
        }
        let export = self.summary.config.export.clone();
        for e in EXPORTS.iter().filter(|e| (e.enabled)(&export)) {
            (e.write)(self, dir, progress)?;
        }
        self.summary.timings_s.save = t0.elapsed().as_secs_f64();
        self.write_summary(&summary)
    }

    /// Records the accuracy expected on a twin of the recording (from `tune`'s
    /// `expected.json`): in `summary.json` (`expected`), `qc.json` and the QC plot.
    pub fn set_expected(&mut self, expected: crate::qc::Expected) {
        self.qc.expected = Some(expected.clone());
        self.summary.expected = Some(expected);
    }

    /// Writes `summary.json`.
    pub fn write_summary(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.summary)
            .map_err(|e| Error::internal(format!("summary to JSON: {e}")))?;
        write_atomic(path, |w| w.write_all(json.as_bytes()))
    }

    /// `labels.tif` and/or the Cell Tracking Challenge files (`res_track.txt`, one 16-bit
    /// `maskTTT.tif` per timepoint), from one second segmentation pass over the recording.
    fn write_masks(&self, dir: &Path, progress: ProgressFn) -> Result<()> {
        use crate::io::write::HyperstackWriter;
        let (path, options) = &self.source;
        let recording = Recording::open_with(path, options)?;
        let config = &self.summary.config;
        let shape = recording.shape();
        let mut labels = if config.export.labels {
            Some(HyperstackWriter::labels(dir.join("labels.tif"), &recording)?)
        } else {
            None
        };
        let mut ctc = if config.export.ctc {
            Some(crate::export::ctc::Writer::new(dir, &self.tracks, &self.detections, &recording)?)
        } else {
            None
        };
        let report = |done| {
            if progress(Progress { stage: Stage::Segment, done, total: shape.t }) {
                Ok(())
            } else {
                Err(Error::Interrupted { stage: Stage::Segment.name().to_string() })
            }
        };
        report(0)?;
        // The same settings as the first pass: its diameter, estimated or given.
        let seg = SegmentConfig {
            cell_diameter_um: self
                .summary
                .segment
                .cell_diameter_um
                .or(config.segment.cell_diameter_um),
            ..config.segment.clone()
        };
        for frame in segment::frames(&recording, config.channel, &seg)? {
            let frame = frame?;
            if let Some(w) = labels.as_mut() {
                w.write_labels(&frame.segmentation.labels())?;
            }
            if let Some(w) = ctc.as_mut() {
                w.write_frame(frame.t, &frame.segmentation)?;
            }
            report(frame.t + 1)?;
        }
        if let Some(w) = labels {
            w.finish()?;
        }
        match ctc {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }

    fn write_plots(&self, dir: &Path) -> Result<()> {
        let input = crate::export::plots::PlotInput {
            tracks: &self.tracks,
            metrics: &self.metrics,
            projection: self.projection.as_ref(),
            title: &self.summary.recording.name,
        };
        crate::export::plots::write_all(dir, &input)?;
        crate::export::plots::write_qc(dir, &self.qc, &self.summary.recording.name).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every leaf key of a TOML value, as `table.key` paths.
    fn leaf_keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    toml::Value::Table(inner) if !inner.is_empty() => leaf_keys(v, &path, out),
                    _ => out.push(path),
                }
            }
        }
    }

    #[test]
    fn default_file_is_the_default_config() {
        let parsed = Config::from_toml_str(Config::default_toml()).unwrap();
        assert_eq!(parsed, Config::default());
        // Every value the default config has is written (uncommented) in the file.
        let ours: toml::Value = toml::from_str(&Config::default().to_toml().unwrap()).unwrap();
        let file: toml::Value = toml::from_str(Config::default_toml()).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        leaf_keys(&ours, "", &mut a);
        leaf_keys(&file, "", &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn config_round_trips_through_toml() {
        let mut c = Config { channel: 1, ..Config::default() };
        c.read.voxel_size_um = Some([0.5, 0.5, 2.0]);
        c.drift = DriftConfig::Channel { channel: 1 };
        c.link.gate = crate::track::Gate::MaxDistance { um: 12.0 };
        c.metrics.max_lag_frames = Some(20);
        c.export.ctc = true;
        let text = c.to_toml().unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml_str("[link]\ngap_frame = 2\n").unwrap_err().to_string();
        assert!(e.contains("gap_frame"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = Config::from_toml_str("chanel = 1\n").unwrap_err().to_string();
        assert!(e.contains("chanel"), "{e}");
        let e = Config::from_toml_str("[segment.detector]\nkind = \"blob\"\nquality_kk = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("quality_kk"), "{e}");
    }

    #[test]
    fn out_of_range_value_is_named() {
        let e = Config::from_toml_str("[segment]\ncell_diameter_um = -3\n").unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name.starts_with("segment.")),
            "{e}"
        );
        assert!(e.to_string().contains("cell_diameter_um"), "{e}");
        let e = Config::from_toml_str("[link.gate]\nkind = \"max_speed\"\num_per_min = 0\n")
            .unwrap_err();
        assert!(e.to_string().contains("link."), "{e}");
        let e = Config::from_toml_str("[read]\nframe_interval_s = -1\n").unwrap_err();
        assert!(e.to_string().contains("read.frame_interval_s"), "{e}");
        let e =
            Config::from_toml_str("[drift]\nmethod = \"objects\"\narrest_speed_um_per_min = 0\n")
                .unwrap_err();
        assert!(e.to_string().contains("drift.arrest_speed_um_per_min"), "{e}");
    }

    #[test]
    fn drift_flag_forms() {
        assert_eq!(DriftConfig::parse("none").unwrap(), DriftConfig::None);
        assert_eq!(DriftConfig::parse("channel:2").unwrap(), DriftConfig::Channel { channel: 2 });
        assert_eq!(DriftConfig::parse("median").unwrap(), DriftConfig::Median);
        assert!(matches!(DriftConfig::parse("objects").unwrap(), DriftConfig::Objects { .. }));
        assert!(DriftConfig::parse("channel:x").is_err());
        assert!(DriftConfig::parse("phase").is_err());
    }

    #[test]
    fn recording_names() {
        assert_eq!(recording_name(Path::new("a/mouse3.ome.tif")), "mouse3");
        assert_eq!(recording_name(Path::new("m.TIF")), "m");
        assert_eq!(recording_name(Path::new("x.tiff")), "x");
        assert_eq!(recording_name(Path::new("folder")), "folder");
    }
}
