/* query.h — read-side queries shared by the CLI (and usable by the
 * dashboard).  Aggregates come from the rollups, never the raw rows. */
#ifndef EVD_QUERY_H
#define EVD_QUERY_H

#include <stdint.h>

#include "store/store.h"

typedef struct summary_row {
    const char *name; /* borrowed for the callback's duration */
    int level;
    int64_t count;
    double p50_us, p99_us; /* < 0 when the endpoint has no requests */
    int64_t errors;        /* 4xx + 5xx */
    int64_t dropped;
    int64_t last_access_us; /* 0 = never */
} summary_row;

/* Call cb once per endpoint, busiest first.  Returns 0 or an EVD_E* code
 * (message in store_errmsg()); a nonzero return from cb stops the walk and
 * is returned. */
int query_summary(store *st, int (*cb)(void *u, const summary_row *r), void *u);

typedef struct totals {
    int64_t requests, endpoints, versions, instances, outliers;
    int64_t recorded, dropped, written, write_errors;
} totals;

int query_totals(store *st, totals *out);

#endif
