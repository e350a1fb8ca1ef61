/* deps.c - depends_on as an order: which services an operation touches (the named ones
 * and what they depend on) and in which order, dependencies first, cycles refused. */
#include "stack/stack.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xmalloc.h"

static ssize_t service_index(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++) {
		if (strcmp(p->services[i].name, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* Mark i and, with deps, everything it depends on. */
static int select_closure(const struct compose_project *p, size_t i, bool deps, bool *sel,
			  struct px_error *err)
{
	const struct compose_service *s = &p->services[i];

	if (sel[i])
		return 0;
	sel[i] = true;
	if (!deps)
		return 0;
	for (size_t k = 0; k < s->ndepends_on; k++) {
		ssize_t j = service_index(p, s->depends_on[k].service);

		if (j < 0) {
			if (!s->depends_on[k].required)
				continue;
			return px_error_set(err, 0,
					    "service '%s' depends on '%s', which is not in the "
					    "project (disabled by a profile?)",
					    s->name, s->depends_on[k].service);
		}
		if (select_closure(p, (size_t)j, deps, sel, err) < 0)
			return -1;
	}
	return 0;
}

/* Depth-first search from i over selected, unplaced services for a path back to i's
 * stack: found → the cycle is written into msg. */
static bool find_cycle(const struct compose_project *p, size_t i, const bool *sel,
		       const bool *placed, int *mark, size_t *path, size_t depth,
		       struct px_buf *msg)
{
	const struct compose_service *s = &p->services[i];

	mark[i] = 1; /* on the current path */
	path[depth] = i;
	for (size_t k = 0; k < s->ndepends_on; k++) {
		ssize_t j = service_index(p, s->depends_on[k].service);

		if (j < 0 || !sel[j] || placed[j])
			continue;
		if (mark[j] == 1) {
			size_t from = 0;

			while (path[from] != (size_t)j)
				from++;
			for (size_t q = from; q <= depth; q++)
				px_buf_addf(msg, "%s -> ", p->services[path[q]].name);
			px_buf_adds(msg, p->services[j].name);
			return true;
		}
		if (mark[j] == 0 &&
		    find_cycle(p, (size_t)j, sel, placed, mark, path, depth + 1, msg))
			return true;
	}
	mark[i] = 2; /* done, no cycle through it */
	return false;
}

int stack_order_resolve(struct stack_order *out, const struct compose_project *p,
			char *const *names, size_t n, bool deps, struct px_error *err)
{
	bool *sel = xcalloc(p->nservices + 1, sizeof(*sel));
	bool *placed = xcalloc(p->nservices + 1, sizeof(*placed));
	size_t nsel = 0;
	int ret = -1;

	out->v = NULL;
	out->n = 0;
	if (n == 0) {
		for (size_t i = 0; i < p->nservices; i++)
			if (select_closure(p, i, deps, sel, err) < 0)
				goto out;
	}
	for (size_t k = 0; k < n; k++) {
		ssize_t i = service_index(p, names[k]);

		if (i < 0) {
			px_error_set(err, 0, "no such service: '%s'", names[k]);
			goto out;
		}
		if (select_closure(p, (size_t)i, deps, sel, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < p->nservices; i++)
		nsel += sel[i];
	out->v = xcalloc(nsel + 1, sizeof(const struct compose_service *));

	/* Kahn's algorithm, one pass per round in name order (p->services is sorted), so
	 * the order is stable and independent services keep name order */
	while (out->n < nsel) {
		size_t before = out->n;

		for (size_t i = 0; i < p->nservices; i++) {
			const struct compose_service *s = &p->services[i];
			bool ready = sel[i] && !placed[i];

			for (size_t k = 0; ready && k < s->ndepends_on; k++) {
				ssize_t j = service_index(p, s->depends_on[k].service);

				/* a dependency outside the selection is assumed to be there */
				if (j >= 0 && sel[j] && !placed[j] && (size_t)j != i)
					ready = false;
				if (j >= 0 && (size_t)j == i) {
					px_error_set(err, 0, "dependency cycle: %s -> %s", s->name,
						     s->name);
					goto out;
				}
			}
			if (ready)
				out->v[out->n++] = s;
		}
		/* placed only after the round: a round's services never depend on each other */
		for (size_t q = before; q < out->n; q++)
			placed[service_index(p, out->v[q]->name)] = true;
		if (out->n == before) {
			struct px_buf msg = PX_BUF_INIT;
			int *mark = xcalloc(p->nservices, sizeof(*mark));
			size_t *path = xcalloc(p->nservices + 1, sizeof(*path));

			for (size_t i = 0; i < p->nservices; i++) {
				if (sel[i] && !placed[i] && mark[i] == 0 &&
				    find_cycle(p, i, sel, placed, mark, path, 0, &msg))
					break;
			}
			px_error_set(err, 0, "dependency cycle: %s", px_buf_cstr(&msg));
			px_buf_release(&msg);
			free(mark);
			free(path);
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0)
		stack_order_release(out);
	free(sel);
	free(placed);
	return ret;
}

void stack_order_release(struct stack_order *o)
{
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

bool stack_order_has(const struct stack_order *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->v[i]->name, name) == 0)
			return true;
	}
	return false;
}

bool stack_service_is_oneshot(const struct compose_project *p, const struct compose_service *s)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *d = &p->services[i];

		for (size_t k = 0; k < d->ndepends_on; k++) {
			if (d->depends_on[k].condition == COMPOSE_DEP_COMPLETED &&
			    strcmp(d->depends_on[k].service, s->name) == 0)
				return true;
		}
	}
	return false;
}
