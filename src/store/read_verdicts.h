/* read_verdicts.h — what the findings engine, the version comparison and
 * the profile diff read and write: version marks (important, hidden),
 * endpoint renames, bounded samples of raw rows, outlier stacks, profile
 * trees per version, and a stamp that changes when data arrives.
 *
 * Renames: an edge from -> to is what an admin confirmed; every endpoint
 * carries the root of its edges in endpoints.merged_into, which the read
 * side's endpoint lists, rollup and raw queries read through, so views show
 * one endpoint with the joined history.  Raw rows keep their own endpoint
 * id: deleting the edge undoes the rename. */
#ifndef EVD_STORE_READ_VERDICTS_H
#define EVD_STORE_READ_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* ---- version marks ------------------------------------------------------------------ */

typedef struct store_vmark_row {
    int64_t version_id;
    int important, hidden;
} store_vmark_row;
/* The marks of every version (unmarked ones too), by id. */
int store_version_marks(store *st, int (*cb)(void *u, const store_vmark_row *r), void *u);
/* Set a version's marks; -1 keeps one as it is.  EVD_ENOENT: no such
 * version. */
int store_version_mark(store *st, int64_t id, int important, int hidden);

/* ---- renames ------------------------------------------------------------------------ */

typedef struct store_rename_row {
    int64_t from_id, to_id, created_us;
    const char *from_name, *to_name; /* borrowed for the callback */
} store_rename_row;
int store_renames(store *st, int (*cb)(void *u, const store_rename_row *r), void *u);
/* Record that endpoint from was renamed to `to` (both of one service),
 * and recompute every endpoint's root, in one transaction.  EVD_ENOENT:
 * no such endpoint; EVD_EINVAL: the same endpoint, different services, a
 * cycle, or from already renamed. */
int store_rename_add(store *st, int64_t from, int64_t to, int64_t now_us);
/* Delete the edge from `from` and recompute the roots.  EVD_ENOENT when
 * from was not renamed. */
int store_rename_undo(store *st, int64_t from);
/* The ids whose rows a view of endpoint ep reads (ep first, then the
 * endpoints merged into it), into ids[0..cap); *n gets how many. */
int store_endpoint_members(store *st, int64_t ep, int64_t *ids, size_t cap, size_t *n);

/* ---- bounded raw samples ------------------------------------------------------------ */

typedef struct store_sample_row {
    const char *group; /* "" when none */
    int64_t version_id, ts_us, duration_us;
    int status;
} store_sample_row;
/* The newest `limit` requests of endpoint id ep (one id, not its members)
 * in [from, to), of version_id when > 0, newest first. */
int store_raw_newest(store *st, int64_t ep, int64_t version_id, int64_t from_us, int64_t to_us,
                     int64_t limit, int (*cb)(void *u, const store_sample_row *r), void *u);

/* The stacks of endpoint ep's (and its members') newest `limit` outliers
 * in [from, to); stack borrowed for the callback, never NULL. */
int store_outlier_stacks(store *st, int64_t ep, int64_t from_us, int64_t to_us, int64_t limit,
                         int (*cb)(void *u, const char *stack), void *u);

/* The call trees of endpoint ep's (and its members') newest max_requests
 * profiled requests of one version in [from, to), each in pre-order,
 * request after request. */
typedef struct store_pnode_row {
    int64_t request_id, duration_us;
    int indent, line;
    const char *function, *file; /* borrowed; function never NULL */
} store_pnode_row;
int store_profile_nodes(store *st, int64_t ep, int64_t version_id, int64_t from_us, int64_t to_us,
                        int64_t max_requests, int (*cb)(void *u, const store_pnode_row *r),
                        void *u);

/* A number that changes whenever requests, outliers, endpoints, versions,
 * their marks or renames change (cheap: index lookups only). */
int store_verdict_stamp(store *st, uint64_t *stamp);

#endif
