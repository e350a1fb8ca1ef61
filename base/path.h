/* path.h - lexical path helpers (in the manner of Go's path/filepath), whole-file I/O
 * with atomic replacement, and the per-user runtime directory. */
#ifndef PX_PATH_H
#define PX_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"

/*
 * Every char * returned here is owned by the caller (free()).  The lexical helpers
 * never touch the filesystem, never fail, and treat only '/' as a separator.
 */

/* a and b joined by exactly one '/' at the seam (not otherwise cleaned); a copy of b
 * when b is absolute or a is NULL/empty, a copy of a when b is NULL/empty. */
char *px_path_join(const char *a, const char *b);

/* The part of path below dir -- "" when path is dir itself, "b/c" for dir "/a" and path
 * "/a/b/c" -- or NULL when path is neither dir nor below it ("/ab" is not below "/a").
 * Both absolute and clean (dir may end with '/'); "/" holds every absolute path.  Points
 * into path. */
const char *px_path_below(const char *path, const char *dir);

/* True when p starts with '/'. */
bool px_path_is_abs(const char *p);

/* The shortest lexically equivalent path, like Go's filepath.Clean: repeated '/'
 * collapse, "." elements go, "x/.." pairs go, ".." at the root goes, no trailing '/'
 * (except for "/" itself); "" becomes ".".  Symbolic links are not consulted. */
char *px_path_clean(const char *p);

/* Everything but the last element, cleaned: "a/b/" -> "a", "/a" -> "/", "a" -> ".",
 * "" -> ".", "/" -> "/". */
char *px_path_dirname(const char *p);

/* The last element, trailing slashes ignored: "a/b/" -> "b", "/" -> "/", "" -> ".". */
char *px_path_basename(const char *p);

/* p made absolute against base (base NULL: the current directory) and cleaned; an
 * absolute p is only cleaned.  Lexical, so "base/link/.." is "base".  If base is NULL
 * and the current directory cannot be determined, the result is p cleaned. */
char *px_path_abs(const char *base, const char *p);

/* Create path and any missing parents with mode (before umask), like `mkdir -p`.
 * An existing directory is success; an existing non-directory is ENOTDIR. */
int px_path_mkdir_p(const char *path, mode_t mode, struct px_error *err);

/* True when path names an existing file of any type (symlinks followed). */
bool px_path_exists(const char *path);

/* Append the whole content of path to out (out keeps its previous content; on failure
 * out is left as it was). */
int px_path_read_file(const char *path, struct px_buf *out, struct px_error *err);

/* Replace path with data atomically: a temporary file in the same directory is
 * written, fsync'd, given exactly mode (umask does not apply) and renamed over path,
 * so readers see the old or the new content, never a mix.  A symlink at path is
 * replaced, not followed. */
int px_path_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			      struct px_error *err);

/* The runtime directory of project, created (each level we create 0700) and returned
 * in *out (owned): "$XDG_RUNTIME_DIR/prisync/<project>" when XDG_RUNTIME_DIR is an
 * absolute path to a directory, else "/tmp/prisync-<uid>/<project>".  A
 * /tmp/prisync-<uid> that is not a real directory, is owned by another user or is
 * open to group or others is refused: another user could plant sockets there.
 * project must be a single non-empty path element. */
int px_runtime_dir(const char *project, char **out, struct px_error *err);

/* px_runtime_dir() with tmp_root in place of "/tmp" for the fallback, so the refusals
 * can be exercised without touching the real /tmp. */
int px_runtime_dir_under(const char *tmp_root, const char *project, char **out,
			 struct px_error *err);

#endif
