/* adapters.h - one adapter per library: curl, libyaml, libpq, libgit2, jansson.
 * Each turns the library's error convention into a struct px_error. All return -1. */
#ifndef PX_ADAPTERS_H
#define PX_ADAPTERS_H

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <yaml.h>

#include "error.h"

/* "<what>: <errbuf or curl_easy_strerror(code)>"; errbuf may be NULL or "". */
int px_error_from_curl(struct px_error *err, CURLcode code, const char *errbuf, const char *what);

/* "<file>:<line>:<column>: <problem> <context>" from the parser's problem mark
 * (1-based line and column, as editors count). */
int px_error_from_yaml(struct px_error *err, const yaml_parser_t *parser, const char *file);

/* From a failed result (SQLSTATE copied into err->sqlstate, primary message) or,
 * when res is NULL, from the connection's message; "<what>: <message>". */
int px_error_from_pq(struct px_error *err, const PGconn *conn, const PGresult *res,
		     const char *what);

/* From git_error_last() (or the numeric code when libgit2 set none): "<what>: <message>". */
int px_error_from_git2(struct px_error *err, int code, const char *what);

/* "<what>: <source>:<line>:<column>: <text>" from a jansson json_error_t. */
int px_error_from_json(struct px_error *err, const json_error_t *jerr, const char *what);

/* Unload libgit2 (base/lazy.c) and whatever it alone brought in (mbedTLS, Kerberos, libssh2
 * ...): ~2.5 MiB an idle supervisor would otherwise keep.  Only when no libgit2 object is
 * alive and git_libgit2_shutdown() has balanced every init: vcs/ does that bookkeeping.
 * The next libgit2 call loads it again. */
void px_lazy_unload_git2(void);

#endif
