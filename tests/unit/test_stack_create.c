/* test_stack_create.c - stack/create.c: compose services (loaded from real compose files
 * by compose_load) turned into Engine API create bodies; a table of service snippets and
 * the JSON fragment each must produce at a path of the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "stack/stack.h"

/* Write yaml as compose.yaml in a fresh temp dir and load it as project "demo". */
static struct compose_project *load_yaml(const char *yaml, char **dir_out)
{
	const char *tmp = getenv("TMPDIR");
	struct compose_options o;
	struct compose_project_ref ref;
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	char *dir, *file;
	FILE *f;

	xasprintf(&dir, "%s/px-stack-create.XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	xasprintf(&file, "%s/compose.yaml", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	compose_options_init(&o);
	compose_options_add_file(&o, file);
	o.project_name = xstrdup("demo");
	if (compose_project_resolve(&ref, &o, dir, &err) < 0 ||
	    compose_load(&p, &ref, &o, &err) < 0)
		fail_msg("load: %s\n%s", px_error_msg(&err), yaml);
	compose_project_ref_release(&ref);
	compose_options_release(&o);
	unlink(file);
	free(file);
	*dir_out = dir;
	return p;
}

static void remove_dir(char *dir)
{
	rmdir(dir);
	free(dir);
}

/* The value at path (keys, NULL-terminated) of body, or NULL. */
static json_t *at(json_t *body, const char *const *path)
{
	json_t *v = body;

	for (; *path != NULL && v != NULL; path++)
		v = json_object_get(v, *path);
	return v;
}

struct create_case {
	const char *name;
	const char *service_yaml; /* the body of service "app" (indented 4) */
	const char *extra_yaml;   /* top-level additions, or NULL */
	const char *api;          /* negotiated API version, NULL: newest */
	const char *path[5];
	const char *want; /* JSON; NULL: the path must be absent */
};

static const struct create_case cases[] = {
    {"image", "    image: busybox:1.36\n", NULL, NULL, {"Image"}, "\"busybox:1.36\""},
    {"image defaults to the build tag", "    build: .\n", NULL, NULL, {"Image"}, "\"demo-app\""},
    {"command list",
     "    image: x\n    command: [\"sh\", \"-c\", \"echo hi\"]\n",
     NULL,
     NULL,
     {"Cmd"},
     "[\"sh\", \"-c\", \"echo hi\"]"},
    {"command string split like a shell",
     "    image: x\n    command: echo 'a b' c\n",
     NULL,
     NULL,
     {"Cmd"},
     "[\"echo\", \"a b\", \"c\"]"},
    {"no command: the image's", "    image: x\n", NULL, NULL, {"Cmd"}, NULL},
    {"entrypoint",
     "    image: x\n    entrypoint: [\"/init\"]\n",
     NULL,
     NULL,
     {"Entrypoint"},
     "[\"/init\"]"},
    {"environment: a variable without a value is passed by name",
     "    image: x\n    environment:\n      - PX_TEST_SURELY_UNSET\n",
     NULL,
     NULL,
     {"Env"},
     "[\"PX_TEST_SURELY_UNSET\"]"},
    {"environment map",
     "    image: x\n    environment:\n      A: \"1\"\n      B: two words\n",
     NULL,
     NULL,
     {"Env"},
     "[\"A=1\", \"B=two words\"]"},
    {"working_dir and user",
     "    image: x\n    working_dir: /srv\n    user: \"1000:1000\"\n",
     NULL,
     NULL,
     {"WorkingDir"},
     "\"/srv\""},
    {"user", "    image: x\n    user: \"1000:1000\"\n", NULL, NULL, {"User"}, "\"1000:1000\""},
    {"tty and stdin_open",
     "    image: x\n    tty: true\n    stdin_open: true\n",
     NULL,
     NULL,
     {"OpenStdin"},
     "true"},
    {"tty", "    image: x\n    tty: true\n", NULL, NULL, {"Tty"}, "true"},
    {"tty default off", "    image: x\n", NULL, NULL, {"Tty"}, "false"},
    {"service labels kept",
     "    image: x\n    labels:\n      team: db\n",
     NULL,
     NULL,
     {"Labels", "team"},
     "\"db\""},
    {"project label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.project"},
     "\"demo\""},
    {"service label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.service"},
     "\"app\""},
    {"number label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.container-number"},
     "\"1\""},
    {"oneoff label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.oneoff"},
     "\"False\""},
    {"hash label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.config-hash"},
     "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""},
    {"image label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.image"},
     "\"sha256:feed\""},
    {"version label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.version"},
     "\"" STACK_COMPOSE_VERSION "\""},
    {"depends_on label",
     "    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n      "
     "mig:\n        condition: service_completed_successfully\n        restart: true\n",
     "  db:\n    image: x\n  mig:\n    image: x\n",
     NULL,
     {"Labels", "com.docker.compose.depends_on"},
     "\"db:service_healthy:false,mig:service_completed_successfully:true\""},
    {"no dependencies: empty depends_on label",
     "    image: x\n",
     NULL,
     NULL,
     {"Labels", "com.docker.compose.depends_on"},
     "\"\""},
    {"published port, engine's default ip",
     "    image: x\n    ports: [\"8080:80\"]\n",
     NULL,
     NULL,
     {"HostConfig", "PortBindings", "80/tcp"},
     "[{\"HostIp\": \"\", \"HostPort\": \"8080\"}]"},
    {"ephemeral port on an ip",
     "    image: x\n    ports: [\"127.0.0.1::5432\"]\n",
     NULL,
     NULL,
     {"HostConfig", "PortBindings", "5432/tcp"},
     "[{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"\"}]"},
    {"udp port exposed",
     "    image: x\n    ports: [\"53:53/udp\"]\n",
     NULL,
     NULL,
     {"ExposedPorts"},
     "{\"53/udp\": {}}"},
    {"expose adds tcp",
     "    image: x\n    expose: [\"3000\", \"4000-4001/udp\"]\n",
     NULL,
     NULL,
     {"ExposedPorts"},
     "{\"3000/tcp\": {}, \"4000/udp\": {}, \"4001/udp\": {}}"},
    {"short bind goes to Binds",
     "    image: x\n    volumes: [\"/srv/data:/data:ro\"]\n",
     NULL,
     NULL,
     {"HostConfig", "Binds"},
     "[\"/srv/data:/data:ro\"]"},
    {"long bind without create_host_path goes to Mounts",
     "    image: x\n    volumes:\n      - type: bind\n        source: /srv\n        target: "
     "/srv\n",
     NULL,
     NULL,
     {"HostConfig", "Mounts"},
     "[{\"Type\": \"bind\", \"Source\": \"/srv\", \"Target\": \"/srv\", \"ReadOnly\": false}]"},
    {"named volume gets the project prefix",
     "    image: x\n    volumes: [\"pgdata:/var/lib/pg\"]\n",
     "volumes:\n  pgdata: {}\n",
     NULL,
     {"HostConfig", "Mounts"},
     "[{\"Type\": \"volume\", \"Source\": \"demo_pgdata\", \"Target\": \"/var/lib/pg\", "
     "\"ReadOnly\": false}]"},
    {"volume with name: keeps it",
     "    image: x\n    volumes: [\"vol:/v\"]\n",
     "volumes:\n  vol:\n    name: shared-v\n",
     NULL,
     {"HostConfig", "Mounts", NULL},
     "[{\"Type\": \"volume\", \"Source\": \"shared-v\", \"Target\": \"/v\", \"ReadOnly\": "
     "false}]"},
    {"tmpfs mount",
     "    image: x\n    volumes:\n      - type: tmpfs\n        target: /run\n        "
     "tmpfs:\n          size: 1048576\n",
     NULL,
     NULL,
     {"HostConfig", "Mounts"},
     "[{\"Type\": \"tmpfs\", \"Target\": \"/run\", \"ReadOnly\": false, \"TmpfsOptions\": "
     "{\"SizeBytes\": 1048576}}]"},
    {"restart policy",
     "    image: x\n    restart: unless-stopped\n",
     NULL,
     NULL,
     {"HostConfig", "RestartPolicy"},
     "{\"Name\": \"unless-stopped\", \"MaximumRetryCount\": 0}"},
    {"restart on-failure with retries",
     "    image: x\n    restart: on-failure:3\n",
     NULL,
     NULL,
     {"HostConfig", "RestartPolicy"},
     "{\"Name\": \"on-failure\", \"MaximumRetryCount\": 3}"},
    {"no restart policy", "    image: x\n", NULL, NULL, {"HostConfig", "RestartPolicy"}, NULL},
    {"init", "    image: x\n    init: true\n", NULL, NULL, {"HostConfig", "Init"}, "true"},
    {"init unset", "    image: x\n", NULL, NULL, {"HostConfig", "Init"}, NULL},
    {"read_only",
     "    image: x\n    read_only: true\n",
     NULL,
     NULL,
     {"HostConfig", "ReadonlyRootfs"},
     "true"},
    {"privileged",
     "    image: x\n    privileged: true\n",
     NULL,
     NULL,
     {"HostConfig", "Privileged"},
     "true"},
    {"extra_hosts as host:ip",
     "    image: x\n    extra_hosts:\n      - \"db.local=10.0.0.2\"\n",
     NULL,
     NULL,
     {"HostConfig", "ExtraHosts"},
     "[\"db.local:10.0.0.2\"]"},
    {"default network",
     "    image: x\n",
     NULL,
     NULL,
     {"HostConfig", "NetworkMode"},
     "\"demo_default\""},
    {"aliases: container name then service",
     "    image: x\n",
     NULL,
     NULL,
     {"NetworkingConfig", "EndpointsConfig", "demo_default", "Aliases"},
     "[\"demo-app-1\", \"app\"]"},
    {"aliases with container_name and network aliases",
     "    image: x\n    container_name: my-app\n    networks:\n      back:\n        aliases: "
     "[api]\n",
     "networks:\n  back: {}\n",
     NULL,
     {"NetworkingConfig", "EndpointsConfig", "demo_back", "Aliases"},
     "[\"my-app\", \"app\", \"api\"]"},
    {"network_mode host",
     "    image: x\n    network_mode: host\n",
     NULL,
     NULL,
     {"HostConfig", "NetworkMode"},
     "\"host\""},
    {"network_mode: no NetworkingConfig",
     "    image: x\n    network_mode: host\n",
     NULL,
     NULL,
     {"NetworkingConfig"},
     NULL},
    {"API 1.41: only the primary network at create",
     "    image: x\n    networks:\n      front:\n        priority: 10\n      back: {}\n",
     "networks:\n  front: {}\n  back: {}\n",
     "1.41",
     {"NetworkingConfig", "EndpointsConfig"},
     "{\"demo_front\": {\"Aliases\": [\"demo-app-1\", \"app\"]}}"},
    {"API 1.44: every network at create",
     "    image: x\n    networks:\n      front: {}\n      back: {}\n",
     "networks:\n  front: {}\n  back: {}\n",
     "1.44",
     {"NetworkingConfig", "EndpointsConfig"},
     "{\"demo_back\": {\"Aliases\": [\"demo-app-1\", \"app\"]}, \"demo_front\": {\"Aliases\": "
     "[\"demo-app-1\", \"app\"]}}"},
    {"primary network by priority, then name",
     "    image: x\n    networks:\n      zeta:\n        priority: 5\n      alpha: {}\n",
     "networks:\n  zeta: {}\n  alpha: {}\n",
     "1.41",
     {"HostConfig", "NetworkMode"},
     "\"demo_zeta\""},
    {"healthcheck in nanoseconds",
     "    image: x\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: 1s\n  "
     "  "
     "  timeout: 500ms\n      retries: 5\n      start_period: 2s\n",
     NULL,
     "1.41",
     {"Healthcheck"},
     "{\"Test\": [\"CMD\", \"pg_isready\"], \"Interval\": 1000000000, \"Timeout\": 500000000, "
     "\"StartPeriod\": 2000000000, \"Retries\": 5}"},
    {"healthcheck string is CMD-SHELL",
     "    image: x\n    healthcheck:\n      test: pg_isready -U app\n",
     NULL,
     NULL,
     {"Healthcheck", "Test"},
     "[\"CMD-SHELL\", \"pg_isready -U app\"]"},
    {"healthcheck disabled",
     "    image: x\n    healthcheck:\n      disable: true\n",
     NULL,
     NULL,
     {"Healthcheck"},
     "{\"Test\": [\"NONE\"]}"},
    {"start_interval only from API 1.44",
     "    image: x\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      start_interval: 1s\n",
     NULL,
     "1.41",
     {"Healthcheck", "StartInterval"},
     NULL},
    {"stop signal",
     "    image: x\n    stop_signal: SIGINT\n",
     NULL,
     NULL,
     {"StopSignal"},
     "\"SIGINT\""},
    {"stop grace period in seconds",
     "    image: x\n    stop_grace_period: 1m30s\n",
     NULL,
     NULL,
     {"StopTimeout"},
     "90"},
    {"hostname", "    image: x\n    hostname: box\n", NULL, NULL, {"Hostname"}, "\"box\""},
};

static void test_create_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct create_case *c = &cases[i];
		struct stack_create_info ci = {
		    .number = 1,
		    .config_hash =
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    .image_id = "sha256:feed",
		    .api_version = c->api,
		};
		struct px_error err = PX_ERROR_INIT;
		struct compose_project *p;
		char *yaml, *dir, *got = NULL;
		json_t *body = NULL, *want = NULL, *v;
		json_error_t jerr;

		xasprintf(
		    &yaml, "services:\n  app:\n%s%s%s", c->service_yaml,
		    c->extra_yaml != NULL && strncmp(c->extra_yaml, "  ", 2) == 0 ? c->extra_yaml
										  : "",
		    c->extra_yaml != NULL && strncmp(c->extra_yaml, "  ", 2) != 0 ? c->extra_yaml
										  : "");
		p = load_yaml(yaml, &dir);
		if (stack_create_body(&body, p, compose_project_service(p, "app"), &ci, &err) < 0)
			fail_msg("case '%s': %s", c->name, px_error_msg(&err));
		v = at(body, c->path);
		if (c->want == NULL) {
			if (v != NULL)
				fail_msg("case '%s': expected nothing, got %s", c->name,
					 (got = json_dumps(v, JSON_ENCODE_ANY)));
		} else {
			want = json_loads(c->want, JSON_DECODE_ANY, &jerr);
			if (want == NULL)
				fail_msg("case '%s': bad expectation: %s", c->name, jerr.text);
			if (v == NULL || !json_equal(v, want))
				fail_msg("case '%s': want %s, got %s", c->name, c->want,
					 v != NULL ? (got = json_dumps(v, JSON_ENCODE_ANY))
						   : "nothing");
		}
		free(got);
		json_decref(want);
		json_decref(body);
		compose_project_free(p);
		remove_dir(dir);
		free(yaml);
	}
}

/* The labels compose's project loader adds are all there and right. */
static void test_create_project_labels(void **state)
{
	struct stack_create_info ci = {.number = 2, .config_hash = "abc"};
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *p;
	json_t *body = NULL, *labels;
	char *dir, *files;

	(void)state;
	p = load_yaml("services:\n  app:\n    image: x\n", &dir);
	assert_int_equal(stack_create_body(&body, p, &p->services[0], &ci, &err), 0);
	labels = json_object_get(body, "Labels");
	assert_string_equal(
	    json_string_value(json_object_get(labels, "com.docker.compose.project.working_dir")),
	    dir);
	xasprintf(&files, "%s/compose.yaml", dir);
	assert_string_equal(
	    json_string_value(json_object_get(labels, "com.docker.compose.project.config_files")),
	    files);
	assert_string_equal(
	    json_string_value(json_object_get(labels, "com.docker.compose.container-number")), "2");
	/* no image id given: no image label (not an empty one) */
	assert_null(json_object_get(labels, "com.docker.compose.image"));
	free(files);
	json_decref(body);
	compose_project_free(p);
	remove_dir(dir);
}

/* A recreate keeps the replaced container's anonymous volumes: the image's declared
 * volume and the service's anonymous one, but not at a target the service now mounts a
 * named volume on. */
static void test_create_inherits_anonymous_volumes(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *p;
	json_t *body = NULL, *mounts, *want;
	json_t *inherit = json_loads(
	    "[{\"Type\": \"volume\", \"Name\": \"aaa\", \"Destination\": \"/var/lib/pg\", \"RW\": "
	    "true},"
	    " {\"Type\": \"volume\", \"Name\": \"bbb\", \"Destination\": \"/cache\", \"RW\": true},"
	    " {\"Type\": \"volume\", \"Name\": \"ccc\", \"Destination\": \"/named\", \"RW\": true},"
	    " {\"Type\": \"bind\", \"Source\": \"/x\", \"Destination\": \"/x\", \"RW\": true}]",
	    0, NULL);
	json_t *image_vols = json_loads("{\"/var/lib/pg\": {}, \"/named\": {}}", 0, NULL);
	struct stack_create_info ci = {.number = 1,
				       .config_hash = "h",
				       .replace_id = "0123456789ab",
				       .inherit_mounts = inherit,
				       .image_volumes = image_vols};
	char *dir;

	(void)state;
	p = load_yaml("services:\n  app:\n    image: x\n    volumes:\n      - /cache\n      - "
		      "data:/named\nvolumes:\n  data: {}\n",
		      &dir);
	assert_int_equal(stack_create_body(&body, p, &p->services[0], &ci, &err), 0);
	mounts = json_object_get(json_object_get(body, "HostConfig"), "Mounts");
	want =
	    json_loads("[{\"Type\": \"volume\", \"Source\": \"aaa\", \"Target\": \"/var/lib/pg\", "
		       "\"ReadOnly\": false},"
		       " {\"Type\": \"volume\", \"Source\": \"bbb\", \"Target\": \"/cache\", "
		       "\"ReadOnly\": false},"
		       " {\"Type\": \"volume\", \"Source\": \"demo_data\", \"Target\": \"/named\", "
		       "\"ReadOnly\": false}]",
		       0, NULL);
	if (!json_equal(mounts, want)) {
		char *got = json_dumps(mounts, 0);

		fail_msg("mounts: %s", got);
	}
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "Labels"),
							      "com.docker.compose.replace")),
			    "0123456789ab");
	json_decref(want);
	json_decref(body);
	json_decref(inherit);
	json_decref(image_vols);
	compose_project_free(p);
	remove_dir(dir);
}

static void test_create_names(void **state)
{
	struct compose_project *p;
	char *dir, *s;
	char **aliases;

	(void)state;
	p = load_yaml("services:\n  app:\n    build: .\n  db:\n    image: postgres:15\n    "
		      "container_name: the-db\n",
		      &dir);
	s = stack_service_image(p, compose_project_service(p, "app"));
	assert_string_equal(s, "demo-app");
	free(s);
	s = stack_service_image(p, compose_project_service(p, "db"));
	assert_string_equal(s, "postgres:15");
	free(s);
	s = stack_service_container_name(p, compose_project_service(p, "app"), 3);
	assert_string_equal(s, "demo-app-3");
	free(s);
	s = stack_service_container_name(p, compose_project_service(p, "db"), 1);
	assert_string_equal(s, "the-db");
	free(s);
	aliases = stack_network_aliases(p, compose_project_service(p, "db"), 1,
					&compose_project_service(p, "db")->networks[0]);
	assert_string_equal(aliases[0], "the-db");
	assert_string_equal(aliases[1], "db");
	assert_null(aliases[2]);
	stack_strv_free(aliases);
	compose_project_free(p);
	remove_dir(dir);
}

/* An unresolved network_mode service:x is an error naming the service, not a body the
 * engine would refuse. */
static void test_create_network_mode_service_needs_container(void **state)
{
	struct stack_create_info ci = {.number = 1, .config_hash = "h"};
	struct px_error err = PX_ERROR_INIT;
	struct compose_project *p;
	json_t *body = NULL;
	char *dir;

	(void)state;
	p = load_yaml("services:\n  app:\n    image: x\n    network_mode: service:vpn\n  vpn:\n    "
		      "image: x\n",
		      &dir);
	assert_int_equal(stack_create_body(&body, p, compose_project_service(p, "app"), &ci, &err),
			 -1);
	assert_non_null(strstr(px_error_msg(&err), "service 'app'"));
	assert_non_null(strstr(px_error_msg(&err), "vpn"));
	px_error_clear(&err);
	ci.network_mode = "container:0123";
	assert_int_equal(stack_create_body(&body, p, compose_project_service(p, "app"), &ci, &err),
			 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(body, "HostConfig"), "NetworkMode")),
	    "container:0123");
	json_decref(body);
	compose_project_free(p);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_table),
	    cmocka_unit_test(test_create_project_labels),
	    cmocka_unit_test(test_create_inherits_anonymous_volumes),
	    cmocka_unit_test(test_create_names),
	    cmocka_unit_test(test_create_network_mode_service_needs_container),
	};

	return cmocka_run_group_tests_name("stack_create", tests, NULL, NULL);
}
