#!/usr/bin/env bash
# Installs what the browser test needs: Debian's chromium (apt) and playwright-core
# (npm, pinned) into a cached prefix. Idempotent: a second run does nothing.
#
#   scripts/browser.sh install     install chromium and playwright-core if missing
#   scripts/browser.sh prefix      print the node prefix (the test loads playwright-core from it)
#   scripts/browser.sh test        run tests/browser/page.test.mjs against SLUICE_PAGE_URL
#                                  (the host's HTTP listener; SLUICE_EXPECT_* as the test says)
#   scripts/browser.sh test-fake   the same against tests/browser/fake_api.py, with the
#                                  fake's pipelines expected (no Kafka, ClickHouse or host)
#   scripts/browser.sh test-live   the same against a real host fed by the generator
#                                  (scripts/live.sh starts it; needs the services up)
#
# Env: SLUICE_NODE_PREFIX (default ~/.cache/sluice/node).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
playwright_version="1.65.1"
prefix="${SLUICE_NODE_PREFIX:-$HOME/.cache/sluice/node}"

install() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "browser.sh: apt-get install chromium"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  command -v node >/dev/null 2>&1 || { echo "browser.sh: node not found; install Node 20 or later" >&2; exit 1; }
  have="$(node -p "require('$prefix/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
  if [ "$have" != "$playwright_version" ]; then
    echo "browser.sh: npm install playwright-core@$playwright_version into $prefix"
    mkdir -p "$prefix"
    [ -f "$prefix/package.json" ] || echo '{"name":"sluice-browser-test","private":true}' >"$prefix/package.json"
    # playwright-core downloads no browser of its own; we drive Debian's chromium.
    npm install --prefix "$prefix" --no-audit --no-fund --silent "playwright-core@$playwright_version"
  fi
  echo "browser.sh: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $playwright_version in $prefix"
}

case "${1:-}" in
  install) install ;;
  prefix) echo "$prefix" ;;
  test)
    install >/dev/null
    : "${SLUICE_PAGE_URL:?set SLUICE_PAGE_URL to the page, e.g. http://127.0.0.1:8089/ (or run tests/browser/run-fake.sh)}"
    SLUICE_NODE_PREFIX="$prefix" node --test "$here/tests/browser/page.test.mjs"
    ;;
  test-fake)
    install >/dev/null
    tmp="$(mktemp -d)"
    python3 "$here/tests/browser/fake_api.py" --port 0 --port-file "$tmp/port" >"$tmp/log" 2>&1 &
    fake=$!
    trap 'kill "$fake" 2>/dev/null || true; rm -rf "$tmp"' EXIT
    for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
    [ -s "$tmp/port" ] || { echo "browser.sh: fake_api.py did not start:" >&2; cat "$tmp/log" >&2; exit 1; }
    SLUICE_PAGE_URL="http://127.0.0.1:$(cat "$tmp/port")/" \
    SLUICE_EXPECT_PIPELINES="${SLUICE_EXPECT_PIPELINES-tweets,clickstream,iot}" \
    SLUICE_EXPECT_RISING="${SLUICE_EXPECT_RISING-tweets}" \
    SLUICE_EXPECT_QUARANTINED="${SLUICE_EXPECT_QUARANTINED-clickstream}" \
    SLUICE_EXPECT_FAILED="${SLUICE_EXPECT_FAILED-iot}" \
    SLUICE_EXPECT_SWAP="${SLUICE_EXPECT_SWAP-tweets}" \
    SLUICE_EXPECT_ANSWERS="${SLUICE_EXPECT_ANSWERS-sentiment_distribution,tweets_per_minute,top_keywords}" \
      node --test "$here/tests/browser/page.test.mjs"
    ;;
  test-live)
    install >/dev/null
    bash "$here/scripts/live.sh" env SLUICE_NODE_PREFIX="$prefix" node --test "$here/tests/browser/page.test.mjs"
    ;;
  *) echo "usage: scripts/browser.sh install|prefix|test|test-fake|test-live" >&2; exit 2 ;;
esac
