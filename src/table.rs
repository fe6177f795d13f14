//! The columnar tables every stage passes on: [`Detections`] and [`Tracks`].
//!
//! Tables are structs of `Vec`s (one per column) so they cross to numpy without copying
//! rows. Positions are in µm with the centre of voxel (i, j, k) at (i·vx, j·vy, k·vz); times in
//! seconds; frames 0-based. 2D data have no `z_um` column (`z_um == None`) and stay 2D.
//! Columns the crate does not know are kept in `extra`, in order, and written back unchanged.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::write::write_atomic;

/// An extra column: numbers when every non-empty cell parses as one, else text.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numeric values (empty cells read as NaN).
    Float(Vec<f64>),
    /// Text values, kept verbatim.
    Text(Vec<String>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Float(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }
    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The numeric values, if the column is numeric.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match self {
            Column::Float(v) => Some(v),
            Column::Text(_) => None,
        }
    }
    fn cell(&self, i: usize) -> String {
        match self {
            Column::Float(v) => fmt_f64(v[i]),
            Column::Text(v) => v[i].clone(),
        }
    }
    fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Float(v) => Column::Float(rows.iter().map(|&r| v[r]).collect()),
            Column::Text(v) => Column::Text(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }
    fn parse(cells: Vec<String>) -> Column {
        let nums: Option<Vec<f64>> = cells
            .iter()
            .map(
                |c| if c.trim().is_empty() { Some(f64::NAN) } else { c.trim().parse::<f64>().ok() },
            )
            .collect();
        match nums {
            Some(v) => Column::Float(v),
            None => Column::Text(cells),
        }
    }
}

/// Formats a float for CSV: shortest round-trip representation, `NaN` for missing.
pub(crate) fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else {
        format!("{v}")
    }
}

/// Detected objects, one row per detection.
///
/// Standard optional feature columns (in `extra`) include `volume_um3`, `mean_intensity`,
/// `quality`; the segmentation stage adds more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detections {
    /// 0-based frame (timepoint) of each detection.
    pub frame: Vec<u32>,
    /// x position, µm.
    pub x_um: Vec<f64>,
    /// y position, µm.
    pub y_um: Vec<f64>,
    /// z position, µm; `None` for 2D data.
    pub z_um: Option<Vec<f64>>,
    /// Further columns, in order (e.g. `volume_um3`, `mean_intensity`, `quality`).
    pub extra: Vec<(String, Column)>,
}

impl Detections {
    /// Empty 3D (`is_3d = true`) or 2D detections.
    pub fn new(is_3d: bool) -> Self {
        Detections { z_um: if is_3d { Some(Vec::new()) } else { None }, ..Default::default() }
    }
    /// Number of detections.
    pub fn len(&self) -> usize {
        self.frame.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }
    /// True when positions have a z coordinate.
    pub fn is_3d(&self) -> bool {
        self.z_um.is_some()
    }
    /// Appends one detection (z is ignored for 2D tables and required for 3D ones, where a
    /// missing z is stored as NaN). Extra columns must be filled by the caller.
    pub fn push(&mut self, frame: u32, x_um: f64, y_um: f64, z_um: Option<f64>) {
        self.frame.push(frame);
        self.x_um.push(x_um);
        self.y_um.push(y_um);
        if let Some(z) = self.z_um.as_mut() {
            z.push(z_um.unwrap_or(f64::NAN));
        }
    }
    /// The extra column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.extra.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
    /// Adds (or replaces) an extra column; its length must match.
    pub fn set_column(&mut self, name: &str, col: Column) -> Result<()> {
        set_column(&mut self.extra, self.frame.len(), name, col)
    }
    /// Checks that all columns have one value per row and positions are finite.
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        check_len("x_um", self.x_um.len(), n)?;
        check_len("y_um", self.y_um.len(), n)?;
        if let Some(z) = &self.z_um {
            check_len("z_um", z.len(), n)?;
        }
        for (name, c) in &self.extra {
            check_len(name, c.len(), n)?;
        }
        check_finite(&self.x_um, &self.y_um, self.z_um.as_deref(), |i| {
            format!("detection {i} (frame {})", self.frame[i])
        })
    }
    /// Appends the rows of `other`, which must have the same columns (as every frame of one
    /// segmentation run has); a column that differs is an error naming it.
    pub fn append(&mut self, other: Detections) -> Result<()> {
        if self.z_um.is_some() != other.z_um.is_some() || self.extra.len() != other.extra.len() {
            return Err(Error::data("detections to append have other columns"));
        }
        self.frame.extend(other.frame);
        self.x_um.extend(other.x_um);
        self.y_um.extend(other.y_um);
        if let (Some(za), Some(zb)) = (self.z_um.as_mut(), other.z_um) {
            za.extend(zb);
        }
        for ((na, ca), (nb, cb)) in self.extra.iter_mut().zip(other.extra) {
            match (ca, cb) {
                (Column::Float(x), Column::Float(y)) if *na == nb => x.extend(y),
                (Column::Text(x), Column::Text(y)) if *na == nb => x.extend(y),
                _ => return Err(Error::data(format!("column `{na}` differs between frames"))),
            }
        }
        Ok(())
    }

    /// The rows `rows`, in that order.
    pub fn take_rows(&self, rows: &[usize]) -> Detections {
        Detections {
            frame: rows.iter().map(|&r| self.frame[r]).collect(),
            x_um: rows.iter().map(|&r| self.x_um[r]).collect(),
            y_um: rows.iter().map(|&r| self.y_um[r]).collect(),
            z_um: self.z_um.as_ref().map(|z| rows.iter().map(|&r| z[r]).collect()),
            extra: self.extra.iter().map(|(n, c)| (n.clone(), c.take(rows))).collect(),
        }
    }

    /// Rows of each frame: `(frame, row indices)` in increasing frame order.
    pub fn rows_by_frame(&self) -> Vec<(u32, Vec<usize>)> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.frame[i]); // stable: rows stay in order within a frame
        let mut out: Vec<(u32, Vec<usize>)> = Vec::new();
        for i in order {
            match out.last_mut() {
                Some((f, rows)) if *f == self.frame[i] => rows.push(i),
                _ => out.push((self.frame[i], vec![i])),
            }
        }
        out
    }

    /// Reads a CSV with at least `frame,x_um,y_um` (and `z_um` for 3D); other columns are
    /// kept in `extra`.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path)
    }

    /// Like [`Detections::read_csv`] from any reader; `path` names the source in errors.
    pub fn from_reader(r: impl Read, path: &Path) -> Result<Self> {
        let mut raw = RawTable::read(r, path)?;
        let frame = raw.take_frames("frame")?.ok_or_else(|| raw.missing("frame"))?;
        let x_um = raw.take_f64("x_um")?.ok_or_else(|| raw.missing("x_um"))?;
        let y_um = raw.take_f64("y_um")?.ok_or_else(|| raw.missing("y_um"))?;
        let z_um = raw.take_f64("z_um")?;
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

/// Track identifiers: opaque labels, carried through unchanged.
///
/// The linker produces integers; tracks imported from other tools may carry strings
/// (e.g. `5828_2`). Either way each row has one.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackIds {
    /// Integer ids (from the linker or a CSV whose ids are all integers).
    Int(Vec<u64>),
    /// Text ids, kept verbatim.
    Label(Vec<String>),
}

impl Default for TrackIds {
    fn default() -> Self {
        TrackIds::Int(Vec::new())
    }
}

impl TrackIds {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            TrackIds::Int(v) => v.len(),
            TrackIds::Label(v) => v.len(),
        }
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The id of row `i` as text.
    pub fn label(&self, i: usize) -> String {
        match self {
            TrackIds::Int(v) => v[i].to_string(),
            TrackIds::Label(v) => v[i].clone(),
        }
    }
    /// Dense integer codes, one per row (0, 1, … in order of first appearance), and the
    /// number of distinct ids. Rows with equal ids get equal codes.
    pub fn codes(&self) -> (Vec<u32>, usize) {
        fn dense<K: std::hash::Hash + Eq + Clone>(v: &[K]) -> (Vec<u32>, usize) {
            let mut map: HashMap<K, u32> = HashMap::new();
            let codes = v
                .iter()
                .map(|k| {
                    let n = map.len() as u32;
                    *map.entry(k.clone()).or_insert(n)
                })
                .collect();
            (codes, map.len())
        }
        match self {
            TrackIds::Int(v) => dense(v),
            TrackIds::Label(v) => dense(v),
        }
    }
    fn take(&self, rows: &[usize]) -> TrackIds {
        match self {
            TrackIds::Int(v) => TrackIds::Int(rows.iter().map(|&r| v[r]).collect()),
            TrackIds::Label(v) => TrackIds::Label(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }
}

/// Tracks: one row per tracked point.
///
/// Invariants a linker guarantees (checked by [`Tracks::validate`]): frames strictly increase
/// within a track; a detection appears in at most one track. A track may have one point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracks {
    /// Track id of each point.
    pub track_id: TrackIds,
    /// 0-based frame of each point.
    pub frame: Vec<u32>,
    /// Time of each point, s.
    pub t_s: Vec<f64>,
    /// x position, µm.
    pub x_um: Vec<f64>,
    /// y position, µm.
    pub y_um: Vec<f64>,
    /// z position, µm; `None` for 2D tracks.
    pub z_um: Option<Vec<f64>>,
    /// 0-based row in the detections table each point came from, when known.
    pub detection: Option<Vec<u64>>,
    /// Further columns carried along (e.g. `touches_border`, `volume_um3`), in order.
    pub extra: Vec<(String, Column)>,
}

impl Tracks {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.frame.len()
    }
    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }
    /// True when positions have a z coordinate.
    pub fn is_3d(&self) -> bool {
        self.z_um.is_some()
    }
    /// The extra column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.extra.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
    /// Adds (or replaces) an extra column; its length must match.
    pub fn set_column(&mut self, name: &str, col: Column) -> Result<()> {
        set_column(&mut self.extra, self.frame.len(), name, col)
    }

    /// Row indices of each track, in order of first appearance, each sorted by frame.
    pub fn rows_by_track(&self) -> Vec<Vec<usize>> {
        let (codes, n) = self.track_id.codes();
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, &c) in codes.iter().enumerate() {
            groups[c as usize].push(i);
        }
        for g in &mut groups {
            g.sort_by_key(|&i| self.frame[i]);
        }
        groups
    }

    /// The rows `rows`, in that order (a selection or reordering of points).
    pub fn take(&self, rows: &[usize]) -> Tracks {
        Tracks {
            track_id: self.track_id.take(rows),
            frame: rows.iter().map(|&r| self.frame[r]).collect(),
            t_s: rows.iter().map(|&r| self.t_s[r]).collect(),
            x_um: rows.iter().map(|&r| self.x_um[r]).collect(),
            y_um: rows.iter().map(|&r| self.y_um[r]).collect(),
            z_um: self.z_um.as_ref().map(|z| rows.iter().map(|&r| z[r]).collect()),
            detection: self.detection.as_ref().map(|d| rows.iter().map(|&r| d[r]).collect()),
            extra: self.extra.iter().map(|(n, c)| (n.clone(), c.take(rows))).collect(),
        }
    }

    /// Checks column lengths, finite positions and times, frames strictly increasing within
    /// each track, and each detection used at most once.
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        check_len("track_id", self.track_id.len(), n)?;
        check_len("t_s", self.t_s.len(), n)?;
        check_len("x_um", self.x_um.len(), n)?;
        check_len("y_um", self.y_um.len(), n)?;
        if let Some(z) = &self.z_um {
            check_len("z_um", z.len(), n)?;
        }
        if let Some(d) = &self.detection {
            check_len("detection", d.len(), n)?;
            let mut seen = std::collections::HashSet::with_capacity(n);
            for (i, &det) in d.iter().enumerate() {
                if !seen.insert(det) {
                    return Err(Error::data(format!(
                        "detection {det} appears twice (second time in track {})",
                        self.track_id.label(i)
                    )));
                }
            }
        }
        for (name, c) in &self.extra {
            check_len(name, c.len(), n)?;
        }
        check_finite(&self.x_um, &self.y_um, self.z_um.as_deref(), |i| {
            format!("track {} frame {}", self.track_id.label(i), self.frame[i])
        })?;
        for track in self.rows_by_track() {
            for w in track.windows(2) {
                let (a, b) = (w[0], w[1]);
                if self.frame[a] == self.frame[b] {
                    return Err(Error::data(format!(
                        "track {} has two points in frame {}",
                        self.track_id.label(a),
                        self.frame[a]
                    )));
                }
                if self.t_s[b].partial_cmp(&self.t_s[a]) != Some(std::cmp::Ordering::Greater) {
                    return Err(Error::data(format!(
                        "track {}: time does not increase between frames {} and {} ({} s, {} s)",
                        self.track_id.label(a),
                        self.frame[a],
                        self.frame[b],
                        self.t_s[a],
                        self.t_s[b]
                    )));
                }
            }
        }
        Ok(())
    }

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
        let mut raw = RawTable::read(r, path)?;
        let ids = raw.take_text("track_id").ok_or_else(|| raw.missing("track_id"))?;
        let track_id = match ids.iter().map(|s| s.trim().parse::<u64>()).collect() {
            Ok(v) => TrackIds::Int(v),
            Err(_) => TrackIds::Label(ids),
        };
        let frame = raw.take_frames("frame")?;
        let t_s = raw.take_f64("t_s")?;
        let x_um = raw.take_f64("x_um")?.ok_or_else(|| raw.missing("x_um"))?;
        let y_um = raw.take_f64("y_um")?.ok_or_else(|| raw.missing("y_um"))?;
        let z_um = raw.take_f64("z_um")?;
        let detection =
            raw.take_frames("detection")?.map(|v| v.into_iter().map(u64::from).collect());
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

fn check_len(name: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::data(format!("column `{name}` has {got} values for {want} rows")));
    }
    Ok(())
}

fn check_finite(
    x: &[f64],
    y: &[f64],
    z: Option<&[f64]>,
    what: impl Fn(usize) -> String,
) -> Result<()> {
    for i in 0..x.len() {
        let zi = z.map_or(0.0, |z| z[i]);
        if !(x[i].is_finite() && y[i].is_finite() && zi.is_finite()) {
            return Err(Error::data(format!("{}: position is not a finite number", what(i))));
        }
    }
    Ok(())
}

fn set_column(extra: &mut Vec<(String, Column)>, n: usize, name: &str, col: Column) -> Result<()> {
    check_len(name, col.len(), n)?;
    match extra.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = col,
        None => extra.push((name.to_string(), col)),
    }
    Ok(())
}

enum Cells<'a> {
    U32(&'a [u32]),
    U64(&'a [u64]),
    F64(&'a [f64]),
    Ids(&'a TrackIds),
    Col(&'a Column),
}

fn write_columns(w: &mut dyn Write, cols: &[(&str, Cells)], n: usize) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(cols.iter().map(|(n, _)| *n))?;
    let mut rec: Vec<String> = Vec::with_capacity(cols.len());
    for i in 0..n {
        rec.clear();
        for (_, c) in cols {
            rec.push(match c {
                Cells::U32(v) => v[i].to_string(),
                Cells::U64(v) => v[i].to_string(),
                Cells::F64(v) => fmt_f64(v[i]),
                Cells::Ids(v) => v.label(i),
                Cells::Col(c) => c.cell(i),
            });
        }
        out.write_record(&rec)?;
    }
    out.flush()
}

/// A CSV read as text columns, from which typed columns are taken by name.
struct RawTable<'p> {
    path: &'p Path,
    names: Vec<String>,
    cols: Vec<Option<Vec<String>>>,
}

impl<'p> RawTable<'p> {
    fn read(r: impl Read, path: &'p Path) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(r);
        let names: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::table(path, Some(1), e.to_string()))?
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut cols: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line());
                Error::table(path, line, e.to_string())
            })?;
            for (c, v) in cols.iter_mut().zip(rec.iter()) {
                c.push(v.to_string());
            }
        }
        Ok(RawTable { path, names, cols: cols.into_iter().map(Some).collect() })
    }
    fn missing(&self, name: &str) -> Error {
        Error::table(
            self.path,
            Some(1),
            format!("no `{name}` column (columns: {})", self.names.join(",")),
        )
    }
    fn take_text(&mut self, name: &str) -> Option<Vec<String>> {
        let i = self.names.iter().position(|n| n == name)?;
        self.cols[i].take()
    }
    fn take_f64(&mut self, name: &str) -> Result<Option<Vec<f64>>> {
        let Some(cells) = self.take_text(name) else { return Ok(None) };
        cells
            .iter()
            .enumerate()
            .map(|(row, c)| {
                c.parse::<f64>().map_err(|_| {
                    Error::table(
                        self.path,
                        Some(row as u64 + 2),
                        format!("`{name}` = `{c}` is not a number"),
                    )
                })
            })
            .collect::<Result<Vec<f64>>>()
            .map(Some)
    }
    fn take_frames(&mut self, name: &str) -> Result<Option<Vec<u32>>> {
        let Some(cells) = self.take_text(name) else { return Ok(None) };
        cells
            .iter()
            .enumerate()
            .map(|(row, c)| {
                c.parse::<u32>()
                    .or_else(|_| match c.parse::<f64>() {
                        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => {
                            Ok(f as u32)
                        }
                        _ => Err(()),
                    })
                    .map_err(|_| {
                        Error::table(
                            self.path,
                            Some(row as u64 + 2),
                            format!("`{name}` = `{c}` is not a non-negative integer"),
                        )
                    })
            })
            .collect::<Result<Vec<u32>>>()
            .map(Some)
    }
    fn into_extra(self) -> Vec<(String, Column)> {
        self.names
            .into_iter()
            .zip(self.cols)
            .filter_map(|(n, c)| c.map(|c| (n, Column::parse(c))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
