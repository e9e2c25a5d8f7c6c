#!/usr/bin/env bash
# Runs the ClickHouse server (Debian's package, installed by install-deps.sh) as a
# plain process on localhost, with all its paths in a run directory.
#
#   scripts/clickhouse.sh start|stop|restart|kill|pause|resume|status|wipe
#
# Ports, all on 127.0.0.1:
#   HTTP   $CLICKHOUSE_HTTP_PORT  (default 8123)
#   TCP    $CLICKHOUSE_TCP_PORT   (default 9000, native protocol)
#   HTTPS  $CLICKHOUSE_HTTPS_PORT (default 8443, or CLICKHOUSE_HTTP_PORT+320 when that
#          is set, so private servers never share it; off with CLICKHOUSE_SECURE=0),
#          serving server.pem from scripts/tls.sh, signed by $SLUICE_RUN/tls/ca.pem
# Users: default (no password) and sluice / sluice-secret, both from 127.0.0.1 only.
# Try: curl --cacert /tmp/sluice-run/tls/ca.pem -u sluice:sluice-secret \
#        'https://localhost:8443/?query=SELECT+1'
#
# Env: SLUICE_RUN (data, logs and certificates, default /tmp/sluice-run) and the
# CLICKHOUSE_HTTP_PORT, CLICKHOUSE_TCP_PORT, CLICKHOUSE_HTTPS_PORT and
# CLICKHOUSE_SECURE above.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run="${SLUICE_RUN:-/tmp/sluice-run}"
http_port="${CLICKHOUSE_HTTP_PORT:-8123}"
tcp_port="${CLICKHOUSE_TCP_PORT:-9000}"
secure="${CLICKHOUSE_SECURE:-1}"
# 8443 is 8123+320; a private HTTP port gets its HTTPS port the same way (or 320
# below it, near the top of the range).
if [ -n "${CLICKHOUSE_HTTP_PORT:-}" ]; then
  if [ $((http_port + 320)) -le 65535 ]; then https_default=$((http_port + 320)); else https_default=$((http_port - 320)); fi
else
  https_default=8443
fi
https_port="${CLICKHOUSE_HTTPS_PORT:-$https_default}"
tls="$run/tls"
data="$run/clickhouse"
pidfile="$data/clickhouse.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
ready() { curl -fsS "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; }
secure_on() { [ "$secure" != 0 ]; }
ready_https() { curl -fsS --cacert "$tls/ca.pem" "https://127.0.0.1:$https_port/ping" >/dev/null 2>&1; }
ready_all() { ready && { ! secure_on || ready_https; }; }

# The HTTPS port and its certificate, or nothing when CLICKHOUSE_SECURE=0. Client
# certificates are not asked for (verificationMode none).
https_config() {
  secure_on || return 0
  cat <<XML
  <https_port>$https_port</https_port>
  <openSSL>
    <server>
      <certificateFile>$tls/server.pem</certificateFile>
      <privateKeyFile>$tls/server.key</privateKeyFile>
      <verificationMode>none</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
    </server>
  </openSSL>
XML
}

start() {
  command -v clickhouse-server >/dev/null \
    || { echo "clickhouse.sh: clickhouse-server not found; run scripts/install-deps.sh" >&2; exit 1; }
  if running && ready; then
    echo "clickhouse.sh: already running on 127.0.0.1:$http_port"
    ready_all || echo "clickhouse.sh: its HTTPS port $https_port is not up; it was started by" \
      "an older clickhouse.sh or with CLICKHOUSE_SECURE=0: run scripts/clickhouse.sh restart" >&2
    return 0
  fi
  if secure_on; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$https_port") 2>/dev/null; then
      echo "clickhouse.sh: HTTPS port $https_port is in use; set CLICKHOUSE_HTTPS_PORT or CLICKHOUSE_SECURE=0" >&2
      exit 1
    fi
    SLUICE_RUN="$run" "$here/tls.sh" >/dev/null
  fi
  mkdir -p "$data/data" "$data/tmp" "$data/user_files" "$data/format_schemas"
  cat > "$data/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$data/server.log</log>
    <errorlog>$data/server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
$(https_config)
  <listen_host>127.0.0.1</listen_host>
  <max_connections>512</max_connections>
  <keep_alive_timeout>30</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$data/data/</path>
  <tmp_path>$data/tmp/</tmp_path>
  <user_files_path>$data/user_files/</user_files_path>
  <format_schema_path>$data/format_schemas/</format_schema_path>
  <users_config>$data/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
  cat > "$data/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <!-- For tests of logins and wrong passwords. -->
    <sluice>
      <password>sluice-secret</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </sluice>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
  nohup clickhouse-server --config-file="$data/config.xml" >"$data/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ready_all; then
      echo "clickhouse.sh: server up on 127.0.0.1:$http_port"
      if secure_on; then
        echo "clickhouse.sh: HTTPS on 127.0.0.1:$https_port (CA $tls/ca.pem); user sluice / sluice-secret"
      fi
      return 0
    fi
    running || { echo "clickhouse.sh: server exited; see $data/server.err.log" >&2; tail -20 "$data/server.err.log" >&2 || true; exit 1; }
    sleep 0.25
  done
  echo "clickhouse.sh: server not ready after 30 s; see $data/server.err.log" >&2
  exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$pidfile")
    kill -CONT "$pid" 2>/dev/null || true  # a paused server cannot act on SIGTERM
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    echo "clickhouse.sh: stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  kill) if running; then kill -9 "$(cat "$pidfile")"; fi; rm -f "$pidfile" ;;
  # Freeze and thaw the server (SIGSTOP/SIGCONT): a stalled ClickHouse that holds its
  # connections open, as a long GC or a saturated disk does, for the chaos suite.
  pause) if running; then kill -STOP "$(cat "$pidfile")"; fi ;;
  resume) if [ -f "$pidfile" ]; then kill -CONT "$(cat "$pidfile")" 2>/dev/null || true; fi ;;
  status) if running && ready; then echo "clickhouse: up on 127.0.0.1:$http_port"; else echo "clickhouse: down"; exit 1; fi ;;
  wipe) stop; rm -rf "$data" ;;
  *) echo "usage: scripts/clickhouse.sh start|stop|restart|kill|pause|resume|status|wipe" >&2; exit 2 ;;
esac
