//! Tracks that are most likely noise, flagged in `tracks.csv`'s `suspect` column (empty for a
//! track that looks like a cell, else the first rule that fired) — never deleted. The
//! population summaries leave them out when `metrics.exclude_suspect` is on (the default);
//! `track_metrics.csv` keeps their rows.
//!
//! Rules, in order:
//! - `short`: fewer than `min_points` points;
//! - `low_quality`: the track's median detection `quality` (the detector's score) is below
//!   `low_quality_fraction` × the median over all tracks (needs a `quality` column);
//! - `static_bright`: at least `min_points` points that all stay within `static_um` of their
//!   mean position, and a median `mean_intensity` above `bright_factor` × the median over all
//!   tracks — an autofluorescent cell or debris, not a leukocyte (needs `mean_intensity`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::table::{Column, Tracks};

/// The column's name.
pub const COLUMN: &str = "suspect";

/// The rules that flag a track as suspect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SuspectConfig {
    /// Tracks with fewer points are `short` (0 or 1: none is).
    pub min_points: usize,
    /// A track whose median `quality` is below this fraction of the tracks' median is
    /// `low_quality` (0: off).
    #[schemars(range(min = 0, max = 1))]
    pub low_quality_fraction: f64,
    /// A static track brighter than this many times the tracks' median `mean_intensity` is
    /// `static_bright`.
    #[schemars(range(min = 1))]
    pub bright_factor: f64,
    /// A track whose points all lie within this distance of their mean is static, µm.
    #[schemars(range(min = 0))]
    pub static_um: f64,
}

impl Default for SuspectConfig {
    fn default() -> Self {
        SuspectConfig {
            min_points: 3,
            low_quality_fraction: 0.25,
            bright_factor: 3.0,
            static_um: 3.0,
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    (!v.is_empty()).then(|| crate::metrics::population::quantiles(&mut v, &[0.5])[0])
}

/// The `suspect` rule of each track of `tracks` (rows grouped by [`Tracks::rows_by_track`]).
pub fn rules(tracks: &Tracks, cfg: &SuspectConfig) -> Vec<Option<&'static str>> {
    let groups = tracks.rows_by_track();
    let col = |name: &str| tracks.column(name).and_then(Column::as_f64);
    let per_track = |c: Option<&[f64]>| -> Option<Vec<Option<f64>>> {
        c.map(|c| groups.iter().map(|rows| median(rows.iter().map(|&r| c[r]).collect())).collect())
    };
    let quality = per_track(col("quality"));
    let bright = per_track(col("mean_intensity"));
    let typical = |v: &Option<Vec<Option<f64>>>| {
        v.as_ref().and_then(|v| median(v.iter().flatten().copied().collect()))
    };
    let (q_typ, b_typ) = (typical(&quality), typical(&bright));
    let z = tracks.z_um.as_deref();
    groups
        .iter()
        .enumerate()
        .map(|(g, rows)| {
            if rows.len() < cfg.min_points {
                return Some("short");
            }
            if let (Some(q), Some(t)) = (quality.as_ref().and_then(|v| v[g]), q_typ) {
                if t > 0.0 && q < cfg.low_quality_fraction * t {
                    return Some("low_quality");
                }
            }
            if let (Some(b), Some(t)) = (bright.as_ref().and_then(|v| v[g]), b_typ) {
                if rows.len() >= cfg.min_points.max(2) && t > 0.0 && b > cfg.bright_factor * t {
                    let p = |r: usize| [tracks.x_um[r], tracks.y_um[r], z.map_or(0.0, |z| z[r])];
                    let n = rows.len() as f64;
                    let c: [f64; 3] =
                        std::array::from_fn(|a| rows.iter().map(|&r| p(r)[a]).sum::<f64>() / n);
                    let spread = rows
                        .iter()
                        .map(|&r| (0..3).map(|a| (p(r)[a] - c[a]).powi(2)).sum::<f64>().sqrt())
                        .fold(0.0, f64::max);
                    if spread <= cfg.static_um {
                        return Some("static_bright");
                    }
                }
            }
            None
        })
        .collect()
}

/// Adds (or replaces) the `suspect` column of `tracks`.
pub fn flag(tracks: &mut Tracks, cfg: &SuspectConfig) {
    let rules = rules(tracks, cfg);
    let mut col = vec![String::new(); tracks.len()];
    for (rows, rule) in tracks.rows_by_track().iter().zip(&rules) {
        if let Some(rule) = rule {
            for &r in rows {
                col[r] = (*rule).to_string();
            }
        }
    }
    tracks.extra.retain(|(n, _)| n != COLUMN);
    tracks.extra.push((COLUMN.to_string(), Column::Text(col)));
}

/// Rows of tracks flagged in a `suspect` column (none when the column is absent).
pub fn suspect_rows(tracks: &Tracks) -> Vec<bool> {
    match tracks.column(COLUMN) {
        Some(Column::Text(v)) => v.iter().map(|s| !s.trim().is_empty()).collect(),
        Some(Column::Float(v)) => v.iter().map(|x| x.is_finite() && *x != 0.0).collect(),
        None => vec![false; tracks.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TrackIds;

    fn tracks(rows: &[(u64, u32, f64, f64, f64)]) -> Tracks {
        Tracks {
            track_id: TrackIds::Int(rows.iter().map(|r| r.0).collect()),
            frame: rows.iter().map(|r| r.1).collect(),
            t_s: rows.iter().map(|r| r.1 as f64 * 30.0).collect(),
            x_um: rows.iter().map(|r| r.2).collect(),
            y_um: rows.iter().map(|r| r.3).collect(),
            z_um: None,
            detection: None,
            extra: vec![(
                "mean_intensity".into(),
                Column::Float(rows.iter().map(|r| r.4).collect()),
            )],
        }
    }

    #[test]
    fn each_rule_fires_on_its_track_only() {
        let mut rows = Vec::new();
        for id in 0..4u64 {
            for f in 0..5u32 {
                // Moving cells of brightness 100; track 3 static and bright.
                let (x, b) = if id == 3 {
                    (50.0, 900.0)
                } else {
                    (id as f64 * 100.0 + 4.0 * f as f64, 100.0)
                };
                rows.push((id, f, x, 0.0, b));
            }
        }
        rows.push((4, 0, 500.0, 0.0, 100.0));
        rows.push((4, 1, 503.0, 0.0, 100.0));
        let mut t = tracks(&rows);
        let r = rules(&t, &SuspectConfig::default());
        assert_eq!(r, vec![None, None, None, Some("static_bright"), Some("short")]);
        flag(&mut t, &SuspectConfig::default());
        let s = suspect_rows(&t);
        assert_eq!(s.iter().filter(|&&b| b).count(), 7);
        // A bright cell that moves is a cell.
        let moving: Vec<_> = rows
            .iter()
            .map(|&(i, f, x, y, b)| (i, f, x + 10.0 * f as f64 * (i == 3) as u8 as f64, y, b))
            .collect();
        assert_eq!(rules(&tracks(&moving), &SuspectConfig::default())[3], None);
        // No column: nothing flagged.
        assert!(suspect_rows(&tracks(&rows)).iter().all(|&b| !b));
    }
}
