/* test_sup_runtime.c - supervisor/runtime.c: one supervisor per project across real
 * processes (fork), the pid file clients read, stale files after a crash.  Runs with
 * XDG_RUNTIME_DIR pointed at a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/xmalloc.h"
#include "supervisor/supervisor.h"

static char *runtime_root; /* $XDG_RUNTIME_DIR for the whole run */

static char *project_dir(const char *project)
{
	char *p;

	xasprintf(&p, "%s/prisync/%s", runtime_root, project);
	return p;
}

static char *project_file(const char *project, const char *name)
{
	char *p;

	xasprintf(&p, "%s/prisync/%s/%s", runtime_root, project, name);
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The whole content of a small file, or NULL when it cannot be read. */
static char *slurp(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Read exactly len bytes from fd within timeout_ms; false on timeout or EOF. */
static bool read_within(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Read fd into buf (NUL-terminated) until EOF, giving up after timeout_ms of silence. */
static void read_to_eof(int fd, char *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && poll(&pfd, 1, timeout_ms) > 0) {
		n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return status;
}

static void test_open_close(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *dir = project_dir("alpha"), *pidf = project_file("alpha", "supervisor.pid");
	char *lockf = project_file("alpha", "lock"),
	     *sockf = project_file("alpha", "supervisor.sock");
	char *text, *want, *sock;
	struct stat st;
	pid_t pid = -1;

	(void)state;
	assert_int_equal(sup_runtime_open(&rt, "alpha", &err), 0);
	assert_non_null(rt);
	assert_string_equal(sup_runtime_dir(rt), dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	text = slurp(pidf);
	xasprintf(&want, "%ld\n", (long)getpid());
	assert_non_null(text);
	assert_string_equal(text, want);

	sock = sup_runtime_path(rt, "supervisor.sock");
	assert_string_equal(sock, sockf);
	spit(sock, ""); /* stands in for the bound socket */

	/* a client in this same process sees the lock as held: flock is per open file */
	assert_int_equal(sup_runtime_read_pid("alpha", &pid, &err), 0);
	assert_int_equal(pid, getpid());

	sup_runtime_close(rt);
	assert_false(exists(pidf));
	assert_false(exists(sockf));
	assert_true(exists(lockf)); /* never unlinked */
	assert_int_equal(sup_runtime_read_pid("alpha", &pid, &err), 1);
	assert_int_equal(pid, 0);

	/* released: the next supervisor gets it at once */
	assert_int_equal(sup_runtime_open(&rt, "alpha", &err), 0);
	sup_runtime_close(rt);

	free(text);
	free(want);
	free(sock);
	free(dir);
	free(pidf);
	free(lockf);
	free(sockf);
}

static void test_second_open_in_child_fails(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *pidf = project_file("beta", "supervisor.pid");
	char msg[512] = "", *want, *before, *after;
	int fds[2], status;
	pid_t child;

	(void)state;
	assert_int_equal(sup_runtime_open(&rt, "beta", &err), 0);
	before = slurp(pidf);
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct px_error cerr = PX_ERROR_INIT;
		struct sup_runtime *crt = NULL;
		int rc = sup_runtime_open(&crt, "beta", &cerr);
		const char *m = px_error_msg(&cerr);

		close(fds[0]);
		if (write(fds[1], m, strlen(m)) < 0)
			_exit(3);
		_exit(rc == -1 && crt == NULL && cerr.errnum == EAGAIN ? 0 : 1);
	}
	close(fds[1]);
	read_to_eof(fds[0], msg, sizeof(msg), 5000);
	close(fds[0]);
	status = wait_child(child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	xasprintf(&want, "a supervisor for project 'beta' is already running (pid %ld)",
		  (long)getpid());
	assert_string_equal(msg, want);
	/* the failed open touched nothing of ours */
	after = slurp(pidf);
	assert_non_null(after);
	assert_string_equal(after, before);

	sup_runtime_close(rt);
	free(want);
	free(before);
	free(after);
	free(pidf);
}

/* A supervisor in another process, killed without cleanup: while it lives, clients see
 * its pid and a second supervisor is refused; once it is dead its pid file is stale. */
static void test_crashed_supervisor_leaves_stale_files(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *pidf = project_file("gamma", "supervisor.pid");
	char *want, *text, ok = 0;
	int ready[2], hold[2], status;
	pid_t child, pid = 0;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sup_runtime *crt = NULL;
		char c = sup_runtime_open(&crt, "gamma", NULL) == 0 ? 1 : 2;

		close(ready[0]);
		close(hold[1]);
		if (write(ready[1], &c, 1) < 0)
			_exit(3);
		/* hold the lock until the parent kills us (or closes the pipe) */
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	assert_true(read_within(ready[0], &ok, 1, 5000));
	assert_int_equal(ok, 1);

	assert_int_equal(sup_runtime_read_pid("gamma", &pid, &err), 0);
	assert_int_equal(pid, child);
	assert_int_equal(sup_runtime_open(&rt, "gamma", &err), -1);
	assert_null(rt);
	assert_int_equal(err.errnum, EAGAIN);
	xasprintf(&want, "a supervisor for project 'gamma' is already running (pid %ld)",
		  (long)child);
	assert_string_equal(px_error_msg(&err), want);
	px_error_clear(&err);
	free(want);

	/* crash: no sup_runtime_close, the kernel drops the lock */
	assert_int_equal(kill(child, SIGKILL), 0);
	status = wait_child(child);
	assert_true(WIFSIGNALED(status));
	close(ready[0]);
	close(hold[1]);
	assert_true(exists(pidf));

	assert_int_equal(sup_runtime_read_pid("gamma", &pid, &err), 1);
	assert_int_equal(pid, 0);
	assert_int_equal(sup_runtime_open(&rt, "gamma", &err), 0);
	xasprintf(&want, "%ld\n", (long)getpid());
	text = slurp(pidf);
	assert_non_null(text);
	assert_string_equal(text, want);
	sup_runtime_close(rt);
	free(want);
	free(text);
	free(pidf);
}

static void test_stale_pid_file_without_lock_holder(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *dir = project_dir("delta"), *pidf = project_file("delta", "supervisor.pid");
	char *lockf = project_file("delta", "lock"),
	     *sockf = project_file("delta", "supervisor.sock");
	char *top, *want, *text;
	pid_t pid = 1;

	(void)state;
	xasprintf(&top, "%s/prisync", runtime_root);
	mkdir(top, 0700);
	assert_int_equal(mkdir(dir, 0700), 0);
	spit(pidf, "999999\n");
	spit(sockf, "");

	/* a pid file and no lock file at all */
	assert_int_equal(sup_runtime_read_pid("delta", &pid, &err), 1);
	assert_int_equal(pid, 0);
	/* a pid file and a lock file nobody holds */
	spit(lockf, "");
	assert_int_equal(sup_runtime_read_pid("delta", &pid, &err), 1);

	assert_int_equal(sup_runtime_open(&rt, "delta", &err), 0);
	assert_false(exists(sockf)); /* the dead predecessor's socket is gone */
	xasprintf(&want, "%ld\n", (long)getpid());
	text = slurp(pidf);
	assert_non_null(text);
	assert_string_equal(text, want);
	sup_runtime_close(rt);

	free(top);
	free(want);
	free(text);
	free(dir);
	free(pidf);
	free(lockf);
	free(sockf);
}

static void test_no_supervisor_ever(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	pid_t pid = 1;

	(void)state;
	assert_int_equal(sup_runtime_read_pid("never-started", &pid, &err), 1);
	assert_int_equal(pid, 0);
	assert_null(err.msg);
}

static void test_malformed_pid_file_while_locked(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *pidf = project_file("eps", "supervisor.pid");
	pid_t pid;

	(void)state;
	assert_int_equal(sup_runtime_open(&rt, "eps", &err), 0);
	spit(pidf, "12abc\n");
	assert_int_equal(sup_runtime_read_pid("eps", &pid, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "malformed pid file"));
	assert_non_null(strstr(px_error_msg(&err), pidf));
	px_error_clear(&err);
	sup_runtime_close(rt);
	free(pidf);
}

/* A forked child closing its inherited copy must leave the parent supervising. */
static void test_close_in_forked_child_keeps_parent_files(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = NULL;
	char *pidf = project_file("zeta", "supervisor.pid");
	pid_t child, pid = 0;
	int status;

	(void)state;
	assert_int_equal(sup_runtime_open(&rt, "zeta", &err), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		sup_runtime_close(rt);
		_exit(0);
	}
	status = wait_child(child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(exists(pidf));
	assert_int_equal(sup_runtime_read_pid("zeta", &pid, &err), 0);
	assert_int_equal(pid, getpid());
	sup_runtime_close(rt);
	free(pidf);
}

static void test_invalid_project(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup_runtime *rt = (struct sup_runtime *)&err;
	pid_t pid = 1;

	(void)state;
	assert_int_equal(sup_runtime_open(&rt, "a/b", &err), -1);
	assert_null(rt);
	assert_non_null(strstr(px_error_msg(&err), "a/b"));
	px_error_clear(&err);
	assert_int_equal(sup_runtime_read_pid("", &pid, &err), -1);
	px_error_clear(&err);
	sup_runtime_close(NULL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_close),
	    cmocka_unit_test(test_second_open_in_child_fails),
	    cmocka_unit_test(test_crashed_supervisor_leaves_stale_files),
	    cmocka_unit_test(test_stale_pid_file_without_lock_holder),
	    cmocka_unit_test(test_no_supervisor_ever),
	    cmocka_unit_test(test_malformed_pid_file_while_locked),
	    cmocka_unit_test(test_close_in_forked_child_keeps_parent_files),
	    cmocka_unit_test(test_invalid_project),
	};
	const char *base = getenv("TMPDIR");
	int rc;

	xasprintf(&runtime_root, "%s/px-sup-XXXXXX",
		  base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(runtime_root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_RUNTIME_DIR", runtime_root, 1);

	rc = cmocka_run_group_tests_name("sup_runtime", tests, NULL, NULL);

	nftw(runtime_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(runtime_root);
	return rc;
}
