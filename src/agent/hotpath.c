/* hotpath.c — evd_req_begin / evd_req_end, the only code that runs on
 * every request.
 *
 * DESIGN
 *
 * Level 1 costs two CLOCK_MONOTONIC reads (vDSO, no syscall), one CAS on
 * the head of the calling thread's ring shard and a copy of the record;
 * the wall-clock timestamp is the start reading plus an offset the writer
 * keeps fresh.  Level 0 costs one clock read and one relaxed store (last
 * access).  Levels 2 and 3 also claim an in-flight slot (two CASes on a
 * slot that threads rarely share) and read the endpoint's running mean,
 * which the writer keeps.  Nothing here writes a line that every thread
 * writes, allocates, locks, or makes a system call; a full shard drops the
 * record and bumps the endpoint's drop counter.
 * The running test (CI timings) rides in the record as a 16-bit id, in
 * half of what the in-flight slot used to take: begin reads it with one
 * relaxed load of a word that only evd_test_set writes, end copies it.
 * (When a function-tracing session runs, each request is also marked as a
 * tracer interaction; that diagnostic mode costs what the tracer costs.)
 */
#include <pthread.h>
#include <string.h>

#include "evodash.h"
#include "agent/agent_int.h"
#include "core/clock.h"

/* The record keeps an in-flight slot in 16 bits. */
_Static_assert(AGENT_SLOTS <= INT16_MAX, "AGENT_SLOTS must fit a ring record's slot");

evd_req evd_req_begin_ctx(evd_agent *a, int ep, void *ctx)
{
    evd_req r = {.agent_ = a, .t0_ = 0, .endpoint_ = ep, .slot_ = -1, .level_ = -1, .test_ = 0};
    if (!a || !atomic_load_explicit(&a->running, memory_order_relaxed) || ep < 0 ||
        ep >= atomic_load_explicit(&a->n_endpoints, memory_order_acquire))
        return r;
    int level = atomic_load_explicit(&a->eps[ep].level, memory_order_relaxed);
    r.level_ = level;
    /* Only while a tracing session runs (a diagnostic mode: the tracer
     * interns the name under its own mutex). */
    if (a->trace_begin && a->trace_enabled())
        a->trace_begin(a->eps[ep].rule ? a->eps[ep].rule : a->eps[ep].name);
    if (level == EVD_LEVEL_OFF)
        return r;
    /* one relaxed load of a line only evd_test_set writes */
    r.test_ = atomic_load_explicit(&a->test_cur, memory_order_relaxed);
    r.t0_ = clock_mono_ns();
    if (level >= EVD_LEVEL_OUTLIER)
        r.slot_ = inflight_claim(a, ep, level, r.t0_, ctx);
    return r;
}

evd_req evd_req_begin(evd_agent *a, int ep)
{
    return evd_req_begin_ctx(a, ep, NULL);
}

/* Copy at most cap-1 bytes and NUL-terminate; returns nonzero if cut. */
static int copy_bounded(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = 0;
        return 0;
    }
    size_t n = strnlen(src, cap);
    int cut = n == cap;
    if (cut)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return cut;
}

int evd_req_end(evd_req *r, int status, const char *group, const char *ip)
{
    evd_agent *a = r->agent_;
    if (!a || r->level_ < 0)
        return EVD_ESTATE;
    endpoint *e = &a->eps[r->endpoint_];
    if (a->trace_end && a->trace_enabled())
        a->trace_end();
    int64_t now = clock_mono_ns();
    int64_t off = atomic_load_explicit(&a->clock_offset_ns, memory_order_relaxed);
    if (r->level_ == EVD_LEVEL_OFF) {
        atomic_store_explicit(&e->last_access_ns, now + off, memory_order_relaxed);
        r->level_ = -1;
        return 0;
    }
    int64_t dur = now - r->t0_;
    int sidx = -1;
    if (r->slot_ >= 0)
        sidx = inflight_end(a, r->slot_);
    r->level_ = -1;

    uint64_t pos;
    ring_cell *c = ring_reserve(&a->ring, &pos);
    if (!c) {
        atomic_fetch_add_explicit(&e->dropped, 1, memory_order_relaxed);
        if (sidx >= 0)
            inflight_orphan(a, sidx);
        return EVD_EFULL;
    }
    ring_rec *rec = &c->rec;
    rec->ts_ns = r->t0_ + off;
    rec->dur_ns = dur;
    rec->endpoint = (uint32_t)r->endpoint_;
    rec->slot = (int16_t)sidx;
    rec->test = (uint16_t)r->test_;
    rec->status = (uint16_t)(status < 0 ? 0 : status > 65535 ? 65535 : status);
    rec->flags = 0;
    if (copy_bounded(rec->group, sizeof rec->group, group))
        rec->flags |= REC_GROUP_TRUNC;
    if (copy_bounded(rec->ip, sizeof rec->ip, ip))
        rec->flags |= REC_IP_TRUNC;
    ring_publish(&a->ring, c, pos);
    return 0;
}
