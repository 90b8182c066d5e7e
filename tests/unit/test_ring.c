/* test_ring.c — the lock-free ring: order, wrap-around, full ring, and a
 * multi-producer stress that checks every record arrives exactly once.
 * Also run under ThreadSanitizer by make check. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/ring.h"

static int push(ring *r, uint32_t ep, int64_t v)
{
    uint64_t pos;
    ring_cell *c = ring_reserve(r, &pos);
    if (!c)
        return -1;
    c->rec.endpoint = ep;
    c->rec.dur_ns = v;
    ring_publish(r, c, pos);
    return 0;
}

static void test_bad_capacity(void **state)
{
    (void)state;
    ring r;
    assert_int_equal(ring_init(&r, 3, 1), EVD_EINVAL);
    assert_int_equal(ring_init(&r, 0, 1), EVD_EINVAL);
    assert_int_equal(ring_init(&r, 8, 1), 0);
    ring_free(&r);
}

static void test_fifo_and_wrap(void **state)
{
    (void)state;
    ring r;
    ring_rec out[8];
    assert_int_equal(ring_init(&r, 8, 1), 0);
    int64_t next_in = 0, next_out = 0;
    /* 100 rounds of 5 in / 5 out wraps the 8-cell ring many times */
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 5; i++)
            assert_int_equal(push(&r, 1, next_in++), 0);
        size_t n = ring_drain(&r, out, 8);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(out[i].dur_ns, next_out++);
    }
    assert_int_equal(ring_accepted(&r), 500);
    assert_int_equal(ring_pending(&r), 0);
    ring_free(&r);
}

static void test_full_ring_drops(void **state)
{
    (void)state;
    ring r;
    ring_rec out[16];
    assert_int_equal(ring_init(&r, 4, 1), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(push(&r, 0, i), 0);
    assert_int_equal(push(&r, 0, 99), -1); /* full: refused, not overwritten */
    assert_int_equal(ring_accepted(&r), 4);
    assert_int_equal(ring_drain(&r, out, 2), 2);
    assert_int_equal(push(&r, 0, 4), 0);
    assert_int_equal(ring_drain(&r, out, 16), 3);
    assert_int_equal(out[0].dur_ns, 2);
    assert_int_equal(out[2].dur_ns, 4);
    ring_free(&r);
}

static void test_unpublished_cell_stops_consumer(void **state)
{
    (void)state;
    ring r;
    ring_rec out[4];
    uint64_t pos;
    assert_int_equal(ring_init(&r, 4, 1), 0);
    ring_cell *c = ring_reserve(&r, &pos); /* reserved, not yet published */
    assert_non_null(c);
    assert_int_equal(push(&r, 0, 7), 0);
    assert_int_equal(ring_drain(&r, out, 4), 0); /* must not skip the hole */
    c->rec.dur_ns = 6;
    ring_publish(&r, c, pos);
    assert_int_equal(ring_drain(&r, out, 4), 2);
    assert_int_equal(out[0].dur_ns, 6);
    assert_int_equal(out[1].dur_ns, 7);
    ring_free(&r);
}

static void test_reset_after_fork_forgets(void **state)
{
    (void)state;
    ring r;
    ring_rec out[4];
    assert_int_equal(ring_init(&r, 4, 1), 0);
    push(&r, 0, 1);
    push(&r, 0, 2);
    ring_reset(&r);
    assert_int_equal(ring_pending(&r), 0);
    assert_int_equal(ring_drain(&r, out, 4), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(push(&r, 0, 10 + i), 0);
    assert_int_equal(ring_drain(&r, out, 4), 4);
    assert_int_equal(out[0].dur_ns, 10);
    ring_free(&r);
}

#define PRODUCERS    4
#define PER_PRODUCER 200000

typedef struct stress {
    ring r;
    _Atomic uint64_t dropped;
    _Atomic int done;
} stress;

static stress S;

static void *producer(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    for (int64_t i = 0; i < PER_PRODUCER; i++)
        if (push(&S.r, id, i))
            atomic_fetch_add(&S.dropped, 1);
    atomic_fetch_add(&S.done, 1);
    return NULL;
}

static void test_stress_multi_producer(void **state)
{
    (void)state;
    pthread_t t[PRODUCERS];
    static ring_rec out[1024];
    int64_t last[PRODUCERS];
    uint64_t got = 0;
    /* 4 producers on 2 shards: a shard each would not test the CAS */
    assert_int_equal(ring_init(&S.r, 1024, 2), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        last[i] = -1;
        pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)i);
    }
    for (;;) {
        int done = atomic_load(&S.done) == PRODUCERS;
        size_t n = ring_drain(&S.r, out, 1024);
        for (size_t k = 0; k < n; k++) {
            uint32_t p = out[k].endpoint;
            assert_true(p < PRODUCERS);
            /* per producer, values arrive in increasing order (gaps = drops) */
            assert_true(out[k].dur_ns > last[p]);
            last[p] = out[k].dur_ns;
        }
        got += n;
        if (done && !n && !ring_pending(&S.r))
            break;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    /* every record was either delivered once or counted as dropped */
    assert_int_equal(got + atomic_load(&S.dropped), (uint64_t)PRODUCERS * PER_PRODUCER);
    assert_int_equal(got, ring_accepted(&S.r));
    uint64_t acc[RING_SHARDS_MAX], drained[RING_SHARDS_MAX];
    ring_accepted_each(&S.r, acc);
    ring_drained_each(&S.r, drained);
    assert_int_equal(acc[0] + acc[1], got);
    assert_true(acc[0] > 0 && acc[1] > 0); /* the threads were spread */
    assert_int_equal(drained[0], acc[0]);
    assert_int_equal(drained[1], acc[1]);
    ring_free(&S.r);
}

/* Shards: a thread keeps its shard; the consumer takes from all; a shard
 * that fills drops while the others still accept; reset after fork
 * leaves unused shards untouched and forgets the used ones. */
static void *push_three(void *arg)
{
    ring *r = arg;
    for (int i = 0; i < 3; i++)
        if (push(r, 2, 100 + i))
            return (void *)1;
    return NULL;
}

static void test_shards(void **state)
{
    (void)state;
    ring r;
    ring_rec out[16];
    assert_int_equal(ring_init(&r, 4, 3), EVD_EINVAL); /* not a power of two */
    assert_int_equal(ring_init(&r, 4, RING_SHARDS_MAX * 2), EVD_EINVAL);
    assert_int_equal(ring_init(&r, 4, 2), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(push(&r, 1, i), 0);
    assert_int_equal(push(&r, 1, 99), -1); /* this thread's shard is full */
    pthread_t t;
    void *res;
    pthread_create(&t, NULL, push_three, &r); /* the next thread: the other shard */
    pthread_join(t, &res);
    assert_null(res);
    assert_int_equal(ring_accepted(&r), 7);
    assert_int_equal(ring_pending(&r), 7);
    size_t n = ring_drain(&r, out, 16);
    assert_int_equal(n, 7);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += out[i].dur_ns;
    assert_int_equal(sum, 0 + 1 + 2 + 3 + 100 + 101 + 102);
    assert_int_equal(push(&r, 1, 5), 0);
    ring_reset(&r);
    assert_int_equal(ring_pending(&r), 0);
    assert_int_equal(ring_drain(&r, out, 16), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(push(&r, 1, 10 + i), 0);
    assert_int_equal(ring_drain(&r, out, 16), 4);
    ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_capacity),
        cmocka_unit_test(test_fifo_and_wrap),
        cmocka_unit_test(test_full_ring_drops),
        cmocka_unit_test(test_unpublished_cell_stops_consumer),
        cmocka_unit_test(test_reset_after_fork_forgets),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_stress_multi_producer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
