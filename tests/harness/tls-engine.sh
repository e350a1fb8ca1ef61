#!/usr/bin/env bash
# tls-engine.sh - a second private dockerd for tests/e2e/test_engine_tls.c: TLS material made
# with openssl, dockerd on tcp://127.0.0.1:PORT with --tlsverify, the busybox test image copied
# in from the harness engine, and the clean-up of whatever that dockerd leaves behind.
#
#   tls-engine.sh certs DIR               DIR/pki/: ca, other-ca (unrelated), server
#                                         (IP:127.0.0.1), client, client-other (signed by
#                                         other-ca), client-enc (encrypted key)
#   tls-engine.sh run DIR PORT RUNDIR     exec dockerd: the test spawns this and owns the pid
#   tls-engine.sh ping DIR PORT           exit 0 when /_ping over TLS (curl) answers OK
#   tls-engine.sh load RUNDIR IMAGE       docker save IMAGE on $DOCKER_HOST | load into ours
#   tls-engine.sh clean DIR RUNDIR        after dockerd has exited: stop its leftovers (containerd,
#                                         shims, container processes), unmount, remove its dirs
#   tls-engine.sh sweep                   clean up after tests that died (SIGKILL, a crash):
#                                         every RUNDIR whose owner file names a dead pid
#
# DIR is the test's private dir (data root DIR/docker, pidfile, log DIR/dockerd.log); RUNDIR
# is short (/run/prisync-test/tls-XXXXXX): the exec root holds unix sockets (< 108 bytes).
# RUNDIR/owner is "PID DIR" of the test process.  dockerd dies with the test process
# (setpriv --pdeathsig), so a dead owner means nothing of its engine is in use.
set -euo pipefail

die()
{
	printf 'tls-engine: %s\n' "$*" >&2
	exit 1
}

# Short validity: these only live as long as one test run.
DAYS=2

# key NAME: a P-256 key, unencrypted (PKCS#8).
key()
{
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# ca DIR CN: a self-signed CA (ca.pem, ca-key.pem).
ca()
{
	local d=$1 cn=$2
	mkdir -p "$d"
	key "$d/ca-key.pem"
	openssl req -x509 -new -key "$d/ca-key.pem" -out "$d/ca.pem" -days "$DAYS" -subj "/CN=$cn" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
}

# leaf DIR CN CADIR EXT...: cert.pem + key.pem signed by CADIR with extensions EXT (lines).
leaf()
{
	local d=$1 cn=$2 cadir=$3 ext
	shift 3
	mkdir -p "$d"
	key "$d/key.pem"
	openssl req -new -key "$d/key.pem" -out "$d/req.csr" -subj "/CN=$cn" 2>/dev/null
	ext=$d/ext.cnf
	printf '%s\n' "$@" >"$ext"
	openssl x509 -req -in "$d/req.csr" -CA "$cadir/ca.pem" -CAkey "$cadir/ca-key.pem" \
		-CAcreateserial -out "$d/cert.pem" -days "$DAYS" -extfile "$ext" 2>/dev/null
	rm -f "$d/req.csr" "$ext"
}

cmd_certs()
{
	local pki=$1/pki
	command -v openssl >/dev/null || die "openssl is not installed"
	mkdir -p "$pki"
	ca "$pki/ca" "prisync test CA"
	ca "$pki/other-ca" "unrelated CA"
	leaf "$pki/server" 127.0.0.1 "$pki/ca" "subjectAltName=IP:127.0.0.1" \
		"extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature"
	leaf "$pki/client" client "$pki/ca" "extendedKeyUsage=clientAuth" \
		"keyUsage=critical,digitalSignature"
	leaf "$pki/client-other" client "$pki/other-ca" "extendedKeyUsage=clientAuth" \
		"keyUsage=critical,digitalSignature"
	mkdir -p "$pki/client-enc"
	cp "$pki/client/cert.pem" "$pki/client-enc/cert.pem"
	openssl pkey -in "$pki/client/key.pem" -aes256 -passout pass:prisync \
		-out "$pki/client-enc/key.pem"
	chmod -R go-rwx "$pki"
}

cmd_run()
{
	local dir=$1 port=$2 rundir=$3 dockerd pool
	dockerd=$(command -v dockerd || printf '/usr/sbin/dockerd')
	[[ -x $dockerd ]] || die "dockerd is not installed"
	mkdir -p "$rundir/exec" "$dir/docker"
	printf '{}\n' >"$dir/daemon.json"
	# user-defined networks come from a pool of their own (keyed by the port, so two runs
	# differ) rather than the one the harness engine uses for its bridges
	pool="base=10.$((100 + port % 100)).0.0/16,size=24"
	# the empty config keeps /etc/docker/daemon.json out; a containerd namespace of our own
	# keeps us apart even if dockerd ever picks up a system containerd
	exec "$dockerd" --config-file "$dir/daemon.json" --data-root "$dir/docker" \
		--exec-root "$rundir/exec" --pidfile "$dir/docker.pid" \
		-H "tcp://127.0.0.1:$port" -H "unix://$rundir/docker.sock" \
		--tlsverify --tlscacert "$dir/pki/ca/ca.pem" \
		--tlscert "$dir/pki/server/cert.pem" --tlskey "$dir/pki/server/key.pem" \
		--bridge none --iptables=false --ip-masq=false --ip 127.0.0.1 \
		--default-address-pool "$pool" \
		--containerd-namespace prisync-tls --containerd-plugins-namespace prisync-tls-plugins \
		</dev/null >>"$dir/dockerd.log" 2>&1
}

cmd_ping()
{
	local dir=$1 port=$2 out
	out=$(curl -sS --max-time 2 --cacert "$dir/pki/ca/ca.pem" --cert "$dir/pki/client/cert.pem" \
		--key "$dir/pki/client/key.pem" "https://127.0.0.1:$port/_ping" 2>/dev/null) || return 1
	[[ $out == OK ]]
}

cmd_load()
{
	local rundir=$1 image=$2
	[[ -n ${DOCKER_HOST:-} ]] || die "DOCKER_HOST (the harness engine) is not set"
	unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
	docker -H "$DOCKER_HOST" save "$image" | docker -H "unix://$rundir/docker.sock" load -q
}

alive()
{
	kill -0 "$1" 2>/dev/null && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop PID: SIGTERM, 10 s, SIGKILL, 5 s.  Fails when it survives.
stop()
{
	local pid=$1 i
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	printf 'tls-engine: pid %s survived SIGKILL\n' "$pid" >&2
	return 1
}

# Processes of our engine: the dockerd or containerd/shims/runc with our dirs on their
# command line, and container processes whose root is in our data root.
ours()
{
	local dir=$1 rundir=$2 p cmd root
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p != "$$" ]] || continue
		root=$(readlink "/proc/$p/root" 2>/dev/null) || continue
		if [[ $root == "$dir/docker/"* ]]; then
			printf '%s\n' "$p"
			continue
		fi
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		case $cmd in
		*dockerd*"$dir/docker "* | *containerd*"$rundir/"* | *runc*"$rundir/"*)
			printf '%s\n' "$p"
			;;
		esac
	done
}

cmd_clean()
{
	local dir=$1 rundir=$2 rc=0 p m
	[[ -n $dir && -n $rundir && $rundir == /run/prisync-test/* ]] || die "clean: bad arguments"
	for p in $(ours "$dir" "$rundir"); do
		printf 'tls-engine: stopping leftover %s (pid %s)\n' \
			"$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)" "$p" >&2
		stop "$p" || rc=1
	done
	# deepest first: overlay mounts of containers, network namespaces, shm
	while read -r m; do
		umount -l "$m" 2>/dev/null || { printf 'tls-engine: cannot unmount %s\n' "$m" >&2; rc=1; }
	done < <(awk -v a="$dir/docker/" -v b="$rundir/" \
		'index($5, a) == 1 || index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf "$dir/docker" "$rundir" || rc=1
	return "$rc"
}

cmd_sweep()
{
	local r pid dir rc=0
	for r in /run/prisync-test/tls-*; do
		[[ -d $r ]] || continue
		pid="" dir=""
		if ! read -r pid dir 2>/dev/null <"$r/owner"; then
			# a test that died between making RUNDIR and writing its owner file
			[[ -z $(find "$r" -maxdepth 0 -mmin +10) ]] || rm -rf "$r"
			continue
		fi
		if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
			continue
		fi
		printf 'tls-engine: cleaning up after test pid %s that died (%s, %s)\n' "$pid" "$r" \
			"$dir" >&2
		if [[ $dir == /*/prisync-test-* ]]; then
			cmd_clean "$dir" "$r" || rc=1
			rm -rf "$dir"
		else
			rm -rf "$r"
		fi
	done
	return "$rc"
}

(($# >= 1)) || die "usage: tls-engine.sh certs|run|ping|load|clean|sweep ARGS..."
sub=$1
shift
case $sub in
certs) (($# == 1)) || die "usage: certs DIR"; cmd_certs "$@" ;;
run) (($# == 3)) || die "usage: run DIR PORT RUNDIR"; cmd_run "$@" ;;
ping) (($# == 2)) || die "usage: ping DIR PORT"; cmd_ping "$@" ;;
load) (($# == 2)) || die "usage: load RUNDIR IMAGE"; cmd_load "$@" ;;
clean) (($# == 2)) || die "usage: clean DIR RUNDIR"; cmd_clean "$@" ;;
sweep) (($# == 0)) || die "usage: sweep"; cmd_sweep ;;
*) die "unknown command '$sub'" ;;
esac
