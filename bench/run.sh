#!/usr/bin/env bash
# run.sh - prisync's benchmarks: each scenario measured over repeated runs, median and
# spread printed in one table.  Targets are checked here, never by timed assertions in tests.
#   bench/run.sh [--runs N] [--config-runs N] [--stack-runs N] [--up-runs N] [--bin PATH]
#                [--only startup|config|stack|watch|db]
# BENCH=NAME in the environment (make bench BENCH=config) is the same as --only NAME.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
runs=200
config_runs=10
stack_runs=20
up_runs=10
bin=./prisync
only=${BENCH:-}
while (($#)); do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--config-runs) config_runs=$2; shift 2 ;;
	--stack-runs) stack_runs=$2; shift 2 ;;
	--up-runs) up_runs=$2; shift 2 ;;
	--bin) bin=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "bench: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $only in
"" | startup | config | stack | watch | db) ;;
*) echo "bench: unknown scenario '$only' (startup, config, stack, watch, db)" >&2; exit 2 ;;
esac
[[ -x $bin ]] || { echo "bench: '$bin' not found — run 'make' first" >&2; exit 2; }

# Wall time of one command, in microseconds, $runs times after 5 warm-up runs; prints
# "median p10 p90" (in ms).
measure() {
	local i t0 t1
	local -a samples=()
	for ((i = 0; i < 5; i++)); do "$@" >/dev/null 2>&1; done
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		samples+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
		printf "%.2f %.2f %.2f\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.1) + 1] / 1000, v[int(NR * 0.9)] / 1000 }'
}

# Peak resident set size of one run, in KiB (GNU time's %M).
peak_rss() {
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
	else
		echo "n/a"
	fi
}

if [[ -z $only || $only == startup ]]; then
	printf '%-24s %10s %10s %10s %12s\n' scenario "median ms" "p10 ms" "p90 ms" "peak RSS KiB"
	for scenario in "startup:$bin version --short" "help:$bin --help"; do
		name=${scenario%%:*}
		read -r -a cmd <<<"${scenario#*:}"
		read -r med p10 p90 < <(measure "${cmd[@]}")
		printf '%-24s %10s %10s %10s %12s\n' "$name" "$med" "$p10" "$p90" "$(peak_rss "${cmd[@]}")"
	done
	# a baseline on the same machine, so the numbers above can be read: the cost of exec'ing
	# a static binary that does nothing
	read -r med p10 p90 < <(measure /bin/true)
	printf '%-24s %10s %10s %10s %12s\n' "baseline:/bin/true" "$med" "$p10" "$p90" "$(peak_rss /bin/true)"
fi

# prisync config vs docker compose config (bench/config.sh)
if [[ -z $only || $only == config ]]; then
	# shellcheck source=config.sh
	source "$here/config.sh"
	bench_config "$bin" "$root" "$config_runs"
fi

# ps, up with nothing to change and cold up --wait, vs docker compose (bench/stack.sh)
if [[ -z $only || $only == stack ]]; then
	# shellcheck source=config.sh
	source "$here/config.sh"
	# shellcheck source=stack.sh
	source "$here/stack.sh"
	bench_stack "$bin" "$root" "$stack_runs" "$up_runs"
fi

# edit-to-restart and the idle supervisor, vs docker compose watch (bench/watch.sh)
if [[ -z $only || $only == watch ]]; then "$here/watch.sh" "$bin" "$root"; fi

# db-check vs a bare psql select 1 (bench/db.sh)
if [[ -z $only || $only == db ]]; then "$here/db.sh" "$bin" "$root"; fi
