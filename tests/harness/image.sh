#!/usr/bin/env bash
# image.sh - an e2e image that `env.sh up` does not make because few tests need it and its
# first build costs tens of seconds: built by the test that needs it, cached afterwards
# under the same content key as the other images (images.sh).
#
#   tests/harness/image.sh debian-dev   print the tag of Debian 12 with prisync's build
#                                       packages (from the host's own), building it first
#                                       unless it is up to date
#
# Needs DOCKER_HOST (source the state file of `env.sh up`).  Exit 0 ok; 3 a component is
# missing (1 under CI=true, with a message); 1 failure; 2 usage.
set -euo pipefail

# env.sh only defines its functions when sourced (and sets HARNESS_DIR, PRISYNC_TEST_CACHE)
# shellcheck source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"

image_main()
{
	local -a missing=()
	local p
	if (($# != 1)) || [[ $1 != debian-dev ]]; then
		printf 'usage: %s debian-dev\n' "$0" >&2
		exit 2
	fi
	trap 'h_on_err $?' ERR
	trap h_on_exit EXIT
	[[ -n ${DOCKER_HOST:-} ]] ||
		h_missing "debian-dev: DOCKER_HOST is not set (source the state file of env.sh up)"
	command -v docker >/dev/null || h_missing "debian-dev: the docker CLI is not installed"
	{ command -v apt-cache && command -v dpkg-query; } >/dev/null ||
		h_missing "debian-dev: made from the host's Debian packages, but this is not Debian"
	[[ $(. /etc/os-release && printf '%s' "${ID:-}-${VERSION_ID:-}") == debian-12 ]] ||
		h_missing "debian-dev: made from the host's packages, and the host is not Debian 12"
	while read -r p; do
		[[ $(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
	done < <("$IMAGES_INSTALL_DEPS" --print-build)
	((${#missing[@]} == 0)) ||
		h_missing "debian-dev: build packages not installed on the host: ${missing[*]} (scripts/install-deps.sh --build)"
	PRISYNC_TEST_STATE=${PRISYNC_TEST_STATE:-${TMPDIR:-/tmp}}
	mkdir -p "$PRISYNC_TEST_CACHE"
	# one build at a time; a second caller then finds it up to date
	exec 9>"$PRISYNC_TEST_CACHE/image-debian-dev.lock"
	flock 9
	images_ensure debian-dev "$PRISYNC_TEST_IMAGE_DEBIAN_DEV"
	printf '%s\n' "$PRISYNC_TEST_IMAGE_DEBIAN_DEV"
}

image_main "$@"
