//! GEMM activations quantized to Q8_0 once per call and stored for the dot kernels
//! rather than for GGUF, since every weight row reuses them: quants 32-byte aligned (no
//! cache-line-split loads) and, if the kernel asks, regrouped to match how it unpacks
//! weights; scales as f32; and `8·Σq` per block, for kernels that multiply Q4_0 nibbles
//! unsigned (Σ (n − 8)·x = Σ n·x − 8·Σx).

use super::{quantize_row_q8_0_with, BlockQ8_0, QK};
use crate::Isa;
use rayon::prelude::*;

/// The 32 quants of one block, or two 16-byte halves of two blocks (see [`Layout`]).
#[repr(C, align(32))]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Quants(pub [i8; QK]);

/// How a row's quants are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Block `b` in `qs[b]`.
    Blocks,
    /// Each whole group of four blocks `b0..b3` as `[b0 lo | b2 lo]`, `[b0 hi | b2 hi]`,
    /// `[b1 lo | b3 lo]`, `[b1 hi | b3 hi]` (lo/hi: values 0..16 / 16..32), which is how
    /// the AVX2 Q4_0 kernel unpacks two weight blocks into one register; a tail of fewer
    /// than four blocks stays in `Blocks` order.
    PairedHalves,
}

/// `m` rows of `kb` blocks.
pub(crate) struct QuantizedActivations {
    kb: usize,
    qs: Vec<Quants>,
    d: Vec<f32>,
    sum8: Vec<f32>,
}

/// One activation row of `kb` blocks: quants (in the requested layout), scales
/// `d[b]` and `sum8[b] = 8·Σ qs` (exact in f32).
#[derive(Clone, Copy)]
pub(crate) struct ActRow<'a> {
    pub qs: &'a [Quants],
    pub d: &'a [f32],
    pub sum8: &'a [f32],
}

type RowOut<'a> = (usize, ((&'a mut [Quants], &'a mut [f32]), &'a mut [f32]));

/// Below this many values, quantizing on the calling thread beats waking the pool.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

impl QuantizedActivations {
    /// Quantizes rows `a[i*lda .. i*lda + k]` for `i < m`; the caller checked the bounds
    /// and that `k` is a positive multiple of 32.
    pub fn new(
        isa: Isa,
        layout: Layout,
        m: usize,
        k: usize,
        a: &[f32],
        lda: usize,
    ) -> QuantizedActivations {
        let kb = k / QK;
        let mut qa = QuantizedActivations {
            kb,
            qs: vec![Quants::default(); m * kb],
            d: vec![0.0; m * kb],
            sum8: vec![0.0; m * kb],
        };
        let quantize = |blocks: &mut Vec<BlockQ8_0>, (i, ((qs, d), sum8)): RowOut<'_>| {
            blocks.clear();
            blocks.resize(kb, BlockQ8_0::default());
            quantize_row_q8_0_with(isa, &a[i * lda..i * lda + k], blocks);
            store_row(blocks, layout, qs, d, sum8);
        };
        if m * k < PARALLEL_MIN_VALUES {
            let rows = qa
                .qs
                .chunks_mut(kb)
                .zip(qa.d.chunks_mut(kb))
                .zip(qa.sum8.chunks_mut(kb));
            let mut blocks = Vec::new();
            rows.enumerate().for_each(|row| quantize(&mut blocks, row));
        } else {
            let rows = qa
                .qs
                .par_chunks_mut(kb)
                .zip(qa.d.par_chunks_mut(kb))
                .zip(qa.sum8.par_chunks_mut(kb));
            rows.enumerate().for_each_init(Vec::new, quantize);
        }
        qa
    }

    pub fn row(&self, i: usize) -> ActRow<'_> {
        let r = i * self.kb..(i + 1) * self.kb;
        ActRow {
            qs: &self.qs[r.clone()],
            d: &self.d[r.clone()],
            sum8: &self.sum8[r],
        }
    }
}

fn store_row(
    blocks: &[BlockQ8_0],
    layout: Layout,
    qs: &mut [Quants],
    d: &mut [f32],
    sum8: &mut [f32],
) {
    for (b, blk) in blocks.iter().enumerate() {
        qs[b].0 = blk.qs;
        d[b] = blk.d.to_f32();
        sum8[b] = (8 * blk.qs.iter().map(|&q| q as i32).sum::<i32>()) as f32;
    }
    if layout == Layout::PairedHalves {
        let half = QK / 2;
        for (group, out) in blocks.chunks_exact(4).zip(qs.chunks_exact_mut(4)) {
            for (pair, (first, second)) in [(0, 2), (1, 3)].into_iter().enumerate() {
                let (a, b) = (&group[first].qs, &group[second].qs);
                out[2 * pair].0[..half].copy_from_slice(&a[..half]);
                out[2 * pair].0[half..].copy_from_slice(&b[..half]);
                out[2 * pair + 1].0[..half].copy_from_slice(&a[half..]);
                out[2 * pair + 1].0[half..].copy_from_slice(&b[half..]);
            }
        }
    }
}
