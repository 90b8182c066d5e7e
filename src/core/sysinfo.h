/* sysinfo.h — CPU and memory figures from /proc, and nothing else. */
#ifndef EVD_SYSINFO_H
#define EVD_SYSINFO_H

#include <stddef.h>
#include <stdint.h>

#define SYSINFO_MAX_CPUS 256

/* Cumulative jiffies per CPU, as read from /proc/stat. */
typedef struct sysinfo_cpu {
    int ncpu;
    uint64_t busy[SYSINFO_MAX_CPUS];
    uint64_t total[SYSINFO_MAX_CPUS];
    uint64_t steal; /* summed over the CPUs: time they waited for the hypervisor */
} sysinfo_cpu;

/* Read /proc/stat into *out.  Returns 0 or EVD_EIO. */
int sysinfo_read_cpu(sysinfo_cpu *out);

/* Per-core busy percentage (0..100) between two readings, into pct[0..n),
 * n = min(a->ncpu, b->ncpu, cap).  Returns n. */
int sysinfo_cpu_percent(const sysinfo_cpu *before, const sysinfo_cpu *after, double *pct, int cap);

/* The steal time between two readings, in us per CPU (the mean over the
 * machine's CPUs): how long a virtual machine's CPUs were ready to run
 * while the hypervisor ran someone else.  0 on bare metal; -1 when the
 * readings cannot be compared (the CPUs changed, a counter went back). */
int64_t sysinfo_steal_us(const sysinfo_cpu *before, const sysinfo_cpu *after);

typedef struct sysinfo_mem {
    uint64_t total_bytes;     /* MemTotal */
    uint64_t available_bytes; /* MemAvailable */
    uint64_t used_bytes;      /* total - available */
    uint64_t process_rss;     /* this process's VmRSS */
} sysinfo_mem;

/* Read /proc/meminfo and /proc/self/status.  Returns 0 or EVD_EIO. */
int sysinfo_read_mem(sysinfo_mem *out);

/* This process's CPU time so far (user + system, all threads), in us, from
 * /proc/self/stat (clock-tick resolution).  Returns 0 or EVD_EIO. */
int sysinfo_read_self_cpu(uint64_t *cpu_us);

/* How many CPUs this process may run on (its affinity mask), at least 1. */
int sysinfo_cpus_allowed(void);

#endif
