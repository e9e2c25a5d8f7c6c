#!/usr/bin/env bash
# A real host, fed by the generator, in every state the status page and the
# dashboards show, for the tests that need one (the browser test, the live
# Prometheus test): then runs a command against it and stops everything.
#
#   scripts/live.sh CMD [ARGS...]
#
# The host runs three pipelines in a fresh database:
#   tweets  the sentiment plugin on a topic the generator feeds (100 tweets/s),
#           swapped once to a copy of itself (another content hash) through the
#           admin API, so its history shows a swap;
#   bad     the hostile plugin on 50 `panic` records: dead letters, traps, then
#           quarantine with its reason;
#   broken  a table that does not exist: failed at start, with its reason.
# CMD runs once the page has something to show (the tweets chart has points, bad
# is quarantined, broken failed), with SLUICE_PAGE_URL, SLUICE_METRICS_TARGET and
# the SLUICE_EXPECT_* variables tests/browser/page.test.mjs reads.
#
# Needs: the services (scripts/services.sh up), the host and the plugins built
# (make build plugins), kcat. Env: SLUICE_HOST_BIN (default
# $CARGO_TARGET_DIR/release/host), SLUICE_CLICKHOUSE_URL, SLUICE_BROKERS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
[ $# -gt 0 ] || { echo "usage: scripts/live.sh CMD [ARGS...]" >&2; exit 2; }
target="${CARGO_TARGET_DIR:-$here/target}"
host="${SLUICE_HOST_BIN:-$target/release/host}"
wasm="$target/wasm32-wasip2/release"
ch="${SLUICE_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
brokers="${SLUICE_BROKERS:-127.0.0.1:9092}"
[ -x "$host" ] || { echo "live.sh: $host not found; run make build" >&2; exit 1; }
for p in sentiment hostile generator; do
  [ -f "$wasm/$p.wasm" ] || { echo "live.sh: $wasm/$p.wasm not found; run make plugins" >&2; exit 1; }
done
command -v kcat >/dev/null || { echo "live.sh: kcat not found; run scripts/install-deps.sh" >&2; exit 1; }
curl -fsS "$ch/ping" >/dev/null 2>&1 \
  || { echo "live.sh: ClickHouse does not answer at $ch; start it with scripts/services.sh up" >&2; exit 1; }
kcat -b "$brokers" -L -m 5 >/dev/null 2>&1 \
  || { echo "live.sh: Kafka does not answer at $brokers; start it with scripts/services.sh up" >&2; exit 1; }

stamp="$(date +%s)-$$"
db="sluice_live_${stamp//-/_}"
run="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
host_pid=""; gen_pid=""
cleanup() {
  [ -n "$gen_pid" ] && kill "$gen_pid" 2>/dev/null || true
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  curl -fsS "$ch/" --data-binary "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1 || true
  rm -rf "$run"
}
trap cleanup EXIT

bash scripts/schema.sh "$db" >/dev/null
export SLUICE_BROKERS="$brokers" SLUICE_CLICKHOUSE_URL="$ch"
"$host" generate --plugin "$wasm/generator.wasm" --topic "tweets-$stamp" --partitions 3 --count 0 --quiet 2>/dev/null
"$host" generate --plugin "$wasm/generator.wasm" --topic "bad-$stamp" --partitions 1 --count 0 --quiet 2>/dev/null
cat >"$run/sluice.toml" <<TOML
[[pipeline]]
name = "tweets"
group = "live-tweets-$stamp"
topics = ["tweets-$stamp"]
table = "tweet_sentiment"
batch = { max_rows = 200, max_wait_ms = 200 }
[[pipeline.plugins]]
path = "$wasm/sentiment.wasm"

[[pipeline]]
name = "bad"
group = "live-bad-$stamp"
topics = ["bad-$stamp"]
table = "tweet_sentiment"
batch = { max_rows = 10, max_wait_ms = 50 }
lifecycle = { quarantine_after = 3 }
[[pipeline.plugins]]
path = "$wasm/hostile.wasm"

[[pipeline]]
name = "broken"
group = "live-broken-$stamp"
topics = ["tweets-$stamp"]
table = "no_such_table"
TOML
SLUICE_CLICKHOUSE_DATABASE="$db" "$host" --config "$run/sluice.toml" --http "127.0.0.1:$port" --admin "127.0.0.1:$port" \
  --log-level warn 2>"$run/host.log" &
host_pid=$!
"$host" generate --plugin "$wasm/generator.wasm" --plugin-config '{"kind":"tweets"}' \
  --topic "tweets-$stamp" --partitions 3 --count 10000000 --rate 100 --quiet 2>"$run/gen.log" &
gen_pid=$!
for _ in $(seq 1 50); do printf 'panic\n'; done | kcat -P -b "$brokers" -t "bad-$stamp"

api() { curl -fsS --max-time 5 "$url/api/pipelines" 2>/dev/null; }
# Waits until a Python expression over the API's JSON `d` holds.
wait_api() {
  local what="$1" expr="$2"
  for _ in $(seq 1 240); do
    if api | python3 -c "import json,sys; d=json.load(sys.stdin); p={x['name']: x for x in d['pipelines']}; sys.exit(0 if ($expr) else 1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$host_pid" 2>/dev/null || { echo "live.sh: the host exited:" >&2; tail -20 "$run/host.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "live.sh: timed out waiting for $what; the API says:" >&2; api >&2 || true; tail -20 "$run/host.log" >&2
  exit 1
}
wait_api "tweets to consume" "p['tweets']['totals']['consumed'] > 0"
# A swap to a copy of sentiment with a custom section appended: same code, new hash.
mkdir -p "$run/v2"
cp "$wasm/sentiment.wasm" "$run/v2/sentiment.wasm"
printf '\x00\x0a\x09sluice-v2' >>"$run/v2/sentiment.wasm"
"$host" plugin swap --admin "$url" --pipeline tweets --plugin "$run/v2/sentiment.wasm" >/dev/null
wait_api "bad quarantined, broken failed, tweets swapped with a chart" \
  "p['bad']['state'] == 'quarantined' and p['broken']['state'] == 'failed' and p['tweets']['generation'] == 2 and len(p['tweets']['history']) >= 4"
echo "live.sh: host on $url (database $db); running: $*"

SLUICE_PAGE_URL="$url/" SLUICE_METRICS_TARGET="127.0.0.1:$port" \
SLUICE_EXPECT_PIPELINES="tweets,bad,broken" SLUICE_EXPECT_RISING="tweets" \
SLUICE_EXPECT_QUARANTINED="bad" SLUICE_EXPECT_FAILED="broken" SLUICE_EXPECT_SWAP="tweets" \
SLUICE_EXPECT_ANSWERS="sentiment_distribution,tweets_per_minute,top_keywords" \
  "$@"
