-- Seed 001 platform, ecommerce: per-batch partial aggregates by event type over
-- minute, hour and day windows (window_end - window_start tells which). Queries merge
-- them with sum and uniqExactArray, so totals are exact however batches were cut.
CREATE TABLE IF NOT EXISTS ecommerce_agg
(
    window_start DateTime,
    window_end DateTime,
    event_type String,
    events UInt64,
    revenue Float64,
    users Array(String),
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, window_end, event_type, _partition, _offset)
