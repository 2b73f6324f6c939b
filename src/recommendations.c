/*
 * recommendations.c: every customer's recommendations in one pass (docs/recommendations.md).
 *
 * crm.recommend_products_all(n, metric, contact_ids) gives, for every contact the caller may see
 * (or those of contact_ids among them), exactly the list crm.recommend_products(contact, n,
 * metric) gives: the n active products the customer has not purchased with the best score, each
 * scored by its best pair with a purchased product (because_of: on a tie the smallest product id),
 * ordered by score descending then product id. One customer at a time, that list costs a few
 * hundred rows of index lookups and a plan; here the model is read once into memory as an
 * adjacency list (each product's pair partners with the pair's score precomputed under the metric,
 * by the same floating-point expression as the SQL function, so the scores are equal bit for bit),
 * and the baskets come from one ordered pass over the caller's purchases.
 *
 * Everything is read through SPI with the caller's rights (row-level security applies), under one
 * snapshot: the counts (readable by every staff role), the active products, and the purchases of
 * the contacts the caller may see, exactly as crm.recommend_products reads them.
 */
#include "crm.h"

#include "catalog/pg_type_d.h"
#include "crm_names.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(crm_recommend_products_all);

typedef enum RecoMetric
{
	RECO_COSINE,
	RECO_LIFT,
	RECO_CONFIDENCE,
	RECO_SUPPORT
} RecoMetric;

/* a directed pair while reading: src's partner cand, scored for src's customers */
typedef struct RecoEdge
{
	int32		src;
	int32		cand;
	double		score;
} RecoEdge;

typedef struct RecoProduct
{
	int64		product_id;		/* hash key */
	int32		index;
} RecoProduct;

/* a scored candidate of the customer at hand */
typedef struct RecoCandidate
{
	double		score;
	int64		product_id;
	int64		because_of;
} RecoCandidate;

typedef struct RecoState
{
	DestReceiver pub;
	ReturnSetInfo *rsinfo;
	RecoMetric	metric;
	int32		n;
	int64		total_customers;
	bool		reading_baskets;	/* which read the receiver gets */

	/* products with at least one pair, densely numbered */
	HTAB	   *products;
	int32		nproducts;
	int64	   *product_ids;	/* index -> product id */

	/* while reading the model: the directed pairs (only those whose candidate is active) */
	RecoEdge   *edges;
	int64		nedges;
	int64		maxedges;

	/* the adjacency list: product i's candidates are cand[start[i] .. start[i + 1]) */
	int64	   *start;
	int32	   *cand;
	double	   *score;

	/* the customer at hand */
	int64		contact_id;
	bool		have_contact;
	int32	   *basket;			/* indexes of their purchased products that have pairs */
	int32		nbasket;
	uint32		generation;		/* per customer: marks below are current when equal to it */
	uint32	   *bought_mark;
	uint32	   *seen_mark;
	double	   *best_score;
	int32	   *best_src;
	int32	   *touched;
	int32		ntouched;
	RecoCandidate *heap;		/* the n best so far, worst at the root */
	int32		heap_capacity;

	MemoryContext row_context;
} RecoState;

static const char *const reco_metric_names[] = {"cosine", "lift", "confidence", "support"};

/*
 * The score of candidate cand for a customer who bought src, as crm.recommend_products computes
 * it in SQL (float8 arithmetic in the same order): support n_ab / N, confidence n_ab / n_src,
 * lift n_ab * N / (n_src * n_cand), cosine n_ab / sqrt(n_src * n_cand).
 */
static double
reco_score(RecoMetric metric, int64 both, int64 n_src, int64 n_cand, int64 total)
{
	switch (metric)
	{
		case RECO_SUPPORT:
			return (double) both / (double) total;
		case RECO_CONFIDENCE:
			return (double) both / (double) n_src;
		case RECO_LIFT:
			return (double) both * (double) total / ((double) n_src * (double) n_cand);
		case RECO_COSINE:
			break;
	}
	return (double) both / sqrt((double) n_src * (double) n_cand);
}

static int32
reco_product_index(RecoState *state, int64 product_id)
{
	RecoProduct *entry;
	bool		found;

	entry = hash_search(state->products, &product_id, HASH_ENTER, &found);
	if (!found)
	{
		if (state->nproducts == PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many products with product pairs for crm.recommend_products_all"),
					 errdetail("At most %d products can be paired.", PG_INT32_MAX)));
		entry->index = state->nproducts++;
	}
	return entry->index;
}

static void
reco_add_edge(RecoState *state, int32 src, int32 cand, double score)
{
	if (state->nedges == state->maxedges)
	{
		state->maxedges *= 2;
		if ((Size) state->maxedges > MaxAllocHugeSize / sizeof(RecoEdge))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many product pairs for crm.recommend_products_all")));
		state->edges = repalloc_huge(state->edges, sizeof(RecoEdge) * state->maxedges);
	}
	state->edges[state->nedges].src = src;
	state->edges[state->nedges].cand = cand;
	state->edges[state->nedges].score = score;
	state->nedges++;
}

/* a before b in the list: higher score, then smaller product id */
static inline bool
reco_better(const RecoCandidate *a, const RecoCandidate *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	return a->product_id < b->product_id;
}

static int
reco_candidate_cmp(const void *x, const void *y)
{
	const RecoCandidate *a = x;
	const RecoCandidate *b = y;

	if (reco_better(a, b))
		return -1;
	if (reco_better(b, a))
		return 1;
	return 0;
}

/* the heap keeps its worst candidate at the root */
static void
reco_heap_sift_down(RecoCandidate *heap, int32 size, int32 i)
{
	for (;;)
	{
		int32		worst = i;
		int32		left = 2 * i + 1;
		int32		right = left + 1;
		RecoCandidate swap;

		if (left < size && reco_better(&heap[worst], &heap[left]))
			worst = left;
		if (right < size && reco_better(&heap[worst], &heap[right]))
			worst = right;
		if (worst == i)
			return;
		swap = heap[i];
		heap[i] = heap[worst];
		heap[worst] = swap;
		i = worst;
	}
}

static void
reco_heap_push(RecoCandidate *heap, int32 *size, const RecoCandidate *c)
{
	int32		i = (*size)++;

	heap[i] = *c;
	while (i > 0)
	{
		int32		parent = (i - 1) / 2;
		RecoCandidate swap;

		if (!reco_better(&heap[parent], &heap[i]))
			return;
		swap = heap[i];
		heap[i] = heap[parent];
		heap[parent] = swap;
		i = parent;
	}
}

/* The customer at hand's list, into the result. */
static void
reco_finish_customer(RecoState *state)
{
	uint32		gen = state->generation;
	int32		size = 0;
	int32		limit = Min(state->n, state->heap_capacity);
	MemoryContext old;

	if (!state->have_contact || state->nbasket == 0)
		return;

	/* the best pair of each candidate the customer has not bought */
	state->ntouched = 0;
	for (int32 b = 0; b < state->nbasket; b++)
	{
		int32		src = state->basket[b];
		int64		src_id = state->product_ids[src];

		for (int64 e = state->start[src]; e < state->start[src + 1]; e++)
		{
			int32		c = state->cand[e];
			double		s = state->score[e];

			if (state->bought_mark[c] == gen)
				continue;
			if (state->seen_mark[c] != gen)
			{
				state->seen_mark[c] = gen;
				state->best_score[c] = s;
				state->best_src[c] = src;
				state->touched[state->ntouched++] = c;
			}
			else if (s > state->best_score[c] ||
					 (s == state->best_score[c] && src_id < state->product_ids[state->best_src[c]]))
			{
				state->best_score[c] = s;
				state->best_src[c] = src;
			}
		}
	}

	/* the n best of them */
	for (int32 t = 0; t < state->ntouched; t++)
	{
		int32		c = state->touched[t];
		RecoCandidate candidate;

		candidate.score = state->best_score[c];
		candidate.product_id = state->product_ids[c];
		candidate.because_of = state->product_ids[state->best_src[c]];
		if (size < limit)
			reco_heap_push(state->heap, &size, &candidate);
		else if (reco_better(&candidate, &state->heap[0]))
		{
			state->heap[0] = candidate;
			reco_heap_sift_down(state->heap, size, 0);
		}
	}
	if (size == 0)
		return;
	qsort(state->heap, size, sizeof(RecoCandidate), reco_candidate_cmp);

	old = MemoryContextSwitchTo(state->row_context);
	for (int32 r = 0; r < size; r++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int64GetDatum(state->contact_id);
		values[1] = Int32GetDatum(r + 1);
		values[2] = Int64GetDatum(state->heap[r].product_id);
		values[3] = Float8GetDatum(state->heap[r].score);
		values[4] = Int64GetDatum(state->heap[r].because_of);
		tuplestore_putvalues(state->rsinfo->setResult, state->rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(state->row_context);
}

static void
reco_next_customer(RecoState *state, int64 contact_id)
{
	state->contact_id = contact_id;
	state->have_contact = true;
	state->nbasket = 0;
	state->generation++;
	if (state->generation == 0)
	{
		/* wrapped around (after 4 billion customers): clear the marks */
		memset(state->bought_mark, 0, sizeof(uint32) * state->nproducts);
		memset(state->seen_mark, 0, sizeof(uint32) * state->nproducts);
		state->generation = 1;
	}
}

static bool
reco_receive(TupleTableSlot *slot, DestReceiver *self)
{
	RecoState  *state = (RecoState *) self;
	Datum	   *v;
	bool	   *isnull;

	slot_getallattrs(slot);
	v = slot->tts_values;
	isnull = slot->tts_isnull;

	if (!state->reading_baskets)
	{
		/* product_a, product_b, n_ab, n_a, n_b, a active, b active */
		int64		a = DatumGetInt64(v[0]);
		int64		b = DatumGetInt64(v[1]);
		int64		both = DatumGetInt64(v[2]);
		int64		n_a = DatumGetInt64(v[3]);
		int64		n_b = DatumGetInt64(v[4]);
		int32		ia;
		int32		ib;

		CHECK_FOR_INTERRUPTS();
		ia = reco_product_index(state, a);
		ib = reco_product_index(state, b);
		if (DatumGetBool(v[6]))
			reco_add_edge(state, ia, ib, reco_score(state->metric, both, n_a, n_b, state->total_customers));
		if (DatumGetBool(v[5]))
			reco_add_edge(state, ib, ia, reco_score(state->metric, both, n_b, n_a, state->total_customers));
	}
	else
	{
		/* contact_id, product_id, ordered by contact_id */
		int64		contact_id = DatumGetInt64(v[0]);
		int64		product_id;
		RecoProduct *entry;

		if (!state->have_contact || contact_id != state->contact_id)
		{
			CHECK_FOR_INTERRUPTS();
			reco_finish_customer(state);
			reco_next_customer(state, contact_id);
		}
		if (isnull[1])
			return true;
		product_id = DatumGetInt64(v[1]);
		entry = hash_search(state->products, &product_id, HASH_FIND, NULL);
		/* a product without pairs is neither a source nor a candidate */
		if (entry != NULL && state->bought_mark[entry->index] != state->generation)
		{
			state->bought_mark[entry->index] = state->generation;
			state->basket[state->nbasket++] = entry->index;
		}
	}
	return true;
}

static void
reco_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
reco_shutdown(DestReceiver *self)
{
}

static void
reco_destroy(DestReceiver *self)
{
}

static void
reco_read(RecoState *state, const char *query, ParamListInfo params)
{
	SPIExecuteOptions options;
	int			result;

	memset(&options, 0, sizeof(options));
	options.read_only = true;	/* every read under the same snapshot */
	options.params = params;
	options.dest = &state->pub;
	result = SPI_execute_extended(query, &options);
	/* a SELECT into a receiver tagged DestNone reports SPI_OK_UTILITY (the rows went to it) */
	if (result != SPI_OK_UTILITY && result != SPI_OK_SELECT)
		elog(ERROR, "recommend_products_all: reading failed: %s", SPI_result_code_string(result));
}

/* The directed pairs, sorted by source into the adjacency list. */
static void
reco_build_adjacency(RecoState *state)
{
	int32		np = state->nproducts;
	int64	   *fill;

	state->start = palloc0(sizeof(int64) * ((Size) np + 1));
	for (int64 e = 0; e < state->nedges; e++)
		state->start[state->edges[e].src + 1]++;
	for (int32 i = 0; i < np; i++)
		state->start[i + 1] += state->start[i];
	state->cand = palloc_extended(sizeof(int32) * Max(state->nedges, 1), MCXT_ALLOC_HUGE);
	state->score = palloc_extended(sizeof(double) * Max(state->nedges, 1), MCXT_ALLOC_HUGE);
	fill = palloc(sizeof(int64) * Max(np, 1));
	memcpy(fill, state->start, sizeof(int64) * np);
	for (int64 e = 0; e < state->nedges; e++)
	{
		int64		at = fill[state->edges[e].src]++;

		state->cand[at] = state->edges[e].cand;
		state->score[at] = state->edges[e].score;
	}
	pfree(fill);
	pfree(state->edges);
	state->edges = NULL;

	state->product_ids = palloc(sizeof(int64) * Max(np, 1));
	{
		HASH_SEQ_STATUS scan;
		RecoProduct *entry;

		hash_seq_init(&scan, state->products);
		while ((entry = hash_seq_search(&scan)) != NULL)
			state->product_ids[entry->index] = entry->product_id;
	}
	state->basket = palloc(sizeof(int32) * Max(np, 1));
	state->touched = palloc(sizeof(int32) * Max(np, 1));
	state->bought_mark = palloc0(sizeof(uint32) * Max(np, 1));
	state->seen_mark = palloc0(sizeof(uint32) * Max(np, 1));
	state->best_score = palloc(sizeof(double) * Max(np, 1));
	state->best_src = palloc(sizeof(int32) * Max(np, 1));
	state->heap_capacity = Max(Min(state->n, np), 1);
	state->heap = palloc(sizeof(RecoCandidate) * state->heap_capacity);
}

Datum
crm_recommend_products_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *schema;
	RecoState	state;
	HASHCTL		hctl;
	int			result;
	ParamListInfo params = NULL;
	const char *metric_name;
	bool		found_metric = false;

	if (PG_ARGISNULL(0) || PG_GETARG_INT32(0) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be a positive number of recommendations, not %s",
						PG_ARGISNULL(0) ? "NULL" : psprintf("%d", PG_GETARG_INT32(0)))));
	memset(&state, 0, sizeof(state));
	state.n = PG_GETARG_INT32(0);
	metric_name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (int i = 0; metric_name != NULL && i < (int) lengthof(reco_metric_names); i++)
	{
		if (strcmp(metric_name, reco_metric_names[i]) == 0)
		{
			state.metric = (RecoMetric) i;
			found_metric = true;
		}
	}
	if (!found_metric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown recommendation metric \"%s\"", metric_name ? metric_name : ""),
				 errhint("Use cosine, lift, confidence or support.")));

	InitMaterializedSRF(fcinfo, 0);
	state.pub.receiveSlot = reco_receive;
	state.pub.rStartup = reco_startup;
	state.pub.rShutdown = reco_shutdown;
	state.pub.rDestroy = reco_destroy;
	state.pub.mydest = DestNone;
	state.rsinfo = rsinfo;
	schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));

	if (!PG_ARGISNULL(2))
	{
		params = makeParamList(1);
		params->numParams = 1;
		params->params[0].value = PG_GETARG_DATUM(2);
		params->params[0].isnull = false;
		params->params[0].pflags = PARAM_FLAG_CONST;
		params->params[0].ptype = INT8ARRAYOID;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	state.row_context = AllocSetContextCreate(CurrentMemoryContext, "recommend_products_all rows",
											  ALLOCSET_DEFAULT_SIZES);

	/* N; nothing counted yet: no recommendations (as crm.recommend_products) */
	result = SPI_execute(psprintf("SELECT t." CRM_COLUMN_PRODUCT_PAIR_TOTALS_CUSTOMERS
								  " FROM %s." CRM_TABLE_PRODUCT_PAIR_TOTALS " t", schema),
						 true, 0);
	if (result != SPI_OK_SELECT)
		elog(ERROR, "recommend_products_all: reading the totals failed: %s", SPI_result_code_string(result));
	if (SPI_processed == 0)
	{
		SPI_finish();
		return (Datum) 0;
	}
	{
		bool		isnull;
		Datum		total = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
		{
			SPI_finish();
			return (Datum) 0;
		}
		state.total_customers = DatumGetInt64(total);
	}

	/* the model: every pair with both products' buyer counts, and whether each is active */
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(RecoProduct);
	hctl.hcxt = CurrentMemoryContext;
	state.products = hash_create("recommend_products_all products", 1024, &hctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	state.maxedges = 1024;
	state.edges = palloc_extended(sizeof(RecoEdge) * state.maxedges, MCXT_ALLOC_HUGE);
	reco_read(&state,
			  psprintf("SELECT p." CRM_COLUMN_PRODUCT_PAIRS_A ", p." CRM_COLUMN_PRODUCT_PAIRS_B
					   ", p." CRM_COLUMN_PRODUCT_PAIRS_CUSTOMERS
					   ", a." CRM_COLUMN_PRODUCT_BUYERS_CUSTOMERS ", b." CRM_COLUMN_PRODUCT_BUYERS_CUSTOMERS
					   ", pa." CRM_COLUMN_PRODUCTS_ACTIVE " IS TRUE, pb." CRM_COLUMN_PRODUCTS_ACTIVE " IS TRUE"
					   " FROM %s." CRM_TABLE_PRODUCT_PAIRS " p"
					   " JOIN %s." CRM_TABLE_PRODUCT_BUYERS " a ON a." CRM_COLUMN_PRODUCT_BUYERS_PRODUCT_ID
					   " OPERATOR(pg_catalog.=) p." CRM_COLUMN_PRODUCT_PAIRS_A
					   " JOIN %s." CRM_TABLE_PRODUCT_BUYERS " b ON b." CRM_COLUMN_PRODUCT_BUYERS_PRODUCT_ID
					   " OPERATOR(pg_catalog.=) p." CRM_COLUMN_PRODUCT_PAIRS_B
					   " LEFT JOIN %s." CRM_TABLE_PRODUCTS " pa ON pa." CRM_COLUMN_PRODUCTS_PRODUCT_ID
					   " OPERATOR(pg_catalog.=) p." CRM_COLUMN_PRODUCT_PAIRS_A
					   " LEFT JOIN %s." CRM_TABLE_PRODUCTS " pb ON pb." CRM_COLUMN_PRODUCTS_PRODUCT_ID
					   " OPERATOR(pg_catalog.=) p." CRM_COLUMN_PRODUCT_PAIRS_B,
					   schema, schema, schema, schema, schema),
			  NULL);
	reco_build_adjacency(&state);

	/*
	 * The baskets: each visible contact's purchased products, as crm.recommend_products reads
	 * them (the caller's purchases and lines of a contact the caller sees), contact by contact.
	 */
	if (state.nproducts > 0)
	{
		state.reading_baskets = true;
		reco_read(&state,
				  psprintf("SELECT o." CRM_COLUMN_PURCHASES_CONTACT_ID ", l." CRM_COLUMN_ORDER_LINES_PRODUCT_ID
						   " FROM %s." CRM_VIEW_PURCHASES " o"
						   " JOIN %s." CRM_TABLE_ORDER_LINES " l ON l." CRM_COLUMN_ORDER_LINES_ORDER_ID
						   " OPERATOR(pg_catalog.=) o." CRM_COLUMN_PURCHASES_ORDER_ID
						   " WHERE EXISTS (SELECT FROM %s." CRM_TABLE_CONTACTS " c WHERE c." CRM_COLUMN_CONTACTS_CONTACT_ID
						   " OPERATOR(pg_catalog.=) o." CRM_COLUMN_PURCHASES_CONTACT_ID ")"
						   "%s"
						   " ORDER BY o." CRM_COLUMN_PURCHASES_CONTACT_ID,
						   schema, schema, schema,
						   params ? " AND o." CRM_COLUMN_PURCHASES_CONTACT_ID " OPERATOR(pg_catalog.=) ANY ($1)" : ""),
				  params);
		reco_finish_customer(&state);
	}
	SPI_finish();
	return (Datum) 0;
}
