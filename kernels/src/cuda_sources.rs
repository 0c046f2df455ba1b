//! The CUDA C sources of `kernels/cuda/`, embedded in the binary for NVRTC.
//!
//! Each entry's `code` is `kernels/cuda/common.cuh` followed by the `.cu` file
//! (the sources have no `#include`: the NVRTC shipped on PyPI has no headers).
//! `kernels` lists every `extern "C" __global__` entry point the file defines;
//! a unit test keeps the list and the text in step. `kernels/cuda/ABI.md`
//! documents each kernel's arguments and launch shape.
//!
//! Compile with [`NVRTC_OPTIONS`] plus `--gpu-architecture=compute_XY` (or
//! `sm_XY`). `examples/ptx_check.rs` compiles everything for compute_80 and
//! compute_90 without a GPU (`scripts/ptx-check.sh`).

/// One `.cu` file.
#[derive(Clone, Copy, Debug)]
pub struct CudaSource {
    /// File name under `kernels/cuda/`, e.g. `"elementwise.cu"`.
    pub file: &'static str,
    /// `common.cuh` + the file's text: what to hand to NVRTC.
    pub code: &'static str,
    /// The `extern "C" __global__` kernels it defines.
    pub kernels: &'static [&'static str],
}

/// NVRTC options every source is written for (add the architecture). No fast
/// math: IEEE division and square root, and no contraction of `a * b + c` into
/// FMAs, so results round like the scalar references; kernels call `fmaf`
/// where they mean it.
pub const NVRTC_OPTIONS: &[&str] = &["-std=c++17", "--fmad=false"];

macro_rules! source {
    ($file:literal, [$($kernel:literal),* $(,)?]) => {
        CudaSource {
            file: $file,
            code: concat!(
                include_str!("../cuda/common.cuh"),
                "\n",
                include_str!(concat!("../cuda/", $file))
            ),
            kernels: &[$($kernel),*],
        }
    };
}

/// Every source, in the order ABI.md describes them.
pub const SOURCES: &[CudaSource] = &[
    source!(
        "elementwise.cu",
        [
            "omnirt_unary_f32",
            "omnirt_unary_f16",
            "omnirt_unary_bf16",
            "omnirt_binary_f32",
            "omnirt_binary_f16",
            "omnirt_binary_bf16",
            "omnirt_swiglu_f32",
            "omnirt_swiglu_f16",
            "omnirt_swiglu_bf16",
            "omnirt_snake_f32",
            "omnirt_snake_f16",
            "omnirt_snake_bf16",
        ]
    ),
    source!(
        "norm.cu",
        [
            "omnirt_rms_norm_f32",
            "omnirt_rms_norm_f16",
            "omnirt_rms_norm_bf16",
            "omnirt_layer_norm_f32",
            "omnirt_layer_norm_f16",
            "omnirt_layer_norm_bf16",
        ]
    ),
    source!(
        "rope.cu",
        ["omnirt_rope_f32", "omnirt_rope_f16", "omnirt_rope_bf16",]
    ),
    source!(
        "softmax.cu",
        [
            "omnirt_softmax_f32",
            "omnirt_softmax_f16",
            "omnirt_softmax_bf16",
        ]
    ),
    source!(
        "cast.cu",
        [
            "omnirt_cast_any",
            "omnirt_quantize_q8_0_f32",
            "omnirt_quantize_q4_0_f32",
            "omnirt_dequantize_q8_0_f32",
            "omnirt_dequantize_q4_0_f32",
        ]
    ),
    source!(
        "copy.cu",
        [
            "omnirt_copy_strided_b1",
            "omnirt_copy_strided_b2",
            "omnirt_copy_strided_b4",
            "omnirt_copy_strided_b8",
            "omnirt_gather_rows_i32",
            "omnirt_gather_rows_u32",
            "omnirt_gather_rows_i64",
            "omnirt_concat_rows",
        ]
    ),
    source!(
        "reduce.cu",
        [
            "omnirt_reduce_f32",
            "omnirt_reduce_f16",
            "omnirt_reduce_bf16",
            "omnirt_argmax_f32",
            "omnirt_argmax_f16",
            "omnirt_argmax_bf16",
            "omnirt_topk_f32",
            "omnirt_topk_f16",
            "omnirt_topk_bf16",
        ]
    ),
    source!(
        "moe.cu",
        [
            "omnirt_moe_router_f32",
            "omnirt_moe_router_f16",
            "omnirt_moe_router_bf16",
        ]
    ),
    source!(
        "quant.cu",
        ["omnirt_gemv_q8_0_f32", "omnirt_gemv_q4_0_f32",]
    ),
    source!(
        "attention.cu",
        [
            "omnirt_attention_f32",
            "omnirt_attention_f16",
            "omnirt_attention_bf16",
            "omnirt_attention_combine_f32",
        ]
    ),
    source!(
        "conv.cu",
        [
            "omnirt_conv1d_f32",
            "omnirt_conv2d_f32",
            "omnirt_conv_transpose1d_f32",
        ]
    ),
];

/// The names of the `extern "C" __global__ void NAME(` definitions in `code`.
pub fn defined_kernels(code: &str) -> Vec<&str> {
    const MARK: &str = "extern \"C\" __global__ void ";
    code.match_indices(MARK)
        .filter_map(|(at, _)| {
            let rest = &code[at + MARK.len()..];
            let end = rest.find('(')?;
            let name = rest[..end].trim();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// The source that defines `kernel`.
pub fn source_of(kernel: &str) -> Option<&'static CudaSource> {
    SOURCES.iter().find(|s| s.kernels.contains(&kernel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn listed_kernels_match_definitions() {
        for s in SOURCES {
            let defined = defined_kernels(s.code);
            let defined_set: BTreeSet<&str> = defined.iter().copied().collect();
            assert_eq!(
                defined.len(),
                defined_set.len(),
                "{}: kernel defined twice",
                s.file
            );
            let listed: BTreeSet<&str> = s.kernels.iter().copied().collect();
            assert_eq!(
                listed.len(),
                s.kernels.len(),
                "{}: kernel listed twice",
                s.file
            );
            let missing: Vec<_> = listed.difference(&defined_set).collect();
            let unlisted: Vec<_> = defined_set.difference(&listed).collect();
            assert!(
                missing.is_empty() && unlisted.is_empty(),
                "{}: listed but not defined {missing:?}; defined but not listed {unlisted:?}",
                s.file
            );
        }
    }

    #[test]
    fn kernel_names_are_unique_and_prefixed() {
        let mut seen = BTreeSet::new();
        for s in SOURCES {
            assert!(s.file.ends_with(".cu"), "{}", s.file);
            for k in s.kernels {
                assert!(k.starts_with("omnirt_"), "{k}");
                assert!(seen.insert(*k), "{k} is defined in two files");
            }
        }
    }

    #[test]
    fn sources_have_no_includes() {
        for s in SOURCES {
            assert!(!s.code.contains("#include"), "{} has an #include", s.file);
        }
    }

    #[test]
    fn every_cu_file_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/cuda");
        let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
            .expect("kernels/cuda exists")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".cu"))
            .collect();
        let listed: BTreeSet<String> = SOURCES.iter().map(|s| s.file.to_string()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn parser_finds_names() {
        let code = "extern \"C\" __global__ void omnirt_a_f32(int x) {}\n\
                    __device__ void helper() {}\n\
                    extern \"C\" __global__ void omnirt_b_f16 (int y) {}";
        assert_eq!(defined_kernels(code), ["omnirt_a_f32", "omnirt_b_f16"]);
    }
}
