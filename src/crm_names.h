/*
 * crm_names.h: every name of a table, index, column or function of schema crm that the C code
 * opens, reads or writes by name (relation lookups, column lookups, SPI statements), declared in
 * one place. The C code uses these macros, never the bare names.
 *
 * test/c_names.sh reads this file and checks, on a fresh install, that each name exists with the
 * kind its comment gives: "table", "view", "index on <table>", "column of <table>" or "function". So a
 * renamed table or column fails a test instead of a trigger at run time. Keep one #define per
 * line, in that form.
 */
#ifndef CRM_NAMES_H
#define CRM_NAMES_H

/* Staff and ownership: crm.owns_contact (schema.c), stage history (stage_history.c) */
#define CRM_TABLE_USERS							"users"						/* table */
#define CRM_INDEX_USERS_LOGIN_ROLE				"users_login_role_key"		/* index on users */
#define CRM_COLUMN_USERS_USER_ID				"user_id"					/* column of users */
#define CRM_COLUMN_USERS_LOGIN_ROLE				"login_role"				/* column of users */
#define CRM_TABLE_CONTACTS						"contacts"					/* table */
#define CRM_INDEX_CONTACTS_PKEY					"contacts_pkey"				/* index on contacts */
#define CRM_COLUMN_CONTACTS_OWNER_ID			"owner_id"					/* column of contacts */
#define CRM_COLUMN_CONTACTS_ACCOUNT_ID			"account_id"				/* column of contacts */
#define CRM_TABLE_ACCOUNTS						"accounts"					/* table */
#define CRM_INDEX_ACCOUNTS_PKEY					"accounts_pkey"				/* index on accounts */

/* crm.touch_updated_at (schema.c) and the scoring output (lead_scoring.c) */
#define CRM_COLUMN_UPDATED_AT					"updated_at"				/* column of leads */

/* Opportunities and their stage history (stage_history.c) */
#define CRM_TABLE_OPPORTUNITIES					"opportunities"				/* table */
#define CRM_COLUMN_OPPORTUNITIES_ID				"opportunity_id"			/* column of opportunities */
#define CRM_COLUMN_OPPORTUNITIES_STAGE_ID		"stage_id"					/* column of opportunities */
#define CRM_TABLE_STAGE_HISTORY					"opportunity_stage_history"	/* table */
#define CRM_COLUMN_STAGE_HISTORY_OPPORTUNITY_ID	"opportunity_id"			/* column of opportunity_stage_history */
#define CRM_COLUMN_STAGE_HISTORY_FROM_STAGE_ID	"from_stage_id"				/* column of opportunity_stage_history */
#define CRM_COLUMN_STAGE_HISTORY_TO_STAGE_ID	"to_stage_id"				/* column of opportunity_stage_history */
#define CRM_COLUMN_STAGE_HISTORY_CHANGED_AT		"changed_at"				/* column of opportunity_stage_history */
#define CRM_COLUMN_STAGE_HISTORY_CHANGED_BY		"changed_by"				/* column of opportunity_stage_history */
#define CRM_COLUMN_STAGE_HISTORY_CHANGED_BY_ROLE "changed_by_role"			/* column of opportunity_stage_history */

/* Lead scoring (lead_scoring.c): the scored tables */
#define CRM_TABLE_LEADS							"leads"						/* table */
#define CRM_INDEX_LEADS_PKEY					"leads_pkey"				/* index on leads */
#define CRM_COLUMN_LEADS_LEAD_ID				"lead_id"					/* column of leads */
#define CRM_COLUMN_LEADS_CONTACT_ID				"contact_id"				/* column of leads */
#define CRM_COLUMN_LEADS_SCORE					"score"						/* column of leads */
#define CRM_COLUMN_LEADS_GRADE					"grade"						/* column of leads */
#define CRM_COLUMN_LEADS_SCORED_AT				"scored_at"					/* column of leads */
#define CRM_TABLE_ACTIVITIES					"activities"				/* table */
#define CRM_INDEX_ACTIVITIES_BY_LEAD			"activities_lead_id_idx"	/* index on activities */
#define CRM_COLUMN_ACTIVITIES_LEAD_ID			"lead_id"					/* column of activities */
#define CRM_COLUMN_ACTIVITIES_KIND				"kind"						/* column of activities */
#define CRM_COLUMN_ACTIVITIES_CHANNEL			"channel"					/* column of activities */
#define CRM_COLUMN_ACTIVITIES_OCCURRED_AT		"occurred_at"				/* column of activities */
#define CRM_COLUMN_ACTIVITIES_DETAILS			"details"					/* column of activities */

/* Lead scoring (lead_scoring.c): the model */
#define CRM_TABLE_LEAD_SCORING_SETTINGS			"lead_scoring_settings"		/* table */
#define CRM_COLUMN_SETTINGS_TOTAL_CAP			"total_cap"					/* column of lead_scoring_settings */
#define CRM_COLUMN_SETTINGS_HOT_THRESHOLD		"hot_threshold"				/* column of lead_scoring_settings */
#define CRM_COLUMN_SETTINGS_WARM_THRESHOLD		"warm_threshold"			/* column of lead_scoring_settings */
#define CRM_TABLE_LEAD_SCORING_GROUPS			"lead_scoring_groups"		/* table */
#define CRM_COLUMN_GROUPS_GROUP_ID				"group_id"					/* column of lead_scoring_groups */
#define CRM_COLUMN_GROUPS_CAP					"cap"						/* column of lead_scoring_groups */
#define CRM_COLUMN_GROUPS_HALF_LIFE				"half_life"					/* column of lead_scoring_groups */
#define CRM_TABLE_LEAD_SCORING_RULES			"lead_scoring_rules"		/* table */
#define CRM_COLUMN_RULES_RULE_ID				"rule_id"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_GROUP_ID				"group_id"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_NAME					"name"						/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_ACTIVE					"active"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_KIND					"kind"						/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_POINTS					"points"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_ENTITY					"entity"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_FIELD					"field"						/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_OPERATOR				"operator"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_VALUE					"value"						/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_VALUE_TYPE				"value_type"				/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_ACTIVITY_KIND			"activity_kind"				/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_CHANNEL				"channel"					/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_DETAIL_KEY				"detail_key"				/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_DETAIL_OPERATOR		"detail_operator"			/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_DETAIL_VALUE			"detail_value"				/* column of lead_scoring_rules */
#define CRM_COLUMN_RULES_HALF_LIFE				"half_life"					/* column of lead_scoring_rules */

/* Lead scoring (lead_scoring.c): SQL functions it calls through SPI */
#define CRM_FUNCTION_LEAD_SCORING_STORE			"lead_scoring_store"		/* function */
#define CRM_FUNCTION_LEAD_SCORES				"lead_scores"				/* function */

/* Business calendars (calendars.c) */
#define CRM_TABLE_BUSINESS_CALENDARS			"business_calendars"		/* table */
#define CRM_COLUMN_CALENDARS_CALENDAR_ID		"calendar_id"				/* column of business_calendars */
#define CRM_COLUMN_CALENDARS_TIME_ZONE			"time_zone"					/* column of business_calendars */
#define CRM_COLUMN_CALENDARS_ALWAYS_OPEN		"always_open"				/* column of business_calendars */
#define CRM_TABLE_BUSINESS_HOURS				"business_hours"			/* table */
#define CRM_COLUMN_HOURS_CALENDAR_ID			"calendar_id"				/* column of business_hours */
#define CRM_COLUMN_HOURS_WEEKDAY				"weekday"					/* column of business_hours */
#define CRM_COLUMN_HOURS_OPENS					"opens"						/* column of business_hours */
#define CRM_COLUMN_HOURS_CLOSES					"closes"					/* column of business_hours */
#define CRM_TABLE_BUSINESS_HOLIDAYS				"business_holidays"			/* table */
#define CRM_COLUMN_HOLIDAYS_CALENDAR_ID			"calendar_id"				/* column of business_holidays */
#define CRM_COLUMN_HOLIDAYS_DAY					"day"						/* column of business_holidays */
#define CRM_COLUMN_HOLIDAYS_RECURRING_YEARLY	"recurring_yearly"			/* column of business_holidays */

/* SLA clock (sla.c) */
#define CRM_FUNCTION_BUSINESS_TIME				"business_time"				/* function */
#define CRM_FUNCTION_BUSINESS_ADD				"business_add"				/* function */
#define CRM_TABLE_TICKETS						"tickets"					/* table */
#define CRM_COLUMN_TICKETS_TICKET_ID			"ticket_id"					/* column of tickets */
#define CRM_COLUMN_TICKETS_OPENED_AT			"opened_at"					/* column of tickets */
#define CRM_COLUMN_TICKETS_STATUS				"status"					/* column of tickets */
#define CRM_COLUMN_TICKETS_FIRST_RESPONSE_AT	"first_response_at"			/* column of tickets */
#define CRM_COLUMN_TICKETS_RESOLVED_AT			"resolved_at"				/* column of tickets */
#define CRM_TABLE_TICKET_SLAS					"ticket_slas"				/* table */
#define CRM_COLUMN_TICKET_SLAS_TICKET_ID		"ticket_id"					/* column of ticket_slas */
#define CRM_COLUMN_TICKET_SLAS_POLICY_ID		"policy_id"					/* column of ticket_slas */
#define CRM_TABLE_SLA_POLICIES					"sla_policies"				/* table */
#define CRM_COLUMN_SLA_POLICIES_POLICY_ID		"policy_id"					/* column of sla_policies */
#define CRM_COLUMN_SLA_POLICIES_CALENDAR_ID		"calendar_id"				/* column of sla_policies */
#define CRM_COLUMN_SLA_POLICIES_PAUSE_STATUSES	"pause_statuses"			/* column of sla_policies */
#define CRM_COLUMN_SLA_POLICIES_FIRST_RESPONSE_TARGET	"first_response_target"	/* column of sla_policies */
#define CRM_COLUMN_SLA_POLICIES_RESOLUTION_TARGET	"resolution_target"		/* column of sla_policies */
#define CRM_TABLE_TICKET_STATUS_HISTORY			"ticket_status_history"		/* table */
#define CRM_COLUMN_HISTORY_HISTORY_ID			"history_id"				/* column of ticket_status_history */
#define CRM_COLUMN_HISTORY_TICKET_ID			"ticket_id"					/* column of ticket_status_history */
#define CRM_COLUMN_HISTORY_FROM_STATUS			"from_status"				/* column of ticket_status_history */
#define CRM_COLUMN_HISTORY_TO_STATUS			"to_status"					/* column of ticket_status_history */
#define CRM_COLUMN_HISTORY_CHANGED_AT			"changed_at"				/* column of ticket_status_history */

/* Recommendations in bulk (recommendations.c): the model and the baskets, read as the caller */
#define CRM_TABLE_PRODUCT_PAIRS					"product_pairs"				/* table */
#define CRM_COLUMN_PRODUCT_PAIRS_A				"product_a"					/* column of product_pairs */
#define CRM_COLUMN_PRODUCT_PAIRS_B				"product_b"					/* column of product_pairs */
#define CRM_COLUMN_PRODUCT_PAIRS_CUSTOMERS		"customers"					/* column of product_pairs */
#define CRM_TABLE_PRODUCT_BUYERS				"product_buyers"			/* table */
#define CRM_COLUMN_PRODUCT_BUYERS_PRODUCT_ID	"product_id"				/* column of product_buyers */
#define CRM_COLUMN_PRODUCT_BUYERS_CUSTOMERS		"customers"					/* column of product_buyers */
#define CRM_TABLE_PRODUCT_PAIR_TOTALS			"product_pair_totals"		/* table */
#define CRM_COLUMN_PRODUCT_PAIR_TOTALS_CUSTOMERS "customers"				/* column of product_pair_totals */
#define CRM_TABLE_PRODUCTS						"products"					/* table */
#define CRM_COLUMN_PRODUCTS_PRODUCT_ID			"product_id"				/* column of products */
#define CRM_COLUMN_PRODUCTS_ACTIVE				"active"					/* column of products */
#define CRM_VIEW_PURCHASES						"purchases"					/* view */
#define CRM_COLUMN_PURCHASES_ORDER_ID			"order_id"					/* column of purchases */
#define CRM_COLUMN_PURCHASES_CONTACT_ID			"contact_id"				/* column of purchases */
#define CRM_TABLE_ORDER_LINES					"order_lines"				/* table */
#define CRM_COLUMN_ORDER_LINES_ORDER_ID			"order_id"					/* column of order_lines */
#define CRM_COLUMN_ORDER_LINES_PRODUCT_ID		"product_id"				/* column of order_lines */
#define CRM_COLUMN_CONTACTS_CONTACT_ID			"contact_id"				/* column of contacts */

#endif							/* CRM_NAMES_H */
