//! Elementwise binary arithmetic: two slices, a slice and a scalar, rows and a
//! broadcast row, plus the in-place updates (`add_inplace`, `axpy`,
//! `scale_inplace`) a runtime uses for residuals and weighted sums.
//!
//! Every variant gives bit-identical results except `axpy`, whose SIMD variants
//! use a fused multiply-add (the reference rounds the product first).

use crate::Isa;

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// `a op b` for f32 elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Larger of the two; NaN if either is NaN (like `torch.maximum`).
    Max,
    /// Smaller of the two; NaN if either is NaN (like `torch.minimum`).
    Min,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 6] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
    ];

    /// The reference value for one pair of elements.
    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        scalar::apply(self, a, b)
    }
}

/// `out[i] = a[i] op b[i]`.
pub fn binary(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    binary_with(Isa::best(), op, a, b, out)
}

pub fn binary_with(isa: Isa, op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "binary {op:?}: a, b and out lengths differ ({}, {}, {})",
        a.len(),
        b.len(),
        out.len()
    );
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::binary(op, a, b, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::binary(op, a, b, out) },
        _ => scalar::binary(op, a, b, out),
    }
}

/// `out[i] = a[i] op s`.
pub fn binary_scalar(op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) {
    binary_scalar_with(Isa::best(), op, a, s, out)
}

pub fn binary_scalar_with(isa: Isa, op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) {
    assert_eq!(
        a.len(),
        out.len(),
        "binary_scalar {op:?}: a and out lengths differ"
    );
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::binary_scalar(op, a, s, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::binary_scalar(op, a, s, out) },
        _ => scalar::binary_scalar(op, a, s, out),
    }
}

/// `out[i] = s op b[i]` (for the non-commutative ops: `s - b`, `s / b`).
pub fn binary_scalar_lhs(op: BinaryOp, s: f32, b: &[f32], out: &mut [f32]) {
    binary_scalar_lhs_with(Isa::best(), op, s, b, out)
}

pub fn binary_scalar_lhs_with(isa: Isa, op: BinaryOp, s: f32, b: &[f32], out: &mut [f32]) {
    assert_eq!(
        b.len(),
        out.len(),
        "binary_scalar_lhs {op:?}: b and out lengths differ"
    );
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::binary_scalar_lhs(op, s, b, out) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::binary_scalar_lhs(op, s, b, out) },
        _ => scalar::binary_scalar_lhs(op, s, b, out),
    }
}

/// `out[r·dim + j] = a[r·dim + j] op b[j]`: `a` is rows × dim, `b` one row.
pub fn binary_row_broadcast(op: BinaryOp, a: &[f32], b: &[f32], dim: usize, out: &mut [f32]) {
    binary_row_broadcast_with(Isa::best(), op, a, b, dim, out)
}

pub fn binary_row_broadcast_with(
    isa: Isa,
    op: BinaryOp,
    a: &[f32],
    b: &[f32],
    dim: usize,
    out: &mut [f32],
) {
    assert_eq!(
        b.len(),
        dim,
        "binary_row_broadcast {op:?}: b must hold one row of dim = {dim}"
    );
    assert_eq!(
        a.len(),
        out.len(),
        "binary_row_broadcast {op:?}: a and out lengths differ"
    );
    if dim == 0 {
        assert!(
            a.is_empty(),
            "binary_row_broadcast {op:?}: dim = 0 with a non-empty a"
        );
        return;
    }
    assert_eq!(
        a.len() % dim,
        0,
        "binary_row_broadcast {op:?}: a is not whole rows of {dim}"
    );
    for (a_row, out_row) in a.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        binary_with(isa, op, a_row, b, out_row);
    }
}

/// `acc[i] += x[i]` (residual connections).
pub fn add_inplace(acc: &mut [f32], x: &[f32]) {
    add_inplace_with(Isa::best(), acc, x)
}

pub fn add_inplace_with(isa: Isa, acc: &mut [f32], x: &[f32]) {
    assert_eq!(acc.len(), x.len(), "add_inplace: acc and x lengths differ");
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::add_inplace(acc, x) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::add_inplace(acc, x) },
        _ => scalar::add_inplace(acc, x),
    }
}

/// `acc[i] += alpha · x[i]` (weighted sums, e.g. combining MoE experts). SIMD
/// variants fuse the multiply-add, so they differ from the reference by at most
/// the rounding of `alpha · x[i]`.
pub fn axpy(acc: &mut [f32], alpha: f32, x: &[f32]) {
    axpy_with(Isa::best(), acc, alpha, x)
}

pub fn axpy_with(isa: Isa, acc: &mut [f32], alpha: f32, x: &[f32]) {
    assert_eq!(acc.len(), x.len(), "axpy: acc and x lengths differ");
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::axpy(acc, alpha, x) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::axpy(acc, alpha, x) },
        _ => scalar::axpy(acc, alpha, x),
    }
}

/// `x[i] *= s`.
pub fn scale_inplace(x: &mut [f32], s: f32) {
    scale_inplace_with(Isa::best(), x, s)
}

pub fn scale_inplace_with(isa: Isa, x: &mut [f32], s: f32) {
    match isa.checked() {
        // SAFETY: `checked()` returned Avx2, so this CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::scale_inplace(x, s) },
        // SAFETY: `checked()` returned Neon, so this CPU has NEON.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { aarch64::scale_inplace(x, s) },
        _ => scalar::scale_inplace(x, s),
    }
}
