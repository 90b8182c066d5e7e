/* adapter.c — evd_mhd_*: instrument a libmicrohttpd service with one call.
 *
 * DESIGN — the adapter owns the daemon so that it can sit in front of the
 * service's handler and install its own URI-log and completion callbacks.
 * Each request gets a server_conn (from the URI-log callback); requests
 * under the dashboard prefix go to the evd_dash handler, every other one to
 * the service's handler with the service's own per-request pointer kept
 * inside ours.  The endpoint is named on the first call (a route callback
 * may say the path is none of the service's: it is then answered by the
 * handler but recorded nowhere), timed from there with evd_req_begin(),
 * and ended in the completion callback with the status libmicrohttpd
 * actually sent (MHD_CONNECTION_INFO_HTTP_STATUS).
 *
 * Endpoint ids are cached per name in an open-addressing table that a
 * request reads without a lock (slots are published with release stores
 * and never change again); only a new name takes the mutex, to register
 * it with evd_endpoint_register() and publish it.  While the service's
 * handler runs, a thread-local pointer names the request it is answering,
 * so evd_mhd_set_group() called from the handler needs nothing but the
 * connection.
 *
 * Outlier details (level 2): unless the service installed callbacks of its
 * own, the adapter's details callback describes the request (URL, headers,
 * query values, secrets masked).  It runs on the watchdog thread while the
 * request may be ending, so the agent holds a serial number, not a
 * pointer: requests at level >= 2 sit on a live list under live_mu, the
 * callback looks its serial up there and reads the connection only while
 * holding live_mu, and the completion callback takes the request off the
 * list before it is freed.  libmicrohttpd does not change a request's
 * headers or arguments once the handler runs (chunked-upload footers
 * aside, which are not read). */
#include <ctype.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h" /* first: <microhttpd.h> before evodash.h */
#include "agent/callbacks.h"
#include "core/details.h"
#include "core/hash.h"
#include "core/secret.h"

#define NAME_MAX_BYTES 160
#define CACHE_SLOTS    8192 /* a power of two; filled to half at most */

typedef struct name_id {
    uint64_t hash;
    int id;
    char name[]; /* NUL-terminated */
} name_id;

struct evd_mhd {
    evd_agent *agent;
    evd_dash *dash;
    MHD_AccessHandlerCallback handler;
    void *cls;
    evd_mhd_route_fn route;
    void *route_user;
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;        /* writers of cache */
    _Atomic(name_id *) *cache; /* CACHE_SLOTS slots */
    size_t ncache;             /* under mu */
    int own_details;           /* adapter_details is the agent's details callback */
    pthread_mutex_t live_mu;   /* the live list and its serials */
    server_conn *live;
    uint64_t serial;
};

/* "GET /users/<id>": digits-only segments become <id>, so that ids in URLs
 * do not each become an endpoint. */
static void default_name(const char *method, const char *url, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s ", method);
    const char *p = url;
    while (*p && n + 5 < cap) {
        if (*p == '/') {
            out[n++] = *p++;
            const char *e = p;
            while (isdigit((unsigned char)*e))
                e++;
            if (e > p && (*e == '/' || !*e)) {
                memcpy(out + n, "<id>", 4);
                n += 4;
                p = e;
            }
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
}

/* The cached id of name, or -1.  Lock-free: see DESIGN above. */
static int cache_find(evd_mhd *m, const char *name, uint64_t h)
{
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        name_id *e = atomic_load_explicit(&m->cache[i], memory_order_acquire);
        if (!e)
            return -1;
        if (e->hash == h && !strcmp(e->name, name))
            return e->id;
    }
}

static int endpoint_for(evd_mhd *m, const char *name)
{
    uint64_t h = fnv1a64(name);
    int id = cache_find(m, name, h);
    if (id >= 0)
        return id;
    pthread_mutex_lock(&m->mu);
    if ((id = cache_find(m, name, h)) < 0 &&
        !evd_endpoint_register(m->agent, name, NULL, NULL, &id) && m->ncache < CACHE_SLOTS / 2) {
        size_t len = strlen(name) + 1;
        name_id *e = malloc(sizeof *e + len);
        if (e) {
            e->hash = h;
            e->id = id;
            memcpy(e->name, name, len);
            size_t i = h & (CACHE_SLOTS - 1);
            while (atomic_load_explicit(&m->cache[i], memory_order_relaxed))
                i = (i + 1) & (CACHE_SLOTS - 1);
            atomic_store_explicit(&m->cache[i], e, memory_order_release);
            m->ncache++;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return id;
}

/* ---- outlier details ---------------------------------------------------- */

static void live_add(evd_mhd *m, server_conn *sc, struct MHD_Connection *c)
{
    pthread_mutex_lock(&m->live_mu);
    sc->conn = c;
    sc->serial = ++m->serial;
    sc->live_prev = NULL;
    sc->live_next = m->live;
    if (m->live)
        m->live->live_prev = sc;
    m->live = sc;
    pthread_mutex_unlock(&m->live_mu);
}

static void live_remove(evd_mhd *m, server_conn *sc)
{
    if (!sc->serial)
        return;
    pthread_mutex_lock(&m->live_mu);
    if (sc->live_prev)
        sc->live_prev->live_next = sc->live_next;
    else
        m->live = sc->live_next;
    if (sc->live_next)
        sc->live_next->live_prev = sc->live_prev;
    sc->serial = 0;
    pthread_mutex_unlock(&m->live_mu);
}

static enum MHD_Result add_masked(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    if (key)
        json_object_set_new(cls, key,
                            json_string(secret_name(key) ? SECRET_MASK
                                        : value          ? value
                                                         : ""));
    return MHD_YES;
}

/* "http://HOST/path?query" with the query's secrets masked ("/path?query"
 * without a Host header). */
static json_t *url_of(const server_conn *sc)
{
    const char *host = MHD_lookup_connection_value(sc->conn, MHD_HEADER_KIND, "Host");
    const char *uri = sc->uri ? sc->uri : "";
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    char masked[4096], url[6144];
    secret_mask_query(q ? q + 1 : "", masked, sizeof masked);
    snprintf(url, sizeof url, "%s%s%.*s%s%s", host ? "http://" : "", host ? host : "",
             (int)(plen < 2048 ? plen : 2048), uri, *masked ? "?" : "", masked);
    return json_string(url);
}

/* evd_details_fn: see DESIGN above.  Called with the agent's capture lock
 * held, on the watchdog thread. */
static int adapter_details(void *user, uint64_t thread, void *ctx, char *buf, size_t cap)
{
    (void)thread;
    evd_mhd *m = user;
    uint64_t serial = (uint64_t)(uintptr_t)ctx;
    int n = -1;
    pthread_mutex_lock(&m->live_mu);
    server_conn *sc = m->live;
    while (sc && sc->serial != serial)
        sc = sc->live_next;
    json_t *o = sc ? json_object() : NULL, *headers = json_object(), *values = json_object();
    if (o && headers && values) {
        json_object_set_new(o, "url", url_of(sc));
        MHD_get_connection_values(sc->conn, MHD_HEADER_KIND, add_masked, headers);
        MHD_get_connection_values(sc->conn, MHD_GET_ARGUMENT_KIND, add_masked, values);
    }
    pthread_mutex_unlock(&m->live_mu);
    if (o && headers && values) {
        /* Keep the whole object within cap: the values go first. */
        static const char *const drop[] = {"values", NULL};
        json_object_set(o, "headers", headers);
        json_object_set(o, "values", values);
        n = details_dump(o, drop, buf, cap);
    }
    json_decref(o);
    json_decref(headers);
    json_decref(values);
    return n;
}

/* ---- requests ------------------------------------------------------------ */

static __thread struct {
    struct MHD_Connection *c;
    server_conn *sc;
} current;

void evd_mhd_set_group(struct MHD_Connection *c, const char *group)
{
    if (!c || current.c != c || !current.sc)
        return;
    snprintf(current.sc->group, sizeof current.sc->group, "%s", group ? group : "");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    evd_mhd *m = cls;
    server_conn *sc = *con_cls;
    if (!sc)
        return MHD_NO;
    if (!sc->kind) {
        const char *pre = evd_dash_prefix(m->dash);
        size_t pl = strlen(pre);
        if (!strncmp(url, pre, pl) && (url[pl] == 0 || url[pl] == '/'))
            sc->kind = 1;
        else {
            sc->kind = 2;
            char name[NAME_MAX_BYTES];
            int r = m->route ? m->route(m->route_user, method, url, name, sizeof name) : -1;
            if (r < 0)
                default_name(method, url, name, sizeof name);
            int id = r == EVD_MHD_UNROUTED ? -1 : endpoint_for(m, name);
            if (id >= 0) {
                if (m->own_details && evd_endpoint_level(m->agent, id) >= EVD_LEVEL_OUTLIER) {
                    live_add(m, sc, c);
                    sc->req = evd_req_begin_ctx(m->agent, id, (void *)(uintptr_t)sc->serial);
                } else
                    sc->req = evd_req_begin(m->agent, id);
                sc->began = 1;
                /* a test's request, only where the service opted in
                 * (TEST_HEADER): else any client could leave the live data */
                const char *test =
                    evd_test_header(m->agent)
                        ? MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Evodash-Test")
                        : NULL;
                int tid;
                if (test && *test && !evd_test_register(m->agent, test, &tid))
                    evd_req_set_test(&sc->req, tid);
            }
        }
    }
    if (sc->kind == 1)
        return server_dash_access(m->dash, c, url, method, upload_data, upload_data_size, sc);
    current.c = c;
    current.sc = sc;
    enum MHD_Result r =
        m->handler(m->cls, c, url, method, version, upload_data, upload_data_size, &sc->user_cls);
    current.c = NULL;
    current.sc = NULL;
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    server_conn *sc = *con_cls;
    if (sc && sc->began) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        char ip[64];
        server_client_ip(c, ip, sizeof ip);
        /* No status means the client went away before a response. */
        evd_req_end(&sc->req, ci && ci->http_status ? (int)ci->http_status : 499,
                    sc->group[0] ? sc->group : NULL, ip[0] ? ip : NULL);
    }
    if (sc)
        live_remove(cls, sc);
    server_conn_free(sc);
    *con_cls = NULL;
}

int evd_mhd_start(evd_agent *a, const evd_config *cfg, unsigned int flags, uint16_t port,
                  MHD_AccessHandlerCallback handler, void *cls, evd_mhd_route_fn route,
                  void *route_user, evd_mhd **out, char *errbuf, size_t errcap)
{
    *out = NULL;
    if (!a || !handler) {
        snprintf(errbuf, errcap, "evd_mhd_start: agent and handler are required");
        return EVD_EINVAL;
    }
    evd_mhd *m = calloc(1, sizeof *m);
    if (!m || !(m->cache = calloc(CACHE_SLOTS, sizeof *m->cache))) {
        free(m);
        snprintf(errbuf, errcap, "out of memory");
        return EVD_ENOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->live_mu, NULL);
    m->agent = a;
    m->handler = handler;
    m->cls = cls;
    m->route = route;
    m->route_user = route_user;
    /* a dashboard whose store is down still serves (503 until it is up):
     * only a bad configuration stops the service */
    int rc = evd_dash_open(cfg, NULL, &m->dash);
    if (rc && !evd_dash_serves(m->dash)) {
        snprintf(errbuf, errcap, "dashboard: %s", evd_dash_errmsg(m->dash));
        evd_mhd_stop(m);
        return rc;
    }
    evd_dash_set_agent(m->dash, a); /* its own counters, live */
    m->own_details = !agent_swap_details(a, NULL, NULL, adapter_details, m);
    struct MHD_OptionItem limits[SERVER_MHD_OPTIONS];
    server_mhd_options(cfg, limits);
    m->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_access, m, MHD_OPTION_ARRAY, limits,
                                 MHD_OPTION_URI_LOG_CALLBACK, server_uri_log, NULL,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, m, MHD_OPTION_END);
    if (!m->daemon) {
        snprintf(errbuf, errcap, "libmicrohttpd could not start on port %u", port);
        evd_mhd_stop(m);
        return EVD_EIO;
    }
    *out = m;
    return 0;
}

struct MHD_Daemon *evd_mhd_daemon(evd_mhd *m)
{
    return m ? m->daemon : NULL;
}

void evd_mhd_stop(evd_mhd *m)
{
    if (!m)
        return;
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    if (m->own_details)
        agent_swap_details(m->agent, adapter_details, m, NULL, NULL);
    evd_dash_close(m->dash);
    for (size_t i = 0; m->cache && i < CACHE_SLOTS; i++)
        free(atomic_load_explicit(&m->cache[i], memory_order_relaxed));
    free(m->cache);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->live_mu);
    free(m);
}
