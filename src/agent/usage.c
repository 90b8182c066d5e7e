/* usage.c — this instance's CPU use, stored once per interval
 * (CPU_SAMPLE_SECONDS, default 10) beside its requests per endpoint in the
 * same interval, for the capacity model's utilisation law (U = U0 + sum of
 * throughput x demand over the endpoints; src/sim/demand.c).
 *
 * The writer calls usage_tick() from its housekeeping, once a second, with
 * fork_mu held and the store attached.  The counts are differences of the
 * per-endpoint totals the writer keeps anyway for the watchdog's running
 * means (mean_n, mean_sum_ns), so the request path does nothing more: a
 * request counts in the interval in which the writer drained it, at most
 * a batch interval (FLUSH_INTERVAL_MS) after it ended.  The first tick of a
 * process (and of a forked child, whose writer starts afresh) only takes
 * the baseline.  A sample that cannot be stored is skipped; the next one
 * starts from the readings taken for it, so a failure leaves a gap, never
 * an interval counted twice. */
#include <stdlib.h>

#include "agent/agent_int.h"
#include "agent/usage.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/sysinfo.h"
#include "store/store.h"
#include "store/usage.h"

struct usage {
    int64_t last_ns; /* monotonic time of the last reading; 0: none yet */
    uint64_t cpu_us;
    int cap;           /* endpoints the arrays hold (max_endpoints) */
    uint64_t *n, *sum; /* each endpoint's totals at the last reading */
    store_usage_count *counts;
};

void usage_free(usage *u)
{
    if (!u)
        return;
    free(u->n);
    free(u->sum);
    free(u->counts);
    free(u);
}

static usage *usage_new(int cap)
{
    usage *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->cap = cap;
    u->n = calloc((size_t)cap, sizeof *u->n);
    u->sum = calloc((size_t)cap, sizeof *u->sum);
    u->counts = calloc((size_t)cap, sizeof *u->counts);
    if (!u->n || !u->sum || !u->counts) {
        usage_free(u);
        return NULL;
    }
    return u;
}

void usage_tick(evd_agent *a, usage **up)
{
    long every_s = config_int(a->cfg, "CPU_SAMPLE_SECONDS");
    if (every_s <= 0 || !a->store || !a->instance_id)
        return;
    if (!*up && !(*up = usage_new(a->max_endpoints)))
        return; /* out of memory: no samples, the agent runs on */
    usage *u = *up;
    int64_t now = clock_mono_ns();
    if (u->last_ns && now - u->last_ns < every_s * 1000000000LL)
        return;
    uint64_t cpu;
    if (sysinfo_read_self_cpu(&cpu))
        return;
    int neps = atomic_load_explicit(&a->n_endpoints, memory_order_acquire);
    if (neps > u->cap)
        neps = u->cap;
    size_t nc = 0;
    for (int i = 0; i < neps; i++) {
        endpoint *e = &a->eps[i];
        uint64_t n = atomic_load_explicit(&e->mean_n, memory_order_relaxed);
        uint64_t sum = atomic_load_explicit(&e->mean_sum_ns, memory_order_relaxed);
        if (u->last_ns && e->store_id && n > u->n[i])
            u->counts[nc++] = (store_usage_count){.endpoint_id = e->store_id,
                                                  .count = (int64_t)(n - u->n[i]),
                                                  .busy_us = (int64_t)((sum - u->sum[i]) / 1000)};
        u->n[i] = n;
        u->sum[i] = sum;
    }
    if (u->last_ns && cpu >= u->cpu_us) {
        store_usage_sample s = {.instance_id = a->instance_id,
                                .ts_us = agent_now_us(a),
                                .interval_us = (now - u->last_ns) / 1000,
                                .cpu_us = (int64_t)(cpu - u->cpu_us),
                                .ncpu = sysinfo_cpus_allowed()};
        if (!store_begin(a->store)) {
            if (store_usage_put(a->store, &s, u->counts, nc) || store_commit(a->store))
                store_rollback(a->store);
        }
    }
    u->last_ns = now;
    u->cpu_us = cpu;
}
