/* test_engine_build.c - unit tests for the build context of engine/build.c: the tar read back
 * with libarchive's reader and compared entry by entry (names, order, types, modes, owners,
 * contents) for .dockerignore rules, the always-sent Dockerfile and ignore file, a
 * Dockerfile-specific ignore file and a Dockerfile outside the context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/buf.h"
#include "base/path.h"
#include "base/xmalloc.h"
#include "engine/engine.h"

struct tmp {
	char root[256];
};

static void tmp_make(struct tmp *t)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t->root, sizeof(t->root), "%s/px-build-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(t->root) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void tmp_remove(struct tmp *t)
{
	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const struct tmp *t, const char *rel, const char *content, mode_t mode)
{
	char *p = px_path_join(t->root, rel), *dir = px_path_dirname(p);
	struct px_error err = PX_ERROR_INIT;
	FILE *f;

	if (px_path_mkdir_p(dir, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(dir);
	free(p);
}

static void mkdir_in(const struct tmp *t, const char *rel, mode_t mode)
{
	char *p = px_path_join(t->root, rel);
	struct px_error err = PX_ERROR_INIT;

	if (px_path_mkdir_p(p, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

/* One entry as read back: "<type> <mode> <uid>:<gid> <name>[ -> target][ = content]". */
static void list_tar(const struct px_buf *tar, struct px_buf *out)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char buf[256];

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		mode_t m = archive_entry_mode(e);
		char type = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? 'f' : '?';
		ssize_t n;

		px_buf_addf(out, "%c %04o %lld:%lld %s", type, (unsigned)(m & 07777),
			    (long long)archive_entry_uid(e), (long long)archive_entry_gid(e),
			    archive_entry_pathname(e));
		if (type == 'l')
			px_buf_addf(out, " -> %s", archive_entry_symlink(e));
		if (type == 'f' && archive_entry_size(e) <= 64) {
			px_buf_adds(out, " = ");
			while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
				px_buf_add(out, buf, (size_t)n);
		}
		px_buf_addch(out, '\n');
	}
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

static char *context_listing(const char *dir, const char *dockerfile)
{
	struct px_buf tar = PX_BUF_INIT, out = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;

	if (engine_build_context(dir, dockerfile, &tar, &err) < 0)
		fail_msg("engine_build_context: %s", px_error_msg(&err));
	list_tar(&tar, &out);
	px_buf_release(&tar);
	return px_buf_detach(&out, NULL);
}

static void assert_listing(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("tar listing:\n%s\nwant:\n%s", got, want);
}

/* Rules of every kind, and how the walk treats an excluded directory: not sent, walked
 * into only when an exception names something below it. */
static void test_dockerignore_rules(void **state)
{
	struct tmp t;
	char *got, *p;

	(void)state;
	tmp_make(&t);
	put(&t, "Dockerfile", "FROM x\n", 0644);
	put(&t, ".dockerignore",
	    "# build outputs\n*.log\n!keep.log\nsecret/\nbuild/**\n!build/keep/**\n"
	    "/docs/*.md\n!docs/README.md\n**/*.tmp\n",
	    0644);
	put(&t, "a.txt", "a\n", 0644);
	put(&t, "run.sh", "#!/bin/sh\n", 0755);
	put(&t, "keep.log", "k\n", 0600);
	put(&t, "drop.log", "d\n", 0644);
	put(&t, "secret/key", "s\n", 0600);
	put(&t, "build/x.o", "x\n", 0644);
	put(&t, "build/keep/y.o", "y\n", 0644);
	put(&t, "docs/README.md", "r\n", 0644);
	put(&t, "docs/guide.md", "g\n", 0644);
	put(&t, "docs/img.png", "i\n", 0644);
	put(&t, "sub/deep/file.tmp", "t\n", 0644);
	put(&t, "sub/deep/file.txt", "f\n", 0640);
	mkdir_in(&t, "dir", 0750);
	p = px_path_join(t.root, "link");
	assert_int_equal(symlink("a.txt", p), 0);
	free(p);
	p = px_path_join(t.root, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	free(p);
	mkdir_in(&t, "build", 0755);
	mkdir_in(&t, "docs", 0755);
	mkdir_in(&t, "sub", 0755);
	mkdir_in(&t, "sub/deep", 0755);

	got = context_listing(t.root, NULL);
	assert_listing(got, "f 0644 0:0 .dockerignore\n"
			    "f 0644 0:0 Dockerfile = FROM x\n\n"
			    "f 0644 0:0 a.txt = a\n\n"
			    /* the prefix pattern of build matches below it, not build itself */
			    "d 0755 0:0 build/\n"
			    /* build/keep is excluded and not sent, but walked for the exception */
			    "f 0644 0:0 build/keep/y.o = y\n\n"
			    "d 0750 0:0 dir/\n"
			    "d 0755 0:0 docs/\n"
			    "f 0644 0:0 docs/README.md = r\n\n"
			    "f 0644 0:0 docs/img.png = i\n\n"
			    /* fifo: not a file a build can use */
			    "f 0600 0:0 keep.log = k\n\n"
			    "l 0777 0:0 link -> a.txt\n"
			    "f 0755 0:0 run.sh = #!/bin/sh\n\n"
			    /* secret/: excluded, and no exception below it: never walked */
			    "d 0755 0:0 sub/\n"
			    "d 0755 0:0 sub/deep/\n"
			    "f 0640 0:0 sub/deep/file.txt = f\n\n");
	free(got);
	tmp_remove(&t);
}

/* Excluding everything still sends the Dockerfile and the ignore file, even from an
 * excluded directory (whose entry is not sent). */
static void test_build_files_always_sent(void **state)
{
	struct tmp t;
	char *got, *p;

	(void)state;
	tmp_make(&t);
	put(&t, ".dockerignore", "*\n", 0644);
	put(&t, "Dockerfile", "FROM x\n", 0644);
	put(&t, "app.js", "1\n", 0644);
	put(&t, "ci/Dockerfile.ci", "FROM y\n", 0644);
	got = context_listing(t.root, NULL);
	assert_listing(got, "f 0644 0:0 .dockerignore = *\n\n"
			    "f 0644 0:0 Dockerfile = FROM x\n\n");
	free(got);
	got = context_listing(t.root, "ci/Dockerfile.ci");
	assert_listing(got, "f 0644 0:0 .dockerignore = *\n\n"
			    "f 0644 0:0 ci/Dockerfile.ci = FROM y\n\n");
	free(got);

	/* <Dockerfile>.dockerignore wins over .dockerignore, and is the one sent */
	put(&t, "ci/Dockerfile.ci.dockerignore", "app.js\nDockerfile\n", 0644);
	got = context_listing(t.root, "ci/Dockerfile.ci");
	assert_listing(got, "f 0644 0:0 .dockerignore = *\n\n"
			    "d 0755 0:0 ci/\n"
			    "f 0644 0:0 ci/Dockerfile.ci = FROM y\n\n"
			    "f 0644 0:0 ci/Dockerfile.ci.dockerignore = app.js\nDockerfile\n\n");
	free(got);
	/* no ignore file at all: everything */
	p = px_path_join(t.root, ".dockerignore");
	assert_int_equal(unlink(p), 0);
	free(p);
	got = context_listing(t.root, NULL);
	assert_listing(got, "f 0644 0:0 Dockerfile = FROM x\n\n"
			    "f 0644 0:0 app.js = 1\n\n"
			    "d 0755 0:0 ci/\n"
			    "f 0644 0:0 ci/Dockerfile.ci = FROM y\n\n"
			    "f 0644 0:0 ci/Dockerfile.ci.dockerignore = app.js\nDockerfile\n\n");
	free(got);
	tmp_remove(&t);
}

/* A Dockerfile outside the context travels as .dockerfile.<hash>, listed in the sent
 * .dockerignore so that the engine drops it; the name depends on the content only. */
static void test_dockerfile_outside(void **state)
{
	struct tmp t;
	char *ctx, *got, *again, *first;
	const char *name;

	(void)state;
	tmp_make(&t);
	put(&t, "Dockerfile.outside", "FROM z\n", 0644);
	put(&t, "app/.dockerignore", "*.log", 0644);
	put(&t, "app/main.c", "int main;\n", 0644);
	put(&t, "app/x.log", "log\n", 0644);
	ctx = px_path_join(t.root, "app");
	got = context_listing(ctx, "../Dockerfile.outside");
	name = strstr(got, ".dockerfile.");
	assert_non_null(name);
	assert_int_equal(strspn(name + 12, "0123456789abcdef"), 16);
	xasprintf(&again,
		  "f 0644 0:0 main.c = int main;\n\n"
		  "f 0600 0:0 %.28s = FROM z\n\n"
		  "f 0600 0:0 .dockerignore = *.log\n%.28s\n\n",
		  name, name);
	assert_listing(got, again);
	/* an absolute path names it just as well, and the same content the same name */
	free(again);
	again = px_path_join(t.root, "Dockerfile.outside");
	first = got;
	got = context_listing(ctx, again);
	assert_listing(got, first);
	free(first);
	free(again);
	free(got);

	/* through symlinks: one into the context names the file there (which the exception
	 * keeps in spite of the patterns), one out of it makes an outside Dockerfile */
	put(&t, "app/.dockerignore", "docker\n", 0644);
	put(&t, "app/docker/real.Dockerfile", "FROM in\n", 0644);
	again = px_path_join(ctx, "Dockerfile");
	assert_int_equal(symlink("docker/real.Dockerfile", again), 0);
	got = context_listing(ctx, NULL);
	assert_listing(got, "f 0644 0:0 .dockerignore = docker\n\n"
			    "l 0777 0:0 Dockerfile -> docker/real.Dockerfile\n"
			    "f 0644 0:0 docker/real.Dockerfile = FROM in\n\n"
			    "f 0644 0:0 main.c = int main;\n\n"
			    "f 0644 0:0 x.log = log\n\n");
	free(got);
	assert_int_equal(unlink(again), 0);
	assert_int_equal(symlink("../Dockerfile.outside", again), 0);
	got = context_listing(ctx, NULL);
	assert_non_null(strstr(got, "l 0777 0:0 Dockerfile -> ../Dockerfile.outside\n"));
	assert_non_null(strstr(got, " = FROM z\n"));
	assert_non_null(strstr(got, "f 0600 0:0 .dockerignore = docker\n\n.dockerfile."));
	free(got);
	free(again);
	free(ctx);
	tmp_remove(&t);
}

/* Names ustar cannot hold (long, non-ASCII) survive through pax headers; the tar is the
 * same bytes every time. */
static void test_names_and_determinism(void **state)
{
	struct tmp t;
	struct px_buf a = PX_BUF_INIT, b = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	char longname[200], want[512], *got;

	(void)state;
	tmp_make(&t);
	memset(longname, 'n', 150);
	strcpy(longname + 150, ".txt");
	put(&t, "Dockerfile", "FROM x\n", 0644);
	put(&t, longname, "L\n", 0644);
	put(&t, "\xc3\xa9t\xc3\xa9.txt", "e\n", 0644);
	got = context_listing(t.root, NULL);
	snprintf(want, sizeof(want),
		 "f 0644 0:0 Dockerfile = FROM x\n\n"
		 "f 0644 0:0 %s = L\n\n"
		 "f 0644 0:0 \xc3\xa9t\xc3\xa9.txt = e\n\n",
		 longname);
	assert_listing(got, want);
	free(got);
	assert_int_equal(engine_build_context(t.root, NULL, &a, &err), 0);
	assert_int_equal(engine_build_context(t.root, NULL, &b, &err), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* appended: what was in the buffer stays in front */
	px_buf_reset(&b);
	px_buf_adds(&b, "prefix");
	assert_int_equal(engine_build_context(t.root, NULL, &b, &err), 0);
	assert_int_equal(b.len, a.len + 6);
	assert_memory_equal(b.data + 6, a.data, a.len);
	px_buf_release(&a);
	px_buf_release(&b);
	tmp_remove(&t);
}

static void test_context_errors(void **state)
{
	struct tmp t;
	struct px_buf tar = PX_BUF_INIT;
	struct px_error err = PX_ERROR_INIT;
	char *p;

	(void)state;
	tmp_make(&t);
	/* no Dockerfile */
	assert_int_equal(engine_build_context(t.root, NULL, &tar, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "cannot find Dockerfile '"));
	assert_non_null(strstr(px_error_msg(&err), "/Dockerfile': No such file or directory"));
	px_error_clear(&err);
	/* a bad pattern names the ignore file */
	put(&t, "Dockerfile", "FROM x\n", 0644);
	put(&t, ".dockerignore", "ok\nsrc/[a-\n", 0644);
	assert_int_equal(engine_build_context(t.root, NULL, &tar, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "ignore file of build context '"));
	assert_non_null(strstr(px_error_msg(&err), "invalid pattern 'src/[a-'"));
	px_error_clear(&err);
	put(&t, ".dockerignore", "!\n", 0644);
	assert_int_equal(engine_build_context(t.root, NULL, &tar, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "illegal exclusion pattern '!'"));
	px_error_clear(&err);
	/* the context is not a directory */
	p = px_path_join(t.root, "Dockerfile");
	assert_int_equal(engine_build_context(p, NULL, &tar, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "' is not a directory"));
	px_error_clear(&err);
	free(p);
	assert_int_equal(engine_build_context("", NULL, &tar, &err), -1);
	px_error_clear(&err);
	assert_int_equal(tar.len, 0); /* nothing half-written is left */
	px_buf_release(&tar);
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dockerignore_rules),
	    cmocka_unit_test(test_build_files_always_sent),
	    cmocka_unit_test(test_dockerfile_outside),
	    cmocka_unit_test(test_names_and_determinism),
	    cmocka_unit_test(test_context_errors),
	};

	return cmocka_run_group_tests_name("engine_build", tests, NULL, NULL);
}
