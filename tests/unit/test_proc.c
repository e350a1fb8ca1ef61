/* test_proc.c - unit tests for base/proc.c: capture, exit codes, exec failure, timeouts,
 * stdin, process groups, the child's signal state, and that no zombie is ever left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/proc.h"

#define MIB ((size_t)1024 * 1024)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test process must have no child left, reaped or not. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Run `sh -c script` with opts' other fields from base; returns px_proc_run's result. */
static int run_sh(const char *script, struct px_proc_opts base, struct px_buf *out,
		  struct px_buf *errout, int *code, int timeout_ms, struct px_error *err)
{
	const char *argv[] = {"sh", "-c", script, NULL};

	base.argv = argv;
	return px_proc_run(&base, out, errout, code, timeout_ms, err);
}

static void test_capture_separate(void **state)
{
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	int code = -1;

	(void)state;
	assert_int_equal(
	    run_sh("echo out; echo err >&2; echo out2", o, &out, &errout, &code, 10000, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "out\nout2\n");
	assert_string_equal(px_buf_cstr(&errout), "err\n");
	assert_int_equal(code, 0);
	/* a NULL buffer discards that stream and the other is still captured */
	px_buf_reset(&out);
	assert_int_equal(run_sh("echo out; echo err >&2", o, &out, NULL, &code, 10000, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "out\n");
	px_buf_release(&out);
	px_buf_release(&errout);
	px_error_clear(&err);
	assert_no_children();
}

static void test_capture_merged(void **state)
{
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {.merge_err = true};
	int code = -1;

	(void)state;
	assert_int_equal(
	    run_sh("echo out; echo err >&2; echo out2", o, &out, &errout, &code, 10000, &err), 0);
	/* one pipe, so the interleaving is the child's own order */
	assert_string_equal(px_buf_cstr(&out), "out\nerr\nout2\n");
	assert_int_equal(errout.len, 0);
	assert_int_equal(code, 0);
	px_buf_release(&out);
	px_buf_release(&errout);
	px_error_clear(&err);
	assert_no_children();
}

static void test_exit_codes(void **state)
{
	static const struct {
		const char *script;
		int code;
	} cases[] = {
	    {"exit 0", 0},
	    {"exit 3", 3},
	    {"exit 255", 255},
	    {"kill -9 $$", 128 + SIGKILL},
	    {"kill -TERM $$", 128 + SIGTERM},
	};
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = -1;

		assert_int_equal(run_sh(cases[i].script, o, NULL, NULL, &code, 10000, &err), 0);
		if (code != cases[i].code)
			fail_msg("'%s': exit code %d, want %d", cases[i].script, code,
				 cases[i].code);
	}
	px_error_clear(&err);
	assert_no_children();
}

static void test_exit_code_of_status(void **state)
{
	static const struct {
		int status;
		int code;
	} cases[] = {
	    {W_EXITCODE(0, 0), 0},
	    {W_EXITCODE(3, 0), 3},
	    {W_EXITCODE(255, 0), 255},
	    {W_EXITCODE(0, SIGKILL), 137},
	    {W_EXITCODE(0, SIGSEGV) | WCOREFLAG, 128 + SIGSEGV},
	    {W_STOPCODE(SIGSTOP), -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(px_proc_exit_code(cases[i].status), cases[i].code);
}

/* 1 MiB on each stream at the same time: a reader that drains one pipe before the
 * other leaves the child blocked on a full pipe and this times out. */
static void test_large_output_no_deadlock(void **state)
{
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	int code = -1;
	size_t i;

	(void)state;
	assert_int_equal(run_sh("(yes e | head -c 1048576 >&2) & yes o | head -c 1048576; wait", o,
				&out, &errout, &code, 30000, &err),
			 0);
	assert_int_equal(code, 0);
	assert_int_equal(out.len, MIB);
	assert_int_equal(errout.len, MIB);
	for (i = 0; i < MIB; i += 2) {
		if (out.data[i] != 'o' || errout.data[i] != 'e')
			fail_msg("wrong byte at offset %zu", i);
	}
	px_buf_release(&out);
	px_buf_release(&errout);
	px_error_clear(&err);
	assert_no_children();
}

static void test_env(void **state)
{
	const char *const envp[] = {"PX_TEST_VAR=hello world", "PATH=/usr/bin:/bin", NULL};
	static const char script[] = "printf '%s|%s' \"$PX_TEST_VAR\" \"${PX_PARENT_ONLY-unset}\"";
	struct px_buf out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	int code = -1;

	(void)state;
	setenv("PX_PARENT_ONLY", "leak", 1);
	unsetenv("PX_TEST_VAR");
	/* an explicit environment is the whole environment */
	o.envp = envp;
	assert_int_equal(run_sh(script, o, &out, NULL, &code, 10000, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "hello world|unset");
	/* NULL inherits ours */
	px_buf_reset(&out);
	o.envp = NULL;
	assert_int_equal(run_sh(script, o, &out, NULL, &code, 10000, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "|leak");
	unsetenv("PX_PARENT_ONLY");
	px_buf_release(&out);
	px_error_clear(&err);
	assert_no_children();
}

static void test_cwd(void **state)
{
	struct px_buf out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	char tmpl[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 2];
	const char *tmp = getenv("TMPDIR");
	int code = -1;

	(void)state;
	snprintf(tmpl, sizeof(tmpl), "%s/px-proc-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	snprintf(want, sizeof(want), "%s\n", real);

	o.cwd = tmpl;
	assert_int_equal(run_sh("pwd -P", o, &out, NULL, &code, 10000, &err), 0);
	assert_string_equal(px_buf_cstr(&out), want);

	/* a missing directory is the caller's error, naming the directory */
	o.cwd = "/nonexistent-px-proc-dir";
	assert_int_equal(run_sh("pwd", o, &out, NULL, &code, 10000, &err), -1);
	assert_string_equal(
	    px_error_msg(&err),
	    "cannot run 'sh' in '/nonexistent-px-proc-dir': No such file or directory");
	assert_int_equal(err.errnum, ENOENT);
	assert_no_children();

	assert_int_equal(rmdir(tmpl), 0);
	px_buf_release(&out);
	px_error_clear(&err);
}

static void test_exec_failure(void **state)
{
	const char *missing[] = {"px-no-such-binary-4711", NULL};
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {.argv = missing, .out = PX_PROC_PIPE};
	struct px_proc *p = NULL;
	struct px_buf out = PX_BUF_INIT;
	char path[PATH_MAX];
	const char *noexec[] = {path, NULL};
	const char *tmp = getenv("TMPDIR");
	int fd, code = 77;

	(void)state;
	assert_int_equal(px_proc_spawn(&p, &o, &err), -1);
	assert_null(p);
	assert_string_equal(px_error_msg(&err),
			    "cannot run 'px-no-such-binary-4711': No such file or directory");
	assert_int_equal(err.errnum, ENOENT);
	assert_no_children();

	/* px_proc_run reports the same, and leaves the exit code alone */
	assert_int_equal(px_proc_run(&o, &out, NULL, &code, 1000, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(code, 77);
	assert_no_children();

	/* a file that is not executable: EACCES, not a hang or a stray child */
	snprintf(path, sizeof(path), "%s/px-proc-noexec-XXXXXX",
		 tmp != NULL && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	o.argv = noexec;
	assert_int_equal(px_proc_spawn(&p, &o, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_non_null(strstr(px_error_msg(&err), path));
	assert_no_children();
	unlink(path);

	/* an empty argv is refused before anything is forked */
	o.argv = noexec + 1;
	assert_int_equal(px_proc_spawn(&p, &o, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	px_buf_release(&out);
	px_error_clear(&err);
}

static void test_timeout_kills(void **state)
{
	static const struct {
		const char *script;
		int min_ms; /* a TERM-ignoring child is only gone after the SIGKILL grace */
	} cases[] = {
	    {"exec sleep 30", 0},
	    {"trap '' TERM; echo ready; while :; do sleep 1; done", PX_PROC_KILL_GRACE_MS},
	};
	struct px_buf out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long t0 = now_ms(), took;
		int code = 77;

		assert_int_equal(run_sh(cases[i].script, o, &out, NULL, &code, 200, &err), -1);
		took = now_ms() - t0;
		assert_string_equal(px_error_msg(&err), "'sh' timed out after 200 ms");
		assert_int_equal(err.errnum, ETIMEDOUT);
		assert_int_equal(code, 77);
		assert_true(took >= 200 + cases[i].min_ms);
		assert_true(took < 5000);
		assert_no_children();
	}
	/* what the child wrote before it was killed is kept */
	assert_string_equal(px_buf_cstr(&out), "ready\n");
	px_buf_release(&out);
	px_error_clear(&err);
}

/* With our own stdin a pipe nobody closes, an inheriting `cat` would block; PX_PROC_NULL
 * must give it EOF at once.  The INHERIT run is the control that proves the setup bites. */
static void test_stdin_null_eof(void **state)
{
	const char *argv[] = {"cat", NULL};
	struct px_buf out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
	int pfd[2], saved, code = -1;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pfd[0], STDIN_FILENO), STDIN_FILENO);

	assert_int_equal(px_proc_run(&o, &out, NULL, &code, 5000, &err), 0);
	assert_int_equal(code, 0);
	assert_int_equal(out.len, 0);

	o.in = PX_PROC_INHERIT;
	assert_int_equal(px_proc_run(&o, &out, NULL, &code, 300, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);

	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	close(pfd[0]);
	close(pfd[1]);
	px_buf_release(&out);
	px_error_clear(&err);
	assert_no_children();
}

/* Read fd to EOF into b (blocking). */
static void read_all(int fd, struct px_buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		px_buf_add(b, chunk, (size_t)n);
	}
}

static void test_stdin_pipe_and_accessors(void **state)
{
	const char *argv[] = {"tr", "a-z", "A-Z", NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_PIPE, .out = PX_PROC_PIPE};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	struct px_proc *p = NULL;
	int status = -1;

	(void)state;
	assert_int_equal(px_proc_spawn(&p, &o, &err), 0);
	assert_true(px_proc_pid(p) > 0);
	assert_string_equal(px_proc_name(p), "tr");
	assert_true(px_proc_stdin_fd(p) >= 0);
	assert_true(px_proc_stdout_fd(p) >= 0);
	assert_int_equal(px_proc_stderr_fd(p), -1);
	/* the parent's ends must not leak into other children */
	assert_true(fcntl(px_proc_stdin_fd(p), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(px_proc_stdout_fd(p), F_GETFD) & FD_CLOEXEC);

	assert_int_equal(write(px_proc_stdin_fd(p), "hello", 5), 5);
	px_proc_close_stdin(p);
	assert_int_equal(px_proc_stdin_fd(p), -1);
	read_all(px_proc_stdout_fd(p), &out);
	assert_string_equal(px_buf_cstr(&out), "HELLO");
	assert_int_equal(px_proc_wait(p, &status, &err), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* waiting again returns the saved status; the pid is no longer ours to signal */
	status = -1;
	assert_int_equal(px_proc_wait(p, &status, &err), 0);
	assert_int_equal(px_proc_exit_code(status), 0);
	assert_int_equal(px_proc_kill(p, SIGTERM), -1);
	assert_int_equal(errno, ESRCH);
	px_proc_free(p);
	px_proc_free(NULL);
	px_buf_release(&out);
	px_error_clear(&err);
	assert_no_children();
}

static void test_try_wait(void **state)
{
	const char *argv[] = {"sh", "-c", "cat >/dev/null; exit 5", NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_PIPE};
	struct px_error err = PX_ERROR_INIT;
	struct px_proc *p = NULL;
	long long deadline;
	int status = -1, r;

	(void)state;
	assert_int_equal(px_proc_spawn(&p, &o, &err), 0);
	/* blocked reading its stdin: still running */
	assert_int_equal(px_proc_try_wait(p, &status), 0);
	px_proc_close_stdin(p);
	deadline = now_ms() + 5000;
	while ((r = px_proc_try_wait(p, &status)) == 0 && now_ms() < deadline)
		poll(NULL, 0, 5);
	assert_int_equal(r, 1);
	assert_int_equal(px_proc_exit_code(status), 5);
	assert_int_equal(px_proc_try_wait(p, &status), 1);
	px_proc_free(p);
	px_error_clear(&err);
	assert_no_children();
}

static void test_free_running_leaves_no_zombie(void **state)
{
	const char *argv[] = {"sleep", "30", NULL};
	struct px_proc_opts o = {.argv = argv, .out = PX_PROC_PIPE, .err = PX_PROC_PIPE};
	struct px_error err = PX_ERROR_INIT;
	struct px_proc *p = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(px_proc_spawn(&p, &o, &err), 0);
	pid = px_proc_pid(p);
	assert_int_equal(kill(pid, 0), 0);
	px_proc_free(p);
	/* killed and reaped: neither running nor a zombie */
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	px_error_clear(&err);
	assert_no_children();
}

/* The "SigBlk:" / "SigIgn:" hex mask of /proc/<pid>/status text. */
static unsigned long long status_mask(const char *text, const char *field)
{
	const char *p = strstr(text, field);

	assert_non_null(p);
	return strtoull(p + strlen(field), NULL, 16);
}

/* SigBlk/SigIgn bits of signals 32 and 33 (bit n-1 is signal n) */
#define GLIBC_RESERVED_SIGNALS ((1ull << 31) | (1ull << 32))

/* The supervisor blocks its signals for signalfd and ignores SIGPIPE; none of that may
 * reach the programs it runs. */
static void test_child_signal_state_clean(void **state)
{
	struct px_buf out = PX_BUF_INIT, self = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	sigset_t set, old;
	int fd, code = -1;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);

	/* control: our own status shows what the child must not inherit */
	fd = open("/proc/self/status", O_RDONLY);
	assert_true(fd >= 0);
	read_all(fd, &self);
	close(fd);
	assert_true(status_mask(px_buf_cstr(&self), "SigBlk:") & (1ull << (SIGTERM - 1)));
	assert_true(status_mask(px_buf_cstr(&self), "SigIgn:") & (1ull << (SIGPIPE - 1)));

	assert_int_equal(
	    run_sh("grep -E '^Sig(Blk|Ign):' /proc/self/status", o, &out, NULL, &code, 10000, &err),
	    0);
	assert_int_equal(code, 0);
	/* glibc reserves signals 32 and 33 for itself and its sigaction() refuses them, so
	 * a disposition inherited from outside (GNU make ignores them) cannot be reset */
	assert_int_equal(status_mask(px_buf_cstr(&out), "SigBlk:") & ~GLIBC_RESERVED_SIGNALS, 0);
	assert_int_equal(status_mask(px_buf_cstr(&out), "SigIgn:") & ~GLIBC_RESERVED_SIGNALS, 0);

	/* and the spawn restored our mask */
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &set), 0);
	assert_true(sigismember(&set, SIGTERM));

	assert_int_equal(sigaction(SIGPIPE, &old_pipe, NULL), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	px_buf_release(&out);
	px_buf_release(&self);
	px_error_clear(&err);
	assert_no_children();
}

/* State letter of /proc/<pid>/stat, or 0 when the process is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *rp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (rp == NULL || rp[1] != ' ')
		return '\0';
	return rp[2];
}

static void test_new_pgrp_kill_group(void **state)
{
	const char *argv[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
	struct px_proc_opts o = {.argv = argv, .out = PX_PROC_PIPE, .new_pgrp = true};
	struct px_error err = PX_ERROR_INIT;
	struct px_proc *p = NULL;
	char line[32] = "";
	long long deadline;
	pid_t pid, gpid;
	ssize_t n;
	size_t len = 0;
	int status = -1;
	char st;

	(void)state;
	assert_int_equal(px_proc_spawn(&p, &o, &err), 0);
	pid = px_proc_pid(p);
	assert_int_equal(getpgid(pid), pid);
	assert_true(getpgid(pid) != getpgrp());
	while (len < sizeof(line) - 1 && strchr(line, '\n') == NULL) {
		n = read(px_proc_stdout_fd(p), line + len, sizeof(line) - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		line[len] = '\0';
	}
	gpid = (pid_t)strtol(line, NULL, 10);
	assert_true(gpid > 0);
	assert_int_equal(getpgid(gpid), pid);

	/* one signal to the group reaches the grandchild too */
	assert_int_equal(px_proc_kill(p, SIGTERM), 0);
	assert_int_equal(px_proc_wait(p, &status, &err), 0);
	assert_int_equal(px_proc_exit_code(status), 128 + SIGTERM);
	/* the grandchild was re-parented: gone, or a zombie its new parent has to reap */
	deadline = now_ms() + 5000;
	while ((st = proc_state(gpid)) != 0 && st != 'Z' && now_ms() < deadline)
		poll(NULL, 0, 5);
	if (st != 0 && st != 'Z')
		fail_msg("grandchild %ld survived the group kill (state %c)", (long)gpid, st);
	px_proc_free(p);
	px_error_clear(&err);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capture_separate),
	    cmocka_unit_test(test_capture_merged),
	    cmocka_unit_test(test_exit_codes),
	    cmocka_unit_test(test_exit_code_of_status),
	    cmocka_unit_test(test_large_output_no_deadlock),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_cwd),
	    cmocka_unit_test(test_exec_failure),
	    cmocka_unit_test(test_timeout_kills),
	    cmocka_unit_test(test_stdin_null_eof),
	    cmocka_unit_test(test_stdin_pipe_and_accessors),
	    cmocka_unit_test(test_try_wait),
	    cmocka_unit_test(test_free_running_leaves_no_zombie),
	    cmocka_unit_test(test_child_signal_state_clean),
	    cmocka_unit_test(test_new_pgrp_kill_group),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
