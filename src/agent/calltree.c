/* calltree.c — a request's call tree built from stack samples.
 *
 * Each sample is a list of frames, outermost first; it adds one sampling
 * period to every node on its path, so a node's duration is the time the
 * request spent in that function and everything it called (the sampling
 * estimate).  Children are a linked list: trees are small and narrow. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"

typedef struct node {
    char *function, *file;
    int line;
    int64_t duration_us;
    int samples;
    struct node *child, *next;
} node;

struct calltree {
    node root;
    int nodes;
};

#define CALLTREE_MAX_NODES 4096 /* bounds memory for pathological stacks */

struct calltree *calltree_new(void)
{
    return calloc(1, sizeof(struct calltree));
}

static void free_nodes(node *n)
{
    while (n) {
        node *next = n->next;
        free_nodes(n->child);
        free(n->function);
        free(n->file);
        free(n);
        n = next;
    }
}

void calltree_free(struct calltree *t)
{
    if (!t)
        return;
    free_nodes(t->root.child);
    free(t);
}

static node *child_of(struct calltree *t, node *parent, const char *fn, size_t fnlen,
                      const char *file, size_t filelen, int line)
{
    for (node *c = parent->child; c; c = c->next)
        if (c->line == line && !strncmp(c->function, fn, fnlen) && !c->function[fnlen] &&
            !strncmp(c->file, file, filelen) && !c->file[filelen])
            return c;
    if (t->nodes >= CALLTREE_MAX_NODES)
        return NULL;
    node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->function = strndup(fn, fnlen);
    c->file = strndup(file, filelen);
    if (!c->function || !c->file) {
        free(c->function);
        free(c->file);
        free(c);
        return NULL;
    }
    c->line = line;
    /* append, so that siblings keep the order they were first seen in */
    node **p = &parent->child;
    while (*p)
        p = &(*p)->next;
    *p = c;
    t->nodes++;
    return c;
}

int calltree_add(struct calltree *t, const char *frames, int64_t period_us)
{
    node *cur = &t->root;
    const char *p = frames;
    t->root.duration_us += period_us;
    t->root.samples++;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *tab1 = memchr(p, '\t', len);
        const char *fn = p, *file = "";
        size_t fnlen = tab1 ? (size_t)(tab1 - p) : len, filelen = 0;
        int line = 0;
        if (tab1) {
            file = tab1 + 1;
            const char *tab2 = memchr(file, '\t', len - (size_t)(file - p));
            filelen = tab2 ? (size_t)(tab2 - file) : len - (size_t)(file - p);
            if (tab2)
                line = atoi(tab2 + 1);
        }
        if (fnlen) {
            node *c = child_of(t, cur, fn, fnlen, file, filelen, line);
            if (!c)
                return EVD_ENOMEM;
            c->duration_us += period_us;
            c->samples++;
            cur = c;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

static int walk(const node *n, int indent, int *pos, calltree_visit_fn fn, void *u)
{
    for (; n; n = n->next) {
        int rc = fn(u, (*pos)++, indent, n->function, n->file, n->line, n->duration_us, n->samples);
        if (rc)
            return rc;
        if ((rc = walk(n->child, indent + 1, pos, fn, u)))
            return rc;
    }
    return 0;
}

int calltree_walk(const struct calltree *t, calltree_visit_fn fn, void *u)
{
    int pos = 0;
    return walk(t->root.child, 0, &pos, fn, u);
}
