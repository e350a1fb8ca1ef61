/* prisma.h - the public header of prisma/: what prisync knows about a Prisma project --
 * where its schema is, and Prisma Migrate's bookkeeping (migrations folder, checksums,
 * the _prisma_migrations table's SQL, migration status); later: generator outputs. */
#ifndef PX_PRISMA_H
#define PX_PRISMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/*
 * Ownership: every char ** result is owned by the caller (free()); it is NULL whenever
 * the function does not return 0.  Input strings are only read.
 */

/*
 * Find the Prisma schema of the project in project_dir.
 *
 * With explicit_path (a file, or a folder of *.prisma files; relative to project_dir
 * unless absolute) that path must exist, else the error names it.  Without it, the
 * first that exists of:
 *   1. the literal `schema` of prisma.config.ts (relative to project_dir, where the
 *      config lives); a config whose schema is not a plain string literal is passed
 *      over, one naming a missing path is passed over with a warning;
 *   2. prisma/schema.prisma;
 *   3. schema.prisma.
 * Returns 0 with *out_path = project_dir joined with the path found (lexically
 * cleaned) and *is_dir telling a schema folder from a file; 1 with *out_path NULL when
 * none exists (not an error); -1 on an error (missing explicit path, unreadable or
 * malformed prisma.config.ts).
 */
int prisma_schema_find(const char *project_dir, const char *explicit_path, char **out_path,
		       bool *is_dir, struct px_error *err);

/*
 * The pure part: the `schema` property of the object passed to defineConfig(...) (or
 * of the object after `export default`) in the text of a prisma.config.ts, read
 * without evaluating any TypeScript.  Comments are skipped; the value counts only when
 * it is a single string literal ('...', "..." or a `...` without ${}).  Returns 0 with
 * *out set (escapes decoded), 1 with *out NULL when there is no such literal
 * (`schema: path.join(...)`, no schema property, no config object), -1 on an
 * unterminated string or comment, an empty path or an escape a path cannot use, with
 * the line and column in the message.
 */
int prisma_config_schema(const char *config_ts_text, char **out, struct px_error *err);

/*
 * Prisma Migrate's bookkeeping (prisma/migrations.c, prisma/migrate_status.c).
 *
 * prisync reads and writes the same records as the Prisma CLI so that either can take
 * over from the other.  Every rule below is taken from Prisma's sources, cited as
 * "engines:" (github.com/prisma/prisma-engines) or "cli:" (github.com/prisma/prisma):
 *
 *   the folder    cli: packages/migrate/src/utils/listMigrations.ts -- every directory
 *                 entry of the migrations folder that is a directory (a symlink is not)
 *                 is a migration named after it; its script is migration.sql read as
 *                 UTF-8 (an unreadable script does not drop the migration: Prisma fails
 *                 later, P3015, when it needs the text); sorted with String.localeCompare;
 *                 migration_lock.toml is read when readable.
 *   the lock      engines: schema-engine/connectors/schema-connector/src/migrations_directory.rs
 *                 (read_provider_from_lock_file, error_on_changed_provider: P3019).
 *   checksums     engines: schema-engine/connectors/schema-connector/src/checksum.rs
 *   the table     engines: schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs
 *                 (create_migrations_table, acquire_lock),
 *                 .../sql-schema-connector/src/sql_migration_persistence.rs (the writes),
 *                 .../sql-schema-connector/src/flavour.rs (load_migrations_table).
 *   deploy        engines: schema-engine/commands/src/commands/apply_migrations.rs
 *   resolve       engines: schema-engine/commands/src/commands/mark_migration_applied.rs,
 *                 mark_migration_rolled_back.rs
 *   status        engines: schema-engine/commands/src/commands/diagnose_migration_history.rs;
 *                 cli: packages/migrate/src/commands/MigrateStatus.ts
 */

#define PRISMA_MIGRATIONS_TABLE      "_prisma_migrations"
#define PRISMA_MIGRATION_SCRIPT_FILE "migration.sql"
#define PRISMA_MIGRATION_LOCK_FILE   "migration_lock.toml"
/* what the postgres connector calls itself (connector_type()), compared with the lock */
#define PRISMA_PROVIDER_POSTGRESQL "postgresql"
/* Prisma's reading of a lock file with no line starting with "provider" */
#define PRISMA_LOCK_PROVIDER_NOT_FOUND "<PROVIDER NOT FOUND>"

/*
 * The table, exactly as Prisma creates it on PostgreSQL (flavour/postgres.rs,
 * create_migrations_table; indoc! strips the source indentation).  Created in the
 * connection's schema (the URL's ?schema=, default public).  Deploy creates it only when
 * it is missing and no other table exists there (initialize(): P3005 "The database
 * schema is not empty" otherwise, see prisma_table_ignored_when_empty()); resolve
 * --applied creates it unconditionally (baseline_initialize()).
 */
#define PRISMA_MIGRATIONS_TABLE_DDL                                                                \
	"CREATE TABLE _prisma_migrations (\n"                                                      \
	"    id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n"                          \
	"    checksum                VARCHAR(64) NOT NULL,\n"                                      \
	"    finished_at             TIMESTAMPTZ,\n"                                               \
	"    migration_name          VARCHAR(255) NOT NULL,\n"                                     \
	"    logs                    TEXT,\n"                                                      \
	"    rolled_back_at          TIMESTAMPTZ,\n"                                               \
	"    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n"                        \
	"    applied_steps_count     INTEGER NOT NULL DEFAULT 0\n"                                 \
	");\n"

/*
 * Migrate's session advisory lock (flavour/postgres.rs, acquire_lock): "72707369 is a
 * unique number we chose to identify Migrate".  Deploy, resolve --applied and resolve
 * --rolled-back take it first on their connection, waiting at most
 * PRISMA_ADVISORY_LOCK_TIMEOUT_S (tokio timeout around the query, then a timeout
 * error); it is never unlocked explicitly -- closing the connection releases it.
 * CockroachDB has no advisory locks and Prisma skips the step there.
 */
#define PRISMA_ADVISORY_LOCK_KEY       72707369
#define PRISMA_ADVISORY_LOCK_TIMEOUT_S 10
#define PRISMA_SQL_ADVISORY_LOCK       "SELECT pg_advisory_lock(72707369)"

/*
 * The statements Prisma sends, as quaint renders them for PostgreSQL.  Timestamps are
 * bound parameters holding the engine's clock (chrono::Utc::now()), not now(); ids are
 * fresh UUID v4 strings (prisma_migration_id_new()); text parameters suit libpq's
 * PQexecParams with NULL paramTypes.
 */

/* flavour/postgres.rs table_names(): $1 is a text[] of schemas, e.g. '{public}'. */
#define PRISMA_SQL_TABLE_NAMES                                                                     \
	"SELECT tbl.relname AS table_name FROM pg_class AS tbl "                                   \
	"INNER JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace "                \
	"WHERE tbl.relkind = 'r' AND namespace.nspname = ANY ( $1 )"

/* flavour.rs load_migrations_table(): every row, oldest first.  Prisma does not even
 * read logs back (its MigrationRecord.logs is always None). */
#define PRISMA_SQL_LIST_MIGRATIONS                                                                 \
	"SELECT \"id\", \"checksum\", \"finished_at\", \"migration_name\", \"logs\", "             \
	"\"rolled_back_at\", \"started_at\", \"applied_steps_count\" FROM \"_prisma_migrations\" " \
	"ORDER BY \"started_at\" ASC"

/* The same rows in the same order, one column per field of struct prisma_migration_row
 * (id, migration_name, checksum, logs, started_at, finished_at, rolled_back_at as Unix
 * microseconds -- NULL when unset -- so that text-mode libpq needs no timestamp
 * parsing, applied_steps_count). */
#define PRISMA_SQL_LIST_MIGRATION_ROWS                                                             \
	"SELECT id, migration_name, checksum, logs, "                                              \
	"(extract(epoch FROM started_at) * 1000000)::bigint, "                                     \
	"(extract(epoch FROM finished_at) * 1000000)::bigint, "                                    \
	"(extract(epoch FROM rolled_back_at) * 1000000)::bigint, "                                 \
	"applied_steps_count FROM _prisma_migrations ORDER BY started_at ASC"

/* deploy, before running a script (record_migration_started_impl):
 * $1 id, $2 checksum (prisma_migration.checksum), $3 started_at, $4 migration_name.
 * finished_at, logs and rolled_back_at stay NULL, applied_steps_count 0. */
#define PRISMA_SQL_RECORD_STARTED                                                                  \
	"INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"started_at\", "               \
	"\"migration_name\") VALUES ($1,$2,$3,$4)"

/* deploy, after the script succeeded, first (record_successful_step): $1 = 1, $2 id */
#define PRISMA_SQL_RECORD_STEP                                                                     \
	"UPDATE \"_prisma_migrations\" SET \"applied_steps_count\" = "                             \
	"(\"applied_steps_count\" + $1) WHERE \"id\" = $2"

/* deploy, after the script succeeded, then (record_migration_finished): $1 finished_at,
 * $2 id */
#define PRISMA_SQL_RECORD_FINISHED                                                                 \
	"UPDATE \"_prisma_migrations\" SET \"finished_at\" = $1 WHERE \"id\" = $2"

/* deploy, when the script failed (record_failed_step): $1 logs
 * (prisma_migration_failure_logs()), $2 id.  The row stays unfinished: a failed
 * migration, and deploy stops there. */
#define PRISMA_SQL_RECORD_FAILED "UPDATE \"_prisma_migrations\" SET \"logs\" = $1 WHERE \"id\" = $2"

/* resolve --applied (mark_migration_applied_impl): $1 id, $2 checksum, $3 logs (""),
 * $4 started_at, $5 finished_at (the same instant as $4), $6 migration_name;
 * applied_steps_count stays 0. */
#define PRISMA_SQL_MARK_APPLIED                                                                    \
	"INSERT INTO \"_prisma_migrations\" (\"id\", \"checksum\", \"logs\", \"started_at\", "     \
	"\"finished_at\", \"migration_name\") VALUES ($1,$2,$3,$4,$5,$6)"

/* resolve --rolled-back, and resolve --applied for the failed rows of the name first
 * (mark_migration_rolled_back_by_id): $1 rolled_back_at, $2 id */
#define PRISMA_SQL_MARK_ROLLED_BACK                                                                \
	"UPDATE \"_prisma_migrations\" SET \"rolled_back_at\" = $1 WHERE \"id\" = $2"

/* reset drops the user's schema(s), then this (failure ignored) */
#define PRISMA_SQL_DROP_MIGRATIONS_TABLE "DROP TABLE _prisma_migrations"

/*
 * What each command does with those statements (the db/ side implements it):
 *
 * deploy (apply_migrations.rs): lock provider check (P3019) -> advisory lock ->
 *   create the table if missing (P3005 when other tables exist) -> read all rows -> any
 *   row with finished_at and rolled_back_at both NULL stops everything (P3009 "migrate
 *   found failed migrations in the target database, new migrations will not be
 *   applied", one "The `NAME` migration started at TIME failed" line each) -> in folder
 *   order, every migration with no row whose rolled_back_at is NULL is applied: read the
 *   script (P3015 when unreadable), RECORD_STARTED, run the whole script in one
 *   simple-query call (PQexec), then RECORD_STEP and RECORD_FINISHED, or on error
 *   RECORD_FAILED and stop (P3018).  A rolled-back migration is therefore applied again.
 * resolve --applied NAME (mark_migration_applied.rs): lock check -> advisory lock -> NAME
 *   must be a local migration with a readable script (P3017 otherwise) -> without the
 *   table, create it (no emptiness check) -> a row of NAME with finished_at set: P3008
 *   "already recorded as applied" -> MARK_ROLLED_BACK every failed row of NAME ->
 *   MARK_APPLIED with the script's checksum.
 * resolve --rolled-back NAME (mark_migration_rolled_back.rs): advisory lock -> no table:
 *   an error -> no row of NAME: P3011 -> every row of NAME finished: P3012 "not in a
 *   failed state" -> MARK_ROLLED_BACK each failed row of NAME.
 */

/* PostGIS tables that do not make a database "not empty" for deploy's table creation
 * (sql_schema_differ/postgres: POSTGIS_TABLES_OR_VIEWS, matched case-insensitively). */
bool prisma_table_ignored_when_empty(const char *table);

/* One local migration: a directory of the migrations folder. */
struct prisma_migration {
	char *name;       /* the directory's name, Prisma's migration_name */
	char *sql_path;   /* <folder>/<name>/migration.sql */
	bool has_script;  /* migration.sql was read */
	int script_errno; /* why not, when !has_script (ENOENT, EISDIR, EACCES ...) */
	/* SHA-256 hex of the script as Prisma reads it (UTF-8, invalid sequences replaced
	 * by U+FFFD as Node does; valid UTF-8 is hashed as is): what deploy and resolve
	 * --applied record.  "" when !has_script. */
	char checksum[65];
	/* The variants Prisma also accepts as unchanged (script_matches_checksum): the
	 * script with every CRLF made LF, and with every LF made CRLF (an existing CRLF
	 * becomes CR CR LF: Prisma replaces blindly).  Equal to checksum when the script
	 * has nothing to replace. */
	char checksum_lf[65];
	char checksum_crlf[65];
};

/* The migrations folder. */
struct prisma_migration_dir {
	char *path;  /* the folder as given */
	bool exists; /* false: missing (or not a directory) -- no migrations, as for Prisma */
	char *lock_provider;        /* Prisma's reading of migration_lock.toml (see
				     * prisma_lock_provider()); NULL when the file is missing */
	struct prisma_migration *v; /* sorted in Prisma's order (prisma_migration_name_cmp) */
	size_t n;
};

/*
 * Read the migrations folder dir the way Prisma lists it: directories only (files such
 * as migration_lock.toml, and symlinks, are skipped), each a migration whether or not
 * its migration.sql can be read (has_script tells), checksums computed, sorted.  A
 * missing folder is no error: exists false, no migrations.  Errors (naming the file or
 * folder): a folder or lock file that exists but cannot be read -- stricter than
 * Prisma, which would silently see no migrations or no lock.  *out is filled (released
 * first is not needed: it is overwritten); on failure it is left empty.
 */
int prisma_migrations_read(const char *dir, struct prisma_migration_dir *out, struct px_error *err);
void prisma_migration_dir_release(struct prisma_migration_dir *d);

/* Find a local migration by name (borrowed), NULL when there is none. */
const struct prisma_migration *prisma_migration_find(const struct prisma_migration_dir *d,
						     const char *name);

/*
 * Prisma's order of migration names: JavaScript's a.localeCompare(b) under ICU's root
 * collation, as Node sorts them.  For printable ASCII that is: whitespace, then
 * _ - , ; : ! ? . ' " ( ) [ ] { } @ * / \ & # % ` ^ + < = > | ~ $, then digits, then
 * letters case-insensitively; a tie is then broken by case at the first difference
 * (lower before upper).  So "1_init" < "10_add" and "add_user" < "add_User" <
 * "addUser", unlike strcmp.  Control characters are ignored; other bytes (non-ASCII)
 * sort after the letters by value -- an approximation, Prisma's own names are ASCII.
 * Names equal under all that fall back to strcmp so the order is total.
 */
int prisma_migration_name_cmp(const char *a, const char *b);

/*
 * Prisma's reading of the lock file's text (read_provider_from_lock_file): the first
 * line that starts with "provider" (no leading blanks allowed, so "# provider" and
 * "  provider" do not count), with every leading "provider = " removed and then every
 * '"' at either end; PRISMA_LOCK_PROVIDER_NOT_FOUND when there is no such line.
 * Always a new string (free()).
 */
char *prisma_lock_provider(const char *text, size_t len);

/* The script at path as Prisma reads it (fs.readFile(..., 'utf-8')): invalid UTF-8
 * replaced by U+FFFD (EF BF BD) per the WHATWG decoder, a BOM kept.  This, not the raw
 * bytes, is what deploy must run and what the checksums cover.  Appended to out. */
int prisma_migration_script_read(const char *path, struct px_buf *out, struct px_error *err);

/* data decoded the same way, appended to out; returns true when anything was replaced. */
bool prisma_utf8_lossy(const char *data, size_t len, struct px_buf *out);

/* SHA-256 of data as 64 lowercase hex digits and a NUL (OpenSSL's SHA256_*). */
int prisma_checksum(const char *data, size_t len, char out[65]);

/*
 * Prisma's test of an unchanged script (checksum.rs, script_matches_checksum): recorded
 * equals one of checksum, checksum_lf, checksum_crlf -- or, when recorded is not empty
 * and not 64 long, one of them in the format of early engines that dropped each byte's
 * leading zero digit ("0a" written "a").  False when m has no script.
 */
bool prisma_checksum_matches(const struct prisma_migration *m, const char *recorded);

/* A fresh _prisma_migrations.id: a random UUID v4 in its 36-character form. */
int prisma_migration_id_new(char out[37], struct px_error *err);

/* A timestamptz parameter for the statements above: unix_ns as
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (microseconds: PostgreSQL's resolution). */
void prisma_timestamp_format(int64_t unix_ns, char out[32]);

/*
 * The logs deploy records for a failed script: Prisma's P3018 message as its engine
 * renders it (flavour/postgres/connection.rs apply_migration_script + error.rs):
 * "A migration failed to apply. New migrations cannot be applied before the error is
 * recovered from. Read more about how to resolve migration issues in a production
 * database: https://pris.ly/d/migrate-resolve\n\nMigration name: NAME\n\nDatabase error
 * code: SQLSTATE\n\nDatabase error:\nMESSAGE\n".  sqlstate NULL or "" gives "none".
 * Owned by the caller.
 */
char *prisma_migration_failure_logs(const char *name, const char *sqlstate, const char *db_error);

/* One row of _prisma_migrations (PRISMA_SQL_LIST_MIGRATION_ROWS fills it). */
struct prisma_migration_row {
	char *id;                  /* VARCHAR(36) */
	char *name;                /* migration_name VARCHAR(255) */
	char *checksum;            /* VARCHAR(64) */
	char *logs;                /* NULL when NULL */
	bool finished;             /* finished_at IS NOT NULL */
	bool rolled_back;          /* rolled_back_at IS NOT NULL */
	int64_t started_at_ns;     /* NOT NULL */
	int64_t finished_at_ns;    /* 0 unless finished */
	int64_t rolled_back_at_ns; /* 0 unless rolled_back */
	int applied_steps;         /* applied_steps_count */
};

/* Free the strings of a row (the row itself is the caller's); NULL-safe. */
void prisma_migration_row_release(struct prisma_migration_row *r);
/* Release n rows and free the array; NULL-safe. */
void prisma_migration_rows_free(struct prisma_migration_row *rows, size_t n);

/* Where a migration stands, one per name, local or only in the database. */
enum prisma_migration_state {
	PRISMA_MIGRATION_APPLIED,         /* a finished, not rolled-back row; the script matches */
	PRISMA_MIGRATION_PENDING,         /* local, no row: deploy applies it */
	PRISMA_MIGRATION_FAILED,          /* a row neither finished nor rolled back: deploy refuses
					   * to run until it is resolved */
	PRISMA_MIGRATION_ROLLED_BACK,     /* only rolled-back rows: deploy applies it again when it
					   * is local */
	PRISMA_MIGRATION_MODIFIED,        /* applied, but the local script no longer matches */
	PRISMA_MIGRATION_MISSING_LOCALLY, /* applied in the database, no local directory */
};

/* "applied", "pending", "failed", "rolled-back", "modified", "missing-locally" */
const char *prisma_migration_state_name(enum prisma_migration_state s);

struct prisma_migration_status {
	char *name;
	enum prisma_migration_state state;
	const struct prisma_migration *local;   /* borrowed from the folder; NULL when only in
						 * the database */
	const struct prisma_migration_row *row; /* borrowed: the row that decided the state --
						 * the name's latest failed row, else its latest
						 * applied one, else its latest; NULL when none */
};

struct prisma_migration_report {
	/* local migrations in folder order, then names only the database has, in row order */
	struct prisma_migration_status *v;
	size_t n;
	size_t count[PRISMA_MIGRATION_MISSING_LOCALLY + 1]; /* entries per state */
	size_t to_apply; /* what deploy would apply now: local pending + rolled back */
	bool has_table;  /* _prisma_migrations exists */
	bool folder_exists;
	char *lock_provider; /* copy of the folder's, NULL without a lock file */
	char *expected_provider;
	bool provider_mismatch; /* a lock file naming another provider: Prisma refuses (P3019) */
	char *missing_script; /* first local migration without a readable migration.sql, or NULL */
	bool up_to_date;      /* nothing to apply, nothing failed, modified or missing locally,
			       * lock matches */
	int prisma_exit;      /* what `prisma migrate status` would exit with: 0 or 1 */
	char *recommendation; /* one line: the next thing to run */
};

/*
 * Compare the folder with the table.  rows (nrows of them, oldest first as
 * PRISMA_SQL_LIST_MIGRATIONS orders them) are only read when has_table.
 * expected_provider is the schema's provider (NULL: PRISMA_PROVIDER_POSTGRESQL).
 * The report borrows from local and rows: keep them alive while it is used.  Prisma's
 * rules, with two deliberate differences: the checksum of an applied migration is
 * compared with its applied row (Prisma compares the name's oldest row, which after a
 * fix-and-retry is the rolled-back one), and a migration whose script cannot be read is
 * reported (missing_script) instead of failing the whole status (P3015).
 */
int prisma_migration_status(const struct prisma_migration_dir *local,
			    const struct prisma_migration_row *rows, size_t nrows, bool has_table,
			    const char *expected_provider, struct prisma_migration_report *out);
void prisma_migration_report_release(struct prisma_migration_report *r);

/*
 * {upToDate, hasMigrationsTable, migrationsFolderExists, lockProvider, expectedProvider,
 *  providerMismatch, appliedMigrations[], pendingMigrations[] (what deploy would apply,
 *  in order: pending and local rolled-back ones), failedMigrations[],
 *  rolledBackMigrations[], modifiedMigrations[], missingLocally[], missingScript,
 *  migrations: [{name, state, local}], prismaStatusExitCode, recommendation}.
 *  A new reference.
 */
json_t *prisma_migration_report_json(const struct prisma_migration_report *r);

/*
 * Client freshness (prisma/client.c): is the generated Prisma Client built from the
 * current schema by the installed Prisma?  Facts checked on real generates (Prisma
 * 6.19, 7.10):
 *
 *   prisma-client-js   <output>/index.js (also edge.js) holds the client config as a
 *                      JSON object: "clientVersion": "x.y.z", "inlineSchema": "<the
 *                      schema as a JSON string>"; <output>/schema.prisma holds the same
 *                      text (byte for byte).  Default output: node_modules/.prisma/client.
 *   prisma-client      (Prisma 7) <output>/internal/class.ts: `const config = {
 *                      "clientVersion": ..., "inlineSchema": "..." }` -- keys quoted too.
 *
 * The embedded schema is `prisma format`ted (aligned columns), so it is compared token
 * by token, never byte by byte.  A schema folder is embedded as its *.prisma files
 * formatted and concatenated in the order prisma_schema_read() reads them.
 */

enum prisma_token_kind {
	PRISMA_TOK_IDENT,  /* [A-Za-z_][A-Za-z0-9_-]* (keywords too) */
	PRISMA_TOK_NUMBER, /* -?[0-9]+(.[0-9]+)? */
	PRISMA_TOK_STRING, /* text: the decoded value, without the quotes */
	PRISMA_TOK_PUNCT,  /* { } ( ) [ ] = @ @@ , : ? ! . and any other single byte */
	PRISMA_TOK_DOC,    /* a /// comment; text: what follows the ///, trimmed */
};

struct prisma_token {
	enum prisma_token_kind kind;
	char *text; /* owned, NUL-terminated; len bytes (a string may hold a NUL) */
	size_t len;
	unsigned line; /* 1-based line of the token's first byte */
};

struct prisma_tokens {
	struct prisma_token *v;
	size_t n;
};

/*
 * Tokenize a schema for comparison: whitespace and // comments dropped, /// doc comments
 * kept (one token each), strings decoded (\" \\ \n \r \t \uXXXX; other escapes kept as
 * written).  Any text is accepted: a string left open ends at the end of its line, an
 * unknown byte is a PRISMA_TOK_PUNCT of its own -- both sides of a comparison read the
 * same way.  *out is overwritten; returns 0.
 */
int prisma_schema_tokens(const char *text, size_t len, struct prisma_tokens *out);
void prisma_tokens_release(struct prisma_tokens *t);

/* Where two schemas first differ; a is the reference (the generated client's), b the
 * current sources. */
struct prisma_diff {
	bool equal;
	unsigned a_line, b_line; /* 0 when that side has ended */
	char *a_token, *b_token; /* the differing tokens as text, NULL at the end of a side */
	char *where;             /* "model User, field nickname", "enum Role, value ADMIN",
				  * "datasource db, setting url", "generator client", "model
				  * User, attribute @@id", "" outside any block; owned */
};

/*
 * Compare two schemas token by token.  Returns 0 when they are equal (out->equal), 1
 * when they differ (out filled with the first difference, named by the block and member
 * of whichever side names it best: the side that has the member there, else b).
 * *out is overwritten; release it with prisma_diff_release().
 */
int prisma_schema_compare(const char *a, size_t alen, const char *b, size_t blen,
			  struct prisma_diff *out);
void prisma_diff_release(struct prisma_diff *d);

/* A line for humans: "model User, field nickname (line 14 of the schema has 'nickname',
 * line 12 of the generated client's has '}')", or "no difference".  Owned by the caller. */
char *prisma_diff_describe(const struct prisma_diff *d);

/*
 * The schema embedded in a generated client file (index.js of prisma-client-js,
 * internal/class.ts of prisma-client): the JSON string after the first "inlineSchema":
 * (or unquoted inlineSchema:) key, unescaped by jansson (\uXXXX, surrogate pairs to UTF-8;
 * a lone surrogate, which no UTF-8 schema yields, is an error), and likewise
 * clientVersion.  Returns 0 with *schema_out set and *client_version_out set or NULL when the file has no clientVersion; 1 with both
 * NULL when there is no inlineSchema (not a generated client); -1 when a value is not a
 * well-formed JSON string, with the line in the message.  Outputs are owned by the caller.
 */
int prisma_client_inline_schema(const char *js_text, size_t len, char **schema_out,
				char **client_version_out, struct px_error *err);

/*
 * The schema as Prisma embeds it: a file is read as is; a folder is walked the way
 * Prisma's loadSchemaFiles does -- entries in byte (strcmp) order as Node's readdir
 * gives them, a subfolder's files in place of the subfolder (depth first), symlinks
 * followed (a folder seen before is skipped), only names ending in ".prisma" (of the
 * link's target for a symlink) -- and the files are appended one after another, each
 * followed by "\n" so a // comment cannot run into the next file.  Appended to out.
 */
int prisma_schema_read(const char *path, struct px_buf *out, struct px_error *err);

/* Called with each schema file's path; a non-zero return stops the walk with it. */
typedef int prisma_schema_file_fn(void *ctx, const char *file, struct px_error *err);

/* The files prisma_schema_read() reads, in its order, each handed to fn: path itself
 * when it is a file (whatever its name), else the walk described above.  Returns 0, or
 * the first non-zero result (of fn, or -1 for an unreadable folder). */
int prisma_schema_files(const char *path, prisma_schema_file_fn *fn, void *ctx,
			struct px_error *err);

/* The freshness verdict. */
enum prisma_client_state {
	PRISMA_CLIENT_FRESH,        /* same schema, same version */
	PRISMA_CLIENT_STALE,        /* the schema changed since the last generate */
	PRISMA_CLIENT_MISSING,      /* never generated (no client file, or no inlineSchema) */
	PRISMA_CLIENT_VERSION_SKEW, /* same schema, but generated by another @prisma/client */
};

/* "fresh", "stale", "missing", "version-skew" */
const char *prisma_client_state_name(enum prisma_client_state s);

/*
 * The verdict from a client file's text (NULL: the file does not exist), the current
 * schema text and the installed @prisma/client version (NULL: unknown, not compared).
 * A schema difference wins over a version skew.  diff (may be NULL) receives the
 * difference when STALE.  Returns 0 with *state set, -1 on a malformed client file.
 */
int prisma_client_check(const char *client_text, size_t client_len, const char *schema,
			size_t schema_len, const char *installed_version,
			enum prisma_client_state *state, struct prisma_diff *diff,
			struct px_error *err);

/*
 * Generator blocks (prisma/generators.c): which client a schema generates, and where.
 */

/* The providers whose output is a Prisma Client prisync can check. */
#define PRISMA_PROVIDER_CLIENT_JS "prisma-client-js"
#define PRISMA_PROVIDER_CLIENT    "prisma-client" /* Prisma 7's TypeScript client */

struct prisma_generator {
	char *name;     /* generator NAME { */
	char *provider; /* the literal, or env("X")'s value; NULL when X is unset or there is
			 * no provider setting */
	char *output;   /* the literal (or env("X")'s value) resolved against the directory
			 * of file and lexically cleaned; NULL when not set */
	char *file;     /* the schema file holding the block */
	unsigned line;  /* of the generator keyword in file */
};

struct prisma_generators {
	struct prisma_generator *v;
	size_t n;
};

/*
 * Append the generator blocks of one schema file's text (file names it: the base of a
 * relative output) to out, in order.  Settings other than provider and output, and
 * values that are neither a string nor env("...") (output = 3), are passed over.
 * Reads with prisma_schema_tokens(), so // comments, escapes and odd layouts read as
 * Prisma reads them.  Returns 0.
 */
int prisma_generators_parse(const char *text, size_t len, const char *file,
			    struct prisma_generators *out);

/* The generator blocks of a schema file or of every file of a schema folder, in
 * prisma_schema_read()'s order.  *out is overwritten; on failure it is empty. */
int prisma_generators_read(const char *path, struct prisma_generators *out, struct px_error *err);
void prisma_generators_release(struct prisma_generators *g);

/* The first generator whose provider is prisma-client-js or prisma-client (borrowed), or
 * NULL. */
const struct prisma_generator *prisma_generators_client(const struct prisma_generators *g);

/*
 * Where the generated client is and which @prisma/client is installed
 * (prisma/client_locate.c).  Files are read through a reader so the same rules run on
 * the host and on a container's files (stack/client.c).
 */
struct prisma_reader {
	/* Append path's content to out and set *exists; a path that does not exist (or is
	 * not a regular file) is *exists = false and 0, not an error.  -1 on a failure to
	 * read. */
	int (*read)(void *ctx, const char *path, struct px_buf *out, bool *exists,
		    struct px_error *err);
	void *ctx;
};

/* The host's files (ctx unused). */
extern const struct prisma_reader prisma_host_reader;

struct prisma_client_location {
	char *client;            /* the generated client file (index.js, internal/class.ts) */
	char *package_json;      /* the @prisma/client/package.json found, or NULL */
	char *installed_version; /* its "version", NULL when none was found or it has none */
};

/*
 * Locate the client a generator writes, with every path in the reader's namespace:
 *   prisma-client-js  output set: <output>/index.js.  Else Node's resolution of
 *                     @prisma/client from schema_dir (the directory of the file holding
 *                     the generator): the first <dir>/node_modules/@prisma/client/
 *                     package.json walking up (a dir named node_modules itself is
 *                     skipped, as Node does); the client is that node_modules'
 *                     .prisma/client/index.js; with none anywhere,
 *                     <project_dir>/node_modules/.prisma/client/index.js.
 *   prisma-client     <output>/internal/class.ts; output is required (an error).
 * installed_version: the version of the first node_modules/@prisma/client/package.json
 * walking up from the client's directory.  An unknown provider is an error.  *out is
 * overwritten; release with prisma_client_location_release().
 */
int prisma_client_locate(const struct prisma_reader *r, const char *provider, const char *output,
			 const char *schema_dir, const char *project_dir,
			 struct prisma_client_location *out, struct px_error *err);
void prisma_client_location_release(struct prisma_client_location *l);


#endif
