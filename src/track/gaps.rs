//! Gap closing: linking segment ends to segment starts up to `gap_frames` frames later, in one
//! global assignment (TrackMate's second LAP step, gap-closing part).

use std::collections::HashMap;

use super::candidates::FrameIndex;
use super::{choose, LinkConfig, NONE};
use crate::error::Result;

/// TrackMate's (imglib2's) percentile: sort ascending, index `round_half_up((n − 1)·p)`.
pub fn trackmate_percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let pos = ((n - 1) as f64 * p + 0.5).floor().clamp(0.0, (n - 1) as f64) as usize;
    Some(values[pos])
}

/// Adds gap-closing links to `next`/`prev` (see the module docs of [`super`]); `gap_radius`
/// gives the gate for two points that many seconds apart and the factor on their costs (the
/// gate's growth undone, so that the alternative cost compares gaps of every length alike).
#[allow(clippy::too_many_arguments)]
pub(crate) fn close_gaps(
    frames: &[(u32, Vec<usize>)],
    pos: &[[f64; 3]],
    end_velocity: &[[f64; 3]],
    time: &dyn Fn(u32) -> f64,
    config: &LinkConfig,
    gap_radius: &dyn Fn(f64) -> (f64, f64),
    gap_alt: Option<f64>,
    penalty: &(dyn Fn(usize, usize) -> f64 + Sync),
    next: &mut [usize],
    prev: &mut [usize],
) -> Result<()> {
    let singleton = |r: usize| prev[r] == NONE && next[r] == NONE;
    let keep = |r: usize| config.gap_close_singletons || !singleton(r);
    // Starts of each frame, indexed; ends in frame order.
    let mut start_index: HashMap<u32, FrameIndex> = HashMap::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut start_pos: Vec<usize> = vec![NONE; pos.len()];
    for (f, rows) in frames {
        let s: Vec<usize> = rows.iter().copied().filter(|&r| prev[r] == NONE && keep(r)).collect();
        for &r in &s {
            start_pos[r] = starts.len();
            starts.push(r);
        }
        // Frame 0 starts no gap (nothing ends before it).
        if !s.is_empty() && *f > 0 {
            start_index.insert(*f, FrameIndex::new(s, pos)?);
        }
    }
    let ends: Vec<(u32, usize)> = frames
        .iter()
        .flat_map(|(f, rows)| {
            rows.iter().filter(|&&r| next[r] == NONE && keep(r)).map(move |&r| (*f, r))
        })
        .collect();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    for (e, &(fe, row)) in ends.iter().enumerate() {
        let p = pos[row];
        for df in 1..=config.gap_frames {
            let fs = fe + df;
            let Some(idx) = start_index.get(&fs) else { continue };
            let dt_s = time(fs) - time(fe);
            let (r, scale) = gap_radius(dt_s);
            let pred = if config.predict {
                let v = end_velocity[row];
                let dt_min = dt_s / 60.0;
                [p[0] + v[0] * dt_min, p[1] + v[1] * dt_min, p[2] + v[2] * dt_min]
            } else {
                p
            };
            idx.within(&p, r * r, true, |k, d2| {
                let srow = idx.rows[k];
                let q = pos[srow];
                let mut cost = if config.predict {
                    (q[0] - pred[0]).powi(2) + (q[1] - pred[1]).powi(2) + (q[2] - pred[2]).powi(2)
                } else {
                    d2
                };
                cost *= scale * penalty(row, srow);
                edges.push((e, start_pos[srow], cost.max(f64::MIN_POSITIVE)));
            });
        }
    }
    if edges.is_empty() {
        return Ok(());
    }
    // The tree visits candidates in no particular order: fix one, so ties resolve the same way.
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let mut costs: Vec<f64> = edges.iter().map(|e| e.2).collect();
    let alt = gap_alt.or_else(|| {
        trackmate_percentile(&mut costs, config.gap_cutoff_percentile)
            .map(|c| c * config.alternative_cost_factor)
    });
    for (e, s) in choose(config, ends.len(), starts.len(), &mut edges, alt) {
        let (a, b) = (ends[e].1, starts[s]);
        next[a] = b;
        prev[b] = a;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_rounds_half_up_like_imglib2() {
        // n = 6, p = 0.9 → (n−1)p = 4.5 → index 5.
        let mut v = vec![6.0, 1.0, 5.0, 2.0, 4.0, 3.0];
        assert_eq!(trackmate_percentile(&mut v, 0.9), Some(6.0));
        assert_eq!(trackmate_percentile(&mut [9.0], 0.9), Some(9.0));
        assert_eq!(trackmate_percentile(&mut [], 0.9), None);
    }
}
