/* internal.h - what the files of stack/ share and nobody else sees: the stack handle, the
 * job runner (threads with their own engine, results posted to a px_loop), and the
 * engine helpers of the lifecycle (waits, log tails, networks and volumes). */
#ifndef PX_STACK_INTERNAL_H
#define PX_STACK_INTERNAL_H

#include <pthread.h>
#include <signal.h>

#include "base/base.h"
#include "stack/stack.h"

struct runner;

struct stack {
	struct engine *engine; /* borrowed; used by the calling thread only */
	const struct compose_project *project;
	struct stack_progress *progress;
	bool signals;

	pthread_mutex_t lock;   /* guards running and interrupted */
	struct runner *running; /* the runner of the operation in progress, or NULL */
	bool interrupted;       /* sticky for the operation in progress */
};

/* True once stack_interrupt() (or a signal) stopped the operation. */
bool stack_interrupted(struct stack *st);
/* Clear the interrupt at the start of an operation. */
void stack_reset_interrupt(struct stack *st);

/*
 * Jobs: a function run in its own thread with its own engine connection (an engine_dup
 * made before the thread starts, so stack_interrupt() can reach it).  A job reports to
 * the thread that runs the runner with stack_job_post(); that thread sees the reports in
 * order through on_msg, the last one being STACK_JOB_DONE (after which the thread is
 * joined and the job freed).
 */
#define STACK_JOB_DONE 0

struct stack_job {
	struct runner *runner;
	struct engine *e; /* the job's own; freed with the job */
	pthread_t thread;
	int (*fn)(struct stack_job *j, struct px_error *err);
	void *arg;    /* the caller's */
	size_t index; /* the caller's */
	int rc;       /* fn's return value, valid at STACK_JOB_DONE */
	struct px_error err;
	struct stack_job *next; /* runner's list of live jobs */
};

typedef void (*stack_job_msg_fn)(struct runner *r, struct stack_job *j, int kind, char *detail,
				 void *data);

struct runner {
	struct stack *st;
	struct px_loop *loop;
	size_t active;
	struct stack_job *jobs; /* live jobs, guarded by st->lock */
	stack_job_msg_fn on_msg;
	void *data;
	int signals; /* signals received */
};

int stack_runner_init(struct runner *r, struct stack *st, stack_job_msg_fn on_msg, void *data,
		      struct px_error *err);
/* Start fn(job) in a thread.  Fails only when no thread can be created. */
int stack_runner_spawn(struct runner *r, int (*fn)(struct stack_job *, struct px_error *),
		       void *arg, size_t index, struct px_error *err);
/* From a job's thread: report kind (> 0) with detail (owned by the report, may be NULL). */
void stack_job_post(struct stack_job *j, int kind, char *detail);
/* Dispatch until no job is left. */
int stack_runner_run(struct runner *r, struct px_error *err);
void stack_runner_release(struct runner *r);

/*
 * Engine helpers (engine.c)
 */

/* The leading decimal number of s (after blanks), or fallback when there is none
 * (labels, "Exited (3) ..." statuses, event attributes). */
int stack_parse_int(const char *s, int fallback);
/* The project's containers (all states), one-offs included: GET /containers/json. */
int stack_list_containers(struct engine *e, const char *project, json_t **out,
			  struct px_error *err);
/* Whether c (an entry of stack_list_containers) is a running container of service, not a
 * one-off (`run`) one: where a service's files and address are. */
bool stack_serves(const json_t *c, const char *service);
/* "Container <name>": the progress id compose uses. */
char *stack_progress_id(const char *kind, const char *name);
/* The last n log lines of a container, each indented, for error messages ("" when none
 * could be read).  Owned. */
char *stack_last_logs(struct engine *e, const char *id, int n);
/* Append "\n<what> last log lines:\n  ..." to err's message. */
void stack_error_add_logs(struct px_error *err, struct engine *e, const char *id,
			  const char *service);
/* RFC 3339 with nanoseconds ("2024-05-01T12:34:56.123456789Z") to unix ns; 0 on error. */
int64_t stack_parse_time_ns(const char *s);
/* A log line the engine stamped ("<RFC 3339> text"): the stamp in unix ns (0 when the
 * line has none), and *rest / *rest_len set to the text after it (the whole line when
 * there is no stamp). */
int64_t stack_split_stamp(const char *line, size_t len, const char **rest, size_t *rest_len);
/* POST /containers/{id}/rename?name=. */
int stack_container_rename(struct engine *e, const char *id, const char *name,
			   struct px_error *err);

enum stack_wait_for {
	STACK_WAIT_HEALTHY, /* health_status: healthy; unhealthy or exit fails */
	STACK_WAIT_EXITED,  /* the container exits; *exit_code gets its code */
};

/* Wait for container id, on the engine's events (health_status, die) from the moment it
 * started (its State.StartedAt), not by polling; deadline is unix seconds (0: none).
 * Fails with a message naming the service for unhealthy, exited, no healthcheck and
 * the timeout. */
int stack_wait_container(struct engine *e, const char *id, const char *service,
			 enum stack_wait_for what, int64_t deadline, int *exit_code,
			 struct px_error *err);

/* Networks and volumes (resources.c). */
int stack_ensure_networks(struct stack *st, struct px_error *err);
int stack_ensure_volumes(struct stack *st, struct px_error *err);
int stack_remove_networks(struct stack *st, struct px_error *err);
int stack_remove_volumes(struct stack *st, struct px_error *err);

/* Images (images.c): make every service of order have its image, by pull_policy and
 * build:, in parallel jobs.  force_build: --build; no_build: --no-build. */
int stack_ensure_images(struct stack *st, const struct stack_order *order, bool force_build,
			bool no_build, struct px_error *err);

#endif
