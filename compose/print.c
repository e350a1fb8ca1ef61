/* print.c - compose_print(): the loaded model printed the way `docker compose config`
 * prints it (compose v2.26 / compose-go v2.0, the reference binary of the e2e test):
 * YAML with compose-go's struct key order, sorted maps and go-yaml's quoting, or JSON
 * with encoding/json's layout and escapes; plus the --services and --volumes lists. */
#include "compose/compose.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

/* ---- strings ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string of s.  jansson refuses invalid UTF-8; Go's encoders print each invalid
 * byte as U+FFFD, so do the same. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	struct px_buf b = PX_BUF_INIT;
	size_t n = strlen(s), i = 0, k;

	if (v != NULL)
		return v;
	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			px_buf_adds(&b, "\xef\xbf\xbd");
			i++;
		} else {
			px_buf_add(&b, s + i, k);
			i += k;
		}
	}
	v = json_stringn(px_buf_cstr(&b), b.len);
	px_buf_release(&b);
	return v != NULL ? v : json_string("");
}

static void set_str(json_t *o, const char *key, const char *value)
{
	if (value != NULL && value[0] != '\0')
		json_object_set_new(o, key, jstr(value));
}

static void set_true(json_t *o, const char *key, bool value)
{
	if (value)
		json_object_set_new(o, key, json_true());
}

/* A tri-state (-1 unset) is a *bool in compose-go: printed whenever it was set. */
static void set_tristate(json_t *o, const char *key, int value)
{
	if (value >= 0)
		json_object_set_new(o, key, json_boolean(value));
}

static json_t *strv_node(const struct compose_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, jstr(v->v[i]));
	return a;
}

static void set_strv(json_t *o, const char *key, const struct compose_strv *v)
{
	if (v->n > 0)
		json_object_set_new(o, key, strv_node(v));
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_kv *const *)a)->key,
		      (*(const struct compose_kv *const *)b)->key);
}

/* A Go map: keys sorted bytewise; a key without a value is null, or left out when
 * skip_null (build args compose could not resolve are dropped). */
static json_t *map_node(const struct compose_map *m, bool skip_null)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	const struct compose_kv **idx = xcalloc(m->n ? m->n : 1, sizeof(*idx));
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++)
		idx[i] = &m->v[i];
	if (m->n > 1) {
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
		qsort(idx, m->n, sizeof(*idx), kv_cmp);
	}
	for (size_t i = 0; i < m->n; i++) {
		if (idx[i]->value != NULL)
			json_object_set_new(o, idx[i]->key, jstr(idx[i]->value));
		else if (!skip_null)
			json_object_set_new(o, idx[i]->key, json_null());
	}
	free(idx);
	return o;
}

static void set_map(json_t *o, const char *key, const struct compose_map *m)
{
	json_t *v;

	if (m->n == 0)
		return;
	v = map_node(m, false);
	json_object_set_new(o, key, v);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(s, *list) == 0)
			return true;
	}
	return false;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A deep copy of v whose objects list their keys sorted: how Go prints a map[string]any
 * (extensions are decoded into those). */
static json_t *sorted_copy(const json_t *v)
{
	const char *key, **keys;
	json_t *o, *item;
	size_t n = 0, i;

	if (json_is_array(v)) {
		o = json_array();
		json_array_foreach(v, i, item)
		{
			json_array_append_new(o, sorted_copy(item));
		}
		return o;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	keys = xcalloc(json_object_size(v) + 1, sizeof(*keys));
	json_object_foreach((json_t *)v, key, item)
	{
		keys[n++] = key;
	}
	qsort(keys, n, sizeof(*keys), str_cmp);
	o = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(o, keys[i], sorted_copy(json_object_get(v, keys[i])));
	free(keys);
	return o;
}

/* The x-* keys of ext (a JSON object or NULL) appended to o, sorted, as go-yaml inlines
 * compose-go's Extensions map. */
static void add_extensions(json_t *o, const json_t *ext)
{
	json_t *s;
	const char *key;
	json_t *v;

	if (!json_is_object(ext) || json_object_size(ext) == 0)
		return;
	s = sorted_copy(ext);
	json_object_foreach(s, key, v)
	{
		json_object_set(o, key, v);
	}
	json_decref(s);
}

/* The keys of src (a JSON object or NULL) set on o: those in keys first, in that order
 * (compose-go's struct order), then the others as written; x-* keys last and sorted, and
 * only in YAML (encoding/json skips extensions). */
static void add_ordered(json_t *o, const json_t *src, const char *const *keys, bool json)
{
	const char *key;
	json_t *v;

	if (!json_is_object(src))
		return;
	for (const char *const *k = keys; *k != NULL; k++) {
		v = json_object_get(src, *k);
		if (v != NULL)
			json_object_set(o, *k, v);
	}
	json_object_foreach((json_t *)src, key, v)
	{
		if (strncmp(key, "x-", 2) != 0 && !in_list(key, keys))
			json_object_set(o, key, v);
	}
	if (!json) {
		json_t *ext = json_object();

		json_object_foreach((json_t *)src, key, v)
		{
			if (strncmp(key, "x-", 2) == 0)
				json_object_set(ext, key, v);
		}
		add_extensions(o, ext);
		json_decref(ext);
	}
}

/* col spaces. */
static void indent(struct px_buf *b, int col)
{
	static const char spaces[] =
	    "                                                                ";

	while (col > 0) {
		int n = col < (int)sizeof(spaces) - 1 ? col : (int)sizeof(spaces) - 1;

		px_buf_add(b, spaces, (size_t)n);
		col -= n;
	}
}

/* ---- Go's time.Duration.String() ---------------------------------------------------- */

/* Digits of v / 10^prec after the point, trailing zeros dropped, prefixed by '.' (nothing
 * when all are zero); returns v / 10^prec.  Go's fmtFrac. */
static uint64_t go_frac(char *buf, size_t *len, uint64_t v, int prec)
{
	char digits[32];
	int n = 0;
	bool print = false;

	for (int i = 0; i < prec; i++) {
		int d = (int)(v % 10);

		print = print || d != 0;
		if (print)
			digits[n++] = (char)('0' + d);
		v /= 10;
	}
	if (print) {
		buf[(*len)++] = '.';
		while (n > 0)
			buf[(*len)++] = digits[--n];
	}
	return v;
}

/* Format ns as Go prints a time.Duration: "1m30s", "1m30.5s", "2h0m0s", "500ms", "0s". */
static void go_duration(char out[48], int64_t ns)
{
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char frac[24];
	size_t flen = 0;
	const char *sign = ns < 0 ? "-" : "";

	if (u == 0) {
		snprintf(out, 48, "0s");
		return;
	}
	if (u < 1000000000ULL) {
		const char *unit;
		int prec;

		if (u < 1000ULL) {
			snprintf(out, 48, "%s%lluns", sign, (unsigned long long)u);
			return;
		}
		if (u < 1000000ULL) {
			unit = "\xc2\xb5s"; /* Go writes U+00B5 MICRO SIGN */
			prec = 3;
		} else {
			unit = "ms";
			prec = 6;
		}
		u = go_frac(frac, &flen, u, prec);
		frac[flen] = '\0';
		snprintf(out, 48, "%s%llu%s%s", sign, (unsigned long long)u, frac, unit);
		return;
	}
	u = go_frac(frac, &flen, u, 9);
	frac[flen] = '\0';
	if (u >= 3600)
		snprintf(out, 48, "%s%lluh%llum%llu%ss", sign, (unsigned long long)(u / 3600),
			 (unsigned long long)(u / 60 % 60), (unsigned long long)(u % 60), frac);
	else if (u >= 60)
		snprintf(out, 48, "%s%llum%llu%ss", sign, (unsigned long long)(u / 60),
			 (unsigned long long)(u % 60), frac);
	else
		snprintf(out, 48, "%s%llu%ss", sign, (unsigned long long)u, frac);
}

/* A *Duration in compose-go: printed whenever set (-1: unset). */
static json_t *duration_node(int64_t ns)
{
	char buf[48];

	if (ns < 0)
		return NULL;
	go_duration(buf, ns);
	return json_string(buf);
}

static void set_duration(json_t *o, const char *key, int64_t ns)
{
	json_t *v = duration_node(ns);

	if (v != NULL)
		json_object_set_new(o, key, v);
}

/* ---- go-yaml's quoting rules -------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* YAML 1.1 booleans: go-yaml quotes them so YAML 1.1 readers keep them strings. */
static bool yaml_old_bool(const char *s)
{
	static const char *const words[] = {
	    "y",    "Y",    "yes",  "Yes",   "YES",   "on",    "On",  "ON",
	    "n",    "N",    "no",   "No",    "NO",    "off",   "Off", "OFF",
	    "true", "True", "TRUE", "false", "False", "FALSE", NULL,
	};

	/* most strings are neither short nor start like one of the words */
	if (strlen(s) > 5 || strchr("yYoOnNtTfF", s[0]) == NULL || s[0] == '\0')
		return false;
	return in_list(s, words);
}

/* go-yaml's isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool yaml_base60_float(const char *s)
{
	int groups = 0;

	if (*s == '-' || *s == '+')
		s++;
	if (!is_digit(*s))
		return false;
	while (is_digit(*s) || *s == '_')
		s++;
	while (*s == ':') {
		s++;
		if (*s >= '0' && *s <= '5' && is_digit(s[1]))
			s += 2;
		else if (is_digit(*s))
			s++;
		else
			return false;
		groups++;
	}
	if (groups == 0)
		return false;
	if (*s == '.') {
		s++;
		while (is_digit(*s) || *s == '_')
			s++;
	}
	return *s == '\0';
}

/* 1 or 2 digits in [lo, hi]; advances *p and stores the number in *val unless it is NULL. */
static bool num12(const char **p, int lo, int hi, int *val)
{
	const char *s = *p;
	int v;

	if (!is_digit(s[0]))
		return false;
	v = s[0] - '0';
	s++;
	if (is_digit(s[0])) {
		v = v * 10 + s[0] - '0';
		s++;
	}
	*p = s;
	if (val != NULL)
		*val = v;
	return v >= lo && v <= hi;
}

/* "15:4:5" with an optional fraction, as time.Parse reads go-yaml's layouts. */
static bool yaml_clock(const char **p)
{
	const char *s = *p;

	if (!num12(&s, 0, 23, NULL) || *s++ != ':' || !num12(&s, 0, 59, NULL) || *s++ != ':' ||
	    !num12(&s, 0, 59, NULL))
		return false;
	if ((*s == '.' || *s == ',') && is_digit(s[1])) {
		s++;
		while (is_digit(*s))
			s++;
	}
	*p = s;
	return true;
}

/* go-yaml's parseTimestamp: "2006-1-2", "2006-1-2 15:4:5[.9]", "2006-1-2T15:4:5[.9]Z07:00". */
static bool yaml_timestamp(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year = 0, month, day;
	const char *p = s + 5;

	for (int i = 0; i < 4; i++) {
		if (!is_digit(s[i]))
			return false;
		year = year * 10 + (s[i] - '0');
	}
	if (s[4] != '-')
		return false;
	if (!num12(&p, 1, 12, &month) || *p++ != '-')
		return false;
	/* a third day digit is left at *p, where the checks below reject it */
	if (!num12(&p, 1, 31, &day) || day > mdays[month - 1])
		return false;
	if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return false;
	if (*p == '\0')
		return true;
	if (*p == ' ') {
		p++;
		return yaml_clock(&p) && *p == '\0';
	}
	if (*p != 'T' && *p != 't')
		return false;
	p++;
	if (!yaml_clock(&p))
		return false;
	if (*p == 'Z')
		return p[1] == '\0';
	return (*p == '+' || *p == '-') && is_digit(p[1]) && is_digit(p[2]) && p[3] == ':' &&
	       is_digit(p[4]) && is_digit(p[5]) && p[6] == '\0';
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* strconv.ParseInt(s, base, 64) or ParseUint(s, base, 64) succeeds (base 0: Go's
 * prefixes 0x, 0o, 0b and a leading 0 for octal). */
static bool go_int(const char *s, int base)
{
	bool neg = false, sign = false;
	uint64_t v = 0, limit;

	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		sign = true;
		s++;
	}
	if (base == 0) {
		base = 10;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			base = 16, s += 2;
		else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
			base = 8, s += 2;
		else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
			base = 2, s += 2;
		else if (s[0] == '0' && s[1] != '\0')
			base = 8, s += 1;
	}
	if (*s == '\0')
		return false;
	/* ParseUint takes no sign; ParseInt's range is that of int64 */
	limit = !sign ? UINT64_MAX : neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s != '\0'; s++) {
		int d = digit_value(*s);

		if (d >= base)
			return false;
		if (v > (limit - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	return true;
}

/* strconv.ParseFloat(s, 64) succeeds on a decimal number (no overflow to infinity). */
static bool go_float_decimal(const char *s)
{
	const char *p = s;
	char *end;
	double d;
	bool digits = false;

	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p))
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (is_digit(*p))
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	if (*p != '\0')
		return false;
	errno = 0;
	d = strtod(s, &end);
	return !isinf(d);
}

/* yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		if (!is_digit(p[1]))
			return false;
	} else if (!is_digit(*p)) {
		return false;
	}
	return go_float_decimal(s);
}

/* Would go-yaml's resolve() read s, written plain, as a string?  (Otherwise it is
 * quoted: null, bool, int, float, timestamp.) */
static bool yaml_resolves_str(const char *s)
{
	static const char *const special[] = {
	    "true",  "True",  "TRUE",  "false", "False", "FALSE", "~",    "null",
	    "Null",  "NULL",  ".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf", ".INF",
	    "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", NULL,
	};
	char plain[128];
	size_t n = 0;
	char c = s[0];

	if (c == '\0')
		return false;
	/* go-yaml only looks further for strings starting with its hint characters */
	if (!(is_digit(c) || c == '+' || c == '-' || c == '.' || strchr("yYnNtTfFoO~", c)))
		return true;
	/* the special words are at most 5 bytes long */
	if (strnlen(s, 6) <= 5 && in_list(s, special))
		return false;
	if (strchr("yYnNtTfFoO~", c))
		return true;
	if (c == '.')
		return !go_float_decimal(s);
	if (yaml_timestamp(s))
		return false;
	/* numbers: underscores are dropped first; a long string is no number go-yaml reads */
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '_')
			continue;
		if (n + 1 >= sizeof(plain))
			return !yaml_style_float(s);
		plain[n++] = *p;
	}
	plain[n] = '\0';
	if (go_int(plain, 0) || yaml_style_float(plain))
		return false;
	if (strncmp(plain, "0b", 2) == 0)
		return !go_int(plain + 2, 2);
	if (strncmp(plain, "-0b", 3) == 0) {
		plain[2] = '-';
		return !go_int(plain + 2, 2);
	}
	if (strncmp(plain, "0o", 2) == 0)
		return !go_int(plain + 2, 8);
	if (strncmp(plain, "-0o", 3) == 0) {
		plain[2] = '-';
		return !go_int(plain + 2, 8);
	}
	return true;
}

/* Plain without asking libyaml: ASCII words, paths, images, URLs, flags ("--port")
 * without ": " or " #" and without a leading or trailing space. */
static bool yaml_trivially_plain(const char *s)
{
	/* characters allowed anywhere in such a scalar (':' and ' ' are checked apart) */
	static const char ok[] = "-_./=+@,~%$()";
	static bool table[256];
	static bool ready;

	if (!ready) {
		for (int c = 0; c < 256; c++)
			table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || (c != 0 && strchr(ok, c) != NULL);
		ready = true;
	}
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || is_digit(s[0]) ||
	      s[0] == '/' || s[0] == '_' ||
	      /* "-x" is plain, "- x", "-" and "---..." are not */
	      (s[0] == '-' && s[1] != '\0' && s[1] != ' ' && strncmp(s, "---", 3) != 0)))
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (table[c])
			continue;
		if (c == ':' && p[1] != '\0' && p[1] != ' ')
			continue;
		if (c == ' ' && p[1] != '\0' && p[1] != '#' && p[1] != ' ')
			continue;
		return false;
	}
	return true;
}

/* Double-quoted without asking libyaml: printable ASCII that needs no escape. */
static bool yaml_trivially_quoted(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	}
	return true;
}

static int yaml_write_buf(void *data, unsigned char *buffer, size_t size)
{
	px_buf_add(data, buffer, size);
	return 1;
}

/* Render s as a root scalar with libyaml's emitter (go-yaml's emitter is a port of it and
 * makes the same choices: plain when allowed, else single quotes, else double quotes).
 * Returns 0, or -1 when libyaml refuses s (invalid UTF-8). */
static int yaml_render(struct px_buf *out, const char *s, yaml_scalar_style_t style)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int ok;

	if (!yaml_emitter_initialize(&e))
		abort(); /* out of memory, as xmalloc would */
	yaml_emitter_set_output(&e, yaml_write_buf, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1); /* go-yaml v3 never folds long lines */
	yaml_emitter_set_indent(&e, 2);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&e, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&e, &ev) &&
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  style) &&
	     yaml_emitter_emit(&e, &ev) && yaml_document_end_event_initialize(&ev, 1) &&
	     yaml_emitter_emit(&e, &ev) && yaml_stream_end_event_initialize(&ev) &&
	     yaml_emitter_emit(&e, &ev);
	yaml_emitter_delete(&e);
	return ok ? 0 : -1;
}

/* Double-quoted by hand: for strings libyaml cannot take (invalid UTF-8 was replaced
 * already, so this is a last resort that still yields valid YAML). */
static void yaml_double_quote(struct px_buf *b, const char *s)
{
	px_buf_addch(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			px_buf_addf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			px_buf_addf(b, "\\x%02X", c);
		else
			px_buf_addch(b, (char)c);
	}
	px_buf_addch(b, '"');
}

/* Append the YAML form of string s, as a mapping key (key) or a value whose block
 * scalar lines are indented at col + 2. */
static void yaml_string(struct px_buf *b, const char *s, int col, bool key)
{
	struct px_buf r = PX_BUF_INIT;
	yaml_scalar_style_t style;
	bool plain = yaml_resolves_str(s) && !yaml_base60_float(s) && !yaml_old_bool(s);
	const char *p;
	size_t n;

	if (strchr(s, '\n') != NULL)
		/* a multi-line key would be a complex key in go-yaml; keys here never are */
		style = key ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_LITERAL_SCALAR_STYLE;
	else if (plain)
		style = YAML_PLAIN_SCALAR_STYLE;
	else
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;

	if (style == YAML_PLAIN_SCALAR_STYLE && yaml_trivially_plain(s)) {
		px_buf_adds(b, s);
		return;
	}
	if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && yaml_trivially_quoted(s)) {
		px_buf_addf(b, "\"%s\"", s);
		return;
	}
	if (yaml_render(&r, s, style) < 0) {
		yaml_double_quote(b, s);
		px_buf_release(&r);
		return;
	}
	/* libyaml ends the document with a newline, and after an open-ended scalar ("|+")
	 * with "...": neither belongs inside our document */
	n = r.len;
	if (n >= 4 && memcmp(r.data + n - 4, "...\n", 4) == 0)
		n -= 4;
	if (n > 0 && r.data[n - 1] == '\n')
		n--;
	/* block scalar lines come indented by 2 from column 0: shift them under our parent */
	for (p = r.data; p < r.data + n;) {
		const char *nl = memchr(p, '\n', (size_t)(r.data + n - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(r.data + n - p);

		if (p != r.data && len > 0)
			indent(b, col);
		px_buf_add(b, p, len);
		if (nl == NULL)
			break;
		px_buf_addch(b, '\n');
		p = nl + 1;
	}
	px_buf_release(&r);
}

/* A finite, non-zero double as Go formats it with the shortest precision that reads
 * back the same: strconv.FormatFloat(d, 'g', -1, 64) for go-yaml (an exponent below 1e-4
 * and from 1e6 on), or encoding/json's choice ('e' below 1e-6 and from 1e21 on, "e-07"
 * shortened to "e-7"). */
static void go_float(char *out, size_t size, double d, bool json)
{
	char buf[64];
	const char *mark;
	char *end;
	long parsed;
	int prec, exp;
	bool e;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
	/* %e of a finite double always ends in "e±dd[d]"; the checks only guard that */
	mark = strchr(buf, 'e');
	parsed = mark != NULL ? strtol(mark + 1, &end, 10) : 0;
	if (mark == NULL || *end != '\0' || parsed < -400 || parsed > 400) {
		snprintf(out, size, "%s", buf);
		return;
	}
	exp = (int)parsed;
	e = json ? fabs(d) < 1e-6 || fabs(d) >= 1e21 : exp < -4 || exp >= 6;
	if (!e) {
		snprintf(out, size, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
		return;
	}
	if (json) {
		char *m = strstr(buf, "e-0");

		if (m != NULL && strlen(m) == 4)
			memmove(m + 2, m + 3, 2);
	}
	snprintf(out, size, "%s", buf);
}

/* A float as go-yaml prints it, with .inf and .nan. */
static void yaml_float(struct px_buf *b, double d)
{
	char buf[64];

	if (isnan(d)) {
		px_buf_adds(b, ".nan");
	} else if (isinf(d)) {
		px_buf_adds(b, d > 0 ? ".inf" : "-.inf");
	} else if (d == 0) {
		px_buf_adds(b, signbit(d) ? "-0" : "0");
	} else {
		go_float(buf, sizeof(buf), d, false);
		px_buf_adds(b, buf);
	}
}

/* ---- a json_t tree written as go-yaml writes block YAML (indent 2) ------------------ */

static void yaml_entries(struct px_buf *b, const json_t *v, int col, bool inline_first);

static bool yaml_is_block(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) ||
	       (json_is_array(v) && json_array_size(v) > 0);
}

/* A scalar (or an empty collection) on the current line; block scalars indent under col. */
static void yaml_scalar(struct px_buf *b, const json_t *v, int col)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		yaml_string(b, json_string_value(v), col, false);
		break;
	case JSON_INTEGER:
		px_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		yaml_float(b, json_real_value(v));
		break;
	case JSON_TRUE:
		px_buf_adds(b, "true");
		break;
	case JSON_FALSE:
		px_buf_adds(b, "false");
		break;
	case JSON_NULL:
		px_buf_adds(b, "null");
		break;
	case JSON_OBJECT:
		px_buf_adds(b, "{}");
		break;
	case JSON_ARRAY:
		px_buf_adds(b, "[]");
		break;
	}
	px_buf_addch(b, '\n');
}

/* The entries of a non-empty mapping or sequence at column col; inline_first: the first
 * one continues the current line (after "- "). */
static void yaml_entries(struct px_buf *b, const json_t *v, int col, bool inline_first)
{
	const char *key;
	json_t *item;
	size_t i;
	bool first = true;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
		{
			if (!(first && inline_first))
				indent(b, col);
			first = false;
			yaml_string(b, key, col, true);
			px_buf_addch(b, ':');
			if (yaml_is_block(item)) {
				px_buf_addch(b, '\n');
				/* go-yaml indents a sequence under its key, unlike libyaml */
				yaml_entries(b, item, col + 2, false);
			} else {
				px_buf_addch(b, ' ');
				yaml_scalar(b, item, col);
			}
		}
		return;
	}
	json_array_foreach(v, i, item)
	{
		if (!(first && inline_first))
			indent(b, col);
		first = false;
		px_buf_adds(b, "- ");
		if (yaml_is_block(item))
			yaml_entries(b, item, col + 2, true);
		else
			yaml_scalar(b, item, col);
	}
}

/* "key: value" (or "key:" and the block under it) at column col. */
static void yaml_entry(struct px_buf *b, const char *key, const json_t *v, int col)
{
	json_t *o = json_object();

	json_object_set(o, key, (json_t *)v);
	yaml_entries(b, o, col, false);
	json_decref(o);
}

/* ---- JSON: jansson's dump with encoding/json's escapes ------------------------------ */

/* jansson cannot print a float as Go does ("1000" for 1000.0, "0.00001"), so a copy of
 * the tree carries each float as a string holding this marker and Go's text, which
 * json_append() writes back without quotes.  v itself may share nodes with the model
 * (other, extensions), so it is never changed. */
#define GO_NUMBER_MARK      "\x01\x02go-number:"
#define GO_NUMBER_MARK_JSON "\"\\u0001\\u0002go-number:"

/* Append jansson's text of v (indent 2) with every line after the first indented by col
 * more, and the characters encoding/json escapes where jansson does not: <, >, & (HTML
 * safety), U+2028, U+2029; \u escapes in lowercase hex as Go writes them. */
static void json_append(struct px_buf *b, const json_t *v, int col, size_t flags)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
				       JSON_REAL_PRECISION(15) | flags);

	if (text == NULL)
		abort(); /* only on allocation failure: v is always encodable */
	for (const char *p = text; *p != '\0';) {
		size_t run = strcspn(p, "\n<>&\\\xe2\"");

		px_buf_add(b, p, run);
		p += run;
		switch (*p) {
		case '"':
			if (strncmp(p, GO_NUMBER_MARK_JSON, strlen(GO_NUMBER_MARK_JSON)) == 0) {
				/* a float json_go_numbers() formatted: its text, unquoted */
				const char *num = p + strlen(GO_NUMBER_MARK_JSON);
				const char *end = strchr(num, '"');

				px_buf_add(b, num, (size_t)(end - num));
				p = end;
			} else {
				/* a whole string: copy it up to its closing quote, escapes and all,
				 * through the cases below */
				px_buf_addch(b, '"');
			}
			break;
		case '\0':
			continue;
		case '\n':
			px_buf_addch(b, '\n');
			indent(b, col);
			break;
		case '<':
			px_buf_adds(b, "\\u003c");
			break;
		case '>':
			px_buf_adds(b, "\\u003e");
			break;
		case '&':
			px_buf_adds(b, "\\u0026");
			break;
		case '\\':
			if (p[1] == 'u') {
				px_buf_adds(b, "\\u");
				for (int i = 2; i < 6 && p[i] != '\0'; i++)
					px_buf_addch(b, (char)(p[i] >= 'A' && p[i] <= 'F'
								   ? p[i] - 'A' + 'a'
								   : p[i]));
				p += 5;
			} else {
				px_buf_addch(b, '\\');
				px_buf_addch(b, *++p);
			}
			break;
		default: /* 0xe2: U+2028 and U+2029 are escaped, other characters are not */
			if (p[1] == '\x80' && (p[2] == '\xa8' || p[2] == '\xa9')) {
				px_buf_adds(b, p[2] == '\xa8' ? "\\u2028" : "\\u2029");
				p += 2;
			} else {
				px_buf_addch(b, *p);
			}
		}
		p++;
	}
	free(text);
}

/* A copy of v with every float replaced by its Go text behind GO_NUMBER_MARK. */
static json_t *json_go_numbers(const json_t *v)
{
	const char *key;
	json_t *item, *o;
	size_t i;

	if (json_is_real(v)) {
		double d = json_real_value(v);
		char buf[64];

		if (d == 0)
			return json_integer(0);
		go_float(buf, sizeof(buf), d, true);
		return json_sprintf("%s%s", GO_NUMBER_MARK, buf);
	}
	if (json_is_array(v)) {
		o = json_array();
		json_array_foreach(v, i, item)
		{
			json_array_append_new(o, json_go_numbers(item));
		}
		return o;
	}
	if (json_is_object(v)) {
		o = json_object();
		json_object_foreach((json_t *)v, key, item)
		    json_object_set_new(o, key, json_go_numbers(item));
		return o;
	}
	return json_incref((json_t *)v);
}

static bool json_has_real(const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_real(v))
		return true;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			if (json_has_real(item))
				return true;
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
		{
			if (json_has_real(item))
				return true;
		}
	}
	return false;
}

/* Append the JSON of a model node (which the call consumes) at column col. */
static void json_append_node(struct px_buf *b, json_t *node, int col)
{
	json_t *v = json_has_real(node) ? json_go_numbers(node) : json_incref(node);

	json_append(b, v, col, 0);
	json_decref(v);
	json_decref(node);
}

/* ---- the model as compose-go's structs -------------------------------------------- */

static int service_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_service *const *)a)->name,
		      (*(const struct compose_service *const *)b)->name);
}

/* A set of names (borrowed), sorted once filled. */
struct names {
	const char **v;
	size_t n, cap;
};

static void names_add(struct names *s, const char *name)
{
	if (name == NULL)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = name;
}

static void names_sort(struct names *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), str_cmp);
}

static bool names_has(const struct names *s, const char *name)
{
	return s->n > 0 && bsearch(&name, s->v, s->n, sizeof(*s->v), str_cmp) != NULL;
}

/* The sources of a service's secrets: or configs: list ("name" or {source: name}). */
static void names_add_refs(struct names *s, const json_t *list)
{
	size_t i;
	json_t *item;

	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, item)
	{
		if (json_is_string(item))
			names_add(s, json_string_value(item));
		else
			names_add(s, json_string_value(json_object_get(item, "source")));
	}
}

/* Which parts are printed: the services (compose_load already dropped those the active
 * profiles turn off), and the networks, volumes, secrets and configs they use (compose
 * drops the others from its output). */
struct view {
	const struct compose_project *p;
	const struct compose_service **services; /* sorted by name */
	size_t nservices;
	struct names networks, volumes, secrets, configs;
};


static int view_init(struct view *w, const struct compose_project *p, struct px_error *err)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	w->services = xcalloc(p->nservices + 1, sizeof(*w->services));
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];

		w->services[w->nservices++] = s;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	qsort(w->services, w->nservices, sizeof(*w->services), service_cmp);
	for (size_t i = 0; i < w->nservices; i++) {
		const struct compose_service *s = w->services[i];

		for (size_t j = 0; j < s->nnetworks; j++)
			names_add(&w->networks, s->networks[j].key);
		for (size_t j = 0; j < s->nvolumes; j++) {
			if (s->volumes[j].type == COMPOSE_MOUNT_VOLUME)
				names_add(&w->volumes, s->volumes[j].source);
		}
		names_add_refs(&w->secrets, json_object_get(s->other, "secrets"));
		names_add_refs(&w->configs, json_object_get(s->other, "configs"));
		if (s->build != NULL)
			names_add_refs(&w->secrets, json_object_get(s->build->other, "secrets"));
	}
	names_sort(&w->networks);
	names_sort(&w->volumes);
	names_sort(&w->secrets);
	names_sort(&w->configs);
	(void)err;
	return 0;
}

static void view_release(struct view *w)
{
	free(w->services);
	free(w->networks.v);
	free(w->volumes.v);
	free(w->secrets.v);
	free(w->configs.v);
}

/* compose-go's BuildConfig in struct order */
static const char *const build_keys[] = {
    "context",
    "dockerfile",
    "dockerfile_inline",
    "entitlements",
    "args",
    "ssh",
    "labels",
    "cache_from",
    "cache_to",
    "no_cache",
    "no_cache_filter",
    "additional_contexts",
    "pull",
    "extra_hosts",
    "isolation",
    "network",
    "target",
    "secrets",
    "shm_size",
    "tags",
    "ulimits",
    "platforms",
    "privileged",
    "provenance",
    "sbom",
    NULL,
};

static json_t *build_node(const struct compose_build *bd, bool json)
{

	json_t *o = json_object(), *other = json_object(), *v;
	const char *key;

	/* the modeled keys and bd->other merged, then laid out in BuildConfig's order */
	set_str(other, "context", bd->context);
	set_str(other, "dockerfile", bd->dockerfile);
	set_str(other, "dockerfile_inline", bd->dockerfile_inline);
	if (bd->args.n > 0) {
		json_t *args = map_node(&bd->args, true);

		if (json_object_size(args) > 0)
			json_object_set(other, "args", args);
		json_decref(args);
	}
	set_map(other, "labels", &bd->labels);
	set_strv(other, "cache_from", &bd->cache_from);
	set_str(other, "network", bd->network);
	set_str(other, "target", bd->target);
	if (json_is_object(bd->other)) {
		json_object_foreach(bd->other, key, v)
		{
			if (json_object_get(other, key) == NULL)
				json_object_set(other, key, v);
		}
	}
	/* ssh is a list of "id" or "id=path" in compose-go, a mapping in the canonical tree */
	v = json_object_get(other, "ssh");
	if (json_is_object(v)) {
		json_t *list = json_array(), *path;

		json_object_foreach(v, key, path)
		{
			if (json_is_string(path))
				json_array_append_new(
				    list, json_sprintf("%s=%s", key, json_string_value(path)));
			else
				json_array_append_new(list, jstr(key));
		}
		json_object_set_new(other, "ssh", list);
	}
	add_ordered(o, other, build_keys, json);
	json_decref(other);
	return o;
}

static const char *const watch_actions[] = {
    [COMPOSE_WATCH_SYNC] = "sync",           [COMPOSE_WATCH_REBUILD] = "rebuild",
    [COMPOSE_WATCH_RESTART] = "restart",     [COMPOSE_WATCH_SYNC_RESTART] = "sync+restart",
    [COMPOSE_WATCH_SYNC_EXEC] = "sync+exec",
};

static json_t *develop_node(const struct compose_service *s, bool json)
{
	json_t *o = json_object(), *list = json_array();

	for (size_t i = 0; i < s->nwatch; i++) {
		const struct compose_watch *w = &s->watch[i];
		json_t *t = json_object();

		set_str(t, "path", w->path);
		if ((size_t)w->action < sizeof(watch_actions) / sizeof(watch_actions[0]))
			json_object_set_new(t, "action", json_string(watch_actions[w->action]));
		set_str(t, "target", w->target);
		/* encoding/json always writes the exec hook (its command is not omitempty) */
		if (w->exec_command.n > 0 || json) {
			json_t *e = json_object();

			json_object_set_new(e, "command",
					    w->exec_command.n > 0 ? strv_node(&w->exec_command)
								  : json_null());
			set_str(e, "user", w->exec_user);
			set_map(e, "environment", &w->exec_environment);
			json_object_set_new(t, "exec", e);
		}
		set_strv(t, "include", &w->include);
		set_strv(t, "ignore", &w->ignore);
		set_true(t, "initial_sync", w->initial_sync);
		json_array_append_new(list, t);
	}
	json_object_set_new(o, "watch", list);
	return o;
}

static const char *const dep_conditions[] = {
    [COMPOSE_DEP_STARTED] = "service_started",
    [COMPOSE_DEP_HEALTHY] = "service_healthy",
    [COMPOSE_DEP_COMPLETED] = "service_completed_successfully",
};

static int dep_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_dep *const *)a)->service,
		      (*(const struct compose_dep *const *)b)->service);
}

static json_t *depends_on_node(const struct compose_service *s)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	const struct compose_dep **idx = xcalloc(s->ndepends_on + 1, sizeof(*idx));
	json_t *o = json_object();

	for (size_t i = 0; i < s->ndepends_on; i++)
		idx[i] = &s->depends_on[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	qsort(idx, s->ndepends_on, sizeof(*idx), dep_cmp);
	for (size_t i = 0; i < s->ndepends_on; i++) {
		json_t *d = json_object();

		if ((size_t)idx[i]->condition < sizeof(dep_conditions) / sizeof(dep_conditions[0]))
			json_object_set_new(d, "condition",
					    json_string(dep_conditions[idx[i]->condition]));
		set_true(d, "restart", idx[i]->restart);
		json_object_set_new(d, "required", json_boolean(idx[i]->required));
		json_object_set_new(o, idx[i]->service, d);
	}
	free(idx);
	return o;
}

/* Length of the host part of "host=ip". */
static size_t host_len(const char *entry)
{
	return strcspn(entry, "=");
}

/* "host=ip" entries sorted by host (compose-go keeps them in a map of lists), the IPs of
 * one host in their order: a stable insertion sort on the host part. */
static json_t *extra_hosts_node(const struct compose_strv *v)
{
	const char **idx = xcalloc(v->n + 1, sizeof(*idx));
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++) {
		const char *cur = v->v[i];
		size_t j = i, n = host_len(cur);

		while (j > 0) {
			size_t m = host_len(idx[j - 1]);
			int c = strncmp(idx[j - 1], cur, m < n ? m : n);

			if (c < 0 || (c == 0 && m <= n))
				break;
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = cur;
	}
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, jstr(idx[i]));
	free(idx);
	return a;
}

static json_t *healthcheck_node(const struct compose_healthcheck *h)
{
	json_t *o = json_object();
	bool none = h->test.n > 0 && strcmp(h->test.v[0], "NONE") == 0;

	set_strv(o, "test", &h->test);
	set_duration(o, "timeout", h->timeout_ns);
	set_duration(o, "interval", h->interval_ns);
	if (h->retries >= 0)
		json_object_set_new(o, "retries", json_integer(h->retries));
	set_duration(o, "start_period", h->start_period_ns);
	set_duration(o, "start_interval", h->start_interval_ns);
	/* test: ["NONE"] is how the user said it; disable: true only when they wrote that */
	set_true(o, "disable", h->disable && !none);
	return o;
}

static int svc_net_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_service_network *const *)a)->key,
		      (*(const struct compose_service_network *const *)b)->key);
}

static json_t *service_networks_node(const struct compose_service *s)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	const struct compose_service_network **idx = xcalloc(s->nnetworks + 1, sizeof(*idx));
	json_t *o = json_object();

	for (size_t i = 0; i < s->nnetworks; i++)
		idx[i] = &s->networks[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	qsort(idx, s->nnetworks, sizeof(*idx), svc_net_cmp);
	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct compose_service_network *n = idx[i];
		json_t *v = json_object();

		if (n->priority != 0)
			json_object_set_new(v, "priority", json_integer(n->priority));
		set_strv(v, "aliases", &n->aliases);
		set_str(v, "ipv4_address", n->ipv4_address);
		set_str(v, "ipv6_address", n->ipv6_address);
		if (json_object_size(v) == 0) {
			/* a network without settings is a nil pointer in compose-go */
			json_decref(v);
			v = json_null();
		}
		json_object_set_new(o, n->key, v);
	}
	free(idx);
	return o;
}

static json_t *ports_node(const struct compose_service *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->nports; i++) {
		const struct compose_port *pt = &s->ports[i];
		json_t *o = json_object();

		set_str(o, "name", pt->name);
		set_str(o, "mode", pt->mode);
		set_str(o, "host_ip", pt->host_ip);
		if (pt->target != 0)
			json_object_set_new(o, "target", json_integer(pt->target));
		set_str(o, "published", pt->published);
		set_str(o, "protocol", pt->protocol);
		set_str(o, "app_protocol", pt->app_protocol);
		json_array_append_new(a, o);
	}
	return a;
}

static const char *const mount_types[] = {
    [COMPOSE_MOUNT_VOLUME] = "volume",   [COMPOSE_MOUNT_BIND] = "bind",
    [COMPOSE_MOUNT_TMPFS] = "tmpfs",     [COMPOSE_MOUNT_NPIPE] = "npipe",
    [COMPOSE_MOUNT_CLUSTER] = "cluster", [COMPOSE_MOUNT_IMAGE] = "image",
};

static json_t *volumes_node(const struct compose_service *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *m = &s->volumes[i];
		json_t *o = json_object(), *sub;

		if ((size_t)m->type < sizeof(mount_types) / sizeof(mount_types[0]))
			json_object_set_new(o, "type", json_string(mount_types[m->type]));
		set_str(o, "source", m->source);
		set_str(o, "target", m->target);
		set_true(o, "read_only", m->read_only);
		set_str(o, "consistency", m->consistency);
		sub = json_object();
		set_str(sub, "selinux", m->bind_selinux);
		set_str(sub, "propagation", m->bind_propagation);
		set_true(sub, "create_host_path", m->bind_create_host_path);
		if (json_object_size(sub) > 0)
			json_object_set(o, "bind", sub);
		json_decref(sub);
		sub = json_object();
		set_true(sub, "nocopy", m->volume_nocopy);
		set_str(sub, "subpath", m->volume_subpath);
		/* the short syntax always carries a volume block, printed even when empty */
		if (json_object_size(sub) > 0 || m->volume_options)
			json_object_set(o, "volume", sub);
		json_decref(sub);
		sub = json_object();
		/* compose-go's UnitBytes prints as a string, the mode as a decimal number */
		if (m->tmpfs_size >= 0)
			json_object_set_new(sub, "size",
					    json_sprintf("%lld", (long long)m->tmpfs_size));
		if (m->tmpfs_mode >= 0)
			json_object_set_new(sub, "mode", json_integer(m->tmpfs_mode));
		if (json_object_size(sub) > 0)
			json_object_set(o, "tmpfs", sub);
		json_decref(sub);
		json_array_append_new(a, o);
	}
	return a;
}

/* The keys prisync models; every other service key comes from s->other. */
enum service_field {
	F_OTHER = 0,
	F_PROFILES,
	F_BUILD,
	F_DEVELOP,
	F_COMMAND,
	F_CONTAINER_NAME,
	F_DEPENDS_ON,
	F_ENTRYPOINT,
	F_ENVIRONMENT,
	F_EXPOSE,
	F_EXTRA_HOSTS,
	F_HOSTNAME,
	F_HEALTHCHECK,
	F_IMAGE,
	F_INIT,
	F_LABELS,
	F_NETWORK_MODE,
	F_NETWORKS,
	F_PORTS,
	F_PRIVILEGED,
	F_PULL_POLICY,
	F_READ_ONLY,
	F_RESTART,
	F_STDIN_OPEN,
	F_STOP_GRACE_PERIOD,
	F_STOP_SIGNAL,
	F_TTY,
	F_USER,
	F_VOLUMES,
	F_WORKING_DIR,
};

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? jstr(s) : NULL;
}

/* The model's value of one service key, or NULL where compose omits it. */
static json_t *service_field(const struct compose_service *s, enum service_field f, bool json)
{
	switch (f) {
	case F_OTHER:
		break;
	case F_PROFILES:
		return s->profiles.n ? strv_node(&s->profiles) : NULL;
	case F_BUILD:
		return s->build ? build_node(s->build, json) : NULL;
	case F_DEVELOP:
		return s->nwatch ? develop_node(s, json) : NULL;
	/* command and entrypoint: encoding/json writes null when unset (no omitempty) */
	case F_COMMAND:
		if (s->has_command)
			return strv_node(&s->command);
		return json ? json_null() : NULL;
	case F_ENTRYPOINT:
		if (s->has_entrypoint)
			return strv_node(&s->entrypoint);
		return json ? json_null() : NULL;
	case F_CONTAINER_NAME:
		return str_or_null(s->container_name);
	case F_DEPENDS_ON:
		return s->ndepends_on ? depends_on_node(s) : NULL;
	case F_ENVIRONMENT:
		return s->environment.n ? map_node(&s->environment, false) : NULL;
	case F_EXPOSE:
		return s->expose.n ? strv_node(&s->expose) : NULL;
	case F_EXTRA_HOSTS:
		return s->extra_hosts.n ? extra_hosts_node(&s->extra_hosts) : NULL;
	case F_HOSTNAME:
		return str_or_null(s->hostname);
	case F_HEALTHCHECK:
		return s->healthcheck.present ? healthcheck_node(&s->healthcheck) : NULL;
	case F_IMAGE:
		return str_or_null(s->image);
	case F_INIT: /* a *bool in compose-go: printed whenever set */
		return s->init >= 0 ? json_boolean(s->init) : NULL;
	case F_LABELS:
		return s->labels.n ? map_node(&s->labels, false) : NULL;
	case F_NETWORK_MODE:
		return str_or_null(s->network_mode);
	case F_NETWORKS:
		return s->nnetworks ? service_networks_node(s) : NULL;
	case F_PORTS:
		return s->nports ? ports_node(s) : NULL;
	/* plain bools in compose-go (omitempty): printed only when true */
	case F_PRIVILEGED:
		return s->privileged > 0 ? json_true() : NULL;
	case F_PULL_POLICY:
		return str_or_null(s->pull_policy);
	case F_READ_ONLY:
		return s->read_only > 0 ? json_true() : NULL;
	case F_RESTART:
		return str_or_null(s->restart);
	case F_STDIN_OPEN:
		return s->stdin_open > 0 ? json_true() : NULL;
	case F_STOP_GRACE_PERIOD:
		return duration_node(s->stop_grace_period_ns);
	case F_STOP_SIGNAL:
		return str_or_null(s->stop_signal);
	case F_TTY:
		return s->tty > 0 ? json_true() : NULL;
	case F_USER:
		return str_or_null(s->user);
	case F_VOLUMES:
		return s->nvolumes ? volumes_node(s) : NULL;
	case F_WORKING_DIR:
		return str_or_null(s->working_dir);
	}
	return NULL;
}

/* Keys of compose-go's ServiceConfig in struct order (what go-yaml and encoding/json
 * follow), with the model's printer for the keys prisync models; the others come from
 * s->other as written.  env_file is absent on purpose: compose v2.26 merges the files
 * into environment and prints no env_file. */
static const struct {
	const char *key;
	enum service_field field;
} service_fields[] = {
    {"profiles", F_PROFILES},
    {"annotations", F_OTHER},
    {"attach", F_OTHER},
    {"build", F_BUILD},
    {"develop", F_DEVELOP},
    {"blkio_config", F_OTHER},
    {"cap_add", F_OTHER},
    {"cap_drop", F_OTHER},
    {"cgroup_parent", F_OTHER},
    {"cgroup", F_OTHER},
    {"cpu_count", F_OTHER},
    {"cpu_percent", F_OTHER},
    {"cpu_period", F_OTHER},
    {"cpu_quota", F_OTHER},
    {"cpu_rt_period", F_OTHER},
    {"cpu_rt_runtime", F_OTHER},
    {"cpus", F_OTHER},
    {"cpuset", F_OTHER},
    {"cpu_shares", F_OTHER},
    {"command", F_COMMAND},
    {"configs", F_OTHER},
    {"container_name", F_CONTAINER_NAME},
    {"credential_spec", F_OTHER},
    {"depends_on", F_DEPENDS_ON},
    {"deploy", F_OTHER},
    {"device_cgroup_rules", F_OTHER},
    {"devices", F_OTHER},
    {"dns", F_OTHER},
    {"dns_opt", F_OTHER},
    {"dns_search", F_OTHER},
    {"dockerfile", F_OTHER},
    {"domainname", F_OTHER},
    {"entrypoint", F_ENTRYPOINT},
    {"provider", F_OTHER},
    {"environment", F_ENVIRONMENT},
    {"expose", F_EXPOSE},
    {"extends", F_OTHER},
    {"external_links", F_OTHER},
    {"extra_hosts", F_EXTRA_HOSTS},
    {"group_add", F_OTHER},
    {"gpus", F_OTHER},
    {"hostname", F_HOSTNAME},
    {"healthcheck", F_HEALTHCHECK},
    {"image", F_IMAGE},
    {"init", F_INIT},
    {"ipc", F_OTHER},
    {"isolation", F_OTHER},
    {"labels", F_LABELS},
    {"label_file", F_OTHER},
    {"links", F_OTHER},
    {"logging", F_OTHER},
    {"log_driver", F_OTHER},
    {"log_opt", F_OTHER},
    {"mem_limit", F_OTHER},
    {"mem_reservation", F_OTHER},
    {"memswap_limit", F_OTHER},
    {"mem_swappiness", F_OTHER},
    {"mac_address", F_OTHER},
    {"models", F_OTHER},
    {"net", F_OTHER},
    {"network_mode", F_NETWORK_MODE},
    {"networks", F_NETWORKS},
    {"oom_kill_disable", F_OTHER},
    {"oom_score_adj", F_OTHER},
    {"pid", F_OTHER},
    {"pids_limit", F_OTHER},
    {"platform", F_OTHER},
    {"ports", F_PORTS},
    {"privileged", F_PRIVILEGED},
    {"pull_policy", F_PULL_POLICY},
    {"read_only", F_READ_ONLY},
    {"restart", F_RESTART},
    {"runtime", F_OTHER},
    {"scale", F_OTHER},
    {"secrets", F_OTHER},
    {"security_opt", F_OTHER},
    {"shm_size", F_OTHER},
    {"stdin_open", F_STDIN_OPEN},
    {"stop_grace_period", F_STOP_GRACE_PERIOD},
    {"stop_signal", F_STOP_SIGNAL},
    {"storage_opt", F_OTHER},
    {"sysctls", F_OTHER},
    {"tmpfs", F_OTHER},
    {"tty", F_TTY},
    {"ulimits", F_OTHER},
    {"use_api_socket", F_OTHER},
    {"user", F_USER},
    {"userns_mode", F_OTHER},
    {"uts", F_OTHER},
    {"volume_driver", F_OTHER},
    {"volumes", F_VOLUMES},
    {"volumes_from", F_OTHER},
    {"working_dir", F_WORKING_DIR},
    {"post_start", F_OTHER},
    {"pre_stop", F_OTHER},
};

#define NSERVICE_FIELDS (sizeof(service_fields) / sizeof(service_fields[0]))

static bool service_key_known(const char *key)
{
	static const char *sorted[NSERVICE_FIELDS];
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < NSERVICE_FIELDS; i++)
			sorted[i] = service_fields[i].key;
		qsort(sorted, NSERVICE_FIELDS, sizeof(*sorted), str_cmp);
		ready = true;
	}
	return bsearch(&key, sorted, NSERVICE_FIELDS, sizeof(*sorted), str_cmp) != NULL;
}

/* A service's secrets: or configs: list as compose-go's FileReferenceConfig list: the
 * short form "name" becomes {source: name}, and a secret's target defaults to
 * /run/secrets/<source>.  New reference. */
static json_t *file_refs_node(const json_t *list, bool secrets)
{
	static const char *const keys[] = {"source", "target", "uid", "gid", "mode", NULL};
	json_t *a, *item;
	size_t i;

	if (!json_is_array(list))
		return json_incref((json_t *)list);
	a = json_array();
	json_array_foreach(list, i, item)
	{
		json_t *full, *e = json_object();

		if (json_is_string(item))
			full = json_pack("{s:O}", "source", item);
		else
			full = json_deep_copy(item);
		if (secrets && json_is_object(full) && json_object_get(full, "target") == NULL &&
		    json_is_string(json_object_get(full, "source")))
			json_object_set_new(
			    full, "target",
			    json_sprintf("/run/secrets/%s",
					 json_string_value(json_object_get(full, "source"))));
		if (json_is_object(full)) {
			add_ordered(e, full, keys, true);
			json_array_append_new(a, e);
		} else {
			json_decref(e);
			json_array_append(a, item);
		}
		json_decref(full);
	}
	return a;
}

/* docker's units.RAMInBytes, which compose-go's UnitBytes uses: "1g" -> 1073741824
 * (binary multiples, optional "i" and "b", a fraction allowed).  -1 when it is not one. */
static int64_t ram_in_bytes(const char *s)
{
	static const char units[] = "kmgtp";
	char *end;
	double d;
	const char *u;
	int64_t mult = 1;

	if (!is_digit(*s))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s)
		return -1;
	if (*end == ' ')
		end++;
	if (*end != '\0' && (u = strchr(units, *end | 0x20)) != NULL) {
		for (long i = 0; i <= u - units; i++)
			mult *= 1024;
		end++;
		if ((*end | 0x20) == 'i')
			end++;
	}
	if ((*end | 0x20) == 'b')
		end++;
	if (*end != '\0')
		return -1;
	return (int64_t)(d * (double)mult);
}

/* A Go string map: scalars as strings (sysctls: 1024 -> "1024"), a "k=v" list as a map. */
static json_t *string_map_node(const json_t *v)
{
	json_t *o = json_object(), *item, *out;
	const char *key;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			const char *kv = json_string_value(item);
			const char *eq = kv ? strchr(kv, '=') : NULL;

			if (eq != NULL) {
				char *k = xstrndup(kv, (size_t)(eq - kv));

				json_object_set_new(o, k, jstr(eq + 1));
				free(k);
			}
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
		{
			/* strings, nulls and anything else are kept as written */
			if (json_is_integer(item))
				json_object_set_new(o, key,
						    json_sprintf("%" JSON_INTEGER_FORMAT,
								 json_integer_value(item)));
			else if (json_is_boolean(item))
				json_object_set_new(
				    o, key, json_string(json_is_true(item) ? "true" : "false"));
			else
				json_object_set(o, key, item);
		}
	} else {
		json_decref(o);
		return json_incref((json_t *)v);
	}
	out = sorted_copy(o);
	json_decref(o);
	return out;
}

/* compose-go's DeployConfig in struct order. */
static const char *const deploy_keys[] = {
    "mode",      "replicas",       "labels",    "update_config", "rollback_config",
    "resources", "restart_policy", "placement", "endpoint_mode", NULL,
};

/* A value of s->other as compose prints it (new reference, NULL when absent): the few
 * typed fields compose-go normalises get the same treatment, the rest is as written. */
static json_t *other_field(const struct compose_service *s, const char *key, bool json)
{
	static const char *const unit_bytes[] = {
	    "mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "shm_size", NULL};
	const json_t *v = json_object_get(s->other, key);

	if (v == NULL)
		return NULL;
	if (strcmp(key, "secrets") == 0 || strcmp(key, "configs") == 0)
		return file_refs_node(v, key[1] == 'e');
	if (strcmp(key, "sysctls") == 0)
		return string_map_node(v);
	if (in_list(key, unit_bytes)) {
		/* UnitBytes prints as a string of bytes */
		int64_t n = json_is_integer(v)  ? json_integer_value(v)
			    : json_is_string(v) ? ram_in_bytes(json_string_value(v))
						: -1;

		return n >= 0 ? json_sprintf("%lld", (long long)n) : json_incref((json_t *)v);
	}
	if (strcmp(key, "deploy") == 0 && json_is_object(v)) {
		json_t *d = json_object(), *full = json_deep_copy(v);

		/* resources and placement are structs: encoding/json writes them even empty */
		if (json) {
			if (json_object_get(full, "resources") == NULL)
				json_object_set_new(full, "resources", json_object());
			if (json_object_get(full, "placement") == NULL)
				json_object_set_new(full, "placement", json_object());
		}
		add_ordered(d, full, deploy_keys, json);
		json_decref(full);
		return d;
	}
	return json_incref((json_t *)v);
}

static json_t *service_node(const struct compose_service *s, bool json)
{
	json_t *o = json_object(), *v;
	bool other = json_is_object(s->other) && json_object_size(s->other) > 0;
	const char *key;

	for (size_t i = 0; i < NSERVICE_FIELDS; i++) {
		if (service_fields[i].field != F_OTHER)
			v = service_field(s, service_fields[i].field, json);
		else if (other)
			v = other_field(s, service_fields[i].key, json);
		else
			continue;
		if (v != NULL)
			json_object_set_new(o, service_fields[i].key, v);
	}
	/* keys newer than this table: after the known ones, as written */
	if (other) {
		json_object_foreach(s->other, key, v)
		{
			if (strncmp(key, "x-", 2) != 0 && !service_key_known(key))
				json_object_set(o, key, v);
		}
	}
	/* encoding/json skips extensions (json:"-"); go-yaml inlines them last */
	if (!json)
		add_extensions(o, s->extensions);
	return o;
}

/* ipam as compose-go's IPAMConfig: driver, then config pools in IPAMPool order.
 * compose v2.26 has no ipam options: they are not printed. */
static json_t *ipam_node(const json_t *ipam)
{
	static const char *const pool_keys[] = {"subnet", "gateway", "ip_range", NULL};
	json_t *o = json_object(), *config, *pool, *v;
	size_t i;

	if (!json_is_object(ipam))
		return o;
	v = json_object_get(ipam, "driver");
	if (json_is_string(v) && json_string_length(v) > 0)
		json_object_set(o, "driver", v);
	config = json_object_get(ipam, "config");
	if (json_is_array(config) && json_array_size(config) > 0) {
		json_t *list = json_array();

		json_array_foreach(config, i, pool)
		{
			json_t *p = json_object();

			for (const char *const *k = pool_keys; *k != NULL; k++) {
				v = json_object_get(pool, *k);
				if (v != NULL && !(json_is_string(v) && json_string_length(v) == 0))
					json_object_set(p, *k, v);
			}
			v = json_object_get(pool, "aux_addresses");
			if (json_is_object(v) && json_object_size(v) > 0)
				json_object_set_new(p, "aux_addresses", sorted_copy(v));
			json_array_append_new(list, p);
		}
		json_object_set_new(o, "config", list);
	}
	return o;
}

static json_t *network_node(const struct compose_network *n, bool json)
{
	json_t *o = json_object(), *ipam;

	set_str(o, "name", n->name);
	set_str(o, "driver", n->driver);
	set_map(o, "driver_opts", &n->driver_opts);
	/* IPAMConfig is a struct: encoding/json writes it even when empty, go-yaml does not */
	ipam = ipam_node(n->ipam);
	if (json || json_object_size(ipam) > 0)
		json_object_set(o, "ipam", ipam);
	json_decref(ipam);
	set_true(o, "external", n->external);
	set_true(o, "internal", n->internal);
	set_true(o, "attachable", n->attachable);
	set_map(o, "labels", &n->labels);
	set_tristate(o, "enable_ipv6", n->enable_ipv6);
	if (!json)
		add_extensions(o, n->extensions);
	return o;
}

static json_t *volume_node(const struct compose_volume *vol, bool json)
{
	json_t *o = json_object();

	set_str(o, "name", vol->name);
	set_str(o, "driver", vol->driver);
	set_map(o, "driver_opts", &vol->driver_opts);
	set_true(o, "external", vol->external);
	set_map(o, "labels", &vol->labels);
	if (!json)
		add_extensions(o, vol->extensions);
	return o;
}

static int network_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_network *const *)a)->key,
		      (*(const struct compose_network *const *)b)->key);
}

static int volume_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compose_volume *const *)a)->key,
		      (*(const struct compose_volume *const *)b)->key);
}

/* The networks (or volumes) enabled services use, sorted by key. */
static size_t used_networks(const struct view *w, const struct compose_network ***out)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	const struct compose_network **v = xcalloc(w->p->nnetworks + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < w->p->nnetworks; i++) {
		if (names_has(&w->networks, w->p->networks[i].key))
			v[n++] = &w->p->networks[i];
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	qsort(v, n, sizeof(*v), network_cmp);
	*out = v;
	return n;
}

static size_t used_volumes(const struct view *w, const struct compose_volume ***out)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	const struct compose_volume **v = xcalloc(w->p->nvolumes + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < w->p->nvolumes; i++) {
		if (names_has(&w->volumes, w->p->volumes[i].key))
			v[n++] = &w->p->volumes[i];
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): elements are pointers, not structs */
	qsort(v, n, sizeof(*v), volume_cmp);
	*out = v;
	return n;
}

/* compose-go's FileObjectConfig (secrets, configs) in struct order */
static const char *const file_object_keys[] = {
    "name",   "file",   "environment", "content",         "external",
    "labels", "driver", "driver_opts", "template_driver", NULL,
};

/* One top-level section of p->other (secrets, configs, models ...) as compose prints
 * it: the entries enabled services use (secrets and configs), sorted, their keys in
 * struct order; NULL when nothing is left to print. */
static json_t *other_section(const struct view *w, const char *section, bool json)
{
	const json_t *src = json_object_get(w->p->other, section);
	const struct names *used = NULL;
	const char *key, **keys;
	json_t *o, *v;
	size_t n = 0;

	if (!json_is_object(src))
		return src != NULL ? json_incref((json_t *)src) : NULL;
	if (strcmp(section, "secrets") == 0)
		used = &w->secrets;
	else if (strcmp(section, "configs") == 0)
		used = &w->configs;
	keys = xcalloc(json_object_size(src) + 1, sizeof(*keys));
	json_object_foreach((json_t *)src, key, v)
	{
		if (used == NULL || names_has(used, key))
			keys[n++] = key;
	}
	qsort(keys, n, sizeof(*keys), str_cmp);
	o = json_object();
	for (size_t i = 0; i < n; i++) {
		const json_t *entry = json_object_get(src, keys[i]);

		if (json_is_object(entry) && used != NULL) {
			json_t *e = json_object(), *full = json_deep_copy(entry);

			/* compose names them like volumes: <project>_<key>, or the key when
			 * external */
			if (json_object_get(full, "name") == NULL) {
				if (json_is_true(json_object_get(full, "external")))
					json_object_set_new(full, "name", jstr(keys[i]));
				else
					json_object_set_new(
					    full, "name",
					    json_sprintf("%s_%s", w->p->name, keys[i]));
			}
			/* a relative file is relative to the project directory */
			v = json_object_get(full, "file");
			if (json_is_string(v) && json_string_value(v)[0] != '/' &&
			    w->p->working_dir != NULL) {
				const char *f = json_string_value(v);

				if (strncmp(f, "./", 2) == 0)
					f += 2;
				json_object_set_new(full, "file",
						    json_sprintf("%s/%s", w->p->working_dir, f));
			}
			add_ordered(e, full, file_object_keys, json);
			json_decref(full);
			json_object_set_new(o, keys[i], e);
		} else {
			json_object_set(o, keys[i], (json_t *)entry);
		}
	}
	free(keys);
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The top-level sections of p->other in Project's struct order, then any others. */
static const char *const project_other_keys[] = {"secrets", "configs", "models", NULL};

/* ---- the two documents ------------------------------------------------------------ */

/* go-yaml: name, services, networks, volumes, secrets, configs, then the extensions. */
static void print_yaml(struct px_buf *b, const struct view *w)
{
	const struct compose_network **nets = NULL;
	const struct compose_volume **vols = NULL;
	size_t nnets = used_networks(w, &nets), nvols = used_volumes(w, &vols);
	json_t *v, *ext;
	const char *key;

	if (w->p->name != NULL && w->p->name[0] != '\0') {
		v = jstr(w->p->name);
		yaml_entry(b, "name", v, 0);
		json_decref(v);
	}
	/* services is no omitempty field: an empty project still prints it */
	px_buf_adds(b, w->nservices == 0 ? "services: {}\n" : "services:\n");
	/* one entry at a time: the tree of the whole project is never held */
	for (size_t i = 0; i < w->nservices; i++) {
		v = service_node(w->services[i], false);
		yaml_entry(b, w->services[i]->name, v, 2);
		json_decref(v);
	}
	if (nnets > 0)
		px_buf_adds(b, "networks:\n");
	for (size_t i = 0; i < nnets; i++) {
		v = network_node(nets[i], false);
		yaml_entry(b, nets[i]->key, v, 2);
		json_decref(v);
	}
	if (nvols > 0)
		px_buf_adds(b, "volumes:\n");
	for (size_t i = 0; i < nvols; i++) {
		v = volume_node(vols[i], false);
		yaml_entry(b, vols[i]->key, v, 2);
		json_decref(v);
	}
	if (json_is_object(w->p->other)) {
		json_t *o = json_object();

		add_ordered(o, w->p->other, project_other_keys, true);
		json_object_foreach(o, key, v)
		{
			json_t *sec = other_section(w, key, false);

			if (sec != NULL)
				yaml_entry(b, key, sec, 0);
			json_decref(sec);
		}
		json_decref(o);
	}
	ext = json_object();
	add_extensions(ext, w->p->extensions);
	json_object_foreach(ext, key, v)
	{
		yaml_entry(b, key, v, 0);
	}
	json_decref(ext);
	free(nets);
	free(vols);
}

/* encoding/json of a map: keys sorted, "key": value, two-space indent. */
static void json_key(struct px_buf *b, const char *key, int col, bool *first)
{
	json_t *k = jstr(key);

	px_buf_adds(b, *first ? "\n" : ",\n");
	*first = false;
	indent(b, col);
	json_append(b, k, col, 0);
	px_buf_adds(b, ": ");
	json_decref(k);
}

static void json_close(struct px_buf *b, int col, bool empty, char c)
{
	if (!empty) {
		px_buf_addch(b, '\n');
		indent(b, col);
	}
	px_buf_addch(b, c);
}

/* One top-level key of the JSON document: a section printed entry by entry, or a
 * ready value (a p->other section, an extension). */
struct json_top {
	const char *key;
	int section; /* 0: value; 1 networks, 2 services, 3 volumes */
	json_t *value;
};

static int json_top_cmp(const void *a, const void *b)
{
	return strcmp(((const struct json_top *)a)->key, ((const struct json_top *)b)->key);
}

/* compose-go's Project.MarshalJSON builds one map, so its keys come sorted: configs,
 * name, networks, secrets, services, volumes, x-... (sections only when not empty,
 * services always). */
static void print_json(struct px_buf *b, const struct view *w)
{
	const struct compose_network **nets = NULL;
	const struct compose_volume **vols = NULL;
	size_t nnets = used_networks(w, &nets), nvols = used_volumes(w, &vols), ntop = 0;
	struct json_top *top;
	json_t *v, *ext = json_object();
	const char *key;
	bool first = true, inner;

	add_extensions(ext, w->p->extensions);
	top = xcalloc(8 + json_object_size(ext) +
			  (json_is_object(w->p->other) ? json_object_size(w->p->other) : 0),
		      sizeof(*top));
	top[ntop++] = (struct json_top){"name", 0, jstr(w->p->name ? w->p->name : "")};
	if (nnets > 0)
		top[ntop++] = (struct json_top){"networks", 1, NULL};
	top[ntop++] = (struct json_top){"services", 2, NULL};
	if (nvols > 0)
		top[ntop++] = (struct json_top){"volumes", 3, NULL};
	if (json_is_object(w->p->other)) {
		json_object_foreach(w->p->other, key, v)
		{
			json_t *sec = other_section(w, key, true);

			if (sec != NULL)
				top[ntop++] = (struct json_top){key, 0, sec};
		}
	}
	json_object_foreach(ext, key, v)
	{
		top[ntop++] = (struct json_top){key, 0, json_incref(v)};
	}
	qsort(top, ntop, sizeof(*top), json_top_cmp);

	px_buf_addch(b, '{');
	for (size_t t = 0; t < ntop; t++) {
		json_key(b, top[t].key, 2, &first);
		inner = true;
		switch (top[t].section) {
		case 0:
			json_append_node(b, top[t].value, 2);
			continue;
		case 1:
			px_buf_addch(b, '{');
			for (size_t i = 0; i < nnets; i++) {
				json_key(b, nets[i]->key, 4, &inner);
				json_append_node(b, network_node(nets[i], true), 4);
			}
			break;
		case 2:
			px_buf_addch(b, '{');
			for (size_t i = 0; i < w->nservices; i++) {
				json_key(b, w->services[i]->name, 4, &inner);
				json_append_node(b, service_node(w->services[i], true), 4);
			}
			break;
		case 3:
			px_buf_addch(b, '{');
			for (size_t i = 0; i < nvols; i++) {
				json_key(b, vols[i]->key, 4, &inner);
				json_append_node(b, volume_node(vols[i], true), 4);
			}
			break;
		}
		json_close(b, 2, inner, '}');
	}
	/* encoding/json ends without a newline, and so does compose's output */
	json_close(b, 0, false, '}');
	json_decref(ext);
	free(top);
	free(nets);
	free(vols);
}

/* compose's config command doubles every '$' of its output so that the printed file,
 * loaded again, interpolates to the same values. */
static int write_escaped(FILE *out, const struct px_buf *b, struct px_error *err)
{
	const char *p = px_buf_cstr(b), *end = p + b->len, *d;

	while (p < end) {
		d = memchr(p, '$', (size_t)(end - p));
		if (d == NULL) {
			if (fwrite(p, 1, (size_t)(end - p), out) != (size_t)(end - p))
				goto fail;
			break;
		}
		if (fwrite(p, 1, (size_t)(d - p) + 1, out) != (size_t)(d - p) + 1 ||
		    fputc('$', out) == EOF)
			goto fail;
		p = d + 1;
	}
	if (fflush(out) != 0)
		goto fail;
	return 0;
fail:
	return px_error_set(err, errno, "cannot write the configuration");
}

int compose_print(FILE *out, const struct compose_project *p, enum compose_format format,
		  struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;
	struct view w;
	int rc = -1;

	if (view_init(&w, p, err) < 0)
		goto out;
	if (format == COMPOSE_FORMAT_JSON)
		print_json(&b, &w);
	else
		print_yaml(&b, &w);
	rc = write_escaped(out, &b, err);
out:
	view_release(&w);
	px_buf_release(&b);
	return rc;
}

/* ---- --services and --volumes ------------------------------------------------------ */

/* Index of the enabled service name in w->services, or w->nservices. */
static size_t enabled_index(const struct view *w, const char *name)
{
	size_t lo = 0, hi = w->nservices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->services[mid]->name, name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return w->nservices;
}

/* A binary min-heap of service indices: the lowest name among the ready ones goes first. */
struct heap {
	size_t *v, n;
};

static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++;

	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->n], i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= x)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	h->v[i] = x;
	return top;
}

static int write_plain(FILE *out, const struct px_buf *b, struct px_error *err)
{
	if ((b->len > 0 && fwrite(b->data, 1, b->len, out) != b->len) || fflush(out) != 0)
		return px_error_set(err, errno, "cannot write the list");
	return 0;
}

int compose_print_services(FILE *out, const struct compose_project *p, struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;
	struct heap ready = {NULL, 0};
	size_t *indeg = NULL, *start = NULL, *users = NULL, n, nedges = 0, printed = 0;
	struct view w;
	int rc = -1;

	if (view_init(&w, p, err) < 0)
		goto out;
	n = w.nservices;
	/* dependencies first, as compose walks its graph (Kahn's algorithm); among the ready
	 * ones the lowest name, so the order is stable where compose's is random.  The edges
	 * d -> s (s depends on d) are kept per d in users[start[d] .. start[d + 1]). */
	indeg = xcalloc(n + 1, sizeof(*indeg));
	start = xcalloc(n + 2, sizeof(*start));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < w.services[i]->ndepends_on; j++) {
			size_t d = enabled_index(&w, w.services[i]->depends_on[j].service);

			if (d < n && d != i) {
				start[d + 1]++;
				indeg[i]++;
				nedges++;
			}
		}
	}
	for (size_t d = 0; d < n; d++)
		start[d + 1] += start[d];
	users = xcalloc(nedges + 1, sizeof(*users));
	{
		size_t *fill = xcalloc(n + 1, sizeof(*fill));

		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < w.services[i]->ndepends_on; j++) {
				size_t d = enabled_index(&w, w.services[i]->depends_on[j].service);

				if (d < n && d != i)
					users[start[d] + fill[d]++] = i;
			}
		}
		free(fill);
	}
	ready.v = xcalloc(n + 1, sizeof(*ready.v));
	for (size_t i = 0; i < n; i++) {
		if (indeg[i] == 0)
			heap_push(&ready, i);
	}
	while (printed < n) {
		size_t i;

		if (ready.n == 0) {
			/* a cycle the loader let through: go on with the lowest name left */
			for (i = 0; indeg[i] == SIZE_MAX || indeg[i] == 0; i++)
				;
			indeg[i] = 0;
			heap_push(&ready, i);
		}
		i = heap_pop(&ready);
		indeg[i] = SIZE_MAX; /* printed */
		printed++;
		px_buf_addf(&b, "%s\n", w.services[i]->name);
		for (size_t e = start[i]; e < start[i + 1]; e++) {
			if (indeg[users[e]] != SIZE_MAX && --indeg[users[e]] == 0)
				heap_push(&ready, users[e]);
		}
	}
	rc = write_plain(out, &b, err);
out:
	free(ready.v);
	free(indeg);
	free(start);
	free(users);
	view_release(&w);
	px_buf_release(&b);
	return rc;
}

int compose_print_volumes(FILE *out, const struct compose_project *p, struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;
	const struct compose_volume **vols = NULL;
	struct view w;
	size_t n;
	int rc = -1;

	if (view_init(&w, p, err) < 0)
		goto out;
	n = used_volumes(&w, &vols);
	for (size_t i = 0; i < n; i++)
		px_buf_addf(&b, "%s\n", vols[i]->key);
	rc = write_plain(out, &b, err);
out:
	free(vols);
	view_release(&w);
	px_buf_release(&b);
	return rc;
}
