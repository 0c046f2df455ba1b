//! Q8_0 / Q4_0 (ggml block formats, see [`crate::quant`]) on RVV 1.0: activation
//! quantization, the quantized dot products, and the GEMM that uses them.
//!
//! Each kernel is split the same way in the native asm and in the model:
//! - **integer part** (engine specific): per 32-value block, `vwmul.vv` i8×i8→i16
//!   (Q4_0: nibbles unpacked with `vand 0x0F` / `vsrl 4` and `−8`, the high half
//!   added with `vwmacc.vv`), then `vwredsum.vs` i16→i32. Block sums are exact
//!   integers, so any summation order gives the same `i32`.
//! - **scale part** (shared Rust, [`accumulate`]): `acc += sumi as f32 · (d_w · d_x)`
//!   in block order, unfused, exactly as the scalar reference
//!   (`crate::quant::vec_dot_*_with(Isa::Scalar, ..)`) does, so native, model and
//!   scalar reference agree bit for bit.
//!
//! One block is one strip: `vl = 32` (Q8_0) or `16` (Q4_0 halves), with the LMUL that
//! makes `VLMAX` ≥ `vl` at the target's VLEN (e8: m2 at VLEN 128, m1 at 256, mf2 at
//! 512, mf4 at 1024), so `AVL ≤ VLMAX` always and `vl = AVL`.
//!
//! Quantization equals ggml's `quantize_row_q8_0_ref` bit for bit: `vfredmax` of
//! `|x|`, `d = amax/127`, `id = 1/d` (0 when `d = 0`) in scalar f32, `vfmul.vf` by
//! `id`, then `vfncvt.x.f.w` with the rounding mode set to RMM (round half away from
//! zero, C's `roundf`), clamped to `[-128, 127]`, NaN products → 0 (Rust's `as i8`).

mod model;
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
mod riscv64;

use super::RvvTarget;
use crate::quant::{BlockQ4_0, BlockQ8_0, QK};
use half::f16;
use rayon::prelude::*;

/// Blocks whose integer sums one native kernel call produces before the scale pass.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
const CHUNK: usize = 64;

/// Quantizes `x` (a multiple of 32 values) into `out.len()` Q8_0 blocks, bit for bit
/// as [`crate::quant::quantize_row_q8_0`].
pub fn quantize_row_q8_0(t: &RvvTarget, x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(
        x.len(),
        out.len() * QK,
        "quantize_row_q8_0: x.len() must be 32 × out.len()"
    );
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        super::Engine::Native => riscv64::quantize_row_q8_0(t, x, out),
        // Native exists only on riscv64 with the `rvv` feature.
        _ => model::quantize_row_q8_0(x, out),
    }
}

/// `Σ a·b` over two Q8_0 rows (`a` the weights, `b` quantized activations).
pub fn vec_dot_q8_0_q8_0(t: &RvvTarget, a: &[BlockQ8_0], b: &[BlockQ8_0]) -> f32 {
    assert_eq!(a.len(), b.len(), "vec_dot_q8_0_q8_0: rows differ in length");
    dot(t, a, b, None)
}

/// `Σ w·x` over a Q4_0 weight row and a Q8_0 activation row.
pub fn vec_dot_q4_0_q8_0(t: &RvvTarget, w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    assert_eq!(w.len(), x.len(), "vec_dot_q4_0_q8_0: rows differ in length");
    dot(t, w, x, None)
}

/// `C[m×n] = A[m×k] · Wᵀ` with W in Q8_0 (`n` rows of `k/32` blocks); A rows are
/// quantized to Q8_0 first. Same contract as [`crate::quant::gemm_q8_0`], and the same
/// results as its scalar reference bit for bit.
#[allow(clippy::too_many_arguments)]
pub fn gemm_q8_0(
    t: &RvvTarget,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ8_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm(t, m, n, k, a, lda, w, c, ldc)
}

/// `C[m×n] = A[m×k] · Wᵀ` with W in Q4_0; otherwise as [`gemm_q8_0`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_q4_0(
    t: &RvvTarget,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[BlockQ4_0],
    c: &mut [f32],
    ldc: usize,
) {
    gemm(t, m, n, k, a, lda, w, c, ldc)
}

/// f16 → f32, exact (as `half::f16::to_f32`; NaNs stay NaN), branch-free so that the
/// model's scale pass vectorizes on hosts without F16C.
#[inline(always)]
fn f16_to_f32(h: f16) -> f32 {
    let h = h.to_bits() as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7FFF;
    // Shift exponent and mantissa into place and rebias by 2^(127 − 15); exact for
    // normals and subnormals (a power-of-two scaling into the f32 normal range).
    let finite = f32::from_bits(em << 13) * f32::from_bits(0x7780_0000);
    let mag = if em >= 0x7C00 {
        (em << 13) | 0x7F80_0000
    } else {
        finite.to_bits()
    };
    f32::from_bits(mag | sign)
}

/// A weight block format with an RVV integer dot against Q8_0 activations.
trait Weight: Copy + Sync {
    fn scale(&self) -> f16;
    /// Native: `sums[b] = Σ_i w[b]_i · x[b]_i` (exact), all slices the same length.
    #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
    fn block_sums(t: &RvvTarget, w: &[Self], x: &[BlockQ8_0], sums: &mut [i32]);
    /// Model: the same sum for one block.
    fn model_sum(&self, x: &BlockQ8_0) -> i32;
}

impl Weight for BlockQ8_0 {
    fn scale(&self) -> f16 {
        self.d
    }

    #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
    fn block_sums(t: &RvvTarget, w: &[Self], x: &[BlockQ8_0], sums: &mut [i32]) {
        riscv64::block_sums_q8_0(t, w, x, sums)
    }

    #[inline(always)]
    fn model_sum(&self, x: &BlockQ8_0) -> i32 {
        model::sum_q8_0(self, x)
    }
}

impl Weight for BlockQ4_0 {
    fn scale(&self) -> f16 {
        self.d
    }

    #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
    fn block_sums(t: &RvvTarget, w: &[Self], x: &[BlockQ8_0], sums: &mut [i32]) {
        riscv64::block_sums_q4_0(t, w, x, sums)
    }

    #[inline(always)]
    fn model_sum(&self, x: &BlockQ8_0) -> i32 {
        model::sum_q4_0(self, x)
    }
}

/// `Σ_b sumi_b · (d_w,b · d_x,b)` in block order. `dx` holds the activation scales as
/// f32 when the caller converted them already (GEMM), else they are read from `x`.
fn dot<W: Weight>(t: &RvvTarget, w: &[W], x: &[BlockQ8_0], dx: Option<&[f32]>) -> f32 {
    match t.engine() {
        #[cfg(all(target_arch = "riscv64", feature = "rvv"))]
        super::Engine::Native => dot_native(t, w, x, dx),
        // Native exists only on riscv64 with the `rvv` feature.
        _ => model::dot(w, x, dx),
    }
}

/// The asm produces the integer sums of up to [`CHUNK`] blocks, then the scale pass.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
fn dot_native<W: Weight>(t: &RvvTarget, w: &[W], x: &[BlockQ8_0], dx: Option<&[f32]>) -> f32 {
    let mut acc = 0.0f32;
    let mut sums = [0i32; CHUNK];
    let mut scales = [0.0f32; CHUNK];
    for (c, (wc, xc)) in w.chunks(CHUNK).zip(x.chunks(CHUNK)).enumerate() {
        let n = wc.len();
        W::block_sums(t, wc, xc, &mut sums[..n]);
        match dx {
            Some(dx) => {
                let dx = &dx[c * CHUNK..c * CHUNK + n];
                for ((s, wb), &d) in scales.iter_mut().zip(wc).zip(dx) {
                    *s = f16_to_f32(wb.scale()) * d;
                }
            }
            None => {
                for ((s, wb), xb) in scales.iter_mut().zip(wc).zip(xc) {
                    *s = f16_to_f32(wb.scale()) * f16_to_f32(xb.d);
                }
            }
        }
        acc = accumulate(acc, &sums[..n], &scales[..n]);
    }
    acc
}

/// `acc + Σ sums[b] · scales[b]`, one block at a time in order, multiply then add.
#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
#[inline(always)]
fn accumulate(mut acc: f32, sums: &[i32], scales: &[f32]) -> f32 {
    for (&s, &d) in sums.iter().zip(scales) {
        acc += s as f32 * d;
    }
    acc
}

/// Below this many activation values, quantizing on the calling thread beats waking
/// the pool.
const PARALLEL_MIN_VALUES: usize = 1 << 16;
/// Smallest task worth a rayon hand-off: weight bytes × A rows it multiplies.
const MIN_TASK_WORK: usize = 64 << 10;
/// Tasks per pool thread: enough to even out a busy core, few enough to keep runs long.
const TASKS_PER_THREAD: usize = 4;
/// Quantized A rows (quants + f32 scales) kept in L2 while each weight row, read from
/// memory once per tile, is multiplied with all of them from L1.
const ACTIVATION_TILE_BYTES: usize = 128 << 10;

#[allow(clippy::too_many_arguments)]
fn gemm<W: Weight>(
    t: &RvvTarget,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    w: &[W],
    c: &mut [f32],
    ldc: usize,
) {
    let Some(kb) = crate::quant::check_and_trivial(m, n, k, a.len(), lda, w.len(), c, ldc) else {
        return;
    };

    // Each A row quantized once, with its scales as f32 for the scale pass.
    let mut qa = vec![BlockQ8_0::default(); m * kb];
    let mut dx = vec![0.0f32; m * kb];
    let quantize = |(i, (q, d)): (usize, (&mut [BlockQ8_0], &mut [f32]))| {
        quantize_row_q8_0(t, &a[i * lda..i * lda + k], q);
        for (d, b) in d.iter_mut().zip(q.iter()) {
            *d = f16_to_f32(b.d);
        }
    };
    if m * k < PARALLEL_MIN_VALUES {
        qa.chunks_mut(kb)
            .zip(dx.chunks_mut(kb))
            .enumerate()
            .for_each(quantize);
    } else {
        qa.par_chunks_mut(kb)
            .zip(dx.par_chunks_mut(kb))
            .enumerate()
            .for_each(quantize);
    }

    let row_bytes = kb * std::mem::size_of::<W>();
    let balanced = n.div_ceil(TASKS_PER_THREAD * rayon::current_num_threads());
    let chunk = balanced
        .max(MIN_TASK_WORK.div_ceil(row_bytes * m))
        .clamp(1, n);
    let act_bytes = kb * (std::mem::size_of::<BlockQ8_0>() + std::mem::size_of::<f32>());
    let tile = (ACTIVATION_TILE_BYTES / act_bytes).max(1);

    // Task `j` owns columns [j·chunk, (j+1)·chunk) of every C row; each output is one
    // `dot` call whatever the split, so results do not depend on the pool size.
    let mut tasks: Vec<Vec<&mut [f32]>> = (0..n.div_ceil(chunk))
        .map(|_| Vec::with_capacity(m))
        .collect();
    for row in c.chunks_mut(ldc).take(m) {
        for (task, piece) in tasks.iter_mut().zip(row[..n].chunks_mut(chunk)) {
            task.push(piece);
        }
    }
    let run = |(j, mut out): (usize, Vec<&mut [f32]>)| {
        let j0 = j * chunk;
        for (tq, (tx, tout)) in qa
            .chunks(tile * kb)
            .zip(dx.chunks(tile * kb).zip(out.chunks_mut(tile)))
        {
            for jj in 0..tout[0].len() {
                let wrow = &w[(j0 + jj) * kb..(j0 + jj + 1) * kb];
                for ((q, d), o) in tq.chunks(kb).zip(tx.chunks(kb)).zip(tout.iter_mut()) {
                    o[jj] = dot(t, wrow, q, Some(d));
                }
            }
        }
    };
    if tasks.len() == 1 {
        tasks.into_iter().enumerate().for_each(run);
    } else {
        tasks.into_par_iter().enumerate().for_each(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_to_f32_is_exact_for_every_f16() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            let (got, want) = (f16_to_f32(h), h.to_f32());
            if want.is_nan() {
                assert!(got.is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{bits:#06x}");
            }
        }
    }
}
