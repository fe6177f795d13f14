//! Every TIFF layout the reader handles: the tifffile-written data set (OME in all dimension
//! orders, BigTIFF, tiled, plain pages, a folder series), and files generated here for what the
//! data set lacks (codecs × byte orders × strips/tiles × sample types, OME DeltaT and
//! multi-file datasets, ScanImage, Prairie View).

mod common;

use std::path::Path;

use common::tiffgen::{formula, formula_plane, tiff_bytes, Codec, Sample, Spec};
use leukotrack::io::Format;
use leukotrack::{Error, PageOrder, ReadOptions, Recording, Source};
use serde_json::Value;

fn expected() -> Vec<Value> {
    let text =
        std::fs::read_to_string(common::shared_data().join("tiff-layouts/expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// Checks every voxel of `rec` against `want(t, c, z, y, x)`.
fn check_voxels(rec: &Recording, want: impl Fn(usize, usize, usize, usize, usize) -> f64) {
    let s = rec.shape();
    for t in 0..s.t {
        for c in 0..s.c {
            let v = rec.volume(t, c).unwrap_or_else(|e| panic!("t={t} c={c}: {e}"));
            for ((z, y, x), &got) in v.to_f32().indexed_iter() {
                assert_eq!(
                    got as f64,
                    want(t, c, z, y, x),
                    "{}: t={t} c={c} z={z} y={y} x={x}",
                    rec.path().display()
                );
            }
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn tifffile_layouts_match_expected_json() {
    let dir = common::shared_data().join("tiff-layouts");
    let mut n = 0;
    for e in expected() {
        let name = e["file"].as_str().unwrap();
        if name.starts_with("imagej_") {
            continue; // tests/io_imagej.rs
        }
        n += 1;
        let shape: Vec<usize> = e["shape_tczyx"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let opts = if name == "plain_pages.tif" {
            ReadOptions { shape: Some((shape[0], shape[1], shape[2])), ..Default::default() }
        } else {
            ReadOptions::default()
        };
        let rec =
            Recording::open_with(dir.join(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = rec.shape();
        assert_eq!(vec![s.t, s.c, s.z, s.y, s.x], shape, "{name}");
        assert_eq!(rec.dtype().name(), e["dtype"].as_str().unwrap(), "{name}");
        let cal = rec.calibration();
        for (key, got) in [
            ("voxel_x_um", cal.voxel_x_um),
            ("voxel_y_um", cal.voxel_y_um),
            ("voxel_z_um", cal.voxel_z_um),
            ("frame_interval_s", cal.frame_interval_s),
        ] {
            match e[key].as_f64() {
                Some(want) => {
                    let got = got.unwrap_or_else(|| panic!("{name}: no {key}"));
                    assert!(close(got.value, want), "{name}: {key} {} vs {want}", got.value);
                    assert_eq!(got.source, Source::File);
                }
                None => assert!(got.is_none(), "{name}: {key} should be unknown"),
            }
        }
        let format = rec.format();
        if name.starts_with("ome_") {
            assert_eq!(format, Format::Ome, "{name}");
        } else if name == "series/" {
            assert_eq!(format, Format::Series);
            assert_eq!(rec.files().count(), 12);
            check_voxels(&rec, |t, _, z, y, x| formula(t, 0, z, y, x));
            continue;
        }
        check_voxels(&rec, formula);
    }
    assert_eq!(n, 10);
}

#[test]
fn series_by_glob_in_natural_order_with_shape_override() {
    let dir = common::shared_data().join("tiff-layouts/series");
    let rec = Recording::open(dir.join("stack_t*.tif")).unwrap();
    assert_eq!((rec.shape().t, rec.shape().z), (12, 4));
    let names: Vec<String> =
        rec.files().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names[1], "stack_t2.tif");
    assert_eq!(names[9], "stack_t10.tif");
    check_voxels(&rec, |t, _, z, y, x| formula(t, 0, z, y, x));
    // A glob matching a subset.
    let rec = Recording::open(dir.join("stack_t1?.tif")).unwrap();
    assert_eq!(rec.shape().t, 3);
    assert_eq!(rec.volume(0, 0).unwrap().to_f32()[[1, 0, 0]], formula(9, 0, 1, 0, 0) as f32);
    // A shape override over a series is per file: T must be a multiple of the files.
    let opts = ReadOptions { shape: Some((24, 1, 2)), ..Default::default() };
    let rec = Recording::open_with(&dir, &opts).unwrap();
    assert_eq!((rec.shape().t, rec.shape().z), (24, 2));
    assert_eq!(rec.volume(3, 0).unwrap().to_f32()[[1, 0, 0]], formula(1, 0, 3, 0, 0) as f32);
    let bad = ReadOptions { shape: Some((13, 1, 4)), ..Default::default() };
    let e = Recording::open_with(&dir, &bad).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "shape"), "{e}");
    let e = Recording::open(dir.join("nothing_*.tif")).unwrap_err().to_string();
    assert!(e.contains("no file matches"), "{e}");
}

/// (t, c, z) = (2, 1, 3) plain pages of the formula in ImageJ order, written per `spec`.
fn write_plain(path: &Path, spec: &Spec) {
    let (h, w) = (spec.height as usize, spec.width as usize);
    let mut pages = Vec::new();
    for t in 0..2 {
        for z in 0..3 {
            let mut p = formula_plane(t, 0, z, h, w);
            if spec.sample == Sample::U8 {
                p.iter_mut().for_each(|v| *v %= 256.0);
            }
            if spec.sample == Sample::I16 {
                p.iter_mut().for_each(|v| *v = -*v);
            }
            pages.push(p);
        }
    }
    std::fs::write(path, tiff_bytes(spec, &pages)).unwrap();
}

#[test]
fn every_codec_byte_order_chunking_and_sample_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.tif");
    let opts = ReadOptions { shape: Some((2, 1, 3)), ..Default::default() };
    let mut n = 0;
    for big_endian in [false, true] {
        for bigtiff in [false, true] {
            for codec in [Codec::None, Codec::Deflate, Codec::Lzw, Codec::PackBits] {
                for tile in [None, Some((16, 16))] {
                    for sample in [Sample::U8, Sample::U16, Sample::I16, Sample::F32] {
                        for predictor in [false, true] {
                            if predictor && (sample == Sample::F32 || codec == Codec::None) {
                                continue;
                            }
                            let spec = Spec {
                                big_endian,
                                bigtiff,
                                codec,
                                tile,
                                sample,
                                predictor,
                                rows_per_strip: 4,
                                width: 21,
                                height: 13,
                                ..Default::default()
                            };
                            write_plain(&path, &spec);
                            let rec = Recording::open_with(&path, &opts)
                                .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
                            let want_dtype = match sample {
                                Sample::U8 => "uint8",
                                Sample::U16 => "uint16",
                                Sample::I16 | Sample::F32 => "float32",
                            };
                            assert_eq!(rec.dtype().name(), want_dtype);
                            let s = rec.shape();
                            assert_eq!((s.t, s.c, s.z, s.y, s.x), (2, 1, 3, 13, 21));
                            check_voxels(&rec, |t, c, z, y, x| {
                                let v = formula(t, c, z, y, x);
                                match sample {
                                    Sample::U8 => v % 256.0,
                                    Sample::I16 => -v,
                                    _ => v,
                                }
                            });
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(n, 2 * 2 * (8 + 3 * 2 * 7));
}

#[test]
fn stacks_lying_end_to_end_in_either_byte_order() {
    // 8×6 uint16 planes are 96 bytes: the generator lays them end to end, so each stack is
    // read with one positioned read (then byte-swapped for big-endian files).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contiguous.tif");
    for big_endian in [false, true] {
        let spec = Spec { big_endian, ..Default::default() };
        let pages: Vec<Vec<f64>> =
            (0..2).flat_map(|t| (0..3).map(move |z| formula_plane(t, 0, z, 6, 8))).collect();
        std::fs::write(&path, tiff_bytes(&spec, &pages)).unwrap();
        let rec = Recording::open_with(
            &path,
            &ReadOptions { shape: Some((2, 1, 3)), ..Default::default() },
        )
        .unwrap();
        check_voxels(&rec, formula);
    }
}

#[test]
fn files_from_the_tiff_crate_encoder() {
    use tiff::encoder::{colortype, Compression, TiffEncoder};
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (19u32, 11u32);
    for (name, compression) in [
        ("packbits.tif", Compression::Packbits),
        ("lzw.tif", Compression::Lzw),
        ("deflate.tif", Compression::Deflate(Default::default())),
    ] {
        let path = dir.path().join(name);
        let mut enc = TiffEncoder::new(std::fs::File::create(&path).unwrap())
            .unwrap()
            .with_compression(compression);
        for z in 0..4 {
            let data: Vec<u16> = (0..w * h)
                .map(|i| formula(0, 0, z, (i / w) as usize, (i % w) as usize) as u16)
                .collect();
            enc.write_image::<colortype::Gray16>(w, h, &data).unwrap();
        }
        drop(enc);
        let rec = Recording::open(&path).unwrap();
        assert_eq!(rec.shape().z, 4, "{name}");
        check_voxels(&rec, formula);
    }
    let path = dir.path().join("big.tif");
    let mut enc = TiffEncoder::new_big(std::fs::File::create(&path).unwrap()).unwrap();
    let data: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
    enc.write_image::<colortype::Gray8>(w, h, &data).unwrap();
    drop(enc);
    let v = Recording::open(&path).unwrap().volume(0, 0).unwrap();
    assert_eq!(v.to_f32().iter().map(|&x| x as u8).collect::<Vec<_>>(), data);
}

#[test]
fn plain_pages_in_another_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ztc.tif");
    let (t_n, c_n, z_n) = (2, 3, 4);
    let mut pages = Vec::new();
    // Pages with Z fastest, then T, then C.
    for c in 0..c_n {
        for t in 0..t_n {
            for z in 0..z_n {
                pages.push(formula_plane(t, c, z, 6, 8));
            }
        }
    }
    std::fs::write(&path, tiff_bytes(&Spec::default(), &pages)).unwrap();
    let opts = ReadOptions {
        shape: Some((t_n, c_n, z_n)),
        page_order: Some(PageOrder::parse("ztc").unwrap()),
        ..Default::default()
    };
    let rec = Recording::open_with(&path, &opts).unwrap();
    check_voxels(&rec, formula);
}

// ---------------------------------------------------------------- OME-TIFF

fn ome_xml(uuid: &str, pixels_attrs: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" UUID=\"{uuid}\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" {pixels_attrs}><Channel ID=\"Channel:0:0\" SamplesPerPixel=\"1\"/>{inner}</Pixels></Image></OME>"
    )
}

#[test]
fn ome_delta_t_gives_per_frame_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dt.ome.tif");
    let (t_n, z_n) = (3, 2);
    let mut planes = String::from("<TiffData IFD=\"0\" PlaneCount=\"6\"/>");
    for t in 0..t_n {
        for z in 0..z_n {
            // Milliseconds; irregular intervals.
            let dt = [0.0, 31_000.0, 65_000.0][t] + z as f64 * 100.0;
            planes += &format!(
                "<Plane TheZ=\"{z}\" TheT=\"{t}\" TheC=\"0\" DeltaT=\"{dt}\" DeltaTUnit=\"ms\"/>"
            );
        }
    }
    let xml = ome_xml(
        "urn:uuid:1",
        "DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"1\" SizeT=\"3\" PhysicalSizeX=\"0.5\" PhysicalSizeY=\"0.5\" PhysicalSizeZ=\"3\" PhysicalSizeZUnit=\"µm\"",
        &planes,
    );
    let pages: Vec<Vec<f64>> =
        (0..t_n).flat_map(|t| (0..z_n).map(move |z| formula_plane(t, 0, z, 6, 8))).collect();
    let spec = Spec { description: Some(xml), ..Default::default() };
    std::fs::write(&path, tiff_bytes(&spec, &pages)).unwrap();
    let rec = Recording::open(&path).unwrap();
    let cal = rec.calibration();
    assert_eq!(cal.frame_times_s.as_deref(), Some(&[0.0, 31.0, 65.0][..]));
    assert_eq!(cal.time_s(2), Some(65.0));
    // No TimeIncrement: the interval is the mean of the DeltaT steps.
    assert!(close(cal.frame_interval_s.unwrap().value, 32.5));
    assert_eq!(cal.voxel_z_um.unwrap().value, 3.0);
    check_voxels(&rec, formula);
}

/// A two-file OME dataset: timepoints 0-1 in a.ome.tif, 2 in b.ome.tif, each file carrying
/// the full metadata with its own UUID.
fn write_multifile(dir: &Path, with_b: bool) {
    let (c_n, z_n) = (2, 2);
    let attrs = "DimensionOrder=\"XYCZT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"3\" PhysicalSizeX=\"0.8\" PhysicalSizeY=\"0.8\" PhysicalSizeZ=\"2\" TimeIncrement=\"0.5\" TimeIncrementUnit=\"min\"";
    let tiffdata = "<TiffData FirstT=\"0\" IFD=\"0\" PlaneCount=\"8\"><UUID FileName=\"a.ome.tif\">urn:uuid:a</UUID></TiffData><TiffData FirstT=\"2\" IFD=\"0\" PlaneCount=\"4\"><UUID FileName=\"b.ome.tif\">urn:uuid:b</UUID></TiffData>";
    for (name, uuid, ts) in [("a.ome.tif", "urn:uuid:a", 0..2), ("b.ome.tif", "urn:uuid:b", 2..3)] {
        if name == "b.ome.tif" && !with_b {
            continue;
        }
        let mut pages = Vec::new();
        for t in ts {
            for z in 0..z_n {
                for c in 0..c_n {
                    pages.push(formula_plane(t, c, z, 6, 8));
                }
            }
        }
        let spec = Spec { description: Some(ome_xml(uuid, attrs, tiffdata)), ..Default::default() };
        std::fs::write(dir.join(name), tiff_bytes(&spec, &pages)).unwrap();
    }
}

#[test]
fn ome_multi_file_dataset() {
    let dir = tempfile::tempdir().unwrap();
    write_multifile(dir.path(), true);
    for opened in ["a.ome.tif", "b.ome.tif"] {
        let rec = Recording::open(dir.path().join(opened)).unwrap();
        let s = rec.shape();
        assert_eq!((s.t, s.c, s.z), (3, 2, 2), "{opened}");
        assert_eq!(rec.files().count(), 2);
        assert_eq!(rec.calibration().frame_interval_s.unwrap().value, 30.0);
        check_voxels(&rec, formula);
    }
    // The folder holding the dataset is the dataset (not each file's copy of it).
    let rec = Recording::open(dir.path()).unwrap();
    assert_eq!((rec.format(), rec.shape().t, rec.files().count()), (Format::Ome, 3, 2));
    // The other file missing: a clear error naming it.
    let dir = tempfile::tempdir().unwrap();
    write_multifile(dir.path(), false);
    let e = Recording::open(dir.path().join("a.ome.tif")).unwrap_err();
    assert!(matches!(e, Error::Metadata { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("b.ome.tif") && msg.contains("missing"), "{msg}");
}

#[test]
fn ome_companion_file() {
    let dir = tempfile::tempdir().unwrap();
    write_multifile(dir.path(), true);
    // Move the metadata into a companion file; the TIFFs point to it with BinaryOnly.
    let full = ome_xml(
        "urn:uuid:c",
        "DimensionOrder=\"XYCZT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"3\"",
        "<TiffData IFD=\"0\" PlaneCount=\"8\"><UUID FileName=\"a.ome.tif\">urn:uuid:a</UUID></TiffData><TiffData FirstT=\"2\" PlaneCount=\"4\"><UUID FileName=\"b.ome.tif\">urn:uuid:b</UUID></TiffData>",
    );
    std::fs::write(dir.path().join("set.companion.ome"), &full).unwrap();
    let rec = Recording::open(dir.path().join("set.companion.ome")).unwrap();
    assert_eq!(rec.shape().t, 3);
    check_voxels(&rec, formula);
}

fn write_ome(path: &Path, attrs: &str, inner: &str, pages: usize) {
    let spec =
        Spec { description: Some(ome_xml("urn:uuid:x", attrs, inner)), ..Default::default() };
    let pages: Vec<Vec<f64>> = (0..pages).map(|z| formula_plane(0, 0, z, 6, 8)).collect();
    std::fs::write(path, tiff_bytes(&spec, &pages)).unwrap();
}

#[test]
fn ome_metadata_disagreeing_with_the_pages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.ome.tif");
    let ok = "DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"4\" SizeC=\"1\" SizeT=\"1\"";
    write_ome(&p, ok, "<TiffData IFD=\"0\" PlaneCount=\"4\"/>", 4);
    assert_eq!(Recording::open(&p).unwrap().shape().z, 4);
    for (attrs, inner, pages, why) in [
        (ok.replace("SizeX=\"8\"", "SizeX=\"9\""), "", 4, "SizeX=9"),
        (ok.replace("uint16", "uint8"), "", 4, "Type=uint8"),
        (ok.replace("uint16", "int32"), "", 4, "int32"),
        (ok.to_string(), "<TiffData IFD=\"2\" PlaneCount=\"4\"/>", 4, "goes past"),
        (ok.to_string(), "<TiffData IFD=\"0\" PlaneCount=\"2\"/>", 4, "assign no page to 2"),
        (ok.to_string(), "", 3, "hold only 3 pages"),
        (ok.replace("SizeT=\"1\"", "SizeT=\"1000000000000\""), "", 4, "not plausible"),
        (ok.replace("SizeT=\"1\"", "SizeT=\"100000\""), "", 4, "hold only 4 pages"),
        (ok.replace("XYZCT", "XYZQT"), "", 4, "DimensionOrder"),
        (ok.to_string(), "<TiffData FirstZ=\"7\"/>", 4, "FirstZ=7"),
    ] {
        write_ome(&p, &attrs, inner, pages);
        let t0 = std::time::Instant::now();
        let e = Recording::open(&p).unwrap_err();
        assert!(t0.elapsed().as_millis() < 500);
        // A pixel type the reader does not read is `Unsupported` (issue 14; it was `Metadata`).
        if why == "int32" {
            assert!(matches!(e, Error::Unsupported { .. }), "{why}: {e}");
        } else {
            assert!(matches!(e, Error::Metadata { .. }), "{why}: {e}");
        }
        let msg = e.to_string();
        assert!(msg.contains("bad.ome.tif") && msg.contains(why), "{why}: {msg}");
    }
    // Malformed XML.
    let spec = Spec {
        description: Some("<?xml version=\"1.0\"?><OME><Image></OME>".into()),
        ..Default::default()
    };
    std::fs::write(&p, tiff_bytes(&spec, &[formula_plane(0, 0, 0, 6, 8)])).unwrap();
    let e = Recording::open(&p).unwrap_err().to_string();
    assert!(e.contains("bad.ome.tif") && e.contains("OME-XML"), "{e}");
}

// ---------------------------------------------------------------- ScanImage

/// ScanImage 2016+ non-varying metadata for a fast-Z acquisition.
fn si_header(channels: &str, slices: usize, volumes: usize) -> String {
    format!(
        "SI.VERSION_MAJOR = '2020'\nSI.hChannels.channelSave = {channels}\nSI.hFastZ.enable = true\nSI.hFastZ.numVolumes = {volumes}\nSI.hStackManager.numSlices = {slices}\nSI.hStackManager.stackZStepSize = 2.5\nSI.hRoiManager.scanVolumeRate = 2\nSI.hRoiManager.scanFramePeriod = 0.1\nSI.hRoiManager.pixelsPerLine = 8\nSI.hRoiManager.linesPerFrame = 6\nSI.hRoiManager.imagingFovUm = [-4 -3;4 -3;4 3;-4 3]\n"
    )
}

#[test]
fn scanimage_fast_z_channels_interleaved_across_parts() {
    let dir = tempfile::tempdir().unwrap();
    let (c_n, z_n, t_n) = (2, 3, 4);
    // Channels fastest, then slices, then volumes; int16 as ScanImage saves; volumes 0-2 in
    // part 1, volume 3 in part 2.
    let plane =
        |t, c, z| formula_plane(t, c, z, 6, 8).into_iter().map(|v| v - 3000.0).collect::<Vec<_>>();
    let spec = Spec {
        bigtiff: true,
        sample: Sample::I16,
        scanimage_header: Some(si_header("[1;2]", z_n, t_n)),
        description: Some("frameNumbers = 1\nframeTimestamps_sec = 0.000\n".into()),
        ..Default::default()
    };
    for (part, ts) in [("scan_00001.tif", 0..3), ("scan_00002.tif", 3..4)] {
        let mut pages = Vec::new();
        for t in ts {
            for z in 0..z_n {
                for c in 0..c_n {
                    pages.push(plane(t, c, z));
                }
            }
        }
        std::fs::write(dir.path().join(part), tiff_bytes(&spec, &pages)).unwrap();
    }
    let rec = Recording::open(dir.path().join("scan_00001.tif")).unwrap();
    assert_eq!(rec.format(), Format::ScanImage);
    let s = rec.shape();
    assert_eq!((s.t, s.c, s.z, s.y, s.x), (t_n, c_n, z_n, 6, 8));
    assert_eq!(rec.stored_dtype(), "int16");
    assert_eq!(rec.dtype().name(), "float32");
    let cal = rec.calibration();
    assert_eq!(cal.voxel_x_um.unwrap().value, 1.0);
    assert_eq!(cal.voxel_y_um.unwrap().value, 1.0);
    assert_eq!(cal.voxel_z_um.unwrap().value, 2.5);
    assert_eq!(cal.frame_interval_s.unwrap().value, 0.5);
    check_voxels(&rec, |t, c, z, y, x| formula(t, c, z, y, x) - 3000.0);
    // The folder holding the parts is the same acquisition.
    let rec = Recording::open(dir.path()).unwrap();
    assert_eq!((rec.format(), rec.shape().t), (Format::ScanImage, t_n));
}

#[test]
fn scanimage_single_plane_time_series_from_the_software_tag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ts.tif");
    // ScanImage 5-style: metadata in the Software tag; 5 frames × 1 channel, plus one page of
    // an incomplete acquisition beyond is not possible with one channel, so use two channels
    // and an odd page count.
    let software = "SI.hChannels.channelSave = [1 3]\nSI.hFastZ.enable = false\nSI.hStackManager.numSlices = 1\nSI.hRoiManager.scanFramePeriod = 0.25\n";
    let mut pages = Vec::new();
    for t in 0..5 {
        for c in 0..2 {
            pages.push(formula_plane(t, c, 0, 6, 8));
        }
    }
    pages.push(formula_plane(5, 0, 0, 6, 8));
    let spec = Spec { software: Some(software.into()), ..Default::default() };
    std::fs::write(&path, tiff_bytes(&spec, &pages)).unwrap();
    let rec = Recording::open(&path).unwrap();
    assert_eq!(rec.format(), Format::ScanImage);
    let s = rec.shape();
    assert_eq!((s.t, s.c, s.z), (5, 2, 1));
    assert_eq!(rec.calibration().frame_interval_s.unwrap().value, 0.25);
    assert!(rec.warnings().iter().any(|w| w.contains("last 1 pages")), "{:?}", rec.warnings());
    check_voxels(&rec, formula);
}

// ---------------------------------------------------------------- Prairie View

fn prairie_xml(t_n: usize, z_n: usize, channels: &[usize], base: &str) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PVScan version=\"5.5.64.500\" date=\"1/1/2024\" notes=\"\">\n<PVStateShard>\n<PVStateValue key=\"framePeriod\" value=\"0.5\" />\n<PVStateValue key=\"micronsPerPixel\">\n<IndexedValue index=\"XAxis\" value=\"0.7\" />\n<IndexedValue index=\"YAxis\" value=\"0.7\" />\n<IndexedValue index=\"ZAxis\" value=\"1\" />\n</PVStateValue>\n</PVStateShard>\n",
    );
    for t in 0..t_n {
        x += &format!(
            "<Sequence type=\"TSeries ZSeries Element\" cycle=\"{}\" time=\"12:00:00\">\n",
            t + 1
        );
        for z in 0..z_n {
            // relativeTime restarts with each sequence; absoluteTime does not.
            x += &format!(
                "<Frame relativeTime=\"{}\" absoluteTime=\"{}\" index=\"{}\">\n",
                z as f64 * 0.5,
                t as f64 * 20.0 + z as f64 * 0.5 + 3.0,
                z + 1
            );
            for &ch in channels {
                x += &format!(
                    "<File channel=\"{ch}\" channelName=\"Ch{ch}\" filename=\"{base}_Cycle{:05}_Ch{ch}_{:06}.ome.tif\" />\n",
                    t + 1,
                    z + 1
                );
            }
            x += &format!(
                "<PVStateShard><PVStateValue key=\"positionCurrent\"><SubindexedValues index=\"ZAxis\"><SubindexedValue subindex=\"0\" value=\"{}\" /></SubindexedValues></PVStateValue></PVStateShard>\n</Frame>\n",
                100.0 + 4.0 * z as f64
            );
        }
        x += "</Sequence>\n";
    }
    x + "</PVScan>\n"
}

fn write_prairie(dir: &Path, t_n: usize, z_n: usize, channels: &[usize]) -> std::path::PathBuf {
    let base = "TSeries-20240101-001";
    let folder = dir.join(base);
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join(format!("{base}.xml")), prairie_xml(t_n, z_n, channels, base))
        .unwrap();
    for t in 0..t_n {
        for (c, &ch) in channels.iter().enumerate() {
            for z in 0..z_n {
                let name = format!("{base}_Cycle{:05}_Ch{ch}_{:06}.ome.tif", t + 1, z + 1);
                // A per-file OME-XML that describes only that plane, as Prairie View writes.
                let desc = ome_xml("urn:uuid:p", "DimensionOrder=\"XYCZT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"1\" SizeC=\"1\" SizeT=\"1\"", "");
                let spec = Spec { description: Some(desc), ..Default::default() };
                std::fs::write(
                    folder.join(name),
                    tiff_bytes(&spec, &[formula_plane(t, c, z, 6, 8)]),
                )
                .unwrap();
            }
        }
    }
    folder
}

#[test]
fn prairie_view_volume_time_series() {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_prairie(dir.path(), 3, 4, &[2, 3]);
    for open in [folder.clone(), folder.join("TSeries-20240101-001.xml")] {
        let rec = Recording::open(&open).unwrap();
        assert_eq!(rec.format(), Format::PrairieView);
        let s = rec.shape();
        assert_eq!((s.t, s.c, s.z, s.y, s.x), (3, 2, 4, 6, 8));
        let cal = rec.calibration();
        assert_eq!(cal.voxel_x_um.unwrap().value, 0.7);
        assert_eq!(cal.voxel_z_um.unwrap().value, 4.0);
        assert_eq!(cal.frame_times_s.as_deref(), Some(&[3.0, 23.0, 43.0][..]));
        assert_eq!(cal.frame_interval_s.unwrap().value, 20.0);
        check_voxels(&rec, formula);
    }
    // A listed file missing: refused at open, naming it.
    std::fs::remove_file(folder.join("TSeries-20240101-001_Cycle00002_Ch3_000004.ome.tif"))
        .unwrap();
    let e = Recording::open(&folder).unwrap_err().to_string();
    assert!(e.contains("Cycle00002_Ch3_000004") && e.contains("missing"), "{e}");
    // A file of another size: refused when read, naming it.
    std::fs::write(
        folder.join("TSeries-20240101-001_Cycle00002_Ch3_000004.ome.tif"),
        tiff_bytes(&Spec { width: 9, ..Default::default() }, &[vec![0.0; 54]]),
    )
    .unwrap();
    let rec = Recording::open(&folder).unwrap();
    rec.volume(1, 0).unwrap();
    let e = rec.volume(1, 1).unwrap_err().to_string();
    assert!(e.contains("Cycle00002_Ch3_000004") && e.contains("9×6"), "{e}");
}

// ---------------------------------------------------------------- bad input

fn assert_refused(path: &Path, what: &str, reason: &str) {
    let t0 = std::time::Instant::now();
    let e = Recording::open(path).unwrap_err();
    assert!(t0.elapsed().as_millis() < 500, "{what}: slow refusal");
    assert!(
        matches!(
            e,
            Error::Format { .. }
                | Error::Unsupported { .. }
                | Error::Page { .. }
                | Error::Metadata { .. }
        ),
        "{what}: {e:?}"
    );
    let msg = e.to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(&*name) && msg.contains(reason), "{what}: {msg}");
}

#[test]
fn broken_files_are_refused_quickly_naming_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.tif");
    let plane = |w: usize, h: usize| vec![1.0; w * h];

    // Pages of different sizes, and of different types.
    let mut a = tiff_bytes(&Spec::default(), &[plane(8, 6), plane(8, 6)]);
    std::fs::write(&p, &a).unwrap();
    assert!(Recording::open(&p).is_ok());
    let b = tiff_bytes(&Spec { width: 7, ..Default::default() }, &[plane(7, 6)]);
    a = concat_tiffs(&a, &b);
    std::fs::write(&p, &a).unwrap();
    assert_refused(&p, "sizes", "7×6 uint16 differs");
    let b = tiff_bytes(&Spec { sample: Sample::U8, ..Default::default() }, &[plane(8, 6)]);
    let a = concat_tiffs(&tiff_bytes(&Spec::default(), &[plane(8, 6)]), &b);
    std::fs::write(&p, &a).unwrap();
    assert_refused(&p, "types", "8×6 uint8 differs");

    // Planar-separate RGB and interleaved RGB.
    let rgb = Spec { samples: 3, planar: true, sample: Sample::U8, ..Default::default() };
    std::fs::write(&p, tiff_bytes(&rgb, &[vec![1.0; 8 * 6 * 3]])).unwrap();
    assert_refused(&p, "planar rgb", "planar-separate");
    let rgb = Spec { samples: 3, planar: false, sample: Sample::U8, ..Default::default() };
    std::fs::write(&p, tiff_bytes(&rgb, &[vec![1.0; 8 * 6 * 3]])).unwrap();
    assert_refused(&p, "rgb", "3 samples per pixel");

    let good = tiff_bytes(&Spec::default(), &[plane(8, 6)]);
    // Unsupported compression (JPEG) and sample format (int32, complex float).
    let mut bad = good.clone();
    patch_tag(&mut bad, 259, 7);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "jpeg", "unsupported compression 7 (JPEG)");
    let mut bad = good.clone();
    patch_tag(&mut bad, 258, 32);
    patch_tag(&mut bad, 339, 2);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "int32", "32-bit signed integer");
    let mut bad = good.clone();
    patch_tag(&mut bad, 339, 6);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "complex", "unknown sample format");

    // Bogus offsets, zero-length strips, IFD loops and offsets past the end.
    let mut bad = good.clone();
    patch_tag(&mut bad, 273, 0x7fff_0000);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "offset", "past the end of the file");
    let mut bad = good.clone();
    patch_tag(&mut bad, 279, 0);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "zero strip", "zero byte count");
    let mut bad = good.clone();
    let ifd = u32::from_le_bytes(bad[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([bad[ifd], bad[ifd + 1]]) as usize;
    bad[ifd + 2 + 12 * n..ifd + 6 + 12 * n].copy_from_slice(&(ifd as u32).to_le_bytes());
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "loop", "loops back");
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "first IFD", "past the end of the file");

    // Declared dimensions needing terabytes: refused before anything is allocated.
    let mut bad = good.clone();
    patch_tag(&mut bad, 256, 1 << 22);
    patch_tag(&mut bad, 257, 1 << 22);
    std::fs::write(&p, &bad).unwrap();
    assert_refused(&p, "huge", "too large");
    let mut bad = tiff_bytes(&Spec { codec: Codec::Deflate, ..Default::default() }, &[plane(8, 6)]);
    patch_tag(&mut bad, 256, 40_000);
    patch_tag(&mut bad, 257, 40_000);
    patch_tag(&mut bad, 278, 40_000);
    std::fs::write(&p, &bad).unwrap();
    // One deflate strip of a few bytes cannot hold 3.2 GB.
    assert_refused(&p, "huge deflate", "far larger than its");

    // Compressed data that decode short.
    let mut bad = tiff_bytes(&Spec { codec: Codec::Deflate, ..Default::default() }, &[plane(8, 6)]);
    let off = read_tag(&bad, 273) as usize;
    bad[off + 2] ^= 0xff;
    std::fs::write(&p, &bad).unwrap();
    let rec = Recording::open(&p).unwrap();
    let e = rec.volume(0, 0).unwrap_err();
    assert!(matches!(e, Error::Page { .. }), "{e}");
    assert!(e.to_string().contains("bad.tif") && e.to_string().contains("Deflate"), "{e}");

    // A shape override that does not divide the pages.
    std::fs::write(&p, tiff_bytes(&Spec::default(), &[plane(8, 6), plane(8, 6), plane(8, 6)]))
        .unwrap();
    let e = Recording::open_with(&p, &ReadOptions { shape: Some((2, 1, 2)), ..Default::default() })
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "shape"), "{e}");
    assert!(e.to_string().contains("bad.tif") && e.to_string().contains("has 3"), "{e}");
}

#[test]
fn empty_and_mixed_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = Recording::open(dir.path()).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert!(e.to_string().contains("no TIFF files"), "{e}");
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    assert!(Recording::open(dir.path()).is_err());
    let stack = |w: u32, z: usize| {
        tiff_bytes(&Spec { width: w, ..Default::default() }, &vec![vec![0.0; w as usize * 6]; z])
    };
    std::fs::write(dir.path().join("t1.tif"), stack(8, 3)).unwrap();
    std::fs::write(dir.path().join("t2.tif"), stack(8, 3)).unwrap();
    assert_eq!(Recording::open(dir.path()).unwrap().shape().t, 2);
    std::fs::write(dir.path().join("t3.tif"), stack(8, 2)).unwrap();
    let e = Recording::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("t3.tif") && e.contains("z=2") && e.contains("one shape"), "{e}");
    std::fs::write(dir.path().join("t3.tif"), stack(9, 3)).unwrap();
    let e = Recording::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("t3.tif") && e.contains("x=9"), "{e}");
}

/// Appends the pages of classic little-endian TIFF `b` to `a` (IFDs and data re-based).
fn concat_tiffs(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let base = out.len() as u32;
    out.extend_from_slice(b);
    // Re-base b's IFD: its offsets (strip offsets, out-of-line values, next pointer).
    let ifd_b = u32::from_le_bytes(b[4..8].try_into().unwrap()) + base;
    let i = ifd_b as usize;
    let n = u16::from_le_bytes([out[i], out[i + 1]]) as usize;
    for k in 0..n {
        let e = i + 2 + 12 * k;
        let tag = u16::from_le_bytes([out[e], out[e + 1]]);
        let typ = u16::from_le_bytes([out[e + 2], out[e + 3]]);
        let count = u32::from_le_bytes(out[e + 4..e + 8].try_into().unwrap());
        let size = match typ {
            1 | 2 | 7 => 1,
            3 => 2,
            5 => 8,
            _ => 4,
        } * count;
        let inline = size <= 4;
        if !inline {
            let v = u32::from_le_bytes(out[e + 8..e + 12].try_into().unwrap()) + base;
            out[e + 8..e + 12].copy_from_slice(&v.to_le_bytes());
        }
        if tag == 273 {
            let at = if inline {
                e + 8
            } else {
                u32::from_le_bytes(out[e + 8..e + 12].try_into().unwrap()) as usize
            };
            for j in 0..count as usize {
                let v =
                    u32::from_le_bytes(out[at + 4 * j..at + 4 * j + 4].try_into().unwrap()) + base;
                out[at + 4 * j..at + 4 * j + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    // Point a's last IFD at b's.
    let mut ifd = u32::from_le_bytes(a[4..8].try_into().unwrap()) as usize;
    loop {
        let n = u16::from_le_bytes([out[ifd], out[ifd + 1]]) as usize;
        let next_at = ifd + 2 + 12 * n;
        let next = u32::from_le_bytes(out[next_at..next_at + 4].try_into().unwrap()) as usize;
        if next == 0 {
            out[next_at..next_at + 4].copy_from_slice(&ifd_b.to_le_bytes());
            break;
        }
        ifd = next;
    }
    out
}

/// The entry of `tag` in the first IFD of a little-endian classic TIFF.
fn entry_pos(bytes: &[u8], tag: u16) -> usize {
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]) as usize;
    (0..n)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes([bytes[e], bytes[e + 1]]) == tag)
        .unwrap_or_else(|| panic!("tag {tag} not found"))
}

fn read_tag(bytes: &[u8], tag: u16) -> u32 {
    let e = entry_pos(bytes, tag);
    if u16::from_le_bytes([bytes[e + 2], bytes[e + 3]]) == 3 {
        u16::from_le_bytes([bytes[e + 8], bytes[e + 9]]) as u32
    } else {
        u32::from_le_bytes(bytes[e + 8..e + 12].try_into().unwrap())
    }
}

/// Patches the (inline) value of a SHORT/LONG tag in the first IFD.
fn patch_tag(bytes: &mut [u8], tag: u16, value: u32) {
    let e = entry_pos(bytes, tag);
    if u16::from_le_bytes([bytes[e + 2], bytes[e + 3]]) == 3 {
        bytes[e + 8..e + 10].copy_from_slice(&(value as u16).to_le_bytes());
    } else {
        bytes[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
    }
}

#[test]
fn deflate_writer_round_trip_with_true_strip_counts() {
    use leukotrack::io::write::{HyperstackWriter, SampleType};
    use leukotrack::{Calibration, Shape, Volume, VoxelSize};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.tif");
    let shape = Shape { t: 3, c: 2, z: 4, y: 6, x: 8 };
    let cal = Calibration::new(VoxelSize::new(0.8, 0.8, 3.0).unwrap(), 30.0);
    let mut w = HyperstackWriter::create_deflate(&path, shape, SampleType::U16, &cal).unwrap();
    for t in 0..3 {
        let vols: Vec<Volume> = (0..2)
            .map(|c| {
                Volume::U16(ndarray::Array3::from_shape_fn((4, 6, 8), |(z, y, x)| {
                    formula(t, c, z, y, x) as u16
                }))
            })
            .collect();
        w.write_timepoint(&vols).unwrap();
    }
    w.finish().unwrap();
    let rec = Recording::open(&path).unwrap();
    assert_eq!(rec.shape(), shape);
    check_voxels(&rec, formula);
    // Every strip's byte count is its compressed size: the strips tile the data region.
    let bytes = std::fs::read(&path).unwrap();
    let count = read_tag(&bytes, 279) as usize;
    let off = read_tag(&bytes, 273) as usize;
    let mut d = flate2::read::ZlibDecoder::new(&bytes[off..off + count]);
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut d, &mut out).unwrap();
    assert_eq!(out.len(), 6 * 8 * 2);
}
