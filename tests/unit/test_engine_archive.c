/* test_engine_archive.c - engine_tar_single_file(): the one entry of a tar the engine's
 * GET archive returns, read from memory -- a regular file (binary-safe, larger than one
 * read), a symlink's target, a directory, and broken or empty input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/xmalloc.h"
#include "engine/engine.h"

/* A tar of one entry (type AE_IFREG, AE_IFLNK or AE_IFDIR) named name, built in memory
 * with libarchive's writer as the engine would send it (pax). */
static void make_tar(struct px_buf *out, const char *name, unsigned type, const void *data,
		     size_t len, const char *link)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap = 1 << 20, used = 0;
	char *mem = xmalloc(cap);

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	archive_entry_copy_pathname(e, name);
	archive_entry_set_mode(e, type | (type == AE_IFDIR ? 0755 : 0644));
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	if (link != NULL)
		archive_entry_copy_symlink(e, link);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (type == AE_IFREG && len > 0)
		assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	px_buf_add(out, mem, used);
	free(mem);
}

static void test_regular_file(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf tar = PX_BUF_INIT, out = PX_BUF_INIT;
	size_t n = 100000; /* several reads of the 16 KiB buffer */
	char *data = xmalloc(n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7); /* NULs included */
	make_tar(&tar, "index.js", AE_IFREG, data, n, NULL);
	px_buf_adds(&out, "kept:");
	assert_int_equal(engine_tar_single_file(tar.data, tar.len, &out, &err), 0);
	assert_int_equal(out.len, 5 + n);
	assert_memory_equal(out.data, "kept:", 5);
	assert_memory_equal(out.data + 5, data, n);

	/* an empty file */
	px_buf_reset(&tar);
	px_buf_reset(&out);
	make_tar(&tar, "package.json", AE_IFREG, "", 0, NULL);
	assert_int_equal(engine_tar_single_file(tar.data, tar.len, &out, &err), 0);
	assert_int_equal(out.len, 0);
	free(data);
	px_buf_release(&tar);
	px_buf_release(&out);
}

static void test_link_and_dir(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf tar = PX_BUF_INIT, out = PX_BUF_INIT;

	(void)state;
	make_tar(&tar, "client", AE_IFLNK, NULL, 0, "../.pnpm/client@6/node_modules/client");
	assert_int_equal(engine_tar_single_file(tar.data, tar.len, &out, &err), 1);
	assert_string_equal(px_buf_cstr(&out), "../.pnpm/client@6/node_modules/client");
	px_buf_reset(&tar);
	px_buf_reset(&out);
	make_tar(&tar, "client/", AE_IFDIR, NULL, 0, NULL);
	assert_int_equal(engine_tar_single_file(tar.data, tar.len, &out, &err), 2);
	assert_int_equal(out.len, 0);
	px_buf_release(&tar);
	px_buf_release(&out);
}

static void test_broken(void **state)
{
	struct px_error err = PX_ERROR_INIT;
	struct px_buf tar = PX_BUF_INIT, out = PX_BUF_INIT;
	static const char junk[] = "this is not a tar archive at all, not even close............";

	(void)state;
	assert_int_equal(engine_tar_single_file(junk, sizeof(junk), &out, &err), -1);
	assert_non_null(strstr(px_error_msg(&err), "cannot read the archive"));
	px_error_clear(&err);
	/* an archive with no entry: two zero blocks */
	{
		char *zeros = xcalloc(1, 1024);

		assert_int_equal(engine_tar_single_file(zeros, 1024, &out, &err), -1);
		assert_non_null(strstr(px_error_msg(&err), "empty"));
		px_error_clear(&err);
		free(zeros);
	}
	/* a file cut short */
	make_tar(&tar, "index.js", AE_IFREG, "0123456789", 10, NULL);
	assert_int_equal(engine_tar_single_file(tar.data, 520, &out, &err), -1);
	px_error_clear(&err);
	px_buf_release(&tar);
	px_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regular_file),
	    cmocka_unit_test(test_link_and_dir),
	    cmocka_unit_test(test_broken),
	};

	return cmocka_run_group_tests_name("engine_archive", tests, NULL, NULL);
}
