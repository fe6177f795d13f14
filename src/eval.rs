//! Scores against ground truth: detection accuracy and link accuracy.
//!
//! Ground truth is a [`Tracks`] table, one row per cell per frame in which it is present
//! (the simulator's `truth.csv`: `track_id, frame, t_s, x_um, y_um, z_um, diameter_um,
//! arrested`; columns beyond the positions are ignored here).
//!
//! ## Matching
//!
//! In each frame (every frame present in either table) predicted points are matched one to one
//! to true points by [`match_points`]: a pair is a candidate when the points are at most
//! [`EvalConfig::match_um`] apart (Euclidean, in µm; 3D when both tables have `z_um`, else in
//! the xy plane), and among all one-to-one matchings of candidates the one with the most pairs
//! and, among those, the least total distance is taken (an exact assignment, not greedy
//! nearest-first).
//!
//! ## Detection scores ([`DetectionScore`])
//!
//! - TP = matched pairs, FP = predicted points left unmatched, FN = true points left unmatched.
//! - precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2·TP / (2·TP + FP + FN).
//! - RMSE xy = √(mean over matched pairs of dx² + dy²); RMSE z = √(mean of dz²), present only
//!   when both tables are 3D.
//!
//! Conventions where a ratio is 0/0: with no predictions **and** no truth, precision, recall and
//! F1 are 1 (nothing to find, nothing wrongly found). With no predictions but some truth,
//! precision is NaN (undefined), recall 0 and F1 0; with truth empty but some predictions,
//! recall is NaN, precision 0 and F1 0. RMSEs are NaN when nothing matched. NaN is written as
//! `null` in JSON.
//!
//! ## Link scores ([`TrackingScore`])
//!
//! - **True links.** For each ground-truth track, take its points that were matched (detected),
//!   in frame order; each consecutive pair of them whose frame difference is at most
//!   [`EvalConfig::gap_frames`] is a true link. A link across undetected frames counts as long
//!   as the gap limit holds (`gap_frames` as TrackMate's MAX_FRAME_GAP: 1 = consecutive frames
//!   only, 2 = one missing frame).
//! - **Predicted links.** Each pair of consecutive points within a predicted track.
//! - **Correct links.** A predicted link whose two endpoints are matched to two truth points
//!   that form a true link — same cell, and no matched point of that cell between them.
//! - link recall = correct / true links, link precision = correct / predicted links,
//!   link F1 = 2·correct / (true links + predicted links), with the same 0/0 conventions as
//!   above (no true and no predicted links: all 1).

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::table::{Detections, Tracks};
use crate::track::assign::match_sparse;

/// Settings of the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Largest distance between a predicted point and the true point it matches, µm
    /// (inclusive). Default 5.0.
    pub match_um: f64,
    /// Largest frame difference a true link may span: 1 = consecutive frames only, 2 = one
    /// missing frame (TrackMate's MAX_FRAME_GAP). Default 3.
    pub gap_frames: u32,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { match_um: 5.0, gap_frames: 3 }
    }
}

/// Overrides of an [`EvalConfig`] (`leukotrack eval`'s flags, `lt.evaluate`'s keywords).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct EvalOverrides {
    /// Largest distance between a detection and the true position it matches, µm.
    #[cfg_attr(feature = "cli", arg(long, value_name = "UM"))]
    pub match_um: Option<f64>,
    /// Largest frame difference a true link may span (2 = one missing frame).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub gap_frames: Option<u32>,
}

impl EvalOverrides {
    /// The evaluation settings: the defaults with the overrides given, checked.
    pub fn config(&self) -> Result<EvalConfig> {
        let d = EvalConfig::default();
        let c = EvalConfig {
            match_um: self.match_um.unwrap_or(d.match_um),
            gap_frames: self.gap_frames.unwrap_or(d.gap_frames),
        };
        c.validate()?;
        Ok(c)
    }
}

impl EvalConfig {
    /// Checks that `match_um` is a finite positive distance and `gap_frames` ≥ 1.
    pub fn validate(&self) -> Result<()> {
        if !(self.match_um.is_finite() && self.match_um > 0.0) {
            return Err(Error::param(
                "match_um",
                format!("must be a positive distance in µm, got {}", self.match_um),
            ));
        }
        if self.gap_frames == 0 {
            return Err(Error::param(
                "gap_frames",
                "must be at least 1 (1 = links between consecutive frames only)",
            ));
        }
        Ok(())
    }
}

/// Detection accuracy: predicted points against true points, matched frame by frame.
///
/// See the [module docs](self) for the definitions and the conventions for empty inputs.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionScore {
    /// Number of true points (all frames).
    pub n_truth: usize,
    /// Number of predicted points (all frames).
    pub n_predicted: usize,
    /// Predicted points matched to a true point.
    pub true_positives: usize,
    /// Predicted points not matched.
    pub false_positives: usize,
    /// True points not matched.
    pub false_negatives: usize,
    /// TP / n_predicted (1 when both tables are empty, NaN when only the predictions are).
    pub precision: f64,
    /// TP / n_truth (1 when both tables are empty, NaN when only the truth is).
    pub recall: f64,
    /// 2·TP / (n_truth + n_predicted) (1 when both are empty).
    pub f1: f64,
    /// √(mean of dx² + dy²) over matched pairs, µm; NaN without matches.
    pub rmse_xy_um: f64,
    /// √(mean of dz²) over matched pairs, µm, when both tables are 3D (NaN without matches);
    /// `None` when either is 2D.
    pub rmse_z_um: Option<f64>,
    /// Recall of the true points of each phenomenon: for every 0/1 column of the truth
    /// (`dim`, `touching`, `amoeboid`, … in the simulator's truth) with some 1s, the number of
    /// its true points and the fraction matched. Empty when the truth has no such column.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_phenomenon: BTreeMap<String, PhenomenonRecall>,
}

impl std::fmt::Display for DetectionScore {
    /// The score as `leukotrack eval` prints it: one `name value` line per measure.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, v) in [
            ("truth points", self.n_truth),
            ("predicted points", self.n_predicted),
            ("true positives", self.true_positives),
            ("false positives", self.false_positives),
            ("false negatives", self.false_negatives),
        ] {
            writeln!(f, "{k:<18}{v}")?;
        }
        for (k, v) in [("precision", self.precision), ("recall", self.recall), ("F1", self.f1)] {
            writeln!(f, "{k:<18}{v:.4}")?;
        }
        writeln!(f, "{:<18}{:.3} µm", "RMSE xy", self.rmse_xy_um)?;
        if let Some(z) = self.rmse_z_um {
            writeln!(f, "{:<18}{z:.3} µm", "RMSE z")?;
        }
        for (name, r) in &self.by_phenomenon {
            writeln!(f, "{:<18}{:.4} of {}", format!("recall {name}"), r.recall, r.n)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for TrackingScore {
    /// The detection score, then the links and the CTC measures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.detection)?;
        for (k, v) in [
            ("true links", self.true_links),
            ("predicted links", self.predicted_links),
            ("correct links", self.correct_links),
        ] {
            writeln!(f, "{k:<18}{v}")?;
        }
        for (k, v) in [
            ("link recall", self.link_recall),
            ("link precision", self.link_precision),
            ("link F1", self.link_f1),
            ("CTC DET", self.ctc.det),
            ("CTC TRA", self.ctc.tra),
            ("CTC LNK", self.ctc.lnk),
        ] {
            writeln!(f, "{k:<18}{v:.4}")?;
        }
        Ok(())
    }
}

/// The recall of one phenomenon's true points.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PhenomenonRecall {
    /// True points with the phenomenon.
    pub n: usize,
    /// The fraction of them matched.
    pub recall: f64,
}

/// The detections of `detections` that no true point claims but that lie within `match_um` of
/// a `partial` cell (one whose centre is outside the imaged volume while part of it is seen;
/// the simulator's `partial.csv`) are removed, one per partial cell: they count neither as
/// true nor as false detections. Returns the detections kept.
pub fn without_partial(
    truth: &Tracks,
    detections: &Detections,
    partial: &Detections,
    cfg: &EvalConfig,
) -> Result<Detections> {
    cfg.validate()?;
    let p = Points::of_detections(detections);
    let pairs = match_by_frame(Points::of_tracks(truth), p, cfg.match_um);
    let mut claimed = vec![false; detections.len()];
    for &(_, j) in &pairs {
        claimed[j] = true;
    }
    let free: Vec<usize> = (0..detections.len()).filter(|&j| !claimed[j]).collect();
    let mut sub = Detections::new(detections.z_um.is_some());
    for &j in &free {
        sub.push(detections.frame[j], p.x[j], p.y[j], p.z.map(|z| z[j]));
    }
    let neutral =
        match_by_frame(Points::of_detections(partial), Points::of_detections(&sub), cfg.match_um);
    let mut keep = vec![true; detections.len()];
    for (_, k) in neutral {
        keep[free[k]] = false;
    }
    let rows: Vec<usize> = (0..detections.len()).filter(|&j| keep[j]).collect();
    Ok(detections.take_rows(&rows))
}

/// Tracking accuracy: the detection score of the tracked points plus link accuracy.
///
/// See the [module docs](self) for the definitions of true, predicted and correct links.
#[derive(Debug, Clone, Serialize)]
pub struct TrackingScore {
    /// Tracked points scored as detections.
    pub detection: DetectionScore,
    /// Links of the ground truth between detected points, within the gap limit.
    pub true_links: usize,
    /// Links between consecutive points of the predicted tracks.
    pub predicted_links: usize,
    /// Predicted links that are true links.
    pub correct_links: usize,
    /// correct_links / true_links (1 when there are no links at all, NaN when only
    /// `true_links` is 0).
    pub link_recall: f64,
    /// correct_links / predicted_links (1 when there are no links at all, NaN when only
    /// `predicted_links` is 0).
    pub link_precision: f64,
    /// 2·correct_links / (true_links + predicted_links) (1 when both are 0).
    pub link_f1: f64,
    /// The Cell Tracking Challenge measures on point matches.
    pub ctc: CtcScore,
}

/// The Cell Tracking Challenge's DET, TRA and LNK measures (Matula et al. 2015; Ulman et al.
/// 2017) computed on point matches instead of mask overlaps.
///
/// Vertices are the tracked points; the one-to-one matching within `match_um` plays the role
/// of the CTC's "> 50 % of the reference marker" test, so a computed point never matches two
/// references: NS (non-split vertices) is always 0. FN = unmatched reference points, FP =
/// unmatched computed points. Reference edges join consecutive points of a ground-truth track
/// (a *track link* when the frames are consecutive, a *parent link* across a gap, as in the CTC
/// format); computed edges likewise. Edge errors are counted on the computed edges whose both
/// ends are matched: ED = such an edge with no reference edge between the matched references,
/// EA = a reference edge with no computed edge between its matched points (or with an
/// unmatched end), EC = an edge in both whose kind (track/parent link) differs — never, on
/// point matches, since both kinds follow from the frames. Weights: FN 10, FP 1, NS 5, ED 1,
/// EA 1.5, EC 1. DET = 1 − min(AOGM_D, 10·|V_R|)/(10·|V_R|) with AOGM_D = 10·FN + FP;
/// TRA = 1 − min(AOGM, AOGM₀)/AOGM₀ with AOGM₀ = 10·|V_R| + 1.5·|E_R|; LNK likewise on the
/// edge terms with 1.5·|E_R|. A measure whose denominator is 0 is NaN (as traccuracy).
#[derive(Debug, Clone, Serialize)]
pub struct CtcScore {
    /// Detection accuracy, 0–1.
    pub det: f64,
    /// Tracking accuracy, 0–1.
    pub tra: f64,
    /// Linking accuracy, 0–1.
    pub lnk: f64,
    /// Unmatched reference points.
    pub false_negative_vertices: usize,
    /// Unmatched computed points.
    pub false_positive_vertices: usize,
    /// Computed edges not in the reference.
    pub edges_deleted: usize,
    /// Reference edges missing from the result.
    pub edges_added: usize,
    /// Edges of the wrong kind.
    pub edges_semantics: usize,
    /// The weighted graph-edit cost.
    pub aogm: f64,
    /// The cost of building the reference from nothing.
    pub aogm0: f64,
}

fn clamp_measure(cost: f64, zero: f64) -> f64 {
    if zero > 0.0 {
        1.0 - cost.min(zero) / zero
    } else {
        f64::NAN
    }
}

/// Matches two point sets one to one within `max_dist_um`.
///
/// Each set is `(x_um, y_um, z_um)`; distances are Euclidean in 3D when both sets have z, else
/// in the xy plane. Pairs at most `max_dist_um` apart (inclusive) are candidates; the result
/// has the largest possible number of pairs and, among such matchings, the least total
/// distance (via [`match_sparse`]). Returns `(truth index, predicted index)` pairs sorted by
/// truth index. Points with a non-finite coordinate never match; a negative or NaN
/// `max_dist_um` matches nothing.
///
/// Candidates come from a uniform grid over xy with cells `max_dist_um` wide, so only points in
/// neighbouring cells are compared — fast for thousands of points per set.
///
/// # Panics
/// If the coordinate slices of one set differ in length.
///
/// # Example
/// ```
/// use leukotrack::eval::match_points;
/// let truth = (&[0.0, 4.5][..], &[0.0, 0.0][..], None);
/// let pred = (&[3.0, 8.0][..], &[0.0, 0.0][..], None);
/// // Greedy nearest-first would pair truth 1 with prediction 0 (1.5 µm) and match nothing else.
/// assert_eq!(match_points(truth, pred, 5.0), vec![(0, 0), (1, 1)]);
/// ```
pub fn match_points(
    truth: (&[f64], &[f64], Option<&[f64]>),
    pred: (&[f64], &[f64], Option<&[f64]>),
    max_dist_um: f64,
) -> Vec<(usize, usize)> {
    let (tx, ty, tz) = truth;
    let (px, py, pz) = pred;
    assert!(
        ty.len() == tx.len() && tz.is_none_or(|z| z.len() == tx.len()),
        "truth coordinates differ in length"
    );
    assert!(
        py.len() == px.len() && pz.is_none_or(|z| z.len() == px.len()),
        "predicted coordinates differ in length"
    );
    if max_dist_um.is_nan() || max_dist_um < 0.0 || tx.is_empty() || px.is_empty() {
        return Vec::new();
    }
    let z = tz.zip(pz);
    let finite = |x: &[f64], y: &[f64], z: Option<&[f64]>, i: usize| {
        x[i].is_finite() && y[i].is_finite() && z.is_none_or(|z| z[i].is_finite())
    };
    // Any cell at least max_dist_um wide works; an infinite distance puts all in one cell.
    let cell = if max_dist_um > 0.0 { max_dist_um } else { 1.0 };
    let key = |x: f64, y: f64| ((x / cell).floor() as i64, (y / cell).floor() as i64);
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for j in 0..px.len() {
        if finite(px, py, pz, j) {
            grid.entry(key(px[j], py[j])).or_default().push(j);
        }
    }
    let max_d2 = max_dist_um * max_dist_um;
    let mut edges = Vec::new();
    for i in 0..tx.len() {
        if !finite(tx, ty, tz, i) {
            continue;
        }
        let (kx, ky) = key(tx[i], ty[i]);
        for nx in [kx.checked_sub(1), Some(kx), kx.checked_add(1)].into_iter().flatten() {
            for ny in [ky.checked_sub(1), Some(ky), ky.checked_add(1)].into_iter().flatten() {
                let Some(cands) = grid.get(&(nx, ny)) else { continue };
                for &j in cands {
                    let (dx, dy) = (px[j] - tx[i], py[j] - ty[i]);
                    let dz = z.map_or(0.0, |(a, b)| b[j] - a[i]);
                    let d2 = dx * dx + dy * dy + dz * dz;
                    if d2 <= max_d2 {
                        edges.push((i, j, d2.sqrt()));
                    }
                }
            }
        }
    }
    match_sparse(tx.len(), px.len(), &edges)
}

/// Positions and frames of one table, borrowed.
#[derive(Clone, Copy)]
struct Points<'a> {
    frame: &'a [u32],
    x: &'a [f64],
    y: &'a [f64],
    z: Option<&'a [f64]>,
}

impl<'a> Points<'a> {
    fn of_tracks(t: &'a Tracks) -> Self {
        Points { frame: &t.frame, x: &t.x_um, y: &t.y_um, z: t.z_um.as_deref() }
    }
    fn of_detections(d: &'a Detections) -> Self {
        Points { frame: &d.frame, x: &d.x_um, y: &d.y_um, z: d.z_um.as_deref() }
    }
    fn len(&self) -> usize {
        self.frame.len()
    }
    /// Coordinates of `rows`, as owned columns.
    fn gather(&self, rows: &[usize]) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        (
            rows.iter().map(|&r| self.x[r]).collect(),
            rows.iter().map(|&r| self.y[r]).collect(),
            self.z.map(|z| rows.iter().map(|&r| z[r]).collect()),
        )
    }
}

/// Matches `pred` to `truth` frame by frame; pairs of row indices `(truth, pred)`, sorted.
fn match_by_frame(truth: Points, pred: Points, max_dist_um: f64) -> Vec<(usize, usize)> {
    let mut frames: BTreeMap<u32, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, &f) in truth.frame.iter().enumerate() {
        frames.entry(f).or_default().0.push(i);
    }
    for (j, &f) in pred.frame.iter().enumerate() {
        frames.entry(f).or_default().1.push(j);
    }
    let frames: Vec<(Vec<usize>, Vec<usize>)> = frames.into_values().collect();
    let per_frame: Vec<Vec<(usize, usize)>> = frames
        .par_iter()
        .map(|(t_rows, p_rows)| {
            if t_rows.is_empty() || p_rows.is_empty() {
                return Vec::new();
            }
            let t = truth.gather(t_rows);
            let p = pred.gather(p_rows);
            match_points((&t.0, &t.1, t.2.as_deref()), (&p.0, &p.1, p.2.as_deref()), max_dist_um)
                .into_iter()
                .map(|(i, j)| (t_rows[i], p_rows[j]))
                .collect()
        })
        .collect();
    let mut pairs: Vec<(usize, usize)> = per_frame.into_iter().flatten().collect();
    pairs.sort_unstable();
    pairs
}

/// `num / den`; when `den` is 0: 1 if `other_den` is 0 too (both empty), else NaN.
fn ratio(num: usize, den: usize, other_den: usize) -> f64 {
    if den > 0 {
        num as f64 / den as f64
    } else if other_den == 0 {
        1.0
    } else {
        f64::NAN
    }
}

/// `2·tp / (a + b)`, 1 when both are 0.
fn f1(tp: usize, a: usize, b: usize) -> f64 {
    if a + b == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (a + b) as f64
    }
}

fn detection_score(truth: Points, pred: Points, pairs: &[(usize, usize)]) -> DetectionScore {
    let (n_truth, n_predicted, tp) = (truth.len(), pred.len(), pairs.len());
    let z = truth.z.zip(pred.z);
    let (mut sxy, mut sz) = (0.0, 0.0);
    for &(i, j) in pairs {
        let (dx, dy) = (pred.x[j] - truth.x[i], pred.y[j] - truth.y[i]);
        sxy += dx * dx + dy * dy;
        if let Some((tz, pz)) = z {
            sz += (pz[j] - tz[i]).powi(2);
        }
    }
    let rms = |s: f64| if tp > 0 { (s / tp as f64).sqrt() } else { f64::NAN };
    DetectionScore {
        n_truth,
        n_predicted,
        true_positives: tp,
        false_positives: n_predicted - tp,
        false_negatives: n_truth - tp,
        precision: ratio(tp, n_predicted, n_truth),
        recall: ratio(tp, n_truth, n_predicted),
        f1: f1(tp, n_truth, n_predicted),
        rmse_xy_um: rms(sxy),
        rmse_z_um: z.map(|_| rms(sz)),
        by_phenomenon: BTreeMap::new(),
    }
}

/// Prefixes a data error with the table it concerns.
fn in_table(what: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::InvalidData { reason } => Error::data(format!("{what}: {reason}")),
        other => other,
    }
}

/// Scores detections against ground truth, matching frame by frame.
///
/// Both tables are validated first (an [`Error::InvalidData`] names the table); `cfg` is
/// validated too ([`Error::InvalidParameter`]). Frames present in either table are matched by
/// [`match_points`] within `cfg.match_um`; `cfg.gap_frames` is not used here. Rows flagged in an
/// `artefact` column (the segmentation's) are left out: they are not reported as cells.
pub fn score_detections(
    truth: &Tracks,
    detections: &Detections,
    cfg: &EvalConfig,
) -> Result<DetectionScore> {
    cfg.validate()?;
    truth.validate().map_err(in_table("ground truth"))?;
    detections.validate().map_err(in_table("detections"))?;
    // Rows the segmentation flagged as artefacts are not reported as cells.
    let flagged = crate::segment::artefact_rows(detections);
    let cells;
    let detections = if flagged.contains(&true) {
        let rows: Vec<usize> = (0..flagged.len()).filter(|&r| !flagged[r]).collect();
        cells = detections.take_rows(&rows);
        &cells
    } else {
        detections
    };
    let (t, p) = (Points::of_tracks(truth), Points::of_detections(detections));
    let pairs = match_by_frame(t, p, cfg.match_um);
    let mut score = detection_score(t, p, &pairs);
    let mut matched = vec![false; truth.len()];
    for &(i, _) in &pairs {
        matched[i] = true;
    }
    for (name, col) in &truth.extra {
        let crate::table::Column::Float(v) = col else { continue };
        if !v.iter().all(|&x| x == 0.0 || x == 1.0) || !v.contains(&1.0) {
            continue;
        }
        let rows: Vec<usize> = (0..v.len()).filter(|&i| v[i] == 1.0).collect();
        let hit = rows.iter().filter(|&&i| matched[i]).count();
        score.by_phenomenon.insert(
            name.clone(),
            PhenomenonRecall { n: rows.len(), recall: hit as f64 / rows.len() as f64 },
        );
    }
    Ok(score)
}

/// Scores tracks against ground truth: the tracked points as detections, and their links.
///
/// Points are matched frame by frame as in [`score_detections`]; true, predicted and correct
/// links are as defined in the [module docs](self), with `cfg.gap_frames` the largest frame
/// difference of a true link. Both tables are validated first.
pub fn score_tracks(truth: &Tracks, tracks: &Tracks, cfg: &EvalConfig) -> Result<TrackingScore> {
    cfg.validate()?;
    truth.validate().map_err(in_table("ground truth"))?;
    tracks.validate().map_err(in_table("tracks"))?;
    let (t, p) = (Points::of_tracks(truth), Points::of_tracks(tracks));
    let pairs = match_by_frame(t, p, cfg.match_um);
    let detection = detection_score(t, p, &pairs);

    let mut truth_matched = vec![false; truth.len()];
    let mut pred_to_truth = vec![None; tracks.len()];
    for &(i, j) in &pairs {
        truth_matched[i] = true;
        pred_to_truth[j] = Some(i);
    }

    // The successor of each true point along its true links (each point has at most one).
    let mut true_next: Vec<Option<usize>> = vec![None; truth.len()];
    let mut true_links = 0;
    for rows in truth.rows_by_track() {
        let detected: Vec<usize> = rows.into_iter().filter(|&r| truth_matched[r]).collect();
        for w in detected.windows(2) {
            if truth.frame[w[1]] - truth.frame[w[0]] <= cfg.gap_frames {
                true_next[w[0]] = Some(w[1]);
                true_links += 1;
            }
        }
    }

    let (mut predicted_links, mut correct_links) = (0, 0);
    for rows in tracks.rows_by_track() {
        for w in rows.windows(2) {
            predicted_links += 1;
            if let (Some(a), Some(b)) = (pred_to_truth[w[0]], pred_to_truth[w[1]]) {
                if true_next[a] == Some(b) {
                    correct_links += 1;
                }
            }
        }
    }

    // CTC: reference edges = consecutive points of each true track (any frame difference).
    let mut ref_next: Vec<Option<usize>> = vec![None; truth.len()];
    let mut n_ref_edges = 0usize;
    for rows in truth.rows_by_track() {
        for w in rows.windows(2) {
            ref_next[w[0]] = Some(w[1]);
            n_ref_edges += 1;
        }
    }
    let mut found_ref_edges = 0usize;
    let mut ed = 0usize;
    for rows in tracks.rows_by_track() {
        for w in rows.windows(2) {
            if let (Some(a), Some(b)) = (pred_to_truth[w[0]], pred_to_truth[w[1]]) {
                if ref_next[a] == Some(b) {
                    found_ref_edges += 1;
                } else {
                    ed += 1;
                }
            }
        }
    }
    let ea = n_ref_edges - found_ref_edges;
    let (fn_v, fp_v) = (detection.false_negatives, detection.false_positives);
    let v_r = truth.len() as f64;
    let aogm_d = 10.0 * fn_v as f64 + fp_v as f64;
    let aogm_a = ed as f64 + 1.5 * ea as f64;
    let aogm = aogm_d + aogm_a;
    let aogm0 = 10.0 * v_r + 1.5 * n_ref_edges as f64;
    let ctc = CtcScore {
        det: clamp_measure(aogm_d, 10.0 * v_r),
        tra: clamp_measure(aogm, aogm0),
        lnk: clamp_measure(aogm_a, 1.5 * n_ref_edges as f64),
        false_negative_vertices: fn_v,
        false_positive_vertices: fp_v,
        edges_deleted: ed,
        edges_added: ea,
        edges_semantics: 0,
        aogm,
        aogm0,
    };

    Ok(TrackingScore {
        detection,
        true_links,
        predicted_links,
        correct_links,
        link_recall: ratio(correct_links, true_links, predicted_links),
        link_precision: ratio(correct_links, predicted_links, true_links),
        link_f1: f1(correct_links, true_links, predicted_links),
        ctc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TrackIds;
    use proptest::prelude::*;
    use std::path::Path;

    /// Tracks from `(id, frame, x, y, z)` rows; 3D when the first row has z. t_s = 10 s × frame.
    fn tracks(rows: &[(u64, u32, f64, f64, Option<f64>)]) -> Tracks {
        let is_3d = rows.first().is_some_and(|r| r.4.is_some());
        Tracks {
            track_id: TrackIds::Int(rows.iter().map(|r| r.0).collect()),
            frame: rows.iter().map(|r| r.1).collect(),
            t_s: rows.iter().map(|r| r.1 as f64 * 10.0).collect(),
            x_um: rows.iter().map(|r| r.2).collect(),
            y_um: rows.iter().map(|r| r.3).collect(),
            z_um: is_3d.then(|| rows.iter().map(|r| r.4.unwrap()).collect()),
            ..Default::default()
        }
    }

    fn detections(rows: &[(u32, f64, f64, Option<f64>)]) -> Detections {
        let mut d = Detections::new(rows.first().is_some_and(|r| r.3.is_some()));
        for &(f, x, y, z) in rows {
            d.push(f, x, y, z);
        }
        d
    }

    /// Two cells 3D, 4 frames, far apart (A near x = 0, B near x = 50).
    fn two_cells() -> Tracks {
        let mut rows = Vec::new();
        for f in 0..4u32 {
            rows.push((1, f, f as f64, 0.0, Some(10.0)));
            rows.push((2, f, 50.0 - f as f64, 20.0, Some(12.0)));
        }
        tracks(&rows)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn config_defaults_validation_and_serde() {
        let c = EvalConfig::default();
        assert_eq!((c.match_um, c.gap_frames), (5.0, 3));
        assert!(c.validate().is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = EvalConfig { match_um: bad, ..c.clone() }.validate().unwrap_err();
            assert!(e.to_string().contains("match_um"), "{e}");
        }
        let e = EvalConfig { gap_frames: 0, ..c.clone() }.validate().unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "gap_frames"));
        let back: EvalConfig = serde_json::from_str(r#"{"gap_frames": 1}"#).unwrap();
        assert_eq!(back, EvalConfig { match_um: 5.0, gap_frames: 1 });
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<EvalConfig>(&json).unwrap(), c);
    }

    #[test]
    fn ctc_measures_by_hand() {
        // Truth: two cells × 4 frames → |V_R| = 8, |E_R| = 6.
        let truth = two_cells();
        let s = score_tracks(&truth, &truth, &EvalConfig::default()).unwrap();
        assert_eq!((s.ctc.det, s.ctc.tra, s.ctc.lnk), (1.0, 1.0, 1.0));
        // Drop cell 1's frame-2 point and split cell 2's track between frames 1 and 2.
        let mut rows = Vec::new();
        for f in 0..4u32 {
            if f != 2 {
                rows.push((1, f, f as f64, 0.0, Some(10.0)));
            }
            rows.push((if f < 2 { 2 } else { 3 }, f, 50.0 - f as f64, 20.0, Some(12.0)));
        }
        // A false positive far away.
        rows.push((9, 0, 200.0, 200.0, Some(0.0)));
        let pred = tracks(&rows);
        let s = score_tracks(&truth, &pred, &EvalConfig::default()).unwrap();
        let c = &s.ctc;
        assert_eq!((c.false_negative_vertices, c.false_positive_vertices), (1, 1));
        // Cell 1: reference edges 1→2 and 2→3 lost (endpoint unmatched); its gap link 1→3 is
        // not a reference edge (ED). Cell 2: edge 1→2 missing.
        assert_eq!((c.edges_added, c.edges_deleted, c.edges_semantics), (3, 1, 0));
        let aogm = 10.0 + 1.0 + 1.0 + 1.5 * 3.0;
        assert!(close(c.aogm, aogm));
        assert!(close(c.aogm0, 10.0 * 8.0 + 1.5 * 6.0));
        assert!(close(c.tra, 1.0 - aogm / 89.0));
        assert!(close(c.det, 1.0 - 11.0 / 80.0));
        assert!(close(c.lnk, 1.0 - 5.5 / 9.0));
        // Empty reference: NaN, no panic.
        let empty = tracks(&[]);
        assert!(score_tracks(&empty, &pred, &EvalConfig::default()).unwrap().ctc.det.is_nan());
    }

    #[test]
    fn perfect_tracks() {
        let truth = two_cells();
        // Same tracks, ids renamed, positions off by (0.3, 0.4, 1.2): xy error 0.5, z 1.2.
        let mut pred = truth.clone();
        pred.track_id =
            TrackIds::Label(truth.track_id.codes().0.iter().map(|c| format!("t{c}")).collect());
        pred.x_um.iter_mut().for_each(|x| *x += 0.3);
        pred.y_um.iter_mut().for_each(|y| *y += 0.4);
        pred.z_um.as_mut().unwrap().iter_mut().for_each(|z| *z -= 1.2);
        let s = score_tracks(&truth, &pred, &EvalConfig::default()).unwrap();
        let d = &s.detection;
        assert_eq!((d.n_truth, d.n_predicted, d.true_positives), (8, 8, 8));
        assert_eq!((d.false_positives, d.false_negatives), (0, 0));
        assert_eq!((d.precision, d.recall, d.f1), (1.0, 1.0, 1.0));
        assert!(close(d.rmse_xy_um, 0.5), "{}", d.rmse_xy_um);
        assert!(close(d.rmse_z_um.unwrap(), 1.2));
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (6, 6, 6));
        assert_eq!((s.link_recall, s.link_precision, s.link_f1), (1.0, 1.0, 1.0));
    }

    #[test]
    fn swapped_pair_at_one_frame() {
        // Tracks A (x = 0) and B (x = 30), frames 0..5. The prediction swaps them at frame 2:
        // P1 = A0 A1 B2 A3 A4, P2 = B0 B1 A2 B3 B4. Wrong links: A1→B2, B2→A3, B1→A2, A2→B3.
        let mut truth = Vec::new();
        let mut pred = Vec::new();
        for f in 0..5u32 {
            let y = f as f64;
            truth.push((1, f, 0.0, y, None));
            truth.push((2, f, 30.0, y, None));
            let (p1x, p2x) = if f == 2 { (30.0, 0.0) } else { (0.0, 30.0) };
            pred.push((10, f, p1x, y, None));
            pred.push((20, f, p2x, y, None));
        }
        let s = score_tracks(&tracks(&truth), &tracks(&pred), &EvalConfig::default()).unwrap();
        assert_eq!(s.detection.true_positives, 10);
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (8, 8, 4));
        assert_eq!((s.link_recall, s.link_precision, s.link_f1), (0.5, 0.5, 0.5));
    }

    #[test]
    fn missed_detection_in_the_middle() {
        // One cell over frames 0..=5 moving along x; frame 2 is not detected.
        let truth: Vec<_> = (0..6u32).map(|f| (1, f, 2.0 * f as f64, 0.0, None)).collect();
        let truth = tracks(&truth);
        let bridged: Vec<_> =
            [0u32, 1, 3, 4, 5].iter().map(|&f| (7, f, 2.0 * f as f64 + 0.1, 0.0, None)).collect();
        let bridged = tracks(&bridged);

        // gap_frames = 3 (also 2): the true link 1→3 exists and the prediction has it.
        for gap in [2, 3] {
            let cfg = EvalConfig { gap_frames: gap, ..Default::default() };
            let s = score_tracks(&truth, &bridged, &cfg).unwrap();
            assert_eq!((s.detection.true_positives, s.detection.false_negatives), (5, 1));
            assert!(close(s.detection.recall, 5.0 / 6.0));
            assert_eq!((s.true_links, s.predicted_links, s.correct_links), (4, 4, 4));
        }
        // gap_frames = 1: 1→3 spans 2 frames, not a true link; the predicted one is wrong.
        let cfg = EvalConfig { gap_frames: 1, ..Default::default() };
        let s = score_tracks(&truth, &bridged, &cfg).unwrap();
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (3, 4, 3));
        assert_eq!((s.link_recall, s.link_precision), (1.0, 0.75));
        assert!(close(s.link_f1, 6.0 / 7.0));

        // The prediction split at the gap: [0, 1] and [3, 4, 5].
        let split = tracks(&[
            (1, 0, 0.1, 0.0, None),
            (1, 1, 2.1, 0.0, None),
            (2, 3, 6.1, 0.0, None),
            (2, 4, 8.1, 0.0, None),
            (2, 5, 10.1, 0.0, None),
        ]);
        let s = score_tracks(&truth, &split, &EvalConfig::default()).unwrap();
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (4, 3, 3));
        assert_eq!((s.link_recall, s.link_precision), (0.75, 1.0));
    }

    #[test]
    fn link_skipping_a_detected_point_is_wrong() {
        // All four points of the cell are detected, but the prediction links 0 → 2 and puts the
        // frame-1 point in a track of its own: 0→2 is not a true link (1 lies between).
        let truth = tracks(&(0..4u32).map(|f| (1, f, f as f64, 0.0, None)).collect::<Vec<_>>());
        let pred = tracks(&[
            (1, 0, 0.0, 0.0, None),
            (1, 2, 2.0, 0.0, None),
            (1, 3, 3.0, 0.0, None),
            (2, 1, 1.0, 0.0, None),
        ]);
        let s = score_tracks(&truth, &pred, &EvalConfig::default()).unwrap();
        assert_eq!(s.detection.true_positives, 4);
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (3, 2, 1));
    }

    #[test]
    fn false_positive_points() {
        let truth = two_cells();
        let mut pred = truth.clone();
        // A spurious track of 3 points far from both cells, and one stray point next to A in
        // frame 1 but beyond match_um (6 µm away).
        let extra = [(9, 0, 200.0, 0.0), (9, 1, 201.0, 0.0), (9, 2, 202.0, 0.0), (8, 1, 1.0, 6.0)];
        let TrackIds::Int(ids) = &mut pred.track_id else { unreachable!() };
        for (id, f, x, y) in extra {
            ids.push(id);
            pred.frame.push(f);
            pred.t_s.push(f as f64 * 10.0);
            pred.x_um.push(x);
            pred.y_um.push(y);
            pred.z_um.as_mut().unwrap().push(10.0);
        }
        let s = score_tracks(&truth, &pred, &EvalConfig::default()).unwrap();
        let d = &s.detection;
        assert_eq!((d.n_truth, d.n_predicted, d.true_positives), (8, 12, 8));
        assert_eq!((d.false_positives, d.false_negatives), (4, 0));
        assert_eq!((d.precision, d.recall), (8.0 / 12.0, 1.0));
        assert!(close(d.f1, 16.0 / 20.0));
        assert_eq!(d.rmse_xy_um, 0.0);
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (6, 8, 6));
        assert_eq!((s.link_recall, s.link_precision), (1.0, 0.75));

        // The same as detections.
        let det = detections(
            &(0..pred.len())
                .map(|i| {
                    (
                        pred.frame[i],
                        pred.x_um[i],
                        pred.y_um[i],
                        Some(pred.z_um.as_ref().unwrap()[i]),
                    )
                })
                .collect::<Vec<_>>(),
        );
        let s = score_detections(&truth, &det, &EvalConfig::default()).unwrap();
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (8, 4, 0));
        assert_eq!(s.rmse_z_um, Some(0.0));
    }

    #[test]
    fn two_dimensional_data() {
        let truth = tracks(&[(1, 0, 0.0, 0.0, None), (1, 1, 1.0, 0.0, None)]);
        let det = detections(&[(0, 3.0, 4.0, None), (1, 1.0, 6.0, None)]);
        let s = score_detections(&truth, &det, &EvalConfig::default()).unwrap();
        assert_eq!(s.true_positives, 1); // 5 µm apart (inclusive); the other is 6 µm away
        assert!(close(s.rmse_xy_um, 5.0));
        assert_eq!(s.rmse_z_um, None);
        // 3D truth against 2D detections compares in xy; z differences are ignored.
        let truth3 = tracks(&[(1, 0, 0.0, 0.0, Some(100.0)), (1, 1, 1.0, 0.0, Some(-100.0))]);
        let s = score_detections(&truth3, &det, &EvalConfig::default()).unwrap();
        assert_eq!((s.true_positives, s.rmse_z_um), (1, None));
        // Both 3D: the z offset counts.
        let det3 = detections(&[(0, 3.0, 4.0, Some(100.0)), (1, 1.0, 0.0, Some(-97.0))]);
        let s = score_detections(&truth3, &det3, &EvalConfig::default()).unwrap();
        assert_eq!(s.true_positives, 2);
        assert!(close(s.rmse_z_um.unwrap(), (9.0f64 / 2.0).sqrt()));
        assert!(close(s.rmse_xy_um, (25.0f64 / 2.0).sqrt()));
    }

    #[test]
    fn empty_inputs() {
        let cfg = EvalConfig::default();
        let empty = Tracks::default();
        let none = Detections::new(true);
        let s = score_detections(&empty, &none, &cfg).unwrap();
        assert_eq!((s.n_truth, s.n_predicted, s.true_positives), (0, 0, 0));
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        assert!(s.rmse_xy_um.is_nan());
        assert_eq!(s.rmse_z_um, None); // the default Tracks is 2D

        let truth = two_cells();
        let s = score_detections(&truth, &none, &cfg).unwrap();
        assert_eq!((s.false_negatives, s.recall, s.f1), (8, 0.0, 0.0));
        assert!(s.precision.is_nan() && s.rmse_xy_um.is_nan());
        assert!(s.rmse_z_um.unwrap().is_nan());

        let det = detections(&[(0, 1.0, 1.0, Some(1.0))]);
        let s =
            score_detections(&Tracks { z_um: Some(vec![]), ..empty.clone() }, &det, &cfg).unwrap();
        assert_eq!((s.false_positives, s.precision, s.f1), (1, 0.0, 0.0));
        assert!(s.recall.is_nan());

        let s = score_tracks(&empty, &empty, &cfg).unwrap();
        assert_eq!((s.true_links, s.predicted_links, s.correct_links), (0, 0, 0));
        assert_eq!((s.link_recall, s.link_precision, s.link_f1), (1.0, 1.0, 1.0));
        let s = score_tracks(&truth, &empty, &cfg).unwrap();
        assert_eq!((s.true_links, s.predicted_links), (0, 0)); // nothing detected, no true links
        assert_eq!(s.detection.recall, 0.0);
        let s = score_tracks(&empty, &truth, &cfg).unwrap();
        assert_eq!((s.true_links, s.predicted_links, s.link_precision), (0, 6, 0.0));
        assert!(s.link_recall.is_nan());
        // NaN becomes null in JSON.
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["link_recall"].is_null() && json["detection"]["rmse_xy_um"].is_null());
    }

    #[test]
    fn optimal_matching_beats_greedy() {
        // Frame 1: truth A at x = 0, B at x = 4.5; predictions at 3 and 8. Nearest-first pairs
        // B with 3 (1.5 µm) and matches nothing else; the optimum pairs A–3 and B–8.
        let truth = tracks(&[
            (1, 0, 0.0, 0.0, None),
            (1, 1, 0.0, 0.0, None),
            (2, 0, 4.5, 20.0, None),
            (2, 1, 4.5, 0.0, None),
        ]);
        let pred = tracks(&[
            (1, 0, 0.0, 0.0, None),
            (1, 1, 3.0, 0.0, None),
            (2, 0, 4.5, 20.0, None),
            (2, 1, 8.0, 0.0, None),
        ]);
        let s = score_tracks(&truth, &pred, &EvalConfig::default()).unwrap();
        assert_eq!(s.detection.true_positives, 4);
        assert_eq!((s.true_links, s.correct_links), (2, 2));
        // Equal cardinality: least total distance wins (A–1, B–4 = 2 µm, not A–4, B–1 = 6 µm).
        let m =
            match_points((&[0.0, 3.0], &[0.0, 0.0], None), (&[4.0, 1.0], &[0.0, 0.0], None), 5.0);
        assert_eq!(m, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn match_points_edge_cases() {
        let a = (&[0.0, 1.0][..], &[0.0, 0.0][..], Some(&[0.0, 0.0][..]));
        let b = (&[0.0, 1.0][..], &[0.0, 0.0][..], Some(&[4.0, 0.0][..]));
        // 3D: point 0 is 4 µm away in z.
        assert_eq!(match_points(a, b, 3.0), vec![(1, 1)]);
        // 2D when either lacks z.
        assert_eq!(match_points((a.0, a.1, None), b, 3.0), vec![(0, 0), (1, 1)]);
        assert_eq!(match_points(a, b, 0.0), vec![(1, 1)]);
        assert!(match_points(a, b, -1.0).is_empty());
        assert!(match_points(a, b, f64::NAN).is_empty());
        assert_eq!(match_points(a, b, f64::INFINITY).len(), 2);
        let nan = (&[f64::NAN, 1.0][..], &[0.0, 0.0][..], None);
        assert_eq!(match_points(nan, b, 3.0), vec![(1, 1)]);
        assert!(match_points((&[], &[], None), b, 3.0).is_empty());
        // Negative coordinates across cell boundaries.
        let c = (&[-0.1, -10.0][..], &[-4.9, 10.0][..], None);
        let d = (&[0.1, -14.9][..], &[0.05, 10.0][..], None);
        assert_eq!(match_points(c, d, 5.0), vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn truth_csv_with_simulator_columns() {
        let csv = "track_id,frame,t_s,x_um,y_um,z_um,diameter_um,arrested\n\
                   0,0,0,10,10,5,8,false\n0,1,20,12,10,5,8,false\n1,1,20,40,40,6,9,true\n";
        let truth = Tracks::from_reader(csv.as_bytes(), Path::new("truth.csv"), None).unwrap();
        let det = detections(&[(0, 10.5, 10.0, Some(5.0)), (1, 12.0, 10.0, Some(5.0))]);
        let s = score_detections(&truth, &det, &EvalConfig::default()).unwrap();
        assert_eq!((s.true_positives, s.false_negatives, s.false_positives), (2, 1, 0));
        assert!(close(s.rmse_xy_um, (0.25f64 / 2.0).sqrt()));
    }

    #[test]
    fn invalid_tables_are_named() {
        let mut bad = two_cells();
        bad.x_um[0] = f64::NAN;
        let e = score_detections(&bad, &Detections::new(true), &EvalConfig::default()).unwrap_err();
        assert!(e.to_string().contains("ground truth") && e.is_invalid_input(), "{e}");
        let e = score_tracks(&two_cells(), &bad, &EvalConfig::default()).unwrap_err();
        assert!(e.to_string().contains("tracks:"), "{e}");
        let cfg = EvalConfig { match_um: 0.0, ..Default::default() };
        assert!(score_tracks(&two_cells(), &two_cells(), &cfg).is_err());
    }

    #[test]
    fn thousands_of_points() {
        // 4000 cells on a jittered grid 8 µm apart, predictions displaced by < 1 µm.
        let mut rng_state = 12345u64;
        let mut rand = || {
            rng_state =
                rng_state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (rng_state >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 4000;
        let (mut tx, mut ty, mut px, mut py) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let (x, y) = ((i % 64) as f64 * 8.0 + rand(), (i / 64) as f64 * 8.0 + rand());
            tx.push(x);
            ty.push(y);
            px.push(x + rand() - 0.5);
            py.push(y + rand() - 0.5);
        }
        let m = match_points((&tx, &ty, None), (&px, &py, None), 5.0);
        assert_eq!(m.len(), n);
        assert!(m.iter().all(|&(i, j)| i == j));
    }

    fn point_set(n: usize) -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
        proptest::collection::vec((-20.0..20.0f64, -20.0..20.0f64, -5.0..5.0f64), 0..n)
    }

    proptest! {
        #[test]
        fn grid_candidates_equal_all_pairs(
            t in point_set(25), p in point_set(25), d in 0.5..8.0f64, use_z in any::<bool>()
        ) {
            let cols = |s: &[(f64, f64, f64)]| {
                (s.iter().map(|q| q.0).collect::<Vec<_>>(),
                 s.iter().map(|q| q.1).collect::<Vec<_>>(),
                 s.iter().map(|q| q.2).collect::<Vec<_>>())
            };
            let (tx, ty, tz) = cols(&t);
            let (px, py, pz) = cols(&p);
            let (tz, pz) = if use_z { (Some(&tz[..]), Some(&pz[..])) } else { (None, None) };
            let got = match_points((&tx, &ty, tz), (&px, &py, pz), d);
            let dist = |i: usize, j: usize| {
                let dz = tz.zip(pz).map_or(0.0, |(a, b)| b[j] - a[i]);
                ((px[j] - tx[i]).powi(2) + (py[j] - ty[i]).powi(2) + dz * dz).sqrt()
            };
            let mut all = Vec::new();
            for i in 0..tx.len() {
                for j in 0..px.len() {
                    if dist(i, j) <= d {
                        all.push((i, j, dist(i, j)));
                    }
                }
            }
            let want = match_sparse(tx.len(), px.len(), &all);
            prop_assert_eq!(got.len(), want.len());
            let total = |m: &[(usize, usize)]| m.iter().map(|&(i, j)| dist(i, j)).sum::<f64>();
            prop_assert!((total(&got) - total(&want)).abs() < 1e-9);
            prop_assert!(got.iter().all(|&(i, j)| dist(i, j) <= d));
        }
    }
}
