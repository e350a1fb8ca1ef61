/* test_compose_node.c - unit tests for compose/node.c: YAML text to node trees with marks,
 * anchors, merge keys, tags, documents, duplicate keys, limits and encoding errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "compose/node.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------------------- */

/* A compact, unambiguous rendering of a tree: plain scalars bare, quoted ones in '',
 * newlines as \n, tags in front. */
static void dump_to(struct px_buf *b, const struct cnode *n)
{
	size_t i;

	if (n == NULL) {
		px_buf_adds(b, "(nil)");
		return;
	}
	if (n->tag == CNODE_TAG_RESET)
		px_buf_adds(b, "!reset ");
	else if (n->tag == CNODE_TAG_OVERRIDE)
		px_buf_adds(b, "!override ");
	switch (n->kind) {
	case CNODE_SCALAR:
		if (n->quoted)
			px_buf_addch(b, '\'');
		for (i = 0; i < n->len; i++) {
			if (n->value[i] == '\n')
				px_buf_adds(b, "\\n");
			else
				px_buf_addch(b, n->value[i]);
		}
		if (n->quoted)
			px_buf_addch(b, '\'');
		break;
	case CNODE_SEQ:
		px_buf_addch(b, '[');
		for (i = 0; i < n->n; i++) {
			if (i > 0)
				px_buf_adds(b, ", ");
			dump_to(b, n->items[i]);
		}
		px_buf_addch(b, ']');
		break;
	case CNODE_MAP:
		px_buf_addch(b, '{');
		for (i = 0; i < n->n; i++) {
			if (i > 0)
				px_buf_adds(b, ", ");
			dump_to(b, cnode_key(n, i));
			px_buf_adds(b, ": ");
			dump_to(b, cnode_val(n, i));
		}
		px_buf_addch(b, '}');
		break;
	}
}

static char *dump(const struct cnode *n)
{
	struct px_buf b = PX_BUF_INIT;

	dump_to(&b, n);
	return px_buf_detach(&b, NULL);
}

struct parsed {
	struct cnode_arena *a;
	struct cnode **docs;
	size_t n;
};

static void parse_len(struct parsed *p, const char *text, size_t len,
		      const struct cnode_limits *lim)
{
	struct px_error err = PX_ERROR_INIT;

	p->a = cnode_arena_new();
	if (cnode_parse(p->a, "t.yaml", text, len, lim, &p->docs, &p->n, &err) < 0)
		fail_msg("parsing '%s' failed: %s", text, px_error_msg(&err));
}

static void parse(struct parsed *p, const char *text)
{
	parse_len(p, text, strlen(text), NULL);
}

static void parsed_free(struct parsed *p)
{
	cnode_arena_free(p->a);
	p->a = NULL;
}

/* The error of parsing text, which must fail (owned). */
static char *parse_error_len(const char *text, size_t len, const struct cnode_limits *lim)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode **docs = NULL;
	size_t n = 0;
	char *msg;

	if (cnode_parse(a, "t.yaml", text, len, lim, &docs, &n, &err) == 0)
		fail_msg("parsing '%.200s' succeeded, expected an error", text);
	msg = err.msg;
	err.msg = NULL;
	cnode_arena_free(a);
	return msg;
}

static char *parse_error(const char *text)
{
	return parse_error_len(text, strlen(text), NULL);
}

static void assert_mark(const struct cnode *n, unsigned line, unsigned col)
{
	assert_non_null(n);
	if (n->mark.line != line || n->mark.col != col)
		fail_msg("node '%s' at %u:%u, want %u:%u", n->kind == CNODE_SCALAR ? n->value : "",
			 n->mark.line, n->mark.col, line, col);
}

/* Parse in (one document) and compare its rendering. */
struct dump_case {
	const char *in, *want;
};

static void run_dump_cases(const struct dump_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct parsed p;
		char *got;

		parse(&p, cases[i].in);
		assert_int_equal(p.n, 1);
		got = dump(p.docs[0]);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu '%s':\n got  %s\n want %s", i, cases[i].in, got,
				 cases[i].want);
		free(got);
		parsed_free(&p);
	}
}

/* Parse in (which must fail) and compare the whole error message. */
struct err_case {
	const char *in, *want;
};

static void run_err_cases(const struct err_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *got = parse_error(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu '%s':\n got  %s\n want %s", i, cases[i].in, got,
				 cases[i].want);
		free(got);
	}
}

static char *data_path(const char *name)
{
	const char *root = getenv("PRISYNC_SOURCE_DIR");
	struct px_buf b = PX_BUF_INIT;

	px_buf_addf(&b, "%s/tests/data/compose/node/%s", root ? root : ".", name);
	return px_buf_detach(&b, NULL);
}

/* ---- scalars, marks ---------------------------------------------------------------- */

static void test_scalar_styles(void **state)
{
	static const struct dump_case cases[] = {
	    {"a: x", "{a: x}"},
	    {"a: 'x'", "{a: 'x'}"},
	    {"a: \"x y\"", "{a: 'x y'}"},
	    {"a: 'it''s'", "{a: 'it's'}"},
	    {"a: \"\\u00e9\\\"\"", "{a: '\xc3\xa9\"'}"},
	    {"a: |\n  l1\n  l2\n", "{a: 'l1\\nl2\\n'}"},
	    {"a: |-\n  l1\n", "{a: 'l1'}"},
	    {"a: >\n  f1\n  f2\n", "{a: 'f1 f2\\n'}"},
	    {"a: >-\n  f1\n\n  f2\n", "{a: 'f1\\nf2'}"},
	    {"a: x\n  y\n", "{a: x y}"},
	    {"a: !!str 5", "{a: '5'}"},
	    {"a: !<tag:yaml.org,2002:str> 5", "{a: '5'}"},
	    {"a: ! 6", "{a: '6'}"},
	    {"a: !!int 5", "{a: 5}"},
	    {"a: 5", "{a: 5}"},
	    {"a:", "{a: }"},
	    {"a: ~", "{a: ~}"},
	    {"a: ''", "{a: ''}"},
	    {"\"k\": v", "{'k': v}"},
	    {"- 1\n- [2, '3']\n- {b: c}\n-\n", "[1, [2, '3'], {b: c}, ]"},
	    {"a: x # comment\n# another\nb: 'y # not a comment'", "{a: x, b: 'y # not a comment'}"},
	    {"a: \"${VAR:-x}\"\nb: $$HOME", "{a: '${VAR:-x}', b: $$HOME}"},
	};

	(void)state;
	run_dump_cases(cases, ARRAY_SIZE(cases));
}

/* The quoted flag, the length and the arena string of scalars. */
static void test_scalar_fields(void **state)
{
	struct parsed p;
	struct cnode *v;

	(void)state;
	parse(&p, "plain: yes\nquoted: \"yes\"\nlit: |\n  a\nfold: >\n  b\nempty:\n");
	v = cnode_map_get(p.docs[0], "plain");
	assert_false(v->quoted);
	assert_string_equal(v->value, "yes");
	assert_int_equal(v->len, 3);
	assert_true(cnode_map_get(p.docs[0], "quoted")->quoted);
	assert_true(cnode_map_get(p.docs[0], "lit")->quoted);
	assert_true(cnode_map_get(p.docs[0], "fold")->quoted);
	v = cnode_map_get(p.docs[0], "empty");
	assert_false(v->quoted);
	assert_int_equal(v->len, 0);
	assert_string_equal(v->value, "");
	assert_true(cnode_is_null(v));
	assert_false(cnode_is_null(cnode_map_get(p.docs[0], "quoted")));
	assert_false(cnode_map_get(p.docs[0], "plain")->quoted);
	parsed_free(&p);
}

static void test_marks_nested(void **state)
{
	static const char text[] = "services:\n"               /* 1 */
				   "  web:\n"                  /* 2 */
				   "    image: nginx\n"        /* 3 */
				   "    ports:\n"              /* 4 */
				   "      - \"80:80\"\n"       /* 5 */
				   "      - target: 443\n"     /* 6 */
				   "        published: 8443\n" /* 7 */
				   "    env: {A: 1, B: [x, y]}\n";
	struct parsed p;
	struct cnode *root, *services, *web, *ports, *env;

	(void)state;
	parse(&p, text);
	root = p.docs[0];
	assert_mark(root, 1, 1);
	assert_mark(cnode_key(root, 0), 1, 1);
	services = cnode_val(root, 0);
	assert_mark(services, 2, 3);
	assert_mark(cnode_key(services, 0), 2, 3);
	web = cnode_map_get(services, "web");
	assert_mark(web, 3, 5);
	assert_mark(cnode_key(web, 0), 3, 5);
	assert_mark(cnode_map_get(web, "image"), 3, 12);
	ports = cnode_map_get(web, "ports");
	assert_int_equal(ports->kind, CNODE_SEQ);
	assert_mark(ports, 5, 7);
	assert_mark(ports->items[0], 5, 9);
	assert_mark(ports->items[1], 6, 9);
	assert_mark(cnode_map_get(ports->items[1], "target"), 6, 17);
	assert_mark(cnode_key(ports->items[1], 1), 7, 9);
	assert_mark(cnode_map_get(ports->items[1], "published"), 7, 20);
	env = cnode_map_get(web, "env");
	assert_mark(env, 8, 10);
	assert_mark(cnode_map_get(env, "A"), 8, 14);
	assert_mark(cnode_map_get(env, "B"), 8, 20);
	assert_mark(cnode_map_get(env, "B")->items[1], 8, 24);
	assert_string_equal(root->mark.file, "t.yaml");
	assert_ptr_equal(root->mark.file, cnode_map_get(env, "B")->mark.file);
	parsed_free(&p);
}

/* libyaml turns CRLF into one line break: lines keep counting right. */
static void test_crlf(void **state)
{
	static const char text[] = "a: b\r\n"
				   "c:\r\n"
				   "  d: e\r\n"
				   "  f: |\r\n"
				   "    l1\r\n"
				   "    l2\r\n"
				   "g: \"x\r\n"
				   "  y\"\r\n"
				   "h: i\r\n";
	struct parsed p;
	struct cnode *c;

	(void)state;
	parse(&p, text);
	c = cnode_map_get(p.docs[0], "c");
	assert_mark(cnode_key(c, 0), 3, 3);
	assert_mark(cnode_map_get(c, "d"), 3, 6);
	assert_string_equal(cnode_map_get(c, "f")->value, "l1\nl2\n");
	assert_string_equal(cnode_map_get(p.docs[0], "g")->value, "x y");
	assert_mark(cnode_key(p.docs[0], 3), 9, 1);
	assert_mark(cnode_map_get(p.docs[0], "h"), 9, 4);
	parsed_free(&p);
}

/* ---- anchors and aliases ------------------------------------------------------------ */

static void test_alias_shares_node(void **state)
{
	struct parsed p;
	struct cnode *root, *x, *z;

	(void)state;
	parse(&p, "x: &a {k: v}\ny: *a\nz: [*a, *a, &s str, *s]\n");
	root = p.docs[0];
	x = cnode_map_get(root, "x");
	z = cnode_map_get(root, "z");
	assert_int_equal(x->kind, CNODE_MAP);
	assert_ptr_equal(cnode_map_get(root, "y"), x);
	assert_ptr_equal(z->items[0], x);
	assert_ptr_equal(z->items[1], x);
	assert_ptr_equal(z->items[3], z->items[2]);
	assert_string_equal(z->items[3]->value, "str");
	/* the shared node keeps the mark of its definition */
	assert_mark(cnode_map_get(root, "y"), 1, 4);
	parsed_free(&p);
}

/* A redefined anchor: aliases after the second definition see the second. */
static void test_anchor_redefined(void **state)
{
	static const struct dump_case cases[] = {
	    {"a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "{a: 1, b: 1, c: 2, d: 2}"},
	    {"a: &x [1]\nb: *x\nc: &x {k: v}\nd: *x\n", "{a: [1], b: [1], c: {k: v}, d: {k: v}}"},
	    /* an inner redefinition inside the outer anchor's own value */
	    {"a: &x [&x 1, *x]\nb: *x\n", "{a: [1, 1], b: [1, 1]}"},
	};

	(void)state;
	run_dump_cases(cases, ARRAY_SIZE(cases));
}

static void test_alias_errors(void **state)
{
	static const struct err_case cases[] = {
	    {"a: *nope\n", "t.yaml:1:4: unknown anchor 'nope' referenced"},
	    {"a: 1\nb:\n  - x\n  - *nope\n", "t.yaml:4:5: unknown anchor 'nope' referenced"},
	    {"a: &a [1, *a]\n", "t.yaml:1:11: anchor 'a' value contains itself"},
	    {"a: &a {b: {c: *a}}\n", "t.yaml:1:15: anchor 'a' value contains itself"},
	    /* anchors are scoped to their document */
	    {"a: &a 1\n---\nb: *a\n", "t.yaml:3:4: unknown anchor 'a' referenced"},
	    /* an alias used before its anchor */
	    {"a: *x\nb: &x 1\n", "t.yaml:1:4: unknown anchor 'x' referenced"},
	};

	(void)state;
	run_err_cases(cases, ARRAY_SIZE(cases));
}

/* ---- merge keys -------------------------------------------------------------------- */

static void test_merge(void **state)
{
	static const struct dump_case cases[] = {
	    /* single: explicit keys win, merged pairs take the place of << */
	    {"b: &b {x: 1, y: 2}\nr:\n  <<: *b\n  y: 3\n", "{b: {x: 1, y: 2}, r: {x: 1, y: 3}}"},
	    {"b: &b {x: 1, y: 2}\nr:\n  y: 3\n  <<: *b\n", "{b: {x: 1, y: 2}, r: {y: 3, x: 1}}"},
	    /* list: earlier maps win over later ones */
	    {"a: &a {x: a}\nb: &b {x: b, y: b}\nr:\n  <<: [*a, *b]\n",
	     "{a: {x: a}, b: {x: b, y: b}, r: {x: a, y: b}}"},
	    {"a: &a {x: a}\nb: &b {x: b, y: b}\nr:\n  <<: [*b, *a]\n",
	     "{a: {x: a}, b: {x: b, y: b}, r: {x: b, y: b}}"},
	    {"a: &a {x: a}\nb: &b {x: b, y: b}\nr:\n  <<: [*a, *b]\n  y: r\n",
	     "{a: {x: a}, b: {x: b, y: b}, r: {x: a, y: r}}"},
	    /* inline maps, alone and in a list */
	    {"r:\n  <<: {x: 1}\n  y: 2\n", "{r: {x: 1, y: 2}}"},
	    {"r: {<<: [{x: 1}, {x: 2, z: 3}], y: 2}\n", "{r: {x: 1, z: 3, y: 2}}"},
	    {"r: {<<: {}, a: 1}\n", "{r: {a: 1}}"},
	    {"r: {<<: [], a: 1}\n", "{r: {a: 1}}"},
	    /* a merged map that merged itself */
	    {"a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nr: {<<: *b, z: 3}\n",
	     "{a: {x: 1}, b: {x: 1, y: 2}, r: {x: 1, y: 2, z: 3}}"},
	    /* merged values are whole values: no deep merge */
	    {"a: &a {env: {A: 1, B: 2}}\nr:\n  <<: *a\n  env: {C: 3}\n",
	     "{a: {env: {A: 1, B: 2}}, r: {env: {C: 3}}}"},
	    /* a quoted << is an ordinary key */
	    {"r:\n  '<<': {x: 1}\n", "{r: {'<<': {x: 1}}}"},
	    {"r:\n  \"<<\": 5\n  x: 1\n", "{r: {'<<': 5, x: 1}}"},
	    {"r:\n  !!str <<: 5\n", "{r: {'<<': 5}}"},
	    /* << as a value is just a string */
	    {"r: <<\n", "{r: <<}"},
	    /* tags of the merged maps survive */
	    {"a: &a {p: !reset []}\nr: {<<: *a}\n", "{a: {p: !reset []}, r: {p: !reset []}}"},
	};

	(void)state;
	run_dump_cases(cases, ARRAY_SIZE(cases));
}

/* A merge builds a new map: the anchored map and its values are shared, not changed. */
static void test_merge_does_not_mutate(void **state)
{
	struct parsed p;
	struct cnode *b, *r, *r2;

	(void)state;
	parse(&p, "b: &b {x: 1, y: [2]}\nr:\n  <<: *b\n  x: 3\nr2:\n  <<: *b\n  z: 4\n");
	b = cnode_map_get(p.docs[0], "b");
	r = cnode_map_get(p.docs[0], "r");
	r2 = cnode_map_get(p.docs[0], "r2");
	assert_int_equal(b->n, 2);
	assert_string_equal(cnode_map_get(b, "x")->value, "1");
	assert_int_equal(r->n, 2);
	assert_string_equal(cnode_map_get(r, "x")->value, "3");
	assert_int_equal(r2->n, 3);
	assert_ptr_not_equal(r, b);
	assert_ptr_not_equal(r->items, b->items);
	/* merged values are the anchored map's own nodes */
	assert_ptr_equal(cnode_map_get(r, "y"), cnode_map_get(b, "y"));
	assert_ptr_equal(cnode_map_get(r2, "y"), cnode_map_get(b, "y"));
	/* the merged map starts where it is written */
	assert_mark(r, 3, 3);
	parsed_free(&p);
}

static void test_merge_errors(void **state)
{
	static const struct err_case cases[] = {
	    {"s: &s foo\nr:\n  <<: *s\n",
	     "t.yaml:3:7: merge key '<<' needs a mapping or a list of mappings to merge, got a "
	     "string"},
	    {"r:\n  x: 1\n  <<: 5\n",
	     "t.yaml:3:7: merge key '<<' needs a mapping or a list of mappings to merge, got a "
	     "number"},
	    {"r:\n  <<:\n  x: 1\n",
	     "t.yaml:2:6: merge key '<<' needs a mapping or a list of mappings to merge, got a "
	     "null"},
	    {"r:\n  <<: [{a: 1}, 2]\n",
	     "t.yaml:2:7: merge key '<<' needs mappings to merge, item 2 of the list is a number"},
	    {"a: &a {x: 1}\nl: &l [x]\nr:\n  <<: [*a, *l]\n",
	     "t.yaml:4:7: merge key '<<' needs mappings to merge, item 2 of the list is a "
	     "sequence"},
	    /* compose-go's decoder wants an alias to name a mapping itself */
	    {"l: &l [{x: 1}]\nr:\n  <<: *l\n",
	     "t.yaml:3:7: merge key '<<' needs a mapping or a list of mappings to merge, got an "
	     "alias to a sequence"},
	    {"r: {<<: *nope}\n", "t.yaml:1:9: unknown anchor 'nope' referenced"},
	};

	(void)state;
	run_err_cases(cases, ARRAY_SIZE(cases));
}

/* ---- tags -------------------------------------------------------------------------- */

static void test_tags(void **state)
{
	static const struct dump_case cases[] = {
	    {"a: !reset 1\nb: !reset [1]\nc: !reset {x: 1}\nd: !reset\n",
	     "{a: !reset 1, b: !reset [1], c: !reset {x: 1}, d: !reset }"},
	    {"a: !override 1\nb: !override\n  - 1\nc: !override\n  x: 1\n",
	     "{a: !override 1, b: !override [1], c: !override {x: 1}}"},
	    {"a: !reset 'q'\nb: !override \"q\"\n", "{a: !reset 'q', b: !override 'q'}"},
	    /* standard tags are no tag */
	    {"a: !!map {x: !!int 1}\nb: !!seq [!!bool true]\nc: !!null ~\n",
	     "{a: {x: 1}, b: [true], c: ~}"},
	    /* tags survive aliases (the node is shared) */
	    {"a: &a !reset [1]\nb: *a\n", "{a: !reset [1], b: !reset [1]}"},
	};
	struct parsed p;

	(void)state;
	run_dump_cases(cases, ARRAY_SIZE(cases));
	/* the field itself, on each kind */
	parse(&p, "a: !reset x\nb: !override []\nc: !reset {}\nd: x\n");
	assert_int_equal(cnode_map_get(p.docs[0], "a")->tag, CNODE_TAG_RESET);
	assert_int_equal(cnode_map_get(p.docs[0], "b")->tag, CNODE_TAG_OVERRIDE);
	assert_int_equal(cnode_map_get(p.docs[0], "c")->tag, CNODE_TAG_RESET);
	assert_int_equal(cnode_map_get(p.docs[0], "d")->tag, CNODE_TAG_NONE);
	assert_false(cnode_map_get(p.docs[0], "a")->quoted);
	parsed_free(&p);
}

static void test_unknown_tags(void **state)
{
	static const struct err_case cases[] = {
	    {"a: !x 5\n", "t.yaml:1:4: unknown tag '!x'"},
	    {"a: 1\nb: !x [1]\n", "t.yaml:2:4: unknown tag '!x'"},
	    {"a:\n  b: !Reset {}\n", "t.yaml:2:6: unknown tag '!Reset'"},
	    {"a: !!foo 5\n", "t.yaml:1:4: unknown tag '!!foo'"},
	    {"%TAG ! tag:example.com,2000:\n---\na: !reset 1\n",
	     "t.yaml:3:4: unknown tag 'tag:example.com,2000:reset'"},
	};

	(void)state;
	run_err_cases(cases, ARRAY_SIZE(cases));
}

/* ---- documents ---------------------------------------------------------------------- */

static void test_multi_document(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a: 1\n---\nb: 2\n...\n---\n- c\n");
	assert_int_equal(p.n, 3);
	assert_string_equal(cnode_map_get(p.docs[0], "a")->value, "1");
	assert_mark(p.docs[1], 3, 1);
	assert_string_equal(cnode_map_get(p.docs[1], "b")->value, "2");
	assert_int_equal(p.docs[2]->kind, CNODE_SEQ);
	assert_mark(p.docs[2], 6, 1);
	parsed_free(&p);
}

static void test_empty_documents(void **state)
{
	static const struct {
		const char *in;
		size_t ndocs;
		const char *want; /* every document's rendering, joined with " | " */
	} cases[] = {
	    {"", 1, "{}"},
	    {"\n\n", 1, "{}"},
	    {"# only a comment\n", 1, "{}"},
	    {"---\n", 1, "{}"},
	    {"---\n...\n", 1, "{}"},
	    {"~\n", 1, "{}"},
	    {"null", 1, "{}"},
	    {"---\n---\n", 2, "{} | {}"},
	    {"a: 1\n---\n", 2, "{a: 1} | {}"},
	    {"---\n# nothing\n---\nb: 2\n", 2, "{} | {b: 2}"},
	    /* a quoted empty string is a value, not an empty document */
	    {"''", 1, "''"},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct px_buf b = PX_BUF_INIT;
		struct parsed p;

		parse(&p, cases[i].in);
		if (p.n != cases[i].ndocs)
			fail_msg("case %zu: %zu documents, want %zu", i, p.n, cases[i].ndocs);
		for (j = 0; j < p.n; j++) {
			if (j > 0)
				px_buf_adds(&b, " | ");
			dump_to(&b, p.docs[j]);
		}
		if (strcmp(px_buf_cstr(&b), cases[i].want) != 0)
			fail_msg("case %zu '%s': got %s, want %s", i, cases[i].in, px_buf_cstr(&b),
				 cases[i].want);
		if (p.docs[0]->kind == CNODE_MAP && p.docs[0]->n == 0)
			assert_non_null(p.docs[0]->mark.file);
		px_buf_release(&b);
		parsed_free(&p);
	}
}

/* ---- keys ---------------------------------------------------------------------------- */

static void test_duplicate_keys(void **state)
{
	static const struct err_case cases[] = {
	    {"a: 1\nb: 2\na: 3\n", "t.yaml:3:1: mapping key 'a' already defined at line 1"},
	    {"a: 1\n'a': 2\n", "t.yaml:2:1: mapping key 'a' already defined at line 1"},
	    {"s:\n  x: {p: 1,\n    p: 2}\n",
	     "t.yaml:3:5: mapping key 'p' already defined at line 2"},
	    {"<<: {a: 1}\n<<: {b: 1}\n", "t.yaml:2:1: mapping key '<<' already defined at line 1"},
	    {"a: 1\nb: &k a\n*k : 2\n", "t.yaml:3:1: mapping key 'a' already defined at line 1"},
	    {"services:\n  web:\n    image: a\n  db:\n    image: b\n  web:\n    image: c\n",
	     "t.yaml:6:3: mapping key 'web' already defined at line 2"},
	    {"? [a]\n: b\n",
	     "t.yaml:1:3: a mapping key must be a string or number, got a sequence"},
	    {"? {a: 1}\n: b\n",
	     "t.yaml:1:3: a mapping key must be a string or number, got a mapping"},
	    {"m: &m {a: 1}\n*m : 2\n",
	     "t.yaml:2:1: a mapping key must be a string or number, got a "
	     "mapping"},
	};
	struct px_buf b = PX_BUF_INIT;
	char *got;
	int i;

	(void)state;
	run_err_cases(cases, ARRAY_SIZE(cases));

	/* a big mapping takes the hashed path */
	for (i = 1; i <= 40; i++)
		px_buf_addf(&b, "k%d: %d\n", i, i);
	px_buf_adds(&b, "k17: again\n");
	got = parse_error(px_buf_cstr(&b));
	assert_string_equal(got, "t.yaml:41:1: mapping key 'k17' already defined at line 17");
	free(got);

	/* a long key is cut in the message */
	px_buf_reset(&b);
	px_buf_adds(&b, "? ");
	for (i = 0; i < 200; i++)
		px_buf_addch(&b, 'x');
	px_buf_adds(&b, "\n: 1\nz: 2\n? ");
	for (i = 0; i < 200; i++)
		px_buf_addch(&b, 'x');
	px_buf_adds(&b, "\n: 2\n");
	got = parse_error(px_buf_cstr(&b));
	assert_non_null(strstr(got, "t.yaml:4:3: mapping key 'xxxxxxxx"));
	assert_non_null(strstr(got, "xxx...' already defined at line 1"));
	assert_true(strlen(got) < 150);
	free(got);
	px_buf_release(&b);
}

/* Keys merged in are not duplicates of explicit ones; unrelated maps may share keys. */
static void test_keys_not_duplicates(void **state)
{
	static const struct dump_case cases[] = {
	    {"a: {x: 1}\nb: {x: 1}\n", "{a: {x: 1}, b: {x: 1}}"},
	    {"a: &a {x: 1}\nb: {<<: *a, x: 2}\n", "{a: {x: 1}, b: {x: 2}}"},
	    {"? 1\n: a\n? 1.0\n: b\n", "{1: a, 1.0: b}"},
	};

	(void)state;
	run_dump_cases(cases, ARRAY_SIZE(cases));
}

/* ---- limits ------------------------------------------------------------------------ */

static char *billion_laughs(void)
{
	static const char names[] = "abcdefghi";
	struct px_buf b = PX_BUF_INIT;
	size_t i, j;

	px_buf_adds(&b, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
			"\"lol\",\"lol\"]\n");
	for (i = 1; i < 9; i++) {
		px_buf_addf(&b, "%c: &%c [", names[i], names[i]);
		for (j = 0; j < 10; j++)
			px_buf_addf(&b, "%s*%c", j ? "," : "", names[i - 1]);
		px_buf_adds(&b, "]\n");
	}
	return px_buf_detach(&b, NULL);
}

static void test_alias_bomb(void **state)
{
	char *bomb = billion_laughs();
	char *got;

	(void)state;
	/* 10^9 nodes expanded: refused once the count passes the default million, at the
	 * alias that crosses it (level f, 10^5 nodes per alias of e) */
	got = parse_error(bomb);
	assert_string_equal(got, "t.yaml:6:29: document too large after expanding aliases (more "
				 "than 1000000 nodes): an alias bomb?");
	free(got);
	free(bomb);
}

/* The budget counts every node once per alias: exact at the boundary. */
static void test_expanded_node_budget(void **state)
{
	/* {a: [1, 2], b: *a}: map, a, seq, 1, 2, b = 6, plus 3 for the alias = 9 */
	static const char text[] = "a: &a [1, 2]\nb: *a\n";
	static const char merges[] = "a: &a {x: 1, y: 2, z: 3}\nb: {<<: *a}\nc: {<<: *a}\n"
				     "d: {<<: *a}\n";
	struct cnode_limits lim = CNODE_LIMITS_DEFAULT;
	struct parsed p;
	char *got;

	(void)state;
	lim.max_expanded_nodes = 9;
	parse_len(&p, text, strlen(text), &lim);
	parsed_free(&p);
	lim.max_expanded_nodes = 8;
	got = parse_error_len(text, strlen(text), &lim);
	assert_string_equal(got, "t.yaml:2:4: document too large after expanding aliases (more "
				 "than 8 nodes): an alias bomb?");
	free(got);
	/* merges are counted through their aliases too: 9 for a, 10 for each merge */
	lim.max_expanded_nodes = 30;
	got = parse_error_len(merges, strlen(merges), &lim);
	assert_string_equal(got, "t.yaml:4:4: document too large after expanding aliases (more "
				 "than 30 nodes): an alias bomb?");
	free(got);
}

static void test_depth_limit(void **state)
{
	struct cnode_limits lim = CNODE_LIMITS_DEFAULT;
	struct px_buf b = PX_BUF_INIT;
	struct parsed p;
	char *got;
	int i;

	(void)state;
	/* 256 nested sequences: the default limit exactly */
	for (i = 0; i < 256; i++)
		px_buf_addch(&b, '[');
	for (i = 0; i < 256; i++)
		px_buf_addch(&b, ']');
	parse(&p, px_buf_cstr(&b));
	parsed_free(&p);

	px_buf_reset(&b);
	for (i = 0; i < 100000; i++)
		px_buf_addch(&b, '[');
	got = parse_error(px_buf_cstr(&b));
	assert_string_equal(got, "t.yaml:1:257: nesting too deep (more than 256 levels)");
	free(got);

	/* block style, and a scalar one level too deep */
	lim.max_depth = 3;
	got = parse_error_len("a:\n  b:\n    c: 1\n", 17, &lim);
	assert_string_equal(got, "t.yaml:3:5: nesting too deep (more than 3 levels)");
	free(got);

	/* aliases count at the depth where they are used */
	lim.max_depth = 4;
	parse_len(&p, "a: &a [[1]]\nb: *a\n", 18, &lim);
	parsed_free(&p);
	got = parse_error_len("a: &a [[1]]\nc: [*a]\n", 20, &lim);
	assert_string_equal(got, "t.yaml:2:5: nesting too deep after expanding aliases (more than "
				 "4 levels)");
	free(got);
	px_buf_release(&b);
}

static void test_scalar_limit(void **state)
{
	size_t big = (size_t)10 << 20;
	struct cnode_limits lim = CNODE_LIMITS_DEFAULT;
	char *text = malloc(big + 16);
	struct parsed p;
	char *got;

	(void)state;
	assert_non_null(text);
	memcpy(text, "a: ", 3);
	memset(text + 3, 'x', big);
	memcpy(text + 3 + big, "\nb: 1\n", 7);

	/* the default limit (1 MiB) refuses a 10 MiB value */
	got = parse_error_len(text, big + 9, NULL);
	assert_string_equal(got,
			    "t.yaml:1:4: value too long: 10485760 bytes (the limit is 1048576)");
	free(got);

	/* a larger limit takes it */
	lim.max_scalar_len = (size_t)16 << 20;
	parse_len(&p, text, big + 9, &lim);
	assert_int_equal(cnode_map_get(p.docs[0], "a")->len, big);
	assert_string_equal(cnode_map_get(p.docs[0], "b")->value, "1");
	parsed_free(&p);

	/* keys are scalars too; the limit is inclusive */
	lim.max_scalar_len = 3;
	parse_len(&p, "abc: def", 8, &lim);
	parsed_free(&p);
	got = parse_error_len("abcd: 1", 7, &lim);
	assert_string_equal(got, "t.yaml:1:1: value too long: 4 bytes (the limit is 3)");
	free(got);
	free(text);
}

/* ---- bad input --------------------------------------------------------------------- */

static void test_invalid_encoding(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {"a: b\nc: \xff\n", 9,
	     "t.yaml:2:4: invalid UTF-8 (invalid leading UTF-8 octet, #FF): a compose file must be "
	     "UTF-8 text"},
	    /* reported at the bad byte */
	    {"a: \xc3\x28\n", 6,
	     "t.yaml:1:5: invalid UTF-8 (invalid trailing UTF-8 octet, #28): a compose file must "
	     "be UTF-8 text"},
	    {"a: \xc3\xa9\xc3\xa9 \xe2\x82", 10,
	     "t.yaml:1:7: invalid UTF-8 (incomplete UTF-8 octet sequence): a compose file must be "
	     "UTF-8 text"},
	    {"a: \xc0\x80\n", 6,
	     "t.yaml:1:4: invalid UTF-8 (invalid length of a UTF-8 sequence): a compose file "
	     "must be UTF-8 text"},
	    {"a: \xed\xa0\x80\n", 7,
	     "t.yaml:1:4: invalid UTF-8 (invalid Unicode character, #D800): a compose file must "
	     "be UTF-8 text"},
	    /* after a BOM and a CRLF line */
	    {"\xef\xbb\xbfx: 1\r\ny: \xfe\n", 15,
	     "t.yaml:2:4: invalid UTF-8 (invalid leading UTF-8 octet, #FE): a compose file must be "
	     "UTF-8 text"},
	    {"a: \x1b[0m\n", 9, "t.yaml:1:4: control characters are not allowed (#1B)"},
	    {"a: b\nc: x\0y\n", 11,
	     "t.yaml:2:5: NUL byte in the file: a compose file must be text"},
	    {"\0", 1, "t.yaml:1:1: NUL byte in the file: a compose file must be text"},
	    {"a: \"x\\0y\"\n", 10, "t.yaml:1:4: a string cannot contain a NUL character"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = parse_error_len(cases[i].in, cases[i].len, NULL);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
		free(got);
	}
}

/* A UTF-8 BOM is allowed and not counted in columns. */
static void test_bom(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "\xef\xbb\xbf"
		  "a: \xc3\xa9t\xc3\xa9\nb: x\n");
	assert_string_equal(cnode_map_get(p.docs[0], "a")->value, "\xc3\xa9t\xc3\xa9");
	assert_mark(cnode_key(p.docs[0], 0), 1, 1);
	assert_mark(cnode_map_get(p.docs[0], "b"), 2, 4);
	parsed_free(&p);
}

static void test_syntax_errors(void **state)
{
	static const struct err_case cases[] = {
	    {"a: [1, 2",
	     "t.yaml:2:1: did not find expected ',' or ']' while parsing a flow sequence"},
	    {"a: {b: 1",
	     "t.yaml:2:1: did not find expected ',' or '}' while parsing a flow mapping"},
	    {"a: \"abc",
	     "t.yaml:1:8: found unexpected end of stream while scanning a quoted scalar"},
	    {"a:\n  b: 1\n c: 2\n",
	     "t.yaml:3:2: did not find expected key while parsing a block mapping"},
	    {"a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context"},
	    {"a:\n\t- b\n",
	     "t.yaml:2:1: found character that cannot start any token while scanning for the next "
	     "token"},
	    {"a: &\n", "t.yaml:1:5: did not find expected alphabetic or numeric character while "
		       "scanning an anchor"},
	};

	(void)state;
	run_err_cases(cases, ARRAY_SIZE(cases));
}

/* ---- files ------------------------------------------------------------------------- */

static void test_parse_file_anchors(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	char *path = data_path("anchors.yaml");
	struct cnode **docs;
	struct cnode *services, *api, *worker, *db, *common, *wenv;
	size_t n;

	(void)state;
	if (cnode_parse_file(a, path, NULL, &docs, &n, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(n, 1);
	assert_string_equal(docs[0]->mark.file, path);
	common = cnode_map_get(docs[0], "x-common");
	services = cnode_map_get(docs[0], "services");
	api = cnode_map_get(services, "api");
	worker = cnode_map_get(services, "worker");
	db = cnode_map_get(services, "db");

	/* api: both merged in place of the <<, its own restart (after them) wins */
	{
		char *got = dump(api);

		assert_string_equal(got, "{environment: {TZ: UTC, LOG_LEVEL: info}, labels: "
					 "[team=web], logging: {driver: json-file}, image: "
					 "example/api:1.2, restart: always}");
		free(got);
	}
	assert_ptr_equal(cnode_map_get(api, "labels"), cnode_map_get(common, "labels"));
	assert_mark(api, 16, 5);
	assert_mark(cnode_map_get(api, "restart"), 18, 14);

	wenv = cnode_map_get(worker, "environment");
	assert_string_equal(cnode_map_get(wenv, "LOG_LEVEL")->value, "debug");
	assert_string_equal(cnode_map_get(wenv, "TZ")->value, "UTC");
	assert_string_equal(cnode_map_get(cnode_map_get(common, "environment"), "LOG_LEVEL")->value,
			    "info");
	assert_ptr_equal(cnode_map_get(db, "environment"), cnode_map_get(common, "environment"));
	assert_string_equal(cnode_map_get(worker, "restart")->value, "unless-stopped");
	cnode_arena_free(a);
	free(path);
}

static void test_parse_file_multi(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	char *path = data_path("multi.yaml");
	struct cnode **docs;
	struct cnode *svc;
	size_t n;

	(void)state;
	if (cnode_parse_file(a, path, NULL, &docs, &n, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	assert_int_equal(n, 3);
	svc = cnode_map_get(cnode_map_get(docs[1], "services"), "a");
	assert_int_equal(cnode_map_get(svc, "command")->tag, CNODE_TAG_RESET);
	assert_int_equal(cnode_map_get(svc, "command")->kind, CNODE_SEQ);
	assert_int_equal(cnode_map_get(svc, "ports")->tag, CNODE_TAG_OVERRIDE);
	/* a node starts at its tag */
	assert_mark(cnode_map_get(svc, "ports"), 9, 12);
	assert_mark(cnode_map_get(svc, "ports")->items[0], 10, 9);
	assert_int_equal(docs[2]->kind, CNODE_MAP);
	assert_int_equal(docs[2]->n, 0);
	cnode_arena_free(a);
	free(path);
}

static void test_parse_file_errors(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode **docs;
	size_t n;

	(void)state;
	assert_int_equal(cnode_parse_file(a, "/nonexistent/compose.yaml", NULL, &docs, &n, &err),
			 -1);
	assert_string_equal(px_error_msg(&err),
			    "cannot read compose file '/nonexistent/compose.yaml': "
			    "No such file or directory");
	assert_int_equal(err.errnum, 2);
	px_error_clear(&err);
	assert_int_equal(cnode_parse_file(a, "/", NULL, &docs, &n, &err), -1);
	assert_string_equal(px_error_msg(&err), "cannot read compose file '/': Is a directory");
	px_error_clear(&err);
	cnode_arena_free(a);
}

/* ---- arena, constructors, queries -------------------------------------------------- */

static void test_arena(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	size_t sizes[] = {1, 3, 16, 17, 100, 5000, 70000, 2 << 20, 8, 1};
	char *prev[ARRAY_SIZE(sizes)];
	size_t i, j, k;
	char *s;

	(void)state;
	for (k = 0; k < 50; k++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			unsigned char *p = cnode_alloc(a, sizes[i]);

			assert_int_equal((uintptr_t)p % 16, 0);
			for (j = 0; j < sizes[i]; j++)
				if (p[j] != 0)
					fail_msg("byte %zu of a %zu-byte allocation is not zero", j,
						 sizes[i]);
			memset(p, 0xA5, sizes[i]);
			prev[i] = (char *)p;
		}
		/* later allocations never overlap earlier ones */
		for (i = 0; i < ARRAY_SIZE(sizes); i++)
			for (j = 0; j < sizes[i]; j++)
				if ((unsigned char)prev[i][j] != 0xA5)
					fail_msg("allocation %zu was overwritten", i);
	}
	s = cnode_strndup(a, "hello world", 5);
	assert_string_equal(s, "hello");
	s = cnode_strdup(a, "");
	assert_string_equal(s, "");
	s = cnode_strndup(a, "a\0b", 3);
	assert_memory_equal(s, "a\0b", 4);
	cnode_arena_free(a);
	cnode_arena_free(NULL);
}

static void test_constructors(void **state)
{
	struct cnode_arena *a = cnode_arena_new();
	struct cnode_mark m = {"f.yaml", 3, 7};
	char buf[8] = "value";
	struct cnode *s, *q, *seq, *map, *clone;

	(void)state;
	s = cnode_new_scalar(a, buf, false, m);
	buf[0] = 'X'; /* the value is copied */
	assert_string_equal(s->value, "value");
	assert_int_equal(s->len, 5);
	assert_int_equal(s->kind, CNODE_SCALAR);
	assert_int_equal(s->tag, CNODE_TAG_NONE);
	assert_false(s->quoted);
	assert_mark(s, 3, 7);
	q = cnode_new_scalar(a, "q", true, m);
	assert_true(q->quoted);

	seq = cnode_new_seq(a, 2, m);
	assert_int_equal(seq->kind, CNODE_SEQ);
	assert_int_equal(seq->n, 2);
	assert_null(seq->items[0]);
	assert_null(seq->items[1]);
	seq->items[0] = s;
	seq->items[1] = q;

	map = cnode_new_map(a, 2, m);
	assert_int_equal(map->kind, CNODE_MAP);
	assert_int_equal(map->n, 2);
	map->items[0] = cnode_new_scalar(a, "k1", false, m);
	map->items[1] = s;
	map->items[2] = cnode_new_scalar(a, "k2", false, m);
	map->items[3] = seq;
	assert_ptr_equal(cnode_map_get(map, "k2"), seq);
	assert_ptr_equal(cnode_val(map, 0), s);
	assert_null(cnode_map_get(map, "k3"));
	assert_null(cnode_map_get(seq, "k1"));
	assert_null(cnode_map_get(NULL, "k1"));

	/* a clone's items can change without touching the original */
	clone = cnode_clone(a, map);
	assert_ptr_not_equal(clone, map);
	assert_ptr_not_equal(clone->items, map->items);
	clone->items[1] = q;
	assert_ptr_equal(cnode_map_get(map, "k1"), s);
	assert_ptr_equal(cnode_map_get(clone, "k1"), q);
	clone = cnode_clone(a, seq);
	clone->items[0] = q;
	assert_ptr_equal(seq->items[0], s);
	clone = cnode_clone(a, s);
	assert_string_equal(clone->value, "value");

	map = cnode_new_map(a, 0, m);
	assert_int_equal(map->n, 0);
	cnode_arena_free(a);
}

/* A collection's items live in its own block, right after it (node.h): every item of
 * maps and sequences of every size, made between scalars and other allocations and
 * cloned, stays as written, and cnode_alloc() stays 16-byte aligned after a 40-byte node. */
static void test_items_layout(void **state)
{
	static const size_t counts[] = {0, 1, 2, 3, 7, 16, 33, 1000, 70000};
	struct cnode_arena *a = cnode_arena_new();
	struct cnode_mark m = {"f.yaml", 1, 1};
	struct cnode *colls[2 * ARRAY_SIZE(counts)], *clones[2 * ARRAY_SIZE(counts)];
	struct cnode *s = cnode_new_scalar(a, "v", false, m);
	size_t i, j, nitems;

	(void)state;
	for (i = 0; i < 2 * ARRAY_SIZE(counts); i++) {
		size_t n = counts[i / 2];
		struct cnode *c = i % 2 ? cnode_new_map(a, n, m) : cnode_new_seq(a, n, m);
		unsigned char *p;

		assert_int_equal((uintptr_t)c % _Alignof(struct cnode), 0);
		nitems = i % 2 ? 2 * n : n;
		for (j = 0; j < nitems; j++) {
			assert_null(c->items[j]);
			c->items[j] = (struct cnode *)((uintptr_t)s + 8 * (i * 100003 + j));
		}
		colls[i] = c;
		/* odd-sized neighbours on both sides */
		(void)cnode_new_scalar(a, "between", true, m);
		p = cnode_alloc(a, 24);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xA5, 24);
		(void)cnode_strdup(a, "a string");
	}
	for (i = 0; i < 2 * ARRAY_SIZE(counts); i++) {
		clones[i] = cnode_clone(a, colls[i]);
		assert_int_equal(clones[i]->n, colls[i]->n);
		assert_int_equal(clones[i]->kind, colls[i]->kind);
		if (colls[i]->n > 0) {
			assert_ptr_not_equal(clones[i]->items, colls[i]->items);
			clones[i]->items[0] = s; /* changing the clone leaves the original */
		}
	}
	for (i = 0; i < 2 * ARRAY_SIZE(counts); i++) {
		nitems = colls[i]->kind == CNODE_MAP ? 2 * colls[i]->n : colls[i]->n;
		for (j = 0; j < nitems; j++) {
			struct cnode *want = (struct cnode *)((uintptr_t)s + 8 * (i * 100003 + j));

			if (colls[i]->items[j] != want)
				fail_msg("item %zu of collection %zu was overwritten", j, i);
			if (j > 0 && clones[i]->items[j] != want)
				fail_msg("item %zu of clone %zu differs", j, i);
		}
	}
	cnode_arena_free(a);
}

static void test_queries(void **state)
{
	static const struct {
		const char *yaml;
		bool is_null;
		const char *kind;
	} cases[] = {
	    {"~", true, "null"},           {"null", true, "null"},     {"Null", true, "null"},
	    {"NULL", true, "null"},        {"", true, "null"},         {"nULL", false, "string"},
	    {"'null'", false, "string"},   {"''", false, "string"},    {"true", false, "boolean"},
	    {"False", false, "boolean"},   {"yes", false, "string"},   {"1", false, "number"},
	    {"-12", false, "number"},      {"0x1F", false, "number"},  {"0o17", false, "number"},
	    {"1_000", false, "number"},    {"1.5", false, "number"},   {"-.5e3", false, "number"},
	    {".inf", false, "number"},     {"-.Inf", false, "number"}, {".nan", false, "number"},
	    {"1.2.3", false, "string"},    {"80:80", false, "string"}, {"1e", false, "string"},
	    {"\"1\"", false, "string"},    {"[1]", false, "sequence"}, {"{a: 1}", false, "mapping"},
	    {"|\n  x\n", false, "string"}, {"0x", false, "string"},    {"+", false, "string"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct px_buf b = PX_BUF_INIT;
		struct parsed p;
		struct cnode *v;

		px_buf_addf(&b, "v: %s\n", cases[i].yaml);
		parse(&p, px_buf_cstr(&b));
		v = cnode_map_get(p.docs[0], "v");
		if (cnode_is_null(v) != cases[i].is_null)
			fail_msg("cnode_is_null(%s) is %d", cases[i].yaml, !cases[i].is_null);
		if (strcmp(cnode_kind_name(v), cases[i].kind) != 0)
			fail_msg("cnode_kind_name(%s) is %s, want %s", cases[i].yaml,
				 cnode_kind_name(v), cases[i].kind);
		px_buf_release(&b);
		parsed_free(&p);
	}
	assert_true(cnode_is_null(NULL));
	assert_string_equal(cnode_kind_name(NULL), "null");
}

static void test_cnode_error(void **state)
{
	struct cnode n = {.kind = CNODE_SCALAR, .value = "x", .mark = {"dir/c.yaml", 12, 5}};
	struct px_error err = PX_ERROR_INIT;

	(void)state;
	assert_int_equal(cnode_error(&err, &n, "expected a %s, got %d", "mapping", 42), -1);
	assert_string_equal(px_error_msg(&err), "dir/c.yaml:12:5: expected a mapping, got 42");
	assert_int_equal(err.errnum, 0);
	assert_int_equal(cnode_error(&err, NULL, "no node"), -1);
	assert_string_equal(px_error_msg(&err), "no node");
	px_error_clear(&err);
}

/* ---- a big compose file ------------------------------------------------------------ */

static char *big_compose(int nservices)
{
	struct px_buf b = PX_BUF_INIT;
	int i;

	px_buf_adds(&b, "name: big\nservices:\n");
	for (i = 0; i < nservices; i++) {
		px_buf_addf(&b,
			    "  svc%d:\n"
			    "    image: \"registry.example.com/team/svc%d:1.%d\"\n"
			    "    environment:\n"
			    "      SERVICE_NAME: svc%d\n"
			    "      LOG_LEVEL: info\n"
			    "      PORT: \"%d\"\n"
			    "      DATABASE_URL: postgres://app:secret@db:5432/app%d\n"
			    "      FEATURE_FLAG: \"true\"\n"
			    "    ports:\n"
			    "      - \"%d:8080\"\n"
			    "    volumes:\n"
			    "      - ./data/svc%d:/var/lib/svc\n"
			    "      - cache:/cache:ro\n"
			    "    depends_on:\n"
			    "      - svc%d\n",
			    i, i, i % 10, i, 8080 + i, i, 20000 + i, i, i > 0 ? i - 1 : 1);
	}
	px_buf_adds(&b, "volumes:\n  cache: {}\n");
	return px_buf_detach(&b, NULL);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 2,000 services parse correctly; the time is printed, never asserted. */
static void test_big_compose(void **state)
{
	char *text = big_compose(2000);
	size_t len = strlen(text);
	double best = 1e9;
	int run;

	(void)state;
	for (run = 0; run < 5; run++) {
		struct cnode *services, *svc;
		struct parsed p;
		double t0 = now_ms(), t;

		parse_len(&p, text, len, NULL);
		t = now_ms() - t0;
		if (t < best)
			best = t;
		services = cnode_map_get(p.docs[0], "services");
		assert_int_equal(services->n, 2000);
		svc = cnode_map_get(services, "svc1999");
		assert_non_null(svc);
		assert_string_equal(cnode_map_get(cnode_map_get(svc, "environment"), "PORT")->value,
				    "10079");
		assert_string_equal(cnode_map_get(svc, "depends_on")->items[0]->value, "svc1998");
		assert_mark(cnode_key(services, 1999), 2 + 1999 * 15 + 1, 3);
		parsed_free(&p);
	}
	print_message("    2000 services, %zu bytes: best parse of 5 %.2f ms\n", len, best);
	free(text);
}

/* Where p lies in this process's address space (/proc/self/smaps): the start and length of
 * its mapping and whether that is marked for huge pages (VmFlags "hg", MADV_HUGEPAGE). */
struct vma {
	uintptr_t start, len;
	bool huge;
};

static struct vma vma_of(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	struct vma v = {0}, cur = {0};
	bool in = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			cur = (struct vma){lo, hi - lo, false};
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			cur.huge = strstr(line, " hg") != NULL;
			v = cur;
		}
	}
	fclose(f);
	assert_true(v.len > 0);
	return v;
}

/* This process's address space (VmSize), KiB. */
static size_t vm_size_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kib = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmSize: %zu kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

/* The arena's big chunks are huge pages (node.c chunk_new): 2 MiB-aligned mappings marked
 * MADV_HUGEPAGE, only within what the file's size says the load will fill (a small file
 * gets none), and each unmapped whole when the arena goes. */
static void test_arena_huge_pages(void **state)
{
	char *text = big_compose(4000);
	struct parsed p, small;
	struct vma v;
	const struct cnode *last;
	void *probe = NULL;
	size_t before;

	(void)state;
	before = vm_size_kib();
	parse(&p, text);
	last = cnode_map_get(cnode_map_get(p.docs[0], "services"), "svc3999");
	assert_non_null(last);
	v = vma_of(last);
	assert_true(v.huge);
	assert_int_equal(v.start % (2u << 20), 0);
	assert_int_equal(v.len % (2u << 20), 0);
	parsed_free(&p);
	/* every chunk unmapped whole, the alignment's slack too (measured under glibc's malloc,
	 * which gives back what the parse took; valgrind's keeps it) */
	print_message("    address space: %zu KiB before, %zu KiB after\n", before, vm_size_kib());
	assert_true(vm_size_kib() < before + 1024);
	/* 6 MiB allocated with no YAML parsed into the arena: no budget, no huge page */
	small.a = cnode_arena_new();
	for (int i = 0; i < 6400; i++)
		probe = cnode_alloc(small.a, 1000);
	assert_false(vma_of(probe).huge);
	parsed_free(&small);
	/* a small file stays within the chunks before the first huge one */
	parse(&small, "services:\n  a: {image: x}\n");
	assert_false(vma_of(small.docs[0]).huge);
	parsed_free(&small);
	free(text);
}

/* What the parser records for the walks that skip unchanged subtrees (node.h flags). */
static void test_flags(void **state)
{
	const unsigned both = CNODE_NO_DOLLAR | CNODE_NO_TAG;
	struct cnode_arena *a;
	struct cnode *root, *x, *y, *svc, *clone;
	struct parsed p;

	(void)state;
	parse(&p, "x: &x {k: v, l: [1, '${V}']}\n"
		  "y: {<<: *x, m: 1}\n"
		  "z: {a: plain, b: [c, d]}\n"
		  "t: {r: !reset [], s: 1}\n"
		  "o: !override {q: 1}\n"
		  "k: {'$key': 1}\n");
	root = p.docs[0];
	x = cnode_map_get(root, "x");
	y = cnode_map_get(root, "y");
	assert_int_equal(cnode_map_get(x, "k")->flags, both);
	assert_int_equal(cnode_map_get(x, "l")->flags, CNODE_NO_TAG);
	assert_int_equal(x->flags, CNODE_NO_TAG);
	/* merged pairs count: y holds l through <<, its '$' included */
	assert_int_equal(y->flags, CNODE_NO_TAG);
	assert_int_equal(cnode_map_get(root, "z")->flags, both);
	assert_int_equal(cnode_map_get(cnode_map_get(root, "t"), "r")->flags, CNODE_NO_DOLLAR);
	assert_int_equal(cnode_map_get(root, "t")->flags, CNODE_NO_DOLLAR);
	assert_int_equal(cnode_map_get(root, "o")->flags, CNODE_NO_DOLLAR);
	/* keys count too (conservative: only values are interpolated) */
	assert_int_equal(cnode_map_get(root, "k")->flags, CNODE_NO_TAG);
	assert_int_equal(root->flags, 0);
	parsed_free(&p);

	/* only the parser knows: built and copied nodes say nothing */
	parse(&p, "s: {image: x}\n");
	svc = cnode_map_get(p.docs[0], "s");
	assert_int_equal(svc->flags, both);
	clone = cnode_clone(p.a, svc);
	assert_int_equal(clone->flags, 0);
	a = p.a;
	assert_int_equal(cnode_new_scalar(a, "v", false, svc->mark)->flags, 0);
	assert_int_equal(cnode_new_map(a, 0, svc->mark)->flags, 0);
	assert_int_equal(cnode_new_seq(a, 0, svc->mark)->flags, 0);
	parsed_free(&p);
}

/* cnode_new_scalar_ref keeps the pointer; cnode_shared_scalar gives one node per literal. */
static void test_shared_scalars(void **state)
{
	static const char target[] = "target";
	struct cnode_arena *a = cnode_arena_new();
	struct cnode_mark m1 = {"f.yaml", 3, 7}, m2 = {"f.yaml", 9, 1};
	struct cnode *r, *k1, *k2, *k3;

	(void)state;
	r = cnode_new_scalar_ref(a, target, true, m1);
	assert_ptr_equal(r->value, target);
	assert_int_equal(r->len, 6);
	assert_true(r->quoted);
	assert_int_equal(r->kind, CNODE_SCALAR);

	k1 = cnode_shared_scalar(a, target, m1);
	k2 = cnode_shared_scalar(a, target, m2);
	k3 = cnode_shared_scalar(a, "source", m2);
	assert_ptr_equal(k1, k2);
	assert_ptr_not_equal(k1, k3);
	assert_string_equal(k1->value, "target");
	assert_false(k1->quoted);
	assert_mark(k1, 3, 7); /* the first caller's */
	assert_string_equal(k3->value, "source");
	/* more literals than the table holds still get nodes */
	for (int i = 0; i < 200; i++) {
		char *lit = cnode_strdup(a, "x");

		assert_string_equal(cnode_shared_scalar(a, lit, m1)->value, "x");
	}
	cnode_arena_free(a);
}

/* A file is read in pieces as it is parsed: the trees are those of the whole text, and
 * an encoding error far into it still gets its line and column. */
static void test_parse_file_pieces(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300];
	char *text = big_compose(300), *bad, *want, *got;
	size_t len = strlen(text);
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode **docs;
	struct parsed p;
	FILE *f;
	size_t n;

	(void)state;
	assert_true(len > 64 << 10); /* several of libyaml's 16 KiB reads */
	snprintf(dir, sizeof(dir), "%s/test-node-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/compose.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
	if (cnode_parse_file(a, path, NULL, &docs, &n, &err) < 0)
		fail_msg("%s", px_error_msg(&err));
	parse_len(&p, text, len, NULL);
	assert_int_equal(n, p.n);
	want = dump(p.docs[0]);
	got = dump(docs[0]);
	assert_string_equal(got, want);
	free(want);
	free(got);
	parsed_free(&p);

	/* a bad byte in the last service: the same message as for the text */
	bad = strrchr(text, 'v');
	*bad = (char)0xff;
	f = fopen(path, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	assert_int_equal(cnode_parse_file(a, path, NULL, &docs, &n, &err), -1);
	want = parse_error_len(text, len, NULL);
	/* the messages differ only in the file name */
	assert_non_null(strstr(px_error_msg(&err), strchr(want, ':')));
	assert_non_null(strstr(px_error_msg(&err), "invalid UTF-8"));
	free(want);
	px_error_clear(&err);
	cnode_arena_free(a);
	unlink(path);
	rmdir(dir);
	free(text);
}

/* A merge of more keys than fit the small list (MERGE_LIST_MAX) goes through the hash
 * table: the same rules (own keys win, earlier maps win). */
static void test_merge_big(void **state)
{
	struct px_buf b = PX_BUF_INIT;
	struct cnode *m;
	struct parsed p;

	(void)state;
	px_buf_adds(&b, "base: &base {");
	for (int i = 0; i < 40; i++)
		px_buf_addf(&b, "%sk%d: b%d", i ? ", " : "", i, i);
	px_buf_adds(&b, "}\nmore: &more {k0: m0, extra: m1}\n");
	px_buf_adds(&b, "m: {k5: own, <<: [*more, *base], k39: own2}\n");
	parse(&p, px_buf_cstr(&b));
	m = cnode_map_get(p.docs[0], "m");
	assert_int_equal(m->n, 41);
	assert_string_equal(cnode_map_get(m, "k5")->value, "own");
	assert_string_equal(cnode_map_get(m, "k39")->value, "own2");
	assert_string_equal(cnode_map_get(m, "k0")->value, "m0"); /* the earlier map wins */
	assert_string_equal(cnode_map_get(m, "extra")->value, "m1");
	assert_string_equal(cnode_map_get(m, "k20")->value, "b20");
	/* merged pairs take the place of the << */
	assert_string_equal(cnode_key(m, 0)->value, "k5");
	assert_string_equal(cnode_key(m, 1)->value, "k0");
	assert_string_equal(cnode_key(m, 40)->value, "k39");
	parsed_free(&p);
	px_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalar_styles),
	    cmocka_unit_test(test_scalar_fields),
	    cmocka_unit_test(test_marks_nested),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_alias_shares_node),
	    cmocka_unit_test(test_anchor_redefined),
	    cmocka_unit_test(test_alias_errors),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_merge_does_not_mutate),
	    cmocka_unit_test(test_merge_errors),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_unknown_tags),
	    cmocka_unit_test(test_multi_document),
	    cmocka_unit_test(test_empty_documents),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_keys_not_duplicates),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_expanded_node_budget),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_scalar_limit),
	    cmocka_unit_test(test_invalid_encoding),
	    cmocka_unit_test(test_bom),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_parse_file_anchors),
	    cmocka_unit_test(test_parse_file_multi),
	    cmocka_unit_test(test_parse_file_errors),
	    cmocka_unit_test(test_arena),
	    cmocka_unit_test(test_constructors),
	    cmocka_unit_test(test_items_layout),
	    cmocka_unit_test(test_queries),
	    cmocka_unit_test(test_cnode_error),
	    cmocka_unit_test(test_big_compose),
	    cmocka_unit_test(test_arena_huge_pages),
	    cmocka_unit_test(test_merge_big),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_shared_scalars),
	    cmocka_unit_test(test_parse_file_pieces),
	};

	return cmocka_run_group_tests_name("compose_node", tests, NULL, NULL);
}
