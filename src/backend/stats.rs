//! Per-device counters: ops run, their estimated cost, how many fell back to the
//! CPU, the wall time they took here and (for backends that stand in for another
//! chip) the time projected on that chip, so benchmarks can show what a backend
//! really executed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Cost;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpStats {
    pub calls: u64,
    pub fallbacks: u64,
    pub flops: f64,
    pub bytes: f64,
    /// Wall time measured on this host, including any CPU fallback.
    pub seconds: f64,
    /// Time projected on the backend's chip (roofline of its profile) for the
    /// `projected_calls` calls that had a projection.
    pub projected_seconds: f64,
    pub projected_calls: u64,
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
    pub fn total_flops(&self) -> f64 {
        self.ops.values().map(|s| s.flops).sum()
    }
    pub fn total_bytes(&self) -> f64 {
        self.ops.values().map(|s| s.bytes).sum()
    }
    /// Measured wall time of all ops on this host.
    pub fn total_seconds(&self) -> f64 {
        self.ops.values().map(|s| s.seconds).sum()
    }
    /// Projected time on the chip, when every call had a projection.
    pub fn total_projected_seconds(&self) -> Option<f64> {
        let all = self.ops.values().all(|s| s.projected_calls == s.calls);
        all.then(|| self.ops.values().map(|s| s.projected_seconds).sum())
    }
}

/// One op execution as the dispatcher saw it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    pub cost: Cost,
    pub fallback: bool,
    pub seconds: f64,
    pub projected_seconds: Option<f64>,
}

#[derive(Debug, Default)]
pub(crate) struct DeviceStats {
    ops: Mutex<BTreeMap<&'static str, OpStats>>,
}

impl DeviceStats {
    pub(crate) fn record(&self, op: &'static str, r: Record) {
        // A poisoned lock only means another thread panicked mid-update of plain
        // counters; the numbers are still usable.
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        let s = ops.entry(op).or_default();
        s.calls += 1;
        s.fallbacks += u64::from(r.fallback);
        s.flops += r.cost.flops;
        s.bytes += r.cost.bytes;
        s.seconds += r.seconds;
        if let Some(p) = r.projected_seconds {
            s.projected_seconds += p;
            s.projected_calls += 1;
        }
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
