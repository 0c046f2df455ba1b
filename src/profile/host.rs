//! The profile of the machine we run on: cores, SIMD width and caches are read
//! from the OS; peak FLOP/s is estimated from the clock and the SIMD width;
//! bandwidth is unknown until a benchmark measures it (`omnirt bench` does, and
//! reports against the measured figure).

use super::{ChipKind, ChipProfile, Figure};
use super::{RvvCaps, RvvVersion};
use crate::tensor::DType;
use omnirt_kernels::isa::HostFeatures;
use std::sync::OnceLock;

/// The host CPU's profile (detected once).
pub fn host_profile() -> &'static ChipProfile {
    static CELL: OnceLock<ChipProfile> = OnceLock::new();
    CELL.get_or_init(detect)
}

fn detect() -> ChipProfile {
    let features = HostFeatures::detect();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let vector_bits = omnirt_kernels::rvv::native_vlen().unwrap_or(features.vector_bits());
    let cache = |level: u32, kind: &str| read_cache_size(level, kind);
    let l1d = cache(1, "Data").unwrap_or(32 << 10);
    let l2 = cache(2, "Unified").unwrap_or(512 << 10);
    let l3 = cache(3, "Unified").unwrap_or(0);

    // Two vector FMA pipes per core is the norm on AVX2/NEON server cores.
    let flops_per_cycle = (vector_bits / 32 * 2 * 2) as f64;
    let peak_f32 = match max_clock_ghz() {
        Some(ghz) => Figure::Estimated {
            value: (cores as f64 * ghz * flops_per_cycle).round(),
            note: "cores x max clock x 2 FMA pipes x SIMD lanes",
        },
        None => Figure::Unknown,
    };
    let mut native = vec![DType::F32];
    if features.neon_fp16 {
        native.push(DType::F16);
    }
    if features.avx512_bf16 || features.neon_bf16 {
        native.push(DType::BF16);
    }
    ChipProfile {
        id: "host".into(),
        name: cpu_model_name().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        kind: ChipKind::Cpu,
        cores,
        vector_bits,
        // 16-bit floats are converted to f32 for arithmetic on AVX2/NEON.
        peak_gflops_f16: peak_f32.clone(),
        peak_gflops_bf16: peak_f32.clone(),
        peak_gops_int8: peak_f32.clone(),
        peak_gflops_f32: peak_f32,
        mem_bandwidth_gbs: Figure::Unknown,
        l1d_bytes: l1d,
        l2_bytes: l2,
        l3_bytes: l3,
        memory_bytes: 0,
        // A RISC-V host with RVV 1.0 runs the RVV kernels natively; zvfbfwma and
        // xtheadvdot are not probed (the kernels do not use them).
        rvv: omnirt_kernels::rvv::native_vlen().map(|vlen_bits| RvvCaps {
            version: RvvVersion::V1_0,
            vlen_bits,
            zvfh: omnirt_kernels::rvv::native_zvfh(),
            zvfbfwma: false,
            xtheadvdot: false,
            fp16_accumulate: false,
        }),
        native_dtypes: native,
        notes: vec!["peak is an estimate; `omnirt bench kernels` measures peak and bandwidth"],
    }
}

fn read_cache_size(level: u32, kind: &str) -> Option<usize> {
    for index in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let Some(lvl) = read("level") else { break };
        if lvl.trim() != level.to_string() || read("type")?.trim() != kind {
            continue;
        }
        return parse_size(read("size")?.trim());
    }
    None
}

/// "32K", "1024K", "32M" -> bytes.
fn parse_size(s: &str) -> Option<usize> {
    let (num, mult) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>().ok()?.checked_mul(mult)
}

fn max_clock_ghz() -> Option<f64> {
    if let Ok(khz) =
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    {
        if let Ok(khz) = khz.trim().parse::<f64>() {
            return Some(khz / 1e6);
        }
    }
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz = info
        .lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .fold(0.0f64, f64::max);
    (mhz > 0.0).then_some(mhz / 1000.0)
}

fn cpu_model_name() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_size("32K"), Some(32 << 10));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("xK"), None);
    }

    #[test]
    fn host_profile_is_sane() {
        let p = host_profile();
        assert!(p.cores >= 1);
        assert!(p.l1d_bytes >= 4 << 10);
        assert!(p.vector_bits >= 64);
        assert_eq!(p.kind, ChipKind::Cpu);
    }
}
