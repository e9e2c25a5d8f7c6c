#!/usr/bin/env bash
# Starts or stops every service Sluice needs on this machine, as plain processes:
# Apache Kafka (KRaft) and the ClickHouse server, each with its secure listeners
# (Kafka SASL_SSL 9094, mTLS 9095, wrong-name TLS 9096; ClickHouse HTTPS 8443) and
# the test certificates of scripts/tls.sh in $SLUICE_RUN/tls. Ports, users and env
# vars are in the headers of kafka.sh and clickhouse.sh, and in docs/security-local.md.
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
