/* compose.h - the public header of compose/: which compose files make up a project,
 * where its directory is and what it is called, resolved the way docker compose does. */
#ifndef PX_COMPOSE_H
#define PX_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

/* The global flags every command takes, as given (nothing resolved yet). */
struct compose_options {
	char **files; /* -f/--file, in order; owned */
	size_t nfiles;
	char **env_files; /* --env-file, in order; owned */
	size_t nenv_files;
	char *project_name;      /* -p/--project-name, or NULL; owned */
	char *project_directory; /* --project-directory, or NULL; owned */
};

/* The project the options and the environment point at. */
struct compose_project_ref {
	char **files; /* absolute compose file paths, in merge order; owned */
	size_t nfiles;
	char *directory; /* absolute project directory; owned */
	char *name;      /* valid project name; owned */
};

void compose_options_init(struct compose_options *o);
void compose_options_add_file(struct compose_options *o, const char *path);
void compose_options_add_env_file(struct compose_options *o, const char *path);
void compose_options_release(struct compose_options *o);

/* Resolve the files, directory and name:
 *   files: -f (repeatable), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR, default
 *          ':'), else the first of compose.yaml, compose.yml, docker-compose.yml,
 *          docker-compose.yaml found in cwd or its nearest parent that has one, followed
 *          by its override file (compose.override.yaml for compose.yaml, ...);
 *   directory: --project-directory, else the directory of the first file;
 *   name: -p, else COMPOSE_PROJECT_NAME (both must already be valid), else the
 *         directory's base name, normalised.
 * "-" as a file means standard input and is kept as "-".
 * Every file named by -f or COMPOSE_FILE must exist: the error names it.
 * ref is released by compose_project_ref_release(). */
int compose_project_resolve(struct compose_project_ref *ref, const struct compose_options *o,
			    const char *cwd, struct px_error *err);
void compose_project_ref_release(struct compose_project_ref *ref);

/* docker compose's rule: lowercase, keep only [a-z0-9_-], drop leading '_' and '-'.
 * Returns an owned string, possibly empty. */
char *compose_project_name_normalize(const char *raw);

/* True when name is a valid explicit project name: non-empty, [a-z0-9_-] only,
 * starting with a letter or digit. */
bool compose_project_name_valid(const char *name);

#endif
