/* stack.h - the public header of stack/: the compose model turned into engine objects
 * (later: plan, converge, wait, down).  This slice names and labels them exactly as
 * docker compose does, so compose and prisync can each adopt the other's stack. */
#ifndef PX_STACK_H
#define PX_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/error.h"

/*
 * Ownership: every char * returned here is owned by the caller (free()); inputs are
 * only read.  Names use compose's default separator "-" (compose's --compatibility
 * mode, which switches to "_", is not supported).
 */

/* "<project>-<service>-<number>", the name of a service's container (no
 * container_name: set). */
char *stack_container_name(const char *project, const char *service, int number);

/* "<project>-<service>-run-<suffix>", the name of a one-off (`compose run`) container;
 * compose's suffix is the first 12 hex digits of the container's slug. */
char *stack_oneoff_name(const char *project, const char *service, const char *suffix);

/* "<project>_<network>": a network declared without `name:` (networks and volumes
 * keep compose v1's "_"). */
char *stack_network_name(const char *project, const char *network);

/* "<project>_<volume>": a volume declared without `name:`. */
char *stack_volume_name(const char *project, const char *volume);

/* What compose records on a container it creates.  Strings are borrowed. */
struct stack_label_info {
	const char *project;             /* required */
	const char *service;             /* required */
	int number;                      /* replica number from 1; compose gives one-offs -1 */
	bool oneoff;                     /* created by `run` rather than `up` */
	const char *slug;                /* one-offs only: the 64-hex id, or NULL */
	const char *working_dir;         /* absolute project directory, or NULL */
	const char *const *config_files; /* absolute compose file paths */
	size_t n_config_files;
	const char *config_hash; /* compose's service config hash, or NULL */
	const char *version;     /* the compose version we claim, or NULL */
};

/*
 * Set compose's labels for info in labels (a jansson object; existing keys are
 * replaced, others kept): com.docker.compose.project, .service, .container-number,
 * .oneoff ("True"/"False"), .project.working_dir, .project.config_files
 * (comma-joined, "" for none), .config-hash, .version, and .slug for a one-off with a
 * slug.  An optional string left NULL leaves its label out.  -1 (labels possibly
 * half-filled)
 * when labels is not an object, project or service is missing, or a value is not
 * UTF-8, which JSON cannot carry.
 */
int stack_project_labels(json_t *labels, const struct stack_label_info *info, struct px_error *err);

#endif
