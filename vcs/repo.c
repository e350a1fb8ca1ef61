/* repo.c - open the project's git working tree with libgit2, read HEAD, and ask git's
 * own ignore rules about a path.  libgit2 errors become px_errors here and only here. */
#include "vcs/vcs.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "base/adapters.h"
#include "base/path.h"
#include "base/xmalloc.h"

struct vcs_repo {
	git_repository *repo; /* owned */
	char *workdir;        /* owned; absolute, no trailing '/' */
};

/* libgit2's last error with our context in front: "<context>: <libgit2 message>". */
static int __attribute__((format(printf, 3, 4)))
git2_fail(struct px_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	char *ctx;

	va_start(ap, fmt);
	xvasprintf(&ctx, fmt, ap);
	va_end(ap);
	px_error_from_git2(err, code, ctx);
	free(ctx);
	return -1;
}

/* libgit2 is initialised while some repository is open, and unloaded when none is: an
 * idle supervisor opens its repository for a burst of changes and closes it after. */
static pthread_mutex_t git2_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned git2_users;

static int git2_acquire(struct px_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&git2_lock);
	if (git2_users == 0)
		rc = git_libgit2_init(); /* the init count (>= 1) or a negative error */
	if (rc >= 0)
		git2_users++;
	pthread_mutex_unlock(&git2_lock);
	if (rc < 0)
		return px_error_from_git2(err, rc, "cannot initialise libgit2");
	return 0;
}

static void git2_release(void)
{
	pthread_mutex_lock(&git2_lock);
	if (--git2_users == 0) {
		git_libgit2_shutdown();
		px_lazy_unload_git2();
	}
	pthread_mutex_unlock(&git2_lock);
}

int vcs_open(struct vcs_repo **out, const char *path, struct px_error *err)
{
	git_repository *repo = NULL;
	struct vcs_repo *r;
	struct stat st;
	const char *wd;
	size_t len;
	int rc;

	*out = NULL;
	/* libgit2 reports a missing path as GIT_ENOTFOUND, the same code as "no
	 * repository here"; a missing path is the caller's mistake, so catch it first */
	if (stat(path, &st) < 0)
		return px_error_set(err, errno, "cannot open '%s'", path);
	if (git2_acquire(err) < 0)
		return -1;
	rc = git_repository_open_ext(&repo, path, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		git2_release();
		return 1;
	}
	if (rc < 0) {
		git2_fail(err, rc, "cannot open the git repository of '%s'", path);
		git2_release();
		return -1;
	}
	wd = git_repository_workdir(repo);
	if (wd == NULL) {
		/* bare: there is no working tree to watch or to ignore paths in */
		git_repository_free(repo);
		git2_release();
		return 1;
	}

	r = xcalloc(1, sizeof(*r));
	r->repo = repo;
	r->workdir = xstrdup(wd);
	/* libgit2 ends the workdir with '/'; keep "/" itself intact */
	len = strlen(r->workdir);
	while (len > 1 && r->workdir[len - 1] == '/')
		r->workdir[--len] = '\0';
	*out = r;
	return 0;
}

void vcs_free(struct vcs_repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->repo);
	free(r->workdir);
	free(r);
	git2_release();
}

const char *vcs_workdir(const struct vcs_repo *r)
{
	return r->workdir;
}

int vcs_head(struct vcs_repo *r, struct vcs_head *out, struct px_error *err)
{
	static const char heads[] = "refs/heads/";
	git_reference *head = NULL;
	const char *target, *branch;
	git_oid oid;
	size_t len;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	rc = git_reference_lookup(&head, r->repo, "HEAD");
	if (rc < 0) {
		git2_fail(err, rc, "cannot read HEAD of '%s'", r->workdir);
		goto out;
	}

	if (git_reference_type(head) == GIT_REFERENCE_DIRECT) {
		out->detached = true;
		git_oid_tostr(out->oid, sizeof(out->oid), git_reference_target(head));
		ret = 0;
		goto out;
	}

	target = git_reference_symbolic_target(head);
	branch =
	    strncmp(target, heads, sizeof(heads) - 1) == 0 ? target + sizeof(heads) - 1 : target;
	len = strlen(branch);
	if (len >= sizeof(out->branch)) {
		px_error_set(err, 0, "branch name '%.40s...' of '%s' is too long", branch,
			     r->workdir);
		goto out;
	}
	memcpy(out->branch, branch, len + 1);

	/* the branch HEAD names does not exist yet in a repository with no commit */
	rc = git_reference_name_to_id(&oid, r->repo, "HEAD");
	if (rc == GIT_ENOTFOUND) {
		out->unborn = true;
	} else if (rc < 0) {
		git2_fail(err, rc, "cannot resolve HEAD of '%s'", r->workdir);
		goto out;
	} else {
		git_oid_tostr(out->oid, sizeof(out->oid), &oid);
	}
	ret = 0;
out:
	git_reference_free(head);
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* The part of the cleaned absolute path p below workdir: "" for workdir itself, NULL
 * when p is not inside it. */
static const char *below(const char *p, const char *workdir)
{
	size_t n = strlen(workdir);

	if (strcmp(workdir, "/") == 0)
		return p + 1;
	if (strncmp(p, workdir, n) != 0)
		return NULL;
	if (p[n] == '\0')
		return p + n;
	return p[n] == '/' ? p + n + 1 : NULL;
}

/*
 * path as libgit2 wants it: relative to the working tree.  libgit2 would take an
 * absolute path too, but it compares it with the workdir by string prefix, so
 * "/repo-other/x" counts as inside "/repo", and "." comes back as ignored; hence the
 * lexical cleaning and the boundary check here.  An absolute path spelled through a
 * symlink is retried with its directory resolved (the file itself may be gone).
 */
static int workdir_relative(const struct vcs_repo *r, const char *path, char **out,
			    struct px_error *err)
{
	char *clean = px_path_clean(path);
	char *dir = NULL, *base = NULL, *real = NULL, *joined = NULL;
	const char *rel = NULL;
	int ret = -1;

	if (px_path_is_abs(clean)) {
		rel = below(clean, r->workdir);
		if (rel == NULL) {
			dir = px_path_dirname(clean);
			base = px_path_basename(clean);
			real = realpath(dir, NULL);
			if (real != NULL) {
				joined = px_path_join(real, base);
				rel = below(joined, r->workdir);
			}
		}
	} else if (strcmp(clean, "..") != 0 && strncmp(clean, "../", 3) != 0) {
		rel = strcmp(clean, ".") == 0 ? "" : clean;
	}
	if (rel == NULL) {
		px_error_set(err, 0, "'%s' is outside the git working tree '%s'", path, r->workdir);
		goto out;
	}
	/* keep the caller's "this is a directory" hint, which cleaning dropped */
	if (rel[0] != '\0' && path[strlen(path) - 1] == '/')
		xasprintf(out, "%s/", rel);
	else
		*out = xstrdup(rel);
	ret = 0;
out:
	free(clean);
	free(dir);
	free(base);
	free(real);
	free(joined);
	return ret;
}

int vcs_path_ignored(struct vcs_repo *r, const char *path, bool *ignored, struct px_error *err)
{
	char *rel = NULL;
	int rc, ig = 0, ret = -1;

	*ignored = false;
	if (path[0] == '\0')
		return px_error_set(err, EINVAL,
				    "cannot check an empty path against git's ignore rules");
	if (workdir_relative(r, path, &rel, err) < 0)
		goto out;
	if (rel[0] == '\0') {
		ret = 0;
		goto out;
	}
	rc = git_ignore_path_is_ignored(&ig, r->repo, rel);
	if (rc < 0) {
		git2_fail(err, rc, "cannot check '%s' against git's ignore rules", path);
		goto out;
	}
	*ignored = ig != 0;
	ret = 0;
out:
	free(rel);
	return ret;
}
