/* prisync.c - the x-prisync block (DESIGN.md "Configuration"): parsed, defaulted and
 * checked against the services; without the block, the schema and its run-in service,
 * generator and dependent services are detected from the project and its bind mounts. */
#include "compose/model.h"

#include <stdlib.h>
#include <string.h>

#include "compose/cast.h"
#include "compose/node.h"
#include "prisma/prisma.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_DEBOUNCE_NS     (50LL * 1000 * 1000)
#define DEFAULT_DEBOUNCE_MAX_NS (2LL * 1000 * 1000 * 1000)
#define DEFAULT_GENERATE_TIMEOUT_NS (300LL * 1000 * 1000 * 1000)

static const char *const block_keys[] = {"debounce", "debounce-max", "generate-timeout",
					 "schemas"};
static const char *const schema_keys[] = {
    "name",   "schema",  "watch",        "migrations",       "generate",
    "run-in", "restart", "database-url", "database-url-env", "database-secret",
};

/* True when dir is root or below it (both absolute and clean). */
static bool path_within(const char *dir, const char *root)
{
	return px_path_below(dir, root) != NULL;
}

/* The bind mount of s whose source holds dir (the deepest one), or NULL. */
static const struct compose_mount *bind_holding(const struct compose_service *s, const char *dir)
{
	const struct compose_mount *best = NULL;

	for (size_t i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *m = &s->volumes[i];

		if (m->type != COMPOSE_MOUNT_BIND || m->source == NULL ||
		    !path_within(dir, m->source))
			continue;
		if (best == NULL || strlen(m->source) > strlen(best->source))
			best = m;
	}
	return best;
}

/* path as the run-in service sees it: through the bind mount that holds it, or relative
 * to the project directory on the host (absolute when outside it). */
static char *path_for(const struct model_build *b, const struct compose_service *svc,
		      const char *path)
{
	const char *dir = b->ctx->project_dir;
	const struct compose_mount *m = svc != NULL ? bind_holding(svc, path) : NULL;

	if (m != NULL) {
		const char *rest = path + strlen(m->source);
		char *joined, *out;

		if (strcmp(m->source, "/") == 0)
			rest = path;
		joined = px_path_join(m->target, *rest == '/' ? rest + 1 : rest);
		out = px_path_clean(joined);
		free(joined);
		return out;
	}
	if (strcmp(path, dir) == 0)
		return xstrdup(".");
	if (path_within(path, dir))
		return xstrdup(path + strlen(dir) + (strcmp(dir, "/") != 0));
	return xstrdup(path);
}

static const struct compose_service *service_named(const struct compose_project *p, const char *n)
{
	for (size_t i = 0; i < p->nservices; i++) {
		if (strcmp(p->services[i].name, n) == 0)
			return &p->services[i];
	}
	return NULL;
}

/* "app, db, worker" for messages. */
static char *service_list(const struct compose_project *p)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < p->nservices; i++)
		px_buf_addf(&b, "%s%s", i ? ", " : "", p->services[i].name);
	return px_buf_detach(&b, NULL);
}

static int unknown_service(struct model_build *b, const struct cnode *at, const char *where,
			   const char *field, const char *name)
{
	char *list = service_list(b->p);
	int rc;

	if (b->p->nservices == 0)
		rc = compose_model_fail(
		    b, at, where,
		    "%s names service '%s' which does not exist — the project has no services",
		    field, name);
	else
		rc = compose_model_fail(b, at, where,
					"%s names service '%s' which does not exist — services: %s",
					field, name, list);
	free(list);
	return rc;
}

/* Defaults for whatever the schema entry left out (DESIGN.md's zero configuration). */
static void schema_defaults(const struct model_build *b, struct compose_prisync_schema *sc,
			    bool restart_given)
{
	const struct compose_project *p = b->p;
	const struct compose_service *run = NULL;
	char *dir = sc->schema_is_dir ? xstrdup(sc->schema) : px_path_dirname(sc->schema);

	if (sc->run_in == NULL) {
		/* the first service (by name) that sees the schema's directory through a bind */
		for (size_t i = 0; i < p->nservices && run == NULL; i++) {
			if (bind_holding(&p->services[i], dir) != NULL)
				run = &p->services[i];
		}
		sc->run_in = xstrdup(run != NULL ? run->name : "host");
	} else if (strcmp(sc->run_in, "host") != 0) {
		run = service_named(p, sc->run_in);
	}
	if (sc->generate.n == 0) {
		char *where = path_for(b, run, sc->schema);

		compose_strv_push(&sc->generate, "npx");
		compose_strv_push(&sc->generate, "prisma");
		compose_strv_push(&sc->generate, "generate");
		compose_strv_push(&sc->generate, "--schema");
		compose_strv_push(&sc->generate, where);
		free(where);
	}
	if (sc->migrations == NULL)
		sc->migrations = px_path_join(dir, "migrations");
	if (!restart_given) {
		const char *project = b->ctx->project_dir;

		/* services that see the schema (or the whole project) through a bind mount or
		 * their build context: they load the generated client.  A mount of some other
		 * folder of the project (./pgdata, ./init.sql) does not count. */
		for (size_t i = 0; i < p->nservices; i++) {
			const struct compose_service *s = &p->services[i];
			bool uses = false;

			for (size_t k = 0; k < s->nvolumes && !uses; k++) {
				const struct compose_mount *m = &s->volumes[k];

				uses = m->type == COMPOSE_MOUNT_BIND && m->source != NULL &&
				       (path_within(dir, m->source) || path_within(project, m->source));
			}
			if (!uses && s->build != NULL && s->build->context != NULL &&
			    s->build->context[0] == '/')
				uses = path_within(dir, s->build->context) ||
				       path_within(project, s->build->context);
			if (uses)
				compose_strv_push(&sc->restart, s->name);
		}
	}
	if (sc->database_url == NULL && sc->database_url_env == NULL && sc->database_secret == NULL)
		sc->database_url_env = xstrdup("DATABASE_URL");
	free(dir);
}

/* A name for a mark that has no node: the first compose file. */
static struct compose_mark file_mark(struct model_build *b)
{
	struct cnode at;

	memset(&at, 0, sizeof(at));
	at.mark.file = b->p->config_files.n > 0 ? b->p->config_files.v[0] : "";
	at.mark.line = 1;
	at.mark.col = 1;
	return compose_model_mark(b, &at);
}

static struct compose_prisync_schema *add_schema(struct compose_prisync *x)
{
	struct compose_prisync_schema *sc;

	x->schemas = xreallocarray(x->schemas, x->nschemas + 1, sizeof(*x->schemas));
	sc = &x->schemas[x->nschemas++];
	memset(sc, 0, sizeof(*sc));
	return sc;
}

static int detect_schema(struct model_build *b)
{
	struct compose_prisync_schema *sc;
	struct px_error e = PX_ERROR_INIT;
	char *path = NULL;
	bool is_dir = false;
	int rc = prisma_schema_find(b->ctx->project_dir, NULL, &path, &is_dir, &e);

	if (rc < 0) {
		px_error_move(b->err, &e);
		return px_error_wrap(b->err, "x-prisync: cannot detect the Prisma schema");
	}
	if (rc == 1)
		return 0; /* not a Prisma project: nothing to sync, not an error */
	sc = add_schema(&b->p->prisync);
	sc->name = xstrdup("default");
	sc->schema = path;
	sc->schema_is_dir = is_dir;
	sc->detected = true;
	sc->mark = file_mark(b);
	schema_defaults(b, sc, false);
	return 0;
}

static int read_paths(struct model_build *b, const char *where, const char *key,
		      const struct cnode *n, struct compose_strv *out)
{
	struct compose_strv raw = {NULL, 0};

	if (compose_field_strlist(b, where, key, n, true, &raw) < 0) {
		compose_strv_release(&raw);
		return -1;
	}
	for (size_t i = 0; i < raw.n; i++) {
		char *abs = compose_model_abs_path(b, raw.v[i]);

		compose_strv_push(out, abs);
		free(abs);
	}
	compose_strv_release(&raw);
	return 0;
}

static int read_schema(struct model_build *b, const struct cnode *it, size_t index)
{
	struct compose_prisync *x = &b->p->prisync;
	struct compose_prisync_schema *sc = add_schema(x);
	const struct cnode *n, *db_first = NULL;
	static const char *const db_keys[] = {"database-url", "database-url-env",
					      "database-secret"};
	char *where = NULL, *raw = NULL;
	struct px_error e = PX_ERROR_INIT;
	int rc = -1;
	bool is_dir = false;

	sc->mark = compose_model_mark(b, it);
	if (it->kind != CNODE_MAP)
		return compose_model_fail(b, it, "x-prisync",
					  "'schemas' entries must be mappings, got %s",
					  compose_model_kind_word(it));
	if (compose_field_string(b, "x-prisync", "name", cnode_map_get(it, "name"), &sc->name) < 0)
		return -1;
	if (sc->name == NULL)
		sc->name = xstrdup("default");
	for (size_t i = 0; i < index; i++) {
		if (strcmp(x->schemas[i].name, sc->name) == 0) {
			n = cnode_map_get(it, "name");
			return compose_model_fail(
			    b, n != NULL ? n : it, "x-prisync",
			    "schema name '%s' is used twice — give each schema its own 'name'",
			    sc->name);
		}
	}
	xasprintf(&where, "x-prisync schema '%s'", sc->name);
	if (compose_check_keys(b, where, NULL, it, schema_keys, N(schema_keys)) < 0)
		goto out;

	n = cnode_map_get(it, "schema");
	if (compose_field_string(b, where, "schema", n, &raw) < 0)
		goto out;
	if (raw != NULL) {
		/* prisma resolves it against the project; only ~ is ours to expand, and an
		 * error then names the path as the user wrote it */
		char *abs = raw[0] == '~' ? compose_model_abs_path(b, raw) : xstrdup(raw);

		if (prisma_schema_find(b->ctx->project_dir, abs, &sc->schema, &is_dir, &e) < 0) {
			compose_model_fail(b, n, where, "%s", px_error_msg(&e));
			free(abs);
			goto out;
		}
		free(abs);
	} else if (prisma_schema_find(b->ctx->project_dir, NULL, &sc->schema, &is_dir, &e) != 0) {
		compose_model_fail(b, it, where,
				   "no 'schema' given and none found (prisma.config.ts, "
				   "prisma/schema.prisma, schema.prisma)%s%s",
				   px_error_msg(&e)[0] ? ": " : "", px_error_msg(&e));
		goto out;
	}
	sc->schema_is_dir = is_dir;

	if (read_paths(b, where, "watch", cnode_map_get(it, "watch"), &sc->watch) < 0)
		goto out;
	free(raw);
	raw = NULL;
	if (compose_field_string(b, where, "migrations", cnode_map_get(it, "migrations"), &raw) < 0)
		goto out;
	if (raw != NULL)
		sc->migrations = compose_model_abs_path(b, raw);

	n = cnode_map_get(it, "generate");
	{
		bool has = false;

		if (compose_field_command(b, where, "generate", n, &has, &sc->generate) < 0)
			goto out;
		if (has && sc->generate.n == 0) {
			compose_model_fail(b, n, where, "'generate' must not be empty");
			goto out;
		}
	}

	n = cnode_map_get(it, "run-in");
	if (compose_field_string(b, where, "run-in", n, &sc->run_in) < 0)
		goto out;
	if (sc->run_in != NULL && strcmp(sc->run_in, "host") != 0 &&
	    service_named(b->p, sc->run_in) == NULL) {
		unknown_service(b, n, where, "run-in", sc->run_in);
		goto out;
	}

	n = cnode_map_get(it, "restart");
	if (compose_field_strlist(b, where, "restart", n, true, &sc->restart) < 0)
		goto out;
	for (size_t i = 0; i < sc->restart.n; i++) {
		if (service_named(b->p, sc->restart.v[i]) != NULL)
			continue;
		unknown_service(b, n->kind == CNODE_SEQ ? n->items[i] : n, where, "restart",
				sc->restart.v[i]);
		goto out;
	}

	for (size_t i = 0; i < N(db_keys); i++) {
		n = cnode_map_get(it, db_keys[i]);
		if (cnode_is_null(n))
			continue;
		if (db_first != NULL) {
			compose_model_fail(
			    b, n, where,
			    "set only one of database-url, database-url-env and database-secret");
			goto out;
		}
		db_first = n;
	}
	if (compose_field_string(b, where, "database-url", cnode_map_get(it, "database-url"),
				 &sc->database_url) < 0 ||
	    compose_field_string(b, where, "database-url-env",
				 cnode_map_get(it, "database-url-env"), &sc->database_url_env) < 0)
		goto out;
	free(raw);
	raw = NULL;
	if (compose_field_string(b, where, "database-secret", cnode_map_get(it, "database-secret"),
				 &raw) < 0)
		goto out;
	if (raw != NULL)
		sc->database_secret = compose_model_abs_path(b, raw);

	schema_defaults(b, sc, !cnode_is_null(cnode_map_get(it, "restart")));
	rc = 0;
out:
	px_error_clear(&e);
	free(raw);
	free(where);
	return rc;
}

int compose_model_prisync(struct model_build *b, const struct cnode *block)
{
	struct compose_prisync *x = &b->p->prisync;
	const struct cnode *schemas;

	x->debounce_ns = DEFAULT_DEBOUNCE_NS;
	x->debounce_max_ns = DEFAULT_DEBOUNCE_MAX_NS;
	x->generate_timeout_ns = DEFAULT_GENERATE_TIMEOUT_NS;
	if (block == NULL)
		return detect_schema(b);
	x->configured = true;
	if (cnode_is_null(block))
		return detect_schema(b);
	if (block->kind != CNODE_MAP)
		return compose_model_fail(b, block, NULL, "x-prisync must be a mapping, got %s",
					  compose_model_kind_word(block));
	if (compose_check_keys(b, "x-prisync", NULL, block, block_keys, N(block_keys)) < 0 ||
	    compose_field_duration(b, "x-prisync", "debounce", cnode_map_get(block, "debounce"),
				   &x->debounce_ns) < 0 ||
	    compose_field_duration(b, "x-prisync", "debounce-max",
				   cnode_map_get(block, "debounce-max"), &x->debounce_max_ns) < 0 ||
	    compose_field_duration(b, "x-prisync", "generate-timeout",
				   cnode_map_get(block, "generate-timeout"),
				   &x->generate_timeout_ns) < 0)
		return -1;
	if (x->generate_timeout_ns <= 0)
		return compose_model_fail(b, cnode_map_get(block, "generate-timeout"), "x-prisync",
					  "'generate-timeout' must be positive");
	if (x->debounce_ns < 0)
		return compose_model_fail(b, cnode_map_get(block, "debounce"), "x-prisync",
					  "'debounce' must not be negative");
	if (x->debounce_max_ns < x->debounce_ns)
		return compose_model_fail(b,
					  cnode_map_get(block, "debounce-max") != NULL
					      ? cnode_map_get(block, "debounce-max")
					      : cnode_map_get(block, "debounce"),
					  "x-prisync",
					  "'debounce-max' must not be shorter than 'debounce'");
	schemas = cnode_map_get(block, "schemas");
	if (schemas == NULL)
		return detect_schema(b); /* the block only tunes timing */
	if (cnode_is_null(schemas))
		return 0;
	if (schemas->kind != CNODE_SEQ)
		return compose_model_fail(b, schemas, "x-prisync",
					  "'schemas' must be a list, got %s",
					  compose_model_kind_word(schemas));
	for (size_t i = 0; i < schemas->n; i++) {
		if (read_schema(b, schemas->items[i], i) < 0)
			return -1;
	}
	return 0;
}

void compose_prisync_release(struct compose_prisync *x)
{
	for (size_t i = 0; i < x->nschemas; i++) {
		struct compose_prisync_schema *sc = &x->schemas[i];

		free(sc->name);
		free(sc->schema);
		compose_strv_release(&sc->watch);
		free(sc->migrations);
		compose_strv_release(&sc->generate);
		free(sc->run_in);
		compose_strv_release(&sc->restart);
		free(sc->database_url);
		free(sc->database_url_env);
		free(sc->database_secret);
	}
	free(x->schemas);
	memset(x, 0, sizeof(*x));
}
