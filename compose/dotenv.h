/* dotenv.h - .env files read exactly as docker compose reads them (compose-go v2's dotenv
 * package): export, KEY=, bare KEY, comments, quotes, escapes and interpolation. */
#ifndef PX_COMPOSE_DOTENV_H
#define PX_COMPOSE_DOTENV_H

#include <stddef.h>

#include "base/base.h"
#include "compose/compose.h"
#include "compose/interp.h"

/*
 * Parse the env file text[0, len) (file names it in errors) and set every variable it
 * defines into out (compose_map_set: appended, or replaced in place), in file order.
 * On failure out is left untouched.
 *
 * The syntax is compose-go's: a UTF-8 BOM is skipped; "KEY=value", "KEY: value" and
 * "export KEY=value"; keys are letters, digits, '_', '.', '-', '[' and ']'; "#" starts a
 * comment line, and " #" an inline comment after an unquoted value; unquoted values are
 * trimmed and interpolated; '...' is literal and may span lines; "..." may span lines, has
 * its escapes expanded (\n \t \\ \" \$ \0ooo ... as compose-go) and is interpolated; a
 * backslash keeps a quote from closing either kind.  A bare "KEY" takes env's value of
 * KEY, and defines nothing when env has none.
 *
 * ${VAR} in a value looks VAR up in env first, then among the keys this file defined
 * earlier: compose-go's order (dotenv.ExpandVariables).  To read .env files as docker
 * compose does, env should answer from the process environment, then from the env files
 * read before this one.  Unset variables go to env->on_unset.
 *
 * Errors read "<file>:<line>: <what>", with compose-go's wording and the line the
 * statement starts on (compose-go's own counter can be off):
 *   unexpected character "%" in variable name "%x=1"
 *   key cannot contain a space
 *   unterminated quoted value "abc          (the line where the value opens)
 *   <an interp_string error>
 * A NUL byte is an error too (compose-go would keep it; C strings cannot).
 */
int dotenv_parse(const char *file, const char *text, size_t len, const struct interp_env *env,
		 struct compose_map *out, struct px_error *err);

/* Read path (at most 64 MiB) and dotenv_parse() it; path names the file in errors.
 * A missing file is an error with errnum ENOENT, for callers to whom it is not one. */
int dotenv_load_file(const char *path, const struct interp_env *env, struct compose_map *out,
		     struct px_error *err);

#endif
