//! Scores the segmentation on simulated scenes and on the shared synthetic recording.
//!
//! `cargo run --release --example segment_eval -- [threshold|blob] [scene ...]`
//! Scenes: `default`, `low_snr`, `dense`, `touching`, `big` (512×512×32), `shared` (the independent simulator's
//! recording in ../shared/data/synthetic). Prints one line per scene: F1, precision, recall,
//! RMSE xy/z, the debris false-positive rate and the wall-clock and CPU time per volume.
//! `SEGMENT_CONFIG='{"bin_xy": 2}'` replaces the settings (a JSON `SegmentConfig`);
//! `SEGMENT_DEBUG=1` lists frame 0's misses and false positives.

use std::path::PathBuf;
use std::time::Instant;

use leukotrack::eval::{score_detections, EvalConfig};
use leukotrack::segment::{
    segment_frame, BlobDetector, DetectorConfig, SegmentConfig, ThresholdDetector,
};
use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Detections, Recording, Tracks, Volume};

fn scene(name: &str) -> Option<SynthConfig> {
    let base = SynthConfig { frames: 4, ..Default::default() };
    Some(match name {
        "default" => base,
        "low_snr" => SynthConfig { cell_photons: 12.0, ..base },
        "dense" => SynthConfig { density_per_1e5_um3: 4.0, ..base },
        "touching" => SynthConfig { touching_pairs: 12, density_per_1e5_um3: 0.8, ..base },
        "big" => SynthConfig { size: [512, 512, 32], frames: 3, ..base },
        _ => return None,
    })
}

fn main() -> leukotrack::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let method = args.first().map(String::as_str).unwrap_or("blob");
    let scenes: Vec<&str> = if args.len() > 1 {
        args[1..].iter().map(String::as_str).collect()
    } else {
        vec!["default", "low_snr", "dense", "touching", "shared"]
    };
    let mut cfg = SegmentConfig {
        detector: match method {
            "threshold" => DetectorConfig::Threshold(ThresholdDetector::default()),
            _ => DetectorConfig::Blob(BlobDetector::default()),
        },
        ..Default::default()
    };
    if let Ok(j) = std::env::var("SEGMENT_CONFIG") {
        cfg = serde_json::from_str(&j).expect("SEGMENT_CONFIG json");
    }
    for name in scenes {
        let (truth, dets, secs, cpu, debris_fp, voxels) = if name == "shared" {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/synthetic");
            let rec = Recording::open(dir.join("recording.tif"))?;
            let truth = Tracks::read_csv(dir.join("ground_truth.csv"), None)?;
            let mut all = Detections::new(true);
            let (mut secs, mut cpu) = (0.0, 0.0);
            for t in 0..rec.shape().t {
                let v = rec.volume(t, 0)?;
                let (t0, c0) = (Instant::now(), cpu_seconds());
                let s = segment_frame(&[v], 0, t, rec.calibration(), &cfg)?;
                secs += t0.elapsed().as_secs_f64();
                cpu += cpu_seconds() - c0;
                push_all(&mut all, &s.detections);
            }
            let n = rec.shape().t as f64;
            (truth, all, secs / n, cpu / n, f64::NAN, rec.shape().volume_len())
        } else {
            let sc = scene(name).expect("scene");
            let sim = Simulation::new(&sc)?;
            let cal = sc.calibration();
            let mut all = Detections::new(true);
            let (mut secs, mut cpu) = (0.0, 0.0);
            for t in 0..sc.frames {
                let v = Volume::U16(sim.render(t, 0)?);
                let (t0, c0) = (Instant::now(), cpu_seconds());
                let s = segment_frame(&[v], 0, t, &cal, &cfg)?;
                secs += t0.elapsed().as_secs_f64();
                cpu += cpu_seconds() - c0;
                push_all(&mut all, &s.detections);
            }
            let fp = debris_fp_rate(&sim, &all);
            let n = sc.frames as f64;
            (sim.truth().clone(), all, secs / n, cpu / n, fp, sc.shape().volume_len())
        };
        let s = score_detections(&truth, &dets, &EvalConfig::default())?;
        println!(
            "{method:9} {name:9} F1 {:.4}  P {:.4}  R {:.4}  rmse_xy {:.3}  rmse_z {:.3}  truth {} pred {}  debris_fp {:.3}  wall {:.1} ms/volume  cpu {:.1} ms/volume  {:.0} Mvoxel per cpu-s",
            s.f1,
            s.precision,
            s.recall,
            s.rmse_xy_um,
            s.rmse_z_um.unwrap_or(f64::NAN),
            s.n_truth,
            s.n_predicted,
            debris_fp,
            secs * 1e3,
            cpu * 1e3,
            voxels as f64 / cpu / 1e6
        );
        if std::env::var("SEGMENT_DEBUG").is_ok() {
            debug_misses(&truth, &dets);
        }
    }
    Ok(())
}

/// CPU time (user + system) of this process so far, seconds, from /proc/self/stat (Linux;
/// NaN elsewhere): measures the work done, whatever else loads the machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    let Some(rest) = stat.rsplit(')').next() else { return f64::NAN };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12 (clock ticks, 100 Hz).
    match (
        f.get(11).and_then(|v| v.parse::<f64>().ok()),
        f.get(12).and_then(|v| v.parse::<f64>().ok()),
    ) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

fn push_all(all: &mut Detections, d: &Detections) {
    for i in 0..d.len() {
        all.push(d.frame[i], d.x_um[i], d.y_um[i], d.z_um.as_ref().map(|z| z[i]));
    }
}

/// Fraction of debris specks (per frame) with a detection within 3 µm and no cell within 5 µm.
fn debris_fp_rate(sim: &Simulation, det: &Detections) -> f64 {
    let truth = sim.truth();
    let (mut n, mut fp) = (0usize, 0usize);
    for f in 0..sim.config().frames {
        let d = sim.drift()[f];
        for sp in sim.debris() {
            let p = [sp.x_um + d[0], sp.y_um + d[1], sp.z_um + d[2]];
            n += 1;
            let near = |x: f64, y: f64, z: f64, r: f64| {
                (x - p[0]).powi(2) + (y - p[1]).powi(2) + (z - p[2]).powi(2) < r * r
            };
            let cell = (0..truth.len()).any(|i| {
                truth.frame[i] as usize == f
                    && near(truth.x_um[i], truth.y_um[i], truth.z_um.as_ref().unwrap()[i], 5.0)
            });
            let hit = (0..det.len()).any(|i| {
                det.frame[i] as usize == f
                    && near(det.x_um[i], det.y_um[i], det.z_um.as_ref().unwrap()[i], 3.0)
            });
            if hit && !cell {
                fp += 1;
            }
        }
    }
    fp as f64 / n.max(1) as f64
}

/// Prints unmatched truth and detections (nearest neighbour within 5 µm, greedy) of frame 0.
fn debug_misses(truth: &Tracks, det: &Detections) {
    let tz = truth.z_um.as_ref().unwrap();
    let dz = det.z_um.as_ref().unwrap();
    for i in 0..truth.len() {
        if truth.frame[i] != 0 {
            continue;
        }
        let best = (0..det.len())
            .filter(|&j| det.frame[j] == 0)
            .map(|j| {
                let d = ((det.x_um[j] - truth.x_um[i]).powi(2)
                    + (det.y_um[j] - truth.y_um[i]).powi(2)
                    + (dz[j] - tz[i]).powi(2))
                .sqrt();
                (d, j)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if best.is_none_or(|b| b.0 > 5.0) {
            println!(
                "  miss truth ({:.1},{:.1},{:.1}) nearest {:?}",
                truth.x_um[i],
                truth.y_um[i],
                tz[i],
                best.map(|(d, j)| (d, det.x_um[j], det.y_um[j], dz[j]))
            );
        }
    }
    for j in 0..det.len() {
        if det.frame[j] != 0 {
            continue;
        }
        let near = (0..truth.len()).filter(|&i| truth.frame[i] == 0).any(|i| {
            ((det.x_um[j] - truth.x_um[i]).powi(2)
                + (det.y_um[j] - truth.y_um[i]).powi(2)
                + (dz[j] - tz[i]).powi(2))
            .sqrt()
                <= 5.0
        });
        if !near {
            println!("  false pos ({:.1},{:.1},{:.1})", det.x_um[j], det.y_um[j], dz[j]);
        }
    }
}
