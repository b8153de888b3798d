#!/usr/bin/env bash
# Builds llama-cpp-python once per (version, CPU architecture, build flags) into rklab's own wheel
# cache, then installs it into the venv given as $1.
#
# Why not plain `pip install`: llama.cpp compiles with -march=native by default. On x86_64 hosts whose
# CPUID advertises AMX while the kernel or hypervisor does not enable it, that build dies with SIGILL
# (`tilezero`) at the first matrix multiply. pip's own wheel cache ignores CMAKE_ARGS, so a wheel built
# with other flags (or on another CPU) would be reused silently. So on x86_64 we build a portable
# AVX2/FMA/F16C wheel (GGML_NATIVE=OFF), keyed by its flags; on aarch64 (the board: Cortex-A76/A55)
# the native build is right and kept.
set -euo pipefail
PY="$1/bin/python"
VERSION="$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)"
[ -n "$VERSION" ] || { echo "rklab: llama-cpp-python version not found in pyproject.toml" >&2; exit 2; }
ARCH="$(uname -m)"
case "$ARCH" in
  x86_64) FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"; TAG="avx2" ;;
  *)      FLAGS=""; TAG="native" ;;
esac
if "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('llama-cpp-python') != '$VERSION')" 2>/dev/null \
   && [ -f "$1/.llama-cpp-$TAG" ]; then
  exit 0
fi
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rklab/wheels/llama-cpp-python-$VERSION-$ARCH-$TAG"
if ! ls "$CACHE"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "rklab: building llama-cpp-python $VERSION for $ARCH ($TAG; about 5-12 minutes on 2 cores, once)"
  mkdir -p "$CACHE"
  CMAKE_ARGS="$FLAGS" "$PY" -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$CACHE" "llama-cpp-python==$VERSION"
fi
"$PY" -m pip install --quiet --force-reinstall --no-deps "$CACHE"/llama_cpp_python-*.whl
"$PY" -m pip install --quiet "$(ls "$CACHE"/llama_cpp_python-*.whl)"
touch "$1/.llama-cpp-$TAG"
