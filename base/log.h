/* log.h - the one logging module: levels checked in the macro, printf-checked formats,
 * compose-style service prefixes, colour only on a TTY without NO_COLOR, and every
 * line passed through the URL credential mask before it is written. */
#ifndef PX_LOG_H
#define PX_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum px_log_level {
	PX_LOG_ERROR = 0,
	PX_LOG_WARN,
	PX_LOG_INFO,
	PX_LOG_DEBUG,
	PX_LOG_TRACE,
};

extern enum px_log_level px_log_threshold;

/* Direct output to stream (default stderr); colour is decided here: on when stream is a
 * TTY, NO_COLOR is unset or empty, and TERM is not "dumb".  force_colour < 0: detect,
 * 0: never, 1: always. */
void px_log_setup(FILE *stream, enum px_log_level threshold, int force_colour);
bool px_log_colour(void);

/* Pad service names to at least w columns (compose pads to the longest name; the
 * width also grows by itself to the longest name logged so far, never below 8). */
void px_log_set_service_width(int w);

/* Parse "error|warn|info|debug|trace" (case-insensitive); -1 when unknown. */
int px_log_level_parse(const char *s);

#define px_log(level, service, ...)                                                                \
	do {                                                                                       \
		if ((level) <= px_log_threshold)                                                   \
			px_log_emit((level), (service), __VA_ARGS__);                              \
	} while (0)

#define px_error_log(...) px_log(PX_LOG_ERROR, NULL, __VA_ARGS__)
#define px_warn(...)      px_log(PX_LOG_WARN, NULL, __VA_ARGS__)
#define px_info(...)      px_log(PX_LOG_INFO, NULL, __VA_ARGS__)
#define px_debug(...)     px_log(PX_LOG_DEBUG, NULL, __VA_ARGS__)
#define px_trace(...)     px_log(PX_LOG_TRACE, NULL, __VA_ARGS__)

/* Write one line: "prisync: error: msg" without a service, or "<service padded> | msg"
 * with one (a stable colour per service name on a colour terminal).  The formatted text
 * is masked with px_mask_urls() before it is written.  Thread-safe (one write per line).
 * Without a service: error -> "prisync: error: ", warn -> "prisync: warning: ",
 * info -> no tag, debug and trace -> "prisync: debug: ".  With a service, every line of
 * the message gets the prefix, and the same tags minus "prisync: " follow the bar.
 * One trailing newline of the message is dropped; the line always ends with one. */
void px_log_emit(enum px_log_level level, const char *service, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where container output goes (px_log_output): stream (NULL: stdout), coloured as
 * px_log_setup decides for force_colour. */
void px_log_output_setup(FILE *stream, int force_colour);

/* One line a container wrote: "<prefix padded> | text" (prefix NULL: the text alone) on
 * the output stream, the prefix in its stable colour on a colour terminal, the text
 * masked like every line and never given a level tag.  Thread-safe; len excludes the
 * newline, which is added. */
void px_log_output(const char *prefix, const char *text, size_t len);

/* Return a copy of s (owned) in which the password of every URL with userinfo
 * ("scheme://user:password@host") is replaced by "****".  Handles passwords that
 * themselves contain '@' or ':' (the last '@' before the host part ends the userinfo). */
char *px_mask_urls(const char *s);

#endif
