-- upgrade/0.1--0.2/models.sql: branch models (logistic regression, k-means, survival, AUC, P(alive)).

-- crm.km_median: the midpoint of an interval where S(t) = 0.5, as R's survfit (C change; comment).
COMMENT ON FUNCTION @extschema@.km_median(@extschema@.survival_curve) IS
    'Median survival time: the first time at which S(t) < 0.5, or the midpoint of the interval where S(t) = 0.5 (as R''s survfit); NULL when the curve never drops to 0.5.';

-- crm.kmeans: greedy k-means++ and Hartigan refinement (C); the four-argument form returns the new
-- crm.kmeans_model (centroids and scaling), so its return type changes: DROP and CREATE. A view
-- using crm.kmeans(features, k, seed, standardize) must be dropped before the upgrade.
COMMENT ON FUNCTION @extschema@.kmeans_final(internal) IS
    'crm.kmeans final: greedy k-means++ seeding, Lloyd iterations and Hartigan refinement from several starts; the centroids of the lowest inertia.';
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

CREATE FUNCTION @extschema@.kmeans_model_final(internal) RETURNS @extschema@.kmeans_model
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_final' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_model_final(internal) IS
    'crm.kmeans final (with standardize): the fit as a crm.kmeans_model, the scaling included.';

DROP AGGREGATE @extschema@.kmeans(double precision[], integer, integer, boolean);
CREATE AGGREGATE @extschema@.kmeans(features double precision[], k integer, seed integer, standardize boolean) (
    SFUNC = @extschema@.kmeans_transition, STYPE = internal,
    FINALFUNC = @extschema@.kmeans_model_final,
    COMBINEFUNC = @extschema@.kmeans_combine,
    SERIALFUNC = @extschema@.kmeans_serialize, DESERIALFUNC = @extschema@.kmeans_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.kmeans(double precision[], integer, integer, boolean) IS
    'k-means clustering; with standardize, each feature is scaled to mean 0 and standard deviation 1 before clustering. Returns a crm.kmeans_model (centroids and scaling): crm.kmeans_assign(features, model) reproduces the fit''s clusters, crm.kmeans_centroids(model) gives the centroids in the original units.';

CREATE FUNCTION @extschema@.kmeans_assign(features double precision[], model @extschema@.kmeans_model) RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_assign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_assign(double precision[], @extschema@.kmeans_model) IS
    'The 1-based cluster of the features under the model: standardized with the model''s means and scales exactly as in the fit, then the nearest centroid (the lowest on ties); the clusters the fit formed.';
CREATE FUNCTION @extschema@.kmeans_centroids(model @extschema@.kmeans_model) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'crm_kmeans_model_centroids' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.kmeans_centroids(@extschema@.kmeans_model) IS
    'The model''s centroids in the features'' original units (centroid x scale + mean), a k x d array, rows in ascending order.';
