/* config.c - `prisync config`: load the project (every file interpolated, merged and
 * validated) and print it as `docker compose config` does, or only check it (-q). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"

/* Each warning of the load once, in order (the loader already avoids repeats; a warning
 * reached by two paths must still not show twice). */
static void print_warnings(const struct compose_strv *w)
{
	for (size_t i = 0; i < w->n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(w->v[i], w->v[j]) == 0;
		if (!seen)
			px_warn("%s", w->v[i]);
	}
}

static int config_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'F'}, {"services", no_argument, NULL, 'S'},
	    {"volumes", no_argument, NULL, 'V'},      {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct compose_project_ref ref = {0};
	struct compose_project *p = NULL;
	struct px_error err = PX_ERROR_INIT;
	enum compose_format format = COMPOSE_FORMAT_YAML;
	bool services = false, volumes = false, quiet = false;
	char *cwd = NULL;
	int opt, rc = CMD_FAILED;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'F':
			if (strcmp(optarg, "yaml") == 0)
				format = COMPOSE_FORMAT_YAML;
			else if (strcmp(optarg, "json") == 0)
				format = COMPOSE_FORMAT_JSON;
			else
				return cmd_usage_error(&cmd_config,
						       "invalid --format '%s' (use yaml or json)",
						       optarg);
			break;
		case 'S':
			services = true;
			break;
		case 'V':
			volumes = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(cmd_config.usage, stdout);
			return CMD_OK;
		case ':':
			return cmd_usage_error(&cmd_config, "flag '%s' needs a value",
					       argv[optind - 1]);
		default:
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) != 0)
				return cmd_usage_error(&cmd_config, "unknown flag '-%c'", optopt);
			return cmd_usage_error(&cmd_config, "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_config, "unexpected argument '%s'", argv[optind]);
	if (services && volumes)
		return cmd_usage_error(&cmd_config, "--services and --volumes exclude each other");

	cwd = getcwd(NULL, 0);
	if (cwd == NULL) {
		px_error_set(&err, errno, "cannot get the current directory");
		goto out;
	}
	if (compose_project_resolve(&ref, &ctx->opts, cwd, &err) < 0 ||
	    compose_load(&p, &ref, &ctx->opts, &err) < 0)
		goto out;
	print_warnings(&p->warnings);
	if (quiet)
		rc = CMD_OK;
	else if (services)
		rc = compose_print_services(stdout, p, &err) < 0 ? CMD_FAILED : CMD_OK;
	else if (volumes)
		rc = compose_print_volumes(stdout, p, &err) < 0 ? CMD_FAILED : CMD_OK;
	else
		rc = compose_print(stdout, p, format, &err) < 0 ? CMD_FAILED : CMD_OK;
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	compose_project_free(p);
	compose_project_ref_release(&ref);
	free(cwd);
	return rc;
}

const struct cmd cmd_config = {
    .name = "config",
    .summary = "check the compose files and print the resolved project",
    .usage = "Usage: prisync config [--format yaml|json] [--services | --volumes] [-q]\n"
	     "\n"
	     "Load the project as docker compose does (.env, interpolation, every -f file\n"
	     "merged in order, include and extends) and print it as `docker compose config`\n"
	     "prints it: long-form ports and volumes, absolute paths, depends_on and\n"
	     "environment as maps. Errors name file:line:column; exit 1.\n"
	     "  --format FMT    yaml (default) or json\n"
	     "  --services      only the service names, one per line\n"
	     "  --volumes       only the volumes the services mount, one per line\n"
	     "  -q, --quiet     only check the project: print nothing, exit 0 when valid\n",
    .run = config_run,
};
