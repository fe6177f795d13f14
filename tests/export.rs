//! Exports and imports: TrackMate XML (written and checked element by element against what
//! TrackMate's reader requires, read back, and read from TrackMate's own files), Imaris
//! Position CSVs, the Cell Tracking Challenge format (masks and res_track.txt checked voxel by
//! voxel against the segmentation), and `leukotrack metrics --format`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use leukotrack::eval::{score_tracks, EvalConfig};
use leukotrack::export::ctc::{self, CtcTrack};
use leukotrack::export::{trackmate, ImageInfo};
use leukotrack::import::{read_imaris, read_trackmate, read_trackmate_with, TrackMateOptions};
use leukotrack::segment::{self, segment_recording, SegmentConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::track::{link, LinkConfig};
use leukotrack::{
    Calibration, Column, Detections, Error, Recording, TrackIds, Tracks, Volume, VoxelSize,
};
use quick_xml::events::Event;

// ---------------------------------------------------------------------------------------
// A small XML tree and a checker of what TrackMate's reader requires.

#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
}

impl El {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    fn child(&self, n: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == n)
    }
    fn all<'a>(&'a self, n: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == n)
    }
}

fn parse_xml(path: &Path) -> El {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    let mut stack = vec![El::default()];
    let el = |e: &quick_xml::events::BytesStart| El {
        name: e.name().as_ref().to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned(),
                )
            })
            .collect(),
        children: Vec::new(),
    };
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => stack.push(el(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(el(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1);
    stack.pop().unwrap().children.into_iter().next().unwrap()
}

/// Java's Double.valueOf: decimal, exponent, NaN, Infinity.
fn is_java_double(s: &str) -> bool {
    s == "NaN"
        || s == "Infinity"
        || s == "-Infinity"
        || (s.parse::<f64>().is_ok() && !s.contains("inf") && !s.contains("nan"))
}

const DIMENSIONS: &[&str] = &[
    "NONE",
    "QUALITY",
    "COST",
    "INTENSITY",
    "INTENSITY_SQUARED",
    "POSITION",
    "VELOCITY",
    "LENGTH",
    "AREA",
    "TIME",
    "ANGLE",
    "RATE",
    "ANGLE_RATE",
    "STRING",
];

/// Asserts every element and attribute TrackMate's reader needs (the fatal and the logged
/// ones of the reference's §5) and the writer checklist of §7. `v7` also asks for the 7.x
/// elements (GUIState, DisplaySettings). Returns the root.
fn check_trackmate(path: &Path, v7: bool) -> El {
    let root = parse_xml(path);
    assert_eq!(root.name, "TrackMate");
    let version: Vec<u32> =
        root.attr("version").unwrap().split('.').map(|p| p.parse().unwrap()).collect();
    assert!(version >= vec![2, 1, 0], "{version:?}");
    let model = root.child("Model").expect("Model");
    assert!(model.attr("spatialunits").is_some() && model.attr("timeunits").is_some());
    let decl = model.child("FeatureDeclarations").expect("FeatureDeclarations");
    let mut declared: HashMap<&str, HashMap<String, bool>> = HashMap::new();
    for group in ["SpotFeatures", "EdgeFeatures", "TrackFeatures"] {
        let g = decl.child(group).unwrap_or_else(|| panic!("{group}"));
        let mut m = HashMap::new();
        for f in g.all("Feature") {
            for a in ["feature", "name", "shortname", "dimension", "isint"] {
                assert!(f.attr(a).is_some(), "Feature without {a}");
            }
            assert!(DIMENSIONS.contains(&f.attr("dimension").unwrap()));
            let isint = match f.attr("isint").unwrap() {
                "true" => true,
                "false" => false,
                other => panic!("isint={other}"),
            };
            m.insert(f.attr("feature").unwrap().to_string(), isint);
        }
        declared.insert(group, m);
    }
    // Spots.
    let all_spots = model.child("AllSpots").expect("AllSpots");
    let mut frame_of: HashMap<i32, i64> = HashMap::new();
    for block in all_spots.all("SpotsInFrame") {
        let frame: i64 = block.attr("frame").unwrap().parse().unwrap();
        for s in block.all("Spot") {
            let id: i32 = s.attr("ID").unwrap().parse().unwrap();
            assert!(id >= 0);
            assert!(frame_of.insert(id, frame).is_none(), "spot ID {id} twice");
            for need in [
                "name",
                "POSITION_X",
                "POSITION_Y",
                "POSITION_Z",
                "POSITION_T",
                "FRAME",
                "RADIUS",
                "QUALITY",
                "VISIBILITY",
            ] {
                assert!(s.attr(need).is_some(), "spot {id} has no {need}");
            }
            assert_eq!(s.attr("FRAME").unwrap().parse::<i64>().unwrap(), frame);
            assert_eq!(s.attr("VISIBILITY"), Some("1"));
            for (k, v) in &s.attrs {
                if k == "ID" || k == "name" {
                    continue;
                }
                assert!(is_java_double(v), "spot {id}: {k}={v}");
                assert!(declared["SpotFeatures"].contains_key(k), "spot feature {k} not declared");
            }
        }
    }
    if let Some(n) = all_spots.attr("nspots") {
        assert_eq!(n.parse::<usize>().unwrap(), frame_of.len());
    }
    // Tracks: every edge between known spots, earlier to later, each spot in one track.
    let mut track_ids = BTreeSet::new();
    let mut owner: HashMap<i32, i64> = HashMap::new();
    for t in model.child("AllTracks").expect("AllTracks").all("Track") {
        let id: i64 = t.attr("TRACK_ID").unwrap().parse().unwrap();
        assert!(track_ids.insert(id), "TRACK_ID {id} twice");
        for (k, v) in &t.attrs {
            if k != "name" {
                assert!(is_java_double(v), "track {id}: {k}={v}");
            }
        }
        for e in t.all("Edge") {
            let a: i32 = e.attr("SPOT_SOURCE_ID").unwrap().parse().unwrap();
            let b: i32 = e.attr("SPOT_TARGET_ID").unwrap().parse().unwrap();
            assert_ne!(a, b);
            assert!(frame_of[&a] <= frame_of[&b], "edge {a}->{b} goes back in time");
            for s in [a, b] {
                assert_eq!(*owner.entry(s).or_insert(id), id, "spot {s} in two tracks");
            }
            for (k, v) in &e.attrs {
                match declared["EdgeFeatures"].get(k.as_str()) {
                    Some(true) => assert!(v.parse::<i32>().is_ok(), "edge {k}={v} not an int"),
                    Some(false) => assert!(is_java_double(v)),
                    None => panic!("edge feature {k} not declared"),
                }
            }
        }
    }
    let filtered = model.child("FilteredTracks").expect("FilteredTracks");
    for t in filtered.all("TrackID") {
        let id: i64 = t.attr("TRACK_ID").unwrap().parse().unwrap();
        assert!(track_ids.contains(&id), "FilteredTracks lists unknown track {id}");
    }
    // Settings: what the reader dereferences.
    let settings = root.child("Settings").expect("Settings");
    let image = settings.child("ImageData").expect("ImageData");
    for a in [
        "filename",
        "folder",
        "width",
        "height",
        "nslices",
        "nframes",
        "pixelwidth",
        "pixelheight",
        "voxeldepth",
        "timeinterval",
    ] {
        assert!(image.attr(a).is_some(), "ImageData has no {a}");
    }
    for need in [
        "InitialSpotFilter",
        "SpotFilterCollection",
        "TrackFilterCollection",
        "DetectorSettings",
        "TrackerSettings",
        "AnalyzerCollection",
    ] {
        assert!(settings.child(need).is_some(), "Settings has no {need}");
    }
    assert!(settings.child("DetectorSettings").unwrap().attr("DETECTOR_NAME").is_some());
    assert!(settings.child("TrackerSettings").unwrap().attr("TRACKER_NAME").is_some());
    let analyzers = settings.child("AnalyzerCollection").unwrap();
    for g in ["SpotAnalyzers", "EdgeAnalyzers", "TrackAnalyzers"] {
        assert!(analyzers.child(g).is_some());
    }
    assert!(root.child("GUIState").and_then(|g| g.attr("state")).is_some());
    if v7 {
        assert!(root.child("DisplaySettings").is_some());
    }
    root
}

#[test]
fn the_checker_accepts_trackmates_own_files() {
    for cfg in ["without_gap_closing", "with_gap_closing", "with_splitting_merging"] {
        let p =
            common::shared_data().join(format!("faketracks/trackmate/trackmate_tracks_{cfg}.xml"));
        check_trackmate(&p, false);
    }
}

// ---------------------------------------------------------------------------------------
// TrackMate writer.

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn image(nslices: usize) -> ImageInfo {
    ImageInfo {
        filename: "mouse 3 & <tumour>.tif".into(),
        folder: "/data/run 1/".into(),
        width: 256,
        height: 200,
        nslices,
        nframes: 6,
    }
}

/// Two tracks: id 7 with a gap (frames 0, 1, 3) and a one-point track 9 (frame 2); detections
/// rows 10.. with volumes and qualities.
fn hand_made(is_3d: bool) -> (Tracks, Detections) {
    let mut det = Detections::new(is_3d);
    for _ in 0..14 {
        det.push(0, 0.0, 0.0, Some(0.0));
    }
    let sphere = |r: f64| 4.0 / 3.0 * std::f64::consts::PI * r * r * r;
    let vols: Vec<f64> = (0..14).map(|i| if i == 11 { sphere(4.0) } else { sphere(5.0) }).collect();
    det.set_column("volume_um3", Column::Float(vols)).unwrap();
    det.set_column("quality", Column::Float((0..14).map(|i| i as f64 * 0.5).collect())).unwrap();
    let t = Tracks {
        track_id: TrackIds::Int(vec![7, 7, 9, 7]),
        frame: vec![0, 1, 2, 3],
        t_s: vec![0.0, 30.0, 60.0, 90.0],
        x_um: vec![10.0, 12.5, 40.0, 16.0],
        y_um: vec![5.0, 5.25, 8.0, 6.0],
        z_um: is_3d.then(|| vec![6.0, 6.0, 3.0, 9.0]),
        detection: Some(vec![10, 11, 12, 13]),
        extra: Vec::new(),
    };
    for (r, &d) in t.detection.as_ref().unwrap().iter().enumerate() {
        det.frame[d as usize] = t.frame[r];
    }
    (t, det)
}

fn cal() -> Calibration {
    Calibration::new(VoxelSize::new(0.8, 0.8, 3.0).unwrap(), 30.0)
}

#[test]
fn trackmate_file_has_every_required_element_and_value() {
    let dir = tmp();
    let path = dir.path().join("tracks.xml");
    let (tracks, det) = hand_made(true);
    trackmate::write(&path, &tracks, &det, &cal(), &image(24)).unwrap();
    let root = check_trackmate(&path, true);
    let model = root.child("Model").unwrap();
    assert_eq!(model.attr("spatialunits"), Some("µm"));
    assert_eq!(model.attr("timeunits"), Some("sec"));
    let spots: HashMap<&str, &El> = model
        .child("AllSpots")
        .unwrap()
        .all("SpotsInFrame")
        .flat_map(|b| b.all("Spot"))
        .map(|s| (s.attr("ID").unwrap(), s))
        .collect();
    // Every point is a spot, IDs are detection rows; the one-point track too.
    assert_eq!(spots.len(), 4);
    let s = spots["11"];
    assert_eq!(s.attr("POSITION_X"), Some("12.5"));
    assert_eq!(s.attr("POSITION_Y"), Some("5.25"));
    assert_eq!(s.attr("POSITION_Z"), Some("6"));
    assert_eq!(s.attr("POSITION_T"), Some("30"));
    assert_eq!(s.attr("FRAME"), Some("1"));
    assert_eq!(s.attr("QUALITY"), Some("5.5"));
    let r: f64 = s.attr("RADIUS").unwrap().parse().unwrap();
    assert!((r - 4.0).abs() < 1e-12, "{r}");
    let r: f64 = spots["13"].attr("RADIUS").unwrap().parse().unwrap();
    assert!((r - 5.0).abs() < 1e-12, "{r}");
    assert_eq!(spots["12"].attr("name"), Some("ID12"));
    // One Track (the one-point track is only a spot), with the gap as an ordinary edge.
    let tracks_el: Vec<&El> = model.child("AllTracks").unwrap().all("Track").collect();
    assert_eq!(tracks_el.len(), 1);
    let t = tracks_el[0];
    assert_eq!(t.attr("TRACK_ID"), Some("7"));
    assert_eq!(t.attr("name"), Some("Track_7"));
    assert_eq!(t.attr("NUMBER_SPOTS"), Some("3"));
    assert_eq!(t.attr("NUMBER_GAPS"), Some("1"));
    assert_eq!(t.attr("LONGEST_GAP"), Some("1"));
    assert_eq!(t.attr("TRACK_DURATION"), Some("90"));
    let edges: Vec<(&str, &str)> = t
        .all("Edge")
        .map(|e| (e.attr("SPOT_SOURCE_ID").unwrap(), e.attr("SPOT_TARGET_ID").unwrap()))
        .collect();
    assert_eq!(edges, vec![("10", "11"), ("11", "13")]);
    let gap = t.all("Edge").nth(1).unwrap();
    // (12.5, 5.25, 6) -> (16, 6, 9) over 60 s.
    let d = (3.5f64 * 3.5 + 0.75 * 0.75 + 9.0).sqrt();
    let v: f64 = gap.attr("VELOCITY").unwrap().parse().unwrap();
    assert!((v - d / 60.0).abs() < 1e-12);
    assert_eq!(gap.attr("EDGE_TIME"), Some("60"));
    let ids: Vec<&str> = model
        .child("FilteredTracks")
        .unwrap()
        .all("TrackID")
        .map(|t| t.attr("TRACK_ID").unwrap())
        .collect();
    assert_eq!(ids, vec!["7"]);
    // ImageData: the image's name (escaped and back), size and calibration.
    let im = root.child("Settings").unwrap().child("ImageData").unwrap();
    assert_eq!(im.attr("filename"), Some("mouse 3 & <tumour>.tif"));
    assert_eq!(im.attr("folder"), Some("/data/run 1/"));
    for (k, v) in [
        ("width", "256"),
        ("height", "200"),
        ("nslices", "24"),
        ("nframes", "6"),
        ("pixelwidth", "0.8"),
        ("pixelheight", "0.8"),
        ("voxeldepth", "3"),
        ("timeinterval", "30"),
    ] {
        assert_eq!(im.attr(k), Some(v), "{k}");
    }
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["tracks.xml".to_string()]);
}

#[test]
fn trackmate_2d_text_ids_and_missing_columns() {
    let dir = tmp();
    let path = dir.path().join("tracks.xml");
    let (mut tracks, _) = hand_made(false);
    tracks.track_id = TrackIds::Label(vec!["a_1".into(), "a_1".into(), "b".into(), "a_1".into()]);
    tracks.detection = None;
    // 2D, no detections: spot IDs are rows, radius the default, quality 1; z step unknown is
    // fine for one plane.
    let mut c = cal();
    c.voxel_z_um = None;
    trackmate::write(&path, &tracks, &Detections::new(false), &c, &image(1)).unwrap();
    let root = check_trackmate(&path, true);
    let model = root.child("Model").unwrap();
    let spot =
        model.child("AllSpots").unwrap().child("SpotsInFrame").unwrap().child("Spot").unwrap();
    assert_eq!(spot.attr("ID"), Some("0"));
    assert_eq!(spot.attr("POSITION_Z"), Some("0"));
    assert_eq!(spot.attr("RADIUS"), Some("5"));
    assert_eq!(spot.attr("QUALITY"), Some("1"));
    let t = model.child("AllTracks").unwrap().child("Track").unwrap();
    assert_eq!(t.attr("TRACK_ID"), Some("0"));
    assert_eq!(t.attr("name"), Some("Track_a_1"));
    let im = root.child("Settings").unwrap().child("ImageData").unwrap();
    assert_eq!(im.attr("voxeldepth"), Some("0.8"));
    let back = read_trackmate(&path).unwrap();
    assert!(!back.is_3d());
    assert_eq!(back.frame, vec![0, 1, 3]);
    // Missing calibration is an error naming it; so is a detection row out of range.
    let e = trackmate::write(
        &path,
        &tracks,
        &Detections::new(false),
        &Calibration::default(),
        &image(1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("read.voxel_size_um"), "{e}");
    let (t3, _) = hand_made(true);
    let e = trackmate::write(&path, &t3, &Detections::new(true), &cal(), &image(24)).unwrap_err();
    assert!(e.to_string().contains("detection 10"), "{e}");
}

/// Tracks of the simulator's true positions with some points dropped (so gaps are closed),
/// linked; with the detections they came from.
fn linked_simulation() -> (Tracks, Detections, Calibration) {
    let sc = SynthConfig { frames: 12, size: [160, 160, 12], seed: 5, ..Default::default() };
    let sim = Simulation::new(&sc).unwrap();
    let truth = sim.truth();
    let mut det = Detections::new(true);
    let z = truth.z_um.as_ref().unwrap();
    for i in 0..truth.len() {
        if i % 11 == 5 {
            continue; // missed detections: the linker closes the gaps
        }
        det.push(truth.frame[i], truth.x_um[i], truth.y_um[i], Some(z[i]));
    }
    let n = det.len();
    det.set_column("volume_um3", Column::Float((0..n).map(|i| 300.0 + i as f64).collect()))
        .unwrap();
    det.set_column("quality", Column::Float((0..n).map(|i| 1.0 + (i % 7) as f64).collect()))
        .unwrap();
    let cal = sc.calibration();
    let tracks = link(&det, &cal, &LinkConfig::default(), None).unwrap();
    (tracks, det, cal)
}

/// The rows of each track of two or more points, by first appearance, in frame order.
fn multi_point(t: &Tracks) -> Tracks {
    let rows: Vec<usize> =
        t.rows_by_track().into_iter().filter(|r| r.len() > 1).flatten().collect();
    t.take(&rows)
}

#[test]
fn trackmate_round_trip_keeps_every_track() {
    let (tracks, det, cal) = linked_simulation();
    let gaps = tracks
        .rows_by_track()
        .iter()
        .flat_map(|r| {
            r.windows(2).map(|w| tracks.frame[w[1]] - tracks.frame[w[0]]).collect::<Vec<_>>()
        })
        .filter(|&d| d > 1)
        .count();
    assert!(gaps >= 3, "the scene should have gap-closing links, has {gaps}");
    let dir = tmp();
    let path = dir.path().join("tracks.xml");
    let info = ImageInfo {
        filename: "recording.tif".into(),
        folder: String::new(),
        width: 160,
        height: 160,
        nslices: 12,
        nframes: 12,
    };
    trackmate::write(&path, &tracks, &det, &cal, &info).unwrap();
    check_trackmate(&path, true);
    let back = read_trackmate(&path).unwrap();
    let want = multi_point(&tracks);
    assert!(want.len() >= 80 && want.len() < tracks.len(), "{} of {}", want.len(), tracks.len());
    assert_eq!(back.track_id, want.track_id);
    assert_eq!(back.frame, want.frame);
    assert_eq!(back.t_s, want.t_s);
    assert_eq!(back.x_um, want.x_um);
    assert_eq!(back.y_um, want.y_um);
    assert_eq!(back.z_um, want.z_um);
    // spot_id is the detection row; the radius that of the detection's volume.
    let spot: Vec<u64> =
        back.column("spot_id").unwrap().as_f64().unwrap().iter().map(|&v| v as u64).collect();
    assert_eq!(&spot, want.detection.as_ref().unwrap());
    let radius = back.column("radius_um").unwrap().as_f64().unwrap();
    let vol = det.column("volume_um3").unwrap().as_f64().unwrap();
    for (r, &s) in radius.iter().zip(&spot) {
        let v = 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
        assert!((v - vol[s as usize]).abs() < 1e-9 * v);
    }
}

// ---------------------------------------------------------------------------------------
// TrackMate reader on TrackMate's own files.

fn tm_file(cfg: &str) -> std::path::PathBuf {
    common::shared_data().join(format!("faketracks/trackmate/trackmate_tracks_{cfg}.xml"))
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

#[test]
fn reads_trackmates_files_with_known_counts_links_and_positions() {
    let unit = TrackMateOptions {
        voxel_size: Some(VoxelSize::new(1.0, 1.0, 1.0).unwrap()),
        frame_interval_s: None,
    };
    // (config, TrackMate tracks, imported tracks = branches, points incl. repeated branch spots)
    for (cfg, n_tm, n_tracks, n_points) in [
        ("without_gap_closing", 6, 6, 133),
        ("with_gap_closing", 5, 5, 133),
        ("with_splitting", 3, 7, 137),
        ("with_merging", 4, 6, 135),
        ("with_splitting_merging", 4, 9, 189),
    ] {
        let t = read_trackmate_with(tm_file(cfg), &unit).unwrap();
        assert_eq!(t.rows_by_track().len(), n_tracks, "{cfg}");
        assert_eq!(t.len(), n_points, "{cfg}");
        assert!(!t.is_3d());
        // Every TrackMate link is exactly one step of one imported track.
        let sid = t.column("spot_id").unwrap().as_f64().unwrap();
        let mut steps: Vec<(u64, u64)> = Vec::new();
        for rows in t.rows_by_track() {
            for w in rows.windows(2) {
                steps.push((sid[w[0]] as u64, sid[w[1]] as u64));
            }
        }
        let want: BTreeSet<(u64, u64)> =
            csv_rows(&tm_file(cfg).with_file_name(format!("trackmate_tracks_{cfg}_edges.csv")))
                .iter()
                .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
                .collect();
        let got: BTreeSet<(u64, u64)> = steps.iter().copied().collect();
        assert_eq!(steps.len(), got.len(), "{cfg}: a link in two tracks");
        assert_eq!(got, want, "{cfg}");
        // Positions and frames equal TrackMate's spots table (pixel size 1 µm given).
        let spots: HashMap<u64, (u32, f64, f64)> =
            csv_rows(&tm_file(cfg).with_file_name(format!("trackmate_tracks_{cfg}_spots.csv")))
                .iter()
                .map(|r| {
                    (
                        r[1].parse().unwrap(),
                        (r[2].parse().unwrap(), r[3].parse().unwrap(), r[4].parse().unwrap()),
                    )
                })
                .collect();
        for i in 0..t.len() {
            let (f, x, y) = spots[&(sid[i] as u64)];
            assert_eq!(t.frame[i], f);
            assert!((t.x_um[i] - x).abs() < 1e-9 && (t.y_um[i] - y).abs() < 1e-9);
            assert_eq!(t.t_s[i], f as f64, "timeinterval 1 sec");
        }
        let ids = matches!(t.track_id, TrackIds::Int(_));
        assert_eq!(ids, n_tracks == n_tm, "{cfg}: integer ids exactly when nothing branches");
    }
    // Branch labels: TRACK_ID_k.
    let t = read_trackmate_with(tm_file("with_splitting"), &unit).unwrap();
    let labels: BTreeSet<String> = (0..t.len()).map(|i| t.track_id.label(i)).collect();
    assert!(
        labels.iter().any(|l| l.ends_with("_1")) && labels.iter().any(|l| !l.contains('_')),
        "{labels:?}"
    );
}

#[test]
fn trackmate_units_are_converted_or_refused() {
    // The files are in pixels: refused without a voxel size, scaled with one.
    let e = read_trackmate(tm_file("with_gap_closing")).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    assert!(e.to_string().contains("pixels") && e.to_string().contains("voxel size"), "{e}");
    let opts = TrackMateOptions {
        voxel_size: Some(VoxelSize::new(0.5, 0.25, 2.0).unwrap()),
        frame_interval_s: Some(20.0),
    };
    let t = read_trackmate_with(tm_file("with_gap_closing"), &opts).unwrap();
    let sid = t.column("spot_id").unwrap().as_f64().unwrap();
    let i = sid.iter().position(|&s| s == 901.0).unwrap();
    assert_eq!(t.frame[i], 6);
    assert_eq!(t.t_s[i], 120.0);
    assert!((t.x_um[i] - 59.69799498205203 * 0.5).abs() < 1e-12);
    assert!((t.y_um[i] - 19.52000304051603 * 0.25).abs() < 1e-12);

    // Units in the file: nm and min convert; an unknown unit is named in the error.
    let src = std::fs::read_to_string(tm_file("with_gap_closing")).unwrap();
    let dir = tmp();
    let p = dir.path().join("nm.xml");
    std::fs::write(
        &p,
        src.replace(
            "spatialunits=\"pixel\" timeunits=\"sec\"",
            "spatialunits=\"nm\" timeunits=\"min\"",
        ),
    )
    .unwrap();
    let t = read_trackmate(&p).unwrap();
    let sid = t.column("spot_id").unwrap().as_f64().unwrap();
    let i = sid.iter().position(|&s| s == 901.0).unwrap();
    assert!((t.x_um[i] - 59.69799498205203e-3).abs() < 1e-15);
    assert_eq!(t.t_s[i], 360.0);
    std::fs::write(&p, src.replace("spatialunits=\"pixel\"", "spatialunits=\"furlong\"")).unwrap();
    let e = read_trackmate(&p).unwrap_err().to_string();
    assert!(e.contains("furlong") && e.contains("nm.xml"), "{e}");
    std::fs::write(
        &p,
        src.replace(
            "spatialunits=\"pixel\" timeunits=\"sec\"",
            "spatialunits=\"micron\" timeunits=\"frame\"",
        ),
    )
    .unwrap();
    let e = read_trackmate(&p).unwrap_err().to_string();
    assert!(e.contains("frame interval"), "{e}");
    // Hidden tracks (not in FilteredTracks) are left out.
    std::fs::write(
        &p,
        src.replace("spatialunits=\"pixel\"", "spatialunits=\"µm\"")
            .replace("<TrackID TRACK_ID=\"4\" />", ""),
    )
    .unwrap();
    let t = read_trackmate(&p).unwrap();
    assert_eq!(t.rows_by_track().len(), 4);
    // Not TrackMate, broken XML.
    std::fs::write(&p, "<OME></OME>").unwrap();
    assert!(read_trackmate(&p).unwrap_err().to_string().contains("not a TrackMate file"));
    std::fs::write(&p, &src[..5000]).unwrap();
    assert!(matches!(read_trackmate(&p).unwrap_err(), Error::Format { .. }));
}

// ---------------------------------------------------------------------------------------
// Imaris.

/// An Imaris Position export of our own making: the layout Imaris writes (an empty line, the
/// statistic's name, a `====` line, the header), two tracks, an untracked spot, a
/// trailing comma.
const IMARIS: &str = "\n\
Position\n\
 ==================== \n\
Position X,Position Y,Position Z,Unit,Category,Collection,Time,TrackID,ID,\n\
10.5,20,3,um,Spot,Position,1,1000000000,0,\n\
55,60,6,um,Spot,Position,1,1000000001,1,\n\
11.5,21,3,um,Spot,Position,2,1000000000,2,\n\
80,80,9,um,Spot,Position,2,,3,\n\
13.5,23,6,um,Spot,Position,4,1000000000,4,\n\
56,61000,6000,nm,Spot,Position,2,1000000001,5,\n";

#[test]
fn reads_imaris_position_exports() {
    let dir = tmp();
    let p = dir.path().join("cells_Position.csv");
    std::fs::write(&p, IMARIS).unwrap();
    let t = read_imaris(&p, Some(30.0)).unwrap();
    assert_eq!(
        t.track_id,
        TrackIds::Int(vec![1000000000, 1000000001, 1000000000, 1000000000, 1000000001])
    );
    assert_eq!(t.frame, vec![0, 0, 1, 3, 1]);
    assert_eq!(t.t_s, vec![0.0, 0.0, 30.0, 90.0, 30.0]);
    assert_eq!(t.x_um, vec![10.5, 55.0, 11.5, 13.5, 0.056]);
    assert_eq!(t.y_um, vec![20.0, 60.0, 21.0, 23.0, 61.0]);
    assert_eq!(t.z_um, Some(vec![3.0, 6.0, 3.0, 6.0, 6.0]));
    assert_eq!(t.column("spot_id"), Some(&Column::Float(vec![0.0, 1.0, 2.0, 4.0, 5.0])));
    // The frame interval is required, and named.
    let e = read_imaris(&p, None).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }));
    assert!(
        e.to_string().contains("read.frame_interval_s")
            && e.to_string().contains("cells_Position.csv"),
        "{e}"
    );

    // Latin-1 µm, semicolons, no Position Z, text track ids.
    let latin: Vec<u8> = "Position\n====\nPosition X;Position Y;Unit;Time;TrackID\n1;2;\u{b5}m;1;A\n2;2;\u{b5}m;2;A\n"
        .chars()
        .map(|c| c as u32 as u8)
        .collect();
    std::fs::write(&p, latin).unwrap();
    let t = read_imaris(&p, Some(10.0)).unwrap();
    assert!(!t.is_3d());
    assert_eq!(t.track_id, TrackIds::Label(vec!["A".into(), "A".into()]));
    assert_eq!(t.t_s, vec![0.0, 10.0]);

    // Errors name the line and the cause.
    std::fs::write(&p, IMARIS.replace("13.5,23,6,um", "13.5,23,6,pixel")).unwrap();
    let e = read_imaris(&p, Some(30.0)).unwrap_err().to_string();
    assert!(e.contains("line 9") && e.contains("pixel"), "{e}");
    std::fs::write(&p, IMARIS.replace("Position,2,,3", "Position,0,7,3")).unwrap();
    let e = read_imaris(&p, Some(30.0)).unwrap_err().to_string();
    assert!(e.contains("line 8") && e.contains("Time"), "{e}");
    std::fs::write(&p, "Track Speed Mean,Unit\n1,um/s\n").unwrap();
    assert!(read_imaris(&p, Some(30.0)).unwrap_err().to_string().contains("Position X"));
}

// ---------------------------------------------------------------------------------------
// The metrics command reads every format.

fn leukotrack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn metrics_rows(dir: &Path) -> Vec<Vec<String>> {
    csv_rows(&dir.join("track_metrics.csv"))
}

#[test]
fn metrics_command_reads_trackmate_and_imaris() {
    let dir = tmp();
    let d = dir.path();
    // TrackMate, inferred from .xml; in pixels it needs the voxel size.
    let xml = tm_file("with_gap_closing");
    let out = d.join("tm");
    let (ok, _, err) = leukotrack(&["metrics", xml.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(!ok && err.contains("voxel size") && err.lines().count() == 1, "{err}");
    let (ok, stdout, err) = leukotrack(&[
        "metrics",
        xml.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--voxel-size",
        "0.5,0.5,1",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("5 of 5 tracks"), "{stdout}");
    assert_eq!(metrics_rows(&out).len(), 5);
    // The same tracks as CSV give the same per-track table.
    let tracks = read_trackmate_with(
        &xml,
        &TrackMateOptions {
            voxel_size: Some(VoxelSize::new(0.5, 0.5, 1.0).unwrap()),
            frame_interval_s: None,
        },
    )
    .unwrap();
    let csv_path = d.join("tracks.csv");
    tracks.write_csv(&csv_path).unwrap();
    let out_csv = d.join("csv");
    let (ok, _, err) =
        leukotrack(&["metrics", csv_path.to_str().unwrap(), "-o", out_csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(metrics_rows(&out_csv), metrics_rows(&out));

    // Imaris needs --format and the frame interval.
    let p = d.join("cells_Position.csv");
    std::fs::write(&p, IMARIS).unwrap();
    let out = d.join("imaris");
    let (ok, _, err) = leukotrack(&[
        "metrics",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "imaris",
    ]);
    assert!(!ok && err.contains("frame interval"), "{err}");
    let (ok, _, err) = leukotrack(&[
        "metrics",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "imaris",
        "--frame-interval",
        "30",
    ]);
    assert!(ok, "{err}");
    let rows = metrics_rows(&out);
    assert_eq!(rows.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Cell Tracking Challenge format.

/// Centroid (µm) of each label of a mask.
fn centroids(mask: &ndarray::Array3<u16>, voxel: VoxelSize) -> BTreeMap<u16, [f64; 3]> {
    let mut acc: BTreeMap<u16, [f64; 4]> = BTreeMap::new();
    for ((z, y, x), &v) in mask.indexed_iter() {
        if v > 0 {
            let a = acc.entry(v).or_default();
            a[0] += x as f64 * voxel.x;
            a[1] += y as f64 * voxel.y;
            a[2] += z as f64 * voxel.z;
            a[3] += 1.0;
        }
    }
    acc.into_iter().map(|(k, a)| (k, [a[0] / a[3], a[1] / a[3], a[2] / a[3]])).collect()
}

#[test]
fn ctc_masks_and_lineage_match_the_tracks() {
    let sc = SynthConfig {
        frames: 6,
        size: [96, 96, 10],
        density_per_1e5_um3: 6.0,
        seed: 21,
        ..Default::default()
    };
    let sim = Simulation::new(&sc).unwrap();
    let dir = tmp();
    sim.write(dir.path()).unwrap();
    let rec = Recording::open(dir.path().join("recording.tif")).unwrap();
    // TrackMate's ImageData for this recording: its file, absolute folder and size.
    let info = ImageInfo::from_recording(&rec);
    assert_eq!(info.filename, "recording.tif");
    let folder = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(info.folder, format!("{}/", folder.display()));
    assert_eq!((info.width, info.height, info.nslices, info.nframes), (96, 96, 10, 6));
    let seg_cfg = SegmentConfig::default();
    let det = segment_recording(&rec, 0, &seg_cfg, &|_| true).unwrap();
    let cal = rec.calibration().clone();
    let linked = link(&det, &cal, &LinkConfig::default(), None).unwrap();
    // Curate: take a middle point out of the longest track, leaving a gap-closing link.
    let groups = linked.rows_by_track();
    let longest = groups.iter().max_by_key(|g| g.len()).unwrap();
    assert!(longest.len() >= 5, "{}", longest.len());
    let removed = longest[2];
    let keep: Vec<usize> = (0..linked.len()).filter(|&r| r != removed).collect();
    let tracks = linked.take(&keep);
    let gap_track = linked.track_id.label(removed);

    let out = dir.path().join("01_RES");
    let done = std::sync::Mutex::new(Vec::new());
    ctc_write(&out, &tracks, &det, &rec, &seg_cfg, &|t| done.lock().unwrap().push(t)).unwrap();
    assert_eq!(done.into_inner().unwrap(), (0..6).collect::<Vec<_>>());

    // res_track.txt: the segments of each track; the gap as a parent link.
    let res = ctc::read_track_file(out.join("res_track.txt")).unwrap();
    let (segs, row_label) = ctc::segments(&tracks).unwrap();
    assert_eq!(res, segs);
    let n_tracks = tracks.rows_by_track().len();
    let gap_links = tracks
        .rows_by_track()
        .iter()
        .flat_map(|r| {
            r.windows(2).map(|w| tracks.frame[w[1]] - tracks.frame[w[0]]).collect::<Vec<_>>()
        })
        .filter(|&d| d > 1)
        .count();
    assert_eq!(res.len(), n_tracks + gap_links, "one more segment per gap");
    let parent_of = |c: &CtcTrack| *res.iter().find(|s| s.label == c.parent).unwrap();
    let children: Vec<&CtcTrack> = res.iter().filter(|s| s.parent != 0).collect();
    assert_eq!(children.len(), gap_links);
    for c in &children {
        assert!(parent_of(c).end + 1 < c.begin, "a parent link spans a gap: {c:?}");
    }
    // The curated gap: the segment after it has the one before it as parent.
    let (before, after) = (linked.frame[longest[1]], linked.frame[longest[3]]);
    let curated: Vec<&&CtcTrack> =
        children.iter().filter(|c| c.begin == after && parent_of(c).end == before).collect();
    assert_eq!(curated.len(), 1, "{res:?}");
    let gap_rows: Vec<usize> =
        (0..tracks.len()).filter(|&r| tracks.track_id.label(r) == gap_track).collect();
    for &r in &gap_rows {
        let l = row_label[r];
        if tracks.frame[r] == before {
            assert_eq!(l, curated[0].parent);
        }
        if tracks.frame[r] == after {
            assert_eq!(l, curated[0].label);
        }
    }
    let labels: BTreeSet<u16> = res.iter().map(|s| s.label).collect();
    assert_eq!(labels.len(), res.len());

    // Masks: one per frame, uint16, the recording's size and calibration; each voxel carries
    // the label of the track segment whose detection it belongs to (checked against a fresh
    // segmentation), and each frame holds exactly the segments alive in it.
    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut want_names: BTreeSet<String> = (0..6).map(|t| format!("mask{t:03}.tif")).collect();
    want_names.insert("res_track.txt".into());
    assert_eq!(names, want_names);
    let det_label = det.column("label").unwrap().as_f64().unwrap();
    let mut ctc_of_det: HashMap<u64, u16> = HashMap::new();
    for (r, &d) in tracks.detection.as_ref().unwrap().iter().enumerate() {
        ctc_of_det.insert(d, row_label[r]);
    }
    let voxel = cal.voxel_size_um().unwrap();
    let mut masks = Vec::new();
    let mut tracked_voxels = 0usize;
    for frame in segment::frames(&rec, 0, &seg_cfg).unwrap() {
        let frame = frame.unwrap();
        let (t, seg) = (frame.t, &frame.segmentation);
        (|| -> leukotrack::Result<()> {
            let m = Recording::open(out.join(format!("mask{t:03}.tif")))?;
            let s = m.shape();
            assert_eq!((s.t, s.c, s.z, s.y, s.x), (1, 1, 10, 96, 96));
            assert_eq!(m.stored_dtype(), "uint16");
            assert_eq!(m.calibration().voxel_size_um()?, voxel);
            let Volume::U16(mask) = m.volume(0, 0)? else { panic!("not uint16") };
            // Object label k of this frame -> CTC label.
            let mut want_of_object: HashMap<u32, u16> = HashMap::new();
            for i in 0..det.len() {
                if det.frame[i] as usize == t {
                    want_of_object.insert(
                        det_label[i] as u32,
                        ctc_of_det.get(&(i as u64)).copied().unwrap_or(0),
                    );
                }
            }
            for (v, &got) in seg.labels().iter().zip(mask.iter()) {
                let want = if *v == 0 { 0 } else { want_of_object[v] };
                assert_eq!(got, want, "frame {t}");
                tracked_voxels += (got > 0) as usize;
            }
            let present: BTreeSet<u16> = mask.iter().copied().filter(|&v| v > 0).collect();
            let alive: BTreeSet<u16> = res
                .iter()
                .filter(|s| s.begin as usize <= t && t <= s.end as usize)
                .map(|s| s.label)
                .collect();
            assert_eq!(present, alive, "frame {t}");
            masks.push(mask);
            Ok(())
        })()
        .unwrap();
    }
    assert!(tracked_voxels > 1000);

    // Tracks rebuilt from the CTC files (mask centroids, lineages through parent links) score
    // against the ground truth as the tracks themselves do.
    let root = |mut l: u16| {
        while let Some(s) = res.iter().find(|s| s.label == l && s.parent != 0) {
            l = s.parent;
        }
        l
    };
    let mut rebuilt = Tracks {
        z_um: Some(Vec::new()),
        track_id: TrackIds::Int(Vec::new()),
        ..Default::default()
    };
    for (t, mask) in masks.iter().enumerate() {
        for (l, c) in centroids(mask, voxel) {
            if let TrackIds::Int(v) = &mut rebuilt.track_id {
                v.push(root(l) as u64);
            }
            rebuilt.frame.push(t as u32);
            rebuilt.t_s.push(t as f64 * sc.frame_interval_s);
            rebuilt.x_um.push(c[0]);
            rebuilt.y_um.push(c[1]);
            rebuilt.z_um.as_mut().unwrap().push(c[2]);
        }
    }
    assert_eq!(rebuilt.len(), tracks.len());
    let cfg = EvalConfig::default();
    let direct = score_tracks(sim.truth(), &tracks, &cfg).unwrap();
    let via_ctc = score_tracks(sim.truth(), &rebuilt, &cfg).unwrap();
    eprintln!(
        "CTC export: DET {:.4} TRA {:.4} LNK {:.4} (tracks: DET {:.4} TRA {:.4} LNK {:.4})",
        via_ctc.ctc.det,
        via_ctc.ctc.tra,
        via_ctc.ctc.lnk,
        direct.ctc.det,
        direct.ctc.tra,
        direct.ctc.lnk
    );
    assert!(via_ctc.ctc.tra > 0.85 && via_ctc.ctc.det > 0.85, "{:?}", via_ctc.ctc);
    assert!(
        (via_ctc.ctc.det - direct.ctc.det).abs() <= 0.03,
        "{:?} vs {:?}",
        via_ctc.ctc,
        direct.ctc
    );
    assert!((via_ctc.ctc.tra - direct.ctc.tra).abs() <= 0.03);
    assert_eq!(via_ctc.predicted_links, direct.predicted_links);
}

#[test]
fn ctc_refuses_detections_from_elsewhere() {
    let sc = SynthConfig {
        frames: 2,
        size: [64, 64, 8],
        density_per_1e5_um3: 8.0,
        seed: 4,
        ..Default::default()
    };
    let sim = Simulation::new(&sc).unwrap();
    let dir = tmp();
    sim.write(dir.path()).unwrap();
    let rec = Recording::open(dir.path().join("recording.tif")).unwrap();
    let seg_cfg = SegmentConfig::default();
    let mut det = segment_recording(&rec, 0, &seg_cfg, &|_| true).unwrap();
    assert!(det.len() >= 2);
    let tracks = link(&det, rec.calibration(), &LinkConfig::default(), None).unwrap();
    let out = dir.path().join("res");
    // Without the detection column.
    let mut no_det = tracks.clone();
    no_det.detection = None;
    let e = ctc_write(&out, &no_det, &det, &rec, &seg_cfg, &|_| {}).unwrap_err();
    assert!(e.to_string().contains("detection"), "{e}");
    // Detections moved: not this segmentation's.
    det.x_um[0] += 1.0;
    let e = ctc_write(&out, &tracks, &det, &rec, &seg_cfg, &|_| {}).unwrap_err();
    assert!(matches!(e, Error::Frame { frame: 0, .. }), "{e}");
    assert!(!out.join("res_track.txt").exists());
}

/// The CTC files of `tracks` as `Analysis::save` writes them: a second segmentation pass
/// over the recording feeding `ctc::Writer`; `progress(t)` after each mask.
fn ctc_write(
    out: &std::path::Path,
    tracks: &leukotrack::Tracks,
    det: &leukotrack::Detections,
    rec: &Recording,
    seg_cfg: &SegmentConfig,
    progress: &dyn Fn(usize),
) -> leukotrack::Result<()> {
    let mut w = ctc::Writer::new(out, tracks, det, rec)?;
    for frame in segment::frames(rec, 0, seg_cfg)? {
        let frame = frame?;
        w.write_frame(frame.t, &frame.segmentation)?;
        progress(frame.t);
    }
    w.finish()
}
