/* node.h - compose files as YAML node trees (private to compose/): libyaml's parser turned
 * into nodes that keep file:line:column, with anchors, aliases and `<<` merge keys resolved
 * and the !reset / !override tags recorded for the merge step. */
#ifndef PX_COMPOSE_NODE_H
#define PX_COMPOSE_NODE_H

#include <stdbool.h>
#include <stddef.h>

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

struct cnode {
	enum cnode_kind kind;
	enum cnode_tag tag;
	/* scalars: written quoted ('', "") or as a block (|, >) — then it is always a string,
	 * never null, a boolean or a number */
	bool quoted;
	const char *value; /* scalars: NUL-terminated text (arena) */
	size_t len;        /* scalars: length of value (values may not contain NUL) */
	struct cnode **items; /* SEQ: n elements; MAP: 2*n entries, key then value */
	size_t n;
	struct cnode_mark mark; /* where the node starts */
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
struct cnode *cnode_new_seq(struct cnode_arena *a, size_t n, struct cnode_mark mark);
struct cnode *cnode_new_map(struct cnode_arena *a, size_t npairs, struct cnode_mark mark);
/* A shallow copy (same children) that may then be modified. */
struct cnode *cnode_clone(struct cnode_arena *a, const struct cnode *n);

/* Queries. */
bool cnode_is_null(const struct cnode *n);  /* NULL pointer, or plain "", "~", "null", "Null", "NULL" */
/* The value of key in a MAP, or NULL (also when n is not a map). */
struct cnode *cnode_map_get(const struct cnode *map, const char *key);
/* Key/value of pair i of a MAP. */
static inline struct cnode *cnode_key(const struct cnode *map, size_t i)
{
	return map->items[2 * i];
}
static inline struct cnode *cnode_val(const struct cnode *map, size_t i)
{
	return map->items[2 * i + 1];
}
/* "mapping", "sequence", "string" ... for error messages ("expected a mapping, got a sequence"). */
const char *cnode_kind_name(const struct cnode *n);

/* Set err to "<file>:<line>:<col>: <message>" at n's mark.  Returns -1. */
int cnode_error(struct px_error *err, const struct cnode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
