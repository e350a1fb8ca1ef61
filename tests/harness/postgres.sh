# postgres.sh - a throwaway PostgreSQL 15 on 127.0.0.1 from the host's binaries: trust auth, data
# dir and unix socket dir in the state dir, a random free port. Sourced by env.sh.
# shellcheck shell=bash

PG_BINDIR=/usr/lib/postgresql/15/bin

# Run a PostgreSQL command as the postgres OS user when root (postgres refuses to run as root).
pg_as()
{
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_ready()
{
	"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PRISYNC_TEST_PG_PORT" -U postgres -d postgres
}

postgres_up()
{
	local dir data log attempt port=""
	h_ensure_pkg postgres "$PG_BINDIR/postgres" postgresql-15
	h_ensure_pkg postgres "$PG_BINDIR/pg_isready" postgresql-client-15
	if ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; then
		h_die "postgres: no 'postgres' OS user to run the server as (package postgresql-common creates it)"
	fi
	dir=$PRISYNC_TEST_STATE/pg
	data=$dir/data
	log=$dir/postgres.log
	mkdir -p "$dir/sock"
	printf 'PG_DIR=%q\n' "$dir" >"$PRISYNC_TEST_STATE/postgres.env"
	if ((EUID == 0)); then
		chown -R postgres: "$dir"
		pg_as test -w "$dir" ||
			h_die "postgres: the postgres OS user cannot write '$dir' (is a parent directory closed? set TMPDIR)"
	fi
	if ! pg_as "$PG_BINDIR/initdb" -D "$data" -U postgres --auth=trust --locale=C -E UTF8 -N \
		>"$dir/initdb.log" 2>&1; then
		tail -n 20 "$dir/initdb.log" >&2
		h_die "postgres: initdb failed"
	fi
	# throwaway data: durability off for speed
	printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$dir/sock'" \
		'fsync = off' 'synchronous_commit = off' 'full_page_writes = off' \
		"log_destination = 'stderr'" 'logging_collector = off' >>"$data/postgresql.conf"
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 25001))
		# something listens there already
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		rm -f "$log"
		if pg_as "$PG_BINDIR/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 60 -s start >/dev/null 2>&1; then
			break
		fi
		if grep -qE 'could not bind|could not create any TCP/IP sockets|Address already in use' "$log"; then
			h_log "postgres: port $port taken (attempt $attempt), trying another"
			port=""
			continue
		fi
		tail -n 20 "$log" >&2
		h_die "postgres: server failed to start"
	done
	[[ -n $port ]] || h_die "postgres: no free port found in 20000-45000"
	export PRISYNC_TEST_PG_HOST=127.0.0.1 PRISYNC_TEST_PG_PORT=$port PRISYNC_TEST_PG_USER=postgres
	export PRISYNC_TEST_PG_URL=postgresql://postgres@127.0.0.1:$port/postgres
	if ! h_poll 30 pg_ready; then
		tail -n 20 "$log" >&2
		h_die "postgres: no connection on 127.0.0.1:$port after 30s"
	fi
}

# postgres_is_ours PID DATA: is PID a postgres postmaster serving DATA?
postgres_is_ours()
{
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	exe=${exe% (deleted)}
	[[ ${exe##*/} == postgres ]] || return 1
	[[ $(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") == *"$2"* ]]
}

# postgres_down [STATE_DIR]: stop the server of this run (or of the run with STATE_DIR).
postgres_down()
{
	local state=${1:-$PRISYNC_TEST_STATE} PG_DIR="" data pid=""
	[[ -f $state/postgres.env ]] || return 0
	# shellcheck disable=SC1091
	source "$state/postgres.env"
	[[ -n $PG_DIR ]] || return 0
	data=$PG_DIR/data
	if [[ -f $data/postmaster.pid ]]; then
		pid=$(head -n1 "$data/postmaster.pid")
		if postgres_is_ours "$pid" "$data"; then
			h_log "stopping postgres (pid $pid)"
			if ! pg_as "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w -t 30 -s stop >/dev/null 2>&1 &&
				postgres_is_ours "$pid" "$data"; then
				h_log "postgres (pid $pid) did not stop, killing it"
				kill -KILL "$pid" 2>/dev/null || true
				h_poll 10 engine_gone "$pid" || true
			fi
		fi
	fi
	rm -rf "$PG_DIR"
	rm -f "$state/postgres.env"
}
