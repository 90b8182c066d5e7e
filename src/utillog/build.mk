# src/utillog/build.mk — the utilisation logger (`evodash utillog`):
# UtilLog.csv and netLog.csv from /proc, in libevdtools.a.

TOOL_SRC += src/utillog/utillog.c

# ---- utillog on the real /proc -------------------------------------------------
build/rel/trace/netpeer: tests/trace/netpeer.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 $< -o $@

check-trace-utillog: build/rel/trace/netpeer build/rel/evodash
	tests/trace/utillog.sh build/rel

CHECK_EXTRA += check-trace-utillog
.PHONY: check-trace-utillog
