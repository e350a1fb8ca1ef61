/* node.h - compose files as YAML node trees (private to compose/): libyaml's parser turned
 * into nodes that keep file:line:column, with anchors, aliases and `<<` merge keys resolved
 * and the !reset / !override tags recorded for the merge step. */
#ifndef PX_COMPOSE_NODE_H
#define PX_COMPOSE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

/*
 * Memory: every node and string of a load lives in one arena, freed at once by
 * cnode_arena_free().  Nodes are immutable once built: transformations (interpolation,
 * merge, extends) build new nodes and may share unchanged subtrees, so an alias is just a
 * second pointer to the same node.  Never modify a node you did not just create.
 */
struct cnode_arena;

struct cnode_arena *cnode_arena_new(void);
void cnode_arena_free(struct cnode_arena *a); /* NULL-safe */
void *cnode_alloc(struct cnode_arena *a, size_t size); /* zeroed, 16-byte aligned */
char *cnode_strndup(struct cnode_arena *a, const char *s, size_t len);
char *cnode_strdup(struct cnode_arena *a, const char *s);

enum cnode_kind {
	CNODE_SCALAR,
	CNODE_SEQ,
	CNODE_MAP,
};

enum cnode_tag {
	CNODE_TAG_NONE,     /* no tag, or a standard one (!!str, !!int, ...) */
	CNODE_TAG_RESET,    /* !reset: the merge removes the value (or resets it to this one) */
	CNODE_TAG_OVERRIDE, /* !override: the merge replaces instead of merging */
};

struct cnode_mark {
	const char *file; /* arena string */
	unsigned line;    /* 1-based */
	unsigned col;     /* 1-based */
};

/* The longest scalar a node holds (len is 32 bits, see struct cnode). */
#define CNODE_MAX_LEN ((size_t)UINT32_MAX)

/* struct cnode.flags: what the parser knows of a node and of everything below it, so
 * that a walk over the whole tree (interpolation, !reset search) skips what it cannot
 * change: for 2,000 services, 150,000 nodes of which a few thousand matter.  The parser
 * sets them; other constructors and cnode_clone() leave 0 (unknown), but a
 * transformation that adds no tag (interpolation, canonicalisation) may keep
 * CNODE_NO_TAG on its copy of a node. */
enum {
	CNODE_NO_DOLLAR = 1 << 0, /* no scalar below holds a '$' */
	CNODE_NO_TAG = 1 << 1,    /* no !reset / !override below, nor on the node itself */
};

/*
 * 40 bytes on 64-bit systems (kind, tag, quoted, flags and len share the first 8), and a
 * collection's items follow it in the same block: a load of 2,000 services builds some
 * 180,000 nodes, and a separate items pointer cost 1.5 MiB more (issue 3: < 20 MiB).
 * A node's items cannot be replaced by another array, nor grow past what its
 * constructor made room for; a scalar's are empty (n == 0).
 */
struct cnode {
	enum cnode_kind kind : 8;
	enum cnode_tag tag : 8;
	/* scalars: written quoted ('', "") or as a block (|, >) — then it is always a string,
	 * never null, a boolean or a number */
	bool quoted;
	uint8_t flags;          /* CNODE_NO_* */
	uint32_t len;           /* scalars: length of value (values may not contain NUL) */
	const char *value;      /* scalars: NUL-terminated text (arena, or static: never freed) */
	size_t n;               /* SEQ: elements; MAP: pairs; scalars: 0 */
	struct cnode_mark mark; /* where the node starts */
	struct cnode *items[];  /* SEQ: n elements; MAP: 2*n entries, key then value */
};

/* Limits against hostile input. */
struct cnode_limits {
	size_t max_expanded_nodes; /* nodes counted with aliases expanded (alias bombs); default 1,000,000 */
	size_t max_depth;          /* nesting depth; default 256 */
	size_t max_scalar_len;     /* bytes of one scalar; default 1 MiB (no compose value is near it) */
};
#define CNODE_LIMITS_DEFAULT ((struct cnode_limits){1000000, 256, 1u << 20})

/*
 * Parse every document of text (YAML 1.1 through libyaml's parser API) into *docs
 * (arena array of *ndocs roots; an empty document gives an empty MAP).  Resolves anchors
 * and aliases (shared nodes), `<<` merge keys (a map or a sequence of maps; explicit keys
 * win, earlier maps in the list win over later ones), records !reset/!override, rejects
 * duplicate keys in a mapping ("mapping key 'x' already defined at line N"), invalid UTF-8,
 * non-scalar keys, and input past the limits.  Errors read
 * "<file>:<line>:<col>: <what is wrong>".
 */
int cnode_parse(struct cnode_arena *a, const char *file, const char *text, size_t len,
		const struct cnode_limits *limits, struct cnode ***docs, size_t *ndocs,
		struct px_error *err);
/* Read path and parse it; the file name in marks and errors is path as given. */
int cnode_parse_file(struct cnode_arena *a, const char *path, const struct cnode_limits *limits,
		     struct cnode ***docs, size_t *ndocs, struct px_error *err);

/* Constructors (arena): new nodes for transformations. */
struct cnode *cnode_new_scalar(struct cnode_arena *a, const char *value, bool quoted,
			       struct cnode_mark mark);
/* The same without copying value, which must live as long as the node: a string literal,
 * or a string of the same arena (another node's value: nodes never change). */
struct cnode *cnode_new_scalar_ref(struct cnode_arena *a, const char *value, bool quoted,
				   struct cnode_mark mark);
struct cnode *cnode_new_seq(struct cnode_arena *a, size_t n, struct cnode_mark mark);
struct cnode *cnode_new_map(struct cnode_arena *a, size_t npairs, struct cnode_mark mark);
/* A plain scalar of literal (a string literal) that every caller in a shares: long
 * syntax built by transformations repeats the same keys and values thousands of times
 * ({type: volume, source, target} for every volume: 47,000 nodes for 2,000 services).
 * Its mark is the first caller's, so only use it for a key or a value that is always
 * valid where it is put: no message may point at it. */
struct cnode *cnode_shared_scalar(struct cnode_arena *a, const char *literal,
				  struct cnode_mark mark);
/* A shallow copy (same children) that may then be modified. */
struct cnode *cnode_clone(struct cnode_arena *a, const struct cnode *n);

/* Queries. */
bool cnode_is_null(const struct cnode *n);  /* NULL pointer, or plain "", "~", "null", "Null", "NULL" */
/* Key/value of pair i of a MAP. */
static inline struct cnode *cnode_key(const struct cnode *map, size_t i)
{
	return map->items[2 * i];
}
static inline struct cnode *cnode_val(const struct cnode *map, size_t i)
{
	return map->items[2 * i + 1];
}
/* The value of key in a MAP, or NULL (also when n is not a map).  Inline: typing 2,000
 * services asks it 100,000 times, nearly always of a literal key whose length the
 * compiler then knows. */
static inline struct cnode *cnode_map_get(const struct cnode *map, const char *key)
{
	size_t klen;

	if (map == NULL || map->kind != CNODE_MAP || key == NULL)
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const struct cnode *k = cnode_key(map, i);

		if (k->kind == CNODE_SCALAR && k->len == klen && k->value[0] == key[0] &&
		    memcmp(k->value, key, klen) == 0)
			return cnode_val(map, i);
	}
	return NULL;
}
/* "mapping", "sequence", "string" ... for error messages ("expected a mapping, got a sequence"). */
const char *cnode_kind_name(const struct cnode *n);

/* Set err to "<file>:<line>:<col>: <message>" at n's mark.  Returns -1. */
int cnode_error(struct px_error *err, const struct cnode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
