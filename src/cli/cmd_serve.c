/* cmd_serve.c — `evodash serve`: the dashboard over libmicrohttpd, reading
 * any store, until SIGINT or SIGTERM. */
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "evodash.h"
#include "cli/commands.h"
#include "core/config.h"
#include "server/server.h"
#include "store/read.h"
#include "store/store.h"

#define POOL_THREADS 4

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash serve --config FILE [--listen HOST:PORT]\n"
               "       evodash serve --db URL [--listen HOST:PORT]\n\n"
               "Serve the dashboard and its JSON API at http://HOST:PORT/dashboard\n"
               "(CUSTOM_LINK), reading the store named by DATABASE or --db.\n\n"
               "  --config FILE      INI file with a [dashboard] section\n"
               "  --db URL           sqlite:///relative.db, sqlite:////absolute.db, a path,\n"
               "                     or postgresql://user:password@host:port/dbname\n"
               "                     (overrides DATABASE)\n"
               "  --listen HOST:PORT address to listen on (default 127.0.0.1:9000; port 0\n"
               "                     picks a free port, printed on stderr)\n");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    return server_dash_access(cls, c, url, method, upload_data, upload_data_size, *con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    server_conn_free(*con_cls);
    *con_cls = NULL;
}

/* Say so before a schema upgrade that rewrites the request log (from
 * before schema 4), which takes about 3 s per million requests and prints
 * nothing itself. */
static void note_upgrade(const char *url)
{
    store *st = NULL;
    int version;
    if (!store_open(url, STORE_RDONLY | STORE_ANY_SCHEMA, &st) &&
        !store_schema_version(st, &version) && version < STORE_SCHEMA_VERSION) {
        int64_t n = 0;
        if (version < 4)
            store_request_estimate(st, &n);
        if (n)
            fprintf(stderr,
                    "evodash serve: upgrading the store from schema %d to %d (about %lld requests "
                    "to rewrite; this can take a while)...\n",
                    version, STORE_SCHEMA_VERSION, (long long)n);
        else
            fprintf(stderr, "evodash serve: upgrading the store from schema %d to %d\n", version,
                    STORE_SCHEMA_VERSION);
    }
    store_close(st);
}

static void *warm_main(void *d)
{
    evd_dash_warm(d);
    return NULL;
}

int cmd_serve(int argc, char **argv)
{
    /* One malloc arena for the whole server: glibc otherwise gives each
     * worker thread its own, and the first aggregate request on each
     * thread pays to fault in fresh pages for its sketches (~30 ms on this
     * kind of VM); with one arena they reuse the memory of the last. */
    mallopt(M_ARENA_MAX, 1);
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *cfgpath = NULL, *url = NULL, *listen = "127.0.0.1:9000";
    int ch, rc = 1;
    evd_config *cfg = NULL;
    evd_dash *d = NULL;
    struct MHD_Daemon *daemon = NULL;
    char err[200];

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cfgpath = optarg;
            break;
        case 'd':
            url = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "evodash serve: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!cfgpath && !url) {
        fprintf(stderr, "evodash serve: give --config FILE or --db URL\n");
        usage(stderr);
        return 2;
    }
    struct sockaddr_in sa;
    if (server_parse_listen(listen, &sa, err, sizeof err)) {
        fprintf(stderr, "evodash serve: %s\n", err);
        return 2;
    }
    if (!(cfg = evd_config_new())) {
        fprintf(stderr, "evodash serve: out of memory\n");
        return 1;
    }
    if (cfgpath && evd_config_load(cfg, cfgpath)) {
        fprintf(stderr, "evodash serve: %s\n", evd_config_errmsg(cfg));
        goto done;
    }
    if (evd_config_apply_env(cfg)) {
        fprintf(stderr, "evodash serve: %s\n", evd_config_errmsg(cfg));
        goto done;
    }
    note_upgrade(url ? url : config_str(cfg, "DATABASE"));
    if (evd_dash_open(cfg, url, &d)) {
        fprintf(stderr, "evodash serve: %s\n", evd_dash_errmsg(d));
        goto done;
    }
    /* Block the stop signals before the pool threads start, so that only
     * sigwait() below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    /* connections per address, idle time-out, memory per connection */
    struct MHD_OptionItem limits[SERVER_MHD_OPTIONS];
    server_mhd_options(cfg, limits);
    daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_access, d,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)POOL_THREADS, MHD_OPTION_URI_LOG_CALLBACK, server_uri_log, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_ARRAY, limits, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "evodash serve: cannot listen on %s (address in use?)\n", listen);
        goto done;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    fprintf(stderr, "evodash: serving http://%s:%u%s/ (store: %s)\n", host, di ? di->port : 0,
            evd_dash_prefix(d), evd_dash_store(d));
    fflush(stderr);
    /* build the rollup cache now, so that the first view does not wait */
    pthread_t warm;
    int warming = !pthread_create(&warm, NULL, warm_main, d);
    int sig;
    sigwait(&stop, &sig);
    if (warming)
        pthread_join(warm, NULL);
    rc = 0;
done:
    MHD_stop_daemon(daemon);
    evd_dash_close(d);
    evd_config_free(cfg);
    return rc;
}
