#!/usr/bin/env bash
# Cross-builds omnirt-kernels for riscv64gc with the RVV 1.0 kernels (the `rvv`
# feature) and runs the RVV kernel tests under qemu-riscv64 at each VLEN given
# (default: 128 256). Each test compares the native asm kernel with its portable
# model (bit for bit) and with the scalar reference. Installs what it needs
# (Debian packages, the rustup target); QEMU timings mean nothing for speed.
#
#   scripts/rvv-test.sh [VLEN...]        e.g. scripts/rvv-test.sh 128 256 512 1024
set -euo pipefail
cd "$(dirname "$0")/.."
VLENS=("$@")
[ ${#VLENS[@]} -eq 0 ] && VLENS=(128 256)
for v in "${VLENS[@]}"; do
  case "$v" in 128|256|512|1024) ;; *) echo "rvv-test.sh: VLEN must be one of 128 256 512 1024 (got $v)"; exit 2;; esac
done

if ! command -v qemu-riscv64 >/dev/null || ! command -v riscv64-linux-gnu-gcc >/dev/null; then
  echo "installing qemu-user and the riscv64 cross linker..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user gcc-riscv64-linux-gnu libc6-dev-riscv64-cross >/dev/null
fi
TARGET=riscv64gc-unknown-linux-gnu
# The riscv64 standard library: from rustup when it can fetch it; otherwise the
# recipe of shared/design/thead.md B.1 (Debian's rustc-web + rust-web-src, with
# -Zbuild-std). OMNIRT_RVV_DEBIAN_RUST=1 forces the Debian route.
CARGO=(cargo)
BUILD_STD=()
use_debian_rust() {
  echo "using Debian's rustc-web + rust-web-src with -Zbuild-std"
  if [ ! -x /usr/bin/cargo ] || ! dpkg -s rust-web-src >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rustc-web cargo-web rust-web-src >/dev/null
  fi
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
  CARGO=(/usr/bin/cargo)
  BUILD_STD=(-Zbuild-std)
}
if [ "${OMNIRT_RVV_DEBIAN_RUST:-0}" = 1 ]; then
  use_debian_rust
elif ! rustup target list --installed | grep -q "^$TARGET\$" && ! rustup target add "$TARGET"; then
  use_debian_rust
fi

export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
TESTS=()
for f in kernels/tests/rvv_*.rs; do TESTS+=(--test "$(basename "$f" .rs)"); done

echo "== building the RVV kernel tests for $TARGET"
"${CARGO[@]}" test "${BUILD_STD[@]}" -p omnirt-kernels --features rvv --target "$TARGET" "${TESTS[@]}" --lib --no-run

total=0
for v in "${VLENS[@]}"; do
  echo "== RVV kernel tests under qemu-riscv64, VLEN=$v"
  log=$(mktemp)
  export OMNIRT_EXPECT_RVV_VLEN=$v
  # QEMU 7.2 runs Zvfh but has no riscv_hwprobe to say so.
  export OMNIRT_RVV_ZVFH=1
  export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER="qemu-riscv64 -L /usr/riscv64-linux-gnu -cpu rv64,v=true,vlen=$v,vext_spec=v1.0"
  # The unit tests of the rvv module, then every kernels/tests/rvv_*.rs file.
  { "${CARGO[@]}" test "${BUILD_STD[@]}" -q -p omnirt-kernels --features rvv --target "$TARGET" --lib -- rvv:: \
    && "${CARGO[@]}" test "${BUILD_STD[@]}" -q -p omnirt-kernels --features rvv --target "$TARGET" "${TESTS[@]}"; } 2>&1 \
    | tee "$log" | grep -v "vector version is not specified" || { rm -f "$log"; exit 1; }
  if grep -q "test result: FAILED\|error: test failed" "$log"; then rm -f "$log"; exit 1; fi
  n=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
  rm -f "$log"
  if [ "$n" -eq 0 ]; then echo "no RVV test ran at VLEN=$v"; exit 1; fi
  echo "VLEN=$v: $n RVV tests passed (native asm kernels under qemu-riscv64)"
  total=$((total + n))
done
echo "RVV: $total tests passed over VLEN ${VLENS[*]}"
