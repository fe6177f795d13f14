//! ScanImage (Vidrio) TIFFs: one page per (channel, slice, time), metadata as MATLAB-style
//! `SI.x.y = value` lines.
//!
//! The non-varying metadata come from the ScanImage 2016+ block at byte 16 of the file (magic
//! 0x07030301), the Software tag or the first ImageDescription. Pages hold saved channels
//! fastest, then slices, then time. With fast-Z (`SI.hFastZ.enable`) a volume is
//! `SI.hStackManager.numSlices` slices (flyback frames, when saved, are skipped) and the
//! timepoints are volumes; a single-plane acquisition's timepoints are frames; a slow stack
//! (several slices without fast-Z) holds `framesPerSlice` frames at each slice, read as
//! timepoints. The number of timepoints comes from the pages present (an aborted acquisition
//! keeps its complete volumes). Parts of one acquisition (`name_00001.tif`, `name_00002.tif`,
//! …) continue the page sequence and are read together.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::series::natural_cmp;
use super::tiff::{read_exact_at, TiffFile};
use super::{FileSlot, Format, Layout, PageOrder, PlaneRef, ReadOptions, Shape};
use crate::calib::{Calibration, Value};
use crate::error::{Error, Result};

/// ScanImage's metadata: `SI.…` keys → raw MATLAB values.
#[derive(Debug, Clone, Default)]
pub(crate) struct SiMeta {
    kv: HashMap<String, String>,
}

const SI_MAGIC: u32 = 0x0703_0301;

impl SiMeta {
    fn parse(text: &str, into: &mut HashMap<String, String>) {
        for line in text.lines() {
            let line = line.trim();
            if !line.starts_with("SI.") {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                into.entry(k.trim().to_string()).or_insert_with(|| v.trim().to_string());
            }
        }
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.kv.get(key).map(String::as_str)
    }
    /// Numbers in a MATLAB scalar or matrix value (`3`, `[1;2]`, `[-250 -250;250 250]`).
    fn numbers(&self, key: &str) -> Vec<f64> {
        self.get(key)
            .map(|v| {
                v.split(|c: char| c == '[' || c == ']' || c == ';' || c == ',' || c.is_whitespace())
                    .filter_map(|s| s.parse::<f64>().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn num(&self, key: &str) -> Option<f64> {
        self.numbers(key).first().copied().filter(|v| v.is_finite())
    }
    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true") | Some("1"))
    }
}

/// ScanImage metadata of `file`, if it is a ScanImage TIFF.
pub(crate) fn detect(file: &TiffFile, handle: &File) -> Option<SiMeta> {
    let mut kv = HashMap::new();
    let mut found = false;
    if file.bigtiff && !file.big_endian && file.file_len >= 32 {
        let mut h = [0u8; 16];
        if read_exact_at(handle, &mut h, 16).is_ok() {
            let w = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
            let (magic, size0) = (w(0), w(8) as u64);
            if magic == SI_MAGIC && size0 > 0 && 32 + size0 <= file.file_len && size0 <= 64 << 20 {
                let mut text = vec![0u8; size0 as usize];
                if read_exact_at(handle, &mut text, 32).is_ok() {
                    found = true;
                    SiMeta::parse(&String::from_utf8_lossy(&text), &mut kv);
                }
            }
        }
    }
    if let Some(s) = &file.software {
        if s.trim_start().starts_with("SI.") {
            found = true;
            SiMeta::parse(s, &mut kv);
        }
    }
    if let Some(d) = &file.description {
        if d.contains("scanimage.SI") || d.lines().any(|l| l.trim_start().starts_with("SI.")) {
            found = true;
            SiMeta::parse(d, &mut kv);
        }
    }
    found.then_some(SiMeta { kv })
}

/// The other parts of a multi-file acquisition (`name_00001.tif`, `name_00002.tif`, …), in
/// order, including `path`; just `path` when its name has no such number.
fn parts(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), e.to_string()),
        None => (name.clone(), String::new()),
    };
    let Some((base, num)) = stem.rsplit_once('_') else { return vec![path.to_path_buf()] };
    if num.len() < 3 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return vec![path.to_path_buf()];
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![path.to_path_buf()] };
    let mut found: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let Some(rest) = n.strip_prefix(base).and_then(|r| r.strip_prefix('_')) else {
                return false;
            };
            let Some(digits) = rest.strip_suffix(&ext).and_then(|r| r.strip_suffix('.')) else {
                return false;
            };
            digits.len() == num.len() && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    found.sort_by(|a, b| natural_cmp(a, b));
    found.into_iter().map(|n| dir.join(n)).collect()
}

/// Opens a ScanImage acquisition from one of its files.
pub(crate) fn open(
    path: &Path,
    file: TiffFile,
    handle: File,
    meta: SiMeta,
    opts: &ReadOptions,
) -> Result<Layout> {
    let mut warnings = Vec::new();
    let page = file.pages[0].clone();
    // Every part of the acquisition, `path` indexed already.
    let mut files = Vec::new();
    let mut pending = Some((file, handle));
    for p in parts(path) {
        if p.file_name() == path.file_name() {
            let Some((f, h)) = pending.take() else {
                return Err(Error::format(path, "the file is listed twice among its parts"));
            };
            files.push(FileSlot::indexed(f, h));
        } else {
            let h = File::open(&p).map_err(|e| Error::io(&p, e))?;
            let f = TiffFile::index(&h, &p)?;
            files.push(FileSlot::indexed(f, h));
        }
    }
    if let Some((f, h)) = pending {
        files.insert(0, FileSlot::indexed(f, h));
    }
    let counts: Vec<usize> =
        files.iter().map(|f| f.index.as_ref().map_or(0, |i| i.pages.len())).collect();
    let total: usize = counts.iter().sum();
    // Global page number → (file, page).
    let locate = |mut g: usize| -> PlaneRef {
        for (i, &n) in counts.iter().enumerate() {
            if g < n {
                return PlaneRef { file: i as u32, page: g as u32 };
            }
            g -= n;
        }
        unreachable!("page numbers are checked against the total")
    };

    let c = match meta.numbers("SI.hChannels.channelSave").len() {
        0 => 1,
        n => n,
    };
    let fast_z = meta.flag("SI.hFastZ.enable")
        || (meta.flag("SI.hStackManager.enable")
            && meta.get("SI.hStackManager.stackMode").is_some_and(|m| m.contains("fast")));
    let slices = meta
        .num("SI.hStackManager.actualNumSlices")
        .or(meta.num("SI.hStackManager.numSlices"))
        .unwrap_or(1.0)
        .max(1.0) as usize;
    let frames_per_slice =
        meta.num("SI.hStackManager.framesPerSlice").unwrap_or(1.0).max(1.0) as usize;
    let flyback = if fast_z && meta.flag("SI.hFastZ.discardFlybackFrames") {
        meta.num("SI.hFastZ.numDiscardFlybackFrames").unwrap_or(0.0).max(0.0) as usize
    } else {
        0
    };
    let volumes = meta
        .num("SI.hFastZ.numVolumes")
        .or(meta.num("SI.hStackManager.actualNumVolumes"))
        .or(meta.num("SI.hStackManager.numVolumes"));

    let mut cal = Calibration::default();
    // Pixel size from the field of view's corners (µm) over the pixels per line/lines.
    let fov = meta.numbers("SI.hRoiManager.imagingFovUm");
    if fov.len() >= 4 && fov.len().is_multiple_of(2) {
        let xs: Vec<f64> = fov.iter().step_by(2).copied().collect();
        let ys: Vec<f64> = fov.iter().skip(1).step_by(2).copied().collect();
        let span = |v: &[f64]| {
            v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
        };
        let ppl = meta.num("SI.hRoiManager.pixelsPerLine").unwrap_or(page.width as f64);
        let lpf = meta.num("SI.hRoiManager.linesPerFrame").unwrap_or(page.height as f64);
        let (ex, ey) = (span(&xs), span(&ys));
        if ex > 0.0 && ey > 0.0 && ppl > 0.0 && lpf > 0.0 {
            cal.voxel_x_um = Some(Value::file(ex / ppl));
            cal.voxel_y_um = Some(Value::file(ey / lpf));
        }
    }

    let (shape_tcz, order, stride) = if let Some((t, c, z)) = opts.shape {
        super::check_shape_override((t, c, z), total, &path.display().to_string())?;
        let order = opts.page_order.unwrap_or_default();
        ((t, c, z), order, c * z)
    } else if fast_z {
        // Volumes of `slices` planes (plus saved flyback frames, skipped).
        let with_fb = c * (slices + flyback);
        let stride = if flyback > 0
            && total.is_multiple_of(with_fb)
            && volumes.is_none_or(|v| (total / with_fb) as f64 == v)
        {
            with_fb
        } else {
            c * slices
        };
        if let Some(r) = meta.num("SI.hRoiManager.scanVolumeRate").filter(|r| *r > 0.0) {
            cal.frame_interval_s = Some(Value::file(1.0 / r));
        }
        ((total / stride, c, slices), PageOrder::default(), stride)
    } else if slices > 1 {
        warnings.push(format!(
            "ScanImage slow z-stack: the {frames_per_slice} frames at each slice are read as timepoints"
        ));
        if let Some(p) = meta.num("SI.hRoiManager.scanFramePeriod").filter(|p| *p > 0.0) {
            cal.frame_interval_s = Some(Value::file(p));
        }
        let order = PageOrder::parse("ctz").expect("valid order");
        ((frames_per_slice, c, slices), order, c * frames_per_slice * slices)
    } else {
        if let Some(p) = meta.num("SI.hRoiManager.scanFramePeriod").filter(|p| *p > 0.0) {
            cal.frame_interval_s = Some(Value::file(p));
        }
        ((total / c, c, 1), PageOrder::default(), c)
    };
    let (t, c, z) = shape_tcz;
    if z > 1 {
        if let Some(s) = meta
            .num("SI.hStackManager.actualStackZStepSize")
            .or(meta.num("SI.hStackManager.stackZStepSize"))
            .filter(|s| *s != 0.0)
        {
            cal.voxel_z_um = Some(Value::file(s.abs()));
        }
    }
    let slow_stack = !fast_z && slices > 1 && opts.shape.is_none();
    let (t, planes) = if slow_stack {
        if total < stride {
            return Err(Error::metadata(
                path,
                format!(
                    "ScanImage metadata describe a stack of {stride} pages (channels {c} × frames {t} × slices {z}) but the file(s) hold {total}"
                ),
            ));
        }
        (
            t,
            super::sequential_planes(t, c, z, order, 0, 0)
                .into_iter()
                .map(|r| locate(r.page as usize))
                .collect(),
        )
    } else {
        if t == 0 {
            return Err(Error::metadata(
                path,
                format!("ScanImage metadata describe volumes of {stride} pages but the file(s) hold only {total}"),
            ));
        }
        let used = t * stride;
        if used < total && opts.shape.is_none() {
            warnings.push(format!(
                "the last {} pages do not make a complete timepoint and are not read",
                total - used
            ));
        }
        let mut planes = Vec::with_capacity(t * c * z);
        let one = Shape { t: 1, c, z, y: 1, x: 1 };
        for ti in 0..t {
            for ci in 0..c {
                for zi in 0..z {
                    let g = if opts.shape.is_some() {
                        order.page_index(&Shape { t, ..one }, ti, ci, zi)
                    } else {
                        ti * stride + order.page_index(&one, 0, ci, zi)
                    };
                    planes.push(locate(g));
                }
            }
        }
        (t, planes)
    };
    Ok(Layout {
        shape: Shape { t, c, z, y: page.height as usize, x: page.width as usize },
        page,
        calibration: cal,
        format: Format::ScanImage,
        order,
        files,
        planes,
        warnings,
    })
}
