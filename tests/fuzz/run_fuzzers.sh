#!/bin/bash
# Runs the libFuzzer targets one after another, each for a fixed time on one core.
#
#   cmake --preset fuzz && cmake --build --preset fuzz
#   tests/fuzz/run_fuzzers.sh [seconds per target, default 600] [target ...]
#
# Targets: dbc_parser candump_reader decoder history_block (default: all). Per target, in
# build/fuzz/: corpus/<target>/ (what libFuzzer found; kept between runs), artifacts/<target>/
# (crashing inputs: copy them to tests/fuzz/regressions/<target>/), work/<target>/fuzz-0.log
# (its output). history_block's seeds come from canvoy_fuzz_history_block_seeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CANVOY_FUZZ_BUILD_DIR:-$root/build/fuzz}
data=$root/../shared/data/can
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(dbc_parser candump_reader decoder history_block); fi

/usr/bin/python3 "$root/tests/fuzz/make_seeds.py" --data "$data" --out "$build/seeds"
status=0
for target in "${targets[@]}"; do
  case $target in
    dbc_parser) seeds=("$data/dbc") ;;
    candump_reader) seeds=("$build/seeds/candump_reader" "$data/kat") ;;
    decoder) seeds=("$build/seeds/decoder") ;;
    history_block)
      "$build/tests/fuzz/canvoy_fuzz_history_block_seeds" "$build/seeds/history_block" >/dev/null
      seeds=("$build/seeds/history_block") ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  mkdir -p "$build/corpus/$target" "$build/artifacts/$target" "$build/work/$target"
  echo "== $target: ${seconds}s"
  # -jobs=1: one worker process, its output in work/<target>/fuzz-0.log.
  (cd "$build/work/$target" &&
   "$build/tests/fuzz/canvoy_fuzz_$target" "$build/corpus/$target" "${seeds[@]}" \
     -max_total_time="$seconds" -jobs=1 -print_final_stats=1 \
     -artifact_prefix="$build/artifacts/$target/") || status=1
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY" \
    "$build/work/$target/fuzz-0.log" || true
  ls "$build/artifacts/$target"
done
exit $status
