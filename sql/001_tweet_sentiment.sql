-- Seed 000: scored tweets, one row per tweet, written by the sentiment plugin.
-- `_topic/_topic_id/_partition/_offset` record each row's Kafka source (the topic ID tells
-- a re-created topic from the old one): the host resumes after
-- the highest offset found here, which is what makes delivery exactly-once.
CREATE TABLE IF NOT EXISTS tweet_sentiment
(
    id String,
    user String,
    text String,
    created_at DateTime,
    hashtags Array(String),
    lang String,
    sentiment String,
    sentiment_score Float32,
    keywords Array(String),
    _topic String,
    _topic_id String,
    _partition Int32,
    _offset Int64,
    _plugin_version String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (created_at, _partition, _offset)
