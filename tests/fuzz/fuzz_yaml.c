/* fuzz_yaml.c - libFuzzer target for compose/node.c: any bytes through cnode_parse under
 * small limits; every tree is walked and checked against the limits, then freed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compose/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that bombs and deep inputs hit the limits within -max_len=65536. */
static const struct cnode_limits limits = {20000, 64, 4096};

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static int same_key(const struct cnode *a, const struct cnode *b)
{
	return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

/* Walk n with aliases expanded (shared nodes visited again), checking the invariants
 * node.h promises; *count gets the nodes visited. */
static void walk(const struct cnode *n, size_t depth, size_t *count)
{
	size_t i, j;

	CHECK(n != NULL);
	CHECK(depth <= limits.max_depth);
	/* the parser's budget is an upper bound on the expanded tree (+1: the empty map of
	 * an empty stream is not counted) */
	CHECK(++*count <= limits.max_expanded_nodes + 1);
	CHECK(n->mark.file != NULL && strcmp(n->mark.file, "fuzz") == 0);
	CHECK(n->mark.line >= 1 && n->mark.col >= 1);
	switch (n->kind) {
	case CNODE_SCALAR:
		CHECK(n->value != NULL);
		CHECK(n->len <= limits.max_scalar_len);
		CHECK(n->value[n->len] == '\0' && strlen(n->value) == n->len);
		(void)cnode_kind_name(n);
		(void)cnode_is_null(n);
		return;
	case CNODE_SEQ:
		for (i = 0; i < n->n; i++)
			walk(n->items[i], depth + 1, count);
		return;
	case CNODE_MAP:
		for (i = 0; i < n->n; i++) {
			const struct cnode *k = cnode_key(n, i);

			CHECK(k != NULL && k->kind == CNODE_SCALAR);
			/* no duplicates, merged keys included (quadratic: small maps only) */
			if (n->n <= 64)
				for (j = 0; j < i; j++)
					CHECK(!same_key(k, cnode_key(n, j)));
			walk(k, depth + 1, count);
			walk(cnode_val(n, i), depth + 1, count);
		}
		CHECK(n->n == 0 || cnode_map_get(n, cnode_key(n, 0)->value) == cnode_val(n, 0));
		return;
	}
	CHECK(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cnode_arena *a = cnode_arena_new();
	struct px_error err = PX_ERROR_INIT;
	struct cnode **docs = NULL;
	size_t ndocs = 0, i, count = 0;

	if (cnode_parse(a, "fuzz", (const char *)data, size, &limits, &docs, &ndocs, &err) == 0) {
		CHECK(ndocs >= 1 && docs != NULL);
		for (i = 0; i < ndocs; i++)
			walk(docs[i], 1, &count);
		CHECK(count <= limits.max_expanded_nodes + 1);
	} else {
		/* every error names the file and a position */
		CHECK(err.msg != NULL && strncmp(err.msg, "fuzz:", 5) == 0);
	}
	px_error_clear(&err);
	cnode_arena_free(a);
	return 0;
}
