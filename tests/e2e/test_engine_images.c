/* test_engine_images.c - e2e tests of image builds and pulls against the harness engine: a
 * build with COPY, a .dockerignore'd file really absent from the image, a build arg, a target
 * stage and labels; Dockerfile errors with the engine's message; a pull that fails. */
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"

/* Images the tests built, removed in teardown (the harness cleans containers, networks
 * and volumes only). */
static char *images[8];
static size_t nimages;

static int teardown(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	int failed = harness_cleanup();

	(void)state;
	for (size_t i = 0; i < nimages; i++) {
		/* the untagged parents of the stages go with it */
		if (engine_image_remove(harness_engine(), images[i], true, &err) < 0) {
			print_error("cannot remove image %s: %s\n", images[i], px_error_msg(&err));
			px_error_clear(&err);
			failed++;
		}
		free(images[i]);
	}
	nimages = 0;
	return failed == 0 ? 0 : -1;
}

static void put(const char *dir, const char *rel, const char *content)
{
	char *p = px_path_join(dir, rel), *d = px_path_dirname(p);
	struct px_error err = PX_ERROR_INIT;

	if (px_path_mkdir_p(d, 0755, &err) < 0 ||
	    px_path_write_file_atomic(p, content, strlen(content), 0644, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	free(d);
	free(p);
}

struct collected {
	struct px_buf stream; /* the "stream" texts of the build */
};

static int collect(void *data, const json_t *msg)
{
	struct collected *c = data;
	const char *s = json_string_value(json_object_get(msg, "stream"));

	if (s != NULL)
		px_buf_adds(&c->stream, s);
	return 0;
}

/* Run cmd in a container of image on a fresh network; its stdout (owned). */
static char *run_image(const char *image, const char *cmd)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	json_t *labels = harness_labels(), *config;
	char name[64], *id = NULL, *net = NULL;
	int code = -1;

	snprintf(name, sizeof(name), "prisync-img-run-%d", (int)getpid());
	if (engine_network_create(e, name, labels, &net, &err) < 0)
		fail_msg("network: %s", px_error_msg(&err));
	harness_track(HARNESS_NETWORK, net);
	config = json_pack("{s:s, s:[s,s,s], s:O, s:{s:s}}", "Image", image, "Cmd", "sh", "-c", cmd,
			   "Labels", labels, "HostConfig", "NetworkMode", name);
	if (engine_container_create(e, name, config, &id, &err) < 0)
		fail_msg("create: %s", px_error_msg(&err));
	harness_track(HARNESS_CONTAINER, id);
	if (engine_container_start(e, id, &err) < 0 ||
	    engine_container_wait(e, id, &code, &err) < 0 ||
	    engine_container_logs(e, id, true, true, -1, &out, &errout, &err) < 0)
		fail_msg("run: %s", px_error_msg(&err));
	if (code != 0)
		fail_msg("'%s' exited %d: %s%s", cmd, code, px_buf_cstr(&out),
			 px_buf_cstr(&errout));
	json_decref(config);
	json_decref(labels);
	px_buf_release(&errout);
	free(id);
	free(net);
	return px_buf_detach(&out, NULL);
}

static void test_build(void **state)
{
	struct harness_dir dir;
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct collected c = {PX_BUF_INIT};
	char tag[96], *id = NULL, *out, *ctx;
	const char *tags[] = {tag, NULL};
	json_t *labels = harness_labels(), *img = NULL;
	struct engine_build_opts o = {.tags = tags,
				      .args =
					  (const char *[]){"GREETING=hello from the build", NULL},
				      .target = "final",
				      .labels = labels};

	(void)state;
	harness_dir_create(&dir);
	ctx = px_path_join(dir.root, "ctx");
	snprintf(tag, sizeof(tag), "prisync-test-build-%d:1", (int)getpid());
	put(ctx, "Dockerfile",
	    "FROM prisync-test/busybox AS base\n"
	    "ARG GREETING=unset\n"
	    "RUN echo \"$GREETING\" > /greeting\n"
	    "COPY . /ctx/\n"
	    "\n"
	    "FROM base AS final\n"
	    "RUN touch /final\n"
	    "\n"
	    "# after the target: never built, or the build would fail\n"
	    "FROM base AS broken\n"
	    "RUN exit 1\n");
	put(ctx, ".dockerignore", "secret.txt\n**/*.log\n");
	put(ctx, "keep.txt", "kept\n");
	put(ctx, "secret.txt", "must not reach the engine\n");
	put(ctx, "sub/kept.txt", "kept too\n");
	put(ctx, "sub/debug.log", "ignored\n");
	o.context_dir = ctx;

	if (engine_image_build(e, &o, collect, &c, &id, &err) < 0)
		fail_msg("build: %s\n%s", px_error_msg(&err), px_buf_cstr(&c.stream));
	images[nimages++] = xstrdup(tag);
	assert_true(strncmp(id, "sha256:", 7) == 0);
	assert_non_null(strstr(px_buf_cstr(&c.stream), "Step 1/"));
	/* the tag names the id we were given, with our labels */
	assert_int_equal(engine_image_inspect(e, tag, &img, &err), 0);
	assert_string_equal(json_string_value(json_object_get(img, "Id")), id);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(img, "Config"), "Labels"), "prisync-test.run")),
	    harness_env("PRISYNC_TEST_RUN"));
	json_decref(img);

	out = run_image(tag, "cat /greeting; test -e /final && echo final-stage; cd /ctx && "
			     "find . -type f | sort");
	/* the arg, the target stage, the copied files; the ignored ones are absent, and the
	 * engine dropped nothing else (the Dockerfile and .dockerignore are not ignored) */
	assert_string_equal(out, "hello from the build\n"
				 "final-stage\n"
				 "./.dockerignore\n"
				 "./Dockerfile\n"
				 "./keep.txt\n"
				 "./sub/kept.txt\n");
	free(out);
	free(ctx);
	harness_dir_remove(&dir);
	json_decref(labels);
	px_buf_release(&c.stream);
	free(id);
}

/* The engine's own words for a broken Dockerfile, and for a COPY of an ignored file (so
 * the exclusion is real on the engine's side too). */
static void test_build_errors(void **state)
{
	static const struct {
		const char *dockerfile;
		const char *message;
	} cases[] = {
	    {"FROMM prisync-test/busybox\n", "unknown instruction: FROMM"},
	    {"FROM prisync-test/busybox\nCOPY secret.txt /\n",
	     "COPY failed: file not found in build context or excluded by .dockerignore"},
	    {"FROM prisync-test/busybox\nRUN echo failing; exit 7\n",
	     "returned a non-zero code: 7"},
	};
	struct harness_dir dir;
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	char tag[96], *id = NULL, *ctx;
	const char *tags[] = {tag, NULL};
	struct engine_build_opts o = {.tags = tags};

	(void)state;
	harness_dir_create(&dir);
	ctx = px_path_join(dir.root, "ctx");
	snprintf(tag, sizeof(tag), "prisync-test-build-bad-%d:1", (int)getpid());
	put(ctx, ".dockerignore", "secret.txt\n");
	put(ctx, "secret.txt", "x\n");
	o.context_dir = ctx;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(ctx, "Dockerfile", cases[i].dockerfile);
		assert_int_equal(engine_image_build(e, &o, NULL, NULL, &id, &err), -1);
		assert_null(id);
		if (strstr(px_error_msg(&err), cases[i].message) == NULL ||
		    strncmp(px_error_msg(&err), "build 'prisync-test-build-bad-", 30) != 0)
			fail_msg("case %zu: '%s' lacks '%s'", i, px_error_msg(&err),
				 cases[i].message);
		px_error_clear(&err);
	}
	/* no Dockerfile at all: found out before anything is sent */
	o.dockerfile = "nope/Dockerfile";
	assert_int_equal(engine_image_build(e, &o, NULL, NULL, &id, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "cannot find Dockerfile"));
	px_error_clear(&err);
	free(ctx);
	harness_dir_remove(&dir);
}

/* A Dockerfile outside the context: sent under another name, and not left in the image. */
static void test_build_dockerfile_outside(void **state)
{
	struct harness_dir dir;
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	char tag[96], *id = NULL, *ctx, *out;
	const char *tags[] = {tag, NULL};
	struct engine_build_opts o = {.tags = tags, .dockerfile = "../docker/app.Dockerfile"};

	(void)state;
	harness_dir_create(&dir);
	snprintf(tag, sizeof(tag), "prisync-test-build-out-%d:1", (int)getpid());
	put(dir.root, "docker/app.Dockerfile", "FROM prisync-test/busybox\nCOPY . /ctx/\n");
	put(dir.root, "app/main.txt", "main\n");
	ctx = px_path_join(dir.root, "app");
	o.context_dir = ctx;
	if (engine_image_build(e, &o, NULL, NULL, &id, &err) < 0)
		fail_msg("build: %s", px_error_msg(&err));
	images[nimages++] = xstrdup(tag);
	out = run_image(tag, "cd /ctx && find . -type f | sort");
	/* .dockerignore was made up to carry the Dockerfile's name; the Dockerfile is gone */
	assert_string_equal(out, "./.dockerignore\n./main.txt\n");
	free(out);
	free(ctx);
	free(id);
	harness_dir_remove(&dir);
}

/* No registry is reachable from the test environment, so only the failure of a pull can be
 * tested here; the success path (and errors inside the progress stream) are covered by
 * the message parser's unit tests with canned pull streams (tests/unit/
 * test_engine_streams.c, test_engine_requests.c). */
static void test_pull_fails_with_the_engine_message(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	const char *msg;

	(void)state;
	assert_int_equal(
	    engine_image_pull(harness_engine(), "prisync-test/nope:1", NULL, NULL, &err), -1);
	msg = px_error_msg(&err);
	if (strncmp(msg, "pull 'prisync-test/nope:1': engine: ", 36) != 0 || strlen(msg) < 40)
		fail_msg("'%s'", msg);
	px_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_build, teardown),
	    cmocka_unit_test_teardown(test_build_errors, teardown),
	    cmocka_unit_test_teardown(test_build_dockerfile_outside, teardown),
	    cmocka_unit_test_teardown(test_pull_fails_with_the_engine_message, teardown),
	};

	return cmocka_run_group_tests_name("engine_images", tests, NULL, NULL);
}
