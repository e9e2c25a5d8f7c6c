-- Seed 003: per-batch partial aggregates from the aggregate plugin, one row per
-- (minute, url) per batch. The host writes here (with source offsets, for exactly-once);
-- the materialized view in 006 merges them into clickstream_agg_minute.
CREATE TABLE IF NOT EXISTS clickstream_agg_minute_partials
(
    window_start DateTime,
    window_end DateTime,
    url String,
    hits UInt64,
    users Array(String),
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, url, _partition, _offset)
