/* transport.c — evd_dash over libmicrohttpd: one HTTP request becomes one
 * evd_dash_handle() call; a streamed response is pulled through
 * libmicrohttpd's content-reader callback.  Connections are kept alive
 * and pipelined requests answered in turn (libmicrohttpd does both as long
 * as no response is queued before the request has been read). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "server/server.h"

#define MAX_HEADERS  64
#define STREAM_BLOCK (32 * 1024)

void *server_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    server_conn *sc = calloc(1, sizeof *sc);
    if (sc && !(sc->uri = strdup(uri ? uri : ""))) {
        free(sc);
        sc = NULL;
    }
    return sc;
}

void server_conn_free(server_conn *sc)
{
    if (!sc)
        return;
    free(sc->uri);
    free(sc->body);
    free(sc);
}

void server_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = 0;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

/* Why these values:
 *  - 32 connections per address (HTTP_CONN_PER_ADDRESS, 0: no limit): a
 *    browser opens at most 6 to one host, so 32 lets a few people behind
 *    one NAT load pages at once, while one address holding idle sockets
 *    (1,100 of them locked every client out before) can take no more than
 *    3% of the connections; the other 968 stay in reserve for everyone
 *    else.
 *  - 1000 in all: below select()'s FD_SETSIZE of 1024, which libmicrohttpd
 *    uses unless told to poll, less the listening socket and the store's
 *    files; past it libmicrohttpd closes new connections at once instead
 *    of failing on a descriptor it cannot watch.
 *  - idle time-out, 30 s by default: long enough for keep-alive between
 *    the requests of a page and a chart refresh, short enough that sockets
 *    left open by clients (or held on purpose) come back soon.
 *  - 256 KiB per connection (libmicrohttpd's default is 32 KiB): so that
 *    an over-long URL or header block reaches evd_dash_handle(), which
 *    answers a JSON 414 or 431, instead of libmicrohttpd's own HTML page,
 *    which it sends only past this size.  The pool is mapped lazily, so a
 *    connection costs this memory only if its client sends that much. */
void server_mhd_options(const evd_config *cfg, struct MHD_OptionItem out[SERVER_MHD_OPTIONS])
{
    long idle = config_int(cfg, "HTTP_IDLE_TIMEOUT");
    long per = config_int(cfg, "HTTP_CONN_PER_ADDRESS");
    int n = 0;
    if (per > 0) /* else no limit: libmicrohttpd's default */
        out[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, per, NULL};
    out[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, SERVER_CONN_MAX, NULL};
    out[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, idle > 0 ? idle : 30, NULL};
    out[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, SERVER_CONN_MEMORY, NULL};
    out[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

typedef struct hdrs {
    evd_dash_header h[MAX_HEADERS];
    size_t n;
} hdrs;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    hdrs *hs = cls;
    if (hs->n < MAX_HEADERS)
        hs->h[hs->n++] = (evd_dash_header){.name = key, .value = value ? value : ""};
    return MHD_YES;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    long n = evd_dash_response_read(cls, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void free_stream(void *cls)
{
    evd_dash_response_free(cls);
    free(cls);
}

static enum MHD_Result send_response(struct MHD_Connection *c, evd_dash_response *rs)
{
    struct MHD_Response *r = NULL;
    if (rs->stream_) {
        evd_dash_response *heap = malloc(sizeof *heap);
        if (!heap) {
            evd_dash_response_free(rs);
            return MHD_NO;
        }
        *heap = *rs;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, heap,
                                              free_stream);
        if (!r) {
            free_stream(heap);
            return MHD_NO;
        }
    } else if (rs->body_static) {
        r = MHD_create_response_from_buffer(rs->body_len, rs->body, MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer_with_free_callback(rs->body_len, rs->body, free);
        if (r)
            rs->body = NULL; /* now owned by the response */
    }
    if (!r) {
        evd_dash_response_free(rs);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", rs->content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (rs->set_cookie[0])
        MHD_add_response_header(r, "Set-Cookie", rs->set_cookie);
    if (rs->status == 429)
        MHD_add_response_header(r, "Retry-After", "300");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    if (!rs->stream_)
        evd_dash_response_free(rs);
    return ret;
}

static enum MHD_Result fixed(struct MHD_Connection *c, unsigned status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result server_dash_access(evd_dash *d, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *upload_data,
                                   size_t *upload_data_size, server_conn *sc)
{
    if (!sc)
        return MHD_NO;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (sc->too_big || sc->len + n > SERVER_BODY_MAX) {
            sc->too_big = 1;
            return MHD_YES;
        }
        if (sc->len + n + 1 > sc->cap) {
            size_t ncap = (sc->len + n + 1) * 2;
            char *nb = realloc(sc->body, ncap);
            if (!nb)
                return MHD_NO;
            sc->body = nb;
            sc->cap = ncap;
        }
        memcpy(sc->body + sc->len, upload_data, n);
        sc->len += n;
        sc->body[sc->len] = 0;
        return MHD_YES;
    }
    /* libmicrohttpd calls once with the headers before any body: answer
     * only on a later call.  A response queued on that first call makes
     * libmicrohttpd discard the rest of the input and close the
     * connection (no keep-alive, pipelined requests unanswered). */
    if (!sc->started) {
        sc->started = 1;
        return MHD_YES;
    }
    if (sc->too_big)
        return fixed(c, 413, "{\"error\":\"request body larger than 1 MiB\",\"status\":413}");
    hdrs hs = {.n = 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hs);
    char ip[64];
    server_client_ip(c, ip, sizeof ip);
    const char *q = sc->uri ? strchr(sc->uri, '?') : NULL;
    evd_dash_request rq = {.method = method,
                           .path = url,
                           .query = q ? q + 1 : NULL,
                           .headers = hs.h,
                           .nheaders = hs.n,
                           .body = sc->body,
                           .body_len = sc->len,
                           .remote_ip = ip};
    evd_dash_response rs;
    if (evd_dash_handle(d, &rq, &rs)) {
        evd_dash_response_free(&rs);
        return fixed(c, 500, "{\"error\":\"out of memory\",\"status\":500}");
    }
    return send_response(c, &rs);
}

int server_parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t cap)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - s) >= sizeof host || colon == s) {
        snprintf(err, cap, "--listen: expected HOST:PORT, e.g. 127.0.0.1:9000, got '%.60s'", s);
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, cap, "--listen: port must be 0..65535, got '%.20s'", colon + 1);
        return -1;
    }
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, cap, "--listen: '%s' is not an IPv4 address", host);
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}
