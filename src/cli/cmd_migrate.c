/* cmd_migrate.c — `evodash migrate --from URL --to URL [--force]`: copy a
 * whole store to another, SQLite to PostgreSQL or back (or the same kind),
 * with a progress line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "store/copy.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash migrate --from URL --to URL [--force]\n\n"
               "Copy every table of a store (requests, rollups, outliers, profiles,\n"
               "users, ...) into another, keeping ids: SQLite to PostgreSQL and back.\n"
               "The target is created (or upgraded) to this evodash's schema; the source\n"
               "is only read and must be at that schema too (open it once with\n"
               "`evodash serve` to upgrade it).\n\n"
               "  --from URL   the store to copy (sqlite:///..., a path, postgresql://...)\n"
               "  --to URL     where to copy it\n"
               "  --force      replace what the target already holds (else a target that\n"
               "               holds any row is refused)\n");
}

typedef struct progress {
    int tty;
    time_t last;
    char table[64];
} progress;

static void show(void *u, const char *table, int64_t done, int64_t total)
{
    progress *p = u;
    time_t now = time(NULL);
    int finished = done == total;
    int same = !strcmp(p->table, table);
    /* a terminal gets one line, redrawn; a log one line a table, and one
     * every 10 s on a long table */
    if (!finished && same && now - p->last < (p->tty ? 1 : 10))
        return;
    p->last = now;
    snprintf(p->table, sizeof p->table, "%s", table);
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    if (p->tty)
        fprintf(stderr, "\r\033[Kmigrate: %-18s %12lld / %-12lld rows (%3.0f%%)", table,
                (long long)done, (long long)total, pct);
    else
        fprintf(stderr, "migrate: %-18s %12lld / %-12lld rows (%3.0f%%)\n", table, (long long)done,
                (long long)total, pct);
    if (p->tty && finished)
        fputc('\n', stderr);
}

int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"force", no_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    int force = 0, c, rc = 1;
    store *src = NULL, *dst = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:t:Fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'F':
            force = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !from || !to) {
        usage(stderr);
        return 2;
    }
    char a[512], b[512];
    store_url_redact(from, a, sizeof a);
    store_url_redact(to, b, sizeof b);
    if (store_open(from, STORE_RDONLY, &src)) {
        fprintf(stderr, "evodash migrate: %s\n", store_errmsg(src));
        goto done;
    }
    if (store_open(to, 0, &dst)) {
        fprintf(stderr, "evodash migrate: %s\n", store_errmsg(dst));
        goto done;
    }
    fprintf(stderr, "migrate: %s (%s) -> %s (%s)\n", a, store_backend_name(src), b,
            store_backend_name(dst));
    progress p = {.tty = isatty(2)};
    if (store_copy(src, dst, force, show, &p)) {
        if (p.tty)
            fputc('\n', stderr);
        fprintf(stderr, "evodash migrate: %s\n", store_errmsg(dst));
        goto done;
    }
    fprintf(stderr, "migrate: done; every table's rows counted on both sides\n");
    rc = 0;
done:
    store_close(src);
    store_close(dst);
    return rc;
}
