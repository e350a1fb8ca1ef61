/* test_compose_canonical.c - compose short syntax rewritten into long syntax, case by
 * case against compose-go's transform/ output, plus the marks, tags and parse errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cast.h"
#include "compose/internal.h"
#include "compose/node.h"

/* A compose document with one service "s" whose body is the given lines (4-space indent). */
#define SVC(body) "services:\n  s:\n    image: x\n" body

struct canon_case {
	const char *name;
	const char *yaml;
	const char *key; /* key of service s to compare; NULL: compare the top-level key `top` */
	const char *top;
	const char *want; /* JSON of the canonical node (scalars typed as YAML reads them) */
};

static const struct canon_case cases[] = {
    /* ---- ports (compose-go ParsePortConfig / nat.ParsePortSpec) ---- */
    {"port host:container", SVC("    ports: [\"8080:80\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"8080\",\"protocol\":\"tcp\"}]"},
    {"port ip:host:container/udp", SVC("    ports: [\"127.0.0.1:8080:80/udp\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":80,\"published\":\"8080\","
     "\"protocol\":\"udp\"}]"},
    {"port protocol upper case", SVC("    ports: [\"53:53/UDP\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":53,\"published\":\"53\",\"protocol\":\"udp\"}]"},
    {"port container only (string)", SVC("    ports: [\"80\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":80,\"protocol\":\"tcp\"}]"},
    {"port container only (number)", SVC("    ports: [80]\n"), "ports", NULL, "[{\"target\":80}]"},
    {"port range expands one per port", SVC("    ports: [\"8000-8002:8000-8002\"]\n"), "ports",
     NULL,
     "[{\"mode\":\"ingress\",\"target\":8000,\"published\":\"8000\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":8001,\"published\":\"8001\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":8002,\"published\":\"8002\",\"protocol\":\"tcp\"}]"},
    {"port range shifted", SVC("    ports: [\"9000-9001:80-81\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"9000\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":81,\"published\":\"9001\",\"protocol\":\"tcp\"}]"},
    {"port range sorted as compose sorts (by text)", SVC("    ports: [\"98-101:98-101\"]\n"),
     "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":100,\"published\":\"100\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":101,\"published\":\"101\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":98,\"published\":\"98\",\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":99,\"published\":\"99\",\"protocol\":\"tcp\"}]"},
    {"port host range for one container port", SVC("    ports: [\"9090-9091:80\"]\n"), "ports",
     NULL,
     "[{\"mode\":\"ingress\",\"target\":80,\"published\":\"9090-9091\",\"protocol\":\"tcp\"}]"},
    {"port container range without host", SVC("    ports: [\"3000-3001\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":3000,\"protocol\":\"tcp\"},"
     "{\"mode\":\"ingress\",\"target\":3001,\"protocol\":\"tcp\"}]"},
    {"port IPv6 in brackets", SVC("    ports: [\"[::1]:80:80\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"host_ip\":\"::1\",\"target\":80,\"published\":\"80\",\"protocol\":"
     "\"tcp\"}]"},
    {"port IPv6 bare", SVC("    ports: [\"::1:6000:6000\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"host_ip\":\"::1\",\"target\":6000,\"published\":\"6000\","
     "\"protocol\":\"tcp\"}]"},
    {"port ip with empty host port", SVC("    ports: [\"127.0.0.1::5000\"]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":5000,\"protocol\":\"tcp\"}]"},
    {"port long form untouched",
     SVC("    ports:\n      - target: 80\n        published: \"8080\"\n        protocol: udp\n"),
     "ports", NULL, "[{\"target\":80,\"published\":\"8080\",\"protocol\":\"udp\"}]"},
    {"ports mixed forms keep order", SVC("    ports: [\"1:1\", {target: 2}, 3]\n"), "ports", NULL,
     "[{\"mode\":\"ingress\",\"target\":1,\"published\":\"1\",\"protocol\":\"tcp\"},"
     "{\"target\":2},{\"target\":3}]"},

    /* ---- volumes (compose-go format.ParseVolume) ---- */
    {"volume relative bind read-only", SVC("    volumes: [\"./data:/data:ro\"]\n"), "volumes", NULL,
     "[{\"type\":\"bind\",\"source\":\"./data\",\"target\":\"/data\",\"read_only\":true,"
     "\"bind\":{\"create_host_path\":true}}]"},
    {"volume named", SVC("    volumes: [\"named:/x\"]\n"), "volumes", NULL,
     "[{\"type\":\"volume\",\"source\":\"named\",\"target\":\"/x\",\"volume\":{}}]"},
    {"volume absolute bind rw,z", SVC("    volumes: [\"/abs:/y:rw,z\"]\n"), "volumes", NULL,
     "[{\"type\":\"bind\",\"source\":\"/abs\",\"target\":\"/y\","
     "\"bind\":{\"selinux\":\"z\",\"create_host_path\":true}}]"},
    {"volume anonymous", SVC("    volumes: [\"/only-target\"]\n"), "volumes", NULL,
     "[{\"type\":\"volume\",\"target\":\"/only-target\",\"volume\":{}}]"},
    {"volume home bind with propagation", SVC("    volumes: [\"~/src:/src:rslave\"]\n"), "volumes",
     NULL,
     "[{\"type\":\"bind\",\"source\":\"~/src\",\"target\":\"/src\","
     "\"bind\":{\"propagation\":\"rslave\",\"create_host_path\":true}}]"},
    {"volume nocopy", SVC("    volumes: [\"cache:/c:nocopy\"]\n"), "volumes", NULL,
     "[{\"type\":\"volume\",\"source\":\"cache\",\"target\":\"/c\",\"volume\":{\"nocopy\":true}}]"},
    {"volume target cleaned, unknown option ignored",
     SVC("    volumes: [\"vol:/a/b/../c/:bogus\"]\n"), "volumes", NULL,
     "[{\"type\":\"volume\",\"source\":\"vol\",\"target\":\"/a/c\",\"volume\":{}}]"},
    {"volume two-character spec", SVC("    volumes: [\"/a\"]\n"), "volumes", NULL,
     "[{\"type\":\"volume\",\"target\":\"/a\"}]"},
    {"volume long form untouched",
     SVC("    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs: {size: 64m}\n"),
     "volumes", NULL, "[{\"type\":\"tmpfs\",\"target\":\"/t\",\"tmpfs\":{\"size\":\"64m\"}}]"},

    /* ---- depends_on, env_file, build, networks, extends ---- */
    {"depends_on list", SVC("    depends_on: [db, cache]\n"), "depends_on", NULL,
     "{\"db\":{\"condition\":\"service_started\",\"required\":true},"
     "\"cache\":{\"condition\":\"service_started\",\"required\":true}}"},
    {"depends_on map gets defaults",
     SVC("    depends_on:\n      db: {condition: service_healthy}\n      q: {restart: true}\n"),
     "depends_on", NULL,
     "{\"db\":{\"condition\":\"service_healthy\",\"required\":true},"
     "\"q\":{\"restart\":true,\"condition\":\"service_started\",\"required\":true}}"},
    {"env_file string", SVC("    env_file: .env.local\n"), "env_file", NULL,
     "[{\"path\":\".env.local\",\"required\":true}]"},
    {"env_file list mixed",
     SVC("    env_file: [a.env, {path: b.env, required: false}, {path: c.env}]\n"), "env_file",
     NULL,
     "[{\"path\":\"a.env\",\"required\":true},{\"path\":\"b.env\",\"required\":false},"
     "{\"path\":\"c.env\",\"required\":true}]"},
    {"build string", SVC("    build: ./app\n"), "build", NULL, "{\"context\":\"./app\"}"},
    {"build ssh and additional_contexts",
     SVC("    build:\n      context: .\n      ssh: [default, \"key=/k\"]\n"
	 "      additional_contexts: [\"base=docker-image://alpine\"]\n"),
     "build", NULL,
     "{\"context\":\".\",\"ssh\":{\"default\":null,\"key\":\"/k\"},"
     "\"additional_contexts\":{\"base\":\"docker-image://alpine\"}}"},
    {"networks list", SVC("    networks: [front, back]\n"), "networks", NULL,
     "{\"front\":null,\"back\":null}"},
    {"networks map untouched", SVC("    networks:\n      front: {aliases: [a]}\n"), "networks",
     NULL, "{\"front\":{\"aliases\":[\"a\"]}}"},
    {"extends string", SVC("    extends: base\n"), "extends", NULL, "{\"service\":\"base\"}"},
    {"healthcheck test string is CMD-SHELL",
     SVC("    healthcheck:\n      test: curl -f http://localhost\n      interval: 10s\n"),
     "healthcheck", NULL,
     "{\"test\":[\"CMD-SHELL\",\"curl -f http://localhost\"],\"interval\":\"10s\"}"},
    {"healthcheck test list untouched", SVC("    healthcheck:\n      test: [CMD, true]\n"),
     "healthcheck", NULL, "{\"test\":[\"CMD\",true]}"},
    {"devices short", SVC("    devices: [\"/dev/a:/dev/b\", \"/dev/c\", \"/dev/d:/dev/e:r\"]\n"),
     "devices", NULL,
     "[{\"source\":\"/dev/a\",\"target\":\"/dev/b\",\"permissions\":\"rwm\"},"
     "{\"source\":\"/dev/c\",\"target\":\"/dev/c\",\"permissions\":\"rwm\"},"
     "{\"source\":\"/dev/d\",\"target\":\"/dev/e\",\"permissions\":\"r\"}]"},
    {"secrets short", SVC("    secrets: [token, {source: other, target: /t}]\n"), "secrets", NULL,
     "[{\"source\":\"token\"},{\"source\":\"other\",\"target\":\"/t\"}]"},
    {"configs short", SVC("    configs: [cfg]\n"), "configs", NULL, "[{\"source\":\"cfg\"}]"},
    {"ulimits kept", SVC("    ulimits:\n      nofile: {soft: 1, hard: 2}\n      nproc: 65535\n"),
     "ulimits", NULL, "{\"nofile\":{\"soft\":1,\"hard\":2},\"nproc\":65535}"},
    {"dns string to list", SVC("    dns: 8.8.8.8\n"), "dns", NULL, "[\"8.8.8.8\"]"},
    {"tmpfs string to list", SVC("    tmpfs: /run\n"), "tmpfs", NULL, "[\"/run\"]"},
    {"environment list kept as written", SVC("    environment: [A=1, B]\n"), "environment", NULL,
     "[\"A=1\",\"B\"]"},
    {"labels map kept as written", SVC("    labels: {a: b}\n"), "labels", NULL, "{\"a\":\"b\"}"},
    {"develop.watch path list expands",
     SVC("    develop:\n      watch:\n        - {path: [a, b], action: rebuild}\n"
	 "        - {path: c, action: sync, target: /c}\n"),
     "develop", NULL,
     "{\"watch\":[{\"path\":\"a\",\"action\":\"rebuild\"},{\"path\":\"b\",\"action\":\"rebuild\"},"
     "{\"path\":\"c\",\"action\":\"sync\",\"target\":\"/c\"}]}"},

    /* ---- top level ---- */
    {"external name moves to name", "networks:\n  n:\n    external: {name: real}\n", NULL,
     "networks", "{\"n\":{\"external\":true,\"name\":\"real\"}}"},
    {"external bool untouched", "volumes:\n  v:\n    external: true\n  w:\n", NULL, "volumes",
     "{\"v\":{\"external\":true},\"w\":null}"},
    {"include string", "include: [other.yaml, {path: x.yaml}]\n", NULL, "include",
     "[{\"path\":\"other.yaml\"},{\"path\":\"x.yaml\"}]"},
};

struct canon_error_case {
	const char *name;
	const char *yaml;
	const char *want;
};

static const struct canon_error_case error_cases[] = {
    {"port container not a number", SVC("    ports: [\"80:abc\"]\n"),
     "compose.yaml:4:13: invalid port specification \"80:abc\": invalid containerPort: abc"},
    {"port host not a number", SVC("    ports:\n      - \"x:80\"\n"),
     "compose.yaml:5:9: invalid port specification \"x:80\": invalid hostPort: x"},
    {"port ranges of different sizes", SVC("    ports: [\"8000-8001:80-82\"]\n"),
     "compose.yaml:4:13: invalid port specification \"8000-8001:80-82\": invalid ranges specified "
     "for container and host Ports: 80-82 and 8000-8001"},
    {"port bad address", SVC("    ports: [\"1.2.3.400:80:80\"]\n"),
     "compose.yaml:4:13: invalid port specification \"1.2.3.400:80:80\": invalid IP address: "
     "1.2.3.400"},
    {"port bad protocol", SVC("    ports: [\"80/xyz\"]\n"),
     "compose.yaml:4:13: invalid port specification \"80/xyz\": invalid proto: xyz"},
    {"port out of range", SVC("    ports: [\"70000:80\"]\n"),
     "compose.yaml:4:13: invalid port specification \"70000:80\": invalid hostPort: 70000"},
    {"port empty container", SVC("    ports: [\"80:\"]\n"),
     "compose.yaml:4:13: invalid port specification \"80:\": no port specified: 80:<empty>"},
    {"port reversed range", SVC("    ports: [\"90-80\"]\n"),
     "compose.yaml:4:13: invalid port specification \"90-80\": invalid containerPort: 90-80"},
    {"volume empty section", SVC("    volumes: [\"/a::/b\"]\n"),
     "compose.yaml:4:15: invalid volume specification \"/a::/b\": empty section between colons"},
    {"volume too many colons", SVC("    volumes: [\"/foo:/foo:ro:foo\"]\n"),
     "compose.yaml:4:15: invalid volume specification \"/foo:/foo:ro:foo\": too many colons"},
    {"volume missing source", SVC("    volumes: [\":foo\"]\n"),
     "compose.yaml:4:15: invalid volume specification \":foo\": empty section between colons"},
    {"device too many fields", SVC("    devices: [\"a:b:c:d\"]\n"),
     "compose.yaml:4:15: confusing device mapping, please use long syntax: a:b:c:d"},
    {"depends_on entry not a mapping", SVC("    depends_on:\n      db: yes\n"),
     "compose.yaml:5:11: depends_on 'db' must be a mapping (condition, required, restart)"},
    {"ssh key without path", SVC("    build:\n      context: .\n      ssh: [mykey]\n"),
     "compose.yaml:6:13: invalid ssh key \"mykey\""},
    {"external name conflict", "networks:\n  n:\n    name: a\n    external: {name: b}\n",
     "compose.yaml:4:15: name and external.name conflict; only use name"},
    {"top level not a mapping", "- a\n- b\n",
     "compose.yaml:1:1: top-level object must be a mapping, got a sequence"},
};

static struct cnode *canonical_of(struct cnode_arena *a, const char *yaml, struct px_error *err)
{
	struct cnode **docs = NULL, *out = NULL;
	size_t n = 0;

	if (cnode_parse(a, "compose.yaml", yaml, strlen(yaml), NULL, &docs, &n, err) < 0)
		fail_msg("parse: %s", px_error_msg(err));
	assert_int_equal(n, 1);
	if (compose_canonical(a, docs[0], &out, err) < 0)
		return NULL;
	return out;
}

static void test_canonical_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct canon_case *c = &cases[i];
		struct cnode_arena *a = cnode_arena_new();
		struct px_error err = PX_ERROR_INIT;
		struct cnode *root = canonical_of(a, c->yaml, &err), *node;
		json_t *got, *want;
		json_error_t jerr;
		char *got_text;

		if (root == NULL)
			fail_msg("%s: %s", c->name, px_error_msg(&err));
		node =
		    c->key != NULL
			? cnode_map_get(cnode_map_get(cnode_map_get(root, "services"), "s"), c->key)
			: cnode_map_get(root, c->top);
		if (node == NULL)
			fail_msg("%s: key missing after canonical", c->name);
		got = compose_node_json(node);
		want = json_loads(c->want, 0, &jerr);
		if (want == NULL)
			fail_msg("%s: bad expected JSON: %s", c->name, jerr.text);
		got_text = json_dumps(got, JSON_COMPACT);
		if (!json_equal(got, want))
			fail_msg("%s:\n got  %s\n want %s", c->name, got_text, c->want);
		free(got_text);
		json_decref(got);
		json_decref(want);
		cnode_arena_free(a);
	}
}

static void test_canonical_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct canon_error_case *c = &error_cases[i];
		struct cnode_arena *a = cnode_arena_new();
		struct px_error err = PX_ERROR_INIT;

		if (canonical_of(a, c->yaml, &err) != NULL)
			fail_msg("%s: no error", c->name);
		if (strcmp(px_error_msg(&err), c->want) != 0)
			fail_msg("%s:\n got  %s\n want %s", c->name, px_error_msg(&err), c->want);
		px_error_clear(&err);
		cnode_arena_free(a);
	}
}

/* New nodes point at what the user wrote, so later errors name the right line. */
static void test_marks_follow_the_source(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode *root, *s, *ports, *vols, *dep;

	(void)state;
	root = canonical_of(a,
			    "services:\n"
			    "  s:\n"
			    "    image: x\n"
			    "    ports:\n"
			    "      - \"80:80\"\n"
			    "      - \"9000-9001:9000-9001\"\n"
			    "    volumes:\n"
			    "      - ./d:/d\n"
			    "    depends_on: [db]\n",
			    &err);
	assert_non_null(root);
	s = cnode_map_get(cnode_map_get(root, "services"), "s");
	ports = cnode_map_get(s, "ports");
	assert_int_equal(ports->n, 3);
	assert_int_equal(ports->items[0]->mark.line, 5);
	assert_int_equal(ports->items[0]->mark.col, 9);
	assert_int_equal(cnode_map_get(ports->items[0], "target")->mark.line, 5);
	assert_int_equal(ports->items[1]->mark.line, 6);
	assert_int_equal(ports->items[2]->mark.line, 6);
	assert_string_equal(ports->items[2]->mark.file, "compose.yaml");
	vols = cnode_map_get(s, "volumes");
	assert_int_equal(cnode_map_get(vols->items[0], "source")->mark.line, 8);
	dep = cnode_map_get(s, "depends_on");
	assert_int_equal(cnode_key(dep, 0)->mark.line, 9);
	assert_int_equal(cnode_key(dep, 0)->mark.col, 18);
	/* published stays a string, target becomes a number */
	assert_true(cnode_map_get(ports->items[0], "published")->quoted);
	assert_false(cnode_map_get(ports->items[0], "target")->quoted);
	cnode_arena_free(a);
}

/* !override / !reset survive the rewrite, so the merge still sees them. */
static void test_tags_survive(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode *root, *s;

	(void)state;
	root = canonical_of(a,
			    SVC("    ports: !override [\"80:80\"]\n"
				"    depends_on: !reset [db]\n"
				"    build: !override ./ctx\n"),
			    &err);
	assert_non_null(root);
	s = cnode_map_get(cnode_map_get(root, "services"), "s");
	assert_int_equal(cnode_map_get(s, "ports")->tag, CNODE_TAG_OVERRIDE);
	assert_int_equal(cnode_map_get(s, "ports")->kind, CNODE_SEQ);
	assert_int_equal(cnode_map_get(s, "depends_on")->tag, CNODE_TAG_RESET);
	assert_int_equal(cnode_map_get(s, "depends_on")->kind, CNODE_MAP);
	assert_int_equal(cnode_map_get(s, "build")->tag, CNODE_TAG_OVERRIDE);
	assert_int_equal(cnode_map_get(cnode_map_get(s, "build"), "context")->tag, CNODE_TAG_NONE);
	cnode_arena_free(a);
}

/* The input tree is never modified, and canonical of canonical changes nothing. */
static void test_input_untouched_and_idempotent(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode **docs = NULL, *once = NULL, *twice = NULL;
	size_t n = 0;
	const char *yaml = SVC("    ports: [\"80:80\", 81]\n"
			       "    volumes: [\"./a:/a\", \"v:/v\"]\n"
			       "    depends_on: [db]\n"
			       "    env_file: .env\n"
			       "    networks: [n]\n"
			       "    build: .\n"
			       "    healthcheck: {test: true}\n");
	json_t *orig, *after, *j1, *j2;

	(void)state;
	assert_int_equal(cnode_parse(a, "compose.yaml", yaml, strlen(yaml), NULL, &docs, &n, &err),
			 0);
	orig = compose_node_json(docs[0]);
	assert_int_equal(compose_canonical(a, docs[0], &once, &err), 0);
	after = compose_node_json(docs[0]);
	assert_true(json_equal(orig, after));
	assert_int_equal(compose_canonical(a, once, &twice, &err), 0);
	j1 = compose_node_json(once);
	j2 = compose_node_json(twice);
	assert_true(json_equal(j1, j2));
	assert_false(json_equal(orig, j1)); /* negative control: it did rewrite */
	json_decref(orig);
	json_decref(after);
	json_decref(j1);
	json_decref(j2);
	cnode_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canonical_forms),
	    cmocka_unit_test(test_canonical_errors),
	    cmocka_unit_test(test_marks_follow_the_source),
	    cmocka_unit_test(test_tags_survive),
	    cmocka_unit_test(test_input_untouched_and_idempotent),
	};

	return cmocka_run_group_tests_name("compose_canonical", tests, NULL, NULL);
}
