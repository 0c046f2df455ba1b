//! Micro-probes of the host's physical limits, measured in the same run as the
//! benchmarks they calibrate: peak FMA throughput and memory read bandwidth.
//! They are kernels too (SIMD picked at run time), with scalar fallbacks.

#[cfg(target_arch = "x86_64")]
mod x86;

use crate::Isa;

/// Runs `iters` rounds of independent FMA chains and returns the number of
/// floating-point operations performed (2 per lane per FMA). The result of the
/// arithmetic is folded into `sink` so the work cannot be optimised away.
pub fn fma_burst(iters: usize, sink: &mut f32) -> f64 {
    match Isa::best().checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so AVX2 and FMA are available.
        Isa::Avx2 => unsafe { x86::fma_burst(iters, sink) },
        _ => scalar_fma_burst(iters, sink),
    }
}

fn scalar_fma_burst(iters: usize, sink: &mut f32) -> f64 {
    let mut acc = [1.0f32; 8];
    let (a, b) = (0.999_999f32, 1e-7f32);
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = x.mul_add(a, b);
        }
    }
    *sink += acc.iter().sum::<f32>();
    iters as f64 * 8.0 * 2.0
}

/// Reads every byte of `data` once (summing it as f32 lanes) and returns the sum,
/// so the read cannot be elided.
pub fn read_sum(data: &[f32]) -> f32 {
    match Isa::best().checked() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked()` returned Avx2, so AVX2 is available.
        Isa::Avx2 => unsafe { x86::read_sum(data) },
        _ => {
            let mut acc = [0f32; 8];
            let mut chunks = data.chunks_exact(8);
            for c in &mut chunks {
                for (a, &x) in acc.iter_mut().zip(c) {
                    *a += x;
                }
            }
            acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma_burst_counts_flops_and_touches_sink() {
        let mut sink = 0.0;
        let flops = fma_burst(100, &mut sink);
        assert!(flops >= 100.0 * 16.0);
        assert!(sink.is_finite() && sink != 0.0);
    }

    #[test]
    fn read_sum_matches_scalar_sum() {
        let data: Vec<f32> = (0..1003).map(|i| (i % 7) as f32).collect();
        let want: f32 = data.iter().sum();
        assert_eq!(read_sum(&data), want);
    }
}
