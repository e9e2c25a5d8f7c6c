#!/usr/bin/env bash
# Runs a real Prometheus (Debian's package, 2.42) as a plain process on localhost,
# scraping one Sluice host and evaluating deploy/prometheus/alerts.yml, with its
# config and data in a run directory.
#
#   scripts/prometheus.sh install|start|stop|restart|status|wipe
#
# Env: SLUICE_METRICS_TARGET (host:port of the host's HTTP listener; required by
# start), SLUICE_PROMETHEUS_PORT (default 9099), SLUICE_SCRAPE_INTERVAL (default 5s),
# SLUICE_RUN (default /tmp/sluice-run; data in $SLUICE_RUN/prometheus).
# `start` on a running server with another target rewrites the config and reloads it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="${SLUICE_RUN:-/tmp/sluice-run}"
port="${SLUICE_PROMETHEUS_PORT:-9099}"
interval="${SLUICE_SCRAPE_INTERVAL:-5s}"
data="$run/prometheus"
pidfile="$data/prometheus.pid"
url="http://127.0.0.1:$port"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
ready() { curl -fsS "$url/-/ready" >/dev/null 2>&1; }

install() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    echo "prometheus.sh: apt-get install prometheus"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # The package's own service is not started here (no init system); we run our own.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
  echo "prometheus.sh: $(prometheus --version 2>&1 | head -1)"
}

write_config() {
  local target="$1"
  mkdir -p "$data/tsdb"
  cat >"$data/prometheus.yml.new" <<YML
# Written by scripts/prometheus.sh; edits are overwritten.
global:
  scrape_interval: $interval
  evaluation_interval: $interval
rule_files:
  - $here/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ["$target"]
YML
  mv "$data/prometheus.yml.new" "$data/prometheus.yml"
}

start() {
  command -v prometheus >/dev/null 2>&1 \
    || { echo "prometheus.sh: prometheus not found; run scripts/prometheus.sh install" >&2; exit 1; }
  local target="${SLUICE_METRICS_TARGET:-}"
  [ -n "$target" ] || { echo "prometheus.sh: set SLUICE_METRICS_TARGET to the host's HTTP listener (host:port)" >&2; exit 2; }
  write_config "$target"
  if running && ready; then
    curl -fsS -X POST "$url/-/reload" >/dev/null
    echo "prometheus.sh: reloaded on 127.0.0.1:$port, scraping $target every $interval"
    return 0
  fi
  nohup prometheus --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/tsdb" \
    --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
    >"$data/prometheus.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ready; then echo "prometheus.sh: up on 127.0.0.1:$port, scraping $target every $interval"; return 0; fi
    running || { echo "prometheus.sh: prometheus exited; see $data/prometheus.log" >&2; tail -20 "$data/prometheus.log" >&2 || true; exit 1; }
    sleep 0.25
  done
  echo "prometheus.sh: not ready after 30 s; see $data/prometheus.log" >&2
  exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    echo "prometheus.sh: stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running && ready; then echo "prometheus: up on 127.0.0.1:$port"; else echo "prometheus: down"; exit 1; fi ;;
  wipe) stop; rm -rf "$data" ;;
  *) echo "usage: scripts/prometheus.sh install|start|stop|restart|status|wipe" >&2; exit 2 ;;
esac
