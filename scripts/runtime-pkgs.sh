#!/usr/bin/env bash
# runtime-pkgs.sh - the Debian packages a prisync binary needs at run time: those that own
# the libraries it links (ldd, the loader included) and the ones base/lazy.c dlopen()s on
# first use (libpq, libgit2, libarchive, by the sonames the Makefile compiled in).
# Dockerfile.dev installs them in its runtime stage.
#
#   scripts/runtime-pkgs.sh BINARY     one package name a line, sorted
set -euo pipefail

bin=${1:?usage: runtime-pkgs.sh BINARY}
cc=${CC:-cc}
arch=$(dpkg --print-architecture)

die()
{
	printf 'runtime-pkgs: %s\n' "$*" >&2
	exit 1
}

[[ -x $bin ]] || die "'$bin' is not an executable"
out=$(ldd "$bin") || die "ldd '$bin' failed"
if grep -q 'not found' <<<"$out"; then
	die "libraries of '$bin' not found: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
fi
mapfile -t libs < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
# loaded on first use: the soname of each development link, found as the Makefile does
for l in pq git2 archive; do
	dev=$("$cc" -print-file-name="lib$l.so")
	so=$(objdump -p "$dev" 2>/dev/null | awk '/SONAME/ { print $2 }')
	[[ -n $so ]] || die "no soname for lib$l (is its -dev package installed?)"
	libs+=("${dev%/*}/$so")
done

for lib in "${libs[@]}"; do
	# dpkg knows a file by the path its package ships: with merged /usr, /lib/x/y and
	# /usr/lib/x/y are the same file, so match on the last directory and the name
	dir=${lib%/*}
	owners=$(dpkg-query -S "*/${dir##*/}/${lib##*/}" 2>/dev/null |
		awk -F': ' '$2 ~ /^\// { n = split($1, p, ", "); for (i = 1; i <= n; i++) print p[i] }') ||
		die "no package owns '$lib'"
	# a package of another architecture (lib32 ...) is not what the binary loads
	awk -F: -v arch="$arch" 'NF == 1 || $2 == arch { print $1 }' <<<"$owners"
done | sort -u
