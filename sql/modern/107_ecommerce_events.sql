-- Modern servers only: see 101.
ALTER TABLE ecommerce_events
    MODIFY COLUMN event_type LowCardinality(String),
    MODIFY COLUMN category LowCardinality(String),
    MODIFY COLUMN currency LowCardinality(String),
    MODIFY COLUMN device LowCardinality(String),
    MODIFY COLUMN browser LowCardinality(String),
    MODIFY COLUMN os LowCardinality(String),
    MODIFY COLUMN country LowCardinality(String),
    MODIFY COLUMN user_tier LowCardinality(String),
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN _offset Int64 CODEC(Delta, ZSTD(1)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
