/* watcher.h - the public header of watcher/: the inotify thread (libinotifytools), its
 * ignore rules and the coalescing of change bursts into batches on a px_loop. */
#ifndef PX_WATCHER_H
#define PX_WATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/loop.h"

/*
 * Ownership: the predicates below only read their argument (a bare file name, no '/'),
 * keep no pointer to it and allocate nothing, so they are safe from any thread.
 */

/* True when basename is a file an editor creates and removes around a save (swap,
 * backup, lock, autosave or atomic-save temporary).  Such a file must never start a
 * sync: the real edit arrives as a write to, or a rename onto, the real name.  NULL
 * and "" are false. */
bool watcher_is_editor_temp(const char *basename);

/* True when basename is a version-control metadata directory (".git", ".hg", ".svn")
 * whose contents the watcher never descends into.  NULL is false. */
bool watcher_is_vcs_dir(const char *basename);

/*
 * The watcher: a thread that follows what editors do to the roots, and a coalescer on
 * the caller's loop that turns bursts of changes into batches.
 *
 * A file root is watched through its directory (an atomic save replaces the inode, and a
 * deleted file may come back); a directory root recursively, every directory under it
 * that is not .git/.hg/.svn and not ignored by git (.gitignore via libgit2: an ignored
 * directory gets no inotify watch at all).  A root that does not exist yet is picked up
 * when it appears: its deepest existing ancestor is watched meanwhile.  Files count on
 * close-after-write, create, delete and rename (never on every write); editor
 * temporaries never count.  A directory created or renamed under a directory root is
 * watched at once and the files already in it count as changed.
 *
 * Coalescing: each change (re)starts a quiet period of debounce_ms; the batch is flushed
 * when it ends, or debounce_max_ms after the batch's first change, whichever comes
 * first.  At the flush each path's state is read (a write then a delete is a delete).
 * No timer is armed while nothing changes: an idle watcher makes no wakeups.
 *
 * An inotify queue overflow flushes a batch with overflow set (the caller resyncs
 * everything) after the watches are rescanned; running out of watches (ENOSPC) is
 * printed once with the sysctl to raise, and the watcher keeps what it has.
 * libinotifytools has one instance per process: one watcher at a time.
 */
struct watcher_root {
	const char *path; /* absolute */
	bool dir;         /* a directory of files (recursive), else one file */
};

struct watcher_change {
	char *path;  /* absolute */
	bool exists; /* at the flush */
};

struct watcher_batch {
	struct watcher_change *changes; /* sorted by path, each path once */
	size_t n;
	bool overflow; /* events were lost: treat everything as changed */
};

struct watcher_opts {
	const struct watcher_root *roots;
	size_t nroots;
	const char *project_dir; /* its git working tree gives the ignore rules; NULL none */
	int debounce_ms;         /* < 0: the default, 50 */
	int debounce_max_ms;     /* <= 0: the default, 2000 */
	/* which files of a directory root count (NULL: all); runs on the watcher thread */
	bool (*want)(void *data, const char *path);
	/* on the loop thread; the batch is borrowed for the call */
	void (*on_batch)(void *data, const struct watcher_batch *batch);
	void *data;
	void *want_data; /* want's argument; NULL: data */
};

struct watcher;

/* Start watching (the thread and its first watches are in place on return). */
int watcher_start(struct watcher **out, struct px_loop *loop, const struct watcher_opts *o,
		  struct px_error *err);
/* Stop the thread, drop a batch not yet flushed, free.  Runs the loop until no post of the
 * thread is pending, so call it on the loop's thread but outside its callbacks.
 * NULL-safe. */
void watcher_stop(struct watcher *w);
/*
 * Hold the batch (on the loop's thread): while held, neither the quiet period nor
 * debounce_max_ms flushes it -- another program (git checkout) is mid-operation and the
 * rest of its changes belong to the same batch.  A hold gives up by itself
 * WATCHER_HOLD_MAX_MS after it began (a lock file a crashed git left behind).  Releasing
 * restarts the quiet period when changes wait.
 */
#define WATCHER_HOLD_MAX_MS 10000
void watcher_hold(struct watcher *w, bool hold);
/* Something outside the watched files changed (git's HEAD moved): end the quiet period
 * with a batch even when no file changed (on_batch then sees n == 0).  Loop thread. */
void watcher_poke(struct watcher *w);
/* Whether dir holds an inotify watch now (for tests and `status`). */
bool watcher_is_watching(struct watcher *w, const char *dir);
/* The number of inotify watches held. */
size_t watcher_nwatches(struct watcher *w);

#endif
