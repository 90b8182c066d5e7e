/* sysinfo.c — CPU per core and memory, from /proc alone.
 *
 * The watchdog calls these when a request misses its deadline, so they read
 * with plain open/read into stack buffers: no allocation, and no stdio
 * locks that a signal handler elsewhere in the process might hold. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

int sysinfo_read_cpu(sysinfo_cpu *out)
{
    /* /proc/stat is about 100 bytes per CPU plus interrupt counters; the
     * cpu lines come first, so a truncated read still holds them all for
     * SYSINFO_MAX_CPUS cpus. */
    char buf[65536];
    if (!out)
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    if (read_proc("/proc/stat", buf, sizeof buf) <= 0)
        return EVD_EIO;
    int found = 0;
    for (const char *line = buf; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, "cpu", 3) != 0)
            break; /* the cpu lines are all at the top */
        if (line[3] < '0' || line[3] > '9')
            continue; /* the "cpu " total */
        const char *p = line + 3;
        char *end;
        unsigned long id = strtoul(p, &end, 10);
        if (id >= SYSINFO_MAX_CPUS)
            continue;
        p = end;
        /* user nice system idle iowait irq softirq steal [guest guest_nice];
         * guest time is already counted in user and nice. */
        uint64_t f[8];
        for (int i = 0; i < 8; i++)
            f[i] = next_u64(&p);
        uint64_t idle = f[3] + f[4];
        uint64_t total = 0;
        for (int i = 0; i < 8; i++)
            total += f[i];
        out->busy[id] = total - idle;
        out->total[id] = total;
        if ((int)id + 1 > out->ncpu)
            out->ncpu = (int)id + 1;
        found = 1;
    }
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
    char buf[8192];
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
