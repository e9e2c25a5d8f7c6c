#!/usr/bin/env bash
# Every test, in one command (`make test`; .ci/run calls that). Expects the services
# up and the plugins built, which `make test` arranges first.
#   1. formatting and clippy (-D warnings)
#   2. cargo tests: unit (host, sdk, plugins natively), runtime (real .wasm files),
#      integration (host/tests against real Kafka and ClickHouse)
#   3. SQL and the Grafana panels on the real ClickHouse server and on a modern
#      ClickHouse (chDB), the alert rules (promtool), and the compose file's shape
#   4. a live host fed by the generator (scripts/live.sh): a real Prometheus scrapes
#      it (tests/test_prometheus.py) and Chromium reads its status page (tests/browser)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --release -j2 --workspace --all-targets -- -D warnings
echo "== python: sql/ and dashboard panels on both servers, alert rules, docker-compose.yml"
# tests/test_prometheus.py needs a running host's /metrics; it runs in step 4.
python3 -m pytest -q tests/ --ignore=tests/test_prometheus.py
echo "== cargo-component (host/tests/plugin_tool.rs builds a new plugin with it)"
bash scripts/component.sh install
echo "== cargo test"
cargo test --release -j2 --workspace
echo "== live host: Prometheus scrapes it, Chromium reads its page"
bash scripts/prometheus.sh install
bash scripts/browser.sh install
# The screenshot of a test run goes to target/; `scripts/browser.sh test-live`
# refreshes docs/page.png on purpose.
SLUICE_SCREENSHOT="${SLUICE_SCREENSHOT:-${CARGO_TARGET_DIR:-target}/page.png}" \
  bash scripts/live.sh sh -c 'python3 -m pytest -q tests/test_prometheus.py && bash scripts/browser.sh test'
