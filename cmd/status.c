/* status.c - `prisync status`: the one screen that says whether the environment is in
 * sync -- the services, each schema's client, last sync, database and git state, the
 * supervisor -- and, for every problem, the command that fixes it. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/path.h"
#include "cmd/cmd.h"
#include "db/db.h"
#include "supervisor/supervisor.h"
#include "vcs/vcs.h"

/*
 * What a status run gathers; doc is what --json prints.  The slow parts run at once on
 * threads of their own, each writing only its own fields: the services (engine calls),
 * the databases (libpq loads, connects) and git (libgit2 loads).
 */
struct status {
	const struct compose_project *p;
	struct engine *engine; /* NULL when the engine does not answer */
	json_t *sup;           /* the supervisor's status answer, or NULL */
	json_t *doc;
	json_t *problems; /* [{scope, problem, run}] (in doc) */
	json_t *svc, *svc_problems; /* the services thread's: {services, engineError}, problems */
	json_t *db_problems, *dbs; /* the database thread's: problems, and one object a schema */
	json_t *git;               /* the git thread's: {branch, commit, detached, schemas} */
	json_t *clients, *client_problems; /* the clients thread's: one object a schema */
	bool json;
};

static void add_problem(json_t *problems, const char *scope, const char *what, const char *run)
{
	json_array_append_new(problems,
			      json_pack("{s:s,s:s,s:s?}", "scope", scope, "problem", what, "run", run));
}

static void problem(struct status *st, const char *scope, const char *what, const char *run)
{
	add_problem(st->problems, scope, what, run);
}

/* "2025-01-02T03:04:05.678Z" (the supervisor's job times) as unix seconds; 0 when not. */
static time_t parse_time(const char *s)
{
	struct tm tm = {0};

	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/* ---- the supervisor -------------------------------------------------------------------- */

static void supervisor_section(struct status *st)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *o = json_object(), *req = NULL;
	int fd = -1, rc;

	rc = sup_client_connect(st->p->name, &fd, &err);
	if (rc == 0) {
		req = json_pack("{s:s}", "op", "status");
		if (sup_client_call(fd, req, &st->sup, &err) < 0 ||
		    !json_is_true(json_object_get(st->sup, "ok"))) {
			json_decref(st->sup);
			st->sup = NULL;
			rc = -1;
		}
	}
	json_object_set_new(o, "running", json_boolean(st->sup != NULL));
	if (st->sup != NULL) {
		json_object_set(o, "pid", json_object_get(st->sup, "pid"));
		json_object_set(o, "uptimeMs", json_object_get(st->sup, "uptime_ms"));
		json_object_set(o, "watches", json_object_get(st->sup, "watches"));
		json_object_set(o, "jobs", json_object_get(st->sup, "jobs"));
	} else if (rc < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		problem(st, "supervisor", px_error_msg(&err),
			"prisync down && prisync up -d (restarts the supervisor)");
	}
	json_object_set_new(st->doc, "supervisor", o);
	json_decref(req);
	if (fd >= 0)
		close(fd);
	px_error_clear(&err);
}

/* ---- the services ---------------------------------------------------------------------- */

/* One container of the project: its row of `ps` plus what only inspect knows. */
static json_t *container_json(struct status *st, const json_t *row, time_t now)
{
	struct px_error err = PX_ERROR_INIT;
	const char *id = json_string_value(json_object_get(row, "ID"));
	json_t *info = NULL, *o;
	time_t started = 0;
	json_int_t restarts = 0;

	if (id != NULL && engine_container_inspect(st->engine, id, &info, &err) == 0) {
		json_t *state = json_object_get(info, "State");

		restarts = json_integer_value(json_object_get(info, "RestartCount"));
		started = parse_time(json_string_value(json_object_get(state, "StartedAt")));
	}
	o = json_pack("{s:O?,s:O?,s:O?,s:O?,s:I,s:O?}", "name", json_object_get(row, "Name"), "state",
		      json_object_get(row, "State"), "health", json_object_get(row, "Health"),
		      "status", json_object_get(row, "Status"), "restarts", restarts, "ports",
		      json_object_get(row, "Ports"));
	json_object_set_new(o, "uptimeS",
			    started > 0 && strcmp(json_string_value(json_object_get(row, "State")) ?: "",
						  "running") == 0
				? json_integer(now - started)
				: json_null());
	json_decref(info);
	px_error_clear(&err);
	return o;
}

/* Whether a service is a one-shot job: another one waits for it to complete successfully
 * (compose's migrator pattern), so exited with 0 is where it should be. */
static bool one_shot(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++) {
		for (size_t k = 0; k < p->services[i].ndepends_on; k++) {
			const struct compose_dep *d = &p->services[i].depends_on[k];

			if (strcmp(d->service, name) == 0 &&
			    d->condition == COMPOSE_DEP_COMPLETED)
				return true;
		}
	}
	return false;
}

/* The services thread: the engine's view of every service (st->services, st->svc_problems,
 * st->engine, st->engine_error). */
static void *services_thread(void *arg)
{
	struct status *st = arg;
	struct px_error err = PX_ERROR_INIT;
	struct stack *stack = NULL;
	json_t *rows = NULL, *services = json_array();
	time_t now = time(NULL);

	if (engine_open(&st->engine, NULL, &err) < 0 || engine_ping(st->engine, &err) < 0) {
		engine_free(st->engine);
		st->engine = NULL;
		json_object_set_new(st->svc, "engineError", json_string(px_error_msg(&err)));
		add_problem(st->svc_problems, "engine", px_error_msg(&err),
			"start the Docker engine (or set DOCKER_HOST), then prisync up -d");
		goto out;
	}
	if (stack_open(&stack, st->engine, st->p, NULL, &err) < 0 ||
	    stack_ps(stack, true, NULL, 0, &rows, &err) < 0) {
		json_object_set_new(st->svc, "engineError", json_string(px_error_msg(&err)));
		add_problem(st->svc_problems, "engine", px_error_msg(&err), NULL);
		goto out;
	}
	for (size_t i = 0; i < st->p->nservices; i++) {
		const char *name = st->p->services[i].name;
		json_t *containers = json_array(), *row;
		size_t k;

		json_array_foreach(rows, k, row)
		{
			const char *svc = json_string_value(json_object_get(row, "Service"));
			const char *state = json_string_value(json_object_get(row, "State"));
			const char *health = json_string_value(json_object_get(row, "Health"));
			char *what = NULL, *run = NULL;

			if (svc == NULL || strcmp(svc, name) != 0)
				continue;
			json_array_append_new(containers, container_json(st, row, now));
			if (state != NULL && strcmp(state, "running") != 0 &&
			    json_integer_value(json_object_get(row, "ExitCode")) != 0) {
				xasprintf(&what, "%s is %s (exit code %lld)",
					  json_string_value(json_object_get(row, "Name")), state,
					  (long long)json_integer_value(
					      json_object_get(row, "ExitCode")));
				xasprintf(&run, "prisync logs %s; then prisync up -d", name);
			} else if (state != NULL && strcmp(state, "running") != 0 &&
				   !(strcmp(state, "exited") == 0 && one_shot(st->p, name))) {
				xasprintf(&what, "%s is %s",
					  json_string_value(json_object_get(row, "Name")), state);
				xasprintf(&run, "prisync up -d");
			} else if (health != NULL && strcmp(health, "unhealthy") == 0) {
				xasprintf(&what, "%s is unhealthy",
					  json_string_value(json_object_get(row, "Name")));
				xasprintf(&run, "prisync logs %s", name);
			}
			if (what != NULL)
				add_problem(st->svc_problems, name, what, run);
			free(what);
			free(run);
		}
		if (json_array_size(containers) == 0)
			add_problem(st->svc_problems, name, "no container", "prisync up -d");
		json_array_append_new(services, json_pack("{s:s,s:o}", "name", name, "containers",
							  containers));
	}
out:
	json_object_set_new(st->svc, "services", services);
	json_decref(rows);
	stack_free(stack);
	px_error_clear(&err);
	return NULL;
}

/* ---- the schemas ----------------------------------------------------------------------- */

/* The running supervisor's object of schema in its status answer (borrowed), or NULL. */
static json_t *sup_schema(const struct status *st, const char *schema)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(st->sup, "schemas"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));

		if (name != NULL && strcmp(name, schema) == 0)
			return s;
	}
	return NULL;
}

/* The database of the project's schema i as the running supervisor answered it, or NULL. */
static json_t *sup_db(const struct status *st, size_t i)
{
	return json_object_get(sup_schema(st, st->p->prisync.schemas[i].name), "database");
}

/* The schema's last sync: the running supervisor's, else the one recorded on disk. */
static json_t *last_sync(struct status *st, json_t *saved, const char *schema)
{
	json_t *job = json_object_get(sup_schema(st, schema), "last_job");

	if (!json_is_object(job))
		job = json_object_get(saved, schema);
	return json_is_object(job) ? json_incref(job) : NULL;
}

static void sync_part(struct status *st, const struct compose_prisync_schema *sc, json_t *saved,
		      json_t *o)
{
	json_t *job = last_sync(st, saved, sc->name);
	const char *state = json_string_value(json_object_get(job, "state"));

	if (job == NULL) {
		json_object_set_new(o, "lastSync", json_null());
		return;
	}
	if (state != NULL && strcmp(state, "failed") == 0) {
		char *what = NULL, *run = NULL;

		xasprintf(&what, "the last sync failed: %s",
			  json_string_value(json_object_get(job, "error")) ?: "see its output");
		xasprintf(&run, "fix the schema, then prisync sync %s", sc->name);
		problem(st, sc->name, what, run);
		free(what);
		free(run);
	}
	json_object_set_new(o, "lastSync", job);
}

/* A recommendation is a sentence that ends in "— run `cmd` ..." or similar: the first
 * backquoted command, else the whole sentence (owned). */
static char *command_in(const char *rec)
{
	const char *a = strchr(rec, '`'), *b = a != NULL ? strchr(a + 1, '`') : NULL;

	return b != NULL ? xstrndup(a + 1, (size_t)(b - a - 1)) : xstrdup(rec);
}

/* One schema's database: its problem, if any, and its object appended to st->dbs. */
static void db_result(struct status *st, const struct compose_prisync_schema *sc, json_t *db)
{
	int rc = json_is_true(json_object_get(db, "ok"))			? 0
		 : json_is_false(json_object_get(db, "reachable"))		? 2
										: 1;

	if (rc != 0) {
		const char *rec = json_string_value(json_object_get(db, "recommendation"));
		const char *error = json_string_value(json_object_get(db, "error"));
		char *run = command_in(rec != NULL ? rec : "`prisync db-check`");
		char *what = NULL;

		xasprintf(&what, "%s: %s",
			  rc == 2 ? "the database cannot be reached" : "the database needs action",
			  rec != NULL ? rec : error != NULL ? error : "see prisync db-check");
		add_problem(st->db_problems, sc->name, what, run);
		free(what);
		free(run);
	}
	json_array_append(st->dbs, db);
}

/* The databases thread: db-check of every schema, quietly -- unless the supervisor
 * answered for them (it keeps connections open: no libpq here, no connection set-up). */
static void *db_thread(void *arg)
{
	struct status *st = arg;
	struct cmd_db_ctx cx = {.p = st->p};
	/* one attempt, no back-off: status answers now; db-check waits for a database */
	const struct db_probe_opts probe = {1, 2, 2000};

	for (size_t i = 0; i < st->p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &st->p->prisync.schemas[i];
		json_t *db = json_object();

		cmd_db_check_one(&cx, sc, &probe, db);
		db_result(st, sc, db);
		json_decref(db);
	}
	cmd_db_ctx_release(&cx);
	return NULL;
}

/* The clients thread: is every schema's generated client the schema's? */
static void *clients_thread(void *arg)
{
	struct status *st = arg;
	struct engine *e = NULL;
	struct px_error err = PX_ERROR_INIT;

	for (size_t i = 0; i < st->p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &st->p->prisync.schemas[i];
		struct stack_client_report r = {0};
		char *what = NULL, *run = NULL;

		/* an engine only for a client that may live in a container */
		if (e == NULL && strcmp(sc->run_in, "host") != 0 && engine_open(&e, NULL, &err) < 0)
			px_error_clear(&err);
		if (stack_client_check(e, st->p, sc, &r, &err) < 0) {
			/* no client generator: no client to be stale */
			bool none = err.errnum == ENOENT;

			json_array_append_new(
			    st->clients,
			    json_pack("{s:s,s:s}", "state", none ? "none" : "unknown",
				      none ? "reason" : "error",
				      none ? "the schema has no prisma-client-js or prisma-client "
					     "generator: no client to check"
					   : px_error_msg(&err)));
			if (!none)
				add_problem(st->client_problems, sc->name, px_error_msg(&err), NULL);
			px_error_clear(&err);
			continue;
		}
		json_array_append_new(st->clients, stack_client_report_json(&r));
		switch (r.state) {
		case PRISMA_CLIENT_FRESH:
			break;
		case PRISMA_CLIENT_STALE:
			xasprintf(&what, "the generated client is stale: %s",
				  r.difference != NULL ? r.difference : "the schema changed");
			break;
		case PRISMA_CLIENT_MISSING:
			xasprintf(&what, "no generated client: %s",
				  r.reason != NULL ? r.reason : "never generated");
			break;
		case PRISMA_CLIENT_VERSION_SKEW:
			xasprintf(&what, "the client was generated by another Prisma: %s",
				  r.reason != NULL ? r.reason : "version differs");
			break;
		}
		if (what != NULL) {
			if (r.where != NULL && strstr(r.where, "not running") != NULL)
				run = xstrdup("prisync up -d");
			else
				xasprintf(&run, "prisync sync %s", sc->name);
			add_problem(st->client_problems, sc->name, what, run);
		}
		free(what);
		free(run);
		stack_client_report_release(&r);
	}
	engine_free(e);
	return NULL;
}

static const char *vcs_status_name(enum vcs_status v)
{
	static const char *const names[] = {"clean", "modified", "untracked", "ignored"};

	return names[v];
}

/* One schema's files as git sees them: {schema, migrations, untrackedMigrations}. */
static json_t *git_schema(struct vcs_repo *repo, const struct compose_prisync_schema *sc)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_path_state a = {0}, b = {0};
	json_t *o = json_object(), *untracked = json_array();

	if (vcs_path_status(repo, sc->schema, &a, &err) < 0 ||
	    vcs_path_status(repo, sc->migrations, &b, &err) < 0) {
		json_object_set_new(o, "error", json_string(px_error_msg(&err)));
		goto out;
	}
	json_object_set_new(o, "schema", json_string(vcs_status_name(a.status)));
	json_object_set_new(o, "migrations", json_string(vcs_status_name(b.status)));
	for (size_t i = 0; i < b.nuntracked_dirs; i++)
		json_array_append_new(untracked, json_string(b.untracked_dirs[i]));
out:
	json_object_set_new(o, "untrackedMigrations", untracked);
	vcs_path_state_release(&a);
	vcs_path_state_release(&b);
	px_error_clear(&err);
	return o;
}

/* The git thread: HEAD and the state of every schema's files. */
static void *git_thread(void *arg)
{
	struct status *st = arg;
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *repo = NULL;
	struct vcs_head h;

	if (!vcs_in_work_tree(st->p->working_dir))
		return NULL;
	if (vcs_open(&repo, st->p->working_dir, &err) != 0 || vcs_head(repo, &h, &err) < 0) {
		if (px_error_msg(&err)[0] != '\0')
			st->git = json_pack("{s:s}", "error", px_error_msg(&err));
		goto out;
	}
	st->git = json_pack("{s:s?,s:s?,s:b}", "branch", h.detached ? NULL : h.branch, "commit",
			    h.oid[0] != '\0' ? h.oid : NULL, "detached", h.detached);
	{
		json_t *schemas = json_array();

		for (size_t i = 0; i < st->p->prisync.nschemas; i++)
			json_array_append_new(schemas, git_schema(repo, &st->p->prisync.schemas[i]));
		json_object_set_new(st->git, "schemas", schemas);
	}
out:
	vcs_free(repo);
	px_error_clear(&err);
	return NULL;
}

static void schemas_section(struct status *st)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *schemas = json_array(), *saved = NULL;

	if (st->sup == NULL && sup_last_sync_load(st->p->name, &saved, &err) < 0) {
		px_warn("%s", px_error_msg(&err));
		px_error_clear(&err);
	}
	if (st->git != NULL) {
		json_t *move = json_object_get(json_object_get(st->sup, "git"), "last_move");

		/* the supervisor saw the branch switches: the last one, what it changed */
		if (json_is_object(move))
			json_object_set(st->git, "lastHeadMove", move);
		json_object_set(st->doc, "git", st->git);
	}
	for (size_t i = 0; i < st->p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &st->p->prisync.schemas[i];
		const char *rel = px_path_below(sc->schema, st->p->working_dir);
		json_t *o = json_pack("{s:s,s:s}", "name", sc->name, "schema",
				      rel != NULL && rel[0] != '\0' ? rel : sc->schema);

		json_object_set(o, "client", json_array_get(st->clients, i));
		if (st->git != NULL)
			json_object_set(o, "git",
					json_array_get(json_object_get(st->git, "schemas"), i));
		sync_part(st, sc, saved, o);
		json_object_set(o, "database", json_array_get(st->dbs, i));
		json_array_append_new(schemas, o);
	}
	json_array_extend(st->problems, st->client_problems);
	json_array_extend(st->problems, st->db_problems);
	json_object_set_new(st->doc, "schemas", schemas);
	json_decref(saved);
}

/* ---- the screen ------------------------------------------------------------------------ */

static char *ago(time_t then)
{
	char *d = stack_human_duration((int64_t)(time(NULL) - then)), *s;

	xasprintf(&s, "%s ago", d);
	free(d);
	return s;
}

static void print_supervisor(const json_t *sv)
{
	const json_t *jobs = json_object_get(sv, "jobs");

	if (!json_is_true(json_object_get(sv, "running"))) {
		printf("supervisor  not running — schema edits are not synced until `prisync up -d`"
		       " (or `prisync watch`)\n");
		return;
	}
	{
		char *up = stack_human_duration(json_integer_value(json_object_get(sv, "uptimeMs")) /
						1000);

		printf("supervisor  running, pid %lld, up %s, %lld watches, ",
		       (long long)json_integer_value(json_object_get(sv, "pid")), up,
		       (long long)json_integer_value(json_object_get(sv, "watches")));
		free(up);
	}
	if (json_array_size(jobs) == 0)
		printf("idle\n");
	else
		printf("%zu job%s running or queued\n", json_array_size(jobs),
		       json_array_size(jobs) > 1 ? "s" : "");
}

/* An uptime for a table cell: "42s", "5m", "3h 20m", "2d 4h". */
static void compact_duration(int64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static void print_services(const json_t *services)
{
	const json_t *svc, *c;
	size_t i, k;

	printf("\n%-16s %-10s %-10s %-8s %-8s %s\n", "SERVICE", "STATE", "HEALTH", "UPTIME",
	       "RESTARTS", "PORTS");
	json_array_foreach(services, i, svc)
	{
		const char *name = json_string_value(json_object_get(svc, "name"));
		const json_t *cs = json_object_get(svc, "containers");

		if (json_array_size(cs) == 0)
			printf("%-16s %-10s\n", name, "-");
		json_array_foreach(cs, k, c)
		{
			const char *health = json_string_value(json_object_get(c, "health"));
			const json_t *up = json_object_get(c, "uptimeS");
			char upt[32] = "-";

			if (json_is_integer(up))
				compact_duration(json_integer_value(up), upt, sizeof(upt));

			printf("%-16s %-10s %-10s %-8s %-8lld %s\n", name,
			       json_string_value(json_object_get(c, "state")) ?: "",
			       health != NULL && health[0] != '\0' ? health : "-", upt,
			       (long long)json_integer_value(json_object_get(c, "restarts")),
			       json_string_value(json_object_get(c, "ports")) ?: "");
		}
	}
}

static void print_client(const json_t *c)
{
	const char *state = json_string_value(json_object_get(c, "state"));
	const char *client = json_string_value(json_object_get(c, "client"));
	const char *where = json_string_value(json_object_get(c, "where"));
	const char *why = json_string_value(json_object_get(c, "difference"))
			      ?: json_string_value(json_object_get(c, "reason"))
			      ?: json_string_value(json_object_get(c, "error"));

	printf("  client     %s", state != NULL ? state : "?");
	if (why != NULL)
		printf(" — %s", why);
	if (client != NULL)
		printf(" (%s%s%s)", client, where != NULL ? " on " : "", where != NULL ? where : "");
	printf("\n");
}

static void print_sync(const json_t *job)
{
	const char *finished = json_string_value(json_object_get(job, "finished_at"));
	const json_t *triggers = json_object_get(job, "triggers"), *t;
	const json_t *ms = json_object_get(job, "duration_ms");
	size_t i;

	if (job == NULL || json_is_null(job)) {
		printf("  last sync  none recorded\n");
		return;
	}
	printf("  last sync  %s", json_string_value(json_object_get(job, "state")) ?: "?");
	if (finished != NULL) {
		char *a = ago(parse_time(finished));

		printf(" %s", a);
		free(a);
	}
	if (json_is_integer(ms))
		printf(" in %.1f s", (double)json_integer_value(ms) / 1000);
	json_array_foreach(triggers, i, t) printf("%s%s", i == 0 ? ", by " : " ",
						  json_string_value(t));
	printf("\n");
}

static void print_database(const json_t *db)
{
	static const char *const keys[] = {"appliedMigrations", "pendingMigrations",
					   "failedMigrations", "modifiedMigrations",
					   "missingLocally"};
	static const char *const words[] = {"applied", "pending", "failed", "modified",
					    "missing locally"};
	const char *url = json_string_value(json_object_get(db, "url"));
	bool first = true;

	if (!json_is_true(json_object_get(db, "reachable"))) {
		printf("  database   %s: not reachable (%s)\n", url != NULL ? url : "?",
		       json_string_value(json_object_get(db, "failure")) ?:
		       json_string_value(json_object_get(db, "error")) ?: "?");
		return;
	}
	printf("  database   %s: PostgreSQL %s", url != NULL ? url : "?",
	       json_string_value(json_object_get(db, "serverVersion")) ?: "?");
	if (!json_is_true(json_object_get(db, "managed"))) {
		printf(", not managed by Prisma Migrate\n");
		return;
	}
	printf("; migrations");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = json_array_size(json_object_get(db, keys[i]));

		if (n == 0)
			continue;
		printf("%s %zu %s", first ? "" : ",", n, words[i]);
		first = false;
	}
	printf("%s\n", first ? " none" : "");
}

/* Names of a JSON array of strings, space-separated, into a buffer. */
static void names_into(struct px_buf *b, const json_t *names)
{
	const json_t *v;
	size_t i;

	json_array_foreach(names, i, v) px_buf_addf(b, "%s%s", i > 0 ? " " : "",
						    json_string_value(v));
}

static void print_git(const json_t *g, const json_t *move, const char *schema)
{
	const json_t *untracked = json_object_get(g, "untrackedMigrations"), *s;
	struct px_buf line = PX_BUF_INIT;
	size_t i;

	if (g == NULL)
		return;
	if (json_object_get(g, "error") != NULL) {
		printf("  git        %s\n", json_string_value(json_object_get(g, "error")));
		return;
	}
	px_buf_addf(&line, "schema %s, migrations %s",
		    json_string_value(json_object_get(g, "schema")),
		    json_string_value(json_object_get(g, "migrations")));
	if (json_array_size(untracked) > 0) {
		px_buf_adds(&line, "; never committed: ");
		names_into(&line, untracked);
	}
	printf("  git        %s\n", px_buf_cstr(&line));
	px_buf_reset(&line);
	/* what the last branch switch did to this schema */
	json_array_foreach(json_object_get(move, "schemas"), i, s)
	{
		const json_t *added = json_object_get(s, "migrationsAdded");
		const json_t *removed = json_object_get(s, "migrationsRemoved");
		const char *to = json_string_value(json_object_get(move, "branch"));

		if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", schema) != 0)
			continue;
		px_buf_addf(&line, "to %s: schema %s", to != NULL ? to : "a detached HEAD",
			    json_is_true(json_object_get(s, "schemaChanged")) ? "changed"
									       : "unchanged");
		if (json_array_size(added) > 0) {
			px_buf_adds(&line, "; migrations added: ");
			names_into(&line, added);
		}
		if (json_array_size(removed) > 0) {
			px_buf_adds(&line, "; migrations this branch lacks: ");
			names_into(&line, removed);
		}
		printf("  checkout   %s\n", px_buf_cstr(&line));
	}
	px_buf_release(&line);
}

static void print_screen(const struct status *st)
{
	const json_t *git = json_object_get(st->doc, "git"), *s, *pr;
	size_t i;

	printf("project     %s (%s)", st->p->name, st->p->working_dir);
	if (git != NULL) {
		const char *branch = json_string_value(json_object_get(git, "branch"));
		const char *commit = json_string_value(json_object_get(git, "commit"));

		printf(", git %s%s%.7s", branch != NULL ? branch : "detached HEAD",
		       commit != NULL ? " @ " : "", commit != NULL ? commit : "");
	}
	printf("\n");
	print_supervisor(json_object_get(st->doc, "supervisor"));
	if (st->engine != NULL)
		print_services(json_object_get(st->doc, "services"));
	json_array_foreach(json_object_get(st->doc, "schemas"), i, s)
	{
		printf("\nschema %s (%s)\n", json_string_value(json_object_get(s, "name")),
		       json_string_value(json_object_get(s, "schema")));
		print_client(json_object_get(s, "client"));
		print_sync(json_object_get(s, "lastSync"));
		print_database(json_object_get(s, "database"));
		print_git(json_object_get(s, "git"), json_object_get(git, "lastHeadMove"),
			  json_string_value(json_object_get(s, "name")));
	}
	printf("\n");
	if (json_array_size(st->problems) == 0) {
		printf("everything is in sync\n");
		return;
	}
	printf("%zu problem%s:\n", json_array_size(st->problems),
	       json_array_size(st->problems) > 1 ? "s" : "");
	json_array_foreach(st->problems, i, pr)
	{
		const char *run = json_string_value(json_object_get(pr, "run"));

		printf("  %s: %s\n", json_string_value(json_object_get(pr, "scope")),
		       json_string_value(json_object_get(pr, "problem")));
		if (run != NULL)
			printf("    run: %s\n", run);
	}
}

static int status_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct status st = {0};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			st.json = true;
			break;
		case 'h':
			fputs(cmd_status.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_status, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_status, "unexpected argument '%s'", argv[optind]);
	if (cmd_project_load(ctx, &ref, &p, false, &err) < 0) {
		px_error_log("%s", px_error_msg(&err));
		goto out;
	}
	st.p = p;
	st.doc = json_object();
	st.problems = json_array();
	json_object_set_new(st.doc, "project", json_string(p->name));
	json_object_set_new(st.doc, "workingDir", json_string(p->working_dir));
	st.dbs = json_array();
	st.db_problems = json_array();
	st.svc = json_object();
	st.svc_problems = json_array();
	st.clients = json_array();
	st.client_problems = json_array();
	{
		pthread_t db, git, svc, cli;
		bool from_sup, db_started = false, git_started, svc_started, cli_started;

		/* the engine's answers while the supervisor gives its own */
		svc_started = pthread_create(&svc, NULL, services_thread, &st) == 0;
		if (!svc_started)
			services_thread(&st);
		cli_started = pthread_create(&cli, NULL, clients_thread, &st) == 0;
		if (!cli_started)
			clients_thread(&st);
		supervisor_section(&st);
		from_sup = st.sup != NULL;

		for (size_t i = 0; i < p->prisync.nschemas && from_sup; i++)
			from_sup = json_is_object(sup_db(&st, i));
		if (from_sup) {
			for (size_t i = 0; i < p->prisync.nschemas; i++)
				db_result(&st, &p->prisync.schemas[i], sup_db(&st, i));
		} else {
			db_started = pthread_create(&db, NULL, db_thread, &st) == 0;
			if (!db_started)
				db_thread(&st);
		}
		git_started = pthread_create(&git, NULL, git_thread, &st) == 0;
		if (!git_started)
			git_thread(&st);
		if (svc_started)
			pthread_join(svc, NULL);
		json_object_update(st.doc, st.svc);
		json_array_extend(st.problems, st.svc_problems);
		if (cli_started)
			pthread_join(cli, NULL);
		if (db_started)
			pthread_join(db, NULL);
		if (git_started)
			pthread_join(git, NULL);
	}
	schemas_section(&st);
	json_object_set_new(st.doc, "inSync", json_boolean(json_array_size(st.problems) == 0));
	json_object_set(st.doc, "problems", st.problems);
	if (st.json) {
		json_dumpf(st.doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		print_screen(&st);
	}
	rc = json_array_size(st.problems) == 0 ? CMD_OK : CMD_FAILED;
out:
	fflush(stdout);
	json_decref(st.problems);
	json_decref(st.doc);
	json_decref(st.sup);
	json_decref(st.dbs);
	json_decref(st.db_problems);
	json_decref(st.svc);
	json_decref(st.svc_problems);
	json_decref(st.clients);
	json_decref(st.client_problems);
	json_decref(st.git);
	engine_free(st.engine);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_status = {
    .name = "status",
    .summary = "is the environment in sync: services, clients, last syncs, databases, git",
    .usage = "Usage: prisync status [--json]\n"
	     "\n"
	     "One screen: the supervisor (running or not, pid, uptime, queue); per service its\n"
	     "state, health, uptime, restarts and ports; per schema whether the generated client\n"
	     "matches the schema you have, the last sync (state, when, how long, what triggered\n"
	     "it), the database and its migrations (as db-check), and the git state. With a\n"
	     "running supervisor the sync state is its own; without one, the last recorded.\n"
	     "Every problem is printed with the command that fixes it.\n"
	     "\n"
	     "Exit status: 0 everything in sync, 1 something needs action.\n",
    .run = status_run,
};
