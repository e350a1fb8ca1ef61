/* archive.c - files copied into a container: a tar extracted there by the engine
 * (PUT /containers/{id}/archive), as `docker cp` and docker compose's watch sync do. */
#include "engine/transport.h"

#include <stdlib.h>

#include "base/xmalloc.h"

/* "/containers/<id>/archive?path=<path>[&copyUIDGID=1]", owned.  A name as the engine
 * lists it ("/name") loses its slash: escaped, it would make the engine redirect. */
static char *archive_path(const char *id, const char *path, bool copy_uid_gid)
{
	char *eid = engine_path_escape(id[0] == '/' && id[1] != '\0' ? id + 1 : id, false);
	char *epath = engine_query_escape(path);
	char *p;

	xasprintf(&p, "/containers/%s/archive?path=%s%s", eid, epath,
		  copy_uid_gid ? "&copyUIDGID=1" : "");
	free(eid);
	free(epath);
	return p;
}

int engine_container_put_archive(struct engine *e, const char *id, const char *path,
				 const void *tar, size_t len, bool copy_uid_gid,
				 struct px_error *err)
{
	char *req = NULL;
	int rc, ret = -1;

	if (engine_check_arg(id, "container id", err) < 0 ||
	    engine_check_arg(path, "destination path", err) < 0) {
		px_error_wrap(err, "cannot copy files into container");
		goto out;
	}
	req = archive_path(id, path, copy_uid_gid);
	/* the answer of a success is an empty 200; an error's body is the engine's message,
	 * which already tells a missing container (404) from a missing path (404, "Could not
	 * find the file"), a non-directory (400) and a read-only root filesystem (403) */
	rc = engine_stream_raw(e, "PUT", req, "application/x-tar", tar, len, NULL, NULL, NULL, err);
	if (rc == 1)
		engine_error_interrupted(err);
	if (rc != 0) {
		px_error_wrap(err, "cannot copy files to '%s' in container '%s'", path, id);
		goto out;
	}
	ret = 0;
out:
	free(req);
	return ret;
}
