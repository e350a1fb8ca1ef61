/* internal.h - what the files of db/ share and nobody else sees: the connection handle
 * behind the opaque struct db_conn of db.h. */
#ifndef PX_DB_INTERNAL_H
#define PX_DB_INTERNAL_H

#include <libpq-fe.h>

#include <stdbool.h>

struct db_conn {
	PGconn *pg;     /* owned: PQfinish in db_close */
	int timeout_ms; /* db_set_timeout: the bound of each statement; 0 none */
	bool dead;      /* a statement timed out: the protocol state is unknown, no more */
};

#endif
