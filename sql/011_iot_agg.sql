-- Seed 001 platform, IoT: per-batch partial aggregates by sensor over minute, hour and
-- day windows; merged at query time with sum, min and max.
CREATE TABLE IF NOT EXISTS iot_agg
(
    window_start DateTime,
    window_end DateTime,
    sensor String,
    readings UInt64,
    value_sum Float64,
    value_min Nullable(Float64),
    value_max Nullable(Float64),
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, window_end, sensor, _partition, _offset)
