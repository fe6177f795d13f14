//! The ImageJ reader against files written by an independent writer (tifffile), and the
//! writer against the reader.

mod common;

use leukotrack::io::write::{HyperstackWriter, SampleType};
use leukotrack::{Calibration, Error, ReadOptions, Recording, Shape, Source, Volume, VoxelSize};
use ndarray::Array3;
use serde_json::Value;

fn expected() -> Vec<Value> {
    let text =
        std::fs::read_to_string(common::shared_data().join("tiff-layouts/expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// Checks every voxel against the data set's formula: 1000 t + 100 c + 10 z + (y + x) % 10.
fn check_pixels(rec: &Recording, modulo: Option<u32>) {
    let s = rec.shape();
    for t in 0..s.t {
        for c in 0..s.c {
            let v = rec.volume(t, c).unwrap();
            let f = v.to_f32();
            for ((z, y, x), &got) in f.indexed_iter() {
                let mut want =
                    1000 * t as u32 + 100 * c as u32 + 10 * z as u32 + ((y + x) % 10) as u32;
                if let Some(m) = modulo {
                    want %= m;
                }
                assert_eq!(
                    got,
                    want as f32,
                    "{}: t={t} c={c} z={z} y={y} x={x}",
                    rec.path().display()
                );
            }
        }
    }
}

#[test]
fn imagej_files_from_tifffile() {
    let dir = common::shared_data().join("tiff-layouts");
    let mut n = 0;
    for e in expected() {
        let name = e["file"].as_str().unwrap();
        if !name.starts_with("imagej_") {
            continue; // OME, plain and series layouts belong to the TIFF-layouts work.
        }
        n += 1;
        let rec = Recording::open(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = rec.shape();
        let shape: Vec<usize> = e["shape_tczyx"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(vec![s.t, s.c, s.z, s.y, s.x], shape, "{name}");
        assert_eq!(rec.dtype().name(), e["dtype"].as_str().unwrap(), "{name}");
        let cal = rec.calibration();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1.0);
        assert!(close(cal.voxel_x_um.unwrap().value, e["voxel_x_um"].as_f64().unwrap()), "{name}");
        assert!(close(cal.voxel_y_um.unwrap().value, e["voxel_y_um"].as_f64().unwrap()), "{name}");
        assert!(close(cal.voxel_z_um.unwrap().value, e["voxel_z_um"].as_f64().unwrap()), "{name}");
        assert!(
            close(cal.frame_interval_s.unwrap().value, e["frame_interval_s"].as_f64().unwrap()),
            "{name}"
        );
        assert_eq!(cal.voxel_x_um.unwrap().source, Source::File);
        assert!(cal.is_calibrated() && rec.warnings().is_empty(), "{name}: {:?}", rec.warnings());
        check_pixels(&rec, if name == "imagej_u8.tif" { Some(256) } else { None });
    }
    assert_eq!(n, 6);
}

#[test]
fn plain_pages_need_a_shape_and_are_uncalibrated() {
    let path = common::shared_data().join("tiff-layouts/plain_pages.tif");
    let rec = Recording::open(&path).unwrap();
    assert_eq!((rec.shape().t, rec.shape().c, rec.shape().z), (1, 1, 24));
    assert!(!rec.calibration().is_calibrated());
    assert!(rec.warnings().iter().any(|w| w.contains("--shape")), "{:?}", rec.warnings());
    let opts = ReadOptions { shape: Some((3, 2, 4)), ..Default::default() };
    let rec = Recording::open_with(&path, &opts).unwrap();
    check_pixels(&rec, None);
    // A shape that does not divide the pages is refused, naming the parameter.
    let bad = ReadOptions { shape: Some((5, 2, 4)), ..Default::default() };
    let e = Recording::open_with(&path, &bad).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "shape"), "{e}");
}

#[test]
fn user_calibration_wins_over_the_file() {
    let path = common::shared_data().join("tiff-layouts/imagej_tzcyx.tif");
    let opts = ReadOptions {
        voxel_size: Some(VoxelSize::new(0.5, 0.5, 4.0).unwrap()),
        frame_interval_s: Some(20.0),
        ..Default::default()
    };
    let rec = Recording::open_with(&path, &opts).unwrap();
    let c = rec.calibration();
    assert_eq!(c.voxel_z_um.unwrap().value, 4.0);
    assert_eq!(c.voxel_z_um.unwrap().source, Source::User);
    assert_eq!(c.frame_interval_s.unwrap().value, 20.0);
}

fn sample_recording(shape: Shape) -> Vec<Vec<Array3<u16>>> {
    (0..shape.t)
        .map(|t| {
            (0..shape.c)
                .map(|c| {
                    Array3::from_shape_fn((shape.z, shape.y, shape.x), |(z, y, x)| {
                        (1000 * t + 100 * c + 10 * z + (7 * y + x) % 10) as u16
                    })
                })
                .collect()
        })
        .collect()
}

fn write_with_limit(path: &std::path::Path, shape: Shape, cal: &Calibration, limit: u64) {
    let data = sample_recording(shape);
    let mut w =
        HyperstackWriter::create_with_limit(path, shape, SampleType::U16, cal, limit).unwrap();
    for vols in &data {
        let v: Vec<Volume> = vols.iter().cloned().map(Volume::U16).collect();
        w.write_timepoint(&v).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn writer_roundtrip_with_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let shape = Shape { t: 3, c: 2, z: 4, y: 5, x: 7 };
    let cal = Calibration::new(VoxelSize::new(0.8, 0.6, 3.0).unwrap(), 30.0);
    let path = dir.path().join("rec.tif");
    write_with_limit(&path, shape, &cal, u32::MAX as u64);
    let rec = Recording::open(&path).unwrap();
    assert_eq!(rec.shape(), shape);
    let c = rec.calibration();
    assert!((c.voxel_x_um.unwrap().value - 0.8).abs() < 1e-6);
    assert!((c.voxel_y_um.unwrap().value - 0.6).abs() < 1e-6);
    assert_eq!(c.voxel_z_um.unwrap().value, 3.0);
    assert_eq!(c.frame_interval_s.unwrap().value, 30.0);
    let data = sample_recording(shape);
    for t in 0..3 {
        for ch in 0..2 {
            assert_eq!(rec.volume(t, ch).unwrap(), Volume::U16(data[t][ch].clone()));
        }
    }
    // Nothing but the file is left behind.
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("rec.tif")]);
}

#[test]
fn writer_single_ifd_layout_as_imagej_over_4gib() {
    // With a tiny IFD-offset limit the writer falls back to ImageJ's >4 GiB layout
    // (only IFD 0, planes contiguous); the reader must rebuild every plane.
    let dir = tempfile::tempdir().unwrap();
    let shape = Shape { t: 2, c: 2, z: 3, y: 4, x: 6 };
    let cal = Calibration::new(VoxelSize::new(1.0, 1.0, 2.0).unwrap(), 10.0);
    let path = dir.path().join("big.tif");
    write_with_limit(&path, shape, &cal, 64);
    let bytes = std::fs::read(&path).unwrap();
    // IFD 0's next-IFD pointer is 0: a single IFD.
    let n_tags = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let next = u32::from_le_bytes(bytes[10 + 12 * n_tags..14 + 12 * n_tags].try_into().unwrap());
    assert_eq!(next, 0);
    let rec = Recording::open(&path).unwrap();
    assert_eq!(rec.shape(), shape);
    let data = sample_recording(shape);
    assert_eq!(rec.volume(1, 1).unwrap(), Volume::U16(data[1][1].clone()));
    // Truncating that file is detected at open, before any read.
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let e = Recording::open(&path).unwrap_err().to_string();
    assert!(e.contains("big.tif") && e.contains("past the end"), "{e}");
}

#[test]
fn label_writer_uint16_and_uint32() {
    let dir = tempfile::tempdir().unwrap();
    let shape = Shape { t: 2, c: 1, z: 2, y: 3, x: 4 };
    let cal = Calibration::new(VoxelSize::new(1.0, 1.0, 2.0).unwrap(), 10.0);
    for (sample, big) in [(SampleType::U16, 60_000u32), (SampleType::U32, 100_000u32)] {
        let path = dir.path().join(format!("labels_{sample:?}.tif"));
        let mut w = HyperstackWriter::create(&path, shape, sample, &cal).unwrap();
        let labels = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| {
            if z == 1 && y == 2 && x == 3 {
                big
            } else {
                (x + y) as u32
            }
        });
        w.write_labels(&labels).unwrap();
        w.write_labels(&labels).unwrap();
        w.finish().unwrap();
        if sample == SampleType::U16 {
            let rec = Recording::open(&path).unwrap();
            assert_eq!(rec.volume(1, 0).unwrap().to_f32()[[1, 2, 3]], big as f32);
        } else {
            // uint32 is not a recording pixel type; the file is still a valid TIFF.
            let e = Recording::open(&path).unwrap_err().to_string();
            assert!(e.contains("unsupported pixel type"), "{e}");
        }
    }
    // A label over 65535 does not fit a uint16 file: an error, and no file is left.
    let path = dir.path().join("overflow.tif");
    let mut w =
        HyperstackWriter::create(&path, Shape { t: 1, ..shape }, SampleType::U16, &cal).unwrap();
    let e = w.write_labels(&Array3::from_elem((2, 3, 4), 70_000u32)).unwrap_err();
    assert!(e.to_string().contains("70000"), "{e}");
    drop(w);
    assert!(!path.exists());
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("empty.tif"), b"").unwrap();
    let e = Recording::open(p("empty.tif")).unwrap_err().to_string();
    assert!(e.contains("empty.tif") && e.contains("empty"), "{e}");
    std::fs::write(p("text.tif"), b"hello, this is not an image at all").unwrap();
    let e = Recording::open(p("text.tif")).unwrap_err().to_string();
    assert!(e.contains("not a TIFF"), "{e}");
    let e = Recording::open(p("missing.tif")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");

    // Truncated: a valid file cut in its pixel data.
    let good = std::fs::read(common::shared_data().join("tiff-layouts/imagej_tzcyx.tif")).unwrap();
    for cut in [good.len() / 2, good.len() - 100, 200, 9] {
        std::fs::write(p("cut.tif"), &good[..cut]).unwrap();
        let e = Recording::open(p("cut.tif")).unwrap_err().to_string();
        assert!(e.contains("cut.tif"), "{e}");
    }

    // ImageJ metadata disagreeing with the page count.
    let desc_pos = good.windows(10).position(|w| w == b"images=24\n").unwrap();
    let mut bad = good.clone();
    bad[desc_pos..desc_pos + 10].copy_from_slice(b"images=48\n");
    std::fs::write(p("meta.tif"), &bad).unwrap();
    let e = Recording::open(p("meta.tif")).unwrap_err().to_string();
    assert!(e.contains("images=48"), "{e}");

    // A declared image far larger than the file: width patched to 2^31 in every IFD.
    let rec = Recording::open(common::shared_data().join("tiff-layouts/imagej_tzcyx.tif")).unwrap();
    drop(rec);
    let mut huge = good.clone();
    patch_tag(&mut huge, 256, 0x7fff_ffff);
    std::fs::write(p("huge.tif"), &huge).unwrap();
    let e = Recording::open(p("huge.tif")).unwrap_err().to_string();
    assert!(
        e.contains("huge.tif") && (e.contains("too large") || e.contains("strips hold")),
        "{e}"
    );
}

/// Patches the value of a LONG/SHORT tag in the first IFD of a little-endian classic TIFF.
fn patch_tag(bytes: &mut [u8], tag: u16, value: u32) {
    assert_eq!(&bytes[..2], b"II");
    let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]) as usize;
    for i in 0..n {
        let e = ifd + 2 + 12 * i;
        if u16::from_le_bytes([bytes[e], bytes[e + 1]]) == tag {
            let typ = u16::from_le_bytes([bytes[e + 2], bytes[e + 3]]);
            if typ == 3 {
                bytes[e + 8..e + 10].copy_from_slice(&(value as u16).to_le_bytes());
            } else {
                bytes[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
            }
            return;
        }
    }
    panic!("tag {tag} not found");
}
