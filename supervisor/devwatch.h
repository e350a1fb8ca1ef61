/* devwatch.h - private to supervisor/: docker compose's develop.watch (sync, rebuild, restart,
 * sync+restart, sync+exec) with compose's meaning, after pkg/compose/watch.go and
 * internal/sync/tar.go of github.com/docker/compose. */
#ifndef PX_SUPERVISOR_DEVWATCH_H
#define PX_SUPERVISOR_DEVWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "stack/stack.h"
#include "watcher/watcher.h"

/*
 * The rules of a project compiled once: each service's develop.watch entries with their
 * ignore and include patterns, the .dockerignore of the service's build context, and
 * compose's editor-temporary patterns.  p is borrowed and must outlive it.  After
 * sup_devwatch_new() it is only read, so sup_devwatch_wants() may run on the watcher
 * thread while the loop thread plans.
 *
 * A path counts for a rule (compose's watchRule.Matches) when it is the rule's path or
 * lies under it, is matched by include (when given; patterns relative to the rule's
 * path), and is not ignored: not by the rule's ignore patterns (relative to its path),
 * not by the service's .dockerignore (<dockerfile>.dockerignore, else .dockerignore, of
 * its build context, relative to the context), not by the editor temporaries.  Pattern
 * syntax and matching are .dockerignore's, with a parent match counting (moby's
 * MatchesOrParentMatches); an ignore list that holds "*" keeps only its "!" exceptions,
 * as compose's NewDockerPatternMatcher does.
 */
struct sup_devwatch;

/* Compile the rules of p.  Fails on a malformed pattern or an unreadable .dockerignore
 * (naming the service and the pattern or file) and, as compose, on a rebuild rule of a
 * service without build:.  Sync rules whose path a bind mount of the service already
 * shares are warned about and not watched (sup_devwatch_roots), as compose does. */
int sup_devwatch_new(struct sup_devwatch **out, const struct compose_project *p,
		     struct px_error *err);
void sup_devwatch_free(struct sup_devwatch *dw); /* NULL-safe */

/* The number of rules (every service's develop.watch entries). */
size_t sup_devwatch_nrules(const struct sup_devwatch *dw);

/* What the watcher watches: the rules' paths, each once (borrowed; *n gets the count).
 * dir is true for a directory, or a path that does not exist yet. */
const struct watcher_root *sup_devwatch_roots(const struct sup_devwatch *dw, size_t *n);

/* True when some rule counts abs_path (absolute, clean).  Reads dw only and allocates
 * nothing that outlives the call: safe from any thread. */
bool sup_devwatch_wants(const struct sup_devwatch *dw, const char *abs_path);
/* The same as a watcher_opts.want callback (data is the struct sup_devwatch). */
bool sup_devwatch_want_fn(void *data, const char *abs_path);

/*
 * Planning: what a batch of changes means, service by service.
 */

struct sup_devwatch_sync {
	char *host;      /* absolute host path */
	char *container; /* absolute path in the container */
	bool exists;     /* false: removed on the host, so removed in the container */
	size_t rule;     /* the rule that mapped it (its index among all rules) */
};

struct sup_devwatch_action {
	const char *service; /* borrowed from the project */
	bool rebuild;        /* build the image, recreate the container */
	bool restart;        /* restart the service's containers */
	struct sup_devwatch_sync *syncs;
	size_t nsyncs;
	const struct compose_watch **execs; /* sync+exec hooks to run, in rule order, once each
					       (borrowed from the project) */
	size_t nexecs;
};

struct sup_devwatch_plan {
	struct sup_devwatch_action *v; /* services in the project's (name) order */
	size_t n;
};

/*
 * As compose's handleWatchBatch: every change is offered to every rule (of every
 * service), and each rule that counts it adds its action: rebuild marks the service for a
 * rebuild, restart for a restart, sync adds a path mapping (container path = target +
 * the path relative to the rule's path), sync+restart both, sync+exec a mapping and the
 * rule's exec hook.  Applied in that order: rebuild, syncs (removals, then copies),
 * restart, exec hooks.  A rebuild does not drop the syncs, restart or hooks of the same
 * batch (compose since v2.31 runs them all; it used to stop at the rebuild).
 * With b->overflow (events were lost) every rule counts as triggered, a sync rule as a
 * sync of its whole path (nothing is removed for a path that is gone).
 * out is released with sup_devwatch_plan_release().  Reads the filesystem only on
 * overflow (whether a rule's path exists).
 */
int sup_devwatch_plan(const struct sup_devwatch *dw, const struct watcher_batch *b,
		      struct sup_devwatch_plan *out, struct px_error *err);
void sup_devwatch_plan_release(struct sup_devwatch_plan *pl);

/*
 * The tar of the syncs that exist (appended to *tar), to be extracted at "/": each entry
 * named by its container path without the leading '/'; regular files with their mode,
 * owner and contents, symlinks as symlinks (not followed), directories with their tree,
 * in name order, skipping what their rule does not count (with dw NULL: nothing is
 * skipped).  A path gone by now is skipped, as compose does.
 */
int sup_devwatch_tar(const struct sup_devwatch *dw, const struct sup_devwatch_sync *syncs, size_t n,
		     struct px_buf *tar, struct px_error *err);

/*
 * Carry out one service's action against the engine: rebuild (stack_build, then stack_up
 * of the service, which recreates it on its new image), syncs into each of the service's
 * containers (removals with `rm -rf` run in the running ones, copies as one tar extracted
 * at "/" with the container user's ownership), restart (stack_restart), then each exec
 * hook in every running container, its output logged under the service's name.  Stops at
 * the first failure, which names the service.
 */
int sup_devwatch_apply(const struct sup_devwatch *dw, struct engine *e, struct stack *st,
		       const struct sup_devwatch_action *a, struct px_error *err);

#endif
