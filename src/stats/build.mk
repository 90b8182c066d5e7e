# src/stats — the statistics behind version verdicts (issues 13 and 14):
# rank tests, proportion tests, intervals, corrections, Pearson's r.  Part of
# libevodash (the dashboard calls it); stats.h is internal, nothing exported.
LIB_SRC += $(wildcard src/stats/*.c)
