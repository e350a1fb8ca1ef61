/* direct.c - a sync or generate with no supervisor running: the supervisor's own jobs,
 * run here -- several schemas' syncs as one group, as the supervisor runs them -- with the
 * same deadline and the same report. */
#include "supervisor/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct direct {
	struct sup_job **jobs;
	const struct compose_prisync_schema **scs;
	size_t n;
	struct engine *e;
	const struct compose_project *p;
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* a step began, or the run ended */
	struct sup_job *step;  /* guarded by lock: what the deadline applies to */
	int64_t step_ns;       /* guarded by lock: when it began (monotonic) */
	bool done;             /* guarded by lock */
};

static void direct_step(void *data, struct sup_job *j)
{
	struct direct *d = data;

	pthread_mutex_lock(&d->lock);
	d->step = j;
	d->step_ns = px_mono_ns();
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *direct_main(void *arg)
{
	struct direct *d = arg;

	if (d->n == 1) {
		int rc = sup_job_execute(d->jobs[0], d->e, d->p, d->scs[0]);

		d->jobs[0]->state = rc == 0 ? SUP_JOB_SUCCEEDED : SUP_JOB_FAILED;
	} else {
		sup_job_execute_group(d->jobs, d->scs, d->n, d->e, d->p, direct_step, d);
	}
	pthread_mutex_lock(&d->lock);
	d->done = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/*
 * Run the jobs on a thread, so that the deadline can cancel what blocks: each step (a
 * generator, the group's restart) gets generate-timeout from its start, as in the
 * supervisor.  A single job's step is the whole job, on d->e (interrupted on timeout); a
 * group's steps run on handles of their own.
 */
static int run_jobs(struct direct *d, struct px_error *err)
{
	int64_t ns = d->p->prisync.generate_timeout_ns;
	struct sup_job *cancelled = NULL;
	pthread_condattr_t ca;
	pthread_t t;
	int ret = 0;

	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < d->n; i++) {
		d->jobs[i]->started_ns = px_real_ns();
		d->jobs[i]->state = SUP_JOB_RUNNING;
	}
	d->step = d->jobs[0];
	d->step_ns = px_mono_ns();
	if (pthread_create(&t, NULL, direct_main, d) != 0) {
		ret = px_error_set(err, EAGAIN, "cannot start a thread");
		goto out;
	}
	pthread_mutex_lock(&d->lock);
	while (!d->done) {
		int64_t due = d->step_ns + ns;
		struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};

		if (d->step == cancelled) {
			pthread_cond_wait(&d->cond, &d->lock); /* until the next step, or the end */
			continue;
		}
		if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT && !d->done &&
		    px_mono_ns() >= d->step_ns + ns) {
			cancelled = d->step;
			sup_job_cancel(cancelled, d->n == 1 ? d->e : NULL, 1);
		}
	}
	pthread_mutex_unlock(&d->lock);
	pthread_join(t, NULL);
	for (size_t i = 0; i < d->n; i++)
		d->jobs[i]->finished_ns = px_real_ns();
out:
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	return ret;
}

/* How job j ended: recorded for status, and printed (a JSON line with json). */
static void report(const struct compose_project *p, const struct sup_job *j, bool json)
{
	struct px_error serr = PX_ERROR_INIT;
	json_t *o = sup_job_json(j);

	if (sup_last_sync_save(p->name, o, &serr) < 0)
		px_warn("cannot record the last sync: %s", px_error_msg(&serr));
	px_error_clear(&serr);
	sup_print_job(o, json);
	json_decref(o);
}

/* Run jobs[0..n) (one, or a group) and report each; *all_ok cleared when one failed. */
static int run_and_report(struct engine *e, const struct compose_project *p,
			  struct sup_job **jobs, const struct compose_prisync_schema **scs, size_t n,
			  bool json, bool *all_ok, struct px_error *err)
{
	struct direct d = {.jobs = jobs, .scs = scs, .n = n, .p = p};
	int rc;

	if (engine_dup(e, &d.e, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !json; i++)
		px_log_emit(PX_LOG_INFO, jobs[i]->schema, "%s started",
			    jobs[i]->generate_only ? "generate" : "sync");
	rc = run_jobs(&d, err);
	engine_free(d.e);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		report(p, jobs[i], json);
		*all_ok = *all_ok && jobs[i]->state == SUP_JOB_SUCCEEDED;
	}
	return 0;
}

int sup_run_direct(struct engine *e, const struct compose_project *p, const char *schema,
		   bool generate_only, bool json, struct px_error *err)
{
	struct sup_job **jobs = xcalloc(p->prisync.nschemas + 1, sizeof(struct sup_job *));
	const struct compose_prisync_schema **scs =
	    xcalloc(p->prisync.nschemas + 1, sizeof(const struct compose_prisync_schema *));
	size_t n = 0;
	bool all_ok = true;
	int ret = -1;

	if (sup_schema_check(p, schema, err) < 0)
		goto out;
	if (p->prisync.nschemas == 0) {
		px_error_set(err, ENOENT,
			     "no Prisma schema found: add an x-prisync block to the compose file, "
			     "or a prisma/schema.prisma");
		goto out;
	}
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];

		if (schema != NULL && strcmp(schema, sc->name) != 0)
			continue;
		jobs[n] = sup_job_new((unsigned)n + 1, sc->name, generate_only);
		sup_job_add_trigger(jobs[n], "requested");
		scs[n++] = sc;
	}
	if (generate_only) {
		/* nothing restarts: one after the other, each with its own deadline */
		for (size_t i = 0; i < n; i++) {
			if (run_and_report(e, p, &jobs[i], &scs[i], 1, json, &all_ok, err) < 0)
				goto out;
		}
	} else if (run_and_report(e, p, jobs, scs, n, json, &all_ok, err) < 0) {
		goto out;
	}
	ret = all_ok ? 0 : 1;
out:
	for (size_t i = 0; i < n; i++)
		sup_job_free(jobs[i]);
	free(jobs);
	free(scs);
	return ret;
}
