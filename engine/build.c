/* build.c - image builds with the engine's builder: the build context as a tar made with
 * libarchive the way the docker CLI makes it (.dockerignore, the Dockerfile always sent), and
 * POST /build with its JSON message stream. */
#include "engine/streams.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/log.h"
#include "base/path.h"
#include "base/xmalloc.h"
#include "engine/dockerignore.h"
#include "engine/transport.h"

/* The one boundary to libarchive's errors in engine/. */
static int archive_fail(struct px_error *err, struct archive *a, const char *what, const char *path)
{
	const char *msg = archive_error_string(a);
	int errnum = archive_errno(a);

	if (msg != NULL)
		return px_error_set(err, 0, "%s '%s': %s", what, path, msg);
	return px_error_set(err, errnum > 0 ? errnum : 0, "%s '%s'", what, path);
}

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf, size_t len)
{
	(void)a;
	px_buf_add(data, buf, len);
	return (la_ssize_t)len;
}

/* Where the Dockerfile is: inside the context (rel set) or outside it (then it travels as
 * .dockerfile.<hash of its content>, as the docker CLI does with a random name). */
struct dockerfile {
	char *abs;
	char *rel;          /* relative to the context, or NULL when outside */
	char *tar_name;     /* what the engine is told to use: rel or .dockerfile.<hash> */
	struct px_buf text; /* the content, when outside */
	time_t mtime;
};

static void dockerfile_release(struct dockerfile *df)
{
	free(df->abs);
	free(df->rel);
	free(df->tar_name);
	px_buf_release(&df->text);
}

/* p relative to root when it lies inside root (both clean and absolute), else NULL. */
static char *rel_inside(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return p[1] != '\0' ? xstrdup(p + 1) : NULL;
	if (strncmp(p, root, n) == 0 && p[n] == '/' && p[n + 1] != '\0')
		return xstrdup(p + n + 1);
	return NULL;
}

static int dockerfile_locate(const char *ctx, const char *name, struct dockerfile *df,
			     struct px_error *err)
{
	char *real_ctx = NULL, *real_df = NULL;
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	struct stat st;

	df->abs = px_path_abs(ctx, name != NULL && *name != '\0' ? name : "Dockerfile");
	if (stat(df->abs, &st) < 0)
		return px_error_set(err, errno, "cannot find Dockerfile '%s'", df->abs);
	if (!S_ISREG(st.st_mode))
		return px_error_set(err, 0, "Dockerfile '%s' is not a regular file", df->abs);
	df->mtime = st.st_mtime;
	/* through symlinks, as the docker CLI: a link to a file in the context names that
	 * file; a link that leads out of the context makes it an outside Dockerfile */
	real_ctx = realpath(ctx, NULL);
	real_df = realpath(df->abs, NULL);
	if (real_ctx != NULL && real_df != NULL)
		df->rel = rel_inside(real_ctx, real_df);
	free(real_ctx);
	free(real_df);
	if (df->rel != NULL) {
		df->tar_name = xstrdup(df->rel);
		return 0;
	}
	if (px_path_read_file(df->abs, &df->text, err) < 0)
		return px_error_wrap(err, "cannot read Dockerfile");
	for (size_t i = 0; i < df->text.len; i++)
		h = (h ^ (unsigned char)df->text.data[i]) * 1099511628211ULL;
	xasprintf(&df->tar_name, ".dockerfile.%016llx", (unsigned long long)h);
	return 0;
}

/* A pattern that matches exactly name: the wildcard characters escaped. */
static char *literal_exception(const char *name)
{
	struct px_buf b = PX_BUF_INIT;

	px_buf_addch(&b, '!');
	for (const char *p = name; *p != '\0'; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			px_buf_addch(&b, '\\');
		px_buf_addch(&b, *p);
	}
	return px_buf_detach(&b, NULL);
}

static char **strv_push(char **v, char *s)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	v = xreallocarray(v, n + 2, sizeof(*v));
	v[n] = s;
	v[n + 1] = NULL;
	return v;
}

/* The ignore patterns: <Dockerfile>.dockerignore, else <context>/.dockerignore.  *ig_rel
 * gets the ignore file's path in the context (NULL when there is none or it lies outside). */
static int read_ignore(const char *ctx, const struct dockerfile *df, char ***patterns,
		       char **ig_rel, struct px_error *err)
{
	struct px_buf text = PX_BUF_INIT;
	char *path = NULL;
	int ret = -1;

	*patterns = NULL;
	*ig_rel = NULL;
	xasprintf(&path, "%s.dockerignore", df->abs);
	if (!px_path_exists(path)) {
		free(path);
		path = px_path_join(ctx, ".dockerignore");
		if (!px_path_exists(path)) {
			*patterns = xcalloc(1, sizeof(**patterns));
			ret = 0;
			goto out;
		}
	}
	if (px_path_read_file(path, &text, err) < 0)
		goto out;
	*patterns = engine_ignore_parse(text.data, text.len);
	*ig_rel = rel_inside(ctx, path);
	ret = 0;
out:
	px_buf_release(&text);
	free(path);
	return ret;
}

/*
 * The walk (moby's archive.TarWithOptions with ExcludePatterns)
 */

struct walk {
	struct archive *a;
	struct archive_entry *entry;
	const char *root;
	const struct engine_ignore *m; /* NULL: nothing excluded */
	bool hold_dockerignore;        /* an outside Dockerfile: .dockerignore is written last */
	struct px_buf dockerignore;    /* its content, when it was to be sent */
	struct px_error *err;
};

/* Is there an exception that could re-include something below dir?  Only a pattern that
 * starts with dir counts (so "!*.go" does not open an excluded directory: moby's rule). */
static bool exception_below(const struct engine_ignore *m, const char *dir)
{
	size_t n = strlen(dir);

	for (size_t i = 0; i < engine_ignore_count(m); i++) {
		const char *p = engine_ignore_pattern(m, i);
		size_t pn = strlen(p);

		if (!engine_ignore_is_exclusion(m, i))
			continue;
		/* (p + "/") starts with (dir + "/") */
		if (pn + 1 >= n + 1 && strncmp(p, dir, n) == 0 && (pn == n || p[n] == '/'))
			return true;
	}
	return false;
}

static int add_header(struct walk *w, const char *name, const struct stat *st,
		      const char *link_target)
{
	struct archive_entry *e = w->entry;

	archive_entry_clear(e);
	/* names go as the bytes they are on disk: a name the locale cannot convert to UTF-8
	 * gets a pax header with hdrcharset=BINARY (a warning only), which the engine reads
	 * as bytes, as Go does.  (The _utf8 setters crash libarchive 3.6 in the "C" locale.) */
	archive_entry_copy_pathname(e, name);
	archive_entry_set_mode(e, st->st_mode);
	/* the engine owns what it copies; ownership on this host means nothing there */
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	/* whole seconds, as the docker CLI sends them */
	archive_entry_set_mtime(e, st->st_mtime, 0);
	if (S_ISREG(st->st_mode))
		archive_entry_set_size(e, st->st_size);
	else
		archive_entry_set_size(e, 0);
	if (link_target != NULL)
		archive_entry_copy_symlink(e, link_target);
	if (archive_write_header(w->a, e) < ARCHIVE_WARN)
		return archive_fail(w->err, w->a, "cannot add to the build context", name);
	return 0;
}

static int add_file_data(struct walk *w, const char *full, const char *rel, off_t size)
{
	char buf[64 * 1024];
	off_t left = size;
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int ret = -1;

	if (fd < 0)
		return px_error_set(w->err, errno, "cannot read '%s'", full);
	/* a file that grows meanwhile is cut at the size in its header; one that shrinks is
	 * padded by libarchive */
	while (left > 0) {
		ssize_t n = read(fd, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			px_error_set(w->err, errno, "cannot read '%s'", full);
			goto out;
		}
		if (n == 0)
			break;
		if (archive_write_data(w->a, buf, (size_t)n) < 0) {
			archive_fail(w->err, w->a, "cannot add to the build context", rel);
			goto out;
		}
		left -= n;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of directory full, sorted bytewise as Go's WalkDir reads them. */
static int read_dir(const char *full, char ***out, size_t *n, struct px_error *err)
{
	DIR *d = opendir(full);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return px_error_set(err, errno, "cannot read directory '%s'", full);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		px_error_set(err, errno, "cannot read directory '%s'", full);
		closedir(d);
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return -1;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return 0;
}

static int walk_dir(struct walk *w, const char *rel_dir, const bool *parent);

/* One entry: excluded or added, and a directory walked into. */
static int walk_entry(struct walk *w, const char *rel, const bool *parent)
{
	size_t npat = w->m != NULL ? engine_ignore_count(w->m) : 0;
	bool *info = npat > 0 ? xcalloc(npat, sizeof(*info)) : NULL;
	char *full = px_path_join(w->root, rel), *name = NULL;
	char target[4096];
	struct stat st;
	bool skip = false;
	ssize_t tn;
	int ret = -1;

	if (lstat(full, &st) < 0) {
		px_error_set(w->err, errno, "cannot stat '%s'", full);
		goto out;
	}
	if (npat > 0)
		skip = engine_ignore_matches_parents(w->m, rel, parent, info);
	if (skip) {
		/* an excluded directory is still walked when an exception may re-include
		 * something in it; the directory itself is not sent */
		if (S_ISDIR(st.st_mode) && engine_ignore_exclusions(w->m) &&
		    exception_below(w->m, rel))
			ret = walk_dir(w, rel, info);
		else
			ret = 0;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		xasprintf(&name, "%s/", rel);
		if (add_header(w, name, &st, NULL) < 0)
			goto out;
		ret = walk_dir(w, rel, info);
	} else if (S_ISREG(st.st_mode)) {
		if (w->hold_dockerignore && strcmp(rel, ".dockerignore") == 0) {
			/* sent last, with the outside Dockerfile's name added */
			ret = px_path_read_file(full, &w->dockerignore, w->err);
			goto out;
		}
		if (add_header(w, rel, &st, NULL) < 0 ||
		    add_file_data(w, full, rel, st.st_size) < 0)
			goto out;
		ret = 0;
	} else if (S_ISLNK(st.st_mode)) {
		tn = readlink(full, target, sizeof(target) - 1);
		if (tn < 0) {
			px_error_set(w->err, errno, "cannot read symlink '%s'", full);
			goto out;
		}
		target[tn] = '\0';
		ret = add_header(w, rel, &st, target);
	} else {
		/* sockets, fifos, devices: nothing a build can use */
		px_debug("build context: skipping '%s' (not a file, directory or symlink)", full);
		ret = 0;
	}
out:
	free(info);
	free(full);
	free(name);
	return ret;
}

static int walk_dir(struct walk *w, const char *rel_dir, const bool *parent)
{
	char *full = rel_dir != NULL ? px_path_join(w->root, rel_dir) : xstrdup(w->root);
	char **names = NULL, *rel;
	size_t n = 0, i;
	int ret = -1;

	if (read_dir(full, &names, &n, w->err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		rel = rel_dir != NULL ? px_path_join(rel_dir, names[i]) : xstrdup(names[i]);
		ret = walk_entry(w, rel, parent);
		free(rel);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(full);
	return ret;
}

/* A regular file made up here (the outside Dockerfile, the amended .dockerignore). */
static int add_blob(struct walk *w, const char *name, const struct px_buf *data, time_t mtime)
{
	struct stat st = {0};

	st.st_mode = S_IFREG | 0600;
	st.st_size = (off_t)data->len;
	st.st_mtime = mtime;
	if (add_header(w, name, &st, NULL) < 0)
		return -1;
	if (data->len > 0 && archive_write_data(w->a, data->data, data->len) < 0)
		return archive_fail(w->err, w->a, "cannot add to the build context", name);
	return 0;
}

/* The context tar into *tar; *tar_dockerfile (may be NULL) gets the Dockerfile's name in it. */
static int make_context(const char *context_dir, const char *dockerfile, struct px_buf *tar,
			char **tar_dockerfile, struct px_error *err)
{
	struct dockerfile df = {.text = PX_BUF_INIT};
	struct walk w = {.dockerignore = PX_BUF_INIT, .err = err};
	struct engine_ignore *m = NULL;
	char **patterns = NULL, *ig_rel = NULL, *root = NULL;
	struct stat st;
	size_t start = tar->len;
	int ret = -1;

	if (context_dir == NULL || *context_dir == '\0') {
		px_error_set(err, 0, "no build context directory");
		goto out;
	}
	root = px_path_abs(NULL, context_dir);
	if (stat(root, &st) < 0) {
		px_error_set(err, errno, "cannot open build context '%s'", root);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		px_error_set(err, 0, "build context '%s' is not a directory", root);
		goto out;
	}
	if (dockerfile_locate(root, dockerfile, &df, err) < 0)
		goto out;
	if (read_ignore(root, &df, &patterns, &ig_rel, err) < 0)
		goto out;
	if (engine_ignore_new(&m, (const char *const *)patterns, err) < 0)
		goto bad_ignore;
	/* the engine needs both files even when the patterns exclude them (it drops them
	 * from the context itself): re-include them with exceptions, as the docker CLI does */
	if (ig_rel != NULL && engine_ignore_matches_or_parent(m, ig_rel))
		patterns = strv_push(patterns, literal_exception(ig_rel));
	if (df.rel != NULL && engine_ignore_matches_or_parent(m, df.rel))
		patterns = strv_push(patterns, literal_exception(df.rel));
	engine_ignore_free(m);
	m = NULL;
	if (engine_ignore_new(&m, (const char *const *)patterns, err) < 0)
		goto bad_ignore;

	w.a = archive_write_new();
	w.entry = archive_entry_new();
	w.root = root;
	w.m = m;
	w.hold_dockerignore = df.rel == NULL;
	/* ustar, with pax extensions only where ustar cannot say it (long or non-ASCII names) */
	if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_open(w.a, tar, NULL, tar_write, NULL) != ARCHIVE_OK) {
		archive_fail(err, w.a, "cannot start the build context of", root);
		goto out;
	}
	if (walk_dir(&w, NULL, NULL) < 0)
		goto out;
	if (df.rel == NULL) {
		/* listed in .dockerignore, the engine removes it once it read it */
		px_buf_addf(&w.dockerignore, "\n%s\n", df.tar_name);
		if (add_blob(&w, df.tar_name, &df.text, df.mtime) < 0 ||
		    add_blob(&w, ".dockerignore", &w.dockerignore, df.mtime) < 0)
			goto out;
	}
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		archive_fail(err, w.a, "cannot finish the build context of", root);
		goto out;
	}
	if (tar_dockerfile != NULL)
		*tar_dockerfile = xstrdup(df.tar_name);
	ret = 0;
	goto out;
bad_ignore:
	px_error_wrap(err, "ignore file of build context '%s'", root);
out:
	if (ret < 0)
		px_buf_truncate(tar, start);
	if (w.a != NULL)
		archive_write_free(w.a);
	archive_entry_free(w.entry);
	px_buf_release(&w.dockerignore);
	engine_ignore_free(m);
	engine_ignore_strv_free(patterns);
	dockerfile_release(&df);
	free(ig_rel);
	free(root);
	return ret;
}

int engine_build_context(const char *context_dir, const char *dockerfile, struct px_buf *tar,
			 struct px_error *err)
{
	return make_context(context_dir, dockerfile, tar, NULL, err);
}

/*
 * POST /build
 */

struct build_sink {
	engine_progress_fn fn;
	void *data;
	char *id; /* from {"aux": {"ID": ...}} */
};

static int build_message(void *data, const json_t *msg)
{
	struct build_sink *s = data;
	const char *id = json_string_value(json_object_get(json_object_get(msg, "aux"), "ID"));

	if (id != NULL && *id != '\0') {
		free(s->id);
		s->id = xstrdup(id);
	}
	return s->fn != NULL ? s->fn(s->data, msg) : 0;
}

/* ?version=1&dockerfile=...&t=...&buildargs=...: the classic builder, which every engine
 * since 20.10 runs from the API without BuildKit's session protocol.  forcerm: the
 * container of a failed step goes too (the docker CLI leaves it behind). */
static int build_query(const struct engine_build_opts *o, const char *dockerfile, struct px_buf *q,
		       struct px_error *err)
{
	json_t *args = json_object();
	char *esc, *js;
	int ret = -1;

	esc = engine_query_escape(dockerfile);
	px_buf_addf(q, "/build?version=1&rm=1&forcerm=1&dockerfile=%s", esc);
	free(esc);
	for (size_t i = 0; o->tags != NULL && o->tags[i] != NULL; i++) {
		esc = engine_query_escape(o->tags[i]);
		px_buf_addf(q, "&t=%s", esc);
		free(esc);
	}
	for (size_t i = 0; o->args != NULL && o->args[i] != NULL; i++) {
		const char *a = o->args[i], *eq = strchr(a, '=');
		char *key = xstrndup(a, eq != NULL ? (size_t)(eq - a) : strlen(a));

		if (*key == '\0') {
			px_error_set(err, 0, "invalid build arg '%s': no name", a);
			free(key);
			goto out;
		}
		/* a name alone: null, so the ARG's default applies */
		json_object_set_new(args, key, eq != NULL ? json_string(eq + 1) : json_null());
		free(key);
	}
	if (json_object_size(args) > 0) {
		js = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
		esc = engine_query_escape(js);
		px_buf_addf(q, "&buildargs=%s", esc);
		free(esc);
		free(js);
	}
	if (o->target != NULL && *o->target != '\0') {
		esc = engine_query_escape(o->target);
		px_buf_addf(q, "&target=%s", esc);
		free(esc);
	}
	if (o->labels != NULL && json_object_size(o->labels) > 0) {
		js = json_dumps(o->labels, JSON_COMPACT | JSON_SORT_KEYS);
		if (!json_is_object(o->labels) || js == NULL) {
			free(js);
			px_error_set(err, 0, "build labels must be a JSON object of strings");
			goto out;
		}
		esc = engine_query_escape(js);
		px_buf_addf(q, "&labels=%s", esc);
		free(esc);
		free(js);
	}
	if (o->pull)
		px_buf_adds(q, "&pull=1");
	if (o->no_cache)
		px_buf_adds(q, "&nocache=1");
	ret = 0;
out:
	json_decref(args);
	return ret;
}

int engine_image_build(struct engine *e, const struct engine_build_opts *o, engine_progress_fn fn,
		       void *data, char **out_id, struct px_error *err)
{
	struct build_sink sink = {.fn = fn, .data = data};
	struct px_buf tar = PX_BUF_INIT, q = PX_BUF_INIT;
	struct engine_messages m;
	const char *what;
	json_t *img = NULL;
	char *dockerfile = NULL;
	int rc, ret = -1;

	what = o->tags != NULL && o->tags[0] != NULL ? o->tags[0] : o->context_dir;
	engine_messages_init(&m, true, build_message, &sink);
	if (make_context(o->context_dir, o->dockerfile, &tar, &dockerfile, err) < 0)
		goto wrap;
	if (build_query(o, dockerfile, &q, err) < 0)
		goto wrap;
	px_debug("build '%s': context of %zu bytes", what, tar.len);
	rc = engine_stream_raw(e, "POST", px_buf_cstr(&q), "application/x-tar", tar.data, tar.len,
			       engine_messages_feed, &m, NULL, err);
	if (rc < 0)
		goto wrap;
	if (rc == 0)
		engine_messages_finish(&m);
	if (m.state < 0) {
		px_error_move(err, &m.err);
		goto wrap;
	}
	if (rc == 1 || m.state == 1) {
		engine_error_interrupted(err);
		goto wrap;
	}
	if (sink.id == NULL && o->tags != NULL && o->tags[0] != NULL) {
		/* no aux message (an older engine): the tag names the result */
		rc = engine_image_inspect(e, o->tags[0], &img, err);
		if (rc < 0)
			goto wrap;
		if (rc == 0 && json_string_value(json_object_get(img, "Id")) != NULL)
			sink.id = xstrdup(json_string_value(json_object_get(img, "Id")));
	}
	if (sink.id == NULL) {
		px_error_set(err, 0, "engine: the build ended without an image id");
		goto wrap;
	}
	if (out_id != NULL) {
		*out_id = sink.id;
		sink.id = NULL;
	}
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "build '%s'", what != NULL ? what : "");
out:
	engine_messages_release(&m);
	json_decref(img);
	px_buf_release(&tar);
	px_buf_release(&q);
	free(dockerfile);
	free(sink.id);
	return ret;
}
