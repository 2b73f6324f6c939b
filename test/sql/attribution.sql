-- Multi-touch attribution: worked examples, each derived by hand in the comments (docs/attribution.md
-- walks through the same numbers). The column "by_hand" holds the hand-derived credit and "ok"
-- compares it with what crm.attribute returns.
SET timezone = 'UTC';

-- A 4-touch path worth 100.00: hundredths are the unit, 10000 units.
--   first_touch: all to touch 1.   last_touch: all to touch 4.
--   linear: 10000 / 4 = 2500 units each, 25.00.
--   position_based: 40% first, 40% last, 20% over the 2 middle touches: 40.00, 10.00, 10.00, 40.00.
CREATE TEMP TABLE by_hand (model text, pos integer, credit numeric);
INSERT INTO by_hand VALUES
    ('first_touch', 1, 100.00), ('first_touch', 2, 0.00), ('first_touch', 3, 0.00), ('first_touch', 4, 0.00),
    ('last_touch', 1, 0.00), ('last_touch', 2, 0.00), ('last_touch', 3, 0.00), ('last_touch', 4, 100.00),
    ('linear', 1, 25.00), ('linear', 2, 25.00), ('linear', 3, 25.00), ('linear', 4, 25.00),
    ('position_based', 1, 40.00), ('position_based', 2, 10.00), ('position_based', 3, 10.00), ('position_based', 4, 40.00);
SELECT h.model, a.position, a.channel, a.credit, h.credit AS by_hand, a.credit = h.credit AS ok
FROM (VALUES ('first_touch'), ('last_touch'), ('linear'), ('position_based')) m(model)
CROSS JOIN LATERAL crm.attribute(ARRAY['search', 'email', 'social', 'direct'],
    ARRAY['2026-03-01', '2026-03-05', '2026-03-09', '2026-03-10']::timestamptz[], 100.00, m.model) a
JOIN by_hand h ON h.model = m.model AND h.pos = a.position
ORDER BY h.model, a.position;

-- Time decay, half-life 7 days, conversion on 2026-03-15: touches 14, 7 and 0 days before it weigh
-- 2^-2, 2^-1, 2^0 = 1/4, 1/2, 1; the total 7/4 gives shares 1/7, 2/7, 4/7 of 10000 units:
-- 1428.571..., 2857.142..., 5714.285... -> floors 1428 + 2857 + 5714 = 9999; the one unit left
-- goes to the largest remainder, 0.571 (touch 1): 14.29, 28.57, 57.14.
SELECT a.*, h.by_hand, a.credit = h.by_hand AS ok
FROM crm.attribute(ARRAY['display', 'email', 'search'],
    ARRAY['2026-03-01', '2026-03-08', '2026-03-15']::timestamptz[], 100.00, 'time_decay',
    converted_at => '2026-03-15', half_life => '7 days') a
JOIN (VALUES (1, 14.29), (2, 28.57), (3, 57.14)) h(pos, by_hand) ON h.pos = a.position;

-- W-shaped, 5 touches, the lead created at touch 2 and the opportunity at touch 4: 30% each to
-- touches 1, 2 and 4, the last 10% over touches 3 and 5: 30.00, 30.00, 5.00, 30.00, 5.00.
SELECT a.*, h.by_hand, a.credit = h.by_hand AS ok
FROM crm.attribute(ARRAY['ad', 'webinar', 'email', 'demo', 'call'], NULL, 100.00, 'w_shaped',
    milestones => ARRAY[2, 4]) a
JOIN (VALUES (1, 30.00), (2, 30.00), (3, 5.00), (4, 30.00), (5, 5.00)) h(pos, by_hand) ON h.pos = a.position;

-- 100.01 over 3 touches, linear: 10001 / 3 = 3333 rest 2 each; the 2 units left go to the first
-- two positions (equal remainders: the earlier position first): 33.34, 33.34, 33.33.
SELECT a.*, h.by_hand, a.credit = h.by_hand AS ok
FROM crm.attribute(ARRAY['a', 'b', 'c'], NULL, 100.01, 'linear') a
JOIN (VALUES (1, 33.34), (2, 33.34), (3, 33.33)) h(pos, by_hand) ON h.pos = a.position;

-- Lookback 30 days before the conversion on 2026-04-30: the touch 40 days before gets nothing,
-- the three others share linearly: 10000 / 3 = 3333 rest 1 each, the unit left to the earliest.
SELECT a.*, h.by_hand, a.credit = h.by_hand AS ok
FROM crm.attribute(ARRAY['a', 'b', 'c', 'd'],
    ARRAY['2026-03-21', '2026-04-10', '2026-04-25', '2026-04-29']::timestamptz[], 100.00, 'linear',
    converted_at => '2026-04-30', lookback => '30 days') a
JOIN (VALUES (1, 0.00), (2, 33.34), (3, 33.33), (4, 33.33)) h(pos, by_hand) ON h.pos = a.position;

-- Markov: the published example of S. Puzyrov ("Markov Chain Attribution – Simple Explanation Of
-- Removal Effect", 2019): paths google ads (2 conversions), mailing (1), google ads > mailing (1),
-- google ads (no conversion). Transitions: start > ga 4/5, start > m 1/5, ga > conv 2/4,
-- ga > m 1/4, ga > null 1/4, m > conv 2/2.
-- P(conv) = 0.8 (0.5 + 0.25 * 1) + 0.2 * 1 = 0.8.
-- Without ga: 0.2 -> removal effect 1 - 0.2 / 0.8 = 0.75; without m: 0.8 * 0.5 = 0.4 -> 0.5.
-- Shares 0.75 / 1.25 = 0.6 and 0.4; of 4 conversions worth 1.0 each: 2.4 and 1.6 (the paths and
-- transition table are the article's; these figures are derived here by hand).
CREATE TEMP TABLE journeys (path text[], converted boolean, value numeric);
INSERT INTO journeys VALUES ('{google ads}', true, 1.0), ('{google ads}', true, 1.0), ('{mailing}', true, 1.0),
    ('{google ads,mailing}', true, 1.0), ('{google ads}', false, NULL);
SELECT crm.markov_attribution(path, converted, value) FROM journeys;
SELECT from_state, to_state, transitions, round(probability::numeric, 12) AS probability
FROM crm.markov_transition_matrix((SELECT crm.markov_attribution(path, converted, value) FROM journeys));
SELECT round(crm.markov_conversion_probability(crm.markov_attribution(path, converted))::numeric, 12) AS p_conversion
FROM journeys;
SELECT r.channel, round(r.conversion_probability_without::numeric, 12) AS without, round(r.removal_effect::numeric, 12) AS effect,
       round(r.share::numeric, 12) AS share, r.credit, h.by_hand, r.credit = h.by_hand AS ok
FROM crm.markov_removal_effects((SELECT crm.markov_attribution(path, converted, value) FROM journeys)) r
JOIN (VALUES ('google ads', 2.4), ('mailing', 1.6)) h(channel, by_hand) USING (channel);
