//! Matmul benchmarks beside the peer (candle-core) and the physical limits of
//! this machine, all in the same run (the machines are shared and noisy, so
//! only ratios within one run mean anything).
//!
//! Groups:
//! - `limits`: f32 FMA peak (elements = FLOPs) and memory read bandwidth (bytes);
//! - `gemm/{m}x{k}x{n}/{dtype}`: omnirt vs candle, throughput in FLOPs;
//! - `gemv/...`: m = 1 decode shapes, weights cycled through copies larger than
//!   the last-level cache, throughput in bytes of weights read.
//!
//! `cargo bench --bench matmul` (add `-- gemv` to run one group). Criterion
//! prints Gelem/s = GFLOP/s for gemm and GiB/s for gemv and limits.

use std::hint::black_box;
use std::time::Duration;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::Module;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use omnirt::{DType, Device, Tensor};

/// Copies of a weight so that cycling through them defeats a 32 MiB L3.
fn copies(bytes: usize) -> usize {
    (64 << 20) / bytes.max(1) + 1
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn limits(c: &mut Criterion) {
    let mut g = c.benchmark_group("limits");
    g.sample_size(10).measurement_time(Duration::from_secs(2));
    let threads = rayon::current_num_threads();
    let buf = vec![1.0f32; (256 << 20) / 4];
    g.throughput(Throughput::Bytes((buf.len() * 4) as u64));
    g.bench_function(
        BenchmarkId::new("read_bandwidth", format!("{threads}t")),
        |b| {
            b.iter(|| {
                use rayon::prelude::*;
                let s: f32 = buf
                    .par_chunks(buf.len().div_ceil(threads))
                    .map(omnirt_kernels::probe::read_sum)
                    .sum();
                black_box(s)
            })
        },
    );
    let iters = 200_000;
    let mut sink = 0.0f32;
    let flops = omnirt_kernels::probe::fma_burst(iters, &mut sink) * threads as f64;
    g.throughput(Throughput::Elements(flops as u64));
    g.bench_function(
        BenchmarkId::new("fma_peak_f32", format!("{threads}t")),
        |b| {
            b.iter(|| {
                use rayon::prelude::*;
                let s: f32 = (0..threads)
                    .into_par_iter()
                    .map(|_| {
                        let mut s = 0.0;
                        omnirt_kernels::probe::fma_burst(iters, &mut s);
                        s
                    })
                    .sum();
                black_box(s)
            })
        },
    );
    g.finish();
}

fn gemm(c: &mut Criterion) {
    let dev = Device::cpu();
    for &(k, n) in &[(1024usize, 3072usize), (4096, 4096)] {
        for &m in &[1usize, 128, 512] {
            for dtype in [DType::F32, DType::BF16] {
                let name = format!(
                    "{}/{m}x{k}x{n}/{dtype}",
                    if m == 1 { "gemv" } else { "gemm" }
                );
                let mut g = c.benchmark_group(name);
                g.sample_size(10)
                    .measurement_time(Duration::from_secs(3))
                    .warm_up_time(Duration::from_millis(500));
                let wbytes = n * k * if dtype == DType::F32 { 4 } else { 2 };
                let reps = if m == 1 { copies(wbytes) } else { 1 };
                g.throughput(if m == 1 {
                    Throughput::Bytes(wbytes as u64)
                } else {
                    Throughput::Elements((2 * m * n * k) as u64)
                });

                let xv = data(m * k, 1);
                let ws: Vec<Vec<f32>> = (0..reps).map(|i| data(n * k, 2 + i as u64)).collect();

                let x = Tensor::from_slice(&xv, [m, k], &dev).unwrap();
                let ow: Vec<Tensor> = ws
                    .iter()
                    .map(|w| {
                        Tensor::from_slice(w, [n, k], &dev)
                            .unwrap()
                            .to_dtype(dtype)
                            .unwrap()
                    })
                    .collect();
                let mut i = 0;
                g.bench_function("omnirt", |b| {
                    b.iter(|| {
                        i = (i + 1) % ow.len();
                        black_box(x.matmul_t(&ow[i]).unwrap())
                    })
                });

                let cdt = if dtype == DType::F32 {
                    candle_core::DType::F32
                } else {
                    candle_core::DType::BF16
                };
                let cx =
                    candle_core::Tensor::from_vec(xv.clone(), (m, k), &candle_core::Device::Cpu)
                        .unwrap()
                        .to_dtype(cdt)
                        .unwrap();
                let cw: Vec<candle_core::Tensor> = ws
                    .iter()
                    .map(|w| {
                        candle_core::Tensor::from_vec(w.clone(), (n, k), &candle_core::Device::Cpu)
                            .unwrap()
                            .to_dtype(cdt)
                            .unwrap()
                    })
                    .collect();
                let mut j = 0;
                g.bench_function("candle", |b| {
                    b.iter(|| {
                        j = (j + 1) % cw.len();
                        black_box(cx.matmul(&cw[j].t().unwrap()).unwrap())
                    })
                });
                g.finish();
            }
        }
    }
}

fn quantized_gemv(c: &mut Criterion) {
    let dev = Device::cpu();
    for &(k, n) in &[(4096usize, 4096usize), (4096, 14336)] {
        for (dtype, ggml) in [
            (DType::Q8_0, GgmlDType::Q8_0),
            (DType::Q4_0, GgmlDType::Q4_0),
        ] {
            let mut g = c.benchmark_group(format!("gemv/1x{k}x{n}/{dtype}"));
            g.sample_size(10)
                .measurement_time(Duration::from_secs(3))
                .warm_up_time(Duration::from_millis(500));
            let wbytes = dtype.storage_bytes(n * k).unwrap();
            g.throughput(Throughput::Bytes(wbytes as u64));
            let reps = copies(wbytes);
            let xv = data(k, 1);
            let ws: Vec<Vec<f32>> = (0..reps).map(|i| data(n * k, 2 + i as u64)).collect();

            let x = Tensor::from_slice(&xv, [1, k], &dev).unwrap();
            let ow: Vec<Tensor> = ws
                .iter()
                .map(|w| {
                    Tensor::from_slice(w, [n, k], &dev)
                        .unwrap()
                        .to_dtype(dtype)
                        .unwrap()
                })
                .collect();
            let mut i = 0;
            g.bench_function("omnirt", |b| {
                b.iter(|| {
                    i = (i + 1) % ow.len();
                    black_box(x.matmul_t(&ow[i]).unwrap())
                })
            });

            let cx = candle_core::Tensor::from_vec(xv.clone(), (1, k), &candle_core::Device::Cpu)
                .unwrap();
            let cw: Vec<QMatMul> = ws
                .iter()
                .map(|w| {
                    let t =
                        candle_core::Tensor::from_vec(w.clone(), (n, k), &candle_core::Device::Cpu)
                            .unwrap();
                    QMatMul::from_qtensor(QTensor::quantize(&t, ggml).unwrap()).unwrap()
                })
                .collect();
            let mut j = 0;
            g.bench_function("candle", |b| {
                b.iter(|| {
                    j = (j + 1) % cw.len();
                    black_box(cw[j].forward(&cx).unwrap())
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, limits, gemm, quantized_gemv);
criterion_main!(benches);
