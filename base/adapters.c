/* adapters.c - the single boundary where curl, libyaml, libpq, libgit2 and jansson
 * errors become a struct px_error.  Library messages are copied, never borrowed. */
#include "base/adapters.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"

/* Length of s without trailing newlines (libpq and curl end messages with one). */
static size_t chomp_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return n;
}

/* Set err to "<what>: <msg>" (just msg when what is NULL or empty); msg is chomped. */
static int set_prefixed(struct px_error *err, const char *what, const char *msg)
{
	int n = (int)chomp_len(msg);

	if (what != NULL && what[0] != '\0')
		return px_error_set(err, 0, "%s: %.*s", what, n, msg);
	return px_error_set(err, 0, "%.*s", n, msg);
}

int px_error_from_curl(struct px_error *err, CURLcode code, const char *errbuf, const char *what)
{
	/* CURLOPT_ERRORBUFFER says more than the code ("Failed to connect to ... port ...") */
	if (errbuf != NULL && chomp_len(errbuf) > 0)
		return set_prefixed(err, what, errbuf);
	return set_prefixed(err, what, curl_easy_strerror(code));
}

int px_error_from_yaml(struct px_error *err, const yaml_parser_t *parser, const char *file)
{
	struct px_buf b = PX_BUF_INIT;
	int ret;

	if (file != NULL && file[0] != '\0')
		px_buf_addf(&b, "%s:", file);
	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		px_buf_adds(&b, b.len ? " out of memory" : "out of memory");
		break;
	case YAML_READER_ERROR:
		/* the reader sets no mark, only a byte offset (and the bad value, if any) */
		if (b.len)
			px_buf_addch(&b, ' ');
		px_buf_addf(&b, "%s", parser->problem ? parser->problem : "cannot read input");
		if (parser->problem_value != -1)
			px_buf_addf(&b, " (#%X)", (unsigned)parser->problem_value);
		px_buf_addf(&b, " at byte %zu", parser->problem_offset);
		break;
	default:
		/* libyaml marks are 0-based; editors count from 1 */
		px_buf_addf(&b, "%zu:%zu: %s", parser->problem_mark.line + 1,
			    parser->problem_mark.column + 1,
			    parser->problem ? parser->problem : "invalid YAML");
		if (parser->context != NULL)
			px_buf_addf(&b, " %s", parser->context);
		break;
	}
	ret = px_error_set(err, 0, "%s", px_buf_cstr(&b));
	px_buf_release(&b);
	return ret;
}

int px_error_from_pq(struct px_error *err, const PGconn *conn, const PGresult *res,
		     const char *what)
{
	const char *msg = NULL, *state = NULL;
	char status[64];

	if (res != NULL) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* errors libpq generates itself may carry no fields, only the full text */
		if (msg == NULL || msg[0] == '\0')
			msg = PQresultErrorMessage(res);
		if ((msg == NULL || chomp_len(msg) == 0) && conn != NULL)
			msg = PQerrorMessage(conn);
		if (msg == NULL || chomp_len(msg) == 0) {
			/* not an error result at all, e.g. PGRES_COMMAND_OK */
			snprintf(status, sizeof(status), "unexpected result status %s",
				 PQresStatus(PQresultStatus(res)));
			msg = status;
		}
	} else if (conn != NULL) {
		msg = PQerrorMessage(conn);
		if (chomp_len(msg) == 0)
			msg =
			    PQstatus(conn) == CONNECTION_BAD ? "connection failed" : "query failed";
	} else {
		/* PQconnectdb() and friends return NULL only when out of memory */
		msg = "no connection object (libpq out of memory)";
	}
	set_prefixed(err, what, msg);
	if (err != NULL && state != NULL)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	return -1;
}

int px_error_from_git2(struct px_error *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	char num[64];

	if (e != NULL && e->message != NULL && chomp_len(e->message) > 0)
		return set_prefixed(err, what, e->message);
	snprintf(num, sizeof(num), "libgit2 error %d", code);
	return set_prefixed(err, what, num);
}

int px_error_from_json(struct px_error *err, const json_error_t *jerr, const char *what)
{
	struct px_buf b = PX_BUF_INIT;
	int ret;

	if (what != NULL && what[0] != '\0')
		px_buf_addf(&b, "%s: ", what);
	if (jerr->source[0] != '\0')
		px_buf_addf(&b, "%s:", jerr->source);
	/* jansson uses -1 when it has no position (e.g. invalid arguments) */
	if (jerr->line >= 0)
		px_buf_addf(&b, "%d:%d:", jerr->line, jerr->column);
	if (b.len > 0 && b.data[b.len - 1] == ':')
		px_buf_addch(&b, ' ');
	px_buf_adds(&b, jerr->text[0] != '\0' ? jerr->text : "invalid JSON");
	ret = px_error_set(err, 0, "%s", px_buf_cstr(&b));
	px_buf_release(&b);
	return ret;
}
