-- Modern servers only: see 101. Sensor values change slowly, so Gorilla suits them.
ALTER TABLE iot_readings
    MODIFY COLUMN sensor LowCardinality(String),
    MODIFY COLUMN unit LowCardinality(String),
    MODIFY COLUMN site LowCardinality(String),
    MODIFY COLUMN value Float64 CODEC(Gorilla, ZSTD(1)),
    MODIFY COLUMN _topic LowCardinality(String),
    MODIFY COLUMN _topic_id LowCardinality(String),
    MODIFY COLUMN _plugin_version LowCardinality(String),
    MODIFY COLUMN _offset Int64 CODEC(Delta, ZSTD(1)),
    MODIFY SETTING non_replicated_deduplication_window = 10000
