/* clock.h — the two clock reads of the hot path.
 *
 * Durations come from CLOCK_MONOTONIC, which never jumps.  Wall-clock
 * timestamps are derived from the same reading plus an offset
 * (realtime - monotonic) that the writer thread refreshes, so a request
 * costs two clock reads, not three. */
#ifndef EVD_CLOCK_H
#define EVD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* UTC now in microseconds, for code off the hot path. */
static inline int64_t clock_real_us(void)
{
    return clock_real_ns() / 1000;
}

/* realtime - monotonic, in ns, for turning monotonic readings into UTC. */
static inline int64_t clock_offset_ns(void)
{
    int64_t m0 = clock_mono_ns();
    int64_t r = clock_real_ns();
    int64_t m1 = clock_mono_ns();
    return r - (m0 + (m1 - m0) / 2);
}

#endif
