//! Settings the data calibrate (summary.json's `link.derived`):
//!
//! - **The gate** ([`Gate::Auto`]): a first frame-to-frame pass on a sample of consecutive
//!   frames (the middle of the recording, ≥ 20,000 detections or all of them) with a generous
//!   gate — the larger of the median nearest-neighbour distance within a frame and the fallback
//!   gate — gives the distribution of accepted step lengths; the gate is `margin ×` its
//!   `quantile`. A wider first gate would let wrong links (to a neighbour, when a cell was
//!   missed) into the tail; the neighbour distance bounds where such links begin. With fewer
//!   than [`MIN_LINKS`] first-pass links the fallback gate is used, and the report says so.
//! - **Gap gates.** A gap of `k` frames gets `gate × k^α`, α from the same first pass: the
//!   ratio of two-frame to one-frame displacements along its chains (α = ½ for a random walk,
//!   1 for straight motion), clamped to [½, 1], at most [`MAX_GAP_GROWTH`] × gate. Gap costs
//!   are divided by `k^2α` and the gap alternative cost is that of a typical step
//!   ([`GAP_ALT_FACTOR`]).
//! - **The motion model.** The first pass measures how well the constant-velocity prediction
//!   foresees the steps of established tracks; where it does not beat "no motion" (squared
//!   residuals ≥ [`PREDICTION_LIMIT`] × squared steps, as for cells that turn often) the final
//!   pass measures costs from the observed positions.
//! - **Tissue jumps** (`detect_jumps`): a frame pair whose displacement votes (each
//!   detection to its nearest detections of the next frame) agree on one shift ≥
//!   `jump_min_um` away from the usual shift of the neighbouring frame pairs — supported by at
//!   least a third of the detections and by twice as many as that usual shift — is a jump: the
//!   positions after it are corrected for linking. Directed migration shifts every frame pair
//!   alike and is left alone.
//!
//! An explicit gate is used as given; the first pass then only checks it, and warns when the
//! gate cuts the step distribution the data show.

use serde::{Deserialize, Serialize};

use super::candidates::FrameIndex;
use super::{Gate, LinkConfig, NONE};
use crate::error::Result;

/// Fewer first-pass links than this: the fallback gate.
pub const MIN_LINKS: usize = 50;
/// The first pass reads consecutive frames until it holds this many detections.
const SAMPLE_DETECTIONS: usize = 20_000;
/// The gap-closing alternative cost under a derived gate: `(this × the 90th percentile of
/// the first-pass steps)²` in the gap costs' scale (their growth with the gap undone). True
/// gaps are rare (a missed detection); a track end next to a track start is more often a cell
/// leaving and another entering, so a gap link needs a step typical of the data, not merely
/// one inside the gate (TrackMate's 90th percentile of the candidates' costs).
pub const GAP_ALT_FACTOR: f64 = 1.25;
/// A gap gate grows to at most this many frame gates: a longer reach links cells leaving the
/// field to others entering it more often than it closes a true gap.
pub const MAX_GAP_GROWTH: f64 = 2.0;
/// The motion model is kept when its squared residuals are below this fraction of the
/// squared steps.
pub const PREDICTION_LIMIT: f64 = 0.9;
/// Frame pairs with fewer detections on either side are not tested for a jump.
const JUMP_MIN_CELLS: usize = 8;

/// What the linker derived from the data: `summary.json`'s `link.derived`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkReport {
    /// Where the gate came from: `data` (derived), `given` (the configuration's) or
    /// `fallback` (too few first-pass links to derive one).
    pub gate_source: String,
    /// The frame-to-frame gate at the recording's frame interval, µm.
    pub gate_um: f64,
    /// The same gate as a speed, µm/min (what scales it for other time steps).
    pub gate_um_per_min: f64,
    /// Gap-closing gates: `[frames apart, µm]` for 2 … `gap_frames`.
    pub gap_gates_um: Vec<[f64; 2]>,
    /// The exponent α of the gap gates' growth (`gate × k^α`); absent when they grow with
    /// time as the given gate says.
    pub gap_exponent: Option<f64>,
    /// First-pass links measured.
    pub first_pass_links: usize,
    /// Their step lengths' median, 90th, 99th and 99.5th percentiles, µm.
    pub step_quantiles_um: Vec<f64>,
    /// The median nearest-neighbour distance within a frame, µm (the first pass's gate, with
    /// the fallback gate as its floor).
    pub neighbour_distance_um: Option<f64>,
    /// Mean squared prediction residual / mean squared step of the first pass's established
    /// tracks (below 1: the constant-velocity model predicts better than no motion).
    pub prediction_residual_ratio: Option<f64>,
    /// Whether the final pass measured costs from the motion model's prediction (off when the
    /// data's ratio is ≥ 0.9 under a derived gate).
    pub prediction: bool,
    /// Links added between detections faster than the gate that move alike over three or
    /// more frames (under a derived gate).
    pub fast_links: usize,
    /// Tissue jumps found, in frame order.
    pub jumps: Vec<Jump>,
    /// What a user should know (a gate that cuts the steps, a fallback).
    pub warnings: Vec<String>,
}

/// A sudden shift of the whole field between `frame − 1` and `frame`, µm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Jump {
    /// The frame after the jump.
    pub frame: u32,
    /// The shift, µm.
    pub dx_um: f64,
    /// The shift, µm.
    pub dy_um: f64,
    /// The shift, µm (0 in 2D).
    pub dz_um: f64,
}

/// How well the motion model predicted the steps of a pass's established tracks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PassStats {
    /// Links whose source had a link before it.
    pub n: usize,
    /// Sum of their squared prediction residuals, µm².
    pub pred_sq: f64,
    /// Sum of their squared steps, µm².
    pub raw_sq: f64,
}

/// A frame-to-frame pass over some frames with a configuration: `next` of every row, and how
/// well the motion model predicted.
pub(crate) type FirstPass<'a> =
    dyn Fn(&[(u32, Vec<usize>)], &LinkConfig) -> Result<(Vec<usize>, PassStats)> + 'a;

/// One displacement vote: the source (index in its frame) and the displacement, µm.
type Vote = (usize, [f64; 3]);

/// The gate resolved for the final pass and what the report says about it.
pub(crate) struct Resolved {
    /// The frame-to-frame gate (a speed or a distance).
    pub gate: Gate,
    /// `Some(α)`: the gap gate for `Δt` is `gate(dt) × (Δt / dt)^α`.
    pub gap_exponent: Option<f64>,
    /// The gap-closing alternative cost (scaled costs, µm²), when derived.
    pub gap_alt: Option<f64>,
    /// Whether the final pass predicts.
    pub predict: bool,
    pub report: LinkReport,
}

/// `q`-quantile of `v` (R's type 7, as the metrics' distributions; reordered); NaN when empty.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    crate::metrics::population::quantiles(v, &[q.clamp(0.0, 1.0)])[0]
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The sample the first pass reads: consecutive frames around the middle.
fn sample(frames: &[(u32, Vec<usize>)]) -> std::ops::Range<usize> {
    let total: usize = frames.iter().map(|f| f.1.len()).sum();
    if total <= SAMPLE_DETECTIONS {
        return 0..frames.len();
    }
    let (mut a, mut b) = (frames.len() / 2, frames.len() / 2);
    let mut held = 0;
    while held < SAMPLE_DETECTIONS && (a > 0 || b < frames.len()) {
        if b < frames.len() {
            held += frames[b].1.len();
            b += 1;
        }
        if held < SAMPLE_DETECTIONS && a > 0 {
            a -= 1;
            held += frames[a].1.len();
        }
    }
    a..b
}

/// Median distance from a detection to its nearest neighbour in the same frame, µm.
fn neighbour_distance(frames: &[(u32, Vec<usize>)], pos: &[[f64; 3]]) -> Result<Option<f64>> {
    let mut d = Vec::new();
    for (_, rows) in frames {
        if rows.len() < 2 {
            continue;
        }
        let idx = FrameIndex::new(rows.clone(), pos)?;
        for &r in rows {
            idx.nearest(&pos[r], 2, |_, d2| {
                if d2 > 0.0 {
                    d.push(d2.sqrt());
                }
            });
        }
    }
    Ok((!d.is_empty()).then(|| quantile(&mut d, 0.5)))
}

/// Resolves the gate of `config` on the data (see the module docs). `link_frames` runs a
/// frame-to-frame pass over some frames with a given configuration and returns `next`.
pub(crate) fn resolve(
    frames: &[(u32, Vec<usize>)],
    pos: &[[f64; 3]],
    dt_s: f64,
    config: &LinkConfig,
    link_frames: &FirstPass<'_>,
) -> Result<Resolved> {
    let given = !matches!(config.gate, Gate::Auto { .. });
    let (quantile_q, margin, fallback) = match config.gate {
        Gate::Auto { quantile, margin, fallback_um_per_min } => {
            (quantile, margin, fallback_um_per_min)
        }
        _ => (0.995, 1.25, 30.0),
    };
    let fallback_um = fallback * dt_s / 60.0;
    let block = &frames[sample(frames)];
    let nn = neighbour_distance(block, pos)?;
    let first_gate = if given {
        nn.unwrap_or(0.0).max(1.5 * config.gate.radius_um(dt_s))
    } else {
        nn.unwrap_or(0.0).max(fallback_um)
    };
    let first =
        LinkConfig { gate: Gate::MaxDistance { um: first_gate }, gap_frames: 0, ..config.clone() };
    let (next, stats) = link_frames(block, &first)?;
    // One-frame steps, and the chains a → b → c for the gap exponent.
    let (mut steps, mut one, mut two) = (Vec::new(), Vec::new(), Vec::new());
    for (_, rows) in block {
        for &a in rows {
            let b = next[a];
            if b == NONE {
                continue;
            }
            steps.push(dist(pos[a], pos[b]));
            if next[b] != NONE {
                one.push(dist(pos[a], pos[b]).max(dist(pos[b], pos[next[b]])));
                two.push(dist(pos[a], pos[next[b]]));
            }
        }
    }
    let n_links = steps.len();
    let q: Vec<f64> =
        [0.5, 0.9, 0.99, quantile_q].iter().map(|&p| quantile(&mut steps, p)).collect();
    let derived_um = margin * q[3];
    let exponent = (two.len() >= MIN_LINKS).then(|| {
        let r = quantile(&mut two, 0.9) / quantile(&mut one, 0.9);
        if r.is_finite() && r > 0.0 {
            r.log2().clamp(0.5, 1.0)
        } else {
            1.0
        }
    });
    let mut report = LinkReport {
        first_pass_links: n_links,
        step_quantiles_um: if n_links > 0 { q.clone() } else { Vec::new() },
        neighbour_distance_um: nn,
        ..Default::default()
    };
    let (gate, gap_exponent) = if given {
        report.gate_source = "given".into();
        let g = config.gate.radius_um(dt_s);
        if n_links >= MIN_LINKS && q[3] > g {
            report.warnings.push(format!(
                "the gate ({g:.1} µm) cuts the steps the data show: their {:.1} % quantile is \
                 {:.1} µm over {n_links} first-pass links; without a gate the data would set \
                 {derived_um:.1} µm",
                100.0 * quantile_q,
                q[3]
            ));
        }
        (config.gate, None)
    } else if n_links < MIN_LINKS {
        report.gate_source = "fallback".into();
        report.warnings.push(format!(
            "too few first-pass links ({n_links} < {MIN_LINKS}) to derive the gate: the \
             fallback of {fallback} µm/min is used"
        ));
        (Gate::MaxSpeed { um_per_min: fallback }, None)
    } else {
        report.gate_source = "data".into();
        (Gate::MaxSpeed { um_per_min: derived_um * 60.0 / dt_s }, Some(exponent.unwrap_or(1.0)))
    };
    report.gate_um = gate.radius_um(dt_s);
    report.gate_um_per_min = report.gate_um * 60.0 / dt_s;
    report.gap_exponent = gap_exponent;
    report.gap_gates_um = (2..=config.gap_frames)
        .map(|k| {
            let r = gap_radius(config, &gate, gap_exponent, dt_s, k as f64 * dt_s);
            [k as f64, r]
        })
        .collect();
    let gap_alt =
        gap_exponent.map(|_| config.alternative_cost_factor * (GAP_ALT_FACTOR * q[1]).powi(2));
    // The motion model, kept only where it predicts the steps better than no motion.
    let ratio = (stats.n >= MIN_LINKS && stats.raw_sq > 0.0).then(|| stats.pred_sq / stats.raw_sq);
    report.prediction_residual_ratio = ratio;
    let predict = config.predict && (given || ratio.is_none_or(|r| r < PREDICTION_LIMIT));
    report.prediction = predict;
    Ok(Resolved { gate, gap_exponent, gap_alt, predict, report })
}

/// The gap-closing gate for two points `gap_s` seconds apart (frames `dt_s` apart).
pub(crate) fn gap_radius(
    config: &LinkConfig,
    gate: &Gate,
    exponent: Option<f64>,
    dt_s: f64,
    gap_s: f64,
) -> f64 {
    if let Some(um) = config.gap_max_distance_um {
        return um;
    }
    match exponent {
        Some(a) => gate.radius_um(dt_s) * (gap_s / dt_s).max(1.0).powf(a).min(MAX_GAP_GROWTH),
        None => gate.radius_um(gap_s),
    }
}

/// The displacement votes of one frame pair: each source to its nearest targets.
fn votes(src: &[usize], dst: &FrameIndex, pos: &[[f64; 3]], max_um: f64) -> Vec<Vote> {
    let mut out = Vec::with_capacity(src.len() * 3);
    for (s, &r) in src.iter().enumerate() {
        let p = pos[r];
        dst.nearest(&p, 3, |k, d2| {
            if d2 <= max_um * max_um {
                let q = pos[dst.rows[k]];
                out.push((s, [q[0] - p[0], q[1] - p[1], q[2] - p[2]]));
            }
        });
    }
    out
}

/// The shift most votes agree on: mean shift with a flat kernel of radius `r`, started from
/// the densest of a sample of the votes (cells that move by themselves scatter their votes on
/// a shell around the common shift; the kernel finds the shell's centre).
fn mode(votes: &[Vote], r: f64) -> Option<[f64; 3]> {
    if votes.is_empty() {
        return None;
    }
    let within = |c: [f64; 3]| votes.iter().filter(|v| dist(v.1, c) <= r).count();
    let step = votes.len().div_ceil(16);
    let mut c = votes.iter().step_by(step).map(|v| v.1).max_by_key(|&v| within(v))?;
    for _ in 0..8 {
        let near: Vec<[f64; 3]> = votes.iter().map(|v| v.1).filter(|v| dist(*v, c) <= r).collect();
        let n = near.len().max(1) as f64;
        let m: [f64; 3] = std::array::from_fn(|a| near.iter().map(|v| v[a]).sum::<f64>() / n);
        let moved = dist(m, c);
        c = m;
        if moved < 0.05 {
            break;
        }
    }
    Some(c)
}

/// The fraction of sources with a vote within `r` µm of `shift`.
fn support(votes: &[Vote], n_src: usize, shift: [f64; 3], r: f64) -> f64 {
    let mut seen = vec![false; n_src];
    for (s, v) in votes {
        if dist(*v, shift) <= r {
            seen[*s] = true;
        }
    }
    seen.iter().filter(|&&b| b).count() as f64 / n_src.max(1) as f64
}

/// Tissue jumps between consecutive frames (see the module docs): `min_um` is the smallest
/// jump, `max_um` the longest vote considered, `r` the kernel radius (the typical step).
pub(crate) fn detect_jumps(
    frames: &[(u32, Vec<usize>)],
    pos: &[[f64; 3]],
    min_um: f64,
    max_um: f64,
    r: f64,
) -> Result<Vec<Jump>> {
    use rayon::prelude::*;
    // Per frame pair k → k + 1: the mode and the votes.
    let pairs: Vec<Option<([f64; 3], Vec<Vote>)>> = (0..frames.len().saturating_sub(1))
        .into_par_iter()
        .map(|k| {
            let ((f, a), (g, b)) = (&frames[k], &frames[k + 1]);
            if *g != f + 1 || a.len() < JUMP_MIN_CELLS || b.len() < JUMP_MIN_CELLS {
                return Ok(None);
            }
            let idx = FrameIndex::new(b.clone(), pos)?;
            let v = votes(a, &idx, pos, max_um);
            Ok(mode(&v, r).map(|m| (m, v)))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for k in 0..pairs.len() {
        let Some((m, v)) = &pairs[k] else { continue };
        // The usual shift: the median of the neighbouring pairs' modes (not this one).
        let mut around: Vec<[f64; 3]> = (k.saturating_sub(3)..(k + 4).min(pairs.len()))
            .filter(|&j| j != k)
            .filter_map(|j| pairs[j].as_ref().map(|p| p.0))
            .collect();
        let usual: [f64; 3] = if around.is_empty() {
            [0.0; 3]
        } else {
            std::array::from_fn(|a| {
                let mut c: Vec<f64> = around.iter_mut().map(|p| p[a]).collect();
                quantile(&mut c, 0.5)
            })
        };
        let shift = [m[0] - usual[0], m[1] - usual[1], m[2] - usual[2]];
        if dist(shift, [0.0; 3]) < min_um {
            continue;
        }
        let n_src = frames[k].1.len();
        let (at_mode, at_usual) = (support(v, n_src, *m, r), support(v, n_src, usual, r));
        if at_mode >= 0.25 && at_mode >= 2.0 * at_usual {
            out.push(Jump {
                frame: frames[k + 1].0,
                dx_um: shift[0],
                dy_um: shift[1],
                dz_um: shift[2],
            });
        }
    }
    Ok(out)
}

/// The cumulative jump shift of `frame` (the sum of the jumps up to it).
pub fn jump_shift(jumps: &[Jump], frame: u32) -> [f64; 3] {
    let mut s = [0.0; 3];
    for j in jumps.iter().take_while(|j| j.frame <= frame) {
        s[0] += j.dx_um;
        s[1] += j.dy_um;
        s[2] += j.dz_um;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.5), 2.5);
        assert_eq!(quantile(&mut v, 1.0), 4.0);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
        assert!(quantile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn sample_is_the_middle_of_long_recordings() {
        let frames: Vec<(u32, Vec<usize>)> = (0..100).map(|f| (f, vec![0; 1000])).collect();
        let s = sample(&frames);
        assert!(s.len() >= 20 && s.len() <= 21 && s.start >= 39 && s.end <= 61, "{s:?}");
        assert_eq!(sample(&frames[..10]), 0..10);
    }
}
