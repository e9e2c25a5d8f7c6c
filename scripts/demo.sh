#!/usr/bin/env bash
# The main job, end to end (`make demo`): runs one seed workload from
# examples/WORKLOAD.toml. The generator feeds each of its topics while the host runs the
# pipelines, until every event is a row or a dead letter; then the workload's answers print.
# Expects `make deps build plugins services` to have run (`make demo` does that).
#
# Env: WORKLOAD (tweets | clickstream | clickstream_agg | platform; default tweets),
#      COUNT (events per stream, default 10000), RATE (records/s, default 5000),
#      DB (default sluice_demo_WORKLOAD), HTTP_PORT (the status page's port, default
#      8090, or a free one if that is taken), HOLD=1 (keep the host and its page up
#      after the answers, until Ctrl-C). Workloads other than tweets mix in 1 invalid
#      event in 50, to show the dead-letter path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
workload="${WORKLOAD:-tweets}"
count="${COUNT:-10000}"
rate="${RATE:-5000}"
db="${DB:-sluice_demo_$workload}"
url="${SLUICE_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
wasm="target/wasm32-wasip2/release"
host="target/release/host"
stamp=$(date +%s)
invalid=50
case "$workload" in
  tweets)          streams="tweets"; tables="tweet_sentiment"; invalid=0
                   queries="sentiment_distribution tweets_per_minute top_keywords" ;;
  clickstream)     streams="clickstream"; tables="clickstream_events"
                   queries="clickstream_events_per_second clickstream_count_by_type clickstream_revenue_last_5_minutes" ;;
  clickstream_agg) streams="clickstream"; tables="clickstream_events"
                   queries="clickstream_hits_per_minute clickstream_hits_per_minute_bruteforce" ;;
  platform)        streams="ecommerce iot saas"; tables="ecommerce_events iot_readings saas_events"
                   queries="platform_reconciliation platform_revenue_per_hour platform_iot_per_minute" ;;
  *) echo "demo: unknown WORKLOAD $workload; use tweets, clickstream, clickstream_agg or platform" >&2; exit 2 ;;
esac
q() { curl -fsS "$url/?database=$db" --data-binary "$1"; }
started_ns=$(date +%s%N)
curl -fsS "$url/" --data-binary "DROP DATABASE IF EXISTS \`$db\`" >/dev/null
bash scripts/schema.sh "$db" >/dev/null

# A copy of the example with this run's topic names, so reruns start clean.
config=$(mktemp --suffix=.toml)
sed "s#\.\./target/#$here/target/#g" "examples/$workload.toml" > "$config"
for s in $streams; do sed -i "s#topics = \[\"$s\"\]#topics = [\"$s-$stamp\"]#" "$config"; done

# Create the topics first, so the host finds them at once.
for s in $streams; do
  "$host" generate --plugin "$wasm/generator.wasm" --topic "$s-$stamp" --partitions 3 --count 0 --quiet 2>/dev/null
done
export SLUICE_CLICKHOUSE_DATABASE="$db"
port="${HTTP_PORT:-8090}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
fi
"$host" --config "$config" --log-level warn --http "127.0.0.1:$port" &
host_pid=$!
echo "== status page: http://127.0.0.1:$port/ (pipelines, throughput, dead letters; Answers for the queries)"
trap 'kill $host_pid 2>/dev/null || true; rm -f "$config"' EXIT

total=0
for s in $streams; do
  if [ "$invalid" -gt 0 ]; then
    echo "== generating $count $s records (1 in $invalid invalid) into topic $s-$stamp at $rate/s"
    gen_config="{\"kind\":\"$s\",\"invalid_every\":$invalid}"
  else
    echo "== generating $count $s records into topic $s-$stamp at $rate/s"
    gen_config="{\"kind\":\"$s\"}"
  fi
  "$host" generate --plugin "$wasm/generator.wasm" --plugin-config "$gen_config" \
    --topic "$s-$stamp" --partitions 3 --count "$count" --rate "$rate"
  total=$((total + count))
done
sum="(SELECT count() FROM dead_letters)"
for t in $tables; do sum="$sum + (SELECT count() FROM $t)"; done
echo "== waiting for the host to write all $total events"
for _ in $(seq 1 900); do
  have=$(q "SELECT $sum")
  [ "$have" -ge "$total" ] && break
  kill -0 $host_pid 2>/dev/null || { echo "demo: the host exited early" >&2; exit 1; }
  sleep 0.2
done
sleep 1
if [ "${HOLD:-0}" = 1 ]; then
  echo "== all events written; the page stays up at http://127.0.0.1:$port/ until Ctrl-C"
  wait $host_pid || true
else
  kill -TERM $host_pid
  wait $host_pid
fi
elapsed_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
echo
echo "== $workload: $total events in, $(q "SELECT count() FROM dead_letters") dead letters, $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s wall"
for t in $tables; do
  echo "   $t: $(q "SELECT count() FROM $t") rows, $(q "SELECT uniqExact(_topic, _partition, _offset) FROM $t") distinct source offsets"
done
for name in $queries; do
  echo
  echo "== $name"
  q "$(cat "sql/queries/$name.sql") FORMAT PrettyCompactMonoBlock"
done
