//! Linking detections into tracks.
//!
//! [`assign`] holds the linear assignment solvers every linking step is built on: a dense
//! rectangular solver ([`assign::solve_dense`]) and a sparse matcher that splits the candidate
//! graph into independent components ([`assign::match_sparse`]).

pub mod assign;
