/* watch.c - `prisync watch`: supervise a running stack in the foreground; and the
 * detached supervisor `up -d` leaves behind (the same command, started in a session of
 * its own with its output in .prisync/supervisor.log). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "supervisor/supervisor.h"

struct watching {
	struct px_loop *loop;
	struct sup *sup;
	int ready_fd; /* told '1' (ok) or '0' (failed) after the initial sync; -1 none */
	bool stopping;
	struct cmd_db_live db; /* status: the databases' connections, kept between asks */
};

/* The supervisor's status answer gets each schema's database as db-check sees it, on
 * connections kept open (an idle connection costs no wakeup), so `status` needs neither
 * libpq nor a connection set-up of its own.  The supervisor's status thread runs it, one
 * answer at a time (w->db is only ever touched there); every statement is bounded (2 s),
 * so a paused database delays the answer, never the syncs. */
static void status_extra(void *data, const struct compose_project *p, json_t *answer)
{
	struct watching *w = data;
	json_t *schemas = json_object_get(answer, "schemas");

	for (size_t i = 0; i < p->prisync.nschemas; i++) {
		json_t *db = json_object();

		cmd_db_check_live(&w->db, p, &p->prisync.schemas[i], db);
		json_object_set_new(json_array_get(schemas, i), "database", db);
	}
}

static void on_initial(void *data, bool ok)
{
	struct watching *w = data;

	if (w->ready_fd < 0)
		return;
	if (write(w->ready_fd, ok ? "1" : "0", 1) < 0) {
		/* the parent is gone: nobody waits for the answer */
	}
	close(w->ready_fd);
	w->ready_fd = -1;
}

static void on_signal(struct px_loop *loop, const struct signalfd_siginfo *si, void *data)
{
	struct watching *w = data;

	if (si->ssi_signo == SIGHUP) {
		if (w->sup != NULL)
			sup_reload(w->sup);
		return;
	}
	if (!w->stopping)
		px_info("stopping the supervisor (the stack keeps running)");
	w->stopping = true;
	px_loop_stop(loop);
}

/* The supervisor of an up stack, in the foreground, until SIGINT or SIGTERM. */
static int supervise(struct cmd_ctx *ctx, bool initial, int ready_fd)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct px_error err = PX_ERROR_INIT;
	struct watching w = {.ready_fd = ready_fd};
	struct sup_runtime *rt = NULL;
	struct cmd_stack cs;
	int rc = CMD_FAILED;

	/* a long-lived process with a few threads that mostly wait: one malloc arena, not one
	 * per thread (each keeps its pages) -- an idle supervisor stays small */
	mallopt(M_ARENA_MAX, 1);
	/* before any thread: all three wait for the loop's signalfd */
	if (px_block_signals(sigs, 3, NULL, &err) < 0 ||
	    cmd_stack_open(&cs, ctx, false, true, &err) < 0) {
		px_error_log("%s", px_error_msg(&err));
		px_error_clear(&err);
		on_initial(&w, false);
		return CMD_FAILED;
	}
	if (sup_runtime_open(&rt, cs.project->name, &err) < 0)
		goto out;
	w.loop = px_loop_new(&err);
	if (w.loop == NULL || px_loop_add_signals(w.loop, sigs, 3, on_signal, &w, &err) < 0)
		goto out;
	{
		struct sup_opts o = {
		    .loop = w.loop,
		    .engine = cs.engine,
		    .project = cs.project,
		    .copts = &ctx->opts,
		    .ref = &cs.ref,
		    .runtime = rt,
		    .initial_sync = initial,
		    .on_initial = on_initial,
		    .status_extra = status_extra,
		    .data = &w,
		};

		if (sup_start(&w.sup, &o, &err) < 0)
			goto out;
	}
	px_info("supervising project '%s' (pid %d)", cs.project->name, (int)getpid());
	if (!initial)
		on_initial(&w, true);
	if (sup_run(w.sup) < 0) {
		px_error_set(&err, errno, "event loop failed");
		goto out;
	}
	rc = CMD_OK;
out:
	if (err.msg != NULL)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	on_initial(&w, false);
	sup_stop(w.sup);
	cmd_db_live_release(&w.db);
	px_loop_free(w.loop);
	sup_runtime_close(rt);
	cmd_stack_close(&cs);
	return rc;
}

static int watch_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	enum { OPT_NO_INITIAL = 256, OPT_READY_FD };
	static const struct option opts[] = {
	    {"no-initial-sync", no_argument, NULL, OPT_NO_INITIAL},
	    {"ready-fd", required_argument, NULL, OPT_READY_FD}, /* for up -d */
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool initial = true;
	int opt, ready_fd = -1;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_NO_INITIAL:
			initial = false;
			break;
		case OPT_READY_FD: {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0' || v < 0 || v > 1024)
				return cmd_usage_error(&cmd_watch, "invalid --ready-fd '%s'", optarg);
			ready_fd = (int)v;
			break;
		}
		case 'h':
			fputs(cmd_watch.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_watch, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_watch, "unexpected argument '%s'", argv[optind]);
	return supervise(ctx, initial, ready_fd);
}

const struct cmd cmd_watch = {
    .name = "watch",
    .summary = "supervise a running stack: resync on every schema edit",
    .usage = "Usage: prisync watch [--no-initial-sync]\n"
	     "\n"
	     "Watch every schema (and its watch: paths), the compose files and .env of the\n"
	     "project and keep the running stack in sync: a burst of schema edits runs the\n"
	     "schema's sync once (generate, restart its services, wait until they run); an\n"
	     "edit of the compose files or .env reloads them and converges the stack.  One\n"
	     "supervisor per project; `prisync sync` and `prisync generate` go through it.\n"
	     "SIGINT/SIGTERM stop it (the stack keeps running), SIGHUP reloads.\n"
	     "\n"
	     "  --no-initial-sync   do not sync every schema at start\n",
    .run = watch_run,
};

/* ---- Detached (up -d) ---------------------------------------------------------------- */

static void add_arg(char ***v, size_t *n, const char *a)
{
	*v = xreallocarray(*v, *n + 2, sizeof(**v));
	(*v)[(*n)++] = xstrdup(a);
	(*v)[*n] = NULL;
}

/* The log file of a detached supervisor: <project>/.prisync/supervisor.log (the folder
 * gets a .gitignore of its own so it never shows in `git status`). */
static char *log_path(const struct compose_project *p, struct px_error *err)
{
	char *dir = px_path_join(p->working_dir, ".prisync");
	char *ignore = px_path_join(dir, ".gitignore");
	char *path = NULL;

	if (px_path_mkdir_p(dir, 0755, err) < 0)
		goto out;
	if (!px_path_exists(ignore) &&
	    px_path_write_file_atomic(ignore, "*\n", 2, 0644, err) < 0)
		goto out;
	path = px_path_join(dir, "supervisor.log");
out:
	free(ignore);
	free(dir);
	return path;
}

int cmd_supervise_detached(struct cmd_stack *cs, struct cmd_ctx *ctx, struct px_error *err)
{
	char **argv = NULL, *log = NULL, fdnum[16];
	size_t n = 0;
	int ready[2] = {-1, -1}, logfd = -1, nullfd = -1, ret = -1;
	pid_t pid;
	char answer = 0;
	ssize_t got;

	log = log_path(cs->project, err);
	if (log == NULL)
		return -1;
	/* the same project, whatever the child's environment says */
	add_arg(&argv, &n, "prisync");
	add_arg(&argv, &n, "--project-directory");
	add_arg(&argv, &n, cs->ref.directory);
	add_arg(&argv, &n, "-p");
	add_arg(&argv, &n, cs->project->name); /* top-level name: included */
	for (size_t i = 0; i < cs->ref.nfiles; i++) {
		if (strcmp(cs->ref.files[i], "-") == 0) {
			px_error_set(err, EINVAL, "a detached supervisor cannot read the compose file "
						  "from standard input");
			goto out;
		}
		add_arg(&argv, &n, "-f");
		add_arg(&argv, &n, cs->ref.files[i]);
	}
	for (size_t i = 0; i < ctx->opts.nenv_files; i++) {
		char *abs = px_path_abs(cs->ref.directory, ctx->opts.env_files[i]);

		add_arg(&argv, &n, "--env-file");
		add_arg(&argv, &n, abs);
		free(abs);
	}
	for (size_t i = 0; i < ctx->opts.nprofiles; i++) {
		add_arg(&argv, &n, "--profile");
		add_arg(&argv, &n, ctx->opts.profiles[i]);
	}
	add_arg(&argv, &n, "--ansi");
	add_arg(&argv, &n, "never");
	add_arg(&argv, &n, "watch");
	add_arg(&argv, &n, "--ready-fd");
	snprintf(fdnum, sizeof(fdnum), "%d", 3);
	add_arg(&argv, &n, fdnum);

	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		px_error_set(err, errno, "cannot start the supervisor (log '%s')", log);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		px_error_set(err, errno, "cannot start the supervisor");
		goto out;
	}
	if (pid == 0) {
		sigset_t none;

		/* only async-signal-safe calls until exec: the parent has threads */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    dup2(ready[1], 3) < 0)
			_exit(127);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(ready[1]);
	ready[1] = -1;
	/* the child answers once its initial sync has ended (or it died: EOF) */
	do
		got = read(ready[0], &answer, 1);
	while (got < 0 && errno == EINTR);
	if (got == 1 && answer == '1') {
		px_info("supervisor running (pid %d); its log: %s", (int)pid, log);
		ret = 0;
	} else if (got == 1) {
		px_error_set(err, 0,
			     "the initial sync failed (the supervisor, pid %d, keeps watching: fix "
			     "the schema and save) — see %s",
			     (int)pid, log);
	} else {
		px_error_set(err, 0, "the supervisor exited at start — see %s", log);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	free(log);
	return ret;
}

bool cmd_wants_supervisor(const struct compose_project *p)
{
	if (p->prisync.nschemas > 0)
		return true;
	for (size_t i = 0; i < p->nservices; i++) {
		if (p->services[i].nwatch > 0)
			return true;
	}
	return false;
}

int cmd_stop_supervisor(const char *project, struct px_error *err)
{
	pid_t pid;
	int rc = sup_runtime_read_pid(project, &pid, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return px_error_set(err, errno, "cannot stop the supervisor (pid %d)", (int)pid);
	/* it finishes or cancels its job, then releases the lock: that is the end */
	for (int waited = 0; waited < 30000; waited += 20) {
		rc = sup_runtime_read_pid(project, &pid, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		usleep(20000);
	}
	return px_error_set(err, ETIMEDOUT, "the supervisor (pid %d) did not stop within 30 s",
			    (int)pid);
}
