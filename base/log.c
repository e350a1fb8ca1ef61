/* log.c - the one logging module: level tags, compose-style service prefixes, colour
 * on a TTY only, URL credentials masked, one locked fwrite per line. */
#include "base/log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xmalloc.h"

#define SERVICE_WIDTH_MIN 8

enum px_log_level px_log_threshold = PX_LOG_INFO;

/* Everything below is guarded by log_lock. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_stream;    /* NULL: stderr (not a constant, so resolved at use) */
static int log_colour = -1; /* -1: not decided yet */
static int service_width = SERVICE_WIDTH_MIN;
static FILE *out_stream;    /* container output; NULL: stdout */
static int out_colour = -1; /* -1: not decided yet */

/* Colours a service prefix can take, as docker compose cycles them. */
static const char *const service_palette[] = {"36", "33", "32", "35", "34", "91"};

#define SGR_RESET "\033[0m"
#define SGR_ERROR "\033[1;31m"
#define SGR_WARN  "\033[1;33m"

static bool detect_colour(FILE *stream)
{
	const char *no_colour = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	int fd = fileno(stream);

	/* https://no-color.org: present and not empty disables colour */
	if (no_colour != NULL && no_colour[0] != '\0')
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return fd >= 0 && isatty(fd);
}

/* Caller holds log_lock. */
static FILE *current_stream(void)
{
	return log_stream != NULL ? log_stream : stderr;
}

/* Caller holds log_lock. */
static bool current_colour(void)
{
	if (log_colour < 0)
		log_colour = detect_colour(current_stream());
	return log_colour != 0;
}

void px_log_setup(FILE *stream, enum px_log_level threshold, int force_colour)
{
	pthread_mutex_lock(&log_lock);
	log_stream = stream;
	px_log_threshold = threshold;
	if (force_colour < 0)
		log_colour = detect_colour(current_stream());
	else
		log_colour = force_colour != 0;
	pthread_mutex_unlock(&log_lock);
}

void px_log_output_setup(FILE *stream, int force_colour)
{
	pthread_mutex_lock(&log_lock);
	out_stream = stream;
	if (force_colour < 0)
		out_colour = detect_colour(out_stream != NULL ? out_stream : stdout);
	else
		out_colour = force_colour != 0;
	pthread_mutex_unlock(&log_lock);
}

bool px_log_colour(void)
{
	bool on;

	pthread_mutex_lock(&log_lock);
	on = current_colour();
	pthread_mutex_unlock(&log_lock);
	return on;
}

void px_log_set_service_width(int w)
{
	pthread_mutex_lock(&log_lock);
	service_width = w < SERVICE_WIDTH_MIN ? SERVICE_WIDTH_MIN : w;
	pthread_mutex_unlock(&log_lock);
}

int px_log_level_parse(const char *s)
{
	static const char *const names[] = {
	    [PX_LOG_ERROR] = "error", [PX_LOG_WARN] = "warn",   [PX_LOG_INFO] = "info",
	    [PX_LOG_DEBUG] = "debug", [PX_LOG_TRACE] = "trace",
	};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warning") == 0)
		return PX_LOG_WARN;
	return -1;
}

/* FNV-1a: the same service gets the same colour in every run and every process. */
static const char *service_colour(const char *service)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)service; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return service_palette[h % (sizeof(service_palette) / sizeof(service_palette[0]))];
}

/* The level tag ("error: ", ...) or "" for info, coloured when asked. */
static void add_level_tag(struct px_buf *line, enum px_log_level level, bool colour)
{
	switch (level) {
	case PX_LOG_ERROR:
		px_buf_adds(line, colour ? SGR_ERROR "error:" SGR_RESET " " : "error: ");
		break;
	case PX_LOG_WARN:
		px_buf_adds(line, colour ? SGR_WARN "warning:" SGR_RESET " " : "warning: ");
		break;
	case PX_LOG_INFO:
		break;
	default:
		px_buf_adds(line, "debug: ");
		break;
	}
}

/* Caller holds log_lock (service_width). */
static void add_service_lines(struct px_buf *line, enum px_log_level level, const char *service,
			      bool colour, const char *text)
{
	size_t len = strlen(service);
	const char *colr = service_colour(service);
	const char *p = text, *nl;

	if (len > (size_t)service_width && len < INT_MAX)
		service_width = (int)len;
	/* compose prefixes each line of a multi-line message, not just the first */
	do {
		nl = strchr(p, '\n');
		if (colour)
			px_buf_addf(line, "\033[%sm%-*s |" SGR_RESET " ", colr, service_width,
				    service);
		else
			px_buf_addf(line, "%-*s | ", service_width, service);
		add_level_tag(line, level, colour);
		if (nl != NULL) {
			px_buf_add(line, p, (size_t)(nl - p + 1));
			p = nl + 1;
		} else {
			px_buf_adds(line, p);
			px_buf_addch(line, '\n');
		}
	} while (nl != NULL);
}

void px_log_emit(enum px_log_level level, const char *service, const char *fmt, ...)
{
	struct px_buf msg = PX_BUF_INIT, line = PX_BUF_INIT;
	int saved_errno = errno; /* callers log and then report errno */
	char *masked;
	size_t n;
	FILE *out;
	bool colour;
	va_list ap;

	va_start(ap, fmt);
	px_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	/* a URL may carry a password; nothing is written before this */
	masked = px_mask_urls(px_buf_cstr(&msg));
	n = strlen(masked);
	if (n > 0 && masked[n - 1] == '\n')
		masked[--n] = '\0';

	pthread_mutex_lock(&log_lock);
	out = current_stream();
	colour = current_colour();
	if (service != NULL) {
		add_service_lines(&line, level, service, colour, masked);
	} else {
		if (level != PX_LOG_INFO)
			px_buf_adds(&line, "prisync: ");
		add_level_tag(&line, level, colour);
		px_buf_adds(&line, masked);
		px_buf_addch(&line, '\n');
	}
	/* one fwrite of the whole line: concurrent loggers never interleave mid-line */
	fwrite(line.data, 1, line.len, out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);

	free(masked);
	px_buf_release(&msg);
	px_buf_release(&line);
	errno = saved_errno;
}

void px_log_output(const char *prefix, const char *text, size_t len)
{
	struct px_buf msg = PX_BUF_INIT, line = PX_BUF_INIT;
	int saved_errno = errno;
	FILE *out;
	char *masked;

	/* a NUL inside a line would end the masking early: the rest could leak */
	px_buf_add(&msg, text, len);
	for (size_t i = 0; i < msg.len; i++)
		if (msg.data[i] == '\0')
			msg.data[i] = ' ';
	masked = px_mask_urls(px_buf_cstr(&msg));

	pthread_mutex_lock(&log_lock);
	out = out_stream != NULL ? out_stream : stdout;
	if (out_colour < 0)
		out_colour = detect_colour(out);
	if (prefix != NULL) {
		size_t plen = strlen(prefix);

		if (plen > (size_t)service_width && plen < INT_MAX)
			service_width = (int)plen;
		if (out_colour)
			px_buf_addf(&line, "\033[%sm%-*s |" SGR_RESET " ", service_colour(prefix),
				    service_width, prefix);
		else
			px_buf_addf(&line, "%-*s | ", service_width, prefix);
	}
	px_buf_adds(&line, masked);
	px_buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);

	free(masked);
	px_buf_release(&msg);
	px_buf_release(&line);
	errno = saved_errno;
}

/* Where the authority of a URL ends: the start of path, query, fragment, or the end
 * of the word it sits in. */
static bool authority_end(char c)
{
	return c == '\0' || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
	       isspace((unsigned char)c);
}

char *px_mask_urls(const char *s)
{
	struct px_buf b = PX_BUF_INIT;
	const char *copied = s; /* everything before this is already in b */
	const char *search = s;
	const char *hit;

	while ((hit = strstr(search, "://")) != NULL) {
		const char *auth = hit + 3, *end = auth, *at = NULL, *colon;

		/* the last '@' ends the userinfo: passwords may contain '@' themselves */
		for (; !authority_end(*end); end++)
			if (*end == '@')
				at = end;
		colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon != NULL && colon + 1 < at) {
			px_buf_add(&b, copied, (size_t)(colon + 1 - copied));
			px_buf_adds(&b, "****");
			copied = at;
		}
		/* "a://u:p@b://..." - the next scheme's ':' may end this authority */
		search = end > auth && end[-1] == ':' ? end - 1 : end;
	}
	px_buf_adds(&b, copied);
	return px_buf_detach(&b, NULL);
}
