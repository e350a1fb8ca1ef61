/* test_images.c - the harness's test images do what later e2e tests rely on: node runs
 * JavaScript, and postgres initialises a database with a password on first start and
 * serves it on a port published on 127.0.0.1. */
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "tests/harness/harness.h"

static int teardown(void **state)
{
	(void)state;
	return harness_cleanup() == 0 ? 0 : -1;
}

/* Create and start a container on a fresh user-defined network (the harness engine has
 * no default bridge, as on hosts where compose creates every network); returns its id
 * (owned).  Container and network are tracked for cleanup. */
static char *run_container(const char *suffix, json_t *config)
{
	struct px_error err = PX_ERROR_INIT;
	char name[80], *id = NULL, *net_id = NULL;
	json_t *labels = harness_labels();

	snprintf(name, sizeof(name), "prisync-images-%s-%d", suffix, (int)getpid());
	if (engine_network_create(harness_engine(), name, labels, &net_id, &err) < 0)
		fail_msg("network %s: %s", name, px_error_msg(&err));
	harness_track(HARNESS_NETWORK, net_id);
	free(net_id);
	if (json_object_get(config, "HostConfig") == NULL)
		json_object_set_new(config, "HostConfig", json_object());
	json_object_set_new(json_object_get(config, "HostConfig"), "NetworkMode", json_string(name));
	json_object_set_new(config, "Labels", labels);
	if (engine_container_create(harness_engine(), name, config, &id, &err) < 0)
		fail_msg("create %s: %s", name, px_error_msg(&err));
	json_decref(config);
	harness_track(HARNESS_CONTAINER, id);
	if (engine_container_start(harness_engine(), id, &err) < 0)
		fail_msg("start %s: %s", name, px_error_msg(&err));
	return id;
}

static void test_node_image_runs_javascript(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf out = PX_BUF_INIT, errout = PX_BUF_INIT;
	int code = -1;
	char *id;

	(void)state;
	id = run_container(
	    "node",
	    json_pack("{s:s, s:[s,s,s]}", "Image", harness_env("PRISYNC_TEST_IMAGE_NODE"), "Cmd",
		      "sh", "-c", "node -e 'console.log(6*7, process.version)' && npx --version"));
	assert_int_equal(engine_container_wait(harness_engine(), id, &code, &err), 0);
	assert_int_equal(
	    engine_container_logs(harness_engine(), id, true, true, -1, &out, &errout, &err), 0);
	if (code != 0)
		fail_msg("node container exited %d: %s%s", code, px_buf_cstr(&out),
			 px_buf_cstr(&errout));
	assert_non_null(strstr(px_buf_cstr(&out), "42 v20."));
	px_buf_release(&out);
	px_buf_release(&errout);
	free(id);
}

struct pg_wait {
	const char *url;
	struct db_conn *conn;
	struct px_error err;
};

static bool pg_accepts(void *data)
{
	struct pg_wait *w = data;

	px_error_clear(&w->err);
	return db_connect(&w->conn, w->url, 2, &w->err) == 0;
}

/* The host port the engine published for 5432/tcp. */
static char *published_port(const char *id)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *inspect = NULL, *bindings;
	const char *ip, *port;
	char *out;

	assert_int_equal(engine_container_inspect(harness_engine(), id, &inspect, &err), 0);
	bindings = json_object_get(
	    json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports"), "5432/tcp");
	assert_true(json_array_size(bindings) >= 1);
	ip = json_string_value(json_object_get(json_array_get(bindings, 0), "HostIp"));
	port = json_string_value(json_object_get(json_array_get(bindings, 0), "HostPort"));
	assert_string_equal(ip, "127.0.0.1");
	assert_non_null(port);
	out = xstrdup(port);
	json_decref(inspect);
	return out;
}

static void test_postgres_image_serves_a_database(void **state)
{
	struct pg_wait w = {.err = PX_ERROR_INIT};
	char *id, *port, *url = NULL, *v = NULL;

	(void)state;
	/* a password with URL-special characters, as users have them */
	id = run_container("pg", json_pack("{s:s, s:[s,s,s], s:{s:{}}, s:{s:{s:[{s:s,s:s}]}}}",
					   "Image", harness_env("PRISYNC_TEST_IMAGE_POSTGRES"),
					   "Env", "POSTGRES_USER=app",
					   "POSTGRES_PASSWORD=p@ss:w/rd", "POSTGRES_DB=appdb",
					   "ExposedPorts", "5432/tcp", "HostConfig", "PortBindings",
					   "5432/tcp", "HostIp", "127.0.0.1", "HostPort", ""));
	port = published_port(id);
	xasprintf(&url, "postgresql://app:p%%40ss%%3Aw%%2Frd@127.0.0.1:%s/appdb", port);
	w.url = url;
	if (!harness_poll(pg_accepts, &w, 60000))
		fail_msg("postgres container never accepted connections: %s", px_error_msg(&w.err));
	assert_int_equal(db_query_value(w.conn, "SELECT current_database() || ' ' || current_user",
					0, NULL, &v, &w.err),
			 0);
	assert_string_equal(v, "appdb app");
	free(v);
	db_close(w.conn);

	/* the password is enforced: a wrong one is refused */
	free(url);
	xasprintf(&url, "postgresql://app:wrong@127.0.0.1:%s/appdb", port);
	w.conn = NULL;
	assert_int_equal(db_connect(&w.conn, url, 5, &w.err), -1);
	assert_non_null(strstr(px_error_msg(&w.err), "password authentication failed"));
	px_error_clear(&w.err);
	free(url);
	free(port);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_node_image_runs_javascript, teardown),
	    cmocka_unit_test_teardown(test_postgres_image_serves_a_database, teardown),
	};

	return cmocka_run_group_tests_name("images", tests, NULL, NULL);
}
