/*
 * data_quality.c: normalisation of names, company names, e-mail addresses, phone numbers and
 * domains, and the Jaro and Jaro–Winkler string similarities. Every function computes from its
 * arguments alone (no table, no configuration, no locale): the same input gives the same output
 * in every database of the same encoding, so they are IMMUTABLE and usable in indexes.
 *
 * Accents are folded here, in C, by a table of the Latin letters that carry them (Latin-1
 * Supplement, Latin Extended-A, the pinyin and Romanian letters of Latin Extended-B, and the
 * combining diacritical marks), instead of through contrib's unaccent: unaccent is STABLE (it
 * reads a dictionary), so an expression index over it needs a wrapper that lies about its
 * volatility, and it would add a required extension to crm (docs/data_quality.md).
 */
#include "crm.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* The longest string, in characters, crm.jaro and crm.jaro_winkler compare (54000 beyond). */
#define JARO_MAX_CHARACTERS 10000

/* ---------------------------------------------------------------------------------------------
 * Accent folding and lower-casing of one code point
 */

/* Latin letters U+00C0 to U+017F and a few of Latin Extended-B, as ranges of code points that all
 * fold to the same lower-case ASCII text. Code points of this block not listed (U+00D7 and U+00F7,
 * the multiplication and division signs) are not letters. */
typedef struct FoldRange
{
	pg_wchar	first;
	pg_wchar	last;
	const char *ascii;
} FoldRange;

static const FoldRange latin_folds[] = {
	{0x00C0, 0x00C5, "a"}, {0x00C6, 0x00C6, "ae"}, {0x00C7, 0x00C7, "c"}, {0x00C8, 0x00CB, "e"},
	{0x00CC, 0x00CF, "i"}, {0x00D0, 0x00D0, "d"}, {0x00D1, 0x00D1, "n"}, {0x00D2, 0x00D6, "o"},
	{0x00D8, 0x00D8, "o"}, {0x00D9, 0x00DC, "u"}, {0x00DD, 0x00DD, "y"}, {0x00DE, 0x00DE, "th"},
	{0x00DF, 0x00DF, "ss"},
	{0x00E0, 0x00E5, "a"}, {0x00E6, 0x00E6, "ae"}, {0x00E7, 0x00E7, "c"}, {0x00E8, 0x00EB, "e"},
	{0x00EC, 0x00EF, "i"}, {0x00F0, 0x00F0, "d"}, {0x00F1, 0x00F1, "n"}, {0x00F2, 0x00F6, "o"},
	{0x00F8, 0x00F8, "o"}, {0x00F9, 0x00FC, "u"}, {0x00FD, 0x00FD, "y"}, {0x00FE, 0x00FE, "th"},
	{0x00FF, 0x00FF, "y"},
	{0x0100, 0x0105, "a"}, {0x0106, 0x010D, "c"}, {0x010E, 0x0111, "d"}, {0x0112, 0x011B, "e"},
	{0x011C, 0x0123, "g"}, {0x0124, 0x0127, "h"}, {0x0128, 0x0131, "i"}, {0x0132, 0x0133, "ij"},
	{0x0134, 0x0135, "j"}, {0x0136, 0x0138, "k"}, {0x0139, 0x0142, "l"}, {0x0143, 0x014B, "n"},
	{0x014C, 0x0151, "o"}, {0x0152, 0x0153, "oe"}, {0x0154, 0x0159, "r"}, {0x015A, 0x0161, "s"},
	{0x0162, 0x0167, "t"}, {0x0168, 0x0173, "u"}, {0x0174, 0x0175, "w"}, {0x0176, 0x0178, "y"},
	{0x0179, 0x017E, "z"}, {0x017F, 0x017F, "s"},
	/* pinyin tones (Ǎ ǎ Ǐ ǐ Ǒ ǒ Ǔ ǔ, then ǖ ǘ ǚ ǜ and their capitals) */
	{0x01CD, 0x01CE, "a"}, {0x01CF, 0x01D0, "i"}, {0x01D1, 0x01D2, "o"}, {0x01D3, 0x01DC, "u"},
	/* Romanian Ș ș Ț ț (comma below) */
	{0x0218, 0x0219, "s"}, {0x021A, 0x021B, "t"},
	/* capital sharp s */
	{0x1E9E, 0x1E9E, "ss"},
};

/* Greek letters with tonos or dialytika, folded to the bare lower-case letter. */
static const pg_wchar greek_folds[][2] = {
	{0x0386, 0x03B1}, {0x0388, 0x03B5}, {0x0389, 0x03B7}, {0x038A, 0x03B9}, {0x038C, 0x03BF},
	{0x038E, 0x03C5}, {0x038F, 0x03C9}, {0x0390, 0x03B9}, {0x03AA, 0x03B9}, {0x03AB, 0x03C5},
	{0x03AC, 0x03B1}, {0x03AD, 0x03B5}, {0x03AE, 0x03B7}, {0x03AF, 0x03B9}, {0x03B0, 0x03C5},
	{0x03C2, 0x03C3}, {0x03CA, 0x03B9}, {0x03CB, 0x03C5}, {0x03CC, 0x03BF}, {0x03CD, 0x03C5},
	{0x03CE, 0x03C9},
};

/*
 * Appends the folded form of a letter or digit: lower case, accents removed (see the tables
 * above), Greek and Cyrillic capitals lower-cased, Cyrillic ё as е. Anything else is kept.
 */
static void
append_folded(StringInfo out, pg_wchar c)
{
	unsigned char utf8[8];
	int			i;

	if (c < 0x80)
	{
		appendStringInfoChar(out, (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c));
		return;
	}
	if ((c >= 0x00C0 && c <= 0x021B) || c == 0x1E9E)
	{
		for (i = 0; i < (int) lengthof(latin_folds); i++)
			if (c >= latin_folds[i].first && c <= latin_folds[i].last)
			{
				appendStringInfoString(out, latin_folds[i].ascii);
				return;
			}
	}
	else if (c >= 0x0386 && c <= 0x03CE)
	{
		for (i = 0; i < (int) lengthof(greek_folds); i++)
			if (c == greek_folds[i][0])
			{
				c = greek_folds[i][1];
				break;
			}
		if (c >= 0x0391 && c <= 0x03A9)
			c += 0x20;
	}
	else if (c >= 0x0400 && c <= 0x045F)
	{
		if (c >= 0x0410 && c <= 0x042F)
			c += 0x20;
		else if (c <= 0x040F)
			c += 0x50;
		if (c == 0x0451)		/* ё -> е */
			c = 0x0435;
	}
	unicode_to_utf8(c, utf8);
	appendBinaryStringInfo(out, (char *) utf8, pg_utf_mblen(utf8));
}

/* ---------------------------------------------------------------------------------------------
 * Names: characters as word characters and separators
 */
typedef enum CharClass
{
	CC_WORD,					/* letter, digit or any other character kept */
	CC_SPACE,					/* whitespace and punctuation: separates words */
	CC_HYPHEN,					/* kept as '-' between two word characters, else a separator */
	CC_JOIN,					/* dropped between two word characters (O'Brien), else a separator */
	CC_IGNORE					/* dropped without separating (combining marks, zero widths) */
} CharClass;

static CharClass
classify(pg_wchar c, bool period_joins)
{
	if (c < 0x80)
	{
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return CC_WORD;
		if (c == '-')
			return CC_HYPHEN;
		if (c == '\'' || c == '`')
			return CC_JOIN;
		if (c == '.' && period_joins)
			return CC_JOIN;
		return CC_SPACE;
	}
	if (c <= 0x00BF)
	{
		if (c == 0x00AD)		/* soft hyphen */
			return CC_IGNORE;
		if (c == 0x00B4 || c == 0x00B7) /* acute accent used as apostrophe, middle dot (l·l) */
			return CC_JOIN;
		return CC_SPACE;		/* C1 controls, no-break space, ¡ « » ¿ ... */
	}
	if (c == 0x00D7 || c == 0x00F7)
		return CC_SPACE;
	if (c >= 0x02B9 && c <= 0x02BC)	/* modifier primes and apostrophe */
		return CC_JOIN;
	if (c >= 0x0300 && c <= 0x036F)	/* combining diacritical marks: decomposed accents */
		return CC_IGNORE;
	if (c >= 0x2000 && c <= 0x206F)	/* General Punctuation */
	{
		if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2060 && c <= 0x2064))
			return CC_IGNORE;
		if (c >= 0x2010 && c <= 0x2015)
			return CC_HYPHEN;
		if (c == 0x2018 || c == 0x2019 || c == 0x2032)
			return CC_JOIN;
		return CC_SPACE;
	}
	if (c == 0x2212)			/* minus sign */
		return CC_HYPHEN;
	if (c == 0x3000 || c == 0x3001 || c == 0x3002) /* ideographic space, comma, full stop */
		return CC_SPACE;
	if (c == 0xFEFF || (c >= 0xFE00 && c <= 0xFE0F)) /* byte order mark, variation selectors */
		return CC_IGNORE;
	return CC_WORD;
}

/*
 * The normalised form of a name into out: words of folded word characters separated by single
 * spaces, no leading or trailing space. A hyphen directly between two word characters stays
 * (as '-'); an apostrophe directly between two word characters is dropped, joining them (and so
 * is a period when period_joins); everywhere else these are separators like any punctuation.
 */
static void
normalize_name_into(const char *s, int len, bool period_joins, StringInfo out)
{
	bool		unicode = GetDatabaseEncoding() == PG_UTF8;
	CharClass	pending = CC_IGNORE;	/* what separates the last word character from the next */
	const char *end = s + len;

	while (s < end)
	{
		int			n = unicode ? pg_utf_mblen((const unsigned char *) s) : pg_mblen(s);
		pg_wchar	c;
		CharClass	cls;

		CHECK_FOR_INTERRUPTS();
		if (n > end - s)
			n = end - s;
		if ((unsigned char) *s < 0x80)
			c = (unsigned char) *s;
		else if (unicode)
			c = utf8_to_unicode((const unsigned char *) s);
		else
			c = 0x110000;		/* another encoding: non-ASCII characters are kept as they are */
		cls = classify(c, period_joins);
		if (cls == CC_WORD)
		{
			if (out->len > 0)
			{
				if (pending == CC_SPACE)
					appendStringInfoChar(out, ' ');
				else if (pending == CC_HYPHEN)
					appendStringInfoChar(out, '-');
			}
			if (c < 0x110000)
				append_folded(out, c);
			else
				appendBinaryStringInfo(out, s, n);
			pending = CC_IGNORE;
		}
		else if (cls == CC_HYPHEN || cls == CC_JOIN)
			pending = (pending == CC_IGNORE) ? cls : CC_SPACE;
		else if (cls == CC_SPACE)
			pending = CC_SPACE;
		s += n;
	}
}

PG_FUNCTION_INFO_V1(crm_normalize_name);
/* crm.normalize_name(text): see normalize_name_into. */
Datum
crm_normalize_name(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	StringInfoData out;

	initStringInfo(&out);
	normalize_name_into(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), false, &out);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

/* ---------------------------------------------------------------------------------------------
 * Company names
 */

/* Legal-form suffixes as they look after normalisation (periods inside a word dropped: S.A. is
 * "sa", S.p.A. "spa", sp. z o.o. "sp z oo"). */
static const char *const legal_suffixes[] = {
	"inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited",
	"llc", "lc", "pllc", "llp", "lp", "plc", "pty", "pte", "pvt",
	"gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "ug haftungsbeschrankt", "se",
	"sa", "sas", "sasu", "sarl", "sca", "snc", "srl", "spa", "sl", "slu", "sa de cv", "s de rl",
	"bv", "nv", "oy", "oyj", "ab", "publ", "as", "asa", "aps", "a s",
	"kk", "sro", "spol", "sp z oo", "kft", "zrt", "nyrt", "doo", "bhd", "sdn", "lda", "ltda",
};

/* If text[0..*len) ends with " suffix" for one of the suffixes, shortens *len past it. */
static bool
strip_legal_suffix(const char *text, int *len)
{
	int			i;

	for (i = 0; i < (int) lengthof(legal_suffixes); i++)
	{
		int			n = strlen(legal_suffixes[i]);

		if (*len > n + 1 && text[*len - n - 1] == ' ' && memcmp(text + *len - n, legal_suffixes[i], n) == 0)
		{
			*len -= n + 1;
			return true;
		}
	}
	return false;
}

PG_FUNCTION_INFO_V1(crm_normalize_company);
/*
 * crm.normalize_company(text): the name normalised as by normalize_name (periods inside a word
 * dropped, so S.A. reads "sa"), then trailing legal-form suffixes removed, repeatedly (GmbH & Co.
 * KG loses kg, co and gmbh), and a trailing "and" left behind by "and Co". The first word always
 * stays.
 */
Datum
crm_normalize_company(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	StringInfoData out;
	int			len;
	bool		stripped = false;

	initStringInfo(&out);
	normalize_name_into(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), true, &out);
	len = out.len;
	while (strip_legal_suffix(out.data, &len))
	{
		CHECK_FOR_INTERRUPTS();
		stripped = true;
	}
	if (stripped && len > 4 && memcmp(out.data + len - 4, " and", 4) == 0)
		len -= 4;
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, len));
}

/* ---------------------------------------------------------------------------------------------
 * E-mail addresses and domains
 */

static inline bool
is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
is_alnum_ascii(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Trims ASCII whitespace from both ends of s[0..*len). */
static const char *
trim_ascii(const char *s, int *len)
{
	while (*len > 0 && is_ascii_space(s[0]))
	{
		s++;
		(*len)--;
	}
	while (*len > 0 && is_ascii_space(s[*len - 1]))
		(*len)--;
	return s;
}

/*
 * Whether host[0..len) is a domain name: labels of 1 to 63 bytes (ASCII letters, digits, '-' not
 * at either end, or non-ASCII characters: internationalised names), at least two labels, at most
 * 253 bytes, and a last label that is not all digits (so no IPv4 address). Expects lower case.
 */
static bool
valid_domain(const char *host, int len)
{
	int			labels = 0;
	int			start = 0;
	int			i;

	if (len < 1 || len > 253)
		return false;
	for (i = 0; i <= len; i++)
	{
		if (i == len || host[i] == '.')
		{
			int			n = i - start;
			bool		all_digits = true;
			int			k;

			if (n < 1 || n > 63 || host[start] == '-' || host[i - 1] == '-')
				return false;
			for (k = start; k < i; k++)
			{
				char		c = host[k];

				if (!(is_alnum_ascii(c) || c == '-' || (unsigned char) c >= 0x80))
					return false;
				if (!(c >= '0' && c <= '9'))
					all_digits = false;
			}
			labels++;
			if (i == len && all_digits)
				return false;
			start = i + 1;
		}
	}
	return labels >= 2;
}

static inline bool
email_local_char(char c)
{
	return is_alnum_ascii(c) || (unsigned char) c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/*
 * Normalises an e-mail address into out ("local@domain", lower case) and returns true, or returns
 * false if it does not have the shape of one. Sets *domain_offset to where the domain starts.
 * Accepted around the address: whitespace, a "mailto:" prefix, a display name ("Ann <ann@x.org>").
 * With gmail_rules, addresses at gmail.com and googlemail.com lose the dots and the +tag of their
 * local part and get the domain gmail.com.
 */
static bool
normalize_email_into(const char *s, int len, bool gmail_rules, StringInfo out, int *domain_offset)
{
	int			at = -1;
	int			i;
	const char *local,
			   *domain;
	int			local_len,
				domain_len;

	s = trim_ascii(s, &len);
	if (len >= 7 && pg_strncasecmp(s, "mailto:", 7) == 0)
	{
		s += 7;
		len -= 7;
	}
	if (len > 0 && s[len - 1] == '>')
	{
		const char *open = NULL;

		for (i = len - 2; i >= 0; i--)
			if (s[i] == '<')
			{
				open = s + i;
				break;
			}
		if (open == NULL)
			return false;
		len = (s + len - 1) - (open + 1);
		s = open + 1;
		s = trim_ascii(s, &len);
	}
	if (len > 254 + 1)			/* one more for a trailing dot of the domain */
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '@')
		{
			if (at >= 0)
				return false;
			at = i;
		}
	if (at < 0)
		return false;
	local = s;
	local_len = at;
	domain = s + at + 1;
	domain_len = len - at - 1;
	if (domain_len > 0 && domain[domain_len - 1] == '.')
		domain_len--;

	/* local part: 1 to 64 bytes of the dot-atom characters, no dot at either end or doubled */
	if (local_len < 1 || local_len > 64 || local[0] == '.' || local[local_len - 1] == '.')
		return false;
	for (i = 0; i < local_len; i++)
		if (!email_local_char(local[i]) || (local[i] == '.' && local[i + 1] == '.'))
			return false;

	resetStringInfo(out);
	appendBinaryStringInfo(out, domain, domain_len);
	for (i = 0; i < out->len; i++)
		out->data[i] = pg_ascii_tolower((unsigned char) out->data[i]);
	if (!valid_domain(out->data, out->len))
		return false;

	if (gmail_rules && (strcmp(out->data, "gmail.com") == 0 || strcmp(out->data, "googlemail.com") == 0))
	{
		resetStringInfo(out);
		for (i = 0; i < local_len && local[i] != '+'; i++)
			if (local[i] != '.')
				appendStringInfoChar(out, pg_ascii_tolower((unsigned char) local[i]));
		if (out->len == 0)
			return false;
		appendStringInfoChar(out, '@');
		*domain_offset = out->len;
		appendStringInfoString(out, "gmail.com");
		return true;
	}
	resetStringInfo(out);
	for (i = 0; i < local_len; i++)
		appendStringInfoChar(out, pg_ascii_tolower((unsigned char) local[i]));
	appendStringInfoChar(out, '@');
	*domain_offset = out->len;
	for (i = 0; i < domain_len; i++)
		appendStringInfoChar(out, pg_ascii_tolower((unsigned char) domain[i]));
	return out->len <= 254;
}

PG_FUNCTION_INFO_V1(crm_normalize_email);
/* crm.normalize_email(text, gmail_rules boolean DEFAULT false): NULL unless an e-mail address. */
Datum
crm_normalize_email(PG_FUNCTION_ARGS)
{
	text	   *email = PG_GETARG_TEXT_PP(0);
	bool		gmail_rules = PG_GETARG_BOOL(1);
	StringInfoData out;
	int			domain_offset;

	initStringInfo(&out);
	if (!normalize_email_into(VARDATA_ANY(email), VARSIZE_ANY_EXHDR(email), gmail_rules, &out, &domain_offset))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

PG_FUNCTION_INFO_V1(crm_email_domain);
/* crm.email_domain(text): the domain of the normalised address; NULL unless an e-mail address. */
Datum
crm_email_domain(PG_FUNCTION_ARGS)
{
	text	   *email = PG_GETARG_TEXT_PP(0);
	StringInfoData out;
	int			domain_offset;

	initStringInfo(&out);
	if (!normalize_email_into(VARDATA_ANY(email), VARSIZE_ANY_EXHDR(email), false, &out, &domain_offset))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data + domain_offset, out.len - domain_offset));
}

PG_FUNCTION_INFO_V1(crm_website_domain);
/*
 * crm.website_domain(text): the host of a URL or bare host name, lower case, without scheme,
 * user information, port, path, query, fragment, trailing dot and a leading "www."; NULL unless
 * that host is a domain name (valid_domain: IP addresses give NULL).
 */
Datum
crm_website_domain(PG_FUNCTION_ARGS)
{
	text	   *url = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(url);
	int			len = VARSIZE_ANY_EXHDR(url);
	int			i;
	int			host_end;
	StringInfoData host;

	s = trim_ascii(s, &len);
	/* scheme: a letter, then letters, digits, '+', '-', '.', then "://" */
	if (len > 0 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
	{
		for (i = 1; i < len && (is_alnum_ascii(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'); i++)
			;
		if (len - i >= 3 && memcmp(s + i, "://", 3) == 0)
		{
			s += i + 3;
			len -= i + 3;
		}
	}
	if (len >= 2 && s[0] == '/' && s[1] == '/')
	{
		s += 2;
		len -= 2;
	}
	/* the authority ends at the path, query or fragment */
	for (host_end = 0; host_end < len && !strchr("/?#\\", s[host_end]); host_end++)
		;
	len = host_end;
	/* user information ends at the last '@' */
	for (i = len - 1; i >= 0; i--)
		if (s[i] == '@')
		{
			s += i + 1;
			len -= i + 1;
			break;
		}
	if (len > 0 && s[0] == '[')
		PG_RETURN_NULL();		/* IPv6 literal */
	for (i = 0; i < len; i++)
		if (s[i] == ':')
		{
			len = i;			/* port */
			break;
		}
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len > 253)
		PG_RETURN_NULL();
	initStringInfo(&host);
	for (i = 0; i < len; i++)
		appendStringInfoChar(&host, pg_ascii_tolower((unsigned char) s[i]));
	if (!valid_domain(host.data, host.len))
		PG_RETURN_NULL();
	if (host.len > 4 && memcmp(host.data, "www.", 4) == 0 && valid_domain(host.data + 4, host.len - 4))
		PG_RETURN_TEXT_P(cstring_to_text_with_len(host.data + 4, host.len - 4));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(host.data, host.len));
}

/* ---------------------------------------------------------------------------------------------
 * Phone numbers
 */

/*
 * Per country (ISO 3166-1 alpha-2): the calling code, the national trunk prefix dropped from
 * numbers written nationally ("" if the country has none), a second accepted trunk prefix, and
 * the international prefix dialled before a number abroad (the common one where carriers offer
 * several). Facts as in ITU-T E.164 assignments and libphonenumber's metadata.
 */
typedef struct CountryPhone
{
	char		iso[3];
	const char *calling_code;
	const char *trunk;
	const char *trunk2;
	const char *international;
} CountryPhone;

static const CountryPhone country_phones[] = {
	/* North American Numbering Plan: trunk 1, international prefix 011 */
	{"US", "1", "1", "", "011"}, {"CA", "1", "1", "", "011"}, {"PR", "1", "1", "", "011"},
	{"DO", "1", "1", "", "011"}, {"JM", "1", "1", "", "011"}, {"TT", "1", "1", "", "011"},
	{"BS", "1", "1", "", "011"}, {"BB", "1", "1", "", "011"},
	/* Europe */
	{"GB", "44", "0", "", "00"}, {"IE", "353", "0", "", "00"}, {"FR", "33", "0", "", "00"},
	{"DE", "49", "0", "", "00"}, {"AT", "43", "0", "", "00"}, {"CH", "41", "0", "", "00"},
	{"LI", "423", "0", "", "00"}, {"NL", "31", "0", "", "00"}, {"BE", "32", "0", "", "00"},
	{"LU", "352", "", "", "00"}, {"MC", "377", "0", "", "00"}, {"IT", "39", "", "", "00"},
	{"ES", "34", "", "", "00"}, {"PT", "351", "", "", "00"}, {"GR", "30", "", "", "00"},
	{"MT", "356", "", "", "00"}, {"CY", "357", "", "", "00"}, {"DK", "45", "", "", "00"},
	{"NO", "47", "", "", "00"}, {"SE", "46", "0", "", "00"}, {"FI", "358", "0", "", "00"},
	{"IS", "354", "", "", "00"}, {"EE", "372", "", "", "00"}, {"LV", "371", "", "", "00"},
	{"LT", "370", "0", "8", "00"}, {"PL", "48", "", "", "00"}, {"CZ", "420", "", "", "00"},
	{"SK", "421", "0", "", "00"}, {"HU", "36", "06", "", "00"}, {"SI", "386", "0", "", "00"},
	{"HR", "385", "0", "", "00"}, {"RS", "381", "0", "", "00"}, {"RO", "40", "0", "", "00"},
	{"BG", "359", "0", "", "00"}, {"UA", "380", "0", "", "00"}, {"BY", "375", "8", "", "810"},
	{"RU", "7", "8", "", "810"}, {"KZ", "7", "8", "", "810"}, {"TR", "90", "0", "", "00"},
	/* Middle East and Africa */
	{"IL", "972", "0", "", "00"}, {"AE", "971", "0", "", "00"}, {"SA", "966", "0", "", "00"},
	{"QA", "974", "", "", "00"}, {"KW", "965", "", "", "00"}, {"EG", "20", "0", "", "00"},
	{"MA", "212", "0", "", "00"}, {"ZA", "27", "0", "", "00"}, {"NG", "234", "0", "", "009"},
	{"KE", "254", "0", "", "000"},
	/* Asia and Oceania */
	{"IN", "91", "0", "", "00"}, {"PK", "92", "0", "", "00"}, {"BD", "880", "0", "", "00"},
	{"LK", "94", "0", "", "00"}, {"CN", "86", "0", "", "00"}, {"HK", "852", "", "", "00"},
	{"TW", "886", "0", "", "002"}, {"JP", "81", "0", "", "010"}, {"KR", "82", "0", "", "001"},
	{"SG", "65", "", "", "001"}, {"MY", "60", "0", "", "00"}, {"TH", "66", "0", "", "001"},
	{"VN", "84", "0", "", "00"}, {"ID", "62", "0", "", "001"}, {"PH", "63", "0", "", "00"},
	{"AU", "61", "0", "", "0011"}, {"NZ", "64", "0", "", "00"},
	/* Latin America */
	{"MX", "52", "", "", "00"}, {"BR", "55", "0", "", "00"}, {"AR", "54", "0", "", "00"},
	{"CL", "56", "", "", "00"}, {"CO", "57", "0", "", "009"}, {"PE", "51", "0", "", "00"},
	{"VE", "58", "0", "", "00"}, {"EC", "593", "0", "", "00"}, {"UY", "598", "0", "", "00"},
	{"CR", "506", "", "", "00"}, {"PA", "507", "", "", "00"}, {"GT", "502", "", "", "00"},
};

/* E.164: at most 15 digits, country code included. The fewest accepted: 7 (+683 and 4 digits). */
#define E164_MAX_DIGITS 15
#define E164_MIN_DIGITS 7

static const CountryPhone *
lookup_country(const char *s, int len)
{
	int			i;

	s = trim_ascii(s, &len);
	if (len != 2)
		return NULL;
	for (i = 0; i < (int) lengthof(country_phones); i++)
		if (pg_ascii_toupper((unsigned char) s[0]) == country_phones[i].iso[0] &&
			pg_ascii_toupper((unsigned char) s[1]) == country_phones[i].iso[1])
			return &country_phones[i];
	return NULL;
}

static inline bool
starts_with(const char *s, int len, const char *prefix)
{
	int			n = strlen(prefix);

	return n > 0 && len >= n && memcmp(s, prefix, n) == 0;
}

PG_FUNCTION_INFO_V1(crm_normalize_phone);
/*
 * crm.normalize_phone(phone text, country text DEFAULT NULL): the number in E.164 form,
 * "+<calling code><number>", or NULL. See docs/data_quality.md for the rules.
 */
Datum
crm_normalize_phone(PG_FUNCTION_ARGS)
{
	text	   *phone;
	const CountryPhone *country = NULL;
	const char *s;
	int			len;
	char		digits[E164_MAX_DIGITS + 8];
	int			ndigits = 0;
	bool		plus = false;
	int			i;
	char		result[E164_MAX_DIGITS + 2];
	const char *number;
	int			number_len;
	const char *code = "";

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	phone = PG_GETARG_TEXT_PP(0);
	if (!PG_ARGISNULL(1))
	{
		text	   *iso = PG_GETARG_TEXT_PP(1);

		country = lookup_country(VARDATA_ANY(iso), VARSIZE_ANY_EXHDR(iso));
	}
	s = VARDATA_ANY(phone);
	len = VARSIZE_ANY_EXHDR(phone);
	s = trim_ascii(s, &len);
	if (len >= 4 && pg_strncasecmp(s, "tel:", 4) == 0)
	{
		s += 4;
		len -= 4;
	}

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		CHECK_FOR_INTERRUPTS();
		if (c >= '0' && c <= '9')
		{
			if (ndigits == sizeof(digits))
				PG_RETURN_NULL();
			digits[ndigits++] = (char) c;
		}
		else if (c == '+')
		{
			if (plus || ndigits > 0)
				PG_RETURN_NULL();
			plus = true;
		}
		else if (c == '(' && plus && ndigits > 0 && i + 2 < len && s[i + 1] == '0' && s[i + 2] == ')')
			i += 2;				/* "+44 (0)20 ...": the trunk prefix shown in brackets */
		else if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/')
			continue;
		else if (c == 0xC2 && i + 1 < len && (unsigned char) s[i + 1] == 0xA0)
			i += 1;				/* no-break space */
		else if (c == 0xE2 && i + 2 < len && (unsigned char) s[i + 1] == 0x80 &&
				 (unsigned char) s[i + 2] >= 0x90 && (unsigned char) s[i + 2] <= 0x95)
			i += 2;				/* hyphens and dashes U+2010 to U+2015 */
		else if (ndigits > 0 && (c == '#' || c == ',' || c == ';' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			break;				/* an extension follows: "ext. 12", "x12", "#12", ";ext=12" */
		else
			PG_RETURN_NULL();
	}

	number = digits;
	number_len = ndigits;
	if (plus)
		;
	else if (country != NULL && starts_with(number, number_len, country->international))
	{
		number += strlen(country->international);
		number_len -= strlen(country->international);
	}
	else if (country == NULL && starts_with(number, number_len, "00"))
	{
		number += 2;
		number_len -= 2;
	}
	else if (country != NULL)
	{
		if (starts_with(number, number_len, country->trunk))
		{
			number += strlen(country->trunk);
			number_len -= strlen(country->trunk);
		}
		else if (starts_with(number, number_len, country->trunk2))
		{
			number += strlen(country->trunk2);
			number_len -= strlen(country->trunk2);
		}
		code = country->calling_code;
		if (number_len < 1)
			PG_RETURN_NULL();
	}
	else
		PG_RETURN_NULL();		/* written nationally, and no known country to say which */

	if (strlen(code) + number_len > E164_MAX_DIGITS || strlen(code) + number_len < E164_MIN_DIGITS)
		PG_RETURN_NULL();
	if (code[0] == '\0' && number[0] == '0')
		PG_RETURN_NULL();		/* no calling code starts with 0 */
	snprintf(result, sizeof(result), "+%s%.*s", code, number_len, number);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* ---------------------------------------------------------------------------------------------
 * Jaro and Jaro–Winkler
 */

/* Strings of up to this many bytes are compared without allocating (names, mostly). */
#define JARO_SHORT 64

/*
 * The characters of a text as pg_wchar, at most JARO_MAX_CHARACTERS of them (else 54000): in
 * buffer (JARO_SHORT + 1 of them) when the text is short enough, else in a new allocation.
 */
static pg_wchar *
text_characters(text *t, int *count, const char *function_name, const char *argument, pg_wchar *buffer)
{
	const char *s = VARDATA_ANY(t);
	int			bytes = VARSIZE_ANY_EXHDR(t);
	int			n;
	pg_wchar   *chars;

	n = (bytes > JARO_MAX_CHARACTERS * pg_database_encoding_max_length())
		? JARO_MAX_CHARACTERS + 1 : pg_mbstrlen_with_len(s, bytes);
	if (n > JARO_MAX_CHARACTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: the %s argument is too long", function_name, argument),
				 errdetail("Strings of up to %d characters can be compared.", JARO_MAX_CHARACTERS)));
	chars = bytes <= JARO_SHORT ? buffer : palloc(sizeof(pg_wchar) * (n + 1));
	*count = pg_mb2wchar_with_len(s, chars, bytes);
	return chars;
}

/*
 * The Jaro similarity of a[0..la) and b[0..lb): m characters match when equal and at most
 * floor(max(la, lb) / 2) - 1 positions apart (each character matched once, greedily from the
 * left); t is half the number of matched characters out of order, rounded down (as in Winkler's
 * strcmp95); Jaro = (m / la + m / lb + (m - t) / m) / 3, 0 when m = 0. Two empty strings: 1.
 */
static double
jaro(const pg_wchar *a, int la, const pg_wchar *b, int lb)
{
	int			window;
	bool		a_short[JARO_SHORT],
				b_short[JARO_SHORT];
	bool	   *a_matched,
			   *b_matched;
	int			m = 0;
	int			out_of_order = 0;
	int			i,
				j,
				k;

	if (la == 0 && lb == 0)
		return 1.0;
	if (la == 0 || lb == 0)
		return 0.0;
	window = Max(Max(la, lb) / 2 - 1, 0);
	a_matched = la <= JARO_SHORT ? a_short : palloc(la);
	b_matched = lb <= JARO_SHORT ? b_short : palloc(lb);
	memset(a_matched, 0, la);
	memset(b_matched, 0, lb);
	for (i = 0; i < la; i++)
	{
		int			hi = Min(lb - 1, i + window);

		CHECK_FOR_INTERRUPTS();
		for (j = Max(0, i - window); j <= hi; j++)
			if (!b_matched[j] && a[i] == b[j])
			{
				a_matched[i] = b_matched[j] = true;
				m++;
				break;
			}
	}
	for (i = 0, k = 0; i < la; i++)
		if (a_matched[i])
		{
			while (!b_matched[k])
				k++;
			if (a[i] != b[k])
				out_of_order++;
			k++;
		}
	if (a_matched != a_short)
		pfree(a_matched);
	if (b_matched != b_short)
		pfree(b_matched);
	if (m == 0)
		return 0.0;
	return ((double) m / la + (double) m / lb + (double) (m - out_of_order / 2) / m) / 3.0;
}

PG_FUNCTION_INFO_V1(crm_jaro);
/* crm.jaro(a text, b text) */
Datum
crm_jaro(PG_FUNCTION_ARGS)
{
	int			la,
				lb;
	pg_wchar	a_buffer[JARO_SHORT + 1],
				b_buffer[JARO_SHORT + 1];
	pg_wchar   *a = text_characters(PG_GETARG_TEXT_PP(0), &la, "jaro", "first", a_buffer);
	pg_wchar   *b = text_characters(PG_GETARG_TEXT_PP(1), &lb, "jaro", "second", b_buffer);

	PG_RETURN_FLOAT8(jaro(a, la, b, lb));
}

PG_FUNCTION_INFO_V1(crm_jaro_winkler);
/*
 * crm.jaro_winkler(a text, b text): Winkler's variant: when the Jaro similarity j exceeds 0.7,
 * j + l * 0.1 * (1 - j), l the length of the common prefix, at most 4 characters; else j.
 */
Datum
crm_jaro_winkler(PG_FUNCTION_ARGS)
{
	int			la,
				lb;
	pg_wchar	a_buffer[JARO_SHORT + 1],
				b_buffer[JARO_SHORT + 1];
	pg_wchar   *a = text_characters(PG_GETARG_TEXT_PP(0), &la, "jaro_winkler", "first", a_buffer);
	pg_wchar   *b = text_characters(PG_GETARG_TEXT_PP(1), &lb, "jaro_winkler", "second", b_buffer);
	double		j = jaro(a, la, b, lb);
	int			prefix = 0;

	if (j > 0.7)
	{
		while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix])
			prefix++;
		j += prefix * 0.1 * (1.0 - j);
	}
	PG_RETURN_FLOAT8(j);
}
