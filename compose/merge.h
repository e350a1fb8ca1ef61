/* merge.h - merging compose trees as compose-go's override package merges them (private to
 * compose/): override files and documents, !reset / !override, include and extends. */
#ifndef PX_COMPOSE_MERGE_H
#define PX_COMPOSE_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "compose/compose.h"
#include "compose/node.h"

struct interp_env;

/*
 * Merge override onto base, two canonical top-level documents, with compose-go's rules:
 * mappings merge key by key, sequences append, scalars are replaced, and the special
 * rules of its override package apply at their paths (command, entrypoint and
 * healthcheck.test are replaced; environment, labels, build.args, dns, env_file, tmpfs
 * ... become "k=v" sequences and append; depends_on and networks merge by name; logging
 * options merge only for the same driver; ulimits are replaced; extra_hosts drop repeats;
 * ipam.config merges by subnet; x-* keys are replaced, at any level).  A value tagged !reset
 * in override removes it from the result; one tagged !override replaces base's.  The
 * result then keeps one entry per key in the sequences compose deduplicates (ports by
 * host ip/published/target/protocol, volumes by target, environment and labels by name,
 * ...; the last definition wins, at the first one's place).  A mapping or sequence
 * overridden by a value of another kind is an error at the override's mark:
 * "cannot override 'services.app.ports': ...".  *out shares subtrees with both inputs.
 */
int compose_merge(struct cnode_arena *a, const struct cnode *base, const struct cnode *override,
		  struct cnode **out, struct px_error *err);

/* The paths of a document's !reset / !override tags.  The loader collects them before
 * include and extends rewrite the document and removes them from the tree merged so far
 * just before the document is merged onto it (compose-go's ResetProcessor). */
struct compose_resets {
	const char ***paths; /* arena: each a vector of keys from the document root */
	size_t *depths;
	size_t n;
	bool tagged; /* the document has a tag anywhere (also inside sequences) */
};

void compose_resets_collect(struct cnode_arena *a, const struct cnode *doc,
			    struct compose_resets *out);

/* compose_merge() of a document whose tags were collected in resets beforehand, without
 * the deduplication: "one entry per key, the last definition at the first one's place"
 * gives the same result once at the end as after every merge, so a loader merging many
 * documents runs compose_unicity() once. */
int compose_merge_with_resets(struct cnode_arena *a, const struct cnode *base,
			      const struct cnode *override, const struct compose_resets *resets,
			      struct cnode **out, struct px_error *err);

/* compose_merge() of two values found at path (depth keys from the document root, e.g.
 * {"services", "web"}), with the rules that apply there; no deduplication.  extends
 * merges an extending service onto its base this way (base: the extended service). */
int compose_merge_at(struct cnode_arena *a, const struct cnode *base, const struct cnode *override,
		     const char *const *path, size_t depth, struct cnode **out,
		     struct px_error *err);

/* compose-go's EnforceUnicity on a whole document (see compose_merge). */
int compose_unicity(struct cnode_arena *a, const struct cnode *root, struct cnode **out,
		    struct px_error *err);

/* True when a and b hold the same data (mappings in any key order; tags ignored). */
bool compose_node_equal(const struct cnode *a, const struct cnode *b);

/* ---- The loader (load.c, include.c) --------------------------------------------------- */

#define COMPOSE_LOAD_NO_INCLUDE 0x1u
#define COMPOSE_LOAD_NO_EXTENDS 0x2u

struct compose_extends_file; /* a file read for extends.file (include.c) */

/* What every loader of one compose_load() shares. */
struct compose_load_shared {
	struct compose_extends_file **extends_files; /* each read once per load */
	size_t nextends_files;
	bool merged; /* a document went onto another, or include / extends rewrote one */
};

void compose_load_shared_release(struct compose_load_shared *s);

/* What loading one project (the main one, or one pulled in by include) needs. */
struct compose_loader {
	struct cnode_arena *arena;
	struct cnode_limits limits;
	const struct interp_env *env;          /* interpolation of this project's files */
	const struct compose_map *environment; /* the same variables, as a map */
	const char *working_dir;               /* absolute: relative include / extends paths */
	struct compose_strv *config_files;     /* every file read, once each, in reading order */
	struct compose_strv *warnings;         /* unset variables, ... (once each) */
	const char **include_chain;            /* files including this project, outermost first */
	size_t ninclude_chain;
	struct compose_load_shared *shared;
};

/* The interpolation environment of a project: its variables, and the warning given
 * once for each unset one ("The "X" variable is not set. Defaulting to a blank string."). */
struct compose_loader_env {
	const struct compose_map *vars;
	struct compose_strv *warnings; /* may be NULL */
};

void compose_loader_env_init(struct interp_env *ie, struct compose_loader_env *data,
			     const struct compose_map *vars, struct compose_strv *warnings);

/* Read env files in order into out as compose-go's GetEnvFromFile does: ${VAR} in a value
 * sees current first, then what the files before it defined; a later file wins.  A file
 * that does not exist is an error when explicit (--env-file, include env_file), else
 * skipped. */
int compose_loader_read_env_files(const struct compose_map *current, char *const *files,
				  size_t nfiles, bool explicit, struct compose_map *out,
				  struct px_error *err);

/* compose_load() up to the merged canonical tree (nodes in a): sets p->name, working_dir,
 * environment, config_files and the warnings so far; compose_model_build() does the rest. */
int compose_load_tree(struct cnode_arena *a, const struct compose_project_ref *ref,
		      const struct compose_options *o, struct compose_project *p,
		      struct cnode **out, struct px_error *err);

/* Merge the documents of path onto *tree (an empty mapping to start with), each one
 * interpolated, canonicalised, its include imported and its services' extends resolved
 * (unless flags say otherwise). */
int compose_loader_load_file(struct compose_loader *l, const char *path, unsigned flags,
			     struct cnode **tree, struct px_error *err);

/* compose_loader_load_file() for documents already parsed from file. */
int compose_loader_merge_docs(struct compose_loader *l, const char *file, struct cnode **docs,
			      size_t ndocs, unsigned flags, struct cnode **tree,
			      struct px_error *err);

/* Record path in l->config_files unless it is there already. */
void compose_loader_note_file(struct compose_loader *l, const char *path);

/* Import the projects a document's top-level include: names into *doc (include.c):
 * their services, networks, volumes, secrets and configs, loaded with their own project
 * directory and .env, relative paths made absolute against it; a name *doc defines
 * differently is an error, as is an include cycle.  The include key goes. */
int compose_include_apply(struct compose_loader *l, const char *file, struct cnode **doc,
			  struct px_error *err);

/* Resolve services.*.extends of a document read from file (include.c): the base service
 * (same file, or extends.file with its relative paths rebased onto its own directory),
 * extended recursively, with the extending service merged onto it; cycles are errors. */
int compose_extends_apply(struct compose_loader *l, const char *file, struct cnode **doc,
			  struct px_error *err);

/* Relative paths of a document's services (build contexts, env_file, bind mounts,
 * develop.watch paths, extends.file, label_file) and top-level secrets / configs files
 * made absolute against dir, '~' expanded; URLs and absolute paths are kept. */
struct cnode *compose_rebase_paths(struct cnode_arena *a, const struct cnode *doc, const char *dir);

#endif
