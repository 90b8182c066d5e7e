/*
 * tracer.c — runtime of libevodash-trace.so: the -finstrument-functions
 * hooks, per-thread event buffers, interaction markers and the final write.
 *
 * DESIGN — each thread owns one buffer of RT_CHUNK events (struct tbuf).
 * The hook reads the clock, writes {ts, word} into ev[n] and publishes n+1
 * with a release store.  Only the owner writes a buffer, so the hot path
 * takes no lock and does no atomic read-modify-write; g_on and g_gen are
 * read relaxed.  A full buffer is appended to the spill file (an unnamed
 * temporary file, written with writev(), no stdio buffer) under g_lock
 * together with its thread id: one lock per RT_CHUNK events.
 *
 * evd_trace_stop() clears g_on, takes g_lock and appends every live buffer's
 * published events (acquire load of n), then converts the spill file into
 * the text call log, resolving each distinct address once (symbols.c).
 * A thread that passed the g_on check just before stop may still write one
 * more event past the harvested n: that event is lost, never torn, because
 * the harvest copies only slots below the published n and buffers of live
 * threads are never freed.  A new start bumps g_gen; each thread resets its
 * buffer lazily on its next event when it sees the new generation.
 *
 * Overflow: when the spill write fails or a buffer cannot be allocated,
 * events are dropped and counted (evd_trace_dropped()), never silently.
 * A thread's buffer is spilled and freed by a pthread key destructor when
 * the thread exits; the list of buffers is guarded by g_lock.  Start and
 * stop are serialised by g_ctl.
 *
 * fork(): the locks are taken around it (pthread_atfork), so the child never
 * inherits one held.  The child drops the parent's buffers and spill file
 * (they are the parent's events) and stops tracing; if tracing came from
 * EVODASH_TRACE_OUT with "%p", it starts a trace of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "evodash_trace.h"
#include "core/intern.h"
#include "tracer/symbols.h"

#define NOINSTR  __attribute__((no_instrument_function))
#define HOOK_API __attribute__((visibility("default"), no_instrument_function))

#define RT_CHUNK 65536u
#define RT_ROOTS 64 /* open interactions per thread */

/* The kind lives in the three top bits of the event word; user-space code
 * and heap addresses on the 64-bit targets we support are below 2^56.  The
 * first two kinds carry a code address (resolved at the end), the others a
 * pointer to an interned name (interactions, and calls named by a language
 * runtime such as Python's, see evd_trace_enter_named()). */
enum { K_START = 0, K_END = 1, K_ROOT_START = 2, K_ROOT_END = 3, K_NSTART = 4, K_NEND = 5 };
#define KIND_SHIFT 61
#define ADDR_MASK  ((UINT64_C(1) << KIND_SHIFT) - 1)

struct ev {
    uint64_t ts;
    uint64_t word;
};

struct tbuf {
    struct tbuf *next, *prev; /* g_lock */
    uint32_t tid;
    _Atomic unsigned gen;
    _Atomic uint32_t n;
    int nroots;
    const char *roots[RT_ROOTS];
    struct ev ev[RT_CHUNK];
};

#define TBUF_DEAD ((struct tbuf *)1)

static _Atomic int g_on;
static _Atomic unsigned g_gen;
static _Atomic unsigned long long g_dropped;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* buffers, spill file */
static pthread_mutex_t g_ctl = PTHREAD_MUTEX_INITIALIZER;  /* start/stop */
static pthread_mutex_t g_names_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tbuf *g_bufs;
static int g_spill = -1;
static char *g_env_pattern; /* EVODASH_TRACE_OUT when it holds "%p" */
static char *g_out_path;
static char g_errmsg[256] = "no error";
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static __thread struct tbuf *t_buf __attribute__((tls_model("initial-exec")));

/* Interned names: an event word carries only a pointer, so the string must
 * outlive every buffer that may hold it.  Names are never freed; distinct
 * names are few (routes, not URLs with ids; functions of a program).  The
 * interner keeps each text in its own allocation, so a pointer stays valid
 * as the table grows; under g_names_lock. */
static intern g_names;

NOINSTR static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

NOINSTR static void set_err(const char *what, int err)
{
    snprintf(g_errmsg, sizeof g_errmsg, "%s: %s", what, err ? strerror(err) : "failed");
}

/* Append n events of thread tid to the spill file.  Caller holds g_lock. */
NOINSTR static void spill_unsafe(uint32_t tid, const struct ev *ev, uint32_t n)
{
    uint32_t hdr[2] = {tid, n};
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)ev, n * sizeof *ev}};
    size_t want = iov[0].iov_len + iov[1].iov_len, done = 0;
    if (n == 0)
        return;
    while (g_spill >= 0 && done < want) {
        ssize_t w = writev(g_spill, iov, 2);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
        for (int i = 0; i < 2; i++) { /* a short write: skip what went out */
            size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + k;
            iov[i].iov_len -= k;
            w -= (ssize_t)k;
        }
    }
    if (done < want)
        atomic_fetch_add_explicit(&g_dropped, n, memory_order_relaxed);
}

/* An unnamed temporary file: gone when closed, whatever happens. */
NOINSTR static int open_spill(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    if (!dir || !dir[0])
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    snprintf(path, sizeof path, "%s/evodash-trace-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

NOINSTR static int read_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got == 0 && r == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

NOINSTR static void tbuf_destroy(void *p)
{
    struct tbuf *b = p;
    if (!b || b == TBUF_DEAD)
        return;
    t_buf = TBUF_DEAD;
    pthread_mutex_lock(&g_lock);
    if (atomic_load(&g_on) && atomic_load(&b->gen) == atomic_load(&g_gen))
        spill_unsafe(b->tid, b->ev, atomic_load_explicit(&b->n, memory_order_acquire));
    if (b->prev)
        b->prev->next = b->next;
    else
        g_bufs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    pthread_mutex_unlock(&g_lock);
    free(b);
}

NOINSTR static void key_init(void)
{
    pthread_key_create(&g_key, tbuf_destroy);
}

/* The slow path of record(): first event of a thread, or first event of a
 * new generation.  Returns the buffer, or NULL when the thread is exiting or
 * out of memory (the event is then counted as dropped). */
NOINSTR static struct tbuf *tbuf_get(void)
{
    struct tbuf *b = t_buf;
    unsigned gen = atomic_load_explicit(&g_gen, memory_order_relaxed);
    if (b == TBUF_DEAD)
        return NULL;
    if (b) {
        atomic_store_explicit(&b->n, 0, memory_order_relaxed);
        b->nroots = 0;
        atomic_store_explicit(&b->gen, gen, memory_order_relaxed);
        return b;
    }
    pthread_once(&g_key_once, key_init);
    b = malloc(sizeof *b);
    if (!b) {
        atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
        return NULL;
    }
    b->tid = (uint32_t)gettid();
    atomic_init(&b->gen, gen);
    atomic_init(&b->n, 0);
    b->nroots = 0;
    b->prev = NULL;
    pthread_mutex_lock(&g_lock);
    b->next = g_bufs;
    if (g_bufs)
        g_bufs->prev = b;
    g_bufs = b;
    pthread_mutex_unlock(&g_lock);
    pthread_setspecific(g_key, b);
    t_buf = b;
    return b;
}

/* Spill the owner's first n events and start again at slot 0. */
NOINSTR static uint32_t tbuf_spill_own(struct tbuf *b, uint32_t n)
{
    pthread_mutex_lock(&g_lock);
    if (atomic_load_explicit(&g_on, memory_order_relaxed) &&
        atomic_load_explicit(&b->gen, memory_order_relaxed) == atomic_load(&g_gen))
        spill_unsafe(b->tid, b->ev, n);
    atomic_store_explicit(&b->n, 0, memory_order_relaxed);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

NOINSTR static inline struct tbuf *record(uint64_t word)
{
    if (!atomic_load_explicit(&g_on, memory_order_relaxed))
        return NULL;
    struct tbuf *b = t_buf;
    if (__builtin_expect((uintptr_t)b <= 1 ||
                             atomic_load_explicit(&b->gen, memory_order_relaxed) !=
                                 atomic_load_explicit(&g_gen, memory_order_relaxed),
                         0)) {
        b = tbuf_get();
        if (!b)
            return NULL;
    }
    uint32_t n = atomic_load_explicit(&b->n, memory_order_relaxed);
    if (__builtin_expect(n == RT_CHUNK, 0))
        n = tbuf_spill_own(b, RT_CHUNK);
    b->ev[n].ts = now_ns();
    b->ev[n].word = word;
    atomic_store_explicit(&b->n, n + 1, memory_order_release);
    return b;
}

HOOK_API void __cyg_profile_func_enter(void *fn, void *site);
HOOK_API void __cyg_profile_func_exit(void *fn, void *site);

HOOK_API void __cyg_profile_func_enter(void *fn, void *site)
{
    (void)site;
    record(((uint64_t)K_START << KIND_SHIFT) | ((uintptr_t)fn & ADDR_MASK));
}

HOOK_API void __cyg_profile_func_exit(void *fn, void *site)
{
    (void)site;
    record(((uint64_t)K_END << KIND_SHIFT) | ((uintptr_t)fn & ADDR_MASK));
}

NOINSTR static const char *intern_name(const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    /* A name must not break the 4-column line: blanks become '_'. */
    for (char *p = copy; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            *p = '_';
    pthread_mutex_lock(&g_names_lock);
    int64_t id = intern_id(&g_names, copy, strlen(copy));
    const char *out = id >= 0 ? g_names.v[id].s : NULL;
    pthread_mutex_unlock(&g_names_lock);
    free(copy);
    return out;
}

EVD_TRACE_API const void *evd_trace_intern(const char *name)
{
    return name && name[0] ? intern_name(name) : NULL;
}

EVD_TRACE_API void evd_trace_enter_named(const void *name)
{
    if (name)
        record(((uint64_t)K_NSTART << KIND_SHIFT) | (uintptr_t)name);
}

EVD_TRACE_API void evd_trace_exit_named(const void *name)
{
    if (name)
        record(((uint64_t)K_NEND << KIND_SHIFT) | (uintptr_t)name);
}

EVD_TRACE_API void evd_trace_root_begin(const char *name)
{
    if (!atomic_load_explicit(&g_on, memory_order_relaxed) || !name)
        return;
    const char *in = intern_name(name[0] ? name : "_");
    if (!in) {
        atomic_fetch_add_explicit(&g_dropped, 1, memory_order_relaxed);
        return;
    }
    struct tbuf *b = record(((uint64_t)K_ROOT_START << KIND_SHIFT) | (uintptr_t)in);
    if (b && b->nroots < RT_ROOTS)
        b->roots[b->nroots] = in;
    if (b)
        b->nroots++;
}

EVD_TRACE_API void evd_trace_root_end(void)
{
    struct tbuf *b = t_buf;
    if (!atomic_load_explicit(&g_on, memory_order_relaxed) || (uintptr_t)b <= 1 || b->nroots <= 0)
        return;
    b->nroots--;
    const char *name = b->nroots < RT_ROOTS ? b->roots[b->nroots] : "_";
    record(((uint64_t)K_ROOT_END << KIND_SHIFT) | (uintptr_t)name);
}

EVD_TRACE_API int evd_trace_enabled(void)
{
    return atomic_load_explicit(&g_on, memory_order_relaxed);
}

EVD_TRACE_API unsigned long long evd_trace_dropped(void)
{
    return atomic_load(&g_dropped);
}

EVD_TRACE_API const char *evd_trace_errmsg(void)
{
    return g_errmsg;
}

EVD_TRACE_API int evd_trace_start(const char *path)
{
    int rc = 0;
    if (!path || !path[0]) {
        set_err("evd_trace_start: no output path", EINVAL);
        return -2;
    }
    pthread_mutex_lock(&g_ctl);
    if (atomic_load(&g_on)) {
        set_err("evd_trace_start: tracing is already on", EINVAL);
        rc = -2;
        goto done;
    }
    char *p = strdup(path);
    int spill = open_spill();
    if (!p || spill < 0) {
        set_err("evd_trace_start: cannot create the spill file", errno);
        free(p);
        if (spill >= 0)
            close(spill);
        rc = -3;
        goto done;
    }
    pthread_mutex_lock(&g_lock);
    free(g_out_path);
    g_out_path = p;
    g_spill = spill;
    atomic_store(&g_dropped, 0);
    atomic_fetch_add(&g_gen, 1);
    atomic_store(&g_on, 1);
    pthread_mutex_unlock(&g_lock);
done:
    pthread_mutex_unlock(&g_ctl);
    return rc;
}

EVD_TRACE_API int evd_trace_flush(void)
{
    struct tbuf *b = t_buf;
    if (!atomic_load(&g_on) || (uintptr_t)b <= 1 || atomic_load(&b->gen) != atomic_load(&g_gen))
        return 0;
    tbuf_spill_own(b, atomic_load_explicit(&b->n, memory_order_relaxed));
    return atomic_load(&g_dropped) ? -3 : 0;
}

static const char *const kind_names[8] = {"start ", "end ", "startRoot ", "endRoot ",
                                          "start ", "end ", "? ",         "? "};

NOINSTR static char *u64_str(char *end, uint64_t v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* Convert the spill file into the text call log at path. */
NOINSTR static int write_log(int spill, const char *path)
{
    int rc = 0;
    FILE *out = NULL;
    struct rt_syms *syms = rt_syms_new();
    struct ev *ev = malloc(RT_CHUNK * sizeof *ev);
    static char obuf[1 << 16];
    if (!syms || !ev) {
        set_err("evd_trace_stop: out of memory", ENOMEM);
        rc = -1;
        goto done;
    }
    out = fopen(path, "w");
    if (!out) {
        set_err(path, errno);
        rc = -3;
        goto done;
    }
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    uint32_t hdr[2];
    int r;
    if (lseek(spill, 0, SEEK_SET) != 0) {
        set_err("evd_trace_stop: spill file", errno);
        rc = -3;
        goto done;
    }
    while ((r = read_all(spill, hdr, sizeof hdr)) == 1) {
        if (hdr[1] > RT_CHUNK || read_all(spill, ev, hdr[1] * sizeof *ev) != 1) {
            set_err("evd_trace_stop: spill file is short", EIO);
            rc = -3;
            goto done;
        }
        char tidbuf[24], tsbuf[24];
        const char *tid = u64_str(tidbuf + sizeof tidbuf, hdr[0]);
        for (uint32_t i = 0; i < hdr[1]; i++) {
            unsigned kind = (unsigned)(ev[i].word >> KIND_SHIFT);
            uintptr_t a = (uintptr_t)(ev[i].word & ADDR_MASK);
            const char *name = kind >= K_ROOT_START ? (const char *)a : rt_syms_name(syms, a);
            fputs(kind_names[kind], out);
            fputs(name, out);
            putc(' ', out);
            fputs(u64_str(tsbuf + sizeof tsbuf, ev[i].ts), out);
            putc(' ', out);
            fputs(tid, out);
            putc('\n', out);
        }
    }
    if (r < 0) {
        set_err("evd_trace_stop: reading the spill file", errno);
        rc = -3;
    }
done:
    if (out && fclose(out) != 0 && rc == 0) {
        set_err(path, errno);
        rc = -3;
    }
    free(ev);
    rt_syms_free(syms);
    return rc;
}

EVD_TRACE_API int evd_trace_stop(void)
{
    int rc = 0;
    pthread_mutex_lock(&g_ctl);
    if (!atomic_load(&g_on))
        goto done;
    atomic_store(&g_on, 0);
    pthread_mutex_lock(&g_lock);
    unsigned gen = atomic_load(&g_gen);
    for (struct tbuf *b = g_bufs; b; b = b->next)
        if (atomic_load(&b->gen) == gen)
            spill_unsafe(b->tid, b->ev, atomic_load_explicit(&b->n, memory_order_acquire));
    int spill = g_spill;
    g_spill = -1;
    pthread_mutex_unlock(&g_lock);
    rc = write_log(spill, g_out_path);
    close(spill);
    if (atomic_load(&g_dropped))
        fprintf(stderr, "evodash-trace: %llu events dropped (out of memory or spill failed)\n",
                (unsigned long long)atomic_load(&g_dropped));
done:
    pthread_mutex_unlock(&g_ctl);
    return rc;
}

NOINSTR static void stop_at_exit(void)
{
    if (evd_trace_stop() != 0)
        fprintf(stderr, "evodash-trace: %s\n", g_errmsg);
}

/* Start tracing into pattern with "%p" replaced by the pid. */
NOINSTR static int start_from_pattern(const char *pattern)
{
    char path[4096];
    size_t o = 0;
    for (const char *p = pattern; *p && o + 24 < sizeof path; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(path + o, sizeof path - o, "%ld", (long)getpid());
            p++;
        } else {
            path[o++] = *p;
        }
    }
    path[o] = '\0';
    return evd_trace_start(path);
}

NOINSTR static void at_fork_prepare(void)
{
    pthread_mutex_lock(&g_ctl);
    pthread_mutex_lock(&g_lock);
    pthread_mutex_lock(&g_names_lock);
}

NOINSTR static void at_fork_parent(void)
{
    pthread_mutex_unlock(&g_names_lock);
    pthread_mutex_unlock(&g_lock);
    pthread_mutex_unlock(&g_ctl);
}

/* The child holds copies of the parent's events: drop them (the memory of
 * the parent's buffers is left alone, as other threads' buffers may be in
 * any state) and write nothing to the parent's spill file or log. */
NOINSTR static void at_fork_child(void)
{
    int was_on = atomic_load(&g_on);
    atomic_store(&g_on, 0);
    if (g_spill >= 0)
        close(g_spill);
    g_spill = -1;
    g_bufs = NULL;
    if (t_buf && t_buf != TBUF_DEAD)
        pthread_setspecific(g_key, NULL);
    t_buf = NULL;
    at_fork_parent();
    if (was_on && g_env_pattern && start_from_pattern(g_env_pattern) != 0)
        fprintf(stderr, "evodash-trace: %s\n", g_errmsg);
}

/* EVODASH_TRACE_OUT starts tracing at load; "%p" in it becomes the pid so
 * that every process of a forking service writes its own log. */
__attribute__((constructor, no_instrument_function)) static void rt_init(void)
{
    const char *env = getenv("EVODASH_TRACE_OUT");
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
    if (!env || !env[0])
        return;
    if (strstr(env, "%p"))
        g_env_pattern = strdup(env);
    if (start_from_pattern(env) != 0) {
        fprintf(stderr, "evodash-trace: %s\n", g_errmsg);
        return;
    }
    atexit(stop_at_exit);
}
