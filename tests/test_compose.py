"""docker-compose.yml cannot run on machines without Docker, so check its shape: valid
YAML, the services, KRaft Kafka, a current ClickHouse, a host that reads the plugins
the Dockerfile builds and serves its HTTP listener, and Prometheus and Grafana wired to
the files in deploy/."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_are_all_there():
    services = load()["services"]
    assert set(services) == {"kafka", "clickhouse", "generator", "host", "prometheus", "grafana"}


def test_kafka_runs_kraft_without_zookeeper():
    kafka = load()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in load()["services"]


def test_clickhouse_is_a_current_image_with_our_schema():
    ch = load()["services"]["clickhouse"]
    image, tag = ch["image"].split(":")
    assert image == "clickhouse/clickhouse-server"
    assert int(tag.split(".")[0]) >= 24
    assert "./sql:/sluice-sql:ro" in ch["volumes"]
    assert "./scripts/compose-initdb.sh:/docker-entrypoint-initdb.d/sluice.sh:ro" in ch["volumes"]
    init = (ROOT / "scripts" / "compose-initdb.sh").read_text()
    assert "/sluice-sql/[0-9]*.sql" in init and "/sluice-sql/modern/" in init


def test_host_and_generator_use_built_plugins():
    services = load()["services"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "/plugins/" in dockerfile
    assert "/plugins/sentiment.wasm" in services["host"]["command"]
    assert "/plugins/generator.wasm" in services["generator"]["command"]
    assert services["host"]["environment"]["SLUICE_BROKERS"] == "kafka:9092"
    for name in ("host", "generator"):
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"


def mounts(service):
    """{container path: host path} of a service's read-only bind mounts."""
    out = {}
    for v in load()["services"][service]["volumes"]:
        src, dst, mode = v.split(":")
        assert mode == "ro", v
        assert (ROOT / src).exists(), f"{service} mounts {src}, which does not exist"
        out[dst] = src
    return out


def test_host_serves_http_where_prometheus_scrapes():
    host = load()["services"]["host"]
    command = host["command"]
    listen = command[command.index("--http") + 1]
    port = listen.rsplit(":", 1)[1]
    assert any(p.endswith(f":{port}:{port}") for p in host["ports"])
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    assert job["job_name"] == "sluice", "the alert rules select job=\"sluice\""
    assert job["static_configs"][0]["targets"] == [f"host:{port}"]


def test_prometheus_loads_the_tested_rules():
    prom = load()["services"]["prometheus"]
    assert prom["image"].startswith("prom/prometheus:v")
    m = mounts("prometheus")
    assert m["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    assert m["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]


def test_grafana_is_11_6_or_later_with_the_clickhouse_plugin_and_our_provisioning():
    grafana = load()["services"]["grafana"]
    image, tag = grafana["image"].split(":")
    assert image == "grafana/grafana"
    assert tuple(int(x) for x in tag.split(".")[:2]) >= (11, 6)
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"].split(",")
    m = mounts("grafana")
    assert m["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    dashboards_dir = "/var/lib/grafana/dashboards/sluice"
    assert m[dashboards_dir] == "./deploy/grafana/dashboards"
    providers = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/sluice.yml").read_text())["providers"]
    assert [p["options"]["path"] for p in providers] == [dashboards_dir]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_dir + "/") and (ROOT / "deploy/grafana/dashboards" / home.rsplit("/", 1)[1]).exists()


def test_grafana_datasources_point_at_compose_services():
    services = load()["services"]
    (ds_file,) = (ROOT / "deploy/grafana/provisioning/datasources").glob("*.yml")
    datasources = {d["type"]: d for d in yaml.safe_load(ds_file.read_text())["datasources"]}
    prom_url = datasources["prometheus"]["url"]
    assert prom_url == "http://prometheus:9090" and "prometheus" in services
    ch = datasources["grafana-clickhouse-datasource"]["jsonData"]
    assert ch["host"] == "clickhouse" and "clickhouse" in services
    assert (ch["protocol"], ch["port"]) in (("native", 9000), ("http", 8123))
