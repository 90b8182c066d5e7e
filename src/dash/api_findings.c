/* api_findings.c — GET /api/findings through a cache of computed findings,
 * and the admin's verdict routes: version marks and renames.
 *
 * DESIGN — computing findings reads the whole range's rollups and a few
 * raw samples: up to a second or two on a large store, too slow for every
 * overview.  So the results are kept per (service, range in hours) in a
 * few slots.  A request answers from its slot; every STAMP_CHECK_US it
 * also reads the store's data stamp (index lookups only), and when the
 * stamp moved a background thread recomputes the slot on a store handle
 * of its own while requests go on reading the previous result (marked
 * "stale").  A slot that has never been computed is computed by the
 * request that needs it; concurrent requests for it wait for that one.
 * An admin's change (a mark, a rename) empties the cache, so the next
 * request sees it.  One lock guards the slots and the documents in them
 * (jansson values must not be shared between threads: a request gets a
 * deep copy made under the lock); it is never held across a query.  At
 * most one background thread runs; close joins it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/dash_int.h"
#include "dash/findings.h"
#include "store/read.h"
#include "store/read_verdicts.h"

#define FC_SLOTS       8
#define STAMP_CHECK_US (5LL * 1000000)
#define HOUR_US        3600000000LL

typedef struct fslot {
    int64_t service_id, h0, h1; /* h1 = -1: open (up to now) */
    json_t *doc;                /* {"findings", "tests"}; NULL until computed */
    uint64_t stamp;
    int64_t computed_us, checked_us; /* real time / monotonic */
    int busy;
    uint64_t used;
} fslot;

struct findings_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fslot s[FC_SLOTS];
    uint64_t clock;
    pthread_t th;
    int th_started, th_running;
    evd_dash *d;
    fslot job; /* the key the thread computes */
};

struct findings_cache *findings_cache_new(evd_dash *d)
{
    struct findings_cache *fc = calloc(1, sizeof *fc);
    if (!fc)
        return NULL;
    pthread_mutex_init(&fc->mu, NULL);
    pthread_cond_init(&fc->cv, NULL);
    fc->d = d;
    return fc;
}

void findings_cache_free(struct findings_cache *fc)
{
    if (!fc)
        return;
    if (fc->th_started)
        pthread_join(fc->th, NULL);
    for (int i = 0; i < FC_SLOTS; i++)
        json_decref(fc->s[i].doc);
    pthread_cond_destroy(&fc->cv);
    pthread_mutex_destroy(&fc->mu);
    free(fc);
}

void findings_cache_clear(struct findings_cache *fc)
{
    pthread_mutex_lock(&fc->mu);
    for (int i = 0; i < FC_SLOTS; i++)
        if (!fc->s[i].busy) {
            json_decref(fc->s[i].doc);
            fc->s[i] = (fslot){0};
        } else
            fc->s[i].checked_us = 0; /* re-read the stamp when it is done */
    pthread_mutex_unlock(&fc->mu);
}

static void opts_of(const evd_dash *d, const fslot *k, findings_opts *o)
{
    *o = (findings_opts){.service_id = k->service_id,
                         .from_us = k->h0 * HOUR_US,
                         .to_us = k->h1 < 0 ? clock_real_us() + 1 : k->h1 * HOUR_US,
                         .min_requests = d->findings_min_requests,
                         .min_ratio = d->findings_min_ratio,
                         .prefix = d->prefix};
}

static fslot *slot_find_unsafe(struct findings_cache *fc, const fslot *k)
{
    for (int i = 0; i < FC_SLOTS; i++) {
        fslot *s = &fc->s[i];
        if ((s->doc || s->busy) && s->service_id == k->service_id && s->h0 == k->h0 &&
            s->h1 == k->h1)
            return s;
    }
    return NULL;
}

/* A free slot, or the least recently used idle one. */
static fslot *slot_new_unsafe(struct findings_cache *fc, const fslot *k)
{
    fslot *best = NULL;
    for (int i = 0; i < FC_SLOTS; i++) {
        fslot *s = &fc->s[i];
        if (s->busy)
            continue;
        if (!s->doc) {
            best = s;
            break;
        }
        if (!best || s->used < best->used)
            best = s;
    }
    if (!best)
        return NULL;
    json_decref(best->doc);
    *best = (fslot){.service_id = k->service_id, .h0 = k->h0, .h1 = k->h1};
    return best;
}

static void *refresh_main(void *arg)
{
    struct findings_cache *fc = arg;
    fslot k = fc->job;
    store *st = NULL;
    json_t *doc = NULL;
    uint64_t stamp = 0;
    findings_opts o;
    opts_of(fc->d, &k, &o);
    if (!store_open(fc->d->db_url, STORE_NOMIGRATE, &st) && !store_verdict_stamp(st, &stamp))
        findings_compute(st, fc->d->aggcache, &o, &doc);
    store_close(st);
    pthread_mutex_lock(&fc->mu);
    fslot *s = slot_find_unsafe(fc, &k);
    if (s && doc) {
        json_decref(s->doc);
        s->doc = doc;
        s->stamp = stamp;
        s->computed_us = clock_real_us();
        doc = NULL;
    }
    fc->th_running = 0;
    pthread_mutex_unlock(&fc->mu);
    json_decref(doc);
    return NULL;
}

/* Start the background recompute of slot k, unless one runs.  Under mu. */
static void refresh_start_unsafe(struct findings_cache *fc, const fslot *k)
{
    if (fc->th_running)
        return;
    if (fc->th_started) {
        pthread_join(fc->th, NULL); /* finished: th_running is 0 */
        fc->th_started = 0;
    }
    fc->job = *k;
    if (!pthread_create(&fc->th, NULL, refresh_main, fc))
        fc->th_started = fc->th_running = 1;
}

int findings_get(dctx *c, int64_t service_id, const drange *r, json_t **doc, int *stale,
                 int64_t *computed_us)
{
    struct findings_cache *fc = c->d->findings;
    fslot k = {.service_id = service_id, .h0 = 0, .h1 = -1};
    if (r) {
        k.h0 = r->from_us / HOUR_US - (r->from_us % HOUR_US < 0);
        k.h1 = r->open_to ? -1 : (r->to_us + HOUR_US - 1) / HOUR_US;
    }
    *doc = NULL;
    *stale = 0;
    int64_t now = clock_mono_ns() / 1000;
    uint64_t stamp = 0;
    pthread_mutex_lock(&fc->mu);
    fslot *s = slot_find_unsafe(fc, &k);
    while (s && s->busy && !s->doc) {
        pthread_cond_wait(&fc->cv, &fc->mu);
        s = slot_find_unsafe(fc, &k);
    }
    int check = s && s->doc && now - s->checked_us >= STAMP_CHECK_US;
    if (check)
        s->checked_us = now;
    pthread_mutex_unlock(&fc->mu);
    if (check && !store_verdict_stamp(c->st, &stamp)) {
        pthread_mutex_lock(&fc->mu);
        if ((s = slot_find_unsafe(fc, &k)) && s->doc && s->stamp != stamp)
            refresh_start_unsafe(fc, s);
        pthread_mutex_unlock(&fc->mu);
    }
    pthread_mutex_lock(&fc->mu);
    s = slot_find_unsafe(fc, &k);
    if (s && s->doc) {
        /* jansson values are not shared between threads: a copy, made
         * under the lock that guards the cached one */
        *doc = json_deep_copy(s->doc);
        *stale = fc->th_running && fc->job.service_id == k.service_id && fc->job.h0 == k.h0 &&
                 fc->job.h1 == k.h1;
        *computed_us = s->computed_us;
        s->used = ++fc->clock;
        pthread_mutex_unlock(&fc->mu);
        return *doc ? 0 : EVD_ENOMEM;
    }
    /* compute it here; others asking for it wait */
    s = slot_new_unsafe(fc, &k);
    if (s)
        s->busy = 1;
    pthread_mutex_unlock(&fc->mu);
    findings_opts o;
    opts_of(c->d, &k, &o);
    json_t *res = NULL;
    int rc = store_verdict_stamp(c->st, &stamp);
    if (!rc)
        rc = findings_compute(c->st, c->d->aggcache, &o, &res);
    pthread_mutex_lock(&fc->mu);
    if (s) {
        s->busy = 0;
        if (res) {
            s->doc = json_deep_copy(res);
            s->stamp = stamp;
            s->computed_us = clock_real_us();
            s->checked_us = now;
            s->used = ++fc->clock;
        }
        pthread_cond_broadcast(&fc->cv);
    }
    pthread_mutex_unlock(&fc->mu);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *doc = res;
    *computed_us = clock_real_us();
    return 0;
}

/* ---- GET /api/findings ----------------------------------------------------------------- */

int api_findings(dctx *c)
{
    drange r;
    int64_t ep;
    if (dash_range(c, 0, &r) || dash_param_int(c, "endpoint", 0, INT64_MAX, 0, &ep))
        return 0;
    const char *kind = dash_param(c, "kind");
    json_t *doc;
    int stale;
    int64_t at;
    int rc = findings_get(c, c->filter.service_id, &r, &doc, &stale, &at);
    if (rc)
        return rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory")
                                : dash_store_error(c, rc, "computing findings");
    json_t *items = json_array();
    json_t *all = json_object_get(doc, "findings");
    size_t i;
    json_t *f;
    json_array_foreach(all, i, f)
    {
        if (ep && json_integer_value(json_object_get(f, "endpoint_id")) != ep)
            continue;
        if (kind && *kind && strcmp(json_string_value(json_object_get(f, "kind")), kind))
            continue;
        json_array_append(items, f);
    }
    json_t *out =
        json_pack("{s:o,s:O,s:o,s:b}", "findings", items, "tests", json_object_get(doc, "tests"),
                  "computed", dash_time(r.tz, at), "stale", stale);
    json_decref(doc);
    return dash_json(c, 200, out);
}

/* ---- version marks ------------------------------------------------------------------- */

static json_t *body_json(dctx *c)
{
    json_error_t je;
    json_t *b =
        json_loadb(c->rq->body ? c->rq->body : "", c->rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!b || !json_is_object(b)) {
        json_decref(b);
        dash_error(c, 400, "expected a JSON object body%s%s", b ? "" : ": ", b ? "" : je.text);
        return NULL;
    }
    return b;
}

/* A true/false member, or -1 when absent; -2 (after replying) when not a
 * boolean. */
static int opt_bool(dctx *c, json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    if (!v)
        return -1;
    if (!json_is_boolean(v))
        return dash_error(c, 400, "%s: expected true or false", key), -2;
    return json_is_true(v);
}

int api_version_mark(dctx *c)
{
    json_t *b = body_json(c);
    if (!b)
        return 0;
    int imp = opt_bool(c, b, "important"), hid = imp == -2 ? -2 : opt_bool(c, b, "hidden");
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) if (strcmp(k, "important") && strcmp(k, "hidden"))
    {
        json_decref(b);
        return dash_error(c, 400, "unknown member '%.40s' (expected important, hidden)", k);
    }
    json_decref(b);
    if (imp == -2 || hid == -2)
        return 0;
    if (imp < 0 && hid < 0)
        return dash_error(c, 400, "nothing to change: give important and/or hidden");
    int rc = store_version_mark(c->st, c->id, imp, hid);
    if (rc)
        return dash_store_error(c, rc, "marking the version");
    findings_cache_clear(c->d->findings);
    store_vmark_row m = {0};
    version_mark_get(c, c->id, &m);
    return dash_json(c, 200,
                     json_pack("{s:I,s:b,s:b}", "id", (json_int_t)c->id, "important", m.important,
                               "hidden", m.hidden));
}

typedef struct mark_one {
    int64_t id;
    store_vmark_row *out;
} mark_one;

static int mark_one_row(void *u, const store_vmark_row *r)
{
    mark_one *m = u;
    if (r->version_id == m->id)
        *m->out = *r;
    return 0;
}

int version_mark_get(dctx *c, int64_t id, store_vmark_row *out)
{
    mark_one m = {id, out};
    return store_version_marks(c->st, mark_one_row, &m);
}

/* ---- renames ---------------------------------------------------------------------------- */

static int rename_row(void *u, const store_rename_row *r)
{
    json_t *items = u;
    return json_array_append_new(items, json_pack("{s:I,s:s,s:I,s:s,s:I}", "from_id",
                                                  (json_int_t)r->from_id, "from", r->from_name,
                                                  "to_id", (json_int_t)r->to_id, "to", r->to_name,
                                                  "created_us", (json_int_t)r->created_us))
               ? EVD_ENOMEM
               : 0;
}

int api_renames(dctx *c)
{
    json_t *items = json_array();
    int rc = store_renames(c->st, rename_row, items);
    if (rc) {
        json_decref(items);
        return dash_store_error(c, rc, "reading renames");
    }
    return dash_json(c, 200, json_pack("{s:o}", "items", items));
}

/* After a rename: every cached rollup and finding is read again. */
static void renamed(dctx *c)
{
    aggcache_invalidate(c->d->aggcache);
    findings_cache_clear(c->d->findings);
}

int api_rename_add(dctx *c)
{
    json_t *b = body_json(c);
    if (!b)
        return 0;
    json_int_t from, to;
    json_error_t je;
    if (json_unpack_ex(b, &je, JSON_STRICT, "{s:I,s:I}", "from", &from, "to", &to)) {
        json_decref(b);
        return dash_error(c, 400, "expected {\"from\": endpoint id, \"to\": endpoint id}: %s",
                          je.text);
    }
    json_decref(b);
    int rc = store_rename_add(c->st, from, to, clock_real_us());
    if (rc == EVD_EINVAL)
        return dash_error(c, 400, "%s", store_errmsg(c->st));
    if (rc)
        return dash_store_error(c, rc, "renaming");
    renamed(c);
    return dash_json(c, 200, json_pack("{s:I,s:I}", "from_id", from, "to_id", to));
}

int api_rename_undo(dctx *c)
{
    int rc = store_rename_undo(c->st, c->id);
    if (rc)
        return dash_store_error(c, rc, "undoing the rename");
    renamed(c);
    return dash_json(c, 200, json_pack("{s:I,s:b}", "from_id", (json_int_t)c->id, "undone", 1));
}
