/* start.c - `prisync start`: start the services' existing containers in dependency order,
 * waiting for each depends_on condition as up does. */
#include <getopt.h>

#include "cmd/cmd.h"

static int start_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cmd_start.usage, stdout);
			return CMD_OK;
		}
		return cmd_flag_error(&cmd_start, argc, argv, opt);
	}
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	if (stack_start(cs.stack, argv + optind, (size_t)(argc - optind), &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_start = {
    .name = "start",
    .summary = "start the services' existing containers",
    .usage = "Usage: prisync start [SERVICE...]\n"
	     "\n"
	     "Start the existing containers of the services (all when none is named) in\n"
	     "depends_on order, waiting for service_healthy and service_completed_successfully\n"
	     "conditions. A service without a container is an error: run 'prisync up'.\n",
    .run = start_run,
};
