-- Seed 003: the same answer as clickstream_hits_per_minute, counted from the raw
-- events; the two must be equal.
SELECT
    toStartOfMinute(timestamp) AS window_start,
    url,
    count() AS hits,
    uniqExact(user_id) AS users
FROM clickstream_events
GROUP BY window_start, url
ORDER BY window_start, url
