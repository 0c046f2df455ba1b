//! Physical limits of the host measured in the same run as the benchmarks:
//! FMA peak (all threads busy with independent chains) and memory read bandwidth
//! (a buffer far larger than the last-level cache, read by all threads).

use std::time::Instant;

use omnirt_kernels::probe;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HostLimits {
    pub threads: usize,
    /// f32 FMA peak, GFLOP/s, all threads.
    pub peak_gflops: f64,
    /// Read bandwidth, GB/s, all threads.
    pub read_gbs: f64,
}

/// Measure with `threads` threads; `buffer_mib` sizes the bandwidth probe
/// (it should dwarf the last-level cache).
pub fn measure_limits(threads: usize, buffer_mib: usize) -> HostLimits {
    let threads = threads.max(1);
    HostLimits {
        threads,
        peak_gflops: best_of(3, || fma_peak(threads)),
        read_gbs: best_of(3, || read_bandwidth(threads, buffer_mib)),
    }
}

fn best_of(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(0.0, f64::max)
}

fn fma_peak(threads: usize) -> f64 {
    let iters = 2_000_000;
    let start = Instant::now();
    let flops: f64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut sink = 0.0f32;
                    let f = probe::fma_burst(iters, &mut sink);
                    std::hint::black_box(sink);
                    f
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    });
    flops / start.elapsed().as_secs_f64() / 1e9
}

fn read_bandwidth(threads: usize, buffer_mib: usize) -> f64 {
    let n = (buffer_mib << 20) / 4;
    let data = vec![1.0f32; n];
    let chunk = n.div_ceil(threads);
    // Touch once so pages are mapped before timing.
    std::hint::black_box(probe::read_sum(&data));
    let start = Instant::now();
    std::thread::scope(|s| {
        for part in data.chunks(chunk) {
            s.spawn(move || std::hint::black_box(probe::read_sum(part)));
        }
    });
    (n * 4) as f64 / start.elapsed().as_secs_f64() / 1e9
}
