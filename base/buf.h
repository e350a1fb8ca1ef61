/* buf.h - growable string buffer (in the spirit of git's strbuf).
 * data is always NUL-terminated once anything was added; px_buf_cstr() never returns NULL. */
#ifndef PX_BUF_H
#define PX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct px_buf {
	char *data; /* owned; NULL until the first addition */
	size_t len;
	size_t cap;
};

/* clang-format off */
#define PX_BUF_INIT { NULL, 0, 0 }
/* clang-format on */

void px_buf_init(struct px_buf *b);
/* Free the storage and reset to PX_BUF_INIT. */
void px_buf_release(struct px_buf *b);
/* Keep the storage, set len to 0. */
void px_buf_reset(struct px_buf *b);
/* Make room for at least extra more bytes (plus the NUL). */
void px_buf_grow(struct px_buf *b, size_t extra);
void px_buf_add(struct px_buf *b, const void *data, size_t len);
void px_buf_adds(struct px_buf *b, const char *s);
void px_buf_addch(struct px_buf *b, char c);
void px_buf_addf(struct px_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void px_buf_vaddf(struct px_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Shorten to len (no-op when len >= b->len). */
void px_buf_truncate(struct px_buf *b, size_t len);
/* Remove trailing whitespace. */
void px_buf_rtrim(struct px_buf *b);
/* Borrowed, NUL-terminated; "" for an empty buffer. */
const char *px_buf_cstr(const struct px_buf *b);
/* Hand the storage to the caller (never NULL: "" allocated when empty); b is reset. */
char *px_buf_detach(struct px_buf *b, size_t *len);

#endif
