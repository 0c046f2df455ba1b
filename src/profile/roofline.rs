//! The roofline model: an op cannot run faster than its FLOPs at peak compute
//! or its bytes at peak bandwidth, whichever takes longer.

use crate::backend::Cost;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roofline {
    pub peak_gflops: f64,
    pub bandwidth_gbs: f64,
}

impl Roofline {
    /// Lower bound on the op's time, in seconds.
    pub fn min_seconds(&self, cost: &Cost) -> f64 {
        let compute = cost.flops / (self.peak_gflops * 1e9);
        let memory = cost.bytes / (self.bandwidth_gbs * 1e9);
        compute.max(memory)
    }

    /// Fraction of the roofline achieved by an op that took `seconds` (0..=1 nominally).
    pub fn efficiency(&self, cost: &Cost, seconds: f64) -> f64 {
        if seconds <= 0.0 {
            return 0.0;
        }
        self.min_seconds(cost) / seconds
    }

    /// FLOP per byte where compute and memory limits meet.
    pub fn ridge_point(&self) -> f64 {
        self.peak_gflops / self.bandwidth_gbs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_bound_and_compute_bound_sides() {
        let r = Roofline {
            peak_gflops: 100.0,
            bandwidth_gbs: 10.0,
        };
        assert_eq!(r.ridge_point(), 10.0);
        // 1 GB at 10 GB/s = 0.1 s, 1 GFLOP at 100 GFLOP/s = 0.01 s -> memory bound
        let c = Cost {
            flops: 1e9,
            bytes: 1e9,
        };
        assert!((r.min_seconds(&c) - 0.1).abs() < 1e-12);
        assert!((r.efficiency(&c, 0.2) - 0.5).abs() < 1e-12);
        let c = Cost {
            flops: 1e11,
            bytes: 1e6,
        };
        assert!((r.min_seconds(&c) - 1.0).abs() < 1e-9);
    }
}
