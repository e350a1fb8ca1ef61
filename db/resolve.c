/* resolve.c - which database a schema uses: its database-url, the run-in service's
 * environment, the environment/.env, or a database-secret JSON file. */
#include "db/db.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "compose/compose.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* path as the user wrote it, roughly: relative to the project directory when inside it
 * ("./secrets/db.json" with dot, "compose.yaml" without), else as is.  Owned. */
static char *project_relative(const struct compose_project *p, const char *path, bool dot)
{
	size_t n = p->working_dir != NULL ? strlen(p->working_dir) : 0;
	char *out;

	if (n > 0 && strncmp(path, p->working_dir, n) == 0 && path[n] == '/') {
		xasprintf(&out, "%s%s", dot ? "./" : "", path + n + 1);
		return out;
	}
	return xstrdup(path);
}

static bool engine_is_postgres(const char *engine)
{
	/* Secrets Manager writes "postgres" for RDS and Aurora PostgreSQL */
	static const char *const names[] = {"postgres", "postgresql", "aurora-postgresql"};

	for (size_t i = 0; i < N(names); i++)
		if (strcasecmp(engine, names[i]) == 0)
			return true;
	return false;
}

/* A string field: 1 present, 0 missing (absent, null or ""), -1 another type. */
static int secret_string(json_t *root, const char *key, bool empty_ok, const char **out)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return (*out)[0] != '\0' || empty_ok ? 1 : 0;
}

/* The port: a number or a string of digits (both occur in the wild); 5432 when absent. */
static int secret_port(json_t *root, unsigned *out)
{
	json_t *v = json_object_get(root, "port");
	long long n = -1;

	*out = 5432;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		n = 0;
		for (; *s != '\0' && n <= 65535; s++)
			n = isdigit((unsigned char)*s) ? n * 10 + (*s - '0') : 70000;
		if (json_string_value(v)[0] == '\0')
			n = -1;
	}
	if (n < 1 || n > 65535)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* postgresql://user:password@host:port/dbname, every part percent-encoded. */
static char *build_url(const char *host, unsigned port, const char *user, const char *password,
		       const char *dbname)
{
	struct px_buf u = PX_BUF_INIT;
	char *e;

	px_buf_adds(&u, "postgresql://");
	e = db_url_encode_password(user);
	px_buf_addf(&u, "%s:", e);
	free(e);
	e = db_url_encode_password(password);
	px_buf_addf(&u, "%s@", e);
	free(e);
	e = db_url_encode_password(host);
	if (strchr(host, ':') != NULL) {
		/* IPv6: in brackets, its ':' kept (a zone's '%' stays encoded) */
		px_buf_addch(&u, '[');
		for (const char *c = e; *c != '\0'; c++) {
			if (strncmp(c, "%3A", 3) == 0) {
				px_buf_addch(&u, ':');
				c += 2;
			} else {
				px_buf_addch(&u, *c);
			}
		}
		px_buf_addch(&u, ']');
	} else {
		px_buf_adds(&u, e);
	}
	free(e);
	e = db_url_encode_password(dbname);
	px_buf_addf(&u, ":%u/%s", port, e);
	free(e);
	return px_buf_detach(&u, NULL);
}

/* postgresql://user:password@host:port/dbname from the secret at path (absolute). */
static int read_secret(const struct compose_project *p, const char *path, char **url,
		       struct px_error *err)
{
	static const char *const required[] = {"host", "username", "password", "dbname"};
	const char *val[N(required)];
	struct px_buf buf = PX_BUF_INIT, missing = PX_BUF_INIT;
	char *shown = project_relative(p, path, true);
	json_t *root = NULL;
	json_error_t jerr;
	const char *engine;
	unsigned port;
	int rc = -1;

	*url = NULL;
	if (px_path_read_file(path, &buf, err) < 0) {
		px_error_wrap(err, "database-secret %s", shown);
		goto out;
	}
	root = json_loadb(buf.data != NULL ? buf.data : "", buf.len, 0, &jerr);
	if (root == NULL) {
		/* jansson's text quotes the offending token: it could be the password */
		px_error_set(err, 0, "database-secret '%s' is not valid JSON (line %d, column %d)",
			     shown, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		px_error_set(err, 0, "database-secret '%s' is not a JSON object", shown);
		goto out;
	}
	switch (secret_string(root, "engine", false, &engine)) {
	case -1:
		px_error_set(err, 0, "database-secret '%s': 'engine' must be a string", shown);
		goto out;
	case 1:
		if (!engine_is_postgres(engine)) {
			px_error_set(err, 0,
				     "db-check supports PostgreSQL; the engine of database-secret "
				     "'%s' is %s",
				     shown, engine);
			goto out;
		}
		break;
	default:
		break;
	}
	for (size_t i = 0; i < N(required); i++) {
		int got =
		    secret_string(root, required[i], strcmp(required[i], "password") == 0, &val[i]);

		if (got < 0) {
			px_error_set(err, 0, "database-secret '%s': '%s' must be a string", shown,
				     required[i]);
			goto out;
		}
		if (got == 0)
			px_buf_addf(&missing, "%s%s", missing.len > 0 ? ", " : "", required[i]);
	}
	if (missing.len > 0) {
		px_error_set(err, 0, "database-secret '%s' lacks: %s", shown,
			     px_buf_cstr(&missing));
		goto out;
	}
	if (secret_port(root, &port) < 0) {
		px_error_set(err, 0, "database-secret '%s': 'port' must be a port number", shown);
		goto out;
	}

	*url = build_url(val[0], port, val[1], val[2], val[3]);
	rc = 0;
out:
	json_decref(root);
	/* the file holds a password: do not leave it in freed memory longer than needed */
	if (buf.data != NULL)
		explicit_bzero(buf.data, buf.len);
	px_buf_release(&buf);
	px_buf_release(&missing);
	free(shown);
	return rc;
}

int db_url_resolve(const struct compose_project *p, const struct compose_prisync_schema *sc,
		   char **url_out, char **where_out, enum db_url_source *source_out,
		   struct px_error *err)
{
	const char *name = sc->name != NULL ? sc->name : "default";
	const char *var = sc->database_url_env;
	const struct compose_service *svc = NULL;
	const char *v;
	char *file = NULL;
	enum db_url_source src = DB_URL_SOURCE_NONE;

	*url_out = NULL;
	*where_out = NULL;
	if (source_out != NULL)
		*source_out = DB_URL_SOURCE_NONE;

	if (sc->database_url != NULL) {
		file = project_relative(p,
					sc->mark.file != NULL && sc->mark.file[0] != '\0'
					    ? sc->mark.file
					    : "the compose file",
					false);
		if (sc->database_url[0] == '\0') {
			px_error_set(err, 0,
				     "database-url of schema '%s' in %s is empty — is the variable "
				     "it names set?",
				     name, file);
			free(file);
			return -1;
		}
		*url_out = xstrdup(sc->database_url);
		xasprintf(where_out, "database-url in %s", file);
		free(file);
		src = DB_URL_SOURCE_CONFIG;
		goto found;
	}

	/* the loader defaults database-url-env to DATABASE_URL when nothing is set */
	if (var == NULL && sc->database_secret == NULL)
		var = "DATABASE_URL";
	if (var != NULL) {
		if (sc->run_in != NULL && strcmp(sc->run_in, "host") != 0)
			svc = compose_project_service(p, sc->run_in);
		v = svc != NULL ? compose_map_get(&svc->environment, var) : NULL;
		if (v != NULL && v[0] != '\0') {
			*url_out = xstrdup(v);
			xasprintf(where_out, "%s of service '%s'", var, svc->name);
			src = DB_URL_SOURCE_SERVICE_ENV;
			goto found;
		}
		v = compose_map_get(&p->environment, var);
		if (v != NULL && v[0] != '\0') {
			*url_out = xstrdup(v);
			xasprintf(where_out, "%s in the environment/.env", var);
			src = DB_URL_SOURCE_ENVIRONMENT;
			goto found;
		}
	}

	if (sc->database_secret != NULL) {
		if (read_secret(p, sc->database_secret, url_out, err) < 0)
			return -1;
		file = project_relative(p, sc->database_secret, true);
		xasprintf(where_out, "database-secret %s", file);
		free(file);
		src = DB_URL_SOURCE_SECRET;
		goto found;
	}

	if (var == NULL)
		var = "DATABASE_URL"; /* not reached: without var the secret was tried */
	if (sc->run_in != NULL && strcmp(sc->run_in, "host") != 0)
		return px_error_set(err, 0,
				    "no database URL for schema '%s': %s is set neither in the "
				    "environment of service '%s' nor in the environment/.env — set "
				    "it, or set database-url or database-secret under x-prisync",
				    name, var, sc->run_in);
	return px_error_set(err, 0,
			    "no database URL for schema '%s': %s is not set in the "
			    "environment/.env — set it, or set database-url or database-secret "
			    "under x-prisync",
			    name, var);
found:
	if (source_out != NULL)
		*source_out = src;
	return 0;
}
