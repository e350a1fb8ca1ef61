/* runner.c - the stack handle and its job runner: blocking engine work runs in threads,
 * each on its own engine connection; their reports come back to the calling thread
 * through a px_loop post queue, and SIGINT/SIGTERM arrive on the same loop's signalfd. */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stack_open(struct stack **out, struct engine *e, const struct compose_project *p,
	       struct stack_progress *progress, struct px_error *err)
{
	struct stack *st;

	if (e == NULL || p == NULL)
		return px_error_set(err, EINVAL, "stack: no engine or no project");
	st = xcalloc(1, sizeof(*st));
	st->engine = e;
	st->project = p;
	st->progress = progress;
	pthread_mutex_init(&st->lock, NULL);
	*out = st;
	return 0;
}

void stack_free(struct stack *st)
{
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void stack_set_signals(struct stack *st, bool on)
{
	st->signals = on;
}

void stack_interrupt(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	st->interrupted = true;
	if (st->running != NULL) {
		for (struct stack_job *j = st->running->jobs; j != NULL; j = j->next)
			engine_interrupt(j->e);
	}
	pthread_mutex_unlock(&st->lock);
}

bool stack_interrupted(struct stack *st)
{
	bool v;

	pthread_mutex_lock(&st->lock);
	v = st->interrupted;
	pthread_mutex_unlock(&st->lock);
	return v;
}

void stack_reset_interrupt(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	st->interrupted = false;
	pthread_mutex_unlock(&st->lock);
}

/* A signal is an interrupt of the operation, handled on the loop thread. */
static void on_signal(struct px_loop *loop, const struct signalfd_siginfo *si, void *data)
{
	struct runner *r = data;

	(void)loop;
	r->signals++;
	if (r->signals == 1)
		px_warn("interrupted (%s): stopping what is under way",
			strsignal((int)si->ssi_signo));
	stack_interrupt(r->st);
}

int stack_runner_init(struct runner *r, struct stack *st, stack_job_msg_fn on_msg, void *data,
		      struct px_error *err)
{
	static const int sigs[] = {SIGINT, SIGTERM};

	memset(r, 0, sizeof(*r));
	r->st = st;
	r->on_msg = on_msg;
	r->data = data;
	r->loop = px_loop_new(err);
	if (r->loop == NULL)
		return -1;
	if (st->signals && px_loop_add_signals(r->loop, sigs, 2, on_signal, r, err) < 0) {
		px_loop_free(r->loop);
		r->loop = NULL;
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	st->running = r;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

struct job_msg {
	struct stack_job *job;
	int kind;
	char *detail;
};

static void unlink_job(struct runner *r, struct stack_job *j)
{
	pthread_mutex_lock(&r->st->lock);
	for (struct stack_job **pp = &r->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	pthread_mutex_unlock(&r->st->lock);
}

/* On the loop thread: hand one report to the owner; after DONE the job is gone. */
static void deliver(void *data)
{
	struct job_msg *m = data;
	struct stack_job *j = m->job;
	struct runner *r = j->runner;

	if (m->kind == STACK_JOB_DONE) {
		pthread_join(j->thread, NULL);
		unlink_job(r, j);
		r->active--;
	}
	r->on_msg(r, j, m->kind, m->detail, r->data);
	if (m->kind == STACK_JOB_DONE) {
		engine_free(j->e);
		px_error_clear(&j->err);
		free(j);
	}
	free(m);
}

void stack_job_post(struct stack_job *j, int kind, char *detail)
{
	struct job_msg *m = xmalloc(sizeof(*m));

	m->job = j;
	m->kind = kind;
	m->detail = detail;
	/* a live loop always takes the post; its eventfd cannot fail short of EBADF */
	px_loop_post(j->runner->loop, deliver, m);
}

static void *job_main(void *arg)
{
	struct stack_job *j = arg;

	j->rc = j->fn(j, &j->err);
	stack_job_post(j, STACK_JOB_DONE, NULL);
	return NULL;
}

int stack_runner_spawn(struct runner *r, int (*fn)(struct stack_job *, struct px_error *),
		       void *arg, size_t index, struct px_error *err)
{
	struct stack_job *j = xcalloc(1, sizeof(*j));
	int rc;

	j->runner = r;
	j->fn = fn;
	j->arg = arg;
	j->index = index;
	j->err = (struct px_error)PX_ERROR_INIT;
	if (engine_dup(r->st->engine, &j->e, err) < 0) {
		free(j);
		return -1;
	}
	pthread_mutex_lock(&r->st->lock);
	/* an operation interrupted already: the job's first request fails at once */
	if (r->st->interrupted)
		engine_interrupt(j->e);
	j->next = r->jobs;
	r->jobs = j;
	pthread_mutex_unlock(&r->st->lock);
	rc = pthread_create(&j->thread, NULL, job_main, j);
	if (rc != 0) {
		unlink_job(r, j);
		engine_free(j->e);
		free(j);
		return px_error_set(err, rc, "cannot start a thread");
	}
	r->active++;
	return 0;
}

int stack_runner_run(struct runner *r, struct px_error *err)
{
	int ret = 0;

	while (r->active > 0) {
		if (px_loop_run_once(r->loop, -1) < 0 && errno != EINTR && ret == 0) {
			/* the jobs still hold the loop: stop them and keep dispatching */
			ret = px_error_set(err, errno, "event loop failed");
			stack_interrupt(r->st);
		}
	}
	return ret;
}

void stack_runner_release(struct runner *r)
{
	if (r->loop == NULL)
		return;
	/* every job was joined by run(); posts still queued are delivered by free */
	pthread_mutex_lock(&r->st->lock);
	if (r->st->running == r)
		r->st->running = NULL;
	pthread_mutex_unlock(&r->st->lock);
	px_loop_free(r->loop);
	r->loop = NULL;
}
