#!/bin/bash
# check-repeat - run the test suite N times and count failures per program.
#
# Copyright (C) 2026 The upager authors.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Flakiness is a defect: a test that fails one run in twenty is found by
# running the suite many times, not once.  This runs `make check-TESTS` in
# the current directory (the build's tests/ directory; `make check-repeat`
# there or at the top level arranges that) N times, keeps going after
# failures, and reads each run's automake results (PROGRAM.trs,
# ":test-result: FAIL" or "ERROR").  The log of every failed program of run
# K is kept as DIR/run-K/PROGRAM.log (with its .trs), each run's summary
# in DIR/runs.txt.  At the end it prints a table (program, runs, failures,
# the runs that failed) and exits 1 if any run of any program failed.
#
# Environment (the make target passes its variables of the same names):
#   N=10          how many runs
#   STRESS=1      run `stress-ng --cpu 2` alongside, for the whole
#                 repetition (skipped with a message if stress-ng is absent)
#   TESTS="..."   the programs (default: the TESTS of ./Makefile)
#   DIR=check-repeat.d   where the logs of failures go (emptied first)
#   MAKE=make     the make program
#
# A run of a program counts as failed when its .trs says FAIL, ERROR or
# XPASS, or is missing while others are there (the program did not run).
# SKIP is not a failure.  A run in which no program ran at all (make
# failed, e.g. a build error) is reported apart and makes the exit status 1
# without counting as a failure of every program.

set -u

n=${N:-10}
stress=${STRESS:-}
dir=${DIR:-check-repeat.d}
make=${MAKE:-make}
tests=${TESTS:-}

case $n in
'' | *[!0-9]*)
	echo "check-repeat: N must be a positive number, not '$n'" >&2
	exit 2
	;;
esac
if [ "$n" -lt 1 ]; then
	echo "check-repeat: N must be at least 1" >&2
	exit 2
fi
if [ ! -f Makefile ]; then
	echo "check-repeat: run it in the build's tests/ directory (make check-repeat)" >&2
	exit 2
fi
if [ -z "$tests" ]; then
	# the TESTS of the Makefile, expanded by make itself
	tests=$($make -s --no-print-directory -f Makefile -f - print-check-repeat-tests <<'EOF'
print-check-repeat-tests:
	@echo $(TESTS)
EOF
)
fi
# program names: strip $(EXEEXT) and any directory
progs=()
for t in $tests; do
	t=${t##*/}
	progs+=("${t%.exe}")
done
if [ ${#progs[@]} -eq 0 ]; then
	echo "check-repeat: no test programs to run (is CUnit installed?)" >&2
	exit 2
fi

rm -rf "$dir"
mkdir -p "$dir" || exit 2

stress_pid=
stop_stress() {
	if [ -n "$stress_pid" ]; then
		kill "$stress_pid" 2>/dev/null
		wait "$stress_pid" 2>/dev/null
		stress_pid=
	fi
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM
if [ -n "$stress" ] && [ "$stress" != 0 ]; then
	if command -v stress-ng >/dev/null 2>&1; then
		stress-ng --cpu 2 --timeout 24h --quiet >/dev/null 2>&1 &
		stress_pid=$!
		echo "check-repeat: stress-ng --cpu 2 running alongside (pid $stress_pid)"
	else
		echo "check-repeat: STRESS=1 but stress-ng is not installed: running without load"
		stress=
	fi
fi

declare -A fails failed_runs
for p in "${progs[@]}"; do
	fails[$p]=0
	failed_runs[$p]=
done
total_fail=0
broken=0
start=$(date +%s)

for ((k = 1; k <= n; k++)); do
	t0=$(date +%s)
	for p in "${progs[@]}"; do
		rm -f "$p.log" "$p.trs"
	done
	$make check-TESTS TESTS="$tests" >"$dir/make-run.out" 2>&1
	t1=$(date +%s)
	ran=0
	for p in "${progs[@]}"; do
		[ -f "$p.trs" ] && ran=1
	done
	if [ $ran = 0 ]; then
		# make failed before any test ran (a build error): not a test
		# failure, but the repetition is not clean either
		broken=$((broken + 1))
		mkdir -p "$dir/run-$k"
		cp "$dir/make-run.out" "$dir/run-$k/make.out"
		echo "run $k/$n: $((t1 - t0)) s, NO TEST RAN: make failed, see $dir/run-$k/make.out" |
			tee -a "$dir/runs.txt"
		continue
	fi
	bad=()
	for p in "${progs[@]}"; do
		if [ -f "$p.trs" ]; then
			res=$(sed -n 's/^:test-result: *//p' "$p.trs" | tr '\n' ' ')
		else
			res="(no result)"
		fi
		case $res in
		*FAIL* | *ERROR* | *XPASS* | "(no result)" | "")
			fails[$p]=$((fails[$p] + 1))
			failed_runs[$p]="${failed_runs[$p]} $k"
			total_fail=$((total_fail + 1))
			bad+=("$p")
			mkdir -p "$dir/run-$k"
			[ -f "$p.log" ] && cp "$p.log" "$dir/run-$k/"
			[ -f "$p.trs" ] && cp "$p.trs" "$dir/run-$k/"
			;;
		esac
	done
	if [ ${#bad[@]} -gt 0 ]; then
		cp "$dir/make-run.out" "$dir/run-$k/make.out"
		line="run $k/$n: $((t1 - t0)) s, FAILED: ${bad[*]}"
	else
		line="run $k/$n: $((t1 - t0)) s, all passed"
	fi
	echo "$line" | tee -a "$dir/runs.txt"
done
rm -f "$dir/make-run.out"
stop_stress

echo
echo "check-repeat: $n runs in $(($(date +%s) - start)) s${stress:+, under stress-ng --cpu 2}"
{
	printf '%-16s %5s %9s  %s\n' program runs failures "failed runs"
	for p in "${progs[@]}"; do
		printf '%-16s %5d %9d  %s\n' "$p" "$((n - broken))" "${fails[$p]}" "${failed_runs[$p]# }"
	done
} | tee -a "$dir/runs.txt"
if [ "$broken" -gt 0 ]; then
	echo "check-repeat: in $broken of $n runs no test ran (make failed): $dir/run-K/make.out"
fi
if [ "$total_fail" -gt 0 ]; then
	echo "check-repeat: $total_fail failed program runs; their logs are in $dir/run-K/"
fi
if [ "$total_fail" -gt 0 ] || [ "$broken" -gt 0 ]; then
	exit 1
fi
echo "check-repeat: no failure"
exit 0
