/* streams.c - long-lived answers of the engine: a byte stream cut into lines, newline-delimited
 * JSON messages, a container's log as lines (logs -f) and the event stream. */
#include "engine/streams.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/adapters.h"
#include "base/xmalloc.h"
#include "engine/transport.h"

/*
 * Lines
 */

void engine_lines_init(struct engine_lines *l, size_t max, bool strip_cr)
{
	px_buf_init(&l->partial);
	l->max = max;
	l->strip_cr = strip_cr;
	l->cut = false;
}

void engine_lines_release(struct engine_lines *l)
{
	px_buf_release(&l->partial);
}

/* Hand the pending line to fn, NUL-terminated, and start a new one. */
static int deliver(struct engine_lines *l, engine_lines_fn fn, void *data)
{
	int rc;

	if (l->strip_cr && l->partial.len > 0 && l->partial.data[l->partial.len - 1] == '\r')
		px_buf_truncate(&l->partial, l->partial.len - 1);
	rc = fn(data, px_buf_cstr(&l->partial), l->partial.len);
	px_buf_reset(&l->partial);
	return rc;
}

int engine_lines_feed(struct engine_lines *l, const char *buf, size_t len, engine_lines_fn fn,
		      void *data)
{
	if (l->max == 0)
		l->max = ENGINE_LINE_MAX;
	while (len > 0) {
		const char *nl;
		size_t n, room;
		int rc;

		/* a '\n' right after a cut ends that same line, not an empty one */
		if (l->cut) {
			l->cut = false;
			if (*buf == '\n') {
				buf++;
				len--;
				continue;
			}
		}
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		room = l->max - l->partial.len;
		if (n >= room) {
			/* the line outgrew max: deliver what fits as a line of its own */
			px_buf_add(&l->partial, buf, room);
			buf += room;
			len -= room;
			l->cut = true;
			if ((rc = deliver(l, fn, data)) != 0)
				return rc;
			continue;
		}
		/* copied even when whole in the chunk: fn gets a NUL-terminated line */
		px_buf_add(&l->partial, buf, n);
		if (nl == NULL)
			return 0;
		buf += n + 1;
		len -= n + 1;
		if ((rc = deliver(l, fn, data)) != 0)
			return rc;
	}
	return 0;
}

int engine_lines_finish(struct engine_lines *l, engine_lines_fn fn, void *data)
{
	int rc = 0;

	l->cut = false;
	if (l->partial.len > 0)
		rc = deliver(l, fn, data);
	return rc;
}

/*
 * JSON messages
 */

void engine_messages_init(struct engine_messages *m, bool errors, engine_progress_fn fn, void *data)
{
	engine_lines_init(&m->lines, ENGINE_MESSAGE_MAX, true);
	m->errors = errors;
	m->fn = fn;
	m->data = data;
	m->state = 0;
	m->err = (struct px_error)PX_ERROR_INIT;
}

void engine_messages_release(struct engine_messages *m)
{
	engine_lines_release(&m->lines);
	px_error_clear(&m->err);
}

const char *engine_message_error(const json_t *msg)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(msg, "errorDetail"), "message"));

	if (s != NULL && *s != '\0')
		return s;
	s = json_string_value(json_object_get(msg, "error"));
	if (s != NULL && *s != '\0')
		return s;
	/* an errorDetail without a message still is an error */
	if (json_object_get(msg, "errorDetail") != NULL || json_object_get(msg, "error") != NULL)
		return "unknown error";
	return NULL;
}

static int message_line(void *data, const char *line, size_t len)
{
	struct engine_messages *m = data;
	json_error_t jerr;
	const char *text;
	json_t *msg;
	size_t i;

	/* the engine ends each message with "\r\n"; blank keep-alive lines carry nothing */
	for (i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			break;
	}
	if (i == len)
		return 0;
	msg = json_loadb(line, len, 0, &jerr);
	if (msg == NULL) {
		px_error_from_json(&m->err, &jerr, "engine: bad JSON message in the stream");
		m->state = -1;
		return 1;
	}
	if (!json_is_object(msg)) {
		px_error_set(&m->err, 0, "engine: a message in the stream is not an object");
		json_decref(msg);
		m->state = -1;
		return 1;
	}
	text = m->errors ? engine_message_error(msg) : NULL;
	if (text != NULL) {
		px_error_set(&m->err, 0, "engine: %s", text);
		m->state = -1;
	} else if (m->fn != NULL && m->fn(m->data, msg) != 0) {
		m->state = 1;
	}
	json_decref(msg);
	return m->state != 0;
}

int engine_messages_feed(const char *buf, size_t len, void *data)
{
	struct engine_messages *m = data;

	if (m->state != 0)
		return 1;
	return engine_lines_feed(&m->lines, buf, len, message_line, m) != 0;
}

int engine_messages_finish(struct engine_messages *m)
{
	if (m->state == 0)
		engine_lines_finish(&m->lines, message_line, m);
	return m->state;
}

/*
 * Logs as lines
 */

struct logs_lines {
	bool tty;
	struct engine_demux demux;
	struct engine_lines out, errout;
	int stream; /* of the lines being fed */
	engine_line_fn fn;
	void *data;
	bool stopped;         /* fn said stop */
	struct px_error derr; /* a demux failure, reported after the transfer */
	bool failed;
};

static int logs_line(void *data, const char *line, size_t len)
{
	struct logs_lines *s = data;

	if (s->fn(s->data, s->stream, line, len) != 0) {
		s->stopped = true;
		return 1;
	}
	return 0;
}

static int logs_lines_frame(int stream, const char *buf, size_t len, void *data)
{
	struct logs_lines *s = data;

	/* stdout and stderr interleave by frames: each keeps its own unfinished line */
	if (stream == ENGINE_STDOUT) {
		s->stream = ENGINE_STDOUT;
		return engine_lines_feed(&s->out, buf, len, logs_line, s);
	}
	if (stream == ENGINE_STDERR || stream == ENGINE_SYSERR) {
		s->stream = ENGINE_STDERR;
		return engine_lines_feed(&s->errout, buf, len, logs_line, s);
	}
	return 0;
}

static int logs_lines_data(const char *buf, size_t len, void *data)
{
	struct logs_lines *s = data;
	int rc;

	if (s->tty) {
		s->stream = ENGINE_STDOUT;
		return engine_lines_feed(&s->out, buf, len, logs_line, s) != 0;
	}
	rc = engine_demux_feed(&s->demux, buf, len, logs_lines_frame, s, &s->derr);
	if (rc < 0)
		s->failed = true;
	return rc != 0;
}

int engine_container_logs_stream(struct engine *e, const char *id, const struct engine_logs_opts *o,
				 engine_line_fn fn, void *data, struct px_error *err)
{
	struct logs_lines s = {.fn = fn, .data = data, .derr = PX_ERROR_INIT};
	struct px_buf path = PX_BUF_INIT;
	json_t *info = NULL;
	char *esc = NULL;
	int rc, ret = -1;

	engine_lines_init(&s.out, ENGINE_LINE_MAX, false);
	engine_lines_init(&s.errout, ENGINE_LINE_MAX, false);
	engine_demux_init(&s.demux);
	if (engine_check_arg(id, "container id", err) < 0)
		goto wrap;
	if (!o->want_stdout && !o->want_stderr) {
		ret = 0; /* the engine refuses a request for no stream at all */
		goto out;
	}
	/* a TTY container's log is one raw stream; before API 1.42 only inspect tells */
	rc = engine_container_inspect(e, id, &info, err);
	if (rc == ENGINE_NOT_FOUND)
		px_error_set(err, 0, "no such container '%s'", id);
	if (rc != 0)
		goto wrap;
	s.tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	/* a TTY turns "\n" into "\r\n": there the '\r' belongs to the line end */
	s.out.strip_cr = s.tty;
	esc = engine_path_escape(id[0] == '/' && id[1] != '\0' ? id + 1 : id, false);
	px_buf_addf(&path, "/containers/%s/logs?follow=%d&stdout=%d&stderr=%d&timestamps=%d", esc,
		    o->follow ? 1 : 0, o->want_stdout ? 1 : 0, o->want_stderr ? 1 : 0,
		    o->timestamps ? 1 : 0);
	if (o->tail < 0)
		px_buf_adds(&path, "&tail=all");
	else
		px_buf_addf(&path, "&tail=%d", o->tail);
	/* the engine takes "seconds.nanoseconds" (moby's timetypes) */
	if (o->since_ns > 0)
		px_buf_addf(&path, "&since=%" PRId64 ".%09" PRId64, o->since_ns / 1000000000,
			    o->since_ns % 1000000000);
	if (o->until_ns > 0)
		px_buf_addf(&path, "&until=%" PRId64 ".%09" PRId64, o->until_ns / 1000000000,
			    o->until_ns % 1000000000);
	rc = engine_stream(e, "GET", px_buf_cstr(&path), NULL, logs_lines_data, &s, NULL, err);
	if (s.failed) {
		px_error_move(err, &s.derr);
		goto wrap;
	}
	if (rc < 0)
		goto wrap;
	if (rc == 1) {
		ret = 1;
		goto out;
	}
	if (!s.tty && engine_demux_finish(&s.demux, err) < 0)
		goto wrap;
	/* the stream ended: a last line without '\n' is still a line */
	s.stream = ENGINE_STDOUT;
	if (engine_lines_finish(&s.out, logs_line, &s) != 0) {
		ret = 1;
		goto out;
	}
	s.stream = ENGINE_STDERR;
	ret = engine_lines_finish(&s.errout, logs_line, &s) != 0 ? 1 : 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot read logs of container '%s'", id != NULL ? id : "");
out:
	px_error_clear(&s.derr);
	engine_lines_release(&s.out);
	engine_lines_release(&s.errout);
	px_buf_release(&path);
	json_decref(info);
	free(esc);
	return ret;
}

/*
 * Events
 */

int engine_events(struct engine *e, const char *label_filter, int64_t since, int64_t until,
		  engine_event_fn fn, void *data, struct px_error *err)
{
	struct engine_messages m;
	struct px_buf path = PX_BUF_INIT;
	json_t *filters;
	char *f;
	int rc, ret = -1;

	filters = json_pack("{s:[s]}", "type", "container");
	if (label_filter != NULL)
		json_object_set_new(filters, "label", json_pack("[s]", label_filter));
	f = engine_filters_encode(filters);
	json_decref(filters);
	px_buf_addf(&path, "/events?filters=%s", f);
	free(f);
	if (since > 0)
		px_buf_addf(&path, "&since=%" PRId64, since);
	if (until > 0)
		px_buf_addf(&path, "&until=%" PRId64, until);
	/* an event is one more kind of JSON message (engine_event_fn has the same type) */
	engine_messages_init(&m, false, fn, data);
	rc = engine_stream(e, "GET", px_buf_cstr(&path), NULL, engine_messages_feed, &m, NULL, err);
	if (rc < 0)
		goto wrap;
	if (rc == 0)
		engine_messages_finish(&m);
	if (m.state < 0) {
		px_error_move(err, &m.err);
		goto wrap;
	}
	ret = rc == 1 || m.state == 1 ? 1 : 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot read engine events");
out:
	engine_messages_release(&m);
	px_buf_release(&path);
	return ret;
}
