/* symbols.h — address to "module.function" names for the tracer's final
 * write.  Internal to libevodash-trace.so. */
#ifndef EVD_TRACER_SYMBOLS_H
#define EVD_TRACER_SYMBOLS_H

#include <stdint.h>

struct rt_syms;

/* A resolver with an empty cache.  NULL when out of memory.  Free with
 * rt_syms_free(). */
struct rt_syms *rt_syms_new(void);

/* The name of the function at code address addr: "module.function", where
 * module is the file name of the executable or library without directory
 * and extension; "module.0xOFFSET" when no symbol covers the address.
 * Borrowed until rt_syms_free(); never NULL ("?" when out of memory). */
const char *rt_syms_name(struct rt_syms *s, uintptr_t addr);

/* Free the resolver and every name it returned.  NULL is a no-op. */
void rt_syms_free(struct rt_syms *s);

#endif
