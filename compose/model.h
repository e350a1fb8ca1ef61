/* model.h - what model.c, service.c and prisync.c share while they type the canonical
 * tree into struct compose_project (private to compose/): the build state, located
 * errors and warnings, and readers for each kind of field compose-go decodes. */
#ifndef PX_COMPOSE_MODEL_H
#define PX_COMPOSE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "compose/internal.h"

struct cnode;

struct model_build {
	struct compose_project *p;
	const struct compose_model_ctx *ctx;
	struct px_error *err;
	struct compose_strv warned; /* warning keys already given (each warning once per load) */
	const char *last_file;      /* the last mark file interned, and its copy in p */
	const char *last_copy;
	struct model_memo *memo; /* a pointer: the readers that take a const b use it too */
};

/* What the build remembers so that 2,000 services do not redo the same work. */
struct model_memo {
	/* compose_model_json(): direct-mapped by node address */
	struct {
		const struct cnode *node;
		json_t *json;
	} json[64];
	/* compose_model_abs_path(): the last relative path and its result ("./src" in
	 * every service: 2,300 instructions each to join and clean) */
	char *rel, *abs;
};

/* a, b and c joined (owned): what xasprintf("%s%s%s", ...) gives, for the names and
 * "service 'x'" contexts made thousands of times a load, without its format machinery. */
char *compose_join3(const char *a, const char *b, const char *c);

/* n's mark with the file name copied into p->mark_files (marks outlive the node arena). */
struct compose_mark compose_model_mark(struct model_build *b, const struct cnode *n);

/* Set b->err to "file:line:col: <where>: <message>" at n (where may be NULL).  Returns -1. */
int compose_model_fail(struct model_build *b, const struct cnode *n, const char *where,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Append a warning to ctx->warnings unless one with the same once_key was given in this
 * load (once_key NULL: the message itself). */
void compose_model_warn(struct model_build *b, const char *once_key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of name in the interpolation environment (.env, --env-file, shell), or NULL. */
const char *compose_model_lookup(const struct model_build *b, const char *name);

/* A host path as compose resolves it: ~ expanded, relative paths joined to the project
 * directory (then cleaned); absolute paths kept as written.  Owned. */
char *compose_model_abs_path(const struct model_build *b, const char *path);

/* "a list", "a mapping", "null", "a string", "a number", "a boolean": for messages. */
const char *compose_model_kind_word(const struct cnode *n);

/*
 * Field readers.  n is the value under key (NULL or null: the field is absent and *out is
 * left alone).  Errors name the field: "<where>: '<key>' must be a list, got a mapping".
 */
int compose_field_string(struct model_build *b, const char *where, const char *key,
			 const struct cnode *n, char **out);
int compose_field_bool(struct model_build *b, const char *where, const char *key,
		       const struct cnode *n, bool *out);
int compose_field_tristate(struct model_build *b, const char *where, const char *key,
			   const struct cnode *n, int *out); /* -1 unset, 0, 1 */
int compose_field_int(struct model_build *b, const char *where, const char *key,
		      const struct cnode *n, int64_t *out);
int compose_field_duration(struct model_build *b, const char *where, const char *key,
			   const struct cnode *n, int64_t *out);
/* A list of strings (numbers as Go prints them); a single string too when allow_string. */
int compose_field_strlist(struct model_build *b, const char *where, const char *key,
			  const struct cnode *n, bool allow_string, struct compose_strv *out);
/* A command: a string split like go-shellwords, or a list.  *has tells absent (null)
 * from empty. */
int compose_field_command(struct model_build *b, const char *where, const char *key,
			  const struct cnode *n, bool *has, struct compose_strv *out);

enum compose_map_style {
	COMPOSE_MAP_EQUALS, /* "KEY" and KEY: null have no value (NULL) — environment, args */
	COMPOSE_MAP_LABELS, /* "KEY" and KEY: null are "" — labels, driver_opts */
};
/* A list of "k=v" strings or a mapping, into out (later entries replace earlier ones). */
int compose_field_map(struct model_build *b, const char *where, const char *key,
		      const struct cnode *n, enum compose_map_style style, struct compose_map *out);

/* Every key of map must be one of known[0..n) or start with "x-"; otherwise
 * "<where>: unknown key 'k' in '<section>' (did you mean 'x'?)" (section NULL: omitted). */
int compose_check_keys(struct model_build *b, const char *where, const char *section,
		       const struct cnode *map, const char *const *known, size_t n);

/* x-* keys of map as a JSON object, or NULL when there are none. */
json_t *compose_model_extensions(const struct cnode *map);

/* compose_node_json(n) (a new reference), the same JSON value for the same node: services
 * that take a block from one x- anchor (`<<: *common`) share its nodes, and so their
 * untyped values (logging: ...) share one JSON value instead of a copy each — 1.7 MiB and
 * 1.5 ms for 2,000 services.  Such values are read-only, as all of the model. */
json_t *compose_model_json(const struct model_build *b, const struct cnode *n);

/* One service; out is zeroed by the caller.  service.c */
int compose_model_service(struct model_build *b, const struct cnode *key, const struct cnode *svc,
			  struct compose_service *out);
void compose_service_release(struct compose_service *s);

/* x-prisync (block may be NULL: zero configuration); needs services built.  prisync.c */
int compose_model_prisync(struct model_build *b, const struct cnode *block);
void compose_prisync_release(struct compose_prisync *x);

#endif
