/* server.h — the libmicrohttpd transport of the dashboard handler, shared
 * by `evodash serve` and the C-service adapter. */
#ifndef EVD_SERVER_H
#define EVD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "evodash.h"

/* One HTTP request's state on its connection: the raw URI (for the query
 * string, which libmicrohttpd would otherwise hand back already split and
 * decoded) and the body as it arrives.  Created by server_uri_log(),
 * freed by server_conn_free(). */
typedef struct server_conn {
    char *uri;
    char *body;
    size_t len, cap;
    int too_big;
    int started; /* the headers-only first call has been seen */
    /* adapter only */
    int kind; /* 0 undecided, 1 dashboard, 2 the service's own route */
    int began;
    evd_req req;
    void *user_cls;
    char group[128]; /* set by evd_mhd_set_group(); "" = none */
    /* on the adapter's live list while a details capture may read it */
    struct MHD_Connection *conn;
    struct server_conn *live_prev, *live_next;
    uint64_t serial; /* 0: not on the list; else the ctx the agent holds */
} server_conn;

#define SERVER_BODY_MAX (1 << 20)

/* MHD_OPTION_URI_LOG_CALLBACK: returns a new server_conn (or NULL when out
 * of memory, which the access handler then refuses). */
void *server_uri_log(void *cls, const char *uri, struct MHD_Connection *c);
void server_conn_free(server_conn *sc);

/* Feed one access-handler call for a dashboard URL to d: collects the body,
 * then answers.  Same contract as MHD_AccessHandlerCallback. */
enum MHD_Result server_dash_access(evd_dash *d, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *upload_data,
                                   size_t *upload_data_size, server_conn *sc);

/* The libmicrohttpd options every evodash daemon passes (through
 * MHD_OPTION_ARRAY), written into out, which ends with MHD_OPTION_END:
 * connections per client address (HTTP_CONN_PER_ADDRESS of cfg, which may
 * be NULL) and in all, the idle time-out (HTTP_IDLE_TIMEOUT) and the
 * memory of one connection.  transport.c says why these values. */
#define SERVER_MHD_OPTIONS 5
#define SERVER_CONN_MAX    1000
#define SERVER_CONN_MEMORY (256 * 1024)
void server_mhd_options(const evd_config *cfg, struct MHD_OptionItem out[SERVER_MHD_OPTIONS]);

/* The client's address as text into out[cap]; "" when unknown. */
void server_client_ip(struct MHD_Connection *c, char *out, size_t cap);

/* Parse "HOST:PORT" (IPv4 dotted quad or "localhost"; PORT 0..65535) into
 * *sa.  Returns 0 or -1 with a message in err. */
struct sockaddr_in;
int server_parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t cap);

#endif
