/* sampler.c — the sampling profiler (level 3).
 *
 * DESIGN
 *
 * One thread for the whole process.  Every SAMPLING_PERIOD ms it takes
 * each running level-3 request BUSY (see inflight.c), captures its stack
 * with the same mechanism as the watchdog, and adds it to the request's
 * call tree, weighted by the time since that request's previous sample, so
 * the root's duration tracks the request's.  The tree rides in the slot's
 * capture to the writer, which stores it in pre-order.
 */
#include <stdlib.h>
#include <time.h>

#include "agent/agent_int.h"
#include "core/clock.h"

#define SAMPLE_TEXT_MAX 16384

/* Called with cap_mu held, so that this thread allocates only under a lock
 * fork's prepare handler takes (see agent.c). */
static void sample_one_locked(evd_agent *a, slot *s, int64_t now, char *buf)
{
    capture *c = s->cap;
    if (!c && !(c = s->cap = calloc(1, sizeof *c)))
        return;
    if (!c->tree && !(c->tree = calltree_new()))
        return;
    int n = stack_capture_any(a, s, buf, SAMPLE_TEXT_MAX);
    if (n < 0)
        return;
    calltree_add(c->tree, buf, (now - s->last_sample) / 1000);
    s->last_sample = now;
}

void *sampler_main(void *arg)
{
    evd_agent *a = arg;
    pthread_mutex_lock(&a->cap_mu);
    char *buf = malloc(SAMPLE_TEXT_MAX);
    pthread_mutex_unlock(&a->cap_mu);
    agent_thread_ready(a, AGENT_SAMPLER);
    struct timespec ts = {a->sampling_ms / 1000, (long)(a->sampling_ms % 1000) * 1000000};
    if (!buf)
        return NULL;
    while (!atomic_load(&a->stopping)) {
        if (agent_max_level(a) < EVD_LEVEL_PROFILE) { /* nothing to sample */
            agent_wait(a, AGENT_IDLE_SCAN_MS);
            continue;
        }
        nanosleep(&ts, NULL);
        int64_t now = clock_mono_ns();
        for (int i = 0; i < AGENT_SLOTS; i++) {
            slot *s = &a->slots[i];
            if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_RUN ||
                atomic_load_explicit(&s->level, memory_order_relaxed) < EVD_LEVEL_PROFILE)
                continue;
            if (inflight_capture_begin(a, i))
                continue;
            pthread_mutex_lock(&a->cap_mu);
            sample_one_locked(a, s, now, buf);
            pthread_mutex_unlock(&a->cap_mu);
            inflight_capture_end(a, i);
        }
    }
    pthread_mutex_lock(&a->cap_mu);
    free(buf);
    pthread_mutex_unlock(&a->cap_mu);
    return NULL;
}
