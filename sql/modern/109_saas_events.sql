-- Modern servers only: see 101.
ALTER TABLE saas_events
    MODIFY COLUMN event_type LowCardinality(String),
    MODIFY COLUMN plan LowCardinality(String),
    MODIFY COLUMN feature LowCardinality(String),
    MODIFY COLUMN latency_ms UInt32 CODEC(T64, ZSTD(1)),
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN _offset Int64 CODEC(Delta, ZSTD(1)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
