-- Seed 001 platform, IoT stream: validated sensor readings.
CREATE TABLE IF NOT EXISTS iot_readings
(
    event_id String,
    device_id String,
    sensor String,
    value Float64,
    unit String,
    battery UInt8,
    site String,
    hour UInt8,
    timestamp DateTime,
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, device_id)
