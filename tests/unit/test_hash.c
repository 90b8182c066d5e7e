/* test_hash.c — the FNV-1a helper against the reference values of the FNV
 * test suite, so that a wrong offset basis or prime cannot creep back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/hash.h"

static void test_fnv1a64(void **state)
{
    (void)state;
    assert_true(fnv1a64("") == 0xcbf29ce484222325ull);
    assert_true(fnv1a64("") == 14695981039346656037ull);
    assert_true(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    assert_true(fnv1a64("foobar") == 0x85944171f73967e8ull);
    assert_true(fnv1a64_bytes("foobar", 6) == fnv1a64("foobar"));
    /* bytes above 0x7f hash as unsigned, and a NUL inside counts */
    assert_true(fnv1a64_bytes("\xff", 1) == ((0xcbf29ce484222325ull ^ 0xff) * 1099511628211ull));
    assert_true(fnv1a64_bytes("a\0b", 3) != fnv1a64("a"));
}

static void test_fnv1a32(void **state)
{
    (void)state;
    assert_true(fnv1a32("") == 0x811c9dc5u);
    assert_true(fnv1a32("") == 2166136261u);
    assert_true(fnv1a32("a") == 0xe40c292cu);
    assert_true(fnv1a32("foobar") == 0xbf9cf968u);
    assert_true(fnv1a32_bytes("foobar", 6) == fnv1a32("foobar"));
    assert_true(fnv1a32_bytes("foobar", 3) == fnv1a32("foo"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a64),
        cmocka_unit_test(test_fnv1a32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
