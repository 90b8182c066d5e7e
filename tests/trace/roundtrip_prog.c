/* roundtrip_prog.c — a traced program with known work per function, for the
 * round-trip test (tests/trace/roundtrip.sh).  Built with
 * -finstrument-functions and linked with libevodash-trace.so.
 *
 * Each function spins on the clock for a fixed time, so its run time is
 * known whatever the load of the machine:
 *   thread 2, interaction "req/b": handle_b = spin_100, spin_100
 *   then the main thread, interaction "req/a": handle_a = 20 ms own,
 *             spin_50 (50 ms), 20 ms own, spin_100 (100 ms), 20 ms own
 * Spinning to a deadline (not for a CPU time) keeps the wall time exact
 * unless the thread is descheduled right at the deadline; the threads run
 * one after the other so that they do not compete for the two cores. */
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

__attribute__((noinline)) static void spin_50(void)
{
    spin_ms(50);
}

__attribute__((noinline)) static void spin_100(void)
{
    spin_ms(100);
}

__attribute__((noinline)) static void handle_a(void)
{
    spin_ms(20);
    spin_50();
    spin_ms(20);
    spin_100();
    spin_ms(20);
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

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, thread_b, NULL) != 0)
        return 1;
    pthread_join(t, NULL);
    evd_trace_root_begin("req/a");
    handle_a();
    evd_trace_root_end();
    return 0;
}
