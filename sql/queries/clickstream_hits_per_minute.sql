-- Seed 003: hits and distinct users per url per minute, from the merged aggregates.
SELECT
    window_start,
    url,
    sumMerge(hits) AS hits,
    uniqExactArrayMerge(users) AS users
FROM clickstream_agg_minute
GROUP BY window_start, url
ORDER BY window_start, url
