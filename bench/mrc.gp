# mrc.gp - miss-ratio curves from an upager-mrc CSV file: one PNG per
# stream, hit ratio against memory, one line per policy.
#
# Copyright (C) 2026 The upager authors.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Usage (`make -C bench mrc' runs it):
#   gnuplot -e "csv='mrc.csv'; outdir='DIR'" bench/mrc.gp
#
# Draws DIR/mrc-STREAM.png for every stream the CSV holds (of zipf,
# zipf-word, rand, seq, loop-scan, or the variable streams='...'), with a
# line for each policy (fifo lru clock clock-pro car opt, or the variable
# policies='...': the columns upager-mrc wrote).  x: memory as a fraction
# of the footprint; y: hit ratio (1 - miss ratio).  outdir defaults to "."
# and must exist.  Needs gnuplot 5.4 (datafile columnheaders).

if (!exists("csv")) {
    print "usage: gnuplot -e \"csv='FILE.csv'; outdir='DIR'\" mrc.gp"
    exit
}
if (!exists("outdir")) outdir = "."
if (!exists("streams")) streams = "zipf zipf-word rand seq loop-scan"
if (!exists("policies")) policies = "fifo lru clock clock-pro car opt"

set datafile separator comma
set datafile columnheaders
set terminal pngcairo size 880,560 noenhanced font ",10"
set grid
set key outside right top
set xlabel "memory (fraction of the footprint)"
set ylabel "hit ratio"
set xtics 0.125
set format x "%.3g"
set format y "%.1f"

# line styles: the Clock family solid, the references dashed
set style line 1 lw 2 dt 3 pt 4 lc rgb "#999999"   # fifo
set style line 2 lw 2 dt 2 pt 6 lc rgb "#1f77b4"   # lru
set style line 3 lw 2 pt 7 lc rgb "#d62728"        # clock
set style line 4 lw 2 pt 5 lc rgb "#2ca02c"        # clock-pro
set style line 5 lw 2 pt 9 lc rgb "#ff7f0e"        # car
set style line 6 lw 2 dt 4 pt 1 lc rgb "#000000"   # opt
style(p) = (p eq "fifo") ? 1 : (p eq "lru") ? 2 : (p eq "clock") ? 3 : \
           (p eq "clock-pro") ? 4 : (p eq "car") ? 5 : 6

do for [s in streams] {
    set xrange [*:*]   # stats keeps to the plot ranges
    set yrange [*:*]
    stats csv using (strcol("stream") eq s ? 1 : 0) nooutput
    if (STATS_sum > 0) {
        stats csv using (strcol("stream") eq s ? column("pages") : NaN) nooutput
        pages = STATS_max
        stats csv using (strcol("stream") eq s ? column("references") : NaN) nooutput
        refs = STATS_max
        set xrange [0:1.02]
        set yrange [0:1]
        set output sprintf("%s/mrc-%s.png", outdir, s)
        set title sprintf("%s: %.0f pages, %.0f references", s, pages, refs)
        plot for [p in policies] csv \
            using (strcol("stream") eq s ? column("memory_fraction") : NaN):(column(p)) \
            with linespoints ls style(p) title p
        unset output
        print sprintf("%s/mrc-%s.png", outdir, s)
    }
}
