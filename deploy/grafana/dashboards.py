#!/usr/bin/env python3
"""Writes the Grafana dashboards in deploy/grafana/dashboards/ from one description, so
four boards share one layout, one pair of datasources and one set of habits.

    python3 deploy/grafana/dashboards.py          # rewrite the JSON files
    python3 deploy/grafana/dashboards.py --check  # exit 1 if a file differs (tests run this)

- `sluice-operations`: the host's Prometheus metrics (docs/metrics.md): throughput,
  state, lag and backpressure, batch and plugin latency, faults, swaps; plus recent
  dead letters from ClickHouse.
- `sluice-seed-000-tweets`, `sluice-seed-001-platform`, `sluice-seed-002-clickstream`:
  the seed systems' dashboards over the tables in sql/.

ClickHouse panels use the grafana-clickhouse-datasource macros ($__timeFilter,
$__fromTime, $__toTime, $__interval_s). They must also run on the 18.16 server the
tests use, which has no toStartOfInterval, so buckets are
`toDateTime(intDiv(toUInt32(col), $__interval_s) * $__interval_s)` rather than
$__timeInterval. tests/test_dashboards.py expands the macros and runs every panel.
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "dashboards"

PROM = {"type": "prometheus", "uid": "sluice-prometheus"}
CH = {"type": "grafana-clickhouse-datasource", "uid": "sluice-clickhouse"}
SEL = '{pipeline=~"$pipeline"}'  # every Prometheus query follows the pipeline picker
RATE = "$__rate_interval"


class Board:
    """Lays panels out left to right in a 24-column grid, wrapping rows."""

    def __init__(self, uid, title, description, tags, refresh="10s", time_from="now-1h"):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.refresh, self.time_from = refresh, time_from
        self.panels, self.variables = [], []
        self.x = self.y = self.row_h = 0

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "id": len(self.panels) + 1, "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}})
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
        self.x = self.row_h = 0

    def add(self, panel, w=12, h=8):
        if self.x + w > 24:
            self._newline()
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description, "tags": self.tags,
            "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
            "refresh": self.refresh, "time": {"from": self.time_from, "to": "now"}, "timezone": "utc",
            "annotations": {"list": []}, "links": [{"type": "dashboards", "tags": ["sluice"], "asDropdown": True,
                                                     "title": "Sluice boards", "includeVars": False, "keepTime": True}],
            "templating": {"list": self.variables}, "panels": self.panels,
        }


def prom(expr, legend="", ref="A"):
    return {"refId": ref, "datasource": PROM, "expr": expr, "legendFormat": legend, "range": True, "editorMode": "code"}


def clickhouse(sql, query_type, ref="A"):
    return {"refId": ref, "datasource": CH, "editorType": "sql", "queryType": query_type,
            "format": 0 if query_type == "timeseries" else 1, "rawSql": sql.strip()}


def timeseries(title, description, targets, unit="short", stack=False, bars=False, ds=PROM, overrides=()):
    custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1, "fillOpacity": 60 if bars else 10,
              "showPoints": "never", "spanNulls": False, "axisSoftMin": 0,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return {"type": "timeseries", "title": title, "description": description, "datasource": ds,
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": list(overrides)},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, description, targets, unit="short", ds=PROM, text_mode="auto", thresholds=None, overrides=()):
    steps = thresholds or [{"color": "green", "value": None}]
    return {"type": "stat", "title": title, "description": description, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "color": {"mode": "thresholds"},
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": list(overrides)},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background" if thresholds else "value", "graphMode": "none",
                        "textMode": text_mode, "justifyMode": "auto", "orientation": "auto"}}


def table(title, description, targets, ds=CH):
    return {"type": "table", "title": title, "description": description, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}}, "overrides": []},
            "options": {"showHeader": True, "cellHeight": "sm"}}


def barchart(title, description, targets, x_field, ds=CH, unit="short"):
    return {"type": "barchart", "title": title, "description": description, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "custom": {"fillOpacity": 80}}, "overrides": []},
            "options": {"orientation": "horizontal", "xField": x_field, "showValue": "auto",
                        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
                        "tooltip": {"mode": "single"}}}


def piechart(title, description, targets, ds=CH):
    return {"type": "piechart", "title": title, "description": description, "datasource": ds, "targets": targets,
            "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
            "options": {"reduceOptions": {"values": True, "calcs": ["lastNotNull"], "fields": ""},
                        "pieType": "pie", "displayLabels": ["name", "percent"],
                        "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                                   "values": ["value", "percent"]}}}


def by_ref(ref, color):
    return {"matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]}


def bucket(col):
    """A time bucket of $__interval_s seconds that the 18.16 server can compute too."""
    return f"toDateTime(intDiv(toUInt32({col}), $__interval_s) * $__interval_s)"


def window_overlaps():
    """Windows that overlap the dashboard's range (hour and day windows start before it)."""
    return "window_end > $__fromTime AND window_start <= $__toTime"


def operations():
    b = Board("sluice-operations", "Sluice operations",
              "The host's own metrics (docs/metrics.md): is every pipeline running, keeping up and writing?",
              ["sluice", "operations"], refresh="5s", time_from="now-30m")
    b.variables.append({
        "name": "pipeline", "label": "Pipeline", "type": "query", "datasource": PROM,
        "query": {"query": "label_values(sluice_pipeline_state, pipeline)", "refId": "pipeline"},
        "definition": "label_values(sluice_pipeline_state, pipeline)",
        "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*", "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    })

    b.row("State")
    b.add(stat("Pipelines by state", "Each pipeline's current state: running, quarantined (paused, batch held) or failed at start.",
               [prom(f'sluice_pipeline_state{{pipeline=~"$pipeline",state="running"}} == 1', "{{pipeline}}: running", "A"),
                prom(f'sluice_pipeline_state{{pipeline=~"$pipeline",state="quarantined"}} == 1', "{{pipeline}}: quarantined", "B"),
                prom(f'sluice_pipeline_state{{pipeline=~"$pipeline",state="failed"}} == 1', "{{pipeline}}: failed", "C")],
               text_mode="name", overrides=[by_ref("A", "green"), by_ref("B", "orange"), by_ref("C", "red")]), w=12, h=5)
    b.add(stat("Quarantined or failed", "Pipelines not running; alerts SluicePipelineQuarantined and SluicePipelineFailed fire on them.",
               [prom(f'sum(sluice_pipeline_state{{pipeline=~"$pipeline",state=~"quarantined|failed"}}) or vector(0)', "not running")],
               thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}]), w=4, h=5)
    b.add(stat("Seconds since last commit", "Offsets are committed only after ClickHouse has the rows.",
               [prom(f"time() - max by (pipeline) (sluice_last_commit_timestamp_seconds{SEL})", "{{pipeline}}")],
               unit="s", thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 60},
                                     {"color": "red", "value": 600}]), w=8, h=5)

    b.row("Throughput")
    b.add(timeseries("Records consumed per second", "Read from Kafka, per pipeline.",
                     [prom(f"sum by (pipeline) (rate(sluice_records_consumed_total{SEL}[{RATE}]))", "{{pipeline}}")],
                     unit="ops"), w=8)
    b.add(timeseries("Rows written per second", "Inserted into ClickHouse, per pipeline and table.",
                     [prom(f"sum by (pipeline, table) (rate(sluice_rows_written_total{SEL}[{RATE}]))", "{{pipeline}} → {{table}}")],
                     unit="ops"), w=8)
    b.add(timeseries("Dead letters per second", "By reason code; above 1/s for 5 minutes fires SluiceDeadLetterRateHigh.",
                     [prom(f"sum by (pipeline, code) (rate(sluice_dead_letters_total{SEL}[{RATE}]))", "{{pipeline}} {{code}}")],
                     unit="ops", stack=True), w=8)

    b.row("Lag and backpressure")
    b.add(timeseries("Consumer lag", "Records behind the end of the topic, per pipeline; growing for 5 minutes fires SluiceConsumerLagGrowing.",
                     [prom(f"sum by (pipeline) (sluice_consumer_lag_records{SEL})", "{{pipeline}}")]), w=8)
    b.add(timeseries("Lag by partition (top 10)", "The partitions furthest behind.",
                     [prom(f"topk(10, sluice_consumer_lag_records{SEL})", "{{pipeline}} {{topic}}/{{partition}}")]), w=8)
    b.add(timeseries("In-flight bytes", "Read from Kafka and not yet committed; the byte cap pauses reads.",
                     [prom(f"sum by (pipeline) (sluice_in_flight_bytes{SEL})", "{{pipeline}}")], unit="bytes"), w=8)
    b.add(timeseries("Paused and stalled partitions", "Paused: backpressure or quarantine. Stalled: a held batch that is not moving.",
                     [prom(f"sum by (pipeline) (sluice_paused_partitions{SEL})", "{{pipeline}} paused", "A"),
                      prom(f"sum by (pipeline) (sluice_stalled_partitions{SEL})", "{{pipeline}} stalled", "B")]), w=12)
    b.add(timeseries("Batches isolated", "Failing batches split to find the records that broke them, per 5 minutes.",
                     [prom(f"sum by (pipeline) (increase(sluice_isolations_total{SEL}[5m]))", "{{pipeline}}")], bars=True), w=12)

    b.row("Latency")
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        b.add(timeseries(f"Batch latency {name} by stage", "chain: the plugins; insert: ClickHouse; commit: Kafka.",
                         [prom(f"histogram_quantile({q}, sum by (pipeline, stage, le) (rate(sluice_batch_duration_seconds_bucket{SEL}[{RATE}])))",
                               "{{pipeline}} {{stage}}")], unit="s"), w=12)
    b.add(timeseries("Plugin time per batch p99", "Per plugin and version: a swap shows as a new series.",
                     [prom(f"histogram_quantile(0.99, sum by (pipeline, plugin, version, le) (rate(sluice_plugin_seconds_bucket{SEL}[{RATE}])))",
                           "{{pipeline}} {{plugin}} {{version}}")], unit="s"), w=12)
    b.add(timeseries("Plugin time per batch, mean", "Total plugin time over batches.",
                     [prom(f"sum by (pipeline, plugin, version) (rate(sluice_plugin_seconds_sum{SEL}[{RATE}])) / "
                           f"sum by (pipeline, plugin, version) (rate(sluice_plugin_seconds_count{SEL}[{RATE}]))",
                           "{{pipeline}} {{plugin}} {{version}}")], unit="s"), w=12)

    b.row("Faults and lifecycle")
    b.add(timeseries("Plugin traps per second", "Panics, deadlines, memory and stack limits; repeated faults quarantine the pipeline.",
                     [prom(f"sum by (pipeline, plugin, kind) (rate(sluice_plugin_traps_total{SEL}[{RATE}]))", "{{pipeline}} {{plugin}} {{kind}}")],
                     unit="ops", stack=True), w=8)
    b.add(timeseries("Insert retries per second", "By class: retryable (backoff), schema (re-read once), fatal (quarantine).",
                     [prom(f"sum by (pipeline, class) (rate(sluice_insert_retries_total{SEL}[{RATE}]))", "{{pipeline}} {{class}}")],
                     unit="ops"), w=8)
    b.add(timeseries("Insert errors per second", "Schema and fatal errors fire SluiceInsertErrors.",
                     [prom(f"sum by (pipeline, class) (rate(sluice_insert_errors_total{SEL}[{RATE}]))", "{{pipeline}} {{class}}")],
                     unit="ops"), w=8)
    b.add(stat("Swaps in range", "Hot swaps by result; a refused swap leaves the old version running.",
               [prom(f"sum by (pipeline, result) (increase(sluice_swaps_total{SEL}[$__range]))", "{{pipeline}} {{result}}")]), w=12, h=5)
    b.add(stat("Rollbacks in range", "Manual, automatic (probation) or refused.",
               [prom(f"sum by (pipeline, result) (increase(sluice_rollbacks_total{SEL}[$__range]))", "{{pipeline}} {{result}}")]), w=12, h=5)
    b.add(table("Recent dead letters", "From the dead_letters table in ClickHouse: where each came from and why.",
                [clickhouse("""
SELECT
    failed_at,
    pipeline,
    plugin,
    code,
    message,
    _topic AS topic,
    _partition AS partition,
    _offset AS offset,
    substring(payload, 1, 200) AS payload
FROM dead_letters
WHERE $__timeFilter(failed_at) AND match(pipeline, '^(${pipeline:regex})$')
ORDER BY failed_at DESC
LIMIT 100""", "table")]), w=24, h=9)
    return b


def seed_000():
    b = Board("sluice-seed-000-tweets", "Seed 000: tweet sentiment",
              "The tweet-sentiment seed's queries over tweet_sentiment (sql/001): distribution, rate and keywords.",
              ["sluice", "seed"])
    b.add(piechart("Sentiment distribution", "Tweets per sentiment label in the time range.",
                   [clickhouse("""
SELECT sentiment, count() AS tweets
FROM tweet_sentiment
WHERE $__timeFilter(created_at)
GROUP BY sentiment
ORDER BY tweets DESC, sentiment""", "table")]), w=8)
    b.add(timeseries("Tweets per minute", "By event time (created_at).",
                     [clickhouse("""
SELECT toStartOfMinute(created_at) AS time, count() AS tweets
FROM tweet_sentiment
WHERE $__timeFilter(created_at)
GROUP BY time
ORDER BY time""", "timeseries")], ds=CH, bars=True), w=16)
    b.add(barchart("Top keywords in positive tweets", "Stop-words are removed by the plugin.",
                   [clickhouse("""
SELECT keyword, count() AS frequency
FROM tweet_sentiment
ARRAY JOIN keywords AS keyword
WHERE sentiment = 'positive' AND $__timeFilter(created_at)
GROUP BY keyword
ORDER BY frequency DESC, keyword
LIMIT 10""", "table")], "keyword"), w=8, h=9)
    b.add(timeseries("Sentiment per minute", "Stacked by label.",
                     [clickhouse("""
SELECT toStartOfMinute(created_at) AS time, sentiment, count() AS tweets
FROM tweet_sentiment
WHERE $__timeFilter(created_at)
GROUP BY time, sentiment
ORDER BY time, sentiment""", "timeseries")], ds=CH, stack=True), w=16, h=9)
    return b


def seed_001():
    b = Board("sluice-seed-001-platform", "Seed 001: analytics platform",
              "Ecommerce, IoT and SaaS streams: minute, hour and day aggregates merged from the aggregate plugin's partials (sql/010-012).",
              ["sluice", "seed"], time_from="now-24h")
    b.row("Per minute")
    b.add(timeseries("Ecommerce events per minute by type", "Minute windows of ecommerce_agg.",
                     [clickhouse("""
SELECT window_start AS time, event_type, sum(events) AS events
FROM ecommerce_agg
WHERE window_end - window_start = 60 AND $__timeFilter(window_start)
GROUP BY time, event_type
ORDER BY time, event_type""", "timeseries")], ds=CH, stack=True), w=12)
    b.add(timeseries("IoT mean value per sensor per minute", "sum(value_sum) / sum(readings) over minute windows of iot_agg.",
                     [clickhouse("""
SELECT window_start AS time, sensor, round(sum(value_sum) / sum(readings), 2) AS mean
FROM iot_agg
WHERE window_end - window_start = 60 AND $__timeFilter(window_start)
GROUP BY time, sensor
ORDER BY time, sensor""", "timeseries")], ds=CH), w=12)
    b.row("Per hour")
    b.add(timeseries("Ecommerce revenue per hour", "Hour windows of ecommerce_agg.",
                     [clickhouse(f"""
SELECT window_start AS time, round(sum(revenue), 2) AS revenue
FROM ecommerce_agg
WHERE window_end - window_start = 3600 AND {window_overlaps()}
GROUP BY time
ORDER BY time""", "timeseries")], ds=CH, bars=True), w=12)
    b.add(table("IoT readings per sensor per hour", "Count, lowest and highest value per hour window.",
                [clickhouse(f"""
SELECT window_start AS hour, sensor, sum(readings) AS readings, min(value_min) AS lowest, max(value_max) AS highest
FROM iot_agg
WHERE window_end - window_start = 3600 AND {window_overlaps()}
GROUP BY hour, sensor
ORDER BY hour DESC, sensor
LIMIT 200""", "table")]), w=12)
    b.row("Per day")
    b.add(table("Ecommerce per day and type", "Events, revenue and distinct users per day window.",
                [clickhouse(f"""
SELECT toDate(window_start) AS day, event_type, sum(events) AS events,
       round(sum(revenue), 2) AS revenue, uniqExactArray(users) AS users
FROM ecommerce_agg
WHERE window_end - window_start = 86400 AND {window_overlaps()}
GROUP BY day, event_type
ORDER BY day DESC, event_type""", "table")]), w=12)
    b.add(barchart("SaaS events per day by type", "Events and distinct tenants in the day windows of the range.",
                   [clickhouse(f"""
SELECT event_type, sum(events) AS events, uniqExactArray(tenants) AS tenants
FROM saas_agg
WHERE window_end - window_start = 86400 AND {window_overlaps()}
GROUP BY event_type
ORDER BY events DESC, event_type""", "table")], "event_type"), w=12)
    b.row("Reconciliation")
    recon = (ROOT / "sql" / "queries" / "platform_reconciliation.sql").read_text()
    recon = "\n".join(line for line in recon.splitlines() if not line.startswith("--"))
    b.add(table("Reconciliation per stream", "Raw rows equal the events each window size counts; dead letters hold the rest "
                "(sql/queries/platform_reconciliation.sql, over all time).", [clickhouse(recon, "table")]), w=24, h=6)
    return b


def seed_002():
    b = Board("sluice-seed-002-clickstream", "Seed 002: ecommerce clickstream",
              "The clickstream seed's three panels over clickstream_events (sql/003): events per second, count by type, "
              "revenue in the last 5 minutes.", ["sluice", "seed"], refresh="5s", time_from="now-15m")
    b.add(timeseries("Events per second", "Mean events per second in each bucket, by event time.",
                     [clickhouse(f"""
SELECT {bucket('timestamp')} AS time, count() / $__interval_s AS events_per_second
FROM clickstream_events
WHERE $__timeFilter(timestamp)
GROUP BY time
ORDER BY time""", "timeseries")], ds=CH, unit="ops"), w=24)
    b.add(barchart("Event count by type", "page_view, add_to_cart, purchase in the range.",
                   [clickhouse("""
SELECT event_type, count() AS events
FROM clickstream_events
WHERE $__timeFilter(timestamp)
GROUP BY event_type
ORDER BY events DESC, event_type""", "table")], "event_type"), w=12)
    b.add(stat("Revenue in the last 5 minutes", "Purchases in the 5 minutes before the end of the range.",
               [clickhouse("""
SELECT round(sum(revenue), 2) AS revenue, count() AS purchases
FROM clickstream_events
WHERE event_type = 'purchase' AND timestamp > $__toTime - 300 AND timestamp <= $__toTime""", "table")],
               ds=CH), w=12)
    return b


BOARDS = [operations, seed_000, seed_001, seed_002]


def render():
    return {f"{b.uid}.json": json.dumps(b.json(), indent=2, ensure_ascii=False) + "\n" for b in (f() for f in BOARDS)}


def main():
    files = render()
    if "--check" in sys.argv:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != text]
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"dashboards.py: out of date: {stale + extra}; run python3 deploy/grafana/dashboards.py", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT.relative_to(ROOT) / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
