//! `Recording`: a recording opened lazily, its calibration and its volumes as numpy arrays.

use std::path::PathBuf;
use std::sync::Arc;

use leukotrack::calib::{Value, VoxelSize};
use leukotrack::{Error, PageOrder, ReadOptions, Recording, Volume};
use numpy::PyArray3;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{detached, to_pyerr};

/// A recording opened lazily (page index and metadata; pixels are read per volume).
#[pyclass(name = "Recording", module = "leukotrack._core", frozen)]
pub struct PyRecording {
    /// The recording, shared with the analyses made from it.
    pub inner: Arc<Recording>,
}

/// The reading options from the Python layer's values (each checked).
pub fn read_options(
    voxel_size: Option<[f64; 3]>,
    frame_interval: Option<f64>,
    shape: Option<(usize, usize, usize)>,
    page_order: Option<&str>,
) -> leukotrack::Result<ReadOptions> {
    let voxel_size = voxel_size.map(|[x, y, z]| VoxelSize::new(x, y, z)).transpose()?;
    if let Some(f) = frame_interval {
        if !(f.is_finite() && f > 0.0) {
            return Err(Error::param("frame_interval", format!("must be > 0 s, got {f}")));
        }
    }
    if let Some((t, c, z)) = shape {
        if t == 0 || c == 0 || z == 0 {
            return Err(Error::param("shape", "t, c and z must be ≥ 1"));
        }
    }
    Ok(ReadOptions {
        voxel_size,
        frame_interval_s: frame_interval,
        shape,
        page_order: page_order.map(PageOrder::parse).transpose()?,
    })
}

#[pymethods]
impl PyRecording {
    /// Opens `path` (a TIFF file, a folder or glob of TIFFs, a Prairie View folder or XML, an
    /// OME companion file); `voxel_size` is `[x, y, z]` in µm, `frame_interval` in s, `shape`
    /// `(t, c, z)`, `page_order` e.g. `"czt"`. Values given win over the file's.
    #[staticmethod]
    #[pyo3(signature = (path, voxel_size=None, frame_interval=None, shape=None, page_order=None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        voxel_size: Option<[f64; 3]>,
        frame_interval: Option<f64>,
        shape: Option<(usize, usize, usize)>,
        page_order: Option<String>,
    ) -> PyResult<Self> {
        let rec = detached(py, || {
            let opts = read_options(voxel_size, frame_interval, shape, page_order.as_deref())?;
            Recording::open_with(&path, &opts)
        })?;
        Ok(PyRecording { inner: Arc::new(rec) })
    }

    /// Sizes `(t, c, z, y, x)`.
    #[getter]
    fn shape(&self) -> (usize, usize, usize, usize, usize) {
        let s = self.inner.shape();
        (s.t, s.c, s.z, s.y, s.x)
    }

    /// The pixel type volumes are read as (`uint8`, `uint16` or `float32`).
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.dtype().name()
    }

    /// The sample type stored in the file (`int16` files are read as `float32`).
    #[getter]
    fn stored_dtype(&self) -> &'static str {
        self.inner.stored_dtype()
    }

    /// The path the recording was opened from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// The kind of file (`imagej`, `ome`, `plain`, `series`, `scanimage`, `prairieview`).
    #[getter]
    fn format(&self, py: Python<'_>) -> PyResult<String> {
        let v = serde_json::to_value(self.inner.format())
            .map_err(|e| to_pyerr(py, Error::data(e.to_string())))?;
        Ok(v.as_str().unwrap_or("unknown").to_string())
    }

    /// The page order (fastest-varying first, e.g. `czt`).
    #[getter]
    fn page_order(&self) -> String {
        self.inner.page_order().to_string()
    }

    /// The files holding the planes, in order.
    #[getter]
    fn files(&self) -> Vec<PathBuf> {
        self.inner.files().map(|p| p.to_path_buf()).collect()
    }

    /// Warnings from opening (missing calibration, guessed axes).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings().to_vec()
    }

    /// The calibration: `{"x", "y", "z", "frame_interval"}` each `(value, source)` or `None`
    /// (µm, s; source `file`, `user` or `default`), and `frame_times` (s) or `None`.
    #[getter]
    fn calibration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.calibration();
        let d = PyDict::new(py);
        let v = |x: Option<Value>| x.map(|x| (x.value, x.source.name()));
        d.set_item("x", v(c.voxel_x_um))?;
        d.set_item("y", v(c.voxel_y_um))?;
        d.set_item("z", v(c.voxel_z_um))?;
        d.set_item("frame_interval", v(c.frame_interval_s))?;
        d.set_item("frame_times", c.frame_times_s.clone())?;
        Ok(d)
    }

    /// The (z, y, x) volume of timepoint `t`, channel `c`, as a numpy array in the
    /// recording's pixel type (the array owns the memory read; no further copy).
    fn volume<'py>(&self, py: Python<'py>, t: usize, c: usize) -> PyResult<Bound<'py, PyAny>> {
        let rec = Arc::clone(&self.inner);
        let v = detached(py, move || rec.volume(t, c))?;
        Ok(match v {
            Volume::U8(a) => PyArray3::from_owned_array(py, a).into_any(),
            Volume::U16(a) => PyArray3::from_owned_array(py, a).into_any(),
            Volume::F32(a) => PyArray3::from_owned_array(py, a).into_any(),
        })
    }
}
