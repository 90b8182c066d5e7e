# src/stats — the statistics behind version verdicts (issues 13 and 14):
# rank tests, proportion tests, intervals, corrections, Pearson's r.  Part of
# libevodash (the dashboard calls it); stats.h is internal, nothing exported.
LIB_SRC += $(wildcard src/stats/*.c)

# The scipy comparison: a driver that reads cases on stdin, and a python
# script that builds the cases, runs scipy and compares (Debian's python3).
build/rel/tests/stats/stats_driver: tests/stats/stats_driver.c build/rel/libevodash.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(INCS) $(PKG_CFLAGS) $(CFLAGS_rel) $< -o $@ build/rel/libevodash.a $(PKG_LIBS)
check-stats-scipy: build/rel/tests/stats/stats_driver
	/usr/bin/python3 tests/stats/scipy_match.py $<
CHECK_EXTRA += check-stats-scipy

# `make bench-stats` (bench/bench_stats.c, not part of `make check`): the
# U test and the ratio CI on 10^6 vs 10^6 durations.
BENCHES += stats
.PHONY: check-stats-scipy
