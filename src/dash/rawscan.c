/* rawscan.c — one pass over an endpoint's raw rows in a range, shared by
 * every view that needs raw rows: status codes, box plots per group (of
 * each grouping, see groupings.c) and per IP, and the group × version and
 * IP × version bubbles.
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
#include "core/intern.h"
#include "dash/dash_int.h"
#include "store/read.h"

#define RAWSCAN_TTL_US  (30LL * 1000000)
#define RAWSCAN_KEEP    8
#define RAWSCAN_RUNNING 2 /* scans at once: each holds 12 B per row and dimension read */
#define RAWSCAN_OPEN_US (10LL * 1000000)

struct rawscan_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;
    rawscan *list; /* newest first */
    int running;   /* scans in progress; at most RAWSCAN_RUNNING */
};

/* ---- the texts, each with its durations, and the versions ------------------ */

/* A row costs one lookup of each text (its groups, IP) in an interned table
 * (core/intern.h) and one of its version in a table of a few entries,
 * then two appends: each text keeps its durations and, beside them, the
 * version of each (a small index).  The per-(text, version) counts and
 * sums are added up per text at the end, in one sequential pass, rather
 * than in a second random lookup per row: a busy endpoint's week is
 * 100,000 rows, and the lookups, not the reads, were what the scan waited
 * on. */
typedef struct kent {
    int64_t *v;  /* durations */
    uint32_t *x; /* the version of each, as an index into the vdict */
    size_t n, cap;
} kent;

typedef struct ktable {
    intern keys;
    kent *e; /* by key id */
    size_t cap;
} ktable;

/* Version ids in the order first seen.  Hand-written like the interned
 * texts, for integer keys: a handful per scan, looked up once a row. */
typedef struct vdict {
    int64_t *id;
    uint32_t *slot; /* index + 1; 0 = free */
    size_t n, nslot;
    int64_t last_id; /* the last lookup's answer: rows come in runs */
    uint32_t last;
} vdict;

static size_t mix(uint64_t h)
{
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ h >> 29);
}

static void ktable_free(ktable *t)
{
    for (size_t i = 0; i < t->keys.n; i++) {
        free(t->e[i].v);
        free(t->e[i].x);
    }
    free(t->e);
    intern_free(&t->keys);
    memset(t, 0, sizeof *t);
}

/* The entry of key[0..len), added when new; NULL when out of memory. */
static kent *ktable_get(ktable *t, const char *key, size_t len)
{
    int64_t id = intern_id(&t->keys, key, len);
    if (id < 0)
        return NULL;
    if ((size_t)id >= t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        kent *ne = realloc(t->e, ncap * sizeof *ne);
        if (!ne)
            return NULL;
        memset(ne + t->cap, 0, (ncap - t->cap) * sizeof *ne);
        t->e = ne;
        t->cap = ncap;
    }
    return &t->e[id];
}

static int kent_push(kent *e, int64_t d, uint32_t x)
{
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        int64_t *nv = realloc(e->v, ncap * sizeof *nv);
        if (nv)
            e->v = nv;
        uint32_t *nx = realloc(e->x, ncap * sizeof *nx);
        if (nx)
            e->x = nx;
        if (!nv || !nx)
            return -1;
        e->cap = ncap;
    }
    e->v[e->n] = d;
    e->x[e->n++] = x;
    return 0;
}

static void vdict_free(vdict *d)
{
    free(d->id);
    free(d->slot);
}

static int vdict_grow(vdict *d)
{
    size_t ns = d->nslot ? d->nslot * 2 : 64;
    uint32_t *slot = calloc(ns, sizeof *slot);
    int64_t *id = realloc(d->id, (ns / 2 + 1) * sizeof *id);
    if (id)
        d->id = id;
    if (!slot || !id) {
        free(slot);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        size_t h = mix((uint64_t)d->id[i]) & (ns - 1);
        while (slot[h])
            h = (h + 1) & (ns - 1);
        slot[h] = (uint32_t)i + 1;
    }
    free(d->slot);
    d->slot = slot;
    d->nslot = ns;
    return 0;
}

/* The index of version id, added when new; -1 when out of memory. */
static int64_t vdict_get(vdict *d, int64_t id)
{
    if (d->n && id == d->last_id)
        return d->last;
    if (d->n * 2 >= d->nslot && (d->n >= UINT32_MAX - 1 || vdict_grow(d)))
        return -1;
    size_t h = mix((uint64_t)id) & (d->nslot - 1);
    while (d->slot[h] && d->id[d->slot[h] - 1] != id)
        h = (h + 1) & (d->nslot - 1);
    if (!d->slot[h]) {
        d->id[d->n] = id;
        d->slot[h] = (uint32_t)++d->n;
    }
    d->last_id = id;
    d->last = d->slot[h] - 1;
    return d->last;
}

/* ---- the scan ------------------------------------------------------------------ */

static void summary_free(rawscan *s)
{
    if (!s)
        return;
    for (size_t g = 0; g < s->ngroup; g++) {
        free(s->group[g].box);
        free(s->group[g].pair);
    }
    free(s->ip.box);
    free(s->ip.pair);
    free(s->codes);
    free(s);
}

static int key_cmp(const void *a, const void *b, void *u)
{
    const intern_str *k = u;
    return strcmp(k[*(const size_t *)a].s, k[*(const size_t *)b].s);
}

static int version_cmp(const void *a, const void *b, void *u)
{
    const int64_t *id = u;
    int64_t x = id[*(const uint32_t *)a], y = id[*(const uint32_t *)b];
    return (x > y) - (x < y);
}

typedef struct vacc {
    int64_t n;
    double sum;
} vacc;

/* The boxes of t and its (key, version) pairs into d, each sorted by key
 * (then version id). */
static int take_keyed(ktable *t, const vdict *vd, rawscan_dim *d)
{
    rawscan_box **box = &d->box;
    rawscan_pair **pair = &d->pair;
    size_t nkeys = t->keys.n;
    size_t *order = malloc((nkeys + 1) * sizeof *order);
    vacc *acc = calloc(vd->n + 1, sizeof *acc);
    uint32_t *used = malloc((vd->n + 1) * sizeof *used);
    size_t cap = nkeys + 16, n = 0;
    *box = calloc(nkeys + 1, sizeof **box);
    *pair = malloc(cap * sizeof **pair);
    int rc = -1;
    if (!order || !acc || !used || !*box || !*pair)
        goto out;
    for (size_t i = 0; i < nkeys; i++)
        order[i] = i;
    qsort_r(order, nkeys, sizeof *order, key_cmp, t->keys.v);
    for (size_t i = 0; i < nkeys; i++) {
        kent *e = &t->e[order[i]];
        const char *key = t->keys.v[order[i]].s;
        size_t nu = 0;
        for (size_t j = 0; j < e->n; j++) {
            vacc *a = &acc[e->x[j]];
            if (!a->n++)
                used[nu++] = e->x[j];
            a->sum += (double)e->v[j];
        }
        qsort_r(used, nu, sizeof *used, version_cmp, vd->id);
        if (n + nu > cap) {
            size_t ncap = (n + nu) * 2;
            rawscan_pair *np = realloc(*pair, ncap * sizeof *np);
            if (!np)
                goto out;
            *pair = np;
            cap = ncap;
        }
        for (size_t u = 0; u < nu; u++) {
            rawscan_pair *q = &(*pair)[n++];
            snprintf(q->key, sizeof q->key, "%s", key);
            q->version_id = vd->id[used[u]];
            q->count = acc[used[u]].n;
            q->sum_us = acc[used[u]].sum;
            acc[used[u]] = (vacc){0};
        }
        /* last: the box reorders the durations */
        snprintf((*box)[i].key, sizeof(*box)[i].key, "%s", key);
        box_from_values(e->v, e->n, &(*box)[i].box);
    }
    d->nbox = nkeys;
    d->npair = n;
    rc = 0;
out:
    free(order);
    free(acc);
    free(used);
    return rc;
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

/* A grouping is known from the first row that names it on; the rows read
 * before (none of which named it) are counted under its "" at the end.
 * They are found in the IP table, which holds every row, each IP's in the
 * order read: the first before[k] rows of IP k, its count when the
 * grouping was first seen.  A grouping is usually named by the first row
 * already, and then nothing is kept. */
typedef struct scanstate {
    ktable group[RAWSCAN_GROUPINGS]; /* durations kept, per value */
    char gname[RAWSCAN_GROUPINGS][64];
    size_t *before[RAWSCAN_GROUPINGS]; /* per IP; NULL when seen on row 0 */
    size_t nbefore[RAWSCAN_GROUPINGS];
    size_t ngroup;
    ktable ip;
    vdict versions;
    codecount cc;
} scanstate;

static void scanstate_free(scanstate *w)
{
    for (size_t g = 0; g < RAWSCAN_GROUPINGS; g++) {
        ktable_free(&w->group[g]);
        free(w->before[g]);
    }
    ktable_free(&w->ip);
    vdict_free(&w->versions);
    free(w);
}

/* The index of the grouping called name[0..len), added when new; -1 when
 * there are RAWSCAN_GROUPINGS already, -2 when out of memory. */
static int grouping_of(scanstate *w, const char *name, size_t len)
{
    if (len >= sizeof w->gname[0])
        return -1;
    for (size_t g = 0; g < w->ngroup; g++)
        if (!strncmp(w->gname[g], name, len) && !w->gname[g][len])
            return (int)g;
    if (w->ngroup == RAWSCAN_GROUPINGS)
        return -1;
    size_t g = w->ngroup, nip = w->ip.keys.n;
    if (nip) {
        if (!(w->before[g] = malloc(nip * sizeof *w->before[g])))
            return -2;
        for (size_t k = 0; k < nip; k++)
            w->before[g][k] = w->ip.e[k].n;
        w->nbefore[g] = nip;
    }
    memcpy(w->gname[g], name, len);
    w->gname[g][len] = 0;
    return (int)w->ngroup++;
}

/* Count the rows read before each grouping was seen under its ""; a range
 * where no row names any has the one grouping GROUPING_UNNAMED, all "".
 * Before the IPs' boxes are taken (which reorders their rows). */
static int complete_groupings(scanstate *w)
{
    if (!w->ngroup && grouping_of(w, GROUPING_UNNAMED, strlen(GROUPING_UNNAMED)) < 0)
        return -1;
    for (size_t g = 0; g < w->ngroup; g++) {
        if (!w->before[g])
            continue;
        kent *e = ktable_get(&w->group[g], "", 0);
        if (!e)
            return -1;
        for (size_t k = 0; k < w->nbefore[g]; k++)
            for (size_t j = 0; j < w->before[g][k]; j++)
                if (kent_push(e, w->ip.e[k].v[j], w->ip.e[k].x[j]))
                    return -1;
    }
    return 0;
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
    scanstate *w = c->w;
    c->rows++;
    c->last_ts = r->ts_us;
    int64_t x = vdict_get(&w->versions, r->version_id);
    if (x < 0)
        return EVD_ENOMEM;
    grouping_part part[RAWSCAN_GROUPINGS];
    size_t np = groupings_split(r->group, part, RAWSCAN_GROUPINGS);
    unsigned named = 0; /* the groupings this row names */
    for (size_t i = 0; i < np; i++) {
        int g = grouping_of(w, part[i].name, part[i].nlen);
        if (g == -2)
            return EVD_ENOMEM;
        if (g < 0 || named & 1u << g)
            continue;
        named |= 1u << g;
        kent *e = ktable_get(&w->group[g], part[i].value, part[i].vlen);
        if (!e || kent_push(e, r->duration_us, (uint32_t)x))
            return EVD_ENOMEM;
    }
    for (size_t g = 0; g < w->ngroup; g++) {
        if (named & 1u << g)
            continue;
        kent *e = ktable_get(&w->group[g], "", 0);
        if (!e || kent_push(e, r->duration_us, (uint32_t)x))
            return EVD_ENOMEM;
    }
    kent *e = ktable_get(&w->ip, r->ip, strlen(r->ip));
    if (!e || kent_push(e, r->duration_us, (uint32_t)x))
        return EVD_ENOMEM;
    code_add(&w->cc, r->status);
    return 0;
}

typedef struct ip_take {
    scanstate *w;
    rawscan *s;
    int rc;
} ip_take;

static void *take_ips(void *u)
{
    ip_take *t = u;
    snprintf(t->s->ip.name, sizeof t->s->ip.name, "ip");
    t->rc = take_keyed(&t->w->ip, &t->w->versions, &t->s->ip);
    return NULL;
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
    if (complete_groupings(c.w))
        goto fail;
    /* The IPs' boxes in a second thread while this one takes the groups'
     * (a busy endpoint's week: about 10 ms of sorting and selecting, with
     * the database done and a core idle).  Disjoint tables; the versions
     * are only read. */
    ip_take ipt = {c.w, s, -1};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, take_ips, &ipt) == 0;
    if (!threaded)
        take_ips(&ipt);
    int bad = 0;
    for (size_t g = 0; g < c.w->ngroup && !bad; g++) {
        rawscan_dim *d = &s->group[s->ngroup++];
        snprintf(d->name, sizeof d->name, "%s", c.w->gname[g]);
        bad = take_keyed(&c.w->group[g], &c.w->versions, d);
    }
    if (threaded)
        pthread_join(th, NULL);
    if (bad || ipt.rc || take_codes(&c.w->cc, s))
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

const rawscan_dim *rawscan_grouping(const rawscan *s, const char *name)
{
    if (!name || !*name)
        return &s->group[0];
    for (size_t g = 0; g < s->ngroup; g++)
        if (!strcmp(s->group[g].name, name))
            return &s->group[g];
    return NULL;
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
