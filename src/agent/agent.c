/* agent.c — opening and closing an agent, endpoints, counters, fork.
 *
 * DESIGN
 *
 * An agent owns one ring, one writer thread, one watchdog thread and one
 * sampler thread.  The request path (hotpath.c) touches only atomics in the
 * ring, the endpoint table and the in-flight slots.
 *
 * The endpoint table is allocated once at open (MAX endpoints) so that
 * registration never moves it under a reader; n_endpoints is published
 * with release after the entry is filled.
 *
 * Fork: every open agent is on a list.  pthread_atfork's prepare handler
 * takes each agent's fork_mu and cap_mu, which the writer holds while it
 * works on a batch and the watchdog/sampler while they capture, so the
 * child inherits an agent at rest.  The prepare handler also closes the
 * store connection (SQLite forbids carrying one across fork, and its
 * process-wide lock bookkeeping would mislead the child's new one); the
 * parent's writer reopens it at once.  In the child the ring is emptied
 * (its records belong to the parent, which writes them: no duplicates) and
 * fresh threads start, registering the child as a new instance.
 *
 * Every allocation the agent's threads make happens under fork_mu or
 * cap_mu, and evd_open returns only after the threads have started.  glibc's
 * malloc is fork-safe by itself, but other allocators (AddressSanitizer's,
 * for one) are not: a child would inherit an allocator lock held by a parent
 * thread that no longer exists.
 *
 * Exit: an atexit handler flushes every open agent, so a normal shutdown
 * loses nothing even if the host never calls evd_close().
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "agent/agent_int.h"
#include "core/clock.h"
#include "core/config.h"
#include "agent/callbacks.h"
#include "core/git_version.h"
#include "store/store.h"

static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static evd_agent *live;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

int agent_fail(evd_agent *a, int rc, const char *fmt, ...)
{
    char msg[sizeof a->err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&a->err_mu);
    memcpy(a->err, msg, sizeof msg);
    a->last_rc = rc;
    pthread_mutex_unlock(&a->err_mu);
    return rc;
}

int64_t agent_now_us(const evd_agent *a)
{
    (void)a;
    return clock_real_ns() / 1000;
}

const char *evd_errmsg(const evd_agent *a)
{
    /* The writer may be writing a new message: hand out a per-thread copy. */
    static __thread char copy[sizeof a->err];
    if (!a)
        return "out of memory";
    pthread_mutex_lock(&((evd_agent *)a)->err_mu);
    memcpy(copy, a->err, sizeof copy);
    pthread_mutex_unlock(&((evd_agent *)a)->err_mu);
    return copy;
}

const char *evd_version(const evd_agent *a)
{
    return a ? a->version : "";
}

const char *evd_service(const evd_agent *a)
{
    return a ? a->service_name : "";
}

static void init_locks(evd_agent *a)
{
    pthread_mutex_init(&a->err_mu, NULL);
    pthread_mutex_init(&a->reg_mu, NULL);
    pthread_mutex_init(&a->fork_mu, NULL);
    pthread_mutex_init(&a->cap_mu, NULL);
    pthread_mutex_init(&a->wake_mu, NULL);
    pthread_mutex_init(&a->level_mu, NULL);
    pthread_cond_init(&a->wake, NULL);
}

/* Sleep up to ms, or until the agent is woken (flush, close, a new
 * endpoint).  For the background threads only. */
void agent_wait(evd_agent *a, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000;
    while (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&a->wake_mu);
    if (!atomic_load(&a->stopping) && !a->wake_pending)
        pthread_cond_timedwait(&a->wake, &a->wake_mu, &ts);
    a->wake_pending = 0;
    pthread_mutex_unlock(&a->wake_mu);
}

int agent_max_level(const evd_agent *a)
{
    evd_agent *m = (evd_agent *)a;
    int n = atomic_load_explicit(&m->n_endpoints, memory_order_acquire), max = 0;
    for (int i = 0; i < n; i++) {
        int l = atomic_load_explicit(&m->eps[i].level, memory_order_relaxed);
        if (l > max)
            max = l;
    }
    return max;
}

/* Cut every agent_wait() short, now or at its next call. */
void agent_wake(evd_agent *a)
{
    pthread_mutex_lock(&a->wake_mu);
    a->wake_pending = 1;
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->wake_mu);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&live_mu);
    for (evd_agent *a = live; a; a = a->next_live) {
        pthread_mutex_lock(&a->fork_mu);
        pthread_mutex_lock(&a->cap_mu);
        pthread_mutex_lock(&a->reg_mu);
        /* SQLite keeps per-file lock state for the whole process; a child
         * that inherits an open connection would trust locks it does not
         * hold.  So no connection crosses fork: the parent's writer reopens
         * its own at once, the child opens a fresh one. */
        store_close(a->store);
        a->store = NULL;
    }
}

static void fork_parent(void)
{
    for (evd_agent *a = live; a; a = a->next_live) {
        pthread_mutex_unlock(&a->reg_mu);
        pthread_mutex_unlock(&a->cap_mu);
        pthread_mutex_unlock(&a->fork_mu);
    }
    pthread_mutex_unlock(&live_mu);
}

void agent_note_done(evd_agent *a)
{
    uint64_t t[RING_SHARDS_MAX];
    ring_drained_each(&a->ring, t);
    for (unsigned i = 0; i < a->ring.nshards; i++)
        atomic_store(&a->done_pos[i], t[i]);
}

/* Ring shards: one per CPU up to 4, a power of two.  More would cut the
 * contention of more threads further, but each shard in use holds
 * RING_CAPACITY records of memory. */
static unsigned ring_shards(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = 1;
    while (n < 4 && (long)n < cpus)
        n *= 2;
    return n;
}

static void fork_child(void)
{
    for (evd_agent *a = live; a; a = a->next_live) {
        init_locks(a); /* the child's copies may be held by parent threads */
        if (!a->threads_started)
            continue;
        ring_reset(&a->ring);
        a->recorded_base = ring_accepted(&a->ring);
        agent_note_done(a);
        atomic_store(&a->written, 0);
        atomic_store(&a->write_errors, 0);
        atomic_store(&a->outliers, 0);
        atomic_store(&a->truncated, 0);
        atomic_store(&a->dropped_other, 0);
        int n = atomic_load(&a->n_endpoints);
        for (int i = 0; i < n; i++) {
            endpoint *e = &a->eps[i];
            atomic_store(&e->dropped, 0); /* the parent reports its own */
            e->dropped_synced = 0;
            e->access_synced = atomic_load(&e->last_access_ns);
        }
        inflight_reset_after_fork(a);
        a->instance_id = 0; /* the child is a new instance */
        if (a->instance_auto)
            snprintf(a->instance_name, sizeof a->instance_name, "%s:%d", a->host, (int)getpid());
        a->threads_started = 0;
        atomic_store(&a->stopping, 0);
        if (agent_start_threads(a))
            atomic_store(&a->running, 0);
    }
    pthread_mutex_init(&live_mu, NULL);
}

static void flush_at_exit(void)
{
    pthread_mutex_lock(&live_mu);
    for (evd_agent *a = live; a; a = a->next_live)
        evd_flush(a, 5000);
    pthread_mutex_unlock(&live_mu);
}

static void install_hooks(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(flush_at_exit);
}

void agent_thread_ready(evd_agent *a, enum agent_thread which)
{
    if (!pthread_getcpuclockid(pthread_self(), &a->own_clock[which]))
        atomic_fetch_or(&a->own_clocks, 1 << which);
    atomic_fetch_add(&a->threads_ready, 1);
}

int agent_start_threads(evd_agent *a)
{
    atomic_store(&a->threads_ready, 0);
    atomic_store(&a->own_clocks, 0); /* a fork child's threads are new ones */
    if (pthread_create(&a->writer, NULL, writer_main, a))
        return agent_fail(a, EVD_ENOMEM, "cannot start the writer thread");
    if (pthread_create(&a->watchdog, NULL, watchdog_main, a)) {
        atomic_store(&a->stopping, 1);
        pthread_join(a->writer, NULL);
        return agent_fail(a, EVD_ENOMEM, "cannot start the watchdog thread");
    }
    if (pthread_create(&a->sampler, NULL, sampler_main, a)) {
        atomic_store(&a->stopping, 1);
        pthread_join(a->writer, NULL);
        pthread_join(a->watchdog, NULL);
        return agent_fail(a, EVD_ENOMEM, "cannot start the sampler thread");
    }
    a->threads_started = 1;
    /* Return only once the threads are past their start-up allocations, so
     * that a fork right after evd_open finds every allocation of theirs
     * under a lock the prepare handler holds. */
    struct timespec ts = {0, 200000};
    while (atomic_load(&a->threads_ready) < 3)
        nanosleep(&ts, NULL);
    return 0;
}

void agent_stop_threads(evd_agent *a)
{
    if (!a->threads_started)
        return;
    atomic_store(&a->stopping, 1);
    agent_wake(a);
    /* watchdog and sampler first: their captures end up in records the
     * writer still has to write */
    pthread_join(a->sampler, NULL);
    pthread_join(a->watchdog, NULL);
    pthread_join(a->writer, NULL);
    a->threads_started = 0;
}

/* Returns a hard error (the agent cannot run), or 0 with *soft_rc set to a
 * problem the agent works around (a GIT that does not resolve). */
static int read_config(evd_agent *a, const evd_config *cfg, int *soft_rc)
{
    int rc;
    a->cfg = cfg ? config_clone(cfg) : evd_config_new();
    if (!a->cfg)
        return agent_fail(a, EVD_ENOMEM, "out of memory copying the configuration");
    if ((rc = evd_config_apply_env(a->cfg)))
        return agent_fail(a, rc, "%s", evd_config_errmsg(a->cfg));
    a->default_level = (int)config_int(a->cfg, "MONITOR_LEVEL");
    a->outlier_c = config_double(a->cfg, "OUTLIER_DETECTION_CONSTANT");
    a->sampling_ms = (int)config_int(a->cfg, "SAMPLING_PERIOD");
    a->stack_signal = SIGRTMIN + (int)config_int(a->cfg, "STACK_SIGNAL");
    a->retention_days = (int)config_int(a->cfg, "RETENTION_DAYS");
    a->flush_ms = (int)config_int(a->cfg, "FLUSH_INTERVAL_MS");
    a->max_endpoints = AGENT_MAX_ENDPOINTS_DEFAULT;
    const char *db = config_str(a->cfg, "DATABASE");
    if (!(a->db_url = strdup(db ? db : "sqlite:///evodash.db")))
        return agent_fail(a, EVD_ENOMEM, "out of memory");
    char err[256];
    if ((rc = git_resolve_version(a->cfg, a->version, sizeof a->version, err, sizeof err))) {
        /* A broken GIT must not stop the monitoring: record under
         * APP_VERSION (or "unknown") and report it. */
        const char *v = config_str(a->cfg, "APP_VERSION");
        snprintf(a->version, sizeof a->version, "%s", v ? v : "unknown");
        *soft_rc = agent_fail(a, rc, "%s; recording as version \"%s\"", err, a->version);
    }
    if (git_resolve_label(a->cfg, a->version_label, sizeof a->version_label, err, sizeof err))
        snprintf(a->version_label, sizeof a->version_label, "%s", a->version);
    snprintf(a->host, sizeof a->host, "localhost");
    gethostname(a->host, sizeof a->host - 1);
    const char *inst = config_str(a->cfg, "INSTANCE");
    a->instance_auto = !inst || !*inst;
    if (!a->instance_auto)
        snprintf(a->instance_name, sizeof a->instance_name, "%s", inst);
    else
        snprintf(a->instance_name, sizeof a->instance_name, "%s:%d", a->host, (int)getpid());
    /* SERVICE_NAME, else the program's name (the Python binding sets it to
     * the Flask app's import name) */
    const char *svc = config_str(a->cfg, "SERVICE_NAME");
    snprintf(a->service_name, sizeof a->service_name, "%s",
             svc && *svc ? svc : program_invocation_short_name);
    return agent_tests_open(a);
}

int evd_open(const evd_config *cfg, evd_agent **out)
{
    evd_agent *a = calloc(1, sizeof *a);
    int rc;

    *out = a;
    if (!a)
        return EVD_ENOMEM;
    init_locks(a);
    int soft_rc = 0;
    if ((rc = read_config(a, cfg, &soft_rc)))
        return rc;
    if ((rc = ring_init(&a->ring, (size_t)config_int(a->cfg, "RING_CAPACITY"), ring_shards())))
        return agent_fail(a, rc, "cannot allocate the request ring");
    a->eps = aligned_alloc(64, sizeof(endpoint) * (size_t)a->max_endpoints);
    a->slots = calloc(AGENT_SLOTS, sizeof(slot));
    a->batch = malloc(sizeof(ring_rec) * AGENT_BATCH_MAX);
    if (!a->eps || !a->slots || !a->batch)
        return agent_fail(a, EVD_ENOMEM, "out of memory allocating the agent");
    memset(a->eps, 0, sizeof(endpoint) * (size_t)a->max_endpoints);
    atomic_store(&a->clock_offset_ns, clock_offset_ns());
    a->recorded_base = 0;

    /* The store opens here, synchronously, so that evd_open can report a
     * bad file at once.  On failure the agent still runs: it records,
     * counts what it cannot keep, and the writer retries the store. */
    int store_rc = store_open(a->db_url, 0, &a->store);
    if (!store_rc)
        store_rc = soft_rc;
    else {
        agent_fail(a, store_rc, "%s", store_errmsg(a->store));
        store_close(a->store);
        a->store = NULL;
    }
    if (stack_install(a))
        a->stack_signal = 0; /* signal taken by the host: no built-in stacks */

    /* If the function tracer is loaded, mark every request as one of its
     * interactions (startRoot/endRoot), so traces line up with requests. */
    a->trace_begin = (void (*)(const char *))dlsym(RTLD_DEFAULT, "evd_trace_root_begin");
    a->trace_end = (void (*)(void))dlsym(RTLD_DEFAULT, "evd_trace_root_end");
    a->trace_enabled = (int (*)(void))dlsym(RTLD_DEFAULT, "evd_trace_enabled");
    if (!a->trace_begin || !a->trace_end || !a->trace_enabled)
        a->trace_begin = NULL, a->trace_end = NULL, a->trace_enabled = NULL;

    pthread_once(&hooks_once, install_hooks);
    pthread_mutex_lock(&live_mu);
    if ((rc = agent_start_threads(a))) {
        pthread_mutex_unlock(&live_mu);
        return rc;
    }
    a->next_live = live;
    live = a;
    atomic_store(&a->running, 1);
    pthread_mutex_unlock(&live_mu);
    return store_rc;
}

int evd_running(const evd_agent *a)
{
    return a && atomic_load(&a->running);
}

int evd_open_file(const char *path, evd_agent **out)
{
    evd_config *cfg = evd_config_new();
    int rc;
    if (!cfg) {
        *out = NULL;
        return EVD_ENOMEM;
    }
    if (path && (rc = evd_config_load(cfg, path))) {
        evd_agent *a = calloc(1, sizeof *a);
        *out = a;
        if (a) {
            init_locks(a);
            agent_fail(a, rc, "%s", evd_config_errmsg(cfg));
        }
        evd_config_free(cfg);
        return rc;
    }
    rc = evd_open(cfg, out);
    evd_config_free(cfg);
    return rc;
}

int evd_flush(evd_agent *a, int timeout_ms)
{
    if (!a || !a->threads_started)
        return 0;
    uint64_t target[RING_SHARDS_MAX];
    ring_accepted_each(&a->ring, target);
    struct timespec ts = {0, 1000000};
    agent_wake(a);
    int waited = 0;
    for (unsigned i = 0; i < a->ring.nshards;) {
        if (atomic_load(&a->done_pos[i]) >= target[i]) {
            i++;
            continue;
        }
        if (waited++ >= timeout_ms)
            return EVD_EBUSY;
        nanosleep(&ts, NULL);
    }
    /* Every record asked for is written; now the endpoints' last access
     * and the counters, which the writer otherwise syncs once a second. */
    uint64_t gen = atomic_fetch_add(&a->sync_req, 1) + 1;
    agent_wake(a);
    while (atomic_load(&a->sync_done) < gen) {
        if (waited++ >= timeout_ms || !atomic_load(&a->running))
            return EVD_EBUSY;
        nanosleep(&ts, NULL);
    }
    return 0;
}

int evd_close(evd_agent *a)
{
    if (!a)
        return 0;
    pthread_mutex_lock(&live_mu);
    for (evd_agent **p = &live; *p; p = &(*p)->next_live)
        if (*p == a) {
            *p = a->next_live;
            break;
        }
    pthread_mutex_unlock(&live_mu);
    atomic_store(&a->running, 0);
    agent_stop_threads(a); /* the writer drains the ring before it returns */
    /* A transient error that a retry cured is no failure; a lost record is. */
    evd_counters c;
    evd_get_counters(a, &c);
    int rc = 0;
    if (c.dropped)
        rc = a->last_rc ? a->last_rc : EVD_EFULL;
    store_close(a->store);
    if (a->slots)
        for (int i = 0; i < AGENT_SLOTS; i++)
            capture_free(a->slots[i].cap);
    for (int i = 0; a->eps && i < atomic_load(&a->n_endpoints); i++) {
        free(a->eps[i].name);
        free(a->eps[i].rule);
        free(a->eps[i].methods);
    }
    free(a->eps);
    agent_tests_free(a);
    free(a->slots);
    free(a->batch);
    free(a->db_url);
    ring_free(&a->ring);
    evd_config_free(a->cfg);
    pthread_mutex_destroy(&a->err_mu);
    pthread_mutex_destroy(&a->reg_mu);
    pthread_mutex_destroy(&a->fork_mu);
    pthread_mutex_destroy(&a->cap_mu);
    pthread_mutex_destroy(&a->wake_mu);
    pthread_mutex_destroy(&a->level_mu);
    pthread_cond_destroy(&a->wake);
    free(a);
    return rc;
}

int evd_endpoint_find(const evd_agent *a, const char *name)
{
    int n = atomic_load_explicit(&((evd_agent *)a)->n_endpoints, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (!strcmp(a->eps[i].name, name))
            return i;
    return EVD_ENOENT;
}

int evd_endpoint_register(evd_agent *a, const char *name, const char *rule, const char *methods,
                          int *id)
{
    int rc = 0;
    if (!a || !name || !*name || !id)
        return EVD_EINVAL;
    pthread_mutex_lock(&a->reg_mu);
    int found = evd_endpoint_find(a, name);
    if (found >= 0) {
        *id = found;
        goto done;
    }
    int n = atomic_load(&a->n_endpoints);
    if (n >= a->max_endpoints) {
        rc = agent_fail(a, EVD_ENOMEM, "too many endpoints (at most %d)", a->max_endpoints);
        goto done;
    }
    endpoint *e = &a->eps[n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->rule = rule ? strdup(rule) : NULL;
    e->methods = methods ? strdup(methods) : NULL;
    if (!e->name || (rule && !e->rule) || (methods && !e->methods)) {
        free(e->name);
        free(e->rule);
        free(e->methods);
        rc = agent_fail(a, EVD_ENOMEM, "out of memory registering an endpoint");
        goto done;
    }
    atomic_store(&e->level, a->default_level);
    atomic_store_explicit(&a->n_endpoints, n + 1, memory_order_release);
    *id = n;
    /* wake the writer so that the store's level (if any) applies soon */
    agent_wake(a);
done:
    pthread_mutex_unlock(&a->reg_mu);
    return rc;
}

int evd_endpoint_set_level(evd_agent *a, int id, int level)
{
    if (!a || id < 0 || id >= atomic_load(&a->n_endpoints))
        return EVD_ENOENT;
    if (level < EVD_LEVEL_OFF || level > EVD_LEVEL_PROFILE)
        return EVD_EINVAL;
    /* Under level_mu, so that the writer, which applies levels read from
     * the store unless one was set here, cannot slip the store's older
     * value in between (a lost update). */
    pthread_mutex_lock(&a->level_mu);
    atomic_store(&a->eps[id].level, level);
    atomic_store(&a->eps[id].level_dirty, 1);
    pthread_mutex_unlock(&a->level_mu);
    return 0;
}

int evd_endpoint_level(const evd_agent *a, int id)
{
    if (!a || id < 0 || id >= atomic_load(&((evd_agent *)a)->n_endpoints))
        return EVD_ENOENT;
    return atomic_load(&((evd_agent *)a)->eps[id].level);
}

int evd_set_callbacks(evd_agent *a, evd_stack_fn stack, evd_details_fn details, void *user)
{
    if (!a)
        return EVD_EINVAL;
    pthread_mutex_lock(&a->cap_mu);
    a->stack_cb = stack;
    a->details_cb = details;
    a->cb_user = user;
    pthread_mutex_unlock(&a->cap_mu);
    return 0;
}

int agent_swap_details(evd_agent *a, evd_details_fn from, void *from_user, evd_details_fn to,
                       void *to_user)
{
    int rc = EVD_ESTATE;
    if (!a)
        return EVD_EINVAL;
    pthread_mutex_lock(&a->cap_mu);
    if (a->details_cb == from && (from ? a->cb_user == from_user : !a->stack_cb)) {
        a->details_cb = to;
        a->cb_user = to ? to_user : NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&a->cap_mu);
    return rc;
}

void agent_live(const evd_agent *a, agent_live_info *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    out->instance_id = atomic_load_explicit(&a->shown_instance, memory_order_relaxed);
    out->instance = a->instance_name;
    out->host = a->host;
    out->service = a->service_name;
    out->version = a->version;
    out->pid = (int)getpid();
    evd_get_counters(a, &out->c);
}

void evd_get_counters(const evd_agent *a, evd_counters *out)
{
    evd_agent *m = (evd_agent *)a;
    memset(out, 0, sizeof *out);
    if (!a || !a->eps)
        return;
    out->recorded = ring_accepted(&m->ring) - m->recorded_base;
    uint64_t dropped = atomic_load(&m->dropped_other);
    int n = atomic_load(&m->n_endpoints);
    for (int i = 0; i < n; i++)
        dropped += atomic_load_explicit(&m->eps[i].dropped, memory_order_relaxed);
    out->dropped = dropped;
    out->written = atomic_load(&m->written);
    out->write_errors = atomic_load(&m->write_errors);
    out->truncated = atomic_load(&m->truncated);
    out->outliers = atomic_load(&m->outliers);
}
