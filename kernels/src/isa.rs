//! Which instruction-set variant of a kernel runs on this host.
//!
//! Detection happens once, at first use, from CPUID / the OS (no compile-time
//! `target-cpu` needed). `OMNIRT_ISA=scalar|avx2|neon` forces a (runnable) variant,
//! which is handy for comparing variants in benchmarks.

use std::sync::OnceLock;

/// A family of kernel variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust; the reference every other variant is tested against.
    Scalar,
    /// x86-64 with AVX2, FMA and F16C (Haswell / Zen 1 and later).
    Avx2,
    /// aarch64 Advanced SIMD (always present on aarch64).
    Neon,
}

/// CPU features relevant to kernel selection and to the host chip profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostFeatures {
    pub avx2: bool,
    pub fma: bool,
    pub f16c: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    pub avx512_bf16: bool,
    pub avx_vnni: bool,
    pub neon: bool,
    pub neon_dotprod: bool,
    pub neon_fp16: bool,
    pub neon_bf16: bool,
}

impl HostFeatures {
    /// Features of the running CPU.
    pub fn detect() -> HostFeatures {
        static CELL: OnceLock<HostFeatures> = OnceLock::new();
        *CELL.get_or_init(detect_features)
    }

    /// Width in bits of the widest vector register kernels use on this host.
    pub fn vector_bits(&self) -> usize {
        if self.avx512f {
            512
        } else if self.avx2 {
            256
        } else if self.neon {
            128
        } else {
            64
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn detect_features() -> HostFeatures {
    HostFeatures {
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        fma: std::arch::is_x86_feature_detected!("fma"),
        f16c: std::arch::is_x86_feature_detected!("f16c"),
        avx512f: std::arch::is_x86_feature_detected!("avx512f"),
        avx512bw: std::arch::is_x86_feature_detected!("avx512bw"),
        avx512_bf16: std::arch::is_x86_feature_detected!("avx512bf16"),
        avx_vnni: std::arch::is_x86_feature_detected!("avxvnni"),
        ..HostFeatures::default()
    }
}

#[cfg(target_arch = "aarch64")]
fn detect_features() -> HostFeatures {
    HostFeatures {
        neon: std::arch::is_aarch64_feature_detected!("neon"),
        neon_dotprod: std::arch::is_aarch64_feature_detected!("dotprod"),
        neon_fp16: std::arch::is_aarch64_feature_detected!("fp16"),
        neon_bf16: std::arch::is_aarch64_feature_detected!("bf16"),
        ..HostFeatures::default()
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect_features() -> HostFeatures {
    HostFeatures::default()
}

impl Isa {
    /// Every variant, runnable here or not.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Neon];

    /// The fastest variant this host runs (or the one forced by `OMNIRT_ISA`).
    pub fn best() -> Isa {
        static CELL: OnceLock<Isa> = OnceLock::new();
        *CELL.get_or_init(|| {
            if let Ok(name) = std::env::var("OMNIRT_ISA") {
                if let Some(isa) = Isa::from_name(&name).filter(|i| i.is_available()) {
                    return isa;
                }
            }
            Isa::available().last().copied().unwrap_or(Isa::Scalar)
        })
    }

    /// The variants this host can run, slowest (scalar) first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// Whether this host can run the variant.
    pub fn is_available(self) -> bool {
        let f = HostFeatures::detect();
        match self {
            Isa::Scalar => true,
            Isa::Avx2 => cfg!(target_arch = "x86_64") && f.avx2 && f.fma && f.f16c,
            Isa::Neon => cfg!(target_arch = "aarch64") && f.neon,
        }
    }

    /// `self` when the host runs it, otherwise `Scalar`. Kernel dispatchers call this
    /// before entering a `#[target_feature]` function, which keeps them sound even
    /// when a caller names a variant the host lacks.
    pub fn checked(self) -> Isa {
        if self.is_available() {
            self
        } else {
            Isa::Scalar
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Neon => "neon",
        }
    }

    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_is_always_available_and_first() {
        let a = Isa::available();
        assert_eq!(a[0], Isa::Scalar);
        assert!(a.contains(&Isa::best()));
    }

    #[test]
    fn checked_never_returns_an_unavailable_isa() {
        for isa in Isa::ALL {
            assert!(isa.checked().is_available());
        }
    }

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name("sse9"), None);
    }
}
