/* watcher.c - the inotify thread (libinotifytools) and the coalescing of its changes into
 * batches on the caller's loop.  See watcher.h for the behaviour. */
#include "watcher/watcher.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/path.h"
#include "base/xmalloc.h"
#include "vcs/vcs.h"

#define DEFAULT_DEBOUNCE_MS     50
#define DEFAULT_DEBOUNCE_MAX_MS 2000

#define DIR_EVENTS                                                                                 \
	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR)

struct watched {
	int wd;
	char *path;
};

struct root {
	char *path;
	bool dir;
};

struct watcher {
	struct px_loop *loop;
	struct root *roots;
	size_t nroots;
	bool (*want)(void *data, const char *path);
	void (*on_batch)(void *data, const struct watcher_batch *batch);
	void *data;
	void *want_data;
	int debounce_ms, debounce_max_ms;
	/* libinotifytools' inotify descriptor: watches are added and removed on it directly,
	 * so a watch's wd comes from the kernel, never from the library's by-name map (which
	 * keeps a deleted directory's stale entry and would hand back its old wd) */
	int ifd;
	int control_wd;

	/* the watcher thread's own */
	pthread_t thread;
	char *project_dir;      /* where the repository is looked for; NULL: no ignore rules */
	struct vcs_repo *repo;  /* open only around a burst of events (see watcher_main) */
	char *control; /* a private directory: a file created in it wakes the thread */

	/* shared, under lock */
	pthread_mutex_t lock;
	struct watched *watched;
	size_t nwatched, capwatched;
	char **pending;
	size_t npending, cappending;

	/* the loop's own */
	char **batch;
	size_t nbatch, capbatch;
	struct px_timer *quiet, *cap;
	struct px_timer *hold_cap; /* a hold's end at the latest */

	bool enospc_told;      /* thread */
	bool pending_overflow; /* lock */
	bool posted;           /* lock */
	bool stopping;         /* lock */
	bool batch_overflow;   /* loop */
	bool held;             /* loop: watcher_hold */
	bool deferred;         /* loop: a flush came due while held */
	bool poked;            /* loop: flush even an empty batch */
	bool closing;          /* loop: watcher_stop runs, no more batches */
};

/* ---- the watch list (lock held) ---- */

static const char *watched_path(struct watcher *w, int wd)
{
	for (size_t i = 0; i < w->nwatched; i++) {
		if (w->watched[i].wd == wd)
			return w->watched[i].path;
	}
	return NULL;
}

static bool is_watched(struct watcher *w, const char *path)
{
	for (size_t i = 0; i < w->nwatched; i++) {
		if (strcmp(w->watched[i].path, path) == 0)
			return true;
	}
	return false;
}

/* path is p or under p */
static bool under(const char *path, const char *p)
{
	return px_path_below(path, p) != NULL;
}

/* Forget (and unwatch) dir and everything under it. */
static void unwatch_tree(struct watcher *w, const char *dir)
{
	size_t kept = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nwatched; i++) {
		if (under(w->watched[i].path, dir)) {
			inotify_rm_watch(w->ifd, w->watched[i].wd);
			free(w->watched[i].path);
		} else {
			w->watched[kept++] = w->watched[i];
		}
	}
	w->nwatched = kept;
	pthread_mutex_unlock(&w->lock);
}

static void forget_wd(struct watcher *w, int wd)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nwatched; i++) {
		if (w->watched[i].wd == wd) {
			char *gone = w->watched[i].path;

			w->watched[i] = w->watched[--w->nwatched];
			free(gone);
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

/* ---- ignore rules (watcher thread) ---- */

/* The repository of the project, opened on first need (watcher thread, or the starting
 * thread before the watcher thread exists). */
static struct vcs_repo *repo_of(struct watcher *w)
{
	struct px_error err = PX_ERROR_INIT;

	if (w->repo != NULL || w->project_dir == NULL || !vcs_in_work_tree(w->project_dir))
		return w->repo;
	if (vcs_open(&w->repo, w->project_dir, &err) < 0) {
		/* a broken repository only costs the .gitignore rules */
		px_debug("%s", px_error_msg(&err));
		px_error_clear(&err);
		w->repo = NULL;
	}
	return w->repo;
}

static bool git_ignored(struct watcher *w, const char *path, bool dir)
{
	struct px_error err = PX_ERROR_INIT;
	bool ignored = false;
	char *p;

	if (repo_of(w) == NULL || !under(path, vcs_workdir(w->repo)))
		return false;
	/* a trailing '/' tells libgit2 it is a directory ("build/" rules) */
	if (dir)
		xasprintf(&p, "%s/", path);
	else
		p = xstrdup(path);
	if (vcs_path_ignored(w->repo, p, &ignored, &err) < 0) {
		px_debug("ignore rules for %s: %s", path, px_error_msg(&err));
		px_error_clear(&err);
		ignored = false;
	}
	free(p);
	return ignored;
}

/* ---- adding watches (watcher thread) ---- */

static void add_watch(struct watcher *w, const char *dir)
{
	int wd;

	pthread_mutex_lock(&w->lock);
	if (is_watched(w, dir)) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_unlock(&w->lock);
	wd = inotify_add_watch(w->ifd, dir, DIR_EVENTS);
	if (wd < 0) {
		int e = errno;

		if (e == ENOSPC && !w->enospc_told) {
			w->enospc_told = true;
			px_warn("no inotify watch left for '%s' (fs.inotify.max_user_watches = %d): "
				"raise it with 'sysctl fs.inotify.max_user_watches=524288'; "
				"watching what fits",
				dir, inotifytools_get_max_user_watches());
		} else if (e != ENOSPC && e != ENOENT && e != ENOTDIR) {
			px_warn("cannot watch '%s': %s", dir, strerror(e));
		}
		return;
	}
	pthread_mutex_lock(&w->lock);
	if (w->nwatched == w->capwatched) {
		w->capwatched = w->capwatched ? w->capwatched * 2 : 16;
		w->watched = xreallocarray(w->watched, w->capwatched, sizeof(*w->watched));
	}
	w->watched[w->nwatched].wd = wd;
	w->watched[w->nwatched].path = xstrdup(dir);
	w->nwatched++;
	pthread_mutex_unlock(&w->lock);
}

static void note_change(struct watcher *w, const char *path);
static bool file_counts(struct watcher *w, const char *path);

/* Watch dir and every directory under it that the rules let in; with report, every file
 * found counts as changed (it may have been written before its directory was watched). */
static void watch_tree(struct watcher *w, const char *dir, bool report)
{
	DIR *d;
	struct dirent *de;

	if (git_ignored(w, dir, true))
		return;
	add_watch(w, dir);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *child;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    watcher_is_vcs_dir(de->d_name))
			continue;
		child = px_path_join(dir, de->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			watch_tree(w, child, report);
		else if (report && file_counts(w, child))
			note_change(w, child);
		free(child);
	}
	closedir(d);
}

/* Make the watches of every root present: the tree of a directory root, the directory
 * of a file root, or the deepest existing ancestor of a root not there yet. */
static void ensure_roots(struct watcher *w, bool report)
{
	for (size_t i = 0; i < w->nroots; i++) {
		const struct root *r = &w->roots[i];
		char *dir = r->dir ? xstrdup(r->path) : px_path_dirname(r->path);
		struct stat st;

		while (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			char *up = px_path_dirname(dir);

			if (strcmp(up, dir) == 0) {
				free(up);
				break;
			}
			free(dir);
			dir = up;
		}
		if (r->dir && strcmp(dir, r->path) == 0)
			watch_tree(w, dir, report);
		else
			add_watch(w, dir);
		free(dir);
	}
}

/* ---- what the thread hands to the loop ---- */

static void drain(void *data);

static void post_locked(struct watcher *w)
{
	if (!w->posted && !w->stopping) {
		w->posted = true;
		px_loop_post(w->loop, drain, w);
	}
}

static void note_change(struct watcher *w, const char *path)
{
	pthread_mutex_lock(&w->lock);
	if (w->npending == w->cappending) {
		w->cappending = w->cappending ? w->cappending * 2 : 64;
		w->pending = xreallocarray(w->pending, w->cappending, sizeof(*w->pending));
	}
	w->pending[w->npending++] = xstrdup(path);
	post_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static void note_overflow(struct watcher *w)
{
	pthread_mutex_lock(&w->lock);
	w->pending_overflow = true;
	post_locked(w);
	pthread_mutex_unlock(&w->lock);
}

/* ---- the thread ---- */

/* Does path (a file) count? */
static bool file_counts(struct watcher *w, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (watcher_is_editor_temp(base))
		return false;
	for (size_t i = 0; i < w->nroots; i++) {
		const struct root *r = &w->roots[i];

		if (!r->dir && strcmp(path, r->path) == 0)
			return true;
		/* a directory root that did not exist at start and turned up as a file: the
		 * file itself is the change (a develop.watch path can be either) */
		if (r->dir && strcmp(path, r->path) == 0)
			return w->want == NULL || w->want(w->want_data, path);
		if (r->dir && under(path, r->path) && strcmp(path, r->path) != 0)
			return (w->want == NULL || w->want(w->want_data, path)) &&
			       !git_ignored(w, path, false);
	}
	return false;
}

/* A directory appeared (created or renamed in) at path. */
static void dir_appeared(struct watcher *w, const char *path)
{
	for (size_t i = 0; i < w->nroots; i++) {
		const struct root *r = &w->roots[i];

		/* on the way to a root not there yet: the root may be complete now */
		if (under(r->path, path)) {
			ensure_roots(w, true);
			/* files that came with it, before its watch */
			for (size_t k = 0; k < w->nroots; k++) {
				struct stat st;

				if (under(w->roots[k].path, path) &&
				    stat(w->roots[k].path, &st) == 0)
					note_change(w, w->roots[k].path);
			}
			return;
		}
		if (r->dir && under(path, r->path) && !watcher_is_vcs_dir(strrchr(path, '/') + 1) &&
		    !git_ignored(w, path, true)) {
			watch_tree(w, path, true);
			note_change(w, path);
			return;
		}
	}
}

static void dir_gone(struct watcher *w, const char *path)
{
	bool counts = false;

	unwatch_tree(w, path);
	for (size_t i = 0; i < w->nroots; i++) {
		if (under(path, w->roots[i].path) || under(w->roots[i].path, path))
			counts = true;
	}
	if (counts)
		note_change(w, path);
}

static void handle(struct watcher *w, const struct inotify_event *ev)
{
	char dir[4096], *path;

	if (ev->mask & IN_Q_OVERFLOW) {
		ensure_roots(w, false);
		note_overflow(w);
		return;
	}
	if (ev->wd == w->control_wd)
		return;
	pthread_mutex_lock(&w->lock);
	{
		const char *p = watched_path(w, ev->wd);

		if (p == NULL) {
			pthread_mutex_unlock(&w->lock);
			return;
		}
		snprintf(dir, sizeof(dir), "%s", p);
	}
	pthread_mutex_unlock(&w->lock);
	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_MOVE_SELF)
			unwatch_tree(w, dir);
		else
			forget_wd(w, ev->wd);
		/* a root's directory went away: wait for it on an ancestor */
		ensure_roots(w, false);
		return;
	}
	if (ev->len == 0)
		return;
	path = px_path_join(dir, ev->name);
	if (ev->mask & IN_ISDIR) {
		if (!watcher_is_vcs_dir(ev->name)) {
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				dir_appeared(w, path);
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				dir_gone(w, path);
		}
	} else if (file_counts(w, path)) {
		note_change(w, path);
	}
	free(path);
}

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;

	for (;;) {
		/* with the repository open, wait at most a second: a second without events
		 * closes it (and unloads libgit2) -- one wakeup after a burst, none while idle */
		struct inotify_event *ev = inotifytools_next_event(w->repo != NULL ? 1 : 0 /* block */);
		bool stop;

		pthread_mutex_lock(&w->lock);
		stop = w->stopping;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		if (ev == NULL && inotifytools_error() == 0 && w->repo != NULL) {
			vcs_free(w->repo); /* the last one out unloads libgit2 */
			w->repo = NULL;
			malloc_trim(0);
			continue;
		}
		if (ev == NULL) {
			if (inotifytools_error() != EINTR && inotifytools_error() != 0) {
				px_warn("watching files stopped: %s", strerror(inotifytools_error()));
				break;
			}
			continue;
		}
		handle(w, ev);
	}
	return NULL;
}

/* ---- the loop side: coalescing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void flush(struct watcher *w)
{
	struct watcher_batch b = {.overflow = w->batch_overflow};
	size_t i, n = 0;

	px_loop_timer_disarm(w->quiet);
	px_loop_timer_disarm(w->cap);
	if (w->nbatch > 0)
		qsort(w->batch, w->nbatch, sizeof(*w->batch), cmp_str);
	b.changes = xcalloc(w->nbatch + 1, sizeof(*b.changes));
	for (i = 0; i < w->nbatch; i++) {
		struct stat st;

		if (n > 0 && strcmp(b.changes[n - 1].path, w->batch[i]) == 0) {
			free(w->batch[i]);
			continue;
		}
		b.changes[n].path = w->batch[i];
		/* the state now, not what the events said on the way */
		b.changes[n].exists = lstat(w->batch[i], &st) == 0;
		n++;
	}
	b.n = n;
	w->nbatch = 0;
	w->batch_overflow = false;
	w->deferred = false;
	if (b.n > 0 || b.overflow || w->poked) {
		w->poked = false;
		w->on_batch(w->data, &b);
	}
	for (i = 0; i < n; i++)
		free(b.changes[i].path);
	free(b.changes);
}

static void on_timer(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct watcher *w = data;

	(void)loop;
	if (w->closing)
		return;
	if (t == w->hold_cap) {
		px_warn("a git operation seems to hang (a lock file stayed %d s): not waiting for "
			"it any longer",
			WATCHER_HOLD_MAX_MS / 1000);
		w->held = false;
	} else if (w->held) {
		/* the flush waits for watcher_hold(false) */
		w->deferred = true;
		px_loop_timer_disarm(w->quiet);
		px_loop_timer_disarm(w->cap);
		return;
	}
	flush(w);
}

void watcher_hold(struct watcher *w, bool hold)
{
	if (w == NULL || hold == w->held)
		return;
	w->held = hold;
	if (hold) {
		px_loop_timer_rearm(w->hold_cap, WATCHER_HOLD_MAX_MS, 0);
		return;
	}
	px_loop_timer_disarm(w->hold_cap);
	/* what the operation did last may still be on its way from the thread */
	if (w->deferred || w->nbatch > 0 || w->batch_overflow || w->poked)
		px_loop_timer_rearm(w->quiet, (uint64_t)w->debounce_ms, 0);
}

void watcher_poke(struct watcher *w)
{
	if (w == NULL)
		return;
	w->poked = true;
	if (!px_loop_timer_armed(w->cap) && !w->deferred)
		px_loop_timer_rearm(w->cap, (uint64_t)w->debounce_max_ms, 0);
	px_loop_timer_rearm(w->quiet, (uint64_t)w->debounce_ms, 0);
}

static void drain(void *data)
{
	struct watcher *w = data;
	bool first = w->nbatch == 0 && !w->batch_overflow;

	pthread_mutex_lock(&w->lock);
	w->posted = false;
	if (w->nbatch + w->npending > w->capbatch) {
		w->capbatch = w->nbatch + w->npending + 64;
		w->batch = xreallocarray(w->batch, w->capbatch, sizeof(*w->batch));
	}
	memcpy(w->batch + w->nbatch, w->pending, w->npending * sizeof(*w->pending));
	w->nbatch += w->npending;
	w->npending = 0;
	w->batch_overflow |= w->pending_overflow;
	w->pending_overflow = false;
	pthread_mutex_unlock(&w->lock);
	if (w->nbatch == 0 && !w->batch_overflow)
		return;
	if (first)
		px_loop_timer_rearm(w->cap, (uint64_t)w->debounce_max_ms, 0);
	px_loop_timer_rearm(w->quiet, (uint64_t)w->debounce_ms, 0);
}

/* ---- start and stop ---- */

/* The inotify descriptors open now, as a bitmap over fd numbers below 1024. */
static void inotify_fds(unsigned char *set, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	memset(set, 0, n);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char link[64], path[300];
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		ssize_t len;

		if (*end != '\0' || fd <= 0 || (size_t)fd >= n * 8)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			link[len] = '\0';
			if (strcmp(link, "anon_inode:inotify") == 0)
				set[fd / 8] |= (unsigned char)(1u << (fd % 8));
		}
	}
	closedir(d);
}

int watcher_start(struct watcher **out, struct px_loop *loop, const struct watcher_opts *o,
		  struct px_error *err)
{
	struct watcher *w;
	char tmpl[] = "/tmp/prisync-watch-XXXXXX";

	unsigned char before[128], after[128];
	int ifd = -1;

	*out = NULL;
	inotify_fds(before, sizeof(before));
	if (!inotifytools_initialize())
		return px_error_set(err, inotifytools_error(), "cannot start watching files: %s",
				    strerror(inotifytools_error()));
	/* the library does not tell its descriptor: it is the inotify one that just opened */
	inotify_fds(after, sizeof(after));
	for (int fd = 0; fd < (int)sizeof(after) * 8 && ifd < 0; fd++) {
		if ((after[fd / 8] & (1u << (fd % 8))) && !(before[fd / 8] & (1u << (fd % 8))))
			ifd = fd;
	}
	if (ifd < 0) {
		inotifytools_cleanup();
		return px_error_set(err, 0, "cannot find the inotify descriptor of libinotifytools");
	}
	w = xcalloc(1, sizeof(*w));
	w->ifd = ifd;
	w->loop = loop;
	w->want = o->want;
	w->on_batch = o->on_batch;
	w->data = o->data;
	w->want_data = o->want_data != NULL ? o->want_data : o->data;
	w->debounce_ms = o->debounce_ms >= 0 ? o->debounce_ms : DEFAULT_DEBOUNCE_MS;
	w->debounce_max_ms = o->debounce_max_ms > 0 ? o->debounce_max_ms : DEFAULT_DEBOUNCE_MAX_MS;
	w->roots = xcalloc(o->nroots + 1, sizeof(*w->roots));
	for (size_t i = 0; i < o->nroots; i++) {
		w->roots[i].path = px_path_clean(o->roots[i].path);
		w->roots[i].dir = o->roots[i].dir;
	}
	w->nroots = o->nroots;
	pthread_mutex_init(&w->lock, NULL);
	w->quiet = px_loop_timer_add(loop, 0, 0, on_timer, w, err);
	w->cap = px_loop_timer_add(loop, 0, 0, on_timer, w, err);
	w->hold_cap = px_loop_timer_add(loop, 0, 0, on_timer, w, err);
	px_loop_timer_disarm(w->quiet);
	px_loop_timer_disarm(w->cap);
	px_loop_timer_disarm(w->hold_cap);
	w->project_dir = o->project_dir != NULL ? xstrdup(o->project_dir) : NULL;
	/* waking the thread to stop it is a file created in a directory it watches: no
	 * signal, no timeout, no wakeup while idle */
	if (mkdtemp(tmpl) == NULL) {
		px_error_set(err, errno, "cannot create a directory in /tmp");
		goto fail;
	}
	w->control = xstrdup(tmpl);
	w->control_wd = inotify_add_watch(w->ifd, w->control, IN_CREATE);
	if (w->control_wd < 0) {
		px_error_set(err, errno, "cannot watch '%s'", w->control);
		goto fail;
	}
	ensure_roots(w, false);
	if (pthread_create(&w->thread, NULL, watcher_main, w) != 0) {
		px_error_set(err, EAGAIN, "cannot start the watcher thread");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w->control != NULL)
		rmdir(w->control);
	w->thread = 0;
	w->stopping = true;
	watcher_stop(w);
	return -1;
}

void watcher_stop(struct watcher *w)
{
	if (w == NULL)
		return;
	w->closing = true;
	if (w->thread != 0) {
		char *stop = px_path_join(w->control, "stop");
		FILE *f;

		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_mutex_unlock(&w->lock);
		f = fopen(stop, "w");
		if (f != NULL)
			fclose(f);
		pthread_join(w->thread, NULL);
		unlink(stop);
		free(stop);
		/* a drain posted before stopping still points at w: let it run first */
		while (w->posted)
			px_loop_run_once(w->loop, 100);
	}
	if (w->control != NULL)
		rmdir(w->control);
	inotifytools_cleanup();
	vcs_free(w->repo);
	free(w->project_dir);
	px_loop_timer_del(w->quiet);
	px_loop_timer_del(w->cap);
	px_loop_timer_del(w->hold_cap);
	for (size_t i = 0; i < w->nwatched; i++)
		free(w->watched[i].path);
	for (size_t i = 0; i < w->npending; i++)
		free(w->pending[i]);
	for (size_t i = 0; i < w->nbatch; i++)
		free(w->batch[i]);
	for (size_t i = 0; i < w->nroots; i++)
		free(w->roots[i].path);
	free(w->watched);
	free(w->pending);
	free(w->batch);
	free(w->roots);
	free(w->control);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

bool watcher_is_watching(struct watcher *w, const char *dir)
{
	char *clean = px_path_clean(dir);
	bool yes;

	pthread_mutex_lock(&w->lock);
	yes = is_watched(w, clean);
	pthread_mutex_unlock(&w->lock);
	free(clean);
	return yes;
}

size_t watcher_nwatches(struct watcher *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->nwatched;
	pthread_mutex_unlock(&w->lock);
	return n;
}
