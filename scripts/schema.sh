#!/usr/bin/env bash
# Applies every numbered DDL file in sql/ (one statement per file) to a ClickHouse
# database over HTTP, creating the database first. Idempotent.
#
# On a server from 22.2 on it then applies sql/modern/: LowCardinality columns,
# codecs, and the non-replicated deduplication window that the host's
# insert_deduplication_token needs. The 18.16 server here gets the plain DDL.
# Host tables made by an older version get the `_topic_id` column.
#
#   scripts/schema.sh [DATABASE]     (default: $SLUICE_CLICKHOUSE_DATABASE or "default")
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
url="${SLUICE_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
db="${1:-${SLUICE_CLICKHOUSE_DATABASE:-default}}"
curl -fsS "$url/" --data-binary "CREATE DATABASE IF NOT EXISTS \`$db\`" >/dev/null \
  || { echo "schema.sh: cannot reach ClickHouse at $url; run scripts/clickhouse.sh start" >&2; exit 1; }
version="$(curl -fsS "$url/" --data-binary "SELECT version()")"
files=("$here"/sql/[0-9]*.sql)
major="${version%%.*}"; rest="${version#*.}"; minor="${rest%%.*}"
if (( major > 22 || (major == 22 && minor >= 2) )); then
  files+=("$here"/sql/modern/[0-9]*.sql)
fi
for f in "${files[@]}"; do
  if ! out=$(curl -sS "$url/?database=$db" --data-binary @"$f" 2>&1) || [ -n "$out" ]; then
    echo "schema.sh: $f failed: $out" >&2
    exit 1
  fi
done
# Tables made before the host recorded topic IDs get the column (the host also works
# without it, but then a re-created topic is caught only when its marks run past the
# partition's end).
missing="$(curl -fsS "$url/" --data-binary "SELECT name FROM system.tables WHERE database = '$db' AND name IN (SELECT table FROM system.columns WHERE database = '$db' AND name = '_offset') AND name NOT IN (SELECT table FROM system.columns WHERE database = '$db' AND name = '_topic_id') FORMAT TSV")"
for t in $missing; do
  curl -fsS "$url/?database=$db" --data-binary "ALTER TABLE \`$t\` ADD COLUMN _topic_id String AFTER _topic" >/dev/null \
    || { echo "schema.sh: adding _topic_id to $t failed" >&2; exit 1; }
  echo "schema.sh: added _topic_id to $t"
done
echo "schema.sh: applied ${#files[@]} DDL files to $db (ClickHouse $version)"
