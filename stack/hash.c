/* hash.c - the config hash of a service (com.docker.compose.config-hash): SHA-256 over a
 * canonical JSON of what shapes its container, so `up` recreates exactly what changed. */
#include "stack/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but they are the
 * plain implementation: EVP's first digest loads OpenSSL's configuration and its default
 * provider, ~1.9 MiB of libcrypto that an idle supervisor would keep resident for one
 * hash per service. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "base/xmalloc.h"

/*
 * compose's ServiceHash (pkg/compose/hash.go) is the digest of json.Marshal(service) with
 * build, pull_policy, scale and depends_on cleared.  Go's encoding of compose-go's
 * structs cannot be reproduced byte for byte, so prisync's hash is its own (a stack that
 * compose created is recreated once when prisync adopts it); what matters is the
 * property: the same model always gives the same hash, any change that reaches the
 * container gives another one.
 */

static json_t *jstr_or_null(const char *s)
{
	json_t *v = s != NULL ? json_string(s) : NULL;

	/* a non-UTF-8 value cannot be a JSON string: hash its bytes as hex instead */
	if (v == NULL && s != NULL) {
		struct px_buf b = PX_BUF_INIT;

		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			px_buf_addf(&b, "%02x", *p);
		v = json_pack("{s:s}", "hex", px_buf_cstr(&b));
		px_buf_release(&b);
	}
	return v != NULL ? v : json_null();
}

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, jstr_or_null(s));
}

static void set_int(json_t *o, const char *key, int64_t v, int64_t unset)
{
	if (v != unset)
		json_object_set_new(o, key, json_integer(v));
}

static json_t *strv_json(const struct compose_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, jstr_or_null(v->v[i]));
	return a;
}

static json_t *map_json(const struct compose_map *m)
{
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++)
		json_object_set_new(o, m->v[i].key, jstr_or_null(m->v[i].value));
	return o;
}

static const char *mount_type_name(enum compose_mount_type t)
{
	switch (t) {
	case COMPOSE_MOUNT_VOLUME:
		return "volume";
	case COMPOSE_MOUNT_BIND:
		return "bind";
	case COMPOSE_MOUNT_TMPFS:
		return "tmpfs";
	case COMPOSE_MOUNT_NPIPE:
		return "npipe";
	case COMPOSE_MOUNT_CLUSTER:
		return "cluster";
	case COMPOSE_MOUNT_IMAGE:
		return "image";
	}
	return "?";
}

/* The engine name of the volume a mount names (its key resolved), else the key. */
static const char *volume_engine_name(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; key != NULL && i < p->nvolumes; i++) {
		if (strcmp(p->volumes[i].key, key) == 0)
			return p->volumes[i].name;
	}
	return key;
}

static json_t *mount_json(const struct compose_project *p, const struct compose_mount *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(mount_type_name(m->type)));
	set_str(o, "source",
		m->type == COMPOSE_MOUNT_VOLUME ? volume_engine_name(p, m->source) : m->source);
	set_str(o, "target", m->target);
	json_object_set_new(o, "read_only", json_boolean(m->read_only));
	set_str(o, "consistency", m->consistency);
	if (m->type == COMPOSE_MOUNT_BIND) {
		json_object_set_new(o, "create_host_path", json_boolean(m->bind_create_host_path));
		set_str(o, "propagation", m->bind_propagation);
		set_str(o, "selinux", m->bind_selinux);
	}
	if (m->type == COMPOSE_MOUNT_VOLUME) {
		json_object_set_new(o, "nocopy", json_boolean(m->volume_nocopy));
		set_str(o, "subpath", m->volume_subpath);
	}
	set_int(o, "tmpfs_size", m->tmpfs_size, -1);
	set_int(o, "tmpfs_mode", m->tmpfs_mode, -1);
	return o;
}

static json_t *port_json(const struct compose_port *pt)
{
	json_t *o = json_object();

	set_str(o, "name", pt->name);
	set_str(o, "host_ip", pt->host_ip);
	set_str(o, "published", pt->published);
	json_object_set_new(o, "target", json_integer(pt->target));
	set_str(o, "protocol", pt->protocol);
	set_str(o, "mode", pt->mode);
	set_str(o, "app_protocol", pt->app_protocol);
	return o;
}

static json_t *healthcheck_json(const struct compose_healthcheck *h)
{
	json_t *o = json_object();

	json_object_set_new(o, "disable", json_boolean(h->disable));
	json_object_set_new(o, "test", strv_json(&h->test));
	set_int(o, "interval", h->interval_ns, -1);
	set_int(o, "timeout", h->timeout_ns, -1);
	set_int(o, "start_period", h->start_period_ns, -1);
	set_int(o, "start_interval", h->start_interval_ns, -1);
	set_int(o, "retries", h->retries, -1);
	return o;
}

static json_t *networks_json(const struct compose_project *p, const struct compose_service *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct compose_service_network *n = &s->networks[i];
		const struct compose_network *pn = stack_project_network(p, n->key);
		json_t *e = json_object();

		set_str(e, "name", pn != NULL ? pn->name : n->key);
		json_object_set_new(e, "aliases", strv_json(&n->aliases));
		set_str(e, "ipv4_address", n->ipv4_address);
		set_str(e, "ipv6_address", n->ipv6_address);
		set_int(e, "priority", n->priority, 0);
		json_object_set_new(o, n->key, e);
	}
	return o;
}

json_t *stack_service_canonical(const struct compose_project *p, const struct compose_service *s)
{
	json_t *o = json_object(), *a;

	set_str(o, "image", s->image);
	if (s->has_command)
		json_object_set_new(o, "command", strv_json(&s->command));
	if (s->has_entrypoint)
		json_object_set_new(o, "entrypoint", strv_json(&s->entrypoint));
	json_object_set_new(o, "environment", map_json(&s->environment));
	set_str(o, "working_dir", s->working_dir);
	set_str(o, "user", s->user);
	set_str(o, "container_name", s->container_name);
	set_str(o, "hostname", s->hostname);
	set_int(o, "init", s->init, -1);
	set_int(o, "tty", s->tty, -1);
	set_int(o, "stdin_open", s->stdin_open, -1);
	set_int(o, "read_only", s->read_only, -1);
	set_int(o, "privileged", s->privileged, -1);
	a = json_array();
	for (size_t i = 0; i < s->nports; i++)
		json_array_append_new(a, port_json(&s->ports[i]));
	json_object_set_new(o, "ports", a);
	json_object_set_new(o, "expose", strv_json(&s->expose));
	a = json_array();
	for (size_t i = 0; i < s->nvolumes; i++)
		json_array_append_new(a, mount_json(p, &s->volumes[i]));
	json_object_set_new(o, "volumes", a);
	if (s->healthcheck.present)
		json_object_set_new(o, "healthcheck", healthcheck_json(&s->healthcheck));
	set_str(o, "restart", s->restart);
	json_object_set_new(o, "labels", map_json(&s->labels));
	json_object_set_new(o, "networks", networks_json(p, s));
	set_str(o, "network_mode", s->network_mode);
	set_str(o, "stop_signal", s->stop_signal);
	set_int(o, "stop_grace_period", s->stop_grace_period_ns, -1);
	json_object_set_new(o, "extra_hosts", strv_json(&s->extra_hosts));
	if (s->other != NULL && json_object_size(s->other) > 0)
		json_object_set(o, "other", s->other);
	return o;
}

int stack_service_hash(const struct compose_project *p, const struct compose_service *s,
		       char out[STACK_HASH_LEN + 1], struct px_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	json_t *c = stack_service_canonical(p, s);
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	int ret = -1;

	if (text == NULL) {
		px_error_set(err, ENOMEM, "service '%s': cannot encode its configuration", s->name);
		goto out;
	}
	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, text, strlen(text)) != 1 ||
	    SHA256_Final(md, &ctx) != 1) {
		px_error_set(err, 0, "service '%s': sha256 failed", s->name);
		goto out;
	}
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[STACK_HASH_LEN] = '\0';
	ret = 0;
out:
	free(text);
	json_decref(c);
	return ret;
}
