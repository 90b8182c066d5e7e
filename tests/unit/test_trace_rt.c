/* test_trace_rt.c — the tracer runtime (libevodash-trace.so) under ASan and
 * TSan: many threads recording at once, buffers spilling, threads exiting
 * before the stop, a stop racing with running threads, and a restart.
 *
 * The runtime's sources are compiled into this test (it is a separate
 * library, not part of libevdtools.a), and the hooks are called by hand
 * with the addresses of real functions, as -finstrument-functions would. */
#include "../../src/tracer/symbols.c"
#include "../../src/tracer/tracer.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>

#include <cmocka.h>

#define NTHREADS 4
#define PAIRS    40000 /* 80000 events per thread: more than one buffer */

__attribute__((noinline)) static void outer_fn(void)
{
    __asm__ volatile("");
}

__attribute__((noinline)) static void inner_fn(void)
{
    __asm__ volatile("");
}

static void *worker(void *arg)
{
    long pairs = (long)(intptr_t)arg;
    evd_trace_root_begin("req/work");
    for (long i = 0; i < pairs; i++) {
        __cyg_profile_func_enter((void *)outer_fn, NULL);
        __cyg_profile_func_enter((void *)inner_fn, NULL);
        __cyg_profile_func_exit((void *)inner_fn, NULL);
        __cyg_profile_func_exit((void *)outer_fn, NULL);
    }
    evd_trace_root_end();
    return NULL;
}

static char g_outer[300], g_inner[300]; /* "module.outer_fn": module = this program */

static void names_init(void)
{
    char exe[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    char *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    snprintf(g_outer, sizeof g_outer, "%s.outer_fn", base);
    snprintf(g_inner, sizeof g_inner, "%s.inner_fn", base);
}

struct counts {
    long lines, outer_start, inner_end, roots, bad_nesting;
    long threads;
};

/* Read a call log back and check each thread's lines nest. */
static void read_log(const char *path, struct counts *c)
{
    FILE *f = fopen(path, "r");
    char line[512], kind[32], name[256];
    unsigned long long ts, tid;
    unsigned long long tids[64];
    int depth[64] = {0};
    memset(c, 0, sizeof *c);
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        c->lines++;
        assert_int_equal(sscanf(line, "%31s %255s %llu %llu", kind, name, &ts, &tid), 4);
        int t = 0;
        while (t < c->threads && tids[t] != tid)
            t++;
        if (t == c->threads) {
            assert_true(c->threads < 64);
            tids[c->threads++] = tid;
        }
        if (!strcmp(kind, "start") || !strcmp(kind, "startRoot"))
            depth[t]++;
        else if (--depth[t] < 0)
            c->bad_nesting++;
        c->outer_start += !strcmp(kind, "start") && !strcmp(name, g_outer);
        c->inner_end += !strcmp(kind, "end") && !strcmp(name, g_inner);
        c->roots += !strcmp(kind, "startRoot") && !strcmp(name, "req/work");
    }
    fclose(f);
}

static void test_threads_and_spills(void **state)
{
    (void)state;
    char path[] = "/tmp/evd-rt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(evd_trace_start(path), 0);
    assert_int_equal(evd_trace_enabled(), 1);
    assert_int_equal(evd_trace_start(path), -2); /* already on */
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)PAIRS), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL); /* buffers of exited threads are spilled at exit */
    worker((void *)(intptr_t)10); /* and the main thread's, at stop */
    assert_int_equal(evd_trace_stop(), 0);
    assert_int_equal(evd_trace_enabled(), 0);
    assert_int_equal(evd_trace_dropped(), 0);
    struct counts c;
    read_log(path, &c);
    assert_int_equal(c.lines, (NTHREADS * PAIRS + 10) * 4 + (NTHREADS + 1) * 2);
    assert_int_equal(c.outer_start, NTHREADS * PAIRS + 10);
    assert_int_equal(c.inner_end, NTHREADS * PAIRS + 10);
    assert_int_equal(c.roots, NTHREADS + 1);
    assert_int_equal(c.bad_nesting, 0);
    assert_int_equal(c.threads, NTHREADS + 1);

    /* A second start writes a new log without the first one's events. */
    assert_int_equal(evd_trace_start(path), 0);
    worker((void *)(intptr_t)3);
    assert_int_equal(evd_trace_stop(), 0);
    read_log(path, &c);
    assert_int_equal(c.lines, 3 * 4 + 2);
    unlink(path);
}

static _Atomic int g_run;
static _Atomic long g_spins;

static void *spinner(void *arg)
{
    (void)arg;
    while (atomic_load(&g_run)) {
        __cyg_profile_func_enter((void *)outer_fn, NULL);
        __cyg_profile_func_exit((void *)outer_fn, NULL);
        atomic_fetch_add(&g_spins, 1);
    }
    return NULL;
}

static void test_stop_while_running(void **state)
{
    (void)state;
    char path[] = "/tmp/evd-rt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    pthread_t t[2];
    atomic_store(&g_run, 1);
    assert_int_equal(evd_trace_start(path), 0);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, spinner, NULL);
    /* until the threads have spun 2000 times (a loaded machine may not run
     * them at once), and 50 ms more */
    struct timespec ts = {0, 50 * 1000 * 1000}, tick = {0, 1000 * 1000};
    for (int i = 0; i < 10000 && atomic_load(&g_spins) < 2000; i++)
        nanosleep(&tick, NULL);
    nanosleep(&ts, NULL);
    /* The threads keep calling the hooks while the stop harvests them. */
    assert_int_equal(evd_trace_stop(), 0);
    nanosleep(&ts, NULL);
    atomic_store(&g_run, 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    struct counts c;
    read_log(path, &c);
    assert_true(c.lines > 0);
    assert_int_equal(c.bad_nesting, 0);
    unlink(path);
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(evd_trace_stop(), 0); /* off: nothing to do */
    assert_int_equal(evd_trace_start(NULL), -2);
    evd_trace_root_begin("ignored"); /* off: no effect, no crash */
    evd_trace_root_end();
    assert_int_equal(evd_trace_start("/nonexistent/dir/log"), 0);
    worker((void *)(intptr_t)1);
    assert_int_equal(evd_trace_stop(), -3);
    assert_non_null(strstr(evd_trace_errmsg(), "/nonexistent/dir/log"));
}

static void test_named_calls(void **state)
{
    (void)state;
    char path[] = "/tmp/evd-rt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const void *a = evd_trace_intern("app.view"), *b = evd_trace_intern("app view");
    assert_non_null(a);
    assert_ptr_equal(evd_trace_intern("app.view"), a); /* same name, same handle */
    assert_ptr_equal(evd_trace_intern("app_view"), b); /* blanks became '_' */
    assert_null(evd_trace_intern(""));
    assert_int_equal(evd_trace_start(path), 0);
    evd_trace_enter_named(a);
    evd_trace_enter_named(b);
    evd_trace_exit_named(b);
    evd_trace_exit_named(a);
    evd_trace_enter_named(NULL); /* ignored */
    assert_int_equal(evd_trace_stop(), 0);
    FILE *f = fopen(path, "r");
    char line[256], text[1024] = "";
    while (fgets(line, sizeof line, f)) {
        char kind[16], name[64];
        assert_int_equal(sscanf(line, "%15s %63s", kind, name), 2);
        size_t o = strlen(text);
        snprintf(text + o, sizeof text - o, "%s %s;", kind, name);
    }
    fclose(f);
    unlink(path);
    assert_string_equal(text, "start app.view;start app_view;end app_view;end app.view;");
}

static void test_fork(void **state)
{
    (void)state;
    char path[] = "/tmp/evd-rt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(evd_trace_start(path), 0);
    worker((void *)(intptr_t)100000); /* more than a buffer: the spill file is in use */
    pid_t pid = fork();
    if (pid == 0) {
        /* The child does not trace, and must not touch the parent's files. */
        int ok = !evd_trace_enabled();
        worker((void *)(intptr_t)1000);
        ok &= evd_trace_stop() == 0;
        _exit(ok ? 0 : 1);
    }
    assert_true(pid > 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    worker((void *)(intptr_t)7);
    assert_int_equal(evd_trace_stop(), 0);
    struct counts c;
    read_log(path, &c);
    assert_int_equal(c.outer_start, 100007);
    assert_int_equal(c.bad_nesting, 0);
    unlink(path);
}

static void test_symbols(void **state)
{
    (void)state;
    struct rt_syms *s = rt_syms_new();
    assert_non_null(s);
    assert_string_equal(rt_syms_name(s, (uintptr_t)inner_fn), g_inner);
    assert_string_equal(rt_syms_name(s, (uintptr_t)outer_fn), g_outer);
    /* libc's exported function, through its dynamic symbols */
    const char *n = rt_syms_name(s, (uintptr_t)fopen);
    assert_non_null(strstr(n, ".fopen"));
    rt_syms_free(s);
}

int main(void)
{
    names_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_spills),
        cmocka_unit_test(test_stop_while_running),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_named_calls),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
