-- Seed 003: folds every inserted batch of partials into clickstream_agg_minute.
CREATE MATERIALIZED VIEW IF NOT EXISTS clickstream_agg_minute_mv TO clickstream_agg_minute
AS SELECT
    window_start,
    window_end,
    url,
    sumState(hits) AS hits,
    uniqExactArrayState(users) AS users
FROM clickstream_agg_minute_partials
GROUP BY window_start, window_end, url
