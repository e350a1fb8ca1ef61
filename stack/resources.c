/* resources.c - the project's networks and named volumes: created when missing with
 * compose's labels (ensureNetwork, ensureVolume), removed by down. */
#include "stack/internal.h"

#include <stdlib.h>
#include <string.h>

static void progress(struct stack *st, const char *kind, const char *name, bool quote,
		     enum stack_progress_state state, const char *status)
{
	char *id;

	/* compose writes `Network x` but `Volume "x"` */
	if (quote)
		xasprintf(&id, "%s \"%s\"", kind, name);
	else
		xasprintf(&id, "%s %s", kind, name);
	stack_progress_event(st->progress, id, state, status);
	free(id);
}

static json_t *map_object(const struct compose_map *m)
{
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++)
		json_object_set_new(o, m->v[i].key,
				    json_string(m->v[i].value ? m->v[i].value : ""));
	return o;
}

static const char *label_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "Labels"), key));
}

static int ensure_network(struct stack *st, const struct compose_network *n, struct px_error *err)
{
	const struct compose_project *p = st->project;
	json_t *info = NULL, *body = NULL, *labels;
	const char *owner;
	int rc, ret = -1;

	rc = engine_network_inspect(st->engine, n->name, &info, err);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		/* inspect matches id prefixes too: only the exact name is this network */
		const char *got = json_string_value(json_object_get(info, "Name"));

		if (got != NULL && strcmp(got, n->name) != 0)
			rc = ENGINE_NOT_FOUND;
	}
	if (n->external) {
		if (rc == ENGINE_NOT_FOUND) {
			px_error_set(err, 0,
				     "network %s declared as external, but could not be found",
				     n->name);
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (rc == 0) {
		owner = label_of(info, STACK_LABEL_PROJECT);
		if (owner == NULL)
			px_warn("a network with name %s exists but was not created by compose; set "
				"'external: true' to use an existing network",
				n->name);
		else if (strcmp(owner, p->name) != 0)
			px_warn("a network with name %s exists but was not created for project "
				"'%s'; set 'external: true' to use an existing network",
				n->name, p->name);
		ret = 0;
		goto out;
	}

	labels = map_object(&n->labels);
	json_object_set_new(labels, STACK_LABEL_NETWORK, json_string(n->key));
	json_object_set_new(labels, STACK_LABEL_PROJECT, json_string(p->name));
	json_object_set_new(labels, STACK_LABEL_VERSION, json_string(STACK_COMPOSE_VERSION));
	body = json_pack("{s:s, s:o}", "Name", n->name, "Labels", labels);
	json_object_set_new(body, "Driver", json_string(n->driver ? n->driver : "bridge"));
	if (n->driver_opts.n > 0)
		json_object_set_new(body, "Options", map_object(&n->driver_opts));
	if (n->internal)
		json_object_set_new(body, "Internal", json_true());
	if (n->attachable)
		json_object_set_new(body, "Attachable", json_true());
	if (n->enable_ipv6 >= 0)
		json_object_set_new(body, "EnableIPv6", json_boolean(n->enable_ipv6 == 1));
	if (n->ipam != NULL) {
		/* compose-go's ipam keys (driver, config[].subnet ...) in the engine's casing */
		json_t *ipam = json_object(), *cfgs = json_array(), *c;
		json_t *configs = json_object_get(n->ipam, "config");
		const char *drv = json_string_value(json_object_get(n->ipam, "driver"));
		size_t i;

		if (drv != NULL)
			json_object_set_new(ipam, "Driver", json_string(drv));
		json_array_foreach(configs, i, c)
		{
			json_t *o = json_object();
			static const char *const keys[][2] = {
			    {"subnet", "Subnet"}, {"ip_range", "IPRange"}, {"gateway", "Gateway"}};

			for (size_t k = 0; k < 3; k++) {
				const char *v = json_string_value(json_object_get(c, keys[k][0]));

				if (v != NULL)
					json_object_set_new(o, keys[k][1], json_string(v));
			}
			if (json_object_get(c, "aux_addresses") != NULL)
				json_object_set(o, "AuxiliaryAddresses",
						json_object_get(c, "aux_addresses"));
			json_array_append_new(cfgs, o);
		}
		json_object_set_new(ipam, "Config", cfgs);
		json_object_set_new(body, "IPAM", ipam);
	}
	progress(st, "Network", n->name, false, STACK_PROGRESS_WORKING, "Creating");
	if (engine_network_create_body(st->engine, body, NULL, err) < 0) {
		progress(st, "Network", n->name, false, STACK_PROGRESS_ERROR, "Error");
		goto out;
	}
	progress(st, "Network", n->name, false, STACK_PROGRESS_DONE, "Created");
	ret = 0;
out:
	json_decref(info);
	json_decref(body);
	return ret;
}

int stack_ensure_networks(struct stack *st, struct px_error *err)
{
	for (size_t i = 0; i < st->project->nnetworks; i++) {
		if (ensure_network(st, &st->project->networks[i], err) < 0)
			return -1;
	}
	return 0;
}

static int ensure_volume(struct stack *st, const struct compose_volume *v, struct px_error *err)
{
	const struct compose_project *p = st->project;
	json_t *info = NULL, *body = NULL, *labels;
	const char *owner;
	int rc, ret = -1;

	rc = engine_volume_inspect(st->engine, v->name, &info, err);
	if (rc < 0)
		goto out;
	if (rc == ENGINE_NOT_FOUND && v->external) {
		px_error_set(err, 0, "external volume \"%s\" not found", v->name);
		goto out;
	}
	if (rc == 0) {
		owner = label_of(info, STACK_LABEL_PROJECT);
		if (!v->external && owner == NULL)
			px_warn("volume \"%s\" already exists but was not created by compose; use "
				"'external: true' to use an existing volume",
				v->name);
		else if (!v->external && strcmp(owner, p->name) != 0)
			px_warn("volume \"%s\" already exists but was created for project '%s' "
				"(expected '%s'); use 'external: true' to use an existing volume",
				v->name, owner, p->name);
		ret = 0;
		goto out;
	}
	labels = map_object(&v->labels);
	json_object_set_new(labels, STACK_LABEL_VOLUME, json_string(v->key));
	json_object_set_new(labels, STACK_LABEL_PROJECT, json_string(p->name));
	json_object_set_new(labels, STACK_LABEL_VERSION, json_string(STACK_COMPOSE_VERSION));
	body = json_pack("{s:s, s:o}", "Name", v->name, "Labels", labels);
	if (v->driver != NULL)
		json_object_set_new(body, "Driver", json_string(v->driver));
	if (v->driver_opts.n > 0)
		json_object_set_new(body, "DriverOpts", map_object(&v->driver_opts));
	progress(st, "Volume", v->name, true, STACK_PROGRESS_WORKING, "Creating");
	if (engine_volume_create_body(st->engine, body, NULL, err) < 0) {
		progress(st, "Volume", v->name, true, STACK_PROGRESS_ERROR, "Error");
		goto out;
	}
	progress(st, "Volume", v->name, true, STACK_PROGRESS_DONE, "Created");
	ret = 0;
out:
	json_decref(info);
	json_decref(body);
	return ret;
}

int stack_ensure_volumes(struct stack *st, struct px_error *err)
{
	for (size_t i = 0; i < st->project->nvolumes; i++) {
		if (ensure_volume(st, &st->project->volumes[i], err) < 0)
			return -1;
	}
	return 0;
}

int stack_remove_networks(struct stack *st, struct px_error *err)
{
	const struct compose_project *p = st->project;
	int ret = 0;

	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct compose_network *n = &p->networks[i];
		struct px_error e = PX_ERROR_INIT;
		json_t *info = NULL;
		const char *owner, *got;
		int rc;

		if (n->external)
			continue;
		rc = engine_network_inspect(st->engine, n->name, &info, &e);
		got = rc == 0 ? json_string_value(json_object_get(info, "Name")) : NULL;
		owner = rc == 0 ? label_of(info, STACK_LABEL_PROJECT) : NULL;
		/* only what this project created (down must not take a stranger's network) */
		if (rc == 0 && got != NULL && strcmp(got, n->name) == 0 && owner != NULL &&
		    strcmp(owner, p->name) == 0) {
			progress(st, "Network", n->name, false, STACK_PROGRESS_WORKING, "Removing");
			rc = engine_network_remove(st->engine, n->name, &e);
			/* containers outside the project (orphans left by design) still on it:
			 * compose's "Resource is still in use", a warning, not a failed down */
			if (rc < 0 && strstr(px_error_msg(&e), "active endpoints") != NULL) {
				progress(st, "Network", n->name, false, STACK_PROGRESS_WARNING,
					 "Resource is still in use");
				px_error_clear(&e);
				rc = 0;
			} else {
				progress(st, "Network", n->name, false,
					 rc < 0 ? STACK_PROGRESS_ERROR : STACK_PROGRESS_DONE,
					 rc < 0 ? "Error" : "Removed");
			}
		}
		if (rc < 0 && ret == 0) {
			px_error_move(err, &e);
			ret = -1;
		}
		px_error_clear(&e);
		json_decref(info);
	}
	return ret;
}

int stack_remove_volumes(struct stack *st, struct px_error *err)
{
	const struct compose_project *p = st->project;
	int ret = 0;

	for (size_t i = 0; i < p->nvolumes; i++) {
		const struct compose_volume *v = &p->volumes[i];
		struct px_error e = PX_ERROR_INIT;
		json_t *info = NULL;
		int rc;

		if (v->external)
			continue;
		rc = engine_volume_inspect(st->engine, v->name, &info, &e);
		if (rc == 0) {
			progress(st, "Volume", v->name, true, STACK_PROGRESS_WORKING, "Removing");
			rc = engine_volume_remove(st->engine, v->name, false, &e);
			progress(st, "Volume", v->name, true,
				 rc < 0 ? STACK_PROGRESS_ERROR : STACK_PROGRESS_DONE,
				 rc < 0 ? "Error" : "Removed");
		}
		if (rc < 0 && ret == 0) {
			px_error_move(err, &e);
			ret = -1;
		}
		px_error_clear(&e);
		json_decref(info);
	}
	return ret;
}
