/* create.c - a compose service turned into the Engine API's container create body, field
 * for field as compose's getCreateConfigs (pkg/compose/create.go) builds it. */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xmalloc.h"

void stack_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

char *stack_service_image(const struct compose_project *p, const struct compose_service *s)
{
	char *img;

	if (s->image != NULL && s->image[0] != '\0')
		return xstrdup(s->image);
	/* api.GetImageNameOrDefault: what compose tags a build with when image: is absent */
	xasprintf(&img, "%s-%s", p->name, s->name);
	return img;
}

char *stack_service_container_name(const struct compose_project *p, const struct compose_service *s,
				   int number)
{
	if (s->container_name != NULL && s->container_name[0] != '\0')
		return xstrdup(s->container_name);
	return stack_container_name(p->name, s->name, number);
}

const struct compose_network *stack_project_network(const struct compose_project *p,
						    const char *key)
{
	for (size_t i = 0; key != NULL && i < p->nnetworks; i++) {
		if (strcmp(p->networks[i].key, key) == 0)
			return &p->networks[i];
	}
	return NULL;
}

void stack_service_network_order(const struct compose_service *s, size_t *order)
{
	/* insertion sort: a service is on a handful of networks */
	for (size_t i = 0; i < s->nnetworks; i++) {
		size_t j = i;

		order[i] = i;
		while (j > 0) {
			const struct compose_service_network *a = &s->networks[order[j - 1]];
			const struct compose_service_network *b = &s->networks[order[j]];
			size_t t;

			if (a->priority > b->priority ||
			    (a->priority == b->priority && strcmp(a->key, b->key) <= 0))
				break;
			t = order[j - 1];
			order[j - 1] = order[j];
			order[j] = t;
			j--;
		}
	}
}

char **stack_network_aliases(const struct compose_project *p, const struct compose_service *s,
			     int number, const struct compose_service_network *net)
{
	size_t n = 0, cap = 3 + (net != NULL ? net->aliases.n : 0);
	char **v = xcalloc(cap, sizeof(*v));

	/* compose's getAliases: the container name, then (useNetworkAliases) the service
	 * name and the network's own aliases */
	v[n++] = stack_service_container_name(p, s, number);
	v[n++] = xstrdup(s->name);
	for (size_t i = 0; net != NULL && i < net->aliases.n; i++)
		v[n++] = xstrdup(net->aliases.v[i]);
	v[n] = NULL;
	return v;
}

/* o[key] = string, leaving the key out for NULL. */
static void set_str(json_t *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(o, key, json_string(value));
}

static json_t *strv_array(const struct compose_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static const char *condition_name(enum compose_dep_condition c)
{
	switch (c) {
	case COMPOSE_DEP_STARTED:
		return "service_started";
	case COMPOSE_DEP_HEALTHY:
		return "service_healthy";
	case COMPOSE_DEP_COMPLETED:
		return "service_completed_successfully";
	}
	return "service_started";
}

static int build_labels(json_t **out, const struct compose_project *p,
			const struct compose_service *s, const struct stack_create_info *ci,
			struct px_error *err)
{
	struct stack_label_info info = {
	    .project = p->name,
	    .service = s->name,
	    .number = ci->number,
	    .working_dir = p->working_dir,
	    .config_files = (const char *const *)p->config_files.v,
	    .n_config_files = p->config_files.n,
	    .config_hash = ci->config_hash,
	    .version = STACK_COMPOSE_VERSION,
	};
	struct px_buf deps = PX_BUF_INIT;
	json_t *labels = json_object();

	for (size_t i = 0; i < s->labels.n; i++)
		json_object_set_new(labels, s->labels.v[i].key,
				    json_string(s->labels.v[i].value ? s->labels.v[i].value : ""));
	if (stack_project_labels(labels, &info, err) < 0) {
		json_decref(labels);
		return -1;
	}
	/* prepareLabels: "service:condition:restart", comma-joined */
	for (size_t i = 0; i < s->ndepends_on; i++)
		px_buf_addf(&deps, "%s%s:%s:%s", i > 0 ? "," : "", s->depends_on[i].service,
			    condition_name(s->depends_on[i].condition),
			    s->depends_on[i].restart ? "true" : "false");
	json_object_set_new(labels, STACK_LABEL_DEPENDS_ON, json_string(px_buf_cstr(&deps)));
	px_buf_release(&deps);
	if (ci->image_id != NULL)
		json_object_set_new(labels, STACK_LABEL_IMAGE, json_string(ci->image_id));
	if (ci->replace_id != NULL)
		json_object_set_new(labels, STACK_LABEL_REPLACE, json_string(ci->replace_id));
	*out = labels;
	return 0;
}

static json_t *build_env(const struct compose_service *s)
{
	json_t *a = json_array();
	char *kv;

	for (size_t i = 0; i < s->environment.n; i++) {
		const struct compose_kv *e = &s->environment.v[i];

		/* ToMobyEnv: a variable without a value is passed by name (unset in the
		 * container, or taken from the image) */
		if (e->value == NULL) {
			json_array_append_new(a, json_string(e->key));
			continue;
		}
		xasprintf(&kv, "%s=%s", e->key, e->value);
		json_array_append_new(a, json_string(kv));
		free(kv);
	}
	return a;
}

static json_t *build_healthcheck(const struct compose_healthcheck *h, bool start_interval)
{
	json_t *o = json_object();

	if (h->disable) {
		json_object_set_new(o, "Test", json_pack("[s]", "NONE"));
		return o;
	}
	if (h->test.n > 0)
		json_object_set_new(o, "Test", strv_array(&h->test));
	if (h->interval_ns >= 0)
		json_object_set_new(o, "Interval", json_integer(h->interval_ns));
	if (h->timeout_ns >= 0)
		json_object_set_new(o, "Timeout", json_integer(h->timeout_ns));
	if (h->start_period_ns >= 0)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period_ns));
	if (start_interval && h->start_interval_ns >= 0)
		json_object_set_new(o, "StartInterval", json_integer(h->start_interval_ns));
	if (h->retries >= 0)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

/* "3000", "3000/udp" or "3000-3002[/proto]" into ExposedPorts keys "3000/tcp" ... */
static int add_expose(json_t *exposed, const struct compose_service *s, const char *spec,
		      struct px_error *err)
{
	const char *slash = strchr(spec, '/');
	const char *proto = slash != NULL ? slash + 1 : "tcp";
	char *range = slash != NULL ? xstrndup(spec, (size_t)(slash - spec)) : xstrdup(spec);
	char *end = NULL, *key;
	unsigned long lo, hi;
	int ret = -1;

	errno = 0;
	lo = strtoul(range, &end, 10);
	hi = lo;
	if (end != range && *end == '-')
		hi = strtoul(end + 1, &end, 10);
	if (errno != 0 || end == range || *end != '\0' || lo == 0 || hi < lo || hi > 65535 ||
	    *proto == '\0') {
		px_error_set(err, 0, "service '%s': invalid expose '%s'", s->name, spec);
		goto out;
	}
	for (unsigned long port = lo; port <= hi; port++) {
		xasprintf(&key, "%lu/%s", port, proto);
		json_object_set_new(exposed, key, json_object());
		free(key);
	}
	ret = 0;
out:
	free(range);
	return ret;
}

static void add_ports(json_t *exposed, json_t *bindings, const struct compose_service *s)
{
	for (size_t i = 0; i < s->nports; i++) {
		const struct compose_port *pt = &s->ports[i];
		char *key;
		json_t *list;

		xasprintf(&key, "%u/%s", pt->target, pt->protocol != NULL ? pt->protocol : "tcp");
		json_object_set_new(exposed, key, json_object());
		list = json_object_get(bindings, key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		/* an empty HostIp lets the engine use its default (dockerd --ip) */
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
						      pt->host_ip ? pt->host_ip : "", "HostPort",
						      pt->published ? pt->published : ""));
		free(key);
	}
}

static const char *volume_engine_name(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; key != NULL && i < p->nvolumes; i++) {
		if (strcmp(p->volumes[i].key, key) == 0)
			return p->volumes[i].name;
	}
	return key;
}

/* True when the bind can go through the old Binds API, which (unlike Mounts) creates
 * a missing host path (compose's requireMountAPI, inverted). */
static bool bind_as_binds(const struct compose_mount *m)
{
	return m->bind_create_host_path && m->bind_propagation == NULL;
}

/* compose-go's ServiceVolumeConfig.String(): "src:dst:rw[,z]" */
static char *bind_string(const struct compose_mount *m)
{
	char *s;

	xasprintf(&s, "%s:%s:%s%s%s", m->source, m->target, m->read_only ? "ro" : "rw",
		  m->bind_selinux != NULL ? "," : "",
		  m->bind_selinux != NULL ? m->bind_selinux : "");
	return s;
}

/* The anonymous volume of the replaced container at target, to keep its data (compose's
 * buildContainerMountOptions with inherit): a volume mount whose destination is one the
 * image declares or an anonymous volume of the service. */
static const json_t *inherited_at(const struct stack_create_info *ci, const char *target,
				  bool service_anonymous)
{
	size_t i;
	json_t *m;

	if (ci->inherit_mounts == NULL)
		return NULL;
	json_array_foreach(ci->inherit_mounts, i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		const char *name = json_string_value(json_object_get(m, "Name"));

		if (type == NULL || strcmp(type, "volume") != 0 || dest == NULL || name == NULL ||
		    strcmp(dest, target) != 0)
			continue;
		if (service_anonymous || json_object_get(ci->image_volumes, dest) != NULL)
			return m;
	}
	return NULL;
}

static json_t *inherited_mount(const json_t *m)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "Type", "volume", "Source",
			 json_string_value(json_object_get(m, "Name")), "Target",
			 json_string_value(json_object_get(m, "Destination")), "ReadOnly",
			 !json_is_true(json_object_get(m, "RW")));
}

static bool service_mounts_target(const struct compose_service *s, const char *target)
{
	for (size_t i = 0; i < s->nvolumes; i++) {
		if (s->volumes[i].target != NULL && strcmp(s->volumes[i].target, target) == 0)
			return true;
	}
	return false;
}

static int build_mounts(json_t *host, const struct compose_project *p,
			const struct compose_service *s, const struct stack_create_info *ci,
			struct px_error *err)
{
	json_t *binds = json_array(), *mounts = json_array(), *m;
	json_t *image_volumes = (json_t *)ci->image_volumes; /* only read */
	const char *key;
	json_t *v;
	size_t i;
	int ret = -1;

	/* the image's own volumes first, so their data survives a recreate */
	if (ci->image_volumes != NULL) {
		json_object_foreach(image_volumes, key, v)
		{
			const json_t *old = inherited_at(ci, key, false);

			(void)v;
			if (old != NULL && !service_mounts_target(s, key))
				json_array_append_new(mounts, inherited_mount(old));
		}
	}
	for (i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *cm = &s->volumes[i];

		switch (cm->type) {
		case COMPOSE_MOUNT_BIND:
			if (bind_as_binds(cm)) {
				char *b = bind_string(cm);

				json_array_append_new(binds, json_string(b));
				free(b);
				break;
			}
			m = json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", cm->source,
				      "Target", cm->target, "ReadOnly", cm->read_only);
			if (cm->bind_propagation != NULL || cm->bind_create_host_path) {
				json_t *bo = json_object();

				set_str(bo, "Propagation", cm->bind_propagation);
				if (cm->bind_create_host_path)
					json_object_set_new(bo, "CreateMountpoint", json_true());
				json_object_set_new(m, "BindOptions", bo);
			}
			set_str(m, "Consistency", cm->consistency);
			json_array_append_new(mounts, m);
			break;
		case COMPOSE_MOUNT_VOLUME: {
			const json_t *old =
			    cm->source == NULL ? inherited_at(ci, cm->target, true) : NULL;

			if (old != NULL) {
				json_array_append_new(mounts, inherited_mount(old));
				break;
			}
			m = json_pack("{s:s, s:s, s:s, s:b}", "Type", "volume", "Source",
				      cm->source != NULL ? volume_engine_name(p, cm->source) : "",
				      "Target", cm->target, "ReadOnly", cm->read_only);
			if (cm->volume_nocopy || cm->volume_subpath != NULL) {
				json_t *vo = json_object();

				if (cm->volume_nocopy)
					json_object_set_new(vo, "NoCopy", json_true());
				set_str(vo, "Subpath", cm->volume_subpath);
				json_object_set_new(m, "VolumeOptions", vo);
			}
			set_str(m, "Consistency", cm->consistency);
			json_array_append_new(mounts, m);
			break;
		}
		case COMPOSE_MOUNT_TMPFS:
			m = json_pack("{s:s, s:s, s:b}", "Type", "tmpfs", "Target", cm->target,
				      "ReadOnly", cm->read_only);
			if (cm->tmpfs_size >= 0 || cm->tmpfs_mode >= 0) {
				json_t *to = json_object();

				if (cm->tmpfs_size >= 0)
					json_object_set_new(to, "SizeBytes",
							    json_integer(cm->tmpfs_size));
				if (cm->tmpfs_mode >= 0)
					json_object_set_new(to, "Mode",
							    json_integer(cm->tmpfs_mode));
				json_object_set_new(m, "TmpfsOptions", to);
			}
			json_array_append_new(mounts, m);
			break;
		default:
			px_error_set(err, 0,
				     "service '%s': volume '%s': this mount type is not "
				     "supported by prisync",
				     s->name, cm->target ? cm->target : "?");
			goto out;
		}
	}
	if (json_array_size(binds) > 0)
		json_object_set(host, "Binds", binds);
	if (json_array_size(mounts) > 0)
		json_object_set(host, "Mounts", mounts);
	ret = 0;
out:
	json_decref(binds);
	json_decref(mounts);
	return ret;
}

/* compose's `tmpfs:` key (a path or a list of "path[:options]"), kept unmodelled. */
static void build_tmpfs(json_t *host, const struct compose_service *s)
{
	json_t *t = s->other != NULL ? json_object_get(s->other, "tmpfs") : NULL;
	json_t *out, *it;
	size_t i;

	if (t == NULL)
		return;
	out = json_object();
	if (json_is_string(t)) {
		json_object_set_new(out, json_string_value(t), json_string(""));
	} else {
		json_array_foreach(t, i, it)
		{
			const char *v = json_string_value(it), *colon;
			char *path;

			if (v == NULL)
				continue;
			colon = strchr(v, ':');
			path = colon != NULL ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
			json_object_set_new(out, path, json_string(colon != NULL ? colon + 1 : ""));
			free(path);
		}
	}
	json_object_set_new(host, "Tmpfs", out);
}

static json_t *restart_policy(const char *restart)
{
	const char *colon = strchr(restart, ':');
	char *name =
	    colon != NULL ? xstrndup(restart, (size_t)(colon - restart)) : xstrdup(restart);
	int retries = colon != NULL ? stack_parse_int(colon + 1, 0) : 0;
	json_t *o;

	/* mapRestartPolicyCondition */
	if (strcmp(name, "none") == 0) {
		free(name);
		name = xstrdup("no");
	} else if (strcmp(name, "any") == 0) {
		free(name);
		name = xstrdup("always");
	}
	o = json_pack("{s:s, s:i}", "Name", name, "MaximumRetryCount", retries);
	free(name);
	return o;
}

static json_t *extra_hosts(const struct compose_service *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->extra_hosts.n; i++) {
		/* the model keeps "host=ip"; the engine wants "host:ip" (AsList(":")) */
		char *h = xstrdup(s->extra_hosts.v[i]), *eq = strchr(h, '=');

		if (eq != NULL)
			*eq = ':';
		json_array_append_new(a, json_string(h));
		free(h);
	}
	return a;
}

static json_t *endpoint(const struct compose_project *p, const struct compose_service *s,
			int number, const struct compose_service_network *net)
{
	char **aliases = stack_network_aliases(p, s, number, net);
	json_t *ep = json_object(), *a = json_array();

	for (char **q = aliases; *q != NULL; q++)
		json_array_append_new(a, json_string(*q));
	json_object_set_new(ep, "Aliases", a);
	if (net->ipv4_address != NULL || net->ipv6_address != NULL) {
		json_t *ipam = json_object();

		set_str(ipam, "IPv4Address", net->ipv4_address);
		set_str(ipam, "IPv6Address", net->ipv6_address);
		json_object_set_new(ep, "IPAMConfig", ipam);
	}
	stack_strv_free(aliases);
	return ep;
}

static int build_network(json_t *body, json_t *host, const struct compose_project *p,
			 const struct compose_service *s, const struct stack_create_info *ci,
			 struct px_error *err)
{
	const char *mode = ci->network_mode != NULL ? ci->network_mode : s->network_mode;
	bool all_at_create =
	    ci->api_version == NULL || engine_version_cmp(ci->api_version, "1.44") >= 0;
	size_t *order;
	json_t *eps;
	int ret = -1;

	if (mode != NULL) {
		if (strncmp(mode, "service:", 8) == 0)
			return px_error_set(err, 0,
					    "service '%s': network_mode '%s' needs the container "
					    "of service '%s', which does not exist",
					    s->name, mode, mode + 8);
		json_object_set_new(host, "NetworkMode", json_string(mode));
		if (strcmp(mode, "disabled") == 0)
			json_object_set_new(body, "NetworkDisabled", json_true());
		return 0;
	}
	if (p->nnetworks == 0 || s->nnetworks == 0) {
		json_object_set_new(host, "NetworkMode", json_string("none"));
		return 0;
	}
	order = xcalloc(s->nnetworks, sizeof(*order));
	stack_service_network_order(s, order);
	eps = json_object();
	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct compose_service_network *sn = &s->networks[order[i]];
		const struct compose_network *pn = stack_project_network(p, sn->key);

		if (pn == NULL) {
			px_error_set(err, 0, "service '%s': network '%s' is not defined", s->name,
				     sn->key);
			json_decref(eps);
			goto out;
		}
		if (i == 0)
			json_object_set_new(host, "NetworkMode", json_string(pn->name));
		/* before API 1.44 the engine takes one endpoint at create; the others are
		 * connected before start */
		if (i == 0 || all_at_create)
			json_object_set_new(eps, pn->name, endpoint(p, s, ci->number, sn));
	}
	json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
	ret = 0;
out:
	free(order);
	return ret;
}

int stack_create_body(json_t **out, const struct compose_project *p,
		      const struct compose_service *s, const struct stack_create_info *ci,
		      struct px_error *err)
{
	json_t *body = json_object(), *host = json_object(), *labels = NULL;
	json_t *exposed = json_object(), *bindings = json_object();
	char *image = stack_service_image(p, s);
	int ret = -1;

	*out = NULL;
	if (ci->config_hash == NULL) {
		px_error_set(err, EINVAL, "service '%s': no config hash", s->name);
		goto out;
	}
	json_object_set_new(body, "Image", json_string(image));
	if (s->has_command)
		json_object_set_new(body, "Cmd", strv_array(&s->command));
	if (s->has_entrypoint)
		json_object_set_new(body, "Entrypoint", strv_array(&s->entrypoint));
	json_object_set_new(body, "Env", build_env(s));
	set_str(body, "WorkingDir", s->working_dir);
	set_str(body, "User", s->user);
	set_str(body, "Hostname", s->hostname);
	json_object_set_new(body, "Tty", json_boolean(s->tty == 1));
	json_object_set_new(body, "OpenStdin", json_boolean(s->stdin_open == 1));
	json_object_set_new(body, "AttachStdout", json_true());
	json_object_set_new(body, "AttachStderr", json_true());
	if (build_labels(&labels, p, s, ci, err) < 0)
		goto out;
	json_object_set_new(body, "Labels", labels);
	for (size_t i = 0; i < s->expose.n; i++) {
		if (add_expose(exposed, s, s->expose.v[i], err) < 0)
			goto out;
	}
	add_ports(exposed, bindings, s);
	if (json_object_size(exposed) > 0)
		json_object_set(body, "ExposedPorts", exposed);
	set_str(body, "StopSignal", s->stop_signal);
	if (s->stop_grace_period_ns >= 0)
		json_object_set_new(body, "StopTimeout",
				    json_integer(s->stop_grace_period_ns / 1000000000));
	if (s->healthcheck.present) {
		bool start_interval =
		    ci->api_version == NULL || engine_version_cmp(ci->api_version, "1.44") >= 0;

		json_object_set_new(body, "Healthcheck",
				    build_healthcheck(&s->healthcheck, start_interval));
	}

	if (build_mounts(host, p, s, ci, err) < 0)
		goto out;
	build_tmpfs(host, s);
	if (json_object_size(bindings) > 0)
		json_object_set(host, "PortBindings", bindings);
	if (s->restart != NULL)
		json_object_set_new(host, "RestartPolicy", restart_policy(s->restart));
	if (s->init >= 0)
		json_object_set_new(host, "Init", json_boolean(s->init == 1));
	json_object_set_new(host, "ReadonlyRootfs", json_boolean(s->read_only == 1));
	json_object_set_new(host, "Privileged", json_boolean(s->privileged == 1));
	if (s->extra_hosts.n > 0)
		json_object_set_new(host, "ExtraHosts", extra_hosts(s));
	if (build_network(body, host, p, s, ci, err) < 0)
		goto out;
	json_object_set(body, "HostConfig", host);
	*out = body;
	body = NULL;
	ret = 0;
out:
	json_decref(body);
	json_decref(host);
	json_decref(exposed);
	json_decref(bindings);
	free(image);
	return ret;
}
