//! Segmentation of borrowed volumes (`segment_frame_views`): any memory layout gives exactly
//! the detections of the owned volume (the Python bindings hand numpy arrays over this way).

use leukotrack::segment::{segment_frame, segment_frame_views, SegmentConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Volume, VolumeView};
use ndarray::{s, Array3, ShapeBuilder};

#[test]
fn strided_and_fortran_views_give_the_owned_volumes_detections() {
    let sc =
        SynthConfig { frames: 1, size: [96, 80, 10], channels: 2, seed: 5, ..Default::default() };
    let sim = Simulation::new(&sc).unwrap();
    let cal = sc.calibration();
    let cfg = SegmentConfig::default();
    let c0 = sim.render(0, 0).unwrap();
    let c1 = sim.render(0, 1).unwrap();
    let owned =
        segment_frame(&[Volume::U16(c0.clone()), Volume::U16(c1.clone())], 0, 3, &cal, &cfg)
            .unwrap()
            .detections;
    assert!(owned.len() >= 3, "{} detections", owned.len());
    assert!(owned.frame.iter().all(|&f| f == 3));

    // Fortran (column-major) copies.
    let mut f0 = Array3::<u16>::zeros(c0.dim().f());
    f0.assign(&c0);
    let mut f1 = Array3::<u16>::zeros(c1.dim().f());
    f1.assign(&c1);
    let fortran = segment_frame_views(
        &[VolumeView::U16(f0.view()), VolumeView::U16(f1.view())],
        0,
        3,
        &cal,
        &cfg,
    )
    .unwrap()
    .detections;
    assert_eq!(fortran, owned);

    // Views into larger arrays (every other x of an interleaved buffer).
    let (z, y, x) = c0.dim();
    let mut wide = Array3::<u16>::zeros((z, y, 2 * x));
    wide.slice_mut(s![.., .., ..;2]).assign(&c0);
    wide.slice_mut(s![.., .., 1..;2]).assign(&c1);
    let strided = segment_frame_views(
        &[
            VolumeView::U16(wide.slice(s![.., .., ..;2])),
            VolumeView::U16(wide.slice(s![.., .., 1..;2])),
        ],
        0,
        3,
        &cal,
        &cfg,
    )
    .unwrap()
    .detections;
    assert_eq!(strided, owned);

    // The same data as float32 give the same positions.
    let f32s = c0.mapv(f32::from);
    let as_float =
        segment_frame_views(&[VolumeView::F32(f32s.view())], 0, 3, &cal, &cfg).unwrap().detections;
    assert_eq!(
        as_float.x_um,
        segment_frame(&[Volume::U16(c0)], 0, 3, &cal, &cfg).unwrap().detections.x_um
    );
}
