-- Seeds 002 and 003: raw clickstream events, validated and enriched (revenue = price x quantity).
CREATE TABLE IF NOT EXISTS clickstream_events
(
    event_id String,
    event_type String,
    user_id String,
    product_id String,
    price Float64,
    quantity UInt32,
    revenue Float64,
    timestamp DateTime,
    url String,
    referrer String,
    session_id String,
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, event_id)
