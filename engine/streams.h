/* streams.h - private to engine/: a byte stream cut into lines, and the newline-delimited
 * JSON messages of pulls, builds and events, both fed in chunks cut anywhere. */
#ifndef PX_ENGINE_STREAMS_H
#define PX_ENGINE_STREAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "engine/engine.h"

/* Longest log line delivered whole; a longer one arrives in pieces of this size, so a
 * container that never prints '\n' cannot make us buffer without bound. */
#define ENGINE_LINE_MAX ((size_t)64 * 1024)
/* Longest JSON message: far above any real one, but bounded. */
#define ENGINE_MESSAGE_MAX ((size_t)16 * 1024 * 1024)

/* Receives one line without its '\n', NUL-terminated (line[len] == '\0'; borrowed for the
 * call); returns 0 to go on, non-zero to stop. */
typedef int (*engine_lines_fn)(void *data, const char *line, size_t len);

struct engine_lines {
	struct px_buf partial; /* the unfinished last line */
	size_t max;            /* a pending line this long is delivered as it is (0: LINE_MAX) */
	bool strip_cr;         /* "\r\n" ends a line too (a TTY's output) */
	bool cut;              /* the last line was cut at max: a '\n' next still ends it */
};

/* clang-format off */
#define ENGINE_LINES_INIT(max, strip_cr) { PX_BUF_INIT, (max), (strip_cr), false }
/* clang-format on */

void engine_lines_init(struct engine_lines *l, size_t max, bool strip_cr);
/* Feed the next chunk: every completed line goes to fn.  Returns 0, or fn's non-zero
 * answer (the rest of the chunk is dropped then). */
int engine_lines_feed(struct engine_lines *l, const char *buf, size_t len, engine_lines_fn fn,
		      void *data);
/* At the end of the stream: deliver the last line if it had no '\n'. */
int engine_lines_finish(struct engine_lines *l, engine_lines_fn fn, void *data);
void engine_lines_release(struct engine_lines *l);

/*
 * Newline-delimited JSON messages ("\r\n" too; blank lines skipped).
 */
struct engine_messages {
	struct engine_lines lines;
	bool errors;           /* an "error"/"errorDetail" message fails the stream (pull, build) */
	engine_progress_fn fn; /* may be NULL */
	void *data;
	int state;           /* 0 going on, 1 fn stopped, -1 failed (err set) */
	struct px_error err; /* the engine's error message or a malformed line */
};

void engine_messages_init(struct engine_messages *m, bool errors, engine_progress_fn fn,
			  void *data);
/* An engine_data_fn: data is the struct engine_messages.  Returns 0 to go on, 1 to stop
 * (fn stopped, an error message arrived or a line was not JSON: see state). */
int engine_messages_feed(const char *buf, size_t len, void *data);
/* At the end of the stream: parse a last message without '\n'.  Returns state. */
int engine_messages_finish(struct engine_messages *m);
void engine_messages_release(struct engine_messages *m);

/* The text of a message that carries an error: errorDetail.message, else error; NULL for
 * a message without one (borrowed from msg). */
const char *engine_message_error(const json_t *msg);

#endif
