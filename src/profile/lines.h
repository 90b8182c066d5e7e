/* lines.h — read a text file line by line in large blocks, without mmap, so
 * that reading a multi-gigabyte log keeps a small resident set. */
#ifndef EVD_PROFILE_LINES_H
#define EVD_PROFILE_LINES_H

#include <stddef.h>

struct lines;

/* Open path for reading.  Returns NULL and fills err when it cannot be
 * opened or memory runs out.  Free with lines_close(). */
struct lines *lines_open(const char *path, char *err, size_t errlen);

/* The next line without its '\n' (and '\r'), NUL-terminated: *out is
 * borrowed until the next call.  Returns 1 for a line, 0 at the end, -1 on
 * a read error.  *complete is 0 for a last line that had no '\n' (a
 * truncated file). *lineno counts from 1. */
int lines_next(struct lines *l, char **out, size_t *len, int *complete, unsigned long *lineno);

/* Close; NULL is a no-op. */
void lines_close(struct lines *l);

#endif
