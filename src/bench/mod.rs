//! Benchmarks a user can run from the CLI (`omnirt bench kernels`): each figure
//! is reported next to a physical limit measured in the same run, because the
//! machines omnirt runs on are shared and noisy.

mod kernels;
mod limits;
mod report;

pub use kernels::{kernel_suite, suite_cases, time_case, BenchCase, KernelSuiteOptions};
pub use limits::{measure_limits, HostLimits};
pub use report::{BenchRow, BenchTable};
