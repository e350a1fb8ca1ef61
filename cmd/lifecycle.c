/* lifecycle.c - what the stack commands share: load the project, reach the engine, take
 * SIGINT/SIGTERM as an interrupt of the operation, and parse their common flags. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"

/* Each warning of the load once (the loader avoids repeats; two paths may still meet). */
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

int cmd_project_load(struct cmd_ctx *ctx, struct compose_project_ref *ref,
		     struct compose_project **p, bool warnings, struct px_error *err)
{
	char *cwd = getcwd(NULL, 0);
	int rc = -1;

	*p = NULL;
	if (cwd == NULL)
		return px_error_set(err, errno, "cannot get the current directory");
	if (compose_project_resolve(ref, &ctx->opts, cwd, err) == 0 &&
	    compose_load(p, ref, &ctx->opts, err) == 0)
		rc = 0;
	free(cwd);
	if (rc == 0 && warnings)
		print_warnings(&(*p)->warnings);
	return rc;
}

int cmd_stack_open(struct cmd_stack *cs, struct cmd_ctx *ctx, bool progress, bool signals,
		   struct px_error *err)
{
	static const int sigs[] = {SIGINT, SIGTERM};

	memset(cs, 0, sizeof(*cs));
	/* blocked before any thread exists, so every thread inherits the mask and the
	 * signals wait for a signalfd instead of killing the process mid-operation */
	if (signals && px_block_signals(sigs, 2, NULL, err) < 0)
		return -1;
	if (cmd_project_load(ctx, &cs->ref, &cs->project, true, err) < 0)
		goto fail;
	if (engine_open(&cs->engine, NULL, err) < 0 || engine_ping(cs->engine, err) < 0)
		goto fail;
	if (progress)
		cs->progress = stack_progress_new(stderr, -1);
	if (stack_open(&cs->stack, cs->engine, cs->project, cs->progress, err) < 0)
		goto fail;
	stack_set_signals(cs->stack, signals);
	return 0;
fail:
	cmd_stack_close(cs);
	return -1;
}

void cmd_stack_close(struct cmd_stack *cs)
{
	stack_free(cs->stack);
	stack_progress_free(cs->progress);
	engine_free(cs->engine);
	compose_project_free(cs->project);
	compose_project_ref_release(&cs->ref);
	memset(cs, 0, sizeof(*cs));
}

int cmd_parse_seconds(const struct cmd *c, const char *flag, const char *value)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < 0 || v > 86400L * 365) {
		cmd_usage_error(c, "invalid %s '%s' (a number of seconds)", flag, value);
		return -1;
	}
	return (int)v;
}

int cmd_flag_error(const struct cmd *c, int argc, char **argv, int opt)
{
	const char *arg = (optind - 1 < argc && optind > 0) ? argv[optind - 1] : "?";

	if (opt == ':')
		return cmd_usage_error(c, "flag '%s' needs a value", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return cmd_usage_error(c, "unknown flag '-%c'", optopt);
	return cmd_usage_error(c, "unknown flag '%s'", arg);
}

/* `stop` and `restart`: [-t N] [SERVICE...], then op on the named services (all when
 * none is named) with that timeout. */
int cmd_run_timed(const struct cmd *c, struct cmd_ctx *ctx, int argc, char **argv,
		  int (*op)(struct stack *st, char *const *services, size_t n, int timeout_s,
			    struct px_error *err))
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
			timeout_s = cmd_parse_seconds(c, "--timeout", optarg);
			if (timeout_s < 0)
				return CMD_USAGE;
			break;
		case 'h':
			fputs(c->usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(c, argc, argv, opt);
		}
	}
	if (cmd_stack_open(&cs, ctx, true, true, &err) < 0)
		goto out;
	if (op(cs.stack, argv + optind, (size_t)(argc - optind), timeout_s, &err) == 0)
		rc = CMD_OK;
	cmd_stack_close(&cs);
out:
	if (rc != CMD_OK)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	return rc;
}

void cmd_set_prefix_width(const struct compose_project *p)
{
	size_t w = 0;

	/* "<service>-1": one container per service */
	for (size_t i = 0; i < p->nservices; i++) {
		size_t len = strlen(p->services[i].name) + 2;

		w = len > w ? len : w;
	}
	px_log_set_service_width((int)w);
}
