/* restart.c - `prisync restart`: restart the services' containers in dependency order. */
#include "cmd/cmd.h"

static int restart_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return cmd_run_timed(&cmd_restart, ctx, argc, argv, stack_restart);
}

const struct cmd cmd_restart = {
    .name = "restart",
    .summary = "restart the services' containers",
    .usage = "Usage: prisync restart [-t N] [SERVICE...]\n"
	     "\n"
	     "Restart the containers of the services (all when none is named) in depends_on\n"
	     "order, as docker compose restart does.\n"
	     "  -t, --timeout N  seconds to wait for a container to stop before killing it\n",
    .run = restart_run,
};
