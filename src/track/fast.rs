//! Cells faster than the gate: under a derived gate, detections the frame-to-frame step left
//! unlinked on both sides are chained when three in a row move alike — `b − a` and `c − b`
//! within `tol` of each other, each step shorter than `reach` — and the chain is extended while
//! the next detection lies within `tol` of the constant-velocity prediction. A persistent fast
//! cell (more than a gate per frame, so never linked by the gate) is found this way; a random
//! triple of stray detections (a cell leaving, another entering, a false detection) almost
//! never lines up so.

use super::candidates::FrameIndex;
use super::NONE;
use crate::error::Result;

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Links chains of unlinked detections that move alike (see the module docs) into
/// `next`/`prev`; `gate(k)` is the frame gate between frames `k` and `k + 1` (indices into
/// `frames`), `reach` and `tol` multiples of it. Returns the links added.
pub(crate) fn link_fast(
    frames: &[(u32, Vec<usize>)],
    pos: &[[f64; 3]],
    gate: &dyn Fn(usize) -> f64,
    reach: f64,
    tol: f64,
    next: &mut [usize],
    prev: &mut [usize],
) -> Result<usize> {
    let lone = |r: usize, next: &[usize], prev: &[usize]| next[r] == NONE && prev[r] == NONE;
    // The unlinked detections of each frame, indexed.
    let index: Vec<Option<FrameIndex>> = frames
        .iter()
        .map(|(_, rows)| {
            let l: Vec<usize> = rows.iter().copied().filter(|&r| lone(r, next, prev)).collect();
            (!l.is_empty()).then(|| FrameIndex::new(l, pos)).transpose()
        })
        .collect::<Result<_>>()?;
    let consecutive = |k: usize| k + 1 < frames.len() && frames[k + 1].0 == frames[k].0 + 1;
    let mut added = 0;
    for k in 0..frames.len().saturating_sub(2) {
        if !(consecutive(k) && consecutive(k + 1)) {
            continue;
        }
        let (Some(here), Some(i1), Some(i2)) = (&index[k], &index[k + 1], &index[k + 2]) else {
            continue;
        };
        let g = gate(k);
        let (r, t) = (reach * g, tol * g);
        for &a in &here.rows {
            if !lone(a, next, prev) {
                continue;
            }
            // The best b, c: the straightest continuation.
            let mut best: Option<(f64, usize, usize)> = None;
            i1.within(&pos[a], r * r, false, |j, _| {
                let b = i1.rows[j];
                if !lone(b, next, prev) {
                    return;
                }
                let v = sub(pos[b], pos[a]);
                let want = [pos[b][0] + v[0], pos[b][1] + v[1], pos[b][2] + v[2]];
                i2.within(&want, t * t, false, |m, d2| {
                    let c = i2.rows[m];
                    if lone(c, next, prev) && best.is_none_or(|x| d2 < x.0) {
                        best = Some((d2, b, c));
                    }
                });
            });
            let Some((_, b, c)) = best else { continue };
            next[a] = b;
            prev[b] = a;
            next[b] = c;
            prev[c] = b;
            added += 2;
            // Extend while the prediction finds an unlinked detection.
            let (mut p, mut q, mut kk) = (b, c, k + 2);
            while consecutive(kk) {
                let Some(idx) = &index[kk + 1] else { break };
                let v = sub(pos[q], pos[p]);
                let want = [pos[q][0] + v[0], pos[q][1] + v[1], pos[q][2] + v[2]];
                let t = tol * gate(kk);
                let mut nearest: Option<(f64, usize)> = None;
                idx.within(&want, t * t, false, |m, d2| {
                    let s = idx.rows[m];
                    if lone(s, next, prev) && nearest.is_none_or(|x| d2 < x.0) {
                        nearest = Some((d2, s));
                    }
                });
                let Some((_, s)) = nearest else { break };
                next[q] = s;
                prev[s] = q;
                added += 1;
                (p, q, kk) = (q, s, kk + 1);
            }
        }
    }
    Ok(added)
}
