/*
 * clv_state.c: the compressed, mergeable state of the CLV fit aggregates (see clv.h).
 */
#include "clv.h"

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"

#define SUMMARIES_INITIAL_CAPACITY 1024
#define SUMMARY_SERIAL_SIZE (sizeof(int32) + 3 * sizeof(double))

static inline int
summary_compare(const CustomerSummary *p, const CustomerSummary *q)
{
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	if (p->u != q->u)
		return p->u < q->u ? -1 : 1;
	if (p->v != q->v)
		return p->v < q->v ? -1 : 1;
	return 0;
}

/* The sort's comparison: a sort of millions of summaries must stay cancellable (one load). */
static inline int
summary_compare_interruptible(const CustomerSummary *p, const CustomerSummary *q)
{
	CHECK_FOR_INTERRUPTS();
	return summary_compare(p, q);
}

/* summaries_sort(rows, count): a sort specialised to summary_compare, inlined */
#define ST_SORT summaries_sort
#define ST_ELEMENT_TYPE CustomerSummary
#define ST_COMPARE(a, b) summary_compare_interruptible(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Sort the summaries (by x first, which the fits rely on) and merge equal ones, adding weights. */
void
customer_summaries_compact(CustomerSummaries *state)
{
	int64		distinct = 0;

	if (state->compacted || state->count == 0)
	{
		state->compacted = true;
		return;
	}
	summaries_sort(state->rows, state->count);
	for (int64 i = 1; i < state->count; i++)
	{
		if (summary_compare(&state->rows[distinct], &state->rows[i]) == 0)
			state->rows[distinct].weight += state->rows[i].weight;
		else
			state->rows[++distinct] = state->rows[i];
	}
	state->compaction_pays = distinct + 1 <= state->count / 4 * 3;
	state->count = distinct + 1;
	state->compacted = true;
}

CustomerSummaries *
customer_summaries_new(MemoryContext context, int64 capacity, double penalizer)
{
	CustomerSummaries *state = MemoryContextAllocZero(context, sizeof(CustomerSummaries));

	state->capacity = Max(capacity, SUMMARIES_INITIAL_CAPACITY);
	state->rows = MemoryContextAllocHuge(context, sizeof(CustomerSummary) * state->capacity);
	state->penalizer = penalizer;
	state->compacted = true;
	state->compaction_pays = true;
	return state;
}

/* Room for "needed" more rows: compact first, grow only if that did not free enough. */
static void
customer_summaries_reserve(CustomerSummaries *state, int64 needed)
{
	if (state->count + needed <= state->capacity)
		return;
	if (state->compaction_pays)
	{
		customer_summaries_compact(state);
		if (state->count + needed <= state->capacity / 2)
			return;
	}
	while (state->count + needed > state->capacity / 2)
		state->capacity *= 2;
	state->rows = repalloc_huge(state->rows, sizeof(CustomerSummary) * state->capacity);
}

void
customer_summaries_add(CustomerSummaries *state, int32 x, double u, double v)
{
	customer_summaries_reserve(state, 1);
	state->rows[state->count].x = x;
	state->rows[state->count].u = u;
	state->rows[state->count].v = v;
	state->rows[state->count].weight = 1;
	state->count++;
	state->compacted = false;
}

/* The optional penalizer argument of a fit aggregate: finite and non-negative. */
double
customer_summaries_penalizer(FunctionCallInfo fcinfo, int argument)
{
	double		penalizer;

	if (PG_NARGS() <= argument)
		return 0;
	if (PG_ARGISNULL(argument))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalizer must not be NULL")));
	penalizer = PG_GETARG_FLOAT8(argument);
	if (!(penalizer >= 0) || isinf(penalizer))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("penalizer must be a finite, non-negative number"),
				 errdetail("The penalizer given was %g.", penalizer)));
	return penalizer;
}

/* The digamma function: recurrence up to 6, then the asymptotic series. */
double
crm_digamma(double value)
{
	double		result = 0;
	double		inverse,
				inverse_squared;

	while (value < 6)
	{
		result -= 1 / value;
		value += 1;
	}
	inverse = 1 / value;
	inverse_squared = inverse * inverse;
	return result + log(value) - 0.5 * inverse -
		inverse_squared * (1.0 / 12 - inverse_squared * (1.0 / 120 - inverse_squared * (1.0 / 252 -
																						 inverse_squared * (1.0 / 240 - inverse_squared / 132))));
}

/* Merge the compacted right into the compacted left, in one pass: the result is compacted. */
static void
customer_summaries_merge(MemoryContext context, CustomerSummaries *left, const CustomerSummaries *right)
{
	int64		capacity = Max(left->count + right->count, SUMMARIES_INITIAL_CAPACITY);
	CustomerSummary *merged = MemoryContextAllocHuge(context, sizeof(CustomerSummary) * capacity);
	int64		i = 0,
				j = 0,
				count = 0;

	while (i < left->count || j < right->count)
	{
		int			order;

		if ((count & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		order = i == left->count ? 1 : j == right->count ? -1 :
			summary_compare(&left->rows[i], &right->rows[j]);

		if (order < 0)
			merged[count++] = left->rows[i++];
		else if (order > 0)
			merged[count++] = right->rows[j++];
		else
		{
			merged[count] = left->rows[i++];
			merged[count++].weight += right->rows[j++].weight;
		}
	}
	pfree(left->rows);
	left->rows = merged;
	left->count = count;
	left->capacity = capacity;
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_combine);
/* CLV fit combine: merges two partial states. */
Datum
crm_customer_summaries_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_customer_summaries_combine");
	CustomerSummaries *left = PG_ARGISNULL(0) ? NULL : (CustomerSummaries *) PG_GETARG_POINTER(0);
	CustomerSummaries *right = PG_ARGISNULL(1) ? NULL : (CustomerSummaries *) PG_GETARG_POINTER(1);

	if (right == NULL)
	{
		if (left == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(left);
	}
	if (left == NULL)
	{
		/* the first partial state: the right one, as it is (it is not used after this call) */
		left = MemoryContextAlloc(context, sizeof(CustomerSummaries));
		*left = *right;
		left->rows = MemoryContextAllocHuge(context, sizeof(CustomerSummary) * right->capacity);
		memcpy(left->rows, right->rows, sizeof(CustomerSummary) * right->count);
		PG_RETURN_POINTER(left);
	}
	if (left->compacted && right->compacted)
		customer_summaries_merge(context, left, right);
	else
	{
		customer_summaries_reserve(left, right->count);
		memcpy(left->rows + left->count, right->rows, sizeof(CustomerSummary) * right->count);
		left->count += right->count;
		left->compacted = false;
	}
	PG_RETURN_POINTER(left);
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_serialize);
/* CLV fit serialize: the penalizer, the count, then the compacted summaries with weights. */
Datum
crm_customer_summaries_serialize(PG_FUNCTION_ARGS)
{
	CustomerSummaries *state = (CustomerSummaries *) PG_GETARG_POINTER(0);
	StringInfoData buffer;

	crm_aggregate_context(fcinfo, "crm_customer_summaries_serialize");
	customer_summaries_compact(state);
	pq_begintypsend(&buffer);
	pq_sendfloat8(&buffer, state->penalizer);
	pq_sendint64(&buffer, state->count);
	for (int64 i = 0; i < state->count; i++)
	{
		pq_sendint32(&buffer, state->rows[i].x);
		pq_sendfloat8(&buffer, state->rows[i].u);
		pq_sendfloat8(&buffer, state->rows[i].v);
		pq_sendfloat8(&buffer, state->rows[i].weight);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_customer_summaries_deserialize);
/* CLV fit deserialize: the inverse of crm_customer_summaries_serialize, checking every length. */
Datum
crm_customer_summaries_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_customer_summaries_deserialize");
	bytea	   *serial = PG_GETARG_BYTEA_PP(0);
	StringInfoData buffer;
	CustomerSummaries *state;
	double		penalizer;
	int64		count;

	buffer.data = VARDATA_ANY(serial);
	buffer.len = VARSIZE_ANY_EXHDR(serial);
	buffer.maxlen = buffer.len;
	buffer.cursor = 0;
	if (buffer.len < (int) (sizeof(double) + sizeof(int64)))
		elog(ERROR, "crm_customer_summaries_deserialize: state of %d bytes is too short", buffer.len);
	penalizer = pq_getmsgfloat8(&buffer);
	count = pq_getmsgint64(&buffer);
	if (count < 0 || (uint64) count * SUMMARY_SERIAL_SIZE != (uint64) (buffer.len - buffer.cursor))
		elog(ERROR, "crm_customer_summaries_deserialize: state of %d bytes does not hold %lld summaries",
			 buffer.len, (long long) count);
	state = customer_summaries_new(context, count, penalizer);
	for (int64 i = 0; i < count; i++)
	{
		state->rows[i].x = pq_getmsgint(&buffer, sizeof(int32));
		state->rows[i].u = pq_getmsgfloat8(&buffer);
		state->rows[i].v = pq_getmsgfloat8(&buffer);
		state->rows[i].weight = pq_getmsgfloat8(&buffer);
		if (i > 0 && summary_compare(&state->rows[i - 1], &state->rows[i]) >= 0)
			elog(ERROR, "crm_customer_summaries_deserialize: summaries out of order");
	}
	state->count = count;
	PG_RETURN_POINTER(state);
}

/*
 * The positive parameters (the first count fields) of the model composite in argument, checked.
 * Prediction functions run once per customer with the same model, so the parameters read are
 * cached in fn_extra with a copy of the composite they came from, and read again only when the
 * model differs. A function may take models in its first two arguments (crm.clv takes two).
 */
#define MODEL_CACHE_ARGUMENTS 2
typedef struct ModelParameterCache
{
	uint32		length;
	char	   *tuple;
	double		parameters[CRM_BFGS_MAX_DIMENSIONS];
} ModelParameterCache;

void
clv_model_parameters(FunctionCallInfo fcinfo, int argument, const char *model_name,
					 int count, const char *const *names, double *parameters)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(argument);
	uint32		length = HeapTupleHeaderGetDatumLength(model);
	ModelParameterCache *cache;

	Assert(count <= CRM_BFGS_MAX_DIMENSIONS && argument < MODEL_CACHE_ARGUMENTS);
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(ModelParameterCache) * MODEL_CACHE_ARGUMENTS);
	cache = (ModelParameterCache *) fcinfo->flinfo->fn_extra + argument;
	if (cache->tuple == NULL || cache->length != length || memcmp(cache->tuple, model, length) != 0)
	{
		for (int k = 0; k < count; k++)
		{
			bool		is_null;
			Datum		value = GetAttributeByNum(model, k + 1, &is_null);

			if (is_null)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s model parameter %s is NULL", model_name, names[k]),
						 errhint("Use a model whose fit converged.")));
			parameters[k] = DatumGetFloat8(value);
			if (!(parameters[k] > 0) || isinf(parameters[k]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s model parameter %s must be a positive number", model_name, names[k]),
						 errdetail("It is %g.", parameters[k]),
						 errhint("Use a model whose fit converged.")));
		}
		if (cache->tuple != NULL)
			pfree(cache->tuple);
		memcpy(cache->parameters, parameters, sizeof(double) * count);
		cache->tuple = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, length);
		memcpy(cache->tuple, model, length);
		cache->length = length;
		return;
	}
	memcpy(parameters, cache->parameters, sizeof(double) * count);
}

/*
 * A fit's result as the model composite the calling aggregate returns: the parameters exp(theta),
 * then log_likelihood, n, iterations, converged. A parameter driven out of range by a diverging
 * fit becomes NULL and the fit not converged, so no NaN or infinity gets out.
 */
Datum
customer_model_datum(FunctionCallInfo fcinfo, const double *theta, int parameter_count,
					 double log_likelihood, double customers, int iterations, bool converged)
{
	TupleDesc	descriptor;
	Datum		values[CRM_BFGS_MAX_DIMENSIONS + 4];
	bool		nulls[CRM_BFGS_MAX_DIMENSIONS + 4] = {false};

	Assert(parameter_count <= CRM_BFGS_MAX_DIMENSIONS);
	if (get_call_result_type(fcinfo, NULL, &descriptor) != TYPEFUNC_COMPOSITE ||
		descriptor->natts != parameter_count + 4)
		elog(ERROR, "a CLV fit must return its model composite");
	descriptor = BlessTupleDesc(descriptor);
	for (int k = 0; k < parameter_count; k++)
	{
		double		parameter = exp(theta[k]);

		if (!isfinite(parameter) || parameter <= 0)
		{
			nulls[k] = true;
			converged = false;
		}
		else
			values[k] = Float8GetDatum(parameter);
	}
	if (isfinite(log_likelihood))
		values[parameter_count] = Float8GetDatum(log_likelihood);
	else
		nulls[parameter_count] = true;
	values[parameter_count + 1] = Int64GetDatum((int64) customers);
	values[parameter_count + 2] = Int32GetDatum(iterations);
	values[parameter_count + 3] = BoolGetDatum(converged);
	return HeapTupleGetDatum(heap_form_tuple(descriptor, values, nulls));
}
