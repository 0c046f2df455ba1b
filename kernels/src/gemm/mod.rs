//! Dense matrix multiply: `C[m×n] = A[m×k] · B`, where B is `[k×n]` row-major or,
//! with `b_transposed`, stored as `[n×k]` row-major (the layout of a Linear weight).
//! B may be f32, bf16 or f16; products always accumulate in f32.
//!
//! Two drivers share each ISA's inner loops (`arch::Kernels`):
//! - `gemv`: small m (decode, short prompts). Streams every weight once at
//!   memory bandwidth.
//! - `blocked`: BLIS-style packing (B panels widened to f32 while packing, so
//!   bf16/f16 weights reuse the f32 micro-kernel) with a register tile per ISA.
//!
//! Both split work with rayon on the caller's current pool.

// Targets without a SIMD variant only use the scalar reference.
#![cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code, unused_imports)
)]

mod arch;
mod blocked;
mod element;
mod gemv;
mod pack;
mod problem;
mod scalar;
mod scratch;
mod shared_out;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86;

use half::{bf16, f16};

use crate::blocking::CacheInfo;
use crate::isa::Isa;
use arch::Kernels;
use element::WeightElem;
use problem::Problem;

/// `c[i*ldc + j] = Σ_p a[i*lda + p] · b(p, j)`, overwriting C, with the best ISA
/// of this host. `b(p, j)` is `b[j*ldb + p]` when `b_transposed`, else
/// `b[p*ldb + j]`. Panics if a slice is too short for its shape and stride.
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32(
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_f32_with(
        Isa::best(),
        caches,
        m,
        n,
        k,
        a,
        lda,
        b,
        ldb,
        b_transposed,
        c,
        ldc,
    );
}

/// `gemm_f32` with bf16 weights (accumulating in f32).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_bf16(
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[bf16],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_f32_bf16_with(
        Isa::best(),
        caches,
        m,
        n,
        k,
        a,
        lda,
        b,
        ldb,
        b_transposed,
        c,
        ldc,
    );
}

/// `gemm_f32` with f16 weights (accumulating in f32).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_f16(
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f16],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_f32_f16_with(
        Isa::best(),
        caches,
        m,
        n,
        k,
        a,
        lda,
        b,
        ldb,
        b_transposed,
        c,
        ldc,
    );
}

/// `gemm_f32` running the `isa` variant (scalar if this host lacks it).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_with(
    isa: Isa,
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_any(
        isa,
        caches,
        Problem::new(m, n, k, a, lda, b, ldb, b_transposed, c, ldc),
    );
}

/// `gemm_f32_bf16` running the `isa` variant (scalar if this host lacks it).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_bf16_with(
    isa: Isa,
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[bf16],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_any(
        isa,
        caches,
        Problem::new(m, n, k, a, lda, b, ldb, b_transposed, c, ldc),
    );
}

/// `gemm_f32_f16` running the `isa` variant (scalar if this host lacks it).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32_f16_with(
    isa: Isa,
    caches: &CacheInfo,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f16],
    ldb: usize,
    b_transposed: bool,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_any(
        isa,
        caches,
        Problem::new(m, n, k, a, lda, b, ldb, b_transposed, c, ldc),
    );
}

/// Dispatch on ISA for a validated problem.
fn gemm_any<E: WeightElem>(isa: Isa, caches: &CacheInfo, pb: Problem<'_, E>) {
    if pb.m == 0 || pb.n == 0 {
        return;
    }
    if pb.k == 0 {
        for i in 0..pb.m {
            let row = pb.c.at(i * pb.ldc);
            // SAFETY: the validated C covers n elements from row i's start.
            unsafe { std::ptr::write_bytes(row, 0, pb.n) };
        }
        return;
    }
    match isa.checked() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `checked()` returns Avx2 only when this host runs AVX2, FMA
            // and F16C; the problem was validated by `Problem::new`.
            unsafe { run_simd::<x86::Avx2, E>(caches, pb) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            // SAFETY: `checked()` returns Neon only when this host runs NEON; the
            // problem was validated by `Problem::new`.
            unsafe { run_simd::<aarch64::Neon, E>(caches, pb) }
        }
        _ => {
            // SAFETY: the validated C covers `span(m, n, ldc)` elements and is
            // exclusively borrowed by `pb` for this call.
            let c = unsafe {
                std::slice::from_raw_parts_mut(pb.c.at(0), arch::span(pb.m, pb.n, pb.ldc))
            };
            scalar::gemm(
                pb.m,
                pb.n,
                pb.k,
                pb.a,
                pb.lda,
                pb.b,
                pb.ldb,
                pb.b_transposed,
                c,
                pb.ldc,
            );
        }
    }
}

/// Picks the driver for the shape.
///
/// # Safety
/// The host supports `K`'s ISA and `pb` was validated.
unsafe fn run_simd<K: Kernels<E>, E: WeightElem>(caches: &CacheInfo, pb: Problem<'_, E>) {
    // SAFETY: forwarded.
    unsafe {
        if pb.m <= gemv::MAX_M || (pb.b_transposed && pb.m <= gemv::MAX_M_TRANSPOSED) {
            gemv::run::<K, E>(pb)
        } else {
            blocked::run::<K, E>(caches, pb)
        }
    }
}
