/* test_compose_print.c - compose_print() on hand-built models: the exact text
 * `docker compose config` (v2.26) prints for the same project, YAML and JSON, go-yaml's
 * quoting of every kind of scalar, Go durations, profiles, unused resources, --services
 * and --volumes.  The expected texts were printed by the reference binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"

/* Models are tables: each initializer starts from the "unset" defaults and overrides. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define S(x)      ((char *)(x))
#define NELEM(a)  (sizeof(a) / sizeof((a)[0]))
#define STRV(...) ((struct compose_strv){(char *[]){__VA_ARGS__}, NELEM(((char *[]){__VA_ARGS__}))})
#define MAP(...)                                                                                   \
	((struct compose_map){(struct compose_kv[]){__VA_ARGS__},                                  \
			      NELEM(((struct compose_kv[]){__VA_ARGS__}))})
#define HC_UNSET                                                                                   \
	.interval_ns = -1, .timeout_ns = -1, .start_period_ns = -1, .start_interval_ns = -1,       \
	.retries = -1
#define SERVICE_UNSET                                                                              \
	.init = -1, .tty = -1, .stdin_open = -1, .read_only = -1, .privileged = -1,                \
	.stop_grace_period_ns = -1, .healthcheck = {HC_UNSET}
#define MOUNT_UNSET .tmpfs_size = -1, .tmpfs_mode = -1
#define SEC         1000000000LL

/* Print p in format f into a new string (owned); asserts that printing succeeds. */
static char *print(const struct compose_project *p, enum compose_format f)
{
	struct px_error err = PX_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	if (compose_print(out, p, f, &err) != 0)
		fail_msg("compose_print: %s", px_error_msg(&err));
	fclose(out);
	return text;
}

/* Fail with the first differing line of each text (and the whole of got on stderr). */
static void assert_text(const char *got, const char *want)
{
	const char *g = got, *w = want, *gl = got, *wl = want;
	unsigned line = 1;

	if (strcmp(got, want) == 0)
		return;
	while (*g != '\0' && *g == *w) {
		if (*g == '\n') {
			line++;
			gl = g + 1;
			wl = w + 1;
		}
		g++, w++;
	}
	fprintf(stderr, "--- got:\n%s\n--- end\n", got);
	fail_msg("output differs at line %u:\n got: %.*s\nwant: %.*s", line, (int)strcspn(gl, "\n"),
		 gl, (int)strcspn(wl, "\n"), wl);
}

/* ---- a two-service project (the first examples/app/compose.yaml), loaded in /srv/app - */

static struct compose_service_network default_net[] = {{.key = S("default")}};

static struct compose_service example_services[] = {
    {
	SERVICE_UNSET,
	.name = S("app"),
	.image = S("node:20"),
	.working_dir = S("/app"),
	.has_command = true,
	.command = STRV(S("node"), S("server.js")),
	.environment =
	    MAP({S("DATABASE_URL"), S("postgresql://app:app@db:5432/app")}, {S("PORT"), S("3000")}),
	.volumes = (struct compose_mount[]){{MOUNT_UNSET, .type = COMPOSE_MOUNT_BIND,
					     .source = S("/srv/app"), .target = S("/app"),
					     .bind_create_host_path = true}},
	.nvolumes = 1,
	.ports = (struct compose_port[]){{.host_ip = S("127.0.0.1"),
					  .target = 3000,
					  .protocol = S("tcp"),
					  .mode = S("ingress")}},
	.nports = 1,
	.depends_on =
	    (struct compose_dep[]){
		{.service = S("db"), .condition = COMPOSE_DEP_HEALTHY, .required = true}},
	.ndepends_on = 1,
	.networks = default_net,
	.nnetworks = 1,
    },
    {
	SERVICE_UNSET,
	.name = S("db"),
	.image = S("postgres:15"),
	.environment = MAP({S("POSTGRES_USER"), S("app")}, {S("POSTGRES_PASSWORD"), S("app")},
			   {S("POSTGRES_DB"), S("app")}),
	.healthcheck = {HC_UNSET, .present = true,
			.test =
			    STRV(S("CMD"), S("pg_isready"), S("-U"), S("app"), S("-d"), S("app")),
			.interval_ns = 1 * SEC, .timeout_ns = 3 * SEC, .retries = 30},
	.volumes =
	    (struct compose_mount[]){
		{MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME, .source = S("db-data"),
		 .target = S("/var/lib/postgresql/data"), .volume_options = true}},
	.nvolumes = 1,
	.ports = (struct compose_port[]){{.host_ip = S("127.0.0.1"),
					  .target = 5432,
					  .protocol = S("tcp"),
					  .mode = S("ingress")}},
	.nports = 1,
	.networks = default_net,
	.nnetworks = 1,
    },
};

static struct compose_network example_networks[] = {
    {.key = S("default"), .name = S("prisync-example_default"), .enable_ipv6 = -1},
};

static struct compose_volume example_volumes[] = {
    {.key = S("db-data"), .name = S("prisync-example_db-data")},
};

static const struct compose_project example = {
    .name = S("prisync-example"),
    .working_dir = S("/srv/app"),
    .services = example_services,
    .nservices = NELEM(example_services),
    .networks = example_networks,
    .nnetworks = NELEM(example_networks),
    .volumes = example_volumes,
    .nvolumes = NELEM(example_volumes),
};

/* ---- the expected texts, printed by `docker compose config` (v2.26.1) ---------------- */

static const char example_yaml[] = "name: prisync-example\n"
				   "services:\n"
				   "  app:\n"
				   "    command:\n"
				   "      - node\n"
				   "      - server.js\n"
				   "    depends_on:\n"
				   "      db:\n"
				   "        condition: service_healthy\n"
				   "        required: true\n"
				   "    environment:\n"
				   "      DATABASE_URL: postgresql://app:app@db:5432/app\n"
				   "      PORT: \"3000\"\n"
				   "    image: node:20\n"
				   "    networks:\n"
				   "      default: null\n"
				   "    ports:\n"
				   "      - mode: ingress\n"
				   "        host_ip: 127.0.0.1\n"
				   "        target: 3000\n"
				   "        protocol: tcp\n"
				   "    volumes:\n"
				   "      - type: bind\n"
				   "        source: /srv/app\n"
				   "        target: /app\n"
				   "        bind:\n"
				   "          create_host_path: true\n"
				   "    working_dir: /app\n"
				   "  db:\n"
				   "    environment:\n"
				   "      POSTGRES_DB: app\n"
				   "      POSTGRES_PASSWORD: app\n"
				   "      POSTGRES_USER: app\n"
				   "    healthcheck:\n"
				   "      test:\n"
				   "        - CMD\n"
				   "        - pg_isready\n"
				   "        - -U\n"
				   "        - app\n"
				   "        - -d\n"
				   "        - app\n"
				   "      timeout: 3s\n"
				   "      interval: 1s\n"
				   "      retries: 30\n"
				   "    image: postgres:15\n"
				   "    networks:\n"
				   "      default: null\n"
				   "    ports:\n"
				   "      - mode: ingress\n"
				   "        host_ip: 127.0.0.1\n"
				   "        target: 5432\n"
				   "        protocol: tcp\n"
				   "    volumes:\n"
				   "      - type: volume\n"
				   "        source: db-data\n"
				   "        target: /var/lib/postgresql/data\n"
				   "        volume: {}\n"
				   "networks:\n"
				   "  default:\n"
				   "    name: prisync-example_default\n"
				   "volumes:\n"
				   "  db-data:\n"
				   "    name: prisync-example_db-data\n";

static const char example_json[] =
    "{\n"
    "  \"name\": \"prisync-example\",\n"
    "  \"networks\": {\n"
    "    \"default\": {\n"
    "      \"name\": \"prisync-example_default\",\n"
    "      \"ipam\": {}\n"
    "    }\n"
    "  },\n"
    "  \"services\": {\n"
    "    \"app\": {\n"
    "      \"command\": [\n"
    "        \"node\",\n"
    "        \"server.js\"\n"
    "      ],\n"
    "      \"depends_on\": {\n"
    "        \"db\": {\n"
    "          \"condition\": \"service_healthy\",\n"
    "          \"required\": true\n"
    "        }\n"
    "      },\n"
    "      \"entrypoint\": null,\n"
    "      \"environment\": {\n"
    "        \"DATABASE_URL\": \"postgresql://app:app@db:5432/app\",\n"
    "        \"PORT\": \"3000\"\n"
    "      },\n"
    "      \"image\": \"node:20\",\n"
    "      \"networks\": {\n"
    "        \"default\": null\n"
    "      },\n"
    "      \"ports\": [\n"
    "        {\n"
    "          \"mode\": \"ingress\",\n"
    "          \"host_ip\": \"127.0.0.1\",\n"
    "          \"target\": 3000,\n"
    "          \"protocol\": \"tcp\"\n"
    "        }\n"
    "      ],\n"
    "      \"volumes\": [\n"
    "        {\n"
    "          \"type\": \"bind\",\n"
    "          \"source\": \"/srv/app\",\n"
    "          \"target\": \"/app\",\n"
    "          \"bind\": {\n"
    "            \"create_host_path\": true\n"
    "          }\n"
    "        }\n"
    "      ],\n"
    "      \"working_dir\": \"/app\"\n"
    "    },\n"
    "    \"db\": {\n"
    "      \"command\": null,\n"
    "      \"entrypoint\": null,\n"
    "      \"environment\": {\n"
    "        \"POSTGRES_DB\": \"app\",\n"
    "        \"POSTGRES_PASSWORD\": \"app\",\n"
    "        \"POSTGRES_USER\": \"app\"\n"
    "      },\n"
    "      \"healthcheck\": {\n"
    "        \"test\": [\n"
    "          \"CMD\",\n"
    "          \"pg_isready\",\n"
    "          \"-U\",\n"
    "          \"app\",\n"
    "          \"-d\",\n"
    "          \"app\"\n"
    "        ],\n"
    "        \"timeout\": \"3s\",\n"
    "        \"interval\": \"1s\",\n"
    "        \"retries\": 30\n"
    "      },\n"
    "      \"image\": \"postgres:15\",\n"
    "      \"networks\": {\n"
    "        \"default\": null\n"
    "      },\n"
    "      \"ports\": [\n"
    "        {\n"
    "          \"mode\": \"ingress\",\n"
    "          \"host_ip\": \"127.0.0.1\",\n"
    "          \"target\": 5432,\n"
    "          \"protocol\": \"tcp\"\n"
    "        }\n"
    "      ],\n"
    "      \"volumes\": [\n"
    "        {\n"
    "          \"type\": \"volume\",\n"
    "          \"source\": \"db-data\",\n"
    "          \"target\": \"/var/lib/postgresql/data\",\n"
    "          \"volume\": {}\n"
    "        }\n"
    "      ]\n"
    "    }\n"
    "  },\n"
    "  \"volumes\": {\n"
    "    \"db-data\": {\n"
    "      \"name\": \"prisync-example_db-data\"\n"
    "    }\n"
    "  }\n"
    "}";

static const char kitchen_yaml[] = "name: kitchen\n"
				   "services:\n"
				   "  cache:\n"
				   "    command: []\n"
				   "    healthcheck:\n"
				   "      test:\n"
				   "        - NONE\n"
				   "    image: redis\n"
				   "    network_mode: host\n"
				   "  db:\n"
				   "    depends_on:\n"
				   "      cache:\n"
				   "        condition: service_completed_successfully\n"
				   "        required: false\n"
				   "    healthcheck:\n"
				   "      disable: true\n"
				   "    image: postgres:15\n"
				   "    networks:\n"
				   "      default: null\n"
				   "  web:\n"
				   "    build:\n"
				   "      context: /srv/kitchen/app\n"
				   "      dockerfile: Dockerfile.dev\n"
				   "      args:\n"
				   "        A: one\n"
				   "        B: \"2\"\n"
				   "      ssh:\n"
				   "        - default\n"
				   "      labels:\n"
				   "        a: \"2\"\n"
				   "        z: \"1\"\n"
				   "      cache_from:\n"
				   "        - a\n"
				   "        - b\n"
				   "      network: host\n"
				   "      target: dev\n"
				   "    develop:\n"
				   "      watch:\n"
				   "        - path: /srv/kitchen/src\n"
				   "          action: sync\n"
				   "          target: /app/src\n"
				   "          ignore:\n"
				   "            - node_modules/\n"
				   "        - path: /srv/kitchen/package.json\n"
				   "          action: rebuild\n"
				   "    cap_add:\n"
				   "      - NET_ADMIN\n"
				   "    command:\n"
				   "      - echo\n"
				   "      - hello world\n"
				   "      - a&b <c>\n"
				   "    container_name: webby\n"
				   "    depends_on:\n"
				   "      db:\n"
				   "        condition: service_healthy\n"
				   "        restart: true\n"
				   "        required: true\n"
				   "    entrypoint:\n"
				   "      - /bin/sh\n"
				   "      - -c\n"
				   "    environment:\n"
				   "      ALPHA: null\n"
				   "      EMPTY: \"\"\n"
				   "      MULTI: |-\n"
				   "        line1\n"
				   "        line2\n"
				   "      \"YES\": \"yes\"\n"
				   "      ZED: \"1\"\n"
				   "    expose:\n"
				   "      - \"3000\"\n"
				   "    extra_hosts:\n"
				   "      - other=1.2.3.4\n"
				   "      - somehost=162.242.195.82\n"
				   "    hostname: webhost\n"
				   "    healthcheck:\n"
				   "      test:\n"
				   "        - CMD-SHELL\n"
				   "        - curl -f http://localhost\n"
				   "      timeout: 1m30.5s\n"
				   "      interval: 1m30s\n"
				   "      retries: 3\n"
				   "      start_period: 2h0m0s\n"
				   "      start_interval: 500ms\n"
				   "    image: nginx:1.25\n"
				   "    init: false\n"
				   "    labels:\n"
				   "      com.a: \"1\"\n"
				   "      com.b: \"2\"\n"
				   "    logging:\n"
				   "      driver: json-file\n"
				   "      options:\n"
				   "        max-size: 1m\n"
				   "    networks:\n"
				   "      default: null\n"
				   "      front:\n"
				   "        priority: 10\n"
				   "        aliases:\n"
				   "          - w1\n"
				   "          - w2\n"
				   "        ipv4_address: 172.16.0.5\n"
				   "    ports:\n"
				   "      - mode: ingress\n"
				   "        target: 80\n"
				   "        published: \"8080\"\n"
				   "        protocol: tcp\n"
				   "      - mode: ingress\n"
				   "        host_ip: 127.0.0.1\n"
				   "        target: 9000\n"
				   "        published: \"9000\"\n"
				   "        protocol: udp\n"
				   "      - name: https\n"
				   "        mode: host\n"
				   "        target: 443\n"
				   "        published: \"8443\"\n"
				   "        protocol: tcp\n"
				   "        app_protocol: http2\n"
				   "      - mode: ingress\n"
				   "        target: 5000\n"
				   "        protocol: tcp\n"
				   "    privileged: true\n"
				   "    pull_policy: always\n"
				   "    read_only: true\n"
				   "    restart: unless-stopped\n"
				   "    secrets:\n"
				   "      - source: s1\n"
				   "        target: /run/secrets/s1\n"
				   "    stdin_open: true\n"
				   "    stop_grace_period: 1m0s\n"
				   "    stop_signal: SIGINT\n"
				   "    tty: true\n"
				   "    user: 1000:1000\n"
				   "    volumes:\n"
				   "      - type: bind\n"
				   "        source: /srv/kitchen/data\n"
				   "        target: /data\n"
				   "        read_only: true\n"
				   "        bind:\n"
				   "          create_host_path: true\n"
				   "      - type: volume\n"
				   "        source: named\n"
				   "        target: /named\n"
				   "        volume:\n"
				   "          nocopy: true\n"
				   "      - type: volume\n"
				   "        target: /anon\n"
				   "        volume: {}\n"
				   "      - type: tmpfs\n"
				   "        target: /run\n"
				   "        tmpfs:\n"
				   "          size: \"1000000\"\n"
				   "          mode: 1023\n"
				   "      - type: bind\n"
				   "        source: /srv/kitchen/x\n"
				   "        target: /x\n"
				   "        bind:\n"
				   "          selinux: z\n"
				   "          propagation: rshared\n"
				   "      - type: volume\n"
				   "        source: named\n"
				   "        target: /sub\n"
				   "        volume:\n"
				   "          subpath: a/b\n"
				   "    working_dir: /srv\n"
				   "    x-svc:\n"
				   "      a: $$HOME\n"
				   "      z: 1\n"
				   "networks:\n"
				   "  default:\n"
				   "    name: kitchen_default\n"
				   "  front:\n"
				   "    name: kitchen_front\n"
				   "    driver: bridge\n"
				   "    driver_opts:\n"
				   "      com.docker.network.bridge.name: br0\n"
				   "    ipam:\n"
				   "      driver: default\n"
				   "      config:\n"
				   "        - subnet: 172.16.0.0/24\n"
				   "    internal: true\n"
				   "    attachable: true\n"
				   "    labels:\n"
				   "      a: b\n"
				   "    enable_ipv6: true\n"
				   "    x-net: 1\n"
				   "volumes:\n"
				   "  named:\n"
				   "    name: kitchen_named\n"
				   "    driver: local\n"
				   "    driver_opts:\n"
				   "      device: /tmp\n"
				   "      o: bind\n"
				   "      type: none\n"
				   "    labels:\n"
				   "      x: \"y\"\n"
				   "secrets:\n"
				   "  s1:\n"
				   "    name: kitchen_s1\n"
				   "    environment: SECRET_ENV\n"
				   "x-top:\n"
				   "  a: 1\n"
				   "  b:\n"
				   "    - x\n"
				   "    - \"y\"\n";

static const char kitchen_json[] = "{\n"
				   "  \"name\": \"kitchen\",\n"
				   "  \"networks\": {\n"
				   "    \"default\": {\n"
				   "      \"name\": \"kitchen_default\",\n"
				   "      \"ipam\": {}\n"
				   "    },\n"
				   "    \"front\": {\n"
				   "      \"name\": \"kitchen_front\",\n"
				   "      \"driver\": \"bridge\",\n"
				   "      \"driver_opts\": {\n"
				   "        \"com.docker.network.bridge.name\": \"br0\"\n"
				   "      },\n"
				   "      \"ipam\": {\n"
				   "        \"driver\": \"default\",\n"
				   "        \"config\": [\n"
				   "          {\n"
				   "            \"subnet\": \"172.16.0.0/24\"\n"
				   "          }\n"
				   "        ]\n"
				   "      },\n"
				   "      \"internal\": true,\n"
				   "      \"attachable\": true,\n"
				   "      \"labels\": {\n"
				   "        \"a\": \"b\"\n"
				   "      },\n"
				   "      \"enable_ipv6\": true\n"
				   "    }\n"
				   "  },\n"
				   "  \"secrets\": {\n"
				   "    \"s1\": {\n"
				   "      \"name\": \"kitchen_s1\",\n"
				   "      \"environment\": \"SECRET_ENV\"\n"
				   "    }\n"
				   "  },\n"
				   "  \"services\": {\n"
				   "    \"cache\": {\n"
				   "      \"command\": [],\n"
				   "      \"entrypoint\": null,\n"
				   "      \"healthcheck\": {\n"
				   "        \"test\": [\n"
				   "          \"NONE\"\n"
				   "        ]\n"
				   "      },\n"
				   "      \"image\": \"redis\",\n"
				   "      \"network_mode\": \"host\"\n"
				   "    },\n"
				   "    \"db\": {\n"
				   "      \"command\": null,\n"
				   "      \"depends_on\": {\n"
				   "        \"cache\": {\n"
				   "          \"condition\": \"service_completed_successfully\",\n"
				   "          \"required\": false\n"
				   "        }\n"
				   "      },\n"
				   "      \"entrypoint\": null,\n"
				   "      \"healthcheck\": {\n"
				   "        \"disable\": true\n"
				   "      },\n"
				   "      \"image\": \"postgres:15\",\n"
				   "      \"networks\": {\n"
				   "        \"default\": null\n"
				   "      }\n"
				   "    },\n"
				   "    \"web\": {\n"
				   "      \"build\": {\n"
				   "        \"context\": \"/srv/kitchen/app\",\n"
				   "        \"dockerfile\": \"Dockerfile.dev\",\n"
				   "        \"args\": {\n"
				   "          \"A\": \"one\",\n"
				   "          \"B\": \"2\"\n"
				   "        },\n"
				   "        \"ssh\": [\n"
				   "          \"default\"\n"
				   "        ],\n"
				   "        \"labels\": {\n"
				   "          \"a\": \"2\",\n"
				   "          \"z\": \"1\"\n"
				   "        },\n"
				   "        \"cache_from\": [\n"
				   "          \"a\",\n"
				   "          \"b\"\n"
				   "        ],\n"
				   "        \"network\": \"host\",\n"
				   "        \"target\": \"dev\"\n"
				   "      },\n"
				   "      \"develop\": {\n"
				   "        \"watch\": [\n"
				   "          {\n"
				   "            \"path\": \"/srv/kitchen/src\",\n"
				   "            \"action\": \"sync\",\n"
				   "            \"target\": \"/app/src\",\n"
				   "            \"exec\": {\n"
				   "              \"command\": null\n"
				   "            },\n"
				   "            \"ignore\": [\n"
				   "              \"node_modules/\"\n"
				   "            ]\n"
				   "          },\n"
				   "          {\n"
				   "            \"path\": \"/srv/kitchen/package.json\",\n"
				   "            \"action\": \"rebuild\",\n"
				   "            \"exec\": {\n"
				   "              \"command\": null\n"
				   "            }\n"
				   "          }\n"
				   "        ]\n"
				   "      },\n"
				   "      \"cap_add\": [\n"
				   "        \"NET_ADMIN\"\n"
				   "      ],\n"
				   "      \"command\": [\n"
				   "        \"echo\",\n"
				   "        \"hello world\",\n"
				   "        \"a\\u0026b \\u003cc\\u003e\"\n"
				   "      ],\n"
				   "      \"container_name\": \"webby\",\n"
				   "      \"depends_on\": {\n"
				   "        \"db\": {\n"
				   "          \"condition\": \"service_healthy\",\n"
				   "          \"restart\": true,\n"
				   "          \"required\": true\n"
				   "        }\n"
				   "      },\n"
				   "      \"entrypoint\": [\n"
				   "        \"/bin/sh\",\n"
				   "        \"-c\"\n"
				   "      ],\n"
				   "      \"environment\": {\n"
				   "        \"ALPHA\": null,\n"
				   "        \"EMPTY\": \"\",\n"
				   "        \"MULTI\": \"line1\\nline2\",\n"
				   "        \"YES\": \"yes\",\n"
				   "        \"ZED\": \"1\"\n"
				   "      },\n"
				   "      \"expose\": [\n"
				   "        \"3000\"\n"
				   "      ],\n"
				   "      \"extra_hosts\": [\n"
				   "        \"other=1.2.3.4\",\n"
				   "        \"somehost=162.242.195.82\"\n"
				   "      ],\n"
				   "      \"hostname\": \"webhost\",\n"
				   "      \"healthcheck\": {\n"
				   "        \"test\": [\n"
				   "          \"CMD-SHELL\",\n"
				   "          \"curl -f http://localhost\"\n"
				   "        ],\n"
				   "        \"timeout\": \"1m30.5s\",\n"
				   "        \"interval\": \"1m30s\",\n"
				   "        \"retries\": 3,\n"
				   "        \"start_period\": \"2h0m0s\",\n"
				   "        \"start_interval\": \"500ms\"\n"
				   "      },\n"
				   "      \"image\": \"nginx:1.25\",\n"
				   "      \"init\": false,\n"
				   "      \"labels\": {\n"
				   "        \"com.a\": \"1\",\n"
				   "        \"com.b\": \"2\"\n"
				   "      },\n"
				   "      \"logging\": {\n"
				   "        \"driver\": \"json-file\",\n"
				   "        \"options\": {\n"
				   "          \"max-size\": \"1m\"\n"
				   "        }\n"
				   "      },\n"
				   "      \"networks\": {\n"
				   "        \"default\": null,\n"
				   "        \"front\": {\n"
				   "          \"priority\": 10,\n"
				   "          \"aliases\": [\n"
				   "            \"w1\",\n"
				   "            \"w2\"\n"
				   "          ],\n"
				   "          \"ipv4_address\": \"172.16.0.5\"\n"
				   "        }\n"
				   "      },\n"
				   "      \"ports\": [\n"
				   "        {\n"
				   "          \"mode\": \"ingress\",\n"
				   "          \"target\": 80,\n"
				   "          \"published\": \"8080\",\n"
				   "          \"protocol\": \"tcp\"\n"
				   "        },\n"
				   "        {\n"
				   "          \"mode\": \"ingress\",\n"
				   "          \"host_ip\": \"127.0.0.1\",\n"
				   "          \"target\": 9000,\n"
				   "          \"published\": \"9000\",\n"
				   "          \"protocol\": \"udp\"\n"
				   "        },\n"
				   "        {\n"
				   "          \"name\": \"https\",\n"
				   "          \"mode\": \"host\",\n"
				   "          \"target\": 443,\n"
				   "          \"published\": \"8443\",\n"
				   "          \"protocol\": \"tcp\",\n"
				   "          \"app_protocol\": \"http2\"\n"
				   "        },\n"
				   "        {\n"
				   "          \"mode\": \"ingress\",\n"
				   "          \"target\": 5000,\n"
				   "          \"protocol\": \"tcp\"\n"
				   "        }\n"
				   "      ],\n"
				   "      \"privileged\": true,\n"
				   "      \"pull_policy\": \"always\",\n"
				   "      \"read_only\": true,\n"
				   "      \"restart\": \"unless-stopped\",\n"
				   "      \"secrets\": [\n"
				   "        {\n"
				   "          \"source\": \"s1\",\n"
				   "          \"target\": \"/run/secrets/s1\"\n"
				   "        }\n"
				   "      ],\n"
				   "      \"stdin_open\": true,\n"
				   "      \"stop_grace_period\": \"1m0s\",\n"
				   "      \"stop_signal\": \"SIGINT\",\n"
				   "      \"tty\": true,\n"
				   "      \"user\": \"1000:1000\",\n"
				   "      \"volumes\": [\n"
				   "        {\n"
				   "          \"type\": \"bind\",\n"
				   "          \"source\": \"/srv/kitchen/data\",\n"
				   "          \"target\": \"/data\",\n"
				   "          \"read_only\": true,\n"
				   "          \"bind\": {\n"
				   "            \"create_host_path\": true\n"
				   "          }\n"
				   "        },\n"
				   "        {\n"
				   "          \"type\": \"volume\",\n"
				   "          \"source\": \"named\",\n"
				   "          \"target\": \"/named\",\n"
				   "          \"volume\": {\n"
				   "            \"nocopy\": true\n"
				   "          }\n"
				   "        },\n"
				   "        {\n"
				   "          \"type\": \"volume\",\n"
				   "          \"target\": \"/anon\",\n"
				   "          \"volume\": {}\n"
				   "        },\n"
				   "        {\n"
				   "          \"type\": \"tmpfs\",\n"
				   "          \"target\": \"/run\",\n"
				   "          \"tmpfs\": {\n"
				   "            \"size\": \"1000000\",\n"
				   "            \"mode\": 1023\n"
				   "          }\n"
				   "        },\n"
				   "        {\n"
				   "          \"type\": \"bind\",\n"
				   "          \"source\": \"/srv/kitchen/x\",\n"
				   "          \"target\": \"/x\",\n"
				   "          \"bind\": {\n"
				   "            \"selinux\": \"z\",\n"
				   "            \"propagation\": \"rshared\"\n"
				   "          }\n"
				   "        },\n"
				   "        {\n"
				   "          \"type\": \"volume\",\n"
				   "          \"source\": \"named\",\n"
				   "          \"target\": \"/sub\",\n"
				   "          \"volume\": {\n"
				   "            \"subpath\": \"a/b\"\n"
				   "          }\n"
				   "        }\n"
				   "      ],\n"
				   "      \"working_dir\": \"/srv\"\n"
				   "    }\n"
				   "  },\n"
				   "  \"volumes\": {\n"
				   "    \"named\": {\n"
				   "      \"name\": \"kitchen_named\",\n"
				   "      \"driver\": \"local\",\n"
				   "      \"driver_opts\": {\n"
				   "        \"device\": \"/tmp\",\n"
				   "        \"o\": \"bind\",\n"
				   "        \"type\": \"none\"\n"
				   "      },\n"
				   "      \"labels\": {\n"
				   "        \"x\": \"y\"\n"
				   "      }\n"
				   "    }\n"
				   "  },\n"
				   "  \"x-top\": {\n"
				   "    \"a\": 1,\n"
				   "    \"b\": [\n"
				   "      \"x\",\n"
				   "      \"y\"\n"
				   "    ]\n"
				   "  }\n"
				   "}";

/* ---- a project using most of what the model holds (see the expected texts) --------- */

static struct compose_build web_build = {
    .context = S("/srv/kitchen/app"),
    .dockerfile = S("Dockerfile.dev"),
    .args = MAP({S("B"), S("2")}, {S("A"), S("one")}, {S("NOVAL"), NULL}),
    .target = S("dev"),
    .labels = MAP({S("z"), S("1")}, {S("a"), S("2")}),
    .cache_from = STRV(S("a"), S("b")),
    .network = S("host"),
};

static struct compose_mount web_volumes[] = {
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_BIND, .source = S("/srv/kitchen/data"),
     .target = S("/data"), .read_only = true, .bind_create_host_path = true},
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME, .source = S("named"), .target = S("/named"),
     .volume_nocopy = true, .volume_options = true},
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME, .target = S("/anon"), .volume_options = true},
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_TMPFS, .target = S("/run"), .tmpfs_size = 1000000,
     .tmpfs_mode = 01777},
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_BIND, .source = S("/srv/kitchen/x"), .target = S("/x"),
     .bind_propagation = S("rshared"), .bind_selinux = S("z")},
    {MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME, .source = S("named"), .target = S("/sub"),
     .volume_subpath = S("a/b"), .volume_options = true},
};

static struct compose_port web_ports[] = {
    {.target = 80, .published = S("8080"), .protocol = S("tcp"), .mode = S("ingress")},
    {.target = 9000,
     .published = S("9000"),
     .host_ip = S("127.0.0.1"),
     .protocol = S("udp"),
     .mode = S("ingress")},
    {.name = S("https"),
     .target = 443,
     .published = S("8443"),
     .protocol = S("tcp"),
     .mode = S("host"),
     .app_protocol = S("http2")},
    {.target = 5000, .protocol = S("tcp"), .mode = S("ingress")},
};

static struct compose_service_network web_networks[] = {
    {.key = S("front"),
     .aliases = STRV(S("w1"), S("w2")),
     .ipv4_address = S("172.16.0.5"),
     .priority = 10},
    {.key = S("default")},
};

static struct compose_watch web_watch[] = {
    {.action = COMPOSE_WATCH_SYNC,
     .path = S("/srv/kitchen/src"),
     .target = S("/app/src"),
     .ignore = STRV(S("node_modules/"))},
    {.action = COMPOSE_WATCH_REBUILD, .path = S("/srv/kitchen/package.json")},
};

static struct compose_service kitchen_services[] = {
    /* deliberately not sorted: the printer sorts (Go maps) */
    {
	SERVICE_UNSET,
	.name = S("web"),
	.image = S("nginx:1.25"),
	.build = &web_build,
	.has_command = true,
	.command = STRV(S("echo"), S("hello world"), S("a&b <c>")),
	.has_entrypoint = true,
	.entrypoint = STRV(S("/bin/sh"), S("-c")),
	.environment = MAP({S("ZED"), S("1")}, {S("ALPHA"), NULL}, {S("EMPTY"), S("")},
			   {S("YES"), S("yes")}, {S("MULTI"), S("line1\nline2")}),
	.working_dir = S("/srv"),
	.user = S("1000:1000"),
	.container_name = S("webby"),
	.hostname = S("webhost"),
	.init = 0,
	.tty = 1,
	.stdin_open = 1,
	.read_only = 1,
	.privileged = 1,
	.ports = web_ports,
	.nports = NELEM(web_ports),
	.expose = STRV(S("3000")),
	.volumes = web_volumes,
	.nvolumes = NELEM(web_volumes),
	.depends_on = (struct compose_dep[]){{.service = S("db"),
					      .condition = COMPOSE_DEP_HEALTHY,
					      .restart = true,
					      .required = true}},
	.ndepends_on = 1,
	.healthcheck = {.present = true,
			.test = STRV(S("CMD-SHELL"), S("curl -f http://localhost")),
			.interval_ns = 90 * SEC,
			.timeout_ns = 90 * SEC + SEC / 2,
			.start_period_ns = 7200 * SEC,
			.start_interval_ns = SEC / 2,
			.retries = 3},
	.restart = S("unless-stopped"),
	.labels = MAP({S("com.b"), S("2")}, {S("com.a"), S("1")}),
	.networks = web_networks,
	.nnetworks = NELEM(web_networks),
	.pull_policy = S("always"),
	.stop_signal = S("SIGINT"),
	.stop_grace_period_ns = 60 * SEC,
	.extra_hosts = STRV(S("somehost=162.242.195.82"), S("other=1.2.3.4")),
	.watch = web_watch,
	.nwatch = NELEM(web_watch),
    },
    {
	SERVICE_UNSET,
	.name = S("db"),
	.image = S("postgres:15"),
	.healthcheck = {HC_UNSET, .present = true, .disable = true},
	.depends_on =
	    (struct compose_dep[]){{.service = S("cache"), .condition = COMPOSE_DEP_COMPLETED}},
	.ndepends_on = 1,
	.networks = default_net,
	.nnetworks = 1,
    },
    {
	SERVICE_UNSET,
	.name = S("cache"),
	.image = S("redis"),
	.has_command = true,
	.network_mode = S("host"),
	.healthcheck = {HC_UNSET, .present = true, .disable = true, .test = STRV(S("NONE"))},
    },
    {
	SERVICE_UNSET,
	.name = S("later"),
	.image = S("busybox"),
	.profiles = STRV(S("debug")),
	.volumes = (struct compose_mount[]){{MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME,
					     .source = S("unusedvol"), .target = S("/u"),
					     .volume_options = true}},
	.nvolumes = 1,
	.networks = default_net,
	.nnetworks = 1,
    },
};

static struct compose_network kitchen_networks[] = {
    {.key = S("default"), .name = S("kitchen_default"), .enable_ipv6 = -1},
    {.key = S("ext"), .name = S("ext"), .external = true, .enable_ipv6 = -1},
    {.key = S("front"),
     .name = S("kitchen_front"),
     .driver = S("bridge"),
     .driver_opts = MAP({S("com.docker.network.bridge.name"), S("br0")}),
     .internal = true,
     .attachable = true,
     .enable_ipv6 = 1,
     .labels = MAP({S("a"), S("b")})},
};

static struct compose_volume kitchen_volumes[] = {
    {.key = S("named"),
     .name = S("kitchen_named"),
     .driver = S("local"),
     .driver_opts = MAP({S("type"), S("none")}, {S("o"), S("bind")}, {S("device"), S("/tmp")}),
     .labels = MAP({S("x"), S("y")})},
    {.key = S("unusedvol"), .name = S("kitchen_unusedvol")},
};

static struct compose_project kitchen = {
    .name = S("kitchen"),
    .working_dir = S("/srv/kitchen"),
    .services = kitchen_services,
    /* "later" (last) has the profile "debug", off: compose_load would have dropped it */
    .nservices = NELEM(kitchen_services) - 1,
    .networks = kitchen_networks,
    .nnetworks = NELEM(kitchen_networks),
    .volumes = kitchen_volumes,
    .nvolumes = NELEM(kitchen_volumes),
};

/* The json_t parts of the kitchen model: what the loader keeps as written. */
static int kitchen_setup(void **state)
{
	(void)state;
	web_build.other = json_pack("{s:[s]}", "ssh", "default");
	kitchen_services[0].other =
	    json_pack("{s:[{s:s, s:s}], s:[s], s:{s:s, s:{s:s}}}", "secrets", "source", "s1",
		      "target", "/run/secrets/s1", "cap_add", "NET_ADMIN", "logging", "driver",
		      "json-file", "options", "max-size", "1m");
	kitchen_services[0].extensions = json_pack("{s:{s:i, s:s}}", "x-svc", "z", 1, "a", "$HOME");
	kitchen_networks[2].ipam =
	    json_pack("{s:s, s:[{s:s}]}", "driver", "default", "config", "subnet", "172.16.0.0/24");
	kitchen_networks[2].extensions = json_pack("{s:i}", "x-net", 1);
	kitchen.extensions = json_pack("{s:{s:[s, s], s:i}}", "x-top", "b", "x", "y", "a", 1);
	kitchen.other = json_pack("{s:{s:{s:s}, s:{s:s}}}", "secrets", "s1", "environment",
				  "SECRET_ENV", "s2", "environment", "OTHER_ENV");
	return 0;
}

static int kitchen_teardown(void **state)
{
	(void)state;
	json_decref(web_build.other);
	json_decref(kitchen_services[0].other);
	json_decref(kitchen_services[0].extensions);
	json_decref(kitchen_networks[2].ipam);
	json_decref(kitchen_networks[2].extensions);
	json_decref(kitchen.extensions);
	json_decref(kitchen.other);
	kitchen.environment = (struct compose_map){NULL, 0};
	return 0;
}

static void test_example_yaml(void **state)
{
	char *got = print(&example, COMPOSE_FORMAT_YAML);

	(void)state;
	assert_text(got, example_yaml);
	free(got);
}

static void test_example_json(void **state)
{
	char *got = print(&example, COMPOSE_FORMAT_JSON);

	(void)state;
	assert_text(got, example_json);
	free(got);
}

static void test_kitchen_yaml(void **state)
{
	char *got = print(&kitchen, COMPOSE_FORMAT_YAML);

	(void)state;
	assert_text(got, kitchen_yaml);
	free(got);
}

static void test_kitchen_json(void **state)
{
	char *got = print(&kitchen, COMPOSE_FORMAT_JSON);

	(void)state;
	assert_text(got, kitchen_json);
	free(got);
}

/* ---- go-yaml's quoting and encoding/json's escapes, value by value ------------------ */

static const struct {
	const char *value, *yaml, *json;
} quote_cases[] = {
    {"8080:80", "8080:80", "\"8080:80\""},
    {"1:20", "\"1:20\"", "\"1:20\""},
    {"1000:1000", "1000:1000", "\"1000:1000\""},
    {"1.5", "\"1.5\"", "\"1.5\""},
    {"0x1F", "\"0x1F\"", "\"0x1F\""},
    {"2001-12-14", "\"2001-12-14\"", "\"2001-12-14\""},
    {"2001-12-14 21:59:43.10", "\"2001-12-14 21:59:43.10\"", "\"2001-12-14 21:59:43.10\""},
    {"~", "\"~\"", "\"~\""},
    {"null", "\"null\"", "\"null\""},
    {"Null", "\"Null\"", "\"Null\""},
    {"NULL", "\"NULL\"", "\"NULL\""},
    {"", "\"\"", "\"\""},
    {" lead", "' lead'", "\" lead\""},
    {"a: b", "'a: b'", "\"a: b\""},
    {"#x", "'#x'", "\"#x\""},
    {"-", "'-'", "\"-\""},
    {"trail ", "'trail '", "\"trail \""},
    {"yes", "\"yes\"", "\"yes\""},
    {"on", "\"on\"", "\"on\""},
    {"y", "\"y\"", "\"y\""},
    {"n", "\"n\"", "\"n\""},
    {"off", "\"off\"", "\"off\""},
    {"No", "\"No\"", "\"No\""},
    {"true", "\"true\"", "\"true\""},
    {"False", "\"False\"", "\"False\""},
    {"\xc3"
     "\xa9"
     " unicode",
     "\xc3"
     "\xa9"
     " unicode",
     "\"\xc3"
     "\xa9"
     " unicode\""},
    {"it's", "it's", "\"it's\""},
    {"a\tb", "\"a\\tb\"", "\"a\\tb\""},
    {"*star", "'*star'", "\"*star\""},
    {"&amp", "'&amp'", "\"\\u0026amp\""},
    {"@foo", "'@foo'", "\"@foo\""},
    {"%x", "'%x'", "\"%x\""},
    {"`x", "'`x'", "\"`x\""},
    {"key with spaces", "key with spaces", "\"key with spaces\""},
    {"a #b", "'a #b'", "\"a #b\""},
    {"a# b", "a# b", "\"a# b\""},
    {"1e3", "\"1e3\"", "\"1e3\""},
    {".5", "\".5\"", "\".5\""},
    {"+1", "\"+1\"", "\"+1\""},
    {"1_000", "\"1_000\"", "\"1_000\""},
    {"0o17", "\"0o17\"", "\"0o17\""},
    {"017", "\"017\"", "\"017\""},
    {"-.inf", "\"-.inf\"", "\"-.inf\""},
    {".NaN", "\".NaN\"", "\".NaN\""},
    {"<<", "<<", "\"\\u003c\\u003c\""},
    {"=", "=", "\"=\""},
    {"!tag", "'!tag'", "\"!tag\""},
    {"a:b", "a:b", "\"a:b\""},
    {"a:", "'a:'", "\"a:\""},
    {"-a", "-a", "\"-a\""},
    {"- a", "'- a'", "\"- a\""},
    {"? x", "'? x'", "\"? x\""},
    {"?x", "?x", "\"?x\""},
    {":x", ":x", "\":x\""},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxx yyyyyyyyyy",
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxx yyyyyyyyyy",
     "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxx yyyyyyyyyy\""},
    {"word word word word word word word word word word word word word word word word word word "
     "word word word word word word word word word word word word ",
     "'word word word word word word word word word word word word word word word word word word "
     "word word word word word word word word word word word word '",
     "\"word word word word word word word word word word word word word word word word word word "
     "word word word word word word word word word word word word \""},
    {"multi\nline", "|-\n        multi\n        line", "\"multi\\nline\""},
    {"multi\nline\n", "|\n        multi\n        line", "\"multi\\nline\\n\""},
    {"multi\nline\n\n", "|+\n        multi\n        line\n", "\"multi\\nline\\n\\n\""},
    {" lead\nx", "|2-\n         lead\n        x", "\" lead\\nx\""},
    {"x\n lead", "|-\n        x\n         lead", "\"x\\n lead\""},
    {"trail \nx", "\"trail \\nx\"", "\"trail \\nx\""},
    {"\x01"
     "ctl",
     "\"\\x01ctl\"", "\"\\u0001ctl\""},
    {"---", "'---'", "\"---\""},
    {"--- x", "'--- x'", "\"--- x\""},
    {"...", "'...'", "\"...\""},
    {"a,b", "a,b", "\"a,b\""},
    {"[x]", "'[x]'", "\"[x]\""},
    {"{x}", "'{x}'", "\"{x}\""},
    {"x]", "x]", "\"x]\""},
    {"x}", "x}", "\"x}\""},
    {"'q'", "'''q'''", "\"'q'\""},
    {"\"dq\"", "'\"dq\"'", "\"\\\"dq\\\"\""},
    {"a\\b", "a\\b", "\"a\\\\b\""},
    {"tab\t", "\"tab\\t\"", "\"tab\\t\""},
    {"-1", "\"-1\"", "\"-1\""},
    {"0", "\"0\"", "\"0\""},
    {"00", "\"00\"", "\"00\""},
    {"1.", "\"1.\"", "\"1.\""},
    {"1e", "1e", "\"1e\""},
    {"0b101", "\"0b101\"", "\"0b101\""},
    {"+.inf", "\"+.inf\"", "\"+.inf\""},
    {"0.1.2", "0.1.2", "\"0.1.2\""},
    {"12:30:45", "\"12:30:45\"", "\"12:30:45\""},
    {"1:2", "\"1:2\"", "\"1:2\""},
    {"190:20:30.15", "\"190:20:30.15\"", "\"190:20:30.15\""},
    {"\xc2"
     "\xa0"
     "nbsp",
     "\xc2"
     "\xa0"
     "nbsp",
     "\"\xc2"
     "\xa0"
     "nbsp\""},
    {"<tag>", "<tag>", "\"\\u003ctag\\u003e\""},
    {"a&b", "a&b", "\"a\\u0026b\""},
    {"$HOME", "$$HOME", "\"$$HOME\""},
};

static void test_scalar_quoting(void **state)
{
	struct compose_kv kv[NELEM(quote_cases)];
	char keys[NELEM(quote_cases)][8];
	struct compose_service svc = {SERVICE_UNSET, .name = S("s"), .image = S("x")};
	struct compose_project p = {.name = S("q"), .services = &svc, .nservices = 1};
	struct px_buf want_yaml = PX_BUF_INIT, want_json = PX_BUF_INIT;
	char *got;

	(void)state;
	px_buf_adds(&want_yaml, "name: q\nservices:\n  s:\n    image: x\n    labels:\n");
	px_buf_adds(&want_json, "{\n  \"name\": \"q\",\n  \"services\": {\n    \"s\": {\n"
				"      \"command\": null,\n      \"entrypoint\": null,\n"
				"      \"image\": \"x\",\n      \"labels\": {\n");
	for (size_t i = 0; i < NELEM(quote_cases); i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%03zu", i);
		kv[i] = (struct compose_kv){keys[i], S(quote_cases[i].value)};
		px_buf_addf(&want_yaml, "      %s: %s\n", keys[i], quote_cases[i].yaml);
		px_buf_addf(&want_json, "        \"%s\": %s%s\n", keys[i], quote_cases[i].json,
			    i + 1 < NELEM(quote_cases) ? "," : "");
	}
	px_buf_adds(&want_json, "      }\n    }\n  }\n}");
	svc.labels = (struct compose_map){kv, NELEM(kv)};

	got = print(&p, COMPOSE_FORMAT_YAML);
	assert_text(got, px_buf_cstr(&want_yaml));
	free(got);
	got = print(&p, COMPOSE_FORMAT_JSON);
	assert_text(got, px_buf_cstr(&want_json));
	free(got);
	px_buf_release(&want_yaml);
	px_buf_release(&want_json);
}

/* Keys are quoted by the same rules as values (go-yaml: a key "YES" or "n" would read
 * back as a boolean). */
static void test_key_quoting(void **state)
{
	struct compose_service svc = {
	    SERVICE_UNSET,
	    .name = S("n"),
	    .environment = MAP({S("n"), S("1")}, {S("on"), S("x")}, {S("1.5"), S("y")},
			       {S("a b"), S("z")}, {S("a: b"), S("w")}),
	};
	struct compose_project p = {.name = S("yes"), .services = &svc, .nservices = 1};
	char *got = print(&p, COMPOSE_FORMAT_YAML);

	(void)state;
	assert_text(got, "name: \"yes\"\n"
			 "services:\n"
			 "  \"n\":\n"
			 "    environment:\n"
			 "      \"1.5\": \"y\"\n"
			 "      a b: z\n"
			 "      'a: b': w\n"
			 "      \"n\": \"1\"\n"
			 "      \"on\": x\n");
	free(got);
}

/* ---- Go's time.Duration.String() ------------------------------------------------------ */

static const struct {
	int64_t ns;
	const char *want;
} duration_cases[] = {
    {0, "0s"},
    {1, "1ns"},
    {999, "999ns"},
    {1000, "1\xc2\xb5s"},
    {1500, "1.5\xc2\xb5s"},
    {1000000, "1ms"},
    {1500000, "1.5ms"},
    {500 * 1000000LL, "500ms"},
    {999999999, "999.999999ms"},
    {SEC, "1s"},
    {SEC + 1, "1.000000001s"},
    {10 * SEC, "10s"},
    {60 * SEC, "1m0s"},
    {90 * SEC, "1m30s"},
    {90 * SEC + SEC / 2, "1m30.5s"},
    {3600 * SEC, "1h0m0s"},
    {3723 * SEC, "1h2m3s"},
    {7200 * SEC, "2h0m0s"},
    {25 * 3600 * SEC + SEC / 4, "25h0m0.25s"},
};

static void test_durations(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(duration_cases); i++) {
		struct compose_service svc = {SERVICE_UNSET, .name = S("s"),
					      .stop_grace_period_ns = duration_cases[i].ns};
		struct compose_project p = {.name = S("d"), .services = &svc, .nservices = 1};
		char *got = print(&p, COMPOSE_FORMAT_YAML), want[128];

		snprintf(want, sizeof(want),
			 "name: d\nservices:\n  s:\n    stop_grace_period: %s\n",
			 duration_cases[i].want);
		if (strcmp(got, want) != 0)
			fail_msg("%lld ns: got\n%s\nwant\n%s", (long long)duration_cases[i].ns, got,
				 want);
		free(got);
	}
}

/* Floats (in extensions and keys prisync does not model) as go-yaml and encoding/json
 * print them, which is neither jansson's nor printf's way. */
static void test_floats(void **state)
{
	struct compose_project p = {.name = S("f")};
	char *got;

	(void)state;
	p.extensions =
	    json_pack("{s:[f, f, f, f, f, f, f, f, f, f]}", "x-a", 1000000.0, 1234567.0, 123456.5,
		      0.0001, 0.00001, 1.5e-7, 1e21, 0.30000000000000004, 100.0, -2.5);
	got = print(&p, COMPOSE_FORMAT_YAML);
	assert_text(got, "name: f\nservices: {}\nx-a:\n  - 1e+06\n  - 1.234567e+06\n  - 123456.5\n"
			 "  - 0.0001\n  - 1e-05\n  - 1.5e-07\n  - 1e+21\n  - 0.30000000000000004\n"
			 "  - 100\n  - -2.5\n");
	free(got);
	got = print(&p, COMPOSE_FORMAT_JSON);
	assert_text(got, "{\n  \"name\": \"f\",\n  \"services\": {},\n  \"x-a\": [\n    1000000,\n"
			 "    1234567,\n    123456.5,\n    0.0001,\n    0.00001,\n    1.5e-7,\n"
			 "    1e+21,\n    0.30000000000000004,\n    100,\n    -2.5\n  ]\n}");
	free(got);
	json_decref(p.extensions);
}

/* ---- profiles, --services, --volumes --------------------------------------------------- */

static char *print_list(const struct compose_project *p, bool volumes)
{
	struct px_error err = PX_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc;

	assert_non_null(out);
	rc = volumes ? compose_print_volumes(out, p, &err) : compose_print_services(out, p, &err);
	if (rc != 0)
		fail_msg("print list: %s", px_error_msg(&err));
	fclose(out);
	return text;
}

static void test_services_and_volumes(void **state)
{
	char *got;

	(void)state;
	/* dependencies first (cache <- db <- web), profile "debug" off */
	got = print_list(&kitchen, false);
	assert_text(got, "cache\ndb\nweb\n");
	free(got);
	got = print_list(&kitchen, true);
	assert_text(got, "named\n");
	free(got);

	/* with "debug" on, the loader keeps "later": it is printed, and the volume it uses */
	kitchen.nservices = NELEM(kitchen_services);
	got = print_list(&kitchen, false);
	assert_text(got, "cache\ndb\nlater\nweb\n");
	free(got);
	got = print_list(&kitchen, true);
	assert_text(got, "named\nunusedvol\n");
	free(got);
	got = print(&kitchen, COMPOSE_FORMAT_YAML);
	assert_non_null(
	    strstr(got, "  later:\n    profiles:\n      - debug\n    image: busybox\n"));
	assert_non_null(strstr(got, "\n  unusedvol:\n    name: kitchen_unusedvol\n"));
	free(got);

	kitchen.nservices = NELEM(kitchen_services) - 1;
}

/* Dependencies first, the lowest name among the ready ones; a cycle does not hang. */
static void test_services_order(void **state)
{
#define DEP(n)                                                                                     \
	{                                                                                          \
		.service = S(n), .condition = COMPOSE_DEP_STARTED, .required = true                \
	}
	struct compose_service svcs[] = {
	    {SERVICE_UNSET, .name = S("a"), .depends_on = (struct compose_dep[]){DEP("e")},
	     .ndepends_on = 1},
	    {SERVICE_UNSET, .name = S("b")},
	    {SERVICE_UNSET, .name = S("c"),
	     .depends_on = (struct compose_dep[]){DEP("a"), DEP("b")}, .ndepends_on = 2},
	    {SERVICE_UNSET, .name = S("d"), .depends_on = (struct compose_dep[]){DEP("b")},
	     .ndepends_on = 1},
	    {SERVICE_UNSET, .name = S("e")},
	    {SERVICE_UNSET, .name = S("x"), .depends_on = (struct compose_dep[]){DEP("y")},
	     .ndepends_on = 1},
	    {SERVICE_UNSET, .name = S("y"), .depends_on = (struct compose_dep[]){DEP("x")},
	     .ndepends_on = 1},
	};
#undef DEP
	struct compose_project p = {.name = S("o"), .services = svcs, .nservices = NELEM(svcs)};
	char *got = print_list(&p, false);

	(void)state;
	assert_text(got, "b\nd\ne\na\nc\nx\ny\n");
	free(got);
}

/* Without a volume: block, a long-syntax volume mount prints none; an unused network
 * and volume are not printed; services: {} when there are none. */
static void test_edges(void **state)
{
	struct compose_service svc = {
	    SERVICE_UNSET,
	    .name = S("a"),
	    .volumes = (struct compose_mount[]){{MOUNT_UNSET, .type = COMPOSE_MOUNT_VOLUME,
						 .source = S("v"), .target = S("/v")}},
	    .nvolumes = 1,
	};
	struct compose_volume vols[] = {{.key = S("v"), .name = S("e_v")},
					{.key = S("w"), .name = S("e_w")}};
	struct compose_network nets[] = {
	    {.key = S("default"), .name = S("e_default"), .enable_ipv6 = -1}};
	struct compose_project p = {.name = S("e"),
				    .services = &svc,
				    .nservices = 1,
				    .networks = nets,
				    .nnetworks = 1,
				    .volumes = vols,
				    .nvolumes = 2};
	char *got = print(&p, COMPOSE_FORMAT_YAML);

	(void)state;
	assert_text(got, "name: e\n"
			 "services:\n"
			 "  a:\n"
			 "    volumes:\n"
			 "      - type: volume\n"
			 "        source: v\n"
			 "        target: /v\n"
			 "volumes:\n"
			 "  v:\n"
			 "    name: e_v\n");
	free(got);
	p.nservices = 0;
	got = print(&p, COMPOSE_FORMAT_YAML);
	assert_text(got, "name: e\nservices: {}\n");
	free(got);
	got = print(&p, COMPOSE_FORMAT_JSON);
	assert_text(got, "{\n  \"name\": \"e\",\n  \"services\": {}\n}");
	free(got);
}

/* A write error is reported, not swallowed. */
static void test_write_error(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	FILE *full = fopen("/dev/full", "w");

	(void)state;
	if (full == NULL)
		skip();
	assert_int_equal(compose_print(full, &example, COMPOSE_FORMAT_YAML, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "cannot write"));
	px_error_clear(&err);
	fclose(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_yaml),
	    cmocka_unit_test(test_example_json),
	    cmocka_unit_test_setup_teardown(test_kitchen_yaml, kitchen_setup, kitchen_teardown),
	    cmocka_unit_test_setup_teardown(test_kitchen_json, kitchen_setup, kitchen_teardown),
	    cmocka_unit_test(test_scalar_quoting),
	    cmocka_unit_test(test_key_quoting),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_floats),
	    cmocka_unit_test_setup_teardown(test_services_and_volumes, kitchen_setup,
					    kitchen_teardown),
	    cmocka_unit_test(test_services_order),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests_name("compose_print", tests, NULL, NULL);
}
