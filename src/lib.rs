//! omnirt (skeleton being written)
pub mod checkpoint;
