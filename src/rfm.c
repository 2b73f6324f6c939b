/*
 * rfm.c: the crm.rfm type, an RFM score: recency, frequency and monetary scores, each 1 to 5.
 *
 * A fixed-length, pass-by-value type of two bytes (not a varlena, so it carries no version word of
 * its own kind): bits 0-2 hold the monetary score, bits 3-5 frequency, bits 6-8 recency, bits
 * 12-15 the format version (1). Bits 9-11 are zero. Every valid value is therefore nonzero, and a
 * stored value from a future format is recognised instead of misread.
 *
 * Ordering is lexicographic on (recency, frequency, monetary): '511' < '521' < '532' < '543'. With
 * the three scores packed most significant first, that is the order of the packed scores.
 */
#include "crm.h"

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#define RFM_FORMAT_VERSION 1
#define RFM_VERSION_SHIFT 12
#define RFM_SCORE_BITS 0x01FF

typedef uint16 Rfm;

#define DatumGetRfm(d) ((Rfm) DatumGetUInt16(d))
#define RfmGetDatum(r) UInt16GetDatum(r)
#define PG_GETARG_RFM(n) DatumGetRfm(PG_GETARG_DATUM(n))
#define PG_RETURN_RFM(r) return RfmGetDatum(r)

static inline int
rfm_recency(Rfm r)
{
	return (r >> 6) & 7;
}

static inline int
rfm_frequency(Rfm r)
{
	return (r >> 3) & 7;
}

static inline int
rfm_monetary(Rfm r)
{
	return r & 7;
}

/* The scores alone, in the order the type sorts by. */
static inline int
rfm_rank(Rfm r)
{
	return r & RFM_SCORE_BITS;
}

static inline bool
rfm_score_valid(int score)
{
	return score >= 1 && score <= 5;
}

static inline Rfm
rfm_make(int recency, int frequency, int monetary)
{
	return (Rfm) ((RFM_FORMAT_VERSION << RFM_VERSION_SHIFT) | (recency << 6) | (frequency << 3) | monetary);
}

PG_FUNCTION_INFO_V1(crm_rfm_in);
/* Text input: exactly three digits 1-5, recency first: '543'. */
Datum
crm_rfm_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	int			scores[3];

	if (strlen(text) != 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type crm.rfm: \"%s\"", text),
				 errdetail("An RFM score is exactly three digits from 1 to 5: recency, frequency, monetary.")));
	for (int i = 0; i < 3; i++)
	{
		scores[i] = text[i] - '0';
		if (!rfm_score_valid(scores[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type crm.rfm: \"%s\"", text),
					 errdetail("Each of the three scores must be a digit from 1 to 5; character %d is not.", i + 1)));
	}
	PG_RETURN_RFM(rfm_make(scores[0], scores[1], scores[2]));
}

PG_FUNCTION_INFO_V1(crm_rfm_out);
/* Text output: '543'. */
Datum
crm_rfm_out(PG_FUNCTION_ARGS)
{
	Rfm			r = PG_GETARG_RFM(0);

	PG_RETURN_CSTRING(psprintf("%d%d%d", rfm_recency(r), rfm_frequency(r), rfm_monetary(r)));
}

PG_FUNCTION_INFO_V1(crm_rfm_recv);
/* Binary input: a format version byte (1), then the recency, frequency and monetary bytes. */
Datum
crm_rfm_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buffer = (StringInfo) PG_GETARG_POINTER(0);
	int			version,
				scores[3];

	if (buffer->len - buffer->cursor != 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary crm.rfm value"),
				 errdetail("A binary RFM score is 4 bytes; %d were given.", buffer->len - buffer->cursor)));
	version = pq_getmsgbyte(buffer);
	if (version != RFM_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary crm.rfm format version %d", version),
				 errdetail("This version of crm reads format version %d.", RFM_FORMAT_VERSION)));
	for (int i = 0; i < 3; i++)
	{
		scores[i] = pq_getmsgbyte(buffer);
		if (!rfm_score_valid(scores[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary crm.rfm value"),
					 errdetail("Score %d is %d; scores are 1 to 5.", i + 1, scores[i])));
	}
	PG_RETURN_RFM(rfm_make(scores[0], scores[1], scores[2]));
}

PG_FUNCTION_INFO_V1(crm_rfm_send);
/* Binary output: the format version byte, then the three score bytes. */
Datum
crm_rfm_send(PG_FUNCTION_ARGS)
{
	Rfm			r = PG_GETARG_RFM(0);
	StringInfoData buffer;

	pq_begintypsend(&buffer);
	pq_sendbyte(&buffer, RFM_FORMAT_VERSION);
	pq_sendbyte(&buffer, rfm_recency(r));
	pq_sendbyte(&buffer, rfm_frequency(r));
	pq_sendbyte(&buffer, rfm_monetary(r));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buffer));
}

PG_FUNCTION_INFO_V1(crm_rfm_make);
/* The RFM score of three scores 1-5: crm.rfm(5, 4, 3) = '543'. */
Datum
crm_rfm_make(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"recency", "frequency", "monetary"};
	int			scores[3];

	for (int i = 0; i < 3; i++)
	{
		scores[i] = PG_GETARG_INT32(i);
		if (!rfm_score_valid(scores[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s score must be between 1 and 5", names[i]),
					 errdetail("The %s score given was %d.", names[i], scores[i])));
	}
	PG_RETURN_RFM(rfm_make(scores[0], scores[1], scores[2]));
}

PG_FUNCTION_INFO_V1(crm_rfm_recency_score);
/* The recency score, 1-5. */
Datum
crm_rfm_recency_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_recency(PG_GETARG_RFM(0)));
}

PG_FUNCTION_INFO_V1(crm_rfm_frequency_score);
/* The frequency score, 1-5. */
Datum
crm_rfm_frequency_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_frequency(PG_GETARG_RFM(0)));
}

PG_FUNCTION_INFO_V1(crm_rfm_monetary_score);
/* The monetary score, 1-5. */
Datum
crm_rfm_monetary_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(rfm_monetary(PG_GETARG_RFM(0)));
}

PG_FUNCTION_INFO_V1(crm_rfm_cmp);
/* Btree support: -1, 0 or 1 comparing (recency, frequency, monetary) lexicographically. */
Datum
crm_rfm_cmp(PG_FUNCTION_ARGS)
{
	int			a = rfm_rank(PG_GETARG_RFM(0));
	int			b = rfm_rank(PG_GETARG_RFM(1));

	PG_RETURN_INT32((a > b) - (a < b));
}

PG_FUNCTION_INFO_V1(crm_rfm_eq);
/* a = b */
Datum
crm_rfm_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) == rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_ne);
/* a <> b */
Datum
crm_rfm_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) != rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_lt);
/* a < b */
Datum
crm_rfm_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) < rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_le);
/* a <= b */
Datum
crm_rfm_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) <= rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_gt);
/* a > b */
Datum
crm_rfm_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) > rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_ge);
/* a >= b */
Datum
crm_rfm_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rfm_rank(PG_GETARG_RFM(0)) >= rfm_rank(PG_GETARG_RFM(1)));
}

PG_FUNCTION_INFO_V1(crm_rfm_hash);
/* Hash support: equal scores hash equally. */
Datum
crm_rfm_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32((uint32) rfm_rank(PG_GETARG_RFM(0)));
}

PG_FUNCTION_INFO_V1(crm_rfm_hash_extended);
/* Extended (seeded, 64-bit) hash support, used by hash partitioning. */
Datum
crm_rfm_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended((uint32) rfm_rank(PG_GETARG_RFM(0)), PG_GETARG_INT64(1));
}
