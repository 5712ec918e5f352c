#!/usr/bin/env bash
# Runs one fuzz target the way CTest and scripts/fuzz.sh both do:
#   run_fuzzer.sh BINARY SECONDS WORKDIR [LIBFUZZER-FLAGS...]
# The committed seeds (corpus/<target>) are copied into WORKDIR/corpus/<target>, the only
# directory libFuzzer writes new inputs to, so the committed corpus never changes. The regression
# inputs (regressions/<target>) are replayed first, read-only. Crashes, leaks, timeouts and OOMs go
# to WORKDIR/artifacts/ and make the exit status non-zero.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
binary=$1 seconds=$2 work=$3
shift 3
target=$(basename "$binary")

read -r _ max_len dict < <(grep -E "^${target}[[:space:]]" "$here/targets.txt") ||
  { echo "run_fuzzer: $target is not listed in $here/targets.txt" >&2; exit 2; }

scratch=$work/corpus/$target
mkdir -p "$scratch" "$work/artifacts"
cp -n "$here/corpus/$target"/* "$scratch"/ 2>/dev/null || true

flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len"
       -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1)
[[ $dict != - ]] && flags+=(-dict="$here/$dict")
dirs=("$scratch")
[[ -d $here/regressions/$target ]] && dirs+=("$here/regressions/$target")

# OpenCV would log every undecodable image; the harnesses see its failures as exceptions.
export OPENCV_LOG_LEVEL=${OPENCV_LOG_LEVEL:-SILENT}
# Leaks inside system libraries (lsan.supp) are reported upstream, not failures of ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
exec "$binary" "${flags[@]}" "$@" "${dirs[@]}"
