//! The CUDA backend end to end. Without a GPU (no driver, NVRTC or cuBLAS):
//! `Device::cuda` is a typed error that says what is missing, never a panic.
//! With one: the thinker generates the same greedy tokens as on the CPU.
//! Op-level checks live in the shared conformance suite (`cuda` there).
#![cfg(feature = "cuda")]
mod common;

use std::path::PathBuf;

use common::greedy::{greedy, PROMPT};

use omnirt::backend::cuda::{self, kernel_table};
use omnirt::{Device, Error};
use omnirt_kernels::cuda_sources::SOURCES;

fn gpu() -> Option<Device> {
    match Device::cuda(0) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("skipped: no usable NVIDIA GPU on this machine ({e})");
            None
        }
    }
}

#[test]
fn cuda_without_a_gpu_is_a_typed_error_never_a_panic() {
    let got = std::panic::catch_unwind(|| Device::cuda(0).map(|d| d.name().to_string()));
    let got = got.expect("Device::cuda(0) panicked");
    if cuda::available() {
        assert_eq!(got.unwrap(), "cuda:0");
        // A bad ordinal names the device count.
        match Device::cuda(4096) {
            Err(Error::InvalidArgument(msg)) => {
                assert!(
                    msg.contains("cuda:4096") && msg.contains("device(s)"),
                    "{msg}"
                )
            }
            other => panic!("cuda:4096 on a GPU machine: {other:?}"),
        }
        return;
    }
    match got {
        Err(Error::Unsupported(msg)) => {
            assert!(msg.starts_with("cuda:0: "), "{msg}");
            assert!(msg.contains("Device::cpu()"), "no way forward in: {msg}");
            assert!(
                msg.contains("libcuda")
                    || msg.contains("libnvrtc")
                    || msg.contains("libcublas")
                    || msg.contains("driver"),
                "does not say what is missing: {msg}"
            );
        }
        other => panic!("Device::cuda(0) without a GPU: expected Unsupported, got {other:?}"),
    }
    // Every ordinal, and the parsed form, behave the same.
    assert!(matches!(Device::cuda(3), Err(Error::Unsupported(_))));
    assert!(matches!(
        Device::parse("cuda:0"),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn bad_cuda_specs_are_typed_errors() {
    for spec in ["cuda:x", "cuda:", "cuda:-1", "cuda:0x1"] {
        match Device::parse(spec) {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("cuda:N"), "{spec}: {msg}"),
            other => panic!("{spec}: expected InvalidArgument, got {other:?}"),
        }
    }
}

#[test]
fn every_kernel_the_backend_launches_is_in_the_sources() {
    let table = kernel_table();
    assert!(!table.is_empty());
    for entry in table {
        assert!(!entry.kernels.is_empty(), "{}: no kernels", entry.op);
        for k in entry.kernels {
            let found: Vec<_> = SOURCES.iter().filter(|s| s.kernels.contains(k)).collect();
            assert_eq!(
                found.len(),
                1,
                "op {}: kernel {k} is defined in {} sources (want exactly 1)",
                entry.op,
                found.len()
            );
            // The listed name is really defined in that source's code.
            let definition = format!("extern \"C\" __global__ void {k}(");
            assert!(
                found[0].code.contains(&definition),
                "op {}: {k} is listed for {} but not defined there",
                entry.op,
                found[0].file
            );
        }
    }
}

#[test]
fn thinker_greedy_tokens_match_the_cpu_on_cuda() {
    let Some(device) = gpu() else { return };
    let (want, want_logits) = greedy(&Device::cpu(), &PROMPT, 8);
    device.reset_stats();
    let (got, logits) = greedy(&device, &PROMPT, 8);
    assert_eq!(
        got,
        want,
        "{}: greedy tokens differ from the CPU",
        device.name()
    );
    let worst = logits
        .iter()
        .zip(&want_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    // cuBLAS may sum in another order than the CPU kernels: f32 rounding only.
    assert!(
        worst < 1e-2,
        "{}: last logits differ by {worst}",
        device.name()
    );
    let stats = device.stats();
    // The matmuls ran on the GPU, not as CPU fallbacks.
    let mm = stats.ops.get("matmul").expect("no matmul ran");
    assert!(
        mm.calls > 0 && mm.fallbacks == 0,
        "{}: matmul {mm:?}",
        device.name()
    );
    eprintln!("{}: {:?}", device.name(), stats.ops);
}

/// ABI.md's argument list of every kernel, as parameter kinds: the tables'
/// second column (brace groups `{f32,f16,bf16}` expanded, `same` = the row
/// above) and the attention argument block.
fn abi_signatures() -> Vec<(String, Vec<cuda::ArgKind>)> {
    use cuda::ArgKind;
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kernels/cuda/ABI.md"),
    )
    .expect("read kernels/cuda/ABI.md");
    let kinds = |params: &str| -> Vec<ArgKind> {
        params
            .split(',')
            .map(|p| p.split("/*").next().unwrap().trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                if p.contains('*') {
                    ArgKind::Ptr
                } else if p.starts_with("Layout6") {
                    ArgKind::Layout
                } else if p.starts_with("long long") {
                    ArgKind::I64
                } else if p.starts_with("int ") {
                    ArgKind::I32
                } else if p.starts_with("float ") {
                    ArgKind::F32
                } else {
                    panic!("ABI.md: unknown parameter type in `{p}`")
                }
            })
            .collect()
    };
    let expand = |name: &str| -> Vec<String> {
        match (name.find('{'), name.find('}')) {
            (Some(a), Some(b)) => name[a + 1..b]
                .split(',')
                .map(|v| format!("{}{}{}", &name[..a], v.trim(), &name[b + 1..]))
                .collect(),
            _ => vec![name.to_string()],
        }
    };
    let mut out = Vec::new();
    let mut prev: Option<Vec<ArgKind>> = None;
    let mut attention = None;
    for line in text.lines() {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() >= 4 && cols[1].starts_with("`omnirt_") {
            let name = cols[1].split('`').nth(1).unwrap();
            let args = cols[2].trim_matches('`');
            let k = if args == "same" {
                prev.clone().expect("`same` needs a row above")
            } else if args == "see below" {
                attention = Some(expand(name));
                continue;
            } else {
                kinds(args)
            };
            prev = Some(k.clone());
            for n in expand(name) {
                out.push((n, k.clone()));
            }
        }
    }
    // The attention block: the code fence after "Arguments of `omnirt_attention_<kv>`".
    let start = text
        .find("Arguments of `omnirt_attention_<kv>`")
        .expect("ABI.md attention argument block");
    let fence = text[start..].find("```").unwrap() + start + 3;
    let end = text[fence..].find("```").unwrap() + fence;
    let params: String = text[fence..end]
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let k = kinds(&params);
    for n in attention.expect("ABI.md lists omnirt_attention_*") {
        out.push((n, k.clone()));
    }
    out
}

#[test]
fn launch_signatures_match_abi_md() {
    let abi = abi_signatures();
    assert!(
        abi.len() > 40,
        "parsed only {} kernels from ABI.md",
        abi.len()
    );
    // Every kernel the backend launches has a signature, equal to ABI.md's.
    for entry in kernel_table() {
        for k in entry.kernels {
            let ours = cuda::kernel_signature(k)
                .unwrap_or_else(|| panic!("{k}: launched but not in kernel_signatures()"));
            let (_, doc) = abi
                .iter()
                .find(|(n, _)| n == k)
                .unwrap_or_else(|| panic!("{k}: launched but not documented in ABI.md"));
            assert_eq!(
                ours,
                doc.as_slice(),
                "{k}: the Rust launch table and ABI.md disagree"
            );
        }
    }
    // And the table holds nothing the backend does not launch.
    for sig in cuda::kernel_signatures() {
        for k in sig.kernels {
            assert!(
                kernel_table().iter().any(|e| e.kernels.contains(k)),
                "{k}: in kernel_signatures() but not in kernel_table()"
            );
        }
    }
    // Every documented kernel exists in the sources.
    for (k, _) in &abi {
        assert!(
            SOURCES.iter().any(|s| s.kernels.contains(&k.as_str())),
            "ABI.md documents {k}, which no source defines"
        );
    }
}
