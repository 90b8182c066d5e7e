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

#include <sqlite3.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/dash_int.h"

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
    uint64_t th; /* text_hash(key) */
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

/* FNV-1a of the text, then the version mixed in: a row's key is hashed
 * once for both its tables. */
static uint64_t text_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

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

/* The entry of (key, ver), added when new; th = text_hash(key).  NULL
 * when out of memory. */
static kslot *ktable_get(ktable *t, const char *key, uint64_t th, int64_t ver)
{
    if (t->n * 2 >= t->nslot && ktable_grow(t))
        return NULL;
    size_t h = key_hash(th, ver) & (t->nslot - 1);
    while (t->slot[h]) {
        kslot *e = &t->e[t->slot[h] - 1];
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

/* Where a scan of [from, to) must start to read at most max rows: the
 * time of the max-th newest row, or from itself when the range
 * holds fewer.  The rows are clustered by (endpoint, time), so this walks
 * the index backwards and reads no row twice. */
static int scan_start(sqlite3 *db, const rawscan *s, int64_t max, int64_t *start)
{
    sqlite3_stmt *q = NULL;
    *start = s->from_us;
    if (sqlite3_prepare_v2(db,
                           "SELECT ts_us FROM requests WHERE endpoint_id = ?1 AND ts_us >= ?2 AND "
                           "ts_us < ?3 ORDER BY ts_us DESC LIMIT 1 OFFSET ?4",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, s->endpoint_id);
    sqlite3_bind_int64(q, 2, s->from_us);
    sqlite3_bind_int64(q, 3, s->to_us);
    sqlite3_bind_int64(q, 4, max - 1);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *start = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Read the rows into s: all of the range, or its newest max (about: rows
 * sharing the cut's time all count; s->partial_from_us says where they
 * start).  On failure fills s->err_status and s->err. */
static void scan(sqlite3 *db, rawscan *s, int64_t max)
{
    sqlite3_stmt *q = NULL;
    scanstate *w = calloc(1, sizeof *w);
    size_t rows = 0;
    int step = SQLITE_DONE;
    int64_t start;
    if (!w)
        goto nomem;
    if (scan_start(db, s, max, &start))
        goto sqlfail;
    if (start > s->from_us)
        s->partial_from_us = start;
    if (sqlite3_prepare_v2(db,
                           "SELECT coalesce(group_name, ''), coalesce(ip, ''), version_id, "
                           "duration_us, status FROM requests WHERE endpoint_id = ?1 AND ts_us "
                           ">= ?2 AND ts_us < ?3",
                           -1, &q, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_int64(q, 1, s->endpoint_id);
    sqlite3_bind_int64(q, 2, start);
    sqlite3_bind_int64(q, 3, s->to_us);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        /* rows sharing the cut's time all count; a range of one instant
         * holding millions must not grow without bound */
        if (++rows > (size_t)max + 65536) {
            s->partial_from_us = start > s->from_us ? start : s->from_us + 1;
            break;
        }
        int64_t ver = sqlite3_column_int64(q, 2), d = sqlite3_column_int64(q, 3);
        for (int k = 0; k < 2; k++) {
            const char *key = (const char *)sqlite3_column_text(q, k);
            if (!key)
                key = "";
            uint64_t th = text_hash(key);
            kslot *e = ktable_get(&w->by[k], key, th, 0);
            kslot *p = ktable_get(&w->pair[k], key, th, ver);
            if (!e || !p || kslot_push(e, d))
                goto nomem;
            p->n++;
            p->sum += (double)d;
        }
        code_add(&w->cc, sqlite3_column_int(q, 4));
    }
    if (step != SQLITE_DONE)
        goto sqlfail;
    for (int k = 0; k < 2; k++)
        if (take_boxes(&w->by[k], &s->box[k], &s->nbox[k]) ||
            take_pairs(&w->pair[k], &s->pair[k], &s->npair[k]))
            goto nomem;
    if (take_codes(&w->cc, s))
        goto nomem;
    s->rows = (int64_t)rows;
    goto out;
sqlfail:
    s->err_status = 500;
    snprintf(s->err, sizeof s->err, "raw requests: %s", sqlite3_errmsg(db));
    goto out;
nomem:
    s->err_status = 500;
    snprintf(s->err, sizeof s->err, "out of memory");
out:
    sqlite3_finalize(q);
    if (w)
        scanstate_free(w);
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

const rawscan *rawscan_get(dctx *c, const drange *given)
{
    struct rawscan_cache *rc = c->d->rawscan;
    int64_t t = clock_mono_ns() / 1000;
    /* A range left open at "now" differs by microseconds between the
     * requests of one page: end it at the next whole RAWSCAN_OPEN_US
     * instead, so that they share one scan.  No request is recorded in the
     * future, so the rows are the same. */
    drange kr = *given, *r = &kr;
    if (!dash_param(c, "to")) {
        int64_t up = (given->to_us / RAWSCAN_OPEN_US + 1) * RAWSCAN_OPEN_US;
        if (!dash_param(c, "from"))
            kr.from_us += up - given->to_us;
        kr.to_us = up;
    }
    rawscan *s;
    pthread_mutex_lock(&rc->mu);
    for (;;) {
        for (s = rc->list; s; s = s->next)
            if (s->endpoint_id == c->id && s->from_us == r->from_us && s->to_us == r->to_us)
                break;
        /* A failure serves only the requests that waited for it. */
        if (s && s->ready && (s->err_status ? t > s->built_us : t - s->built_us > RAWSCAN_TTL_US)) {
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
            dash_error(c, 500, "out of memory");
            return NULL;
        }
        s->endpoint_id = c->id;
        s->from_us = r->from_us;
        s->to_us = r->to_us;
        s->refs = 1;
        s->next = rc->list;
        rc->list = s;
        /* Bound the memory of scans of different ranges at once: many
         * viewers (or one guest asking range after range) queue here. */
        while (rc->running >= RAWSCAN_RUNNING)
            pthread_cond_wait(&rc->done, &rc->mu);
        rc->running++;
        pthread_mutex_unlock(&rc->mu);
        scan(c->db, s, c->d->raw_rows_max);
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
    if (s->err_status) {
        dash_error(c, s->err_status, "%s", s->err);
        rawscan_release(c, s);
        return NULL;
    }
    return s;
}

void rawscan_release(dctx *c, const rawscan *cs)
{
    struct rawscan_cache *rc = c->d->rawscan;
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
