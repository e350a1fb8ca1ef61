/* buf.c - growable NUL-terminated string buffer (after git's strbuf).
 * Invariant once data != NULL: len < cap and data[len] == '\0'. */
#include "base/buf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

void px_buf_init(struct px_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void px_buf_release(struct px_buf *b)
{
	free(b->data);
	px_buf_init(b);
}

void px_buf_reset(struct px_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void px_buf_grow(struct px_buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - 1 - b->len) {
		/* a length this large is a bug, not an out-of-memory condition */
		fprintf(stderr, "prisync: fatal: buffer size overflow\n");
		abort();
	}
	need = b->len + extra + 1;
	if (b->data != NULL && need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
	b->data[b->len] = '\0';
}

void px_buf_add(struct px_buf *b, const void *data, size_t len)
{
	px_buf_grow(b, len);
	if (len != 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void px_buf_adds(struct px_buf *b, const char *s)
{
	px_buf_add(b, s, strlen(s));
}

void px_buf_addch(struct px_buf *b, char c)
{
	px_buf_add(b, &c, 1);
}

void px_buf_vaddf(struct px_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	px_buf_grow(b, 64);
	/* first try the free space; ap can be consumed only once, hence the copy */
	va_copy(cp, ap);
	/* clang-analyzer does not model va_copy() of a va_list parameter:
	 * NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0) {
		/* encoding error: add nothing, keep the terminator */
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		px_buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		if (n < 0) {
			b->data[b->len] = '\0';
			return;
		}
	}
	b->len += (size_t)n;
}

void px_buf_addf(struct px_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	px_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void px_buf_truncate(struct px_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

void px_buf_rtrim(struct px_buf *b)
{
	while (b->len > 0 && isspace((unsigned char)b->data[b->len - 1]))
		b->len--;
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

const char *px_buf_cstr(const struct px_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *px_buf_detach(struct px_buf *b, size_t *len)
{
	/* ownership of the storage moves to the caller */
	char *p = b->data != NULL ? b->data : xstrdup("");

	if (len != NULL)
		*len = b->len;
	px_buf_init(b);
	return p;
}
