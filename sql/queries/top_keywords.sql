-- Seed 000: most frequent keywords (stop-words removed by the plugin) in positive tweets.
SELECT
    keyword,
    count() AS frequency
FROM tweet_sentiment
ARRAY JOIN keywords AS keyword
WHERE sentiment = 'positive'
GROUP BY keyword
ORDER BY frequency DESC, keyword
LIMIT 10
