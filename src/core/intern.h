/* intern.h — interned strings: each distinct text stored once and named by
 * a dense id (0, 1, 2...), in the order first seen.  The one hash table of
 * the code base's builders and caches: the profile builder's function names
 * and its threads (keyed by the tid's bytes), the raw-row scan's groups and
 * IPs, the tracer's names and its resolved addresses.  (The C adapter's
 * endpoint table is the exception: readers probe it without a lock.)
 *
 * Hand-written: a flat open-addressing table over the ids; no library on
 * our list offers one for plain C.  Probing reads only the slot array,
 * which holds part of each text's hash beside its id, so a lookup touches
 * a text only when the hashes agree. */
#ifndef EVD_CORE_INTERN_H
#define EVD_CORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct intern_str {
    char *s; /* NUL-terminated copy */
    size_t len;
} intern_str;

typedef struct intern {
    intern_str *v; /* by id */
    size_t n, vcap;
    uint64_t *tab; /* (hash >> 32) << 32 | (id + 1); 0 = empty */
    size_t cap;
} intern;

/* The id of s[0..len), copied on first sight; -1 when out of memory.  A
 * zeroed struct is an empty table. */
int64_t intern_id(intern *t, const char *s, size_t len);

/* Free every text; the struct is zeroed and can be reused. */
void intern_free(intern *t);

#endif
