/* compose.h - the public header of compose/: which compose files make up a project,
 * where its directory is and what it is called, resolved the way docker compose does. */
#ifndef PX_COMPOSE_H
#define PX_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/base.h"

/* The global flags every command takes, as given (nothing resolved yet). */
struct compose_options {
	char **files; /* -f/--file, in order; owned */
	size_t nfiles;
	char **env_files; /* --env-file, in order; owned */
	size_t nenv_files;
	char **profiles; /* --profile, in order; owned (each may be a comma list) */
	size_t nprofiles;
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
void compose_options_add_profile(struct compose_options *o, const char *name);
void compose_options_release(struct compose_options *o);

/* Resolve the files, directory and name:
 *   files: -f (repeatable), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR, default
 *          ':'), else the first of compose.yaml, compose.yml, docker-compose.yml,
 *          docker-compose.yaml found in --project-directory (else cwd) or its nearest
 *          parent that has one, followed
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


/* ---- The model: a loaded, interpolated, merged and validated project ---------------- */

#include <jansson.h>
#include <stdint.h>

/* Where a model element came from, for error messages; file is owned by the project. */
struct compose_mark {
	const char *file;
	unsigned line, col;
};

struct compose_strv {
	char **v; /* owned */
	size_t n;
};

/* An ordered string map (environment, labels, build args ...). */
struct compose_kv {
	char *key;
	char *value; /* NULL: present without a value (environment "KEY" to be read at run time) */
};
struct compose_map {
	struct compose_kv *v;
	size_t n;
};

/* The value of key, or NULL when absent (also when present without a value: use
 * compose_map_find to tell the two apart). */
const char *compose_map_get(const struct compose_map *m, const char *key);
struct compose_kv *compose_map_find(const struct compose_map *m, const char *key);
/* Insert or replace (copies key and value; value may be NULL). */
void compose_map_set(struct compose_map *m, const char *key, const char *value);
void compose_map_release(struct compose_map *m);
void compose_strv_push(struct compose_strv *v, const char *s);
void compose_strv_release(struct compose_strv *v);

struct compose_build {
	char *context;    /* absolute when local; URLs (git, http) kept as written */
	char *dockerfile; /* default "Dockerfile" */
	char *dockerfile_inline;
	struct compose_map args;
	char *target;
	struct compose_map labels;
	struct compose_strv cache_from;
	char *network;
	json_t *other; /* valid build keys prisync does not model (ssh, tags, ...), kept for config */
	struct compose_mark mark;
};

struct compose_port {
	char *name;
	char *host_ip;   /* NULL: all interfaces */
	char *published; /* NULL: not published / ephemeral; "8080" or a range "8080-8081" */
	unsigned target;
	char *protocol; /* "tcp" (default), "udp", "sctp" */
	char *mode;     /* "ingress" (default) or "host" */
	char *app_protocol;
	struct compose_mark mark;
};

enum compose_mount_type {
	COMPOSE_MOUNT_VOLUME,
	COMPOSE_MOUNT_BIND,
	COMPOSE_MOUNT_TMPFS,
	COMPOSE_MOUNT_NPIPE,
	COMPOSE_MOUNT_CLUSTER,
	COMPOSE_MOUNT_IMAGE,
};

struct compose_mount {
	enum compose_mount_type type;
	char *source; /* bind: absolute host path; volume: volume key (NULL: anonymous) */
	char *target;
	bool read_only;
	char *consistency;
	bool bind_create_host_path; /* short syntax binds create the host path (compose's rule) */
	char *bind_propagation;
	char *bind_selinux;
	bool volume_nocopy;
	char *volume_subpath;
	bool volume_options; /* a volume: block was given (the short syntax always has one):
			      * config prints "volume: {}" even when it is empty */
	int64_t tmpfs_size; /* bytes; -1 unset */
	int64_t tmpfs_mode; /* -1 unset */
	struct compose_mark mark;
};

enum compose_dep_condition {
	COMPOSE_DEP_STARTED,   /* service_started (the list form's meaning) */
	COMPOSE_DEP_HEALTHY,   /* service_healthy */
	COMPOSE_DEP_COMPLETED, /* service_completed_successfully */
};

struct compose_dep {
	char *service;
	enum compose_dep_condition condition;
	bool restart;  /* default false */
	bool required; /* default true */
	struct compose_mark mark;
};

struct compose_healthcheck {
	bool present;
	bool disable;             /* disable: true, or test: ["NONE"] */
	struct compose_strv test; /* test[0] is "CMD", "CMD-SHELL" or "NONE"; a string test becomes CMD-SHELL */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* -1 unset */
	int64_t retries;                                                     /* -1 unset */
	struct compose_mark mark;
};

struct compose_service_network {
	char *key; /* the network's key in the top-level networks (e.g. "default") */
	struct compose_strv aliases;
	char *ipv4_address;
	char *ipv6_address;
	int64_t priority; /* 0 unset */
	struct compose_mark mark;
};

enum compose_watch_action {
	COMPOSE_WATCH_SYNC,
	COMPOSE_WATCH_REBUILD,
	COMPOSE_WATCH_RESTART,
	COMPOSE_WATCH_SYNC_RESTART,
	COMPOSE_WATCH_SYNC_EXEC,
};

struct compose_watch {
	enum compose_watch_action action;
	char *path;   /* absolute */
	char *target; /* in the container; NULL for rebuild/restart */
	struct compose_strv ignore;
	struct compose_strv include;
	bool initial_sync;
	struct compose_strv exec_command; /* sync+exec: exec.command */
	char *exec_user;
	struct compose_map exec_environment;
	struct compose_mark mark;
};

struct compose_env_file {
	char *path; /* absolute */
	bool required; /* default true */
	char *format;
};

struct compose_service {
	char *name;
	struct compose_mark mark;
	char *image;
	struct compose_build *build; /* NULL: no build */
	bool has_command;            /* command present (an empty list is different from absent) */
	struct compose_strv command; /* a string command is split like a shell would (compose's rule) */
	bool has_entrypoint;
	struct compose_strv entrypoint;
	struct compose_map environment; /* env_file contents merged in, then environment: wins */
	struct compose_env_file *env_files;
	size_t nenv_files;
	char *working_dir;
	char *user;
	char *container_name;
	char *hostname;
	int init;       /* -1 unset, 0, 1 */
	int tty;        /* -1 unset, 0, 1 */
	int stdin_open; /* -1 unset, 0, 1 */
	int read_only;  /* -1 unset, 0, 1 */
	int privileged; /* -1 unset, 0, 1 */
	struct compose_port *ports;
	size_t nports;
	struct compose_strv expose;
	struct compose_mount *volumes;
	size_t nvolumes;
	struct compose_dep *depends_on;
	size_t ndepends_on;
	struct compose_healthcheck healthcheck;
	char *restart;
	struct compose_map labels;
	struct compose_service_network *networks; /* default: the "default" network */
	size_t nnetworks;
	char *network_mode;
	char *pull_policy;
	struct compose_strv profiles;
	char *stop_signal;
	int64_t stop_grace_period_ns; /* -1 unset */
	struct compose_strv extra_hosts; /* "host=ip" (compose's canonical form) */
	struct compose_watch *watch;     /* develop.watch */
	size_t nwatch;
	json_t *other;      /* valid compose keys prisync does not model, interpolated, kept for config */
	json_t *extensions; /* x-* keys, as written (interpolated) */
};

struct compose_network {
	char *key;  /* key under networks: ("default" is added when a service uses it) */
	char *name; /* engine name: "<project>_<key>" unless name: or external */
	char *driver;
	struct compose_map driver_opts;
	bool external;
	bool internal;
	bool attachable;
	int enable_ipv6; /* -1 unset */
	struct compose_map labels;
	json_t *ipam; /* as written, or NULL */
	json_t *extensions;
	struct compose_mark mark;
};

struct compose_volume {
	char *key;
	char *name; /* engine name: "<project>_<key>" unless name: or external */
	char *driver;
	struct compose_map driver_opts;
	bool external;
	struct compose_map labels;
	json_t *extensions;
	struct compose_mark mark;
};

/* One schema of the x-prisync block (DESIGN.md "Configuration"). */
struct compose_prisync_schema {
	char *name;      /* default "default" */
	char *schema;    /* absolute: a file, or a folder of *.prisma files */
	bool schema_is_dir;
	struct compose_strv watch; /* absolute paths */
	char *migrations;          /* absolute; default next to the schema */
	struct compose_strv generate; /* argv; default npx prisma generate --schema <schema> */
	char *run_in;                 /* a service name, or "host" */
	struct compose_strv restart;  /* services restarted after a successful generate */
	char *database_url;           /* at most one of these three */
	char *database_url_env;
	char *database_secret; /* absolute */
	bool detected;         /* filled in by zero-configuration detection */
	struct compose_mark mark;
};

struct compose_prisync {
	bool configured;     /* the x-prisync block is present */
	int64_t debounce_ns;     /* default 50 ms */
	int64_t debounce_max_ns; /* default 2 s */
	int64_t generate_timeout_ns; /* a sync job is cancelled after this; default 5 min */
	struct compose_prisync_schema *schemas;
	size_t nschemas;
};

struct compose_project {
	char *name;
	char *working_dir;
	struct compose_strv config_files; /* absolute, in merge order (includes included files) */
	struct compose_service *services; /* sorted by name */
	size_t nservices;
	struct compose_network *networks; /* sorted by key; "default" when a service uses it */
	size_t nnetworks;
	struct compose_volume *volumes; /* sorted by key */
	size_t nvolumes;
	json_t *extensions;          /* top-level x-* as written (x-prisync too) */
	json_t *other;               /* top-level secrets, configs, models: kept for config */
	struct compose_strv mark_files; /* owns the file names every compose_mark points at */
	struct compose_prisync prisync;
	struct compose_map environment; /* the variables interpolation saw: .env files, then the shell */
	struct compose_strv warnings;   /* each shown once: unsupported keys, unset variables ... */
};

/* Load the project ref points at: .env / --env-file, every file (and its documents)
 * interpolated and merged in order, include and extends resolved, typed and validated,
 * x-prisync read or detected.  Errors carry file:line:col. */
int compose_load(struct compose_project **out, const struct compose_project_ref *ref,
		 const struct compose_options *o, struct px_error *err);
void compose_project_free(struct compose_project *p); /* NULL-safe */
/* Keep only the services the active profiles turn on (--profile, else COMPOSE_PROFILES
 * as interpolation saw it); an enabled service that requires a disabled one is an error.
 * compose_load does this; o may be NULL. */
int compose_apply_profiles(struct compose_project *p, const struct compose_options *o,
			   struct px_error *err);
/* The service named name, or NULL (borrowed). */
const struct compose_service *compose_project_service(const struct compose_project *p,
						      const char *name);

/* Print the model as `docker compose config` does. */
enum compose_format {
	COMPOSE_FORMAT_YAML,
	COMPOSE_FORMAT_JSON,
};
int compose_print(FILE *out, const struct compose_project *p, enum compose_format format,
		  struct px_error *err);
/* `docker compose config --services`: the enabled services (profiles), dependencies
 * first, one per line; --volumes: the keys of the volumes they mount, one per line. */
int compose_print_services(FILE *out, const struct compose_project *p, struct px_error *err);
int compose_print_volumes(FILE *out, const struct compose_project *p, struct px_error *err);

#endif
