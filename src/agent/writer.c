/* writer.c — the writer thread: ring -> store.
 *
 * DESIGN
 *
 * One thread per process drains the ring in batches of up to
 * AGENT_BATCH_MAX records and writes each batch in one transaction: the
 * requests, their outliers and profiler trees, and the batch's rollups,
 * aggregated here per (endpoint, hour) first so that a batch merges one
 * row per key, not one per request.  Between small batches it gathers for
 * FLUSH_INTERVAL_MS (100 ms by default, see below), which is also what a
 * kill -9 can take: that interval's requests plus the batch being written.
 *
 * Memory is bounded by the ring plus one batch.  When the store is busy or
 * failing, the batch is retried with exponential backoff (WRITER_BACKOFF_*)
 * while the ring keeps accepting; once the ring is full, producers drop and
 * count.  A busy database (another process holds the write lock) is retried
 * for as long as it takes; a batch that fails with a real error
 * WRITER_ATTEMPTS times, or that arrives while the store cannot be opened at
 * all, is counted as dropped, per endpoint: nothing is lost silently.  The store is reopened every
 * WRITER_REOPEN_MS while it is unavailable, so a service outlives a bad disk.
 *
 * A record that carries a test id (citest.c) is a test's request: it goes
 * into the store's CI tables (store_ci_record), not into requests or
 * rollups, so test traffic never shows as live traffic.
 *
 * Once a second (or when woken) it also syncs with the store: registers new
 * endpoints, pushes levels set from code, pulls levels set by the dashboard
 * (so a change reaches every process within about a second), and saves last
 * access times, drop counts and this instance's counters.
 *
 * The writer holds fork_mu whenever it touches the store, so fork() never
 * copies a connection in the middle of a transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "agent/usage.h"
#include "core/clock.h"
#include "store/ci.h"
#include "store/store.h"

#define WRITER_ATTEMPTS            8
#define WRITER_CLOSE_BUSY_ATTEMPTS 20 /* about 15 s of backoff */
#define WRITER_BACKOFF_MIN_MS      10
#define WRITER_BACKOFF_MAX_MS      1000
#define WRITER_REOPEN_MS           2000
#define WRITER_SYNC_MS             1000
/* Between small batches the writer gathers for FLUSH_INTERVAL_MS (default
 * 100): most of a transaction's cost is paid per transaction, cold after the
 * thread slept (BEGIN IMMEDIATE, a pwrite per WAL page at commit), so fewer,
 * larger transactions cost the host's cores less (bench-writer_pace, 2
 * processes at 3,000 req/s: ~10 us of writer CPU per row at 20 ms, ~5 at
 * 100 ms, ~4.4 at 400 ms).  The ring holds 64k records per shard, so up to
 * ~650k requests/s are absorbed meanwhile; from a quarter of a batch on it
 * writes on without waiting, and a flush or close wakes it.  What a kill -9
 * can lose is what sits in the ring: at most one interval's requests plus
 * the batch being written. */
#define WRITER_STOP_WAIT_MS   1000
#define WRITER_PRUNE_EVERY_MS (3600 * 1000)
#define WRITER_PRUNE_BATCH    2000
#define ACC_MAX               64
/* Fewer records than this in a drain is light traffic: gather for
 * FLUSH_INTERVAL_MS before the next batch.  Under a backlog batches grow
 * to AGENT_BATCH_MAX: on PostgreSQL, 4 processes ingest about 20% more
 * with 16,384 than with 4,096 (make bench-ingest_pg), as each batch merges
 * one rollup row per (endpoint, hour) whatever its size. */
#define WRITER_LIGHT_BATCH 1024

typedef struct acc {
    int ep;
    int64_t hour;
    store_rollup_acc r;
} acc;

typedef struct writer {
    evd_agent *a;
    acc *accs;
    int naccs;
    capture **caps; /* per batch record */
    int synced;     /* endpoints registered in the store so far */
    int64_t last_sync, reopen_after, last_prune;
    int pruning;   /* a pass is under way: the last batch deleted rows */
    int attach_rc; /* why the store is not attached (EVD_EBUSY is transient) */
    usage *usage;  /* CPU samples (usage.c) */
} writer;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void writer_count_lost(evd_agent *a, const ring_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_fetch_add_explicit(&a->eps[recs[i].endpoint].dropped, 1, memory_order_relaxed);
}

/* ---- store connection -------------------------------------------------- */

static int attach_store(writer *w)
{
    evd_agent *a = w->a;
    int64_t now = agent_now_us(a);
    int rc;
    if (!a->store) {
        if ((rc = store_open(a->db_url, 0, &a->store))) {
            agent_fail(a, rc, "%s", store_errmsg(a->store));
            store_close(a->store);
            a->store = NULL;
            return rc;
        }
    }
    if (a->instance_id)
        return 0;
    store_instance in = {.name = a->instance_name, .host = a->host, .pid = (int)getpid()};
    if ((rc = store_begin(a->store)))
        goto fail;
    if ((rc = store_service_register(a->store, a->service_name, now, &a->service_id)) ||
        (rc = store_version_touch(a->store, a->version, now, &a->version_id)) ||
        (rc = store_version_label(a->store, a->version_id, a->version_label)) ||
        (in.service_id = a->service_id, in.version_id = a->version_id,
         rc = store_instance_register(a->store, &in, now, &a->instance_id)) ||
        (rc = store_commit(a->store))) {
        store_rollback(a->store);
        a->instance_id = 0;
        goto fail;
    }
    atomic_store_explicit(&a->shown_instance, a->instance_id, memory_order_relaxed);
    w->synced = 0;
    for (int i = 0; i < atomic_load(&a->n_endpoints); i++)
        a->eps[i].store_id = 0;
    return 0;
fail:
    agent_fail(a, rc, "%s", store_errmsg(a->store));
    return rc;
}

/* Attach the store when it is not.  After a failure the next try waits
 * WRITER_REOPEN_MS, unless `now`: a batch being retried tries at every
 * attempt (they are spaced by its backoff), so that a store back within
 * its attempts takes it. */
static int ensure_store(writer *w, int now_too)
{
    evd_agent *a = w->a;
    if (a->store && store_is_stale(a->store)) {
        /* a new file (or permission back): register in it again */
        store_close(a->store);
        a->store = NULL;
        a->instance_id = 0;
        w->reopen_after = 0;
    }
    if (a->store && a->instance_id)
        return 0;
    int64_t now = clock_mono_ns() / 1000000;
    if (now < w->reopen_after && !now_too)
        return w->attach_rc;
    int rc = attach_store(w);
    if (rc) /* busy: try again soon; anything else: every WRITER_REOPEN_MS */
        w->reopen_after = now + (rc == EVD_EBUSY ? WRITER_BACKOFF_MIN_MS : WRITER_REOPEN_MS);
    w->attach_rc = rc;
    return rc;
}

/* ---- endpoints and levels ---------------------------------------------- */

/* Take a level read from the store, unless code set one since the last
 * push (see evd_endpoint_set_level). */
static void set_level_unless_dirty(evd_agent *a, endpoint *e, int level)
{
    pthread_mutex_lock(&a->level_mu);
    if (!atomic_load(&e->level_dirty))
        atomic_store(&e->level, level);
    pthread_mutex_unlock(&a->level_mu);
}

static int register_new_endpoints(writer *w)
{
    evd_agent *a = w->a;
    int n = atomic_load_explicit(&a->n_endpoints, memory_order_acquire);
    for (; w->synced < n; w->synced++) {
        endpoint *e = &a->eps[w->synced];
        int level, rc;
        rc = store_endpoint_upsert(a->store, a->service_id, e->name, e->rule, e->methods,
                                   atomic_load(&e->level), &e->store_id, &level);
        if (rc)
            return agent_fail(a, rc, "%s", store_errmsg(a->store));
        set_level_unless_dirty(a, e, level);
    }
    return 0;
}

static void apply_level(void *u, int64_t id, int level)
{
    writer *w = u;
    for (int i = 0; i < w->synced; i++) {
        endpoint *e = &w->a->eps[i];
        if (e->store_id == id)
            set_level_unless_dirty(w->a, e, level);
    }
}

static int sync_store(writer *w)
{
    evd_agent *a = w->a;
    int rc;
    if ((rc = store_begin(a->store)))
        return rc;
    if ((rc = register_new_endpoints(w)))
        goto fail;
    for (int i = 0; i < w->synced; i++) {
        endpoint *e = &a->eps[i];
        pthread_mutex_lock(&a->level_mu);
        int dirty = atomic_exchange(&e->level_dirty, 0), lv = atomic_load(&e->level);
        pthread_mutex_unlock(&a->level_mu);
        if (dirty) {
            e->level_pushed = 1;
            if ((rc = store_endpoint_set_level(a->store, e->store_id, lv)))
                goto fail;
        }
        int64_t acc_ns = atomic_load_explicit(&e->last_access_ns, memory_order_relaxed);
        uint64_t dropped = atomic_load_explicit(&e->dropped, memory_order_relaxed);
        /* both writes are idempotent (the latest time, this instance's
         * whole count), so a sync retried after a lost answer is exact */
        if (acc_ns != e->access_synced &&
            (rc = store_endpoint_touch(a->store, e->store_id, acc_ns / 1000, 0)))
            goto fail;
        if (dropped != e->dropped_synced &&
            (rc = store_endpoint_drops(a->store, e->store_id, a->instance_id, dropped)))
            goto fail;
    }
    if ((rc = store_endpoint_levels(a->store, a->service_id, apply_level, w)))
        goto fail;
    evd_counters c;
    evd_get_counters(a, &c);
    store_counters sc = {c.recorded, c.dropped, c.written, c.write_errors, c.truncated, c.outliers};
    int64_t now = agent_now_us(a);
    if ((rc = store_instance_counters(a->store, a->instance_id, &sc, now)) ||
        (rc = store_version_touch(a->store, a->version, now, NULL)))
        goto fail;
    if ((rc = store_commit(a->store)))
        goto fail; /* rolled back: the same as any failure */
    /* only now are the deltas stored */
    for (int i = 0; i < w->synced; i++) {
        endpoint *e = &a->eps[i];
        e->access_synced = atomic_load_explicit(&e->last_access_ns, memory_order_relaxed);
        e->dropped_synced = atomic_load_explicit(&e->dropped, memory_order_relaxed);
        e->level_pushed = 0;
    }
    return 0;
fail:
    store_rollback(a->store);
    /* the levels pushed in the lost transaction must be pushed again */
    for (int i = 0; i < w->synced; i++)
        if (a->eps[i].level_pushed) {
            a->eps[i].level_pushed = 0;
            atomic_store(&a->eps[i].level_dirty, 1);
        }
    return rc;
}

/* Retention: once an hour, delete what is older than RETENTION_DAYS, one
 * small batch per housekeeping pass (about a second apart), so that the
 * store's write lock is never held for long and batches go on between. */
static void prune_step(writer *w, int64_t now_ms)
{
    evd_agent *a = w->a;
    if (a->retention_days <= 0 || (!w->pruning && now_ms - w->last_prune < WRITER_PRUNE_EVERY_MS))
        return;
    store_pruned n;
    int64_t cutoff = agent_now_us(a) - (int64_t)a->retention_days * 86400000000;
    if (store_prune_batch(a->store, cutoff, WRITER_PRUNE_BATCH, &n)) {
        agent_fail(a, EVD_EIO, "%s", store_errmsg(a->store));
        w->pruning = 0; /* try again in an hour */
        w->last_prune = now_ms;
        return;
    }
    w->pruning = n.requests || n.outliers || n.profiled;
    if (!w->pruning)
        w->last_prune = now_ms;
}

static void housekeeping(writer *w, int force)
{
    evd_agent *a = w->a;
    int64_t now_ms = clock_mono_ns() / 1000000;
    uint64_t req = atomic_load(&a->sync_req);
    if (req != atomic_load(&a->sync_done))
        force = 1; /* evd_flush is waiting for a sync */
    if (!force && now_ms - w->last_sync < WRITER_SYNC_MS)
        return;
    w->last_sync = now_ms;
    atomic_store(&a->clock_offset_ns, clock_offset_ns());
    pthread_mutex_lock(&a->fork_mu);
    if (!ensure_store(w, 0)) {
        if (sync_store(w)) {
            atomic_fetch_add(&a->write_errors, 1);
            agent_fail(a, EVD_EIO, "%s", store_errmsg(a->store));
        }
        prune_step(w, now_ms);
        usage_tick(a, &w->usage);
    }
    pthread_mutex_unlock(&a->fork_mu);
    atomic_store(&a->sync_done, req);
}

/* ---- batches ----------------------------------------------------------- */

static acc *acc_for(writer *w, int ep, int64_t hour)
{
    for (int i = 0; i < w->naccs; i++)
        if (w->accs[i].ep == ep && w->accs[i].hour == hour)
            return &w->accs[i];
    if (w->naccs == ACC_MAX)
        return NULL;
    acc *c = &w->accs[w->naccs++];
    c->ep = ep;
    c->hour = hour;
    store_rollup_acc_reset(&c->r);
    return c;
}

static int flush_accs(writer *w)
{
    evd_agent *a = w->a;
    for (int i = 0; i < w->naccs; i++) {
        acc *c = &w->accs[i];
        int rc = store_rollup_acc_merge(a->store, &c->r, a->eps[c->ep].store_id, a->version_id,
                                        c->hour, a->instance_id);
        if (rc)
            return rc;
    }
    w->naccs = 0;
    return 0;
}

typedef struct tree_ctx {
    store *st;
    int64_t request_id;
} tree_ctx;

static int put_line(void *u, int position, int indent, const char *function, const char *file,
                    int line, int64_t duration_us, int samples)
{
    tree_ctx *t = u;
    store_profile_line p = {t->request_id, position, indent,      function,
                            file,          line,     duration_us, samples};
    return store_insert_profile_line(t->st, &p);
}

static int write_captures(evd_agent *a, const capture *c, const store_request *q, int64_t rowid)
{
    int rc = 0;
    if (c->outlier) {
        /* the same rounding as the request row, so the two agree */
        store_outlier o = {.request_id = rowid,
                           .endpoint_id = q->endpoint_id,
                           .ts_us = q->ts_us,
                           .duration_us = q->duration_us,
                           .stack = c->stack,
                           .cpu = c->cpu,
                           .memory = c->memory,
                           .details = c->details};
        if ((rc = store_insert_outlier(a->store, &o)))
            return rc;
    }
    if (c->tree) {
        tree_ctx t = {a->store, rowid};
        if (!(rc = store_insert_profiled(a->store, rowid, q)))
            rc = calltree_walk(c->tree, put_line, &t);
    }
    return rc;
}

static int write_batch(writer *w, const ring_rec *recs, size_t n)
{
    evd_agent *a = w->a;
    int rc;
    if ((rc = ensure_store(w, 1)))
        return rc;
    if ((rc = store_begin(a->store)))
        return rc;
    if ((rc = register_new_endpoints(w)))
        goto fail;
    w->naccs = 0;
    for (size_t i = 0; i < n; i++) {
        const ring_rec *r = &recs[i];
        endpoint *e = &a->eps[r->endpoint];
        int64_t ts_us = r->ts_ns / 1000, dur_us = (r->dur_ns + 500) / 1000;
        const char *test = r->test ? agent_test_name(a, r->test) : NULL;
        if (test) {
            /* a test's request: a CI call, kept out of the live tables */
            if ((rc = store_ci_record(a->store, a->service_id, e->name, test, ts_us, dur_us,
                                      r->status)))
                goto fail;
            continue;
        }
        store_request q = {.endpoint_id = e->store_id,
                           .version_id = a->version_id,
                           .instance_id = a->instance_id,
                           .ts_us = ts_us,
                           .duration_us = dur_us,
                           .status = r->status,
                           .group = r->group,
                           .ip = r->ip};
        int64_t rowid;
        if ((rc = store_insert_request(a->store, &q, &rowid)))
            goto fail;
        if (w->caps[i] && (rc = write_captures(a, w->caps[i], &q, rowid)))
            goto fail;
        acc *c = acc_for(w, (int)r->endpoint, ts_us / 3600000000);
        if (!c) {
            if ((rc = flush_accs(w)))
                goto fail;
            c = acc_for(w, (int)r->endpoint, ts_us / 3600000000);
        }
        store_rollup_acc_add(&c->r, dur_us, (double)r->dur_ns / 1000.0, r->status);
    }
    if ((rc = flush_accs(w)) || (rc = store_commit(a->store)))
        goto fail;
    return 0;
fail:
    agent_fail(a, rc, "%s", store_errmsg(a->store));
    store_rollback(a->store);
    w->naccs = 0;
    return rc;
}

/* Latest access, and the running mean the watchdog sets deadlines from.
 * The writer keeps the mean (it sees every record) so that the request
 * path never writes a counter that every thread's requests share. */
static void note_access(evd_agent *a, const ring_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        endpoint *e = &a->eps[recs[i].endpoint];
        atomic_store_explicit(&e->mean_n,
                              atomic_load_explicit(&e->mean_n, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        atomic_store_explicit(&e->mean_sum_ns,
                              atomic_load_explicit(&e->mean_sum_ns, memory_order_relaxed) +
                                  (uint64_t)recs[i].dur_ns,
                              memory_order_relaxed);
        _Atomic int64_t *p = &e->last_access_ns;
        int64_t cur = atomic_load_explicit(p, memory_order_relaxed);
        int64_t t = recs[i].ts_ns + recs[i].dur_ns;
        while (cur < t && !atomic_compare_exchange_weak_explicit(p, &cur, t, memory_order_relaxed,
                                                                 memory_order_relaxed))
            ;
    }
}

static void process_batch(writer *w, size_t n)
{
    evd_agent *a = w->a;
    const ring_rec *recs = a->batch;
    uint64_t trunc = 0;
    for (size_t i = 0; i < n; i++) {
        w->caps[i] = recs[i].slot >= 0 ? inflight_take(a, recs[i].slot) : NULL;
        trunc += !!(recs[i].flags & REC_GROUP_TRUNC) + !!(recs[i].flags & REC_IP_TRUNC);
    }
    if (trunc)
        atomic_fetch_add(&a->truncated, trunc);
    note_access(a, recs, n);
    int backoff = WRITER_BACKOFF_MIN_MS;
    for (int attempt = 1;; attempt++) {
        pthread_mutex_lock(&a->fork_mu);
        int rc, stored = 0;
        /* a commit whose answer was lost: write the batch again only if
         * the server says it was not stored */
        if (a->store && store_commit_pending(a->store))
            rc = store_resolve_commit(a->store, &stored);
        else
            rc = 0;
        if (!rc && !stored)
            rc = write_batch(w, recs, n);
        pthread_mutex_unlock(&a->fork_mu);
        if (!rc) {
            atomic_fetch_add(&a->written, n);
            break;
        }
        atomic_fetch_add(&a->write_errors, 1);
        /* Another writer holding the lock is contention, not an outage:
         * keep retrying (the ring is the bound; past it producers drop and
         * count).  Real errors, and a store that cannot be opened, give up
         * after WRITER_ATTEMPTS; a closing agent waits at most
         * WRITER_CLOSE_BUSY_ATTEMPTS backoffs for a lock. */
        int busy = rc == EVD_EBUSY;
        int stopping = atomic_load(&a->stopping);
        if ((!busy && attempt >= WRITER_ATTEMPTS) ||
            (stopping && attempt >= (busy ? WRITER_CLOSE_BUSY_ATTEMPTS : 3))) {
            /* a commit still unresolved counts as lost: the server has
             * been gone for the whole close */
            if (a->store)
                store_forget_commit(a->store);
            writer_count_lost(a, recs, n);
            break;
        }
        sleep_ms(backoff);
        backoff = backoff * 2 > WRITER_BACKOFF_MAX_MS ? WRITER_BACKOFF_MAX_MS : backoff * 2;
    }
    pthread_mutex_lock(&a->fork_mu);
    for (size_t i = 0; i < n; i++) {
        capture_free(w->caps[i]);
        w->caps[i] = NULL;
    }
    pthread_mutex_unlock(&a->fork_mu);
}

void *writer_main(void *arg)
{
    writer w = {.a = arg};
    evd_agent *a = w.a;
    int64_t stop_since = 0;
    /* This thread allocates only under fork_mu, which fork's prepare
     * handler takes (see agent.c). */
    pthread_mutex_lock(&a->fork_mu);
    int ok = (w.accs = calloc(ACC_MAX, sizeof(acc))) != NULL;
    for (int i = 0; ok && i < ACC_MAX; i++)
        ok = !store_rollup_acc_init(&w.accs[i].r);
    w.caps = calloc(AGENT_BATCH_MAX, sizeof(capture *));
    pthread_mutex_unlock(&a->fork_mu);
    agent_thread_ready(a, AGENT_WRITER);
    if (!ok || !w.caps) {
        agent_fail(a, EVD_ENOMEM, "writer: out of memory");
        atomic_store(&a->running, 0);
        goto done;
    }
    housekeeping(&w, 1); /* attaches the store */
    for (;;) {
        size_t n = ring_drain(&a->ring, a->batch, AGENT_BATCH_MAX);
        if (n) {
            process_batch(&w, n);
            agent_note_done(a);
            housekeeping(&w, 0);
            if (n < WRITER_LIGHT_BATCH && !atomic_load(&a->stopping))
                agent_wait(a, a->flush_ms);
            continue;
        }
        agent_note_done(a);
        if (atomic_load(&a->stopping)) {
            uint64_t pending = ring_pending(&a->ring);
            if (!pending)
                break;
            /* a producer reserved a cell but has not published it yet */
            int64_t now = clock_mono_ns() / 1000000;
            if (!stop_since)
                stop_since = now;
            if (now - stop_since > WRITER_STOP_WAIT_MS) {
                atomic_fetch_add(&a->dropped_other, pending);
                break;
            }
            sleep_ms(1);
            continue;
        }
        housekeeping(&w, 0);
        agent_wait(a, a->flush_ms);
    }
    housekeeping(&w, 1);
done:
    pthread_mutex_lock(&a->fork_mu);
    for (int i = 0; w.accs && i < ACC_MAX; i++)
        store_rollup_acc_free(&w.accs[i].r);
    free(w.accs);
    free(w.caps);
    usage_free(w.usage);
    pthread_mutex_unlock(&a->fork_mu);
    return NULL;
}
