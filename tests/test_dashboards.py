"""Grafana dashboards and Prometheus rules, checked without Grafana (which cannot be
installed here): every dashboard parses and is what deploy/grafana/dashboards.py
generates; every panel's datasource is provisioned; every ClickHouse panel's SQL,
with the plugin's macros expanded for a fixed range, runs on the real server (18.16
here, started with scripts/clickhouse.sh if it is not up) and on chDB, over the sql/
schema with rows in it, and returns the columns the panel uses; every PromQL query
parses and reads only documented series; the alert rules pass promtool."""

import json
import os
import pathlib
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml

from dashboards_lib import (
    FROM, INTERVAL_S, PROVISIONING, ROOT, TO, alert_rules, clickhouse_panels, dashboards,
    datasource_uid, documented_metrics, expand_clickhouse_macros, expand_grafana_vars,
    expand_panel_sql, metric_names, panels, prometheus_exprs, provisioned_datasources, targets,
)

URL = os.environ.get("SLUICE_CLICKHOUSE_URL", "http://127.0.0.1:8123")

# The columns each ClickHouse panel reads, in order. A new panel needs a line here.
COLUMNS = {
    ("sluice-operations", "Recent dead letters"):
        ["failed_at", "pipeline", "plugin", "code", "message", "topic", "partition", "offset", "payload"],
    ("sluice-seed-000-tweets", "Sentiment distribution"): ["sentiment", "tweets"],
    ("sluice-seed-000-tweets", "Tweets per minute"): ["time", "tweets"],
    ("sluice-seed-000-tweets", "Top keywords in positive tweets"): ["keyword", "frequency"],
    ("sluice-seed-000-tweets", "Sentiment per minute"): ["time", "sentiment", "tweets"],
    ("sluice-seed-001-platform", "Ecommerce events per minute by type"): ["time", "event_type", "events"],
    ("sluice-seed-001-platform", "IoT mean value per sensor per minute"): ["time", "sensor", "mean"],
    ("sluice-seed-001-platform", "Ecommerce revenue per hour"): ["time", "revenue"],
    ("sluice-seed-001-platform", "IoT readings per sensor per hour"): ["hour", "sensor", "readings", "lowest", "highest"],
    ("sluice-seed-001-platform", "Ecommerce per day and type"): ["day", "event_type", "events", "revenue", "users"],
    ("sluice-seed-001-platform", "SaaS events per day by type"): ["event_type", "events", "tenants"],
    ("sluice-seed-001-platform", "Reconciliation per stream"): ["stream", "raw", "per_minute", "per_hour", "per_day", "dead"],
    ("sluice-seed-002-clickstream", "Events per second"): ["time", "events_per_second"],
    ("sluice-seed-002-clickstream", "Event count by type"): ["event_type", "events"],
    ("sluice-seed-002-clickstream", "Revenue in the last 5 minutes"): ["revenue", "purchases"],
}

# Answers that must come out exactly from the rows below (the rest must just have rows).
EXACT = {
    ("sluice-seed-000-tweets", "Sentiment distribution"): [["positive", 2], ["negative", 1], ["neutral", 1]],
    ("sluice-seed-000-tweets", "Top keywords in positive tweets"): [["love", 2], ["sun", 1]],
    ("sluice-seed-002-clickstream", "Event count by type"): [["page_view", 3], ["purchase", 2], ["add_to_cart", 1]],
    # only the purchase in the last 5 minutes of the range, not the one at 03:00
    ("sluice-seed-002-clickstream", "Revenue in the last 5 minutes"): [[20.5, 1]],
    ("sluice-seed-001-platform", "SaaS events per day by type"): [["login", 5, 2]],
}


def ts(offset):
    """A DateTime literal `offset` seconds after the start of the test range."""
    return f"toDateTime({FROM + offset})"


P = "'t',0,{o},'v1'"  # _topic, _partition, _offset, _plugin_version
ROWS = {
    "tweet_sentiment (id,user,text,created_at,hashtags,lang,sentiment,sentiment_score,keywords,_topic,_partition,_offset,_plugin_version)": [
        f"('a','u1','I love the sun',{ts(10)},[],'en','positive',0.7,['love','sun'],{P.format(o=1)})",
        f"('b','u2','love it',{ts(70)},[],'en','positive',0.6,['love'],{P.format(o=2)})",
        f"('c','u3','meh',{ts(80)},[],'en','neutral',0.0,['meh'],{P.format(o=3)})",
        f"('d','u4','awful',{ts(3600)},[],'en','negative',-0.6,['awful'],{P.format(o=4)})",
        # before the range: counted by no panel
        f"('e','u5','love love',{ts(-3600)},[],'en','positive',0.9,['love'],{P.format(o=5)})",
    ],
    "clickstream_events (event_id,event_type,user_id,product_id,price,quantity,revenue,timestamp,url,referrer,session_id,_topic,_partition,_offset,_plugin_version)": [
        f"('e1','page_view','u1','p1',10,1,0,{ts(60)},'/p/1','',  's1',{P.format(o=1)})",
        f"('e2','page_view','u1','p1',10,1,0,{ts(61)},'/p/1','',  's1',{P.format(o=2)})",
        f"('e3','page_view','u2','p2',10,1,0,{ts(3 * 3600)},'/p/2','',  's2',{P.format(o=3)})",
        f"('e4','add_to_cart','u1','p1',10,1,0,{ts(62)},'/p/1','',  's1',{P.format(o=4)})",
        f"('e5','purchase','u1','p1',99,1,99,{ts(3 * 3600)},'/p/1','', 's1',{P.format(o=5)})",
        f"('e6','purchase','u2','p2',20.5,1,20.5,{ts(6 * 3600 - 120)},'/p/2','', 's2',{P.format(o=6)})",
        f"('e7','purchase','u3','p3',1000,1,1000,{ts(-60)},'/p/3','', 's3',{P.format(o=7)})",
    ],
    "ecommerce_agg (window_start,window_end,event_type,events,revenue,users,_topic,_partition,_offset,_plugin_version)": [
        f"({ts(60)},{ts(120)},'purchase',2,30,['u1','u2'],{P.format(o=1)})",
        f"({ts(60)},{ts(120)},'page_view',5,0,['u1'],{P.format(o=1)})",
        f"({ts(0)},{ts(3600)},'purchase',2,30,['u1','u2'],{P.format(o=1)})",
        f"({ts(0)},{ts(86400)},'purchase',2,30,['u1','u2'],{P.format(o=1)})",
    ],
    "iot_agg (window_start,window_end,sensor,readings,value_sum,value_min,value_max,_topic,_partition,_offset,_plugin_version)": [
        f"({ts(60)},{ts(120)},'temp',4,80,18,22,{P.format(o=1)})",
        f"({ts(0)},{ts(3600)},'temp',4,80,18,22,{P.format(o=1)})",
        f"({ts(0)},{ts(86400)},'temp',4,80,18,22,{P.format(o=1)})",
    ],
    "saas_agg (window_start,window_end,event_type,events,tenants,_topic,_partition,_offset,_plugin_version)": [
        f"({ts(0)},{ts(86400)},'login',5,['t1','t2'],{P.format(o=1)})",
        f"({ts(0)},{ts(60)},'login',5,['t1','t2'],{P.format(o=1)})",
    ],
    "dead_letters (pipeline,plugin,code,message,payload,failed_at,_topic,_partition,_offset,_plugin_version)": [
        f"('tweets','sentiment','bad-json','not JSON','{{nope',{ts(600)},{P.format(o=9)})",
    ],
}


def inserts():
    return [f"INSERT INTO {table} VALUES {', '.join(rows)}" for table, rows in ROWS.items()]


def numeric(v):
    """ClickHouse JSON quotes 64-bit integers; compare answers as numbers."""
    if isinstance(v, str):
        try:
            return float(v) if "." in v else int(v)
        except ValueError:
            return v
    return v


# ---- shape ----------------------------------------------------------------------------

def test_every_dashboard_parses_and_is_generated():
    boards = dashboards()
    assert len(boards) >= 4, "the operations board and the three seed boards"
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids), "dashboard uids are unique"
    for name, b in boards.items():
        assert name == f"{b['uid']}.json"
        ids = [p["id"] for p in b["panels"]]
        assert len(set(ids)) == len(ids), f"{name}: panel ids are unique"
        for p in b["panels"]:
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24, f"{name}/{p['title']} overflows the grid"
    out = subprocess.run([shutil.which("python3") or "python3", str(ROOT / "deploy/grafana/dashboards.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_every_panel_uses_a_provisioned_datasource():
    provisioned = provisioned_datasources()
    assert provisioned == {"sluice-prometheus": "prometheus", "sluice-clickhouse": "grafana-clickhouse-datasource"}
    for uid, title, p, t in targets():
        ds_uid, ds_type = datasource_uid(p, t)
        assert ds_uid in provisioned, f"{uid}/{title}: datasource uid {ds_uid!r} is not provisioned"
        assert provisioned[ds_uid] == ds_type, f"{uid}/{title}: uid {ds_uid} is a {provisioned[ds_uid]}, not {ds_type}"
    for b in dashboards().values():
        for p in panels(b):
            assert p.get("targets"), f"{b['uid']}/{p['title']} has no query"
        for v in b.get("templating", {}).get("list", []):
            if "datasource" in v:
                assert v["datasource"]["uid"] in provisioned


def test_dashboard_provider_points_at_the_dashboards():
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "sluice.yml").read_text())["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards/sluice"]


def test_clickhouse_panels_are_all_declared_here():
    found = {(uid, title) for uid, title, _, _ in clickhouse_panels()}
    assert found == set(COLUMNS), f"panels without expected columns: {found - set(COLUMNS)}; stale: {set(COLUMNS) - found}"
    for uid, title, p, t in clickhouse_panels():
        assert t["editorType"] == "sql" and t["queryType"] in ("table", "timeseries")
        assert t["format"] == (0 if t["queryType"] == "timeseries" else 1)
        if p["type"] == "timeseries":
            assert t["queryType"] == "timeseries" and COLUMNS[(uid, title)][0] == "time", f"{uid}/{title}"
        if p["type"] == "barchart":
            assert p["options"]["xField"] in COLUMNS[(uid, title)], f"{uid}/{title}: xField is not a column"


def test_panels_avoid_macros_the_old_server_cannot_run():
    # $__timeInterval needs toStartOfInterval and the _ms forms fromUnixTimestamp64Milli,
    # neither of which ClickHouse 18.16 has; bucket with $__interval_s instead.
    for uid, title, _, t in clickhouse_panels():
        for bad in ("$__timeInterval", "_ms"):
            assert bad not in t["rawSql"], f"{uid}/{title} uses {bad}"


def test_macro_expansion_matches_the_plugin():
    lo, hi = f"toDateTime({FROM})", f"toDateTime({TO})"
    assert expand_clickhouse_macros("WHERE $__timeFilter(ts)") == f"WHERE ts >= {lo} AND ts <= {hi}"
    assert expand_clickhouse_macros("$__timeFilter(toDateTime(a, 'UTC'))") == \
        f"toDateTime(a, 'UTC') >= {lo} AND toDateTime(a, 'UTC') <= {hi}"
    assert expand_clickhouse_macros("x > $__toTime - 300 AND y < $__fromTime") == f"x > {hi} - 300 AND y < {lo}"
    assert expand_clickhouse_macros("intDiv(t, $__interval_s)") == f"intDiv(t, {INTERVAL_S})"
    assert expand_clickhouse_macros("$__timeInterval(t)") == f"toStartOfInterval(toDateTime(t), INTERVAL {INTERVAL_S} second)"
    assert expand_clickhouse_macros("$__fromTime_ms") == f"fromUnixTimestamp64Milli({FROM * 1000})"
    assert expand_clickhouse_macros("$__dateFilter(d)") == "d >= toDate('2026-01-01') AND d <= toDate('2026-01-01')"
    with pytest.raises(ValueError):
        expand_clickhouse_macros("$__nope(x)")
    assert expand_grafana_vars("$__interval_s $__interval rate(x[$__rate_interval])") == "$__interval_s 1m rate(x[1m])"


# ---- ClickHouse: the real server and chDB -----------------------------------------------

def http(sql, database="default"):
    q = urllib.parse.urlencode({"database": database})
    req = urllib.request.Request(f"{URL}/?{q}", data=sql.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode()
    except urllib.error.HTTPError as e:
        raise AssertionError(f"ClickHouse refused:\n{sql}\n{e.read().decode()}") from None


def server_up():
    try:
        with urllib.request.urlopen(f"{URL}/ping", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server_db():
    if not server_up() and URL == "http://127.0.0.1:8123":
        subprocess.run(["bash", str(ROOT / "scripts/clickhouse.sh"), "start"], check=False)
    if not server_up():
        pytest.fail(f"ClickHouse is not reachable at {URL}; start it with scripts/clickhouse.sh start (or scripts/services.sh up)")
    db = f"dashcheck_{uuid.uuid4().hex[:12]}"
    out = subprocess.run(["bash", str(ROOT / "scripts/schema.sh"), db], capture_output=True, text=True,
                         env={**os.environ, "SLUICE_CLICKHOUSE_URL": URL})
    assert out.returncode == 0, out.stderr
    try:
        for sql in inserts():
            http(sql, db)
        yield db
    finally:
        http(f"DROP DATABASE IF EXISTS {db}")


@pytest.fixture(scope="module")
def chdb_session():
    try:
        from chdb import session as chdb_session
    except ImportError:
        pytest.fail("chDB is missing; run scripts/install-deps.sh (pip install chdb)")
    sess = chdb_session.Session()
    db = f"dashcheck_{uuid.uuid4().hex[:12]}"
    sess.query(f"CREATE DATABASE {db}")
    sess.query(f"USE {db}")
    ddl = sorted((ROOT / "sql").glob("[0-9]*.sql")) + sorted((ROOT / "sql" / "modern").glob("[0-9]*.sql"))
    for f in ddl:
        sess.query(f.read_text())
    for sql in inserts():
        sess.query(sql)
    yield sess
    if hasattr(sess, "cleanup"):
        sess.cleanup()


PANELS = sorted(COLUMNS)


def check_answer(key, result):
    names = [c["name"] for c in result["meta"]]
    types = {c["name"]: c["type"] for c in result["meta"]}
    assert names == COLUMNS[key], f"{key}: columns {names}"
    assert result["data"], f"{key}: no rows over the test data"
    if names[0] == "time":
        assert types["time"].startswith(("DateTime", "Date")), f"{key}: time column is {types['time']}"
    if key in EXACT:
        got = [[numeric(v) for v in row] for row in result["data"]]
        assert got == EXACT[key], f"{key}: {got}"


def panel_sql(key):
    (sql,) = [t["rawSql"] for uid, title, _, t in clickhouse_panels() if (uid, title) == key]
    return expand_panel_sql(sql)


@pytest.mark.parametrize("key", PANELS, ids=[f"{u}/{t}" for u, t in PANELS])
def test_clickhouse_panel_runs_on_the_server(server_db, key):
    check_answer(key, json.loads(http(panel_sql(key) + "\nFORMAT JSONCompact", server_db)))


@pytest.mark.parametrize("key", PANELS, ids=[f"{u}/{t}" for u, t in PANELS])
def test_clickhouse_panel_runs_on_modern_clickhouse(chdb_session, key):
    check_answer(key, json.loads(str(chdb_session.query(panel_sql(key), "JSONCompact"))))


# ---- Prometheus ---------------------------------------------------------------------------

def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool not found; run scripts/prometheus.sh install (Debian package prometheus)")
    return path


def test_alert_rules_pass_promtool_check():
    out = subprocess.run([promtool(), "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_alert_rules_pass_their_unit_tests():
    out = subprocess.run([promtool(), "test", "rules", str(ROOT / "deploy/prometheus/alerts_test.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dashboard_promql_parses(tmp_path):
    """promtool parses every dashboard query (Grafana's variables expanded) as the
    expression of a recording rule."""
    exprs = prometheus_exprs()
    assert exprs
    rules = []
    for i, (where, expr) in enumerate(exprs):
        if expr.startswith("label_values("):
            continue  # a Grafana variable query, not PromQL
        expanded = expand_grafana_vars(expr)
        assert "$" not in expanded, f"{where}: unexpanded variable in {expanded}"
        rules.append({"record": f"sluice_dashboard_check:{i}", "expr": expanded})
    f = tmp_path / "dashboard_rules.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    out = subprocess.run([promtool(), "check", "rules", str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_queries_and_rules_read_only_documented_series():
    documented = documented_metrics()
    used = set()
    for where, expr in prometheus_exprs() + alert_rules():
        for name in metric_names(expr):
            assert name in documented, f"{where} reads {name}, which docs/metrics.md does not list"
            used.add(name)
    assert used == set(documented), f"documented but never charted or alerted on: {set(documented) - used}"


def test_metrics_doc_is_one_clean_table():
    documented = documented_metrics()
    assert len(documented) == 17
    for name, (kind, labels, help_text) in documented.items():
        assert kind in ("counter", "gauge", "histogram"), name
        assert name.endswith("_total") == (kind == "counter"), f"{name}: counters and only counters end in _total"
        assert labels and labels[0] == "pipeline", name
        assert help_text.endswith("."), name
        assert ("partition" in labels) == (name == "sluice_consumer_lag_records"), name
