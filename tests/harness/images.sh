# images.sh - the e2e test images, built with `docker import` from the host's own binaries
# (busybox-static, PostgreSQL 15, Node 20); never pulled. Sourced by env.sh.
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

IMAGES_PG_BIN=/usr/lib/postgresql/15/bin
IMAGES_PG_LIB=/usr/lib/postgresql/15/lib
IMAGES_PG_SHARE=/usr/share/postgresql/15
IMAGES_NPM=/usr/lib/node_modules/npm
IMAGES_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
IMAGES_PKGS=(busybox-static postgresql-15 postgresql-client-15 tzdata nodejs util-linux libc6 libc-bin)
IMAGES_DPKG=""

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
	esac
}

# Build image NAME as TAG unless an image with the same content key exists.
images_ensure()
{
	local name=$1 tag=$2 info="" have="" have_libs="" old_id="" want libs root t c id
	local -a elf changes args=() owner=()
	t=$(h_now_ms)
	if info=$(docker image inspect --format \
		'{{.Id}} {{index .Config.Labels "prisync-test.hash"}} {{index .Config.Labels "prisync-test.libs"}}' \
		"$tag" 2>/dev/null); then
		read -r old_id have have_libs <<<"$info"
	fi
	if [[ -n $old_id ]]; then
		want=$(images_hash "$name" "$have_libs")
		if [[ $want == "$have" ]]; then
			h_log "image $tag is up to date ($(($(h_now_ms) - t)) ms)"
			return 0
		fi
		h_log "image $tag is out of date, rebuilding"
	else
		h_log "image $tag not found, building"
	fi
	mapfile -t elf < <(images_elf_files "$name")
	libs=$(images_ldd "${elf[@]}" | tr '\n' ' ')
	libs=${libs% }
	# the key is taken before copying: a file changed meanwhile makes the next run rebuild
	want=$(images_hash "$name" "$libs")
	root=$(mktemp -d "$PRISYNC_TEST_STATE/rootfs-$name.XXXXXX")
	# shellcheck disable=SC2086
	images_rootfs "$name" "$root" $libs
	mapfile -t changes < <(images_changes "$name")
	changes+=("LABEL prisync-test.hash=$want" "LABEL prisync-test.libs=\"$libs\"")
	for c in "${changes[@]}"; do
		args+=(--change "$c")
	done
	((EUID == 0)) || owner=(--owner=0 --group=0)
	id=$(tar --numeric-owner "${owner[@]}" -C "$root" -cf - . |
		docker import "${args[@]}" --message "prisync-test $name" -)
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
