//! Any bytes as a TrackMate XML file: `read_trackmate` (with and without a caller's voxel
//! size and frame interval) gives tracks that validate and write back, or an error — never a
//! panic.
#![no_main]

use leukotrack::import::{read_trackmate, read_trackmate_with, TrackMateOptions};
use leukotrack::VoxelSize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = leukotrack_fuzz::write_input("tracks.xml", data);
    let options = TrackMateOptions {
        voxel_size: Some(VoxelSize::new(0.5, 0.5, 2.0).unwrap()),
        frame_interval_s: Some(30.0),
    };
    for tracks in [read_trackmate(&path), read_trackmate_with(&path, &options)] {
        if let Ok(t) = tracks {
            t.validate().expect("tracks read are valid");
            let mut out = Vec::new();
            t.write_to(&mut out).expect("write to memory");
        }
    }
});
