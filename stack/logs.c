/* logs.c - the logs of a project's containers up to now, as one stream in time order:
 * every container's lines are read with their engine timestamps and merged, so what
 * happened first is printed first (compose prints each container's block as its
 * goroutine gets to it).  Following from there on is follow.c's work. */
#include "stack/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/xmalloc.h"

/*
 * --since / --until
 */

/* A Go duration ("1h30m", "1.5h", "300ms", "10m"): the units time.ParseDuration knows. */
static int parse_duration_ns(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
	    {"ns", 1},         {"us", 1e3},  {"\xc2\xb5s", 1e3}, {"ms", 1e6},
	    {"s", 1e9},        {"m", 60e9},  {"h", 3600e9},
	};
	double total = 0;
	const char *p = s;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		char num[32], *end;
		double v;
		size_t best = 0, unit = 0, k, n = strspn(p, "0123456789.");

		/* digits and one point only: strtod alone would take "0x1p3" or "1e9" */
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, p, n);
		num[n] = '\0';
		v = strtod(num, &end);
		if (*end != '\0')
			return -1;
		p += n;
		/* the longest unit that matches: "ms" before "m" */
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t len = strlen(units[k].unit);

			if (strncmp(p, units[k].unit, len) == 0 && len > best) {
				best = len;
				unit = k;
			}
		}
		if (best == 0)
			return -1;
		total += v * units[unit].ns;
		p += best;
	}
	if (total > 9.2e18)
		return -1;
	*out = (int64_t)(total + 0.5);
	return 0;
}

int stack_parse_log_time(const char *s, int64_t now_ns, int64_t *out, struct px_error *err)
{
	int64_t d;
	struct tm tm = {0};
	const char *p;

	if (s == NULL || *s == '\0')
		goto bad;
	/* a unix timestamp, seconds with an optional fraction */
	if (isdigit((unsigned char)s[0]) && strspn(s, "0123456789.") == strlen(s) &&
	    strchr(s, '.') == strrchr(s, '.') && strlen(s) >= 9) {
		char *end;
		long double v = strtold(s, &end);

		*out = (int64_t)(v * 1e9L);
		return 0;
	}
	/* a duration back from now: "10m", "1h30m" */
	if (parse_duration_ns(s, &d) == 0) {
		*out = now_ns - d;
		return 0;
	}
	/* RFC 3339 ("2025-01-02T15:04:05Z", fraction and offset allowed) */
	d = stack_parse_time_ns(s);
	if (d > 0 && (strchr(s, 'Z') != NULL || strchr(s + 10, '+') != NULL ||
		      strchr(s + 10, '-') != NULL)) {
		*out = d;
		return 0;
	}
	/* without a zone ("2025-01-02T15:04:05", "2025-01-02"): local time, as docker reads it */
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%d", &tm);
	}
	if (p != NULL && *p == '\0') {
		time_t t;

		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t > 0) {
			*out = (int64_t)t * 1000000000;
			return 0;
		}
	}
bad:
	return px_error_set(err, 0,
			    "invalid time '%s': use a duration back from now (10m, 1h30m), an "
			    "RFC 3339 time (2025-01-02T15:04:05Z), a date (2025-01-02) or unix "
			    "seconds",
			    s != NULL ? s : "");
}

/*
 * Reading and merging
 */

char *stack_log_prefix(const char *project, const char *name, const char *service)
{
	size_t plen = strlen(project);

	if (name == NULL)
		return xstrdup(service != NULL ? service : "?");
	if (name[0] == '/')
		name++;
	/* compose shows "app-1" for "<project>-app-1" */
	if (strncmp(name, project, plen) == 0 && name[plen] == '-' && name[plen + 1] != '\0')
		name += plen + 1;
	return xstrdup(name);
}

struct line {
	int64_t t;
	size_t container, seq;
	size_t off, len; /* in the container's text */
};

struct source {
	char *id;
	char *prefix;
	struct px_buf text;
};

struct reader {
	struct source *src;
	size_t index;
	struct line *lines;
	size_t n, cap;
	bool timestamps;
};

static int on_line(void *data, int stream, const char *line, size_t len)
{
	struct reader *r = data;
	const char *text;
	size_t text_len;
	int64_t t = stack_split_stamp(line, len, &text, &text_len);
	struct line *l;

	(void)stream;
	if (!r->timestamps) {
		line = text;
		len = text_len;
	}
	if (r->n == r->cap) {
		r->cap = r->cap != 0 ? r->cap * 2 : 256;
		r->lines = xreallocarray(r->lines, r->cap, sizeof(*r->lines));
	}
	l = &r->lines[r->n++];
	l->t = t;
	l->container = r->index;
	l->seq = r->n;
	l->off = r->src->text.len;
	l->len = len;
	px_buf_add(&r->src->text, line, len);
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->container != y->container)
		return x->container < y->container ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool wanted(const struct stack_logs_opts *o, const char *service)
{
	if (o->nservices == 0)
		return true;
	for (size_t k = 0; k < o->nservices; k++) {
		if (service != NULL && strcmp(o->services[k], service) == 0)
			return true;
	}
	return false;
}

int stack_logs(struct stack *st, const struct stack_logs_opts *o, struct px_error *err)
{
	struct reader r = {.timestamps = o->timestamps};
	struct source *src = NULL;
	json_t *list = NULL, *c;
	size_t i, nsrc = 0;

	for (size_t k = 0; k < o->nservices; k++) {
		if (compose_project_service(st->project, o->services[k]) == NULL)
			return px_error_set(err, 0, "no such service: '%s'", o->services[k]);
	}
	if (stack_list_containers(st->engine, st->project->name, &list, err) < 0)
		return -1;
	src = xcalloc(json_array_size(list) + 1, sizeof(*src));
	json_array_foreach(list, i, c)
	{
		const json_t *labels = json_object_get(c, "Labels");
		const char *svc = json_string_value(json_object_get(labels, STACK_LABEL_SERVICE));
		const char *oneoff = json_string_value(json_object_get(labels, STACK_LABEL_ONEOFF));
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (id == NULL || !wanted(o, svc) || (oneoff != NULL && strcmp(oneoff, "True") == 0))
			continue;
		src[nsrc].id = xstrdup(id);
		src[nsrc].prefix = stack_log_prefix(st->project->name, name, svc);
		nsrc++;
	}
	for (i = 0; i < nsrc; i++) {
		struct engine_logs_opts lo = {
		    .timestamps = true, /* the merge key; dropped again unless asked for */
		    .want_stdout = true,
		    .want_stderr = true,
		    .tail = o->tail,
		    .since_ns = o->since_ns,
		    .until_ns = o->until_ns,
		};
		struct px_error lerr = PX_ERROR_INIT;

		r.src = &src[i];
		r.index = i;
		if (engine_container_logs_stream(st->engine, src[i].id, &lo, on_line, &r, &lerr) <
		    0) {
			/* removed since the list: nothing of it to show */
			px_debug("logs of %s: %s", src[i].prefix, px_error_msg(&lerr));
			px_error_clear(&lerr);
		}
	}
	/* each container's lines are in order already; the sort interleaves them by time and
	 * keeps each container's own order among equal stamps */
	if (r.n > 0)
		qsort(r.lines, r.n, sizeof(*r.lines), line_cmp);
	for (i = 0; i < r.n; i++) {
		const struct line *l = &r.lines[i];
		const struct source *s = &src[l->container];

		px_log_output(o->no_prefix ? NULL : s->prefix, s->text.data + l->off, l->len);
	}
	for (i = 0; i < nsrc; i++) {
		free(src[i].id);
		free(src[i].prefix);
		px_buf_release(&src[i].text);
	}
	free(src);
	free(r.lines);
	json_decref(list);
	return 0;
}
