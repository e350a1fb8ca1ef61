/* proc.h - child processes: spawn an argv (never a shell string) with a clean signal
 * state, report exec failure to the caller, reap exactly our own pid, never leave a zombie. */
#ifndef PX_PROC_H
#define PX_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"

struct px_proc;

/* Where a standard stream of the child goes. */
enum px_proc_stdio {
	PX_PROC_INHERIT = 0, /* the parent's own fd */
	PX_PROC_NULL,        /* /dev/null */
	PX_PROC_PIPE,        /* a pipe whose other end the parent reads (or writes, for stdin) */
};

struct px_proc_opts {
	const char *const *argv; /* argv[0] is looked up in the parent's PATH; NULL-terminated */
	const char *const *envp; /* NULL: inherit the parent's environment */
	const char *cwd;         /* NULL: the parent's working directory */
	enum px_proc_stdio in, out, err;
	/* stderr goes wherever stdout goes (into the stdout pipe); err is then ignored */
	bool merge_err;
	/* the child leads a new process group; px_proc_kill() signals the whole group */
	bool new_pgrp;
};

/*
 * Start a child.  Returns only once the child has exec'd, so a failed exec (or chdir)
 * is an error here -- "cannot run 'foo': No such file or directory" -- and the failed
 * child is already reaped.  The child starts with an empty signal mask and every
 * disposition at SIG_DFL whatever the parent blocked or ignored.  Pipe ends kept by the
 * parent are O_CLOEXEC and blocking (set O_NONBLOCK yourself to use them in a loop).
 * *out is owned by the caller: release with px_proc_free().
 */
int px_proc_spawn(struct px_proc **out, const struct px_proc_opts *o, struct px_error *err);

pid_t px_proc_pid(const struct px_proc *p);
/* The parent's ends of the pipes, borrowed (closed by px_proc_free); -1 when not piped. */
int px_proc_stdin_fd(const struct px_proc *p);
int px_proc_stdout_fd(const struct px_proc *p);
int px_proc_stderr_fd(const struct px_proc *p);
/* Close the parent's end of the stdin pipe so the child sees EOF; no-op when not piped. */
void px_proc_close_stdin(struct px_proc *p);
/* argv[0] as spawned (borrowed), for messages. */
const char *px_proc_name(const struct px_proc *p);

/* Block until the child has exited and reap it (EINTR-safe); a second call returns the
 * saved status.  status_out may be NULL. */
int px_proc_wait(struct px_proc *p, int *status_out, struct px_error *err);

/* Reap the child if it has exited (WNOHANG).  Returns 1 when reaped (status saved and
 * stored into *status_out when non-NULL), 0 when still running, -1 on error (errno). */
int px_proc_try_wait(struct px_proc *p, int *status_out);

/* Send sig to the child, or to its whole group when spawned with new_pgrp.  Returns -1
 * with errno ESRCH once the child has been reaped: its pid may belong to someone else. */
int px_proc_kill(struct px_proc *p, int sig);

/* Kill (SIGKILL) and reap the child if it has not been reaped yet, close the pipes,
 * free.  NULL-safe. */
void px_proc_free(struct px_proc *p);

/* Shell convention: the exit status, or 128 + the signal that killed the child;
 * -1 for a status that is neither. */
int px_proc_exit_code(int status);

/*
 * Run a child to completion, collecting what it writes.  stdout is appended to out and
 * stderr to errout (with merge_err, both into out); a NULL buffer sends that stream to
 * /dev/null.  o->out and o->err are ignored; o->in PX_PROC_PIPE is treated as
 * PX_PROC_NULL (there is nothing to feed).  Both pipes are drained together, so a child
 * that fills one cannot deadlock on the other.  After timeout_ms (-1: none) the child (its
 * group with new_pgrp) gets SIGTERM, then SIGKILL after PX_PROC_KILL_GRACE_MS, is reaped,
 * and the call fails with "'<argv0>' timed out after N ms" (output so far is kept).
 * Returns 0 when the child ran, whatever its exit code; *exit_code (may be NULL) gets
 * px_proc_exit_code() of its status.
 */
int px_proc_run(const struct px_proc_opts *o, struct px_buf *out, struct px_buf *errout,
		int *exit_code, int timeout_ms, struct px_error *err);

#define PX_PROC_KILL_GRACE_MS 500

#endif
