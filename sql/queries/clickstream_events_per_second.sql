-- Seed 002: events per second of event time, latest ten seconds.
SELECT
    timestamp AS second,
    count() AS events
FROM clickstream_events
GROUP BY second
ORDER BY second DESC
LIMIT 10
