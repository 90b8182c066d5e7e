/* compactor.c — the dashboard's background packing of past hours of raw
 * rows (store_compact_batch), so that its per-endpoint views read an hour
 * as one value.
 *
 * DESIGN — one thread per dashboard handle (PACK_HOURS), with a store
 * connection of its own, so that packing never holds a connection a
 * request could use.  Its first round starts a minute after the handle
 * opens (EVODASH_PACK_DELAY_MS for tests), leaving the start to the first
 * views, and walks the whole history back from the last hour that has
 * settled, a batch of COMPACT_BATCH groups at a time, with a pause
 * between batches so that a first pass over a large store leaves the
 * machine to the requests.  Finding what is left to pack costs a read of
 * the rollups (about 1.5 s for 90 days of 50 endpoints), so the rounds
 * every COMPACT_EVERY_US after it look at the last COMPACT_RECENT_HOURS
 * only, and every COMPACT_FULL_EVERY-th at everything again (an import,
 * a writer catching up on days).  Until then such an hour is read from
 * the request log, which is correct, only slower.  What a batch packs is the same whichever
 * process packs it, so several dashboards on one store only repeat work.
 * A failed batch (a read-only store, a server gone) is retried at the
 * next round on a new connection.  The mutex guards only the stop flag;
 * close wakes the thread and joins it (a batch in progress ends first). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/dash_int.h"
#include "store/store.h"

#define COMPACT_FIRST_US     (60LL * 1000000)
#define COMPACT_EVERY_US     (60LL * 1000000)
#define COMPACT_RECENT_HOURS 48
#define COMPACT_FULL_EVERY   60
#define COMPACT_PAUSE_US     (20LL * 1000)
#define COMPACT_BATCH        64

struct compactor {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t th;
    const char *url; /* the handle's, which outlives the thread */
};

/* Wait up to us, or until stopped; nonzero when stopped. */
static int nap(compactor *c, int64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (us % 1000000) * 1000;
    ts.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&c->mu);
    while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
        ;
    int stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

/* One walk over the history, or its recent hours; 0, or nonzero when a
 * batch failed. */
static int round_of(compactor *c, store *st, int full)
{
    int64_t top = store_compact_before(clock_real_us());
    store_compacted b = {.next_before = top, .more = 1};
    while (b.more && (full || b.next_before > top - COMPACT_RECENT_HOURS)) {
        if (store_compact_batch(st, b.next_before, COMPACT_BATCH, &b))
            return 1;
        if (nap(c, COMPACT_PAUSE_US))
            return 0;
    }
    return 0;
}

static void *compactor_main(void *arg)
{
    compactor *c = arg;
    store *st = NULL;
    const char *e = getenv("EVODASH_PACK_DELAY_MS");
    int64_t first = e && atoll(e) > 0 ? atoll(e) * 1000 : COMPACT_FIRST_US;
    int64_t n = 0, full = 1; /* full: the next round walks everything */
    for (int64_t wait = first; !nap(c, wait); wait = COMPACT_EVERY_US) {
        if (!st && store_open(c->url, STORE_NOMIGRATE, &st)) {
            store_close(st);
            st = NULL;
            continue;
        }
        int failed = round_of(c, st, (int)full);
        full = failed ? full : ++n % COMPACT_FULL_EVERY == 0;
        if (failed) {
            store_close(st);
            st = NULL;
        }
    }
    store_close(st);
    return NULL;
}

compactor *compactor_start(const char *url)
{
    compactor *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->url = url;
    if (pthread_create(&c->th, NULL, compactor_main, c)) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    return c;
}

void compactor_stop(compactor *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
