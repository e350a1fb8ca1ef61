/* migrations.c - the migrations folder as Prisma Migrate sees it: which directories are
 * migrations, in which order, their checksums, the lock file's provider; and the small
 * values deploy writes into _prisma_migrations (ids, timestamps, failure logs). */
#include "prisma/prisma.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

/* See stack/hash.c: the plain SHA256_* functions, not EVP, which would load OpenSSL's
 * configuration and default provider (~1.9 MiB resident) for a few hashes. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "base/path.h"
#include "base/xmalloc.h"

bool prisma_table_ignored_when_empty(const char *table)
{
	static const char *const postgis[] = {
	    "spatial_ref_sys", "geometry_columns", "geography_columns",
	    "raster_columns",  "raster_overviews",
	};

	for (size_t i = 0; i < sizeof(postgis) / sizeof(postgis[0]); i++) {
		if (strcasecmp(table, postgis[i]) == 0)
			return true;
	}
	return false;
}

/*
 * ICU's root collation for ASCII, which is what Node's localeCompare uses: the primary
 * weight of every byte (0: ignorable), with upper- and lowercase letters sharing one.
 * The order of the non-letters was read off `node -e` sorting all printable ASCII.
 */
static const char collation_order[] = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789";

static unsigned primary_weight(unsigned char c)
{
	const char *p;

	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(sizeof(collation_order) + (unsigned)(c - 'a') + 1);
	if (c >= 0x80)
		return (unsigned)(sizeof(collation_order) + 27 + c);
	if (c == '\0')
		return 0;
	p = strchr(collation_order, c);
	return p != NULL ? (unsigned)(p - collation_order) + 1 : 0;
}

/* compare the weights of the non-ignorable bytes; tertiary compares case instead */
static int collate_level(const unsigned char *a, const unsigned char *b, bool tertiary)
{
	for (;;) {
		unsigned wa = 0, wb = 0;

		while (*a != '\0' && (wa = primary_weight(*a)) == 0)
			a++;
		while (*b != '\0' && (wb = primary_weight(*b)) == 0)
			b++;
		if (*a == '\0' || *b == '\0')
			return (*a != '\0') - (*b != '\0');
		if (tertiary) {
			/* ICU's default tertiary order: lowercase first */
			wa = *a >= 'A' && *a <= 'Z';
			wb = *b >= 'A' && *b <= 'Z';
		}
		if (wa != wb)
			return wa < wb ? -1 : 1;
		a++;
		b++;
	}
}

int prisma_migration_name_cmp(const char *a, const char *b)
{
	const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
	int c = collate_level(ua, ub, false);

	if (c == 0)
		c = collate_level(ua, ub, true);
	if (c == 0)
		c = strcmp(a, b);
	return c;
}

char *prisma_lock_provider(const char *text, size_t len)
{
	static const char key[] = "provider", prefix[] = "provider = ";
	const char *line = text, *end = text + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl != NULL ? nl : end;

		/* Rust's str::lines(): a "\r\n" ending loses its '\r' too */
		if (eol > line && nl != NULL && eol[-1] == '\r')
			eol--;
		if ((size_t)(eol - line) >= sizeof(key) - 1 &&
		    memcmp(line, key, sizeof(key) - 1) == 0) {
			const char *s = line, *e = eol;

			/* trim_start_matches("provider = ") strips the prefix repeatedly */
			while ((size_t)(e - s) >= sizeof(prefix) - 1 &&
			       memcmp(s, prefix, sizeof(prefix) - 1) == 0)
				s += sizeof(prefix) - 1;
			while (s < e && *s == '"')
				s++;
			while (e > s && e[-1] == '"')
				e--;
			return xstrndup(s, (size_t)(e - s));
		}
		line = nl != NULL ? nl + 1 : end;
	}
	return xstrdup(PRISMA_LOCK_PROVIDER_NOT_FOUND);
}

/*
 * The WHATWG UTF-8 decoder's error handling (what Node's Buffer#toString and so
 * fs.readFile(..., 'utf-8') do): each maximal prefix of a valid sequence that cannot be
 * completed, and each byte that cannot start one, becomes one U+FFFD; the byte that
 * broke a sequence is then decoded afresh.
 */
bool prisma_utf8_lossy(const char *data, size_t len, struct px_buf *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)data;
	bool replaced = false;
	size_t i = 0;

	px_buf_grow(out, len);
	while (i < len) {
		unsigned char c = s[i];
		unsigned char lower = 0x80, upper = 0xbf;
		size_t need, seen = 0;

		if (c < 0x80) {
			px_buf_addch(out, (char)c);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lower = 0xa0;
			else if (c == 0xed)
				upper = 0x9f; /* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lower = 0x90;
			else if (c == 0xf4)
				upper = 0x8f; /* nothing above U+10FFFF */
		} else {
			px_buf_add(out, replacement, 3);
			replaced = true;
			i++;
			continue;
		}
		while (seen < need && i + 1 + seen < len && s[i + 1 + seen] >= lower &&
		       s[i + 1 + seen] <= upper) {
			seen++;
			lower = 0x80;
			upper = 0xbf;
		}
		if (seen == need) {
			px_buf_add(out, s + i, need + 1);
		} else {
			px_buf_add(out, replacement, 3);
			replaced = true;
		}
		i += 1 + seen;
	}
	return replaced;
}

int prisma_migration_script_read(const char *path, struct px_buf *out, struct px_error *err)
{
	struct px_buf raw = PX_BUF_INIT;

	if (px_path_read_file(path, &raw, err) < 0) {
		px_buf_release(&raw); /* a failed read may have grown it */
		return -1;
	}
	prisma_utf8_lossy(px_buf_cstr(&raw), raw.len, out);
	px_buf_release(&raw);
	return 0;
}

static void hex_digest(const unsigned char md[SHA256_DIGEST_LENGTH], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

int prisma_checksum(const char *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;

	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, len) != 1 ||
	    SHA256_Final(md, &ctx) != 1) {
		out[0] = '\0';
		return -1;
	}
	hex_digest(md, out);
	return 0;
}

/*
 * The two variants of checksum.rs in one pass each, without copying the script:
 * script.replace("\r\n", "\n") and script.replace('\n', "\r\n").
 */
static int checksum_variants(const char *s, size_t len, char lf[65], char crlf[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX a, b;
	size_t start = 0;
	int ok = SHA256_Init(&a) == 1 && SHA256_Init(&b) == 1;

	for (size_t i = 0; ok && i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			ok = SHA256_Update(&a, s + start, i - start) == 1;
			start = i + 1; /* the '\n' starts the next run */
		}
	}
	ok = ok && SHA256_Update(&a, s + start, len - start) == 1 && SHA256_Final(md, &a) == 1;
	if (ok)
		hex_digest(md, lf);
	start = 0;
	for (size_t i = 0; ok && i < len; i++) {
		if (s[i] == '\n') {
			ok = SHA256_Update(&b, s + start, i - start) == 1 &&
			     SHA256_Update(&b, "\r\n", 2) == 1;
			start = i + 1;
		}
	}
	ok = ok && SHA256_Update(&b, s + start, len - start) == 1 && SHA256_Final(md, &b) == 1;
	if (ok)
		hex_digest(md, crlf);
	return ok ? 0 : -1;
}

/* checksum.rs format_checksum_old: "{byte:x}" per byte, i.e. no leading zero digit */
static void old_format(const char hex[65], char out[65])
{
	size_t o = 0;

	for (size_t i = 0; i < 64; i += 2) {
		if (hex[i] != '0')
			out[o++] = hex[i];
		out[o++] = hex[i + 1];
	}
	out[o] = '\0';
}

bool prisma_checksum_matches(const struct prisma_migration *m, const char *recorded)
{
	const char *const mine[] = {m->checksum, m->checksum_lf, m->checksum_crlf};
	size_t rlen = strlen(recorded);

	if (!m->has_script)
		return false;
	for (size_t i = 0; i < 3; i++) {
		char old[65];

		if (rlen != 0 && rlen != 64) {
			old_format(mine[i], old);
			if (strcmp(old, recorded) == 0)
				return true;
		} else if (strcmp(mine[i], recorded) == 0) {
			return true;
		}
	}
	return false;
}

/* Fill m's script facts from its migration.sql; an unreadable script is recorded, not
 * an error (Prisma lists the migration and fails only when it needs the text). */
static int migration_load(struct prisma_migration *m, struct px_error *err)
{
	struct px_buf script = PX_BUF_INIT;
	struct px_error rerr = PX_ERROR_INIT;
	int ret = -1;

	if (prisma_migration_script_read(m->sql_path, &script, &rerr) < 0) {
		m->has_script = false;
		m->script_errno = rerr.errnum != 0 ? rerr.errnum : EIO;
		px_error_clear(&rerr);
		return 0;
	}
	if (prisma_checksum(px_buf_cstr(&script), script.len, m->checksum) < 0 ||
	    checksum_variants(px_buf_cstr(&script), script.len, m->checksum_lf, m->checksum_crlf) <
		0) {
		px_error_set(err, 0, "cannot compute the checksum of '%s'", m->sql_path);
		goto out;
	}
	m->has_script = true;
	ret = 0;
out:
	px_buf_release(&script);
	return ret;
}

static int migration_cmp(const void *a, const void *b)
{
	const struct prisma_migration *ma = a, *mb = b;

	return prisma_migration_name_cmp(ma->name, mb->name);
}

/* Dirent.isDirectory() as Node answers it: the entry itself, a symlink is not one */
static bool entry_is_dir(const char *dir, const struct dirent *de)
{
	struct stat st;
	char *p;
	bool is_dir;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	p = px_path_join(dir, de->d_name);
	is_dir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return is_dir;
}

static int read_lock(struct prisma_migration_dir *d, struct px_error *err)
{
	struct px_buf text = PX_BUF_INIT;
	char *path = px_path_join(d->path, PRISMA_MIGRATION_LOCK_FILE);
	int ret = -1;

	if (px_path_read_file(path, &text, err) < 0) {
		if (err->errnum == ENOENT || err->errnum == ENOTDIR) {
			px_error_clear(err);
			ret = 0;
		}
		goto out;
	}
	d->lock_provider = prisma_lock_provider(px_buf_cstr(&text), text.len);
	ret = 0;
out:
	px_buf_release(&text);
	free(path);
	return ret;
}

int prisma_migrations_read(const char *dir, struct prisma_migration_dir *out, struct px_error *err)
{
	struct prisma_migration_dir d = {0};
	size_t cap = 0;
	DIR *dh = NULL;
	struct dirent *de;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	d.path = xstrdup(dir);
	dh = opendir(dir);
	if (dh == NULL) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*out = d;
			return 0;
		}
		px_error_set(err, errno, "cannot read migrations folder '%s'", dir);
		goto out;
	}
	d.exists = true;
	if (read_lock(&d, err) < 0)
		goto out;
	for (;;) {
		struct prisma_migration *m;

		errno = 0;
		de = readdir(dh);
		if (de == NULL) {
			if (errno != 0) {
				px_error_set(err, errno, "cannot read migrations folder '%s'", dir);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !entry_is_dir(dir, de))
			continue;
		if (d.n == cap) {
			cap = cap != 0 ? 2 * cap : 16;
			d.v = xreallocarray(d.v, cap, sizeof(*d.v));
		}
		m = &d.v[d.n++];
		memset(m, 0, sizeof(*m));
		m->name = xstrdup(de->d_name);
		xasprintf(&m->sql_path, "%s/%s/%s", dir, de->d_name, PRISMA_MIGRATION_SCRIPT_FILE);
		if (migration_load(m, err) < 0)
			goto out;
	}
	if (d.n > 1)
		qsort(d.v, d.n, sizeof(*d.v), migration_cmp);
	*out = d;
	memset(&d, 0, sizeof(d));
	ret = 0;
out:
	if (dh != NULL)
		closedir(dh);
	prisma_migration_dir_release(&d);
	return ret;
}

void prisma_migration_dir_release(struct prisma_migration_dir *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].sql_path);
	}
	free(d->v);
	free(d->path);
	free(d->lock_provider);
	memset(d, 0, sizeof(*d));
}

const struct prisma_migration *prisma_migration_find(const struct prisma_migration_dir *d,
						     const char *name)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->v[i].name, name) == 0)
			return &d->v[i];
	}
	return NULL;
}

int prisma_migration_id_new(char out[37], struct px_error *err)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			out[0] = '\0';
			return px_error_set(err, errno,
					    "cannot get random bytes for a migration id");
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

void prisma_timestamp_format(int64_t unix_ns, char out[32])
{
	/* floor division, so instants before 1970 keep a non-negative fraction */
	int64_t sec = unix_ns / 1000000000, ns = unix_ns % 1000000000;
	time_t t;
	struct tm tm;

	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* the moduli only tell the compiler the widths (years past 9999 are not our case) */
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
		 (unsigned)(ns / 1000) % 1000000u);
}

char *prisma_migration_failure_logs(const char *name, const char *sqlstate, const char *db_error)
{
	char *s;

	xasprintf(&s,
		  "A migration failed to apply. New migrations cannot be applied before the error "
		  "is recovered from. Read more about how to resolve migration issues in a "
		  "production database: https://pris.ly/d/migrate-resolve\n\n"
		  "Migration name: %s\n\nDatabase error code: %s\n\nDatabase error:\n%s\n",
		  name, sqlstate != NULL && sqlstate[0] != '\0' ? sqlstate : "none",
		  db_error != NULL ? db_error : "");
	return s;
}

void prisma_migration_row_release(struct prisma_migration_row *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->name);
	free(r->checksum);
	free(r->logs);
	memset(r, 0, sizeof(*r));
}

void prisma_migration_rows_free(struct prisma_migration_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		prisma_migration_row_release(&rows[i]);
	free(rows);
}
