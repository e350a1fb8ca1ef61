/* dbconn.c - reaching a schema's database, shared by db-check and migrate: its URL, the
 * route to a compose service it names, libpq's parameters, the probe; and the rows of
 * _prisma_migrations read back as prisma/ models them. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "db/db.h"
#include "prisma/prisma.h"

void cmd_db_ctx_release(struct cmd_db_ctx *cx)
{
	if (cx == NULL)
		return;
	engine_free(cx->engine);
	cx->engine = NULL;
	cx->engine_tried = false;
}

/* The routes to compose services the URL's hosts name: from the running containers first
 * (ephemeral ports, container addresses), then what compose.yaml alone says. */
static void route_services(struct cmd_db_ctx *cx, const struct db_url *u, struct db_host_map *map)
{
	for (size_t i = 0; i < u->nhosts; i++) {
		const char *name = u->hosts[i].name;
		unsigned port = u->hosts[i].port != 0 ? u->hosts[i].port : 5432;
		struct px_error err = PX_ERROR_INIT;
		char *host = NULL;
		int hport = 0;

		if (compose_project_service(cx->p, name) == NULL)
			continue;
		if (!cx->engine_tried) {
			cx->engine_tried = true;
			if (engine_open(&cx->engine, NULL, &err) < 0 ||
			    engine_ping(cx->engine, &err) < 0) {
				px_debug("no engine to find service '%s': %s", name,
					 px_error_msg(&err));
				engine_free(cx->engine);
				cx->engine = NULL;
				px_error_clear(&err);
			}
		}
		if (cx->engine != NULL &&
		    stack_service_address(cx->engine, cx->p->name, name, (int)port, &host, &hport,
					  &err) == 0)
			db_host_map_add(map, name, port, host, (unsigned)hport);
		px_error_clear(&err);
		free(host);
	}
	db_host_map_add_compose(map, cx->p);
}

int cmd_db_target(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		  struct cmd_db_target *t, struct px_error *err)
{
	struct db_url u = {0};
	struct db_host_map map = {0};
	char *dir = NULL;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (db_url_resolve(cx->p, sc, &t->url, &t->where, NULL, err) < 0)
		goto out;
	t->masked = db_url_mask(t->url);
	if (db_url_parse(t->url, &u, err) < 0)
		goto out;
	/* Prisma's schema= (the connection's search_path); public by default */
	t->schema = xstrdup(db_url_param(&u, "schema") ?: "public");
	t->session_sql = db_url_session_sql(&u);
	route_services(cx, &u, &map);
	dir = sc->schema_is_dir ? xstrdup(sc->schema) : px_path_dirname(sc->schema);
	if (db_url_conninfo(&u, &map, dir, &t->keys, &t->values, err) < 0)
		goto out;
	rc = 0;
out:
	db_host_map_release(&map);
	db_url_release(&u);
	free(dir);
	return rc;
}

void cmd_db_target_release(struct cmd_db_target *t)
{
	if (t == NULL)
		return;
	db_conninfo_free(t->keys, t->values);
	free(t->url);
	free(t->where);
	free(t->masked);
	free(t->schema);
	free(t->session_sql);
	memset(t, 0, sizeof(*t));
}

int cmd_db_session(struct db_conn *c, const struct cmd_db_target *t, struct px_error *err)
{
	if (t->session_sql == NULL || db_exec(c, t->session_sql, err) == 0)
		return 0;
	px_error_wrap(err, "database %s: setting the schema's search_path", t->masked);
	return -1;
}

int cmd_db_open(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		const struct db_probe_opts *o, struct cmd_db_target *t, struct db_conn **out,
		struct px_error *err)
{
	struct db_probe pr = {0};
	int rc = -1;

	*out = NULL;
	if (cmd_db_target(cx, sc, t, err) < 0)
		goto out;
	if (db_probe(out, (const char *const *)t->keys, (const char *const *)t->values, o, &pr) <
	    0) {
		char *msg = pr.error != NULL ? px_mask_urls(pr.error) : xstrdup("cannot connect");
		char *explain = db_failure_explain(pr.failure, t->keys, t->values);

		px_error_set(err, 0, "database %s (%s) cannot be reached: %s%s%s", t->masked,
			     t->where, msg, explain[0] != '\0' ? " — " : "", explain);
		free(msg);
		free(explain);
		goto out;
	}
	if (cmd_db_session(*out, t, err) < 0) {
		db_close(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	db_probe_release(&pr);
	return rc;
}

/* _prisma_migrations as rows (oldest first), aliased so that every column has a name. */
static const char list_rows_sql[] =
    "SELECT id, migration_name, checksum, logs, "
    "(extract(epoch FROM started_at) * 1000000)::bigint AS started_us, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint AS finished_us, "
    "(extract(epoch FROM rolled_back_at) * 1000000)::bigint AS rolled_back_us, "
    "applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC";

static char *dup_field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));

	return v != NULL ? xstrdup(v) : NULL;
}

static int64_t us_field(const json_t *row, const char *key)
{
	const char *v = json_string_value(json_object_get(row, key));

	return v != NULL ? strtoll(v, NULL, 10) * 1000 : 0;
}

static struct prisma_migration_row *rows_from_json(const json_t *rows, size_t *n)
{
	struct prisma_migration_row *v = xcalloc(json_array_size(rows) + 1, sizeof(*v));
	const json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
	{
		v[i].id = dup_field(r, "id");
		v[i].name = dup_field(r, "migration_name");
		v[i].checksum = dup_field(r, "checksum");
		v[i].logs = dup_field(r, "logs");
		v[i].started_at_ns = us_field(r, "started_us");
		v[i].finished_at_ns = us_field(r, "finished_us");
		v[i].rolled_back_at_ns = us_field(r, "rolled_back_us");
		v[i].finished = json_is_string(json_object_get(r, "finished_us"));
		v[i].rolled_back = json_is_string(json_object_get(r, "rolled_back_us"));
		v[i].applied_steps = (int)strtol(
		    json_string_value(json_object_get(r, "applied_steps_count")) ?: "0", NULL, 10);
	}
	*n = json_array_size(rows);
	return v;
}

int cmd_db_migration_rows(struct db_conn *c, bool *has_table, struct prisma_migration_row **rows,
			  size_t *n, struct px_error *err)
{
	json_t *jrows = NULL;
	char *managed = NULL;
	int rc = -1;

	*rows = NULL;
	*n = 0;
	*has_table = false;
	/* the table lives where search_path (the URL's schema=) points */
	if (db_query_value(c, "SELECT to_regclass('_prisma_migrations') IS NOT NULL", 0, NULL,
			   &managed, err) < 0)
		goto out;
	*has_table = managed != NULL && managed[0] == 't';
	if (*has_table) {
		if (db_query_json(c, list_rows_sql, 0, NULL, &jrows, err) < 0)
			goto out;
		*rows = rows_from_json(jrows, n);
	}
	rc = 0;
out:
	json_decref(jrows);
	free(managed);
	return rc;
}
