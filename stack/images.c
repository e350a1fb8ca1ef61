/* images.c - every service's image made present before containers are created: pulled
 * by pull_policy, built (tagged as compose tags builds) for services with build:, in
 * parallel jobs; and the build command's builds. */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum image_op { IMAGE_PULL, IMAGE_BUILD };

struct image_task {
	const struct compose_service *s;
	char *image;
	enum image_op op;
	bool pull, no_cache; /* builds */
	struct stack *st;
	struct px_buf tail; /* the build's last output lines, for its error */
	size_t tail_lines;
};

static void task_release(struct image_task *t)
{
	free(t->image);
	px_buf_release(&t->tail);
}

/* Keep about the last 15 lines of a build's output. */
static void tail_add(struct image_task *t, const char *text)
{
	px_buf_adds(&t->tail, text);
	for (const char *p = text; *p; p++)
		t->tail_lines += *p == '\n';
	while (t->tail_lines > 15) {
		char *nl = memchr(t->tail.data, '\n', t->tail.len);

		if (nl == NULL)
			break;
		memmove(t->tail.data, nl + 1, t->tail.len - (size_t)(nl + 1 - t->tail.data));
		px_buf_truncate(&t->tail, t->tail.len - (size_t)(nl + 1 - t->tail.data));
		t->tail_lines--;
	}
}

static int on_build_message(void *data, const json_t *m)
{
	struct image_task *t = data;
	const char *text = json_string_value(json_object_get(m, "stream"));

	if (text != NULL) {
		tail_add(t, text);
		px_debug("build %s: %s", t->s->name, text);
	}
	return 0;
}

static int on_pull_message(void *data, const json_t *m)
{
	(void)data;
	(void)m;
	return 0;
}

static char **build_args(const struct compose_build *b)
{
	char **v = xcalloc(b->args.n + 1, sizeof(*v));

	for (size_t i = 0; i < b->args.n; i++) {
		if (b->args.v[i].value != NULL)
			xasprintf(&v[i], "%s=%s", b->args.v[i].key, b->args.v[i].value);
		else
			v[i] = xstrdup(b->args.v[i].key);
	}
	return v;
}

static int do_build(struct stack_job *j, struct image_task *t, struct px_error *err)
{
	const struct compose_build *b = t->s->build;
	const char *tags[2] = {t->image, NULL};
	struct engine_build_opts o = {0};
	json_t *labels = json_object();
	char **args = NULL;
	int rc;

	if (b->dockerfile_inline != NULL) {
		json_decref(labels);
		return px_error_set(err, 0,
				    "service '%s': build.dockerfile_inline is not supported "
				    "by prisync; put it in a Dockerfile",
				    t->s->name);
	}
	if (b->context == NULL || b->context[0] != '/') {
		json_decref(labels);
		return px_error_set(err, 0,
				    "service '%s': build context '%s' is not a local directory "
				    "(prisync builds local contexts only)",
				    t->s->name, b->context ? b->context : "");
	}
	for (size_t i = 0; i < b->labels.n; i++)
		json_object_set_new(labels, b->labels.v[i].key,
				    json_string(b->labels.v[i].value ? b->labels.v[i].value : ""));
	args = build_args(b);
	o.context_dir = b->context;
	o.dockerfile = b->dockerfile;
	o.tags = tags;
	o.args = (const char *const *)args;
	o.target = b->target;
	o.labels = labels;
	o.pull = t->pull;
	o.no_cache = t->no_cache;
	rc = engine_image_build(j->e, &o, on_build_message, t, NULL, err);
	if (rc < 0) {
		px_buf_rtrim(&t->tail);
		if (t->tail.len > 0)
			px_error_wrap(err, "service '%s': build failed (last output:\n%s\n)",
				      t->s->name, px_buf_cstr(&t->tail));
		else
			px_error_wrap(err, "service '%s': build failed", t->s->name);
	}
	stack_strv_free(args);
	json_decref(labels);
	return rc;
}

static int image_job(struct stack_job *j, struct px_error *err)
{
	struct image_task *t = j->arg;
	char *id = NULL;
	int rc;

	if (t->op == IMAGE_BUILD) {
		xasprintf(&id, "Service %s", t->s->name);
		stack_progress_event(t->st->progress, id, STACK_PROGRESS_WORKING, "Building");
		rc = do_build(j, t, err);
		stack_progress_event(t->st->progress, id,
				     rc < 0 ? STACK_PROGRESS_ERROR : STACK_PROGRESS_DONE,
				     rc < 0 ? "Error" : "Built");
	} else {
		id = xstrdup(t->s->name);
		stack_progress_event(t->st->progress, id, STACK_PROGRESS_WORKING, "Pulling");
		rc = engine_image_pull(j->e, t->image, on_pull_message, t, err);
		if (rc < 0)
			px_error_wrap(err, "service '%s'", t->s->name);
		stack_progress_event(t->st->progress, id,
				     rc < 0 ? STACK_PROGRESS_ERROR : STACK_PROGRESS_DONE,
				     rc < 0 ? "Error" : "Pulled");
	}
	free(id);
	return rc;
}

struct image_run {
	struct px_error first; /* the first failure */
	bool failed;
};

static void on_image_msg(struct runner *r, struct stack_job *j, int kind, char *detail, void *data)
{
	struct image_run *run = data;

	(void)r;
	free(detail);
	if (kind == STACK_JOB_DONE && j->rc < 0 && !run->failed) {
		run->failed = true;
		px_error_move(&run->first, &j->err);
	}
}

/* Run the tasks (n of them) in parallel. */
static int run_tasks(struct stack *st, struct image_task *tasks, size_t n, struct px_error *err)
{
	struct image_run run = {.first = PX_ERROR_INIT};
	struct runner r;
	int ret = -1;

	if (n == 0)
		return 0;
	if (stack_runner_init(&r, st, on_image_msg, &run, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (stack_runner_spawn(&r, image_job, &tasks[i], i, err) < 0) {
			stack_interrupt(st);
			stack_runner_run(&r, &run.first);
			goto out;
		}
	}
	if (stack_runner_run(&r, err) < 0)
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
	px_error_clear(&run.first);
	stack_runner_release(&r);
	return ret;
}

static bool image_present(struct stack *st, const char *image, int *rc, struct px_error *err)
{
	json_t *info = NULL;

	*rc = engine_image_inspect(st->engine, image, &info, err);
	json_decref(info);
	return *rc == 0;
}

static bool policy_is(const char *policy, const char *what)
{
	return policy != NULL && strcmp(policy, what) == 0;
}

int stack_ensure_images(struct stack *st, const struct stack_order *order, bool force_build,
			bool no_build, struct px_error *err)
{
	struct image_task *tasks = xcalloc(order->n + 1, sizeof(*tasks));
	size_t n = 0;
	int ret = -1;

	for (size_t i = 0; i < order->n; i++) {
		const struct compose_service *s = order->v[i];
		const char *policy = s->pull_policy;
		char *image = stack_service_image(st->project, s);
		bool present, always, dup = false;
		int rc;
		enum image_op op;

		for (size_t k = 0; k < n; k++)
			dup = dup || strcmp(tasks[k].image, image) == 0;
		if (dup) {
			free(image);
			continue;
		}
		present = image_present(st, image, &rc, err);
		if (rc < 0) {
			free(image);
			goto out;
		}
		always = s->build == NULL &&
			 (policy_is(policy, "always") || policy_is(policy, "refresh"));
		if (s->build != NULL && !no_build &&
		    (force_build || policy_is(policy, "build") || !present)) {
			op = IMAGE_BUILD;
		} else if (present && !always) {
			free(image);
			continue;
		} else if (!present &&
			   (policy_is(policy, "never") || (s->build != NULL && no_build))) {
			px_error_set(
			    err, 0, "service '%s': image '%s' not found and %s", s->name, image,
			    s->build != NULL ? "--no-build was given" : "pull_policy is never");
			free(image);
			goto out;
		} else {
			/* always, refresh; missing (the default), daily, weekly, every_<d> */
			op = IMAGE_PULL;
		}
		tasks[n].s = s;
		tasks[n].image = image;
		tasks[n].op = op;
		tasks[n].st = st;
		n++;
	}
	ret = run_tasks(st, tasks, n, err);
out:
	for (size_t i = 0; i < n; i++)
		task_release(&tasks[i]);
	free(tasks);
	return ret;
}

int stack_build(struct stack *st, const struct stack_build_opts *o, struct px_error *err)
{
	struct stack_order order = {0};
	struct image_task *tasks = NULL;
	size_t n = 0;
	int ret = -1;

	stack_reset_interrupt(st);
	if (stack_order_resolve(&order, st->project, o->services, o->nservices, false, err) < 0)
		return -1;
	tasks = xcalloc(order.n + 1, sizeof(*tasks));
	for (size_t i = 0; i < order.n; i++) {
		const struct compose_service *s = order.v[i];

		if (s->build == NULL) {
			if (o->nservices > 0)
				px_warn("service '%s' has no build section: nothing to build",
					s->name);
			continue;
		}
		tasks[n].s = s;
		tasks[n].image = stack_service_image(st->project, s);
		tasks[n].op = IMAGE_BUILD;
		tasks[n].pull = o->pull;
		tasks[n].no_cache = o->no_cache;
		tasks[n].st = st;
		n++;
	}
	ret = run_tasks(st, tasks, n, err);
	stack_progress_finish(st->progress);
	for (size_t i = 0; i < n; i++)
		task_release(&tasks[i]);
	free(tasks);
	stack_order_release(&order);
	return ret;
}
