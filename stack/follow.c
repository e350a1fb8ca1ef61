/* follow.c - the logs of a running stack as one prefixed stream: a thread per container
 * following its log on its own engine connection, and an events thread that re-attaches
 * a container whenever it starts again (restart, recreate), all reporting to a px_loop. */
#include "stack/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Grace after the last stream ended before the stack counts as stopped: a restart's die
 * and start events come a moment apart. */
#define IDLE_GRACE_MS 2000

struct follower {
	struct stack_follow *f;
	char *id;
	char *prefix; /* "app-1": the container name without "<project>-" (compose's) */
	struct engine *e;
	pthread_t thread;
	int tail;         /* history lines on a first attach; -1 after a restart */
	int64_t since_ns; /* lines stamped earlier were shown already (or predate us) */
	int64_t last_ns;  /* the stamp of the last line shown */
	struct px_error err;
	struct follower *next;
};

/* A container attached at least once: start events older than the attach are history;
 * the next stream goes on after the last line the previous one showed. */
struct attached {
	char *id;
	char *prefix;
	int64_t at_ns;
	int64_t last_ns;
	int64_t pending_ns; /* a start seen while the previous stream was still draining */
	bool active;
	struct attached *next;
};

struct stack_follow {
	struct px_loop *loop;
	struct engine *e;
	char *project;
	char **services; /* NULL-terminated; empty: all */
	bool timestamps;
	bool no_prefix;
	int tail;
	void (*on_idle)(void *data);
	void *data;

	pthread_mutex_t lock;       /* guards followers and stopping (for interrupts) */
	struct follower *followers; /* live threads */
	bool stopping;
	size_t active;
	struct attached *attached; /* loop thread only */
	struct px_timer *idle_timer;

	struct engine *ev_engine;
	pthread_t ev_thread;
	bool ev_running;
	int64_t ev_since;
};

static bool in_scope(const struct stack_follow *f, const char *service)
{
	if (f->services[0] == NULL)
		return true;
	for (char **s = f->services; *s != NULL; s++) {
		if (service != NULL && strcmp(*s, service) == 0)
			return true;
	}
	return false;
}

static struct attached *attached_find(struct stack_follow *f, const char *id)
{
	for (struct attached *a = f->attached; a != NULL; a = a->next) {
		if (strcmp(a->id, id) == 0)
			return a;
	}
	return NULL;
}

/* ---- one container's stream ---- */

/* Lines come stamped (the engine's since has whole seconds only, so a re-attach would
 * repeat the lines of its first second): filter on the stamp, then drop it unless the
 * user asked for timestamps. */
static int on_line(void *data, int stream, const char *line, size_t len)
{
	struct follower *fl = data;
	const char *text;
	size_t text_len;
	int64_t t = stack_split_stamp(line, len, &text, &text_len);

	(void)stream;
	if (t > 0 && t < fl->since_ns)
		return 0;
	if (t > fl->last_ns)
		fl->last_ns = t;
	if (!fl->f->timestamps) {
		line = text;
		len = text_len;
	}
	/* thread-safe: one locked write per line */
	px_log_output(fl->f->no_prefix ? NULL : fl->prefix, line, len);
	return 0;
}

static void follower_ended(void *data);
static void attach(struct stack_follow *f, const char *id, const char *prefix, int64_t since_ns,
		   int64_t at_ns);

static void *follower_main(void *arg)
{
	struct follower *fl = arg;
	struct engine_logs_opts o = {
	    .follow = true,
	    .timestamps = true,
	    .want_stdout = true,
	    .want_stderr = true,
	    .tail = fl->tail,
	    /* whole seconds: on_line drops what came before since_ns exactly */
	    .since_ns = fl->since_ns / 1000000000 * 1000000000,
	};

	engine_container_logs_stream(fl->e, fl->id, &o, on_line, fl, &fl->err);
	px_loop_post(fl->f->loop, follower_ended, fl);
	return NULL;
}

static void check_idle(struct px_loop *loop, struct px_timer *t, void *data)
{
	struct stack_follow *f = data;
	struct px_error err = PX_ERROR_INIT;
	json_t *list = NULL, *c;
	bool running = false;
	size_t i;

	(void)loop;
	(void)t;
	if (f->active > 0 || f->stopping)
		return;
	if (stack_list_containers(f->e, f->project, &list, &err) < 0) {
		px_error_clear(&err);
		return;
	}
	json_array_foreach(list, i, c)
	{
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *svc = json_string_value(
		    json_object_get(json_object_get(c, "Labels"), STACK_LABEL_SERVICE));

		if (in_scope(f, svc) && state != NULL &&
		    (strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0))
			running = true;
	}
	json_decref(list);
	if (!running && f->on_idle != NULL)
		f->on_idle(f->data);
}

/* On the loop thread: a stream ended (its container stopped, or we interrupted it). */
static void follower_ended(void *data)
{
	struct follower *fl = data;
	struct stack_follow *f = fl->f;
	struct attached *a = attached_find(f, fl->id);

	pthread_join(fl->thread, NULL);
	pthread_mutex_lock(&f->lock);
	for (struct follower **pp = &f->followers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == fl) {
			*pp = fl->next;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (fl->err.msg != NULL && !f->stopping && fl->err.errnum != ECANCELED)
		px_debug("logs of %s: %s", fl->id, px_error_msg(&fl->err));
	f->active--;
	if (a != NULL) {
		a->active = false;
		if (fl->last_ns > a->last_ns)
			a->last_ns = fl->last_ns;
		/* the container started again while this stream drained: follow the new run */
		if (a->pending_ns > 0 && !f->stopping) {
			int64_t at = a->pending_ns;

			a->pending_ns = 0;
			attach(f, a->id, a->prefix, at, at);
		}
	}
	if (f->active == 0 && !f->stopping)
		px_loop_timer_rearm(f->idle_timer, IDLE_GRACE_MS, 0);
	px_error_clear(&fl->err);
	engine_free(fl->e);
	free(fl->id);
	free(fl->prefix);
	free(fl);
}

/* Start following id (loop thread). */
static void attach(struct stack_follow *f, const char *id, const char *prefix, int64_t since_ns,
		   int64_t at_ns)
{
	struct attached *a = attached_find(f, id);
	struct follower *fl;
	struct px_error err = PX_ERROR_INIT;
	int tail = f->tail;

	if (f->stopping || (a != NULL && a->at_ns >= at_ns))
		return;
	if (a != NULL && a->active) {
		a->pending_ns = at_ns;
		return;
	}
	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		a->id = xstrdup(id);
		a->prefix = xstrdup(prefix);
		a->next = f->attached;
		f->attached = a;
	} else {
		/* a new run: all of it, and exactly after what the previous stream showed */
		tail = -1;
		if (a->last_ns > 0)
			since_ns = a->last_ns + 1;
	}
	fl = xcalloc(1, sizeof(*fl));
	fl->f = f;
	fl->id = xstrdup(id);
	fl->prefix = xstrdup(prefix);
	fl->tail = tail;
	fl->since_ns = since_ns;
	fl->err = (struct px_error)PX_ERROR_INIT;
	if (engine_dup(f->e, &fl->e, &err) < 0) {
		px_warn("cannot follow the logs of %s: %s", id, px_error_msg(&err));
		px_error_clear(&err);
		free(fl->id);
		free(fl->prefix);
		free(fl);
		return;
	}
	pthread_mutex_lock(&f->lock);
	fl->next = f->followers;
	f->followers = fl;
	pthread_mutex_unlock(&f->lock);
	if (pthread_create(&fl->thread, NULL, follower_main, fl) != 0) {
		px_warn("cannot follow the logs of %s: no thread", id);
		pthread_mutex_lock(&f->lock);
		f->followers = fl->next;
		pthread_mutex_unlock(&f->lock);
		engine_free(fl->e);
		free(fl->id);
		free(fl->prefix);
		free(fl);
		return;
	}
	a->active = true;
	a->at_ns = at_ns;
	f->active++;
	px_loop_timer_disarm(f->idle_timer);
}

/* ---- the events thread ---- */

struct start_msg {
	struct stack_follow *f;
	char *id;
	char *prefix;
	int64_t t_ns;
	bool end; /* the events thread is done */
};

static void on_start_msg(void *data)
{
	struct start_msg *m = data;

	if (m->end) {
		pthread_join(m->f->ev_thread, NULL);
		m->f->ev_running = false;
	} else {
		/* a process writes before its start event is stamped: a second of slack for
		 * a container never followed (one followed before resumes exactly) */
		attach(m->f, m->id, m->prefix, m->t_ns - 1000000000, m->t_ns);
	}
	free(m->id);
	free(m->prefix);
	free(m);
}

static int on_event(void *data, const json_t *ev)
{
	struct stack_follow *f = data;
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const json_t *actor = json_object_get(ev, "Actor");
	const json_t *attrs = json_object_get(actor, "Attributes");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const char *svc = json_string_value(json_object_get(attrs, STACK_LABEL_SERVICE));
	const char *oneoff = json_string_value(json_object_get(attrs, STACK_LABEL_ONEOFF));
	struct start_msg *m;

	if (action == NULL || strcmp(action, "start") != 0 || id == NULL || !in_scope(f, svc) ||
	    (oneoff != NULL && strcmp(oneoff, "True") == 0))
		return 0;
	m = xcalloc(1, sizeof(*m));
	m->f = f;
	m->id = xstrdup(id);
	m->prefix =
	    stack_log_prefix(f->project, json_string_value(json_object_get(attrs, "name")), svc);
	m->t_ns = json_integer_value(json_object_get(ev, "timeNano"));
	if (m->t_ns == 0)
		m->t_ns = (int64_t)json_integer_value(json_object_get(ev, "time")) * 1000000000;
	px_loop_post(f->loop, on_start_msg, m);
	return 0;
}

static void *events_main(void *arg)
{
	struct stack_follow *f = arg;
	struct px_error err = PX_ERROR_INIT;
	struct start_msg *m = xcalloc(1, sizeof(*m));
	char *filter;

	xasprintf(&filter, "%s=%s", STACK_LABEL_PROJECT, f->project);
	if (engine_events(f->ev_engine, filter, f->ev_since, 0, on_event, f, &err) < 0 &&
	    err.errnum != ECANCELED)
		px_warn("engine events: %s (restarted containers are not followed)",
			px_error_msg(&err));
	px_error_clear(&err);
	free(filter);
	m->f = f;
	m->end = true;
	px_loop_post(f->loop, on_start_msg, m);
	return NULL;
}

int stack_follow_start(struct stack_follow **out, struct px_loop *loop, struct engine *e,
		       const char *project, const struct stack_follow_opts *o, struct px_error *err)
{
	struct stack_follow *f = xcalloc(1, sizeof(*f));
	json_t *list = NULL, *c;
	int64_t t0 = px_real_ns();
	size_t i;

	*out = NULL;
	f->loop = loop;
	f->e = e;
	f->project = xstrdup(project);
	f->services = xcalloc(o->nservices + 1, sizeof(*f->services));
	for (i = 0; i < o->nservices; i++)
		f->services[i] = xstrdup(o->services[i]);
	f->timestamps = o->timestamps;
	f->no_prefix = o->no_prefix;
	f->tail = o->tail;
	f->on_idle = o->on_idle;
	f->data = o->data;
	pthread_mutex_init(&f->lock, NULL);
	f->idle_timer = px_loop_timer_add(loop, 0, 0, check_idle, f, err);
	px_loop_timer_disarm(f->idle_timer);

	/* events first, then the list: a container starting in between is seen by one */
	f->ev_since = t0 / 1000000000;
	if (o->since_ns > 0 && o->since_ns / 1000000000 < f->ev_since)
		f->ev_since = o->since_ns / 1000000000;
	if (engine_dup(e, &f->ev_engine, err) < 0)
		goto fail;
	if (pthread_create(&f->ev_thread, NULL, events_main, f) != 0) {
		px_error_set(err, EAGAIN, "cannot start the events thread");
		goto fail;
	}
	f->ev_running = true;
	if (stack_list_containers(e, project, &list, err) < 0)
		goto fail;
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *state = json_string_value(json_object_get(c, "State"));
		const json_t *labels = json_object_get(c, "Labels");
		const char *svc = json_string_value(json_object_get(labels, STACK_LABEL_SERVICE));
		const char *oneoff = json_string_value(json_object_get(labels, STACK_LABEL_ONEOFF));
		bool running = state != NULL && strcmp(state, "running") == 0;
		char *prefix;

		if (id == NULL || !in_scope(f, svc) || (oneoff && strcmp(oneoff, "True") == 0))
			continue;
		/* with since, a container that already ran to its end still has lines to show */
		if (!running && o->since_ns <= 0)
			continue;
		prefix = stack_log_prefix(
		    project, json_string_value(json_array_get(json_object_get(c, "Names"), 0)),
		    svc);
		attach(f, id, prefix, o->since_ns, t0);
		free(prefix);
	}
	json_decref(list);
	if (f->active == 0)
		px_loop_timer_rearm(f->idle_timer, IDLE_GRACE_MS, 0);
	*out = f;
	return 0;
fail:
	json_decref(list);
	stack_follow_free(f);
	return -1;
}

size_t stack_follow_active(const struct stack_follow *f)
{
	return f->active;
}

void stack_follow_free(struct stack_follow *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	for (struct follower *fl = f->followers; fl != NULL; fl = fl->next)
		engine_interrupt(fl->e);
	pthread_mutex_unlock(&f->lock);
	if (f->ev_engine != NULL)
		engine_interrupt(f->ev_engine);
	/* every thread reports its end through the loop, which joins it there: run the loop
	 * until all have, so no post is left pointing at f */
	while (f->active > 0 || f->ev_running)
		px_loop_run_once(f->loop, 200);
	engine_free(f->ev_engine);
	while (f->attached != NULL) {
		struct attached *a = f->attached;

		f->attached = a->next;
		free(a->id);
		free(a->prefix);
		free(a);
	}
	px_loop_timer_del(f->idle_timer);
	stack_strv_free(f->services);
	free(f->project);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
