/* cmd.h - the command-line layer: global flags shared by every subcommand and the
 * dispatch table.  One file per subcommand; each exports one struct cmd. */
#ifndef PX_CMD_H
#define PX_CMD_H

#include <stdio.h>

#include "compose/compose.h"
#include "stack/stack.h"

/* Exit codes (DESIGN.md "Commands"). */
enum {
	CMD_OK = 0,
	CMD_FAILED = 1, /* failed, or needs action */
	CMD_USAGE = 2,  /* usage error */
};

/* What the global flags said; handed to every command. */
struct cmd_ctx {
	struct compose_options opts;
	const char *argv0;
};

struct cmd {
	const char *name;
	const char *summary; /* one line for the command list */
	const char *usage;   /* the full help text of `prisync help <name>` */
	/* argv[0] is the command name; returns an exit code */
	int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

extern const struct cmd cmd_help;
extern const struct cmd cmd_version;
extern const struct cmd cmd_config;
extern const struct cmd cmd_up;
extern const struct cmd cmd_down;
extern const struct cmd cmd_start;
extern const struct cmd cmd_stop;
extern const struct cmd cmd_restart;
extern const struct cmd cmd_ps;
extern const struct cmd cmd_build;
extern const struct cmd cmd_logs;
extern const struct cmd cmd_watch;
extern const struct cmd cmd_sync;
extern const struct cmd cmd_generate;
extern const struct cmd cmd_db_check;
extern const struct cmd cmd_migrate;
extern const struct cmd cmd_db_create;
extern const struct cmd cmd_db_reset;
extern const struct cmd cmd_status;

/* The command named name, or NULL. */
const struct cmd *cmd_find(const char *name);
/* The program's own help: usage, global flags, the commands. */
void cmd_print_main_help(FILE *out);
/* Print "prisync: error: <msg> — run 'prisync help <cmd>'" and return CMD_USAGE. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True when argv (after the command name) asks for help: -h or --help. */
int cmd_help_requested(int argc, char **argv);

/* What the lifecycle commands (up, down, start, stop, restart, ps, build) share: the
 * loaded project, a pinged engine, progress on stderr and a stack handle (lifecycle.c). */
struct cmd_stack {
	struct compose_project_ref ref;
	struct compose_project *project;
	struct engine *engine;
	struct stack_progress *progress; /* NULL when not asked for */
	struct stack *stack;
};

/* Resolve and load the project of the current directory and the global flags (warnings
 * printed when asked); ref and *p are the caller's to release, also after a failure. */
int cmd_project_load(struct cmd_ctx *ctx, struct compose_project_ref *ref,
		     struct compose_project **p, bool warnings, struct px_error *err);
/* Load the project as `config` does (warnings printed), open and ping the engine; with
 * signals, block SIGINT and SIGTERM (before any thread starts) so that the stack takes
 * them as an interrupt of its operation.  On failure everything is released; cs is
 * released by cmd_stack_close. */
int cmd_stack_open(struct cmd_stack *cs, struct cmd_ctx *ctx, bool progress, bool signals,
		   struct px_error *err);
void cmd_stack_close(struct cmd_stack *cs);
/* Parse a non-negative number of seconds for flag; -1 (and a usage error printed) when
 * it is not one. */
int cmd_parse_seconds(const struct cmd *c, const char *flag, const char *value);
/* The usage error of an unknown or incomplete flag, as getopt left it. */
int cmd_flag_error(const struct cmd *c, int argc, char **argv, int opt);
/* Pad container log prefixes as compose does: to the longest "<service>-<n>". */
void cmd_set_prefix_width(const struct compose_project *p);
/* Parse [-t N] [SERVICE...] and run op (stack_stop, stack_restart) on them. */
int cmd_run_timed(const struct cmd *c, struct cmd_ctx *ctx, int argc, char **argv,
		  int (*op)(struct stack *st, char *const *services, size_t n, int timeout_s,
			    struct px_error *err));

/* Whether the project has anything for a supervisor to do (a schema, develop.watch). */
bool cmd_wants_supervisor(const struct compose_project *p);
/* Queue a sync (or generate) on the supervisor connected on fd and wait for its jobs,
 * printing each (json: one object per line on stdout).  0 all succeeded, 1 one failed,
 * -1 an error. */
int cmd_sync_via(int fd, const char *schema, bool generate_only, bool json,
		 struct px_error *err);
/* Start the project's supervisor detached (`watch` in a session of its own, output in
 * .prisync/supervisor.log) and wait until its initial sync has ended. */
int cmd_supervise_detached(struct cmd_stack *cs, struct cmd_ctx *ctx, struct px_error *err);
/* Stop project's supervisor, if one runs (SIGTERM, then wait for its lock). */
int cmd_stop_supervisor(const char *project, struct px_error *err);

/* ---- A schema's database (dbconn.c), for db-check and migrate ---- */

struct db_conn;
struct db_probe_opts;
struct prisma_migration_row;

/* What the commands share while reaching the databases of one project. */
struct cmd_db_ctx {
	const struct compose_project *p; /* borrowed */
	struct engine *engine;           /* opened when a URL first names a compose service */
	bool engine_tried;
};
void cmd_db_ctx_release(struct cmd_db_ctx *cx);

/* Where a schema's database is, as far as cmd_db_target() got (all owned). */
struct cmd_db_target {
	char *url;             /* the raw URL: holds the password, never print it */
	char *where;           /* where the URL came from; NULL when it could not be resolved */
	char *masked;          /* the URL safe to print */
	char *schema;          /* the URL's schema= (Prisma's default: public) */
	char **keys, **values; /* libpq's parameters (db_url_conninfo), NULL until built */
	char *session_sql;     /* run first on each connection (db_url_session_sql), or NULL */
};

/* Resolve sc's URL, parse it, route a compose service it names (through the engine when
 * one answers) and build libpq's parameters.  On failure t holds what was found before
 * (where is NULL when the URL itself could not be resolved); release t either way. */
int cmd_db_target(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		  struct cmd_db_target *t, struct px_error *err);
void cmd_db_target_release(struct cmd_db_target *t);
/* Prepare a connection to t for its queries: t's session_sql (the schema's search_path
 * behind PgBouncer). */
int cmd_db_session(struct db_conn *c, const struct cmd_db_target *t, struct px_error *err);
/* cmd_db_target, then db_probe with o and cmd_db_session: *out connected, or an error
 * naming the database (masked), why it failed and what to do. */
int cmd_db_open(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		const struct db_probe_opts *o, struct cmd_db_target *t, struct db_conn **out,
		struct px_error *err);
/* db-check of one schema's database without printing: o receives the object db-check
 * --json prints for it; returns 0 in order, 1 something needs action, 2 unreachable. */
int cmd_db_check_one(struct cmd_db_ctx *cx, const struct compose_prisync_schema *sc,
		     const struct db_probe_opts *probe, json_t *o);
/* db-check with the connections kept between calls (the supervisor answering status):
 * a schema's connection is reused while its URL stays the same and it answers, else made
 * again (one attempt, 1 s). */
struct cmd_db_live_conn {
	char *schema;
	char *url; /* the raw URL it was made for */
	struct db_conn *c;
	json_t *probe; /* what the probe said: reachable, serverVersion, connectMs, rttMs, via */
};
struct cmd_db_live {
	struct cmd_db_ctx cx;
	struct cmd_db_live_conn *v;
	size_t n;
};
/* As cmd_db_check_one, for p's schema sc (p may change between calls: a reload). */
int cmd_db_check_live(struct cmd_db_live *l, const struct compose_project *p,
		      const struct compose_prisync_schema *sc, json_t *o);
void cmd_db_live_release(struct cmd_db_live *l);
/* The rows of _prisma_migrations, oldest first (owned: prisma_migration_rows_free), and
 * whether the table exists where the connection's search_path points (no rows then). */
int cmd_db_migration_rows(struct db_conn *c, bool *has_table, struct prisma_migration_row **rows,
			  size_t *n, struct px_error *err);

#endif
