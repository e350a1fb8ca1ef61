/* node.c - compose files as YAML node trees: libyaml's event parser turned into arena
 * nodes with file:line:column, anchors shared, `<<` merges resolved, tags and limits checked. */
#include "compose/node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

/* ---- arena ------------------------------------------------------------------------ */

#define ARENA_ALIGN       16
#define ARENA_FIRST_CHUNK ((size_t)8 << 10)
/* chunks double from 8 KiB up to 512 KiB; past that each is one huge page while the
 * arena's budget for them lasts (arena_expect), else 512 KiB again */
#define ARENA_RAMP_CHUNK ((size_t)512 << 10)
#define HUGE_PAGE        ((size_t)2 << 20)

/*
 * A chunk is filled from both ends: nodes and pointer arrays (16-byte aligned) upwards
 * from its start, strings (unaligned) downwards from its end.  Interleaved, every string
 * would be followed by up to 15 bytes of padding: 1 MiB for a 2,000-service load.
 */
struct arena_chunk {
	struct arena_chunk *next;
	bool mapped; /* mmap(2)ed (chunk_new), else malloc'd */
	size_t size; /* usable bytes after the header */
	size_t used; /* aligned blocks: [0, used) */
	size_t top;  /* strings: [top, size) */
};

/* the header rounded up so that data starts 16-byte aligned (malloc gives 16) */
#define CHUNK_HDR ((sizeof(struct arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

struct cnode_arena {
	struct arena_chunk *head; /* the chunk being filled is always first */
	size_t next_size;         /* size of the next regular chunk (arena_grow) */
	size_t chunked;           /* bytes of regular chunks so far */
	size_t huge_budget;       /* chunked may grow by huge pages up to this (arena_expect) */
	/* cnode_shared_scalar()'s nodes, open addressing on the literal's address */
	struct {
		const char *literal;
		struct cnode *node;
	} keys[64];
};

static inline char *chunk_data(struct arena_chunk *c)
{
	return (char *)c + CHUNK_HDR;
}

/* Chunks this big are mapped directly: a malloc() of that size first merges every small
 * free block back together (malloc_consolidate), and while a file is parsed libyaml
 * frees hundreds of thousands of them — 5 million instructions for 2,000 services. */
#define ARENA_MAP_MIN ((size_t)64 << 10)

/*
 * A chunk of exactly one huge page is mapped on a huge-page boundary and marked
 * MADV_HUGEPAGE: with transparent huge pages ("madvise" or "always", the kernel's
 * choice) its first touch maps all 2 MiB at once instead of one 4 KiB page per fault.
 * A 2,000-service load (9.6 MiB of arena) took 4,040 page faults, 1,990 so: ~1.5 µs each
 * on a VM, 3-4 ms of a 45 ms load.  Without THP the hint does nothing and the chunk
 * faults in 4 KiB pages as any other; with the kernel's defrag "madvise" a fragmented
 * machine may compact memory first — only loads past 1 MiB of arena ask, a few times.
 */
static void *map_huge_page(void)
{
	size_t span = 2 * HUGE_PAGE;
	char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *start;

	if (m == MAP_FAILED)
		return MAP_FAILED;
	start = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (start > m)
		munmap(m, (size_t)(start - m));
	if (start + HUGE_PAGE < m + span)
		munmap(start + HUGE_PAGE, (size_t)(m + span - (start + HUGE_PAGE)));
	(void)madvise(start, HUGE_PAGE, MADV_HUGEPAGE); /* a hint: EINVAL without THP */
	return start;
}

static struct arena_chunk *chunk_new(size_t size)
{
	struct arena_chunk *c = MAP_FAILED;

	if (size > SIZE_MAX - CHUNK_HDR)
		size = SIZE_MAX; /* xmalloc reports and aborts */
	else
		size += CHUNK_HDR;
	if (size == HUGE_PAGE)
		c = map_huge_page();
	else if (size >= ARENA_MAP_MIN)
		c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED) {
		c = xmalloc(size);
		c->mapped = false;
	} else {
		c->mapped = true;
	}
	c->next = NULL;
	c->size = size - CHUNK_HDR;
	c->used = 0;
	c->top = c->size;
	return c;
}

struct cnode_arena *cnode_arena_new(void)
{
	struct cnode_arena *a = xcalloc(1, sizeof(*a));

	a->next_size = ARENA_FIRST_CHUNK;
	return a;
}

void cnode_arena_free(struct cnode_arena *a)
{
	struct arena_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		if (c->mapped)
			munmap(c, c->size + CHUNK_HDR);
		else
			free(c);
	}
	free(a);
}

/* size bytes of c, from its start when align > 1 (a power of two no greater than 16),
 * else from its end; NULL when they do not fit. */
static inline void *chunk_take(struct arena_chunk *c, size_t size, size_t align)
{
	size_t off;

	if (align == 1) {
		if (size > c->top - c->used)
			return NULL;
		c->top -= size;
		return chunk_data(c) + c->top;
	}
	off = (c->used + align - 1) & ~(align - 1);
	if (off > c->top || size > c->top - off)
		return NULL;
	c->used = off + size;
	return chunk_data(c) + off;
}

/*
 * What the arena will surely hold, told before a YAML text of len bytes is parsed into
 * it: parse, interpolation and canonical form together make ~7.5 bytes of arena per byte
 * of compose file (2,000 services: 1.3 MB of YAML, 9.6 MiB of arena).  Huge-page chunks
 * are made only within 8 bytes per byte: a huge page is resident whole once touched, and
 * a last one left mostly empty would cost up to 2 MiB of RSS for nothing.  Past the
 * budget, chunks are 512 KiB of 4 KiB pages again.  Small files never get that far.
 */
#define ARENA_PER_YAML_BYTE 8

static void arena_expect(struct cnode_arena *a, size_t len)
{
	size_t more = len > (SIZE_MAX - a->huge_budget) / ARENA_PER_YAML_BYTE
			  ? SIZE_MAX - a->huge_budget
			  : len * ARENA_PER_YAML_BYTE;

	a->huge_budget += more;
}

/* arena_raw() when the head chunk is full. */
static void *arena_grow(struct cnode_arena *a, size_t size, size_t align)
{
	struct arena_chunk *c;

	if (size > a->next_size / 4) {
		/* a big block gets a chunk of its own, behind the current one so the
		 * current one's free space is not wasted */
		c = chunk_new(size);
		c->used = c->top = size;
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			a->head = c;
		}
		return chunk_data(c);
	}
	c = chunk_new(a->next_size);
	a->chunked += a->next_size + CHUNK_HDR;
	if (a->next_size < ARENA_RAMP_CHUNK)
		a->next_size *= 2;
	else if (a->chunked + HUGE_PAGE <= a->huge_budget)
		a->next_size = HUGE_PAGE - CHUNK_HDR; /* chunk_new: header and all, one page */
	else
		a->next_size = ARENA_RAMP_CHUNK;
	c->next = a->head;
	a->head = c;
	return chunk_take(c, size, align); /* size <= next_size / 4: it fits */
}

/* Uninitialised memory aligned to align (a power of two no greater than 16).  Inline:
 * a 2,000-service load makes 200,000 allocations. */
static inline void *arena_raw(struct cnode_arena *a, size_t size, size_t align)
{
	void *p;

	if (a->head != NULL && (p = chunk_take(a->head, size, align)) != NULL)
		return p;
	return arena_grow(a, size, align);
}

/* Nodes are only 8-byte aligned: at 40 bytes, 16 would pad every other one. */
#define NODE_ALIGN _Alignof(struct cnode)

/* A zeroed node with no items (a scalar). */
static struct cnode *node_new(struct cnode_arena *a)
{
	struct cnode *n = arena_raw(a, sizeof(*n), NODE_ALIGN);

	*n = (struct cnode){0};
	return n;
}

/* A zeroed node with room for nitems items after it, left uninitialised; n is left 0 for
 * the caller to set. */
static struct cnode *node_alloc_items(struct cnode_arena *a, size_t nitems)
{
	struct cnode *n;

	if (nitems > (SIZE_MAX - sizeof(*n)) / sizeof(struct cnode *))
		nitems = (SIZE_MAX - sizeof(*n)) / sizeof(struct cnode *); /* xmalloc aborts */
	n = arena_raw(a, sizeof(*n) + nitems * sizeof(struct cnode *), NODE_ALIGN);
	*n = (struct cnode){0};
	return n;
}

/* A collection node whose nitems items are NULL. */
static struct cnode *node_new_items(struct cnode_arena *a, size_t nitems)
{
	struct cnode *n = node_alloc_items(a, nitems);

	if (nitems > 0)
		memset(n->items, 0, nitems * sizeof(struct cnode *));
	return n;
}

/* A collection node whose items are a copy of the nitems of src. */
static struct cnode *node_copy_items(struct cnode_arena *a, struct cnode *const *src, size_t nitems)
{
	struct cnode *n = node_alloc_items(a, nitems);

	if (nitems > 0)
		memcpy(n->items, src, nitems * sizeof(struct cnode *));
	return n;
}

void *cnode_alloc(struct cnode_arena *a, size_t size)
{
	void *p = arena_raw(a, size, ARENA_ALIGN);

	memset(p, 0, size);
	return p;
}

char *cnode_strndup(struct cnode_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		len--; /* the +1 below must not wrap; xmalloc fails on this size anyway */
	p = arena_raw(a, len + 1, 1);
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *cnode_strdup(struct cnode_arena *a, const char *s)
{
	return cnode_strndup(a, s, strlen(s));
}

struct cnode *cnode_shared_scalar(struct cnode_arena *a, const char *literal,
				  struct cnode_mark mark)
{
	size_t mask = sizeof(a->keys) / sizeof(a->keys[0]) - 1;

	for (size_t i = ((uintptr_t)literal >> 3) & mask, probes = 0; probes <= mask;
	     i = (i + 1) & mask, probes++) {
		if (a->keys[i].literal == literal)
			return a->keys[i].node;
		if (a->keys[i].literal == NULL) {
			a->keys[i].literal = literal;
			a->keys[i].node = cnode_new_scalar_ref(a, literal, false, mark);
			return a->keys[i].node;
		}
	}
	return cnode_new_scalar_ref(a, literal, false, mark); /* full: not shared */
}

/* Arena copy of n pointers (n may be 0: then NULL). */
static struct cnode **arena_ptrs(struct cnode_arena *a, struct cnode *const *src, size_t n)
{
	struct cnode **p;

	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / sizeof(struct cnode *))
		n = SIZE_MAX / sizeof(struct cnode *); /* unreachable in practice; xmalloc aborts */
	p = arena_raw(a, n * sizeof(struct cnode *), ARENA_ALIGN);
	if (src != NULL)
		memcpy(p, src, n * sizeof(struct cnode *));
	else
		memset(p, 0, n * sizeof(struct cnode *));
	return p;
}

/* ---- constructors and queries ------------------------------------------------------ */

/* node.h promises 40 bytes: a field added carelessly would cost megabytes. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct cnode) == 40, "struct cnode grew");

/* Files cannot hold scalars this long (cnode_limits caps them far lower); only an
 * interpolation multiplying a huge value gets here, out of memory in all but name. */
static uint32_t scalar_len(size_t len)
{
	if (len > CNODE_MAX_LEN) {
		fprintf(stderr, "prisync: fatal: a value of %zu bytes is too long\n", len);
		abort();
	}
	return (uint32_t)len;
}

struct cnode *cnode_new_scalar(struct cnode_arena *a, const char *value, bool quoted,
			       struct cnode_mark mark)
{
	struct cnode *n;

	if (value == NULL)
		value = "";
	n = cnode_new_scalar_ref(a, value, quoted, mark);
	n->value = cnode_strndup(a, value, n->len);
	return n;
}

struct cnode *cnode_new_scalar_ref(struct cnode_arena *a, const char *value, bool quoted,
				   struct cnode_mark mark)
{
	struct cnode *n = node_new(a);

	n->kind = CNODE_SCALAR;
	n->quoted = quoted;
	n->len = scalar_len(strlen(value));
	n->value = value;
	n->mark = mark;
	return n;
}

struct cnode *cnode_new_seq(struct cnode_arena *a, size_t n, struct cnode_mark mark)
{
	struct cnode *s = node_new_items(a, n);

	s->kind = CNODE_SEQ;
	s->n = n;
	s->mark = mark;
	return s;
}

struct cnode *cnode_new_map(struct cnode_arena *a, size_t npairs, struct cnode_mark mark)
{
	struct cnode *m = node_new_items(a, npairs > SIZE_MAX / 2 ? SIZE_MAX / 2 : 2 * npairs);

	m->kind = CNODE_MAP;
	m->n = npairs;
	m->mark = mark;
	return m;
}

struct cnode *cnode_clone(struct cnode_arena *a, const struct cnode *n)
{
	/* the items are copied too, so replacing a child leaves n alone */
	size_t nitems = n->kind == CNODE_SEQ ? n->n : n->kind == CNODE_MAP ? 2 * n->n : 0;
	struct cnode *c = node_copy_items(a, n->items, nitems);

	*c = *n;      /* the fixed part: a flexible array member is not assigned */
	c->flags = 0; /* the copy is made to be changed */
	return c;
}

bool cnode_is_null(const struct cnode *n)
{
	if (n == NULL)
		return true;
	if (n->kind != CNODE_SCALAR || n->quoted)
		return false;
	/* by length first: asked of nearly every value, a quarter of a million times a load */
	switch (n->len) {
	case 0:
		return true;
	case 1:
		return n->value[0] == '~';
	case 4:
		return strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
		       strcmp(n->value, "NULL") == 0;
	default:
		return false;
	}
}

static bool is_digit_in(char c, int base)
{
	switch (base) {
	case 2:
		return c == '0' || c == '1';
	case 8:
		return c >= '0' && c <= '7';
	case 16:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	default:
		return c >= '0' && c <= '9';
	}
}

/* A plain integer as YAML resolves one: sign, then decimal, 0x, 0o or 0b digits ('_'
 * allowed between digits). */
static bool plain_is_int(const char *s)
{
	int base = 10;

	if (*s == '+' || *s == '-')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		s += 2;
	}
	if (!is_digit_in(*s, base))
		return false;
	for (; *s != '\0'; s++)
		if (!is_digit_in(*s, base) && *s != '_')
			return false;
	return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and the .inf / .nan spellings. */
static bool plain_is_float(const char *s)
{
	static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"};
	size_t i, digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(s, special[i]) == 0)
			return true;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++)
			digits++;
	}
	if (digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

const char *cnode_kind_name(const struct cnode *n)
{
	static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
	size_t i;

	if (n == NULL)
		return "null";
	switch (n->kind) {
	case CNODE_SEQ:
		return "sequence";
	case CNODE_MAP:
		return "mapping";
	case CNODE_SCALAR:
		break;
	}
	if (n->quoted)
		return "string";
	if (cnode_is_null(n))
		return "null";
	/* the YAML 1.2 core schema, as compose-go's YAML decoder resolves plain scalars */
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (strcmp(n->value, bools[i]) == 0)
			return "boolean";
	if (plain_is_int(n->value) || plain_is_float(n->value))
		return "number";
	return "string";
}

int cnode_error(struct px_error *err, const struct cnode *n, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n == NULL)
		px_error_set(err, 0, "%s", msg);
	else if (n->mark.file != NULL)
		px_error_set(err, 0, "%s:%u:%u: %s", n->mark.file, n->mark.line, n->mark.col, msg);
	else
		px_error_set(err, 0, "%u:%u: %s", n->mark.line, n->mark.col, msg);
	free(msg);
	return -1;
}

/* ---- the parser ---------------------------------------------------------------------- */

/* A quoted user string in an error message is cut to this many bytes. */
#define QUOTE_MAX 80

/* Where a child appeared: for an alias, the alias (the node's own mark is the anchor's). */
struct pos {
	unsigned line, col;
	/* a whole word, not a bool: a struct pos built for every node and passed by value
	 * would otherwise be stored a byte at a time and read back a word at a time, a
	 * stall (store forwarding fails) on every node */
	unsigned alias;
};

struct anchor {
	char *name;         /* owned */
	struct cnode *node; /* NULL while the anchored collection is still open */
	size_t size;        /* nodes under it with aliases expanded, itself included */
	size_t height;      /* levels with aliases expanded (a scalar is 1) */
};

/* An open sequence or mapping. */
struct frame {
	enum cnode_kind kind;
	enum cnode_tag tag;
	struct cnode_mark mark;
	size_t anchor; /* index + 1 into parser.anchors, 0 when none */
	size_t first;  /* its first child in parser.kids */
	size_t size;   /* expanded nodes so far, itself included */
	size_t height; /* greatest expanded height of its children */
};

/* One slot of an open-addressing set of scalar keys. */
struct key_slot {
	const struct cnode *key; /* NULL: free */
	size_t idx;
};

struct key_set {
	struct key_slot *slots;
	size_t cap; /* a power of two */
	size_t n;
};

struct parser {
	struct cnode_arena *a;
	const char *file; /* arena copy */
	const char *text; /* NULL while a file is read in pieces (read_piece) */
	size_t len;
	int fd;         /* read_piece's file */
	int read_errno; /* what read_piece's read(2) failed with */
	struct cnode_limits lim;
	struct px_error *err;
	yaml_parser_t yp;

	struct frame *frames;
	size_t nframes, capframes;
	/* children of every open collection, in document order; each frame owns a tail */
	struct cnode **kids;
	struct pos *kpos;
	size_t nkids, capkids;

	/* anchors of the current document: entries plus a hash index of (entry + 1) */
	struct anchor *anchors;
	size_t nanchors, capanchors;
	size_t *aslots;
	size_t capaslots;

	size_t total;       /* nodes so far with aliases expanded, all documents */
	struct cnode *root; /* the current document's root once complete */

	struct cnode **docs;
	size_t ndocs, capdocs;

	/* merge scratch */
	struct cnode **mkids;
	size_t nmkids, capmkids;
};

static struct cnode_mark mark_at(const struct parser *p, yaml_mark_t m)
{
	/* libyaml counts from 0; editors from 1 */
	struct cnode_mark cm = {p->file, (unsigned)m.line + 1, (unsigned)m.column + 1};

	return cm;
}

static int perr(struct parser *p, struct cnode_mark m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the error at m: "<file>:<line>:<col>: <message>". */
static int perr(struct parser *p, struct cnode_mark m, const char *fmt, ...)
{
	struct cnode n;
	va_list ap;
	char *msg;

	memset(&n, 0, sizeof(n));
	n.mark = m;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	cnode_error(p->err, &n, "%s", msg);
	free(msg);
	return -1;
}

/* Length of s to quote in a message: at most QUOTE_MAX bytes, not cutting a UTF-8
 * character in two. */
static int quote_len(const char *s, size_t len)
{
	if (len <= QUOTE_MAX)
		return (int)len;
	len = QUOTE_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return (int)len;
}

static const char *quote_ellipsis(size_t len)
{
	return len > QUOTE_MAX ? "..." : "";
}

static size_t hash_bytes(const char *s, size_t len)
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

/* ---- anchors ----------------------------------------------------------------------- */

static void anchors_clear(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nanchors; i++)
		free(p->anchors[i].name);
	p->nanchors = 0;
	if (p->aslots != NULL)
		memset(p->aslots, 0, p->capaslots * sizeof(*p->aslots));
}

/* The slot of name in the index: its entry, or the free slot where it belongs. */
static size_t *anchor_slot(struct parser *p, const char *name)
{
	size_t mask = p->capaslots - 1;
	size_t i = hash_bytes(name, strlen(name)) & mask;

	for (;;) {
		size_t *s = &p->aslots[i];

		if (*s == 0 || strcmp(p->anchors[*s - 1].name, name) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

static struct anchor *anchor_find(struct parser *p, const char *name)
{
	size_t *s;

	if (p->capaslots == 0)
		return NULL;
	s = anchor_slot(p, name);
	return *s != 0 ? &p->anchors[*s - 1] : NULL;
}

/* The entry of name (created, or the existing one: a later definition replaces an
 * earlier one for the aliases that follow), as an index + 1. */
static size_t anchor_define(struct parser *p, const char *name)
{
	size_t *s, i;

	if (2 * (p->nanchors + 1) > p->capaslots) {
		size_t ncap = p->capaslots ? 2 * p->capaslots : 16;

		free(p->aslots);
		p->aslots = xcalloc(ncap, sizeof(*p->aslots));
		p->capaslots = ncap;
		for (i = 0; i < p->nanchors; i++)
			*anchor_slot(p, p->anchors[i].name) = i + 1;
	}
	s = anchor_slot(p, name);
	if (*s != 0) {
		p->anchors[*s - 1].node = NULL;
		return *s;
	}
	if (p->nanchors == p->capanchors) {
		p->capanchors = p->capanchors ? 2 * p->capanchors : 16;
		p->anchors = xreallocarray(p->anchors, p->capanchors, sizeof(*p->anchors));
	}
	p->anchors[p->nanchors].name = xstrdup(name);
	p->anchors[p->nanchors].node = NULL;
	p->anchors[p->nanchors].size = 0;
	p->anchors[p->nanchors].height = 0;
	*s = ++p->nanchors;
	return *s;
}

/* ---- key sets ---------------------------------------------------------------------- */

static void key_set_init(struct key_set *s, size_t expected)
{
	size_t cap = 16;

	while (cap < 2 * expected)
		cap *= 2;
	s->slots = xcalloc(cap, sizeof(*s->slots));
	s->cap = cap;
	s->n = 0;
}

static void key_set_release(struct key_set *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

static bool same_key(const struct cnode *a, const struct cnode *b)
{
	return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

/* Add key (a scalar) with idx; returns the slot already holding an equal key, or NULL
 * when key was added. */
static const struct key_slot *key_set_add(struct key_set *s, const struct cnode *key, size_t idx)
{
	size_t mask, i;

	if (2 * (s->n + 1) > s->cap) {
		struct key_set bigger;

		key_set_init(&bigger, s->n + 1);
		for (i = 0; i < s->cap; i++)
			if (s->slots[i].key != NULL)
				key_set_add(&bigger, s->slots[i].key, s->slots[i].idx);
		free(s->slots);
		*s = bigger;
	}
	mask = s->cap - 1;
	for (i = hash_bytes(key->value, key->len) & mask; s->slots[i].key != NULL;
	     i = (i + 1) & mask)
		if (same_key(s->slots[i].key, key))
			return &s->slots[i];
	s->slots[i].key = key;
	s->slots[i].idx = idx;
	s->n++;
	return NULL;
}

/* ---- building ---------------------------------------------------------------------- */

static void push_kid(struct parser *p, struct cnode *n, struct pos pos)
{
	if (p->nkids == p->capkids) {
		p->capkids = p->capkids ? 2 * p->capkids : 256;
		p->kids = xreallocarray(p->kids, p->capkids, sizeof(struct cnode *));
		p->kpos = xreallocarray(p->kpos, p->capkids, sizeof(*p->kpos));
	}
	p->kids[p->nkids] = n;
	p->kpos[p->nkids] = pos;
	p->nkids++;
}

static void push_mkid(struct parser *p, struct cnode *n)
{
	if (p->nmkids == p->capmkids) {
		p->capmkids = p->capmkids ? 2 * p->capmkids : 64;
		p->mkids = xreallocarray(p->mkids, p->capmkids, sizeof(struct cnode *));
	}
	p->mkids[p->nmkids++] = n;
}

/* A finished node (size and height with aliases expanded) goes to its parent, or
 * becomes the document's root. */
static void add_node(struct parser *p, struct cnode *n, struct pos pos, size_t size, size_t height)
{
	struct frame *f;

	if (p->nframes == 0) {
		p->root = n;
		return;
	}
	f = &p->frames[p->nframes - 1];
	push_kid(p, n, pos);
	f->size += size; /* bounded by p->total, itself bounded by the limit */
	if (height > f->height)
		f->height = height;
}

/* Count size more nodes against the expansion budget. */
static int count_nodes(struct parser *p, struct cnode_mark m, size_t size)
{
	/* p->total never exceeds the limit, so the subtraction cannot wrap */
	if (size > p->lim.max_expanded_nodes - p->total)
		return perr(p, m,
			    "document too large after expanding aliases (more than %zu nodes): an "
			    "alias bomb?",
			    p->lim.max_expanded_nodes);
	p->total += size;
	return 0;
}

/* A node of the given height starting at the current depth must fit max_depth. */
static int check_depth(struct parser *p, struct cnode_mark m, size_t height, bool alias)
{
	if (height > p->lim.max_depth || p->nframes > p->lim.max_depth - height)
		return perr(p, m, "nesting too deep%s (more than %zu levels)",
			    alias ? " after expanding aliases" : "", p->lim.max_depth);
	return 0;
}

static bool is_yaml_std_tag(const char *name)
{
	static const char *const std[] = {"str",  "int",   "float",  "bool",      "null",
					  "map",  "seq",   "binary", "timestamp", "merge",
					  "omap", "pairs", "set",    "value"};
	size_t i;

	for (i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		if (strcmp(name, std[i]) == 0)
			return true;
	return false;
}

/* Map a resolved tag to ours; *is_str when it makes a scalar a string (!!str or the
 * non-specific "!"). */
static int resolve_tag(struct parser *p, const char *tag, struct cnode_mark m, enum cnode_tag *out,
		       bool *is_str)
{
	static const char yaml_prefix[] = "tag:yaml.org,2002:";
	size_t tlen;

	*out = CNODE_TAG_NONE;
	*is_str = false;
	if (tag == NULL)
		return 0;
	if (strcmp(tag, "!reset") == 0) {
		*out = CNODE_TAG_RESET;
	} else if (strcmp(tag, "!override") == 0) {
		*out = CNODE_TAG_OVERRIDE;
	} else if (strcmp(tag, "!") == 0) {
		*is_str = true;
	} else if (strncmp(tag, yaml_prefix, sizeof(yaml_prefix) - 1) == 0) {
		const char *name = tag + sizeof(yaml_prefix) - 1;

		tlen = strlen(name);
		if (!is_yaml_std_tag(name))
			return perr(p, m, "unknown tag '!!%.*s%s'", quote_len(name, tlen), name,
				    quote_ellipsis(tlen));
		*is_str = strcmp(name, "str") == 0;
	} else {
		tlen = strlen(tag);
		return perr(p, m, "unknown tag '%.*s%s'", quote_len(tag, tlen), tag,
			    quote_ellipsis(tlen));
	}
	return 0;
}

static int on_scalar(struct parser *p, const yaml_event_t *ev)
{
	struct cnode_mark m = mark_at(p, ev->start_mark);
	const char *value = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	yaml_scalar_style_t style = ev->data.scalar.style;
	enum cnode_tag tag;
	struct cnode *n;
	bool is_str;
	size_t ai = 0;

	if (check_depth(p, m, 1, false) < 0 || count_nodes(p, m, 1) < 0)
		return -1;
	if (len > p->lim.max_scalar_len)
		return perr(p, m, "value too long: %zu bytes (the limit is %zu)", len,
			    p->lim.max_scalar_len);
	/* only a "\0" escape gets here: the reader refuses raw NUL bytes */
	if (memchr(value, '\0', len) != NULL)
		return perr(p, m, "a string cannot contain a NUL character");
	if (resolve_tag(p, (const char *)ev->data.scalar.tag, m, &tag, &is_str) < 0)
		return -1;
	n = node_new(p->a);
	n->kind = CNODE_SCALAR;
	n->tag = tag;
	n->quoted = is_str || (style != YAML_PLAIN_SCALAR_STYLE && style != YAML_ANY_SCALAR_STYLE);
	n->flags = (memchr(value, '$', len) == NULL ? CNODE_NO_DOLLAR : 0) |
		   (tag == CNODE_TAG_NONE ? CNODE_NO_TAG : 0);
	n->value = cnode_strndup(p->a, value, len);
	n->len = (uint32_t)len; /* at most max_scalar_len, itself capped */
	n->mark = m;
	if (ev->data.scalar.anchor != NULL) {
		ai = anchor_define(p, (const char *)ev->data.scalar.anchor);
		p->anchors[ai - 1].node = n;
		p->anchors[ai - 1].size = 1;
		p->anchors[ai - 1].height = 1;
	}
	add_node(p, n, (struct pos){m.line, m.col, false}, 1, 1);
	return 0;
}

static int on_start(struct parser *p, const yaml_event_t *ev, enum cnode_kind kind)
{
	struct cnode_mark m = mark_at(p, ev->start_mark);
	const char *tag, *anchor;
	struct frame *f;
	enum cnode_tag t;
	bool is_str;

	if (kind == CNODE_SEQ) {
		tag = (const char *)ev->data.sequence_start.tag;
		anchor = (const char *)ev->data.sequence_start.anchor;
	} else {
		tag = (const char *)ev->data.mapping_start.tag;
		anchor = (const char *)ev->data.mapping_start.anchor;
	}
	/* a collection is at least 2 levels high once it has a child; checking 1 here
	 * and its children as they come keeps the error at the first node too deep */
	if (check_depth(p, m, 1, false) < 0 || count_nodes(p, m, 1) < 0)
		return -1;
	if (resolve_tag(p, tag, m, &t, &is_str) < 0)
		return -1;
	if (p->nframes == p->capframes) {
		p->capframes = p->capframes ? 2 * p->capframes : 32;
		p->frames = xreallocarray(p->frames, p->capframes, sizeof(*p->frames));
	}
	f = &p->frames[p->nframes++];
	f->kind = kind;
	f->tag = t;
	f->mark = m;
	/* defined now, bound when complete: an alias inside its own anchor is an error */
	f->anchor = anchor != NULL ? anchor_define(p, anchor) : 0;
	f->first = p->nkids;
	f->size = 1;
	f->height = 0;
	return 0;
}

static bool is_merge_key(const struct cnode *k)
{
	return k->kind == CNODE_SCALAR && !k->quoted && k->len == 2 && k->value[0] == '<' &&
	       k->value[1] == '<';
}

static int dup_key_error(struct parser *p, const struct cnode *key, struct pos at, struct pos first)
{
	return perr(p, (struct cnode_mark){p->file, at.line, at.col},
		    "mapping key '%.*s%s' already defined at line %u",
		    quote_len(key->value, key->len), key->value, quote_ellipsis(key->len),
		    first.line);
}

/* Mapping keys must be scalars and unique ("a" and a are the same key, as for
 * compose-go). */
static int check_keys(struct parser *p, struct cnode **kv, const struct pos *pos, size_t npairs)
{
	struct key_set set = {NULL, 0, 0};
	const struct key_slot *dup;
	size_t i, j;
	int ret = -1;

	for (i = 0; i < npairs; i++) {
		if (kv[2 * i]->kind != CNODE_SCALAR)
			return perr(p,
				    (struct cnode_mark){p->file, pos[2 * i].line, pos[2 * i].col},
				    "a mapping key must be a string or number, got a %s",
				    cnode_kind_name(kv[2 * i]));
	}
	if (npairs <= 16) {
		/* small maps, most of them (a service has a dozen keys): comparing lengths
		 * first, pairs are cheaper than a hash table */
		for (i = 1; i < npairs; i++)
			for (j = 0; j < i; j++)
				if (same_key(kv[2 * i], kv[2 * j]))
					return dup_key_error(p, kv[2 * i], pos[2 * i], pos[2 * j]);
		return 0;
	}
	key_set_init(&set, npairs);
	for (i = 0; i < npairs; i++) {
		dup = key_set_add(&set, kv[2 * i], i);
		if (dup != NULL) {
			dup_key_error(p, kv[2 * i], pos[2 * i], pos[2 * dup->idx]);
			goto out;
		}
	}
	ret = 0;
out:
	key_set_release(&set);
	return ret;
}

/* The keys a merge has placed so far: a list for the small maps nearly every merge
 * makes (a service taking in an x- block: 2,000 of them, a table each cost 3,500
 * instructions), a hash table past that. */
#define MERGE_LIST_MAX 32

struct merge_seen {
	bool hashed;
	struct key_set set; /* hashed */
	const struct cnode *keys[MERGE_LIST_MAX];
	size_t n;
};

/* Add key; true when an equal key was there already. */
static bool seen_add(struct merge_seen *s, const struct cnode *key)
{
	if (s->hashed)
		return key_set_add(&s->set, key, 0) != NULL;
	for (size_t i = 0; i < s->n; i++)
		if (same_key(s->keys[i], key))
			return true;
	s->keys[s->n++] = key;
	return false;
}

/* Append the pairs of src not yet in seen to the merge scratch. */
static void merge_from(struct parser *p, struct merge_seen *seen, const struct cnode *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		if (seen_add(seen, cnode_key(src, i)))
			continue;
		push_mkid(p, cnode_key(src, i));
		push_mkid(p, cnode_val(src, i));
	}
}

/*
 * The pairs of a mapping with its `<<` keys resolved, as YAML's merge key type says:
 * the value is a mapping or a sequence of mappings; keys of the mapping itself win
 * over merged ones, and an earlier mapping of the sequence wins over a later one.
 * Merged pairs take the place of their `<<`.  Nothing shared is modified: the result is
 * a new pair list (p->mkids).
 */
static int resolve_merges(struct parser *p, struct cnode **kv, const struct pos *pos, size_t npairs)
{
	struct merge_seen seen;
	size_t i, j, total = npairs;

	/* every value is checked before anything is built, so the error is the first one */
	for (i = 0; i < npairs; i++) {
		const struct cnode *v = kv[2 * i + 1];
		struct cnode_mark vm = {p->file, pos[2 * i + 1].line, pos[2 * i + 1].col};

		if (!is_merge_key(kv[2 * i]))
			continue;
		/* as in compose-go's YAML decoder, an alias must name a mapping: only a
		 * sequence written in place may list mappings */
		if (v->kind == CNODE_SEQ && pos[2 * i + 1].alias) {
			return perr(
			    p, vm,
			    "merge key '<<' needs a mapping or a list of mappings to merge, "
			    "got an alias to a sequence");
		} else if (v->kind == CNODE_SEQ) {
			for (j = 0; j < v->n; j++)
				if (v->items[j]->kind != CNODE_MAP)
					return perr(
					    p, vm,
					    "merge key '<<' needs mappings to merge, item %zu "
					    "of the list is a %s",
					    j + 1, cnode_kind_name(v->items[j]));
		} else if (v->kind != CNODE_MAP) {
			return perr(
			    p, vm,
			    "merge key '<<' needs a mapping or a list of mappings to merge, "
			    "got a %s",
			    cnode_kind_name(v));
		}
		for (j = 0; j < (v->kind == CNODE_MAP ? 1 : v->n); j++)
			total += v->kind == CNODE_MAP ? v->n : v->items[j]->n;
	}
	seen.hashed = total > MERGE_LIST_MAX;
	seen.n = 0;
	if (seen.hashed)
		key_set_init(&seen.set, npairs);
	for (i = 0; i < npairs; i++)
		if (!is_merge_key(kv[2 * i]))
			seen_add(&seen, kv[2 * i]);
	p->nmkids = 0;
	for (i = 0; i < npairs; i++) {
		const struct cnode *v = kv[2 * i + 1];

		if (!is_merge_key(kv[2 * i])) {
			push_mkid(p, kv[2 * i]);
			push_mkid(p, kv[2 * i + 1]);
		} else if (v->kind == CNODE_MAP) {
			merge_from(p, &seen, v);
		} else {
			for (j = 0; j < v->n; j++)
				merge_from(p, &seen, v->items[j]);
		}
	}
	if (seen.hashed)
		key_set_release(&seen.set);
	return 0;
}

static int on_end(struct parser *p)
{
	struct frame *f = &p->frames[p->nframes - 1];
	struct cnode **kv = p->kids + f->first;
	const struct pos *pos = p->kpos + f->first;
	size_t nk = p->nkids - f->first, i, height, size = f->size;
	struct cnode *n;
	bool merges = false;
	uint8_t flags;

	if (f->kind == CNODE_SEQ) {
		n = node_copy_items(p->a, kv, nk);
		n->n = nk;
	} else {
		/* libyaml always pairs a key with a value (an empty scalar when omitted) */
		size_t npairs = nk / 2;

		if (check_keys(p, kv, pos, npairs) < 0)
			return -1;
		for (i = 0; i < npairs && !merges; i++)
			merges = is_merge_key(kv[2 * i]);
		if (merges) {
			if (resolve_merges(p, kv, pos, npairs) < 0)
				return -1;
			n = node_copy_items(p->a, p->mkids, p->nmkids);
			n->n = p->nmkids / 2;
		} else {
			n = node_copy_items(p->a, kv, 2 * npairs);
			n->n = npairs;
		}
	}
	n->kind = f->kind;
	n->tag = f->tag;
	n->mark = f->mark;
	/* a collection knows what all of its children (merged ones included) know */
	flags = CNODE_NO_DOLLAR | (f->tag == CNODE_TAG_NONE ? CNODE_NO_TAG : 0);
	for (i = 0; i < (f->kind == CNODE_MAP ? 2 * n->n : n->n); i++)
		flags &= n->items[i]->flags;
	n->flags = flags;
	height = f->height + 1;
	if (f->anchor != 0) {
		struct anchor *an = &p->anchors[f->anchor - 1];

		an->node = n;
		an->size = f->size;
		an->height = height;
	}
	p->nkids = f->first;
	p->nframes--;
	add_node(p, n, (struct pos){n->mark.line, n->mark.col, false}, size, height);
	return 0;
}

static int on_alias(struct parser *p, const yaml_event_t *ev)
{
	struct cnode_mark m = mark_at(p, ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	size_t nlen = strlen(name);
	struct anchor *an = anchor_find(p, name);

	if (an == NULL)
		return perr(p, m, "unknown anchor '%.*s%s' referenced", quote_len(name, nlen), name,
			    quote_ellipsis(nlen));
	if (an->node == NULL)
		return perr(p, m, "anchor '%.*s%s' value contains itself", quote_len(name, nlen),
			    name, quote_ellipsis(nlen));
	if (check_depth(p, m, an->height, true) < 0 || count_nodes(p, m, an->size) < 0)
		return -1;
	add_node(p, an->node, (struct pos){m.line, m.col, true}, an->size, an->height);
	return 0;
}

static void push_doc(struct parser *p, struct cnode *root)
{
	if (p->ndocs == p->capdocs) {
		p->capdocs = p->capdocs ? 2 * p->capdocs : 4;
		p->docs = xreallocarray(p->docs, p->capdocs, sizeof(struct cnode *));
	}
	p->docs[p->ndocs++] = root;
}

static void on_document_end(struct parser *p)
{
	struct cnode *root = p->root;

	/* an empty document (or a bare null) is an empty compose file, not an error */
	if (root == NULL || cnode_is_null(root)) {
		struct cnode_mark m = {p->file, 1, 1};

		if (root != NULL)
			m = root->mark;
		root = cnode_new_map(p->a, 0, m);
	}
	push_doc(p, root);
	p->root = NULL;
}

/* Line and column (1-based, columns in characters as libyaml counts them) of byte off. */
static void offset_to_mark(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	unsigned l = 1, c = 1;

	if (off > len)
		off = len;
	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		i = 3; /* the BOM is not part of the first line */
	while (i < off) {
		if (s[i] == '\n' || s[i] == '\r') {
			if (s[i] == '\r' && i + 1 < off && s[i + 1] == '\n')
				i++;
			i++;
			l++;
			c = 1;
			continue;
		}
		/* NEL, LS and PS break lines too in YAML 1.1 */
		if ((s[i] == 0xC2 && i + 1 < off && s[i + 1] == 0x85) ||
		    (s[i] == 0xE2 && i + 2 < off && s[i + 1] == 0x80 &&
		     (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))) {
			i += s[i] == 0xC2 ? 2 : 3;
			l++;
			c = 1;
			continue;
		}
		if ((s[i] & 0xC0) != 0x80)
			c++;
		i++;
	}
	*line = l;
	*col = c;
}

static int read_whole(const char *path, struct px_buf *b, struct px_error *err);

/* libyaml's error as ours.  Its reader (encoding) errors carry a byte offset instead of
 * a mark: we turn the offset into line:column so every error reads file:line:col. */
static int yaml_error(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	unsigned line, col;
	struct cnode_mark m;

	if (yp->error == YAML_READER_ERROR && p->read_errno != 0)
		return px_error_set(p->err, p->read_errno, "cannot read compose file '%s'",
				    p->file);
	if (yp->error != YAML_READER_ERROR || yp->encoding != YAML_UTF8_ENCODING)
		return px_error_from_yaml(p->err, yp, p->file);
	if (p->text == NULL) {
		/* read in pieces: the text again, for the line and column of the offset */
		struct px_buf b = PX_BUF_INIT;
		int ret;

		if (read_whole(p->file, &b, p->err) < 0)
			return -1;
		p->text = b.data != NULL ? b.data : "";
		p->len = b.len;
		ret = yaml_error(p);
		p->text = NULL;
		px_buf_release(&b);
		return ret;
	}
	offset_to_mark(p->text, p->len, yp->problem_offset, &line, &col);
	m = (struct cnode_mark){p->file, line, col};
	if (yp->problem_value == 0)
		return perr(p, m, "NUL byte in the file: a compose file must be text");
	if (yp->problem != NULL &&
	    (strstr(yp->problem, "UTF-8") != NULL || strstr(yp->problem, "Unicode") != NULL)) {
		if (yp->problem_value == -1) /* cut short at the end: no byte to show */
			return perr(p, m, "invalid UTF-8 (%s): a compose file must be UTF-8 text",
				    yp->problem);
		return perr(p, m, "invalid UTF-8 (%s, #%02X): a compose file must be UTF-8 text",
			    yp->problem, (unsigned)yp->problem_value);
	}
	if (yp->problem_value != -1)
		return perr(p, m, "%s (#%X)", yp->problem ? yp->problem : "cannot read input",
			    (unsigned)yp->problem_value);
	return perr(p, m, "%s", yp->problem ? yp->problem : "cannot read input");
}

static int handle_event(struct parser *p, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		/* anchors are scoped to their document */
		anchors_clear(p);
		p->root = NULL;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		on_document_end(p);
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(p, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(p, ev, CNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(p, ev, CNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(p);
	case YAML_ALIAS_EVENT:
		return on_alias(p, ev);
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	}
	return 0;
}

/* Everything but libyaml's input, which the caller sets once this succeeded. */
static int parse_begin(struct parser *p, struct cnode_arena *a, const char *file,
		       const struct cnode_limits *limits, struct px_error *err)
{
	memset(p, 0, sizeof(*p));
	p->a = a;
	p->file = cnode_strdup(a, file != NULL ? file : "<input>");
	p->text = "";
	p->fd = -1;
	p->lim = limits != NULL ? *limits : CNODE_LIMITS_DEFAULT;
	if (p->lim.max_scalar_len > CNODE_MAX_LEN)
		p->lim.max_scalar_len = CNODE_MAX_LEN; /* what a node can hold */
	p->err = err;
	if (!yaml_parser_initialize(&p->yp))
		return px_error_set(err, ENOMEM, "%s: cannot initialise the YAML parser", p->file);
	return 0;
}

static void parse_end(struct parser *p)
{
	yaml_parser_delete(&p->yp);
	anchors_clear(p);
	free(p->anchors);
	free(p->aslots);
	free(p->frames);
	free(p->kids);
	free(p->kpos);
	free(p->mkids);
	free(p->docs);
}

/* The documents, once every event is in. */
static void parse_finish(struct parser *p, struct cnode ***docs, size_t *ndocs)
{
	if (p->ndocs == 0)
		on_document_end(p); /* an empty file: one empty document */
	*docs = arena_ptrs(p->a, p->docs, p->ndocs);
	*ndocs = p->ndocs;
}

/* libyaml's events into documents. */
static int parse_events(struct parser *p, struct cnode ***docs, size_t *ndocs)
{
	yaml_event_t ev;

	for (;;) {
		yaml_event_type_t type;
		int r;

		if (!yaml_parser_parse(&p->yp, &ev)) {
			yaml_error(p);
			return -1;
		}
		r = handle_event(p, &ev);
		type = ev.type;
		yaml_event_delete(&ev);
		if (r < 0)
			return -1;
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	parse_finish(p, docs, ndocs);
	return 0;
}

int cnode_parse(struct cnode_arena *a, const char *file, const char *text, size_t len,
		const struct cnode_limits *limits, struct cnode ***docs, size_t *ndocs,
		struct px_error *err)
{
	struct parser p;
	int ret;

	if (parse_begin(&p, a, file, limits, err) < 0)
		return -1;
	p.text = text != NULL ? text : "";
	p.len = text != NULL ? len : 0;
	arena_expect(a, p.len);
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)p.text, p.len);
	ret = parse_events(&p, docs, ndocs);
	parse_end(&p);
	return ret;
}

/* libyaml's read handler: a file is read as it is parsed, a piece (16 KiB) at a time,
 * and never held whole — for a 2,000-service file, 1.3 MiB less to copy and fault in. */
static int read_piece(void *data, unsigned char *buf, size_t size, size_t *got)
{
	struct parser *p = data;
	ssize_t n;

	do
		n = read(p->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		p->read_errno = errno;
		return 0;
	}
	*got = (size_t)n;
	return 1;
}

/* The whole text into b as cnode_parse_file() always read it: "-" is standard input, as
 * for docker compose -f -. */
static int read_whole(const char *path, struct px_buf *b, struct px_error *err)
{
	if (px_path_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, b, err) < 0) {
		px_buf_release(b); /* a failed read may leave storage behind */
		if (err != NULL && err->errnum != 0)
			return px_error_set(err, err->errnum, "cannot read compose file '%s'",
					    path);
		return px_error_wrap(err, "cannot read compose file '%s'", path);
	}
	return 0;
}

int cnode_parse_file(struct cnode_arena *a, const char *path, const struct cnode_limits *limits,
		     struct cnode ***docs, size_t *ndocs, struct px_error *err)
{
	struct px_buf b = PX_BUF_INIT;
	struct parser p;
	struct stat st;
	int fd = -1, ret = -1;

	/* stat first: opening a FIFO blocks, and it is read whole, from its one open */
	if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		/* standard input, a pipe, or an error to report as ever */
		if (read_whole(path, &b, err) == 0)
			ret = cnode_parse(a, path, b.data, b.len, limits, docs, ndocs, err);
		px_buf_release(&b);
		goto out;
	}
	if (parse_begin(&p, a, path, limits, err) < 0)
		goto out;
	p.fd = fd;
	p.text = NULL;
	arena_expect(a, (size_t)st.st_size);
	yaml_parser_set_input(&p.yp, read_piece, &p);
	ret = parse_events(&p, docs, ndocs);
	parse_end(&p);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
