/* findings_usage.c — the findings about who uses what (findings.c has the
 * design): endpoints that stopped, started or were renamed, user groups
 * far slower than the others, and the frame most outlier stacks end in. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "dash/findings_int.h"
#include "stats/stats.h"
#include "store/read.h"
#include "store/read_verdicts.h"

/* ---- dead, new and renamed endpoints ------------------------------------------------ */

/* The service's traffic in version indexes [i0, i1]. */
static int64_t svc_traffic(const fctx *x, int64_t svc, int i0, int i1)
{
    int64_t n = 0;
    for (size_t k = 0; k < x->ne; k++) {
        if (x->e[k].service_id != svc)
            continue;
        for (int i = i0; i <= i1; i++) {
            const agg_acc *a = fx_cell(x, i, &x->e[k]);
            if (a)
                n += a->count;
        }
    }
    return n;
}

static void lifecycle(fctx *x)
{
    for (size_t k = 0; k < x->ne; k++) {
        fep *e = &x->e[k];
        for (int i = 0; i < (int)x->nv; i++) {
            const agg_acc *a = fx_cell(x, i, e);
            if (!a)
                continue;
            if (e->first < 0)
                e->first = i;
            e->last = i;
            e->total += a->count;
        }
    }
    for (size_t k = 0; k < x->ne; k++) {
        fep *e = &x->e[k];
        if (e->first < 0)
            continue;
        /* the service's versions with traffic: the first and last index */
        int lo = -1, hi = -1;
        for (int i = 0; i < (int)x->nv; i++)
            if (svc_traffic(x, e->service_id, i, i) > 0) {
                if (lo < 0)
                    lo = i;
                hi = i;
            }
        double during = (double)svc_traffic(x, e->service_id, e->first, e->last);
        double share = during > 0 ? (double)e->total / during : 0;
        if (e->last < hi &&
            share * (double)svc_traffic(x, e->service_id, e->last + 1, hi) >= EXPECT_MIN)
            e->dead = 1;
        if (e->first > lo &&
            share * (double)svc_traffic(x, e->service_id, lo, e->first - 1) >= EXPECT_MIN)
            e->fresh = 1;
    }
}

static size_t ep_index(const fctx *x, int64_t id)
{
    size_t lo = 0, hi = x->ne;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->ne && x->e[lo].id == id ? lo : (size_t)-1;
}

/* Two passes over the hourly counts: first/last hour of each candidate,
 * then its window's hour-of-day profile (the last SHAPE_HOURS of a dead
 * endpoint, the first of a new one). */
static void hourly_cb(void *u, int64_t ep, int64_t hour, int64_t count)
{
    fctx *x = u;
    size_t k = ep_index(x, ep);
    if (k == (size_t)-1 || count <= 0)
        return;
    fep *e = &x->e[k];
    if (!e->dead && !e->fresh)
        return;
    if (x->pass == 0) {
        if (!e->h_n || hour < e->h_first)
            e->h_first = hour;
        if (!e->h_n || hour > e->h_last)
            e->h_last = hour;
        e->h_n = 1;
        return;
    }
    int in = e->dead ? hour > e->h_last - SHAPE_HOURS : hour < e->h_first + SHAPE_HOURS;
    if (!in)
        return;
    e->hod[((hour % 24) + 24) % 24] += (double)count;
    e->h_sum += count;
}

/* Hours the window of e spans (for a volume per hour). */
static double window_hours(const fep *e)
{
    double span = (double)(e->h_last - e->h_first + 1);
    return span < SHAPE_HOURS ? span : SHAPE_HOURS;
}

static double cv24(const double *h)
{
    double m = 0, s = 0;
    for (int i = 0; i < 24; i++)
        m += h[i] / 24;
    for (int i = 0; i < 24; i++)
        s += (h[i] - m) * (h[i] - m) / 24;
    return m > 0 ? sqrt(s) / m : 0;
}

int fx_renames_and_lifecycle(fctx *x, const agg_ask *q)
{
    char link[256], sum[640];
    int rc = 0;
    lifecycle(x);
    for (x->pass = 0; x->pass < 2 && !rc; x->pass++)
        rc = aggcache_hourly(x->ac, x->st, q, hourly_cb, x);
    /* pair each new endpoint with the best-matching dead one */
    for (size_t nk = 0; !rc && nk < x->ne; nk++) {
        fep *n = &x->e[nk];
        if (!n->fresh || !n->h_sum)
            continue;
        fep *best = NULL;
        double best_score = -1e9, best_r = 0, best_vol = 0;
        for (size_t dk = 0; dk < x->ne; dk++) {
            fep *d = &x->e[dk];
            if (!d->dead || d->renamed || !d->h_sum || d->service_id != n->service_id ||
                abs(n->first - (d->last + 1)) > 1)
                continue;
            int64_t gap = n->h_first - d->h_last;
            if (gap < -24 || gap > 72)
                continue;
            double vol =
                ((double)n->h_sum / window_hours(n)) / ((double)d->h_sum / window_hours(d));
            if (vol < 0.5 || vol > 2)
                continue;
            double r = 0, p = 1;
            int flat = cv24(n->hod) < 0.25 && cv24(d->hod) < 0.25;
            int pr = stats_pearson(d->hod, n->hod, 24, &r, &p);
            if (!flat && (pr || r < 0.6))
                continue;
            double score = (flat ? 1 : r) - fabs(log(vol));
            if (score > best_score) {
                best = d;
                best_score = score;
                best_r = flat ? 1 : r;
                best_vol = vol;
            }
        }
        if (!best)
            continue;
        best->renamed = n->renamed = 1;
        fx_link_ep(x, n, link, sizeof link);
        snprintf(sum, sizeof sum,
                 "%s looks like %s renamed: %s stopped in %s as %s started in %s, with the same "
                 "traffic (hourly pattern r = %.2f, volume ×%.2f).",
                 n->name, best->name, best->name, x->v[best->last].label, n->name,
                 x->v[n->first].label, best_r, best_vol);
        json_t *ev = json_pack("{s:f,s:f,s:I,s:I,s:s,s:s}", "shape_r", best_r, "volume_ratio",
                               best_vol, "from_requests", (json_int_t)best->total, "requests",
                               (json_int_t)n->total, "from_last_version", x->v[best->last].name,
                               "first_version", x->v[n->first].name);
        json_t *f = json_pack("{s:s,s:I,s:s,s:o}", "from_endpoint", best->name, "from_endpoint_id",
                              (json_int_t)best->id, "version", x->v[n->first].name, "evidence", ev);
        rc = fx_add(x, "rename_candidate", n, "low", best_r, f, link, sum);
    }
    for (size_t k = 0; !rc && k < x->ne; k++) {
        fep *e = &x->e[k];
        if (e->renamed || (!e->dead && !e->fresh))
            continue;
        fx_link_ep(x, e, link, sizeof link);
        if (e->dead) {
            snprintf(sum, sizeof sum,
                     "%s has had no request since %s, while the rest of its service went on.",
                     e->name, x->v[e->last].label);
            json_t *f = json_pack("{s:s,s:s,s:{s:I}}", "last_version", x->v[e->last].name,
                                  "last_version_label", x->v[e->last].label, "evidence",
                                  "requests_before", (json_int_t)e->total);
            rc = fx_add(x, "dead_endpoint", e, "medium", (double)e->total / 1e6, f, link, sum);
        } else {
            snprintf(sum, sizeof sum, "%s first appeared in %s.", e->name, x->v[e->first].label);
            json_t *f =
                json_pack("{s:s,s:s,s:{s:I}}", "version", x->v[e->first].name, "version_label",
                          x->v[e->first].label, "evidence", "requests", (json_int_t)e->total);
            rc = fx_add(x, "new_endpoint", e, "low", (double)e->total / 1e6, f, link, sum);
        }
    }
    return rc;
}

/* ---- slow user groups ---------------------------------------------------------------- */

/* The rows' group texts are read as groupings (groupings.c): each grouping's
 * groups are tested against that grouping's other groups, and Holm runs
 * over every group tested, of every grouping of the endpoint. */
typedef struct grow {
    char *group; /* the text */
    double dur;
} grow;

typedef struct gvec {
    grow *v;
    size_t n, cap;
} gvec;

static int grp_row(void *u, const store_sample_row *r)
{
    gvec *g = u;
    if (!*r->group)
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        grow *nv = realloc(g->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        g->v = nv;
        g->cap = cap;
    }
    g->v[g->n].dur = r->duration_us > 0 ? (double)r->duration_us : 1.0;
    if (!(g->v[g->n].group = strdup(r->group)))
        return EVD_ENOMEM;
    g->n++;
    return 0;
}

/* A row's value of one grouping, within its text. */
typedef struct gval {
    const char *v;
    size_t len;
    double dur;
} gval;

static int gval_cmp(const void *a, const void *b)
{
    const gval *x = a, *y = b;
    return groupings_cmp(x->v, x->len, y->v, y->len);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

typedef struct gcand {
    char grouping[64], value[64];
    size_t n;
    double med, rest_med, p;
    int64_t rest_n;
} gcand;

/* The scratch of one endpoint's test, each array of g.n. */
typedef struct gwork {
    gval *val;
    double *in, *rest;
    gcand *cand;
    size_t ncand, ntests;
} gwork;

/* Test the groups of grouping name among the rows g: candidates (far above
 * the grouping's overall median) into w->cand with their raw p-value, the
 * others counted in w->ntests at p = 1. */
static int test_grouping(const gvec *g, const char *name, gwork *w)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        gval x = {.dur = g->v[i].dur};
        /* the requests naming no group of it are not a group */
        if (groupings_value(g->v[i].group, name, &x.v, &x.len) && x.len)
            w->val[n++] = x;
    }
    if (!n)
        return 0;
    qsort(w->val, n, sizeof *w->val, gval_cmp);
    for (size_t i = 0; i < n; i++)
        w->in[i] = w->val[i].dur;
    double overall = median_of(w->in, n);
    stats_sample *sa = NULL, *sb = NULL;
    int rc = 0;
    for (size_t s = 0; s < n;) {
        size_t t = s;
        while (t < n && !gval_cmp(&w->val[t], &w->val[s]))
            t++;
        if (t - s < GROUP_MIN || t - s == n) {
            s = t;
            continue;
        }
        w->ntests++;
        for (size_t i = s; i < t; i++)
            w->in[i - s] = w->val[i].dur;
        double med = median_of(w->in, t - s);
        /* only a group far above the overall median can be far above the
         * rest's: the others are counted as tests with p = 1 */
        if (med < SLOW_RATIO * overall) {
            s = t;
            continue;
        }
        size_t nr = 0;
        for (size_t i = 0; i < n; i++)
            if (i < s || i >= t)
                w->rest[nr++] = w->val[i].dur;
        for (size_t i = s; i < t; i++)
            w->in[i - s] = w->val[i].dur;
        stats_sample_free(sa);
        stats_sample_free(sb);
        sa = sb = NULL;
        if ((rc = stats_sample_new(w->in, t - s, &sa)) || (rc = stats_sample_new(w->rest, nr, &sb)))
            break;
        stats_mwu_result m;
        int mr = stats_mwu(sa, sb, STATS_MWU_AUTO, &m);
        if (mr && mr != STATS_EDEGENERATE) {
            rc = mr;
            break;
        }
        gcand *k = &w->cand[w->ncand++];
        *k = (gcand){.n = t - s,
                     .med = med,
                     .p = m.p,
                     .rest_med = stats_sample_median(sb),
                     .rest_n = (int64_t)nr};
        snprintf(k->grouping, sizeof k->grouping, "%s", name);
        snprintf(k->value, sizeof k->value, "%.*s", (int)w->val[s].len, w->val[s].v);
        s = t;
    }
    stats_sample_free(sa);
    stats_sample_free(sb);
    return rc;
}

/* The groupings the rows name, in the order first seen (newest rows first);
 * returns how many (at most max). */
static size_t groupings_in(const gvec *g, char (*names)[64], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        grouping_part part[GROUPINGS_PARTS_MAX];
        size_t np = groupings_split(g->v[i].group, part, GROUPINGS_PARTS_MAX);
        for (size_t j = 0; j < np && n < max; j++) {
            size_t k = 0;
            while (k < n && (strlen(names[k]) != part[j].nlen ||
                             memcmp(names[k], part[j].name, part[j].nlen)))
                k++;
            if (k == n && part[j].nlen < sizeof names[0])
                snprintf(names[n++], sizeof names[0], "%.*s", (int)part[j].nlen, part[j].name);
        }
    }
    return n;
}

int fx_slow_groups(fctx *x, const fep *e)
{
    int64_t ids[MEMBERS_MAX];
    size_t nm = 0;
    gvec g = {0};
    gwork w = {0};
    double *adj = NULL;
    char names[RAWSCAN_GROUPINGS][64];
    char link[256], sum[640], ma[32], mb[32];
    int rc = store_endpoint_members(x->st, e->id, ids, MEMBERS_MAX, &nm);
    for (size_t i = 0; !rc && i < nm && g.n < GROUP_SAMPLE; i++)
        rc = store_raw_newest(x->st, ids[i], 0, x->o->from_us, x->o->to_us,
                              (int64_t)(GROUP_SAMPLE - g.n), grp_row, &g);
    if (rc || g.n < (size_t)x->o->min_requests)
        goto done;
    size_t ng = groupings_in(&g, names, RAWSCAN_GROUPINGS);
    w.val = malloc(g.n * sizeof *w.val);
    w.in = malloc(g.n * sizeof *w.in);
    w.rest = malloc(g.n * sizeof *w.rest);
    /* at most one candidate per GROUP_MIN rows of each grouping */
    w.cand = malloc((g.n / GROUP_MIN + 1) * (ng ? ng : 1) * sizeof *w.cand);
    if (!w.val || !w.in || !w.rest || !w.cand) {
        rc = EVD_ENOMEM;
        goto done;
    }
    for (size_t k = 0; !rc && k < ng; k++)
        rc = test_grouping(&g, names[k], &w);
    if (rc)
        goto done;
    x->group_tests += (int64_t)w.ntests;
    /* Holm over every group tested: the others are at p = 1 */
    if (!w.ntests || !(adj = malloc(w.ntests * sizeof *adj))) {
        rc = w.ntests ? EVD_ENOMEM : 0;
        goto done;
    }
    for (size_t c = 0; c < w.ntests; c++)
        adj[c] = c < w.ncand ? w.cand[c].p : 1;
    if ((rc = stats_holm(adj, w.ntests, adj)))
        goto done;
    for (size_t c = 0; c < w.ncand; c++) {
        const gcand *k = &w.cand[c];
        double ratio = k->rest_med > 0 ? k->med / k->rest_med : 0;
        if (adj[c] >= x->alpha || ratio < SLOW_RATIO)
            continue;
        fx_fmt_us(k->med, mb, sizeof mb);
        fx_fmt_us(k->rest_med, ma, sizeof ma);
        fx_link_ep(x, e, link, sizeof link);
        if (!strcmp(k->grouping, GROUPING_UNNAMED))
            snprintf(sum, sizeof sum,
                     "User group '%s' is %.0f× slower on %s than the other groups (median %s "
                     "against %s).",
                     k->value, ratio, e->name, mb, ma);
        else
            snprintf(sum, sizeof sum,
                     "Requests of %s '%s' are %.0f× slower on %s than those of the other %s "
                     "values (median %s against %s).",
                     k->grouping, k->value, ratio, e->name, k->grouping, mb, ma);
        json_t *f = json_pack("{s:s,s:s,s:f,s:f,s:{s:f,s:f,s:I,s:I,s:f,s:s}}", "group", k->value,
                              "grouping", k->grouping, "ratio", ratio, "p_value", adj[c],
                              "evidence", "median_us", k->med, "others_median_us", k->rest_med,
                              "requests", (json_int_t)k->n, "others_requests",
                              (json_int_t)k->rest_n, "p_raw", k->p, "method", "raw");
        if ((rc = fx_add(x, "slow_group", e, ratio >= 20 ? "high" : "medium", ratio, f, link, sum)))
            goto done;
    }
done:
    for (size_t i = 0; i < g.n; i++)
        free(g.v[i].group);
    free(g.v);
    free(w.val);
    free(w.in);
    free(w.rest);
    free(w.cand);
    free(adj);
    return rc;
}

/* ---- outlier causes ------------------------------------------------------------------ */

typedef struct fcount {
    char fn[128];
    int n;
} fcount;

typedef struct cause_ctx {
    fcount *v;
    size_t n, cap;
    int stacks;
} cause_ctx;

static int stack_cb(void *u, const char *stack)
{
    cause_ctx *c = u;
    /* frames come outermost first: the last non-empty line is innermost */
    const char *end = stack + strlen(stack);
    while (end > stack && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *line = end;
    while (line > stack && line[-1] != '\n')
        line--;
    if (line == end)
        return 0;
    size_t len = strcspn(line, "\t\n");
    if (len >= sizeof c->v[0].fn)
        len = sizeof c->v[0].fn - 1;
    c->stacks++;
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(c->v[i].fn, line, len) && !c->v[i].fn[len]) {
            c->v[i].n++;
            return 0;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        fcount *nv = realloc(c->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        c->v = nv;
        c->cap = cap;
    }
    memcpy(c->v[c->n].fn, line, len);
    c->v[c->n].fn[len] = 0;
    c->v[c->n].n = 1;
    c->n++;
    return 0;
}

static int fcount_of(const cause_ctx *c, const char *fn)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].fn, fn))
            return c->v[i].n;
    return 0;
}

/* The innermost frames of every endpoint's outlier stacks; an endpoint's
 * most frequent one is its cause when it tops CAUSE_SHARE of at least
 * CAUSE_MIN stacks AND is more frequent there than in the other endpoints'
 * stacks pooled (two-proportion z test, Holm over the endpoints tried): a
 * frame innermost everywhere (a logging call, the database driver) says
 * nothing about one endpoint.  With fewer than CAUSE_MIN stacks elsewhere
 * the share alone decides, at CAUSE_ALONE. */
int fx_outlier_causes(fctx *x)
{
    cause_ctx *cc = calloc(x->ne ? x->ne : 1, sizeof *cc);
    size_t *cand = calloc(x->ne ? x->ne : 1, sizeof *cand), *best = NULL;
    double *p = calloc(x->ne ? x->ne : 1, sizeof *p);
    double *praw = calloc(x->ne ? x->ne : 1, sizeof *praw);
    int64_t *kother = calloc(x->ne ? x->ne : 1, sizeof *kother);
    char link[256], sum[640];
    int rc = cc && cand && p && praw && kother ? 0 : EVD_ENOMEM;
    int64_t all = 0;
    for (size_t i = 0; !rc && i < x->ne; i++) {
        if (x->e[i].total > 0)
            rc = store_outlier_stacks(x->st, x->e[i].id, x->o->from_us, x->o->to_us, STACKS_MAX,
                                      stack_cb, &cc[i]);
        all += cc[i].stacks;
    }
    if (!rc && !(best = calloc(x->ne ? x->ne : 1, sizeof *best)))
        rc = EVD_ENOMEM;
    size_t nc = 0;
    for (size_t i = 0; !rc && i < x->ne; i++) {
        cause_ctx *c = &cc[i];
        if (c->stacks < CAUSE_MIN)
            continue;
        size_t b = 0;
        for (size_t k = 1; k < c->n; k++)
            if (c->v[k].n > c->v[b].n)
                b = k;
        double share = (double)c->v[b].n / c->stacks;
        if (share < CAUSE_SHARE)
            continue;
        int64_t others = all - c->stacks, k_others = 0;
        for (size_t j = 0; j < x->ne; j++)
            if (j != i)
                k_others += fcount_of(&cc[j], c->v[b].fn);
        if (others < CAUSE_MIN) {
            p[nc] = share >= CAUSE_ALONE ? 0 : 1;
        } else {
            stats_prop2 pr;
            int pc = stats_prop2_test((uint64_t)k_others, (uint64_t)others, (uint64_t)c->v[b].n,
                                      (uint64_t)c->stacks, 0.95, &pr);
            /* Yates' correction: a few dozen stacks are a small sample */
            p[nc] = pc || pr.p_b <= pr.p_a ? 1 : pr.p_chi2_yates;
        }
        best[i] = b;
        praw[nc] = p[nc];
        kother[nc] = k_others;
        cand[nc++] = i;
    }
    if (!rc && nc)
        rc = stats_holm(p, nc, p);
    for (size_t k = 0; !rc && k < nc; k++) {
        if (p[k] >= x->alpha)
            continue;
        const fep *e = &x->e[cand[k]];
        const cause_ctx *c = &cc[cand[k]];
        const fcount *f = &c->v[best[cand[k]]];
        double share = (double)f->n / c->stacks;
        fx_link_ep(x, e, link, sizeof link);
        snprintf(sum, sizeof sum,
                 "%s is the innermost frame of %.0f%% of %s's outlier stacks (%d of %d).", f->fn,
                 100 * share, e->name, f->n, c->stacks);
        json_t *fj =
            json_pack("{s:s,s:f,s:{s:i,s:i,s:f,s:I,s:I,s:f}}", "function", f->fn, "p_value", p[k],
                      "evidence", "stacks_with", f->n, "stacks", c->stacks, "share", share,
                      "other_endpoints_stacks", (json_int_t)(all - c->stacks),
                      "other_endpoints_stacks_with", (json_int_t)kother[k], "p_raw", praw[k]);
        rc = fx_add(x, "outlier_cause", e, "medium", share, fj, link, sum);
    }
    for (size_t i = 0; cc && i < x->ne; i++)
        free(cc[i].v);
    free(cc);
    free(cand);
    free(best);
    free(p);
    free(praw);
    free(kother);
    return rc;
}
