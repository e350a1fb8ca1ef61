/* git.c - the supervisor follows git's HEAD: an inotify watch on the git directory (not
 * recursive, a few names only) holds the watcher's batch while git is mid-operation and
 * records each HEAD move with what it changed in every schema and migrations folder. */
#include "supervisor/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "vcs/vcs.h"
#include "watcher/watcher.h"

/* git writes each of these as <name>.lock and renames it over the name: the rename (or a
 * delete, or a first write) is the change */
#define GIT_EVENTS                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ONLYDIR)

static void move_free(struct sup_git_move *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nschemas; i++) {
		free(m->schemas[i].name);
		compose_strv_release(&m->schemas[i].added);
		compose_strv_release(&m->schemas[i].removed);
	}
	free(m->schemas);
	free(m);
}

/* The directory the current branch's ref file is in, and the file's name. */
static void watch_ref(struct sup_git *g)
{
	char *ref, *dir;

	if (g->wd_ref >= 0 && g->wd_ref != g->wd_gitdir && g->wd_ref != g->wd_common)
		inotify_rm_watch(g->fd, g->wd_ref);
	g->wd_ref = -1;
	free(g->refname);
	g->refname = NULL;
	if (g->branch[0] == '\0')
		return; /* detached: HEAD itself holds the commit */
	xasprintf(&ref, "%s/refs/heads/%s", g->commondir, g->branch);
	dir = px_path_dirname(ref);
	g->refname = px_path_basename(ref);
	/* the same descriptor comes back for a directory watched already */
	g->wd_ref = inotify_add_watch(g->fd, dir, GIT_EVENTS);
	if (g->wd_ref < 0)
		px_debug("cannot watch '%s': %s (packed-refs still tells)", dir, strerror(errno));
	free(dir);
	free(ref);
}

/* HEAD now, a failure said. */
static int read_head(struct vcs_repo *r, struct vcs_head *h)
{
	struct px_error err = PX_ERROR_INIT;

	if (vcs_head(r, h, &err) < 0) {
		px_warn("git: %s", px_error_msg(&err));
		px_error_clear(&err);
		return -1;
	}
	return 0;
}

static void on_git_event(struct px_loop *loop, int fd, uint32_t events, void *data);

void sup_git_start(struct sup *s)
{
	struct sup_git *g = &s->git;
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct vcs_head h;

	g->fd = g->wd_gitdir = g->wd_common = g->wd_ref = -1;
	if (!vcs_in_work_tree(s->project->working_dir))
		return;
	if (vcs_open(&r, s->project->working_dir, &err) != 0) {
		if (err.msg != NULL)
			px_debug("git: %s", px_error_msg(&err));
		px_error_clear(&err);
		return;
	}
	if (read_head(r, &h) < 0)
		goto out;
	g->gitdir = xstrdup(vcs_gitdir(r));
	g->commondir = xstrdup(vcs_commondir(r));
	g->workdir = xstrdup(vcs_workdir(r));
	memcpy(g->branch, h.branch, sizeof(g->branch));
	memcpy(g->oid, h.oid, sizeof(g->oid));
	g->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (g->fd < 0) {
		px_warn("cannot follow git's HEAD: %s", strerror(errno));
		goto out;
	}
	g->wd_gitdir = inotify_add_watch(g->fd, g->gitdir, GIT_EVENTS);
	if (strcmp(g->gitdir, g->commondir) != 0)
		g->wd_common = inotify_add_watch(g->fd, g->commondir, GIT_EVENTS);
	else
		g->wd_common = g->wd_gitdir;
	if (g->wd_gitdir < 0 || g->wd_common < 0 ||
	    px_loop_add_fd(s->loop, g->fd, EPOLLIN, on_git_event, s, &err) < 0) {
		px_warn("cannot follow git's HEAD in '%s': %s", g->gitdir,
			err.msg != NULL ? px_error_msg(&err) : strerror(errno));
		px_error_clear(&err);
		close(g->fd);
		g->fd = -1;
		goto out;
	}
	watch_ref(g);
	px_debug("git: following HEAD of '%s' (%s %.7s)", g->gitdir,
		 g->branch[0] != '\0' ? g->branch : "detached", g->oid);
out:
	vcs_free(r); /* libgit2 stays unloaded until HEAD moves */
}

void sup_git_stop(struct sup *s)
{
	struct sup_git *g = &s->git;

	if (g->fd >= 0) {
		px_loop_del_fd(s->loop, g->fd);
		close(g->fd);
	}
	g->fd = -1;
	free(g->gitdir);
	free(g->commondir);
	free(g->workdir);
	free(g->refname);
	move_free(g->last);
	memset(g, 0, sizeof(*g));
	g->fd = -1;
}

/* Whether git holds a lock that says it is changing the working tree or HEAD now. */
static bool git_busy(const struct sup_git *g)
{
	static const char *const locks[] = {"index.lock", "HEAD.lock"};

	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
		char *p = px_path_join(g->gitdir, locks[i]);
		bool there = px_path_exists(p);

		free(p);
		if (there)
			return true;
	}
	return false;
}

static void on_git_event(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	struct sup_git *g = &s->git;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	(void)loop;
	(void)events;
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				g->dirty = true;
				continue;
			}
			if (ev->len == 0 || (ev->mask & (IN_CREATE | IN_MOVED_FROM)))
				continue; /* a name appearing by rename or write is what counts */
			if ((ev->wd == g->wd_gitdir && strcmp(ev->name, "HEAD") == 0) ||
			    (ev->wd == g->wd_common && strcmp(ev->name, "packed-refs") == 0) ||
			    (ev->wd == g->wd_ref && g->refname != NULL &&
			     strcmp(ev->name, g->refname) == 0))
				g->dirty = true;
		}
	}
	if (len < 0 && errno != EAGAIN && errno != EINTR)
		px_warn("following git's HEAD: %s", strerror(errno));
	g->held = git_busy(g);
	if (s->watcher != NULL) {
		/* one batch for a checkout: its file writes, then HEAD, then the locks go */
		watcher_hold(s->watcher, g->held);
		if (g->dirty)
			watcher_poke(s->watcher);
	} else if (g->dirty && !g->held) {
		struct watcher_batch none = {0};

		sup_on_batch(s, &none);
	}
}

/* The migration folder's entry a change is in: "<name>" of "<migrations>/<name>/...",
 * owned, or NULL (a file directly in the folder, or elsewhere). */
static char *migration_of(const char *migrations, const char *path)
{
	const char *rest = px_path_below(path, migrations), *slash;

	if (rest == NULL || *rest == '\0')
		return NULL;
	slash = strchr(rest, '/');
	return slash != NULL ? xstrndup(rest, (size_t)(slash - rest)) : NULL;
}

static bool strv_has(const struct compose_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->v[i], s) == 0)
			return true;
	}
	return false;
}

/* What the move from..to did to schema sc: its schema's files and its migrations
 * (a migration folder counts as added when every change in it adds a file, removed when
 * every change deletes one; a rename removes the old name and adds the new). */
static int schema_move(struct vcs_repo *r, const char *from, const char *to,
		       const struct compose_prisync_schema *sc, struct sup_git_schema *out)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_change *v = NULL;
	struct compose_strv adds = {0}, dels = {0}, other = {0};
	char *schema_rel = NULL, *mig_rel = NULL;
	const char *paths[2];
	size_t n = 0, np = 0;
	int ret = -1;

	out->name = xstrdup(sc->name);
	/* a schema or migrations folder outside the repository has no history here */
	if (vcs_relative(r, sc->schema, &schema_rel, &err) == 0)
		paths[np++] = schema_rel;
	px_error_clear(&err);
	if (sc->migrations != NULL && vcs_relative(r, sc->migrations, &mig_rel, &err) == 0)
		paths[np++] = mig_rel;
	px_error_clear(&err);
	if (np == 0) {
		ret = 0;
		goto out;
	}
	if (vcs_diff_paths(r, from, to, paths, np, &v, &n, &err) < 0) {
		px_warn("git: %s", px_error_msg(&err));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = v[i].path;
		char *m;

		if (schema_rel != NULL &&
		    (sc->schema_is_dir ? px_path_below(p, schema_rel) != NULL &&
					     strlen(p) > 7 && strcmp(p + strlen(p) - 7, ".prisma") == 0
				       : strcmp(p, schema_rel) == 0))
			out->schema_changed = true;
		if (mig_rel == NULL)
			continue;
		if (v[i].kind == VCS_CHANGE_RENAMED) {
			m = migration_of(mig_rel, v[i].old_path);
			if (m != NULL && !strv_has(&dels, m))
				compose_strv_push(&dels, m);
			free(m);
		}
		m = migration_of(mig_rel, p);
		if (m == NULL)
			continue;
		if (v[i].kind == VCS_CHANGE_ADDED || v[i].kind == VCS_CHANGE_RENAMED) {
			if (!strv_has(&adds, m))
				compose_strv_push(&adds, m);
		} else if (v[i].kind == VCS_CHANGE_DELETED) {
			if (!strv_has(&dels, m))
				compose_strv_push(&dels, m);
		} else if (!strv_has(&other, m)) {
			compose_strv_push(&other, m);
		}
		free(m);
	}
	/* an edit inside a migration, or a folder both gaining and losing files, is
	 * neither added nor removed */
	for (size_t i = 0; i < adds.n; i++) {
		if (!strv_has(&dels, adds.v[i]) && !strv_has(&other, adds.v[i]))
			compose_strv_push(&out->added, adds.v[i]);
	}
	for (size_t i = 0; i < dels.n; i++) {
		if (!strv_has(&adds, dels.v[i]) && !strv_has(&other, dels.v[i]))
			compose_strv_push(&out->removed, dels.v[i]);
	}
	ret = 0;
out:
	px_error_clear(&err);
	vcs_changes_free(v, n);
	compose_strv_release(&adds);
	compose_strv_release(&dels);
	compose_strv_release(&other);
	free(schema_rel);
	free(mig_rel);
	return ret;
}

const struct sup_git_move *sup_git_check(struct sup *s)
{
	struct sup_git *g = &s->git;
	const struct compose_project *p = s->project;
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct sup_git_move *m = NULL;
	struct vcs_head h;
	bool branch_moved;

	if (g->fd < 0 || !g->dirty)
		return NULL;
	g->dirty = false;
	if (vcs_open(&r, g->workdir, &err) != 0) {
		if (err.msg != NULL)
			px_warn("git: %s", px_error_msg(&err));
		px_error_clear(&err);
		return NULL;
	}
	if (read_head(r, &h) < 0)
		goto out;
	branch_moved = strcmp(h.branch, g->branch) != 0;
	if (strcmp(h.oid, g->oid) == 0) {
		if (branch_moved) {
			/* a new branch on the same commit: nothing changed but the ref to follow */
			memcpy(g->branch, h.branch, sizeof(g->branch));
			watch_ref(g);
		}
		goto out;
	}
	m = xcalloc(1, sizeof(*m));
	memcpy(m->from, g->oid, sizeof(m->from));
	memcpy(m->to, h.oid, sizeof(m->to));
	memcpy(m->branch, h.branch, sizeof(m->branch));
	m->time_ns = px_real_ns();
	/* a commit (or a one-commit fast-forward) on the same branch: the working tree
	 * already had what the new commit holds */
	if (!branch_moved && vcs_is_parent(r, m->from, m->to, &m->on_top, &err) < 0) {
		px_debug("git: %s", px_error_msg(&err));
		px_error_clear(&err);
	}
	m->schemas = xcalloc(p->prisync.nschemas + 1, sizeof(*m->schemas));
	for (size_t i = 0; i < p->prisync.nschemas; i++)
		schema_move(r, m->from, m->to, &p->prisync.schemas[i], &m->schemas[m->nschemas++]);
	memcpy(g->branch, h.branch, sizeof(g->branch));
	memcpy(g->oid, h.oid, sizeof(g->oid));
	if (branch_moved)
		watch_ref(g);
	px_info("git: HEAD moved %.7s -> %.7s%s%s", m->from[0] != '\0' ? m->from : "(none)",
		m->to[0] != '\0' ? m->to : "(none)", m->branch[0] != '\0' ? " on " : " (detached)",
		m->branch);
	move_free(g->last);
	g->last = m;
out:
	vcs_free(r);
	return m;
}

static json_t *iso_time(int64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000);

	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % 1000000000 / 1000000));
	return json_string(buf);
}

static json_t *strv_json(const struct compose_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

json_t *sup_git_json(const struct sup *s)
{
	const struct sup_git *g = &s->git;
	const struct sup_git_move *m = g->last;
	json_t *o, *move = json_null();

	if (g->fd < 0)
		return json_null();
	if (m != NULL) {
		json_t *schemas = json_array();

		for (size_t i = 0; i < m->nschemas; i++) {
			const struct sup_git_schema *sc = &m->schemas[i];

			json_array_append_new(
			    schemas, json_pack("{s:s,s:b,s:o,s:o}", "name", sc->name, "schemaChanged",
					       sc->schema_changed, "migrationsAdded",
					       strv_json(&sc->added), "migrationsRemoved",
					       strv_json(&sc->removed)));
		}
		move = json_pack("{s:s,s:s,s:s?,s:o,s:o}", "from", m->from, "to", m->to, "branch",
				 m->branch[0] != '\0' ? m->branch : NULL, "time",
				 iso_time(m->time_ns), "schemas", schemas);
	}
	o = json_pack("{s:s,s:s?,s:s,s:o}", "gitdir", g->gitdir, "branch",
		      g->branch[0] != '\0' ? g->branch : NULL, "head", g->oid, "last_move", move);
	return o;
}
