/* watchdog.c — the outlier watchdog (level 2 and up).
 *
 * DESIGN
 *
 * One thread for the whole process.  Every WATCHDOG_TICK_MS it scans the
 * in-flight slots; a running request past its deadline (start +
 * OUTLIER_DETECTION_CONSTANT x the endpoint's running mean, once the mean
 * has AGENT_MEAN_MIN_SAMPLES requests) is taken BUSY (see inflight.c) and
 * captured: CPU per core since the watchdog's last /proc/stat reading
 * (kept at most CPU_REFRESH_MS old), memory, the stack and the adapter's
 * request details.  The capture rides in the slot until the request ends;
 * the writer stores it with the request.  The watchdog also frees captures
 * whose record was dropped (orphans).  A request that ends before its
 * deadline costs the watchdog nothing but a load in the scan.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent_int.h"
#include "core/clock.h"
#include "core/sysinfo.h"

#define WATCHDOG_TICK_MS 5
#define CPU_REFRESH_MS   250
#define CAPTURE_TEXT_MAX 16384

static char *cpu_json(const sysinfo_cpu *before, const sysinfo_cpu *after)
{
    double pct[SYSINFO_MAX_CPUS];
    int n = sysinfo_cpu_percent(before, after, pct, SYSINFO_MAX_CPUS);
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_real((double)(int)(pct[i] * 10 + 0.5) / 10));
    char *s = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}

static char *mem_json(void)
{
    sysinfo_mem m;
    if (sysinfo_read_mem(&m))
        return NULL;
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:f,s:I}", "total_bytes", (json_int_t)m.total_bytes, "available_bytes",
        (json_int_t)m.available_bytes, "used_bytes", (json_int_t)m.used_bytes, "used_percent",
        m.total_bytes ? 100.0 * (double)m.used_bytes / (double)m.total_bytes : 0.0,
        "process_rss_bytes", (json_int_t)m.process_rss);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Called with cap_mu held: every allocation of this thread happens under a
 * lock that fork's prepare handler takes (see agent.c). */
static void capture_outlier_locked(evd_agent *a, slot *s, const sysinfo_cpu *prev, char *buf)
{
    capture *c = s->cap;
    if (!c && !(c = s->cap = calloc(1, sizeof *c)))
        return;
    if (c->outlier)
        return;
    c->outlier = 1;
    sysinfo_cpu *now = malloc(sizeof *now);
    if (now && !sysinfo_read_cpu(now))
        c->cpu = cpu_json(prev, now);
    free(now);
    c->memory = mem_json();
    int n = stack_capture_any(a, s, buf, CAPTURE_TEXT_MAX);
    if (n >= 0)
        c->stack = strdup(buf);
    if (a->details_cb) {
        n = a->details_cb(a->cb_user, s->thread, s->ctx, buf, CAPTURE_TEXT_MAX);
        if (n >= 0) {
            buf[CAPTURE_TEXT_MAX - 1] = 0;
            c->details = strdup(buf);
        }
    }
    atomic_fetch_add(&a->outliers, 1);
}

void *watchdog_main(void *arg)
{
    evd_agent *a = arg;
    pthread_mutex_lock(&a->cap_mu);
    sysinfo_cpu *prev = calloc(1, sizeof *prev);
    char *buf = malloc(CAPTURE_TEXT_MAX);
    pthread_mutex_unlock(&a->cap_mu);
    int64_t prev_at = 0;
    agent_thread_ready(a, AGENT_WATCHDOG);
    if (!prev || !buf)
        goto done;
    while (!atomic_load(&a->stopping)) {
        /* Nothing to watch while no endpoint is at level 2 or more. */
        if (agent_max_level(a) < EVD_LEVEL_OUTLIER) {
            agent_wait(a, AGENT_IDLE_SCAN_MS);
            continue;
        }
        int64_t now = clock_mono_ns();
        if (now - prev_at > (int64_t)CPU_REFRESH_MS * 1000000 && !sysinfo_read_cpu(prev))
            prev_at = now;
        for (int i = 0; i < AGENT_SLOTS; i++) {
            slot *s = &a->slots[i];
            if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_RUN)
                continue;
            if (atomic_load_explicit(&s->deadline, memory_order_relaxed) > now)
                continue;
            if (inflight_capture_begin(a, i))
                continue;
            /* re-check now that the slot is ours: it may be a new request */
            if (atomic_load_explicit(&s->deadline, memory_order_relaxed) <= now) {
                pthread_mutex_lock(&a->cap_mu);
                capture_outlier_locked(a, s, prev, buf);
                pthread_mutex_unlock(&a->cap_mu);
                atomic_store_explicit(&s->deadline, INT64_MAX, memory_order_relaxed);
            }
            inflight_capture_end(a, i);
        }
        pthread_mutex_lock(&a->cap_mu);
        inflight_reap_orphans(a);
        pthread_mutex_unlock(&a->cap_mu);
        agent_wait(a, WATCHDOG_TICK_MS);
    }
done:
    pthread_mutex_lock(&a->cap_mu);
    free(prev);
    free(buf);
    pthread_mutex_unlock(&a->cap_mu);
    return NULL;
}
