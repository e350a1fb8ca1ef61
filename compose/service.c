/* service.c - one service of the canonical tree typed into struct compose_service:
 * casts, defaults, host paths, env_file contents, and the keys prisync keeps untyped. */
#include "compose/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/cast.h"
#include "compose/dotenv.h"
#include "compose/interp.h"
#include "compose/node.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The service keys prisync types (compose-spec.json's service definition), sorted: they
 * are looked up with bsearch, in the order of enum service_field ... */
static const char *const modelled_keys[] = {
    "build",          "command",
    "container_name", "depends_on",
    "develop",        "entrypoint",
    "env_file",       "environment",
    "expose",         "extends",
    "extra_hosts",    "healthcheck",
    "hostname",       "image",
    "init",           "labels",
    "network_mode",   "networks",
    "ports",          "privileged",
    "profiles",       "pull_policy",
    "read_only",      "restart",
    "stdin_open",     "stop_grace_period",
    "stop_signal",    "tty",
    "user",           "volumes",
    "working_dir",
};

/* ... and the valid ones it keeps untyped in `other` for `prisync config` (sorted too). */
static const char *const other_keys[] = {
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "external_links",
    "gpus",
    "group_add",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "provider",
    "pull_refresh_after",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "ulimits",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
};

/* modelled_keys by index: read_keys() files each key's value under it */
enum service_field {
	F_BUILD,
	F_COMMAND,
	F_CONTAINER_NAME,
	F_DEPENDS_ON,
	F_DEVELOP,
	F_ENTRYPOINT,
	F_ENV_FILE,
	F_ENVIRONMENT,
	F_EXPOSE,
	F_EXTENDS,
	F_EXTRA_HOSTS,
	F_HEALTHCHECK,
	F_HOSTNAME,
	F_IMAGE,
	F_INIT,
	F_LABELS,
	F_NETWORK_MODE,
	F_NETWORKS,
	F_PORTS,
	F_PRIVILEGED,
	F_PROFILES,
	F_PULL_POLICY,
	F_READ_ONLY,
	F_RESTART,
	F_STDIN_OPEN,
	F_STOP_GRACE_PERIOD,
	F_STOP_SIGNAL,
	F_TTY,
	F_USER,
	F_VOLUMES,
	F_WORKING_DIR,
	F_COUNT,
};

static bool in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(k, list[i]) == 0)
			return true;
	}
	return false;
}

static int key_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* The index of k in the sorted list, or -1. */
static long sorted_index(const char *k, const char *const *list, size_t n)
{
	const char *const *hit = bsearch(k, list, n, sizeof(*list), key_cmp);

	return hit != NULL ? hit - list : -1;
}

static bool is_ext(const char *k)
{
	return strncmp(k, "x-", 2) == 0;
}

/* A sub-key prisync reads past without a place to keep it: say so, once. */
static void warn_dropped(struct model_build *b, const char *where, const char *path)
{
	compose_model_warn(b, path, "%s: key '%s' is not used by prisync", where, path);
}

/* ---- build ------------------------------------------------------------------------ */

static const char *const build_keys[] = {
    "context", "dockerfile", "dockerfile_inline", "args",
    "target",  "labels",     "cache_from",        "network",
};
static const char *const build_other_keys[] = {
    "entitlements", "ssh",  "cache_to", "no_cache",    "additional_contexts", "provenance",
    "sbom",         "pull", "shm_size", "extra_hosts", "isolation",           "privileged",
    "secrets",      "tags", "ulimits",  "platforms",
};

/* buildkit's rule (via compose-go): these contexts are fetched, not read from disk */
static bool is_remote_context(const char *c)
{
	static const char *const prefixes[] = {"https://", "http://",     "git://",
					       "ssh://",   "github.com/", "git@"};

	if (strstr(c, "://") != NULL)
		return true;
	for (size_t i = 0; i < N(prefixes); i++) {
		if (strncmp(c, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	}
	return false;
}

/* args (and environment) entries without a value take it from the environment. */
static void resolve_unset(struct model_build *b, struct compose_map *m, bool drop_unresolved)
{
	size_t w = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].value == NULL) {
			const char *v = compose_model_lookup(b, m->v[i].key);

			if (v != NULL) {
				m->v[i].value = xstrdup(v);
			} else if (drop_unresolved) {
				free(m->v[i].key);
				continue;
			}
		}
		m->v[w++] = m->v[i];
	}
	m->n = w;
}

static int read_build(struct model_build *b, const char *where, const struct cnode *n,
		      struct compose_build **out)
{
	struct compose_build *bd;
	const struct cnode *ctx, *df, *dfi;
	char *context = NULL;

	if (n == NULL || cnode_is_null(n))
		return 0;
	bd = xcalloc(1, sizeof(*bd));
	*out = bd;
	bd->mark = compose_model_mark(b, n);
	if (n->kind == CNODE_SCALAR) {
		context = xstrdup(n->value);
	} else if (n->kind != CNODE_MAP) {
		return compose_model_fail(b, n, where,
					  "'build' must be a string or a mapping, got %s",
					  compose_model_kind_word(n));
	}
	for (size_t i = 0; n->kind == CNODE_MAP && i < n->n; i++) {
		const char *k = cnode_key(n, i)->value;

		if (in_list(k, build_keys, N(build_keys)))
			continue;
		if (in_list(k, build_other_keys, N(build_other_keys)) || is_ext(k)) {
			char *path;

			if (bd->other == NULL)
				bd->other = json_object();
			json_object_set_new(bd->other, k, compose_model_json(b, cnode_val(n, i)));
			if (is_ext(k))
				continue;
			xasprintf(&path, "build.%s", k);
			compose_model_warn(b, path,
					   "%s: key '%s' is not used by prisync; kept for 'config'",
					   where, path);
			free(path);
			continue;
		}
		{
			const char *all[N(build_keys) + N(build_other_keys)];
			const char *hint;

			memcpy(all, build_keys, sizeof(build_keys));
			memcpy(all + N(build_keys), build_other_keys, sizeof(build_other_keys));
			hint = compose_suggest(k, all, N(all));
			if (hint != NULL)
				return compose_model_fail(
				    b, cnode_key(n, i), where,
				    "unknown key '%s' in 'build' (did you mean '%s'?)", k, hint);
			return compose_model_fail(b, cnode_key(n, i), where,
						  "unknown key '%s' in 'build'", k);
		}
	}
	if (n->kind == CNODE_MAP) {
		ctx = cnode_map_get(n, "context");
		df = cnode_map_get(n, "dockerfile");
		dfi = cnode_map_get(n, "dockerfile_inline");
		if (compose_field_string(b, where, "build.context", ctx, &context) < 0 ||
		    compose_field_string(b, where, "build.dockerfile", df, &bd->dockerfile) < 0 ||
		    compose_field_string(b, where, "build.dockerfile_inline", dfi,
					 &bd->dockerfile_inline) < 0 ||
		    compose_field_map(b, where, "build.args", cnode_map_get(n, "args"),
				      COMPOSE_MAP_EQUALS, &bd->args) < 0 ||
		    compose_field_string(b, where, "build.target", cnode_map_get(n, "target"),
					 &bd->target) < 0 ||
		    compose_field_map(b, where, "build.labels", cnode_map_get(n, "labels"),
				      COMPOSE_MAP_LABELS, &bd->labels) < 0 ||
		    compose_field_strlist(b, where, "build.cache_from",
					  cnode_map_get(n, "cache_from"), false,
					  &bd->cache_from) < 0 ||
		    compose_field_string(b, where, "build.network", cnode_map_get(n, "network"),
					 &bd->network) < 0) {
			free(context);
			return -1;
		}
		if (bd->dockerfile != NULL && bd->dockerfile_inline != NULL) {
			free(context);
			return compose_model_fail(
			    b, df, where,
			    "declares mutually exclusive dockerfile and dockerfile_inline");
		}
	}
	if (context == NULL)
		context = xstrdup(".");
	if (is_remote_context(context)) {
		bd->context = context;
	} else {
		bd->context = compose_model_abs_path(b, context);
		free(context);
	}
	if (bd->dockerfile == NULL && bd->dockerfile_inline == NULL)
		bd->dockerfile = xstrdup("Dockerfile");
	/* unset args take their value from the environment, or are dropped */
	resolve_unset(b, &bd->args, true);
	return 0;
}

/* ---- ports ------------------------------------------------------------------------ */

static const char *const port_keys[] = {"name",      "mode",     "host_ip",     "target",
					"published", "protocol", "app_protocol"};

static int read_ports(struct model_build *b, const char *where, const struct cnode *n,
		      struct compose_service *s)
{
	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SEQ)
		return compose_model_fail(b, n, where, "'ports' must be a list, got %s",
					  compose_model_kind_word(n));
	s->ports = xcalloc(n->n ? n->n : 1, sizeof(*s->ports));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *it = n->items[i], *t, *pub;
		struct compose_port *p = &s->ports[s->nports++];
		int64_t target;

		p->mark = compose_model_mark(b, it);
		if (it->kind != CNODE_MAP)
			return compose_model_fail(b, it, where,
						  "'ports' entries must be mappings here, got %s",
						  compose_model_kind_word(it));
		if (compose_check_keys(b, where, "ports", it, port_keys, N(port_keys)) < 0)
			return -1;
		t = cnode_map_get(it, "target");
		if (cnode_is_null(t))
			return compose_model_fail(
			    b, it, where, "'ports' entry has no 'target' (the container port)");
		if (compose_cast_int(t, &target) < 0 || target < 0 || target > 65535)
			return compose_model_fail(
			    b, t, where,
			    "'ports.target' must be a port number (0-65535), got \"%s\"",
			    t->kind == CNODE_SCALAR ? t->value : compose_model_kind_word(t));
		p->target = (unsigned)target;
		pub = cnode_map_get(it, "published");
		if (!cnode_is_null(pub)) {
			if (pub->kind != CNODE_SCALAR)
				return compose_model_fail(
				    b, pub, where,
				    "'ports.published' must be a port or a range, got %s",
				    compose_model_kind_word(pub));
			p->published = compose_scalar_text(pub);
		}
		if (compose_field_string(b, where, "ports.name", cnode_map_get(it, "name"),
					 &p->name) < 0 ||
		    compose_field_string(b, where, "ports.host_ip", cnode_map_get(it, "host_ip"),
					 &p->host_ip) < 0 ||
		    compose_field_string(b, where, "ports.protocol", cnode_map_get(it, "protocol"),
					 &p->protocol) < 0 ||
		    compose_field_string(b, where, "ports.mode", cnode_map_get(it, "mode"),
					 &p->mode) < 0 ||
		    compose_field_string(b, where, "ports.app_protocol",
					 cnode_map_get(it, "app_protocol"), &p->app_protocol) < 0)
			return -1;
		if (p->protocol == NULL)
			p->protocol = xstrdup("tcp");
		if (p->mode == NULL)
			p->mode = xstrdup("ingress");
	}
	return 0;
}

/* ---- volumes ---------------------------------------------------------------------- */

static const char *const mount_keys[] = {"type", "source", "target", "read_only", "consistency",
					 "bind", "volume", "tmpfs",  "image"};
static const char *const bind_keys[] = {"propagation", "create_host_path", "recursive", "selinux"};
static const char *const volume_opt_keys[] = {"nocopy", "subpath", "labels"};
static const char *const tmpfs_keys[] = {"size", "mode"};
static const char *const image_keys[] = {"subpath"};

static const struct {
	const char *name;
	enum compose_mount_type type;
} mount_types[] = {
    {"volume", COMPOSE_MOUNT_VOLUME},   {"bind", COMPOSE_MOUNT_BIND},
    {"tmpfs", COMPOSE_MOUNT_TMPFS},     {"npipe", COMPOSE_MOUNT_NPIPE},
    {"cluster", COMPOSE_MOUNT_CLUSTER}, {"image", COMPOSE_MOUNT_IMAGE},
};

static int read_mount_options(struct model_build *b, const char *where, const struct cnode *it,
			      struct compose_mount *m)
{
	const struct cnode *o;

	o = cnode_map_get(it, "bind");
	if (!cnode_is_null(o)) {
		if (o->kind != CNODE_MAP)
			return compose_model_fail(b, o, where,
						  "'volumes.bind' must be a mapping, got %s",
						  compose_model_kind_word(o));
		if (compose_check_keys(b, where, "volumes.bind", o, bind_keys, N(bind_keys)) < 0 ||
		    compose_field_string(b, where, "volumes.bind.propagation",
					 cnode_map_get(o, "propagation"),
					 &m->bind_propagation) < 0 ||
		    compose_field_string(b, where, "volumes.bind.selinux",
					 cnode_map_get(o, "selinux"), &m->bind_selinux) < 0 ||
		    compose_field_bool(b, where, "volumes.bind.create_host_path",
				       cnode_map_get(o, "create_host_path"),
				       &m->bind_create_host_path) < 0)
			return -1;
		if (cnode_map_get(o, "recursive") != NULL)
			warn_dropped(b, where, "volumes.bind.recursive");
		if (m->bind_selinux != NULL && strcmp(m->bind_selinux, "z") != 0 &&
		    strcmp(m->bind_selinux, "Z") != 0)
			return compose_model_fail(
			    b, cnode_map_get(o, "selinux"), where,
			    "'volumes.bind.selinux' must be z or Z, got \"%s\"", m->bind_selinux);
	}
	o = cnode_map_get(it, "volume");
	if (!cnode_is_null(o)) {
		if (o->kind != CNODE_MAP)
			return compose_model_fail(b, o, where,
						  "'volumes.volume' must be a mapping, got %s",
						  compose_model_kind_word(o));
		m->volume_options = true; /* compose prints `volume: {}` for it, even when empty */
		if (compose_check_keys(b, where, "volumes.volume", o, volume_opt_keys,
				       N(volume_opt_keys)) < 0 ||
		    compose_field_bool(b, where, "volumes.volume.nocopy",
				       cnode_map_get(o, "nocopy"), &m->volume_nocopy) < 0 ||
		    compose_field_string(b, where, "volumes.volume.subpath",
					 cnode_map_get(o, "subpath"), &m->volume_subpath) < 0)
			return -1;
		if (cnode_map_get(o, "labels") != NULL)
			warn_dropped(b, where, "volumes.volume.labels");
	}
	o = cnode_map_get(it, "tmpfs");
	if (!cnode_is_null(o)) {
		const struct cnode *size, *mode;

		if (o->kind != CNODE_MAP)
			return compose_model_fail(b, o, where,
						  "'volumes.tmpfs' must be a mapping, got %s",
						  compose_model_kind_word(o));
		if (compose_check_keys(b, where, "volumes.tmpfs", o, tmpfs_keys, N(tmpfs_keys)) < 0)
			return -1;
		size = cnode_map_get(o, "size");
		if (!cnode_is_null(size) && compose_cast_int(size, &m->tmpfs_size) < 0 &&
		    (size->kind != CNODE_SCALAR ||
		     compose_cast_bytes(size->value, &m->tmpfs_size) < 0))
			return compose_model_fail(
			    b, size, where,
			    "'volumes.tmpfs.size' must be a size like 64m or 1g, got \"%s\"",
			    size->kind == CNODE_SCALAR ? size->value : "");
		mode = cnode_map_get(o, "mode");
		if (compose_field_int(b, where, "volumes.tmpfs.mode", mode, &m->tmpfs_mode) < 0)
			return -1;
	}
	o = cnode_map_get(it, "image");
	if (!cnode_is_null(o)) {
		if (o->kind != CNODE_MAP)
			return compose_model_fail(b, o, where,
						  "'volumes.image' must be a mapping, got %s",
						  compose_model_kind_word(o));
		if (compose_check_keys(b, where, "volumes.image", o, image_keys, N(image_keys)) <
			0 ||
		    compose_field_string(b, where, "volumes.image.subpath",
					 cnode_map_get(o, "subpath"), &m->volume_subpath) < 0)
			return -1;
	}
	return 0;
}

static int read_volumes(struct model_build *b, const char *where, const struct cnode *n,
			struct compose_service *s)
{
	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SEQ)
		return compose_model_fail(b, n, where, "'volumes' must be a list, got %s",
					  compose_model_kind_word(n));
	s->volumes = xcalloc(n->n ? n->n : 1, sizeof(*s->volumes));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *it = n->items[i], *type;
		struct compose_mount *m = &s->volumes[s->nvolumes++];
		char *tname = NULL, *source = NULL;
		bool known = false;

		m->mark = compose_model_mark(b, it);
		m->tmpfs_size = -1;
		m->tmpfs_mode = -1;
		if (it->kind != CNODE_MAP)
			return compose_model_fail(b, it, where,
						  "'volumes' entries must be mappings here, got %s",
						  compose_model_kind_word(it));
		if (compose_check_keys(b, where, "volumes", it, mount_keys, N(mount_keys)) < 0)
			return -1;
		type = cnode_map_get(it, "type");
		if (cnode_is_null(type))
			return compose_model_fail(b, it, where, "'volumes' entry has no 'type'");
		if (compose_field_string(b, where, "volumes.type", type, &tname) < 0)
			return -1;
		for (size_t t = 0; t < N(mount_types); t++) {
			if (strcmp(tname, mount_types[t].name) == 0) {
				m->type = mount_types[t].type;
				known = true;
			}
		}
		if (!known) {
			compose_model_fail(
			    b, type, where,
			    "invalid volume type '%s' (bind, volume, tmpfs, npipe, cluster, image)",
			    tname);
			free(tname);
			return -1;
		}
		free(tname);
		if (compose_field_string(b, where, "volumes.source", cnode_map_get(it, "source"),
					 &source) < 0 ||
		    compose_field_string(b, where, "volumes.target", cnode_map_get(it, "target"),
					 &m->target) < 0 ||
		    compose_field_bool(b, where, "volumes.read_only",
				       cnode_map_get(it, "read_only"), &m->read_only) < 0 ||
		    compose_field_string(b, where, "volumes.consistency",
					 cnode_map_get(it, "consistency"), &m->consistency) < 0) {
			free(source);
			return -1;
		}
		if (m->type == COMPOSE_MOUNT_BIND) {
			if (source == NULL || source[0] == '\0') {
				free(source);
				return compose_model_fail(b, it, where,
							  "invalid mount config for type \"bind\": "
							  "field Source must not be empty");
			}
			m->source = compose_model_abs_path(b, source);
			free(source);
		} else {
			m->source = source;
		}
		if (m->target == NULL)
			return compose_model_fail(b, it, where, "'volumes' entry has no 'target'");
		if (read_mount_options(b, where, it, m) < 0)
			return -1;
	}
	return 0;
}

/* ---- depends_on ------------------------------------------------------------------- */

static const char *const dep_keys[] = {"condition", "restart", "required"};

static struct compose_dep *add_dep(struct compose_service *s, const char *service)
{
	struct compose_dep *d;

	s->depends_on = xreallocarray(s->depends_on, s->ndepends_on + 1, sizeof(*s->depends_on));
	d = &s->depends_on[s->ndepends_on++];
	memset(d, 0, sizeof(*d));
	d->service = xstrdup(service);
	d->condition = COMPOSE_DEP_STARTED;
	d->required = true;
	return d;
}

static int read_depends_on(struct model_build *b, const char *where, const struct cnode *n,
			   struct compose_service *s)
{
	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind == CNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->kind != CNODE_SCALAR)
				return compose_model_fail(
				    b, n->items[i], where,
				    "'depends_on' entries must be service names, got %s",
				    compose_model_kind_word(n->items[i]));
			add_dep(s, n->items[i]->value)->mark = compose_model_mark(b, n->items[i]);
		}
		return 0;
	}
	if (n->kind != CNODE_MAP)
		return compose_model_fail(b, n, where,
					  "'depends_on' must be a list or a mapping, got %s",
					  compose_model_kind_word(n));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *k = cnode_key(n, i), *v = cnode_val(n, i), *cond;
		struct compose_dep *d = add_dep(s, k->value);

		d->mark = compose_model_mark(b, k);
		if (cnode_is_null(v))
			continue;
		if (v->kind != CNODE_MAP)
			return compose_model_fail(b, v, where,
						  "'depends_on.%s' must be a mapping, got %s",
						  k->value, compose_model_kind_word(v));
		if (compose_check_keys(b, where, "depends_on", v, dep_keys, N(dep_keys)) < 0 ||
		    compose_field_bool(b, where, "depends_on.restart", cnode_map_get(v, "restart"),
				       &d->restart) < 0 ||
		    compose_field_bool(b, where, "depends_on.required",
				       cnode_map_get(v, "required"), &d->required) < 0)
			return -1;
		cond = cnode_map_get(v, "condition");
		if (cnode_is_null(cond))
			continue;
		if (cond->kind != CNODE_SCALAR)
			return compose_model_fail(b, cond, where,
						  "'depends_on.condition' must be a string, got %s",
						  compose_model_kind_word(cond));
		if (strcmp(cond->value, "service_started") == 0)
			d->condition = COMPOSE_DEP_STARTED;
		else if (strcmp(cond->value, "service_healthy") == 0)
			d->condition = COMPOSE_DEP_HEALTHY;
		else if (strcmp(cond->value, "service_completed_successfully") == 0)
			d->condition = COMPOSE_DEP_COMPLETED;
		else
			return compose_model_fail(
			    b, cond, where,
			    "invalid depends_on condition '%s' (service_started, service_healthy, "
			    "service_completed_successfully)",
			    cond->value);
	}
	return 0;
}

/* compose adds the services a container shares namespaces or volumes with, or links to,
 * as dependencies (restart: true except for volumes_from). */
static void implicit_dep(struct model_build *b, struct compose_service *s, const char *name,
			 size_t len, bool restart, const struct cnode *at)
{
	char *svc = xstrndup(name, len);
	struct compose_dep *d;

	for (size_t i = 0; i < s->ndepends_on; i++) {
		if (strcmp(s->depends_on[i].service, svc) == 0) {
			free(svc);
			return;
		}
	}
	d = add_dep(s, svc);
	d->restart = restart;
	d->mark = compose_model_mark(b, at);
	free(svc);
}

static void implicit_deps(struct model_build *b, const struct cnode *svc, struct compose_service *s)
{
	static const char *const namespaces[] = {"network_mode", "ipc", "pid", "uts", "cgroup"};
	const struct cnode *l;

	l = cnode_map_get(svc, "links");
	for (size_t i = 0; l != NULL && l->kind == CNODE_SEQ && i < l->n; i++) {
		const char *v = l->items[i]->value, *colon;

		if (l->items[i]->kind != CNODE_SCALAR)
			continue;
		colon = strchr(v, ':');
		/* "svc:alias" names svc; anything else is taken whole, as compose does */
		if (colon != NULL && strchr(colon + 1, ':') == NULL)
			implicit_dep(b, s, v, (size_t)(colon - v), true, l->items[i]);
		else
			implicit_dep(b, s, v, strlen(v), true, l->items[i]);
	}
	for (size_t i = 0; i < N(namespaces); i++) {
		const struct cnode *v = cnode_map_get(svc, namespaces[i]);

		if (v != NULL && v->kind == CNODE_SCALAR && strncmp(v->value, "service:", 8) == 0)
			implicit_dep(b, s, v->value + 8, strlen(v->value + 8), true, v);
	}
	l = cnode_map_get(svc, "volumes_from");
	for (size_t i = 0; l != NULL && l->kind == CNODE_SEQ && i < l->n; i++) {
		const char *v = l->items[i]->value, *colon;

		if (l->items[i]->kind != CNODE_SCALAR || strncmp(v, "container:", 10) == 0)
			continue;
		colon = strchr(v, ':');
		implicit_dep(b, s, v, colon != NULL ? (size_t)(colon - v) : strlen(v), false,
			     l->items[i]);
	}
}

/* ---- healthcheck ------------------------------------------------------------------ */

static const char *const healthcheck_keys[] = {
    "test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"};

static int read_healthcheck(struct model_build *b, const char *where, const struct cnode *n,
			    struct compose_healthcheck *h)
{
	const struct cnode *test;

	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_MAP)
		return compose_model_fail(b, n, where, "'healthcheck' must be a mapping, got %s",
					  compose_model_kind_word(n));
	h->present = true;
	h->mark = compose_model_mark(b, n);
	if (compose_check_keys(b, where, "healthcheck", n, healthcheck_keys, N(healthcheck_keys)) <
	    0)
		return -1;
	test = cnode_map_get(n, "test");
	if (test != NULL && test->kind == CNODE_SCALAR && !cnode_is_null(test)) {
		compose_strv_push(&h->test, "CMD-SHELL");
		compose_strv_push(&h->test, test->value);
	} else if (compose_field_strlist(b, where, "healthcheck.test", test, false, &h->test) < 0) {
		return -1;
	}
	if (h->test.n > 0) {
		const char *t0 = h->test.v[0];

		if (strcmp(t0, "CMD") != 0 && strcmp(t0, "CMD-SHELL") != 0 &&
		    strcmp(t0, "NONE") != 0)
			return compose_model_fail(b, test, where,
						  "healthcheck.test must start either by \"CMD\", "
						  "\"CMD-SHELL\" or \"NONE\"");
		if (strcmp(t0, "NONE") == 0)
			h->disable = true;
	}
	if (compose_field_duration(b, where, "healthcheck.interval", cnode_map_get(n, "interval"),
				   &h->interval_ns) < 0 ||
	    compose_field_duration(b, where, "healthcheck.timeout", cnode_map_get(n, "timeout"),
				   &h->timeout_ns) < 0 ||
	    compose_field_duration(b, where, "healthcheck.start_period",
				   cnode_map_get(n, "start_period"), &h->start_period_ns) < 0 ||
	    compose_field_duration(b, where, "healthcheck.start_interval",
				   cnode_map_get(n, "start_interval"), &h->start_interval_ns) < 0 ||
	    compose_field_int(b, where, "healthcheck.retries", cnode_map_get(n, "retries"),
			      &h->retries) < 0)
		return -1;
	if (!cnode_is_null(cnode_map_get(n, "retries")) && h->retries < 0)
		return compose_model_fail(b, cnode_map_get(n, "retries"), where,
					  "'healthcheck.retries' must not be negative");
	{
		bool off = false;

		if (compose_field_bool(b, where, "healthcheck.disable", cnode_map_get(n, "disable"),
				       &off) < 0)
			return -1;
		h->disable = h->disable || off;
	}
	return 0;
}

/* ---- networks --------------------------------------------------------------------- */

static const char *const svc_network_keys[] = {
    "aliases",     "interface_name", "ipv4_address", "ipv6_address", "link_local_ips",
    "mac_address", "driver_opts",    "priority",     "gw_priority",
};

static int read_service_networks(struct model_build *b, const char *where, const struct cnode *n,
				 struct compose_service *s)
{
	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind == CNODE_SEQ) {
		s->networks = xcalloc(n->n ? n->n : 1, sizeof(*s->networks));
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->kind != CNODE_SCALAR)
				return compose_model_fail(
				    b, n->items[i], where,
				    "'networks' entries must be network names, got %s",
				    compose_model_kind_word(n->items[i]));
			s->networks[s->nnetworks].key = xstrdup(n->items[i]->value);
			s->networks[s->nnetworks++].mark = compose_model_mark(b, n->items[i]);
		}
		return 0;
	}
	if (n->kind != CNODE_MAP)
		return compose_model_fail(b, n, where,
					  "'networks' must be a list or a mapping, got %s",
					  compose_model_kind_word(n));
	s->networks = xcalloc(n->n ? n->n : 1, sizeof(*s->networks));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *k = cnode_key(n, i), *v = cnode_val(n, i);
		struct compose_service_network *sn = &s->networks[s->nnetworks++];

		sn->key = xstrdup(k->value);
		sn->mark = compose_model_mark(b, k);
		if (cnode_is_null(v))
			continue;
		if (v->kind != CNODE_MAP)
			return compose_model_fail(b, v, where,
						  "'networks.%s' must be a mapping, got %s",
						  k->value, compose_model_kind_word(v));
		if (compose_check_keys(b, where, "networks", v, svc_network_keys,
				       N(svc_network_keys)) < 0 ||
		    compose_field_strlist(b, where, "networks.aliases", cnode_map_get(v, "aliases"),
					  false, &sn->aliases) < 0 ||
		    compose_field_string(b, where, "networks.ipv4_address",
					 cnode_map_get(v, "ipv4_address"), &sn->ipv4_address) < 0 ||
		    compose_field_string(b, where, "networks.ipv6_address",
					 cnode_map_get(v, "ipv6_address"), &sn->ipv6_address) < 0 ||
		    compose_field_int(b, where, "networks.priority", cnode_map_get(v, "priority"),
				      &sn->priority) < 0)
			return -1;
		for (size_t j = 0; j < v->n; j++) {
			const char *sk = cnode_key(v, j)->value;
			char *path;

			if (is_ext(sk) || strcmp(sk, "aliases") == 0 ||
			    strcmp(sk, "ipv4_address") == 0 || strcmp(sk, "ipv6_address") == 0 ||
			    strcmp(sk, "priority") == 0)
				continue;
			xasprintf(&path, "networks.*.%s", sk);
			warn_dropped(b, where, path);
			free(path);
		}
	}
	return 0;
}

/* ---- extra_hosts ------------------------------------------------------------------ */

static int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "host=ip" with [] taken off IPv6 addresses, as compose-go's HostsList renders them. */
static int add_host(struct model_build *b, const char *where, const struct cnode *at,
		    const char *host, size_t hlen, const char *ips, bool split,
		    struct compose_strv *out)
{
	char *h = xstrndup(host, hlen), *list = xstrdup(ips), *save = NULL, *ip, *entry;

	if (h[0] == '\0' || strpbrk(h, ":=") != NULL) {
		compose_model_fail(b, at, where, "bad host name '%s' in 'extra_hosts'", h);
		free(h);
		free(list);
		return -1;
	}
	for (ip = split ? strtok_r(list, ",", &save) : list; ip != NULL;
	     ip = split ? strtok_r(NULL, ",", &save) : NULL) {
		size_t n = strlen(ip);

		if (n > 2 && ip[0] == '[' && ip[n - 1] == ']') {
			ip[n - 1] = '\0';
			ip++;
		}
		xasprintf(&entry, "%s=%s", h, ip);
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = entry;
		if (!split)
			break;
	}
	free(h);
	free(list);
	return 0;
}

static int read_extra_hosts(struct model_build *b, const char *where, const struct cnode *n,
			    struct compose_strv *out)
{
	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind == CNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			const struct cnode *it = n->items[i];
			const char *sep;

			if (it->kind != CNODE_SCALAR)
				return compose_model_fail(
				    b, it, where, "'extra_hosts' entries must be strings, got %s",
				    compose_model_kind_word(it));
			/* host=ip is preferred; host:ip is the old form */
			sep = strchr(it->value, '=');
			if (sep == NULL)
				sep = strchr(it->value, ':');
			if (sep == NULL)
				return compose_model_fail(b, it, where,
							  "invalid additional host, missing IP: %s",
							  it->value);
			if (add_host(b, where, it, it->value, (size_t)(sep - it->value), sep + 1,
				     true, out) < 0)
				return -1;
		}
	} else if (n->kind == CNODE_MAP) {
		for (size_t i = 0; i < n->n; i++) {
			const struct cnode *k = cnode_key(n, i), *v = cnode_val(n, i);

			if (v->kind == CNODE_SEQ) {
				for (size_t j = 0; j < v->n; j++) {
					if (add_host(b, where, k, k->value, strlen(k->value),
						     v->items[j]->kind == CNODE_SCALAR
							 ? v->items[j]->value
							 : "",
						     false, out) < 0)
						return -1;
				}
			} else if (v->kind == CNODE_SCALAR) {
				if (add_host(b, where, k, k->value, strlen(k->value),
					     cnode_is_null(v) ? "" : v->value, false, out) < 0)
					return -1;
			} else {
				return compose_model_fail(
				    b, v, where,
				    "'extra_hosts.%s' must be an address or a list, got %s",
				    k->value, compose_model_kind_word(v));
			}
		}
	} else {
		return compose_model_fail(b, n, where,
					  "'extra_hosts' must be a list or a mapping, got %s",
					  compose_model_kind_word(n));
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), strv_cmp);
	return 0;
}

/* ---- develop.watch ---------------------------------------------------------------- */

static const char *const develop_keys[] = {"watch"};
static const char *const watch_keys[] = {"ignore", "include", "path",        "action",
					 "target", "exec",    "initial_sync"};
static const char *const hook_keys[] = {"command", "user", "privileged", "working_dir",
					"environment"};

static const struct {
	const char *name;
	enum compose_watch_action action;
} watch_actions[] = {
    {"sync", COMPOSE_WATCH_SYNC},           {"rebuild", COMPOSE_WATCH_REBUILD},
    {"restart", COMPOSE_WATCH_RESTART},     {"sync+restart", COMPOSE_WATCH_SYNC_RESTART},
    {"sync+exec", COMPOSE_WATCH_SYNC_EXEC},
};

/* compose-go resolves a watched path through a symbolic link at its end. */
static char *watch_path(struct model_build *b, const char *raw)
{
	char *abs = compose_model_abs_path(b, raw), *real;
	struct stat st;

	if (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode) && (real = realpath(abs, NULL)) != NULL) {
		free(abs);
		return real;
	}
	return abs;
}

static int read_watch_exec(struct model_build *b, const char *where, const struct cnode *e,
			   struct compose_watch *w)
{
	bool has = false;

	if (cnode_is_null(e))
		return 0;
	if (e->kind != CNODE_MAP)
		return compose_model_fail(b, e, where,
					  "'develop.watch.exec' must be a mapping, got %s",
					  compose_model_kind_word(e));
	if (compose_check_keys(b, where, "develop.watch.exec", e, hook_keys, N(hook_keys)) < 0 ||
	    compose_field_command(b, where, "develop.watch.exec.command",
				  cnode_map_get(e, "command"), &has, &w->exec_command) < 0 ||
	    compose_field_string(b, where, "develop.watch.exec.user", cnode_map_get(e, "user"),
				 &w->exec_user) < 0 ||
	    compose_field_map(b, where, "develop.watch.exec.environment",
			      cnode_map_get(e, "environment"), COMPOSE_MAP_EQUALS,
			      &w->exec_environment) < 0)
		return -1;
	if (cnode_map_get(e, "privileged") != NULL)
		warn_dropped(b, where, "develop.watch.exec.privileged");
	if (cnode_map_get(e, "working_dir") != NULL)
		warn_dropped(b, where, "develop.watch.exec.working_dir");
	return 0;
}

static int read_develop(struct model_build *b, const char *where, const struct cnode *n,
			struct compose_service *s)
{
	const struct cnode *watch;

	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_MAP)
		return compose_model_fail(b, n, where, "'develop' must be a mapping, got %s",
					  compose_model_kind_word(n));
	if (compose_check_keys(b, where, "develop", n, develop_keys, N(develop_keys)) < 0)
		return -1;
	watch = cnode_map_get(n, "watch");
	if (cnode_is_null(watch))
		return 0;
	if (watch->kind != CNODE_SEQ)
		return compose_model_fail(b, watch, where, "'develop.watch' must be a list, got %s",
					  compose_model_kind_word(watch));
	s->watch = xcalloc(watch->n ? watch->n : 1, sizeof(*s->watch));
	for (size_t i = 0; i < watch->n; i++) {
		const struct cnode *it = watch->items[i], *action, *path;
		struct compose_watch *w = &s->watch[s->nwatch++];
		char *raw = NULL;
		bool known = false;

		w->mark = compose_model_mark(b, it);
		if (it->kind != CNODE_MAP)
			return compose_model_fail(
			    b, it, where, "'develop.watch' entries must be mappings, got %s",
			    compose_model_kind_word(it));
		if (compose_check_keys(b, where, "develop.watch", it, watch_keys, N(watch_keys)) <
		    0)
			return -1;
		action = cnode_map_get(it, "action");
		path = cnode_map_get(it, "path");
		if (cnode_is_null(action) || action->kind != CNODE_SCALAR)
			return compose_model_fail(b, it, where,
						  "'develop.watch' entry needs an 'action'");
		for (size_t a = 0; a < N(watch_actions); a++) {
			if (strcmp(action->value, watch_actions[a].name) == 0) {
				w->action = watch_actions[a].action;
				known = true;
			}
		}
		if (!known)
			return compose_model_fail(b, action, where,
						  "invalid develop.watch action '%s' (sync, "
						  "rebuild, restart, sync+restart, sync+exec)",
						  action->value);
		if (cnode_is_null(path))
			return compose_model_fail(b, it, where,
						  "'develop.watch' entry needs a 'path'");
		if (compose_field_string(b, where, "develop.watch.path", path, &raw) < 0)
			return -1;
		w->path = watch_path(b, raw);
		free(raw);
		if (compose_field_string(b, where, "develop.watch.target",
					 cnode_map_get(it, "target"), &w->target) < 0 ||
		    compose_field_strlist(b, where, "develop.watch.ignore",
					  cnode_map_get(it, "ignore"), true, &w->ignore) < 0 ||
		    compose_field_strlist(b, where, "develop.watch.include",
					  cnode_map_get(it, "include"), true, &w->include) < 0 ||
		    compose_field_bool(b, where, "develop.watch.initial_sync",
				       cnode_map_get(it, "initial_sync"), &w->initial_sync) < 0 ||
		    read_watch_exec(b, where, cnode_map_get(it, "exec"), w) < 0)
			return -1;
		if (w->target == NULL && w->action != COMPOSE_WATCH_REBUILD &&
		    w->action != COMPOSE_WATCH_RESTART)
			return compose_model_fail(b, it, where,
						  "develop.watch: target is required for sync, "
						  "sync+restart and sync+exec actions");
		if (w->action == COMPOSE_WATCH_SYNC_EXEC && w->exec_command.n == 0)
			return compose_model_fail(b, it, where,
						  "develop.watch: sync+exec needs exec.command");
	}
	return 0;
}

/* ---- env_file and environment ----------------------------------------------------- */

static const char *const env_file_keys[] = {"path", "required", "format"};

/* Lookups while reading env files: the project environment wins, then the service's
 * own environment: entries (compose-go's order). */
struct env_file_scope {
	const struct model_build *b;
	const struct compose_map *service_env;
};

static const char *env_file_lookup(void *data, const char *name)
{
	const struct env_file_scope *sc = data;
	const char *v = compose_model_lookup(sc->b, name);

	return v != NULL ? v : compose_map_get(sc->service_env, name);
}

static int read_env_files(struct model_build *b, const char *where, const struct cnode *n,
			  struct compose_service *s, struct compose_map *from_files)
{
	struct env_file_scope scope = {b, &s->environment};
	struct interp_env env = {env_file_lookup, &scope, NULL};

	if (n == NULL || cnode_is_null(n))
		return 0;
	if (n->kind != CNODE_SEQ)
		return compose_model_fail(b, n, where,
					  "'env_file' must be a string or a list, got %s",
					  compose_model_kind_word(n));
	s->env_files = xcalloc(n->n ? n->n : 1, sizeof(*s->env_files));
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *it = n->items[i], *path;
		struct compose_env_file *ef = &s->env_files[s->nenv_files++];
		char *raw = NULL;
		struct stat st;
		struct px_error ferr = PX_ERROR_INIT;

		ef->required = true;
		if (it->kind == CNODE_SCALAR && !cnode_is_null(it)) {
			path = it;
		} else if (it->kind == CNODE_MAP) {
			if (compose_check_keys(b, where, "env_file", it, env_file_keys,
					       N(env_file_keys)) < 0 ||
			    compose_field_bool(b, where, "env_file.required",
					       cnode_map_get(it, "required"), &ef->required) < 0 ||
			    compose_field_string(b, where, "env_file.format",
						 cnode_map_get(it, "format"), &ef->format) < 0)
				return -1;
			path = cnode_map_get(it, "path");
			if (cnode_is_null(path))
				return compose_model_fail(b, it, where,
							  "'env_file' entry needs a 'path'");
		} else {
			return compose_model_fail(
			    b, it, where, "'env_file' entries must be paths or mappings, got %s",
			    compose_model_kind_word(it));
		}
		if (compose_field_string(b, where, "env_file.path", path, &raw) < 0)
			return -1;
		ef->path = compose_model_abs_path(b, raw);
		free(raw);
		if (stat(ef->path, &st) < 0 && errno == ENOENT) {
			if (!ef->required)
				continue;
			return compose_model_fail(
			    b, path, where,
			    "env file '%s' not found — create it or mark it 'required: false'",
			    ef->path);
		}
		if (ef->format != NULL && strcmp(ef->format, "raw") != 0)
			return compose_model_fail(
			    b, cnode_map_get(it, "format"), where,
			    "unsupported env_file format '%s' (raw, or none for the dotenv syntax)",
			    ef->format);
		if (ef->format != NULL) {
			/* raw: every line is KEY=VALUE taken literally */
			struct px_buf text = PX_BUF_INIT;
			char *save = NULL, *line, *copy;

			if (px_path_read_file(ef->path, &text, &ferr) < 0)
				goto file_fail;
			copy = xstrdup(px_buf_cstr(&text));
			px_buf_release(&text);
			for (line = strtok_r(copy, "\n", &save); line != NULL;
			     line = strtok_r(NULL, "\n", &save)) {
				char *eq = strchr(line, '=');

				if (eq == NULL)
					continue;
				*eq = '\0';
				compose_map_set(from_files, line, eq + 1);
			}
			free(copy);
			continue;
		}
		if (dotenv_load_file(ef->path, &env, from_files, &ferr) < 0)
			goto file_fail;
		continue;
	file_fail:
		compose_model_fail(b, path, where, "env_file: %s", px_error_msg(&ferr));
		px_error_clear(&ferr);
		return -1;
	}
	return 0;
}

/* compose-go's order: environment: entries without a value are looked up in the project
 * environment; env files are read (in order, later wins); then environment: wins over
 * them, including its entries that stayed without a value. */
static int read_environment(struct model_build *b, const char *where, const struct cnode *const *f,
			    struct compose_service *s)
{
	struct compose_map from_files = {NULL, 0};
	int rc = -1;

	if (compose_field_map(b, where, "environment", f[F_ENVIRONMENT], COMPOSE_MAP_EQUALS,
			      &s->environment) < 0)
		return -1;
	resolve_unset(b, &s->environment, false);
	if (read_env_files(b, where, f[F_ENV_FILE], s, &from_files) < 0)
		goto out;
	if (from_files.n > 0) {
		compose_map_move_all(&from_files, &s->environment);
		s->environment = from_files;
		from_files.v = NULL;
		from_files.n = 0;
	}
	rc = 0;
out:
	compose_map_release(&from_files);
	return rc;
}

/* ---- the service ------------------------------------------------------------------ */

static const char *const pull_policies[] = {"always",  "never",   "build", "if_not_present",
					    "missing", "refresh", "daily", "weekly"};

static int check_pull_policy(struct model_build *b, const char *where, const struct cnode *n,
			     char **policy)
{
	const char *p = *policy;

	if (p == NULL)
		return 0;
	if (strcmp(p, "if_not_present") == 0) {
		free(*policy);
		*policy = xstrdup("missing"); /* compose's normalisation */
		return 0;
	}
	if (in_list(p, pull_policies, N(pull_policies)))
		return 0;
	if (strncmp(p, "every_", 6) == 0) {
		int64_t ns;
		char *why = NULL;
		/* every_<duration>, the units w and d besides Go's */
		const char *d = p + 6;
		bool ok = *d != '\0';

		for (const char *q = d; *q; q++)
			ok = ok && strchr("0123456789wdhms", *q) != NULL;
		if (ok && strpbrk(d, "wd") == NULL)
			ok = compose_cast_duration(d, &ns, &why) == 0;
		free(why);
		if (ok)
			return 0;
	}
	return compose_model_fail(b, n, where,
				  "invalid pull_policy '%s' (always, never, missing, build, "
				  "if_not_present, refresh, daily, weekly, every_<duration>)",
				  p);
}

static int read_keys(struct model_build *b, const char *where, const struct cnode *svc,
		     struct compose_service *s, const struct cnode **f)
{
	for (size_t i = 0; i < svc->n; i++) {
		const struct cnode *k = cnode_key(svc, i);
		const char *hint;
		long idx;

		if (is_ext(k->value)) {
			if (s->extensions == NULL)
				s->extensions = json_object();
			json_object_set_new(s->extensions, k->value,
					    compose_model_json(b, cnode_val(svc, i)));
			continue;
		}
		idx = sorted_index(k->value, modelled_keys, N(modelled_keys));
		if (idx >= 0) {
			f[idx] = cnode_val(svc, i);
			continue;
		}
		if (sorted_index(k->value, other_keys, N(other_keys)) >= 0) {
			if (s->other == NULL)
				s->other = json_object();
			json_object_set_new(s->other, k->value,
					    compose_model_json(b, cnode_val(svc, i)));
			compose_model_warn(b, k->value,
					   "%s: key '%s' is not used by prisync; kept for 'config'",
					   where, k->value);
			continue;
		}
		hint = compose_suggest(k->value, modelled_keys, N(modelled_keys));
		if (hint == NULL)
			hint = compose_suggest(k->value, other_keys, N(other_keys));
		if (hint != NULL)
			return compose_model_fail(
			    b, k, where, "unknown key '%s' (did you mean '%s'?)", k->value, hint);
		return compose_model_fail(b, k, where, "unknown key '%s'", k->value);
	}
	return 0;
}

int compose_model_service(struct model_build *b, const struct cnode *key, const struct cnode *svc,
			  struct compose_service *s)
{
	char *where = NULL;
	const struct cnode *f[F_COUNT] = {NULL}, *nets;
	int rc = -1;

	s->name = xstrdup(key->value);
	s->mark = compose_model_mark(b, key);
	s->init = s->tty = s->stdin_open = s->read_only = s->privileged = -1;
	s->stop_grace_period_ns = -1;
	s->healthcheck.interval_ns = s->healthcheck.timeout_ns = -1;
	s->healthcheck.start_period_ns = s->healthcheck.start_interval_ns = -1;
	s->healthcheck.retries = -1;
	where = compose_join3("service '", key->value, "'");
	if (svc->kind != CNODE_MAP) {
		compose_model_fail(b, cnode_is_null(svc) ? key : svc, NULL,
				   "service '%s' must be a mapping, got %s", key->value,
				   compose_model_kind_word(svc));
		goto out;
	}
	if (read_keys(b, where, svc, s, f) < 0 ||
	    compose_field_string(b, where, "image", f[F_IMAGE], &s->image) < 0 ||
	    read_build(b, where, f[F_BUILD], &s->build) < 0 ||
	    compose_field_command(b, where, "command", f[F_COMMAND], &s->has_command, &s->command) <
		0 ||
	    compose_field_command(b, where, "entrypoint", f[F_ENTRYPOINT], &s->has_entrypoint,
				  &s->entrypoint) < 0 ||
	    read_environment(b, where, f, s) < 0 ||
	    compose_field_string(b, where, "working_dir", f[F_WORKING_DIR], &s->working_dir) < 0 ||
	    compose_field_string(b, where, "user", f[F_USER], &s->user) < 0 ||
	    compose_field_string(b, where, "container_name", f[F_CONTAINER_NAME],
				 &s->container_name) < 0 ||
	    compose_field_string(b, where, "hostname", f[F_HOSTNAME], &s->hostname) < 0 ||
	    compose_field_tristate(b, where, "init", f[F_INIT], &s->init) < 0 ||
	    compose_field_tristate(b, where, "tty", f[F_TTY], &s->tty) < 0 ||
	    compose_field_tristate(b, where, "stdin_open", f[F_STDIN_OPEN], &s->stdin_open) < 0 ||
	    compose_field_tristate(b, where, "read_only", f[F_READ_ONLY], &s->read_only) < 0 ||
	    compose_field_tristate(b, where, "privileged", f[F_PRIVILEGED], &s->privileged) < 0 ||
	    read_ports(b, where, f[F_PORTS], s) < 0 ||
	    compose_field_strlist(b, where, "expose", f[F_EXPOSE], true, &s->expose) < 0 ||
	    read_volumes(b, where, f[F_VOLUMES], s) < 0 ||
	    read_depends_on(b, where, f[F_DEPENDS_ON], s) < 0 ||
	    read_healthcheck(b, where, f[F_HEALTHCHECK], &s->healthcheck) < 0 ||
	    compose_field_string(b, where, "restart", f[F_RESTART], &s->restart) < 0 ||
	    compose_field_map(b, where, "labels", f[F_LABELS], COMPOSE_MAP_LABELS, &s->labels) <
		0 ||
	    read_service_networks(b, where, f[F_NETWORKS], s) < 0 ||
	    compose_field_string(b, where, "network_mode", f[F_NETWORK_MODE], &s->network_mode) <
		0 ||
	    compose_field_string(b, where, "pull_policy", f[F_PULL_POLICY], &s->pull_policy) < 0 ||
	    check_pull_policy(b, where, f[F_PULL_POLICY], &s->pull_policy) < 0 ||
	    compose_field_strlist(b, where, "profiles", f[F_PROFILES], false, &s->profiles) < 0 ||
	    compose_field_string(b, where, "stop_signal", f[F_STOP_SIGNAL], &s->stop_signal) < 0 ||
	    compose_field_duration(b, where, "stop_grace_period", f[F_STOP_GRACE_PERIOD],
				   &s->stop_grace_period_ns) < 0 ||
	    read_extra_hosts(b, where, f[F_EXTRA_HOSTS], &s->extra_hosts) < 0 ||
	    read_develop(b, where, f[F_DEVELOP], s) < 0)
		goto out;
	implicit_deps(b, svc, s);
	nets = f[F_NETWORKS];
	if (s->network_mode != NULL && s->nnetworks > 0) {
		compose_model_fail(b, nets, where,
				   "declares mutually exclusive 'network_mode' and 'networks'");
		goto out;
	}
	if (s->network_mode == NULL && s->nnetworks == 0) {
		/* a service that names no network joins the project's default one */
		free(s->networks);
		s->networks = xcalloc(1, sizeof(*s->networks));
		s->networks[0].key = xstrdup("default");
		s->networks[0].mark = s->mark;
		s->nnetworks = 1;
	}
	rc = 0;
out:
	free(where);
	return rc;
}

void compose_service_release(struct compose_service *s)
{
	free(s->name);
	free(s->image);
	if (s->build != NULL) {
		free(s->build->context);
		free(s->build->dockerfile);
		free(s->build->dockerfile_inline);
		compose_map_release(&s->build->args);
		free(s->build->target);
		compose_map_release(&s->build->labels);
		compose_strv_release(&s->build->cache_from);
		free(s->build->network);
		json_decref(s->build->other);
		free(s->build);
	}
	compose_strv_release(&s->command);
	compose_strv_release(&s->entrypoint);
	compose_map_release(&s->environment);
	for (size_t i = 0; i < s->nenv_files; i++) {
		free(s->env_files[i].path);
		free(s->env_files[i].format);
	}
	free(s->env_files);
	free(s->working_dir);
	free(s->user);
	free(s->container_name);
	free(s->hostname);
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].host_ip);
		free(s->ports[i].published);
		free(s->ports[i].protocol);
		free(s->ports[i].mode);
		free(s->ports[i].app_protocol);
	}
	free(s->ports);
	compose_strv_release(&s->expose);
	for (size_t i = 0; i < s->nvolumes; i++) {
		free(s->volumes[i].source);
		free(s->volumes[i].target);
		free(s->volumes[i].consistency);
		free(s->volumes[i].bind_propagation);
		free(s->volumes[i].bind_selinux);
		free(s->volumes[i].volume_subpath);
	}
	free(s->volumes);
	for (size_t i = 0; i < s->ndepends_on; i++)
		free(s->depends_on[i].service);
	free(s->depends_on);
	compose_strv_release(&s->healthcheck.test);
	free(s->restart);
	compose_map_release(&s->labels);
	for (size_t i = 0; i < s->nnetworks; i++) {
		free(s->networks[i].key);
		compose_strv_release(&s->networks[i].aliases);
		free(s->networks[i].ipv4_address);
		free(s->networks[i].ipv6_address);
	}
	free(s->networks);
	free(s->network_mode);
	free(s->pull_policy);
	compose_strv_release(&s->profiles);
	free(s->stop_signal);
	compose_strv_release(&s->extra_hosts);
	for (size_t i = 0; i < s->nwatch; i++) {
		free(s->watch[i].path);
		free(s->watch[i].target);
		compose_strv_release(&s->watch[i].ignore);
		compose_strv_release(&s->watch[i].include);
		compose_strv_release(&s->watch[i].exec_command);
		free(s->watch[i].exec_user);
		compose_map_release(&s->watch[i].exec_environment);
	}
	free(s->watch);
	json_decref(s->other);
	json_decref(s->extensions);
	memset(s, 0, sizeof(*s));
}
