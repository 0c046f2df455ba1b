//! NVRTC compilation of `omnirt_kernels::cuda_sources::SOURCES`, one module per
//! `.cu` file, compiled at first use for this GPU's compute capability and cached
//! per device (functions are cached by name too, so a launch is a map lookup).
//!
//! The target is the virtual architecture `compute_XY` of the device (read from
//! its attributes): cudarc hands NVRTC's *PTX* to the driver (`nvrtcGetPTX`), and
//! NVRTC only emits PTX for a virtual architecture (`sm_XY` asks for a cubin);
//! the driver then JIT-compiles that PTX for exactly this `sm_XY`.
//!
//! Nothing is cached on disk: a file compiles in well under a second, the driver
//! already keeps its own JIT cache of PTX -> SASS (`~/.nv/ComputeCache`), and a
//! correct disk cache of PTX would have to be keyed on source hash, NVRTC
//! version, architecture and options, and live in a writable directory that a
//! library cannot assume. Revisit if first-token latency shows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use omnirt_kernels::cuda_sources::{self, CudaSource, NVRTC_OPTIONS};

use crate::error::{Error, Result};

#[derive(Default)]
struct Cache {
    modules: HashMap<&'static str, Arc<CudaModule>>,
    functions: HashMap<&'static str, CudaFunction>,
}

/// Compiled modules and loaded functions of one device.
pub(crate) struct Modules {
    device: String,
    arch: String,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Modules({}, {})", self.device, self.arch)
    }
}

impl Modules {
    pub(crate) fn new(device: &str, compute_capability: (i32, i32)) -> Modules {
        let (major, minor) = compute_capability;
        Modules {
            device: device.to_string(),
            arch: format!("compute_{major}{minor}"),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The NVRTC options used for every source on this device.
    pub(crate) fn options(&self) -> Vec<String> {
        let mut options: Vec<String> = NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect();
        options.push(format!("--gpu-architecture={}", self.arch));
        options
    }

    /// The kernel `name`, compiling and loading its source file on first use.
    pub(crate) fn function(
        &self,
        ctx: &Arc<CudaContext>,
        name: &'static str,
    ) -> Result<CudaFunction> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = cache.functions.get(name) {
            return Ok(f.clone());
        }
        let source = cuda_sources::source_of(name).ok_or_else(|| Error::Backend {
            device: self.device.clone(),
            detail: format!(
                "kernel {name} is not in omnirt_kernels::cuda_sources::SOURCES (a backend/kernels version mismatch; rebuild)"
            ),
        })?;
        let module = match cache.modules.get(source.file) {
            Some(m) => m.clone(),
            None => {
                let m = self.compile(ctx, source)?;
                cache.modules.insert(source.file, m.clone());
                m
            }
        };
        let f = module.load_function(name).map_err(|e| Error::Backend {
            device: self.device.clone(),
            detail: format!("loading kernel {name} from {}: {e}", source.file),
        })?;
        cache.functions.insert(name, f.clone());
        Ok(f)
    }

    fn compile(&self, ctx: &Arc<CudaContext>, source: &CudaSource) -> Result<Arc<CudaModule>> {
        let opts = CompileOptions {
            options: self.options(),
            name: Some(source.file.to_string()),
            ..Default::default()
        };
        let ptx = compile_ptx_with_opts(source.code, opts).map_err(|e| Error::Backend {
            device: self.device.clone(),
            detail: format!(
                "NVRTC could not compile {} for {}: {e}; check that this machine's NVRTC \
                 (libnvrtc) supports {} and is not newer than the driver (nvidia-smi shows \
                 the driver's CUDA version)",
                source.file, self.arch, self.arch
            ),
        })?;
        ctx.load_module(ptx).map_err(|e| Error::Backend {
            device: self.device.clone(),
            detail: format!(
                "the driver could not load the PTX of {} ({}): {e}; an NVRTC newer than \
                 the driver emits PTX the driver cannot JIT: use the NVRTC of the driver's \
                 CUDA version (LD_LIBRARY_PATH) or update the driver",
                source.file, self.arch
            ),
        })
    }
}
