/* cast.h - compose-go's scalar casts in C (private to compose/): YAML 1.2 scalars as
 * go-yaml v3 resolves them, Go durations, docker's byte sizes, go-shellwords splitting,
 * booleans the compose way, and the "did you mean" key suggestion. */
#ifndef PX_COMPOSE_CAST_H
#define PX_COMPOSE_CAST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compose/compose.h"

struct cnode;

/* A plain scalar resolved as go-yaml v3 resolves it (YAML 1.2 core schema plus the 1.1
 * octals it still reads); a quoted or block scalar is always a string. */
enum compose_scalar_type {
	COMPOSE_SCALAR_STRING,
	COMPOSE_SCALAR_NULL,
	COMPOSE_SCALAR_BOOL,
	COMPOSE_SCALAR_INT,
	COMPOSE_SCALAR_FLOAT,
};

struct compose_scalar {
	enum compose_scalar_type type;
	bool b;
	int64_t i;
	double f;
};

void compose_scalar_resolve(const struct cnode *n, struct compose_scalar *out);

/* The text Go's fmt.Sprint gives for the decoded scalar: "1.10" -> "1.1", "0x10" -> "16",
 * "True" -> "true"; strings unchanged.  Owned.  n must be a scalar. */
char *compose_scalar_text(const struct cnode *n);

/* A node as JSON, scalars resolved as above (what `docker compose config --format json`
 * shows for values prisync keeps untyped).  New reference. */
json_t *compose_node_json(const struct cnode *n);

/* compose-go's toBoolean: true/false in any case, and YAML 1.1's y/yes/on and n/no/off,
 * for which *legacy is set (compose warns about them).  -1 when s is none of those. */
int compose_cast_bool(const char *s, bool *out, bool *legacy);

/* An integer: a plain scalar as go-yaml reads it (0x, 0o, 0b, leading-0 octal, '_'
 * separators), a quoted one as strconv.Atoi reads it (decimal with an optional sign).
 * -1 when n is not one. */
int compose_cast_int(const struct cnode *n, int64_t *out);

/* Go's time.ParseDuration ("1m30s", "500ms", "-1.5h", "0").  On failure -1 and *why is
 * Go's message (owned): time: invalid duration "x" / missing unit / unknown unit. */
int compose_cast_duration(const char *s, int64_t *ns, char **why);

/* docker/go-units RAMInBytes: "64m", "1.5g", "512", "2 GiB" with binary multipliers.
 * -1 when malformed. */
int compose_cast_bytes(const char *s, int64_t *out);

/* go-shellwords Parse (no environment, no backticks), which compose uses for string
 * commands: blanks split, quotes group, backslash escapes (\t and \n become TAB and LF).
 * Words are appended to out.  Like shellwords, parsing stops at an unquoted ; & | < or >
 * (*stopped is then set); -1 on an unterminated quote or escape, or a stray parenthesis. */
int compose_shell_split(const char *s, struct compose_strv *out, bool *stopped);

/* The word of words[0..n) closest to word, when at most 2 edits away, else NULL. */
const char *compose_suggest(const char *word, const char *const *words, size_t n);

#endif
