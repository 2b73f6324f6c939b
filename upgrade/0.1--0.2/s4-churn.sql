-- crm.customer_360 gains the churn columns of crm.churn_risk (src/churn.sql, listed in s4-churn.parts):
-- churn_p_lapsed, churn_method and churn_value_at_risk, appended, so segment rules can target them.
CREATE OR REPLACE VIEW @extschema@.customer_360 WITH (security_invoker = true) AS
SELECT c.contact_id,
       c.first_name,
       c.last_name,
       c.email,
       c.country,
       c.title,
       c.created_at,
       c.account_id,
       a.name AS account_name,
       c.owner_id,
       u.full_name AS owner_name,
       c.lifecycle_stage,
       c.marketing_consent,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.total_spent, 0) AS total_spent,
       o.first_order_at,
       o.last_order_at,
       r.as_of AS rfm_as_of,
       r.rfm,
       @extschema@.recency_score(r.rfm) AS recency_score,
       @extschema@.frequency_score(r.rfm) AS frequency_score,
       @extschema@.monetary_score(r.rfm) AS monetary_score,
       r.segment AS rfm_segment,
       coalesce(t.open_tickets, 0) AS open_tickets,
       n.score AS nps_score,
       n.responded_at AS nps_responded_at,
       act.last_activity_at,
       act.last_email_at,
       act.last_phone_at,
       act.last_meeting_at,
       act.last_chat_at,
       act.last_social_at,
       act.last_web_at,
       act.last_sms_at,
       l.lead_score,
       l.lead_grade,
       v.p_alive,
       v.expected_purchases_90d,
       v.clv_12m,
       ch.churn_p_lapsed,
       ch.churn_method,
       ch.churn_value_at_risk
FROM @extschema@.contacts c
LEFT JOIN @extschema@.accounts a ON a.account_id = c.account_id
LEFT JOIN @extschema@.users u ON u.user_id = c.owner_id
LEFT JOIN @extschema@.customer_order_stats o ON o.contact_id = c.contact_id
LEFT JOIN (
    SELECT h.contact_id, h.as_of, h.rfm, h.segment
    FROM @extschema@.rfm_history h
    WHERE h.as_of = (SELECT max(latest.as_of) FROM @extschema@.rfm_history latest)
) r ON r.contact_id = c.contact_id
LEFT JOIN (
    SELECT tk.contact_id, count(*) AS open_tickets
    FROM @extschema@.tickets tk
    WHERE tk.status NOT IN ('resolved', 'closed')
    GROUP BY tk.contact_id
) t ON t.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (s.contact_id) s.contact_id, s.score, s.responded_at
    FROM @extschema@.survey_responses s
    WHERE s.kind = 'nps'
    ORDER BY s.contact_id, s.responded_at DESC, s.response_id DESC
) n ON n.contact_id = c.contact_id
LEFT JOIN (
    SELECT ac.contact_id,
           max(ac.occurred_at) AS last_activity_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'email') AS last_email_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'phone') AS last_phone_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'meeting') AS last_meeting_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'chat') AS last_chat_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'social') AS last_social_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'web') AS last_web_at,
           max(ac.occurred_at) FILTER (WHERE ac.channel = 'sms') AS last_sms_at
    FROM @extschema@.activities ac
    GROUP BY ac.contact_id
) act ON act.contact_id = c.contact_id
LEFT JOIN (
    SELECT DISTINCT ON (ld.contact_id) ld.contact_id, ld.score AS lead_score, ld.grade AS lead_grade
    FROM @extschema@.leads ld
    ORDER BY ld.contact_id, ld.score DESC, ld.lead_id DESC
) l ON l.contact_id = c.contact_id
-- CLV from the latest stored model (crm.fit_clv_models), from each contact's own purchases: one
-- summary per contact, grouped by contact, so a query for a few contacts still reads only theirs
-- (the contact condition reaches the grouped purchases) and Citus runs it on the shards (it
-- cannot run an aggregate in a lateral subquery correlated with the contact, docs/citus.md).
LEFT JOIN (
    SELECT s.contact_id,
           @extschema@.bgnbd_p_alive(s.bgnbd, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS p_alive,
           @extschema@.bgnbd_expected_purchases(s.bgnbd, 90 / s.time_unit_days, (s.summary).x, (s.summary).t_x, (s.summary).big_t) AS expected_purchases_90d,
           CASE WHEN s.gammagamma IS NOT NULL
                THEN @extschema@.clv(s.bgnbd, s.gammagamma, (s.summary).x, (s.summary).t_x, (s.summary).big_t, (s.summary).m, 12, 0.01, 30.4375 / s.time_unit_days)
           END AS clv_12m
    FROM (SELECT o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days,
                 @extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), m.time_unit_days) AS summary
          FROM @extschema@.purchases o
          CROSS JOIN (SELECT cm.bgnbd, cm.gammagamma, cm.time_unit_days FROM @extschema@.clv_models cm
                      ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m
          WHERE o.ordered_at <= now()
          GROUP BY o.contact_id, m.bgnbd, m.gammagamma, m.time_unit_days) s
    WHERE (s.summary).x IS NOT NULL
) v ON v.contact_id = c.contact_id
-- Churn risk (src/churn.sql), as crm.churn_risk(now()) with its defaults ranks it: per customer
-- with a purchase in the last 365 days, from their own purchase days (grouped by contact, as
-- above) and the population's mean gap between purchase days (one pass over every purchase).
LEFT JOIN (
    SELECT s.contact_id, a.p_lapsed AS churn_p_lapsed, a.method AS churn_method,
           a.p_lapsed * a.expected_purchases_if_active * s.per_day AS churn_value_at_risk
    FROM (SELECT o.contact_id, max(o.ordered_at) AS last_at,
                 sum(o.total)::double precision / count(DISTINCT o.ordered_at::date) AS per_day,
                 @extschema@.clv_summary(o.ordered_at, o.total::double precision, now(), 1::double precision) AS summary
          FROM @extschema@.purchases o
          WHERE o.ordered_at <= now()
          GROUP BY o.contact_id) s
    CROSS JOIN (SELECT sum(pc.span)::double precision / NULLIF(sum(pc.days - 1), 0) AS gap
                FROM (SELECT max(o.ordered_at::date) - min(o.ordered_at::date) AS span,
                             count(DISTINCT o.ordered_at::date) AS days
                      FROM @extschema@.purchases o
                      WHERE o.ordered_at <= now()
                      GROUP BY o.contact_id) pc) g
    LEFT JOIN (SELECT cm.bgnbd, cm.time_unit_days FROM @extschema@.clv_models cm
               WHERE cm.as_of <= now()
               ORDER BY cm.fitted_at DESC, cm.model_id DESC LIMIT 1) m ON true
    CROSS JOIN LATERAL @extschema@.churn_assess(m.bgnbd, m.time_unit_days, (s.summary).x, (s.summary).t_x,
                                               (s.summary).big_t, g.gap, 2, 365) a
    WHERE s.last_at > now() - interval '365 days'
) ch ON ch.contact_id = c.contact_id;
COMMENT ON VIEW @extschema@.customer_360 IS
    'One row per contact: account, owner, lifecycle stage, consent, purchases (orders paid or shipped; 0 when none), the RFM score and segment of the latest crm.refresh_rfm snapshot (NULL if not a customer then), open tickets, the latest NPS answer, the last activity per channel, the best-scored lead''s score and grade, and from the latest stored CLV model P(alive), the purchases expected in the next 90 days and the 12-month CLV (NULL without a model or purchases), and the churn risk of crm.churn_risk(now()) (P(lapsed), method, value at risk; NULL without a purchase in the last 365 days). Rows the reader may see only (security_invoker).';
