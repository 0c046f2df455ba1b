//! Benchmarks a user can run from the CLI (`omnirt bench kernels`, `omnirt
//! bench model`, `omnirt bench encoders`, `omnirt bench speech`, `omnirt bench --backends ...`): each
//! figure is reported next to a physical limit or a peer measured in the same
//! run, because the machines omnirt runs on are shared and noisy.

mod backends;
mod encoders;
mod kernels;
mod limits;
mod model;
mod report;
mod speech;

pub use backends::{
    backend_bench, parse_backends, BackendBenchOptions, CrossBackendRow, CrossBackendTable,
    GreedyTokens,
};
pub use encoders::{
    audio_flops, audio_inputs, encoder_bench, encoder_op_bench, vision_flops, vision_inputs,
    EncoderBenchOptions, EncoderBenchTable, EncoderRow, OpRow, OpTable,
};
pub use kernels::{kernel_suite, suite_cases, time_case, BenchCase, KernelSuiteOptions};
pub use limits::{measure_limits, HostLimits};
pub use model::{
    active_weight_bytes_per_token, bench_prompt, bench_shape_config, model_bench,
    write_random_checkpoint, ModelBenchOptions, ModelRow, ModelTable, TINY_SHAPE_CONFIG,
};
pub use report::{BenchRow, BenchTable};
pub use speech::{speech_bench, speech_bench_config, SpeechBenchOptions, SpeechRow, SpeechTable};
