#!/usr/bin/env bash
# compose.sh - the docker compose v2 binary that e2e tests and benchmarks compare prisync
# with: Debian trixie's docker-compose .deb, fetched with apt in a private state directory
# from the mirror this machine's apt sources already name, unpacked under the cache dir.
#
#   tests/harness/compose.sh path    print the binary's path (fetching it once); exit 3 when
#                                    it cannot be had (1 under CI=true)
#   source compose.sh; compose_up    the same for env.sh: sets PRISYNC_TEST_COMPOSE
#
# Nothing outside $PRISYNC_TEST_CACHE/compose/ is written: the system's apt lists, cache,
# status and locks stay untouched, and no mirror address lives in the project.
# shellcheck shell=bash

COMPOSE_SUITE=trixie
COMPOSE_PKG=docker-compose
COMPOSE_ARCH=amd64
# where Debian's package puts the CLI plugin; it also runs standalone (`docker-compose config`)
COMPOSE_PLUGIN_PATH=usr/libexec/docker/cli-plugins/docker-compose

# Standalone use has no env.sh around it: provide its logging and "missing" contract.
if ! declare -F h_log >/dev/null; then
	h_log()
	{
		printf 'harness: %s\n' "$*" >&2
	}
fi
if ! declare -F h_missing >/dev/null; then
	h_missing()
	{
		if [[ ${CI:-} == true ]]; then
			h_log "error: $* (CI=true: a missing component is a failure, not a skip)"
			exit 1
		fi
		h_log "missing: $*"
		exit 3
	}
fi

# Print "URI<TAB>SIGNED-BY" of the first Debian main-archive entry of the system's apt
# sources (one-line .list files and deb822 .sources files): an entry of type deb whose
# suite is a bare codename (not -security, -updates, -backports) with component main.
compose_apt_mirror()
{
	local SL="" SP="" f line uri suite opts signed key val
	local -a words
	eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d 2>/dev/null)"
	SL=${SL:-/etc/apt/sources.list}
	SP=${SP:-/etc/apt/sources.list.d/}
	for f in "$SL" "$SP"/*.list; do
		[[ -r $f ]] || continue
		while read -r line; do
			line=${line%%#*}
			read -ra words <<<"$line"
			((${#words[@]} >= 4)) && [[ ${words[0]} == deb ]] || continue
			opts="" signed=""
			if [[ ${words[1]} == \[* ]]; then
				# options may span words: [arch=amd64 signed-by=/k.gpg]
				while [[ ${words[1]} != *\] ]]; do
					opts+=" ${words[1]}"
					words=("${words[0]}" "${words[@]:2}")
				done
				opts+=" ${words[1]}"
				words=("${words[0]}" "${words[@]:2}")
				[[ $opts =~ signed-by=([^] ]+) ]] && signed=${BASH_REMATCH[1]}
			fi
			uri=${words[1]} suite=${words[2]}
			[[ $suite != */* && $suite != *-* && " ${words[*]:3} " == *" main "* ]] || continue
			printf '%s\t%s\n' "$uri" "$signed"
			return 0
		done <"$f"
	done
	for f in "$SP"/*.sources; do
		[[ -r $f ]] || continue
		# one stanza at a time; a blank line ends it (a trailing one is added)
		local types="" uris="" suites="" comps="" enabled=yes
		signed=""
		while IFS= read -r line || [[ -n $line ]]; do
			if [[ -z ${line//[[:space:]]/} ]]; then
				if [[ " $types " == *" deb "* && $enabled != no && " $comps " == *" main "* ]]; then
					for suite in $suites; do
						if [[ $suite != */* && $suite != *-* ]]; then
							read -r uri _ <<<"$uris"
							printf '%s\t%s\n' "$uri" "$signed"
							return 0
						fi
					done
				fi
				types="" uris="" suites="" comps="" enabled=yes signed=""
				continue
			fi
			[[ $line == \#* || $line == [[:space:]]* ]] && continue
			key=${line%%:*} val=${line#*:}
			val=${val#"${val%%[![:space:]]*}"}
			case ${key,,} in
			types) types=$val ;;
			uris) uris=$val ;;
			suites) suites=$val ;;
			components) comps=$val ;;
			enabled) enabled=${val,,} ;;
			signed-by) signed=$val ;;
			esac
		done < <(cat "$f"; echo)
	done
	return 1
}

# Fetch and unpack the .deb into DEST (a new directory); returns non-zero with a message
# on stderr when apt cannot get it.
compose_fetch()
{
	local dest=$1 apt=$1/apt mirror uri signed opt
	local -a o
	mirror=$(compose_apt_mirror) || { h_log "compose: no Debian mirror in the apt sources"; return 1; }
	uri=${mirror%%$'\t'*} signed=${mirror#*$'\t'}
	if [[ -z $signed && -r /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
		signed=/usr/share/keyrings/debian-archive-keyring.gpg
	fi
	mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$dest/deb"
	: >"$apt/state/status"
	opt="arch=$COMPOSE_ARCH"
	[[ -n $signed ]] && opt+=" signed-by=$signed"
	printf 'deb [%s] %s %s main\n' "$opt" "$uri" "$COMPOSE_SUITE" >"$apt/sources.list"
	# every path apt would read or write points into $apt: the system's lists, cache,
	# dpkg status, pinning and locks are neither used nor touched
	o=(-q -o "Dir::State=$apt/state" -o "Dir::State::status=$apt/state/status"
		-o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/sources.list"
		-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null -o "APT::Architecture=$COMPOSE_ARCH"
		-o "APT::Architectures=$COMPOSE_ARCH" -o Acquire::Languages=none
		-o Debug::NoLocking=1 -o "APT::Sandbox::User=$(id -un)")
	h_log "compose: apt-get update ($COMPOSE_SUITE, private state in $apt)"
	apt-get "${o[@]}" update >"$dest/apt.log" 2>&1 || { tail -5 "$dest/apt.log" >&2; return 1; }
	(cd "$dest/deb" && apt-get "${o[@]}" download "$COMPOSE_PKG") >>"$dest/apt.log" 2>&1 ||
		{ tail -5 "$dest/apt.log" >&2; return 1; }
	dpkg-deb -x "$dest"/deb/"$COMPOSE_PKG"_*.deb "$dest/root" || return 1
	[[ -x $dest/root/$COMPOSE_PLUGIN_PATH ]] || { h_log "compose: the package has no $COMPOSE_PLUGIN_PATH"; return 1; }
	# the lists and the .deb are only needed once
	rm -rf "$apt" "$dest/deb"
}

# Set COMPOSE_BIN to the cached binary, fetching it the first time. Concurrent runs: the
# second waits on the lock and then finds it done.
compose_install()
{
	local base=$PRISYNC_TEST_CACHE/compose dest tmp lockfd
	dest=$base/$COMPOSE_SUITE-$COMPOSE_ARCH
	COMPOSE_BIN=$dest/root/$COMPOSE_PLUGIN_PATH
	[[ -f $dest/.installed && -x $COMPOSE_BIN ]] && return 0
	[[ $(uname -m) == x86_64 ]] || h_missing "compose: Debian's $COMPOSE_PKG is fetched for amd64, this is $(uname -m)"
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
		h_missing "compose: apt-get and dpkg-deb are needed to fetch Debian's $COMPOSE_PKG"
	mkdir -p "$base"
	exec {lockfd}>>"$base/install.lock"
	flock -w 900 "$lockfd" || h_missing "compose: timed out waiting for another install"
	if [[ -f $dest/.installed && -x $COMPOSE_BIN ]]; then
		exec {lockfd}>&-
		return 0
	fi
	tmp=$(mktemp -d "$base/.tmp.XXXXXX")
	if ! compose_fetch "$tmp"; then
		rm -rf "$tmp"
		exec {lockfd}>&-
		h_missing "compose: cannot fetch Debian $COMPOSE_SUITE's $COMPOSE_PKG with apt"
	fi
	touch "$tmp/.installed"
	chmod 755 "$tmp"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	exec {lockfd}>&-
	h_log "compose: $("$COMPOSE_BIN" version) in $dest"
}

compose_up()
{
	PRISYNC_TEST_CACHE=${PRISYNC_TEST_CACHE:-${HOME:-/root}/.cache/prisync-test}
	compose_install
	PRISYNC_TEST_COMPOSE=$COMPOSE_BIN
	export PRISYNC_TEST_COMPOSE
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	path)
		compose_up
		printf '%s\n' "$PRISYNC_TEST_COMPOSE"
		;;
	*)
		printf 'usage: %s path\n' "$0" >&2
		exit 2
		;;
	esac
fi
