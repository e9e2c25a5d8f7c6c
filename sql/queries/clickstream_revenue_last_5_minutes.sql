-- Seed 002: purchase revenue in the last 5 minutes of event time (the newest event
-- marks "now", so the answer is the same on live and replayed data).
SELECT
    round(sum(revenue), 2) AS revenue,
    count() AS purchases
FROM clickstream_events
WHERE event_type = 'purchase'
  AND timestamp > (SELECT max(timestamp) FROM clickstream_events) - 300
