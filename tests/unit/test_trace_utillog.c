/* test_trace_utillog.c — the utilisation logger: /proc row parsing, and a
 * run against a fake /proc tree with known processes and sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "utillog/utillog.h"

static void test_parse_sock(void **state)
{
    (void)state;
    struct utl_sock s;
    assert_int_equal(
        utl_parse_sock_line("  sl  local_address rem_address   st tx_queue rx_queue tr "
                            "tm->when retrnsmt   uid  timeout inode",
                            0, &s),
        -1);
    assert_int_equal(utl_parse_sock_line("   3: 0100007F:9C40 0500000A:1538 01 00000000:00000000 "
                                         "00:00000000 00000000  1000        0 12345 1 0 20 4 30",
                                         0, &s),
                     0);
    assert_int_equal(s.state, 1);
    assert_int_equal(s.local_port, 40000);
    assert_int_equal(s.remote_port, 5432);
    assert_int_equal(s.inode, 12345);
    assert_string_equal(s.target, "10.0.0.5:5432");
    assert_int_equal(s.remote_zero, 0);
    assert_int_equal(utl_parse_sock_line("   0: 00000000000000000000000001000000:C350 "
                                         "B80D0120000000000000000001000000:01BB 01 "
                                         "00000000:00000000 00:00000000 00000000 0 0 777 1",
                                         1, &s),
                     0);
    assert_string_equal(s.target, "2001:db8::1:443");
    assert_int_equal(utl_parse_sock_line("   1: 00000000:0035 00000000:0000 07 00000000:00000000 "
                                         "00:00000000 00000000 0 0 99 2",
                                         0, &s),
                     0);
    assert_int_equal(s.remote_zero, 1);
    assert_int_equal(
        utl_parse_sock_line("   1: 0000000G:0035 00000000:0000 07 0 0 0 0 0 99", 0, &s), -1);
}

static void test_stat_busy(void **state)
{
    (void)state;
    uint64_t busy, total;
    int ncpu;
    assert_int_equal(utl_stat_busy("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n"
                                   "cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n",
                                   &busy, &total, &ncpu),
                     0);
    assert_int_equal(total, 1000);
    assert_int_equal(busy, 150);
    assert_int_equal(ncpu, 2);
    assert_int_equal(utl_stat_busy("intr 1\n", &busy, &total, &ncpu), -1);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void sub(const char *dir, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static char *slurp(const char *dir, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_run_fake_proc(void **state)
{
    (void)state;
    char root[] = "/tmp/evd-utillog-XXXXXX";
    assert_non_null(mkdtemp(root));
    char proc[600], out[600], link[700];
    snprintf(proc, sizeof proc, "%s/proc", root);
    snprintf(out, sizeof out, "%s/out", root);
    assert_int_equal(mkdir(proc, 0755), 0);
    assert_int_equal(mkdir(out, 0755), 0);
    put(proc, "stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\n");
    put(proc, "meminfo",
        "MemTotal:       1000 kB\nMemFree:         100 kB\n"
        "MemAvailable:    400 kB\n");
    /* pid 100 is "webapp"; pid 200 is another program using socket 999. */
    sub(proc, "100");
    sub(proc, "100/fd");
    sub(proc, "100/net");
    sub(proc, "200");
    put(proc, "100/comm", "webapp\n");
    put(proc, "200/comm", "other\n");
    put(proc, "100/cmdline", "/usr/bin/webapp\0--port\0");
    put(proc, "200/cmdline", "other");
    const char *inodes[] = {"12345", "777", "555", "888", "889"};
    for (int i = 0; i < 5; i++) {
        snprintf(link, sizeof link, "%s/100/fd/%d", proc, i + 3);
        char target[64];
        snprintf(target, sizeof target, "socket:[%s]", inodes[i]);
        assert_int_equal(symlink(target, link), 0);
    }
    snprintf(link, sizeof link, "%s/100/fd/0", proc);
    assert_int_equal(symlink("/dev/null", link), 0);
    put(proc, "100/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        /* outgoing to 10.0.0.5:5432 */
        "   0: 0100007F:9C40 0500000A:1538 01 00000000:00000000 00:00000000 00000000 0 0 12345 1\n"
        /* the listener on 8080, and a connection accepted on it: incoming */
        "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 888 1\n"
        "   2: 0100007F:1F90 0200007F:D000 01 00000000:00000000 00:00000000 00000000 0 0 889 1\n"
        /* another process's connection */
        "   3: 0100007F:9C41 0600000A:0050 01 00000000:00000000 00:00000000 00000000 0 0 999 1\n");
    put(proc, "100/net/tcp6",
        "  sl  local_address rem_address st\n"
        "   0: 00000000000000000000000001000000:C350 B80D0120000000000000000001000000:01BB 01 "
        "00000000:00000000 00:00000000 00000000 0 0 777 1\n");
    put(proc, "100/net/udp",
        "  sl  local_address rem_address st\n"
        "   0: 0100007F:A000 08080808:0035 01 00000000:00000000 00:00000000 00000000 0 0 555 2\n");
    put(proc, "100/net/udp6", "  sl  local_address rem_address st\n");

    struct utillog_opts o = {
        .program = "webapp", .outdir = out, .hz = 20, .duration_s = 0.3, .proc = proc};
    struct utillog_stats st;
    char err[256];
    assert_int_equal(utillog_run(&o, &st, err, sizeof err), 0);
    assert_true(st.samples >= 2 && st.samples <= 7); /* 6 unless the machine stalls */
    assert_int_equal(st.processes, 1);
    assert_int_equal(st.connections, 3);

    char *u = slurp(out, "UtilLog.csv");
    assert_memory_equal(u, "time,cpu,mem\n", 13);
    /* Every row complete: time,cpu,mem with used = (1000 - 400) kB. */
    int rows = 0;
    for (char *l = strchr(u, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        double t, cpu;
        unsigned long long mem;
        assert_int_equal(sscanf(l + 1, "%lf,%lf,%llu", &t, &cpu, &mem), 3);
        assert_int_equal(mem, 600 * 1024);
        assert_true(cpu == 0.0); /* the fake counters never move */
        rows++;
    }
    assert_int_equal(rows, (int)st.samples);
    free(u);
    char *n = slurp(out, "netLog.csv");
    assert_memory_equal(n, "start,target,end\n", 17);
    assert_non_null(strstr(n, ",10.0.0.5:5432,"));
    assert_non_null(strstr(n, ",2001:db8::1:443,"));
    assert_non_null(strstr(n, ",8.8.8.8:53,"));
    assert_null(strstr(n, "10.0.0.6"));
    assert_null(strstr(n, "127.0.0.2"));
    free(n);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct utillog_opts o = {
        .program = "x", .outdir = "/nonexistent/dir", .hz = 10, .duration_s = 0.1};
    char err[256];
    assert_true(utillog_run(&o, NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, "/nonexistent/dir"));
    o.hz = 0;
    assert_true(utillog_run(&o, NULL, err, sizeof err) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sock),
        cmocka_unit_test(test_stat_busy),
        cmocka_unit_test(test_run_fake_proc),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
