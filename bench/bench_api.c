/* bench_api.c — latency of every dashboard route, measured with a real
 * HTTP client (one TCP connection per request, as a browser's first
 * request would be) against a running `evodash serve`.
 *
 *   usage: bench_api PORT USER PASSWORD TOKEN TO_EPOCH_S [REPS]
 *
 * Prints, per route, the median and p95 of REPS (default 15) requests
 * after one warm-up; the last line is the worst p95 over the aggregate
 * routes: `api_p95_worst_aggregate: N ms`.  The server shares one scan of
 * an endpoint's raw rows among the views asking for the same range within
 * 30 s; so that the figures are the scan's cost and not the cache's, each
 * request to a raw-row route ends its 7-day range one second earlier.  bench/bench_api.sh fills the
 * store and starts the server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX (64 << 20)

static int port;
static char cookie[128], auth[256];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One request; returns the status, or -1.  The body is read to the end
 * (Connection: close), so the time covers the whole response. */
static int http(const char *method, const char *path, const char *hdrs, const char *body,
                char *resp, size_t cap, size_t *len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, hdrs, body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, resp + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        if (got >= cap - 1)
            got = 0; /* keep reading, only the head matters */
    }
    close(fd);
    resp[got] = 0;
    if (len)
        *len = got;
    int status = -1;
    sscanf(resp, "HTTP/1.%*d %d", &status);
    return status;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct route {
    const char *path;
    int aggregate; /* 1 aggregate, 0 per endpoint, 2 raw export, 3 report (in neither headline) */
    int token;     /* authorise with the bearer token instead of the session */
    int scan;      /* reads raw rows: every request gets its own range (below) */
} route;

/* The path of one request: a raw-row route gets a 7-day range ending one
 * second earlier than the last one's. */
static const char *path_for(const route *r, char *buf, size_t cap, long to, long *shift)
{
    if (!r->scan)
        return r->path;
    snprintf(buf, cap, "%sfrom=%ld&to=%ld", r->path, to - 7 * 86400 - *shift, to - *shift);
    ++*shift;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_api PORT USER PASSWORD TOKEN TO_EPOCH_S [REPS]\n");
        return 2;
    }
    port = atoi(argv[1]);
    long to = atol(argv[5]);
    int reps = argc > 6 ? atoi(argv[6]) : 15;
    char *resp = malloc(RESP_MAX);
    char body[512];
    snprintf(body, sizeof body, "username=%s&password=%s", argv[2], argv[3]);
    int st = http("POST", "/dashboard/login", "Content-Type: application/x-www-form-urlencoded\r\n",
                  body, resp, RESP_MAX, NULL);
    char *ck = strstr(resp, "evd_session=");
    if (st != 200 || !ck) {
        fprintf(stderr, "bench_api: login failed (%d)\n", st);
        return 1;
    }
    snprintf(cookie, sizeof cookie, "Cookie: %.76s\r\n", ck);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", argv[4]);

    char T[64], R7[96];
    snprintf(T, sizeof T, "to=%ld", to);
    snprintf(R7, sizeof R7, "from=%ld&to=%ld", to - 7 * 86400, to);
    char paths[40][256];
    route routes[40];
    int nr = 0;
#define ADD(agg, tok, ...)                                                                         \
    do {                                                                                           \
        snprintf(paths[nr], sizeof paths[nr], __VA_ARGS__);                                        \
        routes[nr] = (route){.path = paths[nr], .aggregate = agg, .token = tok};                   \
        nr++;                                                                                      \
    } while (0)
    ADD(1, 0, "/dashboard/api/overview?%s", T);
    ADD(1, 0, "/dashboard/api/rules");
    ADD(1, 0, "/dashboard/api/heatmap?%s", T);
    ADD(1, 0, "/dashboard/api/daily?%s", T);
    ADD(1, 0, "/dashboard/api/hourly?%s", T);
    ADD(1, 0, "/dashboard/api/performance?%s", T);
    ADD(1, 0, "/dashboard/api/versions");
    ADD(1, 0, "/dashboard/api/instances");
    ADD(1, 0, "/dashboard/api/counters");
    ADD(1, 0, "/dashboard/api/matrix?%s", T);
    ADD(1, 0, "/dashboard/api/evolution?%s", T);
    ADD(1, 1, "/dashboard/metrics");
    /* version verdicts: findings (cached; the warm-up computes them), a
     * comparison of the last two versions (raw samples of every endpoint) */
    ADD(1, 0, "/dashboard/api/findings?%s", T);
    ADD(1, 0, "/dashboard/api/findings");
    ADD(3, 0, "/dashboard/api/compare?a=v19&b=v20");
    /* endpoint 1 is the busiest (the filler's skew) */
    ADD(0, 0, "/dashboard/api/endpoints/1/versions?%s", T);
    ADD(0, 0, "/dashboard/api/endpoints/1/heatmap?%s", T);
    /* raw-row routes: from and to are appended per request */
    ADD(0, 0, "/dashboard/api/endpoints/1/status?");
    routes[nr - 1].scan = 1;
    ADD(0, 0, "/dashboard/api/endpoints/1/groups?");
    routes[nr - 1].scan = 1;
    ADD(0, 0, "/dashboard/api/endpoints/1/ips?");
    routes[nr - 1].scan = 1;
    ADD(0, 0, "/dashboard/api/endpoints/1/bubbles?");
    routes[nr - 1].scan = 1;
    ADD(0, 0, "/dashboard/api/endpoints/1/outliers?%s", T);
    ADD(0, 0, "/dashboard/api/endpoints/1/profile?%s", R7);
    ADD(0, 0, "/dashboard/api/endpoints/1/profiled?%s", R7);
    ADD(0, 0, "/dashboard/api/endpoints/1/profile_diff?a=v19&b=v20");
    ADD(0, 0, "/dashboard/api/outliers/1");
    ADD(0, 0, "/dashboard/api/requests/1/profile");
    ADD(0, 0, "/dashboard/api/session");
    /* one hour of raw rows (~4,600), streamed */
    ADD(2, 1, "/dashboard/api/export?format=csv&from=%ld&to=%ld", to - 3600, to);
    ADD(2, 1, "/dashboard/api/export?format=json&from=%ld&to=%ld", to - 3600, to);

    double worst_agg = 0, worst_ep = 0, findings_p95 = 0;
    double *t = malloc((size_t)reps * sizeof *t);
    printf("%-58s %9s %9s\n", "route", "median", "p95");
    char path[256];
    long shift = 0; /* seconds: a new range for every raw-row request */
    for (int i = 0; i < nr; i++) {
        const char *h = routes[i].token ? auth : cookie;
        size_t len = 0;
#define PATH_FOR(r)                                                                                \
    ((r).scan ? (snprintf(path, sizeof path, (r).path, to - 7 * 86400 - shift, to - shift),        \
                 shift++, path)                                                                    \
              : (r).path)
        st = http("GET", path_for(&routes[i], path, sizeof path, to, &shift), h, NULL, resp,
                  RESP_MAX, &len); /* warm-up */
        if (st != 200) {
            fprintf(stderr, "bench_api: %s answered %d\n", routes[i].path, st);
            return 1;
        }
        for (int k = 0; k < reps; k++) {
            const char *pth = path_for(&routes[i], path, sizeof path, to, &shift);
            double t0 = now_ms();
            st = http("GET", pth, h, NULL, resp, RESP_MAX, &len);
            t[k] = now_ms() - t0;
            if (st != 200) {
                fprintf(stderr, "bench_api: %s answered %d\n", routes[i].path, st);
                return 1;
            }
        }
        qsort(t, (size_t)reps, sizeof *t, cmp);
        double med = t[reps / 2], p95 = t[(int)((reps - 1) * 0.95 + 0.5)];
        static const char *const kind[] = {"per-endpoint", "aggregate", "export", "report"};
        printf("%-58.58s %7.1f ms %7.1f ms  %s\n", routes[i].path, med, p95,
               kind[routes[i].aggregate]);
        if (routes[i].aggregate == 1 && p95 > worst_agg)
            worst_agg = p95;
        if (routes[i].aggregate == 0 && p95 > worst_ep)
            worst_ep = p95;
        if (strstr(routes[i].path, "/api/findings") && p95 > findings_p95)
            findings_p95 = p95;
    }
    printf("api_p95_findings: %.1f ms\n", findings_p95);
    printf("api_p95_worst_per_endpoint: %.1f ms\n", worst_ep);
    printf("api_p95_worst_aggregate: %.1f ms\n", worst_agg);
    free(t);
    free(resp);
    return 0;
}
