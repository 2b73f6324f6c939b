/*
 * lead_scoring.h: what the lead scoring files share (src/lead_scoring.sql declares the functions).
 *
 *   lead_scoring_rules.c   the test a rule makes on one field value (crm.lead_scoring_test), and the
 *                          model: the rules, groups and settings, read once and cached per backend
 *                          until a relcache invalidation
 *   lead_scoring_engine.c  the tables a scoring pass opens, locking a lead, and the score of one
 *                          lead: crm.lead_scores' arithmetic (numeric sums, decay, caps)
 *   lead_scoring.c         the trigger entry points, storing scores (one UPDATE per lead, or
 *                          set-based for bulk loads) and crm.lead_score_of_visible
 *
 * crm.lead_scores (SQL) is the definition of a score and what crm.lead_score recomputes. The
 * triggers store scores through the C code instead: it reads the rules, the lead, its contact and
 * account and the lead's activities straight from their tables and indexes and does the same
 * arithmetic with the same functions (numeric sums, the decay rounded to 15 decimals, the caps,
 * rounding to 6), so the stored score equals the recomputation exactly, at a small fraction of the
 * cost of running the SQL for every activity insert. test/pgtap/lead_scoring_engine.sql checks the
 * two agree.
 */
#ifndef CRM_LEAD_SCORING_H
#define CRM_LEAD_SCORING_H

#include "crm.h"

#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

typedef enum RuleEntity
{
	ENTITY_LEAD,
	ENTITY_CONTACT,
	ENTITY_ACCOUNT
} RuleEntity;

typedef struct ScoringRule
{
	int			group;			/* index into ScoringModel.groups */
	Numeric		points;
	bool		fit;
	/* fit rules: the field of the entity's row, as to_jsonb(row) ->> field reads it */
	RuleEntity	entity;
	AttrNumber	attribute;		/* InvalidAttrNumber: no such column, the field reads as NULL */
	Oid			field_base_type;
	Oid			field_output_function;
	char	   *operator;
	text	   *value;
	char	   *value_type;
	/* engagement rules */
	Oid			activity_kind;
	Oid			channel;		/* InvalidOid: any channel */
	text	   *detail_key;		/* NULL: no condition on the activity's details */
	char	   *detail_operator;
	text	   *detail_value;
	bool		decays;			/* a half-life, the rule's or else its group's, is set */
	double		half_life_seconds;	/* date_part('epoch', half_life), read once */
} ScoringRule;

typedef struct ScoringGroup
{
	int32		group_id;
	Numeric		cap;			/* NULL: no cap */
	Interval   *half_life;
} ScoringGroup;

typedef struct ScoringModel
{
	ScoringRule *rules;
	int			rule_count;
	ScoringGroup *groups;
	int			group_count;
	bool		has_settings;
	Numeric		total_cap;		/* NULL: no cap */
	Numeric		hot_threshold;
	Numeric		warm_threshold;
	bool		has_engagement_rules;
	Oid			schema;
	Oid			read_from[6];	/* the tables whose changes invalidate it */
} ScoringModel;

/* The extension's tables and indexes a scoring pass reads, open for its duration. */
typedef struct ScoringTables
{
	Oid			schema;
	Relation	leads;
	Relation	leads_key;
	Relation	contacts;
	Relation	contacts_key;
	Relation	accounts;
	Relation	accounts_key;
	Relation	activities;
	Relation	activities_by_lead;
	/* the columns read for every lead */
	AttrNumber	lead_contact_column;
	AttrNumber	contact_account_column;
	AttrNumber	activity_kind_column;
	AttrNumber	activity_channel_column;
	AttrNumber	activity_occurred_column;
	AttrNumber	activity_details_column;
} ScoringTables;

/* date_part('epoch', interval), as crm.lead_scoring_decay computes it. */
static inline double
lead_scoring_epoch_seconds(Datum interval)
{
	return DatumGetFloat8(DirectFunctionCall2(interval_part, CStringGetTextDatum("epoch"), interval));
}

/* array (palloc'd, room for *capacity elements) with room for count + 1: doubled when full. */
static inline void *
lead_scoring_with_room_for_one_more(void *array, int count, int *capacity, Size element_size)
{
	if (count < *capacity)
		return array;
	*capacity *= 2;
	return repalloc(array, element_size * *capacity);
}

/* lead_scoring_rules.c */

/*
 * Whether field_value operator value holds, the values read as value_type (see
 * crm.lead_scoring_test); NULL pointers stand for SQL NULLs.
 */
extern bool lead_scoring_rule_holds(text *field_value, const char *operator, text *value, const char *value_type);

/* The model in force for tables->schema: the cached one, or read now with snapshot and cached. */
extern ScoringModel *lead_scoring_model(ScoringTables *tables, Snapshot snapshot);

/* lead_scoring_engine.c */

/* The attribute number of a column of one of the extension's own tables. */
extern AttrNumber lead_scoring_column_number(Relation relation, const char *name, bool missing_ok);

/* Opens the extension's table (or index) name in schema; 42704 when it does not exist. */
extern Relation lead_scoring_open_extension_relation(Oid schema, const char *name, LOCKMODE lock, bool is_index);

extern void lead_scoring_open_tables(ScoringTables *tables, Oid schema);
extern void lead_scoring_close_tables(ScoringTables *tables);

/* The row of relation whose single-column key (an int8 primary key) is key, into slot. */
extern bool lead_scoring_fetch_by_key(Relation relation, Relation index, int64 key, Snapshot snapshot,
									  TupleTableSlot *slot);

/* Locks the lead's row FOR NO KEY UPDATE and leaves its latest version in slot; false: no lead. */
extern bool lead_scoring_lock_lead(ScoringTables *tables, int64 lead_id, TupleTableSlot *slot);

/* The score of the lead in lead_slot at as_of, reading its contact, account and activities. */
extern Numeric lead_scoring_score_lead(ScoringModel *model, ScoringTables *tables, int64 lead_id,
									   TupleTableSlot *lead_slot, TimestampTz as_of, Snapshot snapshot,
									   TupleTableSlot *contact_slot, TupleTableSlot *account_slot,
									   TupleTableSlot *activity_slot);

/* "hot", "warm" or "cold" by the model's thresholds. */
extern const char *lead_scoring_grade_of(ScoringModel *model, Numeric score);

#endif							/* CRM_LEAD_SCORING_H */
