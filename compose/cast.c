/* cast.c - compose-go's scalar casts: YAML scalars as go-yaml v3 resolves them, Go's
 * duration syntax, docker's byte sizes, go-shellwords splitting and compose booleans. */
#include "compose/cast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/node.h"

/* strconv.ParseInt(s, 0, 64) after go-yaml removed the '_' separators: an optional sign,
 * then 0x / 0o / 0b / leading-0 (octal) / decimal digits. */
static bool parse_go_int(const char *s, int64_t *out)
{
	char digits[128];
	size_t n = 0;
	bool neg = false;
	int base = 10;
	const char *p = s;
	unsigned long long v = 0;

	for (const char *q = s; *q; q++) {
		if (*q == '_')
			continue;
		if (n + 1 >= sizeof(digits))
			return false;
		digits[n++] = *q;
	}
	digits[n] = '\0';
	p = digits;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		base = 8;
		p += 1;
	}
	if (*p == '\0')
		return false;
	for (; *p; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return false;
		if (d >= base)
			return false;
		if (v > (0x8000000000000000ULL - (unsigned)d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + (unsigned)d;
	}
	if (!neg && v > (unsigned long long)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* go-yaml's float pattern: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	} else {
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

void compose_scalar_resolve(const struct cnode *n, struct compose_scalar *out)
{
	const char *s = n->value;
	static const char *const infs[] = {".inf", ".Inf", ".INF"};
	static const char *const nans[] = {".nan", ".NaN", ".NAN"};

	memset(out, 0, sizeof(*out));
	out->type = COMPOSE_SCALAR_STRING;
	if (n->kind != CNODE_SCALAR || n->quoted)
		return;
	if (cnode_is_null(n)) {
		out->type = COMPOSE_SCALAR_NULL;
		return;
	}
	/* most values are none of the special words: their first letter says so */
	if (s[0] != '\0' && strchr("tTfF", s[0]) != NULL &&
	    (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
	     !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
		out->type = COMPOSE_SCALAR_BOOL;
		out->b = s[0] == 't' || s[0] == 'T';
		return;
	}
	for (size_t i = 0; i < 3 && s[0] != '\0' && strchr("+-.", s[0]) != NULL; i++) {
		const char *v = s[0] == '+' || s[0] == '-' ? s + 1 : s;

		if (!strcmp(v, infs[i])) {
			out->type = COMPOSE_SCALAR_FLOAT;
			out->f = s[0] == '-' ? -INFINITY : INFINITY;
			return;
		}
		if (!strcmp(s, nans[i])) {
			out->type = COMPOSE_SCALAR_FLOAT;
			out->f = NAN;
			return;
		}
	}
	if (!(isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.'))
		return;
	if (parse_go_int(s, &out->i)) {
		out->type = COMPOSE_SCALAR_INT;
		return;
	}
	if (strchr(s, '_') == NULL && is_yaml_float(s)) {
		out->type = COMPOSE_SCALAR_FLOAT;
		out->f = strtod(s, NULL);
	}
}

/* Go's %v for a float64: the shortest digits that read back the same, in %e form only
 * when the exponent is < -4 or >= 21. */
static char *go_float_text(double f)
{
	char tmp[64], digits[32], *out;
	int exp10 = 0;
	size_t nd = 0;

	if (isnan(f))
		return xstrdup("NaN");
	if (isinf(f))
		return xstrdup(f > 0 ? "+Inf" : "-Inf");
	if (f == 0)
		return xstrdup(signbit(f) ? "-0" : "0");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	/* tmp is [-]d[.ddd]e[+-]xx */
	for (const char *p = tmp; *p && *p != 'e'; p++) {
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	}
	digits[nd] = '\0';
	exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	{
		struct px_buf b = PX_BUF_INIT;

		if (f < 0)
			px_buf_addch(&b, '-');
		if (exp10 < -4 || exp10 >= 21) {
			px_buf_addch(&b, digits[0]);
			if (nd > 1) {
				px_buf_addch(&b, '.');
				px_buf_adds(&b, digits + 1);
			}
			px_buf_addf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
		} else if (exp10 < 0) {
			px_buf_adds(&b, "0.");
			for (int i = -1; i > exp10; i--)
				px_buf_addch(&b, '0');
			px_buf_adds(&b, digits);
		} else {
			for (int i = 0; i <= exp10 || (size_t)i < nd; i++) {
				if (i == exp10 + 1)
					px_buf_addch(&b, '.');
				if ((size_t)i < nd)
					px_buf_addch(&b, digits[i]);
				else
					px_buf_addch(&b, '0');
			}
		}
		out = px_buf_detach(&b, NULL);
	}
	return out;
}

char *compose_scalar_text(const struct cnode *n)
{
	struct compose_scalar sc;
	char *out;

	compose_scalar_resolve(n, &sc);
	switch (sc.type) {
	case COMPOSE_SCALAR_BOOL:
		return xstrdup(sc.b ? "true" : "false");
	case COMPOSE_SCALAR_INT:
		xasprintf(&out, "%lld", (long long)sc.i);
		return out;
	case COMPOSE_SCALAR_FLOAT:
		return go_float_text(sc.f);
	case COMPOSE_SCALAR_NULL:
	case COMPOSE_SCALAR_STRING:
		break;
	}
	return xstrdup(n->value);
}

json_t *compose_node_json(const struct cnode *n)
{
	struct compose_scalar sc;
	json_t *j;

	switch (n->kind) {
	case CNODE_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++)
			json_object_set_new(j, cnode_key(n, i)->value,
					    compose_node_json(cnode_val(n, i)));
		return j;
	case CNODE_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, compose_node_json(n->items[i]));
		return j;
	case CNODE_SCALAR:
		break;
	}
	compose_scalar_resolve(n, &sc);
	switch (sc.type) {
	case COMPOSE_SCALAR_NULL:
		return json_null();
	case COMPOSE_SCALAR_BOOL:
		return json_boolean(sc.b);
	case COMPOSE_SCALAR_INT:
		return json_integer(sc.i);
	case COMPOSE_SCALAR_FLOAT:
		if (isfinite(sc.f))
			return json_real(sc.f);
		break;
	case COMPOSE_SCALAR_STRING:
		break;
	}
	return json_stringn(n->value, n->len);
}

int compose_cast_bool(const char *s, bool *out, bool *legacy)
{
	static const char *const yes[] = {"y", "yes", "on"};
	static const char *const no[] = {"n", "no", "off"};

	*legacy = false;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
		*out = strcasecmp(s, "true") == 0;
		return 0;
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			*legacy = true;
			return 0;
		}
	}
	return -1;
}

int compose_cast_int(const struct cnode *n, int64_t *out)
{
	struct compose_scalar sc;
	const char *p = n->value;
	char *end;
	long long v;

	if (n->kind != CNODE_SCALAR)
		return -1;
	compose_scalar_resolve(n, &sc);
	if (sc.type == COMPOSE_SCALAR_INT) {
		*out = sc.i;
		return 0;
	}
	if (sc.type != COMPOSE_SCALAR_STRING)
		return -1;
	/* strconv.Atoi: [+-]?[0-9]+ and nothing else */
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (const char *q = p; *q; q++) {
		if (!isdigit((unsigned char)*q))
			return -1;
	}
	errno = 0;
	v = strtoll(n->value, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
    {"ns", 1ULL},           {"us", 1000ULL},      {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL},                                               /* U+03BC Greek mu */
    {"ms", 1000000ULL},     {"s", 1000000000ULL}, {"m", 60000000000ULL},  {"h", 3600000000000ULL},
};

enum duration_problem {
	DURATION_INVALID,
	DURATION_MISSING_UNIT,
	DURATION_UNKNOWN_UNIT,
};

/* Go's wording for each way a duration can be wrong. */
static int duration_fail(char **why, enum duration_problem what, const char *orig, const char *unit)
{
	switch (what) {
	case DURATION_INVALID:
		xasprintf(why, "time: invalid duration \"%s\"", orig);
		break;
	case DURATION_MISSING_UNIT:
		xasprintf(why, "time: missing unit in duration \"%s\"", orig);
		break;
	case DURATION_UNKNOWN_UNIT:
		xasprintf(why, "time: unknown unit \"%s\" in duration \"%s\"", unit, orig);
		break;
	}
	return -1;
}

int compose_cast_duration(const char *orig, int64_t *ns, char **why)
{
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;
	const uint64_t limit = 1ULL << 63;

	*why = NULL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return duration_fail(why, DURATION_INVALID, orig, NULL);
	while (*s != '\0') {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre = false, post = false, overflow = false;
		size_t ulen = 0;
		char u[16];

		if (!(*s == '.' || isdigit((unsigned char)*s)))
			return duration_fail(why, DURATION_INVALID, orig, NULL);
		for (; isdigit((unsigned char)*s); s++) {
			pre = true;
			if (v > (limit - 1) / 10)
				return duration_fail(why, DURATION_INVALID, orig, NULL);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > limit)
				return duration_fail(why, DURATION_INVALID, orig, NULL);
		}
		if (*s == '.') {
			s++;
			for (; isdigit((unsigned char)*s); s++) {
				post = true;
				if (overflow)
					continue;
				if (f > (limit - 1) / 10) {
					overflow = true; /* Go drops digits it cannot hold */
					continue;
				}
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		if (!pre && !post)
			return duration_fail(why, DURATION_INVALID, orig, NULL);
		while (s[ulen] != '\0' && s[ulen] != '.' && !isdigit((unsigned char)s[ulen]))
			ulen++;
		if (ulen == 0)
			return duration_fail(why, DURATION_MISSING_UNIT, orig, NULL);
		/* the unit, cut to 15 bytes, for the message */
		memcpy(u, s, ulen < 15 ? ulen : 15);
		u[ulen < 15 ? ulen : 15] = '\0';
		s += ulen;
		for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
			if (ulen == strlen(duration_units[i].name) &&
			    strncmp(u, duration_units[i].name, ulen) == 0)
				unit = duration_units[i].ns;
		}
		if (unit == 0)
			return duration_fail(why, DURATION_UNKNOWN_UNIT, orig, u);
		if (v > limit / unit)
			return duration_fail(why, DURATION_INVALID, orig, NULL);
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > limit)
				return duration_fail(why, DURATION_INVALID, orig, NULL);
		}
		d += v;
		if (d > limit)
			return duration_fail(why, DURATION_INVALID, orig, NULL);
	}
	if (neg) {
		*ns = d == limit ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > limit - 1)
		return duration_fail(why, DURATION_INVALID, orig, NULL);
	*ns = (int64_t)d;
	return 0;
}

int compose_cast_bytes(const char *s, int64_t *out)
{
	/* ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ */
	const char *p = s, *num_end;
	char *num, *end;
	double size;
	int64_t mul = 1;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	while (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	num_end = p;
	if (*p == ' ')
		p++;
	switch (tolower((unsigned char)*p)) {
	case 'k':
		mul = 1LL << 10;
		p++;
		break;
	case 'm':
		mul = 1LL << 20;
		p++;
		break;
	case 'g':
		mul = 1LL << 30;
		p++;
		break;
	case 't':
		mul = 1LL << 40;
		p++;
		break;
	case 'p':
		mul = 1LL << 50;
		p++;
		break;
	default:
		break;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return -1;
	num = xstrndup(s, (size_t)(num_end - s));
	size = strtod(num, &end);
	if (*end != '\0') { /* "1.2.3" matches the pattern but is no number */
		free(num);
		return -1;
	}
	free(num);
	size *= (double)mul;
	if (size >= 9223372036854775807.0)
		return -1;
	*out = (int64_t)size;
	return 0;
}

int compose_shell_split(const char *line, struct compose_strv *out, bool *stopped)
{
	struct px_buf buf = PX_BUF_INIT;
	bool escaped = false, dq = false, sq = false, back = false, dollar = false;
	enum { ARG_NO, ARG_SINGLE, ARG_QUOTED } got = ARG_NO;
	int rc = 0;

	*stopped = false;
	for (const char *p = line; *p; p++) {
		char r = *p;

		if (escaped) {
			escaped = false;
			if (back || dollar) {
				px_buf_addch(&buf, '\\');
				px_buf_addch(&buf, r);
				got = ARG_SINGLE;
				continue;
			}
			if (r == 't')
				r = '\t';
			else if (r == 'n')
				r = '\n';
			px_buf_addch(&buf, r);
			got = ARG_SINGLE;
			continue;
		}
		if (r == '\\') {
			if (sq)
				px_buf_addch(&buf, r);
			else
				escaped = true;
			continue;
		}
		if (r == ' ' || r == '\t' || r == '\r' || r == '\n') {
			if (sq || dq || back || dollar) {
				px_buf_addch(&buf, r);
			} else if (got != ARG_NO) {
				compose_strv_push(out, px_buf_cstr(&buf));
				px_buf_reset(&buf);
				got = ARG_NO;
			}
			continue;
		}
		switch (r) {
		case '`':
			if (!sq && !dq && !dollar)
				back = !back;
			break;
		case ')':
			if (!sq && !dq && !back) {
				if (!dollar) {
					rc = -1;
					goto out;
				}
				px_buf_addch(&buf, r);
				dollar = false;
				got = ARG_SINGLE;
				continue;
			}
			break;
		case '(':
			if (!sq && !dq && !back) {
				const char *b = px_buf_cstr(&buf);
				size_t n = buf.len;

				if (!dollar && n > 0 && b[n - 1] == '$' &&
				    !(n > 1 && b[n - 2] == '\\')) {
					dollar = true;
					px_buf_addch(&buf, '(');
					continue;
				}
				rc = -1;
				goto out;
			}
			break;
		case '"':
			if (!sq && !dollar && !back) {
				if (dq)
					got = ARG_QUOTED;
				dq = !dq;
				continue;
			}
			break;
		case '\'':
			if (!dq && !dollar && !back) {
				if (sq)
					got = ARG_QUOTED;
				sq = !sq;
				continue;
			}
			break;
		case ';':
		case '&':
		case '|':
		case '<':
		case '>':
			if (!(sq || dq || back || dollar)) {
				/* "2>file": the fd digits are part of the redirection, not a word
				 */
				if (r == '>' && buf.len > 0 &&
				    strspn(px_buf_cstr(&buf), "0123456789") == buf.len)
					got = ARG_NO;
				*stopped = true;
				goto done;
			}
			break;
		default:
			break;
		}
		got = ARG_SINGLE;
		px_buf_addch(&buf, r);
	}
done:
	if (got != ARG_NO)
		compose_strv_push(out, px_buf_cstr(&buf));
	if (escaped || sq || dq || back || dollar)
		rc = -1;
out:
	px_buf_release(&buf);
	return rc;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row, best;

	if (la > 64 || lb > 64)
		return 99;
	row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			diag = up;
			row[j] = v;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

const char *compose_suggest(const char *word, const char *const *words, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, words[i]);

		if (d < best_d) {
			best_d = d;
			best = words[i];
		}
	}
	return best;
}
