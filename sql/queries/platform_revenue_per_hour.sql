-- Seed 001: ecommerce revenue, events and distinct users per hour, from partials.
SELECT
    window_start AS hour,
    sum(events) AS events,
    round(sum(revenue), 2) AS revenue,
    uniqExactArray(users) AS users
FROM ecommerce_agg
WHERE window_end - window_start = 3600
GROUP BY hour
ORDER BY hour
