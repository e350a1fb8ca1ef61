/* build.c - `prisync build`: build the images of the services that have build:, tagged
 * as compose tags them (image:, else <project>-<service>). */
#include <getopt.h>

#include "cmd/cmd.h"

enum {
	OPT_PULL = 256,
	OPT_NO_CACHE,
};

static int build_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pull", no_argument, NULL, OPT_PULL},
	    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct stack_build_opts o = {0};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PULL:
			o.pull = true;
			break;
		case OPT_NO_CACHE:
			o.no_cache = true;
			break;
		case 'h':
			fputs(cmd_build.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_build, argc, argv, opt);
		}
	}
	o.services = argv + optind;
	o.nservices = (size_t)(argc - optind);
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	if (stack_build(cs.stack, &o, &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_build = {
    .name = "build",
    .summary = "build the services' images",
    .usage = "Usage: prisync build [--pull] [--no-cache] [SERVICE...]\n"
	     "\n"
	     "Build the images of the services that have a build: section (all of them when\n"
	     "none is named) with the engine's builder, tagged image: or <project>-<service>.\n"
	     "  --pull       look for newer base images first\n"
	     "  --no-cache   do not use the build cache\n",
    .run = build_run,
};
