/* test_engine.c - unit tests for engine/: DOCKER_HOST parsing, version comparison, the log
 * demultiplexer, filter and path encoding, connection errors, and the HTTP layer against a
 * canned-answer server on a private socket (no Docker engine needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/xmalloc.h"
#include "engine/engine.h"
#include "engine/transport.h"

/* A private directory under $TMPDIR (or /tmp); the caller removes it. */
static void make_tmpdir(char *out, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, size, "%s/px-engine-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(out) == NULL)
		fail_msg("mkdtemp '%s': %s", out, strerror(errno));
}

/* A unix socket bound at path; listening or not (connect then gets ECONNREFUSED). */
static int bind_unix(const char *path, bool listening)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/*
 * DOCKER_HOST parsing
 */

struct host_case {
	const char *in;
	int rc;
	enum engine_transport transport;
	const char *path_or_host; /* the socket path, the tcp host, or a substring of the error */
	unsigned port;
	const char *canonical; /* engine_host_string of the result */
};

static void test_host_parse_table(void **state)
{
	static char long_path[160];
	const struct host_case cases[] = {
	    {NULL, 0, ENGINE_UNIX, "/var/run/docker.sock", 0, "unix:///var/run/docker.sock"},
	    {"", 0, ENGINE_UNIX, "/var/run/docker.sock", 0, "unix:///var/run/docker.sock"},
	    {"unix:///tmp/eng/d.sock", 0, ENGINE_UNIX, "/tmp/eng/d.sock", 0,
	     "unix:///tmp/eng/d.sock"},
	    {"UNIX:///run/a b.sock", 0, ENGINE_UNIX, "/run/a b.sock", 0, "unix:///run/a b.sock"},
	    {"tcp://127.0.0.1:2376", 0, ENGINE_TCP, "127.0.0.1", 2376, "tcp://127.0.0.1:2376"},
	    {"tcp://docker.example.com:65535/", 0, ENGINE_TCP, "docker.example.com", 65535,
	     "tcp://docker.example.com:65535"},
	    /* no port: 2375, as docker does */
	    {"tcp://localhost", 0, ENGINE_TCP, "localhost", 2375, "tcp://localhost:2375"},
	    {"tcp://[::1]:2376", 0, ENGINE_TCP, "::1", 2376, "tcp://[::1]:2376"},
	    {"tcp://[fe80::1]", 0, ENGINE_TCP, "fe80::1", 2375, "tcp://[fe80::1]:2375"},
	    /* docker reads a bare host:port as tcp */
	    {"10.0.0.2:2375", 0, ENGINE_TCP, "10.0.0.2", 2375, "tcp://10.0.0.2:2375"},
	    {"unix://", -1, 0, "missing socket path", 0, NULL},
	    {"unix://var/run/docker.sock", -1, 0, "must be absolute", 0, NULL},
	    {long_path, -1, 0, "longer than 107 bytes", 0, NULL},
	    {"/var/run/docker.sock", -1, 0, "needs the unix:// scheme", 0, NULL},
	    {"ssh://me@host", -1, 0, "scheme 'ssh' is not supported", 0, NULL},
	    {"npipe:////./pipe/docker_engine", -1, 0, "scheme 'npipe' is not supported", 0, NULL},
	    {"http://localhost:2375", -1, 0, "scheme 'http' is not supported", 0, NULL},
	    {"fd://", -1, 0, "scheme 'fd' is not supported", 0, NULL},
	    {"tcp://", -1, 0, "missing host", 0, NULL},
	    {"tcp://:2375", -1, 0, "missing host", 0, NULL},
	    {"tcp://host:", -1, 0, "bad port ''", 0, NULL},
	    {"tcp://host:abc", -1, 0, "bad port 'abc'", 0, NULL},
	    {"tcp://host:0", -1, 0, "port 0 out of range", 0, NULL},
	    {"tcp://host:65536", -1, 0, "port 65536 out of range", 0, NULL},
	    {"tcp://::1:2375", -1, 0, "in brackets", 0, NULL},
	    {"tcp://[::1", -1, 0, "missing ']'", 0, NULL},
	    {"tcp://[::1]x", -1, 0, "expected ':port'", 0, NULL},
	    {"tcp://host:2375/v1", -1, 0, "path after host:port", 0, NULL},
	    {"tcp://us er@host:1", -1, 0, "bad character ' '", 0, NULL},
	};

	(void)state;
	memset(long_path, 0, sizeof(long_path));
	memcpy(long_path, "unix:///", 8);
	memset(long_path + 8, 'x', 120);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct host_case *c = &cases[i];
		struct engine_host h = ENGINE_HOST_INIT;
		struct px_error err = PX_ERROR_INIT;
		int rc = engine_host_parse(c->in, &h, &err);

		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d (%s)", c->in ? c->in : "(null)", rc, c->rc,
				 px_error_msg(&err));
		if (rc < 0) {
			if (strstr(px_error_msg(&err), c->path_or_host) == NULL)
				fail_msg("'%s': error '%s' lacks '%s'", c->in, px_error_msg(&err),
					 c->path_or_host);
			/* untouched on failure */
			assert_int_equal(h.transport, 0);
			assert_null(h.path);
			assert_null(h.host);
		} else {
			char *s = engine_host_string(&h);

			assert_int_equal(h.transport, c->transport);
			if (c->transport == ENGINE_UNIX) {
				assert_string_equal(h.path, c->path_or_host);
				assert_null(h.host);
			} else {
				assert_string_equal(h.host, c->path_or_host);
				assert_int_equal(h.port, c->port);
				assert_null(h.path);
			}
			assert_string_equal(s, c->canonical);
			free(s);
		}
		engine_host_release(&h);
		engine_host_release(&h); /* twice is fine */
		px_error_clear(&err);
	}
}

/*
 * Versions
 */

static void test_version_cmp_table(void **state)
{
	const struct {
		const char *a, *b;
		int sign;
	} cases[] = {
	    {"1.41", "1.47", -1}, {"1.47", "1.47", 0},     {"1.100", "1.47", 1},
	    {"1.9", "1.10", -1},  {"1.41", "1.41.0", 0},   {"1.41.1", "1.41", 1},
	    {"2.0", "1.99", 1},   {"1", "1.0", 0},         {"0.9", "1", -1},
	    {"", "0", 0},         {"1.41-rc1", "1.41", 0}, {"1.044", "1.44", 0},
	    {"1.24", "1.3", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ab = engine_version_cmp(cases[i].a, cases[i].b);
		int ba = engine_version_cmp(cases[i].b, cases[i].a);
		int s = (ab > 0) - (ab < 0);

		if (s != cases[i].sign || ((ba > 0) - (ba < 0)) != -cases[i].sign)
			fail_msg("cmp('%s', '%s') = %d / reversed %d, want sign %d", cases[i].a,
				 cases[i].b, ab, ba, cases[i].sign);
	}
}

/*
 * Demultiplexer
 */

struct frame {
	int stream;
	const char *payload;
	size_t len;
};

/* Serialise frames into the wire form; the expected per-stream text into want[]. */
static void build_stream(const struct frame *f, size_t n, struct px_buf *wire,
			 struct px_buf want[4])
{
	for (size_t i = 0; i < n; i++) {
		unsigned char h[8] = {(unsigned char)f[i].stream,
				      0,
				      0,
				      0,
				      (unsigned char)(f[i].len >> 24),
				      (unsigned char)(f[i].len >> 16),
				      (unsigned char)(f[i].len >> 8),
				      (unsigned char)f[i].len};

		px_buf_add(wire, h, sizeof(h));
		px_buf_add(wire, f[i].payload, f[i].len);
		px_buf_add(&want[f[i].stream], f[i].payload, f[i].len);
	}
}

struct collect {
	struct px_buf got[4];
	int calls;
	int stop_after; /* stop (return 1) at this call; 0: never */
};

static int collect_frame(int stream, const char *buf, size_t len, void *data)
{
	struct collect *c = data;

	assert_true(stream >= 0 && stream <= 3);
	assert_true(len > 0); /* empty frames are not reported */
	px_buf_add(&c->got[stream], buf, len);
	c->calls++;
	return c->stop_after != 0 && c->calls >= c->stop_after;
}

static void collect_release(struct collect *c)
{
	for (int i = 0; i < 4; i++)
		px_buf_release(&c->got[i]);
}

static void assert_same(const struct px_buf *a, const struct px_buf *b)
{
	assert_int_equal(a->len, b->len);
	if (a->len > 0)
		assert_memory_equal(a->data, b->data, a->len);
}

/* A stream with every stream id, an empty frame, a payload of 300 bytes (0x12c: a size
 * read in the wrong byte order derails the parse), and binary payload bytes. */
static void demo_stream(struct px_buf *wire, struct px_buf want[4])
{
	static char big[300];
	static const char bin[] = {0, 1, 2, 8, 0, 0, 0, 0};
	const struct frame frames[] = {
	    {1, "out 1\n", 6},     {2, "err 1\n", 6}, {1, "", 0},   {2, big, sizeof(big)},
	    {1, bin, sizeof(bin)}, {3, "sys\n", 4},   {0, "in", 2}, {1, "out 2", 5},
	};

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	build_stream(frames, sizeof(frames) / sizeof(frames[0]), wire, want);
}

static void test_demux_every_split(void **state)
{
	struct px_buf wire = PX_BUF_INIT,
		      want[4] = {PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT};

	(void)state;
	demo_stream(&wire, want);
	/* every cut into two pieces, and every cut into three */
	for (size_t i = 0; i <= wire.len; i++) {
		for (size_t j = i; j <= wire.len; j += (i % 7 == 0 ? 1 : 13)) {
			struct engine_demux d = ENGINE_DEMUX_INIT;
			struct collect c = {0};
			struct px_error err = PX_ERROR_INIT;

			assert_int_equal(
			    engine_demux_feed(&d, wire.data, i, collect_frame, &c, &err), 0);
			assert_int_equal(
			    engine_demux_feed(&d, wire.data + i, j - i, collect_frame, &c, &err),
			    0);
			assert_int_equal(engine_demux_feed(&d, wire.data + j, wire.len - j,
							   collect_frame, &c, &err),
					 0);
			assert_int_equal(engine_demux_finish(&d, &err), 0);
			for (int s = 0; s < 4; s++)
				assert_same(&c.got[s], &want[s]);
			collect_release(&c);
		}
	}
	for (int s = 0; s < 4; s++)
		px_buf_release(&want[s]);
	px_buf_release(&wire);
}

static void test_demux_byte_by_byte(void **state)
{
	struct px_buf wire = PX_BUF_INIT,
		      want[4] = {PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT};
	struct engine_demux d;
	struct collect c = {0};
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	demo_stream(&wire, want);
	engine_demux_init(&d);
	for (size_t i = 0; i < wire.len; i++)
		assert_int_equal(engine_demux_feed(&d, wire.data + i, 1, collect_frame, &c, &err),
				 0);
	assert_int_equal(engine_demux_finish(&d, &err), 0);
	/* the binary payload looks like a frame header: it must pass through as data */
	assert_int_equal(c.got[1].len, 6 + 8 + 5);
	assert_memory_equal(c.got[1].data, "out 1\n\000\001\002\010\000\000\000\000out 2",
			    6 + 8 + 5);
	assert_same(&c.got[2], &want[2]);
	assert_int_equal(c.got[2].len, 6 + 300);
	assert_string_equal(px_buf_cstr(&c.got[3]), "sys\n");
	assert_string_equal(px_buf_cstr(&c.got[0]), "in");
	collect_release(&c);
	for (int s = 0; s < 4; s++)
		px_buf_release(&want[s]);
	px_buf_release(&wire);
}

static void test_demux_truncated(void **state)
{
	struct px_buf wire = PX_BUF_INIT,
		      want[4] = {PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT};
	const struct frame f[] = {{1, "hello", 5}, {2, "world!", 6}};
	size_t first = 8 + 5;

	(void)state;
	build_stream(f, 2, &wire, want);
	/* every proper prefix ending after the first frame is an unfinished stream */
	for (size_t cut = first + 1; cut < wire.len; cut++) {
		struct engine_demux d = ENGINE_DEMUX_INIT;
		struct collect c = {0};
		struct px_error err = PX_ERROR_INIT;

		assert_int_equal(engine_demux_feed(&d, wire.data, cut, collect_frame, &c, &err), 0);
		assert_int_equal(engine_demux_finish(&d, &err), -1);
		if (cut < first + 8)
			assert_non_null(strstr(px_error_msg(&err), "inside a frame header"));
		else
			assert_non_null(strstr(px_error_msg(&err), "short of the frame's end"));
		assert_string_equal(px_buf_cstr(&c.got[1]), "hello");
		px_error_clear(&err);
		collect_release(&c);
	}
	for (int s = 0; s < 4; s++)
		px_buf_release(&want[s]);
	px_buf_release(&wire);
}

static void test_demux_malformed_and_stop(void **state)
{
	const unsigned char bad_stream[] = {5, 0, 0, 0, 0, 0, 0, 1, 'x'};
	const unsigned char bad_pad[] = {1, 0, 1, 0, 0, 0, 0, 1, 'x'};
	const unsigned char raw[] = "plain tty output\n";
	const unsigned char two[] = {1, 0, 0, 0, 0, 0, 0, 2, 'a', 'b', 2, 0, 0, 0, 0, 0, 0, 1, 'c'};
	struct px_error err = PX_ERROR_INIT;
	struct engine_demux d = ENGINE_DEMUX_INIT;
	struct collect c = {0};

	(void)state;
	assert_int_equal(engine_demux_feed(&d, (const char *)bad_stream, sizeof(bad_stream),
					   collect_frame, &c, &err),
			 -1);
	assert_non_null(strstr(px_error_msg(&err), "malformed multiplexed stream"));
	px_error_clear(&err);
	/* the failure sticks: the rest of a broken stream is not data */
	assert_int_equal(engine_demux_feed(&d, "more", 4, collect_frame, &c, &err), -1);
	px_error_clear(&err);
	assert_int_equal(c.calls, 0);

	engine_demux_init(&d);
	assert_int_equal(
	    engine_demux_feed(&d, (const char *)bad_pad, sizeof(bad_pad), collect_frame, &c, &err),
	    -1);
	px_error_clear(&err);
	engine_demux_init(&d);
	assert_int_equal(
	    engine_demux_feed(&d, (const char *)raw, sizeof(raw) - 1, collect_frame, &c, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "TTY"));
	px_error_clear(&err);

	/* the callback stops the feed */
	engine_demux_init(&d);
	c.stop_after = 1;
	assert_int_equal(
	    engine_demux_feed(&d, (const char *)two, sizeof(two), collect_frame, &c, &err), 1);
	assert_string_equal(px_buf_cstr(&c.got[1]), "ab");
	assert_int_equal(c.got[2].len, 0);
	collect_release(&c);
}

/*
 * Encoding
 */

static char *unescape(const char *s)
{
	int n = 0;
	char *u = curl_easy_unescape(NULL, s, 0, &n);
	char *r = xstrndup(u, (size_t)n);

	curl_free(u);
	return r;
}

static void test_filters_encoding(void **state)
{
	char *q, *u;
	json_t *f;

	(void)state;
	q = engine_label_filter("com.docker.compose.project=my app");
	assert_string_equal(
	    q, "%7B%22label%22%3A%5B%22com.docker.compose.project%3Dmy%20app%22%5D%7D");
	u = unescape(q);
	assert_string_equal(u, "{\"label\":[\"com.docker.compose.project=my app\"]}");
	free(u);
	free(q);

	/* keys come out sorted, whatever the insertion order; characters that matter in a
	 * query (& = + # %) never survive unescaped */
	f = json_pack("{s:[s],s:[s,s]}", "status", "exited", "label", "a=b&c", "x+y#%");
	q = engine_filters_encode(f);
	assert_null(strpbrk(q, "&=+#{}\" "));
	u = unescape(q);
	assert_string_equal(u, "{\"label\":[\"a=b&c\",\"x+y#%\"],\"status\":[\"exited\"]}");
	free(u);
	free(q);
	json_decref(f);
}

static void test_path_escape(void **state)
{
	const struct {
		const char *in;
		bool keep_slash;
		const char *out;
	} cases[] = {
	    {"prisync-app-1", false, "prisync-app-1"},
	    {"a b/c", false, "a%20b%2Fc"},
	    {"../json", false, "..%2Fjson"},
	    {"x?y#z%", false, "x%3Fy%23z%25"},
	    {"reg:5000/team/app:1", true, "reg:5000/team/app:1"},
	    {"busybox@sha256:ab", true, "busybox@sha256:ab"},
	    {"a b?/c", true, "a%20b%3F/c"},
	    {"\xc3\xa9", false, "%C3%A9"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = engine_path_escape(cases[i].in, cases[i].keep_slash);

		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/*
 * Connection errors
 */

static void test_missing_socket(void **state)
{
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	json_t *out = NULL;
	long status = -1;

	(void)state;
	assert_int_equal(engine_open(&e, "unix:///nonexistent/x.sock", &err), 0);
	assert_null(engine_api_version(e));
	assert_string_equal(engine_host_display(e), "unix:///nonexistent/x.sock");
	assert_int_equal(engine_ping(e, &err), -1);
	assert_string_equal(
	    px_error_msg(&err),
	    "engine not reachable at unix:///nonexistent/x.sock: is dockerd running? "
	    "(No such file or directory)");
	assert_int_equal(err.errnum, ENOENT);
	px_error_clear(&err);
	/* a request pings first, and fails the same way */
	assert_int_equal(engine_request(e, "GET", "/containers/json", NULL, &status, &out, &err),
			 -1);
	assert_int_equal(status, 0);
	assert_null(out);
	assert_non_null(strstr(px_error_msg(&err), "is dockerd running?"));
	px_error_clear(&err);
	engine_free(e);
	engine_free(NULL);

	/* a bad DOCKER_HOST fails at open */
	assert_int_equal(engine_open(&e, "ssh://me@host", &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "scheme 'ssh' is not supported"));
	px_error_clear(&err);
}

static void test_dead_socket_and_tcp_refused(void **state)
{
	char dir[200], sock[240], host[260];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	int fd, tfd;

	(void)state;
	/* the socket file is there but nobody listens: dockerd died */
	make_tmpdir(dir, sizeof(dir));
	snprintf(sock, sizeof(sock), "%s/d.sock", dir);
	fd = bind_unix(sock, false);
	snprintf(host, sizeof(host), "unix://%s", sock);
	assert_int_equal(engine_open(&e, host, &err), 0);
	assert_int_equal(engine_ping(e, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "is dockerd running?"));
	assert_int_equal(err.errnum, ECONNREFUSED);
	px_error_clear(&err);
	engine_free(e);
	close(fd);
	unlink(sock);
	rmdir(dir);

	/* a bound, never listening tcp port refuses connections, and stays ours meanwhile */
	tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(tfd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(tfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(tfd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(host, sizeof(host), "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(engine_open(&e, host, &err), 0);
	assert_int_equal(engine_ping(e, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "connection refused"));
	assert_non_null(strstr(px_error_msg(&err), host));
	px_error_clear(&err);
	engine_free(e);
	close(tfd);
}

/* A socket the caller may not open: EACCES explained.  Root bypasses file modes, so
 * then the check runs in a child that became nobody. */
static void test_permission_denied(void **state)
{
	char dir[256], sock[300], host[320];
	pid_t pid;
	int fd, status = 0;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(sock, sizeof(sock), "%s/d.sock", dir);
	fd = bind_unix(sock, true);
	assert_int_equal(chmod(sock, 0600), 0);
	snprintf(host, sizeof(host), "unix://%s", sock);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct engine *e = NULL;
		struct px_error err = PX_ERROR_INIT;
		int ok;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		if (engine_open(&e, host, &err) < 0)
			_exit(3);
		ok = engine_ping(e, &err) == -1 &&
		     strstr(px_error_msg(&err), "permission denied on unix://") != NULL &&
		     strstr(px_error_msg(&err),
			    "add your user to the 'docker' group or run as root") != NULL;
		if (!ok)
			fprintf(stderr, "got: %s\n", px_error_msg(&err));
		px_error_clear(&err);
		engine_free(e);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fd);
	unlink(sock);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A canned-answer HTTP server on a private socket: it answers the i-th connection with
 * the i-th answer, records each request, and closes (the answers say Connection: close).
 */

#define FAKE_MAX 16

struct fake {
	char dir[256];
	char sock[300];
	char host[320];
	int lfd;
	const char *answers[FAKE_MAX];
	size_t lens[FAKE_MAX];
	size_t n;
	char *requests[FAKE_MAX]; /* head and body of each request received */
	size_t got;
	pthread_t th;
};

static char *answer(int status, const char *headers, const char *body)
{
	char *s;

	xasprintf(&s,
		  "HTTP/1.1 %d X\r\nApi-Version: 1.41\r\n%sContent-Length: %zu\r\nConnection: "
		  "close\r\n\r\n%s",
		  status, headers, strlen(body), body);
	return s;
}

static const char *ping_ok(const char *version)
{
	static char buf[FAKE_MAX][160];
	static int next;
	char *s = buf[next++ % FAKE_MAX];

	snprintf(s, 160,
		 "HTTP/1.1 200 OK\r\nApi-Version: %s\r\nContent-Length: 2\r\nConnection: "
		 "close\r\n\r\nOK",
		 version);
	return s;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->n; i++) {
		struct pollfd p = {.fd = f->lfd, .events = POLLIN};
		struct px_buf req = PX_BUF_INIT;
		char buf[4096], *end, *cl;
		size_t want = 0;
		ssize_t r;
		int c;

		if (poll(&p, 1, 5000) != 1)
			break; /* the client gave up early: the test fails on its own */
		c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			break;
		for (;;) {
			end = req.data != NULL ? strstr(req.data, "\r\n\r\n") : NULL;
			if (end != NULL) {
				cl = strcasestr(req.data, "\r\nContent-Length:");
				want = (size_t)(end + 4 - req.data) +
				       (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
				if (req.len >= want)
					break;
			}
			r = read(c, buf, sizeof(buf));
			if (r <= 0)
				break;
			px_buf_add(&req, buf, (size_t)r);
		}
		f->requests[f->got++] = px_buf_detach(&req, NULL);
		if (write(c, f->answers[i], f->lens[i]) < 0)
			break;
		close(c);
	}
	return NULL;
}

/* A listening loopback tcp socket on a free port, its address in host. */
static int listen_tcp(char *host, size_t size)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(host, size, "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
	return fd;
}

/* lens (may be NULL) gives the length of answers that hold NUL bytes; 0 means strlen.
 * tcp: listen on loopback instead of a socket in a private directory. */
static void fake_start_n(struct fake *f, const char *const *answers, const size_t *lens, size_t n,
			 bool tcp)
{
	memset(f, 0, sizeof(*f));
	assert_true(n <= FAKE_MAX);
	if (tcp) {
		f->lfd = listen_tcp(f->host, sizeof(f->host));
	} else {
		make_tmpdir(f->dir, sizeof(f->dir));
		snprintf(f->sock, sizeof(f->sock), "%s/d.sock", f->dir);
		snprintf(f->host, sizeof(f->host), "unix://%s", f->sock);
		f->lfd = bind_unix(f->sock, true);
	}
	for (size_t i = 0; i < n; i++) {
		f->answers[i] = answers[i];
		f->lens[i] = lens != NULL && lens[i] != 0 ? lens[i] : strlen(answers[i]);
	}
	f->n = n;
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_start(struct fake *f, const char *const *answers, size_t n)
{
	fake_start_n(f, answers, NULL, n, false);
}

/* Wait for the server to finish; its requests stay readable until fake_release. */
static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	if (f->sock[0] != '\0') {
		unlink(f->sock);
		rmdir(f->dir);
	}
}

static void fake_release(struct fake *f)
{
	for (size_t i = 0; i < f->got; i++)
		free(f->requests[i]);
	f->got = 0;
}

/* The i-th request starts with line (method, path, version). */
static void assert_request_line(const struct fake *f, size_t i, const char *line)
{
	size_t n = strlen(line);

	assert_true(i < f->got);
	if (strncmp(f->requests[i], line, n) != 0 ||
	    strncmp(f->requests[i] + n, " HTTP/1.1\r\n", 11) != 0)
		fail_msg("request %zu is '%.*s', want '%s'", i, (int)strcspn(f->requests[i], "\r"),
			 f->requests[i], line);
}

static void test_negotiation(void **state)
{
	const struct {
		const char *engine, *use, *error;
	} cases[] = {
	    {"1.41", "1.41", NULL},
	    {"1.43", "1.43", NULL},
	    {"1.47", "1.47", NULL},
	    {"1.51", "1.47", NULL},
	    {"1.100", "1.47", NULL},
	    {"1.40", NULL, "older than 1.41"},
	    {"banana", NULL, "without a valid Api-Version"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *answers[2];
		char *list = answer(200, "Content-Type: application/json\r\n", "[]");
		struct fake f;
		struct engine *e = NULL, *d = NULL;
		struct px_error err = PX_ERROR_INIT;
		json_t *out = NULL;
		char line[64];
		long status = 0;

		answers[0] = ping_ok(cases[i].engine);
		answers[1] = list;
		fake_start(&f, answers, cases[i].use != NULL ? 2 : 1);
		assert_int_equal(engine_open(&e, f.host, &err), 0);
		if (cases[i].use == NULL) {
			assert_int_equal(engine_ping(e, &err), -1);
			if (strstr(px_error_msg(&err), cases[i].error) == NULL)
				fail_msg("engine %s: '%s' lacks '%s'", cases[i].engine,
					 px_error_msg(&err), cases[i].error);
			assert_null(engine_api_version(e));
		} else {
			assert_int_equal(engine_ping(e, &err), 0);
			assert_string_equal(engine_api_version(e), cases[i].use);
			/* a duplicate shares the negotiated version and needs no ping of its own */
			assert_int_equal(engine_dup(e, &d, &err), 0);
			assert_string_equal(engine_api_version(d), cases[i].use);
			assert_int_equal(engine_request(d, "GET", "/containers/json?all=1", NULL,
							&status, &out, &err),
					 0);
			assert_int_equal(status, 200);
			assert_true(json_is_array(out));
		}
		fake_stop(&f);
		assert_request_line(&f, 0, "GET /_ping");
		if (cases[i].use != NULL) {
			snprintf(line, sizeof(line), "GET /v%s/containers/json?all=1",
				 cases[i].use);
			assert_request_line(&f, 1, line);
		}
		fake_release(&f);
		json_decref(out);
		px_error_clear(&err);
		engine_free(d);
		engine_free(e);
		free(list);
	}
}

static void test_errors_surface(void **state)
{
	char *a[9];
	const char *answers[10];
	struct fake f;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	json_t *out = NULL;
	long status = 0;
	char *id = NULL;
	json_t *cfg = json_pack("{s:s,s:[s]}", "Image", "eng-h/bb:1", "Cmd", "true");
	int code = -1;

	(void)state;
	a[0] = answer(404, "Content-Type: application/json\r\n",
		      "{\"message\":\"No such container: abc\"}\n");
	a[1] = answer(404, "", "{\"message\":\"No such container: abc\"}");
	a[2] = answer(404, "", "{\"message\":\"No such image: nope:1\"}");
	a[3] = answer(404, "", "{\"message\":\"No such container: abc\"}");
	a[4] = answer(304, "", "");
	a[5] = answer(409, "",
		      "{\"message\":\"Conflict. The container name \\\"/my app\\\" is already in "
		      "use by container "
		      "\\\"0123\\\".\"}");
	a[6] = answer(500, "Content-Type: text/plain\r\n", "something broke\nsecond line");
	a[7] = answer(201, "", "{\"Id\":\"4f00d\",\"Warnings\":[]}");
	a[8] = answer(200, "", "{\"StatusCode\":3,\"Error\":null}");
	answers[0] = ping_ok("1.41");
	for (int i = 0; i < 9; i++)
		answers[i + 1] = a[i];
	fake_start(&f, answers, 10);
	assert_int_equal(engine_open(&e, f.host, &err), 0);

	/* the engine's message as-is, and the status for the caller */
	assert_int_equal(
	    engine_request(e, "GET", "/containers/abc/json", NULL, &status, &out, &err), -1);
	assert_int_equal(status, 404);
	assert_null(out);
	assert_string_equal(px_error_msg(&err), "engine: No such container: abc");
	px_error_clear(&err);
	/* lookups say "not found" distinctly and leave err clear */
	assert_int_equal(engine_container_inspect(e, "abc", &out, &err), ENGINE_NOT_FOUND);
	assert_null(out);
	assert_null(err.msg);
	assert_int_equal(engine_image_inspect(e, "nope:1", &out, &err), ENGINE_NOT_FOUND);
	assert_null(err.msg);
	/* already gone, already running: success */
	assert_int_equal(engine_container_remove(e, "/abc", true, true, &err),
			 0); /* a listed name */
	assert_null(err.msg);
	assert_int_equal(engine_container_start(e, "abc", &err), 0);
	assert_null(err.msg);
	/* a name conflict says so, with the engine's words */
	assert_int_equal(engine_container_create(e, "my app", cfg, &id, &err), -1);
	assert_null(id);
	assert_non_null(strstr(px_error_msg(&err),
			       "cannot create container 'my app': the name is already in use"));
	assert_non_null(
	    strstr(px_error_msg(&err), "engine: Conflict. The container name \"/my app\""));
	px_error_clear(&err);
	/* a body that is not JSON: its first line */
	assert_int_equal(engine_request(e, "POST", "/x", NULL, &status, NULL, &err), -1);
	assert_int_equal(status, 500);
	assert_string_equal(px_error_msg(&err), "engine: HTTP 500: something broke");
	px_error_clear(&err);
	assert_int_equal(engine_container_create(e, NULL, cfg, &id, &err), 0);
	assert_string_equal(id, "4f00d");
	assert_int_equal(engine_container_wait(e, id, &code, &err), 0);
	assert_int_equal(code, 3);

	fake_stop(&f);
	assert_int_equal(f.got, 10);
	assert_request_line(&f, 2, "GET /v1.41/containers/abc/json");
	assert_request_line(&f, 3, "GET /v1.41/images/nope:1/json");
	assert_request_line(&f, 4, "DELETE /v1.41/containers/abc?force=1&v=1");
	assert_request_line(&f, 5, "POST /v1.41/containers/abc/start");
	/* an empty POST still says how long it is */
	assert_non_null(strcasestr(f.requests[5], "\r\nContent-Length: 0\r\n"));
	assert_request_line(&f, 6, "POST /v1.41/containers/create?name=my%20app");
	assert_non_null(strcasestr(f.requests[6], "\r\nContent-Type: application/json\r\n"));
	assert_non_null(
	    strstr(f.requests[6], "\r\n\r\n{\"Image\":\"eng-h/bb:1\",\"Cmd\":[\"true\"]}"));
	assert_request_line(&f, 8, "POST /v1.41/containers/create");
	assert_request_line(&f, 9, "POST /v1.41/containers/4f00d/wait");
	fake_release(&f);
	free(id);
	json_decref(cfg);
	engine_free(e);
	for (int i = 0; i < 9; i++)
		free(a[i]);
}

static void test_logs_and_lists(void **state)
{
	struct px_buf wire = PX_BUF_INIT,
		      want[4] = {PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT, PX_BUF_INIT};
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	const struct frame frames[] = {{1, "out\n", 4}, {2, "err\n", 4}, {1, "more out\n", 9}};
	struct fake f;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	const char *answers[8];
	size_t lens[8] = {0};
	char *a[7];
	json_t *list = NULL;

	(void)state;
	build_stream(frames, 3, &wire, want);
	a[0] = answer(200, "", "{\"Id\":\"c1\",\"Config\":{\"Tty\":false}}");
	a[1] = xmalloc(256 + wire.len);
	snprintf(a[1], 256 + wire.len,
		 "HTTP/1.1 200 OK\r\nContent-Type: "
		 "application/vnd.docker.raw-stream\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 wire.len);
	lens[2] = strlen(a[1]) + wire.len;
	memcpy(a[1] + strlen(a[1]), wire.data, wire.len);
	a[2] = answer(200, "", "{\"Id\":\"c2\",\"Config\":{\"Tty\":true}}");
	a[3] = answer(200, "", "tty says hi\r\n");
	a[4] = answer(200, "", "[{\"Id\":\"c1\"}]");
	a[5] = answer(200, "", "{\"Volumes\":null,\"Warnings\":null}");
	a[6] = answer(200, "", "[]");
	answers[0] = ping_ok("1.47");
	for (int i = 0; i < 7; i++)
		answers[i + 1] = a[i];
	fake_start_n(&f, answers, lens, 8, false);
	assert_int_equal(engine_open(&e, f.host, &err), 0);

	/* the demuxed streams land apart; the answer's bytes contain headers of 8 bytes each
	 * with zeros, so this also proves the body is not treated as a C string */
	assert_int_equal(engine_container_logs(e, "c1", true, true, -1, &out, &errout, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "out\nmore out\n");
	assert_string_equal(px_buf_cstr(&errout), "err\n");
	/* a TTY's log is raw, and all of it is stdout */
	px_buf_reset(&out);
	px_buf_reset(&errout);
	assert_int_equal(engine_container_logs(e, "c2", true, true, 10, &out, &errout, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "tty says hi\r\n");
	assert_int_equal(errout.len, 0);

	assert_int_equal(
	    engine_container_list(e, "com.docker.compose.project=p1", true, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	/* null Volumes reads as an empty list */
	assert_int_equal(engine_volume_list(e, "k", &list, &err), 0);
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(engine_network_list(e, NULL, &list, &err), 0);
	json_decref(list);

	fake_stop(&f);
	assert_int_equal(f.got, 8);
	assert_request_line(&f, 2, "GET /v1.47/containers/c1/logs?stdout=1&stderr=1&tail=all");
	assert_request_line(&f, 4, "GET /v1.47/containers/c2/logs?stdout=1&stderr=1&tail=10");
	assert_request_line(&f, 5,
			    "GET /v1.47/containers/json?all=1&filters="
			    "%7B%22label%22%3A%5B%22com.docker.compose.project%3Dp1%22%5D%7D");
	assert_request_line(&f, 6, "GET /v1.47/volumes?filters=%7B%22label%22%3A%5B%22k%22%5D%7D");
	assert_request_line(&f, 7, "GET /v1.47/networks");
	fake_release(&f);
	engine_free(e);
	for (int i = 0; i < 7; i++)
		free(a[i]);
	for (int s = 0; s < 4; s++)
		px_buf_release(&want[s]);
	px_buf_release(&wire);
	px_buf_release(&out);
	px_buf_release(&errout);
}

struct chunks {
	struct px_buf all;
	int calls;
	int stop_at;
};

static int count_chunks(const char *buf, size_t len, void *data)
{
	struct chunks *c = data;

	px_buf_add(&c->all, buf, len);
	return ++c->calls == c->stop_at;
}

static void test_stream_stop_and_interrupt(void **state)
{
	char *a[2];
	const char *answers[3];
	struct fake f;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct chunks c = {.all = PX_BUF_INIT, .stop_at = 0};
	long status = 0;

	(void)state;
	a[0] = answer(200, "", "{\"status\":\"start\"}\n{\"status\":\"die\"}\n");
	a[1] = answer(404, "", "{\"message\":\"page not found\"}");
	answers[0] = ping_ok("1.41");
	answers[1] = a[0];
	answers[2] = a[1];
	fake_start(&f, answers, 3);
	assert_int_equal(engine_open(&e, f.host, &err), 0);
	assert_int_equal(engine_stream(e, "GET", "/events", NULL, count_chunks, &c, &status, &err),
			 0);
	assert_int_equal(status, 200);
	assert_string_equal(px_buf_cstr(&c.all), "{\"status\":\"start\"}\n{\"status\":\"die\"}\n");
	/* a non-2xx answer never reaches the callback */
	px_buf_reset(&c.all);
	c.calls = 0;
	assert_int_equal(engine_stream(e, "GET", "/nope", NULL, count_chunks, &c, &status, &err),
			 -1);
	assert_int_equal(status, 404);
	assert_int_equal(c.calls, 0);
	assert_string_equal(px_error_msg(&err), "engine: page not found");
	px_error_clear(&err);
	fake_stop(&f);
	fake_release(&f);

	/* after engine_interrupt nothing more goes out */
	engine_interrupt(e);
	assert_int_equal(engine_stream(e, "GET", "/events", NULL, count_chunks, &c, &status, &err),
			 1);
	assert_int_equal(engine_request(e, "GET", "/info", NULL, &status, NULL, &err), -1);
	assert_int_equal(err.errnum, ECANCELED);
	px_error_clear(&err);
	engine_free(e);
	px_buf_release(&c.all);
	free(a[0]);
	free(a[1]);
}

/* A callback that stops the transfer: engine_stream says 1, not failure. */
static void test_stream_callback_stops(void **state)
{
	char *a = answer(200, "", "0123456789");
	const char *answers[2] = {ping_ok("1.41"), a};
	struct fake f;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct chunks c = {.all = PX_BUF_INIT, .stop_at = 1};

	(void)state;
	fake_start(&f, answers, 2);
	assert_int_equal(engine_open(&e, f.host, &err), 0);
	assert_int_equal(engine_stream(e, "GET", "/events", NULL, count_chunks, &c, NULL, &err), 1);
	assert_null(err.msg);
	assert_int_equal(c.calls, 1);
	fake_stop(&f);
	fake_release(&f);
	engine_free(e);
	px_buf_release(&c.all);
	free(a);
}

/* tcp hosts take the same path, with the host in the URL and no socket option */
static void test_tcp_request(void **state)
{
	char *a = answer(200, "", "{\"ID\":\"x\"}");
	const char *answers[2] = {ping_ok("1.45"), a};
	struct fake f;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	json_t *out = NULL;
	char *want = NULL;

	(void)state;
	unsetenv("DOCKER_TLS_VERIFY");
	fake_start_n(&f, answers, NULL, 2, true);
	assert_int_equal(engine_open(&e, f.host, &err), 0);
	assert_string_equal(engine_host_display(e), f.host);
	assert_int_equal(engine_request(e, "GET", "/info", NULL, NULL, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "ID")), "x");
	assert_string_equal(engine_api_version(e), "1.45");
	fake_stop(&f);
	assert_request_line(&f, 1, "GET /v1.45/info");
	xasprintf(&want, "\r\nHost: %s\r\n", f.host + strlen("tcp://"));
	assert_non_null(strstr(f.requests[1], want));
	free(want);
	fake_release(&f);
	json_decref(out);
	engine_free(e);
	free(a);
}

static void test_bad_arguments(void **state)
{
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;
	json_t *out = NULL, *labels;

	(void)state;
	/* rejected before any request: the socket does not exist and is never tried */
	assert_int_equal(engine_open(&e, "unix:///nonexistent/x.sock", &err), 0);
	assert_int_equal(engine_container_start(e, "", &err), -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot start container: container id must not be empty");
	px_error_clear(&err);
	assert_int_equal(engine_container_inspect(e, NULL, &out, &err), -1);
	px_error_clear(&err);
	assert_int_equal(engine_volume_remove(e, "", false, &err), -1);
	px_error_clear(&err);
	labels = json_pack("{s:s,s:i}", "ok", "yes", "n", 1);
	assert_int_equal(engine_network_create(e, "net", labels, NULL, &err), -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot create network 'net': label 'n' must be a string");
	px_error_clear(&err);
	assert_int_equal(engine_volume_create(e, "vol", json_object_get(labels, "ok"), NULL, &err),
			 -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot create volume 'vol': labels must be a JSON object");
	px_error_clear(&err);
	json_decref(labels);
	assert_int_equal(engine_request(e, "GET", "containers/json", NULL, NULL, NULL, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "must start with '/'"));
	px_error_clear(&err);
	engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_parse_table),
	    cmocka_unit_test(test_version_cmp_table),
	    cmocka_unit_test(test_demux_every_split),
	    cmocka_unit_test(test_demux_byte_by_byte),
	    cmocka_unit_test(test_demux_truncated),
	    cmocka_unit_test(test_demux_malformed_and_stop),
	    cmocka_unit_test(test_filters_encoding),
	    cmocka_unit_test(test_path_escape),
	    cmocka_unit_test(test_missing_socket),
	    cmocka_unit_test(test_dead_socket_and_tcp_refused),
	    cmocka_unit_test(test_permission_denied),
	    cmocka_unit_test(test_negotiation),
	    cmocka_unit_test(test_errors_surface),
	    cmocka_unit_test(test_logs_and_lists),
	    cmocka_unit_test(test_stream_stop_and_interrupt),
	    cmocka_unit_test(test_stream_callback_stops),
	    cmocka_unit_test(test_tcp_request),
	    cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
