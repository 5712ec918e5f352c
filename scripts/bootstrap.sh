#!/usr/bin/env bash
# Installs everything gemma needs on a fresh Debian 12 machine; a quick no-op when all is present.
#   scripts/bootstrap.sh             Debian packages + LibTorch (the torch wheel) in a virtualenv
#   scripts/bootstrap.sh --fixtures  also transformers/timm, for scripts/make_fixtures.py
# The virtualenv lives outside the checkout (GEMMA_VENV, default ~/.cache/gemma/venv) so that every
# clone of the repository, CI's included, shares one 3 GB torch install instead of downloading it again.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"

want_fixtures=0
[[ ${1:-} == --fixtures ]] && want_fixtures=1

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  libsentencepiece-dev libopencv-dev libsndfile1-dev libsoxr-dev libfmt-dev
  libpng-dev libjpeg-dev libavutil-dev
  catch2 nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev
  # the server: Boost.Beast/Asio (headers), OpenSSL's libcrypto (HMAC)
  libboost1.81-dev libssl-dev
  # fine-tuning's data parallel training: the headers of Gloo, which the torch wheel's c10d uses
  libgloo-dev
  # clang with libFuzzer, for the fuzz targets (scripts/fuzz.sh, the last stage of scripts/test.sh)
  clang libclang-rt-14-dev
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  ((EUID == 0)) || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# No CUDA toolkit is fine: cmake/GemmaTorch.cmake then takes LibTorch's targets from the wheel
# directly (a CPU-only build that still uses a GPU where one is present).
command -v nvcc >/dev/null 2>&1 ||
  echo "bootstrap: no CUDA toolkit (nvcc) found: building without it (CPU and the wheel's own CUDA)"

torch_ok() {
  local v
  v=$(cat "$GEMMA_VENV"/lib/python3*/site-packages/torch/version.py 2>/dev/null | sed -n "s/^__version__ = '\(.*\)'/\1/p")
  [[ $v == "$GEMMA_TORCH_VERSION"* ]]
}
if ! torch_ok; then
  echo "bootstrap: installing torch==$GEMMA_TORCH_VERSION (LibTorch) into $GEMMA_VENV"
  [[ -x $GEMMA_VENV/bin/python ]] || python3 -m venv "$GEMMA_VENV"
  "$GEMMA_VENV/bin/python" -m pip install -q --disable-pip-version-check "torch==$GEMMA_TORCH_VERSION"
  torch_ok || { echo "bootstrap: torch install in $GEMMA_VENV failed" >&2; exit 1; }
fi

# The official openai client, for the server's tests (tests/integration/server_openai.py), and the
# offline checkers of deploy/ (scripts/check_deploy.sh). The venv keeps a copy of the list it was
# given, so that a line added to the list installs on the next run.
clients=$here/requirements-clients.txt
if ! cmp -s "$clients" "$GEMMA_VENV/.requirements-clients.txt"; then
  echo "bootstrap: installing test clients (scripts/requirements-clients.txt)"
  "$GEMMA_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$clients"
  cp "$clients" "$GEMMA_VENV/.requirements-clients.txt"
fi

if ((want_fixtures)); then
  # espeak-ng synthesises the speech clip of the audio fixtures (tests/data/audio), never needed by CI.
  if ! command -v espeak-ng >/dev/null 2>&1; then
    sudo_cmd=()
    ((EUID == 0)) || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends espeak-ng
  fi
  if ! "$GEMMA_VENV/bin/python" -c "import transformers, timm, sentencepiece, soundfile, soxr" 2>/dev/null; then
    echo "bootstrap: installing fixture tools (scripts/requirements-fixtures.txt)"
    "$GEMMA_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements-fixtures.txt"
  fi
fi
