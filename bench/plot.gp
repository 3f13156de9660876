# plot.gp - PNG charts from an upager-bench CSV file.
#
# Copyright (C) 2026 The upager authors.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Usage:
#   gnuplot -e "csv='upager-bench-20260101-120000.csv'; outdir='plots'" bench/plot.gp
#
# outdir defaults to "." and must exist.  Draws, for whatever the CSV holds:
#
#   WORKLOAD-REGIME.png  throughput against D/L, one line per system (and
#                        per thread count, where a workload has several),
#                        log scales; e.g. seq-hot.png, zipf-cold.png,
#                        threads-zipf-hot.png.  `upager-bench --sweep' gives
#                        D/L = 2, 4, 8, 16 for seq and zipf; other runs give
#                        one point per line.
#   hit-REGIME.png       zipf: upager's hit ratio against D/L, next to exact
#                        LRU's on the same keys and frames.
#   fault-latency.png    the fault workload: p50, p90 and p99 service time of
#                        each case, bars on a log scale.
#
# Every series is first copied out of the CSV into a datablock of its own
# (plot ... with table if ...), so that its points join into a line.
# Needs gnuplot 5.4 (datafile columnheaders, "with table if").

if (!exists("csv")) {
    print "usage: gnuplot -e \"csv='FILE.csv'; outdir='DIR'\" plot.gp"
    exit
}
if (!exists("outdir")) outdir = "."

# Reading the CSV, and reading the datablocks `set table' writes.
csv_mode = "set datafile separator comma; set datafile columnheaders"
table_mode = "set datafile separator whitespace; set datafile nocolumnheaders"
eval(csv_mode)

set terminal pngcairo size 960,600 noenhanced font ",10"
set grid
set key outside right top

workloads = "seq rand zipf update threads:rand threads:zipf"
regimes = "hot cold"
systems = "upager upager-direct mmap umap pread ram"
thread_counts = "1 2 4 8 16 32 64"

# Rows of workload w, regime r, system s, threads t (strings) with a result.
sel(w, r, s, t) = strcol("workload") eq w && strcol("regime") eq r && \
                  strcol("system") eq s && strcol("threads") eq t && \
                  strcol("throughput") ne ""
# zipf rows of system s in regime r with a hit ratio.
hsel(r, s) = strcol("workload") eq "zipf" && strcol("regime") eq r && \
             strcol("system") eq s && strcol("hit_ratio") ne ""
fname(w) = (strstrt(w, ":") > 0) ? w[1:strstrt(w, ":") - 1] . "-" . w[strstrt(w, ":") + 1:] : w

# The x range: every D/L in the file, with a margin (log scale).
xlo = 1
xhi = 32
stats csv using (strcol("d_over_l") ne "" ? 1 : 0) nooutput
if (STATS_sum > 0) {
    stats csv using (strcol("d_over_l") ne "" ? column("d_over_l") : NaN) nooutput
    xlo = STATS_min / 1.5
    xhi = STATS_max * 1.5
}

nblock = 0

# --- throughput against D/L --------------------------------------------------
do for [w in workloads] {
    do for [r in regimes] {
        cmd = ""
        # how many thread counts this workload has in this regime
        nthr = 0
        do for [t in thread_counts] {
            stats csv using (strcol("workload") eq w && strcol("regime") eq r && \
                             strcol("threads") eq t && strcol("throughput") ne "" ? 1 : 0) \
                  nooutput
            if (STATS_sum > 0) { nthr = nthr + 1 }
        }
        do for [s in systems] {
            do for [t in thread_counts] {
                stats csv using (sel(w, r, s, t) ? 1 : 0) nooutput
                if (STATS_sum > 0) {
                    nblock = nblock + 1
                    eval(sprintf("set table $S%d", nblock))
                    plot csv using (column("d_over_l")):(column("throughput")) \
                        with table if (sel(w, r, s, t))
                    unset table
                    title = (nthr > 1) ? sprintf("%s, %s thr", s, t) : s
                    spec = sprintf("$S%d using 1:2 smooth unique with linespoints lw 2 pt 7 title '%s'", \
                                   nblock, title)
                    cmd = (cmd eq "") ? spec : cmd . ", " . spec
                }
            }
        }
        if (cmd ne "") {
            set output sprintf("%s/%s-%s.png", outdir, fname(w), r)
            set title sprintf("%s, %s: throughput against D/L", w, r)
            set xlabel "D / L (data size over memory limit)"
            set ylabel (w eq "seq") ? "MB/s" : "operations/s"
            set logscale x 2
            set logscale y 10
            set xrange [xlo:xhi]
            set yrange [*:*]
            set xtics (0.5, 1, 2, 4, 8, 16, 32, 64, 128)
            set format y "%.0s%c"
            eval(table_mode)
            eval("plot " . cmd)
            eval(csv_mode)
            unset output
            print sprintf("%s/%s-%s.png", outdir, fname(w), r)
        }
    }
}

# --- zipf: upager's hit ratio next to LRU's ----------------------------------
do for [r in regimes] {
    cmd = ""
    do for [s in "upager upager-direct"] {
        stats csv using (hsel(r, s) ? 1 : 0) nooutput
        if (STATS_sum > 0) {
            nblock = nblock + 1
            eval(sprintf("set table $S%d", nblock))
            plot csv using (column("d_over_l")):(column("hit_ratio")):(column("lru_hit_ratio")) \
                with table if (hsel(r, s))
            unset table
            spec = sprintf("$S%d using 1:2 smooth unique with linespoints lw 2 pt 7 title '%s'", \
                           nblock, s)
            cmd = (cmd eq "") ? spec : cmd . ", " . spec
            if (s eq "upager") {
                spec = sprintf("$S%d using 1:3 smooth unique with linespoints lw 2 dt 2 pt 6 title 'exact LRU (same keys, frames)'", nblock)
                cmd = cmd . ", " . spec
            }
        }
    }
    if (cmd ne "") {
        set output sprintf("%s/hit-%s.png", outdir, r)
        set title sprintf("zipf, %s: hit ratio (1 - major faults / accesses)", r)
        set xlabel "D / L"
        set ylabel "hit ratio"
        set logscale x 2
        unset logscale y
        set format y "%.2f"
        set xrange [xlo:xhi]
        set yrange [0:1]
        set xtics (0.5, 1, 2, 4, 8, 16, 32, 64, 128)
        eval(table_mode)
        eval("plot " . cmd)
        eval(csv_mode)
        unset output
        print sprintf("%s/hit-%s.png", outdir, r)
    }
}

# --- fault latency percentiles -----------------------------------------------
stats csv using (strcol("workload") eq "fault" ? 1 : 0) nooutput
if (STATS_sum > 0) {
    set table $fault
    plot csv using (strcol("case")):(column("p50_ns")):(column("p90_ns")):(column("p99_ns")) \
        with table if (strcol("workload") eq "fault")
    unset table
    # the case names have spaces: this table is split on tabs only
    set datafile separator "\t"
    set datafile nocolumnheaders
    set output sprintf("%s/fault-latency.png", outdir)
    set title "fault service time (fault workload): p50, p90, p99"
    set xlabel ""
    set ylabel "ns"
    unset logscale x
    set logscale y 10
    set format y "%.0f"
    set xrange [-0.6:*]
    set yrange [*:*]
    set xtics auto
    set xtics rotate by -20 nomirror
    set style fill solid 0.8 border -1
    set boxwidth 0.25
    set key inside left top
    plot $fault using ($0 - 0.27):2:xtic(1) with boxes title "p50", \
         $fault using ($0):3 with boxes title "p90", \
         $fault using ($0 + 0.27):4 with boxes title "p99"
    unset output
    print sprintf("%s/fault-latency.png", outdir)
}
