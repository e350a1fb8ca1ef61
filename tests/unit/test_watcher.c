/* test_watcher.c - watcher/watcher.c on a real inotify in private directories: what editors
 * do to a file (in place, vim, rename-style, sed -i, delete and recreate), directories
 * created and renamed under a root, .gitignore'd trees that hold no watch, and the
 * coalescing: a burst is one batch, a steady stream is cut by the cap, the state at the
 * flush wins. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/loop.h"
#include "base/path.h"
#include "base/proc.h"
#include "base/xmalloc.h"
#include "watcher/watcher.h"

struct t {
	char dir[64];
	struct px_loop *loop;
	struct watcher *w;
	/* every batch: "+path" or "-path" per change, "!" for an overflow, one line each */
	struct px_buf got[64];
	size_t nbatches;
};

static void on_batch(void *data, const struct watcher_batch *b)
{
	struct t *t = data;
	struct px_buf *out;

	assert_true(t->nbatches < 64);
	out = &t->got[t->nbatches++];
	*out = (struct px_buf)PX_BUF_INIT;
	if (b->overflow)
		px_buf_adds(out, "!\n");
	for (size_t i = 0; i < b->n; i++) {
		const char *rel = b->changes[i].path + strlen(t->dir) + 1;

		px_buf_addf(out, "%c%s\n", b->changes[i].exists ? '+' : '-', rel);
	}
}

static bool only_prisma(void *data, const char *path)
{
	size_t n = strlen(path);

	(void)data;
	return n > 7 && strcmp(path + n - 7, ".prisma") == 0;
}

static int setup(void **state)
{
	struct t *t = xcalloc(1, sizeof(*t));
	struct px_error err = PX_ERROR_INIT;

	snprintf(t->dir, sizeof(t->dir), "/tmp/prisync-watch-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->loop = px_loop_new(&err);
	assert_non_null(t->loop);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	const char *argv[] = {"rm", "-rf", t->dir, NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
	struct px_error err = PX_ERROR_INIT;
	int code;

	watcher_stop(t->w);
	px_loop_free(t->loop);
	px_proc_run(&o, NULL, NULL, &code, 10000, &err);
	px_error_clear(&err);
	for (size_t i = 0; i < t->nbatches; i++)
		px_buf_release(&t->got[i]);
	free(t);
	return 0;
}

static char *at(const struct t *t, const char *rel)
{
	return px_path_join(t->dir, rel);
}

static void put(const struct t *t, const char *rel, const char *text)
{
	char *p = at(t, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void mv(const struct t *t, const char *from, const char *to)
{
	char *a = at(t, from), *b = at(t, to);

	assert_int_equal(rename(a, b), 0);
	free(a);
	free(b);
}

static void rm(const struct t *t, const char *rel)
{
	char *p = at(t, rel);

	assert_int_equal(unlink(p), 0);
	free(p);
}

static void mkd(const struct t *t, const char *rel)
{
	char *p = at(t, rel);

	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

/* Start watching roots ("name" a file, "name/" a directory) with a short debounce. */
static void start(struct t *t, const char *const *roots, int debounce, int cap,
		  bool (*want)(void *, const char *))
{
	struct watcher_root r[8];
	struct px_error err = PX_ERROR_INIT;
	size_t n = 0;

	for (; roots[n] != NULL; n++) {
		size_t len = strlen(roots[n]);
		char *rel = xstrdup(roots[n]);

		r[n].dir = rel[len - 1] == '/';
		if (r[n].dir)
			rel[len - 1] = '\0';
		r[n].path = at(t, rel);
		free(rel);
	}
	if (watcher_start(&t->w, t->loop,
			  &(struct watcher_opts){.roots = r,
						 .nroots = n,
						 .project_dir = t->dir,
						 .debounce_ms = debounce,
						 .debounce_max_ms = cap,
						 .want = want,
						 .on_batch = on_batch,
						 .data = t},
			  &err) < 0)
		fail_msg("watcher_start: %s", px_error_msg(&err));
	for (size_t i = 0; i < n; i++)
		free((char *)r[i].path);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop for ms milliseconds (batches land in t->got). */
static void run_for(struct t *t, long ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end)
		px_loop_run_once(t->loop, (int)(end - now_ms()));
}

/* Run the loop until n batches came (failing after 5 s), then 300 ms more to catch any
 * batch too many. */
static void expect_batches(struct t *t, size_t n)
{
	long end = now_ms() + 5000;

	while (t->nbatches < n && now_ms() < end)
		px_loop_run_once(t->loop, 100);
	run_for(t, 300);
	if (t->nbatches != n) {
		struct px_buf all = PX_BUF_INIT;

		for (size_t i = 0; i < t->nbatches; i++)
			px_buf_addf(&all, "batch %zu:\n%s", i, px_buf_cstr(&t->got[i]));
		fail_msg("want %zu batches, got %zu:\n%s", n, t->nbatches, px_buf_cstr(&all));
	}
}

static const char *batch(const struct t *t, size_t i)
{
	return px_buf_cstr(&t->got[i]);
}

/* A write in place: one batch, the file, once. */
static void test_in_place_write(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "model A {}\n");
	put(t, "other.txt", "x");
	start(t, (const char *[]){"schema.prisma", NULL}, 30, 1000, NULL);
	put(t, "schema.prisma", "model A { id Int }\n");
	put(t, "other.txt", "y"); /* not a root: nothing */
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+schema.prisma\n");
}

/* vim's save: the 4913 probe, a swap file, the original renamed to a backup, a new file
 * written, the backup removed.  One batch: the schema, there. */
static void test_vim_save(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "v1\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 30, 1000, NULL);
	put(t, ".schema.prisma.swp", "swap");
	put(t, "4913", "");
	rm(t, "4913");
	mv(t, "schema.prisma", "schema.prisma~");
	put(t, "schema.prisma", "v2\n");
	rm(t, "schema.prisma~");
	rm(t, ".schema.prisma.swp");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+schema.prisma\n");
}

/* VS Code / JetBrains safe-write and sed -i: a temporary renamed onto the file. */
static void test_rename_onto_and_sed(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "v1\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 30, 1000, NULL);
	put(t, "schema.prisma___jb_tmp___", "v2\n");
	mv(t, "schema.prisma___jb_tmp___", "schema.prisma");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+schema.prisma\n");

	/* sed -i, for real */
	{
		char *p = at(t, "schema.prisma");
		const char *argv[] = {"sed", "-i", "s/v2/v3/", p, NULL};
		struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
		struct px_error err = PX_ERROR_INIT;
		int code = -1;

		assert_int_equal(px_proc_run(&o, NULL, NULL, &code, 10000, &err), 0);
		assert_int_equal(code, 0);
		free(p);
	}
	expect_batches(t, 2);
	assert_string_equal(batch(t, 1), "+schema.prisma\n");
}

/* git checkout deletes and recreates; a file deleted now may come back much later. */
static void test_delete_then_recreate(void **state)
{
	struct t *t = *state;

	mkd(t, "prisma");
	put(t, "prisma/schema.prisma", "v1\n");
	start(t, (const char *[]){"prisma/schema.prisma", NULL}, 30, 1000, NULL);
	rm(t, "prisma/schema.prisma");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "-prisma/schema.prisma\n");
	put(t, "prisma/schema.prisma", "v2\n");
	expect_batches(t, 2);
	assert_string_equal(batch(t, 1), "+prisma/schema.prisma\n");
	/* its whole directory goes, and comes back */
	rm(t, "prisma/schema.prisma");
	{
		char *p = at(t, "prisma");

		assert_int_equal(rmdir(p), 0);
		free(p);
	}
	expect_batches(t, 3);
	mkd(t, "prisma");
	put(t, "prisma/schema.prisma", "v3\n");
	expect_batches(t, 4);
	assert_non_null(strstr(batch(t, 3), "+prisma/schema.prisma\n"));
}

/* A folder schema: a directory created after the start, with files already in it when
 * its watch lands, and later writes inside it; a renamed directory keeps being followed. */
static void test_directory_root_follows_new_and_renamed_dirs(void **state)
{
	struct t *t = *state;

	mkd(t, "schema");
	put(t, "schema/base.prisma", "a\n");
	start(t, (const char *[]){"schema/", NULL}, 30, 1000, only_prisma);
	mkd(t, "schema/models");
	put(t, "schema/models/user.prisma", "model User {}\n");
	put(t, "schema/models/notes.txt", "not a schema file\n");
	expect_batches(t, 1);
	assert_non_null(strstr(batch(t, 0), "+schema/models/user.prisma\n"));
	assert_null(strstr(batch(t, 0), "notes.txt"));
	{
		char *models = at(t, "schema/models");

		assert_true(watcher_is_watching(t->w, models));
		free(models);
	}
	put(t, "schema/models/user.prisma", "model User { id Int }\n");
	expect_batches(t, 2);
	assert_string_equal(batch(t, 1), "+schema/models/user.prisma\n");

	mv(t, "schema/models", "schema/entities");
	expect_batches(t, 3);
	put(t, "schema/entities/user.prisma", "model User { id Int name String }\n");
	expect_batches(t, 4);
	assert_string_equal(batch(t, 3), "+schema/entities/user.prisma\n");
	{
		char *old = at(t, "schema/models"), *neu = at(t, "schema/entities");

		assert_false(watcher_is_watching(t->w, old));
		assert_true(watcher_is_watching(t->w, neu));
		free(old);
		free(neu);
	}
}

/* A .gitignore'd directory inside a watched tree: no watch, no batch; .git neither. */
static void test_gitignored_tree_holds_no_watch(void **state)
{
	struct t *t = *state;
	const char *argv[] = {"git", "init", "-q", t->dir, NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
	struct px_error err = PX_ERROR_INIT;
	char *gen, *gitdir, *src;
	int code = -1;

	assert_int_equal(px_proc_run(&o, NULL, NULL, &code, 10000, &err), 0);
	assert_int_equal(code, 0);
	put(t, ".gitignore", "generated/\n*.log\n");
	mkd(t, "src");
	mkd(t, "src/generated");
	mkd(t, "src/generated/deep");
	start(t, (const char *[]){"src/", NULL}, 30, 1000, NULL);
	gen = at(t, "src/generated");
	gitdir = at(t, ".git");
	src = at(t, "src");
	assert_true(watcher_is_watching(t->w, src));
	assert_false(watcher_is_watching(t->w, gen));
	assert_false(watcher_is_watching(t->w, gitdir));
	assert_int_equal(watcher_nwatches(t->w), 1);
	put(t, "src/generated/client.js", "x");
	put(t, "src/generated/deep/more.js", "x");
	put(t, "src/debug.log", "x");
	run_for(t, 300);
	assert_int_equal(t->nbatches, 0);
	put(t, "src/app.ts", "x");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+src/app.ts\n");
	free(gen);
	free(gitdir);
	free(src);
}

/* A directory root not there at start that turns up as a file: that file counts. */
static void test_missing_dir_root_turns_up_as_file(void **state)
{
	struct t *t = *state;

	start(t, (const char *[]){"later/", NULL}, 20, 1000, NULL);
	put(t, "later", "x");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+later\n");
}

/* The watcher thread held up (its filter blocks) while far more events than the kernel
 * queues arrive: the overflow is not silent, a batch says "resync everything". */
static int gate[2] = {-1, -1};

static bool gated(void *data, const char *path)
{
	char c;

	(void)data;
	(void)path;
	if (gate[0] >= 0 && read(gate[0], &c, 1) < 0) {
		/* the test closed the gate: let everything through */
	}
	return true;
}

static long sysctl_long(const char *path, long fallback)
{
	FILE *f = fopen(path, "r");
	long v = fallback;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1) // NOLINT(cert-err34-c): a /proc number
			v = fallback;
		fclose(f);
	}
	return v;
}

static void test_queue_overflow_is_a_full_resync(void **state)
{
	struct t *t = *state;
	long max = sysctl_long("/proc/sys/fs/inotify/max_queued_events", 16384);
	char rel[64];
	bool overflow = false;
	long end;

	mkd(t, "tree");
	assert_int_equal(pipe(gate), 0);
	start(t, (const char *[]){"tree/", NULL}, 20, 2000, gated);
	put(t, "tree/first.txt", "x"); /* the thread blocks on this one's filter */
	run_for(t, 100);
	/* each file is a create and a close-write: twice the queue and then some */
	for (long i = 0; i < max / 2 + 2000; i++) {
		snprintf(rel, sizeof(rel), "tree/f%ld", i);
		put(t, rel, "");
	}
	close(gate[1]); /* open the gate for good: reads now end at EOF */
	end = now_ms() + 20000;
	while (!overflow && now_ms() < end) {
		px_loop_run_once(t->loop, 100);
		for (size_t i = 0; i < t->nbatches && !overflow; i++)
			overflow = strncmp(batch(t, i), "!\n", 2) == 0;
	}
	close(gate[0]);
	gate[0] = gate[1] = -1;
	assert_true(overflow);
}

static bool write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* In a child, in a user namespace of its own whose inotify watch limit is 3: the watcher
 * says which sysctl to raise and keeps watching what fits.  Exit 0 when a change in a
 * watched directory still arrived; 77 when user namespaces are not available. */
static int enospc_child(struct t *t, const char *log)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_loop *loop;
	struct watcher *w = NULL;
	char *tree = at(t, "tree"), *file = at(t, "tree/root.txt");
	struct watcher_root r = {.path = tree, .dir = true};
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	long end;
	FILE *f;

	if (unshare(CLONE_NEWUSER) < 0)
		return 77;
	if (!write_proc("/proc/self/setgroups", "deny") ||
	    !write_proc("/proc/self/uid_map", "0 0 1") || !write_proc("/proc/self/gid_map", "0 0 1") ||
	    !write_proc("/proc/sys/user/max_inotify_watches", "3"))
		return 77;
	if (fd < 0 || dup2(fd, 2) < 0)
		return 3;
	loop = px_loop_new(&err);
	if (loop == NULL ||
	    watcher_start(&w, loop,
			  &(struct watcher_opts){.roots = &r, .nroots = 1, .debounce_ms = 20,
						 .debounce_max_ms = 1000, .on_batch = on_batch,
						 .data = t},
			  &err) < 0)
		return 4;
	if (watcher_nwatches(w) == 0 || watcher_nwatches(w) > 3 || !watcher_is_watching(w, tree))
		return 5;
	f = fopen(file, "w");
	if (f == NULL)
		return 6;
	fputs("x", f);
	fclose(f);
	end = now_ms() + 5000;
	while (t->nbatches == 0 && now_ms() < end)
		px_loop_run_once(loop, 100);
	if (t->nbatches == 0 || strcmp(batch(t, 0), "+tree/root.txt\n") != 0)
		return 7;
	watcher_stop(w);
	px_loop_free(loop);
	return 0;
}

static void test_out_of_watches_is_said_and_survived(void **state)
{
	struct t *t = *state;
	char rel[64], *log = at(t, "child.log");
	struct px_error err = PX_ERROR_INIT;
	struct px_buf text = PX_BUF_INIT;
	int status = 0;
	pid_t pid;

	mkd(t, "tree");
	for (int i = 0; i < 10; i++) {
		snprintf(rel, sizeof(rel), "tree/d%d", i);
		mkd(t, rel);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(enospc_child(t, log));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		free(log);
		/* no user namespaces here: the limit cannot be lowered privately */
		if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
			fail_msg("CI=true: user namespaces are needed to test running out of watches");
		skip();
	}
	assert_int_equal(px_path_read_file(log, &text, &err), 0);
	if (WEXITSTATUS(status) != 0)
		fail_msg("child exit %d: %s", WEXITSTATUS(status), px_buf_cstr(&text));
	assert_non_null(strstr(px_buf_cstr(&text), "sysctl fs.inotify.max_user_watches="));
	assert_non_null(strstr(px_buf_cstr(&text), "watching what fits"));
	px_buf_release(&text);
	free(log);
}

/* 200 files rewritten at once (a branch switch): one batch with all of them. */
static void test_burst_is_one_batch(void **state)
{
	struct t *t = *state;
	char name[64];

	mkd(t, "schema");
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "schema/m%03d.prisma", i);
		put(t, name, "v1\n");
	}
	start(t, (const char *[]){"schema/", NULL}, 50, 2000, only_prisma);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "schema/m%03d.prisma", i);
		put(t, name, "v2\n");
	}
	expect_batches(t, 1);
	assert_int_equal(strlen(batch(t, 0)), 200 * strlen("+schema/m000.prisma\n"));
}

/* A change every 20 ms for 1.2 s with a 50 ms quiet period: the 300 ms cap flushes
 * anyway, several times; nothing is lost at the end. */
static void test_steady_stream_is_capped(void **state)
{
	struct t *t = *state;
	long end;
	int i = 0;

	put(t, "schema.prisma", "v0\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 50, 300, NULL);
	end = now_ms() + 1200;
	while (now_ms() < end) {
		char v[32];

		snprintf(v, sizeof(v), "v%d\n", ++i);
		put(t, "schema.prisma", v);
		run_for(t, 20);
	}
	run_for(t, 500);
	/* ~1200 / 300 = 4 capped flushes; at least 3 while the stream never paused 50 ms */
	if (t->nbatches < 3 || t->nbatches > 12)
		fail_msg("%zu batches for a 1.2 s stream with a 300 ms cap", t->nbatches);
	for (size_t k = 0; k < t->nbatches; k++)
		assert_string_equal(batch(t, k), "+schema.prisma\n");
}

/* A write then a delete within one quiet period: the batch says deleted. */
static void test_state_at_flush_wins(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "v1\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 100, 2000, NULL);
	put(t, "schema.prisma", "v2\n");
	rm(t, "schema.prisma");
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "-schema.prisma\n");
}

/* A held batch waits past the quiet period and the cap, and flushes once released (git
 * mid-checkout); a poke makes an empty batch; a release with nothing waiting makes none. */
static void test_hold_and_poke(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "v0\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 30, 200, NULL);
	watcher_hold(t->w, true);
	put(t, "schema.prisma", "v1\n");
	run_for(t, 600);
	assert_int_equal(t->nbatches, 0);
	put(t, "schema.prisma", "v2\n");
	run_for(t, 100);
	assert_int_equal(t->nbatches, 0);
	watcher_hold(t->w, false);
	expect_batches(t, 1);
	assert_string_equal(batch(t, 0), "+schema.prisma\n");

	watcher_poke(t->w);
	expect_batches(t, 2);
	assert_string_equal(batch(t, 1), "");

	watcher_hold(t->w, true);
	watcher_hold(t->w, false);
	run_for(t, 300);
	assert_int_equal(t->nbatches, 2);
}

/* Nothing changes: no batch, and no timer armed (an idle watcher never wakes). */
static void test_idle_makes_no_batches(void **state)
{
	struct t *t = *state;

	put(t, "schema.prisma", "v1\n");
	start(t, (const char *[]){"schema.prisma", NULL}, 10, 50, NULL);
	/* px_loop_run_once with no due timer and no event waits the whole timeout */
	{
		long a = now_ms();

		px_loop_run_once(t->loop, 300);
		assert_true(now_ms() - a >= 250);
	}
	assert_int_equal(t->nbatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_in_place_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vim_save, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rename_onto_and_sed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_then_recreate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory_root_follows_new_and_renamed_dirs,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gitignored_tree_holds_no_watch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_dir_root_turns_up_as_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue_overflow_is_a_full_resync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_watches_is_said_and_survived, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_burst_is_one_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_steady_stream_is_capped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_at_flush_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_makes_no_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_and_poke, setup, teardown),
	};

	return cmocka_run_group_tests_name("watcher", tests, NULL, NULL);
}
