//! Reading and writing recordings.
//!
//! [`Recording::open`] indexes the pages of one or several TIFF files once and reads no pixels;
//! [`Recording::volume`] then reads one (t, c) z-stack on demand, as the pixel type stored
//! ([`Volume`]). Axis order of image arrays is (t, c, z, y, x); a volume is (z, y, x).
//!
//! What can be opened ([`Format`]):
//!
//! - an ImageJ hyperstack, an OME-TIFF (one file, or a multi-file dataset through its
//!   `UUID`/`FileName` references or a `.companion.ome` file), a ScanImage TIFF (and the
//!   `_00001.tif`, `_00002.tif`, … parts of one acquisition), or a plain multi-page TIFF with a
//!   shape from the caller ([`ReadOptions::shape`], [`ReadOptions::page_order`]);
//! - a folder or a glob pattern (`stacks/t*.tif`) of TIFFs, one or more timepoints per file,
//!   in natural order (`t2` before `t10`);
//! - a Bruker Prairie View acquisition: its folder or its XML file.
//!
//! Pixels may be uint8, uint16, int16 (read losslessly as float32) or float32; uncompressed,
//! LZW, Deflate or PackBits; classic TIFF or BigTIFF; stripped or tiled; either byte order.
//! Anything else — colour or multi-sample pages, other compressions — is refused at open with
//! an [`Error`] naming the file, the page and the reason.

pub mod imagej;
mod ome;
mod prairie;
mod scanimage;
pub(crate) mod series;
pub(crate) mod tiff;
pub mod write;
mod xml;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayView3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calib::{parse_list, Calibration, Value, VoxelSize};
use crate::error::{Error, Result};
use imagej::ImageJMeta;
use tiff::{PageInfo, PagePixel, TiffFile};

/// The pixel type of a recording, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelType {
    /// 8-bit unsigned.
    #[serde(rename = "uint8")]
    U8,
    /// 16-bit unsigned (the usual two-photon format).
    #[serde(rename = "uint16")]
    U16,
    /// 32-bit float.
    #[serde(rename = "float32")]
    F32,
}

impl PixelType {
    /// Bytes per pixel.
    pub fn bytes(self) -> usize {
        match self {
            PixelType::U8 => 1,
            PixelType::U16 => 2,
            PixelType::F32 => 4,
        }
    }
    /// The numpy name (`uint8`, `uint16`, `float32`).
    pub fn name(self) -> &'static str {
        match self {
            PixelType::U8 => "uint8",
            PixelType::U16 => "uint16",
            PixelType::F32 => "float32",
        }
    }
}

impl fmt::Display for PixelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One 3D timepoint of one channel, (z, y, x), in the stored pixel type.
#[derive(Debug, Clone, PartialEq)]
pub enum Volume {
    /// uint8 voxels.
    U8(Array3<u8>),
    /// uint16 voxels.
    U16(Array3<u16>),
    /// float32 voxels.
    F32(Array3<f32>),
}

impl Volume {
    /// The pixel type.
    pub fn dtype(&self) -> PixelType {
        match self {
            Volume::U8(_) => PixelType::U8,
            Volume::U16(_) => PixelType::U16,
            Volume::F32(_) => PixelType::F32,
        }
    }
    /// (z, y, x) sizes.
    pub fn dim(&self) -> (usize, usize, usize) {
        match self {
            Volume::U8(a) => a.dim(),
            Volume::U16(a) => a.dim(),
            Volume::F32(a) => a.dim(),
        }
    }
    /// The voxels converted to f32.
    pub fn to_f32(&self) -> Array3<f32> {
        match self {
            Volume::U8(a) => a.mapv(f32::from),
            Volume::U16(a) => a.mapv(f32::from),
            Volume::F32(a) => a.clone(),
        }
    }
    /// A borrowed view of the voxels.
    pub fn view(&self) -> VolumeView<'_> {
        match self {
            Volume::U8(a) => VolumeView::U8(a.view()),
            Volume::U16(a) => VolumeView::U16(a.view()),
            Volume::F32(a) => VolumeView::F32(a.view()),
        }
    }
}

/// A borrowed (z, y, x) volume in one of the stored pixel types: segmentation reads data it
/// does not own (e.g. a numpy array handed over by the Python bindings) without a copy. Any
/// strides are accepted; standard (C) layout avoids the one copy a strided view needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolumeView<'a> {
    /// uint8 voxels.
    U8(ArrayView3<'a, u8>),
    /// uint16 voxels.
    U16(ArrayView3<'a, u16>),
    /// float32 voxels.
    F32(ArrayView3<'a, f32>),
}

impl VolumeView<'_> {
    /// The pixel type.
    pub fn dtype(&self) -> PixelType {
        match self {
            VolumeView::U8(_) => PixelType::U8,
            VolumeView::U16(_) => PixelType::U16,
            VolumeView::F32(_) => PixelType::F32,
        }
    }
    /// (z, y, x) sizes.
    pub fn dim(&self) -> (usize, usize, usize) {
        match self {
            VolumeView::U8(a) => a.dim(),
            VolumeView::U16(a) => a.dim(),
            VolumeView::F32(a) => a.dim(),
        }
    }
    /// The voxels converted to f32 (standard layout).
    pub fn to_f32(&self) -> Array3<f32> {
        match self {
            VolumeView::U8(a) => a.mapv(f32::from),
            VolumeView::U16(a) => a.mapv(f32::from),
            VolumeView::F32(a) => a.as_standard_layout().into_owned(),
        }
    }
}

/// Sizes of a recording along (t, c, z, y, x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Timepoints.
    pub t: usize,
    /// Channels.
    pub c: usize,
    /// Planes per stack.
    pub z: usize,
    /// Rows.
    pub y: usize,
    /// Columns.
    pub x: usize,
}

impl Shape {
    /// Number of 2D planes (t·c·z).
    pub fn planes(&self) -> usize {
        self.t * self.c * self.z
    }
    /// Number of voxels in one (z, y, x) volume.
    pub fn volume_len(&self) -> usize {
        self.z * self.y * self.x
    }
}

/// An axis of the page sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageAxis {
    T,
    C,
    Z,
}

/// The order of pages in a multi-page file: which of c, z, t varies fastest.
///
/// Written fastest-first as three letters, as tifffile's `order`: `czt` (ImageJ's order: C
/// fastest, then Z, then T — the default), `ctz`, `zct`, `ztc`, `tcz`, `tzc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageOrder([PageAxis; 3]);

impl Default for PageOrder {
    fn default() -> Self {
        PageOrder([PageAxis::C, PageAxis::Z, PageAxis::T])
    }
}

impl PageOrder {
    /// Parses a fastest-first order such as `czt` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_lowercase();
        let axes: Vec<PageAxis> = s
            .chars()
            .map(|ch| match ch {
                't' => Ok(PageAxis::T),
                'c' => Ok(PageAxis::C),
                'z' => Ok(PageAxis::Z),
                _ => Err(()),
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::param(
                    "page-order",
                    format!("`{s}`: use three letters of c, z, t, fastest first (e.g. czt)"),
                )
            })?;
        if axes.len() != 3 || (0..3).any(|i| axes[i + 1..].contains(&axes[i])) {
            return Err(Error::param(
                "page-order",
                format!("`{s}`: use each of c, z, t once, fastest first (e.g. czt)"),
            ));
        }
        Ok(PageOrder([axes[0], axes[1], axes[2]]))
    }

    /// The order of an OME `DimensionOrder` (`XYZCT` → `zct`).
    pub fn from_ome(dimension_order: &str) -> Result<Self> {
        let d = dimension_order.trim();
        if d.len() != 5 || !d[..2].eq_ignore_ascii_case("xy") {
            return Err(Error::param(
                "DimensionOrder",
                format!("`{d}` is not one of XYZCT, XYZTC, XYCZT, XYCTZ, XYTCZ, XYTZC"),
            ));
        }
        Self::parse(&d[2..])
    }

    /// The 0-based page index of plane (t, c, z) for the sizes in `shape`.
    pub fn page_index(&self, shape: &Shape, t: usize, c: usize, z: usize) -> usize {
        let (mut idx, mut stride) = (0, 1);
        for ax in self.0 {
            let (i, n) = match ax {
                PageAxis::T => (t, shape.t),
                PageAxis::C => (c, shape.c),
                PageAxis::Z => (z, shape.z),
            };
            idx += i * stride;
            stride *= n;
        }
        idx
    }
}

impl fmt::Display for PageOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in self.0 {
            f.write_str(match a {
                PageAxis::T => "t",
                PageAxis::C => "c",
                PageAxis::Z => "z",
            })?;
        }
        Ok(())
    }
}

/// How to read a recording: the caller's overrides, which always win over the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Voxel size in µm (x, y, z).
    pub voxel_size: Option<VoxelSize>,
    /// Frame interval, s.
    pub frame_interval_s: Option<f64>,
    /// Sizes (t, c, z) for files whose metadata do not give them (or give them wrongly).
    pub shape: Option<(usize, usize, usize)>,
    /// Order of the pages (default: the file's, else ImageJ's `czt`).
    pub page_order: Option<PageOrder>,
}

impl ReadOptions {
    /// Parses the command-line form of `--shape T,C,Z`.
    pub fn parse_shape(s: &str) -> Result<(usize, usize, usize)> {
        let v = parse_list(s, 3, "shape")?;
        if v.iter().any(|x| *x < 1.0 || x.fract() != 0.0) {
            return Err(Error::param("shape", format!("`{s}`: T,C,Z must be positive integers")));
        }
        Ok((v[0] as usize, v[1] as usize, v[2] as usize))
    }
}

/// The kind of file (or files) a recording was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// An ImageJ hyperstack (description starting `ImageJ=`).
    ImageJ,
    /// A TIFF without metadata the reader understands (shape from the caller).
    Plain,
    /// An OME-TIFF (OME-XML in the description), one file or a multi-file dataset.
    Ome,
    /// A folder or glob of TIFFs, one or more timepoints per file, in natural order.
    Series,
    /// A ScanImage (Vidrio) TIFF, possibly in several `_NNNNN.tif` parts.
    ScanImage,
    /// A Bruker Prairie View acquisition (folder of single-plane TIFFs and its XML).
    #[serde(rename = "prairieview")]
    PrairieView,
}

/// Most files kept open at once by one recording; larger series open files per read.
const MAX_OPEN_FILES: usize = 64;

/// One file of a recording: its page index (built at open, or on each read for recordings of
/// very many single-plane files) and, for recordings of few files, an open handle.
#[derive(Debug)]
pub(crate) struct FileSlot {
    pub path: PathBuf,
    pub index: Option<TiffFile>,
    pub handle: Option<File>,
}

impl FileSlot {
    /// A file indexed at open, keeping `handle`.
    pub fn indexed(index: TiffFile, handle: File) -> Self {
        FileSlot { path: index.path.clone(), index: Some(index), handle: Some(handle) }
    }
    /// A file indexed when read (existence checked by the caller).
    pub fn lazy(path: PathBuf) -> Self {
        FileSlot { path, index: None, handle: None }
    }
}

/// Where plane (t, c, z) lives: a page of one of the recording's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneRef {
    pub file: u32,
    pub page: u32,
}

/// Everything a format reader finds at open: shape, calibration and the plane table.
pub(crate) struct Layout {
    pub shape: Shape,
    /// A page of the recording (size and sample type all planes must share).
    pub page: PageInfo,
    pub calibration: Calibration,
    pub format: Format,
    pub order: PageOrder,
    pub files: Vec<FileSlot>,
    /// Plane of (t, c, z) at index (t·C + c)·Z + z.
    pub planes: Vec<PlaneRef>,
    pub warnings: Vec<String>,
}

impl Layout {
    /// Checks that every plane refers to an existing page of the same size and type as
    /// `self.page`, naming the first file and page that differ.
    pub fn check_pages(&self) -> Result<()> {
        debug_assert_eq!(self.planes.len(), self.shape.planes());
        for r in &self.planes {
            let slot = &self.files[r.file as usize];
            if let Some(ix) = &slot.index {
                let p = ix.pages.get(r.page as usize).ok_or_else(|| {
                    Error::metadata(
                        &slot.path,
                        format!(
                            "page {} is referenced but the file has {} pages",
                            r.page,
                            ix.pages.len()
                        ),
                    )
                })?;
                if !p.same_kind(&self.page) {
                    return Err(Error::Page {
                        path: slot.path.clone(),
                        page: r.page as usize,
                        reason: format!(
                            "{} differs from the recording's first plane ({}): all planes must have one size and type",
                            p.describe(),
                            self.page.describe()
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Planes of one file whose pages follow `order` for the sizes (t, c, z), from page `first`.
pub(crate) fn sequential_planes(
    t: usize,
    c: usize,
    z: usize,
    order: PageOrder,
    file: u32,
    first: usize,
) -> Vec<PlaneRef> {
    let shape = Shape { t, c, z, y: 1, x: 1 };
    let mut planes = Vec::with_capacity(t * c * z);
    for ti in 0..t {
        for ci in 0..c {
            for zi in 0..z {
                let page = (first + order.page_index(&shape, ti, ci, zi)) as u32;
                planes.push(PlaneRef { file, page });
            }
        }
    }
    planes
}

/// Checks a (t, c, z) shape override against `n` pages, naming the parameter.
pub(crate) fn check_shape_override(
    (t, c, z): (usize, usize, usize),
    n: usize,
    what: &str,
) -> Result<()> {
    if t.checked_mul(c).and_then(|x| x.checked_mul(z)) != Some(n) {
        return Err(Error::param(
            "shape",
            format!(
                "{t},{c},{z} (T,C,Z) needs {} pages but {what} has {n}",
                t.saturating_mul(c).saturating_mul(z),
            ),
        ));
    }
    Ok(())
}

/// A recording opened lazily: the page index and metadata, no pixels.
pub struct Recording {
    path: PathBuf,
    shape: Shape,
    dtype: PixelType,
    stored: tiff::Stored,
    calibration: Calibration,
    format: Format,
    order: PageOrder,
    files: Vec<FileSlot>,
    planes: Vec<PlaneRef>,
    reference: PageInfo,
    warnings: Vec<String>,
    options: ReadOptions,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .field("format", &self.format)
            .field("files", &self.files.len())
            .field("calibration", &self.calibration)
            .finish()
    }
}

/// True when `path` is a glob pattern (has `*`, `?` or `[`) rather than an existing path.
fn is_glob(path: &Path) -> bool {
    !path.exists() && path.to_string_lossy().contains(['*', '?', '['])
}

impl Recording {
    /// Opens a recording with the file's own metadata.
    ///
    /// `path` is a TIFF file, a folder (of TIFFs, one or more timepoints each, or a Prairie
    /// View acquisition), a glob pattern such as `stacks/t*.tif`, a Prairie View XML file or an
    /// OME `.companion.ome` file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// Opens a recording, applying the caller's overrides.
    pub fn open_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let mut layout = if is_glob(path) {
            series::open_glob(path, opts)?
        } else if path.is_dir() {
            match prairie::find_xml(path)? {
                Some(xml) => prairie::open(&xml, opts)?,
                None => series::open_folder(path, opts)?,
            }
        } else if prairie::is_prairie_xml(path) {
            prairie::open(path, opts)?
        } else if ome::is_companion(path) {
            ome::open_companion(path, opts)?
        } else {
            open_tiff(path, opts)?
        };
        let s = layout.shape;
        if s.t == 0 || s.c == 0 || s.z == 0 || s.y == 0 || s.x == 0 {
            return Err(Error::metadata(
                path,
                format!(
                    "the metadata give an empty recording ({} timepoints, {} channels, {} planes per stack, {}×{} pixels)",
                    s.t, s.c, s.z, s.x, s.y
                ),
            ));
        }
        layout.check_pages()?;
        if opts.shape.is_some() && matches!(layout.format, Format::PrairieView) {
            return Err(Error::param(
                "shape",
                "a Prairie View acquisition gives its shape in its XML; --shape is not used",
            ));
        }
        layout.calibration =
            layout.calibration.with_overrides(opts.voxel_size, opts.frame_interval_s);
        if let Some(times) = &layout.calibration.frame_times_s {
            if times.len() != layout.shape.t {
                layout.calibration.frame_times_s = None;
            }
        }
        layout.warnings.extend(layout.calibration.warnings());
        if layout.page.stored == tiff::Stored::I16 {
            layout.warnings.push("int16 pixels are read as float32 (losslessly)".into());
        }
        // Keep handles only for recordings of few files (file-descriptor limits).
        if layout.files.len() > MAX_OPEN_FILES {
            for f in &mut layout.files {
                f.handle = None;
            }
        }
        Ok(Recording {
            path: path.to_path_buf(),
            shape: layout.shape,
            dtype: layout.page.dtype(),
            stored: layout.page.stored,
            calibration: layout.calibration,
            format: layout.format,
            order: layout.order,
            files: layout.files,
            planes: layout.planes,
            reference: layout.page,
            warnings: layout.warnings,
            options: opts.clone(),
        })
    }

    /// The path this recording was opened from (file, folder, glob or XML).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Sizes along (t, c, z, y, x).
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// The pixel type volumes are read as (int16 files are read as float32).
    pub fn dtype(&self) -> PixelType {
        self.dtype
    }
    /// The sample type stored in the file: `uint8`, `uint16`, `int16` or `float32`.
    pub fn stored_dtype(&self) -> &'static str {
        self.stored.name()
    }
    /// Voxel size, frame interval, per-frame times and where each came from.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }
    /// What kind of file this is.
    pub fn format(&self) -> Format {
        self.format
    }
    /// The page order used to map pages to (t, c, z) within a file.
    pub fn page_order(&self) -> PageOrder {
        self.order
    }
    /// The files holding the recording's planes, in order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }
    /// Warnings from opening (missing calibration, guessed axes).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// The caller's overrides it was opened with ([`Recording::open_with`]).
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }
    /// Opens the same recording again (same path, same overrides): for a second pass over
    /// its timepoints, e.g. the label images written after an analysis.
    pub fn reopen(&self) -> Result<Self> {
        Self::open_with(&self.path, &self.options)
    }

    /// What `leukotrack info --json` prints: shape, pixel type, calibration and where each
    /// value came from, format, page order, files, per-frame times, warnings.
    pub fn info(&self) -> serde_json::Value {
        let s = self.shape;
        let cal = &self.calibration;
        let v = |x: Option<crate::calib::Value>| x.map(|x| x.value);
        let src = |x: Option<crate::calib::Value>| x.map(|x| x.source.name());
        serde_json::json!({
            "path": self.path.display().to_string(),
            "format": self.format,
            "shape": {"t": s.t, "c": s.c, "z": s.z, "y": s.y, "x": s.x},
            "dtype": self.dtype.name(),
            "voxel_size_um": {"x": v(cal.voxel_x_um), "y": v(cal.voxel_y_um), "z": v(cal.voxel_z_um)},
            "frame_interval_s": v(cal.frame_interval_s),
            "calibrated": cal.is_calibrated(),
            "calibration_source": {
                "x": src(cal.voxel_x_um), "y": src(cal.voxel_y_um), "z": src(cal.voxel_z_um),
                "frame_interval": src(cal.frame_interval_s),
            },
            "page_order": self.order.to_string(),
            "stored_dtype": self.stored_dtype(),
            "files": self.files.len(),
            "frame_times_s": cal.frame_times_s,
            "warnings": self.warnings,
        })
    }

    /// Reads the (z, y, x) stack of timepoint `t`, channel `c`, in [`Recording::dtype`].
    ///
    /// Planes are read in parallel (rayon); memory is the returned volume plus one compressed
    /// strip or tile per thread.
    pub fn volume(&self, t: usize, c: usize) -> Result<Volume> {
        let s = self.shape;
        if t >= s.t || c >= s.c {
            return Err(Error::param(
                "volume",
                format!("timepoint {t}, channel {c} is outside the recording's {} timepoints × {} channels", s.t, s.c),
            ));
        }
        let frame_err = |e: Error| match e {
            Error::Io { .. } | Error::Page { .. } => e,
            other => {
                Error::Frame { path: Some(self.path.clone()), frame: t, reason: other.to_string() }
            }
        };
        Ok(match self.dtype {
            PixelType::U8 => Volume::U8(self.read_stack::<u8>(t, c).map_err(frame_err)?),
            PixelType::U16 => Volume::U16(self.read_stack::<u16>(t, c).map_err(frame_err)?),
            PixelType::F32 => Volume::F32(self.read_stack::<f32>(t, c).map_err(frame_err)?),
        })
    }

    fn read_stack<T: PagePixel>(&self, t: usize, c: usize) -> Result<Array3<T>> {
        let s = self.shape;
        let plane = s.y * s.x;
        let mut data = vec![T::default(); s.z * plane];
        let refs = &self.planes[(t * s.c + c) * s.z..(t * s.c + c + 1) * s.z];
        if let Some((slot, file, offset)) = self.contiguous_run(refs) {
            // The whole stack lies uncompressed and in order in one open file: one read.
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data);
            tiff::read_exact_at(file, bytes, offset).map_err(|e| Error::Page {
                path: slot.path.clone(),
                page: refs[0].page as usize,
                reason: e.to_string(),
            })?;
            if slot.index.as_ref().is_some_and(|i| i.big_endian) != cfg!(target_endian = "big") {
                T::swap_bytes(&mut data);
            }
        } else if self.reference.compression == tiff::Compression::None {
            // Uncompressed planes are bound by memory bandwidth: read them in order.
            for (r, chunk) in refs.iter().zip(data.chunks_mut(plane)) {
                self.read_plane(*r, chunk)?;
            }
        } else {
            // Decoding is CPU-bound: planes in parallel.
            data.par_chunks_mut(plane)
                .zip(refs.par_iter())
                .try_for_each(|(chunk, r)| self.read_plane(*r, chunk))?;
        }
        Array3::from_shape_vec((s.z, s.y, s.x), data).map_err(|e| Error::data(e.to_string()))
    }

    /// The file and offset of a stack whose planes lie uncompressed, in order and end to end
    /// in one open file.
    fn contiguous_run(&self, refs: &[PlaneRef]) -> Option<(&FileSlot, &File, u64)> {
        let slot = &self.files[refs[0].file as usize];
        let index = slot.index.as_ref()?;
        let file = slot.handle.as_ref()?;
        let pb = self.reference.plane_bytes();
        let start = index.pages.get(refs[0].page as usize)?.contiguous?;
        for (k, r) in refs.iter().enumerate() {
            let p = index.pages.get(r.page as usize)?;
            if r.file != refs[0].file
                || p.contiguous != Some(start + k as u64 * pb)
                || !p.same_kind(&self.reference)
            {
                return None;
            }
        }
        Some((slot, file, start))
    }

    fn read_plane<T: PagePixel>(&self, r: PlaneRef, out: &mut [T]) -> Result<()> {
        let slot = &self.files[r.file as usize];
        let opened;
        let file = match &slot.handle {
            Some(f) => f,
            None => {
                opened = File::open(&slot.path).map_err(|e| Error::io(&slot.path, e))?;
                &opened
            }
        };
        match &slot.index {
            Some(ix) => ix.read_page(file, r.page as usize, out),
            None => {
                let ix = TiffFile::index(file, &slot.path)?;
                let page = ix.pages.get(r.page as usize).ok_or_else(|| {
                    Error::metadata(
                        &slot.path,
                        format!(
                            "page {} is referenced but the file has {} pages",
                            r.page,
                            ix.pages.len()
                        ),
                    )
                })?;
                if !page.same_kind(&self.reference) {
                    return Err(Error::Page {
                        path: slot.path.clone(),
                        page: r.page as usize,
                        reason: format!(
                            "{} differs from the recording's first plane ({})",
                            page.describe(),
                            self.reference.describe()
                        ),
                    });
                }
                ix.read_page(file, r.page as usize, out)
            }
        }
    }
}

/// Calibration from the TIFF resolution tags alone (no ImageJ unit): cm and inch.
fn tag_calibration(file: &TiffFile) -> Calibration {
    let mut calibration = Calibration::default();
    if let Some((px, py, unit)) = file.resolution {
        let scale = match unit {
            3 => Some(1e4),
            2 if (1.0 / px - 72.0).abs() > 1e-6 => Some(25_400.0),
            _ => None,
        };
        if let Some(s) = scale {
            calibration.voxel_x_um = Some(Value::file(px * s));
            calibration.voxel_y_um = Some(Value::file(py * s));
        }
    }
    calibration
}

/// Opens one TIFF file: OME, ImageJ, ScanImage or plain.
pub(crate) fn open_tiff(path: &Path, opts: &ReadOptions) -> Result<Layout> {
    let handle = File::open(path).map_err(|e| Error::io(path, e))?;
    let file = TiffFile::index(&handle, path)?;
    if let Some(desc) = file.description.as_deref() {
        if ome::is_ome(desc) {
            return ome::open(path, file, handle, opts);
        }
    }
    if let Some(ij) = file.description.as_deref().and_then(ImageJMeta::parse) {
        return open_imagej(file, handle, ij, opts);
    }
    if let Some(meta) = scanimage::detect(&file, &handle) {
        return scanimage::open(path, file, handle, meta, opts);
    }
    open_plain(file, handle, opts)
}

fn open_plain(file: TiffFile, handle: File, opts: &ReadOptions) -> Result<Layout> {
    let n = file.pages.len();
    let mut warnings = Vec::new();
    let (t, c, z) = match opts.shape {
        Some(s) => {
            check_shape_override(s, n, &file.path.display().to_string())?;
            s
        }
        None => {
            if n > 1 {
                warnings.push(format!(
                    "no metadata giving the axes: reading {n} pages as one z-stack; give --shape T,C,Z"
                ));
            }
            (1, 1, n)
        }
    };
    let order = opts.page_order.unwrap_or_default();
    Ok(Layout {
        shape: Shape { t, c, z, y: file.pages[0].height as usize, x: file.pages[0].width as usize },
        page: file.pages[0].clone(),
        calibration: tag_calibration(&file),
        format: Format::Plain,
        order,
        planes: sequential_planes(t, c, z, order, 0, 0),
        files: vec![FileSlot::indexed(file, handle)],
        warnings,
    })
}

fn open_imagej(
    mut file: TiffFile,
    handle: File,
    m: ImageJMeta,
    opts: &ReadOptions,
) -> Result<Layout> {
    let path = file.path.clone();
    let first = file.pages[0].clone();
    let mut calibration = Calibration::default();
    let mut order = PageOrder::default();
    let (c, z, t) = m.czt();
    let images = m.images().unwrap_or(file.pages.len() as u64);
    let (t, c, z) = if c.checked_mul(z).and_then(|x| x.checked_mul(t)) == Some(images) {
        (t, c, z)
    } else if m.entries.contains_key("channels")
        || m.entries.contains_key("slices")
        || m.entries.contains_key("frames")
    {
        return Err(Error::metadata(
            &path,
            format!(
                "ImageJ metadata say images={images} but channels×slices×frames = {c}×{z}×{t} = {}",
                c.saturating_mul(z).saturating_mul(t)
            ),
        ));
    } else {
        (1, 1, images)
    };
    if let Some(o) = m.order() {
        order = PageOrder::parse(o)
            .map_err(|e| Error::metadata(&path, format!("ImageJ `order`: {e}")))?;
    }
    let n = file.pages.len() as u64;
    if n != images {
        // ImageJ writes only the first IFD of files over 4 GiB: the planes follow
        // contiguously from the first page's data.
        let start = match (n, first.contiguous) {
            (1, Some(start)) => start,
            _ => {
                return Err(Error::metadata(
                    &path,
                    format!(
                        "ImageJ metadata say the file holds {images} images but it has {n} pages"
                    ),
                ))
            }
        };
        let pb = first.plane_bytes();
        let end = images.checked_mul(pb).and_then(|b| b.checked_add(start));
        if end.is_none_or(|end| end > file.file_len) {
            return Err(Error::metadata(
                &path,
                format!(
                    "ImageJ metadata say {images} contiguous images of {pb} bytes from offset {start}, past the end of the file ({} bytes): truncated?",
                    file.file_len
                ),
            ));
        }
        file.pages = (0..images)
            .map(|k| PageInfo { contiguous: Some(start + k * pb), ..first.clone() })
            .collect();
    }
    // Calibration: XResolution is pixels per `unit`; `spacing` is the z step.
    if let (Some((px, py, _)), Some(u)) = (file.resolution, m.unit_um()) {
        calibration.voxel_x_um = Some(Value::file(px * u));
        calibration.voxel_y_um = Some(Value::file(py * u));
    }
    if let (Some(s), Some(u)) = (m.float("spacing"), m.zunit_um()) {
        calibration.voxel_z_um = Some(Value::file(s.abs() * u));
    }
    calibration.frame_interval_s = m.frame_interval_s().map(Value::file);
    let (t, c, z) = match opts.shape {
        Some(s) => {
            check_shape_override(s, file.pages.len(), &path.display().to_string())?;
            s
        }
        None => (t as usize, c as usize, z as usize),
    };
    if let Some(o) = opts.page_order {
        order = o;
    }
    Ok(Layout {
        shape: Shape { t, c, z, y: first.height as usize, x: first.width as usize },
        page: first,
        calibration,
        format: Format::ImageJ,
        order,
        planes: sequential_planes(t, c, z, order, 0, 0),
        files: vec![FileSlot::indexed(file, handle)],
        warnings: Vec::new(),
    })
}
