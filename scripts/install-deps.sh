#!/usr/bin/env bash
# install-deps.sh - install the Debian packages prisync's build and tests need.
# Idempotent: when everything is present it only checks (a few ms). As root it runs
# apt-get; otherwise it prints the exact command to run and fails.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --build    build dependencies only (what plain `make` needs)
#   scripts/install-deps.sh --tools    build + test + the format/lint tools
#   scripts/install-deps.sh --print-build   list the build packages, one a line (the e2e
#                                      harness makes its Debian build image from them)
set -euo pipefail

build_pkgs=(gcc make pkg-config libc6-dev dpkg-dev
	libyaml-dev libinotifytools0-dev libpq-dev libgit2-dev libcurl4-openssl-dev
	libjansson-dev libarchive-dev libssl-dev libcmocka-dev)
# the e2e harness: a Docker engine, busybox-static and PostgreSQL 15 for the test images and
# the throwaway database, curl to ping the engine, git for the version stamp
test_pkgs=(docker.io busybox-static postgresql-15 postgresql-client-15 curl git
	util-linux procps ca-certificates)
tool_pkgs=(clang-format clang-tidy cppcheck valgrind clang libclang-rt-14-dev)

case ${1:-} in
--build) want=("${build_pkgs[@]}") ;;
--tools) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${tool_pkgs[@]}") ;;
--print-build) printf '%s\n' "${build_pkgs[@]}"; exit 0 ;;
"") want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "install-deps: unknown argument '$1' (use --build, --tools or --print-build)" >&2; exit 2 ;;
esac
# Node 20+ and npm run Prisma in the tests; the machine image ships them (NodeSource).
# Debian's own nodejs is only installed when no node is on PATH at all.
if [[ ${1:-} != --build ]] && ! command -v node >/dev/null 2>&1; then
	want+=(nodejs npm)
fi

# one dpkg-query for all: packages it does not know at all are simply not listed
declare -A installed=()
while read -r name status; do
	[[ $status == ii* ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${want[@]}" 2>/dev/null || true)
missing=()
for p in "${want[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

# after the packages: the static libcurl prisync links (cached; a no-op once built)
build_curl()
{
	"$(dirname "${BASH_SOURCE[0]}")/build-curl.sh"
}

if ((${#missing[@]} == 0)); then
	build_curl
	exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-deps: run as root:  apt-get update && $cmd" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# try without refreshing the package lists first: they are often fresh enough
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
build_curl
