# src/profile/build.mk — the profile builder (`evodash profile`: call log +
# UtilLog.csv + netLog.csv -> profile.json, services.json, mapping.json and
# two charts) and the JSON Schema validator of the tool chain's files
# (`evodash validate`), in libevdtools.a.

TOOL_SRC += $(wildcard src/profile/*.c)

# The schemas are embedded with .incbin from schema_data.c; -MMD cannot see them.
$(foreach v,rel asan tsan,$(eval build/$(v)/src/profile/schema_data.o: $(wildcard src/profile/schemas/*.json)))

# bench_profile uses the pattern rule of the Makefile.
BENCHES += profile

check-trace-cli: build/rel/evodash
	tests/trace/cli.sh build/rel

CHECK_EXTRA += check-trace-cli
.PHONY: check-trace-cli
