/* adapter.c — evd_mhd_*: instrument a libmicrohttpd service with one call.
 *
 * DESIGN — the adapter owns the daemon so that it can sit in front of the
 * service's handler and install its own URI-log and completion callbacks.
 * Each request gets a server_conn (from the URI-log callback); requests
 * under the dashboard prefix go to the evd_dash handler, every other one to
 * the service's handler with the service's own per-request pointer kept
 * inside ours.  The endpoint is named on the first call, timed from there
 * with evd_req_begin(), and ended in the completion callback with the
 * status libmicrohttpd actually sent (MHD_CONNECTION_INFO_HTTP_STATUS).
 * Endpoint ids are cached per name in an open-addressing table that a
 * request reads without a lock (slots are published with release stores
 * and never change again); only a new name takes the mutex, to register
 * it with evd_endpoint_register() and publish it.  While the service's handler runs, a thread-local
 * pointer names the request it is answering, so evd_mhd_set_group() called from the handler needs
 * nothing but the connection. */
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

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

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
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
    uint64_t h = name_hash(name);
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
            if (!m->route || m->route(m->route_user, method, url, name, sizeof name) < 0)
                default_name(method, url, name, sizeof name);
            int id = endpoint_for(m, name);
            if (id >= 0) {
                sc->req = evd_req_begin(m->agent, id);
                sc->began = 1;
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
    m->agent = a;
    m->handler = handler;
    m->cls = cls;
    m->route = route;
    m->route_user = route_user;
    int rc = evd_dash_open(cfg, NULL, &m->dash);
    if (rc) {
        snprintf(errbuf, errcap, "dashboard: %s", evd_dash_errmsg(m->dash));
        evd_mhd_stop(m);
        return rc;
    }
    m->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_access, m, MHD_OPTION_URI_LOG_CALLBACK,
                                 server_uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
                                 MHD_OPTION_END);
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
    evd_dash_close(m->dash);
    for (size_t i = 0; m->cache && i < CACHE_SLOTS; i++)
        free(atomic_load_explicit(&m->cache[i], memory_order_relaxed));
    free(m->cache);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
