/* intern.c — interned strings; see intern.h. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/intern.h"

#define SLOT_ID(e)   ((uint32_t)(e))
#define SLOT_HASH(e) ((uint32_t)((e) >> 32))

/* the slot index from the low half of the hash, the tag from the high */
static size_t home(uint64_t h, size_t cap)
{
    return (size_t)(h ^ h >> 29) & (cap - 1);
}

static int grow(intern *t)
{
    size_t cap = t->cap ? 2 * t->cap : 256;
    uint64_t *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->tab[i])
            continue;
        intern_str *e = &t->v[SLOT_ID(t->tab[i]) - 1];
        size_t j = home(fnv1a64_bytes(e->s, e->len), cap);
        while (tab[j])
            j = (j + 1) & (cap - 1);
        tab[j] = t->tab[i];
    }
    free(t->tab);
    t->tab = tab;
    t->cap = cap;
    return 0;
}

int64_t intern_id(intern *t, const char *s, size_t len)
{
    if (2 * (t->n + 1) > t->cap && (t->n >= UINT32_MAX - 1 || grow(t) < 0))
        return -1;
    uint64_t h = fnv1a64_bytes(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t j = home(h, t->cap);
    for (; t->tab[j]; j = (j + 1) & (t->cap - 1)) {
        if (SLOT_HASH(t->tab[j]) != tag)
            continue;
        intern_str *e = &t->v[SLOT_ID(t->tab[j]) - 1];
        if (e->len == len && !memcmp(e->s, s, len))
            return SLOT_ID(t->tab[j]) - 1;
    }
    if (t->n == t->vcap) {
        size_t vc = t->vcap ? 2 * t->vcap : 256;
        intern_str *nv = realloc(t->v, vc * sizeof *nv);
        if (!nv)
            return -1;
        t->v = nv;
        t->vcap = vc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->v[t->n] = (intern_str){copy, len};
    t->tab[j] = (uint64_t)tag << 32 | (uint32_t)(t->n + 1);
    return (int64_t)t->n++;
}

void intern_free(intern *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    free(t->tab);
    memset(t, 0, sizeof *t);
}
