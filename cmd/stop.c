/* stop.c - `prisync stop`: stop the services' containers, dependents first. */
#include "cmd/cmd.h"

static int stop_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return cmd_run_timed(&cmd_stop, ctx, argc, argv, stack_stop);
}

const struct cmd cmd_stop = {
    .name = "stop",
    .summary = "stop the services' containers",
    .usage = "Usage: prisync stop [-t N] [SERVICE...]\n"
	     "\n"
	     "Stop the containers of the services (all when none is named), dependents before\n"
	     "what they depend on, as docker compose stop does.\n"
	     "  -t, --timeout N  seconds to wait for a container to stop before killing it\n",
    .run = stop_run,
};
