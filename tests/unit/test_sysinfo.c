/* test_sysinfo.c — /proc readings are plausible and the percentage maths
 * is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "evodash.h"
#include "core/sysinfo.h"

static void test_cpu_read(void **state)
{
    (void)state;
    static sysinfo_cpu c;
    assert_int_equal(sysinfo_read_cpu(&c), 0);
    long conf = sysconf(_SC_NPROCESSORS_CONF), onln = sysconf(_SC_NPROCESSORS_ONLN);
    if (conf > SYSINFO_MAX_CPUS)
        conf = SYSINFO_MAX_CPUS;
    if (onln > SYSINFO_MAX_CPUS)
        onln = SYSINFO_MAX_CPUS;
    if (c.ncpu != conf && c.ncpu != onln)
        print_error("ncpu %d, conf %ld, online %ld\n", c.ncpu, conf, onln);
    assert_true(c.ncpu == conf || c.ncpu == onln);
    for (int i = 0; i < c.ncpu; i++)
        assert_true(c.busy[i] <= c.total[i]);
    assert_true(c.total[0] > 0);
    assert_int_equal(sysinfo_read_cpu(NULL), EVD_EINVAL);
}

static volatile uint64_t sink;

static void test_cpu_percent_after_burn(void **state)
{
    (void)state;
    static sysinfo_cpu a, b;
    double pct[SYSINFO_MAX_CPUS];
    assert_int_equal(sysinfo_read_cpu(&a), 0);
    /* Keep one core busy for a while: jiffies tick at 100-1000 Hz. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            sink += (uint64_t)i * 2654435761u;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 400000000L);
    assert_int_equal(sysinfo_read_cpu(&b), 0);
    int n = sysinfo_cpu_percent(&a, &b, pct, SYSINFO_MAX_CPUS);
    assert_int_equal(n, a.ncpu < b.ncpu ? a.ncpu : b.ncpu);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        assert_true(pct[i] >= 0 && pct[i] <= 100);
        sum += pct[i];
    }
    /* Our own burn is about one core's worth, wherever it ran; allow for
     * coarse ticks and a scheduler that shared us out. */
    if (sum < 30)
        print_error("sum of busy percentages %.1f\n", sum);
    assert_true(sum >= 30);
}

static void test_cpu_percent_maths(void **state)
{
    (void)state;
    static sysinfo_cpu a, b;
    double pct[4] = {-1, -1, -1, -1};
    a.ncpu = 3;
    b.ncpu = 4; /* a CPU came online in between: only the common ones */
    a.busy[0] = 100, a.total[0] = 1000, b.busy[0] = 150, b.total[0] = 1200; /* 25% */
    a.busy[1] = 0, a.total[1] = 10, b.busy[1] = 0, b.total[1] = 10;         /* no ticks */
    a.busy[2] = 500, a.total[2] = 900, b.busy[2] = 5, b.total[2] = 20;      /* reset */
    assert_int_equal(sysinfo_cpu_percent(&a, &b, pct, 4), 3);
    assert_true(pct[0] == 25.0);
    assert_true(pct[1] == 0.0);
    assert_true(pct[2] == 0.0);
    assert_true(pct[3] == -1); /* untouched */
    assert_int_equal(sysinfo_cpu_percent(&a, &b, pct, 1), 1);
    b.busy[0] = 1200; /* busy all along */
    assert_int_equal(sysinfo_cpu_percent(&a, &b, pct, 1), 1);
    assert_true(pct[0] == 100.0);
    assert_int_equal(sysinfo_cpu_percent(NULL, &b, pct, 4), 0);
    assert_int_equal(sysinfo_cpu_percent(&a, &b, pct, 0), 0);
}

/* The steal between two readings, per CPU: the sum over the CPUs in
 * clock ticks, spread over them, in us. */
static void test_steal(void **state)
{
    (void)state;
    static sysinfo_cpu a, b, now;
    long hz = sysconf(_SC_CLK_TCK);
    a.ncpu = b.ncpu = 2;
    a.steal = 10;
    b.steal = 10 + 2 * hz; /* two CPUs, one second of steal each */
    assert_int_equal(sysinfo_steal_us(&a, &b), 1000000);
    b.steal = 10;
    assert_int_equal(sysinfo_steal_us(&a, &b), 0);
    b.steal = 9; /* went back: not comparable */
    assert_int_equal(sysinfo_steal_us(&a, &b), -1);
    b.steal = 20;
    b.ncpu = 3; /* a CPU came online: neither */
    assert_int_equal(sysinfo_steal_us(&a, &b), -1);
    assert_int_equal(sysinfo_steal_us(NULL, &b), -1);
    /* a real reading against itself: nothing stolen */
    assert_int_equal(sysinfo_read_cpu(&now), 0);
    assert_int_equal(sysinfo_steal_us(&now, &now), 0);
}

static void test_mem(void **state)
{
    (void)state;
    sysinfo_mem m, m2;
    assert_int_equal(sysinfo_read_mem(&m), 0);
    assert_true(m.total_bytes > 0);
    assert_true(m.available_bytes <= m.total_bytes);
    assert_true(m.used_bytes <= m.total_bytes);
    assert_true(m.used_bytes == m.total_bytes - m.available_bytes);
    assert_true(m.process_rss > 0);
    assert_true(m.process_rss < m.total_bytes);

    /* Touching 64 MB shows up in VmRSS. */
    size_t big = 64u << 20;
    char *p = malloc(big);
    assert_non_null(p);
    memset(p, 1, big);
    assert_int_equal(sysinfo_read_mem(&m2), 0);
    sink += (uint64_t)p[big / 2];
    if (m2.process_rss < m.process_rss + (32u << 20))
        print_error("rss %llu -> %llu\n", (unsigned long long)m.process_rss,
                    (unsigned long long)m2.process_rss);
    assert_true(m2.process_rss >= m.process_rss + (32u << 20));
    free(p);
    assert_int_equal(sysinfo_read_mem(NULL), EVD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_read),
        cmocka_unit_test(test_cpu_percent_after_burn),
        cmocka_unit_test(test_cpu_percent_maths),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
