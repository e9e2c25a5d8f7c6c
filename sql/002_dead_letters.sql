-- Events and rows that could not be processed, with the reason. One table for every
-- pipeline; it takes part in the exactly-once accounting like any data table.
CREATE TABLE IF NOT EXISTS dead_letters
(
    pipeline String,
    plugin String,
    code String,
    message String,
    payload String,
    failed_at DateTime,
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(failed_at)
ORDER BY (pipeline, _topic, _partition, _offset)
