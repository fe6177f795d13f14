//! TIFF pages: an index of every page's layout built once at open, and reading one page.
//!
//! The index is our own parser of the TIFF structure (classic and BigTIFF, either byte order):
//! it reads each IFD with positioned reads and keeps, per page, where its strips or tiles lie
//! and how they are coded. Every value is checked against the file's length before anything is
//! allocated, so a corrupt or hostile file is refused quickly, with bounded memory.
//!
//! Reading a page needs no shared state: strips and tiles are fetched with positioned reads
//! (no shared cursor) and decoded here (none, LZW, Deflate, PackBits; horizontal and
//! floating-point predictors), so the planes of a stack and the timepoints of a recording can
//! be read in parallel. Uncompressed planes whose strips are contiguous are read with one
//! positioned read straight into the output buffer.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::PixelType;
use crate::error::{Error, Result};

/// Largest single plane accepted (bytes): 16 GiB.
const MAX_PLANE_BYTES: u64 = 16 << 30;
/// Most tags believed in one IFD.
const MAX_TAGS: u64 = 4096;

/// How a page's samples are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    U8,
    U16,
    /// int16 (ScanImage's default): read losslessly as float32.
    I16,
    F32,
}

impl Stored {
    pub fn bytes(self) -> usize {
        match self {
            Stored::U8 => 1,
            Stored::U16 | Stored::I16 => 2,
            Stored::F32 => 4,
        }
    }
    /// The pixel type a recording of such pages has.
    pub fn pixel_type(self) -> PixelType {
        match self {
            Stored::U8 => PixelType::U8,
            Stored::U16 => PixelType::U16,
            Stored::I16 | Stored::F32 => PixelType::F32,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Stored::U8 => "uint8",
            Stored::U16 => "uint16",
            Stored::I16 => "int16",
            Stored::F32 => "float32",
        }
    }
}

/// Compression schemes the reader decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Lzw,
    Deflate,
    PackBits,
}

/// Where one page's pixels live and how they are stored.
#[derive(Debug, Clone)]
pub(crate) struct PageInfo {
    pub width: u32,
    pub height: u32,
    pub stored: Stored,
    pub compression: Compression,
    /// 1 none, 2 horizontal differencing, 3 floating point.
    pub predictor: u16,
    /// Tile size (width, height); `None` for strips.
    pub tile: Option<(u32, u32)>,
    /// Rows per strip (strips only).
    pub rows_per_strip: u32,
    /// The whole plane lies uncompressed and contiguous from this offset.
    pub contiguous: Option<u64>,
    /// Every strip or tile: (offset, byte count). Empty when `contiguous` is set.
    pub chunks: Vec<(u64, u64)>,
}

impl PageInfo {
    pub fn plane_bytes(&self) -> u64 {
        self.width as u64 * self.height as u64 * self.stored.bytes() as u64
    }
    /// The pixel type the page is read as.
    pub fn dtype(&self) -> PixelType {
        self.stored.pixel_type()
    }
    /// Same size and sample type as `other`.
    pub fn same_kind(&self, other: &PageInfo) -> bool {
        (self.width, self.height, self.stored) == (other.width, other.height, other.stored)
    }
    /// "W×H type", for messages.
    pub fn describe(&self) -> String {
        format!("{}×{} {}", self.width, self.height, self.stored.name())
    }
}

/// The page index of one TIFF file.
#[derive(Debug)]
pub(crate) struct TiffFile {
    pub path: PathBuf,
    pub file_len: u64,
    pub big_endian: bool,
    pub bigtiff: bool,
    /// ImageDescription of IFD 0.
    pub description: Option<String>,
    /// Software tag of IFD 0.
    pub software: Option<String>,
    /// Pixel width/height in "units" from XResolution/YResolution, and the ResolutionUnit.
    pub resolution: Option<(f64, f64, u16)>,
    pub pages: Vec<PageInfo>,
}

/// A raw IFD entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u16,
    typ: u16,
    count: u64,
    /// The value bytes if inline, else the offset (as u64) in `inline`'s place.
    value_or_offset: [u8; 8],
}

fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

struct Parser<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    le: bool,
    big: bool,
}

impl Parser<'_> {
    fn fmt(&self, reason: impl Into<String>) -> Error {
        Error::format(self.path, reason)
    }
    fn page_err(&self, page: usize, reason: impl Into<String>) -> Error {
        Error::Page { path: self.path.to_path_buf(), page, reason: reason.into() }
    }
    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }
    fn u64(&self, b: &[u8]) -> u64 {
        let a: [u8; 8] = b[..8].try_into().expect("8 bytes");
        if self.le {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }
    /// Reads `n` bytes at `off`, refusing ranges outside the file before allocating.
    fn read(&self, off: u64, n: u64, what: &str) -> Result<Vec<u8>> {
        if off.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(self.fmt(format!(
                "{what} (offset {off}, {n} bytes) lies past the end of the file ({} bytes): truncated or corrupt",
                self.len
            )));
        }
        let mut buf = vec![0u8; n as usize];
        read_exact_at(self.file, &mut buf, off).map_err(|e| Error::io(self.path, e))?;
        Ok(buf)
    }

    /// Reads the IFD at `off`: its entries and the offset of the next IFD.
    fn ifd(&self, off: u64, page: usize) -> Result<(Vec<Entry>, u64)> {
        let (cnt_size, entry_size, next_size) = if self.big { (8, 20, 8) } else { (2, 12, 4) };
        let head = self
            .read(off, cnt_size, "IFD")
            .map_err(|e| self.page_err(page, format!("IFD at offset {off}: {e}")))?;
        let n = if self.big { self.u64(&head) } else { self.u16(&head) as u64 };
        if n == 0 || n > MAX_TAGS {
            return Err(self.page_err(page, format!("IFD at offset {off} declares {n} tags")));
        }
        let body = self.read(off + cnt_size, n * entry_size + next_size, "IFD").map_err(|_| {
            self.page_err(
                page,
                format!("IFD at offset {off} with {n} tags runs past the end of the file"),
            )
        })?;
        let mut entries = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let e = &body[i * entry_size as usize..(i + 1) * entry_size as usize];
            let (count, val) = if self.big {
                (self.u64(&e[4..12]), &e[12..20])
            } else {
                (self.u32(&e[4..8]) as u64, &e[8..12])
            };
            let mut value_or_offset = [0u8; 8];
            value_or_offset[..val.len()].copy_from_slice(val);
            entries.push(Entry {
                tag: self.u16(&e[0..2]),
                typ: self.u16(&e[2..4]),
                count,
                value_or_offset,
            });
        }
        let nx = &body[(n * entry_size) as usize..];
        let next = if self.big { self.u64(nx) } else { self.u32(nx) as u64 };
        Ok((entries, next))
    }

    /// The raw bytes of an entry's value, read from the file if not inline.
    fn value_bytes(&self, e: &Entry, page: usize) -> Result<Vec<u8>> {
        let size = type_size(e.typ).ok_or_else(|| {
            self.page_err(page, format!("tag {} has unknown type {}", e.tag, e.typ))
        })?;
        let n = e.count.checked_mul(size).ok_or_else(|| {
            self.page_err(page, format!("tag {} declares {} values", e.tag, e.count))
        })?;
        let inline = if self.big { 8 } else { 4 };
        if n <= inline {
            return Ok(e.value_or_offset[..n as usize].to_vec());
        }
        let off = if self.big {
            self.u64(&e.value_or_offset)
        } else {
            self.u32(&e.value_or_offset) as u64
        };
        self.read(off, n, &format!("tag {} value", e.tag)).map_err(|err| {
            self.page_err(
                page,
                err.to_string().replacen(&format!("{}: ", self.path.display()), "", 1),
            )
        })
    }

    /// An entry's values as unsigned integers (BYTE, SHORT, LONG, LONG8, IFD types).
    fn uints(&self, e: &Entry, page: usize) -> Result<Vec<u64>> {
        let b = self.value_bytes(e, page)?;
        Ok(match e.typ {
            1 | 7 => b.iter().map(|&x| x as u64).collect(),
            3 => b.chunks_exact(2).map(|c| self.u16(c) as u64).collect(),
            4 | 13 => b.chunks_exact(4).map(|c| self.u32(c) as u64).collect(),
            16 | 18 => b.chunks_exact(8).map(|c| self.u64(c)).collect(),
            t => {
                return Err(self.page_err(
                    page,
                    format!("tag {} has type {t} where an unsigned integer is expected", e.tag),
                ))
            }
        })
    }
    fn uint(&self, e: &Entry, page: usize) -> Result<u64> {
        self.uints(e, page)?
            .first()
            .copied()
            .ok_or_else(|| self.page_err(page, format!("tag {} has no value", e.tag)))
    }
    fn rational(&self, e: &Entry, page: usize) -> Option<f64> {
        let b = self.value_bytes(e, page).ok()?;
        match e.typ {
            5 if b.len() >= 8 => {
                let (n, d) = (self.u32(&b[0..4]), self.u32(&b[4..8]));
                (d != 0).then(|| n as f64 / d as f64)
            }
            11 if b.len() >= 4 => Some(f32::from_bits(self.u32(&b[0..4])) as f64),
            12 if b.len() >= 8 => Some(f64::from_bits(self.u64(&b[0..8]))),
            3 | 4 => self.uint(e, page).ok().map(|v| v as f64),
            _ => None,
        }
    }
    fn text(&self, e: &Entry, page: usize) -> Option<String> {
        let b = self.value_bytes(e, page).ok()?;
        let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        Some(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

fn find(entries: &[Entry], tag: u16) -> Option<&Entry> {
    entries.iter().find(|e| e.tag == tag)
}

impl TiffFile {
    /// Indexes every page of the open `file`.
    pub fn index(file: &File, path: &Path) -> Result<Self> {
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::format(path, "empty file (0 bytes)"));
        }
        if len < 8 {
            return Err(Error::format(path, "not a TIFF (shorter than a TIFF header)"));
        }
        let mut head = [0u8; 16];
        let n = len.min(16) as usize;
        read_exact_at(file, &mut head[..n], 0).map_err(|e| Error::io(path, e))?;
        let le = match &head[..2] {
            b"II" => true,
            b"MM" => false,
            _ => return Err(Error::format(path, "not a TIFF file (no TIFF signature)")),
        };
        let mut p = Parser { file, path, len, le, big: false };
        let first = match p.u16(&head[2..4]) {
            42 => p.u32(&head[4..8]) as u64,
            43 => {
                if len < 16 || p.u16(&head[4..6]) != 8 || p.u16(&head[6..8]) != 0 {
                    return Err(Error::format(path, "not a TIFF file (bad BigTIFF header)"));
                }
                p.big = true;
                p.u64(&head[8..16])
            }
            _ => return Err(Error::format(path, "not a TIFF file (no TIFF signature)")),
        };
        if first == 0 {
            return Err(Error::format(path, "the TIFF has no pages (first IFD offset is 0)"));
        }

        let mut tf = TiffFile {
            path: path.to_path_buf(),
            file_len: len,
            big_endian: !le,
            bigtiff: p.big,
            description: None,
            software: None,
            resolution: None,
            pages: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut off = first;
        // Each IFD takes at least a few bytes: a file cannot hold more than len/6 of them.
        let max_ifds = len / 6 + 1;
        while off != 0 {
            let page = tf.pages.len();
            if !seen.insert(off) {
                return Err(p.page_err(page, format!("IFD chain loops back to offset {off}")));
            }
            if page as u64 >= max_ifds {
                return Err(p.fmt("more IFDs than the file can hold: corrupt IFD chain"));
            }
            let (entries, next) = p.ifd(off, page)?;
            if page == 0 {
                tf.description = find(&entries, 270).and_then(|e| p.text(e, 0));
                tf.software = find(&entries, 305).and_then(|e| p.text(e, 0));
                let x = find(&entries, 282).and_then(|e| p.rational(e, 0));
                let y = find(&entries, 283).and_then(|e| p.rational(e, 0));
                let unit = find(&entries, 296).and_then(|e| p.uint(e, 0).ok()).unwrap_or(2) as u16;
                tf.resolution = match (x, y) {
                    (Some(x), Some(y)) if x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite() => {
                        Some((1.0 / x, 1.0 / y, unit))
                    }
                    _ => None,
                };
            }
            tf.pages.push(page_info(&p, &entries, page)?);
            off = next;
        }
        Ok(tf)
    }

    /// Reads page `page` into `out` (length width × height, row-major).
    pub fn read_page<T: PagePixel>(&self, file: &File, page: usize, out: &mut [T]) -> Result<()> {
        read_page(file, &self.path, self.big_endian, &self.pages[page], page, out)
    }
}

fn page_info(p: &Parser, entries: &[Entry], page: usize) -> Result<PageInfo> {
    let perr = |reason: String| p.page_err(page, reason);
    let uerr = |reason: String| Error::unsupported(p.path, Some(page), reason);
    let get = |tag: u16| -> Result<Option<u64>> {
        find(entries, tag).map(|e| p.uint(e, page)).transpose()
    };
    let width = get(256)?.ok_or_else(|| perr("no ImageWidth".into()))?;
    let height = get(257)?.ok_or_else(|| perr("no ImageLength".into()))?;
    let samples = get(277)?.unwrap_or(1);
    let planar = get(284)?.unwrap_or(1);
    let format = get(339)?.unwrap_or(1);
    let compression = get(259)?.unwrap_or(1);
    let predictor = get(317)?.unwrap_or(1);
    let photometric = get(262)?;
    let fill_order = get(266)?.unwrap_or(1);
    let bits: Vec<u64> = match find(entries, 258) {
        Some(e) => p.uints(e, page)?,
        None => vec![1],
    };
    if samples != 1 || planar != 1 {
        return Err(uerr(format!(
            "{samples} samples per pixel ({}): only single-sample (grayscale) pages can be read; save channels as separate pages",
            if planar == 2 { "planar-separate" } else { "interleaved" }
        )));
    }
    if matches!(photometric, Some(2) | Some(5) | Some(6) | Some(8)) {
        return Err(uerr(format!(
            "photometric interpretation {} (colour) is not a grayscale image",
            photometric.unwrap_or(0)
        )));
    }
    if fill_order != 1 {
        return Err(uerr(format!("FillOrder {fill_order} (bit-reversed bytes) is not supported")));
    }
    let bps = bits.first().copied().unwrap_or(1);
    let stored = match (bps, format) {
        (8, 1) => Stored::U8,
        (16, 1) => Stored::U16,
        (16, 2) => Stored::I16,
        (32, 3) => Stored::F32,
        (b, f) => {
            let kind = match f {
                1 => "unsigned integer",
                2 => "signed integer",
                3 => "floating point",
                _ => "unknown sample format",
            };
            return Err(uerr(format!(
                "unsupported pixel type ({b}-bit {kind}): supported are uint8, uint16, int16 (read as float32) and float32"
            )));
        }
    };
    let compression = match compression {
        1 => Compression::None,
        5 => Compression::Lzw,
        8 | 32946 => Compression::Deflate,
        32773 => Compression::PackBits,
        c => {
            let name = match c {
                2 => "CCITT RLE",
                3 | 4 => "CCITT fax",
                6 | 7 => "JPEG",
                34712 | 33003 | 33005 => "JPEG 2000",
                34925 => "LZMA",
                50000 => "Zstandard",
                50001 | 34927 => "WebP",
                50002 => "JPEG XL",
                _ => "unknown",
            };
            return Err(uerr(format!(
                "unsupported compression {c} ({name}): supported are none, LZW, Deflate and PackBits"
            )));
        }
    };
    match (predictor, stored) {
        (1, _) => {}
        (2, Stored::U8 | Stored::U16 | Stored::I16) => {}
        (3, Stored::F32) => {}
        (pr, s) => {
            return Err(uerr(format!("unsupported predictor {pr} for {} samples", s.name())))
        }
    }
    if width == 0 || height == 0 {
        return Err(perr("image has zero width or height".into()));
    }
    let plane_bytes = width.saturating_mul(height).saturating_mul(stored.bytes() as u64);
    if width > u32::MAX as u64 || height > u32::MAX as u64 || plane_bytes > MAX_PLANE_BYTES {
        return Err(perr(format!(
            "declared image {width}×{height} is too large ({plane_bytes} bytes per plane)"
        )));
    }
    let (width, height) = (width as u32, height as u32);
    let row_bytes = width as u64 * stored.bytes() as u64;

    let tiled = find(entries, 324).is_some();
    let (off_tag, cnt_tag, tile, rps, n_chunks, chunk_bytes) = if tiled {
        let tw = get(322)?.ok_or_else(|| perr("tiled page without TileWidth".into()))?;
        let th = get(323)?.ok_or_else(|| perr("tiled page without TileLength".into()))?;
        if tw == 0 || th == 0 || tw > 1 << 16 || th > 1 << 16 {
            return Err(perr(format!("bad tile size {tw}×{th}")));
        }
        let n = width.div_ceil(tw as u32) as u64 * height.div_ceil(th as u32) as u64;
        (324, 325, Some((tw as u32, th as u32)), 0, n, tw * th * stored.bytes() as u64)
    } else {
        let rps = get(278)?.unwrap_or(height as u64).clamp(1, height as u64) as u32;
        (273, 279, None, rps, height.div_ceil(rps) as u64, rps as u64 * row_bytes)
    };
    let offsets = match find(entries, off_tag) {
        Some(e) => {
            check_count(p, e, n_chunks, page)?;
            p.uints(e, page)?
        }
        None => return Err(perr("no strip or tile offsets".into())),
    };
    let counts = match find(entries, cnt_tag) {
        Some(e) => {
            check_count(p, e, n_chunks, page)?;
            p.uints(e, page)?
        }
        None => return Err(perr("no strip or tile byte counts".into())),
    };
    if (offsets.len() as u64) < n_chunks || (counts.len() as u64) < n_chunks {
        return Err(perr(format!(
            "{} offsets and {} byte counts for the {n_chunks} {} a {width}×{height} image needs",
            offsets.len(),
            counts.len(),
            if tiled { "tiles" } else { "strips" }
        )));
    }
    let mut chunks: Vec<(u64, u64)> = Vec::with_capacity(n_chunks as usize);
    for i in 0..n_chunks as usize {
        let (o, c) = (offsets[i], counts[i]);
        let kind = if tiled { "tile" } else { "strip" };
        if c == 0 {
            return Err(perr(format!("{kind} {i} is empty (zero byte count)")));
        }
        if o.checked_add(c).is_none_or(|end| end > p.len) {
            return Err(perr(format!(
                "{kind} {i} (offset {o}, {c} bytes) lies past the end of the file ({} bytes): truncated or corrupt",
                p.len
            )));
        }
        // The decoded size of this chunk; compressed data can't sensibly exceed ~2× of it
        // (PackBits and LZW worst cases are far below), so a larger count is corrupt.
        let decoded = if tiled {
            chunk_bytes
        } else {
            (rps as u64).min(height as u64 - i as u64 * rps as u64) * row_bytes
        };
        if compression == Compression::None {
            if c < decoded && tiled {
                return Err(perr(format!(
                    "uncompressed tile {i} holds {c} bytes but a {}×{} tile needs {decoded}",
                    tile_w(tile),
                    tile_h(tile)
                )));
            }
            if c < decoded && !tiled && i + 1 < n_chunks as usize {
                return Err(perr(format!(
                    "uncompressed strip {i} holds {c} bytes but its rows need {decoded}"
                )));
            }
        } else if c > decoded.saturating_mul(2) + 4096 {
            return Err(perr(format!(
                "{kind} {i} has {c} compressed bytes for {decoded} decoded bytes: corrupt"
            )));
        }
        chunks.push((o, c));
    }
    // The largest ratio each codec reaches (Deflate ~1032:1, LZW ~2730:1 with 12-bit codes,
    // PackBits 64:1): a page declaring more pixels than its compressed bytes can hold is
    // refused before anything is allocated.
    let ratio = match compression {
        Compression::None => 1,
        Compression::Deflate => 1100,
        Compression::Lzw => 2800,
        Compression::PackBits => 65,
    };
    let total: u64 = chunks.iter().map(|c| c.1).sum();
    if compression != Compression::None && plane_bytes > total.saturating_mul(ratio) {
        return Err(perr(format!(
            "declared image {width}×{height} ({plane_bytes} bytes) is far larger than its {total} compressed bytes can hold: corrupt"
        )));
    }
    if compression == Compression::None && !tiled && total < plane_bytes {
        return Err(perr(format!(
            "uncompressed strips hold {total} bytes but a {width}×{height} {} image needs {plane_bytes}",
            stored.name()
        )));
    }
    // Uncompressed strips laid end to end: one read for the whole plane.
    let contiguous = if compression == Compression::None && !tiled {
        let mut pos = chunks[0].0;
        let mut ok = true;
        for (i, &(o, c)) in chunks.iter().enumerate() {
            let need = (rps as u64).min(height as u64 - i as u64 * rps as u64) * row_bytes;
            if o != pos || (c < need) {
                ok = false;
                break;
            }
            pos = o + need;
        }
        ok.then_some(chunks[0].0)
    } else {
        None
    };
    if contiguous.is_some() {
        chunks = Vec::new();
    }
    Ok(PageInfo {
        width,
        height,
        stored,
        compression,
        predictor: predictor as u16,
        tile,
        rows_per_strip: rps,
        contiguous,
        chunks,
    })
}

fn tile_w(t: Option<(u32, u32)>) -> u32 {
    t.map_or(0, |t| t.0)
}
fn tile_h(t: Option<(u32, u32)>) -> u32 {
    t.map_or(0, |t| t.1)
}

/// Refuses an offsets/byte-counts tag whose count is far from the chunks the image needs
/// (before its values are read).
fn check_count(p: &Parser, e: &Entry, need: u64, page: usize) -> Result<()> {
    if e.count < need || e.count > need.saturating_mul(4) + 16 {
        return Err(p.page_err(
            page,
            format!("tag {} lists {} strips or tiles but the image needs {need}", e.tag, e.count),
        ));
    }
    Ok(())
}

/// Reads one page into `out`, decoding as needed.
pub(crate) fn read_page<T: PagePixel>(
    file: &File,
    path: &Path,
    big_endian: bool,
    info: &PageInfo,
    page: usize,
    out: &mut [T],
) -> Result<()> {
    let perr = |reason: String| Error::Page { path: path.to_path_buf(), page, reason };
    let (w, h) = (info.width as usize, info.height as usize);
    if out.len() != w * h {
        return Err(perr(format!("{} does not fit the recording's planes", info.describe())));
    }
    if info.dtype() != T::DTYPE {
        return Err(perr(format!(
            "pixel type {} differs from the recording's {}",
            info.stored.name(),
            T::DTYPE
        )));
    }
    let swap = big_endian != cfg!(target_endian = "big");
    if info.stored == Stored::I16 {
        // Read the int16 samples, then widen losslessly to the f32 output.
        let mut tmp = vec![0i16; w * h];
        read_samples(file, path, swap, info, page, bytemuck::cast_slice_mut(&mut tmp))?;
        if swap {
            tmp.iter_mut().for_each(|v| *v = v.swap_bytes());
        }
        if info.predictor == 2 && info.tile.is_none() {
            for row in tmp.chunks_mut(w) {
                for i in 1..row.len() {
                    row[i] = row[i].wrapping_add(row[i - 1]);
                }
            }
        }
        return T::from_i16(&tmp, out)
            .ok_or_else(|| perr("int16 pages read into a non-float buffer".into()));
    }
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
    read_samples(file, path, swap, info, page, bytes)?;
    if swap && info.predictor != 3 {
        T::swap_bytes(out);
    }
    if info.predictor == 2 && info.tile.is_none() {
        for row in out.chunks_mut(w) {
            T::integrate(row);
        }
    }
    Ok(())
}

/// Fills `out` (the plane's bytes, row-major, in file byte order — except with the float
/// predictor, which yields native order) from the page's strips or tiles.
fn read_samples(
    file: &File,
    path: &Path,
    swap: bool,
    info: &PageInfo,
    page: usize,
    out: &mut [u8],
) -> Result<()> {
    let perr = |reason: String| Error::Page { path: path.to_path_buf(), page, reason };
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            perr("unexpected end of file (truncated?)".into())
        } else {
            Error::io(path, e)
        }
    };
    if let Some(off) = info.contiguous {
        return read_exact_at(file, out, off).map_err(io);
    }
    let bps = info.stored.bytes();
    let (w, h) = (info.width as usize, info.height as usize);
    let row_bytes = w * bps;
    let mut raw = Vec::new();
    let mut dec = Vec::new();
    match info.tile {
        None => {
            let rps = info.rows_per_strip as usize;
            for (i, &(off, cnt)) in info.chunks.iter().enumerate() {
                let y0 = i * rps;
                let rows = rps.min(h - y0);
                let dst = &mut out[y0 * row_bytes..(y0 + rows) * row_bytes];
                if info.compression == Compression::None {
                    let n = (cnt as usize).min(dst.len());
                    read_exact_at(file, &mut dst[..n], off).map_err(io)?;
                    if n < dst.len() {
                        return Err(perr(format!(
                            "strip {i} holds fewer bytes than its rows need"
                        )));
                    }
                } else {
                    raw.resize(cnt as usize, 0);
                    read_exact_at(file, &mut raw, off).map_err(io)?;
                    decompress(info.compression, &raw, dst)
                        .map_err(|r| perr(format!("strip {i}: {r}")))?;
                }
                if info.predictor == 3 {
                    for row in dst.chunks_mut(row_bytes) {
                        undo_float_predictor(row, bps, &mut dec);
                    }
                }
            }
        }
        Some((tw, th)) => {
            let (tw, th) = (tw as usize, th as usize);
            let across = w.div_ceil(tw);
            let tile_row = tw * bps;
            let mut tile = vec![0u8; tile_row * th];
            for (i, &(off, cnt)) in info.chunks.iter().enumerate() {
                let (tx, ty) = (i % across, i / across);
                if info.compression == Compression::None {
                    let n = (cnt as usize).min(tile.len());
                    tile[n..].fill(0);
                    read_exact_at(file, &mut tile[..n], off).map_err(io)?;
                } else {
                    raw.resize(cnt as usize, 0);
                    read_exact_at(file, &mut raw, off).map_err(io)?;
                    decompress(info.compression, &raw, &mut tile)
                        .map_err(|r| perr(format!("tile {i}: {r}")))?;
                }
                if info.predictor == 3 {
                    for row in tile.chunks_mut(tile_row) {
                        undo_float_predictor(row, bps, &mut dec);
                    }
                } else if info.predictor == 2 {
                    for row in tile.chunks_mut(tile_row) {
                        integrate_bytes(row, bps, swap);
                    }
                }
                // Copy the part of the tile inside the image (edge tiles are padded).
                let x0 = tx * tw;
                let cols = tw.min(w - x0);
                for r in 0..th.min(h - ty * th) {
                    let y = ty * th + r;
                    let dst = &mut out[y * row_bytes + x0 * bps..y * row_bytes + (x0 + cols) * bps];
                    dst.copy_from_slice(&tile[r * tile_row..r * tile_row + cols * bps]);
                }
            }
        }
    }
    Ok(())
}

/// Horizontal-differencing predictor on a tile row, in file byte order (tiles are
/// integrated before they are cropped into the plane, as the tile is the coding unit).
fn integrate_bytes(row: &mut [u8], bps: usize, swap: bool) {
    match bps {
        1 => {
            for i in 1..row.len() {
                row[i] = row[i].wrapping_add(row[i - 1]);
            }
        }
        _ => {
            let get = |b: &[u8]| {
                let v = u16::from_ne_bytes([b[0], b[1]]);
                if swap {
                    v.swap_bytes()
                } else {
                    v
                }
            };
            let put = |b: &mut [u8], v: u16| {
                let v = if swap { v.swap_bytes() } else { v };
                b.copy_from_slice(&v.to_ne_bytes());
            };
            let mut prev = get(&row[0..2]);
            for c in row.chunks_exact_mut(2).skip(1) {
                prev = prev.wrapping_add(get(c));
                put(c, prev);
            }
        }
    }
}

/// Undoes TIFF's floating-point predictor (3) on one row: byte-wise differencing, then the
/// bytes of each sample (stored most significant first, as planes) put back in native order.
fn undo_float_predictor(row: &mut [u8], bps: usize, tmp: &mut Vec<u8>) {
    for i in 1..row.len() {
        row[i] = row[i].wrapping_add(row[i - 1]);
    }
    tmp.clear();
    tmp.extend_from_slice(row);
    let n = row.len() / bps;
    for i in 0..n {
        for b in 0..bps {
            // Plane b holds the byte of significance bps-1-b.
            let v = tmp[b * n + i];
            let dst = if cfg!(target_endian = "big") { b } else { bps - 1 - b };
            row[i * bps + dst] = v;
        }
    }
}

/// Decodes one compressed chunk into exactly `out.len()` bytes.
fn decompress(c: Compression, src: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    match c {
        Compression::None => unreachable!("uncompressed chunks are copied"),
        Compression::Deflate => {
            let mut d = flate2::Decompress::new(true);
            match d.decompress(src, out, flate2::FlushDecompress::Finish) {
                Ok(_) => {}
                Err(e) => return Err(format!("corrupt Deflate data ({e})")),
            }
            let n = d.total_out() as usize;
            if n < out.len() {
                return Err(format!("Deflate data decode to {n} bytes, {} expected", out.len()));
            }
            Ok(())
        }
        Compression::Lzw => {
            let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
            let (mut i, mut o) = (0, 0);
            while o < out.len() {
                let r = d.decode_bytes(&src[i..], &mut out[o..]);
                i += r.consumed_in;
                o += r.consumed_out;
                match r.status {
                    Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
                    Ok(_) => break,
                    Err(e) => return Err(format!("corrupt LZW data ({e:?})")),
                }
            }
            if o < out.len() {
                return Err(format!("LZW data decode to {o} bytes, {} expected", out.len()));
            }
            Ok(())
        }
        Compression::PackBits => {
            let (mut i, mut o) = (0, 0);
            while o < out.len() && i < src.len() {
                let n = src[i] as i8;
                i += 1;
                if n >= 0 {
                    let len = n as usize + 1;
                    if i + len > src.len() || o + len > out.len() {
                        return Err("corrupt PackBits data (literal run past the end)".into());
                    }
                    out[o..o + len].copy_from_slice(&src[i..i + len]);
                    i += len;
                    o += len;
                } else if n != -128 {
                    let len = (1 - n as isize) as usize;
                    if i >= src.len() || o + len > out.len() {
                        return Err("corrupt PackBits data (repeat run past the end)".into());
                    }
                    out[o..o + len].fill(src[i]);
                    i += 1;
                    o += len;
                }
            }
            if o < out.len() {
                return Err(format!("PackBits data decode to {o} bytes, {} expected", out.len()));
            }
            Ok(())
        }
    }
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(
    file: &File,
    mut buf: &mut [u8],
    mut offset: u64,
) -> std::io::Result<()> {
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
pub(crate) trait PagePixel: bytemuck::Pod + Default + Send + Sync {
    const DTYPE: PixelType;
    fn swap_bytes(v: &mut [Self]);
    /// Undoes horizontal differencing along one row.
    fn integrate(row: &mut [Self]);
    /// Widens int16 samples into `out` (float only).
    fn from_i16(src: &[i16], out: &mut [Self]) -> Option<()>;
}

impl PagePixel for u8 {
    const DTYPE: PixelType = PixelType::U8;
    fn swap_bytes(_: &mut [Self]) {}
    fn integrate(row: &mut [Self]) {
        for i in 1..row.len() {
            row[i] = row[i].wrapping_add(row[i - 1]);
        }
    }
    fn from_i16(_: &[i16], _: &mut [Self]) -> Option<()> {
        None
    }
}

impl PagePixel for u16 {
    const DTYPE: PixelType = PixelType::U16;
    fn swap_bytes(v: &mut [Self]) {
        v.iter_mut().for_each(|x| *x = x.swap_bytes());
    }
    fn integrate(row: &mut [Self]) {
        for i in 1..row.len() {
            row[i] = row[i].wrapping_add(row[i - 1]);
        }
    }
    fn from_i16(_: &[i16], _: &mut [Self]) -> Option<()> {
        None
    }
}

impl PagePixel for f32 {
    const DTYPE: PixelType = PixelType::F32;
    fn swap_bytes(v: &mut [Self]) {
        v.iter_mut().for_each(|x| *x = f32::from_bits(x.to_bits().swap_bytes()));
    }
    fn integrate(_: &mut [Self]) {
        // Predictor 2 is refused for float pages at open.
    }
    fn from_i16(src: &[i16], out: &mut [Self]) -> Option<()> {
        out.iter_mut().zip(src).for_each(|(o, &v)| *o = f32::from(v));
        Some(())
    }
}
