#!/usr/bin/env bash
# run.sh - prisync's benchmarks: each scenario measured over repeated runs, median and
# spread printed in one table per group and a summary; targets are checked here, never by
# timed assertions in tests.  Every scenario's result also goes to bench/results/latest.json
# (bench/README.md says what each measures and how to read it).
#   bench/run.sh [--runs N] [--config-runs N] [--stack-runs N] [--up-runs N] [--bin PATH]
#                [--only NAME[,NAME...]]
# NAME is a scenario: startup config ps status up-wait edit-to-restart edit-to-restart-prisma
# burst idle db-check watch-scale; or a group: stack (ps status up-wait), watch
# (edit-to-restart edit-to-restart-prisma burst idle), db (db-check).  BENCH=NAME in the
# environment (make bench BENCH=ps) is the same as --only NAME.  PRISYNC_BENCH_ENV=STATE_FILE
# reuses an e2e harness that is already up (tests/harness/env.sh).
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
all_scenarios="startup config ps status up-wait edit-to-restart idle burst edit-to-restart-prisma db-check watch-scale"
selected=""
for name in ${only//,/ }; do
	case $name in
	startup | config | ps | status | up-wait | edit-to-restart | edit-to-restart-prisma | burst | idle | \
		db-check | watch-scale) selected+=" $name" ;;
	up-noop) selected+=" up-wait" ;;
	stack) selected+=" ps status up-wait" ;;
	watch) selected+=" edit-to-restart idle burst edit-to-restart-prisma" ;;
	db) selected+=" db-check" ;;
	*)
		echo "bench: unknown scenario '$name' ($all_scenarios; groups stack, watch, db)" >&2
		exit 2
		;;
	esac
done
selected=${selected# }
export BENCH_SCENARIOS=$selected
export PRISYNC_BENCH_ENV=${PRISYNC_BENCH_ENV:-}
[[ -x $bin ]] || { echo "bench: '$bin' not found — run 'make' first" >&2; exit 2; }
# shellcheck source=config.sh
source "$here/config.sh"

# every scenario appends its result (one JSON object a line) here; the end of the run makes
# bench/results/latest.json of them
results=$here/results
mkdir -p "$results"
export PRISYNC_BENCH_JSONL
PRISYNC_BENCH_JSONL=$(mktemp "${TMPDIR:-/tmp}/prisync-bench-results.XXXXXX")
trap 'rm -f "$PRISYNC_BENCH_JSONL" "$PRISYNC_BENCH_JSONL.tsv"' EXIT
bench_t0=$(cfg_now_us)

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

if cfg_want startup; then
	printf '%-24s %10s %10s %10s %12s\n' scenario "median ms" "p10 ms" "p90 ms" "peak RSS KiB"
	for scenario in "startup:$bin version --short" "help:$bin --help"; do
		name=${scenario%%:*}
		read -r -a cmd <<<"${scenario#*:}"
		read -r med p10 p90 < <(measure "${cmd[@]}")
		rss=$(cfg_rss . "${cmd[@]}")
		printf '%-24s %10s %10s %10s %12s\n' "$name" "$med" "$p10" "$p90" "$rss"
		[[ $name == startup ]] && startup="$med $p10 $p90 $runs" startup_rss=$rss
	done
	# a baseline on the same machine, so the numbers above can be read: the cost of exec'ing
	# a static binary that does nothing
	read -r med p10 p90 < <(measure /bin/true)
	printf '%-24s %10s %10s %10s %12s\n' "baseline:/bin/true" "$med" "$p10" "$p90" "$(cfg_rss . /bin/true)"
	cfg_result startup "$startup" "/bin/true" "$med $p10 $p90 $runs" "" "" "prisync_rss_kib=$startup_rss"
fi

# prisync config vs docker compose config (bench/config.sh)
if cfg_want config; then
	bench_config "$bin" "$root" "$config_runs"
fi

# ps, up with nothing to change and cold up --wait, vs docker compose (bench/stack.sh)
if cfg_want ps || cfg_want status || cfg_want up-wait; then
	# shellcheck source=stack.sh
	source "$here/stack.sh"
	bench_stack "$bin" "$root" "$stack_runs" "$up_runs"
fi

# edit-to-restart, the idle supervisor and the burst vs docker compose watch, and
# edit-to-restart-prisma vs prisma generate alone (bench/watch.sh)
if cfg_want edit-to-restart || cfg_want idle || cfg_want burst || cfg_want edit-to-restart-prisma; then
	"$here/watch.sh" "$bin" "$root"
fi

# db-check vs a bare psql select 1 and vs prisma migrate status (bench/db.sh)
if cfg_want db-check; then "$here/db.sh" "$bin" "$root"; fi

# the watcher on 10,000 directories vs inotifywait -r (bench/scale.sh)
if cfg_want watch-scale; then "$here/scale.sh" "$bin" "$root"; fi

# the summary and bench/results/latest.json
elapsed=$(awk -v u=$(($(cfg_now_us) - bench_t0)) 'BEGIN { printf "%.0f", u / 1e6 }')
printf '\n%-26s %10s %10s %8s  %-6s %s\n' summary "prisync ms" "other ms" ratio met "other (target)"
while IFS=$'\t' read -r name a b ratio other target met; do
	printf '%-26s %10s %10s %8s  %-6s %s (%s)\n' "$name" "$a" "$b" "$ratio" "$met" "$other" "$target"
done <"$PRISYNC_BENCH_JSONL.tsv" 2>/dev/null || true
printf 'whole run: %s s\n' "$elapsed"
cpu=$(awk -F': *' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
{
	printf '{\n  "date": %s,\n  "kernel": %s,\n  "nproc": %s,\n  "cpu": %s,\n' \
		"$(cfg_json_value "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(cfg_json_value "$(uname -r)")" \
		"$(nproc)" "$(cfg_json_value "${cpu:-unknown}")"
	printf '  "prisync": %s,\n  "scenarios_selected": %s,\n  "duration_s": %s,\n  "results": [\n' \
		"$(cfg_json_value "$("$bin" version --short 2>/dev/null || echo unknown)")" \
		"$(cfg_json_value "${BENCH_SCENARIOS:-all}")" "$elapsed"
	sed -e 's/^/    /' -e '$!s/$/,/' "$PRISYNC_BENCH_JSONL"
	printf '  ]\n}\n'
} >"$results/latest.json"
printf 'results: %s\n' "${results#"$root"/}/latest.json"
