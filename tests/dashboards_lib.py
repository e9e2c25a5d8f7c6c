"""What the dashboard and Prometheus tests share: the dashboards and alert rules as
data, the metrics table of docs/metrics.md, and the two macro expansions Grafana does
before a query reaches its datasource."""

import datetime
import json
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
METRICS_DOC = ROOT / "docs" / "metrics.md"

# The fixed dashboard time range the SQL tests use: 2026-01-01 00:00 to 06:00 UTC,
# with a 60 s interval (what Grafana picks for 6 hours on a wide panel, roughly).
FROM = 1767225600
TO = FROM + 6 * 3600
INTERVAL_S = 60


def dashboards():
    """{file name: parsed dashboard} for every JSON file in deploy/grafana/dashboards/."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(board):
    """Every panel, rows' nested panels included, rows themselves left out."""
    out = []
    for p in board.get("panels", []):
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def targets():
    """(board uid, panel title, panel, target) for every query of every panel."""
    for board in dashboards().values():
        for p in panels(board):
            for t in p.get("targets", []):
                yield board["uid"], p["title"], p, t


def datasource_uid(panel, target):
    ds = target.get("datasource") or panel.get("datasource") or {}
    return ds.get("uid"), ds.get("type")


def provisioned_datasources():
    """{uid: type} from deploy/grafana/provisioning/datasources/*.yml."""
    out = {}
    for f in sorted((PROVISIONING / "datasources").glob("*.yml")):
        for ds in yaml.safe_load(f.read_text()).get("datasources", []):
            out[ds["uid"]] = ds["type"]
    return out


def clickhouse_panels():
    return [(uid, title, p, t) for uid, title, p, t in targets()
            if datasource_uid(p, t)[1] == "grafana-clickhouse-datasource"]


def prometheus_exprs():
    """(where, expr) for every Prometheus query of every dashboard, and each variable."""
    out = [(f"{uid} / {title} / {t['refId']}", t["expr"]) for uid, title, p, t in targets()
           if datasource_uid(p, t)[1] == "prometheus"]
    for board in dashboards().values():
        for v in board.get("templating", {}).get("list", []):
            if (v.get("datasource") or {}).get("type") == "prometheus":
                q = v["query"]["query"] if isinstance(v.get("query"), dict) else v["query"]
                out.append((f"{board['uid']} / variable {v['name']}", q))
    return out


def alert_rules():
    """(alert name, expr) for every rule in deploy/prometheus/alerts.yml."""
    doc = yaml.safe_load(ALERTS.read_text())
    return [(r.get("alert") or r.get("record"), r["expr"]) for g in doc["groups"] for r in g["rules"]]


def documented_metrics():
    """{name: (type, [labels], help)} from the one table in docs/metrics.md."""
    out = {}
    for line in METRICS_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            labels = [label.strip().strip("`") for label in cells[2].split(",") if label.strip()]
            out[cells[0].strip("`")] = (cells[1], labels, cells[3])
    return out


def metric_names(expr):
    """The sluice_* series an expression reads, histogram suffixes folded into the family."""
    names = set(re.findall(r"\b(sluice_[a-z0-9_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) if re.search(r"_seconds_(bucket|sum|count)$", n) else n
            for n in names}


# ---- Grafana's own template variables ---------------------------------------------

GRAFANA_VARS = {
    # the pipeline picker set to All (its allValue)
    "${pipeline:regex}": ".*",
    "$pipeline": ".*",
    # Grafana's interval variables, for a 1-hour range
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$__interval": "1m",
}


def expand_grafana_vars(text):
    """Replaces whole variable names only, as Grafana does: `$__interval` is not a
    prefix match of the ClickHouse plugin's `$__interval_s`."""
    for k, v in GRAFANA_VARS.items():
        text = re.sub(re.escape(k) + (r"(?!\w)" if k[-1].isalnum() or k[-1] == "_" else ""), lambda m: v, text)
    return text


# ---- grafana-clickhouse-datasource macros -------------------------------------------
# As pkg/macros/macros.go of the plugin (v4) expands them, for the range FROM..TO:
#   $__timeFilter(c)      c >= toDateTime(FROM) AND c <= toDateTime(TO)
#   $__timeFilter_ms(c)   c >= fromUnixTimestamp64Milli(FROMms) AND c <= fromUnixTimestamp64Milli(TOms)
#   $__dateFilter(c)      c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')
#   $__dateTimeFilter(d, t) / $__dt(d, t)   (dateFilter on d) AND (timeFilter on t)
#   $__fromTime, $__toTime          toDateTime(FROM), toDateTime(TO)
#   $__fromTime_ms, $__toTime_ms    fromUnixTimestamp64Milli(ms)
#   $__timeInterval(c)    toStartOfInterval(toDateTime(c), INTERVAL N second)
#   $__timeInterval_ms(c) toStartOfInterval(toDateTime64(c, 3), INTERVAL Nms millisecond)
#   $__interval_s         N (the panel's interval in seconds, at least 1)
# The 18.16 server lacks toStartOfInterval and fromUnixTimestamp64Milli, so the
# dashboards use only $__timeFilter, $__fromTime, $__toTime and $__interval_s; the
# others are expanded faithfully so a panel that uses one fails on 18.16 by name.

def _date(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d")


def _dt(t):
    return f"toDateTime({t})"


def _dt64(t):
    return f"fromUnixTimestamp64Milli({t * 1000})"


def _between(col, lo, hi):
    return f"{col} >= {lo} AND {col} <= {hi}"


def _date_filter(col):
    return _between(col, f"toDate('{_date(FROM)}')", f"toDate('{_date(TO)}')")


MACROS_WITH_ARGS = {
    "timeFilter_ms": lambda a: _between(a[0], _dt64(FROM), _dt64(TO)),
    "timeFilter": lambda a: _between(a[0], _dt(FROM), _dt(TO)),
    "dateFilter": lambda a: _date_filter(a[0]),
    "dateTimeFilter": lambda a: f"({_date_filter(a[0])}) AND ({_between(a[1], _dt(FROM), _dt(TO))})",
    "timeInterval_ms": lambda a: f"toStartOfInterval(toDateTime64({a[0]}, 3), INTERVAL {INTERVAL_S * 1000} millisecond)",
    "timeInterval": lambda a: f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {INTERVAL_S} second)",
}
MACROS_WITH_ARGS["dt"] = MACROS_WITH_ARGS["dateTimeFilter"]
MACROS_PLAIN = {
    "fromTime_ms": _dt64(FROM),
    "toTime_ms": _dt64(TO),
    "fromTime": _dt(FROM),
    "toTime": _dt(TO),
    "interval_s": str(INTERVAL_S),
}
MACRO = re.compile(r"\$__([A-Za-z_]+)")


def _split_args(s):
    """Splits macro arguments on top-level commas, as the plugin's parser does."""
    args, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    args.append(cur.strip())
    return args


def expand_clickhouse_macros(sql):
    """The plugin's expansion of a panel's rawSql for the range FROM..TO; raises on a
    macro it does not know, so a panel can never reach the server half-expanded."""
    out, i = "", 0
    while True:
        m = MACRO.search(sql, i)
        if not m:
            return out + sql[i:]
        out += sql[i:m.start()]
        name = m.group(1)
        # the longest known macro name that the text starts with (timeFilter_ms before timeFilter)
        known = sorted([k for k in [*MACROS_WITH_ARGS, *MACROS_PLAIN] if name.startswith(k)], key=len, reverse=True)
        if not known:
            raise ValueError(f"unknown ClickHouse macro $__{name} in: {sql}")
        name = known[0]
        end = m.start() + 3 + len(name)
        if name in MACROS_WITH_ARGS:
            if end >= len(sql) or sql[end] != "(":
                raise ValueError(f"macro $__{name} needs arguments in: {sql}")
            depth, j = 0, end
            while True:
                depth += sql[j] == "("
                depth -= sql[j] == ")"
                if depth == 0:
                    break
                j += 1
            out += MACROS_WITH_ARGS[name](_split_args(sql[end + 1:j]))
            i = j + 1
        else:
            out += MACROS_PLAIN[name]
            i = end


def expand_panel_sql(sql):
    return expand_clickhouse_macros(expand_grafana_vars(sql))
