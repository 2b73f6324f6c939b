-- Demo report: customers clustered by k-means on their purchase behaviour.
\echo
\echo '== k-means: buyers in 4 clusters on (days since last purchase, orders, total spent), standardised =='
\echo 'crm.kmeans(features, k, seed, standardize) returns the centroids; crm.kmeans_assign labels each buyer.'
WITH buyers AS (
    SELECT contact_id, extract(epoch FROM now() - last_order_at)::float8 / 86400 AS days_since,
           orders::float8 AS orders, total_spent::float8 AS spent
    FROM crm.customer_order_stats
), model AS (
    SELECT crm.kmeans(ARRAY[days_since, orders, spent], 4, 42, true) AS centroids FROM buyers
)
SELECT crm.kmeans_assign(ARRAY[b.days_since, b.orders, b.spent], m.centroids) AS cluster,
       count(*) AS customers,
       round(avg(b.days_since)) AS "avg days since last", round(avg(b.orders)::numeric, 1) AS "avg orders",
       round(avg(b.spent)::numeric) AS "avg spent"
FROM buyers b, model m
GROUP BY 1 ORDER BY 1;
