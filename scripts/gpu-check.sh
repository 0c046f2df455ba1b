#!/usr/bin/env bash
# GPU check for the CUDA backend: run on a machine with an NVIDIA GPU.
#
#   scripts/gpu-check.sh            # everything below
#   CUDA_ORDINAL=1 scripts/gpu-check.sh
#
# 1. prints nvidia-smi and the CUDA libraries found; fails loudly without a GPU;
# 2. builds (release) and runs the conformance suite on cuda (and the CPU rows,
#    which are the reference), then tests/cuda.rs (thinker greedy tokens vs CPU);
# 3. kernel + model bench across cpu and cuda:N (`omnirt bench --backends`),
#    then the model bench on cuda.
# Every step must pass: `set -e`, and the cuda tests are checked to have run
# (not skipped) by grepping for the skip message.
set -euo pipefail
cd "$(dirname "$0")/.."

ORD="${CUDA_ORDINAL:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

die() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

echo "== nvidia-smi"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA driver on this machine (this script needs a GPU)"
nvidia-smi || die "nvidia-smi failed: driver not loaded or no GPU visible"
nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total --format=csv

# cudarc (cuda-12080 bindings) dlopens libcuda.so.1, libnvrtc.so{,.12} and
# libcublas.so{,.12}. A CUDA 13 toolkit ships only .so.13 plus the unversioned
# dev symlinks in its lib64: put that directory (and pip wheels' lib dirs) on
# LD_LIBRARY_PATH when present.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia,os;print(" ".join(os.path.join(p,q,"lib") for p in nvidia.__path__ for q in os.listdir(p)))' 2>/dev/null || true); do
  [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
echo "== CUDA libraries (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
for lib in libcuda.so.1 libnvrtc.so libnvrtc.so.12 libnvrtc.so.13 libcublas.so libcublas.so.12 libcublas.so.13; do
  found=$(ldconfig -p 2>/dev/null | grep -m1 " $lib " | sed 's/.*=> //' || true)
  if [ -z "$found" ]; then
    IFS=: read -ra dirs <<<"$LD_LIBRARY_PATH"
    for d in "${dirs[@]}"; do [ -e "$d/$lib" ] && found="$d/$lib" && break; done
  fi
  echo "  $lib: ${found:-not found}"
done

echo "== build (release)"
cargo build --release --bin omnirt

run_tests() {
  local log
  log=$(mktemp)
  cargo test --release "$@" -- --nocapture 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || die "cargo test $* failed"
  if grep -q "skipped: \(backend cuda\|no usable NVIDIA GPU\)" "$log"; then
    die "cargo test $*: the cuda tests were SKIPPED (Device::cuda($ORD) failed; message above)"
  fi
  rm -f "$log"
}

echo "== conformance suite on cuda (cpu rows are the reference)"
run_tests --test conformance cuda::
echo "== tests/cuda.rs (thinker greedy tokens cuda vs cpu)"
run_tests --test cuda

echo "== kernel + model bench: cpu vs cuda:$ORD"
./"$CARGO_TARGET_DIR"/release/omnirt bench --backends "cpu,cuda:$ORD" --quick

echo "== model bench on cuda:$ORD (tiny thinker)"
./"$CARGO_TARGET_DIR"/release/omnirt bench --backends "cuda:$ORD" --quick --decode-tokens 32

echo "gpu-check: OK"
