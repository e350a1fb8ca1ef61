/* test_engine_tls.c - prisync's engine client against a second private dockerd listening on
 * tcp://127.0.0.1:<port> with --tlsverify (tests/harness/tls-engine.sh makes its certificates
 * with openssl, runs it and cleans up after it): ping, a container's life on a user-defined
 * network, and each way a TLS setup goes wrong, failing fast with a message that says what. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/path.h"
#include "base/proc.h"
#include "tests/harness/harness.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A TLS failure is the handshake's verdict, never a timeout: a failing call must return
 * within this, or the test fails (instead of hanging). */
#define FAIL_FAST_MS 2000
/* dockerd's start (first time: a new data root) and its image load */
#define START_TIMEOUT_MS 60000
#define LOAD_TIMEOUT_MS  120000
/* dockerd stops within its containers' stop timeout (10 s); there are none left by then */
#define STOP_TIMEOUT_MS 30000

/* The second engine, shared by every test of the group.  dockerd is our child: setpriv
 * --pdeathsig TERM, which execs the script, which execs dockerd. */
static struct {
	const char *missing;     /* why there is none here: skip (CI=true: the group fails) */
	struct harness_dir dir;  /* pki/, docker/ (data root), dockerd.log, certs/<name>/ */
	char *rundir;            /* /run/prisync-test/tls-XXXXXX: exec root, unix socket */
	char *script;            /* tests/harness/tls-engine.sh */
	unsigned port;           /* of host */
	char *host;              /* tcp://127.0.0.1:<port> */
	char *certs;             /* a good DOCKER_CERT_PATH: the test CA and a client of it */
	struct px_proc *dockerd; /* see above */
	struct engine *engine;   /* prisync's client on host with certs */
	char *harness_host;      /* DOCKER_HOST of the harness engine, restored after each test */
	struct harness_dir stack_dir; /* of the test that runs the prisync binary */
} tls;

/*
 * The engine's life
 */

/* Run tls-engine.sh with args (NULL-terminated), both streams into out; returns its exit
 * code, or -1 when it could not run or timed out (the reason appended to out). */
static int run_script(struct px_buf *out, int timeout_ms, ...)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	const char *argv[8];
	size_t argc = 0;
	int code = -1;
	va_list ap;

	argv[argc++] = tls.script;
	va_start(ap, timeout_ms);
	for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
		if (argc + 1 >= NELEM(argv))
			abort();
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	o.argv = argv;
	o.in = PX_PROC_NULL;
	o.merge_err = true;
	if (px_proc_run(&o, out, NULL, &code, timeout_ms, &err) < 0) {
		px_buf_addf(out, "%s\n", px_error_msg(&err));
		code = -1;
	}
	px_error_clear(&err);
	return code;
}

/* A port nobody listens on now (dockerd may still lose it to someone: the caller retries). */
static unsigned free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool dockerd_exited(void *data)
{
	(void)data;
	return px_proc_try_wait(tls.dockerd, NULL) != 0;
}

/* Polled while dockerd starts: true once it answers /_ping over TLS, or has died. */
static bool dockerd_ready_or_dead(void *data)
{
	struct px_buf out = PX_BUF_INIT;
	char port[16];
	bool ok;

	(void)data;
	if (dockerd_exited(NULL))
		return true;
	snprintf(port, sizeof(port), "%u", tls.port);
	ok = run_script(&out, 5000, "ping", tls.dir.root, port, NULL) == 0;
	px_buf_release(&out);
	return ok;
}

/* The end of dockerd.log (owned), for messages. */
static char *dockerd_log_tail(void)
{
	struct px_buf log = PX_BUF_INIT;
	char *path = px_path_join(tls.dir.root, "dockerd.log"), *tail;
	size_t from;

	if (px_path_read_file(path, &log, NULL) < 0)
		px_buf_adds(&log, "(no dockerd.log)");
	from = log.len > 3000 ? log.len - 3000 : 0;
	tail = xstrdup(px_buf_cstr(&log) + from);
	px_buf_release(&log);
	free(path);
	return tail;
}

/* Copy the pki/ files given (relative to pki/, NULL: left out) into certs/<name>/ as ca.pem,
 * cert.pem and key.pem: a DOCKER_CERT_PATH (owned). */
static char *cert_dir(const char *name, const char *ca, const char *cert, const char *key)
{
	const char *src[] = {ca, cert, key}, *dst[] = {"ca.pem", "cert.pem", "key.pem"};
	struct px_error err = PX_ERROR_INIT;
	char *dir = NULL;

	xasprintf(&dir, "%s/certs/%s", tls.dir.root, name);
	if (px_path_mkdir_p(dir, 0700, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	for (size_t i = 0; i < NELEM(src); i++) {
		struct px_buf data = PX_BUF_INIT;
		char *from = NULL, *to = NULL;

		if (src[i] == NULL)
			continue;
		xasprintf(&from, "%s/pki/%s", tls.dir.root, src[i]);
		xasprintf(&to, "%s/%s", dir, dst[i]);
		if (px_path_read_file(from, &data, &err) < 0 ||
		    px_path_write_file_atomic(to, data.data, data.len, 0600, &err) < 0)
			fail_msg("%s", px_error_msg(&err));
		px_buf_release(&data);
		free(from);
		free(to);
	}
	return dir;
}

/* engine_open as a user would: DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH=certs in the
 * environment (only for the call). */
static int open_tls(const char *host, const char *certs, struct engine **out, struct px_error *err)
{
	int rc;

	setenv("DOCKER_TLS_VERIFY", "1", 1);
	setenv("DOCKER_CERT_PATH", certs, 1);
	rc = engine_open(out, host, err);
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
	return rc;
}

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	copy = xstrdup(path != NULL ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin");
	for (char *d = strtok_r(copy, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = px_path_join(d, name);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* What this machine lacks for the test (NULL: nothing). */
static const char *missing_piece(void)
{
	static const char *const tools[] = {"dockerd", "containerd", "docker",
					    "openssl", "curl",       "setpriv"};
	static const char *const vars[] = {"PRISYNC_SOURCE_DIR", "DOCKER_HOST",
					   "PRISYNC_TEST_IMAGE_BUSYBOX", "PRISYNC_TEST_RUN"};
	static char why[128];

	if (getenv("PRISYNC_TEST_NO_HARNESS") != NULL)
		return "the harness is missing components";
	if (geteuid() != 0)
		return "not root: only root can start a second private dockerd";
	for (size_t i = 0; i < NELEM(tools); i++) {
		if (!in_path(tools[i])) {
			snprintf(why, sizeof(why), "'%s' is not installed", tools[i]);
			return why;
		}
	}
	for (size_t i = 0; i < NELEM(vars); i++) {
		const char *v = getenv(vars[i]);

		if (v == NULL || *v == '\0') {
			snprintf(why, sizeof(why), "%s is not set (run through tests/run.sh)",
				 vars[i]);
			return why;
		}
	}
	return NULL;
}

/* Certificates, dockerd (retried when the port it was given got taken), the busybox image,
 * and prisync's client on it.  -1 with the reason printed. */
static int tls_engine_start(void)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	char port[16], *tail = NULL, *owner = NULL, *owner_line = NULL;
	int ret = -1;

	harness_dir_create(&tls.dir);
	xasprintf(&tls.script, "%s/tests/harness/tls-engine.sh", getenv("PRISYNC_SOURCE_DIR"));
	/* what tests killed before their teardown left behind (their dockerd died with them) */
	if (run_script(&out, 120000, "sweep", NULL) != 0)
		print_message("tls-engine.sh sweep: %s\n", px_buf_cstr(&out));
	px_buf_reset(&out);
	if (mkdir("/run/prisync-test", 0755) < 0 && errno != EEXIST) {
		print_error("mkdir '/run/prisync-test': %s\n", strerror(errno));
		goto out;
	}
	tls.rundir = xstrdup("/run/prisync-test/tls-XXXXXX");
	if (mkdtemp(tls.rundir) == NULL) {
		print_error("mkdtemp '%s': %s\n", tls.rundir, strerror(errno));
		free(tls.rundir);
		tls.rundir = NULL;
		goto out;
	}
	owner = px_path_join(tls.rundir, "owner");
	xasprintf(&owner_line, "%d %s\n", (int)getpid(), tls.dir.root);
	if (px_path_write_file_atomic(owner, owner_line, strlen(owner_line), 0644, &err) < 0) {
		print_error("%s\n", px_error_msg(&err));
		goto out;
	}
	if (run_script(&out, 60000, "certs", tls.dir.root, NULL) != 0) {
		print_error("tls-engine.sh certs: %s\n", px_buf_cstr(&out));
		goto out;
	}
	for (int attempt = 1;; attempt++) {
		const char *argv[] = {"setpriv", "--pdeathsig", "TERM", "--",       tls.script,
				      "run",     tls.dir.root,  port,   tls.rundir, NULL};
		/* dockerd dies with this process, whatever kills it: no engine outlives a
		 * crashed test */
		struct px_proc_opts o = {
		    .argv = argv, .in = PX_PROC_NULL, .out = PX_PROC_NULL, .err = PX_PROC_NULL};

		tls.port = free_port();
		snprintf(port, sizeof(port), "%u", tls.port);
		if (px_proc_spawn(&tls.dockerd, &o, &err) < 0) {
			print_error("%s\n", px_error_msg(&err));
			goto out;
		}
		harness_poll(dockerd_ready_or_dead, NULL, START_TIMEOUT_MS);
		if (!dockerd_exited(NULL) && dockerd_ready_or_dead(NULL))
			break;
		free(tail);
		tail = dockerd_log_tail();
		if (dockerd_exited(NULL) && strstr(tail, "address already in use") != NULL &&
		    attempt < 3) {
			px_proc_free(tls.dockerd);
			tls.dockerd = NULL;
			continue;
		}
		print_error("the TLS dockerd did not answer /_ping on 127.0.0.1:%s within %d ms "
			    "(%s); dockerd.log ends:\n%s\n",
			    port, START_TIMEOUT_MS, dockerd_exited(NULL) ? "it exited" : "running",
			    tail);
		goto out;
	}
	xasprintf(&tls.host, "tcp://127.0.0.1:%u", tls.port);
	px_buf_reset(&out);
	if (run_script(&out, LOAD_TIMEOUT_MS, "load", tls.rundir,
		       getenv("PRISYNC_TEST_IMAGE_BUSYBOX"), NULL) != 0) {
		print_error("loading the busybox image into the TLS engine: %s\n",
			    px_buf_cstr(&out));
		goto out;
	}
	tls.certs = cert_dir("client", "ca/ca.pem", "client/cert.pem", "client/key.pem");
	if (open_tls(tls.host, tls.certs, &tls.engine, &err) < 0 ||
	    engine_ping(tls.engine, &err) < 0) {
		print_error("prisync's client on %s: %s\n", tls.host, px_error_msg(&err));
		goto out;
	}
	ret = 0;
out:
	px_error_clear(&err);
	px_buf_release(&out);
	free(tail);
	free(owner);
	free(owner_line);
	return ret;
}

/* Remove every container and user-defined network of the TLS engine: all of them are ours.
 * Returns how many could not be removed. */
static int tls_engine_prune(void)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL, *item;
	size_t i;
	int failures = 0;

	if (tls.engine == NULL)
		return 0;
	if (engine_container_list(tls.engine, NULL, true, &list, &err) < 0) {
		print_error("listing containers: %s\n", px_error_msg(&err));
		px_error_clear(&err);
		return 1;
	}
	json_array_foreach(list, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "Id"));

		if (engine_container_remove(tls.engine, id, true, true, &err) < 0) {
			print_error("removing container '%s': %s\n", id, px_error_msg(&err));
			px_error_clear(&err);
			failures++;
		}
	}
	json_decref(list);
	list = NULL;
	if (engine_network_list(tls.engine, NULL, &list, &err) < 0) {
		print_error("listing networks: %s\n", px_error_msg(&err));
		px_error_clear(&err);
		return failures + 1;
	}
	json_array_foreach(list, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "Name"));

		if (strcmp(name, "host") == 0 || strcmp(name, "none") == 0 ||
		    strcmp(name, "bridge") == 0)
			continue;
		if (engine_network_remove(tls.engine, name, &err) < 0) {
			print_error("removing network '%s': %s\n", name, px_error_msg(&err));
			px_error_clear(&err);
			failures++;
		}
	}
	json_decref(list);
	return failures;
}

/* Always: what runs on the engine, dockerd (SIGTERM, bounded wait, SIGKILL), whatever it
 * left (containerd, shims, mounts: the script), its dirs.  Returns the number of failures. */
static int tls_engine_stop(void)
{
	struct px_buf out = PX_BUF_INIT;
	int failures = tls_engine_prune();

	engine_free(tls.engine);
	tls.engine = NULL;
	if (tls.dockerd != NULL) {
		if (!dockerd_exited(NULL)) {
			px_proc_kill(tls.dockerd, SIGTERM);
			if (!harness_poll(dockerd_exited, NULL, STOP_TIMEOUT_MS)) {
				print_error(
				    "the TLS dockerd ignored SIGTERM for %d ms: killing it\n",
				    STOP_TIMEOUT_MS);
				failures++;
			}
		}
		px_proc_free(tls.dockerd); /* SIGKILL and reap, if it is still there */
		tls.dockerd = NULL;
	}
	if (tls.rundir != NULL) {
		if (run_script(&out, 60000, "clean", tls.dir.root, tls.rundir, NULL) != 0) {
			print_error("tls-engine.sh clean: %s\n", px_buf_cstr(&out));
			failures++;
		}
		free(tls.rundir);
		tls.rundir = NULL;
	}
	harness_dir_remove(&tls.dir);
	free(tls.harness_host);
	tls.harness_host = NULL;
	free(tls.script);
	free(tls.host);
	free(tls.certs);
	tls.script = tls.host = tls.certs = NULL;
	px_buf_release(&out);
	return failures;
}

static int group_setup(void **state)
{
	const char *ci = getenv("CI");

	(void)state;
	tls.missing = missing_piece();
	if (tls.missing == NULL) {
		tls.harness_host = xstrdup(getenv("DOCKER_HOST"));
		return tls_engine_start();
	}
	if (ci != NULL && strcmp(ci, "true") == 0) {
		print_error("TLS engine: %s (CI=true: a missing component fails)\n", tls.missing);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return tls_engine_stop() == 0 ? 0 : -1;
}

/* The environment the prisync binary inherits, pointed at the TLS engine (certs NULL: no
 * TLS variables, as a user who forgot them)... */
static void env_tls(const char *certs)
{
	setenv("DOCKER_HOST", tls.host, 1);
	if (certs != NULL) {
		setenv("DOCKER_TLS_VERIFY", "1", 1);
		setenv("DOCKER_CERT_PATH", certs, 1);
	} else {
		unsetenv("DOCKER_TLS_VERIFY");
		unsetenv("DOCKER_CERT_PATH");
	}
}

/* ... and back at the harness engine. */
static void env_harness(void)
{
	if (tls.harness_host != NULL)
		setenv("DOCKER_HOST", tls.harness_host, 1);
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
}

static int teardown(void **state)
{
	(void)state;
	env_harness();
	harness_dir_remove(&tls.stack_dir);
	return tls_engine_prune() == 0 ? 0 : -1;
}

static void need_engine(void)
{
	if (tls.missing != NULL) {
		print_message("TLS engine: %s; skipping\n", tls.missing);
		skip();
	}
}

/*
 * A call in a child process, bounded in time
 */

struct ping_opts {
	const char *host;
	const char *certs;     /* DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=certs; NULL: neither */
	const char *system_ca; /* bind-mounted over /etc/ssl/certs (private mount namespace) */
	bool tty; /* a controlling terminal, where OpenSSL would ask for a pass phrase */
};

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* The child: report "0<version>", "1<error>" or "2<why the child could not be set up>". */
static void __attribute__((noreturn)) ping_child(const struct ping_opts *o, int fd)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	struct engine *e = NULL;
	int rc;

	if (o->certs != NULL) {
		setenv("DOCKER_TLS_VERIFY", "1", 1);
		setenv("DOCKER_CERT_PATH", o->certs, 1);
	} else {
		unsetenv("DOCKER_TLS_VERIFY");
		unsetenv("DOCKER_CERT_PATH");
	}
	if (o->system_ca != NULL &&
	    (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	     mount(o->system_ca, "/etc/ssl/certs", NULL, MS_BIND, NULL) < 0)) {
		px_buf_addf(&b, "2system CA dir over /etc/ssl/certs: %s", strerror(errno));
		goto report;
	}
	if (o->tty) {
		int m = posix_openpt(O_RDWR | O_NOCTTY);

		/* the first terminal a session leader opens becomes its controlling one */
		if (m < 0 || setsid() < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
		    open(ptsname(m), O_RDWR) < 0) {
			px_buf_addf(&b, "2controlling terminal: %s", strerror(errno));
			goto report;
		}
	}
	rc = engine_open(&e, o->host, &err);
	if (rc == 0)
		rc = engine_ping(e, &err);
	if (rc == 0)
		px_buf_addf(&b, "0%s", engine_api_version(e));
	else
		px_buf_addf(&b, "1%s", px_error_msg(&err));
report:
	write_all(fd, b.data, b.len);
	_exit(0);
}

/* engine_open + engine_ping as o says, in a child process that must be done within
 * timeout_ms, else the test fails (rather than hangs).  0 with *msg the negotiated version,
 * or -1 with *msg the error (owned). */
static int bounded_ping(const struct ping_opts *o, int timeout_ms, char **msg)
{
	struct px_buf b = PX_BUF_INIT;
	struct timespec start, now;
	int fds[2], status = 0;
	bool done = false;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		fail_msg("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		ping_child(o, fds[1]);
	}
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!done) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		char chunk[4096];
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			break;
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			done = true;
		else
			px_buf_add(&b, chunk, (size_t)n);
	}
	close(fds[0]);
	if (!done)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!done) {
		px_buf_release(&b);
		fail_msg("engine_ping on %s (DOCKER_CERT_PATH %s) did not return within %d ms",
			 o->host, o->certs != NULL ? o->certs : "unset", timeout_ms);
	}
	if (b.len == 0 || b.data[0] == '2' || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char what[512];

		snprintf(what, sizeof(what), "%s", b.len > 0 ? b.data + 1 : "no report");
		px_buf_release(&b);
		fail_msg("the ping child failed (status %d): %s", status, what);
	}
	*msg = xstrdup(b.data + 1);
	status = b.data[0] == '0' ? 0 : -1;
	px_buf_release(&b);
	return status;
}

/* Expect a bounded ping to fail with a message holding every one of needles (NULL-ended). */
static void expect_ping_error(const struct ping_opts *o, ...)
{
	const char *missing = NULL;
	char *msg = NULL, copy[1024];
	bool ok;
	va_list ap;

	ok = bounded_ping(o, FAIL_FAST_MS, &msg) == 0;
	snprintf(copy, sizeof(copy), "%s", msg);
	free(msg);
	if (ok)
		fail_msg("ping on %s succeeded (API %s); expected an error", o->host, copy);
	print_message("error: %s\n", copy);
	va_start(ap, o);
	for (const char *s = va_arg(ap, const char *); s != NULL && missing == NULL;
	     s = va_arg(ap, const char *)) {
		if (strstr(copy, s) == NULL)
			missing = s;
	}
	va_end(ap);
	if (missing != NULL)
		fail_msg("error '%s' does not say '%s'", copy, missing);
}

/*
 * Tests: what works
 */

static void test_ping_negotiates_api_version(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct engine *e = NULL;
	json_t *version = NULL;

	(void)state;
	need_engine();
	/* a fresh client: its first request pings and negotiates over TLS */
	assert_int_equal(open_tls(tls.host, tls.certs, &e, &err), 0);
	assert_null(engine_api_version(e));
	assert_string_equal(engine_host_display(e), tls.host);
	if (engine_ping(e, &err) < 0)
		fail_msg("ping: %s", px_error_msg(&err));
	/* the same dockerd build as the harness engine (reached over its unix socket), so the
	 * same negotiated version: the lower of the engine's and ours */
	assert_string_equal(engine_api_version(e), engine_api_version(harness_engine()));
	if (engine_request(e, "GET", "/version", NULL, NULL, &version, &err) < 0)
		fail_msg("GET /version: %s", px_error_msg(&err));
	assert_true(engine_version_cmp(json_string_value(json_object_get(version, "ApiVersion")),
				       engine_api_version(e)) >= 0);
	json_decref(version);
	engine_free(e);
}

/* Through a TLS connection: network, container create/start/wait/logs/remove, and
 * engine_dup keeping the TLS settings. */
static void test_container_on_user_network(void **state)
{
	struct engine *e = tls.engine, *dup = NULL;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	json_t *labels, *config, *inspect = NULL, *nets = NULL, *item;
	char name[64], *net_id = NULL, *id = NULL, inet[32] = "";
	const char *subnet = NULL;
	int code = -1;
	size_t i;

	(void)state;
	need_engine();
	labels = harness_labels();
	snprintf(name, sizeof(name), "prisync-tls-%d", (int)getpid());
	if (engine_network_create(e, name, labels, &net_id, &err) < 0)
		fail_msg("network create: %s", px_error_msg(&err));
	assert_int_equal(engine_network_list(e, "prisync-test.run", &nets, &err), 0);
	json_array_foreach(nets, i, item)
	{
		if (strcmp(json_string_value(json_object_get(item, "Name")), name) == 0)
			subnet = json_string_value(json_object_get(
			    json_array_get(json_object_get(json_object_get(item, "IPAM"), "Config"),
					   0),
			    "Subnet"));
	}
	assert_non_null(subnet);
	/* "10.N.M.0/24" -> "inet 10.N.M.": the container's address on that network */
	snprintf(inet, sizeof(inet), "inet %.*s", (int)(strrchr(subnet, '.') - subnet + 1), subnet);

	config = json_pack("{s:s, s:[s,s,s], s:O, s:{s:s}}", "Image",
			   harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"), "Cmd", "sh", "-c",
			   "echo hello over tls; ip -4 addr show eth0; echo to-stderr >&2; exit 3",
			   "Labels", labels, "HostConfig", "NetworkMode", name);
	if (engine_container_create(e, name, config, &id, &err) < 0)
		fail_msg("create: %s", px_error_msg(&err));
	json_decref(config);
	if (engine_container_start(e, id, &err) < 0)
		fail_msg("start: %s", px_error_msg(&err));
	if (engine_container_wait(e, id, &code, &err) < 0)
		fail_msg("wait: %s", px_error_msg(&err));
	assert_int_equal(code, 3);

	/* a second client from engine_dup: same TLS files, same version, no new ping */
	if (engine_dup(e, &dup, &err) < 0)
		fail_msg("dup: %s", px_error_msg(&err));
	assert_string_equal(engine_api_version(dup), engine_api_version(e));
	if (engine_container_logs(dup, id, true, true, -1, &out, &errout, &err) < 0)
		fail_msg("logs: %s", px_error_msg(&err));
	engine_free(dup);
	assert_non_null(strstr(px_buf_cstr(&out), "hello over tls\n"));
	if (strstr(px_buf_cstr(&out), inet) == NULL)
		fail_msg("no '%s' (network %s) in the container's output:\n%s", inet, subnet,
			 px_buf_cstr(&out));
	assert_string_equal(px_buf_cstr(&errout), "to-stderr\n");

	if (engine_container_remove(e, id, false, true, &err) < 0)
		fail_msg("remove: %s", px_error_msg(&err));
	assert_int_equal(engine_container_inspect(e, id, &inspect, &err), ENGINE_NOT_FOUND);
	if (engine_network_remove(e, net_id, &err) < 0)
		fail_msg("network remove: %s", px_error_msg(&err));
	json_decref(nets);
	json_decref(labels);
	px_buf_release(&out);
	px_buf_release(&errout);
	free(net_id);
	free(id);
}

/*
 * Tests: what must fail, and say why
 */

/* An unrelated CA as ca.pem: the engine's certificate does not verify. */
static void test_wrong_ca_fails_fast(void **state)
{
	char *certs;

	(void)state;
	need_engine();
	certs = cert_dir("wrong-ca", "other-ca/ca.pem", "client/cert.pem", "client/key.pem");
	expect_ping_error(&(struct ping_opts){.host = tls.host, .certs = certs}, tls.host,
			  "TLS certificate verification failed", certs, NULL);
	free(certs);
}

/* ca.pem is the only CA trusted, as with docker: the test CA in the system's CA directory
 * (where libcurl looks by default) does not rescue a wrong ca.pem. */
static void test_system_cas_not_trusted(void **state)
{
	const char *argv[] = {"openssl", "x509", "-hash", "-noout", "-in", NULL, NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, ca = PX_BUF_INIT;
	char *certs, *sysdir = NULL, *hash_link = NULL, *bundle = NULL, *ca_path = NULL;
	char *version = NULL;
	int code = -1;

	(void)state;
	need_engine();
	certs = cert_dir("wrong-ca-sys", "other-ca/ca.pem", "client/cert.pem", "client/key.pem");
	xasprintf(&ca_path, "%s/pki/ca/ca.pem", tls.dir.root);
	argv[5] = ca_path;
	if (px_proc_run(&o, &out, NULL, &code, 10000, &err) < 0 || code != 0)
		fail_msg("openssl x509 -hash: %s", px_error_msg(&err));
	px_buf_rtrim(&out);
	/* an OpenSSL CA directory (<subject hash>.0) and a bundle, both holding the test CA */
	xasprintf(&sysdir, "%s/system-ca", tls.dir.root);
	xasprintf(&hash_link, "%s/%s.0", sysdir, px_buf_cstr(&out));
	xasprintf(&bundle, "%s/ca-certificates.crt", sysdir);
	if (px_path_mkdir_p(sysdir, 0755, &err) < 0 || px_path_read_file(ca_path, &ca, &err) < 0 ||
	    px_path_write_file_atomic(hash_link, ca.data, ca.len, 0644, &err) < 0 ||
	    px_path_write_file_atomic(bundle, ca.data, ca.len, 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));

	expect_ping_error(
	    &(struct ping_opts){.host = tls.host, .certs = certs, .system_ca = sysdir}, tls.host,
	    "TLS certificate verification failed", NULL);
	/* control: in that same setup the good ca.pem works */
	assert_int_equal(
	    bounded_ping(
		&(struct ping_opts){.host = tls.host, .certs = tls.certs, .system_ca = sysdir},
		FAIL_FAST_MS, &version),
	    0);
	free(version);
	px_buf_release(&out);
	px_buf_release(&ca);
	free(certs);
	free(sysdir);
	free(hash_link);
	free(bundle);
	free(ca_path);
}

/* No DOCKER_TLS_VERIFY against the TLS port: Go's "HTTP request to an HTTPS server",
 * turned into what to set. */
static void test_plain_http_to_tls_port(void **state)
{
	(void)state;
	need_engine();
	expect_ping_error(&(struct ping_opts){.host = tls.host, .certs = NULL}, tls.host,
			  "speaks TLS", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH", NULL);
}

/* The other way round: TLS to a server that answers in plain HTTP (a child of ours that
 * reads the ClientHello and answers like a plain engine would). */
static void test_tls_to_plain_http_port(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	char *host = NULL;
	int lfd, status;
	pid_t pid;

	(void)state;
	need_engine();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		fail_msg("listen on 127.0.0.1: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		static const char answer[] =
		    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		char buf[4096];
		int c = accept(lfd, NULL, NULL);

		if (c >= 0 && read(c, buf, sizeof(buf)) > 0) {
			write_all(c, answer, sizeof(answer) - 1);
			/* no RST over an unread ClientHello: half-close, drain until the peer goes
			 */
			shutdown(c, SHUT_WR);
			while (read(c, buf, sizeof(buf)) > 0)
				;
		}
		_exit(0);
	}
	close(lfd);
	xasprintf(&host, "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	expect_ping_error(&(struct ping_opts){.host = host, .certs = tls.certs}, host,
			  "does not speak TLS", "DOCKER_TLS_VERIFY", NULL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(host);
}

/* A missing file of DOCKER_CERT_PATH is an error of engine_open (no connection yet) that
 * names it; cert.pem and key.pem go together. */
static void test_missing_cert_file_named(void **state)
{
	static const struct {
		const char *name, *ca, *cert, *key;
		const char *file; /* the one the error must name */
	} cases[] = {
	    {"no-ca", NULL, "client/cert.pem", "client/key.pem", "ca.pem"},
	    {"no-key", "ca/ca.pem", "client/cert.pem", NULL, "key.pem"},
	    {"no-cert", "ca/ca.pem", NULL, "client/key.pem", "cert.pem"},
	};

	(void)state;
	need_engine();
	for (size_t i = 0; i < NELEM(cases) + 1; i++) {
		struct px_error err = PX_ERROR_INIT;
		struct engine *e = NULL;
		char *certs, *file = NULL;

		if (i < NELEM(cases)) {
			certs = cert_dir(cases[i].name, cases[i].ca, cases[i].cert, cases[i].key);
			xasprintf(&file, "'%s/%s'", certs, cases[i].file);
		} else {
			/* a DOCKER_CERT_PATH that does not exist: its ca.pem is what is missing */
			xasprintf(&certs, "%s/certs/none", tls.dir.root);
			xasprintf(&file, "'%s/ca.pem'", certs);
		}
		if (open_tls(tls.host, certs, &e, &err) == 0)
			fail_msg("%s: engine_open accepted a DOCKER_CERT_PATH without %s", certs,
				 file);
		print_message("error: %s\n", px_error_msg(&err));
		if (strstr(px_error_msg(&err), file) == NULL ||
		    strstr(px_error_msg(&err), "No such file or directory") == NULL)
			fail_msg("error '%s' does not name %s as missing", px_error_msg(&err),
				 file);
		px_error_clear(&err);
		free(certs);
		free(file);
	}
}

/* The engine's verdict on a client certificate races its close (see transport.c): the
 * message must not depend on who wins, so ask a few times. */
#define VERDICT_TRIES 8

/* Neither cert.pem nor key.pem: allowed (as docker allows it), but this engine wants a
 * client certificate, and the error says there is none where we looked. */
static void test_no_client_certificate(void **state)
{
	char *certs;

	(void)state;
	need_engine();
	certs = cert_dir("ca-only", "ca/ca.pem", NULL, NULL);
	for (int i = 0; i < VERDICT_TRIES; i++)
		expect_ping_error(&(struct ping_opts){.host = tls.host, .certs = certs}, tls.host,
				  "requires a TLS client certificate", certs, NULL);
	free(certs);
}

/* A client certificate from another CA: the engine refuses it, and the error names it. */
static void test_client_certificate_rejected(void **state)
{
	char *certs, *cert = NULL;

	(void)state;
	need_engine();
	certs =
	    cert_dir("other-client", "ca/ca.pem", "client-other/cert.pem", "client-other/key.pem");
	xasprintf(&cert, "'%s/cert.pem'", certs);
	for (int i = 0; i < VERDICT_TRIES; i++)
		expect_ping_error(&(struct ping_opts){.host = tls.host, .certs = certs}, tls.host,
				  "rejected the TLS client certificate", cert, NULL);
	free(cert);
	free(certs);
}

/* An encrypted key.pem with a terminal at hand: OpenSSL would ask for its pass phrase there
 * and wait; prisync never asks, it fails (docker does not take encrypted keys either). */
static void test_encrypted_key_never_prompts(void **state)
{
	char *certs;

	(void)state;
	need_engine();
	certs = cert_dir("encrypted-key", "ca/ca.pem", "client-enc/cert.pem", "client-enc/key.pem");
	expect_ping_error(&(struct ping_opts){.host = tls.host, .certs = certs, .tty = true},
			  "encrypted key", "key.pem", NULL);
	free(certs);
}

/*
 * The prisync binary with DOCKER_HOST=tcp://... DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=...
 */

#define RUN_TIMEOUT_MS 60000

/* Run prisync -p project args (at most 4, NULL-ended) in the stack dir; on a non-zero exit
 * when want_ok, fail with what it said.  Returns the exit code. */
static int run_prisync(bool want_ok, int timeout_ms, struct px_buf *out, struct px_buf *errout,
		       const char *project, const char *const *args)
{
	const char *a[4] = {NULL, NULL, NULL, NULL};
	int code;

	for (size_t i = 0; i < NELEM(a) && args[i] != NULL; i++)
		a[i] = args[i];
	px_buf_reset(out);
	px_buf_reset(errout);
	code = harness_prisync(&tls.stack_dir, out, errout, timeout_ms, "-p", project, a[0], a[1],
			       a[2], a[3], NULL);
	if (want_ok && code != 0)
		fail_msg("prisync %s %s: exit %d\n%s%s", a[0], a[1] != NULL ? a[1] : "", code,
			 px_buf_cstr(out), px_buf_cstr(errout));
	return code;
}

/* The project's containers on engine e (stopped ones too). */
static size_t project_containers(struct engine *e, const char *project, json_t **out)
{
	struct px_error err = PX_ERROR_INIT;
	char *label = NULL;

	xasprintf(&label, "com.docker.compose.project=%s", project);
	if (engine_container_list(e, label, true, out, &err) < 0)
		fail_msg("list: %s", px_error_msg(&err));
	free(label);
	return json_array_size(*out);
}

/* up -d --wait, ps, logs, down -v of a one-service stack, all on the TLS engine (none of it on
 * the harness engine, which DOCKER_HOST pointed at before); then the wrong CA through the
 * binary: a quick failure that says why. */
static void test_stack_up_ps_down(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT, compose = PX_BUF_INIT;
	char project[32], name[64], network[64], *file, *wrong;
	json_t *list = NULL, *row = NULL, *nets = NULL, *item;
	size_t i;

	(void)state;
	need_engine();
	harness_dir_create(&tls.stack_dir);
	snprintf(project, sizeof(project), "tls%d", (int)getpid());
	snprintf(name, sizeof(name), "%s-web-1", project);
	snprintf(network, sizeof(network), "%s_default", project);
	/* sh as pid 1 ignores SIGTERM unless it traps it: stop at once, not after 10 s */
	px_buf_addf(&compose,
		    "services:\n"
		    "  web:\n"
		    "    image: %s\n"
		    "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo hello from web over "
		    "tls; while true; do sleep 0.1; done\"]\n",
		    harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"));
	file = px_path_join(tls.stack_dir.root, "compose.yaml");
	if (px_path_write_file_atomic(file, compose.data, compose.len, 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));

	env_tls(tls.certs);
	run_prisync(true, RUN_TIMEOUT_MS, &out, &errout, project,
		    (const char *[]){"up", "-d", "--wait", NULL});
	assert_int_equal(project_containers(tls.engine, project, &list), 1);
	row = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(row, "State")), "running");
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "Names"), 0)) + 1,
			    name);
	json_decref(list);
	assert_int_equal(project_containers(harness_engine(), project, &list), 0);
	json_decref(list);

	run_prisync(true, RUN_TIMEOUT_MS, &out, &errout, project, (const char *[]){"ps", NULL});
	if (strstr(px_buf_cstr(&out), name) == NULL)
		fail_msg("'%s' not in prisync ps:\n%s", name, px_buf_cstr(&out));
	run_prisync(true, RUN_TIMEOUT_MS, &out, &errout, project,
		    (const char *[]){"ps", "--format", "json", NULL});
	px_buf_rtrim(&out);
	row = json_loads(px_buf_cstr(&out), 0, NULL);
	if (row == NULL)
		fail_msg("prisync ps --format json: not one JSON object:\n%s", px_buf_cstr(&out));
	assert_string_equal(json_string_value(json_object_get(row, "Name")), name);
	assert_string_equal(json_string_value(json_object_get(row, "Service")), "web");
	assert_string_equal(json_string_value(json_object_get(row, "State")), "running");
	json_decref(row);

	/* what the container logged, through `prisync logs` over TLS */
	run_prisync(true, RUN_TIMEOUT_MS, &out, &errout, project,
		    (const char *[]){"--ansi", "never", "logs", "web", NULL});
	assert_string_equal(px_buf_cstr(&out), "web-1    | hello from web over tls\n");

	run_prisync(true, RUN_TIMEOUT_MS, &out, &errout, project,
		    (const char *[]){"down", "-v", NULL});
	assert_int_equal(project_containers(tls.engine, project, &list), 0);
	json_decref(list);
	assert_int_equal(engine_network_list(tls.engine, NULL, &nets, &err), 0);
	json_array_foreach(nets, i, item)
	    assert_string_not_equal(json_string_value(json_object_get(item, "Name")), network);
	json_decref(nets);

	wrong = cert_dir("wrong-ca-cli", "other-ca/ca.pem", "client/cert.pem", "client/key.pem");
	env_tls(wrong);
	assert_int_not_equal(
	    run_prisync(false, FAIL_FAST_MS, &out, &errout, project, (const char *[]){"ps", NULL}),
	    0);
	if (strstr(px_buf_cstr(&errout), "TLS certificate verification failed") == NULL)
		fail_msg("prisync ps with a wrong CA said:\n%s%s", px_buf_cstr(&out),
			 px_buf_cstr(&errout));
	env_harness();

	px_buf_release(&out);
	px_buf_release(&errout);
	px_buf_release(&compose);
	free(file);
	free(wrong);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_ping_negotiates_api_version, teardown),
	    cmocka_unit_test_teardown(test_container_on_user_network, teardown),
	    cmocka_unit_test(test_wrong_ca_fails_fast),
	    cmocka_unit_test(test_system_cas_not_trusted),
	    cmocka_unit_test(test_plain_http_to_tls_port),
	    cmocka_unit_test(test_tls_to_plain_http_port),
	    cmocka_unit_test(test_missing_cert_file_named),
	    cmocka_unit_test(test_no_client_certificate),
	    cmocka_unit_test(test_client_certificate_rejected),
	    cmocka_unit_test(test_encrypted_key_never_prompts),
	    cmocka_unit_test_teardown(test_stack_up_ps_down, teardown),
	};

	return cmocka_run_group_tests_name("engine_tls", tests, group_setup, group_teardown);
}
