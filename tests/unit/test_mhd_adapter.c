/* test_mhd_adapter.c — the libmicrohttpd adapter under concurrent clients:
 * every request is recorded once, under the endpoint its route names
 * (ids in paths folded to <id>), with the group the handler names through
 * evd_mhd_set_group(); many threads looking up and registering endpoints
 * at once; outlier details read by the watchdog while requests end, with
 * their secrets masked.  Runs under ASan and TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evodash.h"
#include "testutil.h"

#define NCLIENTS 4
#define PER      60
#define NROUTES  6

static uint16_t port;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    if (!*req_cls) {
        *req_cls = c;
        return MHD_YES;
    }
    evd_mhd_set_group(c, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-User"));
    const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
    if (ms)
        tu_spin_ms(atoi(ms));
    struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* One HTTP/1.0 GET with an extra header line (may be ""); returns the
 * status code or -1. */
static int get_with(const char *path, const char *user, const char *extra)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[1024], resp[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nX-User: %s\r\nX-Access-Key: hsecret\r\n%s\r\n", path, user,
                     extra);
    if (n < 0 || (size_t)n >= sizeof req)
        return -1;
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t k;
    while (got < sizeof resp - 1 && (k = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)k;
    resp[got] = 0;
    close(fd);
    int status = -1;
    sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

static int get(const char *path, const char *user)
{
    return get_with(path, user, "");
}

static void *client(void *arg)
{
    long t = (long)(intptr_t)arg, bad = 0;
    for (int i = 0; i < PER; i++) {
        char path[64], user[16];
        /* route r: /r<r>/<number>, so every request of a route is one endpoint */
        snprintf(path, sizeof path, "/r%d/%d", (int)((t + i) % NROUTES), i * 7 + (int)t);
        snprintf(user, sizeof user, "u%ld", t);
        bad += get(path, user) != 200;
    }
    return (void *)(intptr_t)bad;
}

/* An agent on tu_url (MONITOR_LEVEL level, or the default when NULL) and
 * the adapter in front of handler; sets port. */
static evd_mhd *start_with(const char *level, const char *test_header, evd_agent **a)
{
    evd_config *cfg = evd_config_new();
    if (test_header)
        evd_config_set(cfg, "TEST_HEADER", test_header);
    evd_config_set(cfg, "DATABASE", tu_url);
    evd_config_set(cfg, "APP_VERSION", "v1");
    evd_config_set(cfg, "MONITOR_LEVEL", level);
    evd_config_set(cfg, "USERNAME", "admin");
    evd_config_set(cfg, "PASSWORD", "adapter-test-pw");
    assert_int_equal(evd_open(cfg, a), 0);
    evd_mhd *m;
    char err[256];
    assert_int_equal(evd_mhd_start(*a, cfg,
                                   MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                   0, handler, NULL, NULL, NULL, &m, err, sizeof err),
                     0);
    evd_config_free(cfg);
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(evd_mhd_daemon(m), MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(di);
    port = di->port;
    return m;
}

static evd_mhd *start(const char *level, evd_agent **a)
{
    return start_with(level, NULL, a);
}

/* NCLIENTS threads of fn at once; every request of theirs answered 200. */
static void run_clients(void *(*fn)(void *))
{
    pthread_t th[NCLIENTS];
    for (long t = 0; t < NCLIENTS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, fn, (void *)(intptr_t)t), 0);
    long bad = 0;
    for (int t = 0; t < NCLIENTS; t++) {
        void *r;
        pthread_join(th[t], &r);
        bad += (long)(intptr_t)r;
    }
    assert_int_equal(bad, 0);
}

/* Stop the adapter, then drain and close the agent: everything recorded. */
static void stop(evd_mhd *m, evd_agent *a)
{
    evd_mhd_stop(m);
    assert_int_equal(evd_flush(a, 30000), 0);
    assert_int_equal(evd_close(a), 0);
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    evd_agent *a;
    evd_mhd *m = start(NULL, &a);
    run_clients(client);
    stop(m, a);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), NCLIENTS * PER);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints"), NROUTES);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints WHERE name GLOB "
                                       "'GET /r[0-9]/<id>'"),
                     NROUTES);
    for (int t = 0; t < NCLIENTS; t++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM requests WHERE group_name = 'u%d'", t);
        assert_int_equal(tu_sql_int(tu_db, sql), PER);
    }
}

static void *slow_client(void *arg)
{
    long bad = 0, t = (long)(intptr_t)arg;
    for (int i = 0; i < 8; i++) {
        char path[400];
        /* one slow request in four: an outlier, the others end around it.
         * 400 ms stays past 2.5x the mean even when a loaded machine makes
         * the 1-ms requests take tens of milliseconds. */
        snprintf(path, sizeof path, "/work?ms=%d&q=ok&jwt=qsecret%ld&%s=x", i % 4 ? 1 : 400, t,
                 "a_very_long_parameter_name_that_runs_on_and_on_past_the_old_limit_of_127_"
                 "bytes_which_the_matcher_used_to_stop_at_and_so_ends_in_session");
        bad += get(path, "u") != 200;
    }
    return (void *)(intptr_t)bad;
}

static void test_outlier_details(void **state)
{
    (void)state;
    evd_agent *a;
    evd_mhd *m = start("2", &a);
    for (int i = 0; i < 20; i++)
        assert_int_equal(get("/work?ms=1", "warm"), 200);
    assert_int_equal(evd_flush(a, 30000), 0); /* the writer now knows the mean */
    run_clients(slow_client);
    stop(m, a);
    assert_true(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE details LIKE "
                                  "'%\"url\":\"/work?ms=400&q=ok&jwt=***&%'") >= NCLIENTS);
    /* No secret anywhere (a busy machine may make warm-up requests outliers
     * too); every slow request shows its plain values and masks the rest. */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE details LIKE "
                                       "'%secret%' OR details NOT LIKE "
                                       "'%\"X-Access-Key\":\"***\"%'"),
                     0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE details LIKE "
                                       "'%ms=400%' AND (details NOT LIKE '%\"q\":\"ok\"%' OR "
                                       "details NOT LIKE '%_session\":\"***\"%')"),
                     0);
}

/* X-Evodash-Test names a request's test, into the CI tables; only with
 * TEST_HEADER on, else it is live traffic like any other. */
static void test_test_header(void **state)
{
    (void)state;
    for (int on = 0; on < 2; on++) {
        evd_agent *a;
        evd_mhd *m = start_with("1", on ? "true" : "false", &a);
        assert_int_equal(get_with("/r1/5", "u", "X-Evodash-Test: tests.api::test_one\r\n"), 200);
        assert_int_equal(get("/r1/6", "u"), 200);
        stop(m, a);
    }
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 3);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test = "
                                       "'tests.api::test_one' AND endpoint = 'GET /r1/<id>'"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_clients, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_outlier_details, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_test_header, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
