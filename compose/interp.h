/* interp.h - compose variable interpolation ($VAR, ${VAR:-default}, ${VAR:?error} ...)
 * exactly as compose-go v2's template package does it, for strings and node trees. */
#ifndef PX_COMPOSE_INTERP_H
#define PX_COMPOSE_INTERP_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "compose/node.h"

/* The value of variable name (borrowed, used at once), or NULL when it is unset. */
typedef const char *(*interp_lookup_fn)(void *data, const char *name);

struct interp_env {
	interp_lookup_fn lookup; /* NULL: every variable is unset */
	void *data;
	/* called once per use of an unset variable without default; may be NULL */
	void (*on_unset)(void *data, const char *name);
};

/*
 * Interpolate in into *out (owned, malloc'd; NULL on failure).  env may be NULL.
 * The grammar is compose-go's: "$$" is "$"; $NAME and ${NAME} with NAME
 * [_a-zA-Z][_a-zA-Z0-9]*; ${NAME:-d} ${NAME-d} ${NAME:+a} ${NAME+a} ${NAME:?e} ${NAME?e},
 * where the operator right after the name wins, d, a and e are templates themselves,
 * interpolated only when used, and braces inside them are counted (${X:-{"a":1}}).
 * A "$" that starts nothing ("a $ b", "$}", a final "$") stays as it is.
 * Errors, without location:
 *   invalid interpolation format for "${ foo}"      (the template compose-go names)
 *   required variable FOO is missing a value: msg   (": msg" only when msg is not empty)
 *   interpolation nested more than 64 levels deep in "..."   (compose-go has no limit)
 */
int interp_string(const char *in, const struct interp_env *env, char **out, struct px_error *err);

/*
 * A new tree in which every scalar VALUE is interpolated; map keys never are (compose's
 * rule).  Untouched subtrees and scalars are shared with in; a changed scalar is a new
 * node with the same mark and tag, always quoted (a string: compose-go types YAML before
 * it interpolates, so "${UNSET}" is "" and never null).  Errors read
 * "<file>:<line>:<col>: <interp_string error>" at the scalar.
 */
int interp_tree(struct cnode_arena *a, const struct cnode *in, const struct interp_env *env,
		struct cnode **out, struct px_error *err);

/* Shared with dotenv.c. */

/* Decode the UTF-8 character at s (n > 0 bytes available) as Go does: *r is the code
 * point, or U+FFFD for an invalid or truncated sequence, which then counts 1 byte.
 * Returns the number of bytes used. */
size_t interp_utf8_decode(const char *s, size_t n, uint32_t *r);

/* Append s[0, len) quoted as Go's %q would ("a\"b\n"); longer than max bytes, it is cut
 * at a character boundary and "..." follows the closing quote. */
void interp_quote(struct px_buf *b, const char *s, size_t len, size_t max);

#endif
