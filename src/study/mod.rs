//! Studies: many recordings, mice and groups, compared with statistics whose unit is the
//! mouse.
//!
//! [`read_table`] reads the study table (one row per recording or tracks file: `recording`,
//! `mouse`, `group`, further columns, per-row overrides); [`run`] analyses every recording as
//! `batch` does (resumable, `OUT/recordings/<name>/`; rows naming tracks skip segmentation and
//! linking), pools the per-track measures, classifies each track ([`Class`]), makes one value
//! per mouse (the median over its tracks) and compares each group with the reference
//! ([`compare`]; tests in [`stats`]); [`write()`] writes `tracks_all.csv`, `per_recording.csv`,
//! `per_mouse.csv`, `comparisons.csv`, `curves.csv`, the figures and `report.html`.
//!
//! Pooling tracks and testing them as if independent finds differences between mice of the
//! same group (pseudo-replication; Lord et al., J Cell Biol 2020): here the p-value, the
//! interval and the effect sizes are of per-mouse values, and the track-level tests are
//! reported beside them, labelled as such.

pub mod config;
mod curves;
mod report;
pub mod stats;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use config::{ClassConfig, StudyConfig};
pub use curves::Curve;
pub use table::{read_table, Entry, StudyTable, OVERRIDES, REQUIRED};

use crate::error::{Error, Result};
use crate::import::{read_tracks, TrackMateOptions};
use crate::io::write::write_atomic;
use crate::metrics;
use crate::pipeline::batch::{self, Input, Row, Status};
use crate::pipeline::Config;
use crate::table::{fmt_f64, Tracks};
use stats::Of;

/// A track's behaviour class (rules and thresholds in [`ClassConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Mostly below the arrest threshold.
    Arrested,
    /// Sub-diffusive (MSD exponent α small).
    Confined,
    /// Neither: a random-walk-like track.
    Meandering,
    /// Super-diffusive and straight.
    Directed,
}

impl Class {
    /// Every class, in the order of the outputs.
    pub const ALL: [Class; 4] =
        [Class::Arrested, Class::Confined, Class::Meandering, Class::Directed];

    /// `arrested`, `confined`, `meandering` or `directed`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Arrested => "arrested",
            Class::Confined => "confined",
            Class::Meandering => "meandering",
            Class::Directed => "directed",
        }
    }

    /// The class of a track from its arrest coefficient, MSD exponent and straightness.
    pub fn of(arrest: f64, alpha: f64, straightness: f64, c: &ClassConfig) -> Class {
        if arrest >= c.arrested_min_arrest_coefficient {
            Class::Arrested
        } else if straightness >= c.directed_min_straightness
            && (alpha >= c.directed_min_alpha || !alpha.is_finite())
        {
            Class::Directed
        } else if alpha <= c.confined_max_alpha {
            Class::Confined
        } else {
            Class::Meandering
        }
    }
}

/// The MSD exponent α of one track: the least-squares slope of log MSD against log lag over
/// lags of 1 to max(2, ⌊(n − 1)/2⌋) frames (pairs of points exactly that many frames apart;
/// NaN with fewer than 5 points or fewer than 2 lags with a positive MSD).
pub fn msd_alpha(tracks: &Tracks, rows: &[usize], two_d: bool) -> f64 {
    let n = rows.len();
    if n < 5 {
        return f64::NAN;
    }
    let max_lag = ((n - 1) / 2).max(2) as u32;
    let z = tracks.z_um.as_ref().filter(|_| !two_d);
    let mut sum = vec![0.0f64; max_lag as usize + 1];
    let mut count = vec![0usize; max_lag as usize + 1];
    for (a, &i) in rows.iter().enumerate() {
        for &j in &rows[a + 1..] {
            let k = tracks.frame[j].saturating_sub(tracks.frame[i]);
            if k == 0 || k > max_lag {
                continue;
            }
            let mut d2 = (tracks.x_um[j] - tracks.x_um[i]).powi(2)
                + (tracks.y_um[j] - tracks.y_um[i]).powi(2);
            if let Some(z) = z {
                d2 += (z[j] - z[i]).powi(2);
            }
            sum[k as usize] += d2;
            count[k as usize] += 1;
        }
    }
    let pts: Vec<(f64, f64)> = (1..=max_lag as usize)
        .filter(|&k| count[k] > 0 && sum[k] > 0.0)
        .map(|k| ((k as f64).ln(), (sum[k] / count[k] as f64).ln()))
        .collect();
    if pts.len() < 2 {
        return f64::NAN;
    }
    let m = pts.len() as f64;
    let (mx, my) =
        (pts.iter().map(|p| p.0).sum::<f64>() / m, pts.iter().map(|p| p.1).sum::<f64>() / m);
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    sxy / sxx
}

/// Every track of the study, one row each (columnar).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackTable {
    /// The study table's row each track comes from.
    pub entry: Vec<usize>,
    /// The track's id in its recording.
    pub track_id: Vec<String>,
    /// The per-track measures (`track_metrics.csv`'s columns, `n_points` and `msd_alpha`).
    pub measures: Vec<(String, Vec<f64>)>,
    /// The behaviour class of each track.
    pub class: Vec<Class>,
}

impl TrackTable {
    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.entry.len()
    }
    /// True when there are no tracks.
    pub fn is_empty(&self) -> bool {
        self.entry.is_empty()
    }
    /// The measure named `name`.
    pub fn measure(&self, name: &str) -> Option<&[f64]> {
        self.measures.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// What happened to one row of the study table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingStatus {
    /// The row's results name.
    pub name: String,
    /// `done`, `skipped` (earlier complete outputs reused), `tracks` (read from a tracks file)
    /// or `failed`.
    pub status: String,
    /// The error of a failed row.
    pub error: Option<String>,
    /// The frame interval of its tracks, s.
    pub frame_interval_s: Option<f64>,
    /// Tracks it gave.
    pub tracks: usize,
}

/// One comparison: one measure, one group against the reference (a row of
/// `comparisons.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The measure (`track_metrics.csv`'s column name, `msd_alpha`, or `fraction_<class>`).
    pub measure: String,
    /// The group compared.
    pub group: String,
    /// The reference group.
    pub reference: String,
    /// How a mouse's value is made: `median` of its tracks, or `fraction` (class shares).
    pub mouse_value: String,
    /// Mice with a value in the group.
    pub n_mice: usize,
    /// Mice with a value in the reference.
    pub n_mice_reference: usize,
    /// Tracks with a value in the group.
    pub n_tracks: usize,
    /// Tracks with a value in the reference.
    pub n_tracks_reference: usize,
    /// Median of the group's per-mouse values.
    pub median_group: f64,
    /// Median of the reference's per-mouse values.
    pub median_reference: f64,
    /// `median_group − median_reference`.
    pub median_difference: f64,
    /// 95 % hierarchical-bootstrap interval of `median_difference`.
    pub ci_low: f64,
    /// Its upper end.
    pub ci_high: f64,
    /// Mean of the group's per-mouse values.
    pub mean_group: f64,
    /// Mean of the reference's per-mouse values.
    pub mean_reference: f64,
    /// `mean_group − mean_reference`.
    pub mean_difference: f64,
    /// 95 % hierarchical-bootstrap interval of `mean_difference`.
    pub mean_ci_low: f64,
    /// Its upper end.
    pub mean_ci_high: f64,
    /// Two-sided permutation test of the mouse labels (difference of the means of the
    /// per-mouse values); NaN with fewer than 2 mice on either side.
    pub p_permutation: f64,
    /// True when every relabelling was counted.
    pub permutation_exact: bool,
    /// `p_permutation` adjusted across the table (Holm).
    pub p_holm: f64,
    /// `p_permutation` adjusted across the table (Benjamini–Hochberg).
    pub p_bh: f64,
    /// Cliff's delta of the per-mouse values (group against reference).
    pub cliffs_delta: f64,
    /// Hedges' g of the per-mouse values.
    pub hedges_g: f64,
    /// Mann–Whitney U on the pooled tracks — **treats tracks as independent**.
    pub p_tracks_mannwhitney: f64,
    /// Kolmogorov–Smirnov on the pooled tracks — **treats tracks as independent**.
    pub p_tracks_ks: f64,
}

/// Column names of `comparisons.csv`, in order.
pub const COMPARISON_COLUMNS: [&str; 27] = [
    "measure",
    "group",
    "reference",
    "n_mice",
    "n_mice_reference",
    "n_tracks",
    "n_tracks_reference",
    "median_difference",
    "ci_low",
    "ci_high",
    "p_permutation",
    "p_holm",
    "p_bh",
    "cliffs_delta",
    "hedges_g",
    "p_tracks_mannwhitney",
    "p_tracks_ks",
    "median_group",
    "median_reference",
    "mean_group",
    "mean_reference",
    "mean_difference",
    "mean_ci_low",
    "mean_ci_high",
    "permutation_exact",
    "mouse_value",
    "test_unit",
];

impl Comparison {
    fn record(&self) -> Vec<String> {
        let f = |v: f64| fmt_f64(v);
        vec![
            self.measure.clone(),
            self.group.clone(),
            self.reference.clone(),
            self.n_mice.to_string(),
            self.n_mice_reference.to_string(),
            self.n_tracks.to_string(),
            self.n_tracks_reference.to_string(),
            f(self.median_difference),
            f(self.ci_low),
            f(self.ci_high),
            f(self.p_permutation),
            f(self.p_holm),
            f(self.p_bh),
            f(self.cliffs_delta),
            f(self.hedges_g),
            f(self.p_tracks_mannwhitney),
            f(self.p_tracks_ks),
            f(self.median_group),
            f(self.median_reference),
            f(self.mean_group),
            f(self.mean_reference),
            f(self.mean_difference),
            f(self.mean_ci_low),
            f(self.mean_ci_high),
            (self.permutation_exact as u8).to_string(),
            self.mouse_value.clone(),
            "mouse (p_tracks_*: tracks as independent)".to_string(),
        ]
    }
}

/// One measure to compare: its name, one value per track, how a mouse's value is made.
#[derive(Debug, Clone, Copy)]
pub struct Measure<'a> {
    /// Its name in the outputs.
    pub name: &'a str,
    /// One value per track (NaN: none).
    pub values: &'a [f64],
    /// How a mouse's value is made from its tracks' values.
    pub of: Of,
}

/// A seed per (measure, group) from the study's seed and their names: reproducible whichever
/// measures are compared together.
fn sub_seed(seed: u64, measure: &str, group: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in measure.bytes().chain([0]).chain(group.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Compares every group with the reference for every measure: tracks are grouped by
/// (`group[i]`, `mouse[i]`) — a mouse is a replicate within its group —, a mouse's value is
/// `of` its tracks' finite values, and each row gets the median and mean differences with
/// their hierarchical-bootstrap intervals, the permutation test of the mouse labels, Cliff's
/// delta and Hedges' g of the mouse values, and the track-level tests; `p_holm` and `p_bh`
/// adjust `p_permutation` across all rows. The reference is `reference` or the first group
/// in order of appearance; an error when it is not a group or when the lengths differ.
pub fn compare(
    mouse: &[String],
    group: &[String],
    measures: &[Measure],
    reference: Option<&str>,
    config: &StudyConfig,
) -> Result<Vec<Comparison>> {
    let n = mouse.len();
    if group.len() != n || measures.iter().any(|m| m.values.len() != n) {
        return Err(Error::param(
            "study",
            "mouse, group and every measure need one value per track",
        ));
    }
    let mut groups: Vec<&str> = Vec::new();
    for g in group {
        if !groups.contains(&g.as_str()) {
            groups.push(g);
        }
    }
    let reference = match reference {
        Some(r) if groups.contains(&r) => r,
        Some(r) => {
            return Err(Error::param(
                "reference",
                format!("`{r}` is not a group of the study (groups: {})", groups.join(", ")),
            ))
        }
        None => {
            groups.first().copied().ok_or_else(|| Error::param("study", "no tracks to compare"))?
        }
    };
    // Per group, its mice in order of appearance, each with its track rows.
    let mut by_group: BTreeMap<&str, Vec<(&str, Vec<usize>)>> = BTreeMap::new();
    for i in 0..n {
        let mice = by_group.entry(group[i].as_str()).or_default();
        match mice.iter_mut().find(|(m, _)| *m == mouse[i]) {
            Some((_, rows)) => rows.push(i),
            None => mice.push((mouse[i].as_str(), vec![i])),
        }
    }
    let values_of = |g: &str, m: &Measure| -> Vec<Vec<f64>> {
        by_group[g]
            .iter()
            .map(|(_, rows)| {
                rows.iter().map(|&r| m.values[r]).filter(|v| v.is_finite()).collect::<Vec<f64>>()
            })
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for m in measures {
        let ref_tracks = values_of(reference, m);
        let ref_mice: Vec<f64> = ref_tracks.iter().map(|t| m.of.of(&mut t.clone())).collect();
        for &g in groups.iter().filter(|g| **g != reference) {
            let tracks = values_of(g, m);
            let mice: Vec<f64> = tracks.iter().map(|t| m.of.of(&mut t.clone())).collect();
            let enough = mice.len() >= 2 && ref_mice.len() >= 2;
            let seed = sub_seed(config.seed, m.name, g);
            let ci = if enough {
                stats::hierarchical_bootstrap(
                    &tracks,
                    &ref_tracks,
                    m.of,
                    config.bootstrap_samples,
                    seed,
                )
            } else {
                stats::Interval { median: [f64::NAN; 2], mean: [f64::NAN; 2] }
            };
            let perm = if enough {
                stats::permutation_test(
                    &mice,
                    &ref_mice,
                    config.permutations,
                    config.permutations,
                    seed,
                )
            } else {
                stats::Permutation {
                    statistic: f64::NAN,
                    p: f64::NAN,
                    exact: false,
                    relabellings: 0,
                }
            };
            let pooled: Vec<f64> = tracks.concat();
            let pooled_ref: Vec<f64> = ref_tracks.concat();
            let (median_group, median_reference) = (stats::median(&mice), stats::median(&ref_mice));
            let (mean_group, mean_reference) = (stats::mean(&mice), stats::mean(&ref_mice));
            out.push(Comparison {
                measure: m.name.to_string(),
                group: g.to_string(),
                reference: reference.to_string(),
                mouse_value: match m.of {
                    Of::Median => "median".into(),
                    Of::Mean => "fraction".into(),
                },
                n_mice: mice.len(),
                n_mice_reference: ref_mice.len(),
                n_tracks: pooled.len(),
                n_tracks_reference: pooled_ref.len(),
                median_group,
                median_reference,
                median_difference: median_group - median_reference,
                ci_low: ci.median[0],
                ci_high: ci.median[1],
                mean_group,
                mean_reference,
                mean_difference: mean_group - mean_reference,
                mean_ci_low: ci.mean[0],
                mean_ci_high: ci.mean[1],
                p_permutation: perm.p,
                permutation_exact: perm.exact,
                p_holm: f64::NAN,
                p_bh: f64::NAN,
                cliffs_delta: stats::cliffs_delta(&mice, &ref_mice),
                hedges_g: stats::hedges_g(&mice, &ref_mice),
                p_tracks_mannwhitney: stats::mann_whitney_u(&pooled, &pooled_ref).1,
                p_tracks_ks: stats::ks_2samp(&pooled, &pooled_ref).1,
            });
        }
    }
    let p: Vec<f64> = out.iter().map(|c| c.p_permutation).collect();
    for ((c, h), b) in out.iter_mut().zip(stats::holm(&p)).zip(stats::benjamini_hochberg(&p)) {
        c.p_holm = h;
        c.p_bh = b;
    }
    Ok(out)
}

/// Options of [`run`].
#[derive(Debug, Clone, Default)]
pub struct StudyOptions {
    /// Recordings analysed at once (at most; memory may allow fewer). 0: 1.
    pub jobs: usize,
    /// The reference group; `None`: the first group of the table.
    pub reference: Option<String>,
}

/// A study's results.
#[derive(Debug, Clone)]
pub struct Study {
    /// The study table.
    pub table: StudyTable,
    /// The base configuration (rows' overrides applied on top per row).
    pub config: Config,
    /// What happened to each row, in the table's order.
    pub recordings: Vec<RecordingStatus>,
    /// Every track of every row that did not fail.
    pub tracks: TrackTable,
    /// The reference group.
    pub reference: String,
    /// One row per measure and non-reference group.
    pub comparisons: Vec<Comparison>,
    /// MSD, speed distribution and arrest fraction over time, per group, with mouse-level
    /// bootstrap bands.
    pub curves: Vec<Curve>,
    /// Warnings in words (few mice, failed recordings, mixed frame intervals, missing
    /// measures).
    pub warnings: Vec<String>,
}

/// The measures compared: `track_metrics.csv`'s columns that have any value (but `mean_z_um`,
/// a position), `n_points`, `msd_alpha`, then `fraction_<class>` of each class.
fn measure_list(tracks: &TrackTable) -> Vec<(String, Vec<f64>, Of)> {
    let mut out: Vec<(String, Vec<f64>, Of)> = tracks
        .measures
        .iter()
        .filter(|(n, v)| n != "mean_z_um" && v.iter().any(|x| x.is_finite()))
        .map(|(n, v)| (n.clone(), v.clone(), Of::Median))
        .collect();
    for c in Class::ALL {
        let v = tracks.class.iter().map(|&k| (k == c) as u8 as f64).collect();
        out.push((format!("fraction_{}", c.name()), v, Of::Mean));
    }
    out
}

/// The configuration of one row: `base` with the row's overrides.
pub fn row_config(base: &Config, e: &Entry) -> Config {
    let mut c = base.clone();
    if let Some(f) = e.frame_interval_s {
        c.read.frame_interval_s = Some(f);
    }
    if let Some(v) = e.voxel_size_um {
        c.read.voxel_size_um = Some(v);
    }
    if let Some(ch) = e.channel {
        c.channel = ch;
    }
    c
}

/// The frame interval of `tracks`, s: the median over steps of Δt / Δframe.
fn frame_interval(tracks: &Tracks) -> Option<f64> {
    let mut v = Vec::new();
    for rows in tracks.rows_by_track() {
        for w in rows.windows(2) {
            let df = tracks.frame[w[1]] as f64 - tracks.frame[w[0]] as f64;
            if df > 0.0 {
                v.push((tracks.t_s[w[1]] - tracks.t_s[w[0]]) / df);
            }
        }
    }
    let m = stats::median(&v);
    m.is_finite().then_some(m)
}

/// Reads (or analyses) one row's tracks.
fn row_tracks(e: &Entry, config: &Config, recordings: &Path, row: Option<&Row>) -> Result<Tracks> {
    if e.is_tracks() {
        let is_xml = e.recording.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml"));
        let options = TrackMateOptions {
            voxel_size: match (is_xml, config.read.voxel_size_um) {
                (true, Some([x, y, z])) => Some(crate::calib::VoxelSize::new(x, y, z)?),
                _ => None,
            },
            frame_interval_s: config.read.frame_interval_s,
        };
        return read_tracks(&e.recording, None, &options);
    }
    match row {
        Some(r) if r.status != Status::Failed => {
            Tracks::read_csv(recordings.join(&e.name).join("tracks.csv"), None)
        }
        Some(r) => Err(Error::data(r.error.clone().unwrap_or_else(|| "failed".into()))),
        None => Err(Error::internal("a recording row was not analysed")),
    }
}

/// Named columns of per-track values.
type Columns = Vec<(String, Vec<f64>)>;

/// Per-track measures of one row's tracks (suspect tracks left out when the configuration
/// leaves them out of the population).
fn measure_tracks(tracks: &Tracks, config: &Config) -> Result<(Vec<String>, Columns)> {
    let mut mc = config.metrics.clone();
    if mc.frame_interval_s.is_none() {
        mc.frame_interval_s = config.read.frame_interval_s;
    }
    let a = metrics::analyze(tracks, &mc)?;
    let tm = &a.track_metrics;
    let suspect = crate::track::suspect::suspect_rows(tracks);
    let mut rows_of: HashMap<String, Vec<usize>> = HashMap::new();
    for rows in tracks.rows_by_track() {
        rows_of.insert(tracks.track_id.label(rows[0]), rows);
    }
    let n = tm.track_id.len();
    let keep: Vec<usize> = (0..n)
        .filter(|&i| {
            !config.metrics.exclude_suspect
                || !rows_of
                    .get(&tm.track_id.label(i))
                    .is_some_and(|r| r.iter().any(|&k| suspect[k]))
        })
        .collect();
    let ids: Vec<String> = keep.iter().map(|&i| tm.track_id.label(i)).collect();
    let mut measures: Vec<(String, Vec<f64>)> =
        vec![("n_points".into(), keep.iter().map(|&i| tm.n_points[i] as f64).collect())];
    for (name, col) in tm.columns() {
        measures.push((name.to_string(), keep.iter().map(|&i| col[i]).collect()));
    }
    let two_d = mc.two_d;
    let alpha = ids
        .iter()
        .map(|id| rows_of.get(id).map(|r| msd_alpha(tracks, r, two_d)).unwrap_or(f64::NAN))
        .collect();
    measures.push(("msd_alpha".into(), alpha));
    Ok((ids, measures))
}

/// Adds the per-track columns a later stage wrote into a recording's `track_metrics.csv` (the
/// interactions' `<partner>_…`) that the measures do not have yet, matched by track id.
fn add_stage_columns(path: &Path, ids: &[String], measures: &mut Columns) -> Result<()> {
    let Ok(mut r) = csv::Reader::from_path(path) else { return Ok(()) };
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::data(format!("{}: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    let new: Vec<usize> = (1..header.len())
        .filter(|&k| header[k] != "n_points" && !measures.iter().any(|(n, _)| *n == header[k]))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut by_id: HashMap<String, Vec<f64>> = HashMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::data(format!("{}: {e}", path.display())))?;
        let v = new
            .iter()
            .map(|&k| rec.get(k).and_then(|x| x.parse().ok()).unwrap_or(f64::NAN))
            .collect();
        by_id.insert(rec.get(0).unwrap_or_default().to_string(), v);
    }
    for (j, &k) in new.iter().enumerate() {
        let col = ids.iter().map(|id| by_id.get(id).map_or(f64::NAN, |v| v[j])).collect();
        measures.push((header[k].clone(), col));
    }
    Ok(())
}

/// Runs a study: every recording row analysed into `out/recordings/<name>/` as `batch` does
/// (resumable; `out/recordings/summary.csv`), every row's tracks measured and classified,
/// the groups compared. A failed row is reported (in [`Study::recordings`] and the warnings)
/// and the rest goes on. Writes nothing but the recordings' folders: see [`write()`].
pub fn run(
    table: &StudyTable,
    out: &Path,
    config: &Config,
    options: &StudyOptions,
) -> Result<Study> {
    config.validate()?;
    let recordings_dir = out.join("recordings");
    // The recordings, as batch inputs with per-row configurations.
    let rec_rows: Vec<usize> =
        (0..table.entries.len()).filter(|&i| !table.entries[i].is_tracks()).collect();
    let mut batch_rows: Vec<Option<Row>> = vec![None; table.entries.len()];
    if !rec_rows.is_empty() {
        std::fs::create_dir_all(&recordings_dir).map_err(|e| Error::io(&recordings_dir, e))?;
        let inputs: Vec<Input> = rec_rows
            .iter()
            .map(|&i| Input {
                path: table.entries[i].recording.clone(),
                name: table.entries[i].name.clone(),
            })
            .collect();
        let jobs = batch::jobs_for(&inputs, config, options.jobs.max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: std::sync::Mutex<Vec<Option<Row>>> =
            std::sync::Mutex::new(vec![None; inputs.len()]);
        std::thread::scope(|s| {
            for _ in 0..jobs.min(inputs.len()) {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(input) = inputs.get(k) else { break };
                    let cfg = row_config(config, &table.entries[rec_rows[k]]);
                    let row = match cfg.validate() {
                        Ok(()) => batch::run_one(input, &recordings_dir, &cfg, &|_| true),
                        Err(e) => batch::Row::failed(input, &e),
                    };
                    if let Ok(mut d) = done.lock() {
                        d[k] = Some(row);
                    }
                });
            }
        });
        let done = done.into_inner().map_err(|_| Error::internal("a study worker panicked"))?;
        let rows: Vec<Row> = done.iter().flatten().cloned().collect();
        batch::write_summary(&recordings_dir.join("summary.csv"), &rows)?;
        for (k, r) in done.into_iter().enumerate() {
            batch_rows[rec_rows[k]] = r;
        }
    }
    let mut tracks = TrackTable::default();
    let mut statuses = Vec::new();
    let mut per_entry_tracks: Vec<Option<Tracks>> = Vec::new();
    let mut warnings = Vec::new();
    for (i, e) in table.entries.iter().enumerate() {
        let cfg = row_config(config, e);
        let result = row_tracks(e, &cfg, &recordings_dir, batch_rows[i].as_ref())
            .and_then(|t| measure_tracks(&t, &cfg).map(|m| (t, m)))
            .and_then(|(t, (ids, mut measures))| {
                if !e.is_tracks() {
                    let path = recordings_dir.join(&e.name).join("track_metrics.csv");
                    add_stage_columns(&path, &ids, &mut measures)?;
                }
                Ok((t, (ids, measures)))
            });
        let status_of = |r: &Option<Row>| match (e.is_tracks(), r) {
            (true, _) => "tracks".to_string(),
            (false, Some(r)) => r.status.name().to_string(),
            _ => "failed".to_string(),
        };
        match result {
            Ok((t, (ids, measures))) => {
                let n = ids.len();
                let interval = frame_interval(&t).or(cfg.read.frame_interval_s);
                tracks.entry.extend(std::iter::repeat_n(i, n));
                tracks.track_id.extend(ids);
                if tracks.measures.is_empty() {
                    tracks.measures =
                        measures.iter().map(|(name, _)| (name.clone(), Vec::new())).collect();
                }
                let before = tracks.entry.len() - n;
                for (name, v) in &measures {
                    match tracks.measures.iter_mut().find(|(m, _)| m == name) {
                        Some((_, col)) => col.extend(v),
                        None => {
                            let mut col = vec![f64::NAN; before];
                            col.extend(v);
                            tracks.measures.push((name.clone(), col));
                        }
                    }
                }
                for (_, col) in tracks.measures.iter_mut() {
                    col.resize(tracks.entry.len(), f64::NAN);
                }
                let get = |name: &str| {
                    measures
                        .iter()
                        .find(|(m, _)| m == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_else(|| vec![f64::NAN; n])
                };
                let (arrest, alpha, straight) =
                    (get("arrest_coefficient"), get("msd_alpha"), get("straightness"));
                tracks.class.extend(
                    (0..n).map(|k| {
                        Class::of(arrest[k], alpha[k], straight[k], &config.study.classes)
                    }),
                );
                if n == 0 {
                    warnings.push(format!("{}: no tracks", e.name));
                }
                statuses.push(RecordingStatus {
                    name: e.name.clone(),
                    status: status_of(&batch_rows[i]),
                    error: None,
                    frame_interval_s: interval,
                    tracks: n,
                });
                per_entry_tracks.push(Some(t));
            }
            Err(err) => {
                warnings.push(format!(
                    "{} failed (mouse {}, group {}): {err}",
                    e.name, e.mouse, e.group
                ));
                statuses.push(RecordingStatus {
                    name: e.name.clone(),
                    status: "failed".into(),
                    error: Some(err.to_string()),
                    frame_interval_s: None,
                    tracks: 0,
                });
                per_entry_tracks.push(None);
            }
        }
    }
    let intervals: Vec<f64> = statuses.iter().filter_map(|s| s.frame_interval_s).collect();
    if let (Some(lo), Some(hi)) =
        (intervals.iter().copied().reduce(f64::min), intervals.iter().copied().reduce(f64::max))
    {
        if hi > lo * 1.01 {
            let list: Vec<String> = statuses
                .iter()
                .filter_map(|s| {
                    s.frame_interval_s
                        .map(|f| format!("{} {} s", s.name, fmt_f64((f * 1000.0).round() / 1000.0)))
                })
                .collect();
            warnings.push(format!(
                "recordings have different frame intervals ({} to {} s: {}); per-track speeds are comparable, \
                 step-based measures and the arrest coefficient depend on the interval",
                fmt_f64(lo), fmt_f64(hi), list.join(", ")
            ));
        }
    }
    let groups = table.groups();
    let reference = options.reference.clone().or_else(|| groups.first().cloned());
    let mouse: Vec<String> = tracks.entry.iter().map(|&i| table.entries[i].mouse.clone()).collect();
    let group: Vec<String> = tracks.entry.iter().map(|&i| table.entries[i].group.clone()).collect();
    for g in &groups {
        let mut mice: Vec<&str> = table
            .entries
            .iter()
            .zip(&statuses)
            .filter(|(e, s)| &e.group == g && s.tracks > 0)
            .map(|(e, _)| e.mouse.as_str())
            .collect();
        mice.sort();
        mice.dedup();
        if mice.is_empty() {
            warnings.push(format!("group {g} has no tracks"));
        } else if mice.len() == 1 {
            warnings.push(format!("group {g} has one mouse: descriptive output only, no p-value or interval (mice, not tracks, are the replicates)"));
        } else if mice.len() < config.study.min_mice {
            warnings.push(format!(
                "group {g} has {} mice (fewer than {}): tests have little power",
                mice.len(),
                config.study.min_mice
            ));
        }
    }
    if groups.len() < 2 {
        warnings.push("the study has one group: nothing to compare".into());
    }
    let list = measure_list(&tracks);
    for (name, values, _) in &list {
        let missing: Vec<&str> = statuses
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                s.tracks > 0
                    && !tracks.entry.iter().zip(values).any(|(&e, v)| e == *i && v.is_finite())
            })
            .map(|(_, s)| s.name.as_str())
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "{name} is missing in {} (left out of its comparison)",
                missing.join(", ")
            ));
        }
    }
    let measures: Vec<Measure> =
        list.iter().map(|(n, v, of)| Measure { name: n, values: v, of: *of }).collect();
    let comparisons = if tracks.is_empty() {
        Vec::new()
    } else {
        compare(&mouse, &group, &measures, reference.as_deref(), &config.study)?
    };
    let curves = curves::curves(table, &per_entry_tracks, &tracks, config);
    Ok(Study {
        table: table.clone(),
        config: config.clone(),
        recordings: statuses,
        tracks,
        reference: reference.unwrap_or_default(),
        comparisons,
        curves,
        warnings,
    })
}

fn write_csv(
    path: &Path,
    header: &[String],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<()> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let io = |e: csv::Error| std::io::Error::other(e.to_string());
        csv.write_record(header).map_err(io)?;
        for r in rows {
            csv.write_record(&r).map_err(io)?;
        }
        csv.flush()
    })
}

/// The files [`write()`] writes, relative to the study's folder (the figures in `plots/`
/// besides).
pub const STUDY_FILES: [&str; 7] = [
    "tracks_all.csv",
    "per_recording.csv",
    "per_mouse.csv",
    "comparisons.csv",
    "curves.csv",
    "report.html",
    "study.json",
];

impl Study {
    /// The study columns of the row `i`: recording, mouse, group, the further columns.
    fn study_cells(&self, i: usize) -> Vec<String> {
        let e = &self.table.entries[i];
        let mut v = vec![e.name.clone(), e.mouse.clone(), e.group.clone()];
        v.extend(e.columns.iter().map(|(_, x)| x.clone()));
        v
    }

    fn study_header(&self) -> Vec<String> {
        let mut h: Vec<String> = vec!["recording".into(), "mouse".into(), "group".into()];
        h.extend(self.table.columns.iter().cloned());
        h
    }

    /// Per mouse ((group, mouse) in order of appearance): its table rows and track rows.
    pub fn mice(&self) -> Vec<(String, String, Vec<usize>, Vec<usize>)> {
        let mut out: Vec<(String, String, Vec<usize>, Vec<usize>)> = Vec::new();
        for (i, e) in self.table.entries.iter().enumerate() {
            match out.iter_mut().find(|m| m.0 == e.group && m.1 == e.mouse) {
                Some(m) => m.2.push(i),
                None => out.push((e.group.clone(), e.mouse.clone(), vec![i], Vec::new())),
            }
        }
        for (t, &i) in self.tracks.entry.iter().enumerate() {
            let e = &self.table.entries[i];
            if let Some(m) = out.iter_mut().find(|m| m.0 == e.group && m.1 == e.mouse) {
                m.3.push(t);
            }
        }
        out
    }

    /// Summary cells of a set of track rows: per measure its median and mean, then the class
    /// fractions.
    fn summary_cells(&self, rows: &[usize]) -> Vec<String> {
        let mut v = Vec::new();
        for (_, col) in &self.tracks.measures {
            let x: Vec<f64> = rows.iter().map(|&r| col[r]).collect();
            v.push(fmt_f64(stats::median(&x)));
            v.push(fmt_f64(stats::mean(&x)));
        }
        for c in Class::ALL {
            let k = rows.iter().filter(|&&r| self.tracks.class[r] == c).count();
            v.push(if rows.is_empty() {
                fmt_f64(f64::NAN)
            } else {
                fmt_f64(k as f64 / rows.len() as f64)
            });
        }
        v
    }

    fn summary_header(&self) -> Vec<String> {
        let mut h = Vec::new();
        for (n, _) in &self.tracks.measures {
            h.push(format!("{n}_median"));
            h.push(format!("{n}_mean"));
        }
        h.extend(Class::ALL.iter().map(|c| format!("fraction_{}", c.name())));
        h
    }
}

/// Writes the study's outputs into `out` (created if needed), each atomically:
/// [`STUDY_FILES`] and `plots/` (a superplot per measure compared, the MSD per group, the
/// class fractions, the forest plot; PNG and SVG). `study.json` (settings, counts, warnings,
/// the files) is written last. Returns the files written.
pub fn write(study: &Study, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files = Vec::new();
    // tracks_all.csv
    let mut h = study.study_header();
    h.push("track_id".into());
    h.extend(study.tracks.measures.iter().map(|(n, _)| n.clone()));
    h.push("behaviour_class".into());
    let t = &study.tracks;
    let path = out.join("tracks_all.csv");
    write_csv(
        &path,
        &h,
        (0..t.len()).map(|r| {
            let mut v = study.study_cells(t.entry[r]);
            v.push(t.track_id[r].clone());
            v.extend(t.measures.iter().map(|(_, c)| fmt_f64(c[r])));
            v.push(t.class[r].name().into());
            v
        }),
    )?;
    files.push(path);
    // per_recording.csv
    let mut h = study.study_header();
    h.extend(["path", "status", "error", "frame_interval_s", "n_tracks"].map(String::from));
    h.extend(study.summary_header());
    let path = out.join("per_recording.csv");
    write_csv(
        &path,
        &h,
        study.recordings.iter().enumerate().map(|(i, s)| {
            let rows: Vec<usize> = (0..t.len()).filter(|&r| t.entry[r] == i).collect();
            let mut v = study.study_cells(i);
            v.push(study.table.entries[i].recording.display().to_string());
            v.push(s.status.clone());
            v.push(s.error.clone().unwrap_or_default());
            v.push(s.frame_interval_s.map(fmt_f64).unwrap_or_default());
            v.push(rows.len().to_string());
            v.extend(study.summary_cells(&rows));
            v
        }),
    )?;
    files.push(path);
    // per_mouse.csv
    let mut h: Vec<String> =
        ["group", "mouse", "n_recordings", "n_tracks"].map(String::from).to_vec();
    h.extend(study.summary_header());
    let path = out.join("per_mouse.csv");
    write_csv(
        &path,
        &h,
        study.mice().into_iter().map(|(g, m, entries, rows)| {
            let mut v = vec![g, m, entries.len().to_string(), rows.len().to_string()];
            v.extend(study.summary_cells(&rows));
            v
        }),
    )?;
    files.push(path);
    let path = out.join("comparisons.csv");
    write_csv(
        &path,
        &COMPARISON_COLUMNS.map(String::from),
        study.comparisons.iter().map(Comparison::record),
    )?;
    files.push(path);
    let path = out.join("curves.csv");
    write_csv(&path, &Curve::COLUMNS.map(String::from), study.curves.iter().map(Curve::record))?;
    files.push(path);
    let figures = crate::export::plots::study::write_study_plots(&out.join("plots"), study)?;
    files.extend(figures);
    let path = out.join("report.html");
    let html = report::html(study)?;
    write_atomic(&path, |w| w.write_all(html.as_bytes()))?;
    files.push(path);
    let path = out.join("study.json");
    let json = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "table": study.table.path,
        "reference": study.reference,
        "groups": study.table.groups(),
        "counts": {
            "rows": study.table.entries.len(),
            "mice": study.mice().len(),
            "tracks": study.tracks.len(),
            "failed": study.recordings.iter().filter(|r| r.status == "failed").count(),
        },
        "recordings": study.recordings,
        "warnings": study.warnings,
        "settings": study.config.study,
        "files": files.iter().filter_map(|p| p.strip_prefix(out).ok()).map(|p| p.to_string_lossy().replace('\\', "/")).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&path, |w| w.write_all(text.as_bytes()))?;
    files.push(path);
    Ok(files)
}
