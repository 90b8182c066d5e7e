/* profile_int.h — types shared by the profile builder's files (profile.c,
 * html.c).  Not part of any public interface. */
#ifndef EVD_PROFILE_PROFILE_INT_H
#define EVD_PROFILE_PROFILE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/intern.h"

/* One interaction written to the temporary file. */
struct inter {
    uint32_t name;
    uint64_t tid;
    int64_t start, end;
    long off, len; /* its functions array in the temporary file */
    uint32_t nfunc;
};

/* One call-graph edge, aggregated over the whole log. */
struct cg_edge {
    uint32_t caller, callee;
    uint64_t count;
    int64_t total_ns;
};

/* One event as the builder sees it. */
struct pev {
    int64_t ts;
    uint64_t tid;
    uint32_t name;
    uint8_t kind; /* enum cl_kind */
    unsigned long line;
};

struct builder;

/* Feed one event.  Returns 0, 1 when the thread's time went backwards (the
 * caller must replay sorted), or -1 when out of memory. */
int profile_event(struct builder *b, const struct pev *e);

#endif
