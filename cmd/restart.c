/* restart.c - `prisync restart`: restart the services' containers in dependency order. */
#include <getopt.h>

#include "cmd/cmd.h"

static int restart_run(struct cmd_ctx *ctx, int argc, char **argv)
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
			timeout_s = cmd_parse_seconds(&cmd_restart, "--timeout", optarg);
			if (timeout_s < 0)
				return CMD_USAGE;
			break;
		case 'h':
			fputs(cmd_restart.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_restart, argc, argv, opt);
		}
	}
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	if (stack_restart(cs.stack, argv + optind, (size_t)(argc - optind), timeout_s, &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
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
