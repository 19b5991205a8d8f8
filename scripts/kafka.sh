#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on loopback,
# for tests and the demo. Its jars come from Maven Central through scripts/kafka/pom.xml.
#
#   kafka.sh fetch                                    download the jars once into the cache
#   kafka.sh start --dir DIR [--topics-partitions N]  fresh broker in DIR; prints 127.0.0.1:PORT
#   kafka.sh stop --dir DIR                           stop it; no error when nothing runs
#   kafka.sh restart --dir DIR                        start DIR's stopped broker again, same port and data
#   kafka.sh status --dir DIR                         exit 0 when it runs
#
# DIR/bootstrap holds "127.0.0.1:PORT" and exists only while a started broker is ready.
# Environment: CANVOY_CACHE_DIR (default ~/.cache/canvoy), CANVOY_TELEMETRY_TOPIC,
# CANVOY_CATALOG_TOPIC.
set -euo pipefail

readonly KAFKA_VERSION=3.9.2
POM="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka/pom.xml"
readonly POM
readonly CACHE="${CANVOY_CACHE_DIR:-$HOME/.cache/canvoy}/kafka-$KAFKA_VERSION"
readonly LIBS="$CACHE/libs"
readonly START_TIMEOUT_S=90 STOP_TIMEOUT_S=30

die() { echo "kafka.sh: $*" >&2; exit 1; }
usage() { sed -n '5,9s/^# //p' "${BASH_SOURCE[0]}" >&2; exit 2; }

# True when PID runs and is not a zombie (a broker that dies while start waits becomes one).
alive() {
  local state
  read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" && [[ $state != Z ]]
}

# Prints the pid of the broker running in DIR; fails when none runs (checks the command line,
# so a pid that the system reused for something else is never signalled).
running_pid() {
  local pid
  pid=$(cat "$1/broker.pid" 2>/dev/null) && alive "$pid" &&
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *' kafka.Kafka '* ]] && echo "$pid"
}

# SIGTERM to the broker's process group; SIGKILL when it is still there after the timeout.
kill_group() {
  local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT_S))
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    echo "kafka.sh: broker $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s; killing it" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
}

# Runs a Kafka command-line tool; shows its output only when it fails.
run_tool() {
  local dir=$1 out; shift
  out=$(java -Xmx256m -XX:TieredStopAtLevel=1 -cp "$LIBS/*" \
    -Dlog4j.configuration="file:$dir/tools-log4j.properties" "$@" 2>&1) ||
    { echo "$out" >&2; return 1; }
}

cmd_fetch() {
  local stamp out
  stamp=$(sha256sum "$POM" | cut -d' ' -f1)  # a changed pom fetches anew
  mkdir -p "$CACHE"
  exec {lock}>"$CACHE/.lock"
  flock "$lock"  # concurrent starts must not fetch into one folder
  if [[ ! -f $LIBS/.complete || $(<"$LIBS/.complete") != "$stamp" ]]; then
    rm -rf "$LIBS"
    echo "kafka.sh: fetching Kafka $KAFKA_VERSION jars into $LIBS" >&2
    # Quiet on success (Maven 3.8 -q still prints colour codes), everything on failure.
    out=$(mvn -B -q -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS" 2>&1) ||
      { echo "$out" >&2; die "fetching the Kafka jars failed"; }
    echo "$stamp" >"$LIBS/.complete"
  fi
  # Released here, not at exit: a broker started later would inherit the descriptor and hold the
  # lock for its whole life, blocking every other start.
  exec {lock}>&-
}

write_configs() {
  local dir=$1 port=$2 cport=$3 partitions=$4
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=$partitions
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  # The broker logs INFO to stdout (DIR/broker.log), without every request and client detail.
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
  # Command-line tools: warnings only, on stderr.
  sed -e 's/rootLogger=INFO/rootLogger=WARN/' \
    -e '/ConsoleAppender$/a log4j.appender.stdout.Target=System.err' \
    "$dir/log4j.properties" >"$dir/tools-log4j.properties"
}

# Waits until the log says the server started and its port accepts connections.
wait_ready() {
  local dir=$1 pid=$2 port=$3 deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    alive "$pid" || { echo "kafka.sh: broker exited during start" >&2; return 1; }
    grep -q 'Kafka Server started' "$dir/broker.log" &&
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "kafka.sh: broker not ready after ${START_TIMEOUT_S}s" >&2
  return 1
}

# Creates TOPIC, then waits until the broker leads each of its partitions (the log exists).
create_topic() {
  local dir=$1 bootstrap=$2 topic=$3 partitions=$4 p deadline; shift 4
  run_tool "$dir" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
    --if-not-exists --topic "$topic" --partitions "$partitions" --replication-factor 1 "$@" ||
    return 1
  deadline=$((SECONDS + 30))
  for ((p = 0; p < partitions; p++)); do
    until [[ -d $dir/data/$topic-$p ]]; do
      ((SECONDS < deadline)) || { echo "kafka.sh: no log for $topic-$p after 30s" >&2; return 1; }
      sleep 0.1
    done
  done
  echo "kafka.sh: topic $topic ready, $partitions partition(s) $*" >&2
}

# Runs the broker configured in DIR and waits until it is ready; exits on failure.
launch() {
  local dir=$1 port=$2 pid
  # setsid: the broker leads its own process group, which stop signals as a whole.
  setsid java -Xms256m -Xmx512m -Djava.awt.headless=true -cp "$LIBS/*" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.Kafka "$dir/server.properties" </dev/null >>"$dir/broker.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  if ! wait_ready "$dir" "$pid" "$port"; then
    echo "--- last 40 lines of $dir/broker.log:" >&2
    tail -n 40 "$dir/broker.log" >&2
    kill_group "$pid"
    rm -f "$dir/broker.pid"
    exit 1
  fi
}

# The same broker again after a stop (or a crash): its port, cluster and data are kept, so
# clients configured with its address reconnect by themselves.
cmd_restart() {
  local dir=$1 port
  [[ -f $dir/server.properties && -d $dir/data ]] || die "no broker was started in $dir"
  dir=$(cd "$dir" && pwd)
  cmd_stop "$dir"
  port=$(sed -n 's/^listeners=PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$dir/server.properties")
  [[ -n $port ]] || die "cannot read the broker's port from $dir/server.properties"
  # A fresh log: readiness is read from it. The previous run's log stays beside it.
  [[ -f $dir/broker.log ]] && mv "$dir/broker.log" "$dir/broker.log.$(date +%s%N)"
  launch "$dir" "$port"
  echo "127.0.0.1:$port" >"$dir/bootstrap.tmp"
  mv "$dir/bootstrap.tmp" "$dir/bootstrap"
  cat "$dir/bootstrap"
}

cmd_start() {
  local dir=$1 partitions=$2 pid
  [[ $partitions =~ ^[1-9][0-9]*$ ]] || die "--topics-partitions must be a positive integer"
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  if pid=$(running_pid "$dir"); then
    [[ -f $dir/bootstrap ]] || die "broker $pid in $dir runs but is not ready; stop it first"
    echo "kafka.sh: already running (pid $pid)" >&2
    cat "$dir/bootstrap"
    return 0
  fi
  cmd_fetch
  rm -rf "$dir/data" "$dir/bootstrap" "$dir/broker.pid" "$dir/broker.log"  # every start is a fresh, empty cluster

  # Two free loopback ports, and a cluster id as Kafka makes one (base64url of 16 random bytes,
  # never starting with '-'): one Python start instead of a JVM start.
  local port cport cluster_id
  read -r port cport cluster_id < <(python3 -c '
import base64, socket, uuid
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
cid = "-"
while cid.startswith("-"):
    cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
print(*(s.getsockname()[1] for s in socks), cid)')
  write_configs "$dir" "$port" "$cport" "$partitions"
  run_tool "$dir" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" ||
    die "formatting $dir/data failed"

  launch "$dir" "$port"

  # Both topics at once: each TopicCommand is a JVM start of a second or two.
  local bootstrap="127.0.0.1:$port" telemetry catalog failed=0
  create_topic "$dir" "$bootstrap" "${CANVOY_TELEMETRY_TOPIC:-canvoy.telemetry.v1}" "$partitions" &
  telemetry=$!
  create_topic "$dir" "$bootstrap" "${CANVOY_CATALOG_TOPIC:-canvoy.catalog.v1}" 1 \
    --config cleanup.policy=compact &
  catalog=$!
  wait "$telemetry" || failed=1
  wait "$catalog" || failed=1
  ((failed == 0)) || { cmd_stop "$dir"; die "creating the topics failed"; }

  echo "$bootstrap" >"$dir/bootstrap.tmp"
  mv "$dir/bootstrap.tmp" "$dir/bootstrap"  # last and atomic: its existence means ready
  cat "$dir/bootstrap"
}

cmd_stop() {
  local dir=$1 pid
  rm -f "$dir/bootstrap"
  if pid=$(running_pid "$dir"); then kill_group "$pid"; fi
  rm -f "$dir/broker.pid"
}

cmd_status() {
  local dir=$1 pid
  pid=$(running_pid "$dir") || { echo "not running"; return 1; }
  echo "running (pid $pid), bootstrap $(cat "$dir/bootstrap" 2>/dev/null || echo 'not ready yet')"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1 dir='' partitions=4
  shift
  while (($#)); do
    case $1 in
      --dir) dir=${2:?--dir needs a value}; shift 2 ;;
      --topics-partitions) partitions=${2:?--topics-partitions needs a value}; shift 2 ;;
      *) usage ;;
    esac
  done
  case $cmd in
    fetch) cmd_fetch ;;
    start) cmd_start "${dir:?start needs --dir DIR}" "$partitions" ;;
    stop) cmd_stop "${dir:?stop needs --dir DIR}" ;;
    restart) cmd_restart "${dir:?restart needs --dir DIR}" ;;
    status) cmd_status "${dir:?status needs --dir DIR}" ;;
    *) usage ;;
  esac
}

main "$@"
