"""Every file in sql/ must run on the ClickHouse server started by scripts/ (18.16 here)
and on a modern ClickHouse (chDB, the embedded engine from PyPI)."""

import os
import pathlib
import subprocess
import urllib.parse
import urllib.request
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DDL = sorted((ROOT / "sql").glob("[0-9]*.sql"))
QUERIES = sorted((ROOT / "sql" / "queries").glob("*.sql"))
URL = os.environ.get("SLUICE_CLICKHOUSE_URL", "http://127.0.0.1:8123")

# Rows that exercise every column the queries read.
SAMPLE_TWEETS = [
    "('a','u1','I love it',toDateTime('2026-01-01 00:00:10'),['x'],'en','positive',0.6,['love'],'tweets','tid',0,1,'v1',now())",
    "('b','u2','meh',toDateTime('2026-01-01 00:01:10'),[],'en','neutral',0.0,['meh'],'tweets','tid',1,2,'v1',now())",
    "('c','u3','awful day',toDateTime('2026-01-01 00:01:20'),[],'en','negative',-0.5,['awful','day'],'tweets','tid',2,3,'v1',now())",
]


def http(sql, database="default"):
    query = urllib.parse.urlencode({"database": database})
    req = urllib.request.Request(f"{URL}/?{query}", data=sql.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode()
    except urllib.error.URLError as e:
        pytest.fail(f"ClickHouse is not reachable at {URL} ({e}); start it with scripts/services.sh up")


def test_there_is_sql_to_check():
    assert DDL and QUERIES


def test_sql_runs_on_the_server():
    db = f"sqlcheck_{uuid.uuid4().hex[:12]}"
    http(f"CREATE DATABASE {db}")
    try:
        for f in DDL:
            http(f.read_text(), db)
        http("INSERT INTO tweet_sentiment VALUES " + ",".join(SAMPLE_TWEETS), db)
        results = {f.stem: http(f.read_text() + " FORMAT TabSeparated", db) for f in QUERIES}
        assert results["sentiment_distribution"].splitlines()[0].split("\t")[1] == "1"
        assert "2026-01-01 00:01:00\t2" in results["tweets_per_minute"]
        assert results["top_keywords"].strip() == "love\t1"
    finally:
        http(f"DROP DATABASE IF EXISTS {db}")


def test_sql_runs_on_modern_clickhouse():
    try:
        from chdb import session as chdb_session
    except ImportError:
        pytest.fail("chDB is missing; run scripts/install-deps.sh (pip install chdb)")
    sess = chdb_session.Session()
    db = f"sqlcheck_{uuid.uuid4().hex[:12]}"
    sess.query(f"CREATE DATABASE {db}")
    sess.query(f"USE {db}")
    for f in DDL:
        sess.query(f.read_text())
    sess.query("INSERT INTO tweet_sentiment VALUES " + ",".join(SAMPLE_TWEETS))
    out = {f.stem: str(sess.query(f.read_text(), "TabSeparated")) for f in QUERIES}
    assert out["top_keywords"].strip() == "love\t1"
    assert "2026-01-01 00:01:00\t2" in out["tweets_per_minute"]
    if hasattr(sess, "cleanup"):
        sess.cleanup()


def test_modern_ddl_and_dedup_tokens_on_modern_clickhouse():
    """sql/modern/ applies on a modern engine, and with it a repeated insert carrying
    the host's insert_deduplication_token is dropped while a new token is kept."""
    from chdb import session as chdb_session

    modern = sorted((ROOT / "sql" / "modern").glob("[0-9]*.sql"))
    assert modern, "sql/modern/ holds the version-gated DDL"
    sess = chdb_session.Session()
    db = f"sqlcheck_{uuid.uuid4().hex[:12]}"
    sess.query(f"CREATE DATABASE {db}")
    sess.query(f"USE {db}")
    for f in DDL + modern:
        sess.query(f.read_text())
    types = str(sess.query(
        f"SELECT type FROM system.columns WHERE database = '{db}' AND table = 'tweet_sentiment' AND name = 'sentiment'",
        "TabSeparated")).strip()
    assert types == "LowCardinality(String)"
    row = "INSERT INTO tweet_sentiment SETTINGS insert_deduplication_token = '{}' VALUES " + SAMPLE_TWEETS[0]
    sess.query(row.format("sluice:p:tweets:0:1-1"))
    sess.query(row.format("sluice:p:tweets:0:1-1"))
    assert str(sess.query("SELECT count() FROM tweet_sentiment", "TabSeparated")).strip() == "1"
    sess.query(row.format("sluice:p:tweets:0:2-2"))
    assert str(sess.query("SELECT count() FROM tweet_sentiment", "TabSeparated")).strip() == "2"
    if hasattr(sess, "cleanup"):
        sess.cleanup()


def test_schema_script_keeps_modern_ddl_off_the_old_server():
    db = f"sqlcheck_{uuid.uuid4().hex[:12]}"
    out = subprocess.run(["bash", str(ROOT / "scripts" / "schema.sh"), db],
                         capture_output=True, text=True, env={**os.environ, "SLUICE_CLICKHOUSE_URL": URL})
    try:
        assert out.returncode == 0, out.stderr
        version = http("SELECT version()").strip()
        major, minor = (int(x) for x in version.split(".")[:2])
        lowcard = http(f"SELECT count() FROM system.columns WHERE database = '{db}' AND type LIKE 'LowCardinality%'").strip()
        if (major, minor) >= (22, 2):
            assert lowcard != "0", "a modern server gets sql/modern/"
        else:
            assert lowcard == "0", f"ClickHouse {version} must get the plain DDL only"
    finally:
        http(f"DROP DATABASE IF EXISTS {db}")
