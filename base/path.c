/* path.c - lexical path helpers, whole-file read and atomic write, and the private
 * per-user runtime directory (checked the way tmux checks its socket directory). */
#include "base/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xmalloc.h"

char *px_path_join(const char *a, const char *b)
{
	char *out;
	size_t alen;

	if (a == NULL || a[0] == '\0' || (b != NULL && b[0] == '/'))
		return xstrdup(b != NULL ? b : "");
	if (b == NULL || b[0] == '\0')
		return xstrdup(a);
	alen = strlen(a);
	xasprintf(&out, "%s%s%s", a, a[alen - 1] == '/' ? "" : "/", b);
	return out;
}

const char *px_path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/') /* "/a/" is "/a" */
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/' ? path + 1 : NULL;
	if (strncmp(path, dir, n) != 0)
		return NULL;
	if (path[n] == '\0')
		return path + n;
	return path[n] == '/' ? path + n + 1 : NULL;
}

bool px_path_is_abs(const char *p)
{
	return p != NULL && p[0] == '/';
}

/* A port of Go's filepath.Clean: out never grows longer than p, so it is built in
 * place in one pass; dotdot marks where ".." may no longer back up. */
char *px_path_clean(const char *p)
{
	size_t n = strlen(p), r = 0, w = 0, dotdot = 0;
	bool rooted = p[0] == '/';
	char *out;

	if (n == 0)
		return xstrdup(".");
	out = xmalloc(n + 2);
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/' || (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))) {
			r++; /* an empty or "." element */
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				/* back up over the previous element */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				/* nothing left to cancel: keep a leading ".." */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *px_path_dirname(const char *p)
{
	size_t n = strlen(p);
	char *head, *out;

	/* trailing slashes do not start an element: "a/b/" has "b" as its last */
	while (n > 1 && p[n - 1] == '/')
		n--;
	while (n > 0 && p[n - 1] != '/')
		n--;
	if (n == 0)
		return xstrdup(".");
	head = xstrndup(p, n);
	out = px_path_clean(head);
	free(head);
	return out;
}

char *px_path_basename(const char *p)
{
	size_t end = strlen(p), start;

	if (end == 0)
		return xstrdup(".");
	while (end > 0 && p[end - 1] == '/')
		end--;
	if (end == 0)
		return xstrdup("/");
	start = end;
	while (start > 0 && p[start - 1] != '/')
		start--;
	return xstrndup(p + start, end - start);
}

char *px_path_abs(const char *base, const char *p)
{
	char *cwd = NULL, *joined, *out;

	if (px_path_is_abs(p))
		return px_path_clean(p);
	if (base == NULL) {
		cwd = get_current_dir_name();
		base = cwd;
	}
	joined = px_path_join(base, p);
	out = px_path_clean(joined);
	free(joined);
	free(cwd);
	return out;
}

int px_path_mkdir_p(const char *path, mode_t mode, struct px_error *err)
{
	char *copy = xstrdup(path);
	size_t n = strlen(copy), i;
	struct stat st;
	int ret = -1;

	if (n == 0) {
		px_error_set(err, ENOENT, "cannot create directory ''");
		goto out;
	}
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	/* each prefix ending before a '/', then the whole path */
	for (i = 1; i <= n; i++) {
		if (i < n && copy[i] != '/')
			continue;
		if (i < n && copy[i - 1] == '/')
			continue; /* "a//b": the empty element was handled */
		copy[i] = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			px_error_set(err, errno, "cannot create directory '%s'", copy);
			goto out;
		}
		if (i < n)
			copy[i] = '/';
	}
	/* EEXIST says nothing about the type; intermediate non-directories already
	 * failed above with ENOTDIR */
	if (stat(copy, &st) != 0) {
		px_error_set(err, errno, "cannot create directory '%s'", copy);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		px_error_set(err, ENOTDIR, "cannot create directory '%s'", copy);
		goto out;
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

bool px_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int px_path_read_file(const char *path, struct px_buf *out, struct px_error *err)
{
	size_t old_len = out->len;
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return px_error_set(err, errno, "cannot open '%s'", path);
	/* the size is only a hint: /proc files report 0 and files grow */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		px_buf_grow(out, (size_t)st.st_size);
	for (;;) {
		px_buf_grow(out, 8192);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			px_error_set(err, errno, "cannot read '%s'", path);
			px_buf_truncate(out, old_len);
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* write(2) until everything is written or a real error occurs. */
static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int px_path_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			      struct px_error *err)
{
	char *dir = px_path_dirname(path), *base = px_path_basename(path), *tmp = NULL;
	int fd = -1, dfd, ret = -1;

	xasprintf(&tmp, "%s/.%s.tmp-XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		px_error_set(err, errno, "cannot create a temporary file in '%s'", dir);
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		goto out;
	}
	/* mkostemp creates 0600; the caller's mode is applied exactly */
	if (fchmod(fd, mode) != 0) {
		px_error_set(err, errno, "cannot set the mode of '%s'", tmp);
		goto out;
	}
	if (write_all(fd, data, len) != 0) {
		px_error_set(err, errno, "cannot write '%s'", tmp);
		goto out;
	}
	/* data on disk before the rename makes it visible: no empty file after a crash */
	if (fsync(fd) != 0) {
		px_error_set(err, errno, "cannot sync '%s'", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		px_error_set(err, errno, "cannot write '%s'", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		px_error_set(err, errno, "cannot rename '%s' to '%s'", tmp, path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable; some filesystems refuse fsync on a directory,
	 * and the file is in place either way, so failure here is not reported */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	free(base);
	return ret;
}

/* mkdir path 0700 unless it exists, then check it.  strict: path lives in a shared
 * directory (/tmp), so it must be a real directory (lstat: no symlink planted by
 * someone else), owned by us, and closed to group and others. */
static int make_private_dir(const char *path, bool strict, struct px_error *err)
{
	struct stat st;
	int r;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return px_error_set(err, errno, "cannot create runtime directory '%s'", path);
	r = strict ? lstat(path, &st) : stat(path, &st);
	if (r != 0)
		return px_error_set(err, errno, "cannot create runtime directory '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return px_error_set(err, 0,
				    "runtime directory '%s' is not a directory — "
				    "remove it or set XDG_RUNTIME_DIR",
				    path);
	if (!strict)
		return 0;
	if (st.st_uid != getuid())
		return px_error_set(err, 0,
				    "runtime directory '%s' is owned by uid %u, not %u — "
				    "remove it or set XDG_RUNTIME_DIR",
				    path, (unsigned)st.st_uid, (unsigned)getuid());
	if ((st.st_mode & 077) != 0)
		return px_error_set(err, 0,
				    "runtime directory '%s' has mode %04o, open to "
				    "group or others — run 'chmod 700 %s'",
				    path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

int px_runtime_dir_under(const char *tmp_root, const char *project, char **out,
			 struct px_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *top = NULL, *dir = NULL;
	struct stat st;
	int ret = -1;

	if (project == NULL || project[0] == '\0' || strchr(project, '/') != NULL ||
	    strcmp(project, ".") == 0 || strcmp(project, "..") == 0)
		return px_error_set(err, 0, "invalid project name '%s' for a runtime directory",
				    project != NULL ? project : "");
	if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* the XDG runtime dir is private to the user by its specification */
		xasprintf(&top, "%s/prisync", xdg);
		if (make_private_dir(top, false, err) != 0)
			goto out;
	} else {
		xasprintf(&top, "%s/prisync-%u", tmp_root, (unsigned)getuid());
		if (make_private_dir(top, true, err) != 0)
			goto out;
	}
	xasprintf(&dir, "%s/%s", top, project);
	if (make_private_dir(dir, false, err) != 0)
		goto out;
	*out = dir;
	dir = NULL; /* ownership moved to the caller */
	ret = 0;
out:
	free(top);
	free(dir);
	return ret;
}

int px_runtime_dir(const char *project, char **out, struct px_error *err)
{
	return px_runtime_dir_under("/tmp", project, out, err);
}
