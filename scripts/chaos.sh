#!/usr/bin/env bash
# The chaos suite at full size (`make chaos`): host/tests/chaos.rs with CHAOS_FULL=1,
# one scenario at a time, then the table of every scenario's row, pass or fail:
#   1 the host killed with SIGKILL 20 times under 5,000 events/s
#   2 a rebalance storm of three hosts (SIGTERM, SIGKILL, restarts)
#   3 ClickHouse killed for 60 s (a private server; the host's RSS sampled)
#   4 the Kafka broker restarted under load (a private broker)
#   5 10,000 poison events among good ones, through validate
#   6 hostile plugins beside a healthy pipeline, quarantine lifted by swaps
#   7 ClickHouse frozen (SIGSTOP, 20 to 80 s) while a third host joins or leaves, 20
#     rounds: the fence between owners keeps a late insert of an old owner out
# Needs the shared services (`scripts/services.sh up`); 3, 4 and 7 start their own on
# other ports and run directories and stop them afterwards.
#
#   scripts/chaos.sh [TEST FILTER]     e.g. scripts/chaos.sh chaos_3
#   CHAOS_FULL=0 scripts/chaos.sh      the short sizes that plain `cargo test` runs
#   CHAOS_SEED=N scripts/chaos.sh      repeat a schedule a scenario printed
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report="$(mktemp "${TMPDIR:-/tmp}/sluice-chaos-XXXXXX.jsonl")"
export CHAOS_REPORT="$report" CHAOS_FULL="${CHAOS_FULL:-1}"
started=$SECONDS
"${CARGO:-cargo}" test --release -j"${JOBS:-2}" -p sluice-host --test chaos -- \
  --test-threads=1 --nocapture "$@"
rc=$?
python3 - "$report" <<'PY'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
head = ["scenario", "mode", "produced", "rows", "dead letters", "duplicates", "lost",
        "max RSS MiB", "recovery s", "result"]
table = []
for r in rows:
    exact = (r["duplicates"] == 0 and r["lost"] == 0 and r["stray"] == 0
             and r["rows"] + r["dead_letters"] == r["produced"] and r["settled"])
    rec = r["recovery_s"]
    table.append([r["scenario"], r["mode"], r["produced"], r["rows"], r["dead_letters"],
                  r["duplicates"], r["lost"], f'{r["max_rss_mib"]:.1f}',
                  "-" if rec is None else f"{rec:.1f}", "ok" if exact else "FAIL"])
widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
line = lambda cells: "| " + " | ".join(
    str(c).ljust(w) if i == 0 else str(c).rjust(w)
    for i, (c, w) in enumerate(zip(cells, widths))) + " |"
print()
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for t in table:
    print(line(t))
for r in rows:
    print(f'  {r["scenario"]}: {r["note"]}')
if not rows:
    print("no scenario recorded a row")
PY
echo "chaos: $((SECONDS - started)) s; rows in $report"
exit $rc
