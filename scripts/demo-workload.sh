#!/usr/bin/env bash
# `make demo WORKLOAD=...`: runs one seed workload from examples/WORKLOAD.toml. The
# generator feeds each of its topics (with some invalid events), the host runs the
# pipelines until every event is a row or a dead letter, and the workload's queries print.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
workload="$1"
count="${COUNT:-10000}"
rate="${RATE:-5000}"
db="${DB:-sluice_demo_$workload}"
url="${SLUICE_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
wasm="target/wasm32-wasip2/release"
host="target/release/host"
stamp=$(date +%s)
case "$workload" in
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
"$host" --config "$config" --log-level warn &
host_pid=$!
trap 'kill $host_pid 2>/dev/null || true; rm -f "$config"' EXIT

total=0
for s in $streams; do
  echo "== generating $count $s events (1 in 50 invalid) into topic $s-$stamp at $rate/s"
  "$host" generate --plugin "$wasm/generator.wasm" --plugin-config "{\"kind\":\"$s\",\"invalid_every\":50}" \
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
kill -TERM $host_pid
wait $host_pid
elapsed_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
echo
echo "== $workload: $total events in, $(q "SELECT $sum" ) rows + dead letters ($(q "SELECT count() FROM dead_letters") dead), $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s wall"
for name in $queries; do
  echo
  echo "== $name"
  q "$(cat "sql/queries/$name.sql") FORMAT PrettyCompactMonoBlock"
done
