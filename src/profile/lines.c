/* lines.c — block line reader; see lines.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/lines.h"

#define BLOCK (1u << 20)

struct lines {
    int fd;
    char *buf;
    size_t cap, start, end;
    int eof;
    unsigned long lineno;
};

struct lines *lines_open(const char *path, char *err, size_t errlen)
{
    struct lines *l = calloc(1, sizeof *l);
    if (!l || !(l->buf = malloc(BLOCK + 1))) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->cap = BLOCK;
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (l->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(l->buf);
        free(l);
        return NULL;
    }
    return l;
}

void lines_close(struct lines *l)
{
    if (!l)
        return;
    close(l->fd);
    free(l->buf);
    free(l);
}

int lines_next(struct lines *l, char **out, size_t *len, int *complete, unsigned long *lineno)
{
    for (;;) {
        char *s = l->buf + l->start;
        char *nl = memchr(s, '\n', l->end - l->start);
        if (nl || (l->eof && l->end > l->start)) {
            size_t n = nl ? (size_t)(nl - s) : l->end - l->start;
            l->start += n + (nl ? 1 : 0);
            *complete = nl != NULL;
            if (n && s[n - 1] == '\r')
                n--;
            s[n] = '\0';
            *out = s;
            *len = n;
            *lineno = ++l->lineno;
            return 1;
        }
        if (l->eof)
            return 0;
        /* Move the partial line to the front; grow when one line fills it. */
        memmove(l->buf, s, l->end - l->start);
        l->end -= l->start;
        l->start = 0;
        if (l->end == l->cap) {
            char *nb = realloc(l->buf, 2 * l->cap + 1);
            if (!nb)
                return -1;
            l->buf = nb;
            l->cap *= 2;
        }
        ssize_t r;
        do
            r = read(l->fd, l->buf + l->end, l->cap - l->end);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return -1;
        if (r == 0)
            l->eof = 1;
        l->end += (size_t)r;
    }
}
