/* c_service.c — a small libmicrohttpd JSON service instrumented by evodash
 * with one call (evd_mhd_start in place of MHD_start_daemon).  Every
 * request is recorded per route, and the dashboard is served at
 * http://127.0.0.1:PORT/dashboard on the same port.
 *
 *   usage: c_service CONFIG [PORT]     (PORT 0 or absent: a free port)
 *
 * Routes, of different speeds:
 *   GET  /hello          fast
 *   GET  /users/<id>     ~5 ms  (404 for ids above 1000)
 *   POST /orders         ~30 ms
 *   GET  /slow?ms=N      N ms (0..5000, default 100): makes outliers at level 2
 *   GET  /work/N         N ms (1..200) of CPU work: each cost is an endpoint of
 *                        its own (the capacity benchmark's mix)
 *   anything else        404, and not recorded: the route callback tells
 *                        the adapter which paths are the service's, so a
 *                        scanner's /wp-login.php creates no endpoint
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "evodash.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Burn ms milliseconds of this thread's CPU time: a fixed amount of work,
 * which takes longer when the CPU is shared, as real work does (a spin on
 * the wall clock would not). */
static void spin_cpu_ms(int ms)
{
    struct timespec a, b;
    volatile double x = 0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        for (int i = 0; i < 2000; i++)
            x += i * 0.5;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) < ms * 1000000LL);
}

/* N of "/work/N" when it is 1..200, else 0. */
static int work_ms(const char *url)
{
    if (strncmp(url, "/work/", 6) || !url[6] || strspn(url + 6, "0123456789") != strlen(url + 6) ||
        strlen(url + 6) > 3)
        return 0;
    int n = atoi(url + 6);
    return n >= 1 && n <= 200 ? n : 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The service's own handler: apart from naming the user group, it knows
 * nothing about evodash. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    if (!*req_cls) { /* first call: headers only */
        *req_cls = c;
        return MHD_YES;
    }
    if (*upload_data_size) { /* this service ignores request bodies */
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* Optional: who is asking, for the per-user views (here the caller's
     * X-User header; a real service would use its session). */
    evd_mhd_set_group(c, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-User"));
    char body[128];
    if (!strcmp(method, "GET") && !strcmp(url, "/hello"))
        return reply(c, MHD_HTTP_OK, "{\"hello\":\"world\"}");
    if (!strcmp(method, "GET") && !strncmp(url, "/users/", 7)) {
        char *end;
        long id = strtol(url + 7, &end, 10);
        sleep_ms(5);
        if (end == url + 7 || *end || id < 0 || id > 1000)
            return reply(c, MHD_HTTP_NOT_FOUND, "{\"error\":\"no such user\"}");
        snprintf(body, sizeof body, "{\"id\":%ld,\"name\":\"user%ld\"}", id, id);
        return reply(c, MHD_HTTP_OK, body);
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/orders")) {
        sleep_ms(30);
        return reply(c, MHD_HTTP_CREATED, "{\"order\":\"accepted\"}");
    }
    if (!strcmp(method, "GET") && !strcmp(url, "/slow")) {
        const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
        int n = ms ? atoi(ms) : 100;
        sleep_ms(n < 0 ? 0 : n > 5000 ? 5000 : n);
        return reply(c, MHD_HTTP_OK, "{\"slept\":true}");
    }
    if (!strcmp(method, "GET") && work_ms(url)) {
        spin_cpu_ms(work_ms(url));
        return reply(c, MHD_HTTP_OK, "{\"worked\":true}");
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "{\"error\":\"not found\"}");
}

/* The adapter's route callback: the endpoint each of the service's paths
 * belongs to, and EVD_MHD_UNROUTED for every other path. */
static int route(void *user, const char *method, const char *url, char *out, size_t cap)
{
    (void)user;
    static const char *const fixed[][2] = {
        {"GET", "/hello"}, {"POST", "/orders"}, {"GET", "/slow"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(method, fixed[i][0]) && !strcmp(url, fixed[i][1])) {
            snprintf(out, cap, "%s %s", method, url);
            return 0;
        }
    if (!strcmp(method, "GET") && !strncmp(url, "/users/", 7) && url[7] &&
        strspn(url + 7, "0123456789") == strlen(url + 7)) {
        snprintf(out, cap, "GET /users/<id>");
        return 0;
    }
    if (!strcmp(method, "GET") && work_ms(url)) {
        snprintf(out, cap, "GET /work/%d", work_ms(url));
        return 0;
    }
    return EVD_MHD_UNROUTED;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: c_service CONFIG [PORT]\n");
        return 2;
    }
    uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 0;
    evd_config *cfg = evd_config_new();
    evd_agent *agent = NULL;
    evd_mhd *mhd = NULL;
    char err[256];
    int rc = 1;

    if (!cfg || evd_config_load(cfg, argv[1]) || evd_config_apply_env(cfg)) {
        fprintf(stderr, "c_service: %s\n", cfg ? evd_config_errmsg(cfg) : "out of memory");
        goto done;
    }
    /* A store that cannot be opened now is not fatal: the agent records,
     * retries it and counts what it cannot keep; only a bad configuration
     * stops the service. */
    if (evd_open(cfg, &agent)) {
        fprintf(stderr, "c_service: %s\n", evd_errmsg(agent));
        if (!evd_running(agent))
            goto done;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    /* The one call: instead of MHD_start_daemon(flags, port, NULL, NULL,
     * handler, NULL, MHD_OPTION_END). */
    if (evd_mhd_start(agent, cfg, MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                      port, handler, NULL, route, NULL, &mhd, err, sizeof err)) {
        fprintf(stderr, "c_service: %s\n", err);
        goto done;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(evd_mhd_daemon(mhd), MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "c_service: listening on http://127.0.0.1:%u/ (dashboard at /dashboard)\n",
            di ? di->port : port);
    int sig;
    sigwait(&stop, &sig);
    rc = 0;
done:
    evd_mhd_stop(mhd);
    if (agent && evd_close(agent) && rc == 0)
        fprintf(stderr, "c_service: some records did not reach the store\n");
    evd_config_free(cfg);
    return rc;
}
