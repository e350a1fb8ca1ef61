/* repo.c - open the project's git working tree with libgit2, read HEAD, ask git's own
 * ignore rules and status about a path, and diff two commits' trees under some paths.
 * libgit2 errors become px_errors here and only here. */
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
	char *gitdir;         /* owned; absolute, no trailing '/' */
	char *commondir;      /* owned; absolute, no trailing '/' */
};

/* An owned copy of dir without its trailing '/' ("/" itself kept). */
static char *dir_copy(const char *dir)
{
	char *d = xstrdup(dir);
	size_t len = strlen(d);

	while (len > 1 && d[len - 1] == '/')
		d[--len] = '\0';
	return d;
}

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
	/* libgit2 ends its directories with '/' */
	r->workdir = dir_copy(wd);
	r->gitdir = dir_copy(git_repository_path(repo));
	r->commondir = dir_copy(git_repository_commondir(repo));
	*out = r;
	return 0;
}

void vcs_free(struct vcs_repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->repo);
	free(r->workdir);
	free(r->gitdir);
	free(r->commondir);
	free(r);
	git2_release();
}

const char *vcs_workdir(const struct vcs_repo *r)
{
	return r->workdir;
}

const char *vcs_gitdir(const struct vcs_repo *r)
{
	return r->gitdir;
}

const char *vcs_commondir(const struct vcs_repo *r)
{
	return r->commondir;
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
		rel = px_path_below(clean, r->workdir);
		if (rel == NULL) {
			dir = px_path_dirname(clean);
			base = px_path_basename(clean);
			real = realpath(dir, NULL);
			if (real != NULL) {
				joined = px_path_join(real, base);
				rel = px_path_below(joined, r->workdir);
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

int vcs_relative(struct vcs_repo *r, const char *path, char **out, struct px_error *err)
{
	size_t len;

	*out = NULL;
	if (path[0] == '\0') {
		px_error_set(err, EINVAL, "cannot place an empty path in the git working tree");
		return -1;
	}
	if (workdir_relative(r, path, out, err) < 0 || *out == NULL)
		return -1;
	len = strlen(*out);
	if (len > 0 && (*out)[len - 1] == '/')
		(*out)[len - 1] = '\0';
	return 0;
}

/* Whether the index holds rel itself or anything below it. */
static bool index_has(git_index *index, const char *rel)
{
	size_t pos;
	char *prefix;
	bool yes;

	if (rel[0] == '\0')
		return git_index_entrycount(index) > 0;
	if (git_index_get_bypath(index, rel, 0) != NULL)
		return true;
	xasprintf(&prefix, "%s/", rel);
	yes = git_index_find_prefix(&pos, index, prefix) == 0;
	free(prefix);
	return yes;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The direct child of dir ("" for the working tree) that file path is below, as a name
 * (owned), or NULL when path is a file directly in dir. */
static char *child_dir(const char *dir, const char *path)
{
	const char *rest = path, *slash;

	if (dir[0] != '\0') {
		size_t n = strlen(dir);

		if (strncmp(path, dir, n) != 0 || path[n] != '/')
			return NULL;
		rest = path + n + 1;
	}
	slash = strchr(rest, '/');
	return slash != NULL ? xstrndup(rest, (size_t)(slash - rest)) : NULL;
}

/* Add name to st's untracked directories once. */
static void add_untracked_dir(struct vcs_path_state *st, char *name)
{
	for (size_t i = 0; i < st->nuntracked_dirs; i++) {
		if (strcmp(st->untracked_dirs[i], name) == 0) {
			free(name);
			return;
		}
	}
	st->untracked_dirs =
	    xreallocarray(st->untracked_dirs, st->nuntracked_dirs + 1, sizeof(char *));
	st->untracked_dirs[st->nuntracked_dirs++] = name; /* moved */
}

int vcs_path_status(struct vcs_repo *r, const char *path, struct vcs_path_state *out,
		    struct px_error *err)
{
	git_status_options opts;
	git_status_list *list = NULL;
	git_index *index = NULL;
	char *rel = NULL, *spec[1];
	bool modified = false, untracked = false;
	size_t kept = 0;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (vcs_relative(r, path, &rel, err) < 0)
		goto out;
	rc = git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	if (rc < 0) {
		git2_fail(err, rc, "cannot read the git status of '%s'", path);
		goto out;
	}
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	/* every untracked file, not just the top untracked directory: the untracked
	 * subdirectories are then found whatever depth the asked directory has; a literal
	 * path (file, or directory and all below), never a glob: a migration's or a
	 * folder's name may hold '[' or '*' */
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		     GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (rel[0] != '\0') {
		spec[0] = rel;
		opts.pathspec.strings = spec;
		opts.pathspec.count = 1;
	}
	rc = git_status_list_new(&list, r->repo, &opts);
	if (rc == 0)
		rc = git_repository_index(&index, r->repo);
	if (rc < 0) {
		git2_fail(err, rc, "cannot read the git status of '%s'", path);
		goto out;
	}
	for (size_t i = 0, n = git_status_list_entrycount(list); i < n; i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		const git_diff_delta *d = e->index_to_workdir != NULL ? e->index_to_workdir
								      : e->head_to_index;
		char *name;

		if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		if (e->status != GIT_STATUS_WT_NEW) {
			modified = true;
			continue;
		}
		untracked = true;
		name = d != NULL ? child_dir(rel, d->new_file.path) : NULL;
		if (name != NULL)
			add_untracked_dir(out, name);
	}
	/* a subdirectory with some tracked file is a tracked directory with new files */
	for (size_t i = 0; i < out->nuntracked_dirs; i++) {
		char *sub;
		bool tracked;

		if (rel[0] != '\0')
			xasprintf(&sub, "%s/%s", rel, out->untracked_dirs[i]);
		else
			sub = xstrdup(out->untracked_dirs[i]);
		tracked = index_has(index, sub);
		free(sub);
		if (tracked)
			free(out->untracked_dirs[i]);
		else
			out->untracked_dirs[kept++] = out->untracked_dirs[i];
	}
	out->nuntracked_dirs = kept;
	if (kept > 0)
		qsort(out->untracked_dirs, kept, sizeof(char *), cmp_name);

	if (modified) {
		out->status = VCS_MODIFIED;
	} else if (untracked) {
		out->status = VCS_UNTRACKED;
	} else if (rel[0] != '\0' && !index_has(index, rel)) {
		int ig = 0;

		/* nothing to report: an ignored path, or one git never heard of */
		rc = git_ignore_path_is_ignored(&ig, r->repo, rel);
		if (rc < 0) {
			git2_fail(err, rc, "cannot check '%s' against git's ignore rules", path);
			goto out;
		}
		out->status = ig ? VCS_IGNORED : VCS_CLEAN;
	}
	ret = 0;
out:
	git_status_list_free(list);
	git_index_free(index);
	free(rel);
	if (ret < 0)
		vcs_path_state_release(out);
	return ret;
}

void vcs_path_state_release(struct vcs_path_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nuntracked_dirs; i++)
		free(st->untracked_dirs[i]);
	free(st->untracked_dirs);
	memset(st, 0, sizeof(*st));
}

/* The commit named by hex: "" is none (*out NULL). */
static int commit_of(struct vcs_repo *r, const char *hex, git_commit **out,
		     struct px_error *err)
{
	git_oid oid;
	int rc;

	*out = NULL;
	if (hex[0] == '\0')
		return 0;
	rc = git_oid_fromstr(&oid, hex);
	if (rc == 0)
		rc = git_commit_lookup(out, r->repo, &oid);
	if (rc < 0)
		return git2_fail(err, rc, "cannot find commit '%s' in '%s'", hex, r->workdir);
	return 0;
}

/* The tree of commit hex; "" gives NULL, which libgit2 diffs as the empty tree. */
static int tree_of(struct vcs_repo *r, const char *hex, git_tree **out, struct px_error *err)
{
	git_commit *c = NULL;
	int rc;

	*out = NULL;
	if (commit_of(r, hex, &c, err) < 0)
		return -1;
	if (c == NULL)
		return 0;
	rc = git_commit_tree(out, c);
	git_commit_free(c);
	if (rc < 0)
		return git2_fail(err, rc, "cannot read the tree of commit '%s'", hex);
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct vcs_change *)a)->path, ((const struct vcs_change *)b)->path);
}

int vcs_diff_paths(struct vcs_repo *r, const char *old_oid, const char *new_oid,
		   const char *const *paths, size_t npaths, struct vcs_change **out, size_t *n,
		   struct px_error *err)
{
	git_diff_options opts;
	git_diff_find_options fopts;
	git_tree *old_tree = NULL, *new_tree = NULL;
	git_diff *diff = NULL;
	char **rels = xcalloc(npaths + 1, sizeof(char *));
	struct vcs_change *v = NULL;
	size_t nv = 0, nrels = 0;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < npaths; i++) {
		if (vcs_relative(r, paths[i], &rels[nrels], err) < 0)
			goto out;
		/* the working tree itself: no restriction at all */
		if (rels[nrels][0] == '\0') {
			for (size_t k = 0; k <= nrels; k++)
				free(rels[k]);
			nrels = 0;
			break;
		}
		nrels++;
	}
	if (tree_of(r, old_oid, &old_tree, err) < 0 || tree_of(r, new_oid, &new_tree, err) < 0)
		goto out;
	rc = git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (rc == 0)
		rc = git_diff_find_options_init(&fopts, GIT_DIFF_FIND_OPTIONS_VERSION);
	if (rc < 0) {
		git2_fail(err, rc, "cannot diff '%s' and '%s'", old_oid, new_oid);
		goto out;
	}
	/* literal paths: a directory means everything below it, no glob */
	opts.flags = GIT_DIFF_DISABLE_PATHSPEC_MATCH | GIT_DIFF_IGNORE_SUBMODULES;
	opts.pathspec.strings = rels;
	opts.pathspec.count = nrels;
	rc = git_diff_tree_to_tree(&diff, r->repo, old_tree, new_tree, &opts);
	if (rc == 0) {
		fopts.flags = GIT_DIFF_FIND_RENAMES;
		rc = git_diff_find_similar(diff, &fopts);
	}
	if (rc < 0) {
		git2_fail(err, rc, "cannot diff '%s' and '%s' in '%s'",
			  old_oid[0] != '\0' ? old_oid : "(none)",
			  new_oid[0] != '\0' ? new_oid : "(none)", r->workdir);
		goto out;
	}
	v = xcalloc(git_diff_num_deltas(diff) + 1, sizeof(*v));
	for (size_t i = 0, nd = git_diff_num_deltas(diff); i < nd; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		struct vcs_change *c = &v[nv];

		switch (d->status) {
		case GIT_DELTA_ADDED:
		case GIT_DELTA_COPIED:
			c->kind = VCS_CHANGE_ADDED;
			break;
		case GIT_DELTA_DELETED:
			c->kind = VCS_CHANGE_DELETED;
			break;
		case GIT_DELTA_RENAMED:
			c->kind = VCS_CHANGE_RENAMED;
			c->old_path = xstrdup(d->old_file.path);
			break;
		case GIT_DELTA_MODIFIED:
		case GIT_DELTA_TYPECHANGE:
			c->kind = VCS_CHANGE_MODIFIED;
			break;
		default: /* unmodified, ignored, untracked, unreadable: not in a tree diff */
			continue;
		}
		c->path = xstrdup(d->new_file.path);
		nv++;
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), cmp_change);
	*out = v;
	*n = nv;
	v = NULL;
	ret = 0;
out:
	vcs_changes_free(v, nv);
	git_diff_free(diff);
	git_tree_free(old_tree);
	git_tree_free(new_tree);
	for (size_t i = 0; i < nrels; i++)
		free(rels[i]);
	free(rels);
	return ret;
}

void vcs_changes_free(struct vcs_change *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].old_path);
	}
	free(v);
}

int vcs_is_parent(struct vcs_repo *r, const char *parent_oid, const char *child_oid, bool *yes,
		  struct px_error *err)
{
	git_commit *child = NULL;
	git_oid parent;
	int rc;

	*yes = false;
	if (parent_oid[0] == '\0' || child_oid[0] == '\0')
		return 0;
	rc = git_oid_fromstr(&parent, parent_oid);
	if (rc < 0)
		return git2_fail(err, rc, "'%s' is no commit id", parent_oid);
	if (commit_of(r, child_oid, &child, err) < 0)
		return -1;
	for (unsigned i = 0, np = git_commit_parentcount(child); i < np && !*yes; i++)
		*yes = git_oid_cmp(git_commit_parent_id(child, i), &parent) == 0;
	git_commit_free(child);
	return 0;
}

bool vcs_in_work_tree(const char *dir)
{
	char *d = xstrdup(dir);
	bool found = false;

	for (;;) {
		char *git = px_path_join(d, ".git"), *slash;

		found = px_path_exists(git);
		free(git);
		slash = strrchr(d, '/');
		if (found || slash == NULL || slash == d)
			break;
		*slash = '\0';
	}
	free(d);
	return found;
}
