# stack.sh - the lifecycle benchmarks, prisync and docker compose v2 side by side on the
# same engine and the same 3-service stack (bench/stack/compose.yaml), runs alternating:
#   ps        `ps` of the running stack                        target ratio <= 0.2
#   up-noop   `up -d` with nothing to change                   target prisync < 100 ms
#   up-wait   cold `up -d --wait` (after `down -v`)            target ratio <= 1.0
# The engine, images and compose binary are the e2e harness's (tests/harness/env.sh), brought
# up for the run and down after it.  Sourced by run.sh after config.sh (cfg_pair, cfg_stats).
# shellcheck shell=bash

STACK_PS_TARGET=0.2
STACK_NOOP_TARGET_MS=100
STACK_UP_TARGET=1.0

# "x / y" to 3 places, or n/a.
stack_ratio()
{
	[[ $1 != error && $2 != error ]] || { echo n/a; return; }
	awk -v x="${1%% *}" -v y="${2%% *}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }'
}

stack_row()
{
	local name=$1 a=$2 b=$3
	printf '%-24s %10s %10s %8s\n' "$name" "${a%% *}" "${b%% *}" "$(stack_ratio "$a" "$b")"
	printf '%-24s %10s %10s\n' "  p10-p90 (n)" "$(cfg_spread "$a")" "$(cfg_spread "$b")"
}

# Cold up --wait, RUNS times each, alternating which tool goes first; "median p10 p90 n"
# lines for A then B.  Each run starts from `down -v` (not timed).
stack_cold_pair()
{
	local dir=$1 runs=$2 i t0 t1 first
	local -n up_a=$3 up_b=$4 down_a=$5 down_b=$6
	local -a sa=() sb=()
	(
		cd "$dir" || exit 1
		for ((i = 0; i < runs; i++)); do
			"${down_a[@]}" >/dev/null 2>&1 || true
			"${down_b[@]}" >/dev/null 2>&1 || true
			for first in a b; do
				[[ $((i % 2)) -eq 1 ]] && first=$([[ $first == a ]] && echo b || echo a)
				if [[ $first == a ]]; then
					t0=$(cfg_now_us)
					"${up_a[@]}" >/dev/null 2>&1 || { echo error; echo error; exit 0; }
					t1=$(cfg_now_us)
					sa+=($((t1 - t0)))
				else
					t0=$(cfg_now_us)
					"${up_b[@]}" >/dev/null 2>&1 || { echo error; echo error; exit 0; }
					t1=$(cfg_now_us)
					sb+=($((t1 - t0)))
				fi
			done
		done
		cfg_stats "${sa[@]}"
		cfg_stats "${sb[@]}"
	)
}

# bench_stack PRISYNC ROOT RUNS UP_RUNS
bench_stack()
{
	local bin=$1 root=$2 runs=$3 up_runs=$4 state tmp dir ps noop cold a b fails=()
	local -a pa pb ua ub da db
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/prisync-bench.XXXXXX")
	if ! cfg_harness stack "$root" "$tmp"; then
		rm -rf "$tmp"
		return 0
	fi
	# shellcheck disable=SC2154 # set by cfg_harness (config.sh, sourced first)
	state=$cfg_state
	(
		# shellcheck source=/dev/null
		source "$state"
		dir=$tmp/stack
		mkdir -p "$dir"
		cp "$root/bench/stack/compose.yaml" "$dir/"
		pa=("$bin" -p pxbench-p) pb=("$PRISYNC_TEST_COMPOSE" -p pxbench-c)

		# both stacks up, then the commands that read them
		(cd "$dir" && "${pa[@]}" up -d --wait >/dev/null 2>&1 && "${pb[@]}" up -d --wait >/dev/null 2>&1) ||
			{ echo "bench stack: the stack did not come up" >&2; exit 1; }
		printf '\n%-24s %10s %10s %8s\n' "stack scenario" "prisync ms" "compose ms" ratio
		ua=("${pa[@]}" ps) ub=("${pb[@]}" ps)
		{ read -r a; read -r b; } < <(cfg_pair "$dir" "$runs" ua ub)
		stack_row ps "$a" "$b"
		ps=$(stack_ratio "$a" "$b")
		ua=("${pa[@]}" up -d) ub=("${pb[@]}" up -d)
		{ read -r a; read -r b; } < <(cfg_pair "$dir" "$runs" ua ub)
		stack_row up-noop "$a" "$b"
		noop=${a%% *}
		# shellcheck disable=SC2034 # read through namerefs by stack_cold_pair
		ua=("${pa[@]}" up -d --wait) ub=("${pb[@]}" up -d --wait)
		da=("${pa[@]}" down -v -t 1) db=("${pb[@]}" down -v -t 1)
		{ read -r a; read -r b; } < <(stack_cold_pair "$dir" "$up_runs" ua ub da db)
		stack_row up-wait-cold "$a" "$b"
		cold=$(stack_ratio "$a" "$b")
		(cd "$dir" && "${da[@]}" && "${db[@]}") >/dev/null 2>&1 || true

		awk -v r="$ps" -v t="$STACK_PS_TARGET" 'BEGIN { exit !(r != "n/a" && r <= t) }' ||
			fails+=("ps ratio $ps (target <= $STACK_PS_TARGET)")
		awk -v m="$noop" -v t="$STACK_NOOP_TARGET_MS" 'BEGIN { exit !(m != "error" && m < t) }' ||
			fails+=("up with nothing to change: $noop ms (target < $STACK_NOOP_TARGET_MS ms)")
		awk -v r="$cold" -v t="$STACK_UP_TARGET" 'BEGIN { exit !(r != "n/a" && r <= t) }' ||
			fails+=("cold up --wait ratio $cold (target <= $STACK_UP_TARGET)")
		if ((${#fails[@]})); then
			printf 'stack targets MISSED: %s\n' "${fails[@]}"
		else
			printf 'stack targets met: ps %sx compose, up no-op %s ms, cold up --wait %sx compose\n' \
				"$ps" "$noop" "$cold"
		fi
	)
	[[ -z $cfg_own ]] || "$root/tests/harness/env.sh" down "$cfg_own" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
