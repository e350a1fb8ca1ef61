/* supervisor.h - the public header of supervisor/: the long-running process of a project
 * (watcher and sync jobs on one loop, the control socket) and its runtime files:
 * $XDG_RUNTIME_DIR/prisync/<project>/{lock,supervisor.pid,supervisor.sock}. */
#ifndef PX_SUPERVISOR_H
#define PX_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/error.h"
#include "base/loop.h"
#include "compose/compose.h"
#include "engine/engine.h"

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

/* The last sync of each schema, kept in last-sync.json of the runtime directory as
 * {schema: job} (sup_job_json's form) so that it outlives the process that ran it: the
 * supervisor and a direct `prisync sync` save each sync job they finish, `status` reads
 * them.  Save replaces the file atomically (read, update, rename). */
int sup_last_sync_save(const char *project, const json_t *job, struct px_error *err);
/* Returns 0 with *out the object (owned), 1 with *out NULL when nothing was saved yet. */
int sup_last_sync_load(const char *project, json_t **out, struct px_error *err);


/* ---- The supervisor ------------------------------------------------------------------ */

enum sup_job_state {
	SUP_JOB_QUEUED,
	SUP_JOB_RUNNING,
	SUP_JOB_SUCCEEDED,
	SUP_JOB_FAILED,
};

/*
 * A supervisor on the caller's loop: the watcher follows every schema (and its watch:
 * paths), the compose files and .env; a burst of changes becomes one sync job per schema
 * touched.  Jobs run one at a time on a thread of their own (never two generators at
 * once); a change while a job runs queues exactly one follow-up per schema, whatever
 * else arrives meanwhile.  A change of the compose files or .env reloads the model and
 * converges the stack.  Everything is on the loop's thread except the job itself.
 */
struct sup_opts {
	struct px_loop *loop;
	struct engine *engine; /* the loop thread's; each job runs on an engine_dup() of it */
	/* the model as loaded: borrowed, and must outlive the supervisor; a reload replaces
	 * it by one the supervisor owns */
	const struct compose_project *project;
	/* how to load it again (both borrowed for the call; copied) */
	const struct compose_options *copts;
	const struct compose_project_ref *ref;
	struct sup_runtime *runtime; /* NULL: no control socket */
	bool initial_sync;           /* queue a sync of every schema at once */
	/* every job of the initial sync ended; ok when all succeeded (on the loop) */
	void (*on_initial)(void *data, bool ok);
	/* more of the status answer (NULL: none): what the supervisor module does not know
	 * itself, e.g. each schema's database.  It runs on a thread of its own, one answer at
	 * a time, with the model of when the status was asked (it may block: the loop goes
	 * on serving syncs meanwhile); it must not touch the supervisor. */
	void (*status_extra)(void *data, const struct compose_project *p, json_t *answer);
	void *data;
};

struct sup;

int sup_start(struct sup **out, const struct sup_opts *o, struct px_error *err);
/* Run the loop until something other than the supervisor stops it (px_loop_stop); a
 * reload's watcher restart happens in here, outside the loop's callbacks.  Returns 0, or
 * -1 with errno when the loop fails. */
int sup_run(struct sup *s);
/* Ask for a reload of the compose files (SIGHUP); from the loop thread. */
void sup_reload(struct sup *s);
/* Queue a job: schema NULL for every schema.  Returns the number of jobs queued (ids in
 * ids, at most max), -1 when no schema has that name (err says which exist). */
int sup_request(struct sup *s, const char *schema, bool generate_only, unsigned *ids,
		size_t max, struct px_error *err);
/* Whether a job runs or waits. */
bool sup_busy(const struct sup *s);
/* Cancel the running job, drop the queued ones, stop the watcher, close the control
 * socket, free.  Call on the loop's thread outside its callbacks.  NULL-safe. */
void sup_stop(struct sup *s);

/*
 * Running jobs without a supervisor (`prisync sync` when none runs): the same jobs, the
 * call returning when they are done -- several schemas' syncs as one group (each generator,
 * then one restart of all their services), generates one after the other.  Output and
 * results are printed as the supervisor prints them; with json, a job object per line on
 * stdout instead.  Returns 0 when every job succeeded, 1 when one failed, -1 on an error
 * (unknown schema, no schema at all).
 */
int sup_run_direct(struct engine *e, const struct compose_project *p, const char *schema,
		   bool generate_only, bool json, struct px_error *err);

/* Print a job object (as sup_job_json / the control socket give it) the way the
 * supervisor reports an ended job: a summary, or the generator's output and the error. */
void sup_log_job(const json_t *job);
/* With json, the job object as one compact line on stdout (what `sync --json` prints),
 * else sup_log_job(). */
void sup_print_job(const json_t *job, bool json);

/* ---- Clients of the control socket (JSON lines) -------------------------------------- */

/* Connect to project's supervisor: 0 with *fd, 1 when none runs, -1 on an error. */
int sup_client_connect(const char *project, int *fd, struct px_error *err);
/* Send one request and read one answer line (owned); a {"ok": false, "error": msg}
 * answer is returned as it is, not as a failure. */
int sup_client_call(int fd, json_t *request, json_t **answer, struct px_error *err);
/* Read the next line the supervisor sends (events, a late answer); 1 at EOF. */
int sup_client_read(int fd, json_t **out, struct px_error *err);

#endif
