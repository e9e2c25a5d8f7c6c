"""The dashboards and alert rules against a live scrape: a real Prometheus (started
with scripts/prometheus.sh in a private run directory) scrapes the host's /metrics at
SLUICE_METRICS_TARGET, and every dashboard query must return series and every alert
rule must evaluate cleanly on what it scraped. The scrape itself must pass `promtool
check metrics` and carry exactly the families of docs/metrics.md.

The caller provides the target: a host with its HTTP listener on, under traffic that
makes every series exist (some counters, such as traps, appear only after the first
event of their kind). Without one, run it against the fake:

    python3 tests/browser/fake_api.py --port 18080 &
    SLUICE_METRICS_TARGET=127.0.0.1:18080 python3 -m pytest -q tests/test_prometheus.py
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from dashboards_lib import ROOT, alert_rules, documented_metrics, expand_grafana_vars, metric_names, prometheus_exprs

TARGET = os.environ.get("SLUICE_METRICS_TARGET")
NEEDS = ("SLUICE_METRICS_TARGET is not set. This test needs a host serving /metrics: start the host with its "
         "HTTP listener (e.g. --http 127.0.0.1:8090) under traffic and set SLUICE_METRICS_TARGET=127.0.0.1:8090; "
         "or, for a dry run, `python3 tests/browser/fake_api.py --port 18080 &` and SLUICE_METRICS_TARGET=127.0.0.1:18080.")


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def target():
    if not TARGET:
        pytest.fail(NEEDS)
    try:
        get(f"http://{TARGET}/metrics")
    except OSError as e:
        pytest.fail(f"nothing answers http://{TARGET}/metrics ({e}). {NEEDS}")
    return TARGET


@pytest.fixture(scope="module")
def prometheus(target, tmp_path_factory):
    if not shutil.which("prometheus"):
        pytest.fail("prometheus not found; run scripts/prometheus.sh install")
    port = int(os.environ.get("SLUICE_PROMETHEUS_PORT") or free_port())
    env = {**os.environ, "SLUICE_RUN": str(tmp_path_factory.mktemp("run")), "SLUICE_PROMETHEUS_PORT": str(port),
           "SLUICE_METRICS_TARGET": target, "SLUICE_SCRAPE_INTERVAL": "1s"}
    script = str(ROOT / "scripts" / "prometheus.sh")
    out = subprocess.run(["bash", script, "start"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        # enough scrapes for rate() over 1m and one evaluation of every rule
        deadline = time.time() + 60
        while time.time() < deadline:
            r = query(base, 'count_over_time(up{job="sluice"}[1m])')
            if r and float(r[0]["value"][1]) >= 4 and float(query(base, 'up{job="sluice"}')[0]["value"][1]) == 1:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"Prometheus on {base} did not scrape {target} 4 times in 60 s; see {env['SLUICE_RUN']}/prometheus")
        yield base
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True)


def api(base, path, **params):
    status, body = get(f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}")
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    return doc["data"]


def query(base, expr):
    data = api(base, "/api/v1/query", query=expr)
    assert data["resultType"] == "vector", f"{expr}: {data['resultType']}"
    return data["result"]


def get_status(url, timeout=10):
    """(status, body), also for an error status such as /readyz's 503."""
    try:
        return get(url, timeout)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_health_endpoints_answer(target):
    status, _ = get_status(f"http://{target}/healthz")
    assert status == 200, "/healthz"
    # /readyz is 200 only while every pipeline runs; otherwise 503 naming each one
    # that does not, with its state.
    status, body = get_status(f"http://{target}/readyz")
    _, api = get(f"http://{target}/api/pipelines")
    down = [(p["name"], p["state"]) for p in json.loads(api)["pipelines"] if p["state"] != "running"]
    if not down:
        assert status == 200, body
    else:
        assert status == 503, body
        for name, state in down:
            assert f"pipeline {name}: {state}" in body, body


def test_scrape_passes_promtool_and_matches_the_doc(target):
    _, text = get(f"http://{target}/metrics")
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("promtool not found; run scripts/prometheus.sh install")
    out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr
    types = dict(re.findall(r"^# TYPE (sluice_\w+) (\w+)$", text, re.M))
    helps = dict(re.findall(r"^# HELP (sluice_\w+) (.*)$", text, re.M))
    documented = documented_metrics()
    missing = sorted(set(documented) - set(types))
    assert not missing, f"documented in docs/metrics.md but not served: {missing}"
    undocumented = sorted(set(types) - set(documented))
    assert not undocumented, f"served but not in docs/metrics.md: {undocumented}"
    for name, (kind, labels, help_text) in documented.items():
        assert types[name] == kind, f"{name}: served as {types[name]}, documented as {kind}"
        assert helps.get(name) == help_text, f"{name}: help {helps.get(name)!r}, documented {help_text!r}"
        # every sample carries exactly the documented labels (le for histogram buckets)
        for sample_labels in re.findall(rf"^{name}(?:_bucket|_sum|_count)?\{{([^}}]*)\}}", text, re.M):
            got = {kv.split("=", 1)[0] for kv in re.findall(r'(\w+)="', sample_labels)} - {"le"}
            assert got == set(labels), f"{name}: labels {sorted(got)}, documented {labels}"


def test_every_dashboard_query_returns_series(prometheus):
    empty = []
    for where, expr in prometheus_exprs():
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", expr)
        if m:
            values = api(prometheus, f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)})
            if not values:
                empty.append(f"{where}: {expr}")
            continue
        if not query(prometheus, expand_grafana_vars(expr)):
            empty.append(f"{where}: {expand_grafana_vars(expr)}")
    assert not empty, "queries that returned no series (is the host under traffic that makes them exist?):\n" + "\n".join(empty)


def test_every_alert_rule_evaluates_on_live_series(prometheus):
    for name, expr in alert_rules():
        query(prometheus, expr)  # evaluates (an empty answer just means it is not firing)
        for metric in metric_names(expr):
            kind = documented_metrics()[metric][0]
            series = f"{metric}_count" if kind == "histogram" else metric
            assert query(prometheus, f"count({series})"), f"{name} reads {series}, which the target does not serve"
    deadline = time.time() + 30
    while True:
        rules = [r for g in api(prometheus, "/api/v1/rules")["groups"] for r in g["rules"]]
        evaluated = all(not r.get("lastEvaluation", "0001").startswith("0001") for r in rules)
        if evaluated or time.time() > deadline:
            break
        time.sleep(0.5)
    assert {r["name"] for r in rules} == {n for n, _ in alert_rules()}
    bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
    assert not bad, f"rules that failed to evaluate: {bad}"
