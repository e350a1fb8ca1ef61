/* archive.c - files copied into a container: a tar extracted there by the engine
 * (PUT /containers/{id}/archive), as `docker cp` and docker compose's watch sync do; and
 * files read out of one (GET), a tar of one entry unpacked in memory. */
#include "engine/transport.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

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

static int on_tar_data(const char *buf, size_t len, void *data)
{
	px_buf_add(data, buf, len);
	return 0;
}

int engine_container_get_archive(struct engine *e, const char *id, const char *path,
				 struct px_buf *tar, struct px_error *err)
{
	char *req = NULL;
	long status = 0;
	int rc, ret = -1;

	if (engine_check_arg(id, "container id", err) < 0 ||
	    engine_check_arg(path, "path", err) < 0) {
		px_error_wrap(err, "cannot copy files from container");
		goto out;
	}
	req = archive_path(id, path, false);
	rc = engine_stream(e, "GET", req, NULL, on_tar_data, tar, &status, err);
	if (rc == 1)
		engine_error_interrupted(err);
	/* both a missing container and a missing path are 404: only the message tells */
	if (rc < 0 && status == 404 && strstr(px_error_msg(err), "No such container") == NULL) {
		px_error_clear(err);
		ret = 1;
		goto out;
	}
	if (rc != 0) {
		px_error_wrap(err, "cannot copy '%s' from container '%s'", path, id);
		goto out;
	}
	ret = 0;
out:
	free(req);
	return ret;
}

int engine_tar_single_file(const void *tar, size_t len, struct px_buf *out, struct px_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	int r, ret = -1;

	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tar, len) != ARCHIVE_OK)
		goto fail;
	r = archive_read_next_header(a, &entry);
	if (r == ARCHIVE_EOF) {
		px_error_set(err, 0, "the archive is empty");
		goto out;
	}
	if (r < ARCHIVE_WARN)
		goto fail;
	switch (archive_entry_filetype(entry)) {
	case AE_IFREG:
		for (;;) {
			char buf[16384];
			la_ssize_t n = archive_read_data(a, buf, sizeof(buf));

			if (n < 0)
				goto fail;
			if (n == 0)
				break;
			px_buf_add(out, buf, (size_t)n);
		}
		ret = 0;
		break;
	case AE_IFLNK:
		px_buf_adds(out, archive_entry_symlink(entry) != NULL ? archive_entry_symlink(entry)
								      : "");
		ret = 1;
		break;
	default:
		ret = 2;
	}
	goto out;
fail:
	px_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "cannot read the archive: %s",
		     archive_error_string(a) != NULL ? archive_error_string(a) : "unknown error");
out:
	archive_read_free(a);
	return ret;
}
