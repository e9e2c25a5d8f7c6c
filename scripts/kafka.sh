#!/usr/bin/env bash
# Installs (from Maven Central, cached) and runs a single-node Apache Kafka broker
# in KRaft mode as a plain process on localhost. No Docker, no ZooKeeper.
#
#   scripts/kafka.sh install|start|stop|restart|status|wipe
#
# Listeners, all on 127.0.0.1 (secure ones off with KAFKA_SECURE=0):
#   PLAINTEXT   $KAFKA_PORT          (default 9092) no auth, as always
#   SASL_SSL    $KAFKA_SASL_SSL_PORT (default KAFKA_PORT+2, so 9094) TLS with the
#               test CA, SASL mechanisms $KAFKA_SASL_MECHANISMS (default
#               SCRAM-SHA-512,PLAIN; SCRAM-SHA-256 is left off so a client using it
#               shows the "wrong mechanism" failure)
#   SSL         $KAFKA_SSL_PORT      (default KAFKA_PORT+3, so 9095) mTLS: a client
#               certificate signed by the test CA is required
#   WRONGNAME   $KAFKA_SSL_WRONG_NAME_PORT (default KAFKA_PORT+4, so 9096) SSL with a
#               certificate for wrong.example (trusted CA), for hostname-check tests
#   CONTROLLER  KAFKA_PORT+10001 (KRaft, internal)
# Deriving every port from KAFKA_PORT keeps private brokers (chaos tests) apart.
#
# User: sluice / sluice-secret, for SCRAM-SHA-512 and SCRAM-SHA-256 (created with
# `kafka-storage format --add-scram`; a storage dir formatted before that gets them
# through kafka-configs once the broker is up) and for PLAIN (broker JAAS config).
# Certificates come from scripts/tls.sh, in $SLUICE_RUN/tls: ca.pem to trust,
# client.pem + client.key for mTLS. Try (Debian's kcat has librdkafka 2.0.2, whose
# SCRAM Kafka 4 rejects, so PLAIN here; librdkafka >= 2.6.1 does SCRAM fine):
#   kcat -b 127.0.0.1:9094 -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN \
#     -X sasl.username=sluice -X sasl.password=sluice-secret \
#     -X ssl.ca.location=/tmp/sluice-run/tls/ca.pem -L
# docs/security-local.md has the rest, with the failure texts.
#
# Env: SLUICE_CACHE (jar cache, default ~/.cache/sluice), SLUICE_RUN (data, logs and
# certificates, default /tmp/sluice-run), KAFKA_PORT (default 9092), and the
# KAFKA_SECURE, KAFKA_SASL_SSL_PORT, KAFKA_SSL_PORT, KAFKA_SSL_WRONG_NAME_PORT and
# KAFKA_SASL_MECHANISMS above.
set -euo pipefail

KAFKA_VERSION=4.1.1   # the one place the broker version lives; also read by pom.xml
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
run="${SLUICE_RUN:-/tmp/sluice-run}"
port="${KAFKA_PORT:-9092}"
ctl_port=$((port + 10001))
# derive BASE OFFSET: BASE+OFFSET, or BASE-OFFSET if that would pass 65535.
derive() { if [ $(($1 + $2)) -le 65535 ]; then echo $(($1 + $2)); else echo $(($1 - $2)); fi; }
secure="${KAFKA_SECURE:-1}"
sasl_port="${KAFKA_SASL_SSL_PORT:-$(derive "$port" 2)}"
ssl_port="${KAFKA_SSL_PORT:-$(derive "$port" 3)}"
wrong_port="${KAFKA_SSL_WRONG_NAME_PORT:-$(derive "$port" 4)}"
mechanisms="${KAFKA_SASL_MECHANISMS:-SCRAM-SHA-512,PLAIN}"
user=sluice
password=sluice-secret
tls="$run/tls"
libs="$cache/kafka-$KAFKA_VERSION/libs"
data="$run/kafka"
pidfile="$data/kafka.pid"
# Written when the SCRAM users exist; a storage dir without it predates them.
scram_marker="$data/scram-users"

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

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ready() { listening "$port"; }
secure_on() { [ "$secure" != 0 ]; }
secure_ports() { secure_on && echo "$sasl_port $ssl_port $wrong_port" || true; }
ready_all() { local p; for p in $port $(secure_ports); do listening "$p" || return 1; done; }

# The listener lines of server.properties: PLAINTEXT alone, or with the secure three.
listener_props() {
  if ! secure_on; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
PROPS
    return
  fi
  local jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$user=\"$password\";"
  local jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl_port,SASL_SSL://127.0.0.1:$sasl_port,SSL://127.0.0.1:$ssl_port,WRONGNAME://127.0.0.1:$wrong_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sasl_port,SSL://127.0.0.1:$ssl_port,WRONGNAME://127.0.0.1:$wrong_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,WRONGNAME:SSL
# SASL_SSL: server certificate from scripts/tls.sh, SCRAM users in the metadata log,
# PLAIN users in the JAAS line. Listener-prefixed, so no JAAS file is needed.
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$tls/server.keystore.pem
listener.name.sasl_ssl.sasl.enabled.mechanisms=$mechanisms
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$jaas_scram
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$jaas_scram
listener.name.sasl_ssl.plain.sasl.jaas.config=$jaas_plain
# SSL: mTLS, client certificates signed by the test CA required.
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$tls/server.keystore.pem
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$tls/ca.pem
listener.name.ssl.ssl.client.auth=required
# WRONGNAME: a trusted certificate for wrong.example, so hostname checks fail.
listener.name.wrongname.ssl.keystore.type=PEM
listener.name.wrongname.ssl.keystore.location=$tls/wrong-name.keystore.pem
PROPS
}

# Refuses to start when a secure port is taken, naming it, rather than letting
# the broker die on a bind error.
check_ports() {
  local p name
  for name in SASL_SSL:$sasl_port SSL:$ssl_port WRONGNAME:$wrong_port; do
    p=${name#*:}
    if listening "$p"; then
      echo "kafka.sh: port $p for the ${name%%:*} listener is in use; set its KAFKA_*_PORT or KAFKA_SECURE=0" >&2
      exit 1
    fi
  done
}

# Storage formatted before the SCRAM users existed: add them through the running
# broker, once. One mechanism per call: the broker refuses to alter one user's
# credentials twice in a request. A failure is retried on the next start.
ensure_scram_users() {
  [ -f "$scram_marker" ] && return 0
  local mech
  for mech in SCRAM-SHA-512 SCRAM-SHA-256; do
    java -Xmx256m -Dlog4j2.configurationFile="$data/log4j2.properties" -cp "$libs/*" \
      kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$port" --alter \
      --entity-type users --entity-name "$user" --add-config "$mech=[password=$password]" \
      >>"$data/scram.log" 2>&1 \
      || { echo "kafka.sh: adding $mech user $user failed; see $data/scram.log" >&2; return 0; }
  done
  echo "$user" >"$scram_marker"
  echo "kafka.sh: added SCRAM user $user to storage formatted without it"
}

start() {
  install
  if running && ready; then
    echo "kafka.sh: already running on 127.0.0.1:$port"
    if ! ready_all; then
      echo "kafka.sh: its secure listeners ($(secure_ports)) are not up; it was started" \
        "by an older kafka.sh or with KAFKA_SECURE=0: run scripts/kafka.sh restart" >&2
    elif secure_on; then
      ensure_scram_users
    fi
    return 0
  fi
  if secure_on; then
    check_ports
    SLUICE_RUN="$run" "$here/tls.sh" >/dev/null
  fi
  mkdir -p "$data"
  {
    cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl_port
PROPS
    listener_props
    cat <<PROPS
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
  } > "$data/server.properties"
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
      -c "$data/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=$user,password=$password]" \
      --add-scram "SCRAM-SHA-256=[name=$user,password=$password]" \
      >"$data/format.log" 2>&1 \
      || { echo "kafka.sh: formatting storage failed; see $data/format.log" >&2; exit 1; }
    echo "$user" >"$scram_marker"
  fi
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$data/server.properties" \
    >"$data/kafka.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ready_all; then
      echo "kafka.sh: broker up on 127.0.0.1:$port"
      if secure_on; then
        ensure_scram_users
        echo "kafka.sh: SASL_SSL ($mechanisms, user $user) on 127.0.0.1:$sasl_port," \
          "SSL with client certificates on 127.0.0.1:$ssl_port," \
          "SSL as wrong.example on 127.0.0.1:$wrong_port; CA $tls/ca.pem"
      fi
      return 0
    fi
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
