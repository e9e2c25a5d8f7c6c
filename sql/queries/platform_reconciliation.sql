-- Seed 001: per stream, raw rows equal the events counted by each window size, and
-- dead letters hold the rest (the test adds: raw + dead = produced).
SELECT
    'ecommerce' AS stream,
    (SELECT count() FROM ecommerce_events) AS raw,
    (SELECT sum(events) FROM ecommerce_agg WHERE window_end - window_start = 60) AS per_minute,
    (SELECT sum(events) FROM ecommerce_agg WHERE window_end - window_start = 3600) AS per_hour,
    (SELECT sum(events) FROM ecommerce_agg WHERE window_end - window_start = 86400) AS per_day,
    (SELECT count() FROM dead_letters WHERE pipeline = 'ecommerce') AS dead
UNION ALL
SELECT
    'iot',
    (SELECT count() FROM iot_readings),
    (SELECT sum(readings) FROM iot_agg WHERE window_end - window_start = 60),
    (SELECT sum(readings) FROM iot_agg WHERE window_end - window_start = 3600),
    (SELECT sum(readings) FROM iot_agg WHERE window_end - window_start = 86400),
    (SELECT count() FROM dead_letters WHERE pipeline = 'iot')
UNION ALL
SELECT
    'saas',
    (SELECT count() FROM saas_events),
    (SELECT sum(events) FROM saas_agg WHERE window_end - window_start = 60),
    (SELECT sum(events) FROM saas_agg WHERE window_end - window_start = 3600),
    (SELECT sum(events) FROM saas_agg WHERE window_end - window_start = 86400),
    (SELECT count() FROM dead_letters WHERE pipeline = 'saas')
