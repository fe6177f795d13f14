//! Reading and writing recordings.
//!
//! [`Recording::open`] indexes a TIFF's pages once and reads nothing else; [`Recording::volume`]
//! then reads one (t, c) z-stack on demand, as the pixel type stored ([`Volume`]). Axis order of
//! image arrays is (t, c, z, y, x); a volume is (z, y, x).

pub mod imagej;
pub(crate) mod tiff;
pub mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::calib::{parse_list, Calibration, Value, VoxelSize};
use crate::error::{Error, Result};
use imagej::ImageJMeta;

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

/// The kind of file a recording was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An ImageJ hyperstack (description starting `ImageJ=`).
    ImageJ,
    /// A TIFF without metadata the reader understands (shape from the caller).
    Plain,
}

/// A recording opened lazily: the page index and metadata, no pixels.
pub struct Recording {
    path: PathBuf,
    shape: Shape,
    dtype: PixelType,
    calibration: Calibration,
    format: Format,
    order: PageOrder,
    /// Page of plane k (k in page order) → index into `file.pages`.
    file: tiff::TiffFile,
    warnings: Vec<String>,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .field("format", &self.format)
            .field("calibration", &self.calibration)
            .finish()
    }
}

impl Recording {
    /// Opens a recording with the file's own metadata.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// Opens a recording, applying the caller's overrides.
    pub fn open_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            return Err(Error::format(path, "is a folder, not a TIFF file"));
        }
        let mut file = tiff::TiffFile::open(path)?;
        let first = file.pages[0].clone();
        for (i, p) in file.pages.iter().enumerate() {
            if (p.width, p.height, p.dtype) != (first.width, first.height, first.dtype) {
                return Err(Error::Page {
                    path: path.to_path_buf(),
                    page: i,
                    reason: format!(
                        "{}×{} {} differs from page 0 ({}×{} {}): all pages must have one size and type",
                        p.width, p.height, p.dtype, first.width, first.height, first.dtype
                    ),
                });
            }
        }
        let ij = file.description.as_deref().and_then(ImageJMeta::parse);
        let mut warnings = Vec::new();
        let mut calibration = Calibration::default();
        let format = if ij.is_some() { Format::ImageJ } else { Format::Plain };
        let mut order = PageOrder::default();

        // Number of planes and (t, c, z) from the metadata.
        let (t, c, z) = if let Some(m) = &ij {
            let (c, z, t) = m.czt();
            let images = m.images().unwrap_or(file.pages.len() as u64);
            let (t, c, z) = if c * z * t == images {
                (t, c, z)
            } else if m.entries.contains_key("channels")
                || m.entries.contains_key("slices")
                || m.entries.contains_key("frames")
            {
                return Err(Error::metadata(
                    path,
                    format!("ImageJ metadata say images={images} but channels×slices×frames = {c}×{z}×{t} = {}", c * z * t),
                ));
            } else {
                (1, 1, images)
            };
            if let Some(o) = m.order() {
                order = PageOrder::parse(o)
                    .map_err(|e| Error::metadata(path, format!("ImageJ `order`: {e}")))?;
            }
            let n = file.pages.len() as u64;
            if n != images {
                // ImageJ writes only the first IFD of files over 4 GiB: the planes follow
                // contiguously from the first page's data.
                let contiguous = n == 1 && first.strips.is_some();
                if !contiguous {
                    return Err(Error::metadata(
                        path,
                        format!("ImageJ metadata say the file holds {images} images but it has {n} pages"),
                    ));
                }
                let start = first.strips.as_ref().map(|s| s[0].0).unwrap_or(0);
                let pb = first.plane_bytes();
                let end = images.checked_mul(pb).and_then(|b| b.checked_add(start));
                if end.is_none_or(|end| end > file.file_len) {
                    return Err(Error::metadata(
                        path,
                        format!(
                            "ImageJ metadata say {images} contiguous images of {pb} bytes from offset {start}, past the end of the file ({} bytes): truncated?",
                            file.file_len
                        ),
                    ));
                }
                file.pages = (0..images)
                    .map(|k| tiff::PageInfo {
                        strips: Some(vec![(start + k * pb, pb)]),
                        ..first.clone()
                    })
                    .collect();
            }
            // Calibration: XResolution is pixels per `unit`; `spacing` is the z step.
            let unit = m.unit_um();
            if let (Some((px, py, _)), Some(u)) = (file.resolution, unit) {
                calibration.voxel_x_um = Some(Value::file(px * u));
                calibration.voxel_y_um = Some(Value::file(py * u));
            }
            if let (Some(s), Some(u)) = (m.float("spacing"), m.zunit_um()) {
                calibration.voxel_z_um = Some(Value::file(s.abs() * u));
            }
            calibration.frame_interval_s = m.frame_interval_s().map(Value::file);
            (t as usize, c as usize, z as usize)
        } else {
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
            if opts.shape.is_none() && file.pages.len() > 1 {
                warnings.push(format!(
                    "no metadata giving the axes: reading {} pages as one z-stack; give --shape T,C,Z",
                    file.pages.len()
                ));
            }
            (1, 1, file.pages.len())
        };

        let (t, c, z) = match opts.shape {
            Some((t, c, z)) => {
                let n = file.pages.len();
                if t.checked_mul(c).and_then(|x| x.checked_mul(z)) != Some(n) {
                    return Err(Error::param(
                        "shape",
                        format!(
                            "{t},{c},{z} (T,C,Z) needs {} pages but {} has {n}",
                            t.saturating_mul(c).saturating_mul(z),
                            path.display()
                        ),
                    ));
                }
                (t, c, z)
            }
            None => (t, c, z),
        };
        if let Some(o) = opts.page_order {
            order = o;
        }
        let shape = Shape { t, c, z, y: first.height as usize, x: first.width as usize };
        calibration = calibration.with_overrides(opts.voxel_size, opts.frame_interval_s);
        warnings.extend(calibration.warnings());
        Ok(Recording {
            path: path.to_path_buf(),
            shape,
            dtype: first.dtype,
            calibration,
            format,
            order,
            file,
            warnings,
        })
    }

    /// The file this recording was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Sizes along (t, c, z, y, x).
    pub fn shape(&self) -> Shape {
        self.shape
    }
    /// The stored pixel type.
    pub fn dtype(&self) -> PixelType {
        self.dtype
    }
    /// Voxel size, frame interval and where each came from.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }
    /// What kind of file this is.
    pub fn format(&self) -> Format {
        self.format
    }
    /// The page order used to map pages to (t, c, z).
    pub fn page_order(&self) -> PageOrder {
        self.order
    }
    /// Warnings from opening (missing calibration, guessed axes).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads the (z, y, x) stack of timepoint `t`, channel `c`, in the stored pixel type.
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

    fn read_stack<T: tiff::PagePixel>(&self, t: usize, c: usize) -> Result<Array3<T>> {
        let s = self.shape;
        let plane = s.y * s.x;
        let mut data = vec![T::default(); s.z * plane];
        for (z, chunk) in data.chunks_mut(plane).enumerate() {
            let page = self.order.page_index(&s, t, c, z);
            self.file.read_page(page, chunk)?;
        }
        Array3::from_shape_vec((s.z, s.y, s.x), data).map_err(|e| Error::data(e.to_string()))
    }
}
