/* logs.c - `prisync logs`: the services' output up to now, merged in time order; with -f
 * it goes on following, across restarts and recreates, until every followed container
 * has stopped or Ctrl-C. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"

enum {
	OPT_SINCE = 256,
	OPT_UNTIL,
	OPT_NO_PREFIX,
	OPT_NO_COLOR,
};

static void on_stop_signal(struct px_loop *loop, const struct signalfd_siginfo *si, void *data)
{
	(void)si;
	(void)data;
	px_loop_stop(loop);
}

static void on_idle(void *data)
{
	px_loop_stop(data);
}

/* Everything after from_ns, from every container that runs now or starts later. */
static int follow(struct cmd_stack *cs, const struct stack_logs_opts *lo, int64_t from_ns,
		  struct px_error *err)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct stack_follow *f = NULL;
	struct px_loop *loop = px_loop_new(err);
	int ret = -1;

	if (loop == NULL)
		return -1;
	if (px_loop_add_signals(loop, sigs, 2, on_stop_signal, NULL, err) < 0)
		goto out;
	if (stack_follow_start(&f, loop, cs->engine, cs->project->name,
			       &(struct stack_follow_opts){
				   .services = lo->services,
				   .nservices = lo->nservices,
				   .timestamps = lo->timestamps,
				   .no_prefix = lo->no_prefix,
				   .tail = -1, /* the history is printed already */
				   .since_ns = from_ns,
				   .on_idle = on_idle,
				   .data = loop,
			       },
			       err) < 0)
		goto out;
	if (px_loop_run(loop) < 0) {
		px_error_set(err, errno, "event loop failed");
		goto out;
	}
	ret = 0;
out:
	stack_follow_free(f);
	px_loop_free(loop);
	return ret;
}

static int logs_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"tail", required_argument, NULL, 'n'},
	    {"timestamps", no_argument, NULL, 't'},
	    {"since", required_argument, NULL, OPT_SINCE},
	    {"until", required_argument, NULL, OPT_UNTIL},
	    {"no-log-prefix", no_argument, NULL, OPT_NO_PREFIX},
	    {"no-color", no_argument, NULL, OPT_NO_COLOR},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct stack_logs_opts lo = {.tail = -1};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	const char *since = NULL, *until = NULL;
	bool follow_on = false;
	int64_t t0 = px_real_ns();
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:fn:th", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			follow_on = true;
			break;
		case 'n': {
			char *end;
			long v;

			if (strcmp(optarg, "all") == 0) {
				lo.tail = -1;
				break;
			}
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v < 0 || v > INT_MAX)
				return cmd_usage_error(&cmd_logs,
						       "invalid --tail '%s' (a number of lines or all)",
						       optarg);
			lo.tail = (int)v;
			break;
		}
		case 't':
			lo.timestamps = true;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_NO_PREFIX:
			lo.no_prefix = true;
			break;
		case OPT_NO_COLOR:
			px_log_output_setup(stdout, 0);
			break;
		case 'h':
			fputs(cmd_logs.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_logs, argc, argv, opt);
		}
	}
	if (since != NULL && stack_parse_log_time(since, t0, &lo.since_ns, &err) < 0)
		goto usage;
	if (until != NULL) {
		if (follow_on)
			return cmd_usage_error(&cmd_logs, "--until and --follow exclude each other");
		if (stack_parse_log_time(until, t0, &lo.until_ns, &err) < 0)
			goto usage;
	}
	lo.services = argv + optind;
	lo.nservices = (size_t)(argc - optind);

	if (cmd_stack_open(&cs, ctx, false, false, &err) < 0)
		goto out;
	cmd_set_prefix_width(cs.project);
	/* with -f: the history up to t0 merged, then the streams from t0 on, so no line is
	 * shown twice or lost in between */
	if (follow_on)
		lo.until_ns = t0;
	if (stack_logs(cs.stack, &lo, &err) == 0 &&
	    (!follow_on || follow(&cs, &lo, lo.since_ns > t0 ? lo.since_ns : t0, &err) == 0))
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
usage:
	rc = cmd_usage_error(&cmd_logs, "%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_logs = {
    .name = "logs",
    .summary = "show the services' output (-f: follow it, across restarts)",
    .usage = "Usage: prisync logs [OPTIONS] [SERVICE...]\n"
	     "\n"
	     "Print the output of the services' containers (all services when none is named,\n"
	     "stopped containers too), every line prefixed with its container (\"app-1 | \").\n"
	     "The containers' lines are merged in the order the engine stamped them, so what\n"
	     "happened first is printed first. Credentials in URLs are masked.\n"
	     "  -f, --follow         keep printing new output; a container that restarts or is\n"
	     "                       recreated is followed again. Ends when no followed\n"
	     "                       container is running any more, or on Ctrl-C\n"
	     "  -n, --tail N         the last N lines of each container (default: all)\n"
	     "  -t, --timestamps     show the engine's timestamp of each line\n"
	     "      --since T        lines from T on: a duration back from now (10m, 1h30m), an\n"
	     "                       RFC 3339 time (2025-01-02T15:04:05Z), a date, unix seconds\n"
	     "      --until T        lines before T (same forms; not with --follow)\n"
	     "      --no-log-prefix  the lines alone, without the container prefix\n"
	     "      --no-color       no colours even on a terminal\n",
    .run = logs_run,
};
