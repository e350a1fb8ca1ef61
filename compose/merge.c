/* merge.c - compose-go's override package on node trees: override files and documents
 * merged with its rules per path, !reset / !override, and the deduplicated sequences. */
#include "compose/merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Paths are vectors of keys from the document root.  Trees are at most
 * cnode_limits.max_depth deep (256 by default), so this bound is never the one hit in
 * practice; past it a merge fails cleanly instead of overflowing. */
#define MPATH_MAX 512

struct mpath {
	const char *seg[MPATH_MAX];
	size_t n;
};

/* Does path match pattern ("services.*.ports": '*' matches any one key)?  Keys are
 * compared whole, so a key holding a '.' never splits (compose-go splits it, a bug). */
static bool path_matches(const struct mpath *path, const char *pattern)
{
	const char *p = pattern;

	for (size_t i = 0; i < path->n; i++) {
		const char *seg = path->seg[i], *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (!(len == 1 && p[0] == '*') && (strncmp(seg, p, len) != 0 || seg[len] != '\0'))
			return false;
		if (dot == NULL)
			return i + 1 == path->n;
		p = dot + 1;
	}
	return false;
}

/* "services.app.ports", owned by the caller. */
static char *path_str(const char *const *seg, size_t n)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && seg[i][0] != '[')
			px_buf_addch(&b, '.');
		px_buf_adds(&b, seg[i]);
	}
	return px_buf_detach(&b, NULL);
}

static bool key_is(const struct cnode *k, const char *s)
{
	return k->kind == CNODE_SCALAR && strcmp(k->value, s) == 0;
}

static bool scalar_eq(const struct cnode *a, const struct cnode *b)
{
	return a != NULL && b != NULL && a->kind == CNODE_SCALAR && b->kind == CNODE_SCALAR &&
	       a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

bool compose_node_equal(const struct cnode *a, const struct cnode *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL || a->kind != b->kind || a->n != b->n)
		return false;
	switch (a->kind) {
	case CNODE_SCALAR:
		if (cnode_is_null(a) || cnode_is_null(b))
			return cnode_is_null(a) && cnode_is_null(b);
		/* "1" and 1 differ, as a string and a number do for compose-go */
		return scalar_eq(a, b) && strcmp(cnode_kind_name(a), cnode_kind_name(b)) == 0;
	case CNODE_SEQ:
		for (size_t i = 0; i < a->n; i++)
			if (!compose_node_equal(a->items[i], b->items[i]))
				return false;
		return true;
	case CNODE_MAP:
		for (size_t i = 0; i < a->n; i++) {
			const struct cnode *bv = cnode_map_get(b, cnode_key(a, i)->value);

			if (bv == NULL || !compose_node_equal(cnode_val(a, i), bv))
				return false;
		}
		return true;
	}
	return false;
}

/* ---- Key lookup in mappings that may hold thousands of services ---------------------- */

struct key_ref {
	const char *key;
	size_t len;
	size_t idx;
};

static int key_ref_cmp(const void *x, const void *y)
{
	const struct key_ref *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Finds keys of one mapping: linear for small ones, by binary search past that. */
struct key_index {
	const struct cnode *map;
	struct key_ref *sorted; /* NULL: linear */
};

/* Sorting pays off only when both mappings are large (the services of two big files). */
static void key_index_init(struct key_index *ix, const struct cnode *map, size_t lookups)
{
	ix->map = map;
	ix->sorted = NULL;
	if (map->n < 16 || lookups < 16)
		return;
	ix->sorted = xreallocarray(NULL, map->n, sizeof(*ix->sorted));
	for (size_t i = 0; i < map->n; i++) {
		const struct cnode *k = cnode_key(map, i);

		ix->sorted[i] = (struct key_ref){k->value, k->len, i};
	}
	qsort(ix->sorted, map->n, sizeof(*ix->sorted), key_ref_cmp);
}

/* Index of the pair whose key is k, or SIZE_MAX. */
static size_t key_index_find(const struct key_index *ix, const struct cnode *k)
{
	if (ix->sorted == NULL) {
		for (size_t i = 0; i < ix->map->n; i++)
			if (scalar_eq(cnode_key(ix->map, i), k))
				return i;
		return SIZE_MAX;
	}
	struct key_ref want = {k->value, k->len, 0};
	const struct key_ref *r =
	    bsearch(&want, ix->sorted, ix->map->n, sizeof(*ix->sorted), key_ref_cmp);

	return r != NULL ? r->idx : SIZE_MAX;
}

static void key_index_release(struct key_index *ix)
{
	free(ix->sorted);
	ix->sorted = NULL;
}

/* ---- The merge (compose-go override/merge.go) ----------------------------------------- */

struct merger {
	struct cnode_arena *a;
	struct px_error *err;
	struct mpath path;
};

typedef int (*merge_fn)(struct merger *m, const struct cnode *e, const struct cnode *o,
			const struct cnode **out);

static int merge_yaml(struct merger *m, const struct cnode *e, const struct cnode *o,
		      const struct cnode **out);

/* Descend into key; the path is bounded so a hostile tree fails instead of overflowing. */
static int push_key(struct merger *m, const struct cnode *at, const char *key)
{
	if (m->path.n == MPATH_MAX)
		return cnode_error(m->err, at, "cannot merge: the document is nested too deeply");
	m->path.seg[m->path.n++] = key;
	return 0;
}

/* A mapping or sequence overridden by another kind: fail at the override, naming the path. */
static int type_error(struct merger *m, const struct cnode *e, const struct cnode *o)
{
	char *p = path_str(m->path.seg, m->path.n);

	cnode_error(m->err, o,
		    "cannot override '%s': a %s cannot be merged into a %s (tag it !override to "
		    "replace the value)",
		    p, cnode_kind_name(o), cnode_kind_name(e));
	free(p);
	return -1;
}

/* Base keys keep their place with merged values; keys new in other follow in its order.
 * x-* keys are replaced, never merged. */
static int merge_mappings(struct merger *m, const struct cnode *base, const struct cnode *other,
			  const struct cnode **out)
{
	struct key_index ix;
	size_t *where = NULL, nnew = 0, k;
	struct cnode *r;
	int ret = -1;

	if (other->n == 0) {
		*out = base;
		return 0;
	}
	if (base->n == 0) {
		*out = other;
		return 0;
	}
	key_index_init(&ix, base, other->n);
	where = xreallocarray(NULL, other->n, sizeof(*where));
	for (size_t j = 0; j < other->n; j++) {
		where[j] = key_index_find(&ix, cnode_key(other, j));
		if (where[j] == SIZE_MAX)
			nnew++;
	}
	r = cnode_new_map(m->a, base->n + nnew, base->mark);
	if (base->n > 0)
		memcpy(r->items, base->items, 2 * base->n * sizeof(struct cnode *));
	k = base->n;
	for (size_t j = 0; j < other->n; j++) {
		const struct cnode *key = cnode_key(other, j), *v = cnode_val(other, j);
		const struct cnode *merged;

		if (where[j] == SIZE_MAX) {
			r->items[2 * k] = (struct cnode *)key;
			r->items[2 * k + 1] = (struct cnode *)v;
			k++;
			continue;
		}
		if (strncmp(key->value, "x-", 2) == 0) {
			r->items[2 * where[j] + 1] = (struct cnode *)v;
			continue;
		}
		if (push_key(m, key, key->value) < 0)
			goto out;
		if (merge_yaml(m, cnode_val(base, where[j]), v, &merged) < 0)
			goto out;
		m->path.n--;
		r->items[2 * where[j] + 1] = (struct cnode *)merged;
	}
	*out = r;
	ret = 0;
out:
	key_index_release(&ix);
	free(where);
	return ret;
}

/* command, entrypoint, healthcheck.test, ulimits.*: the override replaces the base. */
static int merge_replace(struct merger *m, const struct cnode *e, const struct cnode *o,
			 const struct cnode **out)
{
	(void)m;
	(void)e;
	*out = o;
	return 0;
}

static struct cnode *new_seq_of(struct cnode_arena *a, const struct cnode *const *items, size_t n,
				struct cnode_mark mark)
{
	struct cnode *s = cnode_new_seq(a, n, mark);

	if (n > 0)
		memcpy(s->items, items, n * sizeof(struct cnode *));
	return s;
}

/* A growable vector of node pointers (malloc'd; the nodes live in the arena). */
struct nodev {
	const struct cnode **v;
	size_t n, cap;
};

static void nodev_push(struct nodev *v, const struct cnode *n)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 8;
		v->v = xreallocarray(v->v, v->cap, sizeof(const struct cnode *));
	}
	v->v[v->n++] = n;
}

static int strptr_cmp(const void *x, const void *y)
{
	const struct cnode *a = *(const struct cnode *const *)x;
	const struct cnode *b = *(const struct cnode *const *)y;

	return strcmp(a->value, b->value);
}

/* compose-go's convertIntoSequence: a mapping becomes "k=v" strings ("k" for a null
 * value, one "k=x" per item of a sequence value) sorted, a scalar a one-item sequence. */
static int to_sequence(struct merger *m, const struct cnode *n, struct nodev *out)
{
	size_t first = out->n;

	if (cnode_is_null(n))
		return 0;
	if (n->kind == CNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			nodev_push(out, n->items[i]);
		return 0;
	}
	if (n->kind == CNODE_SCALAR) {
		nodev_push(out, n);
		return 0;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *k = cnode_key(n, i), *v = cnode_val(n, i);
		char *s;

		if (cnode_is_null(v)) {
			nodev_push(out, cnode_new_scalar(m->a, k->value, true, k->mark));
			continue;
		}
		if (v->kind == CNODE_MAP)
			goto bad;
		for (size_t j = 0; j < (v->kind == CNODE_SEQ ? v->n : 1); j++) {
			const struct cnode *x = v->kind == CNODE_SEQ ? v->items[j] : v;

			if (x->kind != CNODE_SCALAR)
				goto bad;
			xasprintf(&s, "%s=%s", k->value, x->value);
			nodev_push(out, cnode_new_scalar(m->a, s, true, x->mark));
			free(s);
		}
		continue;
	bad:;
		char *p = path_str(m->path.seg, m->path.n);

		cnode_error(m->err, v, "cannot merge '%s': the value of '%s' is a %s", p, k->value,
			    cnode_kind_name(v));
		free(p);
		return -1;
	}
	if (out->n - first > 1)
		qsort(out->v + first, out->n - first, sizeof(const struct cnode *), strptr_cmp);
	return 0;
}

static struct cnode_mark mark_of(const struct cnode *e, const struct cnode *o)
{
	return !cnode_is_null(e) ? e->mark : o->mark;
}

/* environment, labels, build.args ...: both sides as "k=v" lists, appended (the
 * deduplication then keeps one entry per name). */
static int merge_to_sequence(struct merger *m, const struct cnode *e, const struct cnode *o,
			     const struct cnode **out)
{
	struct nodev v = {0};
	int ret = -1;

	if (to_sequence(m, e, &v) < 0 || to_sequence(m, o, &v) < 0)
		goto out;
	*out = new_seq_of(m->a, v.v, v.n, mark_of(e, o));
	ret = 0;
out:
	free(v.v);
	return ret;
}

/* extra_hosts: the override's entries the base already has are not repeated. */
static int merge_extra_hosts(struct merger *m, const struct cnode *e, const struct cnode *o,
			     const struct cnode **out)
{
	struct nodev right = {0}, left = {0};
	int ret = -1;

	if (to_sequence(m, e, &right) < 0 || to_sequence(m, o, &left) < 0)
		goto out;
	size_t nright = right.n;
	for (size_t i = 0; i < left.n; i++) {
		bool dup = false;

		for (size_t j = 0; j < nright && !dup; j++)
			dup = scalar_eq(right.v[j], left.v[i]);
		if (!dup)
			nodev_push(&right, left.v[i]);
	}
	*out = new_seq_of(m->a, right.v, right.n, mark_of(e, o));
	ret = 0;
out:
	free(right.v);
	free(left.v);
	return ret;
}

/* compose-go's convertIntoMapping: a sequence of names becomes a mapping of those names,
 * each to a copy of defaults (NULL: to null). */
static int to_mapping(struct merger *m, const struct cnode *n, const struct cnode *defaults,
		      const struct cnode **out)
{
	struct cnode *r;

	if (cnode_is_null(n)) {
		*out = cnode_new_map(m->a, 0, n != NULL ? n->mark : (struct cnode_mark){0});
		return 0;
	}
	if (n->kind == CNODE_MAP) {
		*out = n;
		return 0;
	}
	if (n->kind != CNODE_SEQ) {
		char *p = path_str(m->path.seg, m->path.n);

		cnode_error(m->err, n,
			    "cannot merge '%s': expected a mapping or a sequence, got a %s", p,
			    cnode_kind_name(n));
		free(p);
		return -1;
	}
	r = cnode_new_map(m->a, n->n, n->mark);
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *it = n->items[i];

		if (it->kind != CNODE_SCALAR || cnode_is_null(it)) {
			char *p = path_str(m->path.seg, m->path.n);

			cnode_error(m->err, it, "cannot merge '%s': expected a name, got a %s", p,
				    cnode_kind_name(it));
			free(p);
			return -1;
		}
		r->items[2 * i] = (struct cnode *)it;
		r->items[2 * i + 1] = defaults != NULL
					  ? (struct cnode *)defaults
					  : cnode_new_scalar(m->a, "", false, it->mark);
	}
	/* a name listed twice keeps one entry, as in a Go map */
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < w && !dup; j++)
			dup = scalar_eq(r->items[2 * j], r->items[2 * i]);
		if (!dup) {
			r->items[2 * w] = r->items[2 * i];
			r->items[2 * w + 1] = r->items[2 * i + 1];
			w++;
		}
	}
	r->n = w;
	*out = r;
	return 0;
}

/* depends_on merges by service; the list form means service_started, required. */
static int merge_depends_on(struct merger *m, const struct cnode *e, const struct cnode *o,
			    const struct cnode **out)
{
	struct cnode *d = cnode_new_map(m->a, 2, mark_of(e, o));
	const struct cnode *l, *r;

	/* the list form's meaning (nodes are immutable, so every name may share this one) */
	d->items[0] = cnode_new_scalar(m->a, "condition", false, d->mark);
	d->items[1] = cnode_new_scalar(m->a, "service_started", false, d->mark);
	d->items[2] = cnode_new_scalar(m->a, "required", false, d->mark);
	d->items[3] = cnode_new_scalar(m->a, "true", false, d->mark);
	if (to_mapping(m, e, d, &l) < 0 || to_mapping(m, o, d, &r) < 0)
		return -1;
	return merge_mappings(m, l, r, out);
}

/* A service's networks merge by name; the list form means no per-network settings. */
static int merge_networks(struct merger *m, const struct cnode *e, const struct cnode *o,
			  const struct cnode **out)
{
	const struct cnode *l, *r;

	if (to_mapping(m, e, NULL, &l) < 0 || to_mapping(m, o, NULL, &r) < 0)
		return -1;
	return merge_mappings(m, l, r, out);
}

/* Logging options merge only when both name the same driver, or one names none. */
static int merge_logging(struct merger *m, const struct cnode *e, const struct cnode *o,
			 const struct cnode **out)
{
	const struct cnode *d1, *d2;

	if (cnode_is_null(o)) {
		*out = e;
		return 0;
	}
	if (cnode_is_null(e)) {
		*out = o;
		return 0;
	}
	if (e->kind != CNODE_MAP || o->kind != CNODE_MAP)
		return type_error(m, e, o);
	d1 = cnode_map_get(e, "driver");
	d2 = cnode_map_get(o, "driver");
	if (d1 != NULL && d2 != NULL && !compose_node_equal(d1, d2)) {
		*out = o;
		return 0;
	}
	return merge_mappings(m, e, o, out);
}

/* build: a string is the context. */
static int to_build(struct merger *m, const struct cnode *n, const struct cnode **out)
{
	struct cnode *r;

	if (n->kind == CNODE_SCALAR && !cnode_is_null(n)) {
		r = cnode_new_map(m->a, 1, n->mark);
		r->items[0] = cnode_new_scalar(m->a, "context", false, n->mark);
		r->items[1] = (struct cnode *)n;
		*out = r;
		return 0;
	}
	return to_mapping(m, n, NULL, out);
}

/* build merges as a mapping, a string on either side being the context. */
static int merge_build(struct merger *m, const struct cnode *e, const struct cnode *o,
		       const struct cnode **out)
{
	const struct cnode *l, *r;

	if (to_build(m, e, &l) < 0 || to_build(m, o, &r) < 0)
		return -1;
	return merge_mappings(m, l, r, out);
}

static bool same_subnet(const struct cnode *a, const struct cnode *b)
{
	const struct cnode *x = cnode_map_get(a, "subnet"), *y = cnode_map_get(b, "subnet");

	if (x == NULL || y == NULL)
		return x == y;
	return compose_node_equal(x, y);
}

/* networks.*.ipam.config: entries are matched by subnet (compose-go's mergeIPAMConfig,
 * quirks included: each base entry absorbs every override entry of its subnet in turn). */
static int merge_ipam_config(struct merger *m, const struct cnode *e, const struct cnode *o,
			     const struct cnode **out)
{
	struct nodev res = {0};
	int ret = -1;

	if (e->kind != CNODE_SEQ || o->kind != CNODE_SEQ)
		return type_error(m, e, o);
	for (size_t i = 0; i < e->n; i++) {
		const struct cnode *right;

		if (to_mapping(m, e->items[i], NULL, &right) < 0)
			goto out;
		for (size_t j = 0; j < o->n; j++) {
			const struct cnode *left, *merged;
			size_t k;

			if (to_mapping(m, o->items[j], NULL, &left) < 0)
				goto out;
			if (!same_subnet(left, right)) {
				for (k = 0; k < res.n && !same_subnet(res.v[k], left); k++)
					;
				if (k == res.n) {
					nodev_push(&res, left);
					continue;
				}
			}
			if (merge_mappings(m, right, left, &merged) < 0)
				goto out;
			right = merged;
			for (k = 0; k < res.n && !same_subnet(res.v[k], merged); k++)
				;
			if (k < res.n)
				res.v[k] = merged;
			else
				nodev_push(&res, merged);
		}
	}
	*out = new_seq_of(m->a, res.v, res.n, e->mark);
	ret = 0;
out:
	free(res.v);
	return ret;
}

static const struct {
	const char *pattern;
	merge_fn fn;
} specials[] = {
    {"networks.*.ipam.config", merge_ipam_config},
    {"networks.*.labels", merge_to_sequence},
    {"volumes.*.labels", merge_to_sequence},
    {"services.*.annotations", merge_to_sequence},
    {"services.*.build", merge_build},
    {"services.*.build.args", merge_to_sequence},
    {"services.*.build.additional_contexts", merge_to_sequence},
    {"services.*.build.extra_hosts", merge_extra_hosts},
    {"services.*.build.labels", merge_to_sequence},
    {"services.*.command", merge_replace},
    {"services.*.depends_on", merge_depends_on},
    {"services.*.deploy.labels", merge_to_sequence},
    {"services.*.dns", merge_to_sequence},
    {"services.*.dns_opt", merge_to_sequence},
    {"services.*.dns_search", merge_to_sequence},
    {"services.*.entrypoint", merge_replace},
    {"services.*.env_file", merge_to_sequence},
    {"services.*.label_file", merge_to_sequence},
    {"services.*.environment", merge_to_sequence},
    {"services.*.extra_hosts", merge_extra_hosts},
    {"services.*.healthcheck.test", merge_replace},
    {"services.*.labels", merge_to_sequence},
    {"services.*.logging", merge_logging},
    {"services.*.networks", merge_networks},
    {"services.*.sysctls", merge_to_sequence},
    {"services.*.tmpfs", merge_to_sequence},
    /* compose-go's mergeUlimit merges the override with itself: a replacement */
    {"services.*.ulimits.*", merge_replace},
};

/* The special rule for path, or NULL for the generic one. */
static merge_fn find_special(const struct mpath *p)
{
	if (p->n < 2 || !(strcmp(p->seg[0], "services") == 0 ||
			  strcmp(p->seg[0], "networks") == 0 || strcmp(p->seg[0], "volumes") == 0))
		return NULL;
	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
		if (path_matches(p, specials[i].pattern))
			return specials[i].fn;
	return NULL;
}

/* compose-go's mergeYaml: e (base) and o (override) at m->path into *out. */
static int merge_yaml(struct merger *m, const struct cnode *e, const struct cnode *o,
		      const struct cnode **out)
{
	merge_fn special = find_special(&m->path);

	if (special != NULL)
		return special(m, e, o, out);
	if (cnode_is_null(o)) {
		*out = e;
		return 0;
	}
	switch (e->kind) {
	case CNODE_MAP:
		if (o->kind != CNODE_MAP)
			return type_error(m, e, o);
		return merge_mappings(m, e, o, out);
	case CNODE_SEQ:
		if (o->kind != CNODE_SEQ)
			return type_error(m, e, o);
		if (o->n == 0) {
			*out = e;
			return 0;
		}
		struct cnode *s = cnode_new_seq(m->a, e->n + o->n, e->mark);

		if (e->n > 0)
			memcpy(s->items, e->items, e->n * sizeof(struct cnode *));
		memcpy(s->items + e->n, o->items, o->n * sizeof(struct cnode *));
		*out = s;
		return 0;
	case CNODE_SCALAR:
		break;
	}
	*out = o;
	return 0;
}

/* ---- !reset and !override (compose-go loader/reset.go) --------------------------------- */

struct reset_walk {
	struct cnode_arena *a;
	struct mpath path;
	const char ***paths;
	size_t *depths;
	size_t n, cap;
	bool tagged;
};

/* Remember the current path as tagged. */
static void reset_record(struct reset_walk *w)
{
	const char **p = cnode_alloc(w->a, (w->path.n ? w->path.n : 1) * sizeof(*p));

	if (w->path.n > 0)
		memcpy(p, w->path.seg, w->path.n * sizeof(*p));
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->paths = xreallocarray(w->paths, w->cap, sizeof(*w->paths));
		w->depths = xreallocarray(w->depths, w->cap, sizeof(*w->depths));
	}
	w->paths[w->n] = p;
	w->depths[w->n] = w->path.n;
	w->n++;
}

/* Any tag at all below n (sequences included). */
static bool has_tags(const struct cnode *n)
{
	if (n->flags & CNODE_NO_TAG) /* the parser saw none below (node.h) */
		return false;
	if (n->tag != CNODE_TAG_NONE)
		return true;
	if (n->kind == CNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			if (has_tags(n->items[i]))
				return true;
	} else if (n->kind == CNODE_MAP) {
		for (size_t i = 0; i < n->n; i++)
			if (has_tags(cnode_val(n, i)))
				return true;
	}
	return false;
}

/* Only paths made of mapping keys can ever match the base (compose-go records sequence
 * indices in one spelling and looks them up in another), so they are the ones recorded;
 * sequences are only searched for tags at all, which strip_tags() then removes. */
static void reset_walk(struct reset_walk *w, const struct cnode *n)
{
	if (n->flags & CNODE_NO_TAG) /* the parser saw no tag below (node.h) */
		return;
	if (n->kind == CNODE_SEQ && !w->tagged)
		w->tagged = has_tags(n);
	if (n->kind != CNODE_MAP)
		return;
	if (w->path.n == MPATH_MAX) {
		w->tagged = true; /* not looked at: strip to be safe */
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *v = cnode_val(n, i);

		w->path.seg[w->path.n++] = cnode_key(n, i)->value;
		if (v->tag == CNODE_TAG_RESET || v->tag == CNODE_TAG_OVERRIDE) {
			reset_record(w);
			w->tagged = true;
		} else {
			reset_walk(w, v);
		}
		w->path.n--;
	}
}

void compose_resets_collect(struct cnode_arena *a, const struct cnode *doc,
			    struct compose_resets *out)
{
	struct reset_walk *w = xcalloc(1, sizeof(*w));

	w->a = a;
	w->tagged = doc->tag != CNODE_TAG_NONE;
	reset_walk(w, doc);
	out->tagged = w->tagged;
	out->n = w->n;
	out->paths = cnode_alloc(a, (w->n ? w->n : 1) * sizeof(*out->paths));
	out->depths = cnode_alloc(a, (w->n ? w->n : 1) * sizeof(*out->depths));
	if (w->n > 0) {
		memcpy(out->paths, w->paths, w->n * sizeof(*out->paths));
		memcpy(out->depths, w->depths, w->n * sizeof(*out->depths));
	}
	free(w->paths);
	free(w->depths);
	free(w);
}

/* n without the value at path (mapping keys only); n itself when there is none. */
static const struct cnode *remove_path(struct cnode_arena *a, const struct cnode *n,
				       const char *const *path, size_t depth)
{
	struct cnode *c;

	if (depth == 0 || n->kind != CNODE_MAP)
		return n;
	for (size_t i = 0; i < n->n; i++) {
		if (!key_is(cnode_key(n, i), path[0]))
			continue;
		if (depth > 1) {
			const struct cnode *v =
			    remove_path(a, cnode_val(n, i), path + 1, depth - 1);

			if (v == cnode_val(n, i))
				return n;
			c = cnode_clone(a, n);
			c->items[2 * i + 1] = (struct cnode *)v;
			return c;
		}
		c = cnode_clone(a, n);
		memmove(c->items + 2 * i, c->items + 2 * i + 2,
			2 * (n->n - i - 1) * sizeof(struct cnode *));
		c->n--;
		return c;
	}
	return n;
}

/* tree without every path a document tagged (compose-go's ResetProcessor.Apply). */
static const struct cnode *resets_apply(struct cnode_arena *a, const struct cnode *tree,
					const struct compose_resets *r)
{
	for (size_t i = 0; r != NULL && i < r->n; i++)
		tree = remove_path(a, tree, r->paths[i], r->depths[i]);
	return tree;
}

/* n without its !reset values and with no tags left (untouched subtrees are shared).
 * Inside an !override value nothing is dropped: compose-go takes that value as written. */
static const struct cnode *strip_tags(struct cnode_arena *a, const struct cnode *n, bool verbatim)
{
	struct cnode *c = NULL;
	size_t step, w = 0;

	if (n->tag == CNODE_TAG_OVERRIDE)
		verbatim = true;
	if (n->kind == CNODE_SCALAR) {
		if (n->tag == CNODE_TAG_NONE)
			return n;
		c = cnode_clone(a, n);
		c->tag = CNODE_TAG_NONE;
		return c;
	}
	step = n->kind == CNODE_MAP ? 2 : 1;
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *v = n->items[step * i + step - 1];
		const struct cnode *nv = NULL;
		bool drop = !verbatim && v->tag == CNODE_TAG_RESET;

		if (!drop)
			nv = strip_tags(a, v, verbatim);
		if (c == NULL && (drop || nv != v)) {
			c = cnode_clone(a, n);
			w = i;
		}
		if (c != NULL && !drop) {
			if (step == 2)
				c->items[2 * w] = n->items[2 * i];
			c->items[step * w + step - 1] = (struct cnode *)nv;
			w++;
		}
	}
	if (c == NULL && n->tag == CNODE_TAG_NONE)
		return n;
	if (c == NULL) {
		c = cnode_clone(a, n);
		w = n->n;
	}
	c->n = w;
	c->tag = CNODE_TAG_NONE;
	return c;
}

/* ---- Deduplicated sequences (compose-go override/uncity.go) ---------------------------- */

struct unicity {
	struct cnode_arena *a;
	struct px_error *err;
	struct mpath path;
	struct px_buf keys; /* the keys of the sequence being deduplicated, NUL-separated */
};

/* Each indexer appends the key of a sequence entry to key, or fails at the entry. */
typedef int (*index_fn)(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key);

/* The entry's path is only spelled out when there is an error to report. */
static int bad_entry(struct unicity *u, const struct cnode *it, size_t i, const char *what)
{
	char *p = path_str(u->path.seg, u->path.n);

	cnode_error(u->err, it, "'%s[%zu]': %s", p, i, what);
	free(p);
	return -1;
}

static bool is_text(const struct cnode *n)
{
	return n != NULL && n->kind == CNODE_SCALAR && !cnode_is_null(n);
}

static const char *text_or(const struct cnode *n, const char *dflt)
{
	return is_text(n) ? n->value : dflt;
}

static int index_key_value(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	const char *eq;

	if (!is_text(it))
		return bad_entry(u, it, i, "expected a string");
	eq = strchr(it->value, '=');
	px_buf_add(key, it->value, eq != NULL ? (size_t)(eq - it->value) : it->len);
	return 0;
}

/* The target of a short "source:target[:mode]" spec (or the spec itself, alone). */
static void short_target(const char *spec, struct px_buf *key)
{
	const char *c1 = strchr(spec, ':'), *c2;

	if (c1 == NULL) {
		px_buf_adds(key, spec);
		return;
	}
	c2 = strchr(c1 + 1, ':');
	px_buf_add(key, c1 + 1, c2 != NULL ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1));
}

/* volumes and devices: by target (canonical trees hold mappings; strings are the short
 * syntax compose-go's indexers also accept). */
static int index_target(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key,
			const char *what)
{
	if (it->kind == CNODE_MAP) {
		const struct cnode *t = cnode_map_get(it, "target");

		if (!is_text(t))
			return bad_entry(u, it, i, what);
		px_buf_adds(key, t->value);
	} else if (is_text(it)) {
		short_target(it->value, key);
	}
	return 0;
}

static int index_volume(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	return index_target(u, it, i, key, "the volume has no mount target");
}

static int index_device(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	return index_target(u, it, i, key, "the device has no mount target");
}

static int index_expose(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	if (!is_text(it))
		return bad_entry(u, it, i, "unsupported expose value");
	px_buf_adds(key, it->value);
	return 0;
}

/* host_ip:published:target/protocol, defaults filled in, so a port written with and
 * without host_ip 0.0.0.0 or protocol tcp is the same port. */
static int index_port(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	const struct cnode *t, *pub;

	if (it->kind != CNODE_MAP) {
		if (is_text(it))
			px_buf_adds(key, it->value);
		return 0;
	}
	t = cnode_map_get(it, "target");
	if (t == NULL)
		return bad_entry(u, it, i, "the port has no target");
	pub = cnode_map_get(it, "published");
	/* "host_ip:published:target/protocol", pieced together rather than formatted (a
	 * port of each of 2,000 services: half the cost of the deduplication); a mapping
	 * or a list where a scalar belongs reads "(null)", as printf's %s made it.
	 * Absent and "" differ, as nil and "" do in compose-go. */
	px_buf_adds(key, text_or(cnode_map_get(it, "host_ip"), "0.0.0.0"));
	px_buf_addch(key, ':');
	px_buf_adds(key, pub == NULL ? "\x01" : pub->value != NULL ? pub->value : "(null)");
	px_buf_addch(key, ':');
	px_buf_adds(key, t->value != NULL ? t->value : "(null)");
	px_buf_addch(key, '/');
	px_buf_adds(key, text_or(cnode_map_get(it, "protocol"), "tcp"));
	return 0;
}

static int index_mount(struct unicity *u, const struct cnode *it, size_t i, const char *dflt,
		       struct px_buf *key)
{
	const struct cnode *t;

	if (is_text(it)) {
		px_buf_addf(key, "%s/%s", dflt, it->value);
		return 0;
	}
	if (it->kind != CNODE_MAP)
		return bad_entry(u, it, i, "unsupported value");
	t = cnode_map_get(it, "target");
	if (is_text(t))
		px_buf_adds(key, t->value);
	else
		px_buf_addf(key, "%s/%s", dflt, text_or(cnode_map_get(it, "source"), ""));
	return 0;
}

static int index_secret(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	return index_mount(u, it, i, "/run/secrets", key);
}

static int index_config(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	return index_mount(u, it, i, "", key);
}

static int index_env_file(struct unicity *u, const struct cnode *it, size_t i, struct px_buf *key)
{
	if (it->kind == CNODE_MAP) {
		const struct cnode *p = cnode_map_get(it, "path");

		if (!is_text(p))
			return bad_entry(u, it, i, "the env_file entry has no path");
		px_buf_adds(key, p->value);
	} else if (is_text(it)) {
		px_buf_adds(key, it->value);
	}
	return 0;
}

/* Where compose-go deduplicates (its uncity.go "unique" table), as a tree of keys so
 * that a walk over thousands of services only compares a key against the few names that
 * matter at its level.  key "*" matches any key; a sequence under fn is deduplicated, a
 * mapping under sub is walked with those rules.  Lists end with a NULL key. */
struct urule {
	const char *key;
	index_fn fn;
	const struct urule *sub;
};

static const struct urule build_rules[] = {
    {"args", index_key_value, NULL},
    {"additional_contexts", index_key_value, NULL},
    {"platform", index_key_value, NULL}, /* sic: compose-go names "platform", not "platforms" */
    {"tags", index_key_value, NULL},
    {"labels", index_key_value, NULL},
    {NULL, NULL, NULL},
};

static const struct urule deploy_rules[] = {
    {"labels", index_key_value, NULL},
    {NULL, NULL, NULL},
};

static const struct urule service_network_rules[] = {
    {"aliases", index_key_value, NULL},
    {"link_local_ips", index_key_value, NULL},
    {NULL, NULL, NULL},
};

static const struct urule any_service_network[] = {
    {"*", NULL, service_network_rules},
    {NULL, NULL, NULL},
};

static const struct urule service_rules[] = {
    {"annotations", index_key_value, NULL},
    {"build", NULL, build_rules},
    {"cap_add", index_key_value, NULL},
    {"cap_drop", index_key_value, NULL},
    {"configs", index_config, NULL},
    {"deploy", NULL, deploy_rules},
    {"devices", index_device, NULL},
    {"dns", index_key_value, NULL},
    {"dns_opt", index_key_value, NULL},
    {"dns_search", index_key_value, NULL},
    {"environment", index_key_value, NULL},
    {"env_file", index_env_file, NULL},
    {"expose", index_expose, NULL},
    {"labels", index_key_value, NULL},
    {"links", index_key_value, NULL},
    {"networks", NULL, any_service_network},
    {"ports", index_port, NULL},
    {"profiles", index_key_value, NULL},
    {"secrets", index_secret, NULL},
    {"sysctls", index_key_value, NULL},
    {"tmpfs", index_key_value, NULL},
    {"volumes", index_volume, NULL},
    {NULL, NULL, NULL},
};

static const struct urule ipam_rules[] = {
    {"options", index_key_value, NULL},
    {NULL, NULL, NULL},
};

static const struct urule network_rules[] = {
    {"labels", index_key_value, NULL},
    {"ipam", NULL, ipam_rules},
    {NULL, NULL, NULL},
};

static const struct urule any_service[] = {
    {"*", NULL, service_rules},
    {NULL, NULL, NULL},
};

static const struct urule any_network[] = {
    {"*", NULL, network_rules},
    {NULL, NULL, NULL},
};

static const struct urule top_rules[] = {
    {"services", NULL, any_service},
    {"networks", NULL, any_network},
    {NULL, NULL, NULL},
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* One entry per key: the last definition, at the first one's place. */
static int dedup(struct unicity *u, const struct cnode *seq, index_fn fn, const struct cnode **out)
{
	/* short lists, nearly all of them, need no allocation */
	size_t off_short[16], *off = off_short, *slots = NULL, nslots = 0, nout = 0;
	const struct cnode *res_short[16], **res = res_short;
	const char *k;
	int ret = -1;

	if (seq->n == 0) {
		*out = seq;
		return 0;
	}
	if (seq->n > 16) {
		off = xreallocarray(NULL, seq->n, sizeof(*off));
		res = xreallocarray(NULL, seq->n, sizeof(const struct cnode *));
	}
	px_buf_reset(&u->keys);
	for (size_t i = 0; i < seq->n; i++) {
		off[i] = u->keys.len;
		if (fn(u, seq->items[i], i, &u->keys) < 0)
			goto out;
		px_buf_addch(&u->keys, '\0');
	}
	/* short lists (nearly all of them) are compared pairwise; long ones hashed */
	if (seq->n > 16) {
		nslots = 32;
		while (nslots < 2 * seq->n)
			nslots *= 2;
		slots = xcalloc(nslots, sizeof(*slots)); /* 0: free, else 1 + index into res */
	}
	/* off[] is rewritten as it goes: off[j] for j < nout is the key of res[j] */
	for (size_t i = 0; i < seq->n; i++) {
		size_t j = 0, h = 0;

		k = u->keys.data + off[i];
		if (slots == NULL) {
			while (j < nout && strcmp(u->keys.data + off[j], k) != 0)
				j++;
		} else {
			for (h = hash_str(k) & (nslots - 1); slots[h] != 0;
			     h = (h + 1) & (nslots - 1))
				if (strcmp(u->keys.data + off[slots[h] - 1], k) == 0)
					break;
			j = slots[h] != 0 ? slots[h] - 1 : nout;
		}
		if (j < nout) {
			res[j] = seq->items[i];
			continue;
		}
		off[nout] = off[i];
		res[nout] = seq->items[i];
		nout++;
		if (slots != NULL)
			slots[h] = nout;
	}
	*out = nout == seq->n ? seq : new_seq_of(u->a, res, nout, seq->mark);
	ret = 0;
out:
	if (off != off_short)
		free(off);
	if (res != res_short)
		free(res);
	free(slots);
	return ret;
}

static const struct urule *urule_find(const struct urule *rules, const char *key)
{
	for (; rules->key != NULL; rules++)
		if ((rules->key[0] == '*' && rules->key[1] == '\0') ||
		    (rules->key[0] == key[0] && strcmp(rules->key, key) == 0))
			return rules;
	return NULL;
}

/* n (a mapping) with the sequences rules name deduplicated; n itself when none changes. */
static int unicity_walk(struct unicity *u, const struct cnode *n, const struct urule *rules,
			const struct cnode **out)
{
	struct cnode *c = NULL;

	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *v = cnode_val(n, i), *nv = v;
		const struct urule *r = urule_find(rules, cnode_key(n, i)->value);
		int ret = 0;

		if (r == NULL || u->path.n == MPATH_MAX)
			continue;
		u->path.seg[u->path.n++] = cnode_key(n, i)->value;
		if (r->fn != NULL && v->kind == CNODE_SEQ)
			ret = dedup(u, v, r->fn, &nv);
		else if (r->sub != NULL && v->kind == CNODE_MAP)
			ret = unicity_walk(u, v, r->sub, &nv);
		u->path.n--;
		if (ret < 0)
			return -1;
		if (nv != v) {
			if (c == NULL)
				c = cnode_clone(u->a, n);
			c->items[2 * i + 1] = (struct cnode *)nv;
		}
	}
	*out = c != NULL ? c : n;
	return 0;
}

int compose_unicity(struct cnode_arena *a, const struct cnode *root, struct cnode **out,
		    struct px_error *err)
{
	struct unicity *u;
	const struct cnode *r = root;
	int ret = 0;

	if (root->kind == CNODE_MAP) {
		u = xcalloc(1, sizeof(*u));
		u->a = a;
		u->err = err;
		ret = unicity_walk(u, root, top_rules, &r);
		px_buf_release(&u->keys);
		free(u);
	}
	if (ret == 0)
		*out = (struct cnode *)r;
	return ret;
}

/* ---- Entry points ------------------------------------------------------------------- */

int compose_merge_at(struct cnode_arena *a, const struct cnode *base, const struct cnode *override,
		     const char *const *path, size_t depth, struct cnode **out,
		     struct px_error *err)
{
	struct compose_resets r;
	struct merger *m;
	const struct cnode *res;
	int ret;

	if (depth > MPATH_MAX)
		return cnode_error(err, override,
				   "cannot merge: the document is nested too deeply");
	compose_resets_collect(a, override, &r);
	base = resets_apply(a, base, &r);
	override = strip_tags(a, override, false);
	m = xcalloc(1, sizeof(*m));
	m->a = a;
	m->err = err;
	m->path.n = depth;
	if (depth > 0)
		memcpy(m->path.seg, path, depth * sizeof(*path));
	ret = merge_yaml(m, base, override, &res);
	free(m);
	if (ret == 0)
		*out = (struct cnode *)res;
	return ret;
}

int compose_merge_with_resets(struct cnode_arena *a, const struct cnode *base,
			      const struct cnode *override, const struct compose_resets *resets,
			      struct cnode **out, struct px_error *err)
{
	struct merger *m;
	const struct cnode *res;
	int ret;

	if (override->kind != CNODE_MAP)
		return cnode_error(err, override,
				   "the top level of a compose file must be a mapping, "
				   "not a %s",
				   cnode_kind_name(override));
	if (base->kind != CNODE_MAP)
		return cnode_error(err, base,
				   "the top level of a compose file must be a mapping, "
				   "not a %s",
				   cnode_kind_name(base));
	base = resets_apply(a, base, resets);
	/* include and extends add no tags to a document: none seen then, none now */
	if (resets == NULL || resets->tagged)
		override = strip_tags(a, override, false);
	m = xcalloc(1, sizeof(*m));
	m->a = a;
	m->err = err;
	ret = merge_yaml(m, base, override, &res);
	free(m);
	if (ret == 0)
		*out = (struct cnode *)res;
	return ret;
}

int compose_merge(struct cnode_arena *a, const struct cnode *base, const struct cnode *override,
		  struct cnode **out, struct px_error *err)
{
	struct compose_resets r;

	compose_resets_collect(a, override, &r);
	if (compose_merge_with_resets(a, base, override, &r, out, err) < 0)
		return -1;
	return compose_unicity(a, *out, out, err);
}
