/* direct.c - a sync or generate with no supervisor running: the supervisor's own job,
 * run here one schema after the other, with the same deadline and the same report. */
#include "supervisor/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct direct {
	struct sup_job *j;
	struct engine *e;
	const struct compose_project *p;
	const struct compose_prisync_schema *sc;
	int rc;
};

static void *direct_main(void *arg)
{
	struct direct *d = arg;

	d->rc = sup_job_execute(d->j, d->e, d->p, d->sc);
	return NULL;
}

/* Run one job on a thread, so that the deadline can cancel it while it blocks. */
static int run_one(struct sup_job *j, struct engine *e, const struct compose_project *p,
		   const struct compose_prisync_schema *sc, struct px_error *err)
{
	struct direct d = {.j = j, .p = p, .sc = sc, .rc = -1};
	struct timespec deadline;
	pthread_t t;
	int64_t ns = p->prisync.generate_timeout_ns;

	if (engine_dup(e, &d.e, err) < 0)
		return -1;
	j->started_ns = px_real_ns();
	j->state = SUP_JOB_RUNNING;
	if (pthread_create(&t, NULL, direct_main, &d) != 0) {
		engine_free(d.e);
		return px_error_set(err, EAGAIN, "cannot start a thread");
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(ns / 1000000000);
	deadline.tv_nsec += (long)(ns % 1000000000);
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
		sup_job_cancel(j, d.e, 1);
		pthread_join(t, NULL);
	}
	engine_free(d.e);
	j->finished_ns = px_real_ns();
	j->state = d.rc == 0 ? SUP_JOB_SUCCEEDED : SUP_JOB_FAILED;
	return 0;
}

int sup_run_direct(struct engine *e, const struct compose_project *p, const char *schema,
		   bool generate_only, bool json, struct px_error *err)
{
	unsigned id = 0;
	bool all_ok = true;

	if (sup_schema_check(p, schema, err) < 0)
		return -1;
	if (p->prisync.nschemas == 0)
		return px_error_set(err, ENOENT,
				    "no Prisma schema found: add an x-prisync block to the compose "
				    "file, or a prisma/schema.prisma");
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];
		struct sup_job *j;

		if (schema != NULL && strcmp(schema, sc->name) != 0)
			continue;
		j = sup_job_new(++id, sc->name, generate_only);
		sup_job_add_trigger(j, "requested");
		if (!json)
			px_log_emit(PX_LOG_INFO, j->schema, "%s started",
				    generate_only ? "generate" : "sync");
		if (run_one(j, e, p, sc, err) < 0) {
			sup_job_free(j);
			return -1;
		}
		{
			struct px_error serr = PX_ERROR_INIT;
			json_t *o = sup_job_json(j);

			if (sup_last_sync_save(p->name, o, &serr) < 0)
				px_warn("cannot record the last sync: %s", px_error_msg(&serr));
			json_decref(o);
			px_error_clear(&serr);
		}
		if (json) {
			json_t *o = sup_job_json(j);

			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			fflush(stdout);
			json_decref(o);
		} else {
			sup_job_log_result(j);
		}
		all_ok = all_ok && j->state == SUP_JOB_SUCCEEDED;
		sup_job_free(j);
	}
	return all_ok ? 0 : 1;
}
