/* test_dockerfile.c - Dockerfile.dev builds prisync from this source tree with no network,
 * through `prisync build`, on the harness's debian-dev image (Debian 12 with the build
 * packages, made from the host's own by tests/harness/image.sh on first use), and the
 * image's prisync runs: --version names VERSION, config prints what the prisync under
 * test prints for the same project. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/proc.h"

#include "tests/harness/harness.h"

/* the first build of debian-dev takes ~10 s, the build of prisync in it ~30 s: generous
 * for a loaded CI machine and an ASan prisync streaming the build output */
#define IMAGE_TIMEOUT_MS (10 * 60 * 1000)
#define BUILD_TIMEOUT_MS (20 * 60 * 1000)
#define RUN_TIMEOUT_MS   60000

struct t {
	struct harness_dir dir;
	char tag[160];
	json_t *dangling_before; /* ids of the dangling images before the build */
};

/* The ids of the engine's dangling images: a multi-stage build with the classic builder
 * leaves its build stage as one.  New reference. */
static json_t *dangling_images(void)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL, *filters, *ids = json_object(), *o;
	char *enc, *path = NULL;
	size_t i;

	filters = json_pack("{s:[s]}", "dangling", "true");
	enc = engine_filters_encode(filters);
	xasprintf(&path, "/images/json?filters=%s", enc);
	if (engine_request(harness_engine(), "GET", path, NULL, NULL, &list, &err) < 0)
		fail_msg("listing dangling images: %s", px_error_msg(&err));
	json_array_foreach(list, i, o)
	{
		json_object_set_new(ids, json_string_value(json_object_get(o, "Id")), json_true());
	}
	json_decref(list);
	json_decref(filters);
	free(enc);
	free(path);
	return ids;
}

static int setup(void **state)
{
	struct t *t = xcalloc(1, sizeof(*t));

	harness_dir_create(&t->dir);
	*state = t;
	return 0;
}

/* Everything the test made: containers (tracked), the image it built, and the dangling
 * images the build left (its build stage).  An image in use elsewhere stays. */
static int teardown(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	json_t *now;
	const char *id;
	json_t *v;
	int left;

	left = harness_cleanup();
	if (t->dangling_before == NULL) /* skipped before the build */
		goto out;
	if (engine_image_remove(harness_engine(), t->tag, true, &err) < 0) {
		print_error("removing image %s: %s\n", t->tag, px_error_msg(&err));
		left++;
	}
	px_error_clear(&err);
	now = dangling_images();
	json_object_foreach(now, id, v)
	{
		if (json_object_get(t->dangling_before, id) != NULL)
			continue;
		if (engine_image_remove(harness_engine(), id, false, &err) < 0)
			print_message("dangling image %s left: %s\n", id, px_error_msg(&err));
		px_error_clear(&err);
	}
	json_decref(now);
	json_decref(t->dangling_before);
out:
	harness_dir_remove(&t->dir);
	free(t);
	return left == 0 ? 0 : -1;
}

/* The tag of the debian-dev image, built first unless it is up to date (owned).  A host
 * that cannot make it skips the test, and fails it under CI=true (image.sh exits 1 then). */
static char *debian_dev_image(void)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	char *script = NULL, *tag;
	const char *argv[] = {NULL, "debian-dev", NULL};
	struct px_proc_opts o = {.argv = argv, .in = PX_PROC_NULL};
	int code = -1;

	xasprintf(&script, "%s/tests/harness/image.sh", harness_env("PRISYNC_SOURCE_DIR"));
	argv[0] = script;
	if (px_proc_run(&o, &out, &errout, &code, IMAGE_TIMEOUT_MS, &err) < 0)
		fail_msg("%s: %s", script, px_error_msg(&err));
	if (code == 0)
		print_message("%s", px_buf_cstr(&errout));
	if (code == 3) {
		print_message("debian-dev image cannot be made here; skipping\n");
		free(script);
		px_buf_release(&out);
		px_buf_release(&errout);
		skip();
	}
	if (code != 0) {
		/* copied out: fail_msg does not return, and a leak would hide the failure */
		char msg[2048];

		snprintf(msg, sizeof(msg), "tests/harness/image.sh debian-dev exited %d:\n%s", code,
			 px_buf_cstr(&errout));
		free(script);
		px_buf_release(&out);
		px_buf_release(&errout);
		fail_msg("%s", msg);
	}
	tag = xstrdup(px_buf_cstr(&out));
	tag[strcspn(tag, "\n")] = '\0';
	assert_string_not_equal(tag, "");
	free(script);
	px_buf_release(&out);
	px_buf_release(&errout);
	return tag;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		fail_msg("cannot write '%s': %s", path, strerror(errno));
}

/* Run argv (NULL-terminated) in a container of the built image, with the test's directory
 * mounted read-only at the same path and as the working directory, no network; stdout and
 * stderr into out and errout.  Returns the exit code. */
static int run_in_image(const struct t *t, const char *const *argv, struct px_buf *out,
			struct px_buf *errout)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *config, *cmd = json_array();
	char *bind = NULL, *id = NULL;
	int code = -1;

	for (size_t i = 0; argv[i] != NULL; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	xasprintf(&bind, "%s:%s:ro", t->dir.root, t->dir.root);
	config = json_pack("{s:s, s:o, s:s, s:o, s:{s:s, s:[s]}}", "Image", t->tag, "Cmd", cmd,
			   "WorkingDir", t->dir.root, "Labels", harness_labels(), "HostConfig",
			   "NetworkMode", "none", "Binds", bind);
	if (engine_container_create(harness_engine(), NULL, config, &id, &err) < 0)
		fail_msg("create a container of %s: %s", t->tag, px_error_msg(&err));
	harness_track(HARNESS_CONTAINER, id);
	if (engine_container_start(harness_engine(), id, &err) < 0 ||
	    engine_container_wait(harness_engine(), id, &code, &err) < 0 ||
	    engine_container_logs(harness_engine(), id, true, true, -1, out, errout, &err) < 0)
		fail_msg("container of %s: %s", t->tag, px_error_msg(&err));
	json_decref(config);
	free(bind);
	free(id);
	return code;
}

static void test_dockerfile_dev_builds_offline_and_runs(void **state)
{
	struct t *t = *state;
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT, version = PX_BUF_INIT;
	struct px_buf host = PX_BUF_INIT;
	const char *src = harness_env("PRISYNC_SOURCE_DIR");
	char *base, *compose = NULL, *path = NULL, *want = NULL, *rev = NULL, project[64];
	json_t *info = NULL;
	int code;

	base = debian_dev_image();
	/* a repository name must be lower case; the run id may not be, a tag may */
	snprintf(t->tag, sizeof(t->tag), "prisync-test/dockerfile-dev:%s-%d",
		 harness_env("PRISYNC_TEST_RUN"), (int)getpid());
	t->dangling_before = dangling_images();
	path = px_path_join(src, "VERSION");
	if (px_path_read_file(path, &version, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(path);
	px_buf_rtrim(&version);
	assert_true(version.len > 0);

	/* the image through prisync itself: build: with the repository as the context */
	snprintf(project, sizeof(project), "pxdockerfile-%d", (int)getpid());
	xasprintf(&rev, "e2e-%d", (int)getpid());
	xasprintf(&compose,
		  "services:\n"
		  "  prisync:\n"
		  "    image: \"%s\"\n"
		  "    build:\n"
		  "      context: \"%s\"\n"
		  "      dockerfile: Dockerfile.dev\n"
		  "      args: {BASE: \"%s\", GIT_REV: \"%s\"}\n"
		  "      labels: {prisync-test.run: \"%s\"}\n",
		  t->tag, src, base, rev, harness_env("PRISYNC_TEST_RUN"));
	path = px_path_join(t->dir.root, "build.yaml");
	write_file(path, compose);
	free(path);
	code = harness_prisync(&t->dir, &out, &errout, BUILD_TIMEOUT_MS, "-f", "build.yaml", "-p",
			       project, "build", NULL);
	if (code != 0)
		fail_msg("prisync build of Dockerfile.dev exited %d:\n%s\n%s", code,
			 px_buf_cstr(&out), px_buf_cstr(&errout));
	if (engine_image_inspect(harness_engine(), t->tag, &info, &err) != 0)
		fail_msg("image %s not there after the build: %s", t->tag, px_error_msg(&err));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(info, "Config"), "Labels"), "prisync-test.run")),
	    harness_env("PRISYNC_TEST_RUN"));
	json_decref(info);

	/* --version: VERSION and the revision given as a build argument; libpq and libgit2,
	 * loaded on first use, are in the image */
	px_buf_reset(&out);
	px_buf_reset(&errout);
	code = run_in_image(t, (const char *const[]){"prisync", "--version", NULL}, &out, &errout);
	if (code != 0)
		fail_msg("prisync --version in the image exited %d:\n%s%s", code, px_buf_cstr(&out),
			 px_buf_cstr(&errout));
	xasprintf(&want, "prisync version %s (%s)\n", px_buf_cstr(&version), rev);
	if (strncmp(px_buf_cstr(&out), want, strlen(want)) != 0)
		fail_msg(
		    "prisync --version in the image printed:\n%s\nwanted it to start with:\n%s",
		    px_buf_cstr(&out), want);
	assert_non_null(strstr(px_buf_cstr(&out), "libpq 15"));
	assert_non_null(strstr(px_buf_cstr(&out), "libgit2 1."));

	/* config: a project mounted at the same path resolves as it does on the host */
	path = px_path_join(t->dir.root, "proj");
	if (mkdir(path, 0755) < 0)
		fail_msg("mkdir '%s': %s", path, strerror(errno));
	free(path);
	path = px_path_join(t->dir.root, "proj/compose.yaml");
	write_file(path, "services:\n"
			 "  web:\n"
			 "    image: busybox\n"
			 "    environment: {GREETING: hello}\n"
			 "    ports: [\"127.0.0.1:8080:80\"]\n"
			 "    volumes: [\"./data:/data\"]\n"
			 "  worker:\n"
			 "    image: busybox\n"
			 "    depends_on: [web]\n");
	free(path);
	px_buf_reset(&out);
	px_buf_reset(&errout);
	code = run_in_image(t,
			    (const char *const[]){"prisync", "-f", "proj/compose.yaml", "-p",
						  "pxcfg", "config", NULL},
			    &out, &errout);
	if (code != 0)
		fail_msg("prisync config in the image exited %d:\n%s%s", code, px_buf_cstr(&out),
			 px_buf_cstr(&errout));
	code = harness_prisync(&t->dir, &host, &errout, RUN_TIMEOUT_MS, "-f", "proj/compose.yaml",
			       "-p", "pxcfg", "config", NULL);
	assert_int_equal(code, 0);
	assert_string_equal(px_buf_cstr(&out), px_buf_cstr(&host));
	/* and it is the resolved model, not the file echoed */
	free(want);
	xasprintf(&want, "source: %s/proj/data\n", t->dir.root);
	assert_non_null(strstr(px_buf_cstr(&out), want));
	assert_non_null(strstr(px_buf_cstr(&out), "name: pxcfg\n"));

	free(base);
	free(compose);
	free(want);
	free(rev);
	px_buf_release(&out);
	px_buf_release(&errout);
	px_buf_release(&version);
	px_buf_release(&host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dockerfile_dev_builds_offline_and_runs, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("dockerfile", tests, NULL, NULL);
}
