-- Modern servers only: see 101. The dead letters take part in the same accounting.
ALTER TABLE dead_letters
    MODIFY COLUMN plugin LowCardinality(String),
    MODIFY COLUMN code LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN payload String CODEC(ZSTD(3)),
    MODIFY COLUMN failed_at DateTime CODEC(DoubleDelta, ZSTD(1)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
