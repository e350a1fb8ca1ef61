/* internal.h - what the files of db/ share and nobody else sees: the connection handle
 * behind the opaque struct db_conn of db.h. */
#ifndef PX_DB_INTERNAL_H
#define PX_DB_INTERNAL_H

#include <libpq-fe.h>

struct db_conn {
	PGconn *pg; /* owned: PQfinish in db_close */
};

#endif
