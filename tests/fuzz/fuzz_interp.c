/* fuzz_interp.c - libFuzzer target for compose interpolation and .env parsing: the input
 * is run through interp_string, interp_tree and dotenv_parse with a small fixed
 * environment.  A crash, a leak, a sanitizer report or a broken invariant is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/dotenv.h"
#include "compose/interp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *data, const char *name)
{
	static const char *const vars[][2] = {
	    {"FOO", "first"},
	    {"BAR", ""},
	    {"JSON", "{\"a\":{\"b\":1}}"},
	    {"DOLLAR", "$FOO ${"},
	};

	(void)data;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

static void on_unset(void *data, const char *name)
{
	size_t *count = data;

	(*count)++;
	if (name[0] == '\0') /* a name is never empty */
		abort();
}

/* interp_tree must agree with interp_string, leave keys alone and share what it keeps. */
static void check_tree(const char *s, const char *want, const struct interp_env *env)
{
	struct cnode_arena *a = cnode_arena_new();
	struct cnode_mark mark = {"fuzz.yaml", 1, 1};
	struct px_error err = PX_ERROR_INIT;
	struct cnode *map = cnode_new_map(a, 2, mark), *out = NULL;
	int ret;

	map->items[0] = cnode_new_scalar(a, s, false, mark);
	map->items[1] = cnode_new_scalar(a, s, true, mark);
	map->items[2] = cnode_new_scalar(a, "plain", false, mark);
	map->items[3] = cnode_new_scalar(a, "x", false, mark);
	ret = interp_tree(a, map, env, &out, &err);
	if ((ret == 0) != (want != NULL))
		abort();
	if (ret == 0) {
		if (out->items[0] != map->items[0] || out->items[2] != map->items[2] ||
		    out->items[3] != map->items[3])
			abort();
		if (strcmp(out->items[1]->value, want) != 0 || !out->items[1]->quoted)
			abort();
		if ((out == map) != (strcmp(want, s) == 0))
			abort();
	} else if (strncmp(px_error_msg(&err), "fuzz.yaml:1:1: ", 15) != 0) {
		abort();
	}
	px_error_clear(&err);
	cnode_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t unset = 0;
	struct interp_env env = {lookup, &unset, on_unset};
	struct px_error err = PX_ERROR_INIT;
	struct compose_map m = {NULL, 0};
	char *s = malloc(size + 1), *out = NULL;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (interp_string(s, &env, &out, &err) == 0) {
		if (out == NULL || (strchr(s, '$') == NULL && strcmp(out, s) != 0))
			abort();
	} else if (out != NULL || px_error_msg(&err)[0] == '\0') {
		abort();
	}
	px_error_clear(&err);
	check_tree(s, out, &env);
	free(out);

	if (dotenv_parse("fuzz.env", (const char *)data, size, &env, &m, &err) != 0) {
		if (m.n != 0 || strncmp(px_error_msg(&err), "fuzz.env:", 9) != 0)
			abort();
	}
	for (size_t i = 0; i < m.n; i++)
		if (m.v[i].key == NULL || m.v[i].value == NULL)
			abort();
	px_error_clear(&err);
	compose_map_release(&m);
	free(s);
	return 0;
}
