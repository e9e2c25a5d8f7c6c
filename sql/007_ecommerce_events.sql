-- Seed 001 platform, ecommerce stream: validated and enriched events.
CREATE TABLE IF NOT EXISTS ecommerce_events
(
    event_id String,
    event_type String,
    user_id String,
    product_id String,
    category String,
    price Float64,
    quantity UInt32,
    revenue Float64,
    currency String,
    device String,
    browser String,
    os String,
    country String,
    user_tier String,
    hour UInt8,
    day_of_week UInt8,
    timestamp DateTime,
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, event_id)
