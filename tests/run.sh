#!/usr/bin/env bash
# run.sh - run prisync's test binaries (cmocka) and end with one summary line for CI:
#   N passed, N failed, N skipped
# Unit tests need nothing but the binaries. Before the e2e tests, the harness brings up a
# Docker engine, the test images, a throwaway PostgreSQL and Prisma (tests/harness/env.sh),
# and tears them down on exit, whatever happens.
#
#   tests/run.sh --bin build/asan/prisync [--unit DIR] [--e2e DIR] [--filter SUBSTRING]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin="" unit_dir="" e2e_dir="" filter=""
while (($#)); do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--unit) unit_dir=$2; shift 2 ;;
	--e2e) e2e_dir=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -x $bin ]] || { echo "run.sh: prisync binary '$bin' not found — build it first" >&2; exit 2; }

export PRISYNC_BIN
PRISYNC_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export PRISYNC_SOURCE_DIR=$root
# leaks are failures; UBSan findings abort the test so they cannot scroll by unnoticed
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PRISYNC_TEST_RUN=${PRISYNC_TEST_RUN:-r$(date +%s)-$$}

logs=$root/build/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0
failed_bins=()

# Run one cmocka binary; add its summary to the totals. A binary that dies before printing
# its summary (crash, sanitizer abort) counts as one failure on top of what it reported.
run_one() {
	local t=$1 name log rc p=0 f=0 s=0 total=0
	name=$(basename "$t")
	log=$logs/$name.log
	"$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | tail -1)
	total=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run\..*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [[ -z $total ]] || { ((rc != 0)) && ((f == 0)); }; then
		f=$((f + 1))
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if ((f > 0)); then
		failed_bins+=("$name")
		printf '%-28s FAIL  %d passed, %d failed, %d skipped (exit %d)\n' "$name" "$p" "$f" "$s" "$rc"
		# the failing part of the log, so CI output says what broke
		grep -E '^\[  (FAILED|ERROR|  LINE)|ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY:|harness:' "$log" |
			head -40 | sed 's/^/    /'
	else
		printf '%-28s ok    %d passed, %d skipped\n' "$name" "$p" "$s"
	fi
}

select_tests() {
	local d=$1 t
	[[ -d $d ]] || return 0
	for t in "$d"/test_*; do
		[[ -x $t && ! -d $t ]] || continue
		[[ -z $filter || $t == *"$filter"* ]] || continue
		printf '%s\n' "$t"
	done
}

if [[ -n $unit_dir ]]; then
	echo "== unit tests"
	while read -r t; do run_one "$t"; done < <(select_tests "$unit_dir")
fi

if [[ -n $e2e_dir ]]; then
	mapfile -t e2e < <(select_tests "$e2e_dir")
	if ((${#e2e[@]})); then
		echo "== e2e harness"
		state=$root/build/harness.env
		harness_down() { "$here/harness/env.sh" down "$state" || true; }
		trap harness_down EXIT
		trap 'exit 130' INT TERM
		"$here/harness/env.sh" up "$state"
		hrc=$?
		if ((hrc == 0)); then
			# shellcheck disable=SC1090
			source "$state"
		elif ((hrc == 3)); then
			# tests that need the harness skip themselves (CI=true never gets here: env.sh fails)
			echo "harness: components missing; e2e tests that need them will be skipped"
			export PRISYNC_TEST_NO_HARNESS=1
		else
			echo "harness: setup failed (exit $hrc)"
			failed=$((failed + 1))
			failed_bins+=("harness")
			e2e=()
		fi
		echo "== e2e tests"
		for t in "${e2e[@]}"; do run_one "$t"; done
	fi
fi

echo
if ((${#failed_bins[@]})); then
	echo "failed: ${failed_bins[*]} (logs in build/test-logs/)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
