/* bench_writer_pace.c — the writer's CPU per request at a web server's
 * pace, the cost that bench-ingest (as fast as possible, large batches)
 * does not show.
 *
 * PROCS processes share one SQLite store, as a server's workers do; each
 * records RATE requests per second for SECONDS (a few every millisecond),
 * so that the writer commits a small batch every FLUSH_INTERVAL_MS, taking
 * turns with the other processes at SQLite's write lock.  The CPU time of
 * every thread but the recording one (the writer; the watchdog and sampler
 * idle at level 1), from /proc/self/task/TID/schedstat in ns, is divided by
 * the rows written.  The median over RUNS runs of every process.
 *
 * Last line: writer_cpu_per_row: N us */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"

#define PROCS   2
#define RATE    3000 /* requests per second and process: ~300 a 100 ms batch */
#define SECONDS 8
#define RUNS    3

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU seconds used so far by this process's threads other than the
 * calling one. */
static double other_threads_cpu(void)
{
    DIR *d = opendir("/proc/self/task");
    double t = 0;
    if (!d)
        return 0;
    int self = (int)getpid();
    for (struct dirent *e; (e = readdir(d));) {
        int tid = atoi(e->d_name);
        if (!tid || tid == self)
            continue;
        char path[64], buf[128];
        snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f))
            t += strtod(buf, NULL) / 1e9;
        fclose(f);
    }
    closedir(d);
    return t;
}

/* One process's part: writes its us per row to fd. */
static void child(const char *url, int fd)
{
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", url);
    evd_config_set(cfg, "APP_VERSION", "bench");
    evd_agent *a;
    int ep;
    if (evd_open(cfg, &a) || evd_endpoint_register(a, "hello", "/", "GET", &ep) ||
        evd_flush(a, 10000)) {
        fprintf(stderr, "bench: %s\n", evd_errmsg(a));
        _exit(1);
    }
    evd_config_free(cfg);
    double c0 = other_threads_cpu();
    struct timespec tick = {0, 1000000}, next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int ms = 0; ms < SECONDS * 1000; ms++) {
        for (int i = 0; i < RATE / 1000; i++) {
            evd_req r = evd_req_begin(a, ep);
            evd_req_end(&r, 200, NULL, "127.0.0.1");
        }
        next.tv_nsec += tick.tv_nsec;
        if (next.tv_nsec >= 1000000000) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    if (evd_flush(a, 10000)) {
        fprintf(stderr, "bench: flush timed out\n");
        _exit(1);
    }
    double cpu = other_threads_cpu() - c0;
    evd_counters c;
    evd_get_counters(a, &c);
    if (c.dropped || c.written != (uint64_t)SECONDS * RATE) {
        fprintf(stderr, "bench: written %llu dropped %llu\n", (unsigned long long)c.written,
                (unsigned long long)c.dropped);
        _exit(1);
    }
    double us = cpu * 1e6 / (double)c.written;
    if (write(fd, &us, sizeof us) != sizeof us)
        _exit(1);
    evd_close(a);
    _exit(0);
}

int main(void)
{
    char dir[] = "/tmp/evd-pace-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    double all[RUNS * PROCS];
    int n = 0;
    for (int run = 0; run < RUNS; run++) {
        char url[256];
        snprintf(url, sizeof url, "sqlite:///%s/pace%d.db", dir, run);
        int p[2];
        if (pipe(p))
            return 1;
        for (int i = 0; i < PROCS; i++) {
            if (fork() == 0) {
                close(p[0]);
                child(url, p[1]);
            }
            usleep(300000); /* one at a time through the store's creation */
        }
        close(p[1]);
        int failed = 0;
        for (int i = 0; i < PROCS; i++) {
            int st;
            wait(&st);
            failed |= !WIFEXITED(st) || WEXITSTATUS(st);
        }
        double us;
        printf("run %d:", run + 1);
        while (read(p[0], &us, sizeof us) == sizeof us) {
            printf(" %.2f", us);
            all[n++] = us;
        }
        printf(" us of writer CPU per row\n");
        fflush(stdout);
        close(p[0]);
        if (failed)
            return 1;
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "bench: could not remove %s\n", dir);
    qsort(all, (size_t)n, sizeof all[0], cmp);
    printf("%d processes x %d req/s for %d s, one store, %d runs; 0 dropped\n", PROCS, RATE,
           SECONDS, RUNS);
    printf("writer_cpu_per_row: %.2f us\n", all[n / 2]);
    return 0;
}
