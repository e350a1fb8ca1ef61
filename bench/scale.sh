#!/usr/bin/env bash
# scale.sh - the watch-scale benchmark: a supervisor whose `watch:` path is a tree of 10,000
# directories and 100,000 files, half of it under a .gitignore'd node_modules, against
# `inotifywait -r` on the same tree: the time from the start of the process to "watching"
# (prisync: its --ready-fd answer; inotifywait: "Watches established."), peak RSS and the
# number of inotify watches each holds (from /proc/PID/fdinfo).  prisync must put no watch
# in an ignored directory (checked by inode), so its count is the non-ignored directories.
# The tree is built in a temp dir for the run and removed after it: on /dev/shm when there
# is one (SCALE_TMPDIR overrides): on ext4 a tree of 100,000 files made again soon after the
# last one was deleted takes a minute of system time (the inode allocator skips recently
# deleted inodes), on tmpfs a second or two.
#   bench/scale.sh PRISYNC ROOT     (run.sh runs it; SCALE_RUNS runs per tool, default 3,
#                                    after one warm-up each)
set -euo pipefail

# per half (app/src and app/node_modules): 100 x 50 leaf directories of 10 files
SCALE_TOP=100
SCALE_LEAF=50
SCALE_FILES=10
# how long one start may take before it counts as failed
SCALE_DEADLINE_S=120

# scale_tree DIR: the project: compose.yaml, a schema, the tree under app/, a git repository
# whose .gitignore ignores node_modules/.
scale_tree()
{
	local dir=$1 half i
	mkdir -p "$dir/prisma" "$dir/app"
	for half in src node_modules; do
		mkdir -p "$dir/app/$half"
		(
			cd "$dir/app/$half"
			eval "mkdir -p d{0..$((SCALE_TOP - 1))}/e{0..$((SCALE_LEAF - 1))}"
			for ((i = 0; i < SCALE_TOP; i++)); do
				eval "touch d$i/e{0..$((SCALE_LEAF - 1))}/f{0..$((SCALE_FILES - 1))}.js"
			done
		)
	done
	printf 'node_modules/\n' >"$dir/.gitignore"
	printf 'model A {\n  id Int @id\n}\n' >"$dir/prisma/schema.prisma"
	cat >"$dir/compose.yaml" <<'EOF'
services:
  app:
    image: ${PRISYNC_TEST_IMAGE_BUSYBOX:-busybox}
x-prisync:
  schemas:
    - name: core
      schema: prisma/schema.prisma
      watch: [app]
      generate: ["true"]
      run-in: host
      restart: [app]
EOF
	git -C "$dir" init -q
}

# The inode numbers (hex) of the inotify watches process PID holds, one a line.  cat, not
# bash's read: read takes a byte a call, and each read of fdinfo formats the whole file
# again (quadratic in the watches: minutes of system time for 10,000).
scale_watched_inodes()
{
	cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n 's/^inotify wd:[0-9a-f]* ino:\([0-9a-f]*\) .*/\1/p'
}

# scale_run TOOL DIR TMP: start TOOL (prisync or inotifywait) on DIR, wait until it says it
# watches, and print "ready_us hwm_kib rss_kib watches in_ignored"; stop it.  "error" when it
# did not get there.
scale_run()
{
	local tool=$1 dir=$2 tmp=$3 pid t0 t1 ans="" line fd hwm rss n bad
	local fifo=$tmp/ready
	rm -f "$fifo"
	mkfifo "$fifo"
	t0=$(cfg_now_us)
	if [[ $tool == prisync ]]; then
		(cd "$dir" && exec "$s_bin" --ansi never watch --no-initial-sync --ready-fd 3 \
			3>"$fifo" >>"$tmp/prisync.log" 2>&1) &
		pid=$!
		exec {fd}<"$fifo"
		read -r -n 1 -t "$SCALE_DEADLINE_S" ans <&"$fd" || true
		[[ $ans == 1 ]] || ans=""
	else
		inotifywait -m -r -e close_write,create,delete,move "$dir/app" >/dev/null 2>"$fifo" &
		pid=$!
		exec {fd}<"$fifo"
		while read -r -t "$SCALE_DEADLINE_S" line <&"$fd"; do
			if [[ $line == "Watches established."* ]]; then
				ans=1
				break
			fi
		done
	fi
	t1=$(cfg_now_us)
	if [[ -z $ans ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		exec {fd}<&-
		echo error
		return 0
	fi
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")
	scale_watched_inodes "$pid" | sort -u >"$tmp/watched"
	n=$(wc -l <"$tmp/watched")
	bad=$(comm -12 "$tmp/watched" "$tmp/ignored" | wc -l)
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	exec {fd}<&-
	printf '%s %s %s %s %s\n' $((t1 - t0)) "$hwm" "$rss" "$n" "$bad"
}

scale_main()
{
	local bin=$1 root=$2 runs=${SCALE_RUNS:-3} tmp tree_tmp dir r tool line t0 t1 build_s t h w x
	local nondirs ndirs nfiles a=error b=error met=false
	local -a ta=() tb=() ha=() hb=() wa=() wb=() ba=() bb=() order
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	# shellcheck source=config.sh
	source "$root/bench/config.sh"
	if ! command -v inotifywait >/dev/null; then
		echo "bench watch-scale: no inotifywait (apt-get install inotify-tools); prisync only" >&2
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/prisync-bench.XXXXXX")
	if ! cfg_harness watch-scale "$root" "$tmp"; then
		rm -rf "$tmp"
		return 0
	fi
	tree_tmp=${SCALE_TMPDIR:-}
	if [[ -z $tree_tmp ]]; then
		tree_tmp=${TMPDIR:-/tmp}
		[[ -d /dev/shm && -w /dev/shm ]] && tree_tmp=/dev/shm
	fi
	tree_tmp=$(mktemp -d "$tree_tmp/prisync-bench-tree.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the paths are fixed
	trap "[[ -n '$cfg_own' ]] && '$root/tests/harness/env.sh' down '$cfg_own' >/dev/null 2>&1
		rm -rf '$tmp' '$tree_tmp'" EXIT
	# shellcheck source=/dev/null
	source "$cfg_state"
	export XDG_RUNTIME_DIR=$tmp/run
	mkdir -m 0700 "$XDG_RUNTIME_DIR"
	s_bin=$bin
	dir=$tree_tmp/tree
	t0=$(cfg_now_us)
	scale_tree "$dir"
	t1=$(cfg_now_us)
	build_s=$(awk -v u=$((t1 - t0)) 'BEGIN { printf "%.1f", u / 1e6 }')
	ndirs=$(find "$dir/app" -type d | wc -l)
	nfiles=$(find "$dir/app" -type f | wc -l)
	nondirs=$(find "$dir/app" -name node_modules -prune -o -type d -print | wc -l)
	find "$dir/app/node_modules" -type d -printf '%i\n' | awk '{ printf "%x\n", $1 }' | sort -u >"$tmp/ignored"

	for ((r = 0; r < runs + 1; r++)); do
		order=(prisync inotifywait)
		((r % 2)) && order=(inotifywait prisync)
		for tool in "${order[@]}"; do
			[[ $tool == inotifywait ]] && ! command -v inotifywait >/dev/null && continue
			line=$(scale_run "$tool" "$dir" "$tmp")
			if [[ $line == error ]]; then
				echo "bench watch-scale: $tool did not start watching" >&2
				[[ $tool != prisync ]] || tail -5 "$tmp/prisync.log" >&2
				continue
			fi
			((r > 0)) || continue
			read -r t h _ w x <<<"$line"
			if [[ $tool == prisync ]]; then
				ta+=("$t") ha+=("$h") wa+=("$w") ba+=("$x")
			else
				tb+=("$t") hb+=("$h") wb+=("$w") bb+=("$x")
			fi
		done
	done
	((${#ta[@]})) && a=$(cfg_stats "${ta[@]}")
	((${#tb[@]})) && b=$(cfg_stats "${tb[@]}")
	printf '\n%-24s %10s %12s %8s\n' "watch-scale" "prisync" "inotifywait" ratio
	printf '%-24s %10s %12s\n' "tree" "$ndirs dirs, $nfiles files ($nondirs dirs not ignored; built in $build_s s)" ""
	printf '%-24s %10s %12s %8s\n' "ready ms" "${a%% *}" "${b%% *}" \
		"$(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { if (y > 0) printf "%.3f", x / y; else print "n/a" }')"
	printf '%-24s %10s %12s\n' "  p10-p90 (n)" "$(cfg_spread "$a")" "$(cfg_spread "$b")" \
		"peak RSS KiB (max)" "$(printf '%s\n' "${ha[@]}" | sort -n | tail -1)" \
		"$(printf '%s\n' "${hb[@]}" | sort -n | tail -1)" \
		"inotify watches" "${wa[*]:--}" "${wb[*]:--}" \
		"  in ignored dirs" "${ba[*]:--}" "${bb[*]:--}"
	printf '%-24s %10s\n' "  target" "no watch in an ignored dir; ~$nondirs watches"
	local w bad=0 maxw=0
	for w in "${wa[@]}"; do ((w > maxw)) && maxw=$w; done
	for w in "${ba[@]}"; do bad=$((bad + w)); done
	# the tree's non-ignored directories plus a few outside it: the schema's folder, the
	# project directory (compose file, .env) and git's HEAD and refs
	((${#ta[@]} && bad == 0 && maxw <= nondirs + 10)) && met=true
	if [[ $met == true ]]; then
		echo "watch-scale target met: $maxw watches for $nondirs non-ignored directories, none in node_modules"
	else
		echo "watch-scale target MISSED: $maxw watches for $nondirs non-ignored directories, $bad in node_modules"
	fi
	cfg_result watch-scale "$a" "inotifywait -r" "$b" "no watch in ignored dirs, watches <= non-ignored dirs + 10" \
		"$met" "dirs=$ndirs" "files=$nfiles" "non_ignored_dirs=$nondirs" "watches=$maxw" \
		"watches_in_ignored=$bad" "other_watches=$(printf '%s\n' "${wb[@]}" | sort -n | tail -1)" \
		"hwm_kib=$(printf '%s\n' "${ha[@]}" | sort -n | tail -1)" \
		"other_hwm_kib=$(printf '%s\n' "${hb[@]}" | sort -n | tail -1)" "tree_build_s=$build_s"
}

scale_main "${1:-./prisync}" "${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
