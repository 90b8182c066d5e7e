/* test_sim_serve.c — the threads of `evodash simulate --serve` (src/sim/
 * serve.c): run the server in a thread of this process, hit it from several
 * client threads at once (page, list, uploads, results), then stop it with
 * SIGTERM.  Built under ASan and TSan (TSAN_TESTS), so that races between
 * libmicrohttpd's connection threads and the run lock show up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/sim.h"

static int port;
static char dir[64];

struct srv {
    sim_serve_opts o;
    char listen[32];
    char err[300];
    int rc;
};

static void *serve_main(void *arg)
{
    struct srv *s = arg;
    s->rc = sim_serve(&s->o, s->err, sizeof s->err);
    return NULL;
}

/* One HTTP/1.0 exchange; returns the status and the body in *body (caller
 * frees), or -1 if the server cannot be reached. */
static int http(const char *req, size_t len, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, req + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while (buf && (got = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *b = realloc(buf, 2 * cap + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return -1;
    buf[n] = 0;
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *b = strstr(buf, "\r\n\r\n");
    *body = strdup(b ? b + 4 : "");
    free(buf);
    return status;
}

static int get(const char *path, char **body)
{
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    return http(req, (size_t)n, body);
}

static int post_run(const char *profile, const char *dist, char **body)
{
    static const char B[] = "xxBOUNDARYxx";
    char part[4096], req[8192];
    int n =
        snprintf(part, sizeof part,
                 "--%s\r\nContent-Disposition: form-data; name=\"profile\"; "
                 "filename=\"profile.json\"\r\nContent-Type: application/json\r\n\r\n%s\r\n"
                 "--%s\r\nContent-Disposition: form-data; name=\"distribution\"; "
                 "filename=\"distribution.json\"\r\nContent-Type: application/json\r\n\r\n%s\r\n"
                 "--%s\r\nContent-Disposition: form-data; name=\"seed\"\r\n\r\n5\r\n--%s--\r\n",
                 B, profile, B, dist, B, B);
    int m = snprintf(req, sizeof req,
                     "POST /api/runs HTTP/1.0\r\nHost: x\r\nContent-Type: multipart/form-data; "
                     "boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
                     B, n, part);
    return http(req, (size_t)m, body);
}

static const char PROFILE[] = "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                              "\"functions\":[{\"functionID\":\"f\",\"cpu_time\":1e6,"
                              "\"cpu_time_dist\":\"exponential\"}]}]}]}";
static const char DIST[] =
    "[{\"kind\":\"poisson\",\"rate\":500,\"start\":0,\"end\":20,\"scenarioID\":1}]";

static void *client(void *arg)
{
    long k = (long)arg;
    char *body = NULL;
    int st;
    if (k % 2) {
        st = post_run(PROFILE, DIST, &body);
        /* 503 when another upload is running: both are correct answers. */
        if (st != 201 && st != 503)
            return (void *)1;
    } else {
        st = get(k % 4 ? "/api/runs" : "/", &body);
        if (st != 200)
            return (void *)1;
    }
    free(body);
    return NULL;
}

static void test_serve_threads(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/evd_test_sim_serve_%d", (int)getpid());
    /* A free port: bind to 0, read it back, release it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    port = ntohs(sa.sin_port);
    close(fd);

    /* SIGTERM must reach the server's sigwait, not kill the process. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    static struct srv s;
    snprintf(s.listen, sizeof s.listen, "127.0.0.1:%d", port);
    s.o =
        (sim_serve_opts){.listen = s.listen, .dir = dir, .max_upload = 65536, .max_arrivals = 1e5};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_main, &s), 0);
    char *body = NULL;
    int st = -1;
    for (int i = 0; i < 200 && st < 0; i++) {
        st = get("/", &body);
        if (st < 0)
            usleep(20000);
    }
    assert_int_equal(st, 200);
    assert_non_null(strstr(body, "echarts.js"));
    free(body);

    /* Eight clients at once: four uploads, four readers. */
    pthread_t cl[8];
    for (long k = 0; k < 8; k++)
        assert_int_equal(pthread_create(&cl[k], NULL, client, (void *)k), 0);
    for (int k = 0; k < 8; k++) {
        void *ret;
        pthread_join(cl[k], &ret);
        assert_null(ret);
    }
    /* At least one run went through; its results are served. */
    assert_int_equal(get("/api/runs", &body), 200);
    char *id = strstr(body, "\"id\":");
    assert_non_null(id);
    char path[64];
    snprintf(path, sizeof path, "/api/runs/%ld", strtol(id + 5, NULL, 10));
    free(body);
    assert_int_equal(get(path, &body), 200);
    assert_non_null(strstr(body, "\"service_util\""));
    free(body);
    assert_int_equal(post_run("{", DIST, &body), 400);
    assert_non_null(strstr(body, "profile.json:1:"));
    free(body);

    kill(getpid(), SIGTERM);
    pthread_join(th, NULL);
    assert_int_equal(s.rc, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
