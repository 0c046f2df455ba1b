//! The tensor API model code is written against: element types, shapes and
//! strided layouts, and `Tensor` itself (immutable, shared storage, cheap views).

mod dtype;
mod layout;
mod load;
mod ops;
mod shape;
#[allow(clippy::module_inception)]
mod tensor;

pub use dtype::{DType, Element};
pub use layout::Layout;
pub use load::dtype_from_disk;
pub use shape::Shape;
pub use tensor::Tensor;
