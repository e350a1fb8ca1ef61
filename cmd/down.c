/* down.c - `prisync down`: stop and remove the project's containers (dependents first),
 * then its networks, with -v its volumes, with --rmi its images. */
#include <getopt.h>
#include <string.h>

#include "cmd/cmd.h"

enum {
	OPT_REMOVE_ORPHANS = 256,
	OPT_RMI,
};

static int down_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"volumes", no_argument, NULL, 'v'},
	    {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
	    {"rmi", required_argument, NULL, OPT_RMI},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct stack_down_opts o = {.timeout_s = -1};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:vt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			o.volumes = true;
			break;
		case OPT_REMOVE_ORPHANS:
			o.remove_orphans = true;
			break;
		case OPT_RMI:
			if (strcmp(optarg, "local") == 0)
				o.rmi = STACK_RMI_LOCAL;
			else if (strcmp(optarg, "all") == 0)
				o.rmi = STACK_RMI_ALL;
			else
				return cmd_usage_error(
				    &cmd_down, "invalid --rmi '%s' (use local or all)", optarg);
			break;
		case 't':
			o.timeout_s = cmd_parse_seconds(&cmd_down, "--timeout", optarg);
			if (o.timeout_s < 0)
				return CMD_USAGE;
			break;
		case 'h':
			fputs(cmd_down.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_down, argc, argv, opt);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_down, "unexpected argument '%s'", argv[optind]);
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	/* first the supervisor: it would restart what down removes */
	if (cmd_stop_supervisor(cs.project->name, &err) == 0 && stack_down(cs.stack, &o, &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_down = {
    .name = "down",
    .summary = "stop and remove the stack's containers and networks",
    .usage = "Usage: prisync down [-v] [--remove-orphans] [--rmi local|all] [-t N]\n"
	     "\n"
	     "Stop the project's containers (dependents before what they depend on), remove\n"
	     "them and the project's networks, as docker compose down does.\n"
	     "  -v, --volumes         also remove the named volumes (and anonymous ones)\n"
	     "      --remove-orphans  also remove containers of services no longer in the file\n"
	     "      --rmi WHICH       remove images: local (the ones built for services without\n"
	     "                        image:) or all\n"
	     "  -t, --timeout N       seconds to wait for a container to stop before killing it\n",
    .run = down_run,
};
