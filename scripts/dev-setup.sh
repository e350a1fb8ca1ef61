#!/bin/sh
# dev-setup.sh - the entrypoint of a Node + Prisma app container in development: installs the
# dependencies when package-lock.json changed, regenerates the Prisma client, waits for the
# database, prints where its migrations stand, then runs the app (`dev-setup.sh npm run dev`).
#
# Run in the app's directory (the container's working_dir). Environment:
#   DATABASE_URL           the database to wait for (required)
#   DB_WAIT_SECONDS        how long to wait for it (default 60)
#   PRISMA_MIGRATIONS_DIR  the migrations folder (default prisma/migrations)
# The install is skipped while package-lock.json's SHA-256 matches the stamp the last
# successful install left in node_modules (a volume, so the stamp lives as long as what it
# describes). Migrations are only reported, never applied: that is `make db-migrate`. The
# report reads _prisma_migrations with `pg` because Prisma's schema engine may not be
# installed (it is downloaded on demand, impossible offline).
set -eu

say()
{
	printf 'dev-setup: %s\n' "$*"
}

die()
{
	printf 'dev-setup: error: %s\n' "$*" >&2
	exit 1
}

[ "$#" -gt 0 ] || die "usage: dev-setup.sh COMMAND [ARG...] (the app to run once set up)"

DB_WAIT_SECONDS=${DB_WAIT_SECONDS:-60}
case $DB_WAIT_SECONDS in
'' | *[!0-9]*) die "DB_WAIT_SECONDS must be a whole number of seconds, not '$DB_WAIT_SECONDS'" ;;
esac
PRISMA_MIGRATIONS_DIR=${PRISMA_MIGRATIONS_DIR:-prisma/migrations}
export DB_WAIT_SECONDS PRISMA_MIGRATIONS_DIR
stamp=node_modules/.dev-setup-lock.sha256

[ -f package.json ] || die "no package.json in $(pwd): run this in the app's directory"
[ -f package-lock.json ] ||
	die "no package-lock.json in $(pwd): run 'npm install' once and commit the lockfile"
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (the app service's environment)"

# 1. dependencies, only when the lockfile is not the one installed last
want=$(sha256sum package-lock.json | cut -d ' ' -f 1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" = "$have" ]; then
	say "dependencies up to date (package-lock.json unchanged since the last install), npm ci skipped"
else
	if [ -z "$have" ]; then
		say "no install recorded in node_modules: npm ci"
	else
		say "package-lock.json changed since the last install: npm ci"
	fi
	rm -f "$stamp"
	npm ci || die "npm ci failed (exit $?); the next start tries again"
	printf '%s\n' "$want" >"$stamp"
	say "dependencies installed"
fi

# 2. the client, always: the schema may have changed while the container was down
say "generating the Prisma client"
npx --no prisma generate || die "prisma generate failed (exit $?): fix the schema, then restart"

# 3. the database, for at most DB_WAIT_SECONDS
say "waiting for the database (up to ${DB_WAIT_SECONDS} s)"
# shellcheck disable=SC2016 # JavaScript: its ${...} are template literals
node -e '
const { Client } = require("pg");
const secs = Number(process.env.DB_WAIT_SECONDS);
const deadline = Date.now() + secs * 1000;
// where, without the password
let where = "the database";
try {
	const u = new URL(process.env.DATABASE_URL);
	where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
} catch {}
// not worth waiting for: the server answered and said no
const final = { "28P01": "authentication failed", "28000": "access refused",
	"3D000": "the database does not exist (run `make db-create`)" };
(async () => {
	for (;;) {
		const c = new Client({ connectionString: process.env.DATABASE_URL,
			connectionTimeoutMillis: 3000 });
		let why;
		try {
			await c.connect();
			await c.end();
			console.log(`dev-setup: database ${where} answers`);
			return;
		} catch (e) {
			why = final[e.code] ? `${final[e.code]}: ${e.message}` : e.message || e.code;
			c.end().catch(() => {});
			if (final[e.code] || Date.now() >= deadline) {
				console.error(`dev-setup: error: database ${where} not reachable` +
					(final[e.code] ? "" : ` after ${secs} s`) + `: ${why}`);
				process.exit(1);
			}
		}
		await new Promise((r) => setTimeout(r, 1000));
	}
})();
' || die "giving up on the database (DATABASE_URL, DB_WAIT_SECONDS)"

# 4. the migrations: applied and pending, as a hint (a failure here does not stop the app)
# shellcheck disable=SC2016 # JavaScript: its ${...} are template literals
node -e '
const fs = require("fs");
const path = require("path");
const { Client } = require("pg");
const dir = process.env.PRISMA_MIGRATIONS_DIR;
let local = [];
try {
	local = fs.readdirSync(dir, { withFileTypes: true })
		.filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
		.map((d) => d.name).sort();
} catch (e) {
	if (e.code !== "ENOENT") throw e;
}
(async () => {
	const c = new Client({ connectionString: process.env.DATABASE_URL });
	await c.connect();
	let rows;
	try {
		rows = (await c.query("SELECT migration_name, finished_at, rolled_back_at " +
			"FROM _prisma_migrations")).rows;
	} catch (e) {
		if (e.code !== "42P01") throw e;
		await c.end();
		console.log("dev-setup: migrations: the database is not managed by Prisma Migrate " +
			"(no _prisma_migrations table)" + (local.length ? `; ${local.length} in ${dir}: ` +
			"run `make db-migrate`" : ""));
		return;
	}
	await c.end();
	const applied = new Set(), failed = [];
	for (const r of rows) {
		if (r.rolled_back_at) continue;
		if (r.finished_at) applied.add(r.migration_name);
		else failed.push(r.migration_name);
	}
	const pending = local.filter((n) => !applied.has(n) && !failed.includes(n));
	let line = `dev-setup: migrations: ${applied.size} applied, ${pending.length} pending`;
	if (pending.length) line += `: ${pending.join(", ")} — run \`make db-migrate\``;
	if (failed.length) line += `; failed: ${failed.join(", ")} — see \`make db-check\``;
	console.log(line);
})().catch((e) => {
	console.error(`dev-setup: warning: cannot read the migration status: ${e.message}`);
});
' || say "warning: the migration status could not be read"

say "starting: $*"
exec "$@"
