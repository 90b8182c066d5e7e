/* segment.h — packed hours of raw rows (src/store only): the encoding, and
 * the reads that use it in place of the request log. */
#ifndef EVD_STORE_SEGMENT_H
#define EVD_STORE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "store/read.h"
#include "store/store.h" /* STORE_HOUR_US */

/* One hour's decoded rows, newest first; texts point into its own memory. */
typedef struct seg_rows {
    store_raw_row *row;
    size_t n, cap;
    char **mem; /* the texts of each segment decoded into it */
    size_t nmem, capmem;
} seg_rows;

/* Rows of one (endpoint, instance, hour) to pack; seg_pack sorts them. */
typedef struct seg_in {
    int64_t ts_us, duration_us, version_id;
    int status;
    const char *group, *ip;
} seg_in;

/* Pack n rows of the hour into a new buffer (*out, *len; caller frees).
 * The rows are sorted newest first in place.  0 or EVD_ENOMEM. */
int seg_pack(int64_t hour, seg_in *in, size_t n, unsigned char **out, size_t *len);
/* Append the rows of the packed segment p[0..len) of the hour to r.
 * 0, EVD_ENOMEM or EVD_ECORRUPT (a damaged segment, nothing appended). */
int seg_unpack(int64_t hour, const unsigned char *p, size_t len, seg_rows *r);
/* Sort r newest first (after several segments were appended) */
void seg_rows_sort(seg_rows *r);
void seg_rows_clear(seg_rows *r); /* keeps the arrays for the next hour */
void seg_rows_free(seg_rows *r);

#endif
