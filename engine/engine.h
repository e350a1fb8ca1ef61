/* engine.h - the Docker Engine API client: HTTP over a unix socket or tcp (optionally TLS)
 * with libcurl, JSON with jansson, no docker CLI.  The one public header of engine/. */
#ifndef PX_ENGINE_H
#define PX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"

/* The newest API version prisync speaks, and the oldest engine it accepts (Docker 20.10). */
#define ENGINE_API_VERSION     "1.47"
#define ENGINE_API_VERSION_MIN "1.41"
#define ENGINE_DEFAULT_HOST    "unix:///var/run/docker.sock"

/* Returned (instead of 0) by lookups when the engine answered 404: nothing is set in err. */
#define ENGINE_NOT_FOUND 1

/*
 * Where the engine listens, parsed from a DOCKER_HOST value.
 */
enum engine_transport {
	ENGINE_UNIX = 1,
	ENGINE_TCP,
};

struct engine_host {
	enum engine_transport transport;
	char *path;    /* ENGINE_UNIX: the socket path (owned) */
	char *host;    /* ENGINE_TCP: name or address, IPv6 without brackets (owned) */
	unsigned port; /* ENGINE_TCP */
};

/* clang-format off */
/* clang-format off */
#define ENGINE_HOST_INIT { 0, NULL, NULL, 0 }
/* clang-format on */
/* clang-format on */

/* Parse "unix:///abs/path", "tcp://host[:port]" (port 2375 when missing, like docker;
 * "[v6addr]:port" accepted) or docker's bare "host:port" (tcp).  NULL or "" means
 * ENGINE_DEFAULT_HOST.  Any other scheme (ssh, npipe, fd, http ...) is an error that
 * says what is accepted.  Pure: reads no environment.  out is owned by the caller
 * (engine_host_release); untouched on failure. */
int engine_host_parse(const char *docker_host, struct engine_host *out, struct px_error *err);
void engine_host_release(struct engine_host *h);
/* The canonical DOCKER_HOST form ("unix:///p", "tcp://h:port", "tcp://[v6]:port"); owned. */
char *engine_host_string(const struct engine_host *h);

/* Compare dotted numeric versions ("1.41" < "1.47" < "1.100"); missing components count
 * as 0, so "1.41" == "1.41.0".  Returns <0, 0 or >0 like strcmp. */
int engine_version_cmp(const char *a, const char *b);

/*
 * A connection to one engine.  Not thread-safe: a thread that talks to the engine on its
 * own (events, logs -f) takes its own struct engine from engine_dup().
 */
struct engine;

/* Prepare a client for docker_host (NULL: $DOCKER_HOST, else ENGINE_DEFAULT_HOST).  For
 * tcp hosts, a non-empty DOCKER_TLS_VERIFY selects https with verification, using
 * ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker): ca.pem is
 * required and is the only CA trusted (not the system's); cert.pem and key.pem go together
 * (with neither, no client certificate is sent); a missing or unreadable file is an error
 * here, naming it.  Makes no connection: that happens at
 * engine_ping() or at the first request, which negotiates the API version. */
int engine_open(struct engine **out, const char *docker_host, struct px_error *err);
/* A new client for the same engine, with the same negotiated version (no new ping). */
int engine_dup(const struct engine *e, struct engine **out, struct px_error *err);
void engine_free(struct engine *e);

/* GET /_ping and negotiate the API version: the lower of the engine's and
 * ENGINE_API_VERSION; engines older than ENGINE_API_VERSION_MIN are refused.  Connection
 * failures explain themselves ("is dockerd running?", the docker group, ...). */
int engine_ping(struct engine *e, struct px_error *err);
/* The negotiated version ("1.41"), or NULL before the first successful ping (borrowed). */
const char *engine_api_version(const struct engine *e);
/* The host in canonical DOCKER_HOST form, as used in messages (borrowed). */
const char *engine_host_display(const struct engine *e);
/* The engine runs on this host (a unix socket): its pids and paths are ours. */
bool engine_is_local(const struct engine *e);

/* Make the transfer running on e (from another thread) and every later one stop soon
 * (within about a second); they fail with errnum ECANCELED, a stream returns 1.  Sticky:
 * meant for shutting down the thread that owns e.  Async-signal-safe. */
void engine_interrupt(struct engine *e);

/*
 * Low level.  path is the API path without the version prefix ("/containers/json?all=1");
 * the request goes to /v<negotiated version><path>, pinging first if needed.  body (may be
 * NULL) is sent as JSON.  *status (may be NULL) receives the HTTP status, 0 when no
 * response came.  On 2xx: 0, and *out_json (may be NULL) receives the parsed body (owned,
 * NULL when the body is empty).  Otherwise -1: for a non-2xx answer err is
 * "engine: <the engine's message>" and *status tells 404/304/409 apart.
 */
int engine_request(struct engine *e, const char *method, const char *path, const json_t *body,
		   long *status, json_t **out_json, struct px_error *err);

/* on_data receives the body of a 2xx answer as it arrives, in chunks of any size; it returns
 * 0 to go on, non-zero to stop the transfer. */
typedef int (*engine_data_fn)(const char *buf, size_t len, void *data);

/* Like engine_request, but a 2xx body goes to on_data instead of being parsed (logs, events,
 * pulls).  Returns 0 when the body ended, 1 when on_data (or engine_interrupt) stopped it,
 * -1 on failure, a non-2xx answer included. */
int engine_stream(struct engine *e, const char *method, const char *path, const json_t *body,
		  engine_data_fn on_data, void *data, long *status, struct px_error *err);

/*
 * List filters: the url-encoded value of the "filters" query parameter.
 */

/* filters is an object of string arrays ({"label": ["k=v"]}); keys sorted so the result is
 * stable.  Owned. */
char *engine_filters_encode(const json_t *filters);
/* {"label": [label]} encoded; label is "key=value" or "key".  Owned. */
char *engine_label_filter(const char *label);

/*
 * Multiplexed streams (logs and exec of containers without a TTY): frames of an 8-byte
 * header [stream, 0, 0, 0, size as big-endian uint32] and size bytes of payload.
 */
enum engine_stream_id {
	ENGINE_STDIN = 0,
	ENGINE_STDOUT = 1,
	ENGINE_STDERR = 2,
	ENGINE_SYSERR = 3, /* the engine's own error, sent in place of output */
};

struct engine_demux {
	unsigned char hdr[8];
	size_t hdr_len;     /* header bytes collected so far */
	int stream;         /* of the frame being read */
	uint32_t remaining; /* payload bytes of that frame still to come */
};

/* clang-format off */
/* clang-format off */
#define ENGINE_DEMUX_INIT { { 0 }, 0, 0, 0 }
/* clang-format on */
/* clang-format on */

/* Receives a payload piece of one stream; frames split across feeds arrive in pieces.
 * Returns 0 to go on, non-zero to stop. */
typedef int (*engine_demux_fn)(int stream, const char *buf, size_t len, void *data);

void engine_demux_init(struct engine_demux *d);
/* Feed the next chunk, cut anywhere.  Returns 0, 1 when on_frame asked to stop, -1 on a
 * malformed header (unknown stream or non-zero padding: probably a TTY's raw stream). */
int engine_demux_feed(struct engine_demux *d, const char *buf, size_t len, engine_demux_fn on_frame,
		      void *data, struct px_error *err);
/* At the end of the stream: -1 when it stopped inside a header or a frame. */
int engine_demux_finish(const struct engine_demux *d, struct px_error *err);

/*
 * Containers.  id is an id, an unambiguous id prefix, or a name.
 */

/* POST /containers/create?name=; config is the Engine API create body.  name may be NULL
 * (the engine picks one).  *out_id (may be NULL) receives the full id (owned).  A name
 * already in use (409) is said as such. */
int engine_container_create(struct engine *e, const char *name, const json_t *config, char **out_id,
			    struct px_error *err);
/* Already running counts as success. */
int engine_container_start(struct engine *e, const char *id, struct px_error *err);
/* SIGTERM, then SIGKILL after timeout_s seconds (< 0: the container's own StopTimeout).
 * Already stopped counts as success. */
int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct px_error *err);
/* signal is a name ("SIGHUP", "HUP") or a number as text; NULL means SIGKILL. */
int engine_container_kill(struct engine *e, const char *id, const char *signal,
			  struct px_error *err);
/* force: kill a running container first; volumes: remove its anonymous volumes.
 * A container that is already gone (404) counts as success. */
int engine_container_remove(struct engine *e, const char *id, bool force, bool volumes,
			    struct px_error *err);
/* *out receives GET /containers/{id}/json (owned).  ENGINE_NOT_FOUND when there is none. */
int engine_container_inspect(struct engine *e, const char *id, json_t **out, struct px_error *err);
/* Block until the container is not running and store its exit code. */
int engine_container_wait(struct engine *e, const char *id, int *exit_code, struct px_error *err);
/* *out receives the array of GET /containers/json (owned); label_filter is "key=value",
 * "key" or NULL; all: stopped containers too. */
int engine_container_list(struct engine *e, const char *label_filter, bool all, json_t **out,
			  struct px_error *err);
/* Append the container's log so far to out_stdout / out_stderr (either may be NULL to skip
 * that stream); tail < 0 means all lines.  For a container with a TTY everything is stdout. */
int engine_container_logs(struct engine *e, const char *id, bool want_stdout, bool want_stderr,
			  int tail, struct px_buf *out_stdout, struct px_buf *out_stderr,
			  struct px_error *err);

/* POST /containers/{id}/restart: stop (SIGKILL after timeout_s seconds; < 0: the
 * container's own StopTimeout), then start. */
int engine_container_restart(struct engine *e, const char *id, int timeout_s, struct px_error *err);

/* Run argv in the running container (POST /containers/{id}/exec, then /exec/{id}/start
 * without a TTY) and wait for it: its stdout and stderr are appended to out and errout
 * (either may be NULL to drop that stream) and *exit_code (may be NULL) gets its exit
 * code.  env: "K=V" strings, NULL-terminated, or NULL; workdir and user may be NULL (the
 * container's own).  A command that exits non-zero is success here; the caller judges. */
int engine_exec(struct engine *e, const char *container, const char *const *argv,
		const char *const *env, const char *workdir, const char *user, struct px_buf *out,
		struct px_buf *errout, int *exit_code, struct px_error *err);

/* engine_exec that also hands out the exec's id (owned, into *exec_id_out) as soon as the
 * exec exists -- even when the call fails later -- so that a command cut short by
 * engine_interrupt() can still be killed with engine_exec_kill(). */
int engine_exec_tracked(struct engine *e, const char *container, const char *const *argv,
			const char *const *env, const char *workdir, const char *user,
			struct px_buf *out, struct px_buf *errout, int *exit_code, char **exec_id_out,
			struct px_error *err);

/* Kill (SIGKILL) a running exec's process and every process it started.  The engine has
 * no API for that: its Pid (GET /exec/{id}/json) is a pid of the engine's host, so this
 * works for a local engine (a unix socket) only and fails with ENOTSUP on a tcp one.
 * An exec that already ended is success. */
int engine_exec_kill(struct engine *e, const char *exec_id, struct px_error *err);

/* PUT /containers/{id}/archive?path=: extract the tar (len bytes, sent as-is) into the
 * container under path, a directory that must exist there ("/" for a tar of absolute
 * names without their leading '/').  Works on stopped containers too.  copy_uid_gid
 * (docker cp -a, what docker compose's watch asks for): files get the container's user
 * when it has one, else the owners in the tar.  An error names the container and path:
 * no such container or path (404), path not a directory (400), a read-only root
 * filesystem or volume (403). */
int engine_container_put_archive(struct engine *e, const char *id, const char *path,
				 const void *tar, size_t len, bool copy_uid_gid,
				 struct px_error *err);

/* GET /containers/{id}/archive?path=: the tar the engine makes of path (a file: one
 * entry named after its base; a symlink is archived as the link, not followed), appended
 * to tar.  Returns 0; 1 when the container has no such path (its 404 "Could not find
 * the file"), err left clear; -1 on other failures, a missing container included. */
int engine_container_get_archive(struct engine *e, const char *id, const char *path,
				 struct px_buf *tar, struct px_error *err);

/* The single entry of a tar held in memory (what engine_container_get_archive() gives
 * for one file): 0 with a regular file's content appended to out; 1 with a symlink's
 * target appended instead; 2 for anything else (a directory: nothing appended); -1 on
 * a malformed or empty tar. */
int engine_tar_single_file(const void *tar, size_t len, struct px_buf *out, struct px_error *err);

/*
 * Streams of lines and events.  Blocking: run them on their own struct engine (engine_dup)
 * in their own thread; engine_interrupt() from another thread stops them.
 */

struct engine_logs_opts {
	bool follow;     /* keep streaming until the container stops */
	bool timestamps; /* each line starts with the engine's RFC 3339 timestamp and a space */
	bool want_stdout, want_stderr;
	int tail;         /* the last tail lines only; -1: all */
	int64_t since_ns; /* unix nanoseconds; 0: from the start */
	int64_t until_ns; /* unix nanoseconds; 0: to the end (with follow: until it stops) */
};

/* One line of a container's output, without its '\n' (a TTY's "\r\n" loses both) and
 * NUL-terminated (borrowed for the call); stream is ENGINE_STDOUT or ENGINE_STDERR (a TTY's
 * whole output is ENGINE_STDOUT).  A line longer than 64 KiB arrives in pieces.  Return
 * non-zero to stop. */
typedef int (*engine_line_fn)(void *data, int stream, const char *line, size_t len);

/* A container's log as lines (demultiplexed; a TTY container's raw output as stdout lines).
 * A last line without '\n' is delivered when the stream ends.  Returns 0 when the stream
 * ended (with follow: the container stopped), 1 when fn or engine_interrupt() stopped it,
 * -1 on failure. */
int engine_container_logs_stream(struct engine *e, const char *id, const struct engine_logs_opts *o,
				 engine_line_fn fn, void *data, struct px_error *err);

/* One parsed event of GET /events (an object: "Type", "Action", "Actor": {"ID",
 * "Attributes"}, "time", ...; borrowed for the call).  Return non-zero to stop. */
typedef int (*engine_event_fn)(void *data, const json_t *event);

/* Container events, oldest first: label_filter ("key=value" or "key"; NULL: all
 * containers), since and until in unix seconds (0: none; without until the stream never
 * ends by itself).  Returns 0 when the stream ended (until reached), 1 when fn or
 * engine_interrupt() stopped it, -1 on failure. */
int engine_events(struct engine *e, const char *label_filter, int64_t since, int64_t until,
		  engine_event_fn fn, void *data, struct px_error *err);

/*
 * Networks, volumes, images (minimal).  labels (may be NULL) is an object of strings.
 */

/* *out_id (may be NULL) receives the network id (owned); an existing name is an error. */
int engine_network_create(struct engine *e, const char *name, const json_t *labels, char **out_id,
			  struct px_error *err);
/* The same with the whole POST /networks/create body (Name, Driver, Options, IPAM,
 * Internal, Labels ...); CheckDuplicate is added here. */
int engine_network_create_body(struct engine *e, const json_t *config, char **out_id,
			       struct px_error *err);
/* A network that is already gone counts as success. */
int engine_network_remove(struct engine *e, const char *id, struct px_error *err);
/* *out receives the array of GET /networks (owned); label_filter as for containers. */
int engine_network_list(struct engine *e, const char *label_filter, json_t **out,
			struct px_error *err);

/* *out receives GET /networks/{name} (owned; name may also be an id).  ENGINE_NOT_FOUND
 * when there is none. */
int engine_network_inspect(struct engine *e, const char *name, json_t **out, struct px_error *err);
/* Attach a container to a network (POST /networks/{id}/connect) under aliases
 * (NULL-terminated, or NULL for none), by which other containers there resolve it. */
int engine_network_connect(struct engine *e, const char *network, const char *container,
			   const char *const *aliases, struct px_error *err);

/* Creating a volume that exists returns it unchanged (the engine's rule).  *out_name (may
 * be NULL) receives its name (owned; the engine picks one when name is NULL). */
int engine_volume_create(struct engine *e, const char *name, const json_t *labels, char **out_name,
			 struct px_error *err);
/* The same with the whole POST /volumes/create body (Name, Driver, DriverOpts, Labels). */
int engine_volume_create_body(struct engine *e, const json_t *config, char **out_name,
			      struct px_error *err);
/* A volume that is already gone counts as success; force: even if in use. */
int engine_volume_remove(struct engine *e, const char *name, bool force, struct px_error *err);
/* *out receives the "Volumes" array of GET /volumes (owned, [] when none). */
int engine_volume_list(struct engine *e, const char *label_filter, json_t **out,
		       struct px_error *err);

/* *out receives GET /volumes/{name} (owned).  ENGINE_NOT_FOUND when there is none. */
int engine_volume_inspect(struct engine *e, const char *name, json_t **out, struct px_error *err);

/* *out receives GET /images/{ref}/json (owned).  ENGINE_NOT_FOUND when there is none. */
int engine_image_inspect(struct engine *e, const char *ref, json_t **out, struct px_error *err);
/* An image that is already gone counts as success. */
int engine_image_remove(struct engine *e, const char *ref, bool force, struct px_error *err);

/* One message of a pull or build stream, already parsed (borrowed for the call): {"status",
 * "id", "progressDetail"} of a pull, {"stream": "Step 1/3 : ..."} or {"aux": ...} of a
 * build.  Messages that carry an error are not passed: they are the call's error.  Return
 * non-zero to stop: the call then fails with errnum ECANCELED, as after engine_interrupt(). */
typedef int (*engine_progress_fn)(void *data, const json_t *message);

/* POST /images/create: pull ref ("name", "name:tag", "name@sha256:..."; ":latest" added
 * when there is neither tag nor digest).  fn (may be NULL) sees the progress.  An error in
 * the stream fails the call: "pull '<ref>': engine: <the engine's message>".  No registry
 * credentials are sent (public images only). */
int engine_image_pull(struct engine *e, const char *ref, engine_progress_fn fn, void *data,
		      struct px_error *err);

struct engine_build_opts {
	const char *context_dir; /* absolute */
	const char *dockerfile; /* relative to context_dir (may lead out of it); NULL: Dockerfile */
	const char *const *tags; /* "name:tag", NULL-terminated (or NULL) */
	const char *const *args; /* build args "K=V" ("K": no value, the ARG default applies),
				    NULL-terminated, or NULL */
	const char *target;      /* the stage to stop at, or NULL */
	const json_t *labels;    /* object of strings set on the image, or NULL */
	bool pull;               /* look for a newer base image first */
	bool no_cache;
};

/* Build an image with the engine's builder (POST /build): the context is engine_build_context's
 * tar; fn (may be NULL) sees the messages ({"stream": ...} lines).  *out_id (may be NULL)
 * receives the image id ("sha256:...", owned).  An error of the build ("COPY failed: ...", a
 * Dockerfile syntax error) fails the call with the engine's message. */
int engine_image_build(struct engine *e, const struct engine_build_opts *o, engine_progress_fn fn,
		       void *data, char **out_id, struct px_error *err);

/* The build context of context_dir as a tar (appended to *tar), the way the docker CLI makes
 * it: the patterns of <dockerfile>.dockerignore, else of .dockerignore, exclude files (moby
 * patternmatcher semantics: *, ?, **, [...], '!' exceptions, later patterns win), the
 * Dockerfile and the ignore file are always included; regular files, directories and
 * symlinks (not followed) with their modes and mtimes, owner 0:0, in lexical order.  A
 * Dockerfile outside context_dir is added as ".dockerfile.<hash>" and listed in the tar's
 * .dockerignore (the engine then drops it from the context); engine_image_build names it. */
int engine_build_context(const char *context_dir, const char *dockerfile, struct px_buf *tar,
			 struct px_error *err);

/*
 * Ignore patterns: .dockerignore files read and matched the way the docker CLI does, ported
 * from github.com/moby/patternmatcher (patternmatcher.go, ignorefile/).  Build contexts use
 * them, and so do develop.watch rules (ignore, include), which docker compose matches with
 * the same matcher.  A compiled matcher is only read by the match functions: one matcher
 * may be used by several threads at once.
 */

/* How one pattern is matched, decided when it is compiled (as moby's matchType): a pattern
 * without wildcards compares equal; a literal part then two stars at the end is a prefix;
 * two stars at the start then a literal part is a suffix; anything else goes through the
 * general matcher. */
enum engine_ignore_type {
	ENGINE_IGNORE_EXACT = 1,
	ENGINE_IGNORE_PREFIX,
	ENGINE_IGNORE_SUFFIX,
	ENGINE_IGNORE_GLOB, /* moby's regexpMatch */
};

/* The patterns of a .dockerignore file (ignorefile.ReadAll): a UTF-8 BOM dropped, lines
 * starting with '#' skipped, whitespace trimmed, empty lines skipped, each pattern
 * cleaned (Go's filepath.Clean) with a leading '/' dropped, a '!' kept in front.
 * NULL-terminated, owned: engine_ignore_strv_free(). */
char **engine_ignore_parse(const char *text, size_t len);
void engine_ignore_strv_free(char **v);

/* Compiled patterns (patternmatcher.New). */
struct engine_ignore;

/* Compile patterns (NULL-terminated): each trimmed and cleaned, empty ones skipped; "!"
 * alone and malformed patterns ("[", "a[", "[]", "[x-]", a trailing '\\', a range
 * backwards) are errors naming the pattern. */
int engine_ignore_new(struct engine_ignore **out, const char *const *patterns,
		      struct px_error *err);
void engine_ignore_free(struct engine_ignore *m);

size_t engine_ignore_count(const struct engine_ignore *m);
/* Whether any pattern is an exception ("!..."). */
bool engine_ignore_exclusions(const struct engine_ignore *m);
/* Pattern i cleaned, without its '!' (borrowed). */
const char *engine_ignore_pattern(const struct engine_ignore *m, size_t i);
bool engine_ignore_is_exclusion(const struct engine_ignore *m, size_t i);
enum engine_ignore_type engine_ignore_type(const struct engine_ignore *m, size_t i);

/* path ('/'-separated, relative, clean) is excluded: matched by a pattern and not
 * re-included by a later exception.  MatchesExact: path itself only. */
bool engine_ignore_matches_exact(const struct engine_ignore *m, const char *path);
/* MatchesOrParentMatches: a pattern also applies when it matches a parent directory. */
bool engine_ignore_matches_or_parent(const struct engine_ignore *m, const char *path);
/* MatchesUsingParentResults, for a walk: parent (engine_ignore_count() entries) holds what
 * the parent directory's call stored in out, or is NULL at the top (then parents are
 * matched here).  out (may be NULL) receives this path's per-pattern results. */
bool engine_ignore_matches_parents(const struct engine_ignore *m, const char *path,
				   const bool *parent, bool *out);

#endif
