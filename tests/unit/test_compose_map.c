/* test_compose_map.c - unit tests for compose/map.c: compose_map_move_all() and
 * compose_map_set_all() give what compose_map_set() one entry at a time gives, on small
 * maps (searched) and big ones (hashed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compose/internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "K=V" entries ("K" alone: no value) into m with compose_map_set, in order. */
static void set_each(struct compose_map *m, const char *const *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char *k = eq != NULL ? strndup(kv[i], (size_t)(eq - kv[i])) : strdup(kv[i]);

		compose_map_set(m, k, eq != NULL ? eq + 1 : NULL);
		free(k);
	}
}

/* m as "K=V,K,..." (owned). */
static char *render(const struct compose_map *m)
{
	struct px_buf b = PX_BUF_INIT;

	for (size_t i = 0; i < m->n; i++) {
		if (i > 0)
			px_buf_addch(&b, ',');
		px_buf_adds(&b, m->v[i].key);
		if (m->v[i].value != NULL)
			px_buf_addf(&b, "=%s", m->v[i].value);
	}
	return px_buf_detach(&b, NULL);
}

struct merge_case {
	const char *name;
	const char *dst[8];
	const char *src[8];
	const char *want;
};

static const struct merge_case cases[] = {
    {"both empty", {NULL}, {NULL}, ""},
    {"into empty", {NULL}, {"A=1", "B=2"}, "A=1,B=2"},
    {"nothing to add", {"A=1"}, {NULL}, "A=1"},
    {"replaced in place, new ones appended", {"A=1", "B=2"}, {"B=3", "C=4"}, "A=1,B=3,C=4"},
    {"the last of a repeated key wins, at its first place",
     {NULL},
     {"A=1", "B=2", "A=3", "B", "C=5"},
     "A=3,B,C=5"},
    {"a value taken away", {"A=1", "B=2"}, {"A"}, "A,B=2"},
    {"the first key", {"A=1", "B=2"}, {"A=9"}, "A=9,B=2"},
    {"empty strings are values", {"A"}, {"A=", "B="}, "A=,B="},
};

static size_t count(const char *const *v, size_t max)
{
	size_t n = 0;

	while (n < max && v[n] != NULL)
		n++;
	return n;
}

/* Each case three ways: compose_map_set one by one (the reference, also checked
 * against the expected text), _move_all and _set_all. */
static void test_small_maps(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct merge_case *tc = &cases[c];
		size_t nd = count(tc->dst, 8), ns = count(tc->src, 8);
		struct compose_map ref = {NULL, 0}, moved = {NULL, 0}, copied = {NULL, 0};
		struct compose_map src = {NULL, 0};
		char *got;

		set_each(&ref, tc->dst, nd);
		set_each(&ref, tc->src, ns);
		got = render(&ref);
		if (strcmp(got, tc->want) != 0)
			fail_msg("%s: compose_map_set gives '%s', want '%s'", tc->name, got,
				 tc->want);
		free(got);

		/* src built by appending, so that repeated keys stay repeated */
		src.v = calloc(ns ? ns : 1, sizeof(*src.v));
		for (size_t i = 0; i < ns; i++) {
			const char *eq = strchr(tc->src[i], '=');

			src.v[i].key = eq != NULL ? strndup(tc->src[i], (size_t)(eq - tc->src[i]))
						  : strdup(tc->src[i]);
			src.v[i].value = eq != NULL ? strdup(eq + 1) : NULL;
		}
		src.n = ns;

		set_each(&copied, tc->dst, nd);
		compose_map_set_all(&copied, &src);
		got = render(&copied);
		if (strcmp(got, tc->want) != 0)
			fail_msg("%s: compose_map_set_all gives '%s', want '%s'", tc->name, got,
				 tc->want);
		free(got);
		assert_int_equal(src.n, ns); /* set_all copies */

		set_each(&moved, tc->dst, nd);
		compose_map_move_all(&moved, &src);
		got = render(&moved);
		if (strcmp(got, tc->want) != 0)
			fail_msg("%s: compose_map_move_all gives '%s', want '%s'", tc->name, got,
				 tc->want);
		free(got);
		assert_int_equal(src.n, 0); /* move_all empties src */
		assert_null(src.v);

		compose_map_release(&ref);
		compose_map_release(&copied);
		compose_map_release(&moved);
	}
}

/* Past the linear size the table must give the same result: 3,000 variables, a third of
 * them already set, some repeated. */
static void test_big_maps(void **state)
{
	struct compose_map ref = {NULL, 0}, got = {NULL, 0}, src = {NULL, 0};
	char key[32], val[32];
	char *a, *b;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "V%d", i * 3);
		snprintf(val, sizeof(val), "old%d", i);
		compose_map_set(&ref, key, val);
		compose_map_set(&got, key, val);
	}
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "V%d", (i * 7) % 2500);
		snprintf(val, sizeof(val), "new%d", i);
		compose_map_set(&ref, key, i % 5 == 0 ? NULL : val);
		/* src keeps repeats: appended, as compose_field_map builds it */
		src.v = realloc(src.v, (src.n + 1) * sizeof(*src.v));
		src.v[src.n].key = strdup(key);
		src.v[src.n].value = i % 5 == 0 ? NULL : strdup(val);
		src.n++;
	}
	compose_map_move_all(&got, &src);
	a = render(&ref);
	b = render(&got);
	assert_int_equal(got.n, ref.n);
	assert_string_equal(b, a);
	free(a);
	free(b);

	/* into an empty map (src's array is reused) */
	compose_map_release(&got);
	compose_map_set_all(&got, &ref);
	a = render(&ref);
	b = render(&got);
	assert_string_equal(b, a);
	free(a);
	free(b);
	compose_map_release(&ref);
	compose_map_release(&got);
	compose_map_release(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_maps),
	    cmocka_unit_test(test_big_maps),
	};

	return cmocka_run_group_tests_name("compose_map", tests, NULL, NULL);
}
