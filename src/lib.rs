//! # leukotrack
//!
//! Tracking of immune cells in two-photon intravital microscopy.
#![warn(missing_docs)]

pub mod calib;
pub mod error;
pub mod io;
pub mod synth;
pub mod table;

pub use calib::{Calibration, Source, VoxelSize};
pub use error::{Error, Result};
pub use io::{PageOrder, PixelType, ReadOptions, Recording, Shape, Volume};
pub use table::{Column, Detections, TrackIds, Tracks};
