/* test_engine_run.c - e2e tests of engine calls on running containers against the harness
 * engine: exec (exit code, stdout and stderr apart, env, workdir, user), restart, network
 * connect with an alias another container resolves, network and volume inspect. */
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static int teardown(void **state)
{
	(void)state;
	return harness_cleanup() == 0 ? 0 : -1;
}

/* A labelled user-defined network (the harness engine has no default bridge), tracked;
 * its name is "prisync-run-<suffix>-<pid>" (in name). */
static void make_network(const char *suffix, char *name, size_t size)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *labels = harness_labels();
	char *id = NULL;

	snprintf(name, size, "prisync-run-%s-%d", suffix, (int)getpid());
	if (engine_network_create(harness_engine(), name, labels, &id, &err) < 0)
		fail_msg("network %s: %s", name, px_error_msg(&err));
	harness_track(HARNESS_NETWORK, id);
	json_decref(labels);
	free(id);
}

/* A started busybox container running cmd on network; its id (owned), tracked. */
static char *run_busybox(const char *name, const char *network, const char *cmd)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *config;
	char *id = NULL;

	config = json_pack("{s:s, s:[s,s,s], s:o, s:{s:s}}", "Image",
			   harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"), "Cmd", "sh", "-c", cmd,
			   "Labels", harness_labels(), "HostConfig", "NetworkMode", network);
	if (engine_container_create(harness_engine(), name, config, &id, &err) < 0)
		fail_msg("create %s: %s", name, px_error_msg(&err));
	json_decref(config);
	harness_track(HARNESS_CONTAINER, id);
	if (engine_container_start(harness_engine(), id, &err) < 0)
		fail_msg("start %s: %s", name, px_error_msg(&err));
	return id;
}

static void test_exec(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	char net[64], name[80], *id;
	int code = -1;

	(void)state;
	make_network("exec", net, sizeof(net));
	snprintf(name, sizeof(name), "%s-c", net);
	id = run_busybox(name, net, "sleep 600");

	/* exit code, the two streams apart, env, workdir and user as asked */
	if (engine_exec(e, name,
			(const char *[]){"sh", "-c",
					 "echo out; echo err >&2; echo \"$FOO\"; pwd; id -un; "
					 "exit 3",
					 NULL},
			(const char *[]){"FOO=bar baz", NULL}, "/tmp", "nobody", &out, &errout,
			&code, &err) < 0)
		fail_msg("exec: %s", px_error_msg(&err));
	assert_int_equal(code, 3);
	assert_string_equal(px_buf_cstr(&out), "out\nbar baz\n/tmp\nnobody\n");
	assert_string_equal(px_buf_cstr(&errout), "err\n");

	/* defaults: the container's own user (root) and directory (/) */
	px_buf_reset(&out);
	px_buf_reset(&errout);
	assert_int_equal(engine_exec(e, id, (const char *[]){"sh", "-c", "pwd; id -u", NULL}, NULL,
				     NULL, NULL, &out, NULL, &code, &err),
			 0);
	assert_int_equal(code, 0);
	assert_string_equal(px_buf_cstr(&out), "/\n0\n");

	/* a missing command: the engine says why, and the code says it could not run */
	px_buf_reset(&out);
	assert_int_equal(engine_exec(e, id, (const char *[]){"no-such-command", NULL}, NULL, NULL,
				     NULL, &out, &errout, &code, &err),
			 0);
	assert_int_equal(code, 126);
	assert_non_null(strstr(px_buf_cstr(&out), "executable file not found"));

	/* a stopped container: the engine's message */
	if (engine_container_kill(e, id, NULL, &err) < 0 ||
	    engine_container_wait(e, id, &code, &err) < 0)
		fail_msg("stop: %s", px_error_msg(&err));
	assert_int_equal(engine_exec(e, id, (const char *[]){"true", NULL}, NULL, NULL, NULL, NULL,
				     NULL, &code, &err),
			 -1);
	assert_non_null(strstr(px_error_msg(&err), "is not running"));
	assert_non_null(strstr(px_error_msg(&err), "cannot run 'true' in container"));
	px_error_clear(&err);
	px_buf_release(&out);
	px_buf_release(&errout);
	free(id);
}

static const char *started_at(json_t *inspect)
{
	return json_string_value(json_object_get(json_object_get(inspect, "State"), "StartedAt"));
}

static void test_restart(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT;
	json_t *before = NULL, *after = NULL;
	char net[64], name[80], *id;

	(void)state;
	make_network("restart", net, sizeof(net));
	snprintf(name, sizeof(name), "%s-c", net);
	id = run_busybox(name, net, "echo started; exec sleep 600");
	assert_int_equal(engine_container_inspect(e, id, &before, &err), 0);
	/* sleep ignores SIGTERM as pid 1: t=0 kills at once */
	if (engine_container_restart(e, id, 0, &err) < 0)
		fail_msg("restart: %s", px_error_msg(&err));
	assert_int_equal(engine_container_inspect(e, id, &after, &err), 0);
	assert_true(json_is_true(json_object_get(json_object_get(after, "State"), "Running")));
	assert_string_not_equal(started_at(before), started_at(after));
	assert_int_equal(engine_container_logs(e, id, true, false, -1, &out, NULL, &err), 0);
	assert_string_equal(px_buf_cstr(&out), "started\nstarted\n");
	/* restarting what does not exist is an error with the engine's words */
	assert_int_equal(engine_container_restart(e, "prisync-no-such-container", 0, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "No such container"));
	px_error_clear(&err);
	json_decref(before);
	json_decref(after);
	px_buf_release(&out);
	free(id);
}

/* The IP address of container id on network (owned). */
static char *address_on(const char *id, const char *network)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *c = NULL;
	const char *ip;
	char *r;

	assert_int_equal(engine_container_inspect(harness_engine(), id, &c, &err), 0);
	ip = json_string_value(json_object_get(
	    json_object_get(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"),
			    network),
	    "IPAddress"));
	assert_non_null(ip);
	assert_true(*ip != '\0');
	r = xstrdup(ip);
	json_decref(c);
	return r;
}

/* A container connected to a second network under an alias: another container there
 * resolves the alias to the address the connection gave it. */
static void test_network_connect_alias(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	char home[64], shared[64], name[80], alias[64], *server, *client, *ip;
	json_t *net = NULL, *containers;
	int code = -1;

	(void)state;
	make_network("home", home, sizeof(home));
	make_network("shared", shared, sizeof(shared));
	snprintf(name, sizeof(name), "%s-server", shared);
	server = run_busybox(name, home, "exec sleep 600");
	snprintf(name, sizeof(name), "%s-client", shared);
	client = run_busybox(name, shared, "exec sleep 600");
	snprintf(alias, sizeof(alias), "db-%d", (int)getpid());

	if (engine_network_connect(e, shared, server, (const char *[]){alias, "other", NULL},
				   &err) < 0)
		fail_msg("connect: %s", px_error_msg(&err));
	/* the server has an address on the shared network only since the connect */
	ip = address_on(server, shared);
	if (engine_exec(e, client, (const char *[]){"nslookup", alias, NULL}, NULL, NULL, NULL,
			&out, &errout, &code, &err) < 0)
		fail_msg("exec: %s", px_error_msg(&err));
	if (code != 0 || strstr(px_buf_cstr(&out), ip) == NULL)
		fail_msg("nslookup %s (want %s) exited %d:\n%s%s", alias, ip, code,
			 px_buf_cstr(&out), px_buf_cstr(&errout));
	/* and the network lists it */
	assert_int_equal(engine_network_inspect(e, shared, &net, &err), 0);
	containers = json_object_get(net, "Containers");
	assert_non_null(json_object_get(containers, server));
	json_decref(net);
	/* connecting what does not exist: the engine's message */
	assert_int_equal(engine_network_connect(e, shared, "prisync-no-such-container", NULL, &err),
			 -1);
	assert_non_null(strstr(px_error_msg(&err), "cannot connect container"));
	px_error_clear(&err);
	px_buf_release(&out);
	px_buf_release(&errout);
	free(ip);
	free(server);
	free(client);
}

static void test_inspect_network_and_volume(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	json_t *labels = harness_labels(), *out = NULL;
	char net[64], vol[64], *vname = NULL;
	const char *run = harness_env("PRISYNC_TEST_RUN");

	(void)state;
	make_network("inspect", net, sizeof(net));
	assert_int_equal(engine_network_inspect(e, net, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "Name")), net);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "Labels"), "prisync-test.run")),
	    run);
	json_decref(out);
	snprintf(vol, sizeof(vol), "prisync-run-vol-%d", (int)getpid());
	assert_int_equal(engine_volume_create(e, vol, labels, &vname, &err), 0);
	harness_track(HARNESS_VOLUME, vname);
	assert_int_equal(engine_volume_inspect(e, vol, &out, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "Name")), vol);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "Labels"), "prisync-test.run")),
	    run);
	json_decref(out);
	/* absent: "not found", not an error */
	assert_int_equal(engine_network_inspect(e, "prisync-no-such-network", &out, &err),
			 ENGINE_NOT_FOUND);
	assert_null(out);
	assert_null(err.msg);
	assert_int_equal(engine_volume_inspect(e, "prisync-no-such-volume", &out, &err),
			 ENGINE_NOT_FOUND);
	assert_null(err.msg);
	json_decref(labels);
	free(vname);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_exec, teardown),
	    cmocka_unit_test_teardown(test_restart, teardown),
	    cmocka_unit_test_teardown(test_network_connect_alias, teardown),
	    cmocka_unit_test_teardown(test_inspect_network_and_volume, teardown),
	};

	return cmocka_run_group_tests_name("engine_run", tests, NULL, NULL);
}
