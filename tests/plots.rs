//! Plots of an analysis: every PNG decodes at its size and shows the tracks' colours and its
//! text; every SVG parses, carries the axis labels with units and legends with the analysis'
//! own numbers, and puts each track where the µm axes say; empty and NaN inputs give plots,
//! not panics.

use std::collections::HashMap;

use leukotrack::export::plots::{self, Plot, PlotInput, Projection};
use leukotrack::metrics::{self, Analysis, MetricsConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Error, Tracks, Volume};
use ndarray::{Array2, Array3};
use plotters::prelude::*;
use quick_xml::events::Event;

/// A small simulated recording: its ground-truth tracks, their analysis (tracks of fewer than
/// 3 points left out) and the maximum-intensity projection of its first 3 frames.
struct Scene {
    tracks: Tracks,
    analysis: Analysis,
    projection: Projection,
}

fn scene() -> Scene {
    let cfg = SynthConfig {
        frames: 10,
        size: [128, 128, 10],
        density_per_1e5_um3: 6.0,
        seed: 5,
        ..Default::default()
    };
    let sim = Simulation::new(&cfg).unwrap();
    let tracks = sim.truth().clone();
    let analysis =
        metrics::analyze(&tracks, &MetricsConfig { min_points: 3, ..Default::default() }).unwrap();
    let [nx, ny, _] = cfg.size;
    let mut projection = Projection::empty(ny, nx, [cfg.voxel_um[0], cfg.voxel_um[1]]);
    for frame in 0..3 {
        projection.include(&Volume::U16(sim.render(frame, 0).unwrap())).unwrap();
    }
    Scene { tracks, analysis, projection }
}

impl Scene {
    fn input(&self, with_image: bool) -> PlotInput<'_> {
        PlotInput {
            tracks: &self.tracks,
            metrics: &self.analysis,
            projection: with_image.then_some(&self.projection),
            title: "mouse3 tumour",
        }
    }
}

/// A decoded PNG: (width, height, RGB pixels).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Variance of the grey levels (0–255) of an RGB image.
fn variance(rgb: &[u8]) -> f64 {
    let g: Vec<f64> =
        rgb.chunks(3).map(|p| (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0).collect();
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / g.len() as f64
}

/// Pixels within ±3 per channel of `c` in rows `rows` (all rows when `None`).
fn count_colour(rgb: &[u8], w: u32, c: [u8; 3], rows: Option<std::ops::Range<u32>>) -> usize {
    let rows = rows.unwrap_or(0..(rgb.len() / 3 / w as usize) as u32);
    rgb.chunks(3)
        .enumerate()
        .filter(|(i, _)| rows.contains(&((*i / w as usize) as u32)))
        .filter(|(_, p)| (0..3).all(|k| (p[k] as i32 - c[k] as i32).abs() <= 3))
        .count()
}

/// One SVG element: its name, attributes and text.
#[derive(Debug, Clone)]
struct El {
    name: String,
    attrs: HashMap<String, String>,
    text: String,
}

/// Every element of an SVG, in document order; panics on malformed XML.
fn parse_svg(svg: &str) -> Vec<El> {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut out: Vec<El> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let el = |e: &quick_xml::events::BytesStart| El {
        name: e.name().as_ref().to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap();
                (a.key.as_ref().to_string(), v.into_owned())
            })
            .collect(),
        text: String::new(),
    };
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Start(e) => {
                open.push(out.len());
                out.push(el(&e));
            }
            Event::Empty(e) => out.push(el(&e)),
            Event::End(_) => {
                open.pop().expect("balanced tags");
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(t.xml_content(quick_xml::XmlVersion::Implicit1_0).trim());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = open.last() {
                    let name = r.xml_content(quick_xml::XmlVersion::Implicit1_0).into_owned();
                    let c = match name.as_str() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        _ => "'",
                    };
                    out[i].text.push_str(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    assert_eq!(out[0].name, "svg");
    out
}

fn texts(els: &[El]) -> Vec<String> {
    els.iter().filter(|e| e.name == "text").map(|e| e.text.replace('\u{2212}', "-")).collect()
}

#[track_caller]
fn assert_has_text(texts: &[String], want: &str) {
    assert!(texts.iter().any(|t| t.contains(want)), "no text containing {want:?} in {texts:#?}");
}

/// The number after `key` in the first text containing it (e.g. "M = " → 8.41).
fn number_after(texts: &[String], key: &str) -> f64 {
    let t = texts.iter().find(|t| t.contains(key)).unwrap_or_else(|| panic!("no {key:?}"));
    let rest = &t[t.find(key).unwrap() + key.len()..];
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(rest.len());
    rest[..end].parse().unwrap_or_else(|_| panic!("no number after {key:?} in {t:?}"))
}

#[track_caller]
fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: shown {got}, value {want}");
}

fn finite_mean(v: &[f64]) -> (usize, f64) {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    (f.len(), f.iter().sum::<f64>() / f.len() as f64)
}

#[test]
fn every_plot_is_written_as_a_readable_png_and_svg() {
    let s = scene();
    let input = s.input(true);
    let dir = tempfile::tempdir().unwrap();
    let files = plots::write_all(&dir.path().join("plots"), &input).unwrap();
    let names: Vec<String> =
        files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let want: Vec<String> = ["tracks", "rose", "msd", "speed", "straightness", "arrest"]
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    assert_eq!(names, want);
    // Nothing else (no temporary files) is left in the folder.
    assert_eq!(std::fs::read_dir(dir.path().join("plots")).unwrap().count(), 12);

    let first = s.analysis.track_metrics.track_id.label(0);
    let first_index = s
        .tracks
        .rows_by_track()
        .iter()
        .position(|r| s.tracks.track_id.label(r[0]) == first)
        .unwrap();
    for plot in Plot::ALL {
        let bytes =
            std::fs::read(dir.path().join("plots").join(format!("{}.png", plot.name()))).unwrap();
        let (w, h, rgb) = decode_png(&bytes);
        assert_eq!((w, h), plots::canvas_size(plot, &input), "{plot:?}");
        let var = variance(&rgb);
        assert!(var > 300.0, "{plot:?}: grey-level variance {var:.0}: a blank picture?");
        // Text was drawn (the embedded font, no system font needed): dark title pixels.
        let ink = count_colour(&rgb, w, [30, 30, 30], Some(0..40));
        assert!(ink > 150, "{plot:?}: {ink} title pixels");
        // The plot's own colours are there.
        let colour = match plot {
            Plot::Tracks => plots::track_colour(first_index, true),
            Plot::Rose => plots::track_colour(first_index, false),
            Plot::Msd => [34, 78, 140],
            _ => [76, 114, 176],
        };
        let n = count_colour(&rgb, w, colour, None);
        assert!(n > 20, "{plot:?}: {n} pixels of {colour:?}");
    }
}

#[test]
fn svgs_carry_axis_units_and_the_analysis_numbers() {
    let s = scene();
    let input = s.input(true);
    let svg = |plot| parse_svg(&plots::render_svg(plot, &input).unwrap());
    let summary = &s.analysis.summary;
    let m = &s.analysis.track_metrics;

    let t = texts(&svg(Plot::Tracks));
    assert_has_text(&t, "mouse3 tumour");
    assert_has_text(&t, "x (µm)");
    assert_has_text(&t, "y (µm)");
    assert_has_text(&t, &format!("a track, one colour each (n = {})", m.track_id.len()));
    let n_all = s.tracks.rows_by_track().len();
    assert!(n_all > m.track_id.len(), "the scene should leave short tracks out");
    assert_has_text(&t, &format!("left out of the analysis (n = {})", n_all - m.track_id.len()));
    assert_has_text(&t, "start of a track");
    assert_has_text(&t, " µm"); // the scale bar

    let t = texts(&svg(Plot::Rose));
    assert_has_text(&t, "Δx (µm)");
    assert_has_text(&t, "Δy (µm)");
    // Mean net xy displacement of the analysed tracks, computed here from the tracks.
    let analysed: std::collections::HashSet<String> =
        (0..m.track_id.len()).map(|i| m.track_id.label(i)).collect();
    let nets: Vec<f64> = s
        .tracks
        .rows_by_track()
        .into_iter()
        .filter(|r| analysed.contains(&s.tracks.track_id.label(r[0])))
        .map(|r| {
            let (a, b) = (r[0], *r.last().unwrap());
            (s.tracks.x_um[b] - s.tracks.x_um[a]).hypot(s.tracks.y_um[b] - s.tracks.y_um[a])
        })
        .collect();
    let mean_net = nets.iter().sum::<f64>() / nets.len() as f64;
    assert_rel(
        number_after(&t, "mean net displacement "),
        mean_net,
        0.006,
        "mean net displacement",
    );

    let t = texts(&svg(Plot::Msd));
    assert_has_text(&t, "lag time (min)");
    assert_has_text(&t, "MSD (µm²)");
    assert_has_text(&t, "µm²/min");
    assert_has_text(&t, "MSD ± SEM");
    let fit = &summary.msd_fit;
    assert!(fit.motility_coefficient_um2_per_min.is_finite());
    let legend: Vec<String> = t.iter().filter(|x| x.starts_with("linear fit")).cloned().collect();
    assert_rel(number_after(&legend, "M = "), fit.motility_coefficient_um2_per_min, 0.006, "M");
    assert!((number_after(&legend, "R² = ") - fit.r_squared).abs() <= 0.0005, "R²");
    let [a, b] = fit.lag_frames.unwrap();
    assert_has_text(&t, &format!("linear fit, lags {a}–{b}"));

    for (plot, values, x_desc, unit) in [
        (Plot::Speed, &m.speed_um_per_min, "(µm/min)", " µm/min"),
        (Plot::Straightness, &m.straightness, "straightness", ""),
        (Plot::Arrest, &m.arrest_coefficient, "arrest coefficient", ""),
    ] {
        let t = texts(&svg(plot));
        let (n, mean) = finite_mean(values);
        assert_has_text(&t, x_desc);
        assert_has_text(&t, "tracks");
        assert_has_text(&t, &format!("n = {n} tracks"));
        assert_has_text(&t, &format!("(n = {n})"));
        assert_rel(number_after(&t, "mean "), mean, 0.006, &format!("{plot:?} mean"));
        if !unit.is_empty() {
            let legend = t.iter().find(|x| x.starts_with("mean ")).unwrap();
            assert!(legend.ends_with(unit), "{legend}");
        }
    }
}

/// Points of an SVG `<polyline>`.
fn polyline_points(e: &El) -> Vec<(f64, f64)> {
    e.attrs["points"]
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

#[test]
fn tracks_lie_where_the_axes_say_over_the_embedded_image() {
    let s = scene();
    let input = s.input(true);
    let svg = plots::render_svg(Plot::Tracks, &input).unwrap();
    let els = parse_svg(&svg);
    // One embedded image: a grey PNG of the size it is drawn at, spanning the pixel edges
    // −px/2 … (n − ½)·px of the projection.
    let images: Vec<&El> = els.iter().filter(|e| e.name == "image").collect();
    assert_eq!(images.len(), 1);
    let img = images[0];
    let href = &img.attrs["xlink:href"];
    let b64 = href.strip_prefix("data:image/png;base64,").unwrap();
    let png_bytes = base64_decode(b64);
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes[..])).read_info().unwrap();
    let info = decoder.info();
    let attr = |k: &str| img.attrs[k].parse::<f64>().unwrap();
    let (ix, iy, iw, ih) = (attr("x"), attr("y"), attr("width"), attr("height"));
    assert_eq!((info.width as f64, info.height as f64), (iw, ih));
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    // Square pixels: as many screen pixels per µm on both axes.
    let (ny, nx) = s.projection.image.dim();
    let [px, py] = s.projection.pixel_um;
    let (sx, sy) = (iw / (nx as f64 * px), ih / (ny as f64 * py));
    assert!((sx - sy).abs() / sx < 0.01, "{sx} vs {sy} px/µm");
    let to_screen = |x: f64, y: f64| (ix + (x + px / 2.0) * sx, iy + (y + py / 2.0) * sy);

    // Every analysed track is a polyline of its colour starting where its first point maps
    // (origin top left, y down), within a pixel or two.
    let analysed: std::collections::HashSet<String> = (0..s.analysis.track_metrics.track_id.len())
        .map(|i| s.analysis.track_metrics.track_id.label(i))
        .collect();
    let mut checked = 0;
    for (index, rows) in s.tracks.rows_by_track().into_iter().enumerate() {
        if !analysed.contains(&s.tracks.track_id.label(rows[0])) {
            continue;
        }
        let [r, g, b] = plots::track_colour(index, true);
        let stroke = format!("#{r:02X}{g:02X}{b:02X}");
        let line = els
            .iter()
            .find(|e| e.name == "polyline" && e.attrs.get("stroke") == Some(&stroke))
            .unwrap_or_else(|| panic!("no polyline of colour {stroke}"));
        let pts = polyline_points(line);
        assert_eq!(pts.len(), rows.len());
        for (p, &row) in pts.iter().zip(&rows) {
            let want = to_screen(s.tracks.x_um[row], s.tracks.y_um[row]);
            assert!(
                (p.0 - want.0).abs() <= 1.5 && (p.1 - want.1).abs() <= 1.5,
                "{p:?} vs {want:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, analysed.len());
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (k, &c) in chunk.iter().enumerate() {
            n |= u32::from(val(c)) << (18 - 6 * k);
        }
        for k in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    out
}

#[test]
fn no_tracks_give_plots_that_say_so() {
    let tracks = Tracks::default();
    let analysis = metrics::analyze(&tracks, &MetricsConfig::default()).unwrap();
    for projection in
        [None, Some(Projection { image: Array2::from_elem((40, 60), 5.0), pixel_um: [0.5, 0.5] })]
    {
        let input = PlotInput {
            tracks: &tracks,
            metrics: &analysis,
            projection: projection.as_ref(),
            title: "empty",
        };
        let dir = tempfile::tempdir().unwrap();
        let files = plots::write_all(dir.path(), &input).unwrap();
        assert_eq!(files.len(), 12);
        for plot in Plot::ALL {
            let t = texts(&parse_svg(&plots::render_svg(plot, &input).unwrap()));
            assert_has_text(&t, "no tracks");
            let (w, h, rgb) = decode_png(
                &std::fs::read(dir.path().join(format!("{}.png", plot.name()))).unwrap(),
            );
            assert_eq!((w, h), plots::canvas_size(plot, &input));
            assert!(variance(&rgb) > 50.0, "{plot:?}");
        }
    }
}

#[test]
fn nan_values_are_skipped() {
    let mut s = scene();
    // Undefined per-track values (as for one-point tracks) and a point without a position.
    let m = &mut s.analysis.track_metrics;
    m.speed_um_per_min[0] = f64::NAN;
    m.straightness[1] = f64::NAN;
    m.arrest_coefficient[2] = f64::NAN;
    s.analysis.msd.msd_um2[1] = f64::NAN;
    s.analysis.msd.sem_um2[2] = f64::NAN;
    s.tracks.x_um[3] = f64::NAN;
    s.projection.image[[0, 0]] = f32::NAN;
    s.projection.image[[0, 1]] = f32::INFINITY;
    let input = s.input(true);
    let dir = tempfile::tempdir().unwrap();
    plots::write_all(dir.path(), &input).unwrap();
    let n = s.analysis.track_metrics.track_id.len();
    for plot in [Plot::Speed, Plot::Straightness, Plot::Arrest] {
        let svg = plots::render_svg(plot, &input).unwrap();
        assert!(!svg.contains("NaN"), "{plot:?}");
        let t = texts(&parse_svg(&svg));
        assert_has_text(&t, &format!("n = {} tracks", n - 1));
        assert_has_text(&t, &format!("(1 of {n} undefined)"));
    }
    for plot in Plot::ALL {
        for e in parse_svg(&plots::render_svg(plot, &input).unwrap()) {
            for (k, v) in e.attrs.iter().filter(|(k, _)| *k != "xlink:href") {
                assert!(!v.contains("NaN") && !v.contains("inf"), "{plot:?}: {} {k}={v}", e.name);
            }
        }
    }
    // The MSD plot shows one point fewer than there are lags (+ its legend's samples).
    let msd = &s.analysis.msd;
    let els = parse_svg(&plots::render_svg(Plot::Msd, &input).unwrap());
    let radius = els.iter().find(|e| e.name == "circle").map(|e| e.attrs["r"].clone()).unwrap();
    let points = els.iter().filter(|e| e.name == "circle" && e.attrs["r"] == radius).count();
    let few_pairs = (0..msd.len()).any(|i| i != 1 && (msd.n[i] as f64) < msd.n[0] as f64 / 2.0);
    assert_eq!(points, msd.len() - 1 + 1 + usize::from(few_pairs));
}

#[test]
fn plots_draw_on_any_backend_size_and_refuse_tiny_ones() {
    let s = scene();
    let input = s.input(true);
    let (w, h) = (640u32, 480u32);
    for plot in Plot::ALL {
        let mut buf = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            plots::draw(plot, &root, &input).unwrap();
            root.present().unwrap();
        }
        assert!(variance(&buf) > 300.0, "{plot:?}");
    }
    let mut buf = vec![0u8; 200 * 100 * 3];
    let root = BitMapBackend::with_buffer(&mut buf, (200, 100)).into_drawing_area();
    let e = plots::draw(Plot::Msd, &root, &input).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    let bad = Projection { image: Array2::zeros((4, 4)), pixel_um: [0.0, 1.0] };
    let input = PlotInput { projection: Some(&bad), ..input };
    assert!(matches!(plots::render_png(Plot::Tracks, &input), Err(Error::InvalidParameter { .. })));
}

#[test]
fn the_projection_is_the_maximum_over_z_and_time() {
    let mut p = Projection::empty(2, 3, [0.5, 0.5]);
    let a = Array3::from_shape_fn((2, 2, 3), |(z, y, x)| (z * 10 + y * 3 + x) as u16);
    p.include(&Volume::U16(a)).unwrap();
    let b =
        Array3::from_shape_fn((1, 2, 3), |(_, y, x)| if (y, x) == (0, 0) { 100.0 } else { 0.0 });
    p.include(&Volume::F32(b)).unwrap();
    let want = Array2::from_shape_vec((2, 3), vec![100.0, 11.0, 12.0, 13.0, 14.0, 15.0]).unwrap();
    assert_eq!(p.image, want);
    assert_eq!(p.extent_um(), [[-0.25, 1.25], [-0.25, 0.75]]);
    let e = p.include(&Volume::U8(Array3::zeros((1, 3, 3)))).unwrap_err();
    assert!(e.to_string().contains("3 × 3"), "{e}");
}

#[test]
fn files_are_replaced_atomically_and_errors_name_the_folder() {
    let s = scene();
    let input = s.input(false);
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let e = plots::write_all(&blocker, &input).unwrap_err();
    assert!(e.to_string().contains("not-a-folder"), "{e}");
    let out = dir.path().join("out");
    plots::write_all(&out, &input).unwrap();
    plots::write_all(&out, &input).unwrap(); // written again over the first
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 12);
}
