/* lazy.c - libpq, libgit2 and libarchive loaded on first use, not at start-up.
 *
 * Linking them makes the dynamic loader map and relocate some 45 libraries (Kerberos,
 * LDAP, GnuTLS, ICU, libstdc++ ...) before main(): ~7 ms of every run, most of what
 * `prisync ps` costs.  So the binary does not link them: each function prisync calls is
 * defined here, with the prototype of the library's own header (the compiler checks it),
 * as a trampoline that dlopen()s the library once (by the soname the Makefile found at
 * build time) and jumps to the real function.  Callers are unchanged.
 *
 * A function of these libraries used anywhere new needs its line below; forgetting it is
 * an "undefined reference" at link time, never a silent fallback.  The executable does
 * not export these definitions (no -rdynamic), so the libraries' internal calls never
 * land here.  When a library cannot be loaded the process exits with a message naming
 * it and the package to install: there is no meaningful result to return instead.
 */
#include "base/adapters.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <git2.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef PX_SONAME_PQ
#define PX_SONAME_PQ "libpq.so.5"
#endif
#ifndef PX_SONAME_GIT2
#define PX_SONAME_GIT2 "libgit2.so.1.5"
#endif
#ifndef PX_SONAME_ARCHIVE
#define PX_SONAME_ARCHIVE "libarchive.so.13"
#endif

struct lazy_lib {
	const char *soname;
	const char *package; /* the Debian package that ships it */
	pthread_mutex_t lock;
	void *handle;
	unsigned gen; /* bumped by an unload: every cached function pointer is stale */
};

static struct lazy_lib lib_pq = {PX_SONAME_PQ, "libpq5", PTHREAD_MUTEX_INITIALIZER, NULL, 0};
static struct lazy_lib lib_git2 = {PX_SONAME_GIT2, "libgit2-1.5", PTHREAD_MUTEX_INITIALIZER,
				   NULL, 0};
static struct lazy_lib lib_archive = {PX_SONAME_ARCHIVE, "libarchive13",
				      PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static void lazy_die(const struct lazy_lib *l, const char *what)
{
	fprintf(stderr, "prisync: error: cannot load %s: %s (install the package %s)\n",
		l->soname, what != NULL ? what : "unknown error", l->package);
	exit(1);
}

/* The macros below paste names and types: their arguments cannot be parenthesised. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LAZY_OPEN(l)                                                                               \
	static void open_##l(void)                                                                 \
	{                                                                                          \
		/* RTLD_LOCAL: its symbols stay out of the global scope */                         \
		l.handle = dlopen(l.soname, RTLD_NOW | RTLD_LOCAL);                                \
	}
LAZY_OPEN(lib_pq)
LAZY_OPEN(lib_archive)

/*
 * libgit2 initialises libssh2 (git_libgit2_init -> libssh2_init(0)), and libssh2 then
 * initialises all of OpenSSL's algorithms and engines: 1.4 MiB of libcrypto that stays
 * resident in a supervisor that only asks libgit2 about .gitignore.  prisync never uses
 * git's SSH transport, so the first libssh2_init is ours, with LIBSSH2_INIT_NO_CRYPTO
 * (libssh2 initialises its crypto on the first call only).  A libgit2 without libssh2
 * is left alone.
 */
static void open_lib_git2(void)
{
	void *ssh2;

	lib_git2.handle = dlopen(lib_git2.soname, RTLD_NOW | RTLD_LOCAL);
	if (lib_git2.handle == NULL)
		return;
	ssh2 = dlopen("libssh2.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (ssh2 != NULL) {
		int (*ssh2_init)(int) = (int (*)(int))dlsym(ssh2, "libssh2_init");

		if (ssh2_init != NULL)
			ssh2_init(0x0001 /* LIBSSH2_INIT_NO_CRYPTO */);
		dlclose(ssh2); /* libgit2 keeps it loaded */
	}
}

static void *lazy_sym(struct lazy_lib *l, void (*open_fn)(void), const char *name)
{
	void *sym, *handle;

	pthread_mutex_lock(&l->lock);
	if (l->handle == NULL)
		open_fn();
	handle = l->handle;
	pthread_mutex_unlock(&l->lock);
	if (handle == NULL)
		lazy_die(l, dlerror());
	sym = dlsym(handle, name);
	if (sym == NULL)
		lazy_die(l, dlerror());
	return sym;
}

/* The resolved pointer is cached with the library's generation; two threads resolving at
 * once store the same value.  After an unload the generation differs: resolved again. */
#define LAZY_RESOLVE(l, name)                                                                      \
	static __typeof__(&name) fn;                                                               \
	static unsigned fn_gen;                                                                    \
	unsigned g = __atomic_load_n(&l.gen, __ATOMIC_ACQUIRE);                                    \
	__typeof__(&name) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);                              \
	if (f == NULL || __atomic_load_n(&fn_gen, __ATOMIC_ACQUIRE) != g) {                        \
		f = (__typeof__(&name))lazy_sym(&l, open_##l, #name);                              \
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);                                        \
		__atomic_store_n(&fn_gen, g, __ATOMIC_RELEASE);                                    \
	}

#define LAZY(l, ret, name, params, args)                                                           \
	ret name params                                                                            \
	{                                                                                          \
		LAZY_RESOLVE(l, name)                                                              \
		return f args;                                                                     \
	}

#define LAZY_VOID(l, name, params, args)                                                           \
	void name params                                                                           \
	{                                                                                          \
		LAZY_RESOLVE(l, name)                                                              \
		f args;                                                                            \
	}

// NOLINTEND(bugprone-macro-parentheses)

void px_lazy_unload_git2(void)
{
	pthread_mutex_lock(&lib_git2.lock);
	if (lib_git2.handle != NULL) {
		dlclose(lib_git2.handle);
		lib_git2.handle = NULL;
		__atomic_add_fetch(&lib_git2.gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lib_git2.lock);
}

/* ---- libpq (db/, base/adapters.c, cmd/version.c) ---- */
LAZY(lib_pq, int, PQlibVersion, (void), ())
LAZY(lib_pq, PGconn *, PQconnectdb, (const char *conninfo), (conninfo))
LAZY(lib_pq, PGconn *, PQconnectdbParams,
     (const char *const *keywords, const char *const *values, int expand_dbname),
     (keywords, values, expand_dbname))
LAZY(lib_pq, ConnStatusType, PQstatus, (const PGconn *conn), (conn))
LAZY(lib_pq, char *, PQerrorMessage, (const PGconn *conn), (conn))
LAZY(lib_pq, int, PQserverVersion, (const PGconn *conn), (conn))
LAZY_VOID(lib_pq, PQfinish, (PGconn * conn), (conn))
LAZY(lib_pq, PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query))
LAZY(lib_pq, PGresult *, PQexecParams,
     (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
      const char *const *paramValues, const int *paramLengths, const int *paramFormats,
      int resultFormat),
     (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
      resultFormat))
LAZY(lib_pq, int, PQsetnonblocking, (PGconn * conn, int arg), (conn, arg))
LAZY(lib_pq, int, PQsendQuery, (PGconn * conn, const char *query), (conn, query))
LAZY(lib_pq, int, PQsendQueryParams,
     (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
      const char *const *paramValues, const int *paramLengths, const int *paramFormats,
      int resultFormat),
     (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
      resultFormat))
LAZY(lib_pq, int, PQflush, (PGconn * conn), (conn))
LAZY(lib_pq, int, PQisBusy, (PGconn * conn), (conn))
LAZY(lib_pq, int, PQconsumeInput, (PGconn * conn), (conn))
LAZY(lib_pq, PGresult *, PQgetResult, (PGconn * conn), (conn))
LAZY(lib_pq, int, PQsocket, (const PGconn *conn), (conn))
LAZY(lib_pq, ExecStatusType, PQresultStatus, (const PGresult *res), (res))
LAZY(lib_pq, char *, PQresStatus, (ExecStatusType status), (status))
LAZY(lib_pq, char *, PQresultErrorMessage, (const PGresult *res), (res))
LAZY(lib_pq, char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
LAZY(lib_pq, int, PQntuples, (const PGresult *res), (res))
LAZY(lib_pq, int, PQnfields, (const PGresult *res), (res))
LAZY(lib_pq, char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
LAZY(lib_pq, char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
     (res, tup_num, field_num))
LAZY(lib_pq, int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),
     (res, tup_num, field_num))
LAZY_VOID(lib_pq, PQclear, (PGresult * res), (res))
LAZY(lib_pq, char *, PQescapeIdentifier, (PGconn * conn, const char *str, size_t len),
     (conn, str, len))
LAZY_VOID(lib_pq, PQfreemem, (void *ptr), (ptr))

/* ---- libgit2 (vcs/, base/adapters.c, cmd/version.c) ---- */
LAZY(lib_git2, int, git_libgit2_init, (void), ())
LAZY(lib_git2, int, git_libgit2_shutdown, (void), ())
LAZY(lib_git2, int, git_libgit2_version, (int *major, int *minor, int *rev),
     (major, minor, rev))
LAZY(lib_git2, const git_error *, git_error_last, (void), ())
LAZY(lib_git2, int, git_repository_open_ext,
     (git_repository * *out, const char *path, unsigned int flags, const char *ceiling_dirs),
     (out, path, flags, ceiling_dirs))
LAZY_VOID(lib_git2, git_repository_free, (git_repository * repo), (repo))
LAZY(lib_git2, const char *, git_repository_workdir, (const git_repository *repo), (repo))
LAZY(lib_git2, int, git_reference_lookup,
     (git_reference * *out, git_repository *repo, const char *name), (out, repo, name))
LAZY(lib_git2, int, git_reference_name_to_id,
     (git_oid * out, git_repository *repo, const char *name), (out, repo, name))
LAZY(lib_git2, git_reference_t, git_reference_type, (const git_reference *ref), (ref))
LAZY(lib_git2, const git_oid *, git_reference_target, (const git_reference *ref), (ref))
LAZY(lib_git2, const char *, git_reference_symbolic_target, (const git_reference *ref), (ref))
LAZY_VOID(lib_git2, git_reference_free, (git_reference * ref), (ref))
LAZY(lib_git2, char *, git_oid_tostr, (char *out, size_t n, const git_oid *id), (out, n, id))
LAZY(lib_git2, int, git_ignore_path_is_ignored,
     (int *ignored, git_repository *repo, const char *path), (ignored, repo, path))
LAZY(lib_git2, const char *, git_repository_path, (const git_repository *repo), (repo))
LAZY(lib_git2, const char *, git_repository_commondir, (const git_repository *repo), (repo))
LAZY(lib_git2, int, git_repository_index, (git_index * *out, git_repository *repo),
     (out, repo))
LAZY(lib_git2, size_t, git_index_entrycount, (const git_index *index), (index))
LAZY(lib_git2, const git_index_entry *, git_index_get_bypath,
     (git_index * index, const char *path, int stage), (index, path, stage))
LAZY(lib_git2, int, git_index_find_prefix, (size_t *at_pos, git_index *index, const char *prefix),
     (at_pos, index, prefix))
LAZY_VOID(lib_git2, git_index_free, (git_index * index), (index))
LAZY(lib_git2, int, git_status_options_init, (git_status_options * opts, unsigned int version),
     (opts, version))
LAZY(lib_git2, int, git_status_list_new,
     (git_status_list * *out, git_repository *repo, const git_status_options *opts),
     (out, repo, opts))
LAZY(lib_git2, size_t, git_status_list_entrycount, (git_status_list * statuslist), (statuslist))
LAZY(lib_git2, const git_status_entry *, git_status_byindex,
     (git_status_list * statuslist, size_t idx), (statuslist, idx))
LAZY_VOID(lib_git2, git_status_list_free, (git_status_list * statuslist), (statuslist))
LAZY(lib_git2, int, git_oid_fromstr, (git_oid * out, const char *str), (out, str))
LAZY(lib_git2, int, git_oid_cmp, (const git_oid *a, const git_oid *b), (a, b))
LAZY(lib_git2, int, git_commit_lookup, (git_commit * *commit, git_repository *repo,
     const git_oid *id), (commit, repo, id))
LAZY(lib_git2, int, git_commit_tree, (git_tree * *tree_out, const git_commit *commit),
     (tree_out, commit))
LAZY(lib_git2, unsigned int, git_commit_parentcount, (const git_commit *commit), (commit))
LAZY(lib_git2, const git_oid *, git_commit_parent_id, (const git_commit *commit, unsigned int n),
     (commit, n))
LAZY_VOID(lib_git2, git_commit_free, (git_commit * commit), (commit))
LAZY_VOID(lib_git2, git_tree_free, (git_tree * tree), (tree))
LAZY(lib_git2, int, git_diff_options_init, (git_diff_options * opts, unsigned int version),
     (opts, version))
LAZY(lib_git2, int, git_diff_find_options_init,
     (git_diff_find_options * opts, unsigned int version), (opts, version))
LAZY(lib_git2, int, git_diff_tree_to_tree,
     (git_diff * *diff, git_repository *repo, git_tree *old_tree, git_tree *new_tree,
      const git_diff_options *opts),
     (diff, repo, old_tree, new_tree, opts))
LAZY(lib_git2, int, git_diff_find_similar, (git_diff * diff, const git_diff_find_options *options),
     (diff, options))
LAZY(lib_git2, size_t, git_diff_num_deltas, (const git_diff *diff), (diff))
LAZY(lib_git2, const git_diff_delta *, git_diff_get_delta, (const git_diff *diff, size_t idx),
     (diff, idx))
LAZY_VOID(lib_git2, git_diff_free, (git_diff * diff), (diff))

/* ---- libarchive (engine/build.c) ---- */
LAZY(lib_archive, struct archive *, archive_write_new, (void), ())
LAZY(lib_archive, int, archive_write_set_format_pax_restricted, (struct archive * a), (a))
LAZY(lib_archive, int, archive_write_open,
     (struct archive * a, void *data, archive_open_callback *open_cb,
      archive_write_callback *write_cb, archive_close_callback *close_cb),
     (a, data, open_cb, write_cb, close_cb))
LAZY(lib_archive, int, archive_write_header, (struct archive * a, struct archive_entry *e),
     (a, e))
LAZY(lib_archive, la_ssize_t, archive_write_data,
     (struct archive * a, const void *buf, size_t len), (a, buf, len))
LAZY(lib_archive, int, archive_write_close, (struct archive * a), (a))
LAZY(lib_archive, int, archive_write_free, (struct archive * a), (a))
LAZY(lib_archive, int, archive_errno, (struct archive * a), (a))
LAZY(lib_archive, const char *, archive_error_string, (struct archive * a), (a))
LAZY(lib_archive, struct archive_entry *, archive_entry_new, (void), ())
LAZY(lib_archive, struct archive_entry *, archive_entry_clear, (struct archive_entry * e), (e))
LAZY_VOID(lib_archive, archive_entry_free, (struct archive_entry * e), (e))
LAZY_VOID(lib_archive, archive_entry_copy_pathname, (struct archive_entry * e, const char *p),
	  (e, p))
LAZY_VOID(lib_archive, archive_entry_copy_symlink, (struct archive_entry * e, const char *p),
	  (e, p))
LAZY_VOID(lib_archive, archive_entry_set_size, (struct archive_entry * e, la_int64_t s), (e, s))
LAZY_VOID(lib_archive, archive_entry_set_mode, (struct archive_entry * e, __LA_MODE_T m),
	  (e, m))
LAZY_VOID(lib_archive, archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns),
	  (e, t, ns))
LAZY_VOID(lib_archive, archive_entry_set_uid, (struct archive_entry * e, la_int64_t id), (e, id))
LAZY_VOID(lib_archive, archive_entry_set_gid, (struct archive_entry * e, la_int64_t id), (e, id))
/* engine/archive.c: a file read out of a container */
LAZY(lib_archive, struct archive *, archive_read_new, (void), ())
LAZY(lib_archive, int, archive_read_support_format_tar, (struct archive * a), (a))
LAZY(lib_archive, int, archive_read_open_memory, (struct archive * a, const void *buf, size_t len),
     (a, buf, len))
LAZY(lib_archive, int, archive_read_next_header, (struct archive * a, struct archive_entry **e),
     (a, e))
LAZY(lib_archive, la_ssize_t, archive_read_data, (struct archive * a, void *buf, size_t len),
     (a, buf, len))
LAZY(lib_archive, int, archive_read_free, (struct archive * a), (a))
LAZY(lib_archive, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))
LAZY(lib_archive, const char *, archive_entry_symlink, (struct archive_entry * e), (e))
