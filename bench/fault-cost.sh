#!/bin/bash
# fault-cost.sh - where a miss goes: the kernel operations one page fault
# costs, upager against the kernel's own mmap fault, on the same run of
# upager-bench.
#
# Copyright (C) 2026 The upager authors.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Usage (root: bpftrace, cold cache and cgroups need it):
#   bench/fault-cost.sh [-b PATH/upager-bench] [-s "mmap upager"] -- BENCH-OPTIONS
# e.g.
#   bench/fault-cost.sh -b _build/bench/upager-bench -- \
#       -w zipf --regime cold -l 256M -d 2G -p 4K --advise
#
# For each system it starts upager-bench stopped, attaches
# bench/fault-cost.bt (bpftrace) to it, lets it run, and prints a Markdown
# table: per miss, the wall time of the run divided by the misses, and the
# time spent in the kernel's page-fault handler and in each system call the
# fault path makes, with the number of page faults, SIGSEGV deliveries,
# io_uring submissions and io-wq punts per miss.  A miss is a page read
# from the file into the page cache (run with --regime cold, so that the
# cache starts empty).  What the table does not list (wall minus the system
# calls) is the kernel's page-fault handling (the whole miss for mmap) and
# user space: upager's handler, the signal frame's setup and return, the
# workload.
# Tracing costs a few hundred nanoseconds per event: compare the columns,
# and take absolute figures from upager-bench without tracing.
set -eu

bench=
systems="mmap upager"
while getopts "b:s:h" opt; do
	case $opt in
	b) bench=$OPTARG ;;
	s) systems=$OPTARG ;;
	h)
		sed -n '2,27p' "$0"
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
bt=$here/fault-cost.bt
[ -n "$bench" ] || bench=$here/upager-bench
if [ ! -x "$bench" ]; then
	echo "fault-cost.sh: no upager-bench at $bench (give -b PATH)" >&2
	exit 2
fi
if ! command -v bpftrace >/dev/null; then
	echo "fault-cost.sh: bpftrace is not installed (apt-get install bpftrace)" >&2
	exit 2
fi
if [ ! -e /sys/kernel/tracing/available_events ]; then
	mount -t tracefs nodev /sys/kernel/tracing || {
		echo "fault-cost.sh: cannot mount tracefs on /sys/kernel/tracing" >&2
		exit 2
	}
fi

tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

# x86-64 system call numbers of the operations a fault may make.
declare -A SYS=([10]=mprotect [28]=madvise [18]=pwrite64 [17]=pread64 [285]=fallocate
	[426]=io_uring_enter [15]=rt_sigreturn [202]=futex [14]=rt_sigprocmask)

run_one() {
	local sys=$1 out=$tmp/$1
	shift
	bash -c 'kill -STOP $$; exec "$@"' _ "$bench" --systems "$sys" --csv "$tmp/$sys.csv" "$@" \
		>"$out.bench" 2>"$out.bench-err" &
	local pid=$!
	sleep 0.2
	bpftrace "$bt" "$pid" >"$out.bt" 2>"$out.bt-err" &
	local tpid=$!
	for _ in $(seq 1 300); do
		grep -q "Attaching" "$out.bt" "$out.bt-err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
	kill -CONT "$pid"
	wait "$pid" || echo "fault-cost.sh: upager-bench --systems $sys exited $?" >&2
	kill -INT "$tpid"
	wait "$tpid" || true
}

for s in $systems; do
	run_one "$s" "$@"
done

# One column per system, one row per item, per miss.
awk -v systems="$systems" -v syslist="$(for k in "${!SYS[@]}"; do printf '%s=%s ' "$k" "${SYS[$k]}"; done)" '
function val(s, k) { return (s SUBSEP k) in v ? v[s, k] : 0 }
BEGIN {
	ns = split(systems, S, " ")
	n = split(syslist, L, " ")
	for (i = 1; i <= n; i++) { split(L[i], kv, "="); name[kv[1]] = kv[2] }
}
FNR == 1 { sys = FILENAME; sub(/.*\//, "", sys); sub(/\.bt$/, "", sys) }
# @name: N   (whole child)
/^@[a-z_]+: [0-9]+$/ { k = $1; sub(/^@/, "", k); sub(/:$/, "", k); v[sys, k] = $2 }
# @name[tid]: N   (per thread)
/^@[a-z_]+\[[0-9]+\]: [0-9]+$/ {
	k = $1; sub(/^@/, "", k); sub(/\]:$/, "", k); split(k, a, "\\[")
	t[sys, a[1], a[2]] = $2; tids[sys, a[2]] = 1
}
# @sys_ns[tid, id]: N
/^@sys_(ns|n)\[[0-9]+, [0-9]+\]: [0-9]+$/ {
	k = $1 " " $2; sub(/^@/, "", k); gsub(/[\[\],:]/, " ", k); split(k, a, " ")
	what = a[1]; tid = a[2]; id = a[3]
	nm = (id in name) ? name[id] : "other"
	t[sys, what "_" nm, tid] += $3; t[sys, what "_all", tid] += $3
}
END {
	for (i = 1; i <= ns; i++) {
		s = S[i]
		miss[s] = val(s, "pagecache_add")
		# The thread of the workload: the most page faults.
		best = ""; most = -1
		for (key in tids) {
			split(key, a, SUBSEP)
			if (a[1] != s) continue
			f = t[s, "fault_n", a[2]] + 0
			if (f > most) { most = f; best = a[2] }
		}
		v[s, "wall"] = t[s, "wall_last", best] - t[s, "wall_first", best]
		for (key in t) {
			split(key, a, SUBSEP)
			if (a[1] == s && a[3] == best && a[2] !~ /^wall_/) v[s, a[2]] = t[key]
		}
	}
	printf "| per miss |"; for (i = 1; i <= ns; i++) printf " %s |", S[i]; printf "\n"
	printf "|---|"; for (i = 1; i <= ns; i++) printf "---|"; printf "\n"
	printf "| misses (pages read into the page cache) |"
	for (i = 1; i <= ns; i++) printf " %d |", miss[S[i]]; printf "\n"
	row("wall time of the run / misses (us)", "wall", 1e3)
	split("mprotect madvise fallocate pwrite64 pread64 io_uring_enter futex rt_sigprocmask rt_sigreturn other", C, " ")
	for (c = 1; c <= 10; c++) row(C[c] " (us)", "sys_ns_" C[c], 1e3)
	row("all system calls (us)", "sys_ns_all", 1e3)
	row("wall minus system calls (us)", "wall", 1e3, "sys_ns_all")
	row("user page faults (count)", "fault_n", 1)
	row("SIGSEGV deliveries (count)", "sigsegv", 1)
	row("mprotect calls (count)", "sys_n_mprotect", 1)
	row("io_uring submissions (count)", "uring_submit", 1)
	row("io-wq punts (count)", "uring_punt", 1)
}
function row(label, key, div, minus,   i, s, m) {
	printf "| %s |", label
	for (i = 1; i <= ns; i++) {
		s = S[i]; m = miss[s]
		if (m > 0) printf " %.2f |", (val(s, key) - (minus ? val(s, minus) : 0)) / div / m
		else printf " - |"
	}
	printf "\n"
}
' $(for s in $systems; do echo "$tmp/$s.bt"; done)

for s in $systems; do
	echo
	echo "upager-bench --systems $s:"
	grep -v "^#" "$tmp/$s.bench" | sed -n '1,40p'
done
