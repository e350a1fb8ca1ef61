/* map.c - the small containers of the compose model: an ordered string map (environment,
 * labels, build args) and a growable string vector (argv, aliases, profiles). */
#include "compose/internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Arrays are allocated to their exact size: struct compose_map and compose_strv have no
 * room for a capacity (a field would break the {NULL, 0} initialisers everywhere), and a
 * model holds thousands of small ones, for which exact sizes are also the smallest.  What
 * would be quadratic on a big map, setting its entries one by one, goes through
 * compose_map_move_all() instead: one allocation and one hash table.
 */

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

/* Up to this many entries in all, a search per entry beats building a table. */
#define MOVE_ALL_LINEAR 32

static size_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of key in slots (1 + index into m->v, 0 empty). */
static size_t *key_slot(size_t *slots, size_t mask, const struct compose_map *m, const char *key)
{
	size_t h = hash_key(key) & mask;

	while (slots[h] != 0 && strcmp(m->v[slots[h] - 1].key, key) != 0)
		h = (h + 1) & mask;
	return &slots[h];
}

/* Give e's value to kv, dst's entry of the same key, or append e (room reserved). */
static void move_entry(struct compose_map *dst, struct compose_kv *kv, struct compose_kv *e)
{
	if (kv != NULL) {
		free(kv->value);
		kv->value = e->value;
		free(e->key);
		return;
	}
	dst->v[dst->n++] = *e;
}

void compose_map_move_all(struct compose_map *dst, struct compose_map *src)
{
	size_t reserved = dst->n + src->n, nslots = 64, mask, *slots, *slot;
	bool shared = false;

	if (src->n == 0) {
		compose_map_release(src);
		return;
	}
	if (dst->n == 0) {
		/* src's array becomes dst's: the entries move into it one by one (a key
		 * seen before gets the new value), so i never falls behind dst->n */
		struct compose_kv *v = src->v;
		size_t n = src->n;

		free(dst->v);
		*dst = (struct compose_map){v, 0};
		*src = (struct compose_map){v, n};
		reserved = n;
		shared = true;
	} else {
		dst->v = xreallocarray(dst->v, reserved, sizeof(*dst->v));
	}
	if (reserved <= MOVE_ALL_LINEAR) {
		for (size_t i = 0; i < src->n; i++)
			move_entry(dst, compose_map_find(dst, src->v[i].key), &src->v[i]);
		goto out;
	}
	while (nslots < 2 * reserved)
		nslots *= 2;
	mask = nslots - 1;
	slots = xcalloc(nslots, sizeof(*slots));
	for (size_t i = 0; i < dst->n; i++) {
		slot = key_slot(slots, mask, dst, dst->v[i].key);
		if (*slot == 0) /* a duplicate in dst: compose_map_find sees the first */
			*slot = i + 1;
	}
	for (size_t i = 0; i < src->n; i++) {
		slot = key_slot(slots, mask, dst, src->v[i].key);
		move_entry(dst, *slot != 0 ? &dst->v[*slot - 1] : NULL, &src->v[i]);
		if (*slot == 0)
			*slot = dst->n;
	}
	free(slots);
out:
	/* fewer entries than reserved: give the rest back (exact sizes, see above) */
	if (dst->n < reserved)
		dst->v = xreallocarray(dst->v, dst->n, sizeof(*dst->v));
	if (!shared)
		free(src->v);
	src->v = NULL;
	src->n = 0;
}

void compose_map_set_all(struct compose_map *dst, const struct compose_map *src)
{
	struct compose_map copy = {NULL, 0};

	if (src->n == 0)
		return;
	copy.v = xreallocarray(NULL, src->n, sizeof(*copy.v));
	for (size_t i = 0; i < src->n; i++) {
		copy.v[i].key = xstrdup(src->v[i].key);
		copy.v[i].value = src->v[i].value != NULL ? xstrdup(src->v[i].value) : NULL;
	}
	copy.n = src->n;
	compose_map_move_all(dst, &copy);
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
