/* test_stack_plan.c - stack/deps.c and stack/plan.c: dependency order (dependencies
 * first, name order among independents, the closure of named services, cycles refused
 * with their path) and converge decisions against observed container lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "stack/stack.h"

/*
 * A hand-made project: spec is "svc[:dep[/cond],dep...]" entries separated by ';', cond
 * one of started, healthy, completed, optional (a missing dependency allowed).
 * Services are kept sorted by name, as compose_load keeps them.
 */
static int svc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_service *)a)->name,
		      ((const struct compose_service *)b)->name);
}

static struct compose_project *project(const char *spec)
{
	struct compose_project *p = xcalloc(1, sizeof(*p));
	char *copy = xstrdup(spec), *save = NULL;

	p->name = xstrdup("demo");
	for (char *ent = strtok_r(copy, ";", &save); ent != NULL;
	     ent = strtok_r(NULL, ";", &save)) {
		struct compose_service *s;
		char *colon = strchr(ent, ':'), *save2 = NULL;

		p->services = xreallocarray(p->services, p->nservices + 1, sizeof(*p->services));
		s = &p->services[p->nservices++];
		memset(s, 0, sizeof(*s));
		if (colon != NULL)
			*colon = '\0';
		s->name = xstrdup(ent);
		for (char *d = colon != NULL ? strtok_r(colon + 1, ",", &save2) : NULL; d != NULL;
		     d = strtok_r(NULL, ",", &save2)) {
			char *slash = strchr(d, '/');
			struct compose_dep *dep;

			s->depends_on = xreallocarray(s->depends_on, s->ndepends_on + 1,
						      sizeof(*s->depends_on));
			dep = &s->depends_on[s->ndepends_on++];
			memset(dep, 0, sizeof(*dep));
			dep->required = true;
			if (slash != NULL) {
				*slash = '\0';
				if (strcmp(slash + 1, "healthy") == 0)
					dep->condition = COMPOSE_DEP_HEALTHY;
				else if (strcmp(slash + 1, "completed") == 0)
					dep->condition = COMPOSE_DEP_COMPLETED;
				else if (strcmp(slash + 1, "optional") == 0)
					dep->required = false;
			}
			dep->service = xstrdup(d);
		}
	}
	qsort(p->services, p->nservices, sizeof(*p->services), svc_cmp);
	free(copy);
	return p;
}

static void project_free(struct compose_project *p)
{
	for (size_t i = 0; i < p->nservices; i++) {
		for (size_t k = 0; k < p->services[i].ndepends_on; k++)
			free(p->services[i].depends_on[k].service);
		free(p->services[i].depends_on);
		free(p->services[i].name);
	}
	free(p->services);
	free(p->name);
	free(p);
}

/* The order as "a b c", or "error: <message>". */
static char *order_of(const char *spec, const char *names, bool deps)
{
	struct compose_project *p = project(spec);
	struct stack_order o = {0};
	struct px_error err = PX_ERROR_INIT;
	struct px_buf b = PX_BUF_INIT;
	char *copy = xstrdup(names), *argv[16], *save = NULL;
	size_t n = 0;

	for (char *t = strtok_r(copy, " ", &save); t != NULL && n < 16;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	if (stack_order_resolve(&o, p, argv, n, deps, &err) < 0) {
		px_buf_addf(&b, "error: %s", px_error_msg(&err));
	} else {
		for (size_t i = 0; i < o.n; i++)
			px_buf_addf(&b, "%s%s", i ? " " : "", o.v[i]->name);
	}
	px_error_clear(&err);
	stack_order_release(&o);
	free(copy);
	project_free(p);
	return px_buf_detach(&b, NULL);
}

struct order_case {
	const char *spec, *names;
	bool deps;
	const char *want;
};

static const struct order_case order_cases[] = {
    /* independents keep name order */
    {"c;a;b", "", true, "a b c"},
    /* the 3-service stack: db, then the migrator, then the app */
    {"app:db/healthy,migrator/completed;db;migrator:db/healthy", "", true, "db migrator app"},
    /* a chain against name order */
    {"a:b;b:c;c", "", true, "c b a"},
    /* a diamond: both middles after the base, the top last */
    {"top:l,r;l:base;r:base;base", "", true, "base l r top"},
    /* naming a service brings its dependencies, not its dependents */
    {"app:db;db;worker:db;other", "app", true, "db app"},
    {"app:db;db;worker:db;other", "app", false, "app"},
    /* an optional dependency that is not in the project is skipped */
    {"app:ghost/optional", "", true, "app"},
    /* a required one that is not: an error that names both */
    {"app:ghost", "", true,
     "error: service 'app' depends on 'ghost', which is not in the project (disabled by a "
     "profile?)"},
    {"a;b", "nope", true, "error: no such service: 'nope'"},
    /* cycles, with their path */
    {"a:b;b:a", "", true, "error: dependency cycle: a -> b -> a"},
    {"a:b;b:c;c:a;d", "", true, "error: dependency cycle: a -> b -> c -> a"},
    {"a:a", "", true, "error: dependency cycle: a -> a"},
    {"x;a:b;b:c;c:b", "a", true, "error: dependency cycle: b -> c -> b"},
};

static void test_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		const struct order_case *c = &order_cases[i];
		char *got = order_of(c->spec, c->names, c->deps);

		if (strcmp(got, c->want) != 0)
			fail_msg("order of '%s' [%s]: want '%s', got '%s'", c->spec, c->names,
				 c->want, got);
		free(got);
	}
}

static void test_oneshot(void **state)
{
	struct compose_project *p = project("app:db/healthy,mig/completed;db;mig:db/healthy");

	(void)state;
	assert_true(stack_service_is_oneshot(p, compose_project_service(p, "mig")));
	assert_false(stack_service_is_oneshot(p, compose_project_service(p, "db")));
	assert_false(stack_service_is_oneshot(p, compose_project_service(p, "app")));
	project_free(p);
}

/* ---- plan ---- */

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

/* A container as GET /containers/json lists it. */
static json_t *ctr(const char *id, const char *service, int number, const char *state,
		   const char *status, const char *hash, const char *image)
{
	char name[64], num[16];
	json_t *labels = json_object();

	snprintf(name, sizeof(name), "/demo-%s-%d", service, number);
	snprintf(num, sizeof(num), "%d", number);
	json_object_set_new(labels, "com.docker.compose.project", json_string("demo"));
	json_object_set_new(labels, "com.docker.compose.service", json_string(service));
	json_object_set_new(labels, "com.docker.compose.container-number", json_string(num));
	json_object_set_new(labels, "com.docker.compose.oneoff", json_string("False"));
	if (hash != NULL)
		json_object_set_new(labels, "com.docker.compose.config-hash", json_string(hash));
	if (image != NULL)
		json_object_set_new(labels, "com.docker.compose.image", json_string(image));
	return json_pack("{s:s, s:[s], s:s, s:s, s:o}", "Id", id, "Names", name, "State", state,
			 "Status", status, "Labels", labels);
}

struct plan_case {
	const char *name;
	struct stack_plan_opts opts;
	bool oneshot;
	const char *image_id;        /* expected image of "app", or NULL */
	json_t *(*containers)(void); /* the observed list */
	enum stack_action want;
	const char *want_id;  /* the container kept/recreated, or NULL */
	const char *want_why; /* RECREATE's reason, or NULL */
};

static json_t *none(void)
{
	return json_array();
}

static json_t *running_same(void)
{
	return json_pack("[o]", ctr("c1", "app", 1, "running", "Up 3 minutes", H1, "sha256:i1"));
}

static json_t *running_changed(void)
{
	return json_pack("[o]", ctr("c1", "app", 1, "running", "Up 3 minutes", H2, "sha256:i1"));
}

static json_t *exited_same(void)
{
	return json_pack("[o]",
			 ctr("c1", "app", 1, "exited", "Exited (0) 1 minute ago", H1, "sha256:i1"));
}

static json_t *exited_failed(void)
{
	return json_pack("[o]",
			 ctr("c1", "app", 1, "exited", "Exited (3) 1 minute ago", H1, "sha256:i1"));
}

static json_t *created_same(void)
{
	return json_pack("[o]", ctr("c1", "app", 1, "created", "Created", H1, "sha256:i1"));
}

static json_t *dead_same(void)
{
	return json_pack("[o]", ctr("c1", "app", 1, "dead", "Dead", H1, "sha256:i1"));
}

static json_t *no_hash_label(void)
{
	return json_pack("[o]", ctr("c1", "app", 1, "running", "Up", NULL, NULL));
}

static json_t *two_replicas(void)
{
	return json_pack("[o,o]", ctr("c2", "app", 2, "running", "Up", H1, "sha256:i1"),
			 ctr("c1", "app", 1, "running", "Up", H2, "sha256:i1"));
}

static json_t *oneoff_only(void)
{
	json_t *c = ctr("r1", "app", 1, "running", "Up", H1, "sha256:i1");

	json_object_set_new(json_object_get(c, "Labels"), "com.docker.compose.oneoff",
			    json_string("True"));
	return json_pack("[o]", c);
}

static const struct plan_case plan_cases[] = {
    {"nothing there: create", {0}, false, "sha256:i1", none, STACK_ACTION_CREATE, NULL, NULL},
    {"same and running: keep",
     {0},
     false,
     "sha256:i1",
     running_same,
     STACK_ACTION_KEEP,
     "c1",
     NULL},
    {"config changed: recreate",
     {0},
     false,
     "sha256:i1",
     running_changed,
     STACK_ACTION_RECREATE,
     "c1",
     "config changed"},
    {"image changed: recreate",
     {0},
     false,
     "sha256:i2",
     running_same,
     STACK_ACTION_RECREATE,
     "c1",
     "image changed"},
    {"image not compared when unknown",
     {0},
     false,
     NULL,
     running_same,
     STACK_ACTION_KEEP,
     "c1",
     NULL},
    {"forced: recreate",
     {.force_recreate = true},
     false,
     "sha256:i1",
     running_same,
     STACK_ACTION_RECREATE,
     "c1",
     "forced"},
    {"no-recreate keeps a changed one",
     {.no_recreate = true},
     false,
     "sha256:i1",
     running_changed,
     STACK_ACTION_KEEP,
     "c1",
     NULL},
    {"stopped: start", {0}, false, "sha256:i1", exited_same, STACK_ACTION_START, "c1", NULL},
    {"created, never started: start",
     {0},
     false,
     "sha256:i1",
     created_same,
     STACK_ACTION_START,
     "c1",
     NULL},
    {"one-shot done with 0: complete",
     {0},
     true,
     "sha256:i1",
     exited_same,
     STACK_ACTION_KEEP,
     "c1",
     NULL},
    {"one-shot that failed: start again",
     {0},
     true,
     "sha256:i1",
     exited_failed,
     STACK_ACTION_START,
     "c1",
     NULL},
    {"dead: recreate",
     {0},
     false,
     "sha256:i1",
     dead_same,
     STACK_ACTION_RECREATE,
     "c1",
     "not usable"},
    {"no hash label (not ours): recreate",
     {0},
     false,
     NULL,
     no_hash_label,
     STACK_ACTION_RECREATE,
     "c1",
     "config changed"},
    {"replicas: the up-to-date one is kept",
     {0},
     false,
     "sha256:i1",
     two_replicas,
     STACK_ACTION_KEEP,
     "c2",
     NULL},
    {"one-offs are not the service's container",
     {0},
     false,
     "sha256:i1",
     oneoff_only,
     STACK_ACTION_CREATE,
     NULL,
     NULL},
};

static void test_plan_decisions(void **state)
{
	struct compose_project *p = project("app;db");

	(void)state;
	for (size_t i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		const struct plan_case *c = &plan_cases[i];
		struct stack_expect e = {.service = compose_project_service(p, "app"),
					 .hash = H1,
					 .image_id = c->image_id,
					 .oneshot = c->oneshot};
		struct px_error err = PX_ERROR_INIT;
		struct stack_plan *plan = NULL;
		json_t *list = c->containers();

		if (stack_plan_make(&plan, p, &e, 1, list, &c->opts, &err) < 0)
			fail_msg("case '%s': %s", c->name, px_error_msg(&err));
		if (plan->items[0].action != c->want)
			fail_msg("case '%s': want %s, got %s", c->name, stack_action_name(c->want),
				 stack_action_name(plan->items[0].action));
		if (c->want_id != NULL &&
		    (plan->items[0].id == NULL || strcmp(plan->items[0].id, c->want_id) != 0))
			fail_msg("case '%s': want container %s, got %s", c->name, c->want_id,
				 plan->items[0].id ? plan->items[0].id : "none");
		if (c->want_why != NULL &&
		    (plan->items[0].why == NULL || strcmp(plan->items[0].why, c->want_why) != 0))
			fail_msg("case '%s': want reason '%s', got '%s'", c->name, c->want_why,
				 plan->items[0].why ? plan->items[0].why : "none");
		stack_plan_free(plan);
		json_decref(list);
	}
	project_free(p);
}

/* The create name and number; surplus replicas removed; orphans reported, one-offs not. */
static void test_plan_surplus_and_orphans(void **state)
{
	struct compose_project *p = project("app;db");
	struct stack_expect e[2] = {
	    {.service = compose_project_service(p, "app"), .hash = H1},
	    {.service = compose_project_service(p, "db"), .hash = H1},
	};
	struct stack_plan_opts o = {0};
	struct px_error err = PX_ERROR_INIT;
	struct stack_plan *plan = NULL;
	json_t *oneoff = ctr("r1", "gone", 1, "running", "Up", H1, NULL);
	json_t *list;

	(void)state;
	json_object_set_new(json_object_get(oneoff, "Labels"), "com.docker.compose.oneoff",
			    json_string("True"));
	list = json_pack("[o,o,o,o]", ctr("a1", "app", 1, "running", "Up", H1, NULL),
			 ctr("a2", "app", 2, "running", "Up", H1, NULL),
			 ctr("w1", "worker", 1, "exited", "Exited (0)", H1, NULL), oneoff);
	assert_int_equal(stack_plan_make(&plan, p, e, 2, list, &o, &err), 0);
	assert_int_equal(plan->n, 3);
	assert_int_equal(plan->items[0].action, STACK_ACTION_KEEP);
	assert_string_equal(plan->items[0].id, "a1");
	assert_int_equal(plan->items[1].action, STACK_ACTION_CREATE);
	assert_string_equal(plan->items[1].name, "demo-db-1");
	assert_int_equal(plan->items[1].number, 1);
	assert_null(plan->items[1].id);
	assert_int_equal(plan->items[2].action, STACK_ACTION_REMOVE);
	assert_string_equal(plan->items[2].id, "a2");
	assert_int_equal(plan->norphans, 1);
	assert_string_equal(plan->orphans[0].id, "w1");
	assert_string_equal(plan->orphans[0].name, "demo-worker-1");
	assert_string_equal(plan->orphans[0].service, "worker");
	stack_plan_free(plan);
	json_decref(list);
	project_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_oneshot),
	    cmocka_unit_test(test_plan_decisions),
	    cmocka_unit_test(test_plan_surplus_and_orphans),
	};

	return cmocka_run_group_tests_name("stack_plan", tests, NULL, NULL);
}
