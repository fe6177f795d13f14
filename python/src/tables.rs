//! Tables between Rust and Python: columnar both ways.
//!
//! Out: a table is a list of `(name, column)` pairs, each column a 1-D numpy array (numbers;
//! `Vec<f64>` columns are handed over without a copy) or a list of `str` (text); the Python
//! layer turns the list into a pandas DataFrame. Integer columns (frames, counts, ids) are
//! int64 so that arithmetic on them never wraps.
//!
//! In: a dict made by the Python layer from a DataFrame: `frame` (int64), `x_um`, `y_um`,
//! optional `z_um` (float64), for tracks `track_id` (int64 array or list of str), `t_s`
//! (float64) and optional `detection` (int64), and `extra`, a list of `(name, float64 array
//! or list of str)`.

use leukotrack::metrics::{Autocorrelation, Msd, StepMetrics, TrackMetrics};
use leukotrack::track::drift::Drift;
use leukotrack::{Column, Detections, TrackIds, Tracks};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::invalid_input;

/// A table on its way to Python.
pub struct Table(Vec<(String, Col)>);

/// One column of a [`Table`].
pub enum Col {
    /// float64.
    F64(Vec<f64>),
    /// int64.
    I64(Vec<i64>),
    /// uint64 (track ids beyond the int64 range).
    U64(Vec<u64>),
    /// str.
    Text(Vec<String>),
}

impl Table {
    fn new() -> Self {
        Table(Vec::new())
    }
    fn push(&mut self, name: &str, col: Col) {
        self.0.push((name.to_string(), col));
    }
    fn ints<T: Copy + Into<i64>>(&mut self, name: &str, v: &[T]) {
        self.push(name, Col::I64(v.iter().map(|&x| x.into()).collect()));
    }
    fn ids(&mut self, name: &str, ids: TrackIds) {
        let col = match ids {
            TrackIds::Int(v) if v.iter().all(|&x| x <= i64::MAX as u64) => {
                Col::I64(v.into_iter().map(|x| x as i64).collect())
            }
            TrackIds::Int(v) => Col::U64(v),
            TrackIds::Label(v) => Col::Text(v),
        };
        self.push(name, col);
    }
    fn extra(&mut self, extra: Vec<(String, Column)>) {
        for (name, c) in extra {
            let col = match c {
                Column::Float(v) => Col::F64(v),
                Column::Text(v) => Col::Text(v),
            };
            self.0.push((name, col));
        }
    }

    /// The list of `(name, column)` pairs.
    pub fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
        let list = PyList::empty(py);
        for (name, col) in self.0 {
            let obj: Bound<'_, PyAny> = match col {
                Col::F64(v) => PyArray1::from_vec(py, v).into_any(),
                Col::I64(v) => PyArray1::from_vec(py, v).into_any(),
                Col::U64(v) => PyArray1::from_vec(py, v).into_any(),
                Col::Text(v) => PyList::new(py, v)?.into_any(),
            };
            list.append((name, obj))?;
        }
        Ok(list)
    }
}

/// The columns of detections: `frame, x_um, y_um[, z_um], …extra`.
pub fn detections(d: Detections) -> Table {
    let mut t = Table::new();
    t.ints("frame", &d.frame);
    t.push("x_um", Col::F64(d.x_um));
    t.push("y_um", Col::F64(d.y_um));
    if let Some(z) = d.z_um {
        t.push("z_um", Col::F64(z));
    }
    t.extra(d.extra);
    t
}

/// The columns of tracks, as `tracks.csv`: `track_id, frame, t_s, x_um, y_um[, z_um]
/// [, detection], …extra`.
pub fn tracks(tr: Tracks) -> Table {
    let mut t = Table::new();
    t.ids("track_id", tr.track_id);
    t.ints("frame", &tr.frame);
    t.push("t_s", Col::F64(tr.t_s));
    t.push("x_um", Col::F64(tr.x_um));
    t.push("y_um", Col::F64(tr.y_um));
    if let Some(z) = tr.z_um {
        t.push("z_um", Col::F64(z));
    }
    if let Some(d) = tr.detection {
        t.push("detection", Col::I64(d.into_iter().map(|x| x as i64).collect()));
    }
    t.extra(tr.extra);
    t
}

/// The columns of `track_metrics.csv`.
pub fn track_metrics(m: TrackMetrics) -> Table {
    let mut t = Table::new();
    let cols: Vec<(String, Vec<f64>)> =
        m.columns().into_iter().map(|(n, c)| (n.to_string(), c.to_vec())).collect();
    t.ids("track_id", m.track_id);
    t.ints("n_points", &m.n_points);
    for (n, c) in cols {
        t.push(&n, Col::F64(c));
    }
    t
}

/// The columns of `steps.csv`.
pub fn steps(s: StepMetrics) -> Table {
    let mut t = Table::new();
    t.ids("track_id", s.track_id);
    t.ints("frame", &s.frame);
    for (n, c) in [
        ("t_s", s.t_s),
        ("dx_um", s.dx_um),
        ("dy_um", s.dy_um),
        ("dz_um", s.dz_um),
        ("step_um", s.step_um),
        ("speed_um_per_min", s.speed_um_per_min),
        ("turning_angle_deg", s.turning_angle_deg),
    ] {
        t.push(n, Col::F64(c));
    }
    t
}

fn counts(v: Vec<u64>) -> Col {
    Col::I64(v.into_iter().map(|x| x.min(i64::MAX as u64) as i64).collect())
}

/// The columns of `msd.csv`.
pub fn msd(m: Msd) -> Table {
    let mut t = Table::new();
    t.ints("lag_frames", &m.lag_frames);
    t.push("lag_s", Col::F64(m.lag_s));
    t.push("msd_um2", Col::F64(m.msd_um2));
    t.push("n", counts(m.n));
    t.push("sem_um2", Col::F64(m.sem_um2));
    t
}

/// The columns of `autocorrelation.csv`.
pub fn autocorrelation(a: Autocorrelation) -> Table {
    let mut t = Table::new();
    t.ints("lag_frames", &a.lag_frames);
    t.push("lag_s", Col::F64(a.lag_s));
    t.push("mean_cos", Col::F64(a.mean_cos));
    t.push("sem_cos", Col::F64(a.sem_cos));
    t.push("mean_velocity_dot_um2_per_min2", Col::F64(a.mean_velocity_dot_um2_per_min2));
    t.push("n", counts(a.n));
    t
}

/// The columns of `drift.csv`.
pub fn drift(d: Drift) -> Table {
    let mut t = Table::new();
    t.ints("frame", &d.frame);
    t.push("dx_um", Col::F64(d.dx_um));
    t.push("dy_um", Col::F64(d.dy_um));
    let jump = d.frame.iter().map(|f| i64::from(d.jumps.binary_search(f).is_ok())).collect();
    t.push("dz_um", Col::F64(d.dz_um));
    t.push("jump", Col::I64(jump));
    t
}

fn item<'py>(cols: &Bound<'py, PyDict>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    match cols.get_item(name)? {
        Some(v) if !v.is_none() => Ok(Some(v)),
        _ => Ok(None),
    }
}

fn required<'py>(cols: &Bound<'py, PyDict>, name: &str, what: &str) -> PyResult<Bound<'py, PyAny>> {
    item(cols, name)?.ok_or_else(|| invalid_input(cols.py(), what, format!("no `{name}` column")))
}

fn f64s(v: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<f64>> {
    let a: PyReadonlyArray1<'_, f64> = v.extract().map_err(|_| {
        invalid_input(v.py(), name, "expected a 1-D float64 array (internal conversion)")
    })?;
    Ok(match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().to_vec(),
    })
}

fn i64s(v: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<i64>> {
    let a: PyReadonlyArray1<'_, i64> = v.extract().map_err(|_| {
        invalid_input(v.py(), name, "expected a 1-D int64 array (internal conversion)")
    })?;
    Ok(match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().to_vec(),
    })
}

fn frames(v: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u32>> {
    i64s(v, name)?
        .into_iter()
        .map(|f| {
            u32::try_from(f).map_err(|_| {
                invalid_input(v.py(), name, format!("{f} is not a frame number (0 … 2³² − 1)"))
            })
        })
        .collect()
}

fn column(v: &Bound<'_, PyAny>, name: &str) -> PyResult<Column> {
    if v.is_instance_of::<PyList>() {
        return Ok(Column::Text(v.extract()?));
    }
    Ok(Column::Float(f64s(v, name)?))
}

fn extras(cols: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Column)>> {
    let Some(list) = item(cols, "extra")? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for pair in list.try_iter()? {
        let (name, v): (String, Bound<'_, PyAny>) = pair?.extract()?;
        let c = column(&v, &name)?;
        out.push((name, c));
    }
    Ok(out)
}

fn check_len(py: Python<'_>, what: &str, name: &str, got: usize, want: usize) -> PyResult<()> {
    if got != want {
        return Err(invalid_input(
            py,
            what,
            format!("column `{name}` has {got} values for {want} rows"),
        ));
    }
    Ok(())
}

/// Detections from the Python layer's dict (validated by the core where used).
pub fn detections_from(cols: &Bound<'_, PyDict>, what: &str) -> PyResult<Detections> {
    let py = cols.py();
    let frame = frames(&required(cols, "frame", what)?, "frame")?;
    let x_um = f64s(&required(cols, "x_um", what)?, "x_um")?;
    let y_um = f64s(&required(cols, "y_um", what)?, "y_um")?;
    let z_um = item(cols, "z_um")?.map(|v| f64s(&v, "z_um")).transpose()?;
    let extra = extras(cols)?;
    let n = frame.len();
    check_len(py, what, "x_um", x_um.len(), n)?;
    check_len(py, what, "y_um", y_um.len(), n)?;
    if let Some(z) = &z_um {
        check_len(py, what, "z_um", z.len(), n)?;
    }
    for (name, c) in &extra {
        check_len(py, what, name, c.len(), n)?;
    }
    Ok(Detections { frame, x_um, y_um, z_um, extra })
}

/// Tracks from the Python layer's dict.
pub fn tracks_from(cols: &Bound<'_, PyDict>, what: &str) -> PyResult<Tracks> {
    let py = cols.py();
    let ids = required(cols, "track_id", what)?;
    let track_id = if ids.is_instance_of::<PyList>() {
        TrackIds::Label(ids.extract()?)
    } else {
        let v = i64s(&ids, "track_id")?;
        TrackIds::Int(
            v.into_iter()
                .map(|x| {
                    u64::try_from(x).map_err(|_| {
                        invalid_input(py, "track_id", format!("{x}: integer ids must be ≥ 0"))
                    })
                })
                .collect::<PyResult<_>>()?,
        )
    };
    let frame = frames(&required(cols, "frame", what)?, "frame")?;
    let t_s = f64s(&required(cols, "t_s", what)?, "t_s")?;
    let x_um = f64s(&required(cols, "x_um", what)?, "x_um")?;
    let y_um = f64s(&required(cols, "y_um", what)?, "y_um")?;
    let z_um = item(cols, "z_um")?.map(|v| f64s(&v, "z_um")).transpose()?;
    let detection = item(cols, "detection")?
        .map(|v| {
            i64s(&v, "detection")?
                .into_iter()
                .map(|d| {
                    u64::try_from(d)
                        .map_err(|_| invalid_input(py, "detection", format!("{d}: rows are ≥ 0")))
                })
                .collect::<PyResult<Vec<u64>>>()
        })
        .transpose()?;
    let extra = extras(cols)?;
    let n = frame.len();
    check_len(py, what, "track_id", track_id.len(), n)?;
    for (name, len) in [("t_s", t_s.len()), ("x_um", x_um.len()), ("y_um", y_um.len())] {
        check_len(py, what, name, len, n)?;
    }
    if let Some(z) = &z_um {
        check_len(py, what, "z_um", z.len(), n)?;
    }
    if let Some(d) = &detection {
        check_len(py, what, "detection", d.len(), n)?;
    }
    for (name, c) in &extra {
        check_len(py, what, name, c.len(), n)?;
    }
    Ok(Tracks { track_id, frame, t_s, x_um, y_um, z_um, detection, extra })
}

/// A drift table from the Python layer's dict (`frame, dx_um, dy_um, dz_um`).
pub fn drift_from(cols: &Bound<'_, PyDict>) -> PyResult<Drift> {
    let py = cols.py();
    let frame = frames(&required(cols, "frame", "drift")?, "frame")?;
    let dx_um = f64s(&required(cols, "dx_um", "drift")?, "dx_um")?;
    let dy_um = f64s(&required(cols, "dy_um", "drift")?, "dy_um")?;
    let dz_um = match item(cols, "dz_um")? {
        Some(v) => f64s(&v, "dz_um")?,
        None => vec![0.0; frame.len()],
    };
    for (name, len) in [("dx_um", dx_um.len()), ("dy_um", dy_um.len()), ("dz_um", dz_um.len())] {
        check_len(py, "drift", name, len, frame.len())?;
    }
    let mut rows: Vec<usize> = (0..frame.len()).collect();
    rows.sort_by_key(|&i| frame[i]);
    let mut d = Drift::default();
    for i in rows {
        if d.frame.last() == Some(&frame[i]) {
            return Err(invalid_input(py, "drift", format!("frame {} appears twice", frame[i])));
        }
        let v = [dx_um[i], dy_um[i], dz_um[i]];
        if !v.iter().all(|x| x.is_finite()) {
            return Err(invalid_input(
                py,
                "drift",
                format!("frame {}: not a finite shift", frame[i]),
            ));
        }
        d.frame.push(frame[i]);
        d.dx_um.push(v[0]);
        d.dy_um.push(v[1]);
        d.dz_um.push(v[2]);
    }
    Ok(d)
}
