/* db.h - the public header of db/: PostgreSQL through libpq.  This slice: connect with a
 * timeout, run statements, and create, drop and look up databases. */
#ifndef PX_DB_H
#define PX_DB_H

#include <stdbool.h>

#include <jansson.h>

#include "base/base.h"

struct db_conn;

/* Connect to a libpq connection string or postgres:// / postgresql:// URL.  timeout_s > 0
 * bounds the connection attempt (libpq's connect_timeout); 0 uses libpq's default.
 * The URL never appears in the error (only the server's message, masked). */
int db_connect(struct db_conn **out, const char *url, int timeout_s, struct px_error *err);
void db_close(struct db_conn *c);
/* Connect with libpq keywords and values (NULL-terminated; expand_dbname off: a dbname is
 * a name), connect_timeout added when timeout_s > 0. */
int db_connect_params(struct db_conn **out, const char *const *keys, const char *const *values,
		      int timeout_s, struct px_error *err);

/* The server version as libpq reports it (e.g. 150018 for 15.18), 0 when unknown. */
int db_server_version(const struct db_conn *c);

/* Bound every later statement of db_exec, db_query_value and db_query_json on c to
 * timeout_ms (<= 0: no bound, the default).  A statement past it fails ("the database did
 * not answer within ...": a paused or hung server, a partitioned network, where libpq
 * alone would wait for TCP to give up, minutes later) and c is then useless: every later
 * statement fails at once.  For the checks that must come back (db-check, status), never
 * for migrations, which take the time they take. */
void db_set_timeout(struct db_conn *c, int timeout_ms);

/* Run one or more statements that return no rows. */
int db_exec(struct db_conn *c, const char *sql, struct px_error *err);

/* Run a parameterised query whose result is one value (first row, first column);
 * *out is owned by the caller and NULL when there is no row or the value is NULL. */
int db_query_value(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   char **out, struct px_error *err);

/* Run a parameterised query; *rows (owned) is an array with one object per row, each
 * column by name as a string or null. */
int db_query_json(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		  json_t **rows, struct px_error *err);

int db_database_exists(struct db_conn *c, const char *name, bool *exists, struct px_error *err);
/* CREATE DATABASE with the name quoted as an identifier (any name is safe). */
int db_database_create(struct db_conn *c, const char *name, struct px_error *err);
/* DROP DATABASE [IF EXISTS]; drops fail while other sessions are connected to it. */
int db_database_drop(struct db_conn *c, const char *name, bool if_exists, struct px_error *err);

/* ---- Which database, and the URL libpq gets (db/resolve.c, db/url.c, db/failure.c) ---- */

#include <stddef.h>

struct compose_project;
struct compose_prisync_schema;

/* Where a schema's database URL came from, in the order db_url_resolve() tries them. */
enum db_url_source {
	DB_URL_SOURCE_NONE,
	DB_URL_SOURCE_CONFIG,      /* database-url in the compose file */
	DB_URL_SOURCE_SERVICE_ENV, /* database-url-env's variable in the run-in service */
	DB_URL_SOURCE_ENVIRONMENT, /* the same variable in the environment/.env */
	DB_URL_SOURCE_SECRET,      /* database-secret: a JSON file as AWS Secrets Manager's */
};

/* The database URL of schema sc, tried in this order:
 *   1. database-url;
 *   2. the variable database-url-env names (DATABASE_URL when the block sets none of the
 *      three keys) in the run-in service's environment (env_file merged in);
 *   3. that variable in the environment interpolation saw (.env, then the shell);
 *   4. database-secret: {host, port, username, password, dbname, engine}; host,
 *      username, password and dbname are required (all missing ones are named at once),
 *      port defaults to 5432, engine (when given) must be postgres, postgresql or
 *      aurora-postgresql; the
 *      URL is built with every part percent-encoded.
 * The compose loader allows only one of database-url / database-url-env / database-secret,
 * so steps 2-3 are skipped when database-secret is the one set.  An empty database-url is
 * an error (an unset variable), an empty variable counts as unset.
 * *url_out: the raw URL (owned; holds the password: print it only through db_url_mask);
 * *where_out: where it came from for messages (owned), e.g. "database-url in compose.yaml",
 * "DATABASE_URL of service 'app'", "DATABASE_URL in the environment/.env",
 * "database-secret ./secrets/db.json"; *source_out (may be NULL) the same as an enum.
 * Errors say what to set and never contain a password. */
int db_url_resolve(const struct compose_project *p, const struct compose_prisync_schema *sc,
		   char **url_out, char **where_out, enum db_url_source *source_out,
		   struct px_error *err);

struct db_url_host {
	char *name;    /* percent-decoded; IPv6 without brackets; "" when the URL has none */
	unsigned port; /* 0: none given */
};

struct db_url_param {
	char *key; /* decoded (as Prisma reads queries: %XX, and '+' is a space) */
	char *value;
};

/* A postgres:// or postgresql:// URL taken apart (libpq's grammar: several hosts allowed). */
struct db_url {
	char *scheme;              /* "postgresql" or "postgres" (lower case) */
	char *user;                /* decoded; NULL when absent */
	char *password;            /* decoded; NULL when absent.  Never print it. */
	struct db_url_host *hosts; /* at least one */
	size_t nhosts;
	char *dbname;                /* decoded first path segment; NULL when absent */
	struct db_url_param *params; /* in URL order, duplicates kept */
	size_t nparams;
};

/* Parse url into *out (release with db_url_release, also after a failure).  Lenient
 * where Prisma is: an unencoded '@' or ':' in the password is taken as Prisma takes it
 * (the last '@' ends the user info), an invalid %-sequence stays literal.  Errors: an
 * other scheme ("db-check supports PostgreSQL; this URL is mysql", file: is sqlite), an
 * invalid port, an unencoded '/', '?' or '#' in the password, %00.  Error messages never
 * contain the password (nor any other part that could hold it). */
int db_url_parse(const char *url, struct db_url *out, struct px_error *err);
void db_url_release(struct db_url *u);
/* The value of the last parameter named key, or NULL (borrowed). */
const char *db_url_param(const struct db_url *u, const char *key);
/* The statement a connection to u runs first, or NULL (owned): with pgbouncer=true and a
 * schema, `SET search_path = "schema"` -- PgBouncer refuses the startup option that
 * db_url_conninfo uses otherwise, so Prisma sets it this way too. */
char *db_url_session_sql(const struct db_url *u);

/* Percent-encode everything outside RFC 3986's unreserved set (ALPHA DIGIT - . _ ~),
 * byte by byte (UTF-8 stays UTF-8 once decoded).  Owned. */
char *db_url_encode_password(const char *raw);

/* A copy of url (owned) safe to print: the user-info password, and the values of the
 * password and sslpassword parameters, replaced by "****".  Also masks a password whose
 * unencoded '/', '?' or '#' broke the URL's structure.  Agrees with px_mask_urls() on
 * well-formed URLs. */
char *db_url_mask(const char *url);

/* One way to reach a compose service from where prisync runs.  The caller fills the map
 * from the running containers: the published port on 127.0.0.1 (or the host_ip it is
 * bound to), else the container's address on the project network with the URL's port. */
struct db_host_route {
	char *name;      /* a service name (or alias) as it appears in URLs */
	unsigned target; /* the container port this route reaches; 0: any port */
	char *host;      /* connect here; NULL: a known service with no route (not running) */
	unsigned port;   /* on this port; 0: the URL's port */
};

struct db_host_map {
	struct db_host_route *v; /* owned */
	size_t n;
};

/* Append a route (strings copied; host may be NULL).  For a URL host and port the lookup
 * prefers, among routes of that name (case-insensitive): the target port equal to the
 * URL's, then target 0; a route with a host over one without; earlier over later. */
void db_host_map_add(struct db_host_map *m, const char *name, unsigned target, const char *host,
		     unsigned port);
/* Routes that compose.yaml alone determines: each service's fixed published TCP ports
 * (an unset, 0.0.0.0 or :: host_ip becomes 127.0.0.1 or ::1), under the service name,
 * its container_name and its network aliases, and a host-less route for every service
 * (so a URL naming a service that has no route gets a clear error).  Ephemeral ports and
 * container addresses need the engine: add those routes first, they win over these. */
void db_host_map_add_compose(struct db_host_map *m, const struct compose_project *p);
void db_host_map_release(struct db_host_map *m);

/* libpq keywords and values for u (two NULL-terminated arrays, owned: free them with
 * db_conninfo_free) for PQconnectdbParams(keys, values, 0) - expand_dbname must be 0, or
 * a database name holding '=' or a URL would be parsed again.
 * Connects where Prisma would: host localhost, port 5432 and database "postgres" when the
 * URL has none, the host and port query parameters override the URL's.  Prisma-only
 * parameters are translated or dropped:
 *   schema=X       -> options "-c search_path=\"X\"" appended to any options given (not
 *                     with pgbouncer=true: PgBouncer refuses the startup parameter, so
 *                     the caller runs SET search_path, as Prisma does: db_url_session_sql);
 *   sslmode        -> disable/prefer/require as is, libpq's allow/verify-ca/verify-full
 *                     kept, anything else prefer (Prisma's fallback); always set, so a
 *                     PGSSLMODE in the environment does not change the answer;
 *   sslaccept=strict (or an unknown value, as in Prisma) turns require into verify-full
 *                     (Prisma then checks the chain and the host name);
 *   sslcert (Prisma: the CA to trust) -> sslrootcert, resolved against cert_dir when
 *                     relative (Prisma: the schema's folder; NULL: as given); dropped with
 *                     sslmode=require and sslaccept=accept_invalid_certs (the default):
 *                     Prisma does not verify then, libpq would;
 *   strict verification without sslcert -> sslrootcert = OpenSSL's default CA bundle;
 *   channel_binding -> kept when disable/prefer/require, else dropped (Prisma: prefer);
 *   sslidentity (a PKCS12 client identity) -> an error: libpq cannot read PKCS12;
 *   connection_limit, pool_timeout, socket_timeout, pgbouncer, statement_cache_size,
 *   sslaccept, sslpassword, max_connection_lifetime, max_idle_connection_lifetime -> dropped.
 * Any other parameter is passed through (libpq rejects the ones it does not know).
 * A host that map routes (a compose service) is reached through the route: hostaddr is
 * set to the route's address (when numeric; else host is replaced) and port to its port,
 * while host keeps the service name for TLS verification and .pgpass.  A service with no
 * route is an error ("not running").  map may be NULL. */
int db_url_conninfo(const struct db_url *u, const struct db_host_map *map, const char *cert_dir,
		    char ***keys, char ***values, struct px_error *err);
void db_conninfo_free(char **keys, char **values);
/* The value for key in a conninfo pair of arrays, or NULL (borrowed). */
const char *db_conninfo_get(char *const *keys, char *const *values, const char *key);

/* Why a connection failed, for the user. */
enum db_failure {
	DB_OK,
	DB_REFUSED,         /* nothing listens at host:port (or no such Unix socket) */
	DB_NAME_UNRESOLVED, /* the host name does not resolve */
	DB_TIMEOUT,         /* no answer in time, or the host is unreachable */
	DB_AUTH_FAILED,     /* 28P01, 28000: wrong password, unknown role, pg_hba.conf refusal */
	DB_NO_DATABASE,     /* 3D000 */
	DB_SSL_REQUIRED,    /* the server refuses unencrypted connections */
	DB_SSL_UNSUPPORTED, /* the URL requires SSL, the server has none */
	DB_TOO_MANY,        /* 53300 */
	DB_STARTING,        /* 57P03: starting up, shutting down, in recovery: retry */
	DB_OTHER,
};

/* Classify from the SQLSTATE (when the server sent one; NULL or "" otherwise) and the
 * message libpq gave (PQerrorMessage; NULL allowed).  Both NULL/empty: DB_OK. */
enum db_failure db_failure_classify(const char *sqlstate, const char *libpq_message);
/* A stable lower-case name for JSON output ("refused", "auth-failed" ...). */
const char *db_failure_name(enum db_failure f);
/* The explanation and next step as a template (static) whose placeholders {where},
 * {host}, {port}, {db} and {user} db_failure_explain() fills in; "" for DB_OK/DB_OTHER. */
const char *db_failure_hint(enum db_failure f);
/* db_failure_hint() filled in from the conninfo the connection used (keys/values may be
 * NULL: generic words then): {where} is "host:port" (the route's address when the host is
 * a compose service: "db (127.0.0.1:54321)").  Owned; "" for DB_OK and DB_OTHER. */
char *db_failure_explain(enum db_failure f, char *const *keys, char *const *values);

/* ---- Probe ------------------------------------------------------------------------------ */

struct db_probe_opts {
	int attempts;         /* <= 0: 3 */
	int timeout_s;        /* per attempt; <= 0: 5 */
	int query_timeout_ms; /* db_set_timeout on the connection, the probe's own round trip
			       * included; <= 0: none */
};

struct db_probe {
	enum db_failure failure; /* DB_OK when connected */
	char *error;             /* the last failure's message (masked by libpq: no password) */
	int attempts;            /* how many were made */
	int server_version;      /* libpq's number, e.g. 150008 */
	double connect_ms;       /* the successful connection's set-up */
	double rtt_ms;           /* one SELECT 1 after it */
};

/*
 * Connect with keys/values (db_url_conninfo), up to o->attempts times with exponential
 * backoff between them (1 s, 2 s, 4 s ...) while the failure may pass (refused, timeout,
 * too many clients, starting up, name not resolved); at once for the rest.  Then the
 * version and one round trip.  0 with *out connected (owned), or -1 with res->failure and
 * res->error set.  res is released with db_probe_release.
 */
int db_probe(struct db_conn **out, const char *const *keys, const char *const *values,
	     const struct db_probe_opts *o, struct db_probe *res);
void db_probe_release(struct db_probe *res);

/* ---- Migrations: the libpq side of migrate deploy and resolve (db/migrate.c) ------------- */

/* Take the session-level advisory lock key (pg_advisory_lock), waiting at most timeout_s
 * seconds (<= 0: as long as it takes).  It is held until the connection closes.  After
 * the deadline: -1 with err->sqlstate "55P03" and a message naming the lock. */
int db_advisory_lock(struct db_conn *c, long long key, int timeout_s, struct px_error *err);

/* Run one parameterised statement (text parameters, types inferred); rows are ignored. */
int db_exec_params(struct db_conn *c, const char *sql, int nparams, const char *const *params,
		   struct px_error *err);

/* Run script (any number of statements) in one simple-query call, as Prisma runs a
 * migration.  On failure: -1, err carries the SQLSTATE, and *db_error (owned) is the
 * server's error as Prisma's engine records it: "SEVERITY: message", "\nDETAIL: ...",
 * "\nHINT: ...", then a "Position:" excerpt of the script when the server gave one.
 * *db_error is NULL on success. */
int db_exec_script(struct db_conn *c, const char *script, char **db_error, struct px_error *err);

#endif
