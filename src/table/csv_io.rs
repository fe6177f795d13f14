//! The CSV engine of the tables: reading ([`Detections::read_csv`], [`Tracks::read_csv`]),
//! streamed column by column and parsed in parallel, and writing ([`Detections::write_csv`],
//! [`Tracks::write_csv`]), rows formatted in parallel; numbers written as Rust's `{}` writes
//! them and read as `str::parse` reads them.

use std::io::{Read, Write};
use std::path::Path;

use rayon::prelude::*;

use super::{Column, Detections, TrackIds, Tracks};
use crate::error::{Error, Result};
use crate::io::write::write_atomic;

/// Formats a float for CSV: shortest round-trip representation, `NaN` for missing.
pub(crate) fn fmt_f64(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    push_f64(&mut out, v);
    String::from_utf8(out).expect("numbers are ASCII")
}

/// Appends `v` as Rust's `{}` formats it (shortest round-trip digits, never an exponent:
/// `0.0000001`, `1e21` as `1000000000000000000000`, `-0`, `inf`), `NaN` for NaN — through
/// `zmij`, several times faster than `core::fmt`.
pub(crate) fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if exact_digits_17_18(v) {
        // Exactly halfway between two shortest candidates: zmij rounds such ties to even,
        // `core::fmt` away from zero. Rare (a few values per million); let `core` decide.
        use std::io::Write as _;
        let _ = write!(out, "{v}"); // writing to a Vec cannot fail
        return;
    }
    let mut buf = zmij::Buffer::new();
    let s = buf.format_finite(v).as_bytes();
    let Some(e) = s.iter().position(|&c| c == b'e') else {
        // zmij writes `1.0` where `{}` writes `1`.
        out.extend_from_slice(s.strip_suffix(b".0").unwrap_or(s));
        return;
    };
    // `d.ddde±x`: the same shortest digits, written out without an exponent.
    let (mant, exp) = (&s[..e], &s[e + 1..]);
    let exp: i64 = std::str::from_utf8(exp).ok().and_then(|x| x.parse().ok()).unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix(b"-") {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let int_len = mant.iter().position(|&c| c == b'.').unwrap_or(mant.len()) as i64;
    let mut digits: Vec<u8> = mant.iter().copied().filter(|&c| c != b'.').collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let point = int_len + exp; // digits before the decimal point
    if neg {
        out.push(b'-');
    }
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend_from_slice(&digits);
    } else if point as usize >= digits.len() {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
    } else {
        out.extend_from_slice(&digits[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[point as usize..]);
    }
}

/// True when the exact decimal expansion of `v` has 17 or 18 significant digits — the only
/// values whose shortest round-trip form can be a tie between two candidates one digit shorter
/// (a tie needs a rounding step ≥ 10^p at a value ≥ 2^52 steps, ending in 5 at 10^(p−1): at
/// least 17 digits; and the shortest form never needs more than 17). `v` is `m · 2^e` with `m`
/// odd; for `e < 0` its digits are those of `m · 5^(−e)`.
fn exact_digits_17_18(v: f64) -> bool {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        return false; // zero or subnormal: hundreds of digits
    }
    let m = (bits & ((1 << 52) - 1)) | (1 << 52);
    let tz = m.trailing_zeros();
    let (m, e) = (m >> tz, biased - 1075 + tz as i32);
    // e ≥ 0: an integer whose rounding step is ≥ 2, never halfway at a decimal digit;
    // e < −26: m · 5^26 ≥ 1.5e18 already has 19 digits.
    if !(-26..0).contains(&e) {
        return false;
    }
    let exact = m as u128 * 5u128.pow((-e) as u32);
    (10_000_000_000_000_000..1_000_000_000_000_000_000).contains(&exact)
}

/// Appends an integer in decimal.
pub(crate) fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a text field, quoted (`"` doubled) when it holds a comma, a quote or a line break —
/// what the `csv` crate writes by default.
pub(crate) fn push_text(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &c in s {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

impl Detections {
    /// Reads a CSV with at least `frame,x_um,y_um` (and `z_um` for 3D); other columns are
    /// kept in `extra`.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path)
    }

    /// Like [`Detections::read_csv`] from any reader; `path` names the source in errors.
    pub fn from_reader(r: impl Read, path: &Path) -> Result<Self> {
        let kinds = [
            ("frame", Kind::Index),
            ("x_um", Kind::Number),
            ("y_um", Kind::Number),
            ("z_um", Kind::Number),
        ];
        let mut raw = ColumnReader::read(r, path, &kinds)?;
        let frame = raw.take_index("frame").ok_or_else(|| raw.missing("frame"))?;
        let x_um = raw.take_f64("x_um").ok_or_else(|| raw.missing("x_um"))?;
        let y_um = raw.take_f64("y_um").ok_or_else(|| raw.missing("y_um"))?;
        let z_um = raw.take_f64("z_um");
        let d = Detections { frame, x_um, y_um, z_um, extra: raw.into_extra() };
        d.validate().map_err(|e| Error::table(path, None, e.to_string()))?;
        Ok(d)
    }

    /// Writes the table as CSV (`frame,x_um,y_um[,z_um],…extra`), atomically.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        self.validate()?;
        write_atomic(path.as_ref(), |w| self.write_to(w))
    }

    /// Writes the CSV to any writer.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut cols: Vec<(&str, Cells)> = vec![
            ("frame", Cells::U32(&self.frame)),
            ("x_um", Cells::F64(&self.x_um)),
            ("y_um", Cells::F64(&self.y_um)),
        ];
        if let Some(z) = &self.z_um {
            cols.push(("z_um", Cells::F64(z)));
        }
        for (n, c) in &self.extra {
            cols.push((n, Cells::Col(c)));
        }
        write_columns(w, &cols, self.len())
    }
}

impl Tracks {
    /// Reads a CSV with `track_id, x_um, y_um[, z_um]` and `frame` and/or `t_s`.
    ///
    /// A missing `t_s` is `frame × frame_interval_s` (an error without an interval); a missing
    /// `frame` is `round(t_s / interval)` with the given interval or else the median time step
    /// between consecutive points of the tracks. `detection` is read when present; other
    /// columns are kept in `extra`. Track ids are integers when all are, else text.
    pub fn read_csv(path: impl AsRef<Path>, frame_interval_s: Option<f64>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path, frame_interval_s)
    }

    /// Like [`Tracks::read_csv`] from any reader; `path` names the source in errors.
    pub fn from_reader(r: impl Read, path: &Path, frame_interval_s: Option<f64>) -> Result<Self> {
        let kinds = [
            ("track_id", Kind::Ids),
            ("frame", Kind::Index),
            ("t_s", Kind::Number),
            ("x_um", Kind::Number),
            ("y_um", Kind::Number),
            ("z_um", Kind::Number),
            ("detection", Kind::Index),
        ];
        let mut raw = ColumnReader::read(r, path, &kinds)?;
        let track_id = raw.take_ids("track_id").ok_or_else(|| raw.missing("track_id"))?;
        let frame = raw.take_index("frame");
        let t_s = raw.take_f64("t_s");
        let x_um = raw.take_f64("x_um").ok_or_else(|| raw.missing("x_um"))?;
        let y_um = raw.take_f64("y_um").ok_or_else(|| raw.missing("y_um"))?;
        let z_um = raw.take_f64("z_um");
        let detection = raw.take_index("detection").map(|v| v.into_iter().map(u64::from).collect());
        let n = x_um.len();
        let (frame, t_s) = match (frame, t_s) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => {
                let dt = frame_interval_s.ok_or_else(|| {
                    Error::table(path, None, "no `t_s` column: give the frame interval")
                })?;
                let t = f.iter().map(|&f| f as f64 * dt).collect();
                (f, t)
            }
            (None, Some(t)) => {
                let dt = match frame_interval_s {
                    Some(dt) => dt,
                    None => median_time_step(&track_id, &t).ok_or_else(|| {
                        Error::table(path, None, "no `frame` column and no time step to infer it from: give the frame interval")
                    })?,
                };
                let f = t.iter().map(|&t| (t / dt).round().max(0.0) as u32).collect();
                (f, t)
            }
            (None, None) => return Err(raw.missing("frame` or `t_s")),
        };
        debug_assert_eq!(frame.len(), n);
        let tracks =
            Tracks { track_id, frame, t_s, x_um, y_um, z_um, detection, extra: raw.into_extra() };
        tracks.validate().map_err(|e| Error::table(path, None, e.to_string()))?;
        Ok(tracks)
    }

    /// Writes `track_id,frame,t_s,x_um,y_um[,z_um][,detection],…extra` atomically.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), |w| self.write_to(w))
    }

    /// Writes the CSV to any writer.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut cols: Vec<(&str, Cells)> = vec![
            ("track_id", Cells::Ids(&self.track_id)),
            ("frame", Cells::U32(&self.frame)),
            ("t_s", Cells::F64(&self.t_s)),
            ("x_um", Cells::F64(&self.x_um)),
            ("y_um", Cells::F64(&self.y_um)),
        ];
        if let Some(z) = &self.z_um {
            cols.push(("z_um", Cells::F64(z)));
        }
        if let Some(d) = &self.detection {
            cols.push(("detection", Cells::U64(d)));
        }
        for (n, c) in &self.extra {
            cols.push((n, Cells::Col(c)));
        }
        write_columns(w, &cols, self.len())
    }
}

fn median_time_step(ids: &TrackIds, t: &[f64]) -> Option<f64> {
    let (codes, n) = ids.codes();
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); n];
    for (i, &c) in codes.iter().enumerate() {
        groups[c as usize].push(t[i]);
    }
    let mut steps: Vec<f64> = Vec::new();
    for g in &mut groups {
        g.sort_by(|a, b| a.total_cmp(b));
        steps.extend(g.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0));
    }
    if steps.is_empty() {
        return None;
    }
    steps.sort_by(|a, b| a.total_cmp(b));
    Some(steps[(steps.len() - 1) / 2]) // the lower median: steps across gaps are multiples
}

enum Cells<'a> {
    U32(&'a [u32]),
    U64(&'a [u64]),
    F64(&'a [f64]),
    Ids(&'a TrackIds),
    Col(&'a Column),
}

impl Cells<'_> {
    fn push(&self, out: &mut Vec<u8>, i: usize) {
        match self {
            Cells::U32(v) => push_int(out, v[i]),
            Cells::U64(v) => push_int(out, v[i]),
            Cells::F64(v) => push_f64(out, v[i]),
            Cells::Ids(TrackIds::Int(v)) => push_int(out, v[i]),
            Cells::Ids(TrackIds::Label(v)) => push_text(out, v[i].as_bytes()),
            Cells::Col(Column::Float(v)) => push_f64(out, v[i]),
            Cells::Col(Column::Text(v)) => push_text(out, v[i].as_bytes()),
        }
    }
}

/// Rows formatted per unit of parallel work.
const WRITE_CHUNK: usize = 16_384;

/// Writes the header and `n` rows of `cols`. Rows are formatted into text in parallel, a few
/// chunks at a time (memory stays bounded), and written in order.
fn write_columns(w: &mut dyn Write, cols: &[(&str, Cells)], n: usize) -> std::io::Result<()> {
    let mut head = Vec::new();
    for (j, (name, _)) in cols.iter().enumerate() {
        if j > 0 {
            head.push(b',');
        }
        push_text(&mut head, name.as_bytes());
    }
    head.push(b'\n');
    w.write_all(&head)?;
    let format_chunk = |c: usize| -> Vec<u8> {
        let rows = c * WRITE_CHUNK..((c + 1) * WRITE_CHUNK).min(n);
        let mut out = Vec::with_capacity(rows.len() * 12 * cols.len());
        for i in rows {
            for (j, (_, cells)) in cols.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                cells.push(&mut out, i);
            }
            out.push(b'\n');
        }
        out
    };
    let chunks: Vec<usize> = (0..n.div_ceil(WRITE_CHUNK)).collect();
    for batch in chunks.chunks(4 * rayon::current_num_threads().max(1)) {
        let texts: Vec<Vec<u8>> = batch.par_iter().map(|&c| format_chunk(c)).collect();
        for text in texts {
            w.write_all(&text)?;
        }
    }
    Ok(())
}

/// What a column of a CSV is read as.
#[derive(Clone, Copy)]
enum Kind {
    /// Non-negative integers (`frame`, `detection`); integer-valued floats are accepted.
    Index,
    /// Numbers, every cell (positions, times).
    Number,
    /// Track ids: integers when every cell is one, else text.
    Ids,
}

/// One column being read: cells are parsed into their type as the records stream by.
enum Sink {
    Index(Vec<u32>),
    Number(Vec<f64>),
    /// Integer ids; `odd` keeps the text of cells that do not read back as written (`007`,
    /// `+7`), so a later switch to text ids stays verbatim.
    IntIds {
        ids: Vec<u64>,
        odd: Vec<(usize, String)>,
    },
    Labels(Vec<String>),
    /// An extra column while every non-empty cell is a number (empty cells are NaN); `text`
    /// keeps the cells' text (length-prefixed), in case a later cell turns it into text.
    Floats {
        values: Vec<f64>,
        text: Vec<u8>,
    },
    Text(Vec<String>),
}

/// Why a cell was refused.
enum Refused {
    NotNumber,
    NotIndex,
    NotUtf8,
}

impl Sink {
    fn new(kind: Option<Kind>) -> Sink {
        match kind {
            Some(Kind::Index) => Sink::Index(Vec::new()),
            Some(Kind::Number) => Sink::Number(Vec::new()),
            Some(Kind::Ids) => Sink::IntIds { ids: Vec::new(), odd: Vec::new() },
            None => Sink::Floats { values: Vec::new(), text: Vec::new() },
        }
    }

    /// Appends one (trimmed) cell.
    fn push(&mut self, cell: &[u8]) -> std::result::Result<(), Refused> {
        match self {
            Sink::Index(v) => v.push(parse_index(cell).ok_or(Refused::NotIndex)?),
            Sink::Number(v) => v.push(parse_f64(cell).ok_or(Refused::NotNumber)?),
            Sink::IntIds { ids, odd } => match parse_id(cell) {
                Some((id, exact)) => {
                    if !exact {
                        odd.push((ids.len(), utf8(cell)?));
                    }
                    ids.push(id);
                }
                None => {
                    let mut labels: Vec<String> = ids.iter().map(|v| v.to_string()).collect();
                    for (i, s) in odd.drain(..) {
                        labels[i] = s;
                    }
                    labels.push(utf8(cell)?);
                    *self = Sink::Labels(labels);
                }
            },
            Sink::Labels(v) => v.push(utf8(cell)?),
            Sink::Floats { values, text } => {
                let v = if cell.is_empty() { Some(f64::NAN) } else { parse_f64(cell) };
                match v {
                    Some(v) => {
                        values.push(v);
                        push_len(text, cell.len());
                        text.extend_from_slice(cell);
                    }
                    None => {
                        let mut cells = Vec::with_capacity(values.len() + 1);
                        let mut rest = &text[..];
                        while !rest.is_empty() {
                            let (len, r) = read_len(rest);
                            // Cells that parsed as numbers are ASCII.
                            cells.push(String::from_utf8_lossy(&r[..len]).into_owned());
                            rest = &r[len..];
                        }
                        cells.push(utf8(cell)?);
                        *self = Sink::Text(cells);
                    }
                }
            }
            Sink::Text(v) => v.push(utf8(cell)?),
        }
        Ok(())
    }
}

fn utf8(cell: &[u8]) -> std::result::Result<String, Refused> {
    String::from_utf8(cell.to_vec()).map_err(|_| Refused::NotUtf8)
}

/// Appends `len` as a little-endian base-128 varint.
fn push_len(out: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
}

fn read_len(b: &[u8]) -> (usize, &[u8]) {
    let (mut len, mut shift, mut i) = (0usize, 0, 0);
    loop {
        let c = b[i];
        len |= ((c & 0x7f) as usize) << shift;
        i += 1;
        if c < 0x80 {
            return (len, &b[i..]);
        }
        shift += 7;
    }
}

/// A number as `str::parse::<f64>` reads it (`1`, `-2.5e3`, `NaN`, `inf`, …): `fast-float2`
/// (the same correctly rounded algorithm, on bytes), with `core` deciding what it refuses.
fn parse_f64(cell: &[u8]) -> Option<f64> {
    match fast_float2::parse(cell) {
        Ok(v) => Some(v),
        Err(_) => std::str::from_utf8(cell).ok()?.parse().ok(),
    }
}

/// A non-negative integer that fits in `u32`, or a float with such a value (`3.0`).
fn parse_index(cell: &[u8]) -> Option<u32> {
    if !cell.is_empty() && cell.len() <= 9 && cell.iter().all(u8::is_ascii_digit) {
        return Some(cell.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32));
    }
    let s = std::str::from_utf8(cell).ok()?;
    s.parse::<u32>().ok().or_else(|| match s.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => Some(f as u32),
        _ => None,
    })
}

/// A `u64` id, and whether its text is exactly how the id prints (no `+`, no leading zero).
fn parse_id(cell: &[u8]) -> Option<(u64, bool)> {
    if !cell.is_empty() && cell.len() <= 19 && cell.iter().all(u8::is_ascii_digit) {
        let v = cell.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64);
        return Some((v, cell.len() == 1 || cell[0] != b'0'));
    }
    let v: u64 = std::str::from_utf8(cell).ok()?.parse().ok()?;
    Some((v, itoa::Buffer::new().format(v).as_bytes() == cell))
}

/// The cell without leading and trailing whitespace (Unicode's, as `str::trim`).
fn trim(cell: &[u8]) -> &[u8] {
    let plain = |c: u8| c.is_ascii() && !c.is_ascii_whitespace() && c != 0x0b;
    match (cell.first(), cell.last()) {
        (None, _) => cell,
        (Some(&a), Some(&b)) if plain(a) && plain(b) => cell,
        _ => match std::str::from_utf8(cell) {
            Ok(s) => s.trim().as_bytes(),
            Err(_) => {
                let ws = |c: &u8| c.is_ascii_whitespace() || *c == 0x0b;
                let start = cell.iter().position(|c| !ws(c)).unwrap_or(cell.len());
                let end = cell.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
                &cell[start..end]
            }
        },
    }
}

/// Records per batch of the streaming reader.
const READ_BATCH: usize = 8192;

/// Reads up to [`READ_BATCH`] records into `batch` (records reused); the number read.
fn read_batch<R: Read>(
    rdr: &mut csv::Reader<R>,
    batch: &mut Vec<csv::ByteRecord>,
    path: &Path,
) -> Result<usize> {
    for i in 0..READ_BATCH {
        if i == batch.len() {
            batch.push(csv::ByteRecord::new());
        }
        match rdr.read_byte_record(&mut batch[i]) {
            Ok(true) => {}
            Ok(false) => return Ok(i),
            Err(e) => {
                return Err(Error::table(path, e.position().map(|p| p.line()), e.to_string()))
            }
        }
    }
    Ok(READ_BATCH)
}

/// Parses a batch of records into the column sinks, columns in parallel; the first refused
/// cell as (record in the batch, column, why).
fn parse_batch(
    sinks: &mut [Sink],
    batch: &[csv::ByteRecord],
) -> std::result::Result<(), (usize, usize, Refused)> {
    let errors: Vec<(usize, usize, Refused)> = sinks
        .par_iter_mut()
        .enumerate()
        .filter_map(|(j, sink)| {
            for (i, rec) in batch.iter().enumerate() {
                if let Err(why) = sink.push(trim(&rec[j])) {
                    return Some((i, j, why));
                }
            }
            None
        })
        .collect();
    match errors.into_iter().min_by_key(|&(i, j, _)| (i, j)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A CSV read column by column: each column parsed into its type while the records stream
/// (one reused record, no text kept per numeric cell); typed columns are then taken by name.
struct ColumnReader<'p> {
    path: &'p Path,
    names: Vec<String>,
    cols: Vec<Option<Sink>>,
}

impl<'p> ColumnReader<'p> {
    /// Reads the CSV; the first column named like one of `kinds` is read as that kind, every
    /// other column as an extra one (numbers when all its non-empty cells are, else text).
    fn read(r: impl Read, path: &'p Path, kinds: &[(&str, Kind)]) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new().buffer_capacity(1 << 16).from_reader(r);
        let names: Vec<String> = rdr
            .byte_headers()
            .map_err(|e| Error::table(path, Some(1), e.to_string()))?
            .iter()
            .map(|h| {
                std::str::from_utf8(trim(h))
                    .map(|s| s.trim_start_matches('\u{feff}').to_string())
                    .map_err(|_| Error::table(path, Some(1), "a column name is not UTF-8 text"))
            })
            .collect::<Result<_>>()?;
        let mut sinks: Vec<Sink> = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let first = names.iter().position(|n| n == name) == Some(i);
            let kind = kinds.iter().find(|(n, _)| first && n == name).map(|&(_, k)| k);
            sinks.push(Sink::new(kind));
        }
        // Two batches of reused records: while the rayon pool parses one (its columns in
        // parallel), this thread splits the next into fields.
        let mut cur: Vec<csv::ByteRecord> = Vec::new();
        let mut next: Vec<csv::ByteRecord> = Vec::new();
        let mut n_cur = read_batch(&mut rdr, &mut cur, path)?;
        while n_cur > 0 {
            let mut parsed = Ok(());
            let mut n_next = Ok(0);
            rayon::in_place_scope(|s| {
                let (sinks, batch, parsed) = (&mut sinks, &cur[..n_cur], &mut parsed);
                s.spawn(move |_| *parsed = parse_batch(sinks, batch));
                n_next = read_batch(&mut rdr, &mut next, path);
            });
            if let Err((row, col, why)) = parsed {
                let name = &names[col];
                let c = String::from_utf8_lossy(trim(&cur[row][col]));
                let reason = match why {
                    Refused::NotNumber => format!("`{name}` = `{c}` is not a number"),
                    Refused::NotIndex => format!("`{name}` = `{c}` is not a non-negative integer"),
                    Refused::NotUtf8 => format!("`{name}` = `{c}` is not UTF-8 text"),
                };
                return Err(Error::table(path, cur[row].position().map(|p| p.line()), reason));
            }
            n_cur = n_next?;
            std::mem::swap(&mut cur, &mut next);
        }
        Ok(ColumnReader { path, names, cols: sinks.into_iter().map(Some).collect() })
    }
    fn missing(&self, name: &str) -> Error {
        Error::table(
            self.path,
            Some(1),
            format!("no `{name}` column (columns: {})", self.names.join(",")),
        )
    }
    fn take(&mut self, name: &str) -> Option<Sink> {
        let i = self.names.iter().position(|n| n == name)?;
        self.cols[i].take()
    }
    fn take_f64(&mut self, name: &str) -> Option<Vec<f64>> {
        match self.take(name)? {
            Sink::Number(v) => Some(v),
            _ => unreachable!("`{name}` is read as numbers"),
        }
    }
    fn take_index(&mut self, name: &str) -> Option<Vec<u32>> {
        match self.take(name)? {
            Sink::Index(v) => Some(v),
            _ => unreachable!("`{name}` is read as integers"),
        }
    }
    fn take_ids(&mut self, name: &str) -> Option<TrackIds> {
        match self.take(name)? {
            Sink::IntIds { ids, .. } => Some(TrackIds::Int(ids)),
            Sink::Labels(v) => Some(TrackIds::Label(v)),
            _ => unreachable!("`{name}` is read as ids"),
        }
    }
    fn into_extra(self) -> Vec<(String, Column)> {
        self.names
            .into_iter()
            .zip(self.cols)
            .filter_map(|(n, c)| match c? {
                Sink::Floats { values, .. } => Some((n, Column::Float(values))),
                Sink::Text(v) => Some((n, Column::Text(v))),
                _ => unreachable!("extra columns are read as floats or text"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_as_display_does() {
        let mut out = Vec::new();
        let mut check = |v: f64| {
            out.clear();
            push_f64(&mut out, v);
            let want = if v.is_nan() { "NaN".to_string() } else { format!("{v}") };
            assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{v:e}");
        };
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1.5,
            100.0,
            1e-7,
            -1.5e-7,
            1e15,
            1e16,
            1e17,
            1.25e21,
            123456789.125,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.30000000000000004,
            44.887704383566536,
            165_793_407_361_858.0 + 0.125, // exact halfway cases: ties in the shortest form
            -573_617_812_358_680.0 - 0.25,
            2f64.powi(-25),
            2f64.powi(60),
        ] {
            check(v);
        }
        // Random bit patterns (every magnitude) and random values at the scales of positions.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        const N: usize = 600_000;
        for i in 0..N {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = match i % 3 {
                0 => f64::from_bits(state),
                1 => (state >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((i % 9) as i32 - 3),
                // Few mantissa bits: short exact expansions, where ties between shortest forms
                // happen.
                _ => {
                    let bits = 1 + (state % 53) as u32;
                    let m = (state >> 11) >> (53 - bits) | 1;
                    m as f64 * 2f64.powi((state >> 40) as i32 % 40 - 32)
                }
            };
            check(v);
        }
    }

    #[test]
    fn numbers_parse_as_core_parses_them() {
        let cases = [
            "0",
            "-0",
            "+1",
            "1.",
            ".5",
            "-.5",
            "1e5",
            "1E+5",
            "1e-400",
            "1e400",
            "2.5e-3",
            "0.1",
            "44.887704383566536",
            "inf",
            "-inf",
            "+infinity",
            "Infinity",
            "INF",
            "nan",
            "NaN",
            "-nan",
            "+NaN",
            "1_0",
            "",
            ".",
            "e5",
            "1e",
            "1e+",
            "--1",
            "0x10",
            "1,5",
            "1 2",
            "١",
            "5e-324",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "00012.50",
        ];
        for s in cases {
            let want = s.parse::<f64>().ok();
            let got = parse_f64(s.as_bytes());
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "`{s}`");
        }
    }

    #[test]
    fn ids_integers_until_a_label_then_verbatim_text() {
        let csv = "track_id,frame,t_s,x_um,y_um\n007,0,0,0,0\n+3,0,0,0,0\n 12 ,1,30,0,0\n";
        let t = Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).unwrap();
        assert_eq!(t.track_id, TrackIds::Int(vec![7, 3, 12]));
        let csv = format!("{}a_1,2,60,0,0\n", csv);
        let t = Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).unwrap();
        let want = ["007", "+3", "12", "a_1"].map(String::from).to_vec();
        assert_eq!(t.track_id, TrackIds::Label(want));
    }

    #[test]
    fn extra_column_turns_to_text_verbatim_and_quotes_on_write() {
        let csv = "frame,x_um,y_um,q,note\n0,1,2,1.50,\n1,1,2,,\"a,\"\"b\"\"\"\n2,1,2,x, c \n";
        let d = Detections::from_reader(csv.as_bytes(), Path::new("d.csv")).unwrap();
        let q = ["1.50", "", "x"].map(String::from).to_vec();
        assert_eq!(d.column("q"), Some(&Column::Text(q)));
        let note = ["", "a,\"b\"", "c"].map(String::from).to_vec();
        assert_eq!(d.column("note"), Some(&Column::Text(note)));
        let mut out = Vec::new();
        d.write_to(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, "frame,x_um,y_um,q,note\n0,1,2,1.50,\n1,1,2,,\"a,\"\"b\"\"\"\n2,1,2,x,c\n");
        // Whitespace around cells and a byte-order mark before the header are dropped.
        let csv = "\u{feff}frame , x_um,y_um\n 3 ,\u{a0}1.5\t,2\n";
        let d = Detections::from_reader(csv.as_bytes(), Path::new("d.csv")).unwrap();
        assert_eq!((d.frame[0], d.x_um[0]), (3, 1.5));
    }

    #[test]
    fn detections_errors_name_frame_cells_and_ragged_rows() {
        let e = Detections::from_reader(
            "frame,x_um,y_um\n0,1,2\n1.5,1,2\n".as_bytes(),
            Path::new("d.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("d.csv") && e.contains("line 3") && e.contains("`frame` = `1.5`"),
            "{e}"
        );
        let e =
            Detections::from_reader("frame,x_um,y_um\n0,1,2\n1,1\n".as_bytes(), Path::new("d.csv"))
                .unwrap_err()
                .to_string();
        assert!(e.contains("d.csv") && e.contains("line 3"), "{e}");
        let d =
            Detections::from_reader("frame,x_um,y_um\n4.0,1,2\n".as_bytes(), Path::new("d.csv"))
                .unwrap();
        assert_eq!(d.frame, vec![4]);
    }

    #[test]
    fn detections_roundtrip_keeps_extra_columns_and_2d() {
        let csv = "frame,x_um,y_um,quality,name\n0,1.5,2,3.25,a\n2,4,5e-1,,b\n";
        let d = Detections::from_reader(csv.as_bytes(), Path::new("d.csv")).unwrap();
        assert!(!d.is_3d());
        assert_eq!(d.frame, vec![0, 2]);
        assert_eq!(d.y_um, vec![2.0, 0.5]);
        let q = d.column("quality").unwrap().as_f64().unwrap();
        assert_eq!(q[0], 3.25);
        assert!(q[1].is_nan());
        assert_eq!(d.column("name"), Some(&Column::Text(vec!["a".into(), "b".into()])));
        let mut out = Vec::new();
        d.write_to(&mut out).unwrap();
        let back = Detections::from_reader(out.as_slice(), Path::new("x")).unwrap();
        assert_eq!(back.frame, d.frame);
        assert_eq!(back.x_um, d.x_um);
        assert_eq!(back.column("name"), d.column("name"));
    }

    #[test]
    fn detections_errors_name_line_and_column() {
        let e = Detections::from_reader("frame,x_um\n0,1\n".as_bytes(), Path::new("d.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.csv") && e.contains("y_um"), "{e}");
        let e = Detections::from_reader(
            "frame,x_um,y_um\n0,1,2\n1,abc,2\n".as_bytes(),
            Path::new("d.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 3") && e.contains("abc"), "{e}");
        let e =
            Detections::from_reader("frame,x_um,y_um\n0,NaN,2\n".as_bytes(), Path::new("d.csv"))
                .unwrap_err()
                .to_string();
        assert!(e.contains("finite"), "{e}");
    }

    #[test]
    fn tracks_text_ids_kept_and_frames_inferred() {
        let csv = "track_id,t_s,x_um,y_um\n5828_2,0,0,0\n5828_2,30,1,0\n7,60,0,0\n5828_2,90,2,0\n";
        let t = Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).unwrap();
        assert_eq!(t.track_id.label(0), "5828_2");
        assert_eq!(t.frame, vec![0, 1, 2, 3]);
        assert_eq!(t.rows_by_track(), vec![vec![0, 1, 3], vec![2]]);
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("track_id,frame,t_s,x_um,y_um\n5828_2,0,0,0,0\n"), "{s}");
    }

    #[test]
    fn tracks_reject_non_increasing_time_and_duplicate_frames() {
        let csv = "track_id,frame,t_s,x_um,y_um\n1,0,0,0,0\n1,0,0,1,1\n";
        assert!(Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).is_err());
        let csv = "track_id,frame,t_s,x_um,y_um\n1,0,10,0,0\n1,1,5,1,1\n";
        let e = Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).unwrap_err();
        assert!(e.to_string().contains("track 1"), "{e}");
        let csv = "track_id,frame,x_um,y_um\n1,0,0,0\n";
        assert!(Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), None).is_err());
        let t = Tracks::from_reader(csv.as_bytes(), Path::new("t.csv"), Some(20.0)).unwrap();
        assert_eq!(t.t_s, vec![0.0]);
    }
}
