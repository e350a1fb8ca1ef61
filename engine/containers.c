/* containers.c - containers through the Engine API: create, start, stop, restart, kill, remove,
 * inspect, wait, list, and logs with the demultiplexer for non-TTY output streams. */
#include "engine/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xmalloc.h"

/* "/containers/<escaped id><suffix>", owned.  The engine lists names as "/name"; that
 * form is accepted too (an escaped slash would make the engine redirect). */
static char *container_path(const char *id, const char *suffix)
{
	char *esc = engine_path_escape(id[0] == '/' && id[1] != '\0' ? id + 1 : id, false);
	char *p;

	xasprintf(&p, "/containers/%s%s", esc, suffix);
	free(esc);
	return p;
}

int engine_container_create(struct engine *e, const char *name, const json_t *config, char **out_id,
			    struct px_error *err)
{
	char *path = NULL, *esc = NULL;
	json_t *res = NULL, *w;
	const char *id;
	long status = 0;
	size_t i;
	int ret = -1;

	if (!json_is_object(config)) {
		px_error_set(err, 0, "container config must be a JSON object");
		goto wrap;
	}
	if (name != NULL) {
		esc = engine_query_escape(name);
		xasprintf(&path, "/containers/create?name=%s", esc);
	} else {
		path = xstrdup("/containers/create");
	}
	if (engine_request(e, "POST", path, config, &status, &res, err) < 0) {
		if (status == 409)
			px_error_wrap(err, "the name is already in use (remove that container or "
					   "pick another name)");
		else if (status == 404)
			px_error_wrap(err, "image '%s' not found",
				      json_string_value(json_object_get(config, "Image")) ?: "");
		goto wrap;
	}
	id = json_string_value(json_object_get(res, "Id"));
	if (id == NULL || *id == '\0') {
		px_error_set(err, 0, "engine: the answer has no container Id");
		goto wrap;
	}
	w = json_object_get(res, "Warnings");
	for (i = 0; i < json_array_size(w); i++) {
		const char *text = json_string_value(json_array_get(w, i));

		if (text != NULL)
			px_warn("container '%s': engine: %s", name != NULL ? name : id, text);
	}
	if (out_id != NULL)
		*out_id = xstrdup(id);
	ret = 0;
	goto out;
wrap:
	if (name != NULL)
		px_error_wrap(err, "cannot create container '%s'", name);
	else
		px_error_wrap(err, "cannot create container");
out:
	json_decref(res);
	free(esc);
	free(path);
	return ret;
}

/* POST /containers/{id}/<action><query> where ok_status also means done. */
static int container_action(struct engine *e, const char *id, const char *action, const char *query,
			    long ok_status, const char *verb, struct px_error *err)
{
	char *path, *suffix;
	int rc;

	if (engine_check_arg(id, "container id", err) < 0)
		return px_error_wrap(err, "cannot %s container", verb);
	xasprintf(&suffix, "/%s%s", action, query);
	path = container_path(id, suffix);
	rc = engine_call(e, "POST", path, ok_status, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot %s container '%s'", verb, id);
	free(suffix);
	free(path);
	return rc;
}

int engine_container_start(struct engine *e, const char *id, struct px_error *err)
{
	/* 304: already running */
	return container_action(e, id, "start", "", 304, "start", err);
}

int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct px_error *err)
{
	char q[32] = "";
	int rc;

	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	/* 304: already stopped */
	rc = container_action(e, id, "stop", q, 304, "stop", err);
	return rc;
}

int engine_container_restart(struct engine *e, const char *id, int timeout_s, struct px_error *err)
{
	char q[32] = "";

	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	return container_action(e, id, "restart", q, 0, "restart", err);
}

int engine_container_kill(struct engine *e, const char *id, const char *signal,
			  struct px_error *err)
{
	char *q = NULL, *esc;
	int rc;

	if (signal != NULL && *signal != '\0') {
		esc = engine_query_escape(signal);
		xasprintf(&q, "?signal=%s", esc);
		free(esc);
	}
	rc = container_action(e, id, "kill", q != NULL ? q : "", 0, "kill", err);
	free(q);
	return rc;
}

int engine_container_remove(struct engine *e, const char *id, bool force, bool volumes,
			    struct px_error *err)
{
	char *path, *suffix;
	int rc;

	if (engine_check_arg(id, "container id", err) < 0)
		return px_error_wrap(err, "cannot remove container");
	xasprintf(&suffix, "?force=%d&v=%d", force ? 1 : 0, volumes ? 1 : 0);
	path = container_path(id, suffix);
	/* 404: already gone, which is what the caller wanted */
	rc = engine_call(e, "DELETE", path, 404, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot remove container '%s'", id);
	free(suffix);
	free(path);
	return rc;
}

int engine_container_inspect(struct engine *e, const char *id, json_t **out, struct px_error *err)
{
	long status = 0;
	char *path;
	int rc;

	*out = NULL;
	if (engine_check_arg(id, "container id", err) < 0)
		return px_error_wrap(err, "cannot inspect container");
	path = container_path(id, "/json");
	rc = engine_request(e, "GET", path, NULL, &status, out, err);
	if (rc < 0 && status == 404) {
		px_error_clear(err);
		rc = ENGINE_NOT_FOUND;
	} else if (rc < 0) {
		px_error_wrap(err, "cannot inspect container '%s'", id);
	} else if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = px_error_set(
		    err, 0, "cannot inspect container '%s': engine: the answer is not an object",
		    id);
	}
	free(path);
	return rc;
}

int engine_container_wait(struct engine *e, const char *id, int *exit_code, struct px_error *err)
{
	json_t *res = NULL, *code;
	const char *msg;
	char *path = NULL;
	int ret = -1;

	if (engine_check_arg(id, "container id", err) < 0) {
		px_error_wrap(err, "cannot wait for container");
		goto out;
	}
	/* the default condition, not-running, also returns at once for an exited container */
	path = container_path(id, "/wait");
	if (engine_request(e, "POST", path, NULL, NULL, &res, err) < 0) {
		px_error_wrap(err, "cannot wait for container '%s'", id);
		goto out;
	}
	code = json_object_get(res, "StatusCode");
	if (!json_is_integer(code)) {
		px_error_set(err, 0,
			     "cannot wait for container '%s': engine: the answer has no StatusCode",
			     id);
		goto out;
	}
	*exit_code = (int)json_integer_value(code);
	msg = json_string_value(json_object_get(json_object_get(res, "Error"), "Message"));
	if (msg != NULL && *msg != '\0') {
		px_error_set(err, 0, "cannot wait for container '%s': engine: %s", id, msg);
		goto out;
	}
	ret = 0;
out:
	json_decref(res);
	free(path);
	return ret;
}

int engine_container_list(struct engine *e, const char *label_filter, bool all, json_t **out,
			  struct px_error *err)
{
	struct px_buf path = PX_BUF_INIT;
	char *f;
	int rc;

	*out = NULL;
	px_buf_addf(&path, "/containers/json?all=%d", all ? 1 : 0);
	if (label_filter != NULL) {
		f = engine_label_filter(label_filter);
		px_buf_addf(&path, "&filters=%s", f);
		free(f);
	}
	rc = engine_request(e, "GET", px_buf_cstr(&path), NULL, NULL, out, err);
	if (rc == 0 && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = px_error_set(err, 0, "engine: the container list is not an array");
	}
	if (rc < 0)
		px_error_wrap(err, "cannot list containers");
	px_buf_release(&path);
	return rc;
}

/*
 * Multiplexed streams
 */

void engine_demux_init(struct engine_demux *d)
{
	memset(d, 0, sizeof(*d));
}

int engine_demux_feed(struct engine_demux *d, const char *buf, size_t len, engine_demux_fn on_frame,
		      void *data, struct px_error *err)
{
	const unsigned char *h = d->hdr;
	size_t n;

	while (len > 0 || (d->hdr_len == sizeof(d->hdr))) {
		if (d->remaining == 0) {
			n = sizeof(d->hdr) - d->hdr_len;
			if (n > len)
				n = len;
			memcpy(d->hdr + d->hdr_len, buf, n);
			d->hdr_len += n;
			buf += n;
			len -= n;
			if (d->hdr_len < sizeof(d->hdr))
				return 0;
			/* stays in place (hdr_len 8) after a bad header, so every later feed fails
			 * too */
			if (h[0] > ENGINE_SYSERR || h[1] != 0 || h[2] != 0 || h[3] != 0)
				return px_error_set(
				    err, 0,
				    "malformed multiplexed stream: bad frame header "
				    "%02x %02x %02x %02x (a TTY's raw stream?)",
				    h[0], h[1], h[2], h[3]);
			d->stream = h[0];
			d->remaining = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
				       (uint32_t)h[6] << 8 | (uint32_t)h[7];
			d->hdr_len = 0;
			continue;
		}
		n = d->remaining < len ? d->remaining : len;
		d->remaining -= (uint32_t)n;
		buf += n;
		len -= n;
		if (on_frame != NULL && on_frame(d->stream, buf - n, n, data) != 0)
			return 1;
	}
	return 0;
}

int engine_demux_finish(const struct engine_demux *d, struct px_error *err)
{
	if (d->hdr_len != 0)
		return px_error_set(
		    err, 0, "multiplexed stream ends inside a frame header (%zu of 8 bytes)",
		    d->hdr_len);
	if (d->remaining != 0)
		return px_error_set(err, 0,
				    "multiplexed stream ends %u bytes short of the frame's end",
				    (unsigned)d->remaining);
	return 0;
}

/*
 * Logs
 */

struct logs_sink {
	bool tty;
	struct engine_demux demux;
	struct px_buf *out;
	struct px_buf *errout;
	struct px_error derr; /* a demux failure, reported after the transfer */
	bool failed;
};

static int logs_frame(int stream, const char *buf, size_t len, void *data)
{
	struct logs_sink *s = data;

	/* the engine's own error (3) is shown with the container's stderr */
	if (stream == ENGINE_STDOUT && s->out != NULL)
		px_buf_add(s->out, buf, len);
	else if ((stream == ENGINE_STDERR || stream == ENGINE_SYSERR) && s->errout != NULL)
		px_buf_add(s->errout, buf, len);
	return 0;
}

static int logs_data(const char *buf, size_t len, void *data)
{
	struct logs_sink *s = data;

	if (s->tty) {
		if (s->out != NULL)
			px_buf_add(s->out, buf, len);
		return 0;
	}
	if (engine_demux_feed(&s->demux, buf, len, logs_frame, s, &s->derr) < 0) {
		s->failed = true;
		return 1;
	}
	return 0;
}

int engine_container_logs(struct engine *e, const char *id, bool want_stdout, bool want_stderr,
			  int tail, struct px_buf *out_stdout, struct px_buf *out_stderr,
			  struct px_error *err)
{
	struct logs_sink sink = {.out = out_stdout, .errout = out_stderr, .derr = PX_ERROR_INIT};
	json_t *info = NULL;
	char *path = NULL;
	char tailq[24];
	char query[96];
	int rc, ret = -1;

	if (!want_stdout && !want_stderr)
		return 0; /* the engine refuses a request for no stream at all */
	/* a TTY container's log is one raw stream; before API 1.42 only inspect tells */
	rc = engine_container_inspect(e, id, &info, err);
	if (rc == ENGINE_NOT_FOUND)
		px_error_set(err, 0, "no such container '%s'", id);
	if (rc != 0)
		goto wrap;
	sink.tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	engine_demux_init(&sink.demux);
	if (tail < 0)
		snprintf(tailq, sizeof(tailq), "all");
	else
		snprintf(tailq, sizeof(tailq), "%d", tail);
	snprintf(query, sizeof(query), "/logs?stdout=%d&stderr=%d&tail=%s", want_stdout ? 1 : 0,
		 want_stderr ? 1 : 0, tailq);
	path = container_path(id, query);
	rc = engine_stream(e, "GET", path, NULL, logs_data, &sink, NULL, err);
	if (sink.failed) {
		px_error_move(err, &sink.derr);
		goto wrap;
	}
	if (rc < 0)
		goto wrap;
	if (rc == 1) {
		px_error_set(err, 0, "interrupted");
		goto wrap;
	}
	if (!sink.tty && engine_demux_finish(&sink.demux, err) < 0)
		goto wrap;
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot read logs of container '%s'", id);
out:
	px_error_clear(&sink.derr);
	json_decref(info);
	free(path);
	return ret;
}
