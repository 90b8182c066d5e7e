/* rawscan.c — one pass over an endpoint's raw rows in a range, shared by
 * every view that needs raw rows: status codes, box plots per group and per
 * IP, and the group × version and IP × version bubbles.
 *
 * DESIGN — the rollups are not keyed by group, IP or exact status code, so
 * these views read the request log.  An endpoint page asks for five of
 * them at once, over the same range; five scans of a busy endpoint's month
 * (over a million rows) cost five times one.  So the first request for an
 * (endpoint, from, to) scans once and computes every view's numbers; the
 * requests that arrive meanwhile wait for it, and later ones within
 * RAWSCAN_TTL_US reuse it.  A summary is immutable once ready and shared
 * by reference count; the cache keeps the RAWSCAN_KEEP newest.  Only the
 * summary is kept, never the rows: the durations live only during the
 * scan.  A range holding more than RAW_ROWS_MAX rows is summarised from
 * its newest RAW_ROWS_MAX, and the replies say from when: a month of a
 * busy endpoint still answers, in bounded time and memory, rather than
 * failing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "core/hash.h"
#include "dash/dash_int.h"
#include "store/read.h"

#define RAWSCAN_TTL_US  (30LL * 1000000)
#define RAWSCAN_KEEP    8
#define RAWSCAN_RUNNING 2 /* scans at once: each holds up to 16 B per row read */
#define RAWSCAN_OPEN_US (10LL * 1000000)

struct rawscan_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;
    rawscan *list; /* newest first */
    int running;   /* scans in progress; at most RAWSCAN_RUNNING */
};

/* ---- a hash table of text keys, each with its durations -------------------- */

/* Hand-written: a flat open-addressing table keyed by (text, integer)
 * beats SQLite's GROUP BY sort here, and no library on our list offers
 * one for plain C. */
typedef struct kslot {
    char key[64];
    uint64_t th; /* fnv1a64(key) */
    int64_t ver;
    int64_t *v; /* durations, when kept */
    size_t n, cap;
    double sum;
} kslot;

typedef struct ktable {
    kslot *e;
    size_t n;
    size_t *slot, nslot; /* index + 1 into e; 0 = free */
} ktable;

static size_t key_hash(uint64_t th, int64_t ver)
{
    uint64_t h = (th ^ (uint64_t)ver) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ h >> 29);
}

static void ktable_free(ktable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].v);
    free(t->e);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static int ktable_grow(ktable *t)
{
    size_t ns = t->nslot ? t->nslot * 2 : 256;
    size_t *slot = calloc(ns, sizeof *slot);
    kslot *ne = realloc(t->e, (ns / 2 + 1) * sizeof *ne);
    if (ne)
        t->e = ne;
    if (!slot || !ne) {
        free(slot);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t h = key_hash(t->e[i].th, t->e[i].ver) & (ns - 1);
        while (slot[h])
            h = (h + 1) & (ns - 1);
        slot[h] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = ns;
    return 0;
}

/* The entry of (key, ver), added when new; th = fnv1a64(key).  NULL
 * when out of memory. */
static kslot *ktable_get(ktable *t, const char *key, uint64_t th, int64_t ver)
{
    if (t->n * 2 >= t->nslot && ktable_grow(t))
        return NULL;
    size_t h = key_hash(th, ver) & (t->nslot - 1);
    while (t->slot[h]) {
        kslot *e = &t->e[t->slot[h] - 1];
        /* equal 64-bit hashes of different keys are rare: compare the text
         * only then */
        if (e->th == th && e->ver == ver && !strncmp(e->key, key, sizeof e->key - 1))
            return e;
        h = (h + 1) & (t->nslot - 1);
    }
    kslot *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->th = th;
    e->ver = ver;
    t->slot[h] = ++t->n;
    return e;
}

static int kslot_push(kslot *e, int64_t d)
{
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        int64_t *nv = realloc(e->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        e->v = nv;
        e->cap = ncap;
    }
    e->v[e->n++] = d;
    return 0;
}

static int kslot_cmp(const void *a, const void *b)
{
    const kslot *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->ver > y->ver) - (x->ver < y->ver);
}

/* ---- the scan ------------------------------------------------------------------ */

static void summary_free(rawscan *s)
{
    if (!s)
        return;
    for (int k = 0; k < 2; k++) {
        free(s->box[k]);
        free(s->pair[k]);
    }
    free(s->codes);
    free(s);
}

/* Boxes of a keyed table, sorted by key. */
static int take_boxes(ktable *t, rawscan_box **out, size_t *n)
{
    if (t->n)
        qsort(t->e, t->n, sizeof *t->e, kslot_cmp);
    if (!(*out = calloc(t->n + 1, sizeof **out)))
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        memcpy((*out)[i].key, t->e[i].key, sizeof t->e[i].key);
        box_from_values(t->e[i].v, t->e[i].n, &(*out)[i].box);
    }
    *n = t->n;
    return 0;
}

static int take_pairs(ktable *t, rawscan_pair **out, size_t *n)
{
    if (t->n)
        qsort(t->e, t->n, sizeof *t->e, kslot_cmp);
    if (!(*out = calloc(t->n + 1, sizeof **out)))
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        memcpy((*out)[i].key, t->e[i].key, sizeof t->e[i].key);
        (*out)[i].version_id = t->e[i].ver;
        (*out)[i].count = (int64_t)t->e[i].n;
        (*out)[i].sum_us = t->e[i].sum;
    }
    *n = t->n;
    return 0;
}

/* Status codes: HTTP's 100..599 in an array, anything else in a short
 * list; emitted in code order. */
typedef struct codecount {
    int64_t n[600];
    int odd[32];
    int64_t oddn[32];
    int nodd;
} codecount;

static void code_add(codecount *cc, int code)
{
    if (code >= 0 && code < 600) {
        cc->n[code]++;
        return;
    }
    int k = 0;
    while (k < cc->nodd && cc->odd[k] != code)
        k++;
    if (k == cc->nodd && cc->nodd < 32) {
        cc->odd[cc->nodd] = code;
        cc->oddn[cc->nodd++] = 0;
    }
    if (k < cc->nodd)
        cc->oddn[k]++;
}

static int code_cmp(const void *a, const void *b)
{
    const rawscan_code *x = a, *y = b;
    return (x->status > y->status) - (x->status < y->status);
}

static int take_codes(const codecount *cc, rawscan *s)
{
    if (!(s->codes = calloc(600 + 32, sizeof *s->codes)))
        return -1;
    for (int code = 0; code < 600; code++)
        if (cc->n[code])
            s->codes[s->ncodes++] = (rawscan_code){code, cc->n[code]};
    for (int k = 0; k < cc->nodd; k++)
        s->codes[s->ncodes++] = (rawscan_code){cc->odd[k], cc->oddn[k]};
    qsort(s->codes, s->ncodes, sizeof *s->codes, code_cmp);
    return 0;
}

typedef struct scanstate {
    ktable by[2];   /* [0] group, [1] IP: durations kept */
    ktable pair[2]; /* (group, version), (IP, version): count and sum */
    codecount cc;
} scanstate;

static void scanstate_free(scanstate *w)
{
    for (int k = 0; k < 2; k++) {
        ktable_free(&w->by[k]);
        ktable_free(&w->pair[k]);
    }
    free(w);
}

typedef struct scan_ctx {
    scanstate *w;
    size_t rows, max;
    int64_t last_ts;
    int cut;
} scan_ctx;

static int scan_row(void *u, const store_raw_row *r)
{
    scan_ctx *c = u;
    /* the newest max rows, and every row sharing the last one's time; but
     * a range of one instant holding millions must not grow without bound */
    if (c->rows >= c->max && (r->ts_us != c->last_ts || c->rows >= c->max + 65536)) {
        c->cut = 1;
        return 1;
    }
    c->rows++;
    c->last_ts = r->ts_us;
    const char *keys[2] = {r->group, r->ip};
    for (int k = 0; k < 2; k++) {
        uint64_t th = fnv1a64(keys[k]);
        kslot *e = ktable_get(&c->w->by[k], keys[k], th, 0);
        kslot *p = ktable_get(&c->w->pair[k], keys[k], th, r->version_id);
        if (!e || !p || kslot_push(e, r->duration_us))
            return EVD_ENOMEM;
        p->n++;
        p->sum += (double)r->duration_us;
    }
    code_add(&c->w->cc, r->status);
    return 0;
}

/* Read the rows into s, newest first: all of the range, or its newest max
 * (about: rows sharing the cut's time all count; s->partial_from_us says
 * where they start).  On failure fills s->err_code and s->err.  The rows
 * are clustered by (endpoint, time), so reading them backwards from the
 * range's end reads no row that is not kept. */
static void scan(store *st, rawscan *s, int64_t max)
{
    scan_ctx c = {.w = calloc(1, sizeof(scanstate)), .max = (size_t)max};
    store_filter f = {.instances = s->inst, .ninstances = s->ninst};
    int rc;
    if (!c.w) {
        rc = EVD_ENOMEM;
        goto fail;
    }
    rc = store_raw_scan(st, &f, s->endpoint_id, s->from_us, s->to_us, scan_row, &c);
    if (rc == 1 && c.cut) {
        s->partial_from_us = c.last_ts > s->from_us ? c.last_ts : s->from_us + 1;
        rc = 0;
    }
    if (rc)
        goto fail;
    rc = EVD_ENOMEM;
    for (int k = 0; k < 2; k++)
        if (take_boxes(&c.w->by[k], &s->box[k], &s->nbox[k]) ||
            take_pairs(&c.w->pair[k], &s->pair[k], &s->npair[k]))
            goto fail;
    if (take_codes(&c.w->cc, s))
        goto fail;
    s->rows = (int64_t)c.rows;
    scanstate_free(c.w);
    return;
fail:
    s->err_code = rc;
    snprintf(s->err, sizeof s->err, "raw requests: %s",
             rc == EVD_ENOMEM ? "out of memory" : store_errmsg(st));
    if (c.w)
        scanstate_free(c.w);
}

/* ---- the cache ------------------------------------------------------------------ */

struct rawscan_cache *rawscan_cache_new(void)
{
    struct rawscan_cache *rc = calloc(1, sizeof *rc);
    if (!rc)
        return NULL;
    pthread_mutex_init(&rc->mu, NULL);
    pthread_cond_init(&rc->done, NULL);
    return rc;
}

void rawscan_cache_free(struct rawscan_cache *rc)
{
    if (!rc)
        return;
    for (rawscan *s = rc->list, *nx; s; s = nx) {
        nx = s->next;
        summary_free(s);
    }
    pthread_cond_destroy(&rc->done);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

/* Unlink s (under mu); freed now, or by the last holder's release. */
static void detach(struct rawscan_cache *rc, rawscan *s)
{
    for (rawscan **pp = &rc->list; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    s->next = NULL;
    s->detached = 1;
    if (!s->refs)
        summary_free(s);
}

static int same_instances(const rawscan *s, const store_filter *f)
{
    size_t n = f ? f->ninstances : 0;
    if (n != s->ninst)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s->inst[i] != f->instances[i])
            return 0;
    return 1;
}

const rawscan *rawscan_get(struct rawscan_cache *rc, store *st, const store_filter *f, int64_t ep,
                           const drange *given, int64_t max_rows, int *err_rc, char *err,
                           size_t errcap)
{
    int64_t t = clock_mono_ns() / 1000;
    /* A range left open at "now" differs by microseconds between the
     * requests of one page: end it at the next whole RAWSCAN_OPEN_US
     * instead, so that they share one scan.  No request is recorded in the
     * future, so the rows are the same. */
    drange kr = *given, *r = &kr;
    if (given->open_to) {
        int64_t up = (given->to_us / RAWSCAN_OPEN_US + 1) * RAWSCAN_OPEN_US;
        if (given->open_from)
            kr.from_us += up - given->to_us;
        kr.to_us = up;
    }
    if (f && f->ninstances > DASH_INST_MAX) {
        *err_rc = EVD_EINVAL;
        snprintf(err, errcap, "instance: at most %d", DASH_INST_MAX);
        return NULL;
    }
    rawscan *s;
    pthread_mutex_lock(&rc->mu);
    for (;;) {
        for (s = rc->list; s; s = s->next)
            if (s->endpoint_id == ep && s->from_us == r->from_us && s->to_us == r->to_us &&
                same_instances(s, f))
                break;
        /* A failure serves only the requests that waited for it. */
        if (s && s->ready && (s->err_code ? t > s->built_us : t - s->built_us > RAWSCAN_TTL_US)) {
            detach(rc, s);
            s = NULL;
        }
        if (!s || s->ready)
            break;
        pthread_cond_wait(&rc->done, &rc->mu); /* another request is scanning it */
    }
    if (s) {
        s->refs++;
        pthread_mutex_unlock(&rc->mu);
    } else {
        if (!(s = calloc(1, sizeof *s))) {
            pthread_mutex_unlock(&rc->mu);
            *err_rc = EVD_ENOMEM;
            snprintf(err, errcap, "out of memory");
            return NULL;
        }
        s->endpoint_id = ep;
        s->from_us = r->from_us;
        s->to_us = r->to_us;
        s->ninst = f ? f->ninstances : 0;
        if (s->ninst)
            memcpy(s->inst, f->instances, s->ninst * sizeof *s->inst);
        s->refs = 1;
        s->next = rc->list;
        rc->list = s;
        /* Bound the memory of scans of different ranges at once: many
         * viewers (or one guest asking range after range) queue here. */
        while (rc->running >= RAWSCAN_RUNNING)
            pthread_cond_wait(&rc->done, &rc->mu);
        rc->running++;
        pthread_mutex_unlock(&rc->mu);
        scan(st, s, max_rows);
        pthread_mutex_lock(&rc->mu);
        rc->running--;
        s->ready = 1;
        s->built_us = clock_mono_ns() / 1000;
        int kept = 0;
        for (rawscan *x = rc->list, *nx; x; x = nx) {
            nx = x->next;
            if (x->ready && ++kept > RAWSCAN_KEEP)
                detach(rc, x);
        }
        pthread_cond_broadcast(&rc->done);
        pthread_mutex_unlock(&rc->mu);
    }
    if (s->err_code) {
        *err_rc = s->err_code;
        snprintf(err, errcap, "%s", s->err);
        rawscan_release(rc, s);
        return NULL;
    }
    return s;
}

void rawscan_release(struct rawscan_cache *rc, const rawscan *cs)
{
    rawscan *s = (rawscan *)cs;
    if (!s)
        return;
    pthread_mutex_lock(&rc->mu);
    int gone = --s->refs == 0 && s->detached;
    pthread_mutex_unlock(&rc->mu);
    if (gone)
        summary_free(s);
}

void rawscan_describe(const rawscan *s, const drange *r, json_t *doc)
{
    if (!doc)
        return;
    json_object_set_new(doc, "partial",
                        s->partial_from_us
                            ? json_pack("{s:o,s:I}", "from", dash_time(r->tz, s->partial_from_us),
                                        "rows", (json_int_t)s->rows)
                            : json_null());
}
