# src/fmd/build.mk — `evodash import-fmd`: a Flask-MonitoringDashboard
# database copied into a store.  Tool code, in libevdtools.a: a monitored
# process never imports, so libevodash holds none of it.  Its SQL lives in
# src/store like all SQL (fmd_source.c reads FMD's file, imports.c keeps the
# store's record of imports) and goes into libevdtools.a with it.

FMD_STORE_SRC := src/store/fmd_source.c src/store/imports.c
LIB_SRC  := $(filter-out $(FMD_STORE_SRC),$(LIB_SRC))
TOOL_SRC += $(wildcard src/fmd/*.c) $(FMD_STORE_SRC)
