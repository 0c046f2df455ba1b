//! Profiles of chips omnirt targets, from public figures. Every figure names its
//! source or says how it was estimated (see `shared/design/thead.md` for the
//! research behind the T-Head rows). Dense (non-sparse) peaks throughout.

use super::{host_profile, ChipKind, ChipProfile, Figure, RvvCaps, RvvVersion};
use crate::tensor::DType;

const NV_H100: &str = "NVIDIA H100 SXM5 datasheet";
const NV_H200: &str = "NVIDIA H200 SXM datasheet";
const NV_H20: &str = "NVIDIA H20 spec sheets";

fn published(value: f64, source: &'static str) -> Figure {
    Figure::Published { value, source }
}
fn est(value: f64, note: &'static str) -> Figure {
    Figure::Estimated { value, note }
}

/// Every known profile id, `host` first.
pub fn known_profiles() -> Vec<ChipProfile> {
    let mut all = vec![host_profile().clone()];
    all.extend(
        [
            "h100",
            "h200",
            "h20",
            "ppu",
            "c908-v128",
            "c908-v256",
            "c920",
            "c920v2",
            "c930",
        ]
        .into_iter()
        .filter_map(known_profile),
    );
    all
}

/// Look up a profile by id (case-insensitive; `sg2042` = `c920`, `sg2044` = `c920v2`,
/// `c908` = `c908-v256`).
pub fn known_profile(id: &str) -> Option<ChipProfile> {
    let id = id.trim().to_ascii_lowercase();
    let gpu = |id: &str,
               name: &str,
               sms: usize,
               f32g: Figure,
               f16g: Figure,
               i8g: Figure,
               bw: Figure,
               l2: usize,
               mem: u64| ChipProfile {
        id: id.into(),
        name: name.into(),
        kind: ChipKind::Gpu,
        cores: sms,
        vector_bits: 32 * 32,
        peak_gflops_f32: f32g,
        peak_gflops_f16: f16g.clone(),
        peak_gflops_bf16: f16g,
        peak_gops_int8: i8g,
        mem_bandwidth_gbs: bw,
        l1d_bytes: 256 << 10,
        l2_bytes: 256 << 10,
        l3_bytes: l2,
        memory_bytes: mem,
        rvv: None,
        native_dtypes: vec![DType::F32, DType::F16, DType::BF16],
        notes: vec![],
    };
    let rv = |id: &str,
              name: &str,
              cores: usize,
              vlen: usize,
              f32g: Figure,
              bw: Figure,
              l1d: usize,
              l2: usize,
              l3: usize| ChipProfile {
        id: id.into(),
        name: name.into(),
        kind: ChipKind::Cpu,
        cores,
        vector_bits: vlen,
        peak_gflops_f16: match &f32g {
            Figure::Estimated { value, .. } | Figure::Published { value, .. } => {
                est(value * 2.0, "2x f32 for fp16 vector FMA at the same width")
            }
            _ => Figure::Unknown,
        },
        peak_gflops_bf16: f32g.clone(),
        peak_gops_int8: Figure::Unknown,
        peak_gflops_f32: f32g,
        mem_bandwidth_gbs: bw,
        l1d_bytes: l1d,
        l2_bytes: l2,
        l3_bytes: l3,
        memory_bytes: 0,
        // RVV 1.0 with zvfh, zvfbfwma and xtheadvdot (GCC's -mcpu=xt-c908 /
        // xt-c920v2); fp16 GEMM accumulates in fp16 as SHL does. Overridden below
        // for the 0.7.1 C920 and the C930.
        rvv: Some(RvvCaps {
            version: RvvVersion::V1_0,
            vlen_bits: vlen,
            zvfh: true,
            zvfbfwma: true,
            xtheadvdot: true,
            fp16_accumulate: true,
        }),
        native_dtypes: vec![DType::F32, DType::F16],
        notes: vec![],
    };
    let profile = match id.as_str() {
        "host" => host_profile().clone(),
        "h100" => gpu(
            "h100",
            "NVIDIA H100 SXM5 (80 GB)",
            132,
            published(66_900.0, NV_H100),
            published(989_400.0, NV_H100),
            published(1_978_900.0, NV_H100),
            published(3_350.0, NV_H100),
            50 << 20,
            80 << 30,
        ),
        "h200" => gpu(
            "h200",
            "NVIDIA H200 SXM (141 GB)",
            132,
            published(66_900.0, NV_H200),
            published(989_400.0, NV_H200),
            published(1_978_900.0, NV_H200),
            published(4_800.0, NV_H200),
            50 << 20,
            141 << 30,
        ),
        "h20" => gpu(
            "h20",
            "NVIDIA H20 (96 GB)",
            78,
            published(44_000.0, NV_H20),
            published(148_000.0, NV_H20),
            published(296_000.0, NV_H20),
            published(4_000.0, NV_H20),
            60 << 20,
            96 << 30,
        ),
        "ppu" => {
            let mut p = gpu(
                "ppu", "T-Head PPU (Zhenwu 810E, 96 GB HBM2e)", 0,
                est(35_400.0, "H20's f32:fp16 ratio (44/148) applied to the derived 119 TFLOPS fp16"),
                est(119_000.0, "Alibaba Cloud share of China Unicom Qinghai: 1,945 P / 16,384 cards; precision unstated"),
                Figure::Unknown,
                est(2_200.0, "4-6 HBM2e stacks x 0.41-0.46 TB/s; midpoint"),
                0, 96 << 30,
            );
            p.kind = ChipKind::Accelerator;
            p.notes = vec!["no public ISA or SDK: profile emulation only (H20-like ratios)"];
            p
        }
        "c908-v128" | "c908-v256" | "c908" => {
            let vlen = if id == "c908-v128" { 128 } else { 256 };
            let mut p = rv(
                if vlen == 128 {
                    "c908-v128"
                } else {
                    "c908-v256"
                },
                if vlen == 128 {
                    "T-Head XuanTie C908 (VLEN 128, 1 core)"
                } else {
                    "T-Head XuanTie C908 (VLEN 256, 1 core)"
                },
                1,
                vlen,
                if vlen == 256 {
                    est(32.0, "SpacemiT X60 measured 32 GFLOP/s at 1.6 GHz, VLEN 256 / DLEN 128; C908-like")
                } else {
                    est(25.6, "1.6 GHz x 128-bit FMA (4 lanes x 2 FLOP x 2 issue)")
                },
                est(8.5, "SoC-dependent; K230-class 32-bit LPDDR4"),
                32 << 10,
                256 << 10,
                0,
            );
            p.peak_gops_int8 = est(
                p.peak_gflops_f32.value().unwrap_or(0.0) * 4.0,
                "xtheadvdot 4-way int8 dot",
            );
            p.native_dtypes = vec![DType::F32, DType::F16, DType::BF16];
            p.notes = vec!["RVV 1.0 + xtheadvdot", "cache sizes SoC-dependent (est.)"];
            p
        }
        "c920" | "sg2042" => {
            let mut p = rv(
                "c920",
                "Sophgo SG2042 (64 x XuanTie C920, RVV 0.7.1)",
                64,
                128,
                est(
                    1_024.0,
                    "64 cores x 2.0 GHz x 8 FLOP/cycle (vector pipe width not published)",
                ),
                est(102.4, "4 x DDR4-3200 channels"),
                64 << 10,
                256 << 10,
                64 << 20,
            );
            p.rvv = Some(RvvCaps {
                version: RvvVersion::XTheadVector0_7_1,
                vlen_bits: 128,
                zvfh: true,
                zvfbfwma: false,
                xtheadvdot: false,
                fp16_accumulate: true,
            });
            p.notes = vec![
                "RVV 0.7.1 (XTheadVector): not binary compatible with RVV 1.0 and not emulated by QEMU, so omnirt projects this chip from its profile only",
                "L2 is 1 MB shared per 4-core cluster (256 KiB per core here)",
            ];
            p
        }
        "c920v2" | "sg2044" => {
            let mut p = rv(
                "c920v2",
                "Sophgo SG2044 (64 x XuanTie C920v2, RVV 1.0)",
                64,
                128,
                est(
                    2_662.0,
                    "64 cores x 2.6 GHz x 16 FLOP/cycle (about 2x SG2042 per core)",
                ),
                est(546.0, "32 LPDDR5X channels x 16 bit x 8533 MT/s"),
                64 << 10,
                512 << 10,
                64 << 20,
            );
            p.peak_gops_int8 = est(10_650.0, "xtheadvdot: 4x the f32 rate");
            p.native_dtypes = vec![DType::F32, DType::F16, DType::BF16];
            p.notes = vec![
                "RVV 1.0 + zvfh + zvfbfwma + xtheadvdot",
                "L2 2 MB per 4-core cluster",
            ];
            p
        }
        "c930" => {
            let mut p = rv(
                "c930",
                "T-Head XuanTie C930 (1 core + matrix engine)",
                1,
                256,
                Figure::Unknown,
                Figure::Unknown,
                64 << 10,
                1 << 20,
                0,
            );
            p.peak_gops_int8 = est(6_800.0, "matrix engine 2 TOPS/GHz int8 x 3.4 GHz");
            // RVA23 mandates RVV 1.0 and Zvfhmin, not Zvfh; xtheadvdot is not
            // confirmed. VLEN is not public: 256 is an assumption.
            p.rvv = Some(RvvCaps {
                version: RvvVersion::V1_0,
                vlen_bits: 256,
                zvfh: false,
                zvfbfwma: false,
                xtheadvdot: false,
                fp16_accumulate: false,
            });
            p.notes = vec![
                "RVA23 + Xuantie matrix extension; vector width and memory not public",
                "VLEN 256 is an assumption (est.); the TITAN vector engine is 512-4096 bit",
                "no f32/bandwidth figures: projections for this chip are n/p",
            ];
            p
        }
        _ => return None,
    };
    Some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_profile_resolves_and_names_sources() {
        let all = known_profiles();
        assert!(all.len() >= 10);
        for p in &all {
            assert_eq!(known_profile(&p.id).map(|q| q.id), Some(p.id.clone()));
            assert!(p.cache_info().l1d >= 4 << 10);
        }
        assert_eq!(known_profile("SG2044").unwrap().id, "c920v2");
        assert!(known_profile("nonexistent").is_none());
        let h100 = known_profile("h100").unwrap();
        assert!(h100.roofline(DType::BF16).unwrap().ridge_point() > 200.0);
        assert!(known_profile("ppu")
            .unwrap()
            .mem_bandwidth_gbs
            .is_estimate());
    }
}
