/* loop.h - the epoll event loop that owns all of the supervisor's state: fd watches,
 * timers on one timerfd, signals on signalfd, and a queue other threads post work onto. */
#ifndef PX_LOOP_H
#define PX_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "base/error.h"

/*
 * Threading: a loop belongs to the one thread that runs it.  Every function here must be
 * called from that thread, except px_loop_post(), which any thread may call.
 *
 * Callbacks may add, change and delete any watch or timer (their own included) and call
 * px_loop_stop().  They must not call px_loop_run(), px_loop_run_once() or px_loop_free().
 */
struct px_loop;
struct px_timer;

/* Events of an fd watch.  HUP and ERR are always reported; when they occur, READ and
 * WRITE are reported too (as far as they were asked for) so a reader simply sees EOF. */
#define PX_LOOP_READ  0x1u
#define PX_LOOP_WRITE 0x2u
#define PX_LOOP_HUP   0x4u
#define PX_LOOP_ERR   0x8u

typedef void px_fd_cb(struct px_loop *loop, int fd, uint32_t events, void *data);
typedef void px_timer_cb(struct px_loop *loop, struct px_timer *timer, void *data);
typedef void px_signal_cb(struct px_loop *loop, const struct signalfd_siginfo *si, void *data);

/* *out-style constructor: NULL on failure with err set.  Free with px_loop_free(). */
struct px_loop *px_loop_new(struct px_error *err);

/* Run the posts still queued (so data handed over by other threads is not leaked), then
 * free every watch, timer and signalfd.  Watched fds are the caller's and stay open;
 * blocked signals stay blocked.  Join the posting threads first.  NULL-safe. */
void px_loop_free(struct px_loop *loop);

/* Watch fd (not owned) for events; EEXIST when fd is already watched. */
int px_loop_add_fd(struct px_loop *loop, int fd, uint32_t events, px_fd_cb *cb, void *data,
		   struct px_error *err);
/* Change the events of a watched fd. */
int px_loop_mod_fd(struct px_loop *loop, int fd, uint32_t events, struct px_error *err);
/* Stop watching fd; no-op when not watched.  Safe from any callback, including fd's own:
 * an event of this round that was not yet dispatched is dropped.  The fd may be closed
 * before or after this call. */
void px_loop_del_fd(struct px_loop *loop, int fd);

/*
 * A timer on CLOCK_MONOTONIC, first due after_ms from now (0: on the next round), then
 * every repeat_ms (0: one-shot; a one-shot timer is disarmed, not deleted, once fired).
 * Timers that are due together fire in deadline order.  Never returns NULL (err is kept
 * for later implementations).  The timer belongs to the loop: px_loop_timer_del() or
 * px_loop_free() releases it.  To keep an idle timer, add it and disarm it.
 */
struct px_timer *px_loop_timer_add(struct px_loop *loop, uint64_t after_ms, uint64_t repeat_ms,
				   px_timer_cb *cb, void *data, struct px_error *err);
/* (Re)start the timer whatever its state. */
void px_loop_timer_rearm(struct px_timer *timer, uint64_t after_ms, uint64_t repeat_ms);
/* Keep the timer but never fire it (and never wake the loop for it) until rearmed. */
void px_loop_timer_disarm(struct px_timer *timer);
int px_loop_timer_armed(const struct px_timer *timer);
/* Delete the timer (from its own callback too).  NULL-safe. */
void px_loop_timer_del(struct px_timer *timer);

/*
 * Block signos in the calling thread and deliver them through a signalfd to cb, one call
 * per queued signal.  A blocked signal stays pending for the process until some thread
 * takes it, and new threads inherit their creator's mask: call px_block_signals() (or this)
 * before starting any other thread, or another thread may receive the signal and run its
 * default action.  Standard signals coalesce: one SIGCHLD may stand for many exited
 * children, so reap with WNOHANG until none is left.
 */
int px_loop_add_signals(struct px_loop *loop, const int *signos, size_t n, px_signal_cb *cb,
			void *data, struct px_error *err);
/* pthread_sigmask(SIG_BLOCK) of signos; the previous mask goes to *old when non-NULL. */
int px_block_signals(const int *signos, size_t n, sigset_t *old, struct px_error *err);

/*
 * Thread-safe: queue fn(data) to run on the loop thread.  Posts run in the order they were
 * queued (so in per-thread order), each exactly once.  Returns 0, or -1 with errno when
 * the loop could not be woken (which does not happen with a live loop).
 */
int px_loop_post(struct px_loop *loop, void (*fn)(void *data), void *data);

/* Clocks in nanoseconds: CLOCK_MONOTONIC for durations and deadlines, CLOCK_REALTIME for
 * timestamps; and a sleep that resumes after signals.  Any thread. */
int64_t px_mono_ns(void);
int64_t px_real_ns(void);
void px_sleep_ms(long ms);

/* Dispatch until px_loop_stop().  Returns 0 when stopped, -1 with errno when epoll fails. */
int px_loop_run(struct px_loop *loop);
/* Make px_loop_run() return once the current round has been dispatched. */
void px_loop_stop(struct px_loop *loop);
/* One epoll_wait() round of at most timeout_ms (-1: no limit).  Returns how many callbacks
 * ran (fd, timer, signal and posted), 0 on timeout or EINTR, -1 with errno on failure. */
int px_loop_run_once(struct px_loop *loop, int timeout_ms);

#endif
