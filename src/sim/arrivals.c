/* arrivals.c — arrival streams; see arrivals.h.
 *
 * Triangle and uniform entries place `volume` arrivals independently between
 * start and end.  Their sorted times are produced on the fly as uniform order
 * statistics (the minimum of k uniforms on [u,1] is 1 - (1-u) V^(1/k)),
 * mapped through the kind's inverse CDF, which is monotone.  The normal kind
 * has no closed-form inverse CDF, so its times are drawn up front and
 * sorted.
 *
 * A replay (recorded request times) is scaled by superposing shifted
 * copies of the recording, not by compressing time.  At factor k there are
 * ceil(k) copies: copy 0 is the recording itself, copy c >= 1 is the
 * recording shifted by s_c = frac(c * golden ratio + u) * min(W, SHIFT_MAX_S),
 * with u in [0, 1) from the seed alone (the same for every stream, so that
 * the endpoints' copies move together; runs with other seeds overlap the
 * copies elsewhere), wrapped around the recorded span W (plus one mean
 * gap, so that a wrapped request never lands on another), and the last
 * copy keeps each request with probability frac(k) when k is not whole
 * (k < 1 thins the recording itself).  The trace keeps its length and its
 * shape above the scale of the shifts (daily peaks), and its arrival rate
 * is k times the recorded one at every moment.
 *
 * Why copies and not the k arrivals of one request spread evenly over the
 * gap to the next: spreading makes the arrivals more regular than the
 * recorded process (a Poisson recording at k = 2 would have inter-arrival
 * times with a coefficient of variation of about 0.7 instead of 1), which
 * predicts too little queueing, and more so the higher k is.  A shifted
 * copy is locally independent of the others once its shift is much longer
 * than a gap, so the superposition of Poisson copies is Poisson at k times
 * the rate, and a bursty recording stays as bursty.  Dividing the times by
 * k would raise the rate too, but for a span k times shorter: the same
 * finite set of requests arrives as one burst, whose total work bounds
 * every response time, so a capacity search could meet the SLO at any
 * factor.  (`--speedup` still compresses time, on purpose.)
 *
 * Common random numbers: which requests the partial copy keeps is a hash
 * of (seed, stream, copy, request), not a draw from a sequence, so a larger
 * k only adds arrivals and trials at different factors differ only by
 * them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/arrivals.h"

/* Copies are shifted by at most this much: enough to decorrelate them at
 * the scale of seconds, little enough to keep a day's shape. */
#define SHIFT_MAX_S 600.0

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static long long volume_of(const sim_arr *a, double scale)
{
    return llround(a->volume * scale);
}

double sim_stream_expected(const sim_arr *a, double scale)
{
    switch (a->kind) {
    case SIM_ARR_POISSON:
        return a->rate * scale * (a->end - a->start);
    case SIM_ARR_CONSTANT:
        return ceil((a->end - a->start) * scale / a->interval);
    case SIM_ARR_REPLAY:
        return (double)a->ntimes * scale;
    default:
        return (double)volume_of(a, scale);
    }
}

/* ---- replay: a heap of shifted copies ---------------------------------- */

static int copy_before(const sim_rcopy *x, const sim_rcopy *y)
{
    return x->t < y->t || (x->t == y->t && x->c < y->c);
}

static void heap_down(sim_rcopy *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && copy_before(&h[l], &h[m]))
            m = l;
        if (r < n && copy_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        sim_rcopy tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

/* The time of recorded request i in copy c. */
static double copy_time(const sim_stream *s, const sim_rcopy *c, size_t i)
{
    const sim_arr *a = s->a;
    double t = a->times[i] + c->shift;
    return t >= a->times[0] + s->wrap ? t - s->wrap : t;
}

/* Does the partial copy keep request i?  A hash, so that the answer does
 * not depend on how many arrivals came before (common random numbers). */
static int copy_keeps(const sim_stream *s, const sim_rcopy *c, size_t i)
{
    if (c->c != s->partial || s->keep >= 1)
        return 1;
    uint64_t x = s->thin_seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL);
    double u = (double)(sim_splitmix64(&x) >> 11) * 0x1.0p-53;
    return u < s->keep;
}

static int replay_init(sim_stream *s, const sim_arr *a, uint64_t seed, int idx, double scale)
{
    size_t n = a->ntimes;
    if (n == 0 || !(scale > 0))
        return 0;
    double whole = floor(scale);
    size_t ncp = (size_t)ceil(scale);
    if (ncp > (1u << 20))
        ncp = 1u << 20; /* the run's own arrival cap stops long before */
    if (!(s->cp = calloc(ncp, sizeof *s->cp)))
        return EVD_ENOMEM;
    double span = a->times[n - 1] - a->times[0];
    s->wrap = n > 1 && span > 0 ? span * (double)n / (double)(n - 1) : 1.0;
    s->partial = (uint32_t)(ncp - 1);
    s->keep = scale - whole > 0 ? scale - whole : 1;
    uint64_t x = seed ^ ((uint64_t)(idx + 1) * 0xd1b54a32d192ed03ULL);
    s->thin_seed = sim_splitmix64(&x);
    double reach = s->wrap < SHIFT_MAX_S ? s->wrap : SHIFT_MAX_S;
    /* where the shifts start: the seed's, the same for every stream, so
     * that the endpoints' copies move together */
    uint64_t y = seed * 0x9e3779b97f4a7c15ULL;
    double phase = (double)(sim_splitmix64(&y) >> 11) * 0x1.0p-53;
    for (size_t c = 0; c < ncp; c++) {
        sim_rcopy *cp = &s->cp[c];
        double g = c ? (double)c * 0.6180339887498949 + phase : 0;
        cp->c = (uint32_t)c;
        cp->shift = (g - floor(g)) * reach;
        /* the requests the shift pushes past the span come first, wrapped */
        double cut = a->times[0] + s->wrap - cp->shift;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (a->times[mid] < cut)
                lo = mid + 1;
            else
                hi = mid;
        }
        cp->i = lo == n ? 0 : lo;
        cp->left = n;
        cp->t = copy_time(s, cp, cp->i);
    }
    s->ncp = ncp;
    for (size_t i = ncp / 2; i-- > 0;)
        heap_down(s->cp, ncp, i);
    return 0;
}

static int replay_next(sim_stream *s, double *t)
{
    while (s->ncp) {
        sim_rcopy *top = &s->cp[0];
        size_t i = top->i;
        double at = top->t;
        int keep = copy_keeps(s, top, i);
        if (--top->left == 0) {
            s->cp[0] = s->cp[--s->ncp];
        } else {
            top->i = (i + 1) % s->a->ntimes;
            top->t = copy_time(s, top, top->i);
        }
        heap_down(s->cp, s->ncp, 0);
        if (keep) {
            *t = at;
            return 1;
        }
    }
    return 0;
}

int sim_stream_init(sim_stream *s, const sim_arr *a, uint64_t seed, int idx, double scale)
{
    memset(s, 0, sizeof *s);
    s->a = a;
    s->scale = scale;
    sim_rng_seed(&s->rng, seed, 1000 + (uint64_t)idx);
    s->t = a->start;
    switch (a->kind) {
    case SIM_ARR_TRIANGLE:
    case SIM_ARR_UNIFORM:
        s->left = volume_of(a, scale);
        break;
    case SIM_ARR_NORMAL: {
        long long n = volume_of(a, scale);
        if (n <= 0)
            break;
        if (!(s->buf = malloc((size_t)n * sizeof *s->buf)))
            return EVD_ENOMEM;
        double lo = a->start, hi = a->end >= 0 ? a->end : INFINITY;
        for (long long k = 0; k < n;) {
            double x = a->mean + a->sd * sim_rng_normal(&s->rng);
            if (x >= lo && x <= hi)
                s->buf[k++] = x;
            else if (a->mean + 8 * a->sd < lo || a->mean - 8 * a->sd > hi)
                s->buf[k++] = x < lo ? lo : hi; /* window far in a tail: pile up at its edge */
        }
        qsort(s->buf, (size_t)n, sizeof *s->buf, cmp_double);
        s->n = (size_t)n;
        break;
    }
    case SIM_ARR_REPLAY:
        return replay_init(s, a, seed, idx, scale);
    default:
        break;
    }
    return 0;
}

int sim_stream_next(sim_stream *s, double *t)
{
    const sim_arr *a = s->a;
    switch (a->kind) {
    case SIM_ARR_TRIANGLE:
    case SIM_ARR_UNIFORM: {
        if (s->left <= 0)
            return 0;
        s->u = 1 - (1 - s->u) * pow(sim_rng_u01(&s->rng), 1.0 / (double)s->left);
        s->left--;
        double w = a->end - a->start, u = s->u;
        if (a->kind == SIM_ARR_UNIFORM) {
            *t = a->start + u * w;
        } else {
            double c = a->highpoint - a->start, fc = w > 0 ? c / w : 0;
            *t = u < fc ? a->start + sqrt(u * w * c) : a->end - sqrt((1 - u) * w * (w - c));
        }
        return 1;
    }
    case SIM_ARR_NORMAL:
        if (s->i >= s->n)
            return 0;
        *t = s->buf[s->i++];
        return 1;
    case SIM_ARR_POISSON:
        s->t += sim_rng_exp(&s->rng, 1.0 / (a->rate * s->scale));
        if (s->t > a->end)
            return 0;
        *t = s->t;
        return 1;
    case SIM_ARR_CONSTANT: {
        double x = a->start + (double)s->i * a->interval / s->scale;
        if (x >= a->end && !(a->end == a->start && s->i == 0))
            return 0;
        s->i++;
        *t = x;
        return 1;
    }
    case SIM_ARR_REPLAY:
        return replay_next(s, t);
    default:
        return 0;
    }
}

void sim_stream_free(sim_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    free(s->cp);
    s->cp = NULL;
}
