/* internal.h - the steps of compose_load() that turn node trees into the model (private to
 * compose/): short syntax to long syntax, and the merged tree to struct compose_project. */
#ifndef PX_COMPOSE_INTERNAL_H
#define PX_COMPOSE_INTERNAL_H

#include "base/base.h"
#include "compose/compose.h"

struct cnode;
struct cnode_arena;
struct interp_env;

struct compose_model_ctx {
	const char *project_dir; /* absolute */
	const char *project_name;
	const struct interp_env
	    *env; /* for env_file contents and `environment: [KEY]`; may be NULL */
	struct compose_strv
	    *warnings; /* append unsupported-key warnings here, once each; may be NULL */
};

/*
 * Rewrite one document of a compose file (already interpolated) into compose-go's
 * canonical long syntax, as its transform/ package does: ports (ranges expanded to one
 * entry per port), volumes, depends_on, env_file, build, extends, networks, devices,
 * secrets, configs, ssh, additional_contexts, develop.watch paths, dns, label_file,
 * external: {name}, include, and healthcheck.test strings (CMD-SHELL).  environment,
 * labels, build.args and extra_hosts keep their list or map form, as compose-go keeps
 * them (the merge and the model accept both).  New nodes carry the mark and the
 * !reset/!override tag of what the user wrote.  *out is a new tree sharing untouched
 * subtrees with root.  Errors read "file:line:col: invalid port specification "x": why".
 */
int compose_canonical(struct cnode_arena *a, const struct cnode *root, struct cnode **out,
		      struct px_error *err);

/*
 * Type the merged canonical tree into p: services (sorted by name), networks and volumes
 * (sorted by key), top-level extensions, unmodelled top-level keys (p->other), and
 * x-prisync or its zero-configuration detection.  p->name, working_dir, config_files and
 * environment are set by the caller.  Casts, defaults, path resolution against
 * ctx->project_dir, env_file reading and validation (unknown keys, wrong types, missing
 * or cyclic dependencies, duplicate published ports, undefined networks and volumes, bad
 * x-prisync references) as compose-go does them; errors carry file:line:col.  On failure
 * p holds nothing of the model (released).
 */
int compose_model_build(struct compose_project *p, const struct cnode *root,
			const struct compose_model_ctx *ctx, struct px_error *err);

/* Free what compose_model_build() set and reset those fields; safe to call twice. */
void compose_project_release_model(struct compose_project *p);

/* compose_map_set() of every entry of src, in order, into dst (a key dst has gets the
 * new value in place, the others are appended; the last of a repeated key wins), in
 * linear time however large the maps.  _move_all takes src's strings and leaves it
 * empty; _set_all copies them. */
void compose_map_move_all(struct compose_map *dst, struct compose_map *src);
void compose_map_set_all(struct compose_map *dst, const struct compose_map *src);

#endif
