#!/usr/bin/env bash
# Starts or stops every service Sluice needs on this machine, as plain processes:
# Apache Kafka (KRaft) and the ClickHouse server.
#
#   scripts/services.sh up|down|status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
  up)
    "$here/kafka.sh" start
    "$here/clickhouse.sh" start
    ;;
  down)
    "$here/kafka.sh" stop
    "$here/clickhouse.sh" stop
    ;;
  status)
    rc=0
    "$here/kafka.sh" status || rc=1
    "$here/clickhouse.sh" status || rc=1
    exit $rc
    ;;
  *) echo "usage: scripts/services.sh up|down|status" >&2; exit 2 ;;
esac
