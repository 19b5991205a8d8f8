#!/usr/bin/env bash
# The demo, from a bare Debian 12 machine: installs what is missing, builds the release preset,
# starts a local Kafka broker, the fleet store and ingest, runs a simulated fleet replaying the
# real RAV4 drive over TLS 1.3, waits until the store holds every sample, prints the counts and a
# query's answer, and stops everything. VEHICLES=N picks the fleet's size (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
vehicles=${VEHICLES:-5}
data="$root/../shared/data/can"
dbc="$data/dbc/opendbc_toyota_new_mc_pt_generated.dbc"
log="$data/logs/comma2k19_rav4_2017_seg40_can0_pt.log"
work="$root/build/demo"
bin="$root/build/release"

for f in "$dbc" "$log"; do
  [[ -r "$f" ]] || { echo "demo: '$f' cannot be read (the shared CAN data must sit beside the repo)" >&2; exit 1; }
done

bash scripts/install-deps.sh
bash scripts/kafka.sh fetch
echo "demo: building the release preset (the first build takes several minutes)"
cmake --preset release >/dev/null
cmake --build --preset release --target canvoy-pki canvoy-ingest canvoy-fleet-store canvoy-fleet-sim

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$root/scripts/kafka.sh" stop --dir "$work/kafka" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# wait_for_file FILE SECONDS WHAT LOG: waits until FILE exists, else shows LOG's tail and fails.
wait_for_file() {
  local deadline=$((SECONDS + $2))
  until [[ -s "$1" ]]; do
    if ((SECONDS >= deadline)); then
      echo "demo: $3 did not start; last lines of $4:" >&2
      tail -n 20 "$4" >&2
      exit 1
    fi
    sleep 0.2
  done
}

rm -rf "$work"
mkdir -p "$work"
bash scripts/kafka.sh start --dir "$work/kafka" >/dev/null
bootstrap=$(cat "$work/kafka/bootstrap")
echo "demo: Kafka 3.9.2 broker on $bootstrap"

"$bin/common/canvoy-pki" --dir "$work/pki" --init >/dev/null

"$bin/fleet-store/canvoy-fleet-store" serve --db "$work/store-db" --bootstrap "$bootstrap" \
  --http-port 0 --http-port-file "$work/store.port" >"$work/store.log" 2>&1 &
pids+=($!)
"$bin/ingest/canvoy-ingest" --port 0 --port-file "$work/ingest.port" \
  --metrics-port 0 --metrics-port-file "$work/ingest-metrics.port" \
  --ca "$work/pki/ca.crt" --cert "$work/pki/server.crt" --key "$work/pki/server.key" \
  --bootstrap "$bootstrap" >"$work/ingest.log" 2>&1 &
pids+=($!)
wait_for_file "$work/store.port" 60 "the fleet store" "$work/store.log"
wait_for_file "$work/ingest.port" 60 "ingest" "$work/ingest.log"
store="http://127.0.0.1:$(cat "$work/store.port")"
echo "demo: fleet store on $store, ingest on 127.0.0.1:$(cat "$work/ingest.port")"

echo "demo: $vehicles simulated vehicles replay the RAV4 powertrain log (60 s of driving, 53,800 frames each)"
"$bin/simulators/canvoy-fleet-sim" --vehicles "$vehicles" --pki "$work/pki" --dbc "$dbc" --log "$log" \
  --ingest "127.0.0.1:$(cat "$work/ingest.port")" --summary "$work/fleet.json"

sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples"])' "$work/fleet.json")
stored=0
deadline=$((SECONDS + 120))
while ((SECONDS < deadline)); do
  stored=$(curl -sf "$store/v1/vehicles" |
    python3 -c 'import json,sys; print(sum(v["sample_count"] for v in json.load(sys.stdin)["vehicles"]))' 2>/dev/null || echo 0)
  ((stored >= sent)) && break
  sleep 0.5
done
echo "demo: the agents decoded and sent $sent samples; the fleet store holds $stored"
((stored == sent)) || { echo "demo: the store does not hold every sample; see $work/*.log" >&2; exit 1; }

vin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vehicles"][0]["vin"])' "$work/fleet.json")
echo
echo "demo: \$ canvoy-fleet-store query latest --url $store --vin $vin"
answer=$("$bin/fleet-store/canvoy-fleet-store" query latest --url "$store" --vin "$vin" --format table)
head -n 30 <<<"$answer"
lines=$(wc -l <<<"$answer")
((lines <= 30)) || echo "... $((lines - 30)) more signals (--format json or csv prints them all)"
echo
# A fleet-wide question in the query language (fleet-store/QUERIES.md): each vehicle's average and
# top speed over the drive, answered from the minute rollups.
fleet_query='{"source": {"samples": ["SPEED.SPEED"]}, "steps": [{"bucket": {"width": "all", "aggs": {"avg_kmh": "avg(SPEED.SPEED)", "max_kmh": "max(SPEED.SPEED)", "samples": "count()"}}}]}'
echo "demo: \$ canvoy-fleet-store query run --url $store --json '$fleet_query'"
"$bin/fleet-store/canvoy-fleet-store" query run --url "$store" --json "$fleet_query" --format table
echo
echo "demo: ingest metrics:"
curl -sf "http://127.0.0.1:$(cat "$work/ingest-metrics.port")/metrics" |
  grep -E '^canvoy_ingest_(handshakes_total|batches_acked_total|signals_in_total)' || true
echo "demo: done; logs in $work"
