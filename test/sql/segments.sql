-- The customer 360 view and rule-based segments at work: a segment is rules over the view's
-- columns, stored as data and compiled with quoted identifiers and literals; membership keeps its
-- history; a campaign drawn from a segment leaves out everyone without marketing consent.
SET client_min_messages = warning;
BEGIN;
-- Four contacts: Ann (DE, consented, 3 paid orders for 175), Ben (FR, consented, 1 order of 500),
-- Cy (DE, no consent, only a cancelled order), Di (US, consented, no orders).
INSERT INTO crm.contacts (contact_id, first_name, country, marketing_consent, consent_at, consent_source) VALUES
    (801, 'Ann', 'DE', true, now(), 'form'), (802, 'Ben', 'FR', true, now(), 'form'),
    (803, 'Cy', 'DE', false, NULL, NULL), (804, 'Di', 'US', true, now(), 'form');
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES
    (801, now() - interval '40 days', 'paid', 100), (801, now() - interval '20 days', 'shipped', 50),
    (801, now() - interval '2 days', 'paid', 25), (802, now() - interval '300 days', 'paid', 500),
    (803, now() - interval '5 days', 'cancelled', 80);
SELECT contact_id, first_name, country, marketing_consent, orders, total_spent
FROM crm.customer_360 WHERE contact_id BETWEEN 801 AND 804 ORDER BY contact_id;

-- "European buyers": country in {DE, FR} and at least one order: Ann and Ben (Cy's order was
-- cancelled, so Cy has none).
INSERT INTO crm.segments (segment_id, name, combine) VALUES (81, 'European buyers', 'and');
INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES
    (81, 'country', 'in', '{DE,FR}'), (81, 'orders', '>=', '1');
SELECT crm.segment_condition(81);
SELECT members, joined, departed FROM crm.refresh_segment(81);
SELECT contact_id FROM crm.segment_members WHERE segment_id = 81 ORDER BY contact_id;

-- Cy buys: the next refresh lets Cy in and records when.
INSERT INTO crm.orders (contact_id, ordered_at, status, total) VALUES (803, now(), 'paid', 80);
SELECT members, joined, departed FROM crm.refresh_segment(81);
SELECT contact_id, left_at IS NULL AS still_a_member FROM crm.segment_membership_history WHERE segment_id = 81 ORDER BY contact_id;

-- A campaign drawn from the segment: Cy gave no consent and is left out.
INSERT INTO crm.campaigns (campaign_id, name, channel) VALUES (81, 'Autumn', 'email');
SELECT crm.add_segment_to_campaign(81, 81) AS added;
SELECT contact_id FROM crm.campaign_members WHERE campaign_id = 81 ORDER BY contact_id;

-- A rule value is a value: this one is compared as a string and matches nobody.
INSERT INTO crm.segments (segment_id, name) VALUES (82, 'Injected');
INSERT INTO crm.segment_rules (segment_id, column_name, operator, value) VALUES (82, 'first_name', '=', '''); DROP TABLE crm.contacts; --');
SELECT crm.segment_condition(82);
SELECT members FROM crm.refresh_segment(82);

-- Rules naming an unknown column, or with a value of the wrong type, are refused when written.
\set VERBOSITY terse
SAVEPOINT refused;
INSERT INTO crm.segment_rules (rule_id, segment_id, column_name, operator, value) VALUES (8101, 81, 'salary', '>', '1000');
ROLLBACK TO SAVEPOINT refused;
INSERT INTO crm.segment_rules (rule_id, segment_id, column_name, operator, value) VALUES (8102, 81, 'orders', '>', 'many');
ROLLBACK TO SAVEPOINT refused;
\set VERBOSITY default
ROLLBACK;
