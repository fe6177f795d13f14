//! A simulator of two-photon intravital recordings of leukocytes, with ground truth.
//!
//! Deterministic: every random draw comes from ChaCha8 streams seeded from the
//! [`SynthConfig::seed`], the frame, the channel and the plane, so results do not depend on the
//! platform or on the number of threads.
//!
//! The scene: ellipsoidal cells (8–12 µm, elongated along their motion) doing persistent
//! random walks (2–15 µm/min, log-uniform; 20 % arrested) in a domain larger than the imaged
//! field, so cells leave and enter (periodic in x/y across the margin, reflecting in z beyond
//! the top and bottom planes, so stacks cut cells); the imaged volume is convolved with an
//! anisotropic Gaussian PSF and photon counts are Poisson with gain, offset and Gaussian read
//! noise; an uneven background, static bright autofluorescent specks (debris), depth
//! attenuation, photobleaching and a tissue drift move everything together.
//!
//! Positions follow the crate convention: the centre of voxel (i, j, k) is at (i·vx, j·vy,
//! k·vz); the imaged volume spans [−v/2, (n − ½)·v) on each axis, and a cell is *present* in a
//! frame when its centre lies inside it. A cell that leaves and re-enters gets a new track id.

use std::f64::consts::PI;
use std::path::Path;

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calib::{Calibration, Value};
use crate::error::{Error, Result};
use crate::io::write::{write_atomic, HyperstackWriter, SampleType};
use crate::io::{Shape, Volume};
use crate::table::{fmt_f64, Column, Detections, TrackIds, Tracks};

/// Every parameter of a simulated recording. Lengths in µm, times in s, speeds in µm/min,
/// intensities in photons per voxel (before gain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Seed of every random draw.
    pub seed: u64,
    /// Number of timepoints.
    pub frames: usize,
    /// Image size in voxels along x, y, z.
    pub size: [usize; 3],
    /// Voxel size in µm along x, y, z.
    pub voxel_um: [f64; 3],
    /// Time between timepoints, s.
    pub frame_interval_s: f64,
    /// Number of channels (1 or 2). Channel 1 shows the autofluorescent debris and the cells
    /// carrying a second reporter.
    pub channels: usize,
    /// Cells per 100,000 µm³ (of the imaged volume and its margins).
    pub density_per_1e5_um3: f64,
    /// Range of cell diameters (of the volume-equivalent sphere), µm.
    pub diameter_um: [f64; 2],
    /// Range of speeds of motile cells (log-uniform), µm/min.
    pub speed_um_per_min: [f64; 2],
    /// Fraction of arrested cells.
    pub arrested_fraction: f64,
    /// Upper bound of an arrested cell's speed, µm/min.
    pub arrested_speed_um_per_min: f64,
    /// Persistence time of the direction of motion, min.
    pub persistence_min: f64,
    /// Length-to-width ratio of the fastest cells (slower cells are rounder).
    pub max_elongation: f64,
    /// Margin around the field in x/y (periodic) and in z (reflecting), µm.
    pub margin_um: [f64; 2],
    /// Gaussian PSF sigma in xy and z, µm.
    pub psf_sigma_um: [f64; 2],
    /// Mean background photons per voxel.
    pub background_photons: f64,
    /// Relative amplitude of the uneven (low-frequency) background, 0–1.
    pub background_unevenness: f64,
    /// Photons per voxel inside a cell (at the surface, before bleaching).
    pub cell_photons: f64,
    /// Camera gain (grey levels per photon).
    pub gain: f64,
    /// Offset (grey levels).
    pub offset: f64,
    /// Gaussian read noise (grey levels, sd).
    pub read_noise: f64,
    /// Number of static bright autofluorescent specks in the field.
    pub debris_count: usize,
    /// Diameter of a speck, µm.
    pub debris_diameter_um: f64,
    /// Peak photons of a speck.
    pub debris_photons: f64,
    /// Depth attenuation length, µm (signal × exp(−z / L)).
    pub attenuation_length_um: f64,
    /// Fraction of fluorescence lost per frame (photobleaching).
    pub bleach_per_frame: f64,
    /// Tissue drift speed, µm/min (a constant direction, mostly in xy).
    pub drift_um_per_min: f64,
    /// Random jitter added to the drift each frame, µm (sd per axis).
    pub drift_jitter_um: f64,
    /// Number of pairs of touching cells that move together.
    pub touching_pairs: usize,
    /// Fraction of cells that also carry the second-channel reporter.
    pub reporter2_fraction: f64,
    /// The named preset these values started from (`default`, `hard`, `2d`, `thin`, `swarm`;
    /// see [`SynthConfig::preset`]); recorded in `synth.json`.
    pub preset: String,
    /// Fraction of amoeboid cells: one or two pseudopods (lobes of half the body's width) and
    /// a uropod, changing every frame. Their true position is the body's centre.
    pub amoeboid_fraction: f64,
    /// Fraction of dendritic-like cells: 2–4 long thin processes (1 µm wide, 1–2 diameters
    /// long) around a round body.
    pub dendritic_fraction: f64,
    /// Fraction of textured cells (nuclei-like: ±40 % granules/nucleoli of about 2 µm).
    pub textured_fraction: f64,
    /// Fraction of dim cells (0.3–0.5× the brightness).
    pub dim_fraction: f64,
    /// Fraction of flickering cells (brightness × 0.5–1.5 drawn anew each frame).
    pub flicker_fraction: f64,
    /// Fraction of fast cells (1.2–2 diameters per frame, straight).
    pub fast_fraction: f64,
    /// Laser power drift: the brightness falls linearly by this fraction over the recording.
    pub laser_drift: f64,
    /// Cells of a neutrophil-like swarm: packed, touching, round a point of the field.
    pub swarm_cells: usize,
    /// Bright static autofluorescent macrophage-like objects (12–16 µm, 3–5× a cell's
    /// brightness, irregular), in every channel.
    pub autofluorescent_count: usize,
    /// Collagen fibres in the cell channel (long, 1.2 µm thick, straight, 0.6× a cell).
    pub fibre_count: usize,
    /// Vessels bleeding through into the cell channel (16 µm wide tubes, 0.25× a cell).
    pub vessel_count: usize,
    /// Fraction of frames with breathing during the stack: the planes from a random one on
    /// are displaced by 3–6 µm in x and y.
    pub breathing_fraction: f64,
    /// Fraction of frame pairs with a sudden tissue jump of 4–10 µm (it stays).
    pub jump_fraction: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 1,
            frames: 20,
            size: [256, 256, 24],
            voxel_um: [0.8, 0.8, 3.0],
            frame_interval_s: 30.0,
            channels: 1,
            density_per_1e5_um3: 1.7,
            diameter_um: [8.0, 12.0],
            speed_um_per_min: [2.0, 15.0],
            arrested_fraction: 0.2,
            arrested_speed_um_per_min: 0.5,
            persistence_min: 3.0,
            max_elongation: 1.6,
            margin_um: [30.0, 8.0],
            psf_sigma_um: [0.35, 1.5],
            background_photons: 6.0,
            background_unevenness: 0.6,
            cell_photons: 30.0,
            gain: 8.0,
            offset: 100.0,
            read_noise: 12.0,
            debris_count: 15,
            debris_diameter_um: 2.5,
            debris_photons: 80.0,
            attenuation_length_um: 150.0,
            bleach_per_frame: 0.002,
            drift_um_per_min: 0.4,
            drift_jitter_um: 0.05,
            touching_pairs: 0,
            reporter2_fraction: 0.5,
            preset: "default".into(),
            amoeboid_fraction: 0.0,
            dendritic_fraction: 0.0,
            textured_fraction: 0.0,
            dim_fraction: 0.0,
            flicker_fraction: 0.0,
            fast_fraction: 0.0,
            laser_drift: 0.0,
            swarm_cells: 0,
            autofluorescent_count: 0,
            fibre_count: 0,
            vessel_count: 0,
            breathing_fraction: 0.0,
            jump_fraction: 0.0,
        }
    }
}

impl SynthConfig {
    /// The names [`SynthConfig::preset`] knows.
    pub const PRESETS: [&'static str; 5] = ["default", "hard", "2d", "thin", "swarm"];

    /// A named scene (each the failure modes of real intravital data that Pizzagalli et al.,
    /// Sci Data 2018, list, switched on):
    /// `default` (smooth ellipsoids, 24 planes of 3 µm); `hard` (two channels; amoeboid,
    /// dendritic-like, textured, dim, flickering and fast cells, touching pairs, an
    /// autofluorescent macrophage-like object, collagen fibres, a vessel bleeding through,
    /// laser power drift, breathing during the stack, tissue jumps); `2d` (one thick optical
    /// section, amoeboid and dim cells, debris); `thin` (5 planes of 1 µm, 0.4 µm pixels,
    /// textured nuclei-like objects of 14–20 µm deeper than the stack, almost no background);
    /// `swarm` (a neutrophil-like swarm of 40 cells with touching pairs and fast cells).
    pub fn preset(name: &str) -> Result<Self> {
        let d = SynthConfig::default();
        let cfg = match name {
            "default" => d,
            "hard" => SynthConfig {
                channels: 2,
                amoeboid_fraction: 0.3,
                dendritic_fraction: 0.1,
                textured_fraction: 0.2,
                dim_fraction: 0.15,
                flicker_fraction: 0.1,
                fast_fraction: 0.05,
                touching_pairs: 3,
                laser_drift: 0.2,
                autofluorescent_count: 1,
                fibre_count: 3,
                vessel_count: 1,
                breathing_fraction: 0.1,
                jump_fraction: 0.05,
                ..d
            },
            "2d" => SynthConfig {
                size: [256, 256, 1],
                voxel_um: [0.8, 0.8, 10.0],
                margin_um: [30.0, 0.0],
                density_per_1e5_um3: 5.0,
                amoeboid_fraction: 0.3,
                dim_fraction: 0.15,
                ..d
            },
            "thin" => SynthConfig {
                size: [256, 256, 5],
                voxel_um: [0.4, 0.4, 1.0],
                margin_um: [20.0, 0.0],
                diameter_um: [14.0, 20.0],
                density_per_1e5_um3: 18.0,
                textured_fraction: 1.0,
                max_elongation: 1.3,
                background_photons: 0.3,
                background_unevenness: 0.2,
                read_noise: 2.0,
                offset: 0.0,
                debris_count: 0,
                ..d
            },
            "swarm" => SynthConfig { swarm_cells: 40, touching_pairs: 2, fast_fraction: 0.05, ..d },
            other => {
                return Err(Error::param(
                    "preset",
                    format!("`{other}`: expected one of {}", Self::PRESETS.join(", ")),
                ))
            }
        };
        Ok(SynthConfig { preset: name.to_string(), ..cfg })
    }

    /// The configuration from a preset (`overrides.preset`, else the `preset` key of
    /// `config`, else `default`), then the keys of `config` (JSON, e.g. a `synth.json`), then
    /// the overrides: preset < config < flags / keywords.
    pub fn resolve(config: Option<&str>, overrides: &SynthOverrides) -> Result<Self> {
        let value: serde_json::Value = match config {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| Error::param("synth", format!("not JSON: {e}")))?,
            None => serde_json::Value::Object(Default::default()),
        };
        let serde_json::Value::Object(keys) = value else {
            return Err(Error::param("synth", "the configuration must be a JSON object"));
        };
        let name = match (&overrides.preset, keys.get("preset")) {
            (Some(p), _) => p.clone(),
            (None, Some(serde_json::Value::String(p))) => p.clone(),
            _ => "default".to_string(),
        };
        let mut base = serde_json::to_value(Self::preset(&name)?)
            .map_err(|e| Error::internal(e.to_string()))?;
        if let serde_json::Value::Object(b) = &mut base {
            for (k, v) in keys {
                b.insert(k, v);
            }
            b.insert("preset".into(), serde_json::Value::String(name));
        }
        let mut cfg: SynthConfig = crate::pipeline::stage_from_json("synth", &base.to_string())?;
        overrides.apply(&mut cfg)?;
        Ok(cfg)
    }
}

/// Sizes `X,Y,Z` in voxels on the command line; `{"x", "y", "z"}` in Python (a bare
/// sequence is refused: numpy writes shapes as (z, y, x)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Voxels along x.
    pub x: usize,
    /// Voxels along y.
    pub y: usize,
    /// Voxels along z.
    pub z: usize,
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Map {
            x: usize,
            y: usize,
            z: usize,
        }
        crate::pipeline::overrides::map_or_text(
            d,
            "a bare sequence is refused (numpy writes shapes as (z, y, x)); give a dict \
             {'x': …, 'y': …, 'z': …} in voxels",
            |Map { x, y, z }| Size { x, y, z },
        )
    }
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let v: Vec<usize> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        if v.len() != 3 || parts.len() != 3 || v.contains(&0) {
            return Err(format!("`{s}`: give X,Y,Z as three positive integers (voxels)"));
        }
        Ok(Size { x: v[0], y: v[1], z: v[2] })
    }
}

/// Overrides of a [`SynthConfig`]: the flags of `leukotrack synth` and the keywords of
/// `lt.synth`, each `None` leaving the configuration's value (flag / keyword > `--config` /
/// `config=` > default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct SynthOverrides {
    /// A named scene: default, hard, 2d, thin or swarm (under --config and the flags).
    #[cfg_attr(feature = "cli", arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(SynthConfig::PRESETS)))]
    pub preset: Option<String>,
    /// Random seed.
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
    /// Number of timepoints.
    #[cfg_attr(feature = "cli", arg(long))]
    pub frames: Option<usize>,
    /// Image size X,Y,Z in voxels.
    #[cfg_attr(feature = "cli", arg(long, value_name = "X,Y,Z"))]
    pub size: Option<Size>,
    /// Voxel size X,Y,Z in µm.
    #[cfg_attr(feature = "cli", arg(long, value_name = "X,Y,Z"))]
    pub voxel_size: Option<crate::pipeline::overrides::Xyz>,
    /// Frame interval, s.
    #[cfg_attr(feature = "cli", arg(long, value_name = "S"))]
    pub frame_interval: Option<f64>,
    /// Channels (1 or 2; channel 1 shows debris and second-reporter cells).
    #[cfg_attr(feature = "cli", arg(long))]
    pub channels: Option<usize>,
    /// Cells per 100,000 µm³.
    #[cfg_attr(feature = "cli", arg(long))]
    pub density: Option<f64>,
    /// Photons per voxel in a cell (lower = lower SNR).
    #[cfg_attr(feature = "cli", arg(long))]
    pub cell_photons: Option<f64>,
    /// Pairs of touching cells.
    #[cfg_attr(feature = "cli", arg(long))]
    pub touching_pairs: Option<usize>,
}

impl SynthOverrides {
    /// Applies the overrides given and checks the result.
    pub fn apply(&self, cfg: &mut SynthConfig) -> Result<()> {
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        if let Some(v) = self.frames {
            cfg.frames = v;
        }
        if let Some(Size { x, y, z }) = self.size {
            cfg.size = [x, y, z];
        }
        if let Some(v) = self.voxel_size {
            if !v.has_z {
                return Err(Error::param("voxel_um", "give x, y and z (µm)"));
            }
            cfg.voxel_um = v.xyz;
        }
        if let Some(v) = self.frame_interval {
            cfg.frame_interval_s = v;
        }
        if let Some(v) = self.channels {
            cfg.channels = v;
        }
        if let Some(v) = self.density {
            cfg.density_per_1e5_um3 = v;
        }
        if let Some(v) = self.cell_photons {
            cfg.cell_photons = v;
        }
        if let Some(v) = self.touching_pairs {
            cfg.touching_pairs = v;
        }
        cfg.validate()
    }
}

/// The configuration key of each [`SynthOverrides`] keyword: `(keyword, key)`.
pub const OVERRIDE_KEYS: &[(&str, &str)] = &[
    ("preset", "preset"),
    ("seed", "seed"),
    ("frames", "frames"),
    ("size", "size"),
    ("voxel_size", "voxel_um"),
    ("frame_interval", "frame_interval_s"),
    ("channels", "channels"),
    ("density", "density_per_1e5_um3"),
    ("cell_photons", "cell_photons"),
    ("touching_pairs", "touching_pairs"),
];

impl SynthConfig {
    /// Checks every parameter, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let pos = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(name, format!("must be > 0, got {v}")))
            }
        };
        let nonneg = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::param(name, format!("must be ≥ 0, got {v}")))
            }
        };
        let frac = |name: &str, v: f64| -> Result<()> {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::param(name, format!("must lie in [0, 1], got {v}")))
            }
        };
        if self.frames == 0 {
            return Err(Error::param("frames", "must be ≥ 1"));
        }
        if self.size.contains(&0) {
            return Err(Error::param("size", format!("{:?}: every size must be ≥ 1", self.size)));
        }
        if !(1..=2).contains(&self.channels) {
            return Err(Error::param("channels", format!("must be 1 or 2, got {}", self.channels)));
        }
        for v in self.voxel_um {
            pos("voxel_um", v)?;
        }
        pos("frame_interval_s", self.frame_interval_s)?;
        nonneg("density", self.density_per_1e5_um3)?;
        for (name, r) in [("diameter", self.diameter_um), ("speed", self.speed_um_per_min)] {
            pos(name, r[0])?;
            if r[1] < r[0] {
                return Err(Error::param(name, format!("range {}–{} has min > max", r[0], r[1])));
            }
        }
        frac("arrested-fraction", self.arrested_fraction)?;
        nonneg("arrested-speed", self.arrested_speed_um_per_min)?;
        pos("persistence", self.persistence_min)?;
        if self.max_elongation.is_nan() || self.max_elongation < 1.0 {
            return Err(Error::param("max-elongation", "must be ≥ 1"));
        }
        for v in self.margin_um {
            nonneg("margin", v)?;
        }
        for v in self.psf_sigma_um {
            pos("psf-sigma", v)?;
        }
        nonneg("background-photons", self.background_photons)?;
        frac("background-unevenness", self.background_unevenness)?;
        nonneg("cell-photons", self.cell_photons)?;
        pos("gain", self.gain)?;
        nonneg("offset", self.offset)?;
        nonneg("read-noise", self.read_noise)?;
        pos("debris-diameter", self.debris_diameter_um)?;
        nonneg("debris-photons", self.debris_photons)?;
        pos("attenuation-length", self.attenuation_length_um)?;
        if !(0.0..1.0).contains(&self.bleach_per_frame) {
            return Err(Error::param("bleach", "must lie in [0, 1)"));
        }
        nonneg("drift", self.drift_um_per_min)?;
        nonneg("drift-jitter", self.drift_jitter_um)?;
        frac("reporter2-fraction", self.reporter2_fraction)?;
        for (name, v) in [
            ("amoeboid_fraction", self.amoeboid_fraction),
            ("dendritic_fraction", self.dendritic_fraction),
            ("textured_fraction", self.textured_fraction),
            ("dim_fraction", self.dim_fraction),
            ("flicker_fraction", self.flicker_fraction),
            ("fast_fraction", self.fast_fraction),
            ("laser_drift", self.laser_drift),
            ("breathing_fraction", self.breathing_fraction),
            ("jump_fraction", self.jump_fraction),
        ] {
            frac(name, v)?;
        }
        Ok(())
    }

    /// The recording's shape (t, c, z, y, x).
    pub fn shape(&self) -> Shape {
        Shape {
            t: self.frames,
            c: self.channels,
            z: self.size[2],
            y: self.size[1],
            x: self.size[0],
        }
    }

    /// The calibration of the simulated recording.
    pub fn calibration(&self) -> Calibration {
        let v = |x| Some(Value { value: x, source: crate::calib::Source::Default });
        Calibration {
            voxel_x_um: v(self.voxel_um[0]),
            voxel_y_um: v(self.voxel_um[1]),
            voxel_z_um: v(self.voxel_um[2]),
            frame_interval_s: v(self.frame_interval_s),
            frame_times_s: None,
        }
    }

    /// Lower and upper bounds of the imaged volume along each axis, µm: [−v/2, (n − ½)·v).
    pub fn field_um(&self) -> [[f64; 2]; 3] {
        std::array::from_fn(|a| {
            let v = self.voxel_um[a];
            [-0.5 * v, (self.size[a] as f64 - 0.5) * v]
        })
    }
}

/// One cell in one frame (present in the field or not).
#[derive(Debug, Clone, Copy, PartialEq)]
struct CellState {
    /// Centre in image coordinates (tissue position + drift), µm.
    pos: [f64; 3],
    /// Unit vector of the long axis.
    axis: [f64; 3],
    /// Semi-axis along `axis`, µm.
    a: f64,
    /// Semi-axes across `axis`, µm.
    b: f64,
}

/// A static autofluorescent speck.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Debris {
    /// Index of the speck.
    pub debris_id: usize,
    /// Position at frame 0 (it then moves with the tissue drift), µm.
    pub x_um: f64,
    /// y at frame 0, µm.
    pub y_um: f64,
    /// z at frame 0, µm.
    pub z_um: f64,
    /// Diameter, µm.
    pub diameter_um: f64,
    /// Peak photons per voxel.
    pub photons: f64,
}

/// A cell's switchable phenomena, drawn once.
#[derive(Debug, Clone, Copy, Default)]
struct Traits {
    amoeboid: bool,
    dendritic: bool,
    textured: bool,
    /// Brightness factor (< 1 for dim cells).
    brightness: f64,
    flicker: bool,
    fast: bool,
    in_swarm: bool,
    /// Texture phases and the processes' seed.
    phase: [f64; 3],
    seed: u64,
}

impl Traits {
    fn draw(cfg: &SynthConfig, rng: &mut ChaCha8Rng, index: u64) -> Self {
        let mut flag = |p: f64| rng.random::<f64>() < p;
        let (amoeboid, dendritic, textured) = (
            flag(cfg.amoeboid_fraction),
            flag(cfg.dendritic_fraction),
            flag(cfg.textured_fraction),
        );
        let dim = flag(cfg.dim_fraction);
        let (flicker, fast) = (flag(cfg.flicker_fraction), flag(cfg.fast_fraction));
        let brightness = if dim { 0.3 + 0.2 * rng.random::<f64>() } else { 1.0 };
        let phase = std::array::from_fn(|_| rng.random::<f64>() * 2.0 * PI);
        Traits {
            amoeboid: amoeboid && !dendritic,
            dendritic,
            textured,
            brightness,
            flicker,
            fast,
            in_swarm: false,
            phase,
            seed: index,
        }
    }
}

#[derive(Debug, Clone)]
struct Cell {
    diameter: f64,
    speed: f64,
    arrested: bool,
    reporter2: bool,
    touching: bool,
    /// The phenomena of this cell (see [`Traits`]).
    traits: Traits,
    /// Cell state per frame.
    states: Vec<CellState>,
}

/// A simulated scene: the cells' motion, the drift, the debris, and the ground truth.
/// Images are rendered on demand, one (frame, channel) volume at a time.
#[derive(Debug, Clone)]
pub struct Simulation {
    config: SynthConfig,
    cells: Vec<Cell>,
    debris: Vec<Debris>,
    /// Cumulative drift of the tissue since frame 0, per frame, µm.
    drift: Vec<[f64; 3]>,
    /// Low-frequency background modes: (wave vector rad/µm, phase).
    background_modes: Vec<([f64; 3], f64)>,
    /// Autofluorescent objects, fibres and vessels (tissue positions at frame 0).
    statics: Vec<Static>,
    /// Breathing during the stack, per frame: (first displaced plane, shift x, shift y), µm.
    breathing: Vec<Option<(usize, f64, f64)>>,
    truth: Tracks,
    /// Cells partly in view with their centre outside (`partial.csv`).
    partial: Detections,
}

/// A static structure of the tissue: one ellipsoid, its brightness per channel (× a cell's).
#[derive(Debug, Clone, Copy)]
struct Static {
    kind: &'static str,
    id: usize,
    pos: [f64; 3],
    axis: [f64; 3],
    a: f64,
    b: f64,
    amp: [f64; 2],
}

/// Splits a seed into independent streams (SplitMix64 of the combined words).
fn stream_seed(words: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &w in words {
        h ^= w.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6).wrapping_add(h >> 2);
        let mut z = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

fn rng_for(words: &[u64]) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(stream_seed(words))
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn unit_vector(rng: &mut ChaCha8Rng) -> [f64; 3] {
    loop {
        let v = [normal(rng), normal(rng), normal(rng)];
        let n = norm(v);
        if n > 1e-9 {
            return [v[0] / n, v[1] / n, v[2] / n];
        }
    }
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Complementary error function (Numerical Recipes' erfcc, fractional error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

impl Simulation {
    /// Simulates the motion of every cell, the drift and the debris, and builds the ground
    /// truth. Cheap: no image is rendered until [`Simulation::render`].
    pub fn new(config: &SynthConfig) -> Result<Self> {
        config.validate()?;
        let cfg = config.clone();
        let field = cfg.field_um();
        let [mxy, mz] = cfg.margin_um;
        let lo = [field[0][0] - mxy, field[1][0] - mxy, field[2][0] - mz];
        let hi = [field[0][1] + mxy, field[1][1] + mxy, field[2][1] + mz];
        let ext = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        let domain_volume = ext[0] * ext[1] * ext[2];
        let mut rng = rng_for(&[cfg.seed, 1]);
        let n_cells = (cfg.density_per_1e5_um3 * domain_volume / 1e5).round() as usize;
        let dt_min = cfg.frame_interval_s / 60.0;

        // Drift: a constant velocity (mostly in xy) plus jitter, and sudden jumps.
        let mut jumps = vec![false; cfg.frames];
        let drift = {
            let mut r = rng_for(&[cfg.seed, 2]);
            let theta = r.random::<f64>() * 2.0 * PI;
            let dir = [
                theta.cos() * 0.97,
                theta.sin() * 0.97,
                0.243 * if r.random::<bool>() { 1.0 } else { -1.0 },
            ];
            let mut d = vec![[0.0; 3]; cfg.frames];
            let mut base = [0.0; 3];
            let mut jr = rng_for(&[cfg.seed, 7]);
            for f in 1..cfg.frames {
                if cfg.jump_fraction > 0.0 && jr.random::<f64>() < cfg.jump_fraction {
                    let (len, th) = (4.0 + 6.0 * jr.random::<f64>(), jr.random::<f64>() * 2.0 * PI);
                    base[0] += len * th.cos();
                    base[1] += len * th.sin();
                    jumps[f] = true;
                }
                for a in 0..3 {
                    base[a] += dir[a] * cfg.drift_um_per_min * dt_min;
                    d[f][a] = base[a] + cfg.drift_jitter_um * normal(&mut r);
                }
            }
            d
        };
        // Breathing during the stack: (first displaced plane, shift x, shift y) per frame.
        let mut br = rng_for(&[cfg.seed, 8]);
        let breathing: Vec<Option<(usize, f64, f64)>> = (0..cfg.frames)
            .map(|_| {
                (cfg.size[2] > 2 && br.random::<f64>() < cfg.breathing_fraction).then(|| {
                    let nz = cfg.size[2];
                    let k0 = nz / 3 + (br.random::<f64>() * (nz / 3).max(1) as f64) as usize;
                    let (len, th) = (3.0 + 3.0 * br.random::<f64>(), br.random::<f64>() * 2.0 * PI);
                    (k0, len * th.cos(), len * th.sin())
                })
            })
            .collect();

        // Cells: persistent random walks in tissue coordinates.
        let mut cells = Vec::with_capacity(n_cells + 2 * cfg.touching_pairs);
        let log_range = [cfg.speed_um_per_min[0].ln(), cfg.speed_um_per_min[1].ln()];
        let n_total = n_cells + cfg.touching_pairs;
        for i in 0..n_total {
            let arrested = rng.random::<f64>() < cfg.arrested_fraction;
            let speed = if arrested {
                rng.random::<f64>() * cfg.arrested_speed_um_per_min
            } else {
                (log_range[0] + rng.random::<f64>() * (log_range[1] - log_range[0])).exp()
            };
            let diameter = cfg.diameter_um[0]
                + rng.random::<f64>() * (cfg.diameter_um[1] - cfg.diameter_um[0]);
            let reporter2 = rng.random::<f64>() < cfg.reporter2_fraction;
            let touching = i >= n_cells;
            // Phenomena from their own stream: the default scene's draws stay as they were.
            let mut trng = rng_for(&[cfg.seed, 6, i as u64]);
            let traits = Traits::draw(&cfg, &mut trng, i as u64);
            let speed = if traits.fast && !arrested {
                (1.2 + 0.8 * trng.random::<f64>()) * diameter / dt_min
            } else {
                speed
            };
            let mut pos = [0.0; 3];
            for a in 0..3 {
                pos[a] = lo[a] + rng.random::<f64>() * ext[a];
            }
            if touching {
                // Keep pairs inside the field so they are seen.
                for a in 0..3 {
                    pos[a] = field[a][0]
                        + (0.2 + 0.6 * rng.random::<f64>()) * (field[a][1] - field[a][0]);
                }
            }
            let mut dir = unit_vector(&mut rng);
            // Elongation grows with speed: round when arrested.
            let elong =
                1.0 + (cfg.max_elongation - 1.0) * (speed / cfg.speed_um_per_min[1]).min(1.0);
            let r = diameter / 2.0;
            let a_ax = r * elong.powf(2.0 / 3.0);
            let b_ax = r * elong.powf(-1.0 / 3.0);
            let mut states = Vec::with_capacity(cfg.frames);
            let kick = (2.0 * dt_min / cfg.persistence_min).sqrt();
            for f in 0..cfg.frames {
                if f > 0 {
                    let step = speed * dt_min;
                    for a in 0..3 {
                        pos[a] += dir[a] * step;
                    }
                    // Periodic in x, y across the margins; reflecting in z.
                    for a in 0..2 {
                        pos[a] = lo[a] + (pos[a] - lo[a]).rem_euclid(ext[a]);
                    }
                    if pos[2] < lo[2] {
                        pos[2] = 2.0 * lo[2] - pos[2];
                        dir[2] = dir[2].abs();
                    } else if pos[2] > hi[2] {
                        pos[2] = 2.0 * hi[2] - pos[2];
                        dir[2] = -dir[2].abs();
                    }
                    pos[2] = pos[2].clamp(lo[2], hi[2]);
                    let mut nd = [0.0; 3];
                    for a in 0..3 {
                        nd[a] = dir[a] + kick * normal(&mut rng);
                    }
                    let n = norm(nd);
                    if n > 1e-9 {
                        dir = [nd[0] / n, nd[1] / n, nd[2] / n];
                    }
                }
                let img = [pos[0] + drift[f][0], pos[1] + drift[f][1], pos[2] + drift[f][2]];
                states.push(CellState { pos: img, axis: dir, a: a_ax, b: b_ax });
            }
            cells.push(Cell { diameter, speed, arrested, reporter2, touching, traits, states });
        }
        // Partners of touching pairs: side by side with the leader, moving with it.
        for p in 0..cfg.touching_pairs {
            let leader = cells[n_cells + p].clone();
            let side = {
                let u = leader.states[0].axis;
                let helper = if u[2].abs() < 0.9 { [0.0, 0.0, 1.0] } else { [1.0, 0.0, 0.0] };
                let c = [
                    u[1] * helper[2] - u[2] * helper[1],
                    u[2] * helper[0] - u[0] * helper[2],
                    u[0] * helper[1] - u[1] * helper[0],
                ];
                let n = norm(c);
                [c[0] / n, c[1] / n, c[2] / n]
            };
            let diameter = cfg.diameter_um[0]
                + rng.random::<f64>() * (cfg.diameter_um[1] - cfg.diameter_um[0]);
            let gap = 0.5
                * (leader.states[0].b
                    + diameter / 2.0 * (leader.states[0].b / (leader.diameter / 2.0)))
                * 1.9;
            let states = leader
                .states
                .iter()
                .map(|s| {
                    let scale = diameter / leader.diameter;
                    CellState {
                        pos: [
                            s.pos[0] + side[0] * gap,
                            s.pos[1] + side[1] * gap,
                            s.pos[2] + side[2] * gap,
                        ],
                        axis: s.axis,
                        a: s.a * scale,
                        b: s.b * scale,
                    }
                })
                .collect();
            let reporter2 = rng.random::<f64>() < cfg.reporter2_fraction;
            let traits = Traits { seed: 1_000_000 + p as u64, ..leader.traits };
            cells.push(Cell {
                diameter,
                speed: leader.speed,
                arrested: leader.arrested,
                reporter2,
                touching: true,
                traits,
                states,
            });
        }

        // A swarm: cells packed round a point of the field, wandering slowly within it.
        if cfg.swarm_cells > 0 {
            let mut r = rng_for(&[cfg.seed, 9]);
            let dm = 0.5 * (cfg.diameter_um[0] + cfg.diameter_um[1]);
            let radius = 0.5 * dm * (cfg.swarm_cells as f64 / 0.45).cbrt();
            let centre: [f64; 3] = std::array::from_fn(|a| {
                let (lo, hi) = (field[a][0], field[a][1]);
                0.5 * (lo + hi) + 0.2 * (r.random::<f64>() - 0.5) * (hi - lo)
            });
            let flat = cfg.size[2] == 1;
            let mut placed: Vec<[f64; 3]> = Vec::new();
            for i in 0..cfg.swarm_cells {
                let diameter = cfg.diameter_um[0]
                    + r.random::<f64>() * (cfg.diameter_um[1] - cfg.diameter_um[0]);
                let mut p = centre;
                for _ in 0..200 {
                    let u = unit_vector(&mut r);
                    let rr = radius * r.random::<f64>().cbrt();
                    p = std::array::from_fn(|a| {
                        centre[a] + if flat && a == 2 { 0.0 } else { u[a] * rr }
                    });
                    if placed.iter().all(|q| norm(std::array::from_fn(|a| p[a] - q[a])) > 0.85 * dm)
                    {
                        break;
                    }
                }
                placed.push(p);
                let mut trng = rng_for(&[cfg.seed, 10, i as u64]);
                let mut traits = Traits::draw(&cfg, &mut trng, 2_000_000 + i as u64);
                traits.in_swarm = true;
                traits.fast = false;
                let mut pos = p;
                let states = (0..cfg.frames)
                    .map(|f| {
                        if f > 0 {
                            for a in 0..3 {
                                if !(flat && a == 2) {
                                    pos[a] += 1.5 * dt_min * normal(&mut r) / 3f64.sqrt();
                                }
                            }
                            let off: [f64; 3] = std::array::from_fn(|a| pos[a] - centre[a]);
                            let n = norm(off);
                            if n > radius {
                                pos = std::array::from_fn(|a| centre[a] + off[a] * radius / n);
                            }
                        }
                        let img = std::array::from_fn(|a| pos[a] + drift[f][a]);
                        CellState {
                            pos: img,
                            axis: [1.0, 0.0, 0.0],
                            a: diameter / 2.0,
                            b: diameter / 2.0,
                        }
                    })
                    .collect();
                cells.push(Cell {
                    diameter,
                    speed: 1.5,
                    arrested: false,
                    reporter2: r.random::<f64>() < cfg.reporter2_fraction,
                    touching: false,
                    traits,
                    states,
                });
            }
        }

        // Static structures: autofluorescent macrophage-like objects (a body and two lobes,
        // every channel), collagen fibres and vessels (bleeding into the cell channel).
        let mut r = rng_for(&[cfg.seed, 11]);
        let mut statics = Vec::new();
        let inside = |r: &mut ChaCha8Rng| -> [f64; 3] {
            std::array::from_fn(|a| {
                field[a][0] + (0.15 + 0.7 * r.random::<f64>()) * (field[a][1] - field[a][0])
            })
        };
        let flat = |mut u: [f64; 3]| {
            u[2] *= 0.2;
            let n = norm(u);
            [u[0] / n, u[1] / n, u[2] / n]
        };
        for id in 0..cfg.autofluorescent_count {
            let c = inside(&mut r);
            let (d, amp) = (12.0 + 4.0 * r.random::<f64>(), 3.0 + 2.0 * r.random::<f64>());
            statics.push(Static {
                kind: "autofluorescent",
                id,
                pos: c,
                axis: [1.0, 0.0, 0.0],
                a: d / 2.0,
                b: d / 2.0,
                amp: [amp, amp],
            });
            for _ in 0..2 {
                let u = flat(unit_vector(&mut r));
                let pos = std::array::from_fn(|a| c[a] + u[a] * d * 0.45);
                statics.push(Static {
                    kind: "autofluorescent",
                    id,
                    pos,
                    axis: u,
                    a: d * 0.35,
                    b: d * 0.22,
                    amp: [amp, amp],
                });
            }
        }
        // (kind, count, half-length µm, radius µm, brightness per channel × a cell's)
        let tubes = [
            ("fibre", cfg.fibre_count, 60.0, 0.6, [0.6, 0.1]),
            ("vessel", cfg.vessel_count, 400.0, 8.0, [0.25, 1.0]),
        ];
        for (kind, count, a, b, amp) in tubes {
            for id in 0..count {
                let axis = flat(unit_vector(&mut r));
                statics.push(Static { kind, id, pos: inside(&mut r), axis, a, b, amp });
            }
        }

        // Debris: static in the tissue, inside the field.
        let mut r = rng_for(&[cfg.seed, 3]);
        let debris = (0..cfg.debris_count)
            .map(|i| {
                let p: [f64; 3] = std::array::from_fn(|a| {
                    field[a][0] + r.random::<f64>() * (field[a][1] - field[a][0])
                });
                Debris {
                    debris_id: i,
                    x_um: p[0],
                    y_um: p[1],
                    z_um: p[2],
                    diameter_um: cfg.debris_diameter_um * (0.7 + 0.6 * r.random::<f64>()),
                    photons: cfg.debris_photons * (0.6 + 0.8 * r.random::<f64>()),
                }
            })
            .collect();

        // Low-frequency background: a few cosine modes of 60–250 µm wavelength.
        let mut r = rng_for(&[cfg.seed, 4]);
        let background_modes = (0..4)
            .map(|_| {
                let dir = unit_vector(&mut r);
                let lambda = 60.0 + 190.0 * r.random::<f64>();
                let k = 2.0 * PI / lambda;
                ([dir[0] * k, dir[1] * k, dir[2] * k * 0.3], r.random::<f64>() * 2.0 * PI)
            })
            .collect();

        let (truth, partial) = build_truth(&cfg, &cells, &jumps, &breathing);
        Ok(Simulation {
            config: cfg,
            cells,
            debris,
            statics,
            breathing,
            drift,
            background_modes,
            truth,
            partial,
        })
    }

    /// The configuration simulated.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// Ground truth: `track_id, frame, t_s, x_um, y_um, z_um` and the extra columns
    /// `diameter_um, arrested, cell_id, speed_um_min, touching, reporter2`; one row per cell
    /// per frame in which its centre lies inside the imaged volume.
    pub fn truth(&self) -> &Tracks {
        &self.truth
    }

    /// Cumulative tissue drift since frame 0, per frame, µm (x, y, z).
    pub fn drift(&self) -> &[[f64; 3]] {
        &self.drift
    }

    /// The static specks (positions at frame 0).
    pub fn debris(&self) -> &[Debris] {
        &self.debris
    }

    /// Everything rendered in `frame`, `channel` but the debris and the background: each cell's
    /// body (and its pseudopods, uropod, processes), the static structures.
    fn parts(&self, frame: usize, channel: usize, cell_gain: f64) -> Vec<Part> {
        let cfg = &self.config;
        let laser = 1.0 - cfg.laser_drift * frame as f64 / (cfg.frames.max(2) - 1) as f64;
        let mut parts = Vec::new();
        for c in self.cells.iter().filter(|c| channel == 0 || c.reporter2) {
            let st = &c.states[frame];
            let t = &c.traits;
            let mut amp = cell_gain * if t.brightness == 0.0 { 1.0 } else { t.brightness };
            let mut r = rng_for(&[cfg.seed, 12, t.seed, frame as u64]);
            if t.flicker {
                amp *= 0.5 + r.random::<f64>();
            }
            if laser != 1.0 {
                amp *= laser;
            }
            let texture = t.textured.then_some(t.phase);
            let body =
                Part { pos: st.pos, axis: st.axis, a: st.a, b: st.b, amp, texture, is_cell: true };
            parts.push(body);
            let unit = |v: [f64; 3]| {
                let n = norm(v).max(1e-9);
                [v[0] / n, v[1] / n, v[2] / n]
            };
            let at = |u: [f64; 3], d: f64| std::array::from_fn(|a| st.pos[a] + u[a] * d);
            if t.amoeboid {
                // Pseudopods towards the front, redrawn each frame; a uropod behind.
                for _ in 0..1 + (r.random::<f64>() < 0.5) as usize {
                    let w = unit_vector(&mut r);
                    let u = unit(std::array::from_fn(|a| st.axis[a] + 0.9 * w[a]));
                    let (pa, pb) = (0.55 * st.b, 0.3 * st.b);
                    parts.push(Part {
                        pos: at(u, st.b + 0.5 * pa),
                        axis: u,
                        a: pa,
                        b: pb,
                        amp,
                        texture: None,
                        is_cell: true,
                    });
                }
                let back = std::array::from_fn(|a| -st.axis[a]);
                parts.push(Part {
                    pos: at(back, st.a * 0.95),
                    axis: back,
                    a: 0.3 * st.b,
                    b: 0.3 * st.b,
                    amp,
                    texture: None,
                    is_cell: true,
                });
            }
            if t.dendritic {
                let mut pr = rng_for(&[cfg.seed, 13, t.seed]);
                for _ in 0..2 + (pr.random::<f64>() * 3.0) as usize {
                    let mut u = unit_vector(&mut pr);
                    u[2] *= 0.3;
                    let u = unit(u);
                    let len = (1.0 + pr.random::<f64>()) * c.diameter;
                    parts.push(Part {
                        pos: at(u, 0.8 * st.b + 0.5 * len),
                        axis: u,
                        a: 0.5 * len,
                        b: 0.5,
                        amp: 0.8 * amp,
                        texture: None,
                        is_cell: true,
                    });
                }
            }
        }
        let d = self.drift[frame];
        for s in &self.statics {
            let pos = std::array::from_fn(|a| s.pos[a] + d[a]);
            let amp = s.amp[channel.min(1)];
            parts.push(Part {
                pos,
                axis: s.axis,
                a: s.a,
                b: s.b,
                amp,
                texture: None,
                is_cell: false,
            });
        }
        parts
    }

    /// Renders the (z, y, x) uint16 volume of `frame`, `channel`.
    pub fn render(&self, frame: usize, channel: usize) -> Result<Array3<u16>> {
        let cfg = &self.config;
        if frame >= cfg.frames || channel >= cfg.channels {
            return Err(Error::param(
                "frame",
                format!(
                    "frame {frame}, channel {channel} outside {} frames × {} channels",
                    cfg.frames, cfg.channels
                ),
            ));
        }
        let [nx, ny, nz] = cfg.size;
        let [vx, vy, vz] = cfg.voxel_um;
        let bleach = (1.0 - cfg.bleach_per_frame).powi(frame as i32);
        let [sxy, sz] = cfg.psf_sigma_um;
        // Per-channel brightness: channel 1 sees debris and second-reporter cells.
        let (cell_gain, debris_gain, bg_gain) =
            if channel == 0 { (1.0, 1.0, 1.0) } else { (0.8, 1.2, 0.8) };
        let parts = self.parts(frame, channel, cell_gain);
        let breathing = self.breathing[frame];
        let mut vol = Array3::<u16>::zeros((nz, ny, nx));
        vol.as_slice_mut().expect("standard layout").par_chunks_mut(nx * ny).enumerate().for_each(
            |(k, plane)| {
                let z = k as f64 * vz;
                let atten = (-z.max(0.0) / cfg.attenuation_length_um).exp();
                // Breathing: the planes from k0 on see the tissue displaced.
                let shift = match breathing {
                    Some((k0, dx, dy)) if k >= k0 => [dx, dy],
                    _ => [0.0, 0.0],
                };
                let mut lambda = vec![0.0f64; nx * ny];
                // Uneven background.
                for j in 0..ny {
                    let y = j as f64 * vy;
                    for i in 0..nx {
                        let x = i as f64 * vx;
                        let mut m = 0.0;
                        for (kv, ph) in &self.background_modes {
                            m += (kv[0] * x + kv[1] * y + kv[2] * z + ph).cos();
                        }
                        m /= self.background_modes.len().max(1) as f64;
                        lambda[j * nx + i] = cfg.background_photons
                            * bg_gain
                            * (1.0 + cfg.background_unevenness * m)
                            * atten;
                    }
                }
                // Cells and structures: ellipsoids blurred by the PSF.
                // Cells take the brightest of their parts and of each other where they meet (a
                // voxel holds one cell); structures add to them.
                let mut cell_layer = vec![0.0f64; nx * ny];
                for p in &parts {
                    let c =
                        Part { pos: [p.pos[0] + shift[0], p.pos[1] + shift[1], p.pos[2]], ..*p };
                    let amp = cfg.cell_photons * p.amp * bleach * atten;
                    match p.is_cell {
                        true => splat(&mut cell_layer, cfg, z, &c, amp, f64::max),
                        false => splat(&mut lambda, cfg, z, &c, amp, |a, b| a + b),
                    }
                }
                for (l, c) in lambda.iter_mut().zip(&cell_layer) {
                    *l += c;
                }
                // Debris: small bright Gaussian specks, moving with the drift.
                let d = self.drift[frame];
                for sp in &self.debris {
                    let pos =
                        [sp.x_um + d[0] + shift[0], sp.y_um + d[1] + shift[1], sp.z_um + d[2]];
                    let r = sp.diameter_um / 4.0;
                    let (gx, gz) = ((r * r + sxy * sxy).sqrt(), (r * r + sz * sz).sqrt());
                    let dz = z - pos[2];
                    if dz.abs() > 4.0 * gz {
                        continue;
                    }
                    let wz = (-dz * dz / (2.0 * gz * gz)).exp();
                    let peak = sp.photons * debris_gain * bleach * atten * wz;
                    let reach = 4.0 * gx;
                    let i0 = ((pos[0] - reach) / vx).floor().max(0.0) as usize;
                    let i1 = (((pos[0] + reach) / vx).ceil() as i64).min(nx as i64 - 1);
                    let j0 = ((pos[1] - reach) / vy).floor().max(0.0) as usize;
                    let j1 = (((pos[1] + reach) / vy).ceil() as i64).min(ny as i64 - 1);
                    for j in j0 as i64..=j1 {
                        let dy = j as f64 * vy - pos[1];
                        for i in i0 as i64..=i1 {
                            let dx = i as f64 * vx - pos[0];
                            lambda[j as usize * nx + i as usize] +=
                                peak * (-(dx * dx + dy * dy) / (2.0 * gx * gx)).exp();
                        }
                    }
                }
                // Noise: Poisson photons, gain, offset, Gaussian read noise.
                let mut rng = rng_for(&[cfg.seed, 100, frame as u64, channel as u64, k as u64]);
                for (out, &l) in plane.iter_mut().zip(lambda.iter()) {
                    let photons = poisson(&mut rng, l);
                    let v = cfg.offset + cfg.gain * photons + cfg.read_noise * normal(&mut rng);
                    *out = v.round().clamp(0.0, 65535.0) as u16;
                }
            },
        );
        Ok(vol)
    }

    /// Writes the recording and its ground truth into `dir`: `recording.tif` (ImageJ
    /// hyperstack, uint16), `ground_truth.csv`, `drift.csv` (`frame,dx_um,dy_um,dz_um`, the
    /// tissue's displacement since frame 0), `debris.csv` and `synth.json` (the config).
    /// Streams one timepoint at a time.
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.write_with_progress(dir, false, &|| ())
    }

    /// As [`Simulation::write`], deflate-compressing the recording when `deflate` is set and
    /// calling `tick` after each timepoint is written.
    pub fn write_with_progress(&self, dir: &Path, deflate: bool, tick: &dyn Fn()) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let cfg = &self.config;
        let (path, shape, cal) = (dir.join("recording.tif"), cfg.shape(), cfg.calibration());
        let mut w = if deflate {
            HyperstackWriter::create_deflate(path, shape, SampleType::U16, &cal)?
        } else {
            HyperstackWriter::create(path, shape, SampleType::U16, &cal)?
        };
        for t in 0..cfg.frames {
            let vols = (0..cfg.channels)
                .map(|c| self.render(t, c).map(Volume::U16))
                .collect::<Result<Vec<_>>>()?;
            w.write_timepoint(&vols)?;
            tick();
        }
        w.finish()?;
        self.write_truth(dir)
    }

    /// Writes only the ground truth (`ground_truth.csv`, `drift.csv`, `debris.csv`,
    /// `partial.csv` — cells partly in view with their centre outside, which `eval --partial`
    /// counts neither way —, `structures.csv` — autofluorescent objects, fibres, vessels at
    /// frame 0 — and `synth.json`, the preset and every resolved value) into `dir`, no images — for linking and metrics benchmarks.
    pub fn write_truth(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let cfg = &self.config;
        self.truth.write_csv(dir.join("ground_truth.csv"))?;
        write_atomic(&dir.join("drift.csv"), |w| {
            writeln!(w, "frame,dx_um,dy_um,dz_um")?;
            for (f, d) in self.drift.iter().enumerate() {
                writeln!(w, "{f},{},{},{}", fmt_f64(d[0]), fmt_f64(d[1]), fmt_f64(d[2]))?;
            }
            Ok(())
        })?;
        write_atomic(&dir.join("debris.csv"), |w| {
            writeln!(w, "debris_id,x_um,y_um,z_um,diameter_um,photons")?;
            for d in &self.debris {
                writeln!(
                    w,
                    "{},{},{},{},{},{}",
                    d.debris_id,
                    fmt_f64(d.x_um),
                    fmt_f64(d.y_um),
                    fmt_f64(d.z_um),
                    fmt_f64(d.diameter_um),
                    fmt_f64(d.photons)
                )?;
            }
            Ok(())
        })?;
        self.partial.write_csv(dir.join("partial.csv"))?;
        write_atomic(&dir.join("structures.csv"), |w| {
            writeln!(w, "kind,id,x_um,y_um,z_um,semi_axis_um,axis_x,axis_y,axis_z,radius_um")?;
            for s in &self.statics {
                let p = s.pos.map(fmt_f64);
                let u = s.axis.map(fmt_f64);
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{}",
                    s.kind,
                    s.id,
                    p[0],
                    p[1],
                    p[2],
                    fmt_f64(s.a),
                    u[0],
                    u[1],
                    u[2],
                    fmt_f64(s.b)
                )?;
            }
            Ok(())
        })?;
        let json = serde_json::to_string_pretty(cfg).map_err(|e| Error::data(e.to_string()))?;
        write_atomic(&dir.join("synth.json"), |w| w.write_all(json.as_bytes()))
    }
}

/// One ellipsoid to render: a cell's body, a pseudopod, a process or a static structure.
#[derive(Debug, Clone, Copy)]
struct Part {
    pos: [f64; 3],
    axis: [f64; 3],
    a: f64,
    b: f64,
    /// Brightness × a cell's.
    amp: f64,
    /// Texture phases (granules), if textured.
    texture: Option<[f64; 3]>,
    /// Part of a cell (else a static structure).
    is_cell: bool,
}

/// Adds one ellipsoid blurred by the PSF (an erfc profile across its surface) to the plane at
/// depth `z` (µm), `amp` photons inside.
fn splat(
    lambda: &mut [f64],
    cfg: &SynthConfig,
    z: f64,
    c: &Part,
    amp: f64,
    combine: fn(f64, f64) -> f64,
) {
    let [nx, ny, _] = cfg.size;
    let [vx, vy, _] = cfg.voxel_um;
    let [sxy, sz] = cfg.psf_sigma_um;
    let reach_xy = c.a + 4.0 * sxy + 1.0;
    let reach_z = c.a + 4.0 * sz;
    if (z - c.pos[2]).abs() > reach_z {
        return;
    }
    let i0 = ((c.pos[0] - reach_xy) / vx).floor().max(0.0) as usize;
    let i1 = (((c.pos[0] + reach_xy) / vx).ceil().max(-1.0) as i64).min(nx as i64 - 1);
    let j0 = ((c.pos[1] - reach_xy) / vy).floor().max(0.0) as usize;
    let j1 = (((c.pos[1] + reach_xy) / vy).ceil().max(-1.0) as i64).min(ny as i64 - 1);
    if i1 < i0 as i64 || j1 < j0 as i64 {
        return;
    }
    let u = c.axis;
    let qz = z - c.pos[2];
    let k = 2.0 * PI / 4.0;
    for j in j0..=j1 as usize {
        let qy = j as f64 * vy - c.pos[1];
        for i in i0..=i1 as usize {
            let qx = i as f64 * vx - c.pos[0];
            let par = qx * u[0] + qy * u[1] + qz * u[2];
            let p = [qx - par * u[0], qy - par * u[1], qz - par * u[2]];
            let perp2 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
            let rho = ((par / c.a).powi(2) + perp2 / (c.b * c.b)).sqrt();
            let q = (qx * qx + qy * qy + qz * qz).sqrt();
            let s = if rho > 1e-12 { q * (1.0 - 1.0 / rho) } else { -c.b };
            // Surface normal and the PSF's width along it.
            let n = [
                par * u[0] / (c.a * c.a) + p[0] / (c.b * c.b),
                par * u[1] / (c.a * c.a) + p[1] / (c.b * c.b),
                par * u[2] / (c.a * c.a) + p[2] / (c.b * c.b),
            ];
            let nn = norm(n);
            let sigma = if nn > 1e-12 {
                let (nx_, ny_, nz_) = (n[0] / nn, n[1] / nn, n[2] / nn);
                (sxy * sxy * (nx_ * nx_ + ny_ * ny_) + sz * sz * nz_ * nz_).sqrt()
            } else {
                sxy
            };
            let mut v = 0.5 * erfc(s / (std::f64::consts::SQRT_2 * sigma));
            if let Some(ph) = c.texture {
                v *= 1.0
                    + 0.4
                        * (k * qx + ph[0]).cos()
                        * (k * qy + ph[1]).cos()
                        * (k * qz + ph[2]).cos();
            }
            if v > 1e-4 {
                let l = &mut lambda[j * nx + i];
                *l = combine(*l, amp * v);
            }
        }
    }
}

/// Poisson deviate: inversion for small means, PTRS (rand_distr) for large ones.
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 30.0 {
        let u: f64 = rng.random();
        let mut p = (-lambda).exp();
        let mut f = p;
        let mut k = 0.0;
        while u > f && k < 1000.0 {
            k += 1.0;
            p *= lambda / k;
            f += p;
        }
        k
    } else {
        Poisson::new(lambda).map(|d| d.sample(rng)).unwrap_or(lambda)
    }
}

/// The ground truth (one row per cell per frame with its centre in view, with a 0/1 column
/// per phenomenon) and the cells partly in view with their centre outside.
fn build_truth(
    cfg: &SynthConfig,
    cells: &[Cell],
    jumps: &[bool],
    breathing: &[Option<(usize, f64, f64)>],
) -> (Tracks, Detections) {
    let field = cfg.field_um();
    let flat = cfg.size[2] == 1;
    let inside = |p: &[f64; 3]| (0..3).all(|a| p[a] >= field[a][0] && p[a] < field[a][1]);
    // Within `r` of the field on every axis (a 2D section's z: the slab itself).
    let near = |p: &[f64; 3], r: f64| {
        (0..3).all(|a| {
            let r = if flat && a == 2 { 0.0 } else { r };
            p[a] >= field[a][0] - r && p[a] < field[a][1] + r
        })
    };
    let mut t = Tracks { z_um: Some(Vec::new()), ..Default::default() };
    let mut partial = Detections::new(true);
    let mut ids = Vec::new();
    const FLAGS: [&str; 11] = [
        "amoeboid",
        "dendritic",
        "textured",
        "touching",
        "in_swarm",
        "dim",
        "flicker",
        "fast",
        "cut",
        "breathing",
        "jump",
    ];
    let (mut diam, mut arrested, mut cell_id, mut speed, mut rep2) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut flags: Vec<Vec<f64>> = vec![Vec::new(); FLAGS.len()];
    let mut next_id = 0u64;
    // Rows ordered by frame, then cell, like a tracker's output read frame by frame; ids
    // are assigned at each entry into the field.
    let mut current: Vec<Option<u64>> = vec![None; cells.len()];
    for f in 0..cfg.frames {
        for (ci, c) in cells.iter().enumerate() {
            let s = &c.states[f];
            if !inside(&s.pos) {
                current[ci] = None;
                if near(&s.pos, s.b) {
                    partial.push(f as u32, s.pos[0], s.pos[1], Some(s.pos[2]));
                }
                continue;
            }
            let id = *current[ci].get_or_insert_with(|| {
                next_id += 1;
                next_id - 1
            });
            ids.push(id);
            t.frame.push(f as u32);
            t.t_s.push(f as f64 * cfg.frame_interval_s);
            t.x_um.push(s.pos[0]);
            t.y_um.push(s.pos[1]);
            t.z_um.as_mut().expect("3D").push(s.pos[2]);
            diam.push(c.diameter);
            arrested.push(if c.arrested { 1.0 } else { 0.0 });
            cell_id.push(ci as f64);
            speed.push(c.speed);
            rep2.push(if c.reporter2 { 1.0 } else { 0.0 });
            let tr = &c.traits;
            let cut = !near(&s.pos, -s.b);
            let breath = breathing[f]
                .is_some_and(|(k0, _, _)| s.pos[2] + s.a >= (k0 as f64 - 0.5) * cfg.voxel_um[2]);
            let values = [
                tr.amoeboid,
                tr.dendritic,
                tr.textured,
                c.touching,
                tr.in_swarm,
                tr.brightness > 0.0 && tr.brightness < 1.0,
                tr.flicker,
                tr.fast,
                cut,
                breath,
                jumps[f],
            ];
            for (col, v) in flags.iter_mut().zip(values) {
                col.push(if v { 1.0 } else { 0.0 });
            }
        }
    }
    t.track_id = TrackIds::Int(ids);
    t.extra = vec![
        ("diameter_um".into(), Column::Float(diam)),
        ("arrested".into(), Column::Float(arrested)),
        ("cell_id".into(), Column::Float(cell_id)),
        ("speed_um_min".into(), Column::Float(speed)),
        ("reporter2".into(), Column::Float(rep2)),
    ];
    for (name, col) in FLAGS.iter().zip(flags) {
        t.extra.push((name.to_string(), Column::Float(col)));
    }
    (t, partial)
}
