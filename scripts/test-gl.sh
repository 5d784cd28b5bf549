#!/usr/bin/env bash
# Runs the conformance suite for the gpu backend (packages/tensor/test/conformance.test.ts
# with TSGRAD_CONFORMANCE_BACKENDS=gpu) and its own checks (gpu.test.ts) on gpu.js's
# `headlessgl` target: real GLSL kernels through headless-gl (`gl`).
#
# Why a separate script: the default install must not compile anything native, so
# pnpm-workspace.yaml denies gl's build script (`allowBuilds: gl: false`) and gpu.js
# falls back to its `webasm` target. headless-gl has no prebuilt binary we rely on; it
# builds from source (about 10 minutes on 2 cores) against the X11/Mesa headers, and it
# only gets a GL context under an X server, hence xvfb-run. On a machine without a GPU
# Mesa's llvmpipe renders in software: correct, but slow (about 0.5 GFLOP/s on matmul).
#
# Steps (each skipped when already done):
#   1. apt-get install the headers, Xvfb and a compiler (root or sudo; Debian/Ubuntu);
#   2. node-gyp rebuild of the `gl` package that gpu.js resolves, against this Node's
#      headers (/usr/include/node when present, so no download is needed);
#   3. a smoke test that headless-gl creates a context under xvfb-run;
#   4. both files under xvfb-run with TSGRAD_GPU_MODE=headlessgl.
#
# Usage: scripts/test-gl.sh [--skip-apt] [--rebuild] [-- extra uvu arguments]
#   --skip-apt  do not call apt-get (the packages are already there)
#   --rebuild   rebuild gl even if its binary exists
# Environment: TSGRAD_GPU_MODE overrides the target (e.g. webgl), JOBS the build parallelism.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

skip_apt=0
rebuild=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-apt) skip_apt=1 ;;
    --rebuild) rebuild=1 ;;
    --) shift; break ;;
    *) echo "test-gl: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "test-gl: $*" >&2; }

# 1. System packages: X11/GL headers for the build, Xvfb for a display, a C++ toolchain.
packages=(libxi-dev libx11-dev libxext-dev libgl1-mesa-dev xvfb pkg-config build-essential python3)
if [[ $skip_apt -eq 0 ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    log "installing ${missing[*]}"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi
command -v xvfb-run >/dev/null || { log "xvfb-run not found (install xvfb)"; exit 1; }

# 2. Build the `gl` package gpu.js loads (pnpm keeps it in its store without a binary).
gl_dir="$(node -p "const p = require('path'); const gpujs = require.resolve('gpu.js', { paths: ['$root/packages/tensor'] }); p.dirname(require.resolve('gl/package.json', { paths: [gpujs] }))")"
log "gl package: $gl_dir"
if [[ $rebuild -eq 1 || ! -f "$gl_dir/build/Release/webgl.node" ]]; then
  node_gyp="$(node -p "require.resolve('node-gyp/bin/node-gyp.js', { paths: ['$gl_dir'] })")"
  nodedir_arg=()
  # Debian's and NodeSource's nodejs ship the headers; using them avoids a download.
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [[ -f "$prefix/include/node/common.gypi" ]]; then nodedir_arg=(--nodedir="$prefix"); fi
  log "building headless-gl from source (about 10 minutes on 2 cores)"
  (cd "$gl_dir" && node "$node_gyp" rebuild --jobs="${JOBS:-max}" "${nodedir_arg[@]}")
fi

# 3. Smoke test: a 1x1 context must come up under Xvfb.
xvfb-run -a -s "-screen 0 1280x1024x24" node -e "
  const gl = require('$gl_dir')(1, 1);
  if (!gl) { console.error('test-gl: headless-gl returned no context'); process.exit(1); }
  console.error('test-gl: GL context OK: ' + gl.getParameter(gl.VERSION) + ' / ' + gl.getParameter(gl.RENDERER));
"

# 4. The conformance suite (gpu only) and the gpu checks on the GL target.
export TSGRAD_GPU_MODE="${TSGRAD_GPU_MODE:-headlessgl}"
export TSGRAD_CONFORMANCE_BACKENDS="${TSGRAD_CONFORMANCE_BACKENDS:-gpu}"
log "running conformance ($TSGRAD_CONFORMANCE_BACKENDS) and gpu.test.ts with TSGRAD_GPU_MODE=$TSGRAD_GPU_MODE"
exec xvfb-run -a -s "-screen 0 1280x1024x24" npx uvu -r tsx packages/tensor/test '(conformance|gpu)\.test\.ts$' "$@"
