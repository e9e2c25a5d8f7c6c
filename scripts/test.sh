#!/usr/bin/env bash
# Every test, in one command (`make test`; .ci/run calls that). Expects the services
# up and the plugins built, which `make test` arranges first.
#   1. formatting and clippy (-D warnings)
#   2. cargo tests: unit (host, sdk, plugins natively), runtime (real .wasm files),
#      integration (host/tests against real Kafka and ClickHouse)
#   3. SQL and the Grafana panels on the real ClickHouse server and on a modern
#      ClickHouse (chDB), the alert rules (promtool), and the compose file's shape
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --release -j2 --workspace --all-targets -- -D warnings
echo "== python: sql/ and dashboard panels on both servers, alert rules, docker-compose.yml"
# tests/test_prometheus.py needs a running host's /metrics (SLUICE_METRICS_TARGET);
# it runs separately, once something here starts a host with its HTTP listener.
python3 -m pytest -q tests/ --ignore=tests/test_prometheus.py
echo "== cargo-component (host/tests/plugin_tool.rs builds a new plugin with it)"
bash scripts/component.sh install
echo "== cargo test"
cargo test --release -j2 --workspace
