/* client_locate.c - where a generator's client lives and which @prisma/client is
 * installed next to it, by Node's module resolution, over any file reader. */
#include "prisma/prisma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"
#include "base/xmalloc.h"

#define CLIENT_PACKAGE_JSON "node_modules/@prisma/client/package.json"

static int host_read(void *ctx, const char *path, struct px_buf *out, bool *exists,
		     struct px_error *err)
{
	(void)ctx;
	*exists = false;
	if (px_path_read_file(path, out, err) < 0) {
		/* EISDIR: a directory where a file is expected counts as no file */
		if (err->errnum == ENOENT || err->errnum == ENOTDIR || err->errnum == EISDIR) {
			px_error_clear(err);
			return 0;
		}
		return -1;
	}
	*exists = true;
	return 0;
}

const struct prisma_reader prisma_host_reader = {host_read, NULL};

/*
 * Walk up from dir (absolute, clean) as Node's node_modules lookup does -- a directory
 * named node_modules is not searched for node_modules/ inside it -- for the first
 * @prisma/client/package.json.  Returns 0 with *pkg_path (owned) and its text in pkg, 1
 * when there is none, -1 on a read error.
 */
static int find_client_package(const struct prisma_reader *r, const char *dir, char **pkg_path,
			       struct px_buf *pkg, struct px_error *err)
{
	char *d = px_path_clean(dir);
	int rc = 1;

	*pkg_path = NULL;
	for (;;) {
		char *base = px_path_basename(d), *cand = NULL, *up;
		bool exists = false;

		if (strcmp(base, "node_modules") != 0) {
			cand = px_path_join(d, CLIENT_PACKAGE_JSON);
			px_buf_reset(pkg);
			if (r->read(r->ctx, cand, pkg, &exists, err) < 0) {
				free(base);
				free(cand);
				rc = -1;
				break;
			}
		}
		free(base);
		if (exists) {
			*pkg_path = cand;
			rc = 0;
			break;
		}
		free(cand);
		up = px_path_dirname(d);
		if (strcmp(up, d) == 0) {
			free(up);
			break;
		}
		free(d);
		d = up;
	}
	free(d);
	return rc;
}

/* The "version" of a package.json's text, or NULL (owned). */
static char *package_version(const struct px_buf *pkg)
{
	json_t *j = json_loadb(px_buf_cstr(pkg), pkg->len, 0, NULL);
	const char *v = json_string_value(json_object_get(j, "version"));
	char *s = v != NULL ? xstrdup(v) : NULL;

	json_decref(j);
	return s;
}

int prisma_client_locate(const struct prisma_reader *r, const char *provider, const char *output,
			 const char *schema_dir, const char *project_dir,
			 struct prisma_client_location *out, struct px_error *err)
{
	struct px_buf pkg = PX_BUF_INIT;
	char *pkg_path = NULL, *client_dir = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (provider == NULL) {
		px_error_set(err, 0, "the generator has no provider");
		goto out;
	}
	if (strcmp(provider, PRISMA_PROVIDER_CLIENT) == 0) {
		if (output == NULL) {
			px_error_set(
			    err, 0,
			    "generator provider '%s' needs an output setting -- add output "
			    "= \"../generated/prisma\" to the generator block",
			    provider);
			goto out;
		}
		out->client = px_path_join(output, "internal/class.ts");
	} else if (strcmp(provider, PRISMA_PROVIDER_CLIENT_JS) != 0) {
		px_error_set(err, 0,
			     "generator provider '%s' is not a Prisma Client ('%s' or '%s')",
			     provider, PRISMA_PROVIDER_CLIENT_JS, PRISMA_PROVIDER_CLIENT);
		goto out;
	} else if (output != NULL) {
		out->client = px_path_join(output, "index.js");
	} else {
		rc = find_client_package(r, schema_dir, &pkg_path, &pkg, err);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			/* <nm>/@prisma/client/package.json -> <nm>/.prisma/client/index.js */
			char *client_pkg = px_path_dirname(pkg_path),
			     *scope = px_path_dirname(client_pkg);
			char *nm = px_path_dirname(scope);

			out->client = px_path_join(nm, ".prisma/client/index.js");
			free(client_pkg);
			free(scope);
			free(nm);
		} else {
			out->client =
			    px_path_join(project_dir, "node_modules/.prisma/client/index.js");
		}
		free(pkg_path);
		pkg_path = NULL;
	}
	/* the package Node would load from the client: the first found walking up from it */
	client_dir = px_path_dirname(out->client);
	rc = find_client_package(r, client_dir, &pkg_path, &pkg, err);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		out->package_json = pkg_path;
		pkg_path = NULL;
		out->installed_version = package_version(&pkg);
	}
	ret = 0;
out:
	if (ret < 0)
		prisma_client_location_release(out);
	px_buf_release(&pkg);
	free(pkg_path);
	free(client_dir);
	return ret;
}

void prisma_client_location_release(struct prisma_client_location *l)
{
	if (l == NULL)
		return;
	free(l->client);
	free(l->package_json);
	free(l->installed_version);
	memset(l, 0, sizeof(*l));
}
