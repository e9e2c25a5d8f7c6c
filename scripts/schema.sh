#!/usr/bin/env bash
# Applies every numbered DDL file in sql/ (one statement per file) to a ClickHouse
# database over HTTP, creating the database first. Idempotent.
#
# On a server from 22.2 on it then applies sql/modern/: LowCardinality columns,
# codecs, and the non-replicated deduplication window that the host's
# insert_deduplication_token needs. The 18.16 server here gets the plain DDL.
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
echo "schema.sh: applied ${#files[@]} DDL files to $db (ClickHouse $version)"
