/* ignore.c - the names the watcher never acts on: editors' save-time temporaries and
 * version-control metadata directories.  Every rule names the editor that writes it. */
#include "watcher/watcher.h"

#include <stddef.h>
#include <string.h>

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when s (of length len) ends with suffix and has at least min_stem bytes before it. */
static bool has_suffix(const char *s, size_t len, const char *suffix, size_t min_stem)
{
	size_t n = strlen(suffix);

	return len >= n + min_stem && memcmp(s + len - n, suffix, n) == 0;
}

/*
 * Vim's swap file for "x" in the same directory is ".x.swp"; when that one is taken it
 * counts down the last letter (".swo", ".swn", ... ".swa") and only after sixteen
 * concurrent swaps moves on to ".svz" (memline.c, findswapname()).  We stop at .sw[a-p]:
 * the full ".s[a-w][a-z]" range would swallow real hidden files such as ".seed.sql" or
 * ".logo.svg".  The same function briefly creates a probe beside the swap to detect 8.3
 * file systems: ".x.y.swx" when the edited name has a dot, else ".x.swpx".
 */
static bool is_vim_swap(const char *name, size_t len)
{
	char c;

	/* at least ".x" before the 4-byte extension */
	if (name[0] != '.' || len < 6)
		return false;
	if (has_suffix(name, len, ".swx", 2) || has_suffix(name, len, ".swpx", 2))
		return true;
	c = name[len - 1];
	return c >= 'a' && c <= 'p' && has_suffix(name, len - 1, ".sw", 2);
}

/*
 * Before overwriting a file in place, vim (and neovim) checks whether it may create a
 * file in that directory by creating and deleting one named after the first free
 * number in 4913, 5036, 5159, ... (bufwrite.c: `for (i = 4913; ; i += 123)`, printed
 * with "%d").  Matching that exact sequence, rather than any number, keeps a data file
 * named "2024" visible.
 */
static bool is_vim_write_probe(const char *name, size_t len)
{
	long v = 0;

	/* "%d" never writes a leading zero; 9 digits cannot overflow a long */
	if (len < 4 || len > 9 || name[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (name[i] - '0');
	}
	return v >= 4913 && (v - 4913) % 123 == 0;
}

/* GLib's g_file_replace() (gedit, GNOME Text Editor, Mousepad) writes the new content
 * to ".goutputstream-XXXXXX" (g_mkstemp: six ASCII letters or digits) and renames it
 * over the document (gio/glocalfileoutputstream.c, handle_overwrite_open()). */
static bool is_gio_temp(const char *name, size_t len)
{
	static const char prefix[] = ".goutputstream-";
	size_t n = sizeof(prefix) - 1;

	if (len != n + 6 || !has_prefix(name, prefix))
		return false;
	for (size_t i = n; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

bool watcher_is_editor_temp(const char *basename)
{
	size_t len;

	if (basename == NULL || basename[0] == '\0')
		return false;
	len = strlen(basename);

	if (is_vim_swap(basename, len) || is_vim_write_probe(basename, len))
		return true;
	/* vim's backup ('backupext' defaults to "~"), emacs' "x~" and numbered "x.~1~" */
	if (len >= 2 && basename[len - 1] == '~')
		return true;
	/* emacs: auto-save "#x#" and the lock symlink ".#x" (filelock.c) */
	if (len >= 3 && basename[0] == '#' && basename[len - 1] == '#')
		return true;
	if (len >= 3 && has_prefix(basename, ".#"))
		return true;
	/* JetBrains IDEs' "safe write": write "x___jb_tmp___", move x to "x___jb_old___",
	 * rename the tmp onto x, delete the old one */
	if (has_suffix(basename, len, "___jb_tmp___", 1) ||
	    has_suffix(basename, len, "___jb_old___", 1))
		return true;
	/* Kate / KTextEditor swap file: ".x.kate-swp" */
	if (basename[0] == '.' && has_suffix(basename, len, ".kate-swp", 2))
		return true;
	/* VS Code's atomic writes go through "<name>.vsctmp" then a rename
	 * (src/vs/platform/userData/common/fileUserDataProvider.ts: atomic: { postfix:
	 * '.vsctmp' }).  Its document saves write in place, so there is no ".x.tmp.N"
	 * pattern to match: none appears in VS Code's source. */
	if (has_suffix(basename, len, ".vsctmp", 1))
		return true;
	return is_gio_temp(basename, len);
}

bool watcher_is_vcs_dir(const char *basename)
{
	static const char *const dirs[] = {".git", ".hg", ".svn"};

	if (basename == NULL)
		return false;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (strcmp(basename, dirs[i]) == 0)
			return true;
	}
	return false;
}
