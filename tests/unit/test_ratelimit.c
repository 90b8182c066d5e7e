/* test_ratelimit.c — the login rate limit's table: limits per key, all or
 * none, refunds that touch only their own attempt and window, a full table
 * that refuses new keys and keeps the counted ones, and threads racing on
 * one key.  Runs under ASan and TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dash/ratelimit.h"

#define WINDOW 1000000

static rl_key key(const char *s, int limit)
{
    return (rl_key){s, strlen(s), limit};
}

static int try1(ratelimit *rl, const char *s, int limit, int64_t now)
{
    rl_key k = key(s, limit);
    rl_ticket t;
    return rl_reserve(rl, &k, 1, now, &t);
}

static void test_limit_and_refund(void **state)
{
    (void)state;
    ratelimit *rl = rl_new(1024, WINDOW);
    rl_ticket t;
    rl_key ku[2] = {key("addr", 5), key("user-x", 10)};
    for (int i = 0; i < 4; i++)
        assert_int_equal(try1(rl, "addr", 5, 10), RL_OK);
    /* a success of another user gives back its own attempt only */
    assert_int_equal(rl_reserve(rl, ku, 2, 20, &t), RL_OK);
    rl_refund(rl, &t);
    assert_int_equal(try1(rl, "addr", 5, 30), RL_OK); /* the 5th failure */
    assert_int_equal(try1(rl, "addr", 5, 40), RL_BLOCKED);
    assert_int_equal(rl_reserve(rl, ku, 2, 50, &t), RL_BLOCKED);
    /* nothing of a refused attempt was counted: user-x has its 10 */
    for (int i = 0; i < 10; i++)
        assert_int_equal(try1(rl, "user-x", 10, 60), RL_OK);
    assert_int_equal(try1(rl, "user-x", 10, 60), RL_BLOCKED);
    /* the window ends */
    assert_int_equal(try1(rl, "addr", 5, 10 + WINDOW), RL_OK);
    rl_free(rl);
    rl_free(NULL);
}

/* A refund after the key's window restarted leaves the new window alone. */
static void test_refund_old_window(void **state)
{
    (void)state;
    ratelimit *rl = rl_new(16, WINDOW);
    rl_key k = key("a", 2);
    rl_ticket old, t;
    assert_int_equal(rl_reserve(rl, &k, 1, 0, &old), RL_OK);
    assert_int_equal(rl_reserve(rl, &k, 1, WINDOW, &t), RL_OK);
    assert_int_equal(rl_reserve(rl, &k, 1, WINDOW, &t), RL_OK);
    rl_refund(rl, &old);
    assert_int_equal(rl_reserve(rl, &k, 1, WINDOW + 1, &t), RL_BLOCKED);
    /* refunds give the slots back, and the table shrinks to nothing */
    rl_free(rl);
    rl = rl_new(16, WINDOW);
    rl_ticket ts[3];
    rl_key two[2] = {key("p", 5), key("q", 5)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(rl_reserve(rl, two, 2, 5, &ts[i]), RL_OK);
    assert_int_equal(rl_used(rl), 2);
    for (int i = 0; i < 3; i++)
        rl_refund(rl, &ts[i]);
    assert_int_equal(try1(rl, "r", 5, 6), RL_OK);
    assert_int_equal(rl_used(rl), 1);
    rl_free(rl);
}

/* A full table refuses new keys and never evicts a counted one: a flood of
 * other addresses used to take over the slot of a blocked address. */
static void test_full_keeps_blocked(void **state)
{
    (void)state;
    ratelimit *rl = rl_new(8, WINDOW);
    char name[24];
    for (int i = 0; i < 3; i++)
        assert_int_equal(try1(rl, "blocked", 3, i), RL_OK);
    int ok = 0, full = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "flood%d", i);
        int rc = try1(rl, name, 3, 100 + i);
        ok += rc == RL_OK;
        full += rc == RL_FULL;
    }
    assert_int_equal(ok, 7);
    assert_int_equal(full, 43);
    assert_int_equal(try1(rl, "blocked", 3, 200), RL_BLOCKED);
    assert_int_equal(try1(rl, "flood0", 3, 200), RL_OK); /* a counted key goes on counting */
    /* all or none: with one slot left, two new keys are refused together */
    rl_free(rl);
    rl = rl_new(2, WINDOW);
    rl_key two[2] = {key("x", 5), key("y", 5)};
    rl_ticket t;
    assert_int_equal(try1(rl, "w", 5, 0), RL_OK);
    assert_int_equal(rl_reserve(rl, two, 2, 1, &t), RL_FULL);
    assert_int_equal(try1(rl, "x", 5, 2), RL_OK); /* the slot y would have needed */
    assert_int_equal(try1(rl, "z", 5, 3), RL_FULL);
    /* windows end: the slots are free again */
    assert_int_equal(try1(rl, "z", 5, WINDOW + 2), RL_OK);
    assert_int_equal(rl_reserve(rl, two, 2, WINDOW + 3, &t), RL_FULL);
    assert_int_equal(rl_reserve(rl, two, 2, WINDOW + 4, &t), RL_FULL);
    assert_int_equal(try1(rl, "y", 5, 2 * WINDOW + 3), RL_OK);
    rl_free(rl);
}

#define NTHREADS 8
#define PER      6

static ratelimit *shared;
static int verified;
static pthread_mutex_t vlock = PTHREAD_MUTEX_INITIALIZER;

static void *guesser(void *arg)
{
    (void)arg;
    rl_key k[2] = {key("one address", 5), key("one user", 10)};
    for (int i = 0; i < PER; i++) {
        rl_ticket t;
        if (rl_reserve(shared, k, 2, 1000, &t) != RL_OK)
            continue;
        usleep(2000); /* the password verification */
        pthread_mutex_lock(&vlock);
        verified++;
        pthread_mutex_unlock(&vlock);
    }
    return NULL;
}

/* 48 racing guesses at one key: exactly its limit are verified. */
static void test_threads(void **state)
{
    (void)state;
    shared = rl_new(64, WINDOW);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, guesser, NULL), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(verified, 5);
    rl_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_refund),
        cmocka_unit_test(test_refund_old_window),
        cmocka_unit_test(test_full_keeps_blocked),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
