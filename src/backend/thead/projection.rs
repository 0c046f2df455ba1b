//! Time an op would take on a chip, projected from its profile: the roofline
//! bound `max(FLOPs / peak, bytes / bandwidth)` for the dtype the op computes in.
//! A lower bound (no launch or sync overheads, perfect overlap); always reported
//! labelled as a projection, next to the time measured on this host.

use crate::backend::{Cost, Op};
use crate::profile::ChipProfile;
use crate::tensor::DType;

/// Seconds on `profile`'s chip, or `None` when the profile lacks the peak or the
/// bandwidth for that dtype.
pub(super) fn roofline_seconds(
    profile: &ChipProfile,
    op: &Op,
    cost: &Cost,
    dtypes: &[DType],
) -> Option<f64> {
    let roofline = profile.roofline(compute_dtype(op, dtypes))?;
    let compute = cost.flops / (roofline.peak_gflops * 1e9);
    let memory = cost.bytes / (roofline.bandwidth_gbs * 1e9);
    Some(compute.max(memory))
}

/// The dtype whose peak bounds the op: a matmul runs at its weights' rate
/// (f16 weights on fp16 vector FMA, Q8_0/Q4_0 on the int8 path); everything
/// else computes in f32 lanes.
fn compute_dtype(op: &Op, dtypes: &[DType]) -> DType {
    match op {
        Op::MatMul { .. } => dtypes.get(1).copied().unwrap_or(DType::F32),
        _ => DType::F32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::known_profile;

    #[test]
    fn projection_is_the_slower_of_compute_and_memory() {
        let p = known_profile("c920v2").unwrap();
        let peak = p.peak_gflops(DType::F32).unwrap() * 1e9;
        let bw = p.bandwidth_gbs().unwrap() * 1e9;
        let op = Op::MatMul { transpose_b: true };
        let compute_bound = Cost {
            flops: peak,
            bytes: 1.0,
        };
        let t = roofline_seconds(&p, &op, &compute_bound, &[DType::F32, DType::F32]).unwrap();
        assert!((t - 1.0).abs() < 1e-9);
        let memory_bound = Cost {
            flops: 1.0,
            bytes: 2.0 * bw,
        };
        let t = roofline_seconds(&p, &op, &memory_bound, &[DType::F32, DType::F32]).unwrap();
        assert!((t - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_figures_give_no_projection() {
        let c930 = known_profile("c930").unwrap();
        let cost = Cost {
            flops: 1e9,
            bytes: 1e6,
        };
        assert_eq!(
            roofline_seconds(&c930, &Op::Softmax, &cost, &[DType::F32]),
            None
        );
    }
}
