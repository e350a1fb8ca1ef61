/* loop.c - the epoll event loop: fd watches looked up by fd and generation, timers on a
 * single timerfd armed for the earliest deadline only, signalfds, and an eventfd-woken queue. */
#include "base/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"

/* epoll_event.data.u64 = generation << 32 | fd.  Generation 0 tags the loop's own fds
 * (timerfd, eventfd, signalfds); fd watches count from 1. */
#define TAG(gen, fd) (((uint64_t)(gen) << 32) | (uint32_t)(fd))
#define TAG_GEN(tag) ((uint32_t)((tag) >> 32))
#define TAG_FD(tag)  ((int)(uint32_t)(tag))

#define MAX_EVENTS 64
/* far enough to mean "never" and still fit a timespec and an int64 */
#define NS_MAX ((uint64_t)INT64_MAX)

struct watch {
	int fd;
	uint32_t gen;
	uint32_t events; /* PX_LOOP_READ | PX_LOOP_WRITE */
	px_fd_cb *cb;
	void *data;
};

struct px_timer {
	struct px_loop *loop;
	struct px_timer *prev, *next;         /* loop->armed, sorted by deadline; armed only */
	struct px_timer *all_prev, *all_next; /* loop->timers: every timer, for px_loop_free */
	uint64_t deadline_ns, repeat_ns;
	uint64_t round; /* the timer round it was last armed in; see dispatch_timers() */
	bool armed;
	px_timer_cb *cb;
	void *data;
};

struct sigsrc {
	int fd;
	px_signal_cb *cb;
	void *data;
	struct sigsrc *next;
};

struct post {
	void (*fn)(void *data);
	void *data;
	struct post *next;
};

struct px_loop {
	int epfd;
	int timer_fd; /* armed for the earliest armed timer, disarmed when there is none */
	int event_fd; /* written by px_loop_post() */

	struct watch **watches; /* indexed by fd */
	size_t nwatches;
	uint32_t next_gen;

	struct px_timer *armed;  /* sorted by deadline, ties in arming order */
	struct px_timer *timers; /* all of them */
	uint64_t timer_round;
	uint64_t programmed_ns; /* what timer_fd is set to; 0: disarmed or already fired */

	struct sigsrc *sigs;

	pthread_mutex_t lock; /* guards posts only */
	struct post *posts, *posts_tail;

	bool dispatching;
	bool stop;
};

int64_t px_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t px_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void px_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t mono_ns(void)
{
	return (uint64_t)px_mono_ns();
}

/* ms -> ns, saturating at NS_MAX */
static uint64_t ms_to_ns(uint64_t ms)
{
	return ms > NS_MAX / 1000000u ? NS_MAX : ms * 1000000u;
}

static int epoll_add(struct px_loop *loop, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct px_loop *px_loop_new(struct px_error *err)
{
	struct px_loop *loop = xcalloc(1, sizeof(*loop));

	loop->timer_fd = -1;
	loop->event_fd = -1;
	loop->next_gen = 1;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		px_error_set(err, errno, "cannot create an epoll instance");
		goto fail;
	}
	loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (loop->timer_fd < 0) {
		px_error_set(err, errno, "cannot create a timerfd");
		goto fail;
	}
	loop->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->event_fd < 0) {
		px_error_set(err, errno, "cannot create an eventfd");
		goto fail;
	}
	if (epoll_add(loop, loop->timer_fd, EPOLLIN, TAG(0, loop->timer_fd)) < 0 ||
	    epoll_add(loop, loop->event_fd, EPOLLIN, TAG(0, loop->event_fd)) < 0) {
		px_error_set(err, errno, "cannot add the loop's own fds to epoll");
		goto fail;
	}
	return loop;
fail:
	px_loop_free(loop);
	return NULL;
}

/* Take the whole queue under the lock, run it outside (a post may post again). */
static int drain_posts(struct px_loop *loop)
{
	struct post *p, *next;
	int n = 0;

	pthread_mutex_lock(&loop->lock);
	p = loop->posts;
	loop->posts = loop->posts_tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	for (; p != NULL; p = next) {
		next = p->next;
		p->fn(p->data);
		free(p);
		n++;
	}
	return n;
}

void px_loop_free(struct px_loop *loop)
{
	struct sigsrc *s, *snext;
	struct px_timer *t, *tnext;
	size_t i;

	if (loop == NULL)
		return;
	/* posts carry data other threads handed over: run them rather than leak it */
	while (loop->posts != NULL)
		drain_posts(loop);
	for (t = loop->timers; t != NULL; t = tnext) {
		tnext = t->all_next;
		free(t);
	}
	for (i = 0; i < loop->nwatches; i++)
		free(loop->watches[i]);
	free(loop->watches);
	for (s = loop->sigs; s != NULL; s = snext) {
		snext = s->next;
		close(s->fd);
		free(s);
	}
	if (loop->event_fd >= 0)
		close(loop->event_fd);
	if (loop->timer_fd >= 0)
		close(loop->timer_fd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

static uint32_t to_epoll(uint32_t events)
{
	return ((events & PX_LOOP_READ) ? EPOLLIN : 0) | ((events & PX_LOOP_WRITE) ? EPOLLOUT : 0);
}

int px_loop_add_fd(struct px_loop *loop, int fd, uint32_t events, px_fd_cb *cb, void *data,
		   struct px_error *err)
{
	struct watch *w;
	size_t n;

	if (fd < 0)
		return px_error_set(err, EBADF, "cannot watch fd %d", fd);
	if ((size_t)fd < loop->nwatches && loop->watches[fd] != NULL)
		return px_error_set(err, EEXIST, "cannot watch fd %d", fd);
	if ((size_t)fd >= loop->nwatches) {
		n = (size_t)fd + 1 > loop->nwatches * 2 ? (size_t)fd + 1 : loop->nwatches * 2;
		loop->watches = xreallocarray(loop->watches, n, sizeof(struct watch *));
		memset(loop->watches + loop->nwatches, 0,
		       (n - loop->nwatches) * sizeof(struct watch *));
		loop->nwatches = n;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->gen = loop->next_gen++;
	if (loop->next_gen == 0) /* 0 tags the loop's own fds */
		loop->next_gen = 1;
	w->events = events & (PX_LOOP_READ | PX_LOOP_WRITE);
	w->cb = cb;
	w->data = data;
	if (epoll_add(loop, fd, to_epoll(w->events), TAG(w->gen, fd)) < 0) {
		free(w);
		return px_error_set(err, errno, "cannot watch fd %d", fd);
	}
	loop->watches[fd] = w;
	return 0;
}

static struct watch *find_watch(const struct px_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nwatches)
		return NULL;
	return loop->watches[fd];
}

int px_loop_mod_fd(struct px_loop *loop, int fd, uint32_t events, struct px_error *err)
{
	struct watch *w = find_watch(loop, fd);
	struct epoll_event ev;

	if (w == NULL)
		return px_error_set(err, ENOENT, "cannot change the watch of fd %d", fd);
	events &= PX_LOOP_READ | PX_LOOP_WRITE;
	ev.events = to_epoll(events);
	ev.data.u64 = TAG(w->gen, fd);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return px_error_set(err, errno, "cannot change the watch of fd %d", fd);
	w->events = events;
	return 0;
}

void px_loop_del_fd(struct px_loop *loop, int fd)
{
	struct watch *w = find_watch(loop, fd);

	if (w == NULL)
		return;
	/* Fails with EBADF when the caller closed fd first; closing already removed the
	 * registration unless the file is still open elsewhere (a dup, a forked child
	 * before exec).  Either way the generation check in dispatch drops stale events. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watches[fd] = NULL;
	/* Freed at once: dispatch re-fetches the watch by fd and generation for every event
	 * and never touches a watch after its callback returned. */
	free(w);
}

/* Insert into the armed list after every timer due no later (ties keep arming order). */
static void timer_link(struct px_timer *t)
{
	struct px_loop *loop = t->loop;
	struct px_timer *pos = NULL, *it;

	for (it = loop->armed; it != NULL && it->deadline_ns <= t->deadline_ns; it = it->next)
		pos = it;
	t->prev = pos;
	t->next = pos != NULL ? pos->next : loop->armed;
	if (t->next != NULL)
		t->next->prev = t;
	if (pos != NULL)
		pos->next = t;
	else
		loop->armed = t;
	t->armed = true;
	t->round = loop->timer_round;
}

static void timer_unlink(struct px_timer *t)
{
	if (!t->armed)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->loop->armed = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->armed = false;
}

struct px_timer *px_loop_timer_add(struct px_loop *loop, uint64_t after_ms, uint64_t repeat_ms,
				   px_timer_cb *cb, void *data, struct px_error *err)
{
	struct px_timer *t = xcalloc(1, sizeof(*t));

	(void)err;
	t->loop = loop;
	t->cb = cb;
	t->data = data;
	t->all_next = loop->timers;
	if (loop->timers != NULL)
		loop->timers->all_prev = t;
	loop->timers = t;
	px_loop_timer_rearm(t, after_ms, repeat_ms);
	return t;
}

void px_loop_timer_rearm(struct px_timer *t, uint64_t after_ms, uint64_t repeat_ms)
{
	uint64_t now = mono_ns(), after = ms_to_ns(after_ms);

	timer_unlink(t);
	t->deadline_ns = after > NS_MAX - now ? NS_MAX : now + after;
	t->repeat_ns = ms_to_ns(repeat_ms);
	timer_link(t);
}

void px_loop_timer_disarm(struct px_timer *t)
{
	timer_unlink(t);
}

int px_loop_timer_armed(const struct px_timer *t)
{
	return t->armed;
}

void px_loop_timer_del(struct px_timer *t)
{
	struct px_loop *loop;

	if (t == NULL)
		return;
	loop = t->loop;
	timer_unlink(t);
	if (t->all_prev != NULL)
		t->all_prev->all_next = t->all_next;
	else
		loop->timers = t->all_next;
	if (t->all_next != NULL)
		t->all_next->all_prev = t->all_prev;
	/* freed at once: dispatch_timers() never holds a timer across a callback */
	free(t);
}

/* Point timer_fd at the earliest armed deadline, or disarm it so an idle loop sleeps. */
static int program_timerfd(struct px_loop *loop)
{
	uint64_t want = loop->armed != NULL ? loop->armed->deadline_ns : 0;
	struct itimerspec its;

	if (want == loop->programmed_ns)
		return 0;
	memset(&its, 0, sizeof(its));
	/* a zero it_value disarms; an absolute time already past fires at once */
	its.it_value.tv_sec = (time_t)(want / 1000000000u);
	its.it_value.tv_nsec = (long)(want % 1000000000u);
	if (timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -1;
	loop->programmed_ns = want;
	return 0;
}

/*
 * Fire every timer due now, earliest first.  The list may change under any callback, so
 * the scan restarts from the head after each one.  A timer (re)armed during this round
 * carries the current round number and waits for the next round even when it is due
 * already: on a coarse clocksource (jiffies, some VMs) "now + 0" can equal the "now" read
 * above, and a callback rearming with 0 would otherwise fire again and again in here.
 */
static int dispatch_timers(struct px_loop *loop)
{
	uint64_t expirations, now = mono_ns();
	struct px_timer *t;
	int n = 0;

	/* reading resets the count; the timer fired, so it is no longer programmed */
	while (read(loop->timer_fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
		;
	loop->programmed_ns = 0;
	loop->timer_round++;
	t = loop->armed;
	while (t != NULL && t->deadline_ns <= now) {
		if (t->round == loop->timer_round) {
			t = t->next;
			continue;
		}
		timer_unlink(t);
		if (t->repeat_ns != 0) {
			/* keep the cadence, but after a long stall skip missed ticks */
			t->deadline_ns += t->repeat_ns;
			if (t->deadline_ns <= now)
				t->deadline_ns = now + t->repeat_ns;
			timer_link(t);
		}
		t->cb(loop, t, t->data);
		n++;
		t = loop->armed;
	}
	return n;
}

static int dispatch_signals(struct px_loop *loop, int fd)
{
	struct signalfd_siginfo si[16];
	struct sigsrc *s;
	ssize_t r;
	size_t i;
	int n = 0;

	for (s = loop->sigs; s != NULL && s->fd != fd; s = s->next)
		;
	if (s == NULL)
		return 0;
	for (;;) {
		r = read(fd, si, sizeof(si));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r / sizeof(si[0]); i++) {
			s->cb(loop, &si[i], s->data);
			n++;
		}
	}
	return n;
}

static int dispatch_fd(struct px_loop *loop, uint64_t tag, uint32_t revents)
{
	struct watch *w = find_watch(loop, TAG_FD(tag));
	uint32_t ev = 0;

	/* deleted by an earlier callback of this round, maybe replaced by a new watch on
	 * the same fd number that this event is not for */
	if (w == NULL || w->gen != TAG_GEN(tag))
		return 0;
	if (revents & EPOLLIN)
		ev |= PX_LOOP_READ;
	if (revents & EPOLLOUT)
		ev |= PX_LOOP_WRITE;
	if (revents & EPOLLHUP)
		ev |= PX_LOOP_HUP;
	if (revents & EPOLLERR)
		ev |= PX_LOOP_ERR;
	/* a pipe whose writer is gone reports only EPOLLHUP: let readers see it as
	 * readable and meet EOF in read() */
	if (ev & (PX_LOOP_HUP | PX_LOOP_ERR))
		ev |= w->events;
	/* an earlier callback may have narrowed the events since epoll_wait() */
	ev &= w->events | PX_LOOP_HUP | PX_LOOP_ERR;
	if (ev == 0)
		return 0;
	w->cb(loop, w->fd, ev, w->data);
	return 1;
}

int px_loop_run_once(struct px_loop *loop, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t drained;
	int i, n, handled = 0;

	if (loop->dispatching) {
		errno = EBUSY; /* called from a callback */
		return -1;
	}
	if (program_timerfd(loop) < 0)
		return -1;
	n = epoll_wait(loop->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	loop->dispatching = true;
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		int fd = TAG_FD(tag);

		if (TAG_GEN(tag) != 0) {
			handled += dispatch_fd(loop, tag, evs[i].events);
		} else if (fd == loop->timer_fd) {
			handled += dispatch_timers(loop);
		} else if (fd == loop->event_fd) {
			/* reset the counter before taking the queue: a post racing with us
			 * then at worst costs one empty wakeup, never a lost one */
			while (read(loop->event_fd, &drained, sizeof(drained)) < 0 &&
			       errno == EINTR)
				;
			handled += drain_posts(loop);
		} else {
			handled += dispatch_signals(loop, fd);
		}
	}
	loop->dispatching = false;
	return handled;
}

int px_loop_run(struct px_loop *loop)
{
	int ret = 0;

	while (!loop->stop) {
		if (px_loop_run_once(loop, -1) < 0) {
			ret = -1;
			break;
		}
	}
	loop->stop = false;
	return ret;
}

void px_loop_stop(struct px_loop *loop)
{
	loop->stop = true;
}

int px_loop_post(struct px_loop *loop, void (*fn)(void *data), void *data)
{
	struct post *p = xmalloc(sizeof(*p));
	uint64_t one = 1;
	ssize_t r;

	p->fn = fn;
	p->data = data;
	p->next = NULL;
	pthread_mutex_lock(&loop->lock);
	if (loop->posts_tail != NULL)
		loop->posts_tail->next = p;
	else
		loop->posts = p;
	loop->posts_tail = p;
	pthread_mutex_unlock(&loop->lock);
	do
		r = write(loop->event_fd, &one, sizeof(one));
	while (r < 0 && errno == EINTR);
	/* EAGAIN: the counter is saturated, so the loop is due to wake anyway */
	if (r < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

static int fill_sigset(sigset_t *set, const int *signos, size_t n, struct px_error *err)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < n; i++) {
		if (sigaddset(set, signos[i]) < 0)
			return px_error_set(err, errno, "cannot handle signal %d", signos[i]);
	}
	return 0;
}

int px_block_signals(const int *signos, size_t n, sigset_t *old, struct px_error *err)
{
	sigset_t set;
	int r;

	if (fill_sigset(&set, signos, n, err) < 0)
		return -1;
	/* returns the error number rather than setting errno */
	r = pthread_sigmask(SIG_BLOCK, &set, old);
	if (r != 0)
		return px_error_set(err, r, "cannot block signals");
	return 0;
}

int px_loop_add_signals(struct px_loop *loop, const int *signos, size_t n, px_signal_cb *cb,
			void *data, struct px_error *err)
{
	struct sigsrc *s;
	sigset_t set;
	int fd;

	if (fill_sigset(&set, signos, n, err) < 0)
		return -1;
	/* signalfd only sees signals that are blocked; unblocked ones still run their
	 * default action (or a handler) instead */
	if (px_block_signals(signos, n, NULL, err) < 0)
		return -1;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return px_error_set(err, errno, "cannot create a signalfd");
	if (epoll_add(loop, fd, EPOLLIN, TAG(0, fd)) < 0) {
		int e = errno;

		close(fd);
		return px_error_set(err, e, "cannot watch the signalfd");
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->cb = cb;
	s->data = data;
	s->next = loop->sigs;
	loop->sigs = s;
	return 0;
}
