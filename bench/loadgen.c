/* loadgen.c — an open-loop load generator for the capacity benchmark:
 * Poisson arrivals at a chosen rate, each request on a connection of its
 * own, its response time measured from the moment it was due (not from
 * when it was sent), so that a late generator or a full backlog counts
 * against the server as it would for real clients.
 *
 *   loadgen -p PORT -d SECONDS [-s SEED] [-o OUT.csv] [-m PERIOD]
 *           PATH:RATE[:AMP:PHASE] ...
 *   loadgen -n -d SECONDS [-s SEED] [-o PLAN.csv] [-m PERIOD] PATH:RATE...
 *
 * Each PATH gets a Poisson stream of RATE requests per second.  With -m,
 * its rate drifts as RATE * (1 + AMP * sin(2 pi t / PERIOD + PHASE)), a
 * non-homogeneous Poisson stream (drawn by thinning), so that the mix of
 * endpoints changes over time as a service's does over a day.  OUT gets
 * one line per completed request: "index,due_s,response_s,status,late_s",
 * index being the PATH's position and late_s how late the generator sent
 * it (its response_s holds that).  A summary goes to stdout.
 *
 * -n sends nothing: it writes the arrivals that the same arguments would
 * send, "index,due_s" per line, so that a prediction can be made for the
 * very sequence a run will bring before it runs.  Both draw through
 * next_arrival(), so the plan and the run agree to the microsecond.
 *
 * One thread, epoll and non-blocking sockets; a timerfd at the next due
 * time, so arrivals are placed to the microsecond, not to epoll's
 * millisecond. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 16
#define MAX_CONNS 8192

typedef struct conn {
    int fd;
    int path;
    double due, start; /* when it was due, when it was sent */
    size_t sent, got;
    char buf[512]; /* the first bytes of the answer (the status line) */
    int used;
} conn;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* xorshift64*: the generator's own stream, fixed by the seed */
static uint64_t rng_state = 88172645463325252ULL;
static double u01(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((double)((rng_state * 2685821657736338717ULL) >> 11) + 0.5) * 0x1.0p-53;
}

/* The streams: rates[] are each one's peak, (1 + amp) * RATE; candidates
 * are drawn at the peaks' sum and kept with the stream's share of it. */
typedef struct streams {
    int np;
    double rates[MAX_PATHS], amp[MAX_PATHS], phase[MAX_PATHS], total, period;
} streams;

/* The next arrival after *due (t0: the run's start), which it sets; returns
 * its stream.  Candidates that the drift thins out are skipped. */
static int next_arrival(const streams *st, double t0, double *due)
{
    for (;;) {
        *due -= log(u01()) / st->total;
        double u = u01() * st->total;
        int p = 0;
        while (p + 1 < st->np && u >= st->rates[p])
            u -= st->rates[p++];
        if (st->amp[p] <= 0)
            return p;
        double level = 1 + st->amp[p] * sin(2 * M_PI * (*due - t0) / st->period + st->phase[p]);
        if (u01() * (1 + st->amp[p]) <= level)
            return p;
    }
}

static void arm(int tfd, double at)
{
    struct itimerspec its = {0};
    if (at < 1e-9)
        at = 1e-9;
    its.it_value.tv_sec = (time_t)at;
    its.it_value.tv_nsec = (long)((at - floor(at)) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int main(int argc, char **argv)
{
    int port = 0, c, plan = 0;
    double duration = 10;
    const char *out = NULL;
    streams st = {0};
    while ((c = getopt(argc, argv, "np:d:s:o:m:")) != -1) {
        switch (c) {
        case 'n':
            plan = 1;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 's':
            rng_state ^= strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ULL;
            break;
        case 'o':
            out = optarg;
            break;
        case 'm':
            st.period = atof(optarg);
            break;
        default:
            return 2;
        }
    }
    char *paths[MAX_PATHS];
    int np = 0;
    for (int i = optind; i < argc && np < MAX_PATHS; i++) {
        char *f[4] = {argv[i], NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++)
            if ((f[k] = strchr(f[k - 1], ':')))
                *f[k]++ = 0;
        if (!f[1] || !(port || plan)) {
            fprintf(stderr, "usage: loadgen -p PORT -d SECONDS [-s SEED] [-o OUT] [-m PERIOD] "
                            "PATH:RATE[:AMP:PHASE]...\n"
                            "       loadgen -n -d SECONDS [-s SEED] [-o PLAN] [-m PERIOD] "
                            "PATH:RATE[:AMP:PHASE]...\n");
            return 2;
        }
        paths[np] = f[0];
        st.amp[np] = st.period > 0 && f[2] ? atof(f[2]) : 0;
        st.phase[np] = f[2] && f[3] ? atof(f[3]) : 0;
        st.rates[np] = atof(f[1]) * (1 + st.amp[np]);
        st.total += st.rates[np++];
    }
    st.np = np;
    double mean_rate = 0;
    for (int i = 0; i < np; i++)
        mean_rate += st.rates[i] / (1 + st.amp[i]);
    if (!np || !(st.total > 0)) {
        fprintf(stderr, "loadgen: no PATH:RATE with a positive rate\n");
        return 2;
    }
    FILE *of = out ? fopen(out, "w") : plan ? stdout : NULL;
    if (out && !of) {
        perror(out);
        return 1;
    }
    if (plan) {
        long long n = 0;
        double due = 0;
        for (int p = next_arrival(&st, 0, &due); due < duration; p = next_arrival(&st, 0, &due))
            fprintf(of, "%d,%.6f\n", p, due), n++;
        if (of != stdout)
            fclose(of);
        fprintf(stderr, "loadgen: a plan of %lld arrivals over %.1f s at %.2f/s\n", n, duration,
                mean_rate);
        return 0;
    }
    static conn conns[MAX_CONNS];
    int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    char req[MAX_PATHS][300];
    size_t reqlen[MAX_PATHS];
    for (int i = 0; i < np; i++)
        reqlen[i] = (size_t)snprintf(
            req[i], sizeof req[i],
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", paths[i]);
    long long sent = 0, done = 0, failed = 0, late = 0, active = 0;
    double t0 = now_s() + 0.05, end = t0 + duration, due = t0;
    int path = next_arrival(&st, t0, &due);
    double worst_late = 0;
    arm(tfd, due);
    while (due < end || active > 0) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno == EINTR)
            continue;
        for (int k = 0; k < n; k++) {
            uint32_t id = evs[k].data.u32;
            if (id == UINT32_MAX) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0 && errno != EAGAIN)
                    break;
                double t = now_s();
                while (due <= t && due < end) {
                    if (t - due > worst_late)
                        worst_late = t - due;
                    late += t - due > 0.001;
                    int p = path, slot = -1;
                    for (int s = 0; s < MAX_CONNS; s++)
                        if (!conns[s].used) {
                            slot = s;
                            break;
                        }
                    int fd = slot < 0 ? -1 : socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                    if (fd < 0) {
                        failed++;
                    } else {
                        int one = 1;
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        conn *cn = &conns[slot];
                        *cn = (conn){.fd = fd, .path = p, .due = due, .start = now_s(), .used = 1};
                        connect(fd, (struct sockaddr *)&sa, sizeof sa);
                        struct epoll_event ce = {.events = EPOLLOUT | EPOLLIN,
                                                 .data.u32 = (uint32_t)slot};
                        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                        active++;
                        sent++;
                    }
                    path = next_arrival(&st, t0, &due);
                }
                if (due < end)
                    arm(tfd, due);
                continue;
            }
            conn *cn = &conns[id];
            if (!cn->used)
                continue;
            int finished = 0, ok = 1;
            if ((evs[k].events & EPOLLOUT) && cn->sent < reqlen[cn->path]) {
                ssize_t w = send(cn->fd, req[cn->path] + cn->sent, reqlen[cn->path] - cn->sent,
                                 MSG_NOSIGNAL);
                if (w > 0)
                    cn->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINPROGRESS)
                    finished = 1, ok = 0;
                if (cn->sent == reqlen[cn->path]) {
                    struct epoll_event ce = {.events = EPOLLIN, .data.u32 = id};
                    epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ce);
                }
            }
            if (!finished && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                char tmp[4096];
                for (;;) {
                    ssize_t r = recv(cn->fd, tmp, sizeof tmp, 0);
                    if (r > 0) {
                        size_t room = sizeof cn->buf - 1 - cn->got;
                        size_t m = (size_t)r < room ? (size_t)r : room;
                        memcpy(cn->buf + cn->got, tmp, m);
                        cn->got += m;
                        continue;
                    }
                    if (r == 0)
                        finished = 1;
                    else if (errno != EAGAIN)
                        finished = 1, ok = cn->got > 0;
                    break;
                }
            }
            if (finished) {
                double t = now_s();
                cn->buf[cn->got] = 0;
                int status = 0;
                if (ok && sscanf(cn->buf, "HTTP/%*s %d", &status) != 1)
                    status = 0;
                if (status > 0) {
                    done++;
                    if (of)
                        fprintf(of, "%d,%.6f,%.6f,%d,%.6f\n", cn->path, cn->due - t0, t - cn->due,
                                status, cn->start - cn->due);
                } else {
                    failed++;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, cn->fd, NULL);
                close(cn->fd);
                cn->used = 0;
                active--;
            }
        }
    }
    if (of)
        fclose(of);
    printf("loadgen: %lld sent, %lld answered, %lld failed, %lld more than 1 ms late (worst "
           "%.1f ms) over %.1f s at %.2f/s\n",
           sent, done, failed, late, worst_late * 1e3, duration, mean_rate);
    return failed > sent / 100 ? 1 : 0;
}
