#!/usr/bin/env bash
# watch.sh - the supervisor benchmarks, prisync and docker compose v2 side by side on the
# same engine and the same 2-service stack (bench/watch/):
#   edit-to-restart  a line appended to the schema until the engine's `start` event of the
#                    app: the detached supervisor of `prisync up -d` against `docker compose
#                    watch` (sync+restart), rounds alternating          target ratio <= 0.4
#                    and where the time went, from the engine's kill and die events:
#                    write -> kill (notice, debounce, generate), kill -> die, die -> start
#   idle             the supervisor left alone IDLE_SECONDS (default 60): context switches
#                    of all its threads, CPU time, RSS        target no wakeups, RSS < 8 MiB
# The engine, images and compose binary are the e2e harness's (tests/harness/env.sh), brought
# up for the run and down after it; PRISYNC_BENCH_ENV=STATE_FILE uses a harness already up.
#   bench/watch.sh PRISYNC ROOT     (run.sh runs it; WATCH_RUNS edits per tool, default 10,
#                                    after 2 warm-ups; IDLE_SECONDS)
# A process of its own so that its trap can clean up (both stacks, the compose watcher) on
# any exit, Ctrl-C included; sourced, it only defines the functions.
# shellcheck shell=bash

WATCH_TARGET=0.4
WATCH_RSS_TARGET_KIB=$((8 * 1024))
# context switches an idle window may show and still count as "no periodic wakeups"
WATCH_WAKEUPS_OK=2
WATCH_WARMUPS=2
# how long one edit may take to show up as a restart before the round counts as failed
WATCH_DEADLINE_S=30
# what each tool logs when it is done with an edit (the supervisor's job result line,
# compose's container line)
WATCH_PRISYNC_DONE='sync #[0-9]+ (succeeded|failed)'
WATCH_COMPOSE_DONE='Started'
# burst: files rewritten at once, and the quiet that ends a burst's count (more than the
# supervisor's debounce-max, 2 s)
BURST_FILES=1000
BURST_QUIET_S=3
BURST_RUNS=${BURST_RUNS:-3}
# edit-to-restart-prisma: prisync's share of the edit-to-restart time over the generator's
WATCH_PRISMA_TARGET_PCT=5
WATCH_PRISMA_WARMUPS=1
# the debounce of bench/watch/compose*.yaml (the supervisor's default)
WATCH_DEBOUNCE_MS=50
WATCH_PRISMA_GEN=(node node_modules/prisma/build/index.js generate)

# "x / y" to 3 places, or n/a.
watch_ratio()
{
	[[ $1 != error && $2 != error ]] || { echo n/a; return; }
	awk -v x="${1%% *}" -v y="${2%% *}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }'
}

# Number of lines of FILE matching the extended regex PATTERN (0 when there is no file).
watch_count()
{
	local n
	n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
	printf '%s\n' "${n:-0}"
}

# watch_wait_count FILE PATTERN N SECONDS [PID]: poll until FILE has more than N lines
# matching; give up at the deadline or as soon as process PID (the tool) is gone.
watch_wait_count()
{
	local deadline=$(($(cfg_now_us) + $4 * 1000000)) pid=${5:-}
	until (($(watch_count "$1" "$2") > $3)); do
		(($(cfg_now_us) < deadline)) || return 1
		[[ -z $pid || -e /proc/$pid ]] || return 1
		sleep 0.02
	done
}

# Stream the engine's kill, die and start events of PROJECT's app container since SINCE
# (epoch seconds) to stdout, one JSON object a line: curl on a unix socket, else the docker
# CLI (which knows tcp:// and TLS).  Run it in the background; it execs, so $! is the
# streamer.
watch_events()
{
	local project=$1 since=$2 host=${DOCKER_HOST:-unix:///var/run/docker.sock} filters
	filters=$(printf '{"type":["container"],"event":["kill","die","start"],"label":["%s","%s"]}' \
		"com.docker.compose.project=$project" "com.docker.compose.service=app")
	if [[ $host == unix://* ]] && command -v curl >/dev/null; then
		exec curl -sSN -G --unix-socket "${host#unix://}" --data-urlencode "since=$since" \
			--data-urlencode "filters=$filters" http://localhost/events
	fi
	exec docker events --since "$since" --filter type=container --filter event=kill \
		--filter event=die --filter event=start \
		--filter "label=com.docker.compose.project=$project" \
		--filter label=com.docker.compose.service=app --format '{{json .}}'
}

watch_have_events()
{
	local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
	[[ $host == unix://* ]] && command -v curl >/dev/null && return 0
	command -v docker >/dev/null
}

# watch_wait_start FILE T0 SECONDS PID: print "start kill die", the timeNano of the first
# start event in FILE later than T0 (ns since the epoch) and of the first kill and die
# between the two (0 when there was none), polling until the start is there (or the
# deadline, or PID gone).  Bash arithmetic is 64-bit: the nanoseconds stay exact, which
# awk's doubles would not keep.
watch_wait_start()
{
	local file=$1 t0=$2 pid=$4 deadline line ns kill die
	deadline=$(($(cfg_now_us) + $3 * 1000000))
	while :; do
		if [[ -r $file ]]; then
			kill=0 die=0
			while IFS= read -r line; do
				[[ $line =~ \"timeNano\":([0-9]+) ]] || continue
				ns=${BASH_REMATCH[1]}
				((ns > t0)) || continue
				[[ $line =~ \"Action\":\"([a-z]+)\" ]] || continue
				case ${BASH_REMATCH[1]} in
				kill) ((kill)) || kill=$ns ;;
				die) ((die)) || die=$ns ;;
				start)
					printf '%s %s %s\n' "$ns" "$kill" "$die"
					return 0
					;;
				esac
			done <"$file"
		fi
		(($(cfg_now_us) < deadline)) || return 1
		[[ -e /proc/$pid ]] || return 1
		sleep 0.02
	done
}

# watch_edit DIR TAG EVENTS LOG DONE PID: append a line to DIR's schema and print, in
# microseconds from just before the write, "start kill die": when the engine started the
# app again, and when it sent the old one its signal and saw it exit (- when it did not);
# then wait until the tool says it is done (LOG matches DONE once more), so the next edit
# never lands in this one's restart.  PID is the tool's watcher: when it dies the round
# fails at once, not at the deadline.
watch_edit()
{
	local dir=$1 tag=$2 events=$3 log=$4 done_re=$5 pid=$6 before t0 start kill die ns
	before=$(watch_count "$log" "$done_re")
	t0=$(date +%s%N)
	printf '// edit %s\n' "$tag" >>"$dir/prisma/schema.prisma"
	if ! read -r start kill die < <(watch_wait_start "$events" "$t0" "$WATCH_DEADLINE_S" "$pid"); then
		echo error
		return 0
	fi
	watch_wait_count "$log" "$done_re" "$before" "$WATCH_DEADLINE_S" "$pid" || true
	printf '%s' $(((start - t0) / 1000))
	for ns in "$kill" "$die"; do
		if ((ns)); then printf ' %s' $(((ns - t0) / 1000)); else printf ' -'; fi
	done
	printf '\n'
}

# "voluntary nonvoluntary cpu-ticks threads" of process PID: the switches summed over all
# its threads (a process's own status has only its main thread's), utime + stime of all.
watch_proc_sample()
{
	local pid=$1 f key val _ vol=0 invol=0 threads=0 stat
	local -a fields
	for f in /proc/"$pid"/task/*/status; do
		[[ -r $f ]] || continue
		threads=$((threads + 1))
		while read -r key val _; do
			case $key in
			voluntary_ctxt_switches:) vol=$((vol + val)) ;;
			nonvoluntary_ctxt_switches:) invol=$((invol + val)) ;;
			esac
		done <"$f"
	done
	stat=$(<"/proc/$pid/stat")
	# after "pid (comm) " the fields start at the state, field 3: utime is 14, stime 15
	read -r -a fields <<<"${stat##*) }"
	printf '%s %s %s %s\n' "$vol" "$invol" $((fields[11] + fields[12])) "$threads"
}

# A /proc/PID/status memory field (VmRSS, VmHWM) in KiB.
watch_proc_kib()
{
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

# Everything the run started, whatever state it stopped in: the compose watcher and the event
# streams (by their pids), both stacks, a supervisor that outlived `down`, the harness when
# this run brought it up, the temp dir.
watch_cleanup()
{
	local pid
	set +e
	for pid in "$w_cwatch" "${w_streams[@]}"; do
		[[ -n $pid ]] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ -d $w_pdir ]]; then
		(cd "$w_pdir" && timeout 120 "$w_bin" -p "$w_pproj" down -v -t 1) >/dev/null 2>&1
	fi
	if [[ -d $w_gdir ]]; then
		(cd "$w_gdir" && timeout 120 "$w_bin" -p "$w_gproj" down -v -t 1) >/dev/null 2>&1
	fi
	for pid in "$w_sup" "$w_gsup"; do
		if [[ -n $pid && -e /proc/$pid ]] && grep -q prisync "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null
		fi
	done
	if [[ -d $w_cdir && -n ${PRISYNC_TEST_COMPOSE:-} ]]; then
		(cd "$w_cdir" && timeout 120 "$PRISYNC_TEST_COMPOSE" -p "$w_cproj" -f compose.yaml \
			-f compose.develop.yaml down -v -t 1) >/dev/null 2>&1
	fi
	if [[ -n $w_state_own ]]; then
		"$w_root/tests/harness/env.sh" down "$w_state_own" >/dev/null 2>&1
	fi
	rm -rf "$w_tmp"
}

# The supervisor's pid, from its runtime dir (XDG_RUNTIME_DIR, else /tmp/prisync-<uid>).
watch_supervisor_pid()
{
	local project=$1 f
	for f in "${XDG_RUNTIME_DIR:-/nonexistent}/prisync/$project/supervisor.pid" \
		"${TMPDIR:-/tmp}/prisync-$(id -u)/$project/supervisor.pid"; do
		[[ -r $f ]] && { head -1 "$f"; return 0; }
	done
	return 1
}

watch_row()
{
	local name=$1 a=$2 b=$3
	printf '%-24s %10s %10s %8s\n' "$name" "${a%% *}" "${b%% *}" "$(watch_ratio "$a" "$b")"
	printf '%-24s %10s %10s\n' "  p10-p90 (n)" "$(cfg_spread "$a")" "$(cfg_spread "$b")"
}

# watch_take "START KILL DIE" ALL DETECT STOP RESTART: one round's watch_edit line into the
# arrays named: the whole latency, write -> kill, kill -> die, die -> start.
watch_take()
{
	local start kill die
	local -n t_all=$2 t_det=$3 t_stop=$4 t_start=$5
	read -r start kill die <<<"$1"
	t_all+=("$start")
	if [[ $kill != - ]]; then
		t_det+=("$kill")
		if [[ $die != - ]]; then
			t_stop+=($((die - kill)))
		fi
	fi
	if [[ $die != - ]]; then
		t_start+=($((start - die)))
	fi
}

# Median (ms) of the microsecond samples given, or n/a.
watch_median()
{
	local line
	(($#)) || { echo n/a; return; }
	line=$(cfg_stats "$@")
	printf '%s\n' "${line%% *}"
}

# Both tools' edit rounds, alternating which goes first, and their rows: the latency, then
# where it went (median of each phase).  Sets w_ratio.  A tool that missed one edit is not
# asked again and shows "error".
watch_edit_rounds()
{
	local runs=$1 r tool line total fail_a=0 fail_b=0 a=error b=error
	local -a order aa=() ad=() as=() ar=() ba=() bd=() bs=() br=()
	total=$((WATCH_WARMUPS + runs))
	for ((r = 0; r < total; r++)); do
		order=(a b)
		if ((r % 2)); then
			order=(b a)
		fi
		for tool in "${order[@]}"; do
			if [[ $tool == a ]] && ((!fail_a)); then
				line=$(watch_edit "$w_pdir" "$r" "$w_tmp/events-prisync" \
					"$w_pdir/.prisync/supervisor.log" "$WATCH_PRISYNC_DONE" "$w_sup")
				if [[ $line == error ]]; then
					fail_a=1
				elif ((r >= WATCH_WARMUPS)); then
					watch_take "$line" aa ad as ar
				fi
			elif [[ $tool == b && -n $w_cwatch ]] && ((!fail_b)); then
				line=$(watch_edit "$w_cdir" "$r" "$w_tmp/events-compose" \
					"$w_tmp/compose-watch.log" "$WATCH_COMPOSE_DONE" "$w_cwatch")
				if [[ $line == error ]]; then
					fail_b=1
				elif ((r >= WATCH_WARMUPS)); then
					watch_take "$line" ba bd bs br
				fi
			fi
		done
	done
	if ((!fail_a)); then
		a=$(cfg_stats "${aa[@]}")
	else
		echo "bench watch: a prisync edit did not restart the app; supervisor log:" >&2
		tail -5 "$w_pdir/.prisync/supervisor.log" >&2 2>/dev/null || true
	fi
	if ((!fail_b)) && [[ -n $w_cwatch ]]; then
		b=$(cfg_stats "${ba[@]}")
	elif [[ -n $w_cwatch ]]; then
		echo "bench watch: a compose edit did not restart the app; compose watch said:" >&2
		tail -5 "$w_tmp/compose-watch.log" >&2 2>/dev/null || true
	fi
	watch_row edit-to-restart "$a" "$b"
	printf '%-24s %10s %10s %8s\n' "  target" "" "" "<= $WATCH_TARGET"
	if ((!fail_a)); then
		printf '%-24s %10s %10s\n' "  write -> kill" "$(watch_median "${ad[@]}")" \
			"$( ((fail_b)) || watch_median "${bd[@]}")" \
			"  kill -> die" "$(watch_median "${as[@]}")" "$( ((fail_b)) || watch_median "${bs[@]}")" \
			"  die -> start" "$(watch_median "${ar[@]}")" "$( ((fail_b)) || watch_median "${br[@]}")"
	fi
	w_ratio=$(watch_ratio "$a" "$b")
	cfg_result edit-to-restart "$a" "docker compose watch (sync+restart)" "$b" "ratio <= $WATCH_TARGET" \
		"$(cfg_met "$w_ratio" "$WATCH_TARGET" 'x <= t')" \
		"write_to_kill_ms=$(watch_median "${ad[@]}")" "kill_to_die_ms=$(watch_median "${as[@]}")" \
		"die_to_start_ms=$(watch_median "${ar[@]}")" \
		"other_write_to_kill_ms=$( ((fail_b)) || watch_median "${bd[@]}")" \
		"other_kill_to_die_ms=$( ((fail_b)) || watch_median "${bs[@]}")" \
		"other_die_to_start_ms=$( ((fail_b)) || watch_median "${br[@]}")"
}

# The idle window: both watchers sampled before and after IDLE seconds of nothing.
watch_idle()
{
	local idle=$1 hz pid name vol0 inv0 cpu0 thr0 vol1 inv1 cpu1 thr1
	local -a wake=() vol=() inv=() cpu=() rss=() hwm=() thr=() pids=("$w_sup" "$w_cwatch")
	hz=$(getconf CLK_TCK)
	# the last edit's restart is over (watch_edit waited for it); let its tail settle
	sleep 1
	for pid in "${pids[@]}"; do
		if [[ -n $pid && -e /proc/$pid ]]; then
			read -r vol0 inv0 cpu0 thr0 < <(watch_proc_sample "$pid")
			vol+=("$vol0") inv+=("$inv0") cpu+=("$cpu0") thr+=("$thr0")
		else
			vol+=(-) inv+=(-) cpu+=(-) thr+=(-)
		fi
	done
	sleep "$idle"
	for name in 0 1; do
		pid=${pids[name]}
		if [[ ${vol[name]} != - && -e /proc/$pid ]]; then
			read -r vol1 inv1 cpu1 thr1 < <(watch_proc_sample "$pid")
			vol[name]=$((vol1 - vol[name])) inv[name]=$((inv1 - inv[name]))
			wake[name]=$((vol[name] + inv[name]))
			cpu[name]=$(((cpu1 - cpu[name]) * 1000 / hz))
			thr[name]="${thr[name]}->$thr1"
			rss[name]=$(watch_proc_kib "$pid" VmRSS) hwm[name]=$(watch_proc_kib "$pid" VmHWM)
		else
			vol[name]=n/a inv[name]=n/a wake[name]=n/a cpu[name]=n/a thr[name]=n/a
			rss[name]=n/a hwm[name]=n/a
		fi
	done
	printf '\n%-24s %10s %14s\n' "idle ${idle} s" prisync "compose watch"
	printf '%-24s %10s %14s\n' "wakeups (ctx switches)" "${wake[0]}" "${wake[1]}" \
		"  voluntary" "${vol[0]}" "${vol[1]}" "  involuntary" "${inv[0]}" "${inv[1]}" \
		"CPU ms" "${cpu[0]}" "${cpu[1]}" "VmRSS KiB" "${rss[0]}" "${rss[1]}" \
		"VmHWM KiB" "${hwm[0]}" "${hwm[1]}" "threads" "${thr[0]}" "${thr[1]}"
	printf '%-24s %10s\n' "  target" "0, < $WATCH_RSS_TARGET_KIB"
	if [[ ${wake[0]} =~ ^[0-9]+$ ]] && ((wake[0] <= WATCH_WAKEUPS_OK)); then
		printf 'idle supervisor: no periodic wakeups (%s context switches in %s s)\n' "${wake[0]}" "$idle"
	elif [[ ${wake[0]} =~ ^[0-9]+$ ]]; then
		printf 'idle supervisor: %s context switches in %s s (%s a second)\n' "${wake[0]}" "$idle" \
			"$(awk -v n="${wake[0]}" -v s="$idle" 'BEGIN { printf "%.1f", n / s }')"
	fi
	w_idle_wake=${wake[0]} w_idle_rss=${rss[0]}
	local met=false
	[[ ${wake[0]} =~ ^[0-9]+$ && ${rss[0]} =~ ^[0-9]+$ ]] &&
		((wake[0] <= WATCH_WAKEUPS_OK && rss[0] < WATCH_RSS_TARGET_KIB)) && met=true
	cfg_result idle "" "docker compose watch" "" "no periodic wakeups, VmRSS < $WATCH_RSS_TARGET_KIB KiB" \
		"$met" "seconds=$idle" "wakeups=${wake[0]}" "cpu_ms=${cpu[0]}" "rss_kib=${rss[0]}" \
		"hwm_kib=${hwm[0]}" "other_wakeups=${wake[1]}" "other_cpu_ms=${cpu[1]}" \
		"other_rss_kib=${rss[1]}" "other_hwm_kib=${hwm[1]}"
}

# Number of the engine's start events in the event stream FILE.
watch_starts()
{
	watch_count "$1" '"Action":"start"'
}

# watch_burst DIR TAG EVENTS LOG DONE PID: rewrite the BURST_FILES files of DIR/prisma/burst
# at once, then print "first_start_us write_us restarts syncs": from just before the first
# write to the engine's first start of the app, how long the writes took, and how many
# starts of the app and how many jobs the tool logged (DONE in LOG) until nothing more
# happened for BURST_QUIET_S.  "error" when the app was not restarted at all.
watch_burst()
{
	local dir=$1 tag=$2 events=$3 log=$4 done_re=$5 pid=$6 i t0 t1 start kill die
	local starts0 syncs0 starts syncs last change deadline
	starts0=$(watch_starts "$events")
	syncs0=$(watch_count "$log" "$done_re")
	# overwritten in place (<>, no truncation), the same length each time: truncating 1,000
	# files on ext4 takes longer than the 100 ms the burst may last
	t0=$(date +%s%N)
	for ((i = 0; i < BURST_FILES; i++)); do
		printf '// burst %04d\n' "$tag" 1<>"$dir/prisma/burst/f$i.prisma"
	done
	t1=$(date +%s%N)
	if ! read -r start kill die < <(watch_wait_start "$events" "$t0" "$WATCH_DEADLINE_S" "$pid"); then
		echo error
		return 0
	fi
	# then quiet: no more starts nor jobs for BURST_QUIET_S
	last="" change=$(cfg_now_us) deadline=$(($(cfg_now_us) + WATCH_DEADLINE_S * 1000000))
	while :; do
		starts=$(watch_starts "$events") syncs=$(watch_count "$log" "$done_re")
		if [[ "$starts $syncs" != "$last" ]]; then
			last="$starts $syncs" change=$(cfg_now_us)
		fi
		(($(cfg_now_us) - change < BURST_QUIET_S * 1000000)) || break
		(($(cfg_now_us) < deadline)) || break
		sleep 0.05
	done
	printf '%s %s %s %s\n' $(((start - t0) / 1000)) $(((t1 - t0) / 1000)) \
		$((starts - starts0)) $((syncs - syncs0))
}

# Both tools' bursts, alternating which goes first: the time to the restart, and the counts.
watch_burst_rounds()
{
	local runs=$1 r tool line st wr rs sy fail_a=0 fail_b=0 a=error b=error
	local -a order ta=() tb=() wa=() wb=() ra=() rb=() ya=()
	for ((r = 0; r < runs; r++)); do
		order=(a b)
		((r % 2)) && order=(b a)
		for tool in "${order[@]}"; do
			if [[ $tool == a ]] && ((!fail_a)); then
				line=$(watch_burst "$w_pdir" "$r" "$w_tmp/events-prisync" \
					"$w_pdir/.prisync/supervisor.log" "$WATCH_PRISYNC_DONE" "$w_sup")
				if [[ $line == error ]]; then
					fail_a=1
				else
					read -r st wr rs sy <<<"$line"
					ta+=("$st") wa+=("$wr") ra+=("$rs") ya+=("$sy")
				fi
			elif [[ $tool == b && -n $w_cwatch ]] && ((!fail_b)); then
				line=$(watch_burst "$w_cdir" "$r" "$w_tmp/events-compose" \
					"$w_tmp/compose-watch.log" "$WATCH_COMPOSE_DONE" "$w_cwatch")
				if [[ $line == error ]]; then
					fail_b=1
				else
					read -r st wr rs sy <<<"$line"
					tb+=("$st") wb+=("$wr") rb+=("$rs")
				fi
			fi
		done
	done
	((fail_a)) || a=$(cfg_stats "${ta[@]}")
	((fail_b)) || [[ -z $w_cwatch ]] || b=$(cfg_stats "${tb[@]}")
	((fail_a)) && echo "bench watch: a burst did not restart prisync's app" >&2
	((fail_b)) && echo "bench watch: a burst did not restart compose's app" >&2
	watch_row "burst (to 1st start)" "$a" "$b"
	printf '%-24s %10s %10s\n' "  writes ms (median)" "$(watch_median "${wa[@]}")" "$(watch_median "${wb[@]}")" \
		"  restarts per burst" "${ra[*]:--}" "${rb[*]:--}" \
		"  generates per burst" "${ya[*]:--}" "-"
	printf '%-24s %10s\n' "  target" "1 and 1"
	for n in "${wa[@]}" "${wb[@]}"; do
		((n <= 100000)) || { echo "bench watch: a burst's writes took $((n / 1000)) ms (more than 100 ms)" >&2; break; }
	done
	w_burst_restarts="${ra[*]}" w_burst_syncs="${ya[*]}"
	local met=false maxr=0 maxs=0 minr=99 mins=99 n maxw=0
	for n in "${ra[@]}"; do ((n > maxr)) && maxr=$n; ((n < minr)) && minr=$n; done
	for n in "${ya[@]}"; do ((n > maxs)) && maxs=$n; ((n < mins)) && mins=$n; done
	for n in "${wa[@]}" "${wb[@]}"; do ((n > maxw)) && maxw=$n; done
	((!fail_a && maxr == 1 && minr == 1 && maxs == 1 && mins == 1)) && met=true
	cfg_result burst "$a" "docker compose watch (sync+restart)" "$b" "1 generate and 1 restart per burst" "$met" \
		"files=$BURST_FILES" "writes_max_ms=$((maxw / 1000))" "restarts=${ra[*]}" "generates=${ya[*]}" \
		"other_restarts=${rb[*]}"
	w_burst_met=$met
}

# watch_gen_alone DIR: the wall time (us) of the Prisma generator run by hand in DIR.
watch_gen_alone()
{
	local t0 t1
	t0=$(cfg_now_us)
	(cd "$1" && "${WATCH_PRISMA_GEN[@]}") >/dev/null 2>&1 || { echo error; return 0; }
	t1=$(cfg_now_us)
	echo $((t1 - t0))
}

# The generate time (us) of the supervisor's last sync, from its log line
# "sync #N succeeded in T s (generate G s, restart R s)".
watch_last_generate()
{
	local line
	line=$(grep -oE 'generate [0-9.]+ s' "$1" 2>/dev/null | tail -1) || true
	[[ -n $line ]] || { echo -; return 0; }
	awk -v g="${line#generate }" 'BEGIN { printf "%d\n", g * 1000000 }'
}

# edit-to-restart-prisma: the supervisor of a project whose generator is the real
# `prisma generate` (Prisma 7, on the host, offline), edit rounds alternating with the
# same generator run by hand in a copy of the project.
watch_prisma_rounds()
{
	local runs=$1 r line start kill die gen fail=0 a=error b=error own=- pct=- full=- met=false nodeb=-
	local -a ta=() tk=() tg=() tj=() tr=() town=()
	for ((r = 0; r < WATCH_PRISMA_WARMUPS + runs; r++)); do
		line=$(watch_edit "$w_gdir" "$r" "$w_tmp/events-prisma" \
			"$w_gdir/.prisync/supervisor.log" "$WATCH_PRISYNC_DONE" "$w_gsup")
		if [[ $line == error ]]; then
			fail=1
			break
		fi
		gen=$(watch_gen_alone "$w_galone")
		[[ $gen == error ]] && { fail=1; break; }
		((r >= WATCH_PRISMA_WARMUPS)) || continue
		read -r start kill die <<<"$line"
		ta+=("$start") tg+=("$gen")
		[[ $kill == - ]] || { tk+=("$kill"); tr+=($((start - kill))); }
		line=$(watch_last_generate "$w_gdir/.prisync/supervisor.log")
		if [[ $line != - && $kill != - ]]; then
			tj+=("$line") town+=($((kill - line)))
		fi
	done
	if ((fail)); then
		echo "bench watch: a prisma edit did not restart the app (or the generator failed); log:" >&2
		tail -5 "$w_gdir/.prisync/supervisor.log" >&2 2>/dev/null || true
	else
		a=$(cfg_stats "${ta[@]}") b=$(cfg_stats "${tg[@]}")
		# prisync's share: from the write to the kill of the old app, less the generator's
		# own run (alone, the same rounds); the restart (kill -> start) is the engine's
		own=$(awk -v k="$(watch_median "${tk[@]}")" -v g="${b%% *}" 'BEGIN { printf "%.2f", k - g }')
		pct=$(awk -v o="$own" -v g="${b%% *}" 'BEGIN { printf "%.1f", 100 * o / g }')
		full=$(awk -v x="${a%% *}" -v g="${b%% *}" 'BEGIN { printf "%.1f", 100 * (x - g) / g }')
		met=$(cfg_met "$pct" "$WATCH_PRISMA_TARGET_PCT" 'x <= t')
		# the part of it that is the quiet period the supervisor waits by design
		nodeb=$(awk -v o="$own" -v d="$WATCH_DEBOUNCE_MS" -v g="${b%% *}" 'BEGIN { printf "%.1f", 100 * (o - d) / g }')
	fi
	printf '\n%-24s %10s %10s %8s\n' "prisma scenario" "prisync ms" "generate" ratio
	watch_row edit-to-restart-prisma "$a" "$b"
	printf '%-24s %10s %10s\n' "  write -> kill" "$(watch_median "${tk[@]}")" "" \
		"  kill -> start" "$(watch_median "${tr[@]}")" "" \
		"  generate (its log)" "$(watch_median "${tj[@]}")" "" \
		"  write -> kill - gen" "$(watch_median "${town[@]}")" ""
	printf '%-24s %10s %10s\n' "  overhead" "$pct %" "(target <= $WATCH_PRISMA_TARGET_PCT %)" \
		"  less the debounce" "$nodeb %" "($WATCH_DEBOUNCE_MS ms)" \
		"  whole chain over gen" "$full %" ""
	cfg_result edit-to-restart-prisma "$a" "prisma generate alone" "$b" \
		"overhead <= $WATCH_PRISMA_TARGET_PCT %" "$met" "overhead_pct=$pct" "overhead_ms=$own" \
		"write_to_kill_ms=$(watch_median "${tk[@]}")" "kill_to_start_ms=$(watch_median "${tr[@]}")" \
		"generate_logged_ms=$(watch_median "${tj[@]}")" \
		"write_to_kill_less_logged_generate_ms=$(watch_median "${town[@]}")" "whole_chain_over_generate_pct=$full" \
		"overhead_less_debounce_pct=$nodeb" "debounce_ms=$WATCH_DEBOUNCE_MS"
	w_prisma_pct=$pct w_prisma_met=$met
}

# The project of edit-to-restart-prisma in DIR (its generator writes to DIR/generated), and
# a copy of it in ALONE for the generator run by hand.
watch_prisma_project()
{
	local dir=$1 alone=$2 root=$3 d
	for d in "$dir" "$alone"; do
		mkdir -p "$d/prisma"
		cp "$root/bench/watch/compose.prisma.yaml" "$d/compose.yaml"
		cp "$root/examples/prisma-app/prisma.config.ts" "$d/"
		ln -s "$PRISYNC_TEST_PRISMA7/node_modules" "$d/node_modules"
		cat >"$d/prisma/schema.prisma" <<'SCHEMA'
generator client {
  provider = "prisma-client-js"
  output   = "../generated/client"
}
datasource db {
  provider = "postgresql"
}
model User {
  id    Int     @id @default(autoincrement())
  email String  @unique
  name  String?
}
SCHEMA
	done
}

# bench_watch PRISYNC ROOT: the scenarios cfg_want selects (edit-to-restart, idle, burst on
# the 2-service stack, edit-to-restart-prisma on a project of its own).
bench_watch()
{
	local bin=$1 root=$2 runs=${WATCH_RUNS:-10} prisma_runs=${WATCH_PRISMA_RUNS:-8}
	local idle=${IDLE_SECONDS:-60} tmp state own=""
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/prisync-bench.XXXXXX")
	if ! cfg_harness watch "$root" "$tmp"; then
		rm -rf "$tmp"
		return 0
	fi
	state=$cfg_state own=$cfg_own
	(
		w_bin=$bin w_root=$root w_tmp=$tmp w_state_own=$own w_cwatch="" w_sup="" w_gsup=""
		w_pdir=$tmp/prisync w_cdir=$tmp/compose w_gdir=$tmp/prisma w_galone=$tmp/prisma-alone
		w_streams=()
		w_pproj=pxbench-watch-$$-p w_cproj=pxbench-watch-$$-c w_gproj=pxbench-watch-$$-g
		trap watch_cleanup EXIT
		trap 'exit 130' INT TERM
		# shellcheck source=/dev/null
		source "$state"
		export XDG_RUNTIME_DIR=$tmp/run
		mkdir -m 0700 "$XDG_RUNTIME_DIR"
		local -a pb=("${PRISYNC_TEST_COMPOSE:-}" -p "$w_cproj" -f compose.yaml -f compose.develop.yaml)
		local since fails=() ratio=n/a stack=0 i dir
		since=$(($(date +%s) - 1))
		if ! watch_have_events; then
			echo "bench watch: neither curl on a unix socket nor a docker CLI to read engine events" >&2
			exit 1
		fi
		if cfg_want edit-to-restart || cfg_want idle || cfg_want burst; then
			stack=1
		fi

		if ((stack)); then
			for dir in "$w_pdir" "$w_cdir"; do
				mkdir -p "$dir/prisma/burst"
				cp "$root/bench/watch/compose.yaml" "$dir/"
				printf 'model A {\n  id Int @id\n}\n' >"$dir/prisma/schema.prisma"
				for ((i = 0; i < BURST_FILES; i++)); do
					printf '// burst ----\n' >"$dir/prisma/burst/f$i.prisma"
				done
			done
			cp "$root/bench/watch/compose.develop.yaml" "$w_cdir/"
			watch_events "$w_pproj" "$since" >"$w_tmp/events-prisync" 2>/dev/null &
			w_streams+=("$!")
			(cd "$w_pdir" && timeout 180 "$bin" -p "$w_pproj" up -d) >"$tmp/up.log" 2>&1 || {
				tail -5 "$tmp/up.log" >&2
				echo "bench watch: prisync up -d failed" >&2
				exit 1
			}
			if ! w_sup=$(watch_supervisor_pid "$w_pproj") || [[ ! -e /proc/$w_sup ]]; then
				echo "bench watch: no supervisor running after up -d" >&2
				exit 1
			fi

			if [[ -x ${pb[0]} ]]; then
				watch_events "$w_cproj" "$since" >"$w_tmp/events-compose" 2>/dev/null &
				w_streams+=("$!")
				(cd "$w_cdir" && timeout 180 "${pb[@]}" up -d) >"$tmp/compose-up.log" 2>&1 || {
					tail -5 "$tmp/compose-up.log" >&2
					echo "bench watch: docker compose up -d failed" >&2
					exit 1
				}
				(cd "$w_cdir" && exec "${pb[@]}" watch --no-up) >"$w_tmp/compose-watch.log" 2>&1 &
				w_cwatch=$!
				watch_wait_count "$w_tmp/compose-watch.log" 'Watch enabled' 0 "$WATCH_DEADLINE_S" || {
					tail -5 "$w_tmp/compose-watch.log" >&2
					echo "bench watch: docker compose watch did not start watching" >&2
					exit 1
				}
			else
				echo "bench watch: no docker compose v2 (PRISYNC_TEST_COMPOSE); prisync only" >&2
			fi
		fi

		if cfg_want edit-to-restart; then
			printf '\n%-24s %10s %10s %8s\n' "watch scenario" "prisync ms" "compose ms" ratio
			watch_edit_rounds "$runs"
			ratio=$w_ratio
			awk -v r="$ratio" -v t="$WATCH_TARGET" 'BEGIN { exit !(r != "n/a" && r <= t) }' ||
				fails+=("edit to restart ratio $ratio (target <= $WATCH_TARGET)")
		fi
		if cfg_want idle; then
			watch_idle "$idle"
			[[ $w_idle_wake =~ ^[0-9]+$ ]] && ((w_idle_wake <= WATCH_WAKEUPS_OK)) ||
				fails+=("idle: $w_idle_wake context switches in $idle s (target 0: no periodic wakeups)")
			[[ $w_idle_rss =~ ^[0-9]+$ ]] && ((w_idle_rss < WATCH_RSS_TARGET_KIB)) ||
				fails+=("idle: VmRSS $w_idle_rss KiB (target < $WATCH_RSS_TARGET_KIB KiB)")
		fi
		if cfg_want burst; then
			printf '\n%-24s %10s %10s %8s\n' "burst ($BURST_FILES files)" "prisync ms" "compose ms" ratio
			watch_burst_rounds "$BURST_RUNS"
			[[ $w_burst_met == true ]] ||
				fails+=("burst: restarts per burst ${w_burst_restarts:-none}, generates ${w_burst_syncs:-none} (target 1 and 1)")
		fi
		if ((stack)); then
			# the prisma project's generator is heavy: the first stack's watchers go first
			if [[ -n $w_cwatch ]]; then
				kill "$w_cwatch" 2>/dev/null || true
				wait "$w_cwatch" 2>/dev/null || true
				w_cwatch=""
			fi
			(cd "$w_pdir" && timeout 120 "$bin" -p "$w_pproj" down -v -t 1) >/dev/null 2>&1 || true
			(cd "$w_cdir" && timeout 120 "${pb[@]}" down -v -t 1) >/dev/null 2>&1 || true
		fi

		if cfg_want edit-to-restart-prisma; then
			if [[ -z ${PRISYNC_TEST_PRISMA7:-} || ! -d $PRISYNC_TEST_PRISMA7/node_modules/prisma ]]; then
				echo "bench watch: no Prisma 7 install (PRISYNC_TEST_PRISMA7); edit-to-restart-prisma skipped" >&2
				fails+=("edit-to-restart-prisma: skipped (no Prisma 7)")
			else
				watch_prisma_project "$w_gdir" "$w_galone" "$root"
				watch_events "$w_gproj" "$since" >"$w_tmp/events-prisma" 2>/dev/null &
				w_streams+=("$!")
				(cd "$w_gdir" && timeout 180 "$bin" -p "$w_gproj" up -d) >"$tmp/gup.log" 2>&1 || {
					tail -5 "$tmp/gup.log" >&2
					echo "bench watch: prisync up -d of the prisma project failed" >&2
					exit 1
				}
				w_gsup=$(watch_supervisor_pid "$w_gproj") || true
				watch_prisma_rounds "$prisma_runs"
				[[ $w_prisma_met == true ]] ||
					fails+=("edit-to-restart-prisma: overhead $w_prisma_pct % of the generator's run (target <= $WATCH_PRISMA_TARGET_PCT %)")
			fi
		fi

		if ((${#fails[@]})); then
			printf 'watch targets MISSED: %s\n' "${fails[@]}"
		else
			printf 'watch targets met (%s)\n' "${BENCH_SCENARIOS:-all}"
		fi
	)
}

# Run on its own: bench/watch.sh PRISYNC ROOT.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	# shellcheck source=config.sh
	source "$(dirname "${BASH_SOURCE[0]}")/config.sh"
	bench_watch "${1:-./prisync}" "${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
fi
