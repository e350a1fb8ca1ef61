/* naming.c - docker compose's names and labels for the engine objects of a project, so
 * `docker compose ps/logs/down` see a prisync stack as their own and vice versa. */
#include "stack/stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/xmalloc.h"

/*
 * Compose's sources (docker/compose v2), for every format below:
 *   pkg/compose/convergence.go  getContainerName: strings.Join({project, service,
 *                               strconv.Itoa(number)}, api.Separator), Separator "-"
 *   pkg/compose/run.go          one-off name "%[1]s%[4]s%[2]s%[4]srun%[4]s%[3]s" with
 *                               stringid.TruncateID(slug) (12 hex digits); container
 *                               created with number -1; labels SlugLabel = slug,
 *                               OneoffLabel = "True"
 *   pkg/compose/loader.go       CustomLabels: project, service, version, working_dir,
 *                               config_files = strings.Join(ComposeFiles, ","),
 *                               oneoff = "False"
 *   pkg/compose/create.go       prepareLabels: config-hash, container-number =
 *                               strconv.Itoa(number)
 *   pkg/api/labels.go           the label keys
 *   compose-go loader/normalize.go setNameFromKey: networks and volumes without a
 *                               name become fmt.Sprintf("%s_%s", project, key)
 */
#define LABEL_PROJECT      "com.docker.compose.project"
#define LABEL_SERVICE      "com.docker.compose.service"
#define LABEL_NUMBER       "com.docker.compose.container-number"
#define LABEL_ONEOFF       "com.docker.compose.oneoff"
#define LABEL_SLUG         "com.docker.compose.slug"
#define LABEL_WORKING_DIR  "com.docker.compose.project.working_dir"
#define LABEL_CONFIG_FILES "com.docker.compose.project.config_files"
#define LABEL_CONFIG_HASH  "com.docker.compose.config-hash"
#define LABEL_VERSION      "com.docker.compose.version"

char *stack_container_name(const char *project, const char *service, int number)
{
	char *s;

	xasprintf(&s, "%s-%s-%d", project, service, number);
	return s;
}

char *stack_oneoff_name(const char *project, const char *service, const char *suffix)
{
	char *s;

	xasprintf(&s, "%s-%s-run-%s", project, service, suffix);
	return s;
}

char *stack_network_name(const char *project, const char *network)
{
	char *s;

	xasprintf(&s, "%s_%s", project, network);
	return s;
}

char *stack_volume_name(const char *project, const char *volume)
{
	char *s;

	xasprintf(&s, "%s_%s", project, volume);
	return s;
}

/* labels[key] = value; jansson refuses a value that is not UTF-8. */
static int set_label(json_t *labels, const char *key, const char *value, struct px_error *err)
{
	json_t *v = json_string(value);

	if (v == NULL || json_object_set_new(labels, key, v) < 0)
		return px_error_set(err, EILSEQ, "cannot set label %s to '%s'", key, value);
	return 0;
}

int stack_project_labels(json_t *labels, const struct stack_label_info *info, struct px_error *err)
{
	struct px_buf files = PX_BUF_INIT;
	char number[16];
	int ret = -1;

	if (!json_is_object(labels))
		return px_error_set(err, EINVAL,
				    "cannot set compose labels: labels is not a JSON object");
	if (info->project == NULL || info->project[0] == '\0' || info->service == NULL ||
	    info->service[0] == '\0')
		return px_error_set(err, EINVAL,
				    "cannot set compose labels without a project and a service");

	for (size_t i = 0; i < info->n_config_files; i++) {
		if (i > 0)
			px_buf_addch(&files, ',');
		px_buf_adds(&files, info->config_files[i]);
	}
	snprintf(number, sizeof(number), "%d", info->number);

	if (set_label(labels, LABEL_PROJECT, info->project, err) < 0 ||
	    set_label(labels, LABEL_SERVICE, info->service, err) < 0 ||
	    set_label(labels, LABEL_NUMBER, number, err) < 0 ||
	    set_label(labels, LABEL_ONEOFF, info->oneoff ? "True" : "False", err) < 0 ||
	    set_label(labels, LABEL_CONFIG_FILES, px_buf_cstr(&files), err) < 0)
		goto out;
	if (info->oneoff && info->slug != NULL &&
	    set_label(labels, LABEL_SLUG, info->slug, err) < 0)
		goto out;
	if (info->working_dir != NULL &&
	    set_label(labels, LABEL_WORKING_DIR, info->working_dir, err) < 0)
		goto out;
	if (info->config_hash != NULL &&
	    set_label(labels, LABEL_CONFIG_HASH, info->config_hash, err) < 0)
		goto out;
	if (info->version != NULL && set_label(labels, LABEL_VERSION, info->version, err) < 0)
		goto out;
	ret = 0;
out:
	px_buf_release(&files);
	return ret;
}
