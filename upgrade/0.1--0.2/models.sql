-- upgrade/0.1--0.2/models.sql: branch models (logistic regression, k-means, survival, AUC, P(alive)).

-- crm.km_median: the midpoint of an interval where S(t) = 0.5, as R's survfit (C change; comment).
COMMENT ON FUNCTION @extschema@.km_median(@extschema@.survival_curve) IS
    'Median survival time: the first time at which S(t) < 0.5, or the midpoint of the interval where S(t) = 0.5 (as R''s survfit); NULL when the curve never drops to 0.5.';
