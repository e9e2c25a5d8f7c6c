"""docker-compose.yml cannot run on machines without Docker, so check its shape: valid
YAML, the four services, KRaft Kafka, a current ClickHouse, and a host that reads the
plugins the Dockerfile builds."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_are_all_there():
    services = load()["services"]
    assert set(services) == {"kafka", "clickhouse", "generator", "host"}


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
