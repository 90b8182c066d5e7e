/* test_packed.c — packed hours of raw rows (store/compact.c, segment.c):
 * a scan reads the same rows, in the same order, packed or not; an hour
 * written to after it was packed is read from the log again; retention
 * and damage are handled.  Runs against SQLite, and against PostgreSQL
 * under tests/pg/with_pg.sh with EVODASH_TEST_UNIT_PG set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evodash.h"
#include "store/read.h"
#include "store/segment.h"
#include "store/sq.h"
#include "store/store.h"
#include "testutil.h"

#define H     STORE_HOUR_US
#define HOUR0 490000LL /* 2025-11-24 */
#define HOURS 6

typedef struct row {
    int64_t ts, dur, ver;
    int status;
    char group[24], ip[24];
} row;

typedef struct rows {
    row *v;
    size_t n, cap, stop_after;
    int order_ok;
} rows;

static int collect(void *u, const store_raw_row *r)
{
    rows *x = u;
    if (x->n && r->ts_us > x->v[x->n - 1].ts)
        x->order_ok = 0;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 256;
        x->v = realloc(x->v, x->cap * sizeof *x->v);
        assert_non_null(x->v);
    }
    row *o = &x->v[x->n++];
    *o = (row){.ts = r->ts_us, .dur = r->duration_us, .ver = r->version_id, .status = r->status};
    snprintf(o->group, sizeof o->group, "%s", r->group);
    snprintf(o->ip, sizeof o->ip, "%s", r->ip);
    return x->stop_after && x->n == x->stop_after;
}

static int by_all(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->ts != y->ts)
        return (x->ts > y->ts) - (x->ts < y->ts);
    if (x->dur != y->dur)
        return (x->dur > y->dur) - (x->dur < y->dur);
    int c = strcmp(x->group, y->group);
    return c ? c : strcmp(x->ip, y->ip);
}

/* Every row of [from, to) of ep (of instance inst, or all when 0). */
static rows scan(store *st, int64_t ep, int64_t inst, int64_t from, int64_t to, size_t stop)
{
    rows x = {.order_ok = 1, .stop_after = stop};
    store_filter f = {0};
    if (inst) {
        f.instances = &inst;
        f.ninstances = 1;
    }
    int rc = store_raw_scan(st, inst ? &f : NULL, ep, from, to, collect, &x);
    assert_int_equal(rc, stop && x.n == stop ? 1 : 0);
    assert_true(x.order_ok);
    return x;
}

static void same_rows(rows *a, rows *b)
{
    assert_int_equal(a->n, b->n);
    qsort(a->v, a->n, sizeof *a->v, by_all);
    qsort(b->v, b->n, sizeof *b->v, by_all);
    for (size_t i = 0; i < a->n; i++)
        assert_int_equal(by_all(&a->v[i], &b->v[i]), 0);
    free(a->v);
    free(b->v);
}

typedef struct fx {
    store *st;
    int64_t ep, inst[2], ver[2];
} fx;

static void put(fx *f, int64_t ep, int i, int64_t ts, int64_t dur, int status, const char *group,
                const char *ip)
{
    store_request r = {.endpoint_id = ep,
                       .version_id = f->ver[ts / 1000000 % 2],
                       .instance_id = f->inst[i],
                       .ts_us = ts,
                       .duration_us = dur,
                       .status = status,
                       .group = group,
                       .ip = ip};
    assert_int_equal(store_insert_request(f->st, &r, NULL), 0);
    store_rollup_acc acc;
    assert_int_equal(store_rollup_acc_init(&acc), 0);
    store_rollup_acc_add(&acc, dur, (double)dur, status);
    assert_int_equal(store_rollup_acc_merge(f->st, &acc, ep, r.version_id, ts / H, f->inst[i]), 0);
    store_rollup_acc_free(&acc);
}

/* Six hours of rows on two instances: texts NULL, empty, repeated and
 * 8 bytes long, a duration past 32 bits, statuses of every kind. */
static void fill(fx *f)
{
    int64_t svc;
    int level;
    assert_int_equal(store_open(tu_url, 0, &f->st), 0);
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(tu_register(f->st, &svc, &f->inst[0]), 0);
    store_instance in = {.name = "t2", .host = "h", .pid = 2, .service_id = svc};
    assert_int_equal(store_instance_register(f->st, &in, 0, &f->inst[1]), 0);
    assert_int_equal(store_version_touch(f->st, "v1", 1, &f->ver[0]), 0);
    assert_int_equal(store_version_touch(f->st, "v2", 2, &f->ver[1]), 0);
    assert_int_equal(store_endpoint_upsert(f->st, svc, "e", NULL, NULL, 1, &f->ep, &level), 0);
    static const char *groups[] = {NULL, "", "alice", "bob", "10.0.0.1"};
    static const char *ips[] = {"10.0.0.1", NULL, "::1", "192.168.100.200"};
    static const int status[] = {200, 201, 302, 404, 500, 0};
    int k = 0;
    for (int64_t t = HOUR0 * H + 17; t < (HOUR0 + HOURS) * H; t += 37 * 1000000 + 11, k++)
        put(f, f->ep, k % 3 == 0, t, k == 50 ? 5000000000LL : 1000 + k * 7, status[k % 6],
            groups[k % 5], ips[k % 4]);
    /* one row at the very start of an hour, one at its very end */
    put(f, f->ep, 0, (HOUR0 + 2) * H, 9, 200, "edge", "a");
    put(f, f->ep, 1, (HOUR0 + 3) * H - 1, 9, 200, "edge", "b");
    assert_int_equal(store_commit(f->st), 0);
}

static int64_t pack_all(store *st)
{
    store_compacted b = {.next_before = HOUR0 + HOURS + 100, .more = 1};
    int64_t hours = 0;
    while (b.more) {
        assert_int_equal(store_compact_batch(st, b.next_before, 3, &b), 0);
        hours += b.hours;
    }
    return hours;
}

static int64_t count(store *st, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_query_int(st, sql, &n), 0);
    return n;
}

/* The ranges a view asks for: whole hours, parts of hours, one instance. */
static const int64_t RANGES[][2] = {
    {HOUR0 * H, (HOUR0 + HOURS) * H},
    {HOUR0 * H - 5 * H, (HOUR0 + HOURS) * H + 5 * H},
    {HOUR0 * H + H / 3, (HOUR0 + 4) * H + H / 2},
    {(HOUR0 + 2) * H, (HOUR0 + 3) * H},
    {(HOUR0 + 2) * H + 1, (HOUR0 + 3) * H - 1},
    {(HOUR0 + 1) * H + 5, (HOUR0 + 1) * H + 100000000},
};
#define NRANGES (sizeof RANGES / sizeof RANGES[0])

static void test_packed_reads_the_same(void **state)
{
    (void)state;
    fx f;
    fill(&f);
    rows before[NRANGES][3];
    for (size_t i = 0; i < NRANGES; i++)
        for (int j = 0; j < 3; j++)
            before[i][j] = scan(f.st, f.ep, j ? f.inst[j - 1] : 0, RANGES[i][0], RANGES[i][1], 0);
    int64_t pending;
    assert_int_equal(store_compact_pending(f.st, HOUR0 + HOURS, &pending), 0);
    assert_int_equal(pending, 2 * HOURS);
    assert_int_equal(pack_all(f.st), 2 * HOURS);
    assert_int_equal(count(f.st, "SELECT count(*) FROM raw_segments"), 2 * HOURS);
    assert_int_equal(count(f.st, "SELECT sum(rows) FROM raw_segments"),
                     count(f.st, "SELECT count(*) FROM requests"));
    assert_int_equal(store_compact_pending(f.st, HOUR0 + HOURS, &pending), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(pack_all(f.st), 0); /* nothing is packed twice */
    for (size_t i = 0; i < NRANGES; i++)
        for (int j = 0; j < 3; j++) {
            rows after = scan(f.st, f.ep, j ? f.inst[j - 1] : 0, RANGES[i][0], RANGES[i][1], 0);
            same_rows(&before[i][j], &after);
        }
    /* a reader that stops after the newest 123 gets the newest 123 */
    rows all = scan(f.st, f.ep, 0, RANGES[0][0], RANGES[0][1], 0);
    rows some = scan(f.st, f.ep, 0, RANGES[0][0], RANGES[0][1], 123);
    assert_int_equal(some.n, 123);
    assert_int_equal(some.v[122].ts, all.v[122].ts);
    free(all.v);
    free(some.v);
    store_close(f.st);
}

/* A request written into an hour already packed (a writer catching up)
 * is read: the hour comes from the log until it is packed again. */
static void test_late_rows(void **state)
{
    (void)state;
    fx f;
    fill(&f);
    pack_all(f.st);
    int64_t from = HOUR0 * H, to = (HOUR0 + HOURS) * H;
    rows was = scan(f.st, f.ep, 0, from, to, 0);
    assert_int_equal(store_begin(f.st), 0);
    put(&f, f.ep, 1, (HOUR0 + 2) * H + 123456, 77, 503, "late", "9.9.9.9");
    assert_int_equal(store_commit(f.st), 0);
    rows now = scan(f.st, f.ep, 0, from, to, 0);
    assert_int_equal(now.n, was.n + 1);
    int seen = 0;
    for (size_t i = 0; i < now.n; i++)
        seen += !strcmp(now.v[i].group, "late") && now.v[i].status == 503;
    assert_int_equal(seen, 1);
    assert_int_equal(pack_all(f.st), 1); /* that one hour of that instance */
    rows again = scan(f.st, f.ep, 0, from, to, 0);
    same_rows(&now, &again);
    free(was.v);
    store_close(f.st);
}

/* The scan reads the packed copies (a damaged one is an error, not wrong
 * rows), and retention removes those it cuts into. */
static void test_damage_and_retention(void **state)
{
    (void)state;
    fx f;
    fill(&f);
    pack_all(f.st);
    int64_t from = HOUR0 * H, to = (HOUR0 + HOURS) * H;
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE raw_segments SET data = %s WHERE hour = %lld",
             tu_is_pg(tu_url) ? "'\\x4553010000'::bytea" : "X'4553010000'", (long long)HOUR0 + 3);
    assert_int_equal(sq_run(f.st, sql, "damaging"), 0);
    rows x = {.order_ok = 1};
    assert_int_equal(store_raw_scan(f.st, NULL, f.ep, from, to, collect, &x), EVD_ECORRUPT);
    assert_non_null(strstr(store_errmsg(f.st), "damaged"));
    free(x.v);
    assert_int_equal(sq_run(f.st, "DELETE FROM raw_segments", "emptying"), 0);
    pack_all(f.st);
    /* prune everything before the middle of hour 3 */
    int64_t cutoff = (HOUR0 + 3) * H + H / 2;
    store_pruned n;
    do
        assert_int_equal(store_prune_batch(f.st, cutoff, 1000, &n), 0);
    while (n.requests);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM raw_segments WHERE hour <= %lld AND rows > 0",
             (long long)HOUR0 + 3);
    assert_int_equal(count(f.st, sql), 0);
    rows kept = scan(f.st, f.ep, 0, from, to, 0);
    for (size_t i = 0; i < kept.n; i++)
        assert_true(kept.v[i].ts >= cutoff);
    /* packed again: the pruned hours empty, the cut one with what is left */
    pack_all(f.st);
    rows packed = scan(f.st, f.ep, 0, from, to, 0);
    assert_true(packed.n > 0);
    same_rows(&kept, &packed);
    store_close(f.st);
}

/* A packed value cut short or with a byte changed is refused or read in
 * bounds (ASan watches), never read past its end. */
static void test_damaged_values(void **state)
{
    (void)state;
    seg_in in[40];
    for (int i = 0; i < 40; i++)
        in[i] = (seg_in){.ts_us = HOUR0 * H + i * 1000,
                         .duration_us = i == 7 ? -5 : i * 3,
                         .version_id = 1 + i % 3,
                         .status = 200 + i % 2,
                         .group = i % 2 ? "g" : NULL,
                         .ip = "10.0.0.1"};
    unsigned char *p;
    size_t len;
    assert_int_equal(seg_pack(HOUR0, in, 40, &p, &len), 0);
    seg_rows r = {0};
    assert_int_equal(seg_unpack(HOUR0, p, len, &r), 0);
    assert_int_equal(r.n, 40);
    assert_int_equal(r.row[0].ts_us, HOUR0 * H + 39 * 1000); /* newest first */
    assert_string_equal(r.row[0].ip, "10.0.0.1");
    assert_int_equal(r.row[39 - 7].duration_us, -5);
    seg_rows_clear(&r);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(seg_unpack(HOUR0, p, cut, &r), EVD_ECORRUPT);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (unsigned char)(1 << bit);
            int rc = seg_unpack(HOUR0, p, len, &r);
            assert_true(rc == 0 || rc == EVD_ECORRUPT);
            seg_rows_clear(&r);
            p[i] ^= (unsigned char)(1 << bit);
        }
    seg_rows_free(&r);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_packed_reads_the_same, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_late_rows, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_damage_and_retention, tu_setup, tu_teardown),
        cmocka_unit_test(test_damaged_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
