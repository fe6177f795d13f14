//! The segmentation's settings: [`SegmentConfig`] (with its validation and the sizes derived
//! from the cell diameter), the [`Background`] subtracted, the [`ChannelMath`] applied and the
//! [`DetectorConfig`] choosing the detector.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BlobDetector, Detector, HybridDetector, ThresholdDetector};
use crate::error::{Error, Result};

/// Every parameter of the segmentation. Sizes in µm (converted per axis), volumes in µm³.
/// `None` means "derived from the cell diameter" ([`SegmentConfig::cell_diameter_um`], itself
/// estimated from the recording when not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// Expected cell diameter, µm. Every other size defaults from it. `None`: estimated from
    /// the recording (the scale of the strongest scale-space maxima of the normalised LoG on a
    /// sample of up to 3 timepoints; written in `summary.json` as
    /// `segment.estimated_cell_diameter_um`).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub cell_diameter_um: Option<f64>,
    /// Bin factor in x and y before filtering (the z step is never binned). `None`: the
    /// largest factor keeping working voxels ≤ diameter/4 in x and y, at most 4 (1 for voxels
    /// already that large; 3 for 10 µm cells at 0.8 µm voxels). Centroids, volumes and shapes are measured on the working grid,
    /// intensities on the input grid.
    #[schemars(range(min = 1))]
    pub bin_xy: Option<usize>,
    /// Smooth background to subtract.
    pub background: Background,
    /// Gaussian denoising σ (x, y, z), µm; `None`: diameter/10 on each axis; `[0, 0, 0]`: off.
    #[schemars(extend("minimum" = 0))]
    pub denoise_sigma_um: Option<[f64; 3]>,
    /// Channel arithmetic before detection.
    pub channel_math: Option<ChannelMath>,
    /// The detector and its settings.
    pub detector: DetectorConfig,
    /// Smallest object kept, µm³; `None`: 1/5 of the expected cell volume (π/6·d³; in 2D or a
    /// stack shallower than the cell, π/4·d² × its depth). Debris specks are far smaller.
    #[schemars(range(min = 0))]
    pub min_volume_um3: Option<f64>,
    /// Largest object kept, µm³; `None`: no limit.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_volume_um3: Option<f64>,
    /// Extrapolate the centre of objects cut by the volume's border from their
    /// cross-sections (see [`features::truncated_centre`](super::features::truncated_centre)).
    pub border_refinement: bool,
    /// Drop objects whose (refined) centre lies outside the imaged volume
    /// [−v/2, (n − ½)·v) on some axis.
    pub drop_outside: bool,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            cell_diameter_um: None,
            bin_xy: None,
            background: Background::default(),
            denoise_sigma_um: None,
            channel_math: None,
            detector: DetectorConfig::default(),
            min_volume_um3: None,
            max_volume_um3: None,
            border_refinement: true,
            drop_outside: true,
        }
    }
}

/// The smooth background subtracted before detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Background {
    /// No subtraction: for data whose background is already dark and flat (regions and the
    /// volume filter measure from 0, so an offset or uneven background would inflate them).
    None,
    /// A large-scale Gaussian of σ µm (`None`: 2 × the cell diameter) of the block medians.
    Gaussian {
        /// σ, µm.
        #[schemars(extend("exclusiveMinimum" = 0))]
        sigma_um: Option<f64>,
    },
    /// A grey opening (rolling-ball-like top-hat) of half-width `radius_um` (`None`: the cell
    /// diameter).
    TopHat {
        /// Half-width of the structuring box, µm.
        #[schemars(extend("exclusiveMinimum" = 0))]
        radius_um: Option<f64>,
    },
}

impl Default for Background {
    fn default() -> Self {
        Background::Gaussian { sigma_um: None }
    }
}

/// `channel − scale × subtract_channel`, voxel by voxel, before detection (e.g. to remove an
/// autofluorescence channel's bright specks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelMath {
    /// The channel subtracted (0-based).
    pub subtract_channel: usize,
    /// Its factor.
    pub scale: f64,
}

/// The detector, as a tagged config (`kind = "hybrid"`, `"threshold"` or `"blob"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DetectorConfig {
    /// A foreground mask from the background noise, LoG seeds at the cell scale inside it,
    /// and a seeded watershed (the default).
    Hybrid(HybridDetector),
    /// Threshold + connected components + watershed splitting.
    Threshold(ThresholdDetector),
    /// Blob detection (LoG/DoG).
    Blob(BlobDetector),
}

impl Default for DetectorConfig {
    /// The hybrid detector: it holds on the real recordings and on every simulator preset
    /// where either single detector fails on some (see BENCHMARKS.md).
    fn default() -> Self {
        DetectorConfig::Hybrid(HybridDetector::default())
    }
}

impl DetectorConfig {
    /// The detector kinds, as the configuration (`segment.detector.kind`), `--detector` and
    /// `detector=` spell them.
    pub const KINDS: [&'static str; 3] = ["hybrid", "threshold", "blob"];

    /// The detector of `kind` (one of [`DetectorConfig::KINDS`]) with its default settings.
    pub fn of_kind(kind: &str) -> Result<Self> {
        match kind {
            "hybrid" => Ok(DetectorConfig::Hybrid(HybridDetector::default())),
            "threshold" => Ok(DetectorConfig::Threshold(ThresholdDetector::default())),
            "blob" => Ok(DetectorConfig::Blob(BlobDetector::default())),
            other => Err(Error::param(
                "segment.detector.kind",
                format!("`{other}`: expected one of {}", Self::KINDS.join(", ")),
            )),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> &'static str {
        self.detector().name()
    }

    /// The detector behind the config.
    pub fn detector(&self) -> &dyn Detector {
        match self {
            DetectorConfig::Hybrid(d) => d,
            DetectorConfig::Threshold(d) => d,
            DetectorConfig::Blob(d) => d,
        }
    }
}

impl SegmentConfig {
    /// A config for cells of `diameter_um` with everything else at its default.
    #[must_use]
    pub fn for_diameter(diameter_um: f64) -> Self {
        SegmentConfig { cell_diameter_um: Some(diameter_um), ..Default::default() }
    }

    /// Checks every parameter, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        crate::pipeline::settings::check(self, "segment")?;
        if let (Some(lo), Some(hi)) = (self.min_volume_um3, self.max_volume_um3) {
            if lo > hi {
                return Err(Error::param(
                    "segment.min_volume_um3",
                    format!("min {lo} µm³ is larger than max_volume_um3 {hi} µm³"),
                ));
            }
        }
        self.detector.detector().validate()
    }

    /// The bin factor in x and y for voxels of `voxel_um` and cells of `diameter_um`.
    pub fn bin_for(&self, voxel_um: [f64; 3], diameter_um: f64) -> usize {
        self.bin_xy.unwrap_or_else(|| {
            let target = diameter_um / 4.0;
            let b = (target / voxel_um[0].max(voxel_um[1])).floor();
            b.clamp(1.0, 4.0) as usize
        })
    }

    /// The expected volume, µm³, of a cell of diameter `d` seen through `depth_um` µm of
    /// stack: π/6·d³ when the stack holds it, else π/4·d² × the depth (a 2D recording's depth
    /// is its z step).
    pub(super) fn expected_volume(d: f64, depth_um: f64) -> f64 {
        if depth_um < d {
            std::f64::consts::PI / 4.0 * d * d * depth_um
        } else {
            std::f64::consts::PI / 6.0 * d * d * d
        }
    }
}
