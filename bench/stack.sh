# stack.sh - the lifecycle benchmarks, prisync and docker compose v2 side by side on the
# same engine and the same 3-service stack (bench/stack/compose.yaml), runs alternating:
#   ps        `ps` of the running stack                        target ratio <= 0.2
#   status    `status` of the stack with a schema, in sync, vs compose ps: without a
#             supervisor target < 60 ms, with one < 15 ms
#   up-noop   `up -d` with nothing to change                   target prisync < 100 ms
#   up-wait   cold `up -d --wait` (after `down -v`)            target ratio <= 1.0
# The engine, images and compose binary are the e2e harness's (tests/harness/env.sh), brought
# up for the run and down after it.  Sourced by run.sh after config.sh (cfg_pair, cfg_stats).
# shellcheck shell=bash

STACK_PS_TARGET=0.2
STACK_NOOP_TARGET_MS=100
STACK_UP_TARGET=1.0
STACK_STATUS_SUP_TARGET_MS=15
STACK_STATUS_TARGET_MS=60

# stack_status_project DIR ROOT: the 3-service stack with a schema on its db service, migrated
# by the caller: what `status` looks at (client, last sync, database, services).
stack_status_project()
{
	local dir=$1 root=$2
	mkdir -p "$dir/prisma/migrations/20250101000000_init"
	cp "$root/bench/stack/compose.yaml" "$dir/"
	cat >>"$dir/compose.yaml" <<'EOF'
x-prisync:
  schemas:
    - name: core
      schema: prisma/schema.prisma
      run-in: host
      generate: ["true"]
      restart: [app]
      database-url: postgresql://postgres:secret@db:5432/app
EOF
	printf 'datasource db {\n  provider = "postgresql"\n}\nmodel A {\n  id Int @id\n}\n' \
		>"$dir/prisma/schema.prisma"
	printf 'CREATE TABLE a (id int PRIMARY KEY);\n' \
		>"$dir/prisma/migrations/20250101000000_init/migration.sql"
	printf 'provider = "postgresql"\n' >"$dir/prisma/migrations/migration_lock.toml"
}

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
	local bin=$1 root=$2 runs=$3 up_runs=$4 state tmp dir sdir ps=n/a noop=error cold=n/a a b fails=()
	local st_plain="" st_sup=""
	local -a pa pb ua ub da db sa ub_ps
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
		# shellcheck disable=SC2034 # passed to cfg_pair by name
		ub_ps=("${ub[@]}")
		if cfg_want ps; then
			{ read -r a; read -r b; } < <(cfg_pair "$dir" "$runs" ua ub)
			stack_row ps "$a" "$b"
			ps=$(stack_ratio "$a" "$b")
			cfg_result ps "$a" "docker compose ps" "$b" "ratio <= $STACK_PS_TARGET" \
				"$(cfg_met "$ps" "$STACK_PS_TARGET" 'x <= t')"
		fi
		# status, in sync, without and then with a supervisor, against compose ps
		if cfg_want status; then
			sdir=$tmp/status
			stack_status_project "$sdir" "$root"
			sa=("$bin" -p pxbench-s)
			if (cd "$sdir" && "${sa[@]}" up -d --wait --no-supervisor >/dev/null 2>&1 &&
				"${sa[@]}" migrate --no-sync >/dev/null 2>&1 && "${sa[@]}" status >/dev/null); then
				ua=("${sa[@]}" status)
				{ read -r a; read -r b; } < <(cfg_pair "$sdir" "$runs" ua ub_ps)
				stack_row status "$a" "$b"
				st_plain=${a%% *}
				cfg_result status "$a" "docker compose ps" "$b" "< $STACK_STATUS_TARGET_MS ms" \
					"$(cfg_met "$st_plain" "$STACK_STATUS_TARGET_MS" 'x < t')"
				(cd "$sdir" && "${sa[@]}" up -d >/dev/null 2>&1)
				{ read -r a; read -r b; } < <(cfg_pair "$sdir" "$runs" ua ub_ps)
				stack_row status-supervised "$a" "$b"
				st_sup=${a%% *}
				cfg_result status-supervised "$a" "docker compose ps" "$b" \
					"< $STACK_STATUS_SUP_TARGET_MS ms" "$(cfg_met "$st_sup" "$STACK_STATUS_SUP_TARGET_MS" 'x < t')"
			else
				(cd "$sdir" && "${sa[@]}" status) >&2 || true
				fails+=("status: the project is not in sync")
			fi
			(cd "$sdir" && "${sa[@]}" down -v -t 1) >/dev/null 2>&1 || true
		fi
		if cfg_want up-wait; then
			ua=("${pa[@]}" up -d) ub=("${pb[@]}" up -d)
			{ read -r a; read -r b; } < <(cfg_pair "$dir" "$runs" ua ub)
			stack_row up-noop "$a" "$b"
			noop=${a%% *}
			cfg_result up-noop "$a" "docker compose up -d" "$b" "< $STACK_NOOP_TARGET_MS ms" \
				"$(cfg_met "$noop" "$STACK_NOOP_TARGET_MS" 'x < t')"
			# shellcheck disable=SC2034 # read through namerefs by stack_cold_pair
			ua=("${pa[@]}" up -d --wait) ub=("${pb[@]}" up -d --wait)
			# shellcheck disable=SC2034 # read through namerefs by stack_cold_pair
			da=("${pa[@]}" down -v -t 1) db=("${pb[@]}" down -v -t 1)
			{ read -r a; read -r b; } < <(stack_cold_pair "$dir" "$up_runs" ua ub da db)
			stack_row up-wait-cold "$a" "$b"
			cold=$(stack_ratio "$a" "$b")
			cfg_result up-wait "$a" "docker compose up -d --wait" "$b" "ratio <= $STACK_UP_TARGET" \
				"$(cfg_met "$cold" "$STACK_UP_TARGET" 'x <= t')"
		fi
		(cd "$dir" && "${pa[@]}" down -v -t 1 && "${pb[@]}" down -v -t 1) >/dev/null 2>&1 || true

		if cfg_want ps; then
			awk -v r="$ps" -v t="$STACK_PS_TARGET" 'BEGIN { exit !(r != "n/a" && r <= t) }' ||
				fails+=("ps ratio $ps (target <= $STACK_PS_TARGET)")
		fi
		if cfg_want up-wait; then
			awk -v m="$noop" -v t="$STACK_NOOP_TARGET_MS" 'BEGIN { exit !(m != "error" && m < t) }' ||
				fails+=("up with nothing to change: $noop ms (target < $STACK_NOOP_TARGET_MS ms)")
			awk -v r="$cold" -v t="$STACK_UP_TARGET" 'BEGIN { exit !(r != "n/a" && r <= t) }' ||
				fails+=("cold up --wait ratio $cold (target <= $STACK_UP_TARGET)")
		fi
		if cfg_want status; then
			awk -v m="${st_plain:-error}" -v t="$STACK_STATUS_TARGET_MS" 'BEGIN { exit !(m != "error" && m < t) }' ||
				fails+=("status without a supervisor: ${st_plain:-error} ms (target < $STACK_STATUS_TARGET_MS ms)")
			awk -v m="${st_sup:-error}" -v t="$STACK_STATUS_SUP_TARGET_MS" 'BEGIN { exit !(m != "error" && m < t) }' ||
				fails+=("status with a supervisor: ${st_sup:-error} ms (target < $STACK_STATUS_SUP_TARGET_MS ms)")
		fi
		if ((${#fails[@]})); then
			printf 'stack targets MISSED: %s\n' "${fails[@]}"
		else
			printf 'stack targets met (%s)\n' "${BENCH_SCENARIOS:-all}"
		fi
	)
	[[ -z $cfg_own ]] || "$root/tests/harness/env.sh" down "$cfg_own" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
