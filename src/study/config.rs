//! The study's settings: the statistics and the behaviour classes (`[study]` of the
//! configuration file).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of `leukotrack study` (serde; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StudyConfig {
    /// Draws of the hierarchical bootstrap (mice within group, then tracks within mouse) that
    /// give the 95 % intervals.
    #[schemars(range(min = 100))]
    pub bootstrap_samples: usize,
    /// The permutation test relabels the mice exactly when there are at most this many
    /// relabellings, else draws this many at random.
    #[schemars(range(min = 1000))]
    pub permutations: usize,
    /// Seed of the bootstrap and of the random relabellings (results are reproducible).
    pub seed: u64,
    /// Groups with fewer mice are named in the report's warnings.
    #[schemars(range(min = 2))]
    pub min_mice: usize,
    /// The per-track behaviour classes.
    pub classes: ClassConfig,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            bootstrap_samples: 2000,
            permutations: 10_000,
            seed: 1,
            min_mice: 3,
            classes: ClassConfig::default(),
        }
    }
}

/// Thresholds of the behaviour classes, applied in order: `arrested`, then `directed`, then
/// `confined`, else `meandering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClassConfig {
    /// `arrested`: at least this fraction of the track's steps slower than the arrest
    /// threshold (the arrest coefficient; Mempel et al. 2004).
    #[schemars(range(min = 0, max = 1))]
    pub arrested_min_arrest_coefficient: f64,
    /// `directed`: an MSD exponent α of at least this (super-diffusive, ballistic at 2;
    /// Beltman et al. 2009) …
    #[schemars(range(min = 0))]
    pub directed_min_alpha: f64,
    /// … and a straightness (confinement ratio) of at least this. Tracks too short for α
    /// (fewer than 5 points) are `directed` on straightness alone.
    #[schemars(range(min = 0, max = 1))]
    pub directed_min_straightness: f64,
    /// `confined`: an MSD exponent α of at most this (sub-diffusive).
    #[schemars(range(min = 0))]
    pub confined_max_alpha: f64,
}

impl Default for ClassConfig {
    fn default() -> Self {
        ClassConfig {
            arrested_min_arrest_coefficient: 0.5,
            directed_min_alpha: 1.4,
            directed_min_straightness: 0.5,
            confined_max_alpha: 0.6,
        }
    }
}
