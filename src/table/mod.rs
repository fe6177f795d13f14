//! The columnar tables every stage passes on: [`Detections`] and [`Tracks`].
//!
//! Tables are structs of `Vec`s (one per column) so they cross to numpy without copying
//! rows. Positions are in µm with the centre of voxel (i, j, k) at (i·vx, j·vy, k·vz); times in
//! seconds; frames 0-based. 2D data have no `z_um` column (`z_um == None`) and stay 2D.
//! Columns the crate does not know are kept in `extra`, in order, and written back unchanged.

use std::collections::HashMap;

use crate::error::{Error, Result};

mod csv_io;

pub(crate) use csv_io::{fmt_f64, push_f64, push_int, push_text};

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
    fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Float(v) => Column::Float(rows.iter().map(|&r| v[r]).collect()),
            Column::Text(v) => Column::Text(rows.iter().map(|&r| v[r].clone()).collect()),
        }
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
            // Ids of a linker or a simulator are small integers: a table instead of hashing.
            TrackIds::Int(v) if v.iter().max().is_some_and(|&m| m < 4 * v.len() as u64 + 1024) => {
                let mut code = vec![u32::MAX; v.iter().max().map_or(0, |&m| m as usize + 1)];
                let mut n = 0u32;
                let codes = v
                    .iter()
                    .map(|&k| {
                        let c = &mut code[k as usize];
                        if *c == u32::MAX {
                            *c = n;
                            n += 1;
                        }
                        *c
                    })
                    .collect();
                (codes, n as usize)
            }
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
            let max = d.iter().max().map_or(0, |&m| m as usize + 1);
            let mut seen_small = if max <= 8 * n + 1024 { vec![false; max] } else { Vec::new() };
            let mut seen = std::collections::HashSet::new();
            for (i, &det) in d.iter().enumerate() {
                let new = match seen_small.get_mut(det as usize) {
                    Some(s) => !std::mem::replace(s, true),
                    None => seen.insert(det),
                };
                if !new {
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
