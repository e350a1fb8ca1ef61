/* test_compose_load.c - compose_load()'s pipeline on real multi-file projects
 * (tests/data/compose/load/): override files, COMPOSE_FILE, documents merged in order,
 * extends in the same and another file, include, .env / --env-file / shell precedence,
 * the project name, and the errors each of them can give. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/merge.h"

/* Variables the fixtures use: a test sets what it needs, nothing leaks between tests. */
static const char *const vars[] = {
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_PATH_SEPARATOR",
    "COMPOSE_DISABLE_ENV_FILE",
    "TAG",
    "SHELL_VAR",
    "ONLY_DOTENV",
    "PROJ_NAME",
    "PG_VERSION",
    "PGDATA",
    "REDIS_TAG",
    "NOT_SET_ANYWHERE",
    "DERIVED",
};

static int clear_vars(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

/* tests/data/compose/load/<name>, absolute. */
static char *fixture(const char *name)
{
	const char *root = getenv("PRISYNC_SOURCE_DIR");
	char *rel, *abs;

	xasprintf(&rel, "%s/tests/data/compose/load/%s", root != NULL ? root : ".", name);
	abs = px_path_abs(NULL, rel);
	free(rel);
	return abs;
}

struct loaded {
	struct cnode_arena *a;
	struct compose_project *p;
	struct cnode *tree;
	struct px_error err;
	int rc;
};

/* Load the project in dir as the CLI would: files (-f) and env_files (--env-file) may be
 * NULL-terminated lists or NULL, name is -p or NULL. */
static void load(struct loaded *r, const char *dir, const char *const *files,
		 const char *const *env_files, const char *name)
{
	struct compose_options o;
	struct compose_project_ref ref;

	memset(r, 0, sizeof(*r));
	r->a = cnode_arena_new();
	r->p = xcalloc(1, sizeof(*r->p));
	compose_options_init(&o);
	for (size_t i = 0; files != NULL && files[i] != NULL; i++)
		compose_options_add_file(&o, files[i]);
	for (size_t i = 0; env_files != NULL && env_files[i] != NULL; i++)
		compose_options_add_env_file(&o, env_files[i]);
	if (name != NULL)
		o.project_name = xstrdup(name);
	r->rc = compose_project_resolve(&ref, &o, dir, &r->err);
	if (r->rc == 0) {
		r->rc = compose_load_tree(r->a, &ref, &o, r->p, &r->tree, &r->err);
		compose_project_ref_release(&ref);
	}
	compose_options_release(&o);
}

static void load_fixture(struct loaded *r, const char *name, const char *const *files,
			 const char *const *env_files, const char *pname)
{
	char *dir = fixture(name);
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	/* --env-file paths are relative to the current directory, as docker compose's */
	assert_int_equal(chdir(dir), 0);
	load(r, dir, files, env_files, pname);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	free(dir);
}

static void loaded_ok(struct loaded *r)
{
	if (r->rc != 0)
		fail_msg("load failed: %s", px_error_msg(&r->err));
}

static void loaded_release(struct loaded *r)
{
	px_error_clear(&r->err);
	compose_project_free(r->p);
	cnode_arena_free(r->a);
}

static struct cnode *parse1(struct cnode_arena *a, const char *text)
{
	struct cnode **docs;
	size_t n;
	struct px_error err = PX_ERROR_INIT;

	if (cnode_parse(a, "want", text, strlen(text), NULL, &docs, &n, &err) < 0)
		fail_msg("bad expected YAML: %s", px_error_msg(&err));
	return docs[0];
}

static void dump(struct px_buf *b, const struct cnode *n)
{
	if (n == NULL) {
		px_buf_adds(b, "(absent)");
		return;
	}
	switch (n->kind) {
	case CNODE_SCALAR:
		px_buf_adds(b, cnode_is_null(n) ? "~" : n->value);
		return;
	case CNODE_SEQ:
		px_buf_addch(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			px_buf_adds(b, i ? ", " : "");
			dump(b, n->items[i]);
		}
		px_buf_addch(b, ']');
		return;
	case CNODE_MAP:
		px_buf_addch(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			px_buf_addf(b, "%s%s: ", i ? ", " : "", cnode_key(n, i)->value);
			dump(b, cnode_val(n, i));
		}
		px_buf_addch(b, '}');
		return;
	}
}

/* The node at a dotted path ("services.web.image"); "[i]" indexes a sequence. */
static const struct cnode *at(const struct cnode *n, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k != NULL && n != NULL;
	     k = strtok_r(NULL, ".", &save)) {
		if (k[0] == '[') {
			size_t i = strtoul(k + 1, NULL, 10);

			n = n->kind == CNODE_SEQ && i < n->n ? n->items[i] : NULL;
		} else {
			n = cnode_map_get(n, k);
		}
	}
	free(copy);
	return n;
}

/* The subtree at path equals want (YAML; "%s" in want stands for dir). */
static void assert_at(const struct loaded *r, const char *path, const char *want_tmpl,
		      const char *dir)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_buf b = PX_BUF_INIT;
	char *want;
	const struct cnode *got = at(r->tree, path);

	for (const char *p = want_tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 's' && dir != NULL) {
			px_buf_adds(&b, dir);
			p++;
		} else {
			px_buf_addch(&b, *p);
		}
	}
	want = px_buf_detach(&b, NULL);
	if (!compose_node_equal(got, parse1(a, want))) {
		struct px_buf g = PX_BUF_INIT;

		dump(&g, got);
		fail_msg("%s:\n got  %s\n want %s", path, px_buf_cstr(&g), want);
	}
	free(want);
	cnode_arena_free(a);
}

static void assert_text(const struct loaded *r, const char *path, const char *want)
{
	const struct cnode *n = at(r->tree, path);

	if (n == NULL || n->kind != CNODE_SCALAR)
		fail_msg("%s: no scalar there", path);
	if (strcmp(n->value, want) != 0)
		fail_msg("%s: got '%s', want '%s'", path, n->value, want);
}

static void assert_error(const struct loaded *r, const char *want)
{
	if (r->rc == 0)
		fail_msg("loaded, but should have failed with '%s'", want);
	if (strstr(px_error_msg(&r->err), want) == NULL)
		fail_msg("got error '%s', want one containing '%s'", px_error_msg(&r->err), want);
}

/* ---- temporary projects, for the error cases ------------------------------------------- */

struct file {
	const char *name, *text;
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static char *tmp_project(const struct file *files)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	xasprintf(&dir, "%s/px-load-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; files[i].name != NULL; i++) {
		char *p = px_path_join(dir, files[i].name), *d = px_path_dirname(p);
		struct px_error err = PX_ERROR_INIT;

		assert_int_equal(px_path_mkdir_p(d, 0755, &err), 0);
		assert_int_equal(
		    px_path_write_file_atomic(p, files[i].text, strlen(files[i].text), 0644, &err),
		    0);
		free(d);
		free(p);
	}
	return dir;
}

static void tmp_remove(char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* ---- override files, COMPOSE_FILE, documents ---------------------------------------------- */

static void test_override_file(void **state)
{
	struct loaded r;
	char *dir = fixture("override");

	(void)state;
	load_fixture(&r, "override", NULL, NULL, NULL);
	loaded_ok(&r);
	/* compose.override.yaml was found next to compose.yaml and merged on top */
	assert_int_equal(r.p->config_files.n, 2);
	assert_non_null(strstr(r.p->config_files.v[1], "compose.override.yaml"));
	assert_text(&r, "services.web.image", "web:dev");
	assert_text(&r, "services.web.command", "npm run dev"); /* replaced, not appended */
	/* environment by name: the override's value at the base's place */
	assert_at(&r, "services.web.environment", "[NODE_ENV=development, PORT=3000, DEBUG=1]",
		  NULL);
	/* ports by host ip/published/target/protocol: 3000 once, the override's */
	assert_int_equal(at(r.tree, "services.web.ports")->n, 2);
	assert_text(&r, "services.web.ports.[0].target", "3000");
	assert_text(&r, "services.web.ports.[1].target", "9229");
	/* volumes by target */
	assert_int_equal(at(r.tree, "services.web.volumes")->n, 1);
	assert_text(&r, "services.web.volumes.[0].source", "./other");
	/* depends_on by service: the list form became long, then merged */
	assert_at(&r, "services.web.depends_on",
		  "{db: {condition: service_healthy, required: true}}", NULL);
	/* !reset and !override from the override file */
	assert_null(at(r.tree, "services.db.ports"));
	assert_at(&r, "services.db.environment", "[POSTGRES_PASSWORD=dev]", NULL);
	assert_string_equal(r.p->name, "override");
	assert_string_equal(r.p->working_dir, dir);
	free(dir);
	loaded_release(&r);
}

static void test_compose_file_variable(void **state)
{
	struct loaded r;

	(void)state;
	/* COMPOSE_FILE replaces discovery: no override file, extra.yaml instead */
	setenv("COMPOSE_FILE", "compose.yaml:extra.yaml", 1);
	load_fixture(&r, "override", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_int_equal(r.p->config_files.n, 2);
	assert_non_null(strstr(r.p->config_files.v[1], "extra.yaml"));
	assert_text(&r, "services.web.image", "web:1");
	assert_at(&r, "services.web.environment", "[NODE_ENV=production, PORT=3000, EXTRA=yes]",
		  NULL);
	assert_int_equal(at(r.tree, "services.db.ports")->n, 1);
	loaded_release(&r);

	/* another separator */
	setenv("COMPOSE_FILE", "compose.yaml;compose.override.yaml;extra.yaml", 1);
	setenv("COMPOSE_PATH_SEPARATOR", ";", 1);
	load_fixture(&r, "override", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_int_equal(r.p->config_files.n, 3);
	assert_text(&r, "services.web.image", "web:dev");
	assert_at(&r, "services.web.environment",
		  "[NODE_ENV=development, PORT=3000, DEBUG=1, EXTRA=yes]", NULL);
	loaded_release(&r);
}

static void test_files_merge_in_given_order(void **state)
{
	static const char *const files[] = {"compose.override.yaml", "compose.yaml", NULL};
	struct loaded r;

	(void)state;
	load_fixture(&r, "override", files, NULL, NULL);
	loaded_ok(&r);
	/* the later file wins: compose.yaml's values now */
	assert_text(&r, "services.web.image", "web:1");
	assert_text(&r, "services.web.command", "npm start");
	/* a mapping made a list is sorted first (compose-go's convertIntoSequence) */
	assert_at(&r, "services.web.environment", "[DEBUG=1, NODE_ENV=production, PORT=3000]",
		  NULL);
	/* a base with !reset tags: they mean nothing once merged */
	assert_int_equal(at(r.tree, "services.db.ports")->n, 1);
	loaded_release(&r);
}

static void test_documents_merge_in_order(void **state)
{
	struct loaded r;

	(void)state;
	load_fixture(&r, "multidoc", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.app.image", "two");
	assert_at(&r, "services.app.environment", "[A=3, B=2]", NULL);
	assert_text(&r, "services.other.image", "other");
	loaded_release(&r);
}

static void test_stdin(void **state)
{
	static const char *const files[] = {"-", NULL};
	static const struct file proj[] = {
	    {"stdin.yaml", "services:\n  app:\n    image: from-stdin:${TAG:-x}\n---\n"
			   "services:\n  app:\n    user: nobody\n"},
	    {".env", "TAG=dot\n"},
	    {NULL, NULL},
	};
	char *dir = tmp_project(proj), *in = px_path_join(dir, "stdin.yaml");
	int saved = dup(0), fd = open(in, O_RDONLY);
	struct loaded r;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	load(&r, dir, files, NULL, NULL);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	loaded_ok(&r);
	/* "-" is read once, its documents merged; the directory is the current one */
	assert_text(&r, "services.app.image", "from-stdin:dot");
	assert_text(&r, "services.app.user", "nobody");
	assert_string_equal(r.p->config_files.v[0], "-");
	assert_string_equal(r.p->working_dir, dir);
	loaded_release(&r);
	free(in);
	tmp_remove(dir);
}

/* ---- extends -------------------------------------------------------------------------------- */

static void test_extends_same_file(void **state)
{
	struct loaded r;

	(void)state;
	load_fixture(&r, "extends", NULL, NULL, NULL);
	loaded_ok(&r);
	/* mid extends base: merged with the same rules as an override file (!override too) */
	assert_at(&r, "services.mid",
		  "{image: base:1, environment: [LEVEL=mid], labels: [tier=base],"
		  " ports: [{mode: ingress, target: 80, published: \"8081\", protocol: tcp}]}",
		  NULL);
	/* web extends mid which extends base; !reset in the extending service drops the
	 * inherited ports; extends itself is gone */
	assert_at(
	    &r, "services.web",
	    "{image: base:1, environment: [LEVEL=mid], labels: [tier=base], command: [serve]}",
	    NULL);
	/* the base stays as it was */
	assert_at(&r, "services.base.environment", "{LEVEL: base}", NULL);
	loaded_release(&r);
}

static void test_extends_other_file(void **state)
{
	struct loaded r;
	char *dir = fixture("extends");

	(void)state;
	load_fixture(&r, "extends", NULL, NULL, NULL);
	loaded_ok(&r);
	/* relative paths of common/services.yml are relative to common/ */
	assert_at(&r, "services.api.build", "{context: %s/common}", dir);
	assert_at(&r, "services.api.env_file", "[{path: %s/common/app.env, required: true}]", dir);
	assert_at(&r, "services.api.volumes.[0].source", "%s/common/data", dir);
	assert_text(&r, "services.api.volumes.[1].source", "cache"); /* a volume name stays */
	assert_at(&r, "services.api.environment", "[ROLE=api, SHARED=1]", NULL);
	assert_null(at(r.tree, "services.api.extends"));
	/* worker extends app inside common/services.yml, resolved there */
	assert_text(&r, "services.jobs.command", "work");
	assert_at(&r, "services.jobs.build", "{context: %s/common}", dir);
	assert_at(&r, "services.jobs.environment", "{ROLE: app, SHARED: \"1\"}", NULL);
	/* the other file is one of the project's files */
	assert_int_equal(r.p->config_files.n, 2);
	assert_non_null(strstr(r.p->config_files.v[1], "common/services.yml"));
	free(dir);
	loaded_release(&r);
}

static void test_extends_cycle(void **state)
{
	struct loaded r;

	(void)state;
	load_fixture(&r, "extends-cycle", NULL, NULL, NULL);
	assert_error(&r, "extends-cycle/compose.yaml:4:14: extends cycle: a -> b -> a");
	loaded_release(&r);
}

static void test_extends_errors(void **state)
{
	static const struct {
		const char *compose, *want;
	} cases[] = {
	    {"services:\n  a:\n    extends: a\n", "compose.yaml:3:14: extends cycle: a -> a"},
	    {"services:\n  a:\n    extends:\n      service: nope\n",
	     "compose.yaml:4:16: cannot extend service \"a\": service \"nope\" not found"},
	    {"services:\n  a:\n    extends:\n      service: x\n      file: other.yaml\n",
	     "compose.yaml:4:16: cannot extend service \"a\": service \"x\" not found in "
	     "'other.yaml'"},
	    {"services:\n  a:\n    extends:\n      service: x\n      file: missing.yaml\n",
	     "cannot read compose file"},
	    {"services:\n  a:\n    extends:\n      file: other.yaml\n",
	     "compose.yaml:4:7: services.a.extends: 'service' is required"},
	    {"services:\n  a:\n    image: x\n    extends: [b]\n",
	     "services.a.extends must be a string or a mapping"},
	    {"services:\n  a:\n    extends:\n      service: b\n      file: other.yaml\n",
	     "extends cycle: a -> b -> c -> b"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct file proj[] = {
		    {"compose.yaml", cases[i].compose},
		    {"other.yaml", "services:\n  b:\n    extends: c\n  c:\n    extends: b\n"},
		    {NULL, NULL},
		};
		char *dir = tmp_project(proj);
		struct loaded r;

		load(&r, dir, NULL, NULL, NULL);
		assert_error(&r, cases[i].want);
		loaded_release(&r);
		tmp_remove(dir);
	}
}

/* A long chain resolves; a chain past the limit is one clear error, not a crash. */
static void test_extends_long_chain(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	struct file proj[] = {{"compose.yaml", NULL}, {NULL, NULL}};
	char *dir;
	struct loaded r;

	(void)state;
	for (int round = 0; round < 2; round++) {
		int n = round == 0 ? 500 : 1500;

		px_buf_reset(&b);
		/* s0 extends s1 ... extends s<n-1>: resolving s0 first goes all the way down */
		px_buf_adds(&b, "services:\n");
		for (int i = 0; i < n - 1; i++)
			px_buf_addf(&b, "  s%d:\n    extends: s%d\n    environment: [A%d=%d]\n", i,
				    i + 1, i, i);
		px_buf_addf(&b, "  s%d:\n    image: root\n    environment: [A=0]\n", n - 1);
		proj[0].text = px_buf_cstr(&b);
		dir = tmp_project(proj);
		load(&r, dir, NULL, NULL, NULL);
		if (round == 0) {
			loaded_ok(&r);
			assert_text(&r, "services.s0.image", "root");
			assert_int_equal(at(r.tree, "services.s0.environment")->n, 500);
		} else {
			assert_error(&r, "extends chain longer than 1000 services");
		}
		loaded_release(&r);
		tmp_remove(dir);
	}
	px_buf_release(&b);
}

/* ---- include ----------------------------------------------------------------------------------
 */

static void test_include(void **state)
{
	struct loaded r;
	char *dir = fixture("include");

	(void)state;
	load_fixture(&r, "include", NULL, NULL, NULL);
	loaded_ok(&r);
	/* sub/compose.yaml: its own .env for interpolation and for `environment: [PGDATA]`,
	 * its relative paths against its own directory */
	assert_text(&r, "services.db.image", "postgres:16");
	assert_at(&r, "services.db.environment", "[PGDATA=/var/lib/pg]", NULL);
	assert_at(&r, "services.db.build", "{context: %s/sub}", dir);
	assert_non_null(
	    strstr(at(r.tree, "services.db.volumes.[0].source")->value, "include/sub/init"));
	/* other/compose.yaml with env_file: given */
	assert_text(&r, "services.cache.image", "redis:7");
	/* volumes and networks come along; the included name: does not */
	assert_non_null(at(r.tree, "volumes.dbdata"));
	assert_non_null(at(r.tree, "networks.back"));
	assert_null(at(r.tree, "include"));
	assert_string_equal(r.p->name, "include");
	assert_text(&r, "services.web.image", "web");
	assert_int_equal(r.p->config_files.n, 3);
	assert_non_null(strstr(r.p->config_files.v[1], "sub/compose.yaml"));
	assert_non_null(strstr(r.p->config_files.v[2], "other/compose.yaml"));
	/* the included .env is not the project's */
	assert_null(compose_map_get(&r.p->environment, "PG_VERSION"));
	loaded_release(&r);

	/* the including project's variables win over the included .env */
	setenv("PG_VERSION", "15", 1);
	load_fixture(&r, "include", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.db.image", "postgres:15");
	loaded_release(&r);
	free(dir);
}

static void test_include_conflict(void **state)
{
	struct loaded r;

	(void)state;
	load_fixture(&r, "include-conflict", NULL, NULL, NULL);
	assert_error(&r, "include-conflict/compose.yaml:4:3: services.db conflicts with imported "
			 "resource");
	loaded_release(&r);
}

static void test_include_cycle(void **state)
{
	struct loaded r;

	(void)state;
	load_fixture(&r, "include-cycle", NULL, NULL, NULL);
	assert_error(&r, "b.yaml:2:5: include cycle detected: ");
	assert_error(&r, "include-cycle/compose.yaml -> ");
	loaded_release(&r);
}

static void test_include_forms_and_errors(void **state)
{
	static const struct {
		const char *compose, *want_err, *want_image;
	} cases[] = {
	    /* the same definition twice (a diamond) is not a conflict */
	    {"include: [lib/compose.yaml]\nservices:\n  lib:\n    image: lib:1\n", NULL, "lib:1"},
	    /* path as a list: the later files override the first; project_directory given */
	    {"include:\n  - path: [lib/compose.yaml, lib/more.yaml]\n    project_directory: lib\n",
	     NULL, "lib:more"},
	    /* env_file: replaces the included .env; relative to the including project */
	    {"include:\n  - path: lib/compose.yaml\n    env_file: [lib/alt.env]\n", NULL,
	     "lib:alt"},
	    {"include:\n  - path: lib/compose.yaml\n    env_file: nope.env\n",
	     "compose.yaml:3:15: "
	     "include: cannot read env file",
	     NULL},
	    {"include:\n  - path: lib/missing.yaml\n", "cannot read compose file", NULL},
	    {"include: lib/compose.yaml\n", "compose.yaml:1:10: 'include' must be a list", NULL},
	    {"include:\n  - paths: lib/compose.yaml\n",
	     "compose.yaml:2:5: include: unknown attribute "
	     "'paths'",
	     NULL},
	    {"include: [lib/compose.yaml]\nservices:\n  lib:\n    image: other\n",
	     "compose.yaml:3:3: services.lib conflicts with imported resource", NULL},
	    {"include: [compose.yaml]\n", "compose.yaml:1:11: include cycle detected", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct file proj[] = {
		    {"compose.yaml", cases[i].compose},
		    {"lib/compose.yaml", "services:\n  lib:\n    image: lib:${V}\n"},
		    {"lib/more.yaml", "services:\n  lib:\n    image: lib:more\n"},
		    {"lib/.env", "V=1\n"},
		    {"lib/alt.env", "V=alt\n"},
		    {NULL, NULL},
		};
		char *dir = tmp_project(proj);
		struct loaded r;

		load(&r, dir, NULL, NULL, NULL);
		if (cases[i].want_err != NULL) {
			assert_error(&r, cases[i].want_err);
		} else {
			loaded_ok(&r);
			assert_text(&r, "services.lib.image", cases[i].want_image);
		}
		loaded_release(&r);
		tmp_remove(dir);
	}
}

/* ---- variables ----------------------------------------------------------------------------------
 */

static void test_env_dotenv(void **state)
{
	struct loaded r;
	const char *w =
	    "The \"NOT_SET_ANYWHERE\" variable is not set. Defaulting to a blank string.";

	(void)state;
	load_fixture(&r, "env", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.app.image", "app:dotenv");
	assert_text(&r, "services.app.environment.FROM_DOTENV", "yes");
	assert_text(&r, "services.app.environment.FROM_SHELL", "from-dotenv");
	assert_text(&r, "services.app.environment.ALSO_MISSING", "xy");
	/* ${COMPOSE_PROJECT_NAME} is the project's name */
	assert_text(&r, "services.app.environment.PROJECT", "env");
	/* one warning for an unset variable used twice */
	assert_int_equal(r.p->warnings.n, 1);
	assert_string_equal(r.p->warnings.v[0], w);
	/* the project's variables: the .env file, then the shell */
	assert_string_equal(compose_map_get(&r.p->environment, "TAG"), "dotenv");
	assert_non_null(compose_map_get(&r.p->environment, "PATH"));
	assert_string_equal(compose_map_get(&r.p->environment, "COMPOSE_PROJECT_NAME"), "env");
	loaded_release(&r);
}

static void test_env_shell_wins(void **state)
{
	struct loaded r;

	(void)state;
	setenv("TAG", "shell", 1);
	setenv("SHELL_VAR", "from-shell", 1);
	load_fixture(&r, "env", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.app.image", "app:shell");
	assert_text(&r, "services.app.environment.FROM_SHELL", "from-shell");
	assert_text(&r, "services.app.environment.FROM_DOTENV", "yes");
	assert_string_equal(compose_map_get(&r.p->environment, "TAG"), "shell");
	loaded_release(&r);
}

static void test_env_files_in_order(void **state)
{
	static const char *const env_files[] = {"first.env", "second.env", NULL};
	struct loaded r;

	(void)state;
	load_fixture(&r, "env", NULL, env_files, NULL);
	loaded_ok(&r);
	/* the later file wins; .env is not read at all */
	assert_text(&r, "services.app.image", "app:second");
	assert_text(&r, "services.app.environment.FROM_DOTENV", "first");
	assert_text(&r, "services.app.environment.FROM_SHELL", "unset");
	/* ${TAG} in second.env sees the files read before it (compose-go's lookup order) */
	assert_text(&r, "services.app.environment.DERIVED", "first-x");
	loaded_release(&r);

	/* the shell still wins over --env-file */
	setenv("TAG", "shell", 1);
	load_fixture(&r, "env", NULL, env_files, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.app.image", "app:shell");
	assert_text(&r, "services.app.environment.DERIVED", "shell-x");
	loaded_release(&r);
}

static void test_env_file_errors_and_switches(void **state)
{
	static const char *const missing[] = {"nope.env", NULL};
	struct loaded r;

	(void)state;
	load_fixture(&r, "env", NULL, missing, NULL);
	assert_error(&r, "cannot read env file '");
	assert_error(&r, "nope.env': No such file or directory");
	loaded_release(&r);

	/* COMPOSE_DISABLE_ENV_FILE: no .env */
	setenv("COMPOSE_DISABLE_ENV_FILE", "true", 1);
	load_fixture(&r, "env", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_text(&r, "services.app.environment.FROM_SHELL", "unset");
	assert_int_equal(r.p->warnings.n, 3); /* TAG, ONLY_DOTENV, NOT_SET_ANYWHERE */
	loaded_release(&r);
	setenv("COMPOSE_DISABLE_ENV_FILE", "maybe", 1);
	load_fixture(&r, "env", NULL, NULL, NULL);
	assert_error(&r, "invalid COMPOSE_DISABLE_ENV_FILE value 'maybe'");
	loaded_release(&r);
}

/* ---- the project name ------------------------------------------------------------------------ */

static void test_name_precedence(void **state)
{
	static const char *const both[] = {"compose.yaml", "second.yaml", NULL};
	struct loaded r;

	(void)state;
	/* top-level name:, interpolated, normalised */
	load_fixture(&r, "name", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_string_equal(r.p->name, "fromfile");
	loaded_release(&r);
	setenv("PROJ_NAME", "custom", 1);
	load_fixture(&r, "name", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_string_equal(r.p->name, "custom");
	loaded_release(&r);
	/* the last file's name: wins */
	load_fixture(&r, "name", both, NULL, NULL);
	loaded_ok(&r);
	assert_string_equal(r.p->name, "second");
	loaded_release(&r);
	/* COMPOSE_PROJECT_NAME wins over name: */
	setenv("COMPOSE_PROJECT_NAME", "envname", 1);
	load_fixture(&r, "name", NULL, NULL, NULL);
	loaded_ok(&r);
	assert_string_equal(r.p->name, "envname");
	loaded_release(&r);
	/* -p wins over everything */
	load_fixture(&r, "name", NULL, NULL, "cli");
	loaded_ok(&r);
	assert_string_equal(r.p->name, "cli");
	assert_string_equal(compose_map_get(&r.p->environment, "COMPOSE_PROJECT_NAME"), "cli");
	loaded_release(&r);
}

static void test_name_from_dotenv_and_errors(void **state)
{
	static const struct {
		const char *compose, *dotenv, *want_name, *want_err;
	} cases[] = {
	    /* COMPOSE_PROJECT_NAME in .env counts, as in docker compose */
	    {"name: fromfile\nservices: {a: {image: a}}\n", "COMPOSE_PROJECT_NAME=dotenvname\n",
	     "dotenvname", NULL},
	    {"services: {a: {image: a}}\n", "COMPOSE_PROJECT_NAME=Bad Name\n", NULL,
	     "invalid project name \"Bad Name\" (from COMPOSE_PROJECT_NAME)"},
	    {"name: \"!!!\"\nservices: {a: {image: a}}\n", "", NULL,
	     "compose.yaml:1:7: invalid project name \"!!!\": must consist only of lowercase"},
	    {"name: ${X:?the project needs X}\nservices: {a: {image: a}}\n", "", NULL,
	     "compose.yaml:1:7: required variable X is missing a value: the project needs X"},
	    /* no name: anywhere: the directory's */
	    {"services: {a: {image: a}}\n", "", "*", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct file proj[] = {
		    {"compose.yaml", cases[i].compose},
		    {".env", cases[i].dotenv},
		    {NULL, NULL},
		};
		char *dir = tmp_project(proj), *base = px_path_basename(dir);
		char *norm = compose_project_name_normalize(base);
		struct loaded r;

		load(&r, dir, NULL, NULL, NULL);
		if (cases[i].want_err != NULL) {
			assert_error(&r, cases[i].want_err);
		} else {
			loaded_ok(&r);
			assert_string_equal(r.p->name, strcmp(cases[i].want_name, "*") == 0
							   ? norm
							   : cases[i].want_name);
		}
		loaded_release(&r);
		free(norm);
		free(base);
		tmp_remove(dir);
	}
}

/* ---- errors carry the file and place -------------------------------------------------------- */

static void test_load_errors(void **state)
{
	static const struct {
		const char *base, *over, *want;
	} cases[] = {
	    {"services:\n  a:\n    ports: [\"80:80\"]\n", "services:\n  a:\n    ports: {x: 1}\n",
	     "over.yaml:3:12: cannot override 'services.a.ports'"},
	    {"services:\n  a:\n    image: a\n", "services:\n  a:\n    image: [unclosed\n",
	     "over.yaml:"},
	    {"services:\n  a:\n    image: ${BAD\n", "services: {}\n",
	     "base.yaml:3:12: invalid "
	     "interpolation format"},
	    {"", "", "empty compose file '"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static const char *const files[] = {"base.yaml", "over.yaml", NULL};
		const struct file proj[] = {
		    {"base.yaml", cases[i].base},
		    {"over.yaml", cases[i].over},
		    {NULL, NULL},
		};
		char *dir = tmp_project(proj);
		int cwd = open(".", O_RDONLY | O_DIRECTORY);
		struct loaded r;

		assert_int_equal(chdir(dir), 0);
		load(&r, dir, files, NULL, NULL);
		assert_int_equal(fchdir(cwd), 0);
		close(cwd);
		assert_error(&r, cases[i].want);
		loaded_release(&r);
		tmp_remove(dir);
	}
}

/* ---- compose_load(): the typed model -------------------------------------------------- */

static struct compose_project *load_model(const char *name, struct px_error *err)
{
	char *dir = fixture(name);
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = NULL;

	compose_options_init(&o);
	if (compose_project_resolve(&ref, &o, dir, err) == 0) {
		if (compose_load(&p, &ref, &o, err) < 0)
			assert_null(p);
		compose_project_ref_release(&ref);
	}
	compose_options_release(&o);
	free(dir);
	return p;
}

/* load_model() that must succeed. */
static struct compose_project *must_load_model(const char *name)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *p = load_model(name, &err);

	if (p == NULL) {
		fail_msg("compose_load(%s): %s", name, px_error_msg(&err));
		abort(); /* not reached: tells static analysers p is set below */
	}
	return p;
}

static void test_load_model(void **state)
{
	struct compose_project *p = must_load_model("override");
	const struct compose_service *web, *db;

	(void)state;
	assert_string_equal(p->name, "override");
	assert_int_equal(p->nservices, 2);
	assert_string_equal(p->services[0].name, "db"); /* sorted */
	web = compose_project_service(p, "web");
	db = compose_project_service(p, "db");
	assert_non_null(web);
	assert_non_null(db);
	assert_null(compose_project_service(p, "nope"));
	assert_null(compose_project_service(NULL, "web"));
	assert_string_equal(web->image, "web:dev");
	assert_string_equal(compose_map_get(&web->environment, "NODE_ENV"), "development");
	assert_string_equal(compose_map_get(&web->environment, "PORT"), "3000");
	assert_int_equal(web->nports, 2);
	assert_int_equal(db->nports, 0); /* !reset */
	assert_string_equal(compose_map_get(&db->environment, "POSTGRES_PASSWORD"), "dev");
	assert_int_equal(p->config_files.n, 2);
	compose_project_free(p);

	p = must_load_model("extends");
	/* the env_file of the extended service, found in its own directory */
	assert_string_equal(
	    compose_map_get(&compose_project_service(p, "api")->environment, "FROM_APP_ENV"), "1");
	assert_non_null(
	    strstr(compose_project_service(p, "api")->build->context, "extends/common"));
	assert_int_equal(compose_project_service(p, "web")->nports, 0);
	compose_project_free(p);

	p = must_load_model("include");
	assert_string_equal(compose_project_service(p, "db")->image, "postgres:16");
	assert_string_equal(
	    compose_map_get(&compose_project_service(p, "db")->environment, "PGDATA"),
	    "/var/lib/pg");
	compose_project_free(p);
	compose_project_free(NULL);
}

static void test_load_model_errors(void **state)
{
	static const struct file proj[] = {
	    {"compose.yaml", "services:\n  web:\n    image: w\n    depends_on: [db]\n"},
	    {"compose.override.yaml", "services:\n  db: !reset\n  other:\n    image: o\n"},
	    {NULL, NULL},
	};
	char *dir = tmp_project(proj);
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = (struct compose_project *)&p; /* must be reset to NULL */
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	compose_options_init(&o);
	assert_int_equal(compose_project_resolve(&ref, &o, dir, &err), 0);
	/* the model's validation runs on the merged tree: a dependency the override removed */
	assert_int_equal(compose_load(&p, &ref, &o, &err), -1);
	assert_null(p);
	assert_non_null(strstr(px_error_msg(&err), "compose.yaml:4:"));
	assert_non_null(strstr(px_error_msg(&err), "db"));
	px_error_clear(&err);
	/* errors before the model too */
	assert_int_equal(
	    compose_load(&p, &ref, &(struct compose_options){.project_name = "Bad"}, &err), -1);
	assert_null(p);
	assert_non_null(strstr(px_error_msg(&err), "invalid project name \"Bad\" (from -p)"));
	px_error_clear(&err);
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	tmp_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_override_file, clear_vars),
	    cmocka_unit_test_setup(test_compose_file_variable, clear_vars),
	    cmocka_unit_test_setup(test_files_merge_in_given_order, clear_vars),
	    cmocka_unit_test_setup(test_documents_merge_in_order, clear_vars),
	    cmocka_unit_test_setup(test_stdin, clear_vars),
	    cmocka_unit_test_setup(test_extends_same_file, clear_vars),
	    cmocka_unit_test_setup(test_extends_other_file, clear_vars),
	    cmocka_unit_test_setup(test_extends_cycle, clear_vars),
	    cmocka_unit_test_setup(test_extends_errors, clear_vars),
	    cmocka_unit_test_setup(test_extends_long_chain, clear_vars),
	    cmocka_unit_test_setup(test_include, clear_vars),
	    cmocka_unit_test_setup(test_include_conflict, clear_vars),
	    cmocka_unit_test_setup(test_include_cycle, clear_vars),
	    cmocka_unit_test_setup(test_include_forms_and_errors, clear_vars),
	    cmocka_unit_test_setup(test_env_dotenv, clear_vars),
	    cmocka_unit_test_setup(test_env_shell_wins, clear_vars),
	    cmocka_unit_test_setup(test_env_files_in_order, clear_vars),
	    cmocka_unit_test_setup(test_env_file_errors_and_switches, clear_vars),
	    cmocka_unit_test_setup(test_name_precedence, clear_vars),
	    cmocka_unit_test_setup(test_name_from_dotenv_and_errors, clear_vars),
	    cmocka_unit_test_setup(test_load_errors, clear_vars),
	    cmocka_unit_test_setup(test_load_model, clear_vars),
	    cmocka_unit_test_setup(test_load_model_errors, clear_vars),
	};

	return cmocka_run_group_tests_name("compose_load", tests, NULL, clear_vars);
}
