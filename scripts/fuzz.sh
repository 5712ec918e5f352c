#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, GEMMA_WITH_TORCH=OFF, GEMMA_FUZZ=ON) and fuzzes
# each for a while, one at a time with one worker:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 60 s, every target)
# Each target starts from a scratch copy of tests/fuzz/corpus/<target> kept in build-fuzz/corpus
# (the committed seeds never change) plus tests/fuzz/regressions/<target>. Crash, leak, timeout
# and OOM inputs land in build-fuzz/artifacts/; docs/fuzzing.md says what to do with them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"

seconds=${1:-60}
shift || true
build=$GEMMA_ROOT/build-fuzz
gemma_build "$build" -DGEMMA_WITH_TORCH=OFF -DGEMMA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(grep -oE '^fuzz_[a-z_]+' "$GEMMA_ROOT/tests/fuzz/targets.txt")
fi

mkdir -p "$build/logs"
summary=()
status=0
for target in "${targets[@]}"; do
  log=$build/logs/$target.log
  echo "fuzz: $target for ${seconds} s (log: $log)"
  rc=0 start=$SECONDS
  bash "$GEMMA_ROOT/tests/fuzz/run_fuzzer.sh" "$build/tests/fuzz/$target" "$seconds" "$build" \
    >"$log" 2>&1 || rc=$?
  # libFuzzer ends a clean run with "Done N runs in T second(s)"; a crash ends it early with
  # "Test unit written to <artifact>" and -print_final_stats' "stat::number_of_executed_units".
  runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)
  secs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -1)
  [[ -n $runs ]] || runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  [[ -n $secs ]] || secs=$((SECONDS - start))
  artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
  if ((rc != 0)); then
    status=1
    crashes=${artifact:-"exit status $rc, see $log"}
  else
    crashes=0
  fi
  summary+=("$(printf '%-22s executions %10s  seconds %5s  crashes %s' "$target" "${runs:-?}" \
    "${secs:-?}" "$crashes")")
done
printf '%s\n' "${summary[@]}"
exit $status
