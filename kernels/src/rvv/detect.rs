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

/// Whether the native core also has vector fp16 arithmetic (Zvfh), which the f16
/// paths of the native kernels use. Asked of Linux's `riscv_hwprobe`; where that
/// syscall is missing (kernels before 6.4, QEMU 7.2 user mode) the answer is no,
/// unless `OMNIRT_RVV_ZVFH=1` asserts it. Without it those paths run the model.
pub fn native_zvfh() -> bool {
    static CELL: OnceLock<bool> = OnceLock::new();
    *CELL.get_or_init(|| {
        if native_vlen().is_none() {
            return false;
        }
        if let Some(has) = probe_zvfh() {
            return has;
        }
        std::env::var("OMNIRT_RVV_ZVFH").is_ok_and(|v| v.trim() == "1")
    })
}

#[cfg(all(target_arch = "riscv64", feature = "rvv"))]
fn probe_zvfh() -> Option<bool> {
    // <asm/hwprobe.h>: struct riscv_hwprobe { s64 key; u64 value; }.
    #[repr(C)]
    struct HwProbe {
        key: i64,
        value: u64,
    }
    const SYS_RISCV_HWPROBE: libc::c_long = 258;
    const KEY_IMA_EXT_0: i64 = 4;
    const EXT_ZVFH: u64 = 1 << 30;
    let mut pair = HwProbe {
        key: KEY_IMA_EXT_0,
        value: 0,
    };
    // SAFETY: riscv_hwprobe(pairs, pair_count = 1, cpusetsize = 0, cpus = NULL,
    // flags = 0) writes only into the one pair we pass.
    let rc = unsafe {
        libc::syscall(
            SYS_RISCV_HWPROBE,
            &mut pair as *mut HwProbe,
            1usize,
            0usize,
            std::ptr::null_mut::<libc::c_void>(),
            0u32,
        )
    };
    // The kernel sets key to -1 when it does not know the key.
    (rc == 0 && pair.key == KEY_IMA_EXT_0).then_some(pair.value & EXT_ZVFH != 0)
}

#[cfg(not(all(target_arch = "riscv64", feature = "rvv")))]
fn probe_zvfh() -> Option<bool> {
    None
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
