#!/usr/bin/env bash
# The main job, end to end: generate tweets into Kafka while the host scores them with
# the sentiment plugin into ClickHouse, wait until every tweet is in, print the answers.
# Expects `make deps build plugins services` to have run (`make demo` does that).
#
# Env: COUNT (default 10000), RATE (records/s, default 5000), DB (default sluice_demo),
#      WORKLOAD (tweets | clickstream | clickstream_agg | platform; default tweets):
#      each other workload runs examples/WORKLOAD.toml and prints its queries.
set -euo pipefail
workload="${WORKLOAD:-tweets}"
if [ "$workload" != tweets ]; then exec bash "$(dirname "${BASH_SOURCE[0]}")/demo-workload.sh" "$workload"; fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
count="${COUNT:-10000}"
rate="${RATE:-5000}"
db="${DB:-sluice_demo}"
url="${SLUICE_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
wasm="target/wasm32-wasip2/release"
host="target/release/host"
topic="tweets-demo-$(date +%s)"
started_ns=$(date +%s%N)

q() { curl -fsS "$url/?database=$db" --data-binary "$1"; }

curl -fsS "$url/" --data-binary "DROP DATABASE IF EXISTS \`$db\`" >/dev/null
bash scripts/schema.sh "$db" >/dev/null

export SLUICE_CLICKHOUSE_DATABASE="$db"
"$host" --plugin "$wasm/sentiment.wasm" --topic "$topic" --table tweet_sentiment \
  --group "sluice-demo-$topic" --log-level warn &
host_pid=$!
trap 'kill $host_pid 2>/dev/null || true' EXIT

echo "== generating $count tweets into Kafka topic $topic at $rate/s"
"$host" generate --plugin "$wasm/generator.wasm" --plugin-config '{"kind":"tweets"}' \
  --topic "$topic" --partitions 3 --count "$count" --rate "$rate"

echo "== waiting for the host to write all $count tweets to ClickHouse"
for _ in $(seq 1 600); do
  have=$(q "SELECT (SELECT count() FROM tweet_sentiment) + (SELECT count() FROM dead_letters)")
  [ "$have" -ge "$count" ] && break
  kill -0 $host_pid 2>/dev/null || { echo "demo: the host exited early" >&2; exit 1; }
  sleep 0.2
done
kill -TERM $host_pid
wait $host_pid
trap - EXIT
elapsed_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))

rows=$(q "SELECT count() FROM tweet_sentiment")
dead=$(q "SELECT count() FROM dead_letters")
distinct=$(q "SELECT uniqExact(_partition, _offset) FROM tweet_sentiment")
echo
echo "== $count tweets in, $rows rows ($distinct distinct offsets), $dead dead letters, $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s wall"
for name in sentiment_distribution tweets_per_minute top_keywords; do
  echo
  echo "== $name"
  q "$(cat "sql/queries/$name.sql") FORMAT PrettyCompactMonoBlock"
done
