//! The `omnirt` command line: `demo`, `bench`, `profiles` (and `run`, which
//! arrives with the model loader).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use omnirt::bench::{kernel_suite, measure_limits, KernelSuiteOptions};
use omnirt::profile::known_profiles;
use omnirt::Device;

#[derive(Parser)]
#[command(
    name = "omnirt",
    version,
    about = "Run Qwen3-Omni-class models fast on CPUs, NVIDIA GPUs and T-Head chips"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what this machine can do: host profile and a quick kernel table.
    Demo,
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// List the chip profiles omnirt knows (peaks, bandwidth, caches, sources).
    Profiles,
    /// Generate text from a checkpoint (not available in this version).
    Run {
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        prompt: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Kernel throughput against the host's measured FMA peak and read bandwidth.
    Kernels {
        /// Print JSON instead of Markdown.
        #[arg(long)]
        json: bool,
        /// Fewer, smaller cases.
        #[arg(long)]
        quick: bool,
        /// Minimum measured time per case in seconds.
        #[arg(long, default_value_t = 0.5)]
        min_seconds: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> omnirt::Result<()> {
    match cli.command {
        Command::Demo => demo(),
        Command::Bench {
            what:
                BenchWhat::Kernels {
                    json,
                    quick,
                    min_seconds,
                },
        } => bench_kernels(
            json,
            KernelSuiteOptions {
                quick,
                min_seconds,
                ..Default::default()
            },
        ),
        Command::Profiles => {
            print_profiles();
            Ok(())
        }
        Command::Run { .. } => Err(omnirt::Error::Unsupported(
            "`omnirt run` needs the Qwen3-Omni model loader, which is not in this version yet; \
             `omnirt demo` and `omnirt bench kernels` work today"
                .into(),
        )),
    }
}

fn bench_kernels(json: bool, opts: KernelSuiteOptions) -> omnirt::Result<()> {
    let device = Device::cpu();
    let threads = rayon_threads(&device);
    eprintln!("measuring this machine's limits ({threads} threads)...");
    let limits = measure_limits(threads, 512);
    let table = kernel_suite(&device, &limits, &opts, |case| {
        eprintln!("  running {case}")
    })?;
    if json {
        println!("{}", table.to_json());
    } else {
        println!("{}", table.to_markdown());
    }
    Ok(())
}

fn rayon_threads(device: &Device) -> usize {
    std::env::var("OMNIRT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(device.profile().cores)
}

fn demo() -> omnirt::Result<()> {
    let device = Device::cpu();
    let p = device.profile();
    println!("omnirt {} on {}", env!("CARGO_PKG_VERSION"), p.name);
    println!(
        "host: {} cores, {}-bit vectors, kernels: {}, L1d {} KiB, L2 {} KiB, L3 {} MiB",
        p.cores,
        p.vector_bits,
        omnirt_kernels::Isa::best(),
        p.l1d_bytes >> 10,
        p.l2_bytes >> 10,
        p.l3_bytes >> 20
    );
    println!("(the embedded demo model arrives with the thinker; until then the demo shows the kernel table)\n");
    let threads = rayon_threads(&device);
    let limits = measure_limits(threads, 256);
    let opts = KernelSuiteOptions {
        quick: true,
        min_seconds: 0.1,
        ..Default::default()
    };
    let table = kernel_suite(&device, &limits, &opts, |case| {
        eprintln!("  running {case}")
    })?;
    println!("{}", table.to_markdown());
    Ok(())
}

fn print_profiles() {
    println!("| id | chip | cores | vector bits | f32 peak | bf16 peak | int8 peak | bandwidth | L1d / L2 / L3 |");
    println!("|---|---|---:|---:|---|---|---|---|---|");
    for p in known_profiles() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} KiB / {} KiB / {} MiB |",
            p.id,
            p.name,
            p.cores,
            p.vector_bits,
            p.peak_gflops_f32.describe("GFLOP/s"),
            p.peak_gflops_bf16.describe("GFLOP/s"),
            p.peak_gops_int8.describe("GOP/s"),
            p.mem_bandwidth_gbs.describe("GB/s"),
            p.l1d_bytes >> 10,
            p.l2_bytes >> 10,
            p.l3_bytes >> 20
        );
        for n in &p.notes {
            println!("|   | note: {n} | | | | | | | |");
        }
    }
}
