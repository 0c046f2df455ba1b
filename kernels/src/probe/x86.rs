//! AVX2/FMA probes.

use std::arch::x86_64::*;

/// 12 independent 8-lane FMA chains: enough to cover FMA latency x 2 pipes.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn fma_burst(iters: usize, sink: &mut f32) -> f64 {
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let mut total = _mm256_setzero_ps();
    for x in acc {
        total = _mm256_add_ps(total, x);
    }
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 f32, the width of one ymm register.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    *sink += lanes.iter().sum::<f32>();
    iters as f64 * 12.0 * 8.0 * 2.0
}

/// Sums `data` with 4 independent accumulators (loads dominate).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn read_sum(data: &[f32]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut chunks = data.chunks_exact(32);
    for c in &mut chunks {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `c` has 32 elements, so offsets j*8..j*8+8 are in bounds.
            *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(c.as_ptr().add(j * 8)) });
        }
    }
    let total = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    // Same association as the scalar path is not required: callers only need the read.
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}
