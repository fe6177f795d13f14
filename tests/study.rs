//! Studies (issue 19): the mouse-level statistics are calibrated (false positives at the
//! nominal rate where pooled tracks give far more; power against a true difference), the
//! command line gives the same numbers as the statistics functions, the outputs are complete
//! and self-contained, bad input is reported and the rest goes on, and simulated recordings
//! of two groups give the right sign with an interval that holds the simulated difference.

use std::path::{Path, PathBuf};
use std::process::Command;

use leukotrack::pipeline::Config;
use leukotrack::study::{self, stats::Of, Measure, StudyConfig};
use leukotrack::synth::{Simulation, SynthConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("leukotrack-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn leukotrack(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leukotrack")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Per-track speeds of a study: `mice` mice per group, two recordings each, `tracks` tracks
/// per recording; a mouse's speed is log-normal (sd 0.25) around 8 µm/min × `factor` of
/// its group, a track's log-normal (sd 0.5) around its mouse's.
fn speeds(
    rng: &mut ChaCha8Rng,
    mice: usize,
    tracks: usize,
    factor_b: f64,
) -> (Vec<String>, Vec<String>, Vec<f64>) {
    let mouse_sd = Normal::<f64>::new(0.0, 0.25).unwrap();
    let track_sd = Normal::<f64>::new(0.0, 0.5).unwrap();
    let (mut mouse, mut group, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for (g, factor) in [("A", 1.0), ("B", factor_b)] {
        for m in 0..mice {
            let ms = 8.0 * factor * mouse_sd.sample(rng).exp();
            for _ in 0..2 * tracks {
                mouse.push(format!("{g}{m}"));
                group.push(g.to_string());
                v.push(ms * track_sd.sample(rng).exp());
            }
        }
    }
    (mouse, group, v)
}

#[test]
fn mouse_level_tests_are_calibrated_and_track_level_ones_are_not() {
    let cfg = StudyConfig::default();
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let studies = 200;
    let (mut mouse_rejects, mut track_rejects) = (0, 0);
    for _ in 0..studies {
        let (mouse, group, v) = speeds(&mut rng, 4, 30, 1.0);
        let m = [Measure { name: "speed_um_per_min", values: &v, of: Of::Median }];
        let c = &study::compare(&mouse, &group, &m, None, &cfg).unwrap()[0];
        assert_eq!((c.n_mice, c.n_mice_reference, c.n_tracks), (4, 4, 240));
        assert!(c.permutation_exact);
        mouse_rejects += (c.p_permutation < 0.05) as usize;
        track_rejects += (c.p_tracks_mannwhitney < 0.05) as usize;
    }
    let (mouse_rate, track_rate) =
        (mouse_rejects as f64 / studies as f64, track_rejects as f64 / studies as f64);
    eprintln!(
        "no difference, 2 × 4 mice: mouse-level rejects {mouse_rate}, pooled tracks {track_rate}"
    );
    assert!(mouse_rate <= 0.08, "mouse-level false positives {mouse_rate}");
    assert!(track_rate > 0.5, "pooled tracks should reject far more often: {track_rate}");

    // A true difference: group B 40 % slower, 2 × 6 mice.
    let mut detected = 0;
    for _ in 0..studies {
        let (mouse, group, v) = speeds(&mut rng, 6, 30, 0.6);
        let m = [Measure { name: "speed_um_per_min", values: &v, of: Of::Median }];
        let c = &study::compare(&mouse, &group, &m, None, &cfg).unwrap()[0];
        detected += (c.p_permutation < 0.05 && c.ci_high < 0.0) as usize;
    }
    let power = detected as f64 / studies as f64;
    eprintln!("B 40 % slower, 2 × 6 mice: detected in {power}");
    assert!(power >= 0.8, "power {power}");
}

/// Writes one tracks CSV: `n` persistent random walks of 15 points (30-s frames) whose speeds
/// are log-normal (sd 0.3) around `speed` µm/min.
fn write_tracks(path: &Path, rng: &mut ChaCha8Rng, n: usize, speed: f64, frame_interval_s: f64) {
    let turn = Normal::<f64>::new(0.0, 0.6).unwrap();
    let sd = Normal::<f64>::new(0.0, 0.3).unwrap();
    let mut text = String::from("track_id,frame,t_s,x_um,y_um,z_um\n");
    for t in 0..n {
        let v = speed * sd.sample(rng).exp();
        let (mut x, mut y, z) = (rng.random_range(0.0..300.0), rng.random_range(0.0..300.0), 20.0);
        let mut a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        for k in 0..15 {
            text.push_str(&format!("{t},{k},{},{x:.4},{y:.4},{z}\n", k as f64 * frame_interval_s));
            a += turn.sample(rng);
            let step = v * frame_interval_s / 60.0;
            x += step * a.cos();
            y += step * a.sin();
        }
    }
    std::fs::write(path, text).unwrap();
}

/// A study table of tracks CSVs: groups WT (8 µm/min) and KO (`ko` × that), `mice` mice each,
/// two recordings per mouse; returns the table's path.
fn tracks_study(dir: &Path, seed: u64, mice: usize, ko: f64) -> PathBuf {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mouse_sd = Normal::<f64>::new(0.0, 0.25).unwrap();
    let mut table = String::from("recording,mouse,group,session\n");
    for (g, f) in [("WT", 1.0), ("KO", ko)] {
        for m in 0..mice {
            let speed = 8.0 * f * mouse_sd.sample(&mut rng).exp();
            for r in 0..2 {
                let name = format!("{g}_{m}_{r}.csv");
                write_tracks(&dir.join(&name), &mut rng, 20, speed, 30.0);
                table.push_str(&format!("{name},{g}{m},{g},s{r}\n"));
            }
        }
    }
    let path = dir.join("study.csv");
    std::fs::write(&path, table).unwrap();
    path
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], col: &str) -> &'a str {
    &row[header.iter().position(|h| h == col).unwrap_or_else(|| panic!("no column {col}"))]
}

#[test]
fn the_command_line_study_of_tracks_files() {
    let dir = temp("cli");
    let table = tracks_study(&dir, 5, 6, 0.5);
    let out = dir.join("out");
    let (ok, err) =
        leukotrack(&["study", table.to_str().unwrap(), "-o", out.to_str().unwrap(), "--quiet"]);
    assert!(ok, "{err}");
    for f in study::STUDY_FILES {
        assert!(out.join(f).is_file(), "{f}");
    }
    // comparisons.csv: the contract columns, one row per measure, group KO against WT.
    let (h, rows) = read_csv(&out.join("comparisons.csv"));
    for c in [
        "measure",
        "group",
        "reference",
        "n_mice",
        "n_mice_reference",
        "n_tracks",
        "n_tracks_reference",
        "median_difference",
        "ci_low",
        "ci_high",
        "p_permutation",
        "p_holm",
        "p_bh",
        "cliffs_delta",
        "hedges_g",
        "p_tracks_mannwhitney",
        "p_tracks_ks",
        "mean_difference",
    ] {
        assert!(h.iter().any(|x| x == c), "{c} missing from {h:?}");
    }
    let measures: Vec<&str> = rows.iter().map(|r| cell(&h, r, "measure")).collect();
    let mut unique = measures.clone();
    unique.dedup();
    assert_eq!(unique.len(), measures.len(), "one row per measure");
    for r in &rows {
        assert_eq!((cell(&h, r, "group"), cell(&h, r, "reference")), ("KO", "WT"));
    }
    let speed = rows.iter().find(|r| cell(&h, r, "measure") == "speed_um_per_min").unwrap();
    let f = |c: &str| cell(&h, speed, c).parse::<f64>().unwrap();
    assert_eq!((f("n_mice"), f("n_mice_reference"), f("n_tracks")), (6.0, 6.0, 240.0));
    assert!(f("median_difference") < 0.0 && f("ci_high") < 0.0, "KO is slower");
    assert!(f("p_permutation") < 0.05);
    assert!(f("p_holm") >= f("p_permutation") && f("p_bh") >= f("p_permutation"));

    // The command line's numbers are the statistics functions' on the same tracks.
    let (th, trows) = read_csv(&out.join("tracks_all.csv"));
    assert!(th.iter().any(|c| c == "behaviour_class") && th.iter().any(|c| c == "session"));
    let mouse: Vec<String> = trows.iter().map(|r| cell(&th, r, "mouse").to_string()).collect();
    let group: Vec<String> = trows.iter().map(|r| cell(&th, r, "group").to_string()).collect();
    let v: Vec<f64> =
        trows.iter().map(|r| cell(&th, r, "speed_um_per_min").parse().unwrap()).collect();
    let m = [Measure { name: "speed_um_per_min", values: &v, of: Of::Median }];
    let c = &study::compare(&mouse, &group, &m, None, &StudyConfig::default()).unwrap()[0];
    assert!((c.median_difference - f("median_difference")).abs() < 1e-9);
    assert!((c.p_permutation - f("p_permutation")).abs() < 1e-12);
    assert!((c.p_tracks_ks - f("p_tracks_ks")).abs() < 1e-12);

    // per_mouse.csv: 12 mice, 2 recordings and 40 tracks each.
    let (mh, mrows) = read_csv(&out.join("per_mouse.csv"));
    assert_eq!(mrows.len(), 12);
    assert!(mrows
        .iter()
        .all(|r| cell(&mh, r, "n_recordings") == "2" && cell(&mh, r, "n_tracks") == "40"));
    assert_eq!(read_csv(&out.join("per_recording.csv")).1.len(), 24);

    // report.html: self-contained, every figure, tables that parse.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let without_ns =
        html.replace("http://www.w3.org/2000/svg", "").replace("http://www.w3.org/1999/xlink", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    for plot in ["superplot_speed_um_per_min", "msd_groups", "classes", "forest"] {
        assert!(html.contains(&format!("id=\"{plot}\"")), "{plot}");
        assert!(out.join("plots").join(format!("{plot}.png")).is_file());
        assert!(out.join("plots").join(format!("{plot}.svg")).is_file());
    }
    assert!(html.contains("<b>WT</b>") && html.contains("<b>KO</b>"));
    assert_eq!(html.matches("<table").count(), html.matches("</table>").count());
    assert_eq!(html.matches("<tr>").count(), html.matches("</tr>").count());
    // comparisons table: a header and one row per comparison.
    let comp = &html[html.find("class=\"comparisons\"").unwrap()..];
    let comp = &comp[..comp.find("</table>").unwrap()];
    assert_eq!(comp.matches("<tr>").count(), rows.len() + 1);

    // Resumable and reproducible: a second run gives the same comparisons.
    let before = std::fs::read(out.join("comparisons.csv")).unwrap();
    let (ok, err) =
        leukotrack(&["study", table.to_str().unwrap(), "-o", out.to_str().unwrap(), "--quiet"]);
    assert!(ok, "{err}");
    assert_eq!(before, std::fs::read(out.join("comparisons.csv")).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_rows_are_reported_and_the_rest_goes_on() {
    let dir = temp("bad");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    write_tracks(&dir.join("a1.csv"), &mut rng, 10, 8.0, 30.0);
    write_tracks(&dir.join("a2.csv"), &mut rng, 10, 8.0, 30.0);
    write_tracks(&dir.join("b1.csv"), &mut rng, 10, 5.0, 20.0);
    // Tracks of one point each: no speed (a measure missing for that row).
    std::fs::write(dir.join("a3.csv"), "track_id,frame,t_s,x_um,y_um\n1,0,0,5,5\n2,3,90,50,50\n")
        .unwrap();
    std::fs::write(
        dir.join("study.csv"),
        "recording,mouse,group\na1.csv,m1,A\na2.csv,m2,A\nb1.csv,m3,B\nmissing.tif,m4,B\na3.csv,m5,A\n",
    )
    .unwrap();
    let out = dir.join("out");
    let table = dir.join("study.csv");
    let (ok, err) = leukotrack(&["study", table.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(!ok, "a failed row makes the exit status 1");
    assert!(err.contains("missing") && err.contains("failed"), "{err}");
    assert!(err.contains("group B has one mouse"), "{err}");
    assert!(err.contains("different frame intervals"), "{err}");
    assert!(err.contains("speed_um_per_min is missing in a3"), "{err}");
    // Everything else was written; the failed row is in the report and per_recording.csv.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("missing.tif") && html.contains("one mouse"));
    let (h, rows) = read_csv(&out.join("per_recording.csv"));
    assert_eq!(cell(&h, &rows[3], "status"), "failed");
    let (h, rows) = read_csv(&out.join("comparisons.csv"));
    let speed = rows.iter().find(|r| cell(&h, r, "measure") == "speed_um_per_min").unwrap();
    assert_eq!(cell(&h, speed, "p_permutation"), "NaN", "no p-value with one mouse");
    assert!(cell(&h, speed, "median_difference").parse::<f64>().unwrap() < 0.0);

    // A table without a group column, a bad override, an unknown reference: clear errors.
    std::fs::write(dir.join("nogroup.csv"), "recording,mouse\na1.csv,m1\n").unwrap();
    let (ok, err) = leukotrack(&[
        "study",
        dir.join("nogroup.csv").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("nogroup.csv") && err.contains("`group`"), "{err}");
    std::fs::write(
        dir.join("badfi.csv"),
        "recording,mouse,group,frame_interval_s\na1.csv,m1,A,soon\n",
    )
    .unwrap();
    let (ok, err) = leukotrack(&[
        "study",
        dir.join("badfi.csv").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("line 2") && err.contains("frame_interval_s"), "{err}");
    let (ok, err) = leukotrack(&[
        "study",
        table.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--reference",
        "C",
    ]);
    assert!(!ok && err.contains("`C` is not a group"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn simulated_recordings_give_the_simulated_difference() {
    // Two groups of simulated recordings: B's cells are slower and more often arrested.
    let dir = temp("e2e");
    let mut table = String::from("recording,mouse,group\n");
    let mut truth_table = String::from("recording,mouse,group\n");
    for (g, speed, arrested) in [("fast", [10.0, 14.0], 0.05), ("slow", [4.0, 6.0], 0.3)] {
        for m in 0..3u64 {
            let cfg = SynthConfig {
                seed: 100 + m + if g == "slow" { 10 } else { 0 },
                frames: 10,
                size: [128, 128, 12],
                speed_um_per_min: speed,
                arrested_fraction: arrested,
                density_per_1e5_um3: 3.0,
                ..SynthConfig::default()
            };
            let sub = dir.join(format!("{g}{m}"));
            Simulation::new(&cfg).unwrap().write(&sub).unwrap();
            table.push_str(&format!("{g}{m}/recording.tif,{g}{m},{g}\n"));
            truth_table.push_str(&format!("{g}{m}/ground_truth.csv,{g}{m},{g}\n"));
        }
    }
    std::fs::write(dir.join("study.csv"), table).unwrap();
    std::fs::write(dir.join("truth.csv"), truth_table).unwrap();
    let mut cfg = Config::default();
    cfg.metrics.min_points = 4;
    let run = |name: &str| {
        let t = study::read_table(dir.join(name)).unwrap();
        let s =
            study::run(&t, &dir.join(format!("out_{name}")), &cfg, &Default::default()).unwrap();
        study::write(&s, &dir.join(format!("out_{name}"))).unwrap();
        s
    };
    let found = run("study.csv");
    let truth = run("truth.csv");
    assert!(found.recordings.iter().all(|r| r.status == "done"), "{:?}", found.recordings);
    let row =
        |s: &study::Study, m: &str| s.comparisons.iter().find(|c| c.measure == m).unwrap().clone();
    let (speed, speed_truth) = (row(&found, "speed_um_per_min"), row(&truth, "speed_um_per_min"));
    eprintln!(
        "speed: found {} [{}, {}], simulated {}",
        speed.median_difference, speed.ci_low, speed.ci_high, speed_truth.median_difference
    );
    assert_eq!(speed.group, "slow");
    assert!(speed.ci_high < 0.0, "the slow group is slower");
    assert!(
        speed.ci_low <= speed_truth.median_difference
            && speed_truth.median_difference <= speed.ci_high
    );
    for m in ["arrest_coefficient", "fraction_arrested", "fraction_directed", "straightness"] {
        let (a, b) = (row(&found, m), row(&truth, m));
        eprintln!(
            "{m}: found {} [{}, {}] mean {}, simulated {} mean {}",
            a.median_difference,
            a.ci_low,
            a.ci_high,
            a.mean_difference,
            b.median_difference,
            b.mean_difference
        );
    }
    let (arrest, arrest_truth) =
        (row(&found, "fraction_arrested"), row(&truth, "fraction_arrested"));
    eprintln!(
        "fraction arrested: found {} [{}, {}], simulated {}",
        arrest.median_difference, arrest.ci_low, arrest.ci_high, arrest_truth.median_difference
    );
    assert!(arrest.median_difference > 0.0 && arrest.ci_low > 0.0, "the slow group arrests more");
    assert!(
        arrest.ci_low <= arrest_truth.median_difference
            && arrest_truth.median_difference <= arrest.ci_high
    );
    std::fs::remove_dir_all(&dir).ok();
}
