/* include.c - the two ways a compose file pulls in others, as compose-go's loader does
 * them: top-level include: (whole projects, with their own directory and .env) and
 * services.*.extends (one service, from the same file or another, merged under). */
#include "compose/merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/internal.h"
#include "compose/interp.h"

/* ---- Small tree edits (nodes are immutable: every edit is a copy) ---------------------- */

/* map with the value of key replaced by v (added when absent; removed when v is NULL). */
static struct cnode *map_with(struct cnode_arena *a, const struct cnode *map, const char *key,
			      const struct cnode *v)
{
	struct cnode *c;

	for (size_t i = 0; i < map->n; i++) {
		if (strcmp(cnode_key(map, i)->value, key) != 0)
			continue;
		c = cnode_clone(a, map);
		if (v != NULL) {
			c->items[2 * i + 1] = (struct cnode *)v;
			return c;
		}
		memmove(c->items + 2 * i, c->items + 2 * i + 2,
			2 * (map->n - i - 1) * sizeof(struct cnode *));
		c->n--;
		return c;
	}
	if (v == NULL)
		return (struct cnode *)map;
	c = cnode_new_map(a, map->n + 1, map->mark);
	if (map->n > 0)
		memcpy(c->items, map->items, 2 * map->n * sizeof(struct cnode *));
	c->items[2 * map->n] = cnode_new_scalar(a, key, false, v->mark);
	c->items[2 * map->n + 1] = (struct cnode *)v;
	return c;
}

static bool is_text(const struct cnode *n)
{
	return n != NULL && n->kind == CNODE_SCALAR && !cnode_is_null(n);
}

/* ---- Relative paths (compose-go paths.ResolveRelativePaths) ---------------------------- */

/* path made absolute against dir: '~' is the home directory, absolute paths stay. */
static char *abs_path(const char *dir, const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && home != NULL && home[0] != '\0') {
		char *joined = px_path_join(home, path[1] == '/' ? path + 2 : path + 1);
		char *r = px_path_clean(joined);

		free(joined);
		return r;
	}
	if (px_path_is_abs(path))
		return xstrdup(path);
	return px_path_abs(dir, path);
}

/* Build contexts that are not local directories are kept as written. */
static bool is_remote_context(const char *s)
{
	static const char *const prefixes[] = {"https://",    "http://", "git://",  "ssh://",
					       "github.com/", "git@",    "service:"};

	if (strstr(s, "://") != NULL)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static const struct cnode *rebase_scalar(struct cnode_arena *a, const struct cnode *n,
					 const char *dir, bool context)
{
	char *p;
	struct cnode *r;

	if (!is_text(n) || (context && is_remote_context(n->value)))
		return n;
	p = abs_path(dir, n->value);
	if (strcmp(p, n->value) == 0) {
		free(p);
		return n;
	}
	r = cnode_new_scalar(a, p, true, n->mark);
	free(p);
	return r;
}

/* The value of key in map rebased with fn-like logic: a scalar, or each item / each
 * entry's key (sub) of a sequence. */
static const struct cnode *rebase_key(struct cnode_arena *a, const struct cnode *map,
				      const char *key, const char *sub, const char *dir,
				      bool context)
{
	const struct cnode *v = cnode_map_get(map, key), *nv = v;
	struct cnode *c = NULL;

	if (v == NULL)
		return map;
	if (v->kind == CNODE_SCALAR) {
		nv = rebase_scalar(a, v, dir, context);
	} else if (v->kind == CNODE_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *it = v->items[i], *nit = it;

			if (it->kind == CNODE_SCALAR)
				nit = rebase_scalar(a, it, dir, context);
			else if (sub != NULL && it->kind == CNODE_MAP)
				nit = rebase_key(a, it, sub, NULL, dir, context);
			if (nit != it) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[i] = (struct cnode *)nit;
			}
		}
		if (c != NULL)
			nv = c;
	} else if (v->kind == CNODE_MAP && sub == NULL) {
		/* a mapping of paths (additional_contexts) */
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *it = cnode_val(v, i);
			const struct cnode *nit = rebase_scalar(a, it, dir, context);

			if (nit != it) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[2 * i + 1] = (struct cnode *)nit;
			}
		}
		if (c != NULL)
			nv = c;
	}
	return nv == v ? map : map_with(a, map, key, nv);
}

static const struct cnode *rebase_service(struct cnode_arena *a, const struct cnode *s,
					  const char *dir)
{
	const struct cnode *b, *v, *nv;
	struct cnode *c = NULL;

	if (s->kind != CNODE_MAP)
		return s;
	b = cnode_map_get(s, "build");
	if (b != NULL && b->kind == CNODE_MAP) {
		const struct cnode *nb = rebase_key(a, b, "context", NULL, dir, true);

		nb = rebase_key(a, nb, "additional_contexts", NULL, dir, true);
		if (nb != b)
			s = map_with(a, s, "build", nb);
	} else if (is_text(b)) {
		s = map_with(a, s, "build", rebase_scalar(a, b, dir, true));
	}
	s = rebase_key(a, s, "env_file", "path", dir, false);
	s = rebase_key(a, s, "label_file", NULL, dir, false);
	v = cnode_map_get(s, "extends");
	if (v != NULL && v->kind == CNODE_MAP)
		s = (nv = rebase_key(a, v, "file", NULL, dir, false)) != v
			? map_with(a, s, "extends", nv)
			: s;
	v = cnode_map_get(s, "develop");
	if (v != NULL && v->kind == CNODE_MAP) {
		const struct cnode *w = cnode_map_get(v, "watch");

		if (w != NULL && w->kind == CNODE_SEQ) {
			const struct cnode *nw = rebase_key(a, v, "watch", "path", dir, false);

			if (nw != v)
				s = map_with(a, s, "develop", nw);
		}
	}
	/* bind mounts only: a volume's source is a name */
	v = cnode_map_get(s, "volumes");
	if (v != NULL && v->kind == CNODE_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *m = v->items[i], *t, *nm;

			if (m->kind != CNODE_MAP)
				continue;
			t = cnode_map_get(m, "type");
			if (!is_text(t) || strcmp(t->value, "bind") != 0)
				continue;
			nm = rebase_key(a, m, "source", NULL, dir, false);
			if (nm != m) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[i] = (struct cnode *)nm;
			}
		}
		if (c != NULL)
			s = map_with(a, s, "volumes", c);
	}
	return s;
}

struct cnode *compose_rebase_paths(struct cnode_arena *a, const struct cnode *doc, const char *dir)
{
	static const char *const files[] = {"secrets", "configs"};
	const struct cnode *d = doc, *v;
	struct cnode *c = NULL;

	if (doc->kind != CNODE_MAP)
		return (struct cnode *)doc;
	v = cnode_map_get(d, "services");
	if (v != NULL && v->kind == CNODE_MAP) {
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *s = cnode_val(v, i), *ns = rebase_service(a, s, dir);

			if (ns != s) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[2 * i + 1] = (struct cnode *)ns;
			}
		}
		if (c != NULL)
			d = map_with(a, d, "services", c);
	}
	for (size_t f = 0; f < 2; f++) {
		v = cnode_map_get(d, files[f]);
		if (v == NULL || v->kind != CNODE_MAP)
			continue;
		c = NULL;
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *r = cnode_val(v, i), *nr = r;

			if (r->kind == CNODE_MAP)
				nr = rebase_key(a, r, "file", NULL, dir, false);
			if (nr != r) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[2 * i + 1] = (struct cnode *)nr;
			}
		}
		if (c != NULL)
			d = map_with(a, d, files[f], c);
	}
	/* volumes.*: a local driver bind-mounting a host directory */
	v = cnode_map_get(d, "volumes");
	if (v != NULL && v->kind == CNODE_MAP) {
		c = NULL;
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *r = cnode_val(v, i), *drv, *opts, *o, *nopts;

			if (r->kind != CNODE_MAP)
				continue;
			drv = cnode_map_get(r, "driver");
			opts = cnode_map_get(r, "driver_opts");
			o = cnode_map_get(opts, "o");
			if (!is_text(drv) || strcmp(drv->value, "local") != 0 || !is_text(o) ||
			    strcmp(o->value, "bind") != 0)
				continue;
			nopts = rebase_key(a, opts, "device", NULL, dir, false);
			if (nopts != opts) {
				if (c == NULL)
					c = cnode_clone(a, v);
				c->items[2 * i + 1] = map_with(a, r, "driver_opts", nopts);
			}
		}
		if (c != NULL)
			d = map_with(a, d, "volumes", c);
	}
	return (struct cnode *)d;
}

/* ---- include ----------------------------------------------------------------------------- */

/* One include: entry, read from its string or long form. */
struct include_spec {
	const struct cnode *node;
	char **paths; /* absolute */
	size_t npaths;
	char *project_dir; /* absolute */
	char **env_files;  /* absolute, in order */
	size_t nenv_files;
	bool env_files_given;
};

static void include_spec_release(struct include_spec *s)
{
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	for (size_t i = 0; i < s->nenv_files; i++)
		free(s->env_files[i]);
	free(s->env_files);
	free(s->project_dir);
	memset(s, 0, sizeof(*s));
}

static void push_str(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* A string, or a list of strings, into v (made absolute against dir). */
static int strings_of(const struct cnode *n, const char *what, const char *dir, char ***v,
		      size_t *nv, struct px_error *err)
{
	if (is_text(n)) {
		push_str(v, nv, px_path_abs(dir, n->value));
		return 0;
	}
	if (n->kind != CNODE_SEQ)
		return cnode_error(err, n, "include: '%s' must be a string or a list, got a %s",
				   what, cnode_kind_name(n));
	for (size_t i = 0; i < n->n; i++) {
		if (!is_text(n->items[i]))
			return cnode_error(err, n->items[i],
					   "include: '%s' must list strings, got a %s", what,
					   cnode_kind_name(n->items[i]));
		push_str(v, nv, px_path_abs(dir, n->items[i]->value));
	}
	return 0;
}

/* compose-go's ApplyInclude, up to loading: paths against the including project's
 * directory, project_directory defaulting to the first file's, env_file checked. */
static int include_spec_read(const struct compose_loader *l, const struct cnode *e,
			     struct include_spec *s, struct px_error *err)
{
	const struct cnode *path = e, *pd = NULL, *ef = NULL;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->node = e;
	if (e->kind == CNODE_MAP) {
		path = cnode_map_get(e, "path");
		pd = cnode_map_get(e, "project_directory");
		ef = cnode_map_get(e, "env_file");
		for (size_t i = 0; i < e->n; i++) {
			const char *k = cnode_key(e, i)->value;

			if (strcmp(k, "path") != 0 && strcmp(k, "project_directory") != 0 &&
			    strcmp(k, "env_file") != 0)
				return cnode_error(err, cnode_key(e, i),
						   "include: unknown attribute '%s' (use path, "
						   "project_directory or env_file)",
						   k);
		}
		if (path == NULL)
			return cnode_error(err, e, "include: 'path' is required");
	} else if (!is_text(e)) {
		return cnode_error(err, e,
				   "include: an entry must be a string or a mapping, got a %s",
				   cnode_kind_name(e));
	}
	if (strings_of(path, "path", l->working_dir, &s->paths, &s->npaths, err) < 0)
		return -1;
	if (s->npaths == 0)
		return cnode_error(err, path, "include: 'path' is empty");
	if (is_text(pd))
		s->project_dir = px_path_abs(l->working_dir, pd->value);
	else
		s->project_dir = px_path_dirname(s->paths[0]);
	if (ef != NULL && !cnode_is_null(ef)) {
		char **raw = NULL;
		size_t nraw = 0;
		int ret = 0;

		s->env_files_given = true;
		/* keep them as written first: only relative ones must exist up front */
		if (is_text(ef)) {
			push_str(&raw, &nraw, xstrdup(ef->value));
		} else if (ef->kind == CNODE_SEQ) {
			for (size_t i = 0; i < ef->n; i++)
				if (is_text(ef->items[i]))
					push_str(&raw, &nraw, xstrdup(ef->items[i]->value));
		} else {
			ret =
			    cnode_error(err, ef, "include: 'env_file' must be a string or a list");
		}
		for (size_t i = 0; i < nraw && ret == 0; i++) {
			char *f;

			if (strcmp(raw[i], "/dev/null") == 0)
				continue;
			f = px_path_abs(l->working_dir, raw[i]);
			if (!px_path_is_abs(raw[i])) {
				if (stat(f, &st) < 0)
					ret = cnode_error(err, ef,
							  "include: cannot read env file '%s': %s",
							  f, strerror(errno));
				else if (S_ISDIR(st.st_mode))
					ret = cnode_error(
					    err, ef, "include: env file '%s' is not a file", f);
			}
			if (ret == 0)
				push_str(&s->env_files, &s->nenv_files, f);
			else
				free(f);
		}
		for (size_t i = 0; i < nraw; i++)
			free(raw[i]);
		free(raw);
		if (ret < 0)
			return -1;
	} else {
		char *dotenv = px_path_join(s->project_dir, ".env");

		if (stat(dotenv, &st) == 0 && !S_ISDIR(st.st_mode))
			push_str(&s->env_files, &s->nenv_files, dotenv);
		else
			free(dotenv);
	}
	return 0;
}

/* Resolve `environment: [KEY]` and `KEY: null` entries of an included project with its
 * own variables (the including project's model would look them up in its own). */
static struct cnode *resolve_bare_env(struct cnode_arena *a, const struct cnode *doc,
				      const struct compose_map *vars)
{
	const struct cnode *svcs = cnode_map_get(doc, "services");
	struct cnode *cs = NULL;

	if (svcs == NULL || svcs->kind != CNODE_MAP)
		return (struct cnode *)doc;
	for (size_t i = 0; i < svcs->n; i++) {
		const struct cnode *s = cnode_val(svcs, i), *env = cnode_map_get(s, "environment");
		struct cnode *ne = NULL;

		if (env == NULL)
			continue;
		if (env->kind == CNODE_SEQ) {
			for (size_t j = 0; j < env->n; j++) {
				const struct cnode *it = env->items[j];
				const struct compose_kv *kv;
				char *kvs;

				if (!is_text(it) || strchr(it->value, '=') != NULL)
					continue;
				kv = compose_map_find(vars, it->value);
				if (kv == NULL || kv->value == NULL)
					continue;
				if (ne == NULL)
					ne = cnode_clone(a, env);
				xasprintf(&kvs, "%s=%s", it->value, kv->value);
				ne->items[j] = cnode_new_scalar(a, kvs, true, it->mark);
				free(kvs);
			}
		} else if (env->kind == CNODE_MAP) {
			for (size_t j = 0; j < env->n; j++) {
				const struct compose_kv *kv;

				if (!cnode_is_null(cnode_val(env, j)))
					continue;
				kv = compose_map_find(vars, cnode_key(env, j)->value);
				if (kv == NULL || kv->value == NULL)
					continue;
				if (ne == NULL)
					ne = cnode_clone(a, env);
				ne->items[2 * j + 1] =
				    cnode_new_scalar(a, kv->value, true, cnode_val(env, j)->mark);
			}
		}
		if (ne == NULL)
			continue;
		if (cs == NULL)
			cs = cnode_clone(a, svcs);
		cs->items[2 * i + 1] = map_with(a, s, "environment", ne);
	}
	return cs != NULL ? map_with(a, doc, "services", cs) : (struct cnode *)doc;
}

/* build without a context builds the project directory (compose-go SetDefaultValues),
 * which for an included project is its own. */
static struct cnode *default_build_context(struct cnode_arena *a, const struct cnode *doc)
{
	const struct cnode *svcs = cnode_map_get(doc, "services");
	struct cnode *cs = NULL;

	if (svcs == NULL || svcs->kind != CNODE_MAP)
		return (struct cnode *)doc;
	for (size_t i = 0; i < svcs->n; i++) {
		const struct cnode *s = cnode_val(svcs, i), *b = cnode_map_get(s, "build");

		if (b == NULL || b->kind != CNODE_MAP || cnode_map_get(b, "context") != NULL)
			continue;
		if (cs == NULL)
			cs = cnode_clone(a, svcs);
		cs->items[2 * i + 1] =
		    map_with(a, s, "build",
			     map_with(a, b, "context", cnode_new_scalar(a, ".", false, b->mark)));
	}
	return cs != NULL ? map_with(a, doc, "services", cs) : (struct cnode *)doc;
}

/* Load the project one include: entry names, with its own directory and variables. */
static int include_load(struct compose_loader *l, const char *file, struct include_spec *s,
			struct cnode **out, struct px_error *err)
{
	struct compose_map fromfiles = {0}, vars = {0};
	struct compose_loader_env envdata;
	struct interp_env ienv;
	struct compose_loader child = *l;
	const char **chain = xreallocarray(NULL, l->ninclude_chain + 1, sizeof(*chain));
	struct cnode *tree = cnode_new_map(l->arena, 0, s->node->mark);
	int ret = -1;

	/* the including project's variables win over the included project's .env */
	if (compose_loader_read_env_files(l->environment, s->env_files, s->nenv_files,
					  s->env_files_given, &fromfiles, err) < 0) {
		cnode_error(err, s->node, "%s", px_error_msg(err));
		goto out;
	}
	compose_map_set_all(&vars, l->environment);
	for (size_t i = 0; i < fromfiles.n; i++)
		if (compose_map_find(&vars, fromfiles.v[i].key) == NULL)
			compose_map_set(&vars, fromfiles.v[i].key, fromfiles.v[i].value);
	compose_loader_env_init(&ienv, &envdata, &vars, l->warnings);

	if (l->ninclude_chain > 0)
		memcpy(chain, l->include_chain, l->ninclude_chain * sizeof(*chain));
	chain[l->ninclude_chain] = file;
	child.env = &ienv;
	child.environment = &vars;
	child.working_dir = s->project_dir;
	child.include_chain = chain;
	child.ninclude_chain = l->ninclude_chain + 1;
	for (size_t i = 0; i < s->npaths; i++) {
		if (compose_loader_load_file(&child, s->paths[i], 0, &tree, err) < 0)
			goto out;
	}
	tree = resolve_bare_env(l->arena, tree, &vars);
	tree = default_build_context(l->arena, tree);
	*out = compose_rebase_paths(l->arena, tree, s->project_dir);
	ret = 0;
out:
	free(chain);
	compose_map_release(&fromfiles);
	compose_map_release(&vars);
	return ret;
}

/* A chain of files as "a -> b -> c", for cycle errors. */
static char *chain_str(const char *const *files, size_t n, const char *last)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < n; i++)
		px_buf_addf(&b, "%s -> ", files[i]);
	px_buf_adds(&b, last);
	return px_buf_detach(&b, NULL);
}

static int include_cycle_check(const struct compose_loader *l, const char *file,
			       const struct include_spec *s, struct px_error *err)
{
	bool cycle;
	char *msg;

	if (s->npaths == 0)
		return 0; /* include_spec_read() refuses that already */
	cycle = strcmp(file, s->paths[0]) == 0;

	for (size_t i = 0; i < l->ninclude_chain && !cycle; i++)
		cycle = strcmp(l->include_chain[i], s->paths[0]) == 0;
	if (!cycle)
		return 0;
	{
		const char **all = xreallocarray(NULL, l->ninclude_chain + 1, sizeof(*all));

		if (l->ninclude_chain > 0)
			memcpy(all, l->include_chain, l->ninclude_chain * sizeof(*all));
		all[l->ninclude_chain] = file;
		msg = chain_str(all, l->ninclude_chain + 1, s->paths[0]);
		free(all);
	}
	cnode_error(err, s->node, "include cycle detected: %s", msg);
	free(msg);
	return -1;
}

static const char *const imported_kinds[] = {"services", "volumes", "networks",
					     "secrets",  "configs", "models"};

/* Add the resources of imported to doc; one doc defines differently is a conflict. */
static int import_resources(struct cnode_arena *a, struct cnode **doc, const struct cnode *imported,
			    const char *origin, struct px_error *err)
{
	for (size_t k = 0; k < sizeof(imported_kinds) / sizeof(imported_kinds[0]); k++) {
		const char *kind = imported_kinds[k];
		const struct cnode *from = cnode_map_get(imported, kind), *to;
		struct cnode *merged;
		size_t nnew = 0;

		if (from == NULL || from->kind != CNODE_MAP || from->n == 0)
			continue;
		to = cnode_map_get(*doc, kind);
		if (to != NULL && to->kind != CNODE_MAP && !cnode_is_null(to))
			return cnode_error(err, to, "'%s' must be a mapping, got a %s", kind,
					   cnode_kind_name(to));
		if (to == NULL || cnode_is_null(to))
			to = cnode_new_map(a, 0, from->mark);
		merged = cnode_new_map(a, to->n + from->n, to->mark);
		if (to->n > 0)
			memcpy(merged->items, to->items, 2 * to->n * sizeof(struct cnode *));
		for (size_t i = 0; i < from->n; i++) {
			const struct cnode *key = cnode_key(from, i);
			const struct cnode *mine = NULL, *mykey = NULL;

			for (size_t j = 0; j < to->n && mine == NULL; j++) {
				if (strcmp(cnode_key(to, j)->value, key->value) == 0) {
					mykey = cnode_key(to, j);
					mine = cnode_val(to, j);
				}
			}
			if (mine == NULL) {
				merged->items[2 * (to->n + nnew)] = (struct cnode *)key;
				merged->items[2 * (to->n + nnew) + 1] = cnode_val(from, i);
				nnew++;
				continue;
			}
			/* the same definition reached twice (a diamond) is no conflict */
			if (compose_node_equal(mine, cnode_val(from, i)))
				continue;
			return cnode_error(err, mykey,
					   "%s.%s conflicts with imported resource (from '%s'): "
					   "rename one of them, or change it with an override file",
					   kind, key->value, origin);
		}
		merged->n = to->n + nnew;
		*doc = map_with(a, *doc, kind, merged);
	}
	return 0;
}

int compose_include_apply(struct compose_loader *l, const char *file, struct cnode **doc,
			  struct px_error *err)
{
	const struct cnode *inc = cnode_map_get(*doc, "include");

	if (inc == NULL)
		return 0;
	if (!cnode_is_null(inc) && inc->kind != CNODE_SEQ)
		return cnode_error(err, inc, "'include' must be a list, got a %s",
				   cnode_kind_name(inc));
	for (size_t i = 0; !cnode_is_null(inc) && i < inc->n; i++) {
		struct include_spec s;
		struct cnode *imported;
		int ret;

		ret = include_spec_read(l, inc->items[i], &s, err);
		if (ret == 0)
			ret = include_cycle_check(l, file, &s, err);
		if (ret == 0)
			ret = include_load(l, file, &s, &imported, err);
		if (ret == 0)
			ret = import_resources(l->arena, doc, imported,
					       s.npaths > 0 ? s.paths[0] : "", err);
		include_spec_release(&s);
		if (ret < 0)
			return -1;
	}
	*doc = map_with(l->arena, *doc, "include", NULL);
	l->shared->merged = true;
	return 0;
}

/* ---- extends ---------------------------------------------------------------------------- */

/* A set of services being resolved: one document's, or a file's read for extends.file.
 * services is a private copy whose values are replaced as they get resolved. */
struct svcset {
	const char *file;
	struct cnode *services;
};

struct compose_extends_file {
	char *path;
	struct svcset set;
};

/* The services being resolved, innermost last, for cycle detection. */
struct ext_frame {
	const char *file;
	const char *name;
	const struct ext_frame *up;
	size_t depth;
};

/* Each level of extends is a C stack frame: a chain this long is refused rather than
 * risking the stack (cycles are caught long before). */
#define EXTENDS_MAX_DEPTH 1000

void compose_load_shared_release(struct compose_load_shared *s)
{
	for (size_t i = 0; i < s->nextends_files; i++) {
		free(s->extends_files[i]->path);
		free(s->extends_files[i]);
	}
	free(s->extends_files);
	s->extends_files = NULL;
	s->nextends_files = 0;
}

/* The services of path, read for extends.file once per load (compose-go loads it with
 * include and extends skipped, then rebases its relative paths onto its directory). */
static int extends_file(struct compose_loader *l, const struct cnode *at, const char *path,
			struct svcset **out, struct px_error *err)
{
	struct compose_extends_file *f;
	struct compose_loader child = *l;
	struct cnode *tree;
	const struct cnode *svcs;
	char *dir;

	for (size_t i = 0; i < l->shared->nextends_files; i++) {
		if (strcmp(l->shared->extends_files[i]->path, path) == 0) {
			*out = &l->shared->extends_files[i]->set;
			return 0;
		}
	}
	tree = cnode_new_map(l->arena, 0, at->mark);
	dir = px_path_dirname(path);
	child.working_dir = dir;
	if (compose_loader_load_file(
		&child, path, COMPOSE_LOAD_NO_INCLUDE | COMPOSE_LOAD_NO_EXTENDS, &tree, err) < 0) {
		free(dir);
		return -1;
	}
	tree = compose_rebase_paths(l->arena, tree, dir);
	free(dir);
	svcs = cnode_map_get(tree, "services");
	if (svcs == NULL || svcs->kind != CNODE_MAP)
		return cnode_error(
		    err, at, "cannot extend a service from '%s': it has no services section", path);
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->set.file = cnode_strdup(l->arena, path);
	f->set.services = cnode_clone(l->arena, svcs);
	l->shared->extends_files =
	    xreallocarray(l->shared->extends_files, l->shared->nextends_files + 1,
			  sizeof(struct compose_extends_file *));
	l->shared->extends_files[l->shared->nextends_files++] = f;
	*out = &f->set;
	return 0;
}

static size_t svc_index(const struct svcset *set, const char *name)
{
	for (size_t i = 0; i < set->services->n; i++)
		if (strcmp(cnode_key(set->services, i)->value, name) == 0)
			return i;
	return SIZE_MAX;
}

static int extends_cycle(struct px_error *err, const struct cnode *at, const struct ext_frame *fr,
			 const char *name)
{
	struct px_buf b = PX_BUF_INIT;
	const char **names = NULL;
	size_t n = 0;

	for (; fr != NULL; fr = fr->up) {
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = fr->name;
	}
	for (size_t i = n; i-- > 0;)
		px_buf_addf(&b, "%s -> ", names[i]);
	px_buf_adds(&b, name);
	cnode_error(err, at, "extends cycle: %s", px_buf_cstr(&b));
	px_buf_release(&b);
	free(names);
	return -1;
}

/* Service i of set with its extends resolved (recursively), stored back into set. */
static int extends_resolve(struct compose_loader *l, struct svcset *set, size_t i,
			   const struct ext_frame *up, const struct cnode **out,
			   struct px_error *err)
{
	const char *name = cnode_key(set->services, i)->value;
	const struct cnode *s = cnode_val(set->services, i), *ext, *ref, *file = NULL, *base;
	const char *path[2] = {"services", name};
	struct svcset *from = set;
	struct ext_frame me = {set->file, name, up, up != NULL ? up->depth + 1 : 0};
	struct cnode *merged;
	size_t bi;

	*out = s;
	if (cnode_is_null(s))
		return 0;
	if (s->kind != CNODE_MAP)
		return cnode_error(err, s, "services.%s must be a mapping, got a %s", name,
				   cnode_kind_name(s));
	ext = cnode_map_get(s, "extends");
	if (ext == NULL)
		return 0;
	ref = ext;
	if (ext->kind == CNODE_MAP) {
		ref = cnode_map_get(ext, "service");
		file = cnode_map_get(ext, "file");
		if (!is_text(ref))
			return cnode_error(err, ext, "services.%s.extends: 'service' is required",
					   name);
	} else if (!is_text(ext)) {
		return cnode_error(err, ext,
				   "services.%s.extends must be a string or a mapping, got a %s",
				   name, cnode_kind_name(ext));
	}
	for (const struct ext_frame *f = up; f != NULL; f = f->up)
		if (strcmp(f->name, name) == 0 && strcmp(f->file, set->file) == 0)
			return extends_cycle(err, ext, up, name);
	if (me.depth >= EXTENDS_MAX_DEPTH)
		return cnode_error(err, ext, "services.%s: extends chain longer than %d services",
				   name, EXTENDS_MAX_DEPTH);
	if (file != NULL && is_text(file)) {
		char *p = px_path_abs(l->working_dir, file->value);
		int ret = extends_file(l, file, p, &from, err);

		free(p);
		if (ret < 0)
			return -1;
		bi = svc_index(from, ref->value);
		if (bi == SIZE_MAX)
			return cnode_error(err, ref,
					   "cannot extend service \"%s\": service \"%s\" not found "
					   "in '%s'",
					   name, ref->value, file->value);
	} else {
		bi = svc_index(from, ref->value);
		if (bi == SIZE_MAX)
			return cnode_error(err, ref,
					   "cannot extend service \"%s\": service \"%s\" not found",
					   name, ref->value);
	}
	/* the base is resolved first (its own extends), in the file it comes from */
	if (extends_resolve(l, from, bi, &me, &base, err) < 0)
		return -1;
	if (cnode_is_null(base)) {
		merged = map_with(l->arena, s, "extends", NULL);
	} else {
		if (compose_merge_at(l->arena, base, s, path, 2, &merged, err) < 0)
			return -1;
		merged = map_with(l->arena, merged, "extends", NULL);
	}
	set->services->items[2 * i + 1] = merged;
	*out = merged;
	return 0;
}

int compose_extends_apply(struct compose_loader *l, const char *file, struct cnode **doc,
			  struct px_error *err)
{
	const struct cnode *svcs = cnode_map_get(*doc, "services"), *resolved;
	struct svcset set;
	bool any = false;

	if (svcs == NULL || svcs->kind != CNODE_MAP)
		return 0;
	for (size_t i = 0; i < svcs->n && !any; i++)
		any = cnode_map_get(cnode_val(svcs, i), "extends") != NULL;
	if (!any)
		return 0;
	set.file = file;
	set.services = cnode_clone(l->arena, svcs);
	for (size_t i = 0; i < set.services->n; i++)
		if (extends_resolve(l, &set, i, NULL, &resolved, err) < 0)
			return -1;
	*doc = map_with(l->arena, *doc, "services", set.services);
	l->shared->merged = true;
	return 0;
}
