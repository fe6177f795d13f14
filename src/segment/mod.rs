//! Segmentation: find every leukocyte in each 3D timepoint.
//!
//! [`segment`] turns one (z, y, x) volume into [`Detections`]; [`segment_recording`] streams a
//! [`Recording`](crate::Recording)'s timepoints through it in parallel, holding only a few in memory. Every size
//! in [`SegmentConfig`] is in µm and converted per axis (voxels are anisotropic); every default
//! follows from one number, the expected cell diameter.
//!
//! The steps, each configurable:
//!
//! 1. optional channel arithmetic (e.g. subtract a scaled autofluorescence channel);
//! 2. optional binning in x and y to a working grid of about diameter/4 (auto; the input's own
//!    grid when its voxels are already that large — [`SegmentConfig::bin_xy`]);
//! 3. background subtraction ([`Background`]: large Gaussian or top-hat, on block medians);
//! 4. denoising by an anisotropic Gaussian ([`SegmentConfig::denoise_sigma_um`]);
//! 5. a detector behind the [`Detector`] trait, chosen by [`DetectorConfig`]:
//!    [`ThresholdDetector`] (threshold + connected components + seeded watershed) or
//!    [`BlobDetector`] (LoG/DoG + non-maximum suppression + sub-voxel fit);
//! 6. a volume filter (µm³);
//! 7. measurements ([`features`]) — intensity-weighted centroid, volume, intensities of every
//!    channel at full resolution, bounding box, principal axes, elongation, sphericity, border
//!    flags — and, for objects cut by the border, their centre extrapolated from the areas of
//!    their cross-sections ([`features::truncated_centre`]); objects whose centre then lies
//!    outside the imaged volume are dropped, as ground truth counts a cell only when its
//!    centre is inside.
//!
//! ## Columns of the detections
//!
//! `frame, x_um, y_um, z_um` — the position: the blob detector's sub-voxel peak or the threshold
//! detector's intensity-weighted centroid, extrapolated for cells cut by the border;
//! `volume_um3`; `mean_intensity, max_intensity, sum_intensity` (raw values of the segmented
//! channel); `quality`; `label` (the object's value in [`Segmentation::labels`]);
//! `centroid_{x,y,z}_um`; `bbox_{min,max}_{x,y,z}_um`; `semi_axis_{1,2,3}_um` (longest
//! first); `major_axis_{x,y,z}`; `elongation`; `sphericity`; `touches_border_xy`,
//! `touches_border_z` (0/1); `{mean,max,sum}_intensity_c{N}` for every channel N; and
//! `artefact`: empty for a cell, else the rule that fired ([`ARTEFACT_RULES`]: `too_large`,
//! more than 4 expected cell volumes; `too_bright`, a mean contrast above 3.5× the frame's
//! median object's — autofluorescent macrophages, bright debris). Flagged rows stay in the
//! table; the linker leaves them out and `eval` counts them neither way. A one-plane (2D)
//! recording gives 2D detections, without the z columns.
//!
//! ```
//! use leukotrack::segment::{segment, SegmentConfig};
//! use leukotrack::synth::{Simulation, SynthConfig};
//! use leukotrack::Volume;
//!
//! # fn main() -> leukotrack::Result<()> {
//! let sim = Simulation::new(&SynthConfig { frames: 1, size: [96, 96, 12], ..Default::default() })?;
//! let volume = Volume::U16(sim.render(0, 0)?);
//! let cal = sim.config().calibration();
//! let det = segment(&volume, &cal, &SegmentConfig::default())?;
//! assert!(det.column("volume_um3").is_some());
//! # Ok(())
//! # }
//! ```

pub mod blob;
mod config;
pub mod features;
pub mod filter;
pub mod hybrid;
pub mod label;
pub mod scale;
pub mod split;
pub mod stream;
pub mod threshold;

pub use stream::{estimate_diameter, frames, segment_recording, Frame, Frames, SegmentReport};

use ndarray::Array3;
use rayon::prelude::*;

use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::io::{Volume, VolumeView};
use crate::table::{Column, Detections};
use features::{Grid, ObjectFeatures};
use filter::Dims;

#[doc(inline)]
pub use blob::BlobDetector;
pub use config::{Background, ChannelMath, DetectorConfig, SegmentConfig};
#[doc(inline)]
pub use hybrid::HybridDetector;
#[doc(inline)]
pub use threshold::{SplitSeeds, ThresholdDetector};

/// What a detector sees: the working-grid image after background subtraction (and its
/// denoised version), the grid's voxel size and the expected cell size.
#[derive(Debug, Clone, Copy)]
pub struct DetectorInput<'a> {
    /// Background-subtracted image.
    pub signal: &'a [f32],
    /// `signal` after the denoising Gaussian.
    pub smooth: &'a [f32],
    /// Working-grid sizes.
    pub dims: Dims,
    /// Working voxel size (x, y, z), µm.
    pub voxel_um: [f64; 3],
    /// Expected cell diameter, µm.
    pub cell_diameter_um: f64,
}

/// What a detector finds: a label image on the working grid and, per object, its quality and
/// (optionally) a refined position in working-voxel coordinates (x, y, z).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Objects {
    /// Labels 1..=count (0 = background), working grid.
    pub labels: Vec<u32>,
    /// Number of objects.
    pub count: usize,
    /// Quality of each object (detector-specific; larger = more certain).
    pub quality: Vec<f64>,
    /// Refined position of each object in working-voxel coordinates, when the detector has
    /// one (the blob detector's sub-voxel peak); else the centroid is used.
    pub position: Vec<Option<[f64; 3]>>,
}

/// A detector: finds objects in a prepared image. Implementations are interchangeable, like
/// TrackMate's detectors.
pub trait Detector: Sync {
    /// Short name (`threshold`, `blob`).
    fn name(&self) -> &'static str;
    /// Checks the settings, naming the first parameter out of range.
    fn validate(&self) -> Result<()>;
    /// Finds the objects.
    fn detect(&self, input: &DetectorInput<'_>) -> Result<Objects>;
}

/// The result of segmenting one timepoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// One row per detected cell.
    pub detections: Detections,
    /// Whether the timepoint was constant (empty, all zero or one value): nothing to detect.
    pub blank: bool,
    /// Labels on the working grid.
    work_labels: Vec<u32>,
    grid: Grid,
}

impl Segmentation {
    /// The label image at the input's resolution (z, y, x): 0 = background, k = the detection
    /// whose `label` column is k. Built on demand (each input voxel takes its bin's label).
    pub fn labels(&self) -> Array3<u32> {
        upsample_labels(&self.work_labels, &self.grid)
    }
}

/// Segments one (z, y, x) volume (timepoint 0; see [`segment_frame`] for several channels and
/// a frame number).
pub fn segment(
    volume: &Volume,
    calibration: &Calibration,
    cfg: &SegmentConfig,
) -> Result<Detections> {
    segment_frame(std::slice::from_ref(volume), 0, 0, calibration, cfg).map(|s| s.detections)
}

fn check_finite(v: &VolumeView<'_>, frame: usize, channel: usize) -> Result<()> {
    if let VolumeView::F32(a) = v {
        if let Some((idx, val)) = a.indexed_iter().find(|(_, x)| !x.is_finite()) {
            return Err(Error::Frame {
                path: None,
                frame,
                reason: format!(
                    "channel {channel}: voxel (z={}, y={}, x={}) is {val}: float data must be finite",
                    idx.0, idx.1, idx.2
                ),
            });
        }
    }
    Ok(())
}

/// The working image: the (optionally channel-corrected) input as f32, binned by `bin` in x
/// and y (block means).
fn working_image(
    primary: &VolumeView<'_>,
    sub: Option<(&VolumeView<'_>, f32)>,
    grid: &Grid,
) -> Vec<f32> {
    let sub_f32 = sub.map(|(v, k)| (v.to_f32(), k));
    let sub_ref = sub_f32.as_ref().map(|(a, k)| (a.as_slice().unwrap_or(&[]), *k));
    match primary {
        VolumeView::U8(a) => {
            bin_image(a.as_standard_layout().as_slice().unwrap_or(&[]), sub_ref, grid)
        }
        VolumeView::U16(a) => {
            bin_image(a.as_standard_layout().as_slice().unwrap_or(&[]), sub_ref, grid)
        }
        VolumeView::F32(a) => {
            bin_image(a.as_standard_layout().as_slice().unwrap_or(&[]), sub_ref, grid)
        }
    }
}

fn bin_image<T: Copy + Into<f64> + Sync>(
    src: &[T],
    sub: Option<(&[f32], f32)>,
    grid: &Grid,
) -> Vec<f32>
where
    f32: FromLossy<T>,
{
    let (din, dw) = (grid.input, grid.work);
    let b = grid.bin[0];
    let mut out = vec![0.0f32; dw.len()];
    if src.len() != din.len() {
        return out;
    }
    out.par_chunks_mut(dw.plane()).enumerate().for_each_init(
        || vec![0.0f32; din.nx],
        |row, (z, plane)| {
            for wy in 0..dw.ny {
                let y0 = wy * b;
                let y1 = ((wy + 1) * b).min(din.ny);
                let orow = &mut plane[wy * dw.nx..(wy + 1) * dw.nx];
                row.fill(0.0);
                for y in y0..y1 {
                    let base = (z * din.ny + y) * din.nx;
                    let s = &src[base..base + din.nx];
                    for (r, &v) in row.iter_mut().zip(s) {
                        *r += f32::from_lossy(v);
                    }
                    if let Some((m, k)) = sub {
                        for (r, &v) in row.iter_mut().zip(&m[base..base + din.nx]) {
                            *r -= k * v;
                        }
                    }
                }
                let ny = (y1 - y0) as f32;
                for (o, chunk) in orow.iter_mut().zip(row.chunks(b)) {
                    *o = chunk.iter().sum::<f32>() / (ny * chunk.len() as f32);
                }
            }
        },
    );
    out
}

/// Lossy conversion of a stored sample to f32.
trait FromLossy<T> {
    fn from_lossy(v: T) -> Self;
}
impl FromLossy<u8> for f32 {
    fn from_lossy(v: u8) -> f32 {
        v as f32
    }
}
impl FromLossy<u16> for f32 {
    fn from_lossy(v: u16) -> f32 {
        v as f32
    }
}
impl FromLossy<f32> for f32 {
    fn from_lossy(v: f32) -> f32 {
        v
    }
}

/// Segments timepoint `frame` given all its channels (each (z, y, x), same sizes); detection
/// runs on `channels[channel]` and intensities are measured in every channel.
pub fn segment_frame(
    channels: &[Volume],
    channel: usize,
    frame: usize,
    calibration: &Calibration,
    cfg: &SegmentConfig,
) -> Result<Segmentation> {
    let views: Vec<VolumeView<'_>> = channels.iter().map(Volume::view).collect();
    segment_frame_views(&views, channel, frame, calibration, cfg)
}

/// As [`segment_frame`], on borrowed volumes (any strides; e.g. numpy arrays handed over by
/// the Python bindings, read without a copy when in standard layout).
pub fn segment_frame_views(
    channels: &[VolumeView<'_>],
    channel: usize,
    frame: usize,
    calibration: &Calibration,
    cfg: &SegmentConfig,
) -> Result<Segmentation> {
    cfg.validate()?;
    let primary = channels.get(channel).ok_or_else(|| {
        Error::param("channel", format!("channel {channel} of {} channels", channels.len()))
    })?;
    let shape = primary.dim();
    for (c, v) in channels.iter().enumerate() {
        if v.dim() != shape {
            return Err(Error::Frame {
                path: None,
                frame,
                reason: format!("channel {c} is {:?}, channel {channel} is {shape:?}", v.dim()),
            });
        }
        check_finite(v, frame, c)?;
    }
    let sub = match cfg.channel_math {
        Some(m) => Some((
            channels.get(m.subtract_channel).ok_or_else(|| {
                Error::param(
                    "channel_math.subtract_channel",
                    format!("channel {} of {} channels", m.subtract_channel, channels.len()),
                )
            })?,
            m.scale as f32,
        )),
        None => None,
    };
    let voxel = calibration.voxel_size_um()?.to_array();
    let din = Dims { nz: shape.0, ny: shape.1, nx: shape.2 };
    let two_d = din.nz == 1;
    let empty = |d: Dims| Segmentation {
        detections: empty_detections(!two_d, channels.len()),
        blank: true,
        work_labels: vec![0; d.len()],
        grid: Grid::new(d, voxel, 1),
    };
    if din.is_empty() {
        return Ok(empty(din));
    }
    let d = match cfg.cell_diameter_um {
        Some(d) => d,
        None => match scale::estimate_diameter(&[*primary], voxel) {
            Some(d) => d,
            None => return Ok(empty(din)),
        },
    };
    let grid = Grid::new(din, voxel, cfg.bin_for(voxel, d));
    let wv = grid.work_voxel_um();
    let mut signal = working_image(primary, sub, &grid);
    let (lo, hi) =
        signal.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if hi.is_nan() || hi <= lo {
        return Ok(empty(din));
    }
    // A stack shallower than its cells is detected on its z projection; each object is then
    // measured through every plane.
    let thin = scale::is_thin(din.nz, voxel[2], d);
    let mut signal3d = None;
    let mut det_dims = grid.work;
    if thin {
        let p = scale::project_z(&signal, grid.work);
        signal3d = Some(std::mem::replace(&mut signal, p));
        det_dims = Dims { nz: 1, ..grid.work };
    }
    let prepare = |img: &mut Vec<f32>, dims: Dims| -> Vec<f32> {
        match cfg.background {
            Background::None => {}
            Background::Gaussian { sigma_um } => {
                filter::subtract_gaussian_background(img, dims, wv, sigma_um.unwrap_or(2.0 * d))
            }
            Background::TopHat { radius_um } => {
                filter::subtract_tophat_background(img, dims, wv, radius_um.unwrap_or(d))
            }
        }
        let ds = cfg.denoise_sigma_um.unwrap_or([d / 10.0; 3]);
        let ds = if dims.nz == 1 { [ds[0], ds[1], 0.0] } else { ds };
        if ds.iter().all(|&s| s == 0.0) {
            img.clone()
        } else {
            filter::gaussian(img, dims, ds, wv)
        }
    };
    let smooth = prepare(&mut signal, det_dims);
    let input = DetectorInput {
        signal: &signal,
        smooth: &smooth,
        dims: det_dims,
        voxel_um: wv,
        cell_diameter_um: d,
    };
    let mut obj = cfg.detector.detector().detect(&input)?;
    if obj.labels.len() != det_dims.len()
        || obj.quality.len() != obj.count
        || obj.position.len() != obj.count
    {
        return Err(Error::data(format!(
            "detector `{}` returned inconsistent objects",
            cfg.detector.detector().name()
        )));
    }

    // A thin stack's objects reach through every plane: its labels and measures are 3D again.
    let smooth = match signal3d {
        Some(mut s3) => {
            let plane = det_dims.plane();
            obj.labels = obj.labels.repeat(grid.work.nz);
            for p in obj.position.iter_mut() {
                *p = p.map(|q| [q[0], q[1], f64::NAN]);
            }
            let s = prepare(&mut s3, grid.work);
            debug_assert_eq!(s.len(), plane * grid.work.nz);
            s
        }
        None => smooth,
    };

    // Measure, refine positions of cut objects, filter.
    let feats = features::measure(&obj.labels, obj.count, &smooth, &grid);
    let depth = din.nz as f64 * voxel[2];
    let min_v = cfg.min_volume_um3.unwrap_or(SegmentConfig::expected_volume(d, depth) / 5.0);
    let max_v = cfg.max_volume_um3.unwrap_or(f64::INFINITY);
    let field: [[f64; 2]; 3] =
        std::array::from_fn(|a| [-0.5 * voxel[a], (din.axis(a) as f64 - 0.5) * voxel[a]]);
    let mut keep = vec![false; obj.count + 1];
    let mut pos = vec![[0.0; 3]; obj.count];
    for (k, f) in feats.iter().enumerate() {
        let mut p = match obj.position[k] {
            // A thin stack's detector positions are 2D: z is the object's centroid.
            Some(q) => std::array::from_fn(|a| match q[a].is_nan() {
                true => f.centroid_um[a],
                false => grid.centre_um(a, q[a]),
            }),
            None => f.centroid_um,
        };
        if cfg.border_refinement {
            for a in 0..3 {
                let n = grid.work.axis(a);
                if n <= 1 {
                    continue;
                }
                let lo_edge = grid.centre_um(a, 0.0);
                let hi_edge = grid.centre_um(a, (n - 1) as f64);
                let touches_lo = f.bbox_min_um[a] <= lo_edge;
                let touches_hi = f.bbox_max_um[a] >= hi_edge;
                if touches_lo == touches_hi {
                    continue;
                }
                let areas = features::slice_areas(&obj.labels, &smooth, k as u32 + 1, &grid, f, a);
                let outward = if touches_lo { -1.0 } else { 1.0 };
                let spacing = grid.work_voxel_um()[a];
                p[a] =
                    features::truncated_centre(&areas, f.centroid_um[a], outward, d / 2.0, spacing);
            }
        }
        pos[k] = p;
        let inside =
            (0..3).all(|a| din.axis(a) <= 1 || (p[a] >= field[a][0] && p[a] < field[a][1]));
        keep[k + 1] = f.voxels > 0
            && f.volume_um3 >= min_v
            && f.volume_um3 <= max_v
            && (!cfg.drop_outside || inside);
    }
    let kept: Vec<usize> = (0..obj.count).filter(|&k| keep[k + 1]).collect();
    label::relabel(&mut obj.labels, &keep);

    let intensities: Vec<Vec<[f64; 3]>> = channels
        .iter()
        .map(|c| features::intensities_view(&obj.labels, kept.len(), &grid, c))
        .collect();
    let mut det = Detections::new(!two_d);
    for (row, &k) in kept.iter().enumerate() {
        let _ = row;
        det.push(frame as u32, pos[k][0], pos[k][1], if two_d { None } else { Some(pos[k][2]) });
    }
    let fsel: Vec<&ObjectFeatures> = kept.iter().map(|&k| &feats[k]).collect();
    let col = |f: &dyn Fn(usize, &ObjectFeatures) -> f64| -> Column {
        Column::Float(kept.iter().zip(&fsel).map(|(&k, o)| f(k, o)).collect())
    };
    let mut cols: Vec<(String, Column)> = vec![
        ("volume_um3".into(), col(&|_, o| o.volume_um3)),
        (
            "mean_intensity".into(),
            Column::Float(intensities[channel].iter().map(|v| v[0]).collect()),
        ),
        (
            "max_intensity".into(),
            Column::Float(intensities[channel].iter().map(|v| v[1]).collect()),
        ),
        (
            "sum_intensity".into(),
            Column::Float(intensities[channel].iter().map(|v| v[2]).collect()),
        ),
        ("quality".into(), col(&|k, _| obj.quality[k])),
        ("label".into(), Column::Float((1..=kept.len()).map(|l| l as f64).collect())),
    ];
    let axes = ["x", "y", "z"];
    let nax = if two_d { 2 } else { 3 };
    for a in 0..nax {
        cols.push((format!("centroid_{}_um", axes[a]), col(&|_, o| o.centroid_um[a])));
    }
    for a in 0..nax {
        cols.push((format!("bbox_min_{}_um", axes[a]), col(&|_, o| o.bbox_min_um[a])));
        cols.push((format!("bbox_max_{}_um", axes[a]), col(&|_, o| o.bbox_max_um[a])));
    }
    for i in 0..nax {
        cols.push((format!("semi_axis_{}_um", i + 1), col(&|_, o| o.semi_axes_um[i])));
    }
    for a in 0..nax {
        cols.push((format!("major_axis_{}", axes[a]), col(&|_, o| o.major_axis[a])));
    }
    cols.push(("elongation".into(), col(&|_, o| o.elongation)));
    if !two_d {
        cols.push(("sphericity".into(), col(&|_, o| o.sphericity)));
    }
    cols.push(("touches_border_xy".into(), col(&|_, o| o.touches_border_xy as u8 as f64)));
    if !two_d {
        cols.push(("touches_border_z".into(), col(&|_, o| o.touches_border_z as u8 as f64)));
    }
    for (c, iv) in intensities.iter().enumerate() {
        cols.push((
            format!("mean_intensity_c{c}"),
            Column::Float(iv.iter().map(|v| v[0]).collect()),
        ));
        cols.push((
            format!("max_intensity_c{c}"),
            Column::Float(iv.iter().map(|v| v[1]).collect()),
        ));
        cols.push((
            format!("sum_intensity_c{c}"),
            Column::Float(iv.iter().map(|v| v[2]).collect()),
        ));
    }
    // Artefacts: the mean background-subtracted, denoised value of each object (its contrast).
    let mut sum = vec![(0.0f64, 0usize); kept.len() + 1];
    for (&l, &v) in obj.labels.iter().zip(&smooth) {
        let e = &mut sum[l as usize];
        e.0 += v as f64;
        e.1 += 1;
    }
    let contrast: Vec<f64> = sum[1..].iter().map(|(s, n)| s / (*n).max(1) as f64).collect();
    let volumes: Vec<f64> = fsel.iter().map(|o| o.volume_um3).collect();
    let flags = artefacts(&volumes, &contrast, SegmentConfig::expected_volume(d, depth));
    cols.push(("artefact".into(), Column::Text(flags)));
    for (name, c) in cols {
        det.set_column(&name, c)?;
    }
    Ok(Segmentation { detections: det, blank: false, work_labels: obj.labels, grid })
}

/// The artefact rules, as `detections.csv`'s `artefact` column names them (empty for a cell).
pub const ARTEFACT_RULES: [&str; 2] = ["too_large", "too_bright"];

/// An object larger than this many expected cell volumes is `too_large`.
const TOO_LARGE: f64 = 4.0;
/// An object whose mean contrast exceeds this many times the frame's median object's is
/// `too_bright` (autofluorescent macrophages, bright debris; needs 5 objects in the frame).
const TOO_BRIGHT: f64 = 3.5;

/// For each row of `detections`, whether its `artefact` cell names a rule (rows of a table
/// without the column are all cells).
pub fn artefact_rows(detections: &Detections) -> Vec<bool> {
    match detections.column("artefact") {
        Some(Column::Text(v)) => v.iter().map(|s| !s.trim().is_empty()).collect(),
        _ => vec![false; detections.len()],
    }
}

/// The artefact rule each object breaks (empty: none): `too_large` above [`TOO_LARGE`] expected
/// volumes, else `too_bright` above [`TOO_BRIGHT`] × the median contrast.
fn artefacts(volume: &[f64], contrast: &[f64], expected_volume: f64) -> Vec<String> {
    let mut sorted: Vec<f64> = contrast.iter().copied().filter(|c| c.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted.len() >= 5).then(|| sorted[sorted.len() / 2]);
    volume
        .iter()
        .zip(contrast)
        .map(|(&v, &c)| {
            if v > TOO_LARGE * expected_volume {
                "too_large".to_string()
            } else if median.is_some_and(|m| m > 0.0 && c > TOO_BRIGHT * m) {
                "too_bright".to_string()
            } else {
                String::new()
            }
        })
        .collect()
}

/// Detections with no rows but all the columns [`segment_frame`] writes.
pub(crate) fn empty_detections(is_3d: bool, channels: usize) -> Detections {
    let mut d = Detections::new(is_3d);
    let axes: &[&str] = if is_3d { &["x", "y", "z"] } else { &["x", "y"] };
    let mut names: Vec<String> =
        ["volume_um3", "mean_intensity", "max_intensity", "sum_intensity", "quality", "label"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    names.extend(axes.iter().map(|a| format!("centroid_{a}_um")));
    for a in axes {
        names.push(format!("bbox_min_{a}_um"));
        names.push(format!("bbox_max_{a}_um"));
    }
    names.extend((1..=axes.len()).map(|i| format!("semi_axis_{i}_um")));
    names.extend(axes.iter().map(|a| format!("major_axis_{a}")));
    names.push("elongation".into());
    if is_3d {
        names.push("sphericity".into());
    }
    names.push("touches_border_xy".into());
    if is_3d {
        names.push("touches_border_z".into());
    }
    for c in 0..channels {
        for s in ["mean", "max", "sum"] {
            names.push(format!("{s}_intensity_c{c}"));
        }
    }
    for n in names {
        d.extra.push((n, Column::Float(Vec::new())));
    }
    d.extra.push(("artefact".into(), Column::Text(Vec::new())));
    d
}

/// The working-grid labels at the input's resolution (nearest: each input voxel takes its
/// bin's label).
fn upsample_labels(labels: &[u32], grid: &Grid) -> Array3<u32> {
    let (din, dw) = (grid.input, grid.work);
    let b = grid.bin[0];
    let mut out = vec![0u32; din.len()];
    out.par_chunks_mut(din.plane()).enumerate().for_each(|(z, plane)| {
        for (y, row) in plane.chunks_exact_mut(din.nx).enumerate() {
            let lrow = &labels[(z * dw.ny + y / b) * dw.nx..(z * dw.ny + y / b + 1) * dw.nx];
            for (chunk, &l) in row.chunks_mut(b).zip(lrow) {
                chunk.fill(l);
            }
        }
    });
    Array3::from_shape_vec(din.shape(), out).unwrap_or_else(|_| Array3::zeros(din.shape()))
}
