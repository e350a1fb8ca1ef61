/* load.c - compose_load(): the project's variables (.env / --env-file, then the shell),
 * its name, every compose file and document interpolated, canonicalised and merged in
 * order with include and extends resolved, then typed into the model. */
#include "compose/compose.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "compose/dotenv.h"
#include "compose/internal.h"
#include "compose/interp.h"
#include "compose/merge.h"

extern char **environ;

/* ---- Variables ------------------------------------------------------------------------ */

static const char *env_lookup(void *data, const char *name)
{
	const struct compose_loader_env *e = data;
	const struct compose_kv *kv = compose_map_find(e->vars, name);

	return kv != NULL ? kv->value : NULL;
}

/* compose's own wording, given once per variable name */
static void env_unset(void *data, const char *name)
{
	struct compose_loader_env *e = data;
	char *msg;

	if (e->warnings == NULL)
		return;
	xasprintf(&msg, "The \"%s\" variable is not set. Defaulting to a blank string.", name);
	for (size_t i = 0; i < e->warnings->n; i++) {
		if (strcmp(e->warnings->v[i], msg) == 0) {
			free(msg);
			return;
		}
	}
	compose_strv_push(e->warnings, msg);
	free(msg);
}

void compose_loader_env_init(struct interp_env *ie, struct compose_loader_env *data,
			     const struct compose_map *vars, struct compose_strv *warnings)
{
	data->vars = vars;
	data->warnings = warnings;
	ie->lookup = env_lookup;
	ie->data = data;
	ie->on_unset = env_unset;
}

/* While env files are read: the variables already known, then the files read so far. */
struct envfile_scope {
	const struct compose_map *current;
	const struct compose_map *read;
};

static const char *envfile_lookup(void *data, const char *name)
{
	const struct envfile_scope *s = data;
	const struct compose_kv *kv = compose_map_find(s->current, name);

	if (kv == NULL)
		kv = compose_map_find(s->read, name);
	return kv != NULL ? kv->value : NULL;
}

int compose_loader_read_env_files(const struct compose_map *current, char *const *files,
				  size_t nfiles, bool explicit, struct compose_map *out,
				  struct px_error *err)
{
	struct envfile_scope scope = {current, out};
	/* compose does not warn about unset variables in .env files */
	struct interp_env ie = {envfile_lookup, &scope, NULL};
	struct stat st;

	for (size_t i = 0; i < nfiles; i++) {
		if (stat(files[i], &st) < 0) {
			if (!explicit && errno == ENOENT)
				continue;
			return px_error_set(err, errno, "cannot read env file '%s'", files[i]);
		}
		if (S_ISDIR(st.st_mode)) {
			if (!explicit)
				continue;
			return px_error_set(err, EISDIR, "cannot read env file '%s'", files[i]);
		}
		if (dotenv_load_file(files[i], &ie, out, err) < 0)
			return -1;
	}
	return 0;
}

/* COMPOSE_DISABLE_ENV_FILE, read as Go's strconv.ParseBool reads it. */
static int default_env_file_disabled(bool *disabled, struct px_error *err)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
	const char *v = getenv("COMPOSE_DISABLE_ENV_FILE");

	*disabled = false;
	if (v == NULL)
		return 0;
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(v, yes[i]) == 0) {
			*disabled = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0)
			return 0;
	}
	return px_error_set(err, 0,
			    "invalid COMPOSE_DISABLE_ENV_FILE value '%s': use true or false", v);
}

/* p->environment: the env files (--env-file in order, else the project's .env), then the
 * process environment, which wins. */
static int load_variables(struct compose_project *p, const struct compose_project_ref *ref,
			  const struct compose_options *o, struct px_error *err)
{
	struct compose_map process = {0}, fromfiles = {0};
	char **files = NULL;
	size_t nfiles = 0;
	bool disabled;
	int ret = -1;

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char *k;

		if (eq == NULL || eq == *e)
			continue;
		k = xstrndup(*e, (size_t)(eq - *e));
		compose_map_set(&process, k, eq + 1);
		free(k);
	}
	if (o != NULL && o->nenv_files > 0) {
		files = xreallocarray(NULL, o->nenv_files, sizeof(*files));
		for (size_t i = 0; i < o->nenv_files; i++)
			files[nfiles++] = px_path_abs(NULL, o->env_files[i]);
	} else {
		if (default_env_file_disabled(&disabled, err) < 0)
			goto out;
		if (!disabled) {
			files = xreallocarray(NULL, 1, sizeof(*files));
			files[nfiles++] = px_path_join(ref->directory, ".env");
		}
	}
	if (compose_loader_read_env_files(&process, files, nfiles, o != NULL && o->nenv_files > 0,
					  &fromfiles, err) < 0)
		goto out;
	compose_map_move_all(&p->environment, &fromfiles);
	compose_map_move_all(&p->environment, &process);
	ret = 0;
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	compose_map_release(&process);
	compose_map_release(&fromfiles);
	return ret;
}

/* ---- Files and documents ---------------------------------------------------------------- */

void compose_loader_note_file(struct compose_loader *l, const char *path)
{
	for (size_t i = 0; i < l->config_files->n; i++)
		if (strcmp(l->config_files->v[i], path) == 0)
			return;
	compose_strv_push(l->config_files, path);
}

int compose_loader_merge_docs(struct compose_loader *l, const char *file, struct cnode **docs,
			      size_t ndocs, unsigned flags, struct cnode **tree,
			      struct px_error *err)
{
	for (size_t i = 0; i < ndocs; i++) {
		struct compose_resets resets;
		struct cnode *d;

		if (interp_tree(l->arena, docs[i], l->env, &d, err) < 0)
			return -1;
		if (compose_canonical(l->arena, d, &d, err) < 0)
			return -1;
		/* !reset / !override as written, before include and extends rewrite d */
		compose_resets_collect(l->arena, d, &resets);
		if (!(flags & COMPOSE_LOAD_NO_INCLUDE) &&
		    compose_include_apply(l, file, &d, err) < 0)
			return -1;
		if (!(flags & COMPOSE_LOAD_NO_EXTENDS) &&
		    compose_extends_apply(l, file, &d, err) < 0)
			return -1;
		if ((*tree)->n > 0)
			l->shared->merged = true;
		if (compose_merge_with_resets(l->arena, *tree, d, &resets, tree, err) < 0)
			return -1;
	}
	return 0;
}

int compose_loader_load_file(struct compose_loader *l, const char *path, unsigned flags,
			     struct cnode **tree, struct px_error *err)
{
	struct cnode **docs;
	size_t ndocs;

	compose_loader_note_file(l, path);
	if (cnode_parse_file(l->arena, path, &l->limits, &docs, &ndocs, err) < 0)
		return -1;
	return compose_loader_merge_docs(l, path, docs, ndocs, flags, tree, err);
}

/* ---- The project name --------------------------------------------------------------------- */

#define NAME_RULE                                                                                  \
	"must consist only of lowercase alphanumeric characters, hyphens, and underscores as "     \
	"well as start with a letter or number"

/* -p, else COMPOSE_PROJECT_NAME (the shell's or a .env's), else the last top-level name:
 * of the files (interpolated, normalised as compose normalises it), else ref's. */
static int project_name(struct compose_project *p, const struct compose_project_ref *ref,
			const struct compose_options *o, struct cnode ***docs, const size_t *ndocs,
			const struct interp_env *ie, struct px_error *err)
{
	const char *env = compose_map_get(&p->environment, "COMPOSE_PROJECT_NAME");
	const struct cnode *raw = NULL;
	char *val;

	if (o != NULL && o->project_name != NULL) {
		if (!compose_project_name_valid(o->project_name))
			return px_error_set(err, 0,
					    "invalid project name \"%s\" (from -p): " NAME_RULE,
					    o->project_name);
		p->name = xstrdup(o->project_name);
		return 0;
	}
	if (env != NULL && env[0] != '\0') {
		if (!compose_project_name_valid(env))
			return px_error_set(
			    err, 0,
			    "invalid project name \"%s\" (from COMPOSE_PROJECT_NAME): " NAME_RULE,
			    env);
		p->name = xstrdup(env);
		return 0;
	}
	for (size_t f = 0; f < ref->nfiles; f++) {
		for (size_t d = 0; d < ndocs[f]; d++) {
			const struct cnode *n = cnode_map_get(docs[f][d], "name");

			if (n != NULL && n->kind == CNODE_SCALAR && !cnode_is_null(n) && n->len > 0)
				raw = n;
		}
	}
	if (raw == NULL) {
		p->name = xstrdup(ref->name);
		return 0;
	}
	if (interp_string(raw->value, ie, &val, err) < 0)
		return cnode_error(err, raw, "%s", px_error_msg(err));
	p->name = compose_project_name_normalize(val);
	if (p->name[0] == '\0' && val[0] != '\0') {
		cnode_error(err, raw, "invalid project name \"%s\": " NAME_RULE, val);
		free(val);
		return -1;
	}
	free(val);
	if (p->name[0] == '\0') {
		/* name: ${UNSET}: as if there were no name */
		free(p->name);
		p->name = xstrdup(ref->name);
	}
	return 0;
}

/* ---- compose_load() ----------------------------------------------------------------------- */

int compose_load_tree(struct cnode_arena *a, const struct compose_project_ref *ref,
		      const struct compose_options *o, struct compose_project *p,
		      struct cnode **out, struct px_error *err)
{
	struct cnode ***docs = xcalloc(ref->nfiles ? ref->nfiles : 1, sizeof(*docs));
	size_t *ndocs = xcalloc(ref->nfiles ? ref->nfiles : 1, sizeof(*ndocs));
	struct compose_load_shared shared = {0};
	struct compose_loader_env envdata;
	struct interp_env ie;
	struct compose_loader l;
	struct cnode_limits limits = CNODE_LIMITS_DEFAULT;
	struct cnode *tree;
	int ret = -1;

	if (ref->nfiles == 0) {
		px_error_set(err, 0, "no compose file to load");
		goto out;
	}
	p->working_dir = xstrdup(ref->directory);
	if (load_variables(p, ref, o, err) < 0)
		goto out;
	compose_loader_env_init(&ie, &envdata, &p->environment, &p->warnings);
	/* every file is parsed before anything is interpolated: the name: of the last file
	 * that has one is the project's, and ${COMPOSE_PROJECT_NAME} in any file means it */
	for (size_t i = 0; i < ref->nfiles; i++)
		if (cnode_parse_file(a, ref->files[i], &limits, &docs[i], &ndocs[i], err) < 0)
			goto out;
	if (project_name(p, ref, o, docs, ndocs, &ie, err) < 0)
		goto out;
	compose_map_set(&p->environment, "COMPOSE_PROJECT_NAME", p->name);

	l = (struct compose_loader){
	    .arena = a,
	    .limits = limits,
	    .env = &ie,
	    .environment = &p->environment,
	    .working_dir = ref->directory,
	    .config_files = &p->config_files,
	    .warnings = &p->warnings,
	    .shared = &shared,
	};
	tree = cnode_new_map(a, 0, (struct cnode_mark){cnode_strdup(a, ref->files[0]), 1, 1});
	for (size_t i = 0; i < ref->nfiles; i++) {
		compose_loader_note_file(&l, ref->files[i]);
		if (compose_loader_merge_docs(&l, ref->files[i], docs[i], ndocs[i], 0, &tree, err) <
		    0)
			goto out;
	}
	/* compose-go canonicalises the merged model again: a merge turns some long forms
	 * back into lists (additional_contexts).  One document alone is canonical already. */
	if (shared.merged && compose_canonical(a, tree, &tree, err) < 0)
		goto out;
	/* once for all the merges (see compose_merge_with_resets) */
	if (compose_unicity(a, tree, &tree, err) < 0)
		goto out;
	if (tree->n == 0) {
		px_error_set(err, 0, "empty compose file '%s'", ref->files[0]);
		goto out;
	}
	*out = tree;
	ret = 0;
out:
	compose_load_shared_release(&shared);
	free(docs);
	free(ndocs);
	return ret;
}

int compose_load(struct compose_project **out, const struct compose_project_ref *ref,
		 const struct compose_options *o, struct px_error *err)
{
	struct compose_project *p = xcalloc(1, sizeof(*p));
	struct cnode_arena *a = cnode_arena_new();
	struct compose_loader_env envdata;
	struct interp_env ie;
	struct compose_model_ctx ctx;
	struct cnode *tree;
	int ret = -1;

	*out = NULL;
	if (compose_load_tree(a, ref, o, p, &tree, err) < 0)
		goto out;
	compose_loader_env_init(&ie, &envdata, &p->environment, &p->warnings);
	ctx = (struct compose_model_ctx){
	    .project_dir = p->working_dir,
	    .project_name = p->name,
	    .env = &ie,
	    .warnings = &p->warnings,
	};
	if (compose_model_build(p, tree, &ctx, err) < 0 || compose_apply_profiles(p, o, err) < 0)
		goto out;
	/* the model owns copies of everything: the trees go now */
	*out = p;
	p = NULL;
	ret = 0;
out:
	cnode_arena_free(a);
	compose_project_free(p);
	return ret;
}

void compose_project_free(struct compose_project *p)
{
	if (p == NULL)
		return;
	compose_project_release_model(p);
	free(p->name);
	free(p->working_dir);
	compose_strv_release(&p->config_files);
	compose_map_release(&p->environment);
	compose_strv_release(&p->warnings);
	free(p);
}

static int service_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct compose_service *)elem)->name);
}

const struct compose_service *compose_project_service(const struct compose_project *p,
						      const char *name)
{
	if (p == NULL || name == NULL || p->nservices == 0)
		return NULL;
	return bsearch(name, p->services, p->nservices, sizeof(*p->services), service_cmp);
}
