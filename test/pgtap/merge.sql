-- pgTAP: crm.merge_contacts and crm.unmerge (src/merge.sql, docs/data_quality.md "Merge and
-- unmerge"): arguments and SQLSTATEs, who may merge (SET ROLE), the dry run equal to the real
-- effect, re-pointing through the catalog's foreign keys (a user table in another schema too),
-- unique conflicts, survivorship rules, derived state equal to a recomputation from scratch, and
-- the round trip: every table identical before the merge and after the unmerge.
BEGIN;
SELECT plan(50);

-- Ana (sales) owns contacts 7001-7003: 7001 survives, 7002 and 7003 are its duplicates. Bob
-- (sales) owns 7004.
INSERT INTO crm.users (user_id, login_role, full_name, email, role, team) VALUES
    (7801, 'mg_ana', 'Ana', 'ana@mg.example', 'sales', 'west'), (7802, 'mg_bob', 'Bob', 'bob@mg.example', 'sales', 'east');
CREATE ROLE mg_ana; CREATE ROLE mg_bob;
GRANT crm_sales TO mg_ana, mg_bob;
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, phone, title, country, lifecycle_stage, owner_id, updated_at) VALUES
    (7001, 'Ann',  'Lee',   NULL,                  '+49 30 1110000', '',    'DE', 'customer', 7801, '2026-01-01'),
    (7002, 'Anne', 'Lee',   'ann.lee@example.com', NULL,             'CTO', 'DE', 'customer', 7801, '2026-02-01'),
    (7003, 'Ann',  'Leigh', NULL,                  NULL,             'VP',  NULL, 'lead',     7801, '2026-03-01'),
    (7004, 'Bo',   'Bell',  'bo@example.com',      NULL,             NULL,  NULL, 'lead',     7802, '2026-01-01');
INSERT INTO crm.activities (activity_id, contact_id, owner_id, channel, kind, occurred_at) VALUES
    (7101, 7001, 7801, 'email', 'note', '2026-01-05'), (7102, 7002, 7801, 'email', 'note', '2026-01-06'),
    (7103, 7002, 7801, 'phone', 'call', '2026-01-07'), (7104, 7002, 7801, 'web', 'page_view', '2026-01-08'),
    (7105, 7003, 7801, 'email', 'email_open', '2026-01-09'), (7106, 7003, 7801, 'email', 'email_click', '2026-01-10');
INSERT INTO crm.campaigns (campaign_id, name, channel, owner_id) VALUES
    (7900, 'mg A', 'email', 7801), (7901, 'mg B', 'email', 7801), (7902, 'mg C', 'email', 7801);
-- 7900: the survivor and 7002 (the survivor's row stays); 7901: 7002 and 7003 (7002's row, the
-- first duplicate named, stays); 7902: 7003 alone (re-pointed).
INSERT INTO crm.campaign_members (campaign_id, contact_id, status) VALUES
    (7900, 7001, 'sent'), (7900, 7002, 'responded'), (7901, 7002, 'converted'), (7901, 7003, 'sent'), (7902, 7003, 'targeted');
INSERT INTO crm.orders (order_id, contact_id, ordered_at, status, total) VALUES
    (7201, 7001, '2026-02-10', 'paid', 50), (7202, 7002, '2026-01-10', 'paid', 100);
INSERT INTO crm.leads (lead_id, contact_id, source, owner_id) VALUES (7501, 7002, 'web', 7801);
INSERT INTO crm.consent_history (contact_id, purpose, granted, source, effective_at) VALUES
    (7002, 'marketing_email', true, 'mg form', '2026-01-02');
-- Users' own tables in another schema: loyalty cards (re-pointed) and one profile per contact
-- (a unique key on the contact alone: the survivor's stays).
CREATE SCHEMA mg_ext;
CREATE TABLE mg_ext.loyalty (card_id int PRIMARY KEY, contact_id bigint REFERENCES crm.contacts, points int);
CREATE TABLE mg_ext.profile (profile_id int PRIMARY KEY, contact_id bigint UNIQUE REFERENCES crm.contacts, note text);
INSERT INTO mg_ext.loyalty VALUES (1, 7002, 10), (2, 7003, 20), (3, 7004, 30);
INSERT INTO mg_ext.profile VALUES (1, 7001, 'survivor''s'), (2, 7002, 'duplicate''s');
-- A card moving to another contact earns a point: an AFTER trigger rewrites the row the merge
-- has just re-pointed (a later change of a re-pointed row: the merge must log it whole, by
-- rerunning). And visits, whose BEFORE trigger marks a moved row (a column the merge does not
-- set itself: logged whole from the start). Both, like crm's own triggers, skip their work
-- while an unmerge restores rows (crm.restoring_dump()), as a dump's restore would.
CREATE FUNCTION mg_ext.card_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mg_ext.loyalty SET points = points + 1 WHERE card_id = NEW.card_id;
    RETURN NULL;
END $$;
CREATE TRIGGER card_moved AFTER UPDATE OF contact_id ON mg_ext.loyalty FOR EACH ROW
    WHEN (OLD.contact_id IS DISTINCT FROM NEW.contact_id AND NOT crm.restoring_dump()) EXECUTE FUNCTION mg_ext.card_moved();
CREATE TABLE mg_ext.visits (visit_id int PRIMARY KEY, contact_id bigint REFERENCES crm.contacts, moved boolean NOT NULL DEFAULT false);
CREATE FUNCTION mg_ext.visit_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.moved := NEW.moved OR OLD.contact_id IS DISTINCT FROM NEW.contact_id;
    RETURN NEW;
END $$;
CREATE TRIGGER visit_moved BEFORE UPDATE ON mg_ext.visits FOR EACH ROW WHEN (NOT crm.restoring_dump())
    EXECUTE FUNCTION mg_ext.visit_moved();
INSERT INTO mg_ext.visits VALUES (1, 7001, false), (2, 7003, false), (3, 7003, false);
-- A partitioned table (ctids are per partition: logged whole).
CREATE TABLE mg_ext.clicks (click_id int PRIMARY KEY, contact_id bigint REFERENCES crm.contacts) PARTITION BY RANGE (click_id);
CREATE TABLE mg_ext.clicks_low PARTITION OF mg_ext.clicks FOR VALUES FROM (0) TO (100);
CREATE TABLE mg_ext.clicks_high PARTITION OF mg_ext.clicks FOR VALUES FROM (100) TO (200);
INSERT INTO mg_ext.clicks VALUES (1, 7002), (2, 7001), (150, 7003);
-- Derived state before the merge: an RFM snapshot and a segment of customers with two orders.
SELECT crm.refresh_rfm('2026-03-01');
INSERT INTO crm.segments (segment_id, name) VALUES (7950, 'mg two orders');
INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (7950, 'orders', '>=', '2');
SELECT crm.refresh_segments();
-- When each contact was last updated (after the triggers above touched them).
UPDATE crm.contacts c SET updated_at = v.u::timestamptz
FROM (VALUES (7001, '2026-01-01'), (7002, '2026-02-01'), (7003, '2026-03-01'), (7004, '2026-01-01')) v(id, u)
WHERE c.contact_id = v.id AND c.updated_at <> v.u::timestamptz;  -- (equal: the trigger would stamp now())
-- Survivorship configured: last_name from the most recently updated contact.
INSERT INTO crm.merge_survivorship (column_name, rule) VALUES ('last_name', 'most_recent');

-- A snapshot of every table of crm (but the merge log, and the trigram counts of duplicate
-- matching: lower bounds that the merge's deletes lower and the unmerge's inserts, by design, do
-- not raise; test/pgtap/dedupe.sql checks them) and of mg_ext: md5 of its rows.
CREATE FUNCTION pg_temp.snapshot() RETURNS TABLE (tbl text, digest text) LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass::text AS name FROM pg_class c
             WHERE c.relnamespace IN ('crm'::regnamespace, 'mg_ext'::regnamespace) AND c.relkind = 'r'
               AND c.relname NOT IN ('merges', 'merge_rows', 'duplicate_trigram_counts') ORDER BY 1 LOOP
        tbl := r.name;
        EXECUTE format('SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM %s x', '|', '', r.name) INTO digest;
        RETURN NEXT;
    END LOOP;
END $$;
CREATE TEMP TABLE before_merge AS SELECT * FROM pg_temp.snapshot();

-- ---------------------------------------------------------------------------------------------
-- Arguments
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(NULL, ARRAY[7002::bigint])$$, '22004', NULL, 'NULL survivor: 22004');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, NULL)$$, '22004', NULL, 'NULL duplicates: 22004');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7002, NULL]::bigint[])$$, '22004', NULL, 'a NULL duplicate: 22004');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7002::bigint], NULL)$$, '22004', NULL, 'NULL dry_run: 22004');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, '{}')$$, '22023', NULL, 'no duplicates: 22023');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7001::bigint])$$, '22023', NULL, 'the survivor among the duplicates: 22023');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7002, 7002]::bigint[])$$, '22023', NULL, 'a duplicate named twice: 22023');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY(SELECT generate_series(8000000, 8001000)::bigint))$$, '54000', NULL,
                 'more than 1000 duplicates: 54000');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[6999999::bigint])$$, '42501', NULL, 'an unknown contact: 42501 (as one not visible)');
SELECT throws_ok($$SELECT * FROM crm.unmerge(NULL)$$, '22004', NULL, 'unmerge(NULL): 22004');
SELECT throws_ok($$SELECT * FROM crm.unmerge(-1)$$, '22023', NULL, 'unmerge of an unknown merge: 22023');
SELECT throws_ok($$INSERT INTO crm.merge_survivorship VALUES ('email', 'longest')$$, '23514', NULL, 'an unknown rule: 23514');
SELECT throws_ok($$INSERT INTO crm.merge_survivorship VALUES ('marketing_consent', 'survivor')$$, '23514', NULL,
                 'consent columns follow the consent history, no rule: 23514');

-- ---------------------------------------------------------------------------------------------
-- Who may merge: only contacts the caller may update (row-level security)
SET ROLE mg_bob;
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7004, ARRAY[7001::bigint])$$, '42501', NULL,
                 'Bob may not merge Ana''s contact into his: 42501');
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7002::bigint], true)$$, '42501', NULL,
                 'nor run a dry run on her contacts: 42501');
RESET ROLE;
SET ROLE mg_ana;
SELECT throws_ok($$SELECT * FROM crm.merge_contacts(7001, ARRAY[7004::bigint])$$, '42501', NULL,
                 'Ana may not merge Bob''s contact into hers: 42501');
SELECT throws_ok($$INSERT INTO crm.merges (survivor_id, duplicate_ids) VALUES (7001, ARRAY[7004::bigint])$$, '42501', NULL,
                 'nor request such a merge by hand (policy of crm.merges): 42501');
SELECT throws_ok($$SELECT * FROM crm.merge_apply(1)$$, '42501', NULL,
                 'merge_apply acts only on a merge requested by the current transaction: 42501');
SELECT throws_ok($$SELECT * FROM crm.merge_rows$$, '42501', NULL, 'the before-images: admins only');

-- ---------------------------------------------------------------------------------------------
-- The dry run changes nothing and returns exactly what the merge then does.
CREATE TEMP TABLE dry AS SELECT row_number() OVER () AS n, * FROM crm.merge_contacts(7001, ARRAY[7002, 7003]::bigint[], true);
RESET ROLE;
SELECT is_empty($$SELECT * FROM before_merge EXCEPT SELECT * FROM pg_temp.snapshot()$$, 'the dry run changes no table');
SELECT is((SELECT count(*)::int FROM dry WHERE merge_id IS NOT NULL), 0, 'a dry run has no merge id');
SET ROLE mg_ana;
CREATE TEMP TABLE real AS SELECT row_number() OVER () AS n, * FROM crm.merge_contacts(7001, ARRAY[7002, 7003]::bigint[]);
RESET ROLE;
SELECT max(merge_id) AS mid FROM real \gset
-- the same rows, but for what a sequence or the clock gives (ids of new history rows, the moment
-- a lead was rescored, and so the digest of the re-pointed leads)
SELECT set_eq($$SELECT n, relation, action, key - 'history_id' AS k, before - 'scored_at' AS b, after - 'scored_at' - 'history_id' - 'digest' AS a FROM dry$$,
              $$SELECT n, relation, action, key - 'history_id' AS k, before - 'scored_at' AS b, after - 'scored_at' - 'history_id' - 'digest' AS a FROM real$$,
              'the dry run returned exactly what the merge did');
SELECT set_eq($$SELECT relation, action, key, before, after FROM real$$,
              format('SELECT relation, action, key, before, after FROM crm.merge_rows WHERE merge_id = %s', :mid),
              'and what crm.merge_rows logged');
SELECT is((SELECT row(survivor_id, duplicate_ids, state, merged_by)::text FROM crm.merges WHERE merge_id = :mid),
          row(7001::bigint, ARRAY[7002, 7003]::bigint[], 'merged', 'mg_ana'::name)::text, 'the merge is logged, by Ana');

-- ---------------------------------------------------------------------------------------------
-- The effect
SELECT is((SELECT count(*)::int FROM crm.contacts WHERE contact_id IN (7002, 7003)), 0, 'the duplicates are gone');
SELECT is((SELECT array_agg(activity_id ORDER BY activity_id) FROM crm.activities WHERE contact_id = 7001),
          '{7101,7102,7103,7104,7105,7106}'::bigint[], 'every activity now belongs to the survivor');
SELECT is((SELECT array_agg(order_id ORDER BY order_id) FROM crm.orders WHERE contact_id = 7001), '{7201,7202}'::bigint[], 'orders too');
SELECT is((SELECT contact_id FROM crm.leads WHERE lead_id = 7501), 7001::bigint, 'leads too');
SELECT is((SELECT array_agg(card_id ORDER BY card_id) FROM mg_ext.loyalty WHERE contact_id = 7001), '{1,2}'::int[],
          'a user table in another schema referencing crm.contacts is re-pointed');
SELECT is((SELECT array_agg(row(card_id, points) ORDER BY card_id)::text FROM mg_ext.loyalty), '{"(1,11)","(2,21)","(3,30)"}',
          'the moved cards earned their point (the user''s trigger ran)');
SELECT is((SELECT array_agg(row(visit_id, contact_id, moved) ORDER BY visit_id)::text FROM mg_ext.visits),
          '{"(1,7001,f)","(2,7001,t)","(3,7001,t)"}', 'the moved visits are marked (the user''s BEFORE trigger ran)');
-- How each table's re-pointed rows were logged, by hand: one row per table, the keys in key
-- order. Activities: 7102-7104 (7002's), 7105-7106 (7003's); the contact column and updated_at
-- (crm.touch_updated_at) only. Loyalty: rewritten by a later trigger, so every column (rerun).
-- Visits: a BEFORE trigger of the user's, every column from the start. Leads: rescored later,
-- every column.
SELECT is((SELECT key::text || ' ' || (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(before) k) FROM real
           WHERE relation = 'crm.activities' AND action = 'repoint'),
          '{"activity_id": [7102, 7103, 7104, 7105, 7106]} contact_id,updated_at', 'activities: keys, contact and updated_at logged');
SELECT is((SELECT before::text FROM real WHERE relation = 'mg_ext.loyalty' AND action = 'repoint'),
          '{"points": [10, 20], "card_id": [1, 2], "contact_id": [7002, 7003]}', 'loyalty: logged whole (rewritten later)');
SELECT is((SELECT before::text FROM real WHERE relation = 'mg_ext.visits' AND action = 'repoint'),
          '{"moved": [false, false], "visit_id": [2, 3], "contact_id": [7003, 7003]}', 'visits: logged whole (a BEFORE trigger)');
SELECT is((SELECT before -> 'score' IS NOT NULL FROM real WHERE relation = 'crm.leads' AND action = 'repoint'), true,
          'leads: logged whole (rescored later)');
SELECT is((SELECT row(key, before, after -> 'rows')::text FROM real WHERE relation = 'mg_ext.clicks' AND action = 'repoint'),
          row('{"click_id": [1, 150]}'::jsonb, '{"click_id": [1, 150], "contact_id": [7002, 7003]}'::jsonb, '2'::jsonb)::text,
          'a partitioned table: both partitions'' rows re-pointed, logged whole');
SELECT is((SELECT array_agg(row(profile_id, note)::text) FROM mg_ext.profile), ARRAY[row(1, 'survivor''s')::text],
          'a unique key on the contact alone: the survivor''s row stays, the duplicate''s goes');
SELECT set_eq($$SELECT campaign_id, contact_id, status FROM crm.campaign_members WHERE campaign_id BETWEEN 7900 AND 7902$$,
              $$VALUES (7900::bigint, 7001::bigint, 'sent'), (7901, 7001, 'converted'), (7902, 7001, 'targeted')$$,
              'campaign membership kept once: the survivor''s, else the first duplicate''s');
-- Survivorship, by hand: first_name non_empty: the survivor's Ann. last_name most_recent (configured):
-- 7003 was updated last, Leigh. email non_empty: the survivor has none; of the duplicates, the most
-- recently updated (7003) has none, 7002's it is. phone: the survivor's. title non_empty: the
-- survivor's is blank, 7003's VP. country non_empty: DE (the survivor's). lifecycle_stage
-- most_recent: 7003's lead. owner: the survivor's. Marketing consent: 7002's history, now the
-- survivor's: granted on 2026-01-02 by 'mg form'.
SELECT is((SELECT row(first_name, last_name, email, phone, title, country, lifecycle_stage, owner_id,
                      marketing_consent, consent_at, consent_source)::text FROM crm.contacts WHERE contact_id = 7001),
          row('Ann', 'Leigh', 'ann.lee@example.com', '+49 30 1110000', 'VP', 'DE', 'lead', 7801::bigint,
              true, '2026-01-02'::timestamptz, 'mg form')::text,
          'the survivor''s fields follow the survivorship rules; its consent follows the merged history');
-- Derived state equal to a recomputation from scratch.
SELECT is((SELECT row(orders, total_spent)::text FROM crm.customer_360 WHERE contact_id = 7001),
          (SELECT row(count(*), sum(total))::text FROM crm.purchases WHERE contact_id = 7001), 'order stats: two orders, 150');
SELECT set_eq($$SELECT contact_id, recency, frequency, monetary, rfm::text, segment FROM crm.rfm_history WHERE as_of = '2026-03-01'$$,
              $$SELECT s.contact_id, s.recency, s.frequency, s.monetary, s.rfm::text, m.segment
                FROM crm.rfm_scores('2026-03-01') s
                LEFT JOIN crm.rfm_segment_map m ON m.active
                 AND crm.recency_score(s.rfm) BETWEEN m.recency_min AND m.recency_max
                 AND crm.frequency_score(s.rfm) BETWEEN m.frequency_min AND m.frequency_max$$,
              'the RFM snapshot equals one computed from scratch');
SELECT set_eq($$SELECT contact_id FROM crm.segment_members WHERE segment_id = 7950$$,
              $$SELECT contact_id FROM crm.customer_360 WHERE orders >= 2$$,
              'segment membership equals the segment''s rule evaluated now (the survivor joined)');
SELECT is((SELECT score FROM crm.leads WHERE lead_id = 7501),
          (SELECT crm.lead_score(7501, scored_at) FROM crm.leads WHERE lead_id = 7501), 'the lead''s score equals a rescoring');
SELECT is((SELECT count(*)::int FROM crm.duplicate_candidates WHERE contact_a IN (7002, 7003) OR contact_b IN (7002, 7003)), 0,
          'no duplicate pair names a merged contact any more');

-- ---------------------------------------------------------------------------------------------
-- Unmerge: refused after a later change of a re-pointed row; then, undone, every table as before.
SET ROLE mg_bob;
SELECT throws_ok(format('SELECT * FROM crm.unmerge(%s)', :mid), '22023', NULL,
                 'Bob does not even see Ana''s merge: 22023');
RESET ROLE;
SAVEPOINT later_change;
UPDATE crm.activities SET details = '{"later": true}' WHERE activity_id = 7104;
SELECT throws_ok(format('SELECT * FROM crm.unmerge(%s)', :mid), '55000', NULL,
                 'a re-pointed row changed since the merge: unmerge refuses, 55000');
ROLLBACK TO SAVEPOINT later_change;
SET ROLE mg_ana;
SELECT ok((SELECT count(*) > 0 FROM crm.unmerge(:mid)), 'Ana undoes her merge');
RESET ROLE;
SELECT is_empty($$SELECT * FROM before_merge EXCEPT SELECT * FROM pg_temp.snapshot()$$,
                'round trip: every table identical before the merge and after the unmerge');
SELECT throws_ok(format('SELECT * FROM crm.unmerge(%s)', :mid), '55000', NULL, 'undone once only: 55000');

-- A duplicate who is a loyalty member (its ledger refers to the membership by program and
-- contact): refused with 0A000 before anything moves (before: the ledger's foreign key, 23503).
RESET ROLE;
INSERT INTO crm.contacts (contact_id, first_name, last_name, owner_id) VALUES (61001, 'Lia', 'Berg', 7801), (61002, 'Lia', 'Berg', 7801);
INSERT INTO crm.loyalty_programs (program_id, name) VALUES (61900, 'merge test program');
INSERT INTO crm.loyalty_ledger (program_id, contact_id, kind, points, occurred_at) VALUES (61900, 61002, 'earn', 10, '2026-01-01');
SET ROLE mg_ana;
SELECT throws_ok('SELECT * FROM crm.merge_contacts(61001, ARRAY[61002::bigint], true)', '0A000',
                 'contact 61002 is a loyalty member: merging loyalty memberships is not supported yet',
                 'a duplicate who is a loyalty member: 0A000, nothing moves');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
