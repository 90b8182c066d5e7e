/* utillog.c — see utillog.h.
 *
 * Cost per sample (10 Hz by default): a read of /proc/stat and
 * /proc/meminfo through descriptors kept open, and, for the watched
 * processes only, a readdir of /proc/PID/fd.  The socket tables
 * /proc/PID/net/{tcp,udp}[6] are the expensive part (the kernel walks its
 * whole hash tables: ~0.4 ms each for tcp and tcp6 here), so they are read
 * only when the processes' set of socket inodes changed, while one of their
 * TCP sockets is created but not yet connected, and once a minute as a
 * safety net (a UDP socket that connects later is seen then).  A connection
 * whose socket is still open counts as seen.  The process list itself (a
 * scan of every /proc/PID) is refreshed once a minute, as the format says. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "utillog/utillog.h"

struct conn {
    uint64_t inode;
    char target[64];
    int64_t first_ns, last_ns;
    int seen;
};

struct ulog {
    const struct utillog_opts *o;
    const char *proc;
    FILE *util, *net;
    int stat_fd, mem_fd;
    uint64_t prev_busy, prev_total;
    int ncpu;
    pid_t *pids;
    size_t npids, pcap;
    uint64_t *inodes; /* sorted socket inodes of the watched processes */
    size_t ninodes, icap;
    uint64_t *prev_inodes; /* the set when the tables were last read */
    size_t nprev;
    unsigned since_tables; /* samples since the tables were last read */
    int undecided;         /* a watched TCP socket was not connected yet */
    char *tcp_text;        /* copy of net/tcp while net/tcp6 is read */
    unsigned *listen_ports;
    size_t nlisten, lcap;
    struct conn *conns;
    size_t nconns, ccap;
    char *buf;
    size_t bufcap;
    struct utillog_stats st;
};

static int64_t now_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Read a whole /proc file through fd from its start, growing u->buf.
 * Plain read() after one lseek: a seq_file such as net/tcp comes a page per
 * call, and a pread() at an offset other than where the last read stopped
 * walks the kernel's table again from the start. */
static ssize_t read_fd_all(struct ulog *u, int fd)
{
    size_t n = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return -1;
    for (;;) {
        if (n + 4096 > u->bufcap) {
            size_t cap = u->bufcap ? 2 * u->bufcap : 65536;
            char *nb = realloc(u->buf, cap + 1);
            if (!nb)
                return -1;
            u->buf = nb;
            u->bufcap = cap;
        }
        ssize_t r = read(fd, u->buf + n, u->bufcap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    u->buf[n] = '\0';
    return (ssize_t)n;
}

static ssize_t read_path(struct ulog *u, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read_fd_all(u, fd);
    close(fd);
    return n;
}

int utl_stat_busy(const char *text, uint64_t *busy, uint64_t *total, int *ncpu)
{
    unsigned long long v[8] = {0};
    if (strncmp(text, "cpu ", 4) != 0)
        return -1;
    int n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* idle and iowait */
    *ncpu = 0;
    for (const char *p = strstr(text, "\ncpu"); p; p = strstr(p + 1, "\ncpu"))
        if (isdigit((unsigned char)p[4]))
            (*ncpu)++;
    if (*ncpu == 0)
        *ncpu = 1;
    return 0;
}

static int read_cpu(struct ulog *u, double *pct)
{
    uint64_t busy, total;
    int ncpu;
    if (read_fd_all(u, u->stat_fd) < 0 || utl_stat_busy(u->buf, &busy, &total, &ncpu) < 0)
        return -1;
    u->ncpu = ncpu;
    uint64_t db = busy - u->prev_busy, dt = total - u->prev_total;
    *pct = dt ? 100.0 * ncpu * (double)db / (double)dt : 0;
    u->prev_busy = busy;
    u->prev_total = total;
    return 0;
}

static int read_mem(struct ulog *u, uint64_t *used)
{
    unsigned long long total = 0, avail = 0;
    if (read_fd_all(u, u->mem_fd) < 0)
        return -1;
    const char *t = strstr(u->buf, "MemTotal:"), *a = strstr(u->buf, "MemAvailable:");
    if (!t || !a || sscanf(t, "MemTotal: %llu", &total) != 1 ||
        sscanf(a, "MemAvailable: %llu", &avail) != 1)
        return -1;
    *used = (total > avail ? total - avail : 0) * 1024;
    return 0;
}

static int name_matches(struct ulog *u, const char *pid)
{
    char path[512];
    const char *want = u->o->program;
    snprintf(path, sizeof path, "%s/%s/comm", u->proc, pid);
    if (read_path(u, path) > 0) {
        char *nl = strchr(u->buf, '\n');
        if (nl)
            *nl = '\0';
        /* comm is cut to 15 bytes by the kernel. */
        if (!strncmp(u->buf, want, 15) && (strlen(want) <= 15 ? !strcmp(u->buf, want) : 1))
            return 1;
    }
    snprintf(path, sizeof path, "%s/%s/cmdline", u->proc, pid);
    if (read_path(u, path) > 0) {
        const char *slash = strrchr(u->buf, '/'); /* argv[0] ends at the first NUL */
        const char *base = slash ? slash + 1 : u->buf;
        return !strcmp(base, want);
    }
    return 0;
}

static void refresh_pids(struct ulog *u)
{
    DIR *d = opendir(u->proc);
    struct dirent *de;
    u->npids = 0;
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]) || !name_matches(u, de->d_name))
            continue;
        if (u->npids == u->pcap) {
            size_t cap = u->pcap ? 2 * u->pcap : 16;
            pid_t *np = realloc(u->pids, cap * sizeof *np);
            if (!np)
                break;
            u->pids = np;
            u->pcap = cap;
        }
        u->pids[u->npids++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    if (u->npids > u->st.processes)
        u->st.processes = u->npids;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void collect_inodes(struct ulog *u)
{
    u->ninodes = 0;
    for (size_t i = 0; i < u->npids; i++) {
        char path[512], link[128];
        snprintf(path, sizeof path, "%s/%d/fd", u->proc, (int)u->pids[i]);
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d)
            continue;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%d/fd/%s", u->proc, (int)u->pids[i], de->d_name);
            ssize_t n = readlink(path, link, sizeof link - 1);
            unsigned long long ino;
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (sscanf(link, "socket:[%llu]", &ino) != 1)
                continue;
            if (u->ninodes == u->icap) {
                size_t cap = u->icap ? 2 * u->icap : 64;
                uint64_t *ni = realloc(u->inodes, cap * sizeof *ni);
                if (!ni)
                    break;
                u->inodes = ni;
                u->icap = cap;
            }
            u->inodes[u->ninodes++] = ino;
        }
        closedir(d);
    }
    qsort(u->inodes, u->ninodes, sizeof *u->inodes, u64_cmp);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* The kernel prints an address as 32-bit words in host byte order, in hex. */
static int parse_addr(const char *s, int v6, unsigned char *out)
{
    int words = v6 ? 4 : 1;
    for (int w = 0; w < words; w++) {
        uint32_t x = 0;
        for (int i = 0; i < 8; i++) {
            int h = hexval(s[w * 8 + i]);
            if (h < 0)
                return -1;
            x = x << 4 | (uint32_t)h;
        }
        memcpy(out + 4 * w, &x, 4);
    }
    return s[words * 8] == ':' ? words * 8 : -1;
}

int utl_parse_sock_line(const char *line, int v6, struct utl_sock *out)
{
    char local[64], remote[64];
    unsigned st;
    unsigned long long inode;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    if (sscanf(line, " %*[0-9]: %63s %63s %x %*s %*s %*s %*u %*u %llu", local, remote, &st,
               &inode) != 4)
        return -1;
    unsigned char la[16], ra[16];
    int lo = parse_addr(local, v6, la), ro = parse_addr(remote, v6, ra);
    if (lo < 0 || ro < 0)
        return -1;
    unsigned lp, rp;
    if (sscanf(local + lo + 1, "%x", &lp) != 1 || sscanf(remote + ro + 1, "%x", &rp) != 1)
        return -1;
    char ip[INET6_ADDRSTRLEN];
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, ra, ip, sizeof ip))
        return -1;
    out->state = st;
    out->local_port = lp;
    out->remote_port = rp;
    out->inode = inode;
    out->remote_zero = rp == 0;
    for (int i = 0; i < (v6 ? 16 : 4); i++)
        out->remote_zero &= ra[i] == 0;
    snprintf(out->target, sizeof out->target, "%s:%u", ip, rp);
    return 0;
}

static void fmt_time(FILE *f, int64_t ns)
{
    fprintf(f, "%lld.%06lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000 / 1000));
}

static void write_conn(struct ulog *u, const struct conn *c)
{
    fmt_time(u->net, c->first_ns);
    fprintf(u->net, ",%s,", c->target);
    fmt_time(u->net, c->last_ns);
    putc('\n', u->net);
    u->st.connections++;
}

static void see(struct ulog *u, const struct utl_sock *s, int64_t now)
{
    for (size_t i = 0; i < u->nconns; i++)
        if (u->conns[i].inode == s->inode && !strcmp(u->conns[i].target, s->target)) {
            u->conns[i].last_ns = now;
            u->conns[i].seen = 1;
            return;
        }
    if (u->nconns == u->ccap) {
        size_t cap = u->ccap ? 2 * u->ccap : 32;
        struct conn *nc = realloc(u->conns, cap * sizeof *nc);
        if (!nc)
            return;
        u->conns = nc;
        u->ccap = cap;
    }
    struct conn *c = &u->conns[u->nconns++];
    c->inode = s->inode;
    snprintf(c->target, sizeof c->target, "%s", s->target);
    c->first_ns = c->last_ns = now;
    c->seen = 1;
}

static void add_listen_port(struct ulog *u, unsigned port)
{
    if (u->nlisten == u->lcap) {
        size_t cap = u->lcap ? 2 * u->lcap : 64;
        unsigned *nl = realloc(u->listen_ports, cap * sizeof *nl);
        if (!nl)
            return;
        u->listen_ports = nl;
        u->lcap = cap;
    }
    u->listen_ports[u->nlisten++] = port;
}

/* One pass over a socket table's text: with listen_pass, collect the local
 * ports of TCP listeners; otherwise record the watched processes' outgoing
 * connections. */
/* The state (4th field) and inode (10th) of a table row, found without
 * parsing the rest: a busy host's tables have tens of thousands of rows, and
 * only listeners and the watched processes' sockets need a full parse. */
static int quick_fields(const char *p, unsigned *state, uint64_t *inode)
{
    for (int f = 0; f < 10; f++) {
        while (*p == ' ')
            p++;
        if (!*p || *p == '\n')
            return -1;
        if (f == 3)
            *state = (unsigned)strtoul(p, NULL, 16);
        if (f == 9) {
            *inode = strtoull(p, NULL, 10);
            return 0;
        }
        while (*p && *p != ' ' && *p != '\n')
            p++;
    }
    return -1;
}

static void scan_text(struct ulog *u, char *text, int v6, int tcp, int listen_pass, int64_t now)
{
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        struct utl_sock s;
        unsigned state = 0;
        uint64_t inode = 0;
        if (quick_fields(line + 1, &state, &inode) < 0)
            continue;
        if (listen_pass ? !(tcp && state == 0x0A)
                        : !bsearch(&inode, u->inodes, u->ninodes, sizeof *u->inodes, u64_cmp))
            continue;
        if (utl_parse_sock_line(line + 1, v6, &s) < 0)
            continue;
        if (listen_pass) {
            if (tcp && s.state == 0x0A && u->nlisten < 4096)
                add_listen_port(u, s.local_port);
            continue;
        }
        if (!bsearch(&s.inode, u->inodes, u->ninodes, sizeof *u->inodes, u64_cmp))
            continue;
        if (tcp) {
            if (s.state == 0x07) /* CLOSE: created, connect() may follow */
                u->undecided = 1;
            if (s.state != 0x01 && s.state != 0x02) /* ESTABLISHED, SYN_SENT */
                continue;
            int incoming = 0;
            for (size_t i = 0; i < u->nlisten && !incoming; i++)
                incoming = u->listen_ports[i] == s.local_port;
            if (incoming)
                continue;
        } else if (s.remote_zero) { /* an unconnected UDP socket has no target */
            continue;
        }
        see(u, &s, now);
    }
}

static ssize_t read_table(struct ulog *u, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%d/net/%s", u->proc, (int)u->pids[0], file);
    return read_path(u, path);
}

static void read_tables(struct ulog *u, int64_t now)
{
    u->nlisten = 0;
    free(u->tcp_text);
    u->tcp_text = NULL;
    if (read_table(u, "tcp") >= 0) {
        u->tcp_text = strdup(u->buf);
        if (u->tcp_text)
            scan_text(u, u->tcp_text, 0, 1, 1, now);
    }
    if (read_table(u, "tcp6") >= 0) {
        scan_text(u, u->buf, 1, 1, 1, now);
        scan_text(u, u->buf, 1, 1, 0, now);
    }
    if (u->tcp_text)
        scan_text(u, u->tcp_text, 0, 1, 0, now);
    if (read_table(u, "udp") >= 0)
        scan_text(u, u->buf, 0, 0, 0, now);
    if (read_table(u, "udp6") >= 0)
        scan_text(u, u->buf, 1, 0, 0, now);
}

static void sample_net(struct ulog *u, int64_t now)
{
    for (size_t i = 0; i < u->nconns; i++)
        u->conns[i].seen = 0;
    if (u->npids) {
        collect_inodes(u);
        int same =
            u->ninodes == u->nprev &&
            (!u->ninodes || !memcmp(u->inodes, u->prev_inodes, u->ninodes * sizeof *u->inodes));
        unsigned every = u->o->hz >= 1.0 / 60 ? (unsigned)(60 * u->o->hz) : 1; /* 60 s */
        if (same && !u->undecided && ++u->since_tables < every) {
            for (size_t i = 0; i < u->nconns; i++)
                if (bsearch(&u->conns[i].inode, u->inodes, u->ninodes, sizeof *u->inodes,
                            u64_cmp)) {
                    u->conns[i].seen = 1;
                    u->conns[i].last_ns = now;
                }
        } else {
            u->undecided = 0;
            read_tables(u, now);
            u->since_tables = 0;
            uint64_t *np = realloc(u->prev_inodes, (u->ninodes ? u->ninodes : 1) * sizeof *np);
            if (np) {
                memcpy(np, u->inodes, u->ninodes * sizeof *np);
                u->prev_inodes = np;
                u->nprev = u->ninodes;
            }
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < u->nconns; i++) {
        if (u->conns[i].seen)
            u->conns[k++] = u->conns[i];
        else
            write_conn(u, &u->conns[i]);
    }
    u->nconns = k;
}

static double ts_s(const struct timespec *t)
{
    return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

int utillog_run(const struct utillog_opts *o, struct utillog_stats *st, char *err, size_t errlen)
{
    struct ulog u = {.o = o, .proc = o->proc ? o->proc : "/proc", .stat_fd = -1, .mem_fd = -1};
    char path[4096];
    int rc = 0;
    struct timespec t0, next, now;
    double refresh = o->refresh_s > 0 ? o->refresh_s : 60;
    if (!o->program || !o->outdir || !(o->hz > 0)) {
        snprintf(err, errlen, "a program name, an output directory and hz > 0 are required");
        return EVD_EINVAL;
    }
    snprintf(path, sizeof path, "%s/stat", u.proc);
    u.stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/meminfo", u.proc);
    u.mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    double pct;
    if (u.stat_fd < 0 || u.mem_fd < 0 || read_cpu(&u, &pct) < 0) {
        snprintf(err, errlen, "%s: cannot read stat and meminfo", u.proc);
        rc = EVD_EIO;
        goto done;
    }
    snprintf(path, sizeof path, "%s/UtilLog.csv", o->outdir);
    u.util = fopen(path, "w");
    if (u.util) {
        snprintf(path, sizeof path, "%s/netLog.csv", o->outdir);
        u.net = fopen(path, "w");
    }
    if (!u.util || !u.net) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = EVD_EIO;
        goto done;
    }
    fputs("time,cpu,mem\n", u.util);
    fputs("start,target,end\n", u.net);
    refresh_pids(&u);
    if (o->diag)
        fprintf(o->diag, "utillog: %zu process(es) named %s; writing to %s at %g Hz\n", u.npids,
                o->program, o->outdir, o->hz);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    next = t0;
    double last_refresh = ts_s(&t0);
    int64_t period = (int64_t)(1e9 / o->hz);
    for (;;) {
        next.tv_nsec += period % 1000000000;
        next.tv_sec += period / 1000000000 + next.tv_nsec / 1000000000;
        next.tv_nsec %= 1000000000;
        while (!(o->stop && *o->stop) &&
               clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (o->stop && *o->stop)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t wall = now_real_ns();
        uint64_t mem;
        if (read_cpu(&u, &pct) < 0 || read_mem(&u, &mem) < 0) {
            snprintf(err, errlen, "%s: stat or meminfo became unreadable", u.proc);
            rc = EVD_EIO;
            break;
        }
        fmt_time(u.util, wall);
        fprintf(u.util, ",%.1f,%" PRIu64 "\n", pct, mem);
        if (ts_s(&now) - last_refresh >= refresh) {
            refresh_pids(&u);
            last_refresh = ts_s(&now);
        }
        sample_net(&u, wall);
        fflush(u.util);
        fflush(u.net);
        u.st.samples++;
        if (o->duration_s > 0 && ts_s(&now) - ts_s(&t0) >= o->duration_s - 0.5 / o->hz)
            break;
        if (ts_s(&now) > ts_s(&next) + 1) /* far behind (suspended): do not burst */
            next = now;
    }
    /* Connections still open are written with their last sighting. */
    for (size_t i = 0; i < u.nconns; i++)
        write_conn(&u, &u.conns[i]);
    u.nconns = 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    u.st.wall_s = ts_s(&now) - ts_s(&t0);
done:
    if (u.util && fclose(u.util) != 0 && rc == 0) {
        snprintf(err, errlen, "UtilLog.csv: write error");
        rc = EVD_EIO;
    }
    if (u.net && fclose(u.net) != 0 && rc == 0) {
        snprintf(err, errlen, "netLog.csv: write error");
        rc = EVD_EIO;
    }
    if (u.stat_fd >= 0)
        close(u.stat_fd);
    if (u.mem_fd >= 0)
        close(u.mem_fd);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        u.st.cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (st)
        *st = u.st;
    free(u.pids);
    free(u.inodes);
    free(u.prev_inodes);
    free(u.tcp_text);
    free(u.listen_ports);
    free(u.conns);
    free(u.buf);
    return rc;
}
