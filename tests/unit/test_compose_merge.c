/* test_compose_merge.c - merging compose trees as compose-go does: the rules per path of
 * its override package, !reset / !override, and the deduplicated sequences.  Most table
 * rows are compose-go's own test cases (override/merge_*_test.go, override/uncity_test.go,
 * loader/merge_test.go, loader/merge_reset_test.go, loader/reset_test.go), written in the
 * canonical form our merge sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/merge.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct cnode *parse1(struct cnode_arena *a, const char *file, const char *text)
{
	struct cnode **docs;
	size_t n;
	struct px_error err = PX_ERROR_INIT;

	if (cnode_parse(a, file, text, strlen(text), NULL, &docs, &n, &err) < 0)
		fail_msg("cannot parse %s: %s", file, px_error_msg(&err));
	assert_int_equal(n, 1);
	return docs[0];
}

/* Flow-style rendering, for failure messages. */
static void dump(struct px_buf *b, const struct cnode *n)
{
	switch (n->kind) {
	case CNODE_SCALAR:
		if (cnode_is_null(n))
			px_buf_adds(b, "~");
		else
			px_buf_addf(b, n->quoted ? "'%s'" : "%s", n->value);
		return;
	case CNODE_SEQ:
		px_buf_addch(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				px_buf_adds(b, ", ");
			dump(b, n->items[i]);
		}
		px_buf_addch(b, ']');
		return;
	case CNODE_MAP:
		px_buf_addch(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				px_buf_adds(b, ", ");
			px_buf_addf(b, "%s: ", cnode_key(n, i)->value);
			dump(b, cnode_val(n, i));
		}
		px_buf_addch(b, '}');
		return;
	}
}

static void assert_tree_equal(const char *name, const struct cnode *got, const struct cnode *want)
{
	struct px_buf g = PX_BUF_INIT, w = PX_BUF_INIT;

	if (compose_node_equal(got, want))
		return;
	dump(&g, got);
	dump(&w, want);
	fail_msg("%s:\n got  %s\n want %s", name, px_buf_cstr(&g), px_buf_cstr(&w));
}

/* The value at a dotted path of a mapping tree (no key holds a dot here). */
static const struct cnode *at(const struct cnode *n, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k != NULL && n != NULL;
	     k = strtok_r(NULL, ".", &save))
		n = cnode_map_get(n, k);
	free(copy);
	return n;
}

/* ---- the table: base, override, expected ------------------------------------------------ */

struct merge_case {
	const char *name;
	const char *base, *override, *want;
};

static const struct merge_case merge_cases[] = {
    /* plain rules: mappings merge, scalars are replaced, new keys are added */
    {"scalar replaced, new service added", "services:\n  a:\n    image: foo\n    user: root\n",
     "services:\n  a:\n    image: bar\n  b:\n    image: qix\n",
     "services:\n  a:\n    image: bar\n    user: root\n  b:\n    image: qix\n"},
    {"null override keeps the base value",
     "services:\n  a:\n    image: foo\n    working_dir: /app\n",
     "services:\n  a:\n    working_dir:\n",
     "services:\n  a:\n    image: foo\n    working_dir: /app\n"},
    {"generic sequences append (security_opt)", "services:\n  a:\n    security_opt: [label=a]\n",
     "services:\n  a:\n    security_opt: [label=b]\n",
     "services:\n  a:\n    security_opt: [label=a, label=b]\n"},
    /* override/merge_environment_test.go */
    {"environment sequence",
     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=BAR\n",
     "services:\n  test:\n    environment:\n      - QIX=ZOT\n      - EMPTY=\n      - NIL\n",
     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=BAR\n      - QIX=ZOT\n"
     "      - EMPTY=\n      - NIL\n"},
    {"environment mapping",
     "services:\n  test:\n    image: foo\n    environment:\n      FOO: BAR\n",
     "services:\n  test:\n    environment:\n      EMPTY: \"\"\n      NIL: null\n      QIX: ZOT\n",
     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=BAR\n      - EMPTY=\n"
     "      - NIL\n      - QIX=ZOT\n"},
    {"environment mixed", "services:\n  test:\n    image: foo\n    environment:\n      FOO: BAR\n",
     "services:\n  test:\n    environment:\n      - QIX=ZOT\n",
     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=BAR\n      - QIX=ZOT\n"},
    {"environment: the override's value wins at the base's place",
     "services:\n  test:\n    environment:\n      A: 1\n      B: 2\n",
     "services:\n  test:\n    environment:\n      A: 3\n",
     "services:\n  test:\n    environment:\n      - A=3\n      - B=2\n"},
    /* override/merge_labels_test.go */
    {"labels sequence", "services:\n  test:\n    image: foo\n    labels:\n      - FOO=BAR\n",
     "services:\n  test:\n    labels:\n      - QIX=ZOT\n      - EMPTY=\n      - NIL\n",
     "services:\n  test:\n    image: foo\n    labels:\n      - FOO=BAR\n      - QIX=ZOT\n"
     "      - EMPTY=\n      - NIL\n"},
    {"labels mapping", "services:\n  test:\n    image: foo\n    labels:\n      FOO: BAR\n",
     "services:\n  test:\n    labels:\n      EMPTY: \"\"\n      NIL: null\n      QIX: ZOT\n",
     "services:\n  test:\n    image: foo\n    labels:\n      - FOO=BAR\n      - EMPTY=\n      - "
     "NIL\n"
     "      - QIX=ZOT\n"},
    {"labels number", "services:\n  test:\n    labels:\n      FOO: 1\n",
     "services:\n  test:\n    labels:\n      FOO: 3\n",
     "services:\n  test:\n    labels:\n      - FOO=3\n"},
    /* override/merge_logging_test.go and loader/merge_test.go TestLoadLogging */
    {"logging same driver merges options",
     "services:\n  test:\n    image: foo\n    logging:\n      driver: syslog\n      options:\n"
     "        syslog-address: \"tcp://192.168.0.42:123\"\n",
     "services:\n  test:\n    logging:\n      driver: syslog\n      options:\n"
     "        syslog-address: \"tcp://127.0.0.1:123\"\n",
     "services:\n  test:\n    image: foo\n    logging:\n      driver: syslog\n      options:\n"
     "        syslog-address: \"tcp://127.0.0.1:123\"\n"},
    {"logging distinct driver replaces options",
     "services:\n  test:\n    image: foo\n    logging:\n      driver: local\n      options:\n"
     "        max-size: \"10m\"\n",
     "services:\n  test:\n    logging:\n      driver: syslog\n      options:\n"
     "        syslog-address: \"tcp://127.0.0.1:123\"\n",
     "services:\n  test:\n    image: foo\n    logging:\n      driver: syslog\n      options:\n"
     "        syslog-address: \"tcp://127.0.0.1:123\"\n"},
    {"logging implicit driver merges",
     "services:\n  test:\n    image: foo\n    logging:\n      options:\n        max-size: "
     "\"10m\"\n",
     "services:\n  test:\n    logging:\n      options:\n        max-file: 3\n",
     "services:\n  test:\n    image: foo\n    logging:\n      options:\n        max-size: \"10m\"\n"
     "        max-file: 3\n"},
    {"logging no base driver",
     "services:\n  foo:\n    logging:\n      options:\n        frequency: 2000\n        timeout: "
     "23\n",
     "services:\n  foo:\n    logging:\n      driver: json-file\n      options:\n        timeout: "
     "360\n"
     "        pretty-print: on\n",
     "services:\n  foo:\n    logging:\n      driver: json-file\n      options:\n        frequency: "
     "2000\n"
     "        timeout: 360\n        pretty-print: on\n"},
    {"logging override driver without options",
     "services:\n  foo:\n    logging:\n      driver: json-file\n      options:\n        frequency: "
     "2000\n",
     "services:\n  foo:\n    logging:\n      driver: syslog\n",
     "services:\n  foo:\n    logging:\n      driver: syslog\n"},
    {"logging no base", "services:\n  foo:\n    image: foo\n",
     "services:\n  foo:\n    logging:\n      driver: json-file\n      options:\n        frequency: "
     "2000\n",
     "services:\n  foo:\n    image: foo\n    logging:\n      driver: json-file\n      options:\n"
     "        frequency: 2000\n"},
    /* replaced, never merged */
    {"command, entrypoint and healthcheck.test are replaced",
     "services:\n  a:\n    command: [npm, start]\n    entrypoint: [/init]\n"
     "    healthcheck:\n      test: [CMD, curl, -f, http://x]\n      retries: 3\n",
     "services:\n  a:\n    command: [npm, run, dev]\n    entrypoint: [/bin/sh, -c]\n"
     "    healthcheck:\n      test: [CMD-SHELL, exit 0]\n",
     "services:\n  a:\n    command: [npm, run, dev]\n    entrypoint: [/bin/sh, -c]\n"
     "    healthcheck:\n      test: [CMD-SHELL, exit 0]\n      retries: 3\n"},
    {"an empty command replaces the base's", "services:\n  a:\n    command: [npm, start]\n",
     "services:\n  a:\n    command: []\n", "services:\n  a:\n    command: []\n"},
    {"x-* keys are replaced, not merged",
     "x-common:\n  a: 1\n  b: 2\nservices:\n  s:\n    x-mine:\n      keep: 1\n",
     "x-common:\n  c: 3\nservices:\n  s:\n    x-mine:\n      other: 2\n",
     "x-common:\n  c: 3\nservices:\n  s:\n    x-mine:\n      other: 2\n"},
    /* override/merge_ulimits_test.go, loader/merge_test.go TestLoadMultipleUlimits */
    {"ulimits are replaced per name",
     "services:\n  test:\n    ulimits:\n      nofile: {soft: 20000, hard: 40000}\n      nproc: "
     "65535\n"
     "      locks: {soft: 20000, hard: 40000}\n",
     "services:\n  test:\n    ulimits:\n      nofile: {soft: 10000, hard: 40000}\n"
     "      nproc: {soft: 65535}\n      locks: {hard: 65535}\n",
     "services:\n  test:\n    ulimits:\n      nofile: {soft: 10000, hard: 40000}\n"
     "      nproc: {soft: 65535}\n      locks: {hard: 65535}\n"},
    {"ulimits in a different notation",
     "services:\n  foo:\n    ulimits:\n      nofile: {soft: 11111, hard: 99999}\n      noproc: "
     "44444\n",
     "services:\n  foo:\n    ulimits:\n      nofile: 55555\n      noproc: {soft: 22222, hard: "
     "33333}\n",
     "services:\n  foo:\n    ulimits:\n      nofile: 55555\n      noproc: {soft: 22222, hard: "
     "33333}\n"},
    /* override/merge_networks_test.go (service networks canonical: mappings) */
    {"service networks by name",
     "services:\n  test:\n    image: foo\n    networks:\n      front-network:\n      "
     "back-network:\n",
     "services:\n  test:\n    networks:\n      front-network:\n",
     "services:\n  test:\n    image: foo\n    networks:\n      front-network:\n      "
     "back-network:\n"},
    {"service networks mapping: aliases deduplicated",
     "services:\n  test:\n    image: foo\n    networks:\n      network1:\n        aliases: "
     "[alias1, alias2]\n"
     "        link_local_ips: [57.123.22.11, 57.123.22.13]\n      network2:\n"
     "        aliases: [alias1, alias3]\n",
     "services:\n  test:\n    networks:\n      network1:\n        aliases: [alias3, alias1]\n"
     "        link_local_ips: [57.123.22.12, 57.123.22.13]\n",
     "services:\n  test:\n    image: foo\n    networks:\n      network1:\n"
     "        aliases: [alias1, alias2, alias3]\n"
     "        link_local_ips: [57.123.22.11, 57.123.22.13, 57.123.22.12]\n      network2:\n"
     "        aliases: [alias1, alias3]\n"},
    {"service networks: a list onto a mapping",
     "services:\n  test:\n    networks: [front-network, back-network, network1]\n",
     "services:\n  test:\n    networks:\n      network1:\n        aliases: [alias1]\n      "
     "network2:\n",
     "services:\n  test:\n    networks:\n      front-network:\n      back-network:\n      "
     "network1:\n"
     "        aliases: [alias1]\n      network2:\n"},
    {"top-level networks: ipam config by subnet, labels, options",
     "networks:\n  network1:\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n"
     "          ip_range: 172.28.5.0/24\n          gateway: 172.28.5.254\n          "
     "aux_addresses:\n"
     "            host1: 172.28.1.5\n            host2: 172.28.1.6\n            host3: 172.28.1.7\n"
     "      options:\n        foo: bar\n        baz: \"0\"\n    labels:\n"
     "      com.example.description: \"Financial transaction network\"\n"
     "      com.example.department: \"Finance\"\n      com.example.label-with-empty-value: \"\"\n",
     "networks:\n  network1:\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n"
     "          ip_range: 172.28.5.1/24\n          gateway: 172.28.5.254\n          "
     "aux_addresses:\n"
     "            host1: 172.28.1.5\n            host2: 172.28.1.4\n            host4: "
     "172.28.1.10\n"
     "        - subnet: 172.28.10.0/16\n          ip_range: 172.28.10.1/24\n"
     "          gateway: 172.28.10.254\n          aux_addresses:\n            host1: 172.28.10.5\n"
     "            host2: 172.28.10.4\n            host3: 172.28.10.10\n      options:\n"
     "        bar: foo\n        baz: \"0\"\n    labels:\n      - "
     "\"com.example.department-new=New\"\n"
     "      - \"com.example.description=Financial transaction network\"\n"
     "      - \"com.example.label-with-empty-value=\"\n  network2:\n",
     "networks:\n  network1:\n    ipam:\n      config:\n        - subnet: 172.28.0.0/16\n"
     "          ip_range: 172.28.5.1/24\n          gateway: 172.28.5.254\n          "
     "aux_addresses:\n"
     "            host1: 172.28.1.5\n            host2: 172.28.1.4\n            host3: 172.28.1.7\n"
     "            host4: 172.28.1.10\n        - subnet: 172.28.10.0/16\n"
     "          ip_range: 172.28.10.1/24\n          gateway: 172.28.10.254\n          "
     "aux_addresses:\n"
     "            host1: 172.28.10.5\n            host2: 172.28.10.4\n            host3: "
     "172.28.10.10\n"
     "      options:\n        foo: bar\n        bar: foo\n        baz: \"0\"\n    labels:\n"
     "      - \"com.example.department=Finance\"\n"
     "      - \"com.example.description=Financial transaction network\"\n"
     "      - \"com.example.label-with-empty-value=\"\n      - \"com.example.department-new=New\"\n"
     "  network2:\n"},
    /* override/merge_null_test.go */
    {"null networks override keeps the base",
     "services:\n  test:\n    image: foo\n    networks:\n      runtime:\n",
     "services:\n  test:\n    networks: null\n",
     "services:\n  test:\n    image: foo\n    networks:\n      runtime:\n"},
    {"null depends_on base takes the override, list form made long",
     "services:\n  test:\n    image: foo\n    depends_on: null\n",
     "services:\n  test:\n    depends_on: [runtime]\n",
     "services:\n  test:\n    image: foo\n    depends_on:\n"
     "      runtime: {condition: service_started, required: true}\n"},
    {"depends_on merges by service",
     "services:\n  app:\n    depends_on:\n      db: {condition: service_healthy, required: true}\n"
     "      cache: {condition: service_started, required: true}\n",
     "services:\n  app:\n    depends_on:\n      db: {condition: service_started, restart: true}\n"
     "      queue: {condition: service_started, required: false}\n",
     "services:\n  app:\n    depends_on:\n"
     "      db: {condition: service_started, required: true, restart: true}\n"
     "      cache: {condition: service_started, required: true}\n"
     "      queue: {condition: service_started, required: false}\n"},
    /* override/merge_build_test.go (extra_hosts left out: its rule changed since) */
    {"build sequences",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        - FOO=BAR\n"
     "      additional_contexts:\n        - resources=/path/to/resources\n"
     "        - app=docker-image://my-app:latest\n      platform:\n        - linux/amd64\n"
     "      tags:\n        - \"myimage:mytag\"\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        - GIT_COMMIT=cdc3b19\n"
     "        - EMPTY=\n        - NIL\n      additional_contexts:\n"
     "        - source=https://github.com/myuser/project.git\n      platform:\n"
     "        - \"linux/arm64\"\n        - \"linux/amd64\"\n        - \"unsupported/unsupported\"\n"
     "      tags:\n        - \"myimage:mytag\"\n        - "
     "\"registry/username/myrepos:my-other-tag\"\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        - FOO=BAR\n"
     "        - GIT_COMMIT=cdc3b19\n        - EMPTY=\n        - NIL\n      additional_contexts:\n"
     "        - resources=/path/to/resources\n        - app=docker-image://my-app:latest\n"
     "        - source=https://github.com/myuser/project.git\n      platform:\n"
     "        - \"linux/amd64\"\n        - \"linux/arm64\"\n        - \"unsupported/unsupported\"\n"
     "      tags:\n        - \"myimage:mytag\"\n        - "
     "\"registry/username/myrepos:my-other-tag\"\n"},
    {"build args mapping",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        FOO: BAR\n"
     "      additional_contexts:\n        source: https://github.com/myuser/project.git\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        EMPTY: \"\"\n        "
     "NIL: null\n"
     "        QIX: ZOT\n      additional_contexts:\n        app: docker-image://my-app:latest\n"
     "        resources: /path/to/resources\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n       - FOO=BAR\n       - "
     "EMPTY=\n"
     "       - NIL\n       - QIX=ZOT\n      additional_contexts:\n"
     "        - source=https://github.com/myuser/project.git\n"
     "        - app=docker-image://my-app:latest\n        - resources=/path/to/resources\n"},
    {"build args mixed",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        FOO: BAR\n"
     "      additional_contexts:\n        - resources=/path/to/resources\n"
     "        - app=docker-image://my-app:latest\n      platform: linux/amd64\n      tags:\n"
     "        - \"myimage:mytag\"\n",
     "services:\n  test:\n    build:\n      args:\n        - QIX=ZOT\n      additional_contexts:\n"
     "        app: docker-image://new-app:latest\n        source: "
     "https://github.com/myuser/project.git\n"
     "      tags:\n        - \"registry/username/myrepos:my-other-tag\"\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        - FOO=BAR\n        - "
     "QIX=ZOT\n"
     "      additional_contexts:\n        - resources=/path/to/resources\n"
     "        - app=docker-image://new-app:latest\n        - "
     "source=https://github.com/myuser/project.git\n"
     "      platform: linux/amd64\n      tags:\n        - \"myimage:mytag\"\n"
     "        - \"registry/username/myrepos:my-other-tag\"\n"},
    {"build args number",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        FOO: 1\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n        FOO: 3\n",
     "services:\n  test:\n    build:\n      context: .\n      args:\n       - FOO=3\n"},
    {"build as a string onto a mapping",
     "services:\n  test:\n    build:\n      context: .\n      dockerfile: Dockerfile.dev\n",
     "services:\n  test:\n    build: ./other\n",
     "services:\n  test:\n    build:\n      context: ./other\n      dockerfile: Dockerfile.dev\n"},
    /* override/merge_extra_hosts_test.go */
    {"extra_hosts sequence",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      - example.com=1.2.3.4\n",
     "services:\n  test:\n    extra_hosts:\n      - localhost=127.0.0.1\n      - "
     "example.com=1.2.3.4\n"
     "      - example.com=4.3.2.1\n",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      - example.com=1.2.3.4\n"
     "      - localhost=127.0.0.1\n      - example.com=4.3.2.1\n"},
    {"extra_hosts mapping",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      \"example.com\": \"1.2.3.4\"\n",
     "services:\n  test:\n    extra_hosts:\n      \"localhost\": \"127.0.0.1\"\n"
     "      \"example.com\": [\"1.2.3.4\", \"4.3.2.1\"]\n",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      - example.com=1.2.3.4\n"
     "      - example.com=4.3.2.1\n      - localhost=127.0.0.1\n"},
    {"extra_hosts mixed",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      \"example.com\": \"1.2.3.4\"\n",
     "services:\n  test:\n    extra_hosts:\n      - localhost=127.0.0.1\n      - "
     "example.com=1.2.3.4\n"
     "      - example.com=4.3.2.1\n",
     "services:\n  test:\n    image: foo\n    extra_hosts:\n      - example.com=1.2.3.4\n"
     "      - localhost=127.0.0.1\n      - example.com=4.3.2.1\n"},
    /* override/merge_env_file_test.go (canonical env_file: path + required) */
    {"env_file sequences, deduplicated by path",
     "services:\n  test:\n    env_file:\n      - {path: foo.env, required: true}\n",
     "services:\n  test:\n    env_file:\n      - {path: bar.env, required: true}\n"
     "      - {path: foo.env, required: false}\n",
     "services:\n  test:\n    env_file:\n      - {path: foo.env, required: false}\n"
     "      - {path: bar.env, required: true}\n"},
    {"env_file strings", "services:\n  test:\n    image: foo\n    env_file: foo.env\n",
     "services:\n  test:\n    env_file: bar.env\n",
     "services:\n  test:\n    image: foo\n    env_file:\n      - foo.env\n      - bar.env\n"},
    /* override/merge_volumes_test.go + volumes by target */
    {"volumes append",
     "services:\n  test:\n    image: foo\n    volumes:\n      - {type: volume, source: a, target: "
     "/a}\n"
     "      - {type: bind, source: ./b, target: /b}\n",
     "services:\n  test:\n    volumes:\n      - {type: volume, source: c, target: /c}\n",
     "services:\n  test:\n    image: foo\n    volumes:\n      - {type: volume, source: a, target: "
     "/a}\n"
     "      - {type: bind, source: ./b, target: /b}\n      - {type: volume, source: c, target: "
     "/c}\n"},
    {"volumes: one per target, the override's wins",
     "services:\n  test:\n    volumes:\n      - {type: bind, source: ./src, target: /app}\n"
     "      - {type: volume, source: data, target: /data}\n",
     "services:\n  test:\n    volumes:\n      - {type: bind, source: ./other, target: /app, "
     "read_only: true}\n",
     "services:\n  test:\n    volumes:\n"
     "      - {type: bind, source: ./other, target: /app, read_only: true}\n"
     "      - {type: volume, source: data, target: /data}\n"},
    /* loader/merge_test.go TestLoadMultipleServicePorts, in canonical form */
    {"ports: different published ports both kept",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: tcp}\n",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8081\", "
     "protocol: tcp}\n",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: tcp}\n"
     "      - {mode: ingress, target: 80, published: \"8081\", protocol: tcp}\n"},
    {"ports: distinct protocols both kept",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: tcp}\n",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: udp}\n",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: tcp}\n"
     "      - {mode: ingress, target: 80, published: \"8080\", protocol: udp}\n"},
    {"ports: the same port once, defaults count",
     "services:\n  foo:\n    ports:\n      - {mode: ingress, target: 80, published: \"8080\", "
     "protocol: tcp}\n"
     "      - {mode: ingress, target: 5000}\n",
     "services:\n  foo:\n    ports:\n"
     "      - {mode: host, host_ip: 0.0.0.0, target: 80, published: \"8080\"}\n",
     "services:\n  foo:\n    ports:\n"
     "      - {mode: host, host_ip: 0.0.0.0, target: 80, published: \"8080\"}\n"
     "      - {mode: ingress, target: 5000}\n"},
    {"ports: another host ip is another port",
     "services:\n  foo:\n    ports:\n      - {target: 80, published: \"8080\"}\n",
     "services:\n  foo:\n    ports:\n      - {target: 80, published: \"8080\", host_ip: "
     "127.0.0.1}\n",
     "services:\n  foo:\n    ports:\n      - {target: 80, published: \"8080\"}\n"
     "      - {target: 80, published: \"8080\", host_ip: 127.0.0.1}\n"},
    /* loader/merge_test.go TestLoadMultipleSecretsConfig / ConfigobjsConfig */
    {"secrets by target",
     "services:\n  foo:\n    secrets:\n      - foo_secret\n      - {source: bar_secret, target: "
     "waw_secret}\n",
     "services:\n  foo:\n    secrets:\n      - {source: bar_secret, target: bof_secret}\n"
     "      - {source: baz_secret, target: waw_secret}\n",
     "services:\n  foo:\n    secrets:\n      - foo_secret\n      - {source: baz_secret, target: "
     "waw_secret}\n"
     "      - {source: bar_secret, target: bof_secret}\n"},
    {"configs by target",
     "services:\n  foo:\n    configs:\n      - foo_config\n      - {source: bar_config, target: "
     "waw_config}\n",
     "services:\n  foo:\n    configs:\n      - {source: bar_config, target: bof_config}\n"
     "      - {source: baz_config, target: waw_config}\n",
     "services:\n  foo:\n    configs:\n      - foo_config\n      - {source: baz_config, target: "
     "waw_config}\n"
     "      - {source: bar_config, target: bof_config}\n"},
    {"profiles, dns, cap_add deduplicated",
     "services:\n  a:\n    profiles: [dev]\n    dns: 8.8.8.8\n    cap_add: [NET_ADMIN]\n",
     "services:\n  a:\n    profiles: [dev, debug]\n    dns: [8.8.8.8, 9.9.9.9]\n"
     "    cap_add: [NET_ADMIN, SYS_PTRACE]\n",
     "services:\n  a:\n    profiles: [dev, debug]\n    dns: [8.8.8.8, 9.9.9.9]\n"
     "    cap_add: [NET_ADMIN, SYS_PTRACE]\n"},
    /* !reset and !override: loader/merge_reset_test.go, loader/reset_test.go */
    {"!reset removes build and one variable",
     "services:\n  foo:\n    build:\n      context: .\n      dockerfile: foo.Dockerfile\n"
     "    environment:\n      FOO: BAR\n",
     "services:\n  foo:\n    image: foo\n    build: !reset\n    environment:\n      FOO: !reset\n",
     "services:\n  foo:\n    image: foo\n    environment: []\n"},
    {"!reset removes a network", "networks:\n  test:\n    name: test\n    external: true\n",
     "networks:\n  test: !reset {}\n", "networks: {}\n"},
    {"!override replaces a network", "networks:\n  test:\n    name: test\n    external: true\n",
     "networks:\n  test: !override {}\n", "networks:\n  test: {}\n"},
    {"!reset [] drops every port",
     "services:\n  app:\n    image: a\n    ports:\n      - {target: 80, published: \"8080\"}\n",
     "services:\n  app:\n    ports: !reset []\n", "services:\n  app:\n    image: a\n"},
    {"!reset ignores the value it is given",
     "services:\n  app:\n    ports:\n      - {target: 80, published: \"8080\"}\n",
     "services:\n  app:\n    ports: !reset\n      - {target: 443}\n", "services:\n  app: {}\n"},
    {"!override replaces a sequence instead of appending",
     "services:\n  app:\n    ports:\n      - {target: 80, published: \"8080\"}\n",
     "services:\n  app:\n    ports: !override\n      - {target: 443, published: \"8443\"}\n",
     "services:\n  app:\n    ports:\n      - {target: 443, published: \"8443\"}\n"},
    {"!override replaces a mapping instead of merging",
     "services:\n  app:\n    environment:\n      A: 1\n      B: 2\n",
     "services:\n  app:\n    environment: !override\n      C: 3\n",
     "services:\n  app:\n    environment:\n      C: 3\n"},
    {"!reset of a whole service", "services:\n  app:\n    image: a\n  db:\n    image: postgres\n",
     "services:\n  db: !reset\n", "services:\n  app:\n    image: a\n"},
    {"!reset of a key the base lacks adds nothing", "services:\n  app:\n    image: a\n",
     "services:\n  app:\n    user: !reset root\n", "services:\n  app:\n    image: a\n"},
    {"!reset inside a sequence drops that entry of the override",
     "services:\n  app:\n    security_opt: [a]\n",
     "services:\n  app:\n    security_opt: [b, !reset c, d]\n",
     "services:\n  app:\n    security_opt: [a, b, d]\n"},
    {"!reset through a << merge key",
     "services:\n  web:\n    image: a\n    ports:\n      - {target: 80}\n",
     "x-base: &base\n  ports: !reset []\nservices:\n  web:\n    <<: *base\n    image: b\n",
     "x-base: {}\nservices:\n  web:\n    image: b\n"},
    {"!reset in a document with no base: the key is simply absent", "{}\n",
     "services:\n  app:\n    image: a\n    command: !reset [x]\n",
     "services:\n  app:\n    image: a\n"},
};

static void test_merge_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
		const struct merge_case *c = &merge_cases[i];
		struct cnode_arena *a = cnode_arena_new();
		struct px_error err = PX_ERROR_INIT;
		struct cnode *got;

		if (compose_merge(a, parse1(a, "base.yml", c->base),
				  parse1(a, "override.yml", c->override), &got, &err) < 0)
			fail_msg("%s: %s", c->name, px_error_msg(&err));
		assert_tree_equal(c->name, got, parse1(a, "want.yml", c->want));
		cnode_arena_free(a);
	}
}

/* override/merge_test.go Test_mergeOverrides: three files in a row. */
static void test_merge_chain(void **state)
{
	static const char *const docs[] = {
	    "services:\n  test:\n    image: foo\n    scale: 1\n",
	    "services:\n  test:\n    image: bar\n",
	    "services:\n  test:\n    scale: 2\n",
	};
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode *tree = parse1(a, "empty", "{}");

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(compose_merge(a, tree, parse1(a, "f.yml", docs[i]), &tree, &err),
				 0);
	assert_tree_equal("chain", tree,
			  parse1(a, "want", "services:\n  test:\n    image: bar\n    scale: 2\n"));
	cnode_arena_free(a);
}

/* override/uncity_test.go: a single document is deduplicated too. */
static void test_unicity(void **state)
{
	static const struct {
		const char *name, *in, *want;
	} cases[] = {
	    {"environment",
	     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=BAR\n      - "
	     "BAR=QIX\n"
	     "      - QIX=\n      - ZOT\n      - FOO=ZOT\n      - QIX\n      - ZOT=\n",
	     "services:\n  test:\n    image: foo\n    environment:\n      - FOO=ZOT\n      - "
	     "BAR=QIX\n"
	     "      - QIX\n      - ZOT=\n"},
	    {"volumes (short syntax)",
	     "services:\n  test:\n    image: foo\n    volumes:\n      - .:/foo\n      - foo:/bar\n"
	     "      - src:/foo\n",
	     "services:\n  test:\n    image: foo\n    volumes:\n      - src:/foo\n      - "
	     "foo:/bar\n"},
	    {"expose, tmpfs, sysctls, devices",
	     "services:\n  t:\n    expose: [\"80\", 81, \"80\"]\n    tmpfs: [/a, /b, /a]\n"
	     "    sysctls: [a=1, a=2]\n    devices:\n"
	     "      - {source: /dev/a, target: /dev/x}\n      - {source: /dev/b, target: /dev/x}\n",
	     "services:\n  t:\n    expose: [\"80\", 81]\n    tmpfs: [/a, /b]\n    sysctls: [a=2]\n"
	     "    devices:\n      - {source: /dev/b, target: /dev/x}\n"},
	    {"nothing outside the rules",
	     "x-list: [a, a]\nservices:\n  t:\n    security_opt: [a, a]\n",
	     "x-list: [a, a]\nservices:\n  t:\n    security_opt: [a, a]\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cnode_arena *a = cnode_arena_new();
		struct px_error err = PX_ERROR_INIT;
		struct cnode *in = parse1(a, "in.yml", cases[i].in), *got;

		if (compose_unicity(a, in, &got, &err) < 0)
			fail_msg("%s: %s", cases[i].name, px_error_msg(&err));
		assert_tree_equal(cases[i].name, got, parse1(a, "want.yml", cases[i].want));
		cnode_arena_free(a);
	}
}

/* Type mismatches fail at the override's mark, naming the path. */
static void test_merge_errors(void **state)
{
	static const struct {
		const char *base, *override, *want;
	} cases[] = {
	    {"services:\n  app:\n    ports:\n      - {target: 80}\n",
	     "services:\n  app:\n    ports:\n      target: 80\n",
	     "override.yml:4:7: cannot override 'services.app.ports': a mapping cannot be merged "
	     "into a sequence"},
	    {"services:\n  app:\n    volumes:\n      - {type: volume, target: /a}\n",
	     "services:\n  app:\n    volumes: /data\n",
	     "override.yml:3:14: cannot override 'services.app.volumes': a string cannot be merged "
	     "into a sequence"},
	    {"networks:\n  front:\n    driver: bridge\n", "networks: [front]\n",
	     "override.yml:1:11: cannot override 'networks': a sequence cannot be merged into a "
	     "mapping"},
	    {"services:\n  app:\n    logging:\n      driver: local\n",
	     "services:\n  app:\n    logging: [x]\n",
	     "override.yml:3:14: cannot override 'services.app.logging'"},
	    {"services:\n  app:\n    environment:\n      A: 1\n",
	     "services:\n  app:\n    environment:\n      B:\n        nested: 1\n",
	     "override.yml:5:9: cannot merge 'services.app.environment': the value of 'B' is a "
	     "mapping"},
	    {"services:\n  app:\n    labels: [a=1]\n",
	     "services:\n  app:\n    labels:\n      - {x: 1}\n",
	     "override.yml:4:9: 'services.app.labels[1]': expected a string"},
	    {"services:\n  app:\n    ports: [{target: 80}]\n",
	     "services:\n  app:\n    ports: [{published: \"80\"}]\n",
	     "override.yml:3:13: 'services.app.ports[1]': the port has no target"},
	    {"services:\n  app:\n    image: a\n", "- not a mapping\n",
	     "override.yml:1:1: the top level of a compose file must be a mapping, not a sequence"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cnode_arena *a = cnode_arena_new();
		struct px_error err = PX_ERROR_INIT;
		struct cnode *got;

		assert_int_equal(compose_merge(a, parse1(a, "base.yml", cases[i].base),
					       parse1(a, "override.yml", cases[i].override), &got,
					       &err),
				 -1);
		if (strncmp(px_error_msg(&err), cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, px_error_msg(&err),
				 cases[i].want);
		px_error_clear(&err);
		cnode_arena_free(a);
	}
}

/* The inputs are never modified: the loader keeps merging onto the same trees. */
static void test_merge_leaves_inputs_alone(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	const char *btext = "services:\n  app:\n    image: a\n    environment: {A: 1}\n"
			    "    ports: [{target: 80}]\n";
	const char *otext = "services:\n  app:\n    image: b\n    environment: {B: 2}\n"
			    "    ports: !reset []\n";
	struct cnode *base = parse1(a, "b", btext), *over = parse1(a, "o", otext), *got;

	(void)state;
	assert_int_equal(compose_merge(a, base, over, &got, &err), 0);
	assert_tree_equal("base", base, parse1(a, "b2", btext));
	assert_tree_equal("override", over,
			  parse1(a, "o2",
				 "services:\n  app:\n    image: b\n"
				 "    environment: {B: 2}\n    ports: []\n"));
	assert_int_equal(at(over, "services.app.ports")->tag, CNODE_TAG_RESET);
	/* the result carries no tag: merging it again as a base changes nothing */
	assert_null(at(got, "services.app.ports"));
	assert_string_equal(at(got, "services.app.image")->value, "b");
	assert_int_equal(at(got, "services.app.image")->mark.line, 3);
	assert_string_equal(at(got, "services.app.image")->mark.file, "o");
	cnode_arena_free(a);
}

/* compose_merge_at(): the rules of the place the values come from (extends). */
static void test_merge_at_service(void **state)
{
	static const char *const path[] = {"services", "web"};
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode *got;

	(void)state;
	assert_int_equal(
	    compose_merge_at(a,
			     parse1(a, "b",
				    "image: base\ncommand: [a, b]\nenvironment: {A: 1}\n"
				    "ports: [{target: 80}]\n"),
			     parse1(a, "o",
				    "command: [c]\nenvironment: [B=2]\nports: !reset []\n"
				    "extends: {service: x}\n"),
			     path, 2, &got, &err),
	    0);
	assert_tree_equal("extends merge", got,
			  parse1(a, "w",
				 "image: base\ncommand: [c]\nenvironment: [A=1, B=2]\n"
				 "extends: {service: x}\n"));
	cnode_arena_free(a);
}

static void test_resets_collect(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct compose_resets r;

	(void)state;
	compose_resets_collect(a,
			       parse1(a, "o",
				      "services:\n  a:\n    ports: !reset []\n"
				      "    environment: !override {A: 1}\n"
				      "    volumes: [!reset x]\n  b: !reset\n"),
			       &r);
	/* sequence entries are never looked up in the base (compose-go's own behaviour) */
	assert_int_equal(r.n, 3);
	assert_int_equal(r.depths[0], 3);
	assert_string_equal(r.paths[0][2], "ports");
	assert_string_equal(r.paths[1][2], "environment");
	assert_int_equal(r.depths[2], 2);
	assert_string_equal(r.paths[2][1], "b");
	cnode_arena_free(a);
}

static void test_node_equal(void **state)
{
	struct cnode_arena *a = cnode_arena_new();

	(void)state;
	assert_true(compose_node_equal(parse1(a, "x", "{a: 1, b: [x, y]}"),
				       parse1(a, "y", "{b: [x, y], a: 1}")));
	assert_false(compose_node_equal(parse1(a, "x", "{a: 1}"), parse1(a, "y", "{a: \"1\"}")));
	assert_false(compose_node_equal(parse1(a, "x", "[x, y]"), parse1(a, "y", "[y, x]")));
	assert_true(compose_node_equal(parse1(a, "x", "{a: ~}"), parse1(a, "y", "{a: null}")));
	assert_false(compose_node_equal(parse1(a, "x", "{a: ~}"), parse1(a, "y", "{a: ''}")));
	cnode_arena_free(a);
}

/* Large projects: the merge of two 3,000-service files stays linear-ish. */
static void test_merge_many_services(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b1 = PX_BUF_INIT, b2 = PX_BUF_INIT;
	struct cnode *got;

	(void)state;
	px_buf_adds(&b1, "services:\n");
	px_buf_adds(&b2, "services:\n");
	for (int i = 0; i < 3000; i++) {
		px_buf_addf(&b1, "  s%d:\n    image: img%d\n    environment: [A=%d]\n", i, i, i);
		px_buf_addf(&b2, "  s%d:\n    environment: [B=%d]\n", 2999 - i, i);
	}
	assert_int_equal(compose_merge(a, parse1(a, "1", px_buf_cstr(&b1)),
				       parse1(a, "2", px_buf_cstr(&b2)), &got, &err),
			 0);
	assert_int_equal(at(got, "services")->n, 3000);
	assert_tree_equal("s7", at(got, "services.s7"),
			  parse1(a, "w", "image: img7\nenvironment: [A=7, B=2992]\n"));
	px_buf_release(&b1);
	px_buf_release(&b2);
	cnode_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_table),
	    cmocka_unit_test(test_merge_chain),
	    cmocka_unit_test(test_unicity),
	    cmocka_unit_test(test_merge_errors),
	    cmocka_unit_test(test_merge_leaves_inputs_alone),
	    cmocka_unit_test(test_merge_at_service),
	    cmocka_unit_test(test_resets_collect),
	    cmocka_unit_test(test_node_equal),
	    cmocka_unit_test(test_merge_many_services),
	};

	return cmocka_run_group_tests_name("compose_merge", tests, NULL, NULL);
}
