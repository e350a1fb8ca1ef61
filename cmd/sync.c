/* sync.c - `prisync sync` and `prisync generate`: through the running supervisor when
 * there is one (so they queue behind the job it runs), else directly. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "supervisor/supervisor.h"

/* Ask the supervisor on fd for the jobs and wait for each; 0 when all succeeded, 1 when
 * one failed, -1 on an error. */
int cmd_sync_via(int fd, const char *schema, bool generate_only, bool json,
		 struct px_error *err)
{
	json_t *req = json_pack("{s:s,s:s?,s:b}", "op", "sync", "schema", schema,
				"generate_only", generate_only);
	json_t *answer = NULL, *ids;
	size_t i;
	json_t *id;
	int ret = -1, failed = 0;

	if (sup_client_call(fd, req, &answer, err) < 0)
		goto out;
	if (!json_is_true(json_object_get(answer, "ok"))) {
		px_error_set(err, 0, "%s",
			     json_string_value(json_object_get(answer, "error")) ?: "refused");
		goto out;
	}
	ids = json_object_get(answer, "jobs");
	json_array_foreach(ids, i, id)
	{
		json_t *w = json_pack("{s:s,s:O}", "op", "wait", "job", id), *done = NULL;
		json_t *job;
		int rc = sup_client_call(fd, w, &done, err);

		json_decref(w);
		if (rc < 0)
			goto out;
		job = json_object_get(done, "job");
		if (job == NULL) {
			px_error_set(err, 0, "%s",
				     json_string_value(json_object_get(done, "error")) ?: "no job");
			json_decref(done);
			goto out;
		}
		sup_print_job(job, json);
		failed |= strcmp(json_string_value(json_object_get(job, "state")) ?: "",
				 "succeeded") != 0;
		json_decref(done);
	}
	ret = failed ? 1 : 0;
out:
	json_decref(req);
	json_decref(answer);
	return ret;
}

static int run(const struct cmd *c, struct cmd_ctx *ctx, int argc, char **argv,
	       bool generate_only)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct px_error err = PX_ERROR_INIT;
	struct cmd_stack cs;
	const char *schema = NULL;
	bool json = false;
	int opt, fd = -1, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(c->usage, stdout);
			return CMD_OK;
		default:
			return cmd_flag_error(c, argc, argv, opt);
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(c, "one schema at most (got %d)", argc - optind);
	if (optind < argc)
		schema = argv[optind];
	if (cmd_stack_open(&cs, ctx, false, false, &err) < 0) {
		px_error_log("%s", px_error_msg(&err));
		px_error_clear(&err);
		return CMD_FAILED;
	}
	rc = sup_client_connect(cs.project->name, &fd, &err);
	if (rc == 0) {
		rc = cmd_sync_via(fd, schema, generate_only, json, &err);
		close(fd);
	} else if (rc == 1) {
		rc = sup_run_direct(cs.engine, cs.project, schema, generate_only, json, &err);
	}
	if (rc < 0)
		px_error_log("%s", px_error_msg(&err));
	px_error_clear(&err);
	cmd_stack_close(&cs);
	return rc == 0 ? CMD_OK : CMD_FAILED;
}

static int sync_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return run(&cmd_sync, ctx, argc, argv, false);
}

static int generate_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	return run(&cmd_generate, ctx, argc, argv, true);
}

const struct cmd cmd_sync = {
    .name = "sync",
    .summary = "regenerate the Prisma client, restart its services, wait until they run",
    .usage = "Usage: prisync sync [--json] [SCHEMA]\n"
	     "\n"
	     "Run the sync job of SCHEMA (default: every schema): the generator, then a\n"
	     "restart of the schema's restart services, then a wait until they run (healthy\n"
	     "when they have a healthcheck).  When a supervisor runs for the project, the\n"
	     "job is queued there (behind the job it runs) and this waits for it.\n"
	     "\n"
	     "  --json   one JSON object per job on stdout\n"
	     "\n"
	     "Exit status: 0 when every job succeeded, 1 otherwise.\n",
    .run = sync_run,
};

const struct cmd cmd_generate = {
    .name = "generate",
    .summary = "regenerate the Prisma client only (no restart)",
    .usage = "Usage: prisync generate [--json] [SCHEMA]\n"
	     "\n"
	     "Run the generator of SCHEMA (default: every schema) and nothing else; through\n"
	     "the running supervisor when there is one.\n"
	     "\n"
	     "  --json   one JSON object per job on stdout\n",
    .run = generate_run,
};
