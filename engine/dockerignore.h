/* dockerignore.h - private to engine/: .dockerignore files read and matched the way the docker
 * CLI does, ported from github.com/moby/patternmatcher (patternmatcher.go, ignorefile/). */
#ifndef PX_ENGINE_DOCKERIGNORE_H
#define PX_ENGINE_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* How one pattern is matched, decided when it is compiled (as moby's matchType): a pattern
 * without wildcards compares equal; a literal part then two stars at the end is a prefix;
 * two stars at the start then a literal part is a suffix; anything else goes through the
 * general matcher. */
enum engine_ignore_type {
	ENGINE_IGNORE_EXACT = 1,
	ENGINE_IGNORE_PREFIX,
	ENGINE_IGNORE_SUFFIX,
	ENGINE_IGNORE_GLOB, /* moby's regexpMatch */
};

/* The patterns of a .dockerignore file (ignorefile.ReadAll): a UTF-8 BOM dropped, lines
 * starting with '#' skipped, whitespace trimmed, empty lines skipped, each pattern
 * cleaned (Go's filepath.Clean) with a leading '/' dropped, a '!' kept in front.
 * NULL-terminated, owned: engine_ignore_strv_free(). */
char **engine_ignore_parse(const char *text, size_t len);
void engine_ignore_strv_free(char **v);

/* Compiled patterns (patternmatcher.New). */
struct engine_ignore;

/* Compile patterns (NULL-terminated): each trimmed and cleaned, empty ones skipped; "!"
 * alone and malformed patterns ("[", "a[", "[]", "[x-]", a trailing '\\', a range
 * backwards) are errors naming the pattern. */
int engine_ignore_new(struct engine_ignore **out, const char *const *patterns,
		      struct px_error *err);
void engine_ignore_free(struct engine_ignore *m);

size_t engine_ignore_count(const struct engine_ignore *m);
/* Whether any pattern is an exception ("!..."). */
bool engine_ignore_exclusions(const struct engine_ignore *m);
/* Pattern i cleaned, without its '!' (borrowed). */
const char *engine_ignore_pattern(const struct engine_ignore *m, size_t i);
bool engine_ignore_is_exclusion(const struct engine_ignore *m, size_t i);
enum engine_ignore_type engine_ignore_type(const struct engine_ignore *m, size_t i);

/* path ('/'-separated, relative, clean) is excluded: matched by a pattern and not
 * re-included by a later exception.  MatchesExact: path itself only. */
bool engine_ignore_matches_exact(const struct engine_ignore *m, const char *path);
/* MatchesOrParentMatches: a pattern also applies when it matches a parent directory. */
bool engine_ignore_matches_or_parent(const struct engine_ignore *m, const char *path);
/* MatchesUsingParentResults, for a walk: parent (engine_ignore_count() entries) holds what
 * the parent directory's call stored in out, or is NULL at the top (then parents are
 * matched here).  out (may be NULL) receives this path's per-pattern results. */
bool engine_ignore_matches_parents(const struct engine_ignore *m, const char *path,
				   const bool *parent, bool *out);

#endif
