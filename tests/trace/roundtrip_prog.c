/* roundtrip_prog.c — a traced program with known work per function, for the
 * round-trip test (tests/trace/roundtrip.sh).  Built with
 * -finstrument-functions and linked with libevodash-trace.so.
 *
 * Each function spins on the clock for a fixed time, so its run time is
 * known whatever the load of the machine:
 *   thread 1, interaction "req/a": handle_a = 5 ms own, spin_10 (10 ms),
 *             5 ms own, spin_20 (20 ms), 5 ms own
 *   thread 2, interaction "req/b": handle_b = spin_20, spin_20 (40 ms)
 */
#include <pthread.h>
#include <time.h>

#include "evodash_trace.h"

__attribute__((no_instrument_function)) static void spin_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ms * 1000000L);
}

__attribute__((noinline)) static void spin_10(void)
{
    spin_ms(10);
}

__attribute__((noinline)) static void spin_20(void)
{
    spin_ms(20);
}

__attribute__((noinline)) static void handle_a(void)
{
    spin_ms(5);
    spin_10();
    spin_ms(5);
    spin_20();
    spin_ms(5);
}

__attribute__((noinline)) static void handle_b(void)
{
    spin_20();
    spin_20();
}

static void *thread_b(void *arg)
{
    (void)arg;
    evd_trace_root_begin("req/b");
    handle_b();
    evd_trace_root_end();
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, thread_b, NULL) != 0)
        return 1;
    evd_trace_root_begin("req/a");
    handle_a();
    evd_trace_root_end();
    pthread_join(t, NULL);
    return 0;
}
