/* serve.c — the simulation page: `evodash simulate --serve`.
 *
 * DESIGN — libmicrohttpd runs one thread per connection (plus its listening
 * thread); the main thread only waits for SIGINT/SIGTERM.  Connections share
 * no memory except the run directory and `run_lock`: a simulation runs
 * inside the POST request that asked for it, and run_lock (a mutex taken
 * with trylock) lets one run at a time use the CPU; a second POST meanwhile
 * gets 503 instead of queueing up work.  Run ids are allocated under the
 * same lock.  Past runs are read back from the directory, so they survive a
 * restart.
 *
 * Uploads are untrusted: each file is capped (max_upload), the JSON is
 * validated by the same loader as the CLI, the expected number of arrivals
 * is capped (max_arrivals), run ids in URLs must be decimal digits, and
 * files are only ever opened under DIR/run-NNNNNN/ with fixed names. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "assets/assets.h"
#include "evodash.h"
#include "sim/arrivals.h"
#include "sim/sim.h"

extern const char evd_sim_page_html[];
extern const char evd_sim_page_html_end[];

static const char *const FIELDS[4] = {"profile", "services", "mapping", "distribution"};

struct server {
    const sim_serve_opts *o;
    pthread_mutex_t run_lock;
};

struct upload {
    char *buf[4];
    size_t len[4];
    char seed[32], until[32];
    size_t max;   /* bytes per file */
    size_t total; /* bytes of body received */
    int too_big;
    struct MHD_PostProcessor *pp;
};

/* ---- responses -------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!s)
        return MHD_NO;
    enum MHD_Result ret = reply(c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* ---- the run directory -------------------------------------------------------- */

static int parse_id(const char *s, long *id)
{
    if (!*s || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *id = strtol(s, NULL, 10);
    return 0;
}

static void run_path(char *out, size_t n, const char *dir, long id, const char *file)
{
    snprintf(out, n, "%s/run-%06ld%s%s", dir, id, file ? "/" : "", file ? file : "");
}

static long next_id(const char *dir)
{
    long max = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        long id;
        if (!strncmp(e->d_name, "run-", 4) && !parse_id(e->d_name + 4, &id) && id > max)
            max = id;
    }
    closedir(d);
    return max + 1;
}

static int write_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(buf, 1, len, f);
    return fclose(f) || w != len ? -1 : 0;
}

static enum MHD_Result list_runs(struct server *s, struct MHD_Connection *c)
{
    json_t *runs = json_array();
    DIR *d = opendir(s->o->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            long id;
            char path[4200];
            if (strncmp(e->d_name, "run-", 4) || parse_id(e->d_name + 4, &id))
                continue;
            run_path(path, sizeof path, s->o->dir, id, "meta.json");
            json_t *meta = json_load_file(path, 0, NULL);
            if (meta)
                json_array_append_new(runs, meta);
        }
        closedir(d);
    }
    /* Newest first. */
    size_t n = json_array_size(runs);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0; k--) {
            json_t *a = json_array_get(runs, k - 1), *b = json_array_get(runs, k);
            if (json_integer_value(json_object_get(a, "id")) >=
                json_integer_value(json_object_get(b, "id")))
                break;
            json_incref(a);
            json_array_set(runs, k - 1, b);
            json_array_set_new(runs, k, a);
        }
    return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "runs", runs));
}

static enum MHD_Result get_results(struct server *s, struct MHD_Connection *c, const char *idstr)
{
    long id;
    char path[4200];
    if (parse_id(idstr, &id))
        return reply_error(c, MHD_HTTP_BAD_REQUEST, "run id: expected decimal digits");
    run_path(path, sizeof path, s->o->dir, id, "SimResults.json");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        return reply_error(c, MHD_HTTP_NOT_FOUND, "no run %ld", id);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- starting a run ---------------------------------------------------------- */

static double num_field(const char *s, double def, int *bad)
{
    if (!*s)
        return def;
    char *end;
    double x = strtod(s, &end);
    if (*end || x < 0 || x != x)
        *bad = 1;
    return x;
}

static enum MHD_Result start_run(struct server *s, struct MHD_Connection *c, struct upload *u)
{
    const sim_serve_opts *o = s->o;
    if (u->too_big == 2)
        return reply_error(c, MHD_HTTP_BAD_REQUEST, "upload: malformed multipart/form-data body");
    if (u->too_big)
        return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                           "upload: each file may be at most %zu bytes", o->max_upload);
    if (!u->buf[SIM_DOC_PROFILE] || !u->buf[SIM_DOC_DISTRIBUTION])
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "upload: the profile and distribution files are required");
    int bad = 0;
    double seed = num_field(u->seed, 1, &bad), until = num_field(u->until, 0, &bad);
    if (bad || seed > 1e15)
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "seed and until: expected non-negative numbers");
    sim_model *m = sim_model_new();
    if (!m)
        return MHD_NO;
    static const char *const labels[4] = {"profile.json", "services.json", "mapping.json",
                                          "distribution.json"};
    for (int k = 0; k < 4; k++)
        if (u->buf[k] && sim_model_load_buf(m, k, labels[k], u->buf[k], u->len[k])) {
            enum MHD_Result ret = reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", sim_model_errmsg(m));
            sim_model_free(m);
            return ret;
        }
    if (sim_model_link(m)) {
        enum MHD_Result ret = reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", sim_model_errmsg(m));
        sim_model_free(m);
        return ret;
    }
    double expected = 0, runs = 0;
    for (int i = 0; i < sim_model_narr(m); i++) {
        const sim_arr *a = sim_model_arr(m, i);
        double n = sim_stream_expected(a, 1);
        expected += n;
        runs += n * sim_model_scen(m, a->scen)->runs;
    }
    if (expected > o->max_arrivals) {
        sim_model_free(m);
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "distribution.json: about %.0f arrivals; this server runs at most %.0f",
                           expected, o->max_arrivals);
    }
    if (runs > 20 * o->max_arrivals) {
        sim_model_free(m);
        return reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "profile.json: about %.0f function runs in all; this server runs at "
                           "most %.0f",
                           runs, 20 * o->max_arrivals);
    }
    if (pthread_mutex_trylock(&s->run_lock)) {
        sim_model_free(m);
        return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "another run is in progress");
    }
    char path[4200], final[4200], err[4500] = "";
    long id = next_id(o->dir);
    sim_run *r = NULL;
    json_t *meta = NULL;
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    run_path(path, sizeof path, o->dir, id, NULL);
    if (id < 0 || mkdir(path, 0755)) {
        snprintf(err, sizeof err, "cannot create a run directory in %s: %s", o->dir,
                 strerror(errno));
        goto done;
    }
    for (int k = 0; k < 4; k++) {
        run_path(path, sizeof path, o->dir, id, labels[k]);
        if (u->buf[k] && write_file(path, u->buf[k], u->len[k])) {
            snprintf(err, sizeof err, "cannot write %s", path);
            goto done;
        }
    }
    double end = sim_model_arrivals_end(m);
    sim_opts so = {.seed = (uint64_t)seed,
                   .until = until,
                   .series = 1,
                   .interval = end > 2000 ? end / 2000 : 1};
    if (sim_run_new(m, &so, &r) || sim_run_exec(r)) {
        snprintf(err, sizeof err, "%s", r ? sim_run_errmsg(r) : "out of memory");
        goto done;
    }
    /* Written under a temporary name and renamed, so that readers of the
     * run directory never see half a file. */
    run_path(path, sizeof path, o->dir, id, "SimResults.json.tmp");
    run_path(final, sizeof final, o->dir, id, "SimResults.json");
    FILE *f = fopen(path, "w");
    int wrc = f ? sim_run_write_json(r, f) : -1;
    if ((f && fclose(f)) || wrc || rename(path, final)) {
        snprintf(err, sizeof err, "cannot write %s", final);
        goto done;
    }
    sim_totals t;
    sim_run_totals(r, &t);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    meta = json_pack("{s:I,s:s,s:I,s:f,s:I,s:I,s:I,s:I,s:f,s:f}", "id", (json_int_t)id, "created",
                     when, "seed", (json_int_t)seed, "until", until, "arrivals",
                     (json_int_t)t.arrivals, "completed", (json_int_t)t.inter_completed,
                     "in_flight", (json_int_t)t.inter_in_flight, "events", (json_int_t)t.events,
                     "end_time", t.end_time, "wall_s", t.wall_s);
    run_path(path, sizeof path, o->dir, id, "meta.json.tmp");
    run_path(final, sizeof final, o->dir, id, "meta.json");
    if (!meta || json_dump_file(meta, path, JSON_COMPACT) || rename(path, final)) {
        snprintf(err, sizeof err, "cannot write %s", final);
        goto done;
    }
    status = MHD_HTTP_CREATED;
done:
    pthread_mutex_unlock(&s->run_lock);
    sim_run_free(r);
    sim_model_free(m);
    if (status != MHD_HTTP_CREATED) {
        json_decref(meta);
        return reply_error(c, status, "%s", err);
    }
    return reply_json(c, status, meta);
}

/* ---- request plumbing ----------------------------------------------------------- */

static enum MHD_Result on_post_data(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data, uint64_t off,
                                    size_t size)
{
    struct upload *u = cls;
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
    if (!strcmp(key, "seed") || !strcmp(key, "until")) {
        char *dst = key[0] == 's' ? u->seed : u->until;
        size_t have = strlen(dst);
        if (have + size >= sizeof u->seed) {
            u->too_big = 1;
            return MHD_YES;
        }
        memcpy(dst + have, data, size);
        dst[have + size] = 0;
        return MHD_YES;
    }
    for (int k = 0; k < 4; k++) {
        if (strcmp(key, FIELDS[k]))
            continue;
        if (u->len[k] + size > u->max) {
            u->too_big = 1; /* keep reading, to answer 413 once the body is in */
            return MHD_YES;
        }
        char *b = realloc(u->buf[k], u->len[k] + size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + u->len[k], data, size);
        u->len[k] += size;
        b[u->len[k]] = 0;
        u->buf[k] = b;
    }
    return MHD_YES;
}

static void upload_free(struct upload *u)
{
    if (!u)
        return;
    if (u->pp)
        MHD_destroy_post_processor(u->pp);
    for (int k = 0; k < 4; k++)
        free(u->buf[k]);
    free(u);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    upload_free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct server *s = cls;
    (void)version;
    if (!strcmp(method, "POST") && !strcmp(url, "/api/runs")) {
        struct upload *u = *con_cls;
        if (!u) {
            if (!(u = calloc(1, sizeof *u)))
                return MHD_NO;
            u->max = s->o->max_upload;
            u->pp = MHD_create_post_processor(c, 64 * 1024, on_post_data, u);
            *con_cls = u;
            if (!u->pp)
                return reply_error(c, MHD_HTTP_BAD_REQUEST,
                                   "upload: expected multipart/form-data with the files");
            return MHD_YES;
        }
        if (*size) {
            u->total += *size;
            if (u->total > 4 * u->max + 65536)
                return MHD_NO; /* far past any valid upload: drop the connection */
            if (u->pp && !u->too_big && MHD_post_process(u->pp, data, *size) != MHD_YES)
                u->too_big = 2;
            *size = 0;
            return MHD_YES;
        }
        if (!u->pp)
            return MHD_YES; /* the error is already queued */
        return start_run(s, c, u);
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", evd_sim_page_html,
                     (size_t)(evd_sim_page_html_end - evd_sim_page_html), MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/echarts.js")) {
        size_t len;
        const char *js = assets_echarts(&len);
        return reply(c, MHD_HTTP_OK, "text/javascript; charset=utf-8", js, len,
                     MHD_RESPMEM_PERSISTENT);
    }
    if (!strcmp(url, "/api/runs"))
        return list_runs(s, c);
    if (!strncmp(url, "/api/runs/", 10))
        return get_results(s, c, url + 10);
    return reply_error(c, MHD_HTTP_NOT_FOUND, "not found: %s", url);
}

int sim_serve(const sim_serve_opts *o, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(o->listen, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!colon || (size_t)(colon - o->listen) >= sizeof host || port <= 0 || port > 65535) {
        snprintf(err, errlen, "--listen %s: expected IPV4:PORT, e.g. 127.0.0.1:9100", o->listen);
        return EVD_EINVAL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - o->listen), o->listen);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--listen %s: %s is not an IPv4 address", o->listen, host);
        return EVD_EINVAL;
    }
    sa.sin_port = htons((uint16_t)port);
    if (mkdir(o->dir, 0755) && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", o->dir, strerror(errno));
        return EVD_EIO;
    }
    struct server s = {.o = o};
    pthread_mutex_init(&s.run_lock, NULL);
    /* Block the stop signals in every thread, then wait for them here. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request,
        &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_END);
    if (!d) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_mutex_destroy(&s.run_lock);
        snprintf(err, errlen, "cannot listen on %s (in use?)", o->listen);
        return EVD_EIO;
    }
    fprintf(stderr, "evodash simulate: serving http://%s/ (runs in %s); Ctrl-C stops\n", o->listen,
            o->dir);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_destroy(&s.run_lock);
    return 0;
}
