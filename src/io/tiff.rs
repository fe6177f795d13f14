//! TIFF pages: an index of every page's layout built once at open, and reading one page.
//!
//! Uncompressed stripped pages are read straight from the file (positioned reads, no shared
//! cursor, so timepoints can be read in parallel); compressed or tiled pages go through the
//! `tiff` crate's decoder. Every strip is checked against the file's length at open, so a
//! truncated file is refused before anything is read.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ::tiff::decoder::{Decoder, DecodingResult, Limits};
use ::tiff::tags::Tag;
use ::tiff::ColorType;

use super::PixelType;
use crate::error::{Error, Result};

/// Largest compression ratio believed for a compressed page (deflate's limit is ~1032:1):
/// a page declaring more pixels than this is refused before allocating.
const MAX_COMPRESSION_RATIO: u64 = 1100;
/// Largest single plane accepted (bytes): 16 GiB.
const MAX_PLANE_BYTES: u64 = 16 << 30;

/// Where one page's pixels live and how they are stored.
#[derive(Debug, Clone)]
pub(crate) struct PageInfo {
    pub width: u32,
    pub height: u32,
    pub dtype: PixelType,
    /// Uncompressed strips that can be read directly: (offset, byte count).
    pub strips: Option<Vec<(u64, u64)>>,
    /// IFD index in the file for decoder-based reading.
    pub ifd: usize,
}

impl PageInfo {
    pub fn plane_bytes(&self) -> u64 {
        self.width as u64 * self.height as u64 * self.dtype.bytes() as u64
    }
}

/// The page index of one TIFF file.
pub(crate) struct TiffFile {
    pub path: PathBuf,
    pub file: File,
    pub file_len: u64,
    pub big_endian: bool,
    pub description: Option<String>,
    /// Pixel width/height in "units" from XResolution/YResolution, and the ResolutionUnit.
    pub resolution: Option<(f64, f64, u16)>,
    pub pages: Vec<PageInfo>,
    decoder: Mutex<Decoder<BufReader<File>>>,
}

fn tiff_err(path: &Path, page: Option<usize>, e: ::tiff::TiffError) -> Error {
    let reason = match e {
        ::tiff::TiffError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file (truncated?)".to_string()
        }
        other => other.to_string(),
    };
    match page {
        Some(page) => Error::Page { path: path.to_path_buf(), page, reason },
        None => Error::format(path, format!("not a readable TIFF: {reason}")),
    }
}

fn rational(v: ::tiff::decoder::ifd::Value) -> Option<f64> {
    use ::tiff::decoder::ifd::Value;
    match v {
        Value::Rational(n, d) if d != 0 => Some(n as f64 / d as f64),
        Value::Float(f) => Some(f as f64),
        Value::Double(f) => Some(f),
        Value::List(mut l) if !l.is_empty() => rational(l.swap_remove(0)),
        _ => None,
    }
}

impl TiffFile {
    /// Opens `path` and indexes every page (IFD).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if file_len == 0 {
            return Err(Error::format(path, "empty file (0 bytes)"));
        }
        if file_len < 8 {
            return Err(Error::format(path, "not a TIFF (shorter than a TIFF header)"));
        }
        let reader = BufReader::new(file.try_clone().map_err(|e| Error::io(path, e))?);
        let mut limits = Limits::default();
        limits.ifd_value_size = 256 << 20;
        let mut dec = Decoder::new(reader)
            .map_err(|e| match e {
                ::tiff::TiffError::FormatError(::tiff::TiffFormatError::TiffSignatureNotFound)
                | ::tiff::TiffError::FormatError(::tiff::TiffFormatError::TiffSignatureInvalid) => {
                    Error::format(path, "not a TIFF file (no TIFF signature)")
                }
                e => tiff_err(path, None, e),
            })?
            .with_limits(limits);
        let big_endian = matches!(dec.byte_order(), ::tiff::tags::ByteOrder::BigEndian);

        let description = read_description(&mut dec);
        let resolution = {
            let x = dec.find_tag(Tag::XResolution).ok().flatten().and_then(rational);
            let y = dec.find_tag(Tag::YResolution).ok().flatten().and_then(rational);
            let unit =
                dec.find_tag_unsigned::<u16>(Tag::ResolutionUnit).ok().flatten().unwrap_or(2);
            match (x, y) {
                (Some(x), Some(y)) if x > 0.0 && y > 0.0 => Some((1.0 / x, 1.0 / y, unit)),
                _ => None,
            }
        };

        let mut pages = Vec::new();
        loop {
            let ifd = pages.len();
            pages.push(page_info(&mut dec, path, ifd, file_len)?);
            if !dec.more_images() {
                break;
            }
            dec.next_image().map_err(|e| tiff_err(path, Some(ifd + 1), e))?;
        }
        Ok(TiffFile {
            path: path.to_path_buf(),
            file,
            file_len,
            big_endian,
            description,
            resolution,
            pages,
            decoder: Mutex::new(dec),
        })
    }

    /// Reads page `page` into `out` (length width × height, row-major).
    pub fn read_page<T: PagePixel>(&self, page: usize, out: &mut [T]) -> Result<()> {
        let info = &self.pages[page];
        debug_assert_eq!(out.len() as u64, info.width as u64 * info.height as u64);
        if info.dtype != T::DTYPE {
            return Err(Error::Page {
                path: self.path.clone(),
                page,
                reason: format!("pixel type {} differs from the recording's", info.dtype),
            });
        }
        match &info.strips {
            Some(strips) => {
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
                let mut pos = 0usize;
                for &(off, len) in strips {
                    if pos >= bytes.len() {
                        break;
                    }
                    let n = (len as usize).min(bytes.len() - pos);
                    read_exact_at(&self.file, &mut bytes[pos..pos + n], off)
                        .map_err(|e| Error::io(&self.path, e))?;
                    pos += n;
                }
                if pos < bytes.len() {
                    return Err(Error::Page {
                        path: self.path.clone(),
                        page,
                        reason: "strips hold fewer bytes than the image needs".into(),
                    });
                }
                if self.big_endian != cfg!(target_endian = "big") {
                    T::swap_bytes(out);
                }
                Ok(())
            }
            None => {
                let mut dec = self.decoder.lock().unwrap_or_else(|p| p.into_inner());
                dec.seek_to_image(info.ifd).map_err(|e| tiff_err(&self.path, Some(page), e))?;
                let res = dec.read_image().map_err(|e| tiff_err(&self.path, Some(page), e))?;
                T::copy_from(res, out).ok_or_else(|| Error::Page {
                    path: self.path.clone(),
                    page,
                    reason: "decoded data have an unexpected type or size".into(),
                })
            }
        }
    }
}

fn read_description<R: std::io::Read + std::io::Seek>(dec: &mut Decoder<R>) -> Option<String> {
    use ::tiff::decoder::ifd::Value;
    match dec.find_tag(Tag::ImageDescription) {
        Ok(Some(Value::Ascii(s))) => Some(s),
        Ok(Some(Value::List(l))) => {
            // Several strings or raw bytes: join what is text.
            let bytes: Vec<u8> = l.into_iter().filter_map(|v| v.into_u8().ok()).collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Ok(Some(_)) | Ok(None) => None,
        Err(_) => dec
            .get_tag_u8_vec(Tag::ImageDescription)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
}

fn page_info<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    path: &Path,
    ifd: usize,
    file_len: u64,
) -> Result<PageInfo> {
    let perr = |reason: String| Error::Page { path: path.to_path_buf(), page: ifd, reason };
    let (width, height) = dec.dimensions().map_err(|e| tiff_err(path, Some(ifd), e))?;
    let color = dec.colortype().map_err(|e| tiff_err(path, Some(ifd), e))?;
    let samples = dec.find_tag_unsigned::<u16>(Tag::SamplesPerPixel).ok().flatten().unwrap_or(1);
    let planar = dec.find_tag_unsigned::<u16>(Tag::PlanarConfiguration).ok().flatten().unwrap_or(1);
    let format = dec.find_tag_unsigned::<u16>(Tag::SampleFormat).ok().flatten().unwrap_or(1);
    let compression = dec.find_tag_unsigned::<u16>(Tag::Compression).ok().flatten().unwrap_or(1);
    if samples != 1 || planar != 1 {
        return Err(perr(format!(
            "{samples} samples per pixel ({}): only single-sample (grayscale) pages are supported; save channels as separate pages",
            if planar == 2 { "planar-separate" } else { "interleaved" }
        )));
    }
    let dtype = match (color, format) {
        (ColorType::Gray(8), 1) => PixelType::U8,
        (ColorType::Gray(16), 1) => PixelType::U16,
        (ColorType::Gray(32), 3) => PixelType::F32,
        (c, f) => {
            let kind = match f {
                1 => "unsigned integer",
                2 => "signed integer",
                3 => "floating point",
                _ => "unknown sample format",
            };
            return Err(perr(format!(
                "unsupported pixel type ({c:?}, {kind}): supported are uint8, uint16 and float32"
            )));
        }
    };
    let plane_bytes = width as u64 * height as u64 * dtype.bytes() as u64;
    if width == 0 || height == 0 {
        return Err(perr("image has zero width or height".into()));
    }
    if plane_bytes > MAX_PLANE_BYTES {
        return Err(perr(format!(
            "declared image {width}×{height} is too large ({plane_bytes} bytes)"
        )));
    }
    let tiled = dec.find_tag(Tag::TileOffsets).ok().flatten().is_some();
    let (off_tag, cnt_tag) = if tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets: Vec<u64> = dec
        .find_tag_unsigned_vec(off_tag)
        .map_err(|e| tiff_err(path, Some(ifd), e))?
        .ok_or_else(|| perr("no strip or tile offsets".into()))?;
    let counts: Vec<u64> = dec
        .find_tag_unsigned_vec(cnt_tag)
        .map_err(|e| tiff_err(path, Some(ifd), e))?
        .ok_or_else(|| perr("no strip or tile byte counts".into()))?;
    if offsets.len() != counts.len() {
        return Err(perr(format!("{} offsets but {} byte counts", offsets.len(), counts.len())));
    }
    let mut total = 0u64;
    for (i, (&o, &c)) in offsets.iter().zip(&counts).enumerate() {
        if o.checked_add(c).is_none_or(|end| end > file_len) {
            return Err(perr(format!(
                "strip {i} (offset {o}, {c} bytes) lies past the end of the file ({file_len} bytes): truncated or corrupt"
            )));
        }
        total += c;
    }
    if total == 0 {
        return Err(perr("all strips are empty (zero byte counts)".into()));
    }
    let strips = if compression == 1 {
        if !tiled && total < plane_bytes {
            return Err(perr(format!(
                "uncompressed strips hold {total} bytes but a {width}×{height} {dtype} image needs {plane_bytes}"
            )));
        }
        if tiled {
            None
        } else {
            Some(offsets.into_iter().zip(counts).collect())
        }
    } else {
        if plane_bytes > total.saturating_mul(MAX_COMPRESSION_RATIO) {
            return Err(perr(format!(
                "declared image {width}×{height} ({plane_bytes} bytes) is far larger than its {total} compressed bytes"
            )));
        }
        None
    };
    Ok(PageInfo { width, height, dtype, strips, ifd })
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_read(buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// A pixel type a page can be read into.
pub(crate) trait PagePixel: bytemuck::Pod + Default + Send {
    const DTYPE: PixelType;
    fn swap_bytes(v: &mut [Self]);
    fn copy_from(res: DecodingResult, out: &mut [Self]) -> Option<()>;
}

macro_rules! page_pixel {
    ($t:ty, $dt:expr, $var:ident, |$v:ident| $swap:expr) => {
        impl PagePixel for $t {
            const DTYPE: PixelType = $dt;
            fn swap_bytes(v: &mut [Self]) {
                for $v in v.iter_mut() {
                    *$v = $swap;
                }
            }
            fn copy_from(res: DecodingResult, out: &mut [Self]) -> Option<()> {
                match res {
                    DecodingResult::$var(d) if d.len() >= out.len() => {
                        out.copy_from_slice(&d[..out.len()]);
                        Some(())
                    }
                    _ => None,
                }
            }
        }
    };
}
page_pixel!(u8, PixelType::U8, U8, |x| *x);
page_pixel!(u16, PixelType::U16, U16, |x| x.swap_bytes());
page_pixel!(f32, PixelType::F32, F32, |x| f32::from_bits(x.to_bits().swap_bytes()));
