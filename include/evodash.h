/*
 * evodash.h — the public C API of evodash, a version-aware performance and
 * usage monitor for web services.
 *
 * A service opens one agent, registers its endpoints, and wraps every
 * request in evd_req_begin() / evd_req_end().  Those two calls read the
 * clock and write one fixed-size record into a lock-free ring; a writer
 * thread moves the records into the store (SQLite by default) and keeps
 * hourly rollups.  Nothing on the request path allocates, locks or blocks.
 *
 * Conventions
 *   - Every exported name starts with evd_; handles are opaque.
 *   - Functions return 0 on success or a negative EVD_E* code.  The message
 *     for the last error is kept on the handle (evd_errmsg()).
 *   - Each prototype says who owns what.  Every free/close accepts NULL.
 *   - The library never calls exit() or abort().
 */
#ifndef EVODASH_H
#define EVODASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EVD_API __attribute__((visibility("default")))
#else
#define EVD_API
#endif

#define EVD_VERSION "0.1.0"

/* Return codes. */
#define EVD_OK       0
#define EVD_ENOMEM   (-1) /* out of memory */
#define EVD_EINVAL   (-2) /* bad argument or malformed value */
#define EVD_EIO      (-3) /* file or database I/O failed */
#define EVD_ENOENT   (-4) /* no such file, key or endpoint */
#define EVD_EFULL    (-5) /* ring full: the record was dropped and counted */
#define EVD_ESCHEMA  (-6) /* database schema is newer than this build */
#define EVD_ECORRUPT (-7) /* database file is not a usable evodash store */
#define EVD_EBUSY    (-8) /* database stayed locked past every retry */
#define EVD_ESTATE   (-9) /* call not valid in the handle's current state */

/* Bounds of the strings copied into a request record.  Longer strings are
 * truncated and the truncation is counted (evd_counters.truncated). */
#define EVD_GROUP_MAX 45 /* bytes, not counting the NUL */
#define EVD_IP_MAX    45 /* enough for any textual IPv6 address */

/* Monitoring levels, per endpoint.  See docs/architecture.md. */
#define EVD_LEVEL_OFF     0 /* last access time only */
#define EVD_LEVEL_BASIC   1 /* every request */
#define EVD_LEVEL_OUTLIER 2 /* plus outlier capture */
#define EVD_LEVEL_PROFILE 3 /* plus the sampling profiler */

typedef struct evd_config evd_config;
typedef struct evd_agent evd_agent;

/* ---- configuration ------------------------------------------------------ */

/* Create an empty configuration holding the defaults.  Returns NULL when out
 * of memory.  Caller frees with evd_config_free(). */
EVD_API evd_config *evd_config_new(void);

/* Free a configuration.  NULL is a no-op. */
EVD_API void evd_config_free(evd_config *cfg);

/* Read an INI file with a [dashboard] section (Flask-MonitoringDashboard
 * keys).  Returns 0, EVD_ENOENT if the file cannot be opened, or EVD_EINVAL
 * for an unknown key or a bad value; evd_config_errmsg() then names the
 * file, the line and the key.  Values already set are overwritten. */
EVD_API int evd_config_load(evd_config *cfg, const char *path);

/* Set one key from code, with the same validation as the file.  Both
 * strings are copied.  Returns 0 or EVD_EINVAL. */
EVD_API int evd_config_set(evd_config *cfg, const char *key, const char *value);

/* Apply every EVODASH_<KEY> environment variable, which override the file
 * and code.  evd_open() calls this itself.  Returns 0 or EVD_EINVAL. */
EVD_API int evd_config_apply_env(evd_config *cfg);

/* The value of KEY as a string, or NULL if it is unset and has no default.
 * Borrowed until the key is next set or cfg is freed. */
EVD_API const char *evd_config_get(const evd_config *cfg, const char *key);

/* Message for the last error on cfg.  Borrowed; never NULL. */
EVD_API const char *evd_config_errmsg(const evd_config *cfg);

/* ---- agent lifetime ----------------------------------------------------- */

/* Open an agent: resolve the version (git, APP_VERSION, or "1.0"), open and
 * migrate the store, and start the writer, watchdog and sampler threads.
 * cfg may be NULL for the defaults and is not retained (copied).
 * *out is set whenever memory allows, even on error, so that
 * evd_errmsg(*out) can explain; the caller always releases it with
 * evd_close().  Returns 0 or a negative EVD_E* code.  A store that cannot be
 * opened, or a GIT that does not resolve, is reported but not fatal: the
 * agent runs (recording as APP_VERSION or "unknown"), retries the store,
 * and counts what it cannot keep.  A bad configuration is fatal. */
EVD_API int evd_open(const evd_config *cfg, evd_agent **out);

/* Nonzero when a records: after evd_open() failed only for a reason that
 * is not fatal (the store, GIT), the service goes on and so does a. */
EVD_API int evd_running(const evd_agent *a);

/* Shorthand: evd_open() with the config file PATH (may be NULL). */
EVD_API int evd_open_file(const char *path, evd_agent **out);

/* Drain every queued record into the store, stop the threads and free the
 * agent.  Safe to call with NULL.  Returns 0 if every record this process
 * recorded reached the store; otherwise the last store error, or EVD_EFULL
 * when records were dropped on a full ring (see evd_get_counters()). */
EVD_API int evd_close(evd_agent *a);

/* Block until every record queued before the call is written (or counted as
 * lost) and the endpoints' last access, levels and the counters are synced
 * with the store, at most timeout_ms.  Returns 0, or EVD_EBUSY on time-out. */
EVD_API int evd_flush(evd_agent *a, int timeout_ms);

/* Message for the last error on a.  Borrowed; never NULL. */
EVD_API const char *evd_errmsg(const evd_agent *a);

/* The version this process records under.  Borrowed for the agent's life. */
EVD_API const char *evd_version(const evd_agent *a);

/* The service this process records as (SERVICE_NAME, else the program's
 * name).  Borrowed for the agent's life. */
EVD_API const char *evd_service(const evd_agent *a);

/* ---- endpoints ---------------------------------------------------------- */

/* Register an endpoint and return its id in *id (>= 0).  name is the
 * endpoint's identity (e.g. "api.users"); rule is the URL rule
 * ("/api/users/<id>"); methods a comma list ("GET,POST").  rule and
 * methods may be NULL.  Registering the same name again returns the same
 * id.  Strings are copied.  Its level comes from the store if the endpoint
 * is known there, otherwise from MONITOR_LEVEL.  Takes a mutex: call it at
 * start-up or on first sight of a route, not on every request. */
EVD_API int evd_endpoint_register(evd_agent *a, const char *name, const char *rule,
                                  const char *methods, int *id);

/* Set an endpoint's monitoring level (EVD_LEVEL_*).  It takes effect at once
 * in this process and reaches the store, and so other processes, through the
 * writer.  Returns 0, EVD_ENOENT or EVD_EINVAL. */
EVD_API int evd_endpoint_set_level(evd_agent *a, int id, int level);

/* The endpoint's current level, or a negative EVD_E* code. */
EVD_API int evd_endpoint_level(const evd_agent *a, int id);

/* Look an endpoint up by name.  Returns its id or EVD_ENOENT. */
EVD_API int evd_endpoint_find(const evd_agent *a, const char *name);

/* ---- the request hot path ----------------------------------------------- */

/* A request in flight.  Returned by value; its fields are private. */
typedef struct evd_req {
    evd_agent *agent_;
    int64_t t0_;
    int32_t endpoint_;
    int32_t slot_;
    int32_t level_;
    int32_t test_; /* in what was padding: the struct keeps its size */
} evd_req;

/* Start timing a request to endpoint id.  ctx is handed back to the
 * adapter's capture callbacks (it may be NULL); it must stay valid until
 * evd_req_end().  Never allocates, locks or blocks. */
EVD_API evd_req evd_req_begin(evd_agent *a, int endpoint);
EVD_API evd_req evd_req_begin_ctx(evd_agent *a, int endpoint, void *ctx);

/* Finish a request: read the clock and queue one record.  group (the user
 * or user group; "name=value;name=value" for several groupings, each a
 * dimension of the dashboard's group views) and ip may be NULL; they are
 * copied up to EVD_GROUP_MAX / EVD_IP_MAX bytes.  Returns 0, or EVD_EFULL when the ring was full
 * and the record was dropped (and counted).  Never allocates, locks or blocks. */
EVD_API int evd_req_end(evd_req *r, int status, const char *group, const char *ip);

/* ---- tests: CI timings -------------------------------------------------- */

/* A request made by a test is recorded as a call of that test, into the
 * store's CI tables (kept apart from live data), for `evodash collect` or
 * the pytest plugin to attach to a build.  A process names its running
 * test with the TEST key (EVODASH_TEST=name), or from code; an adapter
 * names one request's test from its X-Evodash-Test header, but only when
 * TEST_HEADER is true (otherwise any client could hide its requests from
 * the live views).  Name a test as its JUnit report does: "name", or
 * "classname::name" or "classname.name". */
#define EVD_TESTS_MAX 65535 /* test names one agent can hold */

/* The id (>= 1) of test `name` in *id, registered when new (copied).
 * Takes a mutex: once per test, not per request.  Returns 0, EVD_EINVAL
 * or EVD_ENOMEM (also past EVD_TESTS_MAX names). */
EVD_API int evd_test_register(evd_agent *a, const char *name, int *id);

/* Make test id the process's running test (0: none): every request begun
 * after the call is that test's.  For runners that run one test at a time
 * in the service's process.  Returns 0 or EVD_ENOENT. */
EVD_API int evd_test_set(evd_agent *a, int id);

/* Name the test of one request begun with evd_req_begin (id from
 * evd_test_register; 0: none, live traffic), over evd_test_set's. */
EVD_API void evd_req_set_test(evd_req *r, int id);

/* Nonzero when adapters honour the X-Evodash-Test header (TEST_HEADER). */
EVD_API int evd_test_header(const evd_agent *a);

/* ---- adapter callbacks -------------------------------------------------- */

/* Capture the stack of the thread running a request.  thread is the
 * pthread_t (as an integer) that called evd_req_begin; ctx is the pointer it
 * passed.  Write one frame per line, outermost first, as
 * "function<TAB>file<TAB>line\n" (file and line may be empty), into
 * buf[0..cap) NUL-terminated.  Return the length written, or < 0 on error.
 * Called from the watchdog or sampler thread, never from the request. */
typedef int (*evd_stack_fn)(void *user, uint64_t thread, void *ctx, char *buf, size_t cap);

/* Capture request details for an outlier: write one JSON object with any of
 * the keys "url", "headers", "environ", "values" (each an object of strings,
 * except url) into buf[0..cap), NUL-terminated; mask secrets.  Return the
 * length or < 0.  Called from the watchdog thread while the request runs. */
typedef int (*evd_details_fn)(void *user, uint64_t thread, void *ctx, char *buf, size_t cap);

/* Install capture callbacks (either may be NULL).  With no stack callback,
 * C services get the built-in one: the request's thread is sent the
 * real-time signal STACK_SIGNAL and takes a backtrace in its handler.
 * user is borrowed for the agent's life.  Call before the first request. */
EVD_API int evd_set_callbacks(evd_agent *a, evd_stack_fn stack, evd_details_fn details, void *user);

/* ---- counters ------------------------------------------------------------ */

typedef struct evd_counters {
    uint64_t recorded;     /* records queued into the ring */
    uint64_t dropped;      /* records lost: ring full, or past the writer's bound */
    uint64_t written;      /* records committed to the store */
    uint64_t write_errors; /* failed store writes (each retried or counted as dropped) */
    uint64_t truncated;    /* group or ip strings cut to their bound */
    uint64_t outliers;     /* outliers captured */
} evd_counters;

/* Fill *out with this process's counters.  Lock-free; values are read one at
 * a time, so they are not a single atomic snapshot. */
EVD_API void evd_get_counters(const evd_agent *a, evd_counters *out);

/* ---- dashboard handler --------------------------------------------------- */

/* The dashboard as a transport-neutral handler: a transport (evodash serve,
 * the libmicrohttpd adapter, the Flask binding) turns each HTTP request
 * under CUSTOM_LINK into an evd_dash_request and sends back the
 * evd_dash_response.  One handle serves many threads at once. */
typedef struct evd_dash evd_dash;

typedef struct evd_dash_header {
    const char *name, *value;
} evd_dash_header;

/* Every pointer is borrowed for the duration of evd_dash_handle(). */
typedef struct evd_dash_request {
    const char *method;             /* "GET", "POST", ... */
    const char *path;               /* URL path, percent-decoded, e.g. "/dashboard/api/overview" */
    const char *query;              /* raw query string without '?', or NULL */
    const evd_dash_header *headers; /* request headers (names case-insensitive) */
    size_t nheaders;
    const char *body; /* request body, or NULL */
    size_t body_len;
    const char *remote_ip; /* client address, for the login rate limit; may be NULL */
} evd_dash_request;

/* Filled by evd_dash_handle(); release with evd_dash_response_free(). */
typedef struct evd_dash_response {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned by the response; NULL when streamed */
    size_t body_len;
    int body_static;      /* body points at static storage: not freed */
    char set_cookie[256]; /* a Set-Cookie value, or "" */
    void *stream_;        /* private: the body comes from evd_dash_response_read() */
} evd_dash_response;

/* Open a dashboard on the store named by cfg's DATABASE (or db_url when not
 * NULL).  Creates the first admin (USERNAME/PASSWORD, or "admin" with a
 * random password printed once to stderr) and the guest user.  cfg is not
 * retained.  *out is set whenever memory allows, even on error, so that
 * evd_dash_errmsg(*out) can explain; release it with evd_dash_close().
 * Returns 0 or a negative EVD_E* code. */
EVD_API int evd_dash_open(const evd_config *cfg, const char *db_url, evd_dash **out);

/* Nonzero when d answers requests.  After evd_dash_open() failed only
 * because the store could not be opened, d serves anyway: its API answers
 * 503 with the reason, and it opens the store as soon as it can (a service
 * that embeds the dashboard keeps serving without its database). */
EVD_API int evd_dash_serves(const evd_dash *d);

/* Free the handle.  NULL is a no-op.  No request may be in progress. */
EVD_API void evd_dash_close(evd_dash *d);

/* Message for the last error of evd_dash_open().  Borrowed; never NULL. */
EVD_API const char *evd_dash_errmsg(const evd_dash *d);

/* Build the server's cache of closed days' rollups now rather than on the
 * first aggregate request (which would wait for it: about a second per ten
 * million requests).  Safe while requests are served; blocks until built.
 * Returns 0 or a negative EVD_E* code. */
EVD_API int evd_dash_warm(evd_dash *d);

/* The URL prefix served ("/dashboard" or "/<CUSTOM_LINK>").  Borrowed. */
EVD_API const char *evd_dash_prefix(const evd_dash *d);
/* Show a's live counters for a's own instance (the process that serves
 * this dashboard): they are ahead of the store's copy, and the only ones
 * while the store cannot be written (a full disk, a lost database).  The
 * C adapter and the Flask binding call it; a must outlive d. */
EVD_API void evd_dash_set_agent(evd_dash *d, const evd_agent *a);

/* The store the dashboard reads, safe to print: a file, or a URL with its
 * password masked.  Borrowed for the handle's life. */
EVD_API const char *evd_dash_store(const evd_dash *d);

/* Answer one request.  Always fills *rs (errors become 4xx/5xx JSON
 * bodies); returns 0, or EVD_ENOMEM when not even an error body could be
 * built.  Thread-safe. */
EVD_API int evd_dash_handle(evd_dash *d, const evd_dash_request *rq, evd_dash_response *rs);

/* For a streamed response (rs->body == NULL and rs->stream_ != NULL): copy
 * the next bytes of the body into buf[0..cap).  Returns the number of bytes
 * (> 0), 0 at the end, or < 0 on error (the transport then aborts the
 * connection).  Calls may come from any thread, one at a time. */
EVD_API long evd_dash_response_read(evd_dash_response *rs, char *buf, size_t cap);

/* Release what a response owns.  Safe on a zeroed response. */
EVD_API void evd_dash_response_free(evd_dash_response *rs);

/* ---- libmicrohttpd adapter ------------------------------------------------ */

/* One call instruments a libmicrohttpd service: evd_mhd_start() starts the
 * daemon in place of MHD_start_daemon(), times every request per route
 * through the agent, and answers everything under /dashboard (CUSTOM_LINK)
 * itself on the same port.  The declarations that take the service's
 * handler need <microhttpd.h> included before this header. */
struct MHD_Daemon;
struct MHD_Connection;
typedef struct evd_mhd evd_mhd;

/* What a route callback returns for a path that is none of the service's
 * routes (a scanner's /wp-login.php, a typo): the request still goes to the
 * service's handler, which answers it (404, say), but it is not recorded
 * and creates no endpoint. */
#define EVD_MHD_UNROUTED 1

/* Name the endpoint a request belongs to (e.g. "GET /users/<id>"), writing
 * it into out[0..cap).  Return 0; EVD_MHD_UNROUTED when the path is not a
 * route of the service; or < 0 to use the default: the method and the
 * path with every all-digit segment replaced by "<id>".  Without a route
 * callback every path is an endpoint.  Called on libmicrohttpd's threads,
 * several at once; method and url are borrowed for the call. */
typedef int (*evd_mhd_route_fn)(void *user, const char *method, const char *url, char *out,
                                size_t cap);

#ifdef MHD_VERSION
/* Start a libmicrohttpd daemon (flags and port as MHD_start_daemon) whose
 * requests go to handler/cls, recorded through agent a, with the dashboard
 * served from cfg's DATABASE at /dashboard.  route may be NULL.  The
 * adapter installs MHD_OPTION_NOTIFY_COMPLETED itself, and limits what
 * one client can hold: at most HTTP_CONN_PER_ADDRESS connections per
 * client address (default 32, 0: no limit) and 1000 in all, idle
 * connections closed after HTTP_IDLE_TIMEOUT seconds (default 30).
 * Unless the service has installed capture callbacks of its own
 * (evd_set_callbacks), outliers carry the request's URL, headers and query
 * values, secrets masked.  a and cfg are borrowed (a for the adapter's
 * life).  Returns 0 and sets *out (stop with evd_mhd_stop()), or a
 * negative EVD_E* code with a message in errbuf. */
EVD_API int evd_mhd_start(evd_agent *a, const evd_config *cfg, unsigned int flags, uint16_t port,
                          MHD_AccessHandlerCallback handler, void *cls, evd_mhd_route_fn route,
                          void *route_user, evd_mhd **out, char *errbuf, size_t errcap);
#endif

/* Name the user group of the request being answered (FMD's group_by), for
 * the per-user views ("name=value;name=value" for several groupings).  Call it from the service's
 * handler, on the thread libmicrohttpd called it on; group is copied (NULL clears it).  Outside a
 * handler call it does nothing. */
EVD_API void evd_mhd_set_group(struct MHD_Connection *c, const char *group);

/* The running daemon.  Borrowed for the adapter's life. */
EVD_API struct MHD_Daemon *evd_mhd_daemon(evd_mhd *m);

/* Stop the daemon and free the adapter (not the agent).  NULL is a no-op. */
EVD_API void evd_mhd_stop(evd_mhd *m);

#ifdef __cplusplus
}
#endif
#endif /* EVODASH_H */
