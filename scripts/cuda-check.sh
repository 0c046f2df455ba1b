#!/usr/bin/env bash
# The CUDA kernels' checks that need no GPU (CI runs this):
#  1. every kernels/cuda/*.cu compiles to PTX for sm_80 and sm_90 with NVRTC
#     (scripts/ptx-check.sh, NVRTC from a PyPI wheel);
#  2. the kernels' logic runs on a CPU emulation of the CUDA execution model
#     (kernels/cuda/emu/test.cpp, g++ -std=c++20) against plain references.
# On a machine with a GPU, scripts/gpu-check.sh runs the real thing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== CUDA kernels: PTX compile (NVRTC, sm_80 + sm_90)"
bash scripts/ptx-check.sh

echo "== CUDA kernels: CPU emulation of the execution model"
if ! command -v g++ >/dev/null; then
  echo "installing g++..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ >/dev/null
fi
bin="${TMPDIR:-/tmp}/omnirt-cuda-emu-$$"
g++ -std=c++20 -O1 -pthread kernels/cuda/emu/test.cpp -o "$bin"
"$bin"
rm -f "$bin"
