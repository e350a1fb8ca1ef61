/* test_vcs.c - vcs/: discovery, HEAD (unborn, branch, detached), git's ignore rules, the
 * status of a path and the diff of two commits under some paths, on throw-away
 * repositories built with libgit2 itself or with the git command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/xmalloc.h"
#include "vcs/vcs.h"

/* An isolated HOME, so the developer's ~/.gitconfig (core.excludesFile,
 * init.defaultBranch) cannot change what the tests see. */
static char *fake_home;

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;

	xasprintf(&tmpl, "%s/px-vcs-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp '%s' failed", tmpl);
	return tmpl;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char *p;
	FILE *f;

	xasprintf(&p, "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void make_dir(const char *dir, const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void check_git(int rc)
{
	if (rc < 0) {
		const git_error *e = git_error_last();

		fail_msg("libgit2 call failed (%d): %s", rc, e != NULL ? e->message : "?");
	}
}

/* A fresh repository whose HEAD is refs/heads/main; *dir is the (real) working tree. */
static git_repository *init_repo(char **dir)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;
	char *tmp = make_tmpdir();

	/* the _INIT macros leave fields to zero-fill, which -Wextra flags */
	check_git(git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION));
	opts.flags = GIT_REPOSITORY_INIT_MKPATH;
	opts.initial_head = "main";
	check_git(git_repository_init_ext(&repo, tmp, &opts));
	*dir = realpath(tmp, NULL);
	free(tmp);
	return repo;
}

/* Stage everything not ignored and commit it on HEAD; the new commit id goes to *oid. */
static void commit_all(git_repository *repo, const char *message, git_oid *oid)
{
	git_index *index = NULL;
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_oid tree_id, parent_id;
	const git_commit *parents[1];
	size_t nparents = 0;

	check_git(git_repository_index(&index, repo));
	check_git(git_index_add_all(index, NULL, 0, NULL, NULL));
	check_git(git_index_write(index));
	check_git(git_index_write_tree(&tree_id, index));
	check_git(git_tree_lookup(&tree, repo, &tree_id));
	check_git(git_signature_new(&sig, "Test", "test@example.invalid", 1700000000, 0));
	if (git_reference_name_to_id(&parent_id, repo, "HEAD") == 0) {
		check_git(git_commit_lookup(&parent, repo, &parent_id));
		parents[0] = parent;
		nparents = 1;
	}
	check_git(
	    git_commit_create(oid, repo, "HEAD", sig, sig, NULL, message, tree, nparents, parents));
	git_commit_free(parent);
	git_tree_free(tree);
	git_signature_free(sig);
	git_index_free(index);
}

static void test_not_a_repo(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = (struct vcs_repo *)&err; /* must be overwritten with NULL */
	char *dir = make_tmpdir();

	(void)state;
	assert_int_equal(vcs_open(&r, dir, &err), 1);
	assert_null(r);
	assert_null(err.msg);
	rm_rf(dir);
	free(dir);
}

static void test_missing_path_is_an_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = make_tmpdir(), *missing;

	(void)state;
	xasprintf(&missing, "%s/no-such-dir", dir);
	assert_int_equal(vcs_open(&r, missing, &err), -1);
	assert_null(r);
	assert_non_null(strstr(px_error_msg(&err), missing));
	assert_non_null(strstr(px_error_msg(&err), "No such file or directory"));
	px_error_clear(&err);
	free(missing);
	rm_rf(dir);
	free(dir);
}

static void test_unborn_head(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct vcs_head h;
	char *dir = NULL;
	git_repository *repo = init_repo(&dir);

	(void)state;
	assert_int_equal(vcs_open(&r, dir, &err), 0);
	assert_string_equal(vcs_workdir(r), dir);
	memset(&h, 'x', sizeof(h));
	assert_int_equal(vcs_head(r, &h, &err), 0);
	assert_string_equal(h.branch, "main");
	assert_string_equal(h.oid, "");
	assert_true(h.unborn);
	assert_false(h.detached);
	vcs_free(r);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

static void test_branch_after_commit(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct vcs_head h;
	git_reference *branch = NULL;
	git_commit *commit = NULL;
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	char *dir = NULL;
	git_repository *repo = init_repo(&dir);

	(void)state;
	write_file(dir, "schema.prisma", "model User { id Int @id }\n");
	commit_all(repo, "first", &oid);
	git_oid_tostr(hex, sizeof(hex), &oid);

	assert_int_equal(vcs_open(&r, dir, &err), 0);
	assert_int_equal(vcs_head(r, &h, &err), 0);
	assert_string_equal(h.branch, "main");
	assert_string_equal(h.oid, hex);
	assert_false(h.unborn);
	assert_false(h.detached);

	/* a branch with a slash, made current: the name is everything after refs/heads/ */
	check_git(git_commit_lookup(&commit, repo, &oid));
	check_git(git_branch_create(&branch, repo, "feature/user-id", commit, 0));
	check_git(git_repository_set_head(repo, "refs/heads/feature/user-id"));
	assert_int_equal(vcs_head(r, &h, &err), 0);
	assert_string_equal(h.branch, "feature/user-id");
	assert_string_equal(h.oid, hex);
	assert_false(h.detached);

	git_reference_free(branch);
	git_commit_free(commit);
	vcs_free(r);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

static void test_detached_head(void **state)
{
	git_checkout_options co;
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct vcs_head h;
	git_oid first, second;
	char hex[GIT_OID_HEXSZ + 1];
	char *dir = NULL;
	git_repository *repo = init_repo(&dir);

	(void)state;
	write_file(dir, "schema.prisma", "model User { id Int @id }\n");
	commit_all(repo, "first", &first);
	write_file(dir, "schema.prisma", "model User { id Int @id\n name String }\n");
	commit_all(repo, "second", &second);

	/* check out the first commit, detached, as `git checkout <sha>` does */
	check_git(git_repository_set_head_detached(repo, &first));
	check_git(git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION));
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	check_git(git_checkout_head(repo, &co));
	git_oid_tostr(hex, sizeof(hex), &first);

	assert_int_equal(vcs_open(&r, dir, &err), 0);
	assert_int_equal(vcs_head(r, &h, &err), 0);
	assert_true(h.detached);
	assert_false(h.unborn);
	assert_string_equal(h.branch, "");
	assert_string_equal(h.oid, hex);

	vcs_free(r);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

struct ignore_case {
	const char *path; /* relative; "@/" at the front means "<workdir>/" */
	bool want;
};

static void test_gitignore_rules(void **state)
{
	static const struct ignore_case cases[] = {
	    {"secret.txt", true},                /* a plain file rule */
	    {"notes.txt", false},                /* no rule */
	    {"debug.log", true},                 /* glob */
	    {"sub/trace.log", true},             /* glob without '/' matches at any depth */
	    {"keep.log", false},                 /* negation wins over the earlier glob */
	    {"node_modules", true},              /* existing directory, dir-only rule */
	    {"node_modules/", true},             /* trailing '/' marks a directory */
	    {"node_modules/pkg/index.js", true}, /* under an ignored directory */
	    {"web/node_modules/x/y.js", true},   /* the rule applies at any depth */
	    {"lib/node_modules", false},         /* a regular file: dir-only rule misses */
	    {"dist/", true},                     /* gone directory, marked by the '/' */
	    {"dist", false},                     /* gone, unmarked: taken for a file */
	    {"prisma/schema.prisma", false},     /* what we watch */
	    {"prisma/../debug.log", true},       /* cleaned before asking */
	    {".", false},                        /* the working tree itself */
	    {"@/debug.log", true},               /* absolute path */
	    {"@/keep.log", false},
	    {"@/node_modules/pkg/index.js", true},
	    {"@/", false},
	};
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = NULL;
	git_repository *repo = init_repo(&dir);
	size_t failures = 0;

	(void)state;
	write_file(dir, ".gitignore", "secret.txt\n*.log\n!keep.log\nnode_modules/\ndist/\n");
	make_dir(dir, "node_modules");
	make_dir(dir, "lib");
	write_file(dir, "lib/node_modules", "not a directory\n");
	make_dir(dir, "prisma");

	assert_int_equal(vcs_open(&r, dir, &err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ig = !cases[i].want;
		char *p;

		if (strncmp(cases[i].path, "@/", 2) == 0)
			xasprintf(&p, "%s/%s", dir, cases[i].path + 2);
		else
			p = xstrdup(cases[i].path);
		if (vcs_path_ignored(r, p, &ig, &err) != 0) {
			print_error("vcs_path_ignored(\"%s\") failed: %s\n", p, px_error_msg(&err));
			failures++;
		} else if (ig != cases[i].want) {
			print_error("vcs_path_ignored(\"%s\") = %d, want %d\n", p, ig,
				    cases[i].want);
			failures++;
		}
		px_error_clear(&err);
		free(p);
	}
	assert_int_equal(failures, 0);

	vcs_free(r);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

/* The same working tree reached through a symlink: the path is still inside it. */
static void test_path_through_symlink(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = NULL, *link, *p;
	git_repository *repo = init_repo(&dir);
	bool ig = false;

	(void)state;
	write_file(dir, ".gitignore", "*.log\n");
	xasprintf(&link, "%s-link", dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(vcs_open(&r, dir, &err), 0);

	xasprintf(&p, "%s/debug.log", link);
	assert_int_equal(vcs_path_ignored(r, p, &ig, &err), 0);
	assert_true(ig);
	free(p);
	xasprintf(&p, "%s/schema.prisma", link);
	assert_int_equal(vcs_path_ignored(r, p, &ig, &err), 0);
	assert_false(ig);
	free(p);

	vcs_free(r);
	git_repository_free(repo);
	unlink(link);
	free(link);
	rm_rf(dir);
	free(dir);
}

static void test_paths_outside_are_errors(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = NULL, *sibling;
	git_repository *repo = init_repo(&dir);
	const char *outside[3];
	bool ig;

	(void)state;
	write_file(dir, ".gitignore", "*.log\n");
	/* shares the working tree's name as a string prefix: must not count as inside */
	xasprintf(&sibling, "%s-other/debug.log", dir);
	outside[0] = sibling;
	outside[1] = "../debug.log";
	outside[2] = "/etc/debug.log";

	assert_int_equal(vcs_open(&r, dir, &err), 0);
	for (size_t i = 0; i < 3; i++) {
		ig = true;
		assert_int_equal(vcs_path_ignored(r, outside[i], &ig, &err), -1);
		assert_false(ig);
		assert_non_null(strstr(px_error_msg(&err), "outside the git working tree"));
		assert_non_null(strstr(px_error_msg(&err), outside[i]));
		px_error_clear(&err);
	}
	assert_int_equal(vcs_path_ignored(r, "", &ig, &err), -1);
	px_error_clear(&err);

	free(sibling);
	vcs_free(r);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

static void test_discovery_from_subdirectory(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = NULL, *deep, *file;
	git_repository *repo = init_repo(&dir);

	(void)state;
	make_dir(dir, "apps");
	make_dir(dir, "apps/api");
	make_dir(dir, "apps/api/prisma");
	write_file(dir, "apps/api/prisma/schema.prisma", "");
	xasprintf(&deep, "%s/apps/api/prisma", dir);
	xasprintf(&file, "%s/apps/api/prisma/schema.prisma", dir);

	assert_int_equal(vcs_open(&r, deep, &err), 0);
	assert_string_equal(vcs_workdir(r), dir);
	vcs_free(r);

	/* a file path starts the search in its directory */
	assert_int_equal(vcs_open(&r, file, &err), 0);
	assert_string_equal(vcs_workdir(r), dir);
	vcs_free(r);

	/* from inside .git the working tree is still found */
	free(deep);
	xasprintf(&deep, "%s/.git/objects", dir);
	assert_int_equal(vcs_open(&r, deep, &err), 0);
	assert_string_equal(vcs_workdir(r), dir);
	vcs_free(r);

	vcs_free(NULL);
	free(deep);
	free(file);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

static void test_bare_repository_is_no_working_tree(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	git_repository *repo = NULL;
	char *dir = make_tmpdir();

	(void)state;
	check_git(git_repository_init(&repo, dir, 1));
	assert_int_equal(vcs_open(&r, dir, &err), 1);
	assert_null(r);
	assert_null(err.msg);
	git_repository_free(repo);
	rm_rf(dir);
	free(dir);
}

/* ---- with the git command: status of a path, diffs between commits ---- */

/* Run a shell command in dir (the identity and config come from main's environment). */
static void sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh(const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	xvasprintf(&cmd, fmt, ap);
	va_end(ap);
	xasprintf(&full, "cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd);
	rc = system(full);
	if (rc != 0)
		fail_msg("'%s' failed (%d)", cmd, rc);
	free(full);
	free(cmd);
}

/* The commit HEAD (or rev) names, in hex. */
static void rev(const char *dir, const char *what, char out[41])
{
	char *cmd;
	FILE *p;

	xasprintf(&cmd, "cd '%s' && git rev-parse '%s'", dir, what);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, 41, p));
	assert_int_equal(strlen(out), 40);
	pclose(p);
	free(cmd);
}

/* A repository made by git: main holds a schema and one migration, and a log file that
 * .gitignore hides; the working tree is *dir (real path). */
static char *git_project(void)
{
	char *tmp = make_tmpdir(), *dir = realpath(tmp, NULL);

	free(tmp);
	sh(dir, "git init -q -b main");
	make_dir(dir, "prisma");
	make_dir(dir, "prisma/migrations");
	make_dir(dir, "prisma/migrations/20240101_init");
	write_file(dir, "prisma/schema.prisma", "model User { id Int @id }\n");
	write_file(dir, "prisma/migrations/20240101_init/migration.sql", "CREATE TABLE u();\n");
	write_file(dir, "prisma/migrations/migration_lock.toml", "provider = \"postgresql\"\n");
	write_file(dir, "README", "hello\n");
	write_file(dir, ".gitignore", "*.log\n");
	write_file(dir, "debug.log", "noise\n");
	sh(dir, "git add -A && git commit -q -m init");
	return dir;
}

struct status_case {
	const char *path;
	enum vcs_status want;
	const char *dirs; /* the untracked subdirectories, ' '-separated */
};

static void check_status_cases(struct vcs_repo *r, const struct status_case *cases, size_t n)
{
	struct px_error err = PX_ERROR_INIT;
	size_t failures = 0;

	for (size_t i = 0; i < n; i++) {
		struct vcs_path_state st;
		struct px_buf dirs = PX_BUF_INIT;

		if (vcs_path_status(r, cases[i].path, &st, &err) < 0) {
			print_error("vcs_path_status(\"%s\"): %s\n", cases[i].path,
				    px_error_msg(&err));
			px_error_clear(&err);
			failures++;
			continue;
		}
		for (size_t k = 0; k < st.nuntracked_dirs; k++)
			px_buf_addf(&dirs, "%s%s", k > 0 ? " " : "", st.untracked_dirs[k]);
		if (st.status != cases[i].want || strcmp(px_buf_cstr(&dirs), cases[i].dirs) != 0) {
			print_error("vcs_path_status(\"%s\") = %d [%s], want %d [%s]\n",
				    cases[i].path, st.status, px_buf_cstr(&dirs), cases[i].want,
				    cases[i].dirs);
			failures++;
		}
		px_buf_release(&dirs);
		vcs_path_state_release(&st);
	}
	assert_int_equal(failures, 0);
}

static void test_path_status(void **state)
{
	static const struct status_case clean[] = {
	    {"prisma/schema.prisma", VCS_CLEAN, ""},
	    {"prisma/migrations", VCS_CLEAN, ""},
	    {"prisma/migrations/", VCS_CLEAN, ""},
	    {"prisma", VCS_CLEAN, ""},
	    {".", VCS_CLEAN, ""},
	    {"debug.log", VCS_IGNORED, ""},
	    {"nowhere/at/all", VCS_CLEAN, ""},
	};
	static const struct status_case dirty[] = {
	    /* a migration created, never committed; the one with only a new file is not */
	    {"prisma/migrations", VCS_UNTRACKED, "20240202_add 20240303_more"},
	    {"prisma/migrations/20240202_add", VCS_UNTRACKED, ""},
	    {"prisma/migrations/20240101_init", VCS_UNTRACKED, ""},
	    {"prisma/migrations/20240101_init/migration.sql", VCS_CLEAN, ""},
	    {"prisma/schema.prisma", VCS_MODIFIED, ""},
	    /* modified wins; migrations/ holds tracked files: no untracked directory */
	    {"prisma", VCS_MODIFIED, ""},
	    {"README", VCS_MODIFIED, ""}, /* staged */
	    {"gone.txt", VCS_MODIFIED, ""}, /* deleted */
	    {"new.txt", VCS_UNTRACKED, ""},
	    {"debug.log", VCS_IGNORED, ""},
	    {"@/prisma/migrations", VCS_UNTRACKED, "20240202_add 20240303_more"},
	};
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = git_project(), *abs;
	struct status_case abs_case;
	struct vcs_path_state st;

	(void)state;
	write_file(dir, "gone.txt", "x\n");
	sh(dir, "git add gone.txt && git commit -q -m gone");
	assert_int_equal(vcs_open(&r, dir, &err), 0);
	check_status_cases(r, clean, sizeof(clean) / sizeof(clean[0]));

	make_dir(dir, "prisma/migrations/20240202_add");
	write_file(dir, "prisma/migrations/20240202_add/migration.sql", "ALTER TABLE u;\n");
	make_dir(dir, "prisma/migrations/20240303_more");
	make_dir(dir, "prisma/migrations/20240303_more/deeper");
	write_file(dir, "prisma/migrations/20240303_more/deeper/x.sql", "--\n");
	make_dir(dir, "prisma/migrations/20240404_empty"); /* git sees no empty directory */
	write_file(dir, "prisma/migrations/20240101_init/extra.sql", "--\n");
	write_file(dir, "prisma/schema.prisma", "model User { id Int @id\n name String }\n");
	write_file(dir, "README", "changed\n");
	sh(dir, "git add README && rm gone.txt");
	write_file(dir, "new.txt", "x\n");
	/* the last case, with the absolute path, after */
	check_status_cases(r, dirty, sizeof(dirty) / sizeof(dirty[0]) - 1);
	xasprintf(&abs, "%s/prisma/migrations", dir);
	abs_case = dirty[sizeof(dirty) / sizeof(dirty[0]) - 1];
	abs_case.path = abs;
	check_status_cases(r, &abs_case, 1);

	/* a path outside the working tree is an error, and leaves nothing to free */
	assert_int_equal(vcs_path_status(r, "/etc/passwd", &st, &err), -1);
	assert_int_equal(st.nuntracked_dirs, 0);
	assert_null(st.untracked_dirs);
	px_error_clear(&err);
	vcs_path_state_release(NULL);

	free(abs);
	vcs_free(r);
	rm_rf(dir);
	free(dir);
}

/* A whole migrations folder never committed: each migration in it is untracked. */
static void test_path_status_untracked_folder(void **state)
{
	static const struct status_case cases[] = {
	    {"db/migrations", VCS_UNTRACKED, "1_a 2_b"},
	    {"db", VCS_UNTRACKED, "migrations"},
	};
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	char *dir = git_project();

	(void)state;
	make_dir(dir, "db");
	make_dir(dir, "db/migrations");
	make_dir(dir, "db/migrations/1_a");
	make_dir(dir, "db/migrations/2_b");
	write_file(dir, "db/migrations/1_a/migration.sql", "--\n");
	write_file(dir, "db/migrations/2_b/migration.sql", "--\n");
	write_file(dir, "db/migrations/lock.toml", "--\n");
	assert_int_equal(vcs_open(&r, dir, &err), 0);
	check_status_cases(r, cases, sizeof(cases) / sizeof(cases[0]));
	vcs_free(r);
	rm_rf(dir);
	free(dir);
}

/* The changes as "K path" lines (K: A D M R, R with "old->new"). */
static char *changes_text(struct vcs_repo *r, const char *from, const char *to,
			  const char *const *paths, size_t npaths)
{
	static const char kinds[] = {'A', 'D', 'M', 'R'};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	struct vcs_change *v = NULL;
	size_t n = 0;

	if (vcs_diff_paths(r, from, to, paths, npaths, &v, &n, &err) < 0)
		fail_msg("vcs_diff_paths: %s", px_error_msg(&err));
	for (size_t i = 0; i < n; i++) {
		px_buf_addf(&b, "%c ", kinds[v[i].kind]);
		if (v[i].kind == VCS_CHANGE_RENAMED)
			px_buf_addf(&b, "%s->", v[i].old_path);
		px_buf_addf(&b, "%s\n", v[i].path);
	}
	vcs_changes_free(v, n);
	return px_buf_detach(&b, NULL);
}

static void expect_changes(struct vcs_repo *r, const char *from, const char *to,
			   const char *const *paths, size_t npaths, const char *want)
{
	char *got = changes_text(r, from, to, paths, npaths);

	if (strcmp(got, want) != 0)
		fail_msg("diff %.7s..%.7s: got\n%swant\n%s", from, to, got, want);
	free(got);
}

static void test_diff_paths(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct vcs_repo *r = NULL;
	struct vcs_change *v = (struct vcs_change *)&err;
	char *dir = git_project(), *abs_schema;
	char main_oid[41], feature[41], renamed[41];
	const char *schema_paths[2] = {"prisma/schema.prisma", "prisma/migrations"};
	const char *prisma[1] = {"prisma/"};
	const char *prefix[1] = {"prisma/mig"}; /* a literal path, no prefix match */
	const char *abs_paths[1];
	size_t n = 99;
	bool yes = true;

	(void)state;
	rev(dir, "HEAD", main_oid);
	sh(dir, "git checkout -q -b feature");
	write_file(dir, "prisma/schema.prisma", "model User { id Int @id\n name String }\n");
	make_dir(dir, "prisma/migrations/20240202_add");
	write_file(dir, "prisma/migrations/20240202_add/migration.sql", "ALTER TABLE u;\n");
	write_file(dir, "README", "feature\n");
	sh(dir, "git add -A && git commit -q -m feature");
	rev(dir, "HEAD", feature);
	sh(dir, "git mv prisma/migrations/20240202_add prisma/migrations/20240202_renamed && "
		"git commit -q -m rename");
	rev(dir, "HEAD", renamed);
	assert_int_equal(vcs_open(&r, dir, &err), 0);

	expect_changes(r, main_oid, feature, schema_paths, 2,
		       "A prisma/migrations/20240202_add/migration.sql\n"
		       "M prisma/schema.prisma\n");
	expect_changes(r, feature, main_oid, schema_paths, 2,
		       "D prisma/migrations/20240202_add/migration.sql\n"
		       "M prisma/schema.prisma\n");
	expect_changes(r, main_oid, feature, prisma, 1,
		       "A prisma/migrations/20240202_add/migration.sql\n"
		       "M prisma/schema.prisma\n");
	expect_changes(r, main_oid, feature, NULL, 0,
		       "M README\n"
		       "A prisma/migrations/20240202_add/migration.sql\n"
		       "M prisma/schema.prisma\n");
	expect_changes(r, main_oid, feature, prefix, 1, "");
	expect_changes(r, main_oid, main_oid, schema_paths, 2, "");
	expect_changes(r, "", main_oid, schema_paths + 1, 1,
		       "A prisma/migrations/20240101_init/migration.sql\n"
		       "A prisma/migrations/migration_lock.toml\n");
	expect_changes(r, main_oid, "", schema_paths, 1, "D prisma/schema.prisma\n");
	expect_changes(r, feature, renamed, schema_paths, 2,
		       "R prisma/migrations/20240202_add/migration.sql->"
		       "prisma/migrations/20240202_renamed/migration.sql\n");
	xasprintf(&abs_schema, "%s/prisma/schema.prisma", dir);
	abs_paths[0] = abs_schema;
	expect_changes(r, main_oid, renamed, abs_paths, 1, "M prisma/schema.prisma\n");

	/* errors: an unknown commit, a path outside, and nothing left to free */
	assert_int_equal(vcs_diff_paths(r, main_oid, "0123456789012345678901234567890123456789",
					schema_paths, 2, &v, &n, &err),
			 -1);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_non_null(strstr(px_error_msg(&err), "0123456789012345678901234567890123456789"));
	px_error_clear(&err);
	abs_paths[0] = "/etc";
	assert_int_equal(vcs_diff_paths(r, main_oid, feature, abs_paths, 1, &v, &n, &err), -1);
	px_error_clear(&err);

	/* parents, and where git keeps HEAD */
	assert_int_equal(vcs_is_parent(r, main_oid, feature, &yes, &err), 0);
	assert_true(yes);
	assert_int_equal(vcs_is_parent(r, feature, main_oid, &yes, &err), 0);
	assert_false(yes);
	assert_int_equal(vcs_is_parent(r, main_oid, renamed, &yes, &err), 0);
	assert_false(yes);
	assert_int_equal(vcs_is_parent(r, "", main_oid, &yes, &err), 0);
	assert_false(yes);
	{
		char *gitdir;

		xasprintf(&gitdir, "%s/.git", dir);
		assert_string_equal(vcs_gitdir(r), gitdir);
		assert_string_equal(vcs_commondir(r), gitdir);
		free(gitdir);
	}

	free(abs_schema);
	vcs_free(r);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_a_repo),
	    cmocka_unit_test(test_missing_path_is_an_error),
	    cmocka_unit_test(test_unborn_head),
	    cmocka_unit_test(test_branch_after_commit),
	    cmocka_unit_test(test_detached_head),
	    cmocka_unit_test(test_gitignore_rules),
	    cmocka_unit_test(test_path_through_symlink),
	    cmocka_unit_test(test_paths_outside_are_errors),
	    cmocka_unit_test(test_discovery_from_subdirectory),
	    cmocka_unit_test(test_bare_repository_is_no_working_tree),
	    cmocka_unit_test(test_path_status),
	    cmocka_unit_test(test_path_status_untracked_folder),
	    cmocka_unit_test(test_diff_paths),
	};
	int rc;

	/* before libgit2 reads HOME to find the global config */
	fake_home = make_tmpdir();
	setenv("HOME", fake_home, 1);
	setenv("XDG_CONFIG_HOME", fake_home, 1);
	/* the git command: no system config, a fixed identity */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "Test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.invalid", 1);
	git_libgit2_init();

	rc = cmocka_run_group_tests_name("vcs", tests, NULL, NULL);

	git_libgit2_shutdown();
	rm_rf(fake_home);
	free(fake_home);
	return rc;
}
