/* vcs.h - the public header of vcs/: the project's git repository through libgit2 --
 * discovery, HEAD, ignore rules (later: HEAD moves, schema changes between commits). */
#ifndef PX_VCS_H
#define PX_VCS_H

#include <stdbool.h>

#include "base/error.h"

/*
 * Ownership and threads: a struct vcs_repo is created by vcs_open() and belongs to the
 * caller until vcs_free().  Like the libgit2 repository inside it, it must be used by
 * one thread at a time and is never shared between threads; a thread that needs the
 * repository opens its own.  Strings returned by getters are borrowed from the repo
 * and live until vcs_free().
 *
 * libgit2's global state is initialised once per process (pthread_once) on the first
 * vcs_open() and never shut down: a shutdown at the last vcs_free() would race with
 * another thread's vcs_open(), and the process exit reclaims it anyway.
 */
struct vcs_repo;

/* What HEAD points at. */
struct vcs_head {
	char branch[256]; /* "main" for refs/heads/main; "" when detached */
	char oid[41];     /* hex commit id; "" when unborn */
	bool detached;    /* HEAD names a commit, not a branch */
	bool unborn;      /* HEAD names a branch that has no commit yet (fresh repository) */
};

/* Open the git working tree that contains path (a file or a directory), discovering
 * upward like git does (not across file systems).  Returns 0 with *out set (owned), 1
 * with *out NULL when path is in no git working tree (a bare repository counts as
 * none) -- not an error -- and -1 when path does not exist or the repository cannot
 * be opened. */
int vcs_open(struct vcs_repo **out, const char *path, struct px_error *err);

/* Free the repository; NULL-safe. */
void vcs_free(struct vcs_repo *r);

/* The absolute path of the working tree, without a trailing '/' (borrowed). */
const char *vcs_workdir(const struct vcs_repo *r);

/* Read HEAD into *out (fully overwritten).  A branch name longer than out->branch holds
 * is an error, never truncated. */
int vcs_head(struct vcs_repo *r, struct vcs_head *out, struct px_error *err);

/* Whether git would ignore path (.gitignore files, .git/info/exclude,
 * core.excludesFile; negations honoured; a file under an ignored directory is
 * ignored).  path is absolute or relative to the working tree and need not exist; a
 * trailing '/' marks a directory.  A path outside the working tree is an error; the
 * working tree itself is never ignored. */
int vcs_path_ignored(struct vcs_repo *r, const char *path, bool *ignored, struct px_error *err);

#endif
