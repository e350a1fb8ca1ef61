/* map.c - the small containers of the compose model: an ordered string map (environment,
 * labels, build args) and a growable string vector (argv, aliases, profiles). */
#include "compose/compose.h"

#include <stdlib.h>
#include <string.h>

struct compose_kv *compose_map_find(const struct compose_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	}
	return NULL;
}

const char *compose_map_get(const struct compose_map *m, const char *key)
{
	const struct compose_kv *kv = compose_map_find(m, key);

	return kv != NULL ? kv->value : NULL;
}

void compose_map_set(struct compose_map *m, const char *key, const char *value)
{
	struct compose_kv *kv = compose_map_find(m, key);
	/* copy first: value may point into the entry being replaced */
	char *copy = value != NULL ? xstrdup(value) : NULL;

	if (kv != NULL) {
		free(kv->value);
		kv->value = copy;
		return;
	}
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	m->v[m->n].key = xstrdup(key);
	m->v[m->n].value = copy;
	m->n++;
}

void compose_map_release(struct compose_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void compose_strv_push(struct compose_strv *v, const char *s)
{
	v->v = xreallocarray(v->v, v->n + 1, sizeof(*v->v));
	v->v[v->n++] = xstrdup(s);
}

void compose_strv_release(struct compose_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}
