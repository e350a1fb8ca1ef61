# config.sh - the `config` benchmark: `prisync config` against `docker compose config` on
# examples/prisma-app and on a generated 2,000-service project (bench/gen-compose.sh), runs of the
# two alternating; load only (-q) and load + print; median and spread, peak RSS, and the
# targets for loading 2,000 services (< 50 ms, < 20 MiB).  Sourced by run.sh.
# shellcheck shell=bash

CONFIG_TARGET_MS=50
CONFIG_TARGET_KIB=$((20 * 1024))
# a command slower than this per run gets only CONFIG_SLOW_RUNS runs (compose needs
# seconds for 2,000 services, and the whole bench must stay within minutes)
CONFIG_SLOW_US=2000000
CONFIG_SLOW_RUNS=3
# set by cfg_harness for the benches that need the e2e harness
export cfg_state="" cfg_own=""

cfg_now_us()
{
	local t=${EPOCHREALTIME/./}
	printf '%s' "$t"
}

# "median p10 p90 n" in ms of the microsecond samples given as arguments.
cfg_stats()
{
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		p10 = int(NR * 0.1) + 1; p90 = int(NR * 0.9); if (p90 < 1) p90 = 1
		printf "%.2f %.2f %.2f %d\n", v[int((NR + 1) / 2)] / 1000, v[p10] / 1000, v[p90] / 1000, NR }'
}

# cfg_pair DIR RUNS A B: run the commands in the arrays named A and B in DIR, alternately
# (A, B, A, B ...) after one warm-up run each, and print two lines "median p10 p90 n" (ms),
# A's then B's; "error" for a command that fails.  B may be an empty array (no compose).
cfg_pair()
{
	local dir=$1 runs=$2
	local -n cmd_a=$3 cmd_b=$4
	(
		cd "$dir" || exit 1
		local i t0 t1 na=$runs nb=$runs ok_a=1 ok_b=1
		local -a sa=() sb=()
		t0=$(cfg_now_us)
		"${cmd_a[@]}" >/dev/null 2>&1 || ok_a=0
		t1=$(cfg_now_us)
		((t1 - t0 > CONFIG_SLOW_US)) && na=$CONFIG_SLOW_RUNS
		if ((${#cmd_b[@]})); then
			t0=$(cfg_now_us)
			"${cmd_b[@]}" >/dev/null 2>&1 || ok_b=0
			t1=$(cfg_now_us)
			((t1 - t0 > CONFIG_SLOW_US)) && nb=$CONFIG_SLOW_RUNS
		else
			ok_b=0 nb=0
		fi
		((ok_a)) || na=0
		((ok_b)) || nb=0
		for ((i = 0; i < runs; i++)); do
			if ((i < na)); then
				t0=$(cfg_now_us)
				"${cmd_a[@]}" >/dev/null 2>&1
				t1=$(cfg_now_us)
				sa+=($((t1 - t0)))
			fi
			if ((i < nb)); then
				t0=$(cfg_now_us)
				"${cmd_b[@]}" >/dev/null 2>&1
				t1=$(cfg_now_us)
				sb+=($((t1 - t0)))
			fi
		done
		if ((ok_a)); then cfg_stats "${sa[@]}"; else echo error; fi
		if ((ok_b)); then cfg_stats "${sb[@]}"; else echo error; fi
	)
}

# cfg_harness NAME ROOT TMP: the e2e harness for bench NAME.  With PRISYNC_BENCH_ENV, the
# harness already up that it names; else one brought up now, its state in TMP.  Sets
# cfg_state (the state file to source) and cfg_own (the state this run must bring down, or
# ""); returns 1 with a message when it does not come up.
cfg_harness()
{
	local name=$1 root=$2 tmp=$3
	if [[ -n ${PRISYNC_BENCH_ENV:-} ]]; then
		cfg_state=$PRISYNC_BENCH_ENV cfg_own=""
		return 0
	fi
	cfg_state=$tmp/harness.env cfg_own=$tmp/harness.env
	if ! "$root/tests/harness/env.sh" up "$cfg_state" >"$tmp/harness.log" 2>&1; then
		tail -5 "$tmp/harness.log" >&2
		echo "bench $name: the harness did not come up; skipped" >&2
		"$root/tests/harness/env.sh" down "$cfg_state" >/dev/null 2>&1 || true
		cfg_own=""
		return 1
	fi
}

# Peak RSS (KiB) of one run of the command in DIR, or "n/a".
cfg_rss()
{
	local dir=$1 out
	shift
	(($#)) || { echo n/a; return; }
	[[ -x /usr/bin/time ]] || { echo n/a; return; }
	out=$(cd "$dir" && /usr/bin/time -f %M -o /dev/stdout "$@" 2>/dev/null | tail -1) || true
	[[ $out =~ ^[0-9]+$ ]] && echo "$out" || echo n/a
}

# bench_config PRISYNC ROOT RUNS
bench_config()
{
	local bin=$1 root=$2 runs=$3 compose="" tmp name dir mode a b ra rb ratio
	local -a pa=() pb=() fails=()
	local target_ms="" target_kib=""
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	if compose=$("$root/tests/harness/compose.sh" path 2>/dev/null); then
		:
	else
		echo "bench config: docker compose v2 not available (tests/harness/compose.sh); prisync only" >&2
		compose=""
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/prisync-bench.XXXXXX")
	"$root/bench/gen-compose.sh" 2000 "$tmp/gen2000"

	printf '\n%-24s %10s %10s %8s %12s %12s\n' "config scenario" "prisync ms" "compose ms" \
		ratio "prisync KiB" "compose KiB"
	for name in example gen2000; do
		case $name in
		example) dir=$root/examples/prisma-app ;;
		gen2000) dir=$tmp/gen2000 ;;
		esac
		for mode in load print; do
			pa=("$bin" --project-directory "$dir" config)
			pb=()
			[[ -n $compose ]] && pb=("$compose" --project-directory "$dir" config)
			if [[ $mode == load ]]; then
				pa+=(-q)
				((${#pb[@]})) && pb+=(-q)
			fi
			{ read -r a; read -r b; } < <(cfg_pair "$dir" "$runs" pa pb)
			ra=$(cfg_rss "$dir" "${pa[@]}")
			rb=$(cfg_rss "$dir" "${pb[@]}")
			ratio=n/a
			if [[ $a != error && $b != error ]]; then
				ratio=$(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }')
			fi
			printf '%-24s %10s %10s %8s %12s %12s\n' "config-$name-$mode" "${a%% *}" \
				"${b%% *}" "$ratio" "$ra" "$rb"
			printf '%-24s %10s %10s\n' "  p10-p90 (n)" \
				"$(cfg_spread "$a")" "$(cfg_spread "$b")"
			if [[ $name == gen2000 && $mode == load ]]; then
				target_ms=${a%% *} target_kib=$ra
				cfg_result "config-$name-$mode" "$a" "docker compose config" "$b" \
					"< $CONFIG_TARGET_MS ms, < $CONFIG_TARGET_KIB KiB" \
					"$( [[ $(cfg_met "${a%% *}" "$CONFIG_TARGET_MS" 'x < t') == true &&
						$ra =~ ^[0-9]+$ ]] && ((ra < CONFIG_TARGET_KIB)) && echo true || echo false)" \
					"prisync_rss_kib=$ra" "other_rss_kib=$rb"
			else
				cfg_result "config-$name-$mode" "$a" "docker compose config" "$b" "" "" \
					"prisync_rss_kib=$ra" "other_rss_kib=$rb"
			fi
		done
	done
	rm -rf "$tmp"

	# the issue's targets: loading 2,000 services in under 50 ms and 20 MiB
	if [[ $target_ms == error || -z $target_ms ]]; then
		fails+=("prisync config -q failed on the 2,000-service project")
	else
		awk -v m="$target_ms" -v t="$CONFIG_TARGET_MS" 'BEGIN { exit !(m < t) }' ||
			fails+=("load 2,000 services: $target_ms ms (target < $CONFIG_TARGET_MS ms)")
		[[ $target_kib =~ ^[0-9]+$ ]] && ((target_kib >= CONFIG_TARGET_KIB)) &&
			fails+=("load 2,000 services: $target_kib KiB peak RSS (target < $CONFIG_TARGET_KIB KiB)")
	fi
	if ((${#fails[@]})); then
		printf 'config targets MISSED: %s\n' "${fails[@]}"
	else
		printf 'config targets met: 2,000 services load in %s ms, %s KiB\n' "$target_ms" "$target_kib"
	fi
}

# "p10-p90 (n)" of a cfg_stats line.
cfg_spread()
{
	local p10 p90 n
	[[ $1 == error ]] && { echo error; return; }
	read -r _ p10 p90 n <<<"$1"
	printf '%s-%s (%s)' "$p10" "$p90" "$n"
}

# Whether scenario NAME is in this run: BENCH_SCENARIOS (set by run.sh) lists them; unset or
# empty, every scenario is.
cfg_want()
{
	[[ -z ${BENCH_SCENARIOS:-} || " $BENCH_SCENARIOS " == *" $1 "* ]]
}

# A JSON value: a number as it is, "-", "n/a", "error" or "" as null, anything else quoted.
cfg_json_value()
{
	if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
		printf '%s' "$1"
	elif [[ -z $1 || $1 == - || $1 == n/a || $1 == error ]]; then
		printf 'null'
	elif [[ $1 == true || $1 == false ]]; then
		printf '%s' "$1"
	else
		local s=${1//\\/\\\\}
		s=${s//\"/\\\"}
		printf '"%s"' "$s"
	fi
}

# cfg_result NAME A OTHER B TARGET MET [KEY=VALUE ...]: one scenario's result, as one JSON
# line appended to PRISYNC_BENCH_JSONL (run.sh makes bench/results/latest.json of them) and
# one summary row to PRISYNC_BENCH_JSONL.tsv.  A and B are cfg_stats lines ("median p10 p90
# n", or "error"); OTHER names what B measured ("docker compose ps", "psql select 1"; "" for
# none); TARGET is the target as text ("<= 0.4", "< 8 MiB"), MET true, false or "" (no
# target); each KEY=VALUE adds a field (a number stays a number).
cfg_result()
{
	local name=$1 a=$2 other=$3 b=$4 target=$5 met=$6 am ap10 ap90 an bm bp10 bp90 bn ratio kv
	local line
	shift 6
	[[ -n ${PRISYNC_BENCH_JSONL:-} ]] || return 0
	am=- ap10=- ap90=- an=- bm=- bp10=- bp90=- bn=- ratio=-
	[[ $a == error || -z $a ]] || read -r am ap10 ap90 an <<<"$a"
	[[ $b == error || -z $b ]] || read -r bm bp10 bp90 bn <<<"$b"
	if [[ $am != - && $bm != - ]]; then
		ratio=$(awk -v x="$am" -v y="$bm" 'BEGIN { if (y > 0) printf "%.3f", x / y; else printf "-" }')
	fi
	line=$(printf '{"name":%s,"prisync_ms":%s,"other_ms":%s,"other":%s,"ratio":%s,"target":%s,"met":%s,"n":%s,"p10":%s,"p90":%s,"other_n":%s,"other_p10":%s,"other_p90":%s' \
		"$(cfg_json_value "$name")" "$(cfg_json_value "$am")" "$(cfg_json_value "$bm")" \
		"$(cfg_json_value "$other")" "$(cfg_json_value "$ratio")" "$(cfg_json_value "$target")" \
		"$(cfg_json_value "$met")" "$(cfg_json_value "$an")" "$(cfg_json_value "$ap10")" \
		"$(cfg_json_value "$ap90")" "$(cfg_json_value "$bn")" "$(cfg_json_value "$bp10")" \
		"$(cfg_json_value "$bp90")")
	for kv in "$@"; do
		line+=$(printf ',%s:%s' "$(cfg_json_value "${kv%%=*}")" "$(cfg_json_value "${kv#*=}")")
	done
	printf '%s}\n' "$line" >>"$PRISYNC_BENCH_JSONL"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$am" "$bm" "$ratio" "${other:--}" \
		"${target:--}" "${met:--}" >>"$PRISYNC_BENCH_JSONL.tsv"
}

# "true" when the awk condition COND on x (and t) holds, else "false": cfg_met X T 'x <= t'.
cfg_met()
{
	if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] &&
		awk -v x="$1" -v t="$2" "BEGIN { exit !($3) }"; then
		echo true
	else
		echo false
	fi
}
