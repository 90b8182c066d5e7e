/*
 * evodash_trace.h — the public C API of libevodash-trace.so, the function
 * tracer of the evodash profiling tool chain.
 *
 * A program compiled with -finstrument-functions either links the library
 * or gets it through LD_PRELOAD.  Every instrumented call then records two
 * events (enter, exit) into a per-thread buffer: a clock read and two
 * stores, no lock and no allocation.  Full buffers are spilled to a
 * temporary file under one mutex, once per 65536 events.  Symbol names are
 * resolved only when tracing stops, and the call log (docs/formats.md, 4 columns:
 * KIND NAME TIMESTAMP_NS TID) is written then.
 *
 * Tracing starts by itself when the environment variable EVODASH_TRACE_OUT
 * names the output file, and stops at exit.  It can also be driven from code
 * with evd_trace_start() / evd_trace_stop().  See docs/trace.md.
 *
 * Every function here is safe to call when tracing is off (it does nothing)
 * and never calls exit() or abort().
 */
#ifndef EVODASH_TRACE_H
#define EVODASH_TRACE_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EVD_TRACE_API __attribute__((visibility("default"), no_instrument_function))
#else
#define EVD_TRACE_API
#endif

/* Start tracing into the call-log file PATH (copied).  Events recorded by a
 * previous start/stop cycle are not carried over.  Returns 0, -2 (EINVAL)
 * when PATH is NULL or tracing is already on, -3 (EIO) when the temporary
 * spill file cannot be created; evd_trace_errmsg() explains. */
EVD_TRACE_API int evd_trace_start(const char *path);

/* Stop tracing, resolve symbol names and write the call log.  Other threads
 * should be quiet: an event a thread records while stop runs may be lost
 * (never torn).  Returns 0, or -3 (EIO) when the output cannot be written.
 * A no-op returning 0 when tracing is off.  Runs at exit by itself. */
EVD_TRACE_API int evd_trace_stop(void);

/* Move the calling thread's buffered events to the spill file, e.g. before
 * a thread that will not exit normally blocks forever.  Returns 0 or -3. */
EVD_TRACE_API int evd_trace_flush(void);

/* 1 when tracing is on, else 0. */
EVD_TRACE_API int evd_trace_enabled(void);

/* Mark the start of a user interaction (a page, an API request) on the
 * calling thread; NAME (copied, interned) is its path.  Writes a startRoot
 * line.  Roots may nest; each needs its evd_trace_root_end(). */
EVD_TRACE_API void evd_trace_root_begin(const char *name);

/* Close the calling thread's innermost open interaction (endRoot line). */
EVD_TRACE_API void evd_trace_root_end(void);

/* Calls named by a language runtime rather than by a code address (the
 * Python profile hook uses these).  evd_trace_intern() returns a handle for
 * NAME ("module.function", copied; blanks become '_'), the same handle for
 * the same name, valid for the life of the process; NULL for an empty name
 * or out of memory.  Look it up once per function and cache it: interning
 * takes a mutex, the two calls after it do not. */
EVD_TRACE_API const void *evd_trace_intern(const char *name);
EVD_TRACE_API void evd_trace_enter_named(const void *name);
EVD_TRACE_API void evd_trace_exit_named(const void *name);

/* Events dropped because memory or the spill file failed, since start. */
EVD_TRACE_API unsigned long long evd_trace_dropped(void);

/* Message for the last error of start/stop/flush.  Static storage. */
EVD_TRACE_API const char *evd_trace_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif /* EVODASH_TRACE_H */
