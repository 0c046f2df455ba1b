//! Model building blocks written only against the tensor API: they run on any
//! device.

mod linear;
mod norm;
mod rope;

pub use linear::Linear;
pub use norm::RmsNorm;
pub use rope::{mrope_interleaved_tables, rope_tables, RopeTables};
