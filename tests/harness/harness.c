/* harness.c - e2e helpers: components from env.sh, private dirs, polling, the prisync
 * binary, and tracked cleanup of engine objects. */
#include "tests/harness/harness.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

struct tracked {
	enum harness_kind kind;
	char *id;
};

static struct tracked *tracked;
static size_t ntracked;
static struct engine *engine;

const char *harness_env(const char *name)
{
	const char *v = getenv(name);
	const char *ci = getenv("CI");

	if (v != NULL && v[0] != '\0')
		return v;
	if (ci != NULL && strcmp(ci, "true") == 0)
		fail_msg(
		    "harness component missing: %s is not set (CI=true: a missing component fails)",
		    name);
	print_message("harness component missing: %s is not set; skipping\n", name);
	skip();
	return NULL; /* not reached */
}

struct engine *harness_engine(void)
{
	struct px_error err = PX_ERROR_INIT;
	const char *host = harness_env("DOCKER_HOST");

	if (engine != NULL)
		return engine;
	if (engine_open(&engine, host, &err) < 0 || engine_ping(engine, &err) < 0)
		fail_msg("harness engine at %s: %s", host, px_error_msg(&err));
	px_error_clear(&err);
	return engine;
}

json_t *harness_labels(void)
{
	return json_pack("{s:s}", "prisync-test.run", harness_env("PRISYNC_TEST_RUN"));
}

void harness_track(enum harness_kind kind, const char *id)
{
	tracked = xreallocarray(tracked, ntracked + 1, sizeof(*tracked));
	tracked[ntracked].kind = kind;
	tracked[ntracked].id = xstrdup(id);
	ntracked++;
}

/* Track every container, network and volume labelled with the compose project. */
void harness_track_project(const char *project)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL, *o;
	char *filter;
	size_t i;

	xasprintf(&filter, "com.docker.compose.project=%s", project);
	if (engine_container_list(harness_engine(), filter, true, &list, &err) == 0) {
		json_array_foreach(list, i, o)
		{
			harness_track(HARNESS_CONTAINER,
				      json_string_value(json_object_get(o, "Id")));
		}
	}
	json_decref(list);
	list = NULL;
	if (engine_network_list(harness_engine(), filter, &list, &err) == 0) {
		json_array_foreach(list, i, o)
		{
			harness_track(HARNESS_NETWORK, json_string_value(json_object_get(o, "Id")));
		}
	}
	json_decref(list);
	list = NULL;
	if (engine_volume_list(harness_engine(), filter, &list, &err) == 0) {
		json_array_foreach(list, i, o)
		{
			harness_track(HARNESS_VOLUME,
				      json_string_value(json_object_get(o, "Name")));
		}
	}
	json_decref(list);
	px_error_clear(&err);
	free(filter);
}

char *harness_runtime_enter(const struct harness_dir *dir)
{
	const char *old = getenv("XDG_RUNTIME_DIR");
	char *saved = old != NULL ? xstrdup(old) : NULL;

	setenv("XDG_RUNTIME_DIR", dir->runtime, 1);
	return saved;
}

void harness_runtime_leave(char *saved)
{
	if (saved != NULL)
		setenv("XDG_RUNTIME_DIR", saved, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved);
}

/* Kill the supervisor of project whose pid file is still in dir's runtime directory. */
static void kill_supervisor(const struct harness_dir *dir, const char *project)
{
	struct px_error err = PX_ERROR_INIT;
	char *saved = harness_runtime_enter(dir);
	pid_t pid;

	if (sup_runtime_read_pid(project, &pid, &err) == 0)
		kill(pid, SIGKILL);
	px_error_clear(&err);
	harness_runtime_leave(saved);
}

bool harness_log_reports(const char *dir, const char *rel)
{
	struct px_buf log = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	char *path = px_path_join(dir, rel);
	bool bad = px_path_read_file(path, &log, &err) == 0 &&
		   (strstr(px_buf_cstr(&log), "Sanitizer") != NULL ||
		    strstr(px_buf_cstr(&log), "runtime error") != NULL);

	if (bad)
		print_error("%s reports:\n%s\n", rel, px_buf_cstr(&log));
	px_error_clear(&err);
	px_buf_release(&log);
	free(path);
	return bad;
}

int harness_project_down(const struct harness_dir *dir, const char *project)
{
	struct px_buf out = PX_BUF_INIT, err = PX_BUF_INIT;
	int left;

	harness_track_project(project);
	if (access(dir->root, F_OK) == 0)
		harness_prisync(dir, &out, &err, 120000, "-p", project, "down", "-v", "-t", "1",
				NULL);
	/* `down` stops the supervisor first, unless it could not load the project (a test
	 * that failed with a broken compose file): it must not outlive the test anyway */
	kill_supervisor(dir, project);
	left = harness_cleanup();
	if (harness_log_reports(dir->root, ".prisync/supervisor.log"))
		left++;
	px_buf_release(&out);
	px_buf_release(&err);
	return left;
}

int harness_cleanup(void)
{
	static const enum harness_kind order[] = {HARNESS_CONTAINER, HARNESS_NETWORK,
						  HARNESS_VOLUME};
	struct px_error err = PX_ERROR_INIT;
	int failures = 0;

	if (ntracked == 0)
		return 0;
	/* containers hold networks and volumes: remove them first */
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (size_t i = 0; i < ntracked; i++) {
			int rc = 0;

			if (tracked[i].kind != order[k])
				continue;
			switch (tracked[i].kind) {
			case HARNESS_CONTAINER:
				rc = engine_container_remove(harness_engine(), tracked[i].id, true,
							     true, &err);
				break;
			case HARNESS_NETWORK:
				rc = engine_network_remove(harness_engine(), tracked[i].id, &err);
				break;
			case HARNESS_VOLUME:
				rc = engine_volume_remove(harness_engine(), tracked[i].id, true,
							  &err);
				break;
			}
			if (rc < 0) {
				print_error("harness cleanup of '%s': %s\n", tracked[i].id,
					    px_error_msg(&err));
				failures++;
			}
			px_error_clear(&err);
		}
	}
	for (size_t i = 0; i < ntracked; i++)
		free(tracked[i].id);
	free(tracked);
	tracked = NULL;
	ntracked = 0;
	return failures;
}

void harness_dir_create(struct harness_dir *d)
{
	const char *tmp = getenv("TMPDIR");
	char *tmpl = NULL;

	xasprintf(&tmpl, "%s/prisync-test-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp '%s': %s", tmpl, strerror(errno));
	d->root = tmpl;
	xasprintf(&d->runtime, "%s/run", d->root);
	if (mkdir(d->runtime, 0700) < 0)
		fail_msg("mkdir '%s': %s", d->runtime, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void harness_dir_remove(struct harness_dir *d)
{
	if (d->root != NULL)
		nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(d->root);
	free(d->runtime);
	d->root = NULL;
	d->runtime = NULL;
}

bool harness_poll(bool (*cond)(void *data), void *data, int timeout_ms)
{
	struct timespec start, now;
	long delay_ms = 5;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec ts;
		long elapsed;

		if (cond(data))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms)
			return cond(data);
		if (delay_ms > timeout_ms - elapsed)
			delay_ms = timeout_ms - elapsed;
		ts.tv_sec = delay_ms / 1000;
		ts.tv_nsec = (delay_ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
		delay_ms = delay_ms * 2 > 200 ? 200 : delay_ms * 2;
	}
}

extern char **environ;

int harness_prisync(const struct harness_dir *dir, struct px_buf *out, struct px_buf *errout,
		    int timeout_ms, ...)
{
	const char *bin = getenv("PRISYNC_BIN");
	struct px_error err = PX_ERROR_INIT;
	struct px_proc_opts o = {0};
	const char **argv = NULL, **envp = NULL;
	size_t argc = 0, envc = 0;
	char *runtime_var = NULL;
	int code = -1;
	va_list ap;

	if (bin == NULL || bin[0] == '\0')
		fail_msg("PRISYNC_BIN is not set: run the e2e tests through tests/run.sh");
	argv = xreallocarray(NULL, 1, sizeof(*argv));
	argv[argc++] = bin;
	va_start(ap, timeout_ms);
	for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
		argv = xreallocarray(argv, argc + 1, sizeof(*argv));
		argv[argc++] = a;
	}
	va_end(ap);
	argv = xreallocarray(argv, argc + 1, sizeof(*argv));
	argv[argc] = NULL;

	/* the test's own environment, with XDG_RUNTIME_DIR pointing into its private dir */
	for (char **e = environ; *e != NULL; e++) {
		if (dir != NULL && strncmp(*e, "XDG_RUNTIME_DIR=", 16) == 0)
			continue;
		envp = xreallocarray(envp, envc + 1, sizeof(*envp));
		envp[envc++] = *e;
	}
	if (dir != NULL) {
		xasprintf(&runtime_var, "XDG_RUNTIME_DIR=%s", dir->runtime);
		envp = xreallocarray(envp, envc + 1, sizeof(*envp));
		envp[envc++] = runtime_var;
	}
	envp = xreallocarray(envp, envc + 1, sizeof(*envp));
	envp[envc] = NULL;

	o.argv = argv;
	o.envp = envp;
	o.cwd = dir != NULL ? dir->root : NULL;
	o.in = PX_PROC_NULL;
	o.out = PX_PROC_PIPE;
	o.err = PX_PROC_PIPE;
	if (px_proc_run(&o, out, errout, &code, timeout_ms, &err) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", px_error_msg(&err));
		px_error_clear(&err);
		free(argv);
		free(envp);
		free(runtime_var);
		fail_msg("running prisync: %s", msg);
	}
	free(argv);
	free(envp);
	free(runtime_var);
	return code;
}

void harness_link_node_modules(const char *dir, const char *install_var)
{
	char *target = NULL, *link = px_path_join(dir, "node_modules");

	xasprintf(&target, "%s/node_modules", harness_env(install_var));
	if (symlink(target, link) < 0)
		fail_msg("symlink '%s': %s", link, strerror(errno));
	free(target);
	free(link);
}

int harness_node(const char *dir, struct px_buf *out, struct px_buf *errout,
		 const char *const *args, const char *extra_env, int timeout_ms)
{
	struct px_error err = PX_ERROR_INIT;
	const char *argv[8] = {"node"};
	const char **envp = NULL;
	size_t n = 0;
	int code = -1;
	struct px_proc_opts o = {.argv = argv, .cwd = dir, .in = PX_PROC_NULL,
				 .out = PX_PROC_PIPE, .err = PX_PROC_PIPE};

	for (size_t i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "DATABASE_URL=", 13) == 0)
			continue;
		envp = xreallocarray(envp, n + 1, sizeof(*envp));
		envp[n++] = *e;
	}
	envp = xreallocarray(envp, n + 2, sizeof(*envp));
	envp[n++] = extra_env;
	envp[n] = NULL;
	o.envp = envp;
	px_buf_reset(out);
	px_buf_reset(errout);
	if (px_proc_run(&o, out, errout, &code, timeout_ms, &err) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", px_error_msg(&err));
		px_error_clear(&err);
		free(envp);
		fail_msg("running node: %s", msg);
	}
	free(envp);
	return code;
}

void harness_write_file(const char *dir, const char *rel, const char *text)
{
	struct px_error err = PX_ERROR_INIT;
	char *path = px_path_join(dir, rel), *parent = px_path_dirname(path);

	if (px_path_mkdir_p(parent, 0755, &err) < 0 ||
	    px_path_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
		fail_msg("write '%s': %s", path, px_error_msg(&err));
	free(path);
	free(parent);
}
