/* aggcache.c — rollup aggregates over a range of hours, grouped per
 * endpoint, per version or per (version, endpoint), with a day cache.
 *
 * DESIGN — a long range (the overview's "overall", 30-day box plots, the
 * metrics) would merge one sketch per rollup row: hundreds of thousands for
 * a busy service.  Hours of UTC days that ended more than CLOSE_HOURS ago
 * no longer change (the writers flush within seconds), so their rollups
 * are merged once per (endpoint, version, day) and kept here; a query then
 * takes whole closed days from the cache and only its ragged ends (and the
 * open days) from SQL.  The first query after start builds the cache with
 * one scan; later ones extend it as days close; it is rebuilt from scratch
 * every REBUILD_US so that a rollup written late (a writer that was cut off
 * from the store for hours) is not hidden for long.
 *
 * Threads: readers hold the read lock while merging cached cells; the
 * build runs under a separate mutex without the lock, and only swaps the
 * new cells in under the write lock.  Only the first build is waited for:
 * later, a reader that finds a build running uses the cache as it is,
 * which is exact for the days it covers since the rest is read live. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "core/sketch.h"
#include "dash/dash_int.h"
#include "store/read.h"

#define CLOSE_HOURS 2
#define REBUILD_US  (600LL * 1000000)

typedef struct dc_cell {
    int64_t ep, ver, day;
    int64_t count, sum, min, max, cls[6];
    uint8_t *blob;
    int blen;
} dc_cell;

/* Requests of one endpoint in one closed hour, for the hour-bucketed views
 * (heat maps, daily bars), which need local-time buckets. */
typedef struct hc_cell {
    int64_t hour, ep, count;
} hc_cell;

struct aggcache {
    pthread_rwlock_t rw;
    hc_cell *hours; /* sorted by hour */
    size_t nh;
    pthread_mutex_t build;
    dc_cell *cells; /* sorted by day */
    size_t n;
    dc_cell *tot; /* per (endpoint, version): every cached day merged */
    size_t ntot;
    int64_t tot_closed_day; /* the closed_day tot was built for */
    int64_t closed_day;     /* days before it are cached */
    int64_t built_us;
    int valid;
};

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

struct aggcache *aggcache_new(void)
{
    struct aggcache *ac = calloc(1, sizeof *ac);
    if (!ac)
        return NULL;
    pthread_rwlock_init(&ac->rw, NULL);
    pthread_mutex_init(&ac->build, NULL);
    return ac;
}

static void free_cells(dc_cell *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].blob);
    free(v);
}

void aggcache_free(struct aggcache *ac)
{
    if (!ac)
        return;
    free_cells(ac->cells, ac->n);
    free_cells(ac->tot, ac->ntot);
    free(ac->hours);
    pthread_rwlock_destroy(&ac->rw);
    pthread_mutex_destroy(&ac->build);
    free(ac);
}

/* Read days [d0, d1) into new cells appended to *v, each with its merged
 * sketch re-encoded in our own format (PostgreSQL hands the day's sketches
 * over unmerged).  0 or a negative code. */
typedef struct day_load {
    dc_cell **v;
    size_t *n, cap;
    sketch *sk;
    uint8_t *enc;
} day_load;

static int day_row(void *u, const store_rollup_row *r)
{
    day_load *l = u;
    if (*l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        dc_cell *nv = realloc(*l->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        *l->v = nv;
        l->cap = cap;
    }
    sketch_init(l->sk);
    if (store_rollup_sketch(r, l->sk))
        return EVD_ECORRUPT;
    size_t len = sketch_encode(l->sk, l->enc, SKETCH_ENCODED_MAX);
    dc_cell *c = &(*l->v)[*l->n];
    *c = (dc_cell){.ep = r->endpoint_id,
                   .ver = r->version_id,
                   .day = r->day,
                   .count = r->count,
                   .sum = r->sum_us,
                   .min = r->min_us,
                   .max = r->max_us,
                   .blen = (int)len};
    memcpy(c->cls, r->cls, sizeof c->cls);
    if (!(c->blob = malloc(len ? len : 1)))
        return EVD_ENOMEM;
    if (len)
        memcpy(c->blob, l->enc, len);
    (*l->n)++;
    return 0;
}

static int load_days(store *st, int64_t d0, int64_t d1, dc_cell **v, size_t *n)
{
    day_load l = {v, n, *n, malloc(sizeof(sketch)), malloc(SKETCH_ENCODED_MAX)};
    int rc = l.sk && l.enc ? store_rollup_by_day(st, d0, d1, day_row, &l) : EVD_ENOMEM;
    free(l.sk);
    free(l.enc);
    return rc;
}

/* Read the hourly counts of days [d0, d1), appended to *v.  0 or a
 * negative code. */
typedef struct hour_load {
    hc_cell **v;
    size_t *n, cap;
} hour_load;

static int hour_row(void *u, const store_rollup_row *r)
{
    hour_load *l = u;
    if (*l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        hc_cell *nv = realloc(*l->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        *l->v = nv;
        l->cap = cap;
    }
    (*l->v)[(*l->n)++] = (hc_cell){.ep = r->endpoint_id, .hour = r->hour, .count = r->count};
    return 0;
}

static int load_hours(store *st, int64_t d0, int64_t d1, hc_cell **v, size_t *n)
{
    hour_load l = {v, n, *n};
    return store_rollup_by_hour(st, NULL, d0 <= INT64_MIN / 48 ? INT64_MIN / 2 : d0 * 24, d1 * 24,
                                -1, hour_row, &l);
}

static int build_totals(const struct aggcache *ac, dc_cell **out, size_t *nout);

/* Bring the cache up to the days closed now.  0 or a negative code. */
static int refresh(struct aggcache *ac, store *st, int64_t now)
{
    int64_t target = floordiv(floordiv(now, 3600000000LL) - CLOSE_HOURS, 24);
    pthread_rwlock_rdlock(&ac->rw);
    int valid = ac->valid;
    int fresh = valid && ac->closed_day >= target && now - ac->built_us < REBUILD_US;
    pthread_rwlock_unlock(&ac->rw);
    if (fresh)
        return 0;
    /* While another thread builds, a valid cache is still exact for the
     * days it covers (later days are read live): use it, do not wait. */
    if (!valid)
        pthread_mutex_lock(&ac->build);
    else if (pthread_mutex_trylock(&ac->build))
        return 0;
    pthread_rwlock_rdlock(&ac->rw);
    int full = !ac->valid || now - ac->built_us >= REBUILD_US;
    int64_t from = full ? INT64_MIN / 2 : ac->closed_day;
    fresh = !full && ac->closed_day >= target;
    pthread_rwlock_unlock(&ac->rw);
    int rc = 0;
    if (!fresh) {
        dc_cell *v = NULL;
        hc_cell *hv = NULL;
        size_t n = 0, nh = 0;
        rc = load_days(st, from, target, &v, &n);
        if (!rc)
            rc = load_hours(st, from, target, &hv, &nh);
        if (!rc) {
            pthread_rwlock_wrlock(&ac->rw);
            if (full) {
                free_cells(ac->cells, ac->n);
                free(ac->hours);
                ac->cells = v;
                ac->n = n;
                ac->hours = hv;
                ac->nh = nh;
                ac->built_us = now;
            } else {
                dc_cell *nv = realloc(ac->cells, (ac->n + n + 1) * sizeof *nv);
                if (nv)
                    ac->cells = nv;
                hc_cell *nhv = realloc(ac->hours, (ac->nh + nh + 1) * sizeof *nhv);
                if (nhv)
                    ac->hours = nhv;
                if (nv && nhv) {
                    /* No closed day since the last build leaves v and hv
                     * NULL: memcpy's source must not be NULL, even for 0. */
                    if (n)
                        memcpy(ac->cells + ac->n, v, n * sizeof *v);
                    ac->n += n;
                    if (nh)
                        memcpy(ac->hours + ac->nh, hv, nh * sizeof *hv);
                    ac->nh += nh;
                    free(v);
                    free(hv);
                } else {
                    free_cells(v, n);
                    free(hv);
                    rc = EVD_ENOMEM;
                }
            }
            if (!rc) {
                ac->closed_day = target;
                ac->valid = 1;
            }
            pthread_rwlock_unlock(&ac->rw);
        } else {
            free_cells(v, n);
            free(hv);
        }
        /* Only builders change the cells, and this one holds the build
         * mutex: reading them without the lock is safe here. */
        dc_cell *tot = NULL;
        size_t ntot = 0;
        if (!rc && !build_totals(ac, &tot, &ntot)) {
            pthread_rwlock_wrlock(&ac->rw);
            free_cells(ac->tot, ac->ntot);
            ac->tot = tot;
            ac->ntot = ntot;
            ac->tot_closed_day = ac->closed_day;
            pthread_rwlock_unlock(&ac->rw);
        }
    }
    pthread_mutex_unlock(&ac->build);
    return rc;
}

/* ---- results ------------------------------------------------------------- */

static size_t hash2(int64_t a, int64_t b)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull ^ ((uint64_t)b + 0x632BE59BD9B4E019ull);
    h ^= h >> 29;
    return (size_t)(h * 0xBF58476D1CE4E5B9ull >> 20);
}

static agg_acc *acc_get(agg_result *r, int64_t k1, int64_t k2)
{
    if (r->n * 2 >= r->nslot) {
        size_t ns = r->nslot ? r->nslot * 2 : 256;
        size_t *slot = calloc(ns, sizeof *slot);
        agg_acc *nv = realloc(r->v, (ns / 2 + 1) * sizeof *nv);
        if (!slot || !nv) {
            free(slot);
            if (nv)
                r->v = nv;
            return NULL;
        }
        r->v = nv;
        for (size_t i = 0; i < r->n; i++) {
            size_t h = hash2(r->v[i].k1, r->v[i].k2) & (ns - 1);
            while (slot[h])
                h = (h + 1) & (ns - 1);
            slot[h] = i + 1;
        }
        free(r->slot);
        r->slot = slot;
        r->nslot = ns;
    }
    size_t h = hash2(k1, k2) & (r->nslot - 1);
    while (r->slot[h]) {
        agg_acc *a = &r->v[r->slot[h] - 1];
        if (a->k1 == k1 && a->k2 == k2)
            return a;
        h = (h + 1) & (r->nslot - 1);
    }
    agg_acc *a = &r->v[r->n];
    memset(a, 0, sizeof *a);
    a->k1 = k1;
    a->k2 = k2;
    a->min = INT64_MAX;
    r->slot[h] = ++r->n;
    return a;
}

agg_acc *agg_find(const agg_result *r, int64_t k1, int64_t k2)
{
    if (!r->nslot)
        return NULL;
    size_t h = hash2(k1, k2) & (r->nslot - 1);
    while (r->slot[h]) {
        agg_acc *a = &r->v[r->slot[h] - 1];
        if (a->k1 == k1 && a->k2 == k2)
            return a;
        h = (h + 1) & (r->nslot - 1);
    }
    return NULL;
}

void agg_free(agg_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].sk);
    free(r->v);
    free(r->slot);
    memset(r, 0, sizeof *r);
}

/* Is endpoint ep among the sorted eps[0..n) (every endpoint when eps is
 * NULL)? */
static int ep_allowed(const agg_ask *q, int64_t ep)
{
    if (!q->eps)
        return 1;
    size_t lo = 0, hi = q->neps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (q->eps[mid] < ep)
            lo = mid + 1;
        else if (q->eps[mid] > ep)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

/* Add one (endpoint, version) aggregate into its group, its sketch from a
 * cached blob or from a store row.  0 or a negative code. */
static int add(agg_result *r, int group, int want_sketch, int64_t ep, int64_t ver, int64_t count,
               int64_t sum, int64_t mn, int64_t mx, const int64_t cls[6], const void *blob,
               int blen, const store_rollup_row *row)
{
    int64_t k1 = group == AG_EP ? ep : ver, k2 = group == AG_VER_EP ? ep : 0;
    agg_acc *a = acc_get(r, k1, k2);
    if (!a)
        return EVD_ENOMEM;
    if (!count)
        return 0;
    a->count += count;
    a->sum += sum;
    if (mn < a->min)
        a->min = mn;
    if (mx > a->max)
        a->max = mx;
    for (int k = 0; k < 6; k++)
        a->cls[k] += cls[k];
    if (want_sketch && ((blob && blen > 0) || row)) {
        if (!a->sk) {
            if (!(a->sk = malloc(sizeof *a->sk)))
                return EVD_ENOMEM;
            sketch_init(a->sk);
        }
        if (row ? store_rollup_sketch(row, a->sk) : sketch_merge_encoded(a->sk, blob, (size_t)blen))
            return EVD_ECORRUPT;
    }
    return 0;
}

static int build_totals(const struct aggcache *ac, dc_cell **out, size_t *nout)
{
    agg_result r;
    memset(&r, 0, sizeof r);
    *out = NULL;
    *nout = 0;
    for (size_t i = 0; i < ac->n; i++) {
        const dc_cell *x = &ac->cells[i];
        if (add(&r, AG_VER_EP, 1, x->ep, x->ver, x->count, x->sum, x->min, x->max, x->cls, x->blob,
                x->blen, NULL)) {
            agg_free(&r);
            return -1;
        }
    }
    uint8_t *enc = malloc(SKETCH_ENCODED_MAX);
    dc_cell *v = calloc(r.n + 1, sizeof *v);
    if (!enc || !v) {
        free(enc);
        free(v);
        agg_free(&r);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++) {
        const agg_acc *a = &r.v[i];
        if (!a->count)
            continue;
        dc_cell *c = &v[n];
        *c = (dc_cell){.ep = a->k2,
                       .ver = a->k1,
                       .count = a->count,
                       .sum = a->sum,
                       .min = a->min,
                       .max = a->max};
        memcpy(c->cls, a->cls, sizeof c->cls);
        size_t len = a->sk ? sketch_encode(a->sk, enc, SKETCH_ENCODED_MAX) : 0;
        if (!(c->blob = malloc(len ? len : 1))) {
            free_cells(v, n);
            free(enc);
            agg_free(&r);
            return -1;
        }
        if (len)
            memcpy(c->blob, enc, len);
        c->blen = (int)len;
        n++;
    }
    free(enc);
    agg_free(&r);
    *out = v;
    *nout = n;
    return 0;
}

typedef struct seg_ctx {
    const agg_ask *q;
    agg_result *r;
} seg_ctx;

static int seg_row(void *u, const store_rollup_row *x)
{
    seg_ctx *c = u;
    if (!ep_allowed(c->q, x->endpoint_id))
        return 0;
    return add(c->r, c->q->group, c->q->want_sketch, x->endpoint_id, x->version_id, x->count,
               x->sum_us, x->min_us, x->max_us, x->cls, NULL, 0, x);
}

/* Hours [h0, h1) read from the store. */
static int store_segment(store *st, const agg_ask *q, int64_t h0, int64_t h1, agg_result *r)
{
    if (h0 >= h1)
        return 0;
    seg_ctx c = {q, r};
    return store_rollup_by_version(st, q->f, h0, h1, q->only_ep, q->want_sketch, seg_row, &c);
}

static int filtered(const agg_ask *q)
{
    return q->f && q->f->ninstances;
}

void aggcache_invalidate(struct aggcache *ac)
{
    if (!ac)
        return;
    pthread_rwlock_wrlock(&ac->rw);
    ac->valid = 0;
    pthread_rwlock_unlock(&ac->rw);
}

int aggcache_warm(struct aggcache *ac, store *st)
{
    return refresh(ac, st, clock_real_us());
}

int aggcache_warm_at(struct aggcache *ac, store *st, int64_t now_us)
{
    return refresh(ac, st, now_us);
}

int aggcache_query(struct aggcache *ac, store *st, const agg_ask *q, agg_result *out)
{
    int64_t h0 = q->h0, h1 = q->h1;
    memset(out, 0, sizeof *out);
    if (h0 < INT64_MIN / 4)
        h0 = INT64_MIN / 4;
    int64_t dlo = -floordiv(-h0, 24), dhi = floordiv(h1, 24); /* whole days inside */
    /* the cache is per (endpoint, version, day), across instances: a view
     * of some instances reads the store */
    int use_cache = ac && dlo < dhi && !filtered(q) && !refresh(ac, st, clock_real_us());
    int rc = 0;
    if (use_cache) {
        pthread_rwlock_rdlock(&ac->rw);
        if (dhi > ac->closed_day)
            dhi = ac->closed_day;
        if (dlo >= dhi)
            use_cache = 0;
        else {
            /* A range over every cached day reads the per-(endpoint,
             * version) totals instead of each day. */
            int use_tot = ac->tot && ac->tot_closed_day == ac->closed_day &&
                          dhi == ac->closed_day && (!ac->n || dlo <= ac->cells[0].day);
            const dc_cell *v = use_tot ? ac->tot : ac->cells;
            size_t lo = 0, hi = use_tot ? 0 : ac->n, nv = use_tot ? ac->ntot : ac->n;
            while (lo < hi) { /* else the first cached cell of day >= dlo */
                size_t mid = (lo + hi) / 2;
                if (ac->cells[mid].day < dlo)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t i = lo; !rc && i < nv && (use_tot || v[i].day < dhi); i++) {
                const dc_cell *x = &v[i];
                if ((q->only_ep >= 0 && x->ep != q->only_ep) || !ep_allowed(q, x->ep))
                    continue;
                rc = add(out, q->group, q->want_sketch, x->ep, x->ver, x->count, x->sum, x->min,
                         x->max, x->cls, x->blob, x->blen, NULL);
            }
        }
        pthread_rwlock_unlock(&ac->rw);
    }
    if (!rc)
        rc =
            use_cache ? store_segment(st, q, h0, dlo * 24, out) : store_segment(st, q, h0, h1, out);
    if (!rc && use_cache)
        rc = store_segment(st, q, dhi * 24, h1, out);
    if (rc)
        agg_free(out);
    return rc;
}

typedef struct hourly_ctx {
    const agg_ask *q;
    void (*cb)(void *u, int64_t ep, int64_t hour, int64_t count);
    void *u;
} hourly_ctx;

static int hourly_row(void *u, const store_rollup_row *r)
{
    hourly_ctx *c = u;
    if (ep_allowed(c->q, r->endpoint_id))
        c->cb(c->u, r->endpoint_id, r->hour, r->count);
    return 0;
}

int aggcache_hourly(struct aggcache *ac, store *st, const agg_ask *q,
                    void (*cb)(void *u, int64_t ep, int64_t hour, int64_t count), void *u)
{
    int64_t from = q->h0, h1 = q->h1;
    if (ac && !filtered(q) && !refresh(ac, st, clock_real_us())) {
        pthread_rwlock_rdlock(&ac->rw);
        int64_t closed_h = ac->closed_day * 24;
        size_t lo = 0, hi = ac->nh;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ac->hours[mid].hour < q->h0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < ac->nh && ac->hours[i].hour < h1; i++) {
            const hc_cell *x = &ac->hours[i];
            if ((q->only_ep < 0 || x->ep == q->only_ep) && ep_allowed(q, x->ep))
                cb(u, x->ep, x->hour, x->count);
        }
        if (closed_h > from)
            from = closed_h;
        pthread_rwlock_unlock(&ac->rw);
    }
    if (from >= h1)
        return 0;
    hourly_ctx c = {q, cb, u};
    return store_rollup_by_hour(st, q->f, from, h1, q->only_ep, hourly_row, &c);
}

void box_from_acc(const agg_acc *a, boxstat *out)
{
    *out = (boxstat){0};
    out->count = a ? a->count : 0;
    if (!a || a->count <= 0 || !a->sk)
        return;
    out->min = (double)a->min;
    out->max = (double)a->max;
    out->mean = (double)a->sum / (double)a->count;
    out->q1 = sketch_quantile(a->sk, 0.25);
    out->median = sketch_quantile(a->sk, 0.5);
    out->q3 = sketch_quantile(a->sk, 0.75);
    /* A sketch value may sit up to 1% outside the exact extremes. */
    if (out->q1 < out->min)
        out->q1 = out->min;
    if (out->q3 > out->max)
        out->q3 = out->max;
    if (out->median < out->min)
        out->median = out->min;
    if (out->median > out->max)
        out->median = out->max;
}
