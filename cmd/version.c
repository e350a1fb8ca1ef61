/* version.c - `prisync version`: the program version, the libraries it was built
 * against, and (with --short) just the number for scripts. */
#include <getopt.h>
#include <string.h>

#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <yaml.h>

#include "cmd/cmd.h"

static int version_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"short", no_argument, NULL, 's'},
	    {"format", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int short_form = 0, json = 0, opt, git_major = 0, git_minor = 0, git_rev = 0;
	const char *a;

	(void)ctx;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			short_form = 1;
			break;
		case 'F':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "pretty") != 0)
				return cmd_usage_error(&cmd_version,
						       "invalid --format '%s' (use pretty or json)",
						       optarg);
			break;
		case 'h':
			fputs(cmd_version.usage, stdout);
			return CMD_OK;
		case ':':
			return cmd_usage_error(&cmd_version, "flag '%s' needs a value",
					       argv[optind - 1]);
		default:
			a = argv[optind - 1];
			return cmd_usage_error(&cmd_version, "unknown flag '%s'", a);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_version, "unexpected argument '%s'", argv[optind]);

	if (short_form) {
		printf("%s\n", PX_VERSION);
		return CMD_OK;
	}
	git_libgit2_version(&git_major, &git_minor, &git_rev);
	if (json) {
		char *git = NULL;
		json_t *o;

		xasprintf(&git, "%d.%d.%d", git_major, git_minor, git_rev);
		o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "version", PX_VERSION,
			      "commit", PX_GIT_REV, "curl",
			      curl_version_info(CURLVERSION_NOW)->version, "libpq", PQlibVersion(),
			      "yaml", yaml_get_version_string(), "jansson", JANSSON_VERSION,
			      "libgit2", git);
		free(git);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return CMD_OK;
	}
	printf("prisync version %s (%s)\n", PX_VERSION, PX_GIT_REV);
	printf("  libcurl %s, libpq %d, libyaml %s, jansson %s, libgit2 %d.%d.%d\n",
	       curl_version_info(CURLVERSION_NOW)->version, PQlibVersion(),
	       yaml_get_version_string(), JANSSON_VERSION, git_major, git_minor, git_rev);
	return CMD_OK;
}

const struct cmd cmd_version = {
    .name = "version",
    .summary = "show the prisync version",
    .usage = "Usage: prisync version [--short] [--format pretty|json]\n"
	     "\n"
	     "Show the prisync version and the versions of the libraries it uses.\n"
	     "  --short         only the version number\n"
	     "  --format FMT    pretty (default) or json\n",
    .run = version_run,
};
