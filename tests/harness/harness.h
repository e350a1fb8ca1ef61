/* harness.h - what every e2e test uses: the components tests/harness/env.sh brought up
 * (engine, images, PostgreSQL, Prisma), private directories, bounded polling, running
 * the real prisync binary, and cleanup of every engine object a test created. */
#ifndef PX_HARNESS_H
#define PX_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/base.h"
#include "engine/engine.h"

/* The value of a variable env.sh exported.  When it is missing the test is skipped —
 * or, under CI=true, fails: a missing component is never a silent skip there. */
const char *harness_env(const char *name);

/* The engine of the harness, opened and pinged once per process (borrowed). */
struct engine *harness_engine(void);

/* Labels every engine object a test creates carries: {"prisync-test.run": <run id>},
 * so env.sh down can remove leftovers.  New reference; the caller decrefs. */
json_t *harness_labels(void);

enum harness_kind { HARNESS_CONTAINER, HARNESS_NETWORK, HARNESS_VOLUME };
/* Remember an engine object for harness_cleanup(). */
void harness_track(enum harness_kind kind, const char *id);
/* Track what a compose project left on the engine (containers, networks, volumes labelled
 * com.docker.compose.project=<project>), so harness_cleanup() removes it whatever prisync did. */
void harness_track_project(const char *project);
/* Remove every tracked object (containers first, forced, with anonymous volumes) and
 * return how many could not be removed.  Call it from each test's teardown so it runs
 * even when the test failed. */
int harness_cleanup(void);

struct harness_dir;
/* The end of a test that ran compose project `project` in dir (its teardown, also after a
 * failure): `prisync down -v`, a detached supervisor that outlived it killed, every
 * tracked object removed (harness_cleanup), and the supervisor's log read for what the
 * sanitizers reported there (it ran under them too).  Returns 0 when all is clean. */
int harness_project_down(const struct harness_dir *dir, const char *project);
/* Did a process that ran under the sanitizers report something in the log dir/rel (printed
 * then)?  No log: no. */
bool harness_log_reports(const char *dir, const char *rel);

/* A private directory for one test with a runtime dir inside (0700), removed after. */
struct harness_dir {
	char *root;    /* the test's working directory */
	char *runtime; /* what XDG_RUNTIME_DIR points at for processes the test runs */
};
void harness_dir_create(struct harness_dir *d);
void harness_dir_remove(struct harness_dir *d);

/* Poll cond(data) until it returns true or timeout_ms passes; backs off from 5 ms to
 * 200 ms between tries.  Returns the last result of cond. */
bool harness_poll(bool (*cond)(void *data), void *data, int timeout_ms);

/* Run the prisync under test ($PRISYNC_BIN) with args (NULL-terminated) in dir (or the
 * current directory when NULL) with XDG_RUNTIME_DIR set to dir's runtime, capturing
 * stdout and stderr.  Returns the exit code; fails the test if it cannot run or hangs
 * past timeout_ms. */
int harness_prisync(const struct harness_dir *dir, struct px_buf *out, struct px_buf *errout,
		    int timeout_ms, ...) __attribute__((sentinel));

/* Point this process's XDG_RUNTIME_DIR at dir's runtime (where the supervisors the test
 * started keep their socket and pid file), returning what it was (owned; NULL: unset) for
 * harness_runtime_leave, which puts it back. */
char *harness_runtime_enter(const struct harness_dir *dir);
void harness_runtime_leave(char *saved);

/* Write text to dir/rel (parent folders made, replaced atomically, mode 0644); fails the
 * test when it cannot. */
void harness_write_file(const char *dir, const char *rel, const char *text);

/* Link <dir>/node_modules to the harness's install of one Prisma major version
 * (install_var: "PRISYNC_TEST_PRISMA6" or "PRISYNC_TEST_PRISMA7"). */
void harness_link_node_modules(const char *dir, const char *install_var);

/* Run `node args...` (at most 6 arguments, NULL-terminated) in dir, capturing stdout and
 * stderr (both reset first).  The test's environment is passed on without any
 * DATABASE_URL of its own, plus extra_env ("KEY=VALUE") when not NULL.  Returns the exit
 * code; fails the test if node cannot run or hangs past timeout_ms. */
int harness_node(const char *dir, struct px_buf *out, struct px_buf *errout,
		 const char *const *args, const char *extra_env, int timeout_ms);

#endif
