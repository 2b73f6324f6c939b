-- upgrade/0.1--0.2/s2-citus-logreg.sql: crm.logreg_fit with a real state type (crm.logreg_rows) so
-- Citus aggregates it per shard, and the distributed fit: crm.logreg_step, its state type
-- crm.logreg_step_state, crm.logreg_step_newton and the driver crm.logreg_fit_table. 0.1's
-- aggregates kept their rows in an internal state: dropped with their support functions (nothing
-- in crm depends on them; the C symbols stay in the library for databases not yet updated).
DROP AGGREGATE @extschema@.logreg_fit(double precision[], boolean);
DROP AGGREGATE @extschema@.logreg_fit(double precision[], boolean, double precision);
DROP FUNCTION @extschema@.logreg_fit_transition(internal, double precision[], boolean);
DROP FUNCTION @extschema@.logreg_fit_l2_transition(internal, double precision[], boolean, double precision);
DROP FUNCTION @extschema@.logreg_fit_combine(internal, internal);
DROP FUNCTION @extschema@.logreg_fit_serialize(internal);
DROP FUNCTION @extschema@.logreg_fit_deserialize(bytea, internal);
DROP FUNCTION @extschema@.logreg_fit_final(internal);

-- Everything below is also what upgrade/0.1--0.2/s2-citus-logreg.sql creates (after dropping 0.1's
-- logreg_fit with its internal state): keep the two identical.

-- crm.logreg_rows: the state of crm.logreg_fit, the rows themselves (a real type, so that parallel
-- workers and Citus shards ship it; src/logreg.c).
CREATE TYPE @extschema@.logreg_rows;
CREATE FUNCTION @extschema@.logreg_rows_in(cstring) RETURNS @extschema@.logreg_rows
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_in(cstring) IS
    'Text input of crm.logreg_rows: 1;<features per row>;<l2>;<rows>, then ;x1,...,xd,label (0 or 1) for each row.';
CREATE FUNCTION @extschema@.logreg_rows_out(@extschema@.logreg_rows) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_out(@extschema@.logreg_rows) IS
    'Text output of crm.logreg_rows (exact numbers).';
CREATE FUNCTION @extschema@.logreg_rows_recv(internal) RETURNS @extschema@.logreg_rows
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_recv(internal) IS
    'Binary input of crm.logreg_rows: version 1 (4 bytes), the features per row d (4 bytes), l2, the rows (8 bytes), then d features and the label (0 or 1) per row as float8, network byte order.';
CREATE FUNCTION @extschema@.logreg_rows_send(@extschema@.logreg_rows) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_send(@extschema@.logreg_rows) IS
    'Binary output of crm.logreg_rows (see crm.logreg_rows_recv): 24 + 8·(d+1)·rows bytes.';
CREATE TYPE @extschema@.logreg_rows (
    INPUT = @extschema@.logreg_rows_in,
    OUTPUT = @extschema@.logreg_rows_out,
    RECEIVE = @extschema@.logreg_rows_recv,
    SEND = @extschema@.logreg_rows_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.logreg_rows IS
    'The partial state of crm.logreg_fit: its rows, 8·(d+1) bytes each plus 32 (at most 1 GB). On Citus each shard ships its rows: fit distributed data with crm.logreg_fit_table.';

CREATE FUNCTION @extschema@.logreg_rows_trans(@extschema@.logreg_rows, double precision[], boolean)
RETURNS @extschema@.logreg_rows
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_trans(@extschema@.logreg_rows, double precision[], boolean) IS
    'Transition function of crm.logreg_fit(features, label): keeps the row.';
CREATE FUNCTION @extschema@.logreg_rows_trans(@extschema@.logreg_rows, double precision[], boolean, double precision)
RETURNS @extschema@.logreg_rows
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_l2_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_trans(@extschema@.logreg_rows, double precision[], boolean, double precision) IS
    'Transition function of crm.logreg_fit(features, label, l2): keeps the row.';
CREATE FUNCTION @extschema@.logreg_rows_combine(@extschema@.logreg_rows, @extschema@.logreg_rows)
RETURNS @extschema@.logreg_rows
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_combine(@extschema@.logreg_rows, @extschema@.logreg_rows) IS
    'Combine function of crm.logreg_fit: concatenates two partial states (parallel workers, Citus shards).';
CREATE FUNCTION @extschema@.logreg_rows_final(@extschema@.logreg_rows)
RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_logreg_rows_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_rows_final(@extschema@.logreg_rows) IS
    'Final function of crm.logreg_fit: runs Newton''s method over the rows and returns the coefficients.';

CREATE AGGREGATE @extschema@.logreg_fit(features double precision[], label boolean) (
    SFUNC = @extschema@.logreg_rows_trans,
    STYPE = @extschema@.logreg_rows,
    FINALFUNC = @extschema@.logreg_rows_final,
    COMBINEFUNC = @extschema@.logreg_rows_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.logreg_fit(double precision[], boolean) IS
    'Maximum-likelihood logistic regression: coefficients, intercept first. Rows with a NULL label or NULL features are skipped; NULL without rows; 22023 for separable data, a singular design, one class only or feature arrays of different lengths. Keeps 8·(d+1) bytes per row (its state, crm.logreg_rows, is the rows: on Citus use crm.logreg_fit_table).';

CREATE AGGREGATE @extschema@.logreg_fit(features double precision[], label boolean, l2 double precision) (
    SFUNC = @extschema@.logreg_rows_trans,
    STYPE = @extschema@.logreg_rows,
    FINALFUNC = @extschema@.logreg_rows_final,
    COMBINEFUNC = @extschema@.logreg_rows_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.logreg_fit(double precision[], boolean, double precision) IS
    'Logistic regression with the penalty l2/2·|beta|² on the coefficients (not the intercept): coefficients, intercept first. l2 must be the same non-negative number on every row.';

-- crm.logreg_step_state: one Newton step's sums at given coefficients (the MADlib pattern), O(d²)
-- bytes whatever the rows, added across shards.
CREATE TYPE @extschema@.logreg_step_state;
CREATE FUNCTION @extschema@.logreg_step_state_in(cstring) RETURNS @extschema@.logreg_step_state
    AS 'MODULE_PATHNAME', 'crm_logreg_step_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_state_in(cstring) IS
    'Text input of crm.logreg_step_state: 1;<d>;<rows>;<positives>;<opposed>;<strict>;<log-likelihood>;<d+1 gradient sums, comma-separated>;<(d+1)(d+2)/2 Hessian sums, lower triangle by rows, comma-separated>.';
CREATE FUNCTION @extschema@.logreg_step_state_out(@extschema@.logreg_step_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_logreg_step_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_state_out(@extschema@.logreg_step_state) IS
    'Text output of crm.logreg_step_state (exact numbers).';
CREATE FUNCTION @extschema@.logreg_step_state_recv(internal) RETURNS @extschema@.logreg_step_state
    AS 'MODULE_PATHNAME', 'crm_logreg_step_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_state_recv(internal) IS
    'Binary input of crm.logreg_step_state: version 1 and d (4 bytes each), rows, positives, opposed, strict (8 bytes each), the log-likelihood, then the p = d+1 gradient and p(p+1)/2 Hessian sums as float8, network byte order: 48 + 8·(p + p(p+1)/2) bytes.';
CREATE FUNCTION @extschema@.logreg_step_state_send(@extschema@.logreg_step_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_logreg_step_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_state_send(@extschema@.logreg_step_state) IS
    'Binary output of crm.logreg_step_state (see crm.logreg_step_state_recv).';
CREATE TYPE @extschema@.logreg_step_state (
    INPUT = @extschema@.logreg_step_state_in,
    OUTPUT = @extschema@.logreg_step_state_out,
    RECEIVE = @extschema@.logreg_step_state_recv,
    SEND = @extschema@.logreg_step_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.logreg_step_state IS
    'The sums of one Newton step of logistic regression at fixed coefficients (crm.logreg_step): rows, true labels, the rows against the hyperplane x''beta = 0, the log-likelihood, the gradient (p = d+1 numbers) and the Hessian''s lower triangle (p(p+1)/2): 56 + 8·(p + p(p+1)/2) bytes stored, 48 + 8·(p + p(p+1)/2) in binary.';

CREATE FUNCTION @extschema@.logreg_step_trans(@extschema@.logreg_step_state, double precision[], boolean, double precision[])
RETURNS @extschema@.logreg_step_state
    AS 'MODULE_PATHNAME', 'crm_logreg_step_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_trans(@extschema@.logreg_step_state, double precision[], boolean, double precision[]) IS
    'Transition function of crm.logreg_step: adds a row''s terms at beta, in place.';
CREATE FUNCTION @extschema@.logreg_step_combine(@extschema@.logreg_step_state, @extschema@.logreg_step_state)
RETURNS @extschema@.logreg_step_state
    AS 'MODULE_PATHNAME', 'crm_logreg_step_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_combine(@extschema@.logreg_step_state, @extschema@.logreg_step_state) IS
    'Combine function of crm.logreg_step: adds two partial states (parallel workers, Citus shards).';

CREATE AGGREGATE @extschema@.logreg_step(features double precision[], label boolean, beta double precision[]) (
    SFUNC = @extschema@.logreg_step_trans,
    STYPE = @extschema@.logreg_step_state,
    COMBINEFUNC = @extschema@.logreg_step_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.logreg_step(double precision[], boolean, double precision[]) IS
    'One Newton step''s sums of logistic regression at the coefficients beta (intercept first; NULL or empty: all zero), the same on every row: a crm.logreg_step_state. Rows with a NULL label or features are skipped; NULL without rows; 22023 for feature arrays of different lengths or a beta of the wrong length.';

CREATE FUNCTION @extschema@.logreg_step_newton(state @extschema@.logreg_step_state, beta double precision[], l2 double precision,
    OUT dimension integer, OUT rows bigint, OUT positives bigint, OUT objective double precision,
    OUT separates boolean, OUT direction double precision[], OUT full_move double precision)
    AS 'MODULE_PATHNAME', 'crm_logreg_step_newton' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.logreg_step_newton(@extschema@.logreg_step_state, double precision[], double precision) IS
    'The Newton step from crm.logreg_step''s sums at beta: the penalised objective -LL + l2/2·|beta[2:]|², whether beta separates the rows, the Newton direction (NULL when the penalised Hessian is singular) and its largest move relative to 1 + |beta|.';

CREATE FUNCTION @extschema@.logreg_fit_table(relation regclass, features text, label text,
                                             l2 double precision DEFAULT 0, max_iterations integer DEFAULT 100)
RETURNS double precision[]
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    -- one aggregate query per Newton step or line-search trial: on Citus, per-shard sums
    query text;
    state @extschema@.logreg_step_state;
    info record;
    next record;
    beta double precision[];
    candidate double precision[];
    last_step double precision[];
    objective double precision;
    full_move double precision;
    step double precision;
    iteration integer := 0;
    converged boolean := false;
    stalled boolean := false;
BEGIN
    IF relation IS NULL OR features IS NULL OR label IS NULL OR l2 IS NULL OR max_iterations IS NULL THEN
        RAISE EXCEPTION 'logreg_fit_table arguments must not be NULL'
            USING ERRCODE = '22004', HINT = 'Use 0 for no penalty.';
    END IF;
    IF NOT (l2 OPERATOR(pg_catalog.>=) 0 AND l2 OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8) THEN
        RAISE EXCEPTION 'l2 must be a finite, non-negative number'
            USING ERRCODE = '22023', DETAIL = pg_catalog.format('The l2 given was %s.', l2);
    END IF;
    IF max_iterations OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'max_iterations must be at least 1'
            USING ERRCODE = '22023', DETAIL = pg_catalog.format('The max_iterations given was %s.', max_iterations);
    END IF;
    -- the relation as regclass prints schema-qualified here (search_path is pg_catalog, pg_temp);
    -- the columns are quoted identifiers; the caller's rights and row-level security apply
    query := pg_catalog.format('SELECT @extschema@.logreg_step(%I, %I, $1) FROM %s', features, label, relation);

    EXECUTE query INTO state USING NULL::double precision[];
    IF state IS NULL THEN
        RETURN NULL;
    END IF;
    info := @extschema@.logreg_step_newton(state, NULL, l2);
    IF info.positives OPERATOR(pg_catalog.=) 0 OR info.positives OPERATOR(pg_catalog.=) info.rows THEN
        RAISE EXCEPTION 'logistic regression needs rows of both labels'
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('All %s rows have label %s.', info.rows, CASE WHEN info.positives OPERATOR(pg_catalog.=) 0 THEN 'false' ELSE 'true' END);
    END IF;
    beta := pg_catalog.array_fill(0::pg_catalog.float8, ARRAY[info.dimension OPERATOR(pg_catalog.+) 1]);
    last_step := beta;
    objective := info.objective;

    -- Newton's method as logreg_fit runs it (src/logreg.c, logreg_solve), one pass per trial
    WHILE iteration OPERATOR(pg_catalog.<) max_iterations AND NOT converged LOOP
        IF info.direction IS NULL THEN
            -- at the start all weights are 1/4: only a redundant design is singular there
            IF l2 OPERATOR(pg_catalog.=) 0 AND iteration OPERATOR(pg_catalog.>) 0 THEN
                stalled := true;
                EXIT;
            END IF;
            IF l2 OPERATOR(pg_catalog.=) 0 THEN
                RAISE EXCEPTION 'logistic regression design matrix is singular'
                    USING ERRCODE = '22023',
                          DETAIL = 'Some feature is constant or a linear combination of other features.',
                          HINT = 'Remove the redundant features, or pass a positive l2 penalty.';
            END IF;
            RAISE EXCEPTION 'logistic regression Hessian is singular despite the l2 penalty'
                USING ERRCODE = '22023', HINT = 'Use a larger l2 penalty or rescale the features.';
        END IF;
        full_move := info.full_move;
        step := 1;
        LOOP
            candidate := ARRAY(SELECT b OPERATOR(pg_catalog.+) (step OPERATOR(pg_catalog.*) v)
                               FROM ROWS FROM (pg_catalog.unnest(beta), pg_catalog.unnest(info.direction)) WITH ORDINALITY AS u(b, v, i)
                               ORDER BY i);
            EXECUTE query INTO state USING candidate;
            next := @extschema@.logreg_step_newton(state, candidate, l2);
            IF next.objective OPERATOR(pg_catalog.<=) objective OR step OPERATOR(pg_catalog.<) 1e-10 THEN
                objective := LEAST(next.objective, objective);
                EXIT;
            END IF;
            step := step OPERATOR(pg_catalog./) 2;
        END LOOP;
        last_step := ARRAY(SELECT c OPERATOR(pg_catalog.-) b
                           FROM ROWS FROM (pg_catalog.unnest(candidate), pg_catalog.unnest(beta)) WITH ORDINALITY AS u(c, b, i)
                           ORDER BY i);
        beta := candidate;
        info := next;
        converged := full_move OPERATOR(pg_catalog.<) 1e-9;
        iteration := iteration OPERATOR(pg_catalog.+) 1;
    END LOOP;

    IF l2 OPERATOR(pg_catalog.=) 0 THEN
        -- a separating direction among the coefficients or their last move: no finite maximum
        -- (the pass at beta counted the rows against x'beta = 0; the last move needs one more)
        IF NOT info.separates AND NOT converged THEN
            EXECUTE query INTO state USING last_step;
            next := @extschema@.logreg_step_newton(state, last_step, l2);
        END IF;
        IF info.separates OR (NOT converged AND next.separates) THEN
            RAISE EXCEPTION 'logistic regression does not converge: the classes are separable'
                USING ERRCODE = '22023',
                      DETAIL = 'Some combination of the features predicts the label perfectly, so the maximum-likelihood coefficients are infinite.',
                      HINT = 'Pass a positive l2 penalty, e.g. crm.logreg_fit_table(relation, features, label, 1.0).';
        END IF;
        IF stalled THEN
            RAISE EXCEPTION 'logistic regression does not converge: the Hessian became singular after % iterations', iteration
                USING ERRCODE = '22023',
                      DETAIL = 'Rows whose fitted probability rounds to 0 or 1 leave some direction of the coefficients undetermined, though no separating direction was found.',
                      HINT = 'Rescale the features, or pass a positive l2 penalty.';
        END IF;
    END IF;
    IF NOT converged THEN
        RAISE EXCEPTION 'logistic regression did not converge in % iterations', max_iterations
            USING ERRCODE = '22023', HINT = 'Use a larger l2 penalty or rescale the features.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.unnest(beta) AS b
               WHERE b OPERATOR(pg_catalog.=) ANY (ARRAY['Infinity', '-Infinity', 'NaN']::pg_catalog.float8[])) THEN
        RAISE EXCEPTION 'logistic regression coefficients are out of range'
            USING ERRCODE = '22003', HINT = 'Rescale the features.';
    END IF;
    RETURN beta;
END
$body$;
COMMENT ON FUNCTION @extschema@.logreg_fit_table(regclass, text, text, double precision, integer) IS
    'logreg_fit over a table or view by Newton passes (the MADlib pattern): one crm.logreg_step aggregate per Newton step, which Citus runs per shard, moving 48 + 8·(p + p(p+1)/2) bytes per shard and pass (p = features + 1) instead of the rows. The same coefficients and errors as crm.logreg_fit(features, label, l2) on the same rows. Security invoker: reads the relation with the caller''s rights and row-level security.';
