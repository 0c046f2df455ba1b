//! Model building blocks written only against the tensor API: they run on any
//! device.

mod init;
mod linear;
mod mlp;
mod norm;
mod rope;

pub use init::NormalRng;
pub use linear::Linear;
pub use mlp::SwiGluMlp;
pub use norm::RmsNorm;
pub use rope::{mrope_interleaved_tables, rope_tables, RopeTables};
