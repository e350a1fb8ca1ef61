#!/usr/bin/env bash
# build-curl.sh - a static libcurl with only what prisync uses (HTTP over unix sockets and
# TCP, TLS through the system's OpenSSL), built once from Debian's own source package and
# cached.  Debian's libcurl4 links Kerberos, LDAP, librtmp/GnuTLS, libssh2, nghttp2,
# libidn2, libpsl ...: ~30 shared libraries whose loading costs every prisync run ~4 ms
# before main(), more than `prisync ps` spends on its own work.
#
#   scripts/build-curl.sh              build into the cache unless it is there (idempotent)
#   scripts/build-curl.sh --print-dir  print the directory the Makefile links from
#
# The source comes from the Debian mirror this machine's apt sources already name, fetched
# with apt in a private state directory (nothing of the system's apt is touched, no mirror
# address lives in the project).  When it cannot be had, the build goes on with the
# system's shared libcurl and this script says so: prisync works the same, starts slower.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${PRISYNC_BUILD_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/prisync-build}
# the configure line is part of the key: a change rebuilds.  OpenSSL's configuration file is
# not loaded (--disable-openssl-auto-load-config): loading it faults in ~1 MiB of libcrypto
# that an idle supervisor would keep, for TLS to a Docker engine only (OpenSSL's defaults)
configure_flags=(--disable-shared --enable-static --with-openssl --enable-unix-sockets
	--without-zlib --without-brotli --without-zstd --without-nghttp2 --without-libidn2
	--without-libpsl --without-librtmp --without-libssh2 --without-gssapi --disable-ldap
	--disable-ldaps --disable-ftp --disable-file --disable-dict --disable-telnet
	--disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher
	--disable-mqtt --disable-rtsp --disable-smb --disable-ntlm --disable-alt-svc
	--disable-hsts --disable-cookies --disable-manual --disable-docs
	--disable-openssl-auto-load-config)
current=$cache/curl # a symlink to the finished build

log()
{
	printf 'build-curl: %s\n' "$*" >&2
}

if [[ ${1:-} == --print-dir ]]; then
	printf '%s\n' "$current"
	exit 0
fi
[[ $# -eq 0 ]] || { log "unknown argument '$1' (use --print-dir)"; exit 2; }

# one source change, part of the key too: libcurl's global init no longer initialises
# OpenSSL (engines, ciphers, digests: ~1.9 MiB of libcrypto faulted in, kept by an idle
# supervisor that talks to a unix socket).  OpenSSL 1.1+ initialises itself when TLS is
# first used (a tcp:// engine with DOCKER_TLS_VERIFY), so nothing else changes.
lazy_ssl_patch='s|^\([[:space:]]*\)OPENSSL_init_ssl(flags, NULL);|\1(void)flags; /* prisync: OpenSSL initialises itself on first use */|'
key=$(printf '%s\n' "${configure_flags[@]}" "$lazy_ssl_patch" | sha256sum | cut -c1-12)
if [[ -f $current/lib/libcurl.a && -f $current/.key && $(cat "$current/.key") == "$key" ]]; then
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.curl.lock"
flock 9
# another build may have finished while we waited
if [[ -f $current/lib/libcurl.a && -f $current/.key && $(cat "$current/.key") == "$key" ]]; then
	exit 0
fi

# compose_apt_mirror: the first Debian main-archive entry of the apt sources
# shellcheck source=../tests/harness/compose.sh
source "$here/../tests/harness/compose.sh"

failed=$cache/.curl-failed-$key
fallback()
{
	log "$* — linking the system's shared libcurl instead (prisync starts ~4 ms slower;"
	log "remove $failed to try again)"
	: >"$failed"
	exit 0
}
# tried and failed before: do not pay for it on every make
[[ -e $failed ]] && exit 0

command -v dpkg-source >/dev/null || fallback "dpkg-source not found (package dpkg-dev)"
suite=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
[[ -n $suite ]] || fallback "no VERSION_CODENAME in /etc/os-release"
mirror=$(compose_apt_mirror) || fallback "no Debian mirror in the apt sources"
uri=${mirror%%$'\t'*} signed=${mirror#*$'\t'}
if [[ -z $signed && -r /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
	signed=/usr/share/keyrings/debian-archive-keyring.gpg
fi

work=$(mktemp -d "$cache/curl-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
apt=$work/apt
mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial"
: >"$apt/state/status"
opt=""
[[ -n $signed ]] && opt="[signed-by=$signed] "
printf 'deb-src %s%s %s main\ndeb-src %s%s %s-updates main\n' \
	"$opt" "$uri" "$suite" "$opt" "$uri" "$suite" >"$apt/sources.list"
o=(-q -o "Dir::State=$apt/state" -o "Dir::State::status=$apt/state/status"
	-o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/sources.list"
	-o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null
	-o Dir::Etc::PreferencesParts=/dev/null -o Acquire::Languages=none
	-o Debug::NoLocking=1 -o "APT::Sandbox::User=$(id -un)")
log "fetching Debian's curl source ($suite)"
apt-get "${o[@]}" update >"$work/apt.log" 2>&1 || fallback "apt-get update failed: $(tail -1 "$work/apt.log")"
(cd "$work" && apt-get "${o[@]}" source --download-only curl) >>"$work/apt.log" 2>&1 ||
	fallback "apt-get source curl failed: $(tail -1 "$work/apt.log")"
dsc=$(ls "$work"/curl_*.dsc)
version=$(basename "$dsc" .dsc)
version=${version#curl_}
# with Debian's patches (security fixes) applied
dpkg-source --no-check -x "$dsc" "$work/src" >"$work/src.log" 2>&1 ||
	fallback "dpkg-source -x failed: $(tail -1 "$work/src.log")"

sed -i "$lazy_ssl_patch" "$work/src/lib/vtls/openssl.c"
grep -q 'prisync: OpenSSL initialises itself' "$work/src/lib/vtls/openssl.c" ||
	log "note: curl's OpenSSL init was not found to patch (a newer curl?): built as it is"

dest=$cache/curl-$version-$key
rm -rf "$dest"
log "building libcurl $version (static, HTTP + OpenSSL only; ~30 s, once)"
(
	cd "$work/src"
	CFLAGS="-O2 -g -fPIC" ./configure --prefix="$dest" "${configure_flags[@]}" >"$work/configure.log" 2>&1
	make -j"$(nproc)" -C lib >"$work/make.log" 2>&1
	make -C lib install >>"$work/make.log" 2>&1
	make -C include install >>"$work/make.log" 2>&1
) || {
	tail -20 "$work"/configure.log "$work"/make.log >&2 || true
	rm -rf "$dest"
	fallback "building libcurl $version failed"
}
printf '%s\n' "$key" >"$dest/.key"
ln -sfn "$(basename "$dest")" "$current.tmp"
mv -T "$current.tmp" "$current"
log "libcurl $version ready in $dest"
