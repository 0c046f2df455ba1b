//! Per-device counters: ops run, their estimated cost, and how many fell back
//! to the CPU, so benchmarks can show what a backend really executed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Cost;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpStats {
    pub calls: u64,
    pub fallbacks: u64,
    pub flops: f64,
    pub bytes: f64,
}

/// A copy of a device's counters at one moment, keyed by op name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    pub ops: BTreeMap<&'static str, OpStats>,
}

impl StatsSnapshot {
    pub fn total_calls(&self) -> u64 {
        self.ops.values().map(|s| s.calls).sum()
    }
    pub fn total_fallbacks(&self) -> u64 {
        self.ops.values().map(|s| s.fallbacks).sum()
    }
    pub fn fallbacks(&self, op: &str) -> u64 {
        self.ops.get(op).map(|s| s.fallbacks).unwrap_or(0)
    }
}

#[derive(Debug, Default)]
pub(crate) struct DeviceStats {
    ops: Mutex<BTreeMap<&'static str, OpStats>>,
}

impl DeviceStats {
    pub(crate) fn record(&self, op: &'static str, cost: Cost, fallback: bool) {
        // A poisoned lock only means another thread panicked mid-update of plain
        // counters; the numbers are still usable.
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        let s = ops.entry(op).or_default();
        s.calls += 1;
        s.fallbacks += u64::from(fallback);
        s.flops += cost.flops;
        s.bytes += cost.bytes;
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            ops: self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    pub(crate) fn reset(&self) {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
