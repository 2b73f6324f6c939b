-- demo-ext: the demo generator leaves crm for an extension of its own, crm_demo (requires crm,
-- same schema), so a production install carries no demo code. The update drops the generator,
-- its random helpers and every capability's generate_demo_* hook from crm; the data they made
-- stays. To keep generating demo data after ALTER EXTENSION crm UPDATE: CREATE EXTENSION crm_demo
-- (it would fail before the update: the functions still belong to crm then).
DROP FUNCTION @extschema@.generate_demo_data(integer, integer, date);
DROP FUNCTION @extschema@.generate_demo_detractor_tasks(integer);
DROP FUNCTION @extschema@.generate_demo_subscriptions(integer);
DROP FUNCTION @extschema@.generate_demo_rfm(integer);
DROP FUNCTION @extschema@.generate_demo_lead_scoring(integer);
DROP FUNCTION @extschema@.generate_demo_segments(integer);
DROP FUNCTION @extschema@.demo_gamma(double precision, bigint, integer);
DROP FUNCTION @extschema@.demo_normal(bigint, integer);
DROP FUNCTION @extschema@.demo_uniform(bigint, integer);
DROP FUNCTION @extschema@.demo_key(integer, integer, bigint, integer);
