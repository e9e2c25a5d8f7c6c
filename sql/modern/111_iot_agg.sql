-- Modern servers only: see 101.
ALTER TABLE iot_agg
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY SETTING non_replicated_deduplication_window = 10000
