//! Is this core running RVV 1.0, and at what VLEN? Read once: `AT_HWCAP`'s `V` bit
//! (set by Linux only for ratified RVV 1.0, never for T-Head's 0.7.1 XTheadVector),
//! then the `vlenb` CSR. `OMNIRT_ISA=scalar` turns the native kernels off.

use std::sync::OnceLock;

/// VLEN in bits when the native RVV kernels can run here, else `None` (other
/// architectures, builds without the `rvv` feature, cores without V).
pub fn native_vlen() -> Option<usize> {
    static CELL: OnceLock<Option<usize>> = OnceLock::new();
    *CELL.get_or_init(|| {
        let forced_scalar = std::env::var("OMNIRT_ISA")
            .map(|v| v.trim().eq_ignore_ascii_case("scalar"))
            .unwrap_or(false);
        if forced_scalar {
            None
        } else {
            probe()
        }
    })
}

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
fn probe() -> Option<usize> {
    const HWCAP_V: libc::c_ulong = 1 << (b'V' - b'A');
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let hwcap = unsafe { libc::getauxval(libc::AT_HWCAP) };
    if hwcap & HWCAP_V == 0 {
        return None;
    }
    let vlenb: usize;
    // SAFETY: the kernel reported V, so the vlenb CSR exists; reading it has no
    // side effects.
    unsafe {
        std::arch::asm!(
            ".option push",
            ".option arch, +v",
            "csrr {0}, vlenb",
            ".option pop",
            out(reg) vlenb,
            options(nomem, nostack, preserves_flags)
        );
    }
    Some(vlenb * 8)
}

#[cfg(not(all(target_arch = "riscv64", feature = "rvv")))]
fn probe() -> Option<usize> {
    None
}
