-- Seed 001 platform, SaaS stream: validated product-usage events.
CREATE TABLE IF NOT EXISTS saas_events
(
    event_id String,
    tenant_id String,
    user_id String,
    event_type String,
    plan String,
    feature String,
    latency_ms UInt32,
    status UInt16,
    hour UInt8,
    timestamp DateTime,
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, tenant_id)
