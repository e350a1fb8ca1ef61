/* canonical.c - compose short syntax rewritten into long syntax on the node tree, as
 * compose-go's transform/ package does, so merging and typing see one form per field. */
#include "compose/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cast.h"
#include "compose/node.h"

/* A growing list of nodes (map pairs or sequence items) before the final arena node.
 * The first ones go to inline room: a port or a volume is a map of a few pairs, and
 * 2,000 services make 8,000 of them. */
struct nodes {
	struct cnode **v; /* inline, or malloc'd once inline is full */
	size_t n, cap;
	struct cnode *inline_v[16];
};

static void nodes_push(struct nodes *l, struct cnode *n)
{
	if (l->v == NULL) {
		l->v = l->inline_v;
		l->cap = sizeof(l->inline_v) / sizeof(l->inline_v[0]);
	}
	if (l->n == l->cap) {
		l->cap *= 2;
		if (l->v == l->inline_v)
			l->v = memcpy(xreallocarray(NULL, l->cap, sizeof(struct cnode *)),
				      l->inline_v, sizeof(l->inline_v));
		else
			l->v = xreallocarray(l->v, l->cap, sizeof(struct cnode *));
	}
	l->v[l->n++] = n;
}

static void nodes_release(struct nodes *l)
{
	if (l->v != l->inline_v)
		free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Turn l into an arena sequence (or map of l->n / 2 pairs) and free l. */
static struct cnode *nodes_finish(struct cnode_arena *a, struct nodes *l, bool map,
				  const struct cnode *orig)
{
	struct cnode *out =
	    map ? cnode_new_map(a, l->n / 2, orig->mark) : cnode_new_seq(a, l->n, orig->mark);

	if (l->n > 0)
		memcpy(out->items, l->v, l->n * sizeof(struct cnode *));
	/* what replaces a node keeps its !reset / !override meaning */
	out->tag = orig->tag;
	nodes_release(l);
	return out;
}

/* A scalar at at's place: str() copies s, lit() refers to it, so s must be a literal
 * or a string of the tree (another node's value, or its tail). */
static struct cnode *str(struct cnode_arena *a, const char *s, bool quoted, const struct cnode *at)
{
	return cnode_new_scalar(a, s, quoted, at->mark);
}

static struct cnode *lit(struct cnode_arena *a, const char *s, bool quoted, const struct cnode *at)
{
	return cnode_new_scalar_ref(a, s, quoted, at->mark);
}

/* A plain scalar of a literal that is always valid where it is put (cnode_shared_scalar):
 * the keys of long syntax, and the values it fills in ("true", "ingress" ...). */
static struct cnode *konst(struct cnode_arena *a, const char *literal, const struct cnode *at)
{
	return cnode_shared_scalar(a, literal, at->mark);
}

/* key is a literal, and a key compose knows where it is put */
static void pair(struct cnode_arena *a, struct nodes *l, const char *key, struct cnode *val,
		 const struct cnode *at)
{
	nodes_push(l, konst(a, key, at));
	nodes_push(l, val);
}

static bool is_str(const struct cnode *n)
{
	return n != NULL && n->kind == CNODE_SCALAR && !cnode_is_null(n);
}

/* ---- ports ------------------------------------------------------------------------ */

struct port_entry {
	char key[32]; /* "<port>/<proto>", the order compose-go sorts them in */
	unsigned target;
	char *published; /* owned; NULL when not published */
};

/* v in decimal, at the end of buf: a port a load formats thousands of times, for which
 * snprintf's format machinery is most of the cost. */
static const char *uint_text(char buf[12], unsigned v)
{
	char *p = buf + 11;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return p;
}

/* go-connections' port number: decimal (ParseInt base 10), 0..65535. */
static bool port_number(const char *s, size_t len, unsigned *out)
{
	char buf[16];
	char *end;
	long v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!(isdigit((unsigned char)buf[0]) || buf[0] == '+' || buf[0] == '-'))
		return false;
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < 0 || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

/* go-connections' parsePortRange: "N" or "N-M" with M >= N. */
static bool port_range(const char *s, unsigned *start, unsigned *end)
{
	const char *dash = strchr(s, '-');

	if (*s == '\0')
		return false;
	if (dash == NULL)
		return port_number(s, strlen(s), start) && (*end = *start, true);
	if (!port_number(s, (size_t)(dash - s), start))
		return false;
	if (strcmp(dash + 1, "") != 0 && (size_t)(dash - s) == strlen(dash + 1) &&
	    strncmp(s, dash + 1, (size_t)(dash - s)) == 0) {
		*end = *start;
		return true;
	}
	if (!port_number(dash + 1, strlen(dash + 1), end))
		return false;
	return *end >= *start;
}

static int port_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct port_entry *)a)->key, ((const struct port_entry *)b)->key);
}

/*
 * One short-syntax port ("[[ip:]host:]container[/proto]", ranges allowed) parsed the way
 * go-connections' nat.ParsePortSpec parses it.  On failure *why says what is wrong.
 */
static int parse_port(const char *raw, char **ip_out, char proto[8], struct port_entry **out,
		      size_t *nout, char **why)
{
	char *copy = xstrdup(raw), *ip = NULL, *host = "", *container, *slash, *last, *prev;
	const char *raw_proto = "";
	unsigned cstart, cend, hstart = 0, hend = 0;
	struct port_entry *e = NULL;
	size_t count;
	int rc = -1;
	unsigned char addr[16];

	*why = NULL;
	/* [[ip:]host:]container: the last two colons split, the rest is the (IPv6) address */
	last = strrchr(copy, ':');
	if (last == NULL) {
		container = copy;
	} else {
		*last = '\0';
		container = last + 1;
		prev = strrchr(copy, ':');
		if (prev == NULL) {
			host = copy;
		} else {
			*prev = '\0';
			host = prev + 1;
			ip = copy;
		}
	}
	slash = strchr(container, '/');
	if (slash != NULL) {
		*slash = '\0';
		raw_proto = slash + 1;
	}
	if (strlen(raw_proto) >= 8) {
		xasprintf(why, "invalid proto: %s", raw_proto);
		goto out;
	}
	snprintf(proto, 8, "%s", raw_proto[0] != '\0' ? raw_proto : "tcp");
	if (container[0] == '\0') {
		xasprintf(why, "no port specified: %s<empty>", raw);
		goto out;
	}
	for (char *p = proto; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0) {
		xasprintf(why, "invalid proto: %s", raw_proto);
		goto out;
	}
	if (ip != NULL && ip[0] == '[') {
		size_t n = strlen(ip);

		if (n < 2 || ip[n - 1] != ']') {
			xasprintf(why, "invalid IP address: %s", ip);
			goto out;
		}
		ip[n - 1] = '\0';
		ip++;
	}
	if (ip != NULL && ip[0] != '\0' && inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1) {
		xasprintf(why, "invalid IP address: %s", ip);
		goto out;
	}
	if (!port_range(container, &cstart, &cend)) {
		xasprintf(why, "invalid containerPort: %s", container);
		goto out;
	}
	if (host[0] != '\0') {
		if (!port_range(host, &hstart, &hend)) {
			xasprintf(why, "invalid hostPort: %s", host);
			goto out;
		}
		/* a host range with one container port is a pool to pick from */
		if (cend - cstart != hend - hstart && cend != cstart) {
			xasprintf(
			    why, "invalid ranges specified for container and host Ports: %s and %s",
			    container, host);
			goto out;
		}
	}
	count = cend - cstart + 1;
	e = xcalloc(count, sizeof(*e));
	for (size_t i = 0; i < count; i++) {
		char num[12];
		const char *t;
		size_t tlen;

		e[i].target = cstart + (unsigned)i;
		/* "<port>/<proto>": at most 5 digits, '/' and 7 bytes of proto */
		t = uint_text(num, e[i].target);
		tlen = strlen(t);
		memcpy(e[i].key, t, tlen);
		e[i].key[tlen] = '/';
		memcpy(e[i].key + tlen + 1, proto, strlen(proto) + 1);
		if (host[0] != '\0') {
			if (count == 1 && hstart != hend)
				xasprintf(&e[i].published, "%u-%u", hstart, hend);
			else
				e[i].published = xstrdup(uint_text(num, hstart + (unsigned)i));
		}
	}
	qsort(e, count, sizeof(*e), port_entry_cmp);
	*ip_out = ip != NULL && ip[0] != '\0' ? xstrdup(ip) : NULL;
	*out = e;
	*nout = count;
	rc = 0;
out:
	free(copy);
	return rc;
}

static int canon_ports(struct cnode_arena *a, const struct cnode *ports, struct cnode **out,
		       struct px_error *err)
{
	struct nodes items = {0};

	for (size_t i = 0; i < ports->n; i++) {
		struct cnode *it = ports->items[i];
		struct compose_scalar sc;
		struct port_entry *e = NULL;
		size_t n = 0;
		char *ip = NULL, *why = NULL, proto[8];

		if (it->kind == CNODE_MAP) {
			nodes_push(&items, it);
			continue;
		}
		if (it->kind != CNODE_SCALAR || cnode_is_null(it)) {
			nodes_release(&items);
			return cnode_error(err, it,
					   "invalid port specification: expected a string, a "
					   "number or a mapping, got %s",
					   it->kind == CNODE_SEQ ? "a list" : "null");
		}
		compose_scalar_resolve(it, &sc);
		if (sc.type == COMPOSE_SCALAR_INT) {
			/* a bare number is the container port, nothing else implied */
			struct nodes m = {0};
			char *t;

			xasprintf(&t, "%lld", (long long)sc.i);
			pair(a, &m, "target", str(a, t, false, it), it);
			free(t);
			nodes_push(&items, nodes_finish(a, &m, true, it));
			continue;
		}
		if (parse_port(it->value, &ip, proto, &e, &n, &why) < 0) {
			cnode_error(err, it, "invalid port specification \"%s\": %s", it->value,
				    why);
			free(why);
			nodes_release(&items);
			return -1;
		}
		for (size_t k = 0; k < n; k++) {
			struct nodes m = {0};
			char num[12];
			const char *t = uint_text(num, e[k].target);
			struct cnode *entry;

			pair(a, &m, "mode", konst(a, "ingress", it), it);
			if (ip != NULL)
				pair(a, &m, "host_ip", str(a, ip, true, it), it);
			pair(a, &m, "target", str(a, t, false, it), it);
			if (e[k].published != NULL)
				pair(a, &m, "published", str(a, e[k].published, true, it), it);
			pair(a, &m, "protocol", str(a, proto, false, it), it);
			entry = nodes_finish(a, &m, true, it);
			entry->tag = CNODE_TAG_NONE;
			nodes_push(&items, entry);
			free(e[k].published);
		}
		free(e);
		free(ip);
	}
	*out = nodes_finish(a, &items, false, ports);
	return 0;
}

/* ---- volumes ---------------------------------------------------------------------- */

struct volume_spec {
	char *source, *target;
	bool read_only, nocopy, bind, volume;
	const char *propagation, *selinux;
};

static bool is_drive_letter(const char *buf, size_t len)
{
	return len == 1 && isalpha((unsigned char)buf[0]);
}

/* compose's isFilePath: ., / and ~ start host paths (plus Windows forms). */
static bool is_file_path(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	if (s[0] == '.' || s[0] == '/' || s[0] == '~')
		return true;
	if (s[0] == '\\' && s[1] == '\\')
		return true;
	return isalpha((unsigned char)s[0]) && s[1] == ':';
}

static int volume_section(struct volume_spec *v, const char *buf, size_t len, bool end,
			  const char **why)
{
	static const char *const propagations[] = {"rprivate", "private", "rshared",
						   "shared",   "rslave",  "slave"};
	char *opts, *save = NULL;

	if (len == 0) {
		*why = "empty section between colons";
		return -1;
	}
	if (v->source == NULL && end) {
		v->target = xstrndup(buf, len);
		return 0;
	}
	if (v->source == NULL) {
		v->source = xstrndup(buf, len);
		return 0;
	}
	if (v->target == NULL) {
		v->target = xstrndup(buf, len);
		return 0;
	}
	if (!end) {
		*why = "too many colons";
		return -1;
	}
	opts = xstrndup(buf, len);
	for (char *o = strtok_r(opts, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "ro") == 0) {
			v->read_only = true;
		} else if (strcmp(o, "rw") == 0) {
			v->read_only = false;
		} else if (strcmp(o, "nocopy") == 0) {
			v->nocopy = true;
			v->volume = true;
		} else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0) {
			v->selinux = o[0] == 'z' ? "z" : "Z";
			v->bind = true;
		} else {
			for (size_t i = 0; i < 6; i++) {
				if (strcmp(o, propagations[i]) == 0) {
					v->propagation = propagations[i];
					v->bind = true;
				}
			}
			/* compose ignores options it does not know */
		}
	}
	free(opts);
	return 0;
}

static struct cnode *volume_node(struct cnode_arena *a, const struct cnode *at,
				 const struct volume_spec *v, bool typed)
{
	struct nodes m = {0};
	bool bind = typed && is_file_path(v->source);
	char *target = v->target != NULL && v->target[0] != '\0'
			   ? px_path_clean(v->target)
			   : xstrdup(v->target ? v->target : "");
	struct cnode *out;

	pair(a, &m, "type", konst(a, bind ? "bind" : "volume", at), at);
	if (v->source != NULL)
		pair(a, &m, "source", str(a, v->source, true, at), at);
	pair(a, &m, "target", str(a, target, true, at), at);
	if (v->read_only)
		pair(a, &m, "read_only", konst(a, "true", at), at);
	if (bind || (typed && v->bind)) {
		struct nodes b = {0};

		/* both point to literals (volume_section) */
		if (v->selinux != NULL)
			pair(a, &b, "selinux", lit(a, v->selinux, false, at), at);
		if (v->propagation != NULL)
			pair(a, &b, "propagation", lit(a, v->propagation, false, at), at);
		/* short syntax binds create a missing host path (docker-compose v1's rule) */
		if (bind)
			pair(a, &b, "create_host_path", konst(a, "true", at), at);
		pair(a, &m, "bind", nodes_finish(a, &b, true, at), at);
	}
	if (typed && (!bind || v->volume)) {
		struct nodes b = {0};

		if (v->nocopy)
			pair(a, &b, "nocopy", konst(a, "true", at), at);
		pair(a, &m, "volume", nodes_finish(a, &b, true, at), at);
	}
	free(target);
	out = nodes_finish(a, &m, true, at);
	return out;
}

/* compose-go's format.ParseVolume, then the target cleaned as transform does. */
static int canon_volume(struct cnode_arena *a, const struct cnode *it, struct cnode **out,
			struct px_error *err)
{
	const char *spec = it->value, *why = NULL;
	size_t len = strlen(spec), start = 0;
	struct volume_spec v;
	int rc = 0;

	memset(&v, 0, sizeof(v));
	if (len == 0)
		return cnode_error(err, it,
				   "invalid volume specification \"\": invalid empty volume spec");
	if (len <= 2) {
		v.target = xstrdup(spec);
		*out = volume_node(a, it, &v, false);
		free(v.target);
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		bool end = i == len;

		if (!end && spec[i] == ':' && is_drive_letter(spec + start, i - start))
			continue; /* "C:" is a drive, not a separator */
		if (end || spec[i] == ':') {
			if (volume_section(&v, spec + start, i - start, end, &why) < 0) {
				rc = cnode_error(err, it, "invalid volume specification \"%s\": %s",
						 spec, why);
				goto out;
			}
			start = i + 1;
		}
	}
	*out = volume_node(a, it, &v, true);
out:
	free(v.source);
	free(v.target);
	return rc;
}

/* ---- the other short forms -------------------------------------------------------- */

static struct cnode *one_key(struct cnode_arena *a, const char *key, const struct cnode *val)
{
	struct nodes m = {0};
	struct cnode *v = cnode_clone(a, val);

	v->tag = CNODE_TAG_NONE;
	pair(a, &m, key, v, val);
	return nodes_finish(a, &m, true, val);
}

static struct cnode *string_to_list(struct cnode_arena *a, const struct cnode *n)
{
	struct nodes l = {0};
	struct cnode *v = cnode_clone(a, n);

	v->tag = CNODE_TAG_NONE;
	nodes_push(&l, v);
	return nodes_finish(a, &l, false, n);
}

static int canon_depends_on(struct cnode_arena *a, const struct cnode *d, struct cnode **out,
			    struct px_error *err)
{
	struct nodes m = {0};

	if (d->kind == CNODE_SEQ) {
		for (size_t i = 0; i < d->n; i++) {
			struct cnode *it = d->items[i];
			struct nodes e = {0};
			bool dup = false;

			if (!is_str(it)) {
				nodes_release(&m);
				return cnode_error(err, it,
						   "depends_on entries must be service names");
			}
			for (size_t k = 0; k < m.n; k += 2)
				dup = dup || strcmp(m.v[k]->value, it->value) == 0;
			if (dup)
				continue;
			pair(a, &e, "condition", konst(a, "service_started", it), it);
			pair(a, &e, "required", konst(a, "true", it), it);
			nodes_push(&m, lit(a, it->value, false, it));
			nodes_push(&m, nodes_finish(a, &e, true, it));
		}
		*out = nodes_finish(a, &m, true, d);
		return 0;
	}
	if (d->kind != CNODE_MAP) {
		*out = (struct cnode *)d;
		return 0;
	}
	for (size_t i = 0; i < d->n; i++) {
		struct cnode *k = cnode_key(d, i), *v = cnode_val(d, i);
		struct nodes e = {0};

		if (v->kind != CNODE_MAP) {
			nodes_release(&m);
			return cnode_error(
			    err, v,
			    "depends_on '%s' must be a mapping (condition, required, restart)",
			    k->value);
		}
		for (size_t j = 0; j < 2 * v->n; j++)
			nodes_push(&e, v->items[j]);
		if (cnode_map_get(v, "condition") == NULL)
			pair(a, &e, "condition", konst(a, "service_started", v), v);
		if (cnode_map_get(v, "required") == NULL)
			pair(a, &e, "required", konst(a, "true", v), v);
		nodes_push(&m, k);
		nodes_push(&m, nodes_finish(a, &e, true, v));
	}
	*out = nodes_finish(a, &m, true, d);
	return 0;
}

static struct cnode *env_file_entry(struct cnode_arena *a, struct cnode *it)
{
	struct nodes e = {0};

	if (is_str(it)) {
		pair(a, &e, "path", lit(a, it->value, true, it), it);
		pair(a, &e, "required", konst(a, "true", it), it);
		return nodes_finish(a, &e, true, it);
	}
	if (it->kind == CNODE_MAP && cnode_map_get(it, "required") == NULL) {
		for (size_t j = 0; j < 2 * it->n; j++)
			nodes_push(&e, it->items[j]);
		pair(a, &e, "required", konst(a, "true", it), it);
		return nodes_finish(a, &e, true, it);
	}
	return it;
}

static struct cnode *canon_env_file(struct cnode_arena *a, const struct cnode *ef)
{
	struct nodes l = {0};

	if (is_str(ef)) {
		nodes_push(&l, env_file_entry(a, (struct cnode *)ef));
		l.v[0]->tag = CNODE_TAG_NONE;
		return nodes_finish(a, &l, false, ef);
	}
	if (ef->kind != CNODE_SEQ)
		return (struct cnode *)ef;
	for (size_t i = 0; i < ef->n; i++)
		nodes_push(&l, env_file_entry(a, ef->items[i]));
	return nodes_finish(a, &l, false, ef);
}

static struct cnode *canon_service_networks(struct cnode_arena *a, const struct cnode *nets)
{
	struct nodes m = {0};

	if (nets->kind != CNODE_SEQ)
		return (struct cnode *)nets;
	for (size_t i = 0; i < nets->n; i++) {
		struct cnode *it = nets->items[i];
		bool dup = false;

		if (it->kind != CNODE_SCALAR)
			continue; /* the model reports the wrong type */
		for (size_t k = 0; k < m.n; k += 2)
			dup = dup || strcmp(m.v[k]->value, it->value) == 0;
		if (dup)
			continue;
		nodes_push(&m, lit(a, it->value, false, it));
		nodes_push(&m, konst(a, "", it)); /* null: joined with no options */
	}
	return nodes_finish(a, &m, true, nets);
}

static int canon_device(struct cnode_arena *a, struct cnode *it, struct cnode **out,
			struct px_error *err)
{
	char *copy, *f[3] = {NULL, NULL, NULL}, *save = NULL;
	size_t n = 0;
	struct nodes m = {0};
	const char *colon = it->value;

	for (n = 1; (colon = strchr(colon, ':')) != NULL; colon++)
		n++;
	if (n > 3)
		return cnode_error(err, it, "confusing device mapping, please use long syntax: %s",
				   it->value);
	copy = xstrdup(it->value);
	/* strsep keeps empty fields, as strings.Split does */
	save = copy;
	for (size_t i = 0; i < n; i++)
		f[i] = strsep(&save, ":");
	pair(a, &m, "source", cnode_new_scalar(a, f[0], true, it->mark), it);
	pair(a, &m, "target",
	     cnode_new_scalar(a, n >= 2 && f[1][0] != '\0' ? f[1] : f[0], true, it->mark), it);
	pair(a, &m, "permissions", cnode_new_scalar(a, n == 3 ? f[2] : "rwm", true, it->mark), it);
	free(copy);
	*out = nodes_finish(a, &m, true, it);
	return 0;
}

/* secrets, configs, build.secrets: "name" is {source: name}. */
static struct cnode *canon_file_mounts(struct cnode_arena *a, const struct cnode *l)
{
	struct nodes out = {0};

	if (l->kind != CNODE_SEQ)
		return (struct cnode *)l;
	for (size_t i = 0; i < l->n; i++)
		nodes_push(&out,
			   is_str(l->items[i]) ? one_key(a, "source", l->items[i]) : l->items[i]);
	return nodes_finish(a, &out, false, l);
}

/* "k=v" list into a map (build.additional_contexts). */
static int canon_key_value(struct cnode_arena *a, const struct cnode *l, struct cnode **out,
			   struct px_error *err)
{
	struct nodes m = {0};

	if (l->kind != CNODE_SEQ) {
		*out = (struct cnode *)l;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct cnode *it = l->items[i];
		const char *eq = it->kind == CNODE_SCALAR ? strchr(it->value, '=') : NULL;
		char *k;

		if (eq == NULL) {
			nodes_release(&m);
			return cnode_error(err, it, "invalid value \"%s\", expected key=value",
					   it->kind == CNODE_SCALAR ? it->value : "");
		}
		k = xstrndup(it->value, (size_t)(eq - it->value));
		nodes_push(&m, str(a, k, false, it));
		nodes_push(&m, lit(a, eq + 1, true, it));
		free(k);
	}
	*out = nodes_finish(a, &m, true, l);
	return 0;
}

static int canon_ssh(struct cnode_arena *a, const struct cnode *l, struct cnode **out,
		     struct px_error *err)
{
	struct nodes m = {0};

	if (l->kind != CNODE_SEQ) {
		*out = (struct cnode *)l;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct cnode *it = l->items[i];
		const char *eq;
		char *id;

		if (it->kind != CNODE_SCALAR) {
			nodes_release(&m);
			return cnode_error(err, it, "invalid ssh key: expected a string");
		}
		eq = strchr(it->value, '=');
		if (eq == NULL && strcmp(it->value, "default") != 0) {
			nodes_release(&m);
			return cnode_error(err, it, "invalid ssh key \"%s\"", it->value);
		}
		id =
		    eq != NULL ? xstrndup(it->value, (size_t)(eq - it->value)) : xstrdup(it->value);
		nodes_push(&m, str(a, id, false, it));
		nodes_push(&m, eq != NULL ? lit(a, eq + 1, true, it) : konst(a, "", it));
		free(id);
	}
	*out = nodes_finish(a, &m, true, l);
	return 0;
}

static int canon_build(struct cnode_arena *a, const struct cnode *b, struct cnode **out,
		       struct px_error *err)
{
	struct cnode *c;

	if (is_str(b)) {
		*out = one_key(a, "context", b);
		return 0;
	}
	*out = (struct cnode *)b;
	if (b->kind != CNODE_MAP)
		return 0;
	/* copied only when a value changes (nodes are shared, never modified) */
	c = NULL;
	for (size_t i = 0; i < b->n; i++) {
		const char *k = cnode_key(b, i)->value;
		struct cnode *v = cnode_val(b, i);

		if (strcmp(k, "ssh") == 0 && canon_ssh(a, v, &v, err) < 0)
			return -1;
		if (strcmp(k, "additional_contexts") == 0 && canon_key_value(a, v, &v, err) < 0)
			return -1;
		if (strcmp(k, "secrets") == 0)
			v = canon_file_mounts(a, v);
		if (v == cnode_val(b, i))
			continue;
		if (c == NULL)
			*out = c = cnode_clone(a, b);
		c->items[2 * i + 1] = v;
	}
	return 0;
}

/* develop.watch: an entry whose path is a list stands for one entry per path. */
static struct cnode *canon_develop(struct cnode_arena *a, const struct cnode *dev)
{
	struct cnode *c, **watch;
	struct nodes l = {0};

	if (dev->kind != CNODE_MAP)
		return (struct cnode *)dev;
	c = cnode_clone(a, dev);
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(cnode_key(c, i)->value, "watch") != 0)
			continue;
		watch = &c->items[2 * i + 1];
		if ((*watch)->kind != CNODE_SEQ)
			continue;
		for (size_t k = 0; k < (*watch)->n; k++) {
			struct cnode *w = (*watch)->items[k], *path = cnode_map_get(w, "path");

			if (path == NULL || path->kind != CNODE_SEQ) {
				nodes_push(&l, w);
				continue;
			}
			for (size_t p = 0; p < path->n; p++) {
				struct cnode *copy = cnode_clone(a, w);

				for (size_t j = 0; j < copy->n; j++) {
					if (strcmp(cnode_key(copy, j)->value, "path") == 0)
						copy->items[2 * j + 1] = path->items[p];
				}
				nodes_push(&l, copy);
			}
		}
		*watch = nodes_finish(a, &l, false, *watch);
	}
	return c;
}

static struct cnode *canon_healthcheck(struct cnode_arena *a, const struct cnode *hc)
{
	struct cnode *c;

	if (hc->kind != CNODE_MAP)
		return (struct cnode *)hc;
	c = NULL; /* copied only when a value changes */
	for (size_t i = 0; i < hc->n; i++) {
		struct cnode *t = cnode_val(hc, i);
		struct nodes l = {0};

		if (strcmp(cnode_key(hc, i)->value, "test") != 0 || !is_str(t))
			continue;
		/* a string test runs in the container's shell */
		nodes_push(&l, konst(a, "CMD-SHELL", t));
		nodes_push(&l, lit(a, t->value, true, t));
		if (c == NULL)
			c = cnode_clone(a, hc);
		c->items[2 * i + 1] = nodes_finish(a, &l, false, t);
	}
	return c != NULL ? c : (struct cnode *)hc;
}

static int canon_list_items(struct cnode_arena *a, const struct cnode *l, struct cnode **out,
			    int (*one)(struct cnode_arena *, const struct cnode *, struct cnode **,
				       struct px_error *),
			    struct px_error *err)
{
	struct cnode *c;

	*out = (struct cnode *)l;
	if (l->kind != CNODE_SEQ)
		return 0;
	c = cnode_clone(a, l);
	for (size_t i = 0; i < c->n; i++) {
		if (!is_str(c->items[i]))
			continue;
		if (one(a, c->items[i], &c->items[i], err) < 0)
			return -1;
	}
	*out = c;
	return 0;
}

static int canon_device_cb(struct cnode_arena *a, const struct cnode *it, struct cnode **out,
			   struct px_error *err)
{
	return canon_device(a, (struct cnode *)it, out, err);
}

/* The service keys with a short syntax, sorted for bsearch (a service has a dozen keys,
 * 2,000 services some 24,000: a chain of strcmp() per key cost half a million calls). */
enum service_form {
	FORM_BUILD,
	FORM_DEPENDS_ON,
	FORM_ENV_FILE,
	FORM_EXTENDS,
	FORM_NETWORKS,
	FORM_VOLUMES,
	FORM_DEVICES,
	FORM_FILE_MOUNTS, /* secrets, configs */
	FORM_PORTS,
	FORM_HEALTHCHECK,
	FORM_DEVELOP,
	FORM_STRING_LIST, /* dns, dns_search, tmpfs, label_file */
};

static const struct service_key {
	const char *key;
	enum service_form form;
} service_keys[] = {
    {"build", FORM_BUILD},
    {"configs", FORM_FILE_MOUNTS},
    {"depends_on", FORM_DEPENDS_ON},
    {"develop", FORM_DEVELOP},
    {"devices", FORM_DEVICES},
    {"dns", FORM_STRING_LIST},
    {"dns_search", FORM_STRING_LIST},
    {"env_file", FORM_ENV_FILE},
    {"extends", FORM_EXTENDS},
    {"healthcheck", FORM_HEALTHCHECK},
    {"label_file", FORM_STRING_LIST},
    {"networks", FORM_NETWORKS},
    {"ports", FORM_PORTS},
    {"secrets", FORM_FILE_MOUNTS},
    {"tmpfs", FORM_STRING_LIST},
    {"volumes", FORM_VOLUMES},
};

static int service_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct service_key *)elem)->key);
}

static int canon_service(struct cnode_arena *a, const struct cnode *svc, struct cnode **out,
			 struct px_error *err)
{
	struct cnode *c = cnode_clone(a, svc);

	for (size_t i = 0; i < c->n; i++) {
		const struct service_key *sk =
		    bsearch(cnode_key(c, i)->value, service_keys,
			    sizeof(service_keys) / sizeof(service_keys[0]), sizeof(service_keys[0]),
			    service_key_cmp);
		struct cnode **v = &c->items[2 * i + 1];

		if (sk == NULL || cnode_is_null(*v))
			continue;
		switch (sk->form) {
		case FORM_BUILD:
			if (canon_build(a, *v, v, err) < 0)
				return -1;
			break;
		case FORM_DEPENDS_ON:
			if (canon_depends_on(a, *v, v, err) < 0)
				return -1;
			break;
		case FORM_ENV_FILE:
			*v = canon_env_file(a, *v);
			break;
		case FORM_EXTENDS:
			if (is_str(*v))
				*v = one_key(a, "service", *v);
			break;
		case FORM_NETWORKS:
			*v = canon_service_networks(a, *v);
			break;
		case FORM_VOLUMES:
			if (canon_list_items(a, *v, v, canon_volume, err) < 0)
				return -1;
			break;
		case FORM_DEVICES:
			if (canon_list_items(a, *v, v, canon_device_cb, err) < 0)
				return -1;
			break;
		case FORM_FILE_MOUNTS:
			*v = canon_file_mounts(a, *v);
			break;
		case FORM_PORTS:
			if ((*v)->kind == CNODE_SEQ && canon_ports(a, *v, v, err) < 0)
				return -1;
			break;
		case FORM_HEALTHCHECK:
			*v = canon_healthcheck(a, *v);
			break;
		case FORM_DEVELOP:
			*v = canon_develop(a, *v);
			break;
		case FORM_STRING_LIST:
			if (is_str(*v))
				*v = string_to_list(a, *v);
			break;
		}
	}
	*out = c;
	return 0;
}

/* networks.*, volumes.*, secrets.*, configs.*: external: {name: x} is name: x, external: true. */
static int canon_resource(struct cnode_arena *a, const struct cnode *r, struct cnode **out,
			  struct px_error *err)
{
	struct cnode *ext = cnode_map_get(r, "external"), *name = cnode_map_get(r, "name"),
		     *extname, *c;
	struct nodes m = {0};

	*out = (struct cnode *)r;
	if (r->kind != CNODE_MAP || ext == NULL || ext->kind != CNODE_MAP)
		return 0;
	extname = cnode_map_get(ext, "name");
	if (extname != NULL && name != NULL && strcmp(extname->value, name->value) != 0)
		return cnode_error(err, ext, "name and external.name conflict; only use name");
	c = cnode_clone(a, r);
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(cnode_key(c, i)->value, "external") == 0)
			c->items[2 * i + 1] = konst(a, "true", ext);
	}
	if (extname == NULL || name != NULL) {
		*out = c;
		return 0;
	}
	for (size_t j = 0; j < 2 * c->n; j++)
		nodes_push(&m, c->items[j]);
	pair(a, &m, "name", extname, extname);
	*out = nodes_finish(a, &m, true, r);
	return 0;
}

int compose_canonical(struct cnode_arena *a, const struct cnode *root, struct cnode **out,
		      struct px_error *err)
{
	struct cnode *r;

	if (root->kind != CNODE_MAP)
		return cnode_error(err, root, "top-level object must be a mapping, got a %s",
				   cnode_kind_name(root));
	r = cnode_clone(a, root);
	/* what replaces a node keeps its tag, and nothing adds one: a document without a
	 * tag stays so, and compose_resets_collect() need not search it (node.h) */
	r->flags = root->flags & CNODE_NO_TAG;
	for (size_t i = 0; i < r->n; i++) {
		const char *k = cnode_key(r, i)->value;
		struct cnode **v = &r->items[2 * i + 1], *c;

		if ((*v)->kind != CNODE_MAP &&
		    !(strcmp(k, "include") == 0 && (*v)->kind == CNODE_SEQ))
			continue;
		c = cnode_clone(a, *v);
		if (strcmp(k, "services") == 0) {
			for (size_t s = 0; s < c->n; s++) {
				struct cnode **sv = &c->items[2 * s + 1];

				if ((*sv)->kind == CNODE_MAP && canon_service(a, *sv, sv, err) < 0)
					return -1;
			}
		} else if (strcmp(k, "networks") == 0 || strcmp(k, "volumes") == 0 ||
			   strcmp(k, "secrets") == 0 || strcmp(k, "configs") == 0) {
			for (size_t s = 0; s < c->n; s++) {
				struct cnode **rv = &c->items[2 * s + 1];

				if (canon_resource(a, *rv, rv, err) < 0)
					return -1;
			}
		} else if (strcmp(k, "include") == 0) {
			for (size_t s = 0; s < c->n; s++) {
				if (is_str(c->items[s]))
					c->items[s] = one_key(a, "path", c->items[s]);
			}
		} else {
			continue;
		}
		*v = c;
	}
	*out = r;
	return 0;
}
