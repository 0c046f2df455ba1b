//! Compiles every CUDA source of `omnirt_kernels::cuda_sources::SOURCES` to PTX
//! with NVRTC for compute_80 and compute_90, and checks that each listed kernel
//! is an `.entry` of the PTX. Needs no GPU and no driver, only libnvrtc, found
//! by cudarc's dynamic loading (put its directory on `LD_LIBRARY_PATH`;
//! `scripts/ptx-check.sh` installs it from PyPI). Exits non-zero with the NVRTC
//! log on any error.
//!
//! `cargo run -p omnirt-kernels --example ptx_check [-- --dump DIR]`

use std::process::ExitCode;
use std::time::Instant;

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions};
use omnirt_kernels::cuda_sources::{NVRTC_OPTIONS, SOURCES};

const ARCHS: &[&str] = &["compute_80", "compute_90"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = match args.as_slice() {
        [] => None,
        [flag, dir] if flag == "--dump" => Some(std::path::PathBuf::from(dir)),
        _ => {
            eprintln!("usage: ptx_check [--dump DIR]");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &dump {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    // SAFETY: only probes whether the library can be opened.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        eprintln!(
            "libnvrtc not found: put its directory on LD_LIBRARY_PATH (see scripts/ptx-check.sh)"
        );
        return ExitCode::FAILURE;
    }
    let start = Instant::now();
    let mut failures = 0;
    let mut kernels = 0;
    for src in SOURCES {
        kernels += src.kernels.len();
        for &arch in ARCHS {
            let opts = CompileOptions {
                arch: Some(arch),
                options: NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect(),
                name: Some(src.file.to_string()),
                ..Default::default()
            };
            let t = Instant::now();
            let ptx = match compile_ptx_with_opts(src.code, opts) {
                Ok(ptx) => ptx.to_src(),
                Err(CompileError::CompileError { log, .. }) => {
                    eprintln!("FAILED {} for {arch}:\n{}", src.file, log.to_string_lossy());
                    failures += 1;
                    continue;
                }
                Err(e) => {
                    eprintln!("FAILED {} for {arch}: {e:?}", src.file);
                    failures += 1;
                    continue;
                }
            };
            let entries = ptx_entries(&ptx);
            for k in src.kernels {
                if !entries.contains(k) {
                    eprintln!("FAILED {} for {arch}: no `.entry {k}` in the PTX", src.file);
                    failures += 1;
                }
            }
            for e in &entries {
                if !src.kernels.contains(e) {
                    eprintln!("FAILED {} for {arch}: unlisted `.entry {e}`", src.file);
                    failures += 1;
                }
            }
            println!(
                "  {:<16} {arch}: {:>3} entries, {:>7} bytes of PTX, {:.2} s",
                src.file,
                entries.len(),
                ptx.len(),
                t.elapsed().as_secs_f64()
            );
            if let Some(dir) = &dump {
                let path = dir.join(format!("{}.{arch}.ptx", src.file.trim_end_matches(".cu")));
                if let Err(e) = std::fs::write(&path, &ptx) {
                    eprintln!("cannot write {}: {e}", path.display());
                    failures += 1;
                }
            }
        }
    }
    if failures > 0 {
        eprintln!("ptx_check: {failures} failure(s)");
        return ExitCode::FAILURE;
    }
    println!(
        "compiled {kernels} kernels in {} files for sm_80 and sm_90 (compute_80, compute_90; options {}) in {:.1} s",
        SOURCES.len(),
        NVRTC_OPTIONS.join(" "),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// Kernel names of the `.entry NAME(` lines of a PTX module.
fn ptx_entries(ptx: &str) -> Vec<&str> {
    ptx.lines()
        .filter_map(|l| {
            let rest = l
                .trim_start()
                .strip_prefix(".visible .entry ")
                .or_else(|| l.trim_start().strip_prefix(".entry "))?;
            Some(rest.split(['(', ' ']).next().unwrap_or("").trim())
        })
        .filter(|n| !n.is_empty())
        .collect()
}
