/* test_watcher_ignore.c - the watcher's ignore rules: every editor temporary it knows,
 * and the near misses (real project files) that must keep triggering a sync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "watcher/watcher.h"

struct name_case {
	const char *name;
	bool want;
	const char *why;
};

static const struct name_case editor_temp_cases[] = {
    /* vim swap files and their count-down family */
    {".schema.prisma.swp", true, "vim swap"},
    {".schema.prisma.swo", true, "vim second swap"},
    {".schema.prisma.swn", true, "vim third swap"},
    {".x.swa", true, "vim 16th swap, end of .sw[a-p]"},
    {".env.swp", true, "vim swap of a dotfile (no second dot)"},
    {".schema.prisma.swx", true, "vim 8.3 probe, name with a dot"},
    {".Makefile.swpx", true, "vim 8.3 probe, name without a dot"},
    {".x.swq", false, "past .swp: vim never counts up"},
    {".x.svz", false, ".s[a-v]? deliberately not matched"},
    {".seed.sql", false, "hidden SQL file, looks like .s??"},
    {".logo.svg", false, "hidden SVG, looks like .s??"},
    {"notes.swp", false, "vim prepends a dot in the same directory"},
    {".swp", false, "no file name before the extension"},
    {"swp", false, "a file named swp"},
    {"x.swpfile", false, "swp not at the end"},
    {".x.swpxx", false, "probe suffix plus junk"},
    /* vim's write probe: 4913 + 123k */
    {"4913", true, "vim write probe, first try"},
    {"5036", true, "vim write probe, second try"},
    {"5159", true, "vim write probe, third try"},
    {"17213", true, "vim write probe, 101st try"},
    {"4914", false, "number off the sequence"},
    {"2024", false, "a numeric data file"},
    {"04913", false, "%d never writes a leading zero"},
    {"4913a", false, "not all digits"},
    /* backups */
    {"schema.prisma~", true, "vim / emacs backup"},
    {"schema.prisma.~3~", true, "emacs numbered backup"},
    {"~", false, "a lone tilde backs up nothing"},
    {"~schema.prisma", false, "tilde at the front"},
    /* emacs */
    {"#schema.prisma#", true, "emacs auto-save"},
    {".#schema.prisma", true, "emacs lock link"},
    {"##", false, "too short for an auto-save"},
    {"#schema.prisma", false, "no closing #"},
    {".#", false, "lock link without a name"},
    /* JetBrains safe write */
    {"schema.prisma___jb_tmp___", true, "JetBrains new content"},
    {"schema.prisma___jb_old___", true, "JetBrains old content"},
    {"___jb_tmp___", false, "suffix without a file name"},
    {"schema___jb_tmp___.prisma", false, "marker not at the end"},
    /* Kate */
    {".schema.prisma.kate-swp", true, "kate swap"},
    {"schema.prisma.kate-swp", false, "kate always prepends a dot"},
    /* VS Code atomic write */
    {"settings.json.vsctmp", true, "VS Code atomic write"},
    {".vsctmp", false, "postfix without a file name"},
    /* GIO (gedit) */
    {".goutputstream-AB12cd", true, "GIO replace temp"},
    {".goutputstream-ABC", false, "mkstemp always fills six"},
    {".goutputstream-AB_2cd", false, "mkstemp uses letters and digits only"},
    /* real project files */
    {"schema.prisma", false, "the schema itself"},
    {"migration.sql", false, "a migration"},
    {"prisma.config.ts", false, "the prisma config"},
    {".env", false, "env file"},
    {".DS_Store", false, "Finder metadata is not an editor temp"},
    {".gitignore", false, "dotfile"},
    {"", false, "empty name"},
};

static void test_editor_temp_table(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(editor_temp_cases) / sizeof(editor_temp_cases[0]); i++) {
		const struct name_case *c = &editor_temp_cases[i];
		bool got = watcher_is_editor_temp(c->name);

		if (got != c->want) {
			print_error("watcher_is_editor_temp(\"%s\") = %d, want %d (%s)\n", c->name,
				    got, c->want, c->why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_editor_temp_null(void **state)
{
	(void)state;
	assert_false(watcher_is_editor_temp(NULL));
}

static const struct name_case vcs_cases[] = {
    {".git", true, "git"},
    {".hg", true, "mercurial"},
    {".svn", true, "subversion"},
    {".github", false, "GitHub config is project content"},
    {"git", false, "no dot"},
    {".gitignore", false, "a file, not the metadata dir"},
    {".git2", false, "prefix only"},
    {".GIT", false, "Linux names are case-sensitive"},
    {"", false, "empty"},
};

static void test_vcs_dir_table(void **state)
{
	size_t failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(vcs_cases) / sizeof(vcs_cases[0]); i++) {
		const struct name_case *c = &vcs_cases[i];
		bool got = watcher_is_vcs_dir(c->name);

		if (got != c->want) {
			print_error("watcher_is_vcs_dir(\"%s\") = %d, want %d (%s)\n", c->name, got,
				    c->want, c->why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	assert_false(watcher_is_vcs_dir(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_editor_temp_table),
	    cmocka_unit_test(test_editor_temp_null),
	    cmocka_unit_test(test_vcs_dir_table),
	};

	return cmocka_run_group_tests_name("watcher_ignore", tests, NULL, NULL);
}
