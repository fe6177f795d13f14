//! Bruker Prairie View acquisitions: a folder of single-plane TIFFs and an XML file (root
//! `PVScan`) that lists them.
//!
//! Files and their (t, c, z) come from the XML's `Sequence`/`Frame`/`File` elements, never from
//! file-name patterns. A sequence whose type names a Z series (`TSeries ZSeries Element`,
//! `ZSeries`) is one timepoint whose frames are the planes; otherwise (`TSeries Timed
//! Element`, `Single`…) each frame is a timepoint of one plane. Channels are the distinct
//! `File@channel` numbers. Pixel size comes from `micronsPerPixel` (X/Y), the z step from the
//! frames' `positionCurrent` Z positions, and per-timepoint times from `relativeTime` (falling
//! back to `absoluteTime` if relative times restart per sequence). The TIFFs are indexed when
//! read, so opening an acquisition of many thousand files only checks that each exists.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::tiff::TiffFile;
use super::xml::{self, Element};
use super::{FileSlot, Format, Layout, PageOrder, PlaneRef, ReadOptions, Shape};
use crate::calib::{Calibration, Value};
use crate::error::{Error, Result};

/// True when `path` is an XML file whose root is `PVScan`.
pub(crate) fn is_prairie_xml(path: &Path) -> bool {
    let is_xml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    is_xml && path.is_file() && head_has_pvscan(path)
}

fn head_has_pvscan(path: &Path) -> bool {
    let mut buf = vec![0u8; 4096];
    let n = File::open(path).and_then(|mut f| f.read(&mut buf)).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).contains("<PVScan")
}

/// The Prairie View XML of a folder, if it is an acquisition folder: `<folder name>.xml`
/// first, else any XML whose root is `PVScan`.
pub(crate) fn find_xml(dir: &Path) -> Result<Option<PathBuf>> {
    if let Some(name) = dir.file_name() {
        let own = dir.join(format!("{}.xml", name.to_string_lossy()));
        if own.is_file() && head_has_pvscan(&own) {
            return Ok(Some(own));
        }
    }
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut xmls: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    xmls.sort();
    Ok(xmls.into_iter().find(|p| head_has_pvscan(p)))
}

/// The `PVStateValue key=…` of a shard: plain value or indexed values.
fn state_value<'a>(shard: &'a Element, key: &str) -> Option<&'a Element> {
    shard.children("PVStateValue").find(|v| v.attr("key") == Some(key))
}

fn indexed(v: &Element, index: &str) -> Option<f64> {
    v.children("IndexedValue")
        .find(|i| i.attr("index") == Some(index))
        .and_then(|i| i.attr("value"))
        .and_then(|s| s.trim().parse().ok())
}

/// The Z position of a frame (first `positionCurrent` ZAxis sub-value), µm.
fn frame_z(frame: &Element) -> Option<f64> {
    let shard = frame.child("PVStateShard")?;
    let pos = state_value(shard, "positionCurrent")?;
    let z = pos.children("SubindexedValues").find(|s| s.attr("index") == Some("ZAxis"))?;
    z.child("SubindexedValue")?.attr("value")?.trim().parse().ok()
}

fn time_of(frame: &Element, key: &str) -> Option<f64> {
    frame.attr(key)?.trim().parse().ok().filter(|v: &f64| v.is_finite())
}

/// Opens the acquisition described by the Prairie View XML at `xml_path`.
pub(crate) fn open(xml_path: &Path, _opts: &ReadOptions) -> Result<Layout> {
    let text = std::fs::read_to_string(xml_path).map_err(|e| Error::io(xml_path, e))?;
    let root = xml::parse(&text).map_err(|e| Error::metadata(xml_path, e))?;
    if root.name != "PVScan" {
        return Err(Error::metadata(
            xml_path,
            format!("root element is <{}>, not <PVScan>", root.name),
        ));
    }
    let dir = xml_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut warnings = Vec::new();
    let sequences: Vec<&Element> = root.children("Sequence").collect();
    if sequences.is_empty() {
        return Err(Error::metadata(xml_path, "the XML lists no Sequence"));
    }
    let kind = sequences[0].attr("type").unwrap_or("").to_string();
    if kind.to_ascii_lowercase().contains("linescan") || kind.to_ascii_lowercase().contains("point")
    {
        return Err(Error::metadata(
            xml_path,
            format!("sequence type `{kind}` holds no images to track"),
        ));
    }
    let z_series = kind.contains("ZSeries");
    // Channels: every File@channel number.
    let mut channels = BTreeSet::new();
    for s in &sequences {
        for f in s.children("Frame") {
            for file in f.children("File") {
                let ch = file
                    .attr("channel")
                    .and_then(|c| c.trim().parse::<i64>().ok())
                    .ok_or_else(|| {
                        Error::metadata(xml_path, "a File element has no numeric channel attribute")
                    })?;
                channels.insert(ch);
            }
        }
    }
    let channels: Vec<i64> = channels.into_iter().collect();
    if channels.is_empty() {
        return Err(Error::metadata(xml_path, "the XML lists no image files"));
    }
    // Timepoints: lists of frames (the planes of one timepoint).
    let mut timepoints: Vec<Vec<&Element>> = if z_series {
        sequences.iter().map(|s| s.children("Frame").collect()).collect()
    } else {
        sequences.iter().flat_map(|s| s.children("Frame")).map(|f| vec![f]).collect()
    };
    let z = timepoints[0].len();
    if z == 0 {
        return Err(Error::metadata(xml_path, "the first sequence has no frames"));
    }
    if let Some(last) = timepoints.last() {
        if timepoints.len() > 1 && last.len() < z {
            warnings.push(format!(
                "the last sequence has {} of {z} planes (acquisition stopped?) and is not read",
                last.len()
            ));
            timepoints.pop();
        }
    }
    if let Some((i, tp)) = timepoints.iter().enumerate().find(|(_, tp)| tp.len() != z) {
        return Err(Error::metadata(
            xml_path,
            format!("sequence {i} has {} frames where the first has {z}", tp.len()),
        ));
    }
    let (t, c) = (timepoints.len(), channels.len());

    // The plane table: one lazily indexed file per plane.
    let mut files = Vec::with_capacity(t * c * z);
    let mut planes = Vec::with_capacity(t * c * z);
    for (ti, tp) in timepoints.iter().enumerate() {
        for &ch in &channels {
            for (zi, frame) in tp.iter().enumerate() {
                let file = frame
                    .children("File")
                    .find(|f| {
                        f.attr("channel").and_then(|c| c.trim().parse::<i64>().ok()) == Some(ch)
                    })
                    .and_then(|f| f.attr("filename"))
                    .ok_or_else(|| {
                        Error::metadata(
                            xml_path,
                            format!("timepoint {ti}, plane {zi} has no file for channel {ch}"),
                        )
                    })?;
                let p = dir.join(file);
                if !p.is_file() {
                    return Err(Error::metadata(
                        xml_path,
                        format!("the XML lists `{}`, which is missing", p.display()),
                    ));
                }
                planes.push(PlaneRef { file: files.len() as u32, page: 0 });
                files.push(FileSlot::lazy(p));
            }
        }
    }
    // The first plane's file fixes size and pixel type; the others are checked when read.
    let first = File::open(&files[0].path).map_err(|e| Error::io(&files[0].path, e))?;
    let index = TiffFile::index(&first, &files[0].path)?;
    let page = index.pages[0].clone();
    files[0].index = Some(index);
    files[0].handle = Some(first);

    let mut cal = Calibration::default();
    if let Some(shard) = root.child("PVStateShard") {
        if let Some(mpp) = state_value(shard, "micronsPerPixel") {
            let pos = |v: Option<f64>| v.filter(|v| *v > 0.0 && v.is_finite()).map(Value::file);
            cal.voxel_x_um = pos(indexed(mpp, "XAxis"));
            cal.voxel_y_um = pos(indexed(mpp, "YAxis"));
        }
        if !z_series {
            cal.frame_interval_s = state_value(shard, "framePeriod")
                .and_then(|v| v.attr("value"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .map(Value::file);
        }
    }
    if z > 1 {
        match (frame_z(timepoints[0][0]), frame_z(timepoints[0][z - 1])) {
            (Some(a), Some(b)) if a != b => {
                cal.voxel_z_um = Some(Value::file((b - a).abs() / (z - 1) as f64));
            }
            _ => warnings
                .push("no frame Z positions (positionCurrent) in the XML: z step unknown".into()),
        }
    }
    // Per-timepoint times: relative times, or absolute ones when relative restart per sequence.
    let increasing = |v: &[f64]| v.windows(2).all(|w| w[1] > w[0]);
    let times = ["relativeTime", "absoluteTime"].iter().find_map(|key| {
        let v: Option<Vec<f64>> = timepoints.iter().map(|tp| time_of(tp[0], key)).collect();
        v.filter(|v| increasing(v))
    });
    if let Some(times) = times {
        if t > 1 {
            let interval = (times[t - 1] - times[0]) / (t - 1) as f64;
            cal.frame_interval_s = Some(Value::file(interval));
        }
        cal.frame_times_s = Some(times);
    }
    Ok(Layout {
        shape: Shape { t, c, z, y: page.height as usize, x: page.width as usize },
        page,
        calibration: cal,
        format: Format::PrairieView,
        order: PageOrder::default(),
        files,
        planes,
        warnings,
    })
}
