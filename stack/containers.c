/* containers.c - the engine calls the lifecycle shares: the project's containers, rename,
 * and a failed container's last log lines for the error that names it. */
#include "stack/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int stack_list_containers(struct engine *e, const char *project, json_t **out, struct px_error *err)
{
	char *filter;
	int rc;

	xasprintf(&filter, "%s=%s", STACK_LABEL_PROJECT, project);
	rc = engine_container_list(e, filter, true, out, err);
	free(filter);
	return rc;
}

int stack_parse_int(const char *s, int fallback)
{
	char *end = NULL;
	long v;

	if (s == NULL)
		return fallback;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno != 0 || v < INT_MIN || v > INT_MAX)
		return fallback;
	return (int)v;
}

char *stack_progress_id(const char *kind, const char *name)
{
	char *s;

	xasprintf(&s, "%s %s", kind, name[0] == '/' ? name + 1 : name);
	return s;
}

int stack_container_rename(struct engine *e, const char *id, const char *name, struct px_error *err)
{
	char *path;
	int rc;

	/* container ids are hex and compose names [a-zA-Z0-9_.-]: nothing to escape */
	xasprintf(&path, "/containers/%s/rename?name=%s", id, name);
	rc = engine_request(e, "POST", path, NULL, NULL, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot rename container '%s' to '%s'", id, name);
	free(path);
	return rc;
}

/* Keep the last n lines of b. */
static const char *last_lines(const struct px_buf *b, int n)
{
	const char *s = px_buf_cstr(b);
	size_t len = b->len;

	while (len > 0 && s[len - 1] == '\n')
		len--;
	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == '\n' && --n == 0)
			return s + i;
	}
	return s;
}

char *stack_last_logs(struct engine *e, const char *id, int n)
{
	struct px_buf both = PX_BUF_INIT, out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	const char *p;

	/* one buffer for both streams keeps the lines roughly in order */
	if (engine_container_logs(e, id, true, true, n, &both, &both, &err) < 0) {
		px_error_clear(&err);
		px_buf_release(&both);
		return xstrdup("");
	}
	px_buf_rtrim(&both);
	for (p = last_lines(&both, n); *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		px_buf_adds(&out, "  ");
		px_buf_add(&out, p, len);
		px_buf_addch(&out, '\n');
		p += len + (nl != NULL);
	}
	px_buf_rtrim(&out);
	px_buf_release(&both);
	return px_buf_detach(&out, NULL);
}

void stack_error_add_logs(struct px_error *err, struct engine *e, const char *id,
			  const char *service)
{
	char *logs = stack_last_logs(e, id, 10);
	char *msg;

	if (logs[0] != '\0') {
		xasprintf(&msg, "%s\nlast log lines of '%s':\n%s", px_error_msg(err), service,
			  logs);
		free(err->msg);
		err->msg = msg;
	}
	free(logs);
}

bool stack_serves(const json_t *c, const char *service)
{
	const json_t *labels = json_object_get(c, "Labels");
	const char *svc = json_string_value(json_object_get(labels, STACK_LABEL_SERVICE));
	const char *oneoff = json_string_value(json_object_get(labels, STACK_LABEL_ONEOFF));
	const char *state = json_string_value(json_object_get(c, "State"));

	return svc != NULL && strcmp(svc, service) == 0 && state != NULL &&
	       strcmp(state, "running") == 0 && (oneoff == NULL || strcmp(oneoff, "True") != 0);
}
