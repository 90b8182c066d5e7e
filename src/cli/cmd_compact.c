/* cmd_compact.c — `evodash compact --db URL`: pack every past hour of raw
 * rows now, with a progress line, rather than waiting for the dashboard's
 * background packing (after an import, a migration, or before a
 * benchmark). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "store/store.h"

#define BATCH 256

static void usage(FILE *f)
{
    int settle = (int)(STORE_COMPACT_SETTLE_US / 60000000);
    fprintf(f,
            "usage: evodash compact --db URL [--until SECONDS]\n\n"
            "Pack the raw requests of every hour that ended over %d minutes ago into\n"
            "one value per endpoint, instance and hour, so that the dashboard's\n"
            "per-endpoint views read an hour at once instead of row by row.  The\n"
            "dashboard does this in the background too; an hour written to again\n"
            "is read row by row until it is packed anew.  The requests stay.\n\n"
            "  --db URL          the store (sqlite:///..., a path, postgresql://...)\n"
            "  --until SECONDS   as if it were that time (Unix seconds), not now: only\n"
            "                    the hours that ended %d minutes before it\n",
            settle, settle);
}

int cmd_compact(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL;
    int64_t until = (int64_t)time(NULL);
    char *end;
    int c, rc = 1;
    store *st = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            url = optarg;
            break;
        case 'u':
            until = strtoll(optarg, &end, 10);
            if (end == optarg || *end || until <= 0) {
                fprintf(stderr, "evodash compact: --until: expected Unix seconds, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !url) {
        usage(stderr);
        return 2;
    }
    char shown[512];
    store_url_redact(url, shown, sizeof shown);
    if (store_open(url, 0, &st)) {
        fprintf(stderr, "evodash compact: %s\n", store_errmsg(st));
        goto done;
    }
    int64_t before = store_compact_before(until * 1000000), total, hours = 0;
    store_compacted sum = {0}, b;
    if (store_compact_pending(st, before, &total)) {
        fprintf(stderr, "evodash compact: %s\n", store_errmsg(st));
        goto done;
    }
    fprintf(stderr, "compact: %s: %lld hours to pack\n", shown, (long long)total);
    int tty = isatty(2);
    time_t last = time(NULL);
    do {
        if (store_compact_batch(st, before, BATCH, &b)) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "evodash compact: %s\n", store_errmsg(st));
            goto done;
        }
        hours += b.hours;
        sum.rows += b.rows;
        sum.bytes += b.bytes;
        time_t now = time(NULL);
        if (b.hours && now - last >= (tty ? 1 : 10)) {
            last = now;
            fprintf(stderr,
                    tty ? "\r\033[Kcompact: %lld / %lld hours" : "compact: %lld / %lld hours\n",
                    (long long)hours, (long long)total);
        }
        before = b.next_before;
    } while (b.more);
    if (tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "compact: done; %lld hours, %lld requests packed into %.1f MB\n",
            (long long)hours, (long long)sum.rows, (double)sum.bytes / 1e6);
    rc = 0;
done:
    store_close(st);
    return rc;
}
