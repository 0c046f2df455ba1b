//! The T-Head backend end to end: the thinker generates the same greedy tokens on
//! the CPU and on T-Head profiles (f32), the RVV kernels (not a fallback) run the
//! hot ops, every op gets a projected chip time, and bad profile names are typed
//! errors. Op-level checks live in the shared conformance suite.

mod common;

use common::greedy::{greedy, PROMPT};
use omnirt::backend::thead::{Execution, TheadBackend};
use omnirt::{Device, Error};

#[test]
fn thinker_greedy_tokens_match_the_cpu_on_thead_profiles() {
    let (want, want_logits) = greedy(&Device::cpu(), &PROMPT, 8);
    for id in ["c908-v128", "c908-v256", "c920", "c920v2", "c930"] {
        let device = Device::thead(id).unwrap();
        device.reset_stats();
        let (got, logits) = greedy(&device, &PROMPT, 8);
        assert_eq!(got, want, "thead:{id}: greedy tokens differ from the CPU");
        let worst = logits
            .iter()
            .zip(&want_logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "thead:{id}: last logits differ by {worst}");

        // The hot ops ran on the RVV kernels, not as CPU fallbacks.
        let stats = device.stats();
        for op in ["matmul", "rms_norm", "rope", "swiglu"] {
            let s = stats
                .ops
                .get(op)
                .unwrap_or_else(|| panic!("{id}: no {op} ran"));
            assert!(s.calls > 0 && s.fallbacks == 0, "thead:{id}: {op} {s:?}");
        }
        // Attention has no RVV kernel yet: it must show up as counted fallbacks.
        assert!(
            stats.fallbacks("attention") > 0,
            "thead:{id}: attention not counted"
        );
    }
}

#[test]
fn modelled_profiles_project_every_op_onto_the_chip() {
    let device = Device::thead("c920v2").unwrap();
    device.reset_stats();
    let _ = greedy(&device, &PROMPT[..4], 2);
    let stats = device.stats();
    let projected = stats.total_projected_seconds().expect("every op projected");
    assert!(projected > 0.0 && projected.is_finite());
    assert!(stats.total_seconds() > 0.0);
    // C930 publishes no f32 peak or bandwidth: no projection, said as None.
    let c930 = Device::thead("c930").unwrap();
    c930.reset_stats();
    let _ = greedy(&c930, &PROMPT[..4], 1);
    assert_eq!(c930.stats().total_projected_seconds(), None);
}

#[test]
fn the_ppu_runs_everything_as_counted_cpu_fallbacks() {
    let device = Device::thead("ppu").unwrap();
    device.reset_stats();
    let (got, _) = greedy(&device, &PROMPT, 3);
    let (want, _) = greedy(&Device::cpu(), &PROMPT, 3);
    assert_eq!(got, want);
    let stats = device.stats();
    assert_eq!(stats.total_fallbacks(), stats.total_calls());
    assert!(stats.total_projected_seconds().is_some());
}

#[test]
fn execution_mode_follows_the_host() {
    let b = TheadBackend::new("c920v2").unwrap();
    match omnirt_kernels::rvv::native_vlen() {
        Some(128) => assert_eq!(b.execution(), Execution::Native { vlen_bits: 128 }),
        _ => assert_eq!(b.execution(), Execution::Modelled { vlen_bits: 128 }),
    }
    // RVV 0.7.1 never runs natively.
    assert_eq!(
        TheadBackend::new("sg2042").unwrap().execution(),
        Execution::Modelled { vlen_bits: 128 }
    );
    assert_eq!(
        TheadBackend::new("ppu").unwrap().execution(),
        Execution::ProjectionOnly
    );
}

#[test]
fn devices_are_shared_per_profile_and_names_are_canonical() {
    let a = Device::thead("sg2044").unwrap();
    let b = Device::parse("thead:c920v2").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.name(), "thead:c920v2");
}

#[test]
fn bad_profiles_are_typed_errors() {
    for bad in ["nope", "h100", "host", ""] {
        match Device::thead(bad) {
            Err(Error::InvalidArgument(msg)) => {
                assert!(
                    msg.contains("c920v2"),
                    "{bad}: the error lists the profiles: {msg}"
                )
            }
            other => panic!("thead:{bad}: expected an InvalidArgument error, got {other:?}"),
        }
    }
}
