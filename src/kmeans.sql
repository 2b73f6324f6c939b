-- src/kmeans.sql: k-means clustering (src/kmeans.c): the crm.kmeans aggregates, crm.kmeans_assign,
-- and the distributed fit crm.kmeans_table (k-means|| seeding and Lloyd steps as pushed-down
-- aggregates of O(model) state).

-- The crm.kmeans_state type: the aggregates' partial state (the points), a real type so that Citus
-- aggregates per shard and parallel workers pass it on.
CREATE TYPE @extschema@.kmeans_state;
CREATE FUNCTION @extschema@.kmeans_state_in(cstring) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_state_in(cstring) IS
    'Text input of crm.kmeans_state: v1 k <k> seed <seed> standardize <true|false> points {{x,...},...}; every value validated (22P02).';
CREATE FUNCTION @extschema@.kmeans_state_out(@extschema@.kmeans_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_state_out(@extschema@.kmeans_state) IS
    'Text output of crm.kmeans_state, shortest exact decimals: it reads back as the same state.';
CREATE FUNCTION @extschema@.kmeans_state_recv(internal) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_state_recv(internal) IS
    'Binary input of crm.kmeans_state: version word (1), k, d, standardize (0 or 1) as int4, seed and the number of points as int8, then the coordinates as float8; every value validated (22P03).';
CREATE FUNCTION @extschema@.kmeans_state_send(@extschema@.kmeans_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_state_send(@extschema@.kmeans_state) IS
    'Binary output of crm.kmeans_state (see crm.kmeans_state_recv): 32 + 8 n d bytes for n points of d coordinates.';
CREATE TYPE @extschema@.kmeans_state (
    INPUT = @extschema@.kmeans_state_in, OUTPUT = @extschema@.kmeans_state_out,
    RECEIVE = @extschema@.kmeans_state_recv, SEND = @extschema@.kmeans_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.kmeans_state IS
    'The partial state of crm.kmeans: k, the seed, the standardize option and the points gathered so far.';

CREATE FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer) IS
    'crm.kmeans transition: adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer, integer) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer, integer) IS
    'crm.kmeans transition (with a seed): adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer, integer, boolean) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(@extschema@.kmeans_state, double precision[], integer, integer, boolean) IS
    'crm.kmeans transition (with a seed and the standardize option): adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_combine(@extschema@.kmeans_state, @extschema@.kmeans_state) RETURNS @extschema@.kmeans_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_combine(@extschema@.kmeans_state, @extschema@.kmeans_state) IS
    'crm.kmeans combine: the points of two partial states (parallel workers, Citus shards); the final function sorts them, so the order states arrive in does not matter.';
CREATE FUNCTION @extschema@.kmeans_final(@extschema@.kmeans_state) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_final(@extschema@.kmeans_state) IS
    'crm.kmeans final: the points sorted, then greedy k-means++ seeding, Lloyd iterations and Hartigan refinement from several starts; the centroids of the lowest inertia.';

CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer) (
    SFUNC = @extschema@.kmeans_transition, STYPE = @extschema@.kmeans_state,
    FINALFUNC = @extschema@.kmeans_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer) IS
    'k-means clustering of the feature vectors into k clusters (seed 42): the centroids as a k x d array, rows in ascending order. NULL rows are skipped; NULL for no rows.';
CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer, seed integer) (
    SFUNC = @extschema@.kmeans_transition, STYPE = @extschema@.kmeans_state,
    FINALFUNC = @extschema@.kmeans_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer, integer) IS
    'k-means clustering of the feature vectors into k clusters, reproducible for the seed: the centroids as a k x d array, rows in ascending order.';
-- The crm.kmeans_model type: what the four-argument form fits, and all that assignment needs.
CREATE TYPE @extschema@.kmeans_model;
CREATE FUNCTION @extschema@.kmeans_model_in(cstring) RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_in(cstring) IS
    'Text input of crm.kmeans_model: v1 mean {...} scale {...} centroids {{...},...}; every value validated (22P02).';
CREATE FUNCTION @extschema@.kmeans_model_out(@extschema@.kmeans_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_out(@extschema@.kmeans_model) IS
    'Text output of crm.kmeans_model, 17 significant digits: it reads back as the same model.';
CREATE FUNCTION @extschema@.kmeans_model_recv(internal) RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_recv(internal) IS
    'Binary input of crm.kmeans_model: version word (1), k, d, then d means, d scales and k x d centroids as float8; every value validated (22P03).';
CREATE FUNCTION @extschema@.kmeans_model_send(@extschema@.kmeans_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_send(@extschema@.kmeans_model) IS
    'Binary output of crm.kmeans_model: version word (1), k, d, then d means, d scales and k x d centroids as float8.';
CREATE TYPE @extschema@.kmeans_model (
    INPUT = @extschema@.kmeans_model_in, OUTPUT = @extschema@.kmeans_model_out,
    RECEIVE = @extschema@.kmeans_model_recv, SEND = @extschema@.kmeans_model_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.kmeans_model IS
    'A k-means model: per feature the mean and scale the fit standardized with (0 and 1 when it did not), and the k centroids in standardized units, rows in ascending order.';

CREATE FUNCTION @extschema@.kmeans_model_final(@extschema@.kmeans_state) RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_state_model_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_final(@extschema@.kmeans_state) IS
    'crm.kmeans final (with standardize): the fit as a crm.kmeans_model, the scaling included.';

CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer, seed integer, standardize boolean) (
    SFUNC = @extschema@.kmeans_transition, STYPE = @extschema@.kmeans_state,
    FINALFUNC = @extschema@.kmeans_model_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer, integer, boolean) IS
    'k-means clustering; with standardize, each feature is scaled to mean 0 and standard deviation 1 before clustering. Returns a crm.kmeans_model (centroids and scaling): crm.kmeans_assign(features, model) reproduces the fit''s clusters, crm.kmeans_centroids(model) gives the centroids in the original units.';

CREATE FUNCTION @extschema@.kmeans_assign(features double precision[], centroids double precision[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_kmeans_assign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_assign(double precision[], double precision[]) IS
    'The 1-based row number of the centroid (k x d array, as crm.kmeans returns) nearest to the features; the lowest on ties.';
CREATE FUNCTION @extschema@.kmeans_assign(features double precision[], model @extschema@.kmeans_model) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_assign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_assign(double precision[], @extschema@.kmeans_model) IS
    'The 1-based cluster of the features under the model: standardized with the model''s means and scales exactly as in the fit, then the nearest centroid (the lowest on ties); the clusters the fit formed.';
CREATE FUNCTION @extschema@.kmeans_centroids(model @extschema@.kmeans_model) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_centroids' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_centroids(@extschema@.kmeans_model) IS
    'The model''s centroids in the features'' original units (centroid x scale + mean), a k x d array, rows in ascending order.';

-- Distributed fitting: crm.kmeans_table runs k-means|| seeding and Lloyd's iterations as
-- pushed-down aggregates whose state is O(model), never the rows.
CREATE TYPE @extschema@.kmeans_step_state;
CREATE FUNCTION @extschema@.kmeans_step_state_in(cstring) RETURNS @extschema@.kmeans_step_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_in(cstring) IS
    'Text input of crm.kmeans_step_state: v1 inertia <x> counts {n,...} sums {{s,...},...}; every value validated (22P02).';
CREATE FUNCTION @extschema@.kmeans_step_state_out(@extschema@.kmeans_step_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_out(@extschema@.kmeans_step_state) IS
    'Text output of crm.kmeans_step_state, shortest exact decimals: it reads back as the same state.';
CREATE FUNCTION @extschema@.kmeans_step_state_recv(internal) RETURNS @extschema@.kmeans_step_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_recv(internal) IS
    'Binary input of crm.kmeans_step_state: version word (1), k, d as int4, the inertia as float8, k counts as int8, k x d sums as float8; every value validated (22P03).';
CREATE FUNCTION @extschema@.kmeans_step_state_send(@extschema@.kmeans_step_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_state_send(@extschema@.kmeans_step_state) IS
    'Binary output of crm.kmeans_step_state: 20 + 8 k (d + 1) bytes.';
CREATE TYPE @extschema@.kmeans_step_state (
    INPUT = @extschema@.kmeans_step_state_in, OUTPUT = @extschema@.kmeans_step_state_out,
    RECEIVE = @extschema@.kmeans_step_state_recv, SEND = @extschema@.kmeans_step_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.kmeans_step_state IS
    'One pass of k-means over a model''s k centroids: per centroid the number of points nearest it and their sum (standardized units), and the inertia; 32 + 8 k (d + 1) bytes.';

CREATE FUNCTION @extschema@.kmeans_step_transition(@extschema@.kmeans_step_state, double precision[], @extschema@.kmeans_model)
RETURNS @extschema@.kmeans_step_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_transition(@extschema@.kmeans_step_state, double precision[], @extschema@.kmeans_model) IS
    'crm.kmeans_step transition: the point, standardized by the model, counted and summed at its nearest centroid (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_step_combine(@extschema@.kmeans_step_state, @extschema@.kmeans_step_state)
RETURNS @extschema@.kmeans_step_state
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_combine(@extschema@.kmeans_step_state, @extschema@.kmeans_step_state) IS
    'crm.kmeans_step combine: adds the counts, sums and inertia of two partial states (parallel workers, Citus shards).';
CREATE AGGREGATE @extschema@.kmeans_step(features double precision[], model @extschema@.kmeans_model) (
    SFUNC = @extschema@.kmeans_step_transition, STYPE = @extschema@.kmeans_step_state,
    COMBINEFUNC = @extschema@.kmeans_step_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans_step(double precision[], @extschema@.kmeans_model) IS
    'One k-means pass over the rows for the model: per centroid the count and sum of the points nearest it, and the inertia. NULL for no rows.';
CREATE FUNCTION @extschema@.kmeans_step_inertia(state @extschema@.kmeans_step_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_inertia' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_inertia(@extschema@.kmeans_step_state) IS
    'The inertia of a step: the sum of the points'' squared distances to their nearest centroid (standardized units).';
CREATE FUNCTION @extschema@.kmeans_step_counts(state @extschema@.kmeans_step_state) RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_counts' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_counts(@extschema@.kmeans_step_state) IS
    'The number of points nearest each centroid of the step''s model, in the model''s order.';
CREATE FUNCTION @extschema@.kmeans_step_sums(state @extschema@.kmeans_step_state) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_sums' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_sums(@extschema@.kmeans_step_state) IS
    'The sums of the points nearest each centroid (standardized units), a k x d array.';
CREATE FUNCTION @extschema@.kmeans_step_model(state @extschema@.kmeans_step_state, model @extschema@.kmeans_model)
RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_step_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_step_model(@extschema@.kmeans_step_state, @extschema@.kmeans_model) IS
    'One Lloyd update: the model with each centroid moved to the mean of the points nearest it (a centroid nearest none stays), rows in ascending order.';
CREATE FUNCTION @extschema@.kmeans_point_hash(features double precision[], seed integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_kmeans_point_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_point_hash(double precision[], integer) IS
    'A deterministic 64-bit hash of the point''s coordinates and the seed: k-means|| takes the point of the lowest hash as its first centre.';
CREATE FUNCTION @extschema@.kmeans_sample(features double precision[], candidates @extschema@.kmeans_model, seed integer,
                                          round integer, oversampling double precision, cost double precision) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_kmeans_sample' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_sample(double precision[], @extschema@.kmeans_model, integer, integer, double precision, double precision) IS
    'k-means|| sampling: whether the point joins the candidates in this round, with probability min(1, oversampling x d2(x, candidates) / cost), decided by a hash of the point, seed and round (independent of row order and shard layout).';
CREATE FUNCTION @extschema@.kmeans_candidates(mean double precision[], scale double precision[],
                                              previous @extschema@.kmeans_model, points double precision[])
RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_candidates' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_candidates(double precision[], double precision[], @extschema@.kmeans_model, double precision[]) IS
    'k-means|| candidates: a model with the given means and scales whose centroids are the previous model''s and the points (an m x d array in the original units), each distinct point once, rows ascending.';
CREATE FUNCTION @extschema@.kmeans_reduce(candidates @extschema@.kmeans_model, weights bigint[], k integer, seed integer)
RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_reduce' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_reduce(@extschema@.kmeans_model, bigint[], integer, integer) IS
    'k-means|| reduction: the weighted candidates reduced to k centres by weighted k-means++ and Lloyd iterations, the best of 10 starts.';

CREATE FUNCTION @extschema@.kmeans_table(relation regclass, features text, k integer, seed integer DEFAULT 42,
                                         standardize boolean DEFAULT false, max_iterations integer DEFAULT 300)
RETURNS @extschema@.kmeans_model
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    -- The relation and the column, quoted: regclass prints a qualified, quoted name.
    source text := relation::text;
    col text := pg_catalog.quote_ident(features);
    dims integer;
    n bigint;
    mean double precision[];
    scale double precision[];
    squares double precision[];
    first double precision[];
    sampled double precision[];
    candidates @extschema@.kmeans_model;
    model @extschema@.kmeans_model;
    next_model @extschema@.kmeans_model;
    state @extschema@.kmeans_step_state;
    cost double precision;
    oversampling double precision;
    round integer := 0;
BEGIN
    IF relation IS NULL OR features IS NULL OR k IS NULL OR seed IS NULL OR standardize IS NULL OR max_iterations IS NULL THEN
        RAISE EXCEPTION 'the arguments of crm.kmeans_table must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF k < 1 THEN
        RAISE EXCEPTION 'k must be at least 1' USING ERRCODE = '22023', DETAIL = pg_catalog.format('The k given was %s.', k);
    END IF;
    IF max_iterations < 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1' USING ERRCODE = '22023';
    END IF;
    -- the number of dimensions, from any row
    EXECUTE pg_catalog.format('SELECT pg_catalog.array_length(%1$s, 1) FROM %2$s WHERE %1$s IS NOT NULL LIMIT 1', col, source)
        INTO dims;
    IF dims IS NULL THEN
        RETURN NULL;
    END IF;
    mean := pg_catalog.array_fill(0::double precision, ARRAY[dims]);
    scale := pg_catalog.array_fill(1::double precision, ARRAY[dims]);
    -- pass 1: the count and the means (a step over one centroid at the origin), every row validated
    model := @extschema@.kmeans_candidates(mean, scale, NULL, pg_catalog.array_fill(0::double precision, ARRAY[1, dims]));
    EXECUTE pg_catalog.format('SELECT @extschema@.kmeans_step(%s, $1) FROM %s', col, source) INTO state USING model;
    n := (@extschema@.kmeans_step_counts(state))[1];
    IF n < k THEN
        RAISE EXCEPTION 'k must not exceed the number of points' USING ERRCODE = '22023',
            DETAIL = pg_catalog.format('k is %s but there are %s points.', k, n);
    END IF;
    IF standardize THEN
        -- pass 2: the standard deviations around those means, as crm.kmeans computes them
        SELECT pg_catalog.array_agg(s / n ORDER BY j) INTO mean
        FROM pg_catalog.unnest(@extschema@.kmeans_step_sums(state)) WITH ORDINALITY AS u(s, j);
        EXECUTE pg_catalog.format('SELECT ARRAY[%s] FROM %s',
            (SELECT pg_catalog.string_agg(pg_catalog.format(
                'pg_catalog.sum((%1$s[%2$s] OPERATOR(pg_catalog.-) $1[%2$s]) OPERATOR(pg_catalog.*) (%1$s[%2$s] OPERATOR(pg_catalog.-) $1[%2$s]))',
                col, j), ', ' ORDER BY j) FROM pg_catalog.generate_series(1, dims) AS j),
            source) INTO squares USING mean;
        SELECT pg_catalog.array_agg(CASE WHEN q > 0 THEN pg_catalog.sqrt(q / n) ELSE 1 END ORDER BY j) INTO scale
        FROM pg_catalog.unnest(squares) WITH ORDINALITY AS u(q, j);
    END IF;

    -- k-means|| seeding: the first centre is the point of the lowest hash
    EXECUTE pg_catalog.format('SELECT %1$s FROM %2$s WHERE %1$s IS NOT NULL
                               ORDER BY @extschema@.kmeans_point_hash(%1$s, $1), %1$s LIMIT 1', col, source)
        INTO first USING seed;
    candidates := @extschema@.kmeans_candidates(mean, scale, NULL, ARRAY[first]);
    oversampling := 2.0 * k;
    -- 5 rounds of oversampling 2k (more, up to 30, while fewer than k distinct candidates). The
    -- sample is decided per distinct point (a hash of the point), so a point repeated m times is
    -- drawn as one, with the probability of one copy: on data with many repeated points the rounds
    -- after the fifth double the oversampling until k distinct candidates are found.
    LOOP
        round := round + 1;
        EXECUTE pg_catalog.format('SELECT @extschema@.kmeans_step(%s, $1) FROM %s', col, source) INTO state USING candidates;
        cost := @extschema@.kmeans_step_inertia(state);
        EXIT WHEN cost = 0 OR round > 30 OR (round > 5 AND pg_catalog.array_length(@extschema@.kmeans_step_counts(state), 1) >= k);
        IF round > 5 THEN
            oversampling := oversampling * 2;
        END IF;
        -- sorted, so that the candidates do not depend on the order rows arrive in (shards, plans)
        EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(%1$s ORDER BY %1$s) FROM %2$s
                                   WHERE %1$s IS NOT NULL AND @extschema@.kmeans_sample(%1$s, $1, $2, $3, $4, $5)', col, source)
            INTO sampled USING candidates, seed, round, oversampling, cost;
        candidates := @extschema@.kmeans_candidates(mean, scale, candidates, sampled);
    END LOOP;
    -- the candidates weighted by the points nearest each (the last step counted them), reduced to k
    model := @extschema@.kmeans_reduce(candidates, @extschema@.kmeans_step_counts(state), k, seed);

    -- Lloyd's iterations, one pushed-down pass each, until the centroids no longer move
    FOR iteration IN 1..max_iterations LOOP
        EXECUTE pg_catalog.format('SELECT @extschema@.kmeans_step(%s, $1) FROM %s', col, source) INTO state USING model;
        next_model := @extschema@.kmeans_step_model(state, model);
        EXIT WHEN @extschema@.kmeans_model_send(next_model) OPERATOR(pg_catalog.=) @extschema@.kmeans_model_send(model);
        model := next_model;
    END LOOP;
    RETURN model;
END
$body$;
COMMENT ON FUNCTION @extschema@.kmeans_table(regclass, text, integer, integer, boolean, integer) IS
    'k-means of a table''s feature column on distributed data (Citus) or one node: k-means|| seeding and Lloyd iterations as pushed-down crm.kmeans_step passes moving 32 + 8 k (d + 1) bytes per shard, never the rows. A crm.kmeans_model, reproducible for the seed.';
REVOKE EXECUTE ON FUNCTION @extschema@.kmeans_table(regclass, text, integer, integer, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.kmeans_table(regclass, text, integer, integer, boolean, integer)
    TO crm_admin, crm_manager, crm_sales, crm_support, crm_analyst;
