#!/bin/bash
# Runs inside the clickhouse/clickhouse-server container at first start (mounted
# into /docker-entrypoint-initdb.d by docker-compose.yml): the plain DDL of sql/, then
# sql/modern/, which every server the compose file pins (25.x) supports.
set -euo pipefail
for f in /sluice-sql/[0-9]*.sql /sluice-sql/modern/[0-9]*.sql; do
  clickhouse client --queries-file "$f"
done
