#!/usr/bin/env bash
# Installs (from Maven Central, cached) and runs a single-node Apache Kafka broker
# in KRaft mode as a plain process on localhost. No Docker, no ZooKeeper.
#
#   scripts/kafka.sh install|start|stop|status
#
# Env: SLUICE_CACHE (jar cache, default ~/.cache/sluice), SLUICE_RUN (data and
# logs, default /tmp/sluice-run), KAFKA_PORT (default 9092).
set -euo pipefail

KAFKA_VERSION=4.1.1   # the one place the broker version lives; also read by pom.xml
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
run="${SLUICE_RUN:-/tmp/sluice-run}"
port="${KAFKA_PORT:-9092}"
ctl_port=$((port + 10001))
libs="$cache/kafka-$KAFKA_VERSION/libs"
data="$run/kafka"
pidfile="$data/kafka.pid"

install() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v java >/dev/null || { echo "kafka.sh: java not found; install a JDK 17" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "kafka.sh: mvn not found; install Maven" >&2; exit 1; }
  echo "kafka.sh: resolving kafka_2.13:$KAFKA_VERSION from Maven Central into $libs"
  mkdir -p "$libs"
  mvn -q -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

ready() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  install
  if running && ready; then echo "kafka.sh: already running on 127.0.0.1:$port"; return 0; fi
  mkdir -p "$data"
  cat > "$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
PROPS
  cat > "$data/log4j2.properties" <<'PROPS'
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
PROPS
  local java_opts=(-Xms256m -Xmx1g -Dlog4j2.configurationFile="$data/log4j2.properties")
  if [ ! -f "$data/logs/meta.properties" ]; then
    local id
    id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$id" \
      -c "$data/server.properties" >"$data/format.log" 2>&1 \
      || { echo "kafka.sh: formatting storage failed; see $data/format.log" >&2; exit 1; }
  fi
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$data/server.properties" \
    >"$data/kafka.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ready; then echo "kafka.sh: broker up on 127.0.0.1:$port"; return 0; fi
    running || { echo "kafka.sh: broker exited; see $data/kafka.log" >&2; tail -20 "$data/kafka.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "kafka.sh: broker not ready after 60 s; see $data/kafka.log" >&2
  exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    echo "kafka.sh: stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running && ready; then echo "kafka: up on 127.0.0.1:$port"; else echo "kafka: down"; exit 1; fi ;;
  wipe) stop; rm -rf "$data" ;;
  *) echo "usage: scripts/kafka.sh install|start|stop|restart|status|wipe" >&2; exit 2 ;;
esac
