/* replay_read.h — the request log as `evodash simulate --from-db` replays
 * it: each recorded request's endpoint, time and duration, oldest first. */
#ifndef EVD_STORE_REPLAY_READ_H
#define EVD_STORE_REPLAY_READ_H

#include <stdint.h>

#include "store/store.h"

/* Called once per request; endpoint is borrowed for the call only.  A
 * nonzero return stops the walk. */
typedef int (*store_replay_fn)(void *u, const char *endpoint, int64_t ts_us, int64_t duration_us);

/* The times (us) of the oldest and the newest request in *min_us and
 * *max_us.  Returns 0, EVD_ENOENT when the store holds no request, or
 * another EVD_E* code (message in store_errmsg()). */
int store_replay_span(store *st, int64_t *min_us, int64_t *max_us);

/* Call cb for every request with from_us <= ts_us <= to_us, in time order
 * (requests of the same microsecond in the order they were written).
 * Returns 0 or an EVD_E* code (message in store_errmsg()); a nonzero
 * return from cb ends the walk and is returned. */
int store_replay_rows(store *st, int64_t from_us, int64_t to_us, store_replay_fn cb, void *u);

#endif
