/* supervisor.h - the public header of supervisor/: the long-running process of a project
 * (later: loop wiring, sync jobs, control socket, state).  This slice owns its runtime
 * files: $XDG_RUNTIME_DIR/prisync/<project>/{lock,supervisor.pid,supervisor.sock}. */
#ifndef PX_SUPERVISOR_H
#define PX_SUPERVISOR_H

#include <sys/types.h>

#include "base/error.h"

/*
 * One supervisor per project: it holds an exclusive flock(2) on `lock` for its whole
 * life, and supervisor.pid says which process it is.  The lock, not the pid file, is
 * the truth: a pid file whose lock nobody holds is stale (a crashed supervisor), and
 * the kernel drops the lock when the holder dies, however it dies.  `lock` itself is
 * never removed: unlinking a lock file lets two processes lock two different inodes.
 *
 * Ownership: *out of sup_runtime_open() belongs to the caller until
 * sup_runtime_close().  sup_runtime_dir() is borrowed from the runtime;
 * sup_runtime_path() returns an owned string.  The lock descriptor is O_CLOEXEC, so
 * spawned programs never inherit the lock.
 */
struct sup_runtime;

/*
 * Become the supervisor of project: create the runtime directory (px_runtime_dir(),
 * 0700), take the lock without blocking, write supervisor.pid (atomically) with our
 * pid, and remove a supervisor.sock left by a dead predecessor.  When another process
 * holds the lock, fail with "a supervisor for project '<p>' is already running (pid N)"
 * and err->errnum set to EAGAIN (the only failure with that errnum), so a caller can
 * tell "someone else supervises" from a broken runtime directory.
 */
int sup_runtime_open(struct sup_runtime **out, const char *project, struct px_error *err);

/* The runtime directory, absolute (borrowed). */
const char *sup_runtime_dir(const struct sup_runtime *rt);

/* dir/name, e.g. sup_runtime_path(rt, "supervisor.sock") (owned). */
char *sup_runtime_path(const struct sup_runtime *rt, const char *name);

/* Remove supervisor.pid and supervisor.sock, then release the lock (in that order, so
 * a successor's files are never removed) and free.  In a forked child that inherited
 * rt, only the child's descriptor is closed: the files and the lock stay the
 * parent's.  NULL-safe. */
void sup_runtime_close(struct sup_runtime *rt);

/* For clients: the pid of project's running supervisor.  Returns 0 with *pid, 1 when
 * there is none -- no pid file, or a pid file whose lock nobody holds (stale) -- and
 * -1 on an error (unreadable runtime directory or pid file, malformed pid file). */
int sup_runtime_read_pid(const char *project, pid_t *pid, struct px_error *err);

#endif
