/* vcs.h - the public header of vcs/: the project's git repository through libgit2 --
 * discovery, HEAD, ignore rules, the status of a path, what changed between two commits. */
#ifndef PX_VCS_H
#define PX_VCS_H

#include <stdbool.h>
#include <stddef.h>

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

/* Whether dir (absolute) or a parent holds a .git: a cheap test that loads no libgit2,
 * for callers that open the repository only when there is one. */
bool vcs_in_work_tree(const char *dir);

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

/* The absolute path of the repository's git directory (".git/", or a worktree's own
 * directory under the main one's), without a trailing '/' (borrowed).  HEAD and
 * index.lock live there. */
const char *vcs_gitdir(const struct vcs_repo *r);

/* The directory shared by all worktrees, where refs/ and packed-refs live (the gitdir
 * itself unless r is a linked worktree), without a trailing '/' (borrowed). */
const char *vcs_commondir(const struct vcs_repo *r);

/* path (absolute, or relative to the working tree) relative to the working tree, as git
 * names it: *out is owned, "" for the working tree itself.  An absolute path spelled
 * through a symlink is resolved; a path outside the working tree is an error. */
int vcs_relative(struct vcs_repo *r, const char *path, char **out, struct px_error *err);

/* What git says about a path, most telling first. */
enum vcs_status {
	VCS_CLEAN,     /* tracked and unchanged (or a directory holding nothing but those) */
	VCS_MODIFIED,  /* differs from HEAD in the index or the working tree: edited,
			* staged, deleted, renamed, type changed, conflicted */
	VCS_UNTRACKED, /* not in HEAD nor in the index, and not ignored */
	VCS_IGNORED,   /* ignored, and nothing tracked under it changed */
};

/* The status of a file or of a directory and everything under it. */
struct vcs_path_state {
	enum vcs_status status; /* for a directory: modified > untracked > clean */
	/* the direct subdirectories of a directory that hold untracked files and nothing
	 * tracked, by name, sorted ("20240101_init": a migration created, never committed);
	 * owned, see vcs_path_state_release */
	char **untracked_dirs;
	size_t nuntracked_dirs;
};

/* Fill *out (fully overwritten; release it with vcs_path_state_release) with the status
 * of path: absolute or relative to the working tree, a file or a directory, existing or
 * not (a deleted tracked file is modified; a path git never heard of is clean).  A
 * directory aggregates everything under it (ignored files do not count). */
int vcs_path_status(struct vcs_repo *r, const char *path, struct vcs_path_state *out,
		    struct px_error *err);

/* Free what *st owns and zero it; NULL-safe. */
void vcs_path_state_release(struct vcs_path_state *st);

enum vcs_change_kind {
	VCS_CHANGE_ADDED,
	VCS_CHANGE_DELETED,
	VCS_CHANGE_MODIFIED, /* content, mode or type */
	VCS_CHANGE_RENAMED,  /* old_path -> path, perhaps edited too */
};

/* One file that differs between two commits. */
struct vcs_change {
	enum vcs_change_kind kind;
	char *path;     /* relative to the working tree, owned; the new name of a rename */
	char *old_path; /* owned; the old name of a rename, else NULL */
};

/* The files under paths (files or directories, absolute or relative to the working tree;
 * npaths 0: everything) that differ between the trees of commits old_oid and new_oid (hex;
 * "" stands for an unborn HEAD: an empty tree).  Renames are detected only between paths
 * both inside the given ones.  *out (owned, sorted by path, free with vcs_changes_free)
 * and *n are set on success; NULL and 0 on failure. */
int vcs_diff_paths(struct vcs_repo *r, const char *old_oid, const char *new_oid,
		   const char *const *paths, size_t npaths, struct vcs_change **out, size_t *n,
		   struct px_error *err);

/* Free n changes; NULL-safe. */
void vcs_changes_free(struct vcs_change *v, size_t n);

/* Whether commit parent_oid is a direct parent of commit child_oid (a commit, amend
 * excluded, or a one-commit fast-forward): *yes.  "" for either is never a parent. */
int vcs_is_parent(struct vcs_repo *r, const char *parent_oid, const char *child_oid, bool *yes,
		  struct px_error *err);

#endif
