/* watcher.h - the public header of watcher/: the inotify thread, its ignore rules and
 * the coalescing of change bursts.  This slice holds the ignore rules. */
#ifndef PX_WATCHER_H
#define PX_WATCHER_H

#include <stdbool.h>

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

#endif
