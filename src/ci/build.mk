# src/ci/build.mk — `evodash collect`'s tool code: JUnit XML reports
# (libexpat) and the upload (libcurl).  In libevdtools.a only, so that
# libevodash.so, which services load, never links either library.
TOOL_SRC  += $(wildcard src/ci/*.c)
TOOL_PKGS += expat libcurl
