/* help.c - `prisync help [COMMAND]`: the program's or one command's help text. */
#include "cmd/cmd.h"

static int help_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd *c;

	(void)ctx;
	if (argc > 2)
		return cmd_usage_error(&cmd_help, "'help' takes at most one command name");
	if (argc < 2 || cmd_help_requested(argc, argv)) {
		cmd_print_main_help(stdout);
		return CMD_OK;
	}
	c = cmd_find(argv[1]);
	if (c == NULL)
		return cmd_usage_error(NULL, "unknown command '%s'", argv[1]);
	fputs(c->usage, stdout);
	return CMD_OK;
}

const struct cmd cmd_help = {
    .name = "help",
    .summary = "show help for prisync or for one command",
    .usage = "Usage: prisync help [COMMAND]\n"
	     "\n"
	     "Without COMMAND, list the global flags and the commands; with it, show that\n"
	     "command's usage. 'prisync COMMAND --help' shows the same.\n",
    .run = help_run,
};
