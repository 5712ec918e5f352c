#!/usr/bin/env bash
# Copies LibTorch's shared libraries from the build stage's torch wheel into PREFIX, keeping the
# wheel's layout (PREFIX/torch/lib beside PREFIX/nvidia/*/lib): their RPATHs are relative to it.
#   stage-libs.sh closure PREFIX   what the dynamic loader opens for PREFIX/bin/gemma (cpu image)
#   stage-libs.sh all PREFIX       every library of torch/lib and nvidia/*/lib (cuda image: cuDNN,
#                                  NVRTC, cuSOLVER... are opened lazily, on first use on a GPU)
set -euo pipefail
shopt -s nullglob
mode=$1 prefix=$2
site=$("$GEMMA_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
copy() {  # a library path under $site -> the same relative path under $prefix, links resolved
  local rel
  rel=$(realpath -s --relative-to="$site" "$1")
  install -D -m 0644 "$(readlink -f "$1")" "$prefix/$rel"
}
case $mode in
  closure)
    # ldd resolves through libgemma's RPATH, which names this venv.
    ldd "$prefix/bin/gemma" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
      if [[ $(realpath -s "$lib") == "$site"/* ]]; then copy "$lib"; fi
    done ;;
  all)
    # libtorch_python and libshm need CPython: gemma never loads them.
    find "$site/torch/lib" "$site"/nvidia/*/lib -maxdepth 1 -name '*.so*' \
      ! -name 'libtorch_python.so' ! -name 'libshm*' | while read -r lib; do
      copy "$lib"
    done ;;
  *) echo "stage-libs.sh: mode is closure or all, not '$mode'" >&2; exit 2 ;;
esac
[[ -f $prefix/torch/lib/libtorch_cpu.so ]] || { echo "stage-libs.sh: no LibTorch staged" >&2; exit 1; }
du -sh "$prefix"
