#!/usr/bin/env bash
# Builds llama.cpp's `llama-bench`, the third side of bench/run_bench.py (bench/README.md, "llama.cpp side").
# llama.cpp comes from the llama-cpp-python sdist on PyPI, which vendors a pinned llama.cpp (with its
# convert_hf_to_gguf.py and gguf-py, used by scripts/convert_gguf.sh) and needs nothing but the project venv's
# pip to fetch: no git clone, no second download tool. 0.3.36 vendors ggml-org/llama.cpp@0c1e57098, which has
# Gemma 3n (LLM_ARCH_GEMMA3N). Only the llama-bench target is built: CPU backend only, native ISA, no
# networking (LLAMA_CURL no longer exists in this llama.cpp; LLAMA_OPENSSL=OFF is its equivalent), no server
# (whose web-UI target downloads prebuilt assets). Idempotent: each step is skipped when its output exists.
#   scripts/build_llama_bench.sh        # prints the path of llama-bench last
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"

version=${GEMMA_LLAMA_CPP_PYTHON_VERSION:-0.3.36}
top=${XDG_CACHE_HOME:-$HOME/.cache}/gemma/llama.cpp
sdist=$top/llama_cpp_python-$version.tar.gz
src=$top/llama_cpp_python-$version/vendor/llama.cpp
build=$top/build-$version
mkdir -p "$top"

if [[ ! -f $sdist ]]; then
  "$GEMMA_VENV/bin/pip" download --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$top" >&2
fi
if [[ ! -d $top/llama_cpp_python-$version ]]; then  # unpacked beside, then moved: never half there
  rm -rf "$top/.unpack" && mkdir "$top/.unpack" && tar -xzf "$sdist" -C "$top/.unpack"
  mv "$top/.unpack/llama_cpp_python-$version" "$top/" && rmdir "$top/.unpack"
fi
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF \
    -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_OPENCL=OFF \
    -DGGML_RPC=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_APP=OFF >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
fi
nice -n 10 cmake --build "$build" --target llama-bench -j2 >&2
echo "$build/bin/llama-bench"
