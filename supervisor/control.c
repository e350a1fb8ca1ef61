/* control.c - the control socket (supervisor.sock, mode 0600): one JSON object per line
 * each way.  Requests: {"op":"status"}, {"op":"sync","schema":S,"generate_only":B},
 * {"op":"wait","job":N}, {"op":"events"}.  And the client side of it. */
#include "supervisor/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "watcher/watcher.h"

/* A request line longer than this is not one of ours: the client is dropped. */
#define MAX_LINE ((size_t)64 * 1024)

static void client_drop(struct sup *s, struct sup_client *c)
{
	struct sup_client **pp = &s->clients;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = c->next;
	px_loop_del_fd(s->loop, c->fd);
	close(c->fd);
	px_buf_release(&c->in);
	free(c->waits);
	free(c);
}

/* One line out; a client that cannot take it now (its buffer is full) is dropped rather
 * than stall the loop.  Returns -1 when c was dropped. */
static int client_send(struct sup *s, struct sup_client *c, const json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len = strlen(text), off = 0;

	text = realloc(text, len + 2);
	if (text == NULL)
		abort();
	text[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(text);
			client_drop(s, c);
			return -1;
		}
		off += (size_t)n;
	}
	free(text);
	return 0;
}

static int send_error(struct sup *s, struct sup_client *c, const char *msg)
{
	json_t *a = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	int rc = client_send(s, c, a);

	json_decref(a);
	return rc;
}

json_t *sup_status_json(struct sup *s)
{
	const struct compose_project *p = s->project;
	json_t *o = json_object(), *schemas = json_array(), *jobs = json_array();

	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		const struct compose_prisync_schema *sc = &p->prisync.schemas[i];
		json_t *restart = json_array(), *last = json_null();

		for (size_t k = 0; k < sc->restart.n; k++)
			json_array_append_new(restart, json_string(sc->restart.v[k]));
		for (size_t k = 0; k < s->nhist; k++) {
			struct sup_job *j =
			    s->history[(s->hist_next + SUP_HISTORY - 1 - k) % SUP_HISTORY];

			if (strcmp(j->schema, sc->name) == 0) {
				last = sup_job_json(j);
				break;
			}
		}
		json_array_append_new(schemas,
				      json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", sc->name, "schema",
						sc->schema, "run_in", sc->run_in, "restart", restart,
						"last_job", last));
	}
	if (s->running != NULL) {
		json_array_append_new(jobs, sup_job_json(s->running));
		for (size_t i = 0; i < s->running->ngroup; i++)
			json_array_append_new(jobs, sup_job_json(s->running->group[i]));
	}
	for (size_t i = 0; i < s->nqueue; i++)
		json_array_append_new(jobs, sup_job_json(s->queue[i]));
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime_ms",
			    json_integer((px_real_ns() - s->started_ns) / 1000000));
	json_object_set_new(o, "project", json_string(p->name));
	json_object_set_new(o, "working_dir", json_string(p->working_dir));
	json_object_set_new(o, "watches",
			    json_integer(s->watcher != NULL ? (json_int_t)watcher_nwatches(s->watcher)
							    : 0));
	json_object_set_new(o, "schemas", schemas);
	json_object_set_new(o, "jobs", jobs);
	json_object_set_new(o, "git", sup_git_json(s));
	return o;
}

/* ---- status answers completed off the loop ------------------------------------------ */

/*
 * status_extra checks each schema's database: a second on a database that does not
 * answer, and before the queries were bounded a paused one held the loop -- no sync ran --
 * until TCP gave up.  So an answer that needs it is completed by a worker thread, one at a
 * time in the order asked, and handed back to the loop through an eventfd; the asking
 * client's later requests wait for it, so its answers keep their order.  The thread is
 * made at the first such status and then sleeps on a condition variable: no wakeup while
 * nobody asks.  (Not px_loop_post: answers still queued when the supervisor stops are freed
 * with it here, where a post would run after it.)
 */
struct status_req {
	struct status_req *next;
	unsigned client;
	const struct compose_project *project; /* when asked; kept until sup_stop (old_projects) */
	json_t *answer;
};

struct sup_status_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct status_req *todo, **todo_tail; /* guarded by lock */
	struct status_req *done, **done_tail; /* guarded by lock */
	bool stop;                            /* guarded by lock */
	int efd;                              /* written when done gets an answer */
	void (*extra)(void *data, const struct compose_project *p, json_t *answer);
	void *data;
};

static void *status_worker_main(void *arg)
{
	struct sup_status_worker *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct status_req *r;

		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break;
		r = w->todo;
		w->todo = r->next;
		if (w->todo == NULL)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);
		w->extra(w->data, r->project, r->answer);
		pthread_mutex_lock(&w->lock);
		r->next = NULL;
		*w->done_tail = r;
		w->done_tail = &r->next;
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the counter only saturates: the loop reads whatever is done */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void status_reqs_free(struct status_req *r)
{
	while (r != NULL) {
		struct status_req *next = r->next;

		json_decref(r->answer);
		free(r);
		r = next;
	}
}

static struct sup_client *client_by_id(struct sup *s, unsigned id)
{
	struct sup_client *c = s->clients;

	while (c != NULL && c->id != id)
		c = c->next;
	return c;
}

static int client_process(struct sup *s, struct sup_client *c);

/* The worker's answers out to their clients (on the loop). */
static void on_status_done(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	struct sup_status_worker *w = s->status_worker;
	struct status_req *list, *r;
	uint64_t n;

	(void)loop;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: a wakeup for answers an earlier read already took */
	}
	pthread_mutex_lock(&w->lock);
	list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	for (r = list; r != NULL; r = r->next) {
		struct sup_client *c = client_by_id(s, r->client);

		if (c == NULL)
			continue; /* it hung up meanwhile */
		c->held = false;
		/* then what it asked meanwhile; a client that is done sending goes once answered */
		if (client_send(s, c, r->answer) == 0 && client_process(s, c) == 0 && c->eof &&
		    !c->held)
			client_drop(s, c);
	}
	status_reqs_free(list);
}

static int status_worker_start(struct sup *s, struct px_error *err)
{
	struct sup_status_worker *w = xcalloc(1, sizeof(*w));
	int rc;

	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	w->extra = s->status_extra;
	w->data = s->data;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		px_error_set(err, errno, "cannot create an eventfd");
		free(w);
		return -1;
	}
	if (px_loop_add_fd(s->loop, w->efd, PX_LOOP_READ, on_status_done, s, err) < 0) {
		close(w->efd);
		free(w);
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	rc = pthread_create(&w->thread, NULL, status_worker_main, w);
	if (rc != 0) {
		px_loop_del_fd(s->loop, w->efd);
		close(w->efd);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return px_error_set(err, rc, "cannot start the status thread");
	}
	s->status_worker = w;
	return 0;
}

/* Stop the worker (after the status it is on, whose databases are bounded in time). */
static void status_worker_stop(struct sup *s)
{
	struct sup_status_worker *w = s->status_worker;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	px_loop_del_fd(s->loop, w->efd);
	close(w->efd);
	status_reqs_free(w->todo);
	status_reqs_free(w->done);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	s->status_worker = NULL;
}

/* Answer a status request: at once without status_extra, else through the worker. */
static int handle_status(struct sup *s, struct sup_client *c)
{
	struct px_error err = PX_ERROR_INIT;
	json_t *a = sup_status_json(s);
	struct status_req *r;
	int rc;

	if (s->status_extra != NULL && s->status_worker == NULL &&
	    status_worker_start(s, &err) < 0) {
		px_warn("status: %s; answered without the databases", px_error_msg(&err));
		px_error_clear(&err);
	}
	if (s->status_worker == NULL) {
		rc = client_send(s, c, a);
		json_decref(a);
		return rc;
	}
	r = xcalloc(1, sizeof(*r));
	r->client = c->id;
	r->project = s->project;
	r->answer = a;
	c->held = true;
	pthread_mutex_lock(&s->status_worker->lock);
	*s->status_worker->todo_tail = r;
	s->status_worker->todo_tail = &r->next;
	pthread_cond_signal(&s->status_worker->cond);
	pthread_mutex_unlock(&s->status_worker->lock);
	return 0;
}

static int handle_wait(struct sup *s, struct sup_client *c, const json_t *req)
{
	json_int_t id = json_integer_value(json_object_get(req, "job"));
	struct sup_job *j = id > 0 ? sup_find_job(s, (unsigned)id) : NULL;
	json_t *a;
	int rc;

	if (j == NULL)
		return send_error(s, c, "no such job (ids come from 'sync'; old jobs are forgotten)");
	if (j->state == SUP_JOB_QUEUED || j->state == SUP_JOB_RUNNING ||
	    s->running == j) {
		c->waits = xreallocarray(c->waits, c->nwaits + 1, sizeof(*c->waits));
		c->waits[c->nwaits++] = j->id;
		return 0;
	}
	a = json_pack("{s:b,s:o}", "ok", 1, "job", sup_job_json(j));
	rc = client_send(s, c, a);
	json_decref(a);
	return rc;
}

static int handle_sync(struct sup *s, struct sup_client *c, const json_t *req)
{
	struct px_error err = PX_ERROR_INIT;
	const char *schema = json_string_value(json_object_get(req, "schema"));
	bool gen = json_is_true(json_object_get(req, "generate_only"));
	unsigned ids[64];
	json_t *a, *list;
	int n, rc;

	n = sup_request(s, schema, gen, ids, 64, &err);
	if (n < 0) {
		rc = send_error(s, c, px_error_msg(&err));
		px_error_clear(&err);
		return rc;
	}
	list = json_array();
	for (int i = 0; i < n && i < 64; i++)
		json_array_append_new(list, json_integer(ids[i]));
	a = json_pack("{s:b,s:o}", "ok", 1, "jobs", list);
	rc = client_send(s, c, a);
	json_decref(a);
	return rc;
}

/* Returns -1 when c was dropped. */
static int handle_line(struct sup *s, struct sup_client *c, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *a;
	const char *op = json_string_value(json_object_get(req, "op"));
	int rc;

	if (op == NULL)
		rc = send_error(s, c, "not a request: a JSON object with \"op\" expected");
	else if (strcmp(op, "status") == 0) {
		rc = handle_status(s, c);
	} else if (strcmp(op, "sync") == 0) {
		rc = handle_sync(s, c, req);
	} else if (strcmp(op, "wait") == 0) {
		rc = handle_wait(s, c, req);
	} else if (strcmp(op, "events") == 0) {
		c->events = true;
		a = json_pack("{s:b}", "ok", 1);
		rc = client_send(s, c, a);
		json_decref(a);
	} else {
		rc = send_error(s, c, "unknown op (status, sync, wait, events)");
	}
	json_decref(req);
	return rc;
}

static void on_client(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup_client *c = data;
	struct sup *s = c->sup;
	char buf[4096];
	ssize_t n;

	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == 0 && c->held) {
		/* asked, then shut its side (echo ... | nc -U): the answer still goes out */
		c->eof = true;
		px_loop_del_fd(loop, fd);
		return;
	}
	if (n <= 0) {
		client_drop(s, c);
		return;
	}
	px_buf_add(&c->in, buf, (size_t)n);
	client_process(s, c);
}

/* The complete request lines c sent, until one must wait for its answer (held).  Returns
 * -1 when c was dropped. */
static int client_process(struct sup *s, struct sup_client *c)
{
	char *nl;

	while (!c->held && (nl = memchr(c->in.data, '\n', c->in.len)) != NULL) {
		size_t len = (size_t)(nl - c->in.data);
		char *line = xstrndup(c->in.data, len);
		int rc = handle_line(s, c, line);

		free(line);
		if (rc < 0)
			return -1; /* c is gone */
		memmove(c->in.data, nl + 1, c->in.len - len - 1);
		px_buf_truncate(&c->in, c->in.len - len - 1);
	}
	if (c->in.len > MAX_LINE) {
		client_drop(s, c);
		return -1;
	}
	return 0;
}

static void on_accept(struct px_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	struct px_error err = PX_ERROR_INIT;
	struct sup_client *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->fd = cfd;
	c->id = ++s->next_client_id;
	c->sup = s;
	px_buf_init(&c->in);
	if (px_loop_add_fd(loop, cfd, PX_LOOP_READ, on_client, c, &err) < 0) {
		px_warn("control socket: %s", px_error_msg(&err));
		px_error_clear(&err);
		close(cfd);
		px_buf_release(&c->in);
		free(c);
		return;
	}
	c->next = s->clients;
	s->clients = c;
}

int sup_control_open(struct sup *s, struct px_error *err)
{
	char *path = sup_runtime_path(s->runtime, "supervisor.sock");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	mode_t old;
	int fd = -1, ret = -1;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		px_error_set(err, ENAMETOOLONG, "socket path '%s' is too long", path);
		goto out;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		px_error_set(err, errno, "cannot create the control socket");
		goto out;
	}
	unlink(path); /* a dead predecessor's (we hold the lock) */
	old = umask(0177); /* born 0600: no window where others could connect */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		umask(old);
		px_error_set(err, errno, "cannot bind the control socket '%s'", path);
		goto out;
	}
	umask(old);
	if (listen(fd, 16) < 0 || px_loop_add_fd(s->loop, fd, PX_LOOP_READ, on_accept, s, err) < 0) {
		if (err->msg == NULL)
			px_error_set(err, errno, "cannot listen on '%s'", path);
		goto out;
	}
	s->listen_fd = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

void sup_control_close(struct sup *s)
{
	status_worker_stop(s);
	while (s->clients != NULL)
		client_drop(s, s->clients);
	if (s->listen_fd >= 0) {
		px_loop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
		s->listen_fd = -1;
	}
}

void sup_control_broadcast(struct sup *s, json_t *event)
{
	struct sup_client *c = s->clients, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->events)
			client_send(s, c, event);
	}
}

void sup_control_job_done(struct sup *s, const struct sup_job *j)
{
	struct sup_client *c = s->clients, *next;
	json_t *a = NULL;

	for (; c != NULL; c = next) {
		next = c->next;
		for (size_t i = 0; i < c->nwaits; i++) {
			if (c->waits[i] != j->id)
				continue;
			c->waits[i] = c->waits[--c->nwaits];
			if (a == NULL)
				a = json_pack("{s:b,s:o}", "ok", 1, "job", sup_job_json(j));
			if (client_send(s, c, a) < 0)
				break;
			i--;
		}
	}
	json_decref(a);
}

/* ---- Client side ------------------------------------------------------------------------ */

int sup_client_connect(const char *project, int *fd, struct px_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char *dir = NULL, *path = NULL;
	pid_t pid;
	int rc, s = -1, ret = -1;

	*fd = -1;
	rc = sup_runtime_read_pid(project, &pid, err);
	if (rc != 0)
		return rc;
	if (px_runtime_dir(project, &dir, err) < 0)
		return -1;
	path = px_path_join(dir, "supervisor.sock");
	if (strlen(path) >= sizeof(addr.sun_path)) {
		px_error_set(err, ENAMETOOLONG, "socket path '%s' is too long", path);
		goto out;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* the supervisor is starting (no socket yet) or has just gone */
		px_error_set(err, errno, "cannot reach the supervisor (pid %d) at '%s'", (int)pid,
			     path);
		goto out;
	}
	*fd = s;
	s = -1;
	ret = 0;
out:
	if (s >= 0)
		close(s);
	free(dir);
	free(path);
	return ret;
}

int sup_client_read(int fd, json_t **out, struct px_error *err)
{
	struct px_buf line = PX_BUF_INIT;
	json_error_t jerr;
	char buf[4096];
	bool done = false;

	*out = NULL;
	/* peek, then take exactly up to the newline: nothing after the line may be consumed
	 * (the next answer or event is the caller's next read) */
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK);
		const char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			px_buf_release(&line);
			return px_error_set(err, errno, "cannot read from the supervisor");
		}
		if (n == 0) {
			px_buf_release(&line);
			return 1;
		}
		nl = memchr(buf, '\n', (size_t)n);
		if (nl != NULL) {
			n = nl - buf + 1;
			done = true;
		}
		do {
			n = recv(fd, buf, (size_t)n, 0); /* what the peek saw is there */
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			px_buf_release(&line);
			return px_error_set(err, n < 0 ? errno : EPIPE,
					    "cannot read from the supervisor");
		}
		px_buf_add(&line, buf, (size_t)n - (done ? 1 : 0));
	}
	*out = json_loads(px_buf_cstr(&line), 0, &jerr);
	px_buf_release(&line);
	if (*out == NULL)
		return px_error_set(err, 0, "the supervisor sent a malformed line: %s", jerr.text);
	return 0;
}

int sup_client_call(int fd, json_t *request, json_t **answer, struct px_error *err)
{
	char *text = json_dumps(request, JSON_COMPACT);
	size_t len = strlen(text), off = 0;
	int rc;

	*answer = NULL;
	while (off < len + 1) {
		const char *p = off < len ? text + off : "\n";
		ssize_t n = send(fd, p, off < len ? len - off : 1, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(text);
			return px_error_set(err, errno, "cannot write to the supervisor");
		}
		off += (size_t)n;
	}
	free(text);
	rc = sup_client_read(fd, answer, err);
	if (rc == 1)
		return px_error_set(err, 0, "the supervisor closed the connection");
	return rc;
}
