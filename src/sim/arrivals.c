/* arrivals.c — arrival streams; see arrivals.h.
 *
 * Triangle and uniform entries place `volume` arrivals independently between
 * start and end.  Their sorted times are produced on the fly as uniform order
 * statistics (the minimum of k uniforms on [u,1] is 1 - (1-u) V^(1/k)),
 * mapped through the kind's inverse CDF, which is monotone.  The normal kind
 * has no closed-form inverse CDF, so its times are drawn up front and
 * sorted.
 *
 * A replay (recorded request times) is scaled by replication, not by
 * compressing time.  At factor k each recorded request stands for floor(k)
 * arrivals, plus one more with probability frac(k), spread evenly over the
 * gap to the next recorded request (the last request uses the gap before
 * it).  The trace keeps its length and its shape, daily peaks and bursts
 * down to one gap, and its arrival rate is k times the recorded one at
 * every moment.  Dividing the times by k would raise the rate too, but for
 * a span k times shorter: the same finite set of requests arrives as one
 * burst, whose total work bounds every response time, so a capacity search
 * can meet the SLO at any factor while the arrivals per second of the
 * recorded span never change.  Fitting an arrival process (a Poisson rate
 * per minute, say) and scaling it was the other way; it smooths away the
 * recorded burstiness inside each bin, which is what replaying is for.
 * One uniform draw per recorded request, whatever k, keeps trials at
 * different factors on common random numbers: a larger k only adds
 * arrivals.  (`--speedup` still compresses time, on purpose.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/arrivals.h"

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
    case SIM_ARR_REPLAY: {
        while (s->left <= 0) {
            if (s->i >= a->ntimes)
                return 0;
            s->cur = s->i++;
            double whole = floor(s->scale);
            s->copies = (long long)whole + (sim_rng_u01(&s->rng) < s->scale - whole);
            s->left = s->copies;
        }
        size_t j = s->cur, n = a->ntimes;
        double gap = j + 1 < n ? a->times[j + 1] - a->times[j]
                     : j > 0   ? a->times[j] - a->times[j - 1]
                               : 0;
        long long c = s->copies - s->left--;
        *t = a->times[j] + gap * (double)c / (double)s->copies;
        return 1;
    }
    default:
        return 0;
    }
}

void sim_stream_free(sim_stream *s)
{
    free(s->buf);
    s->buf = NULL;
}
