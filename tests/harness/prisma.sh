# prisma.sh - the Prisma CLIs (7.x with @prisma/adapter-pg and pg, and 6.x) for e2e tests,
# installed with `npm ci` from tests/harness/prisma/v{7,6} into the cache dir, keyed by the
# lockfile, and the environment that lets `prisma generate` run offline. Sourced by env.sh.
# shellcheck shell=bash

# npm ci, not run again while package.json and package-lock.json stay the same
prisma_install()
{
	local ver=$1 src=$HARNESS_DIR/prisma/$1 key dest tmp log lockfd t
	t=$(h_now_ms)
	key=$({
		cat "$src/package.json" "$src/package-lock.json"
		node -p 'process.versions.node.split(".")[0]'
	} | sha256sum | cut -c1-16)
	dest=$PRISYNC_TEST_CACHE/prisma/$ver-$key
	PRISMA_DIR=$dest
	if [[ -f $dest/.installed ]]; then
		h_log "prisma $ver: cached in $dest"
		return 0
	fi
	mkdir -p "$PRISYNC_TEST_CACHE/prisma"
	# two runs installing the same version: the second one waits and then finds it done
	exec {lockfd}>>"$PRISYNC_TEST_CACHE/prisma/$ver.lock"
	flock -w 900 "$lockfd" || h_die "prisma $ver: timed out waiting for another install"
	if [[ -f $dest/.installed ]]; then
		exec {lockfd}>&-
		h_log "prisma $ver: cached in $dest"
		return 0
	fi
	h_log "prisma $ver: npm ci into $dest"
	tmp=$(mktemp -d "$PRISYNC_TEST_CACHE/prisma/.tmp-$ver.XXXXXX")
	cp "$src/package.json" "$src/package-lock.json" "$tmp/"
	log=$PRISYNC_TEST_STATE/npm-$ver.log
	# --ignore-scripts: @prisma/engines' postinstall only tries to download engines from
	# binaries.prisma.sh (unreachable: three retries, then it gives up and exits 0), and npm 11
	# skips unapproved install scripts anyway; generate needs no engine (see prisma_up)
	if ! (cd "$tmp" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=warn) >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$tmp"
		exec {lockfd}>&-
		h_die "prisma $ver: npm ci failed (log $log)"
	fi
	touch "$tmp/.installed"
	chmod 755 "$tmp"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	exec {lockfd}>&-
	h_log "prisma $ver: installed ($(($(h_now_ms) - t)) ms)"
}

# An existing file for the engine variables: `prisma generate` only checks that the engines
# exist; if anything ever runs the placeholder, it says what it is.
prisma_placeholder()
{
	local f=$1
	[[ -f $f ]] && return 0
	# shellcheck disable=SC2016
	printf '%s\n' '#!/bin/sh' \
		'echo "prisync-test: $0 is a placeholder; no Prisma engine binary is available offline" >&2' \
		'exit 1' >"$f.tmp.$$"
	chmod 755 "$f.tmp.$$"
	mv -f "$f.tmp.$$" "$f"
}

prisma_up()
{
	local dir
	command -v npm >/dev/null || h_ensure_pkg npm "$IMAGES_NPM/bin/npm-cli.js" npm
	command -v npm >/dev/null || h_missing "prisma: npm not found"
	prisma_install v7
	PRISYNC_TEST_PRISMA7=$PRISMA_DIR
	prisma_install v6
	PRISYNC_TEST_PRISMA6=$PRISMA_DIR
	dir=$PRISYNC_TEST_CACHE/prisma/engines
	mkdir -p "$dir"
	prisma_placeholder "$dir/schema-engine"
	prisma_placeholder "$dir/libquery_engine.so.node"
	export PRISYNC_TEST_PRISMA7 PRISYNC_TEST_PRISMA6
	# 7.x generate needs the schema engine variable, 6.x both; without them generate
	# downloads the engines from binaries.prisma.sh and fails offline
	export PRISMA_SCHEMA_ENGINE_BINARY=$dir/schema-engine
	export PRISMA_QUERY_ENGINE_LIBRARY=$dir/libquery_engine.so.node
	# without it, every prisma command looks up checkpoint.prisma.io (a DNS query leaves the
	# machine); tests talk to 127.0.0.1 only
	export CHECKPOINT_DISABLE=1
	# npm and npx would ask the registry about new npm releases
	export npm_config_update_notifier=false
}
