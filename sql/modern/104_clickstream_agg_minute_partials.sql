-- Modern servers only: see 101. The partials table feeds the materialized view, so a
-- deduplicated retry must not reach the view twice either (the server's default).
ALTER TABLE clickstream_agg_minute_partials
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY SETTING non_replicated_deduplication_window = 10000
