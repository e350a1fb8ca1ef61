#!/usr/bin/env bash
# env.sh - entry point of prisync's e2e harness: brings up (and tears down) a Docker engine,
# the test images, a throwaway PostgreSQL and the Prisma CLIs, and records them in a state file.
#
#   tests/harness/env.sh up STATE_FILE     exit 0 ok, 3 component missing (1 when CI=true), 1 failure
#   tests/harness/env.sh down STATE_FILE   idempotent; safe after a partial up
#
# STATE_FILE is bash-sourceable (`export VAR=value` lines). See README.md in this directory.
set -euo pipefail
set -E

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PRISYNC_TEST_CACHE=${PRISYNC_TEST_CACHE:-${HOME:-/root}/.cache/prisync-test}
export PRISYNC_TEST_CACHE

H_MISSING=0		# set when we exit because a component is missing (exit 3)
H_STATE_FILE=""
H_STATE_VARS=()		# names exported into the state file, in order
H_OWNER_PID=${PRISYNC_TEST_OWNER_PID:-$PPID}

h_log()
{
	printf 'harness: %s\n' "$*" >&2
}

h_die()
{
	h_log "error: $*"
	exit 1
}

# A component is missing and cannot be provided: exit 3, except under CI where nothing may be
# skipped silently.
h_missing()
{
	if [[ ${CI:-} == true ]]; then
		h_log "error: $* (CI=true: a missing component is a failure, not a skip)"
		exit 1
	fi
	h_log "missing: $*"
	H_MISSING=1
	exit 3
}

# Milliseconds since the epoch, without forking.
h_now_ms()
{
	local t=${EPOCHREALTIME/./}
	printf '%s' "${t:0:-3}"
}

# h_poll SECONDS CMD...: run CMD every 100 ms until it succeeds; fail after SECONDS.
h_poll()
{
	local secs=$1 deadline
	shift
	deadline=$(($(h_now_ms) + secs * 1000))
	until "$@"; do
		if (($(h_now_ms) >= deadline)); then
			return 1
		fi
		sleep 0.1
	done
}

# Make sure FILE exists, installing Debian package PKG (as root) when it does not.
h_ensure_pkg()
{
	local what=$1 file=$2 pkg=$3
	[[ -e $file ]] && return 0
	if ((EUID != 0)); then
		h_missing "$what: '$file' not found and not root (install Debian package $pkg)"
	fi
	h_log "$what: '$file' not found, installing $pkg"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
			h_missing "$what: cannot install Debian package $pkg"
	fi
	[[ -e $file ]] || h_missing "$what: package $pkg installed but '$file' still missing"
}

# Start time (clock ticks since boot) of PID, to tell a live process from a reused pid.
h_starttime()
{
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# after "pid (comm) " come the fields from 3 (state) on; starttime is field 22
	read -ra f <<<"${stat##*) }"
	printf '%s' "${f[19]}"
}

# "pid starttime run" of the owner of this run: the process that calls env.sh (the test
# runner), which outlives the environment; PRISYNC_TEST_OWNER_PID overrides it.
h_owner_line()
{
	printf '%s %s %s\n' "$H_OWNER_PID" "$(h_starttime "$H_OWNER_PID" || true)" "$PRISYNC_TEST_RUN"
}

# h_owner_alive FILE: is the owner recorded in FILE (an h_owner_line) still running?
h_owner_alive()
{
	local pid="" start=""
	read -r pid start _ 2>/dev/null <"$1" || return 1
	[[ -n $pid && -n $start ]] || return 1
	[[ $(h_starttime "$pid" 2>/dev/null) == "$start" ]]
}

# Tear down what runs whose owner died left in sibling state dirs (their throwaway
# PostgreSQL); their private dockerd is dealt with by engine_lock.
h_reap_dead_runs()
{
	local d
	for d in "${PRISYNC_TEST_STATE%/*}"/prisync-test.*; do
		[[ -d $d && -O $d && $d != "$PRISYNC_TEST_STATE" && -r $d/owner ]] || continue
		h_owner_alive "$d/owner" && continue
		h_log "cleaning up after dead run $(cut -d' ' -f3 "$d/owner") ($d)"
		postgres_down "$d" || true
		rm -rf "$d" || true
	done
}

# Remember VAR (already set in this shell) for the state file.
h_export()
{
	local v
	for v in "$@"; do
		[[ " ${H_STATE_VARS[*]} " == *" $v "* ]] || H_STATE_VARS+=("$v")
		export "${v?}"
	done
}

# Rewrite the state file atomically with every variable exported so far.
h_state_write()
{
	local v tmp=$H_STATE_FILE.tmp.$$
	{
		printf '# prisync e2e harness state (tests/harness/env.sh); source it\n'
		for v in "${H_STATE_VARS[@]}"; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
	} >"$tmp"
	mv -f "$tmp" "$H_STATE_FILE"
}

# shellcheck source=engine.sh
source "$HARNESS_DIR/engine.sh"
# shellcheck source=images.sh
source "$HARNESS_DIR/images.sh"
# shellcheck source=postgres.sh
source "$HARNESS_DIR/postgres.sh"
# shellcheck source=prisma.sh
source "$HARNESS_DIR/prisma.sh"

# ---- docker compose v2 (compose.sh; helper E) ------------------------------------------
# The reference binary the config e2e test and the benchmarks compare prisync with. Run as
# its own process so that a missing binary does not end `up`: tests that need it skip on
# their own (harness_env), and under CI=true compose.sh fails, which fails `up`.
h_compose_up()
{
	local t rc=0
	t=$(h_now_ms)
	PRISYNC_TEST_COMPOSE=$("$HARNESS_DIR/compose.sh" path) || rc=$?
	if ((rc == 3)); then
		h_log "compose: not available; tests comparing with docker compose will skip"
		return 0
	fi
	((rc == 0)) || h_die "compose: $HARNESS_DIR/compose.sh failed (exit $rc)"
	h_export PRISYNC_TEST_COMPOSE
	h_state_write
	h_log "compose ready ($(($(h_now_ms) - t)) ms)"
}
# ---- end of docker compose block --------------------------------------------------------

h_on_err()
{
	local rc=$1
	h_log "error: '$BASH_COMMAND' failed (exit $rc) at ${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
}

# Exit status contract: 0, 3 (missing, never under CI) or 1.
h_on_exit()
{
	local rc=$?
	if ((rc != 0)); then
		if ((H_MISSING && rc == 3)); then
			exit 3
		fi
		exit 1
	fi
}

cmd_up()
{
	local t0 t
	t0=$(h_now_ms)
	PRISYNC_TEST_RUN=${PRISYNC_TEST_RUN:-r$(date +%s)-$$}
	[[ $PRISYNC_TEST_RUN =~ ^[A-Za-z0-9_.-]+$ ]] ||
		h_die "PRISYNC_TEST_RUN '$PRISYNC_TEST_RUN' must match [A-Za-z0-9_.-]+"
	h_starttime "$H_OWNER_PID" >/dev/null ||
		h_die "owner process $H_OWNER_PID (PRISYNC_TEST_OWNER_PID or the caller) is not running"
	if [[ -z ${PRISYNC_TEST_STATE:-} ]]; then
		PRISYNC_TEST_STATE=$(mktemp -d "${TMPDIR:-/tmp}/prisync-test.XXXXXX")
	else
		mkdir -p "$PRISYNC_TEST_STATE"
	fi
	# the postgres OS user must be able to reach its data dir inside
	chmod 711 "$PRISYNC_TEST_STATE"
	mkdir -p "$PRISYNC_TEST_CACHE"
	h_export PRISYNC_TEST_RUN PRISYNC_TEST_STATE PRISYNC_TEST_CACHE
	# written before anything starts, so that `down` finds whatever a partial up leaves
	h_state_write
	h_owner_line >"$PRISYNC_TEST_STATE/owner"
	h_log "run $PRISYNC_TEST_RUN, state $PRISYNC_TEST_STATE, cache $PRISYNC_TEST_CACHE"
	h_reap_dead_runs

	t=$(h_now_ms)
	engine_up
	h_export DOCKER_HOST
	h_state_write
	h_log "engine ready ($(($(h_now_ms) - t)) ms)"

	t=$(h_now_ms)
	images_up
	h_export PRISYNC_TEST_IMAGE_BUSYBOX PRISYNC_TEST_IMAGE_POSTGRES PRISYNC_TEST_IMAGE_NODE
	h_state_write
	h_log "images ready ($(($(h_now_ms) - t)) ms)"

	t=$(h_now_ms)
	postgres_up
	h_export PRISYNC_TEST_PG_HOST PRISYNC_TEST_PG_PORT PRISYNC_TEST_PG_USER PRISYNC_TEST_PG_URL
	h_state_write
	h_log "postgres ready on 127.0.0.1:$PRISYNC_TEST_PG_PORT ($(($(h_now_ms) - t)) ms)"

	t=$(h_now_ms)
	prisma_up
	h_export PRISYNC_TEST_PRISMA7 PRISYNC_TEST_PRISMA6 PRISMA_SCHEMA_ENGINE_BINARY \
		PRISMA_QUERY_ENGINE_LIBRARY CHECKPOINT_DISABLE npm_config_update_notifier
	h_state_write
	h_log "prisma ready ($(($(h_now_ms) - t)) ms)"

	h_compose_up # docker compose v2: see the compose block above

	h_log "up in $(($(h_now_ms) - t0)) ms"
}

cmd_down()
{
	if [[ ! -f $H_STATE_FILE ]]; then
		h_log "no state file '$H_STATE_FILE': nothing to tear down"
		return 0
	fi
	# shellcheck disable=SC1090
	source "$H_STATE_FILE"
	if [[ -z ${PRISYNC_TEST_STATE:-} ]]; then
		h_log "state file has no PRISYNC_TEST_STATE: nothing to tear down"
		return 0
	fi
	local rc=0
	postgres_down || rc=1
	engine_down || rc=1
	if [[ -d $PRISYNC_TEST_STATE ]]; then
		rm -rf "$PRISYNC_TEST_STATE" || rc=1
	fi
	h_log "down"
	return "$rc"
}

main()
{
	if (($# != 2)) || [[ $1 != up && $1 != down ]]; then
		printf 'usage: %s up|down STATE_FILE\n' "$0" >&2
		exit 2
	fi
	H_STATE_FILE=$2
	mkdir -p "$(dirname "$H_STATE_FILE")"
	H_STATE_FILE=$(cd "$(dirname "$H_STATE_FILE")" && pwd)/$(basename "$H_STATE_FILE")
	trap 'h_on_err $?' ERR
	trap h_on_exit EXIT
	trap 'h_log "interrupted"; exit 1' INT TERM
	case $1 in
	up) cmd_up ;;
	down) cmd_down ;;
	esac
}

# sourcing (for manual experiments) only defines the functions
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
