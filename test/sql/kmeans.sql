-- k-means at work: three well-separated groups of points are recovered exactly, whatever the
-- seed; standardising scales features before clustering; kmeans_assign labels points.
SET client_min_messages = warning;
BEGIN;
CREATE TEMP TABLE points (label int, x float8, y float8);
-- Around (0, 0), (10, 10) and (20, 0): each group's points are the centre plus/minus 1 in x or y,
-- so its centroid is exactly the centre.
INSERT INTO points
SELECT g, cx + dx, cy + dy
FROM (VALUES (1, 0, 0), (2, 10, 10), (3, 20, 0)) c(g, cx, cy),
     (VALUES (-1, 0), (1, 0), (0, -1), (0, 1)) d(dx, dy);

SELECT crm.kmeans(ARRAY[x, y], 3) FROM points;
SELECT crm.kmeans(ARRAY[x, y], 3, 7) = crm.kmeans(ARRAY[x, y], 3, 12345) AS seed_independent FROM points;

-- Labels: every group lands in one cluster of its own.
WITH model AS (SELECT crm.kmeans(ARRAY[x, y], 3) AS centroids FROM points)
SELECT label, array_agg(DISTINCT crm.kmeans_assign(ARRAY[x, y], centroids)) AS clusters
FROM points, model GROUP BY label ORDER BY label;

-- x spread evenly over 0-1000, y either 0 or 10. Unscaled, x decides: the split {0, 200, 400} /
-- {600, 800, 1000} has inertia 160000 + 133.3 against 640000 for the split by y. Standardised
-- (x / 341.6, y / 5), the split by y wins: 5.49 against 6.70. Centroids in the original units.
CREATE TEMP TABLE skewed (x float8, y float8);
INSERT INTO skewed VALUES (0, 0), (400, 0), (800, 0), (200, 10), (600, 10), (1000, 10);
SELECT crm.kmeans(ARRAY[x, y], 2) AS unscaled, crm.kmeans_centroids(crm.kmeans(ARRAY[x, y], 2, 1, true)) AS standardised FROM skewed;

-- No rows: NULL. NULL rows are skipped.
SELECT crm.kmeans(ARRAY[x, y], 2) IS NULL AS empty FROM points WHERE false;
SELECT crm.kmeans(CASE WHEN label = 1 THEN NULL ELSE ARRAY[x, y] END, 2) FROM points;

ROLLBACK;

-- Errors: k below 1 or above the number of (distinct) points, features of different dimensions, NaN
-- (22023) or NULL (22004) coordinates, centroids of the wrong dimension.
\set VERBOSITY terse
SELECT crm.kmeans(ARRAY[x, y], 0) FROM (VALUES (1.0, 2.0), (3.0, 4.0)) p(x, y);
SELECT crm.kmeans(ARRAY[x, y], 3) FROM (VALUES (1.0, 2.0), (3.0, 4.0)) p(x, y);
-- four points but only two distinct ones: three clusters would leave one empty or duplicated
SELECT crm.kmeans(ARRAY[x, y], 3) FROM (VALUES (1.0, 2.0), (1.0, 2.0), (1.0, 2.0), (3.0, 4.0)) p(x, y);
SELECT crm.kmeans(CASE WHEN x = 1 THEN ARRAY[x] ELSE ARRAY[x, y] END, 1) FROM (VALUES (1.0, 2.0), (3.0, 4.0)) p(x, y);
SELECT crm.kmeans(ARRAY[x, 'NaN'], 1) FROM (VALUES (1.0), (3.0)) p(x);
SELECT crm.kmeans(ARRAY[x, NULL], 1) FROM (VALUES (1.0), (3.0)) p(x);
SELECT crm.kmeans_assign(ARRAY[1, 2, 3], '{{0,0},{1,1}}'::float8[]);
