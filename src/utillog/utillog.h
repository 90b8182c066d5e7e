/* utillog.h — the utilisation logger: whole-system CPU and used memory to
 * UtilLog.csv, and the outgoing connections of a program's processes to
 * netLog.csv (docs/formats.md).  Reads /proc only. */
#ifndef EVD_UTILLOG_H
#define EVD_UTILLOG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct utillog_opts {
    const char *program;         /* process name to watch (comm or argv[0] basename) */
    const char *outdir;          /* must exist */
    double hz;                   /* samples per second, > 0 */
    double duration_s;           /* stop after this long; 0 = only when *stop is set */
    double refresh_s;            /* process list refresh period; 0 = 60 s */
    volatile sig_atomic_t *stop; /* set by a signal handler to stop cleanly */
    const char *proc;            /* root of procfs, NULL for "/proc" (tests use a fake) */
    FILE *diag;
};

struct utillog_stats {
    uint64_t samples, connections, processes;
    double wall_s, cpu_s; /* own wall and CPU (user + system) time */
};

/* Log until *stop is set or duration_s passes, then close both files with
 * every open connection written.  Returns 0, or a negative EVD_E* code with
 * err filled (files cannot be created, /proc unreadable). */
int utillog_run(const struct utillog_opts *o, struct utillog_stats *st, char *err, size_t errlen);

/* One row of /proc/net/{tcp,udp}[6]: returns 0 and fills the fields, or -1
 * for the header or a malformed row.  target receives "ip:port" with IPv6
 * unbracketed, as netLog.csv writes it. */
struct utl_sock {
    unsigned state;
    unsigned local_port, remote_port;
    int remote_zero; /* remote address and port are all zero */
    uint64_t inode;
    char target[64];
};
int utl_parse_sock_line(const char *line, int v6, struct utl_sock *out);

/* System CPU in percent (100 = one core) between two /proc/stat "cpu"
 * lines' counters.  Returns -1 when the lines cannot be parsed. */
int utl_stat_busy(const char *stat_text, uint64_t *busy, uint64_t *total, int *ncpu);

#endif
