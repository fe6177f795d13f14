//! The segmentation's settings: [`SegmentConfig`] (with its validation and the sizes derived
//! from the cell diameter), the [`Background`] subtracted, the [`ChannelMath`] applied and the
//! [`DetectorConfig`] choosing the detector.

use serde::{Deserialize, Serialize};

use super::{BlobDetector, Detector, ThresholdDetector};
use crate::error::{Error, Result};

/// Every parameter of the segmentation. Sizes in µm (converted per axis), volumes in µm³.
/// `None` means "derived from [`SegmentConfig::cell_diameter_um`]".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// Expected cell diameter, µm (default 10). Every other size defaults from it.
    pub cell_diameter_um: f64,
    /// Bin factor in x and y before filtering (the z step is never binned). `None`: the
    /// largest factor keeping working voxels ≤ diameter/4 in x and y, at most 4 (1 for voxels
    /// already that large; 3 for 10 µm cells at 0.8 µm voxels). Centroids, volumes and shapes are measured on the working grid,
    /// intensities on the input grid.
    pub bin_xy: Option<usize>,
    /// Smooth background to subtract.
    pub background: Background,
    /// Gaussian denoising σ (x, y, z), µm; `None`: diameter/10 on each axis; `[0, 0, 0]`: off.
    pub denoise_sigma_um: Option<[f64; 3]>,
    /// Channel arithmetic before detection.
    pub channel_math: Option<ChannelMath>,
    /// The detector and its settings.
    pub detector: DetectorConfig,
    /// Smallest object kept, µm³; `None`: 1/5 of the expected cell volume (π/6·d³; in 2D,
    /// π/4·d² × the z step). Debris specks are far smaller.
    pub min_volume_um3: Option<f64>,
    /// Largest object kept, µm³; `None`: no limit.
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
            cell_diameter_um: 10.0,
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Background {
    /// No subtraction: for data whose background is already dark and flat (regions and the
    /// volume filter measure from 0, so an offset or uneven background would inflate them).
    None,
    /// A large-scale Gaussian of σ µm (`None`: 2 × the cell diameter) of the block medians.
    Gaussian {
        /// σ, µm.
        sigma_um: Option<f64>,
    },
    /// A grey opening (rolling-ball-like top-hat) of half-width `radius_um` (`None`: the cell
    /// diameter).
    TopHat {
        /// Half-width of the structuring box, µm.
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMath {
    /// The channel subtracted (0-based).
    pub subtract_channel: usize,
    /// Its factor.
    pub scale: f64,
}

/// The detector, as a tagged config (`kind = "threshold"` or `"blob"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DetectorConfig {
    /// Threshold + connected components + watershed splitting.
    Threshold(ThresholdDetector),
    /// Blob detection (LoG/DoG).
    Blob(BlobDetector),
}

impl Default for DetectorConfig {
    /// The blob detector: it scores better on the shared synthetic recording (see
    /// BENCHMARKS.md).
    fn default() -> Self {
        DetectorConfig::Blob(BlobDetector::default())
    }
}

impl DetectorConfig {
    /// The detector behind the config.
    pub fn detector(&self) -> &dyn Detector {
        match self {
            DetectorConfig::Threshold(d) => d,
            DetectorConfig::Blob(d) => d,
        }
    }
}

pub(super) fn positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::param(name, format!("must be a positive number, got {v}")))
    }
}

pub(super) fn non_negative(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(name, format!("must be ≥ 0, got {v}")))
    }
}

impl SegmentConfig {
    /// A config for cells of `diameter_um` with everything else at its default.
    #[must_use]
    pub fn for_diameter(diameter_um: f64) -> Self {
        SegmentConfig { cell_diameter_um: diameter_um, ..Default::default() }
    }

    /// Checks every parameter, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        positive("cell_diameter_um", self.cell_diameter_um)?;
        if self.bin_xy == Some(0) {
            return Err(Error::param("bin_xy", "must be ≥ 1 (1 = no binning)"));
        }
        match self.background {
            Background::None => {}
            Background::Gaussian { sigma_um: Some(s) } => positive("background.sigma_um", s)?,
            Background::TopHat { radius_um: Some(r) } => positive("background.radius_um", r)?,
            _ => {}
        }
        if let Some(s) = self.denoise_sigma_um {
            for v in s {
                non_negative("denoise_sigma_um", v)?;
            }
        }
        if let Some(m) = self.channel_math {
            if !m.scale.is_finite() {
                return Err(Error::param("channel_math.scale", "must be a finite number"));
            }
        }
        if let Some(v) = self.min_volume_um3 {
            non_negative("min_volume_um3", v)?;
        }
        if let Some(v) = self.max_volume_um3 {
            positive("max_volume_um3", v)?;
        }
        if let (Some(lo), Some(hi)) = (self.min_volume_um3, self.max_volume_um3) {
            if lo > hi {
                return Err(Error::param(
                    "min_volume_um3",
                    format!("min {lo} µm³ is larger than max_volume_um3 {hi} µm³"),
                ));
            }
        }
        self.detector.detector().validate()
    }

    /// The bin factor in x and y for voxels of `voxel_um`.
    pub fn bin_for(&self, voxel_um: [f64; 3]) -> usize {
        self.bin_xy.unwrap_or_else(|| {
            let target = self.cell_diameter_um / 4.0;
            let b = (target / voxel_um[0].max(voxel_um[1])).floor();
            b.clamp(1.0, 4.0) as usize
        })
    }

    /// The expected cell volume, µm³ (π/6·d³; in 2D π/4·d² × the z step).
    pub(super) fn expected_volume(&self, two_d: bool, vz: f64) -> f64 {
        let d = self.cell_diameter_um;
        if two_d {
            std::f64::consts::PI / 4.0 * d * d * vz
        } else {
            std::f64::consts::PI / 6.0 * d * d * d
        }
    }
}
