/* arrivals.c — arrival streams; see arrivals.h.
 *
 * Triangle and uniform entries place `volume` arrivals independently between
 * start and end.  Their sorted times are produced on the fly as uniform order
 * statistics (the minimum of k uniforms on [u,1] is 1 - (1-u) V^(1/k)),
 * mapped through the kind's inverse CDF, which is monotone.  The normal kind
 * has no closed-form inverse CDF, so its times are drawn up front and
 * sorted. */
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
        return (double)a->ntimes;
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
    case SIM_ARR_REPLAY:
        if (s->i >= a->ntimes)
            return 0;
        *t = a->times[s->i++] / s->scale;
        return 1;
    default:
        return 0;
    }
}

void sim_stream_free(sim_stream *s)
{
    free(s->buf);
    s->buf = NULL;
}
