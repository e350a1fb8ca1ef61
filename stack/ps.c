/* ps.c - `ps`: the project's containers summarised as compose ps summarises them, from
 * one container list call (no inspect per container), as a table or JSON lines. */
#include "stack/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *label(const json_t *c, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

char *stack_human_duration(int64_t secs)
{
	int64_t minutes = secs / 60, hours = (secs + 1800) / 3600;
	char *s;

	if (secs < 1)
		return xstrdup("Less than a second");
	if (secs == 1)
		return xstrdup("1 second");
	if (secs < 60)
		xasprintf(&s, "%lld seconds", (long long)secs);
	else if (minutes == 1)
		return xstrdup("About a minute");
	else if (minutes < 60)
		xasprintf(&s, "%lld minutes", (long long)minutes);
	else if (hours == 1)
		return xstrdup("About an hour");
	else if (hours < 48)
		xasprintf(&s, "%lld hours", (long long)hours);
	else if (hours < (int64_t)24 * 7 * 2)
		xasprintf(&s, "%lld days", (long long)(hours / 24));
	else if (hours < (int64_t)24 * 30 * 2)
		xasprintf(&s, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < (int64_t)24 * 365 * 2)
		xasprintf(&s, "%lld months", (long long)(hours / 24 / 30));
	else
		xasprintf(&s, "%lld years", (long long)(secs / 3600 / 24 / 365));
	return s;
}

/* Go's time.Time.String() of a unix time, in local time: "2024-05-01 12:34:56 +0000 UTC". */
static char *created_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[80];

	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	return xstrdup(buf);
}

static int port_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	json_int_t px = json_integer_value(json_object_get(x, "PrivatePort"));
	json_int_t py = json_integer_value(json_object_get(y, "PrivatePort"));
	const char *ix = json_string_value(json_object_get(x, "IP")) ?: "";
	const char *iy = json_string_value(json_object_get(y, "IP")) ?: "";

	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(ix, iy);
}

/* The docker CLI's DisplayablePorts: "127.0.0.1:32768->5432/tcp, 8080/tcp". */
static char *display_ports(const json_t *ports)
{
	size_t n = json_array_size(ports);
	const json_t **v = xcalloc(n + 1, sizeof(const json_t *));
	struct px_buf b = PX_BUF_INIT, one = PX_BUF_INIT, last = PX_BUF_INIT;

	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(ports, i);
	qsort(v, n, sizeof(const json_t *), port_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *ip = json_string_value(json_object_get(v[i], "IP"));
		const char *type = json_string_value(json_object_get(v[i], "Type")) ?: "tcp";
		json_int_t priv = json_integer_value(json_object_get(v[i], "PrivatePort"));
		json_int_t pub = json_integer_value(json_object_get(v[i], "PublicPort"));

		px_buf_reset(&one);
		/* an IPv6 address stays bare (":::32768->5432/tcp"), as compose 2.26 prints it */
		if (pub != 0)
			px_buf_addf(&one, "%s:%lld->%lld/%s", ip ? ip : "", (long long)pub,
				    (long long)priv, type);
		else
			px_buf_addf(&one, "%lld/%s", (long long)priv, type);
		if (last.len > 0 && strcmp(px_buf_cstr(&last), px_buf_cstr(&one)) == 0)
			continue;
		px_buf_addf(&b, "%s%s", b.len > 0 ? ", " : "", px_buf_cstr(&one));
		px_buf_reset(&last);
		px_buf_adds(&last, px_buf_cstr(&one));
	}
	px_buf_release(&one);
	px_buf_release(&last);
	free(v);
	return px_buf_detach(&b, NULL);
}

/* "Up 3 minutes (healthy)" → "healthy"; compose takes it from inspect, the list's
 * status says the same. */
static const char *health_of(const char *state, const char *status)
{
	if (state == NULL || strcmp(state, "running") != 0 || status == NULL)
		return "";
	if (strstr(status, "(healthy)") != NULL)
		return "healthy";
	if (strstr(status, "(unhealthy)") != NULL)
		return "unhealthy";
	if (strstr(status, "(health: starting)") != NULL)
		return "starting";
	return "";
}

/* Display width of a UTF-8 string, in code points (what Go's tabwriter counts). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* The docker CLI's Ellipsis(strconv.Quote(...)): at most 20 code points, quoted. */
static char *command_cell(const char *cmd)
{
	struct px_buf b = PX_BUF_INIT;
	size_t n = 0;
	const char *p = cmd;

	px_buf_addch(&b, '"');
	if (width(cmd) <= 20) {
		px_buf_adds(&b, cmd);
	} else {
		for (; *p && n < 19; n++) {
			const char *q = p + 1;

			while (((unsigned char)*q & 0xc0) == 0x80)
				q++;
			px_buf_add(&b, p, (size_t)(q - p));
			p = q;
		}
		px_buf_adds(&b, "\u2026");
	}
	px_buf_addch(&b, '"');
	return px_buf_detach(&b, NULL);
}

static json_t *summary(const json_t *c, time_t now)
{
	const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
	const char *state = json_string_value(json_object_get(c, "State"));
	const char *status = json_string_value(json_object_get(c, "Status"));
	json_int_t created = json_integer_value(json_object_get(c, "Created"));
	const json_t *ports = json_object_get(c, "Ports");
	/* the iteration macros evaluate their object more than once: named first */
	json_t *labels_in = json_object_get(c, "Labels"), *mounts_in = json_object_get(c, "Mounts");
	json_t *networks = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
	json_t *o = json_object(), *pubs = json_array(), *p;
	struct px_buf labels = PX_BUF_INIT, mounts = PX_BUF_INIT, nets = PX_BUF_INIT;
	const char *k;
	json_t *v;
	size_t i;
	int local = 0, exit_code = 0;
	char *s;

	name = name != NULL ? (name[0] == '/' ? name + 1 : name) : "";
	if (state != NULL && (strcmp(state, "exited") == 0 || strcmp(state, "dead") == 0) &&
	    status != NULL && strchr(status, '(') != NULL)
		exit_code = stack_parse_int(strchr(status, '(') + 1, 0);
	/* compose's formatter quotes and truncates the command in JSON too */
	s = command_cell(json_string_value(json_object_get(c, "Command")) ?: "");
	json_object_set_new(o, "Command", json_string(s));
	free(s);
	json_object_set_new(o, "CreatedAt", json_string_nocheck((s = created_at(created))));
	free(s);
	json_object_set_new(o, "ExitCode", json_integer(exit_code));
	json_object_set_new(o, "Health", json_string(health_of(state, status)));
	json_object_set_new(o, "ID",
			    json_string(json_string_value(json_object_get(c, "Id")) ?: ""));
	json_object_set_new(o, "Image",
			    json_string(json_string_value(json_object_get(c, "Image")) ?: ""));
	json_object_foreach(labels_in, k, v)
	{
		px_buf_addf(&labels, "%s%s=%s", labels.len ? "," : "", k,
			    json_string_value(v) ?: "");
	}
	json_object_set_new(o, "Labels", json_string(px_buf_cstr(&labels)));
	json_array_foreach(mounts_in, i, p)
	{
		const char *mn = json_string_value(json_object_get(p, "Name"));
		const char *drv = json_string_value(json_object_get(p, "Driver"));

		if (mn == NULL || mn[0] == '\0')
			mn = json_string_value(json_object_get(p, "Source")) ?: "";
		px_buf_addf(&mounts, "%s%s", mounts.len ? "," : "", mn);
		local += drv != NULL && strcmp(drv, "local") == 0;
	}
	xasprintf(&s, "%d", local);
	json_object_set_new(o, "LocalVolumes", json_string(s));
	free(s);
	json_object_set_new(o, "Mounts", json_string(px_buf_cstr(&mounts)));
	json_object_set_new(o, "Name", json_string(name));
	json_object_set_new(o, "Names", json_string(name));
	json_object_foreach(networks, k, v)
	{
		px_buf_addf(&nets, "%s%s", nets.len ? "," : "", k);
	}
	json_object_set_new(o, "Networks", json_string(px_buf_cstr(&nets)));
	s = display_ports(ports);
	json_object_set_new(o, "Ports", json_string(s));
	free(s);
	json_object_set_new(o, "Project", json_string(label(c, STACK_LABEL_PROJECT) ?: ""));
	json_array_foreach(ports, i, p)
	{
		json_array_append_new(
		    pubs,
		    json_pack("{s:s, s:I, s:I, s:s}", "URL",
			      json_string_value(json_object_get(p, "IP")) ?: "", "TargetPort",
			      json_integer_value(json_object_get(p, "PrivatePort")),
			      "PublishedPort", json_integer_value(json_object_get(p, "PublicPort")),
			      "Protocol", json_string_value(json_object_get(p, "Type")) ?: "tcp"));
	}
	/* Go marshals an empty slice left nil as null */
	json_object_set_new(o, "Publishers", json_array_size(pubs) > 0 ? pubs : json_null());
	if (json_array_size(pubs) == 0)
		json_decref(pubs);
	s = stack_human_duration((int64_t)now - (int64_t)created);
	{
		char *ago;

		xasprintf(&ago, "%s ago", s);
		json_object_set_new(o, "RunningFor", json_string(ago));
		free(ago);
	}
	free(s);
	json_object_set_new(o, "Service", json_string(label(c, STACK_LABEL_SERVICE) ?: ""));
	json_object_set_new(o, "Size", json_string("0B"));
	json_object_set_new(o, "State", json_string(state ?: ""));
	json_object_set_new(o, "Status", json_string(status ?: ""));
	px_buf_release(&labels);
	px_buf_release(&mounts);
	px_buf_release(&nets);
	return o;
}

static int summary_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "Name")),
		      json_string_value(json_object_get(y, "Name")));
}

json_t *stack_ps_summaries(const json_t *containers, bool all, char *const *services, size_t n,
			   time_t now)
{
	size_t nc = json_array_size(containers), m = 0;
	json_t **v = xcalloc(nc + 1, sizeof(json_t *)), *out = json_array();

	for (size_t i = 0; i < nc; i++) {
		const json_t *c = json_array_get(containers, i);
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *svc = label(c, STACK_LABEL_SERVICE);
		const char *oneoff = label(c, STACK_LABEL_ONEOFF);
		bool want = n == 0;

		/* compose: stopped containers and one-offs only with --all */
		if (!all && ((state != NULL && strcmp(state, "running") != 0 &&
			      strcmp(state, "restarting") != 0 && strcmp(state, "paused") != 0) ||
			     (oneoff != NULL && strcmp(oneoff, "True") == 0)))
			continue;
		for (size_t k = 0; k < n && !want; k++)
			want = svc != NULL && strcmp(svc, services[k]) == 0;
		if (want)
			v[m++] = summary(c, now);
	}
	qsort(v, m, sizeof(json_t *), summary_cmp);
	for (size_t i = 0; i < m; i++)
		json_array_append_new(out, v[i]);
	free(v);
	return out;
}

int stack_ps(struct stack *st, bool all, char *const *services, size_t n, json_t **out,
	     struct px_error *err)
{
	json_t *containers = NULL;

	for (size_t k = 0; k < n; k++) {
		if (compose_project_service(st->project, services[k]) == NULL)
			return px_error_set(err, 0, "no such service: '%s'", services[k]);
	}
	if (stack_list_containers(st->engine, st->project->name, &containers, err) < 0)
		return -1;
	*out = stack_ps_summaries(containers, all, services, n, time(NULL));
	json_decref(containers);
	return 0;
}

void stack_ps_print_table(FILE *out, const json_t *summaries)
{
	static const char *const heads[] = {"NAME",    "IMAGE",  "COMMAND", "SERVICE",
					    "CREATED", "STATUS", "PORTS"};
	enum { NCOL = 7 };
	size_t rows = json_array_size(summaries), w[NCOL];
	char ***cells = xcalloc(rows + 1, sizeof(*cells));

	for (size_t c = 0; c < NCOL; c++)
		w[c] = width(heads[c]);
	for (size_t r = 0; r < rows; r++) {
		const json_t *s = json_array_get(summaries, r);

		cells[r] = xcalloc(NCOL, sizeof(char *));
		cells[r][0] = xstrdup(json_string_value(json_object_get(s, "Name")) ?: "");
		cells[r][1] = xstrdup(json_string_value(json_object_get(s, "Image")) ?: "");
		cells[r][2] = xstrdup(json_string_value(json_object_get(s, "Command")) ?: "");
		cells[r][3] = xstrdup(json_string_value(json_object_get(s, "Service")) ?: "");
		cells[r][4] = xstrdup(json_string_value(json_object_get(s, "RunningFor")) ?: "");
		cells[r][5] = xstrdup(json_string_value(json_object_get(s, "Status")) ?: "");
		cells[r][6] = xstrdup(json_string_value(json_object_get(s, "Ports")) ?: "");
		for (size_t c = 0; c < NCOL; c++)
			w[c] = width(cells[r][c]) > w[c] ? width(cells[r][c]) : w[c];
	}
	/* tabwriter(minwidth 10, padding 3) as the docker CLI's formatter sets it */
	for (size_t c = 0; c < NCOL; c++)
		w[c] = w[c] + 3 < 10 ? 10 : w[c] + 3;
	for (size_t r = 0; r <= rows; r++) {
		for (size_t c = 0; c < NCOL; c++) {
			const char *t = r == 0 ? heads[c] : cells[r - 1][c];

			if (c == NCOL - 1)
				fprintf(out, "%s\n", t);
			else
				fprintf(out, "%s%*s", t, (int)(w[c] - width(t)), "");
		}
	}
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < NCOL; c++)
			free(cells[r][c]);
		free(cells[r]);
	}
	free(cells);
}

void stack_ps_print_json(FILE *out, const json_t *summaries)
{
	size_t i;
	json_t *s;

	json_array_foreach(summaries, i, s)
	{
		json_t *copy = json_copy(s);
		char *id = xstrndup(json_string_value(json_object_get(s, "ID")) ?: "", 12);
		char *line;

		/* the short id, as the docker CLI's formatter truncates it */
		json_object_set_new(copy, "ID", json_string(id));
		line = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(copy);
		free(id);

		if (line != NULL)
			fprintf(out, "%s\n", line);
		free(line);
	}
}
