# Shared settings for the scripts; sourced, not run.
GEMMA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${GEMMA_TORCH_VERSION:=2.11.0}"
: "${GEMMA_VENV:=${XDG_CACHE_HOME:-$HOME/.cache}/gemma/venv}"
export GEMMA_TORCH_VERSION GEMMA_VENV
[[ -d /usr/local/cuda/bin && ":$PATH:" != *":/usr/local/cuda/bin:"* ]] && export PATH="$PATH:/usr/local/cuda/bin"
# ccache hits across clones (CI builds a fresh clone elsewhere) need paths relative to the repo.
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR="$GEMMA_ROOT"
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}

# Configures and builds `$1` (a build directory) with the remaining arguments as extra CMake flags;
# all targets, or those GEMMA_TARGETS names.
gemma_build() {
  local dir=$1
  shift
  if [[ ! -f $dir/build.ninja ]]; then
    cmake -S "$GEMMA_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 ||
      { cat "$dir.configure.log" >&2; return 1; }
  fi
  # shellcheck disable=SC2086  # GEMMA_TARGETS is a list
  cmake --build "$dir" -j "${GEMMA_JOBS:-$(nproc)}" ${GEMMA_TARGETS:+--target $GEMMA_TARGETS}
}
