/* project.c - resolve which compose files, project directory and project name a command
 * works on, from the global flags, COMPOSE_FILE / COMPOSE_PROJECT_NAME and the file system. */
#include "compose/compose.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Compose's default file names, in the order compose tries them, each with its override. */
static const struct {
	const char *file;
	const char *override;
} default_files[] = {
    {"compose.yaml", "compose.override.yaml"},
    {"compose.yml", "compose.override.yml"},
    {"docker-compose.yml", "docker-compose.override.yml"},
    {"docker-compose.yaml", "docker-compose.override.yaml"},
};

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s; /* takes ownership of s */
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void compose_options_init(struct compose_options *o)
{
	memset(o, 0, sizeof(*o));
}

void compose_options_add_file(struct compose_options *o, const char *path)
{
	strv_push(&o->files, &o->nfiles, xstrdup(path));
}

void compose_options_add_env_file(struct compose_options *o, const char *path)
{
	strv_push(&o->env_files, &o->nenv_files, xstrdup(path));
}

void compose_options_add_profile(struct compose_options *o, const char *name)
{
	strv_push(&o->profiles, &o->nprofiles, xstrdup(name));
}

void compose_options_release(struct compose_options *o)
{
	strv_free(o->files, o->nfiles);
	strv_free(o->env_files, o->nenv_files);
	strv_free(o->profiles, o->nprofiles);
	free(o->project_name);
	free(o->project_directory);
	compose_options_init(o);
}

void compose_project_ref_release(struct compose_project_ref *ref)
{
	strv_free(ref->files, ref->nfiles);
	free(ref->directory);
	free(ref->name);
	memset(ref, 0, sizeof(*ref));
}

char *compose_project_name_normalize(const char *raw)
{
	char *out = xmalloc(strlen(raw) + 1);
	size_t n = 0;

	for (const char *p = raw; *p; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			continue;
		if (n == 0 && (c == '_' || c == '-'))
			continue;
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

bool compose_project_name_valid(const char *name)
{
	if (name == NULL ||
	    !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return false;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return false;
	}
	return true;
}

static bool is_regular_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Add one explicitly named file (from -f or COMPOSE_FILE), made absolute against base. */
static int add_explicit(struct compose_project_ref *ref, const char *base, const char *path,
			const char *origin, struct px_error *err)
{
	char *abs;

	if (strcmp(path, "-") == 0) {
		strv_push(&ref->files, &ref->nfiles, xstrdup("-"));
		return 0;
	}
	abs = px_path_abs(base, path);
	if (!is_regular_file(abs)) {
		int e = errno;

		px_error_set(err, e ? e : EISDIR, "cannot read compose file '%s' (from %s)", path,
			     origin);
		free(abs);
		return -1;
	}
	strv_push(&ref->files, &ref->nfiles, abs);
	return 0;
}

/* Look for a default compose file in dir, then in each parent, as docker compose does. */
static int discover(struct compose_project_ref *ref, const char *cwd, struct px_error *err)
{
	char *dir = px_path_clean(cwd);

	for (;;) {
		for (size_t i = 0; i < sizeof(default_files) / sizeof(default_files[0]); i++) {
			char *f = px_path_join(dir, default_files[i].file);
			char *ov;

			if (!is_regular_file(f)) {
				free(f);
				continue;
			}
			strv_push(&ref->files, &ref->nfiles, f);
			ov = px_path_join(dir, default_files[i].override);
			if (is_regular_file(ov))
				strv_push(&ref->files, &ref->nfiles, ov);
			else
				free(ov);
			free(dir);
			return 0;
		}
		if (strcmp(dir, "/") == 0)
			break;
		char *parent = px_path_dirname(dir);
		free(dir);
		dir = parent;
	}
	free(dir);
	return px_error_set(
	    err, 0,
	    "no compose file found in '%s' or its parents (looked for compose.yaml, "
	    "compose.yml, docker-compose.yml, docker-compose.yaml) — "
	    "create one or name it with -f",
	    cwd);
}

static int resolve_files(struct compose_project_ref *ref, const struct compose_options *o,
			 const char *cwd, struct px_error *err)
{
	const char *env = getenv("COMPOSE_FILE");

	if (o->nfiles > 0) {
		for (size_t i = 0; i < o->nfiles; i++) {
			if (add_explicit(ref, cwd, o->files[i], "-f", err) < 0)
				return -1;
		}
		return 0;
	}
	if (env != NULL && env[0] != '\0') {
		const char *sep = getenv("COMPOSE_PATH_SEPARATOR");
		const char *p = env;
		char sepc = ':';

		if (sep != NULL && sep[0] != '\0')
			sepc = sep[0];

		for (;;) {
			const char *end = strchr(p, sepc);
			size_t len = end ? (size_t)(end - p) : strlen(p);

			if (len > 0) {
				char *one = xstrndup(p, len);
				int rc = add_explicit(ref, cwd, one, "COMPOSE_FILE", err);

				free(one);
				if (rc < 0)
					return -1;
			}
			if (end == NULL)
				break;
			p = end + 1;
		}
		if (ref->nfiles > 0)
			return 0;
	}
	/* compose searches from the project directory when one is given */
	if (o->project_directory != NULL) {
		char *dir = px_path_abs(cwd, o->project_directory);
		int rc = discover(ref, dir, err);

		free(dir);
		return rc;
	}
	return discover(ref, cwd, err);
}

int compose_project_resolve(struct compose_project_ref *ref, const struct compose_options *o,
			    const char *cwd, struct px_error *err)
{
	const char *env_name = getenv("COMPOSE_PROJECT_NAME");

	memset(ref, 0, sizeof(*ref));
	if (resolve_files(ref, o, cwd, err) < 0)
		goto fail;

	if (o->project_directory != NULL)
		ref->directory = px_path_abs(cwd, o->project_directory);
	else if (strcmp(ref->files[0], "-") == 0)
		ref->directory = px_path_clean(cwd);
	else
		ref->directory = px_path_dirname(ref->files[0]);

	if (o->project_name != NULL) {
		if (!compose_project_name_valid(o->project_name)) {
			px_error_set(
			    err, 0,
			    "invalid project name '%s' (from -p): use lowercase letters, digits, "
			    "'-' and '_', starting with a letter or digit",
			    o->project_name);
			goto fail;
		}
		ref->name = xstrdup(o->project_name);
	} else if (env_name != NULL && env_name[0] != '\0') {
		if (!compose_project_name_valid(env_name)) {
			px_error_set(
			    err, 0,
			    "invalid project name '%s' (from COMPOSE_PROJECT_NAME): use lowercase "
			    "letters, digits, '-' and '_', starting with a letter or digit",
			    env_name);
			goto fail;
		}
		ref->name = xstrdup(env_name);
	} else {
		char *base = px_path_basename(ref->directory);

		ref->name = compose_project_name_normalize(base);
		free(base);
		if (ref->name[0] == '\0') {
			px_error_set(err, 0,
				     "cannot derive a project name from directory '%s' — name the "
				     "project with -p or COMPOSE_PROJECT_NAME",
				     ref->directory);
			goto fail;
		}
	}
	return 0;
fail:
	compose_project_ref_release(ref);
	return -1;
}
