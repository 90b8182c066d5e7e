/* heap.c — 4-ary event heap; see heap.h. */
#include <stdlib.h>

#include "evodash.h"
#include "sim/heap.h"

static inline int before(const sim_ev *x, const sim_ev *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static inline void place(sim_heap *h, size_t i, sim_ev e)
{
    h->a[i] = e;
    if (e.kind == h->track_kind)
        h->track_pos[e.id] = (int32_t)i;
}

static void sift_up(sim_heap *h, size_t i, sim_ev e)
{
    while (i > 0) {
        size_t p = (i - 1) >> 2;
        if (!before(&e, &h->a[p]))
            break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, e);
}

static void sift_down(sim_heap *h, size_t i, sim_ev e)
{
    size_t n = h->n;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t best = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (before(&h->a[k], &h->a[best]))
                best = k;
        if (!before(&h->a[best], &e))
            break;
        place(h, i, h->a[best]);
        i = best;
    }
    place(h, i, e);
}

void sim_heap_init(sim_heap *h, uint32_t track_kind, int32_t *track_pos)
{
    h->a = NULL;
    h->n = h->cap = 0;
    h->next_seq = 0;
    h->track_kind = track_pos ? track_kind : UINT32_MAX;
    h->track_pos = track_pos;
}

void sim_heap_free(sim_heap *h)
{
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}

int sim_heap_push(sim_heap *h, double t, uint32_t kind, uint32_t id)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        sim_ev *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    sim_ev e = {.t = t, .seq = h->next_seq++, .kind = kind, .id = id};
    sift_up(h, h->n++, e);
    return 0;
}

sim_ev sim_heap_pop(sim_heap *h)
{
    sim_ev top = h->a[0];
    if (top.kind == h->track_kind)
        h->track_pos[top.id] = -1;
    sim_ev last = h->a[--h->n];
    if (h->n)
        sift_down(h, 0, last);
    return top;
}

void sim_heap_move(sim_heap *h, size_t i, double t)
{
    sim_ev e = h->a[i];
    if (t == e.t)
        return;
    int earlier = t < e.t;
    e.t = t;
    /* A moved event counts as newly inserted among equal times. */
    e.seq = h->next_seq++;
    if (earlier)
        sift_up(h, i, e);
    else
        sift_down(h, i, e);
}

void sim_heap_remove(sim_heap *h, size_t i)
{
    sim_ev gone = h->a[i];
    if (gone.kind == h->track_kind)
        h->track_pos[gone.id] = -1;
    sim_ev last = h->a[--h->n];
    if (i == h->n)
        return;
    if (before(&last, &gone))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}
