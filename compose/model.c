/* model.c - the merged canonical tree typed into struct compose_project: top-level keys,
 * networks and volumes, the field readers service.c and prisync.c share, and the checks
 * compose runs on the whole project (references, dependency cycles, published ports). */
#include "compose/model.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cast.h"
#include "compose/interp.h"
#include "compose/node.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- shared helpers --------------------------------------------------------------- */

char *compose_join3(const char *a, const char *b, const char *c)
{
	char *out = xmalloc(strlen(a) + strlen(b) + strlen(c) + 1);

	stpcpy(stpcpy(stpcpy(out, a), b), c);
	return out;
}

struct compose_mark compose_model_mark(struct model_build *b, const struct cnode *n)
{
	struct compose_mark m = {NULL, n->mark.line, n->mark.col};
	struct compose_strv *files = &b->p->mark_files;
	const char *f = n->mark.file != NULL ? n->mark.file : "";

	/* nodes of one file share the arena string: the pointer test is the common case */
	if (f == b->last_file) {
		m.file = b->last_copy;
		return m;
	}
	for (size_t i = 0; i < files->n; i++) {
		if (strcmp(files->v[i], f) == 0)
			m.file = files->v[i];
	}
	if (m.file == NULL) {
		compose_strv_push(files, f);
		m.file = files->v[files->n - 1];
	}
	b->last_file = f;
	b->last_copy = m.file;
	return m;
}

int compose_model_fail(struct model_build *b, const struct cnode *n, const char *where,
		       const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (where != NULL)
		px_error_set(b->err, 0, "%s:%u:%u: %s: %s", n->mark.file, n->mark.line, n->mark.col,
			     where, msg);
	else
		px_error_set(b->err, 0, "%s:%u:%u: %s", n->mark.file, n->mark.line, n->mark.col,
			     msg);
	free(msg);
	return -1;
}

void compose_model_warn(struct model_build *b, const char *once_key, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	const char *key;

	/* with a once_key, a repeated warning is not even formatted: the same unused key
	 * in 2,000 services is 2,000 messages thrown away */
	for (size_t i = 0; once_key != NULL && i < b->warned.n; i++) {
		if (strcmp(b->warned.v[i], once_key) == 0)
			return;
	}
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	key = once_key != NULL ? once_key : msg;
	for (size_t i = 0; once_key == NULL && i < b->warned.n; i++) {
		if (strcmp(b->warned.v[i], key) == 0) {
			free(msg);
			return;
		}
	}
	compose_strv_push(&b->warned, key);
	if (b->ctx->warnings != NULL)
		compose_strv_push(b->ctx->warnings, msg);
	free(msg);
}

const char *compose_model_lookup(const struct model_build *b, const char *name)
{
	const struct interp_env *env = b->ctx->env;

	if (env == NULL || env->lookup == NULL)
		return NULL;
	return env->lookup(env->data, name);
}

char *compose_model_abs_path(const struct model_build *b, const char *path)
{
	char *expanded = NULL, *out;
	const char *home = path[0] == '~' ? getenv("HOME") : NULL;

	/* compose-go's ExpandUser: "~" and anything after it joined to $HOME */
	if (home != NULL && home[0] != '\0') {
		char *joined = px_path_join(home, path + 1 + (path[1] == '/'));

		expanded = px_path_clean(joined);
		free(joined);
		path = expanded;
	}
	if (path[0] == '/' || path[0] == '\0') {
		out = xstrdup(path);
	} else if (b->memo->rel != NULL && strcmp(b->memo->rel, path) == 0) {
		out = xstrdup(b->memo->abs);
	} else {
		out = px_path_abs(b->ctx->project_dir, path);
		free(b->memo->rel);
		free(b->memo->abs);
		b->memo->rel = xstrdup(path);
		b->memo->abs = xstrdup(out);
	}
	free(expanded);
	return out;
}

const char *compose_model_kind_word(const struct cnode *n)
{
	struct compose_scalar sc;

	if (n == NULL)
		return "nothing";
	if (n->kind == CNODE_MAP)
		return "a mapping";
	if (n->kind == CNODE_SEQ)
		return "a list";
	compose_scalar_resolve(n, &sc);
	switch (sc.type) {
	case COMPOSE_SCALAR_NULL:
		return "null";
	case COMPOSE_SCALAR_BOOL:
		return "a boolean";
	case COMPOSE_SCALAR_INT:
	case COMPOSE_SCALAR_FLOAT:
		return "a number";
	case COMPOSE_SCALAR_STRING:
		break;
	}
	return "a string";
}

/* "got a list" for containers, "got \"abc\"" for scalars: what a type error shows. */
static void got_text(const struct cnode *n, char *buf, size_t size)
{
	if (n->kind == CNODE_SCALAR)
		snprintf(buf, size, "\"%.80s\"", n->value);
	else
		snprintf(buf, size, "%s", compose_model_kind_word(n));
}

int compose_field_string(struct model_build *b, const char *where, const char *key,
			 const struct cnode *n, char **out)
{
	if (cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SCALAR)
		return compose_model_fail(b, n, where, "'%s' must be a string, got %s", key,
					  compose_model_kind_word(n));
	free(*out);
	*out = xstrdup(n->value);
	return 0;
}

int compose_field_bool(struct model_build *b, const char *where, const char *key,
		       const struct cnode *n, bool *out)
{
	bool legacy, v;
	char got[96];

	if (cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SCALAR || compose_cast_bool(n->value, &v, &legacy) < 0) {
		got_text(n, got, sizeof(got));
		return compose_model_fail(
		    b, n, where, "'%s' must be a boolean (true or false), got %s", key, got);
	}
	if (legacy)
		compose_model_warn(
		    b, NULL,
		    "%s:%u:%u: \"%s\" for boolean is not supported by YAML 1.2, please use %s",
		    n->mark.file, n->mark.line, n->mark.col, n->value, v ? "true" : "false");
	*out = v;
	return 0;
}

int compose_field_tristate(struct model_build *b, const char *where, const char *key,
			   const struct cnode *n, int *out)
{
	bool v = false;

	if (cnode_is_null(n))
		return 0;
	if (compose_field_bool(b, where, key, n, &v) < 0)
		return -1;
	*out = v ? 1 : 0;
	return 0;
}

int compose_field_int(struct model_build *b, const char *where, const char *key,
		      const struct cnode *n, int64_t *out)
{
	char got[96];

	if (cnode_is_null(n))
		return 0;
	if (compose_cast_int(n, out) < 0) {
		got_text(n, got, sizeof(got));
		return compose_model_fail(b, n, where, "'%s' must be an integer, got %s", key, got);
	}
	return 0;
}

int compose_field_duration(struct model_build *b, const char *where, const char *key,
			   const struct cnode *n, int64_t *out)
{
	char *why = NULL;
	int rc;

	if (cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SCALAR)
		return compose_model_fail(b, n, where, "'%s' must be a duration like 1m30s, got %s",
					  key, compose_model_kind_word(n));
	if (compose_cast_duration(n->value, out, &why) == 0)
		return 0;
	rc = compose_model_fail(b, n, where, "'%s' must be a duration like 1m30s or 500ms: %s", key,
				why);
	free(why);
	return rc;
}

int compose_field_strlist(struct model_build *b, const char *where, const char *key,
			  const struct cnode *n, bool allow_string, struct compose_strv *out)
{
	if (cnode_is_null(n))
		return 0;
	if (allow_string && n->kind == CNODE_SCALAR) {
		compose_strv_push(out, n->value);
		return 0;
	}
	if (n->kind != CNODE_SEQ)
		return compose_model_fail(b, n, where, "'%s' must be a %slist, got %s", key,
					  allow_string ? "string or a " : "",
					  compose_model_kind_word(n));
	if (n->n > 0)
		out->v = xreallocarray(out->v, out->n + n->n, sizeof(*out->v));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *it = n->items[i];

		if (it->kind != CNODE_SCALAR)
			return compose_model_fail(b, it, where,
						  "'%s' entries must be strings, got %s", key,
						  compose_model_kind_word(it));
		out->v[out->n++] = compose_scalar_text(it); /* numbers as Go prints them */
	}
	return 0;
}

int compose_field_command(struct model_build *b, const char *where, const char *key,
			  const struct cnode *n, bool *has, struct compose_strv *out)
{
	bool stopped = false;

	if (cnode_is_null(n))
		return 0;
	if (n->kind == CNODE_MAP)
		return compose_model_fail(b, n, where,
					  "'%s' must be a string or a list, got a mapping", key);
	*has = true;
	if (n->kind == CNODE_SEQ) {
		if (n->n > 0)
			out->v = xreallocarray(out->v, out->n + n->n, sizeof(*out->v));
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->kind != CNODE_SCALAR)
				return compose_model_fail(
				    b, n->items[i], where, "'%s' entries must be strings, got %s",
				    key, compose_model_kind_word(n->items[i]));
			out->v[out->n++] = xstrdup(n->items[i]->value);
		}
		return 0;
	}
	if (compose_shell_split(n->value, out, &stopped) < 0)
		return compose_model_fail(b, n, where,
					  "'%s': invalid command line string \"%s\" (unbalanced "
					  "quote, escape or parenthesis)",
					  key, n->value);
	if (stopped)
		compose_model_warn(
		    b, NULL,
		    "%s:%u:%u: %s: '%s' is cut at its first ; & | < or > (docker compose does the "
		    "same) — write it as a list, or as [\"sh\", \"-c\", \"...\"]",
		    n->mark.file, n->mark.line, n->mark.col, where, key);
	return 0;
}

int compose_field_map(struct model_build *b, const char *where, const char *key,
		      const struct cnode *n, enum compose_map_style style, struct compose_map *out)
{
	const char *unset = style == COMPOSE_MAP_LABELS ? "" : NULL;
	struct compose_map got = {NULL, 0};
	int rc = -1;

	if (cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SEQ && n->kind != CNODE_MAP)
		return compose_model_fail(b, n, where, "'%s' must be a mapping or a list, got %s",
					  key, compose_model_kind_word(n));
	if (n->n == 0)
		return 0;
	/* the entries in order, then into out at once (compose_map_move_all: a big
	 * environment stays linear, and the strings are not copied twice) */
	got.v = xreallocarray(NULL, n->n, sizeof(*got.v));
	for (size_t i = 0; i < n->n; i++) {
		struct compose_kv *kv = &got.v[got.n];

		if (n->kind == CNODE_SEQ) {
			const struct cnode *it = n->items[i];
			const char *eq;

			if (it->kind != CNODE_SCALAR) {
				compose_model_fail(b, it, where,
						   "'%s' entries must be KEY=VALUE strings, got %s",
						   key, compose_model_kind_word(it));
				goto out;
			}
			eq = strchr(it->value, '=');
			if (eq != NULL) {
				kv->key = xstrndup(it->value, (size_t)(eq - it->value));
				kv->value = xstrdup(eq + 1);
			} else {
				kv->key = xstrdup(it->value);
				kv->value = unset != NULL ? xstrdup(unset) : NULL;
			}
		} else {
			const struct cnode *k = cnode_key(n, i), *v = cnode_val(n, i);

			if (!cnode_is_null(v) && v->kind != CNODE_SCALAR) {
				compose_model_fail(
				    b, v, where,
				    "'%s.%s' must be a string, a number or a boolean, got %s", key,
				    k->value, compose_model_kind_word(v));
				goto out;
			}
			kv->key = xstrdup(k->value);
			if (!cnode_is_null(v))
				kv->value = compose_scalar_text(v);
			else
				kv->value = unset != NULL ? xstrdup(unset) : NULL;
		}
		got.n++;
	}
	compose_map_move_all(out, &got);
	rc = 0;
out:
	compose_map_release(&got);
	return rc;
}

int compose_check_keys(struct model_build *b, const char *where, const char *section,
		       const struct cnode *map, const char *const *known, size_t n)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct cnode *k = cnode_key(map, i);
		const char *hint;
		bool ok = strncmp(k->value, "x-", 2) == 0;
		char in[128] = "";

		for (size_t j = 0; j < n && !ok; j++)
			ok = k->value[0] == known[j][0] && strcmp(k->value, known[j]) == 0;
		if (ok)
			continue;
		if (section != NULL)
			snprintf(in, sizeof(in), " in '%s'", section);
		hint = compose_suggest(k->value, known, n);
		if (hint != NULL)
			return compose_model_fail(b, k, where,
						  "unknown key '%s'%s (did you mean '%s'?)",
						  k->value, in, hint);
		return compose_model_fail(b, k, where, "unknown key '%s'%s", k->value, in);
	}
	return 0;
}

json_t *compose_model_json(const struct model_build *b, const struct cnode *n)
{
	struct model_memo *m = b->memo;
	size_t slot = ((uintptr_t)n >> 4) % N(m->json);

	if (m->json[slot].node != n) {
		json_decref(m->json[slot].json);
		m->json[slot].node = n;
		m->json[slot].json = compose_node_json(n);
	}
	return json_incref(m->json[slot].json);
}

json_t *compose_model_extensions(const struct cnode *map)
{
	json_t *ext = NULL;

	for (size_t i = 0; map != NULL && map->kind == CNODE_MAP && i < map->n; i++) {
		const char *k = cnode_key(map, i)->value;

		if (strncmp(k, "x-", 2) != 0)
			continue;
		if (ext == NULL)
			ext = json_object();
		json_object_set_new(ext, k, compose_node_json(cnode_val(map, i)));
	}
	return ext;
}

/* ---- networks and volumes --------------------------------------------------------- */

static const char *const network_keys[] = {
    "name",     "driver",      "driver_opts", "ipam",       "external",
    "internal", "enable_ipv4", "enable_ipv6", "attachable", "labels",
};
static const char *const volume_keys[] = {"name", "driver", "driver_opts", "external", "labels"};

/* compose-go's setNameFromKey: name:, else the key for external resources, else
 * "<project>_<key>". */
static char *engine_name(const struct model_build *b, const char *key, char *name, bool external)
{
	if (name != NULL)
		return name;
	if (external)
		return xstrdup(key);
	return compose_join3(b->ctx->project_name, "_", key);
}

static int read_network(struct model_build *b, const struct cnode *key, const struct cnode *v,
			struct compose_network *net)
{
	char *where, *name = NULL;
	int rc = -1;

	where = compose_join3("network '", key->value, "'");
	net->key = xstrdup(key->value);
	net->mark = compose_model_mark(b, key);
	net->enable_ipv6 = -1;
	if (!cnode_is_null(v)) {
		if (v->kind != CNODE_MAP) {
			compose_model_fail(b, v, where, "must be a mapping, got %s",
					   compose_model_kind_word(v));
			goto out;
		}
		if (compose_check_keys(b, where, NULL, v, network_keys, N(network_keys)) < 0 ||
		    compose_field_string(b, where, "name", cnode_map_get(v, "name"), &name) < 0 ||
		    compose_field_string(b, where, "driver", cnode_map_get(v, "driver"),
					 &net->driver) < 0 ||
		    compose_field_map(b, where, "driver_opts", cnode_map_get(v, "driver_opts"),
				      COMPOSE_MAP_LABELS, &net->driver_opts) < 0 ||
		    compose_field_bool(b, where, "external", cnode_map_get(v, "external"),
				       &net->external) < 0 ||
		    compose_field_bool(b, where, "internal", cnode_map_get(v, "internal"),
				       &net->internal) < 0 ||
		    compose_field_bool(b, where, "attachable", cnode_map_get(v, "attachable"),
				       &net->attachable) < 0 ||
		    compose_field_tristate(b, where, "enable_ipv6", cnode_map_get(v, "enable_ipv6"),
					   &net->enable_ipv6) < 0 ||
		    compose_field_map(b, where, "labels", cnode_map_get(v, "labels"),
				      COMPOSE_MAP_LABELS, &net->labels) < 0)
			goto out;
		if (!cnode_is_null(cnode_map_get(v, "ipam"))) {
			if (cnode_map_get(v, "ipam")->kind != CNODE_MAP) {
				compose_model_fail(
				    b, cnode_map_get(v, "ipam"), where,
				    "'ipam' must be a mapping, got %s",
				    compose_model_kind_word(cnode_map_get(v, "ipam")));
				goto out;
			}
			net->ipam = compose_node_json(cnode_map_get(v, "ipam"));
		}
		if (cnode_map_get(v, "enable_ipv4") != NULL)
			compose_model_warn(b, "network.enable_ipv4",
					   "%s: key 'enable_ipv4' is not used by prisync", where);
		net->extensions = compose_model_extensions(v);
	}
	net->name = engine_name(b, net->key, name, net->external);
	name = NULL;
	rc = 0;
out:
	free(name);
	free(where);
	return rc;
}

static int read_volume(struct model_build *b, const struct cnode *key, const struct cnode *v,
		       struct compose_volume *vol)
{
	char *where, *name = NULL;
	int rc = -1;

	where = compose_join3("volume '", key->value, "'");
	vol->key = xstrdup(key->value);
	vol->mark = compose_model_mark(b, key);
	if (!cnode_is_null(v)) {
		struct compose_kv *dev;

		if (v->kind != CNODE_MAP) {
			compose_model_fail(b, v, where, "must be a mapping, got %s",
					   compose_model_kind_word(v));
			goto out;
		}
		if (compose_check_keys(b, where, NULL, v, volume_keys, N(volume_keys)) < 0 ||
		    compose_field_string(b, where, "name", cnode_map_get(v, "name"), &name) < 0 ||
		    compose_field_string(b, where, "driver", cnode_map_get(v, "driver"),
					 &vol->driver) < 0 ||
		    compose_field_map(b, where, "driver_opts", cnode_map_get(v, "driver_opts"),
				      COMPOSE_MAP_LABELS, &vol->driver_opts) < 0 ||
		    compose_field_bool(b, where, "external", cnode_map_get(v, "external"),
				       &vol->external) < 0 ||
		    compose_field_map(b, where, "labels", cnode_map_get(v, "labels"),
				      COMPOSE_MAP_LABELS, &vol->labels) < 0)
			goto out;
		/* a local volume with o=bind is a bind mount: its device is a host path */
		dev = compose_map_find(&vol->driver_opts, "device");
		if (vol->driver != NULL && strcmp(vol->driver, "local") == 0 && dev != NULL &&
		    dev->value != NULL) {
			const char *o = compose_map_get(&vol->driver_opts, "o");

			if (o != NULL && strcmp(o, "bind") == 0) {
				char *abs = compose_model_abs_path(b, dev->value);

				free(dev->value);
				dev->value = abs;
			}
		}
		vol->extensions = compose_model_extensions(v);
	}
	vol->name = engine_name(b, vol->key, name, vol->external);
	name = NULL;
	rc = 0;
out:
	free(name);
	free(where);
	return rc;
}

static void network_release(struct compose_network *n)
{
	free(n->key);
	free(n->name);
	free(n->driver);
	compose_map_release(&n->driver_opts);
	compose_map_release(&n->labels);
	json_decref(n->ipam);
	json_decref(n->extensions);
}

static void volume_release(struct compose_volume *v)
{
	free(v->key);
	free(v->name);
	free(v->driver);
	compose_map_release(&v->driver_opts);
	compose_map_release(&v->labels);
	json_decref(v->extensions);
}

/* ---- project-wide checks ---------------------------------------------------------- */

static int service_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_service *)a)->name,
		      ((const struct compose_service *)b)->name);
}

static int network_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_network *)a)->key,
		      ((const struct compose_network *)b)->key);
}

static int volume_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_volume *)a)->key,
		      ((const struct compose_volume *)b)->key);
}

static long find_service(const struct compose_project *p, const char *name)
{
	size_t lo = 0, hi = p->nservices;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, p->services[mid].name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Linear: read_networks asks before the networks are sorted. */
static bool has_network(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; i < p->nnetworks; i++) {
		if (strcmp(p->networks[i].key, key) == 0)
			return true;
	}
	return false;
}

static int network_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct compose_network *)elem)->key);
}

static int volume_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct compose_volume *)elem)->key);
}

/* Both lists are sorted by key once read: a project of 2,000 services, each mounting
 * one of 2,000 named volumes, costs 2 million strcmp() calls (a tenth of the load) when
 * searched linearly. */
static bool has_sorted_network(const struct compose_project *p, const char *key)
{
	return p->nnetworks > 0 &&
	       bsearch(key, p->networks, p->nnetworks, sizeof(*p->networks), network_key_cmp);
}

static bool has_sorted_volume(const struct compose_project *p, const char *key)
{
	return p->nvolumes > 0 &&
	       bsearch(key, p->volumes, p->nvolumes, sizeof(*p->volumes), volume_key_cmp);
}

/* Errors at a model mark (the nodes are gone by then). */
static int fail_at(struct model_build *b, struct compose_mark m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct model_build *b, struct compose_mark m, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	px_error_set(b->err, 0, "%s:%u:%u: %s", m.file, m.line, m.col, msg);
	free(msg);
	return -1;
}

static int check_references(struct model_build *b)
{
	struct compose_project *p = b->p;
	const char **names = xcalloc(p->nservices ? p->nservices : 1, sizeof(*names));
	int rc = -1;

	for (size_t i = 0; i < p->nservices; i++)
		names[i] = p->services[i].name;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];

		if (s->image == NULL && s->build == NULL &&
		    (s->other == NULL || json_object_get(s->other, "provider") == NULL)) {
			fail_at(b, s->mark,
				"service '%s' has neither an image nor a build context specified",
				s->name);
			goto out;
		}
		for (size_t k = 0; k < s->nnetworks; k++) {
			if (!has_sorted_network(p, s->networks[k].key)) {
				fail_at(b, s->networks[k].mark,
					"service '%s' refers to undefined network '%s' — declare "
					"it under the top-level 'networks'",
					s->name, s->networks[k].key);
				goto out;
			}
		}
		for (size_t k = 0; k < s->ndepends_on; k++) {
			const char *dep = s->depends_on[k].service, *hint;

			if (find_service(p, dep) >= 0)
				continue;
			hint = compose_suggest(dep, names, p->nservices);
			if (hint != NULL)
				fail_at(b, s->depends_on[k].mark,
					"service '%s' depends on undefined service '%s' (did you "
					"mean '%s'?)",
					s->name, dep, hint);
			else
				fail_at(b, s->depends_on[k].mark,
					"service '%s' depends on undefined service '%s'", s->name,
					dep);
			goto out;
		}
		for (size_t k = 0; k < s->nvolumes; k++) {
			const struct compose_mount *m = &s->volumes[k];

			if (m->type == COMPOSE_MOUNT_VOLUME && m->source != NULL &&
			    m->source[0] != '\0' && !has_sorted_volume(p, m->source)) {
				fail_at(b, m->mark,
					"service '%s' refers to undefined volume '%s' — declare it "
					"under the top-level 'volumes'",
					s->name, m->source);
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(names);
	return rc;
}

/* compose-go's cycle search: services in name order, dependencies in name order, the
 * first dependency already on the path closes the cycle that is reported. */
struct cycle_search {
	struct model_build *b;
	char *state; /* 0 unvisited, 1 on the path, 2 done */
	size_t *path;
	size_t depth;
};

static int dep_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int visit(struct cycle_search *cs, size_t i)
{
	const struct compose_service *s = &cs->b->p->services[i];
	const char **deps = xcalloc(s->ndepends_on ? s->ndepends_on : 1, sizeof(*deps));
	int rc = 0;

	cs->state[i] = 1;
	cs->path[cs->depth++] = i;
	for (size_t k = 0; k < s->ndepends_on; k++)
		deps[k] = s->depends_on[k].service;
	qsort(deps, s->ndepends_on, sizeof(*deps), dep_name_cmp);
	for (size_t k = 0; k < s->ndepends_on && rc == 0; k++) {
		long j = find_service(cs->b->p, deps[k]);

		if (j < 0 || cs->state[j] == 2)
			continue;
		if (cs->state[j] == 1) {
			struct px_buf msg = PX_BUF_INIT;
			size_t start = 0;

			while (cs->path[start] != (size_t)j)
				start++;
			for (size_t d = start; d < cs->depth; d++)
				px_buf_addf(&msg, "%s -> ", cs->b->p->services[cs->path[d]].name);
			px_buf_adds(&msg, cs->b->p->services[j].name);
			rc = fail_at(cs->b, cs->b->p->services[j].mark,
				     "dependency cycle detected: %s", px_buf_cstr(&msg));
			px_buf_release(&msg);
			break;
		}
		rc = visit(cs, (size_t)j);
	}
	cs->depth--;
	cs->state[i] = 2;
	free(deps);
	return rc;
}

static int check_cycles(struct model_build *b)
{
	size_t n = b->p->nservices;
	struct cycle_search cs = {b, xcalloc(n ? n : 1, 1), xcalloc(n ? n : 1, sizeof(size_t)), 0};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (cs.state[i] == 0)
			rc = visit(&cs, i);
	}
	free(cs.state);
	free(cs.path);
	return rc;
}

struct published {
	const char *key; /* host ip | port | protocol, cut to KEY_MAX - 1 bytes */
	size_t off;      /* of key in the key buffer, while it may still move */
	size_t service, port;
};

static int published_cmp(const void *a, const void *b)
{
	const struct published *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->service != y->service)
		return x->service < y->service ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* Two bindings of one host address, port and protocol cannot both start.  Host port
 * ranges are pools the engine picks a free port from, so they never clash here. */
static int check_published_ports(struct model_build *b)
{
	struct compose_project *p = b->p;
	enum { KEY_MAX = 160 };
	struct published *all = NULL, *first = NULL, *second = NULL;
	/* the keys packed in one buffer, not an array of KEY_MAX each: the check runs
	 * while the whole node tree is still alive, so it adds to the peak (issue 3) */
	struct px_buf keys = PX_BUF_INIT;
	size_t n = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < p->nservices; i++) {
		for (size_t k = 0; k < p->services[i].nports; k++) {
			const struct compose_port *port = &p->services[i].ports[k];
			const char *ip = port->host_ip;
			char key[KEY_MAX];

			if (port->published == NULL || port->published[0] == '\0' ||
			    strchr(port->published, '-') != NULL)
				continue;
			if (ip == NULL || strcmp(ip, "0.0.0.0") == 0)
				ip = "";
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				all = xreallocarray(all, cap, sizeof(*all));
			}
			snprintf(key, sizeof(key), "%s|%s|%s", ip, port->published,
				 port->protocol != NULL ? port->protocol : "tcp");
			all[n].off = keys.len;
			px_buf_add(&keys, key, strlen(key) + 1);
			all[n].service = i;
			all[n].port = k;
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		all[i].key = keys.data + all[i].off;
	if (n > 1)
		qsort(all, n, sizeof(*all), published_cmp);
	/* report the clash whose later binding comes first in service order */
	for (size_t i = 1; i < n; i++) {
		size_t f = i - 1;

		if (strcmp(all[i].key, all[f].key) != 0)
			continue;
		if (second != NULL &&
		    (all[i].service > second->service ||
		     (all[i].service == second->service && all[i].port > second->port)))
			continue;
		while (f > 0 && strcmp(all[f - 1].key, all[i].key) == 0)
			f--;
		first = &all[f];
		second = &all[i];
	}
	if (second != NULL) {
		const struct compose_service *s1 = &p->services[first->service],
					     *s2 = &p->services[second->service];
		const struct compose_port *p1 = &s1->ports[first->port],
					  *p2 = &s2->ports[second->port];
		char addr[96];

		snprintf(addr, sizeof(addr), "%s%s%s/%s", p2->host_ip ? p2->host_ip : "",
			 p2->host_ip ? ":" : "", p2->published, p2->protocol);
		if (s1 == s2)
			rc = fail_at(b, p2->mark,
				     "service '%s': published port %s is already used by this "
				     "service (%s:%u:%u)",
				     s2->name, addr, p1->mark.file, p1->mark.line, p1->mark.col);
		else
			rc = fail_at(b, p2->mark,
				     "service '%s': published port %s is already used by service "
				     "'%s' (%s:%u:%u)",
				     s2->name, addr, s1->name, p1->mark.file, p1->mark.line,
				     p1->mark.col);
	}
	free(all);
	px_buf_release(&keys);
	return rc;
}

/* Service secrets and configs must name top-level ones, as compose checks. */
static int check_file_refs(struct model_build *b, const struct cnode *root,
			   const struct cnode *svc_key, const struct cnode *svc)
{
	static const char *const kinds[] = {"secrets", "configs"};

	for (size_t k = 0; k < 2; k++) {
		const struct cnode *refs = cnode_map_get(svc, kinds[k]),
				   *top = cnode_map_get(root, kinds[k]);

		for (size_t i = 0; refs != NULL && refs->kind == CNODE_SEQ && i < refs->n; i++) {
			const struct cnode *it = refs->items[i], *src;

			src = it->kind == CNODE_MAP ? cnode_map_get(it, "source") : it;
			if (src == NULL || src->kind != CNODE_SCALAR)
				continue;
			if (cnode_map_get(top, src->value) == NULL)
				return compose_model_fail(
				    b, it, NULL, "service '%s' refers to undefined %.6s '%s'",
				    svc_key->value, kinds[k], src->value);
		}
	}
	return 0;
}

/* ---- the project ------------------------------------------------------------------ */

static const char *const top_keys[] = {"version", "name",    "include", "services", "networks",
				       "volumes", "secrets", "configs", "models"};

static bool valid_resource_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

static int read_top_level(struct model_build *b, const struct cnode *root)
{
	if (compose_check_keys(b, NULL, NULL, root, top_keys, N(top_keys)) < 0)
		return -1;
	for (size_t i = 0; i < root->n; i++) {
		const struct cnode *k = cnode_key(root, i), *v = cnode_val(root, i);

		if (strcmp(k->value, "version") == 0) {
			compose_model_warn(b, "version",
					   "%s: the attribute 'version' is obsolete, it will be "
					   "ignored, please remove it to avoid potential confusion",
					   k->mark.file);
		} else if (strcmp(k->value, "secrets") == 0 || strcmp(k->value, "configs") == 0 ||
			   strcmp(k->value, "models") == 0) {
			if (cnode_is_null(v))
				continue;
			if (v->kind != CNODE_MAP)
				return compose_model_fail(b, v, NULL,
							  "'%s' must be a mapping, got %s",
							  k->value, compose_model_kind_word(v));
			if (b->p->other == NULL)
				b->p->other = json_object();
			json_object_set_new(b->p->other, k->value, compose_node_json(v));
			compose_model_warn(b, k->value,
					   "key '%s' is not used by prisync; kept for 'config'",
					   k->value);
		} else if (strncmp(k->value, "x-", 2) == 0) {
			/* x-prisync is also read into p->prisync; kept here too so that
			 * `config` prints it as compose prints any extension */
			if (b->p->extensions == NULL)
				b->p->extensions = json_object();
			json_object_set_new(b->p->extensions, k->value, compose_node_json(v));
		}
	}
	return 0;
}

static int read_services(struct model_build *b, const struct cnode *root)
{
	const struct cnode *svcs = cnode_map_get(root, "services");

	if (cnode_is_null(svcs))
		return 0;
	if (svcs->kind != CNODE_MAP)
		return compose_model_fail(b, svcs, NULL, "'services' must be a mapping, got %s",
					  compose_model_kind_word(svcs));
	b->p->services = xcalloc(svcs->n ? svcs->n : 1, sizeof(*b->p->services));
	for (size_t i = 0; i < svcs->n; i++) {
		const struct cnode *k = cnode_key(svcs, i), *v = cnode_val(svcs, i);

		if (!valid_resource_name(k->value))
			return compose_model_fail(
			    b, k, NULL,
			    "invalid service name '%s': use letters, digits, '.', '_' and '-'",
			    k->value);
		/* counted first: a half-built service is released with the others */
		b->p->nservices++;
		if (compose_model_service(b, k, v, &b->p->services[i]) < 0 ||
		    check_file_refs(b, root, k, v) < 0)
			return -1;
	}
	qsort(b->p->services, b->p->nservices, sizeof(*b->p->services), service_cmp);
	return 0;
}

static int read_networks(struct model_build *b, const struct cnode *root)
{
	const struct cnode *nets = cnode_map_get(root, "networks");
	const struct compose_service *user = NULL;
	struct compose_network *net;

	if (!cnode_is_null(nets)) {
		if (nets->kind != CNODE_MAP)
			return compose_model_fail(b, nets, NULL,
						  "'networks' must be a mapping, got %s",
						  compose_model_kind_word(nets));
		b->p->networks = xcalloc(nets->n + 1, sizeof(*b->p->networks));
		for (size_t i = 0; i < nets->n; i++) {
			if (!valid_resource_name(cnode_key(nets, i)->value))
				return compose_model_fail(b, cnode_key(nets, i), NULL,
							  "invalid network name '%s': use letters, "
							  "digits, '.', '_' and '-'",
							  cnode_key(nets, i)->value);
			b->p->nnetworks++;
			if (read_network(b, cnode_key(nets, i), cnode_val(nets, i),
					 &b->p->networks[i]) < 0)
				return -1;
		}
	}
	/* the implicit default network exists when a service is on it (compose-go's rule) */
	for (size_t i = 0; i < b->p->nservices && user == NULL; i++) {
		for (size_t k = 0; k < b->p->services[i].nnetworks; k++) {
			if (strcmp(b->p->services[i].networks[k].key, "default") == 0)
				user = &b->p->services[i];
		}
	}
	if (user != NULL && !has_network(b->p, "default")) {
		b->p->networks =
		    xreallocarray(b->p->networks, b->p->nnetworks + 1, sizeof(*b->p->networks));
		net = &b->p->networks[b->p->nnetworks++];
		memset(net, 0, sizeof(*net));
		net->key = xstrdup("default");
		net->name = engine_name(b, "default", NULL, false);
		net->enable_ipv6 = -1;
		net->mark = user->mark;
	}
	if (b->p->nnetworks > 1)
		qsort(b->p->networks, b->p->nnetworks, sizeof(*b->p->networks), network_cmp);
	return 0;
}

static int read_volumes(struct model_build *b, const struct cnode *root)
{
	const struct cnode *vols = cnode_map_get(root, "volumes");

	if (cnode_is_null(vols))
		return 0;
	if (vols->kind != CNODE_MAP)
		return compose_model_fail(b, vols, NULL, "'volumes' must be a mapping, got %s",
					  compose_model_kind_word(vols));
	b->p->volumes = xcalloc(vols->n ? vols->n : 1, sizeof(*b->p->volumes));
	for (size_t i = 0; i < vols->n; i++) {
		if (!valid_resource_name(cnode_key(vols, i)->value))
			return compose_model_fail(
			    b, cnode_key(vols, i), NULL,
			    "invalid volume name '%s': use letters, digits, '.', '_' and '-'",
			    cnode_key(vols, i)->value);
		b->p->nvolumes++;
		if (read_volume(b, cnode_key(vols, i), cnode_val(vols, i), &b->p->volumes[i]) < 0)
			return -1;
	}
	qsort(b->p->volumes, b->p->nvolumes, sizeof(*b->p->volumes), volume_cmp);
	return 0;
}

int compose_model_build(struct compose_project *p, const struct cnode *root,
			const struct compose_model_ctx *ctx, struct px_error *err)
{
	struct model_memo memo = {0};
	struct model_build b = {.p = p, .ctx = ctx, .err = err, .memo = &memo};
	int rc = -1;

	if (root->kind != CNODE_MAP) {
		compose_model_fail(&b, root, NULL, "top-level object must be a mapping, got %s",
				   compose_model_kind_word(root));
		goto out;
	}
	if (read_top_level(&b, root) < 0 || read_services(&b, root) < 0 ||
	    read_networks(&b, root) < 0 || read_volumes(&b, root) < 0 || check_references(&b) < 0 ||
	    check_cycles(&b) < 0 || check_published_ports(&b) < 0 ||
	    compose_model_prisync(&b, cnode_map_get(root, "x-prisync")) < 0)
		goto out;
	rc = 0;
out:
	compose_strv_release(&b.warned);
	for (size_t i = 0; i < N(memo.json); i++)
		json_decref(memo.json[i].json);
	free(memo.rel);
	free(memo.abs);
	if (rc < 0)
		compose_project_release_model(p);
	return rc;
}

void compose_project_release_model(struct compose_project *p)
{
	for (size_t i = 0; i < p->nservices; i++)
		compose_service_release(&p->services[i]);
	free(p->services);
	p->services = NULL;
	p->nservices = 0;
	for (size_t i = 0; i < p->nnetworks; i++)
		network_release(&p->networks[i]);
	free(p->networks);
	p->networks = NULL;
	p->nnetworks = 0;
	for (size_t i = 0; i < p->nvolumes; i++)
		volume_release(&p->volumes[i]);
	free(p->volumes);
	p->volumes = NULL;
	p->nvolumes = 0;
	json_decref(p->extensions);
	p->extensions = NULL;
	json_decref(p->other);
	p->other = NULL;
	compose_prisync_release(&p->prisync);
	compose_strv_release(&p->mark_files);
}
