#!/usr/bin/env python3
"""A stand-in for the host's HTTP listener, for working on the status page and the
dashboards without Kafka, ClickHouse or a host build: it serves the page files from
host/src/http/page/ at `/`, canned but moving JSON at `/api/pipelines` and
`/api/answers` (shaped exactly as the contract in docs/metrics.md and the page expect),
and Prometheus text at `/metrics` with every series of the contract.

    python3 tests/browser/fake_api.py [--port 0] [--port-file FILE]

It prints `fake_api: listening on http://127.0.0.1:PORT/` once it serves. Counters
are a function of the wall clock, so two polls two seconds apart always differ.
Three pipelines: `tweets` (running, with swaps and a refused swap), `clickstream`
(quarantined) and `iot` (failed at start). Dead letters and answers carry HTML-like
text so the page's escaping is exercised.
"""

import argparse
import json
import math
import pathlib
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = ROOT / "host" / "src" / "http" / "page"
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/uPlot.iife.min.js": ("uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "/uPlot.min.css": ("uPlot.min.css", "text/css; charset=utf-8"),
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")

STARTED = int(time.time()) - 900  # the fake host "started" 15 minutes ago
HISTORY_STEP = 5
HISTORY_SPAN = 600
BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]

def documented_help():
    """Help text per metric from docs/metrics.md, so the fake says what the doc says."""
    out = {}
    for line in (ROOT / "docs" / "metrics.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`sluice_"):
            out[cells[0].strip("`")] = cells[3]
    return out


HELP = documented_help()

HOSTILE = '<img src=x onerror="window.__sluiceXss=1"><script>window.__sluiceXss=1</script>'

# name, state, reason, events/s, stop consuming at (seconds after start) or None
PIPELINES = [
    {
        "name": "tweets", "state": "running", "reason": None, "rate": 42.0, "stop": None,
        "topic": "tweets", "table": "tweet_sentiment", "partitions": 3,
        "plugins": [("sentiment", "target/wasm32-wasip2/release/sentiment.wasm", "9f2c41d07be3", ["1a2b3c4d5e6f", "77e0c1aa9b02"])],
        "events": [
            (-840, "started with plugin 0 sentiment 1a2b3c4d5e6f (generation 1)"),
            (-600, "swapped plugin 0: 1a2b3c4d5e6f -> 77e0c1aa9b02 (generation 2)"),
            (-420, "refused swap of plugin 0: canary trapped: trap-panic"),
            (-300, "swapped plugin 0: 77e0c1aa9b02 -> 9f2c41d07be3 (generation 3)"),
        ],
        "generation": 3,
    },
    {
        "name": "clickstream", "state": "quarantined",
        "reason": "plugin validate (index 0) faulted in 5 consecutive batches: trap-deadline after 2000 ms <no data>",
        "rate": 25.0, "stop": 700, "topic": "clickstream", "table": "clickstream_events", "partitions": 2,
        "plugins": [("validate", "target/wasm32-wasip2/release/validate.wasm", "c0ffee123456", []),
                    ("enrich", "target/wasm32-wasip2/release/enrich.wasm", "abcdef012345", [])],
        "events": [
            (-860, "started with plugins validate c0ffee123456, enrich abcdef012345 (generation 1)"),
            (-200, "quarantined: plugin validate (index 0) faulted in 5 consecutive batches"),
        ],
        "generation": 1,
    },
    {
        "name": "iot", "state": "failed",
        "reason": "table iot_readings does not exist in database default; run scripts/schema.sh",
        "rate": 0.0, "stop": 0, "topic": "iot", "table": "iot_readings", "partitions": 0,
        "plugins": [("validate", "target/wasm32-wasip2/release/validate.wasm", "c0ffee123456", [])],
        "events": [(-899, "failed to start: table iot_readings does not exist")],
        "generation": 1,
    },
]


def consumed_at(p, t):
    """Cumulative records consumed by pipeline p at unix time t: a steady rate with a
    slow wave on top (monotonic, since the wave's slope never exceeds the rate)."""
    x = t - STARTED
    if p["stop"] is not None:
        x = min(x, p["stop"])
    if x <= 0 or p["rate"] <= 0:
        return 0
    return int(p["rate"] * x + 20 * p["rate"] * math.sin(x / 45.0))


def totals_at(p, t):
    c = consumed_at(p, t)
    dead = c // 40
    return {"consumed": c, "rows": c - dead, "dead": dead}


def dead_letters(p, now):
    if p["state"] == "failed":
        return []
    out = []
    total = totals_at(p, now)["dead"]
    for i in range(min(20, total)):
        n = total - i
        code = ["bad-json", "missing-field", "trap-panic", "out-of-range"][n % 4]
        payload = HOSTILE if i % 5 == 1 else json.dumps({"id": f"e{n}", "text": "caf\u00e9 & <b>bold</b> " * 3})[:200]
        out.append({
            "at": now - i * 7, "topic": p["topic"], "partition": n % max(1, p["partitions"]),
            "offset": 40 * n + 17, "plugin": p["plugins"][0][0], "code": code,
            "message": f"field `text` missing at offset {40 * n + 17} <br> & more" if code == "missing-field" else f"{code}: {HOSTILE}" if i % 5 == 1 else code,
            "payload": payload,
        })
    return out


def pipeline_json(p, now):
    t = totals_at(p, now)
    before = totals_at(p, now - 10)
    start = now - now % HISTORY_STEP
    history = [{"t": s, **totals_at(p, s)} for s in range(start - HISTORY_SPAN, start + 1, HISTORY_STEP) if s >= STARTED]
    running = p["state"] == "running"
    produced = p["rate"] * (now - STARTED) if p["rate"] else 0
    parts = []
    for i in range(p["partitions"]):
        committed = t["consumed"] // p["partitions"] * 1 + i
        lag = (3 + (now + i * 7) % 11) if running else int(produced // p["partitions"]) - committed
        parts.append({"topic": p["topic"], "partition": i, "state": "running" if running else "paused",
                      "lag": max(0, lag), "committed": committed, "end": committed + max(0, lag), "owner": "this host"})
    has_batches = t["consumed"] > 0
    last = now - 1 if running else (STARTED + p["stop"] if p["stop"] else None)
    return {
        "name": p["name"], "state": p["state"], "reason": p["reason"], "generation": p["generation"],
        "plugins": [{"index": i, "name": n, "path": path, "version": v, "previous": prev}
                    for i, (n, path, v, prev) in enumerate(p["plugins"])],
        "events": [f"{STARTED + 900 + dt} {text}" for dt, text in p["events"]],  # fixed times, newest last
        "totals": t,
        "rates": {k + "_per_s": round((t[k] - before[k]) / 10.0, 2) for k in ("consumed", "rows", "dead")},
        "history": history,
        "latency_ms": {"p50": 12.0 + (now % 5), "p99": 80.0 + (now % 13)} if has_batches and running else None,
        "partitions": parts,
        "last_insert": last if has_batches else None,
        "last_commit": last if has_batches else None,
        "dead_letters": dead_letters(p, now),
    }


def pipelines_json():
    now = int(time.time())
    return {
        "host": {"version": "0.1.0-fake", "started_at": STARTED, "kafka_reachable": True, "clickhouse_reachable": True},
        "pipelines": [pipeline_json(p, now) for p in PIPELINES],
    }


def answers_json():
    now = int(time.time())
    n = totals_at(PIPELINES[0], now)["rows"]
    pos, neu = n * 53 // 100, n * 28 // 100
    neg = n - pos - neu
    minute0 = now - now % 60
    minutes = [(minute0 - 60 * i, 2400 + (i * 137) % 300) for i in range(10)]
    stamp = lambda u: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(u))  # noqa: E731
    answers = [
        {"name": "sentiment_distribution", "title": "Sentiment distribution",
         "columns": ["sentiment", "total", "percentage"],
         "rows": [[s, c, round(100 * c / max(1, n), 2)] for s, c in sorted(
             [("positive", pos), ("neutral", neu), ("negative", neg)], key=lambda x: -x[1])],
         "error": None, "took_ms": 3},
        {"name": "tweets_per_minute", "title": "Tweets per minute",
         "columns": ["minute", "tweets", "tweets_per_second"],
         "rows": [[stamp(m), c, round(c / 60, 2)] for m, c in minutes], "error": None, "took_ms": 2},
        {"name": "top_keywords", "title": "Top keywords in positive tweets",
         "columns": ["keyword", "frequency"],
         "rows": [[w, str(f)] for w, f in [("love", 412), ("great", 377), ("<script>alert(1)</script>", 120),
                                            ("happy", 98), ("amazing", 61)]],  # UInt64 quoted, as ClickHouse JSON does
         "error": None, "took_ms": 4},
        {"name": "clickstream_revenue_last_5_minutes", "title": "Revenue in the last 5 minutes",
         "columns": ["revenue", "purchases"], "rows": [[round(1234.5 + now % 100, 2), 37]], "error": None, "took_ms": 1},
        {"name": "platform_reconciliation", "title": "Reconciliation per stream",
         "columns": ["stream", "raw", "per_minute", "per_hour", "per_day", "dead"],
         "rows": [["ecommerce", 1000, 1000, 1000, 1000, 12], ["iot", 500, 500, 500, 500, 0], ["saas", 250, 250, 250, 250, 3]],
         "error": None, "took_ms": 6},
        {"name": "clickstream_count_by_type", "title": "Clickstream events by type",
         "columns": [], "rows": [],
         "error": "Code: 60. DB::Exception: Table default.clickstream_events doesn't exist. <b>not bold</b>", "took_ms": 1},
    ]
    return {"workload": "tweets", "answers": answers}


def metrics_text():
    now = time.time()
    out = []

    def family(name, kind, help_text, samples):
        help_text = HELP.get(name, help_text)
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{name}{{{lab}}} {value}")

    def histogram(name, help_text, series):
        help_text = HELP.get(name, help_text)
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} histogram")
        for labels, count, mean in series:
            lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
            # an exponential-ish spread around the mean
            for b in BUCKETS:
                share = 1 - math.exp(-b / mean)
                out.append(f'{name}_bucket{{{lab},le="{b}"}} {int(count * share)}')
            out.append(f'{name}_bucket{{{lab},le="+Inf"}} {count}')
            out.append(f"{name}_sum{{{lab}}} {count * mean:.6f}")
            out.append(f"{name}_count{{{lab}}} {count}")

    live = [p for p in PIPELINES if p["state"] != "failed"]
    tot = {p["name"]: totals_at(p, now) for p in live}
    batches = {n: t["consumed"] // 50 for n, t in tot.items()}
    family("sluice_records_consumed_total", "counter", "Records read from Kafka.",
           [({"pipeline": n}, t["consumed"]) for n, t in tot.items()])
    family("sluice_rows_written_total", "counter", "Rows inserted into ClickHouse, per table.",
           [({"pipeline": p["name"], "table": p["table"]}, tot[p["name"]]["rows"]) for p in live])
    family("sluice_dead_letters_total", "counter", "Dead letters written, by reason code.",
           [({"pipeline": n, "code": c}, t["dead"] // 2 + (t["dead"] % 2 if c == "bad-json" else 0))
            for n, t in tot.items() for c in ("bad-json", "missing-field")])
    histogram("sluice_batch_duration_seconds", "Time per batch, by stage (chain, insert, commit).",
              [({"pipeline": n, "stage": s}, batches[n], m) for n in tot for s, m in
               (("chain", 0.004), ("insert", 0.012), ("commit", 0.002))])
    histogram("sluice_plugin_seconds", "Time one plugin spent on one batch.",
              [({"pipeline": p["name"], "plugin": pl[0], "version": pl[2]}, batches[p["name"]], 0.003)
               for p in live for pl in p["plugins"]])
    family("sluice_plugin_traps_total", "counter", "Plugin calls that trapped, by kind.",
           [({"pipeline": p["name"], "plugin": p["plugins"][0][0], "kind": k}, v)
            for p in live for k, v in (("trap-panic", 2), ("trap-deadline", 5 if p["state"] == "quarantined" else 0))])
    for name, help_text in (("sluice_insert_retries_total", "Insert attempts retried, by failure class."),
                            ("sluice_insert_errors_total", "Inserts that failed, by failure class.")):
        family(name, "counter", help_text,
               [({"pipeline": n, "class": c}, v) for n in tot for c, v in (("retryable", 3), ("schema", 0), ("fatal", 0))])
    lag = []
    for p in live:
        for part in pipeline_json(p, int(now))["partitions"]:
            lag.append(({"pipeline": p["name"], "topic": part["topic"], "partition": part["partition"]}, part["lag"]))
    family("sluice_consumer_lag_records", "gauge", "Records between the committed offset and the end of the partition.", lag)
    family("sluice_in_flight_bytes", "gauge", "Bytes read from Kafka and not yet committed.",
           [({"pipeline": n}, 4096 + int(now) % 1000) for n in tot])
    family("sluice_paused_partitions", "gauge", "Partitions paused for backpressure or quarantine.",
           [({"pipeline": p["name"]}, 0 if p["state"] == "running" else p["partitions"]) for p in live])
    family("sluice_pipeline_state", "gauge", "1 for the pipeline's current state, 0 for the others.",
           [({"pipeline": p["name"], "state": s}, int(s == p["state"])) for p in PIPELINES
            for s in ("running", "quarantined", "failed")])
    family("sluice_swaps_total", "counter", "Plugin swaps, by result.",
           [({"pipeline": n, "result": r}, v if n == "tweets" else 0) for n in tot for r, v in (("ok", 2), ("refused", 1))])
    family("sluice_rollbacks_total", "counter", "Plugin rollbacks, by result.",
           [({"pipeline": n, "result": r}, 0) for n in tot for r in ("manual", "automatic", "refused")])
    family("sluice_last_commit_timestamp_seconds", "gauge", "Unix time of the last offset commit.",
           [({"pipeline": p["name"]}, int(now) - 1 if p["state"] == "running" else STARTED + (p["stop"] or 0)) for p in live])
    family("sluice_stalled_partitions", "gauge", "Partitions whose batches keep failing and are held.",
           [({"pipeline": n}, 0) for n in tot])
    family("sluice_isolations_total", "counter", "Poison records isolated by splitting a failing batch.",
           [({"pipeline": n}, 1 if n == "tweets" else 0) for n in tot])
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "sluice-fake/1"

    def log_message(self, fmt, *args):  # quiet: the test's output is what matters
        pass

    def send(self, status, ctype, body, extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in STATIC:
            name, ctype = STATIC[path]
            self.send(200, ctype, (PAGE / name).read_bytes(), [("Content-Security-Policy", CSP)])
        elif path == "/api/pipelines":
            self.send(200, "application/json", json.dumps(pipelines_json()))
        elif path == "/api/answers":
            self.send(200, "application/json", json.dumps(answers_json()))
        elif path == "/metrics":
            self.send(200, "text/plain; version=0.0.4", metrics_text())
        elif path == "/healthz":
            self.send(200, "text/plain", "ok\n")
        elif path == "/readyz":
            # as the host: 503 with one line per pipeline that is not running
            down = [f"pipeline {p['name']}: {p['state']}: {p['reason']}" for p in PIPELINES if p["state"] != "running"]
            if down:
                self.send(503, "text/plain", "not ready:\n" + "\n".join(down) + "\n")
            else:
                self.send(200, "text/plain", "ready\n")
        else:
            self.send(404, "text/plain", "not found\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    port = srv.server_address[1]
    if args.port_file:
        pathlib.Path(args.port_file).write_text(f"{port}\n")
    print(f"fake_api: listening on http://{args.host}:{port}/", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
