/* plan.c - converge, decided: the project's containers as the engine lists them against
 * what each service should be, per service create / recreate / start / leave alone,
 * surplus replicas and orphans (compose's convergence.ensureService, made pure). */
#include "stack/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

const char *stack_action_name(enum stack_action a)
{
	switch (a) {
	case STACK_ACTION_CREATE:
		return "create";
	case STACK_ACTION_RECREATE:
		return "recreate";
	case STACK_ACTION_START:
		return "start";
	case STACK_ACTION_KEEP:
		return "keep";
	case STACK_ACTION_REMOVE:
		return "remove";
	}
	return "?";
}

static const char *label(const json_t *c, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

/* The container's name without the list's leading '/'. */
static const char *container_name(const json_t *c)
{
	const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

	if (n == NULL)
		return "";
	return n[0] == '/' ? n + 1 : n;
}

/* "Exited (3) 2 minutes ago" → 3; the list has no exit code field of its own. */
static int exit_code_of(const json_t *c)
{
	const char *st = json_string_value(json_object_get(c, "Status"));
	const char *paren = st != NULL ? strchr(st, '(') : NULL;

	return paren != NULL ? stack_parse_int(paren + 1, 0) : 0;
}

static int number_of(const json_t *c)
{
	const char *n = label(c, STACK_LABEL_NUMBER);

	return stack_parse_int(n, 0);
}

static bool is_oneoff(const json_t *c)
{
	const char *v = label(c, STACK_LABEL_ONEOFF);

	return v != NULL && strcmp(v, "True") == 0;
}

/* Why c must be recreated to match e, or NULL when it is up to date. */
static const char *must_recreate(const struct stack_expect *e, const json_t *c,
				 const struct stack_plan_opts *o)
{
	const char *state = json_string_value(json_object_get(c, "State"));
	const char *img;

	if (o->no_recreate)
		return NULL;
	if (o->force_recreate)
		return "forced";
	/* a dead or half-removed container cannot be started again */
	if (state != NULL && (strcmp(state, "dead") == 0 || strcmp(state, "removing") == 0))
		return "not usable";
	if (label(c, STACK_LABEL_HASH) == NULL || strcmp(label(c, STACK_LABEL_HASH), e->hash) != 0)
		return "config changed";
	img = label(c, STACK_LABEL_IMAGE);
	if (e->image_id != NULL && (img == NULL || strcmp(img, e->image_id) != 0))
		return "image changed";
	return NULL;
}

static void item_from(struct stack_plan_item *it, const struct compose_service *s,
		      enum stack_action a, const json_t *c)
{
	it->service = s;
	it->action = a;
	it->id = xstrdup(json_string_value(json_object_get(c, "Id")) ?: "");
	it->name = xstrdup(container_name(c));
	it->state = xstrdup(json_string_value(json_object_get(c, "State")) ?: "");
	it->number = number_of(c);
	it->exit_code = exit_code_of(c);
}

/* Which existing container of a service to keep: an up-to-date one before an obsolete
 * one, then the lowest number (compose sorts obsolete ones first for removal). */
static bool better(const struct stack_expect *e, const json_t *a, const json_t *b,
		   const struct stack_plan_opts *o)
{
	bool ua = must_recreate(e, a, o) == NULL, ub = must_recreate(e, b, o) == NULL;

	if (ua != ub)
		return ua;
	return number_of(a) < number_of(b);
}

int stack_plan_make(struct stack_plan **out, const struct compose_project *p,
		    const struct stack_expect *exp, size_t nexp, const json_t *containers,
		    const struct stack_plan_opts *o, struct px_error *err)
{
	struct stack_plan *plan = xcalloc(1, sizeof(*plan));
	size_t nc = json_array_size(containers), cap = nexp;
	const json_t **best = xcalloc(nexp + 1, sizeof(const json_t *));
	int ret = -1;

	*out = NULL;
	if (containers != NULL && !json_is_array(containers)) {
		px_error_set(err, 0, "the container list is not an array");
		goto out;
	}
	plan->items = xcalloc(cap + 1, sizeof(*plan->items));
	/* the main container of each expected service */
	for (size_t i = 0; i < nc; i++) {
		const json_t *c = json_array_get(containers, i);
		const char *svc = label(c, STACK_LABEL_SERVICE);

		if (svc == NULL || is_oneoff(c))
			continue;
		for (size_t k = 0; k < nexp; k++) {
			if (strcmp(exp[k].service->name, svc) == 0 &&
			    (best[k] == NULL || better(&exp[k], c, best[k], o)))
				best[k] = c;
		}
	}
	for (size_t k = 0; k < nexp; k++) {
		struct stack_plan_item *it = &plan->items[plan->n++];
		const json_t *c = best[k];
		const char *why;
		const char *state;

		if (c == NULL) {
			it->service = exp[k].service;
			it->action = STACK_ACTION_CREATE;
			it->number = 1;
			it->name = stack_service_container_name(p, exp[k].service, 1);
			continue;
		}
		why = must_recreate(&exp[k], c, o);
		if (why != NULL) {
			item_from(it, exp[k].service, STACK_ACTION_RECREATE, c);
			it->why = why;
			continue;
		}
		state = json_string_value(json_object_get(c, "State"));
		item_from(it, exp[k].service, STACK_ACTION_START, c);
		/* running (or about to be) is left alone; so is a one-shot that completed:
		 * running it again on every `up` would touch a container nothing changed */
		if (state != NULL &&
		    (strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0 ||
		     strcmp(state, "paused") == 0 ||
		     (exp[k].oneshot && strcmp(state, "exited") == 0 && it->exit_code == 0)))
			it->action = STACK_ACTION_KEEP;
	}
	/* surplus containers of expected services, and orphans */
	for (size_t i = 0; i < nc; i++) {
		const json_t *c = json_array_get(containers, i);
		const char *svc = label(c, STACK_LABEL_SERVICE);
		bool expected = false, known;

		if (svc == NULL || is_oneoff(c))
			continue;
		for (size_t k = 0; k < nexp; k++) {
			if (strcmp(exp[k].service->name, svc) != 0)
				continue;
			expected = true;
			if (c != best[k]) {
				plan->items =
				    xreallocarray(plan->items, plan->n + 1, sizeof(*plan->items));
				memset(&plan->items[plan->n], 0, sizeof(plan->items[0]));
				item_from(&plan->items[plan->n++], exp[k].service,
					  STACK_ACTION_REMOVE, c);
			}
		}
		known = expected || compose_project_service(p, svc) != NULL;
		if (!known) {
			struct stack_plan_orphan *op;

			plan->orphans = xreallocarray(plan->orphans, plan->norphans + 1,
						      sizeof(*plan->orphans));
			op = &plan->orphans[plan->norphans++];
			op->id = xstrdup(json_string_value(json_object_get(c, "Id")) ?: "");
			op->name = xstrdup(container_name(c));
			op->service = xstrdup(svc);
		}
	}
	*out = plan;
	plan = NULL;
	ret = 0;
out:
	free(best);
	stack_plan_free(plan);
	return ret;
}

void stack_plan_free(struct stack_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->items[i].id);
		free(plan->items[i].name);
		free(plan->items[i].state);
	}
	free(plan->items);
	for (size_t i = 0; i < plan->norphans; i++) {
		free(plan->orphans[i].id);
		free(plan->orphans[i].name);
		free(plan->orphans[i].service);
	}
	free(plan->orphans);
	free(plan);
}
