/* test_loop.c - unit tests for base/loop.c: fd watches and deletion while dispatching,
 * timer order, repeat, disarm and idleness, cross-thread posts, signals, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/loop.h"
#include "base/xmalloc.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct px_loop *new_loop(void)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_loop *loop = px_loop_new(&err);

	if (loop == NULL)
		fail_msg("px_loop_new: %s", px_error_msg(&err));
	return loop;
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* Run rounds until *done or the deadline (never sleep blindly). */
static void run_until(struct px_loop *loop, const int *done, int ms)
{
	long long deadline = now_ms() + ms;

	while (!*done && now_ms() < deadline)
		assert_true(px_loop_run_once(loop, 50) >= 0);
	assert_true(*done);
}

struct fd_rec {
	int calls;
	int fd;
	uint32_t events;
	char data[16];
	ssize_t nread;
};

static void record_and_read(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct fd_rec *r = data;

	(void)loop;
	r->calls++;
	r->fd = fd;
	r->events = events;
	r->nread = read(fd, r->data, sizeof(r->data));
}

static void test_fd_callback_on_pipe(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct fd_rec r = {0};
	int p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(px_loop_add_fd(loop, p[0], PX_LOOP_READ, record_and_read, &r, &err), 0);
	/* nothing to read yet: the round times out */
	assert_int_equal(px_loop_run_once(loop, 20), 0);
	assert_int_equal(r.calls, 0);

	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_true(r.events & PX_LOOP_READ);
	assert_int_equal(r.nread, 1);
	assert_int_equal(r.data[0], 'x');

	/* the writer goes away: the reader is told READ|HUP and meets EOF */
	close(p[1]);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 2);
	assert_true(r.events & PX_LOOP_READ);
	assert_true(r.events & PX_LOOP_HUP);
	assert_int_equal(r.nread, 0);

	px_loop_del_fd(loop, p[0]);
	assert_int_equal(px_loop_run_once(loop, 20), 0);
	assert_int_equal(r.calls, 2);
	close(p[0]);
	px_loop_free(loop);
	px_error_clear(&err);
}

static void test_add_mod_errors(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct fd_rec r = {0};
	int p[2];

	(void)state;
	make_pipe(p);
	/* the write end of an empty pipe is never readable, always writable */
	assert_int_equal(px_loop_add_fd(loop, p[1], PX_LOOP_READ, record_and_read, &r, &err), 0);
	assert_int_equal(px_loop_run_once(loop, 20), 0);
	assert_int_equal(px_loop_mod_fd(loop, p[1], PX_LOOP_WRITE, &err), 0);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(r.events, PX_LOOP_WRITE);

	assert_int_equal(px_loop_add_fd(loop, p[1], PX_LOOP_READ, record_and_read, &r, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(px_loop_mod_fd(loop, p[0], PX_LOOP_READ, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(px_loop_add_fd(loop, -1, PX_LOOP_READ, record_and_read, &r, &err), -1);
	px_loop_del_fd(loop, p[0]); /* not watched: no-op */
	px_loop_del_fd(loop, p[1]);
	close(p[0]);
	close(p[1]);
	px_loop_free(loop);
	px_loop_free(NULL);
	px_error_clear(&err);
}

struct del_ctx {
	struct px_loop *loop;
	int a, b; /* read ends */
	int calls_a, calls_b;
	int calls_new; /* callbacks on a watch added during the round */
	bool del_self, replace;
	bool acted; /* only the first callback deletes (and replaces) */
};

static void on_new(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct del_ctx *c = data;

	(void)loop;
	(void)fd;
	(void)events;
	c->calls_new++;
}

/* Never reads: level-triggered epoll would report the fd again if it were still watched. */
static void on_del(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct del_ctx *c = data;
	int other = fd == c->a ? c->b : c->a;
	struct px_error err = PX_ERROR_INIT;
	int np[2];

	(void)events;
	if (fd == c->a)
		c->calls_a++;
	else
		c->calls_b++;
	if (c->del_self) {
		px_loop_del_fd(loop, fd);
		return;
	}
	if (c->acted)
		return;
	c->acted = true;
	px_loop_del_fd(loop, other);
	if (c->replace) {
		/* close the other and watch a new, empty pipe that takes over its fd number:
		 * the stale event of this round must not reach the new watch */
		close(other);
		make_pipe(np);
		assert_int_equal(np[0], other);
		assert_int_equal(px_loop_add_fd(loop, np[0], PX_LOOP_READ, on_new, c, &err), 0);
		close(np[1]); /* next round: the new watch sees HUP */
	}
	px_error_clear(&err);
}

static void test_del_self_in_callback(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct del_ctx c = {.loop = loop, .del_self = true};
	int pa[2];

	(void)state;
	make_pipe(pa);
	c.a = pa[0];
	c.b = -1;
	assert_int_equal(px_loop_add_fd(loop, pa[0], PX_LOOP_READ, on_del, &c, &err), 0);
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(c.calls_a, 1);
	/* still readable, but no longer watched */
	assert_int_equal(px_loop_run_once(loop, 50), 0);
	assert_int_equal(c.calls_a, 1);
	/* the fd can be watched again */
	assert_int_equal(px_loop_add_fd(loop, pa[0], PX_LOOP_READ, on_del, &c, &err), 0);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(c.calls_a, 2);
	close(pa[0]);
	close(pa[1]);
	px_loop_free(loop);
	px_error_clear(&err);
}

/* Both fds are ready in the same epoll_wait(); whichever callback runs first deletes the
 * other, so exactly one callback may run (ASan catches a use of the deleted watch). */
static void test_del_other_in_same_round(void **state)
{
	static const bool replace[] = {false, true};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct px_loop *loop = new_loop();
		struct px_error err = PX_ERROR_INIT;
		struct del_ctx c = {.loop = loop, .replace = replace[i]};
		int pa[2], pb[2];

		make_pipe(pa);
		make_pipe(pb);
		c.a = pa[0];
		c.b = pb[0];
		assert_int_equal(px_loop_add_fd(loop, pa[0], PX_LOOP_READ, on_del, &c, &err), 0);
		assert_int_equal(px_loop_add_fd(loop, pb[0], PX_LOOP_READ, on_del, &c, &err), 0);
		assert_int_equal(write(pa[1], "x", 1), 1);
		assert_int_equal(write(pb[1], "y", 1), 1);

		assert_int_equal(px_loop_run_once(loop, 1000), 1);
		assert_int_equal(c.calls_a + c.calls_b, 1);
		assert_int_equal(c.calls_new, 0);
		if (replace[i]) {
			/* next round: the survivor again (never read) and the new watch with
			 * its own event (HUP) */
			assert_int_equal(px_loop_run_once(loop, 1000), 2);
			assert_int_equal(c.calls_new, 1);
			assert_int_equal(c.calls_a + c.calls_b, 2);
		}
		/* one of these fd numbers is now the replacement pipe's read end */
		px_loop_del_fd(loop, pa[0]);
		px_loop_del_fd(loop, pb[0]);
		close(pa[0]);
		close(pa[1]);
		close(pb[0]);
		close(pb[1]);
		px_loop_free(loop);
		px_error_clear(&err);
	}
}

struct mod_ctx {
	int a, b;
	int calls;
};

static void on_mod_other(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct mod_ctx *c = data;

	(void)events;
	c->calls++;
	/* pause the other watch: its event already fetched for this round must be dropped */
	assert_int_equal(px_loop_mod_fd(loop, fd == c->a ? c->b : c->a, 0, NULL), 0);
}

static void test_mod_other_in_same_round(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct mod_ctx c = {0};
	int pa[2], pb[2];

	(void)state;
	make_pipe(pa);
	make_pipe(pb);
	c.a = pa[0];
	c.b = pb[0];
	assert_int_equal(px_loop_add_fd(loop, pa[0], PX_LOOP_READ, on_mod_other, &c, &err), 0);
	assert_int_equal(px_loop_add_fd(loop, pb[0], PX_LOOP_READ, on_mod_other, &c, &err), 0);
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(write(pb[1], "y", 1), 1);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(c.calls, 1);
	px_loop_del_fd(loop, pa[0]);
	px_loop_del_fd(loop, pb[0]);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
	px_loop_free(loop);
	px_error_clear(&err);
}

struct order {
	int ids[16];
	int n;
	int want;
	int done;
};

struct tag {
	struct order *o;
	int id;
};

static void on_order(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct tag *tg = data;

	(void)loop;
	(void)t;
	tg->o->ids[tg->o->n++] = tg->id;
	if (tg->o->n == tg->o->want)
		tg->o->done = 1;
}

/* Timers added out of order fire by deadline: each due in its own round, and all due in
 * one round (after the loop was kept from running past all three deadlines). */
static void test_timers_fire_in_deadline_order(void **state)
{
	static const int one_round[] = {0, 1};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct px_loop *loop = new_loop();
		struct px_error err = PX_ERROR_INIT;
		struct order o = {.want = 3};
		struct tag t30 = {&o, 30}, t10 = {&o, 10}, t20 = {&o, 20};
		struct px_timer *a, *b, *c;

		a = px_loop_timer_add(loop, 30, 0, on_order, &t30, &err);
		b = px_loop_timer_add(loop, 10, 0, on_order, &t10, &err);
		c = px_loop_timer_add(loop, 20, 0, on_order, &t20, &err);
		if (one_round[i]) {
			/* let all three deadlines pass before the loop looks */
			struct timespec ts = {0, 60L * 1000000};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			assert_int_equal(px_loop_run_once(loop, 1000), 3);
		} else {
			run_until(loop, &o.done, 5000);
		}
		assert_int_equal(o.n, 3);
		assert_int_equal(o.ids[0], 10);
		assert_int_equal(o.ids[1], 20);
		assert_int_equal(o.ids[2], 30);
		/* one-shots are disarmed, not gone */
		assert_false(px_loop_timer_armed(a));
		px_loop_timer_del(a);
		px_loop_timer_del(b);
		px_loop_timer_del(c);
		px_loop_free(loop);
		px_error_clear(&err);
	}
}

struct counter {
	int n;
	int limit;
	int done;
	struct px_timer *other;
};

static void on_repeat(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct counter *c = data;

	(void)loop;
	c->n++;
	if (c->n == c->limit) {
		px_loop_timer_del(t); /* from its own callback */
		c->done = 1;
	}
}

static void test_repeating_timer_then_delete(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct counter c = {.limit = 5};
	struct px_timer *t;

	(void)state;
	t = px_loop_timer_add(loop, 5, 5, on_repeat, &c, &err);
	assert_true(px_loop_timer_armed(t));
	run_until(loop, &c.done, 5000);
	assert_int_equal(c.n, 5);
	/* deleted: no more firing, and nothing left to wake the loop */
	assert_int_equal(px_loop_run_once(loop, 50), 0);
	assert_int_equal(c.n, 5);
	px_loop_free(loop);
	px_error_clear(&err);
}

static void on_count(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct counter *c = data;

	(void)loop;
	(void)t;
	c->n++;
	c->done = 1;
}

static void test_disarmed_timer_never_fires(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct counter off = {0}, control = {0};
	struct px_timer *t, *ctl;

	(void)state;
	t = px_loop_timer_add(loop, 10, 10, on_count, &off, &err);
	px_loop_timer_disarm(t);
	assert_false(px_loop_timer_armed(t));
	/* a later armed timer proves the loop ran past the disarmed one's deadline */
	ctl = px_loop_timer_add(loop, 60, 0, on_count, &control, &err);
	run_until(loop, &control.done, 5000);
	assert_int_equal(px_loop_run_once(loop, 50), 0);
	assert_int_equal(off.n, 0);

	/* rearming brings it back */
	px_loop_timer_rearm(t, 0, 0);
	assert_true(px_loop_timer_armed(t));
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(off.n, 1);
	assert_false(px_loop_timer_armed(t));
	px_loop_timer_del(ctl);
	px_loop_timer_del(NULL);
	px_loop_free(loop); /* frees t */
	px_error_clear(&err);
}

/* Whichever of two timers due together fires first deletes the other. */
static void on_del_other_timer(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct counter *c = data;

	(void)loop;
	(void)t;
	c->n++;
	px_loop_timer_del(c->other);
	c->other = NULL;
}

static void on_rearm_self(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct counter *c = data;

	(void)loop;
	c->n++;
	px_loop_timer_rearm(t, 0, 0); /* due at once, but not in this round */
}

static void test_timer_changes_from_callbacks(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct counter shared = {0}, self = {0};
	struct px_timer *a, *b, *r;
	struct timespec ts = {0, 30L * 1000000};

	(void)state;
	a = px_loop_timer_add(loop, 5, 0, on_del_other_timer, &shared, &err);
	b = px_loop_timer_add(loop, 5, 0, on_del_other_timer, &shared, &err);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	/* both due in this round; the second must not fire after being deleted */
	shared.other = b;
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(shared.n, 1);
	assert_int_equal(px_loop_run_once(loop, 50), 0);

	r = px_loop_timer_add(loop, 0, 0, on_rearm_self, &self, &err);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(self.n, 1);
	assert_int_equal(px_loop_run_once(loop, 1000), 1);
	assert_int_equal(self.n, 2);
	px_loop_timer_del(r);
	px_loop_timer_del(a);
	px_loop_free(loop);
	px_error_clear(&err);
}

/* An idle loop whose timers are all disarmed (or fired) must sleep the whole timeout:
 * a timerfd left pointing at an old deadline would wake it at once. */
static void test_idle_loop_makes_no_wakeups(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct counter c = {0};
	struct px_timer *t1, *t2, *t3;
	long long t0, took;

	(void)state;
	t1 = px_loop_timer_add(loop, 1, 0, on_count, &c, &err);
	t2 = px_loop_timer_add(loop, 5, 5, on_count, &c, &err);
	t3 = px_loop_timer_add(loop, 1000, 0, on_count, &c, &err);
	px_loop_timer_disarm(t2);
	px_loop_timer_disarm(t3);
	run_until(loop, &c.done, 5000); /* t1 fires once */
	assert_int_equal(c.n, 1);

	t0 = now_ms();
	assert_int_equal(px_loop_run_once(loop, 200), 0);
	took = now_ms() - t0;
	assert_true(took >= 190);
	assert_int_equal(c.n, 1);
	px_loop_timer_del(t1);
	px_loop_timer_del(t2);
	px_loop_timer_del(t3);
	px_loop_free(loop);
	px_error_clear(&err);
}

#define POST_THREADS 4
#define POSTS_EACH   1000

struct post_state {
	struct px_loop *loop;
	int next[POST_THREADS]; /* next sequence number expected from each thread */
	int total;
	int out_of_order;
	int done;
};

struct post_item {
	struct post_state *st;
	int thread, seq;
};

struct poster {
	struct post_state *st;
	int thread;
};

static void on_post(void *data)
{
	struct post_item *it = data;
	struct post_state *st = it->st;

	if (st->next[it->thread] != it->seq)
		st->out_of_order++;
	st->next[it->thread] = it->seq + 1;
	if (++st->total == POST_THREADS * POSTS_EACH)
		st->done = 1;
	free(it); /* ownership came with the post */
}

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	int i;

	for (i = 0; i < POSTS_EACH; i++) {
		struct post_item *it = xmalloc(sizeof(*it));

		it->st = p->st;
		it->thread = p->thread;
		it->seq = i;
		if (px_loop_post(p->st->loop, on_post, it) < 0)
			abort();
	}
	return NULL;
}

static void test_post_from_threads(void **state)
{
	struct post_state st = {0};
	struct poster posters[POST_THREADS];
	pthread_t tids[POST_THREADS];
	int i;

	(void)state;
	st.loop = new_loop();
	for (i = 0; i < POST_THREADS; i++) {
		posters[i].st = &st;
		posters[i].thread = i;
		assert_int_equal(pthread_create(&tids[i], NULL, poster_main, &posters[i]), 0);
	}
	run_until(st.loop, &st.done, 20000);
	for (i = 0; i < POST_THREADS; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);
	assert_int_equal(st.total, POST_THREADS * POSTS_EACH);
	assert_int_equal(st.out_of_order, 0);
	for (i = 0; i < POST_THREADS; i++)
		assert_int_equal(st.next[i], POSTS_EACH);
	px_loop_free(st.loop);
}

static void on_local_post(void *data)
{
	(*(int *)data)++;
}

/* Posts still queued when the loop is freed run then, so handed-over data is not lost. */
static void test_free_runs_queued_posts(void **state)
{
	struct px_loop *loop = new_loop();
	int ran = 0;

	(void)state;
	assert_int_equal(px_loop_post(loop, on_local_post, &ran), 0);
	assert_int_equal(px_loop_post(loop, on_local_post, &ran), 0);
	assert_int_equal(px_loop_run_once(loop, 1000), 2);
	assert_int_equal(ran, 2);
	assert_int_equal(px_loop_post(loop, on_local_post, &ran), 0);
	px_loop_free(loop);
	assert_int_equal(ran, 3);
}

struct sig_rec {
	int n;
	uint32_t signo;
	uint32_t pid;
	int done;
};

static void on_signal(struct px_loop *loop, const struct signalfd_siginfo *si, void *data)
{
	struct sig_rec *r = data;

	(void)loop;
	r->n++;
	r->signo = si->ssi_signo;
	r->pid = si->ssi_pid;
	r->done = 1;
}

static void test_signal_through_signalfd(void **state)
{
	static const int signos[] = {SIGUSR1, SIGUSR2};
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct sig_rec r = {0};
	sigset_t old, now;
	int bad = 0;

	(void)state;
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &old), 0);
	assert_int_equal(px_loop_add_signals(loop, signos, 2, on_signal, &r, &err), 0);
	/* blocked now, or the default action would have killed us below */
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
	assert_true(sigismember(&now, SIGUSR1));
	assert_true(sigismember(&now, SIGUSR2));

	assert_int_equal(raise(SIGUSR1), 0);
	run_until(loop, &r.done, 5000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.signo, SIGUSR1);
	assert_int_equal(r.pid, getpid());

	r.done = 0;
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	run_until(loop, &r.done, 5000);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.signo, SIGUSR2);

	/* a bad signal number is an error, not a crash */
	assert_int_equal(px_loop_add_signals(loop, &bad, 1, on_signal, &r, &err), -1);
	assert_int_equal(px_block_signals(&bad, 1, NULL, &err), -1);
	assert_int_equal(err.errnum, EINVAL);

	px_loop_free(loop);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	px_error_clear(&err);
}

static void test_block_signals(void **state)
{
	static const int signos[] = {SIGHUP};
	struct px_error err = PX_ERROR_INIT;
	sigset_t old, now;

	(void)state;
	assert_int_equal(px_block_signals(signos, 1, &old, &err), 0);
	assert_false(sigismember(&old, SIGHUP));
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
	assert_true(sigismember(&now, SIGHUP));
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	px_error_clear(&err);
}

static void on_stop_third(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct counter *c = data;

	(void)t;
	c->n++;
	if (c->n > 3)
		fail_msg("px_loop_stop did not end px_loop_run");
	if (c->n == 3)
		px_loop_stop(loop);
}

static void test_stop_from_callback(void **state)
{
	struct px_loop *loop = new_loop();
	struct px_error err = PX_ERROR_INIT;
	struct counter c = {0};
	struct px_timer *t;

	(void)state;
	t = px_loop_timer_add(loop, 1, 1, on_stop_third, &c, &err);
	assert_int_equal(px_loop_run(loop), 0);
	assert_int_equal(c.n, 3);
	/* the loop can run again after a stop */
	c.n = 2;
	assert_int_equal(px_loop_run(loop), 0);
	assert_int_equal(c.n, 3);
	px_loop_timer_del(t);
	px_loop_free(loop);
	px_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fd_callback_on_pipe),
	    cmocka_unit_test(test_add_mod_errors),
	    cmocka_unit_test(test_del_self_in_callback),
	    cmocka_unit_test(test_del_other_in_same_round),
	    cmocka_unit_test(test_mod_other_in_same_round),
	    cmocka_unit_test(test_timers_fire_in_deadline_order),
	    cmocka_unit_test(test_repeating_timer_then_delete),
	    cmocka_unit_test(test_disarmed_timer_never_fires),
	    cmocka_unit_test(test_timer_changes_from_callbacks),
	    cmocka_unit_test(test_idle_loop_makes_no_wakeups),
	    cmocka_unit_test(test_post_from_threads),
	    cmocka_unit_test(test_free_runs_queued_posts),
	    cmocka_unit_test(test_signal_through_signalfd),
	    cmocka_unit_test(test_block_signals),
	    cmocka_unit_test(test_stop_from_callback),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
