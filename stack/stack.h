/* stack.h - the public header of stack/: the compose model turned into engine objects
 * named and labelled as docker compose does, and the lifecycle over them: plan,
 * converge (create / recreate / start in dependency order), wait, stop, down, ps. */
#ifndef PX_STACK_H
#define PX_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "base/error.h"
#include "base/loop.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "prisma/prisma.h"

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

/* The compose version prisync's containers claim in com.docker.compose.version: the
 * docker compose v2 whose behaviour it follows. */
#define STACK_COMPOSE_VERSION "2.26.1"

/* Label keys beyond the ones stack_project_labels() sets. */
#define STACK_LABEL_PROJECT    "com.docker.compose.project"
#define STACK_LABEL_SERVICE    "com.docker.compose.service"
#define STACK_LABEL_NUMBER     "com.docker.compose.container-number"
#define STACK_LABEL_ONEOFF     "com.docker.compose.oneoff"
#define STACK_LABEL_HASH       "com.docker.compose.config-hash"
#define STACK_LABEL_DEPENDS_ON "com.docker.compose.depends_on"
#define STACK_LABEL_IMAGE      "com.docker.compose.image"
#define STACK_LABEL_REPLACE    "com.docker.compose.replace"
#define STACK_LABEL_NETWORK    "com.docker.compose.network"
#define STACK_LABEL_VOLUME     "com.docker.compose.volume"
#define STACK_LABEL_VERSION    "com.docker.compose.version"

/* Free a NULL-terminated array of owned strings (NULL-safe). */
void stack_strv_free(char **v);

/* ---- the config hash (hash.c) ------------------------------------------------------- */

#define STACK_HASH_LEN 64

/*
 * The canonical JSON of s the config hash is taken over: every modelled field that
 * shapes the container, with volume and network keys resolved to their engine names,
 * plus the unmodelled keys (s->other).  Left out, as compose's ServiceHash leaves them
 * out, what does not change the container: build, pull_policy, depends_on, profiles;
 * and what prisync acts on itself: develop (watch) and x-* extensions.  New reference.
 */
json_t *stack_service_canonical(const struct compose_project *p, const struct compose_service *s);

/* Lowercase hex SHA-256 of stack_service_canonical() dumped with sorted keys, compact:
 * stable across runs and processes, different when any hashed field differs. */
int stack_service_hash(const struct compose_project *p, const struct compose_service *s,
		       char out[STACK_HASH_LEN + 1], struct px_error *err);

/* ---- the container create body (create.c) ------------------------------------------ */

/* The image the service runs: image:, else "<project>-<service>" (compose's name for
 * an image it builds).  Owned. */
char *stack_service_image(const struct compose_project *p, const struct compose_service *s);

/* container_name:, else "<project>-<service>-<number>".  Owned. */
char *stack_service_container_name(const struct compose_project *p, const struct compose_service *s,
				   int number);

/* Fill order (s->nnetworks slots) with the indexes of s->networks by priority, highest
 * first, then by key: order[0] is the primary network (compose's NetworksByPriority). */
void stack_service_network_order(const struct compose_service *s, size_t *order);

/* The network of p with key key, or NULL (borrowed). */
const struct compose_network *stack_project_network(const struct compose_project *p,
						    const char *key);

/* The aliases of the service's container on network net, as compose gives them: the
 * container name, the service name, then net's aliases.  NULL-terminated, owned
 * (stack_strv_free). */
char **stack_network_aliases(const struct compose_project *p, const struct compose_service *s,
			     int number, const struct compose_service_network *net);

struct stack_create_info {
	int number;                   /* replica number, from 1 */
	const char *config_hash;      /* required */
	const char *image_id;         /* com.docker.compose.image (the image's id), or NULL */
	const char *api_version;      /* negotiated; NULL: the newest (all networks at create) */
	const char *replace_id;       /* a recreate: the replaced container's id, or NULL */
	const json_t *inherit_mounts; /* a recreate: the replaced container's inspect "Mounts" */
	const json_t *image_volumes;  /* the image's Config.Volumes (object), or NULL */
	const char *network_mode;     /* network_mode resolved ("container:<id>" for
				       * service:x); NULL: s->network_mode as written */
};

/*
 * The Engine API create body of s's container, as compose's getCreateConfigs builds it:
 * Image, Cmd, Entrypoint, Env, WorkingDir, User, Hostname, Tty, OpenStdin, Labels
 * (service labels + compose's), ExposedPorts, StopSignal, StopTimeout, Healthcheck
 * (durations in ns), HostConfig {Binds (short-syntax binds), Mounts (volumes with their
 * engine names, tmpfs, other binds, anonymous volumes inherited from the replaced
 * container), PortBindings, RestartPolicy, Init, ReadonlyRootfs, Privileged,
 * ExtraHosts, NetworkMode} and NetworkingConfig with the primary network's endpoint
 * (every network's from API 1.44; older engines get the others by network connect).
 * *out is owned.  Errors name the service and the offending field.
 */
int stack_create_body(json_t **out, const struct compose_project *p,
		      const struct compose_service *s, const struct stack_create_info *ci,
		      struct px_error *err);

/* ---- dependency order (deps.c) ----------------------------------------------------- */

struct stack_order {
	const struct compose_service **v; /* dependencies before dependents; borrowed */
	size_t n;
};

/*
 * The services named in names (every service of p when n is 0), and with deps what they
 * depend on, transitively (an optional dependency that is not in the project is
 * skipped), ordered so that every service comes after its dependencies; services that
 * do not depend on each other keep name order.  "no such service: 'x'" for an unknown
 * name; "dependency cycle: a -> b -> a" for a cycle.  out is released with
 * stack_order_release().
 */
int stack_order_resolve(struct stack_order *out, const struct compose_project *p,
			char *const *names, size_t n, bool deps, struct px_error *err);
void stack_order_release(struct stack_order *o);
/* True when name is in o. */
bool stack_order_has(const struct stack_order *o, const char *name);

/* True when some service of p depends on s with service_completed_successfully: s is a
 * one-shot, done when it exited 0 (compose's getDependencyCondition). */
bool stack_service_is_oneshot(const struct compose_project *p, const struct compose_service *s);

/* ---- the plan (plan.c) ------------------------------------------------------------- */

enum stack_action {
	STACK_ACTION_CREATE,   /* no container yet */
	STACK_ACTION_RECREATE, /* its config or image changed, or --force-recreate */
	STACK_ACTION_START,    /* up to date, not running */
	STACK_ACTION_KEEP,     /* up to date and running, or a one-shot that exited 0 */
	STACK_ACTION_REMOVE,   /* a surplus container of the service */
};

/* What one service should look like. */
struct stack_expect {
	const struct compose_service *service;
	const char *hash;     /* stack_service_hash() */
	const char *image_id; /* the image's id now, or NULL: not compared */
	bool oneshot;         /* stack_service_is_oneshot() */
};

struct stack_plan_opts {
	bool force_recreate; /* recreate even when up to date */
	bool no_recreate;    /* never recreate an existing container */
};

struct stack_plan_item {
	const struct compose_service *service; /* borrowed from the project */
	enum stack_action action;
	int number;
	char *id;        /* the existing container; NULL for CREATE */
	char *name;      /* the existing container's name, or the one to create */
	char *state;     /* the observed state ("running", "exited" ...); NULL for CREATE */
	int exit_code;   /* the observed exit code of an exited container, else 0 */
	const char *why; /* RECREATE: "config changed", "image changed" or "forced" */
};

struct stack_plan_orphan {
	char *id;
	char *name;
	char *service;
};

struct stack_plan {
	/* items[i] for i < nexp is exp[i]'s main container; REMOVE items follow */
	struct stack_plan_item *items;
	size_t n;
	struct stack_plan_orphan *orphans; /* containers of services p no longer has */
	size_t norphans;
};

/*
 * Compare the expected services with the observed containers (the array of GET
 * /containers/json?all=1 filtered to the project: Id, Names, State, Status, Labels) and
 * decide, per service, as compose's convergence does: none → CREATE; config hash or
 * image id differs → RECREATE; up to date and running (or restarting, paused) → KEEP;
 * up to date, not running → START, except a one-shot that exited 0, which is complete
 * (KEEP).  Of several containers of one service the up-to-date one with the lowest
 * number is kept, the others are REMOVE.  One-off containers are ignored; containers
 * whose service is not in p are orphans.  Pure.
 */
int stack_plan_make(struct stack_plan **out, const struct compose_project *p,
		    const struct stack_expect *exp, size_t nexp, const json_t *containers,
		    const struct stack_plan_opts *o, struct px_error *err);
void stack_plan_free(struct stack_plan *plan);
const char *stack_action_name(enum stack_action a);

/* ---- progress (progress.c) --------------------------------------------------------- */

enum stack_progress_state {
	STACK_PROGRESS_WORKING,
	STACK_PROGRESS_DONE,
	STACK_PROGRESS_WARNING,
	STACK_PROGRESS_ERROR,
};

/*
 * What a lifecycle operation reports, one line per object ("Container demo-db-1",
 * "Network demo_default").  On a terminal (tty < 0: detect), compose's live display: a
 * title line and one line per object redrawn in place with its latest status and
 * elapsed time; otherwise one plain line per event (" Container demo-db-1  Started").
 * Thread-safe.
 */
struct stack_progress;

struct stack_progress *stack_progress_new(FILE *out, int tty);
/* The title of the live display ("Running", "Stopping" ...). */
void stack_progress_title(struct stack_progress *pr, const char *title);
void stack_progress_event(struct stack_progress *pr, const char *id,
			  enum stack_progress_state state, const char *status);
/* End the live display (its last frame stays); later events start a new one. */
void stack_progress_finish(struct stack_progress *pr);
void stack_progress_free(struct stack_progress *pr); /* finishes; NULL-safe */

/* ---- the lifecycle (up.c, down.c, lifecycle.c, build.c, ps.c) ---------------------- */

/*
 * A handle on one project's stack.  e and p are borrowed and must outlive it; progress
 * (may be NULL: silent) too.  Operations run their parallel parts in threads, each on
 * its own engine_dup() of e; results come back to the calling thread through a px_loop.
 * With signals on, SIGINT and SIGTERM (which the caller must have blocked before any
 * thread started: px_block_signals) interrupt a running operation, which then fails
 * with errnum ECANCELED.  A handle is used by one thread at a time.
 */
struct stack;

int stack_open(struct stack **out, struct engine *e, const struct compose_project *p,
	       struct stack_progress *progress, struct px_error *err);
void stack_free(struct stack *st); /* NULL-safe */
void stack_set_signals(struct stack *st, bool on);
/* Thread-safe: make the running operation stop soon (it fails with ECANCELED). */
void stack_interrupt(struct stack *st);

struct stack_up_opts {
	char *const *services; /* the services to bring up with their dependencies; */
	size_t nservices;      /* 0: all */
	bool build;            /* --build: build images before starting */
	bool no_build;         /* --no-build: never build, even a missing image */
	bool force_recreate;   /* --force-recreate */
	bool no_recreate;      /* --no-recreate */
	bool remove_orphans;   /* --remove-orphans */
	bool wait;             /* --wait: every service running / healthy / completed */
	int wait_timeout_s;    /* --wait-timeout; <= 0: none */
	int timeout_s;         /* stop timeout for recreated containers; < 0: their own */
};

/*
 * docker compose up -d: the project's networks and named volumes created when missing
 * (labelled as compose labels them); images pulled by pull_policy or built; containers
 * converged by plan (create / recreate / start / left alone), started in depends_on
 * order with independent services in parallel, each dependency's condition honoured
 * (service_started, service_healthy through the engine's health_status events,
 * service_completed_successfully); orphans reported or removed.  With wait, returns once
 * every service is running (healthy when it has a healthcheck) or, for one-shots,
 * exited 0.  A failure names the service and carries its last log lines.
 */
int stack_up(struct stack *st, const struct stack_up_opts *o, struct px_error *err);

enum stack_rmi {
	STACK_RMI_NONE,
	STACK_RMI_LOCAL, /* images built for services without image: */
	STACK_RMI_ALL,   /* every image the services use */
};

struct stack_down_opts {
	bool volumes;        /* -v: named volumes (and anonymous ones of the containers) */
	bool remove_orphans; /* --remove-orphans */
	enum stack_rmi rmi;  /* --rmi */
	int timeout_s;       /* stop timeout; < 0: each container's own */
};

/* docker compose down: containers stopped in reverse dependency order and removed, then
 * the project's networks, with -v its volumes, with --rmi its images. */
int stack_down(struct stack *st, const struct stack_down_opts *o, struct px_error *err);

/* Start the services' existing containers in dependency order, waiting for the
 * conditions of depends_on; "service 'x' has no container to start" when one is
 * missing.  n == 0: every service. */
int stack_start(struct stack *st, char *const *services, size_t n, struct px_error *err);
/* Stop them, dependents first. */
int stack_stop(struct stack *st, char *const *services, size_t n, int timeout_s,
	       struct px_error *err);
/* Restart them in dependency order. */
int stack_restart(struct stack *st, char *const *services, size_t n, int timeout_s,
		  struct px_error *err);
/* Send signal (NULL: SIGKILL) to every running container of the project. */
int stack_kill(struct stack *st, const char *signal, struct px_error *err);

struct stack_build_opts {
	char *const *services; /* n == 0: every service with build: */
	size_t nservices;
	bool pull;     /* --pull: always pull base images */
	bool no_cache; /* --no-cache */
};

/* Build the images of the services that have build:, tagged as compose tags them. */
int stack_build(struct stack *st, const struct stack_build_opts *o, struct px_error *err);

/* ---- ps (ps.c) --------------------------------------------------------------------- */

/*
 * compose ps's summaries of the project's containers (filtered to services when n > 0;
 * stopped ones only with all), sorted by name, as an array of objects with compose's
 * `ps --format json` fields (ID in full): ID, Name, Names, Image, Command, Project, Service,
 * CreatedAt, RunningFor, State, Status, Health, ExitCode, Publishers, Ports, Labels,
 * LocalVolumes, Mounts, Networks, Size.  containers is the engine's list; now is the
 * current time (for RunningFor).  Pure; new reference.
 */
json_t *stack_ps_summaries(const json_t *containers, bool all, char *const *services, size_t n,
			   time_t now);
/* go-units HumanDuration as the docker CLI's RunningFor and Status use it: "Less than a
 * second", "About a minute", "5 minutes", "3 days" (owned). */
char *stack_human_duration(int64_t secs);
/* List the project's containers and summarise them: *out owned. */
int stack_ps(struct stack *st, bool all, char *const *services, size_t n, json_t **out,
	     struct px_error *err);
/* compose's table: NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS. */
void stack_ps_print_table(FILE *out, const json_t *summaries);
/* One compact JSON object per line, the ID shortened to 12 digits as compose prints it. */
void stack_ps_print_json(FILE *out, const json_t *summaries);

/* ---- following logs (follow.c) ----------------------------------------------------- */

struct stack_follow_opts {
	char *const *services; /* n == 0: every service */
	size_t nservices;
	bool timestamps;
	bool no_prefix;   /* the lines alone, without "app-1 | " */
	int tail;         /* lines of history per container on its first attach; < 0: all */
	int64_t since_ns; /* unix ns: lines before are not shown, and containers that
			     stopped are read too; 0: running containers from now on */
	/* called on the loop thread when no followed container is left running */
	void (*on_idle)(void *data);
	void *data;
};

/*
 * Stream the logs of the project's containers, each line prefixed with its service
 * (base/log.h's service prefix), in threads that each own an engine_dup() of e; an
 * events thread re-attaches a container when it starts again (restart, recreate, scale).
 * Runs on loop (the caller's thread), which must outlive it.
 */
struct stack_follow;

int stack_follow_start(struct stack_follow **out, struct px_loop *loop, struct engine *e,
		       const char *project, const struct stack_follow_opts *o,
		       struct px_error *err);
/* Containers being followed now. */
size_t stack_follow_active(const struct stack_follow *f);
/* Stop every stream, join the threads, free.  Runs loop until every thread has
 * reported, so call it outside loop's callbacks.  NULL-safe. */
void stack_follow_free(struct stack_follow *f);

/* ---- logs up to now (logs.c) ---------------------------------------------------------- */

struct stack_logs_opts {
	char *const *services; /* n == 0: every service */
	size_t nservices;
	bool timestamps, no_prefix;
	int tail;                   /* the last lines of each container; < 0: all */
	int64_t since_ns, until_ns; /* unix ns; 0: no bound */
};

/*
 * Print the logs of the project's containers (stopped ones too, one-offs not) through
 * px_log_output, merged across containers in the order of the engine's timestamps, each
 * line prefixed "app-1 | " as compose does.  "no such service: 'x'" for an unknown name.
 * Holds the lines in memory until printed (bound them with tail or since).
 */
int stack_logs(struct stack *st, const struct stack_logs_opts *o, struct px_error *err);

/* The prefix of a container's lines: its name without "/" and "<project>-" ("app-1"),
 * the service when the name is unknown.  Owned. */
char *stack_log_prefix(const char *project, const char *name, const char *service);

/* --since / --until values: a Go duration back from now_ns ("10m", "1h30m", "1.5h"), an
 * RFC 3339 time, a local date or date-time without a zone, or unix seconds with an
 * optional fraction.  0 or -1 with the forms named in err. */
int stack_parse_log_time(const char *s, int64_t now_ns, int64_t *out, struct px_error *err);

/* Where the host reaches port of a container (an entry of GET /containers/json): a
 * published TCP port on 127.0.0.1 or 0.0.0.0 as host "127.0.0.1", else the container's
 * address on its first network, with port itself.  Returns 0 with *host owned, 1 when
 * there is neither. */
int stack_container_address(const json_t *c, int port, char **host, int *out_port);
/* The same for the running container of project's service; 1 when none runs or it has no
 * address, -1 on an engine error. */
int stack_service_address(struct engine *e, const char *project, const char *service, int port,
			  char **host, int *out_port, struct px_error *err);

/* ---- is the generated Prisma Client fresh? (client.c) ------------------------------ */

struct stack_client_report {
	enum prisma_client_state state;
	char *difference;        /* STALE: prisma_diff_describe() of the first difference */
	char *reason;            /* MISSING / VERSION_SKEW: why, one line; else NULL */
	char *client;            /* the client file, as a path where it was read */
	char *where;             /* "host", "container <name> of service <svc>", or
				  * "service <svc> (not running)" */
	char *generated_version; /* the client's clientVersion, NULL when unknown */
	char *installed_version; /* @prisma/client's version next to it, NULL when unknown */
	char *provider;          /* the generator's: prisma-client-js or prisma-client */
};

/*
 * Is the client of one x-prisync schema generated from its current sources?  The
 * schema (sc->schema, a file or folder) is read on the host; its first prisma-client-js
 * or prisma-client generator says where the client is (prisma_client_locate()).  When
 * sc->run_in is a service that mounts a named or anonymous volume over that path as
 * the service sees it (the host path mapped through its bind mounts: the project bound
 * at /app puts <project>/node_modules at /app/node_modules), the client and
 * @prisma/client are read from the service's running container through the engine's
 * archive API (paths under a bind mount still from the host); else from the host.
 * A client in a volume of a service with no running container is not an error: state
 * MISSING with reason saying so, where "service <svc> (not running)".  A schema with no
 * client generator has nothing to check: an error with errnum ENOENT.  e may be NULL
 * when run_in is "host" (an error if the engine turns out to be needed).  Errors: no
 * client generator, an unreadable schema or client, a malformed client file, the
 * engine.  *out is overwritten; release it with stack_client_report_release().
 */
int stack_client_check(struct engine *e, const struct compose_project *p,
		       const struct compose_prisync_schema *sc, struct stack_client_report *out,
		       struct px_error *err);
void stack_client_report_release(struct stack_client_report *r);

/* {state, provider, client, where, generatedVersion, installedVersion, difference,
 *  reason} with JSON nulls for what is unknown: for `status --json`.  New reference. */
json_t *stack_client_report_json(const struct stack_client_report *r);

#endif
