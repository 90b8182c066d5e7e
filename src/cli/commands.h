/* commands.h — the subcommands of the `evodash` CLI.  Each takes the
 * arguments after its own name (argv[0] is the subcommand) and returns the
 * process exit status: 0 ok, 1 failure, 2 usage error. */
#ifndef EVD_CLI_COMMANDS_H
#define EVD_CLI_COMMANDS_H

#include <stdint.h>

int cmd_stats(int argc, char **argv);      /* cmd_stats.c */
int cmd_utillog(int argc, char **argv);    /* cmd_trace.c */
int cmd_profile(int argc, char **argv);    /* cmd_trace.c */
int cmd_validate(int argc, char **argv);   /* cmd_trace.c */
int cmd_simulate(int argc, char **argv);   /* cmd_sim.c */
int cmd_serve(int argc, char **argv);      /* cmd_serve.c */
int cmd_import_fmd(int argc, char **argv); /* cmd_import.c */
int cmd_migrate(int argc, char **argv);    /* cmd_migrate.c */
int cmd_collect(int argc, char **argv);    /* cmd_collect.c */
int cmd_compact(int argc, char **argv);    /* cmd_compact.c */

/* The --what-if mode of `evodash simulate` (cmd_whatif.c), with the
 * options cmd_simulate parsed. */
#define WHATIF_FACTORS_MAX 16
typedef struct whatif_cli {
    const char *url, *service, *model_dir; /* model_dir: NULL writes no files */
    double hours;                          /* window before the newest request */
    int replicas, workers, cores;          /* 0: observed; workers -1: no limit */
    double quantum_ms;                     /* < 0: the default; 0: processor sharing */
    double max_steal;                      /* share; 0: the default; < 0: no limit */
    double steal;                          /* share; 0: as recorded; < 0: none */
    double factors[WHATIF_FACTORS_MAX];
    int nfactors;
    double slo_ms; /* > 0: --find-capacity */
    uint64_t seed;
    int replications; /* runs pooled per prediction; 0: the default */
    int json, quiet;
} whatif_cli;
int cmd_whatif(const whatif_cli *w);

#endif
