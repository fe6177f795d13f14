//! Linking detections into tracks.
//!
//! [`link`] follows the cost structure of Jaqaman et al. (Nat Methods 5:695, 2008) as in
//! TrackMate's sparse LAP tracker (see `../shared/reference/lap-tracking.md`):
//!
//! 1. **Frame to frame.** For each pair of consecutive frames, candidate pairs come from a
//!    k-d tree (kiddo) of the next frame's detections ([`candidates`]) within the gate — a
//!    maximum speed (µm/min, times the frame interval) or a distance (µm) bounding the *observed*
//!    displacement (strictly, as TrackMate). A candidate's cost is the squared distance from
//!    the source's predicted position ([`predict`], constant velocity, when prediction is on) to
//!    the target, times an optional feature penalty. Every source may instead end and every
//!    target start at the alternative cost `alt = 1.05 × max(candidate costs)`; the global
//!    optimum is found by linear assignment ([`assign::link_with_alternatives`]), not greedily.
//! 2. **Gap closing** ([`gaps`]). Segment ends are linked to segment starts up to `gap_frames`
//!    frames later (TrackMate's MAX_FRAME_GAP: 2 = one missing frame) in a second assignment,
//!    gated by the speed gate times the time difference or by a fixed distance (inclusive), with
//!    `alt = 1.05 × the 90th percentile` of the gap candidates' costs.
//!
//! The candidate search depends on positions only, so blocks of frames are searched in parallel
//! while the previous block is assigned; the assignment and the motion states go frame after
//! frame, with buffers reused across frames (no allocation per detection).
//!
//! Positions can be corrected for tissue drift first ([`drift`]); the output keeps the raw
//! positions and adds `x_um_corrected`, … columns.

pub mod assign;
pub mod calibrate;
pub mod candidates;
pub mod drift;
mod fast;
pub mod gaps;
pub mod predict;
pub mod suspect;

use std::collections::BTreeMap;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::table::{Column, Detections, TrackIds, Tracks};
use candidates::FrameIndex;
use drift::Drift;
use predict::{Kalman, PredictConfig};

/// No link.
pub(crate) const NONE: usize = usize::MAX;

/// The gate bounding how far a cell may move between two frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Gate {
    /// From the data (the default): `margin ×` the `quantile` of the step lengths of a first
    /// pass on a sample of frames (see [`calibrate`]); `fallback_um_per_min` when too few
    /// steps are seen.
    Auto {
        /// Quantile of the first pass's step lengths the gate is based on.
        #[schemars(range(min = 0.5, max = 1))]
        quantile: f64,
        /// Factor on that quantile.
        #[schemars(range(min = 1))]
        margin: f64,
        /// The gate when the data hold too few steps to derive one, µm/min.
        #[schemars(extend("exclusiveMinimum" = 0))]
        fallback_um_per_min: f64,
    },
    /// A maximum speed in µm/min, converted with the time between the frames.
    MaxSpeed {
        /// The largest speed of a cell between two frames, µm/min.
        #[schemars(extend("exclusiveMinimum" = 0))]
        um_per_min: f64,
    },
    /// A fixed maximum distance per frame-to-frame link, µm.
    MaxDistance {
        /// The largest distance between two frames, µm.
        #[schemars(extend("exclusiveMinimum" = 0))]
        um: f64,
    },
}

impl Gate {
    /// The gate radius (µm) for two points `dt_s` seconds apart.
    /// An unresolved [`Gate::Auto`] gives its fallback's radius.
    pub fn radius_um(&self, dt_s: f64) -> f64 {
        match *self {
            Gate::Auto { fallback_um_per_min, .. } => fallback_um_per_min * dt_s / 60.0,
            Gate::MaxSpeed { um_per_min } => um_per_min * dt_s / 60.0,
            Gate::MaxDistance { um } => um,
        }
    }
}

/// How links are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Global linear assignment with alternative costs (Jaqaman / TrackMate). The default.
    Lap,
    /// Greedy nearest-first (cheapest candidate pairs first); only for comparison.
    Greedy,
}

impl LinkMethod {
    /// The linker names, as the configuration (`link.method`), `--linker` and `linker=` spell
    /// them.
    pub const NAMES: [&'static str; 2] = ["lap", "greedy"];

    /// The linker called `name` (one of [`LinkMethod::NAMES`]).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "lap" => Ok(LinkMethod::Lap),
            "greedy" => Ok(LinkMethod::Greedy),
            other => Err(Error::param(
                "link.method",
                format!("`{other}`: expected one of {}", Self::NAMES.join(", ")),
            )),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            LinkMethod::Lap => "lap",
            LinkMethod::Greedy => "greedy",
        }
    }
}

/// Settings of the linker. Distances in µm, speeds in µm/min.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// Frame-to-frame gate (default `auto`: derived from the data, see `summary.json`'s
    /// `link.derived`; `max_speed` or `max_distance` fix it).
    pub gate: Gate,
    /// Largest frame difference a gap-closing link spans (2 = one missing frame); 0 turns gap
    /// closing off. Default 3.
    pub gap_frames: u32,
    /// A fixed gap-closing gate in µm (TrackMate's GAP_CLOSING_MAX_DISTANCE); by default the
    /// frame-to-frame gate grown with the gap as the data's steps grow (`auto`), or scaled by
    /// the time difference (a given gate).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub gap_max_distance_um: Option<f64>,
    /// Measure costs from a constant-velocity prediction (default on).
    pub predict: bool,
    /// Noise settings of the motion model.
    pub prediction: PredictConfig,
    /// Alternative (no-link) cost factor (TrackMate's 1.05).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub alternative_cost_factor: f64,
    /// Percentile of the gap candidates' costs the gap-closing alternative cost is based on
    /// (TrackMate's CUTOFF_PERCENTILE, 0.9).
    #[schemars(range(min = 0, max = 1))]
    pub gap_cutoff_percentile: f64,
    /// Let single unlinked detections take part in gap closing. TrackMate does not (a spot
    /// left unlinked by the frame-to-frame step is never gap-closed); default on.
    pub gap_close_singletons: bool,
    /// Global assignment or greedy.
    pub method: LinkMethod,
    /// Detect sudden tissue jumps between frames and correct the positions for linking
    /// (reported in `drift.csv`'s `jump` column and `summary.json`).
    pub detect_jumps: bool,
    /// The smallest shift between two frames that counts as a tissue jump, µm.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub jump_min_um: f64,
    /// The rules that flag tracks as most likely noise (`tracks.csv`'s `suspect` column).
    pub suspect: suspect::SuspectConfig,
    /// Feature penalties as TrackMate's: column name → weight; the cost is multiplied by
    /// `(1 + Σ w · 1.5 · |a − b| / ((a + b)/2))²` (e.g. `volume_um3`, `mean_intensity`).
    pub feature_penalties: BTreeMap<String, f64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            gate: Gate::Auto { quantile: 0.995, margin: 1.25, fallback_um_per_min: 30.0 },
            gap_frames: 3,
            gap_max_distance_um: None,
            predict: true,
            prediction: PredictConfig::default(),
            alternative_cost_factor: 1.05,
            gap_cutoff_percentile: 0.9,
            gap_close_singletons: true,
            method: LinkMethod::Lap,
            detect_jumps: true,
            jump_min_um: 3.0,
            suspect: suspect::SuspectConfig::default(),
            feature_penalties: BTreeMap::new(),
        }
    }
}

impl LinkConfig {
    /// Checks every value, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "link")?;
        for (col, w) in &self.feature_penalties {
            if !(w.is_finite() && *w >= 0.0) {
                return Err(Error::param(
                    "link.feature_penalties",
                    format!("weight of `{col}` must be ≥ 0"),
                ));
            }
        }
        Ok(())
    }
}

/// Links detections into tracks (see the module docs). With `drift`, the positions are first
/// corrected by it (position − drift of its frame); the tracks keep the raw positions in
/// `x_um, y_um, z_um` and add `x_um_corrected, y_um_corrected[, z_um_corrected]` (also when
/// tissue jumps were corrected).
pub fn link(
    detections: &Detections,
    calibration: &Calibration,
    config: &LinkConfig,
    drift: Option<&Drift>,
) -> Result<Tracks> {
    Ok(link_report(detections, calibration, config, drift)?.0)
}

/// [`link`], with what it derived from the data: the gate, the gap gates and the tissue jumps
/// ([`calibrate::LinkReport`], `summary.json`'s `link.derived`).
pub fn link_report(
    detections: &Detections,
    calibration: &Calibration,
    config: &LinkConfig,
    drift: Option<&Drift>,
) -> Result<(Tracks, calibrate::LinkReport)> {
    config.validate()?;
    detections.validate()?;
    if detections.is_empty() {
        return Ok((empty_tracks(detections, drift.is_some()), calibrate::LinkReport::default()));
    }
    let dt_s = calibration.frame_interval_s()?;
    let time = |f: u32| calibration.time_s(f as usize).unwrap_or(f64::NAN);
    let n = detections.len();
    let z = detections.z_um.as_deref();
    let mut pos: Vec<[f64; 3]> =
        (0..n).map(|i| [detections.x_um[i], detections.y_um[i], z.map_or(0.0, |z| z[i])]).collect();
    if let Some(d) = drift {
        for (i, p) in pos.iter_mut().enumerate() {
            let s = d.shift(detections.frame[i]);
            p[0] -= s[0];
            p[1] -= s[1];
            if z.is_some() {
                p[2] -= s[2];
            }
        }
    }
    let penalties: Vec<(&[f64], f64)> = config
        .feature_penalties
        .iter()
        .filter(|(_, w)| **w > 0.0)
        .map(|(name, w)| {
            detections.column(name).and_then(|c| c.as_f64()).map(|c| (c, *w)).ok_or_else(|| {
                Error::param(
                    "link.feature_penalties",
                    format!("no numeric column `{name}` in the detections"),
                )
            })
        })
        .collect::<Result<_>>()?;
    let penalty = |a: usize, b: usize| -> f64 {
        let mut p = 1.0;
        for (col, w) in &penalties {
            let (x, y) = (col[a], col[b]);
            if x.is_nan() || y.is_nan() || x == -y {
                continue;
            }
            p += w * 1.5 * (x - y).abs() / ((x + y) / 2.0).abs();
        }
        p * p
    };
    let penalty =
        (!penalties.is_empty()).then_some(&penalty as &(dyn Fn(usize, usize) -> f64 + Sync));

    // Detections flagged as artefacts (a non-empty `artefact` cell) are not linked: no track
    // holds them.
    let flagged = crate::segment::artefact_rows(detections);
    let frames: Vec<(u32, Vec<usize>)> = detections
        .rows_by_frame()
        .into_iter()
        .map(|(f, rows)| (f, rows.into_iter().filter(|&r| !flagged[r]).collect::<Vec<_>>()))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    if frames.is_empty() {
        return Ok((empty_tracks(detections, drift.is_some()), calibrate::LinkReport::default()));
    }

    // The gate: given, or from a first pass on a sample of frames. Then tissue jumps (with the
    // first pass's typical step as the scale of agreement): the positions after each are
    // corrected, and the gate is derived again without them.
    let pass = |fr: &[(u32, Vec<usize>)], cfg: &LinkConfig, pos: &[[f64; 3]]| {
        let (mut next, mut prev, mut vel) = (vec![NONE; n], vec![NONE; n], Vec::new());
        let stats =
            link_frames(fr, pos, &time, cfg, penalty, &mut next, &mut prev, &mut vel, false)?;
        Ok((next, stats))
    };
    let mut resolved =
        calibrate::resolve(&frames, &pos, dt_s, config, &|fr, cfg| pass(fr, cfg, &pos))?;
    let jumps = if config.detect_jumps {
        let typical = resolved.report.step_quantiles_um.first().copied().unwrap_or(2.0);
        let reach = 2.0 * resolved.gate.radius_um(dt_s) + 10.0;
        calibrate::detect_jumps(&frames, &pos, config.jump_min_um, reach, typical.max(2.0))?
    } else {
        Vec::new()
    };
    if !jumps.is_empty() {
        for (f, rows) in &frames {
            let s = calibrate::jump_shift(&jumps, *f);
            for &r in rows {
                for a in 0..3 {
                    pos[r][a] -= s[a];
                }
            }
        }
        resolved = calibrate::resolve(&frames, &pos, dt_s, config, &|fr, cfg| pass(fr, cfg, &pos))?;
    }
    let mut report = resolved.report.clone();
    report.jumps = jumps;
    let cfg = LinkConfig { gate: resolved.gate, predict: resolved.predict, ..config.clone() };

    let mut next = vec![NONE; n];
    let mut prev = vec![NONE; n];
    // Velocity (µm/min) estimated at each detection that ends a segment, for gap closing.
    let mut end_velocity = vec![[0.0f64; 3]; n];
    // Under a derived gate, fast established tracks also search around their prediction.
    let around = resolved.report.gate_source == "data";
    link_frames(
        &frames,
        &pos,
        &time,
        &cfg,
        penalty,
        &mut next,
        &mut prev,
        &mut end_velocity,
        around,
    )?;
    if around {
        let gate = |k: usize| cfg.gate.radius_um(time(frames[k + 1].0) - time(frames[k].0));
        let added = fast::link_fast(&frames, &pos, &gate, 4.0, 0.5, &mut next, &mut prev)?;
        report.fast_links = added;
    }
    if config.gap_frames > 0 {
        let gap_radius = |gap_s: f64| {
            let r = calibrate::gap_radius(&cfg, &cfg.gate, resolved.gap_exponent, dt_s, gap_s);
            let scale = match resolved.gap_exponent {
                Some(_) => (cfg.gate.radius_um(dt_s) / r).powi(2),
                None => 1.0,
            };
            (r, scale)
        };
        gaps::close_gaps(
            &frames,
            &pos,
            &end_velocity,
            &time,
            &cfg,
            &gap_radius,
            resolved.gap_alt,
            &|a, b| penalty.map_or(1.0, |p| p(a, b)),
            &mut next,
            &mut prev,
        )?;
    }
    let corrected = drift.is_some() || !report.jumps.is_empty();
    let mut tracks = build_tracks(detections, &pos, corrected, &frames, &prev, &time);
    suspect::flag(&mut tracks, &config.suspect);
    Ok((tracks, report))
}

/// The frame-to-frame step over `frames`: links into `next`/`prev`, and the velocity at each
/// segment end into `end_velocity` (when it has one entry per detection; else not kept).
#[allow(clippy::too_many_arguments)]
fn link_frames(
    frames: &[(u32, Vec<usize>)],
    pos: &[[f64; 3]],
    time: &(dyn Fn(u32) -> f64 + Sync),
    config: &LinkConfig,
    penalty: Option<&(dyn Fn(usize, usize) -> f64 + Sync)>,
    next: &mut [usize],
    prev: &mut [usize],
    end_velocity: &mut [[f64; 3]],
    around_prediction: bool,
) -> Result<calibrate::PassStats> {
    let mut stats = calibrate::PassStats::default();
    if frames.is_empty() {
        return Ok(stats);
    }
    let keep_velocity = end_velocity.len() == next.len();
    // Candidate pairs of frame k → k + 1 (source, target within their frames, squared
    // distance): they depend on positions only, so blocks of frames are searched in parallel
    // while the previous block is assigned (which needs the motion states, frame after frame).
    let around_prediction = around_prediction && config.predict;
    let candidates = |k: usize| -> Result<(Vec<Candidate>, Option<FrameIndex>)> {
        let mut out = Vec::new();
        if k + 1 >= frames.len() || frames[k + 1].0 != frames[k].0 + 1 {
            return Ok((out, None));
        }
        let (f, ref src_rows) = frames[k];
        let (g, ref dst_rows) = frames[k + 1];
        let r = config.gate.radius_um(time(g) - time(f));
        let tree = FrameIndex::new(dst_rows.clone(), pos)?;
        let mut hits: Vec<(u32, f64)> = Vec::new();
        for (s, &row) in src_rows.iter().enumerate() {
            hits.clear();
            tree.within(&pos[row], r * r, false, |t, d2| hits.push((t as u32, d2)));
            hits.sort_unstable_by_key(|h| h.0);
            out.extend(hits.iter().map(|&(t, d2)| Candidate { s: s as u32, t, d2 }));
        }
        Ok((out, around_prediction.then_some(tree)))
    };
    type Found = (Vec<Candidate>, Option<FrameIndex>);
    let search = |block: std::ops::Range<usize>| -> Result<Vec<Found>> {
        block.into_par_iter().map(candidates).collect()
    };

    let pcfg = &config.prediction;
    let mut states: Vec<Kalman> = frames[0].1.iter().map(|&r| Kalman::new(pos[r], pcfg)).collect();
    let mut new_states: Vec<Kalman> = Vec::new();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    let mut links: Vec<(usize, usize)> = Vec::new();
    let mut ws = assign::Workspace::default();
    // Assigns frame k's detections to frame k + 1's, given the candidate pairs.
    let mut assign = |k: usize, (found, tree): &Found| {
        let (f, ref src_rows) = frames[k];
        let is_last = k + 1 == frames.len();
        if is_last || frames[k + 1].0 != f + 1 {
            if keep_velocity {
                for (s, &r) in src_rows.iter().enumerate() {
                    end_velocity[r] = states[s].velocity();
                }
            }
            if !is_last {
                states.clear();
                states.extend(frames[k + 1].1.iter().map(|&r| Kalman::new(pos[r], pcfg)));
            }
            return;
        }
        let (g, ref dst_rows) = frames[k + 1];
        let dt_min = (time(g) - time(f)) / 60.0;
        edges.clear();
        let mut pred = [0.0; 3];
        let mut pred_of = usize::MAX;
        for c in found {
            let (s, t) = (c.s as usize, c.t as usize);
            let mut cost = if config.predict {
                if pred_of != s {
                    pred = states[s].predict_position(dt_min);
                    pred_of = s;
                }
                let q = pos[dst_rows[t]];
                (q[0] - pred[0]).powi(2) + (q[1] - pred[1]).powi(2) + (q[2] - pred[2]).powi(2)
            } else {
                c.d2
            };
            if let Some(p) = penalty {
                cost *= p(src_rows[s], dst_rows[t]);
            }
            edges.push((s, t, cost.max(f64::MIN_POSITIVE)));
        }
        // An established track moving fast: also the candidates within the gate of its
        // predicted position (a persistent cell faster than the gate stays linked).
        if let Some(tree) = tree {
            let before = edges.len();
            let r = config.gate.radius_um(time(g) - time(f));
            for (s, &row) in src_rows.iter().enumerate() {
                if prev[row] == NONE {
                    continue;
                }
                let p = states[s].predict_position(dt_min);
                let q0 = pos[row];
                let ahead = (0..3).map(|a| (p[a] - q0[a]).powi(2)).sum::<f64>();
                if ahead < 0.25 * r * r {
                    continue;
                }
                let lo = found.partition_point(|c| (c.s as usize) < s);
                let hi = found.partition_point(|c| (c.s as usize) <= s);
                let have = &found[lo..hi];
                tree.within(&p, r * r, false, |t, d2| {
                    if have.iter().any(|c| c.t as usize == t) {
                        return;
                    }
                    let cost = d2 * penalty.map_or(1.0, |pf| pf(row, dst_rows[t]));
                    edges.push((s, t, cost.max(f64::MIN_POSITIVE)));
                });
            }
            if edges.len() > before {
                // The assignment reads the candidates in (source, target) order.
                edges.sort_unstable_by_key(|e| (e.0, e.1));
            }
        }
        choose_in(&mut ws, config, src_rows.len(), dst_rows.len(), &mut edges, None, &mut links);
        new_states.clear();
        new_states.extend(dst_rows.iter().map(|&r| Kalman::new(pos[r], pcfg)));
        for &(s, t) in &links {
            let (a, b) = (src_rows[s], dst_rows[t]);
            next[a] = b;
            prev[b] = a;
            if prev[a] != NONE {
                // How well the motion model predicted an established track's step.
                let (p, q) = (states[s].predict_position(dt_min), pos[b]);
                stats.n += 1;
                stats.pred_sq += (0..3).map(|i| (q[i] - p[i]).powi(2)).sum::<f64>();
                stats.raw_sq += (0..3).map(|i| (q[i] - pos[a][i]).powi(2)).sum::<f64>();
            }
            let mut st = states[s];
            st.update(pos[b], dt_min, pcfg);
            new_states[t] = st;
        }
        if keep_velocity {
            for (s, &row) in src_rows.iter().enumerate() {
                if next[row] == NONE {
                    end_velocity[row] = states[s].velocity();
                }
            }
        }
        std::mem::swap(&mut states, &mut new_states);
    };
    const BLOCK: usize = 32;
    let block_of = |b: usize| b * BLOCK..((b + 1) * BLOCK).min(frames.len());
    let n_blocks = frames.len().div_ceil(BLOCK);
    let mut found = search(block_of(0))?;
    for b in 0..n_blocks {
        let this = block_of(b);
        let (ahead, ()) = rayon::join(
            || if b + 1 < n_blocks { search(block_of(b + 1)) } else { Ok(Vec::new()) },
            || {
                for (k, c) in this.clone().zip(&found) {
                    assign(k, c);
                }
            },
        );
        found = ahead?;
    }
    Ok(stats)
}

/// A candidate link of the frame-to-frame step: source and target (indices within their
/// frames) and their squared distance, µm².
#[derive(Debug, Clone, Copy)]
struct Candidate {
    s: u32,
    t: u32,
    d2: f64,
}

/// Chooses links among `edges` (source, target, cost) by the configured method; `alt` given
/// or 1.05 × the maximum cost.
pub(crate) fn choose(
    config: &LinkConfig,
    n_src: usize,
    n_dst: usize,
    edges: &mut [(usize, usize, f64)],
    alt: Option<f64>,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    choose_in(&mut assign::Workspace::default(), config, n_src, n_dst, edges, alt, &mut out);
    out
}

/// [`choose`] with reused buffers: the links replace the contents of `out`.
pub(crate) fn choose_in(
    ws: &mut assign::Workspace,
    config: &LinkConfig,
    n_src: usize,
    n_dst: usize,
    edges: &mut [(usize, usize, f64)],
    alt: Option<f64>,
    out: &mut Vec<(usize, usize)>,
) {
    out.clear();
    if edges.is_empty() {
        return;
    }
    match config.method {
        LinkMethod::Lap => {
            let alt = alt.unwrap_or_else(|| {
                config.alternative_cost_factor * edges.iter().map(|e| e.2).fold(0.0, f64::max)
            });
            assign::link_with_alternatives_in(ws, n_src, n_dst, edges, alt, out)
        }
        LinkMethod::Greedy => {
            edges.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
            let mut used_s = vec![false; n_src];
            let mut used_t = vec![false; n_dst];
            for &(s, t, _) in edges.iter() {
                if !used_s[s] && !used_t[t] {
                    used_s[s] = true;
                    used_t[t] = true;
                    out.push((s, t));
                }
            }
            out.sort_unstable();
        }
    }
}

fn empty_tracks(d: &Detections, corrected: bool) -> Tracks {
    let mut t = Tracks {
        track_id: TrackIds::Int(Vec::new()),
        z_um: d.z_um.as_ref().map(|_| Vec::new()),
        detection: Some(Vec::new()),
        extra: d.extra.iter().map(|(n, c)| (n.clone(), empty_like(c))).collect(),
        ..Default::default()
    };
    if corrected {
        add_corrected(&mut t, &[], d.is_3d());
    }
    t
}

fn empty_like(c: &Column) -> Column {
    match c {
        Column::Float(_) => Column::Float(Vec::new()),
        Column::Text(_) => Column::Text(Vec::new()),
    }
}

fn add_corrected(t: &mut Tracks, pos: &[[f64; 3]], is_3d: bool) {
    let axes: &[(&str, usize)] = if is_3d {
        &[("x_um_corrected", 0), ("y_um_corrected", 1), ("z_um_corrected", 2)]
    } else {
        &[("x_um_corrected", 0), ("y_um_corrected", 1)]
    };
    for &(name, a) in axes {
        t.extra.push((name.to_string(), Column::Float(pos.iter().map(|p| p[a]).collect())));
    }
}

/// Assembles the chains given by `next`/`prev` into a Tracks table: track ids 0, 1, … in
/// order of each track's first frame (then row); rows in frame order (then detection row),
/// as trackpy writes them — reading the detections sequentially, which is what keeps this
/// fast for millions of rows.
fn build_tracks(
    d: &Detections,
    pos: &[[f64; 3]],
    corrected: bool,
    frames: &[(u32, Vec<usize>)],
    prev: &[usize],
    time: &dyn Fn(u32) -> f64,
) -> Tracks {
    let n = d.len();
    let mut order = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut id_of = vec![0u64; n];
    let mut next_id = 0u64;
    for (_, rows) in frames {
        for &r in rows {
            let id = if prev[r] == NONE {
                next_id += 1;
                next_id - 1
            } else {
                id_of[prev[r]]
            };
            id_of[r] = id;
            order.push(r);
            ids.push(id);
        }
    }
    let mut t = Tracks {
        track_id: TrackIds::Int(ids),
        frame: order.iter().map(|&r| d.frame[r]).collect(),
        t_s: order.iter().map(|&r| time(d.frame[r])).collect(),
        x_um: order.iter().map(|&r| d.x_um[r]).collect(),
        y_um: order.iter().map(|&r| d.y_um[r]).collect(),
        z_um: d.z_um.as_ref().map(|z| order.iter().map(|&r| z[r]).collect()),
        detection: Some(order.iter().map(|&r| r as u64).collect()),
        extra: Vec::new(),
    };
    let sub = d.take_rows(&order);
    t.extra = sub.extra;
    if corrected {
        let p: Vec<[f64; 3]> = order.iter().map(|&r| pos[r]).collect();
        add_corrected(&mut t, &p, d.is_3d());
    }
    t
}
