//! Exports of an analysis: plots (PNG and SVG).

pub mod plots;
