/* profiles.c - compose profiles: which services are on (--profile, else COMPOSE_PROFILES),
 * and the model trimmed to them, so every command works on the same set of services. */
#include <string.h>

#include "compose/compose.h"
#include "compose/model.h"

/* Is profile name in the comma-separated list (spaces around names ignored; "*" = all)? */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		while (len > 0 && *p == ' ')
			p++, len--;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if ((len == 1 && *p == '*') || (len == n && strncmp(p, name, n) == 0))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* A service without profiles is always on; one with profiles only when an active profile
 * names one of them. */
static bool enabled(const struct compose_service *s, const struct compose_options *o,
		    const char *env_list)
{
	if (s->profiles.n == 0)
		return true;
	for (size_t i = 0; i < s->profiles.n; i++) {
		if (o != NULL && o->nprofiles > 0) {
			for (size_t k = 0; k < o->nprofiles; k++) {
				if (listed(o->profiles[k], s->profiles.v[i]))
					return true;
			}
		} else if (listed(env_list, s->profiles.v[i])) {
			return true;
		}
	}
	return false;
}

int compose_apply_profiles(struct compose_project *p, const struct compose_options *o,
			   struct px_error *err)
{
	const char *env_list = compose_map_get(&p->environment, "COMPOSE_PROFILES");
	bool *on = xcalloc(p->nservices ? p->nservices : 1, sizeof(*on));
	size_t kept = 0;
	int rc = -1;

	for (size_t i = 0; i < p->nservices; i++)
		on[i] = enabled(&p->services[i], o, env_list);

	/* an enabled service that requires a disabled one: compose refuses the project */
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];

		for (size_t j = 0; on[i] && j < s->ndepends_on; j++) {
			const struct compose_dep *d = &s->depends_on[j];
			const struct compose_service *dep = compose_project_service(p, d->service);

			if (!d->required || dep == NULL || on[dep - p->services])
				continue;
			px_error_set(err, 0,
				     "%s:%u:%u: service '%s' depends on service '%s', which its "
				     "profiles turn off — enable one of them with --profile or "
				     "COMPOSE_PROFILES",
				     d->mark.file, d->mark.line, d->mark.col, s->name, d->service);
			goto out;
		}
	}
	/* services stay sorted by name: drop the disabled ones in place */
	for (size_t i = 0; i < p->nservices; i++) {
		if (on[i])
			p->services[kept++] = p->services[i];
		else
			compose_service_release(&p->services[i]);
	}
	p->nservices = kept;
	rc = 0;
out:
	free(on);
	return rc;
}
