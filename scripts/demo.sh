#!/usr/bin/env bash
# demo.sh - `make demo`: the bundled example (examples/prisma-app) up, its client synced and a
# supervisor watching its schema, on a fresh Debian machine; then what to try.  Run by the
# Makefile after `make all` (build packages installed, ./prisync built).
#
# Where the images come from: postgres:16 and node:20 when the engine already has them (or
# OFFLINE=0: the engine pulls them); else (OFFLINE=1, the default without them) images built
# from this machine's own binaries, as the tests build theirs.  With no engine answering, a
# private dockerd is started (root) and left running for the make targets that follow; its
# settings are recorded in build/demo.mk, which the Makefile reads.  `make demo-down` ends it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
app=examples/prisma-app
state=$root/build/demo
mk=$root/build/demo.mk

say()
{
	printf 'demo: %s\n' "$*" >&2
}

die()
{
	say "error: $*"
	exit 1
}

ping_engine()
{
	local host=${1#unix://}
	[[ -S $host ]] && [[ $(curl -sS --max-time 2 --unix-socket "$host" http://localhost/_ping 2>/dev/null) == OK ]]
}

has_image()
{
	curl -sf --max-time 5 --unix-socket "${DOCKER_HOST#unix://}" \
		"http://localhost/images/$1/json" >/dev/null 2>&1
}

command -v curl >/dev/null || die "curl is missing: apt-get install curl"
command -v npm >/dev/null || die "npm is missing: apt-get install nodejs npm"

# an engine: the one the environment names, the system's, or a private one kept running
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
offline=${OFFLINE:-}
if ping_engine "$host" && [[ $offline != 1 ]]; then
	export DOCKER_HOST=$host
	if [[ -z $offline ]]; then
		offline=0
		has_image postgres:16 && has_image node:20 || offline=1
	fi
fi
if [[ $offline != 0 ]] || ! ping_engine "$host"; then
	# the tests' harness makes the engine (when none answers) and the offline images;
	# owner pid 1: it stays up after this script ends, until `make demo-down`
	mkdir -p "$state"
	# shellcheck source=/dev/null
	if [[ ! -f $state/harness.env ]] || ! (source "$state/harness.env" && ping_engine "$DOCKER_HOST"); then
		say "starting the engine and building the offline images (the first run takes a minute)"
		PRISYNC_TEST_OWNER_PID=1 PRISYNC_TEST_RUN=demo PRISYNC_TEST_STATE=$state/run \
			tests/harness/env.sh up "$state/harness.env" >"$state/harness.log" 2>&1 ||
			{ tail -n 20 "$state/harness.log" >&2; die "the engine or the images did not come up (log $state/harness.log)"; }
	fi
	# shellcheck source=/dev/null
	source "$state/harness.env"
	offline=1
fi

# what the make targets need to reach the same engine and images
{
	printf '# written by scripts/demo.sh: the engine and images of make demo\n'
	printf 'export DOCKER_HOST := %s\n' "$DOCKER_HOST"
	printf 'OFFLINE := %s\n' "$offline"
	if [[ $offline == 1 ]]; then
		printf 'export PRISYNC_TEST_IMAGE_POSTGRES := %s\n' "$PRISYNC_TEST_IMAGE_POSTGRES"
		printf 'export PRISYNC_TEST_IMAGE_NODE := %s\n' "$PRISYNC_TEST_IMAGE_NODE"
	fi
} >"$mk"

if [[ $offline == 1 ]]; then
	# the app container has no network: its `npm ci` installs from this machine's npm cache
	say "filling the npm cache with the example's packages"
	(cd "$app" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
		die "npm ci in $app failed"
fi

say "bringing the example up (images: $([[ $offline == 1 ]] && echo "built from this machine" || echo "postgres:16, node:20"))"
make --no-print-directory docker-up
say "applying the example's migrations"
make --no-print-directory db-migrate

url=$(./prisync -f "$app/compose.yaml" ps --format json app 2>/dev/null |
	sed -n 's/.*"URL":"\([^"]*\)","TargetPort":3000,"PublishedPort":\([0-9]*\).*/http:\/\/\1:\2/p' | head -n 1)
cat <<EOF

The example is up, its Prisma client generated from its schema, and a supervisor watches it.

  app:        ${url:-see \`make status\`} (GET /users, POST /users)
  try:        add \`nickname String?\` to model User in $app/prisma/schema.prisma and save;
              \`make logs\` shows the sync (generate, restart) once per save
  then:       \`make status\`    is everything in sync (client, database, services, git)
              \`make db-check\`  the database and its migrations
              \`make help\`      every target
  stop:       \`make docker-down\` (the stack), \`make demo-down\` (also the demo's engine)
EOF
