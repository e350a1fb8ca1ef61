/* test_engine_requests.c - unit tests for the engine calls added with exec, pull, build, log and
 * event streams, restart, network connect and inspect: the requests they send and how they
 * read the answers, against a canned-answer HTTP server on a private socket (the same kind
 * as in test_engine.c), so no Docker engine is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/path.h"
#include "base/xmalloc.h"
#include "engine/engine.h"

/*
 * The canned-answer server: the i-th connection gets the i-th answer, then the
 * connection is closed (answers say Connection: close, or have no length at all).
 */

#define FAKE_MAX 16

struct fake {
	char dir[256];
	char sock[300];
	char host[320];
	int lfd;
	struct px_buf answers[FAKE_MAX];
	size_t n;
	struct px_buf requests[FAKE_MAX]; /* head and body of each request */
	size_t got;
	pthread_t th;
};

static void fake_init(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *tmp = getenv("TMPDIR");

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/px-engreq-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(f->sock, sizeof(f->sock), "%s/d.sock", f->dir);
	snprintf(f->host, sizeof(f->host), "unix://%s", f->sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	strcpy(sa.sun_path, f->sock);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
}

/* An answer with a JSON (or any text) body and a length. */
static void fake_answer(struct fake *f, int status, const char *body)
{
	assert_true(f->n < FAKE_MAX);
	px_buf_addf(&f->answers[f->n++],
		    "HTTP/1.1 %d X\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    status, strlen(body), body);
}

/* A 200 answer of len raw bytes; with_length false: no length, the body ends with the
 * connection (as the engine answers an attached exec). */
static void fake_raw(struct fake *f, const char *ctype, const void *body, size_t len,
		     bool with_length)
{
	struct px_buf *a = &f->answers[f->n++];

	px_buf_addf(a, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: %s\r\n", ctype);
	if (with_length)
		px_buf_addf(a, "Content-Length: %zu\r\nConnection: close\r\n", len);
	px_buf_adds(a, "\r\n");
	px_buf_add(a, body, len);
}

static void fake_ping(struct fake *f)
{
	px_buf_adds(&f->answers[f->n++], "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
					 "Content-Length: 2\r\nConnection: close\r\n\r\nOK");
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->n; i++) {
		struct pollfd p = {.fd = f->lfd, .events = POLLIN};
		struct px_buf *req = &f->requests[f->got];
		char buf[4096], *end, *cl;
		size_t want;
		ssize_t r;
		int c;

		if (poll(&p, 1, 5000) != 1)
			break; /* the client gave up early: the test fails on its own */
		c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			break;
		for (;;) {
			end = req->data != NULL ? memmem(req->data, req->len, "\r\n\r\n", 4) : NULL;
			if (end != NULL) {
				cl = strcasestr(req->data, "\r\nContent-Length:");
				want = (size_t)(end + 4 - req->data) +
				       (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
				if (req->len >= want)
					break;
			}
			r = read(c, buf, sizeof(buf));
			if (r <= 0)
				break;
			px_buf_add(req, buf, (size_t)r);
		}
		f->got++;
		if (write(c, f->answers[i].data, f->answers[i].len) < 0)
			break;
		close(c);
	}
	return NULL;
}

static struct engine *fake_start(struct fake *f)
{
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;

	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	if (engine_open(&e, f->host, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	return e;
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->sock);
	rmdir(f->dir);
}

static void fake_release(struct fake *f)
{
	for (size_t i = 0; i < FAKE_MAX; i++) {
		px_buf_release(&f->answers[i]);
		px_buf_release(&f->requests[i]);
	}
}

static void assert_request_line(const struct fake *f, size_t i, const char *line)
{
	size_t n = strlen(line);

	assert_true(i < f->got);
	if (strncmp(f->requests[i].data, line, n) != 0 ||
	    strncmp(f->requests[i].data + n, " HTTP/1.1\r\n", 11) != 0)
		fail_msg("request %zu is '%.*s', want '%s'", i,
			 (int)strcspn(f->requests[i].data, "\r"), f->requests[i].data, line);
}

/* The body of request i (borrowed), its length in *len. */
static const char *request_body(const struct fake *f, size_t i, size_t *len)
{
	const struct px_buf *r = &f->requests[i];
	const char *end = memmem(r->data, r->len, "\r\n\r\n", 4);

	assert_non_null(end);
	*len = r->len - (size_t)(end + 4 - r->data);
	return end + 4;
}

static json_t *request_json(const struct fake *f, size_t i)
{
	size_t len;
	const char *body = request_body(f, i, &len);
	json_t *j = json_loadb(body, len, 0, NULL);

	assert_non_null(j);
	return j;
}

/* Multiplexed frames: {stream, text} pairs until a NULL text. */
static void frames(struct px_buf *out, const int *streams, const char *const *texts)
{
	for (size_t i = 0; texts[i] != NULL; i++) {
		size_t n = strlen(texts[i]);
		unsigned char h[8] = {(unsigned char)streams[i],
				      0,
				      0,
				      0,
				      (unsigned char)(n >> 24),
				      (unsigned char)(n >> 16),
				      (unsigned char)(n >> 8),
				      (unsigned char)n};

		px_buf_add(out, h, 8);
		px_buf_add(out, texts[i], n);
	}
}

/*
 * exec
 */

static void test_exec(void **state)
{
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf wire = PX_BUF_INIT, out = PX_BUF_INIT, errout = PX_BUF_INIT;
	const char *argv[] = {"sh", "-c", "echo hi; echo oops >&2; exit 3", NULL};
	const char *env[] = {"A=1", "B=two words", NULL};
	json_t *body;
	int code = -1;

	(void)state;
	frames(&wire, (const int[]){1, 2, 1},
	       (const char *const[]){"hi\n", "oops\n", "more\n", NULL});
	fake_init(&f);
	fake_ping(&f);
	fake_answer(&f, 201, "{\"Id\":\"ex1\"}");
	fake_raw(&f, "application/vnd.docker.raw-stream", wire.data, wire.len, false);
	fake_answer(&f, 200, "{\"ID\":\"ex1\",\"Running\":false,\"ExitCode\":3}");
	/* not running: the engine's 409 */
	fake_answer(&f, 409, "{\"message\":\"Container c1 is not running\"}");
	e = fake_start(&f);

	assert_int_equal(
	    engine_exec(e, "/c1", argv, env, "/srv", "nobody", &out, &errout, &code, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "hi\nmore\n");
	assert_string_equal(px_buf_cstr(&errout), "oops\n");
	assert_int_equal(code, 3);

	assert_int_equal(engine_exec(e, "c1", argv, NULL, NULL, NULL, NULL, NULL, NULL, &err), -1);
	assert_string_equal(px_error_msg(&err), "cannot run 'sh' in container 'c1': engine: "
						"Container c1 is not running");
	px_error_clear(&err);
	/* no command: refused before any request */
	assert_int_equal(
	    engine_exec(e, "c1", (const char *[]){NULL}, NULL, NULL, NULL, NULL, NULL, NULL, &err),
	    -1);
	assert_non_null(strstr(px_error_msg(&err), "no command to run"));
	px_error_clear(&err);

	fake_stop(&f);
	assert_int_equal(f.got, 5);
	assert_request_line(&f, 1, "POST /v1.41/containers/c1/exec");
	body = request_json(&f, 1);
	assert_true(json_is_true(json_object_get(body, "AttachStdout")));
	assert_true(json_is_true(json_object_get(body, "AttachStderr")));
	assert_true(json_is_false(json_object_get(body, "AttachStdin")));
	assert_true(json_is_false(json_object_get(body, "Tty")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Cmd"), 2)),
			    argv[2]);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Env"), 1)),
			    "B=two words");
	assert_string_equal(json_string_value(json_object_get(body, "WorkingDir")), "/srv");
	assert_string_equal(json_string_value(json_object_get(body, "User")), "nobody");
	json_decref(body);
	assert_request_line(&f, 2, "POST /v1.41/exec/ex1/start");
	body = request_json(&f, 2);
	assert_true(json_is_false(json_object_get(body, "Detach")));
	assert_true(json_is_false(json_object_get(body, "Tty")));
	json_decref(body);
	assert_request_line(&f, 3, "GET /v1.41/exec/ex1/json");
	/* without env, workdir and user the container's own apply: not sent */
	body = request_json(&f, 4);
	assert_null(json_object_get(body, "Env"));
	assert_null(json_object_get(body, "WorkingDir"));
	assert_null(json_object_get(body, "User"));
	json_decref(body);
	fake_release(&f);
	engine_free(e);
	px_buf_release(&wire);
	px_buf_release(&out);
	px_buf_release(&errout);
}

/*
 * pull
 */

static void test_pull(void **state)
{
	static const struct {
		const char *ref, *query;
	} refs[] = {
	    {"busybox", "fromImage=busybox&tag=latest"},
	    {"busybox:1.36", "fromImage=busybox&tag=1.36"},
	    {"reg:5000/team/app", "fromImage=reg%3A5000%2Fteam%2Fapp&tag=latest"},
	    {"reg:5000/team/app:2", "fromImage=reg%3A5000%2Fteam%2Fapp&tag=2"},
	    {"app@sha256:ab12", "fromImage=app&tag=sha256%3Aab12"},
	    {"app:1@sha256:ab12", "fromImage=app&tag=sha256%3Aab12"},
	};
	static const char ok[] =
	    "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\r\n"
	    "{\"status\":\"Digest: sha256:ab12\"}\r\n";
	static const char bad[] =
	    "{\"status\":\"Pulling from team/app\"}\r\n"
	    "{\"errorDetail\":{\"message\":\"manifest for team/app:9 not found\"},"
	    "\"error\":\"manifest for team/app:9 not found\"}\r\n";
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	char line[160];

	(void)state;
	fake_init(&f);
	fake_ping(&f);
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		fake_raw(&f, "application/json", ok, strlen(ok), true);
	fake_raw(&f, "application/json", bad, strlen(bad), true);
	fake_answer(&f, 500,
		    "{\"message\":\"Get \\\"https://registry-1.docker.io/v2/\\\": dial tcp: "
		    "lookup registry-1.docker.io: no such host\"}");
	e = fake_start(&f);

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		if (engine_image_pull(e, refs[i].ref, NULL, NULL, &err) < 0)
			fail_msg("pull %s: %s", refs[i].ref, px_error_msg(&err));
	}
	assert_int_equal(engine_image_pull(e, "team/app:9", NULL, NULL, &err), -1);
	assert_string_equal(px_error_msg(&err),
			    "pull 'team/app:9': engine: manifest for team/app:9 not found");
	px_error_clear(&err);
	assert_int_equal(engine_image_pull(e, "busybox", NULL, NULL, &err), -1);
	assert_string_equal(px_error_msg(&err),
			    "pull 'busybox': engine: Get \"https://registry-1.docker.io/v2/\": "
			    "dial tcp: lookup registry-1.docker.io: no such host");
	px_error_clear(&err);
	assert_int_equal(engine_image_pull(e, "", NULL, NULL, &err), -1);
	px_error_clear(&err);

	fake_stop(&f);
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		snprintf(line, sizeof(line), "POST /v1.41/images/create?%s", refs[i].query);
		assert_request_line(&f, 1 + i, line);
	}
	fake_release(&f);
	engine_free(e);
}

static int count_progress(void *data, const json_t *msg)
{
	struct px_buf *b = data;
	const char *s = json_string_value(json_object_get(msg, "status"));

	px_buf_addf(b, "%s|", s != NULL ? s : "?");
	return strcmp(s != NULL ? s : "", "stop here") == 0;
}

/* Progress reaches fn; fn stopping fails the pull as an interruption. */
static void test_pull_progress_and_stop(void **state)
{
	static const char two[] = "{\"status\":\"a\"}\n{\"status\":\"b\"}\n";
	static const char stop[] = "{\"status\":\"stop here\"}\n{\"status\":\"never\"}\n";
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf seen = PX_BUF_INIT;

	(void)state;
	fake_init(&f);
	fake_ping(&f);
	fake_raw(&f, "application/json", two, strlen(two), true);
	fake_raw(&f, "application/json", stop, strlen(stop), true);
	e = fake_start(&f);
	assert_int_equal(engine_image_pull(e, "x", count_progress, &seen, &err), 0);
	assert_string_equal(px_buf_cstr(&seen), "a|b|");
	px_buf_reset(&seen);
	assert_int_equal(engine_image_pull(e, "x", count_progress, &seen, &err), -1);
	assert_int_equal(err.errnum, ECANCELED);
	assert_string_equal(px_error_msg(&err), "pull 'x': interrupted");
	assert_string_equal(px_buf_cstr(&seen), "stop here|");
	px_error_clear(&err);
	fake_stop(&f);
	fake_release(&f);
	engine_free(e);
	px_buf_release(&seen);
}

/*
 * build
 */

static int collect_stream(void *data, const json_t *msg)
{
	const char *s = json_string_value(json_object_get(msg, "stream"));

	if (s != NULL)
		px_buf_adds(data, s);
	return 0;
}

/* Names in the tar that was sent. */
static char *tar_names(const char *data, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *en;
	struct px_buf b = PX_BUF_INIT;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	while (archive_read_next_header(a, &en) == ARCHIVE_OK)
		px_buf_addf(&b, "%s ", archive_entry_pathname(en));
	archive_read_free(a);
	return px_buf_detach(&b, NULL);
}

static void test_build(void **state)
{
	static const char ok[] = "{\"stream\":\"Step 1/2 : FROM busybox\"}\r\n"
				 "{\"stream\":\"\\n\"}\r\n"
				 "{\"aux\":{\"ID\":\"sha256:feed\"}}\r\n"
				 "{\"stream\":\"Successfully built feed\\n\"}\r\n";
	static const char bad[] =
	    "{\"stream\":\"Step 1/2 : FROM busybox\\n\"}\r\n"
	    "{\"errorDetail\":{\"message\":\"COPY failed: file not found in "
	    "build context or excluded by .dockerignore: stat nope: file does "
	    "not exist\"},\"error\":\"COPY failed\"}\r\n";
	const char *tags[] = {"app:1", "app:latest", NULL};
	const char *args[] = {"GREETING=hello world", "EMPTY=", "FROM_ENV", NULL};
	json_t *labels = json_pack("{s:s}", "com.example.x", "y&z");
	struct engine_build_opts o = {.tags = tags,
				      .args = args,
				      .target = "prod",
				      .labels = labels,
				      .pull = true,
				      .no_cache = true};
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf streamed = PX_BUF_INIT;
	char dir[256], *p, *id = NULL, *names;
	const char *tmp = getenv("TMPDIR");
	const char *body;
	size_t len;
	FILE *fp;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/px-engbuild-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	p = px_path_join(dir, "Dockerfile");
	fp = fopen(p, "w");
	fputs("FROM busybox\n", fp);
	fclose(fp);
	o.context_dir = dir;

	fake_init(&f);
	fake_ping(&f);
	fake_raw(&f, "application/json", ok, strlen(ok), true);
	fake_raw(&f, "application/json", bad, strlen(bad), true);
	e = fake_start(&f);
	if (engine_image_build(e, &o, collect_stream, &streamed, &id, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_string_equal(id, "sha256:feed");
	assert_string_equal(px_buf_cstr(&streamed), "Step 1/2 : FROM busybox\n"
						    "Successfully built feed\n");
	free(id);
	id = NULL;
	o.tags = NULL;
	o.args = NULL;
	o.target = NULL;
	o.labels = NULL;
	o.pull = o.no_cache = false;
	assert_int_equal(engine_image_build(e, &o, NULL, NULL, &id, &err), -1);
	assert_null(id);
	if (strstr(px_error_msg(&err), "': engine: COPY failed: file not found in build context") ==
	    NULL)
		fail_msg("%s", px_error_msg(&err));
	assert_true(strncmp(px_error_msg(&err), "build '", 7) == 0);
	px_error_clear(&err);
	fake_stop(&f);

	assert_request_line(
	    &f, 1,
	    "POST "
	    "/v1.41/build?version=1&rm=1&forcerm=1&dockerfile=Dockerfile&t=app%3A1&t=app%3Alatest"
	    "&buildargs=%7B%22EMPTY%22%3A%22%22%2C%22FROM_ENV%22%3Anull%2C%22GREETING%22%3A"
	    "%22hello%20world%22%7D&target=prod"
	    "&labels=%7B%22com.example.x%22%3A%22y%26z%22%7D&pull=1&nocache=1");
	assert_non_null(strcasestr(f.requests[1].data, "\r\nContent-Type: application/x-tar\r\n"));
	body = request_body(&f, 1, &len);
	assert_true(len >= 1024);
	names = tar_names(body, len);
	assert_string_equal(names, "Dockerfile ");
	free(names);
	assert_request_line(&f, 2,
			    "POST /v1.41/build?version=1&rm=1&forcerm=1&dockerfile=Dockerfile");
	fake_release(&f);
	engine_free(e);
	json_decref(labels);
	px_buf_release(&streamed);
	unlink(p);
	free(p);
	rmdir(dir);
}

/*
 * logs as lines
 */

struct got_lines {
	struct px_buf all;
	int n, stop_at;
};

static int collect_log_line(void *data, int stream, const char *line, size_t len)
{
	struct got_lines *g = data;

	px_buf_addf(&g->all, "%s:%.*s|", stream == ENGINE_STDOUT ? "out" : "err", (int)len, line);
	return ++g->n == g->stop_at;
}

static void test_logs_stream(void **state)
{
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf wire = PX_BUF_INIT;
	struct got_lines g = {.all = PX_BUF_INIT};
	struct engine_logs_opts o = {.follow = true,
				     .want_stdout = true,
				     .want_stderr = true,
				     .tail = -1,
				     .since_ns = 1700000000123456789};
	static const char tty[] = "first\r\nsecond\r\nno end";

	(void)state;
	/* a stdout line cut across frames with a stderr frame between: each stream keeps
	 * its own unfinished line; the last one, without '\n', comes at the end */
	frames(&wire, (const int[]){1, 2, 1, 2, 3},
	       (const char *const[]){"one\ntw", "err ", "o\nthree", "line\n", "sys\n", NULL});
	fake_init(&f);
	fake_ping(&f);
	fake_answer(&f, 200, "{\"Id\":\"c1\",\"Config\":{\"Tty\":false}}");
	fake_raw(&f, "application/vnd.docker.multiplexed-stream", wire.data, wire.len, true);
	fake_answer(&f, 200, "{\"Id\":\"c2\",\"Config\":{\"Tty\":true}}");
	fake_raw(&f, "application/vnd.docker.raw-stream", tty, strlen(tty), true);
	fake_answer(&f, 200, "{\"Id\":\"c1\",\"Config\":{\"Tty\":false}}");
	fake_raw(&f, "application/vnd.docker.multiplexed-stream", wire.data, wire.len, true);
	fake_answer(&f, 404, "{\"message\":\"No such container: gone\"}");
	e = fake_start(&f);

	assert_int_equal(engine_container_logs_stream(e, "c1", &o, collect_log_line, &g, &err), 0);
	assert_string_equal(px_buf_cstr(&g.all), "out:one|out:two|err:err line|err:sys|out:three|");
	/* a TTY: one raw stream, "\r\n" line ends */
	px_buf_reset(&g.all);
	o.follow = false;
	o.timestamps = true;
	o.want_stderr = false;
	o.tail = 5;
	o.since_ns = 0;
	o.until_ns = 1700000100000000001;
	assert_int_equal(engine_container_logs_stream(e, "c2", &o, collect_log_line, &g, &err), 0);
	assert_string_equal(px_buf_cstr(&g.all), "out:first|out:second|out:no end|");
	/* fn stops the stream: 1, and nothing after */
	px_buf_reset(&g.all);
	g.n = 0;
	g.stop_at = 2;
	assert_int_equal(engine_container_logs_stream(e, "c1", &o, collect_log_line, &g, &err), 1);
	assert_string_equal(px_buf_cstr(&g.all), "out:one|out:two|");
	assert_null(err.msg);
	assert_int_equal(engine_container_logs_stream(e, "gone", &o, collect_log_line, &g, &err),
			 -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot read logs of container 'gone': no such container 'gone'");
	px_error_clear(&err);
	/* neither stream asked for: nothing to do */
	o.want_stdout = false;
	assert_int_equal(engine_container_logs_stream(e, "c1", &o, collect_log_line, &g, &err), 0);

	fake_stop(&f);
	assert_int_equal(f.got, 8);
	assert_request_line(&f, 1, "GET /v1.41/containers/c1/json");
	assert_request_line(&f, 2,
			    "GET /v1.41/containers/c1/logs?follow=1&stdout=1&stderr=1&timestamps=0"
			    "&tail=all&since=1700000000.123456789");
	assert_request_line(&f, 4,
			    "GET /v1.41/containers/c2/logs?follow=0&stdout=1&stderr=0&timestamps=1"
			    "&tail=5&until=1700000100.000000001");
	fake_release(&f);
	engine_free(e);
	px_buf_release(&wire);
	px_buf_release(&g.all);
}

/*
 * events
 */

static int collect_event(void *data, const json_t *ev)
{
	struct px_buf *b = data;

	px_buf_addf(b, "%s %s|", json_string_value(json_object_get(ev, "Action")),
		    json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID")));
	return 0;
}

static void test_events(void **state)
{
	static const char evs[] =
	    "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"c1\","
	    "\"Attributes\":{\"k\":\"v\"}},\"time\":1700000001}\n"
	    "{\"Type\":\"container\",\"Action\":\"health_status: healthy\",\"Actor\":{\"ID\":"
	    "\"c1\"},\"time\":1700000002}\n";
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf got = PX_BUF_INIT;

	(void)state;
	fake_init(&f);
	fake_ping(&f);
	fake_raw(&f, "application/json", evs, strlen(evs), true);
	fake_raw(&f, "application/json", "", 0, true);
	fake_raw(&f, "application/json", "not json\n", 9, true);
	e = fake_start(&f);
	assert_int_equal(engine_events(e, "k=v", 1700000000, 1700000100, collect_event, &got, &err),
			 0);
	assert_string_equal(px_buf_cstr(&got), "start c1|health_status: healthy c1|");
	assert_int_equal(engine_events(e, NULL, 0, 0, collect_event, &got, &err), 0);
	assert_int_equal(engine_events(e, NULL, 0, 0, collect_event, &got, &err), -1);
	assert_true(strncmp(px_error_msg(&err),
			    "cannot read engine events: engine: bad JSON message", 51) == 0);
	px_error_clear(&err);
	fake_stop(&f);
	/* {"label":["k=v"],"type":["container"]} */
	assert_request_line(&f, 1,
			    "GET /v1.41/events?filters=%7B%22label%22%3A%5B%22k%3Dv%22%5D%2C%22type"
			    "%22%3A%5B%22container%22%5D%7D&since=1700000000&until=1700000100");
	assert_request_line(&f, 2,
			    "GET /v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D");
	fake_release(&f);
	engine_free(e);
	px_buf_release(&got);
}

/*
 * restart, network connect, inspect
 */

static void test_small_calls(void **state)
{
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	json_t *out = NULL, *body;

	(void)state;
	fake_init(&f);
	fake_ping(&f);
	fake_answer(&f, 204, "");
	fake_answer(&f, 204, "");
	fake_answer(&f, 200, "");
	fake_answer(&f, 200, "");
	fake_answer(&f, 404, "{\"message\":\"network n1 not found\"}");
	fake_answer(&f, 200, "{\"Name\":\"n1\",\"Id\":\"abc\"}");
	fake_answer(&f, 404, "{\"message\":\"get v1: no such volume\"}");
	fake_answer(&f, 200, "{\"Name\":\"v1\"}");
	fake_answer(&f, 500, "{\"message\":\"boom\"}");
	e = fake_start(&f);

	assert_int_equal(engine_container_restart(e, "c1", 7, &err), 0);
	assert_int_equal(engine_container_restart(e, "c1", -1, &err), 0);
	assert_int_equal(
	    engine_network_connect(e, "p_default", "c1", (const char *[]){"db", "pg", NULL}, &err),
	    0);
	assert_int_equal(engine_network_connect(e, "p_default", "c2", NULL, &err), 0);
	assert_int_equal(engine_network_inspect(e, "n1", &out, &err), ENGINE_NOT_FOUND);
	assert_null(out);
	assert_null(err.msg);
	assert_int_equal(engine_network_inspect(e, "n1", &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "Id")), "abc");
	json_decref(out);
	assert_int_equal(engine_volume_inspect(e, "v1", &out, &err), ENGINE_NOT_FOUND);
	assert_null(err.msg);
	assert_int_equal(engine_volume_inspect(e, "v1", &out, &err), 0);
	json_decref(out);
	assert_int_equal(engine_volume_inspect(e, "v1", &out, &err), -1);
	assert_string_equal(px_error_msg(&err), "cannot inspect volume 'v1': engine: boom");
	px_error_clear(&err);
	/* empty names are refused before any request */
	assert_int_equal(engine_network_connect(e, "", "c1", NULL, &err), -1);
	px_error_clear(&err);
	assert_int_equal(engine_network_inspect(e, "", &out, &err), -1);
	px_error_clear(&err);
	assert_int_equal(engine_container_restart(e, "", 1, &err), -1);
	px_error_clear(&err);

	fake_stop(&f);
	assert_int_equal(f.got, 10);
	assert_request_line(&f, 1, "POST /v1.41/containers/c1/restart?t=7");
	assert_request_line(&f, 2, "POST /v1.41/containers/c1/restart");
	assert_request_line(&f, 3, "POST /v1.41/networks/p_default/connect");
	body = request_json(&f, 3);
	assert_string_equal(json_string_value(json_object_get(body, "Container")), "c1");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(body, "EndpointConfig"), "Aliases"), 1)),
	    "pg");
	json_decref(body);
	body = request_json(&f, 4);
	assert_null(json_object_get(body, "EndpointConfig"));
	json_decref(body);
	assert_request_line(&f, 5, "GET /v1.41/networks/n1");
	assert_request_line(&f, 7, "GET /v1.41/volumes/v1");
	fake_release(&f);
	engine_free(e);
}

/*
 * copying into a container
 */

/* The tar goes as the raw body; errors name the container and the path. */
static void test_put_archive(void **state)
{
	static const struct {
		int status;
		const char *body, *id, *path, *want;
	} errors[] = {
	    {404, "{\"message\":\"No such container: gone\"}", "gone", "/",
	     "cannot copy files to '/' in container 'gone': engine: No such container: gone"},
	    {404, "{\"message\":\"Could not find the file /nope in container c1\"}", "c1", "/nope",
	     "cannot copy files to '/nope' in container 'c1': engine: Could not find the file "
	     "/nope in container c1"},
	    {400, "{\"message\":\"extraction point is not a directory\"}", "c1", "/etc/hosts",
	     "cannot copy files to '/etc/hosts' in container 'c1': engine: extraction point is "
	     "not a directory"},
	    {403, "{\"message\":\"container rootfs is marked read-only\"}", "c1", "/",
	     "cannot copy files to '/' in container 'c1': engine: container rootfs is marked "
	     "read-only"},
	};
	struct fake f;
	struct engine *e;
	struct px_error err = PX_ERROR_INIT;
	unsigned char tar[1536];
	const char *body;
	size_t len, i;

	(void)state;
	/* binary, zeros included: it must arrive byte for byte */
	for (i = 0; i < sizeof(tar); i++)
		tar[i] = (unsigned char)(i * 7 % 251);
	memset(tar + 100, 0, 50);
	fake_init(&f);
	fake_ping(&f);
	fake_answer(&f, 200, "");
	fake_answer(&f, 200, "");
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		fake_answer(&f, errors[i].status, errors[i].body);
	e = fake_start(&f);

	assert_int_equal(engine_container_put_archive(e, "c1", "/", tar, sizeof(tar), true, &err),
			 0);
	assert_int_equal(
	    engine_container_put_archive(e, "/web-1", "/app/src dir", tar, 10, false, &err), 0);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		assert_int_equal(engine_container_put_archive(e, errors[i].id, errors[i].path, tar,
							      sizeof(tar), true, &err),
				 -1);
		assert_string_equal(px_error_msg(&err), errors[i].want);
		px_error_clear(&err);
	}
	/* refused before any request */
	assert_int_equal(engine_container_put_archive(e, "", "/", tar, 1, true, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "container id must not be empty"));
	px_error_clear(&err);
	assert_int_equal(engine_container_put_archive(e, "c1", "", tar, 1, true, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "destination path must not be empty"));
	px_error_clear(&err);

	fake_stop(&f);
	assert_int_equal(f.got, 3 + sizeof(errors) / sizeof(errors[0]));
	assert_request_line(&f, 1, "PUT /v1.41/containers/c1/archive?path=%2F&copyUIDGID=1");
	assert_non_null(strcasestr(f.requests[1].data, "\r\nContent-Type: application/x-tar\r\n"));
	body = request_body(&f, 1, &len);
	assert_int_equal(len, sizeof(tar));
	assert_memory_equal(body, tar, sizeof(tar));
	/* a listed name's slash dropped, the path escaped, no copyUIDGID */
	assert_request_line(&f, 2, "PUT /v1.41/containers/web-1/archive?path=%2Fapp%2Fsrc%20dir");
	body = request_body(&f, 2, &len);
	assert_int_equal(len, 10);
	assert_request_line(&f, 4, "PUT /v1.41/containers/c1/archive?path=%2Fnope&copyUIDGID=1");
	fake_release(&f);
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exec),
	    cmocka_unit_test(test_pull),
	    cmocka_unit_test(test_pull_progress_and_stop),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_logs_stream),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_small_calls),
	    cmocka_unit_test(test_put_archive),
	};

	return cmocka_run_group_tests_name("engine_requests", tests, NULL, NULL);
}
