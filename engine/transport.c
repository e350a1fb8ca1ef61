/* transport.c - the Docker Engine API transport: DOCKER_HOST parsing, HTTP with libcurl over a
 * unix socket, tcp or tls, API version negotiation, and connection errors that say what to do. */
#include "engine/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/adapters.h"
#include "base/log.h"
#include "base/xmalloc.h"

#ifndef PX_VERSION
#define PX_VERSION "dev"
#endif

#define DEFAULT_TCP_PORT  2375
#define CONNECT_TIMEOUT_S 10L
/* An error body is a short JSON message; never keep more than this of one. */
#define ERROR_BODY_MAX ((size_t)64 * 1024)

struct engine {
	struct engine_host host;
	char *display;  /* canonical DOCKER_HOST, for messages */
	char *base_url; /* "http://localhost" for a socket, "https://h:2376" ... */
	bool tls;
	char *cert_dir; /* where the TLS files were looked for, for messages */
	char *tls_ca;   /* required with tls: the only trust anchor */
	char *tls_cert; /* client certificate and key: both or neither (NULL) */
	char *tls_key;
	char version[32]; /* negotiated; "" before the first ping */
	CURL *curl;       /* one handle for the engine's life, so its connection is reused */
	atomic_int interrupted;
};

/* One transfer's state, shared with the curl callbacks. */
struct xfer {
	CURL *curl;
	struct engine *e;
	engine_data_fn on_data; /* NULL: collect the body into body */
	void *data;
	struct px_buf body; /* the whole 2xx body (on_data NULL) or the error body */
	long status;
	bool status_known;
	bool stopped;         /* on_data asked to stop */
	char api_version[32]; /* the Api-Version header */
};

/*
 * DOCKER_HOST
 */

static int parse_unix(const char *whole, const char *path, struct engine_host *out,
		      struct px_error *err)
{
	struct sockaddr_un sa;

	if (*path == '\0')
		return px_error_set(err, 0,
				    "invalid DOCKER_HOST '%s': missing socket path (e.g. %s)",
				    whole, ENGINE_DEFAULT_HOST);
	if (*path != '/')
		return px_error_set(err, 0,
				    "invalid DOCKER_HOST '%s': the socket path must be absolute "
				    "(unix:///path, with three slashes)",
				    whole);
	if (strlen(path) >= sizeof(sa.sun_path))
		return px_error_set(err, 0,
				    "invalid DOCKER_HOST '%s': socket path longer than %zu bytes",
				    whole, sizeof(sa.sun_path) - 1);
	out->transport = ENGINE_UNIX;
	out->path = xstrdup(path);
	out->host = NULL;
	out->port = 0;
	return 0;
}

static bool host_char_ok(char c, bool v6)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (c == '.' || c == '-' || c == '_')
		return true;
	return v6 && c == ':';
}

/* rest is "host[:port][/]" or "[v6]:port"; docker's default port is 2375 even with TLS. */
static int parse_tcp(const char *whole, const char *rest, struct engine_host *out,
		     struct px_error *err)
{
	const char *host, *host_end, *port = NULL, *end;
	bool v6 = false;
	unsigned long n = DEFAULT_TCP_PORT;
	size_t len;

	end = rest + strlen(rest);
	if (end > rest && end[-1] == '/')
		end--;
	if (memchr(rest, '/', (size_t)(end - rest)) != NULL)
		return px_error_set(
		    err, 0, "invalid DOCKER_HOST '%s': a path after host:port is not supported",
		    whole);
	if (*rest == '[') {
		host = rest + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (host_end == NULL)
			return px_error_set(
			    err, 0, "invalid DOCKER_HOST '%s': missing ']' after the IPv6 address",
			    whole);
		if (host_end + 1 < end) {
			if (host_end[1] != ':')
				return px_error_set(
				    err, 0, "invalid DOCKER_HOST '%s': expected ':port' after ']'",
				    whole);
			port = host_end + 2;
		}
		v6 = true;
	} else {
		host = rest;
		host_end = memchr(rest, ':', (size_t)(end - rest));
		if (host_end == NULL) {
			host_end = end;
		} else {
			port = host_end + 1;
			if (memchr(port, ':', (size_t)(end - port)) != NULL)
				return px_error_set(
				    err, 0,
				    "invalid DOCKER_HOST '%s': put an IPv6 address in brackets "
				    "(tcp://[::1]:2375)",
				    whole);
		}
	}
	if (host_end == host)
		return px_error_set(
		    err, 0, "invalid DOCKER_HOST '%s': missing host (e.g. tcp://127.0.0.1:2375)",
		    whole);
	for (const char *p = host; p < host_end; p++) {
		if (!host_char_ok(*p, v6))
			return px_error_set(
			    err, 0, "invalid DOCKER_HOST '%s': bad character '%c' in the host",
			    whole, *p);
	}
	if (port != NULL) {
		len = (size_t)(end - port);
		if (len == 0 || len > 5 || strspn(port, "0123456789") < len)
			return px_error_set(err, 0, "invalid DOCKER_HOST '%s': bad port '%.*s'",
					    whole, (int)len, port);
		n = strtoul(port, NULL, 10);
		if (n == 0 || n > 65535)
			return px_error_set(
			    err, 0, "invalid DOCKER_HOST '%s': port %lu out of range", whole, n);
	}
	out->transport = ENGINE_TCP;
	out->path = NULL;
	out->host = xstrndup(host, (size_t)(host_end - host));
	out->port = (unsigned)n;
	return 0;
}

int engine_host_parse(const char *docker_host, struct engine_host *out, struct px_error *err)
{
	const char *s =
	    docker_host != NULL && *docker_host != '\0' ? docker_host : ENGINE_DEFAULT_HOST;
	const char *sep = strstr(s, "://");
	size_t slen;

	if (sep == NULL) {
		/* docker reads a bare "host:port" as tcp; a bare path is a common slip */
		if (*s == '/')
			return px_error_set(
			    err, 0,
			    "invalid DOCKER_HOST '%s': a socket needs the unix:// scheme "
			    "(unix://%s)",
			    s, s);
		return parse_tcp(s, s, out, err);
	}
	slen = (size_t)(sep - s);
	if (slen == 4 && strncasecmp(s, "unix", 4) == 0)
		return parse_unix(s, sep + 3, out, err);
	if (slen == 3 && strncasecmp(s, "tcp", 3) == 0)
		return parse_tcp(s, sep + 3, out, err);
	return px_error_set(err, 0,
			    "unsupported DOCKER_HOST '%s': scheme '%.*s' is not supported "
			    "(use unix:///path/to/docker.sock or tcp://host:port)",
			    s, (int)slen, s);
}

void engine_host_release(struct engine_host *h)
{
	if (h == NULL)
		return;
	free(h->path);
	free(h->host);
	h->path = NULL;
	h->host = NULL;
	h->transport = 0;
	h->port = 0;
}

char *engine_host_string(const struct engine_host *h)
{
	char *s;

	if (h->transport == ENGINE_UNIX)
		xasprintf(&s, "unix://%s", h->path);
	else if (strchr(h->host, ':') != NULL)
		xasprintf(&s, "tcp://[%s]:%u", h->host, h->port);
	else
		xasprintf(&s, "tcp://%s:%u", h->host, h->port);
	return s;
}

/*
 * Versions
 */

/* Read one numeric component and step past it and its dot; garbage ends the version. */
static unsigned long version_part(const char **s)
{
	unsigned long n = 0;
	const char *p = *s;

	while (*p >= '0' && *p <= '9') {
		if (n < 100000000UL)
			n = n * 10 + (unsigned long)(*p - '0');
		p++;
	}
	if (*p == '.')
		p++;
	else if (*p != '\0')
		p += strlen(p);
	*s = p;
	return n;
}

int engine_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		unsigned long x = version_part(&a);
		unsigned long y = version_part(&b);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* "<digits>.<digits>", the only form an Api-Version header takes. */
static bool version_valid(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0 || v[n] != '.')
		return false;
	v += n + 1;
	n = strspn(v, "0123456789");
	return n > 0 && v[n] == '\0';
}

/*
 * Escaping and filters
 */

char *engine_path_escape(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct px_buf b = PX_BUF_INIT;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~:@", c) != NULL || (keep_slash && c == '/')) {
			px_buf_addch(&b, (char)c);
		} else {
			px_buf_addch(&b, '%');
			px_buf_addch(&b, hex[c >> 4]);
			px_buf_addch(&b, hex[c & 15]);
		}
	}
	return px_buf_detach(&b, NULL);
}

char *engine_query_escape(const char *s)
{
	/* curl ignores the handle here since 7.82; NULL only means out of memory */
	char *c = curl_easy_escape(NULL, s, 0);
	char *r;

	if (c == NULL) {
		fprintf(stderr, "prisync: fatal: curl_easy_escape failed\n");
		abort();
	}
	r = xstrdup(c);
	curl_free(c);
	return r;
}

char *engine_filters_encode(const json_t *filters)
{
	char *js = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
	char *q;

	if (js == NULL)
		return xstrdup("%7B%7D"); /* not an object: no filter rather than a bad request */
	q = engine_query_escape(js);
	free(js);
	return q;
}

char *engine_label_filter(const char *label)
{
	json_t *f = json_pack("{s:[s]}", "label", label);
	char *q = engine_filters_encode(f);

	json_decref(f);
	return q;
}

int engine_check_arg(const char *s, const char *what, struct px_error *err)
{
	if (s == NULL || *s == '\0')
		return px_error_set(err, 0, "%s must not be empty", what);
	return 0;
}

/*
 * Opening
 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init once per process and never undone: other threads may be using curl.
 * (The libcurl scripts/build-curl.sh builds leaves OpenSSL's initialisation to the first
 * TLS connection: see there.) */
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* dir/name, and whether it can be read: 0, or the errno of opening it.  An open, not
 * access(): root passes access() for files it cannot use either. */
static int tls_file(const char *dir, const char *name, char **out)
{
	int fd;

	xasprintf(out, "%s/%s", dir, name);
	fd = open(*out, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* DOCKER_TLS_VERIFY, as the docker CLI reads it: ca.pem must be there (and is then the only
 * CA trusted); cert.pem and key.pem are the client certificate, both or neither -- with
 * neither, the engine decides whether it accepts a client without one.  A missing file is
 * an error here, naming it, rather than a TLS failure later that does not. */
static int engine_setup_tls(struct engine *e, struct px_error *err)
{
	const char *dir = getenv("DOCKER_CERT_PATH");
	const char *home = getenv("HOME");
	int ca_errno, cert_errno, key_errno;

	if (dir != NULL && *dir != '\0')
		e->cert_dir = xstrdup(dir);
	else
		xasprintf(&e->cert_dir, "%s/.docker", home != NULL ? home : "");
	e->tls = true;
	ca_errno = tls_file(e->cert_dir, "ca.pem", &e->tls_ca);
	cert_errno = tls_file(e->cert_dir, "cert.pem", &e->tls_cert);
	key_errno = tls_file(e->cert_dir, "key.pem", &e->tls_key);
	if (ca_errno != 0)
		return px_error_set(
		    err, ca_errno,
		    "cannot read TLS CA certificate '%s' (DOCKER_TLS_VERIFY is set: "
		    "DOCKER_CERT_PATH needs ca.pem, cert.pem and key.pem)",
		    e->tls_ca);
	if (cert_errno == ENOENT && key_errno == ENOENT) {
		free(e->tls_cert);
		free(e->tls_key);
		e->tls_cert = e->tls_key = NULL;
		return 0;
	}
	if (cert_errno != 0)
		return px_error_set(
		    err, cert_errno,
		    "cannot read TLS client certificate '%s' (key.pem needs cert.pem "
		    "in DOCKER_CERT_PATH)",
		    e->tls_cert);
	if (key_errno != 0)
		return px_error_set(err, key_errno,
				    "cannot read TLS client key '%s' (cert.pem needs key.pem in "
				    "DOCKER_CERT_PATH)",
				    e->tls_key);
	return 0;
}

static void engine_set_base_url(struct engine *e)
{
	const struct engine_host *h = &e->host;
	bool v6;

	if (h->transport == ENGINE_UNIX) {
		/* the host name is not looked at by the engine; the socket is the address */
		e->base_url = xstrdup("http://localhost");
		return;
	}
	v6 = strchr(h->host, ':') != NULL;
	xasprintf(&e->base_url, "%s://%s%s%s:%u", e->tls ? "https" : "http", v6 ? "[" : "", h->host,
		  v6 ? "]" : "", h->port);
}

static int engine_curl_new(struct engine *e, struct px_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return px_error_from_curl(err, curl_init_rc, NULL, "cannot initialise libcurl");
	e->curl = curl_easy_init();
	if (e->curl == NULL)
		return px_error_set(err, 0, "cannot initialise libcurl");
	return 0;
}

int engine_open(struct engine **out, const char *docker_host, struct px_error *err)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	const char *verify;
	int ret = -1;

	if (docker_host == NULL)
		docker_host = getenv("DOCKER_HOST");
	if (engine_host_parse(docker_host, &e->host, err) < 0)
		goto out;
	e->display = engine_host_string(&e->host);
	verify = getenv("DOCKER_TLS_VERIFY");
	if (e->host.transport == ENGINE_TCP && verify != NULL && *verify != '\0' &&
	    engine_setup_tls(e, err) < 0)
		goto out;
	engine_set_base_url(e);
	if (engine_curl_new(e, err) < 0)
		goto out;
	*out = e;
	e = NULL;
	ret = 0;
out:
	engine_free(e);
	return ret;
}

static char *xstrdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

int engine_dup(const struct engine *e, struct engine **out, struct px_error *err)
{
	struct engine *d = xcalloc(1, sizeof(*d));

	d->host.transport = e->host.transport;
	d->host.path = xstrdup_or_null(e->host.path);
	d->host.host = xstrdup_or_null(e->host.host);
	d->host.port = e->host.port;
	d->display = xstrdup(e->display);
	d->base_url = xstrdup(e->base_url);
	d->tls = e->tls;
	d->cert_dir = xstrdup_or_null(e->cert_dir);
	d->tls_ca = xstrdup_or_null(e->tls_ca);
	d->tls_cert = xstrdup_or_null(e->tls_cert);
	d->tls_key = xstrdup_or_null(e->tls_key);
	memcpy(d->version, e->version, sizeof(d->version));
	if (engine_curl_new(d, err) < 0) {
		engine_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	engine_host_release(&e->host);
	free(e->display);
	free(e->base_url);
	free(e->cert_dir);
	free(e->tls_ca);
	free(e->tls_cert);
	free(e->tls_key);
	free(e);
}

const char *engine_api_version(const struct engine *e)
{
	return e->version[0] != '\0' ? e->version : NULL;
}

bool engine_is_local(const struct engine *e)
{
	return e->host.transport == ENGINE_UNIX;
}

const char *engine_host_display(const struct engine *e)
{
	return e->display;
}

void engine_interrupt(struct engine *e)
{
	atomic_store(&e->interrupted, 1);
}

/*
 * One HTTP exchange
 */

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	/* the status is final by the first body byte: decide once where the body goes */
	if (!x->status_known) {
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
		x->status_known = true;
	}
	if (x->on_data != NULL && status_ok(x->status)) {
		if (x->on_data(ptr, n, x->data) != 0) {
			x->stopped = true;
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	}
	if (!status_ok(x->status) && x->body.len + n > ERROR_BODY_MAX)
		n = x->body.len < ERROR_BODY_MAX ? ERROR_BODY_MAX - x->body.len : 0;
	px_buf_add(&x->body, ptr, n);
	return size * nmemb;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;
	static const char name[] = "api-version:";
	size_t vlen;
	const char *v;

	/* a new status line (after a 100 Continue) starts a new set of headers */
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		x->api_version[0] = '\0';
		return n;
	}
	if (n <= sizeof(name) - 1 || strncasecmp(buf, name, sizeof(name) - 1) != 0)
		return n;
	v = buf + sizeof(name) - 1;
	vlen = n - (sizeof(name) - 1);
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= sizeof(x->api_version))
		vlen = sizeof(x->api_version) - 1;
	memcpy(x->api_version, v, vlen);
	x->api_version[vlen] = '\0';
	return n;
}

/* Called about once a second even on an idle stream: the hook for engine_interrupt. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = clientp;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(&x->e->interrupted) ? 1 : 0;
}

/* Keep the errno for callers without putting strerror at the end of a message that ends
 * with advice. */
static void set_errnum(struct px_error *err, int errnum)
{
	if (err != NULL)
		err->errnum = errnum;
}

int engine_error_interrupted(struct px_error *err)
{
	px_error_set(err, 0, "interrupted");
	set_errnum(err, ECANCELED);
	return -1;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
	struct curl_slist *n = curl_slist_append(l, s);

	if (n == NULL) {
		fprintf(stderr, "prisync: fatal: curl_slist_append failed\n");
		abort();
	}
	return n;
}

/* Did the engine refuse our client certificate (or the lack of one)?  With TLS 1.3 its
 * verdict comes after the handshake, as an alert on our first read; or, as often, its close
 * overtakes the alert (it resets a connection that holds our unread request) and all we see
 * is a reset or a dead socket right after a handshake of this very transfer. */
static bool client_refused(const struct engine *e, CURLcode rc, const char *why)
{
	curl_off_t handshake_us = 0;
	long status = 0;

	if (strstr(why, "alert") != NULL &&
	    (strstr(why, "certificate") != NULL || strstr(why, "unknown ca") != NULL))
		return true;
	if (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING)
		return false;
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e->curl, CURLINFO_APPCONNECT_TIME_T, &handshake_us);
	return status == 0 && handshake_us > 0;
}

/* A failed TLS transfer said in terms of the DOCKER_CERT_PATH files: -1 with err set, or 0
 * when rc is not about TLS. */
static int tls_error(const struct engine *e, CURLcode rc, const char *errbuf, struct px_error *err)
{
	const char *why = errbuf != NULL && *errbuf != '\0' ? errbuf : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		/* the engine's certificate: another CA, expired, or not for this name or address */
		return px_error_set(err, 0,
				    "engine at %s: TLS certificate verification failed against CA "
				    "'%s' (DOCKER_CERT_PATH): %s",
				    e->display, e->tls_ca, why);
	case CURLE_SSL_CACERT_BADFILE:
		return px_error_set(err, 0, "engine at %s: cannot use TLS CA certificate '%s': %s",
				    e->display, e->tls_ca, why);
	case CURLE_SSL_CERTPROBLEM:
		return px_error_set(err, 0,
				    "engine at %s: cannot use TLS client certificate '%s' with key "
				    "'%s' (an encrypted key is not supported): %s",
				    e->display, e->tls_cert ? e->tls_cert : "",
				    e->tls_key ? e->tls_key : "", why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		/* a plain HTTP answer read as a TLS record */
		if (strstr(why, "wrong version number") != NULL)
			return px_error_set(
			    err, 0,
			    "engine at %s does not speak TLS (unset DOCKER_TLS_VERIFY "
			    "if it listens without TLS): %s",
			    e->display, why);
		if (client_refused(e, rc, why)) {
			if (e->tls_cert == NULL)
				return px_error_set(
				    err, 0,
				    "engine at %s requires a TLS client certificate: "
				    "there is no cert.pem and key.pem in '%s' "
				    "(DOCKER_CERT_PATH): %s",
				    e->display, e->cert_dir, why);
			return px_error_set(
			    err, 0, "engine at %s rejected the TLS client certificate '%s': %s",
			    e->display, e->tls_cert, why);
		}
		if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CIPHER)
			return px_error_set(err, 0,
					    "engine at %s: TLS handshake failed (certificates from "
					    "'%s', DOCKER_CERT_PATH): %s",
					    e->display, e->cert_dir, why);
		return 0;
	default:
		return 0;
	}
}

/* Turn a failed transfer into a message that says what to do about it. */
static int transport_error(struct engine *e, CURLcode rc, const char *errbuf, const char *method,
			   const char *path, struct px_error *err)
{
	long oserr = 0;
	bool is_unix = e->host.transport == ENGINE_UNIX;

	curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &oserr);
	if (e->tls && tls_error(e, rc, errbuf, err) < 0)
		return -1;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == EACCES || oserr == EPERM) {
			px_error_set(err, 0,
				     "permission denied on %s: add your user to the 'docker' group "
				     "or run as root",
				     e->display);
		} else if (is_unix &&
			   (oserr == ENOENT || oserr == ECONNREFUSED || oserr == ENOTDIR)) {
			px_error_set(err, 0, "engine not reachable at %s: is dockerd running? (%s)",
				     e->display, strerror((int)oserr));
		} else if (oserr == ECONNREFUSED) {
			px_error_set(err, 0,
				     "engine not reachable at %s: connection refused: is dockerd "
				     "listening there? "
				     "(check DOCKER_HOST)",
				     e->display);
		} else if (oserr != 0) {
			px_error_set(err, 0, "engine not reachable at %s: %s (check DOCKER_HOST)",
				     e->display, strerror((int)oserr));
		} else {
			px_error_from_curl(err, rc, errbuf, "engine not reachable");
			px_error_wrap(err, "%s", e->display);
		}
		set_errnum(err, (int)oserr);
		return -1;
	case CURLE_COULDNT_RESOLVE_HOST:
		return px_error_set(
		    err, 0, "engine not reachable at %s: cannot resolve '%s': check DOCKER_HOST",
		    e->display, e->host.host);
	case CURLE_OPERATION_TIMEDOUT:
		px_error_set(err, 0, "engine at %s did not answer in time: check DOCKER_HOST",
			     e->display);
		set_errnum(err, ETIMEDOUT);
		return -1;
	case CURLE_ABORTED_BY_CALLBACK:
		px_error_set(err, 0, "engine request '%s %s' interrupted", method, path);
		set_errnum(err, ECANCELED);
		return -1;
	default:
		px_error_from_curl(err, rc, errbuf, "engine request");
		return px_error_wrap(err, "%s %s at %s", method, path, e->display);
	}
}

/* The engine's {"message": "..."} of a non-2xx answer, as-is. */
static int http_error(const struct xfer *x, struct px_error *err)
{
	const char *body = px_buf_cstr(&x->body);
	json_t *j;
	const char *msg;
	size_t len;

	/* what Go's TLS server answers to plain HTTP */
	if (x->status == 400 && !x->e->tls &&
	    strstr(body, "HTTP request to an HTTPS server") != NULL)
		return px_error_set(
		    err, 0,
		    "the engine speaks TLS: set DOCKER_TLS_VERIFY=1 and "
		    "DOCKER_CERT_PATH (a directory with ca.pem, cert.pem and key.pem)");
	j = json_loadb(body, x->body.len, 0, NULL);
	msg = json_string_value(json_object_get(j, "message"));
	if (msg != NULL && *msg != '\0') {
		px_error_set(err, 0, "engine: %s", msg);
	} else {
		len = strcspn(body, "\r\n");
		if (len > 512)
			len = 512;
		if (len > 0)
			px_error_set(err, 0, "engine: HTTP %ld: %.*s", x->status, (int)len, body);
		else
			px_error_set(err, 0, "engine: HTTP %ld", x->status);
	}
	json_decref(j);
	return -1;
}

/* A request body: JSON, or raw bytes of some content type (a build context). */
struct payload {
	const json_t *json; /* encoded here; NULL for none (or raw) */
	const char *raw;    /* not NUL-terminated: tar data holds zeros */
	size_t raw_len;
	const char *content_type; /* of raw */
};

/* Run one request (full_path includes any version prefix).  0: 2xx, body in x->body unless
 * on_data took it; 1: on_data or an interrupt stopped it; -1: err set. */
static int perform(struct engine *e, const char *method, const char *full_path,
		   const struct payload *body, struct xfer *x, struct px_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	char *url = NULL, *json = NULL, *ctype = NULL;
	const char *payload = NULL;
	size_t payload_len = 0;
	CURL *c = e->curl;
	CURLcode rc;
	int ret = -1;

	x->curl = c;
	x->e = e;
	if (atomic_load(&e->interrupted)) {
		if (x->on_data != NULL)
			return 1;
		px_error_set(err, 0, "engine request '%s %s' interrupted", method, full_path);
		set_errnum(err, ECANCELED);
		return -1;
	}
	xasprintf(&url, "%s%s", e->base_url, full_path);

	/* reset keeps the connection cache, so consecutive requests share one connection */
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* ids and refs are escaped; never let curl fold "/../" into another endpoint */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "prisync/" PX_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (e->host.transport == ENGINE_UNIX)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->host.path);
	if (e->tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		/* ca.pem alone, as docker: libcurl's default CA directory would be trusted too */
		curl_easy_setopt(c, CURLOPT_CAINFO, e->tls_ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		if (e->tls_cert != NULL) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, e->tls_cert);
			curl_easy_setopt(c, CURLOPT_SSLKEY, e->tls_key);
			/* without a password OpenSSL asks for one of an encrypted key on the
			 * terminal, and waits */
			curl_easy_setopt(c, CURLOPT_KEYPASSWD, "");
		}
	}

	/* curl would wait for a 100 Continue on big bodies; the engine never needs that */
	headers = slist_add(headers, "Expect:");
	if (body != NULL && body->json != NULL) {
		json = json_dumps(body->json, JSON_COMPACT | JSON_ENCODE_ANY);
		if (json == NULL) {
			px_error_set(err, 0, "cannot encode the body of '%s %s' as JSON", method,
				     full_path);
			goto out;
		}
		payload = json;
		payload_len = strlen(json);
		headers = slist_add(headers, "Content-Type: application/json");
	} else if (body != NULL && body->raw != NULL) {
		payload = body->raw;
		payload_len = body->raw_len;
		xasprintf(&ctype, "Content-Type: %s", body->content_type);
		headers = slist_add(headers, ctype);
	}
	if (strcmp(method, "GET") == 0 && payload == NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		if (payload != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
			/* an empty POST still says Content-Length: 0 */
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload != NULL ? payload : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload_len);
			if (payload == NULL)
				headers = slist_add(headers, "Content-Type:");
		}
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
	px_debug("engine: %s %s -> %ld%s%s", method, full_path, x->status,
		 rc != CURLE_OK ? ": " : "", rc != CURLE_OK ? curl_easy_strerror(rc) : "");
	if ((rc == CURLE_WRITE_ERROR && x->stopped) ||
	    (rc == CURLE_ABORTED_BY_CALLBACK && x->on_data != NULL)) {
		ret = 1; /* the caller's callback asked to stop, or engine_interrupt() did */
	} else if (rc != CURLE_OK) {
		if (x->status == 0 || rc != CURLE_PARTIAL_FILE)
			transport_error(e, rc, errbuf, method, full_path, err);
		else
			px_error_from_curl(err, rc, errbuf, "engine: answer cut short");
	} else if (!status_ok(x->status)) {
		http_error(x, err);
	} else {
		ret = 0;
	}
out:
	/* the handle keeps pointers to these until the next reset: clear them now */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(headers);
	free(json);
	free(ctype);
	free(url);
	return ret;
}

int engine_ping(struct engine *e, struct px_error *err)
{
	struct xfer x = {.body = PX_BUF_INIT};
	int ret = -1;

	if (perform(e, "GET", "/_ping", NULL, &x, err) < 0) {
		if (x.status != 0)
			px_error_wrap(err, "engine at %s failed its ping", e->display);
		goto out;
	}
	if (x.api_version[0] == '\0' || !version_valid(x.api_version)) {
		px_error_set(err, 0,
			     "%s answered its ping without a valid Api-Version header: is it a "
			     "Docker engine?",
			     e->display);
		goto out;
	}
	if (engine_version_cmp(x.api_version, ENGINE_API_VERSION_MIN) < 0) {
		px_error_set(err, 0,
			     "engine at %s speaks API %s, older than %s: prisync needs Docker "
			     "20.10 or newer",
			     e->display, x.api_version, ENGINE_API_VERSION_MIN);
		goto out;
	}
	if (engine_version_cmp(x.api_version, ENGINE_API_VERSION) < 0)
		snprintf(e->version, sizeof(e->version), "%s", x.api_version);
	else
		snprintf(e->version, sizeof(e->version), "%s", ENGINE_API_VERSION);
	px_debug("engine: %s speaks API %s, using %s", e->display, x.api_version, e->version);
	ret = 0;
out:
	px_buf_release(&x.body);
	return ret;
}

static int versioned(struct engine *e, const char *path, char **out, struct px_error *err)
{
	if (path == NULL || path[0] != '/')
		return px_error_set(err, 0, "engine request path '%s' must start with '/'",
				    path ? path : "");
	if (e->version[0] == '\0' && engine_ping(e, err) < 0)
		return -1;
	xasprintf(out, "/v%s%s", e->version, path);
	return 0;
}

int engine_request(struct engine *e, const char *method, const char *path, const json_t *body,
		   long *status, json_t **out_json, struct px_error *err)
{
	struct xfer x = {.body = PX_BUF_INIT};
	json_error_t jerr;
	char *full = NULL;
	json_t *j = NULL;
	int ret = -1;

	if (status != NULL)
		*status = 0;
	if (out_json != NULL)
		*out_json = NULL;
	if (versioned(e, path, &full, err) < 0)
		goto out;
	ret = perform(e, method, full, &(struct payload){.json = body}, &x, err);
	if (status != NULL)
		*status = x.status;
	if (ret < 0)
		goto out;
	ret = -1;
	if (out_json != NULL && x.body.len > 0) {
		j = json_loadb(x.body.data, x.body.len, JSON_DECODE_ANY, &jerr);
		if (j == NULL) {
			px_error_from_json(err, &jerr, "engine: bad JSON in the answer");
			px_error_wrap(err, "%s %s", method, full);
			goto out;
		}
		*out_json = j;
	}
	ret = 0;
out:
	px_buf_release(&x.body);
	free(full);
	return ret;
}

static int stream_payload(struct engine *e, const char *method, const char *path,
			  const struct payload *body, engine_data_fn on_data, void *data,
			  long *status, struct px_error *err)
{
	struct xfer x = {.body = PX_BUF_INIT, .on_data = on_data, .data = data};
	char *full = NULL;
	int ret = -1;

	if (status != NULL)
		*status = 0;
	if (versioned(e, path, &full, err) < 0)
		goto out;
	ret = perform(e, method, full, body, &x, err);
	if (status != NULL)
		*status = x.status;
out:
	px_buf_release(&x.body);
	free(full);
	return ret;
}

int engine_stream(struct engine *e, const char *method, const char *path, const json_t *body,
		  engine_data_fn on_data, void *data, long *status, struct px_error *err)
{
	return stream_payload(e, method, path, &(struct payload){.json = body}, on_data, data,
			      status, err);
}

int engine_stream_raw(struct engine *e, const char *method, const char *path,
		      const char *content_type, const void *body, size_t len,
		      engine_data_fn on_data, void *data, long *status, struct px_error *err)
{
	/* a zero-length body still needs a non-NULL pointer to be sent as a body */
	const struct payload p = {
	    .raw = body != NULL ? body : "", .raw_len = len, .content_type = content_type};

	return stream_payload(e, method, path, &p, on_data, data, status, err);
}

int engine_call(struct engine *e, const char *method, const char *path, long ok_status,
		long *status, struct px_error *err)
{
	long st = 0;
	int rc = engine_request(e, method, path, NULL, &st, NULL, err);

	if (status != NULL)
		*status = st;
	if (rc < 0 && ok_status != 0 && st == ok_status) {
		px_error_clear(err);
		return 0;
	}
	return rc;
}
