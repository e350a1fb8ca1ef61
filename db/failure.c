/* failure.c - why a connection to the database failed, in the user's words, and what to
 * do next.  Matches libpq 15's and the PostgreSQL 15 server's English messages. */
#include "db/db.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool has(const char *msg, const char *needle)
{
	return strstr(msg, needle) != NULL;
}

/* The server's FATAL message about a missing pg_hba.conf line ends with the connection's
 * encryption: "SSL off" up to PostgreSQL 15, "no encryption" from 16 on.  An unencrypted
 * connection refused that way is most often a server that only has hostssl lines. */
static bool refused_unencrypted(const char *msg)
{
	return has(msg, "no pg_hba.conf entry") &&
	       (has(msg, "SSL off") || has(msg, "no encryption"));
}

static enum db_failure classify_sqlstate(const char *st, const char *msg)
{
	if (strcmp(st, "28P01") == 0)
		return DB_AUTH_FAILED;
	if (strcmp(st, "28000") == 0)
		return refused_unencrypted(msg) ? DB_SSL_REQUIRED : DB_AUTH_FAILED;
	if (strcmp(st, "3D000") == 0)
		return DB_NO_DATABASE;
	if (strcmp(st, "53300") == 0)
		return DB_TOO_MANY;
	if (strcmp(st, "57P03") == 0)
		return DB_STARTING;
	return DB_OTHER;
}

enum db_failure db_failure_classify(const char *sqlstate, const char *libpq_message)
{
	const char *msg = libpq_message != NULL ? libpq_message : "";
	enum db_failure f;

	if (sqlstate != NULL && sqlstate[0] != '\0') {
		f = classify_sqlstate(sqlstate, msg);
		if (f != DB_OTHER)
			return f;
	} else if (msg[0] == '\0') {
		return DB_OK;
	}
	/* Order matters: the SSL texts before the generic ones they contain words of, the
	 * role before "does not exist", the server's FATAL texts before libpq's hints. */
	if (has(msg, "too many clients") || has(msg, "remaining connection slots are reserved"))
		return DB_TOO_MANY;
	if (has(msg, "server does not support SSL, but SSL was required"))
		return DB_SSL_UNSUPPORTED;
	if (refused_unencrypted(msg) || has(msg, "SSL connection is required") ||
	    has(msg, "SSL required"))
		return DB_SSL_REQUIRED;
	if (has(msg, "authentication failed for user") || has(msg, "no password supplied") ||
	    has(msg, "no pg_hba.conf entry") || (has(msg, "role \"") && has(msg, "does not exist")))
		return DB_AUTH_FAILED;
	if (has(msg, "database \"") && has(msg, "does not exist"))
		return DB_NO_DATABASE;
	if (has(msg, "the database system is starting up") ||
	    has(msg, "the database system is shutting down") ||
	    has(msg, "the database system is in recovery mode") ||
	    has(msg, "the database system is not yet accepting connections") ||
	    has(msg, "the database system is not accepting connections"))
		return DB_STARTING;
	if (has(msg, "could not translate host name"))
		return DB_NAME_UNRESOLVED;
	/* TCP: ECONNREFUSED; a Unix socket that does not exist: ENOENT with libpq's hint */
	if (has(msg, "Connection refused") || has(msg, "Is the server running"))
		return DB_REFUSED;
	if (has(msg, "timeout expired") || has(msg, "Connection timed out") ||
	    has(msg, "No route to host") || has(msg, "Network is unreachable"))
		return DB_TIMEOUT;
	return DB_OTHER;
}

static const struct {
	enum db_failure f;
	const char *name;
	const char *hint;
} failures[] = {
    {DB_OK, "ok", ""},
    {DB_REFUSED, "refused",
     "nothing listens at {where} — is the database service up? `prisync ps`"},
    {DB_NAME_UNRESOLVED, "name-unresolved",
     "the host name '{host}' does not resolve — a compose service name only resolves inside "
     "the project's network: is the service running (`prisync ps`), is the host spelled "
     "right?"},
    {DB_TIMEOUT, "timeout",
     "no answer from {where} in time — a wrong address, a firewall, or a database still "
     "starting: `prisync ps`"},
    {DB_AUTH_FAILED, "auth-failed",
     "the server refused user '{user}' — check the user name and the password in the URL "
     "(special characters in a password must be percent-encoded)"},
    {DB_NO_DATABASE, "no-database", "database '{db}' does not exist — run `prisync db-create`"},
    {DB_SSL_REQUIRED, "ssl-required",
     "the server at {where} accepts only encrypted connections — add sslmode=require to the "
     "URL"},
    {DB_SSL_UNSUPPORTED, "ssl-unsupported",
     "the server at {where} does not support SSL but the URL requires it — use "
     "sslmode=prefer or disable, or enable ssl on the server"},
    {DB_TOO_MANY, "too-many-connections",
     "the server at {where} has no connection slots left — stop idle clients, lower "
     "connection_limit in the apps' URLs, or raise max_connections"},
    {DB_STARTING, "starting",
     "the database at {where} is starting up or shutting down — retry in a moment "
     "(`prisync db-check --retries N`)"},
    {DB_OTHER, "other", ""},
};

const char *db_failure_name(enum db_failure f)
{
	for (size_t i = 0; i < N(failures); i++)
		if (failures[i].f == f)
			return failures[i].name;
	return "other";
}

const char *db_failure_hint(enum db_failure f)
{
	for (size_t i = 0; i < N(failures); i++)
		if (failures[i].f == f)
			return failures[i].hint;
	return "";
}

/* "host:port", IPv6 in brackets; "db (127.0.0.1:54321)" when hostaddr routes the name. */
static void add_where(struct px_buf *b, const char *host, const char *addr, const char *port)
{
	const char *target = addr != NULL && addr[0] != '\0' ? addr : host;
	bool v6 = strchr(target, ':') != NULL && target[0] != '/';

	if (target != host)
		px_buf_addf(b, "%s (", host);
	if (target[0] == '/')
		px_buf_addf(b, "the socket in %s (port %s)", target, port);
	else
		px_buf_addf(b, v6 ? "[%s]:%s" : "%s:%s", target, port);
	if (target != host)
		px_buf_addch(b, ')');
}

char *db_failure_explain(enum db_failure f, char *const *keys, char *const *values)
{
	const char *t = db_failure_hint(f);
	const char *host = db_conninfo_get(keys, values, "host");
	const char *addr = db_conninfo_get(keys, values, "hostaddr");
	const char *port = db_conninfo_get(keys, values, "port");
	const char *db = db_conninfo_get(keys, values, "dbname");
	const char *user = db_conninfo_get(keys, values, "user");
	struct px_buf b = PX_BUF_INIT;

	if (host == NULL)
		host = "localhost";
	if (port == NULL)
		port = "5432";
	while (*t != '\0') {
		const char *close;
		size_t n;

		if (*t != '{' || (close = strchr(t, '}')) == NULL) {
			px_buf_addch(&b, *t++);
			continue;
		}
		n = (size_t)(close - t + 1);
		if (strncmp(t, "{where}", n) == 0)
			add_where(&b, host, addr, port);
		else if (strncmp(t, "{host}", n) == 0)
			px_buf_adds(&b, host);
		else if (strncmp(t, "{port}", n) == 0)
			px_buf_adds(&b, port);
		else if (strncmp(t, "{db}", n) == 0)
			px_buf_adds(&b, db != NULL ? db : "postgres");
		else if (strncmp(t, "{user}", n) == 0)
			px_buf_adds(&b, user != NULL ? user : "(default)");
		else
			px_buf_add(&b, t, n);
		t = close + 1;
	}
	return px_buf_detach(&b, NULL);
}
