-- Seed 002: events by type.
SELECT
    event_type,
    count() AS events
FROM clickstream_events
GROUP BY event_type
ORDER BY events DESC, event_type
