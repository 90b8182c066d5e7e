/* cmd_import.c — `evodash import-fmd DB [--into URL] [--service NAME]
 * [--force]`: bring an existing Flask-MonitoringDashboard database into an
 * evodash store. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "fmd/fmd_import.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash import-fmd FMD_DB [--into URL] [--service NAME] [--force]\n\n"
               "Copy a Flask-MonitoringDashboard SQLite database (endpoints, versions,\n"
               "requests, outliers, profiler lines) into an evodash store, in one\n"
               "transaction.  Outlier stacks become frames (function, file, line) and\n"
               "secrets in outlier URLs, headers and environments are masked, as live\n"
               "capture does.\n\n"
               "The store remembers every FMD database imported into it, whatever the\n"
               "file is called now: importing the same one again is refused (exit status\n"
               "3) and changes nothing.\n\n"
               "  --into URL      the store (default sqlite:///evodash.db)\n"
               "  --service NAME  the service to import into (default: the store's only\n"
               "                  service, else one named after the file)\n"
               "  --force         import a database imported before all the same (its\n"
               "                  requests are then counted twice)\n");
}

int cmd_import_fmd(int argc, char **argv)
{
    static const struct option opts[] = {{"into", required_argument, NULL, 'i'},
                                         {"service", required_argument, NULL, 's'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    fmd_options o = {.into = "sqlite:///evodash.db"};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:s:fh", opts, NULL)) != -1) {
        if (c == 'i') {
            o.into = optarg;
        } else if (c == 's') {
            o.service = optarg;
        } else if (c == 'f') {
            o.force = 1;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o.source = argv[optind];
    fmd_counts n;
    char err[1024];
    int rc = fmd_import(&o, &n, err, sizeof err);
    if (rc) {
        fprintf(stderr, "evodash import-fmd: %s\n", err);
        return rc == FMD_EIMPORTED ? 3 : 1;
    }
    char shown[512];
    store_url_redact(o.into, shown, sizeof shown);
    printf("imported %ld endpoints, %ld versions, %ld requests, %ld outliers, %ld profiler "
           "lines into %s\n",
           n.endpoints, n.versions, n.requests, n.outliers, n.profile_lines, shown);
    return 0;
}
