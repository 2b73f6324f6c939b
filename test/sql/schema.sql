-- The CRM schema at work: a deal moving through the pipeline leaves its history behind,
-- an order's total is the sum of its lines, and constraint violations name the constraint.
SET client_min_messages = warning;

INSERT INTO crm.users (user_id, login_role, full_name, email, role, team)
VALUES (1, 'ana', 'Ana Reyes', 'ana@example.com', 'sales', 'west');
INSERT INTO crm.accounts (account_id, name, domain, industry, employee_count, owner_id)
VALUES (1, 'Initech', 'initech.example', 'Software', 250, 1);
INSERT INTO crm.contacts (contact_id, account_id, first_name, last_name, email, owner_id)
VALUES (1, 1, 'Peter', 'Gibbons', 'peter@initech.example', 1);

-- The seeded pipeline, in order.
SELECT position, name, probability, is_won, is_lost, forecast_category
FROM crm.pipeline_stages ORDER BY position;

-- A deal enters at "prospect" and moves twice: three history rows, each naming the stage it left.
INSERT INTO crm.opportunities (opportunity_id, name, account_id, contact_id, amount, stage_id, owner_id)
VALUES (1, 'Initech TPS licences', 1, 1, 12000, 2, 1);
UPDATE crm.opportunities SET stage_id = 4 WHERE opportunity_id = 1;
UPDATE crm.opportunities SET amount = 11000 WHERE opportunity_id = 1;  -- not a stage change
UPDATE crm.opportunities SET stage_id = 6, closed_at = now() WHERE opportunity_id = 1;
SELECT f.name AS from_stage, t.name AS to_stage, h.changed_by_role = current_user AS by_me
FROM crm.opportunity_stage_history h
LEFT JOIN crm.pipeline_stages f ON f.stage_id = h.from_stage_id
JOIN crm.pipeline_stages t ON t.stage_id = h.to_stage_id
WHERE h.opportunity_id = 1 ORDER BY h.history_id;

-- Order total = 2 x 10.00 + 1 x 100.00 at 25% off = 95.00; removing the first line leaves 75.00.
INSERT INTO crm.products (product_id, sku, name, unit_price) VALUES (1, 'STAPLER', 'Red stapler', 10), (2, 'TPS', 'TPS cover sheets', 100);
INSERT INTO crm.orders (order_id, contact_id, ordered_at) VALUES (1, 1, '2026-01-15');
INSERT INTO crm.order_lines (order_id, product_id, quantity, unit_price, discount)
VALUES (1, 1, 2, 10.00, 0), (1, 2, 1, 100.00, 0.25);
SELECT total FROM crm.orders WHERE order_id = 1;
DELETE FROM crm.order_lines WHERE order_id = 1 AND product_id = 1;
SELECT total FROM crm.orders WHERE order_id = 1;

-- Out-of-scale answers and unrecorded consent are refused, naming the constraint.
\set VERBOSITY terse
INSERT INTO crm.survey_responses (contact_id, kind, score) VALUES (1, 'csat', 9);
UPDATE crm.contacts SET marketing_consent = true WHERE contact_id = 1;
-- Seeded stages can be retired, not deleted.
DELETE FROM crm.pipeline_stages WHERE name = 'quote';
