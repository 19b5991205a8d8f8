#!/usr/bin/env bash
# The ingest benchmarks: a dedicated Kafka broker, ingest (release build) and the load generator,
# run one after the other; prints one summary block. Asserts no timings; prints figures.
#
#   bench/uplink_bench.sh [--quick] [--compression zstd|none] [--build-dir DIR]
#                         [--connections N] [--idle N]
#
#   1. canvoy_kafka_baseline: librdkafka alone producing ingest's records (the ratio's baseline)
#   2. throughput: 1,000 connections, each keeping its window full
#   3. latency: seal-to-ack at half the batch rate measured in 2
#   4. handshakes: full TLS 1.3 handshakes/s, then resumed ones
#   5. idle: 10,000 connections held open against a fresh ingest; its RSS before and after
#
# --quick: a few seconds per mode with few connections, to check that everything works.
# Vehicle certificates are issued once into $CANVOY_CACHE_DIR/bench-pki (default
# ~/.cache/canvoy/bench-pki); the first full run issues 10,000 of them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
compression=zstd
build="$root/build/release"
connections_arg='' idle_arg=''
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --compression) compression=${2:?--compression needs zstd or none}; shift 2 ;;
    --build-dir) build=$(cd "${2:?--build-dir needs a directory}" && pwd); shift 2 ;;
    --connections) connections_arg=${2:?--connections needs a number}; shift 2 ;;
    --idle) idle_arg=${2:?--idle needs a number}; shift 2 ;;
    *) sed -n '5,6s/^# //p' "$0" >&2; exit 2 ;;
  esac
done
[[ $compression == zstd || $compression == none ]] || { echo "uplink_bench: --compression zstd or none" >&2; exit 2; }

if ((quick)); then
  connections=20 seconds=3 latency_seconds=3 handshake_seconds=2 parallel=4 idle=200 baseline_seconds=3 warmup=0.5
else
  connections=1000 seconds=20 latency_seconds=15 handshake_seconds=10 parallel=16 idle=10000 baseline_seconds=10 warmup=1
fi
connections=${connections_arg:-$connections}
idle=${idle_arg:-$idle}

# --- build (only what is missing) -------------------------------------------------------------
ingest_bin="$build/ingest/canvoy-ingest"
pki_bin="$build/common/canvoy-pki"
load_bin="$build/bench/canvoy_uplink_load"
baseline_bin="$build/bench/canvoy_kafka_baseline"
# Binaries that exist are used as they are: after changing the code, build before running this.
if [[ ! -f $build/CMakeCache.txt ]]; then
  [[ $build == "$root/build/release" ]] || { echo "uplink_bench: $build is not a configured build" >&2; exit 2; }
  echo "uplink_bench: no release build at $build; building it (this takes a while)"
  cmake --preset release >/dev/null
  cmake --build --preset release
fi
missing=()
for target in canvoy-ingest:$ingest_bin canvoy-pki:$pki_bin canvoy_uplink_load:$load_bin \
  canvoy_kafka_baseline:$baseline_bin; do
  [[ -x ${target#*:} ]] || missing+=("${target%%:*}")
done
if ((${#missing[@]})); then
  echo "uplink_bench: building ${missing[*]} in $build"
  cmake --build "$build" --target "${missing[@]}"
fi

# --- everything started is stopped on exit ----------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/canvoy-uplink-bench.XXXXXX")
exec {stderr}>&2  # the exit trap may run while a step's output still goes to its file
pids=()
ingest_pid=''
# stop_pid PID: SIGTERM, and SIGKILL when it has not ended within 90 s (ingest may spend 30 s
# flushing to Kafka and 35 s closing connections). A child that ended is a zombie until waited for.
alive() {
  local state
  read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" && [[ $state != Z ]]
}
stop_pid() {
  local deadline=$((SECONDS + 90))
  kill -TERM "$1" 2>/dev/null || return 0
  while alive "$1" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$1"; then
    echo "uplink_bench: pid $1 ignored SIGTERM for 90 s; killing it" >&2
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local status=$?
  exec 2>&"$stderr"
  for pid in "${pids[@]}" $ingest_pid; do stop_pid "$pid"; done
  bash "$root/scripts/kafka.sh" stop --dir "$work/kafka" >/dev/null 2>&1 || true
  if ((status == 0)); then
    rm -rf "$work"
  else
    echo "uplink_bench: failed (exit $status); logs kept in $work" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # ingest and the generator each hold >10,000 sockets

# field LINE KEY: the value of KEY=value in LINE.
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# wait_for_file FILE SECONDS WHAT LOG
wait_for_file() {
  local deadline=$((SECONDS + $2))
  until [[ -s $1 ]]; do
    if ((SECONDS >= deadline)); then
      echo "uplink_bench: $3 not ready after $2 s; last lines of $4:" >&2
      tail -n 20 "$4" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# A broker started by a kafka.sh older than commit 62e8a1e still holds the jar cache's fetch lock
# (an inherited descriptor), and a start would wait for it for ever. While one runs, the broker
# starts from a private cache that links the jars already fetched.
kafka_version=$(sed -n 's/^readonly KAFKA_VERSION=//p' scripts/kafka.sh)
kafka_cache="${CANVOY_CACHE_DIR:-$HOME/.cache/canvoy}/kafka-$kafka_version"
if [[ -f $kafka_cache/.lock && -f $kafka_cache/libs/.complete ]] && ! flock -n "$kafka_cache/.lock" true; then
  echo "uplink_bench: the Kafka jar cache is locked by a running broker; using the jars through $work/kafka-cache"
  mkdir -p "$work/kafka-cache/kafka-$kafka_version"
  ln -s "$kafka_cache/libs" "$work/kafka-cache/kafka-$kafka_version/libs"
  CANVOY_CACHE_DIR="$work/kafka-cache" bash scripts/kafka.sh start --dir "$work/kafka" >/dev/null
else
  bash scripts/kafka.sh start --dir "$work/kafka" >/dev/null
fi
bootstrap=$(cat "$work/kafka/bootstrap")
echo "uplink_bench: broker on $bootstrap, work dir $work"

pki="${CANVOY_CACHE_DIR:-$HOME/.cache/canvoy}/bench-pki"
[[ -f $pki/ca.crt && -f $pki/server.crt ]] || "$pki_bin" --dir "$pki" --init >/dev/null

# start_ingest NAME: a fresh ingest; sets ingest_pid and ingest_port.
start_ingest() {
  rm -f "$work/$1.port"
  "$ingest_bin" --port 0 --port-file "$work/$1.port" --metrics-port 0 \
    --metrics-port-file "$work/$1-metrics.port" --ca "$pki/ca.crt" --cert "$pki/server.crt" \
    --key "$pki/server.key" --bootstrap "$bootstrap" --max-connections 20000 \
    --idle-timeout 3600 --handshake-timeout 60 --threads "$(nproc)" --log-level warn \
    >"$work/$1.log" 2>&1 &
  ingest_pid=$!
  wait_for_file "$work/$1.port" 60 "ingest" "$work/$1.log"
  ingest_port=$(cat "$work/$1.port")
}
stop_ingest() {
  stop_pid "$ingest_pid"
  ingest_pid=''
}
load() { "$load_bin" "$@" --ingest "127.0.0.1:$ingest_port" --pki "$pki" --compression "$compression"; }

# step NAME COMMAND...: runs COMMAND with its output in $work/NAME.out, and shows that output.
step() {
  local name=$1 status=0
  shift
  "$@" >"$work/$name.out" 2>&1 || status=$?
  cat "$work/$name.out" >&2
  return "$status"
}
# result NAME PREFIX: the line of $work/NAME.out that starts with PREFIX.
result() { grep -m1 "^$2" "$work/$1.out" || { echo "uplink_bench: no '$2' line in $work/$1.out" >&2; return 1; }; }

vehicles=$((idle > connections ? idle : connections))
echo "uplink_bench: $vehicles vehicle certificates in $pki (issued once, then cached)"
step certs "$load_bin" certs --pki "$pki" --vehicles "$vehicles"

echo "uplink_bench: 1/5 baseline (librdkafka alone, ${baseline_seconds}s)"
step baseline "$baseline_bin" --bootstrap "$bootstrap" --seconds "$baseline_seconds" --warmup "$warmup" \
  --vehicles "$connections" --max-in-flight $((connections * 32))
baseline=$(result baseline 'baseline ')

start_ingest ingest
echo "uplink_bench: 2/5 throughput ($connections connections, ${seconds}s)"
step throughput load throughput --connections "$connections" --seconds "$seconds" --warmup "$warmup" \
  --ingest-pid "$ingest_pid"
throughput=$(result throughput 'throughput ')
rate=$(($(field "$throughput" batches_acked_per_s) / 2))
if ((rate == 0)); then
  echo "uplink_bench: ingest acknowledged no batch; see $work/ingest.log." >&2
  [[ $compression == zstd ]] && echo "uplink_bench: if this ingest does not take zstd batch frames yet, run with --compression none" >&2
  exit 1
fi

echo "uplink_bench: 3/5 latency ($rate batches/s, ${latency_seconds}s)"
step latency load latency --connections "$connections" --rate "$rate" --seconds "$latency_seconds" \
  --warmup "$warmup" --ingest-pid "$ingest_pid"
latency=$(result latency 'latency ')

echo "uplink_bench: 4/5 handshakes (${handshake_seconds}s full, ${handshake_seconds}s resumed, $parallel at once)"
step handshakes load handshakes --seconds "$handshake_seconds" --parallel "$parallel" --vehicles "$connections"
full=$(result handshakes 'handshakes kind=full')
resumed=$(result handshakes 'handshakes kind=resumed')
resumed_error=$(sed -n '/kind=resumed/{n;s/^first_error=//p}' "$work/handshakes.out")
stop_ingest

echo "uplink_bench: 5/5 idle ($idle connections, against a fresh ingest)"
start_ingest ingest-idle
sleep 1  # the producer connects to the broker first: RSS before is that of a ready ingest
rss_before=$(rss_kib "$ingest_pid")
# Not through load(): $! must be the generator itself, not a subshell around it.
"$load_bin" idle --connections "$idle" --ready-file "$work/idle.ready" --hold 300 \
  --ingest "127.0.0.1:$ingest_port" --pki "$pki" --compression "$compression" >"$work/idle.out" 2>&1 &
idle_pid=$!
pids+=("$idle_pid")
wait_for_file "$work/idle.ready" 240 "the idle connections" "$work/idle.out"
sleep 1
rss_after=$(rss_kib "$ingest_pid")
ingest_connections=$(curl -sf "http://127.0.0.1:$(cat "$work/ingest-idle-metrics.port")/metrics" |
  awk '/^canvoy_ingest_connections / {print $2}') || ingest_connections='?'
stop_pid "$idle_pid"
pids=()
cat "$work/idle.out" >&2
idle_line=$(result idle 'idle attempted=')
open=$(field "$idle_line" open_now)
stop_ingest

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
per_conn=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$open" 'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }')
cat <<EOF

==== ingest benchmarks (issue 4) $(date -u +%Y-%m-%dT%H:%MZ) ====
machine                 nproc=$(nproc) load_average="$(cut -d' ' -f1-3 /proc/loadavg)" quick=$quick compression=$compression
kafka baseline          $(field "$baseline" records_per_s) records/s, $(field "$baseline" signals_per_s) signals/s ($(field "$baseline" value_mb_per_s) MB/s of record values, $(field "$baseline" cpu_cores) cores)
ingest throughput       $(field "$throughput" batches_acked_per_s) batches/s, $(field "$throughput" signals_acked_per_s) signals/s acked over $(field "$throughput" open_at_end) connections (ingest $(field "$throughput" ingest_cpu_cores) cores, generator $(field "$throughput" loadgen_cpu_cores) cores)
ratio ingest/baseline   $(ratio "$(field "$throughput" signals_acked_per_s)" "$(field "$baseline" signals_per_s)") (signals/s)
latency @ $rate batches/s  p50 $(field "$latency" p50_ms) ms, p99 $(field "$latency" p99_ms) ms (seal to ack, $(field "$latency" recorded) batches)
handshakes full         $(field "$full" per_s)/s (p50 $(field "$full" handshake_p50_ms) ms, $parallel at once, failed $(field "$full" failed))
handshakes resumed      $(field "$resumed" per_s)/s ($(field "$resumed" resumed) resumed, failed $(field "$resumed" failed)${resumed_error:+, first error $resumed_error}); gain $(ratio "$(field "$resumed" per_s)" "$(field "$full" per_s)")x
idle connections        $open open (ingest counts $ingest_connections); ingest RSS $((rss_before / 1024)) -> $((rss_after / 1024)) MiB: $per_conn KiB per connection
EOF
