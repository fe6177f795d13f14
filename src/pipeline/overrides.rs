//! The overrides layer: every setting a front (command-line flag, Python keyword) may set on
//! top of a configuration, each field an `Option` ("the configuration's value").
//!
//! The fields are the Python keywords; the command-line flags are generated from the same
//! fields (with the `cli` feature, `#[derive(clap::Args)]`), so help text, names and types
//! cannot drift apart. No default lives here: an override that is `None` leaves the
//! configuration as it is, and the configuration's defaults live in its `Default`.
//! Precedence, the same on every front: override > configuration file / `config=` > default.
//!
//! [`KEYS`] says which configuration key each override sets; [`flag_of`] its flag.

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::calib::{parse_list, VoxelSize};
use crate::error::{Error, Result};
use crate::io::ReadOptions;
use crate::metrics::{MetricsConfig, Reference};
use crate::segment::{DetectorConfig, SegmentConfig};
use crate::track::{Gate, LinkConfig, LinkMethod};

use super::{Config, DriftConfig, ExportConfig, ReadConfig, TczShape};

/// A vector `X,Y,Z` (or `X,Y`, z = 0) on the command line; `{"x", "y"[, "z"]}` in Python.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Xyz {
    /// The components x, y, z.
    pub xyz: [f64; 3],
    /// Whether z was given.
    pub has_z: bool,
}

impl FromStr for Xyz {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let n = s.split(',').count();
        if n != 2 && n != 3 {
            return Err(format!("`{s}`: give X,Y,Z (or X,Y) as numbers"));
        }
        let v = parse_list(s, n, "xyz").map_err(|_| format!("`{s}`: give X,Y,Z as numbers"))?;
        if v.iter().any(|c| !c.is_finite()) {
            return Err(format!("`{s}`: give X,Y,Z as finite numbers"));
        }
        Ok(Xyz { xyz: [v[0], v[1], v.get(2).copied().unwrap_or(0.0)], has_z: n == 3 })
    }
}

impl<'de> Deserialize<'de> for Xyz {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Map {
            x: f64,
            y: f64,
            z: Option<f64>,
        }
        map_or_text(
            d,
            "a bare sequence is refused: numpy users write spacing as (z, y, x), the command \
             line as X,Y,Z, and leukotrack never guesses which; give a dict \
             {'x': …, 'y': …, 'z': …}",
            |m: Map| Xyz { xyz: [m.x, m.y, m.z.unwrap_or(0.0)], has_z: m.z.is_some() },
        )
    }
}

/// A value given as a dict (Python) or as its command-line text (`"0.8,0.8,3"`); a bare
/// sequence is refused with `refusal` (axes orders differ between numpy and the CLI).
pub(crate) fn map_or_text<'de, D, M, T>(
    d: D,
    refusal: &str,
    from_map: impl FnOnce(M) -> T,
) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de>,
    T: FromStr<Err = String>,
{
    use serde::de::Error as _;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form<M> {
        // First: a derived struct would also take a sequence.
        #[allow(dead_code)]
        Seq(Vec<serde::de::IgnoredAny>),
        Map(M),
        Text(String),
    }
    match Form::<M>::deserialize(d)? {
        Form::Map(m) => Ok(from_map(m)),
        Form::Text(s) => s.parse().map_err(D::Error::custom),
        Form::Seq(_) => Err(D::Error::custom(refusal)),
    }
}

/// `T,C,Z` on the command line; `{"t", "c", "z"}` in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shape(pub TczShape);

impl FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (t, c, z) = ReadOptions::parse_shape(s).map_err(|e| reason(&e))?;
        Ok(Shape(TczShape { t, c, z }))
    }
}

/// Two lags `FIRST,LAST` (frames) on the command line; `(first, last)` in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lags(pub [u32; 2]);

impl FromStr for Lags {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let v: Vec<u32> = s.split(',').filter_map(|p| p.trim().parse().ok()).collect();
        match v[..] {
            [a, b] if s.split(',').count() == 2 => Ok(Lags([a, b])),
            _ => Err(format!("`{s}`: give FIRST,LAST lags in frames")),
        }
    }
}

fn reason(e: &Error) -> String {
    match e {
        Error::InvalidParameter { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// One name or several (`method="blob"` or `method=["blob", "greedy"]`).
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Form>::deserialize(d)? {
        None => Vec::new(),
        Some(Form::One(s)) => vec![s],
        Some(Form::Many(v)) => v,
    })
}

#[cfg(feature = "cli")]
fn detector_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(DetectorConfig::KINDS)
}
#[cfg(feature = "cli")]
fn linker_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(LinkMethod::NAMES)
}
#[cfg(feature = "cli")]
fn method_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        DetectorConfig::KINDS.into_iter().chain(LinkMethod::NAMES),
    )
}

/// Overrides of the recording's metadata (`[read]`); each wins over the file's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct ReadOverrides {
    /// Voxel size X,Y,Z in µm (overrides the file's).
    #[cfg_attr(feature = "cli", arg(long, value_name = "X,Y,Z"))]
    pub voxel_size: Option<Xyz>,
    /// Frame interval in s (overrides the file's).
    #[cfg_attr(feature = "cli", arg(long, value_name = "S"))]
    pub frame_interval: Option<f64>,
    /// Sizes T,C,Z for files whose metadata do not give them.
    #[cfg_attr(feature = "cli", arg(long, value_name = "T,C,Z"))]
    pub shape: Option<Shape>,
    /// Order of the pages, fastest-varying first: czt (ImageJ's), ctz, zct, ztc, tcz, tzc.
    #[cfg_attr(feature = "cli", arg(long, value_name = "ORDER"))]
    pub page_order: Option<String>,
}

/// Overrides of the segmentation (`channel` and `[segment]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct SegmentOverrides {
    /// Channel the cells are segmented in (from 0); intensities are measured in every channel.
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub channel: Option<usize>,
    /// Expected cell diameter, µm; every other segmentation size defaults from it.
    #[cfg_attr(feature = "cli", arg(long, value_name = "UM"))]
    pub cell_diameter: Option<f64>,
    /// Detector: threshold (threshold, components, watershed) or blob (Laplacian of Gaussian);
    /// a different kind than the configuration's starts from that detector's defaults.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "KIND", value_parser = detector_names())
    )]
    pub detector: Option<String>,
}

/// Overrides of the linker (`[link]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct LinkOverrides {
    /// Linker: lap (global assignment) or greedy (nearest first; for comparison only).
    #[cfg_attr(feature = "cli", arg(long, value_name = "METHOD", value_parser = linker_names()))]
    pub linker: Option<String>,
    /// Gate: the largest speed of a cell between two frames, µm/min (× the time between them).
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "UM_PER_MIN", conflicts_with = "max_distance")
    )]
    pub max_speed: Option<f64>,
    /// Gate: the largest distance between two frames, µm (instead of --max-speed).
    #[cfg_attr(feature = "cli", arg(long, value_name = "UM"))]
    pub max_distance: Option<f64>,
    /// Largest frame difference a gap-closing link spans (2 = one missing frame; 0 = no gap
    /// closing).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub gap_frames: Option<u32>,
    /// Fixed gap-closing gate, µm (unset: the frame-to-frame gate scaled by the time gap).
    #[cfg_attr(feature = "cli", arg(long, value_name = "UM"))]
    pub gap_max_distance: Option<f64>,
    /// Costs from a constant-velocity prediction of each track (`false`: from the observed
    /// positions).
    #[cfg_attr(
        feature = "cli",
        arg(
            long = "no-prediction",
            num_args = 0,
            default_missing_value = "false",
            help = "Costs from the observed positions, not from a constant-velocity prediction"
        )
    )]
    pub predict: Option<bool>,
}

/// Overrides of the drift correction (`[drift]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct DriftOverrides {
    /// Drift correction: none, channel:N (phase correlation of channel N), objects (arrested
    /// cells, debris) or median (all cells; unsafe for directed migration).
    #[cfg_attr(feature = "cli", arg(long, value_name = "METHOD", conflicts_with = "drift_table"))]
    pub drift: Option<String>,
    /// A drift table (`frame,dx_um,dy_um[,dz_um]`) to link drift-corrected positions.
    #[cfg_attr(feature = "cli", arg(long, value_name = "CSV"))]
    pub drift_table: Option<PathBuf>,
}

/// Overrides of the motility analysis (`[metrics]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct MetricsOverrides {
    /// A step slower than this counts as arrested, µm/min.
    #[cfg_attr(feature = "cli", arg(long, value_name = "UM_PER_MIN"))]
    pub arrest_threshold: Option<f64>,
    /// Analyse the xy projection (drop z).
    #[cfg_attr(feature = "cli", arg(long = "2d", num_args = 0, default_missing_value = "true"))]
    pub two_d: Option<bool>,
    /// Largest lag of the MSD and autocorrelation, frames (unset: every lag present).
    #[cfg_attr(feature = "cli", arg(long, value_name = "STEPS"))]
    pub max_lag: Option<u32>,
    /// First and last MSD lag (frames) of the motility-coefficient fit (unset: automatic).
    #[cfg_attr(feature = "cli", arg(long, value_name = "FIRST,LAST"))]
    pub fit_lags: Option<Lags>,
    /// Leave out tracks with fewer points.
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub min_points: Option<usize>,
    /// Leave out tracks with a point flagged in the `touches_border` column.
    #[cfg_attr(feature = "cli", arg(long, num_args = 0, default_missing_value = "true"))]
    pub exclude_border: Option<bool>,
    /// Reference direction X,Y,Z (or X,Y) for the directionality measures.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "X,Y,Z", conflicts_with = "reference_point")
    )]
    pub reference_direction: Option<Xyz>,
    /// Reference point X,Y,Z (or X,Y) in µm, e.g. a chemokine source.
    #[cfg_attr(feature = "cli", arg(long, value_name = "X,Y,Z"))]
    pub reference_point: Option<Xyz>,
    /// Add celltrackR's staggered straightness per track.
    #[cfg_attr(feature = "cli", arg(long, num_args = 0, default_missing_value = "true"))]
    pub staggered: Option<bool>,
}

/// Overrides of the optional outputs (`[export]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default)]
pub struct ExportOverrides {
    /// Also write the Cell Tracking Challenge format (res_track.txt, mask000.tif…: 16-bit
    /// labels; the recording is segmented a second time).
    #[cfg_attr(feature = "cli", arg(long, num_args = 0, default_missing_value = "true"))]
    pub ctc: Option<bool>,
    /// Also write the label images (labels.tif, uint16, one per timepoint; the recording is
    /// segmented a second time).
    #[cfg_attr(feature = "cli", arg(long, num_args = 0, default_missing_value = "true"))]
    pub labels: Option<bool>,
    /// Draw plots/ (PNG and SVG).
    #[cfg_attr(
        feature = "cli",
        arg(
            long = "no-plots",
            num_args = 0,
            default_missing_value = "false",
            help = "Do not draw plots/"
        )
    )]
    pub plots: Option<bool>,
    /// Write tracks.xml for Fiji's TrackMate.
    #[cfg_attr(
        feature = "cli",
        arg(
            long = "no-trackmate",
            num_args = 0,
            default_missing_value = "false",
            help = "Do not write tracks.xml"
        )
    )]
    pub trackmate_xml: Option<bool>,
}

/// Every override of the pipeline: the flags of `leukotrack track` and `batch`, the keywords
/// of `lt.track`. See the module docs for the precedence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Overrides {
    /// Of `[read]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub read: ReadOverrides,
    /// Of `channel` and `[segment]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub segment: SegmentOverrides,
    /// Of `[drift]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub drift: DriftOverrides,
    /// Of `[link]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub link: LinkOverrides,
    /// Of `[metrics]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub metrics: MetricsOverrides,
    /// Of `[export]`.
    #[serde(flatten)]
    #[cfg_attr(feature = "cli", command(flatten))]
    pub export: ExportOverrides,
    /// Deprecated (use --detector / --linker): a detector (threshold|blob) and/or a linker
    /// (lap|greedy); may be given twice, e.g. `--method threshold --method lap`.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "cli", arg(long, value_name = "METHOD", value_parser = method_names()))]
    pub method: Vec<String>,
}

/// Which configuration key each override sets: `(keyword, key path)`. The key path of an
/// override that sets a whole table (`drift`, a gate) is the table's leaf it gives a value to.
pub const KEYS: &[(&str, &str)] = &[
    ("voxel_size", "read.voxel_size_um"),
    ("frame_interval", "read.frame_interval_s"),
    ("shape", "read.shape"),
    ("page_order", "read.page_order"),
    ("channel", "channel"),
    ("cell_diameter", "segment.cell_diameter_um"),
    ("detector", "segment.detector.kind"),
    ("drift", "drift.method"),
    ("drift_table", "drift.path"),
    ("linker", "link.method"),
    ("max_speed", "link.gate.um_per_min"),
    ("max_distance", "link.gate.um"),
    ("gap_frames", "link.gap_frames"),
    ("gap_max_distance", "link.gap_max_distance_um"),
    ("predict", "link.predict"),
    ("arrest_threshold", "metrics.arrest_threshold_um_per_min"),
    ("two_d", "metrics.two_d"),
    ("max_lag", "metrics.max_lag_frames"),
    ("fit_lags", "metrics.fit_lag_frames"),
    ("min_points", "metrics.min_points"),
    ("exclude_border", "metrics.exclude_border"),
    ("reference_direction", "metrics.reference.vector"),
    ("reference_point", "metrics.reference.position_um"),
    ("staggered", "metrics.staggered"),
    ("ctc", "export.ctc"),
    ("labels", "export.labels"),
    ("plots", "export.plots"),
    ("trackmate_xml", "export.trackmate_xml"),
];

/// The keyword that sets the configuration key `key` (or the table holding it, as `shape`
/// sets `read.shape.t`), if any.
pub fn keyword_of(key: &str) -> Option<&'static str> {
    let exact = |key: &str| KEYS.iter().find(|(_, k)| *k == key).map(|(kw, _)| *kw);
    exact(key).or_else(|| key.rsplit_once('.').and_then(|(parent, _)| exact(parent)))
}

/// The command-line flag of a keyword: `--` and the keyword with dashes, but for the flags
/// that turn a default off or read as the field's usual spelling.
pub fn flag_of(keyword: &str) -> String {
    match keyword {
        "two_d" => "--2d".into(),
        "predict" => "--no-prediction".into(),
        "plots" => "--no-plots".into(),
        "trackmate_xml" => "--no-trackmate".into(),
        kw => format!("--{}", kw.replace('_', "-")),
    }
}

/// The message of `e` as the command line prints it: a parameter named by its flag where it
/// has one (``invalid parameter `--max-speed` (link.gate.um_per_min): …``).
pub fn message_with_flag(e: &Error) -> String {
    match e {
        Error::InvalidParameter { name, reason } => match flag_for_key(name) {
            Some(flag) => format!("invalid parameter `{flag}` ({name}): {reason}"),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// The flag that sets the configuration key `key`, if any.
pub fn flag_for_key(key: &str) -> Option<String> {
    keyword_of(key).map(flag_of)
}

fn positive(key: &str, v: f64, unit: &str) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::param(key, format!("must be > 0 {unit}, got {v}")))
    }
}

impl ReadOverrides {
    /// The reading options these overrides give on their own (for commands without a
    /// configuration file).
    pub fn options(&self) -> Result<ReadOptions> {
        let mut cfg = ReadConfig::default();
        self.apply(&mut cfg)?;
        cfg.options()
    }

    /// Applies the overrides given to `[read]`.
    pub fn apply(&self, cfg: &mut ReadConfig) -> Result<()> {
        if let Some(v) = self.voxel_size {
            if !v.has_z {
                return Err(Error::param("read.voxel_size_um", "give x, y and z (µm)"));
            }
            let [x, y, z] = v.xyz;
            let vs = VoxelSize::new(x, y, z)
                .map_err(|e| Error::param("read.voxel_size_um", reason(&e)))?;
            cfg.voxel_size_um = Some(vs.to_array());
        }
        if let Some(f) = self.frame_interval {
            cfg.frame_interval_s = Some(positive("read.frame_interval_s", f, "s")?);
        }
        if let Some(Shape(s)) = self.shape {
            cfg.shape = Some(s);
        }
        if let Some(p) = &self.page_order {
            cfg.page_order = Some(p.clone());
        }
        Ok(())
    }
}

impl SegmentOverrides {
    /// Applies the overrides given to `[segment]` (and `channel`, through `channel`).
    pub fn apply(&self, cfg: &mut SegmentConfig, channel: &mut usize) -> Result<()> {
        if let Some(c) = self.channel {
            *channel = c;
        }
        if let Some(d) = self.cell_diameter {
            cfg.cell_diameter_um = Some(d);
        }
        if let Some(kind) = &self.detector {
            set_detector(cfg, kind)?;
        }
        Ok(())
    }
}

/// A detector of `kind`: the configuration's own when it is of that kind, else that kind's
/// defaults.
fn set_detector(cfg: &mut SegmentConfig, kind: &str) -> Result<()> {
    if cfg.detector.kind() != kind {
        cfg.detector = DetectorConfig::of_kind(kind)?;
    }
    Ok(())
}

impl LinkOverrides {
    /// Applies the overrides given to `[link]`.
    pub fn apply(&self, cfg: &mut LinkConfig) -> Result<()> {
        if let Some(m) = &self.linker {
            cfg.method = LinkMethod::parse(m)?;
        }
        if self.max_speed.is_some() && self.max_distance.is_some() {
            return Err(Error::param(
                "link.gate.um",
                "give a maximum speed or a maximum distance, not both",
            ));
        }
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
        if let Some(p) = self.predict {
            cfg.predict = p;
        }
        Ok(())
    }
}

impl DriftOverrides {
    /// Applies the overrides given to `[drift]`.
    pub fn apply(&self, cfg: &mut DriftConfig) -> Result<()> {
        if self.drift.is_some() && self.drift_table.is_some() {
            return Err(Error::param(
                "drift.path",
                "give a drift method or a drift table, not both",
            ));
        }
        if let Some(d) = &self.drift {
            let given = DriftConfig::parse(d)?;
            // `objects` names no arrest speed: the configuration's stays.
            if !matches!(
                (&given, &*cfg),
                (DriftConfig::Objects { .. }, DriftConfig::Objects { .. })
            ) {
                *cfg = given;
            }
        }
        if let Some(p) = &self.drift_table {
            *cfg = DriftConfig::Table { path: p.clone() };
        }
        Ok(())
    }
}

impl MetricsOverrides {
    /// Applies the overrides given to `[metrics]`.
    pub fn apply(&self, cfg: &mut MetricsConfig) -> Result<()> {
        if let Some(v) = self.arrest_threshold {
            cfg.arrest_threshold_um_per_min = v;
        }
        if let Some(b) = self.two_d {
            cfg.two_d = b;
        }
        if self.max_lag.is_some() {
            cfg.max_lag_frames = self.max_lag;
        }
        if let Some(Lags(l)) = self.fit_lags {
            cfg.fit_lag_frames = Some(l);
        }
        if let Some(n) = self.min_points {
            cfg.min_points = n;
        }
        if let Some(b) = self.exclude_border {
            cfg.exclude_border = b;
        }
        if self.reference_direction.is_some() && self.reference_point.is_some() {
            return Err(Error::param(
                "metrics.reference.position_um",
                "give a reference direction or a reference point, not both",
            ));
        }
        if let Some(v) = self.reference_direction {
            cfg.reference = Some(Reference::Direction { vector: v.xyz });
        }
        if let Some(p) = self.reference_point {
            cfg.reference = Some(Reference::Point { position_um: p.xyz });
        }
        if let Some(b) = self.staggered {
            cfg.staggered = b;
        }
        Ok(())
    }
}

impl ExportOverrides {
    /// Applies the overrides given to `[export]`.
    pub fn apply(&self, cfg: &mut ExportConfig) {
        for (o, v) in [
            (self.ctc, &mut cfg.ctc),
            (self.labels, &mut cfg.labels),
            (self.plots, &mut cfg.plots),
            (self.trackmate_xml, &mut cfg.trackmate_xml),
        ] {
            if let Some(o) = o {
                *v = o;
            }
        }
    }
}

impl Overrides {
    /// Moves the deprecated `method` names into `detector` and `linker` (where those are not
    /// given themselves); a name that is neither is an error naming `method`.
    pub fn resolve_deprecated(&mut self) -> Result<()> {
        for m in std::mem::take(&mut self.method) {
            if LinkMethod::NAMES.contains(&m.as_str()) {
                self.link.linker.get_or_insert(m);
            } else if DetectorConfig::KINDS.contains(&m.as_str()) {
                self.segment.detector.get_or_insert(m);
            } else {
                let names = DetectorConfig::KINDS.iter().chain(&LinkMethod::NAMES);
                return Err(Error::param(
                    "method",
                    format!(
                        "`{m}`: expected one of {}",
                        names.copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The keywords (the field names), sorted.
    pub fn keywords() -> Vec<String> {
        let mut k = keywords_of::<Overrides>();
        k.push("method".into());
        k
    }

    /// Parses keyword overrides given as a JSON object (Python's keywords, see
    /// [`from_keywords`]); the deprecated `method` is resolved into `detector` / `linker`.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut o: Overrides = from_keywords(text, &Overrides::keywords())?;
        o.resolve_deprecated()?;
        Ok(o)
    }
}

/// The keywords of an overrides type: its fields, as its default serialises them (sorted).
pub fn keywords_of<T: Default + Serialize>() -> Vec<String> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Overrides of type `T` from a JSON object of keywords (`null`: not given): a keyword not in
/// `known` is an error naming it and the nearest one, a value of the wrong type an error
/// naming its keyword.
pub fn from_keywords<T: serde::de::DeserializeOwned>(text: &str, known: &[String]) -> Result<T> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::internal(format!("keywords: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::internal("keywords: expected a JSON object"));
    };
    let mut given = serde_json::Map::new();
    for (k, v) in map {
        if !known.contains(&k) {
            return Err(unknown_name(&k, known.iter().map(String::as_str), "keyword"));
        }
        if v.is_null() {
            continue;
        }
        let one = serde_json::Value::Object([(k.clone(), v.clone())].into_iter().collect());
        serde_json::from_value::<T>(one)
            .map_err(|e| Error::param(k.clone(), strip_serde_position(&e.to_string())))?;
        given.insert(k, v);
    }
    serde_json::from_value(serde_json::Value::Object(given))
        .map_err(|e| Error::param("keywords", strip_serde_position(&e.to_string())))
}

/// A serde_json message without its " at line L column C" (the JSON is ours, not the user's).
pub(crate) fn strip_serde_position(s: &str) -> String {
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// An "unknown name" error naming the nearest valid one.
pub(crate) fn unknown_name<'a>(
    name: &str,
    valid: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Error {
    let nearest = valid
        .into_iter()
        .map(|v| (edit_distance(name, v), v))
        .min()
        .map(|(_, v)| format!("; did you mean `{v}`?"))
        .unwrap_or_default();
    Error::param(name, format!("unknown {what}{nearest}"))
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant") with the
/// nearest valid name added: "…; did you mean `a`?".
pub(crate) fn with_nearest(message: &str) -> String {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    match ticked.split_first() {
        Some((name, valid)) if unknown && !valid.is_empty() => {
            let nearest = valid.iter().min_by_key(|v| edit_distance(name, v)).copied();
            match nearest {
                Some(v) => format!("{message}; did you mean `{v}`?"),
                None => message.to_string(),
            }
        }
        _ => message.to_string(),
    }
}

/// Levenshtein distance between two short names.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl Config {
    /// Applies `overrides` (each `Some` wins over this configuration's value) and checks the
    /// result: the precedence of every front, flag / keyword > file / `config=` > default.
    pub fn apply(&mut self, o: &Overrides) -> Result<()> {
        let mut o = o.clone();
        o.resolve_deprecated()?;
        o.read.apply(&mut self.read)?;
        o.segment.apply(&mut self.segment, &mut self.channel)?;
        o.drift.apply(&mut self.drift)?;
        o.link.apply(&mut self.link)?;
        o.metrics.apply(&mut self.metrics)?;
        o.export.apply(&mut self.export);
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_table() {
        let mut kw = Overrides::keywords();
        kw.retain(|k| k != "method");
        let mut table: Vec<String> = KEYS.iter().map(|(k, _)| k.to_string()).collect();
        kw.sort();
        table.sort();
        assert_eq!(kw, table);
    }

    #[test]
    fn unknown_keyword_names_the_nearest() {
        let e = Overrides::from_json(r#"{"gap_frame": 2}"#).unwrap_err().to_string();
        assert!(e.contains("gap_frame") && e.contains("`gap_frames`"), "{e}");
        let e = Overrides::from_json(r#"{"gap_frames": "two"}"#).unwrap_err();
        assert!(matches!(&e, Error::InvalidParameter { name, .. } if name == "gap_frames"), "{e}");
    }

    #[test]
    fn keyword_beats_config_beats_default() {
        let mut c = Config::default();
        c.link.gap_frames = 0;
        c.apply(&Overrides::from_json(r#"{"max_distance": 15}"#).unwrap()).unwrap();
        assert_eq!(c.link.gap_frames, 0);
        c.apply(&Overrides::from_json(r#"{"gap_frames": 5, "gap_max_distance": null}"#).unwrap())
            .unwrap();
        assert_eq!(c.link.gap_frames, 5);
        assert_eq!(c.link.gate, Gate::MaxDistance { um: 15.0 });
    }

    #[test]
    fn drift_objects_keeps_the_configuration_s_arrest_speed() {
        let mut c = Config {
            drift: DriftConfig::Objects { arrest_speed_um_per_min: 5.0 },
            ..Config::default()
        };
        c.apply(&Overrides::from_json(r#"{"drift": "objects"}"#).unwrap()).unwrap();
        assert_eq!(c.drift, DriftConfig::Objects { arrest_speed_um_per_min: 5.0 });
        c.apply(&Overrides::from_json(r#"{"drift": "median"}"#).unwrap()).unwrap();
        assert_eq!(c.drift, DriftConfig::Median);
    }

    #[test]
    fn huge_integers_are_checked_not_internal_errors() {
        let c = Config::from_json_str(r#"{"metrics": {"min_points": 18446744073709551615}}"#);
        assert!(c.is_ok(), "{c:?}");
        let e = Config::from_json_str(r#"{"segment": {"bin_xy": 0}}"#).unwrap_err();
        assert!(e.to_string().contains("segment.bin_xy"), "{e}");
    }

    #[test]
    fn vectors() {
        let v: Xyz = "1,2".parse().unwrap();
        assert_eq!((v.xyz, v.has_z), ([1.0, 2.0, 0.0], false));
        assert!("1,x,2".parse::<Xyz>().is_err());
        let v: Xyz = serde_json::from_str(r#"{"x": 0.5, "y": 0.5, "z": 2}"#).unwrap();
        assert_eq!(v.xyz, [0.5, 0.5, 2.0]);
        let e = serde_json::from_str::<Xyz>("[0.5, 0.5, 2]").unwrap_err().to_string();
        assert!(e.contains("bare sequence"), "{e}");
    }

    #[test]
    fn nearest_names() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
