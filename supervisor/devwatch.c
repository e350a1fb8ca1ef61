/* devwatch.c - docker compose's develop.watch for the supervisor: the rules compiled once,
 * the watcher's filter, a batch of changes planned per service, the sync tar (libarchive),
 * and the plan carried out against the engine (copy, rm, rebuild, restart, exec hooks). */
#include "supervisor/devwatch.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

/* Editor temporaries compose never reacts to (pkg/watch/ephemeral.go), relative to "/":
 * GoLand, emacs, vim, kate, and Go's umask probes. */
static const char *const ephemeral_patterns[] = {
    "**/*___jb_old___",
    "**/*___jb_tmp___",
    "**/.idea/**",
    "**/.#*",
    "**/#*#",
    "**/4913",
    "**/*~",
    "**/.*.swp",
    "**/.*.swx",
    "**/.*.swo",
    "**/.*.swn",
    "**/.*.kate-swp",
    "**/*-go-tmp-umask",
    NULL,
};

/* At most this many paths per `rm -rf` run in a container (its argv stays far below
 * ARG_MAX however long the paths). */
#define RM_BATCH 256

struct dw_rule {
	size_t svc;                    /* index in dw->svcs */
	const struct compose_watch *w; /* borrowed from the project */
	struct engine_ignore *ignore;  /* relative to w->path; NULL: nothing */
	struct engine_ignore *include; /* relative to w->path; NULL: everything */
};

struct dw_service {
	const struct compose_service *s;
	const char *context;                /* the build context (absolute), or NULL */
	struct engine_ignore *dockerignore; /* relative to context; NULL: none */
};

struct sup_devwatch {
	const struct compose_project *p;
	struct dw_service *svcs; /* services with develop.watch, in the project's order */
	size_t nsvcs;
	struct dw_rule *rules; /* every service's rules, service after service, in file order */
	size_t nrules;
	struct engine_ignore *ephemeral;
	struct watcher_root *roots;
	size_t nroots;
};

/*
 * Compiling the rules
 */

/* Compile v[0..n) as compose's NewDockerPatternMatcher does: a list that holds "*" keeps
 * only its exceptions.  *out stays NULL for an empty list. */
static int compile_list(struct engine_ignore **out, char *const *v, size_t n, bool star_rule,
			struct px_error *err)
{
	const char **list = xcalloc(n + 1, sizeof(*list));
	bool star = false;
	size_t k = 0;
	int ret;

	*out = NULL;
	for (size_t i = 0; star_rule && i < n; i++)
		star |= strcmp(v[i], "*") == 0;
	for (size_t i = 0; i < n; i++) {
		if (!star || v[i][0] == '!')
			list[k++] = v[i];
	}
	ret = k > 0 ? engine_ignore_new(out, list, err) : 0;
	free(list);
	return ret;
}

/* compose's LoadDockerIgnore: <context>/<dockerfile>.dockerignore, else
 * <context>/.dockerignore. */
static int load_dockerignore(struct dw_service *ds, struct px_error *err)
{
	const struct compose_build *b = ds->s->build;
	struct px_buf text = PX_BUF_INIT;
	char *path = NULL, **patterns = NULL;
	size_t n = 0;
	int ret = -1;

	if (b == NULL || b->context == NULL || b->context[0] != '/')
		return 0; /* no build, or a remote context: nothing on this host to read */
	ds->context = b->context;
	/* joined as Go's filepath.Join would, even when dockerfile is absolute */
	xasprintf(&path, "%s/%s.dockerignore", b->context,
		  b->dockerfile != NULL ? b->dockerfile : "");
	if (!px_path_exists(path)) {
		free(path);
		path = px_path_join(b->context, ".dockerignore");
		if (!px_path_exists(path)) {
			ret = 0;
			goto out;
		}
	}
	if (px_path_read_file(path, &text, err) < 0)
		goto out;
	patterns = engine_ignore_parse(text.data, text.len);
	while (patterns[n] != NULL)
		n++;
	if (compile_list(&ds->dockerignore, patterns, n, true, err) < 0) {
		px_error_wrap(err, "ignore file '%s'", path);
		goto out;
	}
	ret = 0;
out:
	engine_ignore_strv_free(patterns);
	px_buf_release(&text);
	free(path);
	return ret;
}

/* compose's checkIfPathAlreadyBindMounted: path is a bind mount's source or under it. */
static bool bind_mounted(const struct compose_service *s, const char *path)
{
	for (size_t i = 0; i < s->nvolumes; i++) {
		const struct compose_mount *m = &s->volumes[i];
		size_t n = m->source != NULL ? strlen(m->source) : 0;

		if (m->type != COMPOSE_MOUNT_BIND || n == 0)
			continue;
		while (n > 1 && m->source[n - 1] == '/')
			n--;
		if (strncmp(path, m->source, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || (n == 1 && m->source[0] == '/')))
			return true;
	}
	return false;
}

static void add_root(struct sup_devwatch *dw, const char *path)
{
	struct stat st;
	bool dir = stat(path, &st) != 0 || S_ISDIR(st.st_mode);

	for (size_t i = 0; i < dw->nroots; i++) {
		if (strcmp(dw->roots[i].path, path) == 0) {
			dw->roots[i].dir |= dir;
			return;
		}
	}
	dw->roots = xreallocarray(dw->roots, dw->nroots + 1, sizeof(*dw->roots));
	dw->roots[dw->nroots++] = (struct watcher_root){.path = path, .dir = dir};
}

static bool is_sync(enum compose_watch_action a)
{
	/* compose's isSync: the actions whose bind-mounted paths are not watched */
	return a == COMPOSE_WATCH_SYNC || a == COMPOSE_WATCH_SYNC_RESTART;
}

static int add_rule(struct sup_devwatch *dw, size_t svc, const struct compose_watch *w,
		    struct px_error *err)
{
	const struct compose_service *s = dw->svcs[svc].s;
	struct dw_rule *r;

	if (w->action == COMPOSE_WATCH_REBUILD && s->build == NULL)
		return px_error_set(err, 0,
				    "can't watch service '%s' with action rebuild without a build "
				    "context",
				    s->name);
	r = &dw->rules[dw->nrules++];
	r->svc = svc;
	r->w = w;
	if (compile_list(&r->ignore, w->ignore.v, w->ignore.n, true, err) < 0)
		return px_error_wrap(err, "service '%s': develop.watch ignore", s->name);
	/* compose applies its "*" rule to include lists too, which then include nothing:
	 * "*" there keeps its plain meaning here */
	if (compile_list(&r->include, w->include.v, w->include.n, false, err) < 0)
		return px_error_wrap(err, "service '%s': develop.watch include", s->name);
	if (is_sync(w->action) && bind_mounted(s, w->path))
		px_warn("service '%s': path '%s' also declared by a bind mount volume, this path "
			"won't be monitored",
			s->name, w->path);
	else
		add_root(dw, w->path);
	return 0;
}

int sup_devwatch_new(struct sup_devwatch **out, const struct compose_project *p,
		     struct px_error *err)
{
	struct sup_devwatch *dw = xcalloc(1, sizeof(*dw));
	size_t total = 0;
	int ret = -1;

	dw->p = p;
	for (size_t i = 0; i < p->nservices; i++)
		total += p->services[i].nwatch;
	dw->svcs = xcalloc(p->nservices + 1, sizeof(*dw->svcs));
	dw->rules = xcalloc(total + 1, sizeof(*dw->rules));
	if (engine_ignore_new(&dw->ephemeral, ephemeral_patterns, err) < 0)
		goto out;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];
		struct dw_service *ds;

		if (s->nwatch == 0)
			continue;
		ds = &dw->svcs[dw->nsvcs++];
		ds->s = s;
		if (load_dockerignore(ds, err) < 0) {
			px_error_wrap(err, "service '%s'", s->name);
			goto out;
		}
		for (size_t k = 0; k < s->nwatch; k++) {
			if (add_rule(dw, dw->nsvcs - 1, &s->watch[k], err) < 0)
				goto out;
		}
	}
	*out = dw;
	dw = NULL;
	ret = 0;
out:
	sup_devwatch_free(dw);
	return ret;
}

void sup_devwatch_free(struct sup_devwatch *dw)
{
	if (dw == NULL)
		return;
	for (size_t i = 0; i < dw->nrules; i++) {
		engine_ignore_free(dw->rules[i].ignore);
		engine_ignore_free(dw->rules[i].include);
	}
	for (size_t i = 0; i < dw->nsvcs; i++)
		engine_ignore_free(dw->svcs[i].dockerignore);
	engine_ignore_free(dw->ephemeral);
	free(dw->rules);
	free(dw->svcs);
	free(dw->roots);
	free(dw);
}

size_t sup_devwatch_nrules(const struct sup_devwatch *dw)
{
	return dw->nrules;
}

const struct watcher_root *sup_devwatch_roots(const struct sup_devwatch *dw, size_t *n)
{
	*n = dw->nroots;
	return dw->roots;
}

/*
 * Matching (read-only: runs on the watcher thread too)
 */

/* path relative to root (no trailing '/') when it is root ("." then)
 * or lies under it; NULL otherwise.  Points into path. */
static const char *rel_under(const char *root, const char *path)
{
	const char *rel = px_path_below(path, root);

	return rel != NULL && *rel == '\0' ? "." : rel;
}

/* Which matcher excludes path (rel: relative to the rule's path), or NULL. */
static const struct engine_ignore *ignored_by(const struct sup_devwatch *dw,
					      const struct dw_rule *r, const char *path,
					      const char *rel)
{
	const struct dw_service *ds = &dw->svcs[r->svc];
	const char *crel;

	if (engine_ignore_matches_or_parent(dw->ephemeral, path[1] != '\0' ? path + 1 : "."))
		return dw->ephemeral;
	if (ds->dockerignore != NULL && (crel = rel_under(ds->context, path)) != NULL &&
	    engine_ignore_matches_or_parent(ds->dockerignore, crel))
		return ds->dockerignore;
	if (r->ignore != NULL && engine_ignore_matches_or_parent(r->ignore, rel))
		return r->ignore;
	return NULL;
}

/* compose's watchRule.Matches: *rel (may be NULL) gets path relative to the rule's. */
static bool rule_counts(const struct sup_devwatch *dw, const struct dw_rule *r, const char *path,
			const char **rel)
{
	const char *rp = rel_under(r->w->path, path);

	if (rp == NULL)
		return false;
	if (r->include != NULL && !engine_ignore_matches_or_parent(r->include, rp))
		return false;
	if (ignored_by(dw, r, path, rp) != NULL)
		return false;
	if (rel != NULL)
		*rel = rp;
	return true;
}

bool sup_devwatch_wants(const struct sup_devwatch *dw, const char *abs_path)
{
	if (abs_path == NULL || abs_path[0] != '/')
		return false;
	for (size_t i = 0; i < dw->nrules; i++) {
		if (rule_counts(dw, &dw->rules[i], abs_path, NULL))
			return true;
	}
	return false;
}

bool sup_devwatch_want_fn(void *data, const char *abs_path)
{
	return sup_devwatch_wants(data, abs_path);
}

/*
 * Planning
 */

struct acc {
	bool any, rebuild, restart;
	struct sup_devwatch_sync *syncs;
	size_t nsyncs, cap;
};

/* compose's path.Join(target, rel). */
static char *container_path(const char *target, const char *rel)
{
	char *joined, *clean;

	if (strcmp(rel, ".") == 0)
		return px_path_clean(target);
	xasprintf(&joined, "%s/%s", target, rel);
	clean = px_path_clean(joined);
	free(joined);
	return clean;
}

static void add_sync(struct acc *a, size_t ri, const struct compose_watch *w, const char *host,
		     const char *rel, bool exists)
{
	struct sup_devwatch_sync *s;

	if (w->target == NULL)
		return; /* the loader requires one for every sync action */
	if (a->nsyncs == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->syncs = xreallocarray(a->syncs, a->cap, sizeof(*a->syncs));
	}
	s = &a->syncs[a->nsyncs++];
	s->host = xstrdup(host);
	s->container = container_path(w->target, rel);
	s->exists = exists;
	s->rule = ri;
}

/* Rule ri counted host: its action, as compose's handleWatchBatch switch.  with_sync false
 * leaves the path mapping out (an overflow's rule path that is gone). */
static void trigger(const struct sup_devwatch *dw, struct acc *accs, bool *exec_marks, size_t ri,
		    const char *host, const char *rel, bool exists, bool with_sync)
{
	const struct dw_rule *r = &dw->rules[ri];
	struct acc *a = &accs[r->svc];

	a->any = true;
	switch (r->w->action) {
	case COMPOSE_WATCH_REBUILD:
		a->rebuild = true;
		break;
	case COMPOSE_WATCH_RESTART:
		a->restart = true;
		break;
	case COMPOSE_WATCH_SYNC_RESTART:
		a->restart = true;
		/* fall through */
	case COMPOSE_WATCH_SYNC:
		if (with_sync)
			add_sync(a, ri, r->w, host, rel, exists);
		break;
	case COMPOSE_WATCH_SYNC_EXEC:
		if (with_sync)
			add_sync(a, ri, r->w, host, rel, exists);
		exec_marks[ri] = true;
		break;
	}
}

static void plan_batch(const struct sup_devwatch *dw, const struct watcher_batch *b,
		       struct acc *accs, bool *exec_marks)
{
	const char *rel;

	for (size_t c = 0; c < b->n; c++) {
		const struct watcher_change *ch = &b->changes[c];

		if (ch->path == NULL || ch->path[0] != '/')
			continue;
		for (size_t ri = 0; ri < dw->nrules; ri++) {
			if (rule_counts(dw, &dw->rules[ri], ch->path, &rel))
				trigger(dw, accs, exec_marks, ri, ch->path, rel, ch->exists, true);
		}
	}
}

/* Events were lost: every rule fires, a sync rule for its whole path when that exists. */
static void plan_overflow(const struct sup_devwatch *dw, struct acc *accs, bool *exec_marks)
{
	struct stat st;

	for (size_t ri = 0; ri < dw->nrules; ri++) {
		const char *path = dw->rules[ri].w->path;

		trigger(dw, accs, exec_marks, ri, path, ".", true, lstat(path, &st) == 0);
	}
}

/* The action of service i from what accumulated; moves a's syncs. */
static void make_action(const struct sup_devwatch *dw, size_t i, struct acc *a,
			const bool *exec_marks, struct sup_devwatch_action *out)
{
	out->service = dw->svcs[i].s->name;
	out->rebuild = a->rebuild;
	out->restart = a->restart;
	out->syncs = a->syncs;
	out->nsyncs = a->nsyncs;
	a->syncs = NULL;
	out->execs = xcalloc(dw->nrules + 1, sizeof(const struct compose_watch *));
	for (size_t ri = 0; ri < dw->nrules; ri++) {
		if (dw->rules[ri].svc == i && exec_marks[ri])
			out->execs[out->nexecs++] = dw->rules[ri].w;
	}
}

int sup_devwatch_plan(const struct sup_devwatch *dw, const struct watcher_batch *b,
		      struct sup_devwatch_plan *out, struct px_error *err)
{
	struct acc *accs = xcalloc(dw->nsvcs + 1, sizeof(*accs));
	bool *exec_marks = xcalloc(dw->nrules + 1, sizeof(*exec_marks));

	(void)err; /* nothing can fail yet; callers are ready for it */
	memset(out, 0, sizeof(*out));
	if (b->overflow)
		plan_overflow(dw, accs, exec_marks);
	else
		plan_batch(dw, b, accs, exec_marks);
	out->v = xcalloc(dw->nsvcs + 1, sizeof(*out->v));
	for (size_t i = 0; i < dw->nsvcs; i++) {
		if (accs[i].any)
			make_action(dw, i, &accs[i], exec_marks, &out->v[out->n++]);
	}
	free(exec_marks);
	free(accs);
	return 0;
}

void sup_devwatch_plan_release(struct sup_devwatch_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		struct sup_devwatch_action *a = &pl->v[i];

		for (size_t k = 0; k < a->nsyncs; k++) {
			free(a->syncs[k].host);
			free(a->syncs[k].container);
		}
		free(a->syncs);
		free(a->execs);
	}
	free(pl->v);
	pl->v = NULL;
	pl->n = 0;
}

/*
 * The tar
 */

struct tarw {
	struct archive *a;
	struct archive_entry *entry;
	const struct sup_devwatch *dw; /* NULL: nothing skipped */
	size_t rule;
	struct px_error *err;
};

enum walk_verdict {
	WALK_KEEP,
	WALK_SKIP,
	WALK_DESCEND, /* an ignored directory an exception may re-include something under */
};

/* Whether the rule of a synced directory counts a path found under it. */
static enum walk_verdict walk_filter(const struct tarw *t, const char *path, bool dir)
{
	const struct dw_rule *r;
	const struct engine_ignore *by;
	const char *rel;

	if (t->dw == NULL || t->rule >= t->dw->nrules)
		return WALK_KEEP;
	r = &t->dw->rules[t->rule];
	rel = rel_under(r->w->path, path);
	if (rel == NULL)
		return WALK_KEEP;
	by = ignored_by(t->dw, r, path, rel);
	if (by != NULL)
		return dir && engine_ignore_exclusions(by) ? WALK_DESCEND : WALK_SKIP;
	/* include patterns name files: a directory is walked for what it holds */
	if (!dir && r->include != NULL && !engine_ignore_matches_or_parent(r->include, rel))
		return WALK_SKIP;
	return WALK_KEEP;
}

static int tar_fail(struct tarw *t, const char *name)
{
	const char *msg = archive_error_string(t->a);

	if (msg != NULL)
		return px_error_set(t->err, 0, "cannot add '%s' to the sync archive: %s", name,
				    msg);
	return px_error_set(t->err, archive_errno(t->a) > 0 ? archive_errno(t->a) : 0,
			    "cannot add '%s' to the sync archive", name);
}

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
	(void)a;
	px_buf_add(data, buf, len);
	return (la_ssize_t)len;
}

/* One header: name, mode, owner (kept: the engine gives the container user's when it has
 * one), whole-second mtime. */
static int tar_header(struct tarw *t, const char *name, const struct stat *st, int64_t size,
		      const char *link)
{
	struct archive_entry *e = t->entry;

	archive_entry_clear(e);
	archive_entry_copy_pathname(e, name);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtime, 0);
	archive_entry_set_size(e, size);
	if (link != NULL)
		archive_entry_copy_symlink(e, link);
	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		return tar_fail(t, name);
	return 0;
}

/* A regular file: read whole first, so its header's size is what is sent (a file written
 * meanwhile cannot make the entry short). */
static int tar_file(struct tarw *t, const char *host, const char *name, const struct stat *st)
{
	struct px_buf data = PX_BUF_INIT;
	struct px_error rerr = PX_ERROR_INIT;
	int ret = -1;

	if (px_path_read_file(host, &data, &rerr) < 0) {
		/* removed since the walk saw it: as compose, quietly left out */
		ret = rerr.errnum == ENOENT ? 0 : -1;
		if (ret < 0)
			px_error_move(t->err, &rerr);
		goto out;
	}
	if (tar_header(t, name, st, (int64_t)data.len, NULL) < 0)
		goto out;
	if (data.len > 0 && archive_write_data(t->a, data.data, data.len) < 0) {
		tar_fail(t, name);
		goto out;
	}
	ret = 0;
out:
	px_error_clear(&rerr);
	px_buf_release(&data);
	return ret;
}

static int tar_path(struct tarw *t, const char *host, const char *name, bool top);

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* The entries of directory host, in byte order, under name ("" for the container's /). */
static int tar_dir_entries(struct tarw *t, const char *host, const char *name)
{
	struct dirent **list = NULL;
	int n = scandir(host, &list, not_dots, name_cmp);
	int ret = 0;

	if (n < 0)
		return errno == ENOENT ? 0 : px_error_set(t->err, errno, "cannot read '%s'", host);
	for (int i = 0; i < n; i++) {
		char *child_host = px_path_join(host, list[i]->d_name), *child_name;

		if (*name != '\0')
			xasprintf(&child_name, "%s/%s", name, list[i]->d_name);
		else
			child_name = xstrdup(list[i]->d_name);
		if (ret == 0)
			ret = tar_path(t, child_host, child_name, false);
		free(child_host);
		free(child_name);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return ret;
}

/* host as name: a file, a symlink, or a directory with its tree.  top: the synced path
 * itself, which its rule already counted. */
static int tar_path(struct tarw *t, const char *host, const char *name, bool top)
{
	enum walk_verdict v = WALK_KEEP;
	char link[4096], *dname;
	struct stat st;
	ssize_t n;
	int ret;

	if (lstat(host, &st) < 0)
		return errno == ENOENT ? 0 : px_error_set(t->err, errno, "cannot stat '%s'", host);
	if (!top)
		v = walk_filter(t, host, S_ISDIR(st.st_mode));
	if (v == WALK_SKIP)
		return 0;
	if (S_ISREG(st.st_mode))
		return tar_file(t, host, name, &st);
	if (S_ISLNK(st.st_mode)) {
		n = readlink(host, link, sizeof(link) - 1);
		if (n < 0)
			return px_error_set(t->err, errno, "cannot read symlink '%s'", host);
		link[n] = '\0';
		return tar_header(t, name, &st, 0, link);
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* sockets, fifos, devices: nothing a tar carries (compose skips them) */
	if (v == WALK_KEEP && *name != '\0') {
		xasprintf(&dname, "%s/", name);
		ret = tar_header(t, dname, &st, 0, NULL);
		free(dname);
		if (ret < 0)
			return -1;
	}
	return tar_dir_entries(t, host, name);
}

int sup_devwatch_tar(const struct sup_devwatch *dw, const struct sup_devwatch_sync *syncs, size_t n,
		     struct px_buf *tar, struct px_error *err)
{
	struct tarw t = {.dw = dw, .err = err};
	size_t start = tar->len;
	int ret = -1;

	t.a = archive_write_new();
	t.entry = archive_entry_new();
	/* ustar, with pax extensions only where ustar cannot say it (long names) */
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_open(t.a, tar, NULL, tar_write, NULL) != ARCHIVE_OK) {
		tar_fail(&t, "/");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = syncs[i].container;

		if (!syncs[i].exists)
			continue;
		while (*name == '/')
			name++;
		t.rule = syncs[i].rule;
		if (tar_path(&t, syncs[i].host, name, true) < 0)
			goto out;
	}
	if (archive_write_close(t.a) != ARCHIVE_OK) {
		tar_fail(&t, "/");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		px_buf_truncate(tar, start);
	archive_write_free(t.a);
	archive_entry_free(t.entry);
	return ret;
}

/*
 * Applying a plan
 */

static const char *label_of(const json_t *c, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

/* The service's containers, one-offs left out (compose's oneOffExclude): *out owned. */
static int service_containers(struct engine *e, const char *project, const char *service,
			      json_t **out, struct px_error *err)
{
	json_t *all = NULL, *c;
	char *filter;
	size_t i;
	int rc;

	*out = json_array();
	xasprintf(&filter, "%s=%s", STACK_LABEL_PROJECT, project);
	rc = engine_container_list(e, filter, true, &all, err);
	free(filter);
	if (rc < 0)
		return -1;
	json_array_foreach(all, i, c)
	{
		const char *svc = label_of(c, STACK_LABEL_SERVICE);
		const char *oneoff = label_of(c, STACK_LABEL_ONEOFF);

		if (svc != NULL && strcmp(svc, service) == 0 &&
		    (oneoff == NULL || strcmp(oneoff, "True") != 0))
			json_array_append(*out, c);
	}
	json_decref(all);
	return 0;
}

static bool is_running(const json_t *c)
{
	const char *state = json_string_value(json_object_get(c, "State"));

	return state != NULL && strcmp(state, "running") == 0;
}

static const char *container_id(const json_t *c)
{
	return json_string_value(json_object_get(c, "Id"));
}

/* argv in container id; a non-zero exit fails with what it wrote to stderr. */
static int run_in(struct engine *e, const char *id, const char *const *argv, const char *const *env,
		  const char *user, struct px_buf *out, struct px_error *err)
{
	struct px_buf errout = PX_BUF_INIT;
	int code = 0, ret = -1;

	if (engine_exec(e, id, argv, env, NULL, user, out, &errout, &code, err) < 0)
		goto out;
	if (code != 0) {
		px_buf_rtrim(&errout);
		px_error_set(err, 0, "'%s' exited with %d in container '%.12s'%s%s", argv[0], code,
			     id, errout.len > 0 ? ": " : "", px_buf_cstr(&errout));
		goto out;
	}
	ret = 0;
out:
	if (out != NULL && errout.len > 0)
		px_buf_add(out, errout.data, errout.len);
	px_buf_release(&errout);
	return ret;
}

/* rm -rf -- <paths> in container id, RM_BATCH paths at a time. */
static int remove_paths(struct engine *e, const char *id, const char *const *paths, size_t n,
			struct px_error *err)
{
	const char **argv = xcalloc(RM_BATCH + 4, sizeof(*argv));
	int ret = 0;

	argv[0] = "rm";
	argv[1] = "-rf";
	argv[2] = "--";
	for (size_t i = 0; i < n && ret == 0; i += RM_BATCH) {
		size_t k = n - i < RM_BATCH ? n - i : RM_BATCH;

		memcpy(argv + 3, paths + i, k * sizeof(*argv));
		argv[3 + k] = NULL;
		ret = run_in(e, id, argv, NULL, NULL, NULL, err);
	}
	free(argv);
	return ret;
}

/* One container: removals first (they need it running), then the tar, as compose's
 * tar syncer. */
static int sync_container(struct engine *e, const json_t *c, const char *const *gone, size_t ngone,
			  const struct px_buf *tar, bool copy, struct px_error *err)
{
	const char *id = container_id(c);

	if (id == NULL)
		return 0;
	if (ngone > 0 && is_running(c) && remove_paths(e, id, gone, ngone, err) < 0)
		return -1;
	if (ngone > 0 && !is_running(c))
		px_debug("container '%.12s' is not running: %zu removals not synced", id, ngone);
	if (copy && engine_container_put_archive(e, id, "/", tar->data, tar->len, true, err) < 0)
		return -1;
	return 0;
}

static int apply_syncs(const struct sup_devwatch *dw, struct engine *e,
		       const struct sup_devwatch_action *a, struct px_error *err)
{
	const char **gone = xcalloc(a->nsyncs + 1, sizeof(*gone));
	struct px_buf tar = PX_BUF_INIT;
	json_t *containers = NULL;
	size_t ngone = 0, ncopy = 0, i;
	int ret = -1;

	for (i = 0; i < a->nsyncs; i++) {
		if (a->syncs[i].exists)
			ncopy++;
		else
			gone[ngone++] = a->syncs[i].container;
	}
	px_log(PX_LOG_INFO, a->service, "syncing after %zu changes were detected", a->nsyncs);
	if (ncopy > 0 && sup_devwatch_tar(dw, a->syncs, a->nsyncs, &tar, err) < 0)
		goto out;
	if (service_containers(e, dw->p->name, a->service, &containers, err) < 0)
		goto out;
	if (json_array_size(containers) == 0)
		px_warn("service '%s' has no container to sync to", a->service);
	for (i = 0; i < json_array_size(containers); i++) {
		if (sync_container(e, json_array_get(containers, i), gone, ngone, &tar, ncopy > 0,
				   err) < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(containers);
	px_buf_release(&tar);
	free(gone);
	return ret;
}

/* build, then up: the new image differs from the container's, so stack_up recreates it
 * (and leaves its dependencies as they are, unless they changed too). */
static int apply_rebuild(struct stack *st, const char *service, struct px_error *err)
{
	char *name = xstrdup(service);
	char *const names[] = {name};
	struct stack_build_opts bo = {.services = names, .nservices = 1};
	struct stack_up_opts uo = {.services = names, .nservices = 1, .timeout_s = -1};
	int ret = -1;

	px_log(PX_LOG_INFO, service, "rebuilding after changes were detected");
	if (stack_build(st, &bo, err) < 0)
		goto out;
	px_log(PX_LOG_INFO, service, "successfully built");
	if (stack_up(st, &uo, err) < 0)
		goto out;
	ret = 0;
out:
	free(name);
	return ret;
}

static int apply_restart(struct stack *st, const char *service, struct px_error *err)
{
	char *name = xstrdup(service);
	char *const names[] = {name};
	int ret = stack_restart(st, names, 1, -1, err);

	if (ret == 0)
		px_log(PX_LOG_INFO, service, "restarted");
	free(name);
	return ret;
}

/* The hook's argv and "K=V" environment (a variable without a value is left out, as
 * compose's ToMapping does), NULL-terminated; free the arrays only. */
static void hook_vectors(const struct compose_watch *w, const char ***argv, const char ***env)
{
	size_t k = 0;

	*argv = xcalloc(w->exec_command.n + 1, sizeof(**argv));
	for (size_t i = 0; i < w->exec_command.n; i++)
		(*argv)[i] = w->exec_command.v[i];
	*env = xcalloc(w->exec_environment.n + 1, sizeof(**env));
	for (size_t i = 0; i < w->exec_environment.n; i++) {
		const struct compose_kv *kv = &w->exec_environment.v[i];

		char *kv_text;

		if (kv->value == NULL)
			continue;
		xasprintf(&kv_text, "%s=%s", kv->key, kv->value);
		(*env)[k++] = kv_text;
	}
}

/* A sync+exec hook in every running container of the service. */
static int apply_exec(const struct sup_devwatch *dw, struct engine *e, const char *service,
		      const struct compose_watch *w, struct px_error *err)
{
	struct px_buf out = PX_BUF_INIT;
	const char **argv = NULL, **env = NULL;
	json_t *containers = NULL, *c;
	size_t i;
	int ret = -1;

	if (w->exec_command.n == 0)
		return 0;
	hook_vectors(w, &argv, &env);
	if (service_containers(e, dw->p->name, service, &containers, err) < 0)
		goto out;
	json_array_foreach(containers, i, c)
	{
		if (!is_running(c) || container_id(c) == NULL)
			continue;
		px_buf_reset(&out);
		ret = run_in(e, container_id(c), argv, env, w->exec_user, &out, err);
		px_buf_rtrim(&out);
		if (out.len > 0)
			px_log(PX_LOG_INFO, service, "%s", px_buf_cstr(&out));
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(containers);
	px_buf_release(&out);
	for (i = 0; env != NULL && env[i] != NULL; i++)
		free((char *)env[i]);
	free(env);
	free(argv);
	return ret;
}

int sup_devwatch_apply(const struct sup_devwatch *dw, struct engine *e, struct stack *st,
		       const struct sup_devwatch_action *a, struct px_error *err)
{
	if (a->rebuild && apply_rebuild(st, a->service, err) < 0)
		goto fail;
	if (a->nsyncs > 0 && apply_syncs(dw, e, a, err) < 0)
		goto fail;
	if (a->restart && apply_restart(st, a->service, err) < 0)
		goto fail;
	for (size_t i = 0; i < a->nexecs; i++) {
		if (apply_exec(dw, e, a->service, a->execs[i], err) < 0)
			goto fail;
	}
	return 0;
fail:
	return px_error_wrap(err, "develop.watch of service '%s'", a->service);
}
