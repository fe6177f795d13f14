//! OME-TIFF: the OME-XML of a file's first ImageDescription (or of a `.companion.ome` file).
//!
//! The first `Image` is read (others are reported in a warning). `Pixels` gives the sizes,
//! the `DimensionOrder` (letters after `XY`, fastest first), the sample type, physical sizes
//! with their units (default µm) and the time increment with its unit (default s). `TiffData`
//! elements map IFDs to planes: the plane index of (`FirstZ`, `FirstC`, `FirstT`) under the
//! dimension order is the start, and `PlaneCount` consecutive IFDs from `IFD` hold the
//! consecutive planes; a `UUID` child with a `FileName` puts them in another file of the
//! dataset (same folder). `Plane` elements' `DeltaT` give per-timepoint times when every
//! timepoint has one. Metadata that disagree with the pages — sizes, sample type, IFDs past the
//! end, planes no IFD holds, referenced files that are missing — are refused with
//! [`Error::Metadata`](crate::Error::Metadata) naming the file and the reason.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::imagej::{time_unit_to_s, unit_to_um};
use super::tiff::{Stored, TiffFile};
use super::xml::{self, Element};
use super::{FileSlot, Format, Layout, PageOrder, PlaneRef, ReadOptions, Shape};
use crate::calib::{Calibration, Value};
use crate::error::{Error, Result};

/// True when an ImageDescription holds OME-XML.
pub(crate) fn is_ome(desc: &str) -> bool {
    let d = desc.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    d.starts_with('<') && (d.contains("<OME") || d.contains(":OME "))
}

/// True for an OME companion metadata file (`*.companion.ome`).
pub(crate) fn is_companion(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase().ends_with(".companion.ome"))
        .unwrap_or(false)
}

/// The file a `TiffData` element points to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    /// The file being opened.
    This,
    /// Another file of the dataset, by name (relative to the folder).
    Named(String),
}

fn parse_xml(path: &Path, text: &str) -> Result<Element> {
    let root = xml::parse(text.trim_end_matches('\0'))
        .map_err(|e| Error::metadata(path, format!("OME-XML: {e}")))?;
    if root.name != "OME" {
        return Err(Error::metadata(path, format!("OME-XML root is <{}>, not <OME>", root.name)));
    }
    Ok(root)
}

/// Opens a single OME-TIFF (and the other files of its dataset).
pub(crate) fn open(
    path: &Path,
    file: TiffFile,
    handle: File,
    opts: &ReadOptions,
) -> Result<Layout> {
    let desc = file.description.clone().unwrap_or_default();
    let mut root = parse_xml(path, &desc)?;
    let own_uuid = root.attr("UUID").map(str::to_string);
    // Metadata kept in a companion file.
    if let Some(bin) = root.child("BinaryOnly") {
        let name = bin
            .attr("MetadataFile")
            .ok_or_else(|| Error::metadata(path, "OME BinaryOnly element without MetadataFile"))?;
        let companion = sibling(path, name)?;
        let text = read_metadata_file(&companion).map_err(|e| {
            Error::metadata(
                path,
                format!("OME metadata are in `{}`, which cannot be read: {e}", companion.display()),
            )
        })?;
        root = parse_xml(&companion, &text)?;
    }
    let this_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    build(path, &root, Some((file, handle, own_uuid, this_name)), opts)
}

/// Opens the dataset a `.companion.ome` file describes.
pub(crate) fn open_companion(path: &Path, opts: &ReadOptions) -> Result<Layout> {
    let text = read_metadata_file(path).map_err(|e| Error::io(path, e))?;
    let root = parse_xml(path, &text)?;
    build(path, &root, None, opts)
}

/// Largest OME-XML metadata file read (bytes).
const MAX_METADATA_BYTES: u64 = 256 << 20;

/// Reads a metadata file, refusing what is not a regular file (a device or a pipe named by a
/// hostile file would never end) or is larger than any OME-XML.
fn read_metadata_file(p: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() || meta.len() > MAX_METADATA_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a regular file of at most {MAX_METADATA_BYTES} bytes"),
        ));
    }
    std::fs::read_to_string(p)
}

/// The path of a file of the dataset, named relative to the folder of `path`; absolute names
/// and names leaving the folder (`..`) are refused.
fn sibling(path: &Path, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    let inside = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if name.is_empty() || !inside {
        return Err(Error::metadata(
            path,
            format!("OME file name `{name}` is not a file of the dataset's folder"),
        ));
    }
    Ok(path.parent().unwrap_or(Path::new(".")).join(name))
}

fn attr_usize(path: &Path, el: &Element, key: &str) -> Result<Option<usize>> {
    el.attr(key)
        .map(|v| {
            v.trim().parse::<usize>().map_err(|_| {
                Error::metadata(
                    path,
                    format!("OME {} {key}=\"{v}\" is not a non-negative integer", el.name),
                )
            })
        })
        .transpose()
}

fn attr_f64(el: &Element, key: &str) -> Option<f64> {
    el.attr(key)?.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn build(
    path: &Path,
    root: &Element,
    this: Option<(TiffFile, File, Option<String>, String)>,
    opts: &ReadOptions,
) -> Result<Layout> {
    let mut warnings = Vec::new();
    let images: Vec<&Element> = root.children("Image").collect();
    let image = *images.first().ok_or_else(|| Error::metadata(path, "OME-XML has no Image"))?;
    if images.len() > 1 {
        warnings.push(format!(
            "the OME metadata describe {} images (series); reading the first",
            images.len()
        ));
    }
    let px = image
        .child("Pixels")
        .ok_or_else(|| Error::metadata(path, "OME Image has no Pixels element"))?;
    let size = |key: &str| -> Result<usize> {
        match attr_usize(path, px, key)? {
            Some(v) if v >= 1 => Ok(v),
            Some(v) => Err(Error::metadata(path, format!("OME Pixels {key}={v}: must be ≥ 1"))),
            None => Err(Error::metadata(path, format!("OME Pixels has no {key}"))),
        }
    };
    let (sx, sy, sz, sc, st) =
        (size("SizeX")?, size("SizeY")?, size("SizeZ")?, size("SizeC")?, size("SizeT")?);
    let dim = px.attr("DimensionOrder").unwrap_or("XYZCT");
    let mut order = PageOrder::from_ome(dim).map_err(|_| {
        Error::metadata(
            path,
            format!(
                "OME DimensionOrder `{dim}` is not one of XYZCT, XYZTC, XYCZT, XYCTZ, XYTCZ, XYTZC"
            ),
        )
    })?;
    if let Some(o) = opts.page_order {
        order = o;
    }
    let ome_type = px.attr("Type").or(px.attr("PixelType")).unwrap_or("");
    let stored = match ome_type.to_ascii_lowercase().as_str() {
        "uint8" => Stored::U8,
        "uint16" => Stored::U16,
        "int16" => Stored::I16,
        "float" | "float32" => Stored::F32,
        other => {
            return Err(Error::unsupported(
                path,
                None,
                format!(
                    "OME pixel Type `{other}` is not supported: uint8, uint16, int16 and float are"
                ),
            ))
        }
    };
    // Each plane needs its own page: the sizes are checked against the pages before the
    // plane table is allocated.
    let n = sz
        .checked_mul(sc)
        .and_then(|v| v.checked_mul(st))
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| {
            Error::metadata(path, format!("OME sizes Z={sz} C={sc} T={st} are not plausible"))
        })?;
    let shape = Shape { t: st, c: sc, z: sz, y: sy, x: sx };

    // TiffData elements: (target, IFD, start plane, count).
    struct Td {
        target: Target,
        ifd: usize,
        start: usize,
        count: Option<usize>,
    }
    let (this_uuid, this_name) = match &this {
        Some((_, _, u, name)) => (u.clone(), Some(name.clone())),
        None => (None, None),
    };
    let mut tds = Vec::new();
    for td in px.children("TiffData") {
        let ifd = attr_usize(path, td, "IFD")?;
        let (fz, fc, ft) = (
            attr_usize(path, td, "FirstZ")?.unwrap_or(0),
            attr_usize(path, td, "FirstC")?.unwrap_or(0),
            attr_usize(path, td, "FirstT")?.unwrap_or(0),
        );
        if fz >= sz || fc >= sc || ft >= st {
            return Err(Error::metadata(
                path,
                format!("OME TiffData FirstZ={fz} FirstC={fc} FirstT={ft} is outside Z={sz} C={sc} T={st}"),
            ));
        }
        let count = match attr_usize(path, td, "PlaneCount")? {
            Some(c) => Some(c),
            None => attr_usize(path, td, "NumPlanes")?,
        };
        let count = match (count, ifd) {
            (Some(c), _) => Some(c),
            (None, Some(_)) => Some(1),
            (None, None) => None, // every IFD of the file
        };
        let target = match td.child("UUID") {
            None => Target::This,
            Some(u) => {
                let uuid = u.text.trim();
                let name = u.attr("FileName");
                if this_uuid.as_deref() == Some(uuid)
                    || (name.is_some() && name == this_name.as_deref())
                {
                    Target::This
                } else if let Some(name) = name {
                    Target::Named(name.to_string())
                } else {
                    return Err(Error::metadata(
                        path,
                        format!(
                            "OME TiffData refers to file {uuid} without a FileName: cannot find it"
                        ),
                    ));
                }
            }
        };
        let start = order.page_index(&shape, ft, fc, fz);
        tds.push(Td { target, ifd: ifd.unwrap_or(0), start, count });
    }

    // The files of the dataset: this one first, then others in order of appearance.
    let mut files: Vec<FileSlot> = Vec::new();
    let mut index_of: HashMap<Target, u32> = HashMap::new();
    let first_page;
    match this {
        Some((file, handle, _, _)) => {
            first_page = file.pages[0].clone();
            files.push(FileSlot::indexed(file, handle));
            index_of.insert(Target::This, 0);
        }
        None => {
            // A companion file: the first TiffData names the first file.
            let name = match tds.first().map(|t| &t.target) {
                Some(Target::Named(n)) => n.clone(),
                _ => {
                    return Err(Error::metadata(
                        path,
                        "OME companion file without TiffData naming the TIFF files",
                    ))
                }
            };
            let p = sibling(path, &name)?;
            let (file, handle) = open_member(path, &p)?;
            first_page = file.pages[0].clone();
            files.push(FileSlot::indexed(file, handle));
            index_of.insert(Target::Named(name), 0);
        }
    }
    if first_page.stored != stored {
        return Err(Error::metadata(
            path,
            format!(
                "OME metadata say Type={ome_type} but the pages hold {}",
                first_page.stored.name()
            ),
        ));
    }
    if (first_page.width as usize, first_page.height as usize) != (sx, sy) {
        return Err(Error::metadata(
            path,
            format!(
                "OME metadata say SizeX={sx} SizeY={sy} but the pages are {}×{}",
                first_page.width, first_page.height
            ),
        ));
    }
    for td in &tds {
        if !index_of.contains_key(&td.target) {
            let Target::Named(name) = &td.target else { unreachable!("this file is indexed") };
            let p = sibling(path, name)?;
            if !p.exists() {
                return Err(Error::metadata(
                    path,
                    format!(
                        "multi-file OME-TIFF: `{}` (holding planes of this dataset) is missing",
                        p.display()
                    ),
                ));
            }
            let (file, handle) = open_member(path, &p)?;
            index_of.insert(td.target.clone(), files.len() as u32);
            files.push(FileSlot::indexed(file, handle));
        }
    }
    let total_pages: usize =
        files.iter().map(|f| f.index.as_ref().map_or(0, |i| i.pages.len())).sum();
    if n > total_pages {
        return Err(Error::metadata(
            path,
            format!(
                "OME metadata declare {n} planes (Z={sz} × C={sc} × T={st}) but the file(s) hold only {total_pages} pages"
            ),
        ));
    }

    if let Some(s) = opts.shape {
        if files.len() > 1 {
            return Err(Error::param(
                "shape",
                "a multi-file OME-TIFF gives its own shape; --shape is not used",
            ));
        }
        let pages = files[0].index.as_ref().map_or(0, |i| i.pages.len());
        super::check_shape_override(s, pages, &path.display().to_string())?;
        let (t, c, z) = s;
        let mut cal = calibration(px, st, &mut warnings);
        cal.frame_times_s = None;
        return Ok(Layout {
            shape: Shape { t, c, z, ..shape },
            page: first_page,
            calibration: cal,
            format: Format::Ome,
            order,
            planes: super::sequential_planes(t, c, z, order, 0, 0),
            files,
            warnings,
        });
    }

    // The plane table, (t·C + c)·Z + z → page.
    const UNSET: PlaneRef = PlaneRef { file: u32::MAX, page: u32::MAX };
    let mut planes = vec![UNSET; n];
    let unravel = |l: usize| -> (usize, usize, usize) {
        let (mut rem, mut idx) = (l, [0usize; 3]);
        for (k, ax) in order.0.iter().enumerate() {
            let size = match ax {
                super::PageAxis::T => st,
                super::PageAxis::C => sc,
                super::PageAxis::Z => sz,
            };
            idx[k] = rem % size;
            rem /= size;
        }
        let get = |a: super::PageAxis| idx[order.0.iter().position(|x| *x == a).expect("axis")];
        (get(super::PageAxis::T), get(super::PageAxis::C), get(super::PageAxis::Z))
    };
    if tds.is_empty() {
        // No TiffData: the pages of the file in dimension order.
        for (l, slot) in (0..n).zip(0u32..) {
            let (t, c, z) = unravel(l);
            planes[(t * sc + c) * sz + z] = PlaneRef { file: 0, page: slot };
        }
    }
    for td in &tds {
        let fi = index_of[&td.target];
        let pages = files[fi as usize].index.as_ref().map_or(0, |i| i.pages.len());
        let count = td.count.unwrap_or(pages.saturating_sub(td.ifd));
        let fname = files[fi as usize].path.clone();
        if td.ifd >= pages || td.ifd.saturating_add(count.min(n - td.start)) > pages {
            return Err(Error::metadata(
                path,
                format!(
                    "OME TiffData IFD={} PlaneCount={count} goes past the {pages} pages of {}",
                    td.ifd,
                    fname.display()
                ),
            ));
        }
        // Planes past Z·C·T are ignored, as tifffile does.
        for k in 0..count.min(n - td.start) {
            let (t, c, z) = unravel(td.start + k);
            planes[(t * sc + c) * sz + z] = PlaneRef { file: fi, page: (td.ifd + k) as u32 };
        }
    }
    if let Some(i) = planes.iter().position(|p| *p == UNSET) {
        let missing = planes.iter().filter(|p| **p == UNSET).count();
        let (t, c, z) = (i / (sc * sz), (i / sz) % sc, i % sz);
        return Err(Error::metadata(
            path,
            format!(
                "OME TiffData assign no page to {missing} of the {n} planes (first: t={t}, c={c}, z={z})"
            ),
        ));
    }
    let calibration = calibration(px, st, &mut warnings);
    Ok(Layout {
        shape,
        page: first_page,
        calibration,
        format: Format::Ome,
        order,
        files,
        planes,
        warnings,
    })
}

fn open_member(dataset: &Path, p: &Path) -> Result<(TiffFile, File)> {
    if !p.is_file() {
        return Err(Error::metadata(
            dataset,
            format!("multi-file OME-TIFF: `{}` is not a regular file", p.display()),
        ));
    }
    let handle = File::open(p).map_err(|e| {
        Error::metadata(
            dataset,
            format!("multi-file OME-TIFF: `{}` cannot be opened: {e}", p.display()),
        )
    })?;
    let file = TiffFile::index(&handle, p)?;
    Ok((file, handle))
}

/// Physical sizes, time increment and per-timepoint DeltaT.
fn calibration(px: &Element, size_t: usize, warnings: &mut Vec<String>) -> Calibration {
    let mut cal = Calibration::default();
    let mut length = |axis: &str| -> Option<Value> {
        let v = attr_f64(px, &format!("PhysicalSize{axis}"))?;
        let unit = px.attr(&format!("PhysicalSize{axis}Unit")).unwrap_or("µm");
        match unit_to_um(unit) {
            Some(s) if v > 0.0 => Some(Value::file(v * s)),
            _ => {
                warnings.push(format!(
                    "OME PhysicalSize{axis}={v} {unit} is not a length this reader converts to µm"
                ));
                None
            }
        }
    };
    cal.voxel_x_um = length("X");
    cal.voxel_y_um = length("Y");
    cal.voxel_z_um = length("Z");
    if let Some(v) = attr_f64(px, "TimeIncrement") {
        let unit = px.attr("TimeIncrementUnit").unwrap_or("s");
        match time_unit_to_s(unit) {
            Some(s) if v > 0.0 => cal.frame_interval_s = Some(Value::file(v * s)),
            _ => warnings.push(format!("OME TimeIncrement={v} {unit} is not a usable time")),
        }
    }
    // DeltaT of the first plane seen for each T, used only if every T has one.
    let mut times: Vec<Option<f64>> = vec![None; size_t];
    for plane in px.children("Plane") {
        let Some(t) = plane.attr("TheT").and_then(|v| v.trim().parse::<usize>().ok()) else {
            continue;
        };
        let Some(dt) = attr_f64(plane, "DeltaT") else { continue };
        let unit = plane.attr("DeltaTUnit").unwrap_or("s");
        let Some(scale) = time_unit_to_s(unit) else { continue };
        if t < size_t && times[t].is_none() {
            times[t] = Some(dt * scale);
        }
    }
    if times.iter().all(Option::is_some) && size_t > 0 && px.children("Plane").next().is_some() {
        let times: Vec<f64> = times.into_iter().flatten().collect();
        if cal.frame_interval_s.is_none() && size_t > 1 {
            let span = times[size_t - 1] - times[0];
            if span > 0.0 {
                cal.frame_interval_s = Some(Value::file(span / (size_t - 1) as f64));
            }
        }
        cal.frame_times_s = Some(times);
    }
    cal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_ome_descriptions() {
        assert!(is_ome("<?xml version=\"1.0\"?><OME xmlns=\"x\"></OME>\0\0"));
        assert!(is_ome("<OME/>"));
        assert!(!is_ome("ImageJ=1.54f\nimages=3"));
        assert!(is_companion(Path::new("a/b.companion.ome")));
        assert!(!is_companion(Path::new("a/b.ome.tif")));
    }

    #[test]
    fn dimension_orders_map_fastest_first() {
        assert_eq!(PageOrder::from_ome("XYZCT").unwrap().to_string(), "zct");
        assert_eq!(PageOrder::from_ome("XYTCZ").unwrap().to_string(), "tcz");
        assert!(PageOrder::from_ome("XYZZT").is_err());
        assert!(PageOrder::from_ome("ZCT").is_err());
    }
}
