/* bench_profile.c — `evodash profile` on a 10-million-line call log.
 *
 * Generates, in a temporary folder, a 4-column call log of 10,000,000 lines
 * from 8 threads whose interactions interleave (each interaction: a root
 * and 585 nested calls, 5 levels deep), a UtilLog.csv at 10 Hz over the
 * same time and a netLog.csv with 500 connections.  Then runs
 * build/rel/evodash profile -d 3 on them REPS times as a child process and
 * reports the median wall time and the peak RSS (from wait4()).  The
 * outputs are checked for the expected number of interactions. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINES   10000000L
#define THREADS 8
#define REPS    3     /* EVD_BENCH_REPS overrides */
#define STEP_NS 10000 /* between two events of one thread */

static char obuf[1 << 20];
static size_t olen;
static FILE *out;

static void flush_out(void)
{
    fwrite(obuf, 1, olen, out);
    olen = 0;
}

static void put_u64(uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        obuf[olen++] = tmp[--n];
}

static long g_lines;

static void event(const char *kind, const char *name, uint64_t ts, unsigned tid)
{
    if (olen > sizeof obuf - 256)
        flush_out();
    size_t k = strlen(kind), n = strlen(name);
    memcpy(obuf + olen, kind, k);
    olen += k;
    obuf[olen++] = ' ';
    memcpy(obuf + olen, name, n);
    olen += n;
    obuf[olen++] = ' ';
    put_u64(ts);
    obuf[olen++] = ' ';
    put_u64(tid);
    obuf[olen++] = '\n';
    g_lines++;
}

/* Per thread: a cursor in time and a position in its interaction. */
struct gen {
    uint64_t ts;
    unsigned tid;
};

static const char *const lvl_names[5][6] = {
    {"Shop.handle", "Shop.render", "Shop.auth", "Shop.query", "Shop.audit", "Shop.audit"},
    {"Db.select", "Db.insert", "Cache.get", "Cache.put", "Db.select", "Db.select"},
    {"Pool.acquire", "Pool.release", "Codec.encode", "Codec.decode", "Pool.acquire",
     "Pool.acquire"},
    {"Str.format", "Str.concat", "Str.split", "Str.trim", "Str.upper", "Str.lower"},
    {"", "", "", "", "", ""}};
static const int fanout[4] = {5, 4, 4, 6};

static void calls(struct gen *g, int level)
{
    for (int i = 0; i < fanout[level]; i++) {
        const char *name = lvl_names[level][i];
        event("start", name, g->ts += STEP_NS, g->tid);
        if (level + 1 < 4)
            calls(g, level + 1);
        event("end", name, g->ts += STEP_NS, g->tid);
    }
}

static int generate(const char *dir, long *ninter, uint64_t *t_end, uint64_t t0)
{
    char path[512];
    snprintf(path, sizeof path, "%s/callLog", dir);
    out = fopen(path, "w");
    if (!out)
        return -1;
    struct gen g[THREADS];
    for (int k = 0; k < THREADS; k++)
        g[k] = (struct gen){.ts = t0 + (uint64_t)k * 1000, .tid = 1000u + (unsigned)k};
    static const char *const pages[4] = {"/index", "/cart", "/api/items", "/checkout"};
    *ninter = 0;
    /* Threads take turns one interaction at a time, so their lines
     * interleave in the file while each thread's time runs forward.  One
     * interaction is 1172 lines; a last, flat one makes exactly LINES. */
    for (long i = 0; g_lines + 1172 <= LINES; i++) {
        struct gen *t = &g[i % THREADS];
        const char *page = pages[i % 4];
        event("startRoot", page, t->ts += STEP_NS, t->tid);
        calls(t, 0);
        event("endRoot", page, t->ts += STEP_NS, t->tid);
        (*ninter)++;
    }
    long rem = LINES - g_lines;
    if (rem >= 2) {
        struct gen *t = &g[0];
        event("startRoot", "/pad", t->ts += STEP_NS, t->tid);
        for (long k = 0; k < (rem - 2) / 2; k++) {
            event("start", "Pad.call", t->ts += STEP_NS, t->tid);
            event("end", "Pad.call", t->ts += STEP_NS, t->tid);
        }
        event("endRoot", "/pad", t->ts += STEP_NS, t->tid);
        (*ninter)++;
    }
    if (g_lines < LINES) {
        memcpy(obuf + olen, "# pad\n", 6);
        olen += 6;
        g_lines++;
    }
    flush_out();
    *t_end = 0;
    for (int k = 0; k < THREADS; k++)
        if (g[k].ts > *t_end)
            *t_end = g[k].ts;
    return fclose(out);
}

int main(void)
{
    char dir[] = "/tmp/evd-bench-profile-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *bin = getenv("EVODASH_BIN") ? getenv("EVODASH_BIN") : "build/rel/evodash";
    uint64_t t0 = 1629179509000000000ull, t_end;
    long ninter;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (generate(dir, &ninter, &t_end, t0) != 0) {
        perror("generate");
        return 1;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/UtilLog.csv", dir);
    FILE *u = fopen(path, "w");
    snprintf(path, sizeof path, "%s/netLog.csv", dir);
    FILE *n = fopen(path, "w");
    if (!u || !n)
        return 1;
    fputs("time,cpu,mem\n", u);
    for (uint64_t t = t0, i = 0; t <= t_end + 100000000; t += 100000000, i++)
        fprintf(u, "%llu.%06llu,%.1f,%llu\n", (unsigned long long)(t / 1000000000),
                (unsigned long long)(t % 1000000000 / 1000), 50.0 + (double)(i % 100),
                8000000000ull + (i % 50) * 1000000ull);
    fputs("start,target,end\n", n);
    for (int i = 0; i < 500; i++) {
        uint64_t s = t0 + (t_end - t0) / 500 * (uint64_t)i + 123457;
        fprintf(n, "%llu.%09llu,10.0.%d.%d:5432,%llu.%09llu\n",
                (unsigned long long)(s / 1000000000), (unsigned long long)(s % 1000000000), i % 4,
                1 + i % 7, (unsigned long long)((s + 15000) / 1000000000),
                (unsigned long long)((s + 15000) % 1000000000));
    }
    fclose(u);
    fclose(n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("generated %ld lines, %ld interactions, %d threads in %.1f s (%s)\n", g_lines, ninter,
           THREADS, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, dir);

    double secs[REPS];
    long peak_kb = 0;
    int reps = getenv("EVD_BENCH_REPS") ? atoi(getenv("EVD_BENCH_REPS")) : REPS;
    if (reps < 1 || reps > REPS)
        reps = REPS;
    for (int r = 0; r < reps; r++) {
        char cl[600], ul[600], nl[600], od[600];
        snprintf(cl, sizeof cl, "%s/callLog", dir);
        snprintf(ul, sizeof ul, "%s/UtilLog.csv", dir);
        snprintf(nl, sizeof nl, "%s/netLog.csv", dir);
        snprintf(od, sizeof od, "%s/out", dir);
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        if (pid == 0) {
            execl(bin, bin, "profile", "-cl", cl, "-l", ul, "-n", nl, "-d", "3", "-o", od,
                  (char *)NULL);
            perror(bin);
            _exit(127);
        }
        int st;
        struct rusage ru;
        if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "bench_profile: %s profile failed\n", bin);
            snprintf(cl, sizeof cl, "rm -rf '%s'", dir);
            if (system(cl) != 0)
                fprintf(stderr, "bench_profile: could not remove %s\n", dir);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        secs[r] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        if (ru.ru_maxrss > peak_kb)
            peak_kb = ru.ru_maxrss;
        printf("run %d: %.2f s, peak RSS %.1f MB\n", r + 1, secs[r], ru.ru_maxrss / 1024.0);
    }
    /* The profile must hold every interaction. */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "grep -c '\"interactionID\"' %s/out/profile.json", dir);
    FILE *p = popen(cmd, "r");
    long got = -1;
    if (!p || fscanf(p, "%ld", &got) != 1)
        got = -1;
    if (p)
        pclose(p);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (getenv("EVD_BENCH_KEEP")) /* keep the inputs, e.g. to profile the builder */
        printf("kept %s\n", dir);
    else if (system(cmd) != 0)
        fprintf(stderr, "bench_profile: could not remove %s\n", dir);
    if (got != ninter) {
        fprintf(stderr, "bench_profile: %ld interactions in profile.json, expected %ld\n", got,
                ninter);
        return 1;
    }
    for (int i = 1; i < reps; i++)
        for (int j = i; j > 0 && secs[j] < secs[j - 1]; j--) {
            double t = secs[j];
            secs[j] = secs[j - 1];
            secs[j - 1] = t;
        }
    printf("peak RSS: %.1f MB (target <= 500 MB)\n", peak_kb / 1024.0);
    printf("profile_10m_lines: %.2f s\n", secs[reps / 2]);
    return 0;
}
