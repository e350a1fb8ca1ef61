/* images.c - pulling images (POST /images/create) with the progress stream parsed into
 * messages, and the engine's error messages in that stream turned into failures. */
#include "engine/streams.h"

#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "engine/transport.h"

/* Split ref the way the docker CLI sends it: fromImage is the name without tag or digest,
 * tag is the digest ("sha256:...") when there is one, else the tag, else "latest".  A ':'
 * before the last '/' belongs to a registry port ("reg:5000/app"). */
static void split_ref(const char *ref, char **name, char **tag)
{
	const char *at = strchr(ref, '@');
	const char *end = at != NULL ? at : ref + strlen(ref);
	const char *slash = NULL, *colon = NULL;

	for (const char *p = ref; p < end; p++) {
		if (*p == '/')
			slash = p;
		else if (*p == ':')
			colon = p;
	}
	if (colon != NULL && slash != NULL && colon < slash)
		colon = NULL;
	*name = xstrndup(ref, (size_t)((colon != NULL ? colon : end) - ref));
	if (at != NULL)
		*tag = xstrdup(at + 1);
	else if (colon != NULL)
		*tag = xstrdup(colon + 1);
	else
		*tag = xstrdup("latest");
}

int engine_image_pull(struct engine *e, const char *ref, engine_progress_fn fn, void *data,
		      struct px_error *err)
{
	struct engine_messages m;
	char *name = NULL, *tag = NULL, *qname = NULL, *qtag = NULL, *path = NULL;
	int rc, ret = -1;

	engine_messages_init(&m, true, fn, data);
	if (engine_check_arg(ref, "image reference", err) < 0)
		goto wrap;
	split_ref(ref, &name, &tag);
	if (*name == '\0' || *tag == '\0') {
		px_error_set(err, 0, "invalid image reference");
		goto wrap;
	}
	qname = engine_query_escape(name);
	qtag = engine_query_escape(tag);
	xasprintf(&path, "/images/create?fromImage=%s&tag=%s", qname, qtag);
	/* a registry that cannot be reached fails before the stream starts (a non-2xx answer);
	 * a missing manifest or a broken layer fails inside it (an "error" message) */
	rc = engine_stream(e, "POST", path, NULL, engine_messages_feed, &m, NULL, err);
	if (rc < 0)
		goto wrap;
	if (rc == 0)
		engine_messages_finish(&m);
	if (m.state < 0) {
		px_error_move(err, &m.err);
		goto wrap;
	}
	if (rc == 1 || m.state == 1) {
		engine_error_interrupted(err);
		goto wrap;
	}
	ret = 0;
	goto out;
wrap:
	px_error_wrap(err, "pull '%s'", ref != NULL ? ref : "");
out:
	engine_messages_release(&m);
	free(name);
	free(tag);
	free(qname);
	free(qtag);
	free(path);
	return ret;
}
