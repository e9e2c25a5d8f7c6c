-- Seed 000: share of tweets per sentiment label.
SELECT
    sentiment,
    count() AS total,
    round(100 * count() / (SELECT count() FROM tweet_sentiment), 2) AS percentage
FROM tweet_sentiment
GROUP BY sentiment
ORDER BY total DESC, sentiment
