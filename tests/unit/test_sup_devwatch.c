/* test_sup_devwatch.c - unit tests for supervisor/devwatch.c on real projects in temp
 * directories: which paths the rules count (ignore, include, .dockerignore, editor
 * temporaries, paths outside every rule), what a batch plans per service (each action,
 * every rule not the first, rebuild with syncs, removals, several services, overflow), the
 * watcher's roots and the errors of the rules, and the sync tar read back with libarchive. */
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
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "supervisor/devwatch.h"

/*
 * A project in a temp dir
 */

struct proj {
	char dir[256];
	struct compose_project *p;
	struct sup_devwatch *dw;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static char *abs_in(const struct proj *pr, const char *rel)
{
	return px_path_join(pr->dir, rel);
}

static void put(const struct proj *pr, const char *rel, const char *content, mode_t mode)
{
	char *p = abs_in(pr, rel), *dir = px_path_dirname(p);
	struct px_error err = PX_ERROR_INIT;
	FILE *f;

	if (px_path_mkdir_p(dir, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	f = fopen(p, "w");
	if (f == NULL)
		fail_msg("cannot write %s: %s", p, strerror(errno));
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
	free(dir);
}

static void mkdirs(const struct proj *pr, const char *rel)
{
	char *p = abs_in(pr, rel);
	struct px_error err = PX_ERROR_INIT;

	if (px_path_mkdir_p(p, 0755, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(p);
}

static void proj_make(struct proj *pr)
{
	const char *tmp = getenv("TMPDIR");

	memset(pr, 0, sizeof(*pr));
	snprintf(pr->dir, sizeof(pr->dir), "%s/px-devwatch-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(pr->dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	unsetenv("COMPOSE_FILE");
	unsetenv("COMPOSE_PROJECT_NAME");
	unsetenv("COMPOSE_PROFILES");
}

/* Load compose.yaml (written from yaml) as the CLI would; *err_out (may be NULL) gets
 * sup_devwatch_new's error instead of failing the test. */
static int proj_load(struct proj *pr, const char *yaml, struct px_error *err_out)
{
	struct compose_options o;
	struct compose_project_ref ref;
	struct px_error err = PX_ERROR_INIT;
	int rc;

	put(pr, "compose.yaml", yaml, 0644);
	compose_options_init(&o);
	if (compose_project_resolve(&ref, &o, pr->dir, &err) < 0)
		fail_msg("resolve: %s", px_error_msg(&err));
	if (compose_load(&pr->p, &ref, &o, &err) < 0)
		fail_msg("load: %s", px_error_msg(&err));
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	rc = sup_devwatch_new(&pr->dw, pr->p, &err);
	if (rc < 0 && err_out == NULL)
		fail_msg("sup_devwatch_new: %s", px_error_msg(&err));
	if (err_out != NULL)
		px_error_move(err_out, &err);
	px_error_clear(&err);
	return rc;
}

static void proj_release(struct proj *pr)
{
	sup_devwatch_free(pr->dw);
	compose_project_free(pr->p);
	nftw(pr->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * wants()
 */

static const char wants_yaml[] = "services:\n"
				 "  web:\n"
				 "    image: busybox\n"
				 "    build: ./web\n"
				 "    develop:\n"
				 "      watch:\n"
				 "        - action: sync\n"
				 "          path: ./web/src\n"
				 "          target: /app/src\n"
				 "          ignore: ['*.tmp', 'cache/', node_modules,\n"
				 "                   '!node_modules/keep.js']\n"
				 "        - action: rebuild\n"
				 "          path: ./web/package.json\n"
				 "  api:\n"
				 "    image: busybox\n"
				 "    develop:\n"
				 "      watch:\n"
				 "        - action: sync+restart\n"
				 "          path: ./api\n"
				 "          target: /srv\n"
				 "          include: ['*.js', 'conf/**']\n"
				 "  worker:\n"
				 "    image: busybox\n"
				 "    develop:\n"
				 "      watch:\n"
				 "        - action: sync\n"
				 "          path: ./worker\n"
				 "          target: /w\n"
				 "          ignore: ['*', '!secret']\n";

static void test_wants(void **state)
{
	static const struct {
		const char *rel; /* NULL-prefixed: taken as is */
		bool want;
		const char *why;
	} cases[] = {
	    {"web/src/a.js", true, "under a sync rule"},
	    {"web/src", true, "the rule's path itself"},
	    {"web/src/x.tmp", false, "rule ignore"},
	    {"web/src/cache/y.js", false, "rule ignore matches a parent"},
	    {"web/src/node_modules/x.js", false, "rule ignore"},
	    {"web/src/node_modules/keep.js", true, "rule ignore exception"},
	    {"web/src/secret", false, ".dockerignore of the build context"},
	    {"web/src/secret/inner.txt", false, ".dockerignore matches a parent"},
	    {"web/src/deep/z.log", false, ".dockerignore **"},
	    {"web/src/.a.js.swp", false, "vim swap file"},
	    {"web/src/.idea/workspace.xml", false, "GoLand directory"},
	    {"web/src/a.js~", false, "backup file"},
	    {"web/package.json", true, "a file rule"},
	    {"web/other.txt", false, "outside every rule"},
	    {"web/srcfoo/a.js", false, "a sibling sharing the prefix"},
	    {"api/main.js", true, "include"},
	    {"api/README.md", false, "not included"},
	    {"api/lib/util.js", false, "include '*.js' is the top level only"},
	    {"api/conf/x.yaml", true, "include 'conf/**'"},
	    {"api/x.log", false, "not included"},
	    {"worker/anything.txt", true, "ignore with '*' keeps only its exceptions"},
	};
	struct proj pr;
	char *p;

	(void)state;
	proj_make(&pr);
	put(&pr, "web/.dockerignore", "# comment\nsrc/secret\n**/*.log\n", 0644);
	put(&pr, "web/Dockerfile", "FROM busybox\n", 0644);
	proj_load(&pr, wants_yaml, NULL);
	assert_int_equal(sup_devwatch_nrules(pr.dw), 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = abs_in(&pr, cases[i].rel);
		if (sup_devwatch_wants(pr.dw, p) != cases[i].want)
			fail_msg("%s: want %d (%s)", cases[i].rel, cases[i].want, cases[i].why);
		/* the watcher's callback says the same */
		assert_int_equal(sup_devwatch_want_fn(pr.dw, p), cases[i].want);
		free(p);
	}
	assert_false(sup_devwatch_wants(pr.dw, "/etc/passwd"));
	assert_false(sup_devwatch_wants(pr.dw, "web/src/a.js")); /* relative */
	assert_false(sup_devwatch_wants(pr.dw, NULL));
	proj_release(&pr);
}

/* <dockerfile>.dockerignore wins over .dockerignore, as in the docker CLI and compose. */
static void test_wants_dockerfile_ignore(void **state)
{
	static const char yaml[] = "services:\n"
				   "  web:\n"
				   "    build: {context: ./web, dockerfile: Dockerfile.dev}\n"
				   "    develop:\n"
				   "      watch:\n"
				   "        - {action: sync, path: ./web, target: /app}\n";
	struct proj pr;
	char *secret, *special;

	(void)state;
	proj_make(&pr);
	put(&pr, "web/.dockerignore", "secret\n", 0644);
	put(&pr, "web/Dockerfile.dev.dockerignore", "special\n", 0644);
	proj_load(&pr, yaml, NULL);
	secret = abs_in(&pr, "web/secret");
	special = abs_in(&pr, "web/special");
	assert_true(sup_devwatch_wants(pr.dw, secret));
	assert_false(sup_devwatch_wants(pr.dw, special));
	free(secret);
	free(special);
	proj_release(&pr);
}

/*
 * plan()
 */

static const char plan_yaml[] =
    "services:\n"
    "  app:\n"
    "    build: ./app\n"
    "    develop:\n"
    "      watch:\n"
    "        - {action: sync, path: ./app/src, target: /app/src}\n"
    "        - {action: rebuild, path: ./app/package.json}\n"
    "        - {action: sync+restart, path: ./app/config, target: /etc/app}\n"
    "        - action: sync+exec\n"
    "          path: ./app/src/hooks\n"
    "          target: /app/hooks\n"
    "          exec: {command: [kill, -HUP, '1'], user: root, environment: {A: '1'}}\n"
    "        - action: sync+exec\n"
    "          path: ./app/templates\n"
    "          target: /app/tpl\n"
    "          exec: {command: touch /tmp/reload}\n"
    "  worker:\n"
    "    image: busybox\n"
    "    develop:\n"
    "      watch:\n"
    "        - {action: restart, path: ./worker/conf}\n"
    "        - {action: sync, path: ./shared, target: /shared}\n"
    "  web:\n"
    "    image: busybox\n"
    "    develop:\n"
    "      watch:\n"
    "        - {action: sync, path: ./shared, target: /web/shared}\n"
    "  db:\n"
    "    image: postgres\n";

/* "svc: rebuild restart +copied -removed !exec; svc2: ..." */
static char *render(const struct sup_devwatch_plan *pl)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < pl->n; i++) {
		const struct sup_devwatch_action *a = &pl->v[i];

		px_buf_addf(&b, "%s%s:", i > 0 ? "; " : "", a->service);
		if (a->rebuild)
			px_buf_adds(&b, " rebuild");
		if (a->restart)
			px_buf_adds(&b, " restart");
		for (size_t k = 0; k < a->nsyncs; k++)
			px_buf_addf(&b, " %c%s", a->syncs[k].exists ? '+' : '-',
				    a->syncs[k].container);
		for (size_t k = 0; k < a->nexecs; k++)
			px_buf_addf(&b, " !%s", a->execs[k]->exec_command.v[0]);
	}
	return px_buf_detach(&b, NULL);
}

#define MAXCH 4

static void test_plan(void **state)
{
	static const struct {
		const char *name;
		const char *changes[MAXCH]; /* relative; a leading '-' means removed */
		bool overflow;
		const char *want;
	} cases[] = {
	    {"sync", {"app/src/a.js"}, false, "app: +/app/src/a.js"},
	    {"removed", {"-app/src/b.js"}, false, "app: -/app/src/b.js"},
	    {"the rule's own path", {"app/src"}, false, "app: +/app/src"},
	    {"rebuild keeps the batch's syncs",
	     {"app/package.json", "app/src/a.js"},
	     false,
	     "app: rebuild +/app/src/a.js"},
	    {"sync+restart", {"app/config/x.yaml"}, false, "app: restart +/etc/app/x.yaml"},
	    {"every rule, not the first",
	     {"app/src/hooks/h.sh"},
	     false,
	     "app: +/app/src/hooks/h.sh +/app/hooks/h.sh !kill"},
	    {"exec hooks once each, in rule order",
	     {"app/src/hooks/x", "app/templates/a", "app/templates/b"},
	     false,
	     "app: +/app/src/hooks/x +/app/hooks/x +/app/tpl/a +/app/tpl/b !kill !touch"},
	    {"restart", {"worker/conf/w.ini"}, false, "worker: restart"},
	    {"several services, in name order",
	     {"shared/lib.js", "worker/conf/w.ini"},
	     false,
	     "web: +/web/shared/lib.js; worker: restart +/shared/lib.js"},
	    {"outside every rule", {"app/README.md", "db/data", "/etc/passwd"}, false, ""},
	    /* app/templates does not exist: its hook runs, nothing is removed for it */
	    {"overflow",
	     {NULL},
	     true,
	     "app: rebuild restart +/app/src +/etc/app +/app/hooks !kill !touch; "
	     "web: +/web/shared; worker: restart +/shared"},
	};
	struct proj pr;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	proj_make(&pr);
	mkdirs(&pr, "app/src/hooks");
	mkdirs(&pr, "app/config");
	mkdirs(&pr, "worker/conf");
	mkdirs(&pr, "shared");
	put(&pr, "app/package.json", "{}\n", 0644);
	proj_load(&pr, plan_yaml, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct watcher_change ch[MAXCH];
		struct watcher_batch b = {.changes = ch, .overflow = cases[i].overflow};
		struct sup_devwatch_plan pl;
		char *got;

		for (size_t k = 0; k < MAXCH && cases[i].changes[k] != NULL; k++) {
			const char *rel = cases[i].changes[k];

			ch[k].exists = rel[0] != '-';
			rel += rel[0] == '-';
			ch[k].path = rel[0] == '/' ? xstrdup(rel) : abs_in(&pr, rel);
			b.n++;
		}
		assert_int_equal(sup_devwatch_plan(pr.dw, &b, &pl, &err), 0);
		got = render(&pl);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got '%s', want '%s'", cases[i].name, got, cases[i].want);
		/* hooks and mappings point back at their rules */
		for (size_t a = 0; a < pl.n; a++) {
			for (size_t k = 0; k < pl.v[a].nsyncs; k++)
				assert_true(pl.v[a].syncs[k].rule < sup_devwatch_nrules(pr.dw));
		}
		free(got);
		sup_devwatch_plan_release(&pl);
		assert_null(pl.v);
		for (size_t k = 0; k < b.n; k++)
			free(ch[k].path);
	}
	proj_release(&pr);
}

/* What an exec hook carries: user, environment, the command as written. */
static void test_plan_exec_hook(void **state)
{
	struct proj pr;
	struct px_error err = PX_ERROR_INIT;
	struct watcher_change ch;
	struct watcher_batch b = {.changes = &ch, .n = 1};
	struct sup_devwatch_plan pl;
	const struct compose_watch *w;

	(void)state;
	proj_make(&pr);
	proj_load(&pr, plan_yaml, NULL);
	ch.path = abs_in(&pr, "app/src/hooks/h.sh");
	ch.exists = true;
	assert_int_equal(sup_devwatch_plan(pr.dw, &b, &pl, &err), 0);
	assert_int_equal(pl.n, 1);
	assert_string_equal(pl.v[0].service, "app");
	assert_int_equal(pl.v[0].nexecs, 1);
	w = pl.v[0].execs[0];
	assert_int_equal(w->action, COMPOSE_WATCH_SYNC_EXEC);
	assert_int_equal(w->exec_command.n, 3);
	assert_string_equal(w->exec_command.v[2], "1");
	assert_string_equal(w->exec_user, "root");
	assert_string_equal(compose_map_get(&w->exec_environment, "A"), "1");
	assert_string_equal(pl.v[0].syncs[1].host, ch.path);
	sup_devwatch_plan_release(&pl);
	free(ch.path);
	proj_release(&pr);
}

/*
 * roots and errors
 */

static void test_roots(void **state)
{
	static const char yaml[] = "services:\n"
				   "  a:\n"
				   "    build: .\n"
				   "    volumes: ['./src:/app/src']\n"
				   "    develop:\n"
				   "      watch:\n"
				   "        - {action: sync, path: ./src, target: /app/src}\n"
				   "        - {action: sync+exec, path: ./src/gen, target: /gen,\n"
				   "           exec: {command: ['true']}}\n"
				   "        - {action: rebuild, path: ./package.json}\n"
				   "        - {action: restart, path: ./conf}\n"
				   "  b:\n"
				   "    image: busybox\n"
				   "    develop:\n"
				   "      watch:\n"
				   "        - {action: restart, path: ./conf}\n";
	struct proj pr;
	const struct watcher_root *roots;
	char *gen, *pkg, *conf, *src;
	size_t n;

	(void)state;
	proj_make(&pr);
	mkdirs(&pr, "src/gen");
	put(&pr, "package.json", "{}\n", 0644);
	proj_load(&pr, yaml, NULL);
	gen = abs_in(&pr, "src/gen");
	pkg = abs_in(&pr, "package.json");
	conf = abs_in(&pr, "conf");
	src = abs_in(&pr, "src/x.js");
	roots = sup_devwatch_roots(pr.dw, &n);
	/* ./src is bind-mounted: not watched (sync+exec is not one of compose's isSync);
	 * ./conf once; a missing path counts as a directory */
	assert_int_equal(n, 3);
	assert_string_equal(roots[0].path, gen);
	assert_true(roots[0].dir);
	assert_string_equal(roots[1].path, pkg);
	assert_false(roots[1].dir);
	assert_string_equal(roots[2].path, conf);
	assert_true(roots[2].dir);
	/* the unwatched rule still counts its paths, as in compose */
	assert_true(sup_devwatch_wants(pr.dw, src));
	free(gen);
	free(pkg);
	free(conf);
	free(src);
	proj_release(&pr);
}

static void test_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
	    {"services:\n  b:\n    image: busybox\n    develop:\n      watch:\n"
	     "        - {action: rebuild, path: .}\n",
	     "can't watch service 'b' with action rebuild without a build context"},
	    {"services:\n  b:\n    image: busybox\n    develop:\n      watch:\n"
	     "        - {action: sync, path: ., target: /x, ignore: ['a[']}\n",
	     "service 'b': develop.watch ignore: invalid pattern 'a['"},
	    {"services:\n  b:\n    image: busybox\n    develop:\n      watch:\n"
	     "        - {action: sync, path: ., target: /x, include: ['!']}\n",
	     "service 'b': develop.watch include: illegal exclusion pattern '!'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proj pr;
		struct px_error err = PX_ERROR_INIT;

		proj_make(&pr);
		assert_int_equal(proj_load(&pr, cases[i].yaml, &err), -1);
		assert_null(pr.dw);
		if (strncmp(px_error_msg(&err), cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("got '%s', want '%s...'", px_error_msg(&err), cases[i].want);
		px_error_clear(&err);
		proj_release(&pr);
	}
}

/* A .dockerignore the matcher refuses fails with the file named. */
static void test_error_dockerignore(void **state)
{
	static const char yaml[] = "services:\n  w:\n    build: ./w\n    develop:\n      watch:\n"
				   "        - {action: sync, path: ./w, target: /x}\n";
	struct proj pr;
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	proj_make(&pr);
	put(&pr, "w/.dockerignore", "[z-a]\n", 0644);
	assert_int_equal(proj_load(&pr, yaml, &err), -1);
	assert_true(strncmp(px_error_msg(&err), "service 'w': ignore file '/", 27) == 0);
	assert_non_null(strstr(px_error_msg(&err), "/w/.dockerignore': invalid pattern '[z-a]'"));
	px_error_clear(&err);
	proj_release(&pr);
}

/*
 * tar()
 */

/* "name type mode size [data|->target]" per entry, one per line. */
static char *tar_listing(const struct px_buf *tar)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct px_buf b = PX_BUF_INIT;
	char data[256];

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		mode_t m = archive_entry_mode(e);
		la_ssize_t n;

		assert_int_equal(archive_entry_uid(e), getuid());
		px_buf_addf(&b, "%s %c %04o %lld", archive_entry_pathname(e),
			    S_ISDIR(m)   ? 'd'
			    : S_ISLNK(m) ? 'l'
			    : S_ISREG(m) ? 'f'
					 : '?',
			    (unsigned)(m & 07777), (long long)archive_entry_size(e));
		if (S_ISLNK(m))
			px_buf_addf(&b, " ->%s", archive_entry_symlink(e));
		n = archive_read_data(a, data, sizeof(data));
		if (n > 0)
			px_buf_addf(&b, " %.*s", (int)n, data);
		px_buf_adds(&b, "\n");
	}
	archive_read_free(a);
	return px_buf_detach(&b, NULL);
}

static void test_tar(void **state)
{
	static const char yaml[] =
	    "services:\n"
	    "  app:\n"
	    "    image: busybox\n"
	    "    develop:\n"
	    "      watch:\n"
	    "        - action: sync\n"
	    "          path: ./d\n"
	    "          target: /app\n"
	    "          ignore: ['*.tmp', node_modules, '!node_modules/keep.js']\n";
	static const char filtered[] = "app/ d 0755 0\n"
				       "app/bin/ d 0700 0\n"
				       "app/bin/run.sh f 0755 10 #!/bin/sh\n\n"
				       "app/file.txt f 0640 5 hello\n"
				       "app/link l 0777 0 ->file.txt\n"
				       "app/node_modules/keep.js f 0644 4 keep\n"
				       "other/name.txt f 0640 5 hello\n";
	static const char everything[] = "app/ d 0755 0\n"
					 "app/bin/ d 0700 0\n"
					 "app/bin/run.sh f 0755 10 #!/bin/sh\n\n"
					 "app/file.txt f 0640 5 hello\n"
					 "app/ignored.tmp f 0644 1 x\n"
					 "app/link l 0777 0 ->file.txt\n"
					 "app/node_modules/ d 0755 0\n"
					 "app/node_modules/keep.js f 0644 4 keep\n"
					 "app/node_modules/x.js f 0644 1 y\n"
					 "other/name.txt f 0640 5 hello\n";
	struct proj pr;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf tar = PX_BUF_INIT;
	struct sup_devwatch_sync syncs[3];
	char *d, *link, *got;

	(void)state;
	umask(022);
	proj_make(&pr);
	put(&pr, "d/file.txt", "hello", 0640);
	put(&pr, "d/bin/run.sh", "#!/bin/sh\n", 0755);
	put(&pr, "d/ignored.tmp", "x", 0644);
	put(&pr, "d/node_modules/x.js", "y", 0644);
	put(&pr, "d/node_modules/keep.js", "keep", 0644);
	d = abs_in(&pr, "d/bin");
	assert_int_equal(chmod(d, 0700), 0);
	free(d);
	link = abs_in(&pr, "d/link");
	assert_int_equal(symlink("file.txt", link), 0);
	d = abs_in(&pr, "d");
	assert_int_equal(chmod(d, 0755), 0);
	proj_load(&pr, yaml, NULL);

	syncs[0] = (struct sup_devwatch_sync){.host = d, .container = "/app", .exists = true};
	/* removed: not in the tar */
	syncs[1] = (struct sup_devwatch_sync){.host = "/nonexistent", .container = "/gone"};
	syncs[2] = (struct sup_devwatch_sync){
	    .host = abs_in(&pr, "d/file.txt"), .container = "/other/name.txt", .exists = true};
	assert_int_equal(sup_devwatch_tar(pr.dw, syncs, 3, &tar, &err), 0);
	got = tar_listing(&tar);
	assert_string_equal(got, filtered);
	free(got);

	/* without the rules nothing is skipped: the filter above did the skipping */
	px_buf_reset(&tar);
	assert_int_equal(sup_devwatch_tar(NULL, syncs, 3, &tar, &err), 0);
	got = tar_listing(&tar);
	assert_string_equal(got, everything);
	free(got);

	/* a path that vanished since the plan is left out quietly, as compose does */
	px_buf_reset(&tar);
	syncs[1].exists = true;
	assert_int_equal(sup_devwatch_tar(pr.dw, syncs + 1, 1, &tar, &err), 0);
	got = tar_listing(&tar);
	assert_string_equal(got, "");
	free(got);

	free(syncs[2].host);
	free(link);
	free(d);
	px_buf_release(&tar);
	proj_release(&pr);
}

/* Syncs from a plan go into the tar under their container paths. */
static void test_plan_then_tar(void **state)
{
	struct proj pr;
	struct px_error err = PX_ERROR_INIT;
	struct watcher_change ch[2];
	struct watcher_batch b = {.changes = ch, .n = 2};
	struct sup_devwatch_plan pl;
	struct px_buf tar = PX_BUF_INIT;
	char *got;

	(void)state;
	proj_make(&pr);
	put(&pr, "app/config/x.yaml", "k: v\n", 0600);
	proj_load(&pr, plan_yaml, NULL);
	ch[0] = (struct watcher_change){abs_in(&pr, "app/config/gone.yaml"), false};
	ch[1] = (struct watcher_change){abs_in(&pr, "app/config/x.yaml"), true};
	assert_int_equal(sup_devwatch_plan(pr.dw, &b, &pl, &err), 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(sup_devwatch_tar(pr.dw, pl.v[0].syncs, pl.v[0].nsyncs, &tar, &err), 0);
	got = tar_listing(&tar);
	assert_string_equal(got, "etc/app/x.yaml f 0600 5 k: v\n\n");
	free(got);
	sup_devwatch_plan_release(&pl);
	free(ch[0].path);
	free(ch[1].path);
	px_buf_release(&tar);
	proj_release(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wants),
	    cmocka_unit_test(test_wants_dockerfile_ignore),
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_plan_exec_hook),
	    cmocka_unit_test(test_roots),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_dockerignore),
	    cmocka_unit_test(test_tar),
	    cmocka_unit_test(test_plan_then_tar),
	};

	return cmocka_run_group_tests_name("sup_devwatch", tests, NULL, NULL);
}
