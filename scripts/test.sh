#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: the full suite on the LibTorch
# build, then the torch-free parsers again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the CLI and example programs (LibTorch included) under both sanitizers, then the parsers'
# libFuzzer targets for a few seconds each (docs/fuzzing.md).
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

# gemma's LibTorch code under ASan + UBSan, through the integration tests (the CLI on every input
# class of hostile.py, the examples). The wheel's LibTorch is not instrumented: what it does inside
# its own code is not checked, every call into it from gemma is. A sanitizer report exits with 86.
GEMMA_TARGETS=gemma_integration_programs gemma_build "$GEMMA_ROOT/build-asan" \
  -DGEMMA_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGEMMA_BUILD_BENCH=OFF
ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:exitcode=86 \
  ctest --test-dir "$GEMMA_ROOT/build-asan" --output-on-failure -j 2 -L integration

# The libFuzzer targets (clang; the flags of scripts/fuzz.sh): each replays its seed corpus and
# regression inputs, then fuzzes for 10 s. Only the fuzz tests run here: the other unit tests ran
# under sanitizers just above, and with fuzzer instrumentation the Jinja budget test alone takes
# minutes.
gemma_build "$GEMMA_ROOT/build-fuzz" -DGEMMA_WITH_TORCH=OFF -DGEMMA_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir "$GEMMA_ROOT/build-fuzz" --output-on-failure -j 2 -L fuzz
