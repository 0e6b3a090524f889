#!/usr/bin/env bash
# Installs the Debian packages InterFormer-C needs (run as root, or it uses
# sudo when present).
#   scripts/deps.sh        to build the library and CLI and segment an image
#   scripts/deps.sh test   also everything `make test` uses
#   scripts/deps.sh bench  also PyTorch on OpenBLAS and node/npm (ONNX Runtime) for `make bench`
set -euo pipefail
run=(build-essential python3-numpy libstb-dev)
test=(clang clang-format libclang-rt-14-dev python3-pytest python3-torch python3-pil gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user pkg-config python3-venv python3-setuptools python3-wheel gcc-mingw-w64-x86-64 wine64)
# make test-web: Emscripten, Chromium, and Node with npm (playwright-core),
# unless a Node with npm is there already (NodeSource's nodejs ships npm and
# conflicts with Debian's npm package).
test+=(emscripten chromium)
command -v npm >/dev/null 2>&1 || test+=(nodejs npm)
pkgs=("${run[@]}")
[ "${1:-}" = test ] && pkgs+=("${test[@]}")
[ "${1:-}" = bench ] && pkgs+=(python3-torch libopenblas0-pthread nodejs npm)
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
