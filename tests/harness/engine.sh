# engine.sh - the Docker engine for e2e tests: an engine that already answers, or (as root) a
# private dockerd on a persistent data root under the cache dir. Sourced by env.sh.
# shellcheck shell=bash

ENGINE_LABEL=prisync-test.run

# engine_ping DOCKER_HOST: does GET /_ping answer OK?
engine_ping()
{
	local host=$1 out=""
	case $host in
	unix://*)
		[[ -S ${host#unix://} ]] || return 1
		out=$(curl -sS --max-time 2 --unix-socket "${host#unix://}" http://localhost/_ping 2>/dev/null) || return 1
		;;
	tcp://*)
		out=$(curl -sS --max-time 2 "http://${host#tcp://}/_ping" 2>/dev/null) || return 1
		;;
	*)
		return 1
		;;
	esac
	[[ $out == OK ]]
}

# Paths of the private engine; the runtime dir is short because unix socket paths must stay
# below 108 bytes, and it is keyed by the data root because there is one dockerd per data root.
engine_private_paths()
{
	local key
	ENGINE_DATA_ROOT=$PRISYNC_TEST_CACHE/docker
	key=$(printf '%s' "$ENGINE_DATA_ROOT" | sha256sum | cut -c1-12)
	ENGINE_RUN_DIR=/run/prisync-test/$key
	ENGINE_EXEC_ROOT=$ENGINE_RUN_DIR/exec
	ENGINE_PIDFILE=$ENGINE_RUN_DIR/docker.pid
	ENGINE_SOCK=$ENGINE_RUN_DIR/docker.sock
	ENGINE_LOCK=$PRISYNC_TEST_CACHE/docker.lock
	ENGINE_OWNER=$PRISYNC_TEST_CACHE/docker.owner
}

# engine_is_ours PID: is PID a dockerd running on our data root?
engine_is_ours()
{
	local pid=$1 cmd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(engine_exe "$pid") == dockerd ]] || return 1
	cmd=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $'\n'$cmd$'\n' == *$'\n'--data-root$'\n'"$ENGINE_DATA_ROOT"$'\n'* ]]
}

engine_alive()
{
	kill -0 "$1" 2>/dev/null && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]
}

engine_gone()
{
	! engine_alive "$1"
}

# engine_kill PID SECONDS WHAT: SIGTERM, wait up to SECONDS, then SIGKILL.
engine_kill()
{
	local pid=$1 secs=$2 what=$3
	engine_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! h_poll "$secs" engine_gone "$pid"; then
		h_log "$what (pid $pid) still running after ${secs}s, killing it"
		kill -KILL "$pid" 2>/dev/null || true
		h_poll 10 engine_gone "$pid" || h_log "warning: $what (pid $pid) survived SIGKILL"
	fi
}

# Basename of the executable of PID ("" when gone).
engine_exe()
{
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	exe=${exe% (deleted)}
	printf '%s' "${exe##*/}"
}

# Stop the private dockerd on our data root (if any) and whatever it leaves behind.
engine_stop_private()
{
	local pid="" p comm exe cmd fd
	pid=$(cat "$ENGINE_PIDFILE" 2>/dev/null) || pid=""
	if [[ -n $pid ]] && engine_is_ours "$pid"; then
		h_log "stopping private dockerd (pid $pid)"
		engine_kill "$pid" 30 dockerd
	fi
	# dockerd stops its containerd when it exits cleanly, not after SIGKILL. Its children
	# (containerd, shims, docker-proxy) inherit the lock fd: any holder left is a leftover.
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		# comm first (read is a builtin: no fork per process)
		read -r comm 2>/dev/null <"/proc/$p/comm" || continue
		case $comm in
		dockerd | containerd | containerd-shim* | docker-proxy | runc) ;;
		*) continue ;;
		esac
		exe=$(engine_exe "$p") || continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		if [[ $cmd != *"$ENGINE_EXEC_ROOT/"* ]]; then
			for fd in "/proc/$p/fd/"*; do
				[[ $(readlink "$fd" 2>/dev/null) == "$ENGINE_LOCK" ]] && break
				fd=""
			done
			[[ -n $fd ]] || continue
		fi
		h_log "stopping leftover $exe (pid $p)"
		engine_kill "$p" 10 "$exe"
	done
	rm -f "$ENGINE_PIDFILE" "$ENGINE_SOCK"
}

# Is the run recorded in the owner file still alive?
engine_owner_alive()
{
	local pid=""
	read -r pid _ 2>/dev/null <"$ENGINE_OWNER" || return 1
	# the same owner running up again without down: its earlier engine is abandoned
	[[ $pid != "$H_OWNER_PID" ]] || return 1
	h_owner_alive "$ENGINE_OWNER"
}

# Take the data-root lock (fd ENGINE_LOCK_FD). A run that holds it and is still alive makes us
# wait; a lock held by the dockerd of a run that died is broken by stopping that dockerd.
engine_lock()
{
	local deadline waited=0 timeout=${PRISYNC_TEST_LOCK_TIMEOUT:-3600}
	exec {ENGINE_LOCK_FD}>>"$ENGINE_LOCK"
	deadline=$(($(h_now_ms) + timeout * 1000))
	until flock -n "$ENGINE_LOCK_FD"; do
		if [[ -s $ENGINE_OWNER ]] && ! engine_owner_alive; then
			h_log "private dockerd of a dead run ($(cat "$ENGINE_OWNER")) holds the data root"
			engine_stop_private
			flock -w 10 "$ENGINE_LOCK_FD" && break
		fi
		if ((!waited)); then
			h_log "waiting for the run that uses $ENGINE_DATA_ROOT ($(cat "$ENGINE_OWNER" 2>/dev/null || true))"
			waited=1
		fi
		(($(h_now_ms) < deadline)) || h_die "timed out after ${timeout}s waiting for lock '$ENGINE_LOCK'"
		sleep 0.5
	done
	h_owner_line >"$ENGINE_OWNER"
}

engine_up_private()
{
	local dockerd pid cfg log deadline
	engine_private_paths
	dockerd=$(command -v dockerd || printf '/usr/sbin/dockerd')
	if [[ ! -x $dockerd ]]; then
		h_ensure_pkg engine "$dockerd" docker.io
		dockerd=$(command -v dockerd || printf '/usr/sbin/dockerd')
		# where an init system runs, installing docker.io starts the system engine
		if engine_ping unix:///var/run/docker.sock; then
			h_log "using the engine at /var/run/docker.sock (started by the docker.io package)"
			DOCKER_HOST=unix:///var/run/docker.sock
			export DOCKER_HOST
			return 0
		fi
	fi
	mkdir -p "$ENGINE_DATA_ROOT" "$ENGINE_EXEC_ROOT"
	chmod 700 "$ENGINE_RUN_DIR"
	engine_lock
	# a dockerd that runs on our data root without the lock (started by hand?) must go too
	engine_stop_private

	{
		printf 'ENGINE_PRIVATE=1\n'
		printf 'ENGINE_DATA_ROOT=%q\nENGINE_EXEC_ROOT=%q\n' "$ENGINE_DATA_ROOT" "$ENGINE_EXEC_ROOT"
		printf 'ENGINE_PIDFILE=%q\nENGINE_SOCK=%q\n' "$ENGINE_PIDFILE" "$ENGINE_SOCK"
	} >"$PRISYNC_TEST_STATE/engine.env"
	# an empty config keeps the host's /etc/docker/daemon.json out
	cfg=$PRISYNC_TEST_STATE/daemon.json
	printf '{}\n' >"$cfg"
	log=$PRISYNC_TEST_STATE/dockerd.log
	h_log "starting private dockerd (data root $ENGINE_DATA_ROOT, log $log)"
	# dockerd inherits the lock fd and so holds the lock for as long as it lives
	setsid "$dockerd" --config-file "$cfg" --data-root "$ENGINE_DATA_ROOT" \
		--exec-root "$ENGINE_EXEC_ROOT" --pidfile "$ENGINE_PIDFILE" -H "unix://$ENGINE_SOCK" \
		--ip 127.0.0.1 --bridge none --iptables=false --ip-masq=false \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	exec {ENGINE_LOCK_FD}>&-
	deadline=$(($(h_now_ms) + 60000))
	until engine_ping "unix://$ENGINE_SOCK"; do
		if ! engine_alive "$pid" || (($(h_now_ms) >= deadline)); then
			h_log "dockerd did not answer /_ping (log tail follows)"
			tail -n 30 "$log" >&2 || true
			h_die "private dockerd failed to start"
		fi
		sleep 0.1
	done
	DOCKER_HOST=unix://$ENGINE_SOCK
	export DOCKER_HOST
	engine_prune_stale
}

# The private engine is ours alone (lock): whatever an earlier run left behind is stale.
engine_prune_stale()
{
	local ids
	ids=$(docker ps -aq --filter "label=$ENGINE_LABEL" | sort -u)
	if [[ -n $ids ]]; then
		h_log "removing $(wc -w <<<"$ids") container(s) left by earlier runs"
		# shellcheck disable=SC2086
		docker rm -f -v $ids >/dev/null
	fi
	ids=$(docker network ls -q --filter "label=$ENGINE_LABEL")
	# shellcheck disable=SC2086
	[[ -z $ids ]] || docker network rm $ids >/dev/null
	ids=$(docker volume ls -q --filter "label=$ENGINE_LABEL")
	# shellcheck disable=SC2086
	[[ -z $ids ]] || docker volume rm -f $ids >/dev/null
	# earlier builds of the test images that were still in use when they were replaced
	docker image prune -f --filter label=prisync-test.hash >/dev/null
}

# Remove every container, network and volume labelled with run RUN (backstop cleanup).
engine_cleanup_run()
{
	local run=$1 ids rc=0
	ids=$(docker ps -aq --filter "label=$ENGINE_LABEL=$run") || return 1
	if [[ -n $ids ]]; then
		h_log "removing $(wc -w <<<"$ids") container(s) of run $run"
		# shellcheck disable=SC2086
		docker rm -f -v $ids >/dev/null || rc=1
	fi
	ids=$(docker network ls -q --filter "label=$ENGINE_LABEL=$run") || return 1
	if [[ -n $ids ]]; then
		h_log "removing $(wc -w <<<"$ids") network(s) of run $run"
		# shellcheck disable=SC2086
		docker network rm $ids >/dev/null || rc=1
	fi
	ids=$(docker volume ls -q --filter "label=$ENGINE_LABEL=$run") || return 1
	if [[ -n $ids ]]; then
		h_log "removing $(wc -w <<<"$ids") volume(s) of run $run"
		# shellcheck disable=SC2086
		docker volume rm -f $ids >/dev/null || rc=1
	fi
	return "$rc"
}

engine_need_cli()
{
	if ! command -v docker >/dev/null; then
		h_ensure_pkg "docker cli" /usr/bin/docker docker.io
	fi
}

engine_up()
{
	# the CLI refuses DOCKER_HOST together with a DOCKER_CONTEXT
	unset DOCKER_CONTEXT
	command -v curl >/dev/null || h_ensure_pkg engine /usr/bin/curl curl
	if [[ -n ${DOCKER_HOST:-} ]]; then
		if engine_ping "$DOCKER_HOST"; then
			h_log "using the engine at DOCKER_HOST=$DOCKER_HOST"
			engine_need_cli
			export DOCKER_HOST
			return 0
		fi
		h_log "DOCKER_HOST=$DOCKER_HOST does not answer /_ping"
		unset DOCKER_HOST
	fi
	if engine_ping unix:///var/run/docker.sock; then
		h_log "using the engine at /var/run/docker.sock"
		DOCKER_HOST=unix:///var/run/docker.sock
		engine_need_cli
		export DOCKER_HOST
		return 0
	fi
	if ((EUID != 0)); then
		h_missing "engine: no Docker engine answers (DOCKER_HOST, /var/run/docker.sock) and only root can start a private dockerd"
	fi
	engine_need_cli
	engine_up_private
}

engine_down()
{
	local rc=0 ENGINE_PRIVATE=0
	if [[ -f $PRISYNC_TEST_STATE/engine.env ]]; then
		# shellcheck disable=SC1091
		source "$PRISYNC_TEST_STATE/engine.env"
	fi
	if [[ -n ${DOCKER_HOST:-} ]] && engine_ping "$DOCKER_HOST"; then
		engine_cleanup_run "$PRISYNC_TEST_RUN" || rc=1
	fi
	if ((ENGINE_PRIVATE)); then
		engine_private_paths
		local owner_run=""
		read -r _ _ owner_run 2>/dev/null <"$ENGINE_OWNER" || true
		if [[ $owner_run == "$PRISYNC_TEST_RUN" ]]; then
			engine_stop_private
		else
			h_log "private dockerd now belongs to run '${owner_run:-?}', leaving it alone"
		fi
		rm -f "$PRISYNC_TEST_STATE/engine.env"
	fi
	return "$rc"
}
