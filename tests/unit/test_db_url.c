/* test_db_url.c - which database a schema uses (every source, in order, on projects
 * written to a temp dir), URL parsing, password encoding and masking, the libpq keywords
 * Prisma's parameters become, compose services as hosts, and failure classification.
 * Every error and description produced is checked for the password it must not show. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/compose.h"
#include "db/db.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every password in these tests contains this, so one strstr finds any leak. */
#define SECRET "S3cr3t"

static void assert_no_secret(const char *text, const char *secret, const char *what)
{
	if (text != NULL && strstr(text, secret) != NULL)
		fail_msg("%s shows the password '%s': %s", what, secret, text);
}

/* ---- password encoding ------------------------------------------------------------- */

static const struct {
	const char *raw;
	const char *encoded; /* NULL: only the round trip is checked */
} encode_cases[] = {
    {"plain-._~Az09", "plain-._~Az09"},
    {"p@ss", "p%40ss"},
    {"a:b", "a%3Ab"},
    {"a/b", "a%2Fb"},
    {"q?x", "q%3Fx"},
    {"h#x", "h%23x"},
    {"[v6]", "%5Bv6%5D"},
    {"100%", "100%25"},
    {"sp ace", "sp%20ace"},
    {"plus+", "plus%2B"},
    {"\xc3\xbc\xe2\x82\xac", "%C3%BC%E2%82%AC"}, /* ü€ */
    {"\xf0\x9f\x98\x80", "%F0%9F%98%80"},        /* an emoji: 4 bytes */
    {"!$&'()*,;=\"<>\\^`{|}", NULL},
    {"@:/?#[]% +" SECRET "\xc3\xa9", NULL},
    {"", ""},
};

static bool only_unreserved_or_escapes(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%') {
			if (strchr("0123456789ABCDEF", s[1]) == NULL || s[1] == '\0' ||
			    strchr("0123456789ABCDEF", s[2]) == NULL || s[2] == '\0')
				return false;
			s += 2;
		} else if (strchr("-._~", *s) == NULL &&
			   !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9'))) {
			return false;
		}
	}
	return true;
}

static void test_encode_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(encode_cases); i++) {
		const char *raw = encode_cases[i].raw;
		char *enc = db_url_encode_password(raw);
		char *url, *masked;
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;

		if (encode_cases[i].encoded != NULL && strcmp(enc, encode_cases[i].encoded) != 0)
			fail_msg("encode('%s') = '%s', want '%s'", raw, enc,
				 encode_cases[i].encoded);
		if (!only_unreserved_or_escapes(enc))
			fail_msg("encode('%s') = '%s' leaves a reserved character", raw, enc);
		xasprintf(&url, "postgresql://user:%s@db:5432/app", enc);
		if (db_url_parse(url, &u, &err) < 0)
			fail_msg("parse '%s': %s", url, px_error_msg(&err));
		assert_non_null(u.password);
		if (strcmp(u.password, raw) != 0)
			fail_msg("round trip of '%s' gave '%s'", raw, u.password);
		assert_string_equal(u.user, "user");
		assert_string_equal(u.hosts[0].name, "db");
		masked = db_url_mask(url);
		/* an empty password has nothing to hide */
		assert_string_equal(masked, raw[0] != '\0' ? "postgresql://user:****@db:5432/app"
							   : "postgresql://user:@db:5432/app");
		db_url_release(&u);
		free(masked);
		free(url);
		free(enc);
	}
}

/* ---- parsing ------------------------------------------------------------------------ */

static const struct {
	const char *url;
	const char *user, *password; /* NULL: absent */
	const char *hosts;           /* "name:port,name:port" (port 0: none) */
	const char *dbname;
	const char *params; /* "k=v&k=v" decoded, in order; "" none */
} parse_cases[] = {
    {"postgresql://app:pw@localhost:5432/app?schema=public", "app", "pw", "localhost:5432", "app",
     "schema=public"},
    {"postgres://u@h/db", "u", NULL, "h:0", "db", ""},
    {"postgresql://h", NULL, NULL, "h:0", NULL, ""},
    {"postgresql://", NULL, NULL, ":0", NULL, ""},
    {"postgresql://[::1]:5433/db", NULL, NULL, "::1:5433", "db", ""},
    {"postgresql://[2001:db8::1]/db", NULL, NULL, "2001:db8::1:0", "db", ""},
    {"postgresql://[fe80::1%25eth0]:5432/db", NULL, NULL, "fe80::1%eth0:5432", "db", ""},
    {"postgresql://u:p@h1:5432,h2:5433/db", "u", "p", "h1:5432,h2:5433", "db", ""},
    {"postgresql://[::1]:1,[::2]:2/db", NULL, NULL, "::1:1,::2:2", "db", ""},
    {"postgresql:///db?host=/var/run/postgresql", NULL, NULL, ":0", "db",
     "host=/var/run/postgresql"},
    {"postgresql://%2Fvar%2Frun%2Fpostgresql/db", NULL, NULL, "/var/run/postgresql:0", "db", ""},
    {"POSTGRESQL://U:P@H/D", "U", "P", "H:0", "D", ""},
    {"postgresql://u:p%40ss%3A%2F@h/d", "u", "p@ss:/", "h:0", "d", ""},
    /* unencoded '@' and ':' in the password: the last '@' ends the user info (Prisma) */
    {"postgresql://u:p@ss@h/d", "u", "p@ss", "h:0", "d", ""},
    {"postgresql://u:a:b@h/d", "u", "a:b", "h:0", "d", ""},
    {"postgresql://:pw@h/d", "", "pw", "h:0", "d", ""},
    {"postgresql://u:@h/d", "u", "", "h:0", "d", ""},
    {"  postgresql://h/db \n", NULL, NULL, "h:0", "db", ""},
    {"postgresql://h/db?application_name=my+app&options=-c%20x%3Dy", NULL, NULL, "h:0", "db",
     "application_name=my app&options=-c x=y"},
    {"postgresql://u:100%zz@h/d", "u", "100%zz", "h:0", "d", ""},
    {"postgresql://h/db/extra", NULL, NULL, "h:0", "db", ""},
    {"postgresql://h/my%20db#frag", NULL, NULL, "h:0", "my db", ""},
    {"postgresql://h:/db", NULL, NULL, "h:0", "db", ""},
    {"postgresql://h?sslmode=require&&flag&schema=a&schema=b", NULL, NULL, "h:0", NULL,
     "sslmode=require&flag=&schema=a&schema=b"},
    {"postgresql://h/db?application_name=a@b", NULL, NULL, "h:0", "db", "application_name=a@b"},
};

static char *hosts_text(const struct db_url *u)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < u->nhosts; i++)
		px_buf_addf(&b, "%s%s:%u", i > 0 ? "," : "", u->hosts[i].name, u->hosts[i].port);
	return px_buf_detach(&b, NULL);
}

static char *params_text(const struct db_url *u)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < u->nparams; i++)
		px_buf_addf(&b, "%s%s=%s", i > 0 ? "&" : "", u->params[i].key, u->params[i].value);
	return px_buf_detach(&b, NULL);
}

static void assert_opt_string(const char *got, const char *want, const char *url, const char *what)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: %s is '%s', want '%s'", url, what, got != NULL ? got : "(null)",
			 want != NULL ? want : "(null)");
}

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(parse_cases); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char *h, *p;

		if (db_url_parse(parse_cases[i].url, &u, &err) < 0)
			fail_msg("parse '%s': %s", parse_cases[i].url, px_error_msg(&err));
		assert_true(strcmp(u.scheme, "postgresql") == 0 ||
			    strcmp(u.scheme, "postgres") == 0);
		assert_opt_string(u.user, parse_cases[i].user, parse_cases[i].url, "user");
		assert_opt_string(u.password, parse_cases[i].password, parse_cases[i].url,
				  "password");
		assert_opt_string(u.dbname, parse_cases[i].dbname, parse_cases[i].url, "dbname");
		h = hosts_text(&u);
		assert_opt_string(h, parse_cases[i].hosts, parse_cases[i].url, "hosts");
		p = params_text(&u);
		assert_opt_string(p, parse_cases[i].params, parse_cases[i].url, "params");
		free(h);
		free(p);
		db_url_release(&u);
	}
}

static void test_param_lookup(void **state)
{
	struct db_url u;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(
	    db_url_parse("postgresql://h/d?schema=a&pgbouncer=true&schema=b", &u, &err), 0);
	assert_string_equal(db_url_param(&u, "schema"), "b"); /* the last one, as Prisma */
	assert_string_equal(db_url_param(&u, "pgbouncer"), "true");
	assert_null(db_url_param(&u, "sslmode"));
	db_url_release(&u);
	db_url_release(&u); /* released twice: harmless */
	db_url_release(NULL);
}

static void test_session_sql(void **state)
{
	static const struct {
		const char *url, *want; /* want NULL: nothing to run */
	} cases[] = {
	    {"postgresql://h/d?schema=core&pgbouncer=true", "SET search_path = \"core\""},
	    {"postgresql://h/d?pgbouncer=true&schema=a&schema=my%20%22s%22", /* the last, quoted */
	     "SET search_path = \"my \"\"s\"\"\""},
	    {"postgresql://h/d?schema=core", NULL},                 /* a startup option instead */
	    {"postgresql://h/d?schema=core&pgbouncer=false", NULL}, /* likewise */
	    {"postgresql://h/d?pgbouncer=true", NULL},              /* no schema: the server's */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct px_error err = PX_ERROR_INIT;
		struct db_url u;
		char *sql;

		assert_int_equal(db_url_parse(cases[i].url, &u, &err), 0);
		sql = db_url_session_sql(&u);
		if ((sql == NULL) != (cases[i].want == NULL) ||
		    (sql != NULL && strcmp(sql, cases[i].want) != 0))
			fail_msg("%s: got %s, want %s", cases[i].url, sql ? sql : "NULL",
				 cases[i].want ? cases[i].want : "NULL");
		free(sql);
		db_url_release(&u);
	}
}

static const struct {
	const char *url;
	const char *want; /* a substring of the error */
} parse_errors[] = {
    {"mysql://root:" SECRET "@db:3306/app", "db-check supports PostgreSQL; this URL is mysql"},
    {"MySQL://root:" SECRET "@db/app", "db-check supports PostgreSQL; this URL is mysql"},
    {"file:./dev.db", "db-check supports PostgreSQL; this URL is sqlite"},
    {"sqlite:./" SECRET ".db", "this URL is sqlite"},
    {"sqlserver://db:1433;database=app;user=sa;password=" SECRET, "this URL is sqlserver"},
    {"mongodb+srv://u:" SECRET "@cluster0.example.net/app", "this URL is mongodb"},
    {"mariadb://u:" SECRET "@db/app", "this URL is mariadb"},
    {"prisma+postgres://localhost:51213/?api_key=" SECRET, "this URL is prisma+postgres"},
    {"prisma://accelerate.prisma-data.net/?api_key=" SECRET, "direct postgresql:// URL"},
    {"redis://:" SECRET "@cache:6379", "this URL is redis"},
    {"", "the database URL is empty"},
    {"  \n", "the database URL is empty"},
    {"host=db dbname=app password=" SECRET, "is not a URL"},
    {"db:5432/app", "is not a URL"},
    {"://" SECRET "@h", "is not a URL"},
    {"postgresql:" SECRET "@h", "lacks '//' after 'postgresql:'"},
    {"postgresql://h:notaport/db", "port of the database URL is not a number"},
    {"postgresql://h:70000/db", "port of the database URL is not a number"},
    {"postgresql://h:0/db", "port of the database URL is not a number"},
    {"postgresql://u:" SECRET "/db", "port of the database URL is not a number"},
    {"postgresql://u:" SECRET "x/y@h/db", "must be percent-encoded"},
    {"postgresql://u:" SECRET "x?y@h/db", "must be percent-encoded"},
    {"postgresql://u:" SECRET "x#y@h/db", "must be percent-encoded"},
    {"postgresql://u:12/" SECRET "@h/db", "must be percent-encoded"},
    {"postgresql://us/er:" SECRET "@h/db", "must be percent-encoded"},
    {"postgresql://u:12?" SECRET "@h/db", "must be percent-encoded"},
    {"postgresql://u:12#" SECRET "@h/db", "must be percent-encoded"},
    {"postgresql://u:12/db?a=1&" SECRET "@h", "must be percent-encoded"},
    {"postgresql://u:" SECRET "%00@h/db", "password contains %00"},
    {"postgresql://h/d%00b", "database name contains %00"},
    {"postgresql://h/d?a=%00", "parameters contains %00"},
    {"postgresql://[::1/db", "'[' with no ']'"},
    {"postgresql://[::1]x/db", "port of the database URL"},
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(parse_errors); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;

		if (db_url_parse(parse_errors[i].url, &u, &err) == 0)
			fail_msg("'%s' parsed, want an error", parse_errors[i].url);
		if (strstr(px_error_msg(&err), parse_errors[i].want) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", parse_errors[i].url,
				 px_error_msg(&err), parse_errors[i].want);
		assert_no_secret(px_error_msg(&err), SECRET, parse_errors[i].url);
		db_url_release(&u);
		px_error_clear(&err);
	}
}

/* ---- masking ------------------------------------------------------------------------ */

static const struct {
	const char *in, *want;
} mask_cases[] = {
    {"postgresql://app:" SECRET "@db:5432/app", "postgresql://app:****@db:5432/app"},
    {"postgresql://app:p@" SECRET "@db/app", "postgresql://app:****@db/app"},
    {"postgresql://app:pa/" SECRET "@db/app", "postgresql://app:****@db/app"},
    {"postgresql://app:pa?" SECRET "@db/app?schema=x", "postgresql://app:****@db/app?schema=x"},
    {"postgresql://app:pa#" SECRET "@db/app", "postgresql://app:****@db/app"},
    {"postgresql://us/er:" SECRET "@db/app", "postgresql://us/er:****@db/app"},
    {"postgresql://u:12?" SECRET "@h/db", "postgresql://u:****@h/db"},
    {"postgresql://u:12#" SECRET "@h/db", "postgresql://u:****@h/db"},
    {"postgresql://u:12/" SECRET "@h/db", "postgresql://u:****@h/db"},
    {"postgresql://u:12/db?a=1&" SECRET "@h", "postgresql://u:****@h"},
    {"postgresql://u:p?x=" SECRET "@h", "postgresql://u:****@h"},
    {"postgresql://h:5432/db?application_name=a:b@c",
     "postgresql://h:5432/db?application_name=a:b@c"},
    {"postgresql://db:5432/app?password=" SECRET "&sslmode=require",
     "postgresql://db:5432/app?password=****&sslmode=require"},
    {"postgresql://db/app?sslidentity=id.p12&sslpassword=" SECRET,
     "postgresql://db/app?sslidentity=id.p12&sslpassword=****"},
    {"postgresql://u:" SECRET "@db/app?password=" SECRET "#x",
     "postgresql://u:****@db/app?password=****#x"},
    {"postgresql://db:5432/app", "postgresql://db:5432/app"},
    {"postgresql://u@db/app", "postgresql://u@db/app"},
    {"postgresql://h1:5432,h2:5433/app?application_name=a@b",
     "postgresql://h1:5432,h2:5433/app?application_name=a@b"},
    {"postgresql://h/db?application_name=a@b", "postgresql://h/db?application_name=a@b"},
    {"host=db password=" SECRET " dbname=app", "host=db password=**** dbname=app"},
    {"host=db password='" SECRET " x\\'y' dbname=app", "host=db password='****' dbname=app"},
    {"no url here", "no url here"},
};

static void test_mask(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(mask_cases); i++) {
		char *got = db_url_mask(mask_cases[i].in);

		if (strcmp(got, mask_cases[i].want) != 0)
			fail_msg("mask('%s') = '%s', want '%s'", mask_cases[i].in, got,
				 mask_cases[i].want);
		assert_no_secret(got, SECRET, mask_cases[i].in);
		free(got);
	}
}

/* On well-formed URLs the two maskers agree: log lines and db output look the same. */
static void test_mask_agrees_with_log(void **state)
{
	static const char *const urls[] = {
	    "postgresql://app:" SECRET "@db:5432/app",
	    "postgres://a:b%40c@[::1]:5432/x?schema=y",
	    "postgresql://u@h/d",
	    "postgresql://h:5432/d",
	    "postgresql://:" SECRET "@h/d",
	};

	(void)state;
	for (size_t i = 0; i < N(urls); i++) {
		char *a = db_url_mask(urls[i]), *b = px_mask_urls(urls[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

/* ---- libpq keywords ----------------------------------------------------------------- */

static char *conninfo_text(char **keys, char **values)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; keys[i] != NULL; i++) {
		assert_non_null(values[i]);
		px_buf_addf(&b, "%s%s=%s", i > 0 ? "\n" : "", keys[i], values[i]);
	}
	return px_buf_detach(&b, NULL);
}

static const struct {
	const char *name;
	const char *url;
	const char *cert_dir;
	const char *want; /* key=value lines, in order */
} conninfo_cases[] = {
    {"prisma defaults", "postgresql://", NULL,
     "dbname=postgres\nhost=localhost\nport=5432\nsslmode=prefer"},
    {"plain", "postgresql://app:pw@db:6543/app", NULL,
     "user=app\npassword=pw\ndbname=app\nhost=db\nport=6543\nsslmode=prefer"},
    {"schema becomes search_path", "postgresql://app:pw@db/app?schema=core", NULL,
     "user=app\npassword=pw\ndbname=app\nhost=db\nport=5432\nsslmode=prefer\n"
     "options=-c search_path=\"core\""},
    {"schema after existing options, quoted and escaped",
     "postgresql://h/d?options=-c%20statement_timeout%3D5s&schema=my%20sch\"ema\\x", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\n"
     "options=-c statement_timeout=5s -c search_path=\"my\\ sch\"\"ema\\\\x\""},
    {"schema with pgbouncer: set by query, not at startup",
     "postgresql://h/d?schema=core&pgbouncer=true", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer"},
    {"options without schema pass through", "postgresql://h/d?options=--cluster%3Dc1", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\noptions=--cluster=c1"},
    {"prisma-only parameters dropped, libpq ones kept",
     "postgresql://h/d?connection_limit=5&pool_timeout=10&socket_timeout=3&"
     "statement_cache_size=0&sslaccept=accept_invalid_certs&max_connection_lifetime=1&"
     "max_idle_connection_lifetime=2&application_name=web&connect_timeout=10&"
     "target_session_attrs=any&sslpassword=x&pgbouncer=false",
     NULL,
     "dbname=d\napplication_name=web\nconnect_timeout=10\ntarget_session_attrs=any\n"
     "host=h\nport=5432\nsslmode=prefer"},
    {"unknown parameters pass through", "postgresql://h/d?bogus_key=1", NULL,
     "dbname=d\nbogus_key=1\nhost=h\nport=5432\nsslmode=prefer"},
    {"sslcert is the CA, relative to the schema folder",
     "postgresql://h/d?sslmode=prefer&sslcert=../certs/ca.pem", "/proj/prisma",
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\nsslrootcert=/proj/certs/ca.pem"},
    {"sslcert absolute", "postgresql://h/d?sslcert=/etc/ca.pem", "/proj/prisma",
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\nsslrootcert=/etc/ca.pem"},
    {"sslcert without cert_dir kept as given", "postgresql://h/d?sslcert=ca.pem", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\nsslrootcert=ca.pem"},
    {"require + accept_invalid_certs (default) does not verify",
     "postgresql://h/d?sslmode=require&sslcert=ca.pem", "/p",
     "dbname=d\nhost=h\nport=5432\nsslmode=require"},
    {"require + strict verifies chain and name",
     "postgresql://h/d?sslmode=require&sslaccept=strict&sslcert=ca.pem", "/p",
     "dbname=d\nhost=h\nport=5432\nsslmode=verify-full\nsslrootcert=/p/ca.pem"},
    {"require + unknown sslaccept is strict (Prisma's fallback)",
     "postgresql://h/d?sslmode=require&sslaccept=maybe&sslcert=/ca.pem", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=verify-full\nsslrootcert=/ca.pem"},
    {"strict without sslcert trusts the system CAs",
     "postgresql://h/d?sslmode=require&sslaccept=strict", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=verify-full\nsslrootcert=/test/bundle.pem"},
    {"disable", "postgresql://h/d?sslmode=disable", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=disable"},
    {"libpq's own sslmode kept", "postgresql://h/d?sslmode=verify-ca", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=verify-ca"},
    {"unknown sslmode is prefer", "postgresql://h/d?sslmode=no-verify", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer"},
    {"channel_binding kept", "postgresql://h/d?channel_binding=require", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer\nchannel_binding=require"},
    {"bad channel_binding dropped", "postgresql://h/d?channel_binding=maybe", NULL,
     "dbname=d\nhost=h\nport=5432\nsslmode=prefer"},
    {"socket directory from the host parameter",
     "postgresql://localhost/d?host=/var/run/postgresql/", NULL,
     "dbname=d\nhost=/var/run/postgresql/\nport=5432\nsslmode=prefer"},
    {"multi-host", "postgresql://h1:5432,h2:5433/d", NULL,
     "dbname=d\nhost=h1,h2\nport=5432,5433\nsslmode=prefer"},
    {"multi-host, one port", "postgresql://h1,h2:5433/d", NULL,
     "dbname=d\nhost=h1,h2\nport=5432,5433\nsslmode=prefer"},
    {"port parameter", "postgresql://h/d?port=6543", NULL,
     "dbname=d\nhost=h\nport=6543\nsslmode=prefer"},
    {"user parameter overrides in place", "postgresql://a:pw@h/d?user=b", NULL,
     "user=b\npassword=pw\ndbname=d\nhost=h\nport=5432\nsslmode=prefer"},
    {"ipv6", "postgresql://[::1]:5433/d", NULL, "dbname=d\nhost=::1\nport=5433\nsslmode=prefer"},
    {"decoded user, password and database", "postgresql://us%40er:p%40ss%3A%2F%3F%23@h/my%20db",
     NULL, "user=us@er\npassword=p@ss:/?#\ndbname=my db\nhost=h\nport=5432\nsslmode=prefer"},
};

static void test_conninfo(void **state)
{
	(void)state;
	setenv("SSL_CERT_FILE", "/test/bundle.pem", 1);
	for (size_t i = 0; i < N(conninfo_cases); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = NULL, **v = NULL, *got;

		if (db_url_parse(conninfo_cases[i].url, &u, &err) < 0)
			fail_msg("%s: parse: %s", conninfo_cases[i].name, px_error_msg(&err));
		if (db_url_conninfo(&u, NULL, conninfo_cases[i].cert_dir, &k, &v, &err) < 0)
			fail_msg("%s: %s", conninfo_cases[i].name, px_error_msg(&err));
		got = conninfo_text(k, v);
		if (strcmp(got, conninfo_cases[i].want) != 0)
			fail_msg("%s:\n--- got\n%s\n--- want\n%s", conninfo_cases[i].name, got,
				 conninfo_cases[i].want);
		free(got);
		db_conninfo_free(k, v);
		db_url_release(&u);
	}
	unsetenv("SSL_CERT_FILE");
}

static const struct {
	const char *url;
	const char *want;
} conninfo_errors[] = {
    {"postgresql://u:" SECRET "@h/d?sslidentity=client.p12&sslpassword=" SECRET,
     "sslidentity 'client.p12' is a PKCS12 client certificate, which libpq cannot read"},
    {"postgresql://u:" SECRET "@h1,h2/d?port=1,2,3", "gives 3 ports for 2 hosts"},
    {"postgresql://u:" SECRET "@h/d?port=x", "port of the database URL"},
};

static void test_conninfo_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(conninfo_errors); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = (char **)0x1, **v = (char **)0x1;

		assert_int_equal(db_url_parse(conninfo_errors[i].url, &u, &err), 0);
		assert_int_equal(db_url_conninfo(&u, NULL, NULL, &k, &v, &err), -1);
		assert_null(k);
		assert_null(v);
		if (strstr(px_error_msg(&err), conninfo_errors[i].want) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", conninfo_errors[i].url,
				 px_error_msg(&err), conninfo_errors[i].want);
		assert_no_secret(px_error_msg(&err), SECRET, conninfo_errors[i].url);
		px_error_clear(&err);
		db_url_release(&u);
	}
	assert_non_null(strstr(conninfo_errors[0].want, "PKCS12"));
}

static void test_conninfo_get(void **state)
{
	char *keys[] = {"host", "port", NULL};
	char *values[] = {"db", "5432", NULL};

	(void)state;
	assert_string_equal(db_conninfo_get(keys, values, "port"), "5432");
	assert_null(db_conninfo_get(keys, values, "dbname"));
	assert_null(db_conninfo_get(NULL, NULL, "host"));
	db_conninfo_free(NULL, NULL);
}

/* ---- compose services as hosts ------------------------------------------------------ */

static const struct {
	const char *name;
	const char *url;
	const char *want; /* host/hostaddr/port lines, or "!substring" of the error */
} map_cases[] = {
    {"published port", "postgresql://u:" SECRET "@db:5432/app",
     "host=db\nhostaddr=127.0.0.1\nport=54321"},
    {"default port is 5432", "postgresql://db/app", "host=db\nhostaddr=127.0.0.1\nport=54321"},
    {"case-insensitive", "postgresql://DB/app", "host=DB\nhostaddr=127.0.0.1\nport=54321"},
    {"container address, same port", "postgresql://cache:6380/app",
     "host=cache\nhostaddr=172.18.0.3\nport=6380"},
    {"exact target beats a wildcard listed first", "postgresql://both:5432/app",
     "host=both\nhostaddr=127.0.0.1\nport=15432"},
    {"wildcard when no exact target", "postgresql://both:7000/app",
     "host=both\nhostaddr=172.18.0.9\nport=7000"},
    {"a route by name replaces the host", "postgresql://named/app", "host=localhost\nport=40000"},
    {"ipv6 route", "postgresql://six/app", "host=six\nhostaddr=::1\nport=5555"},
    {"not a service", "postgresql://example.com/app", "host=example.com\nport=5432"},
    {"socket never mapped", "postgresql://db/app?host=/var/run/postgresql",
     "host=/var/run/postgresql\nport=5432"},
    {"one of several hosts", "postgresql://example.com:5432,db:5432/app",
     "host=example.com,db\nhostaddr=,127.0.0.1\nport=5432,54321"},
    {"service not running", "postgresql://u:" SECRET "@stopped/app",
     "!the database host 'stopped' is a compose service, but no running container"},
    {"service not reachable on that port", "postgresql://db:6543/app", "!reachable on port 6543"},
};

static struct db_host_map test_map(void)
{
	struct db_host_map m = {NULL, 0};

	db_host_map_add(&m, "db", 5432, "127.0.0.1", 54321);
	db_host_map_add(&m, "db", 0, NULL, 0);
	db_host_map_add(&m, "cache", 0, "172.18.0.3", 0);
	db_host_map_add(&m, "both", 0, "172.18.0.9", 0);
	db_host_map_add(&m, "both", 5432, "127.0.0.1", 15432);
	db_host_map_add(&m, "named", 5432, "localhost", 40000);
	db_host_map_add(&m, "six", 5432, "::1", 5555);
	db_host_map_add(&m, "stopped", 0, NULL, 0);
	return m;
}

/* Only the host, hostaddr and port lines of a conninfo. */
static char *route_text(char **k, char **v)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; k[i] != NULL; i++)
		if (strcmp(k[i], "host") == 0 || strcmp(k[i], "hostaddr") == 0 ||
		    strcmp(k[i], "port") == 0)
			px_buf_addf(&b, "%s%s=%s", b.len > 0 ? "\n" : "", k[i], v[i]);
	return px_buf_detach(&b, NULL);
}

static void test_host_map(void **state)
{
	struct db_host_map m = test_map();

	(void)state;
	for (size_t i = 0; i < N(map_cases); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = NULL, **v = NULL, *got;
		const char *want = map_cases[i].want;

		assert_int_equal(db_url_parse(map_cases[i].url, &u, &err), 0);
		if (want[0] == '!') {
			if (db_url_conninfo(&u, &m, NULL, &k, &v, &err) == 0)
				fail_msg("%s: mapped, want an error", map_cases[i].name);
			if (strstr(px_error_msg(&err), want + 1) == NULL)
				fail_msg("%s: error '%s' lacks '%s'", map_cases[i].name,
					 px_error_msg(&err), want + 1);
			assert_no_secret(px_error_msg(&err), SECRET, map_cases[i].name);
			px_error_clear(&err);
		} else {
			if (db_url_conninfo(&u, &m, NULL, &k, &v, &err) < 0)
				fail_msg("%s: %s", map_cases[i].name, px_error_msg(&err));
			got = route_text(k, v);
			if (strcmp(got, want) != 0)
				fail_msg("%s:\n--- got\n%s\n--- want\n%s", map_cases[i].name, got,
					 want);
			free(got);
			db_conninfo_free(k, v);
		}
		db_url_release(&u);
	}
	db_host_map_release(&m);
	db_host_map_release(&m);
	db_host_map_release(NULL);
}

/* ---- projects on disk --------------------------------------------------------------- */

static const char *const env_vars[] = {
    "DATABASE_URL",     "BIBIKOS_DATABASE_URL", "COMPOSE_FILE",  "COMPOSE_PROJECT_NAME",
    "COMPOSE_PROFILES", "DB_URL_TEST_UNSET",    "SSL_CERT_FILE",
};

static void clear_env(void)
{
	for (size_t i = 0; i < N(env_vars); i++)
		unsetenv(env_vars[i]);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char *path, *parent;
	struct px_error err = PX_ERROR_INIT;
	FILE *f;

	xasprintf(&path, "%s/%s", dir, rel);
	parent = px_path_dirname(path);
	assert_int_equal(px_path_mkdir_p(parent, 0755, &err), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(parent);
	free(path);
}

static char *make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *tmpl;

	xasprintf(&tmpl, "%s/px-dburl-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	put(tmpl, "prisma/schema.prisma", "datasource db { provider = \"postgresql\" }\n");
	put(tmpl, "bibikos/schema.prisma", "datasource db { provider = \"postgresql\" }\n");
	return tmpl;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_dir(char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static struct compose_project *load_project(const char *dir)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = NULL;

	compose_options_init(&o);
	if (compose_project_resolve(&ref, &o, dir, &err) < 0)
		fail_msg("resolve %s: %s", dir, px_error_msg(&err));
	if (compose_load(&p, &ref, &o, &err) < 0)
		fail_msg("load %s: %s", dir, px_error_msg(&err));
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	return p;
}

#define SERVICES                                                                                   \
	"services:\n"                                                                              \
	"  app:\n"                                                                                 \
	"    image: node\n"                                                                        \
	"    environment:\n"                                                                       \
	"      DATABASE_URL: postgresql://app:" SECRET "-svc@db:5432/app\n"                        \
	"      BIBIKOS_DATABASE_URL: postgresql://bib:" SECRET "-bib@db:5432/bibikos\n"            \
	"  worker:\n"                                                                              \
	"    image: node\n"                                                                        \
	"  db:\n"                                                                                  \
	"    image: postgres\n"                                                                    \
	"    ports: [\"127.0.0.1:5433:5432\"]\n"

#define SCHEMA(extra)                                                                              \
	"x-prisync:\n"                                                                             \
	"  schemas:\n"                                                                             \
	"    - schema: prisma/schema.prisma\n" extra

#define AWS_SECRET                                                                                 \
	"{\"engine\": \"postgres\", \"host\": \"db.example.com\", \"port\": 5432,\n"               \
	" \"username\": \"rds\", \"password\": \"" SECRET "/sec\", \"dbname\": \"orders\",\n"      \
	" \"dbInstanceIdentifier\": \"orders-1\"}\n"

static const struct resolve_case {
	const char *name;
	const char *compose;
	const char *dotenv;        /* .env, or NULL */
	const char *secret;        /* secrets/db.json, or NULL */
	const char *shell;         /* a DATABASE_URL set in the shell, or NULL */
	size_t schema;             /* which x-prisync schema */
	enum db_url_source source; /* NONE: an error is wanted */
	const char *want;          /* the URL, or a substring of the error */
	const char *where;
} resolve_cases[] = {
    {"1. database-url wins over the service's variable",
     SERVICES SCHEMA("      run-in: app\n"
		     "      database-url: postgresql://cfg:" SECRET "-cfg@db/cfg\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n", NULL, NULL, 0, DB_URL_SOURCE_CONFIG,
     "postgresql://cfg:" SECRET "-cfg@db/cfg", "database-url in compose.yaml"},
    {"2. the run-in service's DATABASE_URL wins over .env", SERVICES SCHEMA("      run-in: app\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n", NULL, NULL, 0,
     DB_URL_SOURCE_SERVICE_ENV, "postgresql://app:" SECRET "-svc@db:5432/app",
     "DATABASE_URL of service 'app'"},
    {"2. database-url-env names another variable (a second database)",
     SERVICES SCHEMA("      run-in: app\n"
		     "    - name: bibikos\n"
		     "      schema: bibikos/schema.prisma\n"
		     "      run-in: app\n"
		     "      database-url-env: BIBIKOS_DATABASE_URL\n"),
     NULL, NULL, NULL, 1, DB_URL_SOURCE_SERVICE_ENV,
     "postgresql://bib:" SECRET "-bib@db:5432/bibikos", "BIBIKOS_DATABASE_URL of service 'app'"},
    {"2. the service's env_file counts",
     "services:\n  app:\n    image: node\n    env_file: app.env\n" SCHEMA("      run-in: app\n"),
     NULL, NULL, NULL, 0, DB_URL_SOURCE_SERVICE_ENV, "postgresql://file:" SECRET "-file@db/app",
     "DATABASE_URL of service 'app'"},
    {"3. .env when the service has none", SERVICES SCHEMA("      run-in: worker\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n", NULL, NULL, 0,
     DB_URL_SOURCE_ENVIRONMENT, "postgresql://env:" SECRET "-env@db/env",
     "DATABASE_URL in the environment/.env"},
    {"3. the shell when run-in is the host", SERVICES SCHEMA("      run-in: host\n"), NULL, NULL,
     "postgresql://sh:" SECRET "-sh@localhost/sh", 0, DB_URL_SOURCE_ENVIRONMENT,
     "postgresql://sh:" SECRET "-sh@localhost/sh", "DATABASE_URL in the environment/.env"},
    {"3. the configured variable, never DATABASE_URL instead",
     SERVICES SCHEMA("      run-in: worker\n      database-url-env: BIBIKOS_DATABASE_URL\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n"
     "BIBIKOS_DATABASE_URL=postgresql://b:" SECRET "-b@db/b\n",
     NULL, NULL, 0, DB_URL_SOURCE_ENVIRONMENT, "postgresql://b:" SECRET "-b@db/b",
     "BIBIKOS_DATABASE_URL in the environment/.env"},
    {"3. an empty service variable counts as unset",
     "services:\n  app:\n    image: node\n    environment: {DATABASE_URL: \"\"}\n" SCHEMA(
	 "      run-in: app\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n", NULL, NULL, 0,
     DB_URL_SOURCE_ENVIRONMENT, "postgresql://env:" SECRET "-env@db/env",
     "DATABASE_URL in the environment/.env"},
    {"4. database-secret (the service's variable is not used)",
     SERVICES SCHEMA("      run-in: app\n      database-secret: ./secrets/db.json\n"),
     "DATABASE_URL=postgresql://env:" SECRET "-env@db/env\n", AWS_SECRET, NULL, 0,
     DB_URL_SOURCE_SECRET, "postgresql://rds:" SECRET "%2Fsec@db.example.com:5432/orders",
     "database-secret ./secrets/db.json"},
    {"4. secret: port as a string, engine postgresql, no engine needed",
     SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"engine\": \"postgresql\", \"host\": \"10.0.0.5\", \"port\": \"6543\", \"username\": "
     "\"u\", \"password\": \"" SECRET "\", \"dbname\": \"d\"}",
     NULL, 0, DB_URL_SOURCE_SECRET, "postgresql://u:" SECRET "@10.0.0.5:6543/d",
     "database-secret ./secrets/db.json"},
    {"4. secret: IPv6 host, default port",
     SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"host\": \"::1\", \"username\": \"u\", \"password\": \"" SECRET "\", \"dbname\": \"d\"}",
     NULL, 0, DB_URL_SOURCE_SECRET, "postgresql://u:" SECRET "@[::1]:5432/d",
     "database-secret ./secrets/db.json"},
    {"4. secret: missing fields all named",
     SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"engine\": \"postgres\", \"username\": \"u\", \"dbname\": \"d\", \"host\": null}", NULL, 0,
     DB_URL_SOURCE_NONE, "database-secret './secrets/db.json' lacks: host, password", NULL},
    {"4. secret: every field missing", SERVICES SCHEMA("      database-secret: secrets/db.json\n"),
     NULL, "{}", NULL, 0, DB_URL_SOURCE_NONE, "lacks: host, username, password, dbname", NULL},
    {"4. secret: another engine", SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"engine\": \"mysql\", \"host\": \"h\", \"username\": \"u\", \"password\": \"" SECRET
     "\", \"dbname\": \"d\"}",
     NULL, 0, DB_URL_SOURCE_NONE,
     "db-check supports PostgreSQL; the engine of database-secret './secrets/db.json' is mysql",
     NULL},
    {"4. secret: a bad port", SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"host\": \"h\", \"port\": 99999, \"username\": \"u\", \"password\": \"" SECRET
     "\", \"dbname\": \"d\"}",
     NULL, 0, DB_URL_SOURCE_NONE, "'port' must be a port number", NULL},
    {"4. secret: a number where a string belongs",
     SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"host\": \"h\", \"username\": \"u\", \"password\": 12345, \"dbname\": \"d\"}", NULL, 0,
     DB_URL_SOURCE_NONE, "'password' must be a string", NULL},
    {"4. secret: not JSON (the error does not quote the file)",
     SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "{\"host\": \"h\", \"password\": " SECRET "}", NULL, 0, DB_URL_SOURCE_NONE,
     "database-secret './secrets/db.json' is not valid JSON (line 1", NULL},
    {"4. secret: not an object", SERVICES SCHEMA("      database-secret: secrets/db.json\n"), NULL,
     "[\"" SECRET "\"]", NULL, 0, DB_URL_SOURCE_NONE, "is not a JSON object", NULL},
    {"4. secret: no such file", SERVICES SCHEMA("      database-secret: secrets/none.json\n"), NULL,
     NULL, NULL, 0, DB_URL_SOURCE_NONE, "database-secret ./secrets/none.json: cannot open", NULL},
    {"nothing set: the error names the variable and the service",
     SERVICES SCHEMA("      run-in: worker\n"), NULL, NULL, NULL, 0, DB_URL_SOURCE_NONE,
     "no database URL for schema 'default': DATABASE_URL is set neither in the environment of "
     "service 'worker' nor in the environment/.env — set it, or set database-url or "
     "database-secret under x-prisync",
     NULL},
    {"nothing set, run-in host", SERVICES SCHEMA("      run-in: host\n"), NULL, NULL, NULL, 0,
     DB_URL_SOURCE_NONE,
     "no database URL for schema 'default': DATABASE_URL is not set in the environment/.env", NULL},
    {"an empty database-url is an error, not a fallback",
     SERVICES SCHEMA("      run-in: app\n      database-url: ${DB_URL_TEST_UNSET}\n"), NULL, NULL,
     NULL, 0, DB_URL_SOURCE_NONE,
     "database-url of schema 'default' in compose.yaml is empty — is the variable it names set?",
     NULL},
};

static void run_resolve_case(const struct resolve_case *c)
{
	char *dir = make_dir();
	struct compose_project *p;
	struct px_error err = PX_ERROR_INIT;
	char *url = (char *)0x1, *where = (char *)0x1;
	enum db_url_source src = DB_URL_SOURCE_CONFIG;
	int rc;

	clear_env();
	put(dir, "compose.yaml", c->compose);
	put(dir, "app.env", "DATABASE_URL=postgresql://file:" SECRET "-file@db/app\n");
	if (c->dotenv != NULL)
		put(dir, ".env", c->dotenv);
	if (c->secret != NULL)
		put(dir, "secrets/db.json", c->secret);
	if (c->shell != NULL)
		setenv("DATABASE_URL", c->shell, 1);
	p = load_project(dir);
	if (p->prisync.nschemas <= c->schema)
		fail_msg("%s: %zu schemas", c->name, p->prisync.nschemas);
	rc = db_url_resolve(p, &p->prisync.schemas[c->schema], &url, &where, &src, &err);
	if (c->source == DB_URL_SOURCE_NONE) {
		if (rc == 0)
			fail_msg("%s: resolved '%s' (%s), want an error", c->name, url, where);
		if (strstr(px_error_msg(&err), c->want) == NULL)
			fail_msg("%s: error '%s' lacks '%s'", c->name, px_error_msg(&err), c->want);
		assert_null(url);
		assert_null(where);
		assert_int_equal(src, DB_URL_SOURCE_NONE);
		assert_no_secret(px_error_msg(&err), SECRET, c->name);
	} else {
		if (rc < 0)
			fail_msg("%s: %s", c->name, px_error_msg(&err));
		if (strcmp(url, c->want) != 0 || strcmp(where, c->where) != 0)
			fail_msg("%s: got '%s' from '%s', want '%s' from '%s'", c->name, url, where,
				 c->want, c->where);
		if (src != c->source)
			fail_msg("%s: source %d, want %d", c->name, (int)src, (int)c->source);
		assert_no_secret(where, SECRET, c->name);
	}
	free(url);
	free(where);
	px_error_clear(&err);
	compose_project_free(p);
	clear_env();
	remove_dir(dir);
}

static void test_resolve(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(resolve_cases); i++)
		run_resolve_case(&resolve_cases[i]);
}

/* A password with every character that needs encoding survives the secret -> URL ->
 * parse round trip, and the URL's masked form hides it. */
static void test_secret_password_round_trip(void **state)
{
	const char *raw = "p@ss:/?#[]% w\xc3\xb6rd+" SECRET;
	char *dir = make_dir(), *json, *url = NULL, *where = NULL, *masked;
	struct compose_project *p;
	struct px_error err = PX_ERROR_INIT;
	struct db_url u;
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "engine", "postgres", "host", "db",
			      "port", 5432, "username", "a@b", "password", raw, "dbname", "my db");

	(void)state;
	clear_env();
	json = json_dumps(o, 0);
	put(dir, "compose.yaml", SERVICES SCHEMA("      database-secret: ./secrets/db.json\n"));
	put(dir, "secrets/db.json", json);
	p = load_project(dir);
	if (db_url_resolve(p, &p->prisync.schemas[0], &url, &where, NULL, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_no_secret(where, SECRET, "where");
	assert_int_equal(db_url_parse(url, &u, &err), 0);
	assert_string_equal(u.password, raw);
	assert_string_equal(u.user, "a@b");
	assert_string_equal(u.dbname, "my db");
	assert_string_equal(u.hosts[0].name, "db");
	assert_int_equal(u.hosts[0].port, 5432);
	masked = db_url_mask(url);
	assert_no_secret(masked, SECRET, "masked URL");
	assert_string_equal(masked, "postgresql://a%40b:****@db:5432/my%20db");
	db_url_release(&u);
	free(masked);
	free(url);
	free(where);
	free(json);
	json_decref(o);
	compose_project_free(p);
	remove_dir(dir);
}

/* db_host_map_add_compose: fixed published ports, names and aliases from the model. */
static void test_host_map_compose(void **state)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
	    {"postgresql://db/app", "host=db\nhostaddr=127.0.0.1\nport=5433"},
	    {"postgresql://pg-main/app", "host=pg-main\nhostaddr=127.0.0.1\nport=5433"},
	    {"postgresql://primary/app", "host=primary\nhostaddr=127.0.0.1\nport=5433"},
	    {"postgresql://all/app", "host=all\nhostaddr=127.0.0.1\nport=6000"},
	    {"postgresql://v6/app", "host=v6\nhostaddr=::1\nport=6001"},
	    {"postgresql://lan/app", "host=lan\nhostaddr=192.168.1.5\nport=6002"},
	    {"postgresql://ephemeral/app", "!no running container"},
	    {"postgresql://ranged/app", "!no running container"},
	    {"postgresql://udp/app", "!no running container"},
	    {"postgresql://elsewhere/app", "host=elsewhere\nport=5432"},
	};
	char *dir = make_dir();
	struct compose_project *p;
	struct db_host_map m = {NULL, 0};

	(void)state;
	clear_env();
	put(dir, "compose.yaml",
	    "services:\n"
	    "  db:\n"
	    "    image: postgres\n"
	    "    container_name: pg-main\n"
	    "    ports: [\"127.0.0.1:5433:5432\"]\n"
	    "    networks:\n"
	    "      default:\n"
	    "        aliases: [primary]\n"
	    "  all: {image: postgres, ports: [\"6000:5432\"]}\n"
	    "  v6: {image: postgres, ports: [\"[::]:6001:5432\"]}\n"
	    "  lan: {image: postgres, ports: [\"192.168.1.5:6002:5432\"]}\n"
	    "  ephemeral: {image: postgres, ports: [\"5432\"]}\n"
	    "  ranged: {image: postgres, ports: [\"7000-7001:5432\"]}\n"
	    "  udp: {image: postgres, ports: [\"7002:5432/udp\"]}\n");
	p = load_project(dir);
	db_host_map_add_compose(&m, p);
	for (size_t i = 0; i < N(cases); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = NULL, **v = NULL, *got;

		assert_int_equal(db_url_parse(cases[i].url, &u, &err), 0);
		if (cases[i].want[0] == '!') {
			assert_int_equal(db_url_conninfo(&u, &m, NULL, &k, &v, &err), -1);
			if (strstr(px_error_msg(&err), cases[i].want + 1) == NULL)
				fail_msg("%s: '%s'", cases[i].url, px_error_msg(&err));
			px_error_clear(&err);
		} else {
			if (db_url_conninfo(&u, &m, NULL, &k, &v, &err) < 0)
				fail_msg("%s: %s", cases[i].url, px_error_msg(&err));
			got = route_text(k, v);
			if (strcmp(got, cases[i].want) != 0)
				fail_msg("%s:\n--- got\n%s\n--- want\n%s", cases[i].url, got,
					 cases[i].want);
			free(got);
			db_conninfo_free(k, v);
		}
		db_url_release(&u);
	}
	/* a route the caller learnt from the engine, added first, wins */
	{
		struct db_host_map live = {NULL, 0};
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = NULL, **v = NULL, *got;

		db_host_map_add(&live, "ephemeral", 5432, "127.0.0.1", 49153);
		db_host_map_add_compose(&live, p);
		assert_int_equal(db_url_parse("postgresql://ephemeral/app", &u, &err), 0);
		assert_int_equal(db_url_conninfo(&u, &live, NULL, &k, &v, &err), 0);
		got = route_text(k, v);
		assert_string_equal(got, "host=ephemeral\nhostaddr=127.0.0.1\nport=49153");
		free(got);
		db_conninfo_free(k, v);
		db_url_release(&u);
		db_host_map_release(&live);
	}
	db_host_map_release(&m);
	compose_project_free(p);
	remove_dir(dir);
}

/* ---- failures ----------------------------------------------------------------------- */

static const struct {
	const char *sqlstate;
	const char *msg;
	enum db_failure want;
} classify_cases[] = {
    {NULL, NULL, DB_OK},
    {"", "", DB_OK},
    {NULL,
     "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
     "\tIs the server running on that host and accepting TCP/IP connections?\n",
     DB_REFUSED},
    {NULL,
     "connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such "
     "file or directory\n\tIs the server running locally and accepting connections on that "
     "socket?\n",
     DB_REFUSED},
    {NULL, "could not translate host name \"db\" to address: Name or service not known\n",
     DB_NAME_UNRESOLVED},
    {NULL,
     "could not translate host name \"db\" to address: Temporary failure in name resolution\n",
     DB_NAME_UNRESOLVED},
    {NULL, "connection to server at \"10.255.255.1\", port 5432 failed: timeout expired\n",
     DB_TIMEOUT},
    {NULL, "connection to server at \"10.0.0.1\", port 5432 failed: Connection timed out\n",
     DB_TIMEOUT},
    {NULL, "connection to server at \"10.0.0.1\", port 5432 failed: No route to host\n",
     DB_TIMEOUT},
    {NULL,
     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
     "authentication failed for user \"app\"\n",
     DB_AUTH_FAILED},
    {"28P01", "FATAL:  password authentication failed for user \"app\"", DB_AUTH_FAILED},
    {"28P01", "", DB_AUTH_FAILED},
    {NULL,
     "connection to server at \"db\", port 5432 failed: FATAL:  role \"nobody\" does not "
     "exist\n",
     DB_AUTH_FAILED},
    {NULL,
     "connection to server at \"db\", port 5432 failed: fe_sendauth: no password "
     "supplied\n",
     DB_AUTH_FAILED},
    {NULL, "FATAL:  Peer authentication failed for user \"app\"", DB_AUTH_FAILED},
    {NULL,
     "connection to server at \"db\", port 5432 failed: FATAL:  database \"app\" does not "
     "exist\n",
     DB_NO_DATABASE},
    {"3D000", "", DB_NO_DATABASE},
    {NULL,
     "connection to server at \"db\", port 5432 failed: server does not support SSL, but "
     "SSL was required\n",
     DB_SSL_UNSUPPORTED},
    {NULL,
     "FATAL:  no pg_hba.conf entry for host \"172.18.0.1\", user \"app\", database \"app\", SSL "
     "off\n",
     DB_SSL_REQUIRED},
    {NULL,
     "FATAL:  no pg_hba.conf entry for host \"172.18.0.1\", user \"app\", database \"app\", no "
     "encryption\n",
     DB_SSL_REQUIRED},
    {"28000",
     "FATAL:  no pg_hba.conf entry for host \"1.2.3.4\", user \"a\", database \"a\", "
     "SSL off",
     DB_SSL_REQUIRED},
    {NULL,
     "FATAL:  no pg_hba.conf entry for host \"172.18.0.1\", user \"app\", database \"app\", SSL "
     "encryption\n",
     DB_AUTH_FAILED},
    {NULL, "FATAL:  sorry, too many clients already\n", DB_TOO_MANY},
    {"53300", "", DB_TOO_MANY},
    {NULL,
     "FATAL:  remaining connection slots are reserved for non-replication superuser "
     "connections\n",
     DB_TOO_MANY},
    {NULL, "FATAL:  the database system is starting up\n", DB_STARTING},
    {"57P03", "", DB_STARTING},
    {NULL,
     "connection to server at \"db\", port 5432 failed: root certificate file "
     "\"/root/.postgresql/root.crt\" does not exist\nEither provide the file or change sslmode "
     "to disable server certificate verification.\n",
     DB_OTHER},
    {NULL, "server closed the connection unexpectedly\n", DB_OTHER},
    {"42P01", "relation \"_prisma_migrations\" does not exist", DB_OTHER},
};

static void test_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(classify_cases); i++) {
		enum db_failure got =
		    db_failure_classify(classify_cases[i].sqlstate, classify_cases[i].msg);

		if (got != classify_cases[i].want)
			fail_msg("classify(%s, %s) = %s, want %s",
				 classify_cases[i].sqlstate != NULL ? classify_cases[i].sqlstate
								    : "NULL",
				 classify_cases[i].msg != NULL ? classify_cases[i].msg : "NULL",
				 db_failure_name(got), db_failure_name(classify_cases[i].want));
	}
}

/* libpq's own text for a refused connection, not a copy of it. */
static void test_classify_real_refusal(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *c = NULL;

	(void)state;
	assert_int_equal(db_connect(&c, "postgresql://app:" SECRET "@127.0.0.1:1/app", 2, &err),
			 -1);
	assert_int_equal(db_failure_classify(err.sqlstate, px_error_msg(&err)), DB_REFUSED);
	px_error_clear(&err);
}

static void test_failure_texts(void **state)
{
	static const enum db_failure all[] = {
	    DB_OK,          DB_REFUSED,     DB_NAME_UNRESOLVED, DB_TIMEOUT,
	    DB_AUTH_FAILED, DB_NO_DATABASE, DB_SSL_REQUIRED,    DB_SSL_UNSUPPORTED,
	    DB_TOO_MANY,    DB_STARTING,    DB_OTHER,
	};

	(void)state;
	for (size_t i = 0; i < N(all); i++) {
		const char *hint = db_failure_hint(all[i]);
		char *text = db_failure_explain(all[i], NULL, NULL);

		assert_non_null(hint);
		assert_int_equal(hint[0] == '\0', all[i] == DB_OK || all[i] == DB_OTHER);
		assert_null(strchr(text, '{')); /* every placeholder filled */
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(db_failure_name(all[i]), db_failure_name(all[k]));
		free(text);
	}
}

static void test_failure_explain(void **state)
{
	static const struct {
		const char *url;
		const char *want;
		enum db_failure f;
		bool mapped;
	} cases[] = {
	    {"postgresql://u:" SECRET "@db:5432/app",
	     "nothing listens at db (127.0.0.1:54321) — is the database service up? `prisync ps`",
	     DB_REFUSED, true},
	    {"postgresql://u:" SECRET "@localhost:5432/app",
	     "nothing listens at localhost:5432 — is the database service up? `prisync ps`",
	     DB_REFUSED, false},
	    {"postgresql://[::1]:6543/app",
	     "nothing listens at [::1]:6543 — is the database service up? `prisync ps`", DB_REFUSED,
	     false},
	    {"postgresql:///app?host=/run/pg",
	     "nothing listens at the socket in /run/pg (port 5432) — is the database service up? "
	     "`prisync ps`",
	     DB_REFUSED, false},
	    {"postgresql://u:" SECRET "@db/orders",
	     "database 'orders' does not exist — run `prisync db-create`", DB_NO_DATABASE, true},
	    {"postgresql://u:" SECRET "@db",
	     "database 'postgres' does not exist — run `prisync db-create`", DB_NO_DATABASE, false},
	    {"postgresql://app:" SECRET "@db/app",
	     "the server refused user 'app' — check the user name and the password in the URL "
	     "(special characters in a password must be percent-encoded)",
	     DB_AUTH_FAILED, false},
	    {"postgresql://dbb/app",
	     "the host name 'dbb' does not resolve — a compose service name only resolves inside "
	     "the project's network: is the service running (`prisync ps`), is the host spelled "
	     "right?",
	     DB_NAME_UNRESOLVED, false},
	};
	struct db_host_map m = {NULL, 0};

	(void)state;
	db_host_map_add(&m, "db", 5432, "127.0.0.1", 54321);
	for (size_t i = 0; i < N(cases); i++) {
		struct db_url u;
		struct px_error err = PX_ERROR_INIT;
		char **k = NULL, **v = NULL, *got;

		assert_int_equal(db_url_parse(cases[i].url, &u, &err), 0);
		assert_int_equal(
		    db_url_conninfo(&u, cases[i].mapped ? &m : NULL, NULL, &k, &v, &err), 0);
		got = db_failure_explain(cases[i].f, k, v);
		assert_string_equal(got, cases[i].want);
		assert_no_secret(got, SECRET, cases[i].url);
		free(got);
		db_conninfo_free(k, v);
		db_url_release(&u);
	}
	db_host_map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_round_trip),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_param_lookup),
	    cmocka_unit_test(test_session_sql),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_mask),
	    cmocka_unit_test(test_mask_agrees_with_log),
	    cmocka_unit_test(test_conninfo),
	    cmocka_unit_test(test_conninfo_errors),
	    cmocka_unit_test(test_conninfo_get),
	    cmocka_unit_test(test_host_map),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_secret_password_round_trip),
	    cmocka_unit_test(test_host_map_compose),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_real_refusal),
	    cmocka_unit_test(test_failure_texts),
	    cmocka_unit_test(test_failure_explain),
	};

	return cmocka_run_group_tests_name("db_url", tests, NULL, NULL);
}
