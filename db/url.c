/* url.c - postgres:// URLs taken apart, encoded and masked, and turned into the libpq
 * keywords that connect where Prisma would, its own parameters translated or dropped. */
#include "db/db.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "compose/compose.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_PORT 5432

/* ---- percent-encoding ------------------------------------------------------------- */

/* RFC 3986 unreserved; deliberately not isalnum(): the locale must not widen it. */
static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* raw with every byte outside unreserved (and outside keep, may be NULL) as %XX. */
static void add_encoded(struct px_buf *b, const char *raw, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *s = (const unsigned char *)raw; *s != '\0'; s++) {
		if (unreserved(*s) || (keep != NULL && strchr(keep, *s) != NULL)) {
			px_buf_addch(b, (char)*s);
		} else {
			px_buf_addch(b, '%');
			px_buf_addch(b, hex[*s >> 4]);
			px_buf_addch(b, hex[*s & 0xf]);
		}
	}
}

char *db_url_encode_password(const char *raw)
{
	struct px_buf b = PX_BUF_INIT;

	add_encoded(&b, raw, NULL);
	return px_buf_detach(&b, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0, len) into *out (owned).  An invalid %-sequence stays literal, as Prisma's
 * percent_decode leaves it; plus: '+' is a space (Prisma reads queries as form data).
 * -1 when the result would hold a NUL (libpq takes C strings). */
static int decode(const char *s, size_t len, bool plus, char **out)
{
	struct px_buf b = PX_BUF_INIT;

	*out = NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			if (hi == 0 && lo == 0) {
				px_buf_release(&b);
				return -1;
			}
			px_buf_addch(&b, (char)(hi << 4 | lo));
			i += 2;
		} else if (plus && s[i] == '+') {
			px_buf_addch(&b, ' ');
		} else {
			px_buf_addch(&b, s[i]);
		}
	}
	*out = px_buf_detach(&b, NULL);
	return 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

/* What a scheme is called in the "not PostgreSQL" error, with advice where there is some. */
static const struct {
	const char *scheme;
	const char *name;
	const char *advice;
} other_schemes[] = {
    {"mysql", "mysql", NULL},
    {"mariadb", "mariadb", NULL},
    {"file", "sqlite", NULL},
    {"sqlite", "sqlite", NULL},
    {"sqlserver", "sqlserver", NULL},
    {"mongodb", "mongodb", NULL},
    {"mongodb+srv", "mongodb", NULL},
    {"prisma", "prisma (Prisma Accelerate)", "use the database's direct postgresql:// URL"},
    {"prisma+postgres", "prisma+postgres (Prisma Postgres / Accelerate)",
     "use the database's direct postgresql:// URL"},
};

static int scheme_error(const char *scheme, struct px_error *err)
{
	for (size_t i = 0; i < N(other_schemes); i++) {
		if (strcmp(scheme, other_schemes[i].scheme) != 0)
			continue;
		if (other_schemes[i].advice != NULL)
			return px_error_set(err, 0,
					    "db-check supports PostgreSQL; this URL is %s: %s",
					    other_schemes[i].name, other_schemes[i].advice);
		return px_error_set(err, 0, "db-check supports PostgreSQL; this URL is %s",
				    other_schemes[i].name);
	}
	return px_error_set(err, 0, "db-check supports PostgreSQL; this URL is %s", scheme);
}

static int nul_error(const char *part, struct px_error *err)
{
	return px_error_set(err, 0, "the database URL's %s contains %%00", part);
}

/* A port: "" (none: 0) or 1..65535. */
static int parse_port(const char *s, size_t len, unsigned *out)
{
	unsigned long v = 0;

	*out = 0;
	if (len == 0)
		return 0;
	if (len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int port_error(struct px_error *err)
{
	/* the text is not quoted back: a mangled URL can put part of a password here */
	return px_error_set(err, 0, "the port of the database URL is not a number from 1 to 65535");
}

/* One "host[:port]" or "[v6][:port]" of the host list. */
static int parse_host(const char *s, size_t len, struct db_url_host *h, struct px_error *err)
{
	const char *colon = NULL;
	size_t hlen = len;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return px_error_set(err, 0,
					    "the database URL has a '[' with no ']' in its host");
		if (close + 1 < s + len && close[1] != ':')
			return port_error(err);
		if (close + 1 < s + len &&
		    parse_port(close + 2, (size_t)(s + len - close - 2), &h->port) < 0)
			return port_error(err);
		if (decode(s + 1, (size_t)(close - s - 1), false, &h->name) < 0)
			return nul_error("host", err);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (colon != NULL) {
		hlen = (size_t)(colon - s);
		if (parse_port(colon + 1, (size_t)(s + len - colon - 1), &h->port) < 0)
			return port_error(err);
	}
	if (decode(s, hlen, false, &h->name) < 0)
		return nul_error("host", err);
	return 0;
}

/* The comma-separated host list (libpq's multi-host form); commas inside [] are not
 * separators. */
static int parse_hosts(const char *s, size_t len, struct db_url *u, struct px_error *err)
{
	size_t start = 0;
	int depth = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] == '[')
			depth++;
		else if (i < len && s[i] == ']')
			depth--;
		if (i < len && (s[i] != ',' || depth > 0))
			continue;
		u->hosts = xreallocarray(u->hosts, u->nhosts + 1, sizeof(*u->hosts));
		memset(&u->hosts[u->nhosts], 0, sizeof(*u->hosts));
		u->nhosts++;
		if (parse_host(s + start, i - start, &u->hosts[u->nhosts - 1], err) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

static int parse_query(const char *s, size_t len, struct db_url *u, struct px_error *err)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		const char *piece = s + start, *eq;
		size_t plen = i - start;
		struct db_url_param *pr;

		if (i < len && s[i] != '&')
			continue;
		start = i + 1;
		if (plen == 0)
			continue;
		eq = memchr(piece, '=', plen);
		u->params = xreallocarray(u->params, u->nparams + 1, sizeof(*u->params));
		pr = &u->params[u->nparams++];
		memset(pr, 0, sizeof(*pr));
		if (decode(piece, eq != NULL ? (size_t)(eq - piece) : plen, true, &pr->key) < 0 ||
		    decode(eq != NULL ? eq + 1 : "",
			   eq != NULL ? (size_t)(piece + plen - eq - 1) : 0, true, &pr->value) < 0)
			return nul_error("parameters", err);
	}
	return 0;
}

static int unencoded_error(struct px_error *err)
{
	return px_error_set(err, 0,
			    "the database URL has an '@' after its host: a password holding '/', "
			    "'?' or '#' must be percent-encoded (%%2F, %%3F, %%23)");
}

/* With no '@' in the authority, an '@' where none belongs (the path, a parameter's name,
 * the fragment) means a password's unencoded '/', '?' or '#' cut the URL short: what
 * follows would otherwise show up as a database name or parameter in messages.  An '@'
 * in a parameter's value (application_name=me@host) is fine. */
static bool misplaced_at(const char *auth_end, const char *end)
{
	const char *c = auth_end;

	while (c < end && *c != '?' && *c != '#')
		if (*c++ == '@')
			return true;
	if (c < end && *c == '?') {
		bool in_key = true;

		for (c++; c < end && *c != '#'; c++) {
			if (*c == '&')
				in_key = true;
			else if (*c == '=')
				in_key = false;
			else if (*c == '@' && in_key)
				return true;
		}
	}
	return c < end && memchr(c, '@', (size_t)(end - c)) != NULL;
}

int db_url_parse(const char *url, struct db_url *out, struct px_error *err)
{
	const char *start = url, *end, *p, *auth, *auth_end, *at = NULL, *rest;
	char *scheme = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* surrounding blanks (a value copied from somewhere) do not count, as in Prisma */
	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (start == end)
		return px_error_set(err, 0, "the database URL is empty");

	p = start;
	if (isalpha((unsigned char)*p))
		while (p < end &&
		       (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
			p++;
	/* "localhost:5432/app" is a host and port, not a scheme */
	if (p == start || p >= end || *p != ':' || (p + 1 < end && isdigit((unsigned char)p[1])))
		return px_error_set(err, 0,
				    "the database URL is not a URL: expected "
				    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE");
	scheme = xstrndup(start, (size_t)(p - start));
	for (char *c = scheme; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(scheme, "postgresql") != 0 && strcmp(scheme, "postgres") != 0) {
		scheme_error(scheme, err);
		goto out;
	}
	if (end - p < 3 || p[1] != '/' || p[2] != '/') {
		px_error_set(err, 0, "the database URL lacks '//' after '%s:'", scheme);
		goto out;
	}
	out->scheme = scheme;
	scheme = NULL;

	auth = p + 3;
	auth_end = auth;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	/* the last '@' ends the user info: an unencoded '@' in a password is taken as Prisma
	 * (the WHATWG URL parser) takes it */
	for (const char *c = auth; c < auth_end; c++)
		if (*c == '@')
			at = c;
	if (at == NULL && misplaced_at(auth_end, end)) {
		unencoded_error(err);
		goto out;
	}
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		const char *uend = colon != NULL ? colon : at;

		if (decode(auth, (size_t)(uend - auth), false, &out->user) < 0) {
			nul_error("user name", err);
			goto out;
		}
		if (colon != NULL &&
		    decode(colon + 1, (size_t)(at - colon - 1), false, &out->password) < 0) {
			nul_error("password", err);
			goto out;
		}
	}
	if (parse_hosts(at != NULL ? at + 1 : auth,
			(size_t)(auth_end - (at != NULL ? at + 1 : auth)), out, err) < 0) {
		/* "user:pa/ss@host": what looked like a port is the start of a password */
		if (at == NULL && memchr(auth_end, '@', (size_t)(end - auth_end)) != NULL)
			unencoded_error(err);
		goto out;
	}

	rest = auth_end;
	if (rest < end && *rest == '/') {
		const char *seg = rest + 1, *seg_end = seg;

		/* Prisma takes the first path segment */
		while (seg_end < end && *seg_end != '/' && *seg_end != '?' && *seg_end != '#')
			seg_end++;
		if (seg_end > seg &&
		    decode(seg, (size_t)(seg_end - seg), false, &out->dbname) < 0) {
			nul_error("database name", err);
			goto out;
		}
		rest = seg_end;
		while (rest < end && *rest != '?' && *rest != '#')
			rest++;
	}
	if (rest < end && *rest == '?') {
		const char *q = rest + 1, *q_end = q;

		while (q_end < end && *q_end != '#')
			q_end++;
		if (parse_query(q, (size_t)(q_end - q), out, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(scheme);
	return rc;
}

void db_url_release(struct db_url *u)
{
	if (u == NULL)
		return;
	free(u->scheme);
	free(u->user);
	free(u->password);
	for (size_t i = 0; i < u->nhosts; i++)
		free(u->hosts[i].name);
	free(u->hosts);
	free(u->dbname);
	for (size_t i = 0; i < u->nparams; i++) {
		free(u->params[i].key);
		free(u->params[i].value);
	}
	free(u->params);
	memset(u, 0, sizeof(*u));
}

const char *db_url_param(const struct db_url *u, const char *key)
{
	for (size_t i = u->nparams; i > 0; i--)
		if (strcmp(u->params[i - 1].key, key) == 0)
			return u->params[i - 1].value;
	return NULL;
}

/* ---- masking ------------------------------------------------------------------------ */

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A URL whose password holds an unencoded '/', '?' or '#' has its '@' after the
 * authority, where px_mask_urls() (rightly, for running text) does not look: mask from
 * the first ':' of the would-be user info to the last '@'.  Errs towards masking too
 * much; a well-formed URL is left alone. */
static char *mask_broken_userinfo(char *s)
{
	char *auth = strstr(s, "://"), *auth_end, *end, *at, *colon;
	struct px_buf b = PX_BUF_INIT;
	bool broken;

	if (auth == NULL)
		return s;
	auth += 3;
	auth_end = auth + strcspn(auth, "/?#");
	end = auth_end + strlen(auth_end);
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return s; /* well-formed: px_mask_urls did it */
	at = strrchr(auth_end, '@');
	if (at == NULL)
		return s;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL || colon + 1 >= at)
		return s;
	broken = misplaced_at(auth_end, end);
	if (!broken && colon < auth_end) {
		/* "host:5432/..." is a port; "user:pa?x=1@..." is not */
		const char *pend = colon + 1 + strcspn(colon + 1, ",/?#");

		broken = pend > auth_end || !all_digits(colon + 1, (size_t)(pend - colon - 1));
	}
	if (!broken)
		return s;
	px_buf_add(&b, s, (size_t)(colon + 1 - s));
	px_buf_adds(&b, "****");
	px_buf_adds(&b, at);
	free(s);
	return px_buf_detach(&b, NULL);
}

/* The values of password= and sslpassword= (query parameters, or conninfo keywords). */
static char *mask_password_params(char *s)
{
	static const char *const names[] = {"password=", "sslpassword="};
	struct px_buf b = PX_BUF_INIT;
	const char *copied = s;

	for (const char *c = s; *c != '\0'; c++) {
		bool hit = false;
		size_t nlen = 0;

		if (c != s && c[-1] != '?' && c[-1] != '&' && !isspace((unsigned char)c[-1]))
			continue;
		for (size_t i = 0; i < N(names) && !hit; i++) {
			nlen = strlen(names[i]);
			hit = strncmp(c, names[i], nlen) == 0;
		}
		if (!hit)
			continue;
		c += nlen;
		px_buf_add(&b, copied, (size_t)(c - copied));
		if (*c == '\'') {
			/* conninfo quoting: 'value with spaces', \' escapes */
			c++;
			while (*c != '\0' && *c != '\'')
				c += c[0] == '\\' && c[1] != '\0' ? 2 : 1;
			px_buf_adds(&b, "'****'");
			if (*c == '\'')
				c++;
		} else {
			c += strcspn(c, "&# \t\n");
			px_buf_adds(&b, "****");
		}
		copied = c;
		if (*c == '\0')
			break;
	}
	if (copied == s) {
		px_buf_release(&b);
		return s;
	}
	px_buf_adds(&b, copied);
	free(s);
	return px_buf_detach(&b, NULL);
}

char *db_url_mask(const char *url)
{
	char *s = px_mask_urls(url);

	s = mask_broken_userinfo(s);
	return mask_password_params(s);
}

/* ---- compose services as hosts ------------------------------------------------------ */

void db_host_map_add(struct db_host_map *m, const char *name, unsigned target, const char *host,
		     unsigned port)
{
	struct db_host_route *r;

	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	r = &m->v[m->n++];
	r->name = xstrdup(name);
	r->target = target;
	r->host = host != NULL ? xstrdup(host) : NULL;
	r->port = port;
}

/* Where a port bound to host_ip is reached from this host. */
static const char *loopback_for(const char *host_ip)
{
	if (host_ip == NULL || host_ip[0] == '\0' || strcmp(host_ip, "0.0.0.0") == 0)
		return "127.0.0.1";
	if (strcmp(host_ip, "::") == 0 || strcmp(host_ip, "[::]") == 0)
		return "::1";
	return host_ip;
}

static void add_service_routes(struct db_host_map *m, const struct compose_service *s,
			       const char *name)
{
	for (size_t i = 0; i < s->nports; i++) {
		const struct compose_port *pt = &s->ports[i];
		unsigned published;

		if (pt->protocol != NULL && strcmp(pt->protocol, "tcp") != 0)
			continue;
		/* ranges and ephemeral ports are only known to the engine */
		if (pt->published == NULL ||
		    parse_port(pt->published, strlen(pt->published), &published) < 0 ||
		    published == 0)
			continue;
		db_host_map_add(m, name, pt->target, loopback_for(pt->host_ip), published);
	}
	db_host_map_add(m, name, 0, NULL, 0);
}

void db_host_map_add_compose(struct db_host_map *m, const struct compose_project *p)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];

		add_service_routes(m, s, s->name);
		if (s->container_name != NULL)
			add_service_routes(m, s, s->container_name);
		for (size_t k = 0; k < s->nnetworks; k++)
			for (size_t a = 0; a < s->networks[k].aliases.n; a++)
				add_service_routes(m, s, s->networks[k].aliases.v[a]);
	}
}

void db_host_map_release(struct db_host_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].host);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* The best route for name:port (see db_host_map_add), or NULL when name is no service. */
static const struct db_host_route *route_find(const struct db_host_map *m, const char *name,
					      unsigned port)
{
	const struct db_host_route *best = NULL;
	int best_score = 0;

	for (size_t i = 0; m != NULL && i < m->n; i++) {
		const struct db_host_route *r = &m->v[i];
		int score;

		if (strcasecmp(r->name, name) != 0)
			continue;
		if (r->host == NULL)
			score = 1;
		else if (r->target == port)
			score = 3;
		else if (r->target == 0)
			score = 2;
		else
			continue;
		if (score > best_score) {
			best = r;
			best_score = score;
		}
	}
	return best;
}

/* ---- libpq keywords ----------------------------------------------------------------- */

/* An ordered keyword list where setting a key again replaces its value in place. */
struct kvlist {
	char **k, **v;
	size_t n;
};

static void kv_set(struct kvlist *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->k[i], key) == 0) {
			free(l->v[i]);
			l->v[i] = xstrdup(value);
			return;
		}
	}
	l->k = xreallocarray(l->k, l->n + 2, sizeof(*l->k));
	l->v = xreallocarray(l->v, l->n + 2, sizeof(*l->v));
	l->k[l->n] = xstrdup(key);
	l->v[l->n] = xstrdup(value);
	l->n++;
	l->k[l->n] = NULL;
	l->v[l->n] = NULL;
}

static const char *kv_get(const struct kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->k[i], key) == 0)
			return l->v[i];
	return NULL;
}

static void kv_release(struct kvlist *l)
{
	db_conninfo_free(l->k, l->v);
	memset(l, 0, sizeof(*l));
}

/* Prisma's own parameters (quaint's PostgresUrl) that libpq does not know or reads
 * differently, with nothing to translate. */
static const char *const prisma_dropped[] = {
    "connection_limit",
    "pool_timeout",
    "socket_timeout",
    "pgbouncer",
    "statement_cache_size",
    "sslaccept",
    "sslpassword",
    "max_connection_lifetime",
    "max_idle_connection_lifetime",
};

static bool is_dropped(const char *key)
{
	for (size_t i = 0; i < N(prisma_dropped); i++)
		if (strcmp(key, prisma_dropped[i]) == 0)
			return true;
	return false;
}

static bool one_of(const char *v, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, set[i]) == 0)
			return true;
	return false;
}

/* The Prisma-level settings gathered from the parameters. */
struct prisma_params {
	const char *schema, *sslmode, *sslaccept, *sslcert, *options, *host, *port;
	const char *channel_binding;
	bool pgbouncer;
};

/* search_path as a startup option: the schema quoted as an identifier (as Prisma does,
 * with '"' doubled), then escaped for the options string, where blanks separate
 * arguments and a backslash escapes the next character. */
static void quote_ident(struct px_buf *b, const char *name)
{
	px_buf_addch(b, '"');
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '"')
			px_buf_addch(b, '"');
		px_buf_addch(b, *c);
	}
	px_buf_addch(b, '"');
}

static void add_search_path(struct px_buf *b, const char *schema)
{
	struct px_buf ident = PX_BUF_INIT;

	quote_ident(&ident, schema);
	px_buf_adds(b, "-c search_path=");
	for (size_t i = 0; i < ident.len; i++) {
		if (isspace((unsigned char)ident.data[i]) || ident.data[i] == '\\')
			px_buf_addch(b, '\\');
		px_buf_addch(b, ident.data[i]);
	}
	px_buf_release(&ident);
}

char *db_url_session_sql(const struct db_url *u)
{
	const char *schema = db_url_param(u, "schema"), *bouncer = db_url_param(u, "pgbouncer");
	struct px_buf b = PX_BUF_INIT;

	if (schema == NULL || bouncer == NULL || strcmp(bouncer, "true") != 0)
		return NULL;
	px_buf_adds(&b, "SET search_path = ");
	quote_ident(&b, schema);
	return px_buf_detach(&b, NULL);
}

/* Split a comma list (libpq's multi-host form) into v; "" gives one empty element. */
static void split_commas(const char *s, struct compose_strv *v)
{
	const char *start = s;

	for (const char *c = s;; c++) {
		char *piece;

		if (*c != ',' && *c != '\0')
			continue;
		piece = xstrndup(start, (size_t)(c - start));
		compose_strv_push(v, piece);
		free(piece);
		if (*c == '\0')
			break;
		start = c + 1;
	}
}

static bool is_numeric_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* host, hostaddr and port: the URL's hosts (or the host parameter), Prisma's defaults,
 * compose services reached through their routes. */
static int set_hosts(struct kvlist *out, const struct db_url *u, const struct prisma_params *pp,
		     const struct db_host_map *map, struct px_error *err)
{
	struct compose_strv hosts = {NULL, 0}, ports = {NULL, 0};
	struct px_buf hb = PX_BUF_INIT, pb = PX_BUF_INIT, ab = PX_BUF_INIT;
	bool mapped = false;
	int rc = -1;

	if (pp->host != NULL) {
		split_commas(pp->host, &hosts);
	} else {
		for (size_t i = 0; i < u->nhosts; i++)
			compose_strv_push(&hosts, u->hosts[i].name);
	}
	if (pp->port != NULL) {
		split_commas(pp->port, &ports);
	} else {
		for (size_t i = 0; i < u->nhosts; i++) {
			char num[16];

			snprintf(num, sizeof(num), "%u", u->hosts[i].port);
			compose_strv_push(&ports, u->hosts[i].port != 0 ? num : "");
		}
	}
	if (ports.n != 1 && ports.n != hosts.n) {
		px_error_set(err, 0, "the database URL gives %zu ports for %zu hosts", ports.n,
			     hosts.n);
		goto out;
	}
	for (size_t i = 0; i < hosts.n; i++) {
		const char *host = hosts.v[i][0] != '\0' ? hosts.v[i] : "localhost";
		const char *ptext = ports.v[ports.n == 1 ? 0 : i];
		const char *addr = "";
		const struct db_host_route *r = NULL;
		unsigned port = DEFAULT_PORT;

		if (ptext[0] != '\0' && parse_port(ptext, strlen(ptext), &port) < 0) {
			port_error(err);
			goto out;
		}
		/* a Unix socket directory (or Linux abstract socket) is never a service */
		if (host[0] != '/' && host[0] != '@')
			r = route_find(map, host, port);
		if (r != NULL && r->host == NULL) {
			px_error_set(err, 0,
				     "the database host '%s' is a compose service, but no running "
				     "container of it is reachable on port %u: start it (`prisync "
				     "up -d`) and see `prisync ps`",
				     host, port);
			goto out;
		}
		if (r != NULL) {
			if (r->port != 0)
				port = r->port;
			/* hostaddr connects while host stays the name TLS verification and
			 * .pgpass know it by */
			if (is_numeric_address(r->host)) {
				addr = r->host;
				mapped = true;
			} else {
				host = r->host;
			}
		}
		if (i > 0) {
			px_buf_addch(&hb, ',');
			px_buf_addch(&pb, ',');
			px_buf_addch(&ab, ',');
		}
		px_buf_adds(&hb, host);
		px_buf_addf(&pb, "%u", port);
		px_buf_adds(&ab, addr);
	}
	kv_set(out, "host", px_buf_cstr(&hb));
	if (mapped)
		kv_set(out, "hostaddr", px_buf_cstr(&ab));
	kv_set(out, "port", px_buf_cstr(&pb));
	rc = 0;
out:
	px_buf_release(&hb);
	px_buf_release(&pb);
	px_buf_release(&ab);
	compose_strv_release(&hosts);
	compose_strv_release(&ports);
	return rc;
}

/* sslmode and sslrootcert as Prisma means them (see db_url_conninfo in db.h). */
static void set_ssl(struct kvlist *out, const struct prisma_params *pp, const char *cert_dir)
{
	static const char *const prisma_modes[] = {"disable", "prefer", "require"};
	static const char *const libpq_modes[] = {"allow", "verify-ca", "verify-full"};
	const char *mode = "prefer";
	bool strict = pp->sslaccept != NULL && strcmp(pp->sslaccept, "accept_invalid_certs") != 0;
	char *cert = NULL;

	if (pp->sslmode != NULL && (one_of(pp->sslmode, prisma_modes, N(prisma_modes)) ||
				    one_of(pp->sslmode, libpq_modes, N(libpq_modes))))
		mode = pp->sslmode;
	if (strict && strcmp(mode, "require") == 0)
		mode = "verify-full";
	kv_set(out, "sslmode", mode);

	if (pp->sslcert != NULL && pp->sslcert[0] != '\0') {
		/* libpq verifies against a root certificate even under require; Prisma with
		 * accept_invalid_certs never verifies */
		if (!strict && strcmp(mode, "require") == 0)
			return;
		cert = cert_dir != NULL ? px_path_abs(cert_dir, pp->sslcert) : xstrdup(pp->sslcert);
		kv_set(out, "sslrootcert", cert);
		free(cert);
	} else if (strict && strcmp(mode, "verify-full") == 0 &&
		   kv_get(out, "sslrootcert") == NULL) {
		/* Prisma (native-tls) trusts the system's CAs; libpq 15 only reads
		 * ~/.postgresql/root.crt unless told otherwise */
		const char *bundle = getenv(X509_get_default_cert_file_env());

		if (bundle == NULL || bundle[0] == '\0')
			bundle = X509_get_default_cert_file();
		kv_set(out, "sslrootcert", bundle);
	}
}

int db_url_conninfo(const struct db_url *u, const struct db_host_map *map, const char *cert_dir,
		    char ***keys, char ***values, struct px_error *err)
{
	static const char *const bindings[] = {"disable", "prefer", "require"};
	struct kvlist out = {NULL, NULL, 0};
	struct prisma_params pp;
	int rc = -1;

	*keys = NULL;
	*values = NULL;
	memset(&pp, 0, sizeof(pp));
	if (u->user != NULL && u->user[0] != '\0')
		kv_set(&out, "user", u->user);
	if (u->password != NULL && u->password[0] != '\0')
		kv_set(&out, "password", u->password);
	/* Prisma's default database; libpq's would be the user name */
	kv_set(&out, "dbname", u->dbname != NULL ? u->dbname : "postgres");

	for (size_t i = 0; i < u->nparams; i++) {
		const char *k = u->params[i].key, *v = u->params[i].value;

		if (strcmp(k, "sslidentity") == 0) {
			px_error_set(err, 0,
				     "the database URL's sslidentity '%s' is a PKCS12 client "
				     "certificate, which libpq cannot read: convert it (openssl "
				     "pkcs12 -in FILE -clcerts -nokeys -out client.crt; openssl "
				     "pkcs12 -in FILE -nocerts -nodes -out client.key) and set "
				     "PGSSLCERT and PGSSLKEY",
				     v);
			goto out;
		}
		if (strcmp(k, "pgbouncer") == 0)
			pp.pgbouncer = strcmp(v, "true") == 0;
		else if (strcmp(k, "sslaccept") == 0)
			pp.sslaccept = v;
		else if (strcmp(k, "schema") == 0)
			pp.schema = v;
		else if (strcmp(k, "sslmode") == 0)
			pp.sslmode = v;
		else if (strcmp(k, "sslcert") == 0)
			pp.sslcert = v;
		else if (strcmp(k, "options") == 0)
			pp.options = v;
		else if (strcmp(k, "host") == 0)
			pp.host = v;
		else if (strcmp(k, "port") == 0)
			pp.port = v;
		else if (strcmp(k, "channel_binding") == 0)
			pp.channel_binding = v;
		else if (!is_dropped(k))
			kv_set(&out, k, v);
	}

	if (set_hosts(&out, u, &pp, map, err) < 0)
		goto out;
	set_ssl(&out, &pp, cert_dir);
	if (pp.channel_binding != NULL && one_of(pp.channel_binding, bindings, N(bindings)))
		kv_set(&out, "channel_binding", pp.channel_binding);
	if (pp.schema != NULL && !pp.pgbouncer) {
		struct px_buf opt = PX_BUF_INIT;

		if (pp.options != NULL && pp.options[0] != '\0') {
			px_buf_adds(&opt, pp.options);
			px_buf_addch(&opt, ' ');
		}
		add_search_path(&opt, pp.schema);
		kv_set(&out, "options", px_buf_cstr(&opt));
		px_buf_release(&opt);
	} else if (pp.options != NULL) {
		kv_set(&out, "options", pp.options);
	}

	*keys = out.k;
	*values = out.v;
	out.k = NULL;
	out.v = NULL;
	out.n = 0;
	rc = 0;
out:
	kv_release(&out);
	return rc;
}

void db_conninfo_free(char **keys, char **values)
{
	for (size_t i = 0; keys != NULL && keys[i] != NULL; i++)
		free(keys[i]);
	for (size_t i = 0; values != NULL && values[i] != NULL; i++)
		free(values[i]);
	free(keys);
	free(values);
}

const char *db_conninfo_get(char *const *keys, char *const *values, const char *key)
{
	for (size_t i = 0; keys != NULL && values != NULL && keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return values[i];
	return NULL;
}
