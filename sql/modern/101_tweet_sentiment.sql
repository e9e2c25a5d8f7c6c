-- Modern servers only (scripts/schema.sh applies sql/modern/ when ClickHouse >= 22.2).
-- Keeps the last 10,000 insert tokens so a retried insert with the host's
-- insert_deduplication_token is dropped by the server too; repetitive strings become
-- LowCardinality; offsets and timestamps get delta codecs.
ALTER TABLE tweet_sentiment
    MODIFY COLUMN lang LowCardinality(String),
    MODIFY COLUMN sentiment LowCardinality(String),
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN _offset Int64 CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN text String CODEC(ZSTD(3)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
