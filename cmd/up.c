/* up.c - `prisync up`: converge the stack (stack_up), then, unless detached, stream every
 * service's logs until the stack stops or Ctrl-C stops it (a second Ctrl-C kills). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "supervisor/supervisor.h"

/* The attached phase, owned by the loop thread. */
struct attached {
	struct cmd_stack *cs;
	struct px_loop *loop;
	int timeout_s;
	int signals;
	/* the graceful stop runs in a thread on its own engine and stack handle */
	struct engine *stop_engine;
	struct stack *stop_stack;
	pthread_t stopper;
	bool stopping;
	struct px_error stop_err;
	int stop_rc;
};

static void stopper_done(void *data)
{
	struct attached *a = data;

	pthread_join(a->stopper, NULL);
	a->stopping = false;
	if (a->stop_rc < 0 && a->stop_err.errnum != ECANCELED)
		px_error_log("%s", px_error_msg(&a->stop_err));
	px_error_clear(&a->stop_err);
	px_loop_stop(a->loop);
}

static void *stopper_main(void *arg)
{
	struct attached *a = arg;

	a->stop_rc = stack_stop(a->stop_stack, NULL, 0, a->timeout_s, &a->stop_err);
	px_loop_post(a->loop, stopper_done, a);
	return NULL;
}

static void on_signal(struct px_loop *loop, const struct signalfd_siginfo *si, void *data)
{
	struct attached *a = data;
	struct px_error err = PX_ERROR_INIT;

	(void)si;
	a->signals++;
	if (a->signals == 1) {
		px_info("Gracefully stopping... (press Ctrl+C again to force)");
		if (engine_dup(a->cs->engine, &a->stop_engine, &err) < 0 ||
		    stack_open(&a->stop_stack, a->stop_engine, a->cs->project, a->cs->progress,
			       &err) < 0 ||
		    pthread_create(&a->stopper, NULL, stopper_main, a) != 0) {
			px_error_log("cannot stop the stack: %s", px_error_msg(&err));
			px_error_clear(&err);
			px_loop_stop(loop);
			return;
		}
		a->stopping = true;
		return;
	}
	/* the second one: no more waiting for stop timeouts */
	px_info("Killing...");
	if (a->stop_stack != NULL)
		stack_interrupt(a->stop_stack);
	if (stack_kill(a->cs->stack, NULL, &err) < 0)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	if (!a->stopping)
		px_loop_stop(loop);
}

/* Every container stopped by itself (or by someone else): nothing left to show. */
static void on_idle(void *data)
{
	struct attached *a = data;

	if (!a->stopping)
		px_loop_stop(a->loop);
}

/* The supervisor of a foreground up, on the loop that follows the logs; NULL when the
 * project has nothing to supervise or another process supervises it already. */
static struct sup *attach_supervisor(struct cmd_ctx *ctx, struct cmd_stack *cs,
				     struct px_loop *loop, struct sup_runtime **rt)
{
	struct px_error err = PX_ERROR_INIT;
	struct sup *sup = NULL;
	struct sup_opts o = {
	    .loop = loop,
	    .engine = cs->engine,
	    .project = cs->project,
	    .copts = &ctx->opts,
	    .ref = &cs->ref,
	    .initial_sync = true,
	};

	if (!cmd_wants_supervisor(cs->project))
		return NULL;
	if (sup_runtime_open(rt, cs->project->name, &err) < 0) {
		px_warn("%s; this up only follows the logs", px_error_msg(&err));
		px_error_clear(&err);
		return NULL;
	}
	o.runtime = *rt;
	if (sup_start(&sup, &o, &err) < 0) {
		px_error_log("cannot supervise the stack: %s", px_error_msg(&err));
		px_error_clear(&err);
		sup_runtime_close(*rt);
		*rt = NULL;
	}
	return sup;
}

static int run_attached(struct cmd_ctx *ctx, struct cmd_stack *cs, char *const *services,
			size_t n, time_t since, int timeout_s, struct px_error *err)
{
	struct sup_runtime *rt = NULL;
	struct sup *sup = NULL;
	static const int sigs[] = {SIGINT, SIGTERM};
	struct attached a = {.cs = cs, .timeout_s = timeout_s, .stop_err = PX_ERROR_INIT};
	struct stack_follow *follow = NULL;
	struct stack_follow_opts fo = {
	    .services = services,
	    .nservices = n,
	    .tail = -1,
	    .since_ns = (int64_t)since * 1000000000,
	    .on_idle = on_idle,
	    .data = &a,
	};
	int ret = -1;

	a.loop = px_loop_new(err);
	if (a.loop == NULL)
		return -1;
	if (px_loop_add_signals(a.loop, sigs, 2, on_signal, &a, err) < 0)
		goto out;
	cmd_set_prefix_width(cs->project);
	if (stack_follow_start(&follow, a.loop, cs->engine, cs->project->name, &fo, err) < 0)
		goto out;
	sup = attach_supervisor(ctx, cs, a.loop, &rt);
	if ((sup != NULL ? sup_run(sup) : px_loop_run(a.loop)) < 0) {
		px_error_set(err, errno, "event loop failed");
		goto out;
	}
	ret = 0;
out:
	sup_stop(sup);
	sup_runtime_close(rt);
	stack_follow_free(follow);
	/* a stop still running (the loop ended another way) is waited for */
	while (a.stopping)
		px_loop_run_once(a.loop, 200);
	stack_free(a.stop_stack);
	engine_free(a.stop_engine);
	px_loop_free(a.loop);
	return ret;
}

enum {
	OPT_WAIT = 256,
	OPT_WAIT_TIMEOUT,
	OPT_BUILD,
	OPT_NO_BUILD,
	OPT_FORCE_RECREATE,
	OPT_NO_RECREATE,
	OPT_REMOVE_ORPHANS,
	OPT_NO_SUPERVISOR,
};

static int up_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"wait", no_argument, NULL, OPT_WAIT},
	    {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
	    {"build", no_argument, NULL, OPT_BUILD},
	    {"no-build", no_argument, NULL, OPT_NO_BUILD},
	    {"force-recreate", no_argument, NULL, OPT_FORCE_RECREATE},
	    {"no-recreate", no_argument, NULL, OPT_NO_RECREATE},
	    {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
	    {"no-supervisor", no_argument, NULL, OPT_NO_SUPERVISOR},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct stack_up_opts uo = {.timeout_s = -1};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	bool detach = false, opened = false, supervise = true;
	time_t began;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:dt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			detach = true;
			break;
		case OPT_WAIT:
			uo.wait = true;
			break;
		case OPT_WAIT_TIMEOUT:
			uo.wait_timeout_s = cmd_parse_seconds(&cmd_up, "--wait-timeout", optarg);
			if (uo.wait_timeout_s < 0)
				return CMD_USAGE;
			break;
		case OPT_BUILD:
			uo.build = true;
			break;
		case OPT_NO_BUILD:
			uo.no_build = true;
			break;
		case OPT_FORCE_RECREATE:
			uo.force_recreate = true;
			break;
		case OPT_NO_RECREATE:
			uo.no_recreate = true;
			break;
		case OPT_REMOVE_ORPHANS:
			uo.remove_orphans = true;
			break;
		case OPT_NO_SUPERVISOR:
			supervise = false;
			break;
		case 't':
			uo.timeout_s = cmd_parse_seconds(&cmd_up, "--timeout", optarg);
			if (uo.timeout_s < 0)
				return CMD_USAGE;
			break;
		case 'h':
			fputs(cmd_up.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_up, argc, argv, opt);
		}
	}
	if (uo.build && uo.no_build)
		return cmd_usage_error(&cmd_up, "--build and --no-build exclude each other");
	if (uo.force_recreate && uo.no_recreate)
		return cmd_usage_error(&cmd_up,
				       "--force-recreate and --no-recreate exclude each other");
	/* compose: --wait implies --detach */
	if (uo.wait)
		detach = true;
	uo.services = argv + optind;
	uo.nservices = (size_t)(argc - optind);

	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	opened = true;
	began = time(NULL);
	if (stack_up(cs.stack, &uo, &err) < 0) {
		if (detach || err.errnum != ECANCELED)
			goto out;
		/* Ctrl-C while an attached up was starting: take the stack down gracefully */
		px_error_clear(&err);
		px_info("Gracefully stopping...");
		stack_set_signals(cs.stack, true);
		if (stack_stop(cs.stack, uo.services, uo.nservices, uo.timeout_s, &err) < 0 &&
		    err.errnum == ECANCELED)
			stack_kill(cs.stack, NULL, &err);
		px_error_set(&err, ECANCELED, "interrupted");
		goto out;
	}
	if (!detach) {
		if (run_attached(ctx, &cs, uo.services, uo.nservices, began - 1, uo.timeout_s,
				 &err) < 0)
			goto out;
	} else if (supervise && cmd_wants_supervisor(cs.project)) {
		int fd = -1, r = sup_client_connect(cs.project->name, &fd, &err);

		/* one supervisor per project: a running one syncs, else one is started */
		if (r == 0) {
			r = cmd_sync_via(fd, NULL, false, false, &err);
			close(fd);
			if (r == 1)
				px_error_set(&err, 0, "the sync failed");
		} else if (r == 1) {
			r = cmd_supervise_detached(&cs, ctx, &err);
		}
		if (r != 0)
			goto out;
	}
	rc = CMD_OK;
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	if (opened)
		cmd_stack_close(&cs);
	return rc;
}

const struct cmd cmd_up = {
    .name = "up",
    .summary = "create and start the stack (converge: only what changed is recreated)",
    .usage = "Usage: prisync up [OPTIONS] [SERVICE...]\n"
	     "\n"
	     "Create the project's networks and volumes, pull or build images, and create,\n"
	     "recreate or start the services' containers in depends_on order (independent\n"
	     "services in parallel) as docker compose up does. A container whose configuration\n"
	     "did not change is left alone. Then, when the project has a Prisma schema (or\n"
	     "develop.watch rules), the client is generated and the supervisor takes over\n"
	     "(see `prisync help watch`): without -d in the foreground while the services'\n"
	     "logs follow, prefixed with their names (Ctrl-C stops the stack gracefully, a\n"
	     "second Ctrl-C kills it); with -d detached, logging to .prisync/supervisor.log,\n"
	     "once the first sync succeeded. A supervisor already running syncs instead.\n"
	     "  -d, --detach          return once the services are started\n"
	     "      --wait            wait until every service is running (healthy, when it has\n"
	     "                        a healthcheck) or, for one-shots, completed; implies -d.\n"
	     "                        A failure names the service and shows its last log lines\n"
	     "      --wait-timeout N  give up waiting after N seconds\n"
	     "      --build           build images before starting\n"
	     "      --no-build        never build, even a missing image\n"
	     "      --force-recreate  recreate containers even when nothing changed\n"
	     "      --no-recreate     never recreate an existing container\n"
	     "      --remove-orphans  remove containers of services the compose file lost\n"
	     "  -t, --timeout N       seconds to wait for a container to stop before killing it\n"
	     "      --no-supervisor   converge only, as docker compose up: no sync, no supervisor\n",
    .run = up_run,
};
