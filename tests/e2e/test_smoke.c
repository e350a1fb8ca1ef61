/* test_smoke.c - proves the harness: a container from prisync-test/busybox created, run
 * and removed through prisync's engine client, and a database created, used and dropped
 * on the harness PostgreSQL through prisync's db module. */
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "tests/harness/harness.h"

static int teardown(void **state)
{
	(void)state;
	return harness_cleanup() == 0 ? 0 : -1;
}

static void test_engine_api_version_negotiated(void **state)
{
	struct engine *e = harness_engine();

	(void)state;
	/* the harness engine is dockerd 20.10 (API 1.41) or newer; we never ask above ours */
	assert_true(engine_version_cmp(engine_api_version(e), "1.41") >= 0);
	assert_true(engine_version_cmp(engine_api_version(e), "1.47") <= 0);
}

static void test_busybox_container_runs(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	char name[64], *id = NULL;
	json_t *config, *inspect = NULL;
	int code = -1, rc;

	(void)state;
	snprintf(name, sizeof(name), "prisync-smoke-%d", (int)getpid());
	config =
	    json_pack("{s:s, s:[s,s,s], s:o}", "Image", harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"),
		      "Cmd", "sh", "-c", "echo hello from $(hostname); echo to-stderr >&2; exit 7",
		      "Labels", harness_labels());
	rc = engine_container_create(e, name, config, &id, &err);
	json_decref(config);
	if (rc < 0)
		fail_msg("create: %s", px_error_msg(&err));
	harness_track(HARNESS_CONTAINER, id);

	if (engine_container_start(e, id, &err) < 0)
		fail_msg("start: %s", px_error_msg(&err));
	if (engine_container_wait(e, id, &code, &err) < 0)
		fail_msg("wait: %s", px_error_msg(&err));
	assert_int_equal(code, 7);

	if (engine_container_logs(e, id, true, true, -1, &out, &errout, &err) < 0)
		fail_msg("logs: %s", px_error_msg(&err));
	assert_non_null(strstr(px_buf_cstr(&out), "hello from "));
	assert_null(strstr(px_buf_cstr(&out), "to-stderr"));
	assert_string_equal(px_buf_cstr(&errout), "to-stderr\n");

	/* the engine knows it by name, with our label */
	if (engine_container_inspect(e, name, &inspect, &err) != 0)
		fail_msg("inspect: %s", px_error_msg(&err));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(inspect, "Config"), "Labels"), "prisync-test.run")),
	    harness_env("PRISYNC_TEST_RUN"));
	json_decref(inspect);
	inspect = NULL;

	if (engine_container_remove(e, id, false, true, &err) < 0)
		fail_msg("remove: %s", px_error_msg(&err));
	/* gone: inspect reports "not found", not an error of the transport */
	assert_int_equal(engine_container_inspect(e, name, &inspect, &err), ENGINE_NOT_FOUND);
	assert_null(inspect);

	px_error_clear(&err);
	px_buf_release(&out);
	px_buf_release(&errout);
	free(id);
}

/* The harness removes what a test tracked: a running container, its network and a volume
 * it mounts are all gone after harness_cleanup(), and nothing is reported as failed. */
static void test_harness_cleanup_removes_tracked_objects(void **state)
{
	struct engine *e = harness_engine();
	struct px_error err = PX_ERROR_INIT;
	char name[64], bind[128], *net = NULL, *vol = NULL, *id = NULL;
	json_t *config, *labels = harness_labels(), *list = NULL;

	(void)state;
	snprintf(name, sizeof(name), "prisync-cleanup-%d", (int)getpid());
	assert_int_equal(engine_network_create(e, name, labels, &net, &err), 0);
	harness_track(HARNESS_NETWORK, net);
	assert_int_equal(engine_volume_create(e, name, labels, &vol, &err), 0);
	harness_track(HARNESS_VOLUME, vol);
	snprintf(bind, sizeof(bind), "%s:/data", vol);
	config = json_pack("{s:s, s:[s,s,s], s:O, s:{s:s, s:[s]}}", "Image",
			   harness_env("PRISYNC_TEST_IMAGE_BUSYBOX"), "Cmd", "sh", "-c", "sleep 600",
			   "Labels", labels, "HostConfig", "NetworkMode", name, "Binds", bind);
	assert_int_equal(engine_container_create(e, name, config, &id, &err), 0);
	harness_track(HARNESS_CONTAINER, id);
	if (engine_container_start(e, id, &err) < 0)
		fail_msg("start: %s", px_error_msg(&err));

	/* a running container holding the network and the volume: cleanup must still win */
	assert_int_equal(harness_cleanup(), 0);
	assert_int_equal(engine_container_inspect(e, id, &list, &err), ENGINE_NOT_FOUND);
	assert_int_equal(engine_network_list(e, "prisync-test.run", &list, &err), 0);
	for (size_t i = 0; i < json_array_size(list); i++)
		assert_string_not_equal(
		    json_string_value(json_object_get(json_array_get(list, i), "Name")), name);
	json_decref(list);
	assert_int_equal(engine_volume_list(e, "prisync-test.run", &list, &err), 0);
	for (size_t i = 0; i < json_array_size(list); i++)
		assert_string_not_equal(
		    json_string_value(json_object_get(json_array_get(list, i), "Name")), name);
	json_decref(list);
	json_decref(config);
	json_decref(labels);
	free(net);
	free(vol);
	free(id);
}

/* The URL of the harness server with its database name replaced by db. */
static char *url_for_database(const char *db)
{
	char *url = NULL;

	xasprintf(&url, "postgresql://%s@%s:%s/%s", harness_env("PRISYNC_TEST_PG_USER"),
		  harness_env("PRISYNC_TEST_PG_HOST"), harness_env("PRISYNC_TEST_PG_PORT"), db);
	return url;
}

static void test_database_created_used_dropped(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct db_conn *admin = NULL, *app = NULL;
	char name[64], *url, *v = NULL;
	bool exists = false;

	(void)state;
	/* a name that needs quoting: the identifier must be escaped, not pasted */
	snprintf(name, sizeof(name), "Smoke-%d", (int)getpid());
	if (db_connect(&admin, harness_env("PRISYNC_TEST_PG_URL"), 5, &err) < 0)
		fail_msg("connect: %s", px_error_msg(&err));
	assert_true(db_server_version(admin) >= 150000);

	if (db_database_create(admin, name, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(db_database_exists(admin, name, &exists, &err), 0);
	assert_true(exists);

	url = url_for_database(name);
	if (db_connect(&app, url, 5, &err) < 0)
		fail_msg("connect to the new database: %s", px_error_msg(&err));
	assert_int_equal(db_exec(app,
				 "CREATE TABLE t (id int PRIMARY KEY, name text);"
				 "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
				 &err),
			 0);
	assert_int_equal(db_query_value(app, "SELECT name FROM t WHERE id = $1", 1,
					(const char *[]){"2"}, &v, &err),
			 0);
	assert_string_equal(v, "two");
	free(v);
	v = NULL;
	/* a failing statement carries its SQLSTATE */
	assert_int_equal(db_exec(app, "SELECT * FROM missing_table", &err), -1);
	assert_string_equal(err.sqlstate, "42P01");
	px_error_clear(&err);
	db_close(app);

	/* creating it again is an error that names it */
	assert_int_equal(db_database_create(admin, name, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), name));
	assert_string_equal(err.sqlstate, "42P04");
	px_error_clear(&err);

	assert_int_equal(db_database_drop(admin, name, false, &err), 0);
	assert_int_equal(db_database_exists(admin, name, &exists, &err), 0);
	assert_false(exists);
	/* and connecting to it now fails with the server's reason */
	assert_int_equal(db_connect(&app, url, 5, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "does not exist"));
	px_error_clear(&err);
	free(url);
	db_close(admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_engine_api_version_negotiated, teardown),
	    cmocka_unit_test_teardown(test_busybox_container_runs, teardown),
	    cmocka_unit_test_teardown(test_harness_cleanup_removes_tracked_objects, teardown),
	    cmocka_unit_test(test_database_created_used_dropped),
	};

	return cmocka_run_group_tests_name("smoke", tests, NULL, NULL);
}
