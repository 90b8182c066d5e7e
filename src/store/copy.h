/* copy.h — one whole store into another (`evodash migrate`). */
#ifndef EVD_STORE_COPY_H
#define EVD_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Called after each step of a table's copy: rows done of total. */
typedef void (*store_copy_progress)(void *u, const char *table, int64_t done, int64_t total);

/* Copy every table of src into dst (both open, both at the current schema
 * version), ids kept.  A dst that holds any row is refused with EVD_EINVAL
 * unless replace is set, which empties it first.  Returns 0 or a negative
 * code with the message on dst (whichever side failed). */
int store_copy(store *src, store *dst, int replace, store_copy_progress cb, void *u);

/* How many rows st holds in all (schema bookkeeping aside), and the name of
 * the first table that holds any. */
int store_is_empty(store *st, int64_t *rows, char *first, size_t cap);

#endif
