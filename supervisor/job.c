/* job.c - one sync job from start to end: the generator (on the host, or by exec in the
 * run-in service's container), then the restart of the services that load the client,
 * then the wait until they run again.  Runs on a thread of its own; cancellable. */
#include "supervisor/internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "stack/stack.h"

/* How long services may take to run (be healthy) again after their restart. */
#define WAIT_TIMEOUT_S 120

struct sup_job *sup_job_new(unsigned id, const char *schema, bool generate_only)
{
	struct sup_job *j = xcalloc(1, sizeof(*j));

	j->id = id;
	j->schema = xstrdup(schema);
	j->generate_only = generate_only;
	j->state = SUP_JOB_QUEUED;
	j->queued_ns = px_real_ns();
	px_buf_init(&j->output);
	atomic_init(&j->cancel, 0);
	j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&j->lock, NULL);
	return j;
}

void sup_job_free(struct sup_job *j)
{
	if (j == NULL)
		return;
	free(j->schema);
	compose_project_free(j->reload);
	if (j->action != NULL) {
		struct sup_devwatch_plan pl = {.v = j->action, .n = 1};

		sup_devwatch_plan_release(&pl);
	}
	compose_strv_release(&j->triggers);
	px_buf_release(&j->output);
	free(j->error);
	free(j->group);
	if (j->cancel_fd >= 0)
		close(j->cancel_fd);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

void sup_job_add_trigger(struct sup_job *j, const char *rel)
{
	size_t at = 0;

	while (at < j->triggers.n && strcmp(j->triggers.v[at], rel) < 0)
		at++;
	if (at < j->triggers.n && strcmp(j->triggers.v[at], rel) == 0)
		return;
	compose_strv_push(&j->triggers, rel);
	/* push appended it: rotate it into place */
	char *last = j->triggers.v[j->triggers.n - 1];

	memmove(&j->triggers.v[at + 1], &j->triggers.v[at],
		(j->triggers.n - 1 - at) * sizeof(*j->triggers.v));
	j->triggers.v[at] = last;
}

const char *sup_job_state_name(enum sup_job_state s)
{
	switch (s) {
	case SUP_JOB_QUEUED:
		return "queued";
	case SUP_JOB_RUNNING:
		return "running";
	case SUP_JOB_SUCCEEDED:
		return "succeeded";
	case SUP_JOB_FAILED:
		return "failed";
	}
	return "?";
}

void sup_log_job(const json_t *job)
{
	const char *schema = json_string_value(json_object_get(job, "schema"));
	const char *kind = json_string_value(json_object_get(job, "kind"));
	const char *state = json_string_value(json_object_get(job, "state"));
	const char *output = json_string_value(json_object_get(job, "output"));
	const char *error = json_string_value(json_object_get(job, "error"));
	json_int_t id = json_integer_value(json_object_get(job, "id"));
	double total = (double)json_integer_value(json_object_get(job, "duration_ms")) / 1e3;
	double gen = (double)json_integer_value(json_object_get(job, "generate_ms")) / 1e3;
	double restart = (double)json_integer_value(json_object_get(job, "restart_ms")) / 1e3;

	if (schema == NULL || kind == NULL || state == NULL)
		return;
	if (strcmp(state, "succeeded") == 0) {
		if (strcmp(kind, "sync") != 0 || restart == 0)
			px_log_emit(PX_LOG_INFO, schema, "%s #%lld succeeded in %.2f s", kind,
				    (long long)id, total);
		else
			px_log_emit(PX_LOG_INFO, schema,
				    "%s #%lld succeeded in %.2f s (generate %.2f s, restart %.2f s)",
				    kind, (long long)id, total, gen, restart);
		return;
	}
	if (strcmp(state, "failed") != 0) {
		px_log_emit(PX_LOG_INFO, schema, "%s #%lld %s", kind, (long long)id, state);
		return;
	}
	/* the generator's own words first: they say what is wrong with the schema */
	if (output != NULL && *output != '\0')
		px_log_emit(PX_LOG_INFO, schema, "%s", output);
	px_log_emit(PX_LOG_ERROR, schema, "%s #%lld failed: %s", kind, (long long)id,
		    error != NULL ? error : "?");
}

void sup_print_job(const json_t *job, bool json)
{
	if (!json) {
		sup_log_job(job);
		return;
	}
	json_dumpf(job, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
}

void sup_job_log_result(const struct sup_job *j)
{
	json_t *o = sup_job_json(j);

	sup_log_job(o);
	json_decref(o);
}

static json_t *time_json(int64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000);

	if (ns <= 0)
		return json_null();
	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % 1000000000 / 1000000));
	return json_string(buf);
}

json_t *sup_job_json(const struct sup_job *j)
{
	json_t *o = json_object(), *triggers = json_array();
	char *masked = px_mask_urls(px_buf_cstr(&j->output));

	for (size_t i = 0; i < j->triggers.n; i++)
		json_array_append_new(triggers, json_string(j->triggers.v[i]));
	json_object_set_new(o, "id", json_integer(j->id));
	json_object_set_new(o, "schema", json_string(j->schema));
	json_object_set_new(o, "kind", json_string(j->reload != NULL   ? "reload"
						   : j->action != NULL ? "watch"
						   : j->generate_only  ? "generate"
								       : "sync"));
	json_object_set_new(o, "state", json_string(sup_job_state_name(j->state)));
	json_object_set_new(o, "queued_at", time_json(j->queued_ns));
	json_object_set_new(o, "started_at", time_json(j->started_ns));
	json_object_set_new(o, "finished_at", time_json(j->finished_ns));
	json_object_set_new(o, "duration_ms",
			    j->finished_ns > 0 && j->started_ns > 0
				? json_integer((j->finished_ns - j->started_ns) / 1000000)
				: json_null());
	json_object_set_new(o, "generate_ms", json_integer(j->generate_ns / 1000000));
	json_object_set_new(o, "restart_ms", json_integer(j->restart_ns / 1000000));
	json_object_set_new(o, "triggers", triggers);
	json_object_set_new(o, "overflow", json_boolean(j->overflow));
	json_object_set_new(o, "output", json_string(masked != NULL ? masked : ""));
	json_object_set_new(o, "error", j->error != NULL ? json_string(j->error) : json_null());
	free(masked);
	return o;
}

int sup_schema_check(const struct compose_project *p, const char *name, struct px_error *err)
{
	struct px_buf names = PX_BUF_INIT;

	if (name == NULL || sup_schema_find(p, name) != NULL)
		return 0;
	for (size_t i = 0; i < p->prisync.nschemas; i++)
		px_buf_addf(&names, "%s%s", i ? ", " : "", p->prisync.schemas[i].name);
	px_error_set(err, 0, "no schema named '%s' — schemas: %s", name,
		     names.len > 0 ? px_buf_cstr(&names) : "none");
	px_buf_release(&names);
	return -1;
}

const struct compose_prisync_schema *sup_schema_find(const struct compose_project *p,
						     const char *name)
{
	for (size_t i = 0; name != NULL && i < p->prisync.nschemas; i++) {
		if (strcmp(p->prisync.schemas[i].name, name) == 0)
			return &p->prisync.schemas[i];
	}
	return NULL;
}

/*
 * The generator on the host: its output collected while it runs, and killed (its whole
 * process group) when the job is cancelled.
 */
/* The generator's argv, NULL-terminated (borrowed strings; free the array). */
static const char **generator_argv(const struct compose_prisync_schema *sc)
{
	const char **argv = xcalloc(sc->generate.n + 1, sizeof(*argv));

	for (size_t i = 0; i < sc->generate.n; i++)
		argv[i] = sc->generate.v[i];
	return argv;
}

static int generate_host(struct sup_job *j, const struct compose_project *p,
			 const struct compose_prisync_schema *sc, int *code, struct px_error *err)
{
	const char **argv = generator_argv(sc);
	struct px_proc_opts o = {
	    .argv = argv,
	    .cwd = p->working_dir,
	    .in = PX_PROC_NULL,
	    .out = PX_PROC_PIPE,
	    .merge_err = true,
	    .new_pgrp = true,
	};
	struct px_proc *proc = NULL;
	char buf[4096];
	int status = 0, ret = -1;

	if (px_proc_spawn(&proc, &o, err) < 0) {
		free(argv);
		return -1;
	}
	for (;;) {
		struct pollfd fds[2] = {
		    {.fd = px_proc_stdout_fd(proc), .events = POLLIN},
		    {.fd = j->cancel_fd, .events = POLLIN},
		};
		ssize_t n;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			px_error_set(err, errno, "poll");
			goto out;
		}
		if (fds[1].revents != 0)
			break;
		n = read(fds[0].fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		px_buf_add(&j->output, buf, (size_t)n);
	}
	if (atomic_load(&j->cancel) != 0) {
		px_proc_kill(proc, SIGTERM);
		for (int waited = 0; waited < PX_PROC_KILL_GRACE_MS; waited += 10) {
			if (px_proc_try_wait(proc, NULL) != 0)
				break;
			usleep(10000);
		}
		/* the whole group, even once its leader is reaped: what it started in the
		 * background keeps the group (and so its id) alive */
		kill(-px_proc_pid(proc), SIGKILL);
		px_error_set(err, ECANCELED, "cancelled");
		goto out;
	}
	if (px_proc_wait(proc, &status, err) < 0)
		goto out;
	*code = px_proc_exit_code(status);
	ret = 0;
out:
	px_proc_free(proc);
	free(argv);
	return ret;
}

/* The running container of service (the lowest container number), owned; NULL with err. */
static char *service_container(struct engine *e, const char *project, const char *service,
			       struct px_error *err)
{
	char *filter = NULL, *id = NULL;
	json_t *list = NULL, *c;
	long best = -1;
	size_t i;

	xasprintf(&filter, STACK_LABEL_PROJECT "=%s", project);
	if (engine_container_list(e, filter, false, &list, err) < 0)
		goto out;
	json_array_foreach(list, i, c)
	{
		json_t *labels = json_object_get(c, "Labels");
		const char *svc = json_string_value(json_object_get(labels, STACK_LABEL_SERVICE));
		const char *num = json_string_value(json_object_get(labels, STACK_LABEL_NUMBER));
		const char *oneoff = json_string_value(json_object_get(labels, STACK_LABEL_ONEOFF));
		const char *cid = json_string_value(json_object_get(c, "Id"));
		long n = num != NULL ? strtol(num, NULL, 10) : 0;

		if (svc == NULL || cid == NULL || strcmp(svc, service) != 0 ||
		    (oneoff != NULL && strcmp(oneoff, "True") == 0))
			continue;
		if (best < 0 || n < best) {
			free(id);
			id = xstrdup(cid);
			best = n;
		}
	}
	if (id == NULL)
		px_error_set(err, 0,
			     "service '%s' has no running container to run the generator in — "
			     "start it with `prisync up -d %s`",
			     service, service);
out:
	json_decref(list);
	free(filter);
	return id;
}

static int generate_in(struct sup_job *j, struct engine *e, const struct compose_project *p,
		       const struct compose_prisync_schema *sc, int *code, struct px_error *err)
{
	char *id = service_container(e, p->name, sc->run_in, err), *exec_id = NULL;
	const char **argv;
	int ret = -1;

	if (id == NULL)
		return -1;
	argv = generator_argv(sc);
	ret = engine_exec_tracked(e, id, argv, NULL, NULL, NULL, &j->output, &j->output, code,
				  &exec_id, err);
	free(argv);
	if (ret < 0 && atomic_load(&j->cancel) != 0 && exec_id != NULL) {
		struct px_error kerr = PX_ERROR_INIT;
		struct engine *k = NULL;

		/* the engine has no "stop this exec": kill what it runs, or it keeps going;
		 * e is interrupted for good, so on a handle of its own */
		if (engine_dup(e, &k, &kerr) < 0 || engine_exec_kill(k, exec_id, &kerr) < 0)
			px_warn("%s: the generator may still run in '%s': %s", j->schema,
				sc->run_in, px_error_msg(&kerr));
		engine_free(k);
		px_error_clear(&kerr);
	}
	free(exec_id);
	free(id);
	return ret;
}

/* The executor's stack, visible to sup_job_cancel (NULL: detach). */
static void job_stack(struct sup_job *j, struct stack *st)
{
	pthread_mutex_lock(&j->lock);
	j->stack = st;
	pthread_mutex_unlock(&j->lock);
}

static int fail(struct sup_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct sup_job *j, const char *fmt, ...)
{
	va_list ap;

	free(j->error);
	va_start(ap, fmt);
	xvasprintf(&j->error, fmt, ap);
	va_end(ap);
	return -1;
}

static int cancelled(struct sup_job *j, const struct compose_project *p, const char *what)
{
	if (atomic_load(&j->cancel) == 1)
		return fail(j, "%s timed out after %g s (x-prisync generate-timeout) and was killed",
			    what, (double)p->prisync.generate_timeout_ns / 1e9);
	return fail(j, "%s cancelled: the supervisor is stopping", what);
}

/* What a job does with the stack (j->sc and j->reload tell which). */
typedef int stack_op(struct sup_job *j, struct engine *e, struct stack *st,
		     const struct compose_prisync_schema *sc, struct px_error *err);

/*
 * The stack part of every job kind: op on a stack of p opened on e, the stack visible to
 * sup_job_cancel while it runs, its time in j->restart_ns, a failure recorded on j (a
 * cancel as such, named after j->phase).
 */
static int on_stack(struct sup_job *j, struct engine *e, const struct compose_project *p,
		    const struct compose_prisync_schema *sc, stack_op *op)
{
	struct px_error err = PX_ERROR_INIT;
	struct stack *st = NULL;
	int64_t t0 = px_mono_ns();
	int ret = -1;

	if (stack_open(&st, e, p, NULL, &err) < 0)
		goto out;
	job_stack(j, st);
	if (atomic_load(&j->cancel) == 0 && op(j, e, st, sc, &err) == 0)
		ret = 0;
out:
	job_stack(j, NULL);
	stack_free(st);
	j->restart_ns = px_mono_ns() - t0;
	if (ret < 0) {
		if (atomic_load(&j->cancel) != 0)
			cancelled(j, p, j->phase);
		else
			fail(j, "%s", px_error_msg(&err));
	}
	px_error_clear(&err);
	return ret;
}

/* A sync: restart the services that load the client, then wait until they run. */
static int restart_and_wait(struct sup_job *j, struct engine *e, struct stack *st,
			    const struct compose_prisync_schema *sc, struct px_error *err)
{
	struct stack_up_opts up = {
	    .services = sc->restart.v,
	    .nservices = sc->restart.n,
	    .no_build = true,
	    .no_recreate = true,
	    .wait = true,
	    .wait_timeout_s = WAIT_TIMEOUT_S,
	    .timeout_s = -1,
	};

	(void)e;
	if (stack_restart(st, sc->restart.v, sc->restart.n, -1, err) < 0)
		return -1;
	j->phase = "wait";
	return stack_up(st, &up, err);
}

/* The generator of sync job j: 0, or -1 with j failed (the containers untouched). */
static int job_generate(struct sup_job *j, struct engine *e, const struct compose_project *p,
			const struct compose_prisync_schema *sc)
{
	struct px_error err = PX_ERROR_INIT;
	int64_t t0 = px_mono_ns();
	int code = -1, rc;

	j->phase = "generate";
	if (strcmp(sc->run_in, "host") == 0)
		rc = generate_host(j, p, sc, &code, &err);
	else
		rc = generate_in(j, e, p, sc, &code, &err);
	j->generate_ns = px_mono_ns() - t0;
	if (rc < 0) {
		if (atomic_load(&j->cancel) != 0)
			cancelled(j, p, "the generator");
		else
			fail(j, "%s", px_error_msg(&err));
		px_error_clear(&err);
		return -1;
	}
	if (code != 0)
		return fail(j, "the generator failed (exit code %d); the running containers were "
			       "left as they were",
			    code);
	return 0;
}

int sup_job_execute(struct sup_job *j, struct engine *e, const struct compose_project *p,
		    const struct compose_prisync_schema *sc)
{
	if (job_generate(j, e, p, sc) < 0)
		return -1;
	if (j->generate_only || sc->restart.n == 0)
		return 0;
	j->phase = "restart";
	return on_stack(j, e, p, sc, restart_and_wait);
}

static bool strv_has(const struct compose_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

void sup_restart_union(struct compose_strv *set, const struct compose_prisync_schema *sc)
{
	for (size_t k = 0; k < sc->restart.n; k++)
		if (!strv_has(set, sc->restart.v[k]))
			compose_strv_push(set, sc->restart.v[k]);
}

bool sup_restart_shares(const struct compose_strv *set, const struct compose_prisync_schema *sc)
{
	for (size_t k = 0; k < sc->restart.n; k++)
		if (strv_has(set, sc->restart.v[k]))
			return true;
	return false;
}

/* An engine handle of its own for step job j of a group, published for sup_job_cancel
 * (whose interrupt is for good: the next steps need theirs); NULL with j failed when there
 * is none.  step_done() takes it back. */
static struct engine *step_engine(struct sup_job *j, struct engine *e)
{
	struct px_error err = PX_ERROR_INIT;
	struct engine *se = NULL;

	if (engine_dup(e, &se, &err) < 0) {
		fail(j, "cannot start the job: %s", px_error_msg(&err));
		px_error_clear(&err);
		return NULL;
	}
	pthread_mutex_lock(&j->lock);
	j->engine = se;
	pthread_mutex_unlock(&j->lock);
	return se;
}

static void step_done(struct sup_job *j, struct engine *se)
{
	pthread_mutex_lock(&j->lock);
	j->engine = NULL;
	pthread_mutex_unlock(&j->lock);
	engine_free(se);
}

void sup_job_execute_group(struct sup_job **jobs, const struct compose_prisync_schema **scs,
			   size_t n, struct engine *e, const struct compose_project *p,
			   void (*before)(void *data, struct sup_job *j), void *data)
{
	struct compose_prisync_schema all;
	struct compose_strv services = {0};
	struct sup_job *runner = NULL;
	struct engine *se;
	bool *ok = xcalloc(n, sizeof(*ok));
	size_t first = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&jobs[i]->cancel) != 0) {
			cancelled(jobs[i], p, "the generator");
			continue;
		}
		before(data, jobs[i]);
		if ((se = step_engine(jobs[i], e)) == NULL)
			continue;
		ok[i] = job_generate(jobs[i], se, p, scs[i]) == 0;
		step_done(jobs[i], se);
		if (ok[i])
			sup_restart_union(&services, scs[i]);
		if (ok[i] && runner == NULL) {
			runner = jobs[i];
			first = i;
		}
	}
	if (runner != NULL && services.n > 0) {
		/* one restart for all: the first that generated runs it, as its own would */
		all = *scs[first];
		all.restart = services;
		runner->phase = "restart";
		before(data, runner);
		rc = -1;
		if ((se = step_engine(runner, e)) != NULL) {
			rc = on_stack(runner, se, p, &all, restart_and_wait);
			step_done(runner, se);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct sup_job *j = jobs[i];

		if (ok[i] && runner != NULL && j != runner) {
			j->restart_ns = runner->restart_ns;
			if (rc < 0)
				fail(j, "%s (restarted with #%u)", runner->error, runner->id);
		}
		j->state = ok[i] && rc == 0 ? SUP_JOB_SUCCEEDED : SUP_JOB_FAILED;
	}
	compose_strv_release(&services);
	free(ok);
}

void sup_job_cancel(struct sup_job *j, struct engine *e, int why)
{
	uint64_t one = 1;

	atomic_store(&j->cancel, why);
	if (write(j->cancel_fd, &one, sizeof(one)) < 0) {
		/* the counter only saturates; the flag above is what counts */
	}
	pthread_mutex_lock(&j->lock);
	/* a step of a group runs on a handle of its own: the others' go on */
	if (j->engine != NULL)
		engine_interrupt(j->engine);
	else if (e != NULL)
		engine_interrupt(e);
	if (j->stack != NULL)
		stack_interrupt(j->stack);
	pthread_mutex_unlock(&j->lock);
}

void sup_job_merge_action(struct sup_job *j, const struct sup_devwatch_action *a)
{
	struct sup_devwatch_action *d = j->action;

	if (d == NULL) {
		d = j->action = xcalloc(1, sizeof(*d));
		d->service = a->service;
	}
	d->rebuild = d->rebuild || a->rebuild;
	d->restart = d->restart || a->restart;
	for (size_t i = 0; i < a->nsyncs; i++) {
		struct sup_devwatch_sync *sy = NULL;

		/* a path synced twice: its latest state counts */
		for (size_t k = 0; k < d->nsyncs && sy == NULL; k++) {
			if (strcmp(d->syncs[k].container, a->syncs[i].container) == 0)
				sy = &d->syncs[k];
		}
		if (sy == NULL) {
			d->syncs = xreallocarray(d->syncs, d->nsyncs + 1, sizeof(*d->syncs));
			sy = &d->syncs[d->nsyncs++];
			sy->host = xstrdup(a->syncs[i].host);
			sy->container = xstrdup(a->syncs[i].container);
		}
		sy->exists = a->syncs[i].exists;
		sy->rule = a->syncs[i].rule;
	}
	for (size_t i = 0; i < a->nexecs; i++) {
		bool seen = false;

		for (size_t k = 0; k < d->nexecs && !seen; k++)
			seen = d->execs[k] == a->execs[i];
		if (!seen) {
			d->execs = xreallocarray(d->execs, d->nexecs + 1, sizeof(const struct compose_watch *));
			d->execs[d->nexecs++] = a->execs[i];
		}
	}
}

static int apply_watch(struct sup_job *j, struct engine *e, struct stack *st,
		       const struct compose_prisync_schema *sc, struct px_error *err)
{
	(void)sc;
	return sup_devwatch_apply(j->dw, e, st, j->action, err);
}

int sup_job_execute_watch(struct sup_job *j, struct engine *e, const struct compose_project *p)
{
	j->phase = "develop.watch";
	return on_stack(j, e, p, NULL, apply_watch);
}

static int converge(struct sup_job *j, struct engine *e, struct stack *st,
		    const struct compose_prisync_schema *sc, struct px_error *err)
{
	struct stack_up_opts up = {.timeout_s = -1};

	(void)j;
	(void)e;
	(void)sc;
	/* what changed, as `up -d` would: compose watch leaves that to the user */
	return stack_up(st, &up, err);
}

int sup_job_execute_reload(struct sup_job *j, struct engine *e)
{
	j->phase = "the converge";
	return on_stack(j, e, j->reload, NULL, converge);
}
