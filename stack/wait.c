/* wait.c - waiting for a container to become healthy or to exit, on the engine's event
 * stream (health_status, die) rather than by polling inspect, with a deadline. */
#include "stack/internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t stack_parse_time_ns(const char *s)
{
	struct tm tm = {0};
	int64_t ns = 0, scale = 100000000;
	const char *p;
	time_t secs;

	if (s == NULL)
		return 0;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return 0;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	secs = timegm(&tm);
	/* the engine speaks UTC ("Z"); an offset, should one come, is applied */
	if (*p == '+' || *p == '-') {
		int hh = stack_parse_int(p + 1, 0);
		const char *colon = strchr(p, ':');
		int mm = colon != NULL ? stack_parse_int(colon + 1, 0) : 0;

		secs -= (*p == '+' ? 1 : -1) * ((time_t)hh * 3600 + (time_t)mm * 60);
	}
	/* the zero time ("0001-01-01T00:00:00Z") of a container never started */
	if (secs <= 0 || secs > INT64_MAX / 1000000000 - 1)
		return 0; /* before 1970, or past 2262 (int64 ns) */
	return (int64_t)secs * 1000000000 + ns;
}

int64_t stack_split_stamp(const char *line, size_t len, const char **rest, size_t *rest_len)
{
	const char *sp = memchr(line, ' ', len);
	char stamp[64];
	int64_t t;

	*rest = line;
	*rest_len = len;
	if (sp == NULL || (size_t)(sp - line) >= sizeof(stamp))
		return 0;
	memcpy(stamp, line, (size_t)(sp - line));
	stamp[sp - line] = '\0';
	t = stack_parse_time_ns(stamp);
	if (t > 0) {
		*rest = sp + 1;
		*rest_len = len - (size_t)(sp + 1 - line);
	}
	return t;
}

struct waiter {
	const char *id;
	enum stack_wait_for what;
	int64_t from_ns; /* events before the container's start are history */
	bool done, failed;
	int exit_code;
	char *why; /* failed: what happened */
};

static int on_event(void *data, const json_t *ev)
{
	struct waiter *w = data;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const json_t *actor = json_object_get(ev, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	json_int_t t = json_integer_value(json_object_get(ev, "timeNano"));

	if (action == NULL || id == NULL || strcmp(id, w->id) != 0)
		return 0;
	if (t != 0 && t < w->from_ns)
		return 0;
	if (strcmp(action, "die") == 0) {
		const char *code = json_string_value(
		    json_object_get(json_object_get(actor, "Attributes"), "exitCode"));

		w->exit_code = stack_parse_int(code, -1);
		if (w->what == STACK_WAIT_EXITED) {
			w->done = true;
		} else {
			w->failed = true;
			xasprintf(&w->why, "exited (%d)", w->exit_code);
		}
		return 1;
	}
	if (w->what == STACK_WAIT_HEALTHY && strncmp(action, "health_status", 13) == 0) {
		const char *st = strchr(action, ':');

		st = st != NULL ? st + 1 : "";
		while (*st == ' ')
			st++;
		if (strcmp(st, "healthy") == 0) {
			w->done = true;
			return 1;
		}
		if (strcmp(st, "unhealthy") == 0) {
			w->failed = true;
			w->why = xstrdup("is unhealthy");
			return 1;
		}
	}
	return 0;
}

/* What inspect says already: 1 done, -1 failed (why set), 0 keep waiting. */
static int judge_state(struct waiter *w, const json_t *info, bool *no_health)
{
	const json_t *state = json_object_get(info, "State");
	const char *status = json_string_value(json_object_get(state, "Status"));
	const json_t *health = json_object_get(state, "Health");
	const char *hs = json_string_value(json_object_get(health, "Status"));

	*no_health = health == NULL || hs == NULL || strcmp(hs, "") == 0;
	if (status != NULL && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0)) {
		w->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
		if (w->what == STACK_WAIT_EXITED)
			return 1;
		xasprintf(&w->why, "exited (%d)", w->exit_code);
		return -1;
	}
	if (status != NULL && strcmp(status, "created") == 0) {
		xasprintf(&w->why, "was never started");
		return -1;
	}
	if (w->what == STACK_WAIT_HEALTHY) {
		if (*no_health) {
			w->why = xstrdup("has no healthcheck configured");
			return -1;
		}
		if (strcmp(hs, "healthy") == 0)
			return 1;
		if (strcmp(hs, "unhealthy") == 0) {
			w->why = xstrdup("is unhealthy");
			return -1;
		}
	}
	return 0;
}

int stack_wait_container(struct engine *e, const char *id, const char *service,
			 enum stack_wait_for what, int64_t deadline, int *exit_code,
			 struct px_error *err)
{
	struct waiter w = {.id = id, .what = what};
	json_t *info = NULL;
	char *name = NULL, *filter = NULL;
	const char *cid, *project;
	bool no_health = false;
	int64_t since;
	int rc, ret = -1;

	rc = engine_container_inspect(e, id, &info, err);
	if (rc == ENGINE_NOT_FOUND)
		px_error_set(err, 0, "service '%s': container '%s' is gone", service, id);
	if (rc != 0)
		goto out;
	cid = json_string_value(json_object_get(info, "Id"));
	w.id = cid != NULL ? cid : id;
	name = xstrdup(json_string_value(json_object_get(info, "Name")) ?: id);
	w.from_ns = stack_parse_time_ns(
	    json_string_value(json_object_get(json_object_get(info, "State"), "StartedAt")));
	rc = judge_state(&w, info, &no_health);
	if (rc > 0)
		goto done;
	if (rc < 0)
		goto failed;

	/* the stream replays from the container's start, so nothing between the inspect
	 * above and the subscription is lost */
	since = w.from_ns > 0 ? w.from_ns / 1000000000 : (int64_t)time(NULL) - 1;
	project = json_string_value(json_object_get(
	    json_object_get(json_object_get(info, "Config"), "Labels"), STACK_LABEL_PROJECT));
	if (project != NULL)
		xasprintf(&filter, "%s=%s", STACK_LABEL_PROJECT, project);
	if (deadline > 0 && deadline <= since)
		deadline = since + 1;
	rc = engine_events(e, filter, since, deadline, on_event, &w, err);
	if (rc < 0)
		goto out;
	if (w.failed)
		goto failed;
	if (!w.done) {
		if (rc == 1 && !w.done) {
			px_error_set(err, ECANCELED, "service '%s': interrupted", service);
			goto out;
		}
		px_error_set(err, ETIMEDOUT, "service '%s': container %s is not %s in time",
			     service, name[0] == '/' ? name + 1 : name,
			     what == STACK_WAIT_HEALTHY ? "healthy" : "done");
		goto out;
	}
done:
	if (exit_code != NULL)
		*exit_code = w.exit_code;
	ret = 0;
	goto out;
failed:
	px_error_set(err, 0, "service '%s': container %s %s", service,
		     name[0] == '/' ? name + 1 : name, w.why);
out:
	free(w.why);
	free(filter);
	free(name);
	json_decref(info);
	return ret;
}
