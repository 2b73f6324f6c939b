-- Merge and unmerge worked by hand (src/merge.sql, docs/data_quality.md "Merge and unmerge").
-- Ann Lee was entered twice: contact 60001 (no e-mail, no title, updated 2026-01-01) and 60002
-- (Anne Lee, ann.lee@example.com, CTO, updated 2026-02-01). Both are in campaign 60900; 60002
-- has two activities, 60001 one.
SET client_min_messages = warning;
BEGIN;
INSERT INTO crm.contacts (contact_id, first_name, last_name, email, title, lifecycle_stage, updated_at) VALUES
    (60001, 'Ann', 'Lee', NULL, NULL, 'lead', '2026-01-01'),
    (60002, 'Anne', 'Lee', 'ann.lee@example.com', 'CTO', 'customer', '2026-02-01');
INSERT INTO crm.activities (activity_id, contact_id, channel, kind, occurred_at) VALUES
    (60101, 60001, 'email', 'note', '2026-01-05'), (60102, 60002, 'phone', 'call', '2026-01-06'),
    (60103, 60002, 'web', 'page_view', '2026-01-07');
-- The signup events the journeys' trigger recorded for both (src/journeys.sql) are left out of
-- this example: their ids come from a sequence other examples advance.
DELETE FROM crm.journey_events WHERE contact_id IN (60001, 60002);
INSERT INTO crm.campaigns (campaign_id, name, channel) VALUES (60900, 'Spring', 'email');
INSERT INTO crm.campaign_members (campaign_id, contact_id, status) VALUES (60900, 60001, 'sent'), (60900, 60002, 'responded');

-- The dry run: what merging 60002 into 60001 would change, row by row, and nothing changes.
-- By hand: the survivor's row is updated and the duplicate's deleted (crm.contacts); the
-- duplicate's membership of campaign 60900 conflicts with the survivor's on the key
-- (campaign_id, contact_id), so it is deleted; its two activities are re-pointed (one row for
-- the table: their keys as an array, 60102 and 60103, so 5 rows in all). The insert
-- trigger of duplicate detection stored the pair (60001, 60002) in crm.duplicate_candidates
-- (Ann/Anne: Jaro-Winkler 0.94 >= 0.92; Lee: exact): derived state of the duplicate, deleted
-- with it.
SELECT relation, action, key FROM crm.merge_contacts(60001, ARRAY[60002::bigint], true) ORDER BY relation, action, key::text;
SELECT count(*) AS contacts_still_there FROM crm.contacts WHERE contact_id IN (60001, 60002);

-- The merge. Survivorship by the built-in rules: first_name non_empty, the survivor's Ann;
-- email non_empty, the survivor has none: 60002's; title likewise CTO; lifecycle_stage
-- most_recent: 60002 was updated last, customer.
SELECT count(*) AS rows_changed FROM crm.merge_contacts(60001, ARRAY[60002::bigint]);
SELECT contact_id, first_name, last_name, email, title, lifecycle_stage FROM crm.contacts WHERE contact_id IN (60001, 60002);
SELECT activity_id, contact_id FROM crm.activities WHERE activity_id BETWEEN 60101 AND 60103 ORDER BY activity_id;
SELECT contact_id, status FROM crm.campaign_members WHERE campaign_id = 60900;

-- Unmerge: both contacts, the activities and the membership as they were.
SELECT relation, action, rows FROM crm.unmerge((SELECT max(merge_id) FROM crm.merges)) ORDER BY relation, action;
SELECT contact_id, first_name, last_name, email, title, lifecycle_stage, to_char(updated_at, 'YYYY-MM-DD') AS updated FROM crm.contacts
WHERE contact_id IN (60001, 60002) ORDER BY contact_id;
SELECT activity_id, contact_id FROM crm.activities WHERE activity_id BETWEEN 60101 AND 60103 ORDER BY activity_id;
SELECT contact_id, status FROM crm.campaign_members WHERE campaign_id = 60900 ORDER BY contact_id;
ROLLBACK;
