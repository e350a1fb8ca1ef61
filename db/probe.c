/* probe.c - reach the database the way db-check reports it: attempts with exponential
 * backoff for what may pass (refused, timeout, too many clients), none for what will not
 * (bad password, missing database), then the server version and one round trip. */
#include "db/db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A failure that a later attempt may not meet again. */
static bool transient(enum db_failure f)
{
	return f == DB_REFUSED || f == DB_TIMEOUT || f == DB_TOO_MANY || f == DB_STARTING ||
	       f == DB_NAME_UNRESOLVED;
}

int db_probe(struct db_conn **out, const char *const *keys, const char *const *values,
	     const struct db_probe_opts *o, struct db_probe *res)
{
	int attempts = o != NULL && o->attempts > 0 ? o->attempts : 3;
	int timeout_s = o != NULL && o->timeout_s > 0 ? o->timeout_s : 5;
	long delay_ms = 1000;

	memset(res, 0, sizeof(*res));
	*out = NULL;
	for (int i = 0; i < attempts; i++) {
		struct px_error err = PX_ERROR_INIT;
		int64_t t0;
		char *one = NULL;

		if (i > 0) {
			px_sleep_ms(delay_ms); /* 1 s, 2 s, 4 s ... */
			delay_ms *= 2;
		}
		res->attempts = i + 1;
		t0 = px_mono_ns();
		if (db_connect_params(out, keys, values, timeout_s, &err) == 0) {
			int64_t t1 = px_mono_ns();

			res->connect_ms = (double)(t1 - t0) / 1e6;
			res->server_version = db_server_version(*out);
			if (o != NULL)
				db_set_timeout(*out, o->query_timeout_ms);
			if (db_query_value(*out, "SELECT 1", 0, NULL, &one, &err) < 0) {
				/* connected, then no answer: a paused or hung server */
				res->failure = err.errnum == ETIMEDOUT ? DB_TIMEOUT : DB_OTHER;
				free(res->error);
				res->error = xstrdup(px_error_msg(&err));
				px_error_clear(&err);
				db_close(*out);
				*out = NULL;
				return -1;
			}
			free(one);
			res->rtt_ms = (double)(px_mono_ns() - t1) / 1e6;
			res->failure = DB_OK;
			free(res->error);
			res->error = NULL;
			return 0;
		}
		res->failure = db_failure_classify(err.sqlstate, px_error_msg(&err));
		free(res->error);
		res->error = xstrdup(px_error_msg(&err));
		px_error_clear(&err);
		if (!transient(res->failure))
			break;
	}
	return -1;
}

void db_probe_release(struct db_probe *res)
{
	free(res->error);
	res->error = NULL;
}
