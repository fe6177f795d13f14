//! The analysis' settings: [`MetricsConfig`] and the directionality [`Reference`], with their
//! validation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings of the motility analysis (serde; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Frame interval, s: a lag of k frames lasts k × this. `None`: the median over all steps
    /// of (time difference / frame difference) (the lower middle value for an even count).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub frame_interval_s: Option<f64>,
    /// A step slower than this counts as arrested, µm/min (after Mempel et al. 2004 and
    /// Beltman et al. 2009).
    #[schemars(range(min = 0))]
    pub arrest_threshold_um_per_min: f64,
    /// Analyse the xy projection (drop z), as many papers do. Tracks without z are always 2D.
    pub two_d: bool,
    /// Tracks with fewer points are left out of every result (1: none is).
    pub min_points: usize,
    /// Leave out every track with a point flagged in the `touches_border` column of the tracks
    /// (numbers: non-zero; text: `true`/`yes`/`1`). An error when that column is absent.
    pub exclude_border: bool,
    /// Leave tracks flagged in a `suspect` column (the linker's: `short`, `low_quality`,
    /// `static_bright`) out of the population summaries, MSD and autocorrelation; they keep
    /// their rows in `track_metrics.csv`. Tracks without that column: no effect.
    pub exclude_suspect: bool,
    /// Largest lag of the MSD and the autocorrelation, frames. `None`: every lag present.
    #[schemars(range(min = 1))]
    pub max_lag_frames: Option<u32>,
    /// First and last lag (frames, inclusive) of the linear MSD fit that gives the motility
    /// coefficient. `None`: chosen automatically (see
    /// [`Msd::auto_fit_range`](super::Msd::auto_fit_range)).
    #[schemars(extend("minimum" = 1))]
    pub fit_lag_frames: Option<[u32; 2]>,
    /// A reference direction or point: adds the directionality columns per track.
    pub reference: Option<Reference>,
    /// Adds `staggered_straightness` per track (celltrackR's `staggered(straightness)`).
    pub staggered: bool,
    /// Axes of the Hotelling test: `false` x and y only, as celltrackR's
    /// `hotellingsTest` does even for 3D data; `true` every axis of the analysis.
    pub hotelling_all_axes: bool,
    /// Steps skipped between two steps used by the Hotelling and Rayleigh tests (celltrackR's
    /// `step.spacing`): consecutive steps of a persistent cell are correlated, which
    /// the tests assume they are not.
    pub test_step_spacing: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            frame_interval_s: None,
            arrest_threshold_um_per_min: 2.0,
            two_d: false,
            min_points: 1,
            exclude_border: false,
            exclude_suspect: true,
            max_lag_frames: None,
            fit_lag_frames: None,
            reference: None,
            staggered: false,
            hotelling_all_axes: false,
            test_step_spacing: 0,
        }
    }
}

/// What directionality is measured against (z is ignored in a 2D analysis).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reference {
    /// A direction (x, y, z); only its orientation counts.
    Direction {
        /// The direction vector (any non-zero length).
        vector: [f64; 3],
    },
    /// A point (x, y, z) in µm, e.g. a chemokine source or an infection site.
    Point {
        /// Its position, µm.
        position_um: [f64; 3],
    },
}

impl MetricsConfig {
    /// Checks every value; errors name the parameter.
    pub fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "metrics")?;
        if let Some([lo, hi]) = self.fit_lag_frames {
            if lo == 0 || hi <= lo {
                return Err(Error::param(
                    "metrics.fit_lag_frames",
                    format!("give two lags 1 ≤ first < last, got [{lo}, {hi}]"),
                ));
            }
        }
        match self.reference {
            Some(Reference::Direction { vector }) => {
                // (A direction along z alone is refused later, for a 2D analysis.)
                if !vector.iter().all(|c| c.is_finite()) || vector == [0.0; 3] {
                    return Err(Error::param(
                        "metrics.reference.vector",
                        format!("must be a finite non-zero vector, got {vector:?}"),
                    ));
                }
            }
            Some(Reference::Point { position_um })
                if !position_um.iter().all(|c| c.is_finite()) =>
            {
                return Err(Error::param(
                    "metrics.reference.position_um",
                    format!("must be finite, got {position_um:?}"),
                ));
            }
            Some(Reference::Point { .. }) | None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_checked() {
        let bad = [
            MetricsConfig { frame_interval_s: Some(0.0), ..Default::default() },
            MetricsConfig { arrest_threshold_um_per_min: f64::NAN, ..Default::default() },
            MetricsConfig { max_lag_frames: Some(0), ..Default::default() },
            MetricsConfig { fit_lag_frames: Some([3, 3]), ..Default::default() },
            MetricsConfig {
                reference: Some(Reference::Direction { vector: [0.0, 0.0, 0.0] }),
                ..Default::default()
            },
            MetricsConfig {
                reference: Some(Reference::Point { position_um: [0.0, f64::NAN, 0.0] }),
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(MetricsConfig::default().validate().is_ok());
        let json = r#"{"reference": {"kind": "point", "position_um": [1, 2, 3]}, "two_d": true}"#;
        let c: MetricsConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.reference, Some(Reference::Point { position_um: [1.0, 2.0, 3.0] }));
        assert_eq!(c.arrest_threshold_um_per_min, 2.0);
    }
}
