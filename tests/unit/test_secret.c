/* test_secret.c — the one list of secret names (core/secret.c): which
 * header, query, form and environment names are masked, however long, and
 * the query-string masker every capture path uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/secret.h"

static void test_names(void **state)
{
    (void)state;
    /* Every pattern, in headers, parameters and environ spellings. */
    static const char *const secret[] = {
        "X-Jwt",
        "X-Access-Key",
        "jwt",
        "access_key",
        "sig",
        "Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Auth-Token",
        "api_key",
        "APIKEY",
        "password",
        "PASSWD",
        "db_pwd",
        "client_secret",
        "SESSIONID",
        "credentials",
        "X-CSRF-Token",
        "private_data",
        "HTTP_X_JWT",
        "HTTP_COOKIE",
        "signature",
        "X-Amz-Signature",
        "refresh_token",
    };
    static const char *const plain[] = {
        "Host",
        "Accept",
        "User-Agent",
        "Content-Type",
        "Content-Length",
        "X-Forwarded-For",
        "q",
        "page",
        "per_page",
        "tz",
        "from",
        "Keep-Alive",
        "Referer",
        "REQUEST_METHOD",
        "PATH_INFO",
        "",
    };
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        if (!secret_name(secret[i]))
            print_error("%s is not masked\n", secret[i]);
        assert_true(secret_name(secret[i]));
    }
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (secret_name(plain[i]))
            print_error("%s is masked\n", plain[i]);
        assert_false(secret_name(plain[i]));
    }
    assert_false(secret_name(NULL));
    /* A length-bounded name stops where it is told to. */
    assert_false(secret_name_n("jwtoken", 2));
    assert_true(secret_name_n("jwtoken", 3));
}

/* Names of any length are searched whole: a secret word after byte 127
 * (where the old matcher stopped) or after byte 4000 still counts. */
static void test_long_names(void **state)
{
    (void)state;
    static const size_t at[] = {0, 126, 127, 128, 200, 4000, 70000};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char *name = malloc(at[i] + 16);
        memset(name, 'x', at[i]);
        strcpy(name + at[i], "_Token");
        assert_true(secret_name(name));
        name[at[i] + 1] = 'X'; /* "_Xoken": no pattern left */
        assert_false(secret_name(name));
        free(name);
    }
}

static void test_mask_query(void **state)
{
    (void)state;
    char out[512];
    secret_mask_query("a=1&jwt=xyz&access_key=k1&sig=s&q=shoes&X-Api-Key=9", out, sizeof out);
    assert_string_equal(out, "a=1&jwt=***&access_key=***&sig=***&q=shoes&X-Api-Key=***");
    /* Names are decoded before they are matched. */
    secret_mask_query("j%77t=abc&%6Bey=v&pass%77ord=p&to%6ben=t&ok=%6Bey", out, sizeof out);
    assert_string_equal(out, "j%77t=***&%6Bey=***&pass%77ord=***&to%6ben=***&ok=%6Bey");
    /* A pair without '=' (no value to hide) and empty pairs are kept; a
     * trailing '&' is dropped. */
    secret_mask_query("token&&a=1&", out, sizeof out);
    assert_string_equal(out, "token&&a=1");
    /* A broken escape does not hide the rest of the name. */
    secret_mask_query("%zzsecret=1&%4=2", out, sizeof out);
    assert_string_equal(out, "%zzsecret=***&%4=2");
    /* Long names, whole. */
    char qs[1200];
    memset(qs, 'n', 1000);
    strcpy(qs + 1000, "_session=abc&b=2");
    char big[2048];
    secret_mask_query(qs, big, sizeof big);
    assert_non_null(strstr(big, "_session=***&b=2"));
    assert_null(strstr(big, "abc"));
    /* A pair that does not fit is left out whole, never cut. */
    size_t n = secret_mask_query("a=1&password=hunter2", out, 12);
    assert_string_equal(out, "a=1");
    assert_int_equal(n, 3);
    n = secret_mask_query("a=1&b=22222222", out, 8);
    assert_string_equal(out, "a=1");
    secret_mask_query("", out, sizeof out);
    assert_string_equal(out, "");
    secret_mask_query(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

/* The shared pieces of every capture path's environ masking (the Flask
 * binding's live capture and the FMD importer). */
static void test_uri_environ(void **state)
{
    (void)state;
    char out[64];
    secret_mask_uri("/login?password=hunter2&q=1", out, sizeof out);
    assert_string_equal(out, "/login?password=***&q=1");
    secret_mask_uri("/plain", out, sizeof out);
    assert_string_equal(out, "/plain");
    /* the path gives way to the query: at most half of the room */
    secret_mask_uri("/aaaaaaaaaaaaaaaaaaaa?key=v", out, 20);
    assert_string_equal(out, "/aaaaaaaaa?key=***");
    assert_string_equal(secret_environ_value("HTTP_COOKIE", "s=1", out, sizeof out), "***");
    assert_string_equal(secret_environ_value("QUERY_STRING", "jwt=x&a=b", out, sizeof out),
                        "jwt=***&a=b");
    assert_string_equal(secret_environ_value("RAW_URI", "/p?sig=1", out, sizeof out), "/p?sig=***");
    assert_string_equal(secret_environ_value("PATH_INFO", "/p?sig=1", out, sizeof out), "/p?sig=1");
    char dec[32];
    assert_int_equal(secret_form_decode("a+b%41%zz%", 10, dec), 8);
    assert_string_equal(dec, "a bA%zz%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_mask_query),
        cmocka_unit_test(test_uri_environ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
