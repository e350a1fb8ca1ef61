/* cmd.h - the command-line layer: global flags shared by every subcommand and the
 * dispatch table.  One file per subcommand; each exports one struct cmd. */
#ifndef PX_CMD_H
#define PX_CMD_H

#include <stdio.h>

#include "compose/compose.h"

/* Exit codes (DESIGN.md "Commands"). */
enum {
	CMD_OK = 0,
	CMD_FAILED = 1, /* failed, or needs action */
	CMD_USAGE = 2,  /* usage error */
};

/* What the global flags said; handed to every command. */
struct cmd_ctx {
	struct compose_options opts;
	const char *argv0;
};

struct cmd {
	const char *name;
	const char *summary; /* one line for the command list */
	const char *usage;   /* the full help text of `prisync help <name>` */
	/* argv[0] is the command name; returns an exit code */
	int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

extern const struct cmd cmd_help;
extern const struct cmd cmd_version;
extern const struct cmd cmd_config;

/* The command named name, or NULL. */
const struct cmd *cmd_find(const char *name);
/* The program's own help: usage, global flags, the commands. */
void cmd_print_main_help(FILE *out);
/* Print "prisync: error: <msg> — run 'prisync help <cmd>'" and return CMD_USAGE. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True when argv (after the command name) asks for help: -h or --help. */
int cmd_help_requested(int argc, char **argv);

#endif
