-- Seed 000: tweets per minute of event time, latest ten minutes.
SELECT
    toStartOfMinute(created_at) AS minute,
    count() AS tweets,
    round(count() / 60, 2) AS tweets_per_second
FROM tweet_sentiment
GROUP BY minute
ORDER BY minute DESC
LIMIT 10
