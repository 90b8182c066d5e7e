/* sysinfo.c — CPU per core and memory, from /proc alone.
 *
 * The watchdog calls these when a request misses its deadline, so they read
 * with plain open/read into small stack buffers: no allocation, and no
 * stdio locks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evodash.h"
#include "core/sysinfo.h"

/* Read a /proc file, up to cap-1 bytes, NUL-terminated.  Returns the length
 * or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

static uint64_t next_u64(const char **p)
{
    char *end;
    while (**p == ' ' || **p == '\t')
        (*p)++;
    unsigned long long v = strtoull(*p, &end, 10);
    *p = end;
    return (uint64_t)v;
}

/* One "cpuN ..." line of /proc/stat into out.  Returns 1 if it was one. */
static int parse_cpu_line(const char *line, sysinfo_cpu *out)
{
    if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
        return 0; /* not a cpu line, or the "cpu " total */
    char *end;
    unsigned long id = strtoul(line + 3, &end, 10);
    if (id >= SYSINFO_MAX_CPUS)
        return 0;
    const char *p = end;
    /* user nice system idle iowait irq softirq steal [guest guest_nice];
     * guest time is already counted in user and nice. */
    uint64_t f[8], total = 0;
    for (int i = 0; i < 8; i++) {
        f[i] = next_u64(&p);
        total += f[i];
    }
    out->busy[id] = total - f[3] - f[4];
    out->total[id] = total;
    out->steal += f[7];
    if ((int)id + 1 > out->ncpu)
        out->ncpu = (int)id + 1;
    return 1;
}

int sysinfo_read_cpu(sysinfo_cpu *out)
{
    /* Read in small chunks: the watchdog may run on a small stack, and
     * /proc/stat holds about 100 bytes per CPU.  The cpu lines come first,
     * so we stop at the first other line. */
    char buf[4096];
    size_t have = 0;
    int found = 0, done = 0;
    if (!out)
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return EVD_EIO;
    while (!done) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            if (strncmp(line, "cpu", 3) != 0) {
                done = 1;
                break;
            }
            found |= parse_cpu_line(line, out);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            break; /* a line longer than any cpu line: stop */
    }
    close(fd);
    return found ? 0 : EVD_EIO;
}

int sysinfo_cpu_percent(const sysinfo_cpu *before, const sysinfo_cpu *after, double *pct, int cap)
{
    if (!before || !after || !pct || cap <= 0)
        return 0;
    int n = before->ncpu < after->ncpu ? before->ncpu : after->ncpu;
    if (n > cap)
        n = cap;
    for (int i = 0; i < n; i++) {
        /* A CPU taken offline and back restarts its counters. */
        if (after->total[i] <= before->total[i] || after->busy[i] < before->busy[i]) {
            pct[i] = 0;
            continue;
        }
        double dt = (double)(after->total[i] - before->total[i]);
        double db = (double)(after->busy[i] - before->busy[i]);
        double v = 100.0 * db / dt;
        pct[i] = v < 0 ? 0 : v > 100 ? 100 : v;
    }
    return n;
}

int64_t sysinfo_steal_us(const sysinfo_cpu *before, const sysinfo_cpu *after)
{
    long hz = sysconf(_SC_CLK_TCK);
    if (!before || !after || before->ncpu <= 0 || before->ncpu != after->ncpu ||
        after->steal < before->steal || hz <= 0)
        return -1;
    uint64_t per_cpu = (after->steal - before->steal) * (uint64_t)(1000000 / hz);
    return (int64_t)(per_cpu / (uint64_t)after->ncpu);
}

/* The value in kB of "Name:   1234 kB" in a /proc text, or -1. */
static int64_t field_kb(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, name, len) && p[len] == ':') {
            const char *q = p + len + 1;
            return (int64_t)next_u64(&q);
        }
    }
    return -1;
}

int sysinfo_read_mem(sysinfo_mem *out)
{
    char buf[4096];
    if (!out)
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    if (read_proc("/proc/meminfo", buf, sizeof buf) <= 0)
        return EVD_EIO;
    int64_t total = field_kb(buf, "MemTotal");
    int64_t avail = field_kb(buf, "MemAvailable");
    if (avail < 0) {
        /* Kernels before 3.14 lack MemAvailable. */
        int64_t fr = field_kb(buf, "MemFree"), bu = field_kb(buf, "Buffers"),
                ca = field_kb(buf, "Cached");
        if (fr >= 0)
            avail = fr + (bu > 0 ? bu : 0) + (ca > 0 ? ca : 0);
    }
    if (total <= 0 || avail < 0)
        return EVD_EIO;
    if (avail > total)
        avail = total;
    out->total_bytes = (uint64_t)total * 1024;
    out->available_bytes = (uint64_t)avail * 1024;
    out->used_bytes = out->total_bytes - out->available_bytes;

    if (read_proc("/proc/self/status", buf, sizeof buf) <= 0)
        return EVD_EIO;
    int64_t rss = field_kb(buf, "VmRSS");
    if (rss < 0)
        return EVD_EIO;
    out->process_rss = (uint64_t)rss * 1024;
    return 0;
}

int sysinfo_read_self_cpu(uint64_t *cpu_us)
{
    char buf[1024];
    if (read_proc("/proc/self/stat", buf, sizeof buf) <= 0)
        return EVD_EIO;
    /* The command name (field 2) may hold spaces and parentheses: count
     * the fields from its last ')'. */
    const char *p = strrchr(buf, ')');
    if (!p)
        return EVD_EIO;
    p++;
    /* after it: state (3) ... utime (14), stime (15) */
    for (int field = 3; field < 14; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    uint64_t ut = next_u64(&p), st = next_u64(&p);
    long hz = sysconf(_SC_CLK_TCK);
    if (!*p || hz <= 0)
        return EVD_EIO;
    *cpu_us = (ut + st) * (uint64_t)(1000000 / hz);
    return 0;
}

int sysinfo_cpus_allowed(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
