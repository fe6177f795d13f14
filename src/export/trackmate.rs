//! TrackMate XML session files (`tracks.xml`) that Fiji's TrackMate loads against the image
//! they came from ("Plugins › Tracking › Load a TrackMate file").
//!
//! [`write()`] writes every element TrackMate's reader requires (see
//! `../shared/reference/trackmate-xml.md`): the model with its units (`µm`, `sec`), the
//! feature declarations, every tracked point as a spot, one `Track` per track of two or more
//! points with its links as edges, `FilteredTracks` listing them all (all visible), and the
//! settings with `ImageData` naming the image, its size and its calibration. The detector and
//! tracker are declared as TrackMate's manual ones (their settings are not TrackMate's to
//! re-run); spot and track filters are empty.
//!
//! ## Spots
//!
//! One spot per row of the tracks (one-point tracks included, as spots in no track — TrackMate
//! does not store tracks without links). Its features:
//!
//! - `ID`: the row of the detections table it came from (the tracks' `detection` column), else
//!   the row of the tracks table; `name` = `ID<id>`.
//! - `POSITION_X`, `POSITION_Y`, `POSITION_Z`: the raw position in µm (`z` = 0 for 2D
//!   tracks); `POSITION_T`: the point's time `t_s` in seconds; `FRAME`: its 0-based frame.
//! - `RADIUS` (µm): the radius of a sphere of the detection's `volume_um3` (2D tracks: of a disk
//!   of area `volume_um3` / z step, as 2D segmentation measures one plane times the z step);
//!   5 µm — half of a 10 µm cell — when there is no volume.
//! - `QUALITY`: the detection's `quality` column; 1 when there is none (TrackMate needs one).
//! - `VISIBILITY` = 1.
//!
//! The detections' columns are looked up through the `detection` column; without one, the
//! tracks' own `volume_um3` and `quality` columns are used.
//!
//! ## Tracks and edges
//!
//! A track's links join its consecutive points; a gap-closing link (frames more than 1 apart)
//! is an ordinary edge, from the earlier to the later spot. Edges carry TrackMate's
//! `EDGE_TIME` (s), `EDGE_X/Y/Z_LOCATION` (µm, midpoints), `DISPLACEMENT` (µm) and `VELOCITY`
//! (µm/s); tracks carry `TRACK_ID`, `TRACK_INDEX`, `NUMBER_SPOTS`, `NUMBER_GAPS`,
//! `LONGEST_GAP` (missing frames), `TRACK_DURATION`/`START`/`STOP` (s), `TRACK_DISPLACEMENT`
//! (µm), `TRACK_X/Y/Z_LOCATION` (µm) and `TRACK_MEAN/MAX/MIN/MEDIAN_SPEED` (µm/s, over the
//! edges' velocities, as TrackMate). `TRACK_ID` is the track's own id when the ids are integers
//! that fit TrackMate's 32-bit ids, else its index in order of first appearance; the track's
//! `name` is `Track_<id>` with the original id, so text ids stay visible in Fiji.
//!
//! ```
//! use leukotrack::export::{trackmate, ImageInfo};
//! use leukotrack::{Calibration, Detections, TrackIds, Tracks, VoxelSize};
//!
//! # fn main() -> leukotrack::Result<()> {
//! let tracks = Tracks {
//!     track_id: TrackIds::Int(vec![7, 7, 7]),
//!     frame: vec![0, 1, 3], // a gap-closing link from frame 1 to frame 3
//!     t_s: vec![0.0, 30.0, 90.0],
//!     x_um: vec![10.0, 12.0, 16.0],
//!     y_um: vec![5.0, 5.0, 6.0],
//!     z_um: Some(vec![6.0, 6.0, 9.0]),
//!     ..Default::default()
//! };
//! let cal = Calibration::new(VoxelSize::new(0.8, 0.8, 3.0)?, 30.0);
//! let image = ImageInfo {
//!     filename: "mouse3.tif".into(),
//!     folder: String::new(),
//!     width: 256,
//!     height: 256,
//!     nslices: 24,
//!     nframes: 4,
//! };
//! let path = std::env::temp_dir().join(format!("leukotrack-doc-tm-{}.xml", std::process::id()));
//! trackmate::write(&path, &tracks, &Detections::new(true), &cal, &image)?;
//! let back = leukotrack::import::read_trackmate(&path)?;
//! assert_eq!(back.frame, vec![0, 1, 3]);
//! assert_eq!(back.track_id.label(0), "7");
//! # std::fs::remove_file(&path).ok();
//! # Ok(())
//! # }
//! ```

use std::io::Write;
use std::path::Path;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::ImageInfo;
use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::io::write::write_atomic;
use crate::table::{Column, Detections, TrackIds, Tracks};

/// The TrackMate version written in the root element (a 7.x version, so Fiji's loader uses
/// its current reader).
pub const TRACKMATE_VERSION: &str = "7.11.1";

/// Radius of a spot with no volume, µm (half of a 10 µm cell).
pub const DEFAULT_RADIUS_UM: f64 = 5.0;

/// Writes `tracks` as a TrackMate XML file at `path`, atomically. See the [module docs](self)
/// for what each spot, edge and track carries.
///
/// `detections` is the table the tracks' `detection` column indexes (for `volume_um3` and
/// `quality`; may be empty when the tracks have no `detection` column). `calibration` gives
/// the voxel size (µm; the z step may be missing for one-plane images) and the frame interval
/// (s) written in `ImageData`; `image` names the image and its size.
pub fn write(
    path: &Path,
    tracks: &Tracks,
    detections: &Detections,
    calibration: &Calibration,
    image: &ImageInfo,
) -> Result<()> {
    let doc = Document::new(tracks, detections, calibration, image)?;
    write_atomic(path, |w| doc.write(w))
}

/// Everything the file needs, computed (and checked) before anything is written.
struct Document<'a> {
    tracks: &'a Tracks,
    image: &'a ImageInfo,
    voxel: [f64; 3],
    frame_interval_s: f64,
    spot_id: Vec<i32>,
    radius: Vec<f64>,
    quality: Vec<f64>,
    /// Tracks of two or more points: (TrackMate id, original label, rows in frame order).
    linked: Vec<(i32, String, Vec<usize>)>,
}

fn float_column<'c>(cols: &'c [(String, Column)], name: &str) -> Option<&'c [f64]> {
    cols.iter().find(|(n, _)| n == name).and_then(|(_, c)| c.as_f64())
}

impl<'a> Document<'a> {
    fn new(
        tracks: &'a Tracks,
        detections: &Detections,
        calibration: &Calibration,
        image: &'a ImageInfo,
    ) -> Result<Self> {
        tracks.validate()?;
        let vx = calibration.voxel_x_um.map(|v| v.value);
        let vy = calibration.voxel_y_um.map(|v| v.value);
        let vz = calibration.voxel_z_um.map(|v| v.value);
        let voxel = match (vx, vy, vz) {
            (Some(x), Some(y), Some(z)) => [x, y, z],
            // One plane: the z step means nothing to TrackMate; ImageJ's default depth is the
            // pixel width.
            (Some(x), Some(y), None) if image.nslices <= 1 => [x, y, x],
            _ => {
                return Err(Error::param(
                    "read.voxel_size_um",
                    "TrackMate's ImageData needs the voxel size: give it as X,Y,Z in µm",
                ))
            }
        };
        let frame_interval_s = calibration.frame_interval_s()?;
        let n = tracks.len();

        let det_rows: Option<&[u64]> = tracks.detection.as_deref();
        if let Some(d) = det_rows {
            if let Some((i, &row)) =
                d.iter().enumerate().find(|(_, &r)| r as usize >= detections.len())
            {
                return Err(Error::data(format!(
                    "track {} frame {} refers to detection {row}, but there are {} detections",
                    tracks.track_id.label(i),
                    tracks.frame[i],
                    detections.len()
                )));
            }
        }
        let spot_id: Vec<i32> = (0..n)
            .map(|i| {
                let id = det_rows.map_or(i as u64, |d| d[i]);
                i32::try_from(id).map_err(|_| {
                    Error::data(format!("spot id {id} does not fit TrackMate's 32-bit ids"))
                })
            })
            .collect::<Result<_>>()?;

        // A per-point value from the detections' column (through `detection`), else the
        // tracks' own column.
        let lookup = |name: &str| -> Option<Vec<f64>> {
            if let (Some(d), Some(col)) = (det_rows, float_column(&detections.extra, name)) {
                return Some(d.iter().map(|&r| col[r as usize]).collect());
            }
            float_column(&tracks.extra, name).map(<[f64]>::to_vec)
        };
        let is_3d = tracks.is_3d();
        let radius: Vec<f64> = match lookup("volume_um3") {
            Some(v) => v
                .into_iter()
                .map(|vol| {
                    let r = if is_3d || vz.is_none() {
                        (3.0 * vol / (4.0 * std::f64::consts::PI)).cbrt()
                    } else {
                        (vol / voxel[2] / std::f64::consts::PI).sqrt()
                    };
                    if r.is_finite() && r > 0.0 {
                        r
                    } else {
                        DEFAULT_RADIUS_UM
                    }
                })
                .collect(),
            None => vec![DEFAULT_RADIUS_UM; n],
        };
        let quality = lookup("quality").unwrap_or_else(|| vec![1.0; n]);

        let groups = tracks.rows_by_track();
        let int_ids: Option<Vec<i32>> = match &tracks.track_id {
            TrackIds::Int(v) => {
                groups.iter().map(|g| i32::try_from(v[g[0]]).ok()).collect::<Option<Vec<i32>>>()
            }
            TrackIds::Label(_) => None,
        };
        let mut linked = Vec::new();
        for (k, rows) in groups.into_iter().enumerate() {
            if rows.len() < 2 {
                continue;
            }
            let id = match &int_ids {
                Some(ids) => ids[k],
                None => i32::try_from(k)
                    .map_err(|_| Error::data("more tracks than TrackMate's 32-bit ids"))?,
            };
            linked.push((id, tracks.track_id.label(rows[0]), rows));
        }
        Ok(Document { tracks, image, voxel, frame_interval_s, spot_id, radius, quality, linked })
    }

    fn pos(&self, i: usize) -> [f64; 3] {
        let t = self.tracks;
        [t.x_um[i], t.y_um[i], t.z_um.as_ref().map_or(0.0, |z| z[i])]
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut x = Xml(Writer::new_with_indent(out, b' ', 2));
        x.0.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        x.start("TrackMate", &[("version", TRACKMATE_VERSION.into())])?;
        x.start("Log", &[])?;
        x.0.write_event(Event::Text(BytesText::new(&format!(
            "Exported by leukotrack {}: positions in µm (raw, as in the image), times in s.",
            env!("CARGO_PKG_VERSION")
        ))))?;
        x.end("Log")?;
        x.start("Model", &[("spatialunits", "µm".into()), ("timeunits", "sec".into())])?;
        self.write_declarations(&mut x)?;
        self.write_spots(&mut x)?;
        self.write_tracks(&mut x)?;
        x.start("FilteredTracks", &[])?;
        for (id, _, _) in &self.linked {
            x.empty("TrackID", &[("TRACK_ID", id.to_string())])?;
        }
        x.end("FilteredTracks")?;
        x.end("Model")?;
        self.write_settings(&mut x)?;
        x.empty("GUIState", &[("state", "ConfigureViews".into())])?;
        x.empty("DisplaySettings", &[])?;
        x.end("TrackMate")
    }

    fn write_declarations(&self, x: &mut Xml) -> std::io::Result<()> {
        x.start("FeatureDeclarations", &[])?;
        for (group, feats) in [
            ("SpotFeatures", SPOT_FEATURES),
            ("EdgeFeatures", EDGE_FEATURES),
            ("TrackFeatures", TRACK_FEATURES),
        ] {
            x.start(group, &[])?;
            for &(feature, name, shortname, dimension, isint) in feats {
                x.empty(
                    "Feature",
                    &[
                        ("feature", feature.into()),
                        ("name", name.into()),
                        ("shortname", shortname.into()),
                        ("dimension", dimension.into()),
                        ("isint", isint.to_string()),
                    ],
                )?;
            }
            x.end(group)?;
        }
        x.end("FeatureDeclarations")
    }

    fn write_spots(&self, x: &mut Xml) -> std::io::Result<()> {
        let t = self.tracks;
        let mut order: Vec<usize> = (0..t.len()).collect();
        order.sort_by_key(|&i| (t.frame[i], self.spot_id[i]));
        x.start("AllSpots", &[("nspots", t.len().to_string())])?;
        let mut k = 0;
        while k < order.len() {
            let frame = t.frame[order[k]];
            x.start("SpotsInFrame", &[("frame", frame.to_string())])?;
            while k < order.len() && t.frame[order[k]] == frame {
                let i = order[k];
                let p = self.pos(i);
                let id = self.spot_id[i];
                x.empty(
                    "Spot",
                    &[
                        ("ID", id.to_string()),
                        ("name", format!("ID{id}")),
                        ("QUALITY", num(self.quality[i])),
                        ("POSITION_X", num(p[0])),
                        ("POSITION_Y", num(p[1])),
                        ("POSITION_Z", num(p[2])),
                        ("POSITION_T", num(t.t_s[i])),
                        ("FRAME", frame.to_string()),
                        ("RADIUS", num(self.radius[i])),
                        ("VISIBILITY", "1".into()),
                    ],
                )?;
                k += 1;
            }
            x.end("SpotsInFrame")?;
        }
        x.end("AllSpots")
    }

    fn write_tracks(&self, x: &mut Xml) -> std::io::Result<()> {
        let t = self.tracks;
        x.start("AllTracks", &[])?;
        for (index, (id, label, rows)) in self.linked.iter().enumerate() {
            let mut speeds = Vec::with_capacity(rows.len() - 1);
            let (mut gaps, mut longest) = (0u32, 0u32);
            for w in rows.windows(2) {
                let (a, b) = (self.pos(w[0]), self.pos(w[1]));
                let d = dist(a, b);
                speeds.push(d / (t.t_s[w[1]] - t.t_s[w[0]]));
                let df = t.frame[w[1]] - t.frame[w[0]];
                if df > 1 {
                    gaps += 1;
                    longest = longest.max(df - 1);
                }
            }
            let (first, last) = (rows[0], rows[rows.len() - 1]);
            let mean = |f: &dyn Fn(usize) -> f64| {
                rows.iter().map(|&r| f(r)).sum::<f64>() / rows.len() as f64
            };
            let mut sorted = speeds.clone();
            sorted.sort_by(f64::total_cmp);
            let median = if sorted.len() % 2 == 1 {
                sorted[sorted.len() / 2]
            } else {
                (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
            };
            x.start(
                "Track",
                &[
                    ("name", format!("Track_{label}")),
                    ("TRACK_ID", id.to_string()),
                    ("TRACK_INDEX", index.to_string()),
                    ("NUMBER_SPOTS", rows.len().to_string()),
                    ("NUMBER_GAPS", gaps.to_string()),
                    ("LONGEST_GAP", longest.to_string()),
                    ("NUMBER_SPLITS", "0".into()),
                    ("NUMBER_MERGES", "0".into()),
                    ("NUMBER_COMPLEX", "0".into()),
                    ("TRACK_DURATION", num(t.t_s[last] - t.t_s[first])),
                    ("TRACK_START", num(t.t_s[first])),
                    ("TRACK_STOP", num(t.t_s[last])),
                    ("TRACK_DISPLACEMENT", num(dist(self.pos(first), self.pos(last)))),
                    ("TRACK_X_LOCATION", num(mean(&|r| self.pos(r)[0]))),
                    ("TRACK_Y_LOCATION", num(mean(&|r| self.pos(r)[1]))),
                    ("TRACK_Z_LOCATION", num(mean(&|r| self.pos(r)[2]))),
                    ("TRACK_MEAN_SPEED", num(speeds.iter().sum::<f64>() / speeds.len() as f64)),
                    ("TRACK_MAX_SPEED", num(sorted[sorted.len() - 1])),
                    ("TRACK_MIN_SPEED", num(sorted[0])),
                    ("TRACK_MEDIAN_SPEED", num(median)),
                ],
            )?;
            for (w, v) in rows.windows(2).zip(&speeds) {
                let (a, b) = (self.pos(w[0]), self.pos(w[1]));
                x.empty(
                    "Edge",
                    &[
                        ("SPOT_SOURCE_ID", self.spot_id[w[0]].to_string()),
                        ("SPOT_TARGET_ID", self.spot_id[w[1]].to_string()),
                        ("EDGE_TIME", num((t.t_s[w[0]] + t.t_s[w[1]]) / 2.0)),
                        ("EDGE_X_LOCATION", num((a[0] + b[0]) / 2.0)),
                        ("EDGE_Y_LOCATION", num((a[1] + b[1]) / 2.0)),
                        ("EDGE_Z_LOCATION", num((a[2] + b[2]) / 2.0)),
                        ("DISPLACEMENT", num(dist(a, b))),
                        ("VELOCITY", num(*v)),
                    ],
                )?;
            }
            x.end("Track")?;
        }
        x.end("AllTracks")
    }

    fn write_settings(&self, x: &mut Xml) -> std::io::Result<()> {
        let im = self.image;
        let last = |n: usize| n.saturating_sub(1).to_string();
        let mut radii: Vec<f64> = self.radius.clone();
        radii.sort_by(f64::total_cmp);
        let radius = radii.get(radii.len() / 2).copied().unwrap_or(DEFAULT_RADIUS_UM);
        x.start("Settings", &[])?;
        x.empty(
            "ImageData",
            &[
                ("filename", im.filename.clone()),
                ("folder", im.folder.clone()),
                ("width", im.width.to_string()),
                ("height", im.height.to_string()),
                ("nslices", im.nslices.to_string()),
                ("nframes", im.nframes.to_string()),
                ("pixelwidth", num(self.voxel[0])),
                ("pixelheight", num(self.voxel[1])),
                ("voxeldepth", num(self.voxel[2])),
                ("timeinterval", num(self.frame_interval_s)),
            ],
        )?;
        x.empty(
            "BasicSettings",
            &[
                ("xstart", "0".into()),
                ("xend", last(im.width)),
                ("ystart", "0".into()),
                ("yend", last(im.height)),
                ("zstart", "0".into()),
                ("zend", last(im.nslices)),
                ("tstart", "0".into()),
                ("tend", last(im.nframes)),
            ],
        )?;
        x.empty(
            "DetectorSettings",
            &[("DETECTOR_NAME", "MANUAL_DETECTOR".into()), ("RADIUS", num(radius))],
        )?;
        x.empty(
            "InitialSpotFilter",
            &[("feature", "QUALITY".into()), ("value", "0.0".into()), ("isabove", "true".into())],
        )?;
        x.empty("SpotFilterCollection", &[])?;
        x.empty("TrackerSettings", &[("TRACKER_NAME", "MANUAL_TRACKER".into())])?;
        x.empty("TrackFilterCollection", &[])?;
        x.start("AnalyzerCollection", &[])?;
        for group in ["SpotAnalyzers", "EdgeAnalyzers", "TrackAnalyzers"] {
            x.empty(group, &[])?;
        }
        x.end("AnalyzerCollection")?;
        x.end("Settings")
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// A number as Java's `Double.valueOf` reads it (`NaN`, `Infinity`; shortest round trip).
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v}")
    }
}

struct Xml<'w>(Writer<&'w mut dyn Write>);

impl Xml<'_> {
    fn element<'e>(name: &'e str, attrs: &'e [(&'e str, String)]) -> BytesStart<'e> {
        let mut e = BytesStart::new(name);
        for (k, v) in attrs {
            e.push_attribute((*k, v.as_str()));
        }
        e
    }
    fn start(&mut self, name: &str, attrs: &[(&str, String)]) -> std::io::Result<()> {
        self.0.write_event(Event::Start(Self::element(name, attrs)))
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, String)]) -> std::io::Result<()> {
        self.0.write_event(Event::Empty(Self::element(name, attrs)))
    }
    fn end(&mut self, name: &str) -> std::io::Result<()> {
        self.0.write_event(Event::End(BytesEnd::new(name)))
    }
}

/// (feature, name, shortname, dimension, isint) — TrackMate's own declarations of the
/// features written.
type Feature = (&'static str, &'static str, &'static str, &'static str, bool);

const SPOT_FEATURES: &[Feature] = &[
    ("QUALITY", "Quality", "Quality", "QUALITY", false),
    ("POSITION_X", "X", "X", "POSITION", false),
    ("POSITION_Y", "Y", "Y", "POSITION", false),
    ("POSITION_Z", "Z", "Z", "POSITION", false),
    ("POSITION_T", "T", "T", "TIME", false),
    ("FRAME", "Frame", "Frame", "NONE", true),
    ("RADIUS", "Radius", "R", "LENGTH", false),
    ("VISIBILITY", "Visibility", "Visibility", "NONE", true),
];

const EDGE_FEATURES: &[Feature] = &[
    ("SPOT_SOURCE_ID", "Source spot ID", "Source ID", "NONE", true),
    ("SPOT_TARGET_ID", "Target spot ID", "Target ID", "NONE", true),
    ("LINK_COST", "Link cost", "Cost", "NONE", false),
    ("EDGE_TIME", "Time (mean)", "T", "TIME", false),
    ("EDGE_X_LOCATION", "X Location (mean)", "X", "POSITION", false),
    ("EDGE_Y_LOCATION", "Y Location (mean)", "Y", "POSITION", false),
    ("EDGE_Z_LOCATION", "Z Location (mean)", "Z", "POSITION", false),
    ("VELOCITY", "Velocity", "V", "VELOCITY", false),
    ("DISPLACEMENT", "Displacement", "D", "LENGTH", false),
];

const TRACK_FEATURES: &[Feature] = &[
    ("NUMBER_SPOTS", "Number of spots in track", "N spots", "NONE", true),
    ("NUMBER_GAPS", "Number of gaps", "Gaps", "NONE", true),
    ("LONGEST_GAP", "Longest gap", "Longest gap", "NONE", true),
    ("NUMBER_SPLITS", "Number of split events", "Splits", "NONE", true),
    ("NUMBER_MERGES", "Number of merge events", "Merges", "NONE", true),
    ("NUMBER_COMPLEX", "Complex points", "Complex", "NONE", true),
    ("TRACK_DURATION", "Duration of track", "Duration", "TIME", false),
    ("TRACK_START", "Track start", "T start", "TIME", false),
    ("TRACK_STOP", "Track stop", "T stop", "TIME", false),
    ("TRACK_DISPLACEMENT", "Track displacement", "Displacement", "LENGTH", false),
    ("TRACK_INDEX", "Track index", "Index", "NONE", true),
    ("TRACK_ID", "Track ID", "ID", "NONE", true),
    ("TRACK_X_LOCATION", "X Location (mean)", "X", "POSITION", false),
    ("TRACK_Y_LOCATION", "Y Location (mean)", "Y", "POSITION", false),
    ("TRACK_Z_LOCATION", "Z Location (mean)", "Z", "POSITION", false),
    ("TRACK_MEAN_SPEED", "Mean velocity", "Mean V", "VELOCITY", false),
    ("TRACK_MAX_SPEED", "Maximal velocity", "Max V", "VELOCITY", false),
    ("TRACK_MIN_SPEED", "Minimal velocity", "Min V", "VELOCITY", false),
    ("TRACK_MEDIAN_SPEED", "Median velocity", "Median V", "VELOCITY", false),
];
