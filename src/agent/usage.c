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
 * an interval counted twice.
 *
 * Each sample also says how much of the process's CPU the agent's own
 * threads used (their CPU clocks, agent_int.h).  The writer's work is paid
 * mostly per batch, and a batch is written every FLUSH_INTERVAL_MS
 * whatever the load, so per request it falls as the load rises; the model
 * keeps it apart from the requests' demands.  A thread counts from the
 * tick after its clock was published.
 *
 * And how much CPU the host lost to steal (time its virtual CPUs waited
 * for the hypervisor): a neighbour busy enough to steal also shares the
 * caches and cores, and the requests of such an interval cost more CPU
 * than on a quiet host, so the model builder can tell those intervals
 * apart (src/sim/livemodel.c). */
#include <stdlib.h>
#include <time.h>

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
    sysinfo_cpu host, host_now;     /* /proc/stat at the last reading, and now */
    int host_have;                  /* host holds a reading */
    uint64_t own_us[AGENT_THREADS]; /* each agent thread's CPU at the last reading */
    int own_have;                   /* bit i: own_us[i] holds a reading */
    int cap;                        /* endpoints the arrays hold (max_endpoints) */
    uint64_t *n, *sum;              /* each endpoint's totals at the last reading */
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

/* The agent's threads' CPU (us) since the last reading, and the new
 * readings. */
static int64_t own_cpu(evd_agent *a, usage *u)
{
    int have = atomic_load(&a->own_clocks), now_have = 0;
    int64_t sum = 0;
    for (int i = 0; i < AGENT_THREADS; i++) {
        struct timespec ts;
        if (!(have & 1 << i) || clock_gettime(a->own_clock[i], &ts))
            continue;
        uint64_t t = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        if (u->own_have & 1 << i && t >= u->own_us[i])
            sum += (int64_t)(t - u->own_us[i]);
        u->own_us[i] = t;
        now_have |= 1 << i;
    }
    u->own_have = now_have;
    return sum;
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
    int64_t own = own_cpu(a, u), steal = -1;
    if (!sysinfo_read_cpu(&u->host_now)) {
        if (u->host_have)
            steal = sysinfo_steal_us(&u->host, &u->host_now);
        u->host = u->host_now;
        u->host_have = 1;
    } else {
        u->host_have = 0;
    }
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
        /* the process's CPU comes in clock ticks, the threads' in ns: in a
         * quiet interval the part could read more than the whole */
        if (own > (int64_t)(cpu - u->cpu_us))
            own = (int64_t)(cpu - u->cpu_us);
        store_usage_sample s = {.instance_id = a->instance_id,
                                .ts_us = agent_now_us(a),
                                .interval_us = (now - u->last_ns) / 1000,
                                .cpu_us = (int64_t)(cpu - u->cpu_us),
                                .ncpu = sysinfo_cpus_allowed(),
                                .agent_us = own,
                                .steal_us = steal};
        if (!store_begin(a->store)) {
            if (store_usage_put(a->store, &s, u->counts, nc) || store_commit(a->store))
                store_rollback(a->store);
        }
    }
    u->last_ns = now;
    u->cpu_us = cpu;
}
