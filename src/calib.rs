//! Spatial and temporal calibration of a recording.
//!
//! Every value says where it came from ([`Source`]): the file, the user, or nothing at all.
//! A missing value stays missing (`None`) — it is never silently replaced by 1 µm or 1 s;
//! stages that need it ask for it with [`Calibration::voxel_size_um`] or
//! [`Calibration::frame_interval_s`], which return a clear error.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a calibration value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Read from the file's metadata.
    File,
    /// Given by the caller (always wins over the file).
    User,
    /// A documented default (e.g. the simulator's own settings).
    Default,
}

impl Source {
    /// Its name: `file`, `user` or `default` (as `summary.json` and `info --json` write it).
    pub fn name(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::User => "user",
            Source::Default => "default",
        }
    }
}

/// A calibration value with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// The value, in the unit named by the field holding it.
    pub value: f64,
    /// Where it came from.
    pub source: Source,
}

impl Value {
    /// A value read from the file.
    pub fn file(value: f64) -> Self {
        Value { value, source: Source::File }
    }
    /// A value given by the user.
    pub fn user(value: f64) -> Self {
        Value { value, source: Source::User }
    }
}

/// Voxel size in µm along x, y and z.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VoxelSize {
    /// Width of a voxel along x (columns), µm.
    pub x: f64,
    /// Height of a voxel along y (rows), µm.
    pub y: f64,
    /// Depth of a voxel along z (planes), µm.
    pub z: f64,
}

impl VoxelSize {
    /// A voxel size from x, y, z in µm, each finite and > 0.
    pub fn new(x: f64, y: f64, z: f64) -> Result<Self> {
        for (name, v) in [("x", x), ("y", y), ("z", z)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::param(
                    "read.voxel_size_um",
                    format!("{name} must be a positive number of µm, got {v}"),
                ));
            }
        }
        Ok(VoxelSize { x, y, z })
    }

    /// Parses the command-line form `X,Y,Z` (µm).
    pub fn parse(s: &str) -> Result<Self> {
        let v = parse_list(s, 3, "read.voxel_size_um")?;
        VoxelSize::new(v[0], v[1], v[2])
    }

    /// As an `[x, y, z]` array.
    pub fn to_array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }
}

/// `s` checked as a frame interval: finite and > 0 s (the error names `read.frame_interval_s`,
/// the command line's `--frame-interval`).
pub fn frame_interval(s: f64) -> Result<f64> {
    if s.is_finite() && s > 0.0 {
        Ok(s)
    } else {
        Err(Error::param("read.frame_interval_s", format!("must be > 0 s, got {s}")))
    }
}

/// Parses `n` comma-separated numbers, naming `param` in the error.
pub(crate) fn parse_list(s: &str, n: usize, param: &str) -> Result<Vec<f64>> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != n {
        return Err(Error::param(
            param,
            format!("expected {n} comma-separated numbers, got `{s}`"),
        ));
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<f64>().map_err(|_| Error::param(param, format!("`{p}` is not a number")))
        })
        .collect()
}

/// The calibration of a recording: voxel size (µm), frame interval (s), per-frame times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Voxel width along x, µm.
    pub voxel_x_um: Option<Value>,
    /// Voxel height along y, µm.
    pub voxel_y_um: Option<Value>,
    /// Voxel depth along z (the z step), µm.
    pub voxel_z_um: Option<Value>,
    /// Time between timepoints, s.
    pub frame_interval_s: Option<Value>,
    /// Acquisition time of each timepoint, s from the start, when the file gives them.
    pub frame_times_s: Option<Vec<f64>>,
}

impl Calibration {
    /// A calibration given entirely by the caller.
    pub fn new(voxel: VoxelSize, frame_interval_s: f64) -> Self {
        Calibration {
            voxel_x_um: Some(Value::user(voxel.x)),
            voxel_y_um: Some(Value::user(voxel.y)),
            voxel_z_um: Some(Value::user(voxel.z)),
            frame_interval_s: Some(Value::user(frame_interval_s)),
            frame_times_s: None,
        }
    }

    /// True when the voxel size (all three axes) and the frame interval are known.
    pub fn is_calibrated(&self) -> bool {
        self.voxel_x_um.is_some()
            && self.voxel_y_um.is_some()
            && self.voxel_z_um.is_some()
            && self.frame_interval_s.is_some()
    }

    /// The voxel size, or an error naming what is missing and how to give it.
    pub fn voxel_size_um(&self) -> Result<VoxelSize> {
        match (self.voxel_x_um, self.voxel_y_um, self.voxel_z_um) {
            (Some(x), Some(y), Some(z)) => Ok(VoxelSize { x: x.value, y: y.value, z: z.value }),
            _ => Err(Error::param(
                "read.voxel_size_um",
                "the recording does not give its voxel size; pass it as X,Y,Z in µm",
            )),
        }
    }

    /// The frame interval, or an error saying how to give it.
    pub fn frame_interval_s(&self) -> Result<f64> {
        self.frame_interval_s.map(|v| v.value).ok_or_else(|| {
            Error::param(
                "read.frame_interval_s",
                "the recording does not give its frame interval; pass it in seconds",
            )
        })
    }

    /// Applies the caller's overrides, which always win over the file.
    #[must_use]
    pub fn with_overrides(
        mut self,
        voxel: Option<VoxelSize>,
        frame_interval_s: Option<f64>,
    ) -> Self {
        if let Some(v) = voxel {
            self.voxel_x_um = Some(Value::user(v.x));
            self.voxel_y_um = Some(Value::user(v.y));
            self.voxel_z_um = Some(Value::user(v.z));
        }
        if let Some(f) = frame_interval_s {
            self.frame_interval_s = Some(Value::user(f));
        }
        self
    }

    /// Human-readable warnings about missing calibration (empty when calibrated).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let missing: Vec<&str> = [
            ("x", self.voxel_x_um.is_none()),
            ("y", self.voxel_y_um.is_none()),
            ("z", self.voxel_z_um.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(a, _)| *a)
        .collect();
        if !missing.is_empty() {
            w.push(format!(
                "no voxel size along {} in the file: give --voxel-size X,Y,Z (µm)",
                missing.join(", ")
            ));
        }
        if self.frame_interval_s.is_none() {
            w.push("no frame interval in the file: give --frame-interval S (seconds)".into());
        }
        w
    }

    /// The time of `frame` in seconds: the file's per-frame time when it has one, else
    /// `frame × frame interval`; `None` when neither is known.
    pub fn time_s(&self, frame: usize) -> Option<f64> {
        if let Some(times) = &self.frame_times_s {
            if let Some(t) = times.get(frame) {
                return Some(*t);
            }
        }
        self.frame_interval_s.map(|f| frame as f64 * f.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_missing_is_reported() {
        let c = Calibration { voxel_x_um: Some(Value::file(0.5)), ..Default::default() };
        assert!(!c.is_calibrated());
        assert_eq!(c.warnings().len(), 2);
        assert!(c.voxel_size_um().is_err());
        let c = c.with_overrides(Some(VoxelSize::new(0.8, 0.8, 3.0).unwrap()), Some(30.0));
        assert!(c.is_calibrated());
        assert_eq!(c.voxel_x_um.unwrap(), Value::user(0.8));
        assert_eq!(c.time_s(2), Some(60.0));
    }

    #[test]
    fn parse_voxel_size() {
        assert_eq!(VoxelSize::parse("0.8, 0.8,3").unwrap(), VoxelSize { x: 0.8, y: 0.8, z: 3.0 });
        assert!(VoxelSize::parse("0.8,0.8").is_err());
        assert!(VoxelSize::parse("0.8,0,3").is_err());
        assert!(VoxelSize::parse("a,b,c").is_err());
    }
}
