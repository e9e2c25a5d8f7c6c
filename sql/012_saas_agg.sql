-- Seed 001 platform, SaaS: per-batch partial aggregates by event type over minute,
-- hour and day windows, with the distinct tenants seen.
CREATE TABLE IF NOT EXISTS saas_agg
(
    window_start DateTime,
    window_end DateTime,
    event_type String,
    events UInt64,
    tenants Array(String),
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, window_end, event_type, _partition, _offset)
