//! Importing tracks made by other tools, so curated tracks can be analysed like this crate's
//! own: TrackMate XML ([`read_trackmate`], e.g. a `tracks.xml` saved by Fiji) and Imaris
//! "Position" CSV exports ([`read_imaris`]).
//!
//! Both give a [`Tracks`] table in the crate's units — positions in µm, times in s, frames
//! 0-based — with an extra `spot_id` column holding the tool's own spot id. **Spots that belong
//! to no track are left out**: only tracks (two or more linked points) are imported, as
//! TrackMate's and Imaris' own track exports do. (So a file written by
//! [`crate::export::trackmate::write`] reads back as the tracks it was written from without
//! their one-point tracks.)
//!
//! ## TrackMate
//!
//! - Only the tracks TrackMate shows are read: those listed in `FilteredTracks` (all tracks
//!   when the file has no such element).
//! - `frame` is the spot's `SpotsInFrame` frame; `t_s` is `POSITION_T` converted from the file's
//!   time unit (`sec`/`s`, `ms`, `min`, `h`); `x_um, y_um, z_um` are `POSITION_X/Y/Z` converted
//!   from its space unit (`µm`/`um`/`micron`, `nm`, `mm`). Other units are refused with an
//!   error naming them. Files in pixels (`spatialunits="pixel"`, TrackMate's choice for an
//!   uncalibrated image) or frames need the voxel size or the frame interval:
//!   [`read_trackmate_with`]. A given voxel size recalibrates any file (positions are divided
//!   by `ImageData`'s pixel size and multiplied by the given one), and a given frame interval
//!   sets `t_s = frame × interval` — the caller's values win over the file's.
//! - The tracks are 3D when `ImageData` has more than one slice (without `ImageData`, when a
//!   spot has a non-zero `POSITION_Z`); 2D tracks have no `z_um`.
//! - `track_id` is TrackMate's `TRACK_ID`. A track that splits or merges (or whose links do not
//!   form one chain) is cut at every spot where it splits or merges into branches — chains
//!   of links — and each branch becomes a track `<TRACK_ID>_<k>` (k = 1, 2, … by first frame);
//!   the split or merge spot ends one branch and starts the next, so every TrackMate link is a
//!   step of exactly one imported track. Ids are then text for the whole table (an unbranched
//!   track keeps `<TRACK_ID>`); without branches they are integers.
//! - Extra columns: `spot_id`, `quality` (`QUALITY`, NaN when absent), `radius_um` (`RADIUS` in
//!   µm, NaN when absent).
//!
//! ## Imaris
//!
//! A "Position" statistics export: a few header lines (the statistic's name, a `====` line),
//! then a table with the columns `Position X, Position Y[, Position Z], Unit, Category,
//! Collection, Time, TrackID, ID` (in any order; comma, semicolon or tab separated). `Time` is
//! the 1-based timepoint index: `frame = Time − 1` and `t_s = frame × frame interval`, so the
//! interval must be given. `Unit` (`um`, `µm`, `nm`, `mm`) converts each row to µm; a file
//! without a `Unit` column is taken to be in µm, Imaris' unit. Rows without a `TrackID` are
//! spots in no track and left out. Ids are integers when all are (Imaris' `1000000000`, …),
//! else text. A `Position Z` column makes the tracks 3D. `spot_id` is the `ID` column.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::BufReader;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use crate::calib::VoxelSize;
use crate::error::{Error, Result};
use crate::table::{Column, TrackIds, Tracks};

/// The caller's calibration for a TrackMate file, winning over the file's own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrackMateOptions {
    /// Voxel size in µm: positions are divided by `ImageData`'s pixel width, height and voxel
    /// depth and multiplied by these. Needed for files in pixels.
    pub voxel_size: Option<VoxelSize>,
    /// Frame interval in s: `t_s = frame × interval`. Needed for files whose time unit is
    /// frames.
    pub frame_interval_s: Option<f64>,
}

/// Reads tracks from `path` in `format` — `csv` (a tracks CSV), `trackmate` (TrackMate XML,
/// e.g. Fiji's `tracks.xml`) or `imaris` (an Imaris Position CSV export); `None`: `trackmate`
/// for a `.xml` file, else `csv`. `options` give the frame interval (required for Imaris) and,
/// for TrackMate files in pixels only, the voxel size.
pub fn read_tracks(
    path: impl AsRef<Path>,
    format: Option<&str>,
    options: &TrackMateOptions,
) -> Result<Tracks> {
    let path = path.as_ref();
    let format = match format {
        Some(f) => f,
        None if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) => "trackmate",
        None => "csv",
    };
    if options.voxel_size.is_some() && format != "trackmate" {
        return Err(Error::param(
            "read.voxel_size_um",
            "only used for TrackMate files (--format trackmate)",
        ));
    }
    match format {
        "trackmate" => read_trackmate_with(path, options),
        "imaris" => read_imaris(path, options.frame_interval_s),
        "csv" => Tracks::read_csv(path, options.frame_interval_s),
        other => Err(Error::param("format", format!("`{other}`: give csv, trackmate or imaris"))),
    }
}

/// Reads the tracks of a TrackMate XML file (see the [module docs](self)) with the file's own
/// units.
pub fn read_trackmate(path: impl AsRef<Path>) -> Result<Tracks> {
    read_trackmate_with(path, &TrackMateOptions::default())
}

/// Reads the tracks of a TrackMate XML file, with the caller's voxel size and frame interval
/// winning over the file's calibration (see the [module docs](self)).
pub fn read_trackmate_with(path: impl AsRef<Path>, options: &TrackMateOptions) -> Result<Tracks> {
    let path = path.as_ref();
    if let Some(dt) = options.frame_interval_s {
        check_interval(dt)?;
    }
    let raw = RawTrackMate::parse(path)?;
    raw.into_tracks(path, options)
}

fn check_interval(dt: f64) -> Result<()> {
    crate::calib::frame_interval(dt).map(|_| ())
}

/// One spot as stored: position in the file's units.
#[derive(Debug, Clone, Copy)]
struct RawSpot {
    frame: u32,
    x: f64,
    y: f64,
    z: f64,
    t: f64,
    quality: f64,
    radius: f64,
}

#[derive(Debug, Default)]
struct ImageData {
    nslices: Option<u64>,
    pixel: [Option<f64>; 3],
}

#[derive(Debug, Default)]
struct RawTrackMate {
    spatial_units: Option<String>,
    time_units: Option<String>,
    spots: HashMap<i64, RawSpot>,
    /// (TRACK_ID, edges (source, target) as written), in file order.
    tracks: Vec<(i64, Vec<(i64, i64)>)>,
    filtered: Option<HashSet<i64>>,
    image: Option<ImageData>,
}

/// The attributes of `e` named in `keep` (others are skipped unread), values unescaped.
fn attrs<'e>(
    e: &'e BytesStart<'_>,
    path: &Path,
    keep: &[&'static str],
) -> Result<Vec<(&'static str, Cow<'e, str>)>> {
    let mut out = Vec::with_capacity(keep.len());
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| Error::format(path, format!("bad XML attribute: {err}")))?;
        let key = a.key.local_name();
        let Some(&name) = keep.iter().find(|k| **k == key.as_ref()) else { continue };
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| Error::format(path, format!("bad XML attribute `{name}`: {err}")))?;
        out.push((name, value));
    }
    Ok(out)
}

fn find<'a>(attrs: &'a [(&str, Cow<str>)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim())
}

impl RawTrackMate {
    fn parse(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(1 << 16, file));
        reader.config_mut().trim_text(true);
        let mut buf = Vec::new();
        let mut raw = RawTrackMate::default();
        let mut root: Option<String> = None;
        let mut frame_of_block: Option<u32> = None;
        let mut in_track = false;
        let mut in_filtered = false;
        let mut in_model = false;
        let mut seen_model = false;
        loop {
            let ev = reader.read_event_into(&mut buf).map_err(|e| {
                Error::format(
                    path,
                    format!("malformed XML at byte {}: {e}", reader.buffer_position()),
                )
            })?;
            let (e, is_start) = match &ev {
                Event::Start(e) => (e, true),
                Event::Empty(e) => (e, false),
                Event::End(e) => {
                    match e.local_name().as_ref() {
                        "SpotsInFrame" => frame_of_block = None,
                        "Track" => in_track = false,
                        "FilteredTracks" => in_filtered = false,
                        "Model" => in_model = false,
                        _ => {}
                    }
                    buf.clear();
                    continue;
                }
                Event::Eof => break,
                _ => {
                    buf.clear();
                    continue;
                }
            };
            let name = e.local_name();
            let name = name.as_ref();
            if root.is_none() {
                let n = name.to_string();
                if n != "TrackMate" {
                    return Err(Error::format(
                        path,
                        format!("not a TrackMate file: the root element is <{n}>, not <TrackMate>"),
                    ));
                }
                root = Some(n);
                buf.clear();
                continue;
            }
            match name {
                "Model" => {
                    let a = attrs(e, path, &["spatialunits", "timeunits"])?;
                    raw.spatial_units = find(&a, "spatialunits").map(str::to_string);
                    raw.time_units = find(&a, "timeunits").map(str::to_string);
                    in_model = is_start;
                    seen_model = true;
                }
                "SpotsInFrame" if in_model => {
                    let a = attrs(e, path, &["frame"])?;
                    let f = find(&a, "frame").ok_or_else(|| {
                        Error::format(path, "<SpotsInFrame> without a `frame` attribute")
                    })?;
                    let f = parse_frame(f).ok_or_else(|| {
                        Error::format(path, format!("<SpotsInFrame frame=\"{f}\">: not a frame"))
                    })?;
                    frame_of_block = is_start.then_some(f);
                }
                "Spot" if in_model => {
                    let a = attrs(e, path, SPOT_KEYS)?;
                    let (id, spot) = parse_spot(&a, frame_of_block, path)?;
                    if raw.spots.insert(id, spot).is_some() {
                        return Err(Error::format(path, format!("two spots have the ID {id}")));
                    }
                }
                "Track" if in_model => {
                    let a = attrs(e, path, &["TRACK_ID"])?;
                    let id = find(&a, "TRACK_ID").and_then(|v| v.parse::<i64>().ok()).ok_or_else(
                        || Error::format(path, "a <Track> without an integer TRACK_ID"),
                    )?;
                    raw.tracks.push((id, Vec::new()));
                    in_track = is_start;
                }
                "Edge" if in_track => {
                    let a = attrs(e, path, &["SPOT_SOURCE_ID", "SPOT_TARGET_ID"])?;
                    let get = |key: &str| {
                        find(&a, key).and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| {
                            Error::format(path, format!("an <Edge> without an integer {key}"))
                        })
                    };
                    let edge = (get("SPOT_SOURCE_ID")?, get("SPOT_TARGET_ID")?);
                    // `in_track` is set only after a <Track> was pushed.
                    if let Some(track) = raw.tracks.last_mut() {
                        track.1.push(edge);
                    }
                }
                "FilteredTracks" if in_model => {
                    raw.filtered = Some(HashSet::new());
                    in_filtered = is_start;
                }
                "TrackID" if in_filtered => {
                    let a = attrs(e, path, &["TRACK_ID"])?;
                    let id = find(&a, "TRACK_ID").and_then(|v| v.parse::<i64>().ok()).ok_or_else(
                        || Error::format(path, "a <TrackID> without an integer TRACK_ID"),
                    )?;
                    // `in_filtered` is set only with `filtered`.
                    if let Some(filtered) = raw.filtered.as_mut() {
                        filtered.insert(id);
                    }
                }
                "ImageData" => {
                    let a =
                        attrs(e, path, &["nslices", "pixelwidth", "pixelheight", "voxeldepth"])?;
                    let f = |k: &str| find(&a, k).and_then(|v| v.parse::<f64>().ok());
                    raw.image = Some(ImageData {
                        nslices: find(&a, "nslices").and_then(|v| v.parse().ok()),
                        pixel: [f("pixelwidth"), f("pixelheight"), f("voxeldepth")],
                    });
                }
                _ => {}
            }
            buf.clear();
        }
        if root.is_none() {
            return Err(Error::format(path, "not a TrackMate file: no XML element"));
        }
        if !seen_model {
            return Err(Error::format(path, "no <Model> element: not a TrackMate session file"));
        }
        Ok(raw)
    }

    fn into_tracks(self, path: &Path, options: &TrackMateOptions) -> Result<Tracks> {
        // Space: per-axis factors from the file's units to µm.
        let scale: [f64; 3] = match options.voxel_size {
            Some(v) => {
                let px = self.image.as_ref().map(|im| im.pixel).unwrap_or([None; 3]);
                let mut s = [0.0; 3];
                for (a, (given, name)) in
                    [(v.x, "pixelwidth"), (v.y, "pixelheight"), (v.z, "voxeldepth")]
                        .iter()
                        .enumerate()
                {
                    match px[a] {
                        Some(p) if p.is_finite() && p > 0.0 => s[a] = given / p,
                        _ => {
                            return Err(Error::format(
                                path,
                                format!("a voxel size was given, but <ImageData> has no valid {name} to convert positions to pixels"),
                            ))
                        }
                    }
                }
                s
            }
            None => {
                let unit = self.spatial_units.as_deref().unwrap_or("");
                match length_unit_um(unit) {
                    Some(f) => [f; 3],
                    None if is_pixel_unit(unit) => {
                        return Err(Error::param(
                            "read.voxel_size_um",
                            format!(
                                "{}: positions are in pixels (spatialunits=\"{unit}\"): give the voxel size X,Y,Z in µm",
                                path.display()
                            ),
                        ))
                    }
                    None => {
                        return Err(Error::format(
                            path,
                            format!("unknown spatial unit `{unit}` (µm, um, micron, nm, mm or pixel expected)"),
                        ))
                    }
                }
            }
        };
        // Time: from POSITION_T with the file's unit, or frame × the given interval.
        let time_factor: Option<f64> = match options.frame_interval_s {
            Some(_) => None,
            None => {
                let unit = self.time_units.as_deref().unwrap_or("");
                match time_unit_s(unit) {
                    Some(f) => Some(f),
                    None if matches!(unit.to_ascii_lowercase().as_str(), "frame" | "frames") => {
                        return Err(Error::param(
                            "read.frame_interval_s",
                            format!(
                                "{}: times are in frames (timeunits=\"{unit}\"): give the frame interval in seconds",
                                path.display()
                            ),
                        ))
                    }
                    None => {
                        return Err(Error::format(
                            path,
                            format!("unknown time unit `{unit}` (sec, s, ms, min or h expected)"),
                        ))
                    }
                }
            }
        };

        let visible = |id: i64| self.filtered.as_ref().is_none_or(|f| f.contains(&id));
        let mut branches: Vec<(i64, Vec<Vec<i64>>)> = Vec::new();
        for (id, edges) in &self.tracks {
            if !visible(*id) || edges.is_empty() {
                continue;
            }
            branches.push((*id, self.chains(*id, edges, path)?));
        }

        let is_3d = match &self.image {
            Some(im) => im.nslices.unwrap_or(1) > 1,
            None => branches
                .iter()
                .flat_map(|(_, b)| b.iter().flatten())
                .any(|id| self.spots[id].z != 0.0),
        };
        let branched = branches.iter().any(|(_, b)| b.len() > 1);
        let n: usize = branches.iter().flat_map(|(_, b)| b.iter().map(Vec::len)).sum();
        let mut int_ids = Vec::new();
        let mut labels = Vec::new();
        let mut t = Tracks {
            z_um: is_3d.then(Vec::new),
            frame: Vec::with_capacity(n),
            t_s: Vec::with_capacity(n),
            x_um: Vec::with_capacity(n),
            y_um: Vec::with_capacity(n),
            ..Default::default()
        };
        let (mut spot_id, mut quality, mut radius) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for (id, chains) in &branches {
            for (k, chain) in chains.iter().enumerate() {
                let label =
                    if chains.len() > 1 { format!("{id}_{}", k + 1) } else { id.to_string() };
                for sid in chain {
                    let s = self.spots[sid];
                    if branched {
                        labels.push(label.clone());
                    } else {
                        int_ids.push(
                            u64::try_from(*id).map_err(|_| {
                                Error::format(path, format!("negative TRACK_ID {id}"))
                            })?,
                        );
                    }
                    t.frame.push(s.frame);
                    t.t_s.push(match (time_factor, options.frame_interval_s) {
                        (Some(f), _) => s.t * f,
                        (None, Some(dt)) => s.frame as f64 * dt,
                        (None, None) => unreachable!("one of them is set"),
                    });
                    t.x_um.push(s.x * scale[0]);
                    t.y_um.push(s.y * scale[1]);
                    if let Some(z) = t.z_um.as_mut() {
                        z.push(s.z * scale[2]);
                    }
                    spot_id.push(*sid as f64);
                    quality.push(s.quality);
                    radius.push(s.radius * scale[0]);
                }
            }
        }
        t.track_id = if branched { TrackIds::Label(labels) } else { TrackIds::Int(int_ids) };
        t.extra = vec![
            ("spot_id".into(), Column::Float(spot_id)),
            ("quality".into(), Column::Float(quality)),
            ("radius_um".into(), Column::Float(radius)),
        ];
        t.validate().map_err(|e| Error::format(path, e.to_string()))?;
        Ok(t)
    }

    /// The branches of one track: chains of links between its ends, splits and merges, each
    /// in frame order, sorted by (first frame, first spot, second spot).
    fn chains(&self, track: i64, edges: &[(i64, i64)], path: &Path) -> Result<Vec<Vec<i64>>> {
        let mut links: BTreeSet<(i64, i64)> = BTreeSet::new();
        for &(a, b) in edges {
            let frame = |id: i64| {
                self.spots.get(&id).map(|s| s.frame).ok_or_else(|| {
                    Error::format(
                        path,
                        format!("track {track}: a link refers to spot {id}, which does not exist"),
                    )
                })
            };
            let (fa, fb) = (frame(a)?, frame(b)?);
            if fa == fb {
                return Err(Error::format(
                    path,
                    format!("track {track}: a link joins spots {a} and {b}, both in frame {fa}"),
                ));
            }
            links.insert(if fa < fb { (a, b) } else { (b, a) });
        }
        let mut succ: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut pred: HashMap<i64, usize> = HashMap::new();
        for &(a, b) in &links {
            succ.entry(a).or_default().push(b);
            *pred.entry(b).or_default() += 1;
        }
        let interior = |s: i64| {
            pred.get(&s).copied().unwrap_or(0) == 1 && succ.get(&s).map_or(0, Vec::len) == 1
        };
        let mut chains = Vec::new();
        for &(a, b) in &links {
            if interior(a) {
                continue;
            }
            let mut chain = vec![a, b];
            let mut cur = b;
            while interior(cur) {
                cur = succ[&cur][0];
                chain.push(cur);
            }
            chains.push(chain);
        }
        chains.sort_by_key(|c| (self.spots[&c[0]].frame, c[0], c[1]));
        Ok(chains)
    }
}

fn parse_frame(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().or_else(|| match s.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => Some(f as u32),
        _ => None,
    })
}

const SPOT_KEYS: &[&str] =
    &["ID", "FRAME", "POSITION_X", "POSITION_Y", "POSITION_Z", "POSITION_T", "QUALITY", "RADIUS"];

fn parse_spot(a: &[(&str, Cow<str>)], block: Option<u32>, path: &Path) -> Result<(i64, RawSpot)> {
    let id = find(a, "ID")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| Error::format(path, "a <Spot> without an integer ID"))?;
    let num = |key: &str, required: bool| -> Result<f64> {
        match find(a, key) {
            Some(v) => v.parse::<f64>().map_err(|_| {
                Error::format(path, format!("spot {id}: {key}=\"{v}\" is not a number"))
            }),
            None if required => Err(Error::format(path, format!("spot {id} has no {key}"))),
            None => Ok(f64::NAN),
        }
    };
    let frame = match block {
        Some(f) => f,
        None => {
            let v = find(a, "FRAME")
                .ok_or_else(|| Error::format(path, format!("spot {id} has no frame")))?;
            parse_frame(v).ok_or_else(|| {
                Error::format(path, format!("spot {id}: FRAME=\"{v}\" is not a frame"))
            })?
        }
    };
    let z = num("POSITION_Z", false)?;
    Ok((
        id,
        RawSpot {
            frame,
            x: num("POSITION_X", true)?,
            y: num("POSITION_Y", true)?,
            z: if z.is_nan() { 0.0 } else { z },
            t: num("POSITION_T", true)?,
            quality: num("QUALITY", false)?,
            radius: num("RADIUS", false)?,
        },
    ))
}

/// Micrometres per unit of a length unit's name (`None` when unknown).
fn length_unit_um(unit: &str) -> Option<f64> {
    let u = unit.trim().replace("\\u00B5", "µ").replace("\\u00b5", "µ");
    let u = u.to_lowercase();
    Some(match u.as_str() {
        "µm" | "μm" | "um" | "micron" | "microns" | "micrometer" | "micrometers" | "micrometre"
        | "micrometres" => 1.0,
        "nm" | "nanometer" | "nanometers" | "nanometre" | "nanometres" => 1e-3,
        "mm" | "millimeter" | "millimeters" | "millimetre" | "millimetres" => 1e3,
        _ => return None,
    })
}

fn is_pixel_unit(unit: &str) -> bool {
    matches!(unit.trim().to_lowercase().as_str(), "pixel" | "pixels" | "px" | "")
}

/// Seconds per unit of a time unit's name (`None` when unknown).
fn time_unit_s(unit: &str) -> Option<f64> {
    Some(match unit.trim().to_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" | "msec" | "millisecond" | "milliseconds" => 1e-3,
        "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        _ => return None,
    })
}

/// Reads an Imaris "Position" CSV export (see the [module docs](self)). `frame_interval_s` is
/// the time between timepoints in s; Imaris gives only the timepoint index, so it is required
/// (an error names it when missing) unless the file has no tracked spots.
pub fn read_imaris(path: impl AsRef<Path>, frame_interval_s: Option<f64>) -> Result<Tracks> {
    let path = path.as_ref();
    if let Some(dt) = frame_interval_s {
        check_interval(dt)?;
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // Imaris writes UTF-8, older Windows versions Latin-1 (µ = 0xB5).
    let text: String = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    let clean =
        |s: &str| s.trim().trim_start_matches('\u{feff}').trim_matches('"').trim().to_string();
    let mut offset = 0;
    let mut header: Option<(usize, usize, u8)> = None; // (byte offset, line number, delimiter)
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let delim = if line.contains(',') {
            b','
        } else if line.contains(';') {
            b';'
        } else {
            b'\t'
        };
        let first = line.split(delim as char).next().unwrap_or("");
        if clean(first).eq_ignore_ascii_case("Position X") {
            header = Some((offset, i + 1, delim));
            break;
        }
        offset += line.len();
    }
    let (offset, header_line, delim) = header.ok_or_else(|| {
        Error::table(path, None, "no `Position X` column header: not an Imaris Position export")
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&text.as_bytes()[offset..]);
    let names: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::table(path, Some(header_line as u64), e.to_string()))?
        .iter()
        .map(clean)
        .collect();
    let col = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let need = |name: &str| {
        col(name).ok_or_else(|| {
            Error::table(
                path,
                Some(header_line as u64),
                format!("no `{name}` column (columns: {})", names.join(",")),
            )
        })
    };
    let (cx, cy, ctime, ctrack) =
        (need("Position X")?, need("Position Y")?, need("Time")?, need("TrackID")?);
    let (cz, cunit, cid) = (col("Position Z"), col("Unit"), col("ID"));

    let (mut ids, mut frame, mut x_um, mut y_um, mut z_um, mut spot_id) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut unit_cache: HashMap<String, f64> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() + header_line as u64 - 1);
            Error::table(path, line, e.to_string())
        })?;
        let line = rec.position().map(|p| p.line() + header_line as u64 - 1);
        let cell = |c: usize| rec.get(c).map(|s| s.trim_matches('"').trim()).unwrap_or("");
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let track = cell(ctrack);
        if track.is_empty() {
            continue; // a spot in no track
        }
        let number = |c: usize, name: &str| {
            cell(c).parse::<f64>().map_err(|_| {
                Error::table(path, line, format!("`{name}` = `{}` is not a number", cell(c)))
            })
        };
        let factor = match cunit {
            None => 1.0,
            Some(c) => {
                let u = cell(c);
                match unit_cache.get(u) {
                    Some(&f) => f,
                    None => {
                        let f = length_unit_um(u).ok_or_else(|| {
                            Error::table(
                                path,
                                line,
                                format!("unit `{u}`: positions must be in µm, nm or mm (export them calibrated)"),
                            )
                        })?;
                        unit_cache.insert(u.to_string(), f);
                        f
                    }
                }
            }
        };
        let time = number(ctime, "Time")?;
        if !(time >= 1.0 && time.fract() == 0.0 && time <= u32::MAX as f64) {
            return Err(Error::table(
                path,
                line,
                format!("`Time` = `{}` is not a timepoint index (1, 2, …)", cell(ctime)),
            ));
        }
        ids.push(track.to_string());
        frame.push(time as u32 - 1);
        x_um.push(number(cx, "Position X")? * factor);
        y_um.push(number(cy, "Position Y")? * factor);
        if let Some(c) = cz {
            z_um.push(number(c, "Position Z")? * factor);
        }
        if let Some(c) = cid {
            spot_id.push(cell(c).parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    let dt = match frame_interval_s {
        Some(dt) => dt,
        None if frame.is_empty() => 1.0,
        None => {
            return Err(Error::param(
                "read.frame_interval_s",
                format!(
                "{}: Imaris gives time as a timepoint index: give the frame interval in seconds",
                path.display()
            ),
            ))
        }
    };
    let track_id = match ids.iter().map(|s| s.parse::<u64>()).collect() {
        Ok(v) => TrackIds::Int(v),
        Err(_) => TrackIds::Label(ids),
    };
    let mut t = Tracks {
        track_id,
        t_s: frame.iter().map(|&f| f as f64 * dt).collect(),
        frame,
        x_um,
        y_um,
        z_um: cz.map(|_| z_um),
        ..Default::default()
    };
    if cid.is_some() {
        t.extra.push(("spot_id".into(), Column::Float(spot_id)));
    }
    t.validate().map_err(|e| Error::table(path, None, e.to_string()))?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(length_unit_um("µm"), Some(1.0));
        assert_eq!(length_unit_um("\\u00B5m"), Some(1.0));
        assert_eq!(length_unit_um("micron"), Some(1.0));
        assert_eq!(length_unit_um("nm"), Some(1e-3));
        assert_eq!(length_unit_um("pixel"), None);
        assert!(is_pixel_unit("pixel"));
        assert_eq!(time_unit_s("sec"), Some(1.0));
        assert_eq!(time_unit_s("min"), Some(60.0));
        assert_eq!(time_unit_s("frame"), None);
    }
}
