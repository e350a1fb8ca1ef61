/* sup.c - the supervisor on its loop: batches of the watcher become sync jobs (one per
 * schema touched, one follow-up at most while a job runs), jobs run one at a time on a
 * thread with a deadline, and a change of the compose files reloads the model. */
#include "supervisor/internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "watcher/watcher.h"

static void kick(struct sup *s);
static void reload_applied(struct sup *s, struct sup_job *j);

/* ---- Which paths mean what ------------------------------------------------------------ */

/* path is dir itself or below it. */
static bool under(const char *path, const char *dir)
{
	return px_path_below(path, dir) != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Does a change of path concern schema sc? */
static bool schema_touched(const struct compose_prisync_schema *sc, const char *path)
{
	if (sc->schema_is_dir ? under(path, sc->schema) && ends_with(path, ".prisma")
			      : strcmp(path, sc->schema) == 0)
		return true;
	for (size_t i = 0; i < sc->watch.n; i++) {
		if (under(path, sc->watch.v[i]))
			return true;
	}
	return false;
}

/*
 * What the watcher is given, owned apart from the model: its thread reads it while the
 * loop may swap models.  key says it all in one string, so a reload that changes none
 * of it keeps the watcher (and loses no event to a restart).
 */
struct sup_spec {
	struct watcher_root *roots;
	size_t nroots;
	struct compose_strv paths; /* owns the roots' paths */
	struct compose_strv prisma_dirs; /* schema folders: only *.prisma counts */
	struct compose_strv any;         /* watch: paths: everything counts */
	struct compose_strv config;      /* compose files, .env, --env-file: a change reloads */
	struct sup_devwatch *dw;         /* the services' develop.watch rules, or NULL */
	char *key;
};

static void spec_free(struct sup_spec *sp)
{
	if (sp == NULL)
		return;
	free(sp->roots);
	compose_strv_release(&sp->paths);
	compose_strv_release(&sp->prisma_dirs);
	compose_strv_release(&sp->any);
	compose_strv_release(&sp->config);
	sup_devwatch_free(sp->dw);
	free(sp->key);
	free(sp);
}

static void spec_root(struct sup_spec *sp, const char *path, int dir)
{
	struct stat st;

	for (size_t i = 0; i < sp->nroots; i++) {
		if (strcmp(sp->paths.v[i], path) == 0)
			return;
	}
	if (dir < 0)
		dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	compose_strv_push(&sp->paths, path);
	sp->roots = xreallocarray(sp->roots, sp->nroots + 1, sizeof(*sp->roots));
	sp->roots[sp->nroots++] = (struct watcher_root){.path = NULL, .dir = dir != 0};
}

/* Roots: every schema (file or folder) and its watch: paths, the compose files, .env. */
static struct sup_spec *spec_new(const struct sup *s, const struct compose_project *p)
{
	struct sup_spec *sp = xcalloc(1, sizeof(*sp));
	struct px_buf key = PX_BUF_INIT;

	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];

		spec_root(sp, sc->schema, sc->schema_is_dir);
		if (sc->schema_is_dir)
			compose_strv_push(&sp->prisma_dirs, sc->schema);
		for (size_t k = 0; k < sc->watch.n; k++) {
			spec_root(sp, sc->watch.v[k], -1);
			compose_strv_push(&sp->any, sc->watch.v[k]);
		}
	}
	if (s->can_reload) {
		char *env = px_path_join(p->working_dir, ".env");

		for (size_t i = 0; i < p->config_files.n; i++) {
			if (strcmp(p->config_files.v[i], "-") != 0)
				compose_strv_push(&sp->config, p->config_files.v[i]);
		}
		compose_strv_push(&sp->config, env);
		free(env);
		for (size_t i = 0; i < s->copts.nenv_files; i++) {
			char *abs = px_path_abs(p->working_dir, s->copts.env_files[i]);

			compose_strv_push(&sp->config, abs);
			free(abs);
		}
		for (size_t i = 0; i < sp->config.n; i++)
			spec_root(sp, sp->config.v[i], 0);
	}
	{
		struct px_error err = PX_ERROR_INIT;

		if (sup_devwatch_new(&sp->dw, p, &err) < 0) {
			px_error_log("develop.watch: %s — those rules are not followed", px_error_msg(&err));
			px_error_clear(&err);
		} else if (sup_devwatch_nrules(sp->dw) == 0) {
			sup_devwatch_free(sp->dw);
			sp->dw = NULL;
		} else {
			size_t n = 0;
			const struct watcher_root *r = sup_devwatch_roots(sp->dw, &n);

			for (size_t i = 0; i < n; i++)
				spec_root(sp, r[i].path, r[i].dir);
			/* the rules themselves are not in the key: a model with rules always
			 * gets a fresh watcher */
			px_buf_addf(&key, "w%p\n", (void *)sp);
		}
	}
	for (size_t i = 0; i < sp->nroots; i++) {
		sp->roots[i].path = sp->paths.v[i];
		px_buf_addf(&key, "%c%s\n", sp->roots[i].dir ? 'd' : 'f', sp->paths.v[i]);
	}
	for (size_t i = 0; i < sp->prisma_dirs.n; i++)
		px_buf_addf(&key, "p%s\n", sp->prisma_dirs.v[i]);
	for (size_t i = 0; i < sp->any.n; i++)
		px_buf_addf(&key, "a%s\n", sp->any.v[i]);
	px_buf_addf(&key, "%lld %lld\n", (long long)p->prisync.debounce_ns,
		    (long long)p->prisync.debounce_max_ns);
	sp->key = px_buf_detach(&key, NULL);
	return sp;
}

/* A compose file, .env or --env-file changed: the model is loaded again. */
static bool config_touched(const struct sup *s, const char *path)
{
	for (size_t i = 0; s->spec != NULL && i < s->spec->config.n; i++) {
		if (strcmp(path, s->spec->config.v[i]) == 0)
			return true;
	}
	return false;
}

/* The watcher thread asks which files of a directory root count. */
static bool want(void *data, const char *path)
{
	const struct sup_spec *sp = data;

	for (size_t i = 0; i < sp->prisma_dirs.n; i++) {
		if (under(path, sp->prisma_dirs.v[i]) && ends_with(path, ".prisma"))
			return true;
	}
	for (size_t i = 0; i < sp->any.n; i++) {
		if (under(path, sp->any.v[i]))
			return true;
	}
	return sp->dw != NULL && sup_devwatch_wants(sp->dw, path);
}

static char *relative(const struct sup *s, const char *path)
{
	const char *rel = px_path_below(path, s->project->working_dir);

	return xstrdup(rel != NULL && *rel != '\0' ? rel : path);
}

/* ---- Jobs --------------------------------------------------------------------------- */

struct sup_job *sup_find_job(struct sup *s, unsigned id)
{
	if (s->running != NULL && s->running->id == id)
		return s->running;
	for (size_t i = 0; s->running != NULL && i < s->running->ngroup; i++) {
		if (s->running->group[i]->id == id)
			return s->running->group[i];
	}
	for (size_t i = 0; i < s->nqueue; i++) {
		if (s->queue[i]->id == id)
			return s->queue[i];
	}
	for (size_t i = 0; i < s->nhist; i++) {
		struct sup_job *j = s->history[(s->hist_next + SUP_HISTORY - 1 - i) % SUP_HISTORY];

		if (j->id == id)
			return j;
	}
	return NULL;
}

static void job_event(struct sup *s, const struct sup_job *j)
{
	json_t *ev = json_pack("{s:s,s:o}", "event", "job", "job", sup_job_json(j));

	sup_control_broadcast(s, ev);
	json_decref(ev);
}

/* The queued job of schema (the one follow-up), else a new one at the end of the queue. */
static struct sup_job *queue_job(struct sup *s, const char *schema, bool generate_only)
{
	struct sup_job *j;

	for (size_t i = 0; i < s->nqueue; i++) {
		j = s->queue[i];
		if (j->action == NULL && j->reload == NULL && strcmp(j->schema, schema) == 0) {
			j->generate_only = j->generate_only && generate_only;
			return j;
		}
	}
	j = sup_job_new(++s->next_id, schema, generate_only);
	s->queue = xreallocarray(s->queue, s->nqueue + 1, sizeof(struct sup_job *));
	s->queue[s->nqueue++] = j;
	job_event(s, j);
	return j;
}

/* A develop.watch action for a service: folded into the service's queued job, if any. */
static void queue_watch(struct sup *s, const struct sup_devwatch_action *a)
{
	struct sup_job *j = NULL;

	if (!a->rebuild && !a->restart && a->nsyncs == 0 && a->nexecs == 0)
		return;
	for (size_t i = 0; i < s->nqueue && j == NULL; i++) {
		if (s->queue[i]->action != NULL && strcmp(s->queue[i]->schema, a->service) == 0)
			j = s->queue[i];
	}
	if (j == NULL) {
		j = sup_job_new(++s->next_id, a->service, false);
		j->dw = s->spec->dw;
		s->queue = xreallocarray(s->queue, s->nqueue + 1, sizeof(struct sup_job *));
		s->queue[s->nqueue++] = j;
	}
	sup_job_merge_action(j, a);
	for (size_t i = 0; i < a->nsyncs; i++) {
		char *rel = relative(s, a->syncs[i].host);

		sup_job_add_trigger(j, rel);
		free(rel);
	}
	if (j->triggers.n == 0)
		sup_job_add_trigger(j, "develop.watch");
	job_event(s, j);
}

static void remember(struct sup *s, struct sup_job *j)
{
	/* a sync job's outcome outlives the supervisor, for `status` */
	if (j->action == NULL && j->reload == NULL) {
		struct px_error err = PX_ERROR_INIT;
		json_t *o = sup_job_json(j);

		if (sup_last_sync_save(s->project->name, o, &err) < 0)
			px_warn("cannot record the last sync: %s", px_error_msg(&err));
		json_decref(o);
		px_error_clear(&err);
	}
	sup_job_free(s->history[s->hist_next]);
	s->history[s->hist_next] = j;
	s->hist_next = (s->hist_next + 1) % SUP_HISTORY;
	if (s->nhist < SUP_HISTORY)
		s->nhist++;
}

static void initial_done(struct sup *s, const struct sup_job *j)
{
	for (size_t i = 0; i < s->ninitial; i++) {
		if (s->initial[i] != j->id)
			continue;
		s->initial_ok = s->initial_ok && j->state == SUP_JOB_SUCCEEDED;
		s->initial[i] = s->initial[--s->ninitial];
		if (s->ninitial == 0 && s->on_initial != NULL)
			s->on_initial(s->data, s->initial_ok);
		return;
	}
}

/* Job j has ended (ran, or could not start): tell everyone, keep it in the history. */
static void job_end(struct sup *s, struct sup_job *j)
{
	if (j->reload != NULL)
		reload_applied(s, j);
	j->finished_ns = px_real_ns();
	sup_job_log_result(j);
	job_event(s, j);
	sup_control_job_done(s, j);
	remember(s, j);
	initial_done(s, j);
}

/* The members of group j have ended with it: each as a job of its own (job_end). */
static void group_end(struct sup *s, struct sup_job *j)
{
	for (size_t i = 0; i < j->ngroup; i++)
		job_end(s, j->group[i]);
	free(j->group);
	j->group = NULL;
	j->ngroup = 0;
}

static void job_finished(void *data)
{
	struct sup *s = data;
	struct sup_job *j = s->running;

	pthread_join(s->thread, NULL);
	engine_free(s->job_engine);
	s->job_engine = NULL;
	px_loop_timer_disarm(s->timeout);
	s->running = NULL;
	s->step = NULL;
	job_end(s, j);
	group_end(s, j);
	/* the job's thread freed what it used, but glibc keeps those pages (its arena and
	 * the main heap's top): an idle supervisor hands them back */
	malloc_trim(0);
	if (s->reload_pending && !s->stopping) {
		s->reload_pending = false;
		sup_reload(s);
	}
	kick(s);
}

struct job_run {
	struct sup *s;
	struct sup_job *j;
	const struct compose_project *p; /* no reload swaps it while a job runs */
	const struct compose_prisync_schema *sc;
	/* a group (j->ngroup > 0): j and its members, and their schemas */
	struct sup_job **jobs;
	const struct compose_prisync_schema **scs;
};

struct group_step {
	struct sup *s;
	struct sup_job *j;
};

/* On the loop: a group moved on to j's generator (or its restart): the timeout starts
 * again, for j, as for a job of its own. */
static void group_stepped(void *data)
{
	struct group_step *g = data;
	struct sup *s = g->s;

	if (s->running != NULL) {
		s->step = g->j;
		px_loop_timer_rearm(
		    s->timeout, (uint64_t)(s->project->prisync.generate_timeout_ns / 1000000), 0);
	}
	free(g);
}

static void group_step(void *data, struct sup_job *j)
{
	struct group_step *g = xmalloc(sizeof(*g));

	g->s = data;
	g->j = j;
	px_loop_post(g->s->loop, group_stepped, g);
}

static void *job_main(void *arg)
{
	struct job_run *r = arg;
	struct sup *s = r->s;

	if (r->j->ngroup > 0) {
		sup_job_execute_group(r->jobs, r->scs, r->j->ngroup + 1, s->job_engine, r->p,
				      group_step, s);
	} else {
		int rc = r->j->reload != NULL   ? sup_job_execute_reload(r->j, s->job_engine)
			 : r->j->action != NULL ? sup_job_execute_watch(r->j, s->job_engine, r->p)
						: sup_job_execute(r->j, s->job_engine, r->p, r->sc);

		r->j->state = rc == 0 ? SUP_JOB_SUCCEEDED : SUP_JOB_FAILED;
	}
	free(r->jobs);
	free(r->scs);
	free(r);
	px_loop_post(s->loop, job_finished, s);
	return NULL;
}

/* Cancel what runs: the running job and, for a group, every member (why 2: all of them
 * stop; why 1, a timeout: the member the group runs as now). */
static void cancel_running(struct sup *s, int why)
{
	struct sup_job *j = s->running;

	if (j == NULL)
		return;
	if (why == 1 && s->step != NULL) {
		sup_job_cancel(s->step, s->job_engine, why);
		return;
	}
	sup_job_cancel(j, s->job_engine, why);
	for (size_t i = 0; i < j->ngroup; i++)
		sup_job_cancel(j->group[i], s->job_engine, why);
}

static void on_timeout(struct px_loop *loop, struct px_timer *timer, void *data)
{
	struct sup *s = data;

	(void)loop;
	(void)timer;
	cancel_running(s, 1);
}

static bool start_job(struct sup *s, struct sup_job *j)
{
	struct px_error err = PX_ERROR_INIT;
	struct job_run *r = xcalloc(1, sizeof(*r));

	r->s = s;
	r->j = j;
	r->p = s->project;
	r->sc = sup_schema_find(s->project, j->schema);
	if (r->sc == NULL && j->action == NULL && j->reload == NULL) {
		xasprintf(&j->error, "schema '%s' is no longer configured", j->schema);
		goto fail;
	}
	if (j->ngroup > 0) {
		/* kick grouped jobs of configured schemas only */
		r->jobs = xcalloc(j->ngroup + 1, sizeof(struct sup_job *));
		r->scs = xcalloc(j->ngroup + 1, sizeof(const struct compose_prisync_schema *));
		r->jobs[0] = j;
		r->scs[0] = r->sc;
		for (size_t i = 0; i < j->ngroup; i++) {
			r->jobs[i + 1] = j->group[i];
			r->scs[i + 1] = sup_schema_find(s->project, j->group[i]->schema);
		}
	}
	if (engine_dup(s->engine, &s->job_engine, &err) < 0) {
		xasprintf(&j->error, "cannot start the job: %s", px_error_msg(&err));
		goto fail;
	}
	s->running = j;
	if (pthread_create(&s->thread, NULL, job_main, r) != 0) {
		xasprintf(&j->error, "cannot start the job: %s", strerror(EAGAIN));
		s->running = NULL;
		goto fail;
	}
	return true;
fail:
	engine_free(s->job_engine);
	s->job_engine = NULL;
	px_error_clear(&err);
	free(r->jobs);
	free(r->scs);
	free(r);
	return false;
}

/* The schema of sync job j when it generates and restarts something (not a develop.watch,
 * reload or generate-only job), else NULL. */
static const struct compose_prisync_schema *restarting_sync(const struct sup *s,
							    const struct sup_job *j)
{
	const struct compose_prisync_schema *sc;

	if (j->action != NULL || j->reload != NULL || j->generate_only)
		return NULL;
	sc = sup_schema_find(s->project, j->schema);
	return sc != NULL && sc->restart.n > 0 ? sc : NULL;
}

/*
 * The queued syncs that restart a service j restarts too join j (j->group): their
 * generators run in turn, then the services restart once -- a branch switch that changes
 * two schemas the app loads restarts the app once.  Gathered up to a reload (what follows
 * one runs on the new model); the jobs left keep their order.
 */
static void gather_group(struct sup *s, struct sup_job *j)
{
	const struct compose_prisync_schema *sc = restarting_sync(s, j);
	struct compose_strv set = {0};
	size_t keep = 0, i;

	if (sc == NULL)
		return;
	sup_restart_union(&set, sc);
	for (i = 0; i < s->nqueue && s->queue[i]->reload == NULL; i++) {
		struct sup_job *q = s->queue[i];
		const struct compose_prisync_schema *qs = restarting_sync(s, q);

		if (qs == NULL || !sup_restart_shares(&set, qs)) {
			s->queue[keep++] = q;
			continue;
		}
		sup_restart_union(&set, qs);
		j->group = xreallocarray(j->group, j->ngroup + 1, sizeof(struct sup_job *));
		j->group[j->ngroup++] = q;
	}
	for (; i < s->nqueue; i++)
		s->queue[keep++] = s->queue[i];
	s->nqueue = keep;
	compose_strv_release(&set);
}

static void job_started(struct sup *s, struct sup_job *j)
{
	j->started_ns = px_real_ns();
	j->state = SUP_JOB_RUNNING;
	px_log_emit(PX_LOG_INFO, j->schema, "%s #%u started (%s%s)",
		    j->reload != NULL   ? "reload"
		    : j->action != NULL ? "watch"
		    : j->generate_only  ? "generate"
					: "sync",
		    j->id, j->triggers.n > 0 ? j->triggers.v[0] : "requested",
		    j->triggers.n > 1 ? ", ..." : "");
	job_event(s, j);
}

/* Start the next queued job when none runs (and no watcher restart is pending). */
static void kick(struct sup *s)
{
	while (s->running == NULL && s->nqueue > 0 && !s->rewatch && !s->stopping) {
		struct sup_job *j = s->queue[0];

		memmove(s->queue, s->queue + 1, --s->nqueue * sizeof(struct sup_job *));
		gather_group(s, j);
		job_started(s, j);
		for (size_t i = 0; i < j->ngroup; i++)
			job_started(s, j->group[i]);
		if (!start_job(s, j)) {
			j->state = SUP_JOB_FAILED;
			job_end(s, j);
			for (size_t i = 0; i < j->ngroup; i++) {
				j->group[i]->state = SUP_JOB_FAILED;
				j->group[i]->error = xstrdup(j->error != NULL ? j->error : "?");
			}
			group_end(s, j);
			continue;
		}
		px_loop_timer_rearm(
		    s->timeout, (uint64_t)(s->project->prisync.generate_timeout_ns / 1000000), 0);
	}
}

int sup_request(struct sup *s, const char *schema, bool generate_only, unsigned *ids,
		size_t max, struct px_error *err)
{
	const struct compose_project *p = s->project;
	size_t n = 0;

	if (sup_schema_check(p, schema, err) < 0)
		return -1;
	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const char *name = p->prisync.schemas[i].name;
		struct sup_job *j;

		if (schema != NULL && strcmp(schema, name) != 0)
			continue;
		j = queue_job(s, name, generate_only);
		sup_job_add_trigger(j, "requested");
		if (n < max)
			ids[n] = j->id;
		n++;
	}
	kick(s);
	return (int)n;
}

bool sup_busy(const struct sup *s)
{
	return s->running != NULL || s->nqueue > 0;
}

/* ---- The watcher and reloads ---------------------------------------------------------- */

/*
 * HEAD moved in the batch: a schema the move changed gets its sync -- the one its files'
 * changes in this batch queued already (the watcher holds the batch while git works, so
 * a checkout's writes and its HEAD land together), or, when none of its files showed up
 * (events lost), one queued here.  A commit on top of HEAD changes no file: no sync.
 */
static void head_moved(struct sup *s, const struct watcher_batch *b, const struct sup_git_move *m)
{
	const struct compose_project *p = s->project;

	for (size_t k = 0; k < m->nschemas && k < p->prisync.nschemas; k++) {
		const struct compose_prisync_schema *sc = sup_schema_find(p, m->schemas[k].name);
		bool seen = b->overflow;
		char *why;

		if (sc == NULL || !m->schemas[k].schema_changed || m->on_top)
			continue;
		for (size_t i = 0; i < b->n && !seen; i++)
			seen = schema_touched(sc, b->changes[i].path);
		if (seen)
			continue;
		xasprintf(&why, "git: HEAD moved to %s", m->branch[0] != '\0' ? m->branch : m->to);
		sup_job_add_trigger(queue_job(s, sc->name, false), why);
		free(why);
	}
	{
		json_t *ev = json_pack("{s:s,s:o}", "event", "git", "git", sup_git_json(s));

		sup_control_broadcast(s, ev);
		json_decref(ev);
	}
}

static void on_batch(void *data, const struct watcher_batch *b)
{
	sup_on_batch(data, b);
}

void sup_on_batch(struct sup *s, const struct watcher_batch *b)
{
	const struct compose_project *p = s->project;
	const struct sup_git_move *move;
	json_t *paths = json_array();
	bool reload = false;

	for (size_t i = 0; i < b->n; i++) {
		const char *path = b->changes[i].path;
		char *rel = relative(s, path);

		json_array_append_new(paths, json_string(rel));
		if (config_touched(s, path))
			reload = true;
		for (size_t k = 0; k < p->prisync.nschemas; k++) {
			if (b->overflow || schema_touched(&p->prisync.schemas[k], path))
				sup_job_add_trigger(queue_job(s, p->prisync.schemas[k].name, false),
						    rel);
		}
		free(rel);
	}
	if (b->overflow) {
		px_warn("inotify events were lost: syncing every schema");
		for (size_t k = 0; k < p->prisync.nschemas; k++) {
			struct sup_job *j = queue_job(s, p->prisync.schemas[k].name, false);

			j->overflow = true;
		}
		reload = true;
	}
	/* before kick(): the jobs this batch queued are still there to take the move */
	move = sup_git_check(s);
	if (move != NULL)
		head_moved(s, b, move);
	{
		json_t *ev = json_pack("{s:s,s:o,s:b}", "event", "changes", "paths", paths,
				       "overflow", b->overflow);

		sup_control_broadcast(s, ev);
		json_decref(ev);
	}
	if (s->spec != NULL && s->spec->dw != NULL) {
		struct sup_devwatch_plan pl = {0};
		struct px_error err = PX_ERROR_INIT;

		if (sup_devwatch_plan(s->spec->dw, b, &pl, &err) < 0) {
			px_error_log("develop.watch: %s", px_error_msg(&err));
			px_error_clear(&err);
		}
		for (size_t i = 0; i < pl.n; i++)
			queue_watch(s, &pl.v[i]);
		sup_devwatch_plan_release(&pl);
	}
	if (reload)
		sup_reload(s);
	kick(s);
}

/* The watcher for s->project; the batches come to the loop, the filter reads s->spec. */
static int start_watcher(struct sup *s, struct px_error *err)
{
	const struct compose_project *p = s->project;
	struct watcher_opts o = {
	    .project_dir = p->working_dir,
	    .debounce_ms = (int)(p->prisync.debounce_ns / 1000000),
	    .debounce_max_ms = (int)(p->prisync.debounce_max_ns / 1000000),
	    .want = want,
	    .on_batch = on_batch,
	    .data = s,
	};

	if (s->spec != NULL) {
		/* queued develop.watch jobs may point at its rules */
		s->old_specs = xreallocarray(s->old_specs, s->nold_specs + 1, sizeof(struct sup_spec *));
		s->old_specs[s->nold_specs++] = s->spec;
	}
	s->spec = spec_new(s, p);
	o.roots = s->spec->roots;
	o.nroots = s->spec->nroots;
	o.want_data = s->spec;
	return s->spec->nroots == 0 ? 0 : watcher_start(&s->watcher, s->loop, &o, err);
}

/* "<inode> <size> <mtime>" of every compose file and env file, to see whether one
 * changed while no watcher looked (a restart of the watcher). */
static char *config_stamp(const struct sup *s)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; s->spec != NULL && i < s->spec->config.n; i++) {
		struct stat st;

		if (stat(s->spec->config.v[i], &st) < 0)
			continue;
		px_buf_addf(&b, "%s %llu %lld %lld.%09ld\n", s->spec->config.v[i],
			    (unsigned long long)st.st_ino, (long long)st.st_size,
			    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	}
	return px_buf_detach(&b, NULL);
}

void sup_reload(struct sup *s)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *np = NULL;
	struct sup_job *j = NULL;

	if (!s->can_reload)
		return;
	if (s->running != NULL) {
		s->reload_pending = true; /* read the files once the job is done */
		return;
	}
	px_info("the compose configuration changed: reloading");
	if (compose_load(&np, &s->ref, &s->copts, &err) < 0) {
		json_t *ev = json_pack("{s:s,s:b,s:s}", "event", "reload", "ok", 0, "error",
				       px_error_msg(&err));

		px_error_log("%s — the supervisor keeps the configuration it had; fix the file and "
			     "save it again",
			     px_error_msg(&err));
		sup_control_broadcast(s, ev);
		json_decref(ev);
		px_error_clear(&err);
		return;
	}
	for (size_t i = 0; i < np->warnings.n; i++)
		px_warn("%s", np->warnings.v[i]);
	/* converging is the engine's work: a job on the job thread, before anything queued
	 * (which then runs on the new model); a reload still waiting takes the newer model */
	for (size_t i = 0; i < s->nqueue && j == NULL; i++) {
		if (s->queue[i]->reload != NULL)
			j = s->queue[i];
	}
	if (j != NULL) {
		compose_project_free(j->reload);
	} else {
		j = sup_job_new(++s->next_id, "compose", false);
		s->queue = xreallocarray(s->queue, s->nqueue + 1, sizeof(struct sup_job *));
		memmove(s->queue + 1, s->queue, s->nqueue * sizeof(struct sup_job *));
		s->queue[0] = j;
		s->nqueue++;
		sup_job_add_trigger(j, "compose configuration");
	}
	j->reload = np;
	job_event(s, j);
	kick(s);
}

/* A reload job converged the stack on its model: the supervisor takes the model. */
static void reload_applied(struct sup *s, struct sup_job *j)
{
	struct compose_project *np = j->reload;
	struct sup_spec *sp;
	json_t *ev;

	j->reload = NULL;
	if (j->state != SUP_JOB_SUCCEEDED) {
		px_error_log("cannot apply the new configuration: %s", j->error);
		compose_project_free(np);
		ev = json_pack("{s:s,s:b,s:s?}", "event", "reload", "ok", 0, "error", j->error);
		sup_control_broadcast(s, ev);
		json_decref(ev);
		return;
	}
	/* the watched paths changed: sup_run restarts the watcher outside the loop's
	 * callbacks (with a catch-up for what changed meanwhile) */
	sp = spec_new(s, np);
	if (s->spec == NULL || strcmp(sp->key, s->spec->key) != 0) {
		free(s->stamp);
		s->stamp = config_stamp(s);
		s->rewatch = true;
		px_loop_stop(s->loop);
	}
	spec_free(sp);
	/* queued jobs and the watcher thread may still point into the old model */
	if (s->owned != NULL) {
		s->old_projects = xreallocarray(s->old_projects, s->nold_projects + 1,
						sizeof(struct compose_project *));
		s->old_projects[s->nold_projects++] = s->owned;
	}
	s->owned = np;
	s->project = np;
	px_info("configuration reloaded");
	ev = json_pack("{s:s,s:b}", "event", "reload", "ok", 1);
	sup_control_broadcast(s, ev);
	json_decref(ev);
}

/* ---- Life ------------------------------------------------------------------------------ */

static void copy_options(struct compose_options *dst, const struct compose_options *src)
{
	compose_options_init(dst);
	for (size_t i = 0; i < src->nfiles; i++)
		compose_options_add_file(dst, src->files[i]);
	for (size_t i = 0; i < src->nenv_files; i++)
		compose_options_add_env_file(dst, src->env_files[i]);
	for (size_t i = 0; i < src->nprofiles; i++)
		compose_options_add_profile(dst, src->profiles[i]);
	dst->project_name = src->project_name != NULL ? xstrdup(src->project_name) : NULL;
	dst->project_directory =
	    src->project_directory != NULL ? xstrdup(src->project_directory) : NULL;
}

static void copy_ref(struct compose_project_ref *dst, const struct compose_project_ref *src)
{
	dst->nfiles = src->nfiles;
	dst->files = xcalloc(src->nfiles + 1, sizeof(*dst->files));
	for (size_t i = 0; i < src->nfiles; i++)
		dst->files[i] = xstrdup(src->files[i]);
	dst->directory = xstrdup(src->directory);
	dst->name = xstrdup(src->name);
}

static void initial_empty(void *data)
{
	struct sup *s = data;

	if (s->on_initial != NULL)
		s->on_initial(s->data, true);
}

int sup_start(struct sup **out, const struct sup_opts *o, struct px_error *err)
{
	struct sup *s = xcalloc(1, sizeof(*s));
	const struct compose_project *p = o->project;

	*out = NULL;
	s->loop = o->loop;
	s->engine = o->engine;
	s->project = p;
	s->runtime = o->runtime;
	s->listen_fd = -1;
	s->on_initial = o->on_initial;
	s->status_extra = o->status_extra;
	s->data = o->data;
	s->started_ns = px_real_ns();
	s->initial_ok = true;
	compose_options_init(&s->copts);
	if (o->copts != NULL && o->ref != NULL) {
		compose_options_release(&s->copts);
		copy_options(&s->copts, o->copts);
		copy_ref(&s->ref, o->ref);
		s->can_reload = true;
	}
	s->git.fd = -1;
	s->timeout = px_loop_timer_add(s->loop, 0, 0, on_timeout, s, err);
	px_loop_timer_disarm(s->timeout);
	sup_git_start(s);
	if (start_watcher(s, err) < 0)
		goto fail;
	if (s->runtime != NULL && sup_control_open(s, err) < 0)
		goto fail;
	if (o->initial_sync) {
		s->initial = xcalloc(p->prisync.nschemas + 1, sizeof(*s->initial));
		for (size_t i = 0; i < p->prisync.nschemas; i++) {
			struct sup_job *j = queue_job(s, p->prisync.schemas[i].name, false);

			sup_job_add_trigger(j, "initial sync");
			s->initial[s->ninitial++] = j->id;
		}
		if (s->ninitial == 0)
			px_loop_post(s->loop, initial_empty, s);
	}
	kick(s);
	*out = s;
	return 0;
fail:
	sup_stop(s);
	return -1;
}

/* Nothing watched while the watcher restarted: an edit then must not be lost.  Every
 * schema syncs once, and a compose file that changed meanwhile reloads again. */
static void catch_up(struct sup *s)
{
	const struct compose_project *p = s->project;
	char *now = config_stamp(s);

	for (size_t i = 0; i < p->prisync.nschemas; i++)
		sup_job_add_trigger(queue_job(s, p->prisync.schemas[i].name, false),
				    "configuration reloaded");
	if (s->stamp != NULL && strcmp(now, s->stamp) != 0)
		sup_reload(s);
	free(now);
}

int sup_run(struct sup *s)
{
	for (;;) {
		struct px_error err = PX_ERROR_INIT;

		if (px_loop_run(s->loop) < 0)
			return -1;
		if (!s->rewatch)
			return 0;
		watcher_stop(s->watcher);
		s->watcher = NULL;
		if (start_watcher(s, &err) < 0) {
			px_error_log("cannot watch the new configuration: %s", px_error_msg(&err));
			px_error_clear(&err);
		}
		s->rewatch = false;
		catch_up(s);
		kick(s);
	}
}

void sup_stop(struct sup *s)
{
	if (s == NULL)
		return;
	s->stopping = true; /* nothing new starts */
	if (s->running != NULL) {
		px_info("waiting for %s #%u to stop", s->running->generate_only ? "generate" : "sync",
			s->running->id);
		cancel_running(s, 2);
		/* job_finished (posted by the job's thread) clears running */
		while (s->running != NULL)
			px_loop_run_once(s->loop, -1);
	}
	for (size_t i = 0; i < s->nqueue; i++)
		sup_job_free(s->queue[i]);
	free(s->queue);
	watcher_stop(s->watcher);
	sup_git_stop(s);
	spec_free(s->spec);
	for (size_t i = 0; i < s->nold_specs; i++)
		spec_free(s->old_specs[i]);
	free(s->old_specs);
	free(s->stamp);
	sup_control_close(s);
	px_loop_timer_del(s->timeout);
	for (size_t i = 0; i < SUP_HISTORY; i++)
		sup_job_free(s->history[i]);
	free(s->initial);
	compose_project_free(s->owned);
	for (size_t i = 0; i < s->nold_projects; i++)
		compose_project_free(s->old_projects[i]);
	free(s->old_projects);
	compose_options_release(&s->copts);
	if (s->can_reload)
		compose_project_ref_release(&s->ref);
	free(s);
}
