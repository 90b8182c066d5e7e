/* test_config.c — evd_config: every key, the file format, the environment
 * override and every error, with its file, line and key. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "evodash.h"
#include "core/config.h"
#include "core/git_version.h"

static const char *data_dir(void)
{
    const char *d = getenv("EVD_TEST_DATA");
    return d ? d : "tests/data/config";
}

static void fixture(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", data_dir(), name);
}

/* Write text to a fresh temporary file; its path goes into path[64]. */
static void write_tmp(char path[64], const char *text, size_t len)
{
    snprintf(path, 64, "/tmp/evd_test_cfg_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Load text as a config file; returns rc and leaves the message in msg. */
static int load_text(evd_config *cfg, const char *text, char path[64])
{
    write_tmp(path, text, strlen(text));
    int rc = evd_config_load(cfg, path);
    unlink(path);
    return rc;
}

/* Expect loading text to fail with "PATH:LINE: REST". */
static void expect_load_error(const char *text, int line, const char *rest)
{
    evd_config *cfg = evd_config_new();
    char path[64], want[600];
    assert_non_null(cfg);
    int rc = load_text(cfg, text, path);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, rest);
    if (rc != EVD_EINVAL || strcmp(evd_config_errmsg(cfg), want) != 0)
        print_error("rc %d\n got: %s\nwant: %s\n", rc, evd_config_errmsg(cfg), want);
    assert_int_equal(rc, EVD_EINVAL);
    assert_string_equal(evd_config_errmsg(cfg), want);
    evd_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    assert_non_null(cfg);
    assert_string_equal(evd_config_get(cfg, "CUSTOM_LINK"), "dashboard");
    assert_string_equal(evd_config_get(cfg, "DATABASE"), "sqlite:///evodash.db");
    assert_string_equal(evd_config_get(cfg, "TIMEZONE"), "UTC");
    assert_int_equal(config_int(cfg, "MONITOR_LEVEL"), 1);
    assert_int_equal(config_int(cfg, "SAMPLING_PERIOD"), 5);
    assert_true(config_double(cfg, "OUTLIER_DETECTION_CONSTANT") == 2.5);
    assert_int_equal(config_int(cfg, "RING_CAPACITY"), 65536);
    assert_int_equal(config_int(cfg, "STACK_SIGNAL"), 3);
    assert_int_equal(config_int(cfg, "RETENTION_DAYS"), 0);
    assert_int_equal(config_bool(cfg, "ENABLE_LOGGING"), 0);
    assert_int_equal(config_bool(cfg, "SHOW_LOGIN_BANNER"), 1);
    assert_null(evd_config_get(cfg, "APP_VERSION"));
    assert_null(evd_config_get(cfg, "GIT"));
    assert_null(evd_config_get(cfg, "SECURITY_TOKEN"));
    assert_null(evd_config_get(cfg, "NO_SUCH_KEY"));
    assert_false(config_is_set(cfg, "MONITOR_LEVEL"));

    char want[300], host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    host[sizeof host - 1] = '\0';
    snprintf(want, sizeof want, "%s:%ld", host, (long)getpid());
    assert_string_equal(evd_config_get(cfg, "INSTANCE"), want);

    /* no default credentials at all */
    assert_null(evd_config_get(cfg, "USERNAME"));
    assert_null(evd_config_get(cfg, "PASSWORD"));
    assert_null(evd_config_get(cfg, "GUEST_USERNAME"));
    const char *pw;
    assert_int_equal(config_guest_password(cfg, 0, &pw), 0);
    assert_null(pw);
    assert_string_equal(evd_config_errmsg(cfg), "");
    evd_config_free(cfg);
    evd_config_free(NULL);
    assert_non_null(evd_config_errmsg(NULL));
    assert_string_equal(config_str(NULL, "TIMEZONE"), "UTC");
}

static void test_fmd_example(void **state)
{
    (void)state;
    char path[512];
    fixture(path, sizeof path, "fmd_example.cfg");
    evd_config *cfg = evd_config_new();
    int rc = evd_config_load(cfg, path);
    if (rc)
        print_error("%s\n", evd_config_errmsg(cfg));
    assert_int_equal(rc, 0);
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "1.0");
    assert_string_equal(evd_config_get(cfg, "GIT"), "../.git/");
    assert_string_equal(evd_config_get(cfg, "CUSTOM_LINK"), "dashboard");
    assert_int_equal(config_int(cfg, "MONITOR_LEVEL"), 3);
    assert_true(config_double(cfg, "OUTLIER_DETECTION_CONSTANT") == 2.5);
    assert_int_equal(config_int(cfg, "SAMPLING_PERIOD"), 20);
    assert_int_equal(config_bool(cfg, "ENABLE_LOGGING"), 1);
    assert_string_equal(evd_config_get(cfg, "ENABLE_LOGGING"), "true");
    assert_string_equal(evd_config_get(cfg, "USERNAME"), "admin");
    assert_string_equal(evd_config_get(cfg, "PASSWORD"), "admin");
    assert_string_equal(evd_config_get(cfg, "GUEST_USERNAME"), "guest");
    const char *pw;
    assert_int_equal(config_guest_password(cfg, 0, &pw), 2);
    assert_string_equal(pw, "dashboardguest!");
    assert_int_equal(config_guest_password(cfg, 1, &pw), 2);
    assert_string_equal(pw, "second_pw!");
    assert_string_equal(evd_config_get(cfg, "SECURITY_TOKEN"), "cc83733cb0af8b884ff6577086b87909");
    assert_string_equal(evd_config_get(cfg, "TABLE_PREFIX"), "fmd");
    assert_string_equal(evd_config_get(cfg, "DATABASE"), "sqlite:///dashboard.db");
    assert_string_equal(evd_config_get(cfg, "TIMEZONE"), "Europe/Amsterdam");
    /* The indented second line continues the value, as in configparser. */
    assert_string_equal(evd_config_get(cfg, "COLORS"),
                        "{'main':'[0,97,255]',\n'static':'[255,153,0]'}");
    assert_true(config_is_set(cfg, "COLORS"));
    assert_false(config_is_set(cfg, "RING_CAPACITY"));
    evd_config_free(cfg);
}

/* Every key set from one file, with keys in mixed case and quoted values. */
static void test_every_key_from_file(void **state)
{
    (void)state;
    static const char *const want[][2] = {
        {"APP_VERSION", "3.4.5"},
        {"GIT", "/nonexistent/repo"},
        {"CUSTOM_LINK", "ops/monitor"},
        {"MONITOR_LEVEL", "2"},
        {"OUTLIER_DETECTION_CONSTANT", "3.75"},
        {"SAMPLING_PERIOD", "7"},
        {"ENABLE_LOGGING", "true"},
        {"DATABASE", "postgresql://evd@db.example/evodash"},
        {"TABLE_PREFIX", ""},
        {"USERNAME", "root"},
        {"PASSWORD", "s3cret"},
        {"GUEST_USERNAME", "visitor"},
        {"GUEST_PASSWORD", "only-one"},
        {"SECURITY_TOKEN", "0123456789abcdef"},
        {"TIMEZONE", "America/New_York"},
        {"BRAND_NAME", "Shop"},
        {"TITLE_NAME", "Shop monitor"},
        {"DESCRIPTION", "Checkout and catalogue services"},
        {"SHOW_LOGIN_BANNER", "false"},
        {"SHOW_LOGIN_FOOTER", "false"},
        {"COLORS", "{'main':'[1,2,3]'}"},
        {"RING_CAPACITY", "4096"},
        {"STACK_SIGNAL", "5"},
        {"INSTANCE", "web-1"},
        {"RETENTION_DAYS", "30"},
        {"HTTP_IDLE_TIMEOUT", "45"},
    };
    char path[512];
    fixture(path, sizeof path, "evodash_all.cfg");
    evd_config *cfg = evd_config_new();
    int rc = evd_config_load(cfg, path);
    if (rc)
        print_error("%s\n", evd_config_errmsg(cfg));
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = evd_config_get(cfg, want[i][0]);
        if (!got || strcmp(got, want[i][1]))
            print_error("%s: got %s want %s\n", want[i][0], got ? got : "NULL", want[i][1]);
        assert_non_null(got);
        assert_string_equal(got, want[i][1]);
        assert_true(config_is_set(cfg, want[i][0]));
        /* Lookups are case-insensitive too. */
        char lower[64];
        size_t j;
        for (j = 0; want[i][0][j] && j + 1 < sizeof lower; j++)
            lower[j] = (char)tolower((unsigned char)want[i][0][j]);
        lower[j] = '\0';
        assert_ptr_equal(evd_config_get(cfg, lower), got);
    }
    const char *pw;
    assert_int_equal(config_guest_password(cfg, 0, &pw), 1);
    assert_string_equal(pw, "only-one");
    assert_int_equal(config_bool(cfg, "SHOW_LOGIN_BANNER"), 0);
    evd_config_free(cfg);
}

struct kv_case {
    const char *key, *value, *stored; /* stored NULL: expect an error containing `err` */
    const char *err;
};

static const struct kv_case VALID[] = {
    {"APP_VERSION", "v2", "v2", NULL},
    {"GIT", "'/srv/app'", "/srv/app", NULL},
    {"CUSTOM_LINK", "a-b_c/d1", "a-b_c/d1", NULL},
    {"MONITOR_LEVEL", "0", "0", NULL},
    {"MONITOR_LEVEL", "3", "3", NULL},
    {"OUTLIER_DETECTION_CONSTANT", "0.5", "0.5", NULL},
    {"OUTLIER_DETECTION_CONSTANT", "10", "10", NULL},
    {"SAMPLING_PERIOD", "1", "1", NULL},
    {"ENABLE_LOGGING", "True", "true", NULL},
    {"ENABLE_LOGGING", "False", "false", NULL},
    {"ENABLE_LOGGING", "true", "true", NULL},
    {"ENABLE_LOGGING", "false", "false", NULL},
    {"ENABLE_LOGGING", "1", "true", NULL},
    {"ENABLE_LOGGING", "0", "false", NULL},
    {"ENABLE_LOGGING", "yes", "true", NULL},
    {"ENABLE_LOGGING", "no", "false", NULL},
    {"SHOW_LOGIN_BANNER", "YES", "true", NULL},
    {"SHOW_LOGIN_FOOTER", "No", "false", NULL},
    {"DATABASE", "sqlite:////var/lib/evd.db", "sqlite:////var/lib/evd.db", NULL},
    {"DATABASE", "postgres://u:p@h/db", "postgres://u:p@h/db", NULL},
    {"DATABASE", "\"postgresql://h/db\"", "postgresql://h/db", NULL},
    {"TABLE_PREFIX", "fmd", "fmd", NULL},
    {"USERNAME", "alice", "alice", NULL},
    {"PASSWORD", "p;w", "p;w", NULL},
    {"GUEST_USERNAME", "bob", "bob", NULL},
    {"GUEST_PASSWORD", "['x']", "['x']", NULL},
    {"SECURITY_TOKEN", "abc", "abc", NULL},
    {"TIMEZONE", "UTC", "UTC", NULL},
    {"TIMEZONE", "Europe/Amsterdam", "Europe/Amsterdam", NULL},
    {"TIMEZONE", "America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires", NULL},
    {"TIMEZONE", "Etc/GMT+5", "Etc/GMT+5", NULL},
    {"BRAND_NAME", "B", "B", NULL},
    {"TITLE_NAME", "T", "T", NULL},
    {"DESCRIPTION", "", "", NULL},
    {"COLORS", "{}", "{}", NULL},
    {"RING_CAPACITY", "1024", "1024", NULL},
    {"RING_CAPACITY", "16777216", "16777216", NULL},
    {"STACK_SIGNAL", "0", "0", NULL},
    {"INSTANCE", "host-a:1", "host-a:1", NULL},
    {"RETENTION_DAYS", "0", "0", NULL},
    {"RETENTION_DAYS", "365", "365", NULL},
    {"HTTP_IDLE_TIMEOUT", "5", "5", NULL},
    {"HTTP_CONN_PER_ADDRESS", "0", "0", NULL},
    {"HTTP_CONN_PER_ADDRESS", "1000", "1000", NULL},
    {"monitor_level", "2", "2", NULL},
    {"APP_VERSION", "'1.2.3'", "1.2.3", NULL},
    {"APP_VERSION", "caf\xc3\xa9-\xe2\x82\xac", "caf\xc3\xa9-\xe2\x82\xac", NULL}, /* UTF-8 */
    {"DESCRIPTION", "He said \"hi\"", "He said \"hi\"", NULL}, /* free text may end quoted */
};

static const struct kv_case INVALID[] = {
    {"APP_VERSION", "", NULL, "APP_VERSION: empty value"},
    {"APP_VERSION", "a\tb", NULL, "APP_VERSION: control character in value, got \"a?b\""},
    {"GIT", "''", NULL, "GIT: empty value"},
    {"CUSTOM_LINK", "/dash", NULL, "CUSTOM_LINK: expected letters, digits, '-', '_' and '/'"},
    {"CUSTOM_LINK", "dash/", NULL, "got \"dash/\""},
    {"CUSTOM_LINK", "da sh", NULL, "got \"da sh\""},
    {"CUSTOM_LINK", "a//b", NULL, "got \"a//b\""},
    {"CUSTOM_LINK", "a.b", NULL, "got \"a.b\""},
    {"MONITOR_LEVEL", "high", NULL, "MONITOR_LEVEL: expected an integer 0..3, got \"high\""},
    {"MONITOR_LEVEL", "4", NULL, "MONITOR_LEVEL: expected an integer 0..3, got \"4\""},
    {"MONITOR_LEVEL", "-1", NULL, "got \"-1\""},
    {"MONITOR_LEVEL", "1.5", NULL, "got \"1.5\""},
    {"MONITOR_LEVEL", "99999999999999999999999", NULL, "expected an integer 0..3"},
    {"OUTLIER_DETECTION_CONSTANT", "0", NULL,
     "OUTLIER_DETECTION_CONSTANT: expected a number > 0, got \"0\""},
    {"OUTLIER_DETECTION_CONSTANT", "-2", NULL, "expected a number > 0"},
    {"OUTLIER_DETECTION_CONSTANT", "nan", NULL, "expected a number > 0"},
    {"OUTLIER_DETECTION_CONSTANT", "inf", NULL, "expected a number > 0"},
    {"OUTLIER_DETECTION_CONSTANT", "2,5", NULL, "got \"2,5\""},
    {"SAMPLING_PERIOD", "0", NULL, "SAMPLING_PERIOD: expected an integer 1..3600000, got \"0\""},
    {"SAMPLING_PERIOD", "5ms", NULL, "got \"5ms\""},
    {"ENABLE_LOGGING", "maybe", NULL, "ENABLE_LOGGING: expected a boolean"},
    {"SHOW_LOGIN_BANNER", "2", NULL, "SHOW_LOGIN_BANNER: expected a boolean"},
    {"SHOW_LOGIN_FOOTER", "", NULL, "SHOW_LOGIN_FOOTER: empty value"},
    {"DATABASE", "mysql://u:hunter2@h/db", NULL,
     "DATABASE: expected a URL starting with sqlite://, postgresql:// or postgres://, got "
     "\"mysql:...\""},
    {"DATABASE", "evodash.db", NULL, "DATABASE: expected a URL"},
    {"USERNAME", "", NULL, "USERNAME: empty value"},
    {"PASSWORD", "", NULL, "PASSWORD: empty value"},
    {"PASSWORD", "a\x01z", NULL, "PASSWORD: control character in value, got (value not shown)"},
    {"GUEST_USERNAME", "", NULL, "GUEST_USERNAME: empty value"},
    {"GUEST_PASSWORD", "['abc'", NULL, "GUEST_PASSWORD: list item 1: expected ',' or ']'"},
    {"GUEST_PASSWORD", "['abc", NULL, "GUEST_PASSWORD: list item 1: unterminated string"},
    {"GUEST_PASSWORD", "[abc]", NULL, "GUEST_PASSWORD: list item 1: expected a quoted string"},
    {"GUEST_PASSWORD", "['a' 'b']", NULL, "list item 1: expected ',' or ']'"},
    {"GUEST_PASSWORD", "['a'] x", NULL, "unexpected text after ']'"},
    {"SECURITY_TOKEN", "", NULL, "SECURITY_TOKEN: empty value"},
    {"TIMEZONE", "Mars/Olympus_Mons", NULL, "TIMEZONE: unknown time zone \"Mars/Olympus_Mons\""},
    {"TIMEZONE", "../../../etc/passwd", NULL, "unknown time zone"},
    {"TIMEZONE", "/etc/localtime", NULL, "unknown time zone"},
    {"TIMEZONE", "Europe/../Europe/Amsterdam", NULL, "unknown time zone"},
    {"TIMEZONE", "zone.tab", NULL, "unknown time zone"},
    {"TIMEZONE", "Europe", NULL, "unknown time zone"},
    {"TIMEZONE", "utc", NULL, "unknown time zone"},
    {"RING_CAPACITY", "1000", NULL,
     "RING_CAPACITY: expected a power of two 1024..16777216, got \"1000\""},
    {"RING_CAPACITY", "512", NULL, "expected a power of two"},
    {"RING_CAPACITY", "33554432", NULL, "expected a power of two"},
    {"STACK_SIGNAL", "-1", NULL, "STACK_SIGNAL: expected an offset 0.."},
    {"STACK_SIGNAL", "1000", NULL, "from SIGRTMIN, got \"1000\""},
    {"INSTANCE", "", NULL, "INSTANCE: empty value"},
    {"RETENTION_DAYS", "-3", NULL, "RETENTION_DAYS: expected an integer 0..36500"},
    {"TABLE_PREFIX", "a\tb", NULL, "TABLE_PREFIX: control character in value"},
    {"BRAND_NAME", "x\ty", NULL, "BRAND_NAME: control character in value"},
    {"TITLE_NAME", "x\ty", NULL, "TITLE_NAME: control character in value"},
    {"NO_SUCH_KEY", "1", NULL, "NO_SUCH_KEY: unknown key"},
    /* A sign is a typo for keys that are never negative: -0 is not 0. */
    {"MONITOR_LEVEL", "-0", NULL, "MONITOR_LEVEL: expected an integer 0..3, got \"-0\""},
    {"MONITOR_LEVEL", "+1", NULL, "MONITOR_LEVEL: expected an integer 0..3, got \"+1\""},
    {"RING_CAPACITY", "+4096", NULL, "RING_CAPACITY: expected a power of two"},
    {"STACK_SIGNAL", "-0", NULL, "STACK_SIGNAL: expected an offset 0.."},
    {"HTTP_IDLE_TIMEOUT", "0", NULL, "HTTP_IDLE_TIMEOUT: expected an integer 1..3600"},
    {"HTTP_CONN_PER_ADDRESS", "1001", NULL, "HTTP_CONN_PER_ADDRESS: expected an integer 0..1000"},
    {"APP_VERSION", "\"1.2.3", NULL, "APP_VERSION: unbalanced quote"},
    {"APP_VERSION", "1.2.3'", NULL, "APP_VERSION: unbalanced quote"},
    {"USERNAME", "'", NULL, "USERNAME: unbalanced quote"},
    {"DATABASE", "'sqlite:///x.db", NULL, "DATABASE: unbalanced quote"},
    {"PASSWORD", "\"hunter2", NULL,
     "PASSWORD: unbalanced quote: a value that starts or ends "
     "with a quote must be quoted whole, e.g. '...'"},
    {"DESCRIPTION", "'it is open", NULL, "DESCRIPTION: unbalanced quote"},
    {"APP_VERSION",
     "v\xff"
     "1",
     NULL, "APP_VERSION: value is not valid UTF-8"},
    {"DESCRIPTION", "caf\xe9", NULL, "DESCRIPTION: value is not valid UTF-8"},   /* Latin-1 */
    {"TIMEZONE", "Europe/\xc0\xaf", NULL, "TIMEZONE: value is not valid UTF-8"}, /* overlong */
    {"PASSWORD", "\xed\xa0\x80", NULL, "PASSWORD: value is not valid UTF-8 (value not shown)"},
};

static void test_set_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        evd_config *cfg = evd_config_new();
        int rc = evd_config_set(cfg, VALID[i].key, VALID[i].value);
        if (rc)
            print_error("%s=%s: %s\n", VALID[i].key, VALID[i].value, evd_config_errmsg(cfg));
        assert_int_equal(rc, 0);
        assert_string_equal(evd_config_get(cfg, VALID[i].key), VALID[i].stored);

        /* The same through a file. */
        char text[256], path[64];
        snprintf(text, sizeof text, "[dashboard]\n%s=%s\n", VALID[i].key, VALID[i].value);
        evd_config *f = evd_config_new();
        rc = load_text(f, text, path);
        if (rc)
            print_error("file %s=%s: %s\n", VALID[i].key, VALID[i].value, evd_config_errmsg(f));
        assert_int_equal(rc, 0);
        assert_string_equal(evd_config_get(f, VALID[i].key), VALID[i].stored);
        evd_config_free(f);
        evd_config_free(cfg);
    }
}

static void test_set_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
        evd_config *cfg = evd_config_new();
        const char *before = evd_config_get(cfg, INVALID[i].key);
        int rc = evd_config_set(cfg, INVALID[i].key, INVALID[i].value);
        const char *msg = evd_config_errmsg(cfg);
        if (rc != EVD_EINVAL || !strstr(msg, INVALID[i].err))
            print_error("%s=%s: rc %d, msg '%s', want '%s'\n", INVALID[i].key, INVALID[i].value, rc,
                        msg, INVALID[i].err);
        assert_int_equal(rc, EVD_EINVAL);
        assert_non_null(strstr(msg, INVALID[i].err));
        /* The message names the key first, as the file's does after file:line. */
        assert_int_equal(strncasecmp(msg, INVALID[i].key, strlen(INVALID[i].key)), 0);
        /* A rejected value leaves the old one. */
        assert_ptr_equal(evd_config_get(cfg, INVALID[i].key), before);
        assert_false(config_is_set(cfg, INVALID[i].key));
        evd_config_free(cfg);
    }
}

/* Bad values in a file report file, line and key. */
static void test_file_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
        if (!*INVALID[i].value || strchr(INVALID[i].value, '\t') ||
            strchr(INVALID[i].value, '\x01'))
            continue; /* an empty or blank value is covered separately */
        char text[300];
        snprintf(text, sizeof text, "# line 1\n[dashboard]\nMONITOR_LEVEL=2\n%s=%s\n",
                 INVALID[i].key, INVALID[i].value);
        evd_config *cfg = evd_config_new();
        char path[64], prefix[128];
        int rc = load_text(cfg, text, path);
        const char *msg = evd_config_errmsg(cfg);
        snprintf(prefix, sizeof prefix, "%s:4: ", path);
        if (rc != EVD_EINVAL || strncmp(msg, prefix, strlen(prefix)) ||
            !strstr(msg, INVALID[i].err))
            print_error("rc %d msg '%s' want '%s...%s'\n", rc, msg, prefix, INVALID[i].err);
        assert_int_equal(rc, EVD_EINVAL);
        assert_int_equal(strncmp(msg, prefix, strlen(prefix)), 0);
        assert_non_null(strstr(msg, INVALID[i].err));
        /* Nothing of a failed file is applied, not even its good lines. */
        assert_false(config_is_set(cfg, "MONITOR_LEVEL"));
        evd_config_free(cfg);
    }
}

/* A GIT that does not resolve loads (the agent records under APP_VERSION
 * and says so, see evd_open), but the message names where GIT was set. */
static void test_git_origin(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    char path[64], want[160], err[512], out[64];
    const char *text = "[dashboard]\nAPP_VERSION=1.0\n\nGIT = /nonexistent/repo\n";
    write_tmp(path, text, strlen(text));
    assert_int_equal(evd_config_load(cfg, path), 0);
    snprintf(want, sizeof want, "%s:4", path);
    assert_string_equal(config_origin(cfg, "GIT"), want);
    assert_int_equal(git_resolve_version(cfg, out, sizeof out, err, sizeof err), EVD_ENOENT);
    snprintf(want, sizeof want, "%s:4: GIT=/nonexistent/repo does not resolve: ", path);
    if (strncmp(err, want, strlen(want)))
        print_error("got: %s\nwant: %s...\n", err, want);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    /* A clone keeps the origins; the environment and code say so too. */
    evd_config *c2 = config_clone(cfg);
    assert_string_equal(config_origin(c2, "APP_VERSION") + strlen(path), ":2");
    setenv("EVODASH_GIT", "/elsewhere", 1);
    assert_int_equal(evd_config_apply_env(c2), 0);
    unsetenv("EVODASH_GIT");
    assert_string_equal(config_origin(c2, "GIT"), "EVODASH_GIT");
    assert_int_equal(evd_config_set(c2, "GIT", "/x"), 0);
    assert_null(config_origin(c2, "GIT"));
    assert_null(config_origin(c2, "MONITOR_LEVEL"));
    evd_config_free(c2);
    unlink(path);
    evd_config_free(cfg);
}

static void test_bad_value_message(void **state)
{
    (void)state;
    char path[512], want[600];
    fixture(path, sizeof path, "bad_level.cfg");
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_load(cfg, path), EVD_EINVAL);
    snprintf(want, sizeof want, "%s:7: MONITOR_LEVEL: expected an integer 0..3, got \"high\"",
             path);
    assert_string_equal(evd_config_errmsg(cfg), want);
    evd_config_free(cfg);
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_load_error("[dashboard]\nMONITOR_LEVEL=1\nNOT_A_KEY=1\n", 3,
                      "NOT_A_KEY: unknown key (docs/config.md lists the keys)");
    expect_load_error("[dashboard]\n\n\n\n[extras]\nA=1\n", 5,
                      "[extras]: unknown section (expected [dashboard], [authentication], "
                      "[database] or [visualization])");
    /* An unknown section is an error even when it has no keys. */
    expect_load_error("[dashboard]\nMONITOR_LEVEL=1\n[empty]\n", 3,
                      "[empty]: unknown section (expected [dashboard], [authentication], "
                      "[database] or [visualization])");
    expect_load_error("MONITOR_LEVEL=1\n[dashboard]\n", 1,
                      "MONITOR_LEVEL: key outside any section (start with [dashboard])");
    expect_load_error("[dashboard]\nMONITOR_LEVEL=1\njust some words\n", 3,
                      "syntax error: expected KEY=VALUE, [section] or a ; or # comment");
    expect_load_error("[dashboard\nMONITOR_LEVEL=1\n", 1,
                      "syntax error: expected KEY=VALUE, [section] or a ; or # comment");
    /* The first error in the file wins, whatever its kind. */
    expect_load_error("[dashboard]\nMONITOR_LEVEL=9\nnonsense\nBAD=1\n", 2,
                      "MONITOR_LEVEL: expected an integer 0..3, got \"9\"");
    expect_load_error("[dashboard]\nnonsense\nMONITOR_LEVEL=9\n", 2,
                      "syntax error: expected KEY=VALUE, [section] or a ; or # comment");
    /* A bad value that spans continuation lines is reported at its key. */
    expect_load_error("[dashboard]\nGUEST_PASSWORD=['a',\n  'b'\n  'c']\n[nope]\n", 2,
                      "GUEST_PASSWORD: list item 2: expected ',' or ']' after it (value not "
                      "shown)");
    /* Sections are case-insensitive; the BOM and CRLF line ends are fine, and
     * line numbers still count. */
    expect_load_error("\xEF\xBB\xBF[DashBoard]\r\nMONITOR_LEVEL=1\r\nX=2\r\n", 3,
                      "X: unknown key (docs/config.md lists the keys)");

    char longline[400];
    memset(longline, 'a', sizeof longline);
    memcpy(longline, "[dashboard]\nDESCRIPTION=", 24);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';
    expect_load_error(longline, 2, "line longer than 199 characters");
}

static void test_garbage(void **state)
{
    (void)state;
    char path[512];
    fixture(path, sizeof path, "garbage.cfg");
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_load(cfg, path), EVD_EINVAL);
    char want[600];
    /* inih reads the JSON line as a key, outside any section. */
    snprintf(want, sizeof want, "%s:1: {\"this\": key outside any section (start with [dashboard])",
             path);
    assert_string_equal(evd_config_errmsg(cfg), want);

    /* Binary data. */
    char tmp[64];
    static const char bin[] = "[dashboard]\nA\0B=1\n";
    write_tmp(tmp, bin, sizeof bin - 1);
    assert_int_equal(evd_config_load(cfg, tmp), EVD_EINVAL);
    snprintf(want, sizeof want, "%s:2: binary data (a NUL byte): not an INI file", tmp);
    assert_string_equal(evd_config_errmsg(cfg), want);
    unlink(tmp);

    /* Megabytes without a newline stop at the first line's limit. */
    size_t bigsz = 4u << 20;
    char *big = malloc(bigsz);
    assert_non_null(big);
    memset(big, 'x', bigsz);
    write_tmp(tmp, big, bigsz);
    free(big);
    assert_int_equal(evd_config_load(cfg, tmp), EVD_EINVAL);
    snprintf(want, sizeof want, "%s:1: line longer than 199 characters", tmp);
    assert_string_equal(evd_config_errmsg(cfg), want);
    unlink(tmp);

    /* Random bytes and random INI-ish text never crash and never pass
     * silently with a value set. */
    unsigned seed = 12345;
    static const char alphabet[] = "[]=:;#'\"\n\t ab_AZ09\\/\xEF\xBB\xBF\x01\x7f";
    for (int round = 0; round < 300; round++) {
        char buf[700];
        size_t n = 1 + (size_t)(round * 7 % (sizeof buf - 1));
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            buf[i] = round % 2 ? (char)(r & 0xff) : alphabet[r % (sizeof alphabet - 1)];
        }
        write_tmp(tmp, buf, n);
        evd_config *g = evd_config_new();
        int rc = evd_config_load(g, tmp);
        assert_true(rc == 0 || rc == EVD_EINVAL);
        if (rc)
            assert_non_null(strstr(evd_config_errmsg(g), tmp));
        unlink(tmp);
        evd_config_free(g);
    }
    evd_config_free(cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_load(cfg, "/nonexistent/evodash.cfg"), EVD_ENOENT);
    assert_string_equal(evd_config_errmsg(cfg),
                        "/nonexistent/evodash.cfg: cannot open: No such file or directory");
    assert_int_equal(evd_config_load(cfg, "/tmp"), EVD_ENOENT);
    assert_string_equal(evd_config_errmsg(cfg), "/tmp: cannot open: not a regular file");
    assert_int_equal(evd_config_load(cfg, NULL), EVD_EINVAL);
    assert_int_equal(evd_config_load(NULL, "x"), EVD_EINVAL);
    /* An empty file is a valid, empty configuration. */
    char path[64];
    assert_int_equal(load_text(cfg, "", path), 0);
    evd_config_free(cfg);
}

static void test_failed_load_keeps_values(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    char path[64];
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "7"), 0);
    assert_int_equal(load_text(cfg,
                               "[dashboard]\nAPP_VERSION=8\nGUEST_PASSWORD=['z']\n"
                               "MONITOR_LEVEL=x\n",
                               path),
                     EVD_EINVAL);
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "7");
    const char *pw;
    assert_int_equal(config_guest_password(cfg, 0, &pw), 0); /* still unset */
    /* A later good file overwrites what was set. */
    assert_int_equal(load_text(cfg, "[dashboard]\nAPP_VERSION=8\n", path), 0);
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "8");
    evd_config_free(cfg);
}

static void test_guest_lists(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int n;
        const char *items[3];
    } cases[] = {
        {"['a', 'b', 'c']", 3, {"a", "b", "c"}},
        {"[\"d q\", 'it\\'s']", 2, {"d q", "it's"}},
        {"  [ 'x' , ]  ", 1, {"x"}},
        {"[]", 0, {NULL}},
        {"plain", 1, {"plain"}},
        {"'quoted'", 1, {"quoted"}},
        {"['back\\\\slash', 'semi;colon']", 2, {"back\\slash", "semi;colon"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        evd_config *cfg = evd_config_new();
        assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", cases[i].value), 0);
        const char *pw;
        for (int j = 0; j < cases[i].n; j++) {
            assert_int_equal(config_guest_password(cfg, j, &pw), cases[i].n);
            assert_string_equal(pw, cases[i].items[j]);
        }
        assert_int_equal(config_guest_password(cfg, cases[i].n, &pw), 0);
        assert_int_equal(config_guest_password(cfg, -1, &pw), 0);
        /* NULL restores the default: no guest password */
        assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", NULL), 0);
        assert_int_equal(config_guest_password(cfg, 0, &pw), 0);
        evd_config_free(cfg);
    }
}

static void test_secrets_not_echoed(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", "['hunter2', oops]"), EVD_EINVAL);
    assert_null(strstr(evd_config_errmsg(cfg), "hunter2"));
    assert_int_equal(evd_config_set(cfg, "DATABASE", "mysql://u:hunter2@h/db"), EVD_EINVAL);
    assert_null(strstr(evd_config_errmsg(cfg), "hunter2"));
    evd_config_free(cfg);
}

static void test_set_copies_and_clone(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    char buf[32] = "first";
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", buf), 0);
    strcpy(buf, "changed");
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "first");
    assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", "['p1', 'p2']"), 0);

    evd_config *c = config_clone(cfg);
    assert_non_null(c);
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "second"), 0);
    assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", NULL), 0);
    assert_string_equal(evd_config_get(c, "APP_VERSION"), "first");
    const char *pw;
    assert_int_equal(config_guest_password(c, 1, &pw), 2);
    assert_string_equal(pw, "p2");
    evd_config_free(cfg);
    evd_config_free(c);

    evd_config *d = config_clone(NULL);
    assert_non_null(d);
    assert_string_equal(evd_config_get(d, "TIMEZONE"), "UTC");
    evd_config_free(d);
    assert_int_equal(evd_config_set(NULL, "APP_VERSION", "x"), EVD_EINVAL);
    d = evd_config_new();
    assert_int_equal(evd_config_set(d, NULL, "x"), EVD_EINVAL);
    assert_string_equal(evd_config_errmsg(d), "(null): unknown key");
    evd_config_free(d);
}

static void test_env_override(void **state)
{
    (void)state;
    char path[512];
    fixture(path, sizeof path, "fmd_example.cfg");
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_load(cfg, path), 0);
    assert_int_equal(setenv("EVODASH_MONITOR_LEVEL", "0", 1), 0);
    assert_int_equal(setenv("EVODASH_TIMEZONE", "Asia/Tokyo", 1), 0);
    assert_int_equal(setenv("EVODASH_GUEST_PASSWORD", "['e1', 'e2', 'e3']", 1), 0);
    assert_int_equal(setenv("EVODASH_RING_CAPACITY", "2048", 1), 0);
    assert_int_equal(setenv("EVODASH_NOT_A_KEY", "ignored", 1), 0);
    assert_int_equal(evd_config_apply_env(cfg), 0);
    assert_int_equal(config_int(cfg, "MONITOR_LEVEL"), 0);
    assert_string_equal(evd_config_get(cfg, "TIMEZONE"), "Asia/Tokyo");
    assert_int_equal(config_int(cfg, "RING_CAPACITY"), 2048);
    const char *pw;
    assert_int_equal(config_guest_password(cfg, 2, &pw), 3);
    assert_string_equal(pw, "e3");
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "1.0"); /* from the file */

    /* Env wins over a later evd_config_set only when applied after it. */
    assert_int_equal(evd_config_set(cfg, "MONITOR_LEVEL", "2"), 0);
    assert_int_equal(evd_config_apply_env(cfg), 0);
    assert_int_equal(config_int(cfg, "MONITOR_LEVEL"), 0);

    /* A bad variable names itself, and nothing of the environment applies. */
    assert_int_equal(setenv("EVODASH_MONITOR_LEVEL", "high", 1), 0);
    assert_int_equal(setenv("EVODASH_APP_VERSION", "9.9", 1), 0);
    evd_config *fresh = evd_config_new();
    assert_int_equal(evd_config_apply_env(fresh), EVD_EINVAL);
    assert_string_equal(evd_config_errmsg(fresh),
                        "EVODASH_MONITOR_LEVEL: expected an integer 0..3, got \"high\"");
    assert_null(evd_config_get(fresh, "APP_VERSION"));
    assert_int_equal(setenv("EVODASH_MONITOR_LEVEL", "1", 1), 0);
    assert_int_equal(setenv("EVODASH_CUSTOM_LINK", "/bad", 1), 0);
    assert_int_equal(evd_config_apply_env(fresh), EVD_EINVAL);
    assert_int_equal(strncmp(evd_config_errmsg(fresh), "EVODASH_CUSTOM_LINK: expected", 29), 0);
    evd_config_free(fresh);

    unsetenv("EVODASH_MONITOR_LEVEL");
    unsetenv("EVODASH_TIMEZONE");
    unsetenv("EVODASH_GUEST_PASSWORD");
    unsetenv("EVODASH_RING_CAPACITY");
    unsetenv("EVODASH_NOT_A_KEY");
    unsetenv("EVODASH_APP_VERSION");
    unsetenv("EVODASH_CUSTOM_LINK");
    assert_int_equal(evd_config_apply_env(NULL), EVD_EINVAL);
    evd_config_free(cfg);
}

/* Inline comments need a blank before ';' (inih's rule); '#' and ';' at a
 * line's start are comments; ':' separates like '='. */
static void test_comments_and_separators(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    char path[64];
    int rc = load_text(cfg,
                       "; comment\n# comment\n[dashboard]\n  ; indented comment\n"
                       "APP_VERSION = 2.0 ; trailing comment\nBRAND_NAME: Shop\n"
                       "TITLE_NAME = a;b\n",
                       path);
    if (rc)
        print_error("%s\n", evd_config_errmsg(cfg));
    assert_int_equal(rc, 0);
    assert_string_equal(evd_config_get(cfg, "APP_VERSION"), "2.0");
    assert_string_equal(evd_config_get(cfg, "BRAND_NAME"), "Shop");
    assert_string_equal(evd_config_get(cfg, "TITLE_NAME"), "a;b");
    evd_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_fmd_example),
        cmocka_unit_test(test_every_key_from_file),
        cmocka_unit_test(test_set_valid),
        cmocka_unit_test(test_set_invalid),
        cmocka_unit_test(test_file_bad_values),
        cmocka_unit_test(test_bad_value_message),
        cmocka_unit_test(test_git_origin),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_failed_load_keeps_values),
        cmocka_unit_test(test_guest_lists),
        cmocka_unit_test(test_secrets_not_echoed),
        cmocka_unit_test(test_set_copies_and_clone),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_comments_and_separators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
