#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test Sluice: Debian packages
# (ClickHouse server, librdkafka build deps, kcat, Prometheus for promtool), the
# wasm32-wasip2 target and the Python packages the SQL checks and the sentiment
# oracle (tests/test_vader.py) use. Idempotent: a second run does nothing.
set -euo pipefail

need_apt=()
command -v clickhouse-server >/dev/null 2>&1 || need_apt+=(clickhouse-server clickhouse-client)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)   # promtool checks the alert rules
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)
dpkg -s libsasl2-dev >/dev/null 2>&1 || need_apt+=(libsasl2-dev)
dpkg -s libzstd-dev >/dev/null 2>&1 || need_apt+=(libzstd-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "install-deps: rustup target add wasm32-wasip2"
  rustup target add wasm32-wasip2
fi

if ! python3 -c 'import chdb, yaml, importlib.metadata as m; assert m.version("vaderSentiment") == "3.3.2"' >/dev/null 2>&1; then
  echo "install-deps: pip install chdb pyyaml vaderSentiment==3.3.2"
  python3 -m pip install -q chdb pyyaml vaderSentiment==3.3.2
fi
