/* error.h - the one error object of prisync, and the adapters that turn each
 * library's error convention into it at exactly one boundary. */
#ifndef PX_ERROR_H
#define PX_ERROR_H

#include <stdarg.h>

/*
 * Fallible functions return int (0 ok, -1 on failure) and fill a struct
 * px_error.  Callers add context with px_error_wrap() and return.  Message
 * style: lowercase, no final full stop, the failing thing quoted:
 *   cannot open compose file 'x.yaml': No such file or directory
 */
struct px_error {
	int errnum;       /* errno, or 0 when the failure is not a system error */
	char sqlstate[6]; /* PostgreSQL SQLSTATE when the failure came from libpq, else "" */
	char *msg;        /* owned; NULL when no error is set */
};

/* clang-format off */
#define PX_ERROR_INIT { 0, "", NULL }
/* clang-format on */

/* Set the error (replacing any previous one); when errnum != 0, ": strerror(errnum)"
 * is appended.  Always returns -1 so callers can `return px_error_set(...)`. */
int px_error_set(struct px_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int px_error_vset(struct px_error *err, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefix the current message with context: "<context>: <old message>".
 * Keeps errnum and sqlstate.  Always returns -1. */
int px_error_wrap(struct px_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message, or "" when none is set (borrowed). */
const char *px_error_msg(const struct px_error *err);

/* Free the message and reset to PX_ERROR_INIT; safe on a cleared error. */
void px_error_clear(struct px_error *err);

/* Move src into dst (dst cleared first); src is left cleared. */
void px_error_move(struct px_error *dst, struct px_error *src);

#endif
