//! Reference attention: `softmax(q·kᵀ·scale + mask)·v` row by row, two passes
//! (scores, then weighted sum), masks evaluated per element. The test oracle.

use super::{AttentionMask, AttentionShape, KvElem, Strides4};

/// Inputs are validated by the caller (`attention_with`).
#[allow(clippy::too_many_arguments)]
pub(super) fn attention<K: KvElem>(
    shape: &AttentionShape,
    mask: &AttentionMask,
    q: &[f32],
    q_strides: Strides4,
    k: &[K],
    k_strides: Strides4,
    v: &[K],
    v_strides: Strides4,
    out: &mut [f32],
) {
    let d = shape.head_dim;
    if d == 0 {
        return;
    }
    let group = shape.group_size();
    let mut scores = vec![0.0f32; shape.kv_len];
    let mut out_rows = out.chunks_exact_mut(d);
    for b in 0..shape.batch {
        for h in 0..shape.q_heads {
            let kv_h = h / group;
            for i in 0..shape.q_len {
                let o = out_rows.next().expect("out holds batch*q_heads*q_len rows");
                let q_row = &q[q_strides.offset(b, h, i)..][..d];

                let mut max = f32::NEG_INFINITY;
                let mut any_visible = false;
                for (j, score) in scores.iter_mut().enumerate() {
                    if !mask.is_visible(i, j) {
                        continue;
                    }
                    let k_row = &k[k_strides.offset(b, kv_h, j)..][..d];
                    let dot: f32 = q_row.iter().zip(k_row).map(|(&a, &b)| a * b.to_f32()).sum();
                    *score = dot * shape.scale;
                    max = max.max(*score);
                    any_visible = true;
                }

                o.fill(0.0);
                // A row that sees no key has no distribution to average over: zeros.
                if !any_visible {
                    continue;
                }
                let mut sum = 0.0f32;
                for (j, &score) in scores.iter().enumerate() {
                    if !mask.is_visible(i, j) {
                        continue;
                    }
                    let p = (score - max).exp();
                    sum += p;
                    let v_row = &v[v_strides.offset(b, kv_h, j)..][..d];
                    for (acc, &x) in o.iter_mut().zip(v_row) {
                        *acc += p * x.to_f32();
                    }
                }
                for acc in o.iter_mut() {
                    *acc /= sum;
                }
            }
        }
    }
}
