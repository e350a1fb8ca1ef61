/* resources.c - the engine's other objects, as much as a stack needs: networks (create,
 * remove, list, inspect, connect), volumes (create, remove, list, inspect) and images
 * (inspect, remove). */
#include "engine/transport.h"

#include <stdlib.h>

#include "base/log.h"
#include "base/xmalloc.h"

/* "<base>/<escaped name><suffix>", owned. */
static char *object_path(const char *base, const char *name, bool keep_slash, const char *suffix)
{
	char *esc = engine_path_escape(name, keep_slash);
	char *p;

	xasprintf(&p, "%s/%s%s", base, esc, suffix);
	free(esc);
	return p;
}

/* The create body {"Name": name, "Labels": labels} (both optional). */
static json_t *create_body(const char *name, const json_t *labels)
{
	json_t *body = json_object();

	if (name != NULL)
		json_object_set_new(body, "Name", json_string(name));
	if (labels != NULL)
		json_object_set_new(body, "Labels", json_deep_copy(labels));
	return body;
}

/* GET <base>[?filters=...] into *out, checked to be what the caller expects. */
static int list_objects(struct engine *e, const char *base, const char *label_filter, json_t **out,
			struct px_error *err)
{
	char *path, *f = NULL;
	int rc;

	if (label_filter != NULL) {
		f = engine_label_filter(label_filter);
		xasprintf(&path, "%s?filters=%s", base, f);
	} else {
		path = xstrdup(base);
	}
	rc = engine_request(e, "GET", path, NULL, NULL, out, err);
	free(path);
	free(f);
	return rc;
}

static int check_labels(const json_t *labels, struct px_error *err)
{
	/* jansson's iterators take a non-const object; they do not change it */
	json_t *obj = (json_t *)labels;

	if (labels == NULL)
		return 0;
	if (!json_is_object(labels))
		return px_error_set(err, 0, "labels must be a JSON object");
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		if (!json_is_string(json_object_iter_value(it)))
			return px_error_set(err, 0, "label '%s' must be a string",
					    json_object_iter_key(it));
	}
	return 0;
}

/*
 * Networks
 */

int engine_network_create_body(struct engine *e, const json_t *config, char **out_id,
			       struct px_error *err)
{
	const char *name = json_string_value(json_object_get(config, "Name"));
	json_t *body = NULL, *res = NULL;
	const char *id, *warning;
	long status = 0;
	int ret = -1;

	if (engine_check_arg(name, "network name", err) < 0 ||
	    check_labels(json_object_get(config, "Labels"), err) < 0)
		goto wrap;
	body = json_deep_copy(config);
	/* without it, engines before API 1.44 create a second network of the same name */
	json_object_set_new(body, "CheckDuplicate", json_true());
	if (engine_request(e, "POST", "/networks/create", body, &status, &res, err) < 0) {
		if (status == 409)
			px_error_wrap(err, "a network of that name exists");
		goto wrap;
	}
	id = json_string_value(json_object_get(res, "Id"));
	if (id == NULL || *id == '\0') {
		px_error_set(err, 0, "engine: the answer has no network Id");
		goto wrap;
	}
	warning = json_string_value(json_object_get(res, "Warning"));
	if (warning != NULL && *warning != '\0')
		px_warn("network '%s': engine: %s", name, warning);
	if (out_id != NULL)
		*out_id = xstrdup(id);
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot create network '%s'", name != NULL ? name : "");
out:
	json_decref(body);
	json_decref(res);
	return ret;
}

int engine_network_create(struct engine *e, const char *name, const json_t *labels, char **out_id,
			  struct px_error *err)
{
	json_t *config = create_body(name, labels);
	int rc = engine_network_create_body(e, config, out_id, err);

	json_decref(config);
	return rc;
}

int engine_network_remove(struct engine *e, const char *id, struct px_error *err)
{
	char *path;
	int rc;

	if (engine_check_arg(id, "network id", err) < 0)
		return px_error_wrap(err, "cannot remove network");
	path = object_path("/networks", id, false, "");
	/* 404: already gone */
	rc = engine_call(e, "DELETE", path, 404, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot remove network '%s'", id);
	free(path);
	return rc;
}

/* GET <path> into *out, which must be an object; ENGINE_NOT_FOUND on 404. */
static int inspect_object(struct engine *e, const char *path, const char *what, const char *name,
			  json_t **out, struct px_error *err)
{
	long status = 0;
	int rc;

	*out = NULL;
	rc = engine_request(e, "GET", path, NULL, &status, out, err);
	if (rc < 0 && status == 404) {
		px_error_clear(err);
		return ENGINE_NOT_FOUND;
	}
	if (rc < 0)
		return px_error_wrap(err, "cannot inspect %s '%s'", what, name);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return px_error_set(err, 0,
				    "cannot inspect %s '%s': engine: the answer is not an object",
				    what, name);
	}
	return 0;
}

int engine_network_inspect(struct engine *e, const char *name, json_t **out, struct px_error *err)
{
	char *path;
	int rc;

	*out = NULL;
	if (engine_check_arg(name, "network name", err) < 0)
		return px_error_wrap(err, "cannot inspect network");
	path = object_path("/networks", name, false, "");
	rc = inspect_object(e, path, "network", name, out, err);
	free(path);
	return rc;
}

int engine_network_connect(struct engine *e, const char *network, const char *container,
			   const char *const *aliases, struct px_error *err)
{
	json_t *body = NULL, *list;
	char *path = NULL;
	int ret = -1;

	if (engine_check_arg(network, "network name", err) < 0 ||
	    engine_check_arg(container, "container id", err) < 0)
		goto wrap;
	body = json_pack("{s:s}", "Container", container);
	if (aliases != NULL && aliases[0] != NULL) {
		list = json_array();
		for (size_t i = 0; aliases[i] != NULL; i++)
			json_array_append_new(list, json_string(aliases[i]));
		json_object_set_new(body, "EndpointConfig", json_pack("{s:o}", "Aliases", list));
	}
	path = object_path("/networks", network, false, "/connect");
	if (engine_request(e, "POST", path, body, NULL, NULL, err) < 0)
		goto wrap;
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "cannot connect container '%s' to network '%s'",
		      container != NULL ? container : "", network != NULL ? network : "");
out:
	json_decref(body);
	free(path);
	return ret;
}

int engine_network_list(struct engine *e, const char *label_filter, json_t **out,
			struct px_error *err)
{
	*out = NULL;
	if (list_objects(e, "/networks", label_filter, out, err) < 0)
		return px_error_wrap(err, "cannot list networks");
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return px_error_set(err, 0,
				    "cannot list networks: engine: the answer is not an array");
	}
	return 0;
}

/*
 * Volumes
 */

int engine_volume_create_body(struct engine *e, const json_t *config, char **out_name,
			      struct px_error *err)
{
	const char *name = json_string_value(json_object_get(config, "Name"));
	json_t *res = NULL;
	const char *got;
	int ret = -1;

	if (check_labels(json_object_get(config, "Labels"), err) < 0)
		goto wrap;
	if (engine_request(e, "POST", "/volumes/create", config, NULL, &res, err) < 0)
		goto wrap;
	got = json_string_value(json_object_get(res, "Name"));
	if (got == NULL || *got == '\0') {
		px_error_set(err, 0, "engine: the answer has no volume Name");
		goto wrap;
	}
	if (out_name != NULL)
		*out_name = xstrdup(got);
	ret = 0;
	goto out;
wrap:
	if (name != NULL)
		px_error_wrap(err, "cannot create volume '%s'", name);
	else
		px_error_wrap(err, "cannot create volume");
out:
	json_decref(res);
	return ret;
}

int engine_volume_create(struct engine *e, const char *name, const json_t *labels, char **out_name,
			 struct px_error *err)
{
	json_t *config = create_body(name, labels);
	int rc = engine_volume_create_body(e, config, out_name, err);

	json_decref(config);
	return rc;
}

int engine_volume_remove(struct engine *e, const char *name, bool force, struct px_error *err)
{
	char *path;
	int rc;

	if (engine_check_arg(name, "volume name", err) < 0)
		return px_error_wrap(err, "cannot remove volume");
	path = object_path("/volumes", name, false, force ? "?force=1" : "");
	/* 404: already gone */
	rc = engine_call(e, "DELETE", path, 404, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot remove volume '%s'", name);
	free(path);
	return rc;
}

int engine_volume_inspect(struct engine *e, const char *name, json_t **out, struct px_error *err)
{
	char *path;
	int rc;

	*out = NULL;
	if (engine_check_arg(name, "volume name", err) < 0)
		return px_error_wrap(err, "cannot inspect volume");
	path = object_path("/volumes", name, false, "");
	rc = inspect_object(e, path, "volume", name, out, err);
	free(path);
	return rc;
}

int engine_volume_list(struct engine *e, const char *label_filter, json_t **out,
		       struct px_error *err)
{
	json_t *res = NULL, *vols;

	*out = NULL;
	if (list_objects(e, "/volumes", label_filter, &res, err) < 0)
		return px_error_wrap(err, "cannot list volumes");
	if (!json_is_object(res)) {
		json_decref(res);
		return px_error_set(err, 0,
				    "cannot list volumes: engine: the answer is not an object");
	}
	/* "Volumes" is null, not [], when there are none */
	vols = json_object_get(res, "Volumes");
	*out = json_is_array(vols) ? json_incref(vols) : json_array();
	json_decref(res);
	return 0;
}

/*
 * Images
 */

int engine_image_inspect(struct engine *e, const char *ref, json_t **out, struct px_error *err)
{
	long status = 0;
	char *path;
	int rc;

	*out = NULL;
	if (engine_check_arg(ref, "image reference", err) < 0)
		return px_error_wrap(err, "cannot inspect image");
	/* a reference keeps its slashes, as the docker CLI sends it */
	path = object_path("/images", ref, true, "/json");
	rc = engine_request(e, "GET", path, NULL, &status, out, err);
	if (rc < 0 && status == 404) {
		px_error_clear(err);
		rc = ENGINE_NOT_FOUND;
	} else if (rc < 0) {
		px_error_wrap(err, "cannot inspect image '%s'", ref);
	} else if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = px_error_set(
		    err, 0, "cannot inspect image '%s': engine: the answer is not an object", ref);
	}
	free(path);
	return rc;
}

int engine_image_remove(struct engine *e, const char *ref, bool force, struct px_error *err)
{
	char *path;
	int rc;

	if (engine_check_arg(ref, "image reference", err) < 0)
		return px_error_wrap(err, "cannot remove image");
	path = object_path("/images", ref, true, force ? "?force=1" : "");
	/* 404: already gone */
	rc = engine_call(e, "DELETE", path, 404, NULL, err);
	if (rc < 0)
		px_error_wrap(err, "cannot remove image '%s'", ref);
	free(path);
	return rc;
}
