/*
 * dedupe.c: the string comparisons and keys of duplicate detection (src/dedupe.sql): trigram sets
 * and trigram similarity with pg_trgm's definitions, the Levenshtein distance, the Soundex code as
 * fuzzystrmatch computes it, and the test whether a row version was written by the current
 * transaction. They are implemented here instead of being taken from contrib's pg_trgm and
 * fuzzystrmatch: crm does not require those extensions (docs/data_quality.md says why), and the
 * pgTAP suite test/pgtap/dedupe.sql compares these with the contrib originals when they are
 * installed on the test machine.
 *
 * Each function computes from its arguments alone (crm_xid_is_current excepted: it asks about the
 * current transaction), so they are IMMUTABLE and usable in expression indexes.
 */
#include "crm.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

/* The longest string, in characters, the trigram functions read (54000 beyond). */
#define TRIGRAM_MAX_CHARACTERS 100000
/* The longest string, in characters, crm.levenshtein compares (54000 beyond). */
#define LEVENSHTEIN_MAX_CHARACTERS 10000

/*
 * The characters of a text as pg_wchar (a new allocation), at most max_characters of them (else
 * 54000 naming the function and the argument).
 */
static pg_wchar *
characters_of(text *t, int max_characters, int *count, const char *function_name, const char *argument)
{
	const char *s = VARDATA_ANY(t);
	int			bytes = VARSIZE_ANY_EXHDR(t);
	int			n;
	pg_wchar   *chars;

	n = ((int64) bytes > (int64) max_characters * pg_database_encoding_max_length())
		? max_characters + 1 : pg_mbstrlen_with_len(s, bytes);
	if (n > max_characters)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the %s argument is too long", function_name, argument),
				 errdetail("Strings of up to %d characters are accepted.", max_characters)));
	chars = palloc(sizeof(pg_wchar) * (n + 1));
	*count = pg_mb2wchar_with_len(s, chars, bytes);
	return chars;
}

/* ---------------------------------------------------------------------------------------------
 * Trigrams, as pg_trgm defines them: the text is split into words (runs of letters and digits;
 * here ASCII letters and digits and every non-ASCII character), each word lower-cased (ASCII
 * letters; the text is meant to be normalised first) and padded with two spaces before and one
 * after, and the trigrams are the distinct runs of three consecutive characters of the padded
 * words. A word of n characters gives n + 1 trigrams.
 */
typedef struct Trigram
{
	pg_wchar	c[3];
} Trigram;

static inline bool
trigram_word_character(pg_wchar c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
trigram_compare(const void *a, const void *b)
{
	const Trigram *x = a;
	const Trigram *y = b;
	int			i;

	for (i = 0; i < 3; i++)
		if (x->c[i] != y->c[i])
			return x->c[i] < y->c[i] ? -1 : 1;
	return 0;
}

/* The sorted, distinct trigrams of a text; their number through count. */
static Trigram *
trigrams_of(text *t, int *count, const char *function_name, const char *argument)
{
	int			n,
				i,
				k = 0,
				distinct;
	pg_wchar   *chars = characters_of(t, TRIGRAM_MAX_CHARACTERS, &n, function_name, argument);
	/* each character ends at most one trigram, and each word adds one more: at most 2n */
	Trigram    *trigrams = palloc(sizeof(Trigram) * (2 * n + 1));

	i = 0;
	while (i < n)
	{
		int			start,
					end,
					p;

		CHECK_FOR_INTERRUPTS();
		while (i < n && !trigram_word_character(chars[i]))
			i++;
		if (i >= n)
			break;
		start = i;
		while (i < n && trigram_word_character(chars[i]))
		{
			if (chars[i] >= 'A' && chars[i] <= 'Z')
				chars[i] += 'a' - 'A';
			i++;
		}
		end = i;
		/* padded word: "  " chars[start..end) " "; positions -2 .. end - start */
		for (p = -2; p + 2 <= end - start; p++)
		{
			int			q;

			for (q = 0; q < 3; q++)
			{
				int			at = p + q;

				trigrams[k].c[q] = (at < 0 || at >= end - start) ? ' ' : chars[start + at];
			}
			k++;
		}
	}
	pfree(chars);
	if (k > 1)
		qsort(trigrams, k, sizeof(Trigram), trigram_compare);
	distinct = 0;
	for (i = 0; i < k; i++)
		if (distinct == 0 || trigram_compare(&trigrams[distinct - 1], &trigrams[i]) != 0)
			trigrams[distinct++] = trigrams[i];
	*count = distinct;
	return trigrams;
}

PG_FUNCTION_INFO_V1(crm_trigrams);
/* crm.trigrams(t text) RETURNS text[]: the distinct trigrams, sorted by code point. */
Datum
crm_trigrams(PG_FUNCTION_ARGS)
{
	int			count,
				i;
	Trigram    *trigrams = trigrams_of(PG_GETARG_TEXT_PP(0), &count, "trigrams", "first");
	Datum	   *elements = palloc(sizeof(Datum) * (count + 1));

	for (i = 0; i < count; i++)
	{
		unsigned char buffer[3 * MAX_MULTIBYTE_CHAR_LEN + 1];
		int			bytes = pg_wchar2mb_with_len(trigrams[i].c, (char *) buffer, 3);

		elements[i] = PointerGetDatum(cstring_to_text_with_len((char *) buffer, bytes));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elements, count, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(crm_trigram_similarity);
/*
 * crm.trigram_similarity(a text, b text): shared / (|A| + |B| - shared) over the two trigram
 * sets; 0 when either set is empty (as pg_trgm's similarity).
 */
Datum
crm_trigram_similarity(PG_FUNCTION_ARGS)
{
	int			na,
				nb,
				i = 0,
				j = 0,
				shared = 0;
	Trigram    *a = trigrams_of(PG_GETARG_TEXT_PP(0), &na, "trigram_similarity", "first");
	Trigram    *b = trigrams_of(PG_GETARG_TEXT_PP(1), &nb, "trigram_similarity", "second");

	if (na == 0 || nb == 0)
		PG_RETURN_FLOAT8(0.0);
	while (i < na && j < nb)
	{
		int			c = trigram_compare(&a[i], &b[j]);

		if (c == 0)
		{
			shared++;
			i++;
			j++;
		}
		else if (c < 0)
			i++;
		else
			j++;
	}
	PG_RETURN_FLOAT8((double) shared / (double) (na + nb - shared));
}

/* ---------------------------------------------------------------------------------------------
 * Levenshtein distance in characters: the fewest insertions, deletions and substitutions (each
 * costing 1) that turn a into b; two rows of the dynamic programme.
 */
PG_FUNCTION_INFO_V1(crm_levenshtein);
Datum
crm_levenshtein(PG_FUNCTION_ARGS)
{
	int			la,
				lb,
				i,
				j;
	pg_wchar   *a = characters_of(PG_GETARG_TEXT_PP(0), LEVENSHTEIN_MAX_CHARACTERS, &la, "levenshtein", "first");
	pg_wchar   *b = characters_of(PG_GETARG_TEXT_PP(1), LEVENSHTEIN_MAX_CHARACTERS, &lb, "levenshtein", "second");
	int		   *previous,
			   *current;

	if (la == 0)
		PG_RETURN_INT32(lb);
	if (lb == 0)
		PG_RETURN_INT32(la);
	previous = palloc(sizeof(int) * (lb + 1));
	current = palloc(sizeof(int) * (lb + 1));
	for (j = 0; j <= lb; j++)
		previous[j] = j;
	for (i = 1; i <= la; i++)
	{
		int		   *swap;

		CHECK_FOR_INTERRUPTS();
		current[0] = i;
		for (j = 1; j <= lb; j++)
		{
			int			best = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (previous[j] + 1 < best)
				best = previous[j] + 1;
			if (current[j - 1] + 1 < best)
				best = current[j - 1] + 1;
			current[j] = best;
		}
		swap = previous;
		previous = current;
		current = swap;
	}
	PG_RETURN_INT32(previous[lb]);
}

/* ---------------------------------------------------------------------------------------------
 * Soundex (American Soundex as fuzzystrmatch's soundex() computes it): leading characters that are
 * not ASCII letters are skipped; the first letter, upper-cased, is kept; each following ASCII
 * letter gives its digit (b f p v 1; c g j k q s x z 2; d t 3; l 4; m n 5; r 6; vowels, h, w and
 * y 0) unless the character just before it (whatever it is) has the same code, and zeros are not
 * written; the code is cut or padded with zeros to four characters. No letter at all: ''.
 */
static char
soundex_code(unsigned char c)
{
	static const char codes[] = "01230120022455012623010202";

	if (c >= 'a' && c <= 'z')
		return codes[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return codes[c - 'A'];
	return (char) c;				/* not a letter: its own code, equal to no letter's */
}

static inline bool
ascii_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

PG_FUNCTION_INFO_V1(crm_soundex);
Datum
crm_soundex(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	int			i = 0,
				length = 0;
	char		code[5];

	while (i < n && !ascii_letter(s[i]))
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		i++;
	}
	if (i >= n)
		PG_RETURN_TEXT_P(cstring_to_text(""));
	code[length++] = (s[i] >= 'a' && s[i] <= 'z') ? (char) (s[i] - 'a' + 'A') : (char) s[i];
	for (i++; i < n && length < 4; i++)
	{
		if (ascii_letter(s[i]) && soundex_code(s[i]) != soundex_code(s[i - 1]))
		{
			char		c = soundex_code(s[i]);

			if (c != '0')
				code[length++] = c;
		}
	}
	while (length < 4)
		code[length++] = '0';
	code[4] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(code));
}

/* ---------------------------------------------------------------------------------------------
 * crm.xid_is_current(x xid): true when x is the current transaction or one of its open
 * subtransactions, that is, when a row version whose xmin is x was written by this transaction.
 * The duplicate matching of src/dedupe.sql uses it to act only on rows the caller just wrote.
 */
PG_FUNCTION_INFO_V1(crm_xid_is_current);
Datum
crm_xid_is_current(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));

	PG_RETURN_BOOL(TransactionIdIsValid(xid) && TransactionIdIsCurrentTransactionId(xid));
}

/* ---------------------------------------------------------------------------------------------
 * crm.compare_contacts: the evidence for one pair of contacts, per field, as a jsonb object. What
 * the PL/pgSQL version of release 0.2's first drafts computed (test/pgtap/dedupe.sql keeps that
 * version and compares the two on random and edited pairs), in C: the trigger compares every
 * candidate pair of a new contact, and a full refresh every blocked pair, so this is the hot path
 * of duplicate matching. The string functions are those of src/data_quality.c and this file,
 * called through fmgr so that the rules (and the 54000 limits) are theirs.
 */
extern PGDLLEXPORT Datum crm_normalize_name(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum crm_normalize_email(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum crm_normalize_phone(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum crm_jaro_winkler(PG_FUNCTION_ARGS);

/* normalize_name(t), NULL for NULL or '' (nullif(normalize_name(t), '')) */
static text *
compare_name_of(FunctionCallInfo fcinfo, int argument)
{
	text	   *name;

	if (PG_ARGISNULL(argument))
		return NULL;
	name = DatumGetTextPP(DirectFunctionCall1(crm_normalize_name, PG_GETARG_DATUM(argument)));
	return VARSIZE_ANY_EXHDR(name) == 0 ? NULL : name;
}

/* normalize_email(t) (without the Gmail rules), NULL for NULL or what is not an address */
static text *
compare_email_of(FunctionCallInfo fcinfo, int argument)
{
	LOCAL_FCINFO(call, 2);
	Datum		result;

	if (PG_ARGISNULL(argument))
		return NULL;
	InitFunctionCallInfoData(*call, NULL, 2, InvalidOid, NULL, NULL);
	call->args[0].value = PG_GETARG_DATUM(argument);
	call->args[0].isnull = false;
	call->args[1].value = BoolGetDatum(false);
	call->args[1].isnull = false;
	result = crm_normalize_email(call);
	return call->isnull ? NULL : DatumGetTextPP(result);
}

/* normalize_phone(phone, country) (called on NULL input, as the SQL function), NULL when unread */
static text *
compare_phone_of(FunctionCallInfo fcinfo, int phone, int country)
{
	LOCAL_FCINFO(call, 2);
	Datum		result;

	InitFunctionCallInfoData(*call, NULL, 2, InvalidOid, NULL, NULL);
	call->args[0].value = PG_ARGISNULL(phone) ? (Datum) 0 : PG_GETARG_DATUM(phone);
	call->args[0].isnull = PG_ARGISNULL(phone);
	call->args[1].value = PG_ARGISNULL(country) ? (Datum) 0 : PG_GETARG_DATUM(country);
	call->args[1].isnull = PG_ARGISNULL(country);
	result = crm_normalize_phone(call);
	return call->isnull ? NULL : DatumGetTextPP(result);
}

static bool
compare_texts_equal(text *a, text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b)
		&& memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static double
compare_jaro_winkler(text *a, text *b)
{
	return DatumGetFloat8(DirectFunctionCall2(crm_jaro_winkler, PointerGetDatum(a), PointerGetDatum(b)));
}

static int
compare_levenshtein(text *a, text *b)
{
	return DatumGetInt32(DirectFunctionCall2(crm_levenshtein, PointerGetDatum(a), PointerGetDatum(b)));
}

/* round(x::numeric, 4) as text, as the SQL computes it */
static void
append_rounded(StringInfo out, double x)
{
	Datum		rounded = DirectFunctionCall2(numeric_round, DirectFunctionCall1(float8_numeric, Float8GetDatum(x)),
											  Int32GetDatum(4));

	appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, rounded)));
}

/*
 * compare_name_level(a, b) as JSON members after "level": missing (either NULL or ''), exact
 * (equal), else jw92 / jw80 / other by Jaro–Winkler, with jaro_winkler, levenshtein and trigram
 * (rounded to 4 digits) as evidence. level NULL: the name level's own; else that level instead (the
 * swapped comparison keeps the evidence, not the level).
 */
static void
append_name_level(StringInfo out, text *a, text *b, const char *level)
{
	double		jw;

	if (a == NULL || b == NULL)
	{
		appendStringInfo(out, "{\"level\": \"%s\"}", level ? level : "missing");
		return;
	}
	if (compare_texts_equal(a, b))
	{
		appendStringInfo(out, "{\"level\": \"%s\"}", level ? level : "exact");
		return;
	}
	jw = compare_jaro_winkler(a, b);
	appendStringInfo(out, "{\"level\": \"%s\", \"jaro_winkler\": ",
					 level ? level : (jw >= 0.92 ? "jw92" : jw >= 0.8 ? "jw80" : "other"));
	append_rounded(out, jw);
	appendStringInfo(out, ", \"levenshtein\": %d, \"trigram\": ", compare_levenshtein(a, b));
	append_rounded(out, DatumGetFloat8(DirectFunctionCall2(crm_trigram_similarity,
														   PointerGetDatum(a), PointerGetDatum(b))));
	appendStringInfoChar(out, '}');
}

/* the part of a text before its first '@' (split_part(t, '@', 1)) equals the other's */
static bool
compare_local_parts_equal(text *a, text *b)
{
	const char *sa = VARDATA_ANY(a);
	const char *sb = VARDATA_ANY(b);
	const char *at_a = memchr(sa, '@', VARSIZE_ANY_EXHDR(a));
	const char *at_b = memchr(sb, '@', VARSIZE_ANY_EXHDR(b));
	int			la = at_a ? (int) (at_a - sa) : (int) VARSIZE_ANY_EXHDR(a);
	int			lb = at_b ? (int) (at_b - sb) : (int) VARSIZE_ANY_EXHDR(b);

	return la == lb && memcmp(sa, sb, la) == 0;
}

PG_FUNCTION_INFO_V1(crm_compare_contacts);
/*
 * crm.compare_contacts(a_first_name, a_last_name, a_email, a_phone, a_country, a_account_id,
 * b_first_name, ..., b_account_id): the evidence (docs/data_quality.md). Not strict: a NULL field
 * is missing.
 */
Datum
crm_compare_contacts(PG_FUNCTION_ARGS)
{
	text	   *af = compare_name_of(fcinfo, 0);
	text	   *al = compare_name_of(fcinfo, 1);
	text	   *bf = compare_name_of(fcinfo, 6);
	text	   *bl = compare_name_of(fcinfo, 7);
	text	   *ae = compare_email_of(fcinfo, 2);
	text	   *be = compare_email_of(fcinfo, 8);
	text	   *ap = compare_phone_of(fcinfo, 3, 4);
	text	   *bp = compare_phone_of(fcinfo, 9, 10);
	bool		swapped = false;
	StringInfoData out;

	/*
	 * First and last name swapped: both names agree across (Jaro–Winkler >= 0.92 each), and better
	 * than in place (by more than 1e-9, summed in the order the SQL sums).
	 */
	if (af && al && bf && bl)
	{
		double		cross1 = compare_jaro_winkler(af, bl);

		if (cross1 >= 0.92)
		{
			double		cross2 = compare_jaro_winkler(al, bf);

			if (cross2 >= 0.92
				&& cross1 + cross2 > compare_jaro_winkler(af, bf) + compare_jaro_winkler(al, bl) + 1e-9)
				swapped = true;
		}
	}
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"first_name\": ");
	append_name_level(&out, af, swapped ? bl : bf, swapped ? "swapped" : NULL);
	appendStringInfoString(&out, ", \"last_name\": ");
	append_name_level(&out, al, swapped ? bf : bl, swapped ? "swapped" : NULL);
	appendStringInfo(&out, ", \"swapped\": %s", swapped ? "true" : "false");
	/* E-mail: exact; close (at most two edits apart, or the same local part at another domain). */
	appendStringInfoString(&out, ", \"email\": ");
	if (ae == NULL || be == NULL)
		appendStringInfoString(&out, "{\"level\": \"missing\"}");
	else if (compare_texts_equal(ae, be))
		appendStringInfoString(&out, "{\"level\": \"exact\"}");
	else
	{
		int			distance = compare_levenshtein(ae, be);

		appendStringInfo(&out, "{\"level\": \"%s\", \"distance\": %d}",
						 distance <= 2 || compare_local_parts_equal(ae, be) ? "close" : "other", distance);
	}
	/* Phone (E.164): exact; close (one edit apart). */
	appendStringInfoString(&out, ", \"phone\": ");
	if (ap == NULL || bp == NULL)
		appendStringInfoString(&out, "{\"level\": \"missing\"}");
	else if (compare_texts_equal(ap, bp))
		appendStringInfoString(&out, "{\"level\": \"exact\"}");
	else
	{
		int			distance = compare_levenshtein(ap, bp);

		appendStringInfo(&out, "{\"level\": \"%s\", \"distance\": %d}", distance <= 1 ? "close" : "other", distance);
	}
	appendStringInfo(&out, ", \"account\": {\"level\": \"%s\"}}",
					 PG_ARGISNULL(5) || PG_ARGISNULL(11) ? "missing"
					 : PG_GETARG_INT64(5) == PG_GETARG_INT64(11) ? "same" : "other");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
