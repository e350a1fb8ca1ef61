/* main.c - prisync's entry point: global flags (as docker compose has them), then
 * dispatch to one subcommand from the table below. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

static const struct cmd *const commands[] = {
    &cmd_help,
    &cmd_version,
    &cmd_config,
    &cmd_up,
    &cmd_down,
    &cmd_start,
    &cmd_stop,
    &cmd_restart,
    &cmd_ps,
    &cmd_build,
    &cmd_logs,
    &cmd_watch,
    &cmd_sync,
    &cmd_generate,
    &cmd_db_check,
    &cmd_migrate,
    &cmd_db_create,
    &cmd_db_reset,
    &cmd_status,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	}
	return NULL;
}

void cmd_print_main_help(FILE *out)
{
	fputs("Usage: prisync [OPTIONS] COMMAND [ARGS...]\n"
	      "\n"
	      "Keep a Docker development stack in sync with its Prisma schema.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --file FILE             compose file (repeatable; later files merge onto "
	      "earlier)\n"
	      "  -p, --project-name NAME     project name (default: the project directory's name)\n"
	      "      --project-directory DIR project directory (default: the first file's "
	      "directory)\n"
	      "      --env-file FILE         environment file (repeatable; later files win)\n"
	      "      --profile NAME          enable the services of a profile (repeatable; default:\n"
	      "                              COMPOSE_PROFILES)\n"
	      "      --ansi WHEN             colour: auto, always, never (default auto; NO_COLOR "
	      "is honoured)\n"
	      "      --log-level LEVEL       error, warn, info, debug, trace (default info)\n"
	      "  -h, --help                  show this help\n"
	      "  -v, --version               show the version\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Environment: COMPOSE_FILE (files, ':'-separated), COMPOSE_PROJECT_NAME, "
	      "COMPOSE_PATH_SEPARATOR,\n"
	      "COMPOSE_PROFILES, DOCKER_HOST, NO_COLOR.\n"
	      "Run 'prisync help COMMAND' for more on a command.\n",
	      out);
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (c != NULL)
		px_log_emit(PX_LOG_ERROR, NULL, "%s — run 'prisync help %s'", msg, c->name);
	else
		px_log_emit(PX_LOG_ERROR, NULL, "%s — run 'prisync --help'", msg);
	free(msg);
	return CMD_USAGE;
}

int cmd_help_requested(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

enum {
	OPT_PROJECT_DIRECTORY = 256,
	OPT_ENV_FILE,
	OPT_ANSI,
	OPT_LOG_LEVEL,
	OPT_PROFILE,
};

static const struct option global_options[] = {
    {"file", required_argument, NULL, 'f'},
    {"project-name", required_argument, NULL, 'p'},
    {"project-directory", required_argument, NULL, OPT_PROJECT_DIRECTORY},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"ansi", required_argument, NULL, OPT_ANSI},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

/* getopt_long reports problems through optopt and the argv element; turn them into our
 * own message (opterr is off so it prints nothing itself). */
static int global_flag_error(int argc, char **argv, int c)
{
	const char *arg = (optind - 1 < argc && optind > 0) ? argv[optind - 1] : "?";

	if (c == ':')
		return cmd_usage_error(NULL, "flag '%s' needs a value", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return cmd_usage_error(NULL, "unknown flag '-%c'", optopt);
	return cmd_usage_error(NULL, "unknown flag '%s'", arg);
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx = {.argv0 = argv[0]};
	enum px_log_level level = PX_LOG_INFO;
	int colour = -1;
	int rc = CMD_USAGE;
	const struct cmd *c;
	int opt;

	compose_options_init(&ctx.opts);
	px_log_setup(stderr, level, colour);

	opterr = 0;
	/* '+': stop at the first non-option, which is the command (flags after it are its own) */
	while ((opt = getopt_long(argc, argv, "+:f:p:hv", global_options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			compose_options_add_file(&ctx.opts, optarg);
			break;
		case 'p':
			free(ctx.opts.project_name);
			ctx.opts.project_name = xstrdup(optarg);
			break;
		case OPT_PROJECT_DIRECTORY:
			free(ctx.opts.project_directory);
			ctx.opts.project_directory = xstrdup(optarg);
			break;
		case OPT_ENV_FILE:
			compose_options_add_env_file(&ctx.opts, optarg);
			break;
		case OPT_PROFILE:
			compose_options_add_profile(&ctx.opts, optarg);
			break;
		case OPT_ANSI:
			if (strcmp(optarg, "auto") == 0) {
				colour = -1;
			} else if (strcmp(optarg, "always") == 0) {
				colour = 1;
			} else if (strcmp(optarg, "never") == 0) {
				colour = 0;
			} else {
				rc = cmd_usage_error(
				    NULL, "invalid --ansi value '%s' (use auto, always or never)",
				    optarg);
				goto out;
			}
			break;
		case OPT_LOG_LEVEL: {
			int l = px_log_level_parse(optarg);

			if (l < 0) {
				rc = cmd_usage_error(NULL,
						     "invalid --log-level '%s' (use error, warn, "
						     "info, debug or trace)",
						     optarg);
				goto out;
			}
			level = (enum px_log_level)l;
			break;
		}
		case 'h':
			cmd_print_main_help(stdout);
			rc = CMD_OK;
			goto out;
		case 'v': {
			char *vargv[] = { "version", NULL };

			optind = 0; /* the command parses its own argv from the start */
			rc = cmd_version.run(&ctx, 1, vargv);
			goto out;
		}
		default:
			rc = global_flag_error(argc, argv, opt);
			goto out;
		}
	}
	px_log_setup(stderr, level, colour);
	px_log_output_setup(stdout, colour);

	if (optind >= argc) {
		cmd_print_main_help(stderr);
		rc = CMD_USAGE;
		goto out;
	}
	c = cmd_find(argv[optind]);
	if (c == NULL) {
		rc = cmd_usage_error(NULL, "unknown command '%s'", argv[optind]);
		goto out;
	}
	{
		int first = optind;

		optind =
		    0; /* reset getopt for the subcommand's own parsing (glibc: 0 = full reinit) */
		rc = c->run(&ctx, argc - first, argv + first);
	}
out:
	compose_options_release(&ctx.opts);
	return rc;
}
