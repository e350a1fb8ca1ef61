/* exec.c - a command run inside a running container (docker exec without a TTY): create the
 * exec, attach to its multiplexed output until it ends, then read its exit code. */
#include "engine/transport.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/xmalloc.h"

/* How long an exec may still look running once its output ended (it never should). */
#define EXEC_EXIT_WAIT_MS 10000

struct exec_sink {
	struct engine_demux demux;
	struct px_buf *out;
	struct px_buf *errout;
	struct px_error derr;
	bool failed;
};

static int exec_frame(int stream, const char *buf, size_t len, void *data)
{
	struct exec_sink *s = data;

	/* the engine's own error (3) goes with the command's stderr */
	if (stream == ENGINE_STDOUT && s->out != NULL)
		px_buf_add(s->out, buf, len);
	else if ((stream == ENGINE_STDERR || stream == ENGINE_SYSERR) && s->errout != NULL)
		px_buf_add(s->errout, buf, len);
	return 0;
}

static int exec_data(const char *buf, size_t len, void *data)
{
	struct exec_sink *s = data;

	if (engine_demux_feed(&s->demux, buf, len, exec_frame, s, &s->derr) < 0) {
		s->failed = true;
		return 1;
	}
	return 0;
}

static json_t *string_array(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* GET /exec/{id}/json until it is no longer running.  The engine sets the exit code before
 * it closes the output, so the first answer is normally final; the poll is a safety net
 * against engines that do it the other way round. */
static int exec_exit_code(struct engine *e, const char *path, int *exit_code, struct px_error *err)
{
	long deadline = (long)(px_mono_ns() / 1000000) + EXEC_EXIT_WAIT_MS, pause = 5;
	json_t *res = NULL, *code;
	int ret = -1;

	for (;;) {
		if (engine_request(e, "GET", path, NULL, NULL, &res, err) < 0)
			goto out;
		code = json_object_get(res, "ExitCode");
		if (!json_is_true(json_object_get(res, "Running")) && json_is_integer(code)) {
			if (exit_code != NULL)
				*exit_code = (int)json_integer_value(code);
			ret = 0;
			goto out;
		}
		json_decref(res);
		res = NULL;
		if ((long)(px_mono_ns() / 1000000) >= deadline) {
			px_error_set(err, 0,
				     "the command's output ended but it still runs after %d s",
				     EXEC_EXIT_WAIT_MS / 1000);
			goto out;
		}
		px_sleep_ms(pause);
		pause = pause < 200 ? pause * 2 : 200;
	}
out:
	json_decref(res);
	return ret;
}

int engine_exec(struct engine *e, const char *container, const char *const *argv,
		const char *const *env, const char *workdir, const char *user, struct px_buf *out,
		struct px_buf *errout, int *exit_code, struct px_error *err)
{
	return engine_exec_tracked(e, container, argv, env, workdir, user, out, errout, exit_code,
				   NULL, err);
}

int engine_exec_tracked(struct engine *e, const char *container, const char *const *argv,
			const char *const *env, const char *workdir, const char *user,
			struct px_buf *out, struct px_buf *errout, int *exit_code, char **exec_id_out,
			struct px_error *err)
{
	struct exec_sink sink = {.out = out, .errout = errout, .derr = PX_ERROR_INIT};
	json_t *body = NULL, *start = NULL, *res = NULL;
	char *cpath = NULL, *esc = NULL, *path = NULL;
	const char *exec_id;
	long status = 0;
	int rc, ret = -1;

	engine_demux_init(&sink.demux);
	if (engine_check_arg(container, "container id", err) < 0)
		goto wrap;
	if (argv == NULL || argv[0] == NULL) {
		px_error_set(err, 0, "no command to run");
		goto wrap;
	}
	body = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 0, "AttachStdout", 1,
			 "AttachStderr", 1, "Tty", 0, "Cmd", string_array(argv));
	if (env != NULL)
		json_object_set_new(body, "Env", string_array(env));
	if (workdir != NULL && *workdir != '\0')
		json_object_set_new(body, "WorkingDir", json_string(workdir));
	if (user != NULL && *user != '\0')
		json_object_set_new(body, "User", json_string(user));
	esc = engine_path_escape(
	    container[0] == '/' && container[1] != '\0' ? container + 1 : container, false);
	xasprintf(&cpath, "/containers/%s/exec", esc);
	/* 404: no such container; 409: it is not running (the engine says which) */
	if (engine_request(e, "POST", cpath, body, &status, &res, err) < 0)
		goto wrap;
	exec_id = json_string_value(json_object_get(res, "Id"));
	if (exec_id == NULL || *exec_id == '\0') {
		px_error_set(err, 0, "engine: the answer has no exec Id");
		goto wrap;
	}
	if (exec_id_out != NULL)
		*exec_id_out = xstrdup(exec_id);
	free(esc);
	esc = engine_path_escape(exec_id, false);
	xasprintf(&path, "/exec/%s/start", esc);
	/* the engine takes the connection over and writes the multiplexed output until the
	 * command's streams close, then closes it: the body ends with the connection */
	start = json_pack("{s:b,s:b}", "Detach", 0, "Tty", 0);
	rc = engine_stream(e, "POST", path, start, exec_data, &sink, NULL, err);
	if (sink.failed) {
		px_error_move(err, &sink.derr);
		goto wrap;
	}
	if (rc < 0)
		goto wrap;
	if (rc == 1) {
		engine_error_interrupted(err);
		goto wrap;
	}
	if (engine_demux_finish(&sink.demux, err) < 0)
		goto wrap;
	free(path);
	xasprintf(&path, "/exec/%s/json", esc);
	if (exec_exit_code(e, path, exit_code, err) < 0)
		goto wrap;
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot run '%s' in container '%s'",
		      argv != NULL && argv[0] != NULL ? argv[0] : "",
		      container != NULL ? container : "");
out:
	px_error_clear(&sink.derr);
	json_decref(body);
	json_decref(start);
	json_decref(res);
	free(cpath);
	free(esc);
	free(path);
	return ret;
}

/* The pids whose parent is in set (one pass over /proc), appended to set: called until
 * it adds nothing, it closes set over the process tree. */
static size_t add_children(pid_t **set, size_t n, size_t *cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t added = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[64], buf[512], *close_paren;
		long pid = strtol(de->d_name, NULL, 10), ppid;
		FILE *f;
		bool known = false;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		close_paren = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
		if (close_paren == NULL || close_paren[1] != ' ' || close_paren[2] == '\0' ||
		    close_paren[3] != ' ')
			continue;
		ppid = strtol(close_paren + 4, NULL, 10);
		for (size_t i = 0; i < n && !known; i++)
			known = (*set)[i] == (pid_t)pid;
		for (size_t i = 0; i < n && !known; i++) {
			if ((*set)[i] == (pid_t)ppid) {
				if (n == *cap) {
					*cap *= 2;
					*set = xreallocarray(*set, *cap, sizeof(**set));
				}
				(*set)[n++] = (pid_t)pid;
				added++;
				break;
			}
		}
	}
	closedir(d);
	return added;
}

int engine_exec_kill(struct engine *e, const char *exec_id, struct px_error *err)
{
	char *esc = NULL, *path = NULL;
	json_t *res = NULL;
	size_t n = 1, cap = 16;
	pid_t *set = NULL;
	json_int_t pid;
	int ret = -1;

	if (engine_check_arg(exec_id, "exec id", err) < 0)
		return -1;
	if (!engine_is_local(e))
		return px_error_set(err, ENOTSUP,
				    "cannot kill a command in a container of a remote engine");
	esc = engine_path_escape(exec_id, false);
	xasprintf(&path, "/exec/%s/json", esc);
	if (engine_request(e, "GET", path, NULL, NULL, &res, err) < 0)
		goto out;
	pid = json_integer_value(json_object_get(res, "Pid"));
	if (!json_is_true(json_object_get(res, "Running")) || pid <= 1) {
		ret = 0;
		goto out;
	}
	/* the whole tree, collected before any of it dies (an orphan is re-parented) */
	set = xmalloc(cap * sizeof(*set));
	set[0] = (pid_t)pid;
	for (size_t more = 1; more > 0; n += more)
		more = add_children(&set, n, &cap);
	for (size_t i = 0; i < n; i++)
		kill(set[i], SIGKILL);
	ret = 0;
out:
	free(set);
	json_decref(res);
	free(esc);
	free(path);
	return ret;
}
