/* runtime.c - the supervisor's runtime directory: one flock'd `lock` per project,
 * supervisor.pid for clients, cleanup of the socket and pid file on the way out, and the
 * last sync of each schema. */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/xmalloc.h"

#define LOCK_NAME "lock"
#define PID_NAME  "supervisor.pid"
#define SOCK_NAME "supervisor.sock"
#define LAST_SYNC_NAME "last-sync.json"

/* How long a busy lock is retried before we believe another supervisor holds it.  A
 * client's probe (sup_runtime_read_pid) holds a shared lock for microseconds; without
 * the retry, `prisync status` racing `prisync up` could make `up` fail. */
#define LOCK_RETRY_MS 100
#define LOCK_POLL_MS  2

struct sup_runtime {
	char *dir;   /* owned; absolute */
	int lock_fd; /* holds the flock for the runtime's life */
	pid_t owner; /* the process that took the lock: only it removes the files */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Take the exclusive lock without blocking for long: 0 locked, 1 held by someone
 * else, -1 with errno on failure. */
static int lock_exclusive(int fd)
{
	int64_t deadline = now_ms() + LOCK_RETRY_MS;
	struct timespec pause = {0, LOCK_POLL_MS * 1000000L};

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -1;
		if (now_ms() >= deadline)
			return 1;
		nanosleep(&pause, NULL);
	}
}

/* Parse dir/supervisor.pid: 0 with *pid, 1 when there is no such file, -1 on error
 * (unreadable, or not a positive decimal pid followed by at most whitespace). */
static int read_pid_file(const char *dir, pid_t *pid, struct px_error *err)
{
	struct px_error rerr = PX_ERROR_INIT;
	struct px_buf text = PX_BUF_INIT;
	char *path = px_path_join(dir, PID_NAME);
	const char *s;
	char *end;
	long v;
	int ret = -1;

	if (px_path_read_file(path, &text, &rerr) < 0) {
		if (rerr.errnum == ENOENT) {
			px_error_clear(&rerr);
			ret = 1;
		} else {
			px_error_move(err, &rerr);
		}
		goto out;
	}
	s = px_buf_cstr(&text);
	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > INT_MAX) {
		px_error_set(err, 0,
			     "malformed pid file '%s' — remove it if no supervisor is running",
			     path);
		goto out;
	}
	*pid = (pid_t)v;
	ret = 0;
out:
	px_buf_release(&text);
	free(path);
	return ret;
}

/* unlink(path), where "already gone" is fine; other failures are only worth a warning
 * because the caller is on its way out or about to overwrite. */
static void remove_quietly(const char *dir, const char *name)
{
	char *path = px_path_join(dir, name);

	if (unlink(path) < 0 && errno != ENOENT)
		px_warn("cannot remove '%s': %s", path, strerror(errno));
	free(path);
}

int sup_runtime_open(struct sup_runtime **out, const char *project, struct px_error *err)
{
	struct sup_runtime *rt = NULL;
	char *dir = NULL, *lock_path = NULL, *pid_path = NULL, *text = NULL;
	pid_t holder = 0;
	int fd = -1, rc, len, ret = -1;

	*out = NULL;
	if (px_runtime_dir(project, &dir, err) < 0)
		goto out;
	lock_path = px_path_join(dir, LOCK_NAME);
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		px_error_set(err, errno, "cannot open lock file '%s'", lock_path);
		goto out;
	}
	rc = lock_exclusive(fd);
	if (rc < 0) {
		px_error_set(err, errno, "cannot lock '%s'", lock_path);
		goto out;
	}
	if (rc == 1) {
		/* the holder writes its pid right after locking; it may not be there yet */
		if (read_pid_file(dir, &holder, NULL) == 0)
			px_error_set(err, 0,
				     "a supervisor for project '%s' is already running (pid %ld)",
				     project, (long)holder);
		else
			px_error_set(err, 0, "a supervisor for project '%s' is already running",
				     project);
		if (err != NULL)
			err->errnum = EAGAIN;
		goto out;
	}

	/* we hold the lock, so whatever is here belongs to a dead predecessor */
	remove_quietly(dir, SOCK_NAME);
	pid_path = px_path_join(dir, PID_NAME);
	len = xasprintf(&text, "%ld\n", (long)getpid());
	if (px_path_write_file_atomic(pid_path, text, (size_t)len, 0644, err) < 0)
		goto out;

	rt = xcalloc(1, sizeof(*rt));
	rt->dir = dir;
	rt->lock_fd = fd;
	rt->owner = getpid();
	dir = NULL; /* both now belong to rt */
	fd = -1;
	*out = rt;
	ret = 0;
out:
	if (fd >= 0)
		close(fd); /* releases the lock if we took it */
	free(dir);
	free(lock_path);
	free(pid_path);
	free(text);
	return ret;
}

const char *sup_runtime_dir(const struct sup_runtime *rt)
{
	return rt->dir;
}

char *sup_runtime_path(const struct sup_runtime *rt, const char *name)
{
	return px_path_join(rt->dir, name);
}

void sup_runtime_close(struct sup_runtime *rt)
{
	if (rt == NULL)
		return;
	/* a forked child shares the parent's lock (same open file description): it must
	 * neither remove the parent's files nor think closing its copy unlocks anything */
	if (getpid() == rt->owner) {
		remove_quietly(rt->dir, PID_NAME);
		remove_quietly(rt->dir, SOCK_NAME);
	}
	close(rt->lock_fd);
	free(rt->dir);
	free(rt);
}

int sup_runtime_read_pid(const char *project, pid_t *pid, struct px_error *err)
{
	char *dir = NULL, *lock_path = NULL;
	pid_t p = 0;
	int fd = -1, rc, ret = -1;

	*pid = 0;
	if (px_runtime_dir(project, &dir, err) < 0)
		goto out;
	lock_path = px_path_join(dir, LOCK_NAME);
	fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			ret = 1; /* no supervisor ever ran here */
			goto out;
		}
		px_error_set(err, errno, "cannot open lock file '%s'", lock_path);
		goto out;
	}
	/* A shared lock we can take means no supervisor holds the exclusive one: any pid
	 * file is stale.  It is released by close() below, at once. */
	do {
		rc = flock(fd, LOCK_SH | LOCK_NB);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		ret = 1;
		goto out;
	}
	if (errno != EWOULDBLOCK) {
		px_error_set(err, errno, "cannot probe lock file '%s'", lock_path);
		goto out;
	}
	/* held: a supervisor that has not written its pid yet counts as none so far */
	rc = read_pid_file(dir, &p, err);
	if (rc == 0)
		*pid = p;
	ret = rc;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	free(lock_path);
	return ret;
}

static int last_sync_path(const char *project, char **path, struct px_error *err)
{
	char *dir = NULL;

	*path = NULL;
	if (px_runtime_dir(project, &dir, err) < 0)
		return -1;
	*path = px_path_join(dir, LAST_SYNC_NAME);
	free(dir);
	return 0;
}

int sup_last_sync_load(const char *project, json_t **out, struct px_error *err)
{
	struct px_buf data = PX_BUF_INIT;
	char *path = NULL;
	json_error_t jerr;
	int ret = -1;

	*out = NULL;
	if (last_sync_path(project, &path, err) < 0)
		goto out;
	if (px_path_read_file(path, &data, err) < 0) {
		if (err->errnum == ENOENT) {
			px_error_clear(err);
			ret = 1;
		}
		goto out;
	}
	*out = json_loadb(data.data, data.len, 0, &jerr);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		px_error_set(err, 0, "'%s' line %d: not a JSON object (%s) — delete the file",
			     path, jerr.line, jerr.text);
		goto out;
	}
	ret = 0;
out:
	px_buf_release(&data);
	free(path);
	return ret;
}

int sup_last_sync_save(const char *project, const json_t *job, struct px_error *err)
{
	const char *schema = json_string_value(json_object_get(job, "schema"));
	char *path = NULL, *text = NULL;
	json_t *all = NULL;
	int ret = -1;

	if (schema == NULL)
		return px_error_set(err, 0, "a job without a schema");
	/* a broken file is replaced: it only ever held what this function wrote */
	if (sup_last_sync_load(project, &all, err) < 0)
		px_error_clear(err);
	if (all == NULL)
		all = json_object();
	json_object_set(all, schema, (json_t *)job);
	text = json_dumps(all, JSON_COMPACT);
	if (last_sync_path(project, &path, err) < 0)
		goto out;
	if (px_path_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(all);
	free(text);
	free(path);
	return ret;
}
