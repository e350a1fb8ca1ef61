/* stop.c - `prisync stop`: stop the services' containers, dependents first. */
#include <getopt.h>

#include "cmd/cmd.h"

static int stop_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	int opt, timeout_s = -1, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			timeout_s = cmd_parse_seconds(&cmd_stop, "--timeout", optarg);
			if (timeout_s < 0)
				return CMD_USAGE;
			break;
		case 'h':
			fputs(cmd_stop.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_stop, argc, argv, opt);
		}
	}
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	if (stack_stop(cs.stack, argv + optind, (size_t)(argc - optind), timeout_s, &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
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
