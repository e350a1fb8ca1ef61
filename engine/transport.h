/* transport.h - private to engine/: helpers the resource files share with transport.c
 * (url escaping, requests where one non-2xx status also means success, raw bodies). */
#ifndef PX_ENGINE_TRANSPORT_H
#define PX_ENGINE_TRANSPORT_H

#include <stdbool.h>

#include "engine/engine.h"

/* Percent-encode s as one path segment (RFC 3986 unreserved, ':' and '@' kept); with
 * keep_slash '/' is kept too, for image references ("reg:5000/team/app:1").  Owned. */
char *engine_path_escape(const char *s, bool keep_slash);
/* Percent-encode s for a query value (curl_easy_escape, in our allocator).  Owned. */
char *engine_query_escape(const char *s);

/* A request without body or result where the status ok_status (304 "already so", 404
 * "already gone"; 0 for none) also counts as success: err is left clear then.  *status
 * (may be NULL) as for engine_request. */
int engine_call(struct engine *e, const char *method, const char *path, long ok_status,
		long *status, struct px_error *err);

/* engine_stream with a raw request body of content_type ("application/x-tar") instead of
 * JSON; body is sent as-is (len bytes, zeros allowed). */
int engine_stream_raw(struct engine *e, const char *method, const char *path,
		      const char *content_type, const void *body, size_t len,
		      engine_data_fn on_data, void *data, long *status, struct px_error *err);

/* -1 with "interrupted" and errnum ECANCELED (no strerror text), for a stream that
 * engine_interrupt() or a callback stopped where the caller promised a result. */
int engine_error_interrupted(struct px_error *err);

/* -1 with "<what> must not be empty" when s is NULL or "": a request with an empty path
 * segment would address another endpoint. */
int engine_check_arg(const char *s, const char *what, struct px_error *err);

#endif
