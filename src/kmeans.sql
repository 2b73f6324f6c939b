-- src/kmeans.sql: k-means clustering (src/kmeans.c): the crm.kmeans aggregate and crm.kmeans_assign.

CREATE FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_kmeans_transition' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer) IS
    'crm.kmeans transition: adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_kmeans_transition' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer, integer) IS
    'crm.kmeans transition (with a seed): adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer, integer, boolean) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_kmeans_transition' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_transition(internal, double precision[], integer, integer, boolean) IS
    'crm.kmeans transition (with a seed and the standardize option): adds one feature vector to the points held (NULL rows are skipped).';
CREATE FUNCTION @extschema@.kmeans_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_kmeans_combine' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_combine(internal, internal) IS
    'crm.kmeans combine: concatenates the points of two partial states.';
CREATE FUNCTION @extschema@.kmeans_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_kmeans_serialize' LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_serialize(internal) IS
    'crm.kmeans serialize: the parameters and the points of a partial state.';
CREATE FUNCTION @extschema@.kmeans_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_kmeans_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_deserialize(bytea, internal) IS
    'crm.kmeans deserialize: a partial state, every length and coordinate validated.';
CREATE FUNCTION @extschema@.kmeans_final(internal) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_final' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_final(internal) IS
    'crm.kmeans final: k-means++ seeding and Lloyd iterations from several starts; the centroids of the lowest inertia.';

CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer) (
    SFUNC = @extschema@.kmeans_transition, STYPE = internal,
    FINALFUNC = @extschema@.kmeans_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    SERIALFUNC = @extschema@.kmeans_serialize, DESERIALFUNC = @extschema@.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer) IS
    'k-means clustering of the feature vectors into k clusters (seed 42): the centroids as a k x d array, rows in ascending order. NULL rows are skipped; NULL for no rows.';
CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer, seed integer) (
    SFUNC = @extschema@.kmeans_transition, STYPE = internal,
    FINALFUNC = @extschema@.kmeans_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    SERIALFUNC = @extschema@.kmeans_serialize, DESERIALFUNC = @extschema@.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer, integer) IS
    'k-means clustering of the feature vectors into k clusters, reproducible for the seed: the centroids as a k x d array, rows in ascending order.';
CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer, seed integer, standardize boolean) (
    SFUNC = @extschema@.kmeans_transition, STYPE = internal,
    FINALFUNC = @extschema@.kmeans_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    SERIALFUNC = @extschema@.kmeans_serialize, DESERIALFUNC = @extschema@.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer, integer, boolean) IS
    'k-means clustering; with standardize, each feature is scaled to mean 0 and standard deviation 1 before clustering, and the centroids are returned in the original units.';

CREATE FUNCTION @extschema@.kmeans_assign(features double precision[], centroids double precision[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_kmeans_assign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_assign(double precision[], double precision[]) IS
    'The 1-based row number of the centroid (k x d array, as crm.kmeans returns) nearest to the features; the lowest on ties.';
