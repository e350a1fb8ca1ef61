/* ps.c - `prisync ps`: the project's containers as compose ps lists them, a table or
 * JSON lines with compose's field names. */
#include <getopt.h>
#include <string.h>

#include "cmd/cmd.h"

enum {
	OPT_FORMAT = 256,
	OPT_SERVICES,
};

static int ps_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},   {"format", required_argument, NULL, OPT_FORMAT},
	    {"quiet", no_argument, NULL, 'q'}, {"services", no_argument, NULL, OPT_SERVICES},
	    {"help", no_argument, NULL, 'h'},  {NULL, 0, NULL, 0},
	};
	struct cmd_stack cs = {0};
	struct px_error err = PX_ERROR_INIT;
	json_t *rows = NULL, *row;
	bool all = false, json = false, quiet = false, services = false;
	size_t i;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return cmd_usage_error(
				    &cmd_ps, "invalid --format '%s' (use table or json)", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_SERVICES:
			services = true;
			break;
		case 'h':
			fputs(cmd_ps.usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(&cmd_ps, argc, argv, opt);
		}
	}
	if (cmd_stack_open(&cs, ctx, false, false, &err) < 0)
		goto out;
	if (stack_ps(cs.stack, all, argv + optind, (size_t)(argc - optind), &rows, &err) < 0)
		goto close;
	if (quiet || services) {
		json_array_foreach(rows, i, row)
		{
			const char *v =
			    json_string_value(json_object_get(row, quiet ? "ID" : "Service"));
			bool seen = false;

			/* --services: each service once */
			for (size_t k = 0; services && k < i && !seen; k++)
				seen = strcmp(v, json_string_value(json_object_get(
						     json_array_get(rows, k), "Service"))) == 0;
			if (!seen)
				printf("%s\n", v);
		}
	} else if (json) {
		stack_ps_print_json(stdout, rows);
	} else {
		stack_ps_print_table(stdout, rows);
	}
	rc = CMD_OK;
close:
	json_decref(rows);
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

const struct cmd cmd_ps = {
    .name = "ps",
    .summary = "list the stack's containers",
    .usage = "Usage: prisync ps [-a] [--format table|json] [-q] [--services] [SERVICE...]\n"
	     "\n"
	     "List the project's running containers as docker compose ps does: NAME IMAGE\n"
	     "COMMAND SERVICE CREATED STATUS PORTS.\n"
	     "  -a, --all        stopped containers too\n"
	     "      --format F   table (default) or json: one JSON object per line with\n"
	     "                   compose's field names (ID, Name, Service, State, Health ...)\n"
	     "  -q, --quiet      only the container ids\n"
	     "      --services   only the service names\n",
    .run = ps_run,
};
