/* stack.c — stack capture: the adapter's callback, or for C services a
 * built-in one that asks the request's own thread for its stack.
 *
 * DESIGN
 *
 * A thread's stack can only be walked safely by that thread, so the
 * capturing thread (watchdog or sampler, serialised by cap_mu) posts a
 * request into `want`, sends the real-time signal STACK_SIGNAL to the
 * request's kernel thread with tgkill, and waits up to STACK_WAIT_MS.  The
 * handler, in the request thread, checks that the request is for it, walks
 * its own stack with libunwind (async-signal-safe for local unwinding),
 * skips its own frames up to the signal frame, copies names into the
 * static answer buffer and publishes `done` with release.  A real-time
 * signal is used, and which one is configurable, so that it never clashes
 * with the host's SIGPROF or SIGUSR handlers; if the host already handles
 * it, the built-in capture stays off.
 *
 * A late answer (after the time-out) is discarded by sequence number.
 * Note that a thread blocked in a system call like nanosleep() sees it
 * return early with EINTR, as with any profiling signal.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"

#define STACK_MAX_FRAMES 64
#define STACK_NAME_MAX   128
#define STACK_WAIT_MS    50

static struct {
    _Atomic int target; /* kernel tid asked, 0 = none */
    _Atomic unsigned seq;
    _Atomic unsigned done;
    int n;
    char names[STACK_MAX_FRAMES][STACK_NAME_MAX];
} want;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    pid_t me = (pid_t)syscall(SYS_gettid);
    if (atomic_load_explicit(&want.target, memory_order_acquire) != me)
        goto out;
    unsigned seq = atomic_load_explicit(&want.seq, memory_order_acquire);
    unw_context_t ctx;
    unw_cursor_t cur;
    int n = 0, past_signal = 0;
    unw_getcontext(&ctx);
    if (unw_init_local(&cur, &ctx) < 0)
        goto publish;
    /* Skip our own frames.  libunwind marks the frame the signal
     * interrupted (the one whose caller is the kernel's trampoline) as the
     * signal frame; that frame is the first one of the request's stack. */
    do {
        if (!past_signal) {
            if (unw_is_signal_frame(&cur) <= 0)
                continue;
            past_signal = 1;
        }
        unw_word_t off;
        if (unw_get_proc_name(&cur, want.names[n], STACK_NAME_MAX, &off) != 0)
            strcpy(want.names[n], "??");
        n++;
    } while (n < STACK_MAX_FRAMES && unw_step(&cur) > 0);
publish:
    want.n = n;
    atomic_store_explicit(&want.done, seq, memory_order_release);
out:
    errno = saved;
}

int stack_install(evd_agent *a)
{
    struct sigaction old, sa;
    if (!a->stack_signal || a->stack_signal > SIGRTMAX)
        return -1;
    if (sigaction(a->stack_signal, NULL, &old))
        return -1;
    if (old.sa_sigaction == on_signal)
        return 0; /* another agent installed it */
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
        return -1; /* the host uses this signal: leave it alone */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(a->stack_signal, &sa, NULL) ? -1 : 0;
}

static int capture_locked(evd_agent *a, const slot *s, char *buf, size_t cap);

/* Frames come outermost first, as the callback contract says. */
int stack_capture(evd_agent *a, const slot *s, char *buf, size_t cap)
{
    /* `want` is shared by every agent in the process: one capture at a time.
     * Callers hold their agent's cap_mu, which fork's prepare handler takes,
     * so this lock is never held across fork. */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    if (!a->stack_signal || cap == 0)
        return -1;
    pthread_mutex_lock(&mu);
    int rc = capture_locked(a, s, buf, cap);
    pthread_mutex_unlock(&mu);
    return rc;
}

static int capture_locked(evd_agent *a, const slot *s, char *buf, size_t cap)
{
    static _Atomic unsigned next_seq;
    unsigned seq = atomic_fetch_add(&next_seq, 1) + 1;
    atomic_store_explicit(&want.seq, seq, memory_order_release);
    atomic_store_explicit(&want.target, s->tid, memory_order_release);
    if (syscall(SYS_tgkill, getpid(), s->tid, a->stack_signal) != 0) {
        atomic_store(&want.target, 0);
        return -1;
    }
    struct timespec ts = {0, 100000};
    for (int i = 0; i < STACK_WAIT_MS * 10; i++) {
        if (atomic_load_explicit(&want.done, memory_order_acquire) == seq)
            break;
        nanosleep(&ts, NULL);
    }
    atomic_store(&want.target, 0);
    if (atomic_load_explicit(&want.done, memory_order_acquire) != seq)
        return -1;
    size_t at = 0;
    buf[0] = 0;
    for (int i = want.n - 1; i >= 0; i--) {
        int w = snprintf(buf + at, cap - at, "%s\t\t\n", want.names[i]);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
    }
    return (int)at;
}

int stack_capture_any(evd_agent *a, const slot *s, char *buf, size_t cap)
{
    if (a->stack_cb)
        return a->stack_cb(a->cb_user, s->thread, s->ctx, buf, cap);
    return stack_capture(a, s, buf, cap);
}
