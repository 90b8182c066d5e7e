/* test_sketch.c — quantiles within 1% relative error of the exact ones on
 * skewed data, exact merging, encoding round trips, corrupt input, and the
 * SQL functions over encoded sketches. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/store_int.h"

#define N 200000

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Lognormal with a heavy tail, like request durations in microseconds. */
static double skewed(unsigned *seed)
{
    double u1 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
    double u2 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
    double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    double v = exp(7 + 1.5 * z);
    if (rand_r(seed) % 100 == 0)
        v *= 50; /* 1% outliers */
    return v;
}

static double exact_q(const double *sorted, size_t n, double q)
{
    return sorted[(size_t)(q * (double)(n - 1))];
}

static void check_quantiles(const sketch *s, const double *sorted, size_t n)
{
    const double qs[] = {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = exact_q(sorted, n, qs[i]);
        double got = sketch_quantile(s, qs[i]);
        double rel = fabs(got - want) / want;
        if (rel > SKETCH_ALPHA + 1e-9)
            fail_msg("q=%g: sketch %g exact %g rel err %g", qs[i], got, want, rel);
    }
}

static void test_quantile_error_bound(void **state)
{
    (void)state;
    double *v = malloc(N * sizeof *v);
    sketch *s = malloc(sizeof *s);
    unsigned seed = 42;
    sketch_init(s);
    for (size_t i = 0; i < N; i++) {
        v[i] = skewed(&seed);
        sketch_add(s, v[i]);
    }
    qsort(v, N, sizeof *v, cmp);
    assert_int_equal(s->count, N);
    check_quantiles(s, v, N);
    free(v);
    free(s);
}

static void test_merge_equals_whole(void **state)
{
    (void)state;
    /* three "hours" with different distributions, merged, against the
     * exact quantiles of all values together */
    double *v = malloc(3 * N / 2 * sizeof *v);
    sketch *part = malloc(3 * sizeof *part), *all = malloc(sizeof *all);
    unsigned seed = 7;
    size_t n = 0;
    sketch_init(all);
    for (int p = 0; p < 3; p++) {
        sketch_init(&part[p]);
        for (int i = 0; i < N / 2; i++) {
            double x = skewed(&seed) * (p + 1) * (p + 1);
            v[n++] = x;
            sketch_add(&part[p], x);
        }
        sketch_merge(all, &part[p]);
    }
    qsort(v, n, sizeof *v, cmp);
    check_quantiles(all, v, n);
    free(v);
    free(part);
    free(all);
}

static void test_encode_roundtrip_and_corrupt(void **state)
{
    (void)state;
    sketch *s = malloc(sizeof *s), *t = malloc(sizeof *t);
    uint8_t *buf = malloc(SKETCH_ENCODED_MAX);
    unsigned seed = 3;
    sketch_init(s);
    for (int i = 0; i < 5000; i++)
        sketch_add(s, skewed(&seed));
    sketch_add(s, 0); /* zero bucket */
    size_t len = sketch_encode(s, buf, SKETCH_ENCODED_MAX);
    assert_true(len > 3 && len < SKETCH_ENCODED_MAX);
    sketch_init(t);
    assert_int_equal(sketch_merge_encoded(t, buf, len), 0);
    assert_int_equal(t->count, s->count);
    assert_int_equal(t->zero, 1);
    assert_int_equal(t->lo, s->lo);
    assert_int_equal(t->hi, s->hi);
    assert_memory_equal(&t->bins[t->lo - SKETCH_MIN_IDX], &s->bins[s->lo - SKETCH_MIN_IDX],
                        (size_t)(s->hi - s->lo + 1) * sizeof s->bins[0]);
    /* truncated and garbage buffers are rejected and leave t unchanged */
    uint64_t before = t->count;
    assert_int_equal(sketch_merge_encoded(t, buf, len - 1), EVD_ECORRUPT);
    uint8_t junk[32];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(sketch_merge_encoded(t, junk, sizeof junk), EVD_ECORRUPT);
    junk[0] = 1;
    assert_int_equal(sketch_merge_encoded(t, junk, sizeof junk), EVD_ECORRUPT);
    assert_int_equal(sketch_merge_encoded(t, buf, 0), EVD_ECORRUPT);
    assert_int_equal(t->count, before);
    free(s);
    free(t);
    free(buf);
}

/* Only a sketch's [lo, hi] buckets are kept valid: whatever memory it
 * starts in, and in whatever order the range grows (down, up, one bucket,
 * far apart), it must count the same as a sketch that saw the values
 * sorted. */
static void test_range_grows_over_garbage(void **state)
{
    (void)state;
    sketch *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    uint8_t *ea = malloc(SKETCH_ENCODED_MAX), *eb = malloc(SKETCH_ENCODED_MAX);
    static const double vals[] = {500, 400, 2e6, 3, 500, 1e9, 0.5, 7e4, 450, 3};
    double sorted[10];
    memcpy(sorted, vals, sizeof vals);
    qsort(sorted, 10, sizeof sorted[0], cmp);
    memset(a, 0xab, sizeof *a);
    memset(b, 0xcd, sizeof *b);
    sketch_init(a);
    sketch_init(b);
    for (int i = 0; i < 10; i++) {
        sketch_add(a, vals[i]);
        sketch_add(b, sorted[i]);
    }
    for (double q = 0; q <= 1.0; q += 0.05)
        assert_true(sketch_quantile(a, q) == sketch_quantile(b, q));
    size_t la = sketch_encode(a, ea, SKETCH_ENCODED_MAX),
           lb = sketch_encode(b, eb, SKETCH_ENCODED_MAX);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    /* merging into garbage-backed memory too */
    memset(b, 0x5a, sizeof *b);
    sketch_init(b);
    assert_int_equal(sketch_merge_encoded(b, ea, la), 0);
    sketch_merge(b, a);
    assert_int_equal(b->count, 20);
    assert_true(sketch_quantile(b, 0.5) == sketch_quantile(a, 0.5));
    free(a);
    free(b);
    free(ea);
    free(eb);
}

static void test_empty_and_extremes(void **state)
{
    (void)state;
    sketch *s = malloc(sizeof *s);
    sketch_init(s);
    assert_true(sketch_quantile(s, 0.5) == 0);
    sketch_add(s, 1e20); /* clamps to the top bucket rather than overflowing */
    sketch_add(s, -5);   /* nonsense goes to the zero bucket */
    assert_int_equal(s->count, 2);
    assert_true(sketch_quantile(s, 1.0) > 1e12);
    free(s);
}

static void test_sql_functions(void **state)
{
    (void)state;
    sqlite3 *db;
    sqlite3_stmt *q;
    sketch *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    uint8_t *buf = malloc(SKETCH_ENCODED_MAX);
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(store_register_functions(db), 0);
    sqlite3_exec(db, "CREATE TABLE t(s BLOB)", NULL, NULL, NULL);
    sketch_init(a);
    sketch_init(b);
    for (int i = 1; i <= 100; i++)
        sketch_add(a, i); /* 1..100 */
    for (int i = 101; i <= 200; i++)
        sketch_add(b, i); /* 101..200 */
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?)", -1, &q, NULL);
    size_t len = sketch_encode(a, buf, SKETCH_ENCODED_MAX);
    sqlite3_bind_blob(q, 1, buf, (int)len, SQLITE_TRANSIENT);
    sqlite3_step(q);
    sqlite3_reset(q);
    len = sketch_encode(b, buf, SKETCH_ENCODED_MAX);
    sqlite3_bind_blob(q, 1, buf, (int)len, SQLITE_TRANSIENT);
    sqlite3_step(q);
    sqlite3_finalize(q);
    sqlite3_prepare_v2(db,
                       "SELECT sketch_count(sketch_merge(s)), "
                       "sketch_quantile(sketch_merge(s), 0.5) FROM t",
                       -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 200);
    double med = sqlite3_column_double(q, 1); /* exact: value at rank 99 = 100 */
    assert_true(fabs(med - 100) / 100 <= SKETCH_ALPHA);
    sqlite3_finalize(q);
    /* a corrupt blob is an SQL error, not a silent number */
    sqlite3_exec(db, "INSERT INTO t VALUES(x'01ffffffff')", NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "SELECT sketch_count(sketch_merge(s)) FROM t", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ERROR);
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(a);
    free(b);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile_error_bound),
        cmocka_unit_test(test_merge_equals_whole),
        cmocka_unit_test(test_encode_roundtrip_and_corrupt),
        cmocka_unit_test(test_range_grows_over_garbage),
        cmocka_unit_test(test_empty_and_extremes),
        cmocka_unit_test(test_sql_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
