//! The kernel suite behind `omnirt bench kernels`: the ops that dominate
//! Qwen3-Omni inference at decode (m = 1) and prefill shapes, run through the
//! public tensor API on a device, each reported against the roofline of limits
//! measured in the same run.

use std::time::Instant;

use super::limits::HostLimits;
use super::report::{BenchRow, BenchTable};
use crate::backend::{Cost, Device, MaskKind, Rounding};
use crate::error::Result;
use crate::tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct KernelSuiteOptions {
    /// Fewer and smaller cases (for CI smoke runs and demos).
    pub quick: bool,
    /// Minimum measured time per case, seconds.
    pub min_seconds: f64,
    /// Bytes of last-level cache to defeat: weights are replicated and cycled so
    /// each iteration reads them from memory.
    pub cache_bytes: usize,
    /// Divide the suite's sizes (matmul k/n/m > 1, row-op widths, attention
    /// lengths) by this; 1 runs them as listed. For tests and slow modelled
    /// backends; use a power of two (at most 8) so quantized blocks still fit.
    pub shrink: usize,
}

impl Default for KernelSuiteOptions {
    fn default() -> Self {
        KernelSuiteOptions {
            quick: false,
            min_seconds: 0.5,
            cache_bytes: 32 << 20,
            shrink: 1,
        }
    }
}

/// One benchmark case: named inputs plus the closure that runs the op.
pub struct BenchCase {
    pub op: String,
    pub shape: String,
    pub dtype: DType,
    pub cost: Cost,
    pub run: Box<dyn FnMut() -> Result<Tensor>>,
}

fn random(shape: &[usize], seed: u64, device: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let mut rng = omnirt_kernels::testing::Rng::new(seed);
    let data: Vec<f32> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    Tensor::from_slice(&data, shape.to_vec(), device)
}

/// How many copies of a `bytes`-sized weight to cycle so reads come from memory.
fn copies_for(bytes: usize, opts: &KernelSuiteOptions) -> usize {
    (2 * opts.cache_bytes)
        .checked_div(bytes)
        .map_or(1, |n| (n + 1).clamp(1, 16))
}

fn matmul_case(
    device: &Device,
    m: usize,
    k: usize,
    n: usize,
    wdtype: DType,
    opts: &KernelSuiteOptions,
) -> Result<BenchCase> {
    let x = random(&[m, k], 1, device)?;
    let w0 = random(&[n, k], 2, device)?.to_dtype(wdtype)?;
    let wbytes = wdtype.storage_bytes(n * k)?;
    let copies = if m <= 8 { copies_for(wbytes, opts) } else { 1 };
    let ws: Vec<Tensor> = (0..copies)
        .map(|i| {
            if i == 0 {
                Ok(w0.clone())
            } else {
                Ok(random(&[n, k], 2 + i as u64, device)?.to_dtype(wdtype)?)
            }
        })
        .collect::<Result<_>>()?;
    let cost = Cost {
        flops: 2.0 * (m * n * k) as f64,
        bytes: wbytes as f64 + 4.0 * (m * k + m * n) as f64,
    };
    let mut i = 0;
    Ok(BenchCase {
        op: if m == 1 {
            "gemv".into()
        } else {
            "matmul".into()
        },
        shape: format!("{m}x{k}x{n}"),
        dtype: wdtype,
        cost,
        run: Box::new(move || {
            i = (i + 1) % ws.len();
            x.matmul_t(&ws[i])
        }),
    })
}

/// The cases of the suite.
pub fn suite_cases(device: &Device, opts: &KernelSuiteOptions) -> Result<Vec<BenchCase>> {
    let mut cases = Vec::new();
    let f = opts.shrink.clamp(1, 8);
    let shapes: &[(usize, usize)] = if opts.quick {
        &[(1024, 3072)]
    } else {
        &[(1024, 3072), (4096, 4096)]
    };
    let ms: &[usize] = if opts.quick {
        &[1, 128]
    } else {
        &[1, 128, 512]
    };
    for &(k, n) in shapes {
        let (k, n) = (k / f, n / f);
        for &m in ms {
            let m = if m == 1 { 1 } else { m / f };
            for dt in [DType::F32, DType::BF16] {
                cases.push(matmul_case(device, m, k, n, dt, opts)?);
            }
        }
        for dt in [DType::Q8_0, DType::Q4_0] {
            cases.push(matmul_case(device, 1, k, n, dt, opts)?);
        }
    }
    if !opts.quick {
        for dt in [DType::BF16, DType::Q8_0, DType::Q4_0] {
            cases.push(matmul_case(device, 1, 4096 / f, 14336 / f, dt, opts)?);
        }
    }

    // Row ops at a prefill shape.
    let (rows, d) = if opts.quick { (64, 2048) } else { (512, 4096) };
    let d = d / f;
    let x = random(&[rows, d], 10, device)?;
    let w = random(&[d], 11, device)?;
    let bytes = 8.0 * (rows * d) as f64;
    {
        let (x, w) = (x.clone(), w.clone());
        cases.push(BenchCase {
            op: "rms_norm".into(),
            shape: format!("{rows}x{d}"),
            dtype: DType::F32,
            cost: Cost {
                flops: 4.0 * (rows * d) as f64,
                bytes,
            },
            run: Box::new(move || x.rms_norm(Some(&w), 1e-6)),
        });
    }
    {
        let x = x.clone();
        cases.push(BenchCase {
            op: "softmax".into(),
            shape: format!("{rows}x{d}"),
            dtype: DType::F32,
            cost: Cost {
                flops: 5.0 * (rows * d) as f64,
                bytes,
            },
            run: Box::new(move || x.softmax()),
        });
    }
    {
        let (g, u) = (x.clone(), random(&[rows, d], 12, device)?);
        cases.push(BenchCase {
            op: "swiglu".into(),
            shape: format!("{rows}x{d}"),
            dtype: DType::F32,
            cost: Cost {
                flops: 6.0 * (rows * d) as f64,
                bytes: 12.0 * (rows * d) as f64,
            },
            run: Box::new(move || g.swiglu(&u)),
        });
    }
    {
        let (s, h, hd) = (rows, 16, 128);
        let q = random(&[1, s, h, hd], 13, device)?;
        let cos = random(&[s, hd], 14, device)?;
        let sin = random(&[s, hd], 15, device)?;
        cases.push(BenchCase {
            op: "rope".into(),
            shape: format!("1x{s}x{h}x{hd}"),
            dtype: DType::F32,
            cost: Cost {
                flops: 3.0 * (s * h * hd) as f64,
                bytes: 8.0 * (s * h * hd) as f64,
            },
            run: Box::new(move || q.rope(&cos, &sin, Rounding::None)),
        });
    }

    // Attention: decode against a long cache, and causal prefill.
    let (hq, hkv, hd) = (32, 4, 128);
    let ctx = (if opts.quick { 1024 } else { 4096 }) / f;
    {
        let q = random(&[1, hq, 1, hd], 20, device)?;
        let k = random(&[1, hkv, ctx, hd], 21, device)?;
        let v = random(&[1, hkv, ctx, hd], 22, device)?;
        cases.push(BenchCase {
            op: "attention decode".into(),
            shape: format!("q1 kv{ctx} h{hq}/{hkv} d{hd}"),
            dtype: DType::F32,
            cost: Cost {
                flops: 4.0 * (hq * ctx * hd) as f64,
                bytes: 8.0 * (hkv * ctx * hd) as f64,
            },
            run: Box::new(move || {
                Tensor::attention(
                    &q,
                    &k,
                    &v,
                    1.0 / (hd as f32).sqrt(),
                    MaskKind::Causal { q_offset: ctx - 1 },
                )
            }),
        });
    }
    {
        let s = (if opts.quick { 128 } else { 512 }) / f;
        let q = random(&[1, hq, s, hd], 23, device)?;
        let k = random(&[1, hkv, s, hd], 24, device)?;
        let v = random(&[1, hkv, s, hd], 25, device)?;
        cases.push(BenchCase {
            op: "attention prefill".into(),
            shape: format!("q{s} kv{s} h{hq}/{hkv} d{hd} causal"),
            dtype: DType::F32,
            // Causal: about half of the full QKᵀ and PV work.
            cost: Cost {
                flops: 2.0 * (hq * s * s * hd) as f64,
                bytes: 4.0 * ((hq + 2 * hkv) * s * hd + hq * s * hd) as f64,
            },
            run: Box::new(move || {
                Tensor::attention(
                    &q,
                    &k,
                    &v,
                    1.0 / (hd as f32).sqrt(),
                    MaskKind::Causal { q_offset: 0 },
                )
            }),
        });
    }
    Ok(cases)
}

/// Time one case: warm up, then repeat until `min_seconds`, reporting the median.
pub fn time_case(case: &mut BenchCase, min_seconds: f64) -> Result<f64> {
    (case.run)()?;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 3 || (start.elapsed().as_secs_f64() < min_seconds && times.len() < 10_000) {
        let t = Instant::now();
        let out = (case.run)()?;
        drop(out);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Run the suite on `device`, reporting each case against `limits`.
pub fn kernel_suite(
    device: &Device,
    limits: &HostLimits,
    opts: &KernelSuiteOptions,
    mut progress: impl FnMut(&str),
) -> Result<BenchTable> {
    let mut table = BenchTable {
        title: format!("omnirt kernels on {} ({} threads)", device.name(), limits.threads),
        notes: vec![
            format!("measured in this run: f32 FMA peak {:.1} GFLOP/s, memory read bandwidth {:.1} GB/s", limits.peak_gflops, limits.read_gbs),
            format!("ISA variant: {}", omnirt_kernels::Isa::best()),
            "% roofline = time at the binding limit (FLOPs at FMA peak or bytes at read bandwidth) / measured time".into(),
            "GEMV weights are cycled through copies larger than the last-level cache, so they are read from memory".into(),
        ],
        rows: Vec::new(),
    };
    let roofline = crate::profile::Roofline {
        peak_gflops: limits.peak_gflops,
        bandwidth_gbs: limits.read_gbs,
    };
    for mut case in suite_cases(device, opts)? {
        progress(&format!("{} {} {}", case.op, case.shape, case.dtype));
        let before = device.stats().total_fallbacks();
        let secs = time_case(&mut case, opts.min_seconds)?;
        let fallbacks = device.stats().total_fallbacks() - before;
        let memory_bound =
            case.cost.bytes / roofline.bandwidth_gbs > case.cost.flops / roofline.peak_gflops;
        table.rows.push(BenchRow {
            backend: device.name().to_string(),
            op: case.op.clone(),
            shape: case.shape.clone(),
            dtype: case.dtype.to_string(),
            seconds: secs,
            gflops: case.cost.flops / secs / 1e9,
            gbs: case.cost.bytes / secs / 1e9,
            roofline_pct: 100.0 * roofline.efficiency(&case.cost, secs),
            bound: if memory_bound { "memory" } else { "compute" },
            fallbacks,
        });
    }
    Ok(table)
}
