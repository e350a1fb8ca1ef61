/* up.c - `up`: networks, volumes and images made present, then every service converged
 * and started in depends_on order, independent services in parallel, each dependency's
 * condition awaited on the engine's events; `start` is the same without creating. */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A job's reports (beyond STACK_JOB_DONE). */
enum {
	MSG_STARTED = 1, /* detail: the container id */
	MSG_HEALTHY,
	MSG_COMPLETED,
};

enum node_state { NODE_PENDING, NODE_RUNNING, NODE_FINISHED };

struct up_run;

struct up_node {
	struct up_run *run;
	const struct compose_service *s;
	struct stack_plan_item *item; /* borrowed from the plan */
	char hash[STACK_HASH_LEN + 1];
	char *image_id;        /* owned, or NULL */
	json_t *image_volumes; /* owned, or NULL */
	bool oneshot;

	/* decided on the loop thread before the job starts; read-only for the job */
	bool dep_healthy;   /* a dependent waits for service_healthy */
	bool dep_completed; /* a dependent waits for service_completed_successfully */
	char *network_mode; /* network_mode service:x resolved to container:<id> */
	int64_t deadline;   /* for waits, unix seconds; 0: none */

	/* loop thread only */
	enum node_state state;
	bool started, healthy, completed, failed;
	char *container_id; /* from MSG_STARTED */
};

struct up_run {
	struct stack *st;
	bool start_only; /* stack_start: existing containers only */
	bool wait;       /* --wait */
	int wait_timeout_s;
	int timeout_s;
	const char *api_version;
	time_t began;
	struct up_node *nodes;
	size_t n;
	struct runner r;
	struct px_error first; /* the first failure */
	bool failed;
};

static struct up_node *node_named(struct up_run *run, const char *name)
{
	for (size_t i = 0; i < run->n; i++) {
		if (strcmp(run->nodes[i].s->name, name) == 0)
			return &run->nodes[i];
	}
	return NULL;
}

static void report(struct up_node *nd, const char *name, enum stack_progress_state state,
		   const char *status)
{
	char *id = stack_progress_id("Container", name);

	stack_progress_event(nd->run->st->progress, id, state, status);
	free(id);
}

/* Before API 1.44 a container is created on its primary network only; the others are
 * connected before it starts (compose's createMobyContainer). */
static int connect_networks(struct engine *e, struct up_node *nd, const char *id,
			    struct px_error *err)
{
	const struct compose_project *p = nd->run->st->project;
	const struct compose_service *s = nd->s;
	size_t *order;
	int ret = 0;

	if (s->nnetworks < 2 || s->network_mode != NULL || nd->run->api_version == NULL ||
	    engine_version_cmp(nd->run->api_version, "1.44") >= 0)
		return 0;
	order = xcalloc(s->nnetworks, sizeof(*order));
	stack_service_network_order(s, order);
	for (size_t i = 1; i < s->nnetworks && ret == 0; i++) {
		const struct compose_service_network *sn = &s->networks[order[i]];
		const struct compose_network *pn = stack_project_network(p, sn->key);
		char **aliases = stack_network_aliases(p, s, nd->item->number, sn);

		if (pn != NULL)
			ret = engine_network_connect(e, pn->name, id, (const char *const *)aliases,
						     err);
		stack_strv_free(aliases);
	}
	free(order);
	return ret;
}

/* Create the container (as name) for nd; *out_id owned. */
static int create_container(struct engine *e, struct up_node *nd, const char *name,
			    const char *replace_id, const json_t *inherit, char **out_id,
			    struct px_error *err)
{
	struct stack_create_info ci = {
	    .number = nd->item->number > 0 ? nd->item->number : 1,
	    .config_hash = nd->hash,
	    .image_id = nd->image_id,
	    .api_version = nd->run->api_version,
	    .replace_id = replace_id,
	    .inherit_mounts = inherit,
	    .image_volumes = nd->image_volumes,
	    .network_mode = nd->network_mode,
	};
	json_t *body = NULL;
	int ret = -1;

	if (stack_create_body(&body, nd->run->st->project, nd->s, &ci, err) < 0)
		goto out;
	if (engine_container_create(e, name, body, out_id, err) < 0)
		goto out;
	if (connect_networks(e, nd, *out_id, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(body);
	return ret;
}

/* compose's recreateContainer: the new container is created under a temporary name
 * (inheriting the old one's anonymous volumes), the old one stopped and removed, the new
 * one renamed. */
static int recreate_container(struct engine *e, struct up_node *nd, char **out_id,
			      struct px_error *err)
{
	const struct stack_plan_item *it = nd->item;
	json_t *old = NULL;
	char *tmp = NULL;
	int rc, ret = -1;

	rc = engine_container_inspect(e, it->id, &old, err);
	if (rc < 0)
		goto out;
	xasprintf(&tmp, "%.12s_%s", it->id, it->name);
	if (create_container(e, nd, tmp, it->id, rc == 0 ? json_object_get(old, "Mounts") : NULL,
			     out_id, err) < 0)
		goto out;
	if (engine_container_stop(e, it->id, nd->run->timeout_s, err) < 0 ||
	    engine_container_remove(e, it->id, false, false, err) < 0 ||
	    stack_container_rename(e, *out_id, it->name, err) < 0)
		goto out;
	ret = 0;
out:
	free(tmp);
	json_decref(old);
	return ret;
}

/* A health bound when --wait-timeout is not given: long enough for the check to have
 * either passed or failed its retries (docker's defaults: 30 s, 30 s, 3 retries). */
static int64_t health_bound_s(const struct compose_healthcheck *h)
{
	int64_t interval = h->interval_ns > 0 ? h->interval_ns : 30000000000LL;
	int64_t timeout = h->timeout_ns > 0 ? h->timeout_ns : 30000000000LL;
	int64_t start = h->start_period_ns > 0 ? h->start_period_ns : 0;
	int64_t retries = h->retries > 0 ? h->retries : 3;

	return (start + (interval + timeout) * (retries + 1)) / 1000000000 + 30;
}

static bool has_health(const json_t *info)
{
	const json_t *h = json_object_get(json_object_get(info, "State"), "Health");
	const char *st = json_string_value(json_object_get(h, "Status"));

	return st != NULL && st[0] != '\0';
}

/* The job of one service: converge its container, start it, wait for what others (or
 * --wait) need of it.  Runs in its own thread on j->e; talks back by posts only. */
static int node_job(struct stack_job *j, struct px_error *err)
{
	struct up_node *nd = j->arg;
	const struct stack_plan_item *it = nd->item;
	struct engine *e = j->e;
	char *id = NULL;
	json_t *info = NULL;
	bool completed = false, running = false;
	int rc, code = 0, ret = -1;

	switch (it->action) {
	case STACK_ACTION_CREATE:
		if (nd->run->start_only) {
			px_error_set(err, 0, "service '%s' has no container to start", nd->s->name);
			goto out;
		}
		report(nd, it->name, STACK_PROGRESS_WORKING, "Creating");
		if (create_container(e, nd, it->name, NULL, NULL, &id, err) < 0)
			goto fail;
		report(nd, it->name, STACK_PROGRESS_DONE, "Created");
		break;
	case STACK_ACTION_RECREATE:
		report(nd, it->name, STACK_PROGRESS_WORKING, "Recreate");
		if (recreate_container(e, nd, &id, err) < 0)
			goto fail;
		report(nd, it->name, STACK_PROGRESS_DONE, "Recreated");
		break;
	default:
		id = xstrdup(it->id);
		running = it->action == STACK_ACTION_KEEP && strcmp(it->state, "exited") != 0;
		completed = it->action == STACK_ACTION_KEEP && !running;
		break;
	}

	if (running) {
		report(nd, it->name, STACK_PROGRESS_DONE, "Running");
	} else if (!completed) {
		report(nd, it->name, STACK_PROGRESS_WORKING, "Starting");
		if (engine_container_start(e, id, err) < 0)
			goto fail;
		report(nd, it->name, STACK_PROGRESS_DONE, "Started");
	}
	stack_job_post(j, MSG_STARTED, xstrdup(id));

	if (nd->oneshot && (nd->dep_completed || nd->run->wait)) {
		if (!completed) {
			report(nd, it->name, STACK_PROGRESS_WORKING, "Waiting");
			if (stack_wait_container(e, id, nd->s->name, STACK_WAIT_EXITED,
						 nd->deadline, &code, err) < 0)
				goto fail;
			if (code != 0) {
				px_error_set(err, 0,
					     "service '%s' didn't complete successfully: exit %d",
					     nd->s->name, code);
				goto fail;
			}
			report(nd, it->name, STACK_PROGRESS_DONE, "Exited");
		}
		stack_job_post(j, MSG_COMPLETED, NULL);
	} else if (nd->dep_healthy || nd->run->wait) {
		rc = engine_container_inspect(e, id, &info, err);
		if (rc == ENGINE_NOT_FOUND)
			px_error_set(err, 0, "service '%s': its container is gone", nd->s->name);
		if (rc != 0)
			goto fail;
		if (has_health(info)) {
			report(nd, it->name, STACK_PROGRESS_WORKING, "Waiting");
			if (stack_wait_container(e, id, nd->s->name, STACK_WAIT_HEALTHY,
						 nd->deadline, NULL, err) < 0)
				goto fail;
			report(nd, it->name, STACK_PROGRESS_DONE, "Healthy");
			stack_job_post(j, MSG_HEALTHY, NULL);
		} else if (nd->dep_healthy) {
			px_error_set(err, 0,
				     "service '%s': container %s has no healthcheck configured",
				     nd->s->name, it->name);
			goto fail;
		} else {
			const char *status = json_string_value(
			    json_object_get(json_object_get(info, "State"), "Status"));

			/* --wait without a healthcheck: running is enough (running_or_healthy) */
			if (status == NULL || strcmp(status, "running") != 0) {
				px_error_set(err, 0, "service '%s': container %s exited (%d)",
					     nd->s->name, it->name,
					     (int)json_integer_value(json_object_get(
						 json_object_get(info, "State"), "ExitCode")));
				goto fail;
			}
		}
	}
	ret = 0;
	goto out;
fail:
	report(nd, it->name, STACK_PROGRESS_ERROR, "Error");
	/* the container's own words say why; not for a plain interruption */
	if (id != NULL && err->errnum != ECANCELED && !stack_interrupted(nd->run->st))
		stack_error_add_logs(err, e, id, nd->s->name);
out:
	json_decref(info);
	free(id);
	return ret;
}

static void fail_node(struct up_run *run, struct up_node *nd, struct px_error *why)
{
	nd->state = NODE_FINISHED;
	nd->failed = true;
	if (!run->failed) {
		run->failed = true;
		px_error_move(&run->first, why);
	}
	px_error_clear(why);
}

/* Launch every pending service whose dependencies are satisfied; fail those whose
 * dependencies failed. */
static void schedule(struct up_run *run)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (size_t i = 0; i < run->n; i++) {
			struct up_node *nd = &run->nodes[i];
			struct px_error e = PX_ERROR_INIT;
			bool waiting = false, broken = false;
			const char *broken_dep = NULL;

			if (nd->state != NODE_PENDING)
				continue;
			if (stack_interrupted(run->st)) {
				px_error_set(&e, ECANCELED, "interrupted");
				fail_node(run, nd, &e);
				progress = true;
				continue;
			}
			for (size_t k = 0; k < nd->s->ndepends_on && !broken; k++) {
				const struct compose_dep *dep = &nd->s->depends_on[k];
				struct up_node *d = node_named(run, dep->service);
				bool ok;

				if (d == NULL)
					continue; /* not part of this operation */
				ok = dep->condition == COMPOSE_DEP_STARTED   ? d->started
				     : dep->condition == COMPOSE_DEP_HEALTHY ? d->healthy
									     : d->completed;
				if (ok)
					continue;
				if (d->state == NODE_FINISHED || d->failed) {
					if (!dep->required) {
						px_warn(
						    "optional dependency '%s' of '%s' failed to "
						    "start",
						    dep->service, nd->s->name);
						continue;
					}
					broken = true;
					broken_dep = dep->service;
				} else {
					waiting = true;
				}
			}
			if (broken) {
				px_error_set(&e, 0, "service '%s': dependency '%s' failed to start",
					     nd->s->name, broken_dep);
				report(nd, nd->item->name, STACK_PROGRESS_ERROR, "Error");
				fail_node(run, nd, &e);
				progress = true;
				continue;
			}
			if (waiting)
				continue;
			/* network_mode: service:x joins x's container, known once x started */
			if (nd->s->network_mode != NULL &&
			    strncmp(nd->s->network_mode, "service:", 8) == 0) {
				struct up_node *d = node_named(run, nd->s->network_mode + 8);

				if (d != NULL && d->container_id != NULL)
					xasprintf(&nd->network_mode, "container:%s",
						  d->container_id);
			}
			nd->state = NODE_RUNNING;
			if (stack_runner_spawn(&run->r, node_job, nd, i, &e) < 0) {
				fail_node(run, nd, &e);
				progress = true;
			}
		}
	}
}

static void on_node_msg(struct runner *r, struct stack_job *j, int kind, char *detail, void *data)
{
	struct up_run *run = data;
	struct up_node *nd = &run->nodes[j->index];

	(void)r;
	switch (kind) {
	case MSG_STARTED:
		nd->started = true;
		free(nd->container_id);
		nd->container_id = detail;
		detail = NULL;
		break;
	case MSG_HEALTHY:
		nd->healthy = true;
		break;
	case MSG_COMPLETED:
		nd->completed = true;
		break;
	case STACK_JOB_DONE:
		nd->state = NODE_FINISHED;
		if (j->rc < 0)
			fail_node(run, nd, &j->err);
		break;
	}
	free(detail);
	schedule(run);
}

/* What each service's dependents (within the operation) need of it. */
static void decide_needs(struct up_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		const struct compose_service *s = run->nodes[i].s;

		for (size_t k = 0; k < s->ndepends_on; k++) {
			struct up_node *d = node_named(run, s->depends_on[k].service);

			if (d == NULL)
				continue;
			if (s->depends_on[k].condition == COMPOSE_DEP_HEALTHY)
				d->dep_healthy = true;
			if (s->depends_on[k].condition == COMPOSE_DEP_COMPLETED)
				d->dep_completed = true;
		}
	}
	for (size_t i = 0; i < run->n; i++) {
		struct up_node *nd = &run->nodes[i];

		if (run->wait_timeout_s > 0)
			nd->deadline = (int64_t)run->began + run->wait_timeout_s;
		else if (!nd->oneshot)
			nd->deadline = (int64_t)time(NULL) + health_bound_s(&nd->s->healthcheck);
	}
}

/* The image's id and declared volumes, for the image label and inherited volumes. */
static int inspect_image(struct stack *st, struct up_node *nd, struct px_error *err)
{
	char *image = stack_service_image(st->project, nd->s);
	json_t *info = NULL;
	int rc;

	rc = engine_image_inspect(st->engine, image, &info, err);
	if (rc == ENGINE_NOT_FOUND)
		rc = px_error_set(err, 0, "service '%s': image '%s' not found", nd->s->name, image);
	if (rc == 0) {
		const char *id = json_string_value(json_object_get(info, "Id"));
		json_t *vols = json_object_get(json_object_get(info, "Config"), "Volumes");

		nd->image_id = id != NULL ? xstrdup(id) : NULL;
		if (json_is_object(vols))
			nd->image_volumes = json_incref(vols);
	}
	json_decref(info);
	free(image);
	return rc;
}

/* Surplus containers and orphans go before anything starts. */
static int remove_extra(struct stack *st, const struct stack_plan *plan, bool remove_orphans,
			int timeout_s, struct px_error *err)
{
	struct px_buf names = PX_BUF_INIT;

	for (size_t i = 0; i < plan->n; i++) {
		const struct stack_plan_item *it = &plan->items[i];
		char *id;

		if (it->action != STACK_ACTION_REMOVE)
			continue;
		id = stack_progress_id("Container", it->name);
		stack_progress_event(st->progress, id, STACK_PROGRESS_WORKING, "Removing");
		if (engine_container_stop(st->engine, it->id, timeout_s, err) < 0 ||
		    engine_container_remove(st->engine, it->id, false, false, err) < 0) {
			stack_progress_event(st->progress, id, STACK_PROGRESS_ERROR, "Error");
			free(id);
			return -1;
		}
		stack_progress_event(st->progress, id, STACK_PROGRESS_DONE, "Removed");
		free(id);
	}
	for (size_t i = 0; i < plan->norphans; i++) {
		const struct stack_plan_orphan *o = &plan->orphans[i];
		char *id;

		if (!remove_orphans) {
			px_buf_addf(&names, "%s%s", names.len > 0 ? ", " : "", o->name);
			continue;
		}
		id = stack_progress_id("Container", o->name);
		stack_progress_event(st->progress, id, STACK_PROGRESS_WORKING, "Removing");
		if (engine_container_stop(st->engine, o->id, timeout_s, err) < 0 ||
		    engine_container_remove(st->engine, o->id, false, false, err) < 0) {
			stack_progress_event(st->progress, id, STACK_PROGRESS_ERROR, "Error");
			free(id);
			px_buf_release(&names);
			return -1;
		}
		stack_progress_event(st->progress, id, STACK_PROGRESS_DONE, "Removed");
		free(id);
	}
	if (names.len > 0)
		px_warn(
		    "found orphan containers (%s) for this project; if you removed or renamed "
		    "this service in your compose file, run with --remove-orphans to clean it up",
		    px_buf_cstr(&names));
	px_buf_release(&names);
	return 0;
}

struct converge_opts {
	char *const *services;
	size_t nservices;
	bool start_only;
	bool build, no_build, force_recreate, no_recreate, remove_orphans, wait;
	int wait_timeout_s, timeout_s;
};

static int converge(struct stack *st, const struct converge_opts *o, struct px_error *err)
{
	struct up_run run = {.st = st, .first = PX_ERROR_INIT};
	struct stack_order order = {0};
	struct stack_plan *plan = NULL;
	struct stack_expect *exp = NULL;
	json_t *containers = NULL;
	bool runner_ready = false;
	int ret = -1;

	stack_reset_interrupt(st);
	run.start_only = o->start_only;
	run.wait = o->wait;
	run.wait_timeout_s = o->wait_timeout_s;
	run.timeout_s = o->timeout_s;
	run.began = time(NULL);
	/* the version decides how networks are attached: negotiated once per engine */
	if (engine_api_version(st->engine) == NULL && engine_ping(st->engine, err) < 0)
		goto out;
	run.api_version = engine_api_version(st->engine);
	if (stack_order_resolve(&order, st->project, o->services, o->nservices, true, err) < 0)
		goto out;

	if (!o->start_only) {
		if (stack_ensure_images(st, &order, o->build, o->no_build, err) < 0 ||
		    stack_ensure_networks(st, err) < 0 || stack_ensure_volumes(st, err) < 0)
			goto out;
	}
	run.n = order.n;
	run.nodes = xcalloc(order.n + 1, sizeof(*run.nodes));
	exp = xcalloc(order.n + 1, sizeof(*exp));
	for (size_t i = 0; i < order.n; i++) {
		struct up_node *nd = &run.nodes[i];

		nd->run = &run;
		nd->s = order.v[i];
		nd->oneshot = stack_service_is_oneshot(st->project, nd->s);
		if (stack_service_hash(st->project, nd->s, nd->hash, err) < 0)
			goto out;
		if (!o->start_only && inspect_image(st, nd, err) < 0)
			goto out;
		exp[i].service = nd->s;
		exp[i].hash = nd->hash;
		exp[i].image_id = nd->image_id;
		exp[i].oneshot = nd->oneshot;
	}
	if (stack_list_containers(st->engine, st->project->name, &containers, err) < 0)
		goto out;
	{
		struct stack_plan_opts po = {.force_recreate = o->force_recreate,
					     .no_recreate = o->no_recreate || o->start_only};

		if (stack_plan_make(&plan, st->project, exp, order.n, containers, &po, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < order.n; i++)
		run.nodes[i].item = &plan->items[i];
	if (!o->start_only && remove_extra(st, plan, o->remove_orphans, o->timeout_s, err) < 0)
		goto out;
	decide_needs(&run);

	if (stack_runner_init(&run.r, st, on_node_msg, &run, err) < 0)
		goto out;
	runner_ready = true;
	schedule(&run);
	if (stack_runner_run(&run.r, err) < 0)
		goto out;
	/* an interruption explains every failure it caused: say that one thing */
	if (stack_interrupted(st)) {
		px_error_set(err, ECANCELED, "interrupted");
		goto out;
	}
	if (run.failed) {
		px_error_move(err, &run.first);
		goto out;
	}
	ret = 0;
out:
	if (runner_ready)
		stack_runner_release(&run.r);
	stack_progress_finish(st->progress);
	for (size_t i = 0; i < run.n; i++) {
		free(run.nodes[i].image_id);
		json_decref(run.nodes[i].image_volumes);
		free(run.nodes[i].network_mode);
		free(run.nodes[i].container_id);
	}
	free(run.nodes);
	free(exp);
	px_error_clear(&run.first);
	stack_plan_free(plan);
	json_decref(containers);
	stack_order_release(&order);
	return ret;
}

int stack_up(struct stack *st, const struct stack_up_opts *o, struct px_error *err)
{
	struct converge_opts c = {
	    .services = o->services,
	    .nservices = o->nservices,
	    .build = o->build,
	    .no_build = o->no_build,
	    .force_recreate = o->force_recreate,
	    .no_recreate = o->no_recreate,
	    .remove_orphans = o->remove_orphans,
	    .wait = o->wait,
	    .wait_timeout_s = o->wait_timeout_s,
	    .timeout_s = o->timeout_s,
	};

	return converge(st, &c, err);
}

int stack_start(struct stack *st, char *const *services, size_t n, struct px_error *err)
{
	struct converge_opts c = {
	    .services = services,
	    .nservices = n,
	    .start_only = true,
	    .timeout_s = -1,
	};

	return converge(st, &c, err);
}
