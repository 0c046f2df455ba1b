//! omnirt (skeleton being written)
