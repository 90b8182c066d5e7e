/* bench_trace.c — overhead of libevodash-trace.so per traced C call.
 *
 * The file is compiled with -finstrument-functions and linked with the
 * tracer.  leaf_traced() is instrumented; leaf_plain() is the same code
 * with no_instrument_function, so both loops run in the same process and
 * the same run: overhead = (traced loop - plain loop) / calls, median of
 * REPS interleaved repetitions.  Every other function here is excluded
 * from instrumentation.  The call log goes to /dev/null in the timed
 * repetitions (writing it happens in evd_trace_stop(), after the loop); a
 * last run writes a real file and checks that every call is in it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash_trace.h"

#define NOI   __attribute__((no_instrument_function))
#define CALLS 2000000L
#define REPS  7

static volatile int g_sink;

__attribute__((noinline)) int leaf_traced(int x);
__attribute__((noinline)) int leaf_traced(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

__attribute__((noinline)) NOI static int leaf_plain(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

NOI static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOI static double loop(int traced, long n)
{
    int s = 0;
    double t0 = now_s();
    if (traced)
        for (long i = 0; i < n; i++)
            s += leaf_traced((int)i);
    else
        for (long i = 0; i < n; i++)
            s += leaf_plain((int)i);
    double t = now_s() - t0;
    g_sink = s;
    return t;
}

NOI static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

NOI static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dcmp);
    return v[n / 2];
}

NOI static void *thread_loop(void *arg)
{
    *(double *)arg = loop(1, CALLS);
    return NULL;
}

int main(void)
{
    double plain[REPS], traced[REPS], off[REPS], two[REPS];
    loop(0, CALLS); /* warm up */
    for (int r = 0; r < REPS; r++) {
        plain[r] = loop(0, CALLS);
        off[r] = loop(1, CALLS); /* instrumented, tracing off */
        if (evd_trace_start("/dev/null") != 0) {
            fprintf(stderr, "bench_trace: %s\n", evd_trace_errmsg());
            return 1;
        }
        traced[r] = loop(1, CALLS);
        evd_trace_stop();
        /* two threads tracing at once: no shared lock on the call path */
        pthread_t t[2];
        double tt[2];
        evd_trace_start("/dev/null");
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], NULL, thread_loop, &tt[k]);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        evd_trace_stop();
        two[r] = (tt[0] + tt[1]) / 2;
    }
    double p = median(plain, REPS), tr = median(traced, REPS), o = median(off, REPS);
    double t2 = median(two, REPS);

    /* Check that the traced calls really are in a call log. */
    char path[] = "/tmp/evd-bench-trace-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    evd_trace_start(path);
    loop(1, 100000);
    evd_trace_stop();
    FILE *f = fopen(path, "r");
    char line[512];
    long starts = 0;
    while (f && fgets(line, sizeof line, f))
        starts += !strncmp(line, "start bench_trace.leaf_traced ", 30);
    if (f)
        fclose(f);
    unlink(path);
    if (starts != 100000 || evd_trace_dropped()) {
        fprintf(stderr, "bench_trace: expected 100000 traced calls in the log, found %ld\n",
                starts);
        return 1;
    }
    printf("calls per repetition: %ld, repetitions: %d (medians)\n", CALLS, REPS);
    printf("plain call:                      %.2f ns\n", p / CALLS * 1e9);
    printf("instrumented, tracing off:       %.2f ns (+%.2f ns)\n", o / CALLS * 1e9,
           (o - p) / CALLS * 1e9);
    printf("traced, 1 thread:                %.2f ns\n", tr / CALLS * 1e9);
    printf("traced, 2 threads at once:       %.2f ns per call per thread (+%.2f ns)\n",
           t2 / CALLS * 1e9, (t2 - p) / CALLS * 1e9);
    printf("trace_ns_per_call: %.1f ns\n", (tr - p) / CALLS * 1e9);
    return 0;
}
