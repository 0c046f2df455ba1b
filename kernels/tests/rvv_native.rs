//! Under `scripts/rvv-test.sh` the expected VLEN is exported, so a run where the
//! native RVV kernels silently did not engage (wrong feature set, QEMU without V)
//! fails here instead of passing on the model alone.

use omnirt_kernels::rvv::{native_vlen, Engine, RvvTarget};

#[test]
fn native_rvv_engages_at_the_vlen_the_runner_set() {
    let Ok(want) = std::env::var("OMNIRT_EXPECT_RVV_VLEN") else {
        // An ordinary host run: native RVV only exists on riscv64.
        if !cfg!(target_arch = "riscv64") {
            assert_eq!(native_vlen(), None);
        }
        return;
    };
    let want: usize = want.parse().expect("OMNIRT_EXPECT_RVV_VLEN is a number");
    assert_eq!(
        native_vlen(),
        Some(want),
        "the native RVV kernels did not engage"
    );
    let t = RvvTarget::new(want).unwrap();
    assert_eq!(t.engine(), Engine::Native);
    assert_eq!(t.model_only().engine(), Engine::Model);
}
