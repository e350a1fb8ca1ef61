/* prisma.h - the public header of prisma/: what prisync knows about a Prisma project --
 * where its schema is (later: generator outputs, client staleness, migrations folder). */
#ifndef PX_PRISMA_H
#define PX_PRISMA_H

#include <stdbool.h>

#include "base/error.h"

/*
 * Ownership: every char ** result is owned by the caller (free()); it is NULL whenever
 * the function does not return 0.  Input strings are only read.
 */

/*
 * Find the Prisma schema of the project in project_dir.
 *
 * With explicit_path (a file, or a folder of *.prisma files; relative to project_dir
 * unless absolute) that path must exist, else the error names it.  Without it, the
 * first that exists of:
 *   1. the literal `schema` of prisma.config.ts (relative to project_dir, where the
 *      config lives); a config whose schema is not a plain string literal is passed
 *      over, one naming a missing path is passed over with a warning;
 *   2. prisma/schema.prisma;
 *   3. schema.prisma.
 * Returns 0 with *out_path = project_dir joined with the path found (lexically
 * cleaned) and *is_dir telling a schema folder from a file; 1 with *out_path NULL when
 * none exists (not an error); -1 on an error (missing explicit path, unreadable or
 * malformed prisma.config.ts).
 */
int prisma_schema_find(const char *project_dir, const char *explicit_path, char **out_path,
		       bool *is_dir, struct px_error *err);

/*
 * The pure part: the `schema` property of the object passed to defineConfig(...) (or
 * of the object after `export default`) in the text of a prisma.config.ts, read
 * without evaluating any TypeScript.  Comments are skipped; the value counts only when
 * it is a single string literal ('...', "..." or a `...` without ${}).  Returns 0 with
 * *out set (escapes decoded), 1 with *out NULL when there is no such literal
 * (`schema: path.join(...)`, no schema property, no config object), -1 on an
 * unterminated string or comment, an empty path or an escape a path cannot use, with
 * the line and column in the message.
 */
int prisma_config_schema(const char *config_ts_text, char **out, struct px_error *err);

#endif
