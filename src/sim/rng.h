/* rng.h — the simulator's random numbers: xoshiro256** seeded by splitmix64.
 * Hand-written rather than taken from GSL because it sits on the hot path
 * (inlined, no function pointer) and because its streams are fixed by the
 * published algorithm, so a seed gives the same run on every platform and
 * library version. */
#ifndef EVD_SIM_RNG_H
#define EVD_SIM_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed stream number `stream` of seed `seed`; streams are independent. */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t out = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return out;
}

/* Uniform on (0, 1): never 0, so that log() is safe. */
static inline double sim_rng_u01(sim_rng *r)
{
    return ((double)(sim_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static inline double sim_rng_exp(sim_rng *r, double mean)
{
    return -mean * log(sim_rng_u01(r));
}

/* Standard normal by the polar method (one value per call; the second one
 * is dropped to keep the state small and the stream simple). */
static inline double sim_rng_normal(sim_rng *r)
{
    double u, v, s;
    do {
        u = 2 * sim_rng_u01(r) - 1;
        v = 2 * sim_rng_u01(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    return u * sqrt(-2 * log(s) / s);
}

/* Lognormal with the given mean and coefficient of variation. */
static inline double sim_rng_lognormal(sim_rng *r, double mean, double cv)
{
    double s2 = log1p(cv * cv);
    double mu = log(mean) - s2 / 2;
    return exp(mu + sqrt(s2) * sim_rng_normal(r));
}

#endif
