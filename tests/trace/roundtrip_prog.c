/* roundtrip_prog.c — a traced program with known work per function, for the
 * round-trip test (tests/trace/roundtrip.sh).  Built with
 * -finstrument-functions and linked with libevodash-trace.so.
 *
 * Each function spins on the clock for a fixed time:
 *   thread 2, interaction "req/b": handle_b = spin_100, spin_100
 *   then the main thread, interaction "req/a": handle_a = 20 ms own,
 *             spin_50 (50 ms), 20 ms own, spin_100 (100 ms), 20 ms own
 * The threads run one after the other so that they do not compete for the
 * two cores.  On a loaded machine a spin can overrun its deadline when the
 * thread is descheduled at the end, so the program also measures each
 * piece itself and writes the measurements to $ROUNDTRIP_EXPECT, one line
 * per interaction and depth: "KEY name ms name ms ...".  The test compares
 * the profile with those (10%), and those with the nominal times. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "evodash_trace.h"

#define NOI __attribute__((no_instrument_function))

static double m_spin50, m_spin100[3], m_a[3];
static int n_spin100;

NOI static double spin_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ms * 1000000L);
    return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

__attribute__((noinline)) static void spin_50(void)
{
    m_spin50 = spin_ms(50);
}

__attribute__((noinline)) static void spin_100(void)
{
    m_spin100[n_spin100++ % 3] = spin_ms(100);
}

__attribute__((noinline)) static void handle_a(void)
{
    m_a[0] = spin_ms(20);
    spin_50();
    m_a[1] = spin_ms(20);
    spin_100();
    m_a[2] = spin_ms(20);
}

__attribute__((noinline)) static void handle_b(void)
{
    spin_100();
    spin_100();
}

static void *thread_b(void *arg)
{
    (void)arg;
    evd_trace_root_begin("req/b");
    handle_b();
    evd_trace_root_end();
    return NULL;
}

NOI static void write_expect(const char *path)
{
    FILE *f = fopen(path, "w");
    const char *p = "roundtrip_prog";
    if (!f)
        return;
    fprintf(f, "b3 %s.spin_100 %.3f %s.spin_100 %.3f\n", p, m_spin100[0], p, m_spin100[1]);
    fprintf(f, "b1 %s.handle_b %.3f\n", p, m_spin100[0] + m_spin100[1]);
    fprintf(
        f,
        "a3 %s.handle_a %.3f %s.spin_50 %.3f %s.handle_a %.3f %s.spin_100 %.3f %s.handle_a %.3f\n",
        p, m_a[0], p, m_spin50, p, m_a[1], p, m_spin100[2], p, m_a[2]);
    fprintf(f, "a1 %s.handle_a %.3f\n", p, m_a[0] + m_spin50 + m_a[1] + m_spin100[2] + m_a[2]);
    fclose(f);
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, thread_b, NULL) != 0)
        return 1;
    pthread_join(t, NULL);
    evd_trace_root_begin("req/a");
    handle_a();
    evd_trace_root_end();
    if (getenv("ROUNDTRIP_EXPECT"))
        write_expect(getenv("ROUNDTRIP_EXPECT"));
    return 0;
}
