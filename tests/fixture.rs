//! The bundled fixture is what `fixtures/make.sh` says: the simulator, re-run from the
//! saved parameters, gives the same pixels and the same ground truth.

mod common;

use leukotrack::synth::{Simulation, SynthConfig};
use leukotrack::{Recording, Tracks, Volume};

#[test]
fn fixture_matches_its_simulator_parameters() {
    let dir = common::fixtures();
    let cfg: SynthConfig = serde_json::from_str(
        &std::fs::read_to_string(dir.join("two_photon_2ch.synth.json")).unwrap(),
    )
    .unwrap();
    let sim = Simulation::new(&cfg).unwrap();
    let rec = Recording::open(dir.join("two_photon_2ch.tif")).unwrap();
    let s = rec.shape();
    assert_eq!((s.t, s.c, s.z, s.y, s.x), (12, 2, 16, 128, 128));
    for (t, c) in [(0, 0), (11, 1), (5, 0)] {
        assert_eq!(
            rec.volume(t, c).unwrap(),
            Volume::U16(sim.render(t, c).unwrap()),
            "t={t} c={c}"
        );
    }
    let gt = Tracks::read_csv(dir.join("two_photon_2ch.ground_truth.csv"), None).unwrap();
    let truth = sim.truth();
    assert_eq!(gt.len(), truth.len());
    assert_eq!(gt.frame, truth.frame);
    for i in 0..gt.len() {
        assert!((gt.x_um[i] - truth.x_um[i]).abs() < 1e-9);
    }
    // Small enough to bundle.
    assert!(std::fs::metadata(dir.join("two_photon_2ch.tif")).unwrap().len() <= 8 << 20);
}
