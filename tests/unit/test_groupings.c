/* test_groupings.c — a group text read as several groupings (groupings.c):
 * the binding's "name=value;name=value", a single unnamed value, both
 * mixed, empty parts and names, a grouping named twice, the part bound,
 * and looking one value up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dash/dash_int.h"

/* "name=value|name=value" of the parts of g, for comparing. */
static const char *parts(const char *g, size_t max)
{
    static char out[256];
    grouping_part p[8];
    size_t n = groupings_split(g, p, max < 8 ? max : 8), at = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%.*s=%.*s", i ? "|" : "",
                               (int)p[i].nlen, p[i].name, (int)p[i].vlen, p[i].value);
    return out;
}

static void test_split(void **state)
{
    (void)state;
    assert_string_equal(parts("user=carol;plan=free", 8), "user=carol|plan=free");
    assert_string_equal(parts("carol", 8), "group=carol");           /* one unnamed grouping */
    assert_string_equal(parts("x;team=red", 8), "group=x|team=red"); /* mixed */
    assert_string_equal(parts("", 8), "");
    assert_string_equal(parts(NULL, 8), "");
    assert_string_equal(parts(";;user=a;", 8), "user=a");       /* empty parts */
    assert_string_equal(parts("=a;b=", 8), "b=");               /* no name; an empty value */
    assert_string_equal(parts("u=1;u=2;v=3", 8), "u=1|v=3");    /* first value wins */
    assert_string_equal(parts("a=1;b=2;c=3", 2), "a=1|b=2");    /* at most max */
    assert_string_equal(parts("a=x=y", 8), "a=x=y");            /* split at the first = */
    assert_string_equal(parts("group=g;legacy", 8), "group=g"); /* unnamed is "group" */
}

static void test_value(void **state)
{
    (void)state;
    const char *v;
    size_t n;
    assert_int_equal(groupings_value("user=carol;plan=free", "plan", &v, &n), 1);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "free", 4);
    assert_int_equal(groupings_value("user=carol;plan=free", "pla", &v, &n), 0);
    assert_int_equal(groupings_value("carol", GROUPING_UNNAMED, &v, &n), 1);
    assert_memory_equal(v, "carol", 5);
    assert_int_equal(groupings_value("", "user", &v, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
