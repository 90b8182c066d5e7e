/* profile.c — build a profile from a call log and the utilisation logs.
 *
 * One pass over the call log, line by line, with a stack per thread: O(n)
 * time, and memory bounded by the open calls plus the tree of the one
 * interaction each thread has open.  When an interaction ends, its tree
 * (cut at the requested depth) is flattened at once into the execution
 * order of its pieces: a function with children becomes its own time
 * before the first child, the child, its time between children, ... and a
 * network connection that starts inside a piece splits it around a remote
 * call.  Each piece becomes one profile function whose callback is the next
 * piece.  The pieces go to a temporary file; profile.json is assembled at
 * the end with the interactions in start order.
 *
 * The format lets lines of different threads interleave, but one thread's
 * lines must be in time order for a stack to work.  When they are not (old
 * 3-column logs written by many threads), the pass is abandoned and the
 * events are loaded, sorted by (thread, time) and replayed: O(n log n) and
 * O(n) memory, for those logs only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evodash.h"
#include "profile/calllog.h"
#include "profile/html.h"
#include "profile/jsonw.h"
#include "profile/lines.h"
#include "profile/profile.h"
#include "profile/profile_int.h"
#include "profile/schema.h"
#include "profile/util_series.h"

/* ---- per-thread state ----------------------------------------------------- */

struct frame {
    uint32_t name;
    int32_t node; /* index in the thread's tree, or -1 when not kept */
    int64_t start;
    unsigned long line;
    uint8_t root;
};

struct node {
    uint32_t name;
    int32_t first, last, next;
    int64_t start, end; /* end < start while open */
};

struct thread {
    uint64_t tid;
    int64_t last_ts;
    struct frame *stack;
    size_t sp, scap;
    long iroot; /* stack index of the open interaction's frame, or -1 */
    struct node *nodes;
    size_t nn, ncap;
};

struct idslot {
    uint32_t name, gen; /* gen == builder's ids_gen: in use */
    int64_t ts;
};

struct edge {
    uint64_t key; /* caller << 32 | callee, +1 so that 0 is empty */
    uint64_t count;
    int64_t total_ns;
};

struct builder {
    const struct profile_opts *o;
    struct profile_stats st;
    intern names;
    intern tids;             /* a thread's index in threads[], by its tid's bytes */
    struct thread **threads; /* in the order first seen */
    size_t tcap, tlen;
    struct thread *last_thread;
    struct inter *inters;
    size_t ninter, intercap;
    struct edge *edges;
    size_t ecap, elen;
    uint8_t *name_flags; /* NF_* per name id, grown with names */
    size_t flags_cap;
    struct util_series util;
    struct net_log net;
    double mem_base;
    FILE *tmp;
    FILE *rep; /* held structure reports (open_memstream) */
    char *rep_buf;
    size_t rep_len;
    int64_t min_ts, max_ts;
    int replay;   /* 1 in the sorted replay: no per-line reports again */
    int unsorted; /* set when a thread's time went backwards */
    int nrep_unclosed, nrep_unmatched;
    char pending_id[512]; /* the piece waiting for its callback */
    int have_pending;
    uint32_t inter_funcs;
    int oom;
    struct idslot *ids; /* functionIDs used in the current interaction */
    size_t ids_cap, ids_len;
    uint32_t ids_gen;
};

#define NF_FUNC   1
#define NF_REMOTE 2

/* Reports on single lines go straight out, once (not again in a replay).
 * Reports on the call structure are held in b->rep until the pass that
 * counts is known: an unsorted log's first pass would give false ones. */
#define DIAG_LINE(b, ctr, ...)                                                                     \
    do {                                                                                           \
        if ((b)->o->diag && !(b)->replay && (ctr)++ < (b)->o->max_reports)                         \
            fprintf((b)->o->diag, __VA_ARGS__);                                                    \
    } while (0)
#define DIAG(b, ctr, ...)                                                                          \
    do {                                                                                           \
        if ((b)->rep && (ctr)++ < (b)->o->max_reports)                                             \
            fprintf((b)->rep, __VA_ARGS__);                                                        \
    } while (0)

static const char *nm(const struct builder *b, uint32_t id)
{
    return b->names.v[id].s;
}

static struct thread *thread_get(struct builder *b, uint64_t tid)
{
    if (b->last_thread && b->last_thread->tid == tid)
        return b->last_thread;
    int64_t id = intern_id(&b->tids, (const char *)&tid, sizeof tid);
    if (id < 0)
        return NULL;
    if ((size_t)id < b->tlen)
        return b->last_thread = b->threads[id];
    if (b->tlen == b->tcap) {
        size_t cap = b->tcap ? 2 * b->tcap : 64;
        struct thread **v = realloc(b->threads, cap * sizeof *v);
        if (!v)
            return NULL;
        b->threads = v;
        b->tcap = cap;
    }
    struct thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tid = tid;
    t->last_ts = INT64_MIN;
    t->iroot = -1;
    b->threads[b->tlen++] = t;
    b->st.threads++;
    return b->last_thread = t;
}

static void threads_free(struct builder *b)
{
    for (size_t i = 0; i < b->tlen; i++) {
        free(b->threads[i]->stack);
        free(b->threads[i]->nodes);
        free(b->threads[i]);
    }
    free(b->threads);
    intern_free(&b->tids);
    b->threads = NULL;
    b->tcap = b->tlen = 0;
    b->last_thread = NULL;
}

static void edge_add(struct builder *b, uint32_t caller, uint32_t callee, int64_t dur)
{
    uint64_t key = ((uint64_t)caller << 32 | callee) + 1;
    if (2 * (b->elen + 1) > b->ecap) {
        size_t cap = b->ecap ? 2 * b->ecap : 256;
        struct edge *e = calloc(cap, sizeof *e);
        if (!e) {
            b->oom = 1;
            return;
        }
        for (size_t i = 0; i < b->ecap; i++) {
            if (!b->edges[i].key)
                continue;
            size_t j = (b->edges[i].key * 0x9E3779B97F4A7C15u >> 20) & (cap - 1);
            while (e[j].key)
                j = (j + 1) & (cap - 1);
            e[j] = b->edges[i];
        }
        free(b->edges);
        b->edges = e;
        b->ecap = cap;
    }
    size_t j = (key * 0x9E3779B97F4A7C15u >> 20) & (b->ecap - 1);
    while (b->edges[j].key && b->edges[j].key != key)
        j = (j + 1) & (b->ecap - 1);
    if (!b->edges[j].key) {
        b->edges[j].key = key;
        b->elen++;
    }
    b->edges[j].count++;
    b->edges[j].total_ns += dur;
}

static void flag_name(struct builder *b, uint32_t id, uint8_t f)
{
    if (id >= b->flags_cap) {
        size_t cap = b->flags_cap ? b->flags_cap : 256;
        while (cap <= id)
            cap *= 2;
        uint8_t *nf = realloc(b->name_flags, cap);
        if (!nf) {
            b->oom = 1;
            return;
        }
        memset(nf + b->flags_cap, 0, cap - b->flags_cap);
        b->name_flags = nf;
        b->flags_cap = cap;
    }
    b->name_flags[id] |= f;
}

/* ---- flattening an interaction into pieces ------------------------------- */

/* A functionID must be unique within its interaction (the simulator
 * insists), but logs with coarse clocks (milliseconds in Java's) give many
 * calls of one function the same start.  The ID's number is then moved on
 * by 1 ns until it is free; cpu_time and the order are unchanged. */
static int64_t unique_id_ts(struct builder *b, uint32_t name, int64_t ts)
{
    if (2 * (b->ids_len + 1) > b->ids_cap) {
        size_t cap = b->ids_cap ? 2 * b->ids_cap : 1024;
        struct idslot *n = calloc(cap, sizeof *n);
        if (!n) {
            b->oom = 1;
            return ts;
        }
        for (size_t i = 0; i < b->ids_cap; i++) {
            if (b->ids[i].gen != b->ids_gen)
                continue;
            size_t j =
                (b->ids[i].name * 0x9E3779B1u ^ (uint64_t)b->ids[i].ts * 0x9E3779B97F4A7C15u) &
                (cap - 1);
            while (n[j].gen == b->ids_gen)
                j = (j + 1) & (cap - 1);
            n[j] = b->ids[i];
        }
        free(b->ids);
        b->ids = n;
        b->ids_cap = cap;
    }
    for (;; ts++) {
        size_t j = (name * 0x9E3779B1u ^ (uint64_t)ts * 0x9E3779B97F4A7C15u) & (b->ids_cap - 1);
        while (b->ids[j].gen == b->ids_gen && !(b->ids[j].name == name && b->ids[j].ts == ts))
            j = (j + 1) & (b->ids_cap - 1);
        if (b->ids[j].gen != b->ids_gen) {
            b->ids[j] = (struct idslot){.name = name, .ts = ts, .gen = b->ids_gen};
            b->ids_len++;
            return ts;
        }
    }
}

static void piece(struct builder *b, uint32_t name, int64_t a, int64_t e, int remote)
{
    char id[512];
    double cpu = 0, mem = 0;
    snprintf(id, sizeof id, "%s_%lld", nm(b, name), (long long)unique_id_ts(b, name, a));
    util_series_mean(&b->util, a, e, &cpu, &mem);
    if (b->have_pending) {
        fputs("\"callbacks\":[", b->tmp);
        jw_str(b->tmp, id, strlen(id));
        fputs("]},", b->tmp);
    }
    fputs("{\"functionID\":", b->tmp);
    jw_str(b->tmp, id, strlen(id));
    fputs(",\"cpu\":", b->tmp);
    jw_num(b->tmp, remote ? 0 : cpu, 3);
    fputs(",\"cpu_time\":", b->tmp);
    jw_num(b->tmp, (double)(e - a), 1);
    fputs(",\"ram\":", b->tmp);
    double ram = (mem - b->mem_base) / 1e6;
    jw_num(b->tmp, remote || ram < 0 ? 0 : ram, 3);
    fputs(",\"io\":0.0,\"net\":0,\"delay\":0,", b->tmp);
    b->have_pending = 1;
    b->inter_funcs++;
    b->st.functions++;
    flag_name(b, name, remote ? NF_REMOTE : NF_FUNC);
}

/* The time [a, e) that a node runs itself, split around the connections
 * that start inside it.  Returns 1 when it wrote anything. */
static int gap(struct builder *b, uint32_t name, int64_t a, int64_t e)
{
    if (e <= a)
        return 0;
    for (size_t i = net_log_lower_bound(&b->net, a); i < b->net.n && b->net.c[i].start < e; i++) {
        const struct net_conn *c = &b->net.c[i];
        int64_t ce = c->end < e ? c->end : e;
        if (c->start > a)
            piece(b, name, a, c->start, 0);
        int64_t tn = intern_id(&b->names, c->target, strlen(c->target));
        if (tn < 0) {
            b->oom = 1;
            return 1;
        }
        piece(b, (uint32_t)tn, c->start, ce, 1);
        b->st.remote_calls++;
        a = ce;
    }
    if (e > a)
        piece(b, name, a, e, 0);
    return 1;
}

static int64_t flatten(struct builder *b, struct thread *t, int32_t i, int64_t start, int64_t limit)
{
    struct node *n = &t->nodes[i];
    int64_t end = n->end < n->start ? limit : n->end;
    if (end > limit)
        end = limit;
    if (start < n->start)
        start = n->start;
    if (end < start)
        end = start;
    int64_t cur = start;
    int any = 0;
    for (int32_t c = n->first; c >= 0; c = t->nodes[c].next) {
        int64_t cs = t->nodes[c].start > cur ? t->nodes[c].start : cur;
        if (cs > end)
            cs = end;
        any |= gap(b, t->nodes[i].name, cur, cs);
        cur = flatten(b, t, c, cs, end);
        any = 1;
    }
    any |= gap(b, t->nodes[i].name, cur, end);
    if (!any)
        piece(b, t->nodes[i].name, start, start, 0);
    return end;
}

static void emit_interaction(struct builder *b, struct thread *t)
{
    if (t->nn == 0)
        return;
    if (b->ninter == b->intercap) {
        size_t cap = b->intercap ? 2 * b->intercap : 256;
        struct inter *ni = realloc(b->inters, cap * sizeof *ni);
        if (!ni) {
            b->oom = 1;
            return;
        }
        b->inters = ni;
        b->intercap = cap;
    }
    struct inter *in = &b->inters[b->ninter++];
    struct node *root = &t->nodes[0];
    in->name = root->name;
    in->tid = t->tid;
    in->start = root->start;
    in->end = root->end < root->start ? root->start : root->end;
    in->off = ftell(b->tmp);
    b->have_pending = 0;
    b->inter_funcs = 0;
    b->ids_len = 0;
    if (++b->ids_gen == 0) { /* generation wrapped: clear for real */
        memset(b->ids, 0, b->ids_cap * sizeof *b->ids);
        b->ids_gen = 1;
    }
    putc('[', b->tmp);
    flatten(b, t, 0, root->start, in->end);
    if (b->have_pending)
        fputs("\"callbacks\":[\"-1\"]}", b->tmp);
    putc(']', b->tmp);
    in->len = ftell(b->tmp) - in->off;
    in->nfunc = b->inter_funcs;
    t->nn = 0;
}

/* ---- events --------------------------------------------------------------- */

static int32_t node_new(struct builder *b, struct thread *t, int32_t parent, uint32_t name,
                        int64_t ts)
{
    if (t->nn == t->ncap) {
        size_t cap = t->ncap ? 2 * t->ncap : 64;
        struct node *nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn) {
            b->oom = 1;
            return -1;
        }
        t->nodes = nn;
        t->ncap = cap;
    }
    int32_t i = (int32_t)t->nn++;
    t->nodes[i] = (struct node){
        .name = name, .first = -1, .last = -1, .next = -1, .start = ts, .end = INT64_MIN};
    if (parent >= 0) {
        struct node *p = &t->nodes[parent];
        if (p->last >= 0)
            t->nodes[p->last].next = i;
        else
            p->first = i;
        p->last = i;
    }
    return i;
}

static void push(struct builder *b, struct thread *t, const struct pev *e)
{
    struct frame f = {.name = e->name,
                      .node = -1,
                      .start = e->ts,
                      .line = e->line,
                      .root = e->kind == CL_ROOT_START};
    if (t->sp == t->scap) {
        size_t cap = t->scap ? 2 * t->scap : 64;
        struct frame *ns = realloc(t->stack, cap * sizeof *ns);
        if (!ns) {
            b->oom = 1;
            return;
        }
        t->stack = ns;
        t->scap = cap;
    }
    if (t->iroot < 0) {
        if (f.root || b->st.implicit_roots) {
            t->nn = 0;
            f.node = node_new(b, t, -1, f.name, f.start);
            t->iroot = (long)t->sp;
        }
    } else {
        const struct frame *p = &t->stack[t->sp - 1];
        long depth = (long)t->sp - t->iroot;
        if (p->node >= 0 && depth <= b->o->depth)
            f.node = node_new(b, t, p->node, f.name, f.start);
    }
    t->stack[t->sp++] = f;
}

/* Close stack[k] at ts and take it off the stack. */
static void close_frame(struct builder *b, struct thread *t, size_t k, int64_t ts)
{
    struct frame f = t->stack[k];
    if (f.node >= 0)
        t->nodes[f.node].end = ts;
    if (k > 0)
        edge_add(b, t->stack[k - 1].name, f.name, ts - f.start);
    if (!f.root)
        b->st.calls++;
    if (t->iroot < 0 && !f.root)
        b->st.outside++;
    memmove(&t->stack[k], &t->stack[k + 1], (t->sp - k - 1) * sizeof *t->stack);
    t->sp--;
    if ((long)k == t->iroot) {
        /* Frames still open above an interaction that ended (only in
         * interleaved 3-column logs) are no longer part of it. */
        for (size_t j = k; j < t->sp; j++)
            t->stack[j].node = -1;
        t->iroot = -1;
        emit_interaction(b, t);
    } else if ((long)k < t->iroot) {
        t->iroot--;
    }
}

static void pop(struct builder *b, struct thread *t, const struct pev *e)
{
    int root = e->kind == CL_ROOT_END;
    long k = (long)t->sp - 1;
    while (k >= 0 && !(t->stack[k].name == e->name && t->stack[k].root == root))
        k--;
    if (k < 0) {
        b->st.unmatched++;
        DIAG(b, b->nrep_unmatched, "%s:%lu: %s %s without a matching %s; ignored\n", b->o->calllog,
             e->line, root ? "endRoot" : "end", nm(b, e->name), root ? "startRoot" : "start");
        return;
    }
    if (k != (long)t->sp - 1 && e->tid != CL_NO_TID) {
        /* One thread's lines nest, so the calls above lost their end lines. */
        while ((long)t->sp - 1 > k) {
            const struct frame *f = &t->stack[t->sp - 1];
            b->st.unclosed++;
            DIAG(b, b->nrep_unclosed, "%s:%lu: call %s (line %lu) has no end; closed by line %lu\n",
                 b->o->calllog, e->line, nm(b, f->name), f->line, e->line);
            close_frame(b, t, t->sp - 1, e->ts);
        }
    }
    /* In a 3-column log the frames above may belong to other threads: take
     * the matching frame out and leave them open. */
    close_frame(b, t, (size_t)k, e->ts);
}

int profile_event(struct builder *b, const struct pev *e)
{
    struct thread *t = thread_get(b, e->tid);
    if (!t) {
        b->oom = 1;
        return -1;
    }
    if (e->ts < t->last_ts) {
        b->unsorted = 1;
        return 1;
    }
    t->last_ts = e->ts;
    if (e->ts > b->max_ts)
        b->max_ts = e->ts;
    if (e->ts < b->min_ts)
        b->min_ts = e->ts;
    b->st.events++;
    if (e->kind == CL_START || e->kind == CL_ROOT_START)
        push(b, t, e);
    else
        pop(b, t, e);
    return b->oom ? -1 : 0;
}

/* Close every call still open at the end of the log at its last timestamp. */
static void close_all(struct builder *b)
{
    for (size_t i = 0; i < b->tlen; i++) {
        struct thread *t = b->threads[i];
        while (t->sp) {
            const struct frame *f = &t->stack[t->sp - 1];
            b->st.unclosed++;
            DIAG(b, b->nrep_unclosed,
                 "%s:%lu: %s %s has no end; closed at the last timestamp %lld\n", b->o->calllog,
                 f->line, f->root ? "interaction" : "call", nm(b, f->name), (long long)b->max_ts);
            close_frame(b, t, t->sp - 1, b->max_ts);
        }
    }
}

/* ---- reading the log ------------------------------------------------------ */

/* Whether the log marks interactions at all; if not, every top-level call
 * of a thread is an interaction.  A plain substring scan, so cheap. */
static int scan_for_roots(const char *path, int *yes, char *err, size_t errlen)
{
    /* "startRoot" as the first field of a line, not inside a name; the
     * first line of the file is preceded by the '\n' put in front. */
    static const char key[] = "\nstartRoot";
    enum { KL = sizeof key - 1, BS = 1 << 20 };
    FILE *f = fopen(path, "rb");
    char *buf = malloc(BS + KL + 1);
    size_t keep = 1, n;
    *yes = 0;
    if (!f || !buf) {
        snprintf(err, errlen, "%s: %s", path, f ? "out of memory" : strerror(errno));
        free(buf);
        if (f)
            fclose(f);
        return f ? EVD_ENOMEM : EVD_ENOENT;
    }
    buf[0] = '\n';
    while (!*yes && (n = fread(buf + keep, 1, BS, f)) > 0) {
        n += keep;
        for (const char *p = buf; !*yes && (p = memmem(p, n - (size_t)(p - buf), key, KL));
             p += KL) {
            size_t after = (size_t)(p - buf) + KL;
            /* the field must end here; at the block's end, look again with
             * the next block (the tail is kept) */
            *yes = after < n && (buf[after] == ' ' || buf[after] == '\t');
        }
        keep = n < KL ? n : KL;
        memmove(buf, buf + n - keep, keep);
    }
    free(buf);
    fclose(f);
    return 0;
}

static int pev_cmp(const void *a, const void *b)
{
    const struct pev *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* One pass over the log.  With all != NULL the events are collected instead
 * of fed.  Returns 0, 1 when the log turned out unsorted, or < 0. */
static int read_pass(struct builder *b, struct pev **all, size_t *nall, char *err, size_t errlen)
{
    int rc = 0, nrep_bad = 0, complete;
    size_t cap = 0, len;
    char *s;
    unsigned long ln;
    struct lines *l = lines_open(b->o->calllog, err, errlen);
    if (!l)
        return EVD_ENOENT;
    while ((rc = lines_next(l, &s, &len, &complete, &ln)) == 1) {
        struct cl_line cl;
        const char *why = NULL;
        b->st.lines++;
        int pr = cl_parse_line(s, len, &cl, &why);
        if (pr == 1)
            continue;
        if (pr == 0 && !complete) {
            pr = -1;
            why = "truncated last line (no newline)";
        }
        if (pr < 0) {
            b->st.malformed++;
            DIAG_LINE(b, nrep_bad, "%s:%lu: %s; line skipped\n", b->o->calllog, ln, why);
            continue;
        }
        int64_t id = intern_id(&b->names, cl.name, cl.name_len);
        if (id < 0) {
            rc = EVD_ENOMEM;
            break;
        }
        struct pev e = {
            .ts = cl.ts, .tid = cl.tid, .name = (uint32_t)id, .kind = (uint8_t)cl.kind, .line = ln};
        if (all) {
            if (*nall == cap) {
                cap = cap ? 2 * cap : 1 << 16;
                struct pev *na = realloc(*all, cap * sizeof *na);
                if (!na) {
                    rc = EVD_ENOMEM;
                    break;
                }
                *all = na;
            }
            (*all)[(*nall)++] = e;
            continue;
        }
        int er = profile_event(b, &e);
        if (er) {
            rc = er > 0 ? 1 : EVD_ENOMEM;
            break;
        }
    }
    if (rc == -1) {
        snprintf(err, errlen, "%s: read error", b->o->calllog);
        rc = EVD_EIO;
    } else if (rc == EVD_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    if (!b->replay && b->o->diag && nrep_bad > b->o->max_reports)
        fprintf(b->o->diag, "%s: %d malformed lines in all\n", b->o->calllog, nrep_bad);
    lines_close(l);
    return rc;
}

static void reset_for_replay(struct builder *b)
{
    int implicit = b->st.implicit_roots;
    threads_free(b);
    b->ninter = 0;
    free(b->edges);
    b->edges = NULL;
    b->ecap = b->elen = 0;
    memset(&b->st, 0, sizeof b->st);
    b->st.implicit_roots = implicit;
    b->st.sorted_fallback = 1;
    b->min_ts = INT64_MAX;
    b->max_ts = INT64_MIN;
    b->unsorted = 0;
    b->replay = 1;
    b->nrep_unclosed = b->nrep_unmatched = 0;
    rewind(b->tmp);
    if (b->rep) {
        fclose(b->rep);
        free(b->rep_buf);
        b->rep_buf = NULL;
        b->rep = open_memstream(&b->rep_buf, &b->rep_len);
    }
}

/* ---- writing ---------------------------------------------------------------- */

struct verr {
    struct builder *b;
    const char *file;
};

static void on_schema_error(void *user, const char *path, const char *msg)
{
    struct verr *v = user;
    v->b->st.schema_errors++;
    if (v->b->o->diag)
        fprintf(v->b->o->diag, "%s: %s: %s\n", v->file, path, msg);
}

static int inter_cmp(const void *a, const void *b)
{
    const struct inter *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static FILE *open_out(const struct builder *b, const char *file, char *path, size_t plen, char *err,
                      size_t errlen)
{
    snprintf(path, plen, "%s/%s", b->o->outdir, file);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return f;
}

static int write_profile(struct builder *b, char *err, size_t errlen)
{
    char path[4096];
    int rc = 0;
    char *buf = NULL;
    size_t bcap = 0;
    json_t *schema = NULL, *isch = NULL;
    struct verr v = {.b = b, .file = "profile.json"};
    FILE *f = open_out(b, "profile.json", path, sizeof path, err, errlen);
    if (!f)
        return EVD_EIO;
    if (b->o->validate) {
        schema = schema_load("profile");
        isch = json_object_get(
            json_object_get(
                json_object_get(
                    json_object_get(
                        json_object_get(json_object_get(schema, "properties"), "scenarios"),
                        "items"),
                    "properties"),
                "interactions"),
            "items");
        if (!schema || !isch) {
            snprintf(err, errlen, "shipped profile schema is unusable");
            rc = EVD_EINVAL;
            goto done;
        }
        /* The document around the interactions, checked once. */
        json_t *skel = json_pack("{s:s,s:[{s:i,s:[]}]}", "name", b->o->name ? b->o->name : "app",
                                 "scenarios", "scenarioID", 1, "interactions");
        schema_validate(schema, skel, "$", on_schema_error, &v, 20);
        json_decref(skel);
    }
    fflush(b->tmp);
    qsort(b->inters, b->ninter, sizeof *b->inters, inter_cmp);
    int64_t t0 = b->ninter ? b->inters[0].start : 0;
    const char *pname = b->o->name ? b->o->name : "app";
    fputs("{\"name\":", f);
    jw_str(f, pname, strlen(pname));
    fputs(",\"scenarios\":[{\"scenarioID\":1,\"interactions\":[\n", f);
    for (size_t i = 0; i < b->ninter; i++) {
        const struct inter *in = &b->inters[i];
        char *text = NULL;
        size_t tlen = 0;
        FILE *m = open_memstream(&text, &tlen);
        if (!m) {
            rc = EVD_ENOMEM;
            goto done;
        }
        char iid[600];
        snprintf(iid, sizeof iid, "%zu %s", i, nm(b, in->name));
        fputs("{\"name\":", m);
        jw_str(m, nm(b, in->name), b->names.v[in->name].len);
        fputs(",\"interactionID\":", m);
        jw_str(m, iid, strlen(iid));
        fprintf(m, ",\"delay\":%lld,\"functions\":", (long long)(in->start - t0));
        if ((size_t)in->len + 1 > bcap) {
            bcap = (size_t)in->len + 1;
            char *nb = realloc(buf, bcap);
            if (!nb) {
                fclose(m);
                free(text);
                rc = EVD_ENOMEM;
                goto done;
            }
            buf = nb;
        }
        if (fseek(b->tmp, in->off, SEEK_SET) != 0 ||
            fread(buf, 1, (size_t)in->len, b->tmp) != (size_t)in->len) {
            fclose(m);
            free(text);
            snprintf(err, errlen, "temporary file: read error");
            rc = EVD_EIO;
            goto done;
        }
        fwrite(buf, 1, (size_t)in->len, m);
        putc('}', m);
        fclose(m);
        fwrite(text, 1, tlen, f);
        fputs(i + 1 < b->ninter ? ",\n" : "\n", f);
        if (isch) {
            char p[64];
            snprintf(p, sizeof p, "$.scenarios[0].interactions[%zu]", i);
            schema_validate_text(isch, text, tlen, p, on_schema_error, &v, 20);
        }
        free(text);
        b->st.interactions++;
    }
    fputs("]}]}\n", f);
done:
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = EVD_EIO;
    }
    free(buf);
    json_decref(schema);
    return rc;
}

static void write_server(FILE *f, const char *id, size_t len)
{
    fputs("{\"serviceID\":", f);
    jw_str(f, id, len);
    fputs(",\"scale\":1,\"scales\":false,\"scaleUpAt\":0.8,\"scaleDownAt\":0.3,"
          "\"scaleingMetric\":\"CPU\",\"scalingDelay\":0,"
          "\"defaultServer\":{\"maxCPU\":100,\"maxRAM\":100,\"maxIO\":100,\"maxNET\":100}}",
          f);
}

/* services.json and mapping.json: every remote target is its own service;
 * every other function maps to "default", written out so it can be edited. */
static int write_services_mapping(struct builder *b, char *err, size_t errlen)
{
    char p1[4096], p2[4096];
    FILE *s = open_out(b, "services.json", p1, sizeof p1, err, errlen);
    if (!s)
        return EVD_EIO;
    FILE *m = open_out(b, "mapping.json", p2, sizeof p2, err, errlen);
    if (!m) {
        fclose(s);
        return EVD_EIO;
    }
    fputs("{\"name\":\"Service Definition\",\"services\":[\n", s);
    write_server(s, "default", 7);
    fputs("{", m);
    int first = 1;
    for (size_t i = 0; i < b->names.n && i < b->flags_cap; i++) {
        if (!b->name_flags[i])
            continue;
        const intern_str *n = &b->names.v[i];
        int remote = b->name_flags[i] & NF_REMOTE;
        if (remote) {
            fputs(",\n", s);
            write_server(s, n->s, n->len);
        }
        fputs(first ? "\n" : ",\n", m);
        first = 0;
        jw_str(m, n->s, n->len);
        putc(':', m);
        if (remote)
            jw_str(m, n->s, n->len);
        else
            fputs("\"default\"", m);
    }
    fputs("\n]}\n", s);
    fputs("\n}\n", m);
    int bad = fclose(s) != 0;
    bad |= fclose(m) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write error", b->o->outdir);
        return EVD_EIO;
    }
    if (b->o->validate) {
        const char *files[2] = {p1, p2}, *schemas[2] = {"services", "mapping"};
        for (int i = 0; i < 2; i++)
            if (schema_validate_file(files[i], schemas[i], b->o->diag, 20) != 0)
                b->st.schema_errors++;
    }
    return 0;
}

static int write_html(struct builder *b, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/gantt.html", b->o->outdir);
    int rc = html_gantt(path, &b->names, b->inters, b->ninter, b->ninter ? b->inters[0].start : 0,
                        20000, err, errlen);
    if (rc < 0)
        return rc;
    struct cg_edge *e = malloc((b->elen ? b->elen : 1) * sizeof *e);
    size_t n = 0;
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    for (size_t i = 0; i < b->ecap; i++)
        if (b->edges[i].key) {
            uint64_t k = b->edges[i].key - 1;
            e[n++] = (struct cg_edge){.caller = (uint32_t)(k >> 32),
                                      .callee = (uint32_t)k,
                                      .count = b->edges[i].count,
                                      .total_ns = b->edges[i].total_ns};
        }
    snprintf(path, sizeof path, "%s/callgraph.html", b->o->outdir);
    rc = html_callgraph(path, &b->names, e, n, 300, err, errlen);
    free(e);
    return rc;
}

int profile_build(const struct profile_opts *opts, struct profile_stats *st, char *err,
                  size_t errlen)
{
    struct builder *b = calloc(1, sizeof *b);
    struct pev *all = NULL;
    size_t nall = 0;
    int rc = 0, roots = 0;
    struct stat sb;
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    b->o = opts;
    b->min_ts = INT64_MAX;
    b->max_ts = INT64_MIN;
    if (!opts->calllog || !opts->outdir || opts->depth < 1) {
        snprintf(err, errlen, "a call log, an output directory and a depth >= 1 are required");
        rc = EVD_EINVAL;
        goto done;
    }
    if (stat(opts->outdir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", opts->outdir);
        rc = EVD_ENOENT;
        goto done;
    }
    if (opts->utillog && (rc = util_series_load(&b->util, opts->utillog, opts->diag,
                                                opts->max_reports, err, errlen)) < 0)
        goto done;
    b->mem_base = b->util.n ? b->util.mem[0] : 0;
    if (opts->netlog &&
        (rc = net_log_load(&b->net, opts->netlog, opts->diag, opts->max_reports, err, errlen)) < 0)
        goto done;
    if ((rc = scan_for_roots(opts->calllog, &roots, err, errlen)) < 0)
        goto done;
    b->st.implicit_roots = !roots;
    b->tmp = tmpfile();
    if (opts->diag)
        b->rep = open_memstream(&b->rep_buf, &b->rep_len);
    if (!b->tmp || (opts->diag && !b->rep)) {
        snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
        rc = EVD_EIO;
        goto done;
    }
    rc = read_pass(b, NULL, NULL, err, errlen);
    if (rc == 1) {
        if (opts->diag)
            fprintf(opts->diag, "%s: lines of one thread are out of time order; sorting them\n",
                    opts->calllog);
        reset_for_replay(b);
        rc = read_pass(b, &all, &nall, err, errlen);
        if (rc == 0) {
            qsort(all, nall, sizeof *all, pev_cmp);
            for (size_t i = 0; i < nall && rc == 0; i++)
                rc = profile_event(b, &all[i]) < 0 ? EVD_ENOMEM : 0;
        }
        free(all);
    }
    if (rc < 0)
        goto done;
    close_all(b);
    if (b->rep) {
        fclose(b->rep);
        b->rep = NULL;
        fwrite(b->rep_buf, 1, b->rep_len, opts->diag);
    }
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        rc = EVD_ENOMEM;
        goto done;
    }
    if (opts->diag) {
        if (b->nrep_unclosed > opts->max_reports)
            fprintf(opts->diag, "%s: %llu unclosed calls in all\n", opts->calllog,
                    (unsigned long long)b->st.unclosed);
        if (b->nrep_unmatched > opts->max_reports)
            fprintf(opts->diag, "%s: %llu unmatched end lines in all\n", opts->calllog,
                    (unsigned long long)b->st.unmatched);
    }
    if ((rc = write_profile(b, err, errlen)) < 0 ||
        (rc = write_services_mapping(b, err, errlen)) < 0)
        goto done;
    if (opts->html && (rc = write_html(b, err, errlen)) < 0)
        goto done;
    if (b->st.schema_errors) {
        snprintf(err, errlen, "%llu schema errors in the output",
                 (unsigned long long)b->st.schema_errors);
        rc = EVD_EINVAL;
    }
done:
    if (st)
        *st = b->st;
    if (b->tmp)
        fclose(b->tmp);
    if (b->rep)
        fclose(b->rep);
    free(b->rep_buf);
    threads_free(b);
    intern_free(&b->names);
    util_series_free(&b->util);
    net_log_free(&b->net);
    free(b->inters);
    free(b->edges);
    free(b->name_flags);
    free(b->ids);
    free(b);
    return rc;
}
