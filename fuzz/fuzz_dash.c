/* fuzz_dash.c — libFuzzer target for the dashboard handler: routing, query
 * parsing, range and pagination parameters, cookies and the login body.
 *
 * Input: one method byte ('G' GET, 'P' POST, lower case: the same with an
 * admin session cookie and its CSRF token added; anything else PUT),
 * then "path\nquery\n", header lines "Name: value\n" up to an empty line,
 * and the body.  The handler runs on a small store with endpoints, users
 * and a SECURITY_TOKEN, so authorised routes run their queries too.  Any
 * 5xx status, crash or sanitizer report is a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evodash.h"
#include "dash/dash_int.h"
#include "store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static evd_dash *dash;
static char cookie[128], csrf[80];
static char dir[64] = "/tmp/evd-fuzz-XXXXXX";

static void cleanup(void)
{
    char path[128];
    evd_dash_close(dash);
    dash = NULL;
    static const char *const files[] = {"f.db", "f.db-wal", "f.db-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char url[128];
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    snprintf(url, sizeof url, "%s/f.db", dir);
    store *st = NULL;
    if (store_open(url, 0, &st))
        abort();
    int64_t id, v, inst, svc;
    int level;
    store_service_register(st, "fz", 1, &svc);
    store_instance in = {.name = "fz", .host = "host", .pid = 1, .service_id = svc};
    store_instance_register(st, &in, 1, &inst);
    store_version_touch(st, "v1", 1000000, &v);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "ep%d", i);
        store_endpoint_upsert(st, svc, name, "/x", "GET", 1, &id, &level);
        store_request r = {.endpoint_id = id,
                           .version_id = v,
                           .instance_id = inst,
                           .ts_us = 1000000 * (i + 1),
                           .duration_us = 10 + i,
                           .status = 200,
                           .group = "g",
                           .ip = "1.2.3.4"};
        store_insert_request(st, &r, &id);
    }
    store_close(st);
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "USERNAME", "fz");
    evd_config_set(cfg, "PASSWORD", "fuzz-password");
    evd_config_set(cfg, "SECURITY_TOKEN", "fuzz-token");
    if (evd_dash_open(cfg, url, &dash)) {
        fprintf(stderr, "fuzz: %s\n", evd_dash_errmsg(dash));
        abort();
    }
    evd_config_free(cfg);
    evd_dash_request rq = {.method = "POST",
                           .path = "/dashboard/login",
                           .body = "username=fz&password=fuzz-password",
                           .body_len = 34};
    evd_dash_response rs;
    if (evd_dash_handle(dash, &rq, &rs) || rs.status != 200)
        abort();
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(rs.set_cookie, ";"), rs.set_cookie);
    const char *t = strstr(rs.body, "\"csrf_token\":\"");
    if (!t)
        abort();
    snprintf(csrf, sizeof csrf, "%.64s", t + 14);
    evd_dash_response_free(&rs);
    return 0;
}

/* Take the next '\n'-terminated piece of buf as a NUL-terminated string. */
static char *piece(char **p, char *end)
{
    char *s = *p;
    if (s >= end)
        return NULL;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        nl = end;
    *nl = 0;
    *p = nl < end ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    char *end = buf + size, *p = buf + 1;
    char m = buf[0];
    const char *method = (m | 0x20) == 'g' ? "GET" : (m | 0x20) == 'p' ? "POST" : "PUT";
    int session = m == 'g' || m == 'p';
    char *path = piece(&p, end);
    char *query = piece(&p, end);
    evd_dash_header h[18];
    size_t nh = 0;
    char *line;
    /* Logging out would end the shared session for every later input. */
    if (session && path && strstr(path, "logout"))
        session = 0;
    if (session) {
        h[nh++] = (evd_dash_header){.name = "Cookie", .value = cookie};
        h[nh++] = (evd_dash_header){.name = "X-CSRF-Token", .value = csrf};
    }
    while ((line = piece(&p, end)) && *line && nh < 18) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        h[nh++] = (evd_dash_header){.name = line, .value = colon[1] == ' ' ? colon + 2 : colon + 1};
    }
    evd_dash_request rq = {.method = method,
                           .path = path ? path : "",
                           .query = query,
                           .headers = h,
                           .nheaders = nh,
                           .body = p,
                           .body_len = (size_t)(end - p),
                           .remote_ip = "198.51.100.7"};
    evd_dash_response rs;
    evd_dash_handle(dash, &rq, &rs);
    if (rs.stream_) {
        char chunk[4096];
        while (evd_dash_response_read(&rs, chunk, sizeof chunk) > 0)
            ;
    }
    if (rs.status >= 500) {
        fprintf(stderr, "fuzz: status %d: %.*s\n", rs.status, (int)rs.body_len,
                rs.body ? rs.body : "");
        abort();
    }
    evd_dash_response_free(&rs);

    /* the login parser on its own, with either content type */
    char u[128], pw[256], err[200];
    auth_parse_login((const char *)data, size, size & 1 ? "application/json" : NULL, u, sizeof u,
                     pw, sizeof pw, err, sizeof err);
    free(buf);
    return 0;
}
