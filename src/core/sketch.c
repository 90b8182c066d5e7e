/* sketch.c — see sketch.h.  Written by hand: no C DDSketch library is
 * packaged for Debian, and the format must stay ours to keep stored
 * rollups readable.
 *
 * Encoding (all integers LEB128 varints):
 *   u8 version (1), zero, nruns,
 *   then per run of consecutive non-empty buckets:
 *     zigzag(start index), length, counts...
 */
#include <math.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"

/* log(gamma) and gamma for alpha = 0.01, as constants so that readers in
 * several threads share no lazily initialised state. */
#define LN_GAMMA 0.020000666706669435
#define GAMMA    1.02020202020202

static double gamma_ln(void)
{
    return LN_GAMMA;
}

/* Only bins[lo..hi] are kept valid; bump() clears the bins it brings into
 * that range.  Durations of one endpoint span a few dozen buckets, so an
 * empty sketch costs nothing to start and a merged one touches only the
 * memory its range needs (the dashboard merges thousands at once). */
void sketch_init(sketch *s)
{
    s->count = 0;
    s->zero = 0;
    s->lo = SKETCH_MAX_IDX + 1;
    s->hi = SKETCH_MIN_IDX - 1;
}

static int index_of(double v)
{
    double i = ceil(log(v) / gamma_ln());
    if (i < SKETCH_MIN_IDX)
        return SKETCH_MIN_IDX - 1;
    if (i > SKETCH_MAX_IDX)
        return SKETCH_MAX_IDX;
    return (int)i;
}

static void bump(sketch *s, int idx, uint64_t n)
{
    if (s->lo > s->hi) {
        s->bins[idx - SKETCH_MIN_IDX] = 0;
        s->lo = s->hi = idx;
    } else if (idx < s->lo) {
        memset(&s->bins[idx - SKETCH_MIN_IDX], 0, (size_t)(s->lo - idx) * sizeof s->bins[0]);
        s->lo = idx;
    } else if (idx > s->hi) {
        memset(&s->bins[s->hi + 1 - SKETCH_MIN_IDX], 0, (size_t)(idx - s->hi) * sizeof s->bins[0]);
        s->hi = idx;
    }
    s->bins[idx - SKETCH_MIN_IDX] += n;
}

void sketch_add_n(sketch *s, double v, uint64_t n)
{
    if (!n)
        return;
    s->count += n;
    int idx = (v > 0 && !isnan(v)) ? index_of(v) : SKETCH_MIN_IDX - 1;
    if (idx < SKETCH_MIN_IDX)
        s->zero += n;
    else
        bump(s, idx, n);
}

void sketch_add(sketch *s, double v)
{
    sketch_add_n(s, v, 1);
}

void sketch_merge(sketch *dst, const sketch *src)
{
    dst->count += src->count;
    dst->zero += src->zero;
    for (int i = src->lo; i <= src->hi; i++)
        if (src->bins[i - SKETCH_MIN_IDX])
            bump(dst, i, src->bins[i - SKETCH_MIN_IDX]);
}

double sketch_quantile(const sketch *s, double q)
{
    if (!s->count)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* rank of the value, 0-based, as in "nearest rank below" */
    uint64_t rank = (uint64_t)(q * (double)(s->count - 1));
    if (rank < s->zero)
        return 0;
    uint64_t seen = s->zero;
    for (int i = s->lo; i <= s->hi; i++) {
        seen += s->bins[i - SKETCH_MIN_IDX];
        if (seen > rank) {
            /* midpoint of (gamma^(i-1), gamma^i] in relative terms */
            return 2 * exp(gamma_ln() * i) / (1 + GAMMA);
        }
    }
    return exp(gamma_ln() * s->hi);
}

static size_t put_varint(uint8_t *buf, size_t cap, size_t at, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        if (v)
            b |= 0x80;
        if (at < cap)
            buf[at] = b;
        at++;
    } while (v);
    return at;
}

static int get_varint(const uint8_t *buf, size_t len, size_t *at, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*at >= len)
            return -1;
        uint8_t b = buf[(*at)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

size_t sketch_encode(const sketch *s, uint8_t *buf, size_t cap)
{
    size_t at = 0;
    uint64_t nruns = 0;
    for (int i = s->lo; i <= s->hi; i++)
        if (s->bins[i - SKETCH_MIN_IDX] && (i == s->lo || !s->bins[i - 1 - SKETCH_MIN_IDX]))
            nruns++;
    if (cap)
        buf[0] = 1;
    at = 1;
    at = put_varint(buf, cap, at, s->zero);
    at = put_varint(buf, cap, at, nruns);
    int i = s->lo;
    while (i <= s->hi) {
        if (!s->bins[i - SKETCH_MIN_IDX]) {
            i++;
            continue;
        }
        int j = i;
        while (j <= s->hi && s->bins[j - SKETCH_MIN_IDX])
            j++;
        at = put_varint(buf, cap, at, zigzag(i));
        at = put_varint(buf, cap, at, (uint64_t)(j - i));
        for (int k = i; k < j; k++)
            at = put_varint(buf, cap, at, s->bins[k - SKETCH_MIN_IDX]);
        i = j;
    }
    return at;
}

int sketch_merge_encoded(sketch *dst, const uint8_t *buf, size_t len)
{
    /* Decode into a scratch copy first so that a corrupt buffer leaves dst
     * untouched; validating in a first pass avoids a 15 KB copy. */
    size_t at = 1;
    uint64_t zero, nruns, start, n, c, total = 0;
    if (len < 1 || buf[0] != 1)
        return EVD_ECORRUPT;
    if (get_varint(buf, len, &at, &zero) || get_varint(buf, len, &at, &nruns))
        return EVD_ECORRUPT;
    for (int pass = 0; pass < 2; pass++) {
        at = 1;
        get_varint(buf, len, &at, &zero);
        get_varint(buf, len, &at, &nruns);
        for (uint64_t r = 0; r < nruns; r++) {
            if (get_varint(buf, len, &at, &start) || get_varint(buf, len, &at, &n))
                return EVD_ECORRUPT;
            int64_t s0 = unzigzag(start);
            if (s0 < SKETCH_MIN_IDX || s0 > SKETCH_MAX_IDX || n > SKETCH_NBUCKETS ||
                s0 + (int64_t)n - 1 > SKETCH_MAX_IDX)
                return EVD_ECORRUPT;
            for (uint64_t k = 0; k < n; k++) {
                if (get_varint(buf, len, &at, &c))
                    return EVD_ECORRUPT;
                if (pass)
                    bump(dst, (int)(s0 + (int64_t)k), c);
                else
                    total += c;
            }
        }
        if (!pass && at != len)
            return EVD_ECORRUPT;
    }
    dst->zero += zero;
    dst->count += zero + total;
    return 0;
}
