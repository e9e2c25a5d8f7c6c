-- Modern servers only: see 101.
ALTER TABLE clickstream_events
    MODIFY COLUMN event_type LowCardinality(String),
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN _offset Int64 CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN url String CODEC(ZSTD(3)),
    MODIFY COLUMN referrer String CODEC(ZSTD(3)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
