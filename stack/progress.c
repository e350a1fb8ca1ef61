/* progress.c - what up, down, start and stop report while they work: compose's live
 * display on a terminal (one line per object, redrawn in place), plain lines otherwise. */
#include "stack/stack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xmalloc.h"

struct progress_line {
	char *id;
	char *status;
	enum stack_progress_state state;
	struct timespec started, ended;
};

struct stack_progress {
	pthread_mutex_t lock;
	FILE *out;
	bool tty, colour;
	char *title;
	struct progress_line *lines;
	size_t n;
	size_t drawn; /* rows of the last frame, to move back over */
};

struct stack_progress *stack_progress_new(FILE *out, int tty)
{
	struct stack_progress *pr = xcalloc(1, sizeof(*pr));

	pthread_mutex_init(&pr->lock, NULL);
	pr->out = out;
	if (tty < 0) {
		const char *term = getenv("TERM");

		tty = isatty(fileno(out)) && (term == NULL || strcmp(term, "dumb") != 0);
	}
	pr->tty = tty != 0;
	pr->colour = pr->tty && px_log_colour();
	pr->title = xstrdup("Running");
	return pr;
}

void stack_progress_title(struct stack_progress *pr, const char *title)
{
	if (pr == NULL)
		return;
	pthread_mutex_lock(&pr->lock);
	free(pr->title);
	pr->title = xstrdup(title);
	pthread_mutex_unlock(&pr->lock);
}

static double elapsed(const struct progress_line *l)
{
	struct timespec end = l->ended;

	if (l->state == STACK_PROGRESS_WORKING)
		clock_gettime(CLOCK_MONOTONIC, &end);
	return (double)(end.tv_sec - l->started.tv_sec) +
	       (double)(end.tv_nsec - l->started.tv_nsec) / 1e9;
}

/* Caller holds the lock. */
static void redraw(struct stack_progress *pr)
{
	size_t width = 0, done = 0;
	const char *sgr_on = "", *sgr_off = pr->colour ? "\033[0m" : "";

	for (size_t i = 0; i < pr->n; i++) {
		size_t w = strlen(pr->lines[i].id);

		width = w > width ? w : width;
		done += pr->lines[i].state != STACK_PROGRESS_WORKING;
	}
	if (pr->drawn > 0)
		fprintf(pr->out, "\033[%zuA", pr->drawn);
	fprintf(pr->out, "\r\033[2K%s[+] %s %zu/%zu%s\n", pr->colour ? "\033[34m" : "", pr->title,
		done, pr->n, sgr_off);
	for (size_t i = 0; i < pr->n; i++) {
		const struct progress_line *l = &pr->lines[i];
		const char *mark = "\u283f"; /* compose's spinner glyph */

		switch (l->state) {
		case STACK_PROGRESS_WORKING:
			sgr_on = pr->colour ? "\033[33m" : "";
			break;
		case STACK_PROGRESS_DONE:
			mark = "\u2714";
			sgr_on = pr->colour ? "\033[32m" : "";
			break;
		case STACK_PROGRESS_WARNING:
			mark = "!";
			sgr_on = pr->colour ? "\033[33m" : "";
			break;
		case STACK_PROGRESS_ERROR:
			mark = "\u2718";
			sgr_on = pr->colour ? "\033[31m" : "";
			break;
		}
		fprintf(pr->out, "\r\033[2K %s%s%s %-*s  %-12s %5.1fs\n", sgr_on, mark, sgr_off,
			(int)width, l->id, l->status, elapsed(l));
	}
	pr->drawn = pr->n + 1;
	fflush(pr->out);
}

void stack_progress_event(struct stack_progress *pr, const char *id,
			  enum stack_progress_state state, const char *status)
{
	struct progress_line *l = NULL;

	if (pr == NULL)
		return;
	pthread_mutex_lock(&pr->lock);
	for (size_t i = 0; i < pr->n && l == NULL; i++) {
		if (strcmp(pr->lines[i].id, id) == 0)
			l = &pr->lines[i];
	}
	if (l == NULL) {
		pr->lines = xreallocarray(pr->lines, pr->n + 1, sizeof(*pr->lines));
		l = &pr->lines[pr->n++];
		memset(l, 0, sizeof(*l));
		l->id = xstrdup(id);
		clock_gettime(CLOCK_MONOTONIC, &l->started);
	} else if (l->state != STACK_PROGRESS_WORKING && state == STACK_PROGRESS_WORKING) {
		/* a new phase of the same object (Started, then Waiting) */
		clock_gettime(CLOCK_MONOTONIC, &l->started);
	}
	free(l->status);
	l->status = xstrdup(status);
	l->state = state;
	if (state != STACK_PROGRESS_WORKING)
		clock_gettime(CLOCK_MONOTONIC, &l->ended);
	if (pr->tty) {
		redraw(pr);
	} else {
		fprintf(pr->out, " %s  %s\n", id, status);
		fflush(pr->out);
	}
	pthread_mutex_unlock(&pr->lock);
}

void stack_progress_finish(struct stack_progress *pr)
{
	if (pr == NULL)
		return;
	pthread_mutex_lock(&pr->lock);
	if (pr->tty && pr->n > 0)
		redraw(pr);
	for (size_t i = 0; i < pr->n; i++) {
		free(pr->lines[i].id);
		free(pr->lines[i].status);
	}
	free(pr->lines);
	pr->lines = NULL;
	pr->n = 0;
	pr->drawn = 0;
	pthread_mutex_unlock(&pr->lock);
}

void stack_progress_free(struct stack_progress *pr)
{
	if (pr == NULL)
		return;
	stack_progress_finish(pr);
	pthread_mutex_destroy(&pr->lock);
	free(pr->title);
	free(pr);
}
