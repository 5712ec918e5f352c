#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: the full suite on the LibTorch
# build, then the torch-free parsers again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
"$here/bootstrap.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

gemma_build "$GEMMA_ROOT/build"
ctest --test-dir "$GEMMA_ROOT/build" --output-on-failure -j 2

gemma_build "$GEMMA_ROOT/build-sanitize" -DGEMMA_WITH_TORCH=OFF -DGEMMA_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=Debug
ctest --test-dir "$GEMMA_ROOT/build-sanitize" --output-on-failure -j 2
