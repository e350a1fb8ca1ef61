/* internal.h - private to supervisor/: the sync job (what it ran, how it ended) and the
 * executor that runs one on a thread of its own. */
#ifndef PX_SUPERVISOR_INTERNAL_H
#define PX_SUPERVISOR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/base.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "stack/stack.h"
#include "supervisor/devwatch.h"
#include "supervisor/supervisor.h"
#include "watcher/watcher.h"

/*
 * One sync job.  The loop thread creates it and owns it; while it runs, the executor
 * thread writes output, error, the phase and the timings, and the loop reads them only
 * after joining that thread.  cancel is the one field both touch at once.
 */
struct sup_job {
	unsigned id;
	char *schema; /* the schema's name; for a develop.watch job the service's */
	bool generate_only;
	/* a develop.watch job: what to do to the service (owned), with the rules it came
	 * from (borrowed: the supervisor keeps every rule set until it stops) */
	struct sup_devwatch_action *action;
	const struct sup_devwatch *dw;
	/* a reload job: the model it converges the stack to (owned until applied) */
	struct compose_project *reload;
	enum sup_job_state state;
	int64_t queued_ns, started_ns, finished_ns; /* CLOCK_REALTIME; 0 until then */
	int64_t generate_ns, restart_ns;           /* how long each phase took */
	struct compose_strv triggers;               /* project-relative paths, sorted */
	bool overflow;       /* triggered by lost events: everything counts as changed */
	struct px_buf output; /* the generator's stdout and stderr, interleaved */
	char *error;          /* NULL unless failed */
	const char *phase;    /* "generate", "restart", "wait" */
	atomic_int cancel;    /* 1: timed out, 2: the supervisor stops */
	int cancel_fd;        /* eventfd the host generator's wait also polls */
	pthread_mutex_t lock; /* guards stack, for sup_job_cancel from the loop */
	struct stack *stack;  /* the executor's, while it restarts and waits */
	struct engine *engine; /* a group step's own handle while it runs (guarded by lock) */
	/* sync jobs run as one (sup.c kick): the first holds the others, in queue order (the
	 * array owned, the jobs not); they generate in turn, then their services restart once */
	struct sup_job **group;
	size_t ngroup;
};

struct sup_job *sup_job_new(unsigned id, const char *schema, bool generate_only);
void sup_job_free(struct sup_job *j); /* NULL-safe */
/* Add a trigger (kept sorted, each once). */
void sup_job_add_trigger(struct sup_job *j, const char *rel);
const char *sup_job_state_name(enum sup_job_state s);
/* Print how an ended job went (the generator's output first when it failed), prefixed
 * with the schema's name. */
void sup_job_log_result(const struct sup_job *j);
/* The job as the control socket and --json show it (new reference). */
json_t *sup_job_json(const struct sup_job *j);

/*
 * Run job j of schema sc in project p, start to end, on the calling thread: generate
 * (on the host, or by exec in the run-in service's container), then unless generate_only
 * restart the restart services and wait until they run (healthy when they have a
 * healthcheck).  e is the calling thread's own engine.  Fills j (output, error, phase,
 * timings) and returns 0 when it succeeded, -1 when it failed (j->error says why).
 * Cancellation: sup_job_cancel() from another thread.
 */
int sup_job_execute(struct sup_job *j, struct engine *e, const struct compose_project *p,
		    const struct compose_prisync_schema *sc);
/*
 * Run sync jobs jobs[0..n) of schemas scs[0..n) as one on the calling thread: each one's
 * generator in turn, then one restart of the union of the restart services of those whose
 * generator succeeded (by the first of them), and the wait -- a service that loads two
 * clients restarts once, not once per schema.  A failed generator leaves its job failed and
 * adds nothing to the restart.  before(data, j) comes first at each step, with the job it
 * runs as (the supervisor times and cancels that one).  Sets every job's state.
 */
void sup_job_execute_group(struct sup_job **jobs, const struct compose_prisync_schema **scs,
			   size_t n, struct engine *e, const struct compose_project *p,
			   void (*before)(void *data, struct sup_job *j), void *data);
/* Add sc's restart services to set (each once); does set hold one of them already? */
void sup_restart_union(struct compose_strv *set, const struct compose_prisync_schema *sc);
bool sup_restart_shares(const struct compose_strv *set, const struct compose_prisync_schema *sc);
/* Run develop.watch job j (j->action) on the calling thread; as sup_job_execute. */
int sup_job_execute_watch(struct sup_job *j, struct engine *e, const struct compose_project *p);
/* Run reload job j: converge the stack to j->reload, as `up -d`. */
int sup_job_execute_reload(struct sup_job *j, struct engine *e);
/* Fold action a (borrowed) into job j's action: flags or'ed, syncs and hooks added. */
void sup_job_merge_action(struct sup_job *j, const struct sup_devwatch_action *a);

/* Thread-safe: make the running job stop soon; why 1: it timed out, 2: shutdown.  e is
 * the executor's engine (interrupted for good). */
void sup_job_cancel(struct sup_job *j, struct engine *e, int why);

/* A connection to the control socket. */
struct sup_devwatch;
struct sup_spec;

struct sup_client {
	struct sup *sup;
	unsigned id; /* never reused: a late status answer finds its client by it */
	int fd;
	struct px_buf in; /* bytes of a request line not yet complete */
	bool events;      /* subscribed to the event stream */
	bool held;        /* its status answer is being completed: its next requests wait */
	bool eof;         /* it stopped sending while held: dropped once answered */
	unsigned *waits;  /* jobs it waits for (answered when each ends) */
	size_t nwaits;
	struct sup_client *next;
};

#define SUP_HISTORY 64 /* finished jobs kept for wait and status */

/* What a HEAD move did to one schema. */
struct sup_git_schema {
	char *name;
	bool schema_changed;         /* a file of the schema differs */
	struct compose_strv added;   /* migration folder names */
	struct compose_strv removed;
};

/* HEAD resolved to another commit (git.c). */
struct sup_git_move {
	char from[41], to[41]; /* "" for an unborn HEAD */
	char branch[256];      /* "" when detached */
	int64_t time_ns;       /* CLOCK_REALTIME, when the supervisor saw it */
	bool on_top;           /* same branch, from is a parent of to: a commit, not a switch */
	struct sup_git_schema *schemas; /* one per schema of the model */
	size_t nschemas;
};

/* Following git's HEAD: an inotify descriptor of our own on the loop, watching the git
 * directory (HEAD, index.lock), the common one (packed-refs) and the branch's ref folder,
 * none recursively. */
struct sup_git {
	int fd; /* -1: not in a git working tree (or it cannot be watched) */
	int wd_gitdir, wd_common, wd_ref;
	char *gitdir, *commondir, *workdir;
	char *refname;     /* the branch's ref file name in wd_ref's folder, or NULL */
	char branch[256];  /* at the last look */
	char oid[41];
	bool dirty;        /* HEAD or a ref was written since the last look */
	bool held;         /* git holds index.lock or HEAD.lock */
	struct sup_git_move *last; /* the last move seen, or NULL */
};

struct sup {
	struct px_loop *loop;
	struct engine *engine;
	const struct compose_project *project; /* current model */
	struct compose_project *owned;         /* a reloaded model (== project), or NULL */
	struct compose_options copts;           /* for reloads */
	struct compose_project_ref ref;
	bool can_reload;
	bool reload_pending; /* asked while a job runs: done when it ends */
	bool rewatch;        /* sup_run restarts the watcher */
	bool stopping;       /* sup_stop runs: no job starts */
	struct watcher *watcher;
	struct sup_spec *spec; /* what the watcher watches (its thread reads it) */
	char *stamp;           /* config files as they were when the watcher restarted */
	/* models and watch specs replaced by reloads, freed at the end: queued jobs and the
	 * watcher thread may still point into them */
	struct compose_project **old_projects;
	size_t nold_projects;
	struct sup_spec **old_specs;
	size_t nold_specs;
	int64_t started_ns;

	unsigned next_id;
	struct sup_job **queue; /* waiting, in order */
	size_t nqueue;
	struct sup_job *running;
	struct sup_job *step; /* of a group: the member it runs as now (timeouts cancel it) */
	pthread_t thread;
	struct engine *job_engine;
	struct px_timer *timeout;
	struct sup_job *history[SUP_HISTORY]; /* ring of finished jobs, newest at hist_next-1 */
	size_t hist_next, nhist;

	unsigned *initial; /* the initial sync's jobs still running or queued */
	size_t ninitial;
	bool initial_ok;
	void (*on_initial)(void *data, bool ok);
	void (*status_extra)(void *data, const struct compose_project *p, json_t *answer);
	void *data;
	struct sup_status_worker *status_worker; /* control.c: runs status_extra; NULL until asked */
	unsigned next_client_id;

	struct sup_git git;

	struct sup_runtime *runtime;
	int listen_fd;
	struct sup_client *clients;
};

/* control.c: the socket of the runtime directory, served on the loop. */
int sup_control_open(struct sup *s, struct px_error *err);
void sup_control_close(struct sup *s);
/* Every subscribed client gets event (a reference is taken). */
void sup_control_broadcast(struct sup *s, json_t *event);
/* Job j ended: answer the clients waiting for it. */
void sup_control_job_done(struct sup *s, const struct sup_job *j);
/* The job with that id: queued, running or in the history; NULL when unknown. */
struct sup_job *sup_find_job(struct sup *s, unsigned id);
/* The status answer without status_extra's part (new reference). */
json_t *sup_status_json(struct sup *s);

/* 0 when name is NULL or a schema of p, else -1 with "no schema named 'x' — schemas: ...". */
int sup_schema_check(const struct compose_project *p, const char *name, struct px_error *err);
/* The schema named name in p (NULL: NULL). */
const struct compose_prisync_schema *sup_schema_find(const struct compose_project *p,
						     const char *name);

/* sup.c: a batch of the watcher (or an empty one when HEAD moved and nothing watches). */
void sup_on_batch(struct sup *s, const struct watcher_batch *b);

/* git.c: follow HEAD when the project is in a git working tree (no error: without git,
 * or when it cannot be watched, nothing is followed). */
void sup_git_start(struct sup *s);
void sup_git_stop(struct sup *s);
/* When HEAD or a ref was written since the last look: read HEAD, and when it resolves to
 * another commit, record the move (what it changed per schema) and return it (borrowed,
 * until the next move); else NULL. */
const struct sup_git_move *sup_git_check(struct sup *s);
/* The "git" object of the status: null outside a git working tree (new reference). */
json_t *sup_git_json(const struct sup *s);

#endif
