#!/usr/bin/env bash
# db.sh - the db-check benchmark: `prisync db-check` of a database whose migrations are all
# applied, against a bare `psql -Atc 'select 1'` to the same database (the floor: one
# connection set-up and one round trip), runs alternating: target ratio <= 1.5; and against
# `prisma migrate status` (Prisma 6 through @prisma/adapter-pg, the harness's install, which
# runs offline) on the same project: target ratio <= 0.05, with both peak RSS.
# The harness's throwaway PostgreSQL (tests/harness/env.sh), brought up for the run and down
# after it; PRISYNC_BENCH_ENV=STATE_FILE uses a harness already up.
#   bench/db.sh PRISYNC ROOT [RUNS]
set -euo pipefail

DB_TARGET=1.5
DB_PRISMA_TARGET=0.05
DB_PRISMA_RUNS=10

# KiB (cfg_rss) as MiB with one decimal; "n/a" stays.
db_mib()
{
	[[ $1 =~ ^[0-9]+$ ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || printf 'n/a'
}

# db_row LABEL A B TARGET: one result row, "A B" as cfg_pair prints them.
db_row()
{
	local label=$1 a=$2 b=$3 target=$4 ratio
	ratio=$(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }')
	printf '%-26s %10s %10s %8s\n' "$label" "${a%% *}" "${b%% *}" "$ratio"
	printf '%-26s %10s %10s\n' "  p10-p90 (n)" "$(cfg_spread "$a")" "$(cfg_spread "$b")"
	printf '%-26s %30s\n' "  target" "<= $target"
	if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r > t) }'; then
		echo "db target MISSED: $label = $ratio (target <= $target)"
	fi
}

# db_result NAME A OTHER B TARGET [KEY=VALUE ...]: the JSON result of one row.
db_result()
{
	local name=$1 a=$2 other=$3 b=$4 target=$5 ratio=n/a
	shift 5
	[[ $a == error || $b == error ]] ||
		ratio=$(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }')
	cfg_result "$name" "$a" "$other" "$b" "ratio <= $target" "$(cfg_met "$ratio" "$target" 'x <= t')" "$@"
}

db_main()
{
	local bin=$1 root=$2 runs=${3:-30} tmp state own="" dbname url a b ra rb
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	# shellcheck source=config.sh
	source "$root/bench/config.sh"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/prisync-bench.XXXXXX")
	if ! cfg_harness db "$root" "$tmp"; then
		rm -rf "$tmp"
		return 0
	fi
	state=$cfg_state own=$cfg_own
	# shellcheck source=/dev/null
	source "$state"
	dbname=pxbench_db_$$
	url="postgresql://$PRISYNC_TEST_PG_USER@127.0.0.1:$PRISYNC_TEST_PG_PORT/$dbname"
	# shellcheck disable=SC2064 # expand now: the paths are fixed
	trap "psql -q '$PRISYNC_TEST_PG_URL' -c 'DROP DATABASE IF EXISTS $dbname' >/dev/null 2>&1 || true
		[[ -n '$own' ]] && '$root/tests/harness/env.sh' down '$own' >/dev/null 2>&1 || true
		rm -rf '$tmp'" EXIT
	psql -q "$PRISYNC_TEST_PG_URL" -c "CREATE DATABASE $dbname" >/dev/null
	# a project whose one migration is applied: db-check's whole path, exit 0
	mkdir -p "$tmp/p/prisma/migrations/20250101000000_init"
	printf 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n' \
		>"$tmp/p/prisma/schema.prisma"
	printf 'CREATE TABLE a (id int);\n' >"$tmp/p/prisma/migrations/20250101000000_init/migration.sql"
	printf 'provider = "postgresql"\n' >"$tmp/p/prisma/migrations/migration_lock.toml"
	cat >"$tmp/p/compose.yaml" <<EOF
services:
  app: {image: busybox}
x-prisync:
  schemas:
    - {name: core, schema: prisma/schema.prisma, run-in: host, restart: [], database-url: '$url'}
EOF
	psql -q "$url" >/dev/null <<EOF
CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
  finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE a (id int);
INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
VALUES ('00000000-0000-4000-8000-000000000000',
  '$(sha256sum "$tmp/p/prisma/migrations/20250101000000_init/migration.sql" | cut -c1-64)',
  now(), '20250101000000_init', 1);
EOF
	if ! (cd "$tmp/p" && "$bin" db-check >"$tmp/check.out" 2>&1); then
		cat "$tmp/check.out" >&2
		echo "bench db: db-check does not pass on the prepared database" >&2
		return 1
	fi
	# shellcheck disable=SC2034 # passed to cfg_pair by name
	local -a pa=("$bin" db-check) pb=(psql -Atc 'select 1' "$url")
	{
		read -r a
		read -r b
	} < <(cfg_pair "$tmp/p" "$runs" pa pb)
	printf '\n%-26s %10s %10s %8s\n' "db scenario" "prisync ms" "other ms" ratio
	db_row "db-check vs psql select 1" "$a" "$b" "$DB_TARGET"
	db_result db-check "$a" "psql -Atc 'select 1'" "$b" "$DB_TARGET"

	# Prisma's own answer to the same question, configured as its docs say for the adapter;
	# idleTimeoutMillis: 1, or an up-to-date status lingers 10 s on pg's idle pool before
	# node exits: Prisma measured at its best
	cat >"$tmp/p/prisma.config.ts" <<'EOF'
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() { return new PrismaPg({ connectionString: process.env.DATABASE_URL, idleTimeoutMillis: 1 }); },
});
EOF
	ln -s "$PRISYNC_TEST_PRISMA6/node_modules" "$tmp/p/node_modules"
	# shellcheck disable=SC2034 # passed to cfg_pair by name
	local -a pp=(env "DATABASE_URL=$url" node node_modules/prisma/build/index.js migrate status)
	if ! (cd "$tmp/p" && "${pp[@]}" >"$tmp/prisma.out" 2>&1); then
		cat "$tmp/prisma.out" >&2
		echo "bench db: prisma migrate status does not pass on the prepared database" >&2
		return 1
	fi
	{
		read -r a
		read -r b
	} < <(cfg_pair "$tmp/p" "$DB_PRISMA_RUNS" pa pp)
	db_row "db-check vs prisma status" "$a" "$b" "$DB_PRISMA_TARGET"
	ra=$(db_mib "$(cfg_rss "$tmp/p" "${pa[@]}")")
	rb=$(db_mib "$(cfg_rss "$tmp/p" "${pp[@]}")")
	printf '%-26s %10s %10s\n' "  peak RSS MiB" "$ra" "$rb"
	db_result db-check-prisma "$a" "prisma migrate status" "$b" "$DB_PRISMA_TARGET" \
		"prisync_rss_mib=$ra" "other_rss_mib=$rb"
}

db_main "$@"
