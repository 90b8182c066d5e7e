/* demand.c — see demand.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evodash.h"
#include "sim/demand.h"
#include "sim/nnls.h"

struct demand_reg {
    int neps;
    nnls *ls;     /* unknowns: U0, then D_0 .. D_{neps-1} */
    double *row;  /* neps + 1 */
    size_t *with; /* rows in which each endpoint had requests */
};

demand_reg *demand_reg_new(int neps)
{
    demand_reg *r = calloc(1, sizeof *r);
    if (!r || neps < 0)
        goto fail;
    r->neps = neps;
    r->ls = nnls_new(neps + 1);
    r->row = calloc((size_t)neps + 1, sizeof *r->row);
    r->with = calloc((size_t)neps + 1, sizeof *r->with);
    if (!r->ls || !r->row || !r->with)
        goto fail;
    return r;
fail:
    demand_reg_free(r);
    return NULL;
}

void demand_reg_free(demand_reg *r)
{
    if (!r)
        return;
    nnls_free(r->ls);
    free(r->row);
    free(r->with);
    free(r);
}

void demand_reg_add(demand_reg *r, double dt, double cpu, const double *count)
{
    if (!(dt > 0))
        return;
    r->row[0] = 1;
    for (int e = 0; e < r->neps; e++) {
        r->row[e + 1] = count[e] / dt;
        r->with[e] += count[e] > 0;
    }
    nnls_add(r->ls, r->row, cpu / dt, dt);
}

int demand_reg_solve(const demand_reg *r, double *d, double *se, size_t *rows, demand_fit *fit)
{
    int n = r->neps + 1, rc;
    double *x = calloc((size_t)n, sizeof *x), *s = calloc((size_t)n, sizeof *s);
    nnls_fit f;
    memset(fit, 0, sizeof *fit);
    if (!x || !s) {
        rc = EVD_ENOMEM;
        goto done;
    }
    if ((rc = nnls_solve(r->ls, x, s, &f)))
        goto done;
    fit->rows = f.rows;
    fit->r2 = f.r2;
    fit->rmse = f.rmse;
    fit->u0 = x[0];
    fit->u0_se = s[0];
    for (int e = 0; e < r->neps; e++) {
        d[e] = x[e + 1];
        se[e] = s[e + 1];
        rows[e] = r->with[e];
    }
done:
    free(x);
    free(s);
    return rc;
}

/* The calls that block: their names as C, Python and the common drivers
 * spell them (the last component of a dotted or ::-qualified name). */
static const char *const WAITS[] = {
    "sleep",
    "nanosleep",
    "clock_nanosleep",
    "usleep",
    "poll",
    "ppoll",
    "select",
    "pselect",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "recv",
    "recvfrom",
    "recvmsg",
    "read",
    "readv",
    "pread",
    "pread64",
    "accept",
    "accept4",
    "connect",
    "wait",
    "waitpid",
    "wait4",
    "futex",
    "sem_wait",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "pthread_join",
    "__lll_lock_wait",
    "acquire",
    "getaddrinfo",
    "PQexec",
    "PQgetResult",
    "urlopen",
    "recv_into",
    "readinto",
    "sendall",
    "join",
};

int demand_is_wait(const char *function)
{
    const char *base = function;
    for (const char *p = function; *p; p++)
        if (*p == '.' || *p == ':' || *p == ' ')
            base = p + 1;
    /* a C frame may carry an offset ("nanosleep+0x1f"), a Python one its
     * arguments */
    size_t len = strcspn(base, "+(");
    for (size_t i = 0; i < sizeof WAITS / sizeof WAITS[0]; i++)
        if (strlen(WAITS[i]) == len && !strncasecmp(base, WAITS[i], len))
            return 1;
    return 0;
}

int64_t demand_tree_cpu(const int *indent, const char *const *function, const int64_t *duration_us,
                        size_t n)
{
    /* self time = own duration less the direct children's, found with a
     * stack of the open ancestors */
    enum { DEPTH = 256 };
    size_t stack[DEPTH];
    int depth = 0;
    int64_t cpu = 0;
    int64_t *self = malloc(n ? n * sizeof *self : 1);
    if (!self)
        return -1;
    for (size_t i = 0; i < n; i++) {
        self[i] = duration_us[i];
        while (depth > 0 && indent[stack[depth - 1]] >= indent[i])
            depth--;
        if (depth > 0)
            self[stack[depth - 1]] -= duration_us[i];
        if (depth < DEPTH)
            stack[depth++] = i;
    }
    for (size_t i = 0; i < n; i++)
        if (self[i] > 0 && !demand_is_wait(function[i]))
            cpu += self[i];
    free(self);
    return cpu;
}
