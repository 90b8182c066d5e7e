/* main.c — the `evodash` command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "evodash.h"
#include "cli/commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {.name = "version", .run = cmd_version, .summary = "print the evodash version"},
    {.name = "stats",
     .run = cmd_stats,
     .summary = "per-endpoint summary of a store: stats --db URL"},
    {.name = "serve",
     .run = cmd_serve,
     .summary = "serve the dashboard: serve --config FILE | --db URL [--listen ADDR:PORT]"},
    {.name = "import-fmd",
     .run = cmd_import_fmd,
     .summary =
         "import a Flask-MonitoringDashboard database: import-fmd DB [--into URL] [--force]"},
    {.name = "migrate",
     .run = cmd_migrate,
     .summary = "copy a whole store, SQLite <-> PostgreSQL: migrate --from URL --to URL"},
    {.name = "compact",
     .run = cmd_compact,
     .summary = "pack past hours of raw requests for faster views: compact --db URL"},
    {.name = "collect",
     .run = cmd_collect,
     .summary = "store a CI build's test timings: collect --junit FILE... (--url URL | --db URL)"},
    {.name = "utillog",
     .run = cmd_utillog,
     .summary = "log system CPU, memory and a program's connections"},
    {.name = "profile",
     .run = cmd_profile,
     .summary = "build an application profile from call and utilisation logs"},
    {.name = "validate",
     .run = cmd_validate,
     .summary = "validate a profile, services, mapping or distribution file"},
    {.name = "simulate",
     .run = cmd_simulate,
     .summary = "predict response times and load with a discrete-event simulation"},
};

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("evodash %s\n", EVD_VERSION);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash COMMAND [ARGS...]\n\n"
               "evodash records every request of a web service, with its version,\n"
               "and turns the records into a dashboard and capacity predictions.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'evodash COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "evodash: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
