#!/usr/bin/env bash
# Compiles every CUDA source in kernels/cuda/ to PTX (compute_80 and compute_90)
# with NVRTC, on a machine with no GPU, no driver and no CUDA toolkit: the NVRTC
# library comes from PyPI's `nvidia-cuda-nvrtc-cu12` wheel (~90 MB, cached by pip),
# installed into a private venv, and is loaded by kernels/examples/ptx_check.rs
# through cudarc's dynamic loading (LD_LIBRARY_PATH points at the wheel's lib/).
#
# Env: OMNIRT_NVRTC_VENV (default: <repo>/.venv-nvrtc, gitignored),
#      NVRTC_WHEEL (default: nvidia-cuda-nvrtc-cu12==12.9.86),
#      CARGO_TARGET_DIR (passed through to cargo).
# Extra arguments go to the example, e.g. `--dump DIR` to keep the PTX.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OMNIRT_NVRTC_VENV:-$repo/.venv-nvrtc}"
wheel="${NVRTC_WHEEL:-nvidia-cuda-nvrtc-cu12==12.9.86}"

find_lib() {
    find "$venv" -name 'libnvrtc.so.*' ! -name '*builtins*' ! -name '*.alt.*' 2>/dev/null | sort | head -n 1
}

lib="$(find_lib || true)"
if [ -z "$lib" ]; then
    echo "ptx-check: installing $wheel into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
    lib="$(find_lib || true)"
fi
if [ -z "$lib" ]; then
    echo "ptx-check: no libnvrtc.so.* found under $venv" >&2
    exit 1
fi
libdir="$(dirname "$lib")"
echo "ptx-check: using $lib" >&2

cd "$repo"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec cargo run --quiet -p omnirt-kernels --example ptx_check -- "$@"
