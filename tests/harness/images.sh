# images.sh - the e2e test images, built with `docker import` from the host's own binaries
# (busybox-static, PostgreSQL 15, Node 20); never pulled. Sourced by env.sh. Also the
# Debian 12 build image (debian-dev), made from the host's own packages on first use by a
# test (tests/harness/image.sh), not at `up`.
#
# Each image carries LABEL prisync-test.hash: sha256 over this script, its entrypoint files, the
# dpkg versions of the source packages and, for every input file, path + type + size + mtime (ns)
# + inode (+ symlink target), libraries included. Contents are not hashed: stat is fast, and a
# package upgrade replaces files (new inode and mtime). The libraries found by ldd at build time
# are recorded in LABEL prisync-test.libs so that the check needs no ldd.
# shellcheck shell=bash

PRISYNC_TEST_IMAGE_BUSYBOX=prisync-test/busybox:latest
PRISYNC_TEST_IMAGE_POSTGRES=prisync-test/postgres:15
PRISYNC_TEST_IMAGE_NODE=prisync-test/node:20
# shellcheck disable=SC2034 # used by image.sh, which builds it on demand
PRISYNC_TEST_IMAGE_DEBIAN_DEV=prisync-test/debian-dev:12

IMAGES_PG_BIN=/usr/lib/postgresql/15/bin
IMAGES_PG_LIB=/usr/lib/postgresql/15/lib
IMAGES_PG_SHARE=/usr/share/postgresql/15
IMAGES_NPM=/usr/lib/node_modules/npm
IMAGES_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
IMAGES_PKGS=(busybox-static postgresql-15 postgresql-client-15 tzdata nodejs util-linux libc6 libc-bin)
IMAGES_DPKG=""
IMAGES_INSTALL_DEPS=$HARNESS_DIR/../../scripts/install-deps.sh
# what debian-dev leaves out of its packages' files: documentation and translations
IMAGES_DEV_SKIP='^/usr/share/(doc|doc-base|man|info|locale|lintian|linda|bug|gtk-doc|help)(/|$)'

# Input files and trees of image NAME (libraries excluded), one per line.
images_inputs()
{
	case $1 in
	busybox)
		printf '%s\n' /bin/busybox
		;;
	postgres)
		printf '%s\n' /bin/busybox /usr/bin/setpriv "$IMAGES_PG_BIN" "$IMAGES_PG_LIB" \
			"$IMAGES_PG_SHARE" /usr/share/zoneinfo /usr/lib/locale/C.utf8
		;;
	node)
		printf '%s\n' /bin/busybox /usr/bin/node /usr/bin/npm /usr/bin/npx "$IMAGES_NPM"
		;;
	esac
}

# Recipe files of image NAME: this script, plus rootfs/postgres-* for postgres.
images_recipe()
{
	printf '%s\n' "$HARNESS_DIR/images.sh"
	[[ $1 != postgres ]] || printf '%s\n' "$HARNESS_DIR"/rootfs/postgres-*
}

# ELF files of image NAME whose shared libraries go into the image.
images_elf_files()
{
	case $1 in
	postgres)
		printf '%s\n' /usr/bin/setpriv "$IMAGES_PG_BIN"/*
		find "$IMAGES_PG_LIB" -maxdepth 1 -name '*.so' ! -name 'llvmjit*'
		;;
	node)
		printf '%s\n' /usr/bin/node
		;;
	esac
}

# Shared libraries (and the dynamic loader) needed by FILES, one per line, sorted.
images_ldd()
{
	local out
	(($#)) || return 0
	out=$(ldd "$@" 2>&1 || true)
	if grep -q 'not found' <<<"$out"; then
		grep -B20 'not found' <<<"$out" >&2
		h_die "images: a shared library needed by the image is missing on the host"
	fi
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' <<<"$out" |
		sort -u
}

# images_key NAME LIBS: the content key of image NAME.  debian-dev's: its recipe, and the
# host's dpkg status file (any package installed, removed or upgraded rewrites it), the
# loader cache and the alternatives.
images_key()
{
	if [[ $1 != debian-dev ]]; then
		images_hash "$@"
		return
	fi
	{
		printf 'recipe\n'
		cat "$HARNESS_DIR/images.sh" "$IMAGES_INSTALL_DEPS" | sha256sum
		printf 'host\n'
		find /var/lib/dpkg/status /etc/ld.so.cache /etc/alternatives -maxdepth 0 \
			-printf '%p %s %T@ %i\n'
	} | sha256sum | cut -d' ' -f1
}

# images_hash NAME LIBS: the content key of image NAME.
images_hash()
{
	local name=$1 libs=$2 inputs
	mapfile -t inputs < <(images_inputs "$name")
	{
		printf 'recipe\n'
		images_recipe "$name" | xargs sha256sum
		printf 'dpkg %s\ninputs\n' "$IMAGES_DPKG"
		find "${inputs[@]}" \( -path "$IMAGES_PG_SHARE/man" -o -path "$IMAGES_PG_LIB/bitcode" \
			-o -name 'llvmjit*' \) -prune -o -printf '%p %y %s %T@ %i %l\n'
		printf 'libs\n'
		if [[ -n $libs ]]; then
			# shellcheck disable=SC2086
			find -L $libs -maxdepth 0 -printf '%p %s %T@ %i\n'
		fi
	} | sha256sum | cut -d' ' -f1
}

# Skeleton shared by all images: merged-/usr layout, /etc files, busybox in /bin.
images_skeleton()
{
	local root=$1 a
	mkdir -p "$root"/{bin,etc,root,tmp,usr/bin,usr/lib,usr/lib64,var/tmp,dev,proc,sys}
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	chmod 1777 "$root/tmp" "$root/var/tmp"
	chmod 700 "$root/root"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ -e $root/bin/$a || -L $root/bin/$a ]] || ln -s busybox "$root/bin/$a"
	done
	# scripts use #!/usr/bin/env (npm among them)
	ln -s /bin/busybox "$root/usr/bin/env"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
	printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$root/etc/nsswitch.conf"
}

# Copy LIBS (absolute paths) into ROOT at the same paths, symlinks resolved.
images_copy_libs()
{
	local root=$1 lib
	shift
	for lib in "$@"; do
		mkdir -p "$root${lib%/*}"
		cp -L "$lib" "$root$lib"
	done
}

# Fill ROOT for image NAME.
images_rootfs()
{
	local name=$1 root=$2
	shift 2
	images_skeleton "$root"
	images_copy_libs "$root" "$@"
	case $name in
	postgres)
		tar -C / -cf - --exclude="${IMAGES_PG_SHARE#/}/man" --exclude="${IMAGES_PG_LIB#/}/bitcode" \
			--exclude="${IMAGES_PG_LIB#/}/llvmjit*" "${IMAGES_PG_BIN#/}" "${IMAGES_PG_LIB#/}" \
			"${IMAGES_PG_SHARE#/}" usr/share/zoneinfo usr/lib/locale/C.utf8 | tar -C "$root" -xf -
		cp /usr/bin/setpriv "$root/usr/bin/setpriv"
		ln -s /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
		printf '%s\n' 'postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh' >>"$root/etc/passwd"
		printf '%s\n' 'postgres:x:999:' >>"$root/etc/group"
		mkdir -p "$root/usr/local/bin" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
		install -m 755 "$HARNESS_DIR/rootfs/postgres-entrypoint.sh" \
			"$root/usr/local/bin/docker-entrypoint.sh"
		install -m 755 "$HARNESS_DIR/rootfs/postgres-locale.sh" "$root/usr/bin/locale"
		# as in the official image: any uid may use them; the entrypoint fixes owners as root
		chmod 1777 "$root/var/lib/postgresql/data"
		chmod 3777 "$root/var/run/postgresql"
		if ((EUID == 0)); then
			chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
		fi
		;;
	node)
		cp /usr/bin/node "$root/usr/bin/node"
		mkdir -p "$root/usr/lib/node_modules" "$root/app"
		cp -a "$IMAGES_NPM" "$root/usr/lib/node_modules/"
		ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
		ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
		printf '%s\n' 'node:x:1000:1000::/home/node:/bin/sh' >>"$root/etc/passwd"
		printf '%s\n' 'node:x:1000:' >>"$root/etc/group"
		mkdir -p "$root/home/node"
		if ((EUID == 0)); then
			chown 1000:1000 "$root/home/node"
		fi
		;;
	esac
}

# The `docker import --change` options of image NAME.
images_changes()
{
	case $1 in
	busybox)
		printf '%s\n' "ENV PATH=$IMAGES_PATH" 'CMD ["sh"]'
		;;
	postgres)
		printf '%s\n' "ENV PATH=$IMAGES_PG_BIN:$IMAGES_PATH" 'ENV PGDATA=/var/lib/postgresql/data' \
			'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' 'CMD ["postgres"]' \
			'EXPOSE 5432/tcp' 'VOLUME /var/lib/postgresql/data'
		;;
	node)
		printf '%s\n' "ENV PATH=$IMAGES_PATH" 'WORKDIR /app' 'CMD ["node"]'
		;;
	debian-dev)
		printf '%s\n' "ENV PATH=$IMAGES_PATH" 'CMD ["bash"]'
		;;
	esac
}

# ---- debian-dev: Debian 12 with prisync's build packages, for the Dockerfile.dev test ----
# Made from the host (Debian 12 with those packages installed) with nothing fetched: the
# files of the packages a debian:12 image holds (Essential, required, apt) plus the build
# packages of scripts/install-deps.sh, with their Depends and Pre-Depends, documentation
# and translations left out; a dpkg database listing exactly those packages, so that
# install-deps.sh finds everything installed; the alternatives they use (cc, awk, ...).

# "name:arch" of every package of the image, sorted: installed, native or arch all.  The
# closure is taken here over Depends and Pre-Depends (an alternative: the first one that
# is installed, by name or as a virtual package some installed package provides; ":any"
# counts), as dpkg saw them satisfied on the host.
# shellcheck disable=SC2016 # ${Package} ... are dpkg-query's fields
images_dev_packages()
{
	local arch
	arch=$(dpkg --print-architecture)
	dpkg-query -W -f '${Package}\t${Architecture}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n' |
		awk -F '\t' -v arch="$arch" -v seeds="$("$IMAGES_INSTALL_DEPS" --print-build | tr '\n' ' ') apt" '
		function bare(s) {
			sub(/^[ \t]+/, "", s)
			sub(/[ \t(].*/, "", s)
			sub(/:.*/, "", s)
			return s
		}
		function want(p) {
			if (p in inst && !(p in seen)) {
				seen[p] = 1
				queue[++tail] = p
			}
		}
		$3 ~ /^ii/ && ($2 == arch || $2 == "all") {
			inst[$1] = $2
			deps[$1] = $7
			# what a debian:12 image holds
			if ($4 == "yes" || $5 == "required")
				base[$1] = 1
			n = split($6, pv, ",")
			for (i = 1; i <= n; i++) {
				v = bare(pv[i])
				if (v != "" && !(v in prov))
					prov[v] = $1
			}
		}
		END {
			n = split(seeds, s, " ")
			for (i = 1; i <= n; i++)
				want(s[i])
			for (p in base)
				want(p)
			for (head = 1; head <= tail; head++) {
				ng = split(deps[queue[head]], group, ",")
				for (g = 1; g <= ng; g++) {
					na = split(group[g], alt, "|")
					for (a = 1; a <= na; a++) {
						d = bare(alt[a])
						if (d in inst) {
							want(d)
							break
						}
						if (d in prov) {
							want(prov[d])
							break
						}
					}
				}
			}
			for (p in seen)
				print p ":" inst[p]
		}' | LC_ALL=C sort
}

# Print PATH as it is spelt under /usr: with merged /usr, /bin, /sbin and /lib* are
# symlinks in the image, so their files go in under the real directories.
images_dev_canon()
{
	if [[ $1 =~ ^/(bin|sbin|lib|lib32|lib64|libx32)(/.*)?$ ]]; then
		printf '/usr%s\n' "$1"
	else
		printf '%s\n' "$1"
	fi
}

# images_dev_tar SCRATCH [TAR OPTION...]: write the image's root filesystem as a tar to
# stdout; SCRATCH (an empty directory) holds the generated files and the file list.
images_dev_tar()
{
	local scratch=$1 ov f t name stem p
	shift
	local -a pkgs
	local -A have=() alts=()
	ov=$scratch/overlay
	mapfile -t pkgs < <(images_dev_packages)
	((${#pkgs[@]} > 0)) || h_die "images: no packages found for debian-dev"
	while read -r f; do
		# a file dpkg lists may have been left out at install time (path-exclude)
		[[ $f != /. && ( -e $f || -L $f ) ]] && have[$f]=1
	done < <(dpkg-query -L "${pkgs[@]}" | grep '^/' |
		sed -E 's#^/(bin|sbin|lib|lib32|lib64|libx32)(/|$)#/usr/\1\2#' | grep -Ev "$IMAGES_DEV_SKIP")
	# the alternatives whose choice is in the image, and the links that lead to them
	for f in /etc/alternatives/*; do
		t=$(readlink "$f") || continue
		t=$(images_dev_canon "$t")
		[[ -n ${have[$t]:-} ]] || continue
		have[$f]=1
		alts[${f##*/}]=1
		[[ ! -e /var/lib/dpkg/alternatives/${f##*/} ]] || have[/var/lib/dpkg/alternatives/${f##*/}]=1
	done
	while read -r f t; do
		[[ -n ${alts[${t#/etc/alternatives/}]:-} ]] && have[$f]=1
	done < <(find /usr/bin /usr/sbin /usr/lib -maxdepth 2 -lname '/etc/alternatives/*' -printf '%p %l\n' 2>/dev/null)
	# the dpkg database of these packages only
	for p in "${pkgs[@]}"; do
		name=${p%%:*}
		for f in /var/lib/dpkg/info/"$name".* /var/lib/dpkg/info/"$p".*; do
			stem=${f##*/}
			stem=${stem%.*}
			[[ -e $f && ( $stem == "$name" || $stem == "$p" ) ]] && have[$f]=1
		done
	done
	# the layout of info/ (arch-qualified names); without it dpkg finds no file lists
	have[/var/lib/dpkg/info/format]=1
	have[/etc/ld.so.cache]=1
	[[ ! -e /var/lib/dpkg/diversions ]] || have[/var/lib/dpkg/diversions]=1

	mkdir -p "$ov"/{etc,root,tmp,home,proc,sys,dev,run,var/tmp,var/log/apt} \
		"$ov"/var/lib/dpkg/{updates,triggers} "$ov"/var/lib/apt/lists/partial \
		"$ov"/var/cache/apt/archives/partial "$ov"/usr/local/{bin,sbin,lib,include,share,src}
	chmod 1777 "$ov/tmp" "$ov/var/tmp"
	chmod 700 "$ov/root"
	for f in bin sbin lib lib64; do
		ln -s "usr/$f" "$ov/$f"
	done
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
		NR == FNR { keep[$0] = 1; next }
		{
			p = a = ""
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++) {
				if (l[i] ~ /^Package: /) p = substr(l[i], 10)
				else if (l[i] ~ /^Architecture: /) a = substr(l[i], 15)
			}
			if ((p ":" a) in keep) print
		}' <(printf '%s\n\n' "${pkgs[@]}") /var/lib/dpkg/status >"$ov/var/lib/dpkg/status"
	: >"$ov/var/lib/dpkg/available"
	: >"$ov/var/lib/dpkg/statoverride"
	# base-passwd's defaults, and the user apt's postinst adds
	cp /usr/share/base-passwd/passwd.master "$ov/etc/passwd"
	cp /usr/share/base-passwd/group.master "$ov/etc/group"
	printf '%s\n' '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin' >>"$ov/etc/passwd"
	[[ -n ${have[/etc/nsswitch.conf]:-} ]] ||
		printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' \
			>"$ov/etc/nsswitch.conf"

	printf '%s\n' "${!have[@]}" | sed 's#^/##' | LC_ALL=C sort >"$scratch/host.list"
	# the engine refuses a tar with a path twice: what the packages have wins
	(cd "$ov" && find . -mindepth 1 | sed 's#^\./##' | LC_ALL=C sort) |
		LC_ALL=C comm -13 "$scratch/host.list" - >"$scratch/overlay.list"
	tar --numeric-owner "$@" -cf - --no-recursion -C / -T "$scratch/host.list" \
		-C "$ov" -T "$scratch/overlay.list"
}

# Build image NAME as TAG unless an image with the same content key exists.
images_ensure()
{
	local name=$1 tag=$2 info="" have="" have_libs="" old_id="" want libs="" root t c id
	local -a elf changes args=() owner=()
	t=$(h_now_ms)
	if info=$(docker image inspect --format \
		'{{.Id}} {{index .Config.Labels "prisync-test.hash"}} {{index .Config.Labels "prisync-test.libs"}}' \
		"$tag" 2>/dev/null); then
		read -r old_id have have_libs <<<"$info"
	fi
	if [[ -n $old_id ]]; then
		want=$(images_key "$name" "$have_libs")
		if [[ $want == "$have" ]]; then
			h_log "image $tag is up to date ($(($(h_now_ms) - t)) ms)"
			return 0
		fi
		h_log "image $tag is out of date, rebuilding"
	else
		h_log "image $tag not found, building"
	fi
	if [[ $name != debian-dev ]]; then
		mapfile -t elf < <(images_elf_files "$name")
		libs=$(images_ldd "${elf[@]}" | tr '\n' ' ')
		libs=${libs% }
	fi
	# the key is taken before copying: a file changed meanwhile makes the next run rebuild
	want=$(images_key "$name" "$libs")
	mapfile -t changes < <(images_changes "$name")
	changes+=("LABEL prisync-test.hash=$want" "LABEL prisync-test.libs=\"$libs\"")
	for c in "${changes[@]}"; do
		args+=(--change "$c")
	done
	((EUID == 0)) || owner=(--owner=0 --group=0)
	root=$(mktemp -d "$PRISYNC_TEST_STATE/rootfs-$name.XXXXXX")
	if [[ $name == debian-dev ]]; then
		# ~400 MB of the host's files: streamed into the import, not copied first
		id=$(images_dev_tar "$root" "${owner[@]}" |
			docker import "${args[@]}" --message "prisync-test $name" -)
	else
		# shellcheck disable=SC2086
		images_rootfs "$name" "$root" $libs
		id=$(tar --numeric-owner "${owner[@]}" -C "$root" -cf - . |
			docker import "${args[@]}" --message "prisync-test $name" -)
	fi
	rm -rf "$root"
	if [[ $name == postgres ]]; then
		# STOPSIGNAL SIGINT (fast shutdown, as in the official image): `docker import --change`
		# of dockerd 20.10 rejects it, a FROM-only build with the classic builder works offline
		if ! printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$id" |
			DOCKER_BUILDKIT=0 docker build -q -t "$tag" - >/dev/null 2>"$PRISYNC_TEST_STATE/build.err"; then
			h_log "warning: cannot set STOPSIGNAL SIGINT on $tag: $(tail -n1 "$PRISYNC_TEST_STATE/build.err")"
			docker tag "$id" "$tag"
		fi
	else
		docker tag "$id" "$tag"
	fi
	if [[ -n $old_id ]]; then
		# the previous build, now untagged; still in use by a container: leave it
		docker image rm "$old_id" >/dev/null 2>&1 || true
	fi
	h_log "built image $tag ($(($(h_now_ms) - t)) ms)"
}

images_up()
{
	h_ensure_pkg busybox /bin/busybox busybox-static
	h_ensure_pkg postgres "$IMAGES_PG_BIN/postgres" postgresql-15
	h_ensure_pkg postgres "$IMAGES_PG_BIN/pg_isready" postgresql-client-15
	h_ensure_pkg setpriv /usr/bin/setpriv util-linux
	h_ensure_pkg node /usr/bin/node nodejs
	h_ensure_pkg npm "$IMAGES_NPM/bin/npm-cli.js" npm
	IMAGES_DPKG=$(dpkg-query -W -f '${Package}=${Version};' "${IMAGES_PKGS[@]}" 2>/dev/null || true)
	images_ensure busybox "$PRISYNC_TEST_IMAGE_BUSYBOX"
	images_ensure postgres "$PRISYNC_TEST_IMAGE_POSTGRES"
	images_ensure node "$PRISYNC_TEST_IMAGE_NODE"
}
