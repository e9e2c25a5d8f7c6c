-- Seed 001: IoT readings per sensor per minute with mean, min and max value.
SELECT
    window_start AS minute,
    sensor,
    sum(readings) AS n,
    round(sum(value_sum) / sum(readings), 2) AS mean,
    min(value_min) AS lowest,
    max(value_max) AS highest
FROM iot_agg
WHERE window_end - window_start = 60
GROUP BY minute, sensor
ORDER BY minute DESC, sensor
LIMIT 12
