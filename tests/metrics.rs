//! Motility metrics: hand-computed golden values, invariance properties, celltrackR's own
//! results on real two-photon tracks, and the `metrics` command end to end.

mod common;

use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::path::Path;
use std::process::Command;

use leukotrack::metrics::{self, Analysis, MetricsConfig, Reference, TrackSet};
use leukotrack::{TrackIds, TrackMetrics, Tracks};
use proptest::prelude::*;

/// One track per entry: (id, points (t_s, x, y, z)); 2D when `three_d` is false.
fn build(tracks: &[(u64, Vec<[f64; 4]>)], frame_interval_s: f64, three_d: bool) -> Tracks {
    let mut t = Tracks { z_um: three_d.then(Vec::new), ..Default::default() };
    let mut ids = Vec::new();
    for (id, pts) in tracks {
        for p in pts {
            ids.push(*id);
            t.frame.push((p[0] / frame_interval_s).round() as u32);
            t.t_s.push(p[0]);
            t.x_um.push(p[1]);
            t.y_um.push(p[2]);
            if let Some(z) = t.z_um.as_mut() {
                z.push(p[3]);
            }
        }
    }
    t.track_id = TrackIds::Int(ids);
    t
}

/// Points (x, y) at t = 0, dt, 2 dt, … (2D).
fn track_2d(xy: &[[f64; 2]], dt: f64) -> Vec<[f64; 4]> {
    xy.iter().enumerate().map(|(i, p)| [i as f64 * dt, p[0], p[1], 0.0]).collect()
}

fn one(pts: Vec<[f64; 4]>, dt: f64, three_d: bool, cfg: &MetricsConfig) -> Analysis {
    metrics::analyze(&build(&[(1, pts)], dt, three_d), cfg).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    assert!(close(got, want, 1e-12), "{what}: got {got}, want {want}");
}

/// Row `i` of every numeric column, by name.
fn row(m: &TrackMetrics, i: usize) -> Vec<(&str, f64)> {
    m.columns().into_iter().map(|(n, c)| (n, c[i])).collect()
}

#[track_caller]
fn check_row(m: &TrackMetrics, i: usize, want: &[(&str, f64)]) {
    let got = row(m, i);
    for (name, w) in want {
        let g = got.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1;
        assert_close(g, *w, name);
    }
}

// ---------------------------------------------------------------- golden values, by hand

#[test]
fn straight_line_in_3d() {
    // Steps of (1, 2, 2) µm = 3 µm every 30 s: 6 µm/min.
    let pts: Vec<[f64; 4]> = (0..5)
        .map(|i| [30.0 * i as f64, 10.0 + i as f64, 2.0 * i as f64, -3.0 + 2.0 * i as f64])
        .collect();
    let a = one(pts, 30.0, true, &MetricsConfig::default());
    let m = &a.track_metrics;
    assert_eq!(m.n_points, vec![5]);
    check_row(
        m,
        0,
        &[
            ("duration_s", 120.0),
            ("track_length_um", 12.0),
            ("displacement_um", 12.0),
            ("max_displacement_um", 12.0),
            ("speed_um_per_min", 6.0),
            ("mean_step_speed_um_per_min", 6.0),
            ("median_step_speed_um_per_min", 6.0),
            ("straightness", 1.0),
            ("displacement_ratio", 1.0),
            ("outreach_ratio", 1.0),
            ("asphericity", 1.0),
            ("mean_turning_angle_deg", 0.0),
            ("overall_angle_deg", 0.0),
            ("arrest_coefficient", 0.0),
            ("square_displacement_um2", 144.0),
            ("mean_z_um", 1.0),
        ],
    );
    // MSD of a straight walk: (3k)² at every lag, no spread.
    assert_eq!(a.msd.lag_frames, vec![1, 2, 3, 4]);
    assert_eq!(a.msd.n, vec![4, 3, 2, 1]);
    for (k, v) in a.msd.msd_um2.iter().enumerate() {
        assert_close(*v, 9.0 * ((k + 1) * (k + 1)) as f64, "msd");
    }
    assert_eq!(a.msd.sem_um2[..3], [0.0; 3]);
    assert!(a.msd.sem_um2[3].is_nan());
    assert_eq!(a.msd.lag_s, vec![30.0, 60.0, 90.0, 120.0]);
    assert_eq!(a.summary.dimensions, 3);
    // Steps: 3D, no turns.
    assert_eq!(a.steps.dz_um, vec![2.0; 4]);
    assert_eq!(a.steps.step_um, vec![3.0; 4]);
    assert!(a.steps.turning_angle_deg[0].is_nan());
    assert_eq!(a.steps.turning_angle_deg[1..], [0.0; 3]);
}

#[test]
fn l_shape_in_2d() {
    let xy = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [2.0, 2.0]];
    let a = one(track_2d(&xy, 60.0), 60.0, false, &MetricsConfig::default());
    let s8 = 8f64.sqrt();
    check_row(
        &a.track_metrics,
        0,
        &[
            ("duration_s", 240.0),
            ("track_length_um", 4.0),
            ("displacement_um", s8),
            ("max_displacement_um", s8),
            ("speed_um_per_min", 1.0),
            ("straightness", s8 / 4.0),
            ("displacement_ratio", 1.0),
            ("outreach_ratio", s8 / 4.0),
            // Covariance [[0.8, 0.45], [0.45, 0.8]]: eigenvalues 1.25, 0.35 -> (0.9 / 1.6)².
            ("asphericity", 0.31640625),
            ("mean_turning_angle_deg", 30.0), // 0°, 90°, 0°
            ("overall_angle_deg", 90.0),
            ("arrest_coefficient", 1.0), // 1 µm/min < 2 µm/min
            ("square_displacement_um2", 8.0),
        ],
    );
    assert!(a.track_metrics.mean_z_um[0].is_nan());
    let st = &a.steps;
    assert_eq!(st.frame, vec![0, 1, 2, 3]);
    assert_eq!(st.t_s, vec![0.0, 60.0, 120.0, 180.0]);
    assert_eq!(st.dx_um, vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(st.dy_um, vec![0.0, 0.0, 1.0, 1.0]);
    assert!(st.dz_um.iter().all(|z| z.is_nan()));
    assert_eq!(st.speed_um_per_min, vec![1.0; 4]);
    assert!(st.turning_angle_deg[0].is_nan());
    assert_eq!(st.turning_angle_deg[1..], [0.0, 90.0, 0.0]);
    // MSD: lag 1: four unit steps; lag 2: 4, 2, 4; lag 3: 5, 5; lag 4: 8.
    assert_eq!(a.msd.n, vec![4, 3, 2, 1]);
    for (got, want) in a.msd.msd_um2.iter().zip([1.0, 10.0 / 3.0, 5.0, 8.0]) {
        assert_close(*got, want, "msd");
    }
    assert_close(a.msd.sem_um2[1], 2.0 / 3.0, "sem lag 2"); // sd √(4/3) over √3
                                                            // Autocorrelation of the unit steps →, →, ↑, ↑ (1 µm/min each).
    let ac = &a.autocorrelation;
    assert_eq!(ac.lag_frames, vec![0, 1, 2, 3]);
    assert_eq!(ac.n, vec![4, 3, 2, 1]);
    assert_eq!(ac.lag_s, vec![0.0, 60.0, 120.0, 180.0]);
    for (got, want) in ac.mean_cos.iter().zip([1.0, 2.0 / 3.0, 0.0, 0.0]) {
        assert_close(*got, want, "mean cos");
    }
    assert_eq!(ac.mean_cos, ac.mean_velocity_dot_um2_per_min2);
    assert_eq!(ac.sem_cos[0], 0.0);
}

#[test]
fn regular_octagon() {
    // Eight vertices of a circle of radius 5 µm, one per 20 s.
    let r = 5.0;
    let xy: Vec<[f64; 2]> = (0..8)
        .map(|i| {
            let a = i as f64 * PI / 4.0;
            [r * a.cos(), r * a.sin()]
        })
        .collect();
    let a = one(track_2d(&xy, 20.0), 20.0, false, &MetricsConfig::default());
    let chord = 2.0 * r * (PI / 8.0).sin();
    let m = &a.track_metrics;
    check_row(
        m,
        0,
        &[
            ("track_length_um", 7.0 * chord),
            ("displacement_um", chord),
            ("max_displacement_um", 2.0 * r),
            ("straightness", 1.0 / 7.0),
            ("displacement_ratio", (PI / 8.0).sin()),
            ("outreach_ratio", 2.0 * r / (7.0 * chord)),
            ("mean_turning_angle_deg", 45.0),
            ("overall_angle_deg", 90.0), // steps 0 and 6 differ by 270°
            ("speed_um_per_min", 3.0 * chord),
        ],
    );
    // Regular polygon: isotropic second moments.
    assert!(m.asphericity[0].abs() < 1e-12, "{}", m.asphericity[0]);
    // Turning angles of a regular polygon are all 45°.
    for t in &a.steps.turning_angle_deg[1..] {
        assert_close(*t, 45.0, "turning angle");
    }
}

#[test]
fn stationary_cell_follows_celltrackr_conventions() {
    let pts = vec![
        [0.0, 3.0, 4.0, 5.0],
        [10.0, 3.0, 4.0, 5.0],
        [20.0, 3.0, 4.0, 5.0],
        [30.0, 3.0, 4.0, 5.0],
    ];
    let a = one(pts, 10.0, true, &MetricsConfig::default());
    let m = &a.track_metrics;
    check_row(
        m,
        0,
        &[
            ("track_length_um", 0.0),
            ("displacement_um", 0.0),
            ("speed_um_per_min", 0.0),
            ("straightness", 1.0), // celltrackR's code (its docs say NaN)
            ("displacement_ratio", f64::NAN),
            ("outreach_ratio", f64::NAN),
            ("asphericity", f64::NAN), // 0/0
            ("mean_turning_angle_deg", f64::NAN),
            ("overall_angle_deg", f64::NAN), // zero steps
            ("arrest_coefficient", 1.0),
            ("mean_z_um", 5.0),
        ],
    );
    assert_eq!(a.msd.msd_um2, vec![0.0; 3]);
    assert!(a.autocorrelation.is_empty(), "zero steps have no direction");
    assert!(a.steps.turning_angle_deg.iter().all(|t| t.is_nan()));
}

#[test]
fn two_point_and_one_point_tracks() {
    let a = one(track_2d(&[[0.0, 0.0], [3.0, 4.0]], 30.0), 30.0, false, &MetricsConfig::default());
    check_row(
        &a.track_metrics,
        0,
        &[
            ("track_length_um", 5.0),
            ("speed_um_per_min", 10.0),
            ("median_step_speed_um_per_min", 10.0),
            ("straightness", 1.0),
            ("displacement_ratio", 1.0),
            ("asphericity", 1.0),                 // n ≤ 2
            ("mean_turning_angle_deg", f64::NAN), // n < 3
            ("overall_angle_deg", 0.0),           // n < 3: 0 in celltrackR
        ],
    );
    let a = one(vec![[0.0, 1.0, 1.0, 0.0]], 30.0, false, &MetricsConfig::default());
    check_row(
        &a.track_metrics,
        0,
        &[
            ("duration_s", 0.0),
            ("track_length_um", 0.0),
            ("displacement_um", 0.0),
            ("max_displacement_um", 0.0),
            ("speed_um_per_min", f64::NAN), // 0/0
            ("mean_step_speed_um_per_min", f64::NAN),
            ("median_step_speed_um_per_min", f64::NAN),
            ("straightness", 1.0),
            ("asphericity", 1.0),
            ("overall_angle_deg", 0.0),
            ("arrest_coefficient", f64::NAN),
        ],
    );
    assert!(a.steps.is_empty() && a.msd.is_empty() && a.autocorrelation.is_empty());
    assert_eq!(a.summary.frame_interval_s, None);
    assert!(a.summary.motility_coefficient_um2_per_min.is_nan());
}

#[test]
fn a_missing_frame_is_never_a_single_step() {
    // Frames 0, 1, 3 (frame 2 missing) at 30 s, moving 1 µm per frame along x.
    let pts = vec![[0.0, 0.0, 0.0, 0.0], [30.0, 1.0, 0.0, 0.0], [90.0, 3.0, 0.0, 0.0]];
    let a = one(pts, 30.0, false, &MetricsConfig::default());
    assert_eq!(a.steps.frame, vec![0, 1]);
    assert_eq!(a.steps.speed_um_per_min, vec![2.0, 2.0]); // 2 µm over 60 s is 2 µm/min
    assert_eq!(a.track_metrics.mean_step_speed_um_per_min, vec![2.0]);
    // By frame difference: lag 1 only (0→1), lag 2 (1→3), lag 3 (0→3).
    assert_eq!(a.msd.lag_frames, vec![1, 2, 3]);
    assert_eq!(a.msd.n, vec![1, 1, 1]);
    assert_eq!(a.msd.msd_um2, vec![1.0, 4.0, 9.0]);
    assert_eq!(a.summary.frame_interval_s, Some(30.0));
    // Only the one-frame step enters the autocorrelation.
    assert_eq!(a.autocorrelation.lag_frames, vec![0]);
    assert_eq!(a.autocorrelation.mean_velocity_dot_um2_per_min2, vec![4.0]);
}

#[test]
fn directionality_against_a_direction_and_a_point() {
    let pts = track_2d(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], 30.0);
    let with = |r: Reference| {
        let cfg = MetricsConfig { reference: Some(r), ..Default::default() };
        one(pts.clone(), 30.0, false, &cfg).track_metrics
    };
    let along = with(Reference::Direction { vector: [2.0, 0.0, 0.0] });
    check_row(
        &along,
        0,
        &[
            ("forward_migration_index", 1.0),
            ("chemotactic_index", 1.0),
            ("mean_angle_to_reference_deg", 0.0),
        ],
    );
    let across = with(Reference::Direction { vector: [0.0, -1.0, 7.0] }); // z ignored in 2D
    check_row(
        &across,
        0,
        &[
            ("forward_migration_index", 0.0),
            ("chemotactic_index", 0.0),
            ("mean_angle_to_reference_deg", 90.0),
        ],
    );
    let diagonal = with(Reference::Direction { vector: [1.0, 1.0, 5.0] }); // 2D: z ignored
    check_row(
        &diagonal,
        0,
        &[
            ("forward_migration_index", FRAC_1_SQRT_2),
            ("chemotactic_index", FRAC_1_SQRT_2),
            ("mean_angle_to_reference_deg", 45.0),
        ],
    );
    // A point above the start: u = (0, 1) from p_1; step angles 90° and 180° − atan(10)... by hand:
    let point = with(Reference::Point { position_um: [0.0, 10.0, 0.0] });
    let a2 = (-1.0f64 / 101f64.sqrt()).acos().to_degrees(); // step (1,0) vs (−1, 10)
    check_row(
        &point,
        0,
        &[
            ("forward_migration_index", 0.0),
            ("chemotactic_index", 0.0),
            ("mean_angle_to_reference_deg", (90.0 + a2) / 2.0),
        ],
    );
    let ahead = with(Reference::Point { position_um: [10.0, 0.0, 0.0] });
    check_row(&ahead, 0, &[("forward_migration_index", 1.0), ("mean_angle_to_reference_deg", 0.0)]);
    // A direction along z has nothing left in 2D: an error, not NaN columns.
    let cfg = MetricsConfig {
        reference: Some(Reference::Direction { vector: [0.0, 0.0, 2.0] }),
        ..Default::default()
    };
    let e = metrics::track_metrics(&build(&[(1, pts.clone())], 30.0, false), &cfg).unwrap_err();
    // The configuration's key path (issue 14; it was `reference_direction`).
    assert!(e.to_string().contains("metrics.reference.vector"), "{e}");
    // Without a reference the columns are absent.
    let plain = one(pts, 30.0, false, &MetricsConfig::default()).track_metrics;
    assert!(plain.forward_migration_index.is_none());
    assert!(!plain.columns().iter().any(|(n, _)| n.contains("reference")));
}

#[test]
fn two_d_option_projects_on_xy() {
    let pts: Vec<[f64; 4]> =
        (0..4).map(|i| [i as f64 * 10.0, i as f64, 0.0, 5.0 * i as f64]).collect();
    let cfg = MetricsConfig { two_d: true, ..Default::default() };
    let a = one(pts, 10.0, true, &cfg);
    check_row(&a.track_metrics, 0, &[("track_length_um", 3.0), ("mean_z_um", 7.5)]);
    assert!(a.steps.dz_um.iter().all(|z| z.is_nan()));
    assert_eq!(a.summary.dimensions, 2);
}

#[test]
fn staggered_straightness_and_min_points() {
    let l = track_2d(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], 30.0);
    let short = track_2d(&[[0.0, 0.0], [1.0, 0.0]], 30.0);
    let tracks = build(&[(4, l), (5, short)], 30.0, false);
    let cfg = MetricsConfig { staggered: true, min_points: 3, ..Default::default() };
    let a = metrics::analyze(&tracks, &cfg).unwrap();
    assert_eq!(a.track_metrics.track_id, TrackIds::Int(vec![4]));
    let want = (2.0 + FRAC_1_SQRT_2) / 3.0;
    assert_close(a.track_metrics.staggered_straightness.as_ref().unwrap()[0], want, "staggered");
    assert_eq!(a.summary.tracks.excluded_short, 1);
    assert!(a.summary.cell_based.staggered_straightness.is_some());
}

#[test]
fn hotelling_and_rayleigh_by_hand() {
    // Steps (2D): (1, 0), (2, 1), (0, 1), (1, 2): mean (1, 1); S = [[2/3, 0], [0, 2/3]].
    let xy = [[0.0, 0.0], [1.0, 0.0], [3.0, 1.0], [3.0, 2.0], [4.0, 4.0]];
    let tracks = build(&[(1, track_2d(&xy, 30.0))], 30.0, false);
    let set = TrackSet::new(&tracks, &MetricsConfig::default()).unwrap();
    let h = set.hotelling_test();
    assert_eq!((h.n_steps, h.df1, h.df2), (4, 2.0, 2.0));
    assert_eq!(h.mean_step_um, vec![1.0, 1.0]);
    assert_close(h.t_squared, 4.0 * 3.0, "T²"); // n mᵀ S⁻¹ m = 4 · (1.5 + 1.5)
    assert_close(h.f, 12.0 * 2.0 / (2.0 * 3.0), "F");
    // F(2, m) survival function in closed form: (1 + 2F/m)^(−m/2).
    assert_close(h.p_value, (1.0f64 + 2.0 * 4.0 / 2.0).powf(-1.0), "p");
    // Rayleigh: four steps with unit vectors summing to R̄; 2D: p = exp(−n R̄²).
    let r = set.rayleigh_test();
    let units = [
        [1.0, 0.0],
        [2.0 / 5f64.sqrt(), 1.0 / 5f64.sqrt()],
        [0.0, 1.0],
        [1.0 / 5f64.sqrt(), 2.0 / 5f64.sqrt()],
    ];
    let (sx, sy) = units.iter().fold((0.0, 0.0), |(a, b), u| (a + u[0], b + u[1]));
    let r_bar = (sx * sx + sy * sy).sqrt() / 4.0;
    assert_close(r.mean_resultant_length, r_bar, "R̄");
    assert_close(r.p_value, (-4.0 * r_bar * r_bar).exp(), "Rayleigh p");
    // Step spacing 1 keeps steps 1 and 3: (1, 0) and (0, 1).
    let cfg = MetricsConfig { test_step_spacing: 1, ..Default::default() };
    let h = TrackSet::new(&tracks, &cfg).unwrap().hotelling_test();
    assert_eq!((h.n_steps, h.mean_step_um.clone()), (2, vec![0.5, 0.5]));
    assert!(h.p_value.is_nan(), "n = p: no test");
}

#[test]
fn non_increasing_times_are_an_error_naming_the_track() {
    let mut t = build(
        &[
            (1, track_2d(&[[0.0, 0.0], [1.0, 0.0]], 30.0)),
            (42, track_2d(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], 30.0)),
        ],
        30.0,
        false,
    );
    t.t_s[4] = 20.0; // track 42: 0, 30, 20 s at frames 0, 1, 2
    let e = metrics::track_metrics(&t, &MetricsConfig::default()).unwrap_err();
    assert!(e.is_invalid_input());
    let e = e.to_string();
    assert!(e.contains("track 42") && e.contains("does not increase"), "{e}");
    assert!(metrics::steps(&t).is_err());
}

#[test]
fn empty_tracks_give_empty_tables() {
    let a = metrics::analyze(&Tracks::default(), &MetricsConfig::default()).unwrap();
    assert!(a.track_metrics.is_empty() && a.steps.is_empty() && a.msd.is_empty());
    assert!(a.summary.tests.hotelling.p_value.is_nan());
    assert_eq!(a.summary.cell_based.speed_um_per_min.n, 0);
}

// ---------------------------------------------------------------- properties

fn random_tracks() -> impl Strategy<Value = Vec<(u64, Vec<[f64; 4]>)>> {
    let point = (1.0f64..40.0, -50.0f64..50.0, -50.0f64..50.0, -20.0f64..20.0);
    let track = prop::collection::vec(point, 1..25).prop_map(|pts| {
        let mut t = 0.0;
        pts.into_iter()
            .map(|(dt, x, y, z)| {
                t += dt.round().max(1.0) * 10.0; // frames 10 s apart, gaps allowed
                [t, x, y, z]
            })
            .collect::<Vec<_>>()
    });
    prop::collection::vec(track, 1..6)
        .prop_map(|ts| ts.into_iter().enumerate().map(|(i, t)| (i as u64, t)).collect())
}

fn rotation(a: f64, b: f64, c: f64) -> [[f64; 3]; 3] {
    let (sa, ca, sb, cb, sc, cc) = (a.sin(), a.cos(), b.sin(), b.cos(), c.sin(), c.cos());
    // Rz(a) · Ry(b) · Rx(c)
    [
        [ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc],
        [sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc],
        [-sb, cb * sc, cb * cc],
    ]
}

fn transform(
    tracks: &[(u64, Vec<[f64; 4]>)],
    r: [[f64; 3]; 3],
    shift: [f64; 3],
) -> Vec<(u64, Vec<[f64; 4]>)> {
    tracks
        .iter()
        .map(|(id, pts)| {
            let moved = pts
                .iter()
                .map(|p| {
                    let q = [p[1], p[2], p[3]];
                    let m = |i: usize| r[i][0] * q[0] + r[i][1] * q[1] + r[i][2] * q[2] + shift[i];
                    [p[0], m(0), m(1), m(2)]
                })
                .collect();
            (*id, moved)
        })
        .collect()
}

fn same_metrics(a: &TrackMetrics, b: &TrackMetrics) -> std::result::Result<(), String> {
    for ((name, ca), (_, cb)) in a.columns().into_iter().zip(b.columns()) {
        if name == "mean_z_um" {
            continue; // a coordinate, not a measure
        }
        // Angles: acos near 0 or 180° amplifies rounding, so an absolute tolerance in degrees.
        let tol = if name.ends_with("_deg") { 1e-6 } else { 1e-9 };
        for (x, y) in ca.iter().zip(cb) {
            let ok = if name.ends_with("_deg") {
                (x.is_nan() && y.is_nan()) || (x - y).abs() <= tol
            } else {
                close(*x, *y, tol)
            };
            if !ok {
                return Err(format!("{name}: {x} vs {y}"));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rotation_and_translation_change_nothing(
        tracks in random_tracks(),
        angles in (0.0f64..6.3, -1.5f64..1.5, 0.0f64..6.3),
        shift in (-1e3f64..1e3, -1e3f64..1e3, -1e3f64..1e3),
    ) {
        let cfg = MetricsConfig::default();
        let before = metrics::analyze(&build(&tracks, 10.0, true), &cfg).unwrap();
        let moved = transform(&tracks, rotation(angles.0, angles.1, angles.2), [shift.0, shift.1, shift.2]);
        let after = metrics::analyze(&build(&moved, 10.0, true), &cfg).unwrap();
        prop_assert!(same_metrics(&before.track_metrics, &after.track_metrics).is_ok(),
            "{:?}", same_metrics(&before.track_metrics, &after.track_metrics));
        prop_assert_eq!(&before.msd.n, &after.msd.n);
        for (x, y) in before.msd.msd_um2.iter().zip(&after.msd.msd_um2) {
            prop_assert!(close(*x, *y, 1e-9), "msd {} vs {}", x, y);
        }
        for (x, y) in before.autocorrelation.mean_cos.iter().zip(&after.autocorrelation.mean_cos) {
            prop_assert!((x - y).abs() < 1e-9, "cos {} vs {}", x, y);
        }
        // Rotation about z in 2D as well.
        let flat = transform(&tracks, rotation(angles.0, 0.0, 0.0), [shift.0, shift.1, 0.0]);
        let a = metrics::track_metrics(&build(&tracks, 10.0, false), &cfg).unwrap();
        let b = metrics::track_metrics(&build(&flat, 10.0, false), &cfg).unwrap();
        prop_assert!(same_metrics(&a, &b).is_ok(), "{:?}", same_metrics(&a, &b));
    }

    #[test]
    fn reversing_time_keeps_length_and_displacement(tracks in random_tracks()) {
        let reversed: Vec<(u64, Vec<[f64; 4]>)> = tracks
            .iter()
            .map(|(id, pts)| {
                let end = pts.last().unwrap()[0];
                (*id, pts.iter().rev().map(|p| [end - p[0], p[1], p[2], p[3]]).collect())
            })
            .collect();
        let cfg = MetricsConfig::default();
        let a = metrics::analyze(&build(&tracks, 10.0, true), &cfg).unwrap();
        let b = metrics::analyze(&build(&reversed, 10.0, true), &cfg).unwrap();
        let (ma, mb) = (&a.track_metrics, &b.track_metrics);
        for (x, y) in [
            (&ma.track_length_um, &mb.track_length_um),
            (&ma.displacement_um, &mb.displacement_um),
            (&ma.duration_s, &mb.duration_s),
            (&ma.speed_um_per_min, &mb.speed_um_per_min),
            (&ma.straightness, &mb.straightness),
            (&ma.asphericity, &mb.asphericity),
        ] {
            for (x, y) in x.iter().zip(y) {
                prop_assert!(close(*x, *y, 1e-9), "{} vs {}", x, y);
            }
        }
        for (x, y) in ma.mean_turning_angle_deg.iter().zip(&mb.mean_turning_angle_deg) {
            prop_assert!((x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-6, "{} vs {}", x, y);
        }
        prop_assert_eq!(&a.msd.n, &b.msd.n);
        for (x, y) in a.msd.msd_um2.iter().zip(&b.msd.msd_um2) {
            prop_assert!(close(*x, *y, 1e-9), "msd {} vs {}", x, y);
        }
    }

    #[test]
    fn ratios_lie_in_unit_interval(tracks in random_tracks()) {
        let cfg = MetricsConfig {
            reference: Some(Reference::Direction { vector: [1.0, 2.0, 3.0] }),
            staggered: true,
            ..Default::default()
        };
        let m = metrics::track_metrics(&build(&tracks, 10.0, true), &cfg).unwrap();
        let unit = |v: f64| v.is_nan() || (-1e-12..=1.0 + 1e-12).contains(&v);
        for (name, col) in m.columns() {
            let bounded = matches!(
                name,
                "straightness" | "displacement_ratio" | "outreach_ratio" | "asphericity"
                    | "arrest_coefficient" | "staggered_straightness"
            );
            if bounded {
                prop_assert!(col.iter().all(|&v| unit(v)), "{}: {:?}", name, col);
            }
        }
        for (f, c) in m.forward_migration_index.unwrap().iter().zip(m.chemotactic_index.unwrap()) {
            prop_assert!(f.is_nan() || (-1.0 - 1e-12..=1.0 + 1e-12).contains(f));
            prop_assert!(c.is_nan() || (-1.0..=1.0).contains(&c));
        }
        for a in m.mean_angle_to_reference_deg.unwrap() {
            prop_assert!(a.is_nan() || (0.0..=180.0).contains(&a));
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // 300 random-walk tracks (more than one parallel chunk), 3D.
    let mut state = 12345u64;
    let mut rnd = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let tracks: Vec<(u64, Vec<[f64; 4]>)> = (0..300)
        .map(|id| {
            let mut p = [0.0; 3];
            let pts = (0..20)
                .map(|i| {
                    for c in &mut p {
                        *c += 5.0 * rnd();
                    }
                    [i as f64 * 30.0, p[0], p[1], p[2]]
                })
                .collect();
            (id, pts)
        })
        .collect();
    let t = build(&tracks, 30.0, true);
    let cfg = MetricsConfig::default();
    let many = metrics::analyze(&t, &cfg).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let single = pool.install(|| metrics::analyze(&t, &cfg).unwrap());
    // Debug prints every float exactly (and NaN as NaN, which `==` would not equal).
    assert_eq!(format!("{:?}", many.track_metrics), format!("{:?}", single.track_metrics));
    assert_eq!(format!("{:?}", many.steps), format!("{:?}", single.steps));
    assert_eq!(format!("{:?}", many.msd), format!("{:?}", single.msd));
    assert_eq!(format!("{:?}", many.autocorrelation), format!("{:?}", single.autocorrelation));
    assert_eq!(format!("{:?}", many.summary), format!("{:?}", single.summary));
    // Per-track measures alone equal those computed together with the steps.
    let alone = metrics::track_metrics(&t, &cfg).unwrap();
    assert_eq!(format!("{alone:?}"), format!("{:?}", many.track_metrics));
}

// ---------------------------------------------------------------- celltrackR's own results

/// A celltrackR dataset (`track_id,t,x,y[,z]`) read through the crate's CSV reader.
fn celltrackr(name: &str) -> Tracks {
    let path = common::shared_data().join("celltrackR").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let header = header
        .replace(",t,", ",t_s,")
        .replace(",x", ",x_um")
        .replace(",y", ",y_um")
        .replace(",z", ",z_um");
    Tracks::from_reader(format!("{header}\n{body}").as_bytes(), &path, Some(24.0)).unwrap()
}

/// A reference CSV as (header, rows of text cells).
fn reference(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = common::shared_data().join("celltrackR/reference").join(name);
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let header = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

fn num(s: &str) -> f64 {
    if s == "NA" {
        f64::NAN
    } else {
        s.parse().unwrap()
    }
}

/// Our column for each celltrackR column, with a factor (celltrackR's speed is µm/s).
const PER_TRACK: [(&str, &str, f64); 13] = [
    ("duration", "duration_s", 1.0),
    ("trackLength", "track_length_um", 1.0),
    ("speed", "speed_um_per_min", 1.0 / 60.0),
    ("displacement", "displacement_um", 1.0),
    ("squareDisplacement", "square_displacement_um2", 1.0),
    ("maxDisplacement", "max_displacement_um", 1.0),
    ("straightness", "straightness", 1.0),
    ("displacementRatio", "displacement_ratio", 1.0),
    ("outreachRatio", "outreach_ratio", 1.0),
    ("asphericity", "asphericity", 1.0),
    ("overallAngle_deg", "overall_angle_deg", 1.0),
    ("meanTurningAngle_deg", "mean_turning_angle_deg", 1.0),
    ("n_points", "n_points", 1.0),
];

fn conform_per_track(data: &str, reference_file: &str) {
    let tracks = celltrackr(data);
    let m = metrics::track_metrics(&tracks, &MetricsConfig::default()).unwrap();
    let (header, rows) = reference(reference_file);
    assert_eq!(rows.len(), m.len(), "{data}: number of tracks");
    let cols = m.columns();
    let col_of = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut checked = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[col_of("track_id")], m.track_id.label(i), "{data}: track order");
        for (theirs, ours, factor) in PER_TRACK {
            let want = num(&r[col_of(theirs)]);
            let got = if ours == "n_points" {
                m.n_points[i] as f64
            } else {
                cols.iter().find(|(n, _)| *n == ours).unwrap().1[i] * factor
            };
            let ok = if ours.ends_with("_deg") {
                (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-9
            } else {
                (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-9 * want.abs()
            };
            assert!(ok, "{data} track {}: {theirs} = {want}, ours {got}", r[0]);
            checked += 1;
        }
    }
    assert_eq!(checked, rows.len() * PER_TRACK.len());
}

#[test]
fn per_track_measures_match_celltrackr_on_t_cells() {
    conform_per_track("TCells.csv", "per_track_TCells.csv");
}

#[test]
fn per_track_measures_match_celltrackr_on_raw_3d_b_cells_with_gaps() {
    conform_per_track("BCellsRaw.csv", "per_track_BCellsRaw.csv");
}

#[test]
fn msd_matches_celltrackr_on_t_cells() {
    let msd = metrics::msd(&celltrackr("TCells.csv"), &MetricsConfig::default()).unwrap();
    let (header, rows) = reference("msd_TCells.csv");
    assert_eq!(
        header,
        ["i_steps", "tau_s", "msd_mean", "msd_se_lower", "msd_se_upper", "n_subtracks"]
    );
    assert_eq!(msd.len(), rows.len());
    let rel = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(msd.lag_frames[i], r[0].parse::<u32>().unwrap());
        assert!(rel(msd.lag_s[i], num(&r[1])));
        assert_eq!(msd.n[i], r[5].parse::<u64>().unwrap(), "lag {}", r[0]);
        assert!(rel(msd.msd_um2[i], num(&r[2])), "lag {}: {} vs {}", r[0], msd.msd_um2[i], r[2]);
        let (lo, hi) = (msd.msd_um2[i] - msd.sem_um2[i], msd.msd_um2[i] + msd.sem_um2[i]);
        assert!(rel(lo, num(&r[3])) && rel(hi, num(&r[4])), "lag {}: se", r[0]);
    }
}

#[test]
fn real_datasets_give_plausible_populations() {
    let analyze =
        |name: &str| metrics::analyze(&celltrackr(name), &MetricsConfig::default()).unwrap();
    let t = analyze("TCells.csv").summary;
    let b = analyze("BCells.csv").summary;
    let n = analyze("Neutrophils.csv").summary;
    // Lymph-node T cells: mean speeds of about 10 µm/min (Miller et al. 2002 report ~11);
    // B cells are slower (~6).
    let (ts, bs) = (t.cell_based.speed_um_per_min.mean, b.cell_based.speed_um_per_min.mean);
    assert!((6.0..16.0).contains(&ts), "T cell speed {ts}");
    assert!((3.0..10.0).contains(&bs) && bs < ts, "B cell speed {bs}");
    // Motility coefficients of T cells in lymph nodes: tens of µm²/min.
    let mt = t.motility_coefficient_um2_per_min;
    assert!((10.0..150.0).contains(&mt), "T cell motility coefficient {mt}");
    assert!(t.msd_fit.r_squared > 0.9, "{:?}", t.msd_fit);
    assert!(t.persistence_time_min > 0.2 && t.persistence_time_min < 10.0, "{:?}", t.furth_fit);
    // Neutrophils near an infection move in a preferred direction; straighter than T cells.
    assert!(n.tests.hotelling.p_value < 1e-6, "{:?}", n.tests.hotelling);
    assert!(n.tests.rayleigh.p_value < 1e-6, "{:?}", n.tests.rayleigh);
    assert!(n.cell_based.straightness.median > t.cell_based.straightness.median);
    // Mean turning angles below 90°: persistent walks.
    assert!(t.cell_based.mean_turning_angle_deg.mean < 90.0);
    // Raw 3D data with gaps and short tracks run through without error, in 3D.
    for raw in ["TCellsRaw.csv", "BCellsRaw.csv", "NeutrophilsRaw.csv"] {
        let a = analyze(raw);
        assert_eq!(a.summary.dimensions, 3);
        assert_eq!(a.summary.frame_interval_s, Some(24.0));
        assert!(a.msd.msd_um2.iter().all(|v| v.is_finite()), "{raw}");
        assert_eq!(a.summary.n_steps, a.steps.len());
    }
}

// ---------------------------------------------------------------- the command line

fn leukotrack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn header_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().next().unwrap().to_string()
}

#[test]
fn cli_metrics_writes_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tracks.csv");
    // Text ids, no frame column (frames from the median time step, 30 s), 3D.
    std::fs::write(
        &input,
        "track_id,t_s,x_um,y_um,z_um\ncell_a,0,0,0,0\ncell_a,30,1,0,0\ncell_a,60,2,0,0\ncell_a,90,2,1,0\n\
         cell_b,30,5,5,1\ncell_b,60,5,6,1\ncell_b,90,5,6,1\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, err) = leukotrack(&[
        "metrics",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--reference-direction",
        "1,0,0",
        "--max-lag",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("2 of 2 tracks"), "{stdout}");
    assert_eq!(
        header_of(&out.join("track_metrics.csv")),
        "track_id,n_points,duration_s,track_length_um,displacement_um,max_displacement_um,\
         speed_um_per_min,mean_step_speed_um_per_min,median_step_speed_um_per_min,straightness,\
         displacement_ratio,outreach_ratio,asphericity,mean_turning_angle_deg,overall_angle_deg,\
         arrest_coefficient,square_displacement_um2,mean_z_um,forward_migration_index,\
         chemotactic_index,mean_angle_to_reference_deg"
    );
    assert_eq!(
        header_of(&out.join("steps.csv")),
        "track_id,frame,t_s,dx_um,dy_um,dz_um,step_um,speed_um_per_min,turning_angle_deg"
    );
    assert_eq!(header_of(&out.join("msd.csv")), "lag_frames,lag_s,msd_um2,n,sem_um2");
    assert_eq!(
        header_of(&out.join("autocorrelation.csv")),
        "lag_frames,lag_s,mean_cos,sem_cos,mean_velocity_dot_um2_per_min2,n"
    );
    let tm = std::fs::read_to_string(out.join("track_metrics.csv")).unwrap();
    let a: Vec<&str> = tm.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(a[..5], ["cell_a", "4", "90", "3", "2.23606797749979"]);
    assert_eq!((a[6], a[7]), ("2", "2")); // speed: 3 µm in 1.5 min; every step 2 µm/min
    let b: Vec<&str> = tm.lines().nth(2).unwrap().split(',').collect();
    assert_eq!((b[0], b[3], b[9]), ("cell_b", "1", "1")); // a zero last step: straightness 1
    assert_eq!(b[17], "1"); // mean z
    let msd = std::fs::read_to_string(out.join("msd.csv")).unwrap();
    assert_eq!(msd.lines().count(), 3, "lags 1 and 2 only: {msd}");
    assert!(msd.lines().nth(1).unwrap().starts_with("1,30,0.8,5,"), "{msd}"); // (1+1+1+1+0)/5
    let steps = std::fs::read_to_string(out.join("steps.csv")).unwrap();
    assert_eq!(steps.lines().count(), 1 + 5);
    assert!(steps.contains("\ncell_b,2,60,0,0,0,0,0,NaN\n"), "{steps}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics_summary.json")).unwrap())
            .unwrap();
    for key in [
        "motility_coefficient_um2_per_min",
        "msd_fit",
        "persistence_time_min",
        "cell_based",
        "step_based",
        "tests",
        "config",
    ] {
        assert!(summary.get(key).is_some(), "{key} missing: {summary}");
    }
    assert_eq!(summary["frame_interval_s"], 30.0);
    assert_eq!(summary["config"]["max_lag_frames"], 2);
    assert_eq!(summary["config"]["reference"]["kind"], "direction");
    assert!(
        summary["tests"]["hotelling"]["p_value"].is_number()
            || summary["tests"]["hotelling"]["p_value"].is_null()
    );
    assert_eq!(summary["cell_based"]["speed_um_per_min"]["n"], 2);
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
}

#[test]
fn cli_metrics_options_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tracks.csv");
    std::fs::write(
        &input,
        "track_id,frame,t_s,x_um,y_um,z_um,touches_border\n1,0,0,0,0,0,0\n1,1,20,3,4,12,0\n\
         2,0,0,0,0,0,1\n2,1,20,1,0,0,0\n3,0,0,0,0,0,0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let (ok, _, err) =
        leukotrack(&["metrics", i, "-o", o, "--2d", "--exclude-border", "--min-points", "2"]);
    assert!(ok, "{err}");
    let tm = std::fs::read_to_string(out.join("track_metrics.csv")).unwrap();
    assert_eq!(tm.lines().count(), 2, "only track 1 is left: {tm}");
    assert!(tm.lines().nth(1).unwrap().starts_with("1,2,20,5,5,"), "2D length 5: {tm}");
    let summary = std::fs::read_to_string(out.join("metrics_summary.json")).unwrap();
    assert!(
        summary.contains("\"excluded_border\": 1") && summary.contains("\"excluded_short\": 1"),
        "{summary}"
    );
    assert!(summary.contains("\"dimensions\": 2"), "{summary}");

    // Errors: one line, naming the cause.
    let (ok, _, err) = leukotrack(&[
        "metrics",
        i,
        "-o",
        o,
        "--reference-direction",
        "1,0",
        "--reference-point",
        "1,2,3",
    ]);
    assert!(!ok && err.contains("--reference-point"), "{err}");
    let (ok, _, err) = leukotrack(&["metrics", i, "-o", o, "--reference-point", "1,x,3"]);
    assert!(!ok && err.trim().lines().count() == 1 && err.contains("reference-point"), "{err}");
    let (ok, _, err) = leukotrack(&["metrics", i, "-o", o, "--frame-interval", "0"]);
    assert!(!ok && err.contains("frame-interval"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "track_id,t_s,x_um,y_um\nT9,0,0,0\nT9,30,1,1\nT9,30,2,2\n").unwrap();
    let (ok, _, err) =
        leukotrack(&["metrics", bad.to_str().unwrap(), "-o", o, "--frame-interval", "30"]);
    assert!(!ok && err.trim().lines().count() == 1 && err.contains("T9"), "{err}");
}
