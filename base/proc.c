/* proc.c - child processes: fork/exec with a CLOEXEC status pipe, a clean signal state
 * in the child, reaping our own pid only, and a blocking run-and-collect helper. */
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"

struct px_proc {
	pid_t pid;
	bool pgrp;   /* leads its own process group: signal -pid */
	bool reaped; /* pid is no longer ours: never signal or wait for it again */
	int status;  /* valid once reaped */
	int in_fd, out_fd, err_fd;
	char *name;
};

/* What the child writes to the status pipe when it fails before exec took over. */
enum child_stage {
	STAGE_SETUP = 1, /* setpgid, dup2 */
	STAGE_CHDIR,
	STAGE_EXEC,
};

struct child_report {
	int stage;
	int errnum;
};

/* A child fd slot that takes a copy of the child's stdout (merge_err). */
#define FD_FROM_STDOUT (-2)

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Report why we never reached (or came back from) exec, and die without running any of
 * the parent's atexit handlers or flushing its stdio buffers. */
static void __attribute__((noreturn)) child_fail(int status_fd, int stage)
{
	struct child_report rep = {stage, errno};
	ssize_t n;

	do
		n = write(status_fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/*
 * Runs in the child between fork and exec: async-signal-safe calls only (the parent may
 * have threads, whose locks are frozen in whatever state fork found them).  All signals
 * are blocked on entry (the parent blocked them around fork), so no inherited handler can
 * run here before the dispositions are reset.
 */
static void __attribute__((noreturn))
child_exec(const struct px_proc_opts *o, const int fds[3], int status_fd)
{
	struct sigaction dfl;
	sigset_t none;
	int src[3];
	int sig, i;

	/* exec resets caught signals but keeps ignored ones (SIGPIPE, say): reset all.
	 * SIGKILL, SIGSTOP and glibc's internal signals fail with EINVAL; that is fine. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);

	/* The status pipe, or a source below, may sit on 0..2 when the parent had one of
	 * them closed; move each above 2 so no dup2 below clobbers a fd still needed. */
	if (status_fd <= STDERR_FILENO) {
		status_fd = fcntl(status_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		if (status_fd < 0)
			_exit(127);
	}
	for (i = 0; i < 3; i++) {
		src[i] = fds[i];
		if (src[i] >= 0 && src[i] <= STDERR_FILENO) {
			src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
			if (src[i] < 0)
				child_fail(status_fd, STAGE_SETUP);
		}
	}

	if (o->new_pgrp && setpgid(0, 0) < 0)
		child_fail(status_fd, STAGE_SETUP);
	if (o->cwd != NULL && chdir(o->cwd) < 0)
		child_fail(status_fd, STAGE_CHDIR);

	/* dup2 clears FD_CLOEXEC on the target; the CLOEXEC sources vanish at exec */
	for (i = 0; i < 3; i++) {
		if (src[i] >= 0 && dup2(src[i], i) < 0)
			child_fail(status_fd, STAGE_SETUP);
	}
	if (fds[STDERR_FILENO] == FD_FROM_STDOUT && dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
		child_fail(status_fd, STAGE_SETUP);

	/* the supervisor blocks its signals for signalfd; the program we run must not
	 * inherit that mask or it could never be stopped with SIGTERM */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* exec*() take char *const[] for historical reasons; they do not write to it */
	if (o->envp != NULL)
		execvpe(o->argv[0], (char *const *)o->argv, (char *const *)o->envp);
	else
		execvp(o->argv[0], (char *const *)o->argv);
	child_fail(status_fd, STAGE_EXEC);
}

/* The fd the child should put on one standard stream, opening what is needed. */
static int stdio_source(enum px_proc_stdio how, int *null_fd, int pipe_fds[2], int child_end,
			struct px_error *err)
{
	switch (how) {
	case PX_PROC_NULL:
		if (*null_fd < 0) {
			*null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (*null_fd < 0)
				return px_error_set(err, errno, "cannot open '/dev/null'");
		}
		return *null_fd;
	case PX_PROC_PIPE:
		if (pipe2(pipe_fds, O_CLOEXEC) < 0)
			return px_error_set(err, errno, "cannot create a pipe");
		return pipe_fds[child_end];
	case PX_PROC_INHERIT:
	default:
		return -1;
	}
}

/* Wait for the status pipe: EOF means exec succeeded (the write end was CLOEXEC). */
static int read_report(int fd, struct child_report *rep)
{
	ssize_t n;

	do
		n = read(fd, rep, sizeof(*rep));
	while (n < 0 && errno == EINTR);
	/* a report is far below PIPE_BUF, so it arrives whole or not at all */
	return n == (ssize_t)sizeof(*rep);
}

static void reap_blocking(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

int px_proc_spawn(struct px_proc **out, const struct px_proc_opts *o, struct px_error *err)
{
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	int status_pipe[2] = {-1, -1};
	int null_fd = -1;
	int fds[3] = {-1, -1, -1};
	struct child_report rep;
	struct px_proc *p = NULL;
	sigset_t all, old;
	pid_t pid;
	int saved, status, ret = -1;

	*out = NULL;
	if (o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0') {
		px_error_set(err, EINVAL, "cannot run a child with an empty argv");
		return -1; /* spelt out: callers dereference *out on 0 */
	}

	if (o->in != PX_PROC_INHERIT) {
		fds[0] = stdio_source(o->in, &null_fd, in_pipe, 0, err);
		if (fds[0] < 0)
			goto out;
	}
	if (o->out != PX_PROC_INHERIT) {
		fds[1] = stdio_source(o->out, &null_fd, out_pipe, 1, err);
		if (fds[1] < 0)
			goto out;
	}
	if (o->merge_err) {
		fds[2] = FD_FROM_STDOUT;
	} else if (o->err != PX_PROC_INHERIT) {
		fds[2] = stdio_source(o->err, &null_fd, err_pipe, 1, err);
		if (fds[2] < 0)
			goto out;
	}
	if (pipe2(status_pipe, O_CLOEXEC) < 0) {
		px_error_set(err, errno, "cannot create a pipe");
		goto out;
	}

	/* Block everything across fork so the child cannot run one of our handlers before
	 * it has reset the dispositions; the child then unblocks just before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(o, fds, status_pipe[1]);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		px_error_set(err, saved, "cannot start '%s'", o->argv[0]);
		goto out;
	}

	close_fd(&status_pipe[1]);
	if (read_report(status_pipe[0], &rep)) {
		/* the child _exit()s right after reporting: reap it, leave no zombie */
		reap_blocking(pid, &status);
		if (rep.stage == STAGE_EXEC)
			px_error_set(err, rep.errnum, "cannot run '%s'", o->argv[0]);
		else if (rep.stage == STAGE_CHDIR)
			px_error_set(err, rep.errnum, "cannot run '%s' in '%s'", o->argv[0],
				     o->cwd);
		else
			px_error_set(err, rep.errnum, "cannot set up the child for '%s'",
				     o->argv[0]);
		goto out;
	}

	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->pgrp = o->new_pgrp;
	p->name = xstrdup(o->argv[0]);
	/* the parent's pipe ends move into p */
	p->in_fd = in_pipe[1];
	in_pipe[1] = -1;
	p->out_fd = out_pipe[0];
	out_pipe[0] = -1;
	p->err_fd = err_pipe[0];
	err_pipe[0] = -1;
	*out = p;
	ret = 0;
out:
	close_fd(&in_pipe[0]);
	close_fd(&in_pipe[1]);
	close_fd(&out_pipe[0]);
	close_fd(&out_pipe[1]);
	close_fd(&err_pipe[0]);
	close_fd(&err_pipe[1]);
	close_fd(&status_pipe[0]);
	close_fd(&status_pipe[1]);
	close_fd(&null_fd);
	return ret;
}

pid_t px_proc_pid(const struct px_proc *p)
{
	return p->pid;
}

int px_proc_stdin_fd(const struct px_proc *p)
{
	return p->in_fd;
}

int px_proc_stdout_fd(const struct px_proc *p)
{
	return p->out_fd;
}

int px_proc_stderr_fd(const struct px_proc *p)
{
	return p->err_fd;
}

void px_proc_close_stdin(struct px_proc *p)
{
	close_fd(&p->in_fd);
}

const char *px_proc_name(const struct px_proc *p)
{
	return p->name;
}

int px_proc_wait(struct px_proc *p, int *status_out, struct px_error *err)
{
	int status;
	pid_t r;

	if (!p->reaped) {
		do
			r = waitpid(p->pid, &status, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			/* ECHILD: someone else reaped it (SIGCHLD ignored?); the pid is gone */
			if (errno == ECHILD)
				p->reaped = true;
			return px_error_set(err, errno, "cannot wait for '%s' (pid %ld)", p->name,
					    (long)p->pid);
		}
		p->reaped = true;
		p->status = status;
	}
	if (status_out != NULL)
		*status_out = p->status;
	return 0;
}

int px_proc_try_wait(struct px_proc *p, int *status_out)
{
	int status;
	pid_t r;

	if (!p->reaped) {
		do
			r = waitpid(p->pid, &status, WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (errno == ECHILD)
				p->reaped = true;
			return -1;
		}
		if (r == 0)
			return 0;
		p->reaped = true;
		p->status = status;
	}
	if (status_out != NULL)
		*status_out = p->status;
	return 1;
}

int px_proc_kill(struct px_proc *p, int sig)
{
	if (p->reaped) {
		errno = ESRCH;
		return -1;
	}
	return kill(p->pgrp ? -p->pid : p->pid, sig);
}

void px_proc_free(struct px_proc *p)
{
	if (p == NULL)
		return;
	if (!p->reaped) {
		px_proc_kill(p, SIGKILL);
		reap_blocking(p->pid, &p->status);
		p->reaped = true;
	}
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	free(p->name);
	free(p);
}

int px_proc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline for poll(): -1 without a deadline, never below 0. */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* A pidfd turns "the child exited" into something poll() can wait for; -1 when the
 * kernel (< 5.3) or a seccomp filter says no, and the caller falls back to short polls. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Wait up to ms for the child to exit and reap it; returns 1 when reaped. */
static int reap_within(struct px_proc *p, int pidfd, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	int left;

	while (px_proc_try_wait(p, NULL) == 0) {
		left = remaining_ms(deadline);
		if (left == 0)
			return 0;
		if (pidfd >= 0)
			poll(&pfd, 1, left);
		else
			poll(NULL, 0, left < 10 ? left : 10); /* no pidfd: look every 10 ms */
	}
	return p->reaped;
}

/* Read what is available on *fd into b (NULL: discard); closes *fd at EOF. */
static int drain_once(int *fd, struct px_buf *b, const char *name, struct px_error *err)
{
	char chunk[65536];
	ssize_t n;

	n = read(*fd, chunk, sizeof(chunk));
	if (n > 0) {
		if (b != NULL)
			px_buf_add(b, chunk, (size_t)n);
		return 0;
	}
	if (n == 0) {
		close_fd(fd);
		return 0;
	}
	if (errno == EINTR || errno == EAGAIN)
		return 0;
	return px_error_set(err, errno, "cannot read the output of '%s'", name);
}

int px_proc_run(const struct px_proc_opts *o, struct px_buf *out, struct px_buf *errout,
		int *exit_code, int timeout_ms, struct px_error *err)
{
	struct px_proc_opts ro = *o;
	struct px_proc *p = NULL;
	struct pollfd pfds[3];
	int64_t deadline = -1;
	int pidfd = -1;
	int status, ret = -1;

	ro.in = o->in == PX_PROC_PIPE ? PX_PROC_NULL : o->in;
	ro.out = out != NULL ? PX_PROC_PIPE : PX_PROC_NULL;
	ro.err = errout != NULL ? PX_PROC_PIPE : PX_PROC_NULL;
	if (timeout_ms >= 0)
		deadline = now_ms() + timeout_ms;
	if (px_proc_spawn(&p, &ro, err) < 0)
		return -1;
	pidfd = open_pidfd(p->pid);

	/* Until both pipes are at EOF and the child is reaped: a grandchild may hold the
	 * pipes after the child exits, and a child may close them and keep running. */
	while (p->out_fd >= 0 || p->err_fd >= 0 || !p->reaped) {
		nfds_t n = 0;
		int out_i = -1, err_i = -1, pid_i = -1;
		int wait_ms, r;

		wait_ms = remaining_ms(deadline);
		if (wait_ms == 0)
			goto timed_out;
		if (!p->reaped && pidfd < 0 && (wait_ms < 0 || wait_ms > 10))
			wait_ms = 10; /* no pidfd: look at the child every 10 ms */
		if (p->out_fd >= 0) {
			out_i = (int)n;
			pfds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
		}
		if (p->err_fd >= 0) {
			err_i = (int)n;
			pfds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
		}
		if (!p->reaped && pidfd >= 0) {
			pid_i = (int)n;
			pfds[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}

		r = poll(pfds, n, wait_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			px_error_set(err, errno, "cannot poll the output of '%s'", p->name);
			goto out;
		}
		if (out_i >= 0 && pfds[out_i].revents != 0 &&
		    drain_once(&p->out_fd, out, p->name, err) < 0)
			goto out;
		if (err_i >= 0 && pfds[err_i].revents != 0 &&
		    drain_once(&p->err_fd, errout, p->name, err) < 0)
			goto out;
		if (!p->reaped && (pid_i < 0 || pfds[pid_i].revents != 0) &&
		    px_proc_try_wait(p, NULL) < 0) {
			px_error_set(err, errno, "cannot wait for '%s' (pid %ld)", p->name,
				     (long)p->pid);
			goto out;
		}
	}

	if (exit_code != NULL)
		*exit_code = px_proc_exit_code(p->status);
	ret = 0;
	goto out;

timed_out:
	if (!p->reaped) {
		px_proc_kill(p, SIGTERM);
		if (!reap_within(p, pidfd, PX_PROC_KILL_GRACE_MS))
			px_proc_kill(p, SIGKILL);
		px_proc_wait(p, &status, NULL);
	}
	px_error_set(err, 0, "'%s' timed out after %d ms", p->name, timeout_ms);
	/* no errno fits exactly, but callers may want to tell a timeout from a failure */
	if (err != NULL)
		err->errnum = ETIMEDOUT;
out:
	close_fd(&pidfd);
	px_proc_free(p);
	return ret;
}
