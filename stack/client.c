/* client.c - is the Prisma Client of an x-prisync schema generated from its current
 * sources?  Read on the host, or inside the run-in service's container when the client
 * lives in a volume there (node_modules in a named volume, the common compose setup). */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* How many symlinks a container read follows before giving up (the kernel's is 40) */
#define MAX_LINKS 16

/* The mount of s whose target holds cpath most closely (deepest), or NULL. */
static const struct compose_mount *mount_at(const struct compose_service *s, const char *cpath,
					    const char **rest)
{
	const struct compose_mount *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *m = &s->volumes[i];
		const char *r;

		if (m->target == NULL || !px_path_is_abs(m->target))
			continue;
		r = px_path_below(cpath, m->target);
		if (r != NULL && (best == NULL || strlen(m->target) > best_len)) {
			best = m;
			best_len = strlen(m->target);
			*rest = r;
		}
	}
	return best;
}

/* A host path as s's container sees it: through the bind mount whose source holds it
 * most closely.  NULL when no bind mount shows it.  Owned. */
static char *host_to_container(const struct compose_service *s, const char *host)
{
	const struct compose_mount *best = NULL;
	const char *rest = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *m = &s->volumes[i];
		const char *r;

		if (m->type != COMPOSE_MOUNT_BIND || m->source == NULL || m->target == NULL)
			continue;
		r = px_path_below(host, m->source);
		if (r != NULL && (best == NULL || strlen(m->source) > best_len)) {
			best = m;
			best_len = strlen(m->source);
			rest = r;
		}
	}
	if (best == NULL)
		return NULL;
	{
		char *j = px_path_join(best->target, rest), *c = px_path_clean(j);

		free(j);
		return c;
	}
}

/* True when the container path is inside a named or anonymous volume of s (and not in
 * a bind mount below it). */
static bool in_volume(const struct compose_service *s, const char *cpath)
{
	const char *rest;
	const struct compose_mount *m = mount_at(s, cpath, &rest);

	return m != NULL && m->type == COMPOSE_MOUNT_VOLUME;
}

/* The container's view of its files: bind mounts read on the host (the same bytes,
 * without a round trip), everything else (volumes, the image) through the engine. */
struct view {
	struct engine *e;
	const char *id;
	const struct compose_service *s;
};

static int view_read(void *ctx, const char *path, struct px_buf *out, bool *exists,
		     struct px_error *err);

static int view_read_depth(struct view *v, const char *path, struct px_buf *out, bool *exists,
			   int links, struct px_error *err)
{
	struct px_buf tar = PX_BUF_INIT, data = PX_BUF_INIT;
	const char *rest = NULL;
	const struct compose_mount *m = mount_at(v->s, path, &rest);
	char *host = NULL, *target = NULL;
	int rc, ret = -1;

	*exists = false;
	if (m != NULL && m->type == COMPOSE_MOUNT_BIND && m->source != NULL) {
		host = px_path_join(m->source, rest);
		ret = prisma_host_reader.read(NULL, host, out, exists, err);
		goto out;
	}
	rc = engine_container_get_archive(v->e, v->id, path, &tar, err);
	if (rc != 0) {
		ret = rc < 0 ? -1 : 0;
		goto out;
	}
	rc = engine_tar_single_file(tar.data, tar.len, &data, err);
	if (rc < 0) {
		px_error_wrap(err, "cannot read '%s' in container '%s'", path, v->id);
		goto out;
	}
	if (rc == 0) {
		px_buf_add(out, data.data, data.len);
		*exists = true;
	} else if (rc == 1) {
		/* the engine archives a symlink as the link: follow it as the kernel would */
		char *dir = px_path_dirname(path);

		if (links >= MAX_LINKS) {
			free(dir);
			px_error_set(err, 0,
				     "too many levels of symbolic links at '%s' in container '%s'",
				     path, v->id);
			goto out;
		}
		target = px_path_abs(dir, px_buf_cstr(&data));
		free(dir);
		ret = view_read_depth(v, target, out, exists, links + 1, err);
		goto out;
	}
	ret = 0;
out:
	free(host);
	free(target);
	px_buf_release(&tar);
	px_buf_release(&data);
	return ret;
}

static int view_read(void *ctx, const char *path, struct px_buf *out, bool *exists,
		     struct px_error *err)
{
	return view_read_depth(ctx, path, out, exists, 0, err);
}

/* The running container of project's service (not a one-off): 0 with *id and *name
 * (owned, the name without its '/'), 1 when none runs. */
static int running_container(struct engine *e, const char *project, const char *service, char **id,
			     char **name, struct px_error *err)
{
	json_t *list = NULL, *c;
	size_t i;
	int rc = 1;

	*id = *name = NULL;
	if (stack_list_containers(e, project, &list, err) < 0)
		return -1;
	json_array_foreach(list, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "Id"));
		const char *cname =
		    json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (!stack_serves(c, service) || cid == NULL)
			continue;
		*id = xstrdup(cid);
		*name = xstrdup(cname == NULL ? cid : cname[0] == '/' ? cname + 1 : cname);
		rc = 0;
		break;
	}
	json_decref(list);
	return rc;
}

/* Read the client file at loc with r and judge it against schema. */
static int judge(const struct prisma_reader *r, const struct prisma_client_location *loc,
		 const struct px_buf *schema, struct stack_client_report *out, struct px_error *err)
{
	struct px_buf text = PX_BUF_INIT;
	struct prisma_diff diff;
	char *embedded = NULL;
	bool exists = false;
	int ret = -1;

	memset(&diff, 0, sizeof(diff));
	if (r->read(r->ctx, loc->client, &text, &exists, err) < 0) {
		px_error_wrap(err, "cannot read the generated client");
		goto out;
	}
	if (prisma_client_check(exists ? px_buf_cstr(&text) : NULL, text.len, px_buf_cstr(schema),
				schema->len, loc->installed_version, &out->state, &diff, err) < 0) {
		px_error_wrap(err, "'%s'", loc->client);
		goto out;
	}
	if (exists && prisma_client_inline_schema(px_buf_cstr(&text), text.len, &embedded,
						  &out->generated_version, err) < 0)
		goto out;
	switch (out->state) {
	case PRISMA_CLIENT_STALE:
		out->difference = prisma_diff_describe(&diff);
		break;
	case PRISMA_CLIENT_MISSING:
		xasprintf(&out->reason,
			  exists ? "'%s' is not a generated Prisma Client (no inlineSchema)"
				 : "no generated client at '%s'",
			  loc->client);
		break;
	case PRISMA_CLIENT_VERSION_SKEW:
		xasprintf(&out->reason, "generated by Prisma Client %s, %s is installed",
			  out->generated_version != NULL ? out->generated_version : "(unknown)",
			  loc->installed_version);
		break;
	case PRISMA_CLIENT_FRESH:
		break;
	}
	ret = 0;
out:
	free(embedded);
	prisma_diff_release(&diff);
	px_buf_release(&text);
	return ret;
}

int stack_client_check(struct engine *e, const struct compose_project *p,
		       const struct compose_prisync_schema *sc, struct stack_client_report *out,
		       struct px_error *err)
{
	struct px_buf schema = PX_BUF_INIT;
	struct prisma_generators gens = {0};
	struct prisma_client_location loc = {0};
	const struct prisma_generator *g;
	const struct compose_service *svc = NULL;
	char *schema_dir = NULL, *cclient = NULL, *cid = NULL, *cname = NULL;
	char *cschema_dir = NULL, *coutput = NULL, *cproject = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (prisma_schema_read(sc->schema, &schema, err) < 0 ||
	    prisma_generators_read(sc->schema, &gens, err) < 0)
		goto fail;
	g = prisma_generators_client(&gens);
	if (g == NULL) {
		px_error_set(err, ENOENT,
			     "no generator with provider '%s' or '%s' in '%s' -- nothing to check",
			     PRISMA_PROVIDER_CLIENT_JS, PRISMA_PROVIDER_CLIENT, sc->schema);
		goto fail;
	}
	out->provider = xstrdup(g->provider);
	schema_dir = px_path_dirname(g->file);
	if (prisma_client_locate(&prisma_host_reader, g->provider, g->output, schema_dir,
				 p->working_dir, &loc, err) < 0)
		goto fail;

	if (sc->run_in != NULL && strcmp(sc->run_in, "host") != 0)
		svc = compose_project_service(p, sc->run_in);
	if (svc != NULL)
		cclient = host_to_container(svc, loc.client);
	if (cclient == NULL || !in_volume(svc, cclient)) {
		/* the host's files are the ones the service sees */
		out->where = xstrdup("host");
		out->client = xstrdup(loc.client);
		out->installed_version =
		    loc.installed_version != NULL ? xstrdup(loc.installed_version) : NULL;
		if (judge(&prisma_host_reader, &loc, &schema, out, err) < 0)
			goto fail;
		ret = 0;
		goto out;
	}

	if (e == NULL) {
		px_error_set(err, 0,
			     "the client '%s' is in a volume of service '%s': reading it needs the "
			     "engine",
			     cclient, svc->name);
		goto fail;
	}
	rc = running_container(e, p->name, svc->name, &cid, &cname, err);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		out->state = PRISMA_CLIENT_MISSING;
		out->client = cclient;
		cclient = NULL;
		xasprintf(&out->where, "service %s (not running)", svc->name);
		xasprintf(
		    &out->reason,
		    "the client is in a volume of service '%s', which has no running container "
		    "-- run 'prisync up'",
		    svc->name);
		ret = 0;
		goto out;
	}
	{
		struct view v = {e, cid, svc};
		const struct prisma_reader r = {view_read, &v};

		/* locate again, as Node in the container resolves it */
		coutput = g->output != NULL ? host_to_container(svc, g->output) : NULL;
		cschema_dir = host_to_container(svc, schema_dir);
		cproject = host_to_container(svc, p->working_dir);
		if (g->output == NULL && cschema_dir == NULL) {
			/* the schema is not in the container: start from the directory that
			 * holds the mapped client's node_modules/.prisma/client/index.js */
			cschema_dir = xstrdup(cclient);
			for (int i = 0; i < 4; i++) {
				char *up = px_path_dirname(cschema_dir);

				free(cschema_dir);
				cschema_dir = up;
			}
		}
		prisma_client_location_release(&loc);
		if (prisma_client_locate(&r, g->provider, coutput, cschema_dir,
					 cproject != NULL ? cproject : cschema_dir, &loc, err) < 0)
			goto fail;
		xasprintf(&out->where, "container %s of service %s", cname, svc->name);
		out->client = xstrdup(loc.client);
		out->installed_version =
		    loc.installed_version != NULL ? xstrdup(loc.installed_version) : NULL;
		if (judge(&r, &loc, &schema, out, err) < 0)
			goto fail;
	}
	ret = 0;
	goto out;
fail:
	stack_client_report_release(out);
out:
	prisma_generators_release(&gens);
	prisma_client_location_release(&loc);
	px_buf_release(&schema);
	free(schema_dir);
	free(cclient);
	free(cid);
	free(cname);
	free(cschema_dir);
	free(coutput);
	free(cproject);
	return ret;
}

void stack_client_report_release(struct stack_client_report *r)
{
	if (r == NULL)
		return;
	free(r->difference);
	free(r->reason);
	free(r->client);
	free(r->where);
	free(r->generated_version);
	free(r->installed_version);
	free(r->provider);
	memset(r, 0, sizeof(*r));
}

/* A string, or JSON null for NULL. */
static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *stack_client_report_json(const struct stack_client_report *r)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "state",
			 prisma_client_state_name(r->state), "provider", str_or_null(r->provider),
			 "client", str_or_null(r->client), "where", str_or_null(r->where),
			 "generatedVersion", str_or_null(r->generated_version), "installedVersion",
			 str_or_null(r->installed_version), "difference",
			 str_or_null(r->difference), "reason", str_or_null(r->reason));
}
