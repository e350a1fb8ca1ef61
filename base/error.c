/* error.c - the one error object: set, wrap with context, move between owners.
 * Messages are built before the old one is freed, so a format may quote err->msg. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

int px_error_vset(struct px_error *err, int errnum, const char *fmt, va_list ap)
{
	char *msg, *full;
	char ebuf[128];

	if (err == NULL)
		return -1;
	xvasprintf(&msg, fmt, ap);
	if (errnum != 0) {
		/* GNU strerror_r: the error may be set from any thread */
		xasprintf(&full, "%s: %s", msg, strerror_r(errnum, ebuf, sizeof(ebuf)));
		free(msg);
		msg = full;
	}
	free(err->msg);
	err->msg = msg;
	err->errnum = errnum;
	err->sqlstate[0] = '\0';
	return -1;
}

int px_error_set(struct px_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	px_error_vset(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int px_error_wrap(struct px_error *err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	xvasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (err->msg == NULL || err->msg[0] == '\0') {
		msg = ctx;
	} else {
		xasprintf(&msg, "%s: %s", ctx, err->msg);
		free(ctx);
	}
	free(err->msg);
	err->msg = msg;
	return -1;
}

const char *px_error_msg(const struct px_error *err)
{
	if (err == NULL || err->msg == NULL)
		return "";
	return err->msg;
}

void px_error_clear(struct px_error *err)
{
	if (err == NULL)
		return;
	free(err->msg);
	err->msg = NULL;
	err->errnum = 0;
	err->sqlstate[0] = '\0';
}

void px_error_move(struct px_error *dst, struct px_error *src)
{
	if (dst == src)
		return;
	px_error_clear(dst);
	if (src == NULL)
		return;
	if (dst != NULL) {
		/* ownership of src->msg moves to dst */
		*dst = *src;
		src->msg = NULL;
	}
	px_error_clear(src);
}
