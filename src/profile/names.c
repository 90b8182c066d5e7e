/* names.c — interned strings for the profile builder: every function name
 * of a log is stored once and referred to by a 32-bit id. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "profile/profile_int.h"

static int names_grow(struct names *nm)
{
    size_t cap = nm->cap ? 2 * nm->cap : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < nm->cap; i++) {
        if (!nm->tab[i])
            continue;
        uint32_t id = nm->tab[i] - 1;
        size_t j = nm->v[id].hash & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = id + 1;
    }
    free(nm->tab);
    nm->tab = t;
    nm->cap = cap;
    return 0;
}

int64_t names_intern(struct names *nm, const char *s, size_t len)
{
    if (2 * (nm->n + 1) > nm->cap && names_grow(nm) < 0)
        return -1;
    uint32_t h = fnv1a32_bytes(s, len);
    size_t j = h & (nm->cap - 1);
    while (nm->tab[j]) {
        struct name *e = &nm->v[nm->tab[j] - 1];
        if (e->hash == h && e->len == len && !memcmp(e->s, s, len))
            return nm->tab[j] - 1;
        j = (j + 1) & (nm->cap - 1);
    }
    if (nm->n == nm->vcap) {
        size_t vc = nm->vcap ? 2 * nm->vcap : 256;
        struct name *nv = realloc(nm->v, vc * sizeof *nv);
        if (!nv)
            return -1;
        nm->v = nv;
        nm->vcap = vc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    nm->v[nm->n] = (struct name){.s = copy, .len = len, .hash = h};
    nm->tab[j] = (uint32_t)nm->n + 1;
    return (int64_t)nm->n++;
}

void names_free(struct names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->v[i].s);
    free(nm->v);
    free(nm->tab);
    memset(nm, 0, sizeof *nm);
}
