-- Seed 003: 1-minute hits and distinct users per url, merged from partials with
-- -State/-Merge, so totals are exact however batches were cut.
CREATE TABLE IF NOT EXISTS clickstream_agg_minute
(
    window_start DateTime,
    window_end DateTime,
    url String,
    hits AggregateFunction(sum, UInt64),
    users AggregateFunction(uniqExactArray, Array(String))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_start, window_end, url)
