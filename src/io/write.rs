//! Writing files: atomically (temporary name, then rename), and ImageJ hyperstacks.
//!
//! [`HyperstackWriter`] writes ImageJ's own layout — IFD 0 with the description, then every
//! plane contiguously, then the other IFDs — streaming one timepoint at a time, so memory stays
//! bounded by a timepoint. Files whose IFDs would lie past 4 GiB get only IFD 0, as ImageJ
//! writes them (Fiji, tifffile and this crate's reader read them).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::{PixelType, Shape, Volume};
use crate::calib::Calibration;
use crate::error::{Error, Result};

/// A temporary path beside `path` (same folder, so the rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Writes `path` through `fill` under a temporary name and renames it into place, so an
/// interrupted write never leaves a half-written file under the final name.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let f = File::create(&tmp)?;
        let mut w = BufWriter::new(f);
        fill(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Sample formats the hyperstack writer can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleType {
    /// uint8.
    U8,
    /// uint16.
    U16,
    /// uint32 (label images).
    U32,
    /// float32.
    F32,
}

impl SampleType {
    fn bytes(self) -> u64 {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 => 2,
            SampleType::U32 | SampleType::F32 => 4,
        }
    }
    fn format(self) -> u16 {
        if self == SampleType::F32 {
            3
        } else {
            1
        }
    }
}

impl From<PixelType> for SampleType {
    fn from(p: PixelType) -> Self {
        match p {
            PixelType::U8 => SampleType::U8,
            PixelType::U16 => SampleType::U16,
            PixelType::F32 => SampleType::F32,
        }
    }
}

const TAGS_IFD0: u64 = 15;
const TAGS_OTHER: u64 = 14;
const IFD0_OFFSET: u64 = 8;

/// Streams an ImageJ hyperstack (TZCYX, planes in ImageJ order: C fastest, then Z, then T) to
/// disk one timepoint at a time, little-endian, uncompressed.
pub struct HyperstackWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    shape: Shape,
    sample: SampleType,
    data_start: u64,
    rat_off: u64,
    plane_bytes: u64,
    written_t: usize,
    single_ifd: bool,
    /// Deflate-compressed planes: (offset, byte count) of each plane written so far.
    compressed: Option<Vec<(u64, u64)>>,
    desc: (u64, u64),
    finished: bool,
}

impl HyperstackWriter {
    /// Creates the writer for a recording of `shape` and sample type, with the calibration's
    /// voxel size (`unit=micron`, XResolution, `spacing`) and frame interval (`finterval`).
    pub fn create(
        path: impl AsRef<Path>,
        shape: Shape,
        sample: SampleType,
        calibration: &Calibration,
    ) -> Result<Self> {
        Self::create_inner(path.as_ref(), shape, sample, calibration, u32::MAX as u64, false)
    }

    /// The writer of a recording's label images (`labels.tif`): one uint16 channel of its
    /// shape and calibration; give each timepoint with [`HyperstackWriter::write_labels`].
    pub fn labels(path: impl AsRef<Path>, recording: &crate::io::Recording) -> Result<Self> {
        let shape = Shape { c: 1, ..recording.shape() };
        Self::create(path, shape, SampleType::U16, recording.calibration())
    }

    /// As [`HyperstackWriter::create`], with every plane deflate-compressed (TIFF compression
    /// 8, one strip per plane; all IFDs follow the pixel data). Compressed files must stay under
    /// 4 GiB (classic TIFF offsets).
    pub fn create_deflate(
        path: impl AsRef<Path>,
        shape: Shape,
        sample: SampleType,
        calibration: &Calibration,
    ) -> Result<Self> {
        Self::create_inner(path.as_ref(), shape, sample, calibration, u32::MAX as u64, true)
    }

    /// As [`HyperstackWriter::create`], with the largest offset an IFD may have (ImageJ's is
    /// 4 GiB − 1); beyond it only IFD 0 is written. Exposed so the >4 GiB layout can be tested
    /// on small files.
    #[doc(hidden)]
    pub fn create_with_limit(
        path: &Path,
        shape: Shape,
        sample: SampleType,
        calibration: &Calibration,
        max_ifd_offset: u64,
    ) -> Result<Self> {
        Self::create_inner(path, shape, sample, calibration, max_ifd_offset, false)
    }

    fn create_inner(
        path: &Path,
        shape: Shape,
        sample: SampleType,
        calibration: &Calibration,
        max_ifd_offset: u64,
        deflate: bool,
    ) -> Result<Self> {
        if shape.planes() == 0 || shape.x == 0 || shape.y == 0 {
            return Err(Error::param(
                "shape",
                format!("cannot write an empty recording ({shape:?})"),
            ));
        }
        if shape.x > u32::MAX as usize || shape.y > u32::MAX as usize {
            return Err(Error::param("shape", "planes wider than 2^32 pixels"));
        }
        let desc = description(&shape, calibration);
        let plane_bytes = shape.x as u64 * shape.y as u64 * sample.bytes();
        let n = shape.planes() as u64;
        // Layout: header | IFD0 | description | 2 rationals | pixel data | IFD1..IFDn-1
        let ifd0_len = 2 + 12 * TAGS_IFD0 + 4;
        let desc_off = IFD0_OFFSET + ifd0_len;
        let rat_off = desc_off + desc.len() as u64;
        let data_start = (rat_off + 16).next_multiple_of(16);
        let data_end = data_start + n * plane_bytes;
        let other_len = 2 + 12 * TAGS_OTHER + 4;
        let last_ifd = data_end + (n.saturating_sub(1)) * other_len;
        let single_ifd = !deflate && n > 1 && last_ifd > max_ifd_offset;

        let path = path.to_path_buf();
        let tmp = temp_path(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(&path, e))?;
        let mut w = HyperstackWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            tmp,
            path,
            shape,
            sample,
            data_start,
            rat_off,
            plane_bytes,
            written_t: 0,
            single_ifd,
            compressed: deflate.then(|| Vec::with_capacity(shape.planes())),
            desc: (desc_off, desc.len() as u64),
            finished: false,
        };
        let next = if n > 1 && !single_ifd { data_end } else { 0 };
        let mut head = Vec::with_capacity(data_start as usize);
        head.extend_from_slice(b"II");
        head.extend_from_slice(&42u16.to_le_bytes());
        head.extend_from_slice(&(IFD0_OFFSET as u32).to_le_bytes());
        if deflate {
            // IFDs follow the compressed data; the header is pointed at IFD 0 on finish.
            head[4..8].copy_from_slice(&0u32.to_le_bytes());
            head.resize(desc_off as usize, 0);
        } else {
            w.ifd(
                &mut head,
                Some((desc_off, desc.len() as u64)),
                rat_off,
                (data_start, plane_bytes),
                next,
            );
        }
        head.extend_from_slice(&desc);
        let res = resolution(calibration);
        for r in [res.0, res.1] {
            head.extend_from_slice(&r.0.to_le_bytes());
            head.extend_from_slice(&r.1.to_le_bytes());
        }
        head.resize(data_start as usize, 0);
        w.out.write_all(&head).map_err(|e| Error::io(&w.path, e))?;
        Ok(w)
    }

    /// Appends one IFD (to `buf`) for a plane stored in `strip` = (offset, byte count).
    fn ifd(
        &self,
        buf: &mut Vec<u8>,
        desc: Option<(u64, u64)>,
        rat_off: u64,
        strip: (u64, u64),
        next: u64,
    ) {
        let s = &self.shape;
        let bits = (self.sample.bytes() * 8) as u32;
        let count = if desc.is_some() { TAGS_IFD0 } else { TAGS_OTHER };
        buf.extend_from_slice(&(count as u16).to_le_bytes());
        let mut entry = |tag: u16, typ: u16, n: u32, value: u32| {
            buf.extend_from_slice(&tag.to_le_bytes());
            buf.extend_from_slice(&typ.to_le_bytes());
            buf.extend_from_slice(&n.to_le_bytes());
            buf.extend_from_slice(&value.to_le_bytes());
        };
        const SHORT: u16 = 3;
        const LONG: u16 = 4;
        entry(254, LONG, 1, 0); // NewSubfileType
        entry(256, LONG, 1, s.x as u32); // ImageWidth
        entry(257, LONG, 1, s.y as u32); // ImageLength
        entry(258, SHORT, 1, bits); // BitsPerSample
        let compression = if self.compressed.is_some() { 8 } else { 1 };
        entry(259, SHORT, 1, compression); // Compression: none or deflate
        entry(262, SHORT, 1, 1); // Photometric: BlackIsZero
        if let Some((off, len)) = desc {
            entry(270, 2, len as u32, off as u32); // ImageDescription (ASCII)
        }
        entry(273, LONG, 1, strip.0 as u32); // StripOffsets
        entry(277, SHORT, 1, 1); // SamplesPerPixel
        entry(278, LONG, 1, s.y as u32); // RowsPerStrip
                                         // The stored bytes of this plane: its compressed size, or the plane's size (0 for a
                                         // plane over 4 GiB, as ImageJ writes it).
        let strip_bytes = if self.compressed.is_some() {
            strip.1 as u32
        } else if self.plane_bytes > u32::MAX as u64 {
            0
        } else {
            self.plane_bytes as u32
        };
        entry(279, LONG, 1, strip_bytes); // StripByteCounts
        entry(282, 5, 1, rat_off as u32); // XResolution (RATIONAL)
        entry(283, 5, 1, rat_off as u32 + 8); // YResolution
        entry(296, SHORT, 1, 1); // ResolutionUnit: none (unit is in the description)
        entry(339, SHORT, 1, self.sample.format() as u32); // SampleFormat
        buf.extend_from_slice(&(next as u32).to_le_bytes());
    }

    /// Writes the next timepoint: one volume per channel, each (z, y, x).
    pub fn write_timepoint(&mut self, channels: &[Volume]) -> Result<()> {
        let planes: Vec<PlaneSrc> = channels
            .iter()
            .map(|v| match v {
                Volume::U8(a) => PlaneSrc::U8(a),
                Volume::U16(a) => PlaneSrc::U16(a),
                Volume::F32(a) => PlaneSrc::F32(a),
            })
            .collect();
        self.write_planes(&planes)
    }

    /// Writes the next timepoint of a label image (one channel; see [`SampleType::U16`] /
    /// [`SampleType::U32`]). Labels above 65535 in a uint16 file are an error.
    pub fn write_labels(&mut self, labels: &Array3<u32>) -> Result<()> {
        self.write_planes(&[PlaneSrc::U32(labels)])
    }

    fn write_planes(&mut self, chans: &[PlaneSrc]) -> Result<()> {
        let s = self.shape;
        if self.written_t >= s.t {
            return Err(Error::param(
                "timepoint",
                format!("all {} timepoints are already written", s.t),
            ));
        }
        if chans.len() != s.c {
            return Err(Error::param(
                "channels",
                format!("got {} volumes for {} channels", chans.len(), s.c),
            ));
        }
        for ch in chans {
            if ch.dim() != (s.z, s.y, s.x) {
                return Err(Error::param(
                    "volume",
                    format!(
                        "volume of shape {:?} for a recording of (z, y, x) = ({}, {}, {})",
                        ch.dim(),
                        s.z,
                        s.y,
                        s.x
                    ),
                ));
            }
        }
        let mut buf: Vec<u8> = Vec::with_capacity(self.plane_bytes as usize);
        for z in 0..s.z {
            for ch in chans {
                buf.clear();
                ch.encode_plane(z, self.sample, &mut buf).map_err(|reason| Error::Frame {
                    path: Some(self.path.clone()),
                    frame: self.written_t,
                    reason,
                })?;
                self.put_plane(&buf)?;
            }
        }
        self.written_t += 1;
        Ok(())
    }

    fn put_plane(&mut self, plane: &[u8]) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        match &mut self.compressed {
            None => self.out.write_all(plane).map_err(io),
            Some(strips) => {
                let offset = self.out.stream_position().map_err(io)?;
                let mut enc = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(plane.len() / 2),
                    flate2::Compression::new(6),
                );
                enc.write_all(plane).map_err(io)?;
                let data = enc.finish().map_err(io)?;
                if offset + data.len() as u64 > u32::MAX as u64 {
                    return Err(Error::param(
                        "compression",
                        "a compressed file over 4 GiB needs BigTIFF; write it uncompressed",
                    ));
                }
                strips.push((offset, data.len() as u64));
                self.out.write_all(&data).map_err(io)
            }
        }
    }

    /// Writes all IFDs of a compressed file after its pixel data and points the header at IFD 0.
    fn finish_compressed(&mut self, strips: &[(u64, u64)]) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        let start = self.out.stream_position().map_err(io)?.next_multiple_of(2);
        let pad = start - self.out.stream_position().map_err(io)?;
        self.out.write_all(&vec![0u8; pad as usize]).map_err(io)?;
        let ifd0_len = 2 + 12 * TAGS_IFD0 + 4;
        let other_len = 2 + 12 * TAGS_OTHER + 4;
        let mut buf = Vec::new();
        let n = strips.len();
        for (k, &strip) in strips.iter().enumerate() {
            let here = if k == 0 { start } else { start + ifd0_len + (k as u64 - 1) * other_len };
            let next = if k + 1 < n { start + ifd0_len + k as u64 * other_len } else { 0 };
            debug_assert_eq!(here, start + buf.len() as u64);
            let desc = if k == 0 { Some(self.desc) } else { None };
            self.ifd(&mut buf, desc, self.rat_off, strip, next);
        }
        if start + buf.len() as u64 > u32::MAX as u64 {
            return Err(Error::param(
                "compression",
                "a compressed file over 4 GiB needs BigTIFF; write it uncompressed",
            ));
        }
        self.out.write_all(&buf).map_err(io)?;
        self.out.seek(SeekFrom::Start(4)).map_err(io)?;
        self.out.write_all(&(start as u32).to_le_bytes()).map_err(io)?;
        Ok(())
    }

    /// Writes the remaining IFDs and moves the file into place. Every timepoint must have
    /// been written.
    pub fn finish(mut self) -> Result<()> {
        let s = self.shape;
        if self.written_t != s.t {
            return Err(Error::param(
                "timepoint",
                format!(
                    "{} of {} timepoints written; the file is not complete",
                    self.written_t, s.t
                ),
            ));
        }
        let n = s.planes() as u64;
        if let Some(strips) = self.compressed.clone() {
            self.finish_compressed(&strips)?;
        } else if n > 1 && !self.single_ifd {
            let data_end = self.data_start + n * self.plane_bytes;
            let other_len = 2 + 12 * TAGS_OTHER + 4;
            let rat_off = self.rat_off;
            let mut buf = Vec::with_capacity(other_len as usize * 1024);
            for k in 1..n {
                let here = data_end + (k - 1) * other_len;
                let next = if k + 1 < n { here + other_len } else { 0 };
                self.ifd(
                    &mut buf,
                    None,
                    rat_off,
                    (self.data_start + k * self.plane_bytes, self.plane_bytes),
                    next,
                );
                if buf.len() > (1 << 20) {
                    self.out.write_all(&buf).map_err(|e| Error::io(&self.path, e))?;
                    buf.clear();
                }
            }
            self.out.write_all(&buf).map_err(|e| Error::io(&self.path, e))?;
        }
        let path = self.path.clone();
        self.out.flush().map_err(|e| Error::io(&path, e))?;
        self.out.get_ref().sync_all().map_err(|e| Error::io(&path, e))?;
        std::fs::rename(&self.tmp, &path).map_err(|e| Error::io(&path, e))?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for HyperstackWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

enum PlaneSrc<'a> {
    U8(&'a Array3<u8>),
    U16(&'a Array3<u16>),
    U32(&'a Array3<u32>),
    F32(&'a Array3<f32>),
}

impl PlaneSrc<'_> {
    fn dim(&self) -> (usize, usize, usize) {
        match self {
            PlaneSrc::U8(a) => a.dim(),
            PlaneSrc::U16(a) => a.dim(),
            PlaneSrc::U32(a) => a.dim(),
            PlaneSrc::F32(a) => a.dim(),
        }
    }

    /// Appends plane `z` as little-endian samples of type `to`.
    fn encode_plane(
        &self,
        z: usize,
        to: SampleType,
        buf: &mut Vec<u8>,
    ) -> std::result::Result<(), String> {
        use ndarray::s;
        fn put<T: Copy>(
            buf: &mut Vec<u8>,
            plane: ndarray::ArrayView2<T>,
            f: impl Fn(T) -> std::result::Result<Vec<u8>, String>,
        ) -> std::result::Result<(), String> {
            for &v in plane.iter() {
                buf.extend_from_slice(&f(v)?);
            }
            Ok(())
        }
        let conv_err = |v: String| format!("value {v} does not fit the file's {to:?} samples");
        match (self, to) {
            (PlaneSrc::U8(a), SampleType::U8) => put(buf, a.slice(s![z, .., ..]), |v| Ok(vec![v])),
            (PlaneSrc::U16(a), SampleType::U16) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(v.to_le_bytes().to_vec()))
            }
            (PlaneSrc::F32(a), SampleType::F32) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(v.to_le_bytes().to_vec()))
            }
            (PlaneSrc::U32(a), SampleType::U32) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(v.to_le_bytes().to_vec()))
            }
            (PlaneSrc::U32(a), SampleType::U16) => put(buf, a.slice(s![z, .., ..]), |v| {
                u16::try_from(v)
                    .map(|v| v.to_le_bytes().to_vec())
                    .map_err(|_| conv_err(v.to_string()))
            }),
            (PlaneSrc::U8(a), SampleType::U16) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(u16::from(v).to_le_bytes().to_vec()))
            }
            (PlaneSrc::U8(a), SampleType::F32) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(f32::from(v).to_le_bytes().to_vec()))
            }
            (PlaneSrc::U16(a), SampleType::F32) => {
                put(buf, a.slice(s![z, .., ..]), |v| Ok(f32::from(v).to_le_bytes().to_vec()))
            }
            (_, to) => Err(format!("cannot store these voxels as {to:?} without losing values")),
        }
    }
}

/// The ImageJ description for `shape` and `calibration`, NUL-terminated.
fn description(shape: &Shape, cal: &Calibration) -> Vec<u8> {
    let mut d = format!("ImageJ=1.54f\nimages={}\n", shape.planes());
    if shape.c > 1 {
        d += &format!("channels={}\n", shape.c);
    }
    if shape.z > 1 {
        d += &format!("slices={}\n", shape.z);
    }
    if shape.t > 1 {
        d += &format!("frames={}\n", shape.t);
    }
    d += "hyperstack=true\nmode=grayscale\n";
    if shape.t > 1 {
        d += "loop=false\n";
    }
    if cal.voxel_x_um.is_some() || cal.voxel_z_um.is_some() {
        d += "unit=micron\n";
    }
    if let Some(z) = cal.voxel_z_um {
        d += &format!("spacing={}\n", z.value);
    }
    if let Some(f) = cal.frame_interval_s {
        d += &format!("finterval={}\n", f.value);
    }
    let mut b = d.into_bytes();
    b.push(0);
    b
}

/// XResolution and YResolution (pixels per µm) as TIFF rationals.
fn resolution(cal: &Calibration) -> ((u32, u32), (u32, u32)) {
    fn rat(size_um: Option<f64>) -> (u32, u32) {
        match size_um {
            // pixels per µm = 1/size, with a 10^6 denominator (as ImageJ writes it).
            Some(s) if s > 0.0 => {
                let num = (1e6 / s).round();
                if num <= u32::MAX as f64 && num >= 1.0 {
                    (num as u32, 1_000_000)
                } else {
                    let den = ((u32::MAX as f64) * s).floor().clamp(1.0, u32::MAX as f64);
                    ((den / s).round() as u32, den as u32)
                }
            }
            _ => (1, 1),
        }
    }
    (rat(cal.voxel_x_um.map(|v| v.value)), rat(cal.voxel_y_um.map(|v| v.value)))
}

/// Writes a whole recording held in memory as an ImageJ hyperstack; `volume(t, c)` gives each
/// (z, y, x) stack. For large recordings stream with [`HyperstackWriter`] instead.
pub fn write_imagej(
    path: impl AsRef<Path>,
    shape: Shape,
    dtype: PixelType,
    calibration: &Calibration,
    mut volume: impl FnMut(usize, usize) -> Result<Volume>,
) -> Result<()> {
    let mut w = HyperstackWriter::create(path, shape, dtype.into(), calibration)?;
    for t in 0..shape.t {
        let vols = (0..shape.c).map(|c| volume(t, c)).collect::<Result<Vec<_>>>()?;
        w.write_timepoint(&vols)?;
    }
    w.finish()
}
