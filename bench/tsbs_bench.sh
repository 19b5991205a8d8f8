#!/usr/bin/env bash
# The TSBS IoT use case, the fleet store side by side with DuckDB on the same generated data
# (bench/tsbs/README.md): generate, load both, run the 12 queries in each, compare every answer
# row by row, print the latencies and their ratios. Asserts no timings; prints figures.
#
#   bench/tsbs_bench.sh [--trucks 1000] [--duration 24h] [--repeat 5] [--rounds 2] [--data DIR]
#       [--build-dir DIR]
#
# Data goes to $CANVOY_CACHE_DIR/tsbs-<trucks>-<duration> (default ~/.cache/canvoy/...) and is
# generated again only when missing; likewise the imported store ($data/store). Needs a Python venv with DuckDB (bench/tsbs/setup-duckdb.sh,
# run here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

trucks=1000 duration=24h repeat=5 rounds=2 data='' build="$root/build/release"
while (($#)); do
  case $1 in
    --trucks) trucks=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --repeat) repeat=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --data) data=${2:?}; shift 2 ;;
    --build-dir) build=$(cd "${2:?}" && pwd); shift 2 ;;
    *) sed -n '6,7s/^# //p' "$0" >&2; exit 2 ;;
  esac
done
cache=${CANVOY_CACHE_DIR:-$HOME/.cache/canvoy}
data=${data:-$cache/tsbs-$trucks-$duration}

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake --preset release >/dev/null
fi
cmake --build "$build" --target canvoy_tsbs_generate canvoy-fleet-store canvoy_tsbs_store_queries >/dev/null
bench/tsbs/setup-duckdb.sh >/dev/null
python="$cache/duckdb-venv/bin/python"

if [[ ! -f $data/params.json ]]; then
  echo "== generating $trucks trucks x $duration into $data"
  "$build/bench/tsbs/canvoy_tsbs_generate" --trucks "$trucks" --duration "$duration" --out "$data"
fi
samples=$(( $(wc -l < "$data/samples.csv") - 1 ))

if [[ -d $data/store ]]; then
  echo "== fleet store: $data/store exists (remove it to import again)"
else
echo "== fleet store: import $samples samples"
start=$(date +%s.%N)
"$build/fleet-store/canvoy-fleet-store" import --db "$data/store" --samples "$data/samples.csv" \
  --attributes "$data/attributes.csv" >/dev/null
"$build/fleet-store/canvoy-fleet-store" compact --db "$data/store"
seconds=$(echo "$(date +%s.%N) - $start" | bc)
bytes=$(du -sb "$data/store" | cut -f1)
csv_bytes=$(stat -c %s "$data/samples.csv")
printf 'import+compact %.1f s (%.2f M samples/s, two passes over the CSV); store %.1f MB = %.2f bytes/sample (CSV %.1f bytes/sample)\n' \
  "$seconds" "$(echo "$samples / $seconds / 1000000" | bc -l)" "$(echo "$bytes / 1000000" | bc -l)" \
  "$(echo "$bytes / $samples" | bc -l)" "$(echo "$csv_bytes / $samples" | bc -l)"
fi

# The engines take turns, round after round, so that a slow spell of this shared machine hits
# both; compare.py keeps each engine's lowest median per thread count.
duck_files=() store_files=()
for ((round = 1; round <= rounds; ++round)); do
  echo "== round $round of $rounds: DuckDB $("$python" -c 'import duckdb; print(duckdb.__version__)') at 1 and 2 threads"
  "$python" bench/tsbs/duckdb_queries.py "$data" --repeat "$repeat" --threads 1,2 \
    --results "$data/duckdb-results-$round.json" | grep -iE 'load' || true
  duck_files+=("$data/duckdb-results-$round.json")
  for threads in 1 2; do
    echo "== round $round of $rounds: fleet store at $threads thread(s)"
    "$build/bench/tsbs/canvoy_tsbs_store_queries" --db "$data/store" --data "$data" \
      --examples fleet-store/examples/tsbs --repeat "$repeat" --threads "$threads" \
      --results "$data/store-results-$round-$threads.json" 2>/dev/null
    store_files+=("$data/store-results-$round-$threads.json")
  done
done

echo "== side by side ($(nproc) cores)"
python3 bench/tsbs/compare.py --duckdb "${duck_files[@]}" --store "${store_files[@]}"
