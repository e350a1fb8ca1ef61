/* lifecycle.c - stop, restart, kill and down: the project's containers handled per
 * service in parallel threads, dependents before their dependencies when stopping and
 * after them when restarting (compose's InReverseDependencyOrder / InDependencyOrder). */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum op_kind { OP_STOP, OP_DOWN, OP_RESTART };

struct op_node {
	char *service;                   /* the service label */
	const struct compose_service *s; /* NULL: an orphan */
	json_t *containers;              /* array (owned reference) */
	enum { OP_PENDING, OP_RUNNING, OP_FINISHED } state;
};

struct op_run {
	struct stack *st;
	enum op_kind kind;
	bool reverse;
	int timeout_s;
	bool volumes; /* down -v: anonymous volumes go with their containers */
	struct op_node *nodes;
	size_t n;
	struct runner r;
	struct px_error first;
	bool failed;
};

static const char *cname(const json_t *c)
{
	const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

	if (n == NULL)
		return json_string_value(json_object_get(c, "Id")) ?: "?";
	return n[0] == '/' ? n + 1 : n;
}

static const char *label(const json_t *c, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

static int op_container(struct stack_job *j, struct op_run *run, const json_t *c,
			struct px_error *err)
{
	const char *cid = json_string_value(json_object_get(c, "Id"));
	const char *state = json_string_value(json_object_get(c, "State"));
	char *pid = stack_progress_id("Container", cname(c));
	struct stack_progress *pr = run->st->progress;
	bool running =
	    state != NULL && (strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0 ||
			      strcmp(state, "paused") == 0);
	int ret = -1;

	if (cid == NULL) {
		free(pid);
		return 0;
	}
	switch (run->kind) {
	case OP_STOP:
	case OP_DOWN:
		if (running || run->kind == OP_STOP) {
			stack_progress_event(pr, pid, STACK_PROGRESS_WORKING, "Stopping");
			if (engine_container_stop(j->e, cid, run->timeout_s, err) < 0)
				goto fail;
			stack_progress_event(pr, pid, STACK_PROGRESS_DONE, "Stopped");
		}
		if (run->kind == OP_DOWN) {
			stack_progress_event(pr, pid, STACK_PROGRESS_WORKING, "Removing");
			if (engine_container_remove(j->e, cid, true, run->volumes, err) < 0)
				goto fail;
			stack_progress_event(pr, pid, STACK_PROGRESS_DONE, "Removed");
		}
		break;
	case OP_RESTART:
		stack_progress_event(pr, pid, STACK_PROGRESS_WORKING, "Restarting");
		if (engine_container_restart(j->e, cid, run->timeout_s, err) < 0)
			goto fail;
		stack_progress_event(pr, pid, STACK_PROGRESS_DONE, "Started");
		break;
	}
	ret = 0;
	goto out;
fail:
	stack_progress_event(pr, pid, STACK_PROGRESS_ERROR, "Error");
out:
	free(pid);
	return ret;
}

static int op_job(struct stack_job *j, struct px_error *err)
{
	struct op_node *nd = j->arg;
	struct op_run *run = j->runner->data; /* read-only here */
	size_t i;
	json_t *c;

	json_array_foreach(nd->containers, i, c)
	{
		if (op_container(j, run, c, err) < 0)
			return -1;
	}
	return 0;
}

/* Does a depend on b (directly)? */
static bool depends(const struct compose_service *a, const char *b)
{
	for (size_t k = 0; a != NULL && k < a->ndepends_on; k++) {
		if (strcmp(a->depends_on[k].service, b) == 0)
			return true;
	}
	return false;
}

static bool op_ready(struct op_run *run, size_t i)
{
	struct op_node *nd = &run->nodes[i];

	for (size_t k = 0; k < run->n; k++) {
		struct op_node *m = &run->nodes[k];

		if (k == i || m->state == OP_FINISHED)
			continue;
		/* stopping: wait for whoever depends on nd; starting: for what nd needs */
		if (run->reverse ? depends(m->s, nd->service) : depends(nd->s, m->service))
			return false;
	}
	return true;
}

static void op_schedule(struct op_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		struct op_node *nd = &run->nodes[i];
		struct px_error e = PX_ERROR_INIT;

		if (nd->state != OP_PENDING || !op_ready(run, i))
			continue;
		nd->state = OP_RUNNING;
		if (stack_runner_spawn(&run->r, op_job, nd, i, &e) < 0) {
			nd->state = OP_FINISHED;
			if (!run->failed) {
				run->failed = true;
				px_error_move(&run->first, &e);
			}
			px_error_clear(&e);
			i = (size_t)-1; /* a finished node may free others: look again */
		}
	}
}

static void on_op_msg(struct runner *r, struct stack_job *j, int kind, char *detail, void *data)
{
	struct op_run *run = data;

	(void)r;
	free(detail);
	if (kind != STACK_JOB_DONE)
		return;
	run->nodes[j->index].state = OP_FINISHED;
	if (j->rc < 0 && !run->failed) {
		run->failed = true;
		px_error_move(&run->first, &j->err);
	}
	/* a failed stop does not hold the others back: down goes on as far as it can */
	op_schedule(run);
}

static struct op_node *node_for(struct op_run *run, const char *service)
{
	for (size_t i = 0; i < run->n; i++) {
		if (strcmp(run->nodes[i].service, service) == 0)
			return &run->nodes[i];
	}
	return NULL;
}

static struct op_node *add_node(struct op_run *run, const char *service,
				const struct compose_service *s)
{
	struct op_node *nd;

	run->nodes = xreallocarray(run->nodes, run->n + 1, sizeof(*run->nodes));
	nd = &run->nodes[run->n++];
	memset(nd, 0, sizeof(*nd));
	nd->service = xstrdup(service);
	nd->s = s;
	nd->containers = json_array();
	return nd;
}

/*
 * Run kind over the containers of the services in order (all of the project's
 * containers with include_all, orphans among them when orphans is set).
 */
static int run_op(struct stack *st, enum op_kind kind, const struct stack_order *order,
		  bool include_all, bool orphans, int timeout_s, bool volumes, struct px_error *err)
{
	struct op_run run = {.st = st,
			     .kind = kind,
			     .timeout_s = timeout_s,
			     .volumes = volumes,
			     .first = PX_ERROR_INIT};
	struct px_buf orphan_names = PX_BUF_INIT;
	json_t *containers = NULL, *c;
	bool runner_ready = false;
	size_t i;
	int ret = -1;

	run.reverse = kind != OP_RESTART;
	if (stack_list_containers(st->engine, st->project->name, &containers, err) < 0)
		goto out;
	for (i = 0; i < order->n; i++)
		add_node(&run, order->v[i]->name, order->v[i]);
	json_array_foreach(containers, i, c)
	{
		const char *svc = label(c, STACK_LABEL_SERVICE);
		const char *oneoff = label(c, STACK_LABEL_ONEOFF);
		struct op_node *nd;

		if (svc == NULL)
			continue;
		/* one-off containers (compose run) go with down, not with stop/restart */
		if (kind != OP_DOWN && oneoff != NULL && strcmp(oneoff, "True") == 0)
			continue;
		nd = node_for(&run, svc);
		if (nd == NULL && include_all &&
		    compose_project_service(st->project, svc) == NULL) {
			if (!orphans) {
				px_buf_addf(&orphan_names, "%s%s", orphan_names.len ? ", " : "",
					    cname(c));
				continue;
			}
			nd = add_node(&run, svc, NULL);
		}
		if (nd != NULL)
			json_array_append(nd->containers, c);
	}
	if (orphan_names.len > 0)
		px_warn(
		    "found orphan containers (%s) for this project; if you removed or renamed "
		    "this service in your compose file, run with --remove-orphans to clean it up",
		    px_buf_cstr(&orphan_names));
	if (stack_runner_init(&run.r, st, on_op_msg, &run, err) < 0)
		goto out;
	runner_ready = true;
	op_schedule(&run);
	if (stack_runner_run(&run.r, err) < 0)
		goto out;
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
	for (i = 0; i < run.n; i++) {
		free(run.nodes[i].service);
		json_decref(run.nodes[i].containers);
	}
	free(run.nodes);
	px_error_clear(&run.first);
	px_buf_release(&orphan_names);
	json_decref(containers);
	return ret;
}

/* stop and restart: op on the named services (all when none) in dependency order. */
static int run_ordered(struct stack *st, enum op_kind op, const char *title, char *const *services,
		       size_t n, int timeout_s, struct px_error *err)
{
	struct stack_order order = {0};
	int ret;

	stack_reset_interrupt(st);
	if (stack_order_resolve(&order, st->project, services, n, false, err) < 0)
		return -1;
	stack_progress_title(st->progress, title);
	ret = run_op(st, op, &order, false, false, timeout_s, false, err);
	stack_progress_finish(st->progress);
	stack_order_release(&order);
	return ret;
}

int stack_stop(struct stack *st, char *const *services, size_t n, int timeout_s,
	       struct px_error *err)
{
	return run_ordered(st, OP_STOP, "Stopping", services, n, timeout_s, err);
}

int stack_restart(struct stack *st, char *const *services, size_t n, int timeout_s,
		  struct px_error *err)
{
	return run_ordered(st, OP_RESTART, "Restarting", services, n, timeout_s, err);
}

int stack_kill(struct stack *st, const char *signal, struct px_error *err)
{
	json_t *containers = NULL, *c;
	size_t i;
	int ret = 0;

	if (stack_list_containers(st->engine, st->project->name, &containers, err) < 0)
		return -1;
	json_array_foreach(containers, i, c)
	{
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *id = json_string_value(json_object_get(c, "Id"));
		struct px_error e = PX_ERROR_INIT;

		if (id == NULL || state == NULL || strcmp(state, "running") != 0)
			continue;
		/* a container that stopped meanwhile answers 409: not a failure */
		if (engine_container_kill(st->engine, id, signal, &e) < 0 && ret == 0) {
			json_t *info = NULL;
			int rc = engine_container_inspect(st->engine, id, &info, err);
			const char *now = json_string_value(
			    json_object_get(json_object_get(info, "State"), "Status"));

			if (rc == 0 && now != NULL && strcmp(now, "running") == 0) {
				px_error_move(err, &e);
				ret = -1;
			}
			json_decref(info);
		}
		px_error_clear(&e);
	}
	json_decref(containers);
	return ret;
}

/* --rmi: local removes the images compose built (services without image:), all every
 * service image.  Images still used elsewhere stay (the engine refuses: a warning). */
static void remove_images(struct stack *st, enum stack_rmi rmi)
{
	const struct compose_project *p = st->project;

	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];
		struct px_error e = PX_ERROR_INIT;
		char *image, *pid;

		if (rmi == STACK_RMI_LOCAL && s->image != NULL && s->image[0] != '\0')
			continue;
		image = stack_service_image(p, s);
		pid = stack_progress_id("Image", image);
		stack_progress_event(st->progress, pid, STACK_PROGRESS_WORKING, "Removing");
		if (engine_image_remove(st->engine, image, false, &e) < 0) {
			stack_progress_event(st->progress, pid, STACK_PROGRESS_WARNING,
					     "Not removed");
			px_warn("%s", px_error_msg(&e));
		} else {
			stack_progress_event(st->progress, pid, STACK_PROGRESS_DONE, "Removed");
		}
		px_error_clear(&e);
		free(pid);
		free(image);
	}
}

int stack_down(struct stack *st, const struct stack_down_opts *o, struct px_error *err)
{
	struct stack_order order = {0};
	struct px_error e = PX_ERROR_INIT;
	int ret = 0;

	stack_reset_interrupt(st);
	if (stack_order_resolve(&order, st->project, NULL, 0, false, err) < 0)
		return -1;
	stack_progress_title(st->progress, "Running");
	if (run_op(st, OP_DOWN, &order, true, o->remove_orphans, o->timeout_s, o->volumes, err) <
	    0) {
		ret = -1;
		/* an interrupted down stops here; a failed container does not keep the
		 * networks and volumes of the others */
		if (err->errnum == ECANCELED)
			goto out;
	}
	if (stack_remove_networks(st, &e) < 0 && ret == 0) {
		px_error_move(err, &e);
		ret = -1;
	}
	px_error_clear(&e);
	if (o->volumes && stack_remove_volumes(st, &e) < 0 && ret == 0) {
		px_error_move(err, &e);
		ret = -1;
	}
	px_error_clear(&e);
	if (o->rmi != STACK_RMI_NONE)
		remove_images(st, o->rmi);
out:
	stack_progress_finish(st->progress);
	stack_order_release(&order);
	return ret;
}
